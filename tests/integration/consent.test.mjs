// consent.test.mjs — per-client allowed scopes and the person's consent
// (security review, issue 8: any client got the national register number).
// A client is registered with the scopes it may be granted (sleutel client
// add/update --scopes); the others are dropped from the grant, at the
// authorization endpoint, PAR and on an SSO answer.  Before a code releases
// data (scopes beyond openid) the person is asked on /login/consent:
// "Do not share" → access_denied, "Share" → code; a subset later is not
// asked again, more is; prompt=none without consent → consent_required;
// prompt=consent always asks; withdrawing on /account asks again and
// revokes the client's tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { startServer, Agent, SLEUTEL, loginWithTestKey, hiddenInputs, isConsentPage, DEMO_PERSON }
  from './lib/harness.mjs';
import { registerRp, authRequest, codeFlow, tokenRequest, assertErrorRedirect, RP_CB } from './lib/flows.mjs';
import { sql as dbSql } from './lib/db.mjs';

const execFileP = promisify(execFile);
const OTHER = { rrn: '90020212345', given_name: 'Eva', family_name: 'Andere' };
let server;

before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

// Run the CLI expecting it to fail: its stderr.
async function cliFails(...args) {
  const r = await execFileP(SLEUTEL, ['--config', server.configPath, ...args], { encoding: 'utf8' })
    .then(() => null, (e) => e);
  assert.ok(r, `sleutel ${args.join(' ')} succeeded`);
  assert.notEqual(r.code, 0);
  return r.stderr;
}

// Authorize → test key → the consent page (not answered): its URL and HTML.
async function toConsent(rp, params, { agent = new Agent(), person = DEMO_PERSON } = {}) {
  const req = await authRequest(rp.config, { ui_locales: 'en', ...params });
  const at = await loginWithTestKey(server, req.url, { agent, person, consent: null });
  return { req, agent, at, consent: isConsentPage(server, at) };
}

async function consentPage(agent, at) {
  const res = await agent.get(at.href);
  assert.equal(res.status, 200, 'the consent page');
  return res.text();
}

async function answer(agent, html, decision) {
  const res = await agent.post(`${server.base}/login/consent`, { ...hiddenInputs(html), decision });
  assert.equal(res.status, 303, `consent answer answered ${res.status}`);
  return new URL(res.headers.get('location'));
}

const listed = (html) => [...html.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]);

async function redeem(rp, req, back) {
  const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
    pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims().sub);
  return { tokens, info };
}

test('client add --scopes: unknown scopes refused clearly, default openid profile, show/list/update', async () => {
  const add = ['client', 'add', '--name', 'X', '--redirect-uri', RP_CB, '--scopes'];
  assert.match(await cliFails(...add, 'openid email'),
    /--scopes: unknown scope "email" \(known: openid profile eid offline_access\)/);
  assert.match(await cliFails(...add, 'profile eid'), /--scopes: openid is required/);
  assert.match(await cliFails(...add, 'x'.repeat(300)), /--scopes: at most 256 characters/);

  const plain = await server.client({ name: 'Plain' });
  assert.equal(plain.scopes, 'openid profile', 'the default');
  const eid = await server.client({ name: 'With eid', scopes: 'eid openid,offline_access' });
  assert.equal(eid.scopes, 'openid eid offline_access', 'kept in the provider\'s order');
  assert.equal(JSON.parse(await server.cli('client', 'show', eid.client_id, '--json')).scopes, 'openid eid offline_access');
  assert.match(await server.cli('client', 'show', eid.client_id), /^scopes\s+openid eid offline_access$/m);
  const list = JSON.parse(await server.cli('client', 'list', '--json'));
  assert.equal(list.find((c) => c.client_id === plain.client_id).scopes, 'openid profile');
  assert.match(await server.cli('client', 'list'), /SCOPES/);

  const updated = await server.cli('client', 'update', plain.client_id, '--scopes', 'openid profile eid', '--json');
  assert.equal(JSON.parse(updated).scopes, 'openid profile eid');
  assert.match(await cliFails('client', 'update', plain.client_id, '--scopes', 'openid bogus'), /unknown scope "bogus"/);
  assert.match(await cliFails('client', 'update', 'nosuchclient', '--scopes', 'openid'), /no client nosuchclient/);
  assert.match(await cliFails('client', 'update', plain.client_id, '--name', 'Y'), /only --scopes/);
});

