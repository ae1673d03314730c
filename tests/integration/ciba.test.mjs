// ciba.test.mjs — OpenID CIBA Core 1.0 at /bc-authorize and the token
// endpoint's urn:openid:params:grant-type:ciba, poll and ping, with the JS
// phone answering; every error the RP can meet; discovery.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as jose from 'jose';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { startServer } from './lib/harness.mjs';
import { sqlAsync } from './lib/db.mjs';
import { tokenRequest, clientKey } from './lib/flows.mjs';
import { dpopKey, proof, rawPost } from './lib/fapi2.mjs';
import { smsGateway, enrolPhone } from './lib/phone.mjs';

const execFileP = promisify(execFile);
const GRANT = 'urn:openid:params:grant-type:ciba';
const PERSON = { rrn: '85073003328', given_name: 'Mark', family_name: 'Denblinden', birthdate: '1985-07-30' };
let server;
let gw;
let phone;
let pollClient;
let pingClient;
let plainClient;
let pings;
let pingServer;

async function addClient(...extra) {
  return JSON.parse(await server.cli('client', 'add', '--name', 'Mijn bank', '--redirect-uri',
    'https://rp.example/cb', '--json', ...extra));
}

before(async () => {
  gw = await smsGateway();
  pings = [];
  pingServer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      pings.push({ auth: req.headers.authorization, body: JSON.parse(body), type: req.headers['content-type'] });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => pingServer.listen(0, '127.0.0.1', r));
  server = await startServer({
    config: { sms: { driver: 'webhook', webhook_url: gw.url }, app: { rate_phone: 1000, rate_ip: 1000 },
      ciba: { interval: 2, max_expiry: 300 } },
  });
  phone = await enrolPhone(server, gw, '0470 12 34 56', PERSON);
  pollClient = await addClient('--ciba-mode', 'poll');
  pingClient = await addClient('--ciba-mode', 'ping', '--ciba-endpoint',
    `http://127.0.0.1:${pingServer.address().port}/cb`);
  plainClient = await addClient();
});

after(async () => {
  await server?.stop();
  await gw?.close();
  await new Promise((r) => pingServer?.close(r));
});

