/*
 * test_holder_sk.c — the key holder's split-key and PKI ops
 * (src/keyholder/hold_sk.c, hold_pki.c): a whole account key's life
 * (share in, key made, public part, completions with clone and skip
 * verdicts, moved to another owner) through holder_handle, and every
 * malformed request refused: missing, extra and oversized fields, AADs
 * that are empty, long or not printable, versions that are not 8 bytes,
 * unknown keys, blobs that do not open, a share's AAD through the plain
 * unseal, a key sealed before 45aff05 (resealed, never opened plain), a PKI key or kind it may not sign, DER that is not what it says.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../src/config/config.h"
#include "../../src/keyholder/holder_int.h"
#include "kh_util.h"

static uint8_t out[KH_PAYLOAD_MAX], req[KH_PAYLOAD_MAX];
static const struct camo_params cheap = { 4, 1, 1 };

struct fixture {
	char dir[64];
	struct sl_config conf;
	struct holder ho;
	char seal_kid[KH_KID_MAX];
	uint8_t seal_pub[P256_PUB_LEN];
};

static int
call(struct holder *ho, uint16_t op, const char *kid, const void *p, size_t len, size_t *outlen)
{
	return kh_test_call(ho, op, kid, p, len, out, outlen);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t outlen = 0, off;

	snprintf(f->dir, sizeof(f->dir), "/tmp/kh-sk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->conf.c_keys_dir = f->dir;
	f->conf.c_pki_dir = f->dir;
	f->conf.c_sid_key_bits = 1024;
	f->ho.ho_conf = &f->conf;
	assert_int_equal(call(&f->ho, KH_OP_SEAL_KEYS, NULL, NULL, 0, &outlen), SL_OK);
	off = 1 + out[0] + P256_PUB_LEN; /* after the at-rest key: the current sealing key */
	memcpy(f->seal_kid, out + off + 1, out[off]);
	memcpy(f->seal_pub, out + off + 1 + out[off], P256_PUB_LEN);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hold_seal_clear(&f->ho);
	hold_pki_clear(&f->ho);
	assert_int_equal(kh_test_rm_dir(f->dir), 0);
	free(f);
	return 0;
}

/* A request of n fields (pointer, length pairs) in req; its length. */
static size_t
fields(size_t n, ...)
{
	va_list ap;
	size_t len = 0;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const void *p = va_arg(ap, const void *);
		size_t l = va_arg(ap, size_t);
		assert_int_equal(kh_field_put(req, &len, p, l), SL_OK);
	}
	va_end(ap);
	return len;
}

/* Answer field i of out (outlen bytes, starting at `skip`). */
static struct kh_field
answer_field(size_t outlen, size_t skip, size_t n, size_t i)
{
	static const size_t max[] = { KH_PAYLOAD_MAX, KH_PAYLOAD_MAX, KH_PAYLOAD_MAX, KH_PAYLOAD_MAX };
	struct kh_field f[4];
	struct sl_err err = { 0 };

	assert_int_equal(kh_fields_get(out + skip, outlen - skip, n, max, NULL, f, &err), SL_OK);
	return f[i];
}

static void
ver8(uint64_t v, uint8_t b[8])
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

#define SHARE_AAD "smartid-share auth jkt1"
#define REG_SHARE "reg1 auth share"
#define REG_KEY "reg1 auth"

struct account {
	struct sk_device_key dev;
	uint8_t share[SK_JSON_MAX + SEAL_OVERHEAD], key[SK_JSON_MAX + SEAL_OVERHEAD];
	size_t sharelen, keylen;
	uint8_t n[256];
	size_t nlen;
};

/* The app's keygen and the server's side of registration through the key
 * holder: the sealed share at rest, then the sealed server key. */
