// oidc-extra.test.mjs — what the certification modules leave out and the
// FAPI 2.0 / security BCP rules sleutel follows anyway: PKCE, exact
// redirect_uri matching, which errors are pages and which are redirects,
// PAR, private_key_jwt, client authentication methods, refresh token
// rotation, logout, cancel, request limits, security headers and cookies.
//
// One server for the file (every test registers its own clients and uses
// its own browser), plus one with [oidc] par_lifetime = 10 for the PAR
// expiry, whose request is pushed in before() so that the wait overlaps
// the other tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import {
  RP_CB, RP_CB2, RP_LOGGED_OUT, CSS, sleep, registerRp, clientKey, authParams, authRequest, rawAuthRequest,
  authorizeOnce, completeLogin, browse, codeFlow, assertCodeResponse, assertErrorRedirect, assertErrorPage,
  tokenRequest, userinfoStatus, assertion, ASSERTION_TYPE, hasSession,
} from './lib/flows.mjs';
import { sqlRows } from './lib/db.mjs';

let server;
let keyDir;
let expiring; // { server, c, requestUri, pushedAt }
let serverStart; // the main server's start (a promise)

const PAR_LIFETIME = 10; // the smallest [oidc] par_lifetime the configuration allows

before(async () => {
  keyDir = mkdtempSync(path.join(tmpdir(), 'sleutel-keys-'));
  const short = await startServer({ config: { oidc: { par_lifetime: PAR_LIFETIME } } });
  expiring = { server: short };
  // Kept, so after() stops it also when the other half failed first.
  serverStart = startServer();
  [server] = await Promise.all([serverStart, (async () => {
    const { c, config } = await registerRp(short);
    const a = await authParams(config);
    const r = await tokenRequest(short, a.params,
      { basic: [c.client_id, c.client_secret], endpoint: '/par' });
    assert.equal(r.status, 201);
    assert.equal(r.body.expires_in, PAR_LIFETIME);
    Object.assign(expiring, { c, requestUri: r.body.request_uri, pushedAt: Date.now() });
  })()]);
});

