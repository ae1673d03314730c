// db.mjs — the test database behind a server, whatever its engine.
//
// SLEUTEL_TEST_ENGINE=postgresql runs every server a test starts on
// PostgreSQL: a fresh database each (CREATE DATABASE on the server whose
// admin conninfo is SLEUTEL_TEST_PG, dropped when the server stops), or, in
// a test file run alone without SLEUTEL_TEST_PG, on a server this process
// starts (scripts/pg-test-server.sh) and stops at exit.  Otherwise SQLite.
//
// Tests read and write a server's records through sql()/sqlJson(), which
// find the database from the installation's sleutel.ini ([store]) and use
// the sqlite3 or psql CLI with the same output: sql() as sqlite3's list mode
// (columns joined by '|', one row a line, NULL empty), sqlJson() as an
// array of row objects (integers as numbers).
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '../../..');

export const ENGINE = process.env.SLEUTEL_TEST_ENGINE === 'postgresql' ? 'postgresql' : 'sqlite';
export const onPostgres = ENGINE === 'postgresql';

let admin = process.env.SLEUTEL_TEST_PG || '';
let databases = 0;

// Without SLEUTEL_TEST_PG (a test file run alone) this process starts a
// server of its own when a test first needs one, and stops it when the
// file's tests are done: a root-level after() hook, registered here at
// import (node --test ends a file's process without its 'exit' event), and
// 'exit' for a script run without the test runner.  That hook may run
// before the file's own after() hooks stop their servers: their databases
// went with the server then, and dropDatabase() has nothing to do.
let ownServer = null;
let ownServerStopped = false;
const SERVER_SCRIPT = path.join(ROOT, 'scripts/pg-test-server.sh');

function stopOwnServer() {
  if (!ownServer) return;
  const dir = ownServer;
  ownServer = null;
  ownServerStopped = true;
  execFileSync('sh', [SERVER_SCRIPT, 'stop', dir], { stdio: 'ignore' });
}

if (!admin) {
  if (process.env.NODE_TEST_CONTEXT) after(stopOwnServer);
  process.on('exit', stopOwnServer);
}

// The admin conninfo: SLEUTEL_TEST_PG, or this process's own server.
function pgAdmin() {
  if (admin) return admin;
  ownServer = mkdtempSync(path.join(tmpdir(), 'sleutel-pg-'));
  admin = execFileSync('sh', [SERVER_SCRIPT, 'start', ownServer], { encoding: 'utf8' }).trim();
  // In the run's process registry (lib/harness.mjs trackProcess), for
  // scripts/check.sh to find if it outlives this file.
  if (process.env.SLEUTEL_TEST_PIDS) {
    appendFileSync(path.join(process.env.SLEUTEL_TEST_PIDS, `${process.pid}.pids`),
      `${readFileSync(path.join(ownServer, 'pid'), 'utf8').trim()}\tpostgres\t${path.relative(ROOT, process.argv[1] || 'unknown')}\t${ownServer}\n`);
  }
  return admin;
}

function psqlArgs(conninfo, query) {
  return ['-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', query];
}

// Every psql, sqlite3 and sleutel here has a deadline.  Most of these
// calls are synchronous: while one waits, this process's event loop waits
// with it, so a file stuck in one does not even see the test runner's
// SIGTERM at its timeout (no after() hook, no harness report, no wall
// time), and the runner, its summary printed, goes on waiting for the
// file's process: the whole run hangs.  The database server ends a
// statement that waits on a lock, or runs, past its timeout, with an
// error that says so; PGCONNECT_TIMEOUT bounds the connection, and the
// child's own timeout (SIGKILL) anything else.  A call that fails so says
// what the server's sessions were doing.
const CALL_TIMEOUT_MS = 60000;
const MIGRATE_TIMEOUT_MS = 120000;
const boundedEnv = {
  ...process.env,
  PGCONNECT_TIMEOUT: '10',
  PGOPTIONS: `${process.env.PGOPTIONS || ''} -c lock_timeout=30s -c statement_timeout=50s`.trim(),
};
const bounded = (opts = {}) => ({ env: boundedEnv, timeout: CALL_TIMEOUT_MS, killSignal: 'SIGKILL', ...opts });

// The server's sessions (but this one) and whom each waits on, one line
// each: for the error of a call that timed out.  Itself bounded (10 s).
function serverActivity() {
  if (!admin) return '';
  try {
    return execFileSync('psql', psqlArgs(admin, `SELECT pid, datname, backend_type, state, wait_event_type,
      wait_event, pg_blocking_pids(pid), round(extract(epoch FROM now() - query_start)), left(query, 120)
      FROM pg_stat_activity WHERE pid <> pg_backend_pid() ORDER BY query_start`),
    bounded({ encoding: 'utf8', timeout: 10000 })).trim();
  } catch (e) {
    return `(pg_stat_activity not read: ${e.message.split('\n')[0]})`;
  }
}

