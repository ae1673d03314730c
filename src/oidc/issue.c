/*
 * issue.c — what a finished login produces: the pairwise subject, the
 * one-time code and the redirect back to the RP, the claims, the ID token.
 */
#include <stdlib.h>

#include "oidc_int.h"

char *
url_with_params(const char *base, const char *const *kv, size_t n)
{
	struct sl_buf b;
	int rc;

	sl_buf_init(&b, 16384);
	rc = sl_buf_adds(&b, base);
	for (size_t i = 0; i < n && rc == SL_OK; i++) {
		rc = sl_buf_adds(&b, i == 0 && strchr(base, '?') == NULL ? "?" : "&");
		if (rc == SL_OK)
			rc = sl_url_encode(&b, kv[2 * i]);
		if (rc == SL_OK)
			rc = sl_buf_adds(&b, "=");
		if (rc == SL_OK)
			rc = sl_url_encode(&b, kv[2 * i + 1]);
	}
	if (rc != SL_OK) {
		sl_buf_reset(&b);
		return NULL;
	}
	return sl_buf_take(&b);
}

/* OIDC Core §8.1: sub = HMAC(key, sector ‖ person), so two RPs of
 * different sectors cannot link a person by sub. */
char *
oidc_subject(struct server *srv, const struct store_client *client, const char *person_id)
{
	uint8_t mac[SL_SHA256_LEN];
	char msg[1024];

	if ((size_t)snprintf(msg, sizeof(msg), "%s|%s", client->cl_sector, person_id) >= sizeof(msg))
		return NULL;
	if (crypto_hmac_mac(srv->sv_pairwise_hmac, msg, strlen(msg), mac) != SL_OK)
		return NULL;
	return sl_b64url_encode(mac, sizeof(mac));
}

int
code_prepare(struct server *srv, const struct store_client *client, json_t *params, const char *person_id,
	const char *session_id, const char *acr, const char *amr, int64_t auth_time, struct new_code *nc)
{
	struct store_code *co = &nc->nc_co;

	memset(nc, 0, sizeof(*nc));
	nc->nc_code = sl_random_id(32);
	nc->nc_grant = sl_random_id(16);
	if (nc->nc_code == NULL || nc->nc_grant == NULL || crypto_token_hash(nc->nc_code, nc->nc_hash) != SL_OK) {
		code_prepared_clear(nc);
		return SL_ECRYPTO;
	}
	co->co_hash = nc->nc_hash;
	co->co_grant_id = nc->nc_grant;
	co->co_client_id = client->cl_id;
	co->co_person_id = (char *)person_id;
	co->co_session_id = (char *)session_id;
	co->co_redirect_uri = (char *)params_str(params, "redirect_uri");
	co->co_scope = (char *)params_str(params, "scope");
	co->co_nonce = (char *)params_str(params, "nonce");
	co->co_challenge = (char *)params_str(params, "code_challenge");
	co->co_acr = (char *)acr;
	co->co_amr = (char *)amr;
	co->co_claims = (char *)params_str(params, "claims");
	co->co_authz_details = (char *)params_str(params, "authorization_details");
	co->co_auth_time = auth_time;
	co->co_dpop_jkt = (char *)params_str(params, "dpop_jkt");
	co->co_expires = sl_now() + srv->sv_conf->c_code_lifetime;
	/* FAPI 2.0 §5.3.2.1-14: at most 60 s, whatever the configuration */
	if (client_is_fapi2(client) && srv->sv_conf->c_code_lifetime > OIDC_FAPI2_CODE_LIFETIME)
		co->co_expires = sl_now() + OIDC_FAPI2_CODE_LIFETIME;
	return SL_OK;
}

/* The RP's redirect URI with the code, its state and our issuer;
 * malloc'd, NULL when out of memory. */
static char *
code_location(struct server *srv, json_t *params, const struct new_code *nc)
{
	const char *state = params_str(params, "state");
	const char *kv[6];
	size_t n = 0;

	kv[n++] = "code";
	kv[n++] = nc->nc_code;
	if (state != NULL) {
		kv[n++] = "state";
		kv[n++] = state;
	}
	kv[n++] = "iss";
	kv[n++] = srv->sv_conf->c_issuer;
	return url_with_params(nc->nc_co.co_redirect_uri, kv, n / 2);
}

