// faults-conn.test.mjs — 10 000 idle connections and slowloris clients
// while logins go on (issue 12 item 4, docs/faults.md "Connections").
// A holder process (lib/faulty-holder.mjs, its open files limit raised to
// the hard one) opens the connections from source addresses across
// 127.0.0.0/8, so that [server] per_ip_connections counts them apart from
// the logins (127.0.0.1).  Asserted: logins complete within a bound while
// they hold on, sleuteld's memory (VmRSS) stays bounded, idle connections
// are closed at connection_timeout, slowloris ones too, and one more
// connection from a full address is closed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/harness.mjs';
import { registerRp, codeFlow } from './lib/flows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// make check holds 5000 (sleuteld accepts about 1000 new TLS connections
// a second on a shared 2-core box, and all must be open at once before
// the first times out); FAULTS_IDLE=10000 FAULTS_TIMEOUT=25 is the
// issue's figure, measured by hand (docs/faults.md).
const IDLE = Number(process.env.FAULTS_IDLE || 2000);
const SOURCES = 50; // IDLE / 50 connections per address
const PER_IP = IDLE / SOURCES;
const SLOW = PER_IP; // from one address (127.0.2.1): exactly its limit
// [server] connection_timeout: above the time the holder needs to open them all.
const TIMEOUT = Number(process.env.FAULTS_TIMEOUT || 8);
// [server] header_timeout: the deadline on a new connection's first
// request head, what ends a slowloris client (above TIMEOUT here, so that
// the idle ones show connection_timeout).
const HEAD_TIMEOUT = TIMEOUT + 2;

const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

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
  const proc = spawn('sh', ['-c', 'ulimit -Sn "$(ulimit -Hn)" && exec "$0" "$@"', process.execPath,
    path.join(here, 'lib/faulty-holder.mjs'), String(port), String(IDLE), String(SOURCES), String(SLOW), '500'],
  { stdio: ['pipe', 'pipe', 'inherit'] });
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

test(`${IDLE} idle connections and slowloris clients: logins go on, memory bounded, idle ones closed at connection_timeout, slowloris ones at header_timeout, per-IP limit holds`, async () => {
  const server = await startServer({ config: { server: {
    max_connections: IDLE + 1000, per_ip_connections: PER_IP, connection_timeout: TIMEOUT,
    header_timeout: HEAD_TIMEOUT, threads: 2 } } });
  let h;
  try {
    const rp = await registerRp(server);
    const t = Date.now();
    await codeFlow(server, rp.config);
    const base = Date.now() - t;
    const rss0 = rssKiB(server.proc.pid);
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
    process.stderr.write(`login alone ${base} ms; with ${IDLE} idle + ${SLOW} slow: ${times.join(', ')} ms; ` +
      `RSS ${rss0} -> ${rss1} KiB (${((rss1 - rss0) / IDLE).toFixed(1)} KiB a connection)\n`);
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
    // timeout runs from the accept: none closed before TIMEOUT, all by
    // TIMEOUT (+ 3 s) after the last was accepted.
    const closedAll = await h.until(all('idle', IDLE), acceptedAt + (TIMEOUT + 3) * 1000 - Date.now());
    const ages = h.reports.filter((x) => x.kind === 'idle').map((x) => x.age);
    const lo = Math.min(...ages);
    process.stderr.write(`idle: ${ages.length} closed, after ${lo}..${Math.max(...ages)} ms; the last accepted ${acceptedAt - heldAt} ms after the holder connected\n`);
    assert.ok(closedAll, `every idle connection was closed by connection_timeout after the last accept (${ages.length} of ${IDLE})`);
    assert.ok(lo >= (TIMEOUT - 2) * 1000, `none closed well before connection_timeout (first after ${lo} ms)`);
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
    await h?.stop();
    await server.stop();
  }
});
