// cli.mjs — the operator's `sleutel` run as a process against a test
// server's configuration, and its database read through lib/db.mjs, for the CLI
// tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SLEUTEL } from './harness.mjs';
import { sqlJson } from './db.mjs';
import { run } from './eid.mjs';

const execFileP = promisify(execFile);

// { cli, cliJson, sql } for `server`; `env` is added to the environment of
// each run (USER names the operator in audit records).
export function operatorCli(server, env = {}) {
  // sleutel --config ... ARGS: { code, stdout, stderr } whatever the exit status.
  async function cli(...args) {
    try {
      const { stdout, stderr } = await execFileP(SLEUTEL, ['--config', server.configPath, ...args],
        { encoding: 'utf8', env: { ...process.env, ...env } });
      return { code: 0, stdout, stderr };
    } catch (e) {
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  // The same with --json, which must succeed: the parsed output.
  async function cliJson(...args) {
    const r = await cli(...args, '--json');
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }
  // Rows of a query on the server's database.
  async function sql(query) {
    return sqlJson(server, query);
  }
  return { cli, cliJson, sql };
}
