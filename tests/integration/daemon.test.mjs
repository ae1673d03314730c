// daemon.test.mjs — sleuteld as a process: start-up checks, health and
// metrics, graceful shutdown with suspended waiters, key rotation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { startServer, loginWithTestKey, Agent, hiddenInputs, SLEUTELD, SLEUTEL, iniSet, trackProcess, removeInstallation } from './lib/harness.mjs';
import { initStoreArgs, setSchemaVersion } from './lib/db.mjs';

const execFileP = promisify(execFile);

// What a test keeps past its end: a server stopped with `keep: true` (to
// start sleuteld on its installation again), an installation of
// `sleutel init`, a directory of its own.  Removed once the file is done,
// the last made first (an installation inside a test's directory), each
// installation with its PostgreSQL database.
const leftovers = [];
after(() => {
  for (const dir of leftovers.reverse()) {
    if (existsSync(path.join(dir, 'sleutel.ini'))) removeInstallation(dir);
    else rmSync(dir, { recursive: true, force: true });
  }
});

function authorizeUrl(server, c, extra = {}) {
  return `${server.base}/authorize?` + new URLSearchParams({
    client_id: c.client_id, redirect_uri: 'https://rp.example/cb', response_type: 'code', scope: 'openid',
    state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    ...extra });
}

async function exitOf(proc) {
  return new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
}

test('sleuteld refuses a bad configuration with a message naming the key', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-badconf-'));
  leftovers.push(dir);
  await execFileP(SLEUTEL, ['init', dir, '--ca', process.env.SLEUTEL_TEST_CA, ...initStoreArgs()]);
  const ini = path.join(dir, 'sleutel.ini');
  const good = readFileSync(ini, 'utf8');
  const cases = [
    [iniSet(good, 'server', 'max_body', '12'), /max_body/],
    [iniSet(good, 'server', 'colour', 'blue'), /colour/],
    [iniSet(good, 'server', 'issuer', 'http://127.0.0.1:1'), /issuer/],
    [iniSet(good, 'portal', 'keys', 'eid,password'), /keys/],
    [iniSet(good, 'portal', 'default_language', 'it'), /default_language/],
  ];
  for (const [text, re] of cases) {
    writeFileSync(ini, text);
    const p = trackProcess(spawn(SLEUTELD, ['--config', ini], { stdio: ['ignore', 'ignore', 'pipe'] }), 'sleuteld');
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const code = await exitOf(p);
    assert.equal(code, 1, `exit status for ${re}`);
    assert.match(err, re);
  }
  const p = trackProcess(spawn(SLEUTELD, ['--config', path.join(dir, 'missing.ini')], { stdio: 'ignore' }), 'sleuteld');
  assert.equal(await exitOf(p), 1);
});

test('sleuteld refuses a database with a newer schema', async () => {
  const server = await startServer();
  await server.stop({ keep: true });
  leftovers.push(server.dir);
  setSchemaVersion(server, 99);
  const p = trackProcess(spawn(SLEUTELD, ['--config', server.configPath], { stdio: ['ignore', 'ignore', 'pipe'] }), 'sleuteld');
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  assert.equal(await exitOf(p), 1);
  assert.match(err, /schema version 99/);
});

