/*
 * seal.c — how a confirmation travels from the app to the server
 * (PROTOCOL.md "Sealing"), and the HKDF both this and the camouflage use.
 *
 * A confirmation signature must never be readable outside the server: from
 * a signature and its message anyone can recover the public key Q, and with
 * Q a stolen camouflaged state becomes testable offline.  So on top of TLS
 * the app seals it to the server's device-API key:
 *
 *	e, E = ephemeral P-256 key pair
 *	z    = ECDH(e, server public key)
 *	key  = HKDF-SHA256(z, salt = E (65 bytes) || server key id,
 *	                   info = "sleutel seal v1", 32 bytes)
 *	blob = 1 || E || nonce (12, random) || AES-256-GCM(key, nonce,
 *	                                        AAD = request id, plaintext) || tag (16)
 *
 * E is fixed-length, so E || kid is unambiguous.  Binding the key id means a
 * blob made for one server key does not open under another, and the AAD
 * binds it to one request.  unseal() tells a malformed blob (SL_EINVAL) from
 * one that does not authenticate (SL_EDENIED); it never returns plaintext
 * that did not pass the GCM tag.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "crypto.h"

#define SEAL_KEY_LEN 32
#define SEAL_SHARED_LEN 32 /* P-256 ECDH: the x coordinate */
#define SEAL_OFF_PUB 1
#define SEAL_OFF_NONCE (SEAL_OFF_PUB + P256_PUB_LEN)
#define SEAL_OFF_CT (SEAL_OFF_NONCE + SEAL_NONCE_LEN)

