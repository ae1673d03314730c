// daemon.test.mjs — sleuteld as a process: start-up checks, health and
// metrics, graceful shutdown with suspended waiters, key rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import { startServer, loginWithTestKey, Agent, hiddenInputs, SLEUTELD, SLEUTEL, iniSet } from './lib/harness.mjs';

const execFileP = promisify(execFile);

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
  await execFileP(SLEUTEL, ['init', dir, '--ca', process.env.SLEUTEL_TEST_CA]);
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
    const p = spawn(SLEUTELD, ['--config', ini], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const code = await exitOf(p);
    assert.equal(code, 1, `exit status for ${re}`);
    assert.match(err, re);
  }
  const p = spawn(SLEUTELD, ['--config', path.join(dir, 'missing.ini')], { stdio: 'ignore' });
  assert.equal(await exitOf(p), 1);
});

test('sleuteld refuses a database with a newer schema', async () => {
  const server = await startServer();
  await server.stop({ keep: true });
  await execFileP('sqlite3', [path.join(server.dir, 'sleutel.db'), 'PRAGMA user_version = 99']);
  const p = spawn(SLEUTELD, ['--config', server.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
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
    await fetch(`${server.base}/nope`);
    const m = await (await fetch(`${server.base}/metrics`)).text();
    assert.match(m, /^sleutel_http_requests_total\{route="\/healthz",status="200"\} [1-9]/m);
    assert.match(m, /^sleutel_http_requests_total\{route="unmatched",status="404"\} 1$/m);
    assert.match(m, /^sleutel_http_request_duration_seconds_bucket\{route="\/authorize",le="\+Inf"\} [1-9]/m);
    assert.match(m, /^sleutel_logins_total\{key="test",result="ok"\} 1$/m);
    assert.match(m, /^sleutel_waiters 0$/m);
  } finally {
    await server.stop();
  }
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
    const m = await (await fetch(`${server.base}/metrics`)).text();
    assert.match(m, /^sleutel_waiters [1-5]$/m);
    t0 = Date.now();
    const res2 = server.stop({ keep: true });
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
    const rotated = JSON.parse(await server.cli('keys', 'rotate', '--publish-delay', '3', '--json'));
    const fresh = rotated.filter((k) => k.alg === 'ES256' && k.retire_after === 0).map((k) => k.kid);
    assert.equal(fresh.length, 1);
    const newKid = fresh[0];
    server.proc.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    const during = await (await fetch(`${server.base}/jwks`)).json();
    assert.ok(during.keys.some((k) => k.kid === newKid), 'new key published before use');
    assert.ok(during.keys.some((k) => k.kid === oldKid), 'old key still published');
    assert.equal(await kidOf(), oldKid, 'the old key signs until the delay has passed');
    await new Promise((r) => setTimeout(r, 3200));
    assert.equal(await kidOf(), newKid, 'the new key signs after the delay');
  } finally {
    await server.stop();
  }
});

test('plain HTTP on the portal only by explicit configuration', async () => {
  const server = await startServer();
  await server.stop({ keep: true });
  let ini = readFileSync(server.configPath, 'utf8');
  ini = iniSet(ini, 'server', 'tls', 'false');
  writeFileSync(server.configPath, ini);
  const p = spawn(SLEUTELD, ['--config', server.configPath], { stdio: 'ignore' });
  try {
    let r;
    for (let i = 0; i < 100; i++) {
      try { r = await fetch(`http://127.0.0.1:${server.port}/healthz`); break; } catch { await new Promise((x) => setTimeout(x, 50)); }
    }
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('strict-transport-security'), null, 'no HSTS on plain HTTP');
    const d = await (await fetch(`http://127.0.0.1:${server.port}/.well-known/openid-configuration`)).json();
    assert.ok(d.issuer.startsWith('https://'), 'the issuer stays https behind the proxy');
  } finally {
    p.kill('SIGTERM');
    assert.equal(await exitOf(p), 0);
  }
});
