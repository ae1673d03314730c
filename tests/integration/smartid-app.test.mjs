// smartid-app.test.mjs — the reference app (sleutel-app smartid ..., on
// libsleutel-app) as the Smart-ID phone against a real sleuteld:
// registration (PIN1/PIN2 from stdin, the registration code, the portal
// part with an eID test card through the registration portal helpers),
// the recall check with a wrong PIN then the right ones, the state file
// (private, both split keys, no PIN), a portal login answered by
// `sleutel-app smartid approve` after a wrong PIN the server counted, a
// refusal, the device list, removal, and two approves at once on one state
// file (the state's lock: both approved, the device not taken for a clone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import { startServer, Agent, hiddenInputs, answerConsent } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { runApp } from './lib/app.mjs';
import { registerRp, authRequest, assertCodeResponse } from './lib/flows.mjs';
import { issueCard, rrn } from './lib/eid.mjs';
import { portalEidLogin, portalSteps, bindingHash } from './lib/smartid.mjs';

const PIN1 = '4711';
const PIN2 = '27182';
const PERSON = { given: 'Anna', family: 'Peeters', rrn: rrn('900215', '123') };

let server;
let rp;
let dir;
let state;
let ca;

// Run sleutel-app; `input` goes to its stdin (then closed).
const app = (args, { input = '', st = state } = {}) => runApp({ server, ca, state: st }, args, input);

const readState = () => JSON.parse(readFileSync(state, 'utf8'));
const sql = (q) => dbSql(server, q);

// The DER DigestInfo prefix of a SHA-256 PKCS#1 v1.5 signature.
const SHA256_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