static void
account_make(struct fixture *f, struct account *a)
{
	const struct sk_params p = { 1024, 1024, &cheap };
	struct sk_server_key to_server = { 0 };
	struct sl_err err = { 0 };
	char *json;
	uint8_t *blob = NULL;
	size_t bloblen = 0, outlen = 0, len;
	struct kh_field k;

	assert_int_equal(sk_device_keygen(&p, SK_INFO_AUTH, "1234", &a->dev, &to_server, &err), SL_OK);
	json = sk_share_to_json(&to_server);
	assert_non_null(json);
	assert_int_equal(seal(f->seal_pub, f->seal_kid, (const uint8_t *)SHARE_AAD, strlen(SHARE_AAD),
				 (const uint8_t *)json, strlen(json), &blob, &bloblen, &err),
		SL_OK);
	free(json);
	sk_server_key_clear(&to_server);
	len = fields(3, SHARE_AAD, strlen(SHARE_AAD), blob, bloblen, REG_SHARE, strlen(REG_SHARE));
	assert_int_equal(call(&f->ho, KH_OP_SK_SHARE, f->seal_kid, req, len, &outlen), SL_OK);
	k = answer_field(outlen, 0, 1, 0);
	memcpy(a->share, k.kf_p, k.kf_len);
	a->sharelen = k.kf_len;
	/* The plain unseal opens neither the app's share nor the stored one. */
	req[0] = 0;
	req[1] = (uint8_t)strlen(SHARE_AAD);
	memcpy(req + 2, SHARE_AAD, strlen(SHARE_AAD));
	memcpy(req + 2 + strlen(SHARE_AAD), blob, bloblen);
	assert_int_equal(
		call(&f->ho, KH_OP_UNSEAL, f->seal_kid, req, 2 + strlen(SHARE_AAD) + bloblen, &outlen), SL_EDENIED);
	req[1] = (uint8_t)strlen(REG_SHARE);
	memcpy(req + 2, REG_SHARE, strlen(REG_SHARE));
	memcpy(req + 2 + strlen(REG_SHARE), a->share, a->sharelen);
	assert_int_equal(
		call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 2 + strlen(REG_SHARE) + a->sharelen, &outlen), SL_EDENIED);
	free(blob);

	len = fields(3, REG_SHARE, strlen(REG_SHARE), a->share, a->sharelen, REG_KEY, strlen(REG_KEY));
	assert_int_equal(call(&f->ho, KH_OP_SK_KEYGEN, NULL, req, len, &outlen), SL_OK);
	k = answer_field(outlen, 0, 2, 0);
	memcpy(a->key, k.kf_p, k.kf_len);
	a->keylen = k.kf_len;
	k = answer_field(outlen, 0, 2, 1);
	assert_int_equal(k.kf_len, 256); /* n: 2048 bits */
	memcpy(a->n, k.kf_p, k.kf_len);
	a->nlen = k.kf_len;
}

/* A completion of the device's signature at its next version; the verdict. */
static int
complete(struct fixture *f, struct account *a, const char *pin, const uint8_t *key, size_t keylen,
	uint64_t *version_sent, size_t *outlen)
{
	const struct sk_params p = { 1024, 1024, &cheap };
	struct sl_err err = { 0 };
	uint8_t hash[32] = { 1, 2, 3 }, *em = NULL, *part = NULL, vb[8];
	size_t emlen = 0, partlen = 0, len;
	uint64_t v = 0;
	BIGNUM *n = BN_bin2bn(a->n, (int)a->nlen, NULL);

	assert_int_equal(sk_encode(n, SK_PKCS1, "SHA256", hash, sizeof(hash), &em, &emlen, &err), SL_OK);
	assert_int_equal(sk_device_sign(&a->dev, pin, &p, em, emlen, &v, &part, &partlen, &err), SL_OK);
	if (version_sent != NULL && *version_sent != 0)
		v = *version_sent;
	ver8(v, vb);
	len = fields(6, REG_KEY, strlen(REG_KEY), key, keylen, REG_KEY, strlen(REG_KEY), em, emlen, vb, (size_t)8, part,
		partlen);
	assert_int_equal(call(&f->ho, KH_OP_SK_COMPLETE, NULL, req, len, outlen), SL_OK);
	if (version_sent != NULL)
		*version_sent = v;
	BN_free(n);
	free(em);
	OPENSSL_clear_free(part, partlen);
	return out[0];
}

