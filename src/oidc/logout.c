/*
 * logout.c — RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
 * With a valid id_token_hint the session ends at once; without one the
 * person confirms on a page first, so a third-party page cannot log them
 * out.  post_logout_redirect_uri must be registered for the client the
 * hint (or client_id) names; otherwise the person sees a "logged out"
 * page and no redirect happens.
 */
#include <stdlib.h>

#include "oidc_int.h"
#include "../portal/portal.h"

/* The client named by a verified hint's aud, or by client_id. */
static int
logout_client(struct server *srv, json_t *hint_claims, const char *client_id, struct store_client *c)
{
	json_t *aud = json_object_get(hint_claims, "aud");
	const char *id = json_is_string(aud) ? json_string_value(aud) : json_string_value(json_array_get(aud, 0));

	if (id == NULL)
		id = client_id;
	if (id == NULL || (client_id != NULL && strcmp(id, client_id) != 0))
		return SL_ENOTFOUND;
	return store_client_get(srv->sv_store, id, c);
}

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

static void
end_session(struct server *srv, struct http_request *rq, const char *client_id)
{
	struct store_session ses;
	struct store_audit au = {
		.au_event = "logout", .au_result = "ok", .au_ip = http_client_ip(rq), .au_client_id = client_id
	};

	if (session_current(srv, rq, &ses) == SL_OK) {
		store_session_end(srv->sv_store, ses.s_id);
		au.au_person_id = ses.s_person_id;
		store_audit_add(srv->sv_store, &au);
		store_session_clear(&ses);
	}
	session_clear_cookie(rq);
}

void
oidc_end_session(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *hint = http_param(rq, "id_token_hint"), *client_id = http_param(rq, "client_id");
	const char *post = http_param(rq, "post_logout_redirect_uri"), *state = http_param(rq, "state");
	const char *confirm = http_form(rq, "confirm");
	struct store_client c;
	json_t *claims = NULL, *uris = NULL;
	bool have_client, redirect_ok = false;

	memset(&c, 0, sizeof(c));
	if (http_param_repeated(rq) != NULL) {
		oidc_error_page(srv, rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	if (hint != NULL && verify_hint(srv, hint, &claims) != SL_OK) {
		oidc_error_page(srv, rq, 400, "invalid_request", "the id_token_hint is not valid");
		return;
	}
	have_client = logout_client(srv, claims, client_id, &c) == SL_OK;
	if (post != NULL && have_client) {
		uris = json_loads(c.cl_post_logout_uris, 0, NULL);
		redirect_ok = json_array_has(uris, post);
	}
	if (post != NULL && !redirect_ok) {
		oidc_error_page(srv, rq, 400, "invalid_request", "post_logout_redirect_uri is not registered");
	} else if (hint == NULL && !(confirm != NULL && oidc_csrf_ok(srv, rq, "logout", http_form(rq, "csrf")))) {
		portal_logout_confirm(srv, rq, have_client ? c.cl_name : NULL);
	} else {
		end_session(srv, rq, have_client ? c.cl_id : NULL);
		if (redirect_ok) {
			const char *kv[2] = { "state", state };
			char *url = url_with_params(post, kv, state ? 1 : 0);
			http_send_redirect(rq, 303, url ? url : post);
			free(url);
		} else {
			portal_logged_out(srv, rq);
		}
	}
	json_decref(uris);
	json_decref(claims);
	store_client_clear(&c);
}
