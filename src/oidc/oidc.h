/*
 * oidc — the OpenID Connect provider: discovery, JWKS, authorization (with
 * PAR), token, userinfo and RP-initiated logout; and what the portal's
 * keys call when a person has logged in.
 *
 * An authorization request is validated, stored as a pending request with
 * a random id, and bound to the browser by a cookie; the portal shows the
 * key choice for it.  When a key has identified the person it calls
 * oidc_login_complete(), which records the outcome, and the browser then
 * comes to oidc_login_finish() (directly, or after a wait page), which
 * asks the person's consent when the request wants data not agreed to
 * before (consent.c), starts the SSO session and sends the browser back
 * to the RP with a code.
 */
#ifndef SL_OIDC_H
#define SL_OIDC_H

#include "../http/http.h"
#include "../server/server.h"
#include "../store/store.h"

#define OIDC_ACR_HIGH "http://eidas.europa.eu/LoA/high"
#define OIDC_ACR_LOW "http://eidas.europa.eu/LoA/low"
#define OIDC_COOKIE_SESSION "__Host-sl_session"
#define OIDC_COOKIE_BROWSER "__Host-sl_browser"
#define OIDC_COOKIE_LANG "__Host-sl_lang"
#define OIDC_PAR_URN "urn:ietf:params:oauth:request_uri:"
#define OIDC_KEY_APP "app" /* the key name of the sleutel app (APP_KEY_NAME) */
#define OIDC_CIBA_GRANT "urn:openid:params:grant-type:ciba"

/* Route handlers (ctx is the struct server). */
void oidc_discovery(void *ctx, struct http_request *rq);
void oidc_jwks(void *ctx, struct http_request *rq);
void oidc_authorize(void *ctx, struct http_request *rq);
void oidc_par(void *ctx, struct http_request *rq);
void oidc_token(void *ctx, struct http_request *rq);
void oidc_userinfo(void *ctx, struct http_request *rq);
void oidc_end_session(void *ctx, struct http_request *rq);

/* A pending request as the portal sees it. */
struct oidc_pending {
	struct store_authreq op_req;
	json_t *op_params; /* the validated authorization parameters */
	struct store_client op_client;
	/* Set by oidc_login_complete_pending: what the person agreed to share
	 * with the client, read with the completion (op_consent NULL:
	 * nothing), so the finish asks the store no second time. */
	bool op_consent_known;
	char *op_consent;
};

/* Load pending request `id` if this browser owns it; SL_ENOTFOUND when it
 * is unknown, expired or started in another browser. */
int oidc_pending_load(struct server *srv, struct http_request *rq, const char *id, struct oidc_pending *out);
/* As oidc_pending_load, for a page that reads only the parameters `keys`
 * (NULL-terminated): op_params holds just those of them that are set, so
 * the rest is not parsed (params_peek.c). */
int oidc_pending_load_some(
	struct server *srv, struct http_request *rq, const char *id, const char *const *keys, struct oidc_pending *out);
/* The members `keys` (NULL-terminated; NULL: every member) of the
 * parameters stored as `json`, as a new object (json_decref it), equal to
 * what json_loads gives; NULL when `json` is not an object. */
json_t *oidc_params_peek(const char *json, const char *const *keys);
void oidc_pending_clear(struct oidc_pending *p);
/* The anti-CSRF token of a pending request (or "logout") for this browser
 * (b64url, malloc'd; sets the browser cookie when missing) and its check
 * (constant time). */
char *oidc_csrf_token(struct server *srv, struct http_request *rq, const char *req_id);
bool oidc_csrf_ok(struct server *srv, struct http_request *rq, const char *req_id, const char *token);
/* The same token checked against the request's stored browser binding,
 * for another origin (the eID origin) that cannot read the cookie. */
bool oidc_ticket_ok(struct server *srv, const struct store_authreq *ar, const char *ticket);

/* Start a login from inside sleutel (the built-in clients' pages): the
 * authorization parameters `in` (strings, as /authorize takes them) are
 * validated as /authorize does, and kept as a pending request of this
 * browser; its id (malloc'd) in *req_id, for the key pages (/key/eid?req=).
 * SL_EINVAL for parameters /authorize would refuse. */
int oidc_pending_start(struct server *srv, struct http_request *rq, json_t *in, char **req_id);
/* A client of sleutel's own pages (the account page, the Smart-ID
 * registration portal) with one redirect URI and a secret nobody keeps:
 * made at first use, or again when its redirect URI changed (issuer). */
int oidc_builtin_client(struct server *srv, const char *id, const char *name, const char *redirect);
/* The built-in client of the Smart-ID registration portal's eID login.
 * Its logins are always fresh: an SSO session never answers it, whatever
 * prompt says, so a code of it always means a card was just presented
 * (a session left in a shared browser must not make a Smart-ID). */
#define OIDC_CLIENT_SMARTID_REG "sleutel-smartid"
bool oidc_client_fresh_only(const char *client_id);

/* A key identified a person for pending request `req_id`: record it. The
 * person record is created or updated.  Notifies the waiting browser. */
int oidc_login_complete(struct server *srv, const char *req_id, struct store_person *person, const char *key,
	const char *acr, const char *amr_json, struct sl_err *err);
/* The same for a request this browser loaded (a key that finishes in the
 * same request): on success p->op_req holds what was recorded (status
 * "done", the person, key, acr, amr, auth time), so oidc_login_finish(p)
 * can follow without loading the request again. */
