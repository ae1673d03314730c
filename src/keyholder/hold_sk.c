/*
 * hold_sk.c — the split-key server keys (src/crypto sk_*), in the key
 * holder: the server's share d1'' of each account key and its own RSA key
 * are only ever in plain here, for one request at a time, and wiped after.
 *
 * sleuteld keeps them sealed at rest in the store, as before, but sealed
 * under the at-rest key bound to KH_SK_SEAL_KID: KH_OP_UNSEAL binds
 * KH_REST_SEAL_KID, so no request but the ones below opens them.  (Keys
 * sealed before, under KH_REST_SEAL_KID, are still opened here and come
 * back under KH_SK_SEAL_KID at their next change.)  The app's shares come
 * sealed to a device key with an AAD that starts with KH_SK_SHARE_AAD,
 * which KH_OP_UNSEAL refuses too.
 *
 * Every request is bounded: the fields' sizes (kh_fields_get), the JSON's
 * (SK_JSON_MAX, checked by its parser), the key size (the key holder's own
 * [smartid] key_bits, never the request's), one keygen (with sk_server
 * keygen's bounded draws) and one completion (a version at most
 * SK_MAX_SKIP ahead, checked before any arithmetic).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "holder_int.h"
#include "../config/config.h"

#define SK_SEALED_MAX (SK_JSON_MAX + SEAL_OVERHEAD)
#define SK_EM_MAX (2 * SK_BITS_MAX / 8) /* bytes of n, the largest EM */
#define SK_PART_MAX (SK_BITS_MAX / 8) /* bytes of a partial signature (mod n1) */

static const struct hold_seal *
rest_key(const struct holder *ho, struct sl_err *err)
{
	if (ho->ho_nseal == 0 || strcmp(ho->ho_seal[0].hs_kid, KH_REST_KID) != 0)
		return sl_fail(err, SL_EBUSY, "the at-rest key is not loaded"), NULL;
	return &ho->ho_seal[0];
}

static void
sk_params_of(const struct holder *ho, struct sk_params *p)
{
	*p = sk_default_params;
	p->sp_n1_bits = ho->ho_conf->c_sid_key_bits;
	p->sp_n2_bits = ho->ho_conf->c_sid_key_bits;
}

/* The NUL-terminated JSON text sealed at rest under `aad`
 * (OPENSSL_clear_free(*text, *len + 1)).  `legacy`: also a key sealed
 * under the plain at-rest seal kid, as sleuteld sealed them before the key
 * holder held these keys; only KH_OP_SK_RESEAL takes one, so that such a
 * key moves once under KH_SK_SEAL_KID (sid_confirm.c stores it) and is
 * never opened for use as it is. */
static int
sk_open_text(const struct holder *ho, const struct kh_field *aad, const struct kh_field *blob, bool legacy, char **text,
	size_t *len, struct sl_err *err)
{
	const struct hold_seal *r = rest_key(ho, err);
	uint8_t *plain = NULL;
	int rc;

	*text = NULL;
	if (r == NULL)
		return SL_EBUSY;
	rc = unseal(r->hs_key, KH_SK_SEAL_KID, aad->kf_p, aad->kf_len, blob->kf_p, blob->kf_len, &plain, len, NULL);
	if (rc == SL_EDENIED && legacy)
		rc = unseal(r->hs_key, KH_REST_SEAL_KID, aad->kf_p, aad->kf_len, blob->kf_p, blob->kf_len, &plain, len,
			err);
	if (rc != SL_OK)
		return rc == SL_EDENIED ? sl_fail(err, rc, "the sealed key does not open under this AAD") : rc;
	if (*len > SK_JSON_MAX || memchr(plain, '\0', *len) != NULL)
		rc = sl_fail(err, SL_EINVAL, "the sealed key is not a key");
	else if ((*text = malloc(*len + 1)) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	else {
		memcpy(*text, plain, *len);
		(*text)[*len] = '\0';
	}
	OPENSSL_clear_free(plain, *len);
	return rc;
}

/* Seal `text` (wiped and freed here) at rest under `aad` and append it to
 * the answer as one field. */
static int
sk_seal_put(const struct holder *ho, const struct kh_field *aad, char *text, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	const struct hold_seal *r = rest_key(ho, err);
	uint8_t *blob = NULL;
	size_t n = 0;
	int rc;

	if (text == NULL)
		return sl_fail(err, SL_ENOMEM, "cannot serialise the key");
	rc = r ? seal(r->hs_pub, KH_SK_SEAL_KID, aad->kf_p, aad->kf_len, (const uint8_t *)text, strlen(text), &blob, &n,
			 err)
	       : SL_EBUSY;
	OPENSSL_clear_free(text, strlen(text) + 1);
	if (rc == SL_OK && kh_field_put(out, outlen, blob, n) != SL_OK)
		rc = sl_fail(err, SL_ETOOBIG, "the sealed key does not fit an answer");
	free(blob);
	return rc;
}

static int
put_bn(const BIGNUM *bn, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	int n = BN_num_bytes(bn);
	uint8_t buf[SK_EM_MAX];

	if (n <= 0 || n > (int)sizeof(buf) || BN_bn2bin(bn, buf) != n || kh_field_put(out, outlen, buf, (size_t)n))
		return sl_fail(err, SL_ECRYPTO, "cannot write a modulus");
	return SL_OK;
}

static int
put_version(uint64_t v, uint8_t *out, size_t *outlen)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return kh_field_put(out, outlen, b, sizeof(b));
}

