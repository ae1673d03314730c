// fapi2-token.test.mjs — the OpenID fapi2-security-profile-final plan,
// part 3: the token endpoint (codes bound to their client, single use,
// expiry) and private_key_jwt client assertions.  Each plan module is a
// test named after it (tests/conformance.md).  One server with [oidc]
// code_lifetime = 600 (a fapi2 client's codes are capped at 60 s), plus
// one with code_lifetime = 5 whose code is made in before() so that its
// expiry overlaps the other tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { createHash } from 'node:crypto';
import { startServer } from './lib/harness.mjs';
import { sqlJson } from './lib/db.mjs';
import { RP_CB, sleep, assertion, ASSERTION_TYPE } from './lib/flows.mjs';
import { fapiClient, dpopKey, fapiCode, fapiFlow, proof, serverNonce, redeem, userinfo } from './lib/fapi2.mjs';

let server;
let dir;
let expiring; // { server, fc, code, key, madeAt }
let serverStart; // the main server's start (a promise)
const CODE_LIFETIME = 5; // the smallest [oidc] code_lifetime the configuration allows

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sleutel-fapi2t-'));
  const short = await startServer({ config: { oidc: { code_lifetime: CODE_LIFETIME } } });
  expiring = { server: short };
  // Kept, so after() stops it also when the other half failed first.
  serverStart = startServer({ config: { oidc: { code_lifetime: 600 } } });
  [server] = await Promise.all([serverStart, (async () => {
    const fc = await fapiClient(short, dir);
    const code = await fapiCode(short, fc.config);
    Object.assign(expiring, { fc, code, key: await dpopKey(), madeAt: Date.now() });
  })()]);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  server ??= await serverStart?.catch(() => null);
  const results = await Promise.allSettled([server?.stop(), expiring?.server?.stop()]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
});

