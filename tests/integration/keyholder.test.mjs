// keyholder.test.mjs — the HTTP process never maps a private key
// (issue 12 item 1, src/keyholder).
//
// sleuteld starts a key holder process that reads the key files and signs
// and opens sealed values on request.  These tests log in (ID tokens
// verified with the published JWKS), then read the memory of both
// processes through /proc/PID/maps and /proc/PID/mem and look for every
// private key of [keys] dir (the EC scalar, and the RSA exponent, as the
// big-endian bytes of the file and as OpenSSL's little-endian BIGNUM
// words): none may be in sleuteld, each must be in the key holder (so the
// search would find one that leaked).  Reading a non-dumpable process's
// memory needs CAP_SYS_PTRACE, which a root without it (a container's
// default set) lacks: there the key holder's memory must refuse to be read
// (that is what non-dumpable means), and a child process that holds the
// same keys through OpenSSL stands in as the proof that the search finds a
// loaded key.  The control runs either way.
// The TLS server keys too: the portal's (EC) and the eID origin's (RSA,
// made here) sign each full handshake in the key holder; TLS 1.2 and 1.3
// handshakes with each signature kind, an eID login with a card, the
// portal's session tickets, and handshakes that fail cleanly while the
// key holder does not answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync,
  statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import path from 'node:path';
import tls from 'node:tls';
import * as jose from 'jose';
import { initServer, iniSet, launchServer, startServer, loginWithTestKey, removeInstallation, Agent,
  hiddenInputs, trackProcess, SLEUTEL, SLEUTELD, freePort, initEnv } from './lib/harness.mjs';
import { sqlRows } from './lib/db.mjs';
import { registerRp, authRequest } from './lib/flows.mjs';
import { rrn, run, eidRp, eidCodeFlow, issueCard } from './lib/eid.mjs';
import { registerSmartId, delta, bnToBytes, bnFromB64u, USES } from './lib/smartid.mjs';
import { keyHolderPid } from './lib/keyholder.mjs';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const KH_TIMEOUT_MS = 2000; // src/keyholder/keyholder.h

function authorizeUrl(server, c) {
  return `${server.base}/authorize?` + new URLSearchParams({ response_type: 'code', client_id: c.client_id,
    redirect_uri: 'https://rp.example/cb', scope: 'openid profile', state: 's', nonce: 'n',
    code_challenge: CHALLENGE, code_challenge_method: 'S256' });
}

async function redeem(server, c, code) {
  const r = await fetch(`${server.base}/token`, { method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb',
      code_verifier: VERIFIER }) });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.json() };
}

// A login through the test key; the code redeemed; the ID token verified
// with the JWKS.  Returns the token's kid.
async function loginAndVerify(server, c) {
  const back = await loginWithTestKey(server, authorizeUrl(server, c));
  const t = await redeem(server, c, back.searchParams.get('code'));
  assert.equal(t.status, 200, JSON.stringify(t.body));
  const jwks = jose.createLocalJWKSet(await (await fetch(`${server.base}/jwks`)).json());
  const { payload, protectedHeader } = await jose.jwtVerify(t.body.id_token, jwks,
    { issuer: server.issuer, audience: c.client_id });
  assert.equal(payload.nonce, 'n');
  return protectedHeader;
}

// Every private key in DIR/SUB (files ending in EXT): its secret number in
// the byte orders memory may hold it in.
function privateKeys(dir, sub = 'keys', ext = '.pem') {
  const keys = [];
  for (const f of readdirSync(path.join(dir, sub))) {
    if (!f.endsWith(ext)) continue;
    const pem = readFileSync(path.join(dir, sub, f), 'utf8');
    if (!pem.includes('PRIVATE KEY')) continue;
    const jwk = crypto.createPrivateKey(pem).export({ format: 'jwk' });
    const d = Buffer.from(jwk.d, 'base64url');
    keys.push({ file: f, kty: jwk.kty, forms: [d, Buffer.from(d).reverse()] });
  }
  return keys;
}

const CHUNK = 8 << 20;
const REGION_MAX = 1 << 30; // sanitizer shadow memory: terabytes of zeros

// The files whose key occurs in the readable memory of pid.
function keysInMemory(pid, keys) {
  const found = new Set();
  const buf = Buffer.alloc(CHUNK);
  const overlap = 512;
  let scanned = 0;
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n')) {
      const [range, perms, , , , name] = line.split(/\s+/);
      if (perms[0] !== 'r' || /^\[(vvar|vsyscall|vvar_vclock)\]$/.test(name || '')) continue;
      const [lo, hi] = range.split('-').map((h) => parseInt(h, 16));
      if (hi - lo > REGION_MAX) continue;
      for (let pos = lo; pos < hi; pos += CHUNK - overlap) {
        const len = Math.min(CHUNK, hi - pos);
        let n;
        try { n = readSync(fd, buf, 0, len, pos); } catch { break; }
        scanned += n;
        const view = buf.subarray(0, n);
        for (const k of keys) if (k.forms.some((f) => view.indexOf(f) >= 0)) found.add(k.file);
        if (pos + len >= hi) break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { found, scanned };
}

// Whether this process may read a non-dumpable process's memory:
// CAP_SYS_PTRACE (bit 19) in its effective set.
function hasPtraceCap() {
  const eff = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)/m);
  return eff !== null && (BigInt('0x' + eff[1]) & (1n << 19n)) !== 0n;
}

