// fapi2-dpop.test.mjs — the OpenID fapi2-security-profile-final plan,
// part 2: DPoP (RFC 9449).  Proof time windows, code binding by dpop_jkt
// and by a proof at /par, key changes between PAR and token, refused
// proofs, server nonces (required, refreshed after
// [oidc] dpop_nonce_lifetime), bound refresh tokens, and DPoP for a
// client of the default profile.  Each plan module is a test named after
// it (tests/conformance.md).  One server, with [oidc] dpop_nonce_lifetime
// = 5 (the configuration's smallest) so that nonces go stale in seconds,
// and dpop_proof_window = 30.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startServer } from './lib/harness.mjs';
import { sleep } from './lib/flows.mjs';
import {
  fapiClient, dpopKey, fapiCode, fapiFlow, proof, rawPost, serverNonce, redeem, userinfo,
} from './lib/fapi2.mjs';

let server;
let dir;
const NONCE_LIFETIME = 5;
const WINDOW = 30;
const now = () => Math.floor(Date.now() / 1000);

let early; // a code and a nonce got in before(), so that the nonce goes stale while the other tests run

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-dpop-'));
  server = await startServer({ config: { oidc: { dpop_nonce_lifetime: NONCE_LIFETIME, dpop_proof_window: WINDOW } } });
  const key = await dpopKey();
  const { fc, code } = await boundCode();
  early = { key, fc, code, nonce: await serverNonce(server, fc, key) };
  early.slot = Math.floor(Date.now() / 1000 / NONCE_LIFETIME);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await server?.stop();
});

// A code of a fresh fapi2 client, pushed with a proof of `parKey` (or a
// dpop_jkt parameter `jkt`, or neither), not yet redeemed.
async function boundCode({ parKey, jkt, profile } = {}) {
  const fc = await fapiClient(server, dir, { profile });
  const dpop = parKey ? oidc.getDPoPHandle(fc.config, parKey) : undefined;
  const code = await fapiCode(server, fc.config, { dpop, extra: jkt ? { dpop_jkt: jkt } : {} });
  return { fc, code };
}

// Redeem with a hand-made proof of `key` (fetching a nonce first).
async function redeemWith(fc, code, key, proofOpts = {}) {
  const nonce = await serverNonce(server, fc, key);
  return redeem(server, fc, code, { key, nonce, proofOpts });
}

