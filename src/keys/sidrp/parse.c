/*
 * parse.c — a v3 creation request (path and body) into struct sidrp_req,
 * every field checked as the published schema says (docs/smart-id.md;
 * SK's RP API 3.2).  Pure: no store, no clock, no network, so it is unit
 * tested (tests/keys/sidrp) and fuzzed.
 *
 * A refusal fills a struct sidrp_problem: 404 for a path or identifier we
 * do not serve (the hosted service's "object described in URL was not
 * found"), 400 naming the member at fault (paramName "a.b", pointer
 * "/a/b") for anything wrong in the body.  parse_v2.c shares the helpers
 * declared in sidrp_int.h's "parse helpers".
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidrp_int.h"
#include "../eid/eid.h"

#define CAPABILITIES_MAX 10 /* entries of capabilities */
#define CAPABILITY_MAX 64 /* bytes of one capability */
#define RRN_LEN 11 /* digits of a national register number */
#define DOC_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" /* src/pki/smartid.c's document numbers */

int
sidrp_bad(struct sidrp_problem *pr, int status, const char *param, const char *fmt, ...)
{
	va_list ap;

	memset(pr, 0, sizeof(*pr));
	pr->sp_status = status;
	sl_strlcpy(pr->sp_param, param ? param : "", sizeof(pr->sp_param));
	va_start(ap, fmt);
	vsnprintf(pr->sp_detail, sizeof(pr->sp_detail), fmt, ap);
	va_end(ap);
	return SL_EINVAL;
}

bool
sidrp_uuid_ok(const char *s)
{
	if (s == NULL || strlen(s) != SIDRP_UUID_LEN)
		return false;
	for (int i = 0; i < SIDRP_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* PNOBE-<11 digits with valid check digits>; `digits` gets the 11. */
static bool
etsi_ok(const char *s, char digits[RRN_LEN + 1])
{
	char birth[11], sex;
	struct sl_err err;

	if (strncmp(s, "PNOBE-", 6) != 0 || strlen(s) != 6 + RRN_LEN)
		return false;
	for (int i = 6; i < 6 + RRN_LEN; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	if (eid_rrn_check(s + 6, birth, &sex, &err) != SL_OK)
		return false;
	memcpy(digits, s + 6, RRN_LEN + 1);
	return true;
}

/* PNOBE-<11 valid digits>-XXXX-Q, X from the document alphabet. */
static bool
document_ok(const char *s)
{
	char digits[RRN_LEN + 1], head[6 + RRN_LEN + 1];

	if (strlen(s) != 6 + RRN_LEN + 7 || s[17] != '-' || strcmp(s + 22, "-Q") != 0)
		return false;
	memcpy(head, s, 17);
	head[17] = '\0';
	if (!etsi_ok(head, digits))
		return false;
	for (int i = 18; i < 22; i++)
		if (strchr(DOC_ALPHABET, s[i]) == NULL)
			return false;
	return true;
}

static int
target_set(struct sidrp_req *r, enum sidrp_target kind, const char *value, struct sidrp_problem *pr)
{
	char digits[RRN_LEN + 1];

	r->sr_target = kind;
	if (kind == SIDRP_ANONYMOUS)
		return value == NULL ? SL_OK : sidrp_bad(pr, 404, NULL, "Not Found");
	if (value == NULL || strchr(value, '/') != NULL)
		return sidrp_bad(pr, 404, NULL, "Not Found");
	if (kind == SIDRP_ETSI) {
		if (!etsi_ok(value, digits))
			return sidrp_bad(pr, 404, NULL, "Not Found");
		sl_strlcpy(r->sr_target_value, digits, sizeof(r->sr_target_value));
		return SL_OK;
	}
	if (!document_ok(value))
		return sidrp_bad(pr, 404, NULL, "Not Found");
	sl_strlcpy(r->sr_target_value, value, sizeof(r->sr_target_value));
	return SL_OK;
}

static int
body_parse(const char *body, size_t len, struct sidrp_req *r, struct sidrp_problem *pr)
{
	json_error_t jerr;

	if (len > SIDRP_BODY_MAX)
		return sidrp_bad(pr, 400, NULL, "The request body is larger than %d bytes", SIDRP_BODY_MAX);
	if (body == NULL || len == 0)
		return sidrp_bad(pr, 400, NULL, "The request body must be a JSON object");
	r->sr_body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->sr_body == NULL || !json_is_object(r->sr_body))
		return sidrp_bad(pr, 400, NULL, "The request body must be a JSON object");
	return SL_OK;
}

/* Member `name` of `o`: NULL when absent or null. */
static json_t *
member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_null(v) ? NULL : v;
}

int
sidrp_str(json_t *o, const char *name, const char *param, bool required, size_t max, const char **out,
	struct sidrp_problem *pr)
{
	json_t *v = member(o, name);
	size_t len;

	*out = NULL;
	if (v == NULL)
		return required ? sidrp_bad(pr, 400, param, "%s is required", param) : SL_OK;
	if (!json_is_string(v))
		return sidrp_bad(pr, 400, param, "%s must be a string", param);
	len = json_string_length(v);
	if (len == 0 || len > max || strlen(json_string_value(v)) != len)
		return sidrp_bad(pr, 400, param, "%s must be 1 to %zu bytes", param, max);
	*out = json_string_value(v);
	return SL_OK;
}

int
sidrp_common_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	json_t *b = r->sr_body;
	int rc;

	if ((rc = sidrp_str(b, "relyingPartyUUID", "relyingPartyUUID", true, SIDRP_UUID_LEN + 1, &r->sr_rp_uuid, pr)) !=
		SL_OK)
		return rc;
	if (!sidrp_uuid_ok(r->sr_rp_uuid))
		return sidrp_bad(pr, 400, "relyingPartyUUID", "relyingPartyUUID must be a UUID");
	if ((rc = sidrp_str(b, "relyingPartyName", "relyingPartyName", true, SIDP_RP_NAME_MAX, &r->sr_rp_name, pr)) !=
		SL_OK)
		return rc;
	if (r->sr_rp_name == NULL || !sidp_text_shown_ok(r->sr_rp_name, strlen(r->sr_rp_name)))
		return sidrp_bad(pr, 400, "relyingPartyName",
			"relyingPartyName must not hold control, bidirectional or invisible characters");
	return SL_OK;
}

