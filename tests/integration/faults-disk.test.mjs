// faults-disk.test.mjs — the store that cannot write (issue 12 item 4,
// docs/faults.md "Database full or read-only").
//
// SQLite, disk full: the running sleuteld's file size soft limit
// (RLIMIT_FSIZE) is lowered with prlimit(1) — allowed without
// CAP_SYS_RESOURCE, unlike raising a hard limit, and needing no mount —
// so every write past 4 KiB of a file fails with EFBIG, as on a full disk
// (sleuteld ignores SIGXFSZ).  PostgreSQL, read-only: the database is set
// to default_transaction_read_only (what a standby after a failover
// answers), and the database server is stopped and started again.
// In each case: what needs a write is refused with a clear 503 (a page for
// the browser, JSON for the RP), what only reads goes on, nothing is
// half-written (a code whose redemption failed is still whole), and the
// service comes back by itself once the store can write again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, launchServer, removeInstallation, Agent } from './lib/harness.mjs';
import { tcpRelay, initOn } from './lib/faulty.mjs';
import { registerRp, authRequest, browse, tokenRequest, RP_CB } from './lib/flows.mjs';
import { adminSql, storeOf, sql, createDatabase } from './lib/db.mjs';

// The reads a relying party and a browser make that need no write.
async function assertReadsGoOn(server) {
  const disc = await fetch(`${server.base}/.well-known/openid-configuration`);
  assert.equal(disc.status, 200, 'discovery is served');
  assert.equal((await disc.json()).issuer, server.issuer);
  const jwks = await fetch(`${server.base}/jwks`);
  assert.equal(jwks.status, 200, 'the JWKS is served');
  assert.ok((await jwks.json()).keys.length >= 1);
  assert.equal((await fetch(`${server.base}/healthz`)).status, 200, '/healthz answers');
}

// A browser arriving from the RP: the key choice needs a login request
// written.  Returns the answer.
async function authorize(rp) {
  const { url } = await authRequest(rp.config);
  const res = await new Agent().get(String(url));
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text(), location: res.headers.get('location') };
}

// A login up to the code at the RP, not redeemed: { code, verifier }.
async function codeAtRp(server, rp) {
  const req = await authRequest(rp.config);
  const { back } = await browse(server, new Agent(), req.url);
  return { code: back.searchParams.get('code'), verifier: req.verifier };
}

function redeem(server, rp, { code, verifier }) {
  return tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: RP_CB, code_verifier: verifier },
    { basic: [rp.c.client_id, rp.c.client_secret] });
}

// A 503 the browser can read: an HTML page saying to try again.
function assertBusyPage(a, what) {
  assert.equal(a.status, 503, `${what}: ${a.status} ${a.body.slice(0, 200)}`);
  assert.match(a.type, /^text\/html/);
  assert.match(a.body, /<title>[^<]+<\/title>/);
}

// A 503 the RP can read: JSON temporarily_unavailable.
function assertBusyJson(r, what) {
  assert.equal(r.status, 503, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, 'temporarily_unavailable');
}

const fsize = (pid, soft) => execFileSync('prlimit', ['--pid', String(pid), `--fsize=${soft}:unlimited`]);

test('SQLite disk full (RLIMIT_FSIZE): writes get 503, reads go on, nothing half-written, back when space returns', async () => {
  const server = await startServer({ engine: 'sqlite' });
  try {
    const rp = await registerRp(server);
    const before = await codeAtRp(server, rp);
    const kept = await codeAtRp(server, rp);
    fsize(server.proc.pid, 4096);
    // The new login: its request cannot be written.
    for (let i = 0; i < 3; i++) assertBusyPage(await authorize(rp), 'authorize with the disk full');
    // The RP redeems a code: marking it used is a write.
    assertBusyJson(await redeem(server, rp, before), 'redeeming a code with the disk full');
    await assertReadsGoOn(server);
    assert.equal(server.proc.exitCode, null, 'sleuteld still runs');
    fsize(server.proc.pid, 'unlimited');
    // Nothing half-written: the code whose redemption failed is whole and
    // redeems once; the store is consistent; new logins complete.
    const r = await redeem(server, rp, before);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.id_token && r.body.access_token);
    assert.equal((await redeem(server, rp, before)).status, 400, 'and only once');
    assert.equal((await redeem(server, rp, kept)).status, 200, 'a code issued before the fault redeems');
    assert.equal(sql(server, 'PRAGMA integrity_check'), 'ok');
    const after = await codeAtRp(server, rp);
    assert.equal((await redeem(server, rp, after)).status, 200, 'a login after the fault completes');
    assert.match(server.log(), /disk I\/O error|database or disk is full/);
  } finally {
    fsize(server.proc.pid, 'unlimited');
    await server.stop();
  }
});

