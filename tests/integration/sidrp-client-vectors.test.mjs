// sidrp-client-vectors.test.mjs — the RP client of lib/sidrp-client.mjs
// reproduces every published Smart-ID test vector (verification codes,
// authCodes and device links, the ACSP_V2 payload's digest, the
// interactions' hash) and its own checks catch what they must: a PSS
// signature over a digest, a tampered payload, a foreign CA, a callback with
// a wrong sessionSecretDigest or userChallengeVerifier, the QR link changing
// every second.  No server: this pins the client before it is used as the
// judge of sleutel's RP API.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  acspV2Payload, authCode, authCodePayload, buildBody, buildV2Body, checkCallback, checkCertificate, deviceLink,
  ENDPOINTS, interactions, pssVerifyDigest, pkcs1VerifyDigest, RpSession, rpChallenge, SidRpClient, SidRpError,
  unprotectedDeviceLink, userChallengeOf, vcForHash, vcForRpChallenge,
} from './lib/sidrp-client.mjs';

// The documentation's values (device_link_flows.html, authcode.html,
// notification_based_flows.html, signature_protocols.html).
const SECRET = 'B98ODiVCebRedSwdTk51zFSaGYyHtY1H2A0ocAi3/Ps=';
const TOKEN = 'wGIrqveE6AuGDATZKmR1mtAZ';
const BASE = 'https://smart-id.com/device-link';
const CALLBACK = 'https://rp.example.com/callback-url?value=RrKjjT4aggzu27YBddX1bQ';
const CHALLENGE = 'GYS+yoah6emAcVDNIajwSs6UB/M95XrDxMzXBUkwQJ9YFDipXXzGpPc7raWcuc2+TEoRc7WvIZ/7dU/iRXenYg==';
const DIGEST = 'FNZFFya5wGLv9b27fZngaWrOBqle4tGwxZuDFRBdPl1RQvxJsfoqvTbjafd+8BcehMOQGvak6zlP+F8tga4bfQ==';
const INTER = 'W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2UiLCJkaXNwbGF5VGV4dDIwMCI6IkxvbmdlciBkZXNjcmlwdGlvbiBvZiB0aGUgdHJh' +
  'bnNhY3Rpb24gY29udGV4dCJ9LHsidHlwZSI6ImRpc3BsYXlUZXh0QW5kUElOIiwiZGlzcGxheVRleHQ2MCI6IlNob3J0IGRlc2NyaXB0aW9uIG9mIH' +
  'RoZSB0cmFuc2FjdGlvbiBjb250ZXh0In1d';
const CTX = {
  schemeName: 'smart-id', deviceLinkBase: BASE, sessionToken: TOKEN, sessionSecret: SECRET, relyingPartyName: 'DEMO',
  brokeredRpName: 'Example RP', initialCallbackUrl: CALLBACK, interactions: INTER, lang: 'eng',
};

test('verification codes: 7180 from the rpChallenge example, 7712 from SHA-256("Hello World!")', () => {
  assert.equal(vcForRpChallenge(CHALLENGE), '7180');
  assert.equal(vcForHash(crypto.createHash('sha256').update('Hello World!').digest()), '7712');
  assert.equal(vcForHash(crypto.createHash('sha256').update('Hello World!').digest('base64')), '7712');
  // Over the raw bytes, not the text: the Base64 text gives another code.
  assert.notEqual(vcForHash(Buffer.from(CHALLENGE)), '7180');
});

test('the interactions example decodes to the documented JSON and hashes to RW2H...', () => {
  const list = JSON.parse(Buffer.from(INTER, 'base64').toString('utf8'));
  assert.deepEqual(list, [
    { type: 'confirmationMessage', displayText200: 'Longer description of the transaction context' },
    { type: 'displayTextAndPIN', displayText60: 'Short description of the transaction context' },
  ]);
  // Our builder makes the same bytes from the same array.
  assert.equal(interactions(list), INTER);
  assert.equal(crypto.createHash('sha256').update(INTER).digest('base64'),
    'RW2HOCLDvRFNWmAOmpWE+3rt7a8q4JGQD3n75d6xJHM=');
});