static void
test_sk_account(void **state)
{
	struct fixture *f = *state;
	struct account *a = calloc(1, sizeof(*a));
	uint8_t first[SK_JSON_MAX + SEAL_OVERHEAD];
	size_t outlen = 0, len, firstlen;
	uint64_t v = 0;
	struct kh_field k;

	account_make(f, a);
	/* The public part: n1, n, version 0. */
	len = fields(2, REG_KEY, strlen(REG_KEY), a->key, a->keylen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_OK);
	assert_int_equal(answer_field(outlen, 0, 3, 0).kf_len, 128);
	k = answer_field(outlen, 0, 3, 1);
	assert_memory_equal(k.kf_p, a->n, a->nlen);
	k = answer_field(outlen, 0, 3, 2);
	assert_int_equal(k.kf_len, 8);
	assert_int_equal(k.kf_p[7], 0);
	/* Another AAD does not open it. */
	len = fields(2, "reg2 auth", (size_t)9, a->key, a->keylen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EDENIED);

	/* A completion: SK_OK, a whole signature as long as n, the key
	 * advanced to version 1. */
	assert_int_equal(complete(f, a, "1234", a->key, a->keylen, &v, &outlen), SK_OK);
	assert_int_equal(v, 1);
	assert_int_equal(answer_field(outlen, 1, 3, 0).kf_len, a->nlen);
	k = answer_field(outlen, 1, 3, 1);
	memcpy(a->key, k.kf_p, k.kf_len);
	a->keylen = k.kf_len;
	k = answer_field(outlen, 1, 3, 2);
	assert_int_equal(k.kf_p[7], 1);
	/* Version 1 again against the advanced key: a clone. */
	v = 1;
	assert_int_equal(complete(f, a, "1234", a->key, a->keylen, &v, &outlen), SK_CLONE);
	assert_int_equal(outlen, 1);
	/* More than SK_MAX_SKIP ahead: refused before any arithmetic. */
	v = 2 + SK_MAX_SKIP + 1;
	assert_int_equal(complete(f, a, "1234", a->key, a->keylen, &v, &outlen), SK_BAD_VERSION);
	/* A right signature at the next version. */
	v = 0;
	assert_int_equal(complete(f, a, "1234", a->key, a->keylen, &v, &outlen), SK_OK);
	/* A wrong PIN: the share it opens does not complete. */
	v = 0;
	assert_int_equal(complete(f, a, "9999", a->key, a->keylen, &v, &outlen), SK_WRONG_PIN);
	assert_int_equal(outlen, 1);

	/* Moved to the device: opens under the new AAD only. */
	len = fields(3, REG_KEY, strlen(REG_KEY), a->key, a->keylen, "dev1 auth", (size_t)9);
	assert_int_equal(call(&f->ho, KH_OP_SK_RESEAL, NULL, req, len, &outlen), SL_OK);
	k = answer_field(outlen, 0, 1, 0);
	memcpy(first, k.kf_p, k.kf_len);
	firstlen = k.kf_len;
	len = fields(2, "dev1 auth", (size_t)9, first, firstlen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_OK);
	len = fields(2, REG_KEY, strlen(REG_KEY), first, firstlen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EDENIED);
	sk_device_key_clear(&a->dev);
	free(a);
}