// The error of a failed call, with the server's sessions when it timed
// out (the child killed, or a statement ended by lock_timeout or
// statement_timeout).
function callError(e, cmd, query) {
  const what = `${cmd} ${query}`.replace(/\s+/g, ' ').slice(0, 200);
  const timedOut = e.code === 'ETIMEDOUT' || e.killed || e.signal === 'SIGKILL' ||
    /canceling statement due to (lock|statement) timeout|timeout expired/.test(String(e.stderr || ''));
  if (!timedOut) return e;
  const err = new Error(`${what}: waited past its deadline (${e.signal || e.code || ''} ` +
    `${String(e.stderr || '').trim()})\nthe database server's sessions (pid|db|type|state|wait|` +
    `blocked by|seconds|query):\n${serverActivity()}`);
  err.cause = e;
  return err;
}

// `query`: what the error names (by default the last argument: psql's -c).
function runSync(cmd, args, opts = {}, query = args[args.length - 1]) {
  try {
    return execFileSync(cmd, args, bounded(opts));
  } catch (e) {
    throw callError(e, cmd, query);
  }
}

async function runAsync(cmd, args, opts = {}) {
  try {
    return (await execFileP(cmd, args, bounded(opts))).stdout;
  } catch (e) {
    throw callError(e, cmd, args[args.length - 1]);
  }
}

// The database every test database is cloned from (CREATE DATABASE ...
// TEMPLATE): the schema of the sleutel under test, migrated once per
// server and build rather than once per installation (14 steps of DDL,
// measured at about 15 ms of the database server's CPU per installation,
// beside the 25-30 ms of the CREATE DATABASE itself).  Its name comes from the sleutel binary (path,
// size, time), so a rebuilt one gets a template of its own.  Made under a
// name of this process's and renamed into place: of processes racing to
// make it, one rename wins and the others drop theirs.  A template has no
// installation's data: `sleutel client list` on a bare configuration
// migrates the schema and writes nothing.
let template = null;

