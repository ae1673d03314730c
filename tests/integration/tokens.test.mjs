// tokens.test.mjs — the token endpoint's guards: a code shown by another
// client is refused without harm to the client it belongs to; a refresh
// token only under offline_access (OIDC Core §11), rotated at every use,
// a rotated-out one used again revoking the grant (RFC 9700 §4.14).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { startServer, Agent } from './lib/harness.mjs';
import { sql as dbSql } from './lib/db.mjs';
import {
  RP_CB, registerRp, clientKey, authRequest, browse, codeFlow, assertCodeResponse, tokenRequest, userinfoStatus,
} from './lib/flows.mjs';

let server;

before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

const basicOf = (rp) => [rp.c.client_id, rp.c.client_secret];

// A code for `rp`, not yet redeemed, and the form that redeems it.
async function freshCode(rp, params = {}) {
  const req = await authRequest(rp.config, params);
  const { back } = await browse(server, new Agent(), req.url);
  assertCodeResponse(server, back, req.state);
  return { grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: RP_CB,
    code_verifier: req.verifier };
}

const refresh = (rp, rt) => tokenRequest(server, { grant_type: 'refresh_token', refresh_token: rt },
  { basic: basicOf(rp) });

test('a code shown by another client is refused and stays usable by its own client', async () => {
  const a = await registerRp(server);
  const b = await registerRp(server);
  const form = await freshCode(a);
  for (let i = 0; i < 2; i++) {
    const stolen = await tokenRequest(server, form, { basic: basicOf(b) });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');
    assert.equal(stolen.body.access_token, undefined);
  }
  const mine = await tokenRequest(server, form, { basic: basicOf(a) });
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  assert.equal(await userinfoStatus(server, mine.body.access_token), 200);
});

test('a redeemed code replayed by another client does not revoke its client\'s tokens', async () => {
  const a = await registerRp(server);
  const b = await registerRp(server);
  const form = await freshCode(a, { scope: 'openid offline_access' });
  const mine = await tokenRequest(server, form, { basic: basicOf(a) });
  assert.equal(mine.status, 200, JSON.stringify(mine.body));
  const replay = await tokenRequest(server, form, { basic: basicOf(b) });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.equal(await userinfoStatus(server, mine.body.access_token), 200, 'the access token lives on');
  const r = await refresh(a, mine.body.refresh_token);
  assert.equal(r.status, 200, 'and so does the refresh token');
  // The client's own replay still revokes its grant (RFC 6749 §4.1.2).
  const again = await tokenRequest(server, form, { basic: basicOf(a) });
  assert.equal(again.body.error, 'invalid_grant');
  assert.equal(await userinfoStatus(server, r.body.access_token), 401);
});

test('no offline_access: no refresh token', async () => {
  const a = await registerRp(server);
  for (const scope of ['openid', 'openid profile eid', 'openid offline_accessx']) {
    const r = await tokenRequest(server, await freshCode(a, { scope }), { basic: basicOf(a) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.access_token && r.body.id_token);
    assert.equal(r.body.refresh_token, undefined, `a refresh token for scope "${scope}"`);
  }
});

test('offline_access: a refresh token that rotates; a rotated-out one used again revokes the grant', async () => {
  const a = await registerRp(server);
  const r0 = await tokenRequest(server, await freshCode(a, { scope: 'openid profile offline_access' }),
    { basic: basicOf(a) });
  assert.equal(r0.status, 200);
  assert.equal(r0.body.scope, 'openid profile offline_access');
  assert.ok(r0.body.refresh_token);
  const r1 = await refresh(a, r0.body.refresh_token);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.ok(r1.body.refresh_token);
  assert.notEqual(r1.body.refresh_token, r0.body.refresh_token);
  assert.equal(r1.body.scope, 'openid profile offline_access');
  const replay = await refresh(a, r0.body.refresh_token);
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.equal((await refresh(a, r1.body.refresh_token)).status, 400, 'the newest one is revoked too');
  assert.equal(await userinfoStatus(server, r1.body.access_token), 401);
});

// A refresh token row written straight into the store, as an older
// sleuteld (or another grant type) left it; returns the token.
function storedRefreshToken(rp, { scope, details = null }) {
  const token = randomBytes(32).toString('base64url');
  const hash = createHash('sha256').update(token).digest('hex');
  const now = Math.floor(Date.now() / 1000);
  const q = (v) => (v === null ? 'NULL' : `'${String(v).replaceAll("'", "''")}'`);
  dbSql(server,
    'INSERT INTO tokens (hash, kind, grant_id, client_id, person_id, session_id, scope, acr, amr, claims,' +
    ' auth_time, expires, revoked, authz_details) VALUES' +
    ` (${q(hash)}, 'refresh', ${q(`g-${token.slice(0, 8)}`)}, ${q(rp.c.client_id)}, 'p-1', NULL, ${q(scope)},` +
    ` NULL, '["test"]', NULL, ${now}, ${now + 3600}, 0, ${q(details)})`);
  return token;
}

test('a refresh token without offline_access (from before the rule) is refused', async () => {
  const a = await registerRp(server);
  const r = await refresh(a, storedRefreshToken(a, { scope: 'openid profile' }));
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error, 'invalid_grant');
});

