// account-page.test.mjs — the citizen's own page, /account: the login
// through the portal for the built-in client "sleutel-account" (state
// checked, the code dropped), the person's app accounts and devices,
// removing a device (CSRF token, only one's own), and the login history
// from the audit trail, newest first and at most 50 rows.  Phones are
// enrolled through the device API (lib/phone.mjs), the activation code read
// from the SMS outbox; the logins are real ones with the test key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, Agent, loginWithTestKey, DEMO_PERSON } from './lib/harness.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { registerRp, codeFlow } from './lib/flows.mjs';
import { Phone, enrolPhone } from './lib/phone.mjs';

const OTHER = { rrn: '90020212345', given_name: 'Eva', family_name: 'Andere' };
let server;
let rp;

const sql = (q) => dbSql(server, q);

// The outbox as phone.mjs's SMS gateway: the last code sent to a number.
const outbox = {
  code: (number) => sql(`SELECT text FROM sms_outbox WHERE phone = '${number}' ORDER BY seq DESC LIMIT 1`)
    .match(/\b(\d{5})\b/)[1],
};

const enrol = (typed, person) => enrolPhone(server, outbox, typed, person);

// Log in to the account page as `person`; returns the agent with its session.
async function loginToAccount(person = DEMO_PERSON, agent = new Agent()) {
  let res = await agent.get(`${server.base}/account/login?lang=en`);
  assert.equal(res.status, 303);
  const authorize = new URL(res.headers.get('location'), server.base);
  const back = await loginWithTestKey(server, authorize, { agent, person });
  assert.equal(back.origin + back.pathname, `${server.issuer}/account`);
  res = await agent.get(String(back));
  assert.equal(res.status, 303, 'the way back drops the code from the address');
  assert.equal(res.headers.get('location'), '/account?lang=en');
  return agent;
}

async function page(agent, query = 'lang=en') {
  const res = await agent.get(`${server.base}/account?${query}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return res.text();
}

// The remove form of a device on the page: its hidden fields.
function removeForm(html, deviceId) {
  const forms = [...html.matchAll(/<form method="post" action="\/account\/devices\/remove">([\s\S]*?)<\/form>/g)];
  for (const [, body] of forms) {
    const f = Object.fromEntries([...body.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (f.device === deviceId) return f;
  }
  return null;
}

const historyRows = (html) => [...html.matchAll(/<tr><td><time datetime="[^"]+">[^<]+<\/time><\/td>(.*?)<\/tr>/g)]
  .map((m) => [...m[1].matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1]));

before(async () => {
  server = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 1000 } } });
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => { await server?.stop(); });

test('without a session: a page with a log-in button; removal refused', async () => {
  const agent = new Agent();
  const html = await page(agent);
  assert.match(html, /<h1>Your sleutel account<\/h1>/);
  assert.match(html, /<a class="button" href="\/account\/login\?lang=en">Log in<\/a>/);
  assert.doesNotMatch(html, /Logged in as/);
  const res = await agent.post(`${server.base}/account/devices/remove`, { device: 'x', csrf: 'y' });
  assert.equal(res.status, 401);
  const nl = await agent.get(`${server.base}/account?lang=nl`);
  assert.equal(nl.headers.get('content-language'), 'nl');
  assert.match(await nl.text(), /<html lang="nl">/);
});

test('the login goes through the portal for the built-in client, with PKCE and state', async () => {
  const agent = new Agent();
  const res = await agent.get(`${server.base}/account/login?lang=de`);
  assert.equal(res.status, 303);
  const u = new URL(res.headers.get('location'), server.base);
  assert.equal(u.pathname, '/authorize');
  const q = Object.fromEntries(u.searchParams);
  assert.equal(q.client_id, 'sleutel-account');
  assert.equal(q.redirect_uri, `${server.issuer}/account`);
  assert.equal(q.response_type, 'code');
  assert.equal(q.code_challenge_method, 'S256');
  assert.match(q.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.state, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(q.ui_locales, 'de');
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-sl_account_state='));
  assert.match(cookie, /Secure; HttpOnly; SameSite=Lax/);
  // The client is made once, with only that redirect URI.
  assert.equal(sql("SELECT redirect_uris FROM clients WHERE client_id = 'sleutel-account'"),
    JSON.stringify([`${server.issuer}/account`]));
  await agent.get(`${server.base}/account/login`);
  assert.equal(sql("SELECT count(*) FROM clients WHERE client_id = 'sleutel-account'"), '1');
});

test('coming back with another state, or none, is refused', async () => {
  const agent = new Agent();
  await agent.get(`${server.base}/account/login?lang=en`);
  for (const q of ['code=abc&state=wrong&lang=en', 'code=abc&lang=en', 'error=access_denied&state=&lang=en']) {
    const res = await agent.get(`${server.base}/account?${q}`);
    assert.equal(res.status, 400, q);
    assert.match(await res.text(), /This login link has expired/);
  }
  const fresh = new Agent(); // no state cookie at all
  assert.equal((await fresh.get(`${server.base}/account?code=abc&state=abc`)).status, 400);
});

test('a cancelled login comes back to the page without a session', async () => {
  const agent = new Agent();
  let res = await agent.get(`${server.base}/account/login?lang=en`);
  res = await agent.get(new URL(res.headers.get('location'), server.base).toString());
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/login?req=${req}`);
  const csrf = (await res.text()).match(/name="csrf" value="([^"]+)"/)[1];
  res = await agent.post(`${server.base}/login/cancel`, { req, csrf });
  const back = new URL(res.headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'access_denied');
  res = await agent.get(String(back));
  assert.equal(res.status, 303);
  assert.match(await page(agent), /<a class="button" href="\/account\/login/);
});

