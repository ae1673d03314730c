/*
 * hold_seal.c — the device API's sealing keys and the at-rest key, in the
 * key holder.  All P-256, all files in [keys] dir (mode 0600), created on
 * first start (the layout keys/app/keys.c describes):
 *
 *   device-seal-<kid>.pem   sealing keys; device-seal.current names the
 *                           current one, the others stay usable
 *   device-rest.pem         the at-rest key (wire id KH_REST_KID)
 *
 * sleuteld gets the public points (KH_OP_SEAL_KEYS) and seals to them
 * itself; opening a blob (KH_OP_UNSEAL) happens here.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "holder_int.h"
#include "../config/config.h"

#define SEAL_FILE_MAX 16384
#define SEAL_PREFIX "device-seal-"
#define SEAL_CURRENT "device-seal.current"
#define REST_FILE "device-rest.pem"
#define UNSEAL_AAD_MAX 1024

void
hold_seal_clear(struct holder *ho)
{
	/* Every slot: a key read before a later one failed is freed too. */
	for (size_t i = 0; i < KH_SEAL_MAX; i++)
		EVP_PKEY_free(ho->ho_seal[i].hs_key);
	OPENSSL_cleanse(ho->ho_seal, sizeof(ho->ho_seal));
	ho->ho_nseal = 0;
}

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
key_read(const char *path, struct hold_seal *out, struct sl_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	BIO *bio;
	int rc;

	rc = sl_file_read(path, SEAL_FILE_MAX, &pem, &len, err);
	if (rc != SL_OK)
		return rc;
	bio = BIO_new_mem_buf(pem, (int)len);
	out->hs_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (out->hs_key == NULL || key_point(out->hs_key, out->hs_pub) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "%s: not a P-256 private key", path);
	return SL_OK;
}