test('a client without eid asking for it: no national register number, granted scope without eid', async () => {
  const rp = await registerRp(server, { name: 'No eid' });
  const agent = new Agent();
  const flow = await codeFlow(server, rp.config, { agent, params: { scope: 'openid profile eid' } });
  assert.equal(flow.tokens.scope, 'openid profile', 'the token response names what was granted');
  const info = await oidc.fetchUserInfo(rp.config, flow.tokens.access_token, flow.claims.sub);
  assert.equal(info.given_name, 'Demo');
  assert.equal(info.national_register_number, undefined);
  assert.equal(flow.claims.national_register_number, undefined);

  // SSO with prompt=none: still not.
  const sso = await codeFlow(server, rp.config, { agent, params: { scope: 'openid eid', prompt: 'none' } });
  assert.equal(sso.loggedIn, false, 'answered by the session');
  assert.equal(sso.tokens.scope, 'openid');
  const info2 = await oidc.fetchUserInfo(rp.config, sso.tokens.access_token, sso.claims.sub);
  assert.equal(info2.national_register_number, undefined);

  // Pushed (PAR): the same filter.
  const req = await authRequest(rp.config, { scope: 'openid eid' });
  const par = await tokenRequest(server, req.params, { basic: [rp.c.client_id, rp.c.client_secret], endpoint: '/par' });
  assert.equal(par.status, 201);
  const url = `${server.base}/authorize?client_id=${rp.c.client_id}&request_uri=${encodeURIComponent(par.body.request_uri)}`;
  const back = await loginWithTestKey(server, url, { agent });
  const { tokens, info: info3 } = await redeem(rp, req, back);
  assert.equal(tokens.scope, 'openid');
  assert.equal(info3.national_register_number, undefined);
});

test('a client without profile: the claims parameter cannot pull the name', async () => {
  const rp = await registerRp(server, { name: 'Bare', scopes: 'openid' });
  const claims = JSON.stringify({ userinfo: { given_name: null }, id_token: { family_name: null } });
  const flow = await codeFlow(server, rp.config, { params: { scope: 'openid profile', claims }, consent: null });
  assert.equal(flow.tokens.scope, 'openid');
  assert.equal(flow.claims.family_name, undefined);
  const info = await oidc.fetchUserInfo(rp.config, flow.tokens.access_token, flow.claims.sub);
  assert.equal(info.given_name, undefined);
});

