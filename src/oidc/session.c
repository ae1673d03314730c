/*
 * session.c — the browser's cookies: the SSO session, the binding of a
 * pending request to the browser that started it, and CSRF tokens.
 *
 * Cookie values are 256-bit random strings; the store keeps only their
 * SHA-256, so a database dump holds no usable session.  All cookies are
 * __Host- prefixed (Secure, Path=/, no Domain), HttpOnly and SameSite=Lax:
 * Lax, not Strict, because an RP sends the browser here with a top-level
 * navigation and prompt=none must see the session.
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "oidc_int.h"

void
cookie_set(struct http_request *rq, const char *name, const char *value, int64_t max_age)
{
	char buf[512];

	if (max_age >= 0)
		snprintf(buf, sizeof(buf), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=%lld", name, value,
			(long long)max_age);
	else
		snprintf(buf, sizeof(buf), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax", name, value);
	http_add_header(rq, "Set-Cookie", buf);
}

static bool
cookie_well_formed(const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n < 16 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_'))
			return false;
	}
	return true;
}

int
session_current(struct server *srv, struct http_request *rq, struct store_session *out)
{
	const char *v = http_cookie(rq, OIDC_COOKIE_SESSION);
	char hash[2 * SL_SHA256_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (!cookie_well_formed(v) || crypto_token_hash(v, hash) != SL_OK)
		return SL_ENOTFOUND;
	return store_session_get(srv->sv_store, hash, out);
}

int
session_prepare(struct server *srv, struct http_request *rq, const char *person_id, const char *acr, const char *amr,
	int64_t auth_time, struct new_session *ns)
{
	const char *old = http_cookie(rq, OIDC_COOKIE_SESSION);

	memset(ns, 0, sizeof(*ns));
	ns->ns_value = sl_random_id(32);
	if (ns->ns_value == NULL || crypto_token_hash(ns->ns_value, ns->ns_hash) != SL_OK) {
		session_prepared_clear(ns);
		return SL_ECRYPTO;
	}
	/* A login replaces the session this browser had (no fixation); what
	 * was issued under the old one moves with the person, so a logout
	 * still ends it. */
	if (cookie_well_formed(old) && crypto_token_hash(old, ns->ns_oldhash) == SL_OK)
		ns->ns_old = ns->ns_oldhash;
	ns->ns_ses.s_id = ns->ns_hash;
	ns->ns_ses.s_person_id = (char *)person_id;
	ns->ns_ses.s_acr = (char *)acr;
	ns->ns_ses.s_amr = (char *)amr;
	ns->ns_ses.s_auth_time = auth_time;
	ns->ns_ses.s_expires = sl_now() + srv->sv_conf->c_session_lifetime;
	return SL_OK;
}

void
session_prepared_set_cookie(struct http_request *rq, const struct new_session *ns)
{
	cookie_set(rq, OIDC_COOKIE_SESSION, ns->ns_value, -1);
}

void
session_prepared_clear(struct new_session *ns)
{
	if (ns->ns_value != NULL)
		OPENSSL_cleanse(ns->ns_value, strlen(ns->ns_value));
	free(ns->ns_value);
	memset(ns, 0, sizeof(*ns));
}

void
session_clear_cookie(struct http_request *rq)
{
	cookie_set(rq, OIDC_COOKIE_SESSION, "", 0);
}

char *
browser_binding(struct server *srv, struct http_request *rq, bool create)
{
	const char *v = http_cookie(rq, OIDC_COOKIE_BROWSER), *known = http_memo(rq, v);
	char hash[2 * SL_SHA256_LEN + 1];
	char *fresh = NULL;

	(void)srv;
	/* A page load checks the pending request's binding and then makes
	 * its CSRF token: one hash of the cookie serves both. */
	if (known != NULL)
		return strdup(known);
	if (!cookie_well_formed(v)) {
		if (!create)
			return NULL;
		fresh = sl_random_id(32);
		if (fresh == NULL)
			return NULL;
		cookie_set(rq, OIDC_COOKIE_BROWSER, fresh, -1);
		v = fresh;
	}
	if (crypto_token_hash(v, hash) != SL_OK) {
		free(fresh);
		return NULL;
	}
	if (fresh == NULL)
		http_memo_set(rq, v, hash);
	free(fresh);
	return strdup(hash);
}

