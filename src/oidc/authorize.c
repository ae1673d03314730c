/*
 * authorize.c — the authorization endpoint (GET and POST).
 *
 * A valid request either ends at once (an SSO session that satisfies
 * prompt, max_age and id_token_hint: a code goes back to the RP; or
 * prompt=none without one: login_required, or consent_required when the
 * person has not agreed to share what is asked) or becomes a pending
 * request the portal shows the key choice (or, for a session, the consent
 * page) for.
 *
 * A FAPI 2.0 client (profile fapi2) must push its request (PAR) and send
 * only client_id and request_uri here.  dpop_jkt (RFC 9449 §10) binds the
 * code to a DPoP key; a pushed request carries it from /par.
 *
 * A request_uri is one-time use at the point of authorization, not of
 * the visit (RFC 9126 §4 and §7.3; FAPI 2.0 §5.3.2.2 note 3): the first
 * visit claims it for the pending request it starts (recorded once, as
 * the push's context).  A later visit, a reload or the back button, by
 * the browser of that request goes back to its login while it is still
 * waiting; any other visit, and every visit once the login finished (a
 * code or an error went back) or the push expired, is invalid_request_uri.
 */
#include <stdlib.h>

#include "oidc_int.h"

void
oidc_redirect_error(struct server *srv, struct http_request *rq, const char *redirect_uri, const char *state,
	const char *error, const char *desc)
{
	const char *kv[8];
	size_t n = 0;
	char *url;

	kv[n++] = "error";
	kv[n++] = error;
	if (desc != NULL) {
		kv[n++] = "error_description";
		kv[n++] = desc;
	}
	if (state != NULL) {
		kv[n++] = "state";
		kv[n++] = state;
	}
	kv[n++] = "iss"; /* RFC 9207 */
	kv[n++] = srv->sv_conf->c_issuer;
	url = url_with_params(redirect_uri, kv, n / 2);
	if (url == NULL) {
		http_send_oauth_error(rq, 500, "server_error", NULL);
		return;
	}
	http_send_redirect(rq, 303, url);
	free(url);
}

static void
authz_fail(struct server *srv, struct http_request *rq, const struct authz_error *ae)
{
	if (ae->ae_redirect)
		oidc_redirect_error(srv, rq, ae->ae_redirect_uri, ae->ae_state, ae->ae_error, ae->ae_desc);
	else
		oidc_error_page(srv, rq, ae->ae_status, ae->ae_error, ae->ae_desc);
}

#define PAR_UNUSABLE "the request_uri is unknown, used or expired"

/* PAR: the request_uri names parameters pushed earlier by this client.
 * The push stays in *par (store_authreq_clear) to be claimed or resumed. */
static json_t *
params_from_par(
	struct server *srv, json_t *in, struct store_client *client, struct authz_error *ae, struct store_authreq *par)
{
	const char *uri = params_str(in, "request_uri");
	const char *client_id = params_str(in, "client_id");
	json_t *params = NULL;

	memset(ae, 0, sizeof(*ae));
	memset(par, 0, sizeof(*par));
	ae->ae_status = 400;
	ae->ae_error = "invalid_request_uri";
	ae->ae_desc = PAR_UNUSABLE;
	if (strncmp(uri, OIDC_PAR_URN, strlen(OIDC_PAR_URN)) != 0 || client_id == NULL)
		return NULL;
	if (store_authreq_get(srv->sv_store, uri + strlen(OIDC_PAR_URN), par) != SL_OK)
		return NULL;
	if (strcmp(par->ar_kind, "par") == 0 && strcmp(par->ar_client_id, client_id) == 0 &&
		store_client_get(srv->sv_store, client_id, client) == SL_OK)
		params = json_loads(par->ar_params, 0, NULL);
	if (params != NULL) {
		ae->ae_redirect = true;
		ae->ae_redirect_uri = params_str(params, "redirect_uri");
		ae->ae_state = params_str(params, "state");
	}
	return params;
}

/* A visit after the first: back to the claiming request's login when
 * this is its browser and it still waits for a key; refused otherwise.
 * `claim` is the push's context, {"request": id or null}. */
