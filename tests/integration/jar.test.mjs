// jar.test.mjs — signed request objects (JAR, RFC 9101) at /authorize and
// /par, and ID tokens encrypted for the client (OIDC Core §10.2), with real
// clients: request objects signed and ID tokens decrypted by npm jose with
// the client's own keys, the inner signature checked against /jwks.
//
// One server for the file; every test registers its own clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startServer, Agent } from './lib/harness.mjs';
import { sqlRows } from './lib/db.mjs';
import {
  RP_CB, RP_CB2, browse, assertCodeResponse, assertErrorRedirect, assertErrorPage, tokenRequest, verifyIdToken,
} from './lib/flows.mjs';

let server;
let keyDir;

before(async () => {
  keyDir = mkdtempSync(path.join(tmpdir(), 'sleutel-jar-'));
  server = await startServer();
});

after(async () => {
  rmSync(keyDir, { recursive: true, force: true });
  await server?.stop();
});

let serial = 0;

// A key pair of the client: a signing key (ES256, PS256, RS256) or an
// encryption key (RSA-OAEP, ECDH-ES) with its public JWK.
async function clientKeyPair(alg) {
  const opts = { extractable: true, ...(alg === 'ECDH-ES' ? { crv: 'P-256' } : {}) };
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, opts);
  const use = alg === 'RSA-OAEP' || alg === 'ECDH-ES' ? 'enc' : 'sig';
  const jwk = { ...(await jose.exportJWK(publicKey)), alg, use, kid: `${use}-${alg}-${++serial}` };
  return { alg, privateKey, publicKey, jwk };
}

// The same, one per alg for the file, where a test needs a key but not a
// new one (RSA key generation is the slow part of this file).
const shared = new Map();
function sharedKeyPair(alg) {
  if (!shared.has(alg)) shared.set(alg, clientKeyPair(alg));
  return shared.get(alg);
}

function jwksFile(jwks) {
  const file = path.join(keyDir, `jwks-${++serial}.json`);
  writeFileSync(file, JSON.stringify({ keys: jwks }));
  return file;
}

// `sleutel client add` with these keys (client_secret_basic unless the
// args say otherwise); the client's JSON and an openid-client config.
async function addClient(keys, args = []) {
  const cli = ['client', 'add', '--name', 'JAR RP', '--json', '--redirect-uri', RP_CB, '--redirect-uri', RP_CB2];
  if (keys.length) cli.push('--jwks', jwksFile(keys.map((k) => k.jwk)));
  const c = JSON.parse(await server.cli(...cli, ...args));
  const config = await oidc.discovery(new URL(server.issuer), c.client_id, { client_secret: c.client_secret },
    oidc.ClientSecretBasic(c.client_secret));
  return { c, config };
}

// The CLI refuses: non-zero exit and the reason on stderr.
async function cliRefuses(args, why) {
  await assert.rejects(server.cli(...args), (err) => {
    assert.notEqual(err.code, 0);
    assert.match(err.stderr, why);
    return true;
  });
}

// The authorization parameters of a request object, PKCE, state and nonce
// fresh; `claims` overrides them and the JWT claims (undefined: left out).
async function roClaims(c, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  const verifier = oidc.randomPKCECodeVerifier();
  const payload = {
    iss: c.client_id, aud: server.issuer, client_id: c.client_id, response_type: 'code', redirect_uri: RP_CB,
    scope: 'openid', state: oidc.randomState(), nonce: oidc.randomNonce(),
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    nbf: now, exp: now + 300, jti: oidc.randomState(), ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return { payload, verifier };
}

async function signRo(key, payload, header = {}) {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.jwk.kid, typ: 'oauth-authz-req+jwt', ...header })
    .sign(key.privateKey);
}

// A signed request object and its /authorize URL (client_id and request
// only, plus `outer`).
async function roRequest(c, key, { claims, header, outer = {} } = {}) {
  const { payload, verifier } = await roClaims(c, claims);
  const request = await signRo(key, payload, header);
  const url = new URL(`${server.base}/authorize?${new URLSearchParams({ client_id: c.client_id, request, ...outer })}`);
  return { url, request, verifier, payload, state: payload.state, nonce: payload.nonce };
}

