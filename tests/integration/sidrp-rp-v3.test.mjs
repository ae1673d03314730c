// sidrp-rp-v3.test.mjs — every endpoint of the Smart-ID RP API v3 on
// sleutel, driven end to end by an RP client written from the published
// spec (lib/sidrp-client.mjs), with the person's test phone answering:
// the five authentication and four signature session creations, the linked
// signature after a device-link certificate choice, the notification
// certificate choice followed by a document signature, the signing
// certificate by document number, and GET session (long-poll, RUNNING then
// COMPLETE).  Each OK result is verified as the spec's "Response
// verification" says (certificate from the Smart-ID CA with PNOBE-<rrn>,
// level, ACSP_V2 over the payload the RP rebuilds, RAW_DIGEST over the
// digest, callback's sessionSecretDigest and userChallengeVerifier), and a
// signature session's result makes a CMS (lib/der.mjs) that `openssl cms -verify` accepts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import {
  confirmationMessage, displayTextAndPIN, interactions, vcForRpChallenge,
} from './lib/sidrp-client.mjs';
import { approve, CALLBACK, claimLink, etsi, JAN, pendingRpRequest, setup } from './lib/sidrp-rp.mjs';
import { digestOf, signedAttrs, signedData } from './lib/der.mjs';

const execFileP = promisify(execFile);
let ctx;
let rp;
let phone;
let dir;

