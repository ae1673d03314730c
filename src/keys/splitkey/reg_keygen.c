/*
 * reg_keygen.c — the server's keys of a Smart-ID registration, made when
 * the portal confirms it (behind a fresh eID login), not when the app
 * starts it: a start needs only a self-made transport key, so making the
 * keys there let anyone spend ~1.7 s of CPU (two RSA keys at 3072 bits)
 * of an HTTP thread per request.
 *
 * Even behind the card the work is bounded: at most [smartid] keygen_max
 * confirmations make keys at once, server-wide (a counter in the server
 * context, taken before and given back after).  One over the bound makes
 * nothing and is told to try again; the registration keeps its state.
 * The keys are made in the key holder (KH_OP_SK_KEYGEN), which answers one
 * request at a time: while it makes one, ID-token signatures wait (about
 * a second at 3072 bits; docs/security.md §11).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sid_reg_int.h"

/* A slot of the bound, or false when keygen_max are taken. */
static bool
keygen_slot_take(struct server *srv)
{
	int now = atomic_load(&srv->sv_sid_keygens);

	do {
		if (now >= srv->sv_conf->c_sid_keygen_max)
			return false;
	} while (!atomic_compare_exchange_weak(&srv->sv_sid_keygens, &now, now + 1));
	return true;
}

static void
keygen_slot_give(struct server *srv)
{
	atomic_fetch_sub(&srv->sv_sid_keygens, 1);
}

/* One use: the key made in the key holder from the sealed share. */
static char *
keygen_one(struct server *srv, const char *id, int i, const char *sealed_share, struct sl_err *err)
{
	if (sealed_share == NULL)
		return sl_fail(err, SL_EINVAL, "the registration holds no %s share", sid_uses[i]), NULL;
	return sid_key_make(srv, id, sid_uses[i], sealed_share, err);
}

#ifdef SL_TEST_KEY
/* TEST BUILDS ONLY: SLEUTEL_TEST_KEYGEN_DELAY_MS holds the slot that much
 * longer, so a test can have two confirmations overlap for sure. */
static void
keygen_test_delay(void)
{
	const char *ms = getenv("SLEUTEL_TEST_KEYGEN_DELAY_MS");
	long v = ms ? strtol(ms, NULL, 10) : 0;
	struct timespec ts = { v / 1000, (v % 1000) * 1000000L };

	if (v > 0 && v <= 60000)
		nanosleep(&ts, NULL);
}
#endif

int
sid_reg_keygen(struct server *srv, const struct store_sid_registration *r, char *sealed[2], struct sl_err *err)
{
	const char *shares[2] = { r->sr_auth_share, r->sr_sign_share };
	int rc = SL_OK;

	sealed[0] = sealed[1] = NULL;
	if (!keygen_slot_take(srv))
		return sl_fail(err, SL_EBUSY, "%d registrations are making keys", srv->sv_conf->c_sid_keygen_max);
#ifdef SL_TEST_KEY
	keygen_test_delay();
#endif
	for (int i = 0; i < 2 && rc == SL_OK; i++)
		if ((sealed[i] = keygen_one(srv, r->sr_id, i, shares[i], err)) == NULL)
			rc = err && err->code != SL_OK ? err->code : SL_ECRYPTO;
	keygen_slot_give(srv);
	if (rc != SL_OK) {
		free(sealed[0]);
		free(sealed[1]);
		sealed[0] = sealed[1] = NULL;
	}
	return rc;
}
