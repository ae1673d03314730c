// smartid-replace.test.mjs — a replacement for a lost Smart-ID device
// (docs/smartid-registration.md "Replacing a device"): a person with two
// Smart-ID devices registers a third with the ID card; the confirmation
// page lists the two, the person ticks the lost one, and on confirming it
// ends at once (the device API refuses it, both certificates revoked),
// audited, with "device.revoked" to the kept device; the new device joins
// the same account.  An unticked confirmation revokes nothing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, startServer, hiddenInputs } from './lib/harness.mjs';
import { sqlJson } from './lib/db.mjs';
import { issueCard, tmp } from './lib/eid.mjs';
import { registerSmartId, SmartIdPhone, portalEidLogin, portalSteps, PORTAL } from './lib/smartid.mjs';

const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
let server;
let dir;
let card;

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000 } } });
  dir = tmp();
  card = await issueCard(server.pkiDir, dir, { given: JAN.given, family: JAN.family, rrn: JAN.rrn });
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sql = (query) => sqlJson(server, query);
const certStatus = (phone) => {
  const index = JSON.parse(readFileSync(path.join(server.pkiDir, 'index.json'), 'utf8'));
  return ['auth', 'sign'].map((use) => index.certs.find((c) =>
    c.serial === new crypto.X509Certificate(phone.certificates[use]).serialNumber.toUpperCase())?.status);
};

// A new device up to the confirmation page; returns { phone, agent, html }.
async function toConfirm(deviceName) {
  const phone = await new SmartIdPhone(server).init();
  const r = await phone.register({ deviceName });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const agent = new Agent();
  await portalEidLogin(server, agent, card, { lang: 'en' });
  const s = await portalSteps(server, agent, phone.code, { stopAt: 'confirm', lang: 'en' });
  assert.equal(s.status, 303);
  const res = await agent.get(`${server.base}${PORTAL}/confirm?lang=en`);
  assert.equal(res.status, 200);
  return { phone, agent, html: await res.text() };
}

test('the lost device is ticked on the confirmation page: revoked at once, the other told, same account', async () => {
  const lost = await registerSmartId(server, JAN, { deviceName: 'Lost phone' });
  const kept = await registerSmartId(server, JAN, { deviceName: 'Tablet' });
  const { phone, agent, html } = await toConfirm('New phone');
  // Both devices are listed with a box of their own; nobody else's.
  assert.match(html, /id="sid-replace"/);
  assert.match(html, new RegExp(`name="revoke_${lost.deviceId}" value="1"> Lost phone is lost or replaced: revoke it now`));
  assert.match(html, new RegExp(`name="revoke_${kept.deviceId}"`));
  assert.equal([...html.matchAll(/name="revoke_/g)].length, 2);

  const res = await agent.post(`${server.base}${PORTAL}/confirm`, { ...hiddenInputs(html), [`revoke_${lost.deviceId}`]: '1' });
  assert.equal(res.status, 200, await res.text());
  // Refused from the next request on; its certificates revoked; the other stays.
  assert.equal((await lost.status()).status, 401);
  assert.deepEqual(certStatus(lost), ['revoked', 'revoked']);
  assert.deepEqual(certStatus(kept), ['good', 'good']);
  assert.equal((await kept.status()).status, 200);
  const [row] = await sql(`SELECT status, reason FROM sid_devices WHERE id = '${lost.deviceId}'`);
  assert.deepEqual(row, { status: 'removed', reason: 'replaced' });
  const [au] = await sql(`SELECT result, key, person_id, detail FROM audit WHERE event = 'smartid.revoke'`);
  assert.equal(au.result, 'ok');
  assert.match(au.detail, new RegExp(`device ${lost.deviceId} .*\\(Lost phone\\); \\d+ sessions ended, \\d+ tokens revoked$`));
  const notices = (await kept.call('GET', '/notices')).body.notices;
  assert.ok(notices.some((n) => n.kind === 'device.revoked' && n.device_kind === 'smartid' && n.device_id === lost.deviceId),
    JSON.stringify(notices));

  // The new device finishes on the same account.
  let r = await phone.status();
  assert.equal(r.body.status, 'confirmed');
  r = await phone.finish();
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(phone.accountId, lost.accountId, 'the existing account is kept');
  const [{ n }] = await sql(`SELECT COUNT(*) AS n FROM sid_devices WHERE account_id = '${lost.accountId}' AND status = 'active'`);
  assert.equal(Number(n), 2);
  assert.equal(au.person_id, (await sql(`SELECT person_id FROM sid_accounts WHERE id = '${lost.accountId}'`))[0].person_id);
});

test('a confirmation with nothing ticked revokes nothing; a box of another person\'s device is ignored', async () => {
  const before = await sql(`SELECT id, status FROM sid_devices ORDER BY id`);
  const { agent, html } = await toConfirm('Another');
  const res = await agent.post(`${server.base}${PORTAL}/confirm`, { ...hiddenInputs(html), revoke_nosuchdevice: '1' });
  assert.equal(res.status, 200);
  assert.deepEqual(await sql(`SELECT id, status FROM sid_devices ORDER BY id`), before);
});
