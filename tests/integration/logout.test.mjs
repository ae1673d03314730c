// logout.test.mjs — RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0) against logout CSRF: only an ID token we signed, naming the
// session's own person, logs out without asking; any other hint, or none,
// gets a confirmation page whose POST needs this browser's CSRF token.
// Logging out revokes the tokens issued under the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';
import { startServer, Agent, hiddenInputs } from './lib/harness.mjs';
import {
  RP_LOGGED_OUT, registerRp, codeFlow, hasSession, assertErrorPage, tokenRequest, userinfoStatus,
} from './lib/flows.mjs';

const BOB = { rrn: '90020199874', given_name: 'Bob', family_name: 'Peeters' };
const OFFLINE = { scope: 'openid offline_access' };
let server;

before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

// A client with a registered post-logout URI and a browser logged in to it.
async function loggedIn() {
  const rp = await registerRp(server, { name: 'Mijn gezondheid', postLogoutRedirectUris: [RP_LOGGED_OUT] });
  const agent = new Agent();
  const flow = await codeFlow(server, rp.config, { agent, params: OFFLINE });
  return { ...rp, agent, flow };
}

const logoutUrl = (params) => `${server.base}/logout?${new URLSearchParams(params)}`;

// The confirmation page: 200, a POST form to /logout, nothing ended yet.
async function assertConfirmPage(res) {
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('location'), null);
  const html = await res.text();
  assert.match(html, /<form method="post" action="\/logout"/);
  return { html, hidden: hiddenInputs(html) };
}

function assertBackAtRp(res, state) {
  assert.equal(res.status, 303);
  const loc = new URL(res.headers.get('location'));
  assert.equal(loc.origin + loc.pathname, RP_LOGGED_OUT);
  assert.equal(loc.searchParams.get('state'), state);
}

// The ID token's claims signed again with `key` under the same header.
async function resign(idToken, key, claims = {}) {
  const header = jose.decodeProtectedHeader(idToken);
  return new jose.SignJWT({ ...jose.decodeJwt(idToken), ...claims }).setProtectedHeader(header).sign(key);
}

test('a hint naming another person does not log out: the person is asked, the session lives on', async () => {
  const { c, config, agent } = await loggedIn();
  const bob = await codeFlow(server, config, { person: BOB, params: OFFLINE }); // another browser
  const res = await agent.get(logoutUrl({
    id_token_hint: bob.tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT, state: 'st-1' }));
  const { html, hidden } = await assertConfirmPage(res);
  assert.match(html, /Mijn gezondheid/, 'the page names the site the hint came from');
  assert.equal(hidden.client_id, c.client_id, 'the client is taken from the hint');
  assert.equal(hidden.post_logout_redirect_uri, RP_LOGGED_OUT);
  assert.equal(await hasSession(config, agent), true, 'prompt=none still works');
  // Bob's hint did nothing to Bob's tokens either.
  assert.equal(await userinfoStatus(server, bob.tokens.access_token), 200);
  // The person confirms: logged out, back at the RP with the state.
  assertBackAtRp(await agent.post(`${server.base}/logout`, hidden), 'st-1');
  assert.equal(await hasSession(config, agent), false);
});

test('a hint of the session\'s own person logs out at once and revokes the session\'s tokens', async () => {
  const { c, config, agent, flow } = await loggedIn();
  const basic = [c.client_id, c.client_secret];
  const other = await codeFlow(server, config, { params: OFFLINE }); // same person, another browser
  assert.ok(flow.tokens.refresh_token);
  assertBackAtRp(await agent.get(logoutUrl({
    id_token_hint: flow.tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT, state: 'bye' })), 'bye');
  assert.equal(agent.cookies.has('__Host-sl_session'), false, 'the session cookie is cleared');
  assert.equal(await hasSession(config, agent), false);
  const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: flow.tokens.refresh_token },
    { basic });
  assert.equal(refresh.status, 400, 'the refresh token of the session is revoked');
  assert.equal(refresh.body.error, 'invalid_grant');
  assert.equal(await userinfoStatus(server, flow.tokens.access_token), 401, 'and its access token');
  // The other browser's session and tokens are not this session's.
  assert.equal(await hasSession(config, other.agent), true);
  assert.equal(await userinfoStatus(server, other.tokens.access_token), 200);
  const still = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: other.tokens.refresh_token },
    { basic });
  assert.equal(still.status, 200, JSON.stringify(still.body));
});

