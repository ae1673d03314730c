// proofing-code.test.mjs — a proofing link completed by someone else binds
// nothing.  The attack: Mallory enrols HER phone, sends the proofing link
// to Jan ("confirm your identity"), Jan logs in at his bank or presents his
// eID card in his own browser.  The proof then only waits on Mallory's
// enrolment with a one-time code shown to Jan; without that code, typed in
// the app that enrols, her enrolment stays unproofed and holds no person.
// Then the code's rules: wrong codes are counted and end the proof, a code
// is single use, expires, belongs to one enrolment, and a newer proof
// replaces an older one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer } from './lib/harness.mjs';
import { Phone, proofCodeOf, smsGateway } from './lib/phone.mjs';
import { startTestBank, makeEnrollment, getEnrollment, addTicket, setProofState, Browser } from './lib/bank.mjs';
import { issueCard, proofWithCard, tmp } from './lib/eid.mjs';

let server;
let gw;
let bank;
let dir;

before(async () => {
  gw = await smsGateway();
  bank = await startTestBank();
  server = await startServer({
    demo: true,
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { rate_phone: 1000, rate_ip: 1000, poll_timeout: 1 },
      'bank.demo': bank.config(),
    },
  });
  bank.attach(server);
  dir = tmp();
});

// Everything is closed even when the server stopped badly (its error is
// then thrown): a gateway or bank left listening would keep this file's
// process alive to its timeout.
after(async () => {
  let badStop = null;
  try {
    await server?.stop();
  } catch (e) {
    badStop = e;
  }
  await gw?.close();
  await bank?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (badStop) throw badStop;
});

