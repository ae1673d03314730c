// watchdog.test.mjs — a test file blocked in a synchronous call is
// reported and ended by lib/watchdog.mjs, not left to hang the run.
// A blocked event loop never sees the test runner's SIGTERM at the
// file's timeout, and the runner then waits for the file's process: a
// make check of f5843c2 stopped so on proofing-code.test.mjs.  Here a file
// blocks in execFileSync('sleep 60'); with the watchdog's times shortened
// (report after 2 s, kill after 4 s) the runner must be done within 20 s,
// having printed what the file was blocked in, and no sleep left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// The processes still running `sleep 60` below `root` (or anywhere, root 0).
function sleepers() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8') === 'sleep\u000060\u0000';
    } catch { return false; }
  });
}

test('a file blocked in a synchronous call is reported, then killed with what it started', async () => {
  const before = new Set(sleepers());
  const env = { ...process.env, SLEUTEL_TEST_STALL: '2,4' };
  delete env.NODE_TEST_CONTEXT; // a runner of its own, not a child of this one
  delete env.SLEUTEL_TEST_PIDS; // and not in this run's process registry
  const t0 = Date.now();
  const runner = spawn(process.execPath, ['--test', '--test-reporter=spec', path.join(here, 'fixtures/blocked-file.mjs')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  runner.stdout.on('data', (d) => { out += d; });
  runner.stderr.on('data', (d) => { out += d; });
  const bound = setTimeout(() => runner.kill('SIGKILL'), 20000);
  const code = await new Promise((resolve) => runner.on('close', (c) => resolve(c)));
  clearTimeout(bound);
  const took = Date.now() - t0;
  assert.ok(took < 20000, `the runner was still waiting after ${took} ms:\n${out}`);
  assert.notEqual(code, 0, out);
  assert.match(out, /blocked-file\.mjs: the event loop has been blocked for \d+ s: the main thread is in state S/);
  assert.match(out, /pid \d+: state S, .*: sleep 60/, 'the child it waits on, listed');
  assert.match(out, /the file and the processes below it are killed/);
  assert.ok(sleepers().every((p) => before.has(p)), 'its sleep 60 was killed with it');
});
