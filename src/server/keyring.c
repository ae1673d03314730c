/*
 * keyring.c — the ID-token signing keys.  The store lists them (kid, alg,
 * from when each may sign, until when each is published); the private
 * halves are PEM files in [keys] dir that only the key holder reads
 * (src/keyholder): this process keeps the public halves, and jose_sign()
 * sends the signing input there (KH_OP_JWS_SIGN).
 *
 * Rotation (`sleutel keys rotate`) adds a key that is published at once but
 * signs only from its use_after time, so RPs that cache the JWKS see it
 * before any token carries it; the key it replaces stays published until
 * the tokens it signed have expired.  The daemon notices a rotation by the
 * store's key generation counter, checked by the housekeeping thread (and
 * at SIGHUP), and sends the key holder the new list (KH_OP_JWS_SET).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "server.h"
#include "../keyholder/keyholder.h"

#define KEYRING_MAX KH_JWS_MAX

struct keyring_entry {
	struct jose_key *ke_key; /* the public half; signs through the key holder */
	int64_t ke_created;
	int64_t ke_use_after;
	int64_t ke_retire_after;
};

struct keyring {
	pthread_rwlock_t kr_lock;
	pthread_mutex_t kr_reload; /* one reload at a time: the key holder's set is the last one sent */
	struct keyring_entry kr_keys[KEYRING_MAX];
	size_t kr_count;
	int64_t kr_generation;
	json_t *kr_jwks;
};

struct key_load {
	struct store_key kl_meta[KEYRING_MAX]; /* kid and alg borrowed as copies below */
	char kl_kid[KEYRING_MAX][KH_KID_MAX];
	char kl_alg[KEYRING_MAX][8];
	size_t kl_count;
	struct sl_err *kl_err;
};

static int
key_list_one(const struct store_key *k, void *arg)
{
	struct key_load *kl = arg;

	if (k->k_retire_after != 0 && k->k_retire_after <= sl_now())
		return SL_OK;
	if (kl->kl_count == KEYRING_MAX)
		return sl_fail(kl->kl_err, SL_ETOOBIG, "more than %d published signing keys", KEYRING_MAX);
	if (!kh_kid_ok(k->k_kid, strlen(k->k_kid)) || k->k_kid[0] == '\0' || !jose_alg_supported(k->k_alg))
		return sl_fail(kl->kl_err, SL_EINVAL, "signing key %s: bad key id or algorithm", k->k_kid);
	sl_strlcpy(kl->kl_kid[kl->kl_count], k->k_kid, KH_KID_MAX);
	sl_strlcpy(kl->kl_alg[kl->kl_count], k->k_alg, 8);
	kl->kl_meta[kl->kl_count++] = *k;
	return SL_OK;
}

static int
keyring_remote_sign(
	void *ctx, const char *kid, const uint8_t *input, size_t len, uint8_t **sig, size_t *siglen, struct sl_err *err)
{
	return keyholder_call(ctx, KH_OP_JWS_SIGN, kid, input, len, sig, siglen, err);
}

static void
entries_free(struct keyring_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jose_key_free(e[i].ke_key);
}

/* The key holder's answer to KH_OP_JWS_SET: [u16 length][SPKI PEM] per
 * key, in the order asked; each becomes a public key that signs there. */
static int
entries_from_answer(struct server *srv, struct key_load *kl, const uint8_t *a, size_t alen, struct keyring_entry *out,
	struct sl_err *err)
{
	size_t pos = 0;

	for (size_t i = 0; i < kl->kl_count; i++) {
		size_t n = pos + 2 <= alen ? (size_t)a[pos] << 8 | a[pos + 1] : 0;
		char *pem;

		if (n == 0 || pos + 2 + n > alen)
			return sl_fail(err, SL_EINVAL, "key holder: short key list");
		pem = sl_strndup((const char *)a + pos + 2, n);
		pos += 2 + n;
		out[i].ke_key = pem ? jose_key_from_pem(pem, kl->kl_alg[i], kl->kl_kid[i], err) : NULL;
		free(pem);
		if (out[i].ke_key == NULL)
			return SL_ECRYPTO;
		jose_key_set_signer(out[i].ke_key, keyring_remote_sign, srv->sv_kh);
		out[i].ke_created = kl->kl_meta[i].k_created;
		out[i].ke_use_after = kl->kl_meta[i].k_use_after;
		out[i].ke_retire_after = kl->kl_meta[i].k_retire_after;
	}
	return pos == alen ? SL_OK : sl_fail(err, SL_EINVAL, "key holder: long key list");
}

