#!/bin/sh
# count-syscalls.sh BUILD N1 N2 — system calls per trivial login in sleuteld
# and its key holder (perf stat, tracepoints, no hardware counters needed),
# the difference between a run of N1 and one of N2 logins divided by
# N2 - N1, so that start-up and shutdown cancel out.  Two workers, as
# count-trivial.sh: with more, how many commits share a sync moves the
# futex, epoll_wait and fdatasync counts.  docs/performance.md, the sixth
# round.
set -eu
b=$(realpath "${1:-build}"); n1=${2:-300}; n2=${3:-900}
d=$(mktemp -d /tmp/sleutel-count.XXXXXX)
ev=raw_syscalls:sys_enter,page-faults,syscalls:sys_enter_madvise,syscalls:sys_enter_munmap,syscalls:sys_enter_mmap,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_setsockopt,syscalls:sys_enter_getsockopt,syscalls:sys_enter_clock_gettime,syscalls:sys_enter_close,syscalls:sys_enter_lseek,syscalls:sys_enter_newfstat,syscalls:sys_enter_getpid,syscalls:sys_enter_fcntl,syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64
ev=$ev,syscalls:sys_enter_fdatasync,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait
ev=$ev,syscalls:sys_enter_poll,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvmsg
# perf outlives the bench's SIGTERM to the server's process group.
cat >"$d/wrap.sh" <<EOF
#!/bin/sh
out=\$1; shift; trap '' TERM
exec perf stat -x, -e $ev -o "\$out" -- "\$@"
EOF
chmod +x "$d/wrap.sh"
run() {
	SLEUTEL_BENCH_TRIVIAL=sleutel SLEUTEL_BENCH_WRAP="$d/wrap.sh $d/perf.$1" \
		"$b/bench/bench_load" --build "$b" --scenario trivial --seconds 300 --workers 2 --max "$1" >"$d/out.$1" 2>&1
}
run "$n1"; run "$n2"
echo "per login (runs of $n1 and $n2 logins; $d):"
awk -F, -v n1="$n1" -v n2="$n2" '
	FNR == 1 { f++ }
	/sys_enter|page-faults/ { name = $3; sub(/.*sys_enter_?/, "", name); if (name == "") name = "all"; v[f, name] = $1; names[name] = 1 }
	END { for (k in names) printf "  %-12s %8.2f\n", k, (v[2, k] - v[1, k]) / (n2 - n1) }' "$d/perf.$n1" "$d/perf.$n2" | sort