test('a client allowed eid: asked once, deny → access_denied, share → code, then not again', async () => {
  const rp = await registerRp(server, { name: 'Mijn gezondheid', scopes: 'openid profile eid offline_access' });
  // First login: the page, in the person's words.
  let c = await toConsent(rp, { scope: 'openid profile eid' });
  assert.ok(c.consent, `expected the consent page, got ${c.at}`);
  let html = await consentPage(c.agent, c.at);
  assert.match(html, /<h1>Share your data with Mijn gezondheid\?<\/h1>/);
  assert.deepEqual(listed(html), ['Your name', 'Your date of birth', 'Your national register number']);
  assert.match(html, /<button type="submit" name="decision" value="share">Share<\/button>/);
  assert.match(html, /value="deny" class="secondary">Do not share<\/button>/);
  // A forged answer (no CSRF token of this browser) does nothing.
  const forged = await new Agent().post(`${server.base}/login/consent`,
    { ...hiddenInputs(html), decision: 'share' });
  assert.equal(forged.status, 404);
  const noCsrf = await c.agent.post(`${server.base}/login/consent`, { ...hiddenInputs(html), csrf: 'x', decision: 'share' });
  assert.equal(noCsrf.status, 403);

  // Do not share: access_denied at the RP, no code.
  const denied = await answer(c.agent, html, 'deny');
  assert.equal(denied.origin + denied.pathname, RP_CB);
  assert.equal(denied.searchParams.get('error'), 'access_denied');
  assert.equal(denied.searchParams.get('state'), c.req.state);
  assert.equal(denied.searchParams.get('code'), null);

  // Again, and share: a code, and the data.
  c = await toConsent(rp, { scope: 'openid profile eid' });
  assert.ok(c.consent, 'refusing stored nothing: asked again');
  html = await consentPage(c.agent, c.at);
  const back = await answer(c.agent, html, 'share');
  assert.ok(back.searchParams.get('code'));
  const { tokens, info } = await redeem(rp, c.req, back);
  assert.equal(tokens.scope, 'openid profile eid');
  assert.equal(info.national_register_number, DEMO_PERSON.rrn);

  // A new browser, the same person, a subset: not asked.
  c = await toConsent(rp, { scope: 'openid eid' });
  assert.equal(c.consent, false, `a subset of what was agreed is not asked again (${c.at})`);
  assert.ok(c.at.searchParams.get('code'));
  // The SSO session answers too, prompt=none included.
  const sso = await codeFlow(server, rp.config, { agent: c.agent, params: { scope: 'openid profile eid', prompt: 'none' }, consent: null });
  assert.equal(sso.loggedIn, false);
  assert.equal(sso.tokens.scope, 'openid profile eid');

  // More: asked again, for the new data only; prompt=none → consent_required.
  const none = await authRequest(rp.config, { scope: 'openid profile offline_access', prompt: 'none' });
  const res = await c.agent.get(none.url.href);
  assertErrorRedirect(server, res, { error: 'consent_required', state: none.state });
  const more = await authRequest(rp.config, { scope: 'openid profile offline_access', ui_locales: 'en' });
  const at = await loginWithTestKey(server, more.url, { agent: c.agent, consent: null });
  assert.ok(isConsentPage(server, at), `SSO with more scopes asks (${at})`);
  html = await consentPage(c.agent, at);
  assert.deepEqual(listed(html), ['Stay connected: the site may use this data when you are not there (offline access)']);
  const back2 = await answer(c.agent, html, 'share');
  assert.equal((await redeem(rp, more, back2)).tokens.scope, 'openid profile offline_access');

  // prompt=consent always asks, for all of it.
  c = await toConsent(rp, { scope: 'openid profile eid', prompt: 'consent' });
  assert.ok(c.consent, 'prompt=consent asks');
  html = await consentPage(c.agent, c.at);
  assert.deepEqual(listed(html), ['Your name', 'Your date of birth', 'Your national register number']);
  assert.ok((await answer(c.agent, html, 'share')).searchParams.get('code'));

  // Another person has agreed to nothing: asked.
  c = await toConsent(rp, { scope: 'openid eid' }, { person: OTHER });
  assert.ok(c.consent, 'consent is per person');
  // openid only asks nothing.
  c = await toConsent(rp, { scope: 'openid' }, { person: OTHER });
  assert.equal(c.consent, false);
});

// Two answers at once (a double click on Share): one code, one session;
// the other answer finds the request answered (409 page), never a second
// code.
test('a double-submitted Share gives one code, not two', async () => {
  const rp = await registerRp(server, { name: 'Dubbel', scopes: 'openid profile' });
  const c = await toConsent(rp, { scope: 'openid profile' }, { person: OTHER });
  assert.ok(c.consent);
  const html = await consentPage(c.agent, c.at);
  const form = { ...hiddenInputs(html), decision: 'share' };
  const answers = await Promise.all([1, 2, 3].map(() => c.agent.post(`${server.base}/login/consent`, form)));
  const codes = answers.filter((r) => r.status === 303 && new URL(r.headers.get('location')).searchParams.get('code'));
  assert.equal(codes.length, 1, `answers: ${answers.map((r) => r.status)}`);
  for (const r of answers.filter((x) => !codes.includes(x))) {
    assert.ok(r.status === 409 || r.status === 404, `a second answer: ${r.status}`);
    assert.doesNotMatch(r.headers.get('location') || '', /code=/);
  }
});

