/*
 * proof.c — device proofs (docs/device-api.md "Device proofs", RFC 9449's
 * shape).  Every device-API call but /config and /keys carries, in the
 * DPoP header, a compact JWS made with the device's transport key:
 * header {"typ":"dpop+jwt","alg":"ES256","kid":<jkt>}, claims htm, htu,
 * iat, jti.  The kid is the RFC 7638 thumbprint of the transport key, by
 * which the server finds the enrolment or device; there is no embedded
 * key (the JOSE wrapper refuses a "jwk" header) and no bearer secret.
 *
 * The RFC 9449 check itself (typ, alg ES256, the signature with the key
 * the kid names, htm, htu, iat within [app] proof_window, jti of 16..64
 * base64url characters) is the shared one, dpop_proof_verify() in
 * src/crypto/dpop.c, which the OAuth endpoints use too.  The jti is used
 * once per key: store_jti_use under "dev:<jkt>" until iat + window + 1, after
 * which iat alone refuses it (dpop.c records it).
 *
 * Pure functions (no store, no HTTP), so unit tests and fuzzers reach them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "device_int.h"

#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static int
b64_coord(json_t *jwk, const char *name, uint8_t out[32])
{
	const char *s = json_string_value(json_object_get(jwk, name));
	uint8_t *raw;
	size_t n = 0;

	if (s == NULL || strlen(s) != 43 || (raw = sl_b64url_decode(s, 43, &n)) == NULL)
		return SL_EINVAL;
	if (n == 32)
		memcpy(out, raw, 32);
	free(raw);
	return n == 32 ? SL_OK : SL_EINVAL;
}

int
app_jwk_point(json_t *jwk, uint8_t out[P256_PUB_LEN], struct sl_err *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	EVP_PKEY *k;

	if (!json_is_object(jwk) || kty == NULL || crv == NULL || strcmp(kty, "EC") != 0 || strcmp(crv, "P-256") != 0)
		return sl_fail(err, SL_EINVAL, "the transport key must be a P-256 public JWK");
	if (json_object_get(jwk, "d") != NULL)
		return sl_fail(err, SL_EINVAL, "the transport key must not hold its private part");
	out[0] = 0x04;
	if (b64_coord(jwk, "x", out + 1) != SL_OK || b64_coord(jwk, "y", out + 33) != SL_OK)
		return sl_fail(err, SL_EINVAL, "the transport key's x and y must be 32-byte base64url values");
	if ((k = p256_public_from_bytes(out, err)) == NULL)
		return SL_EINVAL;
	EVP_PKEY_free(k);
	return SL_OK;
}

int
app_jwk_thumbprint(json_t *jwk, char out[APP_JKT_LEN + 1], struct sl_err *err)
{
	uint8_t pub[P256_PUB_LEN];
	int rc;

	out[0] = '\0';
	rc = app_jwk_point(jwk, pub, err);
	return rc == SL_OK ? dpop_jwk_thumbprint(jwk, out, err) : rc;
}

int
app_proof_kid(const char *proof, char out[APP_JKT_LEN + 1])
{
	json_t *hdr;
	const char *kid;
	int rc = SL_EINVAL;

	out[0] = '\0';
	if (proof == NULL || strlen(proof) > APP_PROOF_MAX || (hdr = jose_peek_header(proof)) == NULL)
		return SL_EINVAL;
	kid = json_string_value(json_object_get(hdr, "kid"));
	if (kid != NULL && strlen(kid) == APP_JKT_LEN && strspn(kid, B64URL_CHARS) == APP_JKT_LEN) {
		memcpy(out, kid, APP_JKT_LEN + 1);
		rc = SL_OK;
	}
	json_decref(hdr);
	return rc;
}

struct jose_key *
app_proof_key(json_t *jwk, char jkt[APP_JKT_LEN + 1], struct sl_err *err)
{
	static const char *const es256[] = { "ES256", NULL };
	struct jose_key *key;
	json_t *copy;

	if (app_jwk_thumbprint(jwk, jkt, err) != SL_OK)
		return NULL;
	/* The wrapper picks a key by kid: give the key its thumbprint as kid,
	 * so a proof naming another kid finds no key. */
	copy = json_pack("{s:s,s:s,s:O,s:O,s:s}", "kty", "EC", "crv", "P-256", "x", json_object_get(jwk, "x"), "y",
		json_object_get(jwk, "y"), "kid", jkt);
	key = copy ? jose_key_from_jwk(copy, es256, err) : NULL;
	json_decref(copy);
	if (key == NULL)
		sl_fail(err, SL_EINVAL, "the transport key cannot be used");
	return key;
}

/* The shared RFC 9449 check (crypto/dpop.c) with `key`, whose kid is
 * the thumbprint: ES256 only, no embedded key, no ath. */
static int
proof_finish(const char *proof, struct jose_key *key, const char *htm, const char *htu, int64_t now, int window,
	struct app_proof *out, struct sl_err *err)
{
	static const char *const es256[] = { "ES256", NULL };
	const struct dpop_expect ex = { htm, htu, now, window, es256, NULL };
	struct dpop_proof dp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (proof != NULL && strlen(proof) > APP_PROOF_MAX)
		return sl_fail(err, SL_ETOOBIG, "the proof is longer than %d bytes", APP_PROOF_MAX);
	rc = dpop_proof_verify(proof, key, &ex, &dp, err);
	if (rc != SL_OK)
		return rc == SL_ETOOBIG ? rc : (rc == SL_ENOMEM ? rc : SL_EDENIED);
	memcpy(out->ap_jkt, jose_key_kid(key), APP_JKT_LEN + 1);
	memcpy(out->ap_jti, dp.dp_jti, sizeof(out->ap_jti));
	out->ap_iat = dp.dp_iat;
	return SL_OK;
}

int
app_proof_verify_key(const char *proof, struct jose_key *key, const char *htm, const char *htu, int64_t now, int window,
	struct app_proof *out, struct sl_err *err)
{
	memset(out, 0, sizeof(*out));
	if (key == NULL || strlen(jose_key_kid(key)) != APP_JKT_LEN)
		return sl_fail(err, SL_EINVAL, "the transport key cannot be used");
	return proof_finish(proof, key, htm, htu, now, window, out, err);
}

int
app_proof_verify(const char *proof, json_t *jwk, const char *htm, const char *htu, int64_t now, int window,
	struct app_proof *out, struct sl_err *err)
{
	char jkt[APP_JKT_LEN + 1];
	struct jose_key *key;
	int rc;

	memset(out, 0, sizeof(*out));
	if (proof == NULL)
		return sl_fail(err, SL_EDENIED, "no DPoP proof");
	if ((key = app_proof_key(jwk, jkt, err)) == NULL)
		return SL_EINVAL;
	rc = proof_finish(proof, key, htm, htu, now, window, out, err);
	jose_key_free(key);
	return rc;
}
