// fapi2.test.mjs — the OpenID fapi2-security-profile-final plan, part 1:
// discovery, the happy flow with DPoP-bound tokens, the authorization
// request (PAR only, state/nonce edge cases, response types, redirect
// URIs) and PKCE.  Each test is named after the suite's module it
// reproduces (tests/conformance.md).  One server for the file, plus one
// with [oidc] par_lifetime = 10 whose pushed request is made in before()
// so that its expiry overlaps the other tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import { RP_CB, sleep, authorizeOnce, browse, completeLogin, assertCodeResponse, assertErrorRedirect, assertErrorPage, verifyIdToken } from './lib/flows.mjs';
import { fapiClient, dpopKey, fapiParams, fapiCode, fapiFlow, rawPost, userinfo, redeem, serverNonce } from './lib/fapi2.mjs';

let server;
let dir;
let expiring; // { server, fc, requestUri, pushedAt }
let serverStart; // the main server's start (a promise)
const PAR_LIFETIME = 10;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-fapi2-'));
  const short = await startServer({ config: { oidc: { par_lifetime: PAR_LIFETIME } } });
  expiring = { server: short };
  // Kept, so after() stops it also when the other half failed first.
  serverStart = startServer();
  [server] = await Promise.all([serverStart, (async () => {
    const fc = await fapiClient(short, dir);
    const [r, used] = await Promise.all([0, 1].map(async () => rawPost(short, fc, '/par', (await fapiParams()).params)));
    assert.equal(r.status, 201);
    assert.equal(used.status, 201);
    // `used` is visited once now (the key choice shown, no login): its
    // reload after the expiry must fail as well.
    const agent = new Agent();
    const url = `${short.base}/authorize?${new URLSearchParams({ client_id: fc.c.client_id, request_uri: used.body.request_uri })}`;
    const first = await authorizeOnce(short, agent, url);
    assert.equal(first.toLogin, true);
    Object.assign(expiring, { fc, requestUri: r.body.request_uri, pushedAt: Date.now(), used: { agent, url, login: first.location.href } });
  })()]);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  server ??= await serverStart?.catch(() => null);
  const results = await Promise.allSettled([server?.stop(), expiring?.server?.stop()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

// A pushed request of `fc` with these parameters; its request_uri.
async function push(fc, extra = {}) {
  const { params, verifier } = await fapiParams(extra);
  const r = await rawPost(server, fc, '/par', params);
  return { ...r, params, verifier };
}

function authorizeUrl(fc, requestUri, extra = {}) {
  return `${server.base}/authorize?${new URLSearchParams({ client_id: fc.c.client_id, request_uri: requestUri, ...extra })}`;
}

test('fapi2-security-profile-final-discovery-end-point-verification', async () => {
  const res = await fetch(`${server.base}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const d = await res.json();
  assert.equal(d.issuer, server.issuer);
  assert.equal(d.pushed_authorization_request_endpoint, `${server.issuer}/par`);
  assert.deepEqual(d.dpop_signing_alg_values_supported, ['ES256', 'PS256']);
  assert.equal(d.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.ok(d.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  assert.ok(!d.token_endpoint_auth_signing_alg_values_supported.includes('RS256'));
  assert.ok(!d.dpop_signing_alg_values_supported.includes('RS256'));
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
    assert.ok(d[k].startsWith(`${server.issuer}/`), k);
  }
});

test('fapi2-security-profile-final-happy-flow', async () => {
  const fc = await fapiClient(server, dir);
  const show = JSON.parse(await server.cli('client', 'show', fc.c.client_id, '--json'));
  assert.equal(show.profile, 'fapi2');
  assert.equal(show.require_par, true);
  const f = await fapiFlow(server, fc.config, { extra: { scope: 'openid profile offline_access' } });
  assert.equal(f.back.searchParams.get('iss'), server.issuer); // RFC 9207
  assert.equal(f.tokens.token_type.toLowerCase(), 'dpop');
  assert.ok(f.tokens.refresh_token);
  const { payload } = await verifyIdToken(server, f.tokens.id_token, { alg: 'ES256', clientId: fc.c.client_id });
  assert.equal(payload.nonce, f.params.nonce);
  // userinfo through openid-client (DPoP scheme, proof with ath, nonce retry)
  const ui = await oidc.fetchUserInfo(fc.config, f.tokens.access_token, payload.sub, { DPoP: f.dpop });
  assert.equal(ui.sub, payload.sub);
  assert.equal(ui.given_name, 'Demo');
  // the same token as a bearer token is refused (RFC 9449 §7.2)
  const bearer = await userinfo(server, f.tokens.access_token, { scheme: 'Bearer' });
  assert.equal(bearer.status, 401);
  assert.match(bearer.headers.get('www-authenticate'), /^DPoP error="invalid_token"/);
});

test('fapi2-security-profile-final-user-rejects-authentication', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc);
  assert.equal(r.status, 201);
  const agent = new Agent();
  const a = await authorizeOnce(server, agent, authorizeUrl(fc, r.body.request_uri));
  assert.equal(a.toLogin, true);
  const page = await agent.get(a.location.href);
  const hidden = hiddenInputs(await page.text());
  const res = await agent.post(`${server.base}/login/cancel`, hidden);
  assertErrorRedirect(server, res, { error: 'access_denied', state: r.params.state });
});

test('fapi2-security-profile-final-ensure-authorization-request-without-state-success', async () => {
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config, { extra: { state: null } });
  assert.equal(f.back.searchParams.get('state'), null);
  assert.ok(f.tokens.access_token);
});

test('fapi2-security-profile-final-ensure-authorization-request-without-nonce-success', async () => {
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config, { extra: { nonce: null } });
  assert.equal(f.tokens.claims().nonce, undefined);
});

test('fapi2-security-profile-final-ensure-authorization-request-with-64-char-nonce-success', async () => {
  const fc = await fapiClient(server, dir);
  const nonce = 'n'.repeat(32) + 'N'.repeat(32);
  const f = await fapiFlow(server, fc.config, { extra: { nonce } });
  assert.equal(f.tokens.claims().nonce, nonce);
});

test('fapi2-security-profile-final-ensure-other-scope-order-succeeds', async () => {
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config, { extra: { scope: 'profile openid' } });
  assert.equal(f.tokens.scope, 'openid profile');
});

test('fapi2-security-profile-final-test-claims-parameter-identity-claims', async () => {
  const fc = await fapiClient(server, dir, { scopes: 'openid profile' });
  const claims = JSON.stringify({ id_token: { given_name: { essential: true }, family_name: null } });
  const f = await fapiFlow(server, fc.config, { extra: { scope: 'openid', claims } });
  assert.equal(f.tokens.claims().given_name, 'Demo');
  assert.equal(f.tokens.claims().family_name, 'Citizen');
});

test('fapi2-security-profile-final-access-token-type-header-case-sensitivity', async () => {
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config);
  // The scheme is case-insensitive (RFC 9110 §11.1); a first try without a
  // nonce is answered use_dpop_nonce with one.
  let r = await userinfo(server, f.tokens.access_token, { scheme: 'dpop', key: f.key });
  const n = r.headers.get('dpop-nonce');
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /^DPoP error="use_dpop_nonce"/);
  r = await userinfo(server, f.tokens.access_token, { scheme: 'dpop', key: f.key, nonce: n });
  assert.equal(r.status, 200);
  for (const scheme of ['DPOP', 'DPoP']) {
    r = await userinfo(server, f.tokens.access_token, { scheme, key: f.key, nonce: n });
    assert.equal(r.status, 200, scheme);
  }
});

for (const [name, what] of [['long-nonce', 'nonce'], ['long-state', 'state']]) {
  test(`fapi2-security-profile-final-ensure-authorization-request-with-${name}`, async () => {
    const fc = await fapiClient(server, dir);
    const value = oidc.randomState().repeat(20).slice(0, 384);
    const f = await fapiFlow(server, fc.config, { extra: { [what]: value } });
    if (what === 'nonce') assert.equal(f.tokens.claims().nonce, value);
    else assert.equal(f.back.searchParams.get('state'), value);
    // beyond [oidc] the parameter limit (2048 bytes) the push is refused
    const r = await push(fc, { [what]: 'x'.repeat(2049) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
  });
}

test('fapi2-security-profile-final-ensure-registered-redirect-uri', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc, { redirect_uri: 'https://evil.example/cb' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
});

test('fapi2-security-profile-final-plain-fapi-tolerate-unregistered-redirect-uri', async () => {
  // The suite lets a server accept an unregistered redirect_uri pushed by an
  // authenticated client; sleutel does not (exact match of a registered URI).
  const fc = await fapiClient(server, dir);
  const r = await push(fc, { redirect_uri: `${RP_CB}/other` });
  assert.equal(r.status, 400);
  assert.match(r.body.error_description, /redirect_uri/);
});

test('fapi2-security-profile-final-ensure-unsigned-authorization-request-without-using-par-fails', async () => {
  const fc = await fapiClient(server, dir);
  const { params } = await fapiParams();
  const res = await new Agent().get(`${server.base}/authorize?${new URLSearchParams({ client_id: fc.c.client_id, response_type: 'code', ...params })}`);
  const loc = assertErrorRedirect(server, res, { error: 'invalid_request', state: params.state });
  assert.match(loc.searchParams.get('error_description'), /pushed/);
});

test('fapi2-security-profile-final-ensure-redirect-uri-in-authorization-request', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc, { redirect_uri: null });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
});

for (const [mod, rt] of [['code-idtoken', 'code id_token'], ['token', 'token']]) {
  test(`fapi2-security-profile-final-ensure-response-type-${mod}-fails`, async () => {
    const fc = await fapiClient(server, dir);
    const r = await push(fc, { response_type: rt });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'unsupported_response_type');
    // response_type=code itself is what openid-client sends, and works (happy flow)
  });
}

// A refused request_uri: invalid_request_uri's page (its title) and reason.
async function assertUnusable(res) {
  const html = await assertErrorPage(res, 400);
  assert.match(html, /<h1>Deze aanmeldlink is verlopen<\/h1>/);
  assert.match(html, /request_uri is unknown, used or expired/);
}

test('fapi2-security-profile-final-par-ensure-reused-request-uri-prior-to-auth-completion-succeeds', async () => {
  // The request_uri is one-time use at the point of authorization (FAPI
  // 2.0 §5.3.2.2 note 3): a second visit by the same browser before the
  // login finished (a reload, the back button) goes back to the same
  // login, which then completes; the code is redeemed with the push's PKCE.
  const fc = await fapiClient(server, dir);
  const r = await push(fc);
  const agent = new Agent();
  const first = await authorizeOnce(server, agent, authorizeUrl(fc, r.body.request_uri));
  assert.equal(first.toLogin, true);
  for (let i = 0; i < 2; i++) {
    const again = await authorizeOnce(server, agent, authorizeUrl(fc, r.body.request_uri));
    assert.equal(again.res.status, 303);
    assert.equal(again.location.href, first.location.href, 'the same pending login, not a new one');
  }
  // Another browser with the captured request_uri meanwhile (RFC 9126 §7.3): refused.
  await assertUnusable(await new Agent().get(authorizeUrl(fc, r.body.request_uri)));
  const back = await completeLogin(server, agent, first.location);
  assertCodeResponse(server, back, r.params.state);
  const key = await dpopKey();
  const t = await redeem(server, fc, { code: back.searchParams.get('code'), verifier: r.verifier },
    { key, nonce: await serverNonce(server, fc, key) });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.body.token_type, 'DPoP');
});

test('fapi2-security-profile-final-par-attempt-reuse-request_uri', async () => {
  const fc = await fapiClient(server, dir);
  const f = await fapiFlow(server, fc.config);
  assert.ok(f.tokens.access_token);
  const r = await push(fc);
  const agent = new Agent();
  const { back } = await browse(server, agent, authorizeUrl(fc, r.body.request_uri));
  assert.ok(back.searchParams.get('code'));
  // After the code: refused for the browser that logged in (it has an SSO
  // session now, which must not answer a used request_uri) and any other.
  await assertUnusable(await agent.get(authorizeUrl(fc, r.body.request_uri)));
  await assertUnusable(await new Agent().get(authorizeUrl(fc, r.body.request_uri)));
  // A login that ended in a refusal (cancel on the key choice) uses the request_uri up as well.
  const d = await push(fc);
  const da = new Agent();
  const a = await authorizeOnce(server, da, authorizeUrl(fc, d.body.request_uri));
  assert.equal(a.toLogin, true);
  const hidden = hiddenInputs(await (await da.get(a.location.href)).text());
  assertErrorRedirect(server, await da.post(`${server.base}/login/cancel`, hidden), { error: 'access_denied', state: d.params.state });
  await assertUnusable(await da.get(authorizeUrl(fc, d.body.request_uri)));
  // With an SSO session the first visit answers at once; a second one is refused.
  const s = await push(fc);
  const sso = await authorizeOnce(server, agent, authorizeUrl(fc, s.body.request_uri));
  assert.equal(sso.toLogin, false);
  await assertUnusable(await agent.get(authorizeUrl(fc, s.body.request_uri)));
});

test('PAR: of first visits at once by different browsers, one takes the request_uri', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc);
  const visits = await Promise.all(Array.from({ length: 6 }, async () => {
    const agent = new Agent();
    return { agent, v: await authorizeOnce(server, agent, authorizeUrl(fc, r.body.request_uri)) };
  }));
  const won = visits.filter((x) => x.v.toLogin);
  assert.equal(won.length, 1, `visits: ${visits.map((x) => x.v.res.status).join(',')}`);
  for (const x of visits) if (!x.v.toLogin) await assertUnusable(x.v.res);
  // The winner's login completes.
  const back = await completeLogin(server, won[0].agent, won[0].v.location);
  assertCodeResponse(server, back, r.params.state);
});

test('fapi2-security-profile-final-par-attempt-to-use-request_uri-for-different-client', async () => {
  const a = await fapiClient(server, dir);
  const b = await fapiClient(server, dir);
  const r = await push(a);
  const res = await new Agent().get(authorizeUrl(b, r.body.request_uri));
  await assertErrorPage(res, 400);
  // a's own use still works: the attempt did not consume it... it did (single use); a fresh one works
  const { back } = await browse(server, new Agent(), authorizeUrl(a, (await push(a)).body.request_uri));
  assert.ok(back.searchParams.get('code'));
});

test('fapi2-security-profile-final-par-attempt-to-use-expired-request_uri', async () => {
  const { server: short, fc, requestUri, pushedAt } = expiring;
  const wait = pushedAt + (PAR_LIFETIME + 1.5) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const res = await new Agent().get(`${short.base}/authorize?${new URLSearchParams({ client_id: fc.c.client_id, request_uri: requestUri })}`);
  await assertUnusable(res);
  // The one visited before the expiry: its reload fails now too, though
  // its pending login ([server] request_lifetime) still lives.
  const { agent, url, login } = expiring.used;
  await assertUnusable(await agent.get(url));
  assert.equal((await agent.get(login)).status, 200, 'the login page itself is still there');
});

test('fapi2-security-profile-final-par-authorization-request-containing-request_uri-form-param', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc, { request_uri: 'urn:ietf:params:oauth:request_uri:abc' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'request_uri_not_supported');
  // and a FAPI client's /authorize takes nothing beyond client_id and request_uri
  const ok = await push(fc);
  const res = await new Agent().get(authorizeUrl(fc, ok.body.request_uri, { scope: 'openid eid' }));
  assertErrorRedirect(server, res, { error: 'invalid_request', state: ok.params.state });
});

test('fapi2-security-profile-final-par-attempt-invalid-http-method', async () => {
  const res = await fetch(`${server.base}/par`);
  assert.equal(res.status, 405);
  await res.text();
});

test('fapi2-security-profile-final-par-ensure-pkce-required', async () => {
  const fc = await fapiClient(server, dir);
  const r = await push(fc, { code_challenge: null, code_challenge_method: null });
  assert.equal(r.status, 400);
  assert.match(r.body.error_description, /PKCE|code_challenge/);
});

test('fapi2-security-profile-final-par-plain-pkce-rejected', async () => {
  const fc = await fapiClient(server, dir);
  const v = oidc.randomPKCECodeVerifier();
  const r = await push(fc, { code_challenge: v, code_challenge_method: 'plain' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
});

test('fapi2-security-profile-final-ensure-pkce-code-verifier-required', async () => {
  const fc = await fapiClient(server, dir);
  const key = await dpopKey();
  const dpop = oidc.getDPoPHandle(fc.config, key);
  const code = await fapiCode(server, fc.config, { dpop });
  await assert.rejects(oidc.authorizationCodeGrant(fc.config, code.back, { expectedState: code.params.state }, undefined, { DPoP: dpop }),
    (e) => e.error === 'invalid_grant');
});

test('fapi2-security-profile-final-incorrect-pkce-code-verifier-rejected', async () => {
  const fc = await fapiClient(server, dir);
  const key = await dpopKey();
  const dpop = oidc.getDPoPHandle(fc.config, key);
  const code = await fapiCode(server, fc.config, { dpop });
  await assert.rejects(oidc.authorizationCodeGrant(fc.config, code.back,
    { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: code.params.state }, undefined, { DPoP: dpop }),
  (e) => e.error === 'invalid_grant' && /code_verifier/.test(e.error_description));
});

test('fapi2-security-profile-final-par-without-duplicate-parameters', async () => {
  const fc = await fapiClient(server, dir);
  const { params } = await fapiParams();
  const body = `${new URLSearchParams(params)}&scope=openid`;
  const a = await (await import('./lib/flows.mjs')).assertion(server, fc.c.client_id, fc.key.privateKey, { alg: 'ES256' });
  const res = await fetch(`${server.base}/par`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${body}&${new URLSearchParams({ client_id: fc.c.client_id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a })}`,
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, 'invalid_request');
});

test('the fapi2 profile: CLI rules', async () => {
  // --profile fapi2 needs private_key_jwt; an unknown profile is refused
  await assert.rejects(server.cli('client', 'add', '--name', 'x', '--redirect-uri', RP_CB, '--profile', 'fapi2'),
    /private_key_jwt/);
  await assert.rejects(server.cli('client', 'add', '--name', 'x', '--redirect-uri', RP_CB, '--profile', 'fapi3'),
    /default or fapi2/);
  const plain = JSON.parse(await server.cli('client', 'add', '--name', 'x', '--redirect-uri', RP_CB, '--json'));
  assert.equal(plain.profile, 'default');
  await assert.rejects(server.cli('client', 'update', plain.client_id, '--profile', 'fapi2'), /private_key_jwt/);
  // a default private_key_jwt client made fapi2 by update must then use PAR
  const fc = await fapiClient(server, dir, { profile: 'default' });
  assert.equal(fc.c.require_par, false);
  const up = JSON.parse(await server.cli('client', 'update', fc.c.client_id, '--profile', 'fapi2', '--json'));
  assert.equal(up.profile, 'fapi2');
  assert.equal(up.require_par, true);
  const back = JSON.parse(await server.cli('client', 'update', fc.c.client_id, '--profile', 'default', '--json'));
  assert.equal(back.profile, 'default');
  void jose;
});
