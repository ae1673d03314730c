// faults-conn.test.mjs — 10 000 idle connections and slowloris clients
// while logins go on (issue 12 item 4, docs/faults.md "Connections").
// A holder process (lib/faulty-holder.mjs, its open files limit raised to
// the hard one) opens the connections from source addresses across
// 127.0.0.0/8, so that [server] per_ip_connections counts them apart from
// the logins (127.0.0.1).  Asserted: logins complete within a bound while
// they hold on, sleuteld's memory (VmRSS) stays bounded, one more
// connection from a full address is closed at once, at max_connections
// one more waits unserved in the listen queue until a slot frees (then it
// is served), idle connections are closed at connection_timeout,
// slowloris ones at header_timeout.
//
// The open files limit: sleuteld and the holder each need 10 000 and
// more; each raises its soft limit to the hard one, which only root (or
// CAP_SYS_RESOURCE) could raise.  A hard limit below that fails the test
// at once, naming it: the count is not sized down to the limit, so that
// make check never passes on fewer than 10 000 (hard limit here and in CI:
// 20 000).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startServer, trackProcess } from './lib/harness.mjs';
import { registerRp, codeFlow } from './lib/flows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// The figure.  All must be open at once before the first times
// out.  Each event loop of the TLS listener polls all its connections per
// pass, so accepting costs more as they grow: on the shared 2-core box
// 10 000 were accepted in 3.9-6 s with threads = 16, 4.5-6 s with 8 (the
// default), 30 s with 2.  FAULTS_IDLE sets another count.
const IDLE = Number(process.env.FAULTS_IDLE || 10000);
const SOURCES = 50; // IDLE / 50 connections per address
const PER_IP = IDLE / SOURCES;
const SLOW = PER_IP; // from one address (127.0.2.1): exactly its limit
// [server] max_connections: the held ones and room for the logins; the
// edge test fills the rest.
const MAX_CONN = IDLE + SLOW + 100;
const FDS_BESIDES = 256; // src/server/server.c FDS_BESIDES_CONNECTIONS
// [server] connection_timeout: above the time to open them all (4-9 s),
// run three logins and the edge test (about 3 s).
const TIMEOUT = Number(process.env.FAULTS_TIMEOUT || 12);
// [server] header_timeout: the deadline on a new connection's first
// request head, what ends a slowloris client (above TIMEOUT here, so that
// the idle ones show connection_timeout).
const HEAD_TIMEOUT = TIMEOUT + 1;

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// The hard open files limit of processes started from here (the holder's
// and sleuteld's).
const hardFdLimit = () => {
  const v = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return v === 'unlimited' ? Infinity : Number(v);
};

// sleuteld's connections on 127.0.0.1:`port` from the kernel's table:
// accepted (a socket with an inode: sleuteld holds it) and queued
// (established, in the listen queue, not accepted yet: no inode).  The
// local address too: a client socket from 127.0.1.x may get the same
// port number.
function serverConns(port) {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let accepted = 0;
  let queued = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const c = line.trim().split(/\s+/);
    if (c.length < 10 || c[1] !== local || c[3] !== '01') continue;
    if (c[9] === '0') queued++;
    else accepted++;
  }
  return { accepted, queued };
}

// Is a new connection from `localAddress` closed by the server at once?
async function closedAtOnce(port, localAddress) {
  const s = net.connect({ host: '127.0.0.1', port, localAddress });
  s.on('error', () => {});
  s.resume();
  const closed = await new Promise((r) => { s.on('close', () => r(true)); setTimeout(() => r(false), 1500); });
  s.destroy();
  return closed;
}

// The holder process and its reports.
function holder(port) {
  const proc = trackProcess(spawn('sh', ['-c', 'ulimit -Sn "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath,
    path.join(here, 'lib/faulty-holder.mjs'), String(port), String(IDLE), String(SOURCES), String(SLOW), '500'],
  { stdio: ['pipe', 'pipe', 'inherit'] }), 'faulty-holder');
  const reports = [];
  let wake = null;
  readline.createInterface({ input: proc.stdout }).on('line', (l) => { reports.push(JSON.parse(l)); wake?.(); });
  return {
    proc,
    reports,
    async until(pred, ms) {
      const end = Date.now() + ms;
      while (!pred(reports) && Date.now() < end) await new Promise((r) => { wake = r; setTimeout(r, 100); });
      return pred(reports);
    },
    stop() { proc.stdin.end(); return new Promise((r) => proc.on('exit', r)); },
  };
}

