/*
 * validate.c — is this the authentication certificate of a valid eID card?
 *
 * In order: it parses; its key is RSA >= 2048 or EC P-256/P-384; it is an
 * authentication certificate (digitalSignature, clientAuth when an EKU is
 * present, not the nonRepudiation signing certificate); it chains to a
 * configured anchor and is valid at use time; it is not revoked (OCSP, CRL
 * as fallback: revocation.c); its subject holds a valid identity.
 *
 * A verdict that passed every check is cached by the certificate's SHA-256
 * until its revocation answer must be refreshed, at most [eid] ocsp_max_age
 * (and never past notAfter),
 * with the certificate as parsed then: a returning card costs no signature
 * verification, no fetch and no decode, and still passes through every
 * check above but the path and revocation.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "eid_int.h"
#include "../../crypto/crypto.h"

struct eid_cache_entry {
	uint8_t ce_hash[32];
	int64_t ce_until;
	enum eid_verdict ce_verdict;
	/* The certificate as parsed when the verdict was made (a reference):
	 * a returning card is not decoded again (d2i_X509 is OpenSSL 3's
	 * costliest step of a login, its key decoder) but still goes through
	 * every check of eid_validate(); ce_used is how many bytes of its DER
	 * the parse used, for the trailing-bytes rule. */
	X509 *ce_leaf;
	size_t ce_used;
	size_t ce_next; /* the next entry of its bucket (index + 1), 0: none */
};

static const char *const verdict_names[EID_VERDICT_COUNT] = { "ok", "no_certificate", "expired", "not_yet_valid",
	"revoked", "unknown_issuer", "wrong_key_usage", "weak_key", "status_unavailable", "invalid_identity",
	"malformed" };

const char *
eid_verdict_name(enum eid_verdict v)
{
	return (unsigned)v < EID_VERDICT_COUNT ? verdict_names[v] : "error";
}

static STACK_OF(X509) * pem_certs(const char *path, struct sl_err *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_file(path, "r");
	X509 *x;

	if (bio == NULL || sk == NULL) {
		BIO_free(bio);
		sk_X509_free(sk);
		return sl_fail(err, SL_EIO, "cannot read certificates from %s", path), NULL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	BIO_free(bio);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return sl_fail(err, SL_EINVAL, "%s holds no PEM certificate", path), NULL;
	}
	return sk;
}