test('fapi2-security-profile-final-check-dpop-proof-nbf-exp', async () => {
  const key = await dpopKey();
  const { fc, code } = await boundCode();
  // nbf now and exp five minutes on, as the suite sends them: accepted
  const r = await redeemWith(fc, code, key, { claims: { nbf: now(), exp: now() + 300 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'DPoP');
  // an exp already past, or an nbf beyond the window, is refused
  for (const claims of [{ exp: now() - 1 }, { nbf: now() + WINDOW + 30 }, { exp: 'soon' }]) {
    const c2 = await boundCode();
    const bad = await redeemWith(c2.fc, c2.code, key, { claims });
    assert.equal(bad.status, 400, JSON.stringify(claims));
    assert.equal(bad.body.error, 'invalid_dpop_proof');
  }
});

for (const [mod, delta] of [['before', -10], ['after', 10]]) {
  test(`fapi2-security-profile-final-ensure-dpopproof-with-iat-10seconds-${mod}-succeeds`, async () => {
    const key = await dpopKey();
    const { fc, code } = await boundCode();
    const r = await redeemWith(fc, code, key, { claims: { iat: now() + delta } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // just outside [oidc] dpop_proof_window it is refused
    const c2 = await boundCode();
    const bad = await redeemWith(c2.fc, c2.code, key, { claims: { iat: now() + Math.sign(delta) * (WINDOW + 5) } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error_description, /iat/);
  });
}

test('fapi2-security-profile-final-ensure-mismatched-dpop-jkt-fails', async () => {
  // a proof at /par and a dpop_jkt of another key: the push is refused
  const a = await dpopKey();
  const b = await dpopKey();
  const fc = await fapiClient(server, dir);
  const nonce = await serverNonce(server, fc, a);
  const { params } = await (await import('./lib/fapi2.mjs')).fapiParams({ dpop_jkt: b.jkt });
  const r = await rawPost(server, fc, '/par', params, { dpop: await proof(a, 'POST', `${server.issuer}/par`, { nonce }) });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_dpop_proof');
  // and a malformed dpop_jkt alone
  const bad = await rawPost(server, fc, '/par', { ...params, dpop_jkt: 'not-a-thumbprint' });
  assert.equal(bad.status, 400);
});

test('fapi2-security-profile-final-ensure-token-endpoint-fails-with-mismatched-dpop-proof-jkt', async () => {
  // the code is bound by the proof at /par to key a; the token request signs with b
  const a = await dpopKey();
  const b = await dpopKey();
  const { fc, code } = await boundCode({ parKey: a });
  const r = await redeemWith(fc, code, b);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  assert.match(r.body.error_description, /dpop_jkt/);
  // a refused redemption uses the code up: a stolen code tried with the
  // wrong key is gone, even for the right one
  const again = await redeemWith(fc, code, a);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  // with the right key from the start it works
  const good = await boundCode({ parKey: a });
  assert.equal((await redeemWith(good.fc, good.code, a)).status, 200);
});

test('fapi2-security-profile-final-ensure-token-endpoint-fails-with-mismatched-dpop-jkt', async () => {
  // the code is bound by a dpop_jkt parameter (no proof at /par) to key a
  const a = await dpopKey();
  const b = await dpopKey();
  const { fc, code } = await boundCode({ jkt: a.jkt });
  const r = await redeemWith(fc, code, b);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  const good = await boundCode({ jkt: a.jkt });
  assert.equal((await redeemWith(good.fc, good.code, a)).status, 200);
});

test('fapi2-security-profile-final-ensure-dpopproof-at-par-endpoint-binding-success', async () => {
  const key = await dpopKey();
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config, { key });
  assert.equal(f.tokens.token_type.toLowerCase(), 'dpop');
  const ui = await oidc.fetchUserInfo(fc.config, f.tokens.access_token, f.tokens.claims().sub, { DPoP: f.dpop });
  assert.equal(ui.sub, f.tokens.claims().sub);
});

test('fapi2-security-profile-final-ensure-dpop-auth-code-binding-success', async () => {
  const key = await dpopKey();
  const { fc, code } = await boundCode({ jkt: key.jkt });
  const r = await redeemWith(fc, code, key);
  assert.equal(r.status, 200);
  assert.equal(r.body.token_type, 'DPoP');
  const n = r.headers.get('dpop-nonce');
  const ui = await userinfo(server, r.body.access_token, { key, nonce: n });
  assert.equal(ui.status, 200);
});

test('fapi2-security-profile-final-ensure-holder-of-key-required', async () => {
  const { fc, code } = await boundCode();
  const r = await redeem(server, fc, code); // no DPoP header
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_dpop_proof');
  assert.match(r.body.error_description, /DPoP proof is required/);
});

test('fapi2-security-profile-final-dpop-negative-tests', async () => {
  const key = await dpopKey();
  const other = await dpopKey();
  const rsa = await dpopKey('RS256').catch(() => null);
  const { fc, code } = await boundCode();
  const nonce = await serverNonce(server, fc, key);
  const htu = `${server.issuer}/token`;
  const hmacKey = new TextEncoder().encode('k'.repeat(32));
  const bad = {
    'typ JWT': proof(key, 'POST', htu, { nonce, header: { typ: 'JWT' } }),
    'no typ': proof(key, 'POST', htu, { nonce, header: { typ: undefined } }),
    'no jwk': proof(key, 'POST', htu, { nonce, header: { jwk: undefined } }),
    'jwk of another key': proof(key, 'POST', htu, { nonce, header: { jwk: other.jwk } }),
    'private key in jwk': (async () => proof(key, 'POST', htu, { nonce, header: { jwk: await jose.exportJWK(key.privateKey) } }))(),
    'htm GET': proof(key, 'GET', htu, { nonce }),
    'htu of /par': proof(key, 'POST', `${server.issuer}/par`, { nonce }),
    'htu with a query': proof(key, 'POST', `${htu}?x=1`, { nonce }),
    'no iat': proof(key, 'POST', htu, { nonce, claims: { iat: undefined } }),
    'no jti': proof(key, 'POST', htu, { nonce, claims: { jti: undefined } }),
    'short jti': proof(key, 'POST', htu, { nonce, claims: { jti: 'abc' } }),
    'HS256': new jose.SignJWT({ htm: 'POST', htu, iat: now(), jti: oidc.randomState(), nonce })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'HS256', jwk: key.jwk }).sign(hmacKey),
    'alg none': Promise.resolve(`${jose.base64url.encode(JSON.stringify({ typ: 'dpop+jwt', alg: 'none', jwk: key.jwk }))}.${jose.base64url.encode(JSON.stringify({ htm: 'POST', htu, iat: now(), jti: oidc.randomState(), nonce }))}.`),
    'not a JWS': Promise.resolve('garbage'),
  };
  if (rsa) bad['RS256'] = proof(rsa, 'POST', htu, { nonce });
  for (const [what, p] of Object.entries(bad)) {
    const res = await rawPost(server, fc, '/token', {
      grant_type: 'authorization_code', code: code.code, redirect_uri: code.back.origin + code.back.pathname,
      code_verifier: code.verifier,
    }, { dpop: await p });
    assert.equal(res.status, 400, what);
    assert.equal(res.body.error, 'invalid_dpop_proof', `${what}: ${JSON.stringify(res.body)}`);
  }
  // a proof replayed (same jti) is refused, even within its window
  const once = await proof(key, 'POST', htu, { nonce: await serverNonce(server, fc, key) });
  const form = { grant_type: 'authorization_code', code: code.code, redirect_uri: code.back.origin + code.back.pathname, code_verifier: code.verifier };
  const first = await rawPost(server, fc, '/token', form, { dpop: once });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const replay = await rawPost(server, fc, '/token', form, { dpop: once });
  assert.equal(replay.status, 400);
  assert.match(replay.body.error_description, /replay/);
  // at userinfo: a proof without ath, with another token's ath, of another key
  const at = first.body.access_token;
  const n = first.headers.get('dpop-nonce');
  for (const [what, opts] of [['no ath', { key, nonce: n, proofOpts: { claims: { ath: undefined } } }],
    ['wrong ath', { key, nonce: n, proofOpts: { claims: { ath: 'A'.repeat(43) } } }],
    ['other key', { key: other, nonce: n }], ['no proof', {}]]) {
    const r = await userinfo(server, at, opts);
    assert.equal(r.status, 401, what);
    assert.match(r.headers.get('www-authenticate'), /^DPoP error="invalid_dpop_proof"/, what);
  }
  assert.equal((await userinfo(server, at, { key, nonce: n })).status, 200);
});

test('DPoP nonces: required, and refreshed once stale', async () => {
  const { key, fc, code, nonce: first, slot } = early;
  // none: use_dpop_nonce with a DPoP-Nonce header (serverNonce asserts it);
  // a made-up nonce is refused the same way
  let r = await redeem(server, fc, code, { key, nonce: 'A'.repeat(43) });
  assert.equal(r.body.error, 'use_dpop_nonce');
  // a nonce of time slot k (k = floor(now / lifetime)) is good through
  // slot k + 1: stale from the start of slot k + 2 (got in before(), so the
  // wait overlaps the other tests); the answer then carries a new one
  const wait = (slot + 2) * NONCE_LIFETIME * 1000 - Date.now() + 300;
  if (wait > 0) await sleep(wait);
  r = await redeem(server, fc, code, { key, nonce: first });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'use_dpop_nonce');
  assert.match(r.body.error_description, /stale/);
  const fresh = r.headers.get('dpop-nonce');
  assert.notEqual(fresh, first);
  r = await redeem(server, fc, code, { key, nonce: fresh });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test('fapi2-security-profile-final-refresh-token', async () => {
  const key = await dpopKey();
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config, { key, extra: { scope: 'openid offline_access' } });
  assert.ok(f.tokens.refresh_token);
  // with the same key (openid-client): new DPoP-bound tokens
  const t2 = await oidc.refreshTokenGrant(fc.config, f.tokens.refresh_token, undefined, { DPoP: f.dpop });
  assert.equal(t2.token_type.toLowerCase(), 'dpop');
  assert.notEqual(t2.refresh_token, f.tokens.refresh_token);
  // with another key, or without a proof: refused
  const other = await dpopKey();
  const nonce = await serverNonce(server, fc, other);
  let r = await rawPost(server, fc, '/token', { grant_type: 'refresh_token', refresh_token: t2.refresh_token },
    { dpop: await proof(other, 'POST', `${server.issuer}/token`, { nonce }) });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  assert.match(r.body.error_description, /another DPoP key/);
  r = await rawPost(server, fc, '/token', { grant_type: 'refresh_token', refresh_token: t2.refresh_token });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_dpop_proof');
  // the refusals did not spend it: the right key still refreshes
  const t3 = await oidc.refreshTokenGrant(fc.config, t2.refresh_token, undefined, { DPoP: f.dpop });
  assert.ok(t3.access_token);
});

test('DPoP is optional for a client of the default profile; a proof binds its tokens', async () => {
  const key = await dpopKey();
  const fc = await fapiClient(server, dir, { profile: 'default' });
  // without DPoP: bearer tokens
  const plain = await fapiCode(server, fc.config);
  let r = await redeem(server, fc, plain);
  assert.equal(r.status, 200);
  assert.equal(r.body.token_type, 'Bearer');
  assert.equal((await userinfo(server, r.body.access_token, { scheme: 'Bearer' })).status, 200);
  // the DPoP scheme with a bearer token is refused
  assert.equal((await userinfo(server, r.body.access_token, { key })).status, 401);
  // with a proof: a DPoP token, refused as a bearer token
  const bound = await fapiCode(server, fc.config);
  r = await redeemWith(fc, bound, key);
  assert.equal(r.body.token_type, 'DPoP');
  const ub = await userinfo(server, r.body.access_token, { scheme: 'Bearer' });
  assert.equal(ub.status, 401);
  assert.match(ub.headers.get('www-authenticate'), /^DPoP error="invalid_token"/);
});
