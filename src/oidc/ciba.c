/*
 * ciba.c — OpenID Connect Client-Initiated Backchannel Authentication
 * (CIBA Core 1.0), poll and ping modes, for "confirm on your phone"
 * started by the RP without a browser.
 *
 * The RP authenticates as at the token endpoint and names the person by
 * phone number (login_hint).  A CIBA record (auth_req_id) and an app
 * request linked to it are stored in one commit; the phone answers through the device
 * API, which calls oidc_ciba_finished(): the outcome is copied onto the
 * CIBA record and, in ping mode, the RP is told to come and fetch it (a
 * poll of a pending record copies it as well: see ciba_grant).  The
 * RP then redeems auth_req_id once at the token endpoint
 * (urn:openid:params:grant-type:ciba), in the transaction that stores its
 * tokens; polled faster than `interval` it is told slow_down.
 *
 * An unknown number is answered unknown_user_id: unlike a browser, an RP
 * is authenticated and rate limited, and CIBA defines the error.
 */
#include <stdlib.h>

#include "oidc_int.h"
#include "../keys/app/app.h"
#include "../keys/app/request_int.h"
#include "../httpc/httpc.h"

#define CIBA_TOKEN_MAX 1024 /* bytes of a client_notification_token */

static void oidc_bc_authorize(void *ctx, struct http_request *rq);

const struct http_route oidc_ciba_routes[] = {
	{ "/bc-authorize", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_API, oidc_bc_authorize },
};
const size_t oidc_ciba_nroutes = sizeof(oidc_ciba_routes) / sizeof(oidc_ciba_routes[0]);

struct bc_params {
	const char *bp_phone;
	const char *bp_binding;
	const char *bp_token; /* client_notification_token */
	const char *bp_details; /* authorization_details */
	char *bp_scope; /* the known scopes asked for, malloc'd */
	int bp_expiry;
};

static int
bad(struct http_request *rq, const char *error, const char *desc)
{
	http_send_oauth_error(rq, 400, error, desc);
	return SL_EINVAL;
}

static bool
token_printable(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= CIBA_TOKEN_MAX && sl_str_printable(s, strlen(s)) &&
	       strchr(s, ' ') == NULL;
}

/* CIBA Core §7.1: validate the request; on error it is answered. */
static int
bc_validate(struct server *srv, struct http_request *rq, const struct store_client *c, struct bc_params *bp)
{
	const char *scope = http_form(rq, "scope"), *expiry = http_form(rq, "requested_expiry");

	memset(bp, 0, sizeof(*bp));
	if (c->cl_ciba_mode == NULL)
		return bad(rq, "unauthorized_client", "this client is not registered for CIBA");
	if (http_form(rq, "request") != NULL)
		return bad(rq, "invalid_request", "signed authentication requests are not supported");
	if (scope == NULL || !scope_has(scope, "openid"))
		return bad(rq, "invalid_scope", "scope must include openid");
	if (http_form(rq, "login_hint_token") != NULL || http_form(rq, "id_token_hint") != NULL)
		return bad(rq, "invalid_request", "name the person with login_hint (a phone number) only");
	if (http_form(rq, "user_code") != NULL)
		return bad(rq, "invalid_request", "user_code is not supported");
	bp->bp_phone = http_form(rq, "login_hint");
	if (sl_str_empty(bp->bp_phone) || strlen(bp->bp_phone) > 64)
		return bad(rq, "invalid_request", "login_hint (the person's phone number) is required");
	/* No browser shows a code here: the RP shows the binding message and
	 * the app shows it too, so the person compares those.  Without it the
	 * request would be a bare "approve?", which DESIGN §4 rules out. */
	bp->bp_binding = http_form(rq, "binding_message");
	if (bp->bp_binding == NULL)
		return bad(rq, "invalid_request", "binding_message is required: show it to the person");
	if (!app_binding_ok(bp->bp_binding))
		return bad(rq, "invalid_binding_message", "binding_message must be 1 to 128 readable characters");
	bp->bp_expiry = srv->sv_conf->c_app_request_lifetime;
	if (expiry != NULL) {
		char *end;
		long v = strtol(expiry, &end, 10);
		if (*expiry == '\0' || *end != '\0' || v < 1 || v > srv->sv_conf->c_ciba_max_expiry)
			return bad(rq, "invalid_request", "requested_expiry must be 1 up to the maximum in seconds");
		bp->bp_expiry = (int)v;
	}
	bp->bp_token = http_form(rq, "client_notification_token");
	if (strcmp(c->cl_ciba_mode, "ping") == 0 && !token_printable(bp->bp_token))
		return bad(rq, "invalid_request", "ping mode needs a client_notification_token");
	bp->bp_details = http_form(rq, "authorization_details");
	if (bp->bp_details != NULL && oidc_authz_details_parse(bp->bp_details, NULL, NULL) != SL_OK)
		return bad(rq, "invalid_authorization_details", "authorization_details is not a valid payment");
	/* As at the authorization endpoint: only the scopes this client may
	 * be granted; at the token, only those the person agreed to
	 * (ciba_consented). */
	bp->bp_scope = scope_grant(scope, c->cl_scopes);
	if (bp->bp_scope == NULL) {
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
		return SL_ENOMEM;
	}
	return SL_OK;
}