function migratedTemplate(a) {
  if (template) return template;
  const bin = path.resolve(ROOT, process.env.SLEUTEL_BUILD || 'build', 'sleutel');
  const st = statSync(bin);
  const id = createHash('sha256').update(`${bin} ${st.size} ${st.mtimeMs}`).digest('hex').slice(0, 16);
  const name = `sl_tpl_${id}`;
  const exists = () => runSync('psql', psqlArgs(a, `SELECT 1 FROM pg_database WHERE datname = '${name}'`),
    { encoding: 'utf8' }).trim() === '1';
  if (!exists()) {
    const mine = `sl_tplnew_${process.pid}_${Date.now() % 1e6}`;
    const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-tpl-'));
    try {
      runSync('psql', psqlArgs(a, `CREATE DATABASE ${mine}`));
      writeFileSync(path.join(dir, 'sleutel.ini'), '[server]\nissuer = https://127.0.0.1:1\ntls = false\n' +
        `[eid]\nenabled = false\n[store]\nengine = postgresql\nconninfo = ${a} dbname=${mine}\n`);
      runSync(bin, ['--config', path.join(dir, 'sleutel.ini'), 'client', 'list'],
        { stdio: 'ignore', env: process.env, timeout: MIGRATE_TIMEOUT_MS });
      runSync('psql', psqlArgs(a, `ALTER DATABASE ${mine} RENAME TO ${name}`), { stdio: 'ignore' });
    } catch (e) {
      runSync('psql', psqlArgs(a, `DROP DATABASE IF EXISTS ${mine} WITH (FORCE)`));
      if (!exists()) throw e; // not a lost race: a real failure
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  template = name;
  return template;
}

// A fresh database with the current schema and no data; its conninfo.
export function createDatabase() {
  const name = `sl_it_${process.pid}_${++databases}_${Date.now() % 1e6}`;
  const a = pgAdmin();
  runSync('psql', psqlArgs(a, `CREATE DATABASE ${name} TEMPLATE ${migratedTemplate(a)}`), { encoding: 'utf8' });
  return `${a} dbname=${name}`;
}

export function dropDatabase(conninfo) {
  if (ownServerStopped) return;
  const name = /dbname=(\S+)\s*$/.exec(conninfo)?.[1];
  if (!name) throw new Error('not a test database');
  runSync('psql', psqlArgs(pgAdmin(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), { encoding: 'utf8' });
}

// What `sleutel init` needs to put an installation on the test engine
// (or on `engine`).
export function initStoreArgs(engine = ENGINE) {
  return engine === 'postgresql' ? ['--postgresql', createDatabase()] : [];
}

// `query` as the test server's superuser (started now if need be).
export function adminSql(query) {
  return runSync('psql', psqlArgs(pgAdmin(), query), { encoding: 'utf8' }).trim();
}

// The store of an installation: { engine, conninfo } or { engine, file }.
// `target` is a server from startServer() or anything with its `dir`.
export function storeOf(target) {
  const dir = typeof target === 'string' ? target : target.dir;
  const ini = readFileSync(path.join(dir, 'sleutel.ini'), 'utf8');
  const section = /^\[store\]\s*$([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(ini)?.[1] || '';
  const get = (k) => new RegExp(`^\\s*${k}\\s*=\\s*(.*?)\\s*$`, 'm').exec(section)?.[1];
  if (get('engine') === 'postgresql') return { engine: 'postgresql', conninfo: get('conninfo') };
  return { engine: 'sqlite', file: path.resolve(dir, get('path') || 'sleutel.db') };
}

function cliOf(target, query) {
  const st = storeOf(target);
  if (st.engine === 'postgresql') return ['psql', psqlArgs(st.conninfo, query)];
  return ['sqlite3', ['-cmd', '.timeout 5000', st.file, query]];
}

// `query` on the target's database; its rows as sqlite3's list mode.
export function sql(target, query) {
  const [cmd, args] = cliOf(target, query);
  return runSync(cmd, args, { encoding: 'utf8' }).trim();
}

export async function sqlAsync(target, query) {
  const [cmd, args] = cliOf(target, query);
  return (await runAsync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 })).trim();
}

// A SELECT's rows as objects (sqlite3 -json's shape; [] when none).
function jsonCli(target, query) {
  const st = storeOf(target);
  const q = query.trim().replace(/;$/, '');
  if (st.engine === 'postgresql') {
    // A statement that returns no rows prints nothing, as in sqlite3.
    if (!/^\s*(SELECT|WITH|VALUES)\b/i.test(q)) return ['psql', psqlArgs(st.conninfo, q)];
    return ['psql', psqlArgs(st.conninfo, `SELECT coalesce(json_agg(t), '[]'::json) FROM (${q}) t`)];
  }
  return ['sqlite3', ['-json', '-cmd', '.timeout 5000', st.file, q]];
}

const parseRows = (out) => (out.trim() ? JSON.parse(out) : []);

// The query on stdin rather than as an argument: one argument is limited
// to 128 KiB (spawn E2BIG), and a check's IN list of every acknowledged
// id can pass that.  psql reads it with `-f -`, sqlite3 without its SQL.
function byStdin(cmd, args) {
  const q = args[args.length - 1];
  return [cmd === 'psql' ? [...args.slice(0, -2), '-f', '-'] : args.slice(0, -1), `${q};\n`];
}

export async function sqlJson(target, query) {
  const [cmd, args0] = jsonCli(target, query);
  const [args, input] = byStdin(cmd, args0);
  const stdout = await new Promise((resolve, reject) => {
    const c = execFile(cmd, args, bounded({ encoding: 'utf8', maxBuffer: 64 << 20 }),
      (e, out) => (e ? reject(callError(e, cmd, query)) : resolve(out)));
    c.stdin.end(input);
  });
  return parseRows(stdout);
}

export function sqlRows(target, query) {
  const [cmd, args0] = jsonCli(target, query);
  const [args, input] = byStdin(cmd, args0);
  return parseRows(runSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, input }, query));
}

// The schema version the store keeps, read and set behind its back.
export function schemaVersion(target) {
  return Number(sql(target, storeOf(target).engine === 'postgresql'
    ? 'SELECT version FROM schema_version' : 'PRAGMA user_version'));
}

export function setSchemaVersion(target, v) {
  sql(target, storeOf(target).engine === 'postgresql'
    ? `UPDATE schema_version SET version = ${Number(v)}` : `PRAGMA user_version = ${Number(v)}`);
}

// Everything the database holds, as text (what a stolen backup shows):
// sqlite3's .dump of the file, or pg_dump of the database.
export async function dumpDatabase(target) {
  const st = storeOf(target);
  const [cmd, args] = st.engine === 'postgresql'
    ? ['pg_dump', ['--no-owner', '-d', st.conninfo]] : ['sqlite3', [st.file, '.dump']];
  return runAsync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
}
