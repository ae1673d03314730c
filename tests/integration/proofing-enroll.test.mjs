// proofing-enroll.test.mjs — proofing inside a real enrolment, through the
// device API: the phone (tests/integration/lib/phone.mjs) starts, sends
// the SMS code and receives the proofing choices; the bank's URL goes
// through the demo bank in the phone's browser; the app's long-poll on
// GET /enroll wakes with the bank's person; finish makes the account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { Phone, proofCodeOf, smsGateway } from './lib/phone.mjs';
import { startTestBank } from './lib/bank.mjs';

let server;
let gw;
let bank;

before(async () => {
  gw = await smsGateway();
  bank = await startTestBank();
  server = await startServer({
    demo: true,
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { poll_timeout: 5 },
      'bank.demo': bank.config(),
    },
  });
  bank.attach(server);
});

after(async () => {
  await server?.stop();
  await gw?.close();
  await bank?.close();
});

async function toProofing(number) {
  const phone = await new Phone(server).init();
  let r = await phone.start(number);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await phone.call('POST', '/enroll/sms', { code: gw.code(r.body.phone) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { phone, choices: r.body.proofing };
}

test('the choices: each bank and the eID card, with ticket URLs in the enrolment\'s language', async () => {
  const { choices } = await toProofing('0470 99 00 01');
  assert.equal(choices.length, 2);
  const [b, e] = choices;
  assert.deepEqual({ method: b.method, id: b.id, name: b.name }, { method: 'bank', id: 'demo', name: 'Demo Bank' });
  assert.match(b.url, new RegExp(`^${server.issuer}/proofing/bank/demo\\?t=[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{22}&lang=nl$`));
  assert.equal(e.method, 'eid');
  assert.match(e.url, new RegExp(`^${server.eidBase}/proofing/eid\\?t=`));
  assert.equal((await fetch(b.url)).status, 200);
});

test('bank proofing wakes the app\'s long-poll for the code; the code proofs; finish creates the account', async () => {
  const { phone, choices } = await toProofing('0470 99 00 02');
  const waiting = phone.call('GET', '/enroll');
  await new Promise((res) => setTimeout(res, 300));
  const t0 = Date.now();
  const r = await bank.login(choices[0].url, { account: 'els', redeem: false });
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /<html lang="nl"/);
  const polled = await waiting;
  assert.equal(polled.status, 200);
  assert.equal(polled.body.status, 'proof_code');
  assert.equal(polled.body.proof_code.attempts_left, 5);
  assert.ok(polled.body.proof_code.expires_in > 500 && polled.body.proof_code.expires_in <= 600);
  assert.equal(polled.body.person, undefined);
  assert.ok(Date.now() - t0 < 3000, 'woken by proofing, not by the poll timeout');
  // Not proofed until the app types the code.
  assert.equal((await phone.finish()).body.error, 'not_proofed');
  const typed = await phone.proofCode(proofCodeOf(r.text).toLowerCase().replace('-', ' '));
  assert.equal(typed.status, 200, JSON.stringify(typed.body));
  assert.equal(typed.body.status, 'proofed');
  assert.deepEqual(typed.body.person, { given_name: 'Els', family_name: 'Maes' });
  const fin = await phone.finish();
  assert.equal(fin.status, 201, JSON.stringify(fin.body));
  assert.equal(fin.body.phone, '+32470990002');
});

test('a new GET /enroll during the bank flow does not disturb it', async () => {
  const { phone, choices } = await toProofing('0470 99 00 03');
  const half = await bank.login(choices[0].url, { stopAt: 'callback' });
  // The app polls meanwhile (three long-polls at once): new tickets, the
  // flow in flight stays.
  const polls = await Promise.all([0, 1, 2].map(() => phone.call('GET', '/enroll')));
  for (const r of polls) {
    assert.equal(r.body.status, 'proofing');
    assert.equal(r.body.proofing.length, 2);
  }
  const res = await half.browser.request(half.url);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  let r = await phone.call('GET', '/enroll');
  assert.equal(r.body.status, 'proof_code');
  r = await phone.proofCode(proofCodeOf(text));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await phone.call('GET', '/enroll');
  assert.equal(r.body.status, 'proofed');
});