test('prompt=none on a session without consent for this client: consent_required', async () => {
  const first = await registerRp(server, { name: 'First' });
  const second = await registerRp(server, { name: 'Second', scopes: 'openid profile eid' });
  const agent = new Agent();
  await codeFlow(server, first.config, { agent, params: { scope: 'openid' } });
  const req = await authRequest(second.config, { scope: 'openid eid', prompt: 'none' });
  const res = await agent.get(req.url.href);
  assertErrorRedirect(server, res, { error: 'consent_required', state: req.state });
  // Without prompt=none the session leads to the consent page, not the key choice.
  const again = await authRequest(second.config, { scope: 'openid eid' });
  const res2 = await agent.get(again.url.href);
  assert.equal(res2.status, 303);
  assert.ok(isConsentPage(server, res2.headers.get('location')), res2.headers.get('location'));
});

// Log in to /account as `person`.
async function loginToAccount(agent, person = DEMO_PERSON) {
  let res = await agent.get(`${server.base}/account/login?lang=en`);
  const back = await loginWithTestKey(server, new URL(res.headers.get('location'), server.base), { agent, person });
  res = await agent.get(String(back));
  assert.equal(res.status, 303);
  res = await agent.get(`${server.base}/account?lang=en`);
  assert.equal(res.status, 200);
  return res.text();
}

