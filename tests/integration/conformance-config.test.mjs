// conformance-config.test.mjs — the oidcc-config-certification-test-plan
// (one module): the provider's metadata and JWKS (OIDC Discovery 1.0 §3,
// §4.3; RFC 8414; RFC 9207).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startServer } from './lib/harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
  'pushed_authorization_request_endpoint', 'end_session_endpoint'];
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

test('oidcc-discovery-endpoint-verification', async () => {
  const res = await fetch(`${server.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const d = await res.json();

  // The issuer is exactly the URL the document was fetched under (§4.3).
  assert.equal(d.issuer, server.issuer);
  const issuer = new URL(d.issuer);
  assert.equal(issuer.protocol, 'https:');
  assert.equal(issuer.search, '');
  assert.equal(issuer.hash, '');

  // Every endpoint is https, on the issuer.
  for (const name of ENDPOINTS) {
    assert.equal(typeof d[name], 'string', `${name} is published`);
    const u = new URL(d[name]);
    assert.equal(u.protocol, 'https:', `${name} is https`);
    assert.equal(u.origin, issuer.origin, `${name} is on the issuer`);
    assert.ok(d[name].startsWith(`${d.issuer}/`), `${name} is under the issuer`);
  }

  // jwks_uri: valid public signing keys, each with kid, alg and use.
  const jr = await fetch(d.jwks_uri);
  assert.equal(jr.status, 200);
  assert.match(jr.headers.get('content-type'), /^application\/(jwk-set\+)?json/);
  const jwks = await jr.json();
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0);
  const kids = new Set();
  for (const k of jwks.keys) {
    assert.equal(typeof k.kid, 'string', 'kid');
    assert.ok(k.kid.length > 0);
    assert.ok(!kids.has(k.kid), `kid ${k.kid} is unique`);
    kids.add(k.kid);
    assert.equal(k.use, 'sig', `use of ${k.kid}`);
    assert.equal(typeof k.alg, 'string', `alg of ${k.kid}`);
    for (const m of PRIVATE_MEMBERS) assert.equal(k[m], undefined, `${k.kid} has no private member ${m}`);
    if (k.kty === 'EC') assert.equal(k.crv, 'P-256');
    if (k.kty === 'RSA') assert.ok(jose.base64url.decode(k.n).length >= 256, 'RSA keys of 2048 bits or more');
    const key = await jose.importJWK(k, k.alg); // throws when the JWK is not valid for its alg
    assert.equal(key.type, 'public');
  }

  // Scopes, response and subject types.
  assert.ok(Array.isArray(d.scopes_supported) && d.scopes_supported.includes('openid'));
  assert.deepEqual(d.response_types_supported, ['code']);
  assert.ok(Array.isArray(d.subject_types_supported) && d.subject_types_supported.length > 0);
  for (const t of d.subject_types_supported) assert.ok(['public', 'pairwise'].includes(t), `subject type ${t}`);
  assert.ok(!d.response_modes_supported || d.response_modes_supported.every((m) => m === 'query'),
    'only query responses for the code flow');
  assert.ok(d.grant_types_supported.includes('authorization_code'));

  // Signing algorithms: RS256 (OIDC Discovery requires it) and ES256,
  // never none, and each backed by a published key.
  const algs = d.id_token_signing_alg_values_supported;
  assert.ok(algs.includes('RS256'), 'RS256');
  assert.ok(algs.includes('ES256'), 'ES256');
  assert.ok(!algs.includes('none'), 'not none');
  for (const alg of algs) assert.ok(jwks.keys.some((k) => k.alg === alg), `a key for ${alg}`);
  for (const a of d.token_endpoint_auth_signing_alg_values_supported || []) assert.notEqual(a, 'none');
  assert.ok(!(d.token_endpoint_auth_methods_supported || []).includes('none'), 'no public clients');

  assert.equal(d.claims_parameter_supported, true);
  assert.ok(d.claims_supported.includes('sub'));
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.equal(d.authorization_response_iss_parameter_supported, true);

  // A real RP library accepts the document as it is.
  const config = await oidc.discovery(new URL(server.issuer), 'any-client', 'any-secret');
  assert.equal(config.serverMetadata().issuer, server.issuer);
  assert.equal(config.serverMetadata().supportsPKCE(), true);
});