/* KH_OP_UNSEAL of `blob` (sealed under `aad`) with key `kid`. */
static int
plain_unseal(struct fixture *f, const char *kid, const char *aad, const uint8_t *blob, size_t bloblen)
{
	size_t outlen = 0;

	req[0] = 0;
	req[1] = (uint8_t)strlen(aad);
	memcpy(req + 2, aad, strlen(aad));
	memcpy(req + 2 + strlen(aad), blob, bloblen);
	return call(&f->ho, KH_OP_UNSEAL, kid, req, 2 + strlen(aad) + bloblen, &outlen);
}

/* review6: a server key that sleuteld sealed at rest itself, before the
 * key holder held them (45aff05), under the plain at-rest seal kid.
 * sleuteld's plain unseal never opens it, nor one under the split-key
 * seal kid; no op uses it as it is; KH_OP_SK_RESEAL moves it, once, under
 * the split-key seal kid, and then it works. */
static void
test_sk_legacy_key(void **state)
{
	struct fixture *f = *state;
	struct account *a = calloc(1, sizeof(*a));
	const struct hold_seal *rest = &f->ho.ho_seal[0];
	struct sl_err err = { 0 };
	uint8_t *json = NULL, *legacy = NULL, fresh[SK_JSON_MAX + SEAL_OVERHEAD], q[P256_PUB_LEN] = { 4, 1, 2 };
	size_t jsonlen = 0, legacylen = 0, freshlen, outlen = 0, len;
	uint64_t v = 0;
	struct kh_field k;

	assert_string_equal(rest->hs_kid, KH_REST_KID);
	account_make(f, a);
	/* As sleuteld sealed a device's key before 45aff05. */
	assert_int_equal(unseal(rest->hs_key, KH_SK_SEAL_KID, (const uint8_t *)REG_KEY, strlen(REG_KEY), a->key,
				 a->keylen, &json, &jsonlen, &err),
		SL_OK);
	assert_int_equal(seal(rest->hs_pub, KH_REST_SEAL_KID, (const uint8_t *)REG_KEY, strlen(REG_KEY), json, jsonlen,
				 &legacy, &legacylen, &err),
		SL_OK);
	OPENSSL_clear_free(json, jsonlen);
	/* sleuteld's unseal: neither the legacy blob nor the current one. */
	assert_int_equal(plain_unseal(f, KH_REST_KID, REG_KEY, legacy, legacylen), SL_EDENIED);
	assert_int_equal(plain_unseal(f, KH_REST_KID, REG_KEY, a->key, a->keylen), SL_EDENIED);
	/* The key holder's ops do not use it as it is. */
	len = fields(2, REG_KEY, strlen(REG_KEY), legacy, legacylen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EDENIED);
	/* Resealed for the same owner: it opens and completes. */
	len = fields(3, REG_KEY, strlen(REG_KEY), legacy, legacylen, REG_KEY, strlen(REG_KEY));
	assert_int_equal(call(&f->ho, KH_OP_SK_RESEAL, NULL, req, len, &outlen), SL_OK);
	k = answer_field(outlen, 0, 1, 0);
	memcpy(fresh, k.kf_p, k.kf_len);
	freshlen = k.kf_len;
	len = fields(2, REG_KEY, strlen(REG_KEY), fresh, freshlen);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_OK);
	assert_int_equal(plain_unseal(f, KH_REST_KID, REG_KEY, fresh, freshlen), SL_EDENIED);
	assert_int_equal(complete(f, a, "1234", fresh, freshlen, &v, &outlen), SK_OK);
	/* What the at-rest key is for (Q, the RP API secrets) still opens. */
	free(legacy);
	assert_int_equal(seal(rest->hs_pub, KH_REST_SEAL_KID, (const uint8_t *)"dev1", 4, q, sizeof(q), &legacy,
				 &legacylen, &err),
		SL_OK);
	assert_int_equal(plain_unseal(f, KH_REST_KID, "dev1", legacy, legacylen), SL_OK);
	free(legacy);
	sk_device_key_clear(&a->dev);
	free(a);
}