test('with a session: name, phones and devices, login history newest first', async () => {
  const mine = await enrol('0470 11 22 33', DEMO_PERSON);
  await enrol('0470 44 55 66', OTHER);
  await codeFlow(server, rp.config); // a login to the RP in another browser
  const agent = await loginToAccount();
  const html = await page(agent);
  assert.match(html, /Logged in as Demo Citizen/);
  assert.match(html, /Phone number \+32470112233/);
  assert.doesNotMatch(html, /\+32470445566/, "another person's number is not shown");
  assert.ok(removeForm(html, mine.deviceId), 'the own device has a remove button');
  assert.match(html, /<th scope="row">Test phone<\/th>/);
  assert.match(html, />Never</, 'a device not used yet');
  assert.match(html, /<td>In use<\/td>/);
  const rows = historyRows(html);
  assert.deepEqual(rows[0].slice(0, 4), ['sleutel', 'Test key', '127.0.0.1', 'Logged in']);
  assert.deepEqual(rows[1].slice(0, 4), ['Mijn gezondheid', 'Test key', '127.0.0.1', 'Logged in']);
  assert.doesNotMatch(html, /class="notice"/, 'nothing to warn about yet');
  // The operator blocks the device, then the account; a lockout: the person sees each.
  sql(`UPDATE devices SET status = 'blocked' WHERE id = '${mine.deviceId}'`);
  assert.match(await page(agent), /<td>Blocked by the operator<\/td>/);
  sql(`UPDATE devices SET status = 'active' WHERE id = '${mine.deviceId}'`);
  sql(`UPDATE accounts SET status = 'blocked' WHERE id = '${mine.accountId}'`);
  assert.match(await page(agent), /<p class="notice">This number is blocked\./);
  sql(`UPDATE accounts SET status = 'active', failures = 3, locked_until = 4102444800 WHERE id = '${mine.accountId}'`);
  assert.match(await page(agent), /Locked after too many wrong codes until 2100-01-01 00:00 UTC\./);
  sql(`UPDATE accounts SET failures = 9, locked_until = 9223372036854775807 WHERE id = '${mine.accountId}'`);
  assert.match(await page(agent), /Locked after too many wrong codes\. Contact/);
  sql(`UPDATE accounts SET failures = 0, locked_until = 0 WHERE id = '${mine.accountId}'`);
});

