// sidrp-device.test.mjs — the person's side of Smart-ID RP API v3
// sessions: an RP (plain fetch, the published request shapes) starts a
// session, the test phone (lib/smartid.mjs: ACSP_V2 payload, userChallenge
// and partial signatures computed in JS from the published rules) claims
// links and answers, and the RP checks what the session status says.
//
// Asserted: notification authentication end to end (the code the phone
// is shown is the rpChallenge's 7180-rule code; the result's signature
// verifies with node:crypto against the returned certificate over the
// ACSP_V2 payload the RP rebuilds; a long-poll wakes when the phone
// answers, well before timeoutMs); anonymous device-link authentication
// through a QR link (a forged authCode 401, a stale elapsedSeconds 410,
// the claim, a second claim 409, two claims at once, hidden from other
// devices, another person's etsi session 403); a Web2App link (the
// callback in the authCode and the payload, the secret digest); the
// device link page in four languages; v2 authentication; signing with
// PIN2 (RAW_DIGEST_SIGNATURE, PSS and PKCS#1, verified with `openssl
// pkeyutl -verify` against the signing certificate); certificate choice; every refusal reason and
// its endResult; an app that supports none of the interactions; a bad
// userChallenge or an interaction not offered charges nothing; a wrong
// PIN then the right one; a lock (also under a certificate choice) and a
// removed device end the session DOCUMENT_UNUSABLE; a document-number
// session is only its device's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import { rrn } from './lib/eid.mjs';
import { registerSmartId } from './lib/smartid.mjs';

const ALICE = { given: 'Alice', family: 'Peeters', rrn: rrn('850730', 111) };
const BOB = { given: 'Bob', family: 'Janssens', rrn: rrn('900101', 213) };
const CAROL = { given: 'Carol', family: 'Maes', rrn: rrn('920202', 315) };
const DAVE = { given: 'Dave', family: 'Claes', rrn: rrn('880808', 417) };
const RP_UUID = '00000000-0000-4000-8000-0000000000a1';
const RP_NAME = 'Bank Één';
const SKEW = 5;

let server;
const phones = {};

const sql = (q) => dbSql(server, q);
const b64 = (buf) => Buffer.from(buf).toString('base64');
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const sha256 = (d) => crypto.createHash('sha256').update(d).digest();
const MD = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const HLEN = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

// The published verification-code rule over the decoded rpChallenge.
function vcOf(bytes) {
  const h = sha256(bytes);
  return String(h.readUInt16BE(30) % 10000).padStart(4, '0');
}
const interactions = (list) => b64(Buffer.from(JSON.stringify(list), 'utf8'));
const PIN_TEXT = { type: 'displayTextAndPIN', displayText60: 'Log in to Bank Één' };

before(async () => {
  server = await startServer({
    demo: true,
    config: {
      smartid: { key_bits: 1024, rp_api: true, rp_link_skew: SKEW, max_pending: 10 },
      app: { rate_phone: 1000, rate_ip: 1000, rate_rp: 1000 },
    },
  });
  sql(`INSERT INTO sid_rps (uuid, name, permissions, status, created) VALUES ('${RP_UUID}', '${RP_NAME}',
    'auth sign cert v2', 'active', ${Math.floor(Date.now() / 1000)})`);
  phones.alice = await registerSmartId(server, ALICE, { deviceName: 'Alice phone' });
  phones.alice2 = await registerSmartId(server, ALICE, { deviceName: 'Alice tablet' });
  phones.bob = await registerSmartId(server, BOB);
  phones.carol = await registerSmartId(server, CAROL);
  phones.dave = await registerSmartId(server, DAVE);
});

after(async () => { if (process.env.KEEP_LOG) writeFileSync(process.env.KEEP_LOG, server.log()); await server?.stop(); });

// ---- the RP ----

