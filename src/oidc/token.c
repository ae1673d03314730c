/*
 * token.c — the token endpoint: authorization_code (with PKCE),
 * refresh_token (rotated on every use) and CIBA's grant (ciba.c).  A code is redeemed once; a second
 * redemption revokes every token the first one produced (RFC 6749 §4.1.2),
 * and a rotated-out refresh token used again revokes its whole grant
 * (RFC 9700 §4.14).  A code presented by another client is refused
 * without touching it, so a stolen code cannot be used to revoke the
 * real client's grant.
 *
 * A refresh token is issued only when the granted scope has
 * offline_access (OIDC Core §11), for the code flow and CIBA alike.  It
 * never carries a payment's authorization_details: a payment is
 * confirmed once, for the access token issued with the code.
 *
 * DPoP (RFC 9449, dpop.c): a request with a proof gets tokens bound to
 * its key (token_type DPoP, the thumbprint kept as the tokens' jkt), for
 * any client; a FAPI 2.0 client must send one.  A code bound by dpop_jkt
 * (§10) is redeemed only with a proof of that key.  Refresh tokens are
 * bound like the access tokens, for every client (§5 requires it for
 * public clients only; sleutel does it for all, so a stolen refresh token
 * is worthless without the key): a refresh needs a proof of the same key.
 */
#include <stdlib.h>

#include "oidc_int.h"

static char *
id_token_for(struct server *srv, const struct store_client *c, const struct grant *g, const char *access_token)
{
	json_t *claims, *req = g->g_claims ? json_loads(g->g_claims, 0, NULL) : NULL;
	char *sub = oidc_subject(srv, c, g->g_person_id), *at_hash = crypto_half_hash(access_token), *jws = NULL;
	int64_t now = sl_now();

	if (sub != NULL && at_hash != NULL) {
		claims = g->g_person != NULL ? claims_of(g->g_person, "", req, "id_token")
					     : claims_for(srv, g->g_person_id, "", req, "id_token");
		json_object_set_new(claims, "iss", json_string(srv->sv_conf->c_issuer));
		json_object_set_new(claims, "sub", json_string(sub));
		json_object_set_new(claims, "aud", json_string(c->cl_id));
		json_object_set_new(claims, "azp", json_string(c->cl_id));
		json_object_set_new(claims, "iat", json_integer(now));
		json_object_set_new(claims, "exp", json_integer(now + srv->sv_conf->c_id_token_lifetime));
		json_object_set_new(claims, "auth_time", json_integer(g->g_auth_time));
		json_object_set_new(claims, "at_hash", json_string(at_hash));
		if (g->g_nonce != NULL)
			json_object_set_new(claims, "nonce", json_string(g->g_nonce));
		if (g->g_acr != NULL)
			json_object_set_new(claims, "acr", json_string(g->g_acr));
		if (g->g_amr != NULL)
			json_object_set_new(claims, "amr", json_loads(g->g_amr, 0, NULL));
		if (g->g_auth_req_id != NULL) /* CIBA Core §10.1.1 */
			json_object_set_new(
				claims, "urn:openid:params:jwt:claim:auth_req_id", json_string(g->g_auth_req_id));
		jws = id_token_sign(srv, c, claims);
		json_decref(claims);
	}
	json_decref(req);
	free(sub);
	free(at_hash);
	return jws;
}

static void
token_fill(struct store_token *t, const char *kind, const char *hash, const struct store_client *c,
	const struct grant *g, int64_t expires)
{
	memset(t, 0, sizeof(*t));
	t->t_hash = (char *)hash;
	t->t_kind = (char *)kind;
	t->t_grant_id = (char *)g->g_grant_id;
	t->t_client_id = c->cl_id;
	t->t_person_id = (char *)g->g_person_id;
	t->t_session_id = (char *)g->g_session_id;
	t->t_scope = (char *)g->g_scope;
	t->t_acr = (char *)g->g_acr;
	t->t_amr = (char *)g->g_amr;
	t->t_claims = (char *)g->g_claims;
	t->t_authz_details = (char *)g->g_authz_details;
	t->t_auth_time = g->g_auth_time;
	t->t_expires = expires;
	t->t_jkt = (char *)g->g_jkt;
}

