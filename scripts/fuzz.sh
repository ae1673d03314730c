#!/bin/sh
# fuzz.sh [--cpu SECONDS] [--nice] [--goal SECONDS] [TARGET...] — fuzz
# campaigns on the libFuzzer targets (fuzz/fuzz_*.c), their finds merged
# into the corpora kept in the repository, each run entered in the ledger.
#   make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS="jose form"]
#       each target for N seconds of wall time (default 60)
#   sh scripts/fuzz.sh --cpu 600 --nice --goal 3600
#       each target until its process has used 600 s of CPU (read from
#       /proc, so that a run at nice 19 on a busy machine gets its full
#       share of work), skipping targets whose ledger total has reached
#       --goal; at nice 19, it only takes CPU that nothing else wants
#   sh scripts/fuzz.sh --ledger
#       the CPU seconds and executions per target, summed over the ledger
# A run fuzzes into a fresh directory, reading the target's corpus as well;
# `-merge=1` then adds to fuzz/corpus/NAME only the inputs that reach new
# coverage (inputs up to FUZZ_MAX_LEN bytes, 4096 by default).  A corpus
# past FUZZ_CORPUS_KB (256 by default) takes nothing more: the script says
# so, and the corpus wants minimizing (docs/fuzzing.md).  A crash, leak or
# timeout fails the run: its input is kept in fuzz/artifacts/ (not
# committed; once fixed, it becomes a regression seed in the corpus).
# Environment: FUZZ_BUILD (build-fuzz), FUZZ_SECONDS, FUZZ_TARGETS.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${FUZZ_BUILD:-build-fuzz}
LEDGER=fuzz/campaign.tsv
MAX_LEN=${FUZZ_MAX_LEN:-4096}
CORPUS_KB=${FUZZ_CORPUS_KB:-256}
cpu=
goal=
nice=0
while [ $# -gt 0 ]; do
	case $1 in
	--cpu) cpu=$2; shift 2 ;;
	--goal) goal=$2; shift 2 ;;
	--nice) nice=19; shift ;;
	--ledger)
		awk -F '\t' 'NR > 1 { c[$1] += $2; e[$1] += $3; n[$1]++ }
			END { for (t in c) printf "%-28s %8.0f s CPU %12d executions %3d runs\n", t, c[t], e[t], n[t] }' \
			"$LEDGER" | sort
		exit 0 ;;
	-*) echo "usage: fuzz.sh [--cpu SECONDS] [--nice] [--goal SECONDS] [TARGET...] | --ledger" >&2; exit 2 ;;
	*) break ;;
	esac
