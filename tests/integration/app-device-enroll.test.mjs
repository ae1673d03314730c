// app-device-enroll.test.mjs — the device API's keys, proofs, enrolment,
// devices and request channel against a real sleuteld, driven by an
// independent JS phone (lib/phone.mjs) and a webhook SMS gateway in node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { Phone, smsGateway, enrolPhone } from './lib/phone.mjs';

const PERSON = { rrn: '85073003328', given_name: 'Demo', family_name: 'Citizen', birthdate: '1985-07-30' };
const OTHER = { rrn: '90020199745', given_name: 'Ander', family_name: 'Persoon' };
let server;
let gw;
let seq = 0;
// A fresh Belgian mobile number per test, typed the national way.
const number = () => `0470 00 ${String(10 + seq++).padStart(2, '0')} 00`;
const e164 = (n) => `+32${n.replace(/\s/g, '').slice(1)}`;

const sql = (query) => dbSql(server, query);

before(async () => {
  gw = await smsGateway();
  server = await startServer({
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url, webhook_token: 'gw-secret-token' },
      app: { poll_timeout: 1 },
    },
  });
});

after(async () => {
  await server.stop();
  await gw.close();
});

test('config and keys publish the sealing key; key files are private', async () => {
  const phone = new Phone(server);
  const conf = await phone.config();
  assert.equal(conf.issuer, server.issuer);
  assert.equal(conf.terms_version, '2026-11');
  assert.equal(conf.default_country, '32');
  assert.equal(conf.poll_timeout, 1);
  assert.equal(conf.seal_keys.length, 1);
  const k = conf.seal_keys[0];
  assert.equal(k.crv, 'P-256');
  assert.equal(Buffer.from(k.pub, 'base64url').length, 65);
  assert.equal(Buffer.from(k.pub, 'base64url')[0], 4);
  const keys = await (await fetch(`${server.base}/device/v1/keys`)).json();
  assert.deepEqual(keys.seal_keys, conf.seal_keys);
  const keysDir = path.join(server.dir, 'keys');
  const current = readFileSync(path.join(keysDir, 'device-seal.current'), 'utf8').trim();
  assert.equal(current, k.kid);
  for (const f of [`device-seal-${k.kid}.pem`, 'device-rest.pem']) {
    assert.equal(statSync(path.join(keysDir, f)).mode & 0o777, 0o600, f);
  }
  // The log never holds a key or a code.
  assert.doesNotMatch(server.log(), /PRIVATE KEY/);
});

