// at-rest.test.mjs — what a database dump or a leaked log gives an attacker
// (docs/security.md): after a whole run of the system (a phone enrolled with
// an SMS code, an app login, the code redeemed with a client secret, a
// refresh), no bearer secret any party holds can be found in the database
// files, in an SQL dump of them, or in sleuteld's log.  Only hashes are
// stored; the confirmation key Q is encrypted at rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import * as oidc from 'openid-client';
import { Agent, hiddenInputs, answerConsent } from './lib/harness.mjs';
import { dumpDatabase, onPostgres } from './lib/db.mjs';
import { authRequest } from './lib/flows.mjs';
import { startAppWorld } from './lib/phone.mjs';

const execFileP = promisify(execFile);
const PERSON = { rrn: '93051822361', given_name: 'Lotte', family_name: 'Vermeersch', birthdate: '1993-05-18' };

// Every way a secret could sit in a file: as sent, and as the bytes it
// decodes to when it is base64url (a hash of it is fine: that is the point).
function forms(secret) {
  const out = [secret];
  if (/^[A-Za-z0-9_-]{16,}$/.test(secret)) out.push(Buffer.from(secret, 'base64url').toString('hex'));
  return out;
}

test('a database dump and the log hold no code, token, cookie, client secret or SMS code', async () => {
  const world = await startAppWorld(PERSON, { number: '0471 22 33 44' });
  const { server, rp, phone, gw } = world;
  const secrets = {};
  let stopped = false;
  try {
    secrets.sms = gw.code(phone.number);
    secrets.client_secret = rp.c.client_secret;
    // An app login in a browser, to the RP's code and tokens.
    const agent = new Agent();
    const req = await authRequest(rp.config, { scope: 'openid profile offline_access' });
    let res = await agent.get(String(req.url));
    const reqId = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    res = await agent.get(`${server.base}/key/app?req=${reqId}&lang=nl`);
    const form = hiddenInputs(await res.text());
    secrets.csrf = form.csrf;
    res = await agent.post(`${server.base}/key/app/login`, { ...form, phone: phone.number });
    assert.equal(res.status, 303);
    const wait = new URL(res.headers.get('location'), server.base);
    const code = (await (await agent.get(wait.href)).text()).match(/id="vcode"[^>]*>(\d{4})</)[1];
    const r = await phone.call('GET', '/requests');
    const [rq] = r.body.requests;
    assert.equal((await phone.answer(rq, { code })).status, 200);
    res = await agent.get(wait.href);
    assert.equal(res.status, 303);
    const back = await answerConsent(server, agent, res.headers.get('location'));
    secrets.code = back.searchParams.get('code');
    for (const name of ['__Host-sl_session', '__Host-sl_browser']) secrets[`cookie ${name}`] = agent.cookies.get(name);
    const tokens = await oidc.authorizationCodeGrant(rp.config, back, {
      pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce,
    });
    secrets.access_token = tokens.access_token;
    secrets.pkce_verifier = req.verifier;
    if (tokens.refresh_token) {
      secrets.refresh_token = tokens.refresh_token;
      const fresh = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token);
      secrets.access_token2 = fresh.access_token;
      if (fresh.refresh_token) secrets.refresh_token2 = fresh.refresh_token;
    }
    for (const [k, v] of Object.entries(secrets)) assert.ok(v && v.length >= 5, `collected ${k}`);

    await server.stop({ keep: true });
    stopped = true;
    // The database's files (SQLite's, or none to read on PostgreSQL: its
    // pg_dump is the whole of what it holds) and its dump.
    const db = path.join(server.dir, 'sleutel.db');
    const files = [db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
    const dump = await dumpDatabase(server);
    const log = readFileSync(path.join(server.dir, 'sleuteld.log'), 'utf8');
    // Positive controls: these are the files of this run.
    assert.match(dump, new RegExp(PERSON.family_name), 'the dump holds the person (it is the right database)');
    assert.match(dump, onPostgres ? /COPY public\.codes \(/ : /INSERT INTO "?codes"?/,
      'the dump holds the code rows (as hashes)');
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form2 of forms(secret)) {
        assert.ok(!dump.includes(form2), `${name} is not in the SQL dump`);
        for (const f of files) assert.ok(!f.includes(form2), `${name} is not in the database files`);
        assert.ok(!log.includes(form2), `${name} is not in the log`);
      }
    }
  } finally {
    if (!stopped) await server.stop();
    await gw.close();
  }
});
