// account-citizen.test.mjs — the citizen page's own-data tools (issue 13
// item 5): the export of one's audit trail (JSON and CSV, bounded, only
// one's own rows, CSV cells that a spreadsheet would run defused), the
// notice of a new device (on the page until read, fetched by the person's
// other devices through the device API, not by the new one), and "This
// was not me" (the device ends at once, an audit row, a notice to the
// other devices; from a device row or a history entry).  Phones are
// enrolled through the device API, the page is logged in to with the
// test key; a few audit rows are written straight into the store where a
// real login would only add time (their shape is the one the app's
// confirmation writes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, Agent } from './lib/harness.mjs';
import { registerRp } from './lib/flows.mjs';
import { loginToAccount as login, accountPage } from './lib/account.mjs';
import { sql as dbSql, sqlRows } from './lib/db.mjs';
import { Phone, appLoginTokens, appLoginAlive } from './lib/phone.mjs';
import { runApp } from './lib/app.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ANNA = { rrn: '80010112345', given_name: 'Anna', family_name: 'Eerst' };
const BERT = { rrn: '81020212345', given_name: 'Bert', family_name: 'Tweede' };
const BULK = { rrn: '82030312345', given_name: 'Carla', family_name: 'Veel' };
const EXPORT_MAX = 5000;
let server;

const sql = (q) => dbSql(server, q);
const personId = (p) => sql(`SELECT id FROM persons WHERE rrn = '${p.rrn}'`);

const loginToAccount = (person) => login(server, person);
const page = (agent, query) => accountPage(server, agent, query);