const basic = (c) => [c.client_id, c.client_secret];
const bc = (c, form) => tokenRequest(server, form, { basic: basic(c), endpoint: '/bc-authorize' });
const poll = (c, id) => tokenRequest(server, { grant_type: GRANT, auth_req_id: id }, { basic: basic(c) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The person's consent to share `scopes` with client `c`, as the portal's
// Share button records it (consent.test.mjs drives that page): CIBA gives
// data only within it.
async function consent(c, scopes) {
  const now = Math.floor(Date.now() / 1000);
  await sqlAsync(server,
    'INSERT INTO consents (person_id, client_id, scopes, created, updated) '
    + `SELECT id, '${c.client_id}', '${scopes}', ${now}, ${now} FROM persons WHERE rrn = '${PERSON.rrn}'`);
}

async function phoneRequest() {
  const r = await phone.call('GET', '/requests');
  assert.equal(r.status, 200);
  return r.body.requests.at(-1);
}

test('discovery advertises CIBA and RFC 9396 payments', async () => {
  const d = await (await fetch(`${server.base}/.well-known/openid-configuration`)).json();
  assert.equal(d.backchannel_authentication_endpoint, `${server.issuer}/bc-authorize`);
  assert.deepEqual(d.backchannel_token_delivery_modes_supported, ['poll', 'ping']);
  assert.equal(d.backchannel_user_code_parameter_supported, false);
  assert.ok(d.grant_types_supported.includes(GRANT));
  assert.deepEqual(d.authorization_details_types_supported, ['payment']);
});

test('poll mode: pending, slow_down, then tokens once with acr, amr and auth_req_id', async () => {
  let r = await bc(pollClient, { scope: 'openid profile', login_hint: '+32470123456',
    binding_message: 'Order 4711' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { auth_req_id: id, expires_in: exp, interval } = r.body;
  assert.ok(id.length >= 22);
  assert.ok(exp > 170 && exp <= 180);
  assert.equal(interval, 2);
  r = await poll(pollClient, id);
  assert.equal(r.body.error, 'authorization_pending');
  r = await poll(pollClient, id);
  assert.equal(r.body.error, 'slow_down', 'polled faster than the interval');
  const rq = await phoneRequest();
  assert.equal(rq.display_text, 'Inloggen bij Mijn bank\nOrder 4711');
  // No browser shows a code in CIBA: the person compares the binding
  // message, and the app has one code.
  assert.equal(rq.codes.length, 1);
  const ans = await phone.answer(rq, { code: rq.codes[0] });
  assert.equal(ans.status, 200, JSON.stringify(ans.body));
  await sleep(2100);
  r = await poll(pollClient, id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.access_token && r.body.id_token);
  assert.equal(r.body.refresh_token, undefined, 'no offline_access, no refresh token');
  const claims = jose.decodeJwt(r.body.id_token);
  assert.equal(claims.acr, 'http://eidas.europa.eu/LoA/high');
  assert.deepEqual(claims.amr, ['swk', 'pin', 'mfa']);
  assert.equal(claims['urn:openid:params:jwt:claim:auth_req_id'], id);
  assert.equal(claims.aud, pollClient.client_id);
  assert.ok(claims.auth_time > 0);
  r = await poll(pollClient, id);
  assert.equal(r.body.error, 'invalid_grant', 'redeemed once');
});

test('ping mode: the client endpoint gets {auth_req_id} with its bearer token', async () => {
  let r = await bc(pingClient, { scope: 'openid', login_hint: '0470123456', binding_message: 'Kassa 3',
    client_notification_token: 'tok-123456' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const id = r.body.auth_req_id;
  const rq = await phoneRequest();
  await phone.answer(rq, { code: rq.codes[0] });
  for (let i = 0; i < 50 && pings.length === 0; i++) await sleep(100);
  assert.equal(pings.length, 1);
  assert.deepEqual(pings[0].body, { auth_req_id: id });
  assert.equal(pings[0].auth, 'Bearer tok-123456');
  r = await poll(pingClient, id);
  assert.equal(r.status, 200);
});

test('refused on the phone: access_denied', async () => {
  const r = await bc(pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B1' });
  const rq = await phoneRequest();
  await phone.answer(rq, { decision: 'refuse', code: '' });
  await sleep(2100);
  const t = await poll(pollClient, r.body.auth_req_id);
  assert.equal(t.body.error, 'access_denied');
});

test('review9: a locked account is a generic access_denied; why is in the audit only', async () => {
  await sqlAsync(server, `UPDATE accounts SET locked_until = ${Math.floor(Date.now() / 1000) + 3600}`);
  try {
    const r = await bc(pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B9' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'access_denied');
    assert.equal(r.body.error_description, 'the request was denied');
    assert.equal(await sqlAsync(server, "SELECT count(*) FROM audit WHERE result = 'refused_locked'"), '1');
  } finally {
    await sqlAsync(server, 'UPDATE accounts SET locked_until = 0');
  }
});

test('review9: CIBA counts the RP (rate_rp), not its server\'s address (rate_ip)', async () => {
  const s = await startServer({ config: { app: { rate_phone: 1000, rate_ip: 2, rate_rp: 3 } } });
  try {
    const c = JSON.parse(await s.cli('client', 'add', '--name', 'Mijn bank', '--redirect-uri',
      'https://rp.example/cb', '--json', '--ciba-mode', 'poll'));
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const r = await tokenRequest(s, { scope: 'openid', login_hint: `+3247099990${i}`, binding_message: 'B' },
        { basic: basic(c), endpoint: '/bc-authorize' });
      statuses.push(`${r.status} ${r.body.error}`);
    }
    assert.deepEqual(statuses, ['400 unknown_user_id', '400 unknown_user_id', '400 unknown_user_id',
      '429 access_denied']);
  } finally {
    await s.stop();
  }
});

test('expired: expired_token', async () => {
  const r = await bc(pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B2', requested_expiry: '1' });
  assert.equal(r.status, 200);
  assert.ok(r.body.expires_in <= 1);
  await sleep(2100);
  const t = await poll(pollClient, r.body.auth_req_id);
  assert.equal(t.body.error, 'expired_token');
});

test('authentication request errors', async () => {
  const cases = [
    [pollClient, { login_hint: '+32470123456' }, 'invalid_scope'],
    [pollClient, { scope: 'openid' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470000000', binding_message: 'B' }, 'unknown_user_id'],
    [pollClient, { scope: 'openid', login_hint: 'not a phone', binding_message: 'B' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'x'.repeat(129) },
      'invalid_binding_message'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'a\u202eb' },
      'invalid_binding_message'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', requested_expiry: '301', binding_message: 'B' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', requested_expiry: '-1', binding_message: 'B' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', user_code: '1234', binding_message: 'B' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint_token: 'x' }, 'invalid_request'],
    [pollClient, { scope: 'openid', login_hint: '+32470123456', authorization_details: '[{"type":"x"}]',
      binding_message: 'B' },
      'invalid_authorization_details'],
    [pingClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B' }, 'invalid_request'],
    [plainClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B' }, 'unauthorized_client'],
  ];
  for (const [c, form, error] of cases) {
    const r = await bc(c, form);
    assert.equal(r.status, 400, `${JSON.stringify(form)}: ${r.status}`);
    assert.equal(r.body.error, error, JSON.stringify(form));
  }
  const noauth = await tokenRequest(server, { scope: 'openid', login_hint: '+32470123456' },
    { endpoint: '/bc-authorize' });
  assert.equal(noauth.status, 401);
  const t = await poll(pollClient, 'nope');
  assert.equal(t.body.error, 'invalid_grant');
});

test('another client cannot redeem an auth_req_id', async () => {
  const r = await bc(pollClient, { scope: 'openid', login_hint: '+32470123456', binding_message: 'B3' });
  const other = await addClient('--ciba-mode', 'poll');
  const t = await poll(other, r.body.auth_req_id);
  assert.equal(t.body.error, 'invalid_grant');
  const rq = await phoneRequest();
  await phone.answer(rq, { decision: 'refuse', code: '' });
});

test('offline_access: a refresh token; a payment\'s refreshed tokens carry no authorization_details', async () => {
  const client = await addClient('--ciba-mode', 'poll', '--scopes', 'openid profile offline_access');
  await consent(client, 'offline_access');
  const pay = [{ type: 'payment', instructedAmount: { amount: '12.34', currency: 'EUR' },
    creditorName: 'Apotheek Nova', creditorAccount: { iban: 'BE71096123456769' } }];
  const r = await bc(client, { scope: 'openid offline_access', login_hint: '+32470123456',
    binding_message: 'Order 4712', authorization_details: JSON.stringify(pay) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rq = await phoneRequest();
  assert.equal(rq.action, 'payment');
  assert.equal((await phone.answer(rq, { code: rq.codes[0] })).status, 200);
  await sleep(2100);
  const t = await poll(client, r.body.auth_req_id);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.deepEqual(t.body.authorization_details, pay, 'the payment is in the first token response');
  assert.ok(t.body.refresh_token);
  const f = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token },
    { basic: basic(client) });
  assert.equal(f.status, 200, JSON.stringify(f.body));
  assert.equal(f.body.authorization_details, undefined, 'a refresh does not confirm the payment again');
  assert.ok(f.body.refresh_token, 'rotated');
  const info = await fetch(`${server.base}/userinfo`, { headers: { authorization: `Bearer ${f.body.access_token}` } });
  assert.equal(info.status, 200);
  const claims = await info.json();
  assert.ok(claims.sub);
  assert.equal(claims.authorization_details, undefined);
  // The next refresh neither.
  const g = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: f.body.refresh_token },
    { basic: basic(client) });
  assert.equal(g.status, 200);
  assert.equal(g.body.authorization_details, undefined);
});

// Issue 8: a CIBA request gets only the scopes its client may be granted,
// as at /authorize, and of those only what the person agreed to share with
// that client: the phone names the RP, not the data, so approving there is
// no consent to give it.
test('CIBA data: only scopes the client may be granted, and only with the person\'s consent', async () => {
  const withEid = await addClient('--ciba-mode', 'poll', '--scopes', 'openid profile eid offline_access');
  const round = async (c, asked) => {
    let r = await bc(c, { scope: asked, login_hint: '+32470123456', binding_message: 'Scopes' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const id = r.body.auth_req_id;
    const rq = await phoneRequest();
    assert.equal((await phone.answer(rq, { code: rq.codes[0] })).status, 200);
    r = await poll(c, id);
    for (let i = 0; i < 5 && r.body.error === 'authorization_pending'; i++) {
      await sleep(2100);
      r = await poll(c, id);
    }
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const info = await (await fetch(`${server.base}/userinfo`,
      { headers: { authorization: `Bearer ${r.body.access_token}` } })).json();
    return { scope: r.body.scope, refresh: r.body.refresh_token, info };
  };
  // No consent yet: the sub, nothing else, and no refresh token.
  let got = await round(withEid, 'openid profile eid offline_access');
  assert.equal(got.scope, 'openid');
  assert.ok(got.info.sub);
  assert.equal(got.info.given_name, undefined);
  assert.equal(got.info.national_register_number, undefined);
  assert.equal(got.refresh, undefined);
  // With the person's consent: what was agreed, no more.
  await consent(withEid, 'profile eid');
  got = await round(withEid, 'openid profile eid offline_access');
  assert.equal(got.scope, 'openid profile eid', 'the token response names what was granted');
  assert.equal(got.info.given_name, 'Mark');
  assert.equal(got.info.national_register_number, PERSON.rrn);
  assert.equal(got.refresh, undefined, 'offline_access was not agreed to');
  // A client that may not get eid does not, whatever the person agreed to.
  await consent(pollClient, 'profile eid');
  got = await round(pollClient, 'openid profile eid');
  assert.equal(got.scope, 'openid profile');
  assert.equal(got.info.given_name, 'Mark');
  assert.equal(got.info.national_register_number, undefined);
});

// Found in review (review6): the CIBA grant dropped the request's DPoP
// proof and issued Bearer tokens, and a FAPI 2.0 client needed no proof on
// it.  Now as at the code and refresh grants (RFC 9449 §5).
test('DPoP: a proof binds the CIBA tokens (access and refresh); a FAPI 2.0 client must send one', async () => {
  const client = await addClient('--ciba-mode', 'poll', '--scopes', 'openid profile offline_access');
  await consent(client, 'offline_access');
  const key = await dpopKey();
  const withProof = async (form, nonce, k = key) => {
    const res = await fetch(`${server.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
        dpop: await proof(k, 'POST', `${server.issuer}/token`, { nonce }) },
      body: new URLSearchParams(form),
    });
    return { status: res.status, body: await res.json(), headers: res.headers };
  };
  let r = await bc(client, { scope: 'openid offline_access', login_hint: '+32470123456', binding_message: 'Order 4713' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const id = r.body.auth_req_id;
  const rq = await phoneRequest();
  assert.equal((await phone.answer(rq, { code: rq.codes[0] })).status, 200);
  r = await withProof({ grant_type: GRANT, auth_req_id: id });
  assert.equal(r.body.error, 'use_dpop_nonce');
  const nonce = r.headers.get('dpop-nonce');
  r = await withProof({ grant_type: GRANT, auth_req_id: id }, nonce);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'DPoP');
  const at = r.body.access_token;
  const info = async (headers) => (await fetch(`${server.base}/userinfo`, { headers })).status;
  assert.equal(await info({ authorization: `Bearer ${at}` }), 401, 'a bound token is refused as a bare Bearer');
  const n2 = r.headers.get('dpop-nonce') || nonce;
  assert.equal(await info({ authorization: `DPoP ${at}`,
    dpop: await proof(key, 'GET', `${server.issuer}/userinfo`, { nonce: n2, accessToken: at }) }), 200);
  // The refresh token is bound too: without a proof, or with another key, refused.
  const rt = r.body.refresh_token;
  r = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt }, { basic: basic(client) });
  assert.equal(r.body.error, 'invalid_dpop_proof');
  r = await withProof({ grant_type: 'refresh_token', refresh_token: rt }, n2, await dpopKey());
  assert.equal(r.body.error, 'invalid_grant');
  r = await withProof({ grant_type: 'refresh_token', refresh_token: rt }, n2);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'DPoP');

  // A FAPI 2.0 client with CIBA: no proof, no tokens (before its auth_req_id is even looked at).
  const dir = mkdtempSync(path.join(tmpdir(), 'ciba-fapi-'));
  try {
    const ck = await clientKey(dir, 'ES256');
    const c = await addClient('--auth', 'private_key_jwt', '--jwks', ck.file, '--profile', 'fapi2', '--ciba-mode', 'poll');
    const fc = { c, key: ck };
    r = await rawPost(server, fc, '/token', { grant_type: GRANT, auth_req_id: 'x'.repeat(43) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_dpop_proof', JSON.stringify(r.body));
    r = await rawPost(server, fc, '/token', { grant_type: GRANT, auth_req_id: 'x'.repeat(43) },
      { dpop: await proof(key, 'POST', `${server.issuer}/token`, { nonce: n2 }) });
    assert.equal(r.body.error, 'invalid_grant', 'with a proof it reaches the grant');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
