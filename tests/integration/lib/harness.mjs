// harness.mjs — starts a real sleuteld for a test and drives it.
//
// Every server gets a fresh directory (`sleutel init`, with the signing
// keys of fixtures/signing-keys under kids of its own), free loopback ports,
// a TLS certificate from the run's test CA (SLEUTEL_TEST_CA; Node trusts it
// through NODE_EXTRA_CA_CERTS, both set by scripts/check.sh or
// scripts/test-env.sh), and is ready when /healthz answers. stop() sends
// SIGTERM and resolves with the exit code; a sanitizer report or a non-zero
// exit makes stop() throw, so no test passes over a crash.
// With SLEUTEL_TEST_ENGINE=postgresql each server gets a fresh PostgreSQL
// database instead of DIR/sleutel.db, dropped on stop (lib/db.mjs).
// Every process the tests start is tracked (trackProcess): what is still
// running when the file is done is killed and reported (see below).
import { spawn, execFile } from 'node:child_process';
import { after } from 'node:test';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { initStoreArgs, storeOf, dropDatabase } from './db.mjs';
import { startWatchdog } from './watchdog.mjs';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const BUILD = path.resolve(ROOT, process.env.SLEUTEL_BUILD || 'build');
export const SLEUTEL = path.join(BUILD, 'sleutel');
export const SLEUTELD = path.join(BUILD, 'sleuteld');
// The signing keys `sleutel init` installs in a test build instead of new
// ones (fixtures/signing-keys/README.md): RSA key generation was most of
// the CPU of starting a server.
const SIGNING_KEYS = path.join(here, '..', 'fixtures', 'signing-keys');
// The environment of a `sleutel init` that installs those keys.
export const initEnv = () => ({ ...process.env, SLEUTEL_TEST_SIGNING_KEYS: SIGNING_KEYS });

// ---- no process outlives its test file ----
//
// trackProcess(proc, what, dir) records a child (sleuteld, an OCSP
// responder, a holder of connections, ...) in this file's registry and,
// with SLEUTEL_TEST_PIDS set (scripts/check.sh), in the run's:
// DIR/<this pid>.pids, a line "pid<TAB>what<TAB>test file<TAB>installation".
// What still runs when the file is done is SIGKILLed and reported (on
// stderr, and as a line in DIR/leaks that check.sh turns into a failure
// naming the file): at exit, at SIGINT/SIGTERM, and LEFTOVER_MS after the
// file's last test (a child left running keeps the file's process alive,
// so without this the run would hang on it).  check.sh also looks, once a
// file's process is gone, for anything still running from its registry
// or naming one of its installations (a key holder, a child of a child).
const PID_DIR = process.env.SLEUTEL_TEST_PIDS || '';
const TEST_FILE = path.relative(ROOT, process.argv[1] || 'unknown');
const LEFTOVER_MS = 30000;
const children = new Map(); // pid -> { proc, what }

export function trackProcess(proc, what, dir = '') {
  if (!proc.pid) return proc;
  children.set(proc.pid, { proc, what });
  proc.once('exit', () => children.delete(proc.pid));
  if (PID_DIR) appendFileSync(path.join(PID_DIR, `${process.pid}.pids`), `${proc.pid}\t${what}\t${TEST_FILE}\t${dir}\n`);
  return proc;
}

// A process started by another (PostgreSQL by scripts/pg-test-server.sh):
// in the run's registry only, for check.sh; its starter stops it.
export function recordPid(pid, what, dir = '') {
  if (PID_DIR && pid) appendFileSync(path.join(PID_DIR, `${process.pid}.pids`), `${pid}\t${what}\t${TEST_FILE}\t${dir}\n`);
}

function killLeftovers(when) {
  for (const [pid, { proc, what }] of children) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    try { proc.kill('SIGKILL'); } catch { /* gone meanwhile */ }
    const line = `${TEST_FILE}: ${what} (pid ${pid}) was still running ${when}: killed`;
    process.stderr.write(`${line}\n`);
    if (PID_DIR) appendFileSync(path.join(PID_DIR, 'leaks'), `${line}\n`);
  }
  children.clear();
}