test('authCode: the four published device links', () => {
  const web2app = deviceLink({ ...CTX, sessionType: 'auth', signatureProtocol: 'ACSP_V2', rpChallenge: CHALLENGE },
    'Web2App');
  assert.equal(web2app, `${BASE}?deviceLinkType=Web2App&sessionToken=${TOKEN}&sessionType=auth&version=1.0&lang=eng` +
    '&authCode=aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0');
  const qr = deviceLink({ ...CTX, sessionType: 'auth', signatureProtocol: 'ACSP_V2', rpChallenge: CHALLENGE }, 'QR',
    { elapsedSeconds: 22 });
  assert.equal(qr, `${BASE}?deviceLinkType=QR&elapsedSeconds=22&sessionToken=${TOKEN}&sessionType=auth&version=1.0` +
    '&lang=eng&authCode=OY1eHaD4UYedrBwtqUbSkpa0w7ttm4FllPkCD_3wlE0');
  const sign = deviceLink({ ...CTX, sessionType: 'sign', signatureProtocol: 'RAW_DIGEST_SIGNATURE', digest: DIGEST },
    'App2App');
  assert.match(sign, /&authCode=8QZ16rkBW_ffkq6osT7UH1DbUlF9gEOZevgj-A0VNbM$/);
  const cert = deviceLink({ ...CTX, sessionType: 'cert', interactions: '' }, 'Web2App');
  assert.match(cert, /&authCode=PI1qYa9_l6zR-v6Pkre6ycSm7S3BGiOQSe5OQlw4UJg$/);
});

test('authCode payload: the documented text, keyed with the DECODED secret', () => {
  const unprotectedLink = unprotectedDeviceLink({ deviceLinkBase: BASE, deviceLinkType: 'Web2App',
    sessionToken: TOKEN, sessionType: 'cert' });
  const payload = authCodePayload({ relyingPartyName: 'DEMO', brokeredRpName: 'Example RP',
    initialCallbackUrl: CALLBACK, unprotectedLink });
  assert.equal(payload, `smart-id|||REVNTw==|RXhhbXBsZSBSUA==||${CALLBACK}|${unprotectedLink}`);
  // The raw secret text as key gives the documented wrong value.
  const web2app = authCodePayload({ signatureProtocol: 'ACSP_V2', rpChallengeOrDigest: CHALLENGE,
    relyingPartyName: 'DEMO', brokeredRpName: 'Example RP', interactions: INTER, initialCallbackUrl: CALLBACK,
    unprotectedLink: unprotectedDeviceLink({ deviceLinkBase: BASE, deviceLinkType: 'Web2App', sessionToken: TOKEN,
      sessionType: 'auth' }) });
  assert.equal(authCode(SECRET, web2app), 'aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0');
  const wrong = crypto.createHmac('sha256', Buffer.from(SECRET)).update(web2app).digest('base64url');
  assert.equal(wrong, '2rHGFM413hXL9zfYJkh54hgnsHlJn9rZDBcGTDIgs1Q');
  // elapsedSeconds only on QR links.
  assert.throws(() => unprotectedDeviceLink({ deviceLinkBase: BASE, deviceLinkType: 'Web2App', elapsedSeconds: 1,
    sessionToken: TOKEN, sessionType: 'auth' }), SidRpError);
});