static int
key_create(const char *path, struct hold_seal *out, struct sl_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int rc;

	out->hs_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (bio == NULL || out->hs_key == NULL || key_point(out->hs_key, out->hs_pub) != SL_OK ||
		PEM_write_bio_PrivateKey(bio, out->hs_key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return sl_fail(err, SL_ECRYPTO, "cannot make a P-256 key");
	}
	len = BIO_get_mem_data(bio, &data);
	rc = sl_file_write(path, data, (size_t)len, 0600, err);
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free_all(bio);
	if (rc == SL_OK)
		log_info("key holder: created %s", path);
	return rc;
}

/* Read `name` in the keys dir, or create it when `create` and missing. */
static int
key_load(const struct holder *ho, const char *name, bool create, struct hold_seal *out, struct sl_err *err)
{
	char *path = sl_path_resolve(ho->ho_conf->c_keys_dir, name);
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

/* The current sealing key's kid: from device-seal.current, or a new one. */
static int
current_kid(const struct holder *ho, char kid[KH_KID_MAX], bool *fresh, struct sl_err *err)
{
	char *path = sl_path_resolve(ho->ho_conf->c_keys_dir, SEAL_CURRENT), *text = NULL, *id;
	int rc;

	*fresh = false;
	if (path == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (sl_file_read(path, KH_KID_MAX + 2, &text, NULL, NULL) == SL_OK) {
		text[strcspn(text, "\r\n")] = '\0';
		rc = text[0] != '\0' && kh_kid_ok(text, strlen(text))
			     ? SL_OK
			     : sl_fail(err, SL_EINVAL, "%s: not a key id", path);
		if (rc == SL_OK)
			sl_strlcpy(kid, text, KH_KID_MAX);
		free(text);
		free(path);
		return rc;
	}
	id = sl_random_name(12);
	rc = id ? sl_file_write(path, id, strlen(id), 0600, err) : sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc == SL_OK) {
		sl_strlcpy(kid, id, KH_KID_MAX);
		*fresh = true;
	}
	free(id);
	free(path);
	return rc;
}

/* Older sealing keys: every other device-seal-<kid>.pem in the dir. */
static int
load_older(struct holder *ho, const char *current, struct sl_err *err)
{
	DIR *d = opendir(ho->ho_conf->c_keys_dir);
	struct dirent *de;
	int rc = SL_OK;

	if (d == NULL)
		return sl_fail(err, SL_EIO, "cannot read %s", ho->ho_conf->c_keys_dir);
	while (rc == SL_OK && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), plen = strlen(SEAL_PREFIX);
		struct hold_seal *s = &ho->ho_seal[ho->ho_nseal];

		if (n <= plen + 4 || strncmp(de->d_name, SEAL_PREFIX, plen) != 0 ||
			strcmp(de->d_name + n - 4, ".pem") != 0 || n - plen - 4 >= KH_KID_MAX ||
			!kh_kid_ok(de->d_name + plen, n - plen - 4))
			continue;
		if (n - plen - 4 == strlen(current) && strncmp(de->d_name + plen, current, n - plen - 4) == 0)
			continue;
		if (ho->ho_nseal == KH_SEAL_MAX) {
			rc = sl_fail(err, SL_ETOOBIG, "more than %d device sealing keys in %s", KH_SEAL_MAX - 1,
				ho->ho_conf->c_keys_dir);
			break;
		}
		memcpy(s->hs_kid, de->d_name + plen, n - plen - 4);
		s->hs_seal_kid = s->hs_kid;
		rc = key_load(ho, de->d_name, false, s, err);
		if (rc == SL_OK)
			ho->ho_nseal++;
	}
	closedir(d);
	return rc;
}

static int
seal_load_all(struct holder *ho, struct sl_err *err)
{
	struct hold_seal *rest = &ho->ho_seal[0], *cur = &ho->ho_seal[1];
	char name[KH_KID_MAX + 32];
	bool fresh = false;
	int rc;

	sl_strlcpy(rest->hs_kid, KH_REST_KID, sizeof(rest->hs_kid));
	rest->hs_seal_kid = KH_REST_SEAL_KID;
	rc = key_load(ho, REST_FILE, true, rest, err);
	if (rc != SL_OK)
		return rc;
	ho->ho_nseal = 1;
	rc = current_kid(ho, cur->hs_kid, &fresh, err);
	if (rc == SL_OK) {
		cur->hs_seal_kid = cur->hs_kid;
		snprintf(name, sizeof(name), SEAL_PREFIX "%.*s.pem", KH_KID_MAX - 1, cur->hs_kid);
		rc = key_load(ho, name, fresh, cur, err);
	}
	if (rc == SL_OK) {
		ho->ho_nseal = 2;
		rc = load_older(ho, cur->hs_kid, err);
	}
	return rc;
}

int
hold_seal_keys(struct holder *ho, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	int rc;

	hold_seal_clear(ho);
	rc = seal_load_all(ho, err);
	if (rc != SL_OK) {
		hold_seal_clear(ho);
		return rc;
	}
	for (size_t i = 0; i < ho->ho_nseal; i++) {
		const struct hold_seal *s = &ho->ho_seal[i];
		size_t kl = strlen(s->hs_kid);
		out[(*outlen)++] = (uint8_t)kl;
		memcpy(out + *outlen, s->hs_kid, kl);
		*outlen += kl;
		memcpy(out + *outlen, s->hs_pub, P256_PUB_LEN);
		*outlen += P256_PUB_LEN;
	}
	return SL_OK;
}

/* A split-key secret (a server key or a share: sk_*_to_json, a JSON object
 * with the share "d1pp"), which sleuteld sealed at rest itself before the
 * key holder held them: no longer for sleuteld's eyes. */
static bool
is_split_key(const uint8_t *plain, size_t len)
{
	static const char member[] = "\"d1pp\"";

	return len > 0 && plain[0] == '{' && memmem(plain, len, member, strlen(member)) != NULL;
}

int
hold_unseal(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	const struct hold_seal *s = NULL;
	uint8_t *plain = NULL;
	size_t aadlen, plainlen = 0;
	int rc;

	for (size_t i = 0; i < ho->ho_nseal && s == NULL; i++)
		if (strcmp(ho->ho_seal[i].hs_kid, kid) == 0)
			s = &ho->ho_seal[i];
	if (s == NULL)
		return sl_fail(err, SL_EINVAL, "unknown seal_kid");
	if (len < 2 || (aadlen = (size_t)p[0] << 8 | p[1]) == 0 || aadlen > UNSEAL_AAD_MAX || aadlen > len - 2)
		return sl_fail(err, SL_EINVAL, "malformed unseal request");
	/* A split-key share on its way in opens only into the key holder's
	 * own keeping (KH_OP_SK_SHARE). */
	if (aadlen >= strlen(KH_SK_SHARE_AAD) && memcmp(p + 2, KH_SK_SHARE_AAD, strlen(KH_SK_SHARE_AAD)) == 0)
		return sl_fail(err, SL_EDENIED, "a split-key share is opened by the key holder only");
	rc = unseal(s->hs_key, s->hs_seal_kid, p + 2, aadlen, p + 2 + aadlen, len - 2 - aadlen, &plain, &plainlen, err);
	/* The at-rest key (slot 0) opens Q and the RP API secrets, never a
	 * split key sealed under it before 45aff05 (the key holder reseals
	 * those: KH_OP_SK_RESEAL). */
	if (rc == SL_OK && s == &ho->ho_seal[0] && is_split_key(plain, plainlen))
		rc = sl_fail(err, SL_EDENIED, "a split-key server key is opened by the key holder only");
	if (rc == SL_OK && plainlen > KH_PAYLOAD_MAX)
		rc = sl_fail(err, SL_ETOOBIG, "sealed value too large");
	if (rc == SL_OK) {
		memcpy(out, plain, plainlen);
		*outlen = plainlen;
	}
	if (plain != NULL)
		OPENSSL_cleanse(plain, plainlen);
	free(plain);
	return rc;
}