// A child that loads every key file through OpenSSL (Node's KeyObject) and
// waits: a dumpable process holding the keys as the key holder does, for
// the search to prove itself on.  Resolves to the child once loaded.
function keyLoadingChild(keys, dir, sub = 'keys') {
  const files = keys.map((k) => path.join(dir, sub, k.file));
  const code = `const c=require('node:crypto'),fs=require('node:fs');
globalThis.held=JSON.parse(process.argv[1]).map((f)=>c.createPrivateKey(fs.readFileSync(f,'utf8')));
process.stdout.write('loaded\\n');setInterval(()=>{},1e6);`;
  const child = trackProcess(spawn(process.execPath, ['-e', code, JSON.stringify(files)], { stdio: ['ignore', 'pipe', 'inherit'] }),
    'node');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the key-loading child exited ${code}`)));
    child.stdout.once('data', () => resolve(child));
  });
}

function processStatus(pid) {
  return Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').trim().split('\n')
    .map((l) => l.split(/:\s*/)).map(([k, v]) => [k, v]));
}

test('no private key is in the HTTP process; every one is in the key holder, which is sandboxed', async (t) => {
  const server = await startServer();
  try {
    const c = await server.client({});
    const kids = new Set();
    for (let i = 0; i < 3; i++) kids.add((await loginAndVerify(server, c)).kid);
    assert.equal(kids.size, 1, 'one ES256 key signs');
    const kh = keyHolderPid(server.proc.pid);
    assert.ok(kh, 'a key holder runs under sleuteld');
    // A rotation: the new keys are loaded by the key holder (SIGHUP makes
    // sleuteld send it the new list), published at once, signing at once.
    const rotated = JSON.parse(await server.cli('keys', 'rotate', '--publish-delay', '0', '--json'));
    const newKid = rotated.find((k) => k.alg === 'ES256' && k.retire_after === 0).kid;
    server.proc.kill('SIGHUP');
    for (let i = 0; i < 100; i++) {
      const jwks = await (await fetch(`${server.base}/jwks`)).json();
      if (jwks.keys.some((k) => k.kid === newKid)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await loginAndVerify(server, c)).kid, newKid, 'the rotated key signs');

    const keys = privateKeys(server.dir);
    // Six ID-token keys (ES256, RS256, PS256, before and after the
    // rotation), the device-API sealing key and the at-rest key.
    assert.ok(keys.filter((k) => k.kty === 'EC').length >= 4, keys.map((k) => k.file).join(' '));
    assert.ok(keys.length >= 8, keys.map((k) => k.file).join(' '));
    assert.ok(keys.some((k) => k.file === 'device-rest.pem'));
    assert.ok(keys.some((k) => k.file.startsWith('device-seal-')));
    assert.ok(keys.some((k) => k.file === `${[...kids][0]}.pem`), 'the signing key is a file in keys/');

    const http = keysInMemory(server.proc.pid, keys);
    assert.ok(http.scanned > 1 << 20, `scanned ${http.scanned} bytes of sleuteld`);
    assert.deepEqual([...http.found], [], 'private keys in the HTTP process');
    // The control: a process holding these keys through OpenSSL has
    // every one found by the same search.
    const child = await keyLoadingChild(keys, server.dir);
    try {
      const control = keysInMemory(child.pid, keys);
      assert.deepEqual([...control.found].sort(), keys.map((k) => k.file).sort(), 'the search finds loaded keys');
    } finally {
      child.kill('SIGKILL');
    }
    if (hasPtraceCap()) {
      const holder = keysInMemory(kh, keys);
      assert.deepEqual([...holder.found].sort(), keys.map((k) => k.file).sort(), 'every key is in the key holder');
    } else {
      // Same uid, no CAP_SYS_PTRACE: only its non-dumpable mark refuses.
      assert.throws(() => keysInMemory(kh, keys), { code: 'EACCES' }, 'the key holder is not dumpable');
      assert.equal(processStatus(kh).Uid, processStatus(process.pid).Uid);
    }

    const st = processStatus(kh);
    assert.equal(st.Seccomp, '2', 'a seccomp filter');
    assert.equal(st.NoNewPrivs, '1');
    // Its descriptors: stdio and its channels to sleuteld, all AF_UNIX
    // (reading their links needs the same capability as its memory).
    if (!hasPtraceCap()) {
      assert.throws(() => readlinkSync(`/proc/${kh}/fd/0`), { code: 'EACCES' });
      t.diagnostic('no CAP_SYS_PTRACE: the key holder memory and descriptors are checked to be unreadable, not read');
      return;
    }
    const unix = new Set(readFileSync('/proc/net/unix', 'utf8').trim().split('\n').slice(1)
      .map((l) => l.trim().split(/\s+/)[6]));
    for (const fd of readdirSync(`/proc/${kh}/fd`)) {
      const target = readlinkSync(`/proc/${kh}/fd/${fd}`);
      const m = target.match(/^socket:\[(\d+)\]$/);
      if (m) assert.ok(unix.has(m[1]), `fd ${fd} is a unix socket`);
      else assert.ok(Number(fd) <= 2, `fd ${fd} (${target}) is stdio`);
    }
  } finally {
    await server.stop();
  }
});

test('a key holder that does not answer: 503 JSON and a failed TLS handshake within its timeout, then service again', async () => {
  const server = await startServer();
  try {
    const c = await server.client({});
    await loginAndVerify(server, c);
    const kh = keyHolderPid(server.proc.pid);
    const back = await loginWithTestKey(server, authorizeUrl(server, c));
    const first = await handshake(server.port);
    process.kill(kh, 'SIGSTOP');
    let t, failed, resumed;
    const t0 = Date.now();
    try {
      // The token's signature and a new TLS handshake's both wait for
      // the key holder; a resumed session (a portal ticket) needs none.
      [t, failed, resumed] = await Promise.all([redeem(server, c, back.searchParams.get('code')),
        handshake(server.port).then(() => null, (e) => e), handshake(server.port, { session: first.session })]);
      // Public keys stay served: they are this process's.
      assert.equal((await fetch(`${server.base}/jwks`)).status, 200);
    } finally {
      process.kill(kh, 'SIGCONT');
    }
    const took = Date.now() - t0;
    assert.equal(t.status, 503, JSON.stringify(t.body));
    assert.match(t.type, /application\/json/);
    assert.equal(t.body.error, 'temporarily_unavailable');
    assert.ok(took >= KH_TIMEOUT_MS - 100, `answered after ${took} ms`);
    assert.ok(failed instanceof Error, 'the full handshake failed');
    assert.deepEqual([resumed.reused, resumed.status], [true, 200], 'the resumed handshake');
    // The late answers to the timed-out requests are dropped; the next
    // logins are signed and verify, over new handshakes too.
    for (let i = 0; i < 3; i++) await loginAndVerify(server, c);
    for (let i = 0; i < 3; i++) assert.equal((await handshake(server.port)).status, 200);
    assert.match(server.log(), /did not answer within/);
  } finally {
    await server.stop();
  }
});

test('the key holder killed: sleuteld stops gracefully and exits 1 for its supervisor to restart', async () => {
  const server = await startServer();
  let stopped = false;
  try {
    const c = await server.client({});
    await loginAndVerify(server, c);
    const kh = keyHolderPid(server.proc.pid);
    process.kill(kh, 'SIGKILL');
    // A full TLS handshake now fails (its signature cannot be made, or
    // the listener is already closed): an error, not a crash.
    await assert.rejects(handshake(server.port));
    const res = await Promise.race([server.exited,
      new Promise((r) => setTimeout(() => r('still running'), 15000))]);
    stopped = res !== 'still running';
    assert.deepEqual(res, { code: 1, signal: null });
    const log = server.log();
    assert.match(log, /key holder \(pid \d+\) was killed by signal 9/);
    assert.match(log, /the key holder is gone: stopping/);
    assert.doesNotMatch(log, /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/);
    assert.equal(keyHolderPid(server.proc.pid), null);
  } finally {
    if (!stopped) await server.stop();
    else removeInstallation(server.dir);
  }
});

test('sleuteld killed: the key holder goes with it', async () => {
  const server = await startServer();
  const kh = keyHolderPid(server.proc.pid);
  assert.ok(kh);
  server.proc.kill('SIGKILL');
  await server.exited;
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    try { process.kill(kh, 0); await new Promise((r) => setTimeout(r, 50)); } catch { alive = false; }
  }
  removeInstallation(server.dir);
  assert.equal(alive, false, 'the key holder exited');
});

function chownTree(p, uid, gid) {
  chownSync(p, uid, gid);
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const q = path.join(p, e.name);
    if (e.isDirectory()) chownTree(q, uid, gid);
    else chownSync(q, uid, gid);
  }
}

test('started as root with [server] user: sleuteld after binding and the key holder after reading the TLS keys run as it', async () => {
  assert.equal(process.getuid(), 0, 'this suite runs as root (it starts sleuteld as root)');
  const NOBODY = 65534;
  const inst = await initServer();
  writeFileSync(inst.configPath, iniSet(readFileSync(inst.configPath, 'utf8'), 'server', 'user', 'nobody'));
  chownTree(inst.dir, NOBODY, NOBODY);
  const server = await launchServer(inst);
  try {
    const c = await server.client({});
    await loginAndVerify(server, c);
    const kh = keyHolderPid(server.proc.pid);
    for (const pid of [server.proc.pid, kh]) {
      const st = processStatus(pid);
      assert.equal(st.Uid, `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, `uid of ${pid}`);
      assert.equal(st.Gid.split('\t')[0], String(NOBODY));
      assert.equal(st.Groups.trim(), '', 'no supplementary groups');
    }
    assert.doesNotMatch(server.log(), /runs as root/);
    // Without [server] keyholder_user both share an account that owns the
    // key files: said at every start (docs/security.md, what is lost).
    assert.match(server.log(), /the key holder runs as \[server\] user nobody, as sleuteld does, who can then read the key\s+files: set \[server\] keyholder_user/);
  } finally {
    await server.stop();
  }
});

