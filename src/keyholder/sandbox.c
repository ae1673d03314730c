/*
 * sandbox.c — what the key holder gives up once its channels are checked
 * and before it reads a key (all but the TLS keys, hold_tls.c):
 *
 *   - root: [server] keyholder_user's uid and gid (no supplementary
 *     groups), an account of its own that owns the key files, so that
 *     sleuteld, dropped to [server] user, cannot open them (keyfiles.c);
 *     without keyholder_user, [server] user's, as sleuteld (sleuteld warns
 *     that its account can then read the keys); root without either is
 *     warned about, not refused, so a container that runs everything as
 *     root still starts;
 *   - PR_SET_NO_NEW_PRIVS, and PR_SET_DUMPABLE 0: the HTTP process may run
 *     as the same user, and a dumpable key holder would let it (ptrace,
 *     /proc/PID/mem) read the keys this process exists to keep from it;
 *   - on Linux, a seccomp filter (plain BPF: no libseccomp dependency)
 *     that refuses with EPERM every syscall that makes or uses a network
 *     socket (socket, socketpair, connect, bind, listen, accept), exec
 *     and ptrace.  The channels are socketpairs made before; send and
 *     recv on them stay allowed.  A deny list rather than an allow list:
 *     OpenSSL's and libc's syscalls vary with versions, and what is
 *     refused is what would carry a key out.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#endif

#include "holder_int.h"
#include "../config/config.h"

int
keyholder_drop_user(const char *user, const char *who, struct sl_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return SL_OK;
	if (user == NULL || user[0] == '\0') {
		log_warn("%s runs as root: set [server] user to an unprivileged account", who);
		return SL_OK;
	}
	pw = getpwnam(user);
	if (pw == NULL)
		return sl_fail(err, SL_EINVAL, "%s: no such user %s", who, user);
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return sl_fail(err, SL_EIO, "cannot become %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		return sl_fail(err, SL_EIO, "could become root again after dropping to %s", user);
	return SL_OK;
}

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#if defined(__x86_64__)
#define KH_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define KH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* LeakSanitizer stops the process's threads with ptrace at exit: a
 * sanitizer build (tests only) keeps ptrace, or every exit is its fatal
 * error.  Not dumpable still keeps other processes from tracing this one. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_LEAK__)
#define KH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define KH_SANITIZED 1
#endif
#endif

static const int denied[] = {
	__NR_socket,
	__NR_socketpair,
	__NR_connect,
	__NR_bind,
	__NR_listen,
	__NR_accept4,
#ifdef __NR_accept
	__NR_accept,
#endif
	__NR_execve,
	__NR_execveat,
	__NR_process_vm_readv,
	__NR_process_vm_writev,
#ifndef KH_SANITIZED
	__NR_ptrace,
#endif
};
#define NDENIED (sizeof(denied) / sizeof(denied[0]))

static int
seccomp_install(struct sl_err *err)
{
	struct sock_filter f[5 + 2 * NDENIED];
	struct sock_fprog prog = { .len = (unsigned short)(sizeof(f) / sizeof(f[0])), .filter = f };
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, KH_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < NDENIED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return sl_fail(err, SL_EIO, "seccomp: %s", strerror(errno));
	return SL_OK;
}
#else
static int
seccomp_install(struct sl_err *err)
{
	(void)err;
	log_warn("key holder: no seccomp filter on this platform");
	return SL_OK;
}
#endif

int
keyholder_sandbox(const struct sl_config *conf, int nchan, struct sl_err *err)
{
	const char *user = conf->c_keyholder_user[0] != '\0' ? conf->c_keyholder_user : conf->c_user;

	(void)nchan;
	if (keyholder_drop_user(user, "the key holder", err) != SL_OK)
		return SL_EIO;
	/* A change of credentials clears the parent-death signal: set it
	 * again (a parent gone in between closed the channels: end of file). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		return sl_fail(err, SL_EIO, "prctl: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return sl_fail(err, SL_EIO, "prctl: %s", strerror(errno));
	return seccomp_install(err);
}
