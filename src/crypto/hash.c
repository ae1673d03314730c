/* hash.c — SHA-256, HMAC, token hashes, at_hash, PKCE. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"

int
crypto_sha256(const void *data, size_t len, uint8_t out[SL_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != SL_SHA256_LEN)
		return SL_ECRYPTO;
	return SL_OK;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SL_SHA256_LEN])
{
	unsigned int n = 0;

	if (keylen > INT32_MAX || HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL ||
		n != SL_SHA256_LEN)
		return SL_ECRYPTO;
	return SL_OK;
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