/* The app request for the person, with the CIBA record `cb` in the same
 * commit; on error it is answered. */
static int
bc_app_request(struct server *srv, struct http_request *rq, const struct store_client *c, const struct bc_params *bp,
	const struct store_ciba *cb, struct app_request_made *made)
{
	struct app_request_spec spec;
	struct sl_err err;
	const char *locales = http_form(rq, "ui_locales");
	int lang = -1, rc;

	for (int i = 0; locales != NULL && i < SL_LANG_COUNT && lang < 0; i++)
		if (scope_has(locales, config_languages[i]))
			lang = i;
	for (int i = 0; lang < 0 && i < SL_LANG_COUNT; i++)
		if (strcmp(srv->sv_conf->c_default_language, config_languages[i]) == 0)
			lang = i;
	memset(&spec, 0, sizeof(spec));
	spec.as_phone = bp->bp_phone;
	spec.as_client = c;
	spec.as_action = bp->bp_details ? "payment" : "login";
	spec.as_authz_details = bp->bp_details;
	spec.as_binding_message = bp->bp_binding;
	spec.as_link_kind = "ciba";
	spec.as_link_id = cb->cb_id;
	spec.as_ciba = cb;
	spec.as_ip = server_audit_ip(srv, rq, spec.as_ipbuf);
	spec.as_lang = lang < 0 ? 0 : lang;
	spec.as_lifetime = bp->bp_expiry;
	rc = app_request_create(srv, &spec, made, &err);
	if (rc == SL_ENOTFOUND)
		bad(rq, "unknown_user_id", "no sleutel app account has this phone number");
	else if (rc == SL_EINVAL)
		bad(rq, "invalid_request", err.msg);
	else if (rc == SL_EDENIED) /* blocked or locked: said in the audit only */
		http_send_oauth_error(rq, 403, "access_denied", "the request was denied");
	else if (rc == SL_EBUSY || rc == SL_ETOOBIG)
		http_send_oauth_error(rq, 429, "access_denied", err.msg);
	else if (rc != SL_OK)
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
	return rc;
}

