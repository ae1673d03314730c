#!/bin/sh
# pg-test-server.sh start DIR | stop DIR — a throwaway PostgreSQL server for
# the tests: initdb into DIR, listening on 127.0.0.1 only (its socket in DIR)
# on a free port.  `start` prints the admin conninfo on stdout; `stop` stops
# the server by the PID it wrote and removes DIR.
#
# initdb refuses to run as root: as root the cluster belongs to Debian's
# `postgres` user.  Durability is traded for speed (fsync, full-page writes
# and synchronous commit off: no session waits for its WAL to be written):
# the data dies with the tests.
set -eu
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR | stop DIR" >&2; exit 2; }

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
fi
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || { echo "pg-test-server: no initdb (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$dir"
		runuser -u postgres -- test -w "$dir" ||
			{ echo "pg-test-server: user postgres cannot reach $dir (a parent is private)" >&2; exit 1; }
	fi
	as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
	# A free port: ask the kernel for one, then let postgres take it; on a
	# race with another process, try another.
	for try in 1 2 3 4 5; do
		port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
		if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
			"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir' -c fsync=off \
-c full_page_writes=off -c synchronous_commit=off -c max_connections=400 -c shared_buffers=64MB" >/dev/null 2>&1; then
			head -n 1 "$dir/data/postmaster.pid" >"$dir/pid"
			# Loopback only: no TLS or GSSAPI to negotiate.
			echo "host=127.0.0.1 port=$port user=postgres sslmode=disable gssencmode=disable dbname=postgres"
			exit 0
		fi
		echo "pg-test-server: start on port $port failed (try $try)" >&2
		tail -n 5 "$dir/server.log" >&2 || true
	done
	exit 1
	;;
stop)
	[ -f "$dir/pid" ] || { rm -rf "$dir"; exit 0; }
	pid=$(cat "$dir/pid")
	# SIGINT: the fast shutdown (running sessions are ended).
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR | stop DIR" >&2
	exit 2
	;;
esac
