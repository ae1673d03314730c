/*
 * sidrp_fuzz.h — what every Smart-ID RP API body target shares
 * (fuzz_sidrp_*.c): the creation request parser (src/keys/sidrp/parse.c,
 * parse_v2.c) on anything as the body of one fixed, valid path.  Each
 * target is SIDRP_FUZZ(api, path): one request body schema.
 *
 * Beyond not crashing, leaking or reading past the body (which is not
 * NUL-terminated here), the parser must:
 *   - refuse with SL_EINVAL and a 400 problem naming why (the path is
 *     valid, so never 404; 503 only out of memory), its strings
 *     terminated;
 *   - or accept a request of the path's shape whose fields say what the
 *     schema promises (a UUID, a name, the protocol's challenge or digest
 *     of its hash's length, interactions), and that sidrp_req_to_json
 *     turns into the object a session keeps — the same for the same bytes.
 */
#ifndef SL_SIDRP_FUZZ_H
#define SL_SIDRP_FUZZ_H

#include <stdlib.h>
#include <string.h>

#include "../src/keys/sidrp/sidrp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int
sidrp_fuzz_parse(
	int api, const char *path, const uint8_t *data, size_t len, struct sidrp_req *r, struct sidrp_problem *pr)
{
	return api == 2 ? sidrp_parse_v2(path, (const char *)data, len, r, pr)
			: sidrp_parse_v3(path, (const char *)data, len, r, pr);
}

static void
sidrp_fuzz_refused(const struct sidrp_problem *pr)
{
	/* 503 only when memory ran out (an ignored property not listed). */
	if ((pr->sp_status != 400 && pr->sp_status != 503) || pr->sp_detail[0] == '\0')
		abort();
	if (memchr(pr->sp_detail, '\0', sizeof(pr->sp_detail)) == NULL ||
		memchr(pr->sp_param, '\0', sizeof(pr->sp_param)) == NULL ||
		memchr(pr->sp_code, '\0', sizeof(pr->sp_code)) == NULL)
		abort();
}

/* What every accepted request carries, whatever its schema. */
static void
sidrp_fuzz_accepted(int api, const struct sidrp_req *r)
{
	if (r->sr_api != api || r->sr_body == NULL || !sidrp_uuid_ok(r->sr_rp_uuid) || r->sr_rp_name == NULL ||
		r->sr_rp_name[0] == '\0')
		abort();
	if (r->sr_level < SIDRP_ADVANCED || r->sr_level > SIDRP_QSCD)
		abort();
	if (r->sr_type == SIDRP_AUTH || r->sr_type == SIDRP_SIGN) {
		/* v3 authentication signs its own payload over the rpChallenge;
		 * everything else signs the RP's digest. */
		bool challenge = r->sr_type == SIDRP_AUTH && api == 3;
		if (r->sr_hash == NULL || (challenge ? r->sr_rp_challenge == NULL : r->sr_digest == NULL))
			abort();
		if (r->sr_interactions.sn == 0 || r->sr_interactions.sn > SIDP_INTERACTIONS_MAX)
			abort();
	}
	if (r->sr_flow == SIDRP_LINKED && !sidrp_uuid_ok(r->sr_linked_session))
		abort();
	if (r->sr_target != SIDRP_ANONYMOUS && r->sr_target_value[0] == '\0')
		abort();
}

static void
sidrp_fuzz_one(int api, const char *path, const uint8_t *data, size_t len)
{
	struct sidrp_req r, again;
	struct sidrp_problem pr;
	json_t *j, *j2;
	int rc = sidrp_fuzz_parse(api, path, data, len, &r, &pr);

	if (rc != SL_OK) {
		if (rc != SL_EINVAL)
			abort();
		sidrp_fuzz_refused(&pr);
		sidrp_req_clear(&r);
		return;
	}
	sidrp_fuzz_accepted(api, &r);
	j = sidrp_req_to_json(&r);
	if (j == NULL)
		abort();
	/* The same bytes, the same request. */
	if (sidrp_fuzz_parse(api, path, data, len, &again, &pr) != SL_OK)
		abort();
	j2 = sidrp_req_to_json(&again);
	if (j2 == NULL || !json_equal(j, j2))
		abort();
	json_decref(j);
	json_decref(j2);
	sidrp_req_clear(&again);
	sidrp_req_clear(&r);
}

/* A target: LLVMFuzzerTestOneInput on the bodies of one path. */
#define SIDRP_FUZZ(api, path)                                                                                          \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)                                                    \
	{                                                                                                              \
		sidrp_fuzz_one((api), (path), data, len);                                                              \
		return 0;                                                                                              \
	}

#endif /* SL_SIDRP_FUZZ_H */
