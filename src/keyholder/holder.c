/*
 * holder.c — the key holder process: checks what it was given, restricts
 * itself, then answers requests until sleuteld goes.
 *
 * It is single-threaded: poll() over its channels, one request at a time,
 * each answered on the channel it came from.  The one request that takes
 * seconds, a split-key server key's generation (KH_OP_SK_KEYGEN), runs in
 * a child process of its own (fork: the same sandbox, keys and channels)
 * that answers on the request's channel and exits, so that ID-token
 * signatures do not wait behind it; at most [smartid] keygen_max at once
 * (one more is answered SL_EBUSY; and one per channel), and the parent
 * reads no further request from that channel until the child is gone.  A request that does not
 * parse is answered with SL_EINVAL and nothing else happens; an answer
 * that cannot be sent (the parent closed) ends the process.  The keys it
 * holds (hold_jws.c, hold_seal.c, hold_sk.c, hold_pki.c, hold_tls.c) are freed and cleansed at exit.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "holder_int.h"
#include "../config/config.h"

/* Answer `h`'s request on fd with status and payload (or an error text). */
static int
answer(int fd, uint8_t *buf, const struct kh_hdr *h, int status, const uint8_t *out, size_t outlen,
	const struct sl_err *err)
{
	size_t n;

	if (status != SL_OK) {
		const char *msg = err->msg[0] ? err->msg : sl_strerror(status);
		n = kh_msg_build(buf, h->kh_op, (int16_t)status, h->kh_seq, NULL, msg, strnlen(msg, KH_ERRMSG_MAX));
	} else {
		n = kh_msg_build(buf, h->kh_op, 0, h->kh_seq, NULL, out, outlen);
	}
	if (n == 0)
		n = kh_msg_build(buf, h->kh_op, SL_ERR, h->kh_seq, NULL, "answer too large", 16);
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? SL_OK : SL_EIO;
}

int
holder_handle(struct holder *ho, const uint8_t *msg, size_t n, uint8_t *out, size_t *outlen, struct kh_hdr *h,
	struct sl_err *err)
{
	const uint8_t *p;

	*outlen = 0;
	memset(h, 0, sizeof(*h));
	if (kh_msg_parse(msg, n, false, h, &p, err) != SL_OK) {
		/* Answer as op PING when the op itself is unknown, so the
		 * sender still sees its sequence number refused. */
		if (h->kh_op < 1 || h->kh_op > KH_OP_MAX)
			h->kh_op = KH_OP_PING;
		return SL_EINVAL;
	}
	switch (h->kh_op) {
	case KH_OP_PING:
		memcpy(out, p, h->kh_len);
		*outlen = h->kh_len;
		return SL_OK;
	case KH_OP_JWS_SET: return hold_jws_set(ho, p, h->kh_len, out, outlen, err);
	case KH_OP_JWS_SIGN: return hold_jws_sign(ho, h->kh_kid, p, h->kh_len, out, outlen, err);
	case KH_OP_SEAL_KEYS: return hold_seal_keys(ho, out, outlen, err);
	case KH_OP_UNSEAL: return hold_unseal(ho, h->kh_kid, p, h->kh_len, out, outlen, err);
	case KH_OP_SK_SHARE: return hold_sk_share(ho, h->kh_kid, p, h->kh_len, out, outlen, err);
	case KH_OP_SK_KEYGEN: return hold_sk_keygen(ho, p, h->kh_len, out, outlen, err);
	case KH_OP_SK_OPEN: return hold_sk_open(ho, p, h->kh_len, out, outlen, err);
	case KH_OP_SK_COMPLETE: return hold_sk_complete(ho, p, h->kh_len, out, outlen, err);
	case KH_OP_SK_RESEAL: return hold_sk_reseal(ho, p, h->kh_len, out, outlen, err);
	case KH_OP_PKI_SIGN: return hold_pki_sign(ho, h->kh_kid, p, h->kh_len, out, outlen, err);
	case KH_OP_PKI_SMARTID_CA:
		if (h->kh_len != 0 || h->kh_kid[0] != '\0')
			return sl_fail(err, SL_EINVAL, "making the Smart-ID CA takes no key id and no payload");
		return hold_pki_smartid_ca(ho, err);
	case KH_OP_TLS_SIGN: return hold_tls_sign(ho, h->kh_kid, p, h->kh_len, out, outlen, err);
	default: return sl_fail(err, SL_EINVAL, "unknown op");
	}
}