static void
par_resume(struct server *srv, struct http_request *rq, const char *claim)
{
	json_t *c = json_loads(claim, 0, NULL);
	const char *req_id = json_string_value(json_object_get(c, "request"));
	struct store_authreq ar;
	char *browser = browser_binding(srv, rq, false), loc[128];
	bool waiting = false;

	memset(&ar, 0, sizeof(ar));
	if (req_id != NULL && strlen(req_id) < 64 && store_authreq_get(srv->sv_store, req_id, &ar) == SL_OK)
		waiting = strcmp(ar.ar_kind, "authorize") == 0 && ar.ar_status != NULL &&
			  strcmp(ar.ar_status, "pending") == 0 && sl_ct_streq(ar.ar_browser, browser);
	if (waiting) {
		snprintf(loc, sizeof(loc), "/login?req=%s", req_id);
		http_send_redirect(rq, 303, loc);
	} else {
		oidc_error_page(srv, rq, 400, "invalid_request_uri", PAR_UNUSABLE);
	}
	store_authreq_clear(&ar);
	free(browser);
	json_decref(c);
}

/* Claim push `par_id` for pending request `req_id` (NULL: the visit ends
 * at once, with a code or an error).  The context is set once, so of two
 * first visits at once one wins; the other is answered as a later visit
 * and SL_ECONFLICT returned.  SL_OK: this visit owns the request_uri. */
static int
par_claim(struct server *srv, struct http_request *rq, const char *par_id, const char *req_id)
{
	struct store_authreq par;
	json_t *c = json_object();
	char *claim;
	int rc = SL_ENOMEM;

	json_object_set_new(c, "request", req_id != NULL ? json_string(req_id) : json_null());
	claim = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	memset(&par, 0, sizeof(par));
	if (claim != NULL && (rc = store_authreq_set_context(srv->sv_store, par_id, claim)) == SL_OK &&
		(rc = store_authreq_get(srv->sv_store, par_id, &par)) == SL_OK)
		rc = par.ar_context != NULL && strcmp(par.ar_context, claim) == 0 ? SL_OK : SL_ECONFLICT;
	if (rc == SL_ECONFLICT)
		par_resume(srv, rq, par.ar_context);
	else if (rc == SL_ENOTFOUND) /* expired meanwhile */
		oidc_error_page(srv, rq, 400, "invalid_request_uri", PAR_UNUSABLE);
	else if (rc != SL_OK)
		oidc_error_page(srv, rq, 503, "temporarily_unavailable", NULL);
	store_authreq_clear(&par);
	free(claim);
	return rc;
}

/* FAPI 2.0 §5.3.2.2: a pushed request's parameters come from the push
 * only — anything else at /authorize is an error, not silently ignored. */
static bool
only_par_params(json_t *in)
{
	const char *k;
	json_t *v;

	json_object_foreach(in, k, v) if (strcmp(k, "client_id") != 0 && strcmp(k, "request_uri") != 0) return false;
	return true;
}

/* A direct request's dpop_jkt, kept with the parameters when well-formed. */
static int
direct_dpop_jkt(json_t *in, json_t *params, struct authz_error *ae)
{
	const char *jkt = params_str(in, "dpop_jkt");

	if (jkt == NULL)
		return SL_OK;
	if (!oidc_jkt_valid(jkt)) {
		ae->ae_status = 400;
		ae->ae_error = "invalid_request";
		ae->ae_desc = "dpop_jkt is not a base64url SHA-256 key thumbprint";
		return SL_EINVAL;
	}
	json_object_set_new(params, "dpop_jkt", json_string(jkt));
	return SL_OK;
}

/* Does the ID token hint name the person of this session for this client? */
static bool
hint_matches(struct server *srv, const char *hint, const struct store_client *client, const struct store_session *ses)
{
	struct jose_key *keys[OIDC_MAX_VERIFIERS];
	struct sl_err err;
	json_t *claims = NULL;
	char *sub;
	bool ok = false;
	size_t n;

	keyring_lock(srv);
	n = keyring_verifiers(srv, keys, OIDC_MAX_VERIFIERS);
	if (jose_verify(hint, keys, n, &claims, &err) != SL_OK) {
		keyring_unlock(srv);
		return false;
	}
	keyring_unlock(srv);
	sub = oidc_subject(srv, client, ses->s_person_id);
	/* Expired hints are fine (OIDC Core §3.1.2.1); issuer, audience and
	 * subject must match. */
	ok = sub != NULL && sl_ct_streq(json_string_value(json_object_get(claims, "sub")), sub) &&
	     sl_ct_streq(json_string_value(json_object_get(claims, "iss")), srv->sv_conf->c_issuer) &&
	     (sl_ct_streq(json_string_value(json_object_get(claims, "aud")), client->cl_id) ||
		     json_array_has(json_object_get(claims, "aud"), client->cl_id));
	free(sub);
	json_decref(claims);
	return ok;
}