/* The refresh token of a grant, made (not stored); *rt stays NULL when
 * the grant has no offline_access and this is no refresh. */
static int
refresh_make(struct server *srv, const struct store_client *c, const struct grant *g, const char *old_refresh,
	char **rt, char hash[2 * SL_SHA256_LEN + 1], struct store_token *t)
{
	*rt = NULL;
	if (old_refresh == NULL && !scope_has(g->g_scope, "offline_access"))
		return SL_OK;
	*rt = sl_random_id(32);
	if (*rt == NULL || crypto_token_hash(*rt, hash) != SL_OK)
		return SL_ECRYPTO;
	token_fill(t, "refresh", hash, c, g, sl_now() + srv->sv_conf->c_refresh_token_lifetime);
	t->t_authz_details = NULL; /* a payment is not confirmed again by a refresh */
	return SL_OK;
}

/* The answer for stored tokens `at` (and `rt`, NULL when none) of a
 * grant: with the ID token. */
static void
token_answer(struct server *srv, struct http_request *rq, const struct store_client *c, const struct grant *g,
	const char *at, const char *rt)
{
	char *idt = id_token_for(srv, c, g, at);
	json_t *o;

	if (idt == NULL) { /* the key holder did not sign (gone or busy): try again later */
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "tokens could not be issued");
		return;
	}
	/* The tokens are this server's own base64url (and the ID token its
	 * compact JWS or JWE): ASCII, so without jansson's UTF-8 check, which
	 * read the ID token's ~800 bytes once more (docs/performance.md, the
	 * eighth round). */
	o = json_object();
	json_object_set_new(o, "access_token", json_string_nocheck(at));
	/* RFC 9449 §5: a bound token is of type DPoP */
	json_object_set_new(o, "token_type", json_string_nocheck(g->g_jkt != NULL ? "DPoP" : "Bearer"));
	if (g->g_jkt != NULL)
		oidc_dpop_nonce_header(srv, rq);
	json_object_set_new(o, "expires_in", json_integer(srv->sv_conf->c_access_token_lifetime));
	if (rt != NULL)
		json_object_set_new(o, "refresh_token", json_string_nocheck(rt));
	json_object_set_new(o, "id_token", json_string_nocheck(idt));
	json_object_set_new(o, "scope", json_string(g->g_scope));
	if (g->g_authz_details != NULL) /* RFC 9396 §7: what was authorised */
		json_object_set_new(o, "authorization_details", json_loads(g->g_authz_details, 0, NULL));
	http_send_json(rq, 200, o);
	free(idt);
}

/* Store a token answer: the tokens, with the rotation of `old_refresh`
 * or (CIBA) the request's redemption and its audit row `au`. */
static int
token_store(struct server *srv, const struct grant *g, const char *old_refresh, const struct store_audit *au,
	const struct store_token *rt, const struct store_token *at)
{
	/* Both tokens and the rotation (or the redemption) in one
	 * transaction: a crash between two would leave the grant rotated to
	 * a refresh token nobody was sent, without the access token of that
	 * answer; or a CIBA request used up with no tokens (a login lost). */
	if (g->g_auth_req_id != NULL)
		return store_ciba_issue(srv->sv_store, g->g_auth_req_id, au, rt, at);
	return store_token_issue(srv->sv_store, old_refresh, rt, at);
}

