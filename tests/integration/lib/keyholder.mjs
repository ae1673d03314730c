// keyholder.mjs — the key holder process of a test's sleuteld: its pid
// (a child of sleuteld started with --keyholder), and a call made while
// it is stopped (SIGSTOP), as a flooded key holder that answers nothing
// within its timeout.
import { readdirSync, readFileSync } from 'node:fs';

export function keyHolderPid(parent) {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('--keyholder')) return Number(d);
    } catch { /* gone meanwhile */ }
  }
  return null;
}

// fn()'s result, with the key holder of `server` stopped while it runs.
export async function whileKeyHolderStopped(server, fn) {
  const kh = keyHolderPid(server.proc.pid);
  if (!kh) throw new Error('no key holder process');
  process.kill(kh, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(kh, 'SIGCONT');
  }
}
