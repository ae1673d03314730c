// smartid-account.test.mjs — the person's Smart-ID devices on /account:
// name, document number, status, added and last used, in four languages;
// a revoked device shown with why (a clone, the helpdesk) and without a
// button; a blocked account said; and removing a device (CSRF token, only
// one's own, once): it ends "removed" by the person, the device API
// refuses it, its account's pending request fails, an audit record is
// written and the page says so.
// Devices are registered end to end with the test phone of lib/smartid.mjs
// and a virtual eID card; the page is logged in to with the test key as the
// same person (same national number).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, startServer } from './lib/harness.mjs';
import { loginToAccount as login, accountPage } from './lib/account.mjs';
import { sqlJson } from './lib/db.mjs';
import { run } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';

const JAN = { given: 'Jan', family: 'Peeters', rrn: '85073003328' };
const ELS = { given: 'Els', family: 'Maes', rrn: '90020199704' };
const NOBODY = { rrn: '70010112345', given_name: 'Nog', family_name: 'Niemand' };
const asPerson = (p) => ({ rrn: p.rrn, given_name: p.given, family_name: p.family });

let server;
let janPhone;
let janTablet;
let elsPhone;

before(async () => {
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rate_ip: 1000 } } });
  janPhone = await registerSmartId(server, JAN, { deviceName: 'Pixel 8' });
  janTablet = await registerSmartId(server, JAN, { deviceName: 'Tablet' });
  elsPhone = await registerSmartId(server, ELS, { deviceName: 'iPhone' });
});
after(async () => { await server?.stop(); });

const sql = (query) => sqlJson(server, query);

const loginToAccount = (person) => login(server, person);
const page = (agent, query) => accountPage(server, agent, query);

// The Smart-ID table's rows: [name, document, added, last used, status, has a remove form].
function sidRows(html) {
  const table = html.match(/<table class="devices smartid">([\s\S]*?)<\/table>/);
  if (!table) return [];
  return [...table[1].matchAll(/<tr><th scope="row">([^<]*)<\/th>([\s\S]*?)<\/tr>/g)].map(([, name, rest]) => {
    const cells = [...rest.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => c[1]);
    return [name, cells[0], cells[1].replace(/<[^>]+>/g, ''), cells[2].replace(/<[^>]+>/g, ''), cells[3],
      /action="\/account\/smartid\/remove"/.test(cells[4])];
  });
}