after(async () => {
  rmSync(keyDir, { recursive: true, force: true });
  server ??= await serverStart?.catch(() => null);
  const results = await Promise.allSettled([server?.stop(), expiring?.server?.stop()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

// A code for `config`'s client, not yet redeemed.
async function freshCode(config, params = {}) {
  const req = await authRequest(config, params);
  const { back } = await browse(server, new Agent(), req.url);
  assertCodeResponse(server, back, req.state, params.redirect_uri || RP_CB);
  return { ...req, back, code: back.searchParams.get('code') };
}

function codeForm(fc, extra = {}) {
  return { grant_type: 'authorization_code', code: fc.code, redirect_uri: RP_CB, code_verifier: fc.verifier, ...extra };
}

// ---------------------------------------------------------------- PKCE

test('PKCE: a request without code_challenge is refused', async () => {
  const { config } = await registerRp(server);
  for (const drop of [{ code_challenge: null, code_challenge_method: null }, { code_challenge: null }]) {
    const req = await rawAuthRequest(server, config, drop);
    const res = await new Agent().get(req.url.href);
    const loc = assertErrorRedirect(server, res, { error: 'invalid_request', state: req.state });
    assert.match(loc.searchParams.get('error_description'), /PKCE|code_challenge/);
  }
});

test('PKCE: code_challenge_method plain (or none given) is refused', async () => {
  const { config } = await registerRp(server);
  const verifier = oidc.randomPKCECodeVerifier();
  for (const method of [{ code_challenge_method: 'plain', code_challenge: verifier },
    { code_challenge_method: null }, { code_challenge_method: 's256' }]) {
    const req = await rawAuthRequest(server, config, method);
    const res = await new Agent().get(req.url.href);
    assertErrorRedirect(server, res, { error: 'invalid_request', state: req.state });
  }
  // A challenge that is not a base64url SHA-256.
  for (const code_challenge of ['short', `${'A'.repeat(42)}=`, 'A'.repeat(44)]) {
    const req = await rawAuthRequest(server, config, { code_challenge });
    assertErrorRedirect(server, await new Agent().get(req.url.href), { error: 'invalid_request', state: req.state });
  }
});

test('PKCE: a wrong or missing code_verifier is refused at the token endpoint', async () => {
  const { c, config } = await registerRp(server);
  const basic = [c.client_id, c.client_secret];
  const wrong = await freshCode(config);
  let r = await tokenRequest(server, codeForm(wrong, { code_verifier: oidc.randomPKCECodeVerifier() }), { basic });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  const missing = await freshCode(config);
  r = await tokenRequest(server, codeForm(missing, { code_verifier: undefined }), { basic });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  // The right verifier on a fresh code works (the client is fine).
  const good = await freshCode(config);
  r = await tokenRequest(server, codeForm(good), { basic });
  assert.equal(r.status, 200);
});

// ---------------------------------------------------------- redirect_uri

test('redirect_uri: only an exact match of a registered URI is accepted', async () => {
  const { c, config } = await registerRp(server);
  for (const redirect_uri of [`${RP_CB}/`, 'https://RP.example/cb', 'https://rp.example/CB', `${RP_CB}?x=1`,
    'https://rp.example:443/cb', 'http://rp.example/cb', `${RP_CB}#f`, 'https://rp.example/c']) {
    const req = await rawAuthRequest(server, config, { redirect_uri });
    const res = await new Agent().get(req.url.href);
    const html = await assertErrorPage(res, 400);
    assert.match(html, /redirect_uri is not registered/, redirect_uri);
  }
  // Both registered URIs work, and the token request must name the same one.
  const two = await freshCode(config, { redirect_uri: RP_CB2 });
  let r = await tokenRequest(server, codeForm(two, { redirect_uri: RP_CB }), { basic: [c.client_id, c.client_secret] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  const one = await freshCode(config);
  r = await tokenRequest(server, codeForm(one), { basic: [c.client_id, c.client_secret] });
  assert.equal(r.status, 200);
});

// ------------------------------------------------ error pages vs redirects

test('errors before client_id and redirect_uri are validated are pages, never redirects', async () => {
  const { config } = await registerRp(server);
  const cases = [
    ['client_id missing', { client_id: null }],
    ['unknown client', { client_id: 'no-such-client' }],
    ['redirect_uri missing', { redirect_uri: null }],
    ['redirect_uri not registered', { redirect_uri: 'https://evil.example/cb' }],
  ];
  for (const [what, params] of cases) {
    const req = await rawAuthRequest(server, config, params);
    const res = await new Agent().get(req.url.href);
    await assertErrorPage(res, 400);
    // The same by POST.
    const post = await new Agent().post(`${server.base}/authorize`, req.params);
    assert.equal(post.status, 400, `${what} by POST`);
    assert.equal(post.headers.get('location'), null, `${what} by POST`);
    await post.text();
  }
  // A repeated parameter, even a harmless one, and even redirect_uri.
  const req = await rawAuthRequest(server, config);
  for (const name of ['state', 'redirect_uri', 'client_id', 'scope']) {
    const url = new URL(req.url);
    url.searchParams.append(name, name === 'redirect_uri' ? RP_CB2 : url.searchParams.get(name));
    const html = await assertErrorPage(await new Agent().get(url.href), 400);
    assert.match(html, /more than once/, name);
  }
});

test('errors once client and redirect_uri are known go back to the RP with error, state and iss', async () => {
  const { config } = await registerRp(server);
  const cases = [
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ response_type: 'code id_token' }, 'unsupported_response_type'],
    [{ scope: 'profile' }, 'invalid_scope'],
    [{ scope: null }, 'invalid_scope'],
    [{ response_mode: 'fragment' }, 'invalid_request'],
    [{ response_mode: 'form_post' }, 'invalid_request'],
    [{ prompt: 'none login' }, 'invalid_request'],
    [{ prompt: 'bogus' }, 'invalid_request'],
    [{ max_age: '-1' }, 'invalid_request'],
    [{ max_age: 'ten' }, 'invalid_request'],
    [{ claims: '{"userinfo":' }, 'invalid_request'],
    [{ claims: '[1]' }, 'invalid_request'],
    [{ login_hint: 'x'.repeat(3000) }, 'invalid_request'],
  ];
  for (const [params, error] of cases) {
    const req = await rawAuthRequest(server, config, params);
    const res = await new Agent().get(req.url.href);
    assertErrorRedirect(server, res, { error, state: req.state });
  }
});

test('state is echoed exactly, on success and on error, and absent when not sent', async () => {
  const { config } = await registerRp(server);
  const state = 'a b&c=d/é?%20+~';
  const ok = await codeFlow(server, config, { params: { state } });
  assert.equal(ok.back.searchParams.get('state'), state);
  const bad = await rawAuthRequest(server, config, { state, scope: 'profile' });
  assertErrorRedirect(server, await new Agent().get(bad.url.href), { error: 'invalid_scope', state });
  const none = await codeFlow(server, config, { params: { state: null } });
  assert.equal(none.back.searchParams.has('state'), false);
  const noneErr = await rawAuthRequest(server, config, { state: null, prompt: 'none' });
  assertErrorRedirect(server, await new Agent().get(noneErr.url.href), { error: 'login_required', state: null });
});

// ------------------------------------------------------------------ PAR

test('PAR: openid-client pushes the request and completes the flow', async () => {
  const { c, config } = await registerRp(server);
  const a = await authParams(config, { scope: 'openid profile' });
  const url = await oidc.buildAuthorizationUrlWithPAR(config, a.params);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  assert.equal(url.searchParams.get('client_id'), c.client_id);
  assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{20,}$/);
  const { back, loggedIn } = await browse(server, new Agent(), url);
  assert.equal(loggedIn, true);
  assertCodeResponse(server, back, a.state);
  const tokens = await oidc.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce });
  const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
  assert.equal(info.given_name, 'Demo', 'the pushed scope was used');
  // The raw answer of /par.
  const raw = await tokenRequest(server, (await authParams(config)).params,
    { basic: [c.client_id, c.client_secret], endpoint: '/par' });
  assert.equal(raw.status, 201);
  assert.match(raw.headers.get('content-type'), /^application\/json/);
  assert.equal(raw.body.expires_in, 60);
});

async function pushed(config) {
  const a = await authParams(config);
  const url = await oidc.buildAuthorizationUrlWithPAR(config, a.params);
  return { ...a, url };
}

test('PAR: a request_uri is used once', async () => {
  const { config } = await registerRp(server);
  const p = await pushed(config);
  const agent = new Agent();
  const first = await authorizeOnce(server, agent, p.url);
  assert.equal(first.toLogin, true);
  // Before the login finished only its own browser comes back to it (a
  // reload: fapi2.test.mjs has the rest); another browser is refused.
  const reload = await authorizeOnce(server, agent, p.url);
  assert.equal(reload.location?.href, first.location.href);
  const html = await assertErrorPage(await new Agent().get(p.url.href), 400);
  assert.match(html, /request_uri/);
  // A request_uri that never existed.
  const forged = new URL(p.url);
  forged.searchParams.set('request_uri', 'urn:ietf:params:oauth:request_uri:forged');
  await assertErrorPage(await new Agent().get(forged.href), 400);
});

test("PAR: another client's request_uri is refused", async () => {
  const a = await registerRp(server);
  const b = await registerRp(server);
  const p = await pushed(a.config);
  const stolen = new URL(p.url);
  stolen.searchParams.set('client_id', b.c.client_id);
  await assertErrorPage(await new Agent().get(stolen.href), 400);
  // Without client_id at all.
  const p2 = await pushed(a.config);
  const bare = new URL(p2.url);
  bare.searchParams.delete('client_id');
  await assertErrorPage(await new Agent().get(bare.href), 400);
});

test('PAR: a client registered with require-par must push its requests', async () => {
  const { c, config } = await registerRp(server, { requirePar: true });
  assert.equal(c.require_par, true);
  const req = await authRequest(config);
  const loc = assertErrorRedirect(server, await new Agent().get(req.url.href), { error: 'invalid_request', state: req.state });
  assert.match(loc.searchParams.get('error_description'), /pushed/);
  const p = await pushed(config);
  const { back } = await browse(server, new Agent(), p.url);
  assertCodeResponse(server, back, p.state);
  const tokens = await oidc.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce });
  assert.ok(tokens.id_token);
});