// Enrol a phone named `name` for `person` on `number` (a second one on the
// same number is a second device of the same account).
async function enrol(number, person, name) {
  const phone = await new Phone(server).init();
  let r = await phone.start(number, { device_name: name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const text = sql(`SELECT text FROM sms_outbox WHERE phone = '${r.body.phone}' ORDER BY seq DESC LIMIT 1`);
  r = await phone.call('POST', '/enroll/sms', { code: text.match(/\b(\d{5})\b/)[1] });
  assert.equal(r.status, 200);
  r = await fetch(`${phone.base}/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: phone.enrollmentId, ...person }),
  });
  assert.equal(r.status, 200);
  r = await phone.finish();
  assert.equal(r.status, 201, JSON.stringify(r.body));
  phone.deviceId = r.body.device_id;
  phone.accountId = r.body.account_id;
  return phone;
}

// The hidden fields of the first form posting to `action` whose body matches `re`.
function form(html, action, re = /./) {
  const esc = action.replace(/\//g, '\\/');
  for (const [, body] of html.matchAll(new RegExp(`<form method="post" action="${esc}">([\\s\\S]*?)</form>`, 'g'))) {
    if (!re.test(body)) continue;
    return Object.fromEntries([...body.matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  }
  return null;
}

// An app login confirmed by `phone` as the audit holds it: the request the
// device answered, and the confirmation's "login" row naming it.
function appLoginRow(phone, person, ip) {
  const id = `aq${Math.random().toString(36).slice(2, 12)}`;
  const now = Math.floor(Date.now() / 1000);
  sql(`INSERT INTO app_requests (id, account_id, client_id, action, status, device_id, created, expires)
       VALUES ('${id}', '${phone.accountId}', 'sleutel-account', 'login', 'approved', '${phone.deviceId}', ${now}, ${now + 60});
       INSERT INTO audit (time, event, result, person_id, client_id, key, ip, detail)
       VALUES (${now + 5}, 'login', 'ok', '${person}', 'sleutel-account', 'app', '${ip}', '${id}');`);
  return Number(sql(`SELECT max(seq) FROM audit WHERE detail = '${id}'`));
}

before(async () => {
  server = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 1000 } } });
});

after(async () => { await server?.stop(); });

test('export: JSON and CSV downloads of only one\'s own rows, formulas defused; no session, bad format refused', async () => {
  const anna = await loginToAccount(ANNA);
  await loginToAccount(BERT);
  const a = personId(ANNA), b = personId(BERT);
  const now = Math.floor(Date.now() / 1000);
  sql(`INSERT INTO audit (time, event, result, person_id, client_id, key, ip, detail) VALUES
    (${now + 1}, 'login', 'ok', '${a}', '=HYPERLINK("http://x")', 'app', '198.51.100.7', '+SUM(1)'),
    (${now + 2}, 'device.remove', 'ok', '${a}', NULL, 'app', '-1', '@cmd'),
    (${now + 3}, 'login', 'ok', '${b}', 'bert-site', 'eid', '203.0.113.99', 'bert only')`);

  let res = await anna.get(`${server.base}/account/export?format=json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.match(res.headers.get('content-disposition'), /^attachment; filename="sleutel-history-\d{4}-\d\d-\d\d\.json"$/);
  assert.equal(res.headers.get('cache-control'), 'no-store', 'one\'s history is kept by no cache');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const doc = await res.json();
  assert.equal(doc.max, EXPORT_MAX);
  assert.equal(doc.truncated, false);
  assert.deepEqual(doc.records[0],
    { time: doc.records[0].time, event: 'device.remove', result: 'ok', site: null, key: 'app', ip: '-1', detail: '@cmd' });
  assert.equal(doc.records[1].site, '=HYPERLINK("http://x")', 'JSON keeps the value as it is');
  assert.ok(doc.records.some((r) => r.event === 'login' && r.site === 'sleutel-account'), 'the page login itself');
  assert.ok(!JSON.stringify(doc).includes('203.0.113.99') && !JSON.stringify(doc).includes('bert'), "no row of Bert's");

  res = await anna.get(`${server.base}/account/export?format=csv`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/csv/);
  assert.match(res.headers.get('content-disposition'), /^attachment; filename="sleutel-history-.*\.csv"$/);
  const csv = await res.text();
  const lines = csv.split('\r\n');
  assert.equal(lines[0], '"time","event","result","site","key","ip","detail"');
  assert.match(lines[1], /^"\d{4}-\d\d-\d\dT[\d:]+Z","device\.remove","ok","","app","'-1","'@cmd"$/);
  assert.match(lines[2], /,"'=HYPERLINK\(""http:\/\/x""\)","app","198\.51\.100\.7","'\+SUM\(1\)"$/);
  assert.ok(!csv.includes('203.0.113.99'), "no row of Bert's");
  assert.doesNotMatch(csv, /(^|,)"[=+@-]/m, 'no cell starts with a formula character');

  res = await anna.get(`${server.base}/account/export?format=xml`);
  assert.equal(res.status, 400);
  res = await new Agent().get(`${server.base}/account/export?format=json`);
  assert.equal(res.status, 401);
});

test('export: at most 5000 records, newest first, the rest cut with a note', async () => {
  const agent = await loginToAccount(BULK);
  const p = personId(BULK);
  sql(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${EXPORT_MAX + 20})
       INSERT INTO audit (time, event, result, person_id, client_id, key, ip)
       SELECT 1700000000 + i, 'login', 'ok', '${p}', 'bulk', 'eid', '192.0.2.' || (i % 250) FROM n`);
  let res = await agent.get(`${server.base}/account/export?format=json`);
  const doc = await res.json();
  assert.equal(doc.records.length, EXPORT_MAX);
  assert.equal(doc.truncated, true);
  assert.match(doc.note, /cut/);
  assert.equal(doc.records[0].time, '2023-11-14T23:37:00Z', 'newest first');
  assert.equal(doc.records.at(-1).time, '2023-11-14T22:13:41Z', 'the oldest rows (and the page login) cut');
  res = await agent.get(`${server.base}/account/export?format=csv`);
  const lines = (await res.text()).trimEnd().split('\r\n');
  assert.equal(lines.length, 1 + EXPORT_MAX + 1);
  assert.equal(lines.at(-1), `"# cut: only the newest ${EXPORT_MAX} records are in this file"`);
});

test('a second device: a notice on the page and for the other device, not the new one; "not me" blocks it', async () => {
  const first = await enrol('0470 21 21 21', ANNA, 'Anna phone');
  sql(`UPDATE notices SET created = created - 60 WHERE device_id = '${first.deviceId}'`); // enrolled a minute ago
  const second = await enrol('0470 21 21 21', ANNA, 'Stranger phone');
  assert.equal(second.accountId, first.accountId, 'a second device of the same account');
  const other = await enrol('0470 43 43 43', BERT, 'Bert phone');

  let r = await first.call('GET', '/notices');
  assert.equal(r.status, 200);
  assert.equal(r.body.notices.length, 1);
  assert.deepEqual({ ...r.body.notices[0], id: 'x', created: 0 },
    { id: 'x', kind: 'device.added', device_kind: 'app', device_id: second.deviceId, device_name: 'Stranger phone', created: 0 });
  r = await second.call('GET', '/notices');
  assert.deepEqual(r.body.notices, [], 'the new device is not told of itself nor of the past');
  r = await other.call('GET', '/notices');
  assert.deepEqual(r.body.notices, [], "another person's device is told nothing");
  assert.equal((await first.call('GET', '/notices', undefined, { noProof: true })).status, 401);

  const anna = await loginToAccount(ANNA);
  let html = await page(anna);
  assert.match(html, /A device was added to your account: Stranger phone/);
  const notme = form(html, '/account/notme', new RegExp(second.deviceId));
  assert.ok(notme.notice, 'the notice has its own "This was not me"');
  // Bad CSRF: the page that says so, and nothing blocked.
  let res = await anna.post(`${server.base}/account/notme`, { ...notme, csrf: 'A'.repeat(43) });
  assert.equal(res.status, 403);
  assert.match(await res.text(), /This form has expired/);
  assert.equal((await second.call('GET', '/devices')).status, 200);
  // Bert cannot block Anna's device with his own page's token.
  const bert = await loginToAccount(BERT);
  const bertForm = form(await page(bert), '/account/notme');
  res = await bert.post(`${server.base}/account/notme`, { device: second.deviceId, csrf: bertForm.csrf, lang: 'en' });
  assert.equal(res.status, 404);
  assert.equal((await second.call('GET', '/devices')).status, 200);

  res = await anna.post(`${server.base}/account/notme`, notme);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account?notme=1&lang=en');
  assert.equal((await second.call('GET', '/devices')).status, 401, 'its next request is refused');
  assert.equal((await second.call('GET', '/requests')).status, 401);
  assert.equal((await first.call('GET', '/devices')).status, 200, 'the other device goes on');
  const [au] = sqlRows(server, `SELECT person_id AS person, key, ip, detail FROM audit
    WHERE event = 'device.notme' ORDER BY seq DESC LIMIT 1`);
  assert.equal(au.person, personId(ANNA));
  assert.equal(au.ip, '127.0.0.1');
  assert.match(au.detail, new RegExp(`device ${second.deviceId} \\(Stranger phone\\)`));
  r = await first.call('GET', '/notices');
  assert.deepEqual(r.body.notices.map((n) => [n.kind, n.device_id]), [['device.blocked', second.deviceId]]);
  html = await page(anna, 'notme=1&lang=en');
  assert.match(html, /The device was blocked\./);
  assert.match(html, /What happens next: every login made with this key was ended/);
  assert.doesNotMatch(html, /A device was added to your account: Stranger phone/, 'the notice it answered is read');
  assert.match(html, /A device was blocked: Stranger phone/);

  // "Understood": the notice goes; another person's notice is not found.
  const read = form(html, '/account/notices/read');
  res = await bert.post(`${server.base}/account/notices/read`, { notice: read.notice, csrf: bertForm.csrf, lang: 'en' });
  assert.equal(res.status, 404);
  res = await anna.post(`${server.base}/account/notices/read`, read);
  assert.equal(res.status, 303);
  html = await page(anna, 'read=1&lang=en');
  assert.doesNotMatch(html, /A device was blocked/);
  assert.match(html, /The notice was marked as read/);
  assert.deepEqual((await first.call('GET', '/notices')).body.notices, [], 'read on the page: the devices stop showing it');
});

test('"not me" on a history entry blocks the device that confirmed that login', async () => {
  const phone = await enrol('0470 65 65 65', BERT, 'Bert second');
  const bert = await loginToAccount(BERT);
  const seq = appLoginRow(phone, personId(BERT), '198.51.100.44');
  const html = await page(bert);
  const f = form(html, '/account/notme', new RegExp(`name="entry" value="${seq}"`));
  assert.ok(f, 'the app login has a "This was not me" button');
  // Anna cannot use Bert's entry number.
  const anna = await loginToAccount(ANNA);
  const annaCsrf = (await page(anna)).match(/name="csrf" value="([^"]+)"/)[1];
  let res = await anna.post(`${server.base}/account/notme`, { entry: String(seq), csrf: annaCsrf, lang: 'en' });
  assert.equal(res.status, 404);
  assert.equal((await phone.call('GET', '/devices')).status, 200);
  for (const entry of ['0', '-1', 'x', '99999999999999999999']) {
    res = await bert.post(`${server.base}/account/notme`, { ...f, entry });
    assert.equal(res.status, 404, entry);
  }
  res = await bert.post(`${server.base}/account/notme`, f);
  assert.equal(res.status, 303);
  assert.equal((await phone.call('GET', '/requests')).status, 401, 'its confirmations are refused');
  assert.equal(sql(`SELECT status FROM devices WHERE id = '${phone.deviceId}'`), 'removed');
  const detail = sql(`SELECT detail FROM audit WHERE event = 'device.notme' ORDER BY seq DESC LIMIT 1`);
  assert.match(detail, new RegExp(`device ${phone.deviceId} .*login entry ${seq}; 0 sessions ended, 0 tokens revoked$`));
});

test('the reference app fetches and shows the notice of a device added after it', async () => {
  const DORA = { rrn: '83040412345', given_name: 'Dora', family_name: 'Vierde' };
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-citizen-'));
  const ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  const app = (args, input = '') => runApp({ server, ca, state: path.join(dir, 'app.json') }, args, input);
  try {
    let r = await app(['--json', 'enroll', 'start', '--phone', '0470 87 87 87']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.json.enrollment_id;
    const text = sql(`SELECT text FROM sms_outbox WHERE phone = '${r.json.phone}' ORDER BY seq DESC LIMIT 1`);
    r = await app(['--json', 'enroll', 'sms', text.match(/(\d{5})\s*$/)[1]]);
    assert.equal(r.code, 0, r.stderr);
    await fetch(`${server.base}/device/v1/test/proofed`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ enrollment_id: id, ...DORA }),
    });
    r = await app(['--json', 'enroll', 'finish'], '27182\n');
    assert.equal(r.code, 0, r.stderr);
    r = await app(['--lang', 'en', 'notices']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No new notices\./);
    sql(`UPDATE notices SET created = created - 60 WHERE person_id = '${personId(DORA)}'`); // enrolled a minute ago
    const tablet = await enrol('0470 87 87 87', DORA, 'Dora tablet');
    r = await app(['--lang', 'en', 'notices']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /A device was added to your account: Dora tablet \(app\)\./);
    assert.match(r.stdout, new RegExp(`block the device on your sleutel page: ${server.base}/account`, 'i'));
    r = await app(['--json', 'notices']);
    assert.deepEqual(r.json.notices.map((n) => n.device_id), [tablet.deviceId]);
    r = await app(['--lang', 'nl', 'notices']);
    assert.match(r.stdout, /Een toestel werd toegevoegd aan je account: Dora tablet/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// secfix3: "not me" ends what was got through the app key: the SSO session
// of an app login and the refresh and access tokens the site got with it.
// The page the person blocks it from stays logged in.
test('"not me" ends the app logins: their SSO sessions and the tokens sites got through them', async () => {
  const ELLA = { rrn: '84050512345', given_name: 'Ella', family_name: 'Vijfde' };
  const phone = await enrol('0470 54 54 54', ELLA, 'Ella phone');
  const rp = await registerRp(server);
  const login = await appLoginTokens(server, rp, phone, '+32470545454');
  const ella = await loginToAccount(ELLA);
  const f = form(await page(ella), '/account/notme', new RegExp(`name="device" value="${phone.deviceId}"`));
  assert.ok(f, 'the device has a "This was not me" button');
  const res = await ella.post(`${server.base}/account/notme`, f);
  assert.equal(res.status, 303);
  assert.deepEqual(await appLoginAlive(server, rp, login), [false, false, false], '[refresh, userinfo, SSO session]');
  const detail = sql(`SELECT detail FROM audit WHERE event = 'device.notme' ORDER BY seq DESC LIMIT 1`);
  assert.match(detail, new RegExp(`device ${phone.deviceId} \\(Ella phone\\); 1 sessions ended, 2 tokens revoked$`));
  assert.match(await page(ella, 'notme=1&lang=en'), /The device was blocked\./, 'the page stays logged in');
});