// From the RP's callback to tokens (raw: the ID token may be a JWE).
async function redeem(c, back, verifier, redirectUri = RP_CB) {
  const r = await tokenRequest(server, {
    grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: redirectUri,
    code_verifier: verifier,
  }, { basic: [c.client_id, c.client_secret] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function par(c, form) {
  return tokenRequest(server, form, { basic: [c.client_id, c.client_secret], endpoint: '/par' });
}

// ------------------------------------------------------------- discovery

test('discovery: request objects by value (ES256, PS256) and ID token encryption are advertised', async () => {
  const d = await (await fetch(`${server.base}/.well-known/openid-configuration`)).json();
  assert.equal(d.request_parameter_supported, true);
  assert.deepEqual(d.request_object_signing_alg_values_supported, ['ES256', 'PS256']);
  assert.equal(d.request_uri_parameter_supported, false, 'only PAR request_uris');
  assert.equal(d.require_signed_request_object, false, 'per client, not for all');
  assert.deepEqual(d.id_token_encryption_alg_values_supported, ['RSA-OAEP', 'ECDH-ES']);
  assert.deepEqual(d.id_token_encryption_enc_values_supported, ['A128CBC-HS256', 'A256GCM']);
});

// --------------------------------------------------- accepted: /authorize

for (const alg of ['ES256', 'PS256']) {
  test(`a request object signed ${alg} is the request at /authorize and at /par`, async () => {
    const key = await clientKeyPair(alg);
    const { c } = await addClient([key]);
    // By value at /authorize: client_id and request, nothing else.
    const req = await roRequest(c, key);
    const { back } = await browse(server, new Agent(), req.url);
    assertCodeResponse(server, back, req.state);
    let tokens = await redeem(c, back, req.verifier);
    let { payload } = await verifyIdToken(server, tokens.id_token, { alg: 'ES256', clientId: c.client_id });
    assert.equal(payload.nonce, req.nonce);
    // Pushed (RFC 9126 with RFC 9101): the request object is the body.
    const pushed = await roRequest(c, key);
    const r = await par(c, { request: pushed.request });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const url = `${server.base}/authorize?${new URLSearchParams({ client_id: c.client_id, request_uri: r.body.request_uri })}`;
    const again = await browse(server, new Agent(), url);
    assertCodeResponse(server, again.back, pushed.state);
    tokens = await redeem(c, again.back, pushed.verifier);
    ({ payload } = await verifyIdToken(server, tokens.id_token, { alg: 'ES256', clientId: c.client_id }));
    assert.equal(payload.nonce, pushed.nonce);
  });
}

test('only the request object counts: parameters beside it are ignored (RFC 9101 §6.3)', async () => {
  const key = await clientKeyPair('ES256');
  const { c } = await addClient([key]);
  const other = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
  const req = await roRequest(c, key, {
    claims: { max_age: 3600, claims: { id_token: { given_name: null } } },
    outer: { redirect_uri: RP_CB2, state: 'outer-state', nonce: 'outer-nonce', scope: 'openid profile',
      code_challenge: other, code_challenge_method: 'S256', prompt: 'none', response_type: 'token' },
  });
  const { back } = await browse(server, new Agent(), req.url);
  assertCodeResponse(server, back, req.state, RP_CB);
  const tokens = await redeem(c, back, req.verifier);
  assert.equal(tokens.scope, 'openid', 'the outer scope asked for profile: ignored');
  const { payload } = await verifyIdToken(server, tokens.id_token, { alg: 'ES256', clientId: c.client_id });
  assert.equal(payload.nonce, req.nonce);
  // The claims request inside (a JSON object, not a string) was read.
  assert.equal(payload.given_name, 'Demo', 'the claims request of the object');
});

test('a verified request object with a bad parameter inside is refused like a plain request', async () => {
  const key = await clientKeyPair('ES256');
  const { c } = await addClient([key]);
  const req = await roRequest(c, key, { claims: { code_challenge: undefined, redirect_uri: RP_CB2 } });
  const res = await new Agent().get(req.url.href);
  assertErrorRedirect(server, res, { error: 'invalid_request', state: req.state, redirectUri: RP_CB2 });
});

// ------------------------------------------------------------- refusals

// Each case: what to change, and the error_description expected.
async function refusalCases(c, key, stranger) {
  const now = Math.floor(Date.now() / 1000);
  const { payload } = await roClaims(c);
  const rs256 = await sharedKeyPair('RS256');
  const replayed = await roRequest(c, key);
  const ok = await new Agent().get(replayed.url.href);
  assert.equal(ok.status, 303, 'the first use of the jti');
  // Its jti is remembered one second past the last second the object is
  // accepted (exp + 10 s of skew), so no purge opens a replay window.
  const { exp, jti } = jose.decodeJwt(replayed.request);
  const [seen] = sqlRows(server, `SELECT expires FROM jti_seen WHERE client_id = '${c.client_id}' AND jti = 'jar:${jti}'`);
  assert.equal(Number(seen?.expires), exp + 10 + 1, 'the request object\'s jti row');
  return [
    ['alg none', new jose.UnsecuredJWT(payload).encode(), /ES256 or PS256/],
    ['HS256 with the client secret', await new jose.SignJWT(payload).setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(c.client_secret)), /ES256 or PS256/],
    ['RS256', await signRo(rs256, payload), /ES256 or PS256/],
    ['a key the client did not register', await signRo({ ...stranger, jwk: key.jwk }, payload), /signature/],
    ['a JWE', await new jose.CompactEncrypt(new TextEncoder().encode('x'))
      .setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A128CBC-HS256' })
      .encrypt((await sharedKeyPair('RSA-OAEP')).publicKey), /encrypted request objects/],
    ['typ of another JWT', await signRo(key, payload, { typ: 'dpop+jwt' }), /typ/],
    ['iss not the client', (await roRequest(c, key, { claims: { iss: 'someone' } })).request, /iss/],
    ['aud not the issuer', (await roRequest(c, key, { claims: { aud: `${server.issuer}/token` } })).request, /aud/],
    // An array naming the issuer among others, or alone: an object made
    // for several servers (audience injection) is not one made for this one.
    ['aud an array with the issuer and another server', (await roRequest(c, key,
      { claims: { aud: [server.issuer, 'https://other.example'] } })).request, /single string/],
    ['aud an array of the issuer alone', (await roRequest(c, key, { claims: { aud: [server.issuer] } })).request,
      /single string/],
    ['client_id inside missing', (await roRequest(c, key, { claims: { client_id: undefined } })).request, /client_id/],
    ['client_id inside another', (await roRequest(c, key, { claims: { client_id: 'other' } })).request, /client_id/],
    ['exp missing', (await roRequest(c, key, { claims: { exp: undefined } })).request, /exp/],
    ['exp past', (await roRequest(c, key, { claims: { nbf: now - 600, exp: now - 120 } })).request, /expired/],
    ['exp over 60 min after nbf', (await roRequest(c, key, { claims: { exp: now + 3660 } })).request, /60 minutes/],
    ['exp over 60 min after iat', (await roRequest(c, key, { claims: { nbf: undefined, iat: now, exp: now + 3660 } }))
      .request, /60 minutes/],
    ['nbf older than 60 min', (await roRequest(c, key, { claims: { nbf: now - 3700, exp: now + 60 } })).request, /nbf/],
    ['nbf ahead', (await roRequest(c, key, { claims: { nbf: now + 600, exp: now + 900 } })).request, /not valid yet/],
    ['request_uri inside', (await roRequest(c, key, { claims: { request_uri: 'https://rp.example/r' } })).request,
      /request_uri/],
    ['larger than 8192 bytes', (await roRequest(c, key, { claims: { login_hint: 'x'.repeat(8200) } })).request,
      /8192/],
    ['jti of 257 characters', (await roRequest(c, key, { claims: { jti: 'j'.repeat(257) } })).request, /jti/],
    ['jti not a string', (await roRequest(c, key, { claims: { jti: 42 } })).request, /jti/],
    ['a parameter neither string, number nor JSON', (await roRequest(c, key, { claims: { prompt: true } })).request,
      /neither a string/],
    ['jti replayed', replayed.request, /used before/],
  ];
}

test('refused request objects at /authorize: invalid_request_object, redirected beside a registered redirect_uri', async () => {
  const key = await clientKeyPair('ES256');
  const stranger = await clientKeyPair('ES256');
  const { c } = await addClient([key]);
  for (const [what, request, why] of await refusalCases(c, key, stranger)) {
    const form = { client_id: c.client_id, request, redirect_uri: RP_CB, state: 'outer' };
    // GET where it fits a URL, POST (the form) for the large one.
    const agent = new Agent();
    const res = request.length > 6000 ? await agent.post(`${server.base}/authorize`, form)
      : await agent.get(`${server.base}/authorize?${new URLSearchParams(form)}`);
    const loc = assertErrorRedirect(server, res, { error: 'invalid_request_object', state: 'outer' });
    assert.match(loc.searchParams.get('error_description'), why, what);
  }
});

test('refused request objects at /authorize without a registered redirect_uri beside: an error page', async () => {
  const key = await clientKeyPair('PS256');
  const { c } = await addClient([key]);
  const { payload } = await roClaims(c);
  for (const [what, outer] of [['none', {}], ['unregistered', { redirect_uri: 'https://evil.example/cb' }]]) {
    const form = { client_id: c.client_id, request: new jose.UnsecuredJWT(payload).encode(), ...outer };
    const html = await assertErrorPage(await new Agent().get(`${server.base}/authorize?${new URLSearchParams(form)}`));
    assert.match(html, /request object must be signed with ES256 or PS256/, what);
  }
  // Signed, but by the key of another client: its redirect_uri is not trusted.
  const otherKey = await clientKeyPair('PS256');
  const other = await addClient([otherKey]);
  const evil = await roRequest(other.c, otherKey, { claims: { client_id: c.client_id, iss: c.client_id } });
  const form = { client_id: c.client_id, request: evil.request };
  const html = await assertErrorPage(await new Agent().get(`${server.base}/authorize?${new URLSearchParams(form)}`));
  assert.match(html, /signature does not verify/);
  // No client_id outside: the client is unknown, a page.
  await assertErrorPage(await new Agent().get(`${server.base}/authorize?${new URLSearchParams({ request: evil.request })}`));
});

test('refused request objects at /par: 400 invalid_request_object as JSON', async () => {
  const key = await clientKeyPair('ES256');
  const stranger = await clientKeyPair('ES256');
  const { c } = await addClient([key]);
  for (const [what, request, why] of await refusalCases(c, key, stranger)) {
    const r = await par(c, { request, client_id: c.client_id });
    assert.equal(r.status, 400, what);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal(r.body.error, 'invalid_request_object', what);
    assert.match(r.body.error_description, why, what);
  }
  // The authenticated client's keys verify it: another client's object,
  // pushed by this one, is refused.
  const otherKey = await clientKeyPair('ES256');
  const other = await addClient([otherKey]);
  const theirs = await roRequest(other.c, otherKey);
  const r = await par(c, { request: theirs.request });
  assert.equal(r.body.error, 'invalid_request_object');
});

test('request_uri other than this server\'s PAR stays refused; request and request_uri together are refused', async () => {
  const key = await clientKeyPair('ES256');
  const { c } = await addClient([key]);
  const req = await roRequest(c, key);
  let res = await new Agent().get(`${server.base}/authorize?${new URLSearchParams({
    client_id: c.client_id, redirect_uri: RP_CB, state: 's', request_uri: 'https://rp.example/r.jwt' })}`);
  assertErrorRedirect(server, res, { error: 'request_uri_not_supported', state: 's' });
  res = await new Agent().get(`${server.base}/authorize?${new URLSearchParams({
    client_id: c.client_id, request: req.request, request_uri: 'https://rp.example/r.jwt', redirect_uri: RP_CB, state: 's' })}`);
  const loc = assertErrorRedirect(server, res, { error: 'invalid_request', state: 's' });
  assert.match(loc.searchParams.get('error_description'), /not both/);
  // An unknown PAR request_uri: a page.
  res = await new Agent().get(`${server.base}/authorize?${new URLSearchParams({
    client_id: c.client_id, request_uri: 'urn:ietf:params:oauth:request_uri:nope' })}`);
  await assertErrorPage(res);
  // At /par a request_uri is never a parameter.
  const r = await par(c, { redirect_uri: RP_CB, request_uri: 'https://rp.example/r.jwt' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'request_uri_not_supported');
});

// -------------------------------------------- require_signed_request_object

test('require_signed_request_object: plain requests refused at /authorize and /par, objects accepted; update switches it', async () => {
  const key = await clientKeyPair('ES256');
  const { c, config } = await addClient([key], ['--require-signed-request-object']);
  assert.equal(c.require_signed_request_object, true);
  const plain = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP_CB, scope: 'openid', state: 'plain', nonce: 'n',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const loc = assertErrorRedirect(server, await new Agent().get(plain.href), { error: 'invalid_request', state: 'plain' });
  assert.match(loc.searchParams.get('error_description'), /signed request objects/);
  let r = await par(c, Object.fromEntries(plain.searchParams));
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid_request');
  // Signed: by value and pushed.
  const req = await roRequest(c, key);
  const { back } = await browse(server, new Agent(), req.url);
  assertCodeResponse(server, back, req.state);
  r = await par(c, { request: (await roRequest(c, key)).request });
  assert.equal(r.status, 201);
  // Switched off, a plain request goes to the login again; back on, refused.
  let shown = JSON.parse(await server.cli('client', 'update', c.client_id, '--no-require-signed-request-object', '--json'));
  assert.equal(shown.require_signed_request_object, false);
  let res = await new Agent().get(plain.href);
  assert.equal(res.status, 303);
  assert.equal(new URL(res.headers.get('location'), server.base).pathname, '/login');
  shown = JSON.parse(await server.cli('client', 'update', c.client_id, '--require-signed-request-object', '--json'));
  assert.equal(shown.require_signed_request_object, true);
  res = await new Agent().get(plain.href);
  assertErrorRedirect(server, res, { error: 'invalid_request', state: 'plain' });
});

test('require_signed_request_object needs the client\'s signing keys', async () => {
  const enc = await sharedKeyPair('RSA-OAEP');
  await cliRefuses(['client', 'add', '--name', 'x', '--redirect-uri', RP_CB, '--require-signed-request-object'],
    /signing keys/);
  await cliRefuses(['client', 'add', '--name', 'x', '--redirect-uri', RP_CB, '--require-signed-request-object',
    '--jwks', jwksFile([enc.jwk])], /signing keys/);
  const { c } = await addClient([]);
  await cliRefuses(['client', 'update', c.client_id, '--require-signed-request-object'], /no signing keys/);
});

// ---------------------------------------------------- encrypted ID tokens

const COMBOS = [['RSA-OAEP', null], ['RSA-OAEP', 'A256GCM'], ['ECDH-ES', 'A128CBC-HS256'], ['ECDH-ES', 'A256GCM']];

for (const [alg, enc] of COMBOS) {
  test(`ID token encrypted ${alg} + ${enc || 'A128CBC-HS256 (the default)'}: the client decrypts it, the inner JWT verifies`, async () => {
    const encKey = await clientKeyPair(alg);
    const sigKey = await clientKeyPair('ES256');
    const args = ['--id-token-encrypted-response-alg', alg, ...(enc ? ['--id-token-encrypted-response-enc', enc] : [])];
    const { c } = await addClient([sigKey, encKey], args);
    assert.equal(c.id_token_encrypted_response_alg, alg);
    assert.equal(c.id_token_encrypted_response_enc, enc || 'A128CBC-HS256');
    const req = await roRequest(c, sigKey);
    const { back } = await browse(server, new Agent(), req.url);
    const tokens = await redeem(c, back, req.verifier);
    const parts = tokens.id_token.split('.');
    assert.equal(parts.length, 5, 'a compact JWE');
    const hdr = jose.decodeProtectedHeader(tokens.id_token);
    assert.equal(hdr.alg, alg);
    assert.equal(hdr.enc, enc || 'A128CBC-HS256');
    assert.equal(hdr.cty, 'JWT', 'a nested JWT');
    assert.equal(hdr.kid, encKey.jwk.kid);
    // Another key cannot open it; the client's private key does.
    await assert.rejects(jose.compactDecrypt(tokens.id_token, (await sharedKeyPair(alg)).privateKey));
    const { plaintext } = await jose.compactDecrypt(tokens.id_token, encKey.privateKey);
    const inner = new TextDecoder().decode(plaintext);
    const { payload, header } = await verifyIdToken(server, inner, { alg: 'ES256', clientId: c.client_id });
    assert.equal(header.typ, 'JWT');
    assert.equal(payload.nonce, req.nonce);
    assert.equal(payload.aud, c.client_id);
  });
}

test('encrypted ID tokens: a client without a fitting encryption key is refused at registration', async () => {
  const sig = await clientKeyPair('ES256');
  const rsaEnc = await sharedKeyPair('RSA-OAEP');
  const ecEnc = await sharedKeyPair('ECDH-ES');
  const base = ['client', 'add', '--name', 'x', '--redirect-uri', RP_CB];
  const encArgs = (alg) => ['--id-token-encrypted-response-alg', alg];
  await cliRefuses([...base, ...encArgs('RSA-OAEP')], /needs an encryption key/);
  await cliRefuses([...base, ...encArgs('RSA-OAEP'), '--jwks', jwksFile([sig.jwk])], /needs an encryption key/);
  await cliRefuses([...base, ...encArgs('RSA-OAEP'), '--jwks', jwksFile([ecEnc.jwk])], /needs an encryption key/);
  await cliRefuses([...base, ...encArgs('ECDH-ES'), '--jwks', jwksFile([rsaEnc.jwk])], /needs an encryption key/);
  for (const alg of ['RSA-OAEP-256', 'RSA1_5', 'dir', 'A128KW']) {
    await cliRefuses([...base, ...encArgs(alg), '--jwks', jwksFile([rsaEnc.jwk])], /RSA-OAEP or ECDH-ES/);
  }
  for (const enc of ['A128GCM', 'A256CBC-HS512']) {
    await cliRefuses([...base, ...encArgs('RSA-OAEP'), '--id-token-encrypted-response-enc', enc,
      '--jwks', jwksFile([rsaEnc.jwk])], /A128CBC-HS256 or A256GCM/);
  }
  await cliRefuses([...base, '--id-token-encrypted-response-enc', 'A256GCM', '--jwks', jwksFile([rsaEnc.jwk])],
    /needs --id-token-encrypted-response-alg/);
  // The JWKS itself: no private key, and an encryption key says so (use).
  const priv = { ...(await jose.exportJWK(rsaEnc.privateKey)), use: 'enc', alg: 'RSA-OAEP' };
  await cliRefuses([...base, ...encArgs('RSA-OAEP'), '--jwks', jwksFile([priv])], /private keys/);
  await cliRefuses([...base, '--jwks', jwksFile([{ ...rsaEnc.jwk, alg: 'RSA-OAEP-256' }])], /not supported/);
  // private_key_jwt needs a signing key, not only an encryption key.
  await cliRefuses([...base, '--auth', 'private_key_jwt', '--jwks', jwksFile([rsaEnc.jwk])], /signing key/);
});
