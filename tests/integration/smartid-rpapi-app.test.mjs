// smartid-rpapi-app.test.mjs — the REAL reference app (sleutel-app,
// registered as in smartid-app.test.mjs) as the phone of Smart-ID RP API
// v3 sessions that an RP (lib/sidrp-client.mjs, written from the published
// spec) starts and verifies:
//   - a notification authentication: the app shows the site, the text and
//     the 7180-rule code, PIN1 approves, the RP verifies ACSP_V2;
//   - a QR device-link authentication (the link made with the published
//     authCode rule) and a Web2App one whose callback URL the RP checks
//     (sessionSecretDigest, userChallengeVerifier);
//   - a PIN2 signature (RAW_DIGEST_SIGNATURE) that verifies with
//     `openssl pkeyutl -verify` against the signing certificate;
//   - a certificate choice (no PIN): the app's signing certificate;
//   - refusals: USER_REFUSED, USER_REFUSED_INTERACTION with its detail;
//   - a verification-code choice: a wrong pick ends WRONG_VC, the right
//     one OK;
//   - v2: an authentication whose code the app recomputes from the hash
//     (verificationCodeChoice picked), signed PKCS#1 over the hash as it is;
//   - a server that lies (the stored request changed under it): another
//     code is refused before any PIN; only interactions the app does not
//     know are refused "not_supported" (REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP);
//   - a link to another server is not opened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { rrn } from './lib/eid.mjs';
import { runApp } from './lib/app.mjs';
import { addRp, rpClient, CALLBACK, WITH_V2 } from './lib/sidrp-rp.mjs';
import {
  confirmationMessage, confirmationMessageAndVerificationCodeChoice, displayTextAndPIN, interactions,
  vcForRpChallenge,
} from './lib/sidrp-client.mjs';
import { registerApp, appRpRequest } from './lib/sidapp.mjs';

const PIN1 = '4711';
const PIN2 = '27182';
const PERSON = { given: 'Anna', family: 'Peeters', rrn: rrn('900215', '123') };
const ETSI = `PNOBE-${PERSON.rrn}`;

let server;
let rp;
let dir;
let where;
let device;

const app = (args, input = '') => runApp(where, args, input);
const readState = () => JSON.parse(readFileSync(where.state, 'utf8'));
const sql = (q) => dbSql(server, q);
const sameCert = (b64, pem) => new crypto.X509Certificate(Buffer.from(b64, 'base64')).fingerprint256 ===
  new crypto.X509Certificate(pem).fingerprint256;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-sidrp-app-'));
  server = await startServer({ demo: true, config: { smartid: { key_bits: 1024, rp_api: true, rate_ip: 1000, max_pending: 20 } } });
  where = { server, ca: path.join(process.env.SLEUTEL_TEST_CA, 'ca.pem'), state: path.join(dir, 'phone.json') };
  rp = rpClient(server, await addRp(server, 'Demo Bank', ...WITH_V2));
  device = await registerApp(where, PERSON, { pin1: PIN1, pin2: PIN2, dir });
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('notification authentication: the site, the text and the code shown, PIN1, an ACSP_V2 result the RP verifies', async () => {
  const s = await rp.start('authNotificationSemanticId', { id: ETSI,
    interactions: interactions([confirmationMessage('Log in to Demo Bank, account BE68 5390 0754 7034?'),
      displayTextAndPIN('Log in to Demo Bank')]) });
  assert.equal(s.vc, vcForRpChallenge(s.inputs.rpChallenge));
  const rq = await appRpRequest(where);
  assert.equal(rq.verification_code, s.vc);
  const v = readState().smartid.auth.key.version;

  const r = await app(['smartid', 'approve', rq.id], `${PIN1}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Demo Bank/);
  assert.match(r.stdout, /Ik log in/);
  assert.match(r.stdout, /Log in to Demo Bank, account BE68 5390 0754 7034\?/, 'the first interaction, as offered');
  assert.match(r.stdout, new RegExp(`Verificatiecode: ${s.vc}`));
  assert.match(r.stdout, /Bevestigd\./);
  assert.ok(!r.stdout.includes(PIN1));
  assert.equal(readState().smartid.auth.key.version, v + 1, 'the auth key moved on');

  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.interactionTypeUsed, 'confirmationMessage');
  assert.equal(st.result.documentNumber, device.document_number);
  const out = s.verify(st, { identity: ETSI });
  assert.equal(out.flowType, 'Notification');
  assert.ok(sameCert(st.cert.value, device.certificates.auth), "the app's auth certificate");
});

test('QR device link: the app claims the link the RP drew, approves with PIN1, the RP verifies', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', {});
  const r = await app(['--json', 'smartid', 'link', s.qrNow()], `${PIN1}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.status, 'approved');
  assert.equal(r.json.callback_url, undefined, 'a QR has no way back');
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.signature.flowType, 'QR');
  assert.equal(s.verify(st).documentNumber, device.document_number);
  // The same link again: already claimed.
  const again = await app(['--json', 'smartid', 'link', s.qrNow()], `${PIN1}\n`);
  assert.equal(again.code, 1);
  assert.ok(['already_claimed', 'link_expired'].includes(again.json.error), again.stdout);
});

