// app-recover.test.mjs — a lost or replaced phone, and a forgotten app
// code, recovered with the eID card (docs/device-api.md "Recovery"):
//   a person with two numbers (two JS phones) loses one; a new phone
//   enrols for that number with the real eID flow (virtual card on the eID
//   origin, the proofing code typed in the app) and POST /enroll/recover
//   binds it to the same account: the old phone is refused at once, the
//   other phone is told ("device.revoked"), the person, their history and
//   the other phone stay.  A card of another person is refused, audited,
//   and changes nothing; a recovery proved without the card is refused; a
//   forgotten code (the account locked by wrong codes) is recovered from
//   the same phone with the card, which alone clears the lock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { registerRp } from './lib/flows.mjs';
import { Phone, proofCodeOf, smsGateway, enrolPhone, seal, startAppLogin, appLoginTokens, appLoginAlive }
  from './lib/phone.mjs';
import { issueCard, proofWithCard, rrn, tmp } from './lib/eid.mjs';
import { runApp } from './lib/app.mjs';
import { loginToAccount, accountPage } from './lib/account.mjs';

const LOTTE = { rrn: '85073003328', given_name: 'Lotte', family_name: 'Janssens' };
let server;
let gw;
let rp;
let dir;
let card;
let other;
const sql = (q) => dbSql(server, q);

before(async () => {
  gw = await smsGateway();
  server = await startServer({
    demo: true,
    config: {
      sms: { driver: 'webhook', webhook_url: gw.url },
      app: { poll_timeout: 2, rate_phone: 1000, rate_ip: 1000 },
    },
  });
  dir = tmp();
  [rp, card, other] = await Promise.all([
    registerRp(server),
    issueCard(server.pkiDir, dir, { name: 'Lotte Janssens', rrn: LOTTE.rrn }),
    issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: rrn('900201', '123') }),
  ]);
});

after(async () => {
  await server?.stop();
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A new phone enrols for `number` up to "proofed" with `withCard` (the real
// eID flow), or with the test proofing (a stand-in for a bank).
async function proofed(number, withCard) {
  const phone = await new Phone(server).init();
  let r = await phone.start(number);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  phone.number = r.body.phone;
  r = await phone.call('POST', '/enroll/sms', { code: gw.code(phone.number) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  if (withCard) {
    const eid = r.body.proofing.find((c) => c.method === 'eid');
    const page = await proofWithCard(eid.url, withCard.args, { redeem: false });
    assert.equal(page.status, 200, page.curlError || page.body);
    r = await phone.proofCode(proofCodeOf(page.body));
    assert.equal(r.body.status, 'proofed', JSON.stringify(r.body));
  } else {
    r = await fetch(`${phone.base}/test/proofed`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...LOTTE }),
    });
    assert.equal(r.status, 200);
  }
  return phone;
}

async function recover(phone, extra = {}) {
  const r = await phone.call('POST', '/enroll/recover', {
    seal_kid: phone.sealKey.kid,
    confirmation_key: seal(phone.sealKey.pub, phone.sealKey.kid, phone.enrollmentId, phone.qPoint),
    ...extra,
  });
  if (r.status === 201) {
    phone.deviceId = r.body.device_id;
    phone.accountId = r.body.account_id;
  }
  return r;
}

// A portal login for `phone`'s number; the request as the phone gets it.
async function loginRequest(phone) {
  const { aq } = await startAppLogin(server, rp, phone.number);
  const r = await phone.call('GET', '/requests');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { rq: r.body.requests.find((x) => x.id === aq), code: sql(`SELECT code FROM app_requests WHERE id='${aq}'`) };
}

const auditRows = (event) => sql(`SELECT result || '|' || COALESCE(person_id, '') FROM audit WHERE event = '${event}' ORDER BY seq`)
  .split('\n').filter(Boolean);

test('a lost phone: the new phone keeps the account, the old one is refused at once, the other is told', async () => {
  const lost = await enrolPhone(server, gw, '0470 31 00 01', LOTTE);
  const kept = await enrolPhone(server, gw, '0470 31 00 02', LOTTE);
  const personId = sql(`SELECT person_id FROM accounts WHERE id = '${lost.accountId}'`);
  const historyBefore = Number(sql(`SELECT COUNT(*) FROM audit WHERE person_id = '${personId}'`));
  assert.ok(historyBefore >= 2);

  const fresh = await proofed('0470 31 00 01', card);
  const r = await recover(fresh);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.account_id, lost.accountId, 'the same account');
  assert.deepEqual(r.body.revoked, [lost.deviceId], 'the device that had this number, by default');

  // The old phone's keys are refused from the next request on.
  const old = await lost.call('GET', '/devices');
  assert.equal(old.status, 401, JSON.stringify(old.body));
  assert.equal(sql(`SELECT status FROM devices WHERE id = '${lost.deviceId}'`), 'removed');
  // The person, their history and the other phone stay.
  assert.equal(sql(`SELECT person_id FROM accounts WHERE id = '${lost.accountId}'`), personId);
  assert.equal(sql(`SELECT COUNT(*) FROM persons`), '1');
  assert.ok(Number(sql(`SELECT COUNT(*) FROM audit WHERE person_id = '${personId}'`)) > historyBefore);
  assert.deepEqual(auditRows('app.recover'), [`ok|${personId}`]);
  const k = await kept.call('GET', '/devices');
  assert.equal(k.status, 200);
  // The other phone is told, and so is the new one (of the old one's end).
  const told = await kept.call('GET', '/notices');
  assert.ok(told.body.notices.some((n) => n.kind === 'device.revoked' && n.device_id === lost.deviceId),
    JSON.stringify(told.body));
  const own = await fresh.call('GET', '/notices');
  assert.ok(own.body.notices.some((n) => n.kind === 'device.revoked' && n.device_id === lost.deviceId));
  assert.ok(!own.body.notices.some((n) => n.device_id === fresh.deviceId), 'not told of itself');

  // The account page says so too.
  const html = await accountPage(server, await loginToAccount(server, LOTTE));
  assert.match(html, /A device was revoked: Test phone/);

  // The new phone logs in.
  const { rq, code } = await loginRequest(fresh);
  const a = await fresh.answer(rq, { code });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.status, 'approved');
});

