// app-device-confirm.test.mjs — confirming on the phone, end to end: an RP
// (openid-client) sends the browser to the portal, the person types the
// number of an enrolled JS phone (lib/phone.mjs), the phone's long-poll
// gets the request, and its answer (approve / refuse / wrong pick / wrong
// 5-digit code) ends the login at the RP.  The lockout schedule (3 → 3 h,
// 6 → 24 h, 9 → for good), replays, expiry and another account's request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { whileKeyHolderStopped } from './lib/keyholder.mjs';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';

let server;
let gw;
let rp;
let seq = 0;
const person = () => ({ rrn: `850730${String(10000 + seq).slice(-5)}`, given_name: 'Demo', family_name: `P${seq++}` });
const number = () => `0470 10 ${String(10 + seq).padStart(2, '0')} 00`;

const sql = (q) => dbSql(server, q);

before(async () => {
  gw = await smsGateway();
  server = await startServer({
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { poll_timeout: 2, rate_phone: 1000, rate_ip: 1000, max_pending: 5 },
      // Several handler threads, so that parallel guesses really run in parallel.
      server: { threads: 8 },
    },
  });
  rp = await registerRp(server);
});

after(async () => {
  await server.stop();
  await gw.close();
});

// The browser starts an app login for `phone`; returns { agent, req, aq, code }.
async function browserLogin(phone) {
  const agent = new Agent();
  const { url } = await authRequest(rp.config);
  let res = await agent.get(String(url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${req}&lang=en`);
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/key/app/login`, { ...hidden, phone: phone.number });
  assert.equal(res.status, 303, await res.text());
  const loc = new URL(res.headers.get('location'), server.base);
  const aq = loc.searchParams.get('aq');
  const code = sql(`SELECT code FROM app_requests WHERE id='${aq}'`);
  return { agent, req, aq, code };
}

async function pending(phone, id) {
  const r = await phone.call('GET', '/requests');
  assert.equal(r.status, 200, `channel: ${r.status}`);
  const rq = r.body.requests.find((x) => x.id === id);
  assert.ok(rq, 'the request is on the channel');
  return rq;
}

const authStatus = (req) => sql(`SELECT status FROM auth_requests WHERE id='${req}'`);
const apprqStatus = (aq) => sql(`SELECT status FROM app_requests WHERE id='${aq}'`);

test('approve: the channel wakes, the signature verifies, the login completes', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const t0 = Date.now();
  const waiting = phone.call('GET', '/requests');
  await new Promise((r) => setTimeout(r, 300));
  const b = await browserLogin(phone);
  const ch = await waiting;
  assert.equal(ch.status, 200);
  assert.ok(Date.now() - t0 < 1900, 'woken by the request, not by the timeout');
  const rq = ch.body.requests[0];
  assert.equal(rq.id, b.aq);
  assert.equal(rq.action, 'login');
  assert.equal(rq.rp_id, rp.c.client_id);
  assert.equal(rq.rp_name, 'Mijn gezondheid');
  assert.equal(rq.codes.length, 3);
  assert.ok(rq.codes.includes(b.code));
  assert.ok(rq.expires_in > 100 && rq.expires_in <= 180);
  const r = await phone.answer(rq, { code: b.code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'approved');
  assert.equal(apprqStatus(b.aq), 'approved');
  assert.equal(authStatus(b.req), 'done');
  assert.equal(sql(`SELECT key || ' ' || acr FROM auth_requests WHERE id='${b.req}'`),
    'app http://eidas.europa.eu/LoA/high');
  assert.equal(sql(`SELECT count(*) FROM audit WHERE event='login' AND key='app' AND result='ok'`), '1');
  // A replay of the same answer: already answered, nothing counted.
  const again = await phone.answer(rq, { code: b.code });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, 'already_answered');
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '0');
  assert.doesNotMatch(server.log(), /sealed_signature|MEUCI/);
});