test('enrolment happy path: SMS, proofing long-poll, finish, device list', async () => {
  const phone = await new Phone(server).init();
  const typed = number();
  let r = await phone.start(typed);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.phone, e164(typed));
  assert.equal(r.body.status, 'sms');
  assert.equal(r.body.expires_in, 1800);
  assert.equal(r.body.sms_expires_in, 600);
  assert.match(r.body.enrollment_id, /^[A-Za-z0-9_-]{22}$/);
  // The gateway got the code, in Dutch, with the bearer token.
  const att = gw.attempts.at(-1);
  assert.equal(att.auth, 'Bearer gw-secret-token');
  assert.equal(att.type, 'application/json');
  assert.equal(att.msg.to, e164(typed));
  assert.match(att.msg.text, /^Je sleutel-activatiecode is \d{5}$/);
  assert.match(att.msg.id, /^[A-Za-z0-9_-]{22}$/);
  const code = gw.code(e164(typed));
  // Stored only as a MAC.
  assert.doesNotMatch(sql(`SELECT sms_hash FROM enrollments WHERE id='${phone.enrollmentId}'`), new RegExp(code));
  assert.doesNotMatch(server.log(), new RegExp(`activatiecode|${code}`));

  r = await phone.call('GET', '/enroll');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'sms');

  const wrong = code === '00000' ? '00001' : '00000';
  r = await phone.call('POST', '/enroll/sms', { code: wrong });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'wrong_code');
  assert.equal(r.body.attempts_left, 2);
  r = await phone.call('POST', '/enroll/sms', { code });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'proofing');
  assert.ok(Array.isArray(r.body.proofing));

  // finish before proofing: 409 not_proofed
  r = await phone.finish();
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'not_proofed');

  // GET /enroll waits while proofing; proofing ends it at once.
  const t0 = Date.now();
  const waiting = phone.call('GET', '/enroll');
  await new Promise((res) => setTimeout(res, 200));
  const pr = await fetch(`${phone.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...PERSON }),
  });
  assert.equal(pr.status, 200);
  r = await waiting;
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'proofed');
  assert.deepEqual(r.body.person, { given_name: 'Demo', family_name: 'Citizen' });
  assert.ok(Date.now() - t0 < 900, 'woken by proofing, not by the timeout');

  r = await phone.finish();
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.phone, e164(typed));
  phone.deviceId = r.body.device_id;
  // Q is stored sealed, not as the point.
  const stored = sql(`SELECT confirm_key FROM devices WHERE id='${phone.deviceId}'`);
  assert.ok(!Buffer.from(stored, 'base64url').includes(phone.qPoint), 'Q is not stored in the clear');
  assert.ok(Buffer.from(stored, 'base64url').length > 65 + 28);

  r = await phone.call('GET', '/devices');
  assert.equal(r.status, 200);
  assert.equal(r.body.devices.length, 1);
  assert.equal(r.body.devices[0].id, phone.deviceId);
  assert.equal(r.body.devices[0].name, 'Test phone');
  assert.equal(r.body.devices[0].this_device, true);
  assert.equal(r.body.devices[0].status, 'active');
  assert.equal(sql(`SELECT count(*) FROM audit WHERE event='app.enroll' AND result='ok'`), '1');
});

test('three wrong SMS codes end the enrolment', async () => {
  const phone = await new Phone(server).init();
  const n = number();
  assert.equal((await phone.start(n)).status, 201);
  const code = gw.code(e164(n));
  const wrong = code === '99999' ? '99998' : '99999';
  let r = await phone.call('POST', '/enroll/sms', { code: wrong });
  assert.equal(r.body.attempts_left, 2);
  r = await phone.call('POST', '/enroll/sms', { code: wrong });
  assert.equal(r.body.attempts_left, 1);
  r = await phone.call('POST', '/enroll/sms', { code: wrong });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'enrollment_ended');
  r = await phone.call('POST', '/enroll/sms', { code });
  assert.equal(r.status, 403, 'the right code after the end is refused too');
  r = await phone.call('POST', '/enroll/sms/resend');
  assert.equal(r.status, 403);
  // Malformed codes are refused without counting.
  const p2 = await new Phone(server).init();
  assert.equal((await p2.start(number())).status, 201);
  for (const bad of ['1234', '123456', 'abcde', 12345]) {
    r = await p2.call('POST', '/enroll/sms', { code: bad });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  }
});

test('resend: a new code replaces the old one, at most sms_max_sends messages', async () => {
  const phone = await new Phone(server).init();
  const n = number();
  assert.equal((await phone.start(n)).status, 201);
  const first = gw.code(e164(n));
  let r = await phone.call('POST', '/enroll/sms/resend');
  assert.equal(r.status, 200);
  assert.equal(r.body.sms_expires_in, 600);
  r = await phone.call('POST', '/enroll/sms/resend');
  assert.equal(r.status, 200);
  r = await phone.call('POST', '/enroll/sms/resend');
  assert.equal(r.status, 429);
  assert.equal(r.body.error, 'too_many_sms');
  assert.equal(gw.messages.filter((m) => m.to === e164(n)).length, 3);
  const last = gw.code(e164(n));
  if (first !== last) {
    r = await phone.call('POST', '/enroll/sms', { code: first });
    assert.equal(r.status, 400, 'the replaced code no longer works');
  }
  r = await phone.call('POST', '/enroll/sms', { code: last });
  assert.equal(r.status, 200);
});

test('an expired SMS code: 410 code_expired; an expired enrolment: 410', async () => {
  const phone = await new Phone(server).init();
  const n = number();
  assert.equal((await phone.start(n)).status, 201);
  sql(`UPDATE enrollments SET sms_expires = ${Math.floor(Date.now() / 1000)} - 1 WHERE id='${phone.enrollmentId}'`);
  let r = await phone.call('POST', '/enroll/sms', { code: gw.code(e164(n)) });
  assert.equal(r.status, 410);
  assert.equal(r.body.error, 'code_expired');
  r = await phone.call('POST', '/enroll/sms/resend');
  assert.equal(r.status, 200);
  r = await phone.call('POST', '/enroll/sms', { code: gw.code(e164(n)) });
  assert.equal(r.status, 200);
  sql(`UPDATE enrollments SET expires = ${Math.floor(Date.now() / 1000)} - 1 WHERE id='${phone.enrollmentId}'`);
  r = await phone.call('GET', '/enroll');
  assert.ok(r.status === 410 || r.status === 401, `expired enrolment: ${r.status}`);
});

test('start refusals: terms, phone, key, proof bound to the body key', async () => {
  const phone = await new Phone(server).init();
  let r = await phone.start(number(), { terms_version: '2020-01' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'terms_not_accepted');
  assert.equal(r.body.terms_version, '2026-11');
  r = await phone.start(number(), { terms_version: undefined });
  assert.equal(r.body.error, 'terms_not_accepted');
  for (const bad of ['12', 'not a number', '+32 0470 12 34 56', '0470 12 34 56 78 90', '']) {
    r = await phone.start(bad);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.error, 'invalid_phone', bad);
  }
  // A device name is shown on pages and printed in the operator's terminal:
  // no control, bidi-override or invisible characters.
  for (const name of ['\u001b[2Kfake', 'tab\there', 'evil\u202egnp', ' lead', '']) {
    r = await phone.start(number(), { device_name: name });
    assert.equal(r.status, 400, JSON.stringify(name));
    assert.equal(r.body.error, 'invalid_request');
  }
  r = await phone.start(number(), { transport_key: { kty: 'EC', crv: 'P-384', x: phone.jwk.x, y: phone.jwk.y } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_key');
  r = await phone.start(number(), { transport_key: { ...phone.jwk, d: 'AAAA' } });
  assert.equal(r.body.error, 'invalid_key');
  // A proof by another key than the one in the body.
  const other = await new Phone(server).init();
  r = await phone.start(number(), { transport_key: other.jwk });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_proof');
  assert.match(r.headers.get('www-authenticate'), /^DPoP error="invalid_dpop_proof"/);
  // Not JSON, wrong content type, duplicate keys.
  let res = await fetch(`${phone.base}/enroll/start`, {
    method: 'POST', headers: { 'content-type': 'text/plain', dpop: await phone.proof('POST', '/enroll/start') }, body: '{}',
  });
  assert.equal(res.status, 415);
  res = await fetch(`${phone.base}/enroll/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', dpop: await phone.proof('POST', '/enroll/start') },
    body: '{"phone":"0470123456","phone":"0470123457"}',
  });
  assert.equal(res.status, 400);
});