test('a refresh never gives authorization_details again, even from a refresh token that carries them', async () => {
  const a = await registerRp(server);
  const pay = [{ type: 'payment', instructedAmount: { amount: '1.00', currency: 'EUR' }, creditorName: 'X',
    creditorAccount: { iban: 'BE71096123456769' } }];
  const r = await refresh(a, storedRefreshToken(a, { scope: 'openid offline_access', details: JSON.stringify(pay) }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.authorization_details, undefined);
  const next = await refresh(a, r.body.refresh_token);
  assert.equal(next.status, 200);
  assert.equal(next.body.authorization_details, undefined);
});

// A leaked client secret is answered by a new one: the old secret stops
// working at the next request, for codes and refresh tokens alike; the
// grants themselves live on with the new secret.  A private_key_jwt client
// has no secret to replace.
test('client update --new-secret: the old secret is void at once, the new one works', async () => {
  const a = await registerRp(server);
  const form = await freshCode(a, { scope: 'openid offline_access' });
  const first = await tokenRequest(server, form, { basic: basicOf(a) });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const out = JSON.parse(await server.cli('client', 'update', a.c.client_id, '--new-secret', '--json'));
  assert.equal(out.client_id, a.c.client_id);
  assert.match(out.client_secret, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(out.client_secret, a.c.client_secret);
  const old = await refresh(a, first.body.refresh_token);
  assert.equal(old.status, 401, 'the old secret is refused');
  assert.equal(old.body.error, 'invalid_client');
  const renewed = { ...a, c: { ...a.c, client_secret: out.client_secret } };
  const r = await refresh(renewed, first.body.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const text = await server.cli('client', 'update', a.c.client_id, '--new-secret');
  assert.match(text, /Keep the client secret now: it is not stored and cannot be shown again\./);
  const shown = JSON.parse(await server.cli('client', 'show', a.c.client_id, '--json'));
  assert.equal(shown.client_secret, undefined, 'show never prints a secret');
  const audit = dbSql(server,
    `SELECT count(*) FROM audit WHERE event = 'client.secret' AND client_id = '${a.c.client_id}'`);
  assert.equal(audit.trim(), '2', 'each new secret is an audit record');
  await assert.rejects(server.cli('client', 'update', 'no-such-client', '--new-secret'), /no client no-such-client/);
  const key = await clientKey(server.dir, 'ES256');
  const pk = await server.client({ auth: 'private_key_jwt', jwks: key.file });
  await assert.rejects(server.cli('client', 'update', pk.client_id, '--new-secret'),
    /private_key_jwt client authenticates with its keys/);
});

// A malicious RP cannot follow a person to other sites by `sub`: it is
// pairwise per sector (the redirect URIs' host, or --sector), the same for
// every client of one sector, and stable across logins.
test('sub is pairwise: other sectors see another sub for the same person, one sector the same', async () => {
  const a1 = await registerRp(server, { sector: 'zorg.example' });
  const a2 = await registerRp(server, { sector: 'zorg.example' });
  const b = await registerRp(server, { sector: 'bank.example' });
  const agent = new Agent();
  const subA1 = (await codeFlow(server, a1.config, { agent })).claims.sub;
  const subA2 = (await codeFlow(server, a2.config, { agent })).claims.sub;
  const subB = (await codeFlow(server, b.config, { agent })).claims.sub;
  const again = (await codeFlow(server, a1.config, { agent: new Agent() })).claims.sub;
  assert.match(subA1, /^[A-Za-z0-9_-]{20,}$/);
  assert.equal(subA2, subA1, 'one sector, one sub');
  assert.equal(again, subA1, 'the same sub at the next login');
  assert.notEqual(subB, subA1, 'another sector, another sub');
});
