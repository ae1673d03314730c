// app.mjs — running the reference app (sleutel-app) in integration tests.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BUILD, trackProcess } from './harness.mjs';

// SLEUTEL_APP: another build of the app (a sanitizer build) against the server.
export const APP = process.env.SLEUTEL_APP || path.join(BUILD, 'sleutel-app');

// Run sleutel-app with state file `state` against `server` (TLS checked
// with `ca`); `input` goes to its stdin (then closed).  Resolves to
// { code, stdout, stderr, json (the last line parsed, or null) }; a
// sanitizer report rejects.
export function runApp({ server, ca, state }, args, input = '') {
  return new Promise((resolve, reject) => {
    const p = trackProcess(spawn(APP, ['--state', state, '--server', server.base, '--ca', ca, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=99' },
    }), 'sleutel-app');
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (/ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(stderr)) {
        reject(new Error(`sleutel-app ${args.join(' ')}: sanitizer report\n${stderr}`));
        return;
      }
      let json = null;
      try { json = JSON.parse(stdout.trim().split('\n').pop()); } catch { /* text output */ }
      resolve({ code, stdout, stderr, json });
    });
    // A process that exits before reading its input (an error it printed)
    // must fail on its exit status and stderr, not on EPIPE.
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}

const shq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

// sleutel-app on a pty (util-linux `script`).  expect(re) waits for the
// screen to show `re` after what was already consumed; type(s) sends
// keys.  Every terminal goes into `terminals`, so that an `after` can kill
// what a failed test left waiting on its pty.
export function appTerminal({ server, ca, state }, args, terminals = []) {
  const cmd = [APP, '--state', state, '--server', server.base, '--ca', ca, ...args].map(shq).join(' ');
  const p = trackProcess(spawn('script', ['-qfec', cmd, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=99' },
  }), 'script');
  let screen = '';
  let seen = 0;
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      const m = screen.slice(seen).match(w.re);
      if (m) {
        seen += m.index + m[0].length;
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(m);
      }
    }
  };
  p.stdout.on('data', (d) => { screen += d; check(); });
  p.stderr.on('data', (d) => { screen += d; check(); });
  const exited = new Promise((resolve) => p.on('close', (code) => resolve(code)));
  terminals.push(p);
  return {
    get screen() { return screen; },
    expect(re, ms = 20000) {
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        w.timer = setTimeout(() => reject(new Error(`no ${re} on the screen:\n${screen}`)), ms);
        waiters.push(w);
        check();
      });
    },
    type(s) { p.stdin.write(s); },
    exited,
    kill() { p.kill('SIGTERM'); },
  };
}
