/*
 * status.c — GET {issuer}/smart-id/v3/session/{id}?timeoutMs=N (and v2's):
 * the session's state, long-polled.
 *
 * timeoutMs is 1000..120000 (else 400), 60500 when absent, as SK's API
 * says.  A RUNNING session parks the request on the waiter registry under
 * sidrp_session_wait_key(id) (answer.c notifies it when the session
 * completes), exactly as the portal's long-polls do: the wait ends at
 * timeoutMs, at the session's expiry (a little after, so that the TIMEOUT
 * is then recorded and answered), or at [server] connection_timeout
 * seconds, whichever comes first, and then answers RUNNING (the RP asks
 * again).  A RUNNING session past its expiry is ended TIMEOUT first.
 *
 * Only the session's RP may read it: the RP must be active (and have the
 * "v2" permission for a v2 read), else 403, and the caller's address must
 * be in the RP's allow list, or, for an RP without one (`sleutel rp add
 * --allow-ip any`), the address that created the session (401): a
 * sessionID is no secret (it reaches the RP's frontend), so it alone must
 * not hand out the person's identity.  An unknown or purged session is
 * 404.  v3 answers
 * {"state": "RUNNING"} or {"state": "COMPLETE", ...ss_result}; v2 the
 * same result in its own names (endResult by interaction, signature
 * {value, algorithm}, cert {value, assuranceLevel, certificateLevel},
 * interactionFlowUsed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sidrp_int.h"

#define WAKE_MARGIN_MS 200 /* after the expiry, so the TIMEOUT is due */

/* timeoutMs: digits only, in range; -1 otherwise. */
static long
timeout_ms(const char *s)
{
	char *end;
	long v;

	if (s == NULL)
		return SIDRP_TIMEOUT_DEFAULT_MS;
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 7)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < SIDRP_TIMEOUT_MIN_MS || v > SIDRP_TIMEOUT_MAX_MS)
		return -1;
	return v;
}

/* v2's endResult for a v3 one. */
static const char *
v2_end_result(const char *end, json_t *details)
{
	const char *i = json_string_value(json_object_get(details, "interaction"));

	if (strcmp(end, "USER_REFUSED_INTERACTION") != 0 || i == NULL)
		return end;
	if (strcmp(i, "displayTextAndPIN") == 0)
		return "USER_REFUSED_DISPLAYTEXTANDPIN";
	if (strcmp(i, "confirmationMessage") == 0)
		return "USER_REFUSED_CONFIRMATIONMESSAGE";
	if (strcmp(i, "confirmationMessageAndVerificationCodeChoice") == 0)
		return "USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE";
	if (strcmp(i, "verificationCodeChoice") == 0)
		return "USER_REFUSED_VC_CHOICE";
	return "USER_REFUSED";
}

/* The v2 body of a COMPLETE session's result (v3 shape) and params. */
static json_t *
v2_body(json_t *res, json_t *params)
{
	json_t *result = json_object_get(res, "result"), *sig = json_object_get(res, "signature");
	json_t *cert = json_object_get(res, "cert"), *v;
	const char *end = json_string_value(json_object_get(result, "endResult"));
	const struct sidp_hash *h = sidp_hash_by_name(json_string_value(json_object_get(params, "hash")));
	json_t *out = json_pack("{s:s,s:{s:s}}", "state", "COMPLETE", "result", "endResult",
		v2_end_result(end ? end : "SERVER_ERROR", json_object_get(result, "details")));
	const char *level;

	if (out == NULL)
		return NULL;
	if ((v = json_object_get(result, "documentNumber")) != NULL)
		json_object_set(json_object_get(out, "result"), "documentNumber", v);
	if (json_is_string(json_object_get(sig, "value")) && h != NULL)
		json_object_set_new(out, "signature",
			json_pack(
				"{s:O,s:s}", "value", json_object_get(sig, "value"), "algorithm", sidp_pkcs1_name(h)));
	if (json_is_string(json_object_get(cert, "value"))) {
		level = json_string_value(json_object_get(cert, "certificateLevel"));
		level = level ? level : "QUALIFIED";
		json_object_set_new(out, "cert",
			json_pack("{s:O,s:s,s:s}", "value", json_object_get(cert, "value"), "assuranceLevel",
				strcmp(level, "ADVANCED") == 0 ? "http://eidas.europa.eu/LoA/substantial"
							       : "http://eidas.europa.eu/LoA/high",
				"certificateLevel", level));
	}
	if ((v = json_object_get(res, "interactionTypeUsed")) != NULL)
		json_object_set(out, "interactionFlowUsed", v);
	if ((v = json_object_get(res, "deviceIpAddress")) != NULL)
		json_object_set(out, "deviceIpAddress", v);
	if ((v = json_object_get(res, "ignoredProperties")) != NULL)
		json_object_set(out, "ignoredProperties", v);
	return out;
}

static void
answer(struct http_request *rq, const struct store_sid_session *s, int api)
{
	json_t *res, *params, *out;

	if (strcmp(s->ss_state, "COMPLETE") != 0 || s->ss_result == NULL) {
		http_send_json(rq, 200, json_pack("{s:s}", "state", "RUNNING"));
		return;
	}
	res = json_loads(s->ss_result, 0, NULL);
	if (!json_is_object(res)) {
		json_decref(res);
		res = json_pack("{s:{s:s}}", "result", "endResult", "SERVER_ERROR");
	}
	if (api == 2) {
		params = json_loads(s->ss_params ? s->ss_params : "{}", 0, NULL);
		out = v2_body(res, params);
		json_decref(params);
		json_decref(res);
	} else {
		out = res;
		json_object_set_new(out, "state", json_string("COMPLETE"));
	}
	http_send_json(rq, 200, out);
}