test('a device or account blocked right after its keys were used is refused at once; active again, it works', async () => {
  // The server keeps a device's parsed keys; the store's row still decides.
  const phone = await enrolPhone(server, gw, number(), person());
  const first = await browserLogin(phone);
  const used = await phone.answer(await pending(phone, first.aq), { code: first.code });
  assert.equal(used.status, 200, JSON.stringify(used.body));
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  for (const [table, id] of [['devices', phone.deviceId], ['accounts', phone.accountId]]) {
    sql(`UPDATE ${table} SET status='blocked' WHERE id='${id}'`);
    const ch = await phone.call('GET', '/requests');
    assert.equal(ch.status, 401, `${table} blocked: the channel`);
    const r = await phone.answer(rq, { code: b.code });
    assert.equal(r.status, 401, `${table} blocked: the answer`);
    assert.equal(r.body.error, 'invalid_proof');
    assert.equal(apprqStatus(b.aq), 'pending');
    sql(`UPDATE ${table} SET status='active' WHERE id='${id}'`);
  }
  sql(`UPDATE devices SET status='removed' WHERE id='${phone.deviceId}'`);
  assert.equal((await phone.answer(rq, { code: b.code })).status, 401, 'removed');
  sql(`UPDATE devices SET status='active' WHERE id='${phone.deviceId}'`);
  const r = await phone.answer(rq, { code: b.code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(authStatus(b.req), 'done');
});

test('refuse: signed with the transport key; the RP gets access_denied', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  // A refusal signed with the confirmation key is not this device's refusal.
  let r = await phone.answer(rq, { decision: 'refuse', code: '', key: phone.confirmKey });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_signature');
  r = await phone.answer(rq, { decision: 'refuse', code: '' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'refused');
  assert.equal(apprqStatus(b.aq), 'refused');
  assert.equal(authStatus(b.req), 'denied');
});

test('the wrong verification code picked: the request is denied', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  const wrong = rq.codes.find((c) => c !== b.code);
  const r = await phone.answer(rq, { code: wrong });
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'wrong_verification_code');
  assert.equal(apprqStatus(b.aq), 'denied');
  assert.equal(authStatus(b.req), 'denied');
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '0');
});

test('each signed field matters: another nonce, text or request id is a wrong code', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  for (const fields of [{ nonce: 'other' }, { display_text: `${rq.display_text}!` }, { rp_id: 'evil' },
    { device_id: 'other' }]) {
    const r = await phone.answer(rq, { code: b.code, fields });
    assert.equal(r.status, 403, JSON.stringify(fields));
    assert.equal(r.body.error, 'wrong_code');
    assert.equal(r.body.failures, 1);
    sql(`UPDATE accounts SET failures=0, locked_until=0 WHERE id='${phone.accountId}'`);
  }
  // A blob that does not open (sealed to the wrong request) is malformed, not counted.
  const body = phone.confirmation({ ...rq, id: 'x'.repeat(22) }, { code: b.code });
  const r = await phone.call('POST', `/requests/${rq.id}`, body);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_signature');
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '0');
  // The untouched confirmation still goes through.
  assert.equal((await phone.answer(rq, { code: b.code })).status, 200);
});

// The proof of an answer is spent with the attempt it is charged for (one
// transaction): a replay of it is refused before anything is counted; a
// refusal spends its proof before its signature is checked.
test('a replayed proof is refused and charges nothing; a refusal spends its proof too', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  const path = `/requests/${rq.id}`;
  const proof = await phone.proof('POST', path);
  const guess = phone.confirmation(rq, { code: b.code, fields: { nonce: 'other' } });
  let r = await phone.call('POST', path, guess, { proof });
  assert.equal(r.status, 403);
  assert.equal(r.body.failures, 1);
  r = await phone.call('POST', path, guess, { proof });
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.match(r.body.error_description, /replay|used before/);
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '1');
  // A refusal not signed by the device: refused, its proof spent all the same.
  const proof2 = await phone.proof('POST', path);
  r = await phone.call('POST', path, phone.confirmation(rq, { decision: 'refuse', code: '', key: phone.confirmKey }),
    { proof: proof2 });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_signature');
  r = await phone.call('POST', path, phone.confirmation(rq, { decision: 'refuse', code: '' }), { proof: proof2 });
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.equal(apprqStatus(b.aq), 'pending');
  assert.equal((await phone.answer(rq, { code: b.code })).status, 200);
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '0');
});