// review8: the key holder keeps its keys out of sleuteld's memory, but it
// must keep them out of its reach too: were both [server] user and the key
// files that user's, code running in sleuteld (a format string, an overflow
// turned into execution) would open keys/*.pem and pki/*.key and have them
// for good, where docs/security.md promises "a restart instead of a key
// rotation".  With [server] keyholder_user (here `daemon`), the key holder
// runs as an account of its own that owns the key files, as an operator
// sets them up (docs/operator.md): keys/ and tls/ its own, 0700; pki/ shared
// with it (sleuteld writes the index there), its *.key files its own; the
// installation directory searchable.  With sleuteld's own credentials (uid,
// gid, groups read from /proc), no private key file may be readable.
const DAEMON = 1; // uid and gid of `daemon` in /etc/passwd
const NOBODY = 65534;

function separateKeys(dir, owner) {
  chmodSync(dir, 0o711);
  for (const sub of ['keys', 'tls']) { chownTree(path.join(dir, sub), owner, owner); chmodSync(path.join(dir, sub), 0o700); }
  const pki = path.join(dir, 'pki');
  chownSync(pki, NOBODY, owner);
  chmodSync(pki, 0o770);
  for (const n of readdirSync(pki)) if (n.endsWith('.key')) chownSync(path.join(pki, n), owner, owner);
}

