/* oidc_int.h — shared between the oidc module's files; not public. */
#ifndef SL_OIDC_INT_H
#define SL_OIDC_INT_H

#include <string.h>

#include "oidc.h"
#include "scopes.h"

#define OIDC_MAX_PARAM 2048 /* bytes of one authorization parameter */
#define OIDC_MAX_VERIFIERS 16

/* The outcome of validating an authorization request. */
struct authz_error {
	int ae_status; /* HTTP status for a page or JSON answer */
	const char *ae_error; /* OAuth error code */
	const char *ae_desc;
	bool ae_redirect; /* client and redirect_uri were valid */
	const char *ae_redirect_uri;
	const char *ae_state;
};

/* params.c */
/* The scopes this provider gives (discovery lists the same). */
extern const char *const oidc_scopes[];
/* The request's parameters as a JSON object of strings; NULL with *repeated
 * set when a parameter was given twice. */
json_t *params_collect(struct http_request *rq, const char **repeated);
/* Validate `in` for `client` (loaded by the caller); on success *out is a
 * new object of the parameters kept.  `via_par` says whether they came
 * from a pushed request. */
int params_validate(struct server *srv, json_t *in, const struct store_client *client, bool via_par, json_t **out,
	struct authz_error *ae);
/* Load the client named by client_id and check redirect_uri. */
int params_client(struct server *srv, json_t *in, struct store_client *client, struct authz_error *ae);
const char *params_str(json_t *params, const char *name);
/* The scopes of `asked` this provider gives and `allowed` (a client's
 * list) names, in the order of oidc_scopes, space-separated. malloc'd;
 * NULL only when out of memory. */
char *scope_grant(const char *asked, const char *allowed);
/* A stored grant's claims request (JSON text), as far as client `c` may
 * still have it: the claims parameter names profile claims only, so none
 * once an operator took profile away (as params_validate drops it). */
const char *grant_claims_now(const struct store_client *c, const char *claims);
bool scope_has(const char *scope, const char *word);
bool json_array_has(json_t *arr, const char *s);

/* request_object.c: signed request objects (RFC 9101) */
/* The key params_validate finds in a request made of a verified request
 * object's claims (true; never a string, as a parameter would be). */
#define OIDC_RO_MARK "request"
/* When `in` has a `request` parameter, verify it as a request object of
 * `client` and replace every parameter of `in` by its claims (marked with
 * OIDC_RO_MARK).  SL_OK (also when there is none), or SL_EINVAL with the
 * error in *ae (not a redirect: the caller decides) and `in` unchanged. */
int request_object_take(struct server *srv, json_t *in, const struct store_client *client, struct authz_error *ae);
/* Discovery's request object members. */
void request_object_metadata(json_t *o);

/* id_token_jwe.c: encrypted ID tokens */
/* The signed ID token `jws` (taken: wiped and freed) encrypted for the
 * client when it registered an encryption alg, else `jws` itself; NULL
 * when it cannot be encrypted (logged).  malloc'd. */
char *id_token_encrypt(const struct store_client *client, char *jws);
/* Discovery's ID token encryption members. */
void id_token_jwe_metadata(json_t *o);

/* client_auth.c */
/* Authenticate the client at the token or PAR endpoint.  On failure the
 * error is already sent (401 invalid_client) and SL_EDENIED returned. */
int client_authenticate(
	struct server *srv, struct http_request *rq, const char *endpoint_url, struct store_client *out);

/* dpop.c: DPoP (RFC 9449) at /par, /token and /userinfo, and the FAPI
 * 2.0 client profile. */
#define OIDC_PROFILE_FAPI2 "fapi2"
#define OIDC_FAPI2_CODE_LIFETIME 60 /* FAPI 2.0 §5.3.2.1: codes live at most 60 s */
#define OIDC_DPOP_ALGS "ES256", "PS256"
#define OIDC_DPOP_ALGS_SP "ES256 PS256"
bool client_is_fapi2(const struct store_client *c);
/* The algs a proof may use, NULL-ended (discovery lists them). */
const char *const *oidc_dpop_algs(void);
struct oidc_dpop {
	bool od_present; /* the request had a DPoP header */
	char od_jkt[DPOP_JKT_LEN + 1]; /* its key's thumbprint, when it checked */
};
/* Check this request's DPoP proof for `path` (htu = issuer + path), with
 * ath for `access_token` at a resource (NULL at the authorization
 * server): signature, claims, nonce, jti replay.  SL_OK with od_present
 * false when there is none.  On failure the answer is sent (400, or 401
 * with WWW-Authenticate: DPoP at a resource; use_dpop_nonce with a fresh
 * DPoP-Nonce) and SL_EDENIED returned. */
int oidc_dpop_check(
	struct server *srv, struct http_request *rq, const char *path, const char *access_token, struct oidc_dpop *out);
/* Send a DPoP error as oidc_dpop_check does; returns SL_EDENIED. */
int oidc_dpop_fail(struct server *srv, struct http_request *rq, bool resource, const char *error, const char *desc);
/* Add the current DPoP-Nonce header to the answer. */
void oidc_dpop_nonce_header(struct server *srv, struct http_request *rq);
/* A dpop_jkt value: 43 base64url characters. */
bool oidc_jkt_valid(const char *jkt);

/* session.c */
/* The current SSO session of this browser, if any. */
int session_current(struct server *srv, struct http_request *rq, struct store_session *out);
/* A new SSO session for a login, made but not stored yet: ns_ses goes to
 * the store (store_login_issue) in place of ns_old (the browser's current
 * session, NULL when none); once it is stored, the cookie takes ns_value. */
