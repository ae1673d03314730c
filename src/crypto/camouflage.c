/*
 * camouflage.c — the app's confirmation key, stored so that a stolen state
 * file offers no test of a guessed code (Hoover & Kausik's "cryptographic
 * camouflage"; PROTOCOL.md "Camouflage").
 *
 * The phone keeps only c = (d - k(code)) mod n and a random salt, where d is
 * the P-256 confirmation key and
 *
 *	k(code) = HKDF-SHA256(IKM = scrypt(code, salt, N, r, p, 32 bytes),
 *	                      salt = empty, info = "sleutel confirm v1", 48 bytes)
 *
 * read as a big-endian integer and reduced mod n (48 bytes leave a bias
 * below 2^-128, as in FIPS 186-5 A.2.1).  Any candidate code opens the state
 * to d' = (c + k(code')) mod n, a well-formed scalar, so nothing in this
 * file may fail or behave differently because a code is wrong: there is no
 * MAC, no check value and no public key on the phone.  Only the server,
 * which alone holds Q = d*G, can tell the right code by verifying a
 * signature, and it counts the failures.
 *
 * Everything is OpenSSL 3: the SCRYPT and HKDF KDFs, BIGNUM arithmetic mod
 * the group order, EC_POINT_mul for the public point and EVP_PKEY_fromdata
 * for the key.  Secrets live in secure BIGNUMs or stack buffers that are
 * cleansed before returning.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "crypto.h"
#include "crypto_int.h"

#define CAMO_IKM_LEN 32 /* scrypt output */
#define CAMO_OKM_LEN 48 /* HKDF output, reduced mod n */
#define CAMO_LOG2N_MAX 24

const struct camo_params camo_default_params = { CAMO_LOG2N, CAMO_R, CAMO_P };

/* The group and a BN_CTX, made per call so that nothing is shared. */
struct camo_ctx {
	EC_GROUP *cx_group;
	const BIGNUM *cx_order;
	BN_CTX *cx_bn;
};

static int
camo_ctx_init(struct camo_ctx *cx, struct sl_err *err)
{
	cx->cx_bn = BN_CTX_secure_new();
	cx->cx_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	cx->cx_order = cx->cx_group ? EC_GROUP_get0_order(cx->cx_group) : NULL;
	if (cx->cx_bn == NULL || cx->cx_order == NULL)
		return sl_fail(err, SL_ENOMEM, "camouflage: cannot set up P-256");
	return SL_OK;
}

static void
camo_ctx_free(struct camo_ctx *cx)
{
	EC_GROUP_free(cx->cx_group);
	BN_CTX_free(cx->cx_bn);
}

BIGNUM *
camo_bn_new(void)
{
	BIGNUM *bn = BN_secure_new();

	if (bn != NULL)
		BN_set_flags(bn, BN_FLG_CONSTTIME);
	return bn;
}

