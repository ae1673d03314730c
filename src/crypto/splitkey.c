/*
 * splitkey.c — two-party RSA signatures in the style of Smart-ID's SplitKey
 * (Buldas, Kalu, Laud, Oruaas, "Server-supported RSA signatures for mobile
 * devices", ESORICS 2017).  The contract and the arithmetic are in
 * crypto.h; docs/splitkey.md gives the argument.
 *
 * In short: the device makes an ordinary RSA key (n1, e, d1) with OpenSSL,
 * splits d1 + t*lambda(n1) into a random W-bit share d1' (kept camouflaged
 * under the PIN, exactly as the app key's scalar) and d1'' (given to the
 * server), and forgets p1, q1, d1.  The server adds its own RSA key
 * (n2, e, d2).  EM^d1' * EM^d1'' = EM^d1 (mod n1), because the exponents
 * add up to d1 plus a multiple of lambda(n1); the server combines that with
 * EM^d2 mod n2 by the CRT into a plain RSA signature for n = n1*n2.
 *
 * Both shares move by delta_v = HMAC(kdev, "delta" || v) at every
 * signature, in opposite directions, so their sum stays d1 + t*lambda and
 * a copied state file falls behind: the server refuses any version it has
 * already passed.
 *
 * Nothing here writes padding: sk_encode() asks OpenSSL's own RSA signer,
 * with an identity key (n, e = 1, d = 1), for the encoded message.  Secret
 * exponents go through BN_mod_exp_mont_consttime on BIGNUMs flagged
 * BN_FLG_CONSTTIME, the server's own part through its EVP key (CRT and
 * blinding inside OpenSSL).  Every secret is cleansed before it is freed.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "crypto_int.h"

#define SK_JSON_VERSION 1
#define SK_DELTA_TAG "delta"
#define SK_KEYGEN_TRIES 32 /* server moduli drawn until n has n1 + n2 bits */

const struct sk_params sk_default_params = { SK_N1_BITS, SK_N2_BITS, NULL };

/* ---- small helpers ---- */

static int
sk_share_bits(int n1_bits)
{
	return n1_bits + SK_SHARE_EXTRA_BITS;
}

static bool
sk_bits_ok(int bits)
{
	return bits >= SK_BITS_MIN && bits <= SK_BITS_MAX && bits % 256 == 0;
}

static int
sk_params_check(const struct sk_params **p, struct sl_err *err)
{
	if (*p == NULL)
		*p = &sk_default_params;
	if (!sk_bits_ok((*p)->sp_n1_bits) || !sk_bits_ok((*p)->sp_n2_bits))
		return sl_fail(err, SL_EINVAL, "splitkey: moduli must be %d..%d bits, multiples of 256", SK_BITS_MIN,
			SK_BITS_MAX);
	return camo_params_check((*p)->sp_camo ? (*p)->sp_camo : &camo_default_params, err);
}

/* The PIN length the key's use asks for. */
static int
sk_pin_min(const char *info)
{
	return info != NULL && strcmp(info, SK_INFO_SIGN) == 0 ? SK_PIN2_MIN : SK_PIN1_MIN;
}

/* The static info string for `info`, or NULL when it is neither. */
static const char *
sk_info_static(const char *info)
{
	if (info == NULL)
		return NULL;
	if (strcmp(info, SK_INFO_AUTH) == 0)
		return SK_INFO_AUTH;
	if (strcmp(info, SK_INFO_SIGN) == 0)
		return SK_INFO_SIGN;
	return NULL;
}

bool
sk_pin_ok(const char *pin, int min)
{
	size_t len;

	if (pin == NULL || min < 1)
		return false;
	len = strnlen(pin, SK_PIN_MAX + 1);
	if (len < (size_t)min || len > SK_PIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (pin[i] < '0' || pin[i] > '9')
			return false;
	return true;
}

/* x mod 2^w in place, for 0 <= x < 2^(w+1) (BN_mask_bits fails on a
 * number already shorter than w bits, hence the test). */
static int
sk_mod_2w(BIGNUM *x, int w)
{
	return BN_num_bits(x) > w && BN_mask_bits(x, w) != 1 ? -1 : 0;
}

/* k(PIN) as a W-bit integer into `k` (a secret BIGNUM). */
static int
sk_pin_k(const char *pin, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *cp, const char *info, int w,
	BIGNUM *k, struct sl_err *err)
{
	uint8_t okm[(SK_BITS_MAX + SK_SHARE_EXTRA_BITS) / 8];
	size_t len = (size_t)w / 8;
	int rc;

	if (len > sizeof(okm))
		return sl_fail(err, SL_EINVAL, "splitkey: share too wide");
	rc = camo_kdf(pin, salt, cp, info, okm, len, err);
	if (rc == SL_OK && BN_bin2bn(okm, (int)len, k) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}

/* delta_v = HMAC-SHA256(kdev, "delta" || u64be(v)), first SK_DELTA_BITS. */
static int
sk_delta(const uint8_t kdev[SK_KDEV_LEN], uint64_t v, BIGNUM *out)
{
	uint8_t msg[sizeof(SK_DELTA_TAG) - 1 + 8], mac[SL_SHA256_LEN];
	size_t tag = sizeof(SK_DELTA_TAG) - 1;
	int rc = 0;

	memcpy(msg, SK_DELTA_TAG, tag);
	for (int i = 0; i < 8; i++)
		msg[tag + (size_t)i] = (uint8_t)(v >> (56 - 8 * i));
	if (crypto_hmac_sha256(kdev, SK_KDEV_LEN, msg, sizeof(msg), mac) != SL_OK ||
		BN_bin2bn(mac, SK_DELTA_BITS / 8, out) == NULL)
		rc = -1;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

/* ---- device keygen ---- */

/* The secrets of a fresh device key, all cleansed by sk_split_free(). */
struct sk_split {
	BIGNUM *ss_p, *ss_q, *ss_d, *ss_lambda, *ss_d1p, *ss_d1pp, *ss_n1;
};

static void
sk_split_free(struct sk_split *s)
{
	BN_clear_free(s->ss_p);
	BN_clear_free(s->ss_q);
	BN_clear_free(s->ss_d);
	BN_clear_free(s->ss_lambda);
	BN_clear_free(s->ss_d1p);
	BN_clear_free(s->ss_d1pp);
	BN_free(s->ss_n1);
	memset(s, 0, sizeof(*s));
}

/* An RSA key of `bits` with e = SK_E from OpenSSL's generator. */
static EVP_PKEY *
sk_rsa_keygen(int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *e = BN_new();

	if (ctx == NULL || e == NULL || BN_set_word(e, SK_E) != 1 || EVP_PKEY_keygen_init(ctx) != 1 ||
		EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) != 1 || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 ||
		EVP_PKEY_generate(ctx, &key) != 1)
		key = NULL;
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* n of exactly `bits` bits whose second bit from the top is set too, so
 * n >= 3/4 * 2^bits.  OpenSSL only promises n >= 9/16 * 2^bits; with a
 * device modulus that low, a server modulus makes n1 * n2 of the full
 * n1 + n2 bits only about one draw in ten, and 32 draws can all miss (seen
 * in CI).  From 3/4 up, more than four draws in five make it. */
static int
sk_modulus_high(const BIGNUM *n, int bits)
{
	return BN_num_bits(n) == bits && BN_is_bit_set(n, bits - 2);
}

/* A device RSA key whose modulus is high (above); about one draw in two. */
static EVP_PKEY *
sk_device_rsa_keygen(int bits)
{
	for (int i = 0; i < SK_KEYGEN_TRIES; i++) {
		EVP_PKEY *key = sk_rsa_keygen(bits);
		BIGNUM *n = NULL;
		int high;

		if (key == NULL || EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1) {
			EVP_PKEY_free(key);
			return NULL;
		}
		high = sk_modulus_high(n, bits);
		BN_free(n);
		if (high)
			return key;
		EVP_PKEY_free(key);
	}
	return NULL;
}

/* n1, p1, q1, d1 out of the key; lambda = lcm(p1 - 1, q1 - 1). */
static int
sk_split_read(EVP_PKEY *key, struct sk_split *s, BN_CTX *bn)
{
	BIGNUM *pm = camo_bn_new(), *qm = camo_bn_new(), *g = camo_bn_new(), *prod = camo_bn_new();
	int ok;

	s->ss_lambda = camo_bn_new();
	ok = pm && qm && g && prod && s->ss_lambda &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &s->ss_n1) == 1 &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, &s->ss_p) == 1 &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR2, &s->ss_q) == 1 &&
	     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_D, &s->ss_d) == 1;

	if (ok) {
		BN_set_flags(s->ss_p, BN_FLG_CONSTTIME);
		BN_set_flags(s->ss_q, BN_FLG_CONSTTIME);
		BN_set_flags(s->ss_d, BN_FLG_CONSTTIME);
		ok = BN_sub(pm, s->ss_p, BN_value_one()) == 1 && BN_sub(qm, s->ss_q, BN_value_one()) == 1 &&
		     BN_gcd(g, pm, qm, bn) == 1 && BN_mul(prod, pm, qm, bn) == 1 &&
		     BN_div(s->ss_lambda, NULL, prod, g, bn) == 1;
	}
	BN_clear_free(pm);
	BN_clear_free(qm);
	BN_clear_free(g);
	BN_clear_free(prod);
	return ok ? 0 : -1;
}

