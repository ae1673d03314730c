/*
 * proof.c — the transport key and the proof every device-API call carries
 * (docs/device-api.md, "Device proofs"): a compact JWS, ES256, header
 * {"typ":"dpop+jwt","alg":"ES256","kid":<RFC 7638 thumbprint>}, claims
 * htm, htu, iat and a fresh jti.  No jwk header: the server registered the
 * key by its thumbprint at enrolment, and the JOSE wrapper refuses
 * embedded keys anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "app_int.h"

#define PROOF_JTI_BYTES 16 /* 22 base64url characters */

int
sapp_transport_generate(char pem[SAPP_PEM_MAX], struct sl_err *err)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;
	int rc = SL_OK;

	if (key == NULL || bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
		(n = BIO_get_mem_data(bio, &data)) <= 0)
		rc = sl_fail(err, SL_ECRYPTO, "cannot make a transport key");
	else if ((size_t)n >= SAPP_PEM_MAX)
		rc = sl_fail(err, SL_ETOOBIG, "transport key PEM too long");
	else {
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
	}
	if (data != NULL && n > 0)
		OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return rc;
}

/* One coordinate of the public point, 32 bytes, base64url. */
static int
coord(EVP_PKEY *key, const char *param, char out[SAPP_JKT_LEN + 1])
{
	BIGNUM *bn = NULL;
	uint8_t raw[32];
	char *enc;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1 || BN_bn2binpad(bn, raw, sizeof(raw)) != sizeof(raw)) {
		BN_free(bn);
		return SL_ECRYPTO;
	}
	BN_free(bn);
	enc = sl_b64url_encode(raw, sizeof(raw));
	if (enc == NULL || strlen(enc) != SAPP_JKT_LEN) {
		free(enc);
		return SL_ENOMEM;
	}
	memcpy(out, enc, SAPP_JKT_LEN + 1);
	free(enc);
	return SL_OK;
}

/* RFC 7638: SHA-256 over the required members in lexicographic order. */
static int
thumbprint(struct sapp_transport *tk)
{
	char canon[160];
	uint8_t h[SL_SHA256_LEN];
	char *enc;
	int n;

	n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", tk->tk_x,
		tk->tk_y);
	if (n < 0 || (size_t)n >= sizeof(canon) || crypto_sha256(canon, (size_t)n, h) != SL_OK)
		return SL_ECRYPTO;
	enc = sl_b64url_encode(h, sizeof(h));
	if (enc == NULL)
		return SL_ENOMEM;
	sl_strlcpy(tk->tk_jkt, enc, sizeof(tk->tk_jkt));
	free(enc);
	return SL_OK;
}

int
sapp_transport_load(const char *pem, struct sapp_transport *out, struct sl_err *err)
{
	BIO *bio;

	memset(out, 0, sizeof(*out));
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	out->tk_pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (out->tk_pkey == NULL || !p256_is(out->tk_pkey)) {
		sapp_transport_clear(out);
		return sl_fail(err, SL_EINVAL, "state: transport_key is not a P-256 private key");
	}
	if (coord(out->tk_pkey, OSSL_PKEY_PARAM_EC_PUB_X, out->tk_x) != SL_OK ||
		coord(out->tk_pkey, OSSL_PKEY_PARAM_EC_PUB_Y, out->tk_y) != SL_OK || thumbprint(out) != SL_OK) {
		sapp_transport_clear(out);
		return sl_fail(err, SL_ECRYPTO, "cannot read the transport key");
	}
	out->tk_jose = jose_key_from_pem(pem, "ES256", out->tk_jkt, err);
	if (out->tk_jose == NULL) {
		sapp_transport_clear(out);
		return err ? err->code : SL_ECRYPTO;
	}
	return SL_OK;
}

void
sapp_transport_clear(struct sapp_transport *tk)
{
	if (tk == NULL)
		return;
	EVP_PKEY_free(tk->tk_pkey);
	jose_key_free(tk->tk_jose);
	memset(tk, 0, sizeof(*tk));
}

json_t *
sapp_transport_jwk(const struct sapp_transport *tk)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", tk->tk_x, "y", tk->tk_y);
}

char *
sapp_proof(const struct sapp_transport *tk, const char *method, const char *htu, struct sl_err *err)
{
	char *jti = sl_random_id(PROOF_JTI_BYTES);
	json_t *claims;
	char *jws;

	if (jti == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	claims = json_pack("{s:s, s:s, s:I, s:s}", "htm", method, "htu", htu, "iat", (json_int_t)sl_now(), "jti", jti);
	free(jti);
	if (claims == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	jws = jose_sign(tk->tk_jose, claims, "dpop+jwt", err);
	json_decref(claims);
	return jws;
}