test('another person\'s card is refused, audited on the account, and changes nothing', async () => {
  const mine = await enrolPhone(server, gw, '0470 32 00 01', LOTTE);
  const personId = sql(`SELECT person_id FROM accounts WHERE id = '${mine.accountId}'`);
  const before = sql('SELECT id, account_id, status FROM devices ORDER BY id');
  const persons = sql('SELECT COUNT(*) FROM persons');
  const thief = await proofed('0470 32 00 01', other);
  const r = await recover(thief);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.error, 'identity_mismatch');
  assert.match(r.body.error_description, /Nothing was changed/);
  assert.equal(sql('SELECT id, account_id, status FROM devices ORDER BY id'), before);
  assert.equal(sql('SELECT COUNT(*) FROM persons'), persons, 'no person record made for the card');
  assert.ok(auditRows('app.recover').includes(`identity_mismatch|${personId}`));
  assert.equal((await mine.call('GET', '/devices')).status, 200, 'the real phone still works');
});

test('a recovery proved without the eID card is refused; a number without an account is not recovered', async () => {
  const mine = await enrolPhone(server, gw, '0470 33 00 01', LOTTE);
  const bank = await proofed('0470 33 00 01', null);
  let r = await recover(bank);
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'eid_required');
  assert.equal(sql(`SELECT status FROM devices WHERE id = '${mine.deviceId}'`), 'active');
  assert.ok(auditRows('app.recover').some((x) => x.startsWith('eid_required|')));
  const none = await proofed('0470 33 00 99', card);
  r = await recover(none);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  // A picked device that is not the person's is refused, nothing ended.
  const fresh = await proofed('0470 33 00 01', card);
  r = await recover(fresh, { revoke: ['nosuchdevice0000'] });
  assert.equal(r.status, 404, JSON.stringify(r.body));
  r = await recover(fresh, { revoke: 'all' });
  assert.equal(r.status, 400);
  assert.equal(sql(`SELECT status FROM devices WHERE id = '${mine.deviceId}'`), 'active');
});