void
code_redirect(struct server *srv, struct http_request *rq, json_t *params, const struct new_code *nc)
{
	const char *state = params_str(params, "state");
	char *url = code_location(srv, params, nc);

	if (url == NULL) {
		oidc_redirect_error(srv, rq, params_str(params, "redirect_uri"), state, "server_error",
			"the login could not be completed");
		return;
	}
	http_send_redirect(rq, 303, url);
	free(url);
}

void
code_prepared_clear(struct new_code *nc)
{
	free(nc->nc_code);
	free(nc->nc_grant);
	memset(nc, 0, sizeof(*nc));
}

void
issue_code_redirect(struct server *srv, struct http_request *rq, const struct store_client *client, json_t *params,
	const char *person_id, const char *session_id, const char *acr, const char *amr, int64_t auth_time)
{
	struct new_code nc;

	if (code_prepare(srv, client, params, person_id, session_id, acr, amr, auth_time, &nc) == SL_OK &&
		store_code_put(srv->sv_store, &nc.nc_co) == SL_OK)
		code_redirect(srv, rq, params, &nc);
	else
		oidc_redirect_error(srv, rq, params_str(params, "redirect_uri"), params_str(params, "state"),
			"server_error", "the login could not be completed");
	code_prepared_clear(&nc);
}

static void
add_profile(json_t *o, const struct store_person *p)
{
	if (p->p_given_name && p->p_family_name) {
		char name[512];
		snprintf(name, sizeof(name), "%s %s", p->p_given_name, p->p_family_name);
		json_object_set_new(o, "name", json_string(name));
	}
	if (p->p_given_name)
		json_object_set_new(o, "given_name", json_string(p->p_given_name));
	if (p->p_family_name)
		json_object_set_new(o, "family_name", json_string(p->p_family_name));
	if (p->p_birthdate)
		json_object_set_new(o, "birthdate", json_string(p->p_birthdate));
}

/* Claims for `scope`, plus those named in the claims request's `part`
 * ("userinfo" or "id_token") that this provider has.  The national
 * register number is only ever released under the eid scope. */
json_t *
claims_for(struct server *srv, const char *person_id, const char *scope, json_t *claims_req, const char *part)
{
	struct store_person p;
	json_t *o;

	if (store_person_get(srv->sv_store, person_id, &p) != SL_OK)
		return json_object();
	o = claims_of(&p, scope, claims_req, part);
	store_person_clear(&p);
	return o;
}

json_t *
claims_of(const struct store_person *p, const char *scope, json_t *claims_req, const char *part)
{
	json_t *o = json_object(), *all = json_object(), *wanted;
	const char *name;
	json_t *v;

	if (p->p_id == NULL) { /* the person is gone */
		json_decref(all);
		return o;
	}
	add_profile(all, p);
	if (scope_has(scope, "profile"))
		json_object_update(o, all);
	wanted = claims_req ? json_object_get(claims_req, part) : NULL;
	json_object_foreach(wanted, name, v)
	{
		json_t *have = json_object_get(all, name);
		if (have != NULL)
			json_object_set(o, name, have);
	}
	if (scope_has(scope, "eid") && p->p_rrn != NULL)
		json_object_set_new(o, "national_register_number", json_string(p->p_rrn));
	json_decref(all);
	return o;
}

char *
id_token_sign(struct server *srv, const struct store_client *client, json_t *claims)
{
	struct jose_key *key;
	struct sl_err err;
	char *jws = NULL;

	keyring_lock(srv);
	key = keyring_signer(srv, client->cl_id_token_alg);
	if (key != NULL)
		jws = jose_sign(key, claims, "JWT", &err);
	keyring_unlock(srv);
	if (jws == NULL)
		log_error("cannot sign an ID token with %s", client->cl_id_token_alg);
	return id_token_encrypt(client, jws); /* when the client asked for it (id_token_jwe.c) */
}

void
oidc_wait_key(const char *req_id, char *out, size_t len)
{
	snprintf(out, len, "authreq:%s", req_id);
}

/* A payment request (authorization_details) is only finished by a key
 * that showed the person the payment: the app.  Checked here, where every
 * key ends, so no key page can be used to skip it.  `params`: the
 * request's parameters when the caller has them, else they are read. */