/* Verify each intermediate against the anchors alone, then trust it. */
static int
add_intermediates(struct eid_validator *v, X509_STORE *anchors_only, const char *path, struct sl_err *err)
{
	STACK_OF(X509) *sk = pem_certs(path, err);
	int rc = SL_OK;

	if (sk == NULL)
		return SL_EIO;
	for (int i = 0; i < sk_X509_num(sk) && rc == SL_OK; i++) {
		X509 *ca = sk_X509_value(sk, i);
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		char name[256];

		X509_NAME_oneline(X509_get_subject_name(ca), name, sizeof(name));
		if (ctx == NULL || X509_STORE_CTX_init(ctx, anchors_only, ca, sk) != 1)
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
		else if (X509_verify_cert(ctx) != 1)
			/* Not trusted, not fatal: e.g. the Belgian CA6-era CAs until
			 * the operator adds Belgium Root CA6 to the anchors. Cards
			 * they issued are refused as of an unknown issuer. */
			log_warn("%s: intermediate %s does not chain to a trust anchor (%s); not used", path, name,
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		else if (X509_check_ca(ca) == 0)
			rc = sl_fail(err, SL_EINVAL, "%s: %s is not a CA certificate", path, name);
		else
			X509_STORE_add_cert(v->v_store, ca);
		X509_STORE_CTX_free(ctx);
	}
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* At least as many buckets as entries, a power of two; NULL when out of
 * memory (or absurdly many). */
static size_t *
cache_buckets(size_t entries, size_t *mask)
{
	size_t n = 1;

	while (n < entries && n <= SIZE_MAX / 4)
		n *= 2;
	*mask = n - 1;
	return calloc(n, sizeof(size_t));
}

struct eid_validator *
eid_validator_new(const struct eid_validator_conf *conf, struct sl_err *err)
{
	struct eid_validator *v = calloc(1, sizeof(*v));
	X509_STORE *anchors_only = X509_STORE_new();
	STACK_OF(X509) *roots = NULL;
	int rc = SL_ENOMEM;

	if (v == NULL || anchors_only == NULL)
		goto out;
	v->ev = *conf;
	v->ev_ocsp_url_copy = sl_strdup(conf->ev_ocsp_url);
	v->ev_crl_url_copy = sl_strdup(conf->ev_crl_url);
	v->ev.ev_ocsp_url = v->ev_ocsp_url_copy;
	v->ev.ev_crl_url = v->ev_crl_url_copy;
	v->ev.ev_anchors = NULL;
	v->ev.ev_intermediates = NULL;
	pthread_mutex_init(&v->v_lock, NULL);
	v->v_cache = calloc((size_t)(conf->ev_cache_max > 0 ? conf->ev_cache_max : 1), sizeof(struct eid_cache_entry));
	v->v_buckets = cache_buckets((size_t)(conf->ev_cache_max > 0 ? conf->ev_cache_max : 1), &v->v_bucket_mask);
	v->v_store = X509_STORE_new();
	if (v->v_cache == NULL || v->v_buckets == NULL || v->v_store == NULL)
		goto out;
	rc = SL_EIO;
	if ((roots = pem_certs(conf->ev_anchors, err)) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(roots); i++) {
		X509_STORE_add_cert(anchors_only, sk_X509_value(roots, i));
		X509_STORE_add_cert(v->v_store, sk_X509_value(roots, i));
	}
	if (conf->ev_intermediates != NULL && add_intermediates(v, anchors_only, conf->ev_intermediates, err) != SL_OK)
		goto out;
	X509_STORE_set_flags(v->v_store, X509_V_FLAG_PARTIAL_CHAIN);
	rc = SL_OK;
out:
	sk_X509_pop_free(roots, X509_free);
	X509_STORE_free(anchors_only);
	if (rc != SL_OK) {
		if (rc == SL_ENOMEM)
			sl_fail(err, rc, "out of memory");
		eid_validator_free(v);
		return NULL;
	}
	return v;
}

void
eid_validator_free(struct eid_validator *v)
{
	if (v == NULL)
		return;
	X509_STORE_free(v->v_store);
	eid_crl_cache_free(v);
	for (size_t i = 0; v->v_cache != NULL && i < v->v_cache_len; i++)
		X509_free(v->v_cache[i].ce_leaf);
	free(v->v_cache);
	free(v->v_buckets);
	free(v->ev_ocsp_url_copy);
	free(v->ev_crl_url_copy);
	pthread_mutex_destroy(&v->v_lock);
	free(v);
}

static bool
key_strong(X509 *leaf)
{
	EVP_PKEY *k = X509_get0_pubkey(leaf);
	char grp[64];
	size_t n = 0;

	if (k == NULL)
		return false;
	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048;
	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_utf8_string_param(k, "group", grp, sizeof(grp), &n) != 1)
		return false;
	return strcmp(grp, "prime256v1") == 0 || strcmp(grp, "secp384r1") == 0;
}

/* The authentication certificate: digitalSignature; clientAuth when an
 * EKU is present; the card's signing certificate (nonRepudiation) is not
 * one even if it also has digitalSignature. */
static bool
usage_ok(X509 *leaf)
{
	uint32_t ku = X509_get_key_usage(leaf), xku;

	if (ku == UINT32_MAX || !(ku & KU_DIGITAL_SIGNATURE) || (ku & KU_NON_REPUDIATION))
		return false;
	if (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) {
		xku = X509_get_extended_key_usage(leaf);
		if (!(xku & XKU_SSL_CLIENT))
			return false;
	}
	return true;
}

static enum eid_verdict
chain_verdict(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED: return EID_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID: return EID_NOT_YET_VALID;
	case X509_V_ERR_INVALID_PURPOSE: return EID_WRONG_USAGE;
	default: return EID_UNKNOWN_ISSUER;
	}
}

/* Path building and validity; on success *issuer is a new reference. */
static enum eid_verdict
verify_chain(struct eid_validator *v, X509 *leaf, STACK_OF(X509) * extra, int64_t now, X509 **issuer, char *detail,
	size_t dlen)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	enum eid_verdict verdict = EID_UNKNOWN_ISSUER;
	STACK_OF(X509) * chain;

	*issuer = NULL;
	if (ctx == NULL || X509_STORE_CTX_init(ctx, v->v_store, leaf, extra) != 1) {
		X509_STORE_CTX_free(ctx);
		snprintf(detail, dlen, "out of memory");
		return EID_STATUS_UNAVAILABLE;
	}
	X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) == 1) {
		chain = X509_STORE_CTX_get0_chain(ctx);
		if (sk_X509_num(chain) >= 2) {
			*issuer = sk_X509_value(chain, 1);
			X509_up_ref(*issuer);
			verdict = EID_OK;
		} else {
			snprintf(detail, dlen, "the certificate is itself a trust anchor");
		}
	} else {
		int e = X509_STORE_CTX_get_error(ctx);
		verdict = chain_verdict(e);
		snprintf(detail, dlen, "%s", X509_verify_cert_error_string(e));
	}
	X509_STORE_CTX_free(ctx);
	return verdict;
}

/* The bucket of a certificate's hash (SHA-256: its first bytes are as
 * good as any hash of them). */
static size_t *
bucket_of(const struct eid_validator *v, const uint8_t hash[32])
{
	uint64_t h;

	memcpy(&h, hash, sizeof(h));
	return &v->v_buckets[h & v->v_bucket_mask];
}

/* The entry of these bytes (index + 1), 0 when none; under v_lock. */
static size_t
cache_find(const struct eid_validator *v, const uint8_t hash[32])
{
	size_t i = *bucket_of(v, hash);

	while (i != 0 && memcmp(v->v_cache[i - 1].ce_hash, hash, 32) != 0)
		i = v->v_cache[i - 1].ce_next;
	return i;
}

/* On a hit, *leaf is a new reference to the certificate of those bytes. */
static bool
cache_get(
	struct eid_validator *v, const uint8_t hash[32], int64_t now, enum eid_verdict *out, X509 **leaf, size_t *used)
{
	bool hit = false;
	size_t i;

	pthread_mutex_lock(&v->v_lock);
	i = cache_find(v, hash);
	if (i != 0) {
		struct eid_cache_entry *e = &v->v_cache[i - 1];
		if (e->ce_until > now && X509_up_ref(e->ce_leaf) == 1) {
			*out = e->ce_verdict;
			*leaf = e->ce_leaf;
			*used = e->ce_used;
			hit = true;
		}
	}
	pthread_mutex_unlock(&v->v_lock);
	return hit;
}

/* Take entry `slot` out of its bucket's chain; under v_lock. */
static void
cache_unlink(struct eid_validator *v, size_t slot)
{
	size_t *link = bucket_of(v, v->v_cache[slot].ce_hash);

	while (*link != 0 && *link != slot + 1)
		link = &v->v_cache[*link - 1].ce_next;
	if (*link != 0)
		*link = v->v_cache[slot].ce_next;
	v->v_cache[slot].ce_next = 0;
}

/* Where a new verdict goes: the card's own entry, a free one, or else an
 * expired entry or the one expiring first (then taken out of its chain).
 * Under v_lock; a full scan, but only on a miss, which costs a
 * revocation fetch anyway. */
