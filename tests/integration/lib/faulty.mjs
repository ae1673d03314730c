// faulty.mjs — the faults tests' own tools (tests/integration/faults*.test.mjs):
// a relay that takes a database server away and brings it back under a
// running sleuteld, and upstreams that misbehave on purpose.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { SLEUTEL, freePort, iniSet, initEnv } from './harness.mjs';
import { codeFlow } from './flows.mjs';

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
    '--ca', process.env.SLEUTEL_TEST_CA, '--postgresql', conninfo], { env: initEnv() });
  const configPath = path.join(dir, 'sleutel.ini');
  let ini = iniSet(readFileSync(configPath, 'utf8'), 'metrics', 'port', String(metricsPort));
  for (const [section, kv] of Object.entries(config)) {
    for (const [k, v] of Object.entries(kv)) ini = iniSet(ini, section, k, String(v));
  }
  writeFileSync(configPath, ini);
  return { dir, configPath, port, eidPort, pkiPort: 0, metricsPort, demo: false };
}

// Every mode of faultyUpstream but 'ok'.
export const MODES = ['hang', 'slow', 'garbage', 'reset', 'truncated', 'huge', 'wrongtype'];

// A whole test-key login of another person (a fresh browser), timed (ms).
export async function otherLogin(server, rp) {
  const t0 = Date.now();
  const r = await codeFlow(server, rp.config);
  if (!r.tokens.access_token) throw new Error('the login gave no access token');
  return Date.now() - t0;
}

// An upstream that misbehaves as told: `mode` (settable at any time) is
//   'hang'      reads the request, never answers (the socket stays open)
//   'slow'      answers 200 one byte every 200 ms, never done in time
//   'garbage'   answers bytes that are not HTTP, then closes
//   'reset'     closes the connection (RST) once the request is in
//   'truncated' promises 1000 bytes of JSON, sends 20, closes
//   'huge'      answers 200 with 8 MiB of JSON-looking bytes, fast
//   'wrongtype' answers 200 text/html "<html>…" where JSON is expected
//   'ok'        answers with `ok(req, body)` ({ status, type, body })
// { url, mode, hits, close() }: `hits` counts requests that arrived.
export async function faultyUpstream({ mode = 'hang', ok = () => ({ status: 200, type: 'application/json', body: '{}' }) } = {}) {
  const socks = new Set();
  const timers = new Set();
  const up = { mode, hits: 0 };
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      up.hits++;
      const body = Buffer.concat(chunks);
      const sock = res.socket;
      switch (up.mode) {
        case 'hang': return;
        case 'slow': {
          const text = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{';
          let i = 0;
          const t = setInterval(() => {
            if (sock.destroyed) { clearInterval(t); timers.delete(t); return; }
            sock.write(i < text.length ? text[i++] : ' ');
          }, 200);
          timers.add(t);
          return;
        }
        case 'garbage': sock.end(Buffer.from('\x16\x03\x01\x00\xffNOT HTTP AT ALL\x00\x01\x02\r\n\r\n')); return;
        case 'reset': sock.resetAndDestroy(); return;
        case 'truncated':
          sock.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"keys":[{"kty":"EC",');
          return;
        case 'huge': {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(8 << 20) });
          const piece = Buffer.alloc(64 << 10, 0x20);
          let sent = 0;
          const more = () => {
            while (sent < (8 << 20)) {
              sent += piece.length;
              if (!res.write(piece)) { res.once('drain', more); return; }
            }
            res.end();
          };
          res.on('error', () => {});
          more();
          return;
        }
        case 'wrongtype':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service temporarily moved</body></html>');
          return;
        default: {
          const a = ok(req, body);
          res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
        }
      }
    });
  });
  srv.on('connection', (s) => { socks.add(s); s.on('close', () => socks.delete(s)); s.on('error', () => {}); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  up.port = srv.address().port;
  up.url = `http://127.0.0.1:${up.port}`;
  up.close = () => new Promise((r) => {
    for (const t of timers) clearInterval(t);
    for (const s of socks) s.destroy();
    srv.close(r);
  });
  return up;
}
