/*
 * check.c — a card's validation off the event loop.  eid_validate() may
 * fetch OCSP and then a CRL ([eid] revocation_timeout each); on the eID
 * listener's loop a hanging responder would hold that loop.  The chain is
 * copied, the request suspended, and the validation runs on an outbound
 * worker (src/outbound); the handler runs again with the result.  A card
 * whose verdict is cached needs neither: it is judged on the loop at once.
 */
#include <stdlib.h>
#include <string.h>

#include "eid.h"
#include "../../outbound/outbound.h"

struct eid_check {
	struct eid_validator *ck_v;
	uint8_t *ck_der[EID_MAX_CHAIN];
	size_t ck_len[EID_MAX_CHAIN];
	size_t ck_n;
	struct eid_result ck_res;
};

static void
check_run(void *p)
{
	struct eid_check *ck = p;

	eid_validate(ck->ck_v, (const uint8_t *const *)ck->ck_der, ck->ck_len, ck->ck_n, sl_now(), &ck->ck_res);
}

static void
check_free(void *p)
{
	struct eid_check *ck = p;

	for (size_t i = 0; i < ck->ck_n; i++)
		free(ck->ck_der[i]);
	eid_result_clear(&ck->ck_res);
	free(ck);
}

int
eid_check_suspend(struct eid_validator *v, struct outbound *ob, struct http_request *rq, const struct eid_chain *ch,
	int revocation_timeout, struct eid_result *cached)
{
	/* OCSP, then the CRL, each bounded by revocation_timeout (OpenSSL's
	 * client may overshoot it a little): the request's own deadline is a
	 * backstop for a validation that found no worker in time. */
	int64_t deadline_ms = sl_monotonic_ms() + (3 * (int64_t)revocation_timeout + 2) * 1000;
	struct eid_check *ck;

	/* a returning card: judged here, on the loop, no worker needed */
	if (eid_validate_cached(v, ch->ec_der, ch->ec_len, ch->ec_n, sl_now(), cached))
		return EID_CHECK_CACHED;
	if ((ck = calloc(1, sizeof(*ck))) == NULL)
		return SL_EBUSY;
	ck->ck_v = v;
	for (; ck->ck_n < ch->ec_n && ck->ck_n < EID_MAX_CHAIN; ck->ck_n++) {
		size_t i = ck->ck_n;
		if ((ck->ck_der[i] = malloc(ch->ec_len[i] > 0 ? ch->ec_len[i] : 1)) == NULL) {
			check_free(ck);
			return SL_EBUSY;
		}
		memcpy(ck->ck_der[i], ch->ec_der[i], ch->ec_len[i]);
		ck->ck_len[i] = ch->ec_len[i];
	}
	return outbound_call(ob, rq, deadline_ms, check_run, check_free, ck) == SL_OK ? SL_OK : SL_EBUSY;
}

const char *
eid_check_unavailable(int st)
{
	switch (st) {
	case OUTBOUND_TIMEOUT: return "the card check did not finish in time";
	case OUTBOUND_STOPPING: return "the server is stopping";
	default: return "no outbound worker free";
	}
}

int
eid_check_result(struct http_request *rq, const struct eid_result **res)
{
	struct eid_check *ck;
	int st = outbound_result(rq, (void **)&ck);

	*res = st == OUTBOUND_DONE ? &ck->ck_res : NULL;
	return st;
}
