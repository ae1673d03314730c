// ops.test.mjs — the operator's commands for running a daemon (issue 12
// item 6), against a real sleuteld and its store:
//
// - `sleutel check-config`: ok on what `sleutel init` wrote; then one broken
//   installation per class of problem (a key the loader refuses, with
//   sleuteld's own words; a missing file; a private key or secret others can
//   read; a certificate that does not match its key, or has expired; two
//   listeners on one port; a store that is missing, empty, or newer than this
//   sleutel; a signing key's file gone), each a line naming it and exit 1;
//   usage errors exit 2; the store is never written (a database behind the
//   schema stays behind).
// - `sleutel audit export`: every row the store holds, in seq order, in
//   pages (more rows than one page), as JSON lines and as CSV (quoted, and no
//   formula for a spreadsheet), --since/--until/--after, bad times exit 2.
// - `sleutel backup` while logins run against sleuteld: each backup opens,
//   passes integrity_check, and holds every row committed before it started;
//   `sleutel restore` is refused while sleuteld runs, and after a stop puts
//   the backup back, and the restored store serves a login.  On PostgreSQL
//   both commands exit 2 and name pg_dump / pg_restore.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { initServer, launchServer, removeInstallation, iniSet, SLEUTEL, SLEUTELD } from './lib/harness.mjs';
import { onPostgres, sqlJson, setSchemaVersion, schemaVersion, storeOf } from './lib/db.mjs';
import { registerRp, codeFlow } from './lib/flows.mjs';

const execFileP = promisify(execFile);

let inst; // the installation
let server; // sleuteld on it
let rp;

