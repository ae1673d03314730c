#!/bin/sh
# deps.sh — install what building and testing sleutel needs on Debian 12.
# As root: apt-get installs the missing packages. Otherwise: prints the exact
# command to run and fails. Then installs the pinned npm test packages.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="gcc make meson ninja-build pkg-config libssl-dev libmicrohttpd-dev libcjose-dev
libjansson-dev libsqlite3-dev libinih-dev libqrencode-dev libcurl4-openssl-dev libcmocka-dev gettext sqlite3
openssl curl jq ca-certificates chromium clang libclang-rt-14-dev libgnutls28-dev
softhsm2 opensc libengine-pkcs11-openssl libnss3-tools poppler-utils postgresql libpq-dev groff-base systemd"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# Node.js may come from Debian (nodejs + npm) or from NodeSource (nodejs with
# npm inside, which conflicts with Debian's npm): ask for what is absent.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $missing
	else
		echo "deps: these Debian packages are missing. Run as root:" >&2
		echo "  apt-get update && apt-get install -y$missing" >&2
		exit 1
	fi
fi

# Node.js test packages, pinned by tests/package-lock.json.
if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
	(cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi
