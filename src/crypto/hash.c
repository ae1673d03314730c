/* hash.c — SHA-256, HMAC, token hashes, at_hash, PKCE. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto.h"

/*
 * OpenSSL 3 looks an algorithm up in its provider store on every call
 * that names it (EVP_sha256() through EVP_Digest, HMAC() through
 * EVP_Q_mac): a login hashed and MACed about a dozen times, each with its
 * own lookup.  The implementations are fetched once here and only read
 * afterwards (immutable after the first call, like the providers
 * themselves); when a fetch fails the calls fall back to the named
 * lookups.
 */
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

/*
 * A digest context costs an allocation and a free of its own and of the
 * provider's state on every EVP_Digest (a third of hashing a token).
 * Each thread keeps one instead, made at its first hash, re-initialised
 * for every hash and again after it (which wipes the last digest from
 * it), and freed by the key's destructor when the thread ends.  Only
 * its own thread ever touches it.
 */
static pthread_key_t sha256_ctx_key;
static bool sha256_ctx_keyed;

static void
sha256_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
fetch_algorithms(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	sha256_ctx_keyed = sha256_md != NULL && pthread_key_create(&sha256_ctx_key, sha256_ctx_free) == 0;
}

static void
fetch_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fetch_algorithms);
}

/* This thread's digest context, initialised for SHA-256; NULL when it
 * cannot be had (the caller falls back to EVP_Digest). */
static EVP_MD_CTX *
thread_sha256_ctx(void)
{
	EVP_MD_CTX *ctx;

	if (!sha256_ctx_keyed)
		return NULL;
	if ((ctx = pthread_getspecific(sha256_ctx_key)) != NULL)
		return ctx;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 ||
		pthread_setspecific(sha256_ctx_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
crypto_sha256(const void *data, size_t len, uint8_t out[SL_SHA256_LEN])
{
	unsigned int n = 0;
	EVP_MD_CTX *ctx;
	bool ok;

	fetch_once();
	if ((ctx = thread_sha256_ctx()) == NULL)
		return EVP_Digest(data, len, out, &n, sha256_md ? sha256_md : EVP_sha256(), NULL) == 1 &&
				       n == SL_SHA256_LEN
			       ? SL_OK
			       : SL_ECRYPTO;
	/* Initialised when made and after every hash: ready. */
	ok = EVP_DigestUpdate(ctx, data, len) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == SL_SHA256_LEN;
	if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1) {
		/* Not ready for the next hash: drop it (the next call makes another). */
		(void)pthread_setspecific(sha256_ctx_key, NULL);
		EVP_MD_CTX_free(ctx);
	}
	return ok ? SL_OK : SL_ECRYPTO;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SL_SHA256_LEN])
{
	OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end() };
	EVP_MAC_CTX *ctx;
	size_t n = 0;
	int ok;

	fetch_once();
	if (keylen > INT32_MAX)
		return SL_ECRYPTO;
	if (hmac_mac == NULL)
		return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, len, out, SL_SHA256_LEN, &n) !=
					       NULL &&
				       n == SL_SHA256_LEN
			       ? SL_OK
			       : SL_ECRYPTO;
	ctx = EVP_MAC_CTX_new(hmac_mac);
	ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1 && EVP_MAC_update(ctx, data, len) == 1 &&
	     EVP_MAC_final(ctx, out, &n, SL_SHA256_LEN) == 1 && n == SL_SHA256_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? SL_OK : SL_ECRYPTO;
}

/*
 * Each thread MACs with its own copy of the keyed context, made at its
 * first MAC and re-initialised (EVP_MAC_init with no key: back to the
 * keyed state, which also wipes the last message's) after each, rather
 * than a copy made and freed per MAC (six digest contexts allocated,
 * copied and freed).  The copies hang on a pthread key of the object's
 * own, freed when their thread ends or, for the freeing thread's, by
 * crypto_hmac_free.
 */
struct crypto_hmac {
	EVP_MAC_CTX *ch_ctx; /* keyed, never updated: only copied */
	pthread_key_t ch_thread;
	bool ch_keyed; /* ch_thread made */
};