// A new login in the same browser (prompt=login at another site) replaces
// the session; what the person got under the old one follows, so the
// logout still ends it.  Another person logging in there ends it at once.
test('tokens of an earlier session in this browser end at logout too', async () => {
  const { c, agent, flow } = await loggedIn();
  const basic = [c.client_id, c.client_secret];
  const b = await registerRp(server, { name: 'Andere site', postLogoutRedirectUris: [RP_LOGGED_OUT] });
  const again = await codeFlow(server, b.config, { agent, params: { ...OFFLINE, prompt: 'login' } });
  assert.equal(again.loggedIn, true, 'prompt=login made a new login');
  assert.equal(await userinfoStatus(server, flow.tokens.access_token), 200, 'the first site\'s tokens live on');
  assertBackAtRp(await agent.get(logoutUrl({
    id_token_hint: again.tokens.id_token, post_logout_redirect_uri: RP_LOGGED_OUT, state: 's2' })), 's2');
  const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: flow.tokens.refresh_token },
    { basic });
  assert.equal(refresh.body.error, 'invalid_grant', 'the first session\'s refresh token ended with the logout');
  assert.equal(await userinfoStatus(server, flow.tokens.access_token), 401);
  assert.equal(await userinfoStatus(server, again.tokens.access_token), 401);

  // Bob logs in in a browser where someone else was: her tokens end then.
  const mine = await loggedIn();
  await codeFlow(server, mine.config, { agent: mine.agent, person: BOB, params: { ...OFFLINE, prompt: 'login' } });
  assert.equal(await userinfoStatus(server, mine.flow.tokens.access_token), 401, 'another person took the browser');
});

test('a hint signed by another key is not used: the person is asked', async () => {
  const { config, agent, flow } = await loggedIn();
  const { privateKey } = await jose.generateKeyPair('ES256');
  const forged = await resign(flow.tokens.id_token, privateKey); // same header and kid, another key
  const { hidden } = await assertConfirmPage(await agent.get(logoutUrl({ id_token_hint: forged })));
  assert.equal(hidden.client_id, undefined, 'nothing is taken from a hint we did not sign');
  assert.equal(await hasSession(config, agent), true);
  // Nor does it let a post_logout_redirect_uri through without a client.
  await assertErrorPage(await agent.get(logoutUrl({ id_token_hint: forged, post_logout_redirect_uri: RP_LOGGED_OUT })),
    400);
  assert.equal(await hasSession(config, agent), true);
});

test('an expired ID token of ours naming the session\'s person is accepted', async () => {
  const { config, agent, flow } = await loggedIn();
  const { kid } = jose.decodeProtectedHeader(flow.tokens.id_token);
  const pem = readFileSync(path.join(server.dir, 'keys', `${kid}.pem`), 'utf8');
  const now = Math.floor(Date.now() / 1000);
  const expired = await resign(flow.tokens.id_token, await jose.importPKCS8(pem, 'ES256'),
    { iat: now - 7200, exp: now - 3600 });
  assertBackAtRp(await agent.get(logoutUrl({
    id_token_hint: expired, post_logout_redirect_uri: RP_LOGGED_OUT, state: 'old' })), 'old');
  assert.equal(await hasSession(config, agent), false);
});

test('without a hint: a confirmation page; a POST with a wrong CSRF token is refused (403)', async () => {
  const { c, config, agent } = await loggedIn();
  const res = await agent.get(logoutUrl({ client_id: c.client_id, post_logout_redirect_uri: RP_LOGGED_OUT,
    state: 's1', ui_locales: 'fr' }));
  const { html, hidden } = await assertConfirmPage(res);
  assert.match(html, /<html lang="fr"/, 'in the language the RP asked');
  assert.equal(hidden.lang, 'fr', 'and so is the answer to the POST');
  assert.ok(hidden.csrf);
  for (const csrf of ['forged', '', undefined]) {
    const form = { ...hidden, csrf };
    if (csrf === undefined) delete form.csrf;
    const bad = await agent.post(`${server.base}/logout`, form);
    await assertErrorPage(bad, 403);
  }
  // Another browser's token does not fit this one.
  const stranger = new Agent();
  stranger.cookies.set('__Host-sl_session', agent.cookies.get('__Host-sl_session'));
  await assertErrorPage(await stranger.post(`${server.base}/logout`, hidden), 403);
  assert.equal(await hasSession(config, agent), true, 'nothing was ended');
  assertBackAtRp(await agent.post(`${server.base}/logout`, hidden), 's1');
  assert.equal(await hasSession(config, agent), false);
});

test('without a session there is nothing to confirm: the logged-out page or the RP at once', async () => {
  const { c } = await registerRp(server, { postLogoutRedirectUris: [RP_LOGGED_OUT] });
  const page = await new Agent().get(`${server.base}/logout`);
  assert.equal(page.status, 200);
  assert.doesNotMatch(await page.text(), /<form method="post" action="\/logout"/);
  assertBackAtRp(await new Agent().get(logoutUrl({ client_id: c.client_id, post_logout_redirect_uri: RP_LOGGED_OUT,
    state: 'gone' })), 'gone');
});

test('a hint that is not a JWS is a bad request', async () => {
  const { config, agent } = await loggedIn();
  for (const bad of ['not-a-jwt', 'a.b.c.d', 'eyJhbGciOiJFUzI1NiJ9..']) {
    await assertErrorPage(await agent.get(logoutUrl({ id_token_hint: bad })), 400);
  }
  assert.equal(await hasSession(config, agent), true);
});