test('device removal: CSRF token required, only one\'s own device, then gone for good', async () => {
  const mine = await enrol('0470 12 12 12', DEMO_PERSON);
  const other = await enrol('0470 34 34 34', OTHER);
  const agent = await loginToAccount();
  const form = removeForm(await page(agent), mine.deviceId);
  assert.ok(form);
  const status = (id) => sql(`SELECT status FROM devices WHERE id = '${id}'`);
  const remove = (a, f) => a.post(`${server.base}/account/devices/remove`, f);

  let res = await remove(agent, { ...form, csrf: 'A'.repeat(43) });
  assert.equal(res.status, 403, 'a bad CSRF token');
  res = await remove(agent, { device: form.device, lang: 'en' });
  assert.equal(res.status, 403, 'no CSRF token');
  // Another browser's token, for the same person's session cookie: refused.
  const elsewhere = await loginToAccount();
  const foreign = removeForm(await page(elsewhere), mine.deviceId);
  res = await remove(agent, { ...form, csrf: foreign.csrf });
  assert.equal(res.status, 403, "another browser's token");
  assert.equal(status(mine.deviceId), 'active');

  res = await remove(agent, { ...form, device: other.deviceId });
  assert.equal(res.status, 404, "another person's device");
  assert.match(await res.text(), /This device is not one of yours/);
  assert.equal(status(other.deviceId), 'active');
  res = await remove(agent, { ...form, device: 'no-such-device' });
  assert.equal(res.status, 404);

  res = await remove(agent, form);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account?removed=1&lang=en');
  assert.equal(status(mine.deviceId), 'removed');
  assert.equal((await mine.call('GET', '/devices')).status, 401, 'the device API refuses it');
  assert.equal((await other.call('GET', '/devices')).status, 200);
  const html = await page(agent, 'removed=1&lang=en');
  assert.match(html, /role="status">The phone was removed/);
  assert.equal(removeForm(html, mine.deviceId), null, 'a removed device is not listed');
  const [au] = sqlRows(server, `SELECT person_id AS person, ip, detail FROM audit
    WHERE event = 'device.remove' ORDER BY seq DESC LIMIT 1`);
  assert.equal(au.person, sql(`SELECT person_id FROM accounts WHERE id = '${mine.accountId}'`));
  assert.equal(au.ip, '127.0.0.1');
  assert.match(au.detail, new RegExp(mine.deviceId));
});

test('history: failed logins with their reason, at most 50 rows, newest first', async () => {
  const agent = await loginToAccount();
  const person = sql(`SELECT id FROM persons WHERE rrn = '${DEMO_PERSON.rrn}'`);
  const now = Math.floor(Date.now() / 1000);
  const rows = [];
  for (let i = 0; i < 60; i++) {
    rows.push(`(${now + 100 + i}, 'login', 'revoked', '${person}', '${rp.c.client_id}', 'eid', '192.0.2.${i}')`);
  }
  sql(`INSERT INTO audit(time, event, result, person_id, client_id, key, ip) VALUES ${rows.join(',')}`);
  const html = await page(agent);
  const shown = historyRows(html);
  assert.equal(shown.length, 50);
  assert.deepEqual(shown[0].slice(0, 4), ['Mijn gezondheid', 'eID card reader', '192.0.2.59', 'Not logged in <code>revoked</code>']);
  assert.equal(shown[49][2], '192.0.2.10');
  assert.match(html, /Your last 50 logins, newest first/);
});

test('the page escapes what people and phones chose to be called', async () => {
  const evil = { rrn: '77010112345', given_name: '<script>alert(1)</script>', family_name: 'X"Y' };
  const p = await new Phone(server).init();
  let r = await p.start('0470 56 56 56', { device_name: '<img src=x onerror=alert(1)>' });
  assert.equal(r.status, 201);
  const text = sql(`SELECT text FROM sms_outbox WHERE phone = '+32470565656' ORDER BY seq DESC LIMIT 1`);
  r = await p.call('POST', '/enroll/sms', { code: text.match(/\b(\d{5})\b/)[1] });
  r = await fetch(`${p.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: p.enrollmentId, ...evil }),
  });
  assert.equal((await p.finish()).status, 201);
  const agent = await loginToAccount(evil);
  const html = await page(agent);
  assert.doesNotMatch(html, /<script>alert|<img src=x/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; X&quot;Y/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
});
