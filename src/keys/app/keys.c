/*
 * keys.c — the device side's own keys, all P-256 and all files in [keys]
 * dir (mode 0600), created on first start:
 *
 *   device-seal-<kid>.pem   a device-API sealing key: the app seals its
 *                           confirmation key Q (enrolment) and each
 *                           confirmation signature to it.  Published at
 *                           /device/v1/keys.  device-seal.current names the
 *                           current one; older files stay published and
 *                           usable, so a rotation (new file, new current)
 *                           does not break requests in flight.
 *   device-rest.pem         the at-rest key: each device's Q is stored
 *                           sealed to it (aad = device id), so a database
 *                           dump alone is no oracle for the 5-digit code.
 *                           Never published.
 *
 * The SMS-code MAC key is derived from keys/secret like the CSRF key.
 * The private keys live in the key holder (src/keyholder/hold_seal.c,
 * which also creates them): this process keeps their public points,
 * seals to them itself, and asks the key holder to open (KH_OP_UNSEAL).
 * Everything here is immutable after start-up except the enrolment rate
 * table and the devices' parsed keys (devkeys.c), each with its own mutex.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "device_int.h"
#include "../../keyholder/keyholder.h"

/* The key holder's answer to KH_OP_SEAL_KEYS: [u8 kid length][kid][point]
 * each, the at-rest key first, then the current sealing key, then older
 * ones.  Only these public points live in this process. */
static int
keys_from_answer(struct app_keys *ak, const uint8_t *a, size_t alen, struct sl_err *err)
{
	size_t pos = 0, i = 0;

	while (pos < alen) {
		size_t kl = a[pos];
		struct app_seal_key *k = i == 0 ? &ak->ak_rest : &ak->ak_seal[i - 1];

		if (i > APP_SEAL_KEYS_MAX || kl == 0 || kl >= APP_KID_MAX || pos + 1 + kl + P256_PUB_LEN > alen)
			return sl_fail(err, SL_EINVAL, "key holder: malformed sealing key list");
		memcpy(k->sk_kid, a + pos + 1, kl);
		k->sk_kid[kl] = '\0';
		memcpy(k->sk_pub, a + pos + 1 + kl, P256_PUB_LEN);
		pos += 1 + kl + P256_PUB_LEN;
		i++;
	}
	if (i < 2 || strcmp(ak->ak_rest.sk_kid, KH_REST_KID) != 0)
		return sl_fail(err, SL_EINVAL, "key holder: no at-rest or sealing key");
	ak->ak_nseal = i - 1;
	return SL_OK;
}