// At max_connections: `free` more plain connections fill it (and three
// wait behind them), then a TLS one waits in the listen queue, unserved,
// while sleuteld holds exactly max_connections; once slots free it is
// accepted and served.  Before the first idle connection times out.
async function connectionEdge(port) {
  const socks = [];
  const open = (localAddress) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.on('error', () => {});
    socks.push(s);
  };
  const t0 = Date.now();
  const marks = [];
  const mark = () => marks.push(Date.now() - t0);
  const free = MAX_CONN - serverConns(port).accepted;
  assert.ok(free > 0 && free <= 100 + 50, `room left below max_connections: ${free}`);
  for (let i = 0; i < free + 3; i++) open(`127.0.3.${1 + (i % 2)}`);
  let c;
  // `!==`, not `<`: a connection accepted past the limit and closed at
  // once (libmicrohttpd's pool threads race for the last slot; seen on the
  // sanitizer build) shows for a moment as one more; what sleuteld holds is
  // what stays.
  for (let i = 0; i < 100 && (c = serverConns(port)).accepted !== MAX_CONN; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(c.accepted, MAX_CONN, `sleuteld holds max_connections (${JSON.stringify(c)})`);
  mark();
  let secure = false;
  const t = tls.connect({ host: '127.0.0.1', port, localAddress: '127.0.3.9', servername: 'localhost', rejectUnauthorized: false },
    () => { secure = true; });
  t.on('error', () => {});
  let answer = '';
  t.on('data', (d) => { answer += d; });
  await new Promise((r) => setTimeout(r, 600));
  // Read as above: one accepted past the limit and closed at once (seen
  // on the plain build too, under load) is gone within a few reads.
  let full = serverConns(port);
  for (let i = 0; i < 50 && full.accepted !== MAX_CONN; i++) {
    await new Promise((r) => setTimeout(r, 20));
    full = serverConns(port);
  }
  mark();
  assert.equal(secure, false, 'a connection past max_connections is not served');
  assert.equal(full.accepted, MAX_CONN, `never more than max_connections accepted (${JSON.stringify(full)})`);
  assert.ok(full.queued >= 1, `it waits in the listen queue (${JSON.stringify(full)})`);
  // Slots free: the three queued ahead and the TLS one are accepted.
  for (const s of socks.splice(0, 8)) s.destroy();
  for (let i = 0; i < 150 && !secure; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(secure, true, 'accepted and its handshake done once slots are free');
  mark();
  t.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  await new Promise((r) => { t.on('close', r); setTimeout(r, 3000); });
  assert.match(answer, /^HTTP\/1\.1 200 /, 'and served');
  for (const s of socks) s.destroy();
  return { free, marks };
}

test(`${IDLE} idle connections and slowloris clients: logins go on, memory bounded, per-IP limit holds, max_connections + 1 waits, idle ones closed at connection_timeout, slowloris ones at header_timeout`, async () => {
  const t0 = Date.now();
  const hard = hardFdLimit();
  const need = MAX_CONN + FDS_BESIDES;
  assert.ok(hard >= need, `the hard open files limit (ulimit -Hn) is ${hard}: this test holds ${IDLE} idle and ` +
    `${SLOW} slowloris connections and needs ${need} descriptors in sleuteld (max_connections ${MAX_CONN} + ${FDS_BESIDES}) ` +
    'and as many in its holder; raise the hard limit (LimitNOFILE=, ulimit -Hn as root) or run with FAULTS_IDLE lower');
  // threads 16: the accepts of 10 000 in about 4 s (see IDLE)
  const server = await startServer({ config: { server: {
    max_connections: MAX_CONN, per_ip_connections: PER_IP, connection_timeout: TIMEOUT,
    header_timeout: HEAD_TIMEOUT, threads: 16 } } });
  let h;
  try {
    const rp = await registerRp(server);
    const t = Date.now();
    await codeFlow(server, rp.config);
    const base = Date.now() - t;
    const rss0 = rssKiB(server.proc.pid);
    const openAt = Date.now();
    process.stderr.write(`server up and first login ${openAt - t0} ms\n`);
    h = holder(server.port);
    assert.ok(await h.until((r) => r.some((x) => 'open' in x), TIMEOUT * 1000), 'the holder opened its connections');
    const heldAt = Date.now();
    const opened = h.reports.find((x) => 'open' in x);
    assert.equal(opened.open, IDLE + SLOW, `all connections open (${JSON.stringify(opened)})`);
    // Accepted by sleuteld (its descriptors), not only queued by the kernel.
    let fds = 0;
    for (let i = 0; i < 100 && fds < IDLE + SLOW; i++) {
      fds = readdirSync(`/proc/${server.proc.pid}/fd`).length;
      if (fds < IDLE + SLOW) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(fds >= IDLE + SLOW, `sleuteld holds the connections (${fds} descriptors)`);
    const acceptedAt = Date.now();
    assert.equal(h.reports.filter((x) => 'closed' in x).length, 0, 'none was closed before its time');
    // Logins while they hold on.
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t1 = Date.now();
      await codeFlow(server, rp.config);
      times.push(Date.now() - t1);
    }
    const rss1 = rssKiB(server.proc.pid);
    // One more from a full address: closed at once, never served.
    const extraClosed = await closedAtOnce(server.port, '127.0.1.1');
    // The edge test (about 1.5 s) needs them all held: before the first
    // idle one's connection_timeout, counted from the holder's start.
    const edgeAt = Date.now();
    assert.ok(edgeAt - openAt < TIMEOUT * 1000 - 2500, `the connections held and the logins done ${edgeAt - openAt} ms ` +
      `after the holder started: too late for the edge test before connection_timeout (${TIMEOUT} s; FAULTS_TIMEOUT raises it)`);
    const edge = await connectionEdge(server.port);
    const edgeDone = Date.now();
    assert.equal(h.reports.filter((x) => x.kind === 'idle').length, 0, 'no idle connection closed before the edge test ended');
    process.stderr.write(`login alone ${base} ms; with ${IDLE} idle + ${SLOW} slow: ${times.join(', ')} ms; ` +
      `RSS ${rss0} -> ${rss1} KiB (${((rss1 - rss0) / IDLE).toFixed(1)} KiB a connection); held ${heldAt - openAt} ms ` +
      `after the holder started, accepted ${acceptedAt - openAt} ms; edge test ${edgeDone - edgeAt} ms (${JSON.stringify(edge)})\n`);
    assert.equal(extraClosed, true, `connection ${PER_IP + 1} from one address is closed at once`);
    assert.ok(Math.max(...times) < Math.max(3000, 5 * base), `logins took ${times} ms (alone ${base} ms)`);
    // A connection's memory pool (connection_memory, 32 KiB) is allocated
    // as it is used; with its TLS session and records, measured 14 KiB on
    // the dev build and 40 KiB under ASan: bound 64 KiB each.
    assert.ok(rss1 - rss0 < IDLE * 64, `RSS grew by ${rss1 - rss0} KiB for ${IDLE} connections (bound: 64 KiB each)`);
    // Closed by the server at connection_timeout: idle ones, and the
    // slowloris ones whose headers never end.  Age: from each one's connect.
    const all = (kind, n) => (r) => r.filter((x) => x.kind === kind).length >= n;
    // The kernel queues a connection before sleuteld accepts it, and its
    // timeout runs from the accept.  The first IDLE_SAMPLE of them (the
    // first accepted): each closed TIMEOUT (-2 s, +3 s) after it was
    // opened; waiting for the last 10 000 - IDLE_SAMPLE would add the
    // 4-7 s they took to open (FAULTS_IDLE_SAMPLE=10000 waits for all).
    const sample = Math.min(IDLE, Number(process.env.FAULTS_IDLE_SAMPLE || 1000));
    const closedSample = await h.until(all('idle', sample), acceptedAt + (TIMEOUT + 3) * 1000 - Date.now());
    const ages = h.reports.filter((x) => x.kind === 'idle').map((x) => x.age);
    const lo = Math.min(...ages);
    const hi = Math.max(...ages);
    process.stderr.write(`idle: ${ages.length} closed, after ${lo}..${hi} ms; the last accepted ${acceptedAt - heldAt} ms after the holder connected\n`);
    assert.ok(closedSample, `the first ${sample} idle connections were closed by connection_timeout (${ages.length} of ${IDLE})`);
    assert.ok(lo >= (TIMEOUT - 2) * 1000, `none closed well before connection_timeout (first after ${lo} ms)`);
    assert.ok(hi <= (TIMEOUT + 3) * 1000, `none closed well after connection_timeout (last after ${hi} ms)`);
    // Slowloris: a byte every 500 ms is activity, and libmicrohttpd's
    // connection_timeout counts inactivity only; header_timeout ends them.
    const slowClosed = await h.until(all('slow', SLOW), acceptedAt + (HEAD_TIMEOUT + 3) * 1000 - Date.now());
    const slowAges = h.reports.filter((x) => x.kind === 'slow').map((x) => x.age);
    process.stderr.write(`slowloris: ${slowAges.length} closed, after ${Math.min(...slowAges)}..${Math.max(...slowAges)} ms\n`);
    assert.ok(slowClosed, `every slowloris connection was closed by header_timeout (${slowAges.length} of ${SLOW})`);
    assert.ok(Math.min(...slowAges) >= (HEAD_TIMEOUT - 2) * 1000, `not before header_timeout (${Math.min(...slowAges)} ms)`);
    assert.equal(await closedAtOnce(server.port, '127.0.2.1'), false, 'their address may connect again');
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200);
  } finally {
    const t1 = Date.now();
    await h?.stop();
    const t2 = Date.now();
    await server.stop();
    process.stderr.write(`holder stop ${t2 - t1} ms, server stop ${Date.now() - t2} ms\n`);
  }
});
