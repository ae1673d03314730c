// app-cli.test.mjs — the reference app (sleutel-app, on libsleutel-app) as
// the phone, against a real sleuteld: enrolment (SMS code from the outbox,
// test proofing, the 5-digit code), then logins through an openid-client
// RP where the app picks the code the browser shows and confirms it;
// refusal; a wrong app code (the server, not the app, tells); a wrong
// verification code; devices and removal; usage errors and exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { startServer, Agent, hiddenInputs, DEMO_PERSON } from './lib/harness.mjs';
import { sqlAsync } from './lib/db.mjs';
import { registerRp, authRequest, authParams, assertCodeResponse, tokenRequest } from './lib/flows.mjs';
import { startTestBank, getEnrollment } from './lib/bank.mjs';
import { proofCodeOf } from './lib/phone.mjs';
import { runApp, APP } from './lib/app.mjs';

const execFileP = promisify(execFile);
const APP_CODE = '27182';

let server;
let rp;
let dir;
let state;
let ca;
let bank;

// Run sleutel-app; `input` goes to its stdin (then closed).
const app = (args, { input = '', st = state } = {}) => runApp({ server, ca, state: st }, args, input);

const sql = (query) => sqlAsync(server, query);

const smsCode = async (phone) => {
  const text = await sql(`SELECT text FROM sms_outbox WHERE phone = '${phone}' ORDER BY seq DESC LIMIT 1`);
  const m = text.match(/(\d{5})\s*$/);
  assert.ok(m, `no activation code in the outbox: ${text}`);
  return m[1];
};