test('Web2App link: the callback URL carries the secret digest and the verifier the RP checks', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', { initialCallbackUrl: CALLBACK });
  const r = await app(['--json', 'smartid', 'link', s.sameDeviceLink('Web2App')], `${PIN1}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.json.callback_url.startsWith(`${CALLBACK}&sessionSecretDigest=`), r.json.callback_url);
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.signature.flowType, 'Web2App');
  s.verify(st, { callbackUrl: r.json.callback_url });
  // A callback with another verifier does not pass the RP's check.
  const forged = r.json.callback_url.replace(/userChallengeVerifier=[^&]+/,
    `userChallengeVerifier=${crypto.randomBytes(32).toString('base64url')}`);
  assert.throws(() => s.verify(st, { callbackUrl: forged }), /userChallengeVerifier/);
});

test('a PIN2 signature: RAW_DIGEST_SIGNATURE over the digest verifies with openssl against the signing certificate', async () => {
  const data = Buffer.from('Leningsovereenkomst 2026-117, 25 000 EUR\n');
  const s = await rp.start('signNotificationSemanticId', { id: ETSI, data, hashAlgorithm: 'SHA-256',
    interactions: interactions([confirmationMessage('Sign loan contract 2026-117?')]) });
  const rq = await appRpRequest(where);
  assert.equal(rq.key, 'sign');
  // PIN1's form is not PIN2's: refused before anything is signed.
  const v = readState().smartid.sign.key.version;
  let r = await app(['--json', 'smartid', 'approve', rq.id], `${PIN1}\n`);
  assert.notEqual(r.code, 0);
  assert.equal(readState().smartid.sign.key.version, v);

  r = await app(['smartid', 'approve', rq.id], `${PIN2}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Ik onderteken/);
  assert.match(r.stdout, /Sign loan contract 2026-117\?/);
  assert.match(r.stdout, new RegExp(`Verificatiecode: ${s.vc}`), "the server's code");
  const st = await s.waitComplete({ timeoutMs: 5000 });
  s.verify(st, { identity: ETSI });
  assert.ok(sameCert(st.cert.value, device.certificates.sign), "the app's signing certificate");

  writeFileSync(path.join(dir, 'sign.pem'), device.certificates.sign);
  writeFileSync(path.join(dir, 'digest.bin'), Buffer.from(s.inputs.digest, 'base64'));
  writeFileSync(path.join(dir, 'sig.bin'), Buffer.from(st.signature.value, 'base64'));
  const out = execFileSync('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', path.join(dir, 'sign.pem'),
    '-in', path.join(dir, 'digest.bin'), '-sigfile', path.join(dir, 'sig.bin'), '-pkeyopt', 'digest:sha256',
    '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:32'], { encoding: 'utf8' });
  assert.match(out, /Signature Verified Successfully/);
  // ... and not over another digest.
  writeFileSync(path.join(dir, 'digest.bin'), crypto.createHash('sha256').update('other').digest());
  assert.throws(() => execFileSync('openssl', ['pkeyutl', '-verify', '-certin', '-inkey',
    path.join(dir, 'sign.pem'), '-in', path.join(dir, 'digest.bin'), '-sigfile', path.join(dir, 'sig.bin'),
    '-pkeyopt', 'digest:sha256', '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:32'],
  { stdio: 'pipe' }));
});

test('a certificate choice: no PIN, the RP gets the signing certificate', async () => {
  const s = await rp.start('signCertChoiceNotificationSemanticId', { id: ETSI });
  const rq = await appRpRequest(where);
  assert.equal(rq.action, 'cert');
  const v = readState().smartid.sign.key.version;
  const r = await app(['smartid', 'approve', rq.id]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Demo Bank vraagt welk certificaat je gebruikt om te ondertekenen/);
  assert.equal(readState().smartid.sign.key.version, v, 'nothing signed');
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'OK');
  assert.ok(sameCert(st.cert.value, device.certificates.sign));
  s.verify(st, { identity: ETSI });
});

test('refusals: USER_REFUSED, and USER_REFUSED_INTERACTION naming the interaction shown', async () => {
  let s = await rp.start('authNotificationSemanticId', { id: ETSI });
  let rq = await appRpRequest(where);
  let r = await app(['--json', 'smartid', 'refuse', rq.id]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.status, 'refused');
  let st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'USER_REFUSED');

  s = await rp.start('authNotificationSemanticId', { id: ETSI,
    interactions: interactions([displayTextAndPIN('Log in to Demo Bank')]) });
  rq = await appRpRequest(where);
  r = await app(['--json', 'smartid', 'approve', rq.id, '--refuse', 'interaction']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'USER_REFUSED_INTERACTION');
  assert.deepEqual(st.result.details, { interaction: 'displayTextAndPIN' });

  // An unknown reason is the app's usage error; nothing is sent.
  s = await rp.start('authNotificationSemanticId', { id: ETSI });
  rq = await appRpRequest(where);
  r = await app(['--json', 'smartid', 'refuse', rq.id, '--refuse', 'bored']);
  assert.equal(r.code, 1);
  assert.equal((await s.status({ timeoutMs: 1000 })).body.state, 'RUNNING');
  r = await app(['--json', 'smartid', 'refuse', rq.id]);
  assert.equal(r.json.status, 'refused');
});

