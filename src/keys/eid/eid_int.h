/* eid_int.h — shared between validate.c and revocation.c; not public. */
#ifndef SL_EID_INT_H
#define SL_EID_INT_H

#include <pthread.h>

#include <openssl/x509.h>

#include "eid.h"

#define EID_MAX_FETCH (1u << 20) /* bytes of an OCSP response or CRL */
#define EID_CRL_CACHE 16 /* CRLs kept (one per issuing CA in practice) */

enum eid_status { EID_STATUS_GOOD, EID_STATUS_REVOKED, EID_STATUS_UNKNOWN, EID_STATUS_NONE };

struct eid_crl_entry {
	char *ce_url;
	X509_CRL *ce_crl;
	int64_t ce_next_update;
};

struct eid_validator {
	struct eid_validator_conf ev;
	char *ev_ocsp_url_copy, *ev_crl_url_copy;
	/* Anchors and the intermediates verified once at start, all trusted,
	 * with X509_V_FLAG_PARTIAL_CHAIN: a card's path ends at its issuing
	 * CA, so each login verifies one signature, not three. */
	X509_STORE *v_store;
	pthread_mutex_t v_lock; /* guards the two caches below */
	struct eid_cache_entry *v_cache;
	size_t v_cache_len;
	/* The verdict cache's index: chains of entries (v_cache index + 1,
	 * 0 ends a chain) by the first bytes of the certificate's hash, so a
	 * login finds its card in a few steps however many are cached. */
	size_t *v_buckets;
	size_t v_bucket_mask; /* buckets - 1, a power of two minus one */
	struct eid_crl_entry v_crls[EID_CRL_CACHE];
};

/* revocation.c: the status of `leaf` issued by `issuer`, OCSP first and the
 * CRL after; *until is how long the answer may be reused. `detail` says
 * what failed when the result is EID_STATUS_NONE. */
enum eid_status eid_revocation_status(struct eid_validator *v, X509 *leaf, X509 *issuer, int64_t now, int64_t *until,
	char *detail, size_t detail_len);
void eid_crl_cache_free(struct eid_validator *v);

/* identity.c: eid_identity_from_der() on a certificate the validator has
 * already parsed from `len` bytes, of which the parse used `used` (trailing
 * bytes are refused the same way), so a login decodes its leaf once. */
int eid_identity_from_x509(
	const X509 *x, size_t len, size_t used, int64_t now, struct eid_identity *out, struct sl_err *err);

#endif
