// flows.mjs — relying-party building blocks shared by the conformance and
// OIDC tests: an openid-client configuration for a freshly registered
// client, an authorization request with PKCE/state/nonce, a full code flow
// through the test key, raw token/userinfo calls, and checks of the
// authorization response and of ID token signatures with jose.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { Agent, hiddenInputs, DEMO_PERSON, answerConsent } from './harness.mjs';

export const RP_CB = 'https://rp.example/cb';
export const RP_CB2 = 'https://rp.example/cb2';
export const RP_LOGGED_OUT = 'https://rp.example/logged-out';
export const ACR_LOW = 'http://eidas.europa.eu/LoA/low';
export const CSS = '/static/sleutel.css';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Register a client with the CLI and discover the provider for it with
// openid-client. opts: harness client options plus `auth` (default
// client_secret_basic), `privateKey` (for private_key_jwt) and `metadata`
// (extra openid-client client metadata).
export async function registerRp(server, opts = {}) {
  const auth = opts.auth || 'client_secret_basic';
  // Test RPs may be granted refresh tokens (offline_access) unless a test
  // says otherwise; the consent page asks the person for it.
  const c = await server.client({ redirectUris: [RP_CB, RP_CB2], scopes: 'openid profile offline_access', ...opts, auth });
  let clientAuth;
  if (auth === 'client_secret_basic') clientAuth = oidc.ClientSecretBasic(c.client_secret);
  else if (auth === 'client_secret_post') clientAuth = oidc.ClientSecretPost(c.client_secret);
  else clientAuth = oidc.PrivateKeyJwt(opts.privateKey);
  const metadata = { ...(opts.metadata || {}) };
  if (c.client_secret) metadata.client_secret = c.client_secret;
  if (opts.idTokenAlg) metadata.id_token_signed_response_alg = opts.idTokenAlg;
  const config = await oidc.discovery(new URL(server.issuer), c.client_id, metadata, clientAuth);
  return { c, config };
}

// A key pair for private_key_jwt; its public JWKS written to a file the
// CLI can register (`jwks`).
export async function clientKey(dir, alg) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), alg, use: 'sig', kid: `${alg}-${Date.now()}` };
  const file = path.join(dir, `client-${alg}-${Math.random().toString(36).slice(2)}.jwks.json`);
  writeFileSync(file, JSON.stringify({ keys: [jwk] }));
  return { privateKey, publicKey, jwk, file };
}

// Parameters of an authorization request: PKCE, state and nonce fresh
// unless given; a parameter given as null is left out.
export async function authParams(config, params = {}) {
  const verifier = params.code_verifier || oidc.randomPKCECodeVerifier();
  const p = {
    redirect_uri: RP_CB, scope: 'openid', response_type: 'code',
    state: oidc.randomState(), nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    client_id: config.clientMetadata().client_id,
    ...params,
  };
  delete p.code_verifier;
  for (const k of Object.keys(p)) if (p[k] === null || p[k] === undefined) delete p[k];
  return { params: p, verifier, state: p.state, nonce: p.nonce };
}

export async function authRequest(config, params = {}) {
  const a = await authParams(config, params);
  return { ...a, url: oidc.buildAuthorizationUrl(config, a.params) };
}

// The same, built by hand: exactly these parameters in this order
// (openid-client would add response_type=code).
export async function rawAuthRequest(server, config, params = {}) {
  const a = await authParams(config, params);
  return { ...a, url: new URL(`${server.base}/authorize?${new URLSearchParams(a.params)}`) };
}