static bool
key_may_finish(struct server *srv, const char *req_id, json_t *params, const char *key)
{
	struct store_authreq ar;
	bool payment;

	if (strcmp(key, OIDC_KEY_APP) == 0)
		return true;
	if (params != NULL)
		return params_str(params, "authorization_details") == NULL;
	if (store_authreq_get(srv->sv_store, req_id, &ar) != SL_OK)
		return true; /* store_authreq_complete says it is gone */
	params = json_loads(ar.ar_params, 0, NULL);
	payment = params_str(params, "authorization_details") != NULL;
	json_decref(params);
	store_authreq_clear(&ar);
	return !payment;
}

/* Record the person and the request's completion in `ar` (its id set);
 * with `consent`, also read what the person agreed to share with client
 * `client_id` (store_login_complete_consent). */
static int
login_complete(struct server *srv, struct store_authreq *ar, json_t *params, struct store_person *person,
	const char *key, const char *acr, const char *amr_json, const char *client_id, char **consent,
	struct sl_err *err)
{
	char wkey[128];
	int rc;

	if (!key_may_finish(srv, ar->ar_id, params, key))
		return sl_fail(err, SL_EDENIED, "a payment can only be confirmed with the sleutel app");
	ar->ar_status = (char *)"done";
	ar->ar_key = (char *)key;
	ar->ar_acr = (char *)acr;
	ar->ar_amr = (char *)amr_json;
	ar->ar_auth_time = sl_now();
	rc = consent != NULL ? store_login_complete_consent(srv->sv_store, person, ar, client_id, consent)
			     : store_login_complete(srv->sv_store, person, ar);
	if (rc == SL_ENOTFOUND)
		return sl_fail(err, rc, "this login request is no longer waiting");
	if (rc != SL_OK)
		return sl_fail(err, rc, "cannot save the person record");
	ar->ar_person_id = person->p_id;
	oidc_wait_key(ar->ar_id, wkey, sizeof(wkey));
	server_wake(srv, wkey);
	return SL_OK;
}

int
oidc_login_complete(struct server *srv, const char *req_id, struct store_person *person, const char *key,
	const char *acr, const char *amr_json, struct sl_err *err)
{
	struct store_authreq ar;

	memset(&ar, 0, sizeof(ar));
	ar.ar_id = (char *)req_id;
	return login_complete(srv, &ar, NULL, person, key, acr, amr_json, NULL, NULL, err);
}

/* The recorded values replace the loaded ones (owned strings: copied). */
static int
pending_take_outcome(struct store_authreq *to, const struct store_authreq *from)
{
	const char *src[5] = { from->ar_status, from->ar_person_id, from->ar_key, from->ar_acr, from->ar_amr };
	char **dst[5] = { &to->ar_status, &to->ar_person_id, &to->ar_key, &to->ar_acr, &to->ar_amr };
	char *v[5] = { NULL };

	for (int i = 0; i < 5; i++) {
		if (src[i] != NULL && (v[i] = strdup(src[i])) == NULL) {
			for (int j = 0; j < i; j++)
				free(v[j]);
			return SL_ENOMEM;
		}
	}
	for (int i = 0; i < 5; i++) {
		free(*dst[i]);
		*dst[i] = v[i];
	}
	to->ar_auth_time = from->ar_auth_time;
	return SL_OK;
}

int
oidc_login_complete_pending(struct server *srv, struct oidc_pending *p, struct store_person *person, const char *key,
	const char *acr, const char *amr_json, struct sl_err *err)
{
	struct store_authreq ar;
	int rc;

	memset(&ar, 0, sizeof(ar));
	ar.ar_id = p->op_req.ar_id;
	free(p->op_consent);
	p->op_consent = NULL;
	rc = login_complete(
		srv, &ar, p->op_params, person, key, acr, amr_json, p->op_req.ar_client_id, &p->op_consent, err);
	p->op_consent_known = rc == SL_OK;
	if (rc == SL_OK && (rc = pending_take_outcome(&p->op_req, &ar)) != SL_OK)
		sl_fail(err, rc, "out of memory");
	return rc;
}

/* What a key that finishes at once stores with its completion: the
 * session, the code and the audit row, prepared before the transaction
 * (random values, hashes) and pointed at the person inside it. */
struct finish_now {
	struct server *fn_srv;
	const struct oidc_pending *fn_p;
	struct new_session fn_ns;
	struct new_code fn_nc;
	struct store_audit fn_au;
	struct store_login_issue fn_li;
	int fn_consent_rc;
	bool fn_ask;
};