/* d1' uniform in [0, 2^W); d1'' = d1 + t*lambda - d1' with t the smallest
 * integer such that t*lambda > 2^(W+1), so that d1'' > 2^W: the server's
 * share stays positive while deltas (< 2^128 each) are taken from it. */
static int
sk_split_shares(struct sk_split *s, int w, BN_CTX *bn)
{
	BIGNUM *t = camo_bn_new(), *big = BN_new();
	int ok;

	s->ss_d1p = camo_bn_new();
	s->ss_d1pp = camo_bn_new();
	ok = t && big && s->ss_d1p && s->ss_d1pp &&
	     BN_priv_rand_ex(s->ss_d1p, w, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY, 0, bn) == 1 &&
	     BN_set_bit(big, w + 1) == 1 && BN_div(t, NULL, big, s->ss_lambda, bn) == 1 && BN_add_word(t, 1) == 1 &&
	     BN_mul(s->ss_d1pp, t, s->ss_lambda, bn) == 1 && BN_add(s->ss_d1pp, s->ss_d1pp, s->ss_d) == 1 &&
	     BN_sub(s->ss_d1pp, s->ss_d1pp, s->ss_d1p) == 1;

	BN_clear_free(t);
	BN_free(big);
	return ok ? 0 : -1;
}

/* c = (d1' - k(PIN)) mod 2^W into dev->dk_c. */
static int
sk_camouflage(struct sk_device_key *dev, const struct sk_split *s, const char *pin, const struct camo_params *cp,
	struct sl_err *err)
{
	BIGNUM *k = camo_bn_new();
	int rc;

	dev->dk_c = camo_bn_new();
	if (k == NULL || dev->dk_c == NULL) {
		BN_clear_free(k);
		return sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	}
	rc = sk_pin_k(pin, dev->dk_salt, cp, dev->dk_info, dev->dk_w, k, err);
	/* d1' + (2^W - k), never negative, so no branch on which is larger. */
	if (rc == SL_OK &&
		(BN_set_bit(dev->dk_c, dev->dk_w) != 1 || BN_sub(dev->dk_c, dev->dk_c, k) != 1 ||
			BN_add(dev->dk_c, dev->dk_c, s->ss_d1p) != 1 || sk_mod_2w(dev->dk_c, dev->dk_w) != 0))
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: arithmetic failed");
	BN_clear_free(k);
	return rc;
}

/* Fill the device state and what goes to the server from the split. */
static int
sk_keygen_fill(const struct sk_params *p, struct sk_split *s, const char *pin, struct sk_device_key *dev,
	struct sk_server_key *to_server, struct sl_err *err)
{
	int rc;

	if (sl_random(dev->dk_salt, CAMO_SALT_LEN) != SL_OK || sl_random(dev->dk_kdev, SK_KDEV_LEN) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "splitkey: no randomness");
	rc = sk_camouflage(dev, s, pin, p->sp_camo, err);
	if (rc != SL_OK)
		return rc;
	dev->dk_n1 = BN_dup(s->ss_n1);
	to_server->sk_n1 = BN_dup(s->ss_n1);
	to_server->sk_d1pp = camo_bn_new();
	if (dev->dk_n1 == NULL || to_server->sk_n1 == NULL || to_server->sk_d1pp == NULL ||
		BN_copy(to_server->sk_d1pp, s->ss_d1pp) == NULL)
		return sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	memcpy(to_server->sk_kdev, dev->dk_kdev, SK_KDEV_LEN);
	to_server->sk_w = dev->dk_w;
	to_server->sk_version = 0;
	return SL_OK;
}