async function separatedInstallation() {
  const inst = await initServer({ demo: true, config: { server: { user: 'nobody', keyholder_user: 'daemon' } } });
  chownTree(inst.dir, NOBODY, NOBODY);
  return inst;
}

test('review8: a process with sleuteld\'s credentials cannot read any private key file', async () => {
  assert.equal(process.getuid(), 0, 'this suite runs as root (it starts sleuteld as root)');
  const inst = await separatedInstallation();
  separateKeys(inst.dir, DAEMON);
  const server = await launchServer(inst);
  try {
    const c = await server.client({});
    await loginAndVerify(server, c);
    const st = processStatus(server.proc.pid);
    const uid = st.Uid.split('\t')[0], gid = st.Gid.split('\t')[0];
    assert.equal(uid, String(NOBODY), 'sleuteld runs as [server] user');
    const kst = processStatus(keyHolderPid(server.proc.pid));
    assert.equal(kst.Uid, `${DAEMON}\t${DAEMON}\t${DAEMON}\t${DAEMON}`, 'the key holder runs as keyholder_user');
    assert.equal(kst.Groups.trim(), '', 'no supplementary groups');
    const groups = st.Groups.trim().split(/\s+/).filter(Boolean).join(',');
    const keyFiles = [];
    for (const sub of ['keys', 'pki', 'tls']) {
      let names = [];
      try { names = readdirSync(path.join(inst.dir, sub)); } catch { continue; }
      for (const n of names) if (/\.(pem|key)$/.test(n) && /PRIVATE KEY/.test(readFileSync(path.join(inst.dir, sub, n), 'utf8'))) keyFiles.push(path.join(sub, n));
    }
    // The sealing keys the key holder made at its first start are there.
    assert.ok(keyFiles.some((f) => /^keys\/device-rest\.pem$/.test(f)), keyFiles.join(' '));
    assert.ok(keyFiles.some((f) => /^pki\/smartid-ca\.key$/.test(f)), keyFiles.join(' '));
    const readable = [];
    for (const f of [...keyFiles, 'keys/secret']) {
      const r = await run('setpriv', [`--reuid=${uid}`, `--regid=${gid}`,
        groups ? `--groups=${groups}` : '--clear-groups', '--', 'cat', path.join(inst.dir, f)]).catch((e) => e);
      if (String(r?.stdout ?? '').length > 0) readable.push(f);
    }
    assert.deepEqual(readable, [], `sleuteld (uid ${uid}) can read these private keys`);
    assert.doesNotMatch(server.log(), /read the key files/, 'no separation warning');
  } finally {
    await server.stop();
  }
});

