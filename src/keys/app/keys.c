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
 * Everything here is immutable after start-up except the enrolment rate
 * table and the devices' parsed keys (devkeys.c), each with its own mutex.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "device_int.h"

#define KEY_FILE_MAX 16384
#define SEAL_PREFIX "device-seal-"
#define SEAL_CURRENT "device-seal.current"
#define REST_FILE "device-rest.pem"
#define REST_KID "sleutel at-rest v1" /* the seal() key id of the at-rest key */

static int
key_point(EVP_PKEY *key, uint8_t pub[P256_PUB_LEN])
{
	size_t n = 0;

	if (!p256_is(key) ||
		EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, P256_PUB_LEN, &n) != 1 ||
		n != P256_PUB_LEN || pub[0] != 0x04)
		return SL_ECRYPTO;
	return SL_OK;
}

static int
key_read(const char *path, struct app_seal_key *out, struct sl_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *bio;
	int rc;

	rc = sl_file_read(path, KEY_FILE_MAX, &pem, &len, err);
	if (rc != SL_OK)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	out->sk_priv = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (out->sk_priv == NULL || key_point(out->sk_priv, out->sk_pub) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "%s: not a P-256 private key", path);
	return SL_OK;
}

static int
key_create(const char *path, struct app_seal_key *out, struct sl_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int rc;

	out->sk_priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (bio == NULL || out->sk_priv == NULL || key_point(out->sk_priv, out->sk_pub) != SL_OK ||
		PEM_write_bio_PrivateKey(bio, out->sk_priv, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return sl_fail(err, SL_ECRYPTO, "cannot make a P-256 key");
	}
	len = BIO_get_mem_data(bio, &data);
	rc = sl_file_write(path, data, (size_t)len, 0600, err);
	BIO_free_all(bio);
	if (rc == SL_OK)
		log_info("created %s", path);
	return rc;
}

/* Read `name` in the keys dir, or create it when it does not exist. */
static int
key_load_or_create(struct server *srv, const char *name, bool create, struct app_seal_key *out, struct sl_err *err)
{
	char *path = sl_path_resolve(srv->sv_conf->c_keys_dir, name);
	FILE *f;
	int rc;

	if (path == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	f = fopen(path, "r");
	if (f != NULL)
		fclose(f);
	rc = f != NULL || !create ? key_read(path, out, err) : key_create(path, out, err);
	free(path);
	return rc;
}

static bool
kid_ok(const char *kid)
{
	size_t n = strlen(kid);

	return n > 0 && n < APP_KID_MAX &&
	       strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n && kid[0] != '-';
}

/* The current sealing key's kid: from device-seal.current, or a new one. */
static int
current_kid(struct server *srv, char kid[APP_KID_MAX], bool *fresh, struct sl_err *err)
{
	char *path = sl_path_resolve(srv->sv_conf->c_keys_dir, SEAL_CURRENT), *text = NULL, *id;
	int rc;

	*fresh = false;
	if (path == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (sl_file_read(path, APP_KID_MAX + 2, &text, NULL, NULL) == SL_OK) {
		text[strcspn(text, "\r\n")] = '\0';
		rc = kid_ok(text) ? SL_OK : sl_fail(err, SL_EINVAL, "%s: not a key id", path);
		if (rc == SL_OK)
			sl_strlcpy(kid, text, APP_KID_MAX);
		free(text);
		free(path);
		return rc;
	}
	id = sl_random_name(12);
	rc = id ? sl_file_write(path, id, strlen(id), 0600, err) : sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc == SL_OK) {
		sl_strlcpy(kid, id, APP_KID_MAX);
		*fresh = true;
	}
	free(id);
	free(path);
	return rc;
}

/* Older sealing keys: every other device-seal-<kid>.pem in the dir. */
static int
load_older(struct server *srv, struct app_keys *ak, struct sl_err *err)
{
	DIR *d = opendir(srv->sv_conf->c_keys_dir);
	struct dirent *de;
	int rc = SL_OK;

	if (d == NULL)
		return sl_fail(err, SL_EIO, "cannot read %s", srv->sv_conf->c_keys_dir);
	while (rc == SL_OK && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), plen = strlen(SEAL_PREFIX);
		char kid[APP_KID_MAX];

		if (n <= plen + 4 || strncmp(de->d_name, SEAL_PREFIX, plen) != 0 ||
			strcmp(de->d_name + n - 4, ".pem") != 0 || n - plen - 4 >= APP_KID_MAX)
			continue;
		memcpy(kid, de->d_name + plen, n - plen - 4);
		kid[n - plen - 4] = '\0';
		if (!kid_ok(kid) || strcmp(kid, ak->ak_seal[0].sk_kid) == 0)
			continue;
		if (ak->ak_nseal == APP_SEAL_KEYS_MAX) {
			rc = sl_fail(err, SL_ETOOBIG, "more than %d device sealing keys in %s", APP_SEAL_KEYS_MAX,
				srv->sv_conf->c_keys_dir);
			break;
		}
		sl_strlcpy(ak->ak_seal[ak->ak_nseal].sk_kid, kid, APP_KID_MAX);
		rc = key_load_or_create(srv, de->d_name, false, &ak->ak_seal[ak->ak_nseal], err);
		if (rc == SL_OK)
			ak->ak_nseal++;
	}
	closedir(d);
	return rc;
}

int
app_keys_load(struct server *srv, struct sl_err *err)
{
	struct app_keys *ak = calloc(1, sizeof(*ak));
	char name[APP_KID_MAX + 32];
	bool fresh = false;
	int rc;

	if (ak == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	srv->sv_app_keys = ak;
	rc = current_kid(srv, ak->ak_seal[0].sk_kid, &fresh, err);
	if (rc == SL_OK) {
		snprintf(name, sizeof(name), SEAL_PREFIX "%s.pem", ak->ak_seal[0].sk_kid);
		rc = key_load_or_create(srv, name, fresh, &ak->ak_seal[0], err);
	}
	if (rc == SL_OK) {
		ak->ak_nseal = 1;
		rc = load_older(srv, ak, err);
	}
	if (rc == SL_OK) {
		sl_strlcpy(ak->ak_rest.sk_kid, REST_KID, sizeof(ak->ak_rest.sk_kid));
		rc = key_load_or_create(srv, REST_FILE, true, &ak->ak_rest, err);
	}
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
	for (size_t i = 0; i < APP_SEAL_KEYS_MAX; i++)
		EVP_PKEY_free(ak->ak_seal[i].sk_priv);
	EVP_PKEY_free(ak->ak_rest.sk_priv);
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

static int
unseal_with(const struct app_seal_key *k, const char *b64, size_t max, const char *aad, uint8_t **plain,
	size_t *plainlen, struct sl_err *err)
{
	uint8_t *blob;
	size_t n = 0;
	int rc;

	if (b64 == NULL || strlen(b64) > max || (blob = sl_b64url_decode(b64, strlen(b64), &n)) == NULL)
		return sl_fail(err, SL_EINVAL, "the sealed value is not base64url");
	rc = unseal(k->sk_priv, k->sk_kid, (const uint8_t *)aad, strlen(aad), blob, n, plain, plainlen, err);
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
	return unseal_with(k, b64, APP_SEALED_MAX, aad, plain, plainlen, err);
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
	return unseal_with(k, b64, APP_SEALED_BIG_MAX, aad, plain, plainlen, err);
}

char *
app_rest_seal_bytes(struct server *srv, const char *aad, const uint8_t *data, size_t len, struct sl_err *err)
{
	const struct app_seal_key *k = &srv->sv_app_keys->ak_rest;
	uint8_t *blob = NULL;
	size_t n = 0;
	char *out;

	if (seal(k->sk_pub, k->sk_kid, (const uint8_t *)aad, strlen(aad), data, len, &blob, &n, err) != SL_OK)
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
	return unseal_with(&srv->sv_app_keys->ak_rest, sealed_b64, APP_SEALED_BIG_MAX, aad, plain, plainlen, err);
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