// sleutel ARGS: { code, stdout, stderr } whatever the exit status.
async function sleutel(...args) {
  try {
    const { stdout, stderr } = await execFileP(SLEUTEL, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const cli = (...args) => sleutel('--config', inst.configPath, ...args);

before(async () => {
  inst = await initServer();
  server = await launchServer(inst, { owner: false });
  rp = await registerRp(server);
});

after(async () => {
  if (server) await server.stop();
  server = null;
  if (inst) removeInstallation(inst.dir);
});

// ---- check-config ----

// A copy of the installation's configuration directory to break: the
// configuration (with `edits` applied: { section: { key: value } }), its
// keys and TLS files; the store stays the installation's unless edited.
function brokenCopy(edits = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-cc-'));
  let ini = readFileSync(inst.configPath, 'utf8');
  for (const sub of ['keys', 'tls']) {
    execFileSync('cp', ['-a', path.join(inst.dir, sub), dir]);
  }
  if (!onPostgres) ini = iniSet(ini, 'store', 'path', storeOf(inst).file);
  for (const [section, kv] of Object.entries(edits)) {
    for (const [k, v] of Object.entries(kv)) ini = iniSet(ini, section, k, String(v));
  }
  const file = path.join(dir, 'sleutel.ini');
  writeFileSync(file, ini, { mode: 0o600 });
  return { dir, file };
}

async function checkConfig(file) {
  const r = await sleutel('check-config', file);
  return { ...r, lines: r.stdout.trim().split('\n').filter(Boolean) };
}

// One broken copy: exit 1, and a line naming `file` and matching `re`.
async function expectProblem(copy, re) {
  const r = await checkConfig(copy.file);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.ok(r.lines.some((l) => l.startsWith(`${copy.file}: `) && re.test(l)), `${re} not in:\n${r.stdout}`);
  rmSync(copy.dir, { recursive: true, force: true });
  return r;
}

test('check-config: ok on what sleutel init wrote (also through --config); usage errors exit 2', async () => {
  let r = await checkConfig(inst.configPath);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(r.lines, [`${inst.configPath}: ok`]);
  r = await cli('check-config');
  assert.equal(r.code, 0, r.stdout);
  for (const args of [['check-config', '--frobnicate'], ['check-config', 'a.ini', 'b.ini']]) {
    r = await sleutel(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /unexpected/);
  }
});

test('check-config: what the loader refuses, in sleuteld\'s own words', async () => {
  for (const edits of [{ server: { frobnicate: 1 } }, { server: { port: 70000 } }, { oidc: { code_lifetime: 'soon' } }]) {
    const copy = brokenCopy(edits);
    const d = await execFileP(SLEUTELD, ['--config', copy.file]).then(() => null, (e) => e);
    assert.equal(d.code, 1);
    const words = d.stderr.trim().replace(/^sleuteld: /, '');
    const r = await expectProblem(copy, /./);
    assert.deepEqual(r.lines, [`${copy.file}: ${words}`]);
  }
  const r = await checkConfig('/nonexistent/sleutel.ini');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /cannot open configuration/);
});

test('check-config: files that are missing, and secrets others can read', async () => {
  await expectProblem(brokenCopy({ server: { tls_cert: 'tls/nope.pem' } }), /\[server\] tls_cert .*No such file/);
  await expectProblem(brokenCopy({ eid: { trust_anchors: '/nonexistent/roots.pem' } }), /\[eid\] trust_anchors .*No such file/);
  await expectProblem(brokenCopy({ portal: { data_dir: '/nonexistent' } }), /\[portal\] data_dir .*No such file/);
  await expectProblem(brokenCopy({ metrics: { token_file: 'keys/none' } }), /\[metrics\] token_file .*No such file/);
  let copy = brokenCopy();
  chmodSync(path.join(copy.dir, 'tls/server.key'), 0o644);
  await expectProblem(copy, /\[server\] tls_key .*others may access it \(mode 0644\)/);
  copy = brokenCopy();
  chmodSync(path.join(copy.dir, 'keys/secret'), 0o604);
  await expectProblem(copy, /\[keys\] master secret .*others may access it \(mode 0604\)/);
  copy = brokenCopy();
  chmodSync(path.join(copy.dir, 'keys'), 0o755);
  await expectProblem(copy, /\[keys\] dir .*others may access it \(mode 0755\)/);
  copy = brokenCopy({ sms: { webhook_token: 'a-secret-token' } });
  chmodSync(copy.file, 0o644);
  await expectProblem(copy, /configuration holds secrets .*others may read it \(mode 0644\)/);
  copy = brokenCopy();
  chmodSync(copy.file, 0o666);
  await expectProblem(copy, /configuration may be changed by others \(mode 0666\)/);
  // A key sleuteld publishes whose private half is gone.
  copy = brokenCopy();
  // (The key holder's device-seal-*.pem and device-rest.pem are not
  // signing keys: sleuteld publishes none of them.)
  const pem = readdirSync(path.join(copy.dir, 'keys')).find((f) => f.endsWith('.pem') && !f.startsWith('device-'));
  assert.ok(pem, 'a signing key file');
  rmSync(path.join(copy.dir, 'keys', pem));
  await expectProblem(copy, new RegExp(`\\[keys\\] signing key .*${pem.replace('.', '\\.')}: No such file`));
});

// An expired self-signed certificate and its key, made with `openssl ca`
// (whose -startdate/-enddate can lie in the past).
function expiredCert(dir) {
  const w = mkdtempSync(path.join(dir, 'expired-'));
  writeFileSync(path.join(w, 'index.txt'), '');
  writeFileSync(path.join(w, 'serial'), '01\n');
  writeFileSync(path.join(w, 'ca.cnf'), `[ca]\ndefault_ca = c\n[c]\ndatabase = ${w}/index.txt\nserial = ${w}/serial\n` +
    `new_certs_dir = ${w}\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${w}/key.pem`, '-out', `${w}/req.csr`, '-subj', '/CN=expired'], { stdio: 'ignore' });
  execFileSync('openssl', ['ca', '-batch', '-config', `${w}/ca.cnf`, '-selfsign', '-keyfile', `${w}/key.pem`,
    '-in', `${w}/req.csr`, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-notext',
    '-out', `${w}/cert.pem`], { stdio: 'ignore' });
  chmodSync(`${w}/key.pem`, 0o600);
  return { cert: `${w}/cert.pem`, key: `${w}/key.pem` };
}

test('check-config: a certificate that does not match its key, or has expired', async () => {
  let copy = brokenCopy();
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-out', path.join(copy.dir, 'tls/other.key')]);
  chmodSync(path.join(copy.dir, 'tls/other.key'), 0o600);
  writeFileSync(copy.file, iniSet(readFileSync(copy.file, 'utf8'), 'eid', 'tls_key', 'tls/other.key'));
  const r = await expectProblem(copy, /\[eid\] tls_key .*other\.key does not match \[eid\] tls_cert/);
  assert.ok(!r.stdout.includes('[server] tls_key'), 'the portal\'s pair matches');
  copy = brokenCopy();
  const ex = expiredCert(copy.dir);
  writeFileSync(copy.file, iniSet(iniSet(readFileSync(copy.file, 'utf8'), 'server', 'tls_cert', ex.cert),
    'server', 'tls_key', ex.key));
  await expectProblem(copy, /\[server\] tls_cert .*the certificate has expired/);
  copy = brokenCopy({ server: { tls_cert: 'keys/secret' } });
  await expectProblem(copy, /\[server\] tls_cert .*no PEM certificate/);
});

test('check-config: listeners on one port, and an address that is not a literal', async () => {
  await expectProblem(brokenCopy({ metrics: { port: inst.port } }), new RegExp(`\\[server\\] and \\[metrics\\] both listen on 127\\.0\\.0\\.1 port ${inst.port}`));
  await expectProblem(brokenCopy({ metrics: { port: inst.eidPort, listen: '0.0.0.0' } }), /\[eid\] and \[metrics\] both listen/);
  await expectProblem(brokenCopy({ server: { listen: 'localhost' } }), /\[server\] listen = localhost: not an IP address literal/);
});

test('check-config: the store missing, empty or newer; it is opened read-only', async () => {
  if (onPostgres) {
    const conninfo = storeOf(inst).conninfo.replace(/dbname=\S+/g, 'dbname=sl_no_such_database');
    await expectProblem(brokenCopy({ store: { conninfo } }), /\[store\] cannot connect to PostgreSQL/);
  } else {
    await expectProblem(brokenCopy({ store: { path: '/nonexistent/sleutel.db' } }), /\[store\] path \/nonexistent\/sleutel\.db: No such file/);
    const copy = brokenCopy();
    writeFileSync(path.join(copy.dir, 'empty.db'), '', { mode: 0o600 });
    writeFileSync(copy.file, iniSet(readFileSync(copy.file, 'utf8'), 'store', 'path', 'empty.db'));
    await expectProblem(copy, /\[store\] the database is empty/);
  }
  // Behind the schema: check-config says nothing and migrates nothing
  // (sleuteld would); newer: a problem.  Set and reset on the live store.
  const v = schemaVersion(inst);
  try {
    setSchemaVersion(inst, v - 1);
    const r = await checkConfig(inst.configPath);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(schemaVersion(inst), v - 1, 'check-config wrote to the store');
    setSchemaVersion(inst, v + 1);
    const copy = brokenCopy();
    await expectProblem(copy, new RegExp(`\\[store\\] the database has schema version ${v + 1} but this sleutel knows only up to ${v}`));
  } finally {
    setSchemaVersion(inst, v);
  }
});

// ---- audit export ----

const auditRows = () => sqlJson(inst, 'SELECT seq, time, event, result, person_id, client_id, key, ip, detail FROM audit ORDER BY seq');
const iso = (t) => new Date(t * 1000).toISOString().replace(/\.000Z$/, 'Z');

// RFC 4180 lines into arrays of fields (quoted fields may hold CRLF).
function parseCsv(text) {
  const rows = [];
  let row = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (ch === '"') q = false; else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(f); f = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(f); rows.push(row); row = []; f = ''; i++; } else f += ch;
  }
  return rows;
}