done
# shellcheck disable=SC2086 # the names are words
[ $# -gt 0 ] || set -- ${FUZZ_TARGETS:-}
if [ $# -eq 0 ]; then
	for src in fuzz/fuzz_*.c; do
		n=$(basename "$src" .c)
		set -- "$@" "${n#fuzz_}"
	done
fi

# The fuzz tree: clang, libFuzzer, address and undefined sanitizers.
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Dtest_key=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Ddata_dir="$(pwd)/$BUILD/share" >/dev/null || exit 1
fi
# only the targets asked for (and the libraries they link), not the tests
bins=
for t in "$@"; do bins="$bins fuzz/fuzz_${t#fuzz_}"; done
# shellcheck disable=SC2086 # the names are words
nice -n "$nice" ninja -C "$BUILD" $bins >"${TMPDIR:-/tmp}/sleutel-fuzz-build.log" 2>&1 ||
	{ tail -n 40 "${TMPDIR:-/tmp}/sleutel-fuzz-build.log"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
[ -f "$LEDGER" ] || printf 'target\tcpu_seconds\texecutions\tdate\tcommit\tresult\n' >"$LEDGER"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
work=$(mktemp -d /tmp/sleutel-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
failed=0

spent() { awk -F '\t' -v t="$1" '$1 == t { s += $2 } END { printf "%d", s }' "$LEDGER"; }

# cpu_of PID: user + system seconds the process has used (/proc/PID/stat
# fields 14 and 15, after the command name, which may hold spaces).
cpu_of() {
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($12 + $13) / hz }'
}

for t in "$@"; do
	t=${t#fuzz_}
	bin=$BUILD/fuzz/fuzz_$t
	corpus=fuzz/corpus/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: no such target ($bin)"
		failed=1
		continue
	fi
	budget=$cpu
	if [ -n "$goal" ]; then
		left=$((goal - $(spent "$t")))
		if [ "$left" -le 0 ]; then
			echo "fuzz $t: its $goal s of CPU are spent (ledger)"
			continue
		fi
		[ -z "$budget" ] || [ "$left" -lt "$budget" ] && budget=$left
	fi
	mkdir -p "$corpus" fuzz/artifacts "$work/$t"
	# a CPU budget stops the run (SIGINT); else the wall time does
	# (a wall-time backstop of 50 times the budget, should the watch fail)
	if [ -n "$budget" ]; then mtt=$((budget * 50)); else mtt=${FUZZ_SECONDS:-60}; fi
	# The wrapper shell reports its children's CPU from /proc once the
	# fuzzer has exited (cutime, cstime: exact, whatever the niceness).
	# shellcheck disable=SC2016 # expanded by the wrapper
	nice -n "$nice" sh -c '"$@"; rc=$?; sed "s/^.*) //" /proc/$$/stat >"$0.stat"; exit $rc' "$work/$t" \
		"$bin" -max_total_time="$mtt" -max_len="$MAX_LEN" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t-" \
		"$work/$t" "$corpus" >"$work/$t.log" 2>&1 &
	wrapper=$!
	if [ -n "$budget" ]; then
		# the fuzzer is the wrapper's only child (at nice 19 on a busy
		# machine it may take a while to appear)
		fz=
		while [ -z "$fz" ] && kill -0 "$wrapper" 2>/dev/null; do
			sleep 1
			fz=$(pgrep -P "$wrapper" | head -n 1)
		done
		while [ -n "$fz" ] && kill -0 "$fz" 2>/dev/null; do
			[ "$(cpu_of "$fz")" -ge "$budget" ] && kill -INT "$fz"
			sleep 2
		done
	fi
	wait "$wrapper"
	rc=$?
	secs=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) / hz }' "$work/$t.stat" 2>/dev/null)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$work/$t.log" | tail -n 1)
	# 72: libFuzzer's exit on SIGINT, the CPU budget's end
	if [ "$rc" -eq 0 ] || { [ -n "$budget" ] && [ "$rc" -eq 72 ]; }; then
		result=ok
	else
		result=crash
		failed=1
		tail -n 40 "$work/$t.log"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${secs:-0}" "${execs:-0}" "$(date -u +%Y-%m-%dT%H:%MZ)" "$commit" \
		"$result" >>"$LEDGER"
	before=$(find "$corpus" -type f | wc -l)
	if [ "$(du -sk --apparent-size "$corpus" | cut -f1)" -ge "$CORPUS_KB" ]; then
		echo "fuzz $t: $corpus is over $CORPUS_KB KB; nothing merged (minimize it: docs/fuzzing.md)"
	else
		nice -n "$nice" "$bin" -merge=1 -max_len="$MAX_LEN" -timeout=25 -rss_limit_mb=2048 "$corpus" "$work/$t" \
			>"$work/$t.merge.log" 2>&1 || { tail -n 20 "$work/$t.merge.log"; failed=1; }
	fi
	echo "fuzz $t: $result, ${secs:-0} s CPU, ${execs:-0} executions," \
		"$(($(find "$corpus" -type f | wc -l) - before)) inputs added ($(du -sk --apparent-size "$corpus" | cut -f1) KB)"
	rm -rf "${work:?}/$t"
done
exit "$failed"