struct new_session {
	struct store_session ns_ses; /* borrows the person, acr, amr given */
	const char *ns_old;
	char ns_hash[2 * SL_SHA256_LEN + 1], ns_oldhash[2 * SL_SHA256_LEN + 1];
	char *ns_value;
};
int session_prepare(struct server *srv, struct http_request *rq, const char *person_id, const char *acr,
	const char *amr, int64_t auth_time, struct new_session *ns);
void session_prepared_set_cookie(struct http_request *rq, const struct new_session *ns);
void session_prepared_clear(struct new_session *ns); /* the cookie value wiped */
void session_clear_cookie(struct http_request *rq);
/* This browser's binding id (hex SHA-256 of the cookie), setting the
 * cookie when missing; NULL on failure. malloc'd. */
char *browser_binding(struct server *srv, struct http_request *rq, bool create);
void cookie_set(struct http_request *rq, const char *name, const char *value, int64_t max_age);

/* consent.c */
/* The data a request asks to share (its scopes beyond openid, and profile
 * when its claims parameter names a profile claim), space-separated in
 * the order of oidc_scopes; "" when none. malloc'd; NULL when out of
 * memory. */
char *consent_asked(json_t *params);
/* Does every scope of `want` appear in `have`? */
bool scope_covers(const char *have, const char *want);
/* Must the person be asked before a code goes back for these params?
 * (Data asked that the stored consent does not cover, or prompt=consent
 * with data asked.)  SL_OK with *ask set, or an SL_E* store error. */
/* `known`, when not NULL, is what the person agreed to already
 * (*known NULL: nothing), read by the caller: the store is not asked. */
int consent_needed(struct server *srv, const char *person_id, const char *client_id, json_t *params,
	const char *const *known, bool *ask);
/* Send the browser to the consent page of pending request `req_id`. */
void consent_ask(struct server *srv, struct http_request *rq, const char *req_id);

/* token.c */
/* What tokens are issued for. */
struct grant {
	const char *g_grant_id;
	const char *g_person_id;
	const char *g_session_id; /* NULL for CIBA */
	const char *g_scope;
	const char *g_nonce;
	const char *g_acr;
	const char *g_amr;
	const char *g_claims;
	const char *g_authz_details; /* RFC 9396 JSON array, or NULL */
	const char *g_auth_req_id; /* CIBA, or NULL */
	int64_t g_auth_time;
	/* The person when read already (with the code's redemption), else
	 * NULL: the ID token's claims read it. */
	const struct store_person *g_person;
	/* RFC 9449: the DPoP key thumbprint the tokens are bound to (cnf.jkt),
	 * or NULL for bearer tokens. */
	const char *g_jkt;
};
/* Issue access + ID token for a grant and answer, with a refresh token
 * when the scope has offline_access (never carrying authorization_details).
 * For a refresh, `old_refresh` is rotated out in the same transaction; for
 * CIBA (g_auth_req_id set), the request is redeemed and its audit row `au`
 * written in it. */
void token_respond(struct server *srv, struct http_request *rq, const struct store_client *c, const struct grant *g,
	const char *old_refresh, const struct store_audit *au);

/* ciba.c: the token endpoint's CIBA grant. */
/* jkt: the thumbprint of the request's DPoP proof (the tokens are bound to
 * it), or NULL for bearer tokens. */
void ciba_grant(struct server *srv, struct http_request *rq, const struct store_client *c, const char *jkt);

/* issue.c */
/* The pairwise subject of a person for a client's sector. malloc'd. */
char *oidc_subject(struct server *srv, const struct store_client *client, const char *person_id);
/* The end of a completed login the person agreed to: delete the pending
 * request, start the SSO session (or keep the one an SSO answer came
 * from, key "sso"), audit, and redirect to the RP with a code. */
void login_issue(struct server *srv, struct http_request *rq, struct oidc_pending *p);
/* A code for a login, made but not stored yet: nc_co goes to the store,
 * then code_redirect sends the browser to the RP with nc_code.  nc_co
 * borrows the client, params and strings given. */
struct new_code {
	struct store_code nc_co;
	char nc_hash[2 * SL_SHA256_LEN + 1];
	char *nc_code, *nc_grant;
};
int code_prepare(struct server *srv, const struct store_client *client, json_t *params, const char *person_id,
	const char *session_id, const char *acr, const char *amr, int64_t auth_time, struct new_code *nc);
/* Redirect to the RP with the stored code (server_error if that fails). */
void code_redirect(struct server *srv, struct http_request *rq, json_t *params, const struct new_code *nc);
void code_prepared_clear(struct new_code *nc);
/* Issue a code for a login and redirect the browser to the RP. */
void issue_code_redirect(struct server *srv, struct http_request *rq, const struct store_client *client, json_t *params,
	const char *person_id, const char *session_id, const char *acr, const char *amr, int64_t auth_time);
/* Claims for a person under a scope (and the claims request part). */
json_t *claims_for(struct server *srv, const char *person_id, const char *scope, json_t *claims_req, const char *part);
/* The same for a person read already (p_id NULL: gone, no claims). */
json_t *claims_of(const struct store_person *p, const char *scope, json_t *claims_req, const char *part);
/* Sign an ID token for a client with its configured algorithm. malloc'd. */
char *id_token_sign(struct server *srv, const struct store_client *client, json_t *claims);
/* A URL with query parameters appended. malloc'd. */
char *url_with_params(const char *base, const char *const *kv, size_t n);

#endif