// sleuteld does not fix ownership (a root that chowns what it finds in a
// directory [server] user can write chowns what that user linked there):
// it refuses to start, naming a file and the fix.
test('started as root with keyholder_user: a key file [server] user could read stops the start', async () => {
  const inst = await separatedInstallation();
  separateKeys(inst.dir, DAEMON);
  chownSync(path.join(inst.dir, 'pki', 'citizen-ca.key'), NOBODY, NOBODY);
  const r = await run(SLEUTELD, ['--config', inst.configPath]).catch((e) => e);
  try {
    assert.notEqual(r.code ?? 0, 0, 'sleuteld refused to start');
    assert.match(String(r.stderr), /\[server\] user nobody could read the private key .*citizen-ca\.key: chown it to \[server\] keyholder_user daemon/);
  } finally {
    removeInstallation(inst.dir);
  }
});

// The operator's side of the split: `sleutel init --user --keyholder-user`
// (as root) gives the installation to the two accounts, `keys rotate` (as
// root) gives the new key files to the key holder's and registers them as
// [server] user, and check-config names every key file sleuteld's account
// could read.
test('init --user --keyholder-user, keys rotate and check-config as root keep the key files the key holder\'s', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-test-'));
  const [port, eidPort, pkiPort] = [await freePort(), await freePort(), await freePort()];
  await run(SLEUTEL, ['init', dir, '--port', String(port), '--eid-port', String(eidPort), '--ca',
    process.env.SLEUTEL_TEST_CA, '--demo', '--pki-port', String(pkiPort), '--user', 'nobody', '--keyholder-user',
    'daemon'], { env: initEnv() });
  const configPath = path.join(dir, 'sleutel.ini');
  let server;
  const owner = (f) => { const st = statSync(path.join(dir, f)); return [st.uid, st.gid, st.mode & 0o777]; };
  try {
    assert.deepEqual(owner('.'), [NOBODY, DAEMON, 0o710]);
    assert.deepEqual(owner('keys'), [DAEMON, DAEMON, 0o700]);
    assert.deepEqual(owner('keys/secret'), [DAEMON, DAEMON, 0o600]);
    assert.deepEqual(owner('tls/server.key'), [DAEMON, DAEMON, 0o600]);
    assert.deepEqual(owner('pki'), [NOBODY, DAEMON, 0o770]);
    assert.deepEqual(owner('pki/smartid-ca.key'), [DAEMON, DAEMON, 0o600]);
    assert.equal(owner('pki/index.json')[0], NOBODY);
    assert.equal(owner('sleutel.db')[0], NOBODY);
    const check = await run(SLEUTEL, ['check-config', configPath]).catch((e) => e);
    assert.doesNotMatch(String(check.stdout), /could read/, check.stdout);
    const before = new Set(readdirSync(path.join(dir, 'keys')));
    await run(SLEUTEL, ['--config', configPath, 'keys', 'rotate', '--publish-delay', '0']);
    const added = readdirSync(path.join(dir, 'keys')).filter((f) => !before.has(f));
    assert.equal(added.length, 3, added.join(' '));
    for (const f of added) assert.deepEqual(owner(`keys/${f}`), [DAEMON, DAEMON, 0o600]);
    for (const f of readdirSync(dir)) if (f.startsWith('sleutel.db')) assert.equal(owner(f)[0], NOBODY, f);
    chmodSync(path.join(dir, 'pki', 'citizen-ocsp.key'), 0o644);
    const bad = await run(SLEUTEL, ['check-config', configPath]).catch((e) => e);
    assert.equal(bad.code, 1);
    assert.match(String(bad.stdout), /citizen-ocsp\.key: \[server\] user nobody could read this private key/);
    chmodSync(path.join(dir, 'pki', 'citizen-ocsp.key'), 0o600);
    // The key holder, as daemon, reads the rotated keys: they sign.
    server = await launchServer({ dir, configPath, port, eidPort, pkiPort, metricsPort: 0, demo: true });
    const c = await server.client({});
    const header = await loginAndVerify(server, c);
    assert.ok(added.includes(`${header.kid}.pem`), `signed with ${header.kid}, a rotated key`);
  } finally {
    if (server) await server.stop(); // removes the installation
    else rmSync(dir, { recursive: true, force: true });
  }
});

// ---- split-key server keys and the demo PKI's keys ----

// A value sealed at rest (seal(): version, ephemeral point, nonce, AES-GCM
// under HKDF(ECDH, point || key id)), opened with DIR/keys/device-rest.pem
// as only the operator could: the test's way to the server's RSA key.
function openAtRest(dir, kid, aad, b64) {
  const blob = Buffer.from(b64, 'base64url');
  const point = blob.subarray(1, 66);
  const peer = crypto.createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') } });
  const own = crypto.createPrivateKey(readFileSync(path.join(dir, 'keys', 'device-rest.pem')));
  const ikm = crypto.diffieHellman({ privateKey: own, publicKey: peer });
  const okm = crypto.hkdfSync('sha256', ikm, Buffer.concat([point, Buffer.from(kid)]), Buffer.from('sleutel seal v1'), 32);
  const gcm = crypto.createDecipheriv('aes-256-gcm', Buffer.from(okm), blob.subarray(66, 78));
  gcm.setAAD(Buffer.from(aad)).setAuthTag(blob.subarray(blob.length - 16));
  return JSON.parse(Buffer.concat([gcm.update(blob.subarray(78, blob.length - 16)), gcm.final()]).toString());
}