test('PAR: the client is authenticated and the pushed request validated', async () => {
  const { c, config } = await registerRp(server);
  const { params } = await authParams(config);
  const cases = [
    [{ basic: [c.client_id, 'wrong-secret'] }, params, 401, 'invalid_client'],
    [{}, params, 401, 'invalid_client'],
    [{ basic: [c.client_id, c.client_secret] }, { ...params, redirect_uri: 'https://evil.example/cb' }, 400,
      'invalid_request'],
    [{ basic: [c.client_id, c.client_secret] }, { ...params, code_challenge: undefined }, 400, 'invalid_request'],
    [{ basic: [c.client_id, c.client_secret] }, { ...params, response_type: 'token' }, 400,
      'unsupported_response_type'],
    [{ basic: [c.client_id, c.client_secret] }, { ...params, request_uri: 'urn:x' }, 400,
      'request_uri_not_supported'],
  ];
  for (const [auth, form, status, error] of cases) {
    const f = Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined));
    const r = await tokenRequest(server, f, { ...auth, endpoint: '/par' });
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.error, error);
  }
});

// ------------------------------------------------------- private_key_jwt

for (const alg of ['ES256', 'PS256']) {
  test(`private_key_jwt: openid-client authenticates with an ${alg} key`, async () => {
    const key = await clientKey(keyDir, alg);
    const { c, config } = await registerRp(server, { auth: 'private_key_jwt', jwks: key.file, privateKey: key.privateKey });
    assert.equal(c.auth_method, 'private_key_jwt');
    assert.equal(c.client_secret, undefined, 'no secret for a key-authenticated client');
    const flow = await codeFlow(server, config, { params: { scope: 'openid profile offline_access' } });
    assert.equal(flow.claims.aud, c.client_id);
    const refreshed = await oidc.refreshTokenGrant(config, flow.tokens.refresh_token);
    assert.ok(refreshed.access_token);
    // PAR with the same authentication.
    const p = await pushed(config);
    const { back } = await browse(server, new Agent(), p.url);
    assertCodeResponse(server, back, p.state);
  });
}

test('private_key_jwt: bad client assertions are refused with 401 invalid_client', async () => {
  const key = await clientKey(keyDir, 'PS256');
  const { c, config } = await registerRp(server, { auth: 'private_key_jwt', jwks: key.file, privateKey: key.privateKey });
  const rs256Key = await jose.importJWK(await jose.exportJWK(key.privateKey), 'RS256');
  const stranger = await jose.generateKeyPair('PS256');
  const now = Math.floor(Date.now() / 1000);
  const fc = await freshCode(config);
  const cases = [
    ['RS256 signature with the registered key', { alg: 'RS256', signer: rs256Key }],
    ['signed by a key that is not registered', { signer: stranger.privateKey }],
    ['expired', { claims: { iat: now - 120, exp: now - 60 } }],
    ['exp too far ahead', { claims: { exp: now + 600 } }],
    ['exp missing', { claims: { exp: undefined } }],
    ['wrong aud', { claims: { aud: 'https://other.example' } }],
    ['aud of another endpoint', { claims: { aud: `${server.issuer}/userinfo` } }],
    // Audience injection: an aud array is refused even when it names the
    // issuer or this endpoint (one string only, docs/security.md).
    ['aud = [issuer, another server]', { claims: { aud: [server.issuer, 'https://other.example'] } }],
    ['aud = [token endpoint]', { claims: { aud: [`${server.issuer}/token`] } }],
    ['aud = [issuer]', { claims: { aud: [server.issuer] } }],
    ['sub missing', { claims: { sub: undefined } }],
    ['iss is not the client', { claims: { iss: 'someone-else' } }],
    ['sub is not the client', { claims: { sub: 'someone-else' } }],
    ['nbf 60 s ahead', { claims: { nbf: now + 60 } }],
    ['iat 60 s ahead', { claims: { iat: now + 60 } }],
    ['jti missing', { claims: { jti: undefined } }],
  ];
  for (const [what, { alg = 'PS256', signer = key.privateKey, claims = {} }] of cases) {
    const jwt = await assertion(server, c.client_id, signer, { alg, claims });
    const r = await tokenRequest(server, codeForm(fc, {
      client_id: c.client_id, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }));
    assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'invalid_client', what);
  }
  // An unsigned assertion and a wrong assertion type.
  const unsigned = new jose.UnsecuredJWT({ iss: c.client_id, sub: c.client_id, aud: server.issuer, jti: 'u1',
    exp: now + 60 }).encode();
  let r = await tokenRequest(server, codeForm(fc, { client_assertion_type: ASSERTION_TYPE, client_assertion: unsigned }));
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  const good = await assertion(server, c.client_id, key.privateKey, { alg: 'PS256' });
  r = await tokenRequest(server, codeForm(fc, { client_assertion_type: 'urn:x', client_assertion: good }));
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  // The code survived all that: a good assertion (aud = the token
  // endpoint this time, and without client_id) redeems it.
  const byUrl = await assertion(server, c.client_id, key.privateKey, { alg: 'PS256',
    claims: { aud: `${server.issuer}/token` } });
  r = await tokenRequest(server, codeForm(fc, { client_assertion_type: ASSERTION_TYPE, client_assertion: byUrl }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.id_token);
});

