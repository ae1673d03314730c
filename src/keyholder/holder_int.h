/*
 * holder_int.h — inside the key holder process only (holder.c, hold_*.c,
 * sandbox.c) and its unit tests.
 */
#ifndef SL_HOLDER_INT_H
#define SL_HOLDER_INT_H

#include <openssl/types.h>

#include "keyholder.h"
#include "../crypto/crypto.h"

struct sl_config;

struct hold_jws {
	char hj_kid[KH_KID_MAX];
	char hj_alg[8];
	EVP_PKEY *hj_key;
	EVP_MD_CTX *hj_sign; /* DigestSignInit done once; each signature a copy */
};

struct hold_seal {
	char hs_kid[KH_KID_MAX]; /* on the wire: a sealing key's kid or KH_REST_KID */
	const char *hs_seal_kid; /* what seal() binds: hs_kid, or KH_REST_SEAL_KID */
	EVP_PKEY *hs_key;
	uint8_t hs_pub[P256_PUB_LEN];
};

/* A listener's TLS key (hold_tls.c): the key, or why it is not there. */
struct hold_tls {
	const char *ht_name; /* KH_TLS_PORTAL, KH_TLS_EID */
	EVP_PKEY *ht_key;
	char ht_why[KH_ERRMSG_MAX]; /* ht_key NULL: the error to answer */
};

#define KH_TLS_KEYS 2

struct holder {
	struct sl_config *ho_conf;
	struct hold_jws ho_jws[KH_JWS_MAX];
	size_t ho_njws;
	struct hold_seal ho_seal[KH_SEAL_MAX];
	size_t ho_nseal;
	EVP_PKEY *ho_pki[KH_PKI_KEYS_MAX]; /* hold_pki.c: read on first use */
	X509 *ho_pki_ca; /* the Smart-ID CA's certificate: read on first use */
	struct hold_tls ho_tls[KH_TLS_KEYS]; /* hold_tls.c: read at start */
};

/* Handle one request message of n bytes: *h is its header (op and seq to
 * answer with, even when it does not parse), the answer's payload goes to
 * out (KH_PAYLOAD_MAX bytes).  Status SL_OK or the error to answer. */
int holder_handle(struct holder *ho, const uint8_t *msg, size_t n, uint8_t *out, size_t *outlen, struct kh_hdr *h,
	struct sl_err *err);

/* hold_jws.c */
int hold_jws_set(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err);
int hold_jws_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err);
void hold_jws_clear(struct holder *ho);

/* hold_seal.c */
int hold_seal_keys(struct holder *ho, uint8_t *out, size_t *outlen, struct sl_err *err);
int hold_unseal(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err);
void hold_seal_clear(struct holder *ho);

/* hold_sk.c: the split-key ops (keyholder.h); the answer's fields in out. */
int hold_sk_share(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err);
int hold_sk_keygen(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err);
int hold_sk_open(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err);
int hold_sk_complete(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err);
int hold_sk_reseal(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err);

/* hold_pki.c */
int hold_pki_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err);
void hold_pki_clear(struct holder *ho);
int hold_pki_smartid_ca(struct holder *ho, struct sl_err *err);
/* hold_pki_profile.c: is der (a TBSCertificate) a Smart-ID device
 * certificate of the CA `ca`?  SL_OK, SL_EDENIED saying what is not. */
int hold_pki_cert_ok(X509 *ca, const uint8_t *der, size_t len, struct sl_err *err);

/* hold_tls.c: hold_tls_load() reads the listeners' keys the configuration
 * names (a key that does not load is kept as the error every request for
 * it gets); hold_tls_sign() answers KH_OP_TLS_SIGN. */
void hold_tls_load(struct holder *ho);
int hold_tls_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err);
void hold_tls_clear(struct holder *ho);

/* sandbox.c: drop privileges ([server] user when started as root), no new
 * privileges, not dumpable, and a seccomp filter against network sockets,
 * exec and ptrace (Linux). */
int keyholder_sandbox(const struct sl_config *conf, int nchan, struct sl_err *err);

#endif