// A secret number's forms: big-endian (the JSON's and DER's), its
// little-endian reverse (OpenSSL's BIGNUM words on this host), and the
// base64url text of the server key's JSON.
function numberForms(file, x) {
  const be = bnToBytes(x);
  return { file, forms: [be, Buffer.from(be).reverse(), Buffer.from(be.toString('base64url'))] };
}

// d1'' of a phone key at version v: d1''_0 - sum(delta_i, i < v).
function serverShareAt(key, v) {
  let s = key.d1pp;
  for (let i = 0; i < v; i++) s -= delta(key.kdev, i);
  return s;
}

// The RP's code flow through the Smart-ID key up to the phone's request:
// { sq } of the request the phone must answer.
async function smartIdLoginRequest(server, rp, number) {
  const agent = new Agent();
  const a = await authRequest(rp.config);
  const res = await agent.get(String(a.url));
  const req = new URL(res.headers.get('location'), server.base).searchParams.get('req');
  const form = await agent.get(`${server.base}/key/smartid?req=${req}&lang=en`);
  const posted = await agent.post(`${server.base}/key/smartid/login`, { ...hiddenInputs(await form.text()), rrn: number });
  assert.equal(posted.status, 303);
  return new URL(posted.headers.get('location'), server.base).searchParams.get('sq');
}

test('split-key server shares, the Smart-ID CA key and the OCSP/CRL signing keys are not in the HTTP process', async (t) => {
  const server = await startServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  try {
    // A registration: the portal's eID login (the card's OCSP answered by
    // sleuteld's own responder), the server keys made, the recall check
    // (a joint signature with each key), the certificates from the
    // Smart-ID CA.  Then a login: a joint signature with the auth key.
    const person = { given: 'Alice', family: 'Peeters', rrn: rrn('850730', 101) };
    const phone = await registerSmartId(server, person);
    const rp = await registerRp(server);
    const sq = await smartIdLoginRequest(server, rp, person.rrn);
    const rq = (await phone.requests()).body.requests.find((x) => x.id === sq);
    assert.ok(rq, 'the phone sees the login request');
    const answered = await phone.confirm(rq);
    assert.deepEqual([answered.status, answered.body], [200, { status: 'approved' }]);
    // What the key holder signed verifies: the certificates (Smart-ID CA),
    // each CA's CRL, an OCSP answer of the Smart-ID CA's responder.
    const tmpDir = mkdtempSync(path.join(tmpdir(), 'kh-pki-'));
    try {
      const sidCa = path.join(server.pkiDir, 'smartid-ca.pem');
      const caKey = new crypto.X509Certificate(readFileSync(sidCa)).publicKey;
      for (const use of USES) assert.ok(new crypto.X509Certificate(phone.certificates[use]).verify(caKey), use);
      for (const ca of ['citizen', 'foreigner', 'smartid']) {
        const crl = await fetch(`http://127.0.0.1:${server.pkiPort}/crl/${ca}.crl`);
        assert.equal(crl.status, 200, `the ${ca} CRL`);
        const file = path.join(tmpDir, `${ca}.crl`);
        writeFileSync(file, Buffer.from(await crl.arrayBuffer()));
        const v = await run('openssl', ['crl', '-inform', 'DER', '-in', file, '-noout', '-CAfile',
          path.join(server.pkiDir, `${ca}-ca.pem`)]);
        assert.match(v.stdout + v.stderr, /verify OK/, `the ${ca} CRL verifies`);
      }
      const cert = path.join(tmpDir, 'auth.pem');
      writeFileSync(cert, phone.certificates.auth);
      const o = await run('openssl', ['ocsp', '-issuer', sidCa, '-cert', cert, '-url',
        `http://127.0.0.1:${server.pkiPort}/ocsp`, '-CAfile', path.join(server.pkiDir, 'root.pem'),
        '-verify_other', sidCa, '-nonce']);
      assert.match(o.stdout + o.stderr, /Response verify OK/);
      assert.match(o.stdout, /: good/);
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }

    // The numbers: each key's share at every version it had, checked
    // against the sealed server key the store holds (so they are the real
    // ones), and the server's own RSA key out of it.
    const rows = sqlRows(server, `SELECT key_use, sealed, version FROM sid_keys WHERE device_id = '${phone.deviceId}'`);
    assert.equal(rows.length, 2);
    const secrets = [];
    for (const row of rows) {
      const key = phone.keys[row.key_use];
      const stored = openAtRest(server.dir, 'sleutel splitkey at-rest v1', `${phone.deviceId} ${row.key_use}`, row.sealed);
      assert.equal(bnFromB64u(stored.d1pp), serverShareAt(key, Number(row.version)), 'the share computed is the stored one');
      for (let v = 0; v <= Number(row.version); v++) secrets.push(numberForms(`${row.key_use} d1'' v${v}`, serverShareAt(key, v)));
      const key2 = crypto.createPrivateKey({ key: Buffer.from(stored.key2, 'base64url'), format: 'der', type: 'pkcs8' })
        .export({ format: 'jwk' });
      for (const part of ['d', 'p', 'q']) secrets.push(numberForms(`${row.key_use} server ${part}`, bnFromB64u(key2[part])));
    }
    assert.ok(rows.some((r) => Number(r.version) >= 2), 'the auth key moved with the login');
    assert.deepEqual(rows.map((r) => r.key_use).sort(), [...USES].sort());
    // The demo PKI's keys: the CAs' (certificates, CRLs), the OCSP
    // signers', the root's.
    const pkiKeys = privateKeys(server.dir, 'pki', '.key');
    for (const f of ['smartid-ca.key', 'citizen-ocsp.key', 'smartid-ocsp.key', 'citizen-ca.key', 'root.key'])
      assert.ok(pkiKeys.some((k) => k.file === f), `${f} searched`);

    const http = keysInMemory(server.proc.pid, [...secrets, ...pkiKeys]);
    assert.ok(http.scanned > 1 << 20, `scanned ${http.scanned} bytes of sleuteld`);
    assert.deepEqual([...http.found], [], 'split-key or PKI secrets in the HTTP process');
    // The control: a process that holds the PKI keys through OpenSSL
    // has each found by the same search.
    const child = await keyLoadingChild(pkiKeys, server.dir, 'pki');
    try {
      const control = keysInMemory(child.pid, pkiKeys);
      assert.deepEqual([...control.found].sort(), pkiKeys.map((k) => k.file).sort(), 'the search finds loaded keys');
    } finally {
      child.kill('SIGKILL');
    }
    if (hasPtraceCap()) {
      // The key holder keeps the PKI keys it used; the shares only while
      // it computes (wiped after each request).
      const kh = keyHolderPid(server.proc.pid);
      const holder = keysInMemory(kh, pkiKeys);
      for (const f of ['smartid-ca.key', 'citizen-ocsp.key']) assert.ok(holder.found.has(f), `${f} in the key holder`);
    } else {
      t.diagnostic('no CAP_SYS_PTRACE: the key holder is not read');
    }
  } finally {
    await server.stop();
  }
});