static void
test_sk_malformed(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[SK_JSON_MAX + SEAL_OVERHEAD + 2];
	char aad_long[KH_SK_AAD_MAX + 2];
	uint8_t vb[8] = { 0 };
	size_t outlen = 0, len;

	memset(aad_long, 'a', sizeof(aad_long) - 1);
	aad_long[sizeof(aad_long) - 1] = '\0';
	memset(big, 7, sizeof(big));
	/* No fields, one too few, one too many, bytes after the last. */
	for (int op = KH_OP_SK_SHARE; op <= KH_OP_SK_RESEAL; op++) {
		const char *kid = op == KH_OP_SK_SHARE ? f->seal_kid : NULL;
		assert_int_equal(call(&f->ho, op, kid, NULL, 0, &outlen), SL_EINVAL);
		len = fields(1, "a b", (size_t)3);
		assert_int_equal(call(&f->ho, op, kid, req, len, &outlen), SL_EINVAL);
		len = fields(7, "a", (size_t)1, "b", (size_t)1, "c", (size_t)1, "d", (size_t)1, vb, (size_t)8, "f",
			(size_t)1, "g", (size_t)1);
		assert_int_equal(call(&f->ho, op, kid, req, len, &outlen), SL_EINVAL);
		req[0] = 0;
		req[1] = 200; /* a field longer than the message */
		assert_int_equal(call(&f->ho, op, kid, req, 10, &outlen), SL_EINVAL);
	}
	/* An AAD empty, too long, not printable; a sealed blob too large or
	 * not one. */
	len = fields(2, "", (size_t)0, "x", (size_t)1);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(2, aad_long, strlen(aad_long), "x", (size_t)1);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(2, "a\nb", (size_t)3, "x", (size_t)1);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(2, "a b", (size_t)3, big, sizeof(big));
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(2, "a b", (size_t)3, big, (size_t)200);
	assert_int_not_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_OK);
	len = fields(3, "a b", (size_t)3, big, (size_t)200, "a\tb", (size_t)3);
	assert_int_equal(call(&f->ho, KH_OP_SK_RESEAL, NULL, req, len, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_SK_KEYGEN, NULL, req, len, &outlen), SL_EINVAL);
	/* Completion: a version of 7 bytes, an EM or part over their bounds. */
	len = fields(6, "a b", (size_t)3, big, (size_t)200, "a b", (size_t)3, "em", (size_t)2, vb, (size_t)7, "p",
		(size_t)1);
	assert_int_equal(call(&f->ho, KH_OP_SK_COMPLETE, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(6, "a b", (size_t)3, big, (size_t)200, "a b", (size_t)3, big, (size_t)2 * SK_BITS_MAX / 8 + 1, vb,
		(size_t)8, "p", (size_t)1);
	assert_int_equal(call(&f->ho, KH_OP_SK_COMPLETE, NULL, req, len, &outlen), SL_EINVAL);
	len = fields(6, "a b", (size_t)3, big, (size_t)200, "a b", (size_t)3, "em", (size_t)2, vb, (size_t)8, big,
		(size_t)SK_BITS_MAX / 8 + 1);
	assert_int_equal(call(&f->ho, KH_OP_SK_COMPLETE, NULL, req, len, &outlen), SL_EINVAL);
	/* A share: an unknown sealing key, the at-rest key, an AAD without
	 * the share prefix, a blob that does not open. */
	len = fields(3, SHARE_AAD, strlen(SHARE_AAD), big, (size_t)200, REG_SHARE, strlen(REG_SHARE));
	assert_int_equal(call(&f->ho, KH_OP_SK_SHARE, "nope", req, len, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_SK_SHARE, KH_REST_KID, req, len, &outlen), SL_EINVAL);
	assert_int_not_equal(call(&f->ho, KH_OP_SK_SHARE, f->seal_kid, req, len, &outlen), SL_OK);
	len = fields(3, "reg1 auth", (size_t)9, big, (size_t)200, REG_SHARE, strlen(REG_SHARE));
	assert_int_equal(call(&f->ho, KH_OP_SK_SHARE, f->seal_kid, req, len, &outlen), SL_EINVAL);
	/* Without the at-rest key loaded: refused, not a crash. */
	hold_seal_clear(&f->ho);
	len = fields(2, "a b", (size_t)3, big, (size_t)200);
	assert_int_equal(call(&f->ho, KH_OP_SK_OPEN, NULL, req, len, &outlen), SL_EBUSY);
}

/* A key file `<base>.key` in dir; the key. */
static EVP_PKEY *
pki_key_write(const char *dir, const char *base)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.key", dir, base);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	return k;
}

