#!/bin/sh
# alloc-fail-check.sh SAN — the bounded part of `make alloc-faults` that
# `make check` runs (docs/faults.md, "Allocation failures"): on the
# sanitizer build SAN, every ALLOC_STRIDE-th (default 16) of the allocation
# paths the full sweep fails, from the ALLOC_OFFSET-th (default 1: the same
# runs every time; another offset covers others).  Each run of a test binary with an
# allocation failing is one test: the last line is
# "alloc-faults: N passed, N failed" (a finding is one failure; a sweep that
# dies before its summary, one failure).
set -u
cd "$(dirname "$0")/.."
SAN=${1:-build-asan}
stride=${ALLOC_STRIDE:-16}
offset=${ALLOC_OFFSET:-1}
out=$(mktemp /tmp/alloc-fail.XXXXXX)
python3 tests/alloc/sweep.py --build "$SAN" --stride "$stride" --offset "$offset" >"$out" 2>&1
rc=$?
summary=$(sed -n 's/^alloc-faults: \([0-9]*\) runs, \([0-9]*\) findings.*/\1 \2/p' "$out")
if [ "$rc" -ne 0 ] || [ -z "$summary" ]; then
	cat "$out"
else
	grep -v '^  ' "$out"
fi
rm -f "$out"
if [ -z "$summary" ]; then
	echo "alloc-faults: 0 passed, 1 failed"
	exit 1
fi
set -- $summary
echo "alloc-faults: $(($1 - $2)) passed, $2 failed (stride $stride, offset $offset)"
[ "$2" -eq 0 ]