process.on('exit', () => killLeftovers('at exit'));
// The file's wall time for check.sh's table of files by time (how near
// each is to the per-file timeout): DIR/times, "seconds<TAB>test file".
if (PID_DIR && process.env.NODE_TEST_CONTEXT) {
  process.on('exit', () => appendFileSync(path.join(PID_DIR, 'times'), `${process.uptime().toFixed(1)}\t${TEST_FILE}\n`));
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killLeftovers(`at ${sig}`); process.exit(128 + osConstants.signals[sig]); });
}
// Those handlers need the event loop: a file blocked in a synchronous call
// is reported, then killed, by lib/watchdog.mjs.
if (process.env.NODE_TEST_CONTEXT) startWatchdog(TEST_FILE);

// What keeps this process alive: its referenced handles (sockets with
// their ends, servers, child processes, pipes) and the kinds of its other
// resources (timers, pending requests), one line each.
export function aliveBecause() {
  const lines = process._getActiveHandles().map((h) => {
    const kind = h.constructor?.name || typeof h;
    if (h instanceof net.Socket) {
      const ends = h.remotePort ? `${h.localAddress}:${h.localPort} -> ${h.remoteAddress}:${h.remotePort}` : `fd ${h._handle?.fd ?? '?'}`;
      return `${kind} ${ends}${h.destroyed ? ' (destroyed)' : ''}${h === process.stdout || h === process.stderr ? ' (stdio)' : ''}`;
    }
    if (h instanceof net.Server) return `${kind} listening on ${JSON.stringify(h.address())}`;
    if (typeof h.pid === 'number' && Array.isArray(h.spawnargs)) return `${kind} pid ${h.pid}: ${h.spawnargs.join(' ').slice(0, 160)}`;
    return kind;
  });
  return [...lines, `resources: ${process.getActiveResourcesInfo().join(', ')}`];
}

function reportAlive(when) {
  process.stderr.write(`${TEST_FILE}: still running ${when}, kept alive by:\n` +
    aliveBecause().map((l) => `  ${l}\n`).join(''));
}

// Registered at import, so before the file's own after() hooks, which may
// still stop their servers: hence the wait, on a timer that does not
// keep the process alive by itself.  A process still there when it fires
// says what holds it (and SLEUTEL_TEST_HANDLES=MS says so MS after the
// file's last test, to look for what holds a file that is slow to exit).
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      reportAlive(`${LEFTOVER_MS / 1000} s after the file's last test`);
      killLeftovers(`${LEFTOVER_MS / 1000} s after the file's last test`);
    }, LEFTOVER_MS).unref();
    const probe = Number(process.env.SLEUTEL_TEST_HANDLES);
    if (probe > 0) setTimeout(() => reportAlive(`${probe} ms after the file's last test`), probe).unref();
  });
}

function requireTestCa() {
  const ca = process.env.SLEUTEL_TEST_CA;
  if (!ca || !process.env.NODE_EXTRA_CA_CERTS) {
    throw new Error('SLEUTEL_TEST_CA and NODE_EXTRA_CA_CERTS are not set: run the tests through ' +
      '"make check", or eval "$(sh scripts/test-env.sh)" first');
  }
  return ca;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Set [section] key = value in an INI text, adding what is missing.
export function iniSet(text, section, key, value) {
  const lines = text.split('\n');
  let inSection = false;
  let sectionEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^\s*\[([^\]]+)\]\s*$/);
    if (m) {
      if (inSection) { sectionEnd = i; break; }
      inSection = m[1] === section;
      continue;
    }
    if (inSection && new RegExp(`^\\s*${key}\\s*=`).test(lines[i])) {
      lines[i] = `${key} = ${value}`;
      return lines.join('\n');
    }
  }
  if (inSection) {
    if (sectionEnd < 0) sectionEnd = lines.length;
    lines.splice(sectionEnd, 0, `${key} = ${value}`);
    return lines.join('\n');
  }
  return `${text}\n[${section}]\n${key} = ${value}\n`;
}

export async function sleutel(configPath, ...args) {
  const { stdout } = await execFileP(SLEUTEL, ['--config', configPath, ...args], { encoding: 'utf8' });
  return stdout;
}