/* The DER to be signed of a small certificate (its algorithms set). */
static size_t
cert_tbs(uint8_t *der)
{
	EVP_PKEY *tmp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	X509 *x = X509_new();
	unsigned char *p = NULL;
	int n;

	X509_NAME *name = X509_NAME_new();

	assert_int_equal(
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, tmp), 1);
	assert_true(X509_sign(x, tmp, EVP_sha384()) > 0);
	X509_NAME_free(name);
	n = i2d_re_X509_tbs(x, &p);
	assert_true(n > 0 && n < KH_PAYLOAD_MAX - 2);
	memcpy(der + 1, p, (size_t)n);
	OPENSSL_free(p);
	X509_free(x);
	EVP_PKEY_free(tmp);
	return (size_t)n;
}

static void
test_pki_sign(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *ca;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t outlen = 0, n;

	/* Before the key exists: an error, not a crash. */
	n = cert_tbs(req);
	req[0] = KH_PKI_CERT;
	assert_int_not_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_OK);
	ca = pki_key_write(f->dir, "smartid-ca");
	EVP_PKEY_free(pki_key_write(f->dir, "root"));
	/* A certificate that is no Smart-ID device's is not signed, key or
	 * not (test_holder_pki.c: the profile, and what it signs). */
	assert_int_not_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_OK);
	assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, ca, NULL), 1);
	/* Keys it may not use, kinds a key may not sign, kinds that do not
	 * exist, DER that is not the kind or has a byte more. */
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "root", req, n + 1, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "citizen-ca", req, n + 1, &outlen), SL_EDENIED);
	req[0] = KH_PKI_OCSP;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_EDENIED);
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ocsp", req, n + 1, &outlen), SL_EINVAL);
	req[0] = KH_PKI_CRL;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_EINVAL);
	req[0] = 0;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_EDENIED);
	req[0] = 4;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_EDENIED);
	req[0] = KH_PKI_CERT;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 2, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, 1, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, NULL, req, n + 1, &outlen), SL_EINVAL);
	/* No [pki] dir. */
	hold_pki_clear(&f->ho);
	f->conf.c_pki_dir = NULL;
	assert_int_equal(call(&f->ho, KH_OP_PKI_SIGN, "smartid-ca", req, n + 1, &outlen), SL_ENOTFOUND);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(ca);
}

/* ---- the real process: key generations in children ---- */

struct keygen_call {
	struct keyholder *kh;
	const uint8_t *req;
	size_t len;
	int rc;
	atomic_bool *done;
};

static void *
keygen_thread(void *arg)
{
	struct keygen_call *c = arg;
	struct sl_err err = { 0 };
	uint8_t *ans = NULL;
	size_t anslen = 0;

	c->rc = keyholder_call(c->kh, KH_OP_SK_KEYGEN, NULL, c->req, c->len, &ans, &anslen, &err);
	if (c->rc == SL_OK)
		atomic_store(c->done, true);
	free(ans);
	return NULL;
}

/* Three generations asked at once of a key holder with four channels and
 * [smartid] keygen_max = 2: two run (in children), the third is refused
 * SL_EBUSY after KH_KEYGEN_EXIT_WAIT_MS (3072-bit keys take longer than
 * that, ASan or not), and a PING
 * sent meanwhile is answered before either is done. */