/* CSRF token = HMAC(csrf key, request id ‖ browser binding). */
static char *
token_for(struct server *srv, const char *req_id, const char *browser)
{
	uint8_t mac[SL_SHA256_LEN];
	char msg[512];

	snprintf(msg, sizeof(msg), "csrf|%s|%s", req_id, browser);
	if (crypto_hmac_mac(srv->sv_csrf_hmac, msg, strlen(msg), mac) != SL_OK)
		return NULL;
	return sl_b64url_encode(mac, sizeof(mac));
}

static char *
csrf_token(struct server *srv, struct http_request *rq, const char *req_id, bool create)
{
	char *browser = browser_binding(srv, rq, create), *tok;

	if (browser == NULL)
		return NULL;
	tok = token_for(srv, req_id, browser);
	free(browser);
	return tok;
}

bool
oidc_ticket_ok(struct server *srv, const struct store_authreq *ar, const char *ticket)
{
	char *want;
	bool ok;

	if (ar->ar_browser == NULL || ticket == NULL)
		return false;
	want = token_for(srv, ar->ar_id, ar->ar_browser);
	ok = want != NULL && sl_ct_streq(want, ticket);
	free(want);
	return ok;
}

char *
oidc_csrf_token(struct server *srv, struct http_request *rq, const char *req_id)
{
	/* The page that carries the token sets the binding cookie if needed. */
	return csrf_token(srv, rq, req_id, true);
}

bool
oidc_csrf_ok(struct server *srv, struct http_request *rq, const char *req_id, const char *token)
{
	char *want;
	bool ok;

	if (req_id == NULL || token == NULL)
		return false;
	want = csrf_token(srv, rq, req_id, false);
	ok = want != NULL && sl_ct_streq(want, token);
	free(want);
	return ok;
}

/* `keys` NULL: every parameter; otherwise only those (oidc_params_peek,
 * which reads sleuteld's own flat objects without json_loads). */
static int
pending_load(
	struct server *srv, struct http_request *rq, const char *id, const char *const *keys, struct oidc_pending *out)
{
	char *browser;
	bool mine;

	memset(out, 0, sizeof(*out));
	if (id == NULL || strlen(id) > 64)
		return SL_ENOTFOUND;
	if (store_authreq_get_client(srv->sv_store, id, &out->op_req, &out->op_client) != SL_OK)
		return SL_ENOTFOUND;
	browser = browser_binding(srv, rq, false);
	mine = browser != NULL && out->op_req.ar_browser != NULL && strcmp(out->op_req.ar_kind, "authorize") == 0 &&
	       sl_ct_streq(browser, out->op_req.ar_browser);
	free(browser);
	if (mine) {
		out->op_params = oidc_params_peek(out->op_req.ar_params, keys);
		if (out->op_params != NULL)
			return SL_OK;
	}
	oidc_pending_clear(out);
	return SL_ENOTFOUND;
}

int
oidc_pending_load(struct server *srv, struct http_request *rq, const char *id, struct oidc_pending *out)
{
	return pending_load(srv, rq, id, NULL, out);
}

int
oidc_pending_load_some(
	struct server *srv, struct http_request *rq, const char *id, const char *const *keys, struct oidc_pending *out)
{
	return pending_load(srv, rq, id, keys, out);
}

void
oidc_pending_clear(struct oidc_pending *p)
{
	store_authreq_clear(&p->op_req);
	json_decref(p->op_params);
	store_client_clear(&p->op_client);
	free(p->op_consent);
	memset(p, 0, sizeof(*p));
}