test('private_key_jwt: a jti is used once', async () => {
  const key = await clientKey(keyDir, 'ES256');
  const { c, config } = await registerRp(server, { auth: 'private_key_jwt', jwks: key.file, privateKey: key.privateKey });
  const jwt = await assertion(server, c.client_id, key.privateKey, { alg: 'ES256' });
  const first = await freshCode(config);
  let r = await tokenRequest(server, codeForm(first, { client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }));
  assert.equal(r.status, 200);
  const second = await freshCode(config);
  r = await tokenRequest(server, codeForm(second, { client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }));
  assert.equal(r.status, 401, 'the same assertion again');
  assert.equal(r.body.error, 'invalid_client');
  // Also across endpoints: /par refuses it too.
  const { params } = await authParams(config);
  r = await tokenRequest(server, { ...params, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt },
    { endpoint: '/par' });
  assert.equal(r.status, 401);
  // Remembered one second past the last second it is accepted (exp + 10 s
  // of skew): a jti forgotten at exp + 10 could be replayed within it.
  const { exp, jti } = jose.decodeJwt(jwt);
  const [row] = sqlRows(server, `SELECT expires FROM jti_seen WHERE client_id = '${c.client_id}' AND jti = '${jti}'`);
  assert.equal(Number(row.expires), exp + 10 + 1);
  // A new jti works.
  const fresh = await assertion(server, c.client_id, key.privateKey, { alg: 'ES256' });
  r = await tokenRequest(server, codeForm(second, { client_assertion_type: ASSERTION_TYPE, client_assertion: fresh }));
  assert.equal(r.status, 200);
});

// ------------------------------------------------ client authentication