test('/healthz and /metrics report requests, latency, logins and waiters', async () => {
  const server = await startServer();
  try {
    const h = await fetch(`${server.base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal((await h.json()).status, 'ok');
    const eid = await fetch(`${server.eidBase}/healthz`);
    assert.equal(eid.status, 200, 'the eID origin answers too');
    const c = await server.client({});
    const back = await loginWithTestKey(server, authorizeUrl(server, c));
    assert.ok(back.searchParams.get('code'));
    await (await fetch(`${server.base}/nope`)).text();
    // A request is counted when MHD reports it completed, which may come a
    // moment after the client has the answer (under ASan especially).
    let m = '';
    for (let i = 0; i < 40; i++) {
      m = await (await fetch(`${server.metricsBase}/metrics`)).text();
      if (/route="unmatched",status="404"/.test(m)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(m, /^sleutel_http_requests_total\{route="\/healthz",status="200"\} [1-9]/m);
    assert.match(m, /^sleutel_http_requests_total\{route="unmatched",status="404"\} 1$/m);
    assert.match(m, /^sleutel_http_request_duration_seconds_bucket\{route="\/authorize",le="\+Inf"\} [1-9]/m);
    assert.match(m, /^sleutel_logins_total\{key="test",result="ok"\} 1$/m);
    assert.match(m, /^sleutel_waiters 0$/m);
  } finally {
    await server.stop();
  }
});

// /metrics is never on the portal (it shows how many logins are under way,
// which helps whoever times a relay); its own listener, with a bearer token
// when the operator sets one.
test('/metrics is served only on the metrics listener, behind its token when set', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-metrics-'));
  leftovers.push(dir);
  const tokenFile = path.join(dir, 'metrics-token');
  const token = 'm'.repeat(20) + '0123456789abcdef-_xy';
  writeFileSync(tokenFile, token + '\n');
  const server = await startServer({ config: { metrics: { token_file: tokenFile } } });
  try {
    const portal = await fetch(`${server.base}/metrics`);
    assert.equal(portal.status, 404, 'the portal origin does not serve /metrics');
    await portal.arrayBuffer();
    const eid = await fetch(`${server.eidBase}/metrics`);
    assert.equal(eid.status, 404, 'nor does the eID origin');
    await eid.arrayBuffer();
    const none = await fetch(`${server.metricsBase}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate'), /^Bearer/);
    await none.arrayBuffer();
    for (const bad of [token.slice(0, -1), token + 'x', 'x' + token.slice(1), `Basic ${token}`]) {
      const r = await fetch(`${server.metricsBase}/metrics`,
        { headers: { authorization: bad.startsWith('Basic') ? bad : `Bearer ${bad}` } });
      assert.equal(r.status, 401, `refused: ${bad.slice(0, 12)}...`);
      await r.arrayBuffer();
    }
    const ok = await fetch(`${server.metricsBase}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^sleutel_waiters \d+$/m);
    const health = await fetch(`${server.metricsBase}/healthz`);
    assert.equal(health.status, 200, 'a monitor can reach /healthz on the metrics listener');
    await health.arrayBuffer();
    assert.match(server.log(), /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(bearer token required\)/);
  } finally {
    await server.stop();
  }
  // A short token is refused at start with a message naming the key.
  writeFileSync(tokenFile, 'short\n');
  const ini = path.join(dir, 'x', 'sleutel.ini');
  leftovers.push(path.join(dir, 'x'));
  await execFileP(SLEUTEL, ['init', path.join(dir, 'x'), '--ca', process.env.SLEUTEL_TEST_CA, ...initStoreArgs()]);
  let text = readFileSync(ini, 'utf8');
  text = iniSet(iniSet(text, 'metrics', 'port', '1'), 'metrics', 'token_file', tokenFile);
  writeFileSync(ini, text);
  const p = trackProcess(spawn(SLEUTELD, ['--config', ini], { stdio: ['ignore', 'ignore', 'pipe'] }), 'sleuteld');
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  assert.equal(await exitOf(p), 1);
  assert.match(err, /\[metrics\] token_file .*at least 32 characters/);
});

// A browser waiting on the wait page is a suspended request in the waiter
// registry: it is counted, answered at its timeout with 204, and answered at
// once when the daemon stops, which then exits 0.
test('waiters: timeout answers 204, SIGTERM resumes them and stops cleanly', async () => {
  const server = await startServer({ config: { portal: { waiter_timeout: 1 } } });
  let stopped = false;
  try {
    const c = await server.client({});
    const agent = new Agent();
    const res = await agent.get(authorizeUrl(server, c));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    let t0 = Date.now();
    let r = await agent.get(`${server.base}/login/poll?req=${req}`);
    assert.equal(r.status, 204);
    assert.ok(Date.now() - t0 >= 900, 'the poll waited for its timeout');
    // Now wait with a long timeout and count it in /metrics, then stop.
    const polls = Array.from({ length: 5 }, () => agent.get(`${server.base}/login/poll?req=${req}`));
    await new Promise((r2) => setTimeout(r2, 300));
    const m = await (await fetch(`${server.metricsBase}/metrics`)).text();
    assert.match(m, /^sleutel_waiters [1-5]$/m);
    t0 = Date.now();
    const res2 = server.stop({ keep: true });
    leftovers.push(server.dir);
    stopped = true;
    const answers = await Promise.all(polls);
    for (const a of answers) assert.equal(a.status, 204);
    assert.ok(Date.now() - t0 < 3000, 'shutdown did not wait for the poll timeouts');
    assert.equal((await res2).code, 0);
  } finally {
    if (!stopped) await server.stop();
  }
});

test('the wait page is woken by the other device at once', async () => {
  const server = await startServer();
  try {
    const c = await server.client({});
    const agent = new Agent();
    const res = await agent.get(authorizeUrl(server, c));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    const poll = agent.get(`${server.base}/login/poll?req=${req}`);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const ok = await fetch(`${server.base}/key/test/approve`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ req, rrn: '85073003328', given_name: 'Demo', family_name: 'Citizen' }) });
    assert.equal(ok.status, 200);
    const r = await poll;
    assert.equal(r.status, 200);
    assert.equal((await r.json()).status, 'done');
    assert.ok(Date.now() - t0 < 1000, 'resumed by the event, not by a timer');
    const page = await agent.get(`${server.base}/login/wait?req=${req}`);
    const hidden = hiddenInputs(await page.text());
    const fin = await agent.get(`${server.base}/login/finish?req=${req}&csrf=${hidden.csrf}`);
    assert.equal(fin.status, 303);
    assert.ok(new URL(fin.headers.get('location')).searchParams.get('code'));
    // A second approval for the same request is refused.
    const again = await fetch(`${server.base}/key/test/approve`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ req, rrn: '85073003328', given_name: 'X', family_name: 'Y' }) });
    assert.equal(again.status, 404);
  } finally {
    await server.stop();
  }
});

test('max_waiters is enforced: the poll past the limit answers 503', async () => {
  const server = await startServer({ config: { portal: { max_waiters: 2, waiter_timeout: 3 } } });
  try {
    const c = await server.client({});
    const agent = new Agent();
    const res = await agent.get(authorizeUrl(server, c));
    const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
    const first = [agent.get(`${server.base}/login/poll?req=${req}`), agent.get(`${server.base}/login/poll?req=${req}`)];
    await new Promise((r) => setTimeout(r, 300));
    const third = await agent.get(`${server.base}/login/poll?req=${req}`);
    assert.equal(third.status, 503);
    for (const p of await Promise.all(first)) assert.equal(p.status, 204);
  } finally {
    await server.stop();
  }
});

test('keys rotate: the new key is published at once and signs only after the delay', async () => {
  const server = await startServer({ config: { keys: { reload: 1 } } });
  try {
    const c = await server.client({});
    const kidOf = async () => {
      const back = await loginWithTestKey(server, authorizeUrl(server, c, { code_challenge:
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }));
      const r = await fetch(`${server.base}/token`, { method: 'POST',
        headers: { authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64'),
          'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code'),
          redirect_uri: 'https://rp.example/cb', code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' }) });
      const body = await r.json();
      assert.equal(r.status, 200, JSON.stringify(body));
      return jose.decodeProtectedHeader(body.id_token).kid;
    };
    const before = await (await fetch(`${server.base}/jwks`)).json();
    const oldKid = await kidOf();
    assert.ok(before.keys.some((k) => k.kid === oldKid && k.alg === 'ES256'));
    // Each timing below is the new key's own use_after (whole seconds,
    // from the CLI's clock once its keys are made and registered), not a
    // time taken here before the CLI ran: on a loaded machine `keys
    // rotate` took 2-12 s (its two RSA keys), and the key's second is
    // truncated, so "8 s after rotatedAt" was neither when the key begins
    // to sign nor a bound on it.  The delay is long enough that a loaded
    // machine (two test files at a time under ASan) still gets a token
    // inside it; the check says so when it did not, instead of failing on
    // the kid.
    const delayS = 8;
    const rotated = JSON.parse(await server.cli('keys', 'rotate', '--publish-delay', String(delayS), '--json'));
    // Every new key signs the whole delay after it was registered (its
    // `created`), though the RSA ones took seconds to make: the delay is
    // not counted from before they were made (the two differ by the
    // second turning between them at most).
    for (const k of rotated.filter((x) => x.retire_after === 0)) {
      assert.ok(k.use_after - k.created >= delayS - 1, `${k.alg} key: created ${k.created}, signs from ${k.use_after}`);
    }
    const fresh = rotated.filter((k) => k.alg === 'ES256' && k.retire_after === 0);
    assert.equal(fresh.length, 1);
    const newKid = fresh[0].kid;
    const signsFrom = fresh[0].use_after * 1000;
    server.proc.kill('SIGHUP');
    // Published once the daemon has reloaded (SIGHUP, or [keys] reload
    // every second): waited for, not assumed after a fixed pause.
    let during;
    for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
      during = await (await fetch(`${server.base}/jwks`)).json();
      if (during.keys.some((k) => k.kid === newKid)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(during.keys.some((k) => k.kid === newKid), 'new key published before use');
    assert.ok(during.keys.some((k) => k.kid === oldKid), 'old key still published');
    const kidDuring = await kidOf();
    assert.ok(Date.now() < signsFrom,
      `the token was back before the new key's use_after (${Date.now() - signsFrom} ms after it): the machine was too slow to tell`);
    assert.equal(kidDuring, oldKid, 'the old key signs until the delay has passed');
    // From use_after on the daemon signs with the key it already holds:
    // the switch needs no reload.  (50 ms: time(2) may lag the clock
    // Date.now() reads by a tick.)
    await new Promise((r) => setTimeout(r, Math.max(0, signsFrom + 50 - Date.now())));
    assert.equal(await kidOf(), newKid, 'the new key signs after the delay');
    // An urgent rotation: a key still waiting to sign (delay 3600) is
    // replaced by two rotations with no delay, within a second of each
    // other most often.  The last one signs at once, not its twin of the
    // same second (and the waiting key, retired, never will).
    const current = async (delay) => JSON.parse(await server.cli('keys', 'rotate', '--publish-delay', delay, '--json'))
      .find((k) => k.alg === 'ES256' && k.retire_after === 0);
    await current('3600');
    await current('0');
    const last = await current('0');
    server.proc.kill('SIGHUP');
    let published = false;
    for (const deadline = Date.now() + 15000; !published && Date.now() < deadline;) {
      published = (await (await fetch(`${server.base}/jwks`)).json()).keys.some((k) => k.kid === last.kid);
      if (!published) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(published, 'the last rotation is published within 15 s of SIGHUP');
    assert.equal(await kidOf(), last.kid, 'the last rotation signs');
  } finally {
    await server.stop();
  }
});

test('plain HTTP on the portal only by explicit configuration', async () => {
  const server = await startServer();
  await server.stop({ keep: true });
  leftovers.push(server.dir);
  let ini = readFileSync(server.configPath, 'utf8');
  ini = iniSet(ini, 'server', 'tls', 'false');
  writeFileSync(server.configPath, ini);
  const p = trackProcess(spawn(SLEUTELD, ['--config', server.configPath], { stdio: ['ignore', 'ignore', 'pipe'] }), 'sleuteld');
  // Listen for the exit at once: a daemon that stops early must fail the
  // test with what it said, not leave a wait that never ends.
  let stderr = '';
  p.stderr.on('data', (d) => { stderr += d; });
  const exited = exitOf(p);
  let gone = false;
  exited.then(() => { gone = true; });
  try {
    let r;
    // Up to 30 s: a sanitizer build on a busy machine starts slowly.
    for (let i = 0; i < 300 && !gone; i++) {
      try { r = await fetch(`http://127.0.0.1:${server.port}/healthz`); break; } catch { await new Promise((x) => setTimeout(x, 100)); }
    }
    assert.ok(r, `sleuteld did not answer on plain HTTP${gone ? ' (it exited)' : ''}: ${stderr.slice(-2000)}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('strict-transport-security'), null, 'no HSTS on plain HTTP');
    const d = await (await fetch(`http://127.0.0.1:${server.port}/.well-known/openid-configuration`)).json();
    assert.ok(d.issuer.startsWith('https://'), 'the issuer stays https behind the proxy');
  } finally {
    if (!gone) p.kill('SIGTERM');
    assert.equal(await exited, 0, stderr.slice(-2000));
  }
});

// ---- connection limits, with raw TLS sockets ----
import tls from 'node:tls';

function openTls(port) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost' }, () => resolve(s));
    s.on('error', reject);
  });
}

// Resolves with what the server sent until it closed (or '' on timeout).
function readUntilClose(sock, ms) {
  return new Promise((resolve) => {
    let data = '';
    const t = setTimeout(() => resolve({ closed: false, data }), ms);
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => { clearTimeout(t); resolve({ closed: true, data }); });
    sock.on('error', () => {});
  });
}

// The harness's own health checks leave a kept-alive connection open; with
// connection_timeout = 2 it is gone after a short wait, so the counts below
// are the test's own.
const settle = () => new Promise((r) => setTimeout(r, 2500));

function tlsState(port) {
  const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost' });
  const st = { sock: s, state: 'connecting' };
  s.on('secureConnect', () => { st.state = 'open'; });
  s.on('close', () => { st.state = 'closed'; });
  s.on('error', () => {});
  return st;
}

test('connection limits: per-IP count, header memory, idle timeout', async () => {
  const server = await startServer({ config: { server: {
    per_ip_connections: 2, connection_memory: 8192, connection_timeout: 2 } } });
  try {
    await settle();
    const conns = [tlsState(server.port), tlsState(server.port)];
    await new Promise((r) => setTimeout(r, 300));
    const third = tlsState(server.port);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(conns.map((c) => c.state), ['open', 'open']);
    assert.equal(third.state, 'closed', 'a third connection from the same address is closed');
    for (const c of conns) c.sock.destroy();
    // connection_memory = 8192: a larger header is refused with 431, not served.
    await new Promise((r) => setTimeout(r, 200));
    const big = await fetch(`${server.base}/healthz`, { headers: { 'x-filler': 'x'.repeat(10000) } }).catch((e) => e);
    assert.ok(big instanceof Error || [413, 414, 431].includes(big.status), `oversized header: ${big.status}`);
    // connection_timeout = 2: an idle connection is closed by the server.
    await settle();
    const idle = await openTls(server.port);
    const t0 = Date.now();
    const res = await readUntilClose(idle, 6000);
    assert.equal(res.closed, true);
    assert.ok(Date.now() - t0 < 4500, 'closed after about the configured two seconds');
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200);
  } finally {
    await server.stop();
  }
});