int
app_keys_load(struct server *srv, struct sl_err *err)
{
	struct app_keys *ak = calloc(1, sizeof(*ak));
	uint8_t *ans = NULL;
	size_t alen = 0;
	int rc;

	if (ak == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	srv->sv_app_keys = ak;
	rc = keyholder_call(srv->sv_kh, KH_OP_SEAL_KEYS, NULL, NULL, 0, &ans, &alen, err);
	if (rc == SL_OK)
		rc = keys_from_answer(ak, ans, alen, err);
	free(ans);
	if (rc == SL_OK && (ak->ak_devkeys = app_devkeys_new()) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc != SL_OK) {
		app_keys_free(srv);
		return rc;
	}
	return SL_OK;
}

void
app_keys_free(struct server *srv)
{
	struct app_keys *ak = srv->sv_app_keys;

	if (ak == NULL)
		return;
	app_devkeys_free(ak->ak_devkeys);
	OPENSSL_cleanse(ak, sizeof(*ak));
	free(ak);
	srv->sv_app_keys = NULL;
}

json_t *
app_keys_public(struct server *srv)
{
	struct app_keys *ak = srv->sv_app_keys;
	json_t *keys = json_array();

	for (size_t i = 0; ak != NULL && i < ak->ak_nseal; i++) {
		char *pub = sl_b64url_encode(ak->ak_seal[i].sk_pub, P256_PUB_LEN);
		if (pub != NULL)
			json_array_append_new(keys,
				json_pack("{s:s,s:s,s:s}", "kid", ak->ak_seal[i].sk_kid, "crv", "P-256", "pub", pub));
		free(pub);
	}
	return keys;
}

const struct app_seal_key *
app_seal_key_find(struct server *srv, const char *kid)
{
	struct app_keys *ak = srv->sv_app_keys;

	for (size_t i = 0; kid != NULL && ak != NULL && i < ak->ak_nseal; i++)
		if (strcmp(ak->ak_seal[i].sk_kid, kid) == 0)
			return &ak->ak_seal[i];
	return NULL;
}

/* Opened by the key holder, which holds the private key of k. */
static int
unseal_with(struct server *srv, const struct app_seal_key *k, const char *b64, size_t max, const char *aad,
	uint8_t **plain, size_t *plainlen, struct sl_err *err)
{
	size_t aadlen = strlen(aad), n = 0;
	uint8_t *blob, *req;
	int rc;

	if (b64 == NULL || strlen(b64) > max || (blob = sl_b64url_decode(b64, strlen(b64), &n)) == NULL)
		return sl_fail(err, SL_EINVAL, "the sealed value is not base64url");
	if (aadlen == 0 || aadlen > SEAL_AAD_MAX || 2 + aadlen + n > KH_PAYLOAD_MAX) {
		free(blob);
		return sl_fail(err, SL_EINVAL, "sealed value or AAD too large");
	}
	req = malloc(2 + aadlen + n);
	if (req == NULL) {
		free(blob);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	req[0] = (uint8_t)(aadlen >> 8);
	req[1] = (uint8_t)aadlen;
	for (size_t i = 0; i < aadlen; i++) /* binary: length-prefixed, no NUL */
		req[2 + i] = (uint8_t)aad[i];
	memcpy(req + 2 + aadlen, blob, n);
	rc = keyholder_call(srv->sv_kh, KH_OP_UNSEAL, k->sk_kid, req, 2 + aadlen + n, plain, plainlen, err);
	free(req);
	free(blob);
	return rc;
}

int
app_unseal_b64(struct server *srv, const char *kid, const char *b64, const char *aad, uint8_t **plain, size_t *plainlen,
	struct sl_err *err)
{
	const struct app_seal_key *k = app_seal_key_find(srv, kid);

	*plain = NULL;
	*plainlen = 0;
	if (k == NULL)
		return sl_fail(err, SL_EINVAL, "unknown seal_kid");
	return unseal_with(srv, k, b64, APP_SEALED_MAX, aad, plain, plainlen, err);
}

int
app_unseal_b64_big(struct server *srv, const char *kid, const char *b64, const char *aad, uint8_t **plain,
	size_t *plainlen, struct sl_err *err)
{
	const struct app_seal_key *k = app_seal_key_find(srv, kid);

	*plain = NULL;
	*plainlen = 0;
	if (k == NULL)
		return sl_fail(err, SL_EINVAL, "unknown seal_kid");
	return unseal_with(srv, k, b64, APP_SEALED_BIG_MAX, aad, plain, plainlen, err);
}

char *
app_rest_seal_bytes(struct server *srv, const char *aad, const uint8_t *data, size_t len, struct sl_err *err)
{
	const struct app_seal_key *k = &srv->sv_app_keys->ak_rest;
	uint8_t *blob = NULL;
	size_t n = 0;
	char *out;

	if (seal(k->sk_pub, KH_REST_SEAL_KID, (const uint8_t *)aad, strlen(aad), data, len, &blob, &n, err) != SL_OK)
		return NULL;
	out = sl_b64url_encode(blob, n);
	free(blob);
	if (out == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return out;
}

int
app_rest_open_bytes(struct server *srv, const char *aad, const char *sealed_b64, uint8_t **plain, size_t *plainlen,
	struct sl_err *err)
{
	*plain = NULL;
	*plainlen = 0;
	return unseal_with(srv, &srv->sv_app_keys->ak_rest, sealed_b64, APP_SEALED_BIG_MAX, aad, plain, plainlen, err);
}

char *
app_rest_seal(struct server *srv, const char *device_id, const uint8_t q[P256_PUB_LEN], struct sl_err *err)
{
	return app_rest_seal_bytes(srv, device_id, q, P256_PUB_LEN, err);
}

EVP_PKEY *
app_rest_open(struct server *srv, const char *device_id, const char *sealed_b64, struct sl_err *err)
{
	uint8_t *plain = NULL;
	size_t n = 0;
	EVP_PKEY *q = NULL;

	if (app_rest_open_bytes(srv, device_id, sealed_b64, &plain, &n, err) != SL_OK)
		return NULL;
	if (n == P256_PUB_LEN)
		q = p256_public_from_bytes(plain, err);
	else
		sl_fail(err, SL_EINVAL, "stored confirmation key has a bad length");
	free(plain);
	return q;
}

int
app_sms_mac(struct server *srv, const char *enrollment_id, const char *code, char out[2 * SL_SHA256_LEN + 1])
{
	struct sl_buf b;
	uint8_t mac[SL_SHA256_LEN];
	int rc;

	sl_buf_init(&b, 256);
	rc = sl_buf_addf(&b, "%s:%s", enrollment_id, code);
	if (rc == SL_OK)
		rc = crypto_hmac_sha256(srv->sv_sms_key, sizeof(srv->sv_sms_key), b.b_data, b.b_len, mac);
	if (b.b_data != NULL)
		OPENSSL_cleanse(b.b_data, b.b_len);
	sl_buf_reset(&b);
	if (rc == SL_OK)
		sl_hex(mac, sizeof(mac), out);
	return rc;
}