test('a transport key in use is refused: by an enrolment, and by a device', async () => {
  const phone = await new Phone(server).init();
  assert.equal((await phone.start(number())).status, 201);
  let r = await phone.start(number());
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'key_in_use');
  const enrolled = await enrolPhone(server, gw, number(), PERSON);
  r = await enrolled.start(number());
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'key_in_use');
});

test('proofs: replay, wrong htm, wrong htu, old or future iat, bad typ, no proof', async () => {
  const phone = await enrolPhone(server, gw, number(), PERSON);
  const proof = await phone.proof('GET', '/devices');
  let r = await phone.call('GET', '/devices', undefined, { proof });
  assert.equal(r.status, 200);
  r = await phone.call('GET', '/devices', undefined, { proof });
  assert.equal(r.status, 401, 'replayed jti');
  assert.match(r.body.error_description, /replay|used before/);
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    { claims: { htm: 'POST' } },
    { claims: { htu: `${server.issuer}/device/v1/requests` } },
    { claims: { htu: `https://other.example/device/v1/devices` } },
    { claims: { iat: now - 120 } },
    { claims: { iat: now + 120 } },
    { claims: { iat: undefined } },
    { claims: { jti: 'short' } },
    { claims: { jti: undefined } },
    { header: { typ: 'JWT' } },
    { header: { kid: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } },
  ];
  for (const over of cases) {
    r = await phone.call('GET', '/devices', undefined, { over });
    assert.equal(r.status, 401, JSON.stringify(over));
    assert.equal(r.body.error, 'invalid_proof');
  }
  // Signed by another key under this device's kid.
  const other = await new Phone(server).init();
  r = await phone.call('GET', '/devices', undefined, { over: { key: other.transportKey } });
  assert.equal(r.status, 401);
  r = await phone.call('GET', '/devices', undefined, { noProof: true });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /DPoP/);
});