static int
finish_now_issue(void *ctx, const char *person_id, const char *consent, const struct store_login_issue **li)
{
	struct finish_now *f = ctx;
	const char *known = consent;

	*li = NULL;
	f->fn_ask = false;
	/* Every key ends here too, so no key can skip the consent page. */
	f->fn_consent_rc = consent_needed(
		f->fn_srv, person_id, f->fn_p->op_req.ar_client_id, f->fn_p->op_params, &known, &f->fn_ask);
	if (f->fn_consent_rc != SL_OK || f->fn_ask)
		return SL_OK; /* the completion alone is stored */
	f->fn_ns.ns_ses.s_person_id = (char *)person_id;
	f->fn_nc.nc_co.co_person_id = (char *)person_id;
	f->fn_au.au_person_id = person_id;
	*li = &f->fn_li;
	return SL_OK;
}

/* oidc_login_complete_finish, and with `rd` the eID return's redemption
 * first in the same transaction (person then filled from its result).
 * *committed: the store recorded the login (an answer follows unless out
 * of memory). */
static int
complete_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p, struct store_person *person,
	const struct oidc_redeem *rd, const char *key, const char *acr, const char *amr_json, bool *committed,
	struct sl_err *err)
{
	struct store_authreq ar;
	struct finish_now f = { .fn_srv = srv, .fn_p = p };
	bool issued = false;
	char wkey[128], ipbuf[SERVER_IP_MAX];
	int rc;

	*committed = false;
	if (!key_may_finish(srv, p->op_req.ar_id, p->op_params, key))
		return sl_fail(err, SL_EDENIED, "a payment can only be confirmed with the sleutel app");
	memset(&ar, 0, sizeof(ar));
	ar.ar_id = p->op_req.ar_id;
	ar.ar_status = (char *)"done";
	ar.ar_key = (char *)key;
	ar.ar_acr = (char *)acr;
	ar.ar_amr = (char *)amr_json;
	ar.ar_auth_time = sl_now();
	rc = session_prepare(srv, rq, NULL, acr, amr_json, ar.ar_auth_time, &f.fn_ns);
	if (rc == SL_OK)
		rc = code_prepare(srv, &p->op_client, p->op_params, NULL, f.fn_ns.ns_hash, acr, amr_json,
			ar.ar_auth_time, &f.fn_nc);
	if (rc != SL_OK) {
		session_prepared_clear(&f.fn_ns);
		return sl_fail(err, rc, "cannot prepare the session");
	}
	f.fn_au.au_event = "login";
	f.fn_au.au_result = "ok";
	f.fn_au.au_client_id = p->op_req.ar_client_id;
	f.fn_au.au_ip = server_audit_ip(srv, rq, ipbuf);
	f.fn_au.au_key = key;
	f.fn_li.li_req_id = ar.ar_id;
	f.fn_li.li_old_session = f.fn_ns.ns_old;
	f.fn_li.li_session = &f.fn_ns.ns_ses;
	f.fn_li.li_audit = &f.fn_au;
	f.fn_li.li_code = &f.fn_nc.nc_co;
	free(p->op_consent);
	p->op_consent = NULL;
	if (rd != NULL)
		rc = store_authreq_redeem_complete_issue(srv->sv_store, rd->or_hash, rd->or_person_of, person, &ar,
			p->op_req.ar_client_id, &p->op_consent, finish_now_issue, &f, &issued);
	else
		rc = store_login_complete_issue(srv->sv_store, person, &ar, p->op_req.ar_client_id, &p->op_consent,
			finish_now_issue, &f, &issued);
	p->op_consent_known = rc == SL_OK;
	*committed = rc == SL_OK;
	if (rc == SL_ENOTFOUND)
		sl_fail(err, rc, "this login request is no longer waiting");
	else if (rc != SL_OK)
		sl_fail(err, rc, "cannot save the person record");
	if (rc == SL_OK) {
		ar.ar_person_id = person->p_id;
		oidc_wait_key(ar.ar_id, wkey, sizeof(wkey));
		server_wake(srv, wkey);
		if ((rc = pending_take_outcome(&p->op_req, &ar)) != SL_OK)
			sl_fail(err, rc, "out of memory");
	}
	if (rc == SL_OK) {
		const char *redirect_uri = params_str(p->op_params, "redirect_uri");
		const char *state = params_str(p->op_params, "state");
		if (issued) {
			session_prepared_set_cookie(rq, &f.fn_ns);
			metrics_login(srv->sv_metrics, key, "ok");
			code_redirect(srv, rq, p->op_params, &f.fn_nc);
		} else if (f.fn_consent_rc != SL_OK) {
			oidc_redirect_error(
				srv, rq, redirect_uri, state, "server_error", "the login could not be completed");
		} else {
			consent_ask(srv, rq, ar.ar_id);
		}
	}
	code_prepared_clear(&f.fn_nc);
	session_prepared_clear(&f.fn_ns);
	return rc;
}