/* Can the current session answer this request without a new login? */
static bool
session_satisfies(
	struct server *srv, json_t *params, const struct store_client *client, const struct store_session *ses)
{
	const char *prompt = params_str(params, "prompt");
	const char *max_age = params_str(params, "max_age");
	const char *hint = params_str(params, "id_token_hint");

	if (prompt != NULL && (scope_has(prompt, "login") || scope_has(prompt, "select_account")))
		return false;
	if (oidc_client_fresh_only(client->cl_id))
		return false;
	/* A payment is confirmed each time, on the phone: never by a session. */
	if (params_str(params, "authorization_details") != NULL)
		return false;
	if (max_age != NULL && sl_now() - ses->s_auth_time > strtoll(max_age, NULL, 10))
		return false;
	if (hint != NULL && !hint_matches(srv, hint, client, ses))
		return false;
	return true;
}

/* Keep a validated request for this browser (pending, [server]
 * request_lifetime); its id (malloc'd) in *id_out.  With `ses`, it is
 * completed at once by that SSO session. */
static int
pending_put(struct server *srv, struct http_request *rq, const struct store_client *client, json_t *params,
	const struct store_session *ses, char **id_out)
{
	struct store_authreq ar;
	char *id = sl_random_id(16), *browser = browser_binding(srv, rq, true), *json;
	int rc = SL_ENOMEM;

	json = sl_json_compact(params);
	memset(&ar, 0, sizeof(ar));
	ar.ar_id = id;
	ar.ar_kind = (char *)"authorize";
	ar.ar_client_id = client->cl_id;
	ar.ar_params = json;
	ar.ar_browser = browser;
	ar.ar_expires = sl_now() + srv->sv_conf->c_request_lifetime;
	if (id != NULL && browser != NULL && json != NULL)
		rc = store_authreq_put(srv->sv_store, &ar);
	if (rc == SL_OK && ses != NULL) {
		ar.ar_status = (char *)"done";
		ar.ar_person_id = ses->s_person_id;
		ar.ar_key = (char *)"sso";
		ar.ar_acr = ses->s_acr;
		ar.ar_amr = ses->s_amr;
		ar.ar_auth_time = ses->s_auth_time;
		rc = store_authreq_complete(srv->sv_store, &ar);
	}
	free(browser);
	free(json);
	if (rc == SL_OK)
		*id_out = id;
	else
		free(id);
	return rc;
}

/* A login_hint that is a Belgian mobile number (OIDC Core 3.1.2.1: the
 * RP knows it) with the app key on: the app key's number form, filled in
 * (/key/app/hint, which checks the number and goes to the key choice when
 * it is not one; only the person's post of the form reaches a phone).
 * Any other hint changes nothing. */
static bool
app_hinted(struct server *srv, json_t *params)
{
	const char *hint = params_str(params, "login_hint");

	return hint != NULL && strncmp(hint, "+32", 3) == 0 && (srv->sv_conf->c_portal_keys & SL_KEY_APP) != 0;
}

/* Keep the request for this browser and send it on: to the key choice,
 * or, for an SSO session that needs the person's consent first (`ses`),
 * to the consent page with the session's login already recorded. */
static void
start_pending(struct server *srv, struct http_request *rq, const struct store_client *client, json_t *params,
	const struct store_session *ses, const char *par_id)
{
	char *id = NULL, loc[128];

	if (pending_put(srv, rq, client, params, ses, &id) != SL_OK) {
		oidc_error_page(srv, rq, 503, "temporarily_unavailable", NULL);
	} else if (par_id != NULL && par_claim(srv, rq, par_id, id) != SL_OK) {
		store_authreq_delete(srv->sv_store, id); /* another visit's request goes on */
	} else if (ses != NULL) {
		consent_ask(srv, rq, id);
	} else {
		snprintf(loc, sizeof(loc), app_hinted(srv, params) ? "/key/app/hint?req=%s" : "/login?req=%s", id);
		http_send_redirect(rq, 303, loc);
	}
	free(id);
}