test('client_secret_basic: a wrong secret or an unknown client is refused with 401', async () => {
  const { c, config } = await registerRp(server);
  const fc = await freshCode(config);
  for (const basic of [[c.client_id, 'wrong'], [c.client_id, ''], ['no-such-client', c.client_secret],
    [c.client_id, c.client_secret.slice(0, -1)]]) {
    const r = await tokenRequest(server, codeForm(fc), { basic });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate'), /^Basic/);
  }
  // No authentication at all.
  let r = await tokenRequest(server, codeForm(fc, { client_id: c.client_id }));
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  // openid-client with a wrong secret.
  const wrong = await oidc.discovery(new URL(server.issuer), c.client_id, {}, oidc.ClientSecretBasic('wrong'));
  await assert.rejects(oidc.refreshTokenGrant(wrong, 'whatever'),
    (e) => e.status === 401 && (e.error === 'invalid_client' || e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE'));
  // The code is still good with the right secret.
  r = await tokenRequest(server, codeForm(fc), { basic: [c.client_id, c.client_secret] });
  assert.equal(r.status, 200);
});

test('a client can only use the authentication method it registered', async () => {
  const basicRp = await registerRp(server, { auth: 'client_secret_basic' });
  const postRp = await registerRp(server, { auth: 'client_secret_post' });
  const key = await clientKey(keyDir, 'ES256');
  const jwtRp = await registerRp(server, { auth: 'private_key_jwt', jwks: key.file, privateKey: key.privateKey });

  const b = await freshCode(basicRp.config);
  let r = await tokenRequest(server, codeForm(b, { client_id: basicRp.c.client_id, client_secret: basicRp.c.client_secret }));
  assert.equal(r.status, 401, 'basic client using client_secret_post');
  assert.equal(r.body.error, 'invalid_client');

  const p = await freshCode(postRp.config);
  r = await tokenRequest(server, codeForm(p), { basic: [postRp.c.client_id, postRp.c.client_secret] });
  assert.equal(r.status, 401, 'post client using client_secret_basic');
  assert.equal(r.body.error, 'invalid_client');

  // A secret client presenting an assertion signed by some key.
  const jwt = await assertion(server, basicRp.c.client_id, key.privateKey, { alg: 'ES256' });
  r = await tokenRequest(server, codeForm(b, { client_id: basicRp.c.client_id, client_assertion_type: ASSERTION_TYPE,
    client_assertion: jwt }));
  assert.equal(r.status, 401, 'basic client using private_key_jwt');

  // The key client presenting a (made-up) secret.
  const j = await freshCode(jwtRp.config);
  r = await tokenRequest(server, codeForm(j), { basic: [jwtRp.c.client_id, 'anything'] });
  assert.equal(r.status, 401, 'private_key_jwt client using client_secret_basic');

  // Two methods at once.
  r = await tokenRequest(server, codeForm(b, { client_id: basicRp.c.client_id, client_secret: basicRp.c.client_secret }),
    { basic: [basicRp.c.client_id, basicRp.c.client_secret] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');

  // Each with its own method still redeems its code.
  r = await tokenRequest(server, codeForm(b), { basic: [basicRp.c.client_id, basicRp.c.client_secret] });
  assert.equal(r.status, 200);
  r = await tokenRequest(server, codeForm(p, { client_id: postRp.c.client_id, client_secret: postRp.c.client_secret }));
  assert.equal(r.status, 200);
});

test('a code is bound to its client', async () => {
  const a = await registerRp(server);
  const b = await registerRp(server);
  const fc = await freshCode(a.config);
  const r = await tokenRequest(server, codeForm(fc), { basic: [b.c.client_id, b.c.client_secret] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
});

// -------------------------------------------------------------- refresh

test('refresh tokens rotate, and replaying a used one revokes the grant', async () => {
  const { c, config } = await registerRp(server);
  const basic = [c.client_id, c.client_secret];
  const flow = await codeFlow(server, config, { params: { scope: 'openid offline_access' } });
  const rt0 = flow.tokens.refresh_token;
  const one = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt0 }, { basic });
  assert.equal(one.status, 200);
  const rt1 = one.body.refresh_token;
  assert.ok(rt1);
  assert.notEqual(rt1, rt0);
  const two = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt1 }, { basic });
  assert.equal(two.status, 200);
  const rt2 = two.body.refresh_token;
  assert.equal(await userinfoStatus(server, two.body.access_token), 200);
  // A refresh cannot widen the scope.
  const wider = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt2,
    scope: 'openid offline_access eid' },
    { basic });
  assert.equal(wider.status, 400);
  assert.equal(wider.body.error, 'invalid_scope');
  // rt1 again: refused, and the whole grant goes.
  const replay = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt1 }, { basic });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  const after = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt2 }, { basic });
  assert.equal(after.status, 400, 'the newest refresh token is revoked too');
  assert.equal(after.body.error, 'invalid_grant');
  assert.equal(await userinfoStatus(server, two.body.access_token), 401, 'and the access tokens');
  assert.equal(await userinfoStatus(server, flow.tokens.access_token), 401);
  // An access token is not a refresh token.
  const flow2 = await codeFlow(server, config);
  const wrongKind = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: flow2.tokens.access_token },
    { basic });
  assert.equal(wrongKind.status, 400);
  assert.equal(wrongKind.body.error, 'invalid_grant');
});

// ---------------------------------------------------------------- logout

async function loggedIn(opts = {}) {
  const rp = await registerRp(server, { postLogoutRedirectUris: [RP_LOGGED_OUT], ...opts });
  const agent = new Agent();
  const flow = await codeFlow(server, rp.config, { agent });
  return { ...rp, agent, flow };
}

test('logout with id_token_hint ends the session and redirects with state', async () => {
  const { config, agent, flow } = await loggedIn();
  assert.equal(await hasSession(config, agent), true);
  const copy = new Agent();
  copy.cookies = new Map(agent.cookies); // the same session cookie in another browser
  const url = oidc.buildEndSessionUrl(config, {
    id_token_hint: flow.tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT, state: 'bye now' });
  const res = await agent.get(url.href);
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, RP_LOGGED_OUT);
  assert.equal(loc.searchParams.get('state'), 'bye now');
  assert.equal(agent.cookies.has('__Host-sl_session'), false, 'the session cookie is cleared');
  assert.equal(await hasSession(config, agent), false);
  assert.equal(await hasSession(config, copy), false, 'the session is ended on the server, not only forgotten');
  // Without post_logout_redirect_uri: a "logged out" page.
  const again = await loggedIn();
  const page = await again.agent.get(`${server.base}/logout?${new URLSearchParams({ id_token_hint: again.flow.tokens.id_token })}`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('location'), null);
  await page.text();
  assert.equal(await hasSession(again.config, again.agent), false);
});

test('logout to an unregistered post_logout_redirect_uri is refused', async () => {
  const { config, agent, flow } = await loggedIn();
  for (const post of ['https://evil.example/bye', RP_CB, `${RP_LOGGED_OUT}/`]) {
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: flow.tokens.id_token, post_logout_redirect_uri: post });
    await assertErrorPage(await agent.get(url.href), 400);
  }
  assert.equal(await hasSession(config, agent), true, 'nothing was ended');
  // A hint whose signature is not ours is not used: the person is asked.
  const [h, p, s] = flow.tokens.id_token.split('.');
  const sig = jose.base64url.decode(s);
  sig[3] ^= 1;
  const forged = `${h}.${p}.${jose.base64url.encode(sig)}`;
  const confirm = await agent.get(`${server.base}/logout?id_token_hint=${forged}`);
  assert.equal(confirm.status, 200);
  assert.match(await confirm.text(), /<form method="post" action="\/logout"/);
  assert.equal(await hasSession(config, agent), true);
});

