/*
 * parse_v2.c — a v2 creation request (path and body) into struct
 * sidrp_req.  v2 has only notification flows; a signature and an
 * authentication both carry the RP's `hash` with its `hashType` (signed
 * as it is, PKCS#1 v1.5) and `allowedInteractionsOrder` as a JSON array.
 * Pure, like parse.c, whose helpers it uses.
 */
#include <string.h>

#include "sidrp_int.h"

static const struct sidrp_endpoint v2_endpoints[] = {
	{ "authentication/etsi/", SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI },
	{ "authentication/document/", SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
	{ "signature/etsi/", SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_ETSI },
	{ "signature/document/", SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
	{ "certificatechoice/etsi/", SIDRP_CERT_CHOICE, SIDRP_NOTIFICATION, SIDRP_ETSI },
	{ "certificatechoice/document/", SIDRP_CERT_CHOICE, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
};

/* hash + hashType: canonical Base64 of exactly the hash's length. */
static int
hash_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	const char *type;
	int rc;

	if ((rc = sidrp_str(r->sr_body, "hashType", "hashType", true, 16, &type, pr)) != SL_OK)
		return rc;
	if ((r->sr_hash = sidp_hash_by_v2_name(type)) == NULL)
		return sidrp_bad(pr, 400, "hashType", "hashType must be one of SHA256, SHA384, SHA512");
	if ((rc = sidrp_str(r->sr_body, "hash", "hash", true, 88, &r->sr_digest, pr)) != SL_OK)
		return rc;
	if (sidrp_b64_canonical(r->sr_digest, r->sr_hash->sh_len, r->sr_hash->sh_len, NULL) != SL_OK)
		return sidrp_bad(pr, 400, "hash", "hash must be canonical Base64 of the %zu bytes of a %s hash",
			r->sr_hash->sh_len, type);
	r->sr_pss = false;
	return SL_OK;
}

static int
interactions_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	json_t *a = json_object_get(r->sr_body, "allowedInteractionsOrder");
	struct sl_err err;

	if (a == NULL || json_is_null(a))
		return sidrp_bad(pr, 400, "allowedInteractionsOrder", "allowedInteractionsOrder is required");
	if (!json_is_array(a))
		return sidrp_bad(pr, 400, "allowedInteractionsOrder", "allowedInteractionsOrder must be an array");
	if (sidp_interactions_parse_json(a, SIDP_RULES_V2, &r->sr_interactions, &err) != SL_OK)
		return sidrp_bad(pr, 400, "allowedInteractionsOrder", "Invalid allowedInteractionsOrder: %s", err.msg);
	return SL_OK;
}

int
sidrp_parse_v2(const char *path, const char *body, size_t len, struct sidrp_req *out, struct sidrp_problem *pr)
{
	int rc = sidrp_parse_start(
		2, path, v2_endpoints, sizeof(v2_endpoints) / sizeof(v2_endpoints[0]), body, len, out, pr);

	if (rc != SL_OK)
		return rc;
	if ((rc = sidrp_common_parse(out, pr)) != SL_OK ||
		(rc = sidrp_level_parse(out, out->sr_type != SIDRP_AUTH, pr)) != SL_OK ||
		(rc = sidrp_extras_parse(out, pr)) != SL_OK || (rc = sidrp_nonce_parse(out, pr)) != SL_OK)
		return rc;
	if (out->sr_type == SIDRP_CERT_CHOICE)
		return SL_OK;
	if ((rc = hash_parse(out, pr)) != SL_OK)
		return rc;
	return interactions_parse(out, pr);
}