int
oidc_pending_start(struct server *srv, struct http_request *rq, json_t *in, char **req_id)
{
	struct store_client client;
	struct authz_error ae;
	json_t *params = NULL;
	int rc = SL_EINVAL;

	*req_id = NULL;
	memset(&client, 0, sizeof(client));
	if (params_client(srv, in, &client, &ae) == SL_OK &&
		params_validate(srv, in, &client, false, &params, &ae) == SL_OK)
		rc = pending_put(srv, rq, &client, params, NULL, req_id);
	json_decref(params);
	store_client_clear(&client);
	return rc;
}

/* The session satisfies the request: a code at once, unless the person
 * must first agree to share data (OIDC Core §3.1.2.6: consent_required
 * when prompt=none forbids asking). */
static void
answer_by_session(struct server *srv, struct http_request *rq, const struct store_client *client, json_t *params,
	const struct store_session *ses)
{
	const char *prompt = params_str(params, "prompt");
	bool ask = false;

	if (consent_needed(srv, ses->s_person_id, client->cl_id, params, NULL, &ask) != SL_OK) {
		oidc_error_page(srv, rq, 503, "temporarily_unavailable", NULL);
	} else if (!ask) {
		metrics_login(srv->sv_metrics, "sso", "ok");
		issue_code_redirect(
			srv, rq, client, params, ses->s_person_id, ses->s_id, ses->s_acr, ses->s_amr, ses->s_auth_time);
	} else if (prompt != NULL && strcmp(prompt, "none") == 0) {
		oidc_redirect_error(srv, rq, params_str(params, "redirect_uri"), params_str(params, "state"),
			"consent_required", "the person has not agreed to share the data asked for");
	} else {
		start_pending(srv, rq, client, params, ses, NULL);
	}
}

void
oidc_authorize(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_client client;
	struct store_session ses;
	struct authz_error ae;
	struct store_authreq par;
	const char *repeated, *prompt, *par_id = NULL;
	json_t *in, *params = NULL;
	bool have_session;

	memset(&client, 0, sizeof(client));
	memset(&par, 0, sizeof(par));
	in = params_collect(rq, &repeated);
	if (in == NULL) {
		oidc_error_page(srv, rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	if (params_str(in, "request_uri") != NULL &&
		strncmp(params_str(in, "request_uri"), OIDC_PAR_URN, strlen(OIDC_PAR_URN)) == 0) {
		params = params_from_par(srv, in, &client, &ae, &par);
		if (params == NULL)
			goto fail;
		if (client_is_fapi2(&client) && !only_par_params(in)) {
			ae.ae_error = "invalid_request";
			ae.ae_desc =
				"a FAPI 2.0 client sends only client_id and request_uri here: the rest goes to /par";
			goto fail;
		}
		if (par.ar_context != NULL) {
			par_resume(srv, rq, par.ar_context);
			goto done;
		}
		par_id = par.ar_id;
	} else if (params_client(srv, in, &client, &ae) != SL_OK) {
		goto fail;
	} else {
		if (client_is_fapi2(&client)) /* whatever the stored flag says */
			client.cl_require_par = true;
		if (params_validate(srv, in, &client, false, &params, &ae) != SL_OK ||
			direct_dpop_jkt(in, params, &ae) != SL_OK)
			goto fail;
	}
	prompt = params_str(params, "prompt");
	have_session = session_current(srv, rq, &ses) == SL_OK;
	if (have_session && session_satisfies(srv, params, &client, &ses)) {
		if (par_id == NULL || par_claim(srv, rq, par_id, NULL) == SL_OK)
			answer_by_session(srv, rq, &client, params, &ses);
	} else if (prompt != NULL && strcmp(prompt, "none") == 0) {
		if (par_id == NULL || par_claim(srv, rq, par_id, NULL) == SL_OK)
			oidc_redirect_error(srv, rq, params_str(params, "redirect_uri"), params_str(params, "state"),
				params_str(params, "authorization_details") ? "interaction_required" : "login_required",
				"the person must log in");
	} else {
		start_pending(srv, rq, &client, params, NULL, par_id);
	}
	if (have_session)
		store_session_clear(&ses);
	goto done;
fail:
	authz_fail(srv, rq, &ae);
done:
	store_authreq_clear(&par);
	json_decref(params);
	json_decref(in);
	store_client_clear(&client);
}