int
sidrp_level_parse(struct sidrp_req *r, bool qscd, struct sidrp_problem *pr)
{
	const char *s;
	int rc;

	r->sr_level = SIDRP_QUALIFIED;
	if ((rc = sidrp_str(r->sr_body, "certificateLevel", "certificateLevel", false, 16, &s, pr)) != SL_OK ||
		s == NULL)
		return rc;
	if (strcmp(s, "ADVANCED") == 0)
		r->sr_level = SIDRP_ADVANCED;
	else if (strcmp(s, "QUALIFIED") == 0)
		r->sr_level = SIDRP_QUALIFIED;
	else if (qscd && strcmp(s, "QSCD") == 0)
		r->sr_level = SIDRP_QSCD;
	else
		return sidrp_bad(pr, 400, "certificateLevel", "certificateLevel must be one of ADVANCED, QUALIFIED%s",
			qscd ? ", QSCD" : "");
	return SL_OK;
}

const char *
sidrp_level_name(enum sidrp_level l)
{
	return l == SIDRP_ADVANCED ? "ADVANCED" : l == SIDRP_QSCD ? "QSCD" : "QUALIFIED";
}

int
sidrp_nonce_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	return sidrp_str(r->sr_body, "nonce", "nonce", false, SIDP_NONCE_MAX, &r->sr_nonce, pr);
}

static int
capabilities_parse(json_t *b, struct sidrp_problem *pr)
{
	json_t *a = member(b, "capabilities"), *v;
	size_t i;

	if (a == NULL)
		return SL_OK;
	if (!json_is_array(a) || json_array_size(a) > CAPABILITIES_MAX)
		return sidrp_bad(pr, 400, "capabilities", "capabilities must be an array of at most %d strings",
			CAPABILITIES_MAX);
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > CAPABILITY_MAX ||
			!sl_str_printable(json_string_value(v), json_string_length(v)))
			return sidrp_bad(pr, 400, "capabilities", "each capability must be 1 to %d printable bytes",
				CAPABILITY_MAX);
	}
	return SL_OK;
}