static size_t
cache_slot(struct eid_validator *v, const uint8_t hash[32], int64_t now)
{
	size_t max = (size_t)(v->ev.ev_cache_max > 0 ? v->ev.ev_cache_max : 1), slot = 0, own = cache_find(v, hash);

	if (own != 0)
		return own - 1;
	if (v->v_cache_len < max)
		return v->v_cache_len++;
	for (size_t i = 0; i < v->v_cache_len; i++) {
		if (v->v_cache[i].ce_until <= now) {
			slot = i;
			break;
		}
		if (v->v_cache[i].ce_until < v->v_cache[slot].ce_until)
			slot = i;
	}
	cache_unlink(v, slot);
	return slot;
}

/* Bounded: an expired entry, or else the one expiring first, makes room. */
static void
cache_put(struct eid_validator *v, const uint8_t hash[32], int64_t until, enum eid_verdict verdict, int64_t now,
	X509 *leaf, size_t used)
{
	struct eid_cache_entry *e;
	X509 *old = NULL;
	size_t slot;
	bool linked;

	if (X509_up_ref(leaf) != 1)
		return; /* not cached: checked afresh next time */
	pthread_mutex_lock(&v->v_lock);
	slot = cache_slot(v, hash, now);
	e = &v->v_cache[slot];
	linked = e->ce_leaf != NULL && memcmp(e->ce_hash, hash, 32) == 0;
	old = e->ce_leaf;
	memcpy(e->ce_hash, hash, 32);
	e->ce_until = until;
	e->ce_verdict = verdict;
	e->ce_leaf = leaf;
	e->ce_used = used;
	if (!linked) {
		size_t *b = bucket_of(v, hash);
		e->ce_next = *b;
		*b = slot + 1;
	}
	pthread_mutex_unlock(&v->v_lock);
	X509_free(old);
}