test('a verification-code choice: a wrong pick ends WRONG_VC before any PIN, the right pick approves', async () => {
  const offer = interactions([confirmationMessageAndVerificationCodeChoice('Log in to Demo Bank?')]);
  let s = await rp.start('authNotificationSemanticId', { id: ETSI, interactions: offer });
  let rq = await appRpRequest(where);
  const v = readState().smartid.auth.key.version;
  // Without --pick a script cannot answer it.
  let r = await app(['--json', 'smartid', 'approve', rq.id], `${PIN1}\n`);
  assert.equal(r.code, 2);
  const wrong = String((Number(s.vc) + 1) % 10000).padStart(4, '0');
  r = await app(['smartid', 'approve', rq.id, '--pick', wrong], `${PIN1}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Dat is niet de juiste verificatiecode/);
  assert.equal(readState().smartid.auth.key.version, v, 'no PIN was used, nothing signed');
  let st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'WRONG_VC');

  s = await rp.start('authNotificationSemanticId', { id: ETSI, interactions: offer });
  rq = await appRpRequest(where);
  r = await app(['--json', 'smartid', 'approve', rq.id, '--pick', s.vc], `${PIN1}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.interactionTypeUsed, 'confirmationMessageAndVerificationCodeChoice');
  s.verify(st);
});

test('a device link of another server is not opened; nor is a malformed one', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', {});
  const link = s.qrNow();
  const foreign = link.replace(server.base, 'https://smart-id.com');
  let r = await app(['smartid', 'link', foreign], `${PIN1}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Deze link is niet van je Smart-ID-server/);
  r = await app(['--json', 'smartid', 'link', link.replace('version=1.0', 'version=9.9')], `${PIN1}\n`);
  assert.equal(r.code, 1);
  assert.equal(r.json.error, 'app_error');
  assert.equal((await s.status({ timeoutMs: 1000 })).body.state, 'RUNNING', 'nothing was claimed');
  // The genuine link still works.
  r = await app(['--json', 'smartid', 'link', s.qrNow(), '--refuse', 'refused']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((await s.waitComplete({ timeoutMs: 5000 })).result.endResult, 'USER_REFUSED');
});

test('v2: the hash\'s code recomputed and picked (verificationCodeChoice), PKCS#1 over the hash', async () => {
  const s = await rp.startV2('authEtsi', { id: ETSI, hashType: 'SHA256',
    hash: crypto.createHash('sha256').update(crypto.randomBytes(32)).digest('base64'),
    allowedInteractionsOrder: [{ type: 'verificationCodeChoice', displayText60: 'Log in to Demo Bank' }] });
  const rq = await appRpRequest(where);
  assert.equal(rq.rp_api.api, 'v2');
  assert.equal(rq.verification_code, s.vc);
  const r = await app(['--json', 'smartid', 'approve', rq.id, '--pick', s.vc], `${PIN1}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.interactionFlowUsed, 'verificationCodeChoice');
  s.verify(st, { identity: ETSI });
});

test('a request changed on the server: another code is refused before any PIN; unknown interactions are not_supported', async () => {
  let s = await rp.start('authNotificationSemanticId', { id: ETSI });
  let rq = await appRpRequest(where);
  const other = String((Number(s.vc) + 5000) % 10000).padStart(4, '0');
  sql(`UPDATE sid_requests SET vc = '${other}' WHERE id = '${rq.id}'`);
  const v = readState().smartid.auth.key.version;
  let r = await app(['smartid', 'approve', rq.id], `${PIN1}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Dit verzoek klopt niet en wordt niet ondertekend/);
  assert.match(r.stderr, /verification code/);
  assert.equal(readState().smartid.auth.key.version, v, 'no PIN used, nothing signed');
  assert.equal((await s.status({ timeoutMs: 1000 })).body.state, 'RUNNING');
  r = await app(['--json', 'smartid', 'refuse', rq.id]);
  assert.equal(r.json.status, 'refused');

  s = await rp.start('authNotificationSemanticId', { id: ETSI });
  rq = await appRpRequest(where);
  const unknown = Buffer.from(JSON.stringify([{ type: 'holographicConsent', displayText60: 'x' }])).toString('base64');
  const extra = JSON.parse(sql(`SELECT extra FROM sid_requests WHERE id = '${rq.id}'`));
  extra.interactions = unknown;
  sql(`UPDATE sid_requests SET extra = '${JSON.stringify(extra).replaceAll("'", "''")}' WHERE id = '${rq.id}'`);
  r = await app(['smartid', 'approve', rq.id], `${PIN1}\n`);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Deze app kan deze vraag niet tonen/);
  assert.equal(readState().smartid.auth.key.version, v);
  const st = await s.waitComplete({ timeoutMs: 5000 });
  assert.equal(st.result.endResult, 'REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP');
});