// ---- the TLS server keys ----

// One TLS handshake to 127.0.0.1:port, then GET /healthz on it: { proto,
// reused, status, cert (the server's, DER), session (a ticket, for the
// next) }.  Rejects when the handshake fails.
function handshake(port, opts = {}) {
  return new Promise((resolve, reject) => {
    let session = null;
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      const got = { proto: s.getProtocol(), reused: s.isSessionReused(), cert: s.getPeerCertificate().raw };
      let data = '';
      s.on('data', (d) => { data += d; });
      s.on('end', () => resolve({ ...got, status: Number(data.split(' ')[1]), session }));
      s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    s.on('session', (x) => { session = x; });
    s.on('error', reject);
    s.setTimeout(10000, () => s.destroy(new Error('handshake timed out')));
  });
}

// An installation whose eID origin has an RSA-2048 key and certificate of
// its own (from the run's test CA): two listeners, two keys, both kinds of
// signature.
async function twoKeyInstallation() {
  const inst = await initServer({ demo: true });
  const ca = process.env.SLEUTEL_TEST_CA;
  const key = path.join(inst.dir, 'tls', 'eid.key');
  const cert = path.join(inst.dir, 'tls', 'eid.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-subj', '/CN=localhost', '-days', '2', '-CA', path.join(ca, 'ca.pem'), '-CAkey', path.join(ca, 'ca.key'),
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:FALSE']);
  let ini = readFileSync(inst.configPath, 'utf8');
  ini = iniSet(iniSet(ini, 'eid', 'tls_cert', cert), 'eid', 'tls_key', key);
  writeFileSync(inst.configPath, ini);
  return inst;
}

const derOf = (pemFile) => new crypto.X509Certificate(readFileSync(pemFile)).raw;

test('the TLS keys are the key holder\'s: portal (EC) and eID (RSA, a card login) handshakes, TLS 1.2 and 1.3, portal tickets; neither key in sleuteld', async (t) => {
  const server = await launchServer(await twoKeyInstallation());
  const cardDir = mkdtempSync(path.join(tmpdir(), 'kh-tls-'));
  try {
    const portalCert = derOf(path.join(server.dir, 'tls', 'server.pem'));
    const eidCert = derOf(path.join(server.dir, 'tls', 'eid.pem'));
    // Each signature kind GnuTLS asks the key holder for, by the
    // signature algorithms the client allows.
    const cases = [
      [server.port, 'TLSv1.3', 'ecdsa_secp256r1_sha256', portalCert],
      [server.port, 'TLSv1.2', 'ecdsa_secp256r1_sha256', portalCert],
      [server.port, 'TLSv1.2', 'ECDSA+SHA384', portalCert],
      [server.eidPort, 'TLSv1.3', 'rsa_pss_rsae_sha256', eidCert],
      [server.eidPort, 'TLSv1.2', 'rsa_pkcs1_sha256', eidCert],
      [server.eidPort, 'TLSv1.2', 'rsa_pss_rsae_sha384', eidCert],
    ];
    for (const [port, version, sigalgs, cert] of cases) {
      const h = await handshake(port, { minVersion: version, maxVersion: version, sigalgs });
      assert.equal(h.proto, version, `${version} ${sigalgs}`);
      assert.ok(h.cert.equals(cert), `the listener's own certificate (${sigalgs})`);
      assert.ok(h.status > 0, `an HTTP answer after ${version} ${sigalgs}`);
    }
    // The portal resumes (its tickets): no signature needed.  The eID
    // origin does not: each card login is a full handshake.
    for (const version of ['TLSv1.3', 'TLSv1.2']) {
      const first = await handshake(server.port, { maxVersion: version });
      assert.ok(first.session, `a ${version} session to resume`);
      const again = await handshake(server.port, { maxVersion: version, session: first.session });
      assert.deepEqual([again.reused, again.status], [true, 200], `${version} resumed`);
    }
    assert.equal((await handshake(server.eidPort, { minVersion: 'TLSv1.3' })).session, null, 'no eID ticket');
    const eidFirst = await handshake(server.eidPort, { maxVersion: 'TLSv1.2' });
    assert.ok(eidFirst.session, 'a TLS 1.2 session id');
    const eidAgain = await handshake(server.eidPort, { maxVersion: 'TLSv1.2', session: eidFirst.session });
    assert.equal(eidAgain.reused, false, 'the eID origin does not resume');
    // A card login: the eID origin's handshake asks for the card's
    // certificate, and the key holder signs the server's side.
    const card = await issueCard(server.pkiDir, cardDir, { name: 'Jan Peeters', rrn: '85073003328' });
    const { claims } = await eidCodeFlow(server, await eidRp(server), card.args);
    assert.deepEqual(claims.amr, ['eid']);

    const files = ['server.key', 'eid.key'];
    const keys = privateKeys(server.dir, 'tls', '.key').filter((k) => files.includes(k.file));
    assert.deepEqual(keys.map((k) => `${k.file} ${k.kty}`).sort(), ['eid.key RSA', 'server.key EC']);
    const http = keysInMemory(server.proc.pid, keys);
    assert.ok(http.scanned > 1 << 20, `scanned ${http.scanned} bytes of sleuteld`);
    assert.deepEqual([...http.found], [], 'TLS private keys in the HTTP process');
    const child = await keyLoadingChild(keys, server.dir, 'tls');
    try {
      assert.deepEqual([...keysInMemory(child.pid, keys).found].sort(), files.sort(), 'the search finds loaded keys');
    } finally {
      child.kill('SIGKILL');
    }
    if (hasPtraceCap()) {
      const holder = keysInMemory(keyHolderPid(server.proc.pid), keys);
      assert.deepEqual([...holder.found].sort(), files.sort(), 'both TLS keys are in the key holder');
    } else {
      t.diagnostic('no CAP_SYS_PTRACE: the key holder is not read');
    }
  } finally {
    rmSync(cardDir, { recursive: true, force: true });
    await server.stop();
  }
});

test('a PKI made before the Smart-ID CA: the key holder makes it at the first registration; the root key stays out of sleuteld', async () => {
  const inst = await initServer({ demo: true, config: { smartid: { key_bits: 1024 } } });
  const pki = path.join(inst.dir, 'pki');
  for (const f of ['smartid-ca.pem', 'smartid-ca.key', 'smartid-ocsp.pem', 'smartid-ocsp.key']) rmSync(path.join(pki, f));
  const server = await launchServer(inst);
  try {
    const phone = await registerSmartId(server, { given: 'Bart', family: 'Claes', rrn: rrn('790315', 211) });
    // Made, by the key holder (the root key signed its certificate), and
    // it issued the phone's certificates.
    const ca = new crypto.X509Certificate(readFileSync(path.join(pki, 'smartid-ca.pem')));
    assert.ok(ca.verify(new crypto.X509Certificate(readFileSync(path.join(pki, 'root.pem'))).publicKey));
    for (const use of USES) assert.ok(new crypto.X509Certificate(phone.certificates[use]).verify(ca.publicKey), use);
    const keys = privateKeys(server.dir, 'pki', '.key').filter((k) => /^(root|smartid-ca|smartid-ocsp)\.key$/.test(k.file));
    assert.equal(keys.length, 3);
    const http = keysInMemory(server.proc.pid, keys);
    assert.ok(http.scanned > 1 << 20);
    assert.deepEqual([...http.found], [], 'the root key or the new CA keys in the HTTP process');
  } finally {
    await server.stop();
  }
});