bool
camo_code_ok(const char *code)
{
	if (code == NULL || strlen(code) != CAMO_CODE_LEN)
		return false;
	for (size_t i = 0; i < CAMO_CODE_LEN; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return true;
}

int
camo_params_check(const struct camo_params *p, struct sl_err *err)
{
	uint64_t mem;

	if (p == NULL || p->cp_log2n < 1 || p->cp_log2n > CAMO_LOG2N_MAX || p->cp_r < 1 || p->cp_p < 1)
		return sl_fail(err, SL_EINVAL, "camouflage: bad scrypt parameters");
	/* What OpenSSL's scrypt allocates: 128 r (N + 2) + 128 r p bytes. */
	if (p->cp_r > CAMO_MAXMEM / 128 || p->cp_p > CAMO_MAXMEM / 128)
		return sl_fail(err, SL_ETOOBIG, "camouflage: scrypt parameters too large");
	mem = 128ull * p->cp_r * (((uint64_t)1 << p->cp_log2n) + 2) + 128ull * p->cp_r * p->cp_p;
	if (mem > (uint64_t)CAMO_MAXMEM)
		return sl_fail(err, SL_ETOOBIG, "camouflage: scrypt needs more than %u bytes", CAMO_MAXMEM);
	return SL_OK;
}

/* scrypt(code, salt, N, r, p) into ikm[CAMO_IKM_LEN]. */
static int
camo_scrypt(const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p, uint8_t ikm[CAMO_IKM_LEN],
	struct sl_err *err)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	uint64_t n = (uint64_t)1 << p->cp_log2n, maxmem = (uint64_t)CAMO_MAXMEM;
	uint32_t r = p->cp_r, par = p->cp_p;
	OSSL_PARAM params[7];
	int rc = SL_OK;

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)code, strlen(code));
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, CAMO_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (kctx == NULL || EVP_KDF_derive(kctx, ikm, CAMO_IKM_LEN, params) != 1) {
		OPENSSL_cleanse(ikm, CAMO_IKM_LEN);
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: scrypt failed");
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* Validate the arguments every entry point shares; fills in the defaults. */
static int
camo_args(const char *code, const struct camo_params **p, struct sl_err *err)
{
	size_t len;

	if (*p == NULL)
		*p = &camo_default_params;
	if (code == NULL)
		return sl_fail(err, SL_EINVAL, "camouflage: no code");
	len = strnlen(code, CAMO_CODE_MAX + 1);
	if (len == 0 || len > CAMO_CODE_MAX)
		return sl_fail(err, SL_EINVAL, "camouflage: code must be 1..%d bytes", CAMO_CODE_MAX);
	return camo_params_check(*p, err);
}

int
camo_kdf(const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p, const char *info,
	uint8_t *out, size_t outlen, struct sl_err *err)
{
	uint8_t ikm[CAMO_IKM_LEN];
	int rc;

	if (salt == NULL || info == NULL || out == NULL || outlen == 0 || outlen > CAMO_KDF_MAX)
		return sl_fail(err, SL_EINVAL, "camouflage: bad key-stream arguments");
	rc = camo_args(code, &p, err);
	if (rc == SL_OK)
		rc = camo_scrypt(code, salt, p, ikm, err);
	if (rc == SL_OK)
		rc = crypto_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, info, out, outlen, err);
	if (rc != SL_OK)
		OPENSSL_cleanse(out, outlen);
	OPENSSL_cleanse(ikm, sizeof(ikm));
	return rc;
}

/* k(code) mod n into `k` (a secure BIGNUM the caller owns). */
static int
camo_k(struct camo_ctx *cx, const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p, BIGNUM *k,
	struct sl_err *err)
{
	uint8_t okm[CAMO_OKM_LEN];
	BIGNUM *wide = camo_bn_new();
	int rc;

	if (wide == NULL)
		return sl_fail(err, SL_ENOMEM, "camouflage: out of memory");
	rc = camo_kdf(code, salt, p, CAMO_INFO, okm, sizeof(okm), err);
	if (rc == SL_OK &&
		(BN_bin2bn(okm, sizeof(okm), wide) == NULL || BN_nnmod(k, wide, cx->cx_order, cx->cx_bn) != 1))
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: reduction failed");
	OPENSSL_cleanse(okm, sizeof(okm));
	BN_clear_free(wide);
	return rc;
}

int
camo_code_scalar(const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p,
	uint8_t k_out[P256_SCALAR_LEN], struct sl_err *err)
{
	struct camo_ctx cx;
	BIGNUM *k = NULL;
	int rc;

	if (salt == NULL || k_out == NULL)
		return sl_fail(err, SL_EINVAL, "camouflage: no salt");
	rc = camo_args(code, &p, err);
	if (rc != SL_OK)
		return rc;
	rc = camo_ctx_init(&cx, err);
	if (rc == SL_OK && (k = camo_bn_new()) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "camouflage: out of memory");
	if (rc == SL_OK)
		rc = camo_k(&cx, code, salt, p, k, err);
	if (rc == SL_OK && BN_bn2binpad(k, k_out, P256_SCALAR_LEN) != P256_SCALAR_LEN)
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: encoding failed");
	BN_clear_free(k);
	camo_ctx_free(&cx);
	return rc;
}

/* pub = d*G as an uncompressed point. */
static int
camo_point(struct camo_ctx *cx, const BIGNUM *d, uint8_t pub[P256_PUB_LEN], struct sl_err *err)
{
	EC_POINT *q = EC_POINT_new(cx->cx_group);
	int rc = SL_OK;

	if (q == NULL || EC_POINT_mul(cx->cx_group, q, d, NULL, NULL, cx->cx_bn) != 1 ||
		EC_POINT_point2oct(cx->cx_group, q, POINT_CONVERSION_UNCOMPRESSED, pub, P256_PUB_LEN, cx->cx_bn) !=
			P256_PUB_LEN)
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: public point failed");
	EC_POINT_free(q);
	return rc;
}

