/*
 * client.c — sleuteld's side of the key holder: starting it, and one
 * round trip at a time per channel.
 *
 * The key holder answers one request at a time, so what the channels buy
 * is a queue: a thread that finds every channel busy waits on its own
 * channel's mutex instead of one global one, and the key holder finds the
 * next request already in a socket when it finishes one.  (Measured in
 * docs/security.md: N = 1 against N = KH_CHANNELS_DEFAULT.)
 *
 * A request that is not answered within KH_TIMEOUT_MS fails with SL_EBUSY;
 * its late answer, if one comes, carries an older sequence number and is
 * dropped by the next round trip on that channel.  End of file on a
 * channel means the key holder is gone: every later call fails at once
 * (sleuteld's main loop sees SIGCHLD and stops).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "keyholder.h"

struct kh_chan {
	int kc_fd;
	pthread_mutex_t kc_lock;
	uint32_t kc_seq;
	uint8_t kc_buf[KH_MSG_MAX];
};

struct keyholder {
	pid_t kh_pid;
	int kh_nchan;
	atomic_uint kh_next;
	atomic_bool kh_gone;
	atomic_bool kh_reaped;
	struct kh_chan kh_chan[];
};

pid_t
keyholder_pid(const struct keyholder *kh)
{
	return kh->kh_pid;
}

bool
keyholder_gone(struct keyholder *kh)
{
	return atomic_load(&kh->kh_gone);
}

bool
keyholder_reap(struct keyholder *kh)
{
	int st;

	if (kh == NULL || atomic_load(&kh->kh_reaped))
		return kh != NULL;
	if (waitpid(kh->kh_pid, &st, WNOHANG) != kh->kh_pid)
		return false;
	atomic_store(&kh->kh_reaped, true);
	atomic_store(&kh->kh_gone, true);
	if (WIFSIGNALED(st))
		log_error("the key holder (pid %d) was killed by signal %d", (int)kh->kh_pid, WTERMSIG(st));
	else
		log_error("the key holder (pid %d) exited with %d", (int)kh->kh_pid, WEXITSTATUS(st));
	return true;
}

/* In the child between fork and exec: only async-signal-safe calls.  The
 * child's ends move to KH_FIRST_FD.. (through fds above every one in use,
 * so no dup2 clobbers an end not yet moved); everything else is CLOEXEC. */
static void
child_exec(const char *exe, char *const argv[], const int *ends, int n, pid_t parent)
{
	int high[KH_CHANNELS_MAX];
	sigset_t all;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int i = 0; i < n; i++) {
		high[i] = fcntl(ends[i], F_DUPFD_CLOEXEC, KH_FIRST_FD + KH_CHANNELS_MAX);
		if (high[i] < 0)
			_exit(1);
	}
	for (int i = 0; i < n; i++)
		if (dup2(high[i], KH_FIRST_FD + i) < 0)
			_exit(1);
	execv(exe, argv);
	_exit(127);
}

static void
kh_free(struct keyholder *kh)
{
	for (int i = 0; i < kh->kh_nchan; i++) {
		if (kh->kh_chan[i].kc_fd >= 0)
			close(kh->kh_chan[i].kc_fd);
		pthread_mutex_destroy(&kh->kh_chan[i].kc_lock);
	}
	free(kh);
}

struct keyholder *
keyholder_start(const char *exe, const char *config_path, int nchan, struct sl_err *err)
{
	struct keyholder *kh;
	int ends[KH_CHANNELS_MAX], sv[2];
	char nbuf[16];
	char *argv[] = { "sleuteld", "--keyholder", nbuf, "--config", (char *)config_path, NULL };
	const struct timeval rcv_timeout = { KH_TIMEOUT_MS / 1000, (KH_TIMEOUT_MS % 1000) * 1000 };
	pid_t parent = getpid();

	if (nchan < 1 || nchan > KH_CHANNELS_MAX)
		return sl_fail(err, SL_EINVAL, "key holder channels must be 1..%d", KH_CHANNELS_MAX), NULL;
	for (int i = 0; i < KH_CHANNELS_MAX; i++)
		ends[i] = -1;
	kh = calloc(1, sizeof(*kh) + (size_t)nchan * sizeof(struct kh_chan));
	if (kh == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	snprintf(nbuf, sizeof(nbuf), "%d", nchan);
	for (int i = 0; i < nchan; i++) {
		pthread_mutex_init(&kh->kh_chan[i].kc_lock, NULL);
		kh->kh_chan[i].kc_fd = -1;
		kh->kh_nchan = i + 1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
			sl_fail(err, SL_EIO, "key holder socketpair: %s", strerror(errno));
			goto fail;
		}
		kh->kh_chan[i].kc_fd = sv[0];
		ends[i] = sv[1];
		if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout, sizeof(rcv_timeout)) != 0) {
			sl_fail(err, SL_EIO, "key holder channel timeout: %s", strerror(errno));
			goto fail;
		}
	}
	kh->kh_pid = fork();
	if (kh->kh_pid < 0) {
		sl_fail(err, SL_EIO, "cannot start the key holder: %s", strerror(errno));
		goto fail;
	}
	if (kh->kh_pid == 0)
		child_exec(exe, argv, ends, nchan, parent);
	for (int i = 0; i < nchan; i++)
		close(ends[i]);
	return kh;
