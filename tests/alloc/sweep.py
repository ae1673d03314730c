#!/usr/bin/env python3
"""sweep.py — fail the Nth allocation of the code under test, for every N,
over the unit suites (docs/faults.md, "Allocation failures").

For each cmocka test of each unit suite (meson's `unit` suite of BUILD):
  1. a counting run (ALLOCFAIL_N=0) gives, per test, how many allocations
     the code under test makes (tests/alloc/allocfail.c says which count);
  2. then one run of that test alone per N = 1, 2, 3, ... with the Nth
     allocation failing, until a run ends without reaching N.

Each run's outcome:
  - expected: the test passed, or its own assertion failed (the code under
    test returned an error the test did not expect: that is the point);
  - finding: a signal (also one cmocka caught: "Test failed with
    exception"), a sanitizer report, a hang (no exit within the timeout), or
    a leak LeakSanitizer reports that the code under test owns (below).

Which leaks are the code under test's.  A failed cmocka assertion jumps out
of the test body, so whatever the test held leaks with it; those leaks are
not findings.  A leak is a finding when the test passed, or when it is a
*direct* leak (no pointer to it left anywhere) allocated inside the call
whose allocation failed, and the test's assertion failed on that call's
statement (or the 3 lines after): memory the failing call allocated and
neither freed nor handed back.  Indirect leaks hang off a direct one.  A
block allocated by test code itself (a visitor of the test collecting rows
the code under test hands it) is the test's, even inside that call.

Usage: sweep.py [--build DIR] [--suite NAME ...] [--stride K] [--jobs J]
                [--state FILE] [--meson-suite unit|store-pg]
Exit status: 0 when there is no finding, 1 otherwise.  The last line is
"alloc-faults: R runs, F findings, S s" (machine-readable for check.sh).
"""
import argparse
import atexit
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def build_interposer(build):
    """Compile allocfail.c into BUILD/tests/alloc/, unsanitized (it must not
    need libasan: it comes before it in LD_PRELOAD)."""
    src = os.path.join(HERE, "allocfail.c")
    out_dir = os.path.join(build, "tests", "alloc")
    lib = os.path.join(out_dir, "liballocfail.so")
    os.makedirs(out_dir, exist_ok=True)
    if not os.path.exists(lib) or os.path.getmtime(lib) < os.path.getmtime(src):
        subprocess.run(["cc", "-std=c17", "-Wall", "-Wextra", "-Werror", "-O2", "-fPIC", "-shared",
                        # so that AddressSanitizer's fast unwinder walks through it
                        "-fno-omit-frame-pointer",
                        "-o", lib, src, "-ldl"], check=True)
    return lib


def unit_tests(build, only, suites):
    """meson's tests of BUILD in SUITES (their names without the project):
    (name, cmd, env, workdir, timeout)."""
    out = subprocess.run(["meson", "introspect", build, "--tests"], check=True,
                         capture_output=True, text=True).stdout
    tests = []
    for t in json.loads(out):
        if not set(suites) & {s.split(":")[-1] for s in t["suite"]} or (only and t["name"] not in only):
            continue
        tests.append(t)
    return tests


def test_code_ranges(exe, path):
    """Write the address ranges of the functions defined under tests/
    (the test files, their helpers and headers) for ALLOCFAIL_TESTCODE."""
    out = subprocess.run(["nm", "-l", "-S", "--defined-only", exe], check=True,
                         capture_output=True, text=True).stdout
    tests_dir = os.path.join(SRCROOT, "tests") + os.sep
    n = 0
    with open(path, "w") as f:
        for line in out.splitlines():
            sym, _, loc = line.partition("\t")
            parts = sym.split()
            if len(parts) != 4 or parts[2] not in "tTwW":
                continue
            file = os.path.normpath(loc.rpartition(":")[0]) if loc else ""
            if file.startswith(tests_dir):
                f.write("%s %s\n" % (parts[0], parts[1]))
                n += 1
    return n