// A scripted enrolment of another phone with its own state file.
async function enrol(st, number, person = DEMO_PERSON) {
  let r = await app(['--json', 'enroll', 'start', '--phone', number], { st });
  assert.equal(r.code, 0, r.stderr);
  const { phone, enrollment_id: id } = r.json;
  r = await app(['--json', 'enroll', 'sms', await smsCode(phone)], { st });
  assert.equal(r.code, 0, r.stderr);
  const pr = await fetch(`${server.base}/device/v1/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: id, ...person }),
  });
  assert.equal(pr.status, 200);
  r = await app(['--json', 'enroll', 'finish'], { st, input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  return r.json;
}

const readState = () => JSON.parse(readFileSync(state, 'utf8'));

before(async () => {
  ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-app-'));
  state = path.join(dir, 'phone.json');
  bank = await startTestBank();
  server = await startServer({
    config: { sms: { driver: 'outbox' }, app: { rate_phone: 1000, rate_ip: 1000 }, 'bank.demo': bank.config() },
  });
  bank.attach(server);
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => {
  await server?.stop();
  await bank?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The browser: authorize at the RP's request, choose the app key, type the
// phone number; the wait page shows the verification code.
async function browserLogin(phone = '+32470123456') {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  assert.equal(res.status, 303);
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=en`);
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/key/app/login`, { ...hidden, phone });
  assert.equal(res.status, 303, 'the phone form moves on to the wait page');
  const wait = new URL(res.headers.get('location'), server.base);
  res = await agent.get(String(wait));
  const html = await res.text();
  const code = html.match(/id="vcode"[^>]*>(\d{4})</)[1];
  return { agent, req, wait, code };
}

async function pendingOne() {
  const r = await app(['--json', 'pending']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.requests.length, 1);
  return r.json.requests[0];
}

test('enrolment: start, SMS code, proofing, the 5-digit code; the state file keeps nothing code-dependent', async () => {
  let r = await app(['--json', 'enroll', 'start', '--phone', '0470 12 34 56', '--name', 'Terminal']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'sms');
  assert.equal(r.json.phone, '+32470123456');
  const enrollmentId = r.json.enrollment_id;
  assert.equal(statSync(state).mode & 0o777, 0o600);
  assert.deepEqual(Object.keys(readState()).sort(),
    ['ca_file', 'enrollment_id', 'enrollment_status', 'server', 'transport_key', 'version']);

  // Another SMS: a new code replaces the first.
  const first = await smsCode('+32470123456');
  r = await app(['--json', 'enroll', 'resend']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(typeof r.json.sms_expires_in, 'number');
  assert.equal(await sql("SELECT count(*) FROM sms_outbox WHERE phone = '+32470123456'"), '2');

  // A wrong SMS code first (the replaced one, or another): the server's error and the attempts left.
  const code = await smsCode('+32470123456');
  const wrong = first !== code ? first : (code === '00000' ? '11111' : '00000');
  r = await app(['--json', 'enroll', 'sms', wrong]);
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'wrong_code');
  assert.equal(typeof r.json.attempts_left, 'number');
  assert.match(r.stderr, /wrong_code/);

  r = await app(['--json', 'enroll', 'sms', code]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'proofing');
  assert.ok(Array.isArray(r.json.proofing) && r.json.proofing.length > 0);

  // Without --wait the app only looks.
  const t0 = Date.now();
  r = await app(['--json', 'enroll', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'proofing');
  assert.ok(Date.now() - t0 < 10000);

  // Proofing (test builds: the stand-in for the bank), seen through the long-poll.
  const waiting = app(['--json', 'enroll', 'status', '--wait', '20']);
  await new Promise((res) => setTimeout(res, 500));
  const pr = await fetch(`${server.base}/device/v1/test/proofed`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ enrollment_id: enrollmentId, ...DEMO_PERSON }),
  });
  assert.equal(pr.status, 200);
  r = await waiting;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'proofed');
  assert.equal(r.json.person.given_name, DEMO_PERSON.given_name);

  // A code that is not 5 digits is a usage error; nothing is sent.
  r = await app(['--json', 'enroll', 'finish'], { input: '1234\n' });
  assert.equal(r.code, 2);

  r = await app(['--json', 'enroll', 'finish'], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.json.device_id);
  assert.ok(r.json.account_id);
  assert.equal(r.json.phone, '+32470123456');
  assert.ok(!r.stdout.includes(APP_CODE));

  const st = readState();
  assert.deepEqual(Object.keys(st).sort(), ['account_id', 'ca_file', 'confirm_c', 'confirm_log2n', 'confirm_p',
    'confirm_r', 'confirm_salt', 'device_id', 'phone', 'server', 'transport_key', 'version']);
  assert.equal(st.device_id, r.json.device_id);
  assert.deepEqual([st.confirm_log2n, st.confirm_r, st.confirm_p], [15, 8, 1]);
  assert.equal(statSync(state).mode & 0o777, 0o600);
});

test('bank proofing: the app waits for the page\'s code; a wrong one says the tries left; the right one proofs', async () => {
  const st = path.join(dir, 'bank-phone.json');
  let r = await app(['--json', 'enroll', 'start', '--phone', '0470 77 00 01'], { st });
  assert.equal(r.code, 0, r.stderr);
  const id = r.json.enrollment_id;
  r = await app(['--json', 'enroll', 'sms', await smsCode('+32470770001')], { st });
  assert.equal(r.code, 0, r.stderr);
  const url = r.json.proofing.find((c) => c.method === 'bank').url;
  const page = await bank.login(url, { account: 'els' });
  assert.equal(page.status, 200, page.text);
  const code = proofCodeOf(page.text);
  assert.ok(code);
  // The bank's login alone proofs nothing: the app is asked for the code.
  assert.equal((await getEnrollment(server, id)).person, null);
  r = await app(['--json', 'enroll', 'status', '--wait', '20'], { st });
  assert.equal(r.json.status, 'proof_code');
  r = await app(['--lang', 'en', 'enroll', 'status'], { st });
  assert.match(r.stdout, /Enter the code the web page shows/);
  r = await app(['--json', 'enroll', 'finish'], { st, input: `${APP_CODE}\n` });
  assert.equal(r.json.error, 'not_proofed');
  r = await app(['--lang', 'en', 'enroll', 'proof', 'ABCD-EFGH'], { st });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Wrong code\. 4 attempt\(s\) left\./);
  assert.match(r.stderr, /wrong_code/);
  r = await app(['--json', 'enroll', 'proof', code.toLowerCase()], { st });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'proofed');
  assert.deepEqual(r.json.person, { given_name: 'Els', family_name: 'Maes' });
  r = await app(['--json', 'enroll', 'finish'], { st, input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.phone, '+32470770001');
});

test('login: the app shows the RP, "Ik log in", the text and three codes; picks the browser\'s code; the RP gets tokens', async () => {
  const b = await browserLogin();
  const rq = await pendingOne();
  assert.equal(rq.rp_name, 'Mijn gezondheid');
  assert.equal(rq.action, 'login');
  assert.equal(rq.codes.length, 3);
  assert.ok(rq.codes.includes(b.code));

  // What a person reads, in Dutch by default.
  const text = await app(['pending']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Mijn gezondheid/);
  assert.match(text.stdout, /Ik log in/);
  assert.ok(text.stdout.includes(rq.display_text), 'the display text exactly');
  for (const c of rq.codes) assert.match(text.stdout, new RegExp(`\\) ${c}\\b`));
  // Which browser asked (node's fetch says "node"), and what to do if it is not yours.
  assert.match(text.stdout, /Inloggen bij Mijn gezondheid — aangevraagd vanaf node \(127\.0\.0\.x\)/);
  assert.match(text.stdout, /Is dat niet het scherm voor je\? Weiger dan\./);
  const fr = await app(['--lang', 'fr', 'pending']);
  assert.match(fr.stdout, /Je me connecte/);
  assert.match(fr.stdout, /Connexion à Mijn gezondheid — demandée depuis node \(127\.0\.0\.x\)/);

  // A code that is not one of the three: usage, nothing sent.
  let r = await app(['--json', 'approve', rq.id, '--pick', '99999'], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 2);

  r = await app(['--json', 'approve', rq.id, '--pick', b.code], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { status: 'approved' });

  const res = await b.agent.get(String(b.wait));
  assert.equal(res.status, 303);
  const back = new URL(res.headers.get('location'));
  assertCodeResponse(server, back, b.req.state);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: b.req.verifier, expectedState: b.req.state, expectedNonce: b.req.nonce,
  });
  assert.ok(tokens.claims().sub);

  // Answered: a second approval is a replay.
  r = await app(['--json', 'approve', rq.id, '--pick', b.code], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 1);
});

test('refusal: the browser is told the phone said no', async () => {
  const b = await browserLogin();
  const rq = await pendingOne();
  const r = await app(['--json', 'refuse', rq.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { status: 'refused' });
  const res = await b.agent.get(String(b.wait));
  assert.match(await res.text(), /You refused the request on your phone/);
});

test('a wrong app code: only the server can tell; it counts, and the right code still works', async () => {
  const b = await browserLogin();
  const rq = await pendingOne();
  const wrongCode = APP_CODE === '11111' ? '22222' : '11111';
  let r = await app(['--json', 'approve', rq.id, '--pick', b.code], { input: `${wrongCode}\n` });
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'wrong_code');
  assert.equal(r.json.failures, 1);
  assert.match(r.stderr, /wrong_code/);
  r = await app(['--lang', 'nl', 'approve', rq.id, '--pick', b.code], { input: `${wrongCode}\n` });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Foute code \(2 keer na elkaar\)/);
  // The request stays pending: the right code (via --code-fd 0) confirms it.
  r = await app(['--json', '--code-fd', '0', 'approve', rq.id, '--pick', b.code], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'approved');
  const res = await b.agent.get(String(b.wait));
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), b.req.state);
});

test('the wrong one of the three codes: the request is denied', async () => {
  const b = await browserLogin();
  const rq = await pendingOne();
  const other = rq.codes.find((c) => c !== b.code);
  const r = await app(['--json', 'approve', rq.id, '--pick', other], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'wrong_verification_code');
  const res = await b.agent.get(String(b.wait));
  assert.match(await res.text(), /wrong verification code/i);
});

test('scan: the QR code gives a request with one code, already matched; approving it logs the browser in', async () => {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const headers = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36' };
  const html = await (await agent.get(`${server.base}/key/app?req=${reqId}&lang=en&scan=1`, { headers })).text();
  const link = html.match(/data-qr-token="([^"]+)"/)[1].replace(/&amp;/g, '&');
  let r = await app(['--json', 'scan', link]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.codes.length, 1);
  assert.equal(r.json.rp_name, 'Mijn gezondheid');
  assert.deepEqual(r.json.context, { browser: 'Chrome', os: 'Windows', network: '127.0.0.x' });
  const text = await app(['--lang', 'en', 'pending']);
  assert.match(text.stdout, /Login at Mijn gezondheid — requested from Chrome on Windows \(127\.0\.0\.x\)/);
  assert.match(text.stdout, /Is that not the screen in front of you\? Then refuse\./);
  const de = await app(['--lang', 'de', 'pending']);
  assert.match(de.stdout, /Anmeldung bei Mijn gezondheid — angefragt von Chrome unter Windows/);
  r = await app(['--json', 'approve', r.json.id, '--pick', r.json.codes[0]], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'approved');
  res = await agent.get(`${server.base}/login/finish?req=${reqId}&csrf=${hiddenInputs(html).csrf}`);
  assert.equal(res.status, 303);
  assertCodeResponse(server, new URL(res.headers.get('location')), req.state);
  // A QR code is good once.
  r = await app(['--json', 'scan', link]);
  assert.equal(r.code, 1);
});

test('a payment: the app shows "Ik bevestig de betaling" and the exact text; the token response carries the payment', async () => {
  const PAY = { type: 'payment', instructedAmount: { amount: '12.34', currency: 'EUR' },
    creditorName: 'Apotheek Nova', creditorAccount: { iban: 'BE71096123456769' } };
  const a = await authParams(rp.config, { authorization_details: JSON.stringify([PAY]) });
  const par = await tokenRequest(server, a.params, { basic: [rp.c.client_id, rp.c.client_secret], endpoint: '/par' });
  assert.equal(par.status, 201, JSON.stringify(par.body));
  const agent = new Agent();
  let res = await agent.get(`${server.base}/authorize?client_id=${rp.c.client_id}&request_uri=${encodeURIComponent(par.body.request_uri)}`);
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const form = await (await agent.get(`${server.base}/key/app?req=${reqId}&lang=nl`)).text();
  res = await agent.post(`${server.base}/key/app/login`, { ...hiddenInputs(form), phone: '0470123456' });
  const wait = new URL(res.headers.get('location'), server.base);
  const code = (await (await agent.get(wait.href)).text()).match(/id="vcode"[^>]*>(\d{4})</)[1];

  const rq = await pendingOne();
  assert.equal(rq.action, 'payment');
  const text = await app(['pending']);
  assert.match(text.stdout, /Ik bevestig de betaling/);
  assert.ok(text.stdout.includes('Betaling van EUR 12,34 aan Apotheek Nova (BE71 0961 2345 6769)'), text.stdout);
  const r = await app(['--json', 'approve', rq.id, '--pick', code], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 0, r.stderr);
  res = await agent.get(wait.href);
  const back = new URL(res.headers.get('location'));
  assertCodeResponse(server, back, a.state);
  const tok = await tokenRequest(server, { grant_type: 'authorization_code', code: back.searchParams.get('code'),
    redirect_uri: a.params.redirect_uri, code_verifier: a.verifier }, { basic: [rp.c.client_id, rp.c.client_secret] });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.deepEqual(tok.body.authorization_details, [PAY]);
});

test('lockout: three wrong codes lock the key; the app says so and the right code no longer helps', async () => {
  const st = path.join(dir, 'second.json');
  await enrol(st, '0471 00 00 01');
  const b = await browserLogin('+32471000001');
  const rq = (await app(['--json', 'pending'], { st })).json.requests[0];
  assert.ok(rq.codes.includes(b.code));
  const wrongCode = APP_CODE === '11111' ? '22222' : '11111';
  let r;
  for (let i = 1; i <= 3; i++) {
    r = await app(['--json', 'approve', rq.id, '--pick', b.code], { st, input: `${wrongCode}\n` });
    assert.equal(r.code, 1);
    assert.equal(r.json.error, 'wrong_code');
    assert.equal(r.json.failures, i);
  }
  assert.equal(typeof r.json.locked_until, 'number', 'the third wrong code locks (3 h)');
  r = await app(['approve', rq.id, '--pick', b.code], { st, input: `${APP_CODE}\n` });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Je sleutel is geblokkeerd/);
  assert.match(r.stderr, /locked/);
});

test('no request: pending --wait returns when the time is up; approve of an unknown id is refused', async () => {
  const t0 = Date.now();
  let r = await app(['--json', 'pending', '--wait', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, { requests: [] });
  assert.ok(Date.now() - t0 < 15000);
  r = await app(['--json', 'approve', 'AAAAAAAAAAAAAAAAAAAAAA', '--pick', '1234'], { input: `${APP_CODE}\n` });
  assert.equal(r.code, 1);
  r = await app(['--json', 'scan', 'https://evil.example/?t=x']);
  assert.equal(r.code, 2);
  r = await app(['--json', 'scan', 'sleutel://login?t=bm90LWEtdG9rZW4']); // well-formed, unknown to the server
  assert.equal(r.code, 1);
  assert.ok(r.json.error);
});

test('usage errors exit 2; a state file others can read is refused', async () => {
  let r = await new Promise((resolve) => {
    execFile(APP, ['pending'], (err) => resolve({ code: err ? err.code : 0 }));
  });
  assert.equal(r.code, 2);
  r = await app(['frobnicate']);
  assert.equal(r.code, 2);
  r = await app(['approve']);
  assert.equal(r.code, 2);
  r = await app(['approve', 'x', '--bogus', '1']);
  assert.equal(r.code, 2);
  r = await app(['approve', 'AAAAAAAAAAAAAAAAAAAAAA']); // no --pick without a terminal
  assert.equal(r.code, 2);
  chmodSync(state, 0o644);
  try {
    r = await app(['--json', 'devices']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /chmod 600/);
  } finally {
    chmodSync(state, 0o600);
  }
});

test('devices: this one is listed; removing it ends the enrolment here too', async () => {
  let r = await app(['--json', 'devices']);
  assert.equal(r.code, 0, r.stderr);
  const me = r.json.devices.find((d) => d.this_device);
  assert.ok(me);
  assert.equal(me.name, 'Terminal');
  assert.equal(me.id, readState().device_id);
  r = await app(['--json', 'remove', me.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'removed');
  assert.equal(readState().device_id, undefined);
  r = await app(['--json', 'pending']);
  assert.equal(r.code, 1);
});