void
token_respond(struct server *srv, struct http_request *rq, const struct store_client *c, const struct grant *g,
	const char *old_refresh, const struct store_audit *au)
{
	char *at = sl_random_id(32), *rt = NULL;
	char at_hash[2 * SL_SHA256_LEN + 1], rt_hash[2 * SL_SHA256_LEN + 1];
	const char *used =
		g->g_auth_req_id != NULL ? "the auth_req_id was already used" : "the refresh token was already used";
	struct store_token t, rtok;
	int rc = SL_ECRYPTO;

	if (at != NULL && crypto_token_hash(at, at_hash) == SL_OK)
		rc = refresh_make(srv, c, g, old_refresh, &rt, rt_hash, &rtok);
	if (rc == SL_OK) {
		token_fill(&t, "access", at_hash, c, g, sl_now() + srv->sv_conf->c_access_token_lifetime);
		rc = token_store(srv, g, old_refresh, au, rt != NULL ? &rtok : NULL, &t);
	}
	if (rc == SL_OK)
		token_answer(srv, rq, c, g, at, rt);
	else if (rc == SL_ECONFLICT)
		http_send_oauth_error(rq, 400, "invalid_grant", used);
	else if (rc == SL_ENOTFOUND) /* the CIBA request is gone (purged) */
		http_send_oauth_error(rq, 400, "invalid_grant", "unknown auth_req_id");
	else if (rc == SL_ESTORE || rc == SL_EBUSY) /* disk full, read-only, database down */
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "tokens could not be stored");
	else
		http_send_oauth_error(rq, 500, "server_error", "tokens could not be issued");
	free(at);
	free(rt);
}

/* A code grant's tokens: made once, stored with the code's use (one
 * transaction), answered after. */
struct code_grant {
	struct server *cg_srv;
	const struct store_client *cg_c;
	const char *cg_redirect_uri, *cg_verifier;
	const char *cg_jkt; /* the thumbprint of this request's DPoP proof, or NULL */
	const char *cg_why; /* the refusal */
	char *cg_at, *cg_rt; /* cg_rt made only for offline_access */
	char cg_at_hash[2 * SL_SHA256_LEN + 1], cg_rt_hash[2 * SL_SHA256_LEN + 1];
};

static void
code_grant_of(const struct store_code *co, struct grant *g)
{
	*g = (struct grant){ co->co_grant_id, co->co_person_id, co->co_session_id, co->co_scope, co->co_nonce,
		co->co_acr, co->co_amr, co->co_claims, co->co_authz_details, NULL, co->co_auth_time, NULL, NULL };
}

/* Is the code good for this request?  (store_code_exchange's cx_accept) */
static int
code_accept(const struct store_code *co, void *arg)
{
	struct code_grant *cg = arg;

	if (co->co_expires <= sl_now())
		cg->cg_why = "the code has expired";
	else if (cg->cg_redirect_uri == NULL || strcmp(cg->cg_redirect_uri, co->co_redirect_uri) != 0)
		cg->cg_why = "redirect_uri does not match the authorization request";
	else if (!crypto_pkce_s256_ok(cg->cg_verifier, co->co_challenge))
		cg->cg_why = "code_verifier does not match the code_challenge";
	else if (co->co_dpop_jkt != NULL && (cg->cg_jkt == NULL || strcmp(cg->cg_jkt, co->co_dpop_jkt) != 0))
		cg->cg_why = "the DPoP proof's key is not the one the code is bound to (dpop_jkt)";
	else
		return SL_OK;
	return SL_EINVAL;
}

/* The access token, and a refresh token for offline_access (never
 * carrying authorization_details: a payment is confirmed once). */
static int
code_tokens(const struct store_code *co, void *arg, struct store_token *t, int *n)
{
	struct code_grant *cg = arg;
	const struct sl_config *conf = cg->cg_srv->sv_conf;
	struct grant g;

	code_grant_of(co, &g);
	g.g_jkt = cg->cg_jkt;
	token_fill(&t[0], "access", cg->cg_at_hash, cg->cg_c, &g, sl_now() + conf->c_access_token_lifetime);
	*n = 1;
	if (!scope_has(g.g_scope, "offline_access"))
		return SL_OK;
	/* made on the first run that needs it, kept for a run again */
	if (cg->cg_rt == NULL &&
		((cg->cg_rt = sl_random_id(32)) == NULL || crypto_token_hash(cg->cg_rt, cg->cg_rt_hash) != SL_OK))
		return SL_ECRYPTO;
	token_fill(&t[1], "refresh", cg->cg_rt_hash, cg->cg_c, &g, sl_now() + conf->c_refresh_token_lifetime);
	t[1].t_authz_details = NULL;
	*n = 2;
	return SL_OK;
}