// End every backend of an installation's database.
function killBackends(server) {
  const db = /dbname=(\S+)\s*$/.exec(storeOf(server).conninfo)[1];
  return Number(adminSql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`));
}

test('PostgreSQL read-only (default_transaction_read_only): writes get 503, reads go on, back when writable', async () => {
  const server = await startServer({ engine: 'postgresql', config: { store: { pool: 3 } } });
  const db = /dbname=(\S+)\s*$/.exec(storeOf(server).conninfo)[1];
  try {
    const rp = await registerRp(server);
    const before = await codeAtRp(server, rp);
    adminSql(`ALTER DATABASE "${db}" SET default_transaction_read_only = on`);
    killBackends(server);
    // Each pooled connection fails once on the lost backend and is made
    // again, read-only now: every write is refused from then on.
    let pages = 0;
    for (let i = 0; i < 8; i++) {
      const a = await authorize(rp);
      assert.ok(a.status === 503 || a.status === 500, `authorize: ${a.status} ${a.body} ${a.location}`);
      assert.match(a.type, /^text\/html/);
      if (a.status === 503) pages++;
    }
    assert.ok(pages >= 5, `read-only answers 503 (${pages} of 8)`);
    assertBusyJson(await redeem(server, rp, before), 'redeeming a code on a read-only database');
    await assertReadsGoOn(server);
    assert.match(server.log(), /read-only transaction/);
    adminSql(`ALTER DATABASE "${db}" RESET default_transaction_read_only`);
    killBackends(server);
    // The connections are made again (each may fail one request first).
    let r;
    for (let i = 0; i < 5; i++) {
      r = await redeem(server, rp, before);
      if (r.status === 200) break;
    }
    assert.equal(r.status, 200, `the code redeems once writable again: ${JSON.stringify(r.body)}`);
    assert.equal((await redeem(server, rp, await codeAtRp(server, rp))).status, 200, 'a new login completes');
  } finally {
    await server.stop();
  }
});

// The database server taken away mid-run and brought back: sleuteld
// reaches it through a relay that ends every session and refuses new
// connections (a stopped server, as its clients see it; a real second
// cluster costs initdb's 10 s), then listens again.
test('PostgreSQL unreachable mid-run (sessions cut, port refused): clear answers while down, back by itself', async () => {
  const conninfo = createDatabase();
  const [, host, port] = /host=(\S+) port=(\d+)/.exec(conninfo);
  const relay = await tcpRelay(host, Number(port));
  let server;
  let inst;
  try {
    inst = await initOn(conninfo.replace(/port=\d+/, `port=${relay.port}`), { store: { pool: 2 } });
    server = await launchServer(inst, { owner: false });
    const rp = await registerRp(server);
    const before = await codeAtRp(server, rp);
    await relay.down();
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) {
      const a = await authorize(rp);
      assert.equal(a.status, 503, `authorize with the database down: ${a.status} ${a.body.slice(0, 300)}`);
      assert.match(a.type, /^text\/html/);
    }
    assertBusyJson(await redeem(server, rp, before), 'token with the database down');
    assert.ok(Date.now() - t0 < 5000, `answered without hanging (${Date.now() - t0} ms)`);
    assert.equal((await fetch(`${server.base}/jwks`)).status, 200, 'the JWKS is served from memory');
    await relay.up();
    let ok;
    for (let i = 0; i < 5 && !ok; i++) ok = (await redeem(server, rp, before)).status === 200;
    assert.ok(ok, 'the code issued before the outage redeems after it');
    assert.equal((await redeem(server, rp, await codeAtRp(server, rp))).status, 200, 'a new login completes');
    assert.match(server.log(), /database connection re-made/);
  } finally {
    await server?.stop();
    await relay.close();
    if (inst) removeInstallation(inst.dir);
  }
});
