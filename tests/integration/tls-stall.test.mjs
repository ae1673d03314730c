// tls-stall.test.mjs — a client that sends its ClientHello and then nothing
// must cost the server no CPU while it waits.  libmicrohttpd 0.9.75's epoll
// loop called gnutls_handshake again and again while it answered "again"
// (0.6–1.0 of a core per stalled connection, measured by bench/load), a
// denial of service that one address could keep up until the connection
// timeout: the TLS listeners now run MHD's poll loop (src/http/daemon.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from './lib/harness.mjs';

// A real ClientHello: what Node's TLS client writes first, caught by a
// local listener that never answers.
async function clientHello() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const got = new Promise((resolve) => srv.once('connection', (s) => s.once('data', (d) => { resolve(d); s.destroy(); })));
  const c = tls.connect({ host: '127.0.0.1', port: srv.address().port, servername: 'localhost' });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  srv.close();
  return hello;
}

// The CPU seconds (user + system) the process has used so far.
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function stalledCpu(port, pid, hello) {
  const socks = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    await new Promise((resolve) => s.once('connect', resolve));
    s.write(hello);
    socks.push(s);
  }
  await sleep(300); // the server has read the hellos and answered
  const before = cpuSeconds(pid);
  await sleep(2000);
  const used = cpuSeconds(pid) - before;
  for (const s of socks) s.destroy();
  return used / 2;
}

test('four clients stalled after their ClientHello cost the portal and the eID origin no CPU', async () => {
  const server = await startServer();
  try {
    const hello = await clientHello();
    assert.equal(hello[0], 0x16, 'a TLS handshake record');
    const portal = await stalledCpu(server.port, server.proc.pid, hello);
    const eid = await stalledCpu(server.eidPort, server.proc.pid, hello);
    // Measured before the fix: 0.6–1.0 of a core for one stalled client.
    assert.ok(portal < 0.1, `portal: ${portal.toFixed(2)} of a core while clients stall`);
    assert.ok(eid < 0.1, `eID origin: ${eid.toFixed(2)} of a core while clients stall`);
    // and the server still serves
    const res = await fetch(`${server.base}/healthz`);
    assert.equal(res.status, 200);
  } finally {
    await server.stop();
  }
});
