import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startServer, loginWithTestKey } from './lib/harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); });

test('oidcc-server: code flow with PKCE through the test key gives a valid ID token', async () => {
  const c = await server.client({ auth: 'client_secret_basic', scopes: 'openid profile eid' });
  const config = await oidc.discovery(new URL(server.issuer), c.client_id, c.client_secret,
    oidc.ClientSecretBasic(c.client_secret));
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://rp.example/cb', scope: 'openid profile eid', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const back = await loginWithTestKey(server, url.href);
  assert.equal(back.origin + back.pathname, 'https://rp.example/cb');
  assert.equal(back.searchParams.get('iss'), server.issuer);
  const tokens = await oidc.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.iss, server.issuer);
  assert.equal(claims.aud, c.client_id);
  assert.deepEqual(claims.amr, ['test']);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.given_name, 'Demo');
  assert.equal(info.family_name, 'Citizen');
  assert.equal(info.national_register_number, '85073003328');
  assert.equal(info.birthdate, '1985-07-30');
});