/* requestProperties: shareMdClientIpAddress known, the rest listed in
 * sr_ignored (the status answer's ignoredProperties). */
static int
properties_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	json_t *o = member(r->sr_body, "requestProperties"), *v;
	const char *k;

	if (o == NULL)
		return SL_OK;
	if (!json_is_object(o))
		return sidrp_bad(pr, 400, "requestProperties", "requestProperties must be an object");
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "shareMdClientIpAddress") == 0) {
			if (!json_is_boolean(v))
				return sidrp_bad(pr, 400, "requestProperties.shareMdClientIpAddress",
					"requestProperties.shareMdClientIpAddress must be a boolean");
			r->sr_share_ip = json_is_true(v);
			continue;
		}
		if (r->sr_ignored == NULL && (r->sr_ignored = json_array()) == NULL)
			return sidrp_bad(pr, 503, NULL, "out of memory");
		if (strlen(k) > CAPABILITY_MAX || !sl_str_printable(k, strlen(k)))
			return sidrp_bad(pr, 400, "requestProperties",
				"a request property name must be 1 to %d "
				"printable bytes",
				CAPABILITY_MAX);
		json_array_append_new(r->sr_ignored, json_string(k));
	}
	return SL_OK;
}

int
sidrp_extras_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	int rc;

	if ((rc = capabilities_parse(r->sr_body, pr)) != SL_OK)
		return rc;
	return properties_parse(r, pr);
}

int
sidrp_b64_canonical(const char *s, size_t min, size_t max, size_t *declen)
{
	size_t len = 0;
	/* 4 chars per 3 bytes, padded: the longest canonical text of `max` bytes */
	uint8_t *d = s ? sidp_b64_decode(s, (max + 2) / 3 * 4, &len) : NULL;
	int rc = d != NULL && len >= min && len <= max ? SL_OK : SL_EINVAL;

	free(d);
	if (declen != NULL)
		*declen = len;
	return rc;
}

/* signatureAlgorithm (+ signatureAlgorithmParameters.hashAlgorithm) of
 * the signatureProtocolParameters object `p`. */
static int
algorithm_parse(struct sidrp_req *r, json_t *p, struct sidrp_problem *pr)
{
	const char *alg, *hname = NULL;
	json_t *ap = member(p, "signatureAlgorithmParameters");
	const struct sidp_hash *named = NULL;
	int rc;

	if ((rc = sidrp_str(p, "signatureAlgorithm", "signatureProtocolParameters.signatureAlgorithm", true, 64, &alg,
		     pr)) != SL_OK)
		return rc;
	if (ap != NULL && !json_is_object(ap))
		return sidrp_bad(pr, 400, "signatureProtocolParameters.signatureAlgorithmParameters",
			"signatureProtocolParameters.signatureAlgorithmParameters must be an object");
	if (ap != NULL && (rc = sidrp_str(ap, "hashAlgorithm",
				   "signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm", false, 16,
				   &hname, pr)) != SL_OK)
		return rc;
	if (hname != NULL && (named = sidp_hash_by_name(hname)) == NULL)
		return sidrp_bad(pr, 400, "signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm",
			"hashAlgorithm must be one of SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384, SHA3-512");
	r->sr_hash = NULL;
	if (sidp_signature_algorithm(alg, &r->sr_pss, &r->sr_hash) != SL_OK)
		return sidrp_bad(pr, 400, "signatureProtocolParameters.signatureAlgorithm",
			"signatureAlgorithm must be rsassa-pss");
	if (r->sr_pss) {
		if (named == NULL)
			return sidrp_bad(pr, 400,
				"signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm",
				"rsassa-pss requires signatureAlgorithmParameters.hashAlgorithm");
		r->sr_hash = named;
	} else if (named != NULL && named != r->sr_hash) {
		return sidrp_bad(pr, 400, "signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm",
			"hashAlgorithm disagrees with signatureAlgorithm %s", alg);
	}
	return SL_OK;
}