before(async () => {
  ctx = await setup({ people: [JAN] });
  rp = ctx.rp;
  phone = ctx.phones[JAN.rrn];
  dir = mkdtempSync(path.join(tmpdir(), 'sidrp-v3-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await ctx?.server.stop();
});

// cert.value (Base64 DER) is the certificate `pem` the device was given.
const sameCert = (b64, pem) => new crypto.X509Certificate(Buffer.from(b64, 'base64')).fingerprint256 ===
  new crypto.X509Certificate(pem).fingerprint256;

// A notification session: the request reaches the phone with the code the
// RP shows; the phone confirms; the RP's long poll completes.
async function notificationRound(s, opts = {}) {
  const rq = await pendingRpRequest(phone, s);
  assert.equal(rq.rp_api.api, 'v3');
  assert.equal(rq.rp_api.flow_type, 'Notification');
  assert.equal(rq.verification_code, s.vc ?? null, 'the phone shows the code the RP shows');
  const a = await approve(phone, rq, opts);
  assert.equal(a.r.status, 200, `confirm: ${a.r.status} ${JSON.stringify(a.r.body)}`);
  return { rq, st: await s.waitComplete({ timeoutMs: 5000 }), ...a };
}

// A device-link session: the phone claims the link (QR of this second, or
// a same-device link), then confirms.
async function linkRound(s, type, opts = {}) {
  const link = type === 'QR' ? s.qrNow() : s.sameDeviceLink(type);
  const c = await claimLink(phone, link);
  assert.equal(c.status, 200, `claim: ${c.status} ${JSON.stringify(c.body)}`);
  const rq = c.body.request;
  assert.equal(rq.rp_api.flow_type, type);
  assert.equal(rq.verification_code, null, 'device-link flows show no code');
  const a = await approve(phone, rq, opts);
  assert.equal(a.r.status, 200, `confirm: ${a.r.status} ${JSON.stringify(a.r.body)}`);
  return { rq, st: await s.waitComplete({ timeoutMs: 5000 }), ...a };
}

test('notification authentication by etsi id: RUNNING long-poll, the 7180-rule code, a verified ACSP_V2 result', async () => {
  const s = await rp.start('authNotificationSemanticId', { id: etsi(JAN),
    interactions: interactions([confirmationMessage('Log in to Demo Bank, account BE68 5390 0754 7034?'),
      displayTextAndPIN('Log in to Demo Bank')]) });
  assert.equal(s.vc, vcForRpChallenge(s.inputs.rpChallenge));
  const t0 = Date.now();
  const running = await s.status({ timeoutMs: 1000 });
  assert.equal(running.status, 200);
  assert.deepEqual(running.body, { state: 'RUNNING' });
  assert.ok(Date.now() - t0 >= 900, 'timeoutMs=1000 long-polls about a second');
  const { st } = await notificationRound(s);
  const who = s.verify(st, { identity: etsi(JAN) });
  assert.equal(who.documentNumber, phone.document);
  assert.equal(st.interactionTypeUsed, 'confirmationMessage', 'the first offered interaction');
  assert.equal(st.signature.flowType, 'Notification');
  assert.ok(sameCert(st.cert.value, phone.certificates.auth), 'the auth certificate of the device');
  // A finished result stays readable (rp_result_keep), the same.
  const again = await s.status({ timeoutMs: 1000 });
  assert.deepEqual(again.body, st);
});

test('notification authentication by document number, SHA-256', async () => {
  const s = await rp.start('authNotificationDocumentNumber', { id: phone.document, hashAlgorithm: 'SHA-256',
    rpChallenge: crypto.randomBytes(32).toString('base64') });
  const { st } = await notificationRound(s);
  s.verify(st, { identity: etsi(JAN) });
  assert.equal(st.signature.signatureAlgorithmParameters.saltLength, 32);
});

test('device-link authentication, anonymous, QR: the link of this second; the person is whoever scans', async () => {
  const s = await rp.start('authDeviceLinkAnonymous', {});
  assert.match(s.response.deviceLinkBase, /^https:\/\//);
  const { st } = await linkRound(s, 'QR');
  const who = s.verify(st);
  assert.equal(who.identity, etsi(JAN));
  assert.equal(who.flowType, 'QR');
});

test('device-link authentication by etsi id, Web2App: the callback\'s sessionSecretDigest and userChallengeVerifier', async () => {
  const s = await rp.start('authDeviceLinkSemanticId', { id: etsi(JAN), initialCallbackUrl: CALLBACK });
  const { st, callbackUrl } = await linkRound(s, 'Web2App');
  assert.ok(callbackUrl.startsWith(CALLBACK));
  s.verify(st, { identity: etsi(JAN), callbackUrl });
  // Without the callback, or with another verifier, the RP must not accept it.
  assert.throws(() => s.verify(st, { identity: etsi(JAN) }), /only with the callback/);
  assert.throws(() => s.verify(st, { identity: etsi(JAN),
    callbackUrl: callbackUrl.replace(/userChallengeVerifier=[^&]+/, 'userChallengeVerifier=forged') }),
  /userChallengeVerifier/);
});

test('device-link authentication by document number, App2App', async () => {
  const s = await rp.start('authDeviceLinkDocumentNumber', { id: phone.document,
    initialCallbackUrl: 'https://bank.example/app2app' });
  const { st, callbackUrl } = await linkRound(s, 'App2App');
  s.verify(st, { identity: etsi(JAN), callbackUrl });
  assert.equal(st.signature.flowType, 'App2App');
});

test('device-link signature by etsi id (QR) and by document number (Web2App): RAW_DIGEST_SIGNATURE over the digest', async () => {
  const data = Buffer.from('Overschrijving 125,00 EUR naar BE68 5390 0754 7034');
  const s = await rp.start('signDeviceLinkSemanticId', { id: etsi(JAN), data,
    interactions: interactions([confirmationMessage('Overschrijving 125,00 EUR?')]),
    requestProperties: { shareMdClientIpAddress: true, colour: 'blue' }, capabilities: ['QUALIFIED'] });
  const { st } = await linkRound(s, 'QR');
  s.verify(st, { identity: etsi(JAN) });
  assert.equal(st.signatureProtocol, 'RAW_DIGEST_SIGNATURE');
  // Differences: the phone's address is never shared; unknown properties are listed.
  assert.equal(st.deviceIpAddress, undefined);
  assert.deepEqual(st.ignoredProperties, ['colour']);
  assert.ok(sameCert(st.cert.value, phone.certificates.sign), 'the signing certificate of the device');

  const s2 = await rp.start('signDeviceLinkDocumentNumber', { id: phone.document, data, hashAlgorithm: 'SHA-384',
    initialCallbackUrl: CALLBACK });
  const r2 = await linkRound(s2, 'Web2App');
  s2.verify(r2.st, { identity: etsi(JAN), callbackUrl: r2.callbackUrl });
});

test('notification signature by etsi id: the server\'s random code reaches the phone; a CMS openssl verifies', async () => {
  const doc = Buffer.from('Contract 2026-117: Jan Peeters huurt het appartement Lange Nieuwstraat 4.\n');
  // The CMS signed attributes (lib/der.mjs); their SHA-256 is the digest.
  const attrs = signedAttrs({ digest: digestOf('SHA-256', doc) });
  const digest = digestOf('SHA-256', attrs.der).toString('base64');
  const s = await rp.start('signNotificationSemanticId', { id: etsi(JAN), digest, hashAlgorithm: 'SHA-256',
    interactions: interactions([displayTextAndPIN('Sign contract 2026-117')]) });
  assert.match(s.vc, /^[0-9]{4}$/);
  const { st } = await notificationRound(s);
  const who = s.verify(st, { identity: etsi(JAN) });
  const cms = signedData({ hash: 'SHA-256', attrs, certDer: who.cert.raw, pss: true,
    signature: Buffer.from(st.signature.value, 'base64') });
  const pki = ctx.server.pkiDir;
  const files = { p7s: path.join(dir, 'contract.p7s'), doc: path.join(dir, 'contract.txt'),
    chain: path.join(dir, 'chain.pem') };
  writeFileSync(files.p7s, cms);
  writeFileSync(files.doc, doc);
  writeFileSync(files.chain, Buffer.concat([readFileSync(path.join(pki, 'root.pem')),
    readFileSync(path.join(pki, 'smartid-ca.pem'))]));
  const verify = () => execFileP('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', files.p7s,
    '-content', files.doc, '-CAfile', files.chain, '-purpose', 'any', '-out', path.join(dir, 'out')]);
  const { stderr } = await verify();
  assert.match(stderr, /Verification successful/);
  writeFileSync(files.doc, Buffer.concat([doc, Buffer.from('+')]));
  await assert.rejects(verify, /verify error|Verification failure/);
});

test('certificate choice by device link, then the linked notification signature', async () => {
  const choice = await rp.start('signCertChoiceDeviceLinkAnonymous', {});
  const c = await linkRound(choice, 'QR');
  const who = choice.verify(c.st);
  assert.equal(who.identity, etsi(JAN));
  assert.equal(c.st.signatureProtocol, undefined);
  assert.deepEqual(c.st.signature, { flowType: 'QR' }, 'CertificateChoiceSignature: flowType only');
  // As the spec's certificate-choice example: confirmationMessage.
  assert.equal(c.st.interactionTypeUsed, 'confirmationMessage');
  const data = Buffer.from('linked document');
  const s = await rp.start('signNotificationLinked', { id: who.documentNumber, data,
    linkedSessionID: choice.sessionID });
  assert.equal(s.vc, undefined, 'the linked flow shows no code');
  const rq = await pendingRpRequest(phone, s);
  assert.equal(rq.action, 'sign');
  const a = await approve(phone, rq);
  assert.equal(a.r.status, 200, JSON.stringify(a.r.body));
  const st = await s.waitComplete({ timeoutMs: 5000 });
  s.verify(st, { identity: etsi(JAN) });
  assert.equal(st.cert.value, c.st.cert.value, 'signed with the chosen certificate');
});

test('certificate choice by notification, then a signature by the document number it gave', async () => {
  const choice = await rp.start('signCertChoiceNotificationSemanticId', { id: etsi(JAN) });
  const c = await notificationRound(choice);
  const who = choice.verify(c.st, { identity: etsi(JAN) });
  assert.equal(c.rq.action, 'cert');
  const s = await rp.start('signNotificationDocumentNumber', { id: who.documentNumber,
    data: Buffer.from('after the choice') });
  const r = await notificationRound(s);
  s.verify(r.st, { identity: etsi(JAN) });
});

test('signing certificate by document number: the device\'s sign certificate, no session', async () => {
  const r = await rp.post(`/v3/signature/certificate/${phone.document}`,
    { relyingPartyUUID: rp.uuid, relyingPartyName: rp.name, certificateLevel: 'QUALIFIED' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'OK');
  assert.equal(r.body.cert.certificateLevel, 'QUALIFIED');
  const cert = new crypto.X509Certificate(Buffer.from(r.body.cert.value, 'base64'));
  assert.ok(cert.checkIssued(rp.ca) && cert.verify(rp.ca.publicKey));
  assert.equal(cert.fingerprint256, new crypto.X509Certificate(phone.certificates.sign).fingerprint256);
  const s = await rp.start('signCertificateDocumentNumber', { id: phone.document });
  assert.equal(s.response.state, 'OK');
});