int oidc_login_complete_pending(struct server *srv, struct oidc_pending *p, struct store_person *person,
	const char *key, const char *acr, const char *amr_json, struct sl_err *err);
/* oidc_login_complete_pending and oidc_login_finish at once, for a key
 * that finishes in the browser's request: the completion and the answer
 * (session, code, audit row) in one durable commit.  SL_OK: an answer was
 * sent (to the RP with a code, to the consent page, or an error to the
 * RP); otherwise nothing was sent and *err says why, as
 * oidc_login_complete_pending. */
int oidc_login_complete_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p,
	struct store_person *person, const char *key, const char *acr, const char *amr_json, struct sl_err *err);
/* The eID return's redemption (src/keys/eid/handoff.c): the one-time
 * result behind or_hash, turned into the person by or_person_of. */
struct oidc_redeem {
	const char *or_hash;
	int (*or_person_of)(const char *result, struct store_person *p);
};
/* oidc_login_complete_finish with the person taken from request p's
 * one-time result `rd`, redeemed in the same durable commit.  Otherwise
 * nothing was sent: with *committed false nothing changed either (the
 * result is not spent), with *committed true the login was recorded and
 * could not be answered (out of memory). */
int oidc_login_redeem_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p,
	const struct oidc_redeem *rd, const char *key, const char *acr, const char *amr_json, bool *committed,
	struct sl_err *err);
/* The person refused or a key failed for good: record the denial. */
int oidc_login_deny(struct server *srv, const char *req_id);
/* The browser comes back for a completed request: start the SSO session
 * and redirect to the RP with a code (or with access_denied). */
void oidc_login_finish(struct server *srv, struct http_request *rq, struct oidc_pending *p);
/* The same for a wait page's long-poll, when the request is no longer
 * pending: with the login done and no consent to ask, the code is issued
 * (session cookie, audit row, code in one durable commit, as
 * oidc_login_finish) and the answer is 200 {"status": "done", "location":
 * the RP's redirect URI with the code}; otherwise 200 {"status": the
 * request's status} and nothing changes: the page goes to its next
 * address, which answers as oidc_login_finish. */
void oidc_login_finish_poll(struct server *srv, struct http_request *rq, struct oidc_pending *p);
/* Consent (consent.c).  oidc_login_finish() sends the browser to
 * /login/consent?req=ID when the person must first agree to share data;
 * the portal shows oidc_consent_new() (the data scopes not agreed to
 * before, space-separated; malloc'd, NULL when out of memory) and, on the
 * person's answer, calls give (store the consent, issue the code) or
 * refuse (access_denied to the RP).  p is a completed ("done") request. */
char *oidc_consent_new(struct server *srv, const struct oidc_pending *p);
void oidc_consent_give(struct server *srv, struct http_request *rq, struct oidc_pending *p);
void oidc_consent_refuse(struct server *srv, struct http_request *rq, struct oidc_pending *p);
/* Send the browser back to the RP with an OAuth error. */
void oidc_redirect_error(struct server *srv, struct http_request *rq, const char *redirect_uri, const char *state,
	const char *error, const char *desc);
/* The waiter key for a pending request. */
void oidc_wait_key(const char *req_id, char *out, size_t len);

/* ---- RFC 9396 authorization_details (authz_details.c): payments ---- */
#define OIDC_AUTHZ_DETAILS_MAX 2048 /* bytes of the JSON array */
#define OIDC_AMOUNT_MAX_CENTS 100000000LL /* 1 000 000.00 in any currency */
#define OIDC_CREDITOR_MAX 140 /* characters of a creditor name */
#define OIDC_IBAN_MIN 15
#define OIDC_IBAN_MAX 34

/* The one payment an authorization_details array may hold. */
struct oidc_payment {
	int64_t pm_cents; /* the amount in hundredths, > 0 */
	char pm_currency[4]; /* ISO 4217, three capitals */
	char pm_creditor[OIDC_CREDITOR_MAX * 4 + 1]; /* UTF-8 */
	char pm_iban[OIDC_IBAN_MAX + 1]; /* capitals and digits, mod-97 valid */
};

/* Validate an authorization_details value strictly: a JSON array of
 * exactly one {"type":"payment", "instructedAmount":{"amount","currency"},
 * "creditorName", "creditorAccount":{"iban"}}, nothing else; amount a
 * decimal string > 0 with at most two decimals and at most
 * OIDC_AMOUNT_MAX_CENTS; IBAN with a valid mod-97 check.  SL_EINVAL with a
 * message naming the fault. `out` may be NULL. */
int oidc_authz_details_parse(const char *json, struct oidc_payment *out, struct sl_err *err);
/* ISO 13616 IBAN: capitals and digits, 15..34 long, mod 97 = 1. */
bool oidc_iban_ok(const char *iban);
/* 1..max_chars code points of UTF-8, no control, bidi or invisible
 * formatting characters, no space at either end. */
bool oidc_text_readable(const char *s, size_t max_chars);

/* ---- CIBA (ciba.c): OpenID CIBA Core 1.0, poll and ping ---- */
extern const struct http_route oidc_ciba_routes[];
extern const size_t oidc_ciba_nroutes;
/* The app request made for CIBA request `auth_req_id` has an outcome
 * (approved or not): record it and, in ping mode, notify the client. */
void oidc_ciba_finished(struct server *srv, const char *auth_req_id);

/* Used by the portal's error page for unrecoverable errors. */
void oidc_error_page(struct server *srv, struct http_request *rq, int status, const char *title, const char *detail);

#endif
