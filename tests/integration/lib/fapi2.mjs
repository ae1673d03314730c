// fapi2.mjs — building blocks of the FAPI 2.0 Security Profile tests
// (fapi2*.test.mjs): a `--profile fapi2` client registered with the CLI
// (private_key_jwt), its openid-client configuration, DPoP keys and
// handles, the PAR + DPoP code flow through the test key, and raw
// requests with hand-made DPoP proofs and client assertions for the
// refusals.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { Agent } from './harness.mjs';
import { RP_CB, RP_CB2, clientKey, browse, assertCodeResponse, assertion, ASSERTION_TYPE } from './flows.mjs';

// Register a client with `sleutel client add` (profile fapi2 unless
// `profile` says otherwise) and discover the provider for it.
export async function fapiClient(server, dir, { alg = 'ES256', profile = 'fapi2', scopes = 'openid profile offline_access' } = {}) {
  const key = await clientKey(dir, alg);
  const args = ['client', 'add', '--name', 'FAPI bank', '--json', '--redirect-uri', RP_CB, '--redirect-uri', RP_CB2,
    '--auth', 'private_key_jwt', '--jwks', key.file, '--scopes', scopes, '--profile', profile];
  const c = JSON.parse(await server.cli(...args));
  const config = await oidc.discovery(new URL(server.issuer), c.client_id, {}, oidc.PrivateKeyJwt(key.privateKey));
  return { c, config, key };
}

export async function dpopKey(alg = 'ES256') {
  const kp = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(kp.publicKey);
  return { ...kp, alg, jwk, jkt: await jose.calculateJwkThumbprint(jwk, 'sha256') };
}

// Authorization parameters with PKCE, state and nonce (null drops one).
export async function fapiParams(extra = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const p = {
    response_type: 'code', redirect_uri: RP_CB, scope: 'openid profile', state: oidc.randomState(), nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  };
  for (const k of Object.keys(p)) if (p[k] === null) delete p[k];
  return { params: p, verifier };
}

// PAR (with a DPoP proof when `dpop` is a handle) and the browser through
// the test key: the code at the RP, not yet redeemed.
export async function fapiCode(server, config, { dpop, extra = {}, agent = new Agent(), consent } = {}) {
  const { params, verifier } = await fapiParams(extra);
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params, dpop ? { DPoP: dpop } : undefined);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  const { back } = await browse(server, agent, url, { consent });
  if (consent !== 'deny') assertCodeResponse(server, back, params.state);
  return { back, verifier, params, agent, code: back.searchParams.get('code') };
}

// The whole flow with openid-client: PAR and token request with DPoP.
export async function fapiFlow(server, config, { key, extra = {}, agent } = {}) {
  const dk = key || await dpopKey();
  const dpop = oidc.getDPoPHandle(config, dk);
  const fc = await fapiCode(server, config, { dpop, extra, agent });
  const tokens = await oidc.authorizationCodeGrant(config, fc.back, {
    pkceCodeVerifier: fc.verifier, expectedState: fc.params.state ?? oidc.skipStateCheck,
    expectedNonce: fc.params.nonce,
  }, undefined, { DPoP: dpop });
  return { ...fc, tokens, dpop, key: dk };
}

// A DPoP proof made by hand: `claims` and `header` override the defaults;
// a value undefined is left out.  `key` from dpopKey().
export async function proof(key, htm, htu, { claims = {}, header = {}, nonce, accessToken } = {}) {
  const ath = accessToken ? jose.base64url.encode(new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))) : undefined;
  const payload = {
    htm, htu, iat: Math.floor(Date.now() / 1000), jti: oidc.randomState(), ...(nonce ? { nonce } : {}), ath, ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  const hdr = { typ: 'dpop+jwt', alg: key.alg, jwk: key.jwk, ...header };
  for (const k of Object.keys(hdr)) if (hdr[k] === undefined) delete hdr[k];
  return new jose.SignJWT(payload).setProtectedHeader(hdr).sign(key.privateKey);
}

// A form POST to /token or /par authenticated with a fresh client
// assertion, with `dpop` as the DPoP header when given.
export async function rawPost(server, fc, path, form, { dpop, assertionClaims = {}, alg } = {}) {
  const a = await assertion(server, fc.c.client_id, fc.key.privateKey, { alg: alg || fc.key.jwk.alg, claims: assertionClaims });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (dpop) headers.dpop = dpop;
  const res = await fetch(`${server.base}${path}`, {
    method: 'POST', headers,
    body: new URLSearchParams({ client_id: fc.c.client_id, client_assertion_type: ASSERTION_TYPE, client_assertion: a, ...form }),
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, headers: res.headers };
}

// A current server nonce: a proof without one is answered use_dpop_nonce
// with the nonce in DPoP-Nonce.
export async function serverNonce(server, fc, key) {
  const r = await rawPost(server, fc, '/token', { grant_type: 'refresh_token', refresh_token: 'x' },
    { dpop: await proof(key, 'POST', `${server.issuer}/token`) });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'use_dpop_nonce');
  const n = r.headers.get('dpop-nonce');
  assert.match(n, /^[A-Za-z0-9_-]{43}$/);
  return n;
}

// The token request of a code with a hand-made proof.
export async function redeem(server, fc, code, { key, nonce, proofOpts = {}, form = {} } = {}) {
  const dpop = key ? await proof(key, 'POST', `${server.issuer}/token`, { nonce, ...proofOpts }) : undefined;
  return rawPost(server, fc, '/token', {
    grant_type: 'authorization_code', code: code.code, redirect_uri: RP_CB, code_verifier: code.verifier, ...form,
  }, { dpop });
}

// GET /userinfo with `scheme` and, when `key`, a proof with ath.
export async function userinfo(server, token, { scheme = 'DPoP', key, nonce, proofOpts = {} } = {}) {
  const headers = { authorization: `${scheme} ${token}` };
  if (key) headers.dpop = await proof(key, 'GET', `${server.issuer}/userinfo`, { nonce, accessToken: token, ...proofOpts });
  const res = await fetch(`${server.base}/userinfo`, { headers });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, headers: res.headers };
}