static void
mac_ctx_free(void *ctx)
{
	EVP_MAC_CTX_free(ctx);
}

struct crypto_hmac *
crypto_hmac_new(const void *key, size_t keylen)
{
	OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end() };
	struct crypto_hmac *h;

	fetch_once();
	if (hmac_mac == NULL || keylen > INT32_MAX || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->ch_ctx = EVP_MAC_CTX_new(hmac_mac);
	if (h->ch_ctx == NULL || EVP_MAC_init(h->ch_ctx, key, keylen, params) != 1) {
		crypto_hmac_free(h);
		return NULL;
	}
	h->ch_keyed = pthread_key_create(&h->ch_thread, mac_ctx_free) == 0;
	return h;
}

/* This thread's copy of the keyed context, ready for a message; NULL
 * when it cannot be had (the caller copies one for the call). */
static EVP_MAC_CTX *
thread_mac_ctx(const struct crypto_hmac *h)
{
	EVP_MAC_CTX *ctx;

	if (!h->ch_keyed)
		return NULL;
	if ((ctx = pthread_getspecific(h->ch_thread)) != NULL)
		return ctx;
	if ((ctx = EVP_MAC_CTX_dup(h->ch_ctx)) != NULL && pthread_setspecific(h->ch_thread, ctx) != 0) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
crypto_hmac_mac(const struct crypto_hmac *h, const void *data, size_t len, uint8_t out[SL_SHA256_LEN])
{
	EVP_MAC_CTX *ctx, *mine;
	size_t n = 0;
	int ok;

	if (h == NULL)
		return SL_ECRYPTO;
	mine = thread_mac_ctx(h);
	ctx = mine != NULL ? mine : EVP_MAC_CTX_dup(h->ch_ctx);
	ok = ctx != NULL && EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, &n, SL_SHA256_LEN) == 1 &&
	     n == SL_SHA256_LEN;
	if (mine != NULL && EVP_MAC_init(mine, NULL, 0, NULL) == 1)
		return ok ? SL_OK : SL_ECRYPTO;
	/* A copy for this call, or this thread's that could not be made
	 * ready again: freed (the provider wipes its HMAC state). */
	if (mine != NULL)
		(void)pthread_setspecific(h->ch_thread, NULL);
	EVP_MAC_CTX_free(ctx);
	return ok ? SL_OK : SL_ECRYPTO;
}

void
crypto_hmac_free(struct crypto_hmac *h)
{
	if (h == NULL)
		return;
	if (h->ch_keyed) {
		/* Other threads' copies went with their threads (the server
		 * stops its workers before it frees its keys). */
		EVP_MAC_CTX_free(pthread_getspecific(h->ch_thread));
		(void)pthread_key_delete(h->ch_thread);
	}
	EVP_MAC_CTX_free(h->ch_ctx);
	free(h);
}

int
crypto_token_hash(const char *token, char out[2 * SL_SHA256_LEN + 1])
{
	uint8_t h[SL_SHA256_LEN];

	if (crypto_sha256(token, strlen(token), h) != SL_OK)
		return SL_ECRYPTO;
	sl_hex(h, sizeof(h), out);
	return SL_OK;
}

char *
crypto_half_hash(const char *value)
{
	uint8_t h[SL_SHA256_LEN];

	if (crypto_sha256(value, strlen(value), h) != SL_OK)
		return NULL;
	return sl_b64url_encode(h, SL_SHA256_LEN / 2);
}

bool
crypto_pkce_s256_ok(const char *verifier, const char *challenge)
{
	uint8_t h[SL_SHA256_LEN];
	size_t n;
	char *enc;
	bool ok;

	if (verifier == NULL || challenge == NULL)
		return false;
	n = strlen(verifier);
	/* RFC 7636 §4.1: 43..128 characters of [A-Za-z0-9-._~]. */
	if (n < 43 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = verifier[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '.' || c == '_' || c == '~'))
			return false;
	}
	if (crypto_sha256(verifier, n, h) != SL_OK)
		return false;
	enc = sl_b64url_encode(h, sizeof(h));
	if (enc == NULL)
		return false;
	ok = sl_ct_streq(enc, challenge);
	free(enc);
	return ok;
}