// The token request of a code with a DPoP proof and a client assertion
// built from `claims`/`alg`/`signKey` (defaults: a good one); `clientId`
// is the form's client_id (default: the client's own).
async function tokenWith(fc, code, key, { claims = {}, alg = 'ES256', signKey, header = {}, raw, clientId } = {}) {
  const nonce = await serverNonce(server, fc, key);
  const a = raw ?? await assertion(server, fc.c.client_id, signKey || fc.key.privateKey, { alg, claims, header });
  const res = await fetch(`${server.base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof(key, 'POST', `${server.issuer}/token`, { nonce }) },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: code.code, redirect_uri: RP_CB, code_verifier: code.verifier,
      client_id: clientId || fc.c.client_id, client_assertion_type: ASSERTION_TYPE, client_assertion: a,
    }),
  });
  return { status: res.status, body: await res.json() };
}

test('fapi2-security-profile-final-ensure-client-assertion-in-token-endpoint', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const r = await tokenWith(fc, code, await dpopKey());
  assert.equal(r.status, 200);
  assert.equal(r.body.token_type, 'DPoP');
  // and client_secret methods are not what a FAPI client registered
  const basic = await fetch(`${server.base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${fc.c.client_id}:x`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x' }),
  });
  assert.equal(basic.status, 401);
  assert.equal((await basic.json()).error, 'invalid_client');
});

test('fapi2-security-profile-final-ensure-client-id-in-token-endpoint', async () => {
  // a client_id naming another client than the assertion's: refused
  const fc = await fapiClient(server, dir);
  const other = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const key = await dpopKey();
  const r = await tokenWith(fc, code, key, { clientId: other.c.client_id });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  // the code is untouched: its own client redeems it
  assert.equal((await tokenWith(fc, code, key)).status, 200);
});

test('fapi2-security-profile-final-ensure-authorization-code-is-bound-to-client', async () => {
  const a = await fapiClient(server, dir);
  const b = await fapiClient(server, dir);
  const code = await fapiCode(server, a.config);
  const key = await dpopKey();
  const r = await tokenWith(b, code, key);
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  assert.equal((await tokenWith(a, code, key)).status, 200);
});

test('fapi2-security-profile-final-attempt-reuse-authorization-code-after-one-second', async () => {
  const fc = await fapiClient(server, dir);
  const key = await dpopKey();
  const code = await fapiCode(server, fc.config);
  const first = await redeem(server, fc, code, { key, nonce: await serverNonce(server, fc, key) });
  assert.equal(first.status, 200);
  const n = first.headers.get('dpop-nonce');
  assert.equal((await userinfo(server, first.body.access_token, { key, nonce: n })).status, 200);
  await sleep(1000);
  const again = await redeem(server, fc, code, { key, nonce: n });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
  // the first redemption's tokens are revoked (RFC 6749 §4.1.2)
  assert.equal((await userinfo(server, first.body.access_token, { key, nonce: n })).status, 401);
});

test('fapi2-security-profile-final-ensure-token-endpoint-fails-with-expired-auth-code', async () => {
  const { server: short, fc, code, key, madeAt } = expiring;
  const wait = madeAt + (CODE_LIFETIME + 1.5) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const nonce = await serverNonce(short, fc, key);
  const r = await redeem(short, fc, code, { key, nonce });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_grant');
  assert.match(r.body.error_description, /expired/);
});

test('a fapi2 client\'s codes live 60 s at most, whatever [oidc] code_lifetime says', async () => {
  const expiresIn = async (fc) => {
    const code = await fapiCode(server, fc.config);
    const hash = createHash('sha256').update(code.code).digest('hex');
    const [row] = await sqlJson(server, `SELECT expires FROM codes WHERE hash = '${hash}'`);
    return row.expires - Math.floor(Date.now() / 1000);
  };
  const fapi = await expiresIn(await fapiClient(server, dir));
  assert.ok(fapi <= 60 && fapi >= 55, `fapi2 code expires in ${fapi} s`);
  const plain = await expiresIn(await fapiClient(server, dir, { profile: 'default' }));
  assert.ok(plain > 590, `default code expires in ${plain} s`);
});

test('fapi2-security-profile-final-ensure-signed-client-assertion-with-RS256-fails', async () => {
  const fc = await fapiClient(server, dir, { alg: 'PS256' });
  const code = await fapiCode(server, fc.config);
  // the client's own RSA key, used with RS256
  const rs = await jose.importJWK({ ...(await jose.exportJWK(fc.key.privateKey)), alg: 'RS256' }, 'RS256');
  const key = await dpopKey();
  const r = await tokenWith(fc, code, key, { alg: 'RS256', signKey: rs });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
  // PS256 with the same key works
  assert.equal((await tokenWith(fc, code, key, { alg: 'PS256' })).status, 200);
});

test('fapi2-security-profile-final-ensure-client-assertion-with-exp-is-5-minutes-in-past-fails', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const now = Math.floor(Date.now() / 1000);
  const r = await tokenWith(fc, code, await dpopKey(), { claims: { iat: now - 360, exp: now - 300 } });
  assert.equal(r.status, 401);
  assert.match(r.body.error_description, /exp/);
});

test('fapi2-security-profile-final-ensure-client-assertion-with-wrong-aud-fails', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const r = await tokenWith(fc, code, await dpopKey(), { claims: { aud: 'https://other.example' } });
  assert.equal(r.status, 401);
  assert.match(r.body.error_description, /aud/);
});

// review7: audience injection (FAPI 2.0 Security Profile final §5.3.2.1,
// draft-ietf-oauth-rfc7523bis): the AS accepts only its issuer identifier,
// as a single string.  An assertion a client made for another AS whose
// metadata names sleutel's token or PAR endpoint (or an aud array listing
// sleutel among others) must not authenticate the client here.
test('review7: client assertion aud other than the bare issuer string is refused (audience injection)', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const key = await dpopKey();
  const cases = [
    ['aud = the token endpoint URL', { aud: `${server.issuer}/token` }],
    ['aud = the PAR endpoint URL', { aud: `${server.issuer}/par` }],
    ['aud = [issuer, another AS]', { aud: [server.issuer, 'https://attacker.example'] }],
    ['aud = [another AS, token endpoint]', { aud: ['https://attacker.example', `${server.issuer}/token`] }],
  ];
  for (const [what, claims] of cases) {
    const r = await tokenWith(fc, code, key, { claims });
    assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, 'invalid_client', what);
  }
});

test('fapi2-security-profile-final-ensure-client-assertion-with-no-sub-fails', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const r = await tokenWith(fc, code, await dpopKey(), { claims: { sub: undefined } });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'invalid_client');
});

test('fapi2-security-profile-final-ensure-invalid-client-assertions-fail', async () => {
  const fc = await fapiClient(server, dir);
  const code = await fapiCode(server, fc.config);
  const key = await dpopKey();
  const stranger = await jose.generateKeyPair('ES256');
  const good = await assertion(server, fc.c.client_id, fc.key.privateKey, { alg: 'ES256' });
  const flipped = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    ['another key', { signKey: stranger.privateKey }],
    ['a flipped signature', { raw: flipped }],
    ['iss not the client', { claims: { iss: 'someone' } }],
    ['nbf 60 s ahead', { claims: { nbf: now + 60 } }],
    ['no exp', { claims: { exp: undefined } }],
    ['no jti', { claims: { jti: undefined } }],
    ['alg none', { raw: `${jose.base64url.encode('{"alg":"none"}')}.${jose.base64url.encode(JSON.stringify({ iss: fc.c.client_id, sub: fc.c.client_id, aud: server.issuer, exp: now + 60, jti: 'j'.repeat(20) }))}.` }],
  ];
  for (const [what, opts] of cases) {
    const r = await tokenWith(fc, code, key, opts);
    assert.equal(r.status, 401, what);
    assert.equal(r.body.error, 'invalid_client', what);
  }
  assert.equal((await tokenWith(fc, code, key)).status, 200);
});

test('a FAPI 2.0 client with PS256 keys and PS256 DPoP proofs (openid-client)', async () => {
  const fc = await fapiClient(server, dir, { alg: 'PS256' });
  const f = await fapiFlow(server, fc.config, { key: await dpopKey('PS256') });
  assert.equal(f.tokens.token_type.toLowerCase(), 'dpop');
  const ui = await oidc.fetchUserInfo(fc.config, f.tokens.access_token, f.tokens.claims().sub, { DPoP: f.dpop });
  assert.equal(ui.sub, f.tokens.claims().sub);
});
