// pg-connection.test.mjs — the PostgreSQL store losing its connections
// under a running sleuteld: the request that meets a lost connection is
// answered (no crash, no hang), the connection is made again at its next
// use, and the server goes on.  Always on PostgreSQL, whatever
// SLEUTEL_TEST_ENGINE says: under SQLite there is no connection to lose.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/harness.mjs';
import { adminSql, storeOf } from './lib/db.mjs';

const POOL = 4;
let server;
let client;

before(async () => {
  server = await startServer({ engine: 'postgresql', config: { store: { pool: POOL } } });
  client = await server.client({ name: 'Lost connections' });
});
after(async () => { await server?.stop(); });

// A token request with an unknown code: store reads (the client, the
// code) and a write (the audit), and a known answer while the store works.
async function tokenRequest() {
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const r = await fetch(`${server.base}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'no-such-code',
      redirect_uri: 'https://rp.example/cb', code_verifier: 'a'.repeat(43) }),
  });
  return { status: r.status, error: (await r.json()).error };
}
const isNormal = (a) => a.status === 400 && a.error === 'invalid_grant';

// End every server backend of the server's database: how many.
function killBackends() {
  const db = /dbname=(\S+)\s*$/.exec(storeOf(server).conninfo)[1];
  return Number(adminSql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`));
}

test('a lost connection fails the request on it with an answer, then is made again', async () => {
  assert.ok(isNormal(await tokenRequest()));
  assert.ok(killBackends() >= 1, 'the server had connections to end');
  // Requests one after the other use the same pooled connection: the
  // first meets the lost connection and is answered with an error, the
  // next ones run on the connection made again.
  const first = await tokenRequest();
  assert.ok(!isNormal(first), `the request on the lost connection failed (${JSON.stringify(first)})`);
  assert.equal(typeof first.error, 'string');
  assert.ok(isNormal(await tokenRequest()), 'the connection was made again');
  const log = server.log();
  assert.match(log, /database connection failed/);
  assert.match(log, /database connection re-made/);
  assert.doesNotMatch(log, /password=/);
});

test('the whole pool lost at once, under concurrent requests: every request answered, each connection fails once', async () => {
  for (let round = 0; round < 3; round++) {
    assert.ok(killBackends() >= 1);
    // A connection found lost fails one store call and is made again at
    // the next: of any requests after the loss, at most POOL fail.
    const answers = [];
    for (let batch = 0; batch < 3; batch++) {
      answers.push(...await Promise.all(Array.from({ length: 12 }, () => tokenRequest())));
    }
    for (const a of answers) assert.equal(typeof a.error, 'string', JSON.stringify(a));
    const failed = answers.filter((a) => !isNormal(a)).length;
    assert.ok(failed >= 1 && failed <= POOL, `${failed} of ${answers.length} failed`);
  }
  assert.ok(isNormal(await tokenRequest()));
});