test('ACSP_V2: the documented payload and its SHA-512 (DEMO and "Bank 123")', () => {
  const fields = { serverRandom: 'MTlop6EXCrQ6FOErcKjxUhbV', rpChallenge: CHALLENGE,
    userChallenge: 'GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00', relyingPartyName: 'DEMO',
    brokeredRpName: 'Example RP', interactions: INTER, interactionTypeUsed: 'confirmationMessage',
    initialCallbackUrl: CALLBACK, flowType: 'Web2App' };
  const payload = acspV2Payload(fields);
  assert.equal(payload, `smart-id|ACSP_V2|MTlop6EXCrQ6FOErcKjxUhbV|${CHALLENGE}|` +
    'GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00|REVNTw==|RXhhbXBsZSBSUA==|' +
    `RW2HOCLDvRFNWmAOmpWE+3rt7a8q4JGQD3n75d6xJHM=|confirmationMessage|${CALLBACK}|Web2App`);
  assert.equal(crypto.createHash('sha512').update(payload).digest('base64'),
    'pKOjbNl/5Fy8NfrFqsj6pSn8W8O+Ik8rM33QSsbyD3J9qDJvEm90SboUciuY4wHGWa0Pnq8BgT3NJKmJiUDfKg==');
  const bank = acspV2Payload({ ...fields, relyingPartyName: 'Bank 123' });
  assert.equal(crypto.createHash('sha512').update(bank).digest('base64'),
    'ForpWzIGtGPvivuCWiDXv1U01qBnaf7ob2wjGEtRKpYO/atx7707vsG3o2jdTuezTHJvUvM2V9TKEAIhor+nng==');
  // The callback is in the payload of same-device flows only.
  assert.match(acspV2Payload({ ...fields, flowType: 'QR' }), /\|confirmationMessage\|\|QR$/);
  assert.match(acspV2Payload({ ...fields, flowType: 'Notification' }), /\|confirmationMessage\|\|Notification$/);
});

test('rpChallenge: 32..64 random bytes in Base64; bodies follow the schemas', () => {
  for (const n of [32, 48, 64]) assert.equal(Buffer.from(rpChallenge(n), 'base64').length, n);
  assert.notEqual(rpChallenge(), rpChallenge());
  assert.throws(() => rpChallenge(31), SidRpError);
  assert.throws(() => rpChallenge(65), SidRpError);
  const rp = { uuid: '00000000-0000-4000-8000-000000000000', name: 'DEMO' };
  const auth = buildBody('authNotificationSemanticId', rp, { rpChallenge: CHALLENGE, interactions: INTER });
  assert.deepEqual(auth, { relyingPartyUUID: rp.uuid, relyingPartyName: 'DEMO', signatureProtocol: 'ACSP_V2',
    signatureProtocolParameters: { rpChallenge: CHALLENGE, signatureAlgorithm: 'rsassa-pss',
      signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512' } }, interactions: INTER, vcType: 'numeric4' });
  const linked = buildBody('signNotificationLinked', rp, { digest: DIGEST, interactions: INTER,
    linkedSessionID: '0aa27573-5ac2-479e-9c69-00343ff8416f', hashAlgorithm: 'SHA3-512' });
  assert.equal(linked.signatureProtocol, 'RAW_DIGEST_SIGNATURE');
  assert.equal(linked.linkedSessionID, '0aa27573-5ac2-479e-9c69-00343ff8416f');
  assert.equal(linked.signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm, 'SHA3-512');
  assert.equal(linked.vcType, undefined);
  assert.deepEqual(buildBody('signCertificateDocumentNumber', rp, { certificateLevel: 'QSCD', nonce: 'x' }),
    { relyingPartyUUID: rp.uuid, relyingPartyName: 'DEMO', certificateLevel: 'QSCD' });
  const choice = buildBody('signCertChoiceDeviceLinkAnonymous', rp, { initialCallbackUrl: CALLBACK, nonce: 'n1' });
  assert.deepEqual(Object.keys(choice).sort(), ['initialCallbackUrl', 'nonce', 'relyingPartyName', 'relyingPartyUUID']);
  assert.equal(Object.keys(ENDPOINTS).length, 13);
  const v2 = buildV2Body('authEtsi', rp, { hash: 'aGFzaA==', allowedInteractionsOrder: [] });
  assert.equal(v2.hashType, 'SHA512');
});

test('PSS over a digest: our EMSA-PSS check accepts node\'s signature and refuses a changed one', () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1544 });
  for (const alg of [['SHA-256', 'sha256', 32], ['SHA-512', 'sha512', 64], ['SHA3-256', 'sha3-256', 32]]) {
    const data = crypto.randomBytes(100);
    const sig = crypto.sign(alg[1], data, { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: alg[2] });
    const mHash = crypto.createHash(alg[1]).update(data).digest();
    assert.equal(pssVerifyDigest(publicKey, alg[0], mHash, sig), true, alg[0]);
    const bad = Buffer.from(mHash);
    bad[0] ^= 1;
    assert.equal(pssVerifyDigest(publicKey, alg[0], bad, sig), false);
    const badSig = Buffer.from(sig);
    badSig[5] ^= 1;
    assert.equal(pssVerifyDigest(publicKey, alg[0], mHash, badSig), false);
  }
  // A PSS salt shorter than the hash is not what the spec says.
  const data = Buffer.from('x');
  const short = crypto.sign('sha256', data, { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 20 });
  assert.equal(pssVerifyDigest(publicKey, 'SHA-256', crypto.createHash('sha256').update(data).digest(), short), false);
  // PKCS#1 v1.5 over a v2 hash.
  const h = crypto.createHash('sha384').update('doc').digest();
  const p1 = crypto.sign('sha384', Buffer.from('doc'), privateKey);
  assert.equal(pkcs1VerifyDigest(publicKey, 'SHA384', h, p1), true);
  assert.equal(pkcs1VerifyDigest(publicKey, 'SHA512', h, p1), false);
});