async function waitHealthy(base, proc, logPath, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      throw new Error(`sleuteld exited with ${proc.exitCode}:\n${readFileSync(logPath, 'utf8')}`);
    }
    try {
      const r = await fetch(`${base}/healthz`);
      // Only ours: a port freePort() found free may have been taken by
      // another test's server meanwhile, which answers too; sleuteld logs
      // "ready" once it listens (startServer starts again on new ports).
      if (r.status === 200 && / ready, issuer /.test(readFileSync(logPath, 'utf8'))) return;
      lastErr = new Error(`healthz ${r.status}`);
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sleuteld did not become healthy: ${lastErr}`);
}

// Make an installation: `sleutel init` in a fresh DIR on free loopback
// ports, `config` ({ section: { key: value } }) applied to its sleutel.ini.
// With `demo`, `sleutel init --demo` makes a demo PKI in DIR/pki that the eID
// origin trusts, and sleuteld serves its OCSP responder and CRLs on pkiPort.
// `engine` puts it on that store engine whatever the run's
// (SLEUTEL_TEST_ENGINE).
export async function initServer({ config = {}, demo = false, engine } = {}) {
  const ca = requireTestCa();
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-test-'));
  const port = await freePort();
  let eidPort = await freePort();
  while (eidPort === port) eidPort = await freePort();
  let pkiPort = 0;
  const initArgs = ['init', dir, '--port', String(port), '--eid-port', String(eidPort), '--ca', ca,
    ...initStoreArgs(engine)];
  if (demo) {
    do pkiPort = await freePort(); while (pkiPort === port || pkiPort === eidPort);
    initArgs.push('--demo', '--pki-port', String(pkiPort));
  }
  await execFileP(SLEUTEL, initArgs, { env: initEnv() });
  const configPath = path.join(dir, 'sleutel.ini');
  let ini = readFileSync(configPath, 'utf8');
  let metricsPort;
  do metricsPort = await freePort(); while ([port, eidPort, pkiPort].includes(metricsPort));
  ini = iniSet(ini, 'metrics', 'port', String(metricsPort));
  for (const [section, kv] of Object.entries(config)) {
    for (const [k, v] of Object.entries(kv)) ini = iniSet(ini, section, k, String(v));
  }
  writeFileSync(configPath, ini);
  return { dir, configPath, port, eidPort, pkiPort, metricsPort, demo };
}

// Start sleuteld on an installation from initServer(); ready when /healthz
// answers. `name` tells its log apart when several run on one installation
// (lib/nodes.mjs); `owner` false leaves the installation (DIR, database) in
// place at stop for whoever owns it.
export async function launchServer(inst, { env = {}, name = '', owner = true } = {}) {
  const { dir, configPath, port, eidPort, pkiPort, metricsPort, demo } = inst;
  const logPath = path.join(dir, name ? `sleuteld-${name}.log` : 'sleuteld.log');
  const { openSync } = await import('node:fs');
  const out = openSync(logPath, 'a');
  const proc = trackProcess(spawn(SLEUTELD, ['--config', configPath], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=99', ...env },
  }), 'sleuteld', dir);
  const base = `https://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  await waitHealthy(base, proc, logPath);
  const server = {
    base,
    issuer: base,
    eidBase: `https://127.0.0.1:${eidPort}`,
    pkiDir: demo ? path.join(dir, 'pki') : null,
    pkiPort,
    metricsBase: `http://127.0.0.1:${metricsPort}`,
    dir,
    configPath,
    port,
    eidPort,
    proc,
    exited,
    log: () => readFileSync(logPath, 'utf8'),
    cli: (...args) => sleutel(configPath, ...args),
    async client(opts = {}) {
      const args = ['client', 'add', '--name', opts.name || 'Mijn gezondheid', '--json'];
      for (const u of opts.redirectUris || ['https://rp.example/cb']) args.push('--redirect-uri', u);
      for (const u of opts.postLogoutRedirectUris || []) args.push('--post-logout-redirect-uri', u);
      if (opts.auth) args.push('--auth', opts.auth);
      if (opts.jwks) args.push('--jwks', opts.jwks);
      if (opts.requirePar) args.push('--require-par');
      if (opts.idTokenAlg) args.push('--id-token-alg', opts.idTokenAlg);
      if (opts.sector) args.push('--sector', opts.sector);
      if (opts.scopes) args.push('--scopes', opts.scopes);
      return JSON.parse(await sleutel(configPath, ...args));
    },
    // Graceful stop; resolves { code, signal }. Throws on a crash or a
    // sanitizer report so that no test passes over one.
    async stop({ keep = false } = {}) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const res = await exited;
      const log = readFileSync(logPath, 'utf8');
      if (res.code !== 0 || /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(log)) {
        throw new Error(`sleuteld stopped badly (${JSON.stringify(res)}):\n${log.slice(-4000)}`);
      }
      if (!keep && owner) removeInstallation(dir);
      return res;
    },
  };
  return server;
}