/* The published keys of the store, loaded by the key holder. */
static int
keys_fetch(struct server *srv, struct keyring_entry *out, size_t *count, struct sl_err *err)
{
	struct key_load *kl = calloc(1, sizeof(*kl));
	struct sl_buf req;
	uint8_t *ans = NULL;
	size_t alen = 0;
	int rc;

	if (kl == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	kl->kl_err = err;
	sl_buf_init(&req, KH_PAYLOAD_MAX);
	rc = store_key_each(srv->sv_store, key_list_one, kl);
	for (size_t i = 0; rc == SL_OK && i < kl->kl_count; i++)
		rc = sl_buf_addf(&req, "%s %s\n", kl->kl_kid[i], kl->kl_alg[i]);
	if (rc == SL_OK)
		rc = keyholder_call(srv->sv_kh, KH_OP_JWS_SET, NULL, req.b_data, req.b_len, &ans, &alen, err);
	if (rc == SL_OK)
		rc = entries_from_answer(srv, kl, ans, alen, out, err);
	if (rc == SL_OK)
		*count = kl->kl_count;
	else
		entries_free(out, kl->kl_count);
	sl_buf_reset(&req);
	free(ans);
	free(kl);
	return rc;
}

static json_t *
jwks_build(struct keyring_entry *e, size_t n)
{
	json_t *keys = json_array(), *doc = json_object();

	/* Every key or none: a set missing a key lost to a failed allocation
	 * would have relying parties refuse that key's tokens. */
	for (size_t i = 0; keys != NULL && i < n; i++) {
		if (json_array_append_new(keys, jose_key_public_jwk(e[i].ke_key)) != 0) {
			json_decref(keys);
			keys = NULL;
		}
	}
	if (json_object_set_new(doc, "keys", keys) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Read the key set from the store, have the key holder load it, swap it in. */
static int
keyring_reload(struct server *srv, int64_t gen, struct sl_err *err)
{
	struct keyring *kr = srv->sv_keys;
	struct keyring_entry next[KEYRING_MAX];
	json_t *jwks;
	size_t count = 0;
	int rc;

	memset(next, 0, sizeof(next));
	pthread_mutex_lock(&kr->kr_reload);
	rc = keys_fetch(srv, next, &count, err);
	jwks = rc == SL_OK ? jwks_build(next, count) : NULL;
	if (rc == SL_OK && jwks == NULL) {
		entries_free(next, count);
		rc = sl_fail(err, SL_ENOMEM, "out of memory building the key set");
	}
	if (rc == SL_OK) {
		pthread_rwlock_wrlock(&kr->kr_lock);
		entries_free(kr->kr_keys, kr->kr_count);
		memcpy(kr->kr_keys, next, sizeof(next));
		kr->kr_count = count;
		kr->kr_generation = gen;
		json_decref(kr->kr_jwks);
		kr->kr_jwks = jwks;
		pthread_rwlock_unlock(&kr->kr_lock);
	}
	pthread_mutex_unlock(&kr->kr_reload);
	return rc;
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
	pthread_mutex_init(&kr->kr_reload, NULL);
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
	pthread_mutex_destroy(&kr->kr_reload);
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

	/* The current key (not retired) signs once its use_after has come;
	 * until then, of the keys it retired, the one that signed last.  Not
	 * the greatest use_after alone: two rotations in one second tie, and
	 * an urgent rotation (delay 0) retires a key still waiting to sign,
	 * which must then never sign. */
	for (size_t i = 0; i < kr->kr_count; i++) {
		struct keyring_entry *e = &kr->kr_keys[i];
		if (strcmp(jose_key_alg(e->ke_key), alg) != 0 || e->ke_use_after > now)
			continue;
		if (e->ke_retire_after == 0)
			return e->ke_key;
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