static void
oidc_bc_authorize(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_client c;
	struct bc_params bp;
	struct app_request_made made;
	struct store_ciba cb;
	char endpoint[512], *id = NULL;
	json_t *o;

	if (!http_form_body_required(rq))
		return;
	if (http_param_repeated(rq) != NULL) {
		http_send_oauth_error(rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	snprintf(endpoint, sizeof(endpoint), "%s/bc-authorize", srv->sv_conf->c_issuer);
	if (client_authenticate(srv, rq, endpoint, &c) != SL_OK)
		return;
	if (bc_validate(srv, rq, &c, &bp) != SL_OK)
		goto out;
	if ((id = sl_random_id(32)) == NULL) {
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
		goto out;
	}
	memset(&cb, 0, sizeof(cb));
	cb.cb_id = id;
	cb.cb_client_id = c.cl_id;
	cb.cb_scope = bp.bp_scope;
	cb.cb_acr = (char *)OIDC_ACR_HIGH;
	cb.cb_binding_message = (char *)bp.bp_binding;
	cb.cb_notification_token = (char *)bp.bp_token;
	cb.cb_authz_details = (char *)bp.bp_details;
	cb.cb_status = (char *)"pending";
	cb.cb_interval = srv->sv_conf->c_ciba_interval;
	/* The record and the app request in one commit: stored one after the
	 * other, a crash between left a request the phone could answer to no
	 * effect; and the phone cannot answer before the record is there. */
	if (bc_app_request(srv, rq, &c, &bp, &cb, &made) != SL_OK)
		goto out;
	o = json_object();
	json_object_set_new(o, "auth_req_id", json_string(id));
	json_object_set_new(o, "expires_in", json_integer(made.am_expires - sl_now()));
	json_object_set_new(o, "interval", json_integer(srv->sv_conf->c_ciba_interval));
	http_send_json(rq, 200, o);
out:
	free(bp.bp_scope);
	free(id);
	store_client_clear(&c);
}

/* ---- the token endpoint's grant ---- */

/* The scopes a CIBA grant may carry: openid, and of the data scopes only
 * those the person agreed to share with this client on the portal.  The
 * phone names the RP but not the data, so an approval there is no consent
 * to give it (OIDC Core §11 for offline_access alike).  malloc'd. */
static char *
ciba_consented(struct server *srv, const struct store_client *c, const struct store_ciba *cb)
{
	char *have = NULL, *allowed, *scope;
	size_t n;
	int rc = store_consent_get(srv->sv_store, cb->cb_person_id, c->cl_id, &have);

	if (rc != SL_OK && rc != SL_ENOTFOUND)
		return NULL;
	n = strlen("openid ") + (have ? strlen(have) : 0) + 1;
	if ((allowed = malloc(n)) == NULL) {
		free(have);
		return NULL;
	}
	snprintf(allowed, n, "openid %s", have ? have : "");
	scope = scope_grant(cb->cb_scope, allowed);
	free(allowed);
	free(have);
	return scope;
}

static void
ciba_issue(struct server *srv, struct http_request *rq, const struct store_client *c, const struct store_ciba *cb,
	const char *jkt)
{
	char *grant_id = sl_random_id(16), *scope = ciba_consented(srv, c, cb);
	struct grant g = { .g_grant_id = grant_id,
		.g_person_id = cb->cb_person_id,
		.g_scope = scope,
		.g_acr = cb->cb_acr,
		.g_amr = APP_AMR,
		.g_authz_details = cb->cb_authz_details,
		.g_auth_req_id = cb->cb_id,
		.g_auth_time = cb->cb_auth_time,
		.g_jkt = jkt }; /* RFC 9449 §5: access and refresh token bound */
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "token",
		.au_result = "ok",
		.au_person_id = cb->cb_person_id,
		.au_client_id = c->cl_id,
		.au_key = OIDC_KEY_APP,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = "ciba" };

	if (grant_id == NULL || scope == NULL) {
		http_send_oauth_error(rq, 500, "server_error", "tokens could not be issued");
		free(grant_id);
		free(scope);
		return;
	}
	/* The redemption, the audit row and the tokens in one transaction:
	 * redeemed first and then the rest, a crash between lost the login
	 * (the RP's retry got invalid_grant). */
	token_respond(srv, rq, c, &g, NULL, &au);
	free(grant_id);
	free(scope);
}

void
ciba_grant(struct server *srv, struct http_request *rq, const struct store_client *c, const char *jkt)
{
	const char *id = http_form(rq, "auth_req_id");
	struct store_ciba cb;
	bool too_soon = false;
	int64_t now = sl_now();

	if (id == NULL || strlen(id) > 64 || store_ciba_get(srv->sv_store, id, &cb) != SL_OK) {
		http_send_oauth_error(rq, 400, "invalid_grant", "unknown auth_req_id");
		return;
	}
	/* The phone's answer is copied here after its own transaction
	 * (oidc_ciba_finished, called by the device API once the answer is
	 * stored): a crash between the two would leave the record pending
	 * behind an answered app request, which no one can answer again.  The
	 * app request is the answer's record, so a pending record takes its
	 * outcome first (idempotent, as on the device API's path). */
	if (strcmp(cb.cb_status, "pending") == 0 && strcmp(cb.cb_client_id, c->cl_id) == 0) {
		oidc_ciba_finished(srv, id);
		store_ciba_clear(&cb);
		if (store_ciba_get(srv->sv_store, id, &cb) != SL_OK) {
			http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
			return;
		}
	}
	if (strcmp(cb.cb_client_id, c->cl_id) != 0)
		http_send_oauth_error(rq, 400, "invalid_grant", "the auth_req_id was issued to another client");
	else if (strcmp(cb.cb_status, "redeemed") == 0)
		http_send_oauth_error(rq, 400, "invalid_grant", "the auth_req_id was already used");
	else if (strcmp(cb.cb_status, "denied") == 0)
		http_send_oauth_error(rq, 400, "access_denied", "the person refused");
	else if (strcmp(cb.cb_status, "expired") == 0 || cb.cb_expires <= now)
		http_send_oauth_error(rq, 400, "expired_token", "the request expired before the person answered");
	else if (strcmp(cb.cb_status, "approved") == 0)
		ciba_issue(srv, rq, c, &cb, jkt); /* redeemed there, once */
	else if (store_ciba_poll(srv->sv_store, id, now, &too_soon) != SL_OK)
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
	else if (too_soon)
		http_send_oauth_error(rq, 400, "slow_down", "poll no faster than the interval");
	else
		http_send_oauth_error(rq, 400, "authorization_pending", "the person has not answered yet");
	store_ciba_clear(&cb);
}

/* ---- the outcome, and the ping ---- */

struct ping_job {
	char *pj_url;
	char *pj_token;
	char *pj_body;
	char *pj_client; /* for the log */
	int pj_timeout; /* [ciba] ping_timeout */
};

/* On an outbound worker: the RP's answer changes nothing (it polls the
 * token endpoint either way), so a failure is only logged. */
static void
ping_run(void *p)
{
	struct ping_job *pj = p;
	struct httpc_request hr = { .hr_method = "POST",
		.hr_url = pj->pj_url,
		.hr_content_type = "application/json",
		.hr_body = pj->pj_body,
		.hr_bearer = pj->pj_token,
		.hr_timeout = pj->pj_timeout };
	struct httpc_response res = { 0 };
	struct sl_err err;

	if (httpc_do(&hr, &res, &err) != SL_OK)
		log_warn("CIBA ping to client %s: %s", pj->pj_client, err.msg);
	else if (res.hs_status < 200 || res.hs_status > 299)
		log_warn("CIBA ping to client %s answered %ld", pj->pj_client, res.hs_status);
	httpc_response_clear(&res);
}

static void
ping_free(void *p)
{
	struct ping_job *pj = p;

	free(pj->pj_url);
	free(pj->pj_token);
	free(pj->pj_body);
	free(pj->pj_client);
	free(pj);
}

/* CIBA Core §10.2: POST {"auth_req_id"} with the client's token. */
static void
ping(struct server *srv, const struct store_ciba *cb)
{
	struct store_client c;
	struct ping_job *pj;
	json_t *o;

	if (cb->cb_notification_token == NULL || store_client_get(srv->sv_store, cb->cb_client_id, &c) != SL_OK)
		return;
	if (c.cl_ciba_mode != NULL && strcmp(c.cl_ciba_mode, "ping") == 0 && !sl_str_empty(c.cl_ciba_endpoint) &&
		(pj = calloc(1, sizeof(*pj))) != NULL) {
		o = json_pack("{s:s}", "auth_req_id", cb->cb_id);
		pj->pj_url = strdup(c.cl_ciba_endpoint);
		pj->pj_token = strdup(cb->cb_notification_token);
		pj->pj_body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		pj->pj_client = strdup(c.cl_id);
		pj->pj_timeout = srv->sv_conf->c_ciba_ping_timeout;
		json_decref(o);
		if (pj->pj_url == NULL || pj->pj_token == NULL || pj->pj_body == NULL || pj->pj_client == NULL ||
			app_background(srv, ping_run, ping_free, pj) != SL_OK) {
			log_warn("CIBA ping for %s not sent: the outbound queue is full", c.cl_id);
			ping_free(pj);
		}
	}
	store_client_clear(&c);
}

void
oidc_ciba_finished(struct server *srv, const char *auth_req_id)
{
	struct store_ciba cb;
	struct store_apprq r;
	struct store_account ac;
	int rc = SL_ENOTFOUND;

	if (store_ciba_get(srv->sv_store, auth_req_id, &cb) != SL_OK)
		return;
	memset(&ac, 0, sizeof(ac));
	if (strcmp(cb.cb_status, "pending") == 0 && store_apprq_get(srv->sv_store, cb.cb_apprq_id, &r) == SL_OK) {
		if (strcmp(r.aq_status, "approved") == 0 &&
			store_account_get(srv->sv_store, r.aq_account_id, &ac) == SL_OK)
			rc = store_ciba_set_status(srv->sv_store, cb.cb_id, "approved", ac.ac_person_id, sl_now());
		else if (strcmp(r.aq_status, "refused") == 0 || strcmp(r.aq_status, "denied") == 0)
			rc = store_ciba_set_status(srv->sv_store, cb.cb_id, "denied", NULL, 0);
		else if (strcmp(r.aq_status, "expired") == 0)
			rc = store_ciba_set_status(srv->sv_store, cb.cb_id, "expired", NULL, 0);
		store_apprq_clear(&r);
	}
	if (rc == SL_OK)
		ping(srv, &cb);
	store_account_clear(&ac);
	store_ciba_clear(&cb);
}