// Drop an installation's database (PostgreSQL) and its directory.
export function removeInstallation(dir) {
  const st = storeOf(dir);
  if (st.engine === 'postgresql') dropDatabase(st.conninfo);
  rmSync(dir, { recursive: true, force: true });
}

// Start a server on a fresh installation (initServer's options, and
// launchServer's `env`).
// A port freePort() found free can be taken before sleuteld binds it (by
// another file's server): then a fresh installation on new ports, twice.
export async function startServer({ config = {}, env = {}, demo = false, engine } = {}) {
  for (let attempt = 1; ; attempt++) {
    const inst = await initServer({ config, demo, engine });
    try {
      return await launchServer(inst, { env });
    } catch (e) {
      if (attempt >= 3 || !/cannot listen on [^\n]*\(in use/.test(String(e?.message))) throw e;
      removeInstallation(inst.dir);
    }
  }
}

// ---- a small browser-less user agent: cookies, manual redirects ----
export class Agent {
  constructor() { this.cookies = new Map(); }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attrs.find((a) => /^\s*max-age=/i.test(a));
      if (value === '' || (maxAge && Number(maxAge.split('=')[1]) <= 0)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(url, { method = 'GET', form, headers = {} } = {}) {
    const h = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    this.store(res);
    return res;
  }

  get(url, opts = {}) { return this.request(url, opts); }
  post(url, form, opts = {}) { return this.request(url, { ...opts, method: 'POST', form }); }
}

// Values of hidden inputs in a page, by name.
export function hiddenInputs(html) {
  const out = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[m[1]] = m[2];
  return out;
}

export const DEMO_PERSON = { rrn: '85073003328', given_name: 'Demo', family_name: 'Citizen' };

// The consent page (/login/consent) appears after a key (or an SSO
// session) identified the person, when the site asks for data the person
// has not agreed to share with it yet. Any flow may land on it, so every
// helper passes what it gets through answerConsent.
export function isConsentPage(server, url) {
  const u = new URL(url, server.base);
  return u.origin === server.base && u.pathname === '/login/consent';
}

// Answer the consent page at `url` ('share' or 'deny') and return where
// the browser is sent next; a URL that is not the consent page is returned
// unchanged (as a URL). `decision` null leaves the page unanswered.
export async function answerConsent(server, agent, url, decision = 'share') {
  const u = new URL(url, server.base);
  if (decision === null || !isConsentPage(server, u)) return u;
  let res = await agent.get(u.href);
  if (res.status !== 200) throw new Error(`consent page answered ${res.status}: ${await res.text()}`);
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/login/consent`, { ...hidden, decision });
  const loc = res.headers.get('location');
  if (res.status !== 303 || !loc) throw new Error(`consent answer answered ${res.status}: ${await res.text()}`);
  return new URL(loc, server.base);
}

// Follow an authorization URL through the portal with the test key and
// return the URL the browser is sent back to (at the RP's redirect_uri).
// `agent` keeps the browser's cookies across calls (SSO). `consent`: how
// to answer the consent page if it appears ('share', 'deny', or null to
// return its URL).
export async function loginWithTestKey(server, authorizeUrl,
  { agent = new Agent(), person = DEMO_PERSON, consent = 'share' } = {}) {
  let res = await agent.get(authorizeUrl);
  let loc = res.headers.get('location');
  if (res.status !== 303 || !loc) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  // SSO or error: straight back to the RP (through the consent page if needed)
  if (!loc.startsWith('/login?')) return answerConsent(server, agent, loc, consent);
  const req = new URL(loc, server.base).searchParams.get('req');
  res = await agent.get(`${server.base}/key/test?req=${req}`);
  if (res.status !== 200) throw new Error(`test key page answered ${res.status}`);
  const hidden = hiddenInputs(await res.text());
  res = await agent.post(`${server.base}/key/test/login`, { ...hidden, ...person, mode: 'direct' });
  loc = res.headers.get('location');
  if (res.status !== 303 || !loc) throw new Error(`test key login answered ${res.status}: ${await res.text()}`);
  return answerConsent(server, agent, loc, consent);
}
