// Web eID login, end to end without a browser: an openid-client RP sends
// the person to the portal, the eID page gives a challenge, a software
// Web eID (lib/webeid.mjs: node crypto with the demo PKI's virtual cards)
// signs it as the extension's app has the card do, the portal checks the
// token and the certificate as the TLS path does, and the RP gets the
// card's identity. Then every refusal: replay, expiry, wrong origin, wrong
// algorithm, bad signature, an untrusted or revoked card, the signing
// certificate, malformed and oversized tokens, another browser; each a
// JSON error with its code and a message in the person's language.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Agent, SLEUTEL, startServer } from './lib/harness.mjs';
import { sqlAsync } from './lib/db.mjs';
import {
  ACR_HIGH, eidRp, issueCard, opensslCard, rrn, run, auditMax, auditSince, eidLoginRecord, assertSession,
  nl, po, tmp,
} from './lib/eid.mjs';
import {
  cardKey, keyFiles, makeToken, signedData, toWebeid, challenge, postToken, webeidCodeFlow,
} from './lib/webeid.mjs';

let server;
let rp;
let dir;
let janCard; // a citizen card (EC P-384) from the demo PKI
let jan; // its authentication key
let rsaCard; // an RSA card's authentication key, made once when first asked for

async function rsaKey() {
  rsaCard ??= cardKey(await issueCard(server.pkiDir, dir,
    { given: 'Pieter-Jan', family: 'De Smet', rrn: rrn('720415', 33, false), rsa: true }), dir);
  return rsaCard;
}