test('audit export: every row in seq order, in pages, as JSON lines and CSV; --since, --until, --after', async () => {
  // Rows at known times (2025-01-01, -02-01, -03-01), one with a detail a
  // spreadsheet would run and one with a quote, a comma and a line break;
  // then enough rows for three pages of the export.
  const jan = Date.UTC(2025, 0, 1) / 1000; const feb = Date.UTC(2025, 1, 1) / 1000; const mar = Date.UTC(2025, 2, 1) / 1000;
  const nl = onPostgres ? 'chr(10)' : 'char(10)';
  await sqlJson(inst, `INSERT INTO audit (time, event, result, detail) VALUES (${jan}, 'ops.test', 'ok', '=HYPERLINK("x")'),` +
    ` (${feb}, 'ops.test', 'ok', 'a "quoted", two-line' || ${nl} || 'detail'), (${mar}, 'ops.test', 'ok', NULL)`);
  await sqlJson(inst, onPostgres
    ? `INSERT INTO audit (time, event, result, ip) SELECT ${mar} + g, 'ops.bulk', 'ok', '192.0.2.1' FROM generate_series(1, 2100) g`
    : `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 2100) INSERT INTO audit (time, event, result, ip) SELECT ${mar} + n, 'ops.bulk', 'ok', '192.0.2.1' FROM g`);
  const rows = await auditRows();
  assert.ok(rows.length > 2100);

  let r = await cli('audit', 'export');
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const expect = rows.map((x) => ({ ...x, time: iso(x.time) })); // every field, null when none
  assert.deepEqual(got, expect);
  assert.match(r.stderr, new RegExp(`${rows.length} audit rows, last seq ${rows.at(-1).seq}`));

  r = await cli('audit', 'export', '--format', 'csv');
  assert.equal(r.code, 0, r.stderr);
  const csv = parseCsv(r.stdout);
  assert.deepEqual(csv[0], ['seq', 'time', 'event', 'result', 'person_id', 'client_id', 'key', 'ip', 'detail']);
  assert.equal(csv.length, rows.length + 1);
  assert.ok(r.stdout.includes('"\'=HYPERLINK(""x"")"'), 'a formula is defused and quoted');
  const two = csv.find((c) => c[2] === 'ops.test' && c[1] === '2025-02-01T00:00:00Z');
  assert.equal(two[8], 'a "quoted", two-line\ndetail');
  assert.equal(csv.find((c) => c[1] === '2025-03-01T00:00:00Z' && c[2] === 'ops.test')[8], '', 'NULL is an empty field');

  r = await cli('audit', 'export', '--since', '2025-01-15', '--until', '2025-02-15T00:00:00Z');
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).time), ['2025-02-01T00:00:00Z']);
  r = await cli('audit', 'export', '--since', String(jan), '--until', String(mar));
  assert.equal(r.stdout.trim().split('\n').length, 2);
  const mid = rows[Math.floor(rows.length / 2)].seq;
  r = await cli('audit', 'export', '--after', String(mid));
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).seq), rows.filter((x) => x.seq > mid).map((x) => x.seq));

  for (const bad of [['--since', 'yesterday'], ['--since', '2025-13-01'], ['--until', '2025-01-01T25:00:00Z'],
    ['--since', '2025-02-01', '--until', '2025-01-01'], ['--format', 'xml'], ['--after', '-1'], ['--frob']]) {
    r = await cli('audit', 'export', ...bad);
    assert.equal(r.code, 2, bad.join(' '));
    assert.equal(r.stdout, '');
  }
  assert.equal((await cli('audit', 'frobnicate')).code, 2);
  assert.equal((await cli('audit', '--help')).code, 0);
});

