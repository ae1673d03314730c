// ops-man.test.mjs — what an operator installs besides the binaries (issue 12
// item 6): the man pages and the systemd unit.
//
// - Each page renders with groff without a warning (-ww), and says what the
//   code does: every command `sleutel --help` lists, with every verb its own
//   --help shows, is in sleutel(1); every command of `sleutel-app --help` is
//   in sleutel-app(1); every key of the configuration parser's tables
//   (src/config/config.c) is in sleutel.ini(5) under its section; every
//   option of sleuteld's usage is in sleuteld(8).  The lists come from the
//   binaries and the source, not from this file.
// - `meson install --destdir` (tags man and systemd) puts the pages, the unit
//   and the sysusers/tmpfiles snippets in place; the unit names the installed
//   binaries, passes `systemd-analyze verify`, and `systemd-analyze security
//   --offline` rates it at most 2.5 (exposure), which the same unit without
//   its sandboxing lines does not reach.  (The unit starts as root with
//   CAP_SETUID/CAP_SETGID so that sleuteld and its key holder drop to two
//   accounts of their own: the offline rating counts root and those
//   capabilities, about 0.9, and cannot see the drop.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, BUILD, SLEUTEL, SLEUTELD } from './lib/harness.mjs';

const MAN = path.join(ROOT, 'docs/man');
const PAGES = ['sleuteld.8', 'sleutel.1', 'sleutel-app.1', 'sleutel.ini.5'];
const SLEUTEL_APP = path.join(BUILD, 'sleutel-app');
const EXPOSURE_MAX = 25; // systemd-analyze's --threshold is tenths: 2.5

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });

// A page as plain text: no hyphenation, long lines, runs of blanks as one.
function rendered(page) {
  const r = run('groff', ['-man', '-Tutf8', '-P-cbou', '-rHY=0', '-rLL=250n', path.join(MAN, page)]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\u2010/g, '-').replace(/[ \t]+/g, ' ');
}

// The roff source split at .SS: [{ title, body }] with \- read as -.
function subsections(page) {
  const src = readFileSync(path.join(MAN, page), 'utf8').replace(/\\-/g, '-');
  return src.split(/^\.SS /m).slice(1).map((s) => {
    const nl = s.indexOf('\n');
    return { title: s.slice(0, nl).replace(/^"|"$/g, ''), body: s.slice(nl + 1).split(/^\.SH /m)[0] };
  });
}

test('every man page renders with groff without a warning', () => {
  for (const page of PAGES) {
    const r = run('groff', ['-man', '-Tutf8', '-ww', '-z', path.join(MAN, page)]);
    assert.equal(r.status, 0, `${page}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${page} warns:\n${r.stderr}`);
  }
});

test('sleutel(1) has every command of sleutel --help and every verb of its own --help', () => {
  const help = execFileSync(SLEUTEL, ['--help'], { encoding: 'utf8' });
  const cmds = help.split('commands:\n')[1].split('\n\n')[0].split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1]).filter(Boolean);
  assert.ok(cmds.length >= 13, `commands parsed: ${cmds}`);
  for (const c of ['check-config', 'audit', 'backup', 'restore']) assert.ok(cmds.includes(c), c);
  const text = rendered('sleutel.1');
  const subs = subsections('sleutel.1');
  for (const cmd of cmds) {
    const sub = subs.find((s) => s.title.split(' ')[0] === cmd);
    assert.ok(sub, `sleutel(1) has no subsection for ${cmd}`);
    assert.match(text, new RegExp(`\\b${cmd}\\b`));
    // The verbs its usage lines show: "sleutel [--config FILE] CMD VERB".
    const r = run(SLEUTEL, [cmd, '--help']);
    const verbs = new Set([...r.stdout.matchAll(new RegExp(`sleutel (?:\\[--config FILE\\] )?${cmd} ([a-z]+)\\b`, 'g'))]
      .map((m) => m[1]).filter((v) => v !== cmd));
    const words = `${sub.title}\n${sub.body}`.replace(/\\f[BIRP]/g, ' ');
    for (const v of verbs) {
      assert.match(words, new RegExp(`\\b${v}\\b`), `sleutel(1): ${cmd} ${v}`);
    }
  }
});

test('sleutel-app(1) has every command of sleutel-app --help', () => {
  const help = run(SLEUTEL_APP, ['--help']);
  const lines = (help.stdout + help.stderr).split('\n');
  const cmds = lines.map((l) => /^ {2}((?:enroll|smartid) [a-z]+|[a-z]+)\b/.exec(l)?.[1]).filter(Boolean);
  assert.ok(cmds.length >= 20, `commands parsed: ${cmds}`);
  const text = rendered('sleutel-app.1');
  for (const c of cmds) assert.ok(text.includes(c), `sleutel-app(1) lacks "${c}"`);
  for (const opt of ['--state', '--server', '--ca', '--lang', '--json', '--code-fd']) {
    assert.ok(help.stdout.includes(opt) || help.stderr.includes(opt), opt);
    assert.ok(text.includes(opt), `sleutel-app(1) lacks ${opt}`);
  }
});

