/*
 * keyring.c — the ID-token signing keys.  The store lists them (kid, alg,
 * from when each may sign, until when each is published); the private
 * halves are PEM files in [keys] dir, readable by the daemon alone.
 *
 * Rotation (`sleutel keys rotate`) adds a key that is published at once but
 * signs only from its use_after time, so RPs that cache the JWKS see it
 * before any token carries it; the key it replaces stays published until
 * the tokens it signed have expired.  The daemon notices a rotation by the
 * store's key generation counter, checked by the housekeeping thread.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "server.h"

#define KEYRING_MAX 32

struct keyring_entry {
	struct jose_key *ke_key;
	int64_t ke_created;
	int64_t ke_use_after;
	int64_t ke_retire_after;
};

struct keyring {
	pthread_rwlock_t kr_lock;
	struct keyring_entry kr_keys[KEYRING_MAX];
	size_t kr_count;
	int64_t kr_generation;
	json_t *kr_jwks;
};

struct key_load {
	struct server *kl_srv;
	struct keyring_entry kl_keys[KEYRING_MAX];
	size_t kl_count;
	struct sl_err *kl_err;
};

static int
key_load_one(const struct store_key *k, void *arg)
{
	struct key_load *kl = arg;
	char *path, *pem = NULL, name[128];
	struct jose_key *key;

	if (k->k_retire_after != 0 && k->k_retire_after <= sl_now())
		return SL_OK;
	if (kl->kl_count == KEYRING_MAX)
		return sl_fail(kl->kl_err, SL_ETOOBIG, "more than %d published signing keys", KEYRING_MAX);
	snprintf(name, sizeof(name), "%s.pem", k->k_kid);
	path = sl_path_resolve(kl->kl_srv->sv_conf->c_keys_dir, name);
	if (path == NULL || sl_file_read(path, 65536, &pem, NULL, kl->kl_err) != SL_OK) {
		free(path);
		return SL_EIO;
	}
	free(path);
	key = jose_key_from_pem(pem, k->k_alg, k->k_kid, kl->kl_err);
	OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	if (key == NULL)
		return SL_ECRYPTO;
	kl->kl_keys[kl->kl_count++] = (struct keyring_entry){ key, k->k_created, k->k_use_after, k->k_retire_after };
	return SL_OK;
}

static void
entries_free(struct keyring_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jose_key_free(e[i].ke_key);
}

static json_t *
jwks_build(struct keyring_entry *e, size_t n)
{
	json_t *keys = json_array(), *doc = json_object();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(keys, jose_key_public_jwk(e[i].ke_key));
	json_object_set_new(doc, "keys", keys);
	return doc;
}

/* Read the key set from the store and swap it in. */
static int
keyring_reload(struct server *srv, int64_t gen, struct sl_err *err)
{
	struct keyring *kr = srv->sv_keys;
	struct key_load kl;
	int rc;

	memset(&kl, 0, sizeof(kl));
	kl.kl_srv = srv;
	kl.kl_err = err;
	rc = store_key_each(srv->sv_store, key_load_one, &kl);
	if (rc != SL_OK) {
		entries_free(kl.kl_keys, kl.kl_count);
		return rc;
	}
	pthread_rwlock_wrlock(&kr->kr_lock);
	entries_free(kr->kr_keys, kr->kr_count);
	memcpy(kr->kr_keys, kl.kl_keys, sizeof(kl.kl_keys));
	kr->kr_count = kl.kl_count;
	kr->kr_generation = gen;
	json_decref(kr->kr_jwks);
	kr->kr_jwks = jwks_build(kr->kr_keys, kr->kr_count);
	pthread_rwlock_unlock(&kr->kr_lock);
	return SL_OK;
}

int
keyring_load(struct server *srv, struct sl_err *err)
{
	struct keyring *kr = calloc(1, sizeof(*kr));
	int64_t gen = 0;
	int rc;

	if (kr == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	pthread_rwlock_init(&kr->kr_lock, NULL);
	srv->sv_keys = kr;
	rc = store_key_generation(srv->sv_store, &gen);
	if (rc == SL_OK)
		rc = keyring_reload(srv, gen, err);
	if (rc != SL_OK)
		return rc;
	if (keyring_signer(srv, "ES256") == NULL)
		return sl_fail(err, SL_EINVAL, "no ES256 signing key: run 'sleutel keys rotate'");
	return SL_OK;
}

int
keyring_refresh(struct server *srv)
{
	struct sl_err err = { 0 };
	int64_t gen = 0;
	int rc;

	if (store_key_generation(srv->sv_store, &gen) != SL_OK)
		return SL_ESTORE;
	if (gen == srv->sv_keys->kr_generation)
		return SL_OK;
	rc = keyring_reload(srv, gen, &err);
	if (rc != SL_OK)
		log_error("signing keys not reloaded: %s", err.msg);
	else
		log_info("signing keys reloaded (generation %lld)", (long long)gen);
	return rc;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	entries_free(kr->kr_keys, kr->kr_count);
	json_decref(kr->kr_jwks);
	pthread_rwlock_destroy(&kr->kr_lock);
	free(kr);
}

void
keyring_lock(struct server *srv)
{
	pthread_rwlock_rdlock(&srv->sv_keys->kr_lock);
}

void
keyring_unlock(struct server *srv)
{
	pthread_rwlock_unlock(&srv->sv_keys->kr_lock);
}

struct jose_key *
keyring_signer(struct server *srv, const char *alg)
{
	struct keyring *kr = srv->sv_keys;
	struct keyring_entry *best = NULL;
	int64_t now = sl_now();

	for (size_t i = 0; i < kr->kr_count; i++) {
		struct keyring_entry *e = &kr->kr_keys[i];
		if (strcmp(jose_key_alg(e->ke_key), alg) != 0 || e->ke_use_after > now)
			continue;
		if (best == NULL || e->ke_use_after > best->ke_use_after)
			best = e;
	}
	return best ? best->ke_key : NULL;
}

size_t
keyring_verifiers(struct server *srv, struct jose_key **keys, size_t max)
{
	struct keyring *kr = srv->sv_keys;
	size_t n = 0;

	for (size_t i = 0; i < kr->kr_count && n < max; i++)
		keys[n++] = kr->kr_keys[i].ke_key;
	return n;
}

json_t *
keyring_jwks(struct server *srv)
{
	json_t *doc;

	pthread_rwlock_rdlock(&srv->sv_keys->kr_lock);
	doc = json_deep_copy(srv->sv_keys->kr_jwks);
	pthread_rwlock_unlock(&srv->sv_keys->kr_lock);
	return doc;
}