/* signatureProtocol and its parameters: ACSP_V2 (rpChallenge) for an
 * authentication, RAW_DIGEST_SIGNATURE (digest) for a signature. */
static int
protocol_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	bool auth = r->sr_type == SIDRP_AUTH;
	const char *want = auth ? "ACSP_V2" : "RAW_DIGEST_SIGNATURE";
	const char *field = auth ? "rpChallenge" : "digest";
	char param[64];
	const char **val = auth ? &r->sr_rp_challenge : &r->sr_digest;
	json_t *p;
	size_t len;
	int rc;

	if ((rc = sidrp_str(r->sr_body, "signatureProtocol", "signatureProtocol", true, 32, &r->sr_protocol, pr)) !=
		SL_OK)
		return rc;
	if (r->sr_protocol == NULL || strcmp(r->sr_protocol, want) != 0)
		return sidrp_bad(pr, 400, "signatureProtocol", "signatureProtocol must be %s", want);
	p = member(r->sr_body, "signatureProtocolParameters");
	if (p == NULL || !json_is_object(p))
		return sidrp_bad(
			pr, 400, "signatureProtocolParameters", "signatureProtocolParameters must be an object");
	snprintf(param, sizeof(param), "signatureProtocolParameters.%s", field);
	if ((rc = sidrp_str(p, field, param, true, 88, val, pr)) != SL_OK || (rc = algorithm_parse(r, p, pr)) != SL_OK)
		return rc;
	if (auth) {
		if (sidrp_b64_canonical(*val, SIDP_RP_CHALLENGE_MIN, SIDP_RP_CHALLENGE_MAX, NULL) != SL_OK)
			return sidrp_bad(pr, 400, param, "rpChallenge must be canonical Base64 of %d to %d bytes",
				SIDP_RP_CHALLENGE_MIN, SIDP_RP_CHALLENGE_MAX);
	} else if (sidrp_b64_canonical(*val, r->sr_hash->sh_len, r->sr_hash->sh_len, &len) != SL_OK) {
		return sidrp_bad(pr, 400, param, "digest must be canonical Base64 of the %zu bytes of a %s hash",
			r->sr_hash->sh_len, r->sr_hash->sh_name);
	}
	return SL_OK;
}

static int
interactions_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	enum sidp_flow_rules rules =
		r->sr_flow == SIDRP_NOTIFICATION ? SIDP_RULES_NOTIFICATION : SIDP_RULES_DEVICE_LINK;
	struct sl_err err;
	int rc;

	if ((rc = sidrp_str(r->sr_body, "interactions", "interactions", true, SIDP_INTERACTIONS_B64_MAX,
		     &r->sr_interactions_b64, pr)) != SL_OK)
		return rc;
	if (sidp_interactions_parse_b64(r->sr_interactions_b64, rules, &r->sr_interactions, &err) != SL_OK)
		return sidrp_bad(pr, 400, "interactions", "Invalid interactions: %s", err.msg);
	return SL_OK;
}

static int
callback_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	int rc;

	if (r->sr_flow != SIDRP_DEVICE_LINK)
		return SL_OK;
	if ((rc = sidrp_str(r->sr_body, "initialCallbackUrl", "initialCallbackUrl", false, SIDP_CALLBACK_MAX,
		     &r->sr_callback_url, pr)) != SL_OK)
		return rc;
	if (r->sr_callback_url != NULL && !sidp_callback_url_ok(r->sr_callback_url))
		return sidrp_bad(
			pr, 400, "initialCallbackUrl", "Invalid initialCallbackUrl: The callback URL value is invalid");
	return SL_OK;
}