test('lockout schedule: 3 → 3 h, 6 → 24 h, 9 → for good; a right code resets', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const other = await (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  const wrongOnce = () => phone.answer(rq, { code: b.code, key: other.privateKey });
  const now = () => Math.floor(Date.now() / 1000);
  const unlock = () => sql(`UPDATE accounts SET locked_until=0 WHERE id='${phone.accountId}'`);

  for (const [n, lockFrom] of [[1, null], [2, null]]) {
    const r = await wrongOnce();
    assert.equal(r.status, 403);
    assert.equal(r.body.failures, n);
    assert.equal(r.body.locked_until, lockFrom);
  }
  let r = await wrongOnce();
  assert.equal(r.body.failures, 3);
  assert.ok(Math.abs(r.body.locked_until - (now() + 3 * 3600)) < 5, 'locked 3 hours');
  // Locked: even the right code gets 423, and nothing is counted.
  r = await phone.answer(rq, { code: b.code });
  assert.equal(r.status, 423);
  assert.equal(r.body.error, 'locked');
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '3');
  assert.equal(apprqStatus(b.aq), 'pending', 'the request stays pending');
  unlock();
  await wrongOnce();
  await wrongOnce();
  r = await wrongOnce();
  assert.equal(r.body.failures, 6);
  assert.ok(Math.abs(r.body.locked_until - (now() + 24 * 3600)) < 5, 'locked 24 hours');
  unlock();
  await wrongOnce();
  await wrongOnce();
  r = await wrongOnce();
  assert.equal(r.body.failures, 9);
  assert.equal(r.body.locked_until, null);
  assert.equal(r.body.locked_for_good, true);
  r = await phone.answer(rq, { code: b.code });
  assert.equal(r.status, 423);
  assert.equal(r.body.locked_until, null);
  assert.equal(sql(`SELECT count(*) FROM audit WHERE result='wrong_code' AND person_id=(SELECT person_id FROM accounts WHERE id='${phone.accountId}')`), '9');

  // A right code after a wrong one resets the count.
  const p2 = await enrolPhone(server, gw, number(), person());
  const b2 = await browserLogin(p2);
  const rq2 = await pending(p2, b2.aq);
  r = await p2.answer(rq2, { code: b2.code, key: other.privateKey });
  assert.equal(r.body.failures, 1);
  r = await p2.answer(rq2, { code: b2.code });
  assert.equal(r.status, 200);
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${p2.accountId}'`), '0');
});

