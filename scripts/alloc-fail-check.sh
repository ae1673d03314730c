#!/bin/sh
# alloc-fail-check.sh SAN — the bounded part of `make alloc-faults` that
# `make check` runs (docs/faults.md, "Allocation failures"): on the
# sanitizer build SAN, the suites below (the quick ones, at least one per
# module: core, config, i18n, waiter, the store's engine and transactions,
# eID, the app key's device and request parts, Smart-ID, proofing), every
# ALLOC_STRIDE-th (default 16) of the allocation paths the full sweep
# fails, from the ALLOC_OFFSET-th (default 1: the same runs every time;
# another offset covers others), each failed by its call path (the Kth
# allocation of that path, the same allocation in every run); then each
# allocation of tests/alloc/regressions.txt (findings fixed).  Each run of a test binary with an
# allocation failing is one test: the last line is
# "alloc-faults: N passed, N failed" (a finding is one failure; a sweep that
# dies before its summary, one failure).
set -u
cd "$(dirname "$0")/.."
SAN=${1:-build-asan}
stride=${ALLOC_STRIDE:-16}
offset=${ALLOC_OFFSET:-1}
out=$(mktemp /tmp/alloc-fail.XXXXXX)
suites="core config i18n waiter sqlite_wal store_eid_return store_tx eid_identity app_proof app_devkeys
	app_request_qrtoken app_request_context sid_bind sidrp_parse sidproto proofing"
args=""
for s in $suites; do args="$args --suite $s"; done
# shellcheck disable=SC2086 # $args is words on purpose
python3 tests/alloc/sweep.py --build "$SAN" --stride "$stride" --offset "$offset" $args >"$out" 2>&1
rc=$?
if grep -q '^[^#]' tests/alloc/regressions.txt; then
	python3 tests/alloc/sweep.py --build "$SAN" --regressions tests/alloc/regressions.txt >"$out.reg" 2>&1 || rc=1
	cat "$out.reg" >>"$out"
	rm -f "$out.reg"
fi
# the runs and findings of both
summary=$(sed -n 's/^alloc-faults: \([0-9]*\) runs, \([0-9]*\) findings.*/\1 \2/p' "$out" |
	awk '{ r += $1; f += $2; n++ } END { if (n) print r, f }')
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