test('a forgotten app code: the lock is cleared only by a recovery with the card', async () => {
  const phone = await enrolPhone(server, gw, '0470 34 00 01', LOTTE);
  const wrong = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const { rq, code } = await loginRequest(phone);
  let locked;
  for (let i = 0; i < 3; i++) locked = await phone.answer(rq, { code, key: wrong });
  assert.equal(locked.status, 403);
  assert.ok(locked.body.locked_until > Date.now() / 1000, JSON.stringify(locked.body));
  const row = () => sql(`SELECT failures || '|' || CASE WHEN locked_until > 0 THEN 1 ELSE 0 END FROM accounts WHERE id = '${phone.accountId}'`);
  assert.equal(row(), '3|1');

  // Without the card: refused, still locked.
  const noCard = await proofed('0470 34 00 01', null);
  assert.equal((await recover(noCard)).body.error, 'eid_required');
  assert.equal(row(), '3|1');

  // The same phone, a new key and a new code, with the card; it picks its old device.
  const again = await proofed('0470 34 00 01', card);
  const r = await recover(again, { revoke: [phone.deviceId] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.account_id, phone.accountId);
  assert.deepEqual(r.body.revoked, [phone.deviceId]);
  assert.equal(row(), '0|0', 'the count and the lock are cleared');
  assert.equal((await phone.call('GET', '/requests')).status, 401, 'the old key is refused');
  const next = await loginRequest(again);
  const a = await again.answer(next.rq, { code: next.code });
  assert.equal(a.body.status, 'approved', JSON.stringify(a.body));
});

test('sleutel-app recover: a forgotten code on the same phone, in the terminal app', async () => {
  const ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  const state = path.join(dir, 'phone.json');
  const app = (args, input = '') => runApp({ server, ca, state }, ['--json', ...args], input);
  let r = await app(['enroll', 'start', '--phone', '0470 35 00 01']);
  assert.equal(r.code, 0, r.stderr);
  r = await app(['enroll', 'sms', gw.code('+32470350001')]);
  assert.equal(r.code, 0, r.stderr);
  const pr = await fetch(`${server.base}/device/v1/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: JSON.parse(readFileSync(state, 'utf8')).enrollment_id, ...LOTTE }),
  });
  assert.equal(pr.status, 200);
  r = await app(['enroll', 'finish'], '12345\n');
  assert.equal(r.code, 0, r.stderr);
  const oldDevice = r.json.device_id;

  // The code is forgotten: the same steps, proved with the card.
  r = await app(['recover', 'start', '--phone', '0470 35 00 01']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'sms');
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).device_id, undefined, 'the old device is forgotten here');
  r = await app(['enroll', 'sms', gw.code('+32470350001')]);
  assert.equal(r.code, 0, r.stderr);
  const page = await proofWithCard(r.json.proofing.find((c) => c.method === 'eid').url, card.args, { redeem: false });
  assert.equal(page.status, 200);
  r = await app(['enroll', 'proof', proofCodeOf(page.body)]);
  assert.equal(r.code, 0, r.stderr);
  r = await app(['recover', 'finish', '--revoke', ''], '54321\n');
  assert.equal(r.code, 2, 'an empty --revoke list is a usage error');
  r = await app(['recover', 'finish'], '54321\n');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.revoked, [oldDevice]);
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).device_id, r.json.device_id);
  assert.equal(sql(`SELECT status FROM devices WHERE id = '${oldDevice}'`), 'removed');
  r = await app(['devices']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.json.devices.some((d) => d.this_device && d.status === 'active'));
});

// secfix3: whoever has the lost phone is logged out with it: the SSO
// session of a login made with the app and the refresh and access tokens
// the site got with it end with the recovery.
test('a lost phone: the recovery ends its logins, SSO session and the tokens sites got', async () => {
  const lost = await enrolPhone(server, gw, '0470 36 00 01', LOTTE);
  const login = await appLoginTokens(server, rp, lost, lost.number);
  const fresh = await proofed('0470 36 00 01', card);
  const r = await recover(fresh);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.revoked, [lost.deviceId]);
  assert.deepEqual(await appLoginAlive(server, rp, login), [false, false, false], '[refresh, userinfo, SSO session]');
});