test('parallel guesses cannot outrun the lockout: at most 3 are judged, the rest are locked out', async () => {
  // A stolen state file lets an attacker sign for every candidate code
  // offline; sent all at once, each must still be charged before it is
  // checked, so the lock after 3 stops the others.
  const phone = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  const { generateKeyPairSync } = await import('node:crypto');
  const guesses = Array.from({ length: 24 }, () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const answers = await Promise.all(guesses.map((key) => phone.answer(rq, { code: b.code, key })));
  const judged = answers.filter((r) => r.status === 403 && r.body.error === 'wrong_code');
  const locked = answers.filter((r) => r.status === 423);
  assert.equal(judged.length, 3, `judged: ${answers.map((r) => r.status).join(',')}`);
  assert.equal(locked.length, guesses.length - 3);
  assert.deepEqual(judged.map((r) => r.body.failures).sort(), [1, 2, 3]);
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${phone.accountId}'`), '3');
  assert.equal(apprqStatus(b.aq), 'pending');
});

test('after expiry, another account\'s request, unknown ids: refused, not counted', async () => {
  const phone = await enrolPhone(server, gw, number(), person());
  const stranger = await enrolPhone(server, gw, number(), person());
  const b = await browserLogin(phone);
  const rq = await pending(phone, b.aq);
  // Another account's device cannot see or answer it.
  let r = await stranger.answer(rq, { code: b.code });
  assert.equal(r.status, 404);
  assert.equal(r.body.error, 'not_found');
  r = await phone.call('POST', '/requests/doesnotexist0000000000', phone.confirmation(rq, { code: b.code }));
  assert.equal(r.status, 404);
  // A malformed body.
  r = await phone.call('POST', `/requests/${b.aq}`, { decision: 'maybe' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  // Expired.
  sql(`UPDATE app_requests SET expires = ${Math.floor(Date.now() / 1000)} - 1 WHERE id='${b.aq}'`);
  r = await phone.answer(rq, { code: b.code });
  assert.equal(r.status, 410);
  assert.equal(r.body.error, 'expired');
  for (const p of [phone, stranger]) {
    assert.equal(sql(`SELECT failures FROM accounts WHERE id='${p.accountId}'`), '0');
  }
});

// Found in review (review6): when Q could not be opened after the charge
// (key holder flooded, a row sealed elsewhere) the right code was answered
// 403 wrong_code and counted, so a flood of the key holder locked honest
// people out.  Q is now obtained before the charge: 503, nothing counted,
// audited.  Q is made unopenable by giving the row another row's sealed Q
// (its AAD names the other device).
test('Q that cannot be opened charges nothing (503, audited); a wrong code still counts', async () => {
  const a = await enrolPhone(server, gw, number(), person());
  const b = await enrolPhone(server, gw, number(), person());
  const good = sql(`SELECT confirm_key FROM devices WHERE id='${a.deviceId}'`);
  sql(`UPDATE devices SET confirm_key=(SELECT confirm_key FROM devices WHERE id='${b.deviceId}') WHERE id='${a.deviceId}'`);
  const login = await browserLogin(a);
  const rq = await pending(a, login.aq);
  for (let i = 0; i < 4; i++) {
    const r = await a.answer(rq, { code: login.code });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error, 'temporarily_unavailable');
  }
  const acct = () => sql(`SELECT failures || ' ' || locked_until FROM accounts WHERE id='${a.accountId}'`);
  assert.equal(acct(), '0 0', 'the server\'s failure counts no wrong code');
  assert.equal(sql(`SELECT count(*) FROM audit WHERE result='unavailable' AND detail='${login.aq}'`), '4');
  assert.equal(apprqStatus(login.aq), 'pending', 'the request waits for another try');
  sql(`UPDATE devices SET confirm_key='${good}' WHERE id='${a.deviceId}'`);
  // A genuinely wrong code (signed with another key) still counts.
  const other = (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  let r = await a.answer(rq, { code: login.code, key: other.privateKey });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'wrong_code');
  assert.equal(acct(), '1 0');
  r = await a.answer(rq, { code: login.code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(acct(), '0 0');
});

// review6: a key holder that does not answer (flooded; here stopped) was a
// 400 or a counted wrong code; now 503 and nothing counted.
test('a key holder that does not answer: 503, nothing counted; answered again, it works', async () => {
  const a = await enrolPhone(server, gw, number(), person());
  const login = await browserLogin(a);
  const rq = await pending(a, login.aq);
  let r = await whileKeyHolderStopped(server, () => a.answer(rq, { code: login.code }));
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(r.body.error, 'temporarily_unavailable');
  assert.equal(sql(`SELECT failures FROM accounts WHERE id='${a.accountId}'`), '0');
  r = await a.answer(rq, { code: login.code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});