fail:
	for (int i = 0; i < nchan; i++)
		if (ends[i] >= 0)
			close(ends[i]);
	kh_free(kh);
	return NULL;
}

static struct kh_chan *
chan_take(struct keyholder *kh)
{
	unsigned start = atomic_fetch_add_explicit(&kh->kh_next, 1, memory_order_relaxed);

	for (int k = 0; k < kh->kh_nchan; k++) {
		struct kh_chan *c = &kh->kh_chan[(start + (unsigned)k) % (unsigned)kh->kh_nchan];
		if (pthread_mutex_trylock(&c->kc_lock) == 0)
			return c;
	}
	pthread_mutex_lock(&kh->kh_chan[start % (unsigned)kh->kh_nchan].kc_lock);
	return &kh->kh_chan[start % (unsigned)kh->kh_nchan];
}

static int
gone(struct keyholder *kh, struct sl_err *err)
{
	if (!atomic_exchange(&kh->kh_gone, true))
		log_error("the key holder closed its channel");
	return sl_fail(err, SL_EBUSY, "the key holder is not running");
}

/* Making keys takes seconds; everything else milliseconds. */
static int
op_timeout_ms(uint16_t op)
{
	return op == KH_OP_SK_KEYGEN || op == KH_OP_PKI_SMARTID_CA ? KH_KEYGEN_TIMEOUT_MS : KH_TIMEOUT_MS;
}

static int
no_answer(uint16_t op, struct sl_err *err)
{
	int ms = op_timeout_ms(op);

	log_error("the key holder did not answer within %d ms", ms);
	return sl_fail(err, SL_EBUSY, "the key holder did not answer within %d ms", ms);
}

/* The answer to sequence number `seq` on c, within the deadline.  The
 * first wait of a KH_TIMEOUT_MS op is the blocking recv itself, bounded by
 * the channel's SO_RCVTIMEO of KH_TIMEOUT_MS (keyholder_start): one system
 * call fewer per signature than poll first.  Later waits (after a late
 * answer or a signal) and the long ops poll for what is left. */
static int
chan_answer(struct keyholder *kh, struct kh_chan *c, uint16_t op, int64_t deadline, struct kh_hdr *h,
	const uint8_t **payload, struct sl_err *err)
{
	bool blocking = op_timeout_ms(op) == KH_TIMEOUT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = c->kc_fd, .events = POLLIN };
		int64_t left = deadline - sl_monotonic_ms();
		ssize_t n;

		if (!blocking && (left <= 0 || poll(&pfd, 1, (int)left) == 0))
			return no_answer(op, err);
		n = recv(c->kc_fd, c->kc_buf, KH_MSG_MAX, MSG_TRUNC);
		if (blocking && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return no_answer(op, err);
		blocking = false;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return gone(kh, err);
		if (kh_msg_parse(c->kc_buf, (size_t)n, true, h, payload, err) != SL_OK)
			return SL_EINVAL;
		if (h->kh_seq != c->kc_seq)
			continue; /* a late answer to a request that timed out */
		if (h->kh_op != op)
			return sl_fail(err, SL_EINVAL, "the key holder answered op %u to op %u", h->kh_op, op);
		return SL_OK;
	}
}