// The remove form of a Smart-ID device: its hidden fields.
function removeForm(html, deviceId) {
  for (const [, body] of html.matchAll(/<form method="post" action="\/account\/smartid\/remove">([\s\S]*?)<\/form>/g)) {
    const f = Object.fromEntries([...body.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (f.device === deviceId) return f;
  }
  return null;
}

test('the page lists the person\'s Smart-ID devices, only theirs, in four languages', async () => {
  const agent = await loginToAccount(asPerson(JAN));
  const html = await page(agent);
  assert.match(html, /Logged in as Jan Peeters/);
  assert.match(html, /<h2>Your Smart-ID<\/h2>/);
  assert.match(html, /<caption[^>]*>Devices that log in and sign with Smart-ID<\/caption>/);
  const rows = sidRows(html);
  assert.deepEqual(rows.map((r) => r[0]), ['Pixel 8', 'Tablet']);
  assert.deepEqual(rows.map((r) => r[1]), [janPhone.document, janTablet.document]);
  for (const r of rows) {
    assert.match(r[2], /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/, 'added');
    assert.equal(r[3], 'Never');
    assert.equal(r[4], 'In use');
    assert.equal(r[5], true, 'a remove button');
  }
  assert.ok(removeForm(html, janPhone.deviceId));
  assert.doesNotMatch(html, new RegExp(elsPhone.document), 'another person\'s device is not shown');
  assert.doesNotMatch(html, /You have not registered Smart-ID/);
  // Last used, once the device signed something.
  await sql(`UPDATE sid_devices SET last_used = 4102444800 WHERE id = '${janTablet.deviceId}'`);
  assert.equal(sidRows(await page(agent))[1][3], '2100-01-01 00:00 UTC');
  for (const [lang, heading, caption, status] of [
    ['nl', 'Je Smart-ID', 'Toestellen die met Smart-ID inloggen en ondertekenen', 'In gebruik'],
    ['fr', 'Votre Smart-ID', 'Appareils qui se connectent et signent avec Smart-ID', 'Actif'],
    ['de', 'Ihre Smart-ID', 'Geräte, die sich mit Smart-ID anmelden und unterschreiben', 'Aktiv']]) {
    const t = await page(agent, `lang=${lang}`);
    assert.match(t, new RegExp(`<h2>${heading}</h2>`), lang);
    assert.match(t, new RegExp(`<caption[^>]*>${caption}</caption>`), lang);
    assert.equal(sidRows(t)[0][4], status, lang);
  }
  // A person without Smart-ID is told so.
  const none = await page(await loginToAccount(NOBODY));
  assert.match(none, /<p>You have not registered Smart-ID on a device yet\.<\/p>/);
  assert.doesNotMatch(none, /class="devices smartid"/);
});

test('a revoked device shows why and has no button; a blocked account is said', async () => {
  const agent = await loginToAccount(asPerson(ELS));
  const dev = elsPhone.deviceId;
  await sql(`UPDATE sid_devices SET status = 'revoked', reason = 'clone' WHERE id = '${dev}'`);
  let rows = sidRows(await page(agent));
  assert.deepEqual(rows[0].slice(4), ['Revoked: a copy of this device was detected', false]);
  await sql(`UPDATE sid_devices SET reason = 'lost phone' WHERE id = '${dev}'`);
  rows = sidRows(await page(agent, 'lang=nl'));
  assert.equal(rows[0][4], 'Ingetrokken door de helpdesk');
  // Removed by the person: no longer listed.
  await sql(`UPDATE sid_devices SET status = 'removed', reason = 'person' WHERE id = '${dev}'`);
  assert.match(await page(agent), /You have not registered Smart-ID on a device yet\./);
  await sql(`UPDATE sid_devices SET status = 'active', reason = NULL WHERE id = '${dev}'`);
  await sql(`UPDATE sid_accounts SET status = 'blocked' WHERE id = '${elsPhone.accountId}'`);
  assert.match(await page(agent), /<p class="notice">Your Smart-ID account is blocked\. Contact the helpdesk/);
  await sql(`UPDATE sid_accounts SET status = 'active' WHERE id = '${elsPhone.accountId}'`);
  assert.doesNotMatch(await page(agent), /class="notice"/);
});

test('removing a device: CSRF token, only one\'s own, once; its pending request fails; audited', async () => {
  const agent = await loginToAccount(asPerson(JAN));
  const form = removeForm(await page(agent), janPhone.deviceId);
  assert.ok(form);
  const remove = (a, f) => a.post(`${server.base}/account/smartid/remove`, f);
  const status = async (id) => (await sql(`SELECT status, reason FROM sid_devices WHERE id = '${id}'`))[0];

  let res = await remove(new Agent(), form);
  assert.equal(res.status, 401, 'no session');
  res = await remove(agent, { ...form, csrf: 'A'.repeat(43) });
  assert.equal(res.status, 403, 'a bad CSRF token');
  res = await remove(agent, { device: form.device, lang: 'en' });
  assert.equal(res.status, 403, 'no CSRF token');
  res = await remove(agent, { ...form, device: elsPhone.deviceId });
  assert.equal(res.status, 404, 'another person\'s device');
  assert.match(await res.text(), /This device is not one of yours/);
  res = await remove(agent, { ...form, device: 'no-such-device' });
  assert.equal(res.status, 404);
  assert.deepEqual(await status(janPhone.deviceId), { status: 'active', reason: null });
  assert.deepEqual(await status(elsPhone.deviceId), { status: 'active', reason: null });

  const now = Math.floor(Date.now() / 1000);
  await sql('INSERT INTO sid_requests (id, account_id, client_id, action, key_use, hash, digest, padding,'
    + ` status, created, expires) VALUES ('rq-acc', '${janPhone.accountId}', 'rp', 'login', 'auth', 'aA',`
    + ` 'SHA256', 'pkcs1', 'pending', ${now}, ${now + 180})`);
  assert.equal((await janPhone.status()).status, 200);
  const [{ m }] = await sql('SELECT COALESCE(MAX(seq), 0) AS m FROM audit');
  res = await remove(agent, form);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account?sidremoved=1&lang=en');
  assert.deepEqual(await status(janPhone.deviceId), { status: 'removed', reason: 'person' });
  assert.deepEqual(await status(janTablet.deviceId), { status: 'active', reason: null });
  const certStatus = (phone) => {
    const index = JSON.parse(readFileSync(path.join(server.pkiDir, 'index.json'), 'utf8'));
    return ['auth', 'sign'].map((use) => index.certs.find((c) =>
      c.serial === new crypto.X509Certificate(phone.certificates[use]).serialNumber.toUpperCase())?.status);
  };
  assert.deepEqual(certStatus(janPhone), ['revoked', 'revoked'], 'the removed device\'s certificates are revoked');
  assert.deepEqual(certStatus(janTablet), ['good', 'good']);
  assert.deepEqual(await sql('SELECT status FROM sid_requests WHERE id = \'rq-acc\''), [{ status: 'failed' }]);
  assert.equal((await janPhone.status()).status, 401, 'the device API refuses the removed device');
  assert.equal((await janTablet.status()).status, 200, 'the other device goes on');
  const html = await page(agent, 'sidremoved=1&lang=en');
  assert.match(html, /<p class="notice" role="status">The Smart-ID device was removed\./);
  assert.deepEqual(sidRows(html).map((r) => r[0]), ['Tablet']);
  // A second submit of the same form: the same answer, nothing more written.
  res = await remove(agent, form);
  assert.equal(res.status, 303);
  const audit = await sql(`SELECT event, person_id, key, detail FROM audit WHERE seq > ${m} AND event = 'smartid.remove'`);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].key, 'smartid');
  assert.match(audit[0].detail, new RegExp(`^by the person: device ${janPhone.deviceId} ${janPhone.document} \\(Pixel 8\\)$`));
  const [acc] = await sql(`SELECT person_id FROM sid_accounts WHERE id = '${janPhone.accountId}'`);
  assert.equal(audit[0].person_id, acc.person_id);
  // Dutch notice.
  assert.match(await page(agent, 'sidremoved=1&lang=nl'), /Het Smart-ID-toestel is verwijderd\./);
});