before(async () => {
  server = await startServer({ demo: true });
  rp = await eidRp(server);
  dir = tmp('sleutel-webeid-');
  janCard = await issueCard(server.pkiDir, dir, { name: 'Jan Peeters', rrn: '85073003328' });
  jan = await cardKey(janCard, dir);
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A fresh login at the eID page and a challenge for it.
async function started(opts = {}) {
  const flow = await toWebeid(server, rp.config, opts);
  const ch = await challenge(server, flow);
  assert.equal(ch.status, 200, JSON.stringify(ch.json));
  return { flow, nonce: ch.json.challengeNonce };
}

// A refusal: status, code, the Dutch message (or `lang`'s), and the audit
// record of the eID login it refused.
async function refused(res, status, code, msgid, lang = 'nl') {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.error, code);
  if (msgid) assert.equal(res.json.message, po(lang, msgid));
  assert.equal(res.json.redirect, undefined);
}

const tokenMsg = 'The Web eID answer could not be read.';
const sigMsg = "The card's signature could not be verified. Try again.";
const lateMsg = 'This Web eID login has expired. Try again.';

test('Web eID: a citizen card (ES384) logs in; the RP gets amr eid, LoA high and the identity', async () => {
  const since = await auditMax(server);
  const agent = new Agent();
  const { claims, userinfo, token } = await webeidCodeFlow(server, rp, jan, { agent });
  assert.equal(token.algorithm, 'ES384');
  assert.deepEqual(claims.amr, ['eid']);
  assert.equal(claims.acr, ACR_HIGH);
  assert.equal(userinfo.national_register_number, '85073003328');
  assert.equal(userinfo.given_name, 'Jan');
  assert.equal(userinfo.family_name, 'Peeters');
  assert.equal(userinfo.birthdate, '1985-07-30');
  const rec = eidLoginRecord(await auditSince(server, since));
  assert.equal(rec.result, 'ok');
  assert.equal(rec.client_id, rp.c.client_id);
  await assertSession(server, rp, agent);
});

test('Web eID: an RSA card signs RS256 and PS256', async () => {
  const number = rrn('720415', 33, false);
  const card = await rsaKey();
  const a = await webeidCodeFlow(server, rp, card);
  assert.equal(a.token.algorithm, 'RS256');
  assert.equal(a.userinfo.national_register_number, number);
  assert.equal(a.userinfo.family_name, 'De Smet');
  // PS256 with the same key: the same sub
  const { flow, nonce } = await started();
  const res = await postToken(server, flow, makeToken(card, { origin: server.base, nonce, algorithm: 'PS256' }), nonce);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.match(res.json.redirect, new RegExp(`^${server.base}/login/eid/return\\?req=${flow.req}&r=`));
});

test('the eID page keeps the TLS button first and offers Web eID; challenges are 32 random bytes, no-store', async () => {
  const flow = await toWebeid(server, rp.config);
  const tls = flow.keyPage.indexOf('<a class="button" href="https://');
  const web = flow.keyPage.indexOf('id="webeid"');
  assert.ok(tls > 0 && web > tls, 'the TLS log-in link comes before the Web eID section');
  assert.match(flow.keyPage, /<script src="\/static\/webeid.js" defer><\/script>/);
  assert.ok(flow.keyPage.includes(nl('Log in with Web eID')));
  const js = await fetch(`${server.base}/static/webeid.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.match(await js.text(), /web-eid:authenticate/);
  const a = await challenge(server, flow);
  const b = await challenge(server, flow);
  for (const c of [a, b]) {
    assert.equal(c.status, 200);
    assert.equal(c.headers.get('cache-control'), 'no-store');
    assert.match(c.json.challengeNonce, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(c.json.challengeNonce, 'base64').length, 32);
    assert.equal(c.json.expiresIn, 300);
  }
  assert.notEqual(a.json.challengeNonce, b.json.challengeNonce);
  // only the newest challenge is kept: the first is refused
  const res = await postToken(server, flow, makeToken(jan, { origin: server.base, nonce: a.json.challengeNonce }),
    a.json.challengeNonce);
  await refused(res, 401, 'challenge_invalid', lateMsg);
});

test('refused: a replayed challenge, and one the portal never issued', async () => {
  const { flow, nonce } = await started();
  const good = makeToken(jan, { origin: server.base, nonce });
  // a token for another site spends the challenge all the same
  await refused(await postToken(server, flow, makeToken(jan, { origin: 'https://evil.example', nonce }), nonce),
    401, 'bad_signature', sigMsg);
  await refused(await postToken(server, flow, good, nonce), 401, 'challenge_invalid', lateMsg);
  const made = crypto.randomBytes(32).toString('base64');
  await refused(await postToken(server, flow, makeToken(jan, { origin: server.base, nonce: made }), made),
    401, 'challenge_invalid', lateMsg);
  // a good token for a fresh challenge still logs in on the same request
  const ch = await challenge(server, flow);
  const ok = await postToken(server, flow, makeToken(jan, { origin: server.base, nonce: ch.json.challengeNonce }),
    ch.json.challengeNonce);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  // and the way back is single use too: the token cannot be posted again
  await refused(await postToken(server, flow, good, ch.json.challengeNonce), 401, 'challenge_invalid');
});

test('refused: a challenge answered after its lifetime', async () => {
  const { flow, nonce } = await started();
  // the clock moves past the challenge's lifetime: its expiry in the store
  await sqlAsync(server, `UPDATE auth_requests SET result_expires = 1 WHERE id = '${flow.req}'`);
  const since = await auditMax(server);
  await refused(await postToken(server, flow, makeToken(jan, { origin: server.base, nonce }), nonce),
    401, 'challenge_expired', lateMsg);
  assert.equal(eidLoginRecord(await auditSince(server, since)).result, 'challenge_expired');
});

test('refused: a signature over another origin, or a damaged one', async () => {
  for (const origin of ['https://evil.example', `${server.base}/`, server.base.replace('127.0.0.1', 'localhost')]) {
    const { flow, nonce } = await started();
    await refused(await postToken(server, flow, makeToken(jan, { origin, nonce }), nonce), 401, 'bad_signature', sigMsg);
  }
  const { flow, nonce } = await started();
  const t = makeToken(jan, { origin: server.base, nonce });
  const sig = Buffer.from(t.signature, 'base64');
  sig[10] ^= 1;
  const since = await auditMax(server);
  await refused(await postToken(server, flow, { ...t, signature: sig.toString('base64') }, nonce), 401,
    'bad_signature', sigMsg);
  const rec = eidLoginRecord(await auditSince(server, since));
  assert.equal(rec.result, 'bad_signature');
  assert.match(rec.detail, /^web eid: /);
});

test('refused: an algorithm that does not fit the key, or is not a Web eID one', async () => {
  const cases = [
    [{ algorithm: 'ES256' }, 400, 'algorithm_mismatch'], // P-384 key, P-256 algorithm
    [{ algorithm: 'ES512', signAs: 'ES384' }, 400, 'algorithm_mismatch'],
    [{ algorithm: 'RS256', signAs: 'ES384' }, 400, 'algorithm_mismatch'],
    [{ algorithm: 'PS384', signAs: 'ES384' }, 400, 'algorithm_mismatch'],
    [{ algorithm: 'HS256', signAs: 'ES384' }, 400, 'unsupported_algorithm'],
    [{ algorithm: 'none', signAs: 'ES384' }, 400, 'unsupported_algorithm'],
    [{ algorithm: 'es384', signAs: 'ES384' }, 400, 'unsupported_algorithm'],
  ];
  for (const [opts, status, code] of cases) {
    // a token that names a key's algorithm spends its challenge: a fresh one each
    const { flow, nonce } = await started();
    await refused(await postToken(server, flow, makeToken(jan, { origin: server.base, nonce, ...opts }), nonce),
      status, code, tokenMsg);
  }
  // an RSA key cannot claim ECDSA
  const rsa = await rsaKey();
  const { flow, nonce } = await started();
  const t = makeToken(rsa, { origin: server.base, nonce, algorithm: 'ES256', signAs: 'RS256' });
  await refused(await postToken(server, flow, t, nonce), 400, 'algorithm_mismatch');
});

test('refused: a card of a CA that is not trusted', async () => {
  const rogue = path.join(dir, 'rogue');
  mkdirSync(rogue);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes',
    '-keyout', path.join(rogue, 'citizen-ca.key'), '-out', path.join(rogue, 'citizen-ca.pem'), '-days', '30',
    '-subj', '/C=BE/CN=Citizen CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const hand = await opensslCard(rogue, dir);
  const card = keyFiles(hand.cert, hand.key);
  const { flow, nonce } = await started();
  await refused(await postToken(server, flow, makeToken(card, { origin: server.base, nonce }), nonce), 401,
    'unknown_issuer', 'This card is not recognised');
});

test('refused: a revoked card, an expired card, and the card\'s signing certificate', async () => {
  const issued = await issueCard(server.pkiDir, dir, { name: 'Bart Maes', rrn: rrn('790612', 151, false) });
  await run(SLEUTEL, ['pki', 'revoke', server.pkiDir, issued.auth_serial]);
  const revoked = await cardKey(issued, dir);
  let s = await started();
  await refused(await postToken(server, s.flow, makeToken(revoked, { origin: server.base, nonce: s.nonce }), s.nonce),
    401, 'revoked', 'Your eID card has been revoked');
  const expired = await cardKey(await issueCard(server.pkiDir, dir, { name: 'Lies Wouters', rrn: rrn('880303', 62, false), expired: true }), dir);
  s = await started();
  await refused(await postToken(server, s.flow, makeToken(expired, { origin: server.base, nonce: s.nonce }), s.nonce),
    401, 'expired', 'Your eID card has expired');
  const signing = await cardKey(janCard, dir, 'Signature');
  s = await started();
  const since = await auditMax(server);
  await refused(await postToken(server, s.flow, makeToken(signing, { origin: server.base, nonce: s.nonce }), s.nonce),
    401, 'wrong_key_usage', 'This is not the authentication certificate');
  assert.equal(eidLoginRecord(await auditSince(server, since)).result, 'wrong_key_usage');
});

test('refused: malformed and oversized tokens, each a JSON 400 or 413 that spends no challenge', async () => {
  const { flow, nonce } = await started();
  const t = makeToken(jan, { origin: server.base, nonce });
  const { unverifiedCertificate, ...noCert } = t;
  const cases = [
    ['', 400, 'malformed_token'],
    ['not json', 400, 'malformed_token'],
    ['[]', 400, 'malformed_token'],
    [JSON.stringify(noCert), 400, 'malformed_token'],
    [{ ...t, signature: '' }, 400, 'malformed_token'],
    [{ ...t, signature: 42 }, 400, 'malformed_token'],
    [{ ...t, appVersion: undefined }, 400, 'malformed_token'],
    [{ ...t, signature: '!!!not base64!!!' }, 400, 'malformed_token'],
    [{ ...t, format: 'web-eid:2.0' }, 400, 'unsupported_format'],
    [{ ...t, format: 'web-eid:1.x' }, 400, 'unsupported_format'],
    [{ ...t, unverifiedSigningCertificates: [] }, 400, 'malformed_token'],
    [`{"format":"web-eid:1.0","format":"web-eid:1.0"}`, 400, 'malformed_token'],
    [JSON.stringify({ ...t, appVersion: 'x'.repeat(12300) }), 413, 'token_too_large'],
  ];
  for (const [token, status, code] of cases) {
    const res = await postToken(server, flow, token, nonce);
    await refused(res, status, code, tokenMsg);
  }
  // none of them spent the challenge: what is not a token answers nothing
  const ok = await postToken(server, flow, t, nonce);
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  // a token whose certificate is not one
  const s = await started();
  const bad = { ...makeToken(jan, { origin: server.base, nonce: s.nonce }),
    unverifiedCertificate: Buffer.from('not a certificate').toString('base64') };
  await refused(await postToken(server, s.flow, bad, s.nonce), 400, 'bad_certificate', tokenMsg);
  const health = await fetch(`${server.base}/healthz`);
  assert.equal(health.status, 200);
});

test('refused: another browser (no binding cookie), a wrong CSRF token, in the person\'s language', async () => {
  const { flow, nonce } = await started({ params: { ui_locales: 'fr' } });
  const t = makeToken(jan, { origin: server.base, nonce });
  let res = await postToken(server, flow, t, nonce, { agent: new Agent() });
  await refused(res, 404, 'request_expired');
  res = await postToken(server, flow, t, nonce, { csrf: 'x'.repeat(43) });
  await refused(res, 403, 'form_expired', 'This form has expired', 'fr');
  const ch = await challenge(server, flow, { agent: new Agent() });
  assert.equal(ch.status, 404);
  assert.equal(ch.json.error, 'request_expired');
  // a French page gets French messages
  res = await postToken(server, flow, { ...t, algorithm: 'HS256' }, nonce);
  await refused(res, 400, 'unsupported_algorithm', tokenMsg, 'fr');
  assert.notEqual(res.json.message, tokenMsg);
  // the challenge was not spent by any of these
  res = await postToken(server, flow, t, nonce);
  assert.equal(res.status, 200, JSON.stringify(res.json));
});

test('the signed data is H(origin) || H(challenge) with the algorithm\'s hash', () => {
  const d = signedData('ES384', 'https://example.org', 'abc');
  assert.equal(d.length, 96);
  assert.deepEqual(d.subarray(0, 48), crypto.createHash('sha384').update('https://example.org').digest());
  assert.equal(signedData('RS256', 'o', 'n').length, 64);
});