before(async () => {
  ca = path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem');
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-sidapp-'));
  state = path.join(dir, 'phone.json');
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  rp = await registerRp(server, { name: 'Mijn gezondheid' });
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The portal part of a registration: eID login with a test card, the
// questions, the registration code, confirm.
async function portal(code, person = PERSON) {
  const cardDir = mkdtempSync(path.join(dir, 'card-'));
  const card = await issueCard(server.pkiDir, cardDir, { given: person.given, family: person.family, rrn: person.rrn });
  const agent = new Agent();
  await portalEidLogin(server, agent, card);
  return portalSteps(server, agent, code);
}

let deviceId;

test('registration: keys made under PIN1/PIN2, the code, the portal, a wrong PIN in the recall check, then the right ones', async () => {
  // PINs of the wrong form are refused before anything is made or sent.
  let r = await app(['--json', 'smartid', 'register'], { input: `123\n${PIN2}\n` });
  assert.equal(r.code, 2, r.stderr);
  r = await app(['--json', 'smartid', 'register'], { input: `${PIN1}\n1234\n` });
  assert.equal(r.code, 2, r.stderr);

  r = await app(['--json', 'smartid', 'register', '--name', 'Terminal'], { input: `${PIN1}\n${PIN2}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.json.registration_code, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
  assert.equal(r.json.status, 'code');
  assert.ok(r.json.portal_url.endsWith('/smartid/register'), r.json.portal_url);
  const code = r.json.registration_code;

  // The state: private, its own transport key, both keys, no PIN, no code.
  assert.equal(statSync(state).mode & 0o777, 0o600);
  const text = readFileSync(state, 'utf8');
  const st = JSON.parse(text);
  assert.equal(st.smartid.registration_id, r.json.registration_id);
  assert.notEqual(st.smartid.transport_key, st.transport_key);
  assert.equal(st.smartid.auth.key.use, 'auth');
  assert.equal(st.smartid.sign.key.use, 'sign');
  assert.equal(r.json.auth, undefined, 'no modulus before the portal confirms');
  assert.equal(st.smartid.auth.n, undefined, 'no modulus kept before the portal confirms');
  assert.equal(st.smartid.auth.key.version, 0);
  assert.ok(!text.includes(code), 'the registration code is not kept');
  assert.ok(!text.includes(`"${PIN1}"`) && !text.includes(`"${PIN2}"`));

  // Before the portal confirmed: the recall check is refused, nothing counted.
  r = await app(['--json', 'smartid', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'code');

  const end = await portal(code);
  assert.equal(end.status, 200, end.body);
  r = await app(['--json', 'smartid', 'status', '--wait', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'confirmed');
  assert.equal(r.json.person.given_name, PERSON.given);
  assert.equal(r.json.person.family_name, PERSON.family);
  // The moduli came with "confirmed" and are kept, each a multiple of the
  // app's own n1 (the server made its keys at the confirmation).
  const confirmed = readState().smartid;
  assert.equal(confirmed.registration_status, 'confirmed');
  for (const use of ['auth', 'sign']) {
    assert.equal(confirmed[use].n, r.json[use].n);
    const n = BigInt(`0x${Buffer.from(confirmed[use].n, 'base64url').toString('hex')}`);
    const n1 = BigInt(`0x${Buffer.from(confirmed[use].key.n1, 'base64url').toString('hex')}`);
    assert.equal(n % n1, 0n);
    assert.ok(n > n1);
  }

  // A wrong PIN1: the server names the key and counts.
  r = await app(['--json', 'smartid', 'finish'], { input: `9999\n${PIN2}\n` });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.json.error, 'wrong_pin');
  assert.deepEqual(r.json.keys, ['auth']);
  assert.equal(r.json.attempts_left, 2);
  // The keys moved on before anything was sent.
  assert.ok(readState().smartid.auth.key.version >= 1);

  r = await app(['--json', 'smartid', 'finish'], { input: `${PIN1}\n${PIN2}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.json.document_number, /^PNOBE-/);
  assert.match(r.json.certificates.auth, /^-----BEGIN CERTIFICATE-----/);
  deviceId = r.json.device_id;
  const after = readState().smartid;
  assert.equal(after.device_id, deviceId);
  assert.equal(after.registration_id, undefined);
  assert.equal(after.auth.certificate, r.json.certificates.auth);
  assert.equal(after.sign.certificate, r.json.certificates.sign);

  r = await app(['--json', 'smartid', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.device_id, deviceId);
  assert.equal(r.json.keys.auth.failures, 0);

  // Text output, in Dutch by default.
  r = await app(['smartid', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Documentnummer: PNOBE-/);
  for (const [lang, re] of [['fr', /Numéro de document : PNOBE-/], ['de', /Dokumentnummer: PNOBE-/],
    ['en', /Document number: PNOBE-/]]) {
    r = await app(['--lang', lang, 'smartid', 'status']);
    assert.match(r.stdout, re, lang);
  }
});

// The browser: authorize at the RP, the Smart-ID key, the national
// number; the wait page shows the verification code.
async function browserLogin(person = PERSON) {
  const agent = new Agent();
  const req = await authRequest(rp.config);
  let res = await agent.get(String(req.url));
  assert.equal(res.status, 303);
  const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/smartid?req=${reqId}&lang=en`);
  assert.equal(res.status, 200);
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/key/smartid/login`, { ...hidden, rrn: person.rrn });
  assert.equal(res.status, 303, 'the national number form moves on to the wait page');
  const wait = new URL(res.headers.get('location'), server.base);
  res = await agent.get(String(wait));
  const html = await res.text();
  const m = html.match(/id="vcode"[^>]*>(\d{4})</);
  assert.ok(m, 'the wait page shows the verification code');
  return { ...req, agent, wait, code: m[1] };
}

async function pendingOne() {
  const r = await app(['--json', 'smartid', 'pending']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.requests.length, 1, JSON.stringify(r.json));
  return r.json.requests[0];
}

test('login: the app shows the site and the code, a wrong PIN1 is counted, the right one approves', async () => {
  const b = await browserLogin();
  const rq = await pendingOne();
  assert.equal(rq.verification_code, b.code);
  assert.equal(rq.rp_name, 'Mijn gezondheid');
  assert.equal(rq.key, 'auth');

  let r = await app(['smartid', 'pending']);
  assert.match(r.stdout, /Mijn gezondheid/);
  assert.match(r.stdout, new RegExp(`Verificatiecode: ${b.code}`));
  for (const [lang, word] of [['fr', 'Code de contrôle'], ['de', 'Kontrollcode'], ['en', 'Verification code']]) {
    r = await app(['--lang', lang, 'smartid', 'pending']);
    assert.match(r.stdout, new RegExp(`${word} ?: ${b.code}`), lang);
  }

  r = await app(['--json', 'smartid', 'approve', rq.id], { input: '0000\n' });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.json.error, 'wrong_pin');
  assert.equal(r.json.failures, 1);
  r = await app(['--json', 'smartid', 'status']);
  assert.equal(r.json.keys.auth.failures, 1);

  // The request is still there; the right PIN1 approves it.
  const again = await pendingOne();
  assert.equal(again.id, rq.id);
  const before = readState().smartid.auth.key.version;
  r = await app(['--json', 'smartid', 'approve', rq.id], { input: `${PIN1}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'approved');
  assert.equal(readState().smartid.auth.key.version, before + 1, 'the auth key moved on, on disk');
  r = await app(['--json', 'smartid', 'status']);
  assert.equal(r.json.keys.auth.failures, 0);

  // The finished signature is a plain RSA one for the certificate the app keeps.
  assert.equal(Buffer.from(rq.hash, 'base64url').toString('hex'), bindingHash(rq).toString('hex'));
  const sig = Buffer.from(sql(`SELECT signature FROM sid_requests WHERE id = '${rq.id}'`), 'base64url');
  const cert = new crypto.X509Certificate(readState().smartid.auth.certificate);
  const recovered = crypto.publicDecrypt({ key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, sig);
  assert.equal(recovered.toString('hex'), Buffer.concat([SHA256_INFO, bindingHash(rq)]).toString('hex'),
    'the signature is PKCS#1 v1.5 over the binding hash');

  // The browser moves on to the RP: amr smartid, the registered person.
  const res = await b.agent.get(String(b.wait));
  assert.equal(res.status, 303);
  const back = await answerConsent(server, b.agent, res.headers.get('location'));
  assertCodeResponse(server, back, b.state);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back,
    { pkceCodeVerifier: b.verifier, expectedState: b.state, expectedNonce: b.nonce });
  assert.deepEqual(tokens.claims().amr, ['smartid']);
});

test('a request that does not add up is not signed: the app refuses before asking a PIN', async () => {
  await browserLogin();
  const rq = await pendingOne();
  // The server's stored hash changed under the request: its binding no
  // longer holds (as a server that showed one code and asked for another
  // signature would do).
  sql(`UPDATE sid_requests SET hash = '${Buffer.alloc(32, 9).toString('base64url')}' WHERE id = '${rq.id}'`);
  const tampered = await pendingOne();
  assert.notEqual(tampered.hash, rq.hash, 'the channel serves the stored hash');
  const v = readState().smartid.auth.key.version;
  const r = await app(['smartid', 'approve', rq.id], { input: `${PIN1}\n` });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /Dit verzoek klopt niet en wordt niet ondertekend/);
  assert.equal(readState().smartid.auth.key.version, v, 'nothing signed, the key did not move');
  const x = await app(['--json', 'smartid', 'refuse', rq.id]);
  assert.equal(x.json.status, 'refused');
});

test('the state file: one open to others is refused, nothing is sent', async () => {
  chmodSync(state, 0o644);
  try {
    const r = await app(['--json', 'smartid', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /open to others/);
  } finally {
    chmodSync(state, 0o600);
  }
  // A copy with one key's share changed no longer parses as that key.
  const copy = path.join(dir, 'copy.json');
  const st = readState();
  st.smartid.sign.key = st.smartid.auth.key;
  writeFileSync(copy, JSON.stringify(st), { mode: 0o600 });
  const r = await app(['--json', 'smartid', 'status'], { st: copy });
  assert.equal(r.code, 1);
  assert.match(r.json.error_description, /other use/);
});

test('refuse: the request ends refused', async () => {
  await browserLogin();
  const rq = await pendingOne();
  const r = await app(['--json', 'smartid', 'refuse', rq.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'refused');
  const p = await app(['--json', 'smartid', 'pending']);
  assert.equal(p.json.requests.length, 0);
});

test('devices and removal: this device listed, removed, the state forgets it', async () => {
  let r = await app(['--json', 'smartid', 'devices']);
  assert.equal(r.code, 0, r.stderr);
  const mine = r.json.devices.find((d) => d.id === deviceId);
  assert.ok(mine, JSON.stringify(r.json));
  assert.equal(mine.this_device, true);
  assert.equal(mine.name, 'Terminal');

  r = await app(['--json', 'smartid', 'remove', 'not an id']);
  assert.equal(r.code, 1);
  r = await app(['--json', 'smartid', 'remove', deviceId]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readState().smartid, undefined);
  r = await app(['--json', 'smartid', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.status, 'none');
});

test('the recall check: the third wrong try ends the registration, and the app forgets its keys', async () => {
  const st = path.join(dir, 'second.json');
  const other = { given: 'Bram', family: 'Claes', rrn: rrn('880808', '407') };
  let r = await app(['--json', 'smartid', 'register'], { st, input: `${PIN1}\n${PIN2}\n` });
  assert.equal(r.code, 0, r.stderr);
  const end = await portal(r.json.registration_code, other);
  assert.equal(end.status, 200, end.body);
  r = await app(['--json', 'smartid', 'status', '--wait', '10'], { st });
  assert.equal(r.json.status, 'confirmed');
  r = await app(['--json', 'smartid', 'finish'], { st, input: `${PIN1}\n99999\n` });
  assert.deepEqual([r.code, r.json.error, r.json.keys, r.json.attempts_left], [1, 'wrong_pin', ['sign'], 2]);
  r = await app(['smartid', 'finish'], { st, input: '0000\n99999\n' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Foute pincode: PIN1, PIN2\. Nog 1 poging\(en\)\./);
  r = await app(['--json', 'smartid', 'finish'], { st, input: '0000\n99999\n' });
  assert.deepEqual([r.code, r.json.error], [1, 'registration_failed']);
  assert.equal(JSON.parse(readFileSync(st, 'utf8')).smartid, undefined, 'the keys are gone with it');
  r = await app(['--json', 'smartid', 'status'], { st });
  assert.equal(r.json.status, 'none');
});

// A whole registration of `person` into state file `st`; the device id.
async function registerActive(st, person) {
  let r = await app(['--json', 'smartid', 'register'], { st, input: `${PIN1}\n${PIN2}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await portal(r.json.registration_code, person)).status, 200);
  r = await app(['--json', 'smartid', 'status', '--wait', '10'], { st });
  assert.equal(r.json.status, 'confirmed');
  r = await app(['--json', 'smartid', 'finish'], { st, input: `${PIN1}\n${PIN2}\n` });
  assert.equal(r.code, 0, r.stderr);
  return r.json.device_id;
}

test('a copied state file: the copy signing after the original is a clone, the app says the device is revoked', async () => {
  const st = path.join(dir, 'third.json');
  const copy = path.join(dir, 'third-copy.json');
  const carol = { given: 'Carol', family: 'Maes', rrn: rrn('920202', '305') };
  await registerActive(st, carol);
  writeFileSync(copy, readFileSync(st), { mode: 0o600 });

  await browserLogin(carol);
  let r;
  let rq = (await app(['--json', 'smartid', 'pending'], { st })).json.requests[0];
  r = await app(['--json', 'smartid', 'approve', rq.id], { st, input: `${PIN1}\n` });
  assert.equal(r.json.status, 'approved');

  await browserLogin(carol);
  rq = (await app(['--json', 'smartid', 'pending'], { st: copy })).json.requests[0];
  r = await app(['smartid', 'approve', rq.id], { st: copy, input: `${PIN1}\n` });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Dit toestel is ingetrokken: er werd een kopie van gezien/);
  r = await app(['--json', 'smartid', 'status'], { st });
  assert.equal(r.code, 1, 'the original is revoked with its copy');
  assert.equal(r.json.error, 'invalid_proof');
});

// Two `sleutel-app smartid approve` at once on one state file: the lock
// around the state's read-modify-write makes them sign v+1 and v+2 (not
// both v+1, which the server takes for a clone and revokes the device).
test('two approves at once on one state file: both approved, the device stays active', async () => {
  const st = path.join(dir, 'fourth.json');
  const dora = { given: 'Dora', family: 'Wouters', rrn: rrn('930303', '509') };
  const dev = await registerActive(st, dora);
  let r;
  const v0 = JSON.parse(readFileSync(st, 'utf8')).smartid.auth.key.version;

  await browserLogin(dora);
  await browserLogin(dora);
  r = await app(['--json', 'smartid', 'pending'], { st });
  assert.equal(r.json.requests.length, 2, JSON.stringify(r.json));
  const [a, b] = await Promise.all(r.json.requests.map((rq) =>
    app(['--json', 'smartid', 'approve', rq.id], { st, input: `${PIN1}\n` })));
  assert.equal(a.json?.status, 'approved', a.stdout + a.stderr);
  assert.equal(b.json?.status, 'approved', b.stdout + b.stderr);
  assert.equal(JSON.parse(readFileSync(st, 'utf8')).smartid.auth.key.version, v0 + 2);
  assert.equal(statSync(`${st}.lock`).mode & 0o777, 0o600);
  r = await app(['--json', 'smartid', 'status'], { st });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.device_id, dev);
  assert.equal(sql(`SELECT status FROM sid_devices WHERE id = '${dev}'`), 'active');
  assert.equal(sql(`SELECT version FROM sid_keys WHERE device_id = '${dev}' AND key_use = 'auth'`), String(v0 + 2));
});

test('usage: unknown step, missing id, no Smart-ID', async () => {
  let r = await app(['smartid', 'fly']);
  assert.equal(r.code, 2);
  r = await app(['smartid', 'approve']);
  assert.equal(r.code, 2);
  r = await app(['--json', 'smartid', 'pending']);
  assert.equal(r.code, 1);
  assert.match(r.json.error_description, /no active Smart-ID/);
});
