#!/bin/sh
# check.sh BUILD SAN — every test of every kind, with one closing line
# "N passed, N failed[, N skipped]" that counts each test case:
#   1. integration tests (node:test + openid-client against a real sleuteld)
#      on SQLite; beside them the unit tests (cmocka) of the development
#      build, and the store's suites again on PostgreSQL
#   2. browser tests (Debian Chromium via playwright-core, axe); beside
#      them the unit tests of the sanitizer build (address,undefined)
#   3. the integration tests again on PostgreSQL on the sanitizer build, so
#      that the whole suite runs on both engines without a phase of its own
#   4. beside phase 3, each libFuzzer target for FUZZ_SECONDS on its corpus
#      (clang build), FUZZ_JOBS (default: the number of cores) at a time
# What runs "beside" a phase runs in the background while the phase's own
# tests mostly wait on their servers; its lines are printed, and its counts
# added, when both are done.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SAN=${2:-build-asan}
FUZZ=${3:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-2}
ROOT=$(pwd)
work=$(mktemp -d /tmp/sleutel-check.XXXXXX)
passed=0
failed=0
skipped=0

add() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)";
# a binary that dies before its summary counts as one failure.
# run_unit LABEL BUILD [NAME-PATTERN]; $unit_nice: their niceness
run_unit() {
	label=$1
	build=$2
	for t in $(find "$build/tests" -type f -name "${3:-test_*}" -perm -u+x | sort); do
		out="$work/$(basename "$t").$label.log"
		nice -n "${unit_nice:-0}" "$t" >"$out" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then cat "$out"; fi
		echo "unit ($label) $(basename "$t"): $p passed, $f failed"
		add "$p" "$f"
	done
}

# in_background LABEL COMMAND...: run a test function (run_unit) in a
# subshell with counts of its own, its output kept in $work/LABEL.out;
# finish LABEL PID prints that output, the time it ended (did the phase
# wait for it?), and adds the counts.  A subshell
# that dies before writing its counts is one failure.  Its unit tests run
# at nice 10: the phase they run beside has timing checks (long-polls,
# countdowns, lifetimes) that want the cores first.
in_background() {
	(
		bg=$work/$1 # before the command: run_unit sets its own $label
		shift
		passed=0 failed=0 skipped=0
		unit_nice=10
		"$@" >"$bg.out" 2>&1
		echo "$passed $failed $skipped $(date +%T)" >"$bg.counts"
	) &
}

finish() {
	wait "$2"
	cat "$work/$1.out" 2>/dev/null
	if [ -s "$work/$1.counts" ]; then
		read -r p f s at <"$work/$1.counts"
		echo "$1: ended at $at"
		add "$p" "$f" "$s"
	else
		echo "$1: did not finish"
		add 0 1
	fi
}