// A throwaway CA and a person's certificate from it (openssl), to exercise
// the whole verify() of an RpSession against made-up answers.
function makePki() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sidrp-vec-'));
  const run = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=Test Smart-ID CA');
  run('req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2',
    '-subj', '/CN=Other CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'user.key', '-out', 'user.csr',
    '-subj', '/C=BE/serialNumber=PNOBE-85073003328/CN=PEETERS,JAN');
  run('x509', '-req', '-in', 'user.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'user.pem',
    '-days', '1');
  const read = (f) => readFileSync(path.join(dir, f));
  const pki = { ca: new crypto.X509Certificate(read('ca.pem')), other: new crypto.X509Certificate(read('other.pem')),
    user: new crypto.X509Certificate(read('user.pem')), key: crypto.createPrivateKey(read('user.key')) };
  rmSync(dir, { recursive: true, force: true });
  return pki;
}

test('verify(): an ACSP_V2 answer signed by the certificate passes; every tampering fails', () => {
  const pki = makePki();
  const client = new SidRpClient({ base: 'https://rp.invalid/smart-id', uuid: 'u', name: 'DEMO', ca: pki.ca });
  const inputs = client.inputsFor('authDeviceLinkAnonymous', { initialCallbackUrl: CALLBACK });
  const s = new RpSession(client, 'authDeviceLinkAnonymous', inputs, { sessionID: crypto.randomUUID(),
    sessionToken: TOKEN, sessionSecret: SECRET, deviceLinkBase: BASE });
  // The device's side, as the docs describe it.
  const verifier = crypto.randomBytes(32).toString('base64url');
  const st = {
    state: 'COMPLETE', result: { endResult: 'OK', documentNumber: 'PNOBE-85073003328-AAAA-Q' },
    signatureProtocol: 'ACSP_V2',
    signature: { serverRandom: crypto.randomBytes(18).toString('base64'), userChallenge: userChallengeOf(verifier),
      flowType: 'Web2App', signatureAlgorithm: 'rsassa-pss', signatureAlgorithmParameters: { hashAlgorithm: 'SHA-512',
        maskGenAlgorithm: { algorithm: 'id-mgf1', parameters: { hashAlgorithm: 'SHA-512' } }, saltLength: 64,
        trailerField: '0xbc' } },
    cert: { value: pki.user.raw.toString('base64'), certificateLevel: 'QUALIFIED' },
    interactionTypeUsed: 'displayTextAndPIN',
  };
  const payload = acspV2Payload({ serverRandom: st.signature.serverRandom, rpChallenge: inputs.rpChallenge,
    userChallenge: st.signature.userChallenge, relyingPartyName: 'DEMO', interactions: inputs.interactions,
    interactionTypeUsed: 'displayTextAndPIN', initialCallbackUrl: CALLBACK, flowType: 'Web2App' });
  st.signature.value = crypto.sign('sha512', Buffer.from(payload), { key: pki.key,
    padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }).toString('base64');
  const digest = crypto.createHash('sha256').update(Buffer.from(SECRET, 'base64')).digest('base64url');
  const callbackUrl = `${CALLBACK}&sessionSecretDigest=${digest}&userChallengeVerifier=${verifier}`;
  const who = s.verify(st, { callbackUrl, identity: 'PNOBE-85073003328' });
  assert.equal(who.identity, 'PNOBE-85073003328');
  assert.equal(who.documentNumber, 'PNOBE-85073003328-AAAA-Q');
  assert.equal(checkCallback(s.link, callbackUrl).userChallengeVerifier, verifier);

  const fails = (mutate, opts = {}, re) => {
    const copy = structuredClone(st);
    mutate(copy);
    assert.throws(() => s.verify(copy, { callbackUrl, ...opts }), re);
  };
  fails((c) => { c.interactionTypeUsed = 'confirmationMessage'; }, {}, /does not verify/);
  fails((c) => { c.signature.serverRandom = crypto.randomBytes(18).toString('base64'); }, {}, /does not verify/);
  fails((c) => { c.signature.signatureAlgorithmParameters.saltLength = 32; }, {}, /saltLength/);
  fails((c) => { c.cert.certificateLevel = 'ADVANCED'; }, {}, /below QUALIFIED/);
  fails((c) => { c.result.endResult = 'USER_REFUSED'; }, {}, /not OK/);
  fails(() => {}, { identity: 'PNOBE-90020199704' }, /not PNOBE-90020199704/);
  fails(() => {}, { callbackUrl: `${CALLBACK}&sessionSecretDigest=${'A'.repeat(43)}&userChallengeVerifier=${verifier}` },
    /sessionSecretDigest/);
  fails(() => {}, { callbackUrl: `${CALLBACK}&sessionSecretDigest=${digest}&userChallengeVerifier=x${verifier}` },
    /userChallengeVerifier/);
  fails(() => {}, { callbackUrl: undefined }, /only with the callback/);
  const foreign = new SidRpClient({ base: 'https://rp.invalid', uuid: 'u', name: 'DEMO', ca: pki.other });
  assert.throws(() => checkCertificate(st.cert, { ca: foreign.ca }), /not issued by the expected CA/);
});

test('device links: the QR link for each second, a new one every second, same-device links without it', async () => {
  const client = new SidRpClient({ base: 'https://rp.invalid/smart-id', uuid: 'u', name: 'DEMO' });
  const inputs = client.inputsFor('authDeviceLinkAnonymous', { rpChallenge: CHALLENGE, interactions: INTER });
  const s = new RpSession(client, 'authDeviceLinkAnonymous', inputs, { sessionID: crypto.randomUUID(),
    sessionToken: TOKEN, sessionSecret: SECRET, deviceLinkBase: BASE });
  assert.match(s.qrAt(22), /elapsedSeconds=22&/);
  assert.notEqual(s.qrAt(22), s.qrAt(23));
  assert.doesNotMatch(s.sameDeviceLink('App2App'), /elapsedSeconds/);
  const seen = [];
  const t0 = Date.now();
  for await (const q of s.qrLinks({ count: 3 })) seen.push(q);
  assert.ok(Date.now() - t0 >= 1900, 'three links take two seconds');
  assert.deepEqual(seen.map((q) => q.second), [0, 1, 2]);
  assert.equal(new Set(seen.map((q) => q.link)).size, 3);
  for (const q of seen) assert.equal(q.link, s.qrAt(q.second));
});