int
crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const char *info,
	uint8_t *out, size_t outlen, struct sl_err *err)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = SN_sha256;
	OSSL_PARAM params[5], *pp = params;
	int rc = SL_OK;

	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	/* No salt means HashLen zero bytes (RFC 5869 §2.2). */
	if (salt != NULL && saltlen > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*pp = OSSL_PARAM_construct_end();
	if (kctx == NULL || EVP_KDF_derive(kctx, out, outlen, params) != 1) {
		OPENSSL_cleanse(out, outlen);
		rc = sl_fail(err, SL_ECRYPTO, "hkdf: derivation failed");
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* The AES key both ends derive: ECDH(priv, peer), HKDF with E || kid. */
static int
seal_key(EVP_PKEY *priv, EVP_PKEY *peer, const uint8_t epub[P256_PUB_LEN], const char *kid, uint8_t key[SEAL_KEY_LEN],
	struct sl_err *err)
{
	uint8_t shared[SEAL_SHARED_LEN], salt[P256_PUB_LEN + SEAL_KID_MAX];
	size_t kidlen = strlen(kid), n = sizeof(shared);
	EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	int rc = SL_OK;

	/* Both callers made `peer` with p256_public_like(), which validated
	 * it on P-256; set_peer's own check (validate_peer = 1) would repeat
	 * that with a full scalar multiplication. */
	if (dctx == NULL || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer_ex(dctx, peer, 0) != 1 ||
		EVP_PKEY_derive(dctx, shared, &n) != 1 || n != sizeof(shared))
		rc = sl_fail(err, SL_ECRYPTO, "seal: key agreement failed");
	EVP_PKEY_CTX_free(dctx);
	if (rc == SL_OK) {
		memcpy(salt, epub, P256_PUB_LEN);
		memcpy(salt + P256_PUB_LEN, kid, kidlen);
		rc = crypto_hkdf_sha256(
			shared, sizeof(shared), salt, P256_PUB_LEN + kidlen, SEAL_INFO, key, SEAL_KEY_LEN, err);
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	return rc;
}

/* AES-256-GCM in either direction; `tag` is written (enc) or checked. */
static int
seal_gcm(int enc, const uint8_t key[SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE_LEN], const uint8_t *aad,
	size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, ok;

	ok = cipher != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1;
	if (ok && inlen > 0)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1 && (size_t)n == inlen;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + inlen, &n) == 1 && n == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	return ok ? SL_OK : SL_ECRYPTO;
}

/* Limits both directions share. */
static int
seal_args(const char *kid, const uint8_t *aad, size_t aadlen, struct sl_err *err)
{
	size_t kidlen = kid ? strnlen(kid, SEAL_KID_MAX + 1) : 0;

	if (kidlen == 0 || kidlen > SEAL_KID_MAX)
		return sl_fail(err, SL_EINVAL, "seal: the server key id must be 1..%d bytes", SEAL_KID_MAX);
	if (aad == NULL || aadlen == 0 || aadlen > SEAL_AAD_MAX)
		return sl_fail(err, SL_EINVAL, "seal: the request id must be 1..%d bytes", SEAL_AAD_MAX);
	return SL_OK;
}

/* The ephemeral key pair and its uncompressed public point. */
static EVP_PKEY *
seal_ephemeral(uint8_t epub[P256_PUB_LEN], struct sl_err *err)
{
	EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t n = 0;

	if (eph == NULL || EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, epub, P256_PUB_LEN, &n) != 1 ||
		n != P256_PUB_LEN || epub[0] != POINT_CONVERSION_UNCOMPRESSED) {
		EVP_PKEY_free(eph);
		sl_fail(err, SL_ECRYPTO, "seal: cannot make the ephemeral key");
		return NULL;
	}
	return eph;
}

int
seal(const uint8_t server_pub[P256_PUB_LEN], const char *server_kid, const uint8_t *aad, size_t aadlen,
	const uint8_t *plain, size_t plainlen, uint8_t **out, size_t *outlen, struct sl_err *err)
{
	uint8_t key[SEAL_KEY_LEN], *blob = NULL;
	EVP_PKEY *peer = NULL, *eph = NULL;
	size_t len = SEAL_OVERHEAD + plainlen;
	int rc;

	*out = NULL;
	*outlen = 0;
	rc = seal_args(server_kid, aad, aadlen, err);
	if (rc != SL_OK)
		return rc;
	if (plainlen > SEAL_PLAIN_MAX)
		return sl_fail(err, SL_ETOOBIG, "seal: plaintext over %d bytes", SEAL_PLAIN_MAX);
	if (plain == NULL && plainlen > 0)
		return sl_fail(err, SL_EINVAL, "seal: no plaintext");
	if ((blob = malloc(len)) == NULL)
		return sl_fail(err, SL_ENOMEM, "seal: out of memory");
	blob[0] = SEAL_VERSION;
	if ((eph = seal_ephemeral(blob + SEAL_OFF_PUB, err)) == NULL) {
		rc = SL_ECRYPTO;
		goto out;
	}
	if ((peer = p256_public_like(eph, server_pub, err)) == NULL) {
		rc = SL_EINVAL;
		goto out;
	}
	rc = seal_key(eph, peer, blob + SEAL_OFF_PUB, server_kid, key, err);
	if (rc == SL_OK && sl_random(blob + SEAL_OFF_NONCE, SEAL_NONCE_LEN) != SL_OK)
		rc = sl_fail(err, SL_ECRYPTO, "seal: no randomness");
	if (rc == SL_OK && seal_gcm(1, key, blob + SEAL_OFF_NONCE, aad, aadlen, plain, plainlen, blob + SEAL_OFF_CT,
				   blob + len - SEAL_TAG_LEN) != SL_OK)
		rc = sl_fail(err, SL_ECRYPTO, "seal: encryption failed");
	if (rc == SL_OK) {
		*out = blob;
		*outlen = len;
		blob = NULL;
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (blob != NULL)
		OPENSSL_clear_free(blob, len);
	EVP_PKEY_free(eph);
	EVP_PKEY_free(peer);
	return rc;
}

int
unseal(EVP_PKEY *server_priv, const char *server_kid, const uint8_t *aad, size_t aadlen, const uint8_t *sealed,
	size_t len, uint8_t **plain, size_t *plainlen, struct sl_err *err)
{
	uint8_t key[SEAL_KEY_LEN], tag[SEAL_TAG_LEN], *buf = NULL;
	EVP_PKEY *eph = NULL;
	size_t n;
	int rc;

	*plain = NULL;
	*plainlen = 0;
	rc = seal_args(server_kid, aad, aadlen, err);
	if (rc != SL_OK)
		return rc;
	if (server_priv == NULL || !p256_is(server_priv))
		return sl_fail(err, SL_EINVAL, "unseal: the server key is not a P-256 key");
	if (sealed == NULL || len < SEAL_OVERHEAD || len > SEAL_OVERHEAD + SEAL_PLAIN_MAX)
		return sl_fail(err, SL_EINVAL, "unseal: bad length");
	if (sealed[0] != SEAL_VERSION)
		return sl_fail(err, SL_EINVAL, "unseal: unknown version %u", sealed[0]);
	if ((eph = p256_public_like(server_priv, sealed + SEAL_OFF_PUB, err)) == NULL)
		return SL_EINVAL;
	n = len - SEAL_OVERHEAD;
	if ((buf = malloc(n > 0 ? n : 1)) == NULL) {
		rc = sl_fail(err, SL_ENOMEM, "unseal: out of memory");
		goto out;
	}
	rc = seal_key(server_priv, eph, sealed + SEAL_OFF_PUB, server_kid, key, err);
	memcpy(tag, sealed + len - SEAL_TAG_LEN, SEAL_TAG_LEN);
	if (rc == SL_OK &&
		seal_gcm(0, key, sealed + SEAL_OFF_NONCE, aad, aadlen, sealed + SEAL_OFF_CT, n, buf, tag) != SL_OK)
		rc = sl_fail(err, SL_EDENIED, "unseal: the sealed data does not authenticate");
	if (rc == SL_OK) {
		*plain = buf;
		*plainlen = n;
		buf = NULL;
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (buf != NULL)
		OPENSSL_clear_free(buf, n > 0 ? n : 1);
	EVP_PKEY_free(eph);
	return rc;
}
