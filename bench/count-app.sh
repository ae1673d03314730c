#!/bin/sh
# count-app.sh BUILD N1 N2 [--proxy] — instructions per app login (browser
# + phone + token) in sleuteld (callgrind, the key holder running
# natively), the difference between a run of N1 and one of N2 logins
# divided by N2 - N1, so that start-up, the phones' enrolment and shutdown
# cancel out.  Model: bench/count-trivial.sh; docs/performance.md, "app
# login, sixth round".  The profiles stay in the printed directory:
#   callgrind_annotate --inclusive=yes DIR/cg.PID | head -60
set -eu
b=$(realpath "${1:-build}"); n1=${2:-50}; n2=${3:-150}; extra=${4:-}
d=$(mktemp -d /tmp/sleutel-countapp.XXXXXX)
cc -O2 -shared -fPIC -o "$d/exeshim.so" "$(dirname "$0")/exeshim.c" -ldl
total() {
	mkdir -p "$d/$1"
	# shellcheck disable=SC2086 # $extra is one optional flag
	SHIM_EXE="$b/sleuteld" LD_PRELOAD="$d/exeshim.so" \
		SLEUTEL_BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=$d/$1/cg.%p" \
		"$b/bench/bench_load" --build "$b" --scenario app --seconds 600 --workers 2 --max "$1" $extra \
		>"$d/out.$1" 2>&1
	grep -h '^totals:' "$d/$1"/cg.* | awk '{s += $2} END {print s}'
}
t1=$(total "$n1"); t2=$(total "$n2")
echo "instructions per app login: $(( (t2 - t1) / (n2 - n1) ))  (runs of $n1 and $n2: $t1, $t2; profiles in $d/$n1, $d/$n2)"