test('sleutel.ini(5) has every key of the configuration parser, under its section', () => {
  const src = readFileSync(path.join(ROOT, 'src/config/config.c'), 'utf8');
  const keys = [...src.matchAll(/\{ "([a-z]+)", "([a-z_]+)", CT_/g)].map((m) => [m[1], m[2]]);
  const bank = [...src.matchAll(/\{ "([a-z_]+)", offsetof\(struct sl_bank_conf/g)].map((m) => ['bank.<id>', m[1]]);
  assert.ok(keys.length > 100 && bank.length >= 10, `${keys.length} keys, ${bank.length} bank keys parsed`);
  const subs = subsections('sleutel.ini.5');
  for (const [section, key] of [...keys, ...bank]) {
    const sub = subs.find((s) => s.title.startsWith(`[${section}]`));
    assert.ok(sub, `sleutel.ini(5) has no section [${section}]`);
    assert.ok(sub.body.includes(`\\fB${key}\\fR`), `sleutel.ini(5) [${section}] lacks ${key}`);
  }
});

test('sleuteld(8) has the options of its usage, its signals and its log format', () => {
  const usage = run(SLEUTELD, ['--bogus']).stderr;
  const opts = [...usage.matchAll(/--[a-z]+/g)].map((m) => m[0]);
  assert.deepEqual([...new Set(opts)].sort(), ['--config', '--help', '--version']);
  const text = rendered('sleuteld.8');
  for (const o of opts) assert.ok(text.includes(o), o);
  for (const s of ['SIGTERM', 'SIGHUP', 'shutdown_grace', '"level"', '"msg"']) assert.ok(text.includes(s), s);
  // The log line it shows has the keys sleuteld writes (src/core/log.c).
  const log = readFileSync(path.join(ROOT, 'src/core/log.c'), 'utf8');
  for (const k of [...log.matchAll(/\\"([a-z]+)\\":/g)].map((m) => m[1])) assert.ok(text.includes(`"${k}"`), k);
});

// The build's install prefix and binary directory (meson introspect).
function installDirs() {
  const opts = JSON.parse(execFileSync('meson', ['introspect', BUILD, '--buildoptions'], { encoding: 'utf8' }));
  const get = (n) => opts.find((o) => o.name === n).value;
  return { prefix: get('prefix'), bindir: path.join(get('prefix'), get('bindir')) };
}

test('meson install puts the man pages and the systemd unit in place; the unit verifies and is sandboxed', () => {
  const dest = mkdtempSync(path.join(tmpdir(), 'sleutel-install-'));
  try {
    const r = run('meson', ['install', '-C', BUILD, '--no-rebuild', '--destdir', dest, '--tags', 'man,systemd']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const { prefix, bindir } = installDirs();
    const at = (p) => path.join(dest, prefix, p);
    for (const p of ['share/man/man8/sleuteld.8', 'share/man/man1/sleutel.1', 'share/man/man1/sleutel-app.1',
      'share/man/man5/sleutel.ini.5', 'lib/systemd/system/sleuteld.service', 'lib/sysusers.d/sleutel.conf',
      'lib/tmpfiles.d/sleutel.conf']) {
      assert.ok(existsSync(at(p)), `not installed: ${p}`);
    }
    for (const page of PAGES) {
      const sec = page.split('.').pop();
      assert.equal(readFileSync(at(`share/man/man${sec}/${page}`), 'utf8'), readFileSync(path.join(MAN, page), 'utf8'));
    }
    const unit = readFileSync(at('lib/systemd/system/sleuteld.service'), 'utf8');
    assert.ok(!unit.includes('@bindir@'));
    assert.match(unit, new RegExp(`^ExecStart=${bindir}/sleuteld --config \\S+$`, 'm'));
    assert.match(unit, new RegExp(`^ExecStartPre=${bindir}/sleutel check-config \\S+$`, 'm'));
    assert.match(readFileSync(at('lib/sysusers.d/sleutel.conf'), 'utf8'), /^u sleutel /m);
    assert.match(readFileSync(at('lib/sysusers.d/sleutel.conf'), 'utf8'), /^u sleutel-keys /m);
    assert.doesNotMatch(unit, /^User=/m, 'sleuteld starts as root and drops to its two accounts itself');

    // verify checks that the commands exist: point them at this build.
    const dir = mkdtempSync(path.join(tmpdir(), 'sleutel-unit-'));
    const here = path.join(dir, 'sleuteld.service');
    writeFileSync(here, unit.replaceAll(`${bindir}/`, `${BUILD}/`));
    const v = run('systemd-analyze', ['verify', '--man=no', here]);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stderr.trim(), '', v.stderr);

    const sec = run('systemd-analyze', ['security', '--offline=true', `--threshold=${EXPOSURE_MAX}`, here]);
    assert.equal(sec.status, 0, sec.stdout.split('\n').slice(-3).join('\n'));
    const level = Number(/Overall exposure level for sleuteld\.service: ([\d.]+)/.exec(sec.stdout)[1]);
    assert.ok(level <= EXPOSURE_MAX / 10, `exposure ${level}`);
    for (const d of ['ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
      'NoNewPrivileges=yes', 'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_DAC_OVERRIDE CAP_NET_BIND_SERVICE\n', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'SystemCallFilter=@system-service', 'MemoryDenyWriteExecute=yes', 'LockPersonality=yes',
      'RestrictNamespaces=yes', 'ReadWritePaths=/var/lib/sleutel', 'SystemCallFilter=@setuid', 'Type=exec',
      'Restart=on-failure', 'ExecReload=/bin/kill -HUP $MAINPID']) {
      assert.ok(unit.includes(d), `the unit lacks ${d.trim()}`);
    }
    // The threshold means something: without its sandbox the unit fails it.
    const bare = path.join(dir, 'bare.service');
    writeFileSync(bare, unit.replaceAll(`${bindir}/`, `${BUILD}/`).split('\n')
      .filter((l) => !/^(Protect|Private|Restrict|SystemCall|Capability|NoNew|Memory|Lock|ProcSubset|RemoveIPC|DevicePolicy|UMask)/.test(l))
      .join('\n'));
    assert.notEqual(run('systemd-analyze', ['security', '--offline=true', `--threshold=${EXPOSURE_MAX}`, bare]).status, 0);
    rmSync(dir, { recursive: true, force: true });
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});