test('logout without id_token_hint asks for confirmation first', async () => {
  const { c, config, agent } = await loggedIn();
  const query = new URLSearchParams({ client_id: c.client_id, post_logout_redirect_uri: RP_LOGGED_OUT, state: 's1' });
  const res = await agent.get(`${server.base}/logout?${query}`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<form method="post" action="\/logout"/);
  const hidden = hiddenInputs(html);
  assert.equal(hidden.post_logout_redirect_uri, RP_LOGGED_OUT);
  assert.equal(hidden.state, 's1');
  assert.ok(hidden.csrf);
  assert.equal(await hasSession(config, agent), true, 'showing the page logs nobody out');
  // A forged confirmation (another page posting to /logout) does nothing.
  const forged = await agent.post(`${server.base}/logout`, { ...hidden, csrf: 'forged' });
  await assertErrorPage(forged, 403);
  const stranger = await new Agent().post(`${server.base}/logout`, hidden);
  await stranger.text();
  assert.equal(await hasSession(config, agent), true);
  // The real confirmation.
  const done = await agent.post(`${server.base}/logout`, hidden);
  assert.equal(done.status, 303);
  const loc = new URL(done.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, RP_LOGGED_OUT);
  assert.equal(loc.searchParams.get('state'), 's1');
  assert.equal(await hasSession(config, agent), false);
  // Without any client: confirm, then a "logged out" page.
  const other = await loggedIn();
  const page = await other.agent.get(`${server.base}/logout`);
  const h2 = hiddenInputs(await page.text());
  const out = await other.agent.post(`${server.base}/logout`, h2);
  assert.equal(out.status, 200);
  await out.text();
  assert.equal(await hasSession(other.config, other.agent), false);
});

test('an id_token_hint naming another person does not log in silently', async () => {
  const { config } = await registerRp(server);
  const alice = new Agent();
  await codeFlow(server, config, { agent: alice });
  const bob = await codeFlow(server, config, {
    person: { rrn: '90020199874', given_name: 'Bob', family_name: 'Peeters' } });
  const req = await authRequest(config, { prompt: 'none', id_token_hint: bob.tokens.id_token });
  assertErrorRedirect(server, await alice.get(req.url.href), { error: 'login_required', state: req.state });
  const req2 = await authRequest(config, { id_token_hint: bob.tokens.id_token });
  const r = await authorizeOnce(server, alice, req2.url);
  assert.equal(r.toLogin, true, 'the key choice is shown instead');
});

// ---------------------------------------------------------------- cancel

test('cancel on the key choice page sends access_denied to the RP', async () => {
  const { config } = await registerRp(server);
  const req = await authRequest(config);
  const agent = new Agent();
  const r = await authorizeOnce(server, agent, req.url);
  assert.equal(r.toLogin, true);
  const page = await agent.get(r.location.href);
  assert.equal(page.status, 200);
  const hidden = hiddenInputs(await page.text());
  assert.ok(hidden.req && hidden.csrf);
  // A forged cancel is refused.
  const forged = await agent.post(`${server.base}/login/cancel`, { ...hidden, csrf: 'forged' });
  assert.equal(forged.status, 403);
  await forged.text();
  const res = await agent.post(`${server.base}/login/cancel`, hidden);
  assertErrorRedirect(server, res, { error: 'access_denied', state: req.state });
  // The request is gone.
  const gone = await agent.get(r.location.href);
  assert.equal(gone.status, 404);
  await gone.text();
  // From another browser (no binding cookie), the key choice is not found.
  const r2 = await authorizeOnce(server, new Agent(), req.url);
  const foreign = await new Agent().get(r2.location.href);
  assert.equal(foreign.status, 404);
  await foreign.text();
});

// ------------------------------------------------------------- bad input

async function jsonError(res, status) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const body = await res.json();
  assert.equal(typeof body.error, 'string');
  return body;
}

async function htmlError(res, status) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.equal(res.headers.get('location'), null);
  return res.text();
}

test('bad input: a query over max_query is refused with 400', async () => {
  const { c } = await registerRp(server);
  const pad = 'a'.repeat(9000);
  await htmlError(await fetch(`${server.base}/authorize?client_id=${c.client_id}&pad=${pad}`), 400);
  await jsonError(await fetch(`${server.base}/userinfo?pad=${pad}`), 400);
  await jsonError(await fetch(`${server.base}/jwks?pad=${pad}`), 400);
  // Just under the limit is fine.
  const ok = await fetch(`${server.base}/jwks?pad=${'a'.repeat(8000)}`);
  assert.equal(ok.status, 200);
  await ok.text();
});

test('bad input: a body over max_body is refused with 413', async () => {
  const body = `grant_type=authorization_code&pad=${'b'.repeat(70000)}`;
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const t = await jsonError(await fetch(`${server.base}/token`, { method: 'POST', headers, body }), 413);
  assert.equal(t.error, 'request_too_large');
  await jsonError(await fetch(`${server.base}/par`, { method: 'POST', headers, body }), 413);
  await htmlError(await fetch(`${server.base}/authorize`, { method: 'POST', headers, body }), 413);
});

