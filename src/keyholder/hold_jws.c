/*
 * hold_jws.c — the ID-token signing keys, in the key holder.
 *
 * sleuteld knows from the store which keys are published (kid, alg, and
 * when each signs: keyring.c) and sends that list; the key holder reads
 * each `<kid>.pem` from [keys] dir, keeps the private key, and gives back
 * only the public half.  A rotation (`sleutel keys rotate`, noticed by
 * sleuteld through the store) is a new list: keys still listed are kept
 * as they are, the others are freed.  A list that does not load leaves
 * the previous set in place, as keyring.c did.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "holder_int.h"
#include "../config/config.h"

#define JWS_FILE_MAX 65536 /* bytes of a key file */
#define JWS_LINE_MAX (KH_KID_MAX + 16)
/* The at-rest and sealing keys (hold_seal.c: device-rest.pem,
 * device-seal-<kid>.pem) share [keys] dir with the ID-token keys: a kid
 * with this prefix names one of them, never a signing key (`sleutel keys`
 * makes kids of random base64url), so a key list naming one is refused:
 * an ECDH key must not give ECDSA signatures (key separation). */
#define JWS_NOT_SIGNING_PREFIX "device-"

static void
jws_free(struct hold_jws *j)
{
	EVP_MD_CTX_free(j->hj_sign);
	EVP_PKEY_free(j->hj_key);
	memset(j, 0, sizeof(*j));
}

void
hold_jws_clear(struct holder *ho)
{
	for (size_t i = 0; i < ho->ho_njws; i++)
		jws_free(&ho->ho_jws[i]);
	ho->ho_njws = 0;
}

static bool
key_fits(EVP_PKEY *key, const char *alg)
{
	if (strcmp(alg, "ES256") == 0)
		return p256_is(key);
	return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048;
}

static EVP_PKEY *
jws_read(const struct holder *ho, const char *kid, const char *alg, struct sl_err *err)
{
	char name[KH_KID_MAX + 8], *path, *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *bio;

	snprintf(name, sizeof(name), "%s.pem", kid);
	path = sl_path_resolve(ho->ho_conf->c_keys_dir, name);
	if (path == NULL || sl_file_read(path, JWS_FILE_MAX, &pem, &len, err) != SL_OK) {
		free(path);
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (key == NULL || !key_fits(key, alg)) {
		EVP_PKEY_free(key);
		sl_fail(err, SL_ECRYPTO, "%s: not a private key for %s", path, alg);
		free(path);
		return NULL;
	}
	free(path);
	return key;
}

/* The key of `kid` with `alg`: the one held, or read now. */
static EVP_PKEY *
jws_get(struct holder *ho, const char *kid, const char *alg, struct sl_err *err)
{
	for (size_t i = 0; i < ho->ho_njws; i++)
		if (strcmp(ho->ho_jws[i].hj_kid, kid) == 0 && strcmp(ho->ho_jws[i].hj_alg, alg) == 0) {
			EVP_PKEY_up_ref(ho->ho_jws[i].hj_key);
			return ho->ho_jws[i].hj_key;
		}
	return jws_read(ho, kid, alg, err);
}

/* Append [u16 length][SPKI PEM of key] to out. */
static int
put_public(EVP_PKEY *key, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = 0;
	int rc = SL_OK;

	if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0 ||
		data == NULL) {
		rc = sl_fail(err, SL_ECRYPTO, "cannot write a public key");
	} else if (*outlen + 2 + (size_t)n > KH_PAYLOAD_MAX || n > 0xffff) {
		rc = sl_fail(err, SL_ETOOBIG, "public keys larger than %d bytes", KH_PAYLOAD_MAX);
	} else {
		out[(*outlen)++] = (uint8_t)(n >> 8);
		out[(*outlen)++] = (uint8_t)n;
		memcpy(out + *outlen, data, (size_t)n);
		*outlen += (size_t)n;
	}
	BIO_free(bio);
	return rc;
}

/* A digest-sign context of j's key and algorithm, initialized once: each
 * signature copies it instead of fetching SHA-256 and the signature
 * implementation and setting the key up again (EVP_DigestSignInit_ex per
 * call was the larger part of the key holder's instructions beside the
 * ECDSA itself; docs/performance.md, the sixth round). */
