#!/bin/sh
# test-env.sh [BUILD] — make a test CA once and print the exports the
# integration tests need:  eval "$(sh scripts/test-env.sh)"
set -eu
build=${1:-build}
dir=$(mktemp -d /tmp/sleutel-ca.XXXXXX)
"$build/sleutel" init "$dir/ca" >/dev/null 2>&1
echo "export SLEUTEL_TEST_CA=$dir/ca/tls NODE_EXTRA_CA_CERTS=$dir/ca/tls/ca.pem SLEUTEL_BUILD=$build"