test('bad input: more than max_params parameters are refused with 400', async () => {
  const { config } = await registerRp(server);
  const req = await rawAuthRequest(server, config);
  const base = [...req.url.searchParams];
  const padTo = (n) => [...base, ...Array.from({ length: n - base.length }, (_, i) => [`x${i}`, '1'])];
  // 64 parameters: a normal request.
  const ok = await new Agent().get(`${server.base}/authorize?${new URLSearchParams(padTo(64))}`);
  assert.equal(ok.status, 303);
  assert.match(ok.headers.get('location'), /^\/login\?/);
  // 65: refused, as a page here...
  await htmlError(await new Agent().get(`${server.base}/authorize?${new URLSearchParams(padTo(65))}`), 400);
  await htmlError(await new Agent().post(`${server.base}/authorize`, Object.fromEntries(padTo(65))), 400);
  // ...and as JSON on an API route.
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, '1']));
  await jsonError(await fetch(`${server.base}/token`, { method: 'POST', body: new URLSearchParams(many) }), 400);
  await jsonError(await fetch(`${server.base}/userinfo?${new URLSearchParams(many)}`), 400);
});

test('unknown paths answer 404, wrong methods 405 with Allow', async () => {
  for (const p of ['/nope', '/authorize/', '/.well-known/oauth-authorization-server', '/static/nope.js']) {
    const res = await fetch(`${server.base}${p}`);
    assert.equal(res.status, 404, p);
    await res.text();
  }
  const cases = [
    ['GET', '/token', ['POST']],
    ['GET', '/par', ['POST']],
    ['POST', '/jwks', ['GET']],
    ['POST', '/.well-known/openid-configuration', ['GET']],
    ['GET', '/login/cancel', ['POST']],
    ['PUT', '/authorize', ['GET', 'POST']],
    ['DELETE', '/token', ['POST']],
    ['PATCH', '/userinfo', ['GET', 'POST']],
  ];
  for (const [method, p, allowed] of cases) {
    const res = await fetch(`${server.base}${p}`, { method });
    assert.equal(res.status, 405, `${method} ${p}`);
    const allow = (res.headers.get('allow') || '').split(',').map((s) => s.trim());
    for (const m of allowed) assert.ok(allow.includes(m), `${method} ${p}: Allow "${res.headers.get('allow')}" has ${m}`);
    assert.ok(!allow.includes(method), `${method} ${p}: Allow does not list ${method}`);
    await res.text();
  }
});

// ------------------------------------------------------ headers, cookies