static uint64_t
get_version(const struct kh_field *f)
{
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | f->kf_p[i];
	return v;
}

static int
aad_ok(const struct kh_field *aad, struct sl_err *err)
{
	/* What the store keeps ("<owner> <use>", "... share"): printable. */
	for (size_t i = 0; i < aad->kf_len; i++)
		if (aad->kf_p[i] < 0x20 || aad->kf_p[i] > 0x7e)
			return sl_fail(err, SL_EINVAL, "an AAD of printable ASCII expected");
	return SL_OK;
}

/* Open a server key (sk_server_key_from_json) sealed under aad (legacy:
 * sk_open_text). */
static int
sk_open_key(const struct holder *ho, const struct kh_field *aad, const struct kh_field *blob, bool legacy,
	struct sk_server_key *key, struct sl_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc = aad_ok(aad, err);

	if (rc == SL_OK)
		rc = sk_open_text(ho, aad, blob, legacy, &text, &len, err);
	if (rc == SL_OK)
		rc = sk_server_key_from_json(text, key, err);
	if (text != NULL)
		OPENSSL_clear_free(text, len + 1);
	return rc;
}

/* The device sealing key `kid` (never the at-rest key, slot 0). */
static const struct hold_seal *
device_key(const struct holder *ho, const char *kid)
{
	for (size_t i = 1; i < ho->ho_nseal; i++)
		if (strcmp(ho->ho_seal[i].hs_kid, kid) == 0)
			return &ho->ho_seal[i];
	return NULL;
}

/* The app's share, opened with the device key: NUL-terminated text in
 * *text (OPENSSL_clear_free(*text, *len + 1)). */
static int
share_open(const struct hold_seal *dev, const struct kh_field *aad, const struct kh_field *blob, char **text,
	size_t *len, struct sl_err *err)
{
	uint8_t *plain = NULL;
	int rc = unseal(
		dev->hs_key, dev->hs_seal_kid, aad->kf_p, aad->kf_len, blob->kf_p, blob->kf_len, &plain, len, err);

	*text = NULL;
	if (rc != SL_OK)
		return rc;
	if (*len > SK_JSON_MAX || memchr(plain, '\0', *len) != NULL || (*text = calloc(1, *len + 1)) == NULL)
		rc = sl_fail(err, SL_EINVAL, "the share cannot be read");
	else
		memcpy(*text, plain, *len);
	OPENSSL_clear_free(plain, *len);
	return rc;
}

int
hold_sk_share(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	static const size_t max[] = { KH_SK_AAD_MAX, SK_SEALED_MAX, KH_SK_AAD_MAX }, min[] = { 1, 1, 1 };
	const struct hold_seal *dev = device_key(ho, kid);
	size_t tlen = 0, plen0 = strlen(KH_SK_SHARE_AAD);
	struct sk_server_key share = { 0 };
	struct kh_field f[3];
	struct sk_params prm;
	char *text = NULL;
	int rc = kh_fields_get(p, len, 3, max, min, f, err);

	if (rc != SL_OK)
		return rc;
	if (dev == NULL)
		return sl_fail(err, SL_EINVAL, "unknown seal_kid");
	if (f[0].kf_len <= plen0 || memcmp(f[0].kf_p, KH_SK_SHARE_AAD, plen0) != 0)
		return sl_fail(err, SL_EINVAL, "a share's AAD starts with \"%s\"", KH_SK_SHARE_AAD);
	if ((rc = aad_ok(&f[2], err)) != SL_OK || (rc = share_open(dev, &f[0], &f[1], &text, &tlen, err)) != SL_OK)
		return rc;
	sk_params_of(ho, &prm);
	rc = sk_share_from_json(text, &prm, &share, err);
	if (rc == SL_OK)
		rc = sk_seal_put(ho, &f[2], sk_share_to_json(&share), out, outlen, err);
	OPENSSL_clear_free(text, tlen + 1);
	sk_server_key_clear(&share);
	return rc;
}