int
sk_device_keygen(const struct sk_params *p, const char *info, const char *pin, struct sk_device_key *dev,
	struct sk_server_key *to_server, struct sl_err *err)
{
	struct sk_split s = { 0 };
	EVP_PKEY *key = NULL;
	BN_CTX *bn = NULL;
	int rc;

	if (dev == NULL || to_server == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: nowhere to put the key");
	memset(dev, 0, sizeof(*dev));
	memset(to_server, 0, sizeof(*to_server));
	rc = sk_params_check(&p, err);
	if (rc != SL_OK)
		return rc;
	dev->dk_info = sk_info_static(info);
	if (dev->dk_info == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: unknown key use");
	if (!sk_pin_ok(pin, sk_pin_min(dev->dk_info)))
		return sl_fail(err, SL_EINVAL, "splitkey: the PIN must be %d..%d digits", sk_pin_min(dev->dk_info),
			SK_PIN_MAX);
	dev->dk_w = sk_share_bits(p->sp_n1_bits);
	bn = BN_CTX_secure_new();
	key = bn ? sk_device_rsa_keygen(p->sp_n1_bits) : NULL;
	if (key == NULL)
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: RSA key generation failed");
	if (rc == SL_OK && (sk_split_read(key, &s, bn) != 0 || sk_split_shares(&s, dev->dk_w, bn) != 0))
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: cannot split the key");
	if (rc == SL_OK)
		rc = sk_keygen_fill(p, &s, pin, dev, to_server, err);
	if (rc != SL_OK) {
		sk_device_key_clear(dev);
		sk_server_key_clear(to_server);
	}
	sk_split_free(&s);
	EVP_PKEY_free(key); /* EVP_PKEY_free cleanses the private key */
	BN_CTX_free(bn);
	return rc;
}

/* ---- server keygen and the public key ---- */

/* A new server key in *k2 (the previous one freed) and n = n1 * n2;
 * refused when n1 and n2 share a factor. */
static int
sk_server_draw(int bits, const BIGNUM *n1, EVP_PKEY **k2, BIGNUM *n, BIGNUM *g, BN_CTX *bn, struct sl_err *err)
{
	BIGNUM *n2 = NULL;
	int rc = SL_OK;

	EVP_PKEY_free(*k2);
	*k2 = sk_rsa_keygen(bits);
	if (*k2 == NULL || EVP_PKEY_get_bn_param(*k2, OSSL_PKEY_PARAM_RSA_N, &n2) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: RSA key generation failed");
	if (rc == SL_OK && (BN_gcd(g, n1, n2, bn) != 1 || !BN_is_one(g)))
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: the two moduli share a factor");
	if (rc == SL_OK && BN_mul(n, n1, n2, bn) != 1)
		rc = sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	BN_free(n2);
	return rc;
}

int
sk_server_keygen(const struct sk_params *p, struct sk_server_key *key, struct sl_err *err)
{
	BIGNUM *g = NULL, *n = NULL;
	EVP_PKEY *k2 = NULL;
	BN_CTX *bn = NULL;
	int rc;

	if (key == NULL || key->sk_n1 == NULL || key->sk_d1pp == NULL || key->sk_key2 != NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: no device share to add a server key to");
	rc = sk_params_check(&p, err);
	if (rc != SL_OK)
		return rc;
	if (!BN_is_odd(key->sk_n1) || !sk_modulus_high(key->sk_n1, p->sp_n1_bits) ||
		key->sk_w != sk_share_bits(p->sp_n1_bits))
		return sl_fail(err, SL_EINVAL, "splitkey: the device modulus is not of the agreed size");
	bn = BN_CTX_new();
	g = BN_new();
	n = BN_new();
	if (bn == NULL || g == NULL || n == NULL)
		rc = sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	/* n1 * n2 may fall one bit short; a new n2 makes n exactly n1 + n2 bits
	 * (with n1 high, more than 4 draws in 5 do), so every composite key has
	 * the agreed size. */
	for (int i = 0; rc == SL_OK && i < SK_KEYGEN_TRIES && BN_num_bits(n) != p->sp_n1_bits + p->sp_n2_bits; i++)
		rc = sk_server_draw(p->sp_n2_bits, key->sk_n1, &k2, n, g, bn, err);
	if (rc == SL_OK && BN_num_bits(n) != p->sp_n1_bits + p->sp_n2_bits)
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: no server modulus of the right size");
	if (rc == SL_OK) {
		key->sk_key2 = k2;
		key->sk_n = n;
		k2 = NULL;
		n = NULL;
	}
	EVP_PKEY_free(k2);
	BN_free(n);
	BN_free(g);
	BN_CTX_free(bn);
	return rc;
}

/* An RSA EVP_PKEY from (n, e) and, when d is not NULL, d. */
static EVP_PKEY *
sk_rsa_from(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;

	if (bld != NULL && ctx != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
		(d == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) == 1) &&
		(params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
		EVP_PKEY_fromdata(ctx, &key, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

EVP_PKEY *
sk_public_key(const struct sk_server_key *key, struct sl_err *err)
{
	BIGNUM *e = BN_new();
	EVP_PKEY *pub = NULL;

	if (key == NULL || key->sk_n == NULL)
		sl_fail(err, SL_EINVAL, "splitkey: no composite modulus");
	else if (e == NULL || BN_set_word(e, SK_E) != 1 || (pub = sk_rsa_from(key->sk_n, e, NULL)) == NULL)
		sl_fail(err, SL_ECRYPTO, "splitkey: cannot build the public key");
	BN_free(e);
	return pub;
}

/* ---- encoding through OpenSSL's signer ---- */

static const char *
sk_digest_name(const char *digest, size_t hashlen)
{
	static const char *const names[] = { "SHA256", "SHA384", "SHA512", "SHA3-256", "SHA3-384", "SHA3-512" };
	EVP_MD *md = digest ? EVP_MD_fetch(NULL, digest, NULL) : NULL;
	const char *found = NULL;

	for (size_t i = 0; md != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (EVP_MD_is_a(md, names[i]) && (size_t)EVP_MD_get_size(md) == hashlen)
			found = names[i];
	EVP_MD_free(md);
	return found;
}

/* EVP_PKEY_sign with `key` under `pad` and `md` into em (nbytes). */
static int
sk_sign_identity(EVP_PKEY *key, enum sk_padding pad, const char *md, const uint8_t *hash, size_t hashlen, uint8_t *em,
	size_t nbytes)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	EVP_MD *digest = EVP_MD_fetch(NULL, md, NULL);
	size_t len = nbytes;
	int ok = ctx != NULL && digest != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, pad == SK_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_signature_md(ctx, digest) == 1;

	if (ok && pad == SK_PSS)
		ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) == 1;
	ok = ok && EVP_PKEY_sign(ctx, em, &len, hash, hashlen) == 1 && len == nbytes;
	EVP_MD_free(digest);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
sk_encode(const BIGNUM *n, enum sk_padding pad, const char *digest, const uint8_t *hash, size_t hashlen, uint8_t **em,
	size_t *emlen, struct sl_err *err)
{
	const char *md = sk_digest_name(digest, hashlen);
	BIGNUM *one = BN_new();
	EVP_PKEY *id = NULL;
	size_t nbytes;
	int rc = SL_OK;

	*em = NULL;
	*emlen = 0;
	if (n == NULL || hash == NULL || md == NULL || (pad != SK_PKCS1 && pad != SK_PSS) ||
		BN_num_bits(n) < 2 * SK_BITS_MIN || BN_num_bits(n) > 2 * SK_BITS_MAX) {
		BN_free(one);
		return sl_fail(err, SL_EINVAL, "splitkey: bad digest, hash length, padding or modulus");
	}
	nbytes = (size_t)BN_num_bytes(n);
	*em = malloc(nbytes);
	/* (n, e = 1, d = 1): the "signature" OpenSSL computes is EM itself. */
	if (one == NULL || BN_one(one) != 1 || *em == NULL || (id = sk_rsa_from(n, one, one)) == NULL ||
		sk_sign_identity(id, pad, md, hash, hashlen, *em, nbytes) != 0) {
		free(*em);
		*em = NULL;
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: encoding failed");
	} else {
		*emlen = nbytes;
	}
	EVP_PKEY_free(id);
	BN_free(one);
	return rc;
}

/* EVP_PKEY_verify of `em` as a PSS "signature" under the identity key. */
static int
sk_verify_identity(EVP_PKEY *key, const char *md, const uint8_t *hash, size_t hashlen, const uint8_t *em, size_t emlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	EVP_MD *digest = EVP_MD_fetch(NULL, md, NULL);
	int ok = ctx != NULL && digest != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_signature_md(ctx, digest) == 1 &&
		 EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) == 1 &&
		 EVP_PKEY_verify(ctx, em, emlen, hash, hashlen) == 1;

	EVP_MD_free(digest);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
sk_encode_check(const BIGNUM *n, enum sk_padding pad, const char *digest, const uint8_t *hash, size_t hashlen,
	const uint8_t *em, size_t emlen, struct sl_err *err)
{
	const char *md = sk_digest_name(digest, hashlen);
	BIGNUM *one = NULL;
	EVP_PKEY *id = NULL;
	uint8_t *mine = NULL;
	size_t minelen = 0;
	int rc;

	if (n == NULL || hash == NULL || em == NULL || md == NULL || emlen != (size_t)BN_num_bytes(n))
		return sl_fail(err, SL_EINVAL, "splitkey: bad digest, hash length or encoding length");
	if (pad == SK_PKCS1) {
		rc = sk_encode(n, pad, digest, hash, hashlen, &mine, &minelen, err);
		if (rc == SL_OK && (minelen != emlen || CRYPTO_memcmp(mine, em, emlen) != 0))
			rc = sl_fail(err, SL_EINVAL, "splitkey: the encoding is not of this hash");
		free(mine);
		return rc;
	}
	one = BN_new();
	if (pad != SK_PSS || one == NULL || BN_one(one) != 1 || (id = sk_rsa_from(n, one, NULL)) == NULL)
		rc = sl_fail(err, SL_EINVAL, "splitkey: bad padding or modulus");
	else if (sk_verify_identity(id, md, hash, hashlen, em, emlen) != 0)
		rc = sl_fail(err, SL_EINVAL, "splitkey: the encoding is not a PSS encoding of this hash");
	else
		rc = SL_OK;
	EVP_PKEY_free(id);
	BN_free(one);
	return rc;
}

/* ---- device signature ---- */

/* c += delta_v (mod 2^W), version v -> v + 1. */
static int
sk_device_advance(struct sk_device_key *dev)
{
	BIGNUM *delta = camo_bn_new();
	int ok = delta != NULL && dev->dk_version < UINT64_MAX && sk_delta(dev->dk_kdev, dev->dk_version, delta) == 0 &&
		 BN_add(dev->dk_c, dev->dk_c, delta) == 1 && sk_mod_2w(dev->dk_c, dev->dk_w) == 0;

	if (ok)
		dev->dk_version++;
	BN_clear_free(delta);
	return ok ? 0 : -1;
}

/* part = (em mod n1)^((c + k(PIN)) mod 2^W) mod n1, n1 bytes. */
static int
sk_device_part(const struct sk_device_key *dev, const char *pin, const struct camo_params *cp, const uint8_t *em,
	size_t emlen, uint8_t *part, struct sl_err *err)
{
	BN_CTX *bn = BN_CTX_secure_new();
	BIGNUM *share = camo_bn_new(), *k = camo_bn_new(), *m = BN_new(), *r = BN_new();
	int rc = SL_OK;

	if (bn == NULL || share == NULL || k == NULL || m == NULL || r == NULL)
		rc = sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	if (rc == SL_OK)
		rc = sk_pin_k(pin, dev->dk_salt, cp, dev->dk_info, dev->dk_w, k, err);
	if (rc == SL_OK && (BN_add(share, dev->dk_c, k) != 1 || sk_mod_2w(share, dev->dk_w) != 0 ||
				   BN_bin2bn(em, (int)emlen, m) == NULL || BN_nnmod(m, m, dev->dk_n1, bn) != 1 ||
				   BN_mod_exp_mont_consttime(r, m, share, dev->dk_n1, bn, NULL) != 1 ||
				   BN_bn2binpad(r, part, BN_num_bytes(dev->dk_n1)) != BN_num_bytes(dev->dk_n1)))
		rc = sl_fail(err, SL_ECRYPTO, "splitkey: partial signature failed");
	BN_clear_free(share);
	BN_clear_free(k);
	BN_free(m);
	BN_clear_free(r);
	BN_CTX_free(bn);
	return rc;
}

int
sk_device_sign(struct sk_device_key *dev, const char *pin, const struct sk_params *p, const uint8_t *em, size_t emlen,
	uint64_t *version, uint8_t **part, size_t *partlen, struct sl_err *err)
{
	size_t n1len;
	int rc;

	*part = NULL;
	*partlen = 0;
	rc = sk_params_check(&p, err);
	if (rc != SL_OK)
		return rc;
	if (dev == NULL || dev->dk_n1 == NULL || dev->dk_c == NULL || dev->dk_info == NULL ||
		dev->dk_w != sk_share_bits(BN_num_bits(dev->dk_n1)))
		return sl_fail(err, SL_EINVAL, "splitkey: no device key");
	if (!sk_pin_ok(pin, sk_pin_min(dev->dk_info)))
		return sl_fail(err, SL_EINVAL, "splitkey: the PIN must be %d..%d digits", sk_pin_min(dev->dk_info),
			SK_PIN_MAX);
	if (em == NULL || emlen == 0 || emlen > 2 * SK_BITS_MAX / 8)
		return sl_fail(err, SL_EINVAL, "splitkey: bad encoded message");
	if (sk_device_advance(dev) != 0)
		return sl_fail(err, SL_ECRYPTO, "splitkey: cannot advance the share");
	n1len = (size_t)BN_num_bytes(dev->dk_n1);
	*part = malloc(n1len);
	if (*part == NULL)
		return sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	rc = sk_device_part(dev, pin, p->sp_camo, em, emlen, *part, err);
	if (rc != SL_OK) {
		free(*part);
		*part = NULL;
		return rc;
	}
	*partlen = n1len;
	*version = dev->dk_version;
	return SL_OK;
}

/* ---- server completion ---- */

/* The server's state for one completion; freed by sk_job_free(). */
struct sk_job {
	BN_CTX *j_bn;
	BIGNUM *j_d1pp; /* d1'' at the device's version */
	BIGNUM *j_m, *j_s1, *j_s2, *j_s, *j_e, *j_t;
};

static void
sk_job_free(struct sk_job *j)
{
	BN_clear_free(j->j_d1pp);
	BN_free(j->j_m);
	BN_clear_free(j->j_s1);
	BN_clear_free(j->j_s2);
	BN_free(j->j_s);
	BN_free(j->j_e);
	BN_clear_free(j->j_t);
	BN_CTX_free(j->j_bn);
}

static int
sk_job_init(struct sk_job *j)
{
	memset(j, 0, sizeof(*j));
	j->j_bn = BN_CTX_secure_new();
	j->j_d1pp = camo_bn_new();
	j->j_m = BN_new();
	j->j_s1 = camo_bn_new();
	j->j_s2 = camo_bn_new();
	j->j_s = BN_new();
	j->j_e = BN_new();
	j->j_t = camo_bn_new();
	if (!j->j_bn || !j->j_d1pp || !j->j_m || !j->j_s1 || !j->j_s2 || !j->j_s || !j->j_e || !j->j_t)
		return -1;
	return BN_set_word(j->j_e, SK_E) == 1 ? 0 : -1;
}

/* d1''_v = d1''_w - sum(delta_i, w <= i < v). */
static int
sk_server_share_at(const struct sk_server_key *key, uint64_t v, struct sk_job *j)
{
	if (BN_copy(j->j_d1pp, key->sk_d1pp) == NULL)
		return -1;
	for (uint64_t i = key->sk_version; i < v; i++)
		if (sk_delta(key->sk_kdev, i, j->j_t) != 0 || BN_sub(j->j_d1pp, j->j_d1pp, j->j_t) != 1)
			return -1;
	return BN_is_negative(j->j_d1pp) || BN_is_zero(j->j_d1pp) ? -1 : 0;
}

/* s2 = (em mod n2)^d2 mod n2 through the server's EVP key (raw RSA). */
static int
sk_server_part(const struct sk_server_key *key, struct sk_job *j)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->sk_key2, NULL);
	BIGNUM *n2 = NULL;
	uint8_t buf[SK_BITS_MAX / 8], out[SK_BITS_MAX / 8];
	size_t len = sizeof(out), n2len = 0;
	int ok = ctx != NULL && EVP_PKEY_get_bn_param(key->sk_key2, OSSL_PKEY_PARAM_RSA_N, &n2) == 1;

	if (ok) {
		n2len = (size_t)BN_num_bytes(n2);
		ok = n2len <= sizeof(buf) && BN_nnmod(j->j_t, j->j_m, n2, j->j_bn) == 1 &&
		     BN_bn2binpad(j->j_t, buf, (int)n2len) == (int)n2len && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
		     EVP_PKEY_sign(ctx, out, &len, buf, n2len) == 1 && len == n2len &&
		     BN_bin2bn(out, (int)len, j->j_s2) != NULL;
	}
	/* s = s2 + n2 * ((s1 - s2) * n2^-1 mod n1): all public by now but s1. */
	ok = ok && BN_mod_inverse(j->j_t, n2, key->sk_n1, j->j_bn) != NULL &&
	     BN_mod_sub(j->j_s, j->j_s1, j->j_s2, key->sk_n1, j->j_bn) == 1 &&
	     BN_mod_mul(j->j_s, j->j_s, j->j_t, key->sk_n1, j->j_bn) == 1 && BN_mul(j->j_s, j->j_s, n2, j->j_bn) == 1 &&
	     BN_add(j->j_s, j->j_s, j->j_s2) == 1;
	OPENSSL_cleanse(out, sizeof(out));
	BN_free(n2);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Is x^e = want (mod m)? */
static int
sk_check_e(const BIGNUM *x, const BIGNUM *want, const BIGNUM *m, struct sk_job *j, bool *good)
{
	BIGNUM *r = BN_new();
	int ok = r != NULL && BN_mod_exp(r, x, j->j_e, m, j->j_bn) == 1;

	*good = ok && BN_cmp(r, want) == 0;
	BN_free(r);
	return ok ? 0 : -1;
}

/* The inputs' shape: em < n of n bytes, part < n1 of n1 bytes. */
static bool
sk_server_inputs_ok(const struct sk_server_key *key, const uint8_t *em, size_t emlen, const uint8_t *part,
	size_t partlen, struct sk_job *j)
{
	if (key == NULL || key->sk_n1 == NULL || key->sk_d1pp == NULL || key->sk_key2 == NULL || key->sk_n == NULL ||
		em == NULL || part == NULL || emlen != (size_t)BN_num_bytes(key->sk_n) ||
		partlen != (size_t)BN_num_bytes(key->sk_n1))
		return false;
	if (BN_bin2bn(em, (int)emlen, j->j_m) == NULL || BN_cmp(j->j_m, key->sk_n) >= 0 ||
		BN_bin2bn(part, (int)partlen, j->j_s1) == NULL || BN_cmp(j->j_s1, key->sk_n1) >= 0)
		return false;
	return true;
}

/* s1 = part * (em mod n1)^d1''_v mod n1; *good when s1^e = em (mod n1). */
static int
sk_server_s1(const struct sk_server_key *key, struct sk_job *j, bool *good)
{
	BIGNUM *m1 = BN_new(), *r = camo_bn_new();
	int ok = m1 != NULL && r != NULL && BN_nnmod(m1, j->j_m, key->sk_n1, j->j_bn) == 1 &&
		 BN_mod_exp_mont_consttime(r, m1, j->j_d1pp, key->sk_n1, j->j_bn, NULL) == 1 &&
		 BN_mod_mul(j->j_s1, j->j_s1, r, key->sk_n1, j->j_bn) == 1 &&
		 sk_check_e(j->j_s1, m1, key->sk_n1, j, good) == 0;

	BN_free(m1);
	BN_clear_free(r);
	return ok ? 0 : -1;
}

/* The whole signature, checked, as n bytes; SK_WRONG_PIN when s1 fails. */
static enum sk_verdict
sk_server_sign(const struct sk_server_key *key, struct sk_job *j, uint8_t **sig, size_t *siglen)
{
	size_t nlen = (size_t)BN_num_bytes(key->sk_n);
	bool good = false;

	if (sk_server_s1(key, j, &good) != 0)
		return SK_ERROR;
	if (!good)
		return SK_WRONG_PIN;
	if (sk_server_part(key, j) != 0 || sk_check_e(j->j_s, j->j_m, key->sk_n, j, &good) != 0 || !good)
		return SK_ERROR;
	*sig = malloc(nlen);
	if (*sig == NULL || BN_bn2binpad(j->j_s, *sig, (int)nlen) != (int)nlen) {
		free(*sig);
		*sig = NULL;
		return SK_ERROR;
	}
	*siglen = nlen;
	return SK_OK;
}

enum sk_verdict
sk_server_complete(struct sk_server_key *key, const uint8_t *em, size_t emlen, uint64_t version, const uint8_t *part,
	size_t partlen, uint8_t **sig, size_t *siglen)
{
	struct sk_job j;
	enum sk_verdict v;

	*sig = NULL;
	*siglen = 0;
	if (sk_job_init(&j) != 0) {
		sk_job_free(&j);
		return SK_ERROR;
	}
	/* A stale version is a clone even when the rest is malformed. */
	if (key != NULL && version <= key->sk_version)
		v = SK_CLONE;
	else if (key == NULL || version - key->sk_version > SK_MAX_SKIP ||
		 !sk_server_inputs_ok(key, em, emlen, part, partlen, &j))
		v = SK_BAD_VERSION;
	else if (sk_server_share_at(key, version, &j) != 0)
		v = SK_ERROR;
	else
		v = sk_server_sign(key, &j, sig, siglen);
	if (v == SK_OK && BN_copy(key->sk_d1pp, j.j_d1pp) == NULL) {
		free(*sig);
		*sig = NULL;
		*siglen = 0;
		v = SK_ERROR;
	}
	if (v == SK_OK)
		key->sk_version = version;
	sk_job_free(&j);
	return v;
}

/* ---- JSON ---- */

static int
sk_json_set_bn(json_t *o, const char *name, const BIGNUM *bn)
{
	int len = BN_num_bytes(bn);
	uint8_t *raw = OPENSSL_secure_malloc(len > 0 ? (size_t)len : 1);
	char *b64 = NULL;
	int rc = -1;

	if (raw != NULL && BN_bn2bin(bn, raw) == len && (b64 = sl_b64url_encode(raw, (size_t)len)) != NULL)
		rc = json_object_set_new(o, name, json_string(b64));
	if (raw != NULL)
		OPENSSL_secure_clear_free(raw, len > 0 ? (size_t)len : 1);
	if (b64 != NULL)
		OPENSSL_clear_free(b64, strlen(b64));
	return rc;
}

/* A secret BIGNUM as exactly `len` big-endian bytes. */
static int
sk_json_set_bn_pad(json_t *o, const char *name, const BIGNUM *bn, size_t len)
{
	uint8_t *raw = OPENSSL_secure_malloc(len);
	char *b64 = NULL;
	int rc = -1;

	if (raw != NULL && BN_bn2binpad(bn, raw, (int)len) == (int)len && (b64 = sl_b64url_encode(raw, len)) != NULL)
		rc = json_object_set_new(o, name, json_string(b64));
	OPENSSL_secure_clear_free(raw, len);
	if (b64 != NULL)
		OPENSSL_clear_free(b64, strlen(b64));
	return rc;
}

static int
sk_json_set_bytes(json_t *o, const char *name, const uint8_t *data, size_t len)
{
	char *b64 = sl_b64url_encode(data, len);
	int rc = b64 ? json_object_set_new(o, name, json_string(b64)) : -1;

	if (b64 != NULL)
		OPENSSL_clear_free(b64, strlen(b64));
	return rc;
}

/* The text of `o`, compact; secrets inside, so the JSON tree is cleansed. */
static char *
sk_json_text(json_t *o, int rc)
{
	char *text = rc == 0 ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return text;
}

static int
sk_json_common(json_t *o, const BIGNUM *n1, const uint8_t kdev[SK_KDEV_LEN], uint64_t version, int w)
{
	if (version > SK_VERSION_MAX)
		return -1;
	return json_object_set_new(o, "v", json_integer(SK_JSON_VERSION)) | sk_json_set_bn(o, "n1", n1) |
	       sk_json_set_bytes(o, "kdev", kdev, SK_KDEV_LEN) |
	       json_object_set_new(o, "version", json_integer((json_int_t)version)) |
	       json_object_set_new(o, "w", json_integer(w));
}

char *
sk_device_key_to_json(const struct sk_device_key *dev)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL || dev == NULL || dev->dk_n1 == NULL || dev->dk_c == NULL || sk_info_static(dev->dk_info) == NULL)
		return sk_json_text(o, -1);
	rc = sk_json_common(o, dev->dk_n1, dev->dk_kdev, dev->dk_version, dev->dk_w) |
	     sk_json_set_bn_pad(o, "c", dev->dk_c, (size_t)dev->dk_w / 8) |
	     sk_json_set_bytes(o, "salt", dev->dk_salt, CAMO_SALT_LEN) |
	     json_object_set_new(o, "use", json_string(strcmp(dev->dk_info, SK_INFO_SIGN) == 0 ? "sign" : "auth"));
	return sk_json_text(o, rc);
}

/* The server's RSA key as PKCS#8 DER. */
static int
sk_key2_der(EVP_PKEY *k2, uint8_t **der, size_t *len)
{
	OSSL_ENCODER_CTX *ectx = OSSL_ENCODER_CTX_new_for_pkey(k2, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
	int ok = ectx != NULL && OSSL_ENCODER_to_data(ectx, der, len) == 1;

	OSSL_ENCODER_CTX_free(ectx);
	return ok ? 0 : -1;
}

char *
sk_server_key_to_json(const struct sk_server_key *key)
{
	json_t *o = json_object();
	uint8_t *der = NULL;
	size_t derlen = 0;
	int rc;

	if (o == NULL || key == NULL || key->sk_n1 == NULL || key->sk_d1pp == NULL || key->sk_key2 == NULL ||
		key->sk_n == NULL || sk_key2_der(key->sk_key2, &der, &derlen) != 0)
		return sk_json_text(o, -1);
	rc = sk_json_common(o, key->sk_n1, key->sk_kdev, key->sk_version, key->sk_w) |
	     sk_json_set_bn(o, "d1pp", key->sk_d1pp) | sk_json_set_bytes(o, "key2", der, derlen) |
	     sk_json_set_bn(o, "n", key->sk_n);
	OPENSSL_clear_free(der, derlen);
	return sk_json_text(o, rc);
}

char *
sk_share_to_json(const struct sk_server_key *share)
{
	json_t *o = json_object();
	int rc;

	if (o == NULL || share == NULL || share->sk_n1 == NULL || share->sk_d1pp == NULL || share->sk_key2 != NULL ||
		share->sk_version != 0)
		return sk_json_text(o, -1);
	rc = sk_json_common(o, share->sk_n1, share->sk_kdev, 0, share->sk_w) |
	     sk_json_set_bn(o, "d1pp", share->sk_d1pp);
	return sk_json_text(o, rc);
}

/* Parsing: each field is base64url of at most `max` bytes. */
static uint8_t *
sk_json_bytes(json_t *o, const char *name, size_t max, size_t *len)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	*len = 0;
	if (s == NULL || json_string_length(v) == 0 || json_string_length(v) > (max * 4 + 2) / 3)
		return NULL;
	return sl_b64url_decode(s, json_string_length(v), len);
}

/* A BIGNUM field of 1..max bytes without leading zero bytes. */
static BIGNUM *
sk_json_bn(json_t *o, const char *name, size_t max, bool secret)
{
	size_t len = 0;
	uint8_t *raw = sk_json_bytes(o, name, max, &len);
	BIGNUM *bn = NULL;

	if (raw != NULL && len >= 1 && len <= max && raw[0] != 0) {
		bn = secret ? camo_bn_new() : BN_new();
		if (bn != NULL && BN_bin2bn(raw, (int)len, bn) == NULL) {
			BN_clear_free(bn);
			bn = NULL;
		}
	}
	if (raw != NULL)
		OPENSSL_clear_free(raw, len);
	return bn;
}

static int
sk_json_fixed(json_t *o, const char *name, uint8_t *out, size_t want)
{
	size_t len = 0;
	uint8_t *raw = sk_json_bytes(o, name, want, &len);
	int rc = raw != NULL && len == want ? 0 : -1;

	if (rc == 0)
		memcpy(out, raw, want);
	if (raw != NULL)
		OPENSSL_clear_free(raw, len);
	return rc;
}

/* The document, "v", "n1", "kdev", "version" and "w", shared by both. */
static int
sk_json_open(const char *json, json_t **o, BIGNUM **n1, uint8_t kdev[SK_KDEV_LEN], uint64_t *version, int *w,
	struct sl_err *err)
{
	json_int_t ver, wv;

	*o = NULL;
	if (json == NULL || strnlen(json, SK_JSON_MAX + 1) > SK_JSON_MAX)
		return sl_fail(err, SL_EINVAL, "splitkey: key text missing or longer than %d bytes", SK_JSON_MAX);
	*o = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(*o) || json_integer_value(json_object_get(*o, "v")) != SK_JSON_VERSION ||
		!json_is_integer(json_object_get(*o, "version")) || !json_is_integer(json_object_get(*o, "w")))
		return sl_fail(err, SL_EINVAL, "splitkey: not a split-key key (version %d)", SK_JSON_VERSION);
	ver = json_integer_value(json_object_get(*o, "version"));
	wv = json_integer_value(json_object_get(*o, "w"));
	*n1 = sk_json_bn(*o, "n1", SK_BITS_MAX / 8, false);
	if (ver < 0 || (uint64_t)ver > SK_VERSION_MAX || *n1 == NULL || !sk_bits_ok(BN_num_bits(*n1)) ||
		!BN_is_odd(*n1) || wv != sk_share_bits(BN_num_bits(*n1)) ||
		sk_json_fixed(*o, "kdev", kdev, SK_KDEV_LEN) != 0)
		return sl_fail(err, SL_EINVAL, "splitkey: bad modulus, share width, version or kdev");
	*version = (uint64_t)ver;
	*w = (int)wv;
	return SL_OK;
}

static const char *
sk_use_info(const char *use)
{
	if (use != NULL && strcmp(use, "auth") == 0)
		return SK_INFO_AUTH;
	if (use != NULL && strcmp(use, "sign") == 0)
		return SK_INFO_SIGN;
	return NULL;
}

/* "use", "salt" and "c" (exactly W/8 bytes, a value below 2^W). */
static int
sk_device_fill(json_t *o, struct sk_device_key *dev, struct sl_err *err)
{
	uint8_t raw[(SK_BITS_MAX + SK_SHARE_EXTRA_BITS) / 8];
	size_t len = (size_t)dev->dk_w / 8;
	int rc = SL_OK;

	dev->dk_info = sk_use_info(json_string_value(json_object_get(o, "use")));
	if (dev->dk_info == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: unknown key use");
	dev->dk_c = camo_bn_new();
	if (dev->dk_c == NULL)
		return sl_fail(err, SL_ENOMEM, "splitkey: out of memory");
	if (len > sizeof(raw) || sk_json_fixed(o, "c", raw, len) != 0 || BN_bin2bn(raw, (int)len, dev->dk_c) == NULL ||
		sk_json_fixed(o, "salt", dev->dk_salt, CAMO_SALT_LEN) != 0)
		rc = sl_fail(err, SL_EINVAL, "splitkey: bad share or salt");
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int
sk_device_key_from_json(const char *json, struct sk_device_key *dev, struct sl_err *err)
{
	json_t *o = NULL;
	int rc;

	if (dev == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: nowhere to put the key");
	memset(dev, 0, sizeof(*dev));
	rc = sk_json_open(json, &o, &dev->dk_n1, dev->dk_kdev, &dev->dk_version, &dev->dk_w, err);
	if (rc == SL_OK)
		rc = sk_device_fill(o, dev, err);
	if (rc != SL_OK)
		sk_device_key_clear(dev);
	json_decref(o);
	return rc;
}

/* The server's RSA key from PKCS#8 DER: RSA, e = SK_E, size in range. */
static EVP_PKEY *
sk_key2_parse(json_t *o)
{
	size_t len = 0;
	uint8_t *der = sk_json_bytes(o, "key2", SK_KEY2_DER_MAX, &len);
	const uint8_t *p = der;
	EVP_PKEY *k2 = NULL;
	OSSL_DECODER_CTX *dctx =
		der ? OSSL_DECODER_CTX_new_for_pkey(&k2, "DER", "PrivateKeyInfo", "RSA", EVP_PKEY_KEYPAIR, NULL, NULL)
		    : NULL;
	BIGNUM *e = NULL;

	if (dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &len) != 1 || len != 0 || k2 == NULL ||
		!EVP_PKEY_is_a(k2, "RSA") || !sk_bits_ok(EVP_PKEY_get_bits(k2)) ||
		EVP_PKEY_get_bn_param(k2, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || !BN_is_word(e, SK_E)) {
		EVP_PKEY_free(k2);
		k2 = NULL;
	}
	BN_free(e);
	OSSL_DECODER_CTX_free(dctx);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)(p - der) + len);
	return k2;
}

/* n = n1 * n2 with n2 from key2, and gcd(n1, n2) = 1. */
static bool
sk_server_moduli_ok(const struct sk_server_key *key)
{
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *n2 = NULL, *t = BN_new();
	bool ok = bn != NULL && t != NULL && EVP_PKEY_get_bn_param(key->sk_key2, OSSL_PKEY_PARAM_RSA_N, &n2) == 1 &&
		  BN_mul(t, key->sk_n1, n2, bn) == 1 && BN_cmp(t, key->sk_n) == 0 &&
		  BN_num_bits(key->sk_n) == BN_num_bits(key->sk_n1) + BN_num_bits(n2) &&
		  BN_gcd(t, key->sk_n1, n2, bn) == 1 && BN_is_one(t);

	BN_free(n2);
	BN_free(t);
	BN_CTX_free(bn);
	return ok;
}

static int
sk_server_fill(json_t *o, struct sk_server_key *key, struct sl_err *err)
{
	/* d1'' < d1 + t*lambda <= n1 + 2^(W+1) + n1: at most W + 2 bits. */
	key->sk_d1pp = sk_json_bn(o, "d1pp", (size_t)key->sk_w / 8 + 1, true);
	if (key->sk_d1pp == NULL || BN_num_bits(key->sk_d1pp) > key->sk_w + 2)
		return sl_fail(err, SL_EINVAL, "splitkey: bad server share");
	key->sk_key2 = sk_key2_parse(o);
	if (key->sk_key2 == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: bad server RSA key");
	key->sk_n = sk_json_bn(o, "n", 2 * SK_BITS_MAX / 8, false);
	if (key->sk_n == NULL || !sk_server_moduli_ok(key))
		return sl_fail(err, SL_EINVAL, "splitkey: n is not n1 * n2");
	return SL_OK;
}

int
sk_server_key_from_json(const char *json, struct sk_server_key *key, struct sl_err *err)
{
	json_t *o = NULL;
	int rc;

	if (key == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: nowhere to put the key");
	memset(key, 0, sizeof(*key));
	rc = sk_json_open(json, &o, &key->sk_n1, key->sk_kdev, &key->sk_version, &key->sk_w, err);
	if (rc == SL_OK)
		rc = sk_server_fill(o, key, err);
	if (rc != SL_OK)
		sk_server_key_clear(key);
	json_decref(o);
	return rc;
}

int
sk_share_from_json(const char *json, const struct sk_params *p, struct sk_server_key *share, struct sl_err *err)
{
	json_t *o = NULL;
	int rc;

	if (share == NULL)
		return sl_fail(err, SL_EINVAL, "splitkey: nowhere to put the share");
	memset(share, 0, sizeof(*share));
	rc = sk_params_check(&p, err);
	if (rc == SL_OK)
		rc = sk_json_open(json, &o, &share->sk_n1, share->sk_kdev, &share->sk_version, &share->sk_w, err);
	if (rc == SL_OK && (share->sk_version != 0 || json_object_size(o) != 6))
		rc = sl_fail(err, SL_EINVAL, "splitkey: a share is version 0 with v, n1, d1pp, kdev, version, w only");
	if (rc == SL_OK &&
		(!sk_modulus_high(share->sk_n1, p->sp_n1_bits) || share->sk_w != sk_share_bits(p->sp_n1_bits)))
		rc = sl_fail(err, SL_EINVAL, "splitkey: the device modulus is not of the agreed size");
	if (rc == SL_OK) {
		/* d1'' > 2^W at version 0 (keygen makes it so), at most W + 2 bits. */
		share->sk_d1pp = sk_json_bn(o, "d1pp", (size_t)share->sk_w / 8 + 1, true);
		if (share->sk_d1pp == NULL || BN_num_bits(share->sk_d1pp) <= share->sk_w ||
			BN_num_bits(share->sk_d1pp) > share->sk_w + 2)
			rc = sl_fail(err, SL_EINVAL, "splitkey: bad server share");
	}
	if (rc != SL_OK)
		sk_server_key_clear(share);
	json_decref(o);
	return rc;
}

void
sk_device_key_clear(struct sk_device_key *dev)
{
	if (dev == NULL)
		return;
	BN_free(dev->dk_n1);
	BN_clear_free(dev->dk_c);
	OPENSSL_cleanse(dev, sizeof(*dev));
}

void
sk_server_key_clear(struct sk_server_key *key)
{
	if (key == NULL)
		return;
	BN_free(key->sk_n1);
	BN_clear_free(key->sk_d1pp);
	EVP_PKEY_free(key->sk_key2);
	BN_free(key->sk_n);
	OPENSSL_cleanse(key, sizeof(*key));
}