static int64_t
not_after(X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The client's further certificates, untrusted helpers for path building:
 * parsed only on a cache miss (a returning card needs no path). NULL when
 * out of memory; one that does not parse is left out. */
static STACK_OF(X509) * extra_certs(const uint8_t *const *ders, const size_t *lens, size_t n)
{
	STACK_OF(X509) *extra = sk_X509_new_null();

	for (size_t i = 1; extra != NULL && i < n && i < EID_MAX_CHAIN; i++) {
		const unsigned char *q = ders[i];
		X509 *x = d2i_X509(NULL, &q, (long)lens[i]);
		if (x != NULL)
			sk_X509_push(extra, x);
	}
	return extra;
}

static enum eid_verdict
check_fresh(struct eid_validator *v, X509 *leaf, size_t used, const uint8_t *const *ders, const size_t *lens, size_t n,
	int64_t now, const uint8_t hash[32], struct eid_result *out)
{
	STACK_OF(X509) *extra = extra_certs(ders, lens, n);
	X509 *issuer = NULL;
	int64_t until = 0;
	enum eid_status st;
	enum eid_verdict verdict;

	if (extra == NULL) {
		snprintf(out->er_detail, sizeof(out->er_detail), "out of memory");
		return EID_STATUS_UNAVAILABLE;
	}
	verdict = verify_chain(v, leaf, extra, now, &issuer, out->er_detail, sizeof(out->er_detail));
	sk_X509_pop_free(extra, X509_free);
	if (verdict != EID_OK)
		return verdict;
	st = eid_revocation_status(v, leaf, issuer, now, &until, out->er_detail, sizeof(out->er_detail));
	X509_free(issuer);
	if (st == EID_STATUS_REVOKED || st == EID_STATUS_UNKNOWN) {
		if (st == EID_STATUS_UNKNOWN)
			snprintf(out->er_detail, sizeof(out->er_detail), "unknown to the issuer's OCSP responder");
		/* Only for as long as the answer holds: "unknown" is not final
		 * (RFC 6960 §2.2) and a hold can be lifted. */
		cache_put(v, hash, until < not_after(leaf) ? until : not_after(leaf), EID_REVOKED, now, leaf, used);
		return EID_REVOKED;
	}
	if (st == EID_STATUS_NONE) {
		if (!v->ev.ev_fail_open)
			return EID_STATUS_UNAVAILABLE;
		out->er_fail_open = true; /* accepted, not cached: ask again next time */
		return EID_OK;
	}
	/* A good verdict is kept at most ocsp_max_age, whatever the answer's
	 * nextUpdate: a CRL's (or a lazy responder's) can be days ahead, and a
	 * card revoked meanwhile would be accepted from the cache until then
	 * without OCSP being asked again. */
	if (until > now + v->ev.ev_max_age)
		until = now + v->ev.ev_max_age;
	if (until > not_after(leaf))
		until = not_after(leaf);
	cache_put(v, hash, until, EID_OK, now, leaf, used);
	return EID_OK;
}

/* eid_validate; with `cache_only`, only when the leaf's bytes have a
 * cached verdict (no path, no fetch): false, and *out empty, otherwise. */
static bool
validate(struct eid_validator *v, const uint8_t *const *ders, const size_t *lens, size_t n, int64_t now,
	struct eid_result *out, bool cache_only)
{
	uint8_t hash[32];
	struct sl_err err = { 0 };
	X509 *leaf = NULL;
	enum eid_verdict verdict = EID_MALFORMED, cached = EID_MALFORMED;
	size_t used = 0;
	bool hit = false;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		out->er_verdict = EID_NO_CERT;
		return true;
	}
	if (crypto_sha256(ders[0], lens[0], hash) == SL_OK) {
		/* the leaf from the verdict cache when these bytes were validated
		 * before (no second decode), else parsed */
		hit = cache_get(v, hash, now, &cached, &leaf, &used);
		if (!hit && cache_only)
			return false;
		if (!hit) {
			const unsigned char *p = ders[0];
			leaf = d2i_X509(NULL, &p, (long)lens[0]);
			used = (size_t)(p - ders[0]);
		}
	}
	if (leaf == NULL) {
		verdict = EID_MALFORMED;
	} else if (!key_strong(leaf)) {
		verdict = EID_WEAK_KEY;
	} else if (!usage_ok(leaf)) {
		verdict = EID_WRONG_USAGE;
	} else if (X509_cmp_time(X509_get0_notAfter(leaf), &(time_t){ (time_t)now }) < 0) {
		verdict = EID_EXPIRED;
	} else if (X509_cmp_time(X509_get0_notBefore(leaf), &(time_t){ (time_t)now }) > 0) {
		verdict = EID_NOT_YET_VALID;
	} else {
		/* a verdict cached for these bytes, or the path and revocation now */
		verdict = hit ? cached : check_fresh(v, leaf, used, ders, lens, n, now, hash, out);
	}
	/* the leaf parsed above, not a second decode of the same DER */
	if (verdict == EID_OK && eid_identity_from_x509(leaf, lens[0], used, now, &out->er_identity, &err) != SL_OK) {
		verdict = EID_BAD_IDENTITY;
		snprintf(out->er_detail, sizeof(out->er_detail), "%s", err.msg);
	}
	out->er_verdict = verdict;
	X509_free(leaf);
	return true;
}

void
eid_validate(struct eid_validator *v, const uint8_t *const *ders, const size_t *lens, size_t n, int64_t now,
	struct eid_result *out)
{
	validate(v, ders, lens, n, now, out, false);
}

bool
eid_validate_cached(struct eid_validator *v, const uint8_t *const *ders, const size_t *lens, size_t n, int64_t now,
	struct eid_result *out)
{
	return validate(v, ders, lens, n, now, out, true);
}

void
eid_result_clear(struct eid_result *r)
{
	eid_identity_clear(&r->er_identity);
	memset(r, 0, sizeof(*r));
}
