// faulty.mjs — the faults tests' own tools (tests/integration/faults*.test.mjs):
// a relay that takes a database server away and brings it back under a
// running sleuteld, and upstreams that misbehave on purpose.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { SLEUTEL, freePort, iniSet } from './harness.mjs';

const execFileP = promisify(execFile);

// A TCP relay to host:port on a port of its own: { port, down(), up(),
// close() }.  down() cuts every connection through it and refuses new
// ones (what a stopped database server looks like from a client: its
// sessions ended, its port closed); up() listens again on the same port.
export async function tcpRelay(host, port) {
  const socks = new Set();
  let srv = null;
  let myPort = 0;
  const listen = () => new Promise((resolve, reject) => {
    srv = net.createServer((c) => {
      const u = net.connect(port, host);
      socks.add(c); socks.add(u);
      c.pipe(u); u.pipe(c);
      const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
      c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    });
    srv.on('error', reject);
    srv.listen(myPort, '127.0.0.1', () => { myPort = srv.address().port; resolve(); });
  });
  await listen();
  return {
    get port() { return myPort; },
    async down() {
      await new Promise((resolve) => { srv.close(resolve); for (const s of socks) s.destroy(); socks.clear(); });
    },
    up: listen,
    async close() { if (srv.listening) await this.down(); },
  };
}

// An installation (as harness initServer) on the PostgreSQL database
// `conninfo`, whatever the run's engine.
export async function initOn(conninfo, config = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-test-'));
  const [port, eidPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  // Asynchronously: the database may be behind a relay of this process.
  await execFileP(SLEUTEL, ['init', dir, '--port', String(port), '--eid-port', String(eidPort),
    '--ca', process.env.SLEUTEL_TEST_CA, '--postgresql', conninfo]);
  const configPath = path.join(dir, 'sleutel.ini');
  let ini = iniSet(readFileSync(configPath, 'utf8'), 'metrics', 'port', String(metricsPort));
  for (const [section, kv] of Object.entries(config)) {
    for (const [k, v] of Object.entries(kv)) ini = iniSet(ini, section, k, String(v));
  }
  writeFileSync(configPath, ini);
  return { dir, configPath, port, eidPort, pkiPort: 0, metricsPort, demo: false };
}
