/*
 * answer.c — how a person's answer becomes a session's end result
 * (docs/smart-id.md "End results"; sidrp_int.h: a COMPLETE session's
 * ss_result is the v3 status body without "state").
 *
 * The split-key module calls in twice for an RP API request:
 *   sidrp_request_digest()    before a confirmation is charged: what the
 *                             split-key signature is completed over.  For
 *                             ACSP_V2 that is the payload's hash, rebuilt
 *                             here from the request's stored fields and
 *                             the device's userChallenge and interaction,
 *                             so the device cannot make the server sign
 *                             anything but the published payload;
 *   sidrp_request_finished()  once the request left "pending": approved
 *                             (the signature and certificate re-read from
 *                             the store), refused (the reason's end
 *                             result), failed (a lock, a clone, a device
 *                             ended: DOCUMENT_UNUSABLE), expired (TIMEOUT).
 * The session completes once (store_sid_session_complete is a
 * compare-and-swap on RUNNING) and its status long-polls wake.
 */
#include <stdlib.h>
#include <string.h>

#include "../splitkey/sid_login_int.h"
#include "sidrp_int.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

bool
sidrp_is_rp_request(const struct store_sid_request *r)
{
	return r != NULL && r->sq_link_kind != NULL && strcmp(r->sq_link_kind, SIDRP_LINK_KIND) == 0 &&
	       r->sq_link_id != NULL;
}

void
sidrp_session_wait_key(const char *session_id, char *out, size_t len)
{
	snprintf(out, len, "sidrps:%s", session_id);
}

/* ---- the digest a confirmation is completed over ---- */