function checkSecurityHeaders(res, what) {
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, `${what}: Content-Security-Policy`);
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean)
    .map((d) => { const [name, ...v] = d.split(/\s+/); return [name.toLowerCase(), v]; }));
  assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${what}: frame-ancestors 'none'`);
  const script = directives['script-src'] || directives['default-src'];
  assert.ok(script, `${what}: script-src or default-src`);
  assert.ok(!script.includes("'unsafe-inline'"), `${what}: no 'unsafe-inline' scripts`);
  assert.ok(!script.includes("'unsafe-eval'"), `${what}: no 'unsafe-eval'`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  const hsts = res.headers.get('strict-transport-security');
  assert.match(hsts || '', /max-age=(\d+)/, `${what}: HSTS`);
  assert.ok(Number(hsts.match(/max-age=(\d+)/)[1]) >= 15552000, `${what}: HSTS of six months or more`);
}

// review8: the language switch (src/portal/pages.c lang_nav) repeats the
// request's path in its links.  A path that starts with two slashes (or
// %2F, which MHD decodes; or /%5C: a browser reads /\ as //) is a protocol-relative URL: the 404 page of
// https://sleutel//evil.example/x links each language to evil.example.
test('review8: the language switch never leads off the origin', async () => {
  for (const p of ['//evil.example/x', '/%2Fevil.example/x', '/%5Cevil.example/x']) {
    const res = await fetch(`${server.base}${p}`, { headers: { accept: 'text/html' } });
    const html = await res.text();
    const nav = html.match(/<nav class="langs"[\s\S]*?<\/nav>/)?.[0] ?? '';
    assert.ok(nav.includes('hreflang'), `${p}: a language switch (${res.status})`);
    for (const [, href] of nav.matchAll(/href="([^"]*)"/g)) {
      const to = new URL(href.replaceAll('&amp;', '&'), `${server.base}${p}`);
      assert.equal(to.origin, new URL(server.base).origin, `${p}: a language link to ${href}`);
    }
  }
});

// review8: "Parameters in a POST come from the body alone" (request.c),
// but a POST whose body is not a form keeps the query's parameters as its
// form (daemon.c dispatch): /token redeems a code, verifier and all, sent
// in the URL, which proxies and logs keep (RFC 6749 §3.2, §2.3.1).
test('review8: /token takes its parameters from a form body only, never from the query', async () => {
  const { c, config } = await registerRp(server);
  const fc = await freshCode(config);
  const q = new URLSearchParams(codeForm(fc));
  const basic = `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`;
  const res = await fetch(`${server.base}/token?${q}`, { method: 'POST',
    headers: { authorization: basic, 'content-type': 'text/plain' }, body: 'x' });
  const body = await res.json();
  assert.equal(body.access_token, undefined, `answered ${res.status} with tokens`);
  // secfix3: an OAuth endpoint's body is a form (RFC 6749 §3.2, RFC 9126
  // §2.1): another type is refused as such (415, JSON), not read.
  assert.equal(res.status, 415);
  assert.equal(body.error, 'invalid_request');
  for (const ep of ['/par', '/bc-authorize']) {
    const r = await fetch(`${server.base}${ep}?${q}`, { method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 415, `${ep} with a JSON body`);
    assert.equal((await r.json()).error, 'invalid_request');
  }
  // A form body that lacks the code: the query's is not taken instead.
  const res2 = await fetch(`${server.base}/token?${q}`, { method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=authorization_code' });
  const body2 = await res2.json();
  assert.equal(body2.access_token, undefined, `answered ${res2.status} with tokens`);
  assert.deepEqual([res2.status, body2.error], [400, 'invalid_request']);
  const res3 = await fetch(`${server.base}/token`, { method: 'POST', headers: { authorization: basic,
    'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body: q.toString() });
  assert.equal(res3.status, 200, 'the same code in a form body (with a charset) is redeemed');
});

test('every answer carries CSP, nosniff and HSTS', async () => {
  const { c, config } = await registerRp(server, { postLogoutRedirectUris: [RP_LOGGED_OUT] });
  const agent = new Agent();
  const req = await authRequest(config);
  const seen = [];
  const check = async (what, resP) => {
    const res = await resP;
    checkSecurityHeaders(res, `${what} (${res.status})`);
    seen.push(res.status);
    return res;
  };
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  await check('discovery', fetch(`${server.base}/.well-known/openid-configuration`));
  await check('jwks', fetch(`${server.base}/jwks`));
  await check('healthz', fetch(`${server.base}/healthz`));
  await check('eID origin', fetch(`${server.eidBase}/healthz`));
  await check('home', fetch(`${server.base}/`));
  await check('static', fetch(`${server.base}${CSS}`));
  const first = await check('authorize redirect', agent.get(req.url.href));
  const loginUrl = new URL(first.headers.get('location'), server.base);
  await check('key choice', agent.get(loginUrl.href));
  await check('test key page', agent.get(`${server.base}/key/test?req=${loginUrl.searchParams.get('req')}`));
  const back = await completeLogin(server, agent, loginUrl);
  await check('error page', fetch(`${server.base}/authorize?client_id=nope`));
  await check('error redirect', fetch(`${req.url.href}&prompt=bogus`, { redirect: 'manual' }));
  await check('token error', fetch(`${server.base}/token`, { method: 'POST', headers: form, body: 'grant_type=x' }));
  const tokRes = await check('token', fetch(`${server.base}/token`, { method: 'POST',
    headers: { ...form, authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'),
      redirect_uri: RP_CB, code_verifier: req.verifier }) }));
  const tokens = await tokRes.json();
  await check('userinfo', fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } }));
  await check('userinfo 401', fetch(`${server.base}/userinfo`));
  await check('par 401', fetch(`${server.base}/par`, { method: 'POST', headers: form, body: 'a=b' }));
  await check('logout page', agent.get(`${server.base}/logout`));
  await check('logout redirect', agent.get(`${server.base}/logout?${new URLSearchParams({
    id_token_hint: tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT })}`));
  await check('404', fetch(`${server.base}/nope`));
  await check('405', fetch(`${server.base}/token`));
  await check('405 unknown method', fetch(`${server.base}/token`, { method: 'DELETE' }));
  await check('413', fetch(`${server.base}/token`, { method: 'POST', headers: form, body: 'a='.padEnd(70000, 'x') }));
  await check('400 query', fetch(`${server.base}/jwks?${'a'.repeat(9000)}`));
  for (const s of [200, 303, 400, 401, 404, 405, 413]) assert.ok(seen.includes(s), `a ${s} answer was checked`);
});

test('cookies are __Host- prefixed, Secure, HttpOnly, SameSite=Lax', async () => {
  const { config } = await registerRp(server, { postLogoutRedirectUris: [RP_LOGGED_OUT] });
  const cookies = [];
  const agent = new Agent();
  const store = agent.store.bind(agent);
  agent.store = (res) => { cookies.push(...res.headers.getSetCookie()); store(res); };
  const flow = await codeFlow(server, config, { agent });
  // The language switch.
  await (await agent.get(`${server.base}/?lang=fr`)).text();
  // Logout clears the session cookie.
  await agent.get(`${server.base}/logout?${new URLSearchParams({
    id_token_hint: flow.tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT })}`);
  const names = new Set();
  for (const sc of cookies) {
    const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
    const name = pair.slice(0, pair.indexOf('='));
    names.add(name);
    const lower = attrs.map((a) => a.toLowerCase());
    assert.ok(name.startsWith('__Host-'), `${name}: __Host- prefix`);
    assert.ok(lower.includes('secure'), `${name}: Secure (${sc})`);
    assert.ok(lower.includes('httponly'), `${name}: HttpOnly (${sc})`);
    assert.ok(lower.includes('samesite=lax'), `${name}: SameSite=Lax (${sc})`);
    assert.ok(lower.includes('path=/'), `${name}: Path=/ (${sc})`);
    assert.ok(!lower.some((a) => a.startsWith('domain=')), `${name}: no Domain (${sc})`);
  }
  for (const n of ['__Host-sl_session', '__Host-sl_browser', '__Host-sl_lang']) assert.ok(names.has(n), `${n} was set`);
  assert.ok(cookies.some((sc) => /^__Host-sl_session=;/.test(sc) && /Max-Age=0/i.test(sc)), 'logout clears the session');
});

// ------------------------------------------------------------ PAR expiry

// Last in the file: the request was pushed in before(), so most of the
// lifetime has passed while the other tests ran.
test('PAR: an expired request_uri is refused', async () => {
  const { server: short, c, requestUri, pushedAt } = expiring;
  const wait = pushedAt + (PAR_LIFETIME + 1.5) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const url = `${short.base}/authorize?${new URLSearchParams({ client_id: c.client_id, request_uri: requestUri })}`;
  const html = await assertErrorPage(await new Agent().get(url), 400);
  assert.match(html, /request_uri/);
});
