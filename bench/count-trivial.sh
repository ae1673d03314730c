#!/bin/sh
# count-trivial.sh BUILD N1 N2 — instructions per trivial login in sleuteld
# (callgrind, the key holder running natively), the difference between a
# run of N1 and one of N2 logins divided by N2 - N1, so that start-up and
# shutdown cancel out.  docs/performance.md, the fifth round.
#
# Under valgrind /proc/self/exe is valgrind's tool, so the key holder's exec
# needs bench/exeshim.c (execv("/proc/self/exe") -> SHIM_EXE), built here.
set -eu
b=$(realpath "${1:-build}"); n1=${2:-100}; n2=${3:-300}
d=$(mktemp -d /tmp/sleutel-count.XXXXXX)
cc -O2 -shared -fPIC -o "$d/exeshim.so" "$(dirname "$0")/exeshim.c" -ldl
total() {
	rm -f "$d"/cg.*
	SHIM_EXE="$b/sleuteld" LD_PRELOAD="$d/exeshim.so" SLEUTEL_BENCH_TRIVIAL=sleutel \
		SLEUTEL_BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=$d/cg.%p" \
		"$b/bench/bench_load" --build "$b" --scenario trivial --seconds 300 --workers 2 --max "$1" >"$d/out.$1" 2>&1
	grep -h '^totals:' "$d"/cg.* | awk '{s += $2} END {print s}'
}
t1=$(total "$n1"); t2=$(total "$n2")
echo "instructions per login: $(( (t2 - t1) / (n2 - n1) ))  (runs of $n1 and $n2: $t1, $t2; profiles in $d)"
