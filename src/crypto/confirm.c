/*
 * confirm.c — the bytes a confirmation signs, and signing and verifying
 * them (PROTOCOL.md "What a confirmation signs"), plus the P-256 helpers the
 * app key shares.
 *
 * The app signs, and the server rebuilds from its own record and verifies:
 *
 *	"sleutel-confirm-v1" | request_id | rp_id | rp_display_name | action
 *	| SHA-256(display text) | verification_code | server_nonce | decision
 *	| device_id
 *
 * each as a 2-byte big-endian length then the bytes, so no two different
 * field lists give the same bytes ("ab","c" is not "a","bc").  The display
 * text is hashed exactly as given, with no normalisation: the server must
 * keep the very string it sent.  Unknown actions and decisions are refused
 * when building, so neither side can sign or accept one.  Signatures are
 * ECDSA P-256 with SHA-256, DER-encoded; they must never be logged (see
 * seal.c for why).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "crypto.h"

static const char *const confirm_actions[] = { "login", "payment", "sign" };
static const char *const confirm_decisions[] = { "approve", "refuse" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define CONFIRM_DISPLAY 4 /* index of the display text among the fields */

bool
p256_is(const EVP_PKEY *key)
{
	char name[64];
	size_t n = 0;
	int nid;

	if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
		EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &n) != 1)
		return false;
	nid = OBJ_sn2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	return nid == NID_X9_62_prime256v1;
}

EVP_PKEY *
p256_public_from_bytes(const uint8_t pub[P256_PUB_LEN], struct sl_err *err)
{
	char group[] = SN_X9_62_prime256v1;
	uint8_t point[P256_PUB_LEN];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *pctx = NULL, *cctx = NULL;
	EVP_PKEY *key = NULL;
	bool ok;

	if (pub == NULL || pub[0] != POINT_CONVERSION_UNCOMPRESSED) {
		sl_fail(err, SL_EINVAL, "p256: not an uncompressed point");
		return NULL;
	}
	memcpy(point, pub, sizeof(point));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	ok = pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1 &&
	     EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
	/* fromdata decodes onto the curve; the check adds the range of the
	 * coordinates and refuses the point at infinity.  That is the whole
	 * validation on P-256: its cofactor is 1, so every other point on the
	 * curve has the group's prime order n, and the full check's n*Q = O
	 * (EVP_PKEY_public_check, a scalar multiplication that cost as much as
	 * the ECDSA verify it guarded) cannot fail where this one passed
	 * (SP 800-56A rev. 3, 5.6.2.3.4 partial public-key validation). */
	if (ok)
		ok = (cctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) != NULL &&
		     EVP_PKEY_public_check_quick(cctx) == 1;
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(pctx);
	if (!ok) {
		EVP_PKEY_free(key);
		sl_fail(err, SL_EINVAL, "p256: not a point on the curve");
		return NULL;
	}
	return key;
}

EVP_PKEY *
p256_public_like(const EVP_PKEY *like, const uint8_t pub[P256_PUB_LEN], struct sl_err *err)
{
	EVP_PKEY *key;

	if (!p256_is(like) || pub == NULL || pub[0] != POINT_CONVERSION_UNCOMPRESSED) {
		sl_fail(err, SL_EINVAL, "p256: not an uncompressed point");
		return NULL;
	}
	/* The group copied from a key that has it, instead of made from its
	 * name (EVP_PKEY_fromdata: 34 of its 53 us here); the point decoded
	 * onto it as above, which refuses coordinates >= p and a point off
	 * the curve (tests/crypto/test_appcrypto.c asserts both). */
	if ((key = EVP_PKEY_new()) == NULL || EVP_PKEY_copy_parameters(key, (EVP_PKEY *)like) != 1 ||
		EVP_PKEY_set1_encoded_public_key(key, pub, P256_PUB_LEN) != 1) {
		EVP_PKEY_free(key);
		sl_fail(err, SL_EINVAL, "p256: not a point on the curve");
		return NULL;
	}
	return key;
}