// Mallory's phone, through the real device API up to the proofing choices.
async function attackerPhone(number) {
  const phone = await new Phone(server).init();
  let r = await phone.start(number);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await phone.call('POST', '/enroll/sms', { code: gw.code(r.body.phone) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { phone, choices: r.body.proofing };
}

// Nothing of the victim reached the attacker's enrolment.
async function assertNotBound(phone) {
  const row = await getEnrollment(server, phone.enrollmentId);
  assert.equal(row.status, 'proofing');
  assert.equal(row.person, null);
  assert.equal(row.proof_method, null);
  const fin = await phone.finish();
  assert.equal(fin.status, 409);
  assert.equal(fin.body.error, 'not_proofed');
  const st = await phone.call('GET', '/enroll');
  assert.notEqual(st.body.status, 'proofed');
  assert.equal(st.body.person, undefined);
}

// Five wrong codes: each 400 with the tries left; then the proof is gone.
async function guessFiveTimes(phone) {
  for (let left = 4; left >= 0; left--) {
    const r = await phone.proofCode('ABCD-EFGH');
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, 'wrong_code');
    assert.equal(r.body.attempts_left, left);
  }
}

test('bank: the victim logs in at her bank in her own browser; the attacker\'s phone gets no identity', async () => {
  const { phone, choices } = await attackerPhone('0470 66 00 01');
  const victim = new Browser(); // another cookie jar: the victim's browser
  const r = await bank.login(choices.find((c) => c.method === 'bank').url,
    { browser: victim, account: 'jan', redeem: false });
  assert.equal(r.status, 200, r.text);
  // Her bank login alone binds nothing to the attacker's enrolment.
  await assertNotBound(phone);
  const code = proofCodeOf(r.text);
  assert.match(code, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
  // In the enrolment's language (nl): the attacker's number, for the victim to see, and the warning.
  assert.match(r.text, /met het nummer dat eindigt op …00 01/);
  assert.match(r.text, /Geef deze code aan niemand en typ hem nooit op een website/);
  const st = await phone.call('GET', '/enroll');
  assert.equal(st.body.status, 'proof_code');
  assert.equal(st.body.proof_code.attempts_left, 5);
  // Stored only hashed: neither the code nor its letters are in the record.
  const row = await getEnrollment(server, phone.enrollmentId);
  const pending = JSON.parse(row.proof_state).pending;
  assert.match(pending.h, /^[0-9a-f]{64}$/);
  assert.ok(!row.proof_state.includes(code.replace('-', '')));
  // Guessing: five wrong codes and the proof is discarded; the real code is then worth nothing.
  await guessFiveTimes(phone);
  let again = await phone.proofCode(code);
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'no_proof');
  await assertNotBound(phone);
  again = await phone.call('GET', '/enroll');
  assert.equal(again.body.status, 'proofing');
  assert.equal(again.body.proof_code, undefined);
});

test('eID: the victim presents her card in her own browser; the attacker\'s phone gets no identity', async () => {
  const card = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  const { phone, choices } = await attackerPhone('0470 66 00 02');
  const r = await proofWithCard(choices.find((c) => c.method === 'eid').url, card.args, { redeem: false });
  assert.equal(r.status, 200, r.curlError || r.body);
  await assertNotBound(phone);
  assert.ok(proofCodeOf(r.body));
  assert.match(r.body, /eindigt op …00 02/);
  await guessFiveTimes(phone);
  assert.equal((await phone.proofCode(proofCodeOf(r.body))).status, 409);
  await assertNotBound(phone);
});

test('the code proofs once: a second use is refused', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=en`,
    { redeem: false });
  const code = proofCodeOf(r.text);
  let res = await e.app.proofCode(code);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, 'proofed');
  assert.equal((await getEnrollment(server, e.id)).status, 'proofed');
  res = await e.app.proofCode(code);
  assert.equal(res.status, 409);
  assert.equal(res.body.error, 'no_proof');
});

test('a code of enrolment A is refused on enrolment B (and counted there)', async () => {
  const a = await makeEnrollment(server);
  const b = await makeEnrollment(server);
  const url = (e) => `${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=en`;
  const ra = await bank.login(url(a), { redeem: false });
  const rb = await bank.login(url(b), { account: 'els', redeem: false });
  let res = await b.app.proofCode(proofCodeOf(ra.text));
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'wrong_code');
  assert.equal(res.body.attempts_left, 4);
  assert.equal((await getEnrollment(server, b.id)).person, null);
  res = await b.app.proofCode(proofCodeOf(rb.text));
  assert.equal(res.status, 200);
  assert.equal(JSON.parse((await getEnrollment(server, b.id)).person).rrn, '90020199704');
  res = await a.app.proofCode(proofCodeOf(ra.text));
  assert.equal(JSON.parse((await getEnrollment(server, a.id)).person).rrn, '85073003328');
});

test('an expired code is refused and the proof discarded; the code never outlives the enrolment', async () => {
  const e = await makeEnrollment(server, { expiresIn: 120 });
  const t0 = Math.floor(Date.now() / 1000);
  const r = await bank.login(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=en`,
    { redeem: false });
  const state = JSON.parse((await getEnrollment(server, e.id)).proof_state);
  assert.ok(state.pending.exp <= t0 + 121, 'within the enrolment');
  state.pending.exp = Math.floor(Date.now() / 1000) - 1;
  await setProofState(server, e.id, state);
  let res = await e.app.call('GET', '/enroll');
  assert.equal(res.body.status, 'proofing');
  res = await e.app.proofCode(proofCodeOf(r.text));
  assert.equal(res.status, 410);
  assert.equal(res.body.error, 'code_expired');
  assert.equal(JSON.parse((await getEnrollment(server, e.id)).proof_state).pending, undefined);
  assert.equal((await getEnrollment(server, e.id)).person, null);
  // The lifetime is ten minutes on an enrolment that lives longer.
  const long = await makeEnrollment(server);
  await bank.login(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(long.ticket)}&lang=en`,
    { redeem: false });
  const exp = JSON.parse((await getEnrollment(server, long.id)).proof_state).pending.exp;
  assert.ok(exp >= t0 + 590 && exp <= Math.floor(Date.now() / 1000) + 600, String(exp - t0));
});

test('not a code: 400 invalid_request, not counted; typing ignores case, spaces and the dash', async () => {
  const e = await makeEnrollment(server);
  const r = await bank.login(`${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(e.ticket)}&lang=en`,
    { redeem: false });
  for (const code of ['', 'ABC', 'ABCD-EFGH-J', 'ABCD-EFG0', 'ABCD-EFGI', 42, null]) {
    const res = await e.app.proofCode(code);
    assert.equal(res.status, 400, String(code));
    assert.equal(res.body.error, 'invalid_request');
  }
  assert.equal((await e.app.call('GET', '/enroll')).body.proof_code.attempts_left, 5);
  const typed = ` ${proofCodeOf(r.text).toLowerCase().replace('-', ' ')} `;
  assert.equal((await e.app.proofCode(typed)).status, 200);
});

test('a newer proof replaces the waiting one: the older code no longer works', async () => {
  const e = await makeEnrollment(server);
  const second = await addTicket(server, e.id);
  const url = (t) => `${server.issuer}/proofing/bank/demo?t=${encodeURIComponent(t)}&lang=en`;
  const first = await bank.login(url(e.ticket), { redeem: false });
  const newer = await bank.login(url(second), { account: 'els', redeem: false });
  let res = await e.app.proofCode(proofCodeOf(first.text));
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'wrong_code');
  res = await e.app.proofCode(proofCodeOf(newer.text));
  assert.equal(res.status, 200);
  assert.equal(JSON.parse((await getEnrollment(server, e.id)).person).given_name, 'Els');
});

test('without a proof there is nothing to redeem; the request must be the enrolment\'s own', async () => {
  const e = await makeEnrollment(server);
  let res = await e.app.proofCode('ABCD-EFGH');
  assert.equal(res.status, 409);
  assert.equal(res.body.error, 'no_proof');
  const stranger = await new Phone(server).init();
  res = await stranger.call('POST', '/enroll/proof', { code: 'ABCD-EFGH' });
  assert.equal(res.status, 401);
});