int
oidc_login_complete_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p,
	struct store_person *person, const char *key, const char *acr, const char *amr_json, struct sl_err *err)
{
	bool committed;

	return complete_finish(srv, rq, p, person, NULL, key, acr, amr_json, &committed, err);
}

int
oidc_login_redeem_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p,
	const struct oidc_redeem *rd, const char *key, const char *acr, const char *amr_json, bool *committed,
	struct sl_err *err)
{
	struct store_person person;
	int rc;

	memset(&person, 0, sizeof(person));
	rc = complete_finish(srv, rq, p, &person, rd, key, acr, amr_json, committed, err);
	store_person_clear(&person);
	return rc;
}

int
oidc_login_deny(struct server *srv, const char *req_id)
{
	struct store_authreq ar;
	char wkey[128];
	int rc;

	memset(&ar, 0, sizeof(ar));
	ar.ar_id = (char *)req_id;
	ar.ar_status = (char *)"denied";
	rc = store_authreq_complete(srv->sv_store, &ar);
	if (rc == SL_OK) {
		oidc_wait_key(req_id, wkey, sizeof(wkey));
		server_wake(srv, wkey);
	}
	return rc;
}

/* The audit record of a login's outcome (the person only when done). */
static void
login_audit_fill(struct store_audit *au, struct server *srv, struct http_request *rq, char ipbuf[SERVER_IP_MAX],
	const struct store_authreq *ar, const char *result)
{
	memset(au, 0, sizeof(*au));
	au->au_event = "login";
	au->au_result = result;
	au->au_client_id = ar->ar_client_id;
	au->au_ip = server_audit_ip(srv, rq, ipbuf);
	au->au_key = ar->ar_key;
	au->au_person_id = strcmp(result, "ok") == 0 ? ar->ar_person_id : NULL;
}

static void
login_audit(struct server *srv, struct http_request *rq, const struct store_authreq *ar, const char *result)
{
	struct store_audit au;
	char ipbuf[SERVER_IP_MAX];

	login_audit_fill(&au, srv, rq, ipbuf, ar, result);
	store_audit_add(srv->sv_store, &au);
}

/* The session of an SSO answer: the browser's current one, still this
 * person's.  malloc'd id. */
static int
sso_session(struct server *srv, struct http_request *rq, const struct store_authreq *ar, char **session_id)
{
	struct store_session ses;
	int rc;

	*session_id = NULL;
	/* A session that ended meanwhile (logout in another tab) is not
	 * brought back by answering the consent page. */
	if (session_current(srv, rq, &ses) != SL_OK)
		return SL_ENOTFOUND;
	rc = strcmp(ses.s_person_id, ar->ar_person_id) == 0 ? SL_OK : SL_ENOTFOUND;
	if (rc == SL_OK && (*session_id = strdup(ses.s_id)) == NULL)
		rc = SL_ENOMEM;
	store_session_clear(&ses);
	return rc;
}

/* The answer to a polling page (json): {"status": "done"} and, with the
 * code issued, "location": the RP's redirect URI with it, for the page to
 * go to; without it the page goes to its own next address, which finds
 * what is left (answered already, or an error for the RP). */
static void
send_poll_answer(struct server *srv, struct http_request *rq, json_t *params, const struct new_code *nc)
{
	char *url = nc != NULL ? code_location(srv, params, nc) : NULL;

	if (url != NULL)
		http_send_json(rq, 200, json_pack("{s:s,s:s}", "status", "done", "location", url));
	else
		http_send_json(rq, 200, json_pack("{s:s}", "status", "done"));
	free(url);
}

/* login_issue; json: the answer for a polling page (send_poll_answer)
 * instead of the redirect and error pages. */