// ---- backup and restore ----

// PostgreSQL has its own tools: the commands name them and exit 2.
async function backupOnPostgres() {
  let r = await cli('backup', '/tmp/sleutel-never.db');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pg_dump/);
  assert.ok(!existsSync('/tmp/sleutel-never.db'));
  r = await cli('restore', inst.configPath);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pg_restore/);
}

test('backup and restore: usage', async () => {
  for (const c of ['backup', 'restore']) {
    assert.equal((await cli(c)).code, 2, c);
    assert.equal((await cli(c, 'a', 'b')).code, 2, c);
    assert.equal((await cli(c, '--help')).code, 0, c);
  }
});

const LOGINS_AT_ONCE = 1;
const BULK_ROWS = 6000;

test('backup while logins run: whole, checked, with every row committed before; restore only while stopped ' +
  '(PostgreSQL: pg_dump and pg_restore)', async (t) => {
  if (onPostgres) {
    await backupOnPostgres();
    return;
  }
  const out = mkdtempSync(path.join(tmpdir(), 'sleutel-backup-'));
  const db = storeOf(inst).file;
  let stop = false;
  let logins = 0;
  const loop = async () => {
    while (!stop) {
      const f = await codeFlow(server, rp.config);
      assert.ok(f.claims.sub);
      logins++;
    }
  };
  // Some 6 MB of audit rows, so that a backup takes long enough for
  // logins to finish while it copies.
  await sqlJson(inst, `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${BULK_ROWS})` +
    " INSERT INTO audit (time, event, result, detail) SELECT 1735689600 + n, 'ops.bulk', 'ok', hex(randomblob(500)) FROM g");
  const running = Array.from({ length: LOGINS_AT_ONCE }, loop);
  let during = 0; // logins finished while a backup ran
  try {
    while (logins < 2) await new Promise((r) => setTimeout(r, 20));
    const backups = [];
    for (let i = 0; i < 2; i++) {
      // Every audit row and person committed before the backup starts.
      const before = await sqlJson(inst, 'SELECT seq, event, person_id FROM audit ORDER BY seq');
      const persons = await sqlJson(inst, 'SELECT id FROM persons ORDER BY id');
      const dest = path.join(out, `b${i}.db`);
      const loginsBefore = logins;
      const t0 = Date.now();
      const r = await cli('backup', dest);
      during += logins - loginsBefore;
      t.diagnostic(`backup ${i}: ${Date.now() - t0} ms, ${logins - loginsBefore} logins meanwhile`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /integrity ok/);
      assert.ok(!existsSync(`${dest}.partial`));
      const q = (sqlText) => execFileSync('sqlite3', ['-json', dest, sqlText], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
      assert.equal(execFileSync('sqlite3', [dest, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim(), 'ok');
      assert.equal(execFileSync('sqlite3', [dest, 'PRAGMA journal_mode'], { encoding: 'utf8' }).trim(), 'delete');
      const copied = JSON.parse(q('SELECT seq, event, person_id FROM audit ORDER BY seq') || '[]');
      assert.deepEqual(copied.slice(0, before.length), before);
      const ps = JSON.parse(q('SELECT id FROM persons ORDER BY id') || '[]').map((p) => p.id);
      for (const p of persons) assert.ok(ps.includes(p.id));
      backups.push({ dest, rows: copied.length, loginsBefore });
    }
    assert.ok(during > 0, 'logins went on while the backups ran');
    let r = await cli('backup', backups[0].dest);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists already/);

    // Restore is refused while sleuteld holds the store.
    r = await cli('restore', backups[1].dest);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sleuteld is running/);
    stop = true;
    await Promise.all(running);
    const last = backups[1];
    assert.ok((await auditRows()).length > last.rows, 'rows were written after the last backup');
    await server.stop({ keep: true });
    server = null;
    // With sleuteld stopped, a check and a backup leave no -wal or -shm
    // file behind (one owned by the wrong user would keep sleuteld out).
    assert.equal((await checkConfig(inst.configPath)).code, 0);
    assert.equal((await cli('backup', path.join(out, 'stopped.db'))).code, 0);
    // A new store has 2 KiB pages, and so do its backups.
    const pageSize = (f) => execFileSync('sqlite3', [f, 'PRAGMA page_size'], { encoding: 'utf8' }).trim();
    assert.equal(pageSize(db), '2048');
    assert.equal(pageSize(path.join(out, 'stopped.db')), '2048');
    for (const f of [`${db}-wal`, `${db}-shm`]) assert.ok(!existsSync(f), `${f} left behind`);

    r = await cli('restore', path.join(out, 'nonexistent.db'));
    assert.equal(r.code, 1);
    writeFileSync(path.join(out, 'junk.db'), 'not a database');
    r = await cli('restore', path.join(out, 'junk.db'));
    assert.equal(r.code, 1);
    r = await cli('restore', last.dest);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /kept as .*pre-restore-/);
    const keptNow = () => readdirSync(path.dirname(db)).filter((f) => f.startsWith(`${path.basename(db)}.pre-restore-`));
    assert.equal(keptNow().length, 1);
    assert.equal((await auditRows()).length, last.rows, 'the store is the backup');
    // Two more restores at once (within a second, as the old 4 KiB one
    // below may be): each keeps the store it replaces under a name of its own.
    for (let i = 0; i < 2; i++) {
      r = await cli('restore', last.dest);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(new Set(keptNow()).size, 3, 'every replaced store is kept');

    // The restored store serves a login for the client registered before.
    server = await launchServer(inst, { owner: false });
    const f = await codeFlow(server, rp.config);
    assert.ok(f.claims.sub);
    assert.ok((await auditRows()).length > last.rows, 'the login is in the restored audit trail');
    const r2 = await checkConfig(inst.configPath);
    assert.equal(r2.code, 0, r2.stdout);

    // A backup of a store made before 2 KiB pages (4 KiB) restores into
    // this one, and the store keeps the backup's page size and serves.
    await server.stop({ keep: true });
    server = null;
    const old4k = path.join(out, 'old4k.db');
    copyFileSync(last.dest, old4k);
    execFileSync('sqlite3', [old4k, 'PRAGMA page_size = 4096; VACUUM;']);
    assert.equal(pageSize(old4k), '4096');
    r = await cli('restore', old4k);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(pageSize(db), '4096');
    assert.equal((await auditRows()).length, last.rows, 'the store is the 4 KiB backup');
    server = await launchServer(inst, { owner: false });
    assert.ok((await codeFlow(server, rp.config)).claims.sub);
  } finally {
    stop = true;
    await Promise.allSettled(running);
    rmSync(out, { recursive: true, force: true });
  }
});
