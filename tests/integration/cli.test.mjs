// cli.test.mjs — the operator's `sleutel` command, run as a process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SLEUTEL, removeInstallation } from './lib/harness.mjs';
import { dumpDatabase, initStoreArgs, onPostgres, sql as dbSql } from './lib/db.mjs';

const execFileP = promisify(execFile);

// Run sleutel; resolve { code, stdout, stderr } whatever the exit status.
async function run(...args) {
  try {
    const { stdout, stderr } = await execFileP(SLEUTEL, args, { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Every installation made here, removed (its database too) at the end.
const made = [];
after(() => {
  for (const dir of made) {
    try { removeInstallation(dir); } catch { rmSync(dir, { recursive: true, force: true }); } // no sleutel.ini
  }
});

async function initDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-cli-'));
  made.push(dir);
  const r = await run('init', dir, '--ca', process.env.SLEUTEL_TEST_CA, '--port', '18001', '--eid-port', '18002',
    ...initStoreArgs());
  assert.equal(r.code, 0, r.stderr);
  return { dir, ini: path.join(dir, 'sleutel.ini') };
}

test('every command has --help, and usage errors exit 2 on stderr', async () => {
  for (const args of [['--help'], ['init', '--help'], ['client', '--help'], ['keys', '--help']]) {
    const r = await run(...args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /usage: sleutel/);
  }
  const r = await run('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command frobnicate/);
  assert.equal(r.stdout, '');
  assert.equal((await run()).code, 2);
});

test('init writes a private installation and refuses to overwrite it', async () => {
  const { dir, ini } = await initDir();
  // On PostgreSQL there is no database file; the configuration (which
  // then holds the conninfo) is private all the same.
  for (const f of ['sleutel.ini', ...(onPostgres ? [] : ['sleutel.db']), 'keys/secret', 'tls/server.key']) {
    assert.equal(statSync(path.join(dir, f)).mode & 0o077, 0, `${f} is private`);
  }
  assert.equal(statSync(path.join(dir, 'keys')).mode & 0o077, 0);
  assert.match(readFileSync(ini, 'utf8'), /^issuer = https:\/\/127\.0\.0\.1:18001$/m);
  const again = await run('init', dir);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists/);
  const bad = await run('init', path.join(dir, 'x'), '--port', '99999');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--port/);
  // A conninfo is one line of the configuration, of a bounded length.
  for (const conninfo of ['dbname=a\n[server]', '', `dbname=${'x'.repeat(1025)}`]) {
    const r = await run('init', path.join(dir, 'y'), '--postgresql', conninfo);
    assert.equal(r.code, 1, JSON.stringify(conninfo));
    assert.match(r.stderr, /--postgresql takes a libpq connection string of one line/);
  }
});

test('client add prints the secret once and stores only its hash', async () => {
  const { dir, ini } = await initDir();
  const r = await run('--config', ini, 'client', 'add', '--name', 'Mijn gezondheid',
    '--redirect-uri', 'https://health.example/cb', '--post-logout-redirect-uri', 'https://health.example/', '--json');
  assert.equal(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.match(c.client_secret, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(c.sector, 'health.example');
  const dump = await dumpDatabase(dir);
  assert.match(dump, new RegExp(c.client_id), 'the dump holds the client (it is the right database)');
  assert.equal(dump.includes(c.client_secret), false, 'the secret is not in the database');
  const stored = dbSql(dir, `SELECT secret_hash FROM clients WHERE client_id = '${c.client_id}'`);
  assert.equal(stored, createHash('sha256').update(c.client_secret).digest('hex'));
  const shown = JSON.parse((await run('--config', ini, 'client', 'show', c.client_id, '--json')).stdout);
  assert.equal(shown.client_secret, undefined, 'show never prints a secret');
  assert.deepEqual(shown.redirect_uris, ['https://health.example/cb']);
  const list = JSON.parse((await run('--config', ini, 'client', 'list', '--json')).stdout);
  assert.deepEqual(list.map((x) => x.client_id), [c.client_id]);
  const text = await run('--config', ini, 'client', 'list');
  assert.match(text.stdout, /Mijn gezondheid/);
  assert.equal((await run('--config', ini, 'client', 'remove', c.client_id)).code, 0);
  const gone = await run('--config', ini, 'client', 'show', c.client_id);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no client/);
});

test('client add refuses what would be unsafe or incomplete', async () => {
  const { dir, ini } = await initDir();
  const jwks = path.join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
  const cases = [
    [['--redirect-uri', 'https://a.example/cb'], /--name/],
    [['--name', 'X'], /redirect-uri/],
    [['--name', 'X', '--redirect-uri', 'http://a.example/cb'], /https/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb#frag'], /fragment/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--auth', 'private_key_jwt'], /--jwks/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--auth', 'private_key_jwt', '--jwks', jwks], /key 0/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--id-token-alg', 'none'], /id-token-alg/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--auth', 'password'], /--auth/],
    [['--name', 'X', '--redirect-uri', 'https://a.example/cb', '--redirect-uri', 'https://b.example/cb'], /--sector/],
  ];
  for (const [args, re] of cases) {
    const r = await run('--config', ini, 'client', 'add', ...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  const many = ['--name', 'X'];
  for (let i = 0; i < 11; i++) many.push('--redirect-uri', `https://a.example/cb${i}`);
  const r = await run('--config', ini, 'client', 'add', ...many);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /max_redirect_uris/);
});

test('keys list and rotate', async () => {
  const { ini } = await initDir();
  const before = JSON.parse((await run('--config', ini, 'keys', 'list', '--json')).stdout);
  assert.deepEqual(before.map((k) => k.alg).sort(), ['ES256', 'PS256', 'RS256']);
  const after = JSON.parse((await run('--config', ini, 'keys', 'rotate', '--publish-delay', '60', '--json')).stdout);
  assert.equal(after.length, 6);
  for (const alg of ['ES256', 'RS256', 'PS256']) {
    const of = after.filter((k) => k.alg === alg);
    const current = of.filter((k) => k.retire_after === 0);
    const retiring = of.filter((k) => k.retire_after > 0);
    assert.equal(current.length, 1);
    assert.equal(retiring.length, 1);
    // created is taken after key generation, which can take a second
    assert.ok(current[0].use_after >= current[0].created + 55);
    assert.ok(retiring[0].retire_after > current[0].use_after, 'old key outlives the switch');
  }
  const bad = await run('--config', ini, 'keys', 'rotate', '--publish-delay', '-5');
  assert.equal(bad.code, 1);
});

test('operator actions are in the audit trail', async () => {
  const { dir, ini } = await initDir();
  const c = JSON.parse((await run('--config', ini, 'client', 'add', '--name', 'Audit RP',
    '--redirect-uri', 'https://a.example/cb', '--json')).stdout);
  await run('--config', ini, 'client', 'remove', c.client_id);
  await run('--config', ini, 'keys', 'rotate');
  const stdout = dbSql(dir, 'SELECT event, client_id FROM audit ORDER BY seq');
  assert.equal(stdout, `client.add|${c.client_id}\nclient.remove|${c.client_id}\nkeys.rotate|`);
});