static void
login_issue_as(struct server *srv, struct http_request *rq, struct oidc_pending *p, bool json)
{
	const struct store_authreq *ar = &p->op_req;
	const char *redirect_uri = params_str(p->op_params, "redirect_uri");
	const char *state = params_str(p->op_params, "state");
	bool sso = ar->ar_key != NULL && strcmp(ar->ar_key, "sso") == 0;
	struct store_login_issue li = { .li_req_id = ar->ar_id };
	struct new_session ns = { 0 };
	struct new_code nc = { 0 };
	struct store_audit au;
	char *sso_id = NULL, ipbuf[SERVER_IP_MAX];
	int rc;

	/* What the login makes (the session, unless an SSO answer keeps the
	 * browser's; the audit row; the code) is stored in one transaction
	 * with the request's deletion: one durable commit per login. */
	if (sso) {
		rc = sso_session(srv, rq, ar, &sso_id);
	} else {
		rc = session_prepare(srv, rq, ar->ar_person_id, ar->ar_acr, ar->ar_amr, ar->ar_auth_time, &ns);
		li.li_old_session = ns.ns_old;
		li.li_session = &ns.ns_ses;
		/* An SSO answer is not a new login: only a key's login is audited. */
		login_audit_fill(&au, srv, rq, ipbuf, ar, "ok");
		li.li_audit = &au;
	}
	if (rc == SL_OK)
		rc = code_prepare(srv, &p->op_client, p->op_params, ar->ar_person_id, sso ? sso_id : ns.ns_hash,
			ar->ar_acr, ar->ar_amr, ar->ar_auth_time, &nc);
	if (rc == SL_OK) {
		li.li_code = &nc.nc_co;
		/* One answer per request: of two at once (a double submit, the
		 * consent form and /login/finish) only the one that deletes it
		 * goes on; the other finds the request answered. */
		rc = store_login_issue(srv->sv_store, &li);
		if (rc == SL_ENOTFOUND && !json) {
			oidc_error_page(srv, rq, 409, "invalid_request_uri", "this login request was answered already");
			goto out;
		}
	}
	if (rc != SL_OK && json) {
		send_poll_answer(srv, rq, p->op_params, NULL);
		goto out;
	}
	if (rc != SL_OK) {
		oidc_redirect_error(srv, rq, redirect_uri, state, sso ? "login_required" : "server_error",
			sso ? "the session has ended" : "the session could not start");
		goto out;
	}
	if (!sso)
		session_prepared_set_cookie(rq, &ns);
	metrics_login(srv->sv_metrics, ar->ar_key, "ok");
	if (json)
		send_poll_answer(srv, rq, p->op_params, &nc);
	else
		code_redirect(srv, rq, p->op_params, &nc);
out:
	code_prepared_clear(&nc);
	session_prepared_clear(&ns);
	free(sso_id);
}

void
login_issue(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	login_issue_as(srv, rq, p, false);
}

void
oidc_login_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	const struct store_authreq *ar = &p->op_req;
	const char *redirect_uri = params_str(p->op_params, "redirect_uri");
	const char *state = params_str(p->op_params, "state");
	bool ask = false;

	if (strcmp(ar->ar_status, "done") != 0) {
		/* One answer per request: the next visit finds nothing. */
		store_authreq_delete(srv->sv_store, ar->ar_id);
		login_audit(srv, rq, ar, "denied");
		metrics_login(srv->sv_metrics, ar->ar_key, "denied");
		oidc_redirect_error(srv, rq, redirect_uri, state, "access_denied", "the person did not log in");
		return;
	}
	/* Every key ends here, so no key can skip the consent page. */
	if (consent_needed(srv, ar->ar_person_id, ar->ar_client_id, p->op_params,
		    p->op_consent_known ? (const char *const *)&p->op_consent : NULL, &ask) != SL_OK)
		oidc_redirect_error(srv, rq, redirect_uri, state, "server_error", "the login could not be completed");
	else if (ask)
		consent_ask(srv, rq, ar->ar_id);
	else
		login_issue(srv, rq, p);
}

void
oidc_login_finish_poll(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	const struct store_authreq *ar = &p->op_req;
	bool ask = true;

	/* Anything but a login to answer with a code (denied, consent to ask,
	 * an error for the RP) is the page's next address to show. */
	if (strcmp(ar->ar_status, "done") != 0 ||
		consent_needed(srv, ar->ar_person_id, ar->ar_client_id, p->op_params,
			p->op_consent_known ? (const char *const *)&p->op_consent : NULL, &ask) != SL_OK ||
		ask) {
		http_send_json(rq, 200, json_pack("{s:s}", "status", ar->ar_status));
		return;
	}
	login_issue_as(srv, rq, p, true);
}
