// webeid.mjs — a software Web eID: the token the browser extension returns
// (format web-eid:1.0), signed with node's crypto by a virtual card's key
// exactly as the Web eID app has the card sign: the algorithm's hash of
// H(origin) || H(challenge), ECDSA as raw r || s (IEEE P1363), RSA-PSS with
// a salt as long as the hash. And the portal side of a Web eID login: the
// eID page's challenge, the token's POST, and the way back to the RP.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as oidc from 'openid-client';
import { answerConsent, Agent } from './harness.mjs';
import { RP_CB, authRequest } from './flows.mjs';
import { decodeEntities, p12Part } from './eid.mjs';

export const APP_VERSION = 'https://web-eid.eu/web-eid-app/releases/2.5.0+0';

// The card's authentication (or signing, which = 'Signature') key and
// certificate from its PKCS#12: { key (KeyObject), certPem, der }.
export async function cardKey(card, dir, which = 'Authentication') {
  const part = await p12Part(card.p12, dir, which);
  return keyFiles(part.cert, part.key);
}

// The same from a certificate and key in PEM files (opensslCard's).
export function keyFiles(certFile, keyFile) {
  const certPem = readFileSync(certFile, 'utf8');
  const der = new crypto.X509Certificate(certPem).raw;
  return { key: crypto.createPrivateKey(readFileSync(keyFile)), certPem, der };
}

// The algorithm the Web eID app picks for a key: ES256/ES384/ES512 by the
// curve, RS256 for RSA.
export function algorithmFor(key) {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  const curve = key.asymmetricKeyDetails.namedCurve;
  return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[curve];
}

// H(origin) || H(nonce) with the algorithm's hash: what the card signs.
export function signedData(algorithm, origin, nonce) {
  const h = `sha${algorithm.slice(2)}`;
  return Buffer.concat([
    crypto.createHash(h).update(origin, 'utf8').digest(),
    crypto.createHash(h).update(nonce, 'utf8').digest(),
  ]);
}

// The token. opts: algorithm (the one to claim), signAs (the one to sign
// with, default the claimed one), origin, nonce, and overrides of fields.
export function makeToken(card, { origin, nonce, algorithm = algorithmFor(card.key), signAs = algorithm, ...fields }) {
  const hash = `sha${signAs.slice(2)}`;
  const data = signedData(signAs, origin, nonce);
  let signature;
  if (signAs.startsWith('ES')) signature = crypto.sign(hash, data, { key: card.key, dsaEncoding: 'ieee-p1363' });
  else if (signAs.startsWith('PS')) {
    signature = crypto.sign(hash, data, {
      key: card.key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    });
  } else signature = crypto.sign(hash, data, card.key);
  return {
    unverifiedCertificate: card.der.toString('base64'), algorithm, signature: signature.toString('base64'),
    format: 'web-eid:1.0', appVersion: APP_VERSION, ...fields,
  };
}

// From the RP's request to the eID page's Web eID section: { req, csrf,
// agent, keyPage, ...the authorization request }.
export async function toWebeid(server, config, { agent = new Agent(), params = {} } = {}) {
  const r = await authRequest(config, { scope: 'openid profile eid', ...params });
  let res = await agent.get(r.url.href);
  assert.equal(res.status, 303, `authorize answered ${res.status}`);
  const login = new URL(res.headers.get('location'), server.base);
  const req = login.searchParams.get('req');
  res = await agent.get(new URL(`/key/eid?req=${req}&lang=nl`, server.base).href);
  assert.equal(res.status, 200, '/key/eid page');
  const keyPage = await res.text();
  const box = keyPage.match(/<section class="webeid" id="webeid" data-req="([^"]*)" data-csrf="([^"]*)"/);
  assert.ok(box, 'the eID page offers Web eID');
  assert.equal(box[1], req);
  return { ...r, req, csrf: decodeEntities(box[2]), agent, keyPage };
}

// POST the challenge request: { status, json }.
export async function challenge(server, flow, { csrf = flow.csrf, agent = flow.agent } = {}) {
  const res = await agent.post(new URL('/login/eid/webeid/challenge', server.base).href, { req: flow.req, csrf });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

// POST a token (an object, or raw text) answering `nonce`: { status, json }.
export async function postToken(server, flow, token, nonce, { csrf = flow.csrf, agent = flow.agent } = {}) {
  const text = typeof token === 'string' ? token : JSON.stringify(token);
  const res = await agent.post(new URL('/login/eid/webeid', server.base).href,
    { req: flow.req, csrf, challenge: nonce, token: text });
  const body = await res.text();
  let json;
  try { json = JSON.parse(body); } catch { assert.fail(`not JSON (${res.status}): ${body.slice(0, 200)}`); }
  assert.match(res.headers.get('content-type') || '', /^application\/json/);
  return { status: res.status, json };
}

// The whole login: challenge, token signed by `card` over the portal's
// origin, the way back, consent, the code grant. Returns { claims,
// userinfo, flow, token }. opts: token(nonce) to make another token.
export async function webeidCodeFlow(server, rp, card, opts = {}) {
  const flow = await toWebeid(server, rp.config, opts);
  const ch = await challenge(server, flow);
  assert.equal(ch.status, 200, JSON.stringify(ch.json));
  const token = makeToken(card, { origin: server.base, nonce: ch.json.challengeNonce });
  const res = await postToken(server, flow, token, ch.json.challengeNonce);
  assert.equal(res.status, 200, `token refused: ${JSON.stringify(res.json)}`);
  const ret = new URL(res.json.redirect);
  assert.equal(ret.origin + ret.pathname, `${server.base}/login/eid/return`);
  const back303 = await flow.agent.get(ret.href);
  assert.equal(back303.status, 303, `/login/eid/return answered ${back303.status}`);
  const back = await answerConsent(server, flow.agent, back303.headers.get('location'), opts.consent);
  assert.equal(back.origin + back.pathname, RP_CB);
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce,
  });
  const claims = tokens.claims();
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  return { claims, userinfo, flow, token };
}