async function rpCall(method, p, body) {
  const res = await fetch(`${server.base}/smart-id/v3/${p}`, {
    method, headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: res.status, body: parsed };
}

const rpBase = () => ({ relyingPartyUUID: RP_UUID, relyingPartyName: RP_NAME });

// Start an authentication (notification or device-link) session.
async function startAuth(p, { inter = [PIN_TEXT], hashAlgorithm = 'SHA-512', extra = {} } = {}) {
  const rpChallenge = b64(crypto.randomBytes(64));
  const inters = interactions(inter);
  const body = {
    ...rpBase(), signatureProtocol: 'ACSP_V2',
    signatureProtocolParameters: { rpChallenge, signatureAlgorithm: 'rsassa-pss',
      signatureAlgorithmParameters: { hashAlgorithm } },
    interactions: inters, ...extra,
  };
  if (p.includes('notification')) body.vcType = 'numeric4';
  const r = await rpCall('POST', p, body);
  assert.equal(r.status, 200, `POST ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return { ...r.body, rpChallenge, interactions: inters, hashAlgorithm, receivedAt: Date.now() };
}

// Start a signing session over `data`.
async function startSign(p, data, { hashAlgorithm = 'SHA-256', signatureAlgorithm = 'rsassa-pss',
  inter = [{ type: 'confirmationMessage', displayText200: 'Sign the loan contract' }] } = {}) {
  const digest = b64(crypto.createHash(MD[hashAlgorithm]).update(data).digest());
  const r = await rpCall('POST', p, {
    ...rpBase(), signatureProtocol: 'RAW_DIGEST_SIGNATURE',
    signatureProtocolParameters: { digest, signatureAlgorithm, signatureAlgorithmParameters: { hashAlgorithm } },
    interactions: interactions(inter),
  });
  assert.equal(r.status, 200, `POST ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return { ...r.body, digest, hashAlgorithm };
}

async function sessionStatus(id, timeoutMs = 1000) {
  const r = await rpCall('GET', `session/${id}?timeoutMs=${timeoutMs}`);
  assert.equal(r.status, 200, `GET session: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// The session once complete (long-polls).
async function complete(id) {
  for (let i = 0; i < 10; i++) {
    const st = await sessionStatus(id, 5000);
    if (st.state === 'COMPLETE') return st;
  }
  throw new Error(`session ${id} never completed`);
}

// The RP's own ACSP_V2 payload (RP API docs "ACSP_V2 signature protocol").
function rpPayload(s, st, flowType, callback = '') {
  return ['smart-id', 'ACSP_V2', st.signature.serverRandom, s.rpChallenge, st.signature.userChallenge,
    b64(Buffer.from(RP_NAME, 'utf8')), '', b64(sha256(Buffer.from(s.interactions, 'utf8'))),
    st.interactionTypeUsed, callback, flowType].join('|');
}

function verifyAcsp(s, st, flowType) {
  const cert = new crypto.X509Certificate(Buffer.from(st.cert.value, 'base64'));
  assert.equal(st.signature.signatureAlgorithm, 'rsassa-pss');
  const p = st.signature.signatureAlgorithmParameters;
  assert.deepEqual(p, { hashAlgorithm: s.hashAlgorithm, maskGenAlgorithm: { algorithm: 'id-mgf1',
    parameters: { hashAlgorithm: s.hashAlgorithm } }, saltLength: HLEN[s.hashAlgorithm], trailerField: '0xbc' });
  assert.ok(/^[A-Za-z0-9+/]+={0,2}$/.test(st.signature.value), 'the signature is standard Base64');
  assert.ok(crypto.verify(MD[s.hashAlgorithm], Buffer.from(rpPayload(s, st, flowType), 'utf8'),
    { key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: HLEN[s.hashAlgorithm] },
    Buffer.from(st.signature.value, 'base64')), 'the ACSP_V2 signature verifies over the rebuilt payload');
  return cert;
}

// The request of session `s` on `phone`'s channel.
async function requestOn(phone, pred = () => true) {
  const r = await phone.requests();
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.requests.find((x) => x.rp_api && pred(x));
}

// The device link of a device-link session: QR at `elapsed` seconds.
function qrLink(s, type, { elapsed, authCode, sessionType = 'auth', proto = 'ACSP_V2', challenge } = {}) {
  const e = elapsed === undefined ? Math.floor((Date.now() - s.receivedAt) / 1000) : elapsed;
  const unprotected = `${s.deviceLinkBase}?deviceLinkType=QR&elapsedSeconds=${e}&sessionToken=${s.sessionToken}` +
    `&sessionType=${sessionType}&version=1.0&lang=eng`;
  const payload = ['smart-id', proto, challenge ?? s.rpChallenge, b64(Buffer.from(RP_NAME, 'utf8')), '',
    s.interactions ?? '', '', unprotected].join('|');
  const code = authCode || b64u(crypto.createHmac('sha256', Buffer.from(s.sessionSecret, 'base64'))
    .update(payload, 'utf8').digest());
  return `${unprotected}&authCode=${code}`;
}

const keyFailures = async (phone, use) => (await phone.status()).body.keys[use].failures;

// ---- notification authentication ----

test('notification authentication: the code, the answer, a long-poll woken, a signature over the payload', async () => {
  const s = await startAuth(`authentication/notification/etsi/PNOBE-${ALICE.rrn}`);
  assert.ok(s.sessionID);
  const rq = await requestOn(phones.alice, (x) => x.rp_api.rp_challenge === s.rpChallenge);
  assert.ok(rq, 'the phone sees the request');
  assert.equal(rq.verification_code, vcOf(Buffer.from(s.rpChallenge, 'base64')), 'the 7180-rule code');
  assert.equal(rq.action, 'login');
  assert.equal(rq.key, 'auth');
  assert.equal(rq.display_text, PIN_TEXT.displayText60);
  assert.equal(rq.hash, undefined, 'ACSP_V2 has no hash: the phone builds the payload');
  assert.equal(rq.rp_api.flow_type, 'Notification');
  assert.equal(rq.rp_api.interactions, s.interactions, 'interactions exactly as sent');
  assert.equal(rq.rp_api.rp_name, RP_NAME);
  assert.equal(rq.bind, undefined);
  // The second device of the same person sees it too.
  assert.ok(await requestOn(phones.alice2, (x) => x.id === rq.id));

  const t0 = Date.now();
  const poll = rpCall('GET', `session/${s.sessionID}?timeoutMs=30000`);
  await new Promise((r) => setTimeout(r, 300));
  const a = await phones.alice.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const woke = await poll;
  assert.ok(Date.now() - t0 < 10000, `the long-poll woke after ${Date.now() - t0} ms`);
  assert.equal(woke.body.state, 'COMPLETE');
  const st = woke.body;
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.result.documentNumber, phones.alice.document);
  assert.equal(st.signatureProtocol, 'ACSP_V2');
  assert.equal(st.signature.flowType, 'Notification');
  assert.equal(st.signature.userChallenge, a.userChallenge);
  assert.equal(st.interactionTypeUsed, 'displayTextAndPIN');
  assert.equal(st.cert.certificateLevel, 'QUALIFIED');
  const cert = verifyAcsp(s, st, 'Notification');
  assert.ok(cert.publicKey.equals(new crypto.X509Certificate(phones.alice.certificates.auth).publicKey),
    'the auth certificate of the device that answered');
  // Answered: the other device cannot answer again.
  const again = await phones.alice2.answerRp(rq);
  assert.equal(again.status, 409);
});

// ---- device links ----

test('anonymous QR device link: forged 401, stale 410, claimed, a second claim 409, answered', async () => {
  const s = await startAuth('authentication/device-link/anonymous');
  assert.ok(s.sessionToken && s.sessionSecret && s.deviceLinkBase);
  assert.equal(s.deviceLinkBase, `${server.base}/smart-id/device-link`);

  // A device sees nothing before it claims.
  assert.equal(await requestOn(phones.bob, (x) => x.rp_api.rp_challenge === s.rpChallenge), undefined);

  const forged = await phones.alice.claimLink(qrLink(s, 'QR', { authCode: b64u(crypto.randomBytes(32)) }));
  assert.equal(forged.status, 401);
  assert.equal(forged.body.error, 'bad_auth_code');
  // A link whose challenge differs from the session's: its authCode is wrong.
  const other = await phones.alice.claimLink(qrLink(s, 'QR', { challenge: b64(crypto.randomBytes(64)) }));
  assert.equal(other.status, 401);

  const stale = await phones.alice.claimLink(qrLink(s, 'QR', { elapsed: 60 }));
  assert.equal(stale.status, 410);
  assert.equal(stale.body.error, 'link_expired');

  const wrongType = await phones.alice.claimLink(qrLink(s, 'QR', { sessionType: 'sign' }));
  assert.equal(wrongType.status, 400, 'a link drawn for another session type');
  assert.equal(wrongType.body.error, 'invalid_link');

  const bad = await phones.alice.claimLink('https://evil.example/device-link?deviceLinkType=QR');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_link');

  const claim = await phones.alice.claimLink(qrLink(s, 'QR'));
  assert.equal(claim.status, 200, JSON.stringify(claim.body));
  const rq = claim.body.request;
  assert.equal(rq.rp_api.flow_type, 'QR');
  assert.equal(rq.verification_code, null, 'a device link shows no code');

  const second = await phones.bob.claimLink(qrLink(s, 'QR'));
  assert.equal(second.status, 409);
  assert.equal(second.body.error, 'already_claimed');
  // Only the claiming device sees and answers it.
  assert.equal(await requestOn(phones.alice2, (x) => x.id === rq.id), undefined);
  const wrongDevice = await phones.alice2.answerRp(rq);
  assert.equal(wrongDevice.status, 404);

  const a = await phones.alice.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const st = await complete(s.sessionID);
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.result.documentNumber, phones.alice.document);
  verifyAcsp(s, st, 'QR');
});

test('two devices claiming one link at once: one wins, the other gets 409, one request only', async () => {
  const s = await startAuth('authentication/device-link/anonymous');
  const link = qrLink(s, 'QR');
  const answers = await Promise.all([phones.carol.claimLink(link), phones.bob.claimLink(link)]);
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], JSON.stringify(answers.map((a) => a.body)));
  const winner = answers.find((a) => a.status === 200).body.request;
  const loser = answers[0].status === 200 ? phones.bob : phones.carol;
  assert.equal(await requestOn(loser, (x) => x.rp_api.rp_challenge === s.rpChallenge), undefined);
  const won = answers[0].status === 200 ? phones.carol : phones.bob;
  assert.equal((await won.answerRp(winner, { refuse: 'refused' })).status, 200);
  assert.equal((await complete(s.sessionID)).result.endResult, 'USER_REFUSED');
});

test("a device-link session for another person's national number is 403", async () => {
  const s = await startAuth(`authentication/device-link/etsi/PNOBE-${ALICE.rrn}`);
  const r = await phones.bob.claimLink(qrLink(s, 'QR'));
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'not_for_this_device');
  const ok = await phones.alice2.claimLink(qrLink(s, 'QR'));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
});

test('the device link page tells a phone without the app what to do', async () => {
  for (const [lang, two, text] of [['nld', 'nl', 'Smart-ID registreren'], ['fra', 'fr', 'Enregistrer Smart-ID'],
    ['deu', 'de', 'Smart-ID registrieren'], ['eng', 'en', 'Register Smart-ID']]) {
    const res = await fetch(`${server.base}/smart-id/device-link?deviceLinkType=QR&lang=${lang}`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes(`<html lang="${two}">`), `${lang}: the page is in ${two}`);
    assert.ok(html.includes(text), `${lang}: ${html.slice(-1500)}`);
  }
});

test('a Web2App device link: the callback URL in the payload, the session secret digest for the callback', async () => {
  const initialCallbackUrl = 'https://rp.example/callback?state=abc';
  const s = await startAuth('authentication/device-link/anonymous', { extra: { initialCallbackUrl } });
  const unprotected = `${s.deviceLinkBase}?deviceLinkType=Web2App&sessionToken=${s.sessionToken}` +
    '&sessionType=auth&version=1.0&lang=nld';
  const payload = ['smart-id', 'ACSP_V2', s.rpChallenge, b64(Buffer.from(RP_NAME, 'utf8')), '', s.interactions,
    initialCallbackUrl, unprotected].join('|');
  const code = b64u(crypto.createHmac('sha256', Buffer.from(s.sessionSecret, 'base64')).update(payload).digest());
  // The same link without the callback in its authCode (as for QR) is forged.
  const noCb = b64u(crypto.createHmac('sha256', Buffer.from(s.sessionSecret, 'base64'))
    .update(payload.replace(`|${initialCallbackUrl}|`, '||')).digest());
  assert.equal((await phones.bob.claimLink(`${unprotected}&authCode=${noCb}`)).status, 401);
  const claim = await phones.bob.claimLink(`${unprotected}&authCode=${code}`);
  assert.equal(claim.status, 200, JSON.stringify(claim.body));
  const rq = claim.body.request;
  assert.equal(rq.rp_api.flow_type, 'Web2App');
  assert.equal(rq.rp_api.initial_callback_url, initialCallbackUrl);
  assert.equal(rq.rp_api.session_secret_digest, b64u(sha256(Buffer.from(s.sessionSecret, 'base64'))));
  const a = await phones.bob.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const st = await complete(s.sessionID);
  assert.equal(st.signature.flowType, 'Web2App');
  const cert = new crypto.X509Certificate(Buffer.from(st.cert.value, 'base64'));
  assert.ok(crypto.verify('sha512', Buffer.from(rpPayload(s, st, 'Web2App', initialCallbackUrl), 'utf8'),
    { key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 },
    Buffer.from(st.signature.value, 'base64')), 'the payload carries the callback URL');
});

// ---- signing with PIN2 ----

function opensslVerify(certB64, digestB64, sigB64, hashAlgorithm, pss) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sidrp-sig-'));
  try {
    const pem = `-----BEGIN CERTIFICATE-----\n${certB64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(path.join(dir, 'cert.pem'), pem);
    writeFileSync(path.join(dir, 'digest'), Buffer.from(digestB64, 'base64'));
    writeFileSync(path.join(dir, 'sig'), Buffer.from(sigB64, 'base64'));
    const opts = ['-pkeyopt', `digest:${MD[hashAlgorithm]}`];
    if (pss) opts.push('-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', `rsa_pss_saltlen:${HLEN[hashAlgorithm]}`);
    return execFileSync('openssl', ['pkeyutl', '-verify', '-certin', '-inkey', path.join(dir, 'cert.pem'),
      '-in', path.join(dir, 'digest'), '-sigfile', path.join(dir, 'sig'), ...opts],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [alg, pss] of [['rsassa-pss', true], ['sha512WithRSAEncryption', false]]) {
  test(`signing with PIN2 (${alg}): verified with openssl against the signing certificate`, async () => {
    const hashAlgorithm = pss ? 'SHA-256' : 'SHA-512';
    const s = await startSign(`signature/notification/etsi/PNOBE-${BOB.rrn}`, `contract ${alg}`,
      { hashAlgorithm, signatureAlgorithm: alg });
    assert.match(s.vc.value, /^\d{4}$/);
    const rq = await requestOn(phones.bob, (x) => x.rp_api.session_type === 'sign' && x.hash ===
      b64u(Buffer.from(s.digest, 'base64')));
    assert.ok(rq, 'the phone has the signing request');
    assert.equal(rq.key, 'sign');
    assert.equal(rq.action, 'sign');
    assert.equal(rq.verification_code, s.vc.value, 'the code the RP shows');
    assert.equal(rq.padding, pss ? 'pss' : 'pkcs1');
    const a = await phones.bob.answerRp(rq);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const st = await complete(s.sessionID);
    assert.equal(st.result.endResult, 'OK');
    assert.equal(st.signatureProtocol, 'RAW_DIGEST_SIGNATURE');
    assert.equal(st.signature.signatureAlgorithm, alg);
    assert.ok(new crypto.X509Certificate(Buffer.from(st.cert.value, 'base64')).publicKey
      .equals(new crypto.X509Certificate(phones.bob.certificates.sign).publicKey), 'the signing certificate');
    const out = opensslVerify(st.cert.value, s.digest, st.signature.value, hashAlgorithm, pss);
    assert.match(out, /Signature Verified Successfully/);
    // Tampered: openssl refuses.
    const other = b64(crypto.createHash(MD[hashAlgorithm]).update('other').digest());
    assert.throws(() => opensslVerify(st.cert.value, other, st.signature.value, hashAlgorithm, pss));
  });
}

test('certificate choice: confirmed without a PIN, the signing certificate returned', async () => {
  const r = await rpCall('POST', `signature/certificate-choice/notification/etsi/PNOBE-${BOB.rrn}`, rpBase());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rq = await requestOn(phones.bob, (x) => x.action === 'cert');
  assert.ok(rq);
  assert.equal(rq.key, 'sign');
  assert.equal(rq.hash, undefined);
  const a = await phones.bob.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const st = await complete(r.body.sessionID);
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.result.documentNumber, phones.bob.document);
  assert.equal(st.signatureProtocol, undefined);
  assert.equal(st.cert.value, phones.bob.certificates.sign.replace(/-----[^-]+-----|\s/g, ''));
});

test('v2 authentication: the hash signed as it is (PKCS#1), the v2 code, the v2 status', async () => {
  const hash = crypto.createHash('sha512').update('v2 login').digest();
  const res = await fetch(`${server.base}/smart-id/v2/authentication/etsi/PNOBE-${BOB.rrn}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...rpBase(), hash: b64(hash), hashType: 'SHA512',
      allowedInteractionsOrder: [{ type: 'displayTextAndPIN', displayText60: 'Log in (v2)' }] }),
  });
  const created = await res.json();
  assert.equal(res.status, 200, JSON.stringify(created));
  const rq = await requestOn(phones.bob, (x) => x.rp_api.api === 'v2' && x.hash === b64u(hash));
  assert.ok(rq, 'the v2 request is on the channel');
  assert.equal(rq.padding, 'pkcs1');
  assert.equal(rq.display_text, 'Log in (v2)');
  assert.equal(rq.verification_code, vcOf(hash), 'the v2 code over the hash');
  const a = await phones.bob.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  let st;
  for (let i = 0; i < 10 && st?.state !== 'COMPLETE'; i++) {
    st = await (await fetch(`${server.base}/smart-id/v2/session/${created.sessionID}?timeoutMs=5000`)).json();
  }
  assert.equal(st.result.endResult, 'OK');
  assert.equal(st.signature.algorithm, 'sha512WithRSAEncryption');
  assert.match(opensslVerify(st.cert.value, b64(hash), st.signature.value, 'SHA-512', false), /Verified/);
});

// ---- refusals ----

const REFUSALS = [
  ['refused', 'USER_REFUSED', {}],
  ['wrong_vc', 'WRONG_VC', { vcPick: '0000x' }],
  ['interaction', 'USER_REFUSED_INTERACTION', { refuse: 'interaction' }],
  ['not_supported', 'REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP', { supported: [] }],
];
for (const [reason, end, opts] of REFUSALS) {
  test(`refusal ${reason} ends ${end}`, async () => {
    const s = await startAuth(`authentication/notification/etsi/PNOBE-${CAROL.rrn}`,
      { inter: [{ type: 'confirmationMessageAndVerificationCodeChoice', displayText200: 'Pay 10 EUR' }] });
    const rq = await requestOn(phones.carol, (x) => x.rp_api.rp_challenge === s.rpChallenge);
    const a = await phones.carol.answerRp(rq, reason === 'refused' ? { refuse: 'refused' } : opts);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const st = await complete(s.sessionID);
    assert.equal(st.result.endResult, end);
    if (reason === 'interaction') {
      assert.deepEqual(st.result.details, { interaction: 'confirmationMessageAndVerificationCodeChoice' });
    }
    assert.equal(st.signature, undefined);
  });
}

test('refusing a certificate choice ends USER_REFUSED_CERT_CHOICE', async () => {
  const r = await rpCall('POST', `signature/certificate-choice/notification/etsi/PNOBE-${CAROL.rrn}`, rpBase());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rq = await requestOn(phones.carol, (x) => x.action === 'cert');
  const a = await phones.carol.answerRp(rq, { refuse: 'cert_choice' });
  assert.equal(a.status, 200);
  assert.equal((await complete(r.body.sessionID)).result.endResult, 'USER_REFUSED_CERT_CHOICE');
});

test('an unknown refusal reason is 400 and the session goes on', async () => {
  const s = await startAuth(`authentication/notification/etsi/PNOBE-${CAROL.rrn}`);
  const rq = await requestOn(phones.carol, (x) => x.rp_api.rp_challenge === s.rpChallenge);
  const a = await phones.carol.answerRp(rq, { refuse: 'bored' });
  assert.equal(a.status, 400);
  assert.equal((await sessionStatus(s.sessionID)).state, 'RUNNING');
  assert.equal((await phones.carol.answerRp(rq, { refuse: 'refused' })).status, 200);
});

// ---- answers that charge nothing, PINs, locks, removed devices ----

test('a bad userChallenge or an interaction not offered is 400 and charges nothing', async () => {
  const s = await startAuth(`authentication/notification/etsi/PNOBE-${CAROL.rrn}`);
  const rq = await requestOn(phones.carol, (x) => x.rp_api.rp_challenge === s.rpChallenge);
  const before = await keyFailures(phones.carol, 'auth');
  let a = await phones.carol.answerRp(rq, { wrongPin: true, body: { user_challenge: 'short' } });
  assert.equal(a.status, 400);
  assert.equal(a.body.error, 'invalid_request');
  a = await phones.carol.answerRp(rq, { wrongPin: true, interaction: 'confirmationMessage' });
  assert.equal(a.status, 400);
  assert.equal(a.body.error, 'invalid_request');
  assert.equal(await keyFailures(phones.carol, 'auth'), before, 'no try was charged');
  a = await phones.carol.answerRp(rq);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal((await complete(s.sessionID)).result.endResult, 'OK');
});

test('a wrong PIN, then the right one', async () => {
  const s = await startSign(`signature/notification/etsi/PNOBE-${CAROL.rrn}`, 'wrong then right');
  const rq = await requestOn(phones.carol, (x) => x.hash === b64u(Buffer.from(s.digest, 'base64')));
  const wrong = await phones.carol.answerRp(rq, { wrongPin: true });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'wrong_pin');
  assert.equal((await sessionStatus(s.sessionID)).state, 'RUNNING');
  const right = await phones.carol.answerRp(rq);
  assert.equal(right.status, 200, JSON.stringify(right.body));
  const st = await complete(s.sessionID);
  assert.equal(st.result.endResult, 'OK');
  assert.match(opensslVerify(st.cert.value, s.digest, st.signature.value, 'SHA-256', true), /Verified/);
});

test('a key locked by wrong PINs ends the session DOCUMENT_UNUSABLE', async () => {
  const s = await startSign(`signature/notification/etsi/PNOBE-${DAVE.rrn}`, 'locked');
  const rq = await requestOn(phones.dave, (x) => x.hash === b64u(Buffer.from(s.digest, 'base64')));
  let a;
  for (let i = 0; i < 3; i++) a = await phones.dave.answerRp(rq, { wrongPin: true });
  assert.equal(a.status, 400);
  assert.ok(a.body.locked_until > 0, 'the third wrong PIN locked the key');
  assert.equal((await complete(s.sessionID)).result.endResult, 'DOCUMENT_UNUSABLE');
});

test('a certificate choice on that locked signing key ends DOCUMENT_UNUSABLE', async () => {
  const r = await rpCall('POST', `signature/certificate-choice/notification/etsi/PNOBE-${DAVE.rrn}`, rpBase());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rq = await requestOn(phones.dave, (x) => x.action === 'cert');
  const a = await phones.dave.answerRp(rq);
  assert.equal(a.status, 403);
  assert.equal(a.body.error, 'locked');
  assert.equal((await complete(r.body.sessionID)).result.endResult, 'DOCUMENT_UNUSABLE');
});

test('a device removed while a session waits ends it DOCUMENT_UNUSABLE', async () => {
  const s = await startAuth(`authentication/notification/etsi/PNOBE-${DAVE.rrn}`);
  const rq = await requestOn(phones.dave, (x) => x.rp_api.rp_challenge === s.rpChallenge);
  assert.ok(rq);
  const r = await phones.dave.remove();
  assert.equal(r.status, 200);
  assert.equal((await complete(s.sessionID)).result.endResult, 'DOCUMENT_UNUSABLE');
});

test("a document-number session is only that device's", async () => {
  const s = await startAuth(`authentication/notification/document/${phones.alice.document}`);
  const rq = await requestOn(phones.alice, (x) => x.rp_api.rp_challenge === s.rpChallenge);
  assert.ok(rq);
  assert.equal(await requestOn(phones.alice2, (x) => x.id === rq.id), undefined, 'the other device does not see it');
  assert.equal((await phones.alice2.answerRp(rq)).status, 404);
  assert.equal((await phones.alice.answerRp(rq)).status, 200);
  assert.equal((await complete(s.sessionID)).result.documentNumber, phones.alice.document);
});