/* vcType (notification authentication) and linkedSessionID (linked). */
static int
flow_fields_parse(struct sidrp_req *r, struct sidrp_problem *pr)
{
	int rc;

	if (r->sr_type == SIDRP_AUTH && r->sr_flow == SIDRP_NOTIFICATION) {
		if ((rc = sidrp_str(r->sr_body, "vcType", "vcType", true, 16, &r->sr_vc_type, pr)) != SL_OK)
			return rc;
		if (r->sr_vc_type == NULL || strcmp(r->sr_vc_type, "numeric4") != 0)
			return sidrp_bad(pr, 400, "vcType", "vcType must be numeric4");
	}
	if (r->sr_flow == SIDRP_LINKED) {
		if ((rc = sidrp_str(r->sr_body, "linkedSessionID", "linkedSessionID", true, SIDRP_UUID_LEN + 1,
			     &r->sr_linked_session, pr)) != SL_OK)
			return rc;
		if (!sidrp_uuid_ok(r->sr_linked_session))
			return sidrp_bad(pr, 400, "linkedSessionID", "linkedSessionID must be a UUID");
	}
	return SL_OK;
}

/* The body of an endpoint whose type, flow and target are known. */
static int
body_fields(struct sidrp_req *r, struct sidrp_problem *pr)
{
	bool signing = r->sr_type != SIDRP_AUTH;
	int rc;

	if ((rc = sidrp_common_parse(r, pr)) != SL_OK || (rc = sidrp_level_parse(r, signing, pr)) != SL_OK)
		return rc;
	if (r->sr_type == SIDRP_CERT)
		return SL_OK;
	if ((rc = sidrp_extras_parse(r, pr)) != SL_OK || (rc = callback_parse(r, pr)) != SL_OK ||
		(rc = flow_fields_parse(r, pr)) != SL_OK)
		return rc;
	if (signing && (rc = sidrp_nonce_parse(r, pr)) != SL_OK)
		return rc;
	if (r->sr_type == SIDRP_CERT_CHOICE)
		return SL_OK;
	if ((rc = protocol_parse(r, pr)) != SL_OK)
		return rc;
	return interactions_parse(r, pr);
}