test('/account lists the consents; withdrawing revokes tokens and asks again next time', async () => {
  const rp = await registerRp(server, { name: 'Withdraw me', scopes: 'openid profile eid offline_access' });
  const agent = new Agent();
  const flow = await codeFlow(server, rp.config, { agent, params: { scope: 'openid profile eid offline_access' } });
  assert.ok(flow.tokens.refresh_token);

  let html = await loginToAccount(agent);
  assert.match(html, /<h2>Sites you share data with<\/h2>/);
  const row = html.match(/<tr><th scope="row">Withdraw me<\/th><td><ul class="consent">([\s\S]*?)<\/ul>[\s\S]*?<\/form><\/td><\/tr>/);
  assert.ok(row, 'the site is listed');
  assert.deepEqual(listed(row[1]), ['Your name', 'Your date of birth', 'Your national register number',
    'Stay connected: the site may use this data when you are not there (offline access)']);
  const form = Object.fromEntries([...row[0].matchAll(/name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  assert.equal(form.client, rp.c.client_id);
  assert.match(row[0], /<button type="submit" class="secondary">Withdraw consent for Withdraw me<\/button>/);

  // CSRF token required; another browser's session cannot withdraw.
  let res = await agent.post(`${server.base}/account/consents/withdraw`, { ...form, csrf: 'nope' });
  assert.equal(res.status, 403);
  res = await new Agent().post(`${server.base}/account/consents/withdraw`, form);
  assert.equal(res.status, 401);
  res = await agent.post(`${server.base}/account/consents/withdraw`, { ...form, client: 'unknown' });
  assert.equal(res.status, 404);

  res = await agent.post(`${server.base}/account/consents/withdraw`, form);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account?withdrawn=1&lang=en');
  html = await (await agent.get(`${server.base}/account?withdrawn=1&lang=en`)).text();
  assert.match(html, /Your consent was withdrawn\./);
  assert.doesNotMatch(html, /<th scope="row">Withdraw me<\/th>/, 'no longer listed');
  assert.match(html, /<th scope="row">Mijn gezondheid<\/th>/, 'the other sites stay');

  // The client's tokens of this person are revoked.
  const info = await fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${flow.tokens.access_token}` } });
  assert.equal(info.status, 401);
  const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: flow.tokens.refresh_token },
    { basic: [rp.c.client_id, rp.c.client_secret] });
  assert.equal(refresh.status, 400);

  // The next login, even on the session, asks again.
  const req = await authRequest(rp.config, { scope: 'openid eid' });
  const at = await loginWithTestKey(server, req.url, { agent, consent: null });
  assert.ok(isConsentPage(server, at), `asked again after withdrawal (${at})`);

  // The audit trail has the consent given and withdrawn, with ids only.
  const audit = dbSql(server,
    `SELECT event || '|' || coalesce(detail, '') FROM audit WHERE client_id = '${rp.c.client_id}'` +
    " AND event LIKE 'consent.%' ORDER BY seq").split('\n');
  assert.deepEqual(audit, ['consent.given|profile eid offline_access', 'consent.withdrawn|by the person: 2 tokens revoked']);
});

// review8: `client update --scopes` without eid does not stop the national
// register number.  The grant's scope lives in its refresh token, and each
// refresh (token.c grant_refresh) copies it into a new refresh token with a
// new lifetime; /userinfo (userinfo.c) answers from the token's scope
// alone.  So a client the operator took eid away from keeps reading the
// number for as long as it keeps refreshing.  What a token releases must
// be within what its client may be granted now.
test('review8: taking eid away from a client stops the national register number, refresh or not', async () => {
  const rp = await registerRp(server, { scopes: 'openid profile eid offline_access' });
  const flow = await codeFlow(server, rp.config, { params: { scope: 'openid profile eid offline_access' } });
  assert.match(flow.tokens.scope, /\beid\b/);
  assert.ok(flow.tokens.refresh_token, 'a refresh token (offline_access)');
  await server.cli('client', 'update', rp.c.client_id, '--scopes', 'openid profile offline_access', '--json');
  const refreshed = await oidc.refreshTokenGrant(rp.config, flow.tokens.refresh_token);
  const info = await oidc.fetchUserInfo(rp.config, refreshed.access_token, oidc.skipSubjectCheck);
  assert.equal(info.national_register_number, undefined,
    `after client update --scopes without eid, a refreshed token (scope "${refreshed.scope}") still reads it`);
  assert.doesNotMatch(refreshed.scope ?? '', /\beid\b/);
  // secfix3: the access token issued before the update neither.
  const before = await oidc.fetchUserInfo(rp.config, flow.tokens.access_token, oidc.skipSubjectCheck);
  assert.equal(before.national_register_number, undefined, 'an access token issued before the update reads it');
  assert.ok(before.given_name, 'profile is still granted');
  // Taking offline_access away ends the refreshes.
  await server.cli('client', 'update', rp.c.client_id, '--scopes', 'openid profile', '--json');
  await assert.rejects(oidc.refreshTokenGrant(rp.config, refreshed.refresh_token),
    (e) => e.error === 'invalid_grant' && /offline_access/.test(e.error_description));
});

// secfix3: the same for profile and a claims request: a client the
// operator took profile from gets no name from the claims it asked for,
// neither at /userinfo nor in the ID token of a refresh.
test('taking profile away: the claims request no longer gives the name, at userinfo or in a refreshed ID token', async () => {
  const rp = await registerRp(server, { scopes: 'openid profile offline_access' });
  const claims = JSON.stringify({ userinfo: { given_name: null }, id_token: { family_name: null } });
  const flow = await codeFlow(server, rp.config, { params: { scope: 'openid offline_access', claims } });
  assert.ok(flow.claims.family_name, 'the claims request gives the name while profile is allowed');
  await server.cli('client', 'update', rp.c.client_id, '--scopes', 'openid offline_access', '--json');
  const refreshed = await oidc.refreshTokenGrant(rp.config, flow.tokens.refresh_token);
  assert.equal(refreshed.claims().family_name, undefined, 'the refreshed ID token');
  for (const at of [flow.tokens.access_token, refreshed.access_token]) {
    const info = await oidc.fetchUserInfo(rp.config, at, oidc.skipSubjectCheck);
    assert.equal(info.given_name, undefined, 'userinfo');
  }
});