struct session_look {
	struct server *sl_srv;
	const char *sl_id;
};

/* The session completed between the first look and the wait. */
static bool
session_done(void *arg)
{
	struct session_look *l = arg;
	struct store_sid_session s;
	bool done;

	if (store_sid_session_get(l->sl_srv->sv_store, l->sl_id, &s) != SL_OK)
		return true;
	done = strcmp(s.ss_state, "RUNNING") != 0;
	store_sid_session_clear(&s);
	return done;
}

static void
park(struct server *srv, struct http_request *rq, const struct store_sid_session *s, long wait_ms)
{
	int64_t until_expiry = (s->ss_expires - sl_now()) * 1000 + WAKE_MARGIN_MS;
	int64_t conn_ms = (int64_t)srv->sv_conf->c_connection_timeout * 1000;
	int64_t ms = wait_ms;
	struct session_look l = { srv, s->ss_id };
	char key[128];

	if (until_expiry < ms)
		ms = until_expiry;
	if (conn_ms > 0 && conn_ms < ms)
		ms = conn_ms;
	sidrp_session_wait_key(s->ss_id, key, sizeof(key));
	if (http_wait_recheck(rq, srv->sv_waiters, key, sl_monotonic_ms() + ms, session_done, &l) != SL_OK)
		sidrp_fail(rq, 503, NULL, NULL, "Too many requests are waiting; try again later");
}

/* Load the session of `id` (SL_ENOTFOUND past ss_keep_until), ending it
 * TIMEOUT when past its expiry. */
static int
session_load(struct server *srv, const char *id, struct store_sid_session *s)
{
	int rc = store_sid_session_get(srv->sv_store, id, s);

	if (rc == SL_OK && s->ss_keep_until <= sl_now()) {
		/* kept no longer: gone, whether or not the purge ran yet */
		store_sid_session_clear(s);
		return SL_ENOTFOUND;
	}
	if (rc != SL_OK || strcmp(s->ss_state, "RUNNING") != 0 || s->ss_expires > sl_now())
		return rc;
	store_sid_session_clear(s);
	sidrp_session_end(srv, id, "TIMEOUT", NULL);
	return store_sid_session_get(srv->sv_store, id, s);
}

/* The caller may read it (0), else the refusal's status, audited: 403
 * the session's RP is gone, disabled or (v2) lacks "v2"; 401 the address
 * is not the RP's (its allow list, or without one the session's ss_ip). */
static int
caller_refused(struct server *srv, struct http_request *rq, const struct store_sid_session *s, int api)
{
	struct store_sid_rp rp;
	char buf[SERVER_IP_MAX];
	const char *ip = server_person_ip(srv, rq, buf, sizeof(buf)), *why = NULL;
	int status = 0;

	if (store_sid_rp_get(srv->sv_store, s->ss_rp_uuid, &rp) != SL_OK) {
		sidrp_audit(srv, "sidrp.refused", "rp_unknown", s->ss_rp_uuid, ip, s->ss_id);
		return 403;
	}
	if (strcmp(rp.sp_status, "active") != 0)
		why = "rp_disabled", status = 403;
	else if (api == 2 && !sidrp_has_permission(rp.sp_permissions, "v2"))
		why = "rp_permission", status = 403;
	else if (!sl_str_empty(rp.sp_allow_ip) ? !sidrp_ip_allowed(rp.sp_allow_ip, ip)
					       : (ip == NULL || s->ss_ip == NULL || strcmp(ip, s->ss_ip) != 0))
		why = "rp_address", status = 401;
	if (why != NULL)
		sidrp_audit(srv, "sidrp.refused", why, rp.sp_uuid, ip, s->ss_id);
	store_sid_rp_clear(&rp);
	return status;
}

static void
session_get(struct server *srv, struct http_request *rq, const char *base, int api)
{
	const char *id = http_path(rq) + strlen(base) + strlen("session/");
	long wait_ms = timeout_ms(http_query(rq, "timeoutMs"));
	struct store_sid_session s;
	int rc, refused;

	if (wait_ms < 0) {
		sidrp_fail(rq, 400, NULL, "timeoutMs", "timeoutMs must be an integer from %d to %d",
			SIDRP_TIMEOUT_MIN_MS, SIDRP_TIMEOUT_MAX_MS);
		return;
	}
	if (!sidrp_uuid_ok(id) || (rc = session_load(srv, id, &s)) == SL_ENOTFOUND) {
		sidrp_fail(rq, 404, NULL, NULL, "Not Found");
		return;
	}
	if (rc != SL_OK) {
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		return;
	}
	if ((refused = caller_refused(srv, rq, &s, api)) != 0)
		sidrp_fail(rq, refused, NULL, NULL, "%s", refused == 401 ? "Unauthorized" : "Forbidden");
	else if (strcmp(s.ss_state, "RUNNING") == 0 && http_wake_reason(rq) == 0)
		park(srv, rq, &s, wait_ms);
	else
		answer(rq, &s, api);
	store_sid_session_clear(&s);
}

void
sidrp_v3_session_get(void *ctx, struct http_request *rq)
{
	session_get(ctx, rq, SIDRP_V3_BASE, 3);
}

void
sidrp_v2_session_get(void *ctx, struct http_request *rq)
{
	session_get(ctx, rq, SIDRP_V2_BASE, 2);
}
