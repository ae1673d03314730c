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
 *                    answer the plaintext.  An AAD that begins with
 *                    KH_SK_SHARE_AAD (a split-key share on its way in)
 *                    is refused: only KH_OP_SK_SHARE opens those.  So is
 *                    a split-key secret under KH_REST_KID (one sealed
 *                    before 45aff05): only KH_OP_SK_RESEAL opens those.
 *
 * Split-key server keys (hold_sk.c; src/crypto sk_*): the server's share
 * d1'' of each account key and its own RSA key live sealed at rest under
 * the at-rest key bound to KH_SK_SEAL_KID, which KH_OP_UNSEAL never opens.
 * Requests and answers are lists of fields ([u16 length][bytes] each, in
 * a fixed order, nothing after the last; kh_fields_get()); "sealed" is a
 * seal() blob, raw; an AAD is 1..KH_SK_AAD_MAX bytes.  Each request does a
 * bounded amount of work: one unseal, one parse (SK_JSON_MAX bytes), at
 * most one key generation at the key holder's own [smartid] key_bits, at
 * most one completion (SK_MAX_SKIP versions ahead at most), one seal.
 *
 *   KH_OP_SK_SHARE    kid: a device sealing key.  (aad in, sealed share,
 *                     aad out): the app's share (sk_share_to_json) sealed
 *                     to the device key, opened, checked at this server's
 *                     size and sealed at rest; answer (sealed share)
 *   KH_OP_SK_KEYGEN   (aad in, sealed share, aad out): the server's RSA key
 *                     made for the share (sk_server_keygen); answer (sealed
 *                     key, n).  Made in a child process of the key holder,
 *                     at most [smartid] keygen_max (and one per channel)
 *                     at once, SL_EBUSY after, so that other requests do
 *                     not wait behind it
 *   KH_OP_SK_OPEN     (aad, sealed key): answer its public part (n1, n,
 *                     version as 8 bytes big-endian)
 *   KH_OP_SK_COMPLETE (aad in, sealed key, aad out, em, version (8 bytes),
 *                     part): sk_server_complete; answer [u8 verdict]
 *                     (enum sk_verdict), then for SK_OK the fields
 *                     (signature, sealed advanced key, version)
 *   KH_OP_SK_RESEAL   (aad in, sealed key, aad out): the same key under
 *                     another owner (a registration's keys moving to its
 *                     device), or the same owner (a key sealed under the
 *                     plain at-rest seal kid before 45aff05, which no
 *                     other op opens, moving under KH_SK_SEAL_KID);
 *                     answer (sealed key)
 *
 * The demo PKI's CA and OCSP signing keys (hold_pki.c), read from [pki] dir
 * on first use:
 *
 *   KH_OP_PKI_SIGN    kid: the key's file base ("smartid-ca", "citizen-ca",
 *                     "citizen-ocsp", ...); payload [u8 kind][DER]: the
 *                     to-be-signed part of a certificate (KH_PKI_CERT, the
 *                     Smart-ID CA only), a CRL (KH_PKI_CRL, a CA) or an
 *                     OCSP response (KH_PKI_OCSP, an OCSP signer), which
 *                     must parse as exactly that (a certificate: a
 *                     Smart-ID device's profile, hold_pki_profile.c);
 *                     answer the signature
 *                     (SHA-384; DER ECDSA or RSA PKCS#1 v1.5)
 *   KH_OP_PKI_SMARTID_CA  no kid, no payload: make the Smart-ID CA and
 *                     its OCSP signer in [pki] dir if it has none yet (a
 *                     PKI made before they existed: pki_smartid_ca_ensure(),
 *                     which reads the root key and makes their keys);
 *                     answer nothing.  It makes keys: KH_KEYGEN_TIMEOUT_MS
 *
 * The TLS server keys of the two listeners (hold_tls.c), read from
 * [server] tls_key and [eid] tls_key at start, before the key holder
 * drops privileges (the files are often root's alone, as they were when
 * sleuteld read them):
 *
 *   KH_OP_TLS_SIGN    kid: KH_TLS_PORTAL or KH_TLS_EID; payload
 *                     [u16 GnuTLS sign algorithm, big-endian][input]: the
 *                     handshake's signature as GnuTLS asks an external key
 *                     for it (gnutls_privkey_import_ext4's sign_hash):
 *                     GNUTLS_SIGN_RSA_RAW with a DigestInfo (RSA PKCS#1
 *                     v1.5), RSA-PSS (RSAE, SHA-256/384/512, salt of the
 *                     hash's length) or ECDSA with the hash; input 1 ..
 *                     KH_TLS_INPUT_MAX bytes, exactly the hash's length
 *                     where there is a hash.  Answer the signature (RSA:
 *                     the modulus' length; ECDSA: DER)
 *
 * Every message is one SOCK_SEQPACKET datagram: a fixed header (struct
 * kh_hdr: op, status, protocol version, sequence number, payload length,
 * key id) and at most
 * KH_PAYLOAD_MAX payload bytes.  kh_msg_parse() checks all of it; the key
 * holder answers a malformed request with an error and trusts nothing in
 * it.  One request per round trip; the answer carries the request's op and
 * sequence number, and the parent drops any answer whose sequence number
 * is not the one it waits for (a late answer after a timeout).
 *
 * The key holder exits when sleuteld goes: end of file on a socket, or
 * PR_SET_PDEATHSIG.  It ignores SIGINT, SIGTERM and SIGHUP (sleuteld stops
 * it by closing the sockets after its own graceful stop) and restricts
 * itself after start: [server] keyholder_user's account (which owns the
 * key files, out of sleuteld's reach: keyfiles.c), no new privileges, not
 * dumpable, a seccomp filter that refuses network sockets, exec and ptrace
 * (keyholder_sandbox).
 * When sleuteld sees the key holder die it stops (exit 1), as relayd's
 * parent does: a supervisor restarts both.
 */
#ifndef SL_KEYHOLDER_H
#define SL_KEYHOLDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/core.h"

struct sl_config;

#define KH_KID_MAX 64 /* bytes of the key id field, NUL included */
#define KH_PAYLOAD_MAX 32768 /* bytes of payload in one message */
#define KH_ERRMSG_MAX 200 /* bytes of an error answer's message */
#define KH_CHANNELS_MAX 16 /* socketpairs between sleuteld and the key holder */
#define KH_CHANNELS_DEFAULT 4
#define KH_PROTO_VERSION 3 /* kh_hdr.kh_version; 2: split-key and PKI ops; 3: TLS_SIGN, PKI_SMARTID_CA */
#define KH_TIMEOUT_MS 2000 /* a round trip not answered by then fails (SL_EBUSY) */
#define KH_KEYGEN_TIMEOUT_MS 30000 /* KH_OP_SK_KEYGEN's: an RSA key of up to SK_BITS_MAX */
#define KH_KEYGEN_REAP_MS 50 /* how often the key holder looks for a finished keygen child */
#define KH_KEYGEN_EXIT_WAIT_MS 100 /* at the bound: how long it waits for a child that answered to exit */
#define KH_JWS_MAX 32 /* ID-token signing keys held at once */
#define KH_SEAL_MAX 9 /* the at-rest key and up to 8 sealing keys */
#define KH_REST_KID "rest" /* the at-rest key's id on the wire */
#define KH_REST_SEAL_KID "sleutel at-rest v1" /* its seal() key id (bound into every blob) */
#define KH_FIRST_FD 3 /* the key holder's channels are fds 3 .. 3 + N - 1 */
#define KH_SK_SEAL_KID "sleutel splitkey at-rest v1" /* seal() key id of split-key server keys */
#define KH_SK_SHARE_AAD "smartid-share " /* AAD prefix of a share sealed by the app */
#define KH_SK_AAD_MAX 256 /* bytes of a split-key request's AAD */
#define KH_SK_FIELDS_MAX 6 /* fields of one split-key request */
#define KH_PKI_KEYS_MAX 6 /* PKI keys held: three CAs, three OCSP signers */
#define KH_TLS_PORTAL "portal" /* KH_OP_TLS_SIGN's key ids: [server] tls_key */
#define KH_TLS_EID "eid" /* [eid] tls_key */
#define KH_TLS_INPUT_MAX 512 /* bytes to sign in a TLS handshake: a DigestInfo or a hash */

enum kh_pki_kind { KH_PKI_CERT = 1, KH_PKI_CRL = 2, KH_PKI_OCSP = 3 };

enum kh_op {
	KH_OP_PING = 1,
	KH_OP_JWS_SET = 2,
	KH_OP_JWS_SIGN = 3,
	KH_OP_SEAL_KEYS = 4,
	KH_OP_UNSEAL = 5,
	KH_OP_SK_SHARE = 6,
	KH_OP_SK_KEYGEN = 7,
	KH_OP_SK_OPEN = 8,
	KH_OP_SK_COMPLETE = 9,
	KH_OP_SK_RESEAL = 10,
	KH_OP_PKI_SIGN = 11,
	KH_OP_TLS_SIGN = 12,
	KH_OP_PKI_SMARTID_CA = 13,
	KH_OP_MAX = 13,
};

/* The fixed header of every message, native byte order (both ends are the
 * same binary on the same host). */
struct kh_hdr {
	uint16_t kh_op;
	int16_t kh_status; /* request: 0; answer: 0 or a negative SL_E* code */
	uint16_t kh_version; /* KH_PROTO_VERSION */
	uint16_t kh_pad; /* 0 */
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

/* A field list ([u16 length][bytes] each): kh_fields_get() fills f[0..n)
 * (pointers into p) and fails unless p holds exactly n fields, field i at
 * most max[i] bytes and, when min is set, at least min[i]. */
struct kh_field {
	const uint8_t *kf_p;
	size_t kf_len;
};
int kh_fields_get(const uint8_t *p, size_t len, size_t n, const size_t *max, const size_t *min, struct kh_field *f,
	struct sl_err *err);
/* Append one field to out (KH_PAYLOAD_MAX bytes, *outlen used); SL_ETOOBIG
 * when it does not fit. */
int kh_field_put(uint8_t *out, size_t *outlen, const void *p, size_t len);

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
/* struct pki_signer's ps_sign over KH_OP_PKI_SIGN (arg: the keyholder;
 * kind: enum kh_pki_kind, the same values as pki.h's PKI_TBS_*). */
int keyholder_pki_sign(void *kh, const char *base, int kind, const uint8_t *tbs, size_t len, uint8_t **sig,
	size_t *siglen, struct sl_err *err);
/* struct pki_signer's ps_smartid_ca_ensure over KH_OP_PKI_SMARTID_CA. */
int keyholder_pki_smartid_ca(void *kh, struct sl_err *err);
/* The TLS handshake's signature with listener `name`'s key (KH_TLS_*)
 * over KH_OP_TLS_SIGN: `algo` a gnutls_sign_algorithm_t, input as GnuTLS
 * gives an external key's sign_hash (keyholder.h above); the signature
 * malloc'd in *sig.  Same errors as keyholder_call. */
int keyholder_tls_sign(void *kh, const char *name, unsigned algo, const uint8_t *input, size_t len, uint8_t **sig,
	size_t *siglen, struct sl_err *err);
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

/* ---- the key files out of sleuteld's reach (keyfiles.c) ---- */
/* Call fn for each private key file (every file in [keys] dir, *.key in
 * [pki] dir, the TLS keys and *.key beside them) that uid:gid, without
 * supplementary groups, could read.  The number of such files, or a
 * negative SL_E* code (a directory that cannot be listed). */
typedef void (*keyholder_file_fn)(const char *path, void *arg);
int keyholder_files_readable(
	const struct sl_config *conf, uid_t uid, gid_t gid, keyholder_file_fn fn, void *arg, struct sl_err *err);
/* sleuteld's start, as root with [server] user and keyholder_user set:
 * SL_EDENIED (naming a file and the fix) when [server] user could read a
 * private key file; SL_EINVAL when the two are the same account, or user
 * is unknown or root.  Not root, or either unset: SL_OK (sleuteld warns). */
int keyholder_files_check(const struct sl_config *conf, struct sl_err *err);

/* ---- the key holder process (holder.c) ---- */
/* main() of `sleuteld --keyholder N --config FILE`: exit status. */
int keyholder_main(int argc, char **argv);

#endif