test('a new Smart-ID device: a notice on the page and for the other device; "This was not me" ends it', async () => {
  const [{ id: els }] = await sql(`SELECT person_id AS id FROM sid_accounts WHERE id = '${elsPhone.accountId}'`);
  await sql(`UPDATE notices SET created = created - 60 WHERE person_id = '${els}'`); // registered a minute ago
  const stolen = await registerSmartId(server, ELS, { deviceName: 'Stolen' });
  let r = await elsPhone.call('GET', '/notices');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.notices.map((n) => [n.kind, n.device_kind, n.device_id, n.device_name]),
    [['device.added', 'smartid', stolen.deviceId, 'Stolen']]);
  assert.deepEqual((await stolen.call('GET', '/notices')).body.notices, [], 'not told of itself');

  const agent = await loginToAccount(asPerson(ELS));
  const html = await page(agent);
  assert.match(html, /A device was added to your account: Stolen/);
  const body = [...html.matchAll(/<form method="post" action="\/account\/notme">([\s\S]*?)<\/form>/g)]
    .map((m) => m[1]).find((b) => b.includes(`name="sid" value="${stolen.deviceId}"`) && b.includes('name="notice"'));
  const form = Object.fromEntries([...body.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const res = await agent.post(`${server.base}/account/notme`, form);
  assert.equal(res.status, 303);
  assert.equal((await stolen.status()).status, 401, 'the device API refuses it at once');
  assert.equal((await elsPhone.status()).status, 200);
  const [au] = await sql(`SELECT key, person_id, detail FROM audit WHERE event = 'smartid.notme' ORDER BY seq DESC LIMIT 1`);
  assert.equal(au.key, 'smartid');
  assert.equal(au.person_id, els);
  assert.match(au.detail, new RegExp(`device ${stolen.deviceId} \\(Stolen\\); 0 sessions ended, 0 tokens revoked$`));
  r = await elsPhone.call('GET', '/notices');
  assert.deepEqual(r.body.notices.map((n) => [n.kind, n.device_id]), [['device.blocked', stolen.deviceId]]);
});

test('"This was not me" on a Smart-ID login of the history ends the device that confirmed it', async () => {
  const [{ id: els }] = await sql(`SELECT person_id AS id FROM sid_accounts WHERE id = '${elsPhone.accountId}'`);
  const now = Math.floor(Date.now() / 1000);
  await sql('INSERT INTO sid_requests (id, account_id, client_id, action, key_use, hash, digest, padding,'
    + ` status, device_id, created, expires) VALUES ('rq-notme', '${elsPhone.accountId}', 'rp', 'login', 'auth',`
    + ` 'aA', 'SHA256', 'pkcs1', 'approved', '${elsPhone.deviceId}', ${now}, ${now + 180})`);
  await sql(`INSERT INTO audit (time, event, result, person_id, client_id, key, ip, detail)
    VALUES (${now + 5}, 'login', 'ok', '${els}', 'rp', 'smartid', '198.51.100.9', 'rq-notme')`);
  const [{ seq }] = await sql("SELECT max(seq) AS seq FROM audit WHERE detail = 'rq-notme'");
  const agent = await loginToAccount(asPerson(ELS));
  const html = await page(agent);
  const csrf = html.match(/name="csrf" value="([^"]+)"/)[1];
  assert.match(html, new RegExp(`name="entry" value="${seq}"`), 'the Smart-ID login has the button');
  const res = await agent.post(`${server.base}/account/notme`, { entry: String(seq), csrf, lang: 'en' });
  assert.equal(res.status, 303);
  assert.equal((await elsPhone.status()).status, 401);
  const [au] = await sql("SELECT detail FROM audit WHERE event = 'smartid.notme' ORDER BY seq DESC LIMIT 1");
  assert.match(au.detail, new RegExp(`device ${elsPhone.deviceId} \\(iPhone\\), login entry ${seq}; 0 sessions ended, 0 tokens revoked$`));
});