# The integration files that take longest, longest first (measured on the
# sanitizer build on PostgreSQL: the sum of their tests' durations in
# make check, seconds in brackets): node --test starts files in the order
# given, so these start at once and the phase does not end on one long
# file alone.  The others (under 20 s each) follow in name order; a file
# missing here only starts later.
# eid-revocation [104] daemon [83] smartid-register [55] sidrp-api [52]
# smartid-app [44] app-cli [43] proofing-code [37] nodes [36] crash [35]
# rp-cli [32] operator [31] smartid-login [30] eid-refusals [29] ops [28]
# sidrp-rp-errors [27] conformance-basic [26] keyholder [26] oidc-extra [25]
# smartid-keygen [24] smartid-cli [23] proofing-bank [22] cli [22]
# smartid-rpapi-app [21] app-device-enroll [20]
# Added this round, estimated from their own runs (no make check yet):
# fapi2 [~60] jar [50] fapi2-dpop [~50] fapi2-token [~45] faults-disk [~35]
# faults-upstream-eid [28] faults-upstream-sms [~25] faults-conn [20]
# smartid-register was split in two (its two tests of finishes sent at once
# are smartid-register-parallel, ~20 s), so that neither nears the per-file
# timeout under the sanitizer on a loaded machine.
SLOW_FILES="eid-revocation daemon fapi2 smartid-register smartid-register-parallel sidrp-api jar fapi2-dpop fapi2-token smartid-app app-cli
proofing-code nodes crash faults-disk rp-cli operator smartid-login eid-refusals faults-upstream-eid ops
sidrp-rp-errors conformance-basic keyholder faults-upstream-sms oidc-extra smartid-keygen smartid-cli proofing-bank
cli smartid-rpapi-app faults-conn app-device-enroll faults-upstream-bank faults-shutdown ciba"
# ordered_files DIR NAMES: DIR's test files, those NAMES first in their
# order, then the others in name order.  Node 20's runner sorts the files
# it is given by name, so the run does not start the slow ones first
# today: the list stays as the record of which files are slow (check.sh
# prints each file's wall time); a scheduler of our own would be needed.
ordered_files() {
	of_dir=$1
	# shellcheck disable=SC2086 # the names are words
	set -- $2
	for n in "$@"; do
		[ -f "$of_dir/$n.test.mjs" ] && echo "$of_dir/$n.test.mjs"
	done
	for f in "$of_dir"/*.test.mjs; do
		case " $* " in
		*" $(basename "$f" .test.mjs) "*) ;;
		*) echo "$f" ;;
		esac
	done
}
integration_files() { ordered_files tests/integration "$SLOW_FILES"; }

# node --test with a TAP copy to count from: LABEL JOBS FILES...  Each
# test file starts its own servers on free ports, so integration files run
# several at a time (INTEGRATION_JOBS, SAN_INTEGRATION_JOBS): most of their
# time is waiting.  Browser files stay one at a time: Chromium wants the
# cores, and their timing checks (countdowns, QR slots) with it.
run_node() {
	label=$1
	jobs=$2
	shift 2
	tap="$work/$label.tap"
	# A bound on the whole suite: a test that leaves a process behind must
	# fail the run, not hang it.
	timeout -k 10 "${SUITE_SECONDS:-1200}" node --test --test-concurrency="$jobs" --test-timeout=180000 \
		--test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination="$tap" "$@"
	file_times "$label"
	p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$tap" | tail -n 1)
	f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$tap" | tail -n 1)
	c=$(sed -n 's/^# cancelled \([0-9]*\)/\1/p' "$tap" | tail -n 1)
	s=$(sed -n 's/^# skipped \([0-9]*\)/\1/p' "$tap" | tail -n 1)
	if [ -z "$p" ]; then
		echo "$label: the test runner did not finish"
		add 0 1
		return
	fi
	echo "$label: ${p} passed, $((${f:-0} + ${c:-0})) failed, ${s:-0} skipped"
	add "$p" $((${f:-0} + ${c:-0})) "${s:-0}"
	check_leaks
}

# Each file's wall time (tests/integration/lib/harness.mjs writes them at
# its exit), longest first; a file past 70 % of its 180 s timeout is
# marked, so that a file growing towards it is seen before it fails.
file_times() {
	times=$SLEUTEL_TEST_PIDS/times
	[ -s "$times" ] || return 0
	echo "$1: wall time of each file (s), longest first:"
	sort -rn "$times" | awk '{ printf "  %6.1f  %s%s\n", $1, $2, ($1 > 126 ? "  (near the 180 s timeout)" : "") }'
	rm -f "$times"
}

# No process outlives its test file (tests/integration/lib/harness.mjs
# trackProcess): a failure line naming the file for each one the harness
# had to kill, and for each one still running from the registry of a file
# whose process has ended (by its PID, or naming the file's installation
# directory: a key holder, a child of a child), which is then killed by PID.
check_leaks() {
	reg=$SLEUTEL_TEST_PIDS
	if [ -s "$reg/leaks" ] && mv "$reg/leaks" "$reg/leaks.$$" 2>/dev/null; then
		while IFS= read -r line; do
			echo "FAIL: process left behind: $line"
			add 0 1
		done <"$reg/leaks.$$"
		rm -f "$reg/leaks.$$"
	fi
	for f in "$reg"/*.pids; do
		[ -f "$f" ] || continue
		# its file still runs (that PID, and a node process: not one reused)
		tr '\0' ' ' 2>/dev/null <"/proc/$(basename "$f" .pids)/cmdline" | grep -q node && continue
		mv "$f" "$f.$$" 2>/dev/null || continue
		tab=$(printf '\t')
		while IFS="$tab" read -r pid what file dir; do
			left=""
			if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$what"; then
				left=$pid
			fi
			[ -n "$dir" ] && left="$left $(pgrep -f -- "$dir/" || true)"
			for p in $left; do
				[ "$p" = "$$" ] && continue
				echo "FAIL: process left behind: $file: $what (pid $p, $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | cut -c1-120)) still running after the file ended: killed"
				kill -9 "$p" 2>/dev/null
				add 0 1
			done
		done <"$f.$$"
		rm -f "$f.$$"
	done
}

# One test CA for the run: servers get certificates from it, Node trusts it.
"$BUILD/sleutel" init "$work/ca" >/dev/null 2>&1 || { echo "check: sleutel init failed"; exit 1; }
export SLEUTEL_TEST_CA="$work/ca/tls" NODE_EXTRA_CA_CERTS="$work/ca/tls/ca.pem"
# The run's process registry (check_leaks).
mkdir -p "$work/pids" && export SLEUTEL_TEST_PIDS="$work/pids"

# One PostgreSQL server for the run (127.0.0.1, a free port, a temp dir),
# stopped by its PID at the end, also on failure or interruption.  Each
# test makes its own database on it.  If it cannot start, the PostgreSQL
# phases fail: they are not skipped.
pgdir=$(mktemp -d /tmp/sleutel-pg.XXXXXX)
stop_pg() { sh scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1; }
trap 'stop_pg; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
SLEUTEL_TEST_PG=$(sh scripts/pg-test-server.sh start "$pgdir") || SLEUTEL_TEST_PG=
if [ -z "$SLEUTEL_TEST_PG" ]; then
	echo "check: the PostgreSQL test server did not start"
	add 0 1
fi
export SLEUTEL_TEST_PG

# The sanitizer and fuzz trees build in the background, at the lowest
# priority, while the development build's tests run: those mostly wait on
# their servers, and a nice 19 build only takes the cores they leave idle.
# The sanitizer tree is needed first (its unit tests start as soon as it is
# built), the fuzz tree only in phase 3.
# (setup and build: status into $work/san.rc and $work/fuzz.rc)
build_trees() {
	if [ ! -f "$SAN/build.ninja" ]; then
		nice -n 19 meson setup "$SAN" -Dtest_key=true -Db_sanitize=address,undefined -Db_lundef=false \
			-Ddata_dir="$ROOT/$SAN/share" >"$work/san-setup.log" 2>&1 || cat "$work/san-setup.log"
	fi
	nice -n 19 ninja -C "$SAN" >"$work/san-build.log" 2>&1
	echo $? >"$work/san.rc"
	date +%T >"$work/san.at"
	if [ ! -f "$FUZZ/build.ninja" ]; then
		CC=clang nice -n 19 meson setup "$FUZZ" -Dfuzz=true -Dtest_key=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Ddata_dir="$ROOT/$FUZZ/share" >"$work/fuzz-setup.log" 2>&1 ||
			cat "$work/fuzz-setup.log"
	fi
	# only the fuzz targets: the fuzz tree's tests and benchmarks run nowhere
	set --
	for src in fuzz/fuzz_*.c; do set -- "$@" "fuzz/$(basename "$src" .c)"; done
	nice -n 19 ninja -C "$FUZZ" "$@" >"$work/fuzz-build.log" 2>&1
	echo $? >"$work/fuzz.rc"
}
build_trees &
trees_pid=$!

# The store's suites on PostgreSQL (in a subshell: the engine is theirs),
# those whose place in name order is N modulo M (unit_store_pg N M): they
# wait on the database server most of the time (a schema and its migration
# per test), so M of them run at once.
unit_store_pg() {
	SLEUTEL_TEST_ENGINE=postgresql
	export SLEUTEL_TEST_ENGINE
	i=0
	for st in $(find "$BUILD/tests" -type f -name 'test_store*' -perm -u+x | sort); do
		[ $((i % $2)) -eq "$1" ] && run_unit dev-pg "$BUILD" "$(basename "$st")"
		i=$((i + 1))
	done
}

# The sanitizer build's unit tests, as soon as that tree is built (the fuzz
# tree goes on building behind them); a failed build is one failure here.
unit_san() {
	while [ ! -s "$work/san.rc" ] && kill -0 "$trees_pid" 2>/dev/null; do sleep 1; done
	if [ "$(cat "$work/san.rc" 2>/dev/null)" != 0 ]; then
		tail -n 40 "$work/san-build.log"
		echo "unit (asan): the sanitizer build failed"
		add 0 1
		return
	fi
	sh scripts/link-share.sh "$SAN"
	echo "unit (asan): the sanitizer tree was built at $(cat "$work/san.at"), its unit tests start at $(date +%T)"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export ASAN_OPTIONS UBSAN_OPTIONS
	run_unit asan "$SAN"
	# Allocation failures (docs/faults.md): a bounded part of the sweep,
	# each run one test with one allocation of src/ failing; counted per run.
	# Every 32nd path here (about 75 runs): at nice 10 beside phase 3 the
	# 147 runs of stride 16 took 233 s and ended the whole check a minute
	# after phase 3; `make alloc-faults` runs them all.
	ALLOC_STRIDE=${ALLOC_STRIDE:-32} nice -n "${unit_nice:-0}" sh scripts/alloc-fail-check.sh "$SAN" \
		>"$work/alloc-faults.out" 2>&1
	cat "$work/alloc-faults.out"
	# shellcheck disable=SC2046 # two numbers
	set -- $(sed -n 's/^alloc-faults: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$work/alloc-faults.out")
	add "${1:-0}" "${2:-1}"
}

# Phase 1: the integration tests on SQLite, INTEGRATION_JOBS (4) files at
# a time: they wait on their daemons most of the time (the 60 files' tests
# last 556 s in all, their processes use about 280 s of CPU: at three at a
# time, 204 s, the nice 19 builds took what they left).  Beside them
# the development build's unit tests (one busy core at most) and the
# store's suites on PostgreSQL (they wait on the database server: a schema
# and its migration per test); the sanitizer and fuzz trees build behind
# all of them at nice 19, and the sanitizer build's unit tests start as
# soon as that tree is built (they are reported after the browser phase).
echo "== integration tests (sqlite); unit tests (sqlite, and the store's on postgresql) beside them $(date +%T)"
in_background unit-dev run_unit dev "$BUILD"
unit_dev_pid=$!
in_background unit-asan unit_san
unit_asan_pid=$!
in_background unit-dev-pg0 unit_store_pg 0 3
store_pg0=$!
in_background unit-dev-pg1 unit_store_pg 1 3
store_pg1=$!
in_background unit-dev-pg2 unit_store_pg 2 3
store_pg2=$!
# shellcheck disable=SC2046 # the file names have no spaces
SLEUTEL_BUILD="$ROOT/$BUILD" run_node integration "${INTEGRATION_JOBS:-4}" $(integration_files)
echo "== unit tests (sqlite), run beside them"
finish unit-dev "$unit_dev_pid"
echo "== unit tests of the store (postgresql), run beside them"
finish unit-dev-pg0 "$store_pg0"
finish unit-dev-pg1 "$store_pg1"
finish unit-dev-pg2 "$store_pg2"

# Phase 2: the browser tests, BROWSER_JOBS (3) files at a time, the longest
# first, and beside them what is left of the sanitizer build's unit tests
# (started in phase 1, once that tree was built).  A browser file uses a
# fifth of a core or less (its Chromium, server and node process together:
# the ten files 68 s of CPU in all, account 3.2 s in 16 s, portal 11.6 s in
# 30 s): the rest is waiting on the page, the phone and the server, so
# files side by side leave their timing checks (countdowns, QR slots, the
# keygen slot) the cores they need.  Measured on a shared machine at a load
# of 20-30 on its two cores: one at a time 461 s, two 337 s, three 211 s and
# 187 s, every test passing each time.
# Each file's screenshots go to tests/artifacts/browser/FILE/.
# app-login [42] portal [43] smartid-register [42] consent [30] eid [30]
# smartid-login [28] (seconds, run alone); layout [15, at a load of 18]; the others under 20 s each.
BROWSER_SLOW="app-login portal smartid-register consent eid smartid-login timers layout"
echo "== browser tests (sqlite); the sanitizer build's unit tests beside them $(date +%T)"
mkdir -p tests/artifacts/browser
# shellcheck disable=SC2046 # the file names have no spaces
SLEUTEL_BUILD="$ROOT/$BUILD" run_node browser "${BROWSER_JOBS:-3}" $(ordered_files tests/browser "$BROWSER_SLOW")
echo "browser: ended at $(date +%T)"

# One libFuzzer run of target $1 into $work/$1.log, its exit status into
# $work/$1.rc.
fuzz_one() {
	name=$1
	corpus="$work/corpus-$name"
	mkdir -p "$corpus"
	nice -n "${unit_nice:-0}" "$FUZZ/fuzz/$name" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-rss_limit_mb=2048 -artifact_prefix="$work/$name-" "$corpus" "fuzz/corpus/${name#fuzz_}" \
		>"$work/$name.log" 2>&1
	echo $? >"$work/$name.rc"
}

# Every fuzz target, once the fuzz tree is built (a failed build is one
# failure), reported in name order.
fuzz_all() {
	while [ ! -s "$work/fuzz.rc" ] && kill -0 "$trees_pid" 2>/dev/null; do sleep 1; done
	echo "== fuzz targets (libFuzzer, ${FUZZ_SECONDS} s each) $(date +%T)"
	if [ "$(cat "$work/fuzz.rc" 2>/dev/null)" != 0 ]; then
		tail -n 40 "$work/fuzz-build.log"
		add 0 1
		return
	fi
	# Each target is one busy thread: run as many at once as there are
	# cores (FUZZ_JOBS), then report them in name order.
	jobs_max=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
	running=0
	for src in fuzz/fuzz_*.c; do
		fuzz_one "$(basename "$src" .c)" &
		running=$((running + 1))
		if [ "$running" -ge "$jobs_max" ]; then
			wait
			running=0
		fi
	done
	wait
	for src in fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		if [ "$(cat "$work/$name.rc" 2>/dev/null)" = 0 ]; then
			echo "fuzz $name: passed ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$name.log" ||
				tail -n 1 "$work/$name.log"))"
			add 1 0
		else
			tail -n 30 "$work/$name.log"
			echo "fuzz $name: FAILED"
			add 0 1
		fi
	done
}

# Phase 3: the integration tests again, on PostgreSQL, on the sanitizer
# build (its unit tests, reported below, count a failed build).  Beside them, at nice
# 10, the fuzz targets (busy threads, once the fuzz tree is built): the
# files mostly wait on their servers, and the fuzz phase no longer adds
# its minute at the end.
echo "== sanitizer build (address, undefined): integration (postgresql); the fuzz targets beside them $(date +%T)"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
in_background fuzz fuzz_all
fuzz_pid=$!
# The sanitizer tree may still be building (nice 19) when the browser phase
# ends early: wait for it rather than leave this phase out.  A failed build
# is counted by the sanitizer unit tests.
while [ ! -s "$work/san.rc" ] && kill -0 "$trees_pid" 2>/dev/null; do sleep 1; done
echo "the sanitizer tree was built at $(cat "$work/san.at" 2>/dev/null || echo '(not built)')"
if [ "$(cat "$work/san.rc" 2>/dev/null)" = 0 ]; then
	# Three at a time, the longest files first: the files wait on their
	# servers much of the time (251 s at two, 198 s at three when the suite
	# was smaller).  Not more: with 60 files (450 s at three) their
	# processes use about 0.56 s of CPU per second of a file's tests
	# (measured on nine of the longest: 2.4 times the development build's
	# CPU, and PostgreSQL's, a fifth of the whole), so three at a time keep
	# the two cores 80-85 % busy; the fuzz targets, at
	# nice 10, take the rest, and only the fuzz tree, at nice 19, may still
	# build behind them.
	export SLEUTEL_TEST_ENGINE=postgresql
	# shellcheck disable=SC2046
	SLEUTEL_BUILD="$ROOT/$SAN" run_node integration-asan-pg "${SAN_INTEGRATION_JOBS:-3}" $(integration_files)
	unset SLEUTEL_TEST_ENGINE
fi
echo "== fuzz targets, run beside them"
finish fuzz "$fuzz_pid"
# The sanitizer build's unit tests and its allocation-failure runs, started
# in phase 1 once that tree was built: at nice 10 they go on beside phase 3
# rather than hold its start (they ended 75 s after the browser files).
echo "== unit tests of the sanitizer build (address, undefined), run beside phases 2 and 3"
finish unit-asan "$unit_asan_pid"
wait "$trees_pid"

# The failed Node tests once more, each with its diagnostics (at most 40
# lines), right above the count: the end of the log is what a CI page
# shows first.
if [ "$failed" -gt 0 ]; then
	for tap in "$work"/*.tap; do
		[ -f "$tap" ] || continue
		awk -v label="$(basename "$tap" .tap)" '
			/^ *not ok / { n = 0; show = 1; print "== " label ": " $0; next }
			show && /^ *\.\.\.$/ { show = 0; next }
			show && n < 40 { print; n++ }' "$tap"
	done
fi

stop_pg
rm -rf "$work"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
