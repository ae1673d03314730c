/*
 * logout.c — RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 *
 * The session ends at once only when the id_token_hint is an ID token we
 * signed (its expiry may have passed: the spec allows an old one) whose
 * sub is this session's person for the hint's client.  Otherwise (no
 * hint, another person's, or one we did not sign) the person confirms on
 * a page first, with a CSRF token bound to this browser, so a third-party
 * page cannot log them out.  A hint that is not a JWS at all is a bad
 * request (400).  Without a session there is nothing to end: the browser
 * goes straight on.
 *
 * post_logout_redirect_uri must be registered for the client the hint's
 * aud (or client_id) names; otherwise the person sees a "logged out" page
 * and no redirect happens.  Ending the session also revokes the tokens
 * issued under it and drops its unredeemed codes.
 */
#include <stdlib.h>

#include "oidc_int.h"
#include "../portal/portal.h"

/* The client a verified hint was issued to (its aud), or NULL. */
static const char *
hint_aud(json_t *hint_claims)
{
	json_t *aud = json_object_get(hint_claims, "aud");

	return json_is_string(aud) ? json_string_value(aud) : json_string_value(json_array_get(aud, 0));
}

/* The client named by a verified hint's aud, or by client_id. */
static int
logout_client(struct server *srv, json_t *hint_claims, const char *client_id, struct store_client *c)
{
	const char *id = hint_aud(hint_claims);

	if (id == NULL)
		id = client_id;
	if (id == NULL || (client_id != NULL && strcmp(id, client_id) != 0))
		return SL_ENOTFOUND;
	return store_client_get(srv->sv_store, id, c);
}

/* SL_OK: an ID token we signed (*claims set); SL_EDENIED: well formed but
 * not ours (another key, another issuer); any other code: malformed. */
static int
verify_hint(struct server *srv, const char *hint, json_t **claims)
{
	struct jose_key *keys[OIDC_MAX_VERIFIERS];
	struct sl_err err;
	size_t n;
	int rc;

	keyring_lock(srv);
	n = keyring_verifiers(srv, keys, OIDC_MAX_VERIFIERS);
	rc = jose_verify(hint, keys, n, claims, &err);
	keyring_unlock(srv);
	if (rc == SL_OK && !sl_ct_streq(json_string_value(json_object_get(*claims, "iss")), srv->sv_conf->c_issuer)) {
		json_decref(*claims);
		*claims = NULL;
		rc = SL_EDENIED;
	}
	return rc;
}

/* Does the verified hint name this session's person?  Its sub is pairwise
 * for the client it was issued to (`c`, loaded from its aud). */
static bool
hint_names_session(struct server *srv, json_t *claims, const struct store_client *c, const struct store_session *ses)
{
	const char *aud = hint_aud(claims);
	char *sub = aud != NULL && strcmp(aud, c->cl_id) == 0 ? oidc_subject(srv, c, ses->s_person_id) : NULL;
	bool same = sub != NULL && sl_ct_streq(json_string_value(json_object_get(claims, "sub")), sub);

	free(sub);
	return same;
}

/* After the logout (or with no session to end): back to the RP when its
 * URI was registered, else the "logged out" page. */
static void
logout_done(struct server *srv, struct http_request *rq, const char *post, const char *state)
{
	const char *kv[2] = { "state", state };
	char *url;

	session_clear_cookie(rq);
	if (post == NULL) {
		portal_logged_out(srv, rq);
		return;
	}
	url = url_with_params(post, kv, state ? 1 : 0);
	http_send_redirect(rq, 303, url ? url : post);
	free(url);
}

/* End the session with its tokens, then go on as logout_done(). */
static void
end_session(struct server *srv, struct http_request *rq, const struct store_session *ses, const char *client_id,
	const char *post)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "logout",
		.au_result = "ok",
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_client_id = client_id,
		.au_person_id = ses->s_person_id };

	if (store_session_logout(srv->sv_store, ses->s_id) != SL_OK) {
		/* Not "logged out" while the session may live on. */
		portal_error(srv, rq, 500, portal_lang(srv, rq, http_param(rq, "ui_locales")),
			N_("Something went wrong"), N_("Please try again in a moment."));
		return;
	}
	store_audit_add(srv->sv_store, &au);
	logout_done(srv, rq, post, http_param(rq, "state"));
}

/* With a session: end it when the hint or the confirmation allows. */
static void
logout_session(struct server *srv, struct http_request *rq, const struct store_session *ses, json_t *claims,
	const struct store_client *c, const char *post)
{
	if (claims != NULL && c != NULL && hint_names_session(srv, claims, c, ses))
		end_session(srv, rq, ses, c->cl_id, post);
	else if (http_method(rq) != HTTP_POST || http_form(rq, "confirm") == NULL)
		portal_logout_confirm(srv, rq, c ? c->cl_name : NULL, c ? c->cl_id : NULL);
	else if (!oidc_csrf_ok(srv, rq, "logout", http_form(rq, "csrf")))
		portal_error(srv, rq, 403, portal_lang(srv, rq, http_param(rq, "ui_locales")),
			N_("This form has expired"), N_("Go back to the site you came from and try again."));
	else
		end_session(srv, rq, ses, c ? c->cl_id : NULL, post);
}

void
oidc_end_session(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *hint = http_param(rq, "id_token_hint"), *client_id = http_param(rq, "client_id");
	const char *post = http_param(rq, "post_logout_redirect_uri");
	struct store_client c;
	struct store_session ses;
	json_t *claims = NULL, *uris = NULL;
	bool have_client, redirect_ok = false;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&ses, 0, sizeof(ses));
	if (http_param_repeated(rq) != NULL) {
		oidc_error_page(srv, rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	/* A hint we did not sign is not used at all: as if there were none. */
	rc = hint != NULL ? verify_hint(srv, hint, &claims) : SL_OK;
	if (rc != SL_OK && rc != SL_EDENIED) {
		oidc_error_page(srv, rq, 400, "invalid_request", "the id_token_hint is not a JWS");
		return;
	}
	have_client = logout_client(srv, claims, client_id, &c) == SL_OK;
	if (post != NULL && have_client) {
		uris = json_loads(c.cl_post_logout_uris, 0, NULL);
		redirect_ok = json_array_has(uris, post);
	}
	if (post != NULL && !redirect_ok)
		oidc_error_page(srv, rq, 400, "invalid_request", "post_logout_redirect_uri is not registered");
	else if (session_current(srv, rq, &ses) != SL_OK)
		logout_done(srv, rq, post, http_param(rq, "state"));
	else
		logout_session(srv, rq, &ses, claims, have_client ? &c : NULL, post);
	store_session_clear(&ses);
	json_decref(uris);
	json_decref(claims);
	store_client_clear(&c);
}