static void
grant_code(struct server *srv, struct http_request *rq, const struct store_client *c, const char *jkt)
{
	const char *code = http_form(rq, "code");
	char hash[2 * SL_SHA256_LEN + 1];
	struct store_code co;
	struct store_person person = { 0 };
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "token", .au_client_id = c->cl_id, .au_ip = server_audit_ip(srv, rq, ipbuf)
	};
	struct code_grant cg = { .cg_srv = srv,
		.cg_c = c,
		.cg_redirect_uri = http_form(rq, "redirect_uri"),
		.cg_verifier = http_form(rq, "code_verifier"),
		.cg_jkt = jkt };
	/* The person comes with the redemption: the ID token's claims need
	 * no read of their own (a read snapshot costs file locks). */
	const struct store_code_exchange cx = { code_accept, code_tokens, &cg, &person };
	struct grant g;
	int rc;

	if (code == NULL || strlen(code) > 128 || crypto_token_hash(code, hash) != SL_OK) {
		http_send_oauth_error(rq, 400, "invalid_request", "code is missing");
		return;
	}
	cg.cg_at = sl_random_id(32);
	if (cg.cg_at == NULL || crypto_token_hash(cg.cg_at, cg.cg_at_hash) != SL_OK) {
		free(cg.cg_at);
		http_send_oauth_error(rq, 500, "server_error", "tokens could not be issued");
		return;
	}
	rc = store_code_exchange(srv->sv_store, hash, c->cl_id, &cx, &co);
	if (rc == SL_EDENIED) {
		/* Nothing revoked, nothing used: a code another client got hold
		 * of must not let it cancel the real client's login. */
		au.au_result = "code of another client";
		store_audit_add(srv->sv_store, &au);
		http_send_oauth_error(rq, 400, "invalid_grant", "the code was issued to another client");
	} else if (rc == SL_ECONFLICT) {
		store_token_revoke_grant(srv->sv_store, co.co_grant_id);
		au.au_result = "code reused: grant revoked";
		au.au_person_id = co.co_person_id;
		store_audit_add(srv->sv_store, &au);
		http_send_oauth_error(rq, 400, "invalid_grant", "the code was already used");
	} else if (rc == SL_ENOTFOUND) {
		http_send_oauth_error(rq, 400, "invalid_grant", "unknown code");
	} else if (rc == SL_EINVAL) {
		http_send_oauth_error(rq, 400, "invalid_grant", cg.cg_why);
	} else if (rc == SL_ESTORE || rc == SL_EBUSY) { /* disk full, read-only, database down */
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "tokens could not be stored");
	} else if (rc != SL_OK) {
		http_send_oauth_error(rq, 500, "server_error", "tokens could not be issued");
	} else {
		code_grant_of(&co, &g);
		g.g_person = &person;
		g.g_jkt = jkt;
		token_answer(srv, rq, c, &g, cg.cg_at, cg.cg_rt);
	}
	store_code_clear(&co);
	store_person_clear(&person);
	free(cg.cg_at);
	free(cg.cg_rt);
}