int
hold_sk_keygen(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	static const size_t max[] = { KH_SK_AAD_MAX, SK_SEALED_MAX, KH_SK_AAD_MAX }, min[] = { 1, 1, 1 };
	struct kh_field f[3];
	struct sk_server_key key = { 0 };
	struct sk_params prm;
	char *text = NULL;
	size_t tlen = 0;
	int rc = kh_fields_get(p, len, 3, max, min, f, err);

	if (rc == SL_OK && (rc = aad_ok(&f[0], err)) == SL_OK && (rc = aad_ok(&f[2], err)) == SL_OK)
		rc = sk_open_text(ho, &f[0], &f[1], false, &text, &tlen, err);
	sk_params_of(ho, &prm);
	if (rc == SL_OK)
		rc = sk_share_from_json(text, &prm, &key, err);
	if (rc == SL_OK)
		rc = sk_server_keygen(&prm, &key, err);
	if (rc == SL_OK)
		rc = sk_seal_put(ho, &f[2], sk_server_key_to_json(&key), out, outlen, err);
	if (rc == SL_OK)
		rc = put_bn(key.sk_n, out, outlen, err);
	if (text != NULL)
		OPENSSL_clear_free(text, tlen + 1);
	sk_server_key_clear(&key);
	return rc;
}

int
hold_sk_open(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	static const size_t max[] = { KH_SK_AAD_MAX, SK_SEALED_MAX }, min[] = { 1, 1 };
	struct kh_field f[2];
	struct sk_server_key key = { 0 };
	int rc = kh_fields_get(p, len, 2, max, min, f, err);

	if (rc == SL_OK)
		rc = sk_open_key(ho, &f[0], &f[1], false, &key, err);
	if (rc == SL_OK && ((rc = put_bn(key.sk_n1, out, outlen, err)) != SL_OK ||
				   (rc = put_bn(key.sk_n, out, outlen, err)) != SL_OK ||
				   put_version(key.sk_version, out, outlen) != SL_OK))
		rc = rc != SL_OK ? rc : SL_ETOOBIG;
	sk_server_key_clear(&key);
	return rc;
}

int
hold_sk_complete(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	static const size_t max[] = { KH_SK_AAD_MAX, SK_SEALED_MAX, KH_SK_AAD_MAX, SK_EM_MAX, 8, SK_PART_MAX },
			    min[] = { 1, 1, 1, 1, 8, 1 };
	struct kh_field f[6];
	struct sk_server_key key = { 0 };
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum sk_verdict v;
	int rc = kh_fields_get(p, len, 6, max, min, f, err);

	if (rc == SL_OK && (rc = aad_ok(&f[2], err)) == SL_OK)
		rc = sk_open_key(ho, &f[0], &f[1], false, &key, err);
	if (rc != SL_OK) {
		sk_server_key_clear(&key);
		return rc;
	}
	v = sk_server_complete(&key, f[3].kf_p, f[3].kf_len, get_version(&f[4]), f[5].kf_p, f[5].kf_len, &sig, &siglen);
	out[(*outlen)++] = (uint8_t)v;
	if (v == SK_OK &&
		((rc = kh_field_put(out, outlen, sig, siglen)) != SL_OK ||
			(rc = sk_seal_put(ho, &f[2], sk_server_key_to_json(&key), out, outlen, err)) != SL_OK ||
			(rc = put_version(key.sk_version, out, outlen)) != SL_OK))
		sl_fail(err, rc, "cannot answer the completed signature");
	free(sig);
	sk_server_key_clear(&key);
	return rc;
}

int
hold_sk_reseal(struct holder *ho, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	static const size_t max[] = { KH_SK_AAD_MAX, SK_SEALED_MAX, KH_SK_AAD_MAX }, min[] = { 1, 1, 1 };
	struct kh_field f[3];
	struct sk_server_key key = { 0 };
	int rc = kh_fields_get(p, len, 3, max, min, f, err);

	if (rc == SL_OK && (rc = aad_ok(&f[2], err)) == SL_OK)
		rc = sk_open_key(ho, &f[0], &f[1], true, &key, err);
	if (rc == SL_OK)
		rc = sk_seal_put(ho, &f[2], sk_server_key_to_json(&key), out, outlen, err);
	sk_server_key_clear(&key);
	return rc;
}
