// watchdog.mjs — a test file whose event loop stays blocked is reported,
// then ended, rather than left to hang the run.
//
// A synchronous call that does not return (execFileSync on a child that
// waits for ever, a native call that sleeps) holds a file's event loop:
// the test runner's SIGTERM at the file's timeout is then never handled
// (no after() hook, no harness report, no wall time), and the runner, its
// summary printed, waits for the file's process until the suite's own
// deadline.  Here a worker thread watches a heartbeat the main thread
// writes each second.  When it has stopped for REPORT_S, the worker writes
// what the main thread is blocked in (its system call and kernel wait
// channel) and each process below it with its state, straight to fd 2 (a
// worker's console goes through the blocked main thread); at KILL_S it
// kills those processes and the file's own, so the runner counts the file
// failed and goes on.  SLEUTEL_TEST_STALL=REPORT_S,KILL_S changes the two
// (its own test uses seconds).
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { readFileSync, readdirSync, writeSync } from 'node:fs';

const [REPORT_S, KILL_S] = (process.env.SLEUTEL_TEST_STALL || '90,150').split(',').map(Number);
const nowS = () => Math.floor(Date.now() / 1000);

// Start the watchdog of this process (once): `file` names it in reports.
let started = false;
export function startWatchdog(file) {
  if (started || !isMainThread) return;
  started = true;
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const tick = () => Atomics.store(beat, 0, nowS());
  tick();
  setInterval(tick, 1000).unref();
  new Worker(new URL(import.meta.url), { workerData: { watchdog: { beat, file, pid: process.pid } } }).unref();
}

// ---- in the worker ----

const read = (p) => {
  try { return readFileSync(p, 'utf8'); } catch { return ''; }
};
// Fields of /proc/PID/stat after the command: [state, ppid, ...].
const statOf = (pid) => {
  const s = read(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(')') + 2).split(' ') : null;
};
// x86_64 numbers of the calls a blocked process is usually found in.
const SYSCALLS = { 0: 'read', 1: 'write', 7: 'poll', 23: 'select', 61: 'wait4', 202: 'futex', 232: 'epoll_wait',
  247: 'waitid', 270: 'pselect6', 271: 'ppoll', 281: 'epoll_pwait' };

function blockedIn(pid) {
  const call = read(`/proc/${pid}/task/${pid}/syscall`).trim().split(' ');
  const name = process.arch === 'x64' ? SYSCALLS[call[0]] : undefined;
  const state = statOf(pid)?.[0] ?? '?';
  return `state ${state}, system call ${call[0] || '?'}${name ? ` (${name})` : ''}, wait channel ` +
    `${read(`/proc/${pid}/wchan`) || '?'}`;
}

// The processes below `root`, each with its state and command line.
function descendants(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statOf(d);
    if (st) parent.set(Number(d), Number(st[1]));
  }
  const below = (pid) => [...parent].filter(([, pp]) => pp === pid).flatMap(([c]) => [c, ...below(c)]);
  return below(root).map((c) => `  pid ${c}: ${blockedIn(c)}: ` +
    `${read(`/proc/${c}/cmdline`).split('\0').join(' ').trim().slice(0, 200)}`);
}

if (!isMainThread && workerData?.watchdog) {
  const { beat, file, pid } = workerData.watchdog;
  const say = (text) => {
    try { writeSync(2, `${file}: ${text}\n`); } catch { /* stderr gone */ }
  };
  let reported = false;
  setInterval(() => {
    const stalled = nowS() - Atomics.load(beat, 0);
    if (stalled < REPORT_S) {
      reported = false;
      return;
    }
    const others = descendants(pid);
    if (!reported) {
      reported = true;
      say(`the event loop has been blocked for ${stalled} s: the main thread is in ${blockedIn(pid)}; ` +
        `the processes below it:\n${others.join('\n') || '  (none)'}`);
    }
    if (stalled >= KILL_S) {
      say(`the event loop has been blocked for ${stalled} s: the file and the processes below it are killed`);
      for (const line of others) {
        try { process.kill(Number(/pid (\d+)/.exec(line)[1]), 'SIGKILL'); } catch { /* gone */ }
      }
      process.kill(pid, 'SIGKILL');
    }
  }, Math.min(5000, REPORT_S * 500));
}
