/*
 * v2.c — the v2 creation endpoints: the same sessions as v3 (create.c),
 * parsed from v2's bodies (parse_v2.c) and answered {"sessionID"}; the RP
 * computes the verification code from its hash.  Their status is
 * answered in the v2 shape (status.c).
 */
#include "sidrp_int.h"

static json_t *
v2_answer(const struct sidrp_req *r, const struct sidrp_created *c)
{
	(void)r;
	return json_pack("{s:s}", "sessionID", c->sc_session.ss_id);
}

void
sidrp_v2_post(void *ctx, struct http_request *rq)
{
	sidrp_post(ctx, rq, SIDRP_V2_BASE, sidrp_parse_v2, v2_answer);
}