test('devices: a second phone joins the account; removal is per account', async () => {
  const n = number();
  const a = await enrolPhone(server, gw, n, PERSON);
  const b = await enrolPhone(server, gw, n, PERSON);
  assert.equal(a.accountId, b.accountId, 'same number, same person: one account');
  // Another person's number is refused for this person? No: a number of
  // another person's account cannot be enrolled by someone else.
  const intruder = await new Phone(server).init();
  assert.equal((await intruder.start(n)).status, 201);
  await intruder.call('POST', '/enroll/sms', { code: gw.code(e164(n)) });
  await fetch(`${intruder.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: intruder.enrollmentId, ...OTHER }),
  });
  let r = await intruder.finish();
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'phone_in_use');

  r = await a.call('GET', '/devices');
  assert.deepEqual(r.body.devices.map((d) => [d.id, d.this_device]).sort(),
    [[a.deviceId, true], [b.deviceId, false]].sort());
  const stranger = await enrolPhone(server, gw, number(), OTHER);
  r = await stranger.call('POST', `/devices/${a.deviceId}/remove`);
  assert.equal(r.status, 404, 'another account\'s device');
  r = await a.call('POST', `/devices/${b.deviceId}/remove`);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'removed');
  r = await b.call('GET', '/devices');
  assert.equal(r.status, 401, 'a removed device is refused');
  r = await a.call('GET', '/devices');
  assert.deepEqual(r.body.devices.map((d) => d.id), [a.deviceId]);
  r = await a.call('POST', `/devices/${b.deviceId}/remove`);
  assert.equal(r.status, 404, 'already removed');
  r = await a.call('POST', '/devices/nonsense!/remove');
  assert.equal(r.status, 404);
});

test('request channel: 204 after poll_timeout when nothing is pending', async () => {
  const phone = await enrolPhone(server, gw, number(), PERSON);
  const t0 = Date.now();
  const r = await phone.call('GET', '/requests');
  const took = Date.now() - t0;
  assert.equal(r.status, 204);
  assert.ok(took >= 900 && took < 5000, `answered after ${took} ms`);
  // A blocked account's device is refused on the channel.
  sql(`UPDATE accounts SET status='blocked' WHERE id='${phone.accountId}'`);
  const r2 = await phone.call('GET', '/requests');
  assert.equal(r2.status, 401);
});

test('rate limit per number on enrolment start', async () => {
  const g = await smsGateway();
  const s = await startServer({
    config: { sms: { driver: 'webhook', webhook_url: g.url }, app: { rate_phone: 2, rate_ip: 3 } },
  });
  try {
    const n = '0470 99 99 01';
    for (let i = 0; i < 2; i++) assert.equal((await (await new Phone(s).init()).start(n)).status, 201);
    let r = await (await new Phone(s).init()).start(n);
    assert.equal(r.status, 429);
    assert.equal(r.body.error, 'rate_limited');
    assert.equal(g.messages.length, 2, 'no SMS past the limit');
    assert.equal((await (await new Phone(s).init()).start('0470 99 99 02')).status, 201);
    r = await (await new Phone(s).init()).start('0470 99 99 03');
    assert.equal(r.status, 429, 'per IP');
  } finally {
    await s.stop();
    await g.close();
  }
});

// Review 9: sms_attempts per enrolment and rate_phone per window, but no
// ceiling over windows, let one number take wrong codes for ever.  Now a
// number's wrong codes count across its enrolments: sms_wrong_per_window,
// then sms_wrong_max until its next right code (NIST SP 800-63B-4: at most
// 100 consecutive failures; the defaults are 10 a day and 100).
test('review9: wrong SMS activation codes for one number have a ceiling across windows', async () => {
  const g = await smsGateway();
  const s = await startServer({
    config: { sms: { driver: 'webhook', webhook_url: g.url },
      app: { rate_window: 1, rate_phone: 100, rate_ip: 100000, sms_attempts: 3, sms_wrong_per_window: 4,
        sms_wrong_max: 10 } },
  });
  const typed = '0470 55 44 33';
  const refused = (r) => r.status === 429 && r.body.error === 'too_many_wrong_codes';
  // Enrol and guess wrong until the number is refused; the wrong codes taken.
  const guess = async () => {
    let wrong = 0;
    for (let round = 0; round < 10; round++) {
      const phone = await new Phone(s).init();
      const r = await phone.start(typed);
      if (refused(r)) return wrong;
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const code = g.code(e164(typed));
      for (let k = 0; k < 3; k++) {
        const a = await phone.call('POST', '/enroll/sms', { code: String((Number(code) + 1 + k) % 100000).padStart(5, '0') });
        if (refused(a)) return wrong;
        assert.ok(a.body.error === 'wrong_code' || a.body.error === 'enrollment_ended', JSON.stringify(a.body));
        wrong++;
      }
    }
    return wrong;
  };
  const windowOver = () => dbSql(s, "UPDATE phone_failures SET window_end = 0");
  try {
    assert.equal(await guess(), 4, 'sms_wrong_per_window');
    const sent = g.messages.length;
    assert.ok(refused(await (await new Phone(s).init()).start(typed)), 'no new enrolment');
    assert.equal(g.messages.length, sent, 'no SMS sent to a refused number');
    windowOver();
    assert.equal(await guess(), 4, 'the next window');
    windowOver();
    assert.equal(await guess(), 2, 'sms_wrong_max in all');
    windowOver();
    assert.ok(refused(await (await new Phone(s).init()).start(typed)), 'spent until a right code or an operator');
    assert.equal((await s.cli('account', 'sms-unlock', typed)).trim(), `sms-unlocked ${e164(typed)}`);
    assert.equal((await (await new Phone(s).init()).start(typed)).status, 201, 'the operator cleared it');
    assert.equal(dbSql(s, "SELECT count(*) FROM audit WHERE event = 'account.sms_unlock'"), '1');
    // a right code ends the run of wrong ones
    const other = '0470 55 44 34';
    const phone = await new Phone(s).init();
    assert.equal((await phone.start(other)).status, 201);
    const code = g.code(e164(other));
    assert.equal((await phone.call('POST', '/enroll/sms', { code: code === '99999' ? '99998' : '99999' })).status, 400);
    assert.equal(dbSql(s, `SELECT total FROM phone_failures WHERE phone = '${e164(other)}'`), '1');
    assert.equal((await phone.call('POST', '/enroll/sms', { code })).status, 200);
    assert.equal(dbSql(s, `SELECT count(*) FROM phone_failures WHERE phone = '${e164(other)}'`), '0');
  } finally {
    await s.stop();
    await g.close();
  }
});

test('behind a trusted proxy, the enrolment limit per address counts the forwarded address', async () => {
  const g = await smsGateway();
  const s = await startServer({
    config: { server: { trusted_proxies: '127.0.0.1' }, sms: { driver: 'webhook', webhook_url: g.url },
      app: { rate_phone: 100, rate_ip: 2 } },
  });
  const from = async (ip, number) => {
    const phone = await new Phone(s).init();
    phone.extraHeaders = { 'X-Forwarded-For': ip };
    return (await phone.start(number)).status;
  };
  try {
    assert.equal(await from('198.51.100.1', '0470 99 98 01'), 201);
    assert.equal(await from('198.51.100.1', '0470 99 98 02'), 201);
    assert.equal(await from('198.51.100.1', '0470 99 98 03'), 429, 'the same person, a third time');
    assert.equal(await from('198.51.100.2', '0470 99 98 04'), 201, 'another person behind the same proxy');
  } finally {
    await s.stop();
    await g.close();
  }
});

test('SMS webhook: retried on 5xx with the same id, not on 4xx; no token when none set', async () => {
  let failFirst = true;
  const g = await smsGateway({ status: () => { if (failFirst) { failFirst = false; return 503; } return 200; } });
  const s = await startServer({ config: { sms: { driver: 'webhook', webhook_url: g.url, webhook_retries: 2 } } });
  try {
    const r = await (await new Phone(s).init()).start('0470 11 22 33');
    assert.equal(r.status, 201);
    assert.equal(g.attempts.length, 2);
    assert.equal(g.attempts[0].msg.id, g.attempts[1].msg.id);
    assert.equal(g.attempts[0].auth, undefined);
  } finally {
    await s.stop();
    await g.close();
  }
  const g4 = await smsGateway({ status: 400 });
  const s4 = await startServer({ config: { sms: { driver: 'webhook', webhook_url: g4.url, webhook_retries: 3 } } });
  try {
    const phone = await new Phone(s4).init();
    const r = await phone.start('0470 11 22 34');
    assert.equal(r.status, 502);
    assert.equal(r.body.error, 'sms_failed');
    assert.equal(g4.attempts.length, 1, '4xx is not retried');
    assert.doesNotMatch(s4.log(), /activatiecode/);
  } finally {
    await s4.stop();
    await g4.close();
  }
});

test('SMS outbox driver: the code lands in sms_outbox, in the enrolment language', async () => {
  const s = await startServer({});
  try {
    const phone = await new Phone(s).init();
    const r = await phone.start('+32 470 55 66 77', { language: 'fr' });
    assert.equal(r.status, 201);
    const row = dbSql(s, 'SELECT phone, text FROM sms_outbox');
    assert.match(row, /^\+32470556677\|Votre code d'activation sleutel est (\d{5})$/);
    const code = row.match(/(\d{5})$/)[1];
    const ok = await phone.call('POST', '/enroll/sms', { code });
    assert.equal(ok.status, 200);
  } finally {
    await s.stop();
  }
});