static void
test_process_keygen_children(void **state)
{
	struct fixture *f = *state;
	const struct sk_params p = { 3072, 3072, &cheap };
	char ini[128], text[512], kid[KH_KID_MAX] = "", exe[] = SL_TEST_BUILDDIR "/sleuteld", *json;
	struct sk_device_key dev = { 0 };
	struct sk_server_key to = { 0 };
	struct sl_err err = { 0 };
	struct keyholder *kh;
	uint8_t *ans = NULL, *blob = NULL, pub[P256_PUB_LEN], *keyreq;
	size_t anslen = 0, bloblen = 0, len, off;
	struct keygen_call calls[3];
	pthread_t t[3];
	atomic_bool done = false;
	int ok = 0, busy = 0;

	snprintf(ini, sizeof(ini), "%s/sleutel.ini", f->dir);
	snprintf(text, sizeof(text),
		"[server]\nissuer = https://kh.example\ntls = false\n[eid]\nenabled = false\n"
		"[keys]\ndir = %s\n[smartid]\nkey_bits = 3072\nkeygen_max = 2\n[log]\nlevel = error\n",
		f->dir);
	assert_int_equal(sl_file_write(ini, text, strlen(text), 0600, &err), SL_OK);
	kh = keyholder_start(exe, ini, 4, &err);
	assert_non_null(kh);
	assert_int_equal(keyholder_call(kh, KH_OP_SEAL_KEYS, NULL, NULL, 0, &ans, &anslen, &err), SL_OK);
	off = 1 + ans[0] + P256_PUB_LEN;
	memcpy(kid, ans + off + 1, ans[off]);
	memcpy(pub, ans + off + 1 + ans[off], P256_PUB_LEN);
	free(ans);
	assert_int_equal(sk_device_keygen(&p, SK_INFO_AUTH, "1234", &dev, &to, &err), SL_OK);
	json = sk_share_to_json(&to);
	assert_non_null(json);
	assert_int_equal(seal(pub, kid, (const uint8_t *)SHARE_AAD, strlen(SHARE_AAD), (const uint8_t *)json,
				 strlen(json), &blob, &bloblen, &err),
		SL_OK);
	free(json);
	len = fields(3, SHARE_AAD, strlen(SHARE_AAD), blob, bloblen, REG_SHARE, strlen(REG_SHARE));
	assert_int_equal(keyholder_call(kh, KH_OP_SK_SHARE, kid, req, len, &ans, &anslen, &err), SL_OK);
	len = fields(3, REG_SHARE, strlen(REG_SHARE), ans + 2, anslen - 2, REG_KEY, strlen(REG_KEY));
	keyreq = malloc(len);
	memcpy(keyreq, req, len);
	free(ans);
	free(blob);

	for (int i = 0; i < 3; i++) {
		calls[i] = (struct keygen_call){ kh, keyreq, len, SL_ERR, &done };
		assert_int_equal(pthread_create(&t[i], NULL, keygen_thread, &calls[i]), 0);
	}
	usleep(20000);
	assert_int_equal(keyholder_call(kh, KH_OP_PING, NULL, "x", 1, &ans, &anslen, &err), SL_OK);
	assert_false(atomic_load(&done)); /* answered while the keys are being made */
	free(ans);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		ok += calls[i].rc == SL_OK;
		busy += calls[i].rc == SL_EBUSY;
	}
	assert_int_equal(ok, 2); /* keygen_max */
	assert_int_equal(busy, 1);
	/* And the channels serve again. */
	assert_int_equal(keyholder_call(kh, KH_OP_PING, NULL, "y", 1, &ans, &anslen, &err), SL_OK);
	free(ans);
	keyholder_stop(kh);
	free(keyreq);
	sk_server_key_clear(&to);
	sk_device_key_clear(&dev);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sk_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sk_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sk_legacy_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process_keygen_children, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