// From /login?req=ID (the key choice) through the test key (and the
// consent page, answered `consent`: 'share', 'deny' or null to stop there)
// to the URL the browser is sent back to.
export async function completeLogin(server, agent, loginLocation, person = DEMO_PERSON, consent = 'share') {
  const req = new URL(loginLocation, server.base).searchParams.get('req');
  let res = await agent.get(`${server.base}/key/test?req=${req}`);
  assert.equal(res.status, 200, 'test key page');
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/key/test/login`, { ...hidden, ...person, mode: 'direct' });
  const loc = res.headers.get('location');
  assert.equal(res.status, 303, `test key login answered ${res.status}`);
  return answerConsent(server, agent, loc, consent);
}

// One visit to the authorization endpoint: { res, location (URL or null),
// toLogin (the key choice was shown, i.e. no SSO) }.
export async function authorizeOnce(server, agent, url, { method = 'GET' } = {}) {
  let res;
  if (method === 'POST') {
    const u = new URL(url);
    res = await agent.post(`${server.base}/authorize`, Object.fromEntries(u.searchParams));
  } else {
    res = await agent.get(String(url));
  }
  const loc = res.headers.get('location');
  const location = loc ? new URL(loc, server.base) : null;
  return { res, location, toLogin: !!location && location.origin === server.base && location.pathname === '/login' };
}

// The browser's way back to the RP: through the test key when the key
// choice is shown, at once otherwise.
export async function browse(server, agent, url, opts = {}) {
  const r = await authorizeOnce(server, agent, url, opts);
  assert.equal(r.res.status, 303, `authorize answered ${r.res.status}`);
  if (r.toLogin) {
    return { back: await completeLogin(server, agent, r.location, opts.person, opts.consent), loggedIn: true };
  }
  return { back: await answerConsent(server, agent, r.location, opts.consent), loggedIn: false };
}

// A whole code flow. Returns the request, the URL back at the RP, the
// token response (openid-client), its ID token claims, and the agent.
export async function codeFlow(server, config,
  { agent = new Agent(), params = {}, checks = {}, method, person, consent } = {}) {
  const req = await authRequest(config, params);
  const { back, loggedIn } = await browse(server, agent, req.url, { method, person, consent });
  assertCodeResponse(server, back, req.state);
  const tokens = await oidc.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: req.verifier, expectedState: req.state ?? oidc.skipStateCheck, expectedNonce: req.nonce,
    ...checks,
  });
  return { ...req, back, loggedIn, tokens, claims: tokens.claims(), agent };
}

// Does this browser still have an SSO session for `config`? (prompt=none)
export async function hasSession(config, agent) {
  const req = await authRequest(config, { prompt: 'none' });
  const res = await agent.get(req.url.href);
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'));
  if (loc.searchParams.get('code')) return true;
  assert.equal(loc.searchParams.get('error'), 'login_required');
  return false;
}

// A success response at the RP: code, state echoed, iss (RFC 9207).
export function assertCodeResponse(server, back, state, redirectUri = RP_CB) {
  assert.equal(back.origin + back.pathname, redirectUri);
  assert.ok(back.searchParams.get('code'), `no code in ${back}`);
  assert.equal(back.searchParams.get('error'), null);
  assert.equal(back.searchParams.get('iss'), server.issuer);
  assert.equal(back.searchParams.get('state'), state ?? null);
}

// An error redirect at the RP: 303, error code, state echoed, iss.
export function assertErrorRedirect(server, res, { error, state, redirectUri = RP_CB }) {
  assert.equal(res.status, 303, `expected an error redirect, got ${res.status}`);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, redirectUri);
  assert.equal(loc.searchParams.get('error'), error, `error in ${loc}`);
  assert.ok(loc.searchParams.get('error_description'), 'error_description');
  assert.equal(loc.searchParams.get('code'), null);
  assert.equal(loc.searchParams.get('state'), state ?? null);
  assert.equal(loc.searchParams.get('iss'), server.issuer);
  return loc;
}

// An error shown on a page (never redirected): HTML, no Location.
export async function assertErrorPage(res, status = 400) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('location'), null, 'an error page must not redirect');
  assert.match(res.headers.get('content-type'), /^text\/html/);
  return res.text();
}

// Verify an ID token with jose against the provider's JWKS.
export async function verifyIdToken(server, idToken, { alg, clientId }) {
  const jwks = jose.createRemoteJWKSet(new URL(`${server.base}/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, {
    issuer: server.issuer, audience: clientId, algorithms: [alg],
  });
  return { payload, header: protectedHeader };
}

// Raw token endpoint call. `basic`: [id, secret] for client_secret_basic.
export async function tokenRequest(server, form, { basic, endpoint = '/token' } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    const enc = encodeURIComponent;
    headers.authorization = `Basic ${Buffer.from(`${enc(basic[0])}:${enc(basic[1])}`).toString('base64')}`;
  }
  const res = await fetch(`${server.base}${endpoint}`, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, headers: res.headers };
}

export async function userinfoStatus(server, accessToken) {
  const res = await fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.text();
  return res.status;
}

// A client assertion (RFC 7523) built by hand; `claims` overrides the
// defaults, a claim set to undefined is left out.
export async function assertion(server, clientId, privateKey, { alg, claims = {}, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: clientId, sub: clientId, aud: server.issuer, jti: oidc.randomState(), iat: now, exp: now + 60, ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new jose.SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT', ...header }).sign(privateKey);
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