/* The request's rp_api object (sq_extra); new reference or NULL. */
static json_t *
rp_api_of(const struct store_sid_request *r)
{
	json_t *o = r->sq_extra ? json_loads(r->sq_extra, 0, NULL) : NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *
member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Did the RP offer `name` (in the request's rp_api)? */
static bool
offered(json_t *api, const char *name, struct sl_err *err)
{
	struct sidp_interactions in = { 0 };
	enum sidp_interaction_type t = name ? sidp_interaction_type_of(name) : 0;
	const char *b64 = member(api, "interactions");
	json_t *v2 = json_object_get(api, "interactions_v2");
	int api_v = strcmp(member(api, "api") ? member(api, "api") : "v3", "v2") == 0 ? 2 : 3;
	int rc;

	if (t == 0)
		return false;
	rc = v2 != NULL    ? sidp_interactions_parse_json(v2, SIDP_RULES_V2, &in, err)
	     : b64 != NULL ? sidp_interactions_parse_b64(b64, sidrp_rules(api_v, member(api, "flow_type")), &in, err)
			   : SL_EINVAL;
	for (size_t i = 0; rc == SL_OK && i < in.sn; i++)
		if (in.si[i].si_type == t)
			return true;
	return false;
}

static int
acsp_digest(struct server *srv, json_t *api, const struct sidrp_answer *a, const struct sidp_hash *h, uint8_t *out,
	size_t *outlen, struct sl_err *err)
{
	struct sidp_acsp in = {
		.sa_scheme = srv->sv_conf->c_sid_scheme_name,
		.sa_server_random = member(api, "server_random"),
		.sa_rp_challenge = member(api, "rp_challenge"),
		.sa_user_challenge = a->sa_user_challenge,
		.sa_rp_name = member(api, "rp_name"),
		.sa_brokered_rp_name = member(api, "brokered_rp_name"),
		.sa_interactions = member(api, "interactions"),
		.sa_interaction_used = a->sa_interaction,
		.sa_callback_url = member(api, "initial_callback_url"),
		.sa_flow_type = member(api, "flow_type"),
	};

	if (a->sa_user_challenge == NULL || !sidp_user_challenge_ok(a->sa_user_challenge))
		return sl_fail(err, SL_EINVAL, "user_challenge must be 43 base64url characters");
	return sidp_acsp_digest(&in, h, out, outlen, err);
}

int
sidrp_request_digest(struct server *srv, const struct store_sid_request *r, const struct sidrp_answer *a, uint8_t *out,
	size_t *outlen, struct sl_err *err)
{
	json_t *api = rp_api_of(r);
	const struct sidp_hash *h = api ? sidp_hash_by_name(member(api, "hash_algorithm")) : NULL;
	const char *proto = api ? member(api, "signature_protocol") : NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc;

	if (h == NULL)
		rc = sl_fail(err, SL_EINVAL, "this request has no RP API fields");
	else if (!offered(api, a->sa_interaction, err))
		rc = sl_fail(err, SL_EINVAL, "interaction must be one the request offered");
	else if (proto != NULL && strcmp(proto, "ACSP_V2") == 0)
		rc = acsp_digest(srv, api, a, h, out, outlen, err);
	else if ((raw = sl_b64url_decode(r->sq_hash, strlen(r->sq_hash), &len)) == NULL || len != h->sh_len ||
		 len > *outlen)
		rc = sl_fail(err, SL_EINVAL, "the request has no digest to sign");
	else {
		memcpy(out, raw, len);
		*outlen = len;
		rc = SL_OK;
	}
	free(raw);
	json_decref(api);
	return rc;
}

/* ---- the end result ---- */

/* A signature stored b64url, as standard Base64. */
static char *
b64url_to_std(const char *s)
{
	size_t len = 0;
	uint8_t *raw = s ? sl_b64url_decode(s, strlen(s), &len) : NULL;
	char *out = raw ? sl_b64_encode(raw, len) : NULL;

	free(raw);
	return out;
}

/* The DER of a PEM certificate, Base64: its body without the armour and
 * line breaks (checked by decoding it). */
static char *
cert_der_b64(const char *pem)
{
	const char *b = pem ? strstr(pem, PEM_BEGIN) : NULL, *e;
	char *out, *o;
	size_t len = 0;
	uint8_t *raw;

	if (b == NULL || (e = strstr(b, PEM_END)) == NULL)
		return NULL;
	b += strlen(PEM_BEGIN);
	out = malloc((size_t)(e - b) + 1);
	if (out == NULL)
		return NULL;
	for (o = out; b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ')
			*o++ = *b;
	*o = '\0';
	raw = sl_b64_decode(out, strlen(out), &len);
	if (raw == NULL || len == 0) {
		free(out);
		out = NULL;
	}
	free(raw);
	return out;
}

/* signatureAlgorithmParameters of a response (PSS: MGF1 with the same
 * hash, salt as long as it, trailer 0xbc). */
static json_t *
alg_params(const struct sidp_hash *h, bool pss)
{
	if (!pss)
		return json_pack("{s:s}", "hashAlgorithm", h->sh_name);
	return json_pack("{s:s,s:{s:s,s:{s:s}},s:I,s:s}", "hashAlgorithm", h->sh_name, "maskGenAlgorithm", "algorithm",
		"id-mgf1", "parameters", "hashAlgorithm", h->sh_name, "saltLength", (json_int_t)h->sh_len,
		"trailerField", "0xbc");
}

/* "signature" of an approved request (`r` re-read: its signature). */
static json_t *
signature_json(const struct store_sid_request *r, json_t *api, const struct sidrp_answer *a)
{
	const char *flow = member(api, "flow_type"), *proto = member(api, "signature_protocol");
	const struct sidp_hash *h = sidp_hash_by_name(member(api, "hash_algorithm"));
	bool pss = r->sq_padding && strcmp(r->sq_padding, "pss") == 0;
	char *value;
	json_t *o;

	if (strcmp(r->sq_action, "cert") == 0)
		return json_pack("{s:s}", "flowType", flow ? flow : "QR");
	value = b64url_to_std(r->sq_signature);
	if (value == NULL || h == NULL) {
		free(value);
		return NULL;
	}
	o = json_pack("{s:s,s:s,s:s,s:o}", "value", value, "flowType", flow ? flow : "Notification",
		"signatureAlgorithm", pss ? "rsassa-pss" : sidp_pkcs1_name(h), "signatureAlgorithmParameters",
		alg_params(h, pss));
	if (o != NULL && proto != NULL && strcmp(proto, "ACSP_V2") == 0) {
		json_object_set_new(o, "serverRandom", json_string(member(api, "server_random")));
		json_object_set_new(
			o, "userChallenge", json_string(a && a->sa_user_challenge ? a->sa_user_challenge : ""));
	}
	free(value);
	return o;
}

/* "cert": the answering device's certificate of the request's key. */
static json_t *
cert_json(struct server *srv, const struct store_sid_request *r)
{
	struct store_sid_key k = { 0 };
	const char *level = srv->sv_conf->c_sid_certificate_level;
	char *der = NULL;
	json_t *o = NULL;

	if (store_sid_key_get(srv->sv_store, r->sq_device_id, r->sq_key_use, &k) == SL_OK)
		der = cert_der_b64(k.sk_cert_pem);
	if (der != NULL)
		o = json_pack("{s:s,s:s}", "value", der, "certificateLevel",
			level && strcmp(level, "ADVANCED") == 0 ? "ADVANCED" : "QUALIFIED");
	free(der);
	store_sid_key_clear(&k);
	return o;
}

/* The OK body; NULL when anything it needs is gone (SERVER_ERROR). */
static json_t *
approved_json(struct server *srv, const struct store_sid_request *orig, const struct sidrp_answer *a)
{
	struct store_sid_request r = { 0 };
	struct store_sid_device d = { 0 };
	json_t *api = rp_api_of(orig), *o = NULL, *sig = NULL, *cert = NULL, *ign;
	const char *proto = api ? member(api, "signature_protocol") : NULL;

	if (api != NULL && store_sid_request_get(srv->sv_store, orig->sq_id, &r) == SL_OK && r.sq_device_id != NULL &&
		store_sid_device_get(srv->sv_store, r.sq_device_id, &d) == SL_OK) {
		sig = signature_json(&r, api, a);
		cert = cert_json(srv, &r);
	}
	if (sig != NULL && cert != NULL) {
		o = json_pack("{s:{s:s,s:s},s:O,s:O}", "result", "endResult", "OK", "documentNumber", d.sd_document,
			"signature", sig, "cert", cert);
		if (o != NULL && proto != NULL && strcmp(r.sq_action, "cert") != 0)
			json_object_set_new(o, "signatureProtocol", json_string(proto));
		/* A certificate choice offers no interaction: the app asks for
		 * a confirmation, as the published example reports it. */
		if (o != NULL && strcmp(r.sq_action, "cert") == 0)
			json_object_set_new(o, "interactionTypeUsed", json_string("confirmationMessage"));
		else if (o != NULL && a != NULL && a->sa_interaction != NULL)
			json_object_set_new(o, "interactionTypeUsed", json_string(a->sa_interaction));
		ign = json_object_get(api, "ignored_properties");
		if (o != NULL && json_is_array(ign))
			json_object_set(o, "ignoredProperties", ign);
	}
	json_decref(sig);
	json_decref(cert);
	json_decref(api);
	store_sid_device_clear(&d);
	store_sid_request_clear(&r);
	return o;
}

/* The end result of a refusal's reason (docs/smart-id.md "POST
 * /requests/{id}"); v2's names are status.c's business. */
static const char *
refusal_result(const struct sidrp_answer *a)
{
	static const struct {
		const char *reason, *result;
	} map[] = {
		{ "refused", "USER_REFUSED" },
		{ "wrong_vc", "WRONG_VC" },
		{ "interaction", "USER_REFUSED_INTERACTION" },
		{ "cert_choice", "USER_REFUSED_CERT_CHOICE" },
		{ "not_supported", "REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP" },
	};

	if (a == NULL || a->sa_refusal == NULL)
		return "USER_REFUSED";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(a->sa_refusal, map[i].reason) == 0)
			return map[i].result;
	return "PROTOCOL_FAILURE";
}

/* Complete the session with `result` (stolen) and wake its long-polls;
 * `request_id`: the answering request, which must be the session's own
 * (NULL: the session's own end). */
static void
complete(struct server *srv, const char *session_id, const char *request_id, json_t *result)
{
	char *text = result ? json_dumps(result, JSON_COMPACT) : NULL;
	char key[128];
	int rc = SL_ENOMEM;

	if (text != NULL)
		rc = store_sid_session_complete(
			srv->sv_store, session_id, request_id, text, sl_now() + srv->sv_conf->c_sid_rp_result_keep);
	if (rc == SL_OK) {
		sidrp_session_wait_key(session_id, key, sizeof(key));
		server_wake(srv, key);
	} else if (rc != SL_ECONFLICT) {
		log_warn("smartid rp session %s: cannot complete", session_id);
	}
	free(text);
	json_decref(result);
}

/* An end result only, for `request_id`'s answer (NULL: the session's). */
static void
end_with(struct server *srv, const char *session_id, const char *request_id, const char *end_result, const char *detail)
{
	json_t *o = json_pack("{s:{s:s}}", "result", "endResult", end_result);

	if (o != NULL && detail != NULL)
		json_object_set_new(json_object_get(o, "result"), "details", json_pack("{s:s}", "interaction", detail));
	complete(srv, session_id, request_id, o);
}

void
sidrp_session_end(struct server *srv, const char *session_id, const char *end_result, const char *detail)
{
	end_with(srv, session_id, NULL, end_result, detail);
}

void
sidrp_request_finished(
	struct server *srv, const struct store_sid_request *r, const char *status, const struct sidrp_answer *a)
{
	const char *end;
	json_t *ok;

	if (!sidrp_is_rp_request(r))
		return;
	if (strcmp(status, "approved") == 0) {
		ok = approved_json(srv, r, a);
		if (ok != NULL)
			complete(srv, r->sq_link_id, r->sq_id, ok);
		else
			end_with(srv, r->sq_link_id, r->sq_id, "SERVER_ERROR", NULL);
		return;
	}
	if (strcmp(status, "refused") == 0) {
		end = refusal_result(a);
		end_with(srv, r->sq_link_id, r->sq_id, end,
			strcmp(end, "USER_REFUSED_INTERACTION") == 0 && a->sa_interaction ? a->sa_interaction : NULL);
	} else if (strcmp(status, "expired") == 0) {
		end_with(srv, r->sq_link_id, r->sq_id, "TIMEOUT", NULL);
	} else {
		end_with(srv, r->sq_link_id, r->sq_id, "DOCUMENT_UNUSABLE", NULL);
	}
}