static EVP_MD_CTX *
jws_prepare(const struct hold_jws *j)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = md != NULL && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, j->hj_key, NULL) == 1;

	if (ok && strcmp(j->hj_alg, "PS256") == 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
	if (!ok) {
		EVP_MD_CTX_free(md);
		return NULL;
	}
	return md;
}

/* One "kid alg" line of the list into *j (key read or shared). */
static int
set_line(struct holder *ho, const char *line, size_t len, struct hold_jws *j, struct sl_err *err)
{
	const char *sp = memchr(line, ' ', len);
	size_t kidlen = sp ? (size_t)(sp - line) : 0, alglen = sp ? len - kidlen - 1 : 0;

	if (sp == NULL || kidlen == 0 || !kh_kid_ok(line, kidlen) || alglen == 0 || alglen >= sizeof(j->hj_alg))
		return sl_fail(err, SL_EINVAL, "malformed key list");
	if (kidlen >= strlen(JWS_NOT_SIGNING_PREFIX) &&
		strncmp(line, JWS_NOT_SIGNING_PREFIX, strlen(JWS_NOT_SIGNING_PREFIX)) == 0)
		return sl_fail(err, SL_EDENIED, "%.*s is not an ID-token signing key", (int)kidlen, line);
	memcpy(j->hj_kid, line, kidlen);
	memcpy(j->hj_alg, sp + 1, alglen);
	if (!jose_alg_supported(j->hj_alg))
		return sl_fail(err, SL_EINVAL, "unsupported algorithm");
	j->hj_key = jws_get(ho, j->hj_kid, j->hj_alg, err);
	if (j->hj_key == NULL)
		return err != NULL && err->code != 0 ? err->code : SL_ECRYPTO;
	j->hj_sign = jws_prepare(j);
	return j->hj_sign ? SL_OK : sl_fail(err, SL_ECRYPTO, "cannot set up signing with %s", j->hj_kid);
}

int
hold_jws_set(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	struct hold_jws next[KH_JWS_MAX];
	size_t n = 0, pos = 0;
	int rc = SL_OK;

	memset(next, 0, sizeof(next));
	while (rc == SL_OK && pos < len) {
		const uint8_t *nl = memchr(p + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (p + pos)) : 0;
		if (nl == NULL || l > JWS_LINE_MAX)
			rc = sl_fail(err, SL_EINVAL, "malformed key list");
		else if (n == KH_JWS_MAX)
			rc = sl_fail(err, SL_ETOOBIG, "more than %d signing keys", KH_JWS_MAX);
		else
			rc = set_line(ho, (const char *)p + pos, l, &next[n++], err);
		pos += l + 1;
	}
	for (size_t i = 0; rc == SL_OK && i < n; i++)
		rc = put_public(next[i].hj_key, out, outlen, err);
	if (rc != SL_OK) {
		for (size_t i = 0; i < n; i++)
			jws_free(&next[i]);
		*outlen = 0;
		return rc;
	}
	hold_jws_clear(ho);
	memcpy(ho->ho_jws, next, sizeof(next));
	ho->ho_njws = n;
	return SL_OK;
}

/* DER ECDSA signature to JWS R || S (RFC 7518 §3.4). */
static int
ecdsa_to_jws(const uint8_t *der, size_t len, uint8_t *out, size_t *outlen)
{
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)len);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return SL_ECRYPTO;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	*outlen = 64;
	return ok ? SL_OK : SL_ECRYPTO;
}

int
hold_jws_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	struct hold_jws *j = NULL;
	EVP_MD_CTX *md;
	uint8_t sig[512];
	size_t siglen = sizeof(sig);
	int ok;

	for (size_t i = 0; i < ho->ho_njws && j == NULL; i++)
		if (strcmp(ho->ho_jws[i].hj_kid, kid) == 0)
			j = &ho->ho_jws[i];
	if (j == NULL)
		return sl_fail(err, SL_ENOTFOUND, "no signing key %s", kid);
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_MD_CTX_copy_ex(md, j->hj_sign) == 1 && EVP_DigestSign(md, sig, &siglen, p, len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return sl_fail(err, SL_ECRYPTO, "signing failed");
	if (strcmp(j->hj_alg, "ES256") == 0)
		return ecdsa_to_jws(sig, siglen, out, outlen) == SL_OK ? SL_OK
								       : sl_fail(err, SL_ECRYPTO, "signing failed");
	memcpy(out, sig, siglen);
	*outlen = siglen;
	return SL_OK;
}