static void
grant_refresh(struct server *srv, struct http_request *rq, const struct store_client *c, const char *jkt)
{
	const char *rt = http_form(rq, "refresh_token"), *scope = http_form(rq, "scope");
	char hash[2 * SL_SHA256_LEN + 1], *now_scope = NULL;
	struct store_token t;
	struct grant g;

	if (rt == NULL || strlen(rt) > 128 || crypto_token_hash(rt, hash) != SL_OK ||
		store_token_get(srv->sv_store, hash, &t) != SL_OK) {
		http_send_oauth_error(rq, 400, "invalid_grant", "unknown refresh token");
		return;
	}
	if (strcmp(t.t_kind, "refresh") != 0 || strcmp(t.t_client_id, c->cl_id) != 0)
		http_send_oauth_error(rq, 400, "invalid_grant", "the refresh token belongs to another client");
	else if (t.t_expires <= sl_now())
		http_send_oauth_error(rq, 400, "invalid_grant", "the refresh token has expired");
	else if (scope != NULL && strcmp(scope, t.t_scope) != 0)
		http_send_oauth_error(rq, 400, "invalid_scope", "a refresh cannot change the scope");
	else if (!scope_has(t.t_scope, "offline_access")) /* one issued before the offline_access rule */
		http_send_oauth_error(rq, 400, "invalid_grant", "the refresh token was not issued for offline_access");
	/* The grant as far as the client may still have it: an operator who
	 * took a scope away (client update --scopes) takes it out of every
	 * token this refresh issues, the next refresh token's too. */
	else if ((now_scope = scope_grant(t.t_scope, c->cl_scopes)) == NULL)
		http_send_oauth_error(rq, 500, "server_error", "out of memory");
	else if (!scope_has(now_scope, "offline_access"))
		http_send_oauth_error(rq, 400, "invalid_grant", "the client may no longer be granted offline_access");
	else if (t.t_jkt != NULL && jkt == NULL) /* RFC 9449 §5: bound refresh tokens need a proof */
		oidc_dpop_fail(srv, rq, false, "invalid_dpop_proof", "the refresh token is DPoP-bound: send a proof");
	else if (t.t_jkt != NULL && strcmp(t.t_jkt, jkt) != 0)
		http_send_oauth_error(rq, 400, "invalid_grant", "the refresh token is bound to another DPoP key");
	else {
		/* A revoked token is handled by the rotation: it revokes the
		 * grant.  No authorization_details: a payment is confirmed once. */
		g = (struct grant){ t.t_grant_id, t.t_person_id, t.t_session_id, now_scope, NULL, t.t_acr, t.t_amr,
			grant_claims_now(c, t.t_claims), NULL, NULL, t.t_auth_time, NULL, jkt };
		token_respond(srv, rq, c, &g, hash, NULL);
	}
	free(now_scope);
	store_token_clear(&t);
}

void
oidc_token(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_client c;
	const char *grant_type;
	char endpoint[512];
	struct oidc_dpop dp;

	if (!http_form_body_required(rq))
		return;
	if (http_param_repeated(rq) != NULL) {
		http_send_oauth_error(rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	snprintf(endpoint, sizeof(endpoint), "%s/token", srv->sv_conf->c_issuer);
	if (client_authenticate(srv, rq, endpoint, &c) != SL_OK)
		return;
	grant_type = http_form(rq, "grant_type");
	if (oidc_dpop_check(srv, rq, "/token", NULL, &dp) != SL_OK)
		; /* answered */
	else if (grant_type == NULL)
		http_send_oauth_error(rq, 400, "invalid_request", "grant_type is missing");
	else if (client_is_fapi2(&c) && !dp.od_present) /* every grant, CIBA too */
		oidc_dpop_fail(srv, rq, false, "invalid_dpop_proof",
			"a FAPI 2.0 client's tokens are DPoP-bound: a DPoP proof is required");
	else if (strcmp(grant_type, "authorization_code") == 0)
		grant_code(srv, rq, &c, dp.od_present ? dp.od_jkt : NULL);
	else if (strcmp(grant_type, "refresh_token") == 0)
		grant_refresh(srv, rq, &c, dp.od_present ? dp.od_jkt : NULL);
	else if (strcmp(grant_type, OIDC_CIBA_GRANT) == 0)
		ciba_grant(srv, rq, &c, dp.od_present ? dp.od_jkt : NULL);
	else
		http_send_oauth_error(rq, 400, "unsupported_grant_type", NULL);
	store_client_clear(&c);
}