/* The key generations running in children: the child's pid per channel
 * (0: none). */
struct keygens {
	pid_t kg_pid[KH_CHANNELS_MAX];
	int kg_n;
};

/* Reap the children that are done; their channels are read again. */
static void
keygens_reap(struct keygens *kg)
{
	for (int i = 0; i < KH_CHANNELS_MAX; i++)
		if (kg->kg_pid[i] > 0 && waitpid(kg->kg_pid[i], NULL, WNOHANG) == kg->kg_pid[i]) {
			kg->kg_pid[i] = 0;
			kg->kg_n--;
		}
}

static bool
is_keygen(const uint8_t *in, size_t n)
{
	struct kh_hdr h;

	if (n < sizeof(h))
		return false;
	memcpy(&h, in, sizeof(h));
	return h.kh_op == KH_OP_SK_KEYGEN;
}

/* Handle the keygen request in a child: true when the child took it (or
 * the answer was SL_EBUSY); false to handle it here (fork failed). */
static bool
keygen_fork(struct keygens *kg, int chan, int fd, uint8_t *in, size_t n, uint8_t *out, struct holder *ho)
{
	struct sl_err err = { 0 };
	struct kh_hdr h;
	size_t outlen = 0;
	pid_t pid;
	int rc;

	/* A child answers, then exits: the request that follows its answer
	 * (the second key of a registration) may come before its exit.  At
	 * the bound, give the children that are done a moment to be gone. */
	keygens_reap(kg);
	for (int i = 0; kg->kg_n >= ho->ho_conf->c_sid_keygen_max && i < KH_KEYGEN_EXIT_WAIT_MS; i++) {
		usleep(1000);
		keygens_reap(kg);
	}
	if (kg->kg_n >= ho->ho_conf->c_sid_keygen_max) {
		memset(&h, 0, sizeof(h));
		memcpy(&h, in, sizeof(h));
		sl_fail(&err, SL_EBUSY, "%d server keys are being made", kg->kg_n);
		answer(fd, out, &h, SL_EBUSY, NULL, 0, &err);
		return true;
	}
	if ((pid = fork()) < 0)
		return false;
	if (pid > 0) {
		kg->kg_pid[chan] = pid;
		kg->kg_n++;
		return true;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rc = holder_handle(ho, in, n, out + KH_MSG_MAX, &outlen, &h, &err);
	answer(fd, out, &h, rc, out + KH_MSG_MAX, outlen, &err);
	OPENSSL_cleanse(out, 2 * KH_MSG_MAX);
	OPENSSL_cleanse(in, n);
	_exit(0);
}

/* One request from channel `chan` (fd); SL_EIO when the parent is gone. */
static int
serve_one(struct holder *ho, struct keygens *kg, int chan, int fd, uint8_t *in, uint8_t *out)
{
	struct sl_err err = { 0 };
	struct kh_hdr h;
	size_t outlen = 0;
	ssize_t n = recv(fd, in, KH_MSG_MAX, MSG_TRUNC);
	int rc;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return SL_OK;
	if (n <= 0)
		return SL_EIO;
	if (n <= (ssize_t)KH_MSG_MAX && is_keygen(in, (size_t)n) && keygen_fork(kg, chan, fd, in, (size_t)n, out, ho)) {
		OPENSSL_cleanse(in, (size_t)n);
		return SL_OK;
	}
	rc = holder_handle(ho, in, (size_t)n, out + KH_MSG_MAX, &outlen, &h, &err);
	/* Wipe what this request used (plaintexts pass through here), not
	 * the whole buffers: this runs for every signature. */
	OPENSSL_cleanse(in, (size_t)n < KH_MSG_MAX ? (size_t)n : KH_MSG_MAX);
	rc = answer(fd, out, &h, rc, out + KH_MSG_MAX, outlen, &err);
	OPENSSL_cleanse(out, sizeof(struct kh_hdr) + outlen);
	OPENSSL_cleanse(out + KH_MSG_MAX, outlen);
	return rc;
}

static int
serve(struct holder *ho, int nchan)
{
	struct pollfd pfd[KH_CHANNELS_MAX];
	struct keygens kg = { .kg_n = 0 };
	uint8_t *in = malloc(KH_MSG_MAX), *out = malloc(2 * KH_MSG_MAX);
	int rc = SL_OK;

	if (in == NULL || out == NULL)
		rc = SL_ENOMEM;
	while (rc == SL_OK) {
		/* A channel whose keygen child still works is not read: its
		 * answer is the child's to give.  With children running, wake
		 * now and then to reap them. */
		keygens_reap(&kg);
		for (int i = 0; i < nchan; i++)
			pfd[i] = (struct pollfd){ .fd = kg.kg_pid[i] > 0 ? -1 : KH_FIRST_FD + i, .events = POLLIN };
		if (poll(pfd, (nfds_t)nchan, kg.kg_n > 0 ? KH_KEYGEN_REAP_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = SL_EIO;
			break;
		}
		for (int i = 0; i < nchan && rc == SL_OK; i++) {
			if (pfd[i].revents & POLLIN)
				rc = serve_one(ho, &kg, i, pfd[i].fd, in, out);
			else if (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL))
				rc = SL_EIO;
		}
	}
	for (int i = 0; i < KH_CHANNELS_MAX; i++)
		if (kg.kg_pid[i] > 0) {
			kill(kg.kg_pid[i], SIGKILL);
			waitpid(kg.kg_pid[i], NULL, 0);
		}
	free(in);
	free(out);
	return rc == SL_EIO ? SL_OK : rc; /* end of file: sleuteld is gone or done */
}

/* fds KH_FIRST_FD.. must be our SEQPACKET channels. */
static int
channels_check(int nchan)
{
	for (int i = 0; i < nchan; i++) {
		int type = 0;
		socklen_t len = sizeof(type);
		if (getsockopt(KH_FIRST_FD + i, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
			return SL_EINVAL;
	}
	return SL_OK;
}

int
keyholder_main(int argc, char **argv)
{
	struct holder ho;
	struct sl_err err = { 0 };
	int nchan, rc;

	if (argc != 5 || strcmp(argv[1], "--keyholder") != 0 || strcmp(argv[3], "--config") != 0) {
		fprintf(stderr, "sleuteld --keyholder is started by sleuteld itself\n");
		return 2;
	}
	nchan = atoi(argv[2]);
	if (nchan < 1 || nchan > KH_CHANNELS_MAX || channels_check(nchan) != SL_OK) {
		fprintf(stderr, "sleuteld --keyholder: no channels from sleuteld\n");
		return 2;
	}
	/* Nothing but stdio and the channels: a descriptor sleuteld's own
	 * parent left open without close-on-exec is not ours to hold. */
	closefrom(KH_FIRST_FD + nchan);
	/* sleuteld stops us by closing the channels after its own graceful
	 * stop; a signal meant for the whole group must not come first. */
	umask(077);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&ho, 0, sizeof(ho));
	ho.ho_conf = config_load(argv[4], &err);
	if (ho.ho_conf == NULL) {
		fprintf(stderr, "sleuteld key holder: %s\n", err.msg);
		return 1;
	}
	sl_log_set_level(ho.ho_conf->c_log_level);
	/* The TLS keys first, with the privileges sleuteld had when it read
	 * them itself (hold_tls.c); every other key after the sandbox. */
	hold_tls_load(&ho);
	rc = keyholder_sandbox(ho.ho_conf, nchan, &err);
	if (rc == SL_OK)
		rc = serve(&ho, nchan);
	else
		log_error("key holder: %s", err.msg);
	hold_jws_clear(&ho);
	hold_seal_clear(&ho);
	hold_pki_clear(&ho);
	hold_tls_clear(&ho);
	config_free(ho.ho_conf);
	return rc == SL_OK ? 0 : 1;
}