// libmicrohttpd stops accepting at the limit: further connections wait in
// the listen queue until a slot frees, rather than being served.
test('max_connections: past the limit a connection waits until one closes', async () => {
  const server = await startServer({ config: { server: { max_connections: 4, threads: 1, connection_timeout: 2 } } });
  try {
    await settle();
    const conns = [];
    for (let i = 0; i < 4; i++) conns.push(tlsState(server.port));
    await new Promise((r) => setTimeout(r, 300));
    const extra = tlsState(server.port);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(conns.map((c) => c.state), ['open', 'open', 'open', 'open']);
    assert.equal(extra.state, 'connecting', 'the fifth is not accepted while four are open');
    conns[0].sock.destroy();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(extra.state, 'open', 'accepted once a slot is free');
    for (const c of [...conns, extra]) c.sock.destroy();
  } finally {
    await server.stop();
  }
});

// Found by fuzz/fuzz_jose: cjose's decoder asserts on a '=' inside a
// segment. A client controls client_assertion and id_token_hint, so such a
// token must be refused, not abort the daemon.
test('malformed JWS from a client is refused without harm', async () => {
  const server = await startServer();
  try {
    const c = await server.client({ auth: 'client_secret_post' });
    for (const bad of ['eyJhbGciOiJFUzI1NiJ9.J=u.cn', 'eyJhbGciOiJFUzI1NiJ9..', 'a.b.c.d', '....']) {
      const t = await fetch(`${server.base}/token`, { method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://rp.example/cb',
          client_id: c.client_id, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: bad }) });
      assert.ok([400, 401].includes(t.status), `token with assertion ${bad}: ${t.status}`);
      const l = await fetch(`${server.base}/logout?id_token_hint=${encodeURIComponent(bad)}`);
      assert.equal(l.status, 400, `logout with hint ${bad}`);
    }
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200, 'still serving');
  } finally {
    await server.stop();
  }
});
