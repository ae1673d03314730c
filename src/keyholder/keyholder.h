/*
 * keyholder — the process that holds sleuteld's private keys.
 *
 * OpenBSD relayd's `ca` process is the model: the process that parses HTTP
 * never maps a private key.  At start, before any thread, sleuteld makes a
 * few socketpairs and starts the key holder (fork, then exec of the same
 * binary as `sleuteld --keyholder N --config FILE`, so the holder starts
 * from a fresh image and shares no memory with the HTTP process).  The key
 * holder reads the key files from [keys] dir itself and answers requests:
 *
 *   KH_OP_PING       echo the payload (health, benchmarks)
 *   KH_OP_JWS_SET    load the ID-token signing keys the parent lists
 *                    ("kid alg\n" lines, KH_JWS_MAX at most) in place of
 *                    the previous set; answer each key's public half as
 *                    SPKI PEM, in the same order ([u16 length][PEM] each)
 *   KH_OP_JWS_SIGN   sign a JWS signing input with key `kid`; answer the
 *                    JWS signature (ES256: R || S, 64 bytes)
 *   KH_OP_SEAL_KEYS  load (or, on first start, create) the device-API
 *                    sealing keys and the at-rest key; answer
 *                    [u8 kid length][kid][65-byte point] each, the at-rest
 *                    key first (kid KH_REST_KID), then the current
 *                    sealing key, then older ones
 *   KH_OP_UNSEAL     open a sealed blob with key `kid` (a sealing key's or
 *                    KH_REST_KID): payload [u16 aad length][aad][blob];
 *                    answer the plaintext
 *
 * Every message is one SOCK_SEQPACKET datagram: a fixed header (struct
 * kh_hdr: op, status, sequence number, payload length, key id) and at most
 * KH_PAYLOAD_MAX payload bytes.  kh_msg_parse() checks all of it; the key
 * holder answers a malformed request with an error and trusts nothing in
 * it.  One request per round trip; the answer carries the request's op and
 * sequence number, and the parent drops any answer whose sequence number
 * is not the one it waits for (a late answer after a timeout).
 *
 * The key holder exits when sleuteld goes: end of file on a socket, or
 * PR_SET_PDEATHSIG.  It ignores SIGINT, SIGTERM and SIGHUP (sleuteld stops
 * it by closing the sockets after its own graceful stop) and restricts
 * itself after start: no new privileges, not dumpable, a seccomp filter
 * that refuses network sockets, exec and ptrace (keyholder_sandbox).
 * When sleuteld sees the key holder die it stops (exit 1), as relayd's
 * parent does: a supervisor restarts both.
 */
#ifndef SL_KEYHOLDER_H
#define SL_KEYHOLDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/core.h"

#define KH_KID_MAX 64 /* bytes of the key id field, NUL included */
#define KH_PAYLOAD_MAX 32768 /* bytes of payload in one message */
#define KH_ERRMSG_MAX 200 /* bytes of an error answer's message */
#define KH_CHANNELS_MAX 16 /* socketpairs between sleuteld and the key holder */
#define KH_CHANNELS_DEFAULT 4
#define KH_TIMEOUT_MS 2000 /* a round trip not answered by then fails (SL_EBUSY) */
#define KH_JWS_MAX 32 /* ID-token signing keys held at once */
#define KH_SEAL_MAX 9 /* the at-rest key and up to 8 sealing keys */
#define KH_REST_KID "rest" /* the at-rest key's id on the wire */
#define KH_REST_SEAL_KID "sleutel at-rest v1" /* its seal() key id (bound into every blob) */
#define KH_FIRST_FD 3 /* the key holder's channels are fds 3 .. 3 + N - 1 */

enum kh_op {
	KH_OP_PING = 1,
	KH_OP_JWS_SET = 2,
	KH_OP_JWS_SIGN = 3,
	KH_OP_SEAL_KEYS = 4,
	KH_OP_UNSEAL = 5,
	KH_OP_MAX = 5,
};

/* The fixed header of every message, native byte order (both ends are the
 * same binary on the same host). */
struct kh_hdr {
	uint16_t kh_op;
	int16_t kh_status; /* request: 0; answer: 0 or a negative SL_E* code */
	uint32_t kh_seq;
	uint32_t kh_len; /* payload bytes after the header */
	char kh_kid[KH_KID_MAX]; /* NUL-padded; empty for ops without a key */
};

#define KH_MSG_MAX (sizeof(struct kh_hdr) + KH_PAYLOAD_MAX)

/* ---- messages (proto.c) ---- */
/* Is `kid` a key id the protocol carries: 0..KH_KID_MAX-1 bytes of
 * [A-Za-z0-9_-], not starting with '-'?  (Empty only where allowed.) */
bool kh_kid_ok(const char *kid, size_t len);
/* Write a message into buf (KH_MSG_MAX bytes); returns its size, or 0 when
 * kid or len is out of bounds. */
size_t kh_msg_build(
	uint8_t *buf, uint16_t op, int16_t status, uint32_t seq, const char *kid, const void *payload, size_t len);
/* Check a received message of n bytes: the header whole, the length equal
 * to what follows and within KH_PAYLOAD_MAX, a known op, a well-formed
 * key id (NUL-terminated and padded), and for a request (`answer` false)
 * status 0.  Fills *hdr and *payload (pointing into msg).  SL_EINVAL with
 * a message when anything is off. */
int kh_msg_parse(
	const uint8_t *msg, size_t n, bool answer, struct kh_hdr *hdr, const uint8_t **payload, struct sl_err *err);

/* ---- sleuteld's side (client.c) ---- */
struct keyholder;
/* Start the key holder with `nchan` channels (1..KH_CHANNELS_MAX): fork,
 * then exec `exe` (normally /proc/self/exe) as the key holder of
 * `config_path`.  Call it before any thread exists. */
struct keyholder *keyholder_start(const char *exe, const char *config_path, int nchan, struct sl_err *err);
/* One round trip, safe from any thread: op on key `kid` (NULL: none) with
 * `req`; the answer's payload malloc'd in *resp (may be NULL when empty).
 * SL_EBUSY when the key holder is gone or does not answer within
 * KH_TIMEOUT_MS; the key holder's own error code and message otherwise. */
int keyholder_call(struct keyholder *kh, uint16_t op, const char *kid, const void *req, size_t reqlen, uint8_t **resp,
	size_t *resplen, struct sl_err *err);
pid_t keyholder_pid(const struct keyholder *kh);
/* Has the key holder been seen gone (an answer channel closed, or
 * keyholder_reap())?  Then every call fails with SL_EBUSY. */
bool keyholder_gone(struct keyholder *kh);
/* After SIGCHLD: true when the key holder has exited (reaped here). */
bool keyholder_reap(struct keyholder *kh);
/* Close the channels (the key holder exits on end of file), wait for it
 * and free; NULL is a no-op. */
void keyholder_stop(struct keyholder *kh);

/* Started as root with `user` set: become that user (uid, gid, no
 * supplementary groups), checked irreversible.  Root without a user: a
 * warning naming `who`.  Not root: nothing.  (sandbox.c) */
int keyholder_drop_user(const char *user, const char *who, struct sl_err *err);

/* ---- the key holder process (holder.c) ---- */
/* main() of `sleuteld --keyholder N --config FILE`: exit status. */
int keyholder_main(int argc, char **argv);

#endif
