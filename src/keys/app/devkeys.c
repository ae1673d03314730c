/*
 * devkeys.c — a registered device's keys, parsed once: its transport key
 * as a verifying jose_key (every device-API call carries a proof) and its
 * confirmation key Q, opened from the at-rest seal (every approval).
 * Parsing them per request cost more than the ECDSA verify they serve: the
 * JWK's thumbprint and point check, cjose's import, and for Q an ECDH, an
 * HKDF and AES-GCM.
 *
 * The store stays the judge.  A caller has read the device's row in this
 * request and decides on its status and account there; an entry is used
 * only for the row whose id, transport JWK text and sealed Q text are
 * byte for byte the ones it was made from, so a removed, blocked or
 * re-keyed device gains nothing from it, and a row changed in the store
 * (on this node or another) misses and is parsed again.
 *
 * Bounded: APP_DEVKEYS_SLOTS entries, direct-mapped by the device id (a
 * collision replaces the older entry), each kept APP_DEVKEYS_TTL seconds
 * from when it was made.  Holders get their own reference (jose_key_ref,
 * EVP_PKEY_up_ref), so an entry replaced while another thread verifies
 * with its key stays valid for that thread.  Q is public key material; it
 * is sealed at rest against database dumps, and this process holds the
 * key that opens it anyway.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "device_int.h"

struct devkey {
	char de_id[APP_ID_MAX + 1]; /* "" when the slot is empty */
	char *de_jwk; /* the transport JWK text the entry was made from */
	char *de_rest; /* the sealed Q text the entry was made from */
	struct jose_key *de_tk; /* NULL until a proof needed it */
	EVP_PKEY *de_q; /* NULL until an approval needed it */
	int64_t de_expires;
};

struct app_devkeys {
	pthread_mutex_t dk_lock;
	struct devkey dk_slot[APP_DEVKEYS_SLOTS];
};

struct app_devkeys *
app_devkeys_new(void)
{
	struct app_devkeys *dk = calloc(1, sizeof(*dk));

	if (dk != NULL && pthread_mutex_init(&dk->dk_lock, NULL) != 0) {
		free(dk);
		dk = NULL;
	}
	return dk;
}

static void
entry_clear(struct devkey *e)
{
	jose_key_free(e->de_tk);
	EVP_PKEY_free(e->de_q);
	free(e->de_jwk);
	free(e->de_rest);
	memset(e, 0, sizeof(*e));
}

void
app_devkeys_free(struct app_devkeys *dk)
{
	if (dk == NULL)
		return;
	for (size_t i = 0; i < APP_DEVKEYS_SLOTS; i++)
		entry_clear(&dk->dk_slot[i]);
	pthread_mutex_destroy(&dk->dk_lock);
	free(dk);
}

/* FNV-1a of the device id: its slot. */
static struct devkey *
slot_of(struct app_devkeys *dk, const char *id)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &dk->dk_slot[h % APP_DEVKEYS_SLOTS];
}

static const char *
text_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Was `e` made from exactly this row, and is it still in its lifetime? */
static bool
entry_is(const struct devkey *e, const struct store_device *dev, int64_t now)
{
	return e->de_id[0] != '\0' && now < e->de_expires && strcmp(e->de_id, dev->dv_id) == 0 &&
	       strcmp(e->de_jwk, text_or_empty(dev->dv_transport_jwk)) == 0 &&
	       strcmp(e->de_rest, text_or_empty(dev->dv_confirm_key)) == 0;
}

/* The entry for this row, made anew (replacing whatever held the slot)
 * when there is none; NULL when out of memory or the id is too long.
 * Under the lock. */
static struct devkey *
entry_for(struct app_devkeys *dk, const struct store_device *dev, int64_t now)
{
	struct devkey *e = slot_of(dk, dev->dv_id);

	if (entry_is(e, dev, now))
		return e;
	entry_clear(e);
	if (strlen(dev->dv_id) > APP_ID_MAX)
		return NULL;
	e->de_jwk = strdup(text_or_empty(dev->dv_transport_jwk));
	e->de_rest = strdup(text_or_empty(dev->dv_confirm_key));
	if (e->de_jwk == NULL || e->de_rest == NULL) {
		entry_clear(e);
		return NULL;
	}
	memcpy(e->de_id, dev->dv_id, strlen(dev->dv_id) + 1);
	e->de_expires = now + APP_DEVKEYS_TTL;
	return e;
}

struct jose_key *
app_devkeys_transport(struct app_devkeys *dk, const struct store_device *dev, int64_t now, struct sl_err *err)
{
	char jkt[APP_JKT_LEN + 1];
	struct jose_key *key = NULL;
	struct devkey *e;
	json_t *jwk;

	if (dev == NULL || dev->dv_id == NULL || dev->dv_transport_jwk == NULL) {
		sl_fail(err, SL_EINVAL, "the device has no transport key");
		return NULL;
	}
	pthread_mutex_lock(&dk->dk_lock);
	e = slot_of(dk, dev->dv_id);
	if (entry_is(e, dev, now) && e->de_tk != NULL)
		key = jose_key_ref(e->de_tk);
	pthread_mutex_unlock(&dk->dk_lock);
	if (key != NULL)
		return key;
	/* Parsed outside the lock: other devices' requests do not wait on it. */
	jwk = json_loads(dev->dv_transport_jwk, 0, NULL);
	key = jwk != NULL ? app_proof_key(jwk, jkt, err) : NULL;
	json_decref(jwk);
	if (key == NULL) {
		sl_fail(err, SL_EINVAL, "the device's transport key cannot be used");
		return NULL;
	}
	pthread_mutex_lock(&dk->dk_lock);
	if ((e = entry_for(dk, dev, now)) != NULL && e->de_tk == NULL)
		e->de_tk = jose_key_ref(key);
	pthread_mutex_unlock(&dk->dk_lock);
	return key;
}

EVP_PKEY *
app_devkeys_confirm(struct app_devkeys *dk, const struct store_device *dev, int64_t now, app_devkeys_open_fn open,
	void *arg, struct sl_err *err)
{
	EVP_PKEY *q = NULL;
	struct devkey *e;

	if (dev == NULL || dev->dv_id == NULL || dev->dv_confirm_key == NULL) {
		sl_fail(err, SL_EINVAL, "the device has no confirmation key");
		return NULL;
	}
	pthread_mutex_lock(&dk->dk_lock);
	e = slot_of(dk, dev->dv_id);
	if (entry_is(e, dev, now) && e->de_q != NULL && EVP_PKEY_up_ref(e->de_q) == 1)
		q = e->de_q;
	pthread_mutex_unlock(&dk->dk_lock);
	if (q != NULL)
		return q;
	if ((q = open(arg, dev->dv_id, dev->dv_confirm_key, err)) == NULL)
		return NULL;
	pthread_mutex_lock(&dk->dk_lock);
	if ((e = entry_for(dk, dev, now)) != NULL && e->de_q == NULL && EVP_PKEY_up_ref(q) == 1)
		e->de_q = q;
	pthread_mutex_unlock(&dk->dk_lock);
	return q;
}

size_t
app_devkeys_count(struct app_devkeys *dk)
{
	size_t n = 0;

	pthread_mutex_lock(&dk->dk_lock);
	for (size_t i = 0; i < APP_DEVKEYS_SLOTS; i++)
		n += dk->dk_slot[i].de_id[0] != '\0';
	pthread_mutex_unlock(&dk->dk_lock);
	return n;
}