static int
chan_call(struct keyholder *kh, struct kh_chan *c, uint16_t op, const char *kid, const void *req, size_t reqlen,
	uint8_t **resp, size_t *resplen, struct sl_err *err)
{
	struct kh_hdr h = { 0 };
	const uint8_t *payload = NULL;
	size_t len = kh_msg_build(c->kc_buf, op, 0, ++c->kc_seq, kid, req, reqlen);
	int rc;

	if (len == 0)
		return sl_fail(err, SL_EINVAL, "key holder request out of bounds");
	if (send(c->kc_fd, c->kc_buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		return gone(kh, err);
	OPENSSL_cleanse(c->kc_buf, len);
	rc = chan_answer(kh, c, op, sl_monotonic_ms() + op_timeout_ms(op), &h, &payload, err);
	if (rc != SL_OK)
		return rc;
	if (h.kh_status != 0) {
		size_t mlen = h.kh_len < KH_ERRMSG_MAX ? h.kh_len : KH_ERRMSG_MAX;
		return sl_fail(err, h.kh_status, "key holder: %.*s", (int)mlen, (const char *)payload);
	}
	if (h.kh_len > 0) {
		*resp = malloc(h.kh_len);
		if (*resp == NULL)
			return sl_fail(err, SL_ENOMEM, "out of memory");
		memcpy(*resp, payload, h.kh_len);
		OPENSSL_cleanse((void *)payload, h.kh_len);
	}
	*resplen = h.kh_len;
	return SL_OK;
}

int
keyholder_call(struct keyholder *kh, uint16_t op, const char *kid, const void *req, size_t reqlen, uint8_t **resp,
	size_t *resplen, struct sl_err *err)
{
	struct kh_chan *c;
	int rc;

	*resp = NULL;
	*resplen = 0;
	if (kh == NULL || atomic_load(&kh->kh_gone))
		return sl_fail(err, SL_EBUSY, "the key holder is not running");
	c = chan_take(kh);
	rc = chan_call(kh, c, op, kid, req, reqlen, resp, resplen, err);
	pthread_mutex_unlock(&c->kc_lock);
	return rc;
}

int
keyholder_pki_sign(void *kh, const char *base, int kind, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *siglen,
	struct sl_err *err)
{
	uint8_t *req;
	int rc;

	*sig = NULL;
	*siglen = 0;
	if (kind < KH_PKI_CERT || kind > KH_PKI_OCSP || len == 0 || len >= KH_PAYLOAD_MAX)
		return sl_fail(err, SL_ETOOBIG, "%zu bytes to sign: more than a key holder request holds", len);
	if ((req = malloc(len + 1)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	req[0] = (uint8_t)kind;
	memcpy(req + 1, tbs, len);
	rc = keyholder_call(kh, KH_OP_PKI_SIGN, base, req, len + 1, sig, siglen, err);
	free(req);
	return rc;
}

int
keyholder_pki_smartid_ca(void *kh, struct sl_err *err)
{
	uint8_t *resp = NULL;
	size_t len = 0;
	int rc = keyholder_call(kh, KH_OP_PKI_SMARTID_CA, NULL, NULL, 0, &resp, &len, err);

	free(resp);
	return rc;
}

int
keyholder_tls_sign(void *kh, const char *name, unsigned algo, const uint8_t *input, size_t len, uint8_t **sig,
	size_t *siglen, struct sl_err *err)
{
	uint8_t req[2 + KH_TLS_INPUT_MAX];

	*sig = NULL;
	*siglen = 0;
	if (len == 0 || len > KH_TLS_INPUT_MAX || algo > 0xffff)
		return sl_fail(err, SL_EINVAL, "a TLS signature over %zu bytes (algorithm %u)", len, algo);
	req[0] = (uint8_t)(algo >> 8);
	req[1] = (uint8_t)algo;
	memcpy(req + 2, input, len);
	return keyholder_call(kh, KH_OP_TLS_SIGN, name, req, len + 2, sig, siglen, err);
}

#define KH_STOP_WAIT_MS 2000

void
keyholder_stop(struct keyholder *kh)
{
	int64_t deadline;

	if (kh == NULL)
		return;
	for (int i = 0; i < kh->kh_nchan; i++) {
		close(kh->kh_chan[i].kc_fd);
		kh->kh_chan[i].kc_fd = -1;
	}
	deadline = sl_monotonic_ms() + KH_STOP_WAIT_MS;
	while (!atomic_load(&kh->kh_reaped) && sl_monotonic_ms() < deadline) {
		int st;
		if (waitpid(kh->kh_pid, &st, WNOHANG) == kh->kh_pid)
			atomic_store(&kh->kh_reaped, true);
		else
			usleep(5000);
	}
	if (!atomic_load(&kh->kh_reaped)) {
		kill(kh->kh_pid, SIGKILL);
		waitpid(kh->kh_pid, NULL, 0);
	}
	kh_free(kh);
}