class Runner:
    def __init__(self, args, lib):
        self.args = args
        self.lib = lib
        self.runs = 0
        self.tmp = tempfile.mkdtemp(prefix="allocfail-")
        atexit.register(shutil.rmtree, self.tmp, True)
        self.seq = 0
        self.suppressions = load_list(args.suppressions)

    def env(self, test, ranges):
        env = dict(os.environ)
        env.update(test.get("env") or {})
        preload = env.get("LD_PRELOAD", "")
        env["LD_PRELOAD"] = self.lib + (" " + preload if preload else "")
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = ":".join(x for x in [asan, "verify_asan_link_order=0", "detect_leaks=1"] if x)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        env["ALLOCFAIL_TESTCODE"] = ranges
        return env

    def run(self, test, ranges, name, n, timeout, slow_unwind=False):
        """One run with allocation N failing: a number (the Nth counted
        allocation; 0 fails none) or (PATH, K), the Kth allocation of call
        path PATH; returns (returncode or None on timeout, output, report
        lines)."""
        self.seq += 1
        report = os.path.join(self.tmp, "r%d-%d" % (os.getpid(), self.seq))
        env = self.env(test, ranges)
        if slow_unwind:
            env["ASAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
        if isinstance(n, int):
            env["ALLOCFAIL_N"] = str(n)
        else:
            env["ALLOCFAIL_PATH"], env["ALLOCFAIL_K"] = n[0], str(n[1])
            if len(n) > 2:
                env["ALLOCFAIL_FROM"] = str(n[2])
        env["ALLOCFAIL_REPORT"] = report
        if name is not None:
            env["ALLOCFAIL_TEST"] = name
        self.runs += 1
        try:
            p = subprocess.run(test["cmd"], env=env, cwd=test.get("workdir") or self.args.build,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
            rc, out = p.returncode, p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, out = None, (e.stdout or b"").decode(errors="replace")
        lines = []
        if os.path.exists(report):
            with open(report) as f:
                lines = f.read().splitlines()
            os.unlink(report)
        return rc, out, lines


LEAK_RE = re.compile(r"^(Direct|Indirect) leak of .*?allocated from:\n((?:\s+#\d+ .*\n?)+)", re.M)


ASAN_FRAME_RE = re.compile(r"#\d+ 0x[0-9a-f]+ in (\S+) (\S+?):(\d+)")


def test_frames(fail_frames):
    """The frames under tests/ on the failed allocation's stack, innermost
    first: [(function, file, line)]."""
    out = []
    for f in fail_frames:
        fn, _, loc = f.partition(" ")
        path, _, line = loc.split(" ")[0].rpartition(":")
        if path.startswith("tests/"):
            out.append((fn, os.path.basename(path), line))
    return out


def test_call(fail_frames):
    """The failing call's site in test code: (function, file, line) of the
    innermost frame under tests/ on the failed allocation's stack."""
    frames = test_frames(fail_frames)
    return frames[0] if frames else None


FAILED_LINE_RE = re.compile(r"\[\s+LINE\s+\] --- (.+?):(\d+): error")


def failed_on_call(out, call):
    """Whether the test's assertion failed on the failing call's statement
    (its line or the few after: a helper checks the result it just got).
    When it failed elsewhere, the failing call returned a success (a retried
    transaction, say) and what it returned is the test's to free."""
    m = FAILED_LINE_RE.search(out)
    if m is None or call is None:
        return False
    return os.path.basename(m.group(1)) == call[1] and 0 <= int(m.group(2)) - int(call[2]) <= 3


def allocated_by_test(stack):
    """Whether the leaked block was allocated by test code: the first
    frame of its stack past the allocator (a test's visitor collecting
    what the code under test hands it, say)."""
    for fn, path, line in ASAN_FRAME_RE.findall(stack):
        if "libsanitizer" in path:
            continue
        return "/tests/" in path or path.startswith("tests/")
    return False


def leak_findings(out, passed, call, chain=None):
    """The leaks of a run that belong to the code under test (see top).
    CHAIN: the failing call's test frames, innermost first; a leak of the
    same helper line reached from another line of the test (the helper's
    earlier call, whose result the test held) is not the failing call's."""
    found = []
    if not passed and not failed_on_call(out, call):
        return found
    for kind, stack in LEAK_RE.findall(out):
        if passed:
            found.append(kind + " leak\n" + stack)
            continue
        # The test failed: what it allocated itself leaks with it.
        if kind != "Direct" or call is None or allocated_by_test(stack):
            continue
        if chain:
            leak_chain = [(fn, os.path.basename(path), line) for fn, path, line in ASAN_FRAME_RE.findall(stack)
                          if "/tests/" in path or path.startswith("tests/")]
            if leak_chain[:len(chain)] != chain[:len(leak_chain)]:
                continue
        for fn, path, line in ASAN_FRAME_RE.findall(stack):
            if (fn, os.path.basename(path), line) == call:
                found.append(kind + " leak\n" + stack)
                break
    return found


def report_test_site(out, marker):
    """The innermost test-code frame of the sanitizer report after MARKER."""
    at = out.find(marker)
    for fn, path, line in ASAN_FRAME_RE.findall(out[at:at + 20000]):
        if "/tests/" in path:
            return fn, os.path.basename(path), line
    return None


def classify(rc, out, report, where):
    """None for an expected outcome, else what went wrong.  A crash or a
    sanitizer report is the test's ("note: ...", listed apart) when it
    happens in test code, or in a later call the test made after the
    failing one: the test carried on with the NULL the code under test
    rightly returned (sometimes a success with a part missing: --notes)."""
    crash = [line.split(" ") for line in report if line.startswith("crash ")]
    call = test_call(where.get("fail", []))
    if rc is None:
        return "hang (no exit within the timeout)"
    if crash and crash[0][2] == "test":
        return "note: crash in test code"
    if crash and crash[0][3:] == ["late"]:
        # After the tests had returned: a thread a test left running when
        # it failed, cut off by the process's exit (OPENSSL_cleanup() frees
        # the locks it uses).  A bug of the test, still a finding.
        return "crash (signal %s) after the tests ended: a thread the test left running" % crash[0][1]
    if crash and call is not None and test_call(where.get("crash", [])) != call:
        return "note: crash in a later call than the failing one"
    if crash:
        return "crash (signal %s)" % crash[0][1]
    if rc < 0:
        return "killed by signal %d" % -rc
    if "Test failed with exception" in out:
        return "crash (cmocka caught a signal)"
    for marker, what in (("ERROR: AddressSanitizer", "AddressSanitizer report"),
                         ("runtime error:", "UndefinedBehaviorSanitizer report")):
        if marker in out:
            site = report_test_site(out, marker)
            if call is not None and site is not None and site != call:
                return "note: %s in a later call than the failing one" % what
            return what
    leaks = leak_findings(out, "[  PASSED  ] 1 test(s)" in out and "FAILED" not in out,
                          test_call(where.get("fail", [])), test_frames(where.get("fail", [])))
    if leaks:
        return "leak:\n" + "\n".join(leaks)
    if "LeakSanitizer" not in out and "[  PASSED  ]" not in out and "[  FAILED  ]" not in out:
        return "no cmocka summary (exit %d)" % rc
    return None


def symbolize(exe, frames):
    """'frame OBJECT OFFSET' lines: function and file:line for the
    executable's frames, the object's name for the others (this tool's
    own frames and the runtime's below main are left out)."""
    lines = []
    for f in frames:
        _, obj, off = f.split(" ", 2)
        name = os.path.basename(obj)
        if name.startswith(("liballocfail", "libcmocka")):
            continue
        if os.path.realpath(obj) == os.path.realpath(exe):
            # -i: a frame's inlined calls too, innermost first (a test
            # helper inlined into the test keeps the test's line).
            r = subprocess.run(["addr2line", "-i", "-f", "-C", "-e", exe, off], capture_output=True,
                               text=True).stdout.rstrip("\n").split("\n")
            if r[0] in ("main", "_start"):
                break
            for fn, at in zip(r[0::2], r[1::2]):
                loc = os.path.relpath(os.path.normpath(at), SRCROOT) if at.startswith("/") else at
                lines.append("%s %s" % (fn, loc))
        else:
            lines.append("(%s+0x%s)" % (name, off))
    return lines


def symbolize_report(exe, report):
    """{"fail": frames of the failed allocation, "crash": of the crash}."""
    parts, frames, key = {}, [], None
    for line in report + ["end"]:
        if line.startswith("frame "):
            frames.append(line)
            continue
        if key:
            parts[key] = symbolize(exe, frames)
        frames, key = [], None
        if line.startswith("fail "):
            key = "fail"
        elif line.startswith("crash "):
            key = "crash"
    return parts


def library_only(what):
    """Whether none of a leak finding's stacks reaches a frame with a source
    line past the allocator: the fast unwinder stopped inside a library
    built without frame pointers (libcrypto), so whose leak it is is not
    known yet."""
    return not any("libsanitizer" not in path for _, path, _ in ASAN_FRAME_RE.findall(what))


def recheck_library_leak(runner, test, ranges, name, n, timeout):
    """The same run again with the slow unwinder: when every leaked block
    was allocated outside the test body (no af_run_body on its stack: at
    the process's start, OpenSSL's method store and names, say), it is the
    library's own state that the failure made it lose — a note, not a
    finding.  Otherwise None (the finding stands)."""
    rc, out, report = runner.run(test, ranges, name, n, timeout * 3, slow_unwind=True)
    stacks = [stack for _, stack in LEAK_RE.findall(out)]
    if rc is None or not stacks or any("af_run_body" in stack for stack in stacks):
        return None
    return "note: a library's own state lost (allocated before the test body)"


def label(n):
    """How a run's failed allocation is named: "N=123" (the 123rd) or
    "path 0123abcd.. #2" (the second of that call path)."""
    if isinstance(n, int):
        return "N=%d" % n
    return "path %s #%d" % (n[0], n[1]) + (" from allocation %d" % n[2] if len(n) > 2 else "")


def path_names(exe, paths):
    """{path: "f < g < h"}: each call path as the functions of its frames,
    innermost first (inlined ones too): a name that stays the same from one
    build to the next, unlike the path's hash of return addresses."""
    offs = sorted({o for frames in paths.values() for o in frames})
    funcs = {}
    if offs:
        out = subprocess.run(["addr2line", "-a", "-i", "-f", "-e", exe] + ["0x" + o for o in offs],
                             capture_output=True, text=True).stdout.split("\n")
        at = None
        for line in out:
            if line.startswith("0x") and all(c in "0123456789abcdefx" for c in line):
                at = "%x" % int(line, 16)
                funcs[at] = []
            elif at is not None and line and not line.startswith(("/", "??:")) and ":" not in line:
                funcs[at].append(line)
    return {key: " < ".join(f for o in frames for f in funcs.get("%x" % int(o, 16), ["?"]))
            for key, frames in paths.items()}


def load_list(path):
    """The regression or suppression list: [(suite, test, k, path name,
    rest of the line)]; "#" starts a comment, fields are separated by " | "."""
    entries = []
    if not path or not os.path.exists(path):
        return entries
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(" | ")]
            if len(fields) < 4:
                sys.exit("%s: not SUITE | TEST | K | PATH [| ...]: %s" % (path, line))
            entries.append((fields[0], fields[1], int(fields[2]), fields[3], fields[4:]))
    return entries


def fail_path_name(where):
    """The failed allocation's call path by name, as path_names gives it:
    the executable's functions from the allocation out to test code."""
    names = []
    for f in where.get("fail", []):
        if f.startswith("("):
            continue
        fn, _, loc = f.partition(" ")
        if loc.startswith("tests/"):
            break
        names.append(fn)
    return " < ".join(names)


def suppressed(suppressions, suite, test, n, what, where):
    """The reason of the suppression entry that covers this finding, or
    None.  An entry SUITE | TEST | K | PATH | FAIL-FRAME | LEAK-FRAME | WHY
    covers a leak when the suite and the test ("*": any) are the same, K
    ("0": any) and the call path by name ("*": any) are the failed
    allocation's, the failed allocation's frames hold FAIL-FRAME and every
    leaked block's stack holds LEAK-FRAME (the library's own code, as
    "object+0xoffset" of that library's build: the entry stops matching when
    the library changes, and the finding is looked at again).  With
    "crash:FRAME" in place of LEAK-FRAME it covers a crash instead: a signal
    whose stack holds FRAME (the library's own dereference of the
    allocation it did not check), nothing else."""
    if isinstance(n, int):
        return None
    if what.startswith("leak:"):
        stacks = what.split("\n", 1)[1].split(" leak\n")[1:]
    elif what.startswith("crash (signal"):
        stacks = ["\n".join(where.get("crash", []))]
    else:
        return None
    fail = "\n".join(where.get("fail", []))
    for s_suite, s_test, k, path, rest in suppressions:
        if s_suite not in ("*", suite) or s_test not in ("*", test) or k not in (0, n[1]) or len(rest) < 3:
            continue
        if path not in ("*", fail_path_name(where)) or not stacks or not stacks[0]:
            continue
        is_crash = rest[1].startswith("crash:")
        if is_crash != what.startswith("crash"):
            continue
        frame = rest[1][len("crash:"):] if is_crash else rest[1]
        if rest[0] in fail and all(frame in stack for stack in stacks):
            return rest[2]
    return None


def first_exe_frame(frames):
    return next((f for f in frames if not f.startswith("(")), "?")


def sweep_test(runner, test, ranges, name, picks, timeout, fast_forward=False):
    """One run per pick of PICKS (every N when PICKS is None) for one cmocka
    test, with that allocation failing: (its findings, runs).  A pick is
    [N, PATH, K] (the counting run's "pick" line): with --by-number the
    Nth allocation fails, else the Kth of call path PATH.  Every N ends
    with the first run that does not reach N."""
    args = runner.args
    findings = []
    if picks is None:
        ns = iter(lambda: None, 0)  # 1, 2, 3, ... (numbered below)
    else:
        ns = iter(picks[args.offset - 1::args.stride])
    n = 0
    runs = 0
    unreached = 0
    for pick in ns:
        if pick is None:
            n = n + 1
        elif isinstance(pick, int) or args.by_number:
            n = pick if isinstance(pick, int) else pick[0]
        elif fast_forward and len(pick) > 3:
            n = (pick[1], 1, pick[3])  # the first of that path from its index on
        else:
            n = (pick[1], pick[2])
        runs += 1
        rc, out, report = runner.run(test, ranges, name, n, timeout)
        reached = any(line.startswith("fail ") for line in report)
        where = symbolize_report(test["cmd"][0], report)
        what = classify(rc, out, report, where)
        if what and what.startswith("leak:") and library_only(what):
            what = recheck_library_leak(runner, test, ranges, name, n, timeout) or what
        if what and what.startswith("leak:") and library_only(what) and not isinstance(n, int):
            # Its stacks stop in a library: the slow unwinder's, to name it.
            rc2, out2, _ = runner.run(test, ranges, name, n, timeout * 3, slow_unwind=True)
            leaks2 = leak_findings(out2, "[  PASSED  ] 1 test(s)" in out2 and "FAILED" not in out2,
                                   test_call(where.get("fail", [])), test_frames(where.get("fail", [])))
            if rc2 is not None and leaks2:
                what = "leak:\n" + "\n".join(leaks2)
        why = what and suppressed(runner.suppressions, test["name"], name, n, what, where)
        if why:
            what = "note: suppressed (%s)" % why
        if what:
            findings.append((n, what, where, out))
        if not reached and pick is None:
            break
        if not reached:
            unreached += 1
    return findings, runs, unreached


def counting_run(runner, test, ranges, timeout, name=None, paths=None):
    """The run that fails nothing (of cmocka test NAME only, or all):
    (exit, output, [(test, count, picks, seconds of its body)]).  PATHS, a
    dict, gets each call path's frames: {path: [offsets]}."""
    env_site = str(runner.args.per_site)
    os.environ["ALLOCFAIL_PER_SITE"] = env_site
    rc, out, report = runner.run(test, ranges, name, 0, timeout)
    tests, picks = [], []
    for line in report:
        word = line.split(" ")
        if word[0] == "path" and paths is not None:
            paths[word[1]] = word[2:]
        elif word[0] == "pick":
            picks.append([int(word[1]), word[2]] + [int(w) for w in word[3:]] if len(word) > 3 else int(word[1]))
        elif word[0] == "test":
            secs = int(word[3]) / 1000.0 if len(word) > 3 else None
            tests.append((word[1], int(word[2]), picks, secs))
            picks = []
    return rc, out, tests


class State:
    """--state FILE: what a sweep has done, one JSON object a line, so that
    a sweep stopped (a time box, a reboot) goes on where it stopped when run
    again with the same file.  Lines:
      {"kind": "count", "suite", "clean", "counted": [[test, count, picks]],
       "broken": [...]}                      a suite's counting run
      {"kind": "test", "suite", "test", "runs", "seconds", "findings": [
       {"n", "what", "where"}], "notes"}     one cmocka test swept
    A suite's counting run is reused, and a cmocka test already swept is
    not run again, unless it had findings (swept again: the fix is
    checked).  The options (--per-site, --stride, --offset) must be the
    same as the first run's: they are recorded and checked.  Delete the
    file, or a suite's lines, to sweep it afresh (after a change to what
    it counts)."""

    def __init__(self, path, args):
        self.path = path
        self.counts = {}
        self.tests = {}
        self.opts = {"per_site": args.per_site, "stride": args.stride, "offset": args.offset,
                     "by": "number" if args.by_number or args.per_site == 0 else "path"}
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    if rec["kind"] == "options" and not args.report and dict({"by": "number"}, **rec["options"]) != self.opts:
                        sys.exit("%s: was made with %s, not %s" % (path, rec["options"], self.opts))
                    elif rec["kind"] == "count":
                        self.counts[rec["suite"]] = rec
                    elif rec["kind"] == "test":
                        self.tests[(rec["suite"], rec["test"])] = rec
        else:
            self.write({"kind": "options", "options": self.opts})

    def write(self, rec):
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if rec["kind"] == "count":
            self.counts[rec["suite"]] = rec
        elif rec["kind"] == "test":
            self.tests[(rec["suite"], rec["test"])] = rec

    def done(self, suite, test):
        """The record of a test swept with no finding, or None."""
        rec = self.tests.get((suite, test))
        return rec if rec is not None and not rec["findings"] else None

    def table(self):
        """Per suite over every session: [suite, tests, runs, findings,
        seconds, picks not reached]."""
        rows = {}
        for (suite, _), rec in sorted(self.tests.items()):
            row = rows.setdefault(suite, [suite, 0, 0, 0, 0.0, 0])
            row[1] += 1
            row[2] += rec["runs"]
            row[3] += len(rec["findings"])
            row[4] += rec["seconds"]
            row[5] += rec.get("unreached", 0)
        for suite, rec in self.counts.items():
            if suite in rows:
                rows[suite][4] += rec["clean"]
        return [rows[k] for k in sorted(rows)]


def run_regressions(runner, args, start):
    """--regressions FILE: each listed allocation (the Kth of a call path
    named by its functions) fails in its test alone: a clean run of that
    test finds the path's hash in this build, then one run fails it.  A
    path no longer made is a finding too (the list is out of date)."""
    entries = load_list(args.regressions)
    meson = {t["name"]: t for t in unit_tests(args.build, {e[0] for e in entries},
                                              args.meson_suite or ["unit"])}
    findings = 0
    for suite, name, k, path, _ in entries:
        test = meson.get(suite)
        if test is None:
            print("regression %s %s: no such meson test in %s" % (suite, name, args.build))
            findings += 1
            continue
        exe = test["cmd"][0]
        ranges = os.path.join(runner.tmp, os.path.basename(exe) + ".ranges")
        test_code_ranges(exe, ranges)
        paths = {}
        rc, out, counted = counting_run(runner, test, ranges, args.count_timeout, name, paths)
        keys = [key for key, n in path_names(exe, paths).items() if n == path]
        if not keys:
            print("regression %s %s #%d: path not made by a clean run: %s" % (suite, name, k, path))
            findings += 1
            continue
        secs = next((c[3] for c in counted if c[0] == name and len(c) > 3 and c[3] is not None), 2.0)
        for key in keys:
            fs, _, unreached = sweep_test(runner, test, ranges, name, [[0, key, k]],
                                          min(args.timeout, max(10.0, 5 * secs + 10)))
            bad = [f for f in fs if not f[1].startswith("note:")]
            if unreached:
                print("regression %s %s #%d: not reached (%s)" % (suite, name, k, path))
                findings += 1
            for f in bad:
                print("  FINDING %s %s %s: %s\n    %s" % (suite, name, label(f[0]), f[1],
                                                        "\n    ".join(f[2].get("fail", []))))
                if args.verbose:
                    print(f[3][-6000:])
            findings += len(bad)
    print("alloc-faults: %d runs, %d findings, %.0f s" % (runner.runs, findings, time.time() - start))
    return 1 if findings else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--suite", action="append", default=[], help="meson test name (repeatable)")
    ap.add_argument("--per-site", type=int, default=2,
                    help="fail the first K allocations of each call path (0: every N)")
    ap.add_argument("--by-number", action="store_true",
                    help="fail a picked allocation by its number N in the test body, not by its call path "
                    "and occurrence (the same only when the test is deterministic)")
    ap.add_argument("--suppressions", default=os.path.join(HERE, "suppressions.txt"),
                    help="leaks and crashes of a library's own, by call path (default: tests/alloc/suppressions.txt)")
    ap.add_argument("--regressions", metavar="FILE",
                    help="run only the allocation paths FILE lists (SUITE | TEST | K | PATH: fixed findings)")
    ap.add_argument("--only-test", help="cmocka test: the counting run of this test only")
    ap.add_argument("--path", help="sweep only the call paths whose name (f < g < h) holds this string")
    ap.add_argument("--fast-forward", type=float, default=0, metavar="SECONDS",
                    help="for a test whose clean body took longer: walk no stack before a pick's index "
                    "(ALLOCFAIL_FROM; the same allocation only in a deterministic test)")
    ap.add_argument("--stride", type=int, default=1, help="of those, fail every K-th only")
    ap.add_argument("--offset", type=int, default=1, help="the first of them with --stride")
    ap.add_argument("--jobs", type=int, default=1, help="tests swept at once")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds a run may take at most (else 5 times its test's clean run, at least 10)")
    ap.add_argument("--count-timeout", type=float, default=1800, help="seconds the counting run may take")
    ap.add_argument("--skip", action="append", default=[], help="meson test name not to sweep")
    ap.add_argument("--skip-test", action="append", default=[],
                    help="cmocka test name not to sweep (a giant: swept on its own later)")
    ap.add_argument("--count-only", action="store_true", help="the counting runs only")
    ap.add_argument("--notes", action="store_true", help="list the crashes in test code")
    ap.add_argument("--verbose", action="store_true", help="print each finding's output")
    ap.add_argument("--state", help="file of what was swept: a sweep run again with it goes on where it stopped")
    ap.add_argument("--report", action="store_true",
                    help="with --state: print its per-suite table (markdown) and run nothing")
    ap.add_argument("--meson-suite", action="append", default=[],
                    help="meson suite whose tests are swept (repeatable; default: unit)")
    args = ap.parse_args()
    if args.report:
        if not args.state or not os.path.exists(args.state):
            sys.exit("--report needs the --state file of a sweep")
        print("| Suite | Tests | Runs | Findings | Seconds | Not reached |\n"
              "|-------|------:|-----:|---------:|--------:|------------:|")
        for row in State(args.state, args).table():
            print("| %s | %d | %d | %d | %.0f | %d |" % tuple(row))
        return 0
    args.build = os.path.abspath(args.build)
    start = time.time()
    lib = build_interposer(args.build)
    runner = Runner(args, lib)
    if args.regressions:
        return run_regressions(runner, args, start)
    total_findings = 0
    tests = [t for t in unit_tests(args.build, set(args.suite), args.meson_suite or ["unit"])
             if t["name"] not in args.skip]
    state = State(args.state, args) if args.state else None
    for test in tests:
        exe = test["cmd"][0]
        ranges = os.path.join(runner.tmp, os.path.basename(exe) + ".ranges")
        test_code_ranges(exe, ranges)
        t0 = time.time()
        if state is not None and test["name"] in state.counts and not args.count_only:
            # This suite's counting run, from an earlier session.
            rec = state.counts[test["name"]]
            rc, out, clean = 0, "", rec["clean"]
            counted = [tuple(c) for c in rec["counted"]]
            out = "".join("[  FAILED  ] %s\n" % b for b in rec["broken"])
        else:
            paths = {}
            rc, out, counted = counting_run(runner, test, ranges, args.count_timeout,
                                            args.only_test, paths)
            if args.path:
                # Only the picks of the call paths named so (with a large
                # --per-site: every allocation of those paths).
                keep = {k for k, n in path_names(exe, paths).items() if args.path in n}
                counted = [(c[0], c[1], [p for p in c[2] if isinstance(p, list) and p[1] in keep]) + tuple(c[3:])
                           for c in counted]
            clean = time.time() - t0
        if rc is None:
            print("%s: the counting run took over %d s; not swept" % (test["name"], args.count_timeout))
            total_findings += 1
            continue
        # A test that fails with nothing failed (a timing check on a loaded
        # machine, say) is the plain unit run's business: not swept here.
        broken = set(re.findall(r"^\[  FAILED  \] (\S+)$", out, re.M))
        if rc != 0 and not broken:
            print("%s: the counting run fails (exit %s); not swept\n%s" % (test["name"], rc, out[-3000:]))
            total_findings += 1
            continue
        if broken:
            print("%s: failing with nothing failed, not swept: %s" % (test["name"], " ".join(sorted(broken))))
        counted = [c for c in counted if c[0] not in broken]
        if state is not None and test["name"] not in state.counts and not args.count_only:
            state.write({"kind": "count", "suite": test["name"], "clean": clean,
                         "counted": [list(c) for c in counted], "broken": sorted(broken)})
        counts = [(name, c) for name, c, *_ in counted]
        # A run's timeout: 5 times the clean run of that test alone (the
        # process's start and the fixtures, plus its body; a body of
        # millions of allocations walks as many stacks), at least 10 s.
        bodies = sum(c[3] or 0 for c in counted if len(c) > 3)
        overhead = max(0.0, clean - bodies)

        def timeout_of(c):
            if len(c) > 3 and c[3] is not None:
                return min(args.timeout, max(10.0, 5 * (overhead + c[3])))
            return min(args.timeout, max(10.0, clean * 5))
        if args.count_only:
            print("%s: %d tests, %d counted allocations, %d picked, clean run %.2f s, max %d in %s" %
                  (test["name"], len(counts), sum(c for _, c in counts),
                   sum(len(c[2]) for c in counted), clean,
                   max([c for _, c in counts] or [0]), max(counts or [("-", 0)], key=lambda x: x[1])[0]), flush=True)
            continue
        found = []
        resumed = 0
        total_unreached = [0]

        def sweep_one(name, picks, timeout, ff):
            t1 = time.time()
            fs, runs, unreached = sweep_test(runner, test, ranges, name, picks, timeout, ff)
            return fs, runs, unreached, time.time() - t1

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futs = {}
            for entry in counted:
                name, c, picks = entry[:3]
                if c == 0 or name in args.skip_test:
                    continue
                if state is not None and state.done(test["name"], name):
                    resumed += 1
                    continue
                ff = args.fast_forward > 0 and len(entry) > 3 and (entry[3] or 0) > args.fast_forward
                futs[pool.submit(sweep_one, name, picks if args.per_site > 0 else None,
                                 timeout_of(entry), ff)] = name
            for fut in concurrent.futures.as_completed(futs):
                fs, runs, unreached, secs = fut.result()
                total_unreached[0] += unreached
                for f in fs:
                    found.append((futs[fut],) + f)
                if state is not None:
                    state.write({"kind": "test", "suite": test["name"], "test": futs[fut], "runs": runs,
                                 "seconds": round(secs, 1),
                                 "findings": [{"n": label(f[0]), "what": f[1], "where": f[2]}
                                              for f in fs if not f[1].startswith("note:")],
                                 "notes": len([f for f in fs if f[1].startswith("note:")]),
                                 "unreached": unreached})
        notes = [f for f in found if f[2].startswith("note:")]
        found = [f for f in found if not f[2].startswith("note:")]
        allocs = sum(c for _, c in counts)
        print("%s: %d tests, %d counted allocations, %d picked (%d runs so far, %d picks not reached), "
              "%d findings, %d crashes in test code (%.1f s)%s" %
              (test["name"], len(counts), allocs, sum(len(c[2]) for c in counted),
               runner.runs, total_unreached[0], len(found), len(notes), time.time() - t0,
               ", %d tests done in an earlier session" % resumed if resumed else ""), flush=True)
        for name, n, what, where, out in sorted(found):
            print("  FINDING %s %s %s: %s" % (test["name"], name, label(n), what))
            for part in ("fail", "crash"):
                if part in where:
                    print("    %s:\n      %s" % ("the failed allocation" if part == "fail" else "the crash",
                                                "\n      ".join(where[part])))
            if args.verbose:
                print(out[-6000:])
        seen = set()
        for name, n, what, where, out in sorted(notes):
            crash = first_exe_frame(where.get("crash", []))
            if crash in seen or not args.notes:
                continue
            seen.add(crash)
            src = [f for f in where.get("fail", []) if " src/" in f]
            if what.startswith("note: suppressed"):
                # a library's own finding (tests/alloc/suppressions.txt)
                print("  note %s %s %s: %s, under %s" % (test["name"], name, label(n), what[6:],
                                                         src[-1] if src else "?"))
                continue
            print("  note %s %s %s: the test crashed at %s after an allocation failed under %s" %
                  (test["name"], name, label(n), crash, src[-1] if src else "?"))
        total_findings += len(found)
    if state is not None:
        print("per suite, every session of %s (suite, tests, runs, findings, s, not reached):" % args.state)
        for row in state.table():
            print("  %-22s %4d %6d %4d %8.0f %4d" % tuple(row))
    print("alloc-faults: %d runs, %d findings, %.0f s" % (runner.runs, total_findings, time.time() - start))
    return 1 if total_findings else 0


if __name__ == "__main__":
    sys.exit(main())