static const struct sidrp_endpoint v3_endpoints[] = {
	{ "authentication/device-link/etsi/", SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ETSI },
	{ "authentication/device-link/document/", SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_DOCUMENT },
	{ "authentication/device-link/anonymous", SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ANONYMOUS },
	{ "authentication/notification/etsi/", SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI },
	{ "authentication/notification/document/", SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
	{ "signature/device-link/etsi/", SIDRP_SIGN, SIDRP_DEVICE_LINK, SIDRP_ETSI },
	{ "signature/device-link/document/", SIDRP_SIGN, SIDRP_DEVICE_LINK, SIDRP_DOCUMENT },
	{ "signature/notification/etsi/", SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_ETSI },
	{ "signature/notification/document/", SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
	{ "signature/notification/linked/", SIDRP_SIGN, SIDRP_LINKED, SIDRP_DOCUMENT },
	{ "signature/certificate/", SIDRP_CERT, SIDRP_NOTIFICATION, SIDRP_DOCUMENT },
	{ "signature/certificate-choice/device-link/anonymous", SIDRP_CERT_CHOICE, SIDRP_DEVICE_LINK, SIDRP_ANONYMOUS },
	{ "signature/certificate-choice/notification/etsi/", SIDRP_CERT_CHOICE, SIDRP_NOTIFICATION, SIDRP_ETSI },
};

/* The endpoint of `path` and its identifier into r, else 404. */
static int
path_match(
	const char *path, const struct sidrp_endpoint *table, size_t n, struct sidrp_req *r, struct sidrp_problem *pr)
{
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(table[i].se_prefix);
		bool anon = table[i].se_target == SIDRP_ANONYMOUS;

		if (anon ? strcmp(path, table[i].se_prefix) != 0 : strncmp(path, table[i].se_prefix, plen) != 0)
			continue;
		r->sr_type = table[i].se_type;
		r->sr_flow = table[i].se_flow;
		return target_set(r, table[i].se_target, anon ? NULL : path + plen, pr);
	}
	return sidrp_bad(pr, 404, NULL, "Not Found");
}

int
sidrp_parse_start(int api, const char *path, const struct sidrp_endpoint *table, size_t n, const char *body, size_t len,
	struct sidrp_req *out, struct sidrp_problem *pr)
{
	int rc;

	memset(out, 0, sizeof(*out));
	memset(pr, 0, sizeof(*pr));
	out->sr_api = api;
	if (path == NULL)
		return sidrp_bad(pr, 404, NULL, "Not Found");
	if ((rc = path_match(path, table, n, out, pr)) != SL_OK)
		return rc;
	return body_parse(body, len, out, pr);
}

int
sidrp_parse_v3(const char *path, const char *body, size_t len, struct sidrp_req *out, struct sidrp_problem *pr)
{
	int rc = sidrp_parse_start(
		3, path, v3_endpoints, sizeof(v3_endpoints) / sizeof(v3_endpoints[0]), body, len, out, pr);

	return rc == SL_OK ? body_fields(out, pr) : rc;
}

void
sidrp_req_clear(struct sidrp_req *r)
{
	if (r == NULL)
		return;
	json_decref(r->sr_body);
	json_decref(r->sr_ignored);
	memset(r, 0, sizeof(*r));
}

static const char *
type_name(enum sidrp_type t)
{
	return t == SIDRP_AUTH ? "auth" : t == SIDRP_SIGN ? "sign" : t == SIDRP_CERT_CHOICE ? "cert" : "certificate";
}

static const char *
flow_name(enum sidrp_flow f)
{
	return f == SIDRP_DEVICE_LINK ? "device-link" : f == SIDRP_LINKED ? "linked" : "notification";
}

/*
 * ss_params (what request.c and answer.c read back): a JSON object with
 *   "api"            3 or 2
 *   "type"           "auth" | "sign" | "cert" (certificate choice)
 *   "flow"           "device-link" | "notification" | "linked"
 *   "rp_name"        relyingPartyName as sent (the payloads use it)
 *   "level"          "ADVANCED" | "QUALIFIED" | "QSCD" (asked for)
 *   "protocol"       "ACSP_V2" | "RAW_DIGEST_SIGNATURE" | null (v2, certificate choice)
 *   "rp_challenge"   b64 as sent (ACSP_V2) or null
 *   "digest"         b64 as sent (RAW_DIGEST_SIGNATURE, v2 hash) or null
 *   "hash"           the v3 hash name ("SHA-512") or null (certificate choice)
 *   "pss"            true for rsassa-pss, false for PKCS#1 v1.5 (v2 always)
 *   "interactions"   v3: the b64 text exactly as sent, or null
 *   "interactions_v2" v2: allowedInteractionsOrder as sent (an array), or absent
 *   "callback"       initialCallbackUrl or null
 *   "nonce"          or null
 *   "vc_type"        "numeric4" or null
 *   "linked"         linkedSessionID or null
 *   "share_ip"       requestProperties.shareMdClientIpAddress
 *   "ignored"        ignoredProperties: an array (possibly empty)
 */
json_t *
sidrp_req_to_json(const struct sidrp_req *r)
{
	json_t *ignored = r->sr_ignored ? json_incref(r->sr_ignored) : json_array();
	json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:b,s:s?,s:s?,s:s?,s:s?,s:s?,s:b,s:o}", "api",
		r->sr_api, "type", type_name(r->sr_type), "flow", flow_name(r->sr_flow), "rp_name", r->sr_rp_name,
		"level", sidrp_level_name(r->sr_level), "protocol", r->sr_protocol, "rp_challenge", r->sr_rp_challenge,
		"digest", r->sr_digest, "hash", r->sr_hash ? r->sr_hash->sh_name : NULL, "pss", r->sr_pss,
		"interactions", r->sr_interactions_b64, "callback", r->sr_callback_url, "nonce", r->sr_nonce, "vc_type",
		r->sr_vc_type, "linked", r->sr_linked_session, "share_ip", r->sr_share_ip, "ignored", ignored);
	json_t *v2 = r->sr_api == 2 ? json_object_get(r->sr_body, "allowedInteractionsOrder") : NULL;

	if (o != NULL && v2 != NULL)
		json_object_set(o, "interactions_v2", v2);
	return o;
}