static bool
confirm_in(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* One field: 2-byte big-endian length, then the bytes. */
static int
confirm_put(struct sl_buf *out, const void *data, size_t len)
{
	uint8_t pre[2] = { (uint8_t)(len >> 8), (uint8_t)(len & 0xff) };
	int rc;

	if (len > CONFIRM_FIELD_MAX)
		return SL_ETOOBIG;
	rc = sl_buf_add(out, pre, sizeof(pre));
	if (rc == SL_OK)
		rc = sl_buf_add(out, data, len);
	return rc;
}

int
confirm_bytes(const struct confirm_fields *f, struct sl_buf *out)
{
	const char *v[CONFIRM_NFIELDS - 1];
	uint8_t h[SL_SHA256_LEN];
	int rc;

	sl_buf_init(out, CONFIRM_BYTES_MAX);
	if (f == NULL)
		return SL_EINVAL;
	v[0] = f->cf_request_id;
	v[1] = f->cf_rp_id;
	v[2] = f->cf_rp_display_name;
	v[3] = f->cf_action;
	v[CONFIRM_DISPLAY] = f->cf_display_text;
	v[5] = f->cf_verification_code;
	v[6] = f->cf_server_nonce;
	v[7] = f->cf_decision;
	v[8] = f->cf_device_id;
	for (size_t i = 0; i < NELEM(v); i++) {
		if (v[i] == NULL)
			return SL_EINVAL;
		if (strnlen(v[i], CONFIRM_FIELD_MAX + 1) > CONFIRM_FIELD_MAX)
			return SL_ETOOBIG;
	}
	if (!confirm_in(f->cf_action, confirm_actions, NELEM(confirm_actions)) ||
		!confirm_in(f->cf_decision, confirm_decisions, NELEM(confirm_decisions)))
		return SL_EINVAL;
	rc = crypto_sha256(f->cf_display_text, strlen(f->cf_display_text), h);
	if (rc == SL_OK)
		rc = confirm_put(out, CONFIRM_TAG, strlen(CONFIRM_TAG));
	for (size_t i = 0; rc == SL_OK && i < NELEM(v); i++) {
		if (i == CONFIRM_DISPLAY)
			rc = confirm_put(out, h, sizeof(h));
		else
			rc = confirm_put(out, v[i], strlen(v[i]));
	}
	if (rc != SL_OK)
		sl_buf_reset(out);
	return rc;
}

int
confirm_sign(EVP_PKEY *key, const struct confirm_fields *f, uint8_t **sig, size_t *siglen, struct sl_err *err)
{
	struct sl_buf msg;
	EVP_MD_CTX *md = NULL;
	uint8_t *buf = NULL;
	size_t n = CONFIRM_SIG_MAX;
	int rc;

	*sig = NULL;
	*siglen = 0;
	if (!p256_is(key))
		return sl_fail(err, SL_EINVAL, "confirm: the key is not a P-256 key");
	rc = confirm_bytes(f, &msg);
	if (rc != SL_OK)
		return sl_fail(err, rc, "confirm: the fields cannot be signed (%s)", sl_strerror(rc));
	md = EVP_MD_CTX_new();
	buf = malloc(CONFIRM_SIG_MAX);
	if (md == NULL || buf == NULL)
		rc = sl_fail(err, SL_ENOMEM, "confirm: out of memory");
	else if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
		 EVP_DigestSign(md, buf, &n, (const uint8_t *)msg.b_data, msg.b_len) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "confirm: signing failed");
	if (rc == SL_OK) {
		*sig = buf;
		*siglen = n;
		buf = NULL;
	}
	free(buf);
	EVP_MD_CTX_free(md);
	sl_buf_reset(&msg);
	return rc;
}

int
confirm_verify(EVP_PKEY *pub, const struct confirm_fields *f, const uint8_t *sig, size_t siglen)
{
	struct sl_buf msg;
	EVP_MD_CTX *md;
	int rc;

	if (!p256_is(pub) || sig == NULL || siglen == 0 || siglen > CONFIRM_SIG_MAX)
		return SL_EDENIED;
	if (confirm_bytes(f, &msg) != SL_OK) {
		sl_buf_reset(&msg);
		return SL_EDENIED;
	}
	md = EVP_MD_CTX_new();
	rc = SL_EDENIED;
	if (md != NULL && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub, NULL) == 1 &&
		EVP_DigestVerify(md, sig, siglen, (const uint8_t *)msg.b_data, msg.b_len) == 1)
		rc = SL_OK;
	EVP_MD_CTX_free(md);
	sl_buf_reset(&msg);
	return rc;
}