/* An EVP_PKEY for the scalar d (0 < d < n) with its public point. */
static int
camo_key(struct camo_ctx *cx, const BIGNUM *d, EVP_PKEY **out, struct sl_err *err)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t priv[P256_SCALAR_LEN], pub[P256_PUB_LEN];
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *pctx = NULL;
	int rc;

	*out = NULL;
	rc = camo_point(cx, d, pub, err);
	if (rc != SL_OK)
		return rc;
	/* OSSL_PARAM integers are in native byte order. */
	if (BN_bn2nativepad(d, priv, sizeof(priv)) != sizeof(priv)) {
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: encoding failed");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, priv, sizeof(priv));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[3] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
		EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1) {
		*out = NULL;
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: cannot build the key");
	}
out:
	OPENSSL_cleanse(priv, sizeof(priv));
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int
camo_make(const char *code, const struct camo_params *p, uint8_t c_out[P256_SCALAR_LEN],
	uint8_t salt_out[CAMO_SALT_LEN], uint8_t pub_out[P256_PUB_LEN], struct sl_err *err)
{
	struct camo_ctx cx;
	BIGNUM *d = NULL, *k = NULL, *c = NULL;
	int rc;

	if (c_out == NULL || salt_out == NULL || pub_out == NULL)
		return sl_fail(err, SL_EINVAL, "camouflage: nowhere to write the state");
	rc = camo_args(code, &p, err);
	if (rc != SL_OK)
		return rc;
	rc = camo_ctx_init(&cx, err);
	if (rc == SL_OK && ((d = camo_bn_new()) == NULL || (k = camo_bn_new()) == NULL || (c = camo_bn_new()) == NULL))
		rc = sl_fail(err, SL_ENOMEM, "camouflage: out of memory");
	if (rc == SL_OK && sl_random(salt_out, CAMO_SALT_LEN) != SL_OK)
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: no randomness");
	/* d uniform in [1, n) from OpenSSL's private DRBG. */
	while (rc == SL_OK && BN_is_zero(d))
		if (BN_priv_rand_range_ex(d, cx.cx_order, 0, cx.cx_bn) != 1)
			rc = sl_fail(err, SL_ECRYPTO, "camouflage: no randomness");
	if (rc == SL_OK)
		rc = camo_point(&cx, d, pub_out, err);
	if (rc == SL_OK)
		rc = camo_k(&cx, code, salt_out, p, k, err);
	if (rc == SL_OK && (BN_mod_sub(c, d, k, cx.cx_order, cx.cx_bn) != 1 ||
				   BN_bn2binpad(c, c_out, P256_SCALAR_LEN) != P256_SCALAR_LEN))
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: arithmetic failed");
	if (rc != SL_OK) {
		OPENSSL_cleanse(c_out, P256_SCALAR_LEN);
		OPENSSL_cleanse(salt_out, CAMO_SALT_LEN);
		OPENSSL_cleanse(pub_out, P256_PUB_LEN);
	}
	BN_clear_free(d);
	BN_clear_free(k);
	BN_clear_free(c);
	camo_ctx_free(&cx);
	return rc;
}

int
camo_open(const uint8_t c[P256_SCALAR_LEN], const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p,
	const char *code, EVP_PKEY **key_out, struct sl_err *err)
{
	struct camo_ctx cx;
	BIGNUM *cbn = NULL, *k = NULL, *d = NULL;
	int rc;

	*key_out = NULL;
	if (c == NULL || salt == NULL)
		return sl_fail(err, SL_EINVAL, "camouflage: no state");
	rc = camo_args(code, &p, err);
	if (rc != SL_OK)
		return rc;
	rc = camo_ctx_init(&cx, err);
	if (rc == SL_OK &&
		((cbn = camo_bn_new()) == NULL || (k = camo_bn_new()) == NULL || (d = camo_bn_new()) == NULL))
		rc = sl_fail(err, SL_ENOMEM, "camouflage: out of memory");
	if (rc == SL_OK && BN_bin2bn(c, P256_SCALAR_LEN, cbn) == NULL)
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: bad state");
	if (rc == SL_OK)
		rc = camo_k(&cx, code, salt, p, k, err);
	/* BN_mod_add reduces, so a c >= n in a damaged file still opens. */
	if (rc == SL_OK && BN_mod_add(d, cbn, k, cx.cx_order, cx.cx_bn) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: arithmetic failed");
	if (rc == SL_OK && BN_is_zero(d))
		rc = sl_fail(err, SL_ECRYPTO, "camouflage: the code opens to zero");
	if (rc == SL_OK)
		rc = camo_key(&cx, d, key_out, err);
	BN_clear_free(cbn);
	BN_clear_free(k);
	BN_clear_free(d);
	camo_ctx_free(&cx);
	return rc;
}
