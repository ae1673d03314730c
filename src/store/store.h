/*
 * store — everything sleuteld keeps, behind one interface.  Callers see
 * typed records and operations, never SQL; an engine (sqlite.c: embedded,
 * one node; pg.c: PostgreSQL, several nodes) implements `struct engine`
 * (store_int.h).  Every operation that changes state is one transaction;
 * under PostgreSQL it is serializable and run again when the server finds
 * it in conflict with another (a few times, then SL_EBUSY: try later).
 *
 * Durability: persons, clients, signing keys and the audit trail are
 * committed durably: the call returns once the commit is synced (SQLite:
 * an fdatasync of the WAL shared by concurrent commits).  Short-lived login
 * state (authorization requests, PAR, codes, tokens, sessions, seen jtis)
 * is committed without waiting for a sync: a power cut may lose the last few
 * of those, which costs a person one more login and nothing else.
 *
 * The *_each() functions hold a connection while they call `fn`: fn must
 * not call the store (collect what you need, then query).
 *
 * Strings in records are malloc'd and owned by the record; *_free() the
 * record (or call store_*_clear on a stack record).  Ids are random
 * 128-bit base64url strings made by the caller.
 */
#ifndef SL_STORE_H
#define SL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/core.h"

/* 3: the app key's tables; 4: the eID result; 5: tokens and codes by
 * session; 6: client scopes, consents; 7: login context; 8: Smart-ID
 * accounts, devices, keys, registrations, visits, requests; 10: the
 * Smart-ID RP API; 11: rate-limit windows shared by every node; 12: small
 * short-lived tables WITHOUT ROWID (SQLite), no expiry index on codes;
 * 15: a client's listing on the public site (partner_url); 16: notices to
 * a person about their devices */
#define STORE_SCHEMA_VERSION 20
/* The scopes of a client registered without a list (and of clients that
 * existed before schema 6). */
#define STORE_CLIENT_SCOPES_DEFAULT "openid profile"

struct store;

struct store_person {
	char *p_id;
	char *p_rrn; /* national register number, 11 digits; may be NULL */
	char *p_given_name;
	char *p_family_name;
	char *p_birthdate; /* YYYY-MM-DD or NULL */
	int64_t p_created;
};

struct store_client {
	char *cl_id;
	char *cl_name;
	char *cl_secret_hash; /* hex SHA-256 of the secret; NULL for private_key_jwt */
	char *cl_auth_method; /* client_secret_basic | client_secret_post | private_key_jwt */
	char *cl_redirect_uris; /* JSON array */
	char *cl_post_logout_uris; /* JSON array */
	char *cl_jwks; /* JSON {"keys":[...]}: private_key_jwt, request objects, ID token encryption; or NULL */
	char *cl_id_token_alg; /* ES256 | RS256 | PS256 */
	char *cl_sector; /* pairwise sector identifier */
	bool cl_require_par;
	char *cl_ciba_mode; /* CIBA token delivery: "poll", "ping", or NULL (no CIBA) */
	char *cl_ciba_endpoint; /* ping: backchannel_client_notification_endpoint */
	char *cl_scopes; /* the scopes it may be granted, space-separated; NULL on add: the default */
	bool cl_require_signed_ro; /* authorization requests only as signed request objects (RFC 9101) */
	char *cl_id_token_enc_alg; /* JWE alg ID tokens are encrypted with (RSA-OAEP, ECDH-ES), or NULL */
	char *cl_id_token_enc_enc; /* JWE enc with it (A128CBC-HS256, A256GCM); NULL without */
	int64_t cl_created;
	char *cl_profile; /* "default" or "fapi2" (FAPI 2.0 Security Profile); NULL on add: "default" */
};

struct store_key {
	char *k_kid;
	char *k_alg;
	int64_t k_created;
	int64_t k_use_after; /* published from creation, used for signing from here */
	int64_t k_retire_after; /* 0 = current; else dropped from JWKS after this time */
};

/* A pending authorization request (also PAR entries: kind "par"). */
struct store_authreq {
	char *ar_id;
	char *ar_kind; /* "authorize" or "par" */
	char *ar_client_id;
	char *ar_params; /* JSON object of the validated parameters */
	char *ar_browser; /* hex SHA-256 of the browser-binding cookie */
	int64_t ar_expires;
	/* Filled when a key finishes the login (store_authreq_complete). */
	char *ar_status; /* "pending", "done" or "denied" */
	char *ar_person_id;
	char *ar_key;
	char *ar_acr;
	char *ar_amr;
	int64_t ar_auth_time;
	/* JSON {"browser","os","network"} of the browser that started the
	 * login (store_authreq_set_context), or NULL.  On a PAR entry, the
	 * visit that took its request_uri: {"request": the pending request's
	 * id, or null} (src/oidc/authorize.c). */
	char *ar_context;
	int ar_extended; /* times the person asked for more time (store_authreq_extend) */
};

struct store_code {
	char *co_hash; /* hex SHA-256 of the code */
	char *co_grant_id; /* tokens issued from this code carry it */
	char *co_client_id;
	char *co_person_id;
	char *co_session_id;
	char *co_redirect_uri;
	char *co_scope;
	char *co_nonce;
	char *co_challenge; /* PKCE S256 */
	char *co_acr;
	char *co_amr; /* JSON array */
	char *co_claims; /* JSON: requested claims parameter, or NULL */
	char *co_authz_details; /* JSON array (RFC 9396) as confirmed, or NULL */
	int64_t co_auth_time;
	int64_t co_expires;
	char *co_dpop_jkt; /* RFC 9449 §10: the key the code is bound to, or NULL */
};

struct store_token {
	char *t_hash;
	char *t_kind; /* "access" or "refresh" */
	char *t_grant_id;
	char *t_client_id;
	char *t_person_id;
	char *t_session_id;
	char *t_scope;
	char *t_acr;
	char *t_amr;
	char *t_claims;
	char *t_authz_details; /* JSON array (RFC 9396), or NULL */
	int64_t t_auth_time;
	int64_t t_expires;
	bool t_revoked;
	char *t_jkt; /* RFC 9449: the DPoP key thumbprint (cnf.jkt) it is bound to; NULL: bearer */
};

struct store_session {
	char *s_id; /* hex SHA-256 of the cookie value */
	char *s_person_id;
	char *s_acr;
	char *s_amr; /* JSON array */
	int64_t s_auth_time;
	int64_t s_expires;
};

struct store_audit {
	const char *au_event; /* "login", "token", "logout", "client.add", ... */
	const char *au_result; /* "ok" or a short reason */
	const char *au_person_id;
	const char *au_client_id;
	const char *au_key; /* "eid", "app", "smartid", "test" */
	const char *au_ip;
	const char *au_detail;
};

struct store_options {
	const char *so_engine; /* "sqlite" (NULL: sqlite) or "postgresql" */
	const char *so_path; /* sqlite: the database file */
	const char *so_conninfo; /* postgresql: a libpq connection string */
	int so_busy_timeout_ms;
	int so_pool; /* connections; 0 = 4 (sleuteld passes 2 x cores + 2) */
};

struct store *store_open(const struct store_options *opts, struct sl_err *err);
void store_close(struct store *st);
int store_schema_version(struct store *st, int *version);
/* "sqlite" or "postgresql". */
const char *store_engine_name(struct store *st);

/* ---- notifications between nodes (notify.c, pg_notify.c) ----
 * A request waiting on one node (the browser for the phone, an RP's
 * long-poll) is woken by an event that may happen on another: the node
 * that made the change calls store_notify(key) after committing it, and
 * every node's listener hears `key`.  Under PostgreSQL that is NOTIFY on
 * one channel, heard by one LISTEN connection per node on its own thread,
 * re-made when lost; after a reconnect the listener is called with NULL
 * (a notification may have been missed: wake everything, waiters look at
 * their state again).  Under SQLite there is one node: a second process
 * listening on the same database file is refused (SL_EBUSY).  The node
 * that notifies calls its own listener at once, on its own thread; its own
 * NOTIFY, when it comes back, is skipped (a random node id in the
 * payload).  Delivery is at most once: a notification only says "look
 * again", the state is in the store. */
#define STORE_NOTIFY_KEY_MAX 128 /* bytes of a key, with its NUL */
typedef void (*store_listen_fn)(void *arg, const char *key);
/* Start this node's listener (once per store); `fn` is called with each
 * key any node notifies (this one's on the notifier's thread, the others'
 * on the listener's thread), or with NULL after a reconnect. */
int store_listen(struct store *st, store_listen_fn fn, void *arg, struct sl_err *err);
/* Stop the listener (its thread joined); store_close does it too. */
void store_unlisten(struct store *st);
/* Tell every node that what is waited on under `key` changed.  SL_EINVAL
 * for an empty or too long key; SL_ESTORE when it could not be sent to the
 * other nodes (this node's listener was still called). */
int store_notify(struct store *st, const char *key);

/* persons */
int store_person_upsert(struct store *st, struct store_person *p, struct sl_err *err);
int store_person_get(struct store *st, const char *id, struct store_person *out);
void store_person_clear(struct store_person *p);

/* clients */
int store_client_add(struct store *st, const struct store_client *c, struct sl_err *err);
int store_client_get(struct store *st, const char *id, struct store_client *out);
int store_client_remove(struct store *st, const char *id);
/* Replace the scopes a client may be granted; SL_ENOTFOUND when unknown. */
int store_client_set_scopes(struct store *st, const char *id, const char *scopes);
/* Replace the hash of a client's secret (a leaked secret is void at once);
 * SL_ENOTFOUND when unknown or when the client has no secret
 * (private_key_jwt). */
int store_client_set_secret(struct store *st, const char *id, const char *secret_hash);
/* Whether the client must send signed request objects; SL_ENOTFOUND when
 * there is no such client. */
int store_client_set_signed_ro(struct store *st, const char *id, bool required);
/* Set a client's profile ("default" or "fapi2"; fapi2 also sets
 * require_par); SL_ENOTFOUND when unknown. */
int store_client_set_profile(struct store *st, const char *id, const char *profile);
/* Calls fn for each client, ordered by creation; fn's record is borrowed. */
int store_client_each(struct store *st, int (*fn)(const struct store_client *, void *), void *arg);
void store_client_clear(struct store_client *c);

/* signing keys (the private halves are files in [keys] dir) */
int store_key_add(struct store *st, const struct store_key *k);
int store_key_retire_current(struct store *st, const char *alg, int64_t retire_after);
int store_key_each(struct store *st, int (*fn)(const struct store_key *, void *), void *arg);
int store_key_generation(struct store *st, int64_t *gen); /* changes when keys change */

/* authorization requests and PAR */
int store_authreq_put(struct store *st, const struct store_authreq *r);
int store_authreq_get(struct store *st, const char *id, struct store_authreq *out);
/* A key identified person p for request r (r's id, status and outcome
 * set; its person id is p's): store_person_upsert and
 * store_authreq_complete in one transaction, durable only when the
 * person record is new or changed.  SL_ENOTFOUND (and nothing written)
 * when the request is no longer waiting. */
int store_login_complete(struct store *st, struct store_person *p, const struct store_authreq *r);
/* The same, and in its transaction what the person agreed to share with
 * client `client_id` (store_consent_get's answer: *consent malloc'd, NULL
 * when nothing), so a finish that follows reads no consent of its own. */
int store_login_complete_consent(
	struct store *st, struct store_person *p, const struct store_authreq *r, const char *client_id, char **consent);
/* The same with the request's client, read together (one snapshot);
 * SL_ENOTFOUND when either is gone. */
int store_authreq_get_client(struct store *st, const char *id, struct store_authreq *out, struct store_client *client);
/* Delete a request once: SL_ENOTFOUND when it was already gone, so of two
 * answers at once (a double submit) only one goes on. */
int store_authreq_delete(struct store *st, const char *id);
/* Record the outcome of a login on a pending request (status "done" with
 * the person and key, or "denied"); SL_ENOTFOUND when it is not pending. */
int store_authreq_complete(struct store *st, const struct store_authreq *r);
/* A key's one-time result on a pending request (the eID card, presented
 * on another origin, is redeemed on the portal by the browser that started
 * the request).  `hash` is the hex SHA-256 of the one-time value the
 * browser holds, `result` a JSON text, valid until `expires`.  Set only
 * while the request is pending and unexpired, replacing an earlier result;
 * SL_ENOTFOUND otherwise. */
int store_authreq_set_result(struct store *st, const char *id, const char *hash, const char *result, int64_t expires);
/* Take that result once: when the stored hash equals `hash` (compared in
 * constant time) it is cleared in the same transaction, and *result (the
 * JSON text, malloc'd) is set unless its time has passed (SL_EEXPIRED:
 * taken all the same).  SL_ENOTFOUND when the request is gone or has no
 * result or another hash; nothing changes then. */
int store_authreq_take_result(struct store *st, const char *id, const char *hash, char **result);
/* Record the starting browser's context once: the first call sets it, a
 * later one (or one for an unknown request) changes nothing. */
int store_authreq_set_context(struct store *st, const char *id, const char *context);
/* More time for a login request that is not answered (WCAG 2.2.1): its
 * expiry becomes `until`, counted, at most `max_times` times, in one
 * conditional UPDATE.  SL_EEXPIRED when it is over, SL_ECONFLICT when it
 * is gone, at `max_times`, or already ends at `until` or later (a post
 * that raced another); SL_ENOTFOUND when unknown. */
int store_authreq_extend(struct store *st, const char *id, int64_t until, int max_times);
void store_authreq_clear(struct store_authreq *r);

/* authorization codes */
int store_code_put(struct store *st, const struct store_code *c);
/* Redeem once for `client_id`: SL_OK with the record; SL_ECONFLICT when it
 * was used before (out->co_grant_id set so the caller revokes);
 * SL_EDENIED when it was issued to another client (nothing changes: the
 * code stays usable by its own client, *out is empty); SL_ENOTFOUND
 * otherwise. */
int store_code_redeem(struct store *st, const char *hash, const char *client_id, struct store_code *out);
/* What a code buys, for store_code_exchange.  cx_accept says whether
 * the code's record is good for this request: SL_OK, or the refusal to
 * return (the code is used up all the same).  cx_tokens then fills up to
 * STORE_CODE_TOKENS token records (*n of them; strings may borrow the
 * code's) stored with the code's use.  Both may run more than once (a
 * retried transaction), each time on the record that run read, and must
 * not call the store. */
#define STORE_CODE_TOKENS 2
struct store_code_exchange {
	int (*cx_accept)(const struct store_code *co, void *arg);
	int (*cx_tokens)(const struct store_code *co, void *arg, struct store_token *t, int *n);
	void *cx_arg;
	/* When non-NULL: the code's person, read in the same transaction
	 * (cleared first; left empty when the person is gone), so the ID
	 * token's claims need no read of their own. */
	struct store_person *cx_person;
};
/* store_code_redeem and, in the same transaction, the tokens the code
 * buys (one commit for a code's redemption); its answers, or cx_accept's
 * refusal. */
int store_code_exchange(struct store *st, const char *hash, const char *client_id, const struct store_code_exchange *cx,
	struct store_code *out);
void store_code_clear(struct store_code *c);

/* tokens */
int store_token_put(struct store *st, const struct store_token *t);
int store_token_get(struct store *st, const char *hash, struct store_token *out);
int store_token_revoke_grant(struct store *st, const char *grant_id);
/* Rotate a refresh token: revoke `old_hash` and insert `next` in one
 * transaction.  SL_ECONFLICT when old was already revoked (a replay): the
 * whole grant is then revoked. */
int store_token_rotate(struct store *st, const char *old_hash, const struct store_token *next);
/* What a token answer stores, in one transaction: the access token, the
 * refresh token `refresh` (NULL: none) and, when `old_hash` is set, its
 * rotation as store_token_rotate (`refresh` required; SL_ECONFLICT on a
 * replay, the grant revoked and nothing stored).  One transaction, so
 * that a crash cannot leave a grant rotated without the access token of
 * the same answer. */
int store_token_issue(
	struct store *st, const char *old_hash, const struct store_token *refresh, const struct store_token *access);
void store_token_clear(struct store_token *t);

/* SSO sessions */
int store_session_put(struct store *st, const struct store_session *s);
int store_session_get(struct store *st, const char *id, struct store_session *out);
int store_session_end(struct store *st, const char *id);
/* Logout, in one transaction: the session ends, every token issued under
 * it (tokens.session_id) is revoked and its unredeemed codes are dropped. */
int store_session_logout(struct store *st, const char *id);
/* A new login in a browser that had session `old_id` (may be NULL): store
 * `ses` and, in the same transaction, move the old session's tokens and
 * codes of the same person to it, revoke and drop those of anyone else,
 * and delete the old session. */
int store_session_replace(struct store *st, const char *old_id, const struct store_session *ses);
/* A login's answer in one transaction, so that a login costs one durable
 * commit: the pending request li_req_id answered (gone for every reader
 * as if deleted, purged at its expiry; SL_ENOTFOUND, and nothing
 * written, when it was answered already), li_session put in place
 * of li_old_session as store_session_replace does (when li_session is
 * set), the audit row li_audit (when set; the commit is then durable) and
 * the code li_code. */
struct store_login_issue {
	const char *li_req_id;
	const char *li_old_session;
	const struct store_session *li_session;
	const struct store_audit *li_audit;
	const struct store_code *li_code;
};
int store_login_issue(struct store *st, const struct store_login_issue *li);
/* A key's login completed and answered in one durable transaction:
 * store_login_complete_consent, then `issue` is asked with the person's
 * id and consent (both valid only during the call) and answers with *li
 * (SL_OK; NULL: not answered here, e.g. the consent page comes first),
 * which is stored as store_login_issue does.  *issued says whether it was.
 * `issue` may be called again when the transaction runs again: it only
 * points li's parts at the person.  SL_ENOTFOUND when the request is no
 * longer waiting or was answered already. */
typedef int (*store_issue_fn)(
	void *ctx, const char *person_id, const char *consent, const struct store_login_issue **li);
int store_login_complete_issue(struct store *st, struct store_person *p, const struct store_authreq *r,
	const char *client_id, char **consent, store_issue_fn issue, void *ctx, bool *issued);
/* The eID return in one durable transaction (one commit per login): take
 * request r->ar_id's result as store_authreq_take_result does, turn it
 * into a person with `person_of` (SL_EINVAL: not one), record the login
 * as store_login_complete_consent does (r's status and outcome set), then
 * ask `issue` as store_login_complete_issue does.  On success *p is the
 * person (its id set; store_person_clear).  On any failure nothing
 * changes, the result is not spent (SL_EEXPIRED when late:
 * store_authreq_take_result spends it). */
int store_authreq_redeem_complete_issue(struct store *st, const char *hash,
	int (*person_of)(const char *result, struct store_person *p), struct store_person *p,
	const struct store_authreq *r, const char *client_id, char **consent, store_issue_fn issue, void *ctx,
	bool *issued);
void store_session_clear(struct store_session *s);
/* A key's device or account blocked (this was not me, an operator's
 * block, a lost-phone recovery): the person's SSO sessions ended, their
 * access and refresh tokens revoked and their codes dropped, of the logins
 * made with that key, in one durable transaction.  A session, code and
 * token keeps its login's amr (`amr`: the key's, e.g. APP_AMR), not the
 * device that confirmed it, so this ends the logins of every device of
 * that key of the person.  Session `keep_session` (or NULL) is spared: the
 * citizen's page the person blocks the device from.  *sessions, *tokens
 * (may be NULL) count what ended. */
int store_key_logins_end(
	struct store *st, const char *person_id, const char *amr, const char *keep_session, int *sessions, int *tokens);

/* Record a jti until `expires`; SL_ECONFLICT if seen.  store_purge_expired
 * forgets it once expires <= now, so `expires` must be one second past the
 * last second the token it came with is accepted: the token's own check
 * refuses it from then on (an `expires` equal to that last second left a
 * one-second replay window). */
int store_jti_use(struct store *st, const char *client_id, const char *jti, int64_t expires);

/* audit trail (append-only) */
int store_audit_add(struct store *st, const struct store_audit *a);
int store_audit_count(struct store *st, const char *event, const char *result, int64_t *n);

/* The whole audit trail in order, for export (audit.c): rows with
 * seq > after_seq and since <= time < until (0: no bound), oldest first,
 * at most `limit` (1..STORE_AUDIT_PAGE_MAX); fn's record is borrowed.
 * Call again with the last seq seen to stream it in pages: no connection
 * is held between pages and memory stays bounded on both engines. */
#define STORE_AUDIT_PAGE_MAX 10000
struct store_audit_entry {
	int64_t ae_seq; /* increasing; a gap is a transaction that rolled back */
	int64_t ae_time;
	const char *ae_event;
	const char *ae_result;
	const char *ae_person_id; /* NULL when none */
	const char *ae_client_id;
	const char *ae_key;
	const char *ae_ip;
	const char *ae_detail;
};
int store_audit_each(struct store *st, int64_t after_seq, int64_t since, int64_t until, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg);

/* Login history of one person, newest first, at most `limit` rows
 * (events "login" with any result); fn's record (above) is borrowed. */
int store_audit_each_person(struct store *st, const char *person_id, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg);

/* ==== consents (schema 4): what a person agreed to share with a client ==== */

/* A consent as the person's page lists it; borrowed in store_consent_each. */
struct store_consent {
	const char *cs_client_id;
	const char *cs_client_name;
	const char *cs_scopes; /* space-separated data scopes */
	int64_t cs_updated;
};

/* The scopes `person_id` agreed to share with `client_id` (malloc'd into
 * *scopes); SL_ENOTFOUND when none. */
int store_consent_get(struct store *st, const char *person_id, const char *client_id, char **scopes);
/* Record (or replace) the scopes agreed to; the caller passes the union
 * with what was agreed before. */
int store_consent_put(struct store *st, const char *person_id, const char *client_id, const char *scopes);
/* The consents of a person to clients that still exist, newest first, at
 * most `limit`. */
int store_consent_each(
	struct store *st, const char *person_id, int limit, int (*fn)(const struct store_consent *, void *), void *arg);
/* Withdraw: delete the consent and revoke every access and refresh token
 * of this client for this person, in one transaction.  SL_ENOTFOUND when
 * there was no consent. *revoked (may be NULL) counts the tokens revoked. */
int store_consent_withdraw(struct store *st, const char *person_id, const char *client_id, int *revoked);

/* ==== the sleutel app key (schema 3) ==== */

#define STORE_LOCKED_FOREVER INT64_MAX

/* An app account: one phone number of one person. */
struct store_account {
	char *ac_id;
	char *ac_person_id;
	char *ac_phone; /* E.164, unique */
	char *ac_status; /* "active" or "blocked" (by an operator) */
	int ac_failures; /* wrong app codes in a row */
	int64_t ac_locked_until; /* 0: not locked; STORE_LOCKED_FOREVER: locked for good */
	int64_t ac_created;
};

/* A phone with its keys. */
struct store_device {
	char *dv_id;
	char *dv_account_id;
	char *dv_name;
	char *dv_jkt; /* RFC 7638 thumbprint of the transport key, unique */
	char *dv_transport_jwk; /* public JWK (JSON) */
	char *dv_confirm_key; /* Q sealed to the server's at-rest key (b64url) */
	char *dv_status; /* "active", "blocked" or "removed" */
	int64_t dv_created;
	int64_t dv_last_used; /* 0: never */
};

/* An enrolment in progress (30 minutes). */
struct store_enrollment {
	char *en_id;
	char *en_phone; /* E.164 */
	char *en_jkt; /* unique while the enrolment lives */
	char *en_transport_jwk;
	char *en_device_name;
	char *en_lang;
	char *en_terms; /* terms version accepted */
	char *en_status; /* "sms", "proofing", "proofed", "done" */
	char *en_sms_hash; /* hex HMAC of the SMS code under a server key */
	int en_sms_attempts; /* wrong codes so far */
	int en_sms_sends; /* messages sent so far */
	int64_t en_sms_expires;
	char *en_proof_method; /* "bank:<id>" or "eid", once proofed */
	char *en_person; /* JSON store_person fields from proofing, once proofed */
	char *en_proof_state; /* JSON: proofing in flight (state hash, PKCE verifier, nonce, ticket hash) */
	int64_t en_created;
	int64_t en_expires;
};

/* A request for the phone: a login or a payment to confirm. */
struct store_apprq {
	char *aq_id;
	char *aq_account_id;
	char *aq_client_id; /* the RP */
	char *aq_rp_name; /* as shown and signed */
	char *aq_action; /* "login" or "payment" */
	char *aq_display_text; /* exactly as shown and signed */
	char *aq_authz_details; /* JSON array (payment) or NULL */
	char *aq_codes; /* JSON array of the codes the app shows, e.g. ["4821","0937","6610"] */
	char *aq_code; /* the verification code the browser shows */
	char *aq_nonce;
	char *aq_link_kind; /* "authreq" or "ciba" */
	char *aq_link_id;
	char *aq_ip;
	char *aq_status; /* "pending", "approved", "refused", "denied" (wrong verification code), "expired" */
	char *aq_device_id; /* the device that answered */
	char *aq_context; /* JSON {"browser","os","network"} of the browser that started it, or NULL */
	int aq_extended; /* times the browser asked for more time */
	int64_t aq_created;
	int64_t aq_expires;
};

/* A CIBA request (auth_req_id is the id). */
struct store_ciba {
	char *cb_id; /* auth_req_id */
	char *cb_client_id;
	char *cb_apprq_id;
	char *cb_scope;
	char *cb_acr;
	char *cb_binding_message;
	char *cb_notification_token; /* ping mode, or NULL */
	char *cb_authz_details;
	char *cb_status; /* "pending", "approved", "denied", "expired", "redeemed" */
	char *cb_person_id; /* once approved */
	int64_t cb_auth_time;
	int64_t cb_last_poll; /* for slow_down */
	int64_t cb_interval;
	int64_t cb_expires;
};

/* An SMS in the outbox. */
struct store_sms {
	int64_t sm_seq; /* increasing */
	char *sm_phone;
	char *sm_text;
	int64_t sm_created;
};

/* accounts */
int store_account_get(struct store *st, const char *id, struct store_account *out);
int store_account_by_phone(struct store *st, const char *phone, struct store_account *out);
/* Every account, ordered by creation (the operator's list); borrowed. */
int store_account_each(struct store *st, int (*fn)(const struct store_account *, void *), void *arg);
/* The accounts of one person, ordered by creation; borrowed. */
int store_account_each_person(
	struct store *st, const char *person_id, int (*fn)(const struct store_account *, void *), void *arg);
int store_account_set_status(struct store *st, const char *id, const char *status);
/* The lockout schedule (DESIGN §4): locked for lo_secs1 when the wrong
 * codes in a row reach lo_step1, for lo_secs2 at lo_step2, for good from
 * lo_forever on. */
struct store_lockout {
	int lo_step1;
	int64_t lo_secs1;
	int lo_step2;
	int64_t lo_secs2;
	int lo_forever;
};
/* One attempt with the app code, charged BEFORE the code is checked, in
 * one statement: when the account is not locked at `now`, failures + 1
 * and, at a step of `lo`, the lock.  So concurrent attempts cannot outrun
 * the lockout: at most lo_step1 guesses are ever in flight.  A right code
 * then calls store_account_success() (or store_apprq_approve()).
 * SL_EDENIED when the account is locked (or unknown); *failures and
 * *locked_until are the new values.  Committed without a sync of its
 * own: the caller makes a durable commit (the attempt's audit row) before
 * it answers, which syncs this one with it, so no judged guess is told
 * before its charge is on disk. */
int store_account_attempt(struct store *st, const char *id, int64_t now, const struct store_lockout *lo, int *failures,
	int64_t *locked_until);
/* A device proof's jti, recorded until jt_expires (store_jti_use's). */
struct store_jti {
	const char *jt_key; /* whose: "dev:<jkt>" */
	const char *jt_jti;
	int64_t jt_expires;
};
/* store_account_attempt() with the jti of the proof that asks for it
 * recorded in the same transaction: SL_ECONFLICT, and nothing charged,
 * when that jti was seen (a replay). */
int store_account_attempt_jti(struct store *st, const char *id, int64_t now, const struct store_lockout *lo,
	const struct store_jti *jti, int *failures, int64_t *locked_until);
/* One more wrong code, atomically: *failures is the new count. */
int store_account_failure(struct store *st, const char *id, int *failures);
int store_account_lock(struct store *st, const char *id, int64_t until);
/* A right code: failures back to 0 (the lock, if any, has passed). */
int store_account_success(struct store *st, const char *id);
/* Operator: failures 0 and no lock. */
int store_account_unlock(struct store *st, const char *id);
void store_account_clear(struct store_account *a);

/* devices */
int store_device_get(struct store *st, const char *id, struct store_device *out);
int store_device_by_jkt(struct store *st, const char *jkt, struct store_device *out);
/* The device of `jkt` and its account, read in one statement (a device
 * API call's first look); both cleared unless SL_OK. */
int store_device_account_by_jkt(
	struct store *st, const char *jkt, struct store_device *dev, struct store_account *acct);
/* Devices of an account (all statuses), ordered by creation; borrowed. */
int store_device_each(
	struct store *st, const char *account_id, int (*fn)(const struct store_device *, void *), void *arg);
int store_device_set_status(struct store *st, const char *id, const char *status);
int store_device_touch(struct store *st, const char *id, int64_t when);
void store_device_clear(struct store_device *d);

/* enrolments */
/* SL_ECONFLICT when the jkt is in use by a live enrolment or any device. */
int store_enrollment_put(struct store *st, const struct store_enrollment *e);
/* Expired enrolments are returned until purged: the caller checks
 * en_expires (and answers 410). */
int store_enrollment_get(struct store *st, const char *id, struct store_enrollment *out);
int store_enrollment_by_jkt(struct store *st, const char *jkt, struct store_enrollment *out);
/* Replace the mutable fields (status, sms hash/sends/expiry, proof_*,
 * person; never sms_attempts, which only the charge below counts);
 * SL_ENOTFOUND when missing or already "done". */
int store_enrollment_update(struct store *st, const struct store_enrollment *e);
/* One try of an SMS code, charged BEFORE the code is compared, in one
 * statement: while the enrolment is at "sms" with fewer than `max` tries,
 * the count goes up (*attempts is the new count); otherwise SL_EDENIED
 * (used up, not at "sms", or unknown).  Parallel guesses cannot get more
 * than `max` tries in all. */
int store_enrollment_sms_charge(struct store *st, const char *id, int max, int *attempts);
/* Finish in one transaction: the enrolment becomes "done" (SL_ECONFLICT
 * when it was not "proofed", SL_EEXPIRED when expired); the person is upserted (by national number)
 * and the account of en_phone created for them, or reused when it is the
 * same person's (SL_EDENIED when the number is another person's); the
 * device inserted.  `person` in: the proofed person; out: its id.
 * `account` out: the account; `dev` in: the device (dv_account_id set here). */
int store_enrollment_finish(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, struct sl_err *err);
/* The same with the audit row `au` (its person set to the account's) in
 * the same transaction: a crash leaves the enrolment with its audit row,
 * or neither. */
int store_enrollment_finish_audit(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, const struct store_audit *au, struct sl_err *err);
/* Recovery of an account with a new phone (lost phone, forgotten app
 * code; docs/device-api.md "recover"): the proofed person must be the
 * person of en_phone's existing account.  In one transaction with the
 * enrolment's finish: the devices to revoke end ("removed"), the account's
 * wrong-code count and lock are cleared, the new device is added, and the
 * audit row is written.  SL_ENOTFOUND when the number has no account (or
 * a device to revoke is not the person's), SL_EDENIED when the account is
 * another person's (re_person_id then names the account's person): nothing
 * is changed either way. */
#define STORE_RECOVER_MAX 16 /* devices one recovery revokes at most */
struct store_recovery {
	const char *const *re_revoke; /* ids of app devices of the person; NULL: every active device of the account */
	size_t re_nrevoke;
	/* The person's logins made with this amr (the app key's) end when a
	 * device is revoked, as store_key_logins_end does; NULL: they stay. */
	const char *re_end_amr;
	/* out */
	char re_revoked[STORE_RECOVER_MAX][65]; /* the ids it ended */
	char re_revoked_name[STORE_RECOVER_MAX][65];
	size_t re_nrevoked;
	int re_sessions_ended, re_tokens_revoked;
	char re_person_id[65];
};
int store_enrollment_recover_audit(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, struct store_recovery *rec,
	const struct store_audit *au, struct sl_err *err);
void store_enrollment_clear(struct store_enrollment *e);

/* app requests */
int store_apprq_put(struct store *st, const struct store_apprq *r);
/* The same, only while the account has fewer than max_pending (> 0)
 * requests pending at r's creation, counted and inserted atomically:
 * SL_EBUSY at the bound, nothing stored. */
int store_apprq_put_bounded(struct store *st, const struct store_apprq *r, int max_pending);
/* The same (max_pending > 0) with its audit row `au` in the one durable
 * commit that stores it: a request is made with one commit.  At the
 * bound (SL_EBUSY) nothing is written, the audit row neither. */
int store_apprq_put_audited(
	struct store *st, const struct store_apprq *r, int max_pending, const struct store_audit *au);
/* The same with, in that commit, the CIBA record `cb` the request answers
 * (its apprq_id and expiry are r's): a CIBA request is made with one
 * commit, so the phone never sees a request with no record to answer. */
int store_apprq_put_ciba(struct store *st, const struct store_apprq *r, int max_pending, const struct store_audit *au,
	const struct store_ciba *cb);
int store_apprq_get(struct store *st, const char *id, struct store_apprq *out);
/* Pending and not expired at `now`, for an account. */
int store_apprq_count_pending(struct store *st, const char *account_id, int64_t now, int *n);
int store_apprq_each_pending(struct store *st, const char *account_id, int64_t now,
	int (*fn)(const struct store_apprq *, void *), void *arg);
/* Move a pending, unexpired request to `status` (answered by `device_id`,
 * may be NULL) in one step: SL_ECONFLICT when it was no longer pending
 * (a replay), SL_EEXPIRED when past its expiry, SL_ENOTFOUND otherwise. */
int store_apprq_finish(struct store *st, const char *id, const char *status, const char *device_id, int64_t now);
/* A right code, in one short-lived transaction: the account's failure
 * count and lock reset (store_account_success; that stands even when the
 * request is no longer pending), the request moved to "approved" as
 * store_apprq_finish() does (same answers), and the device's last use.
 * Not synchronous: a power cut that loses it leaves the count where the
 * attempt's durable charge put it, the stricter side. */
int store_apprq_approve(struct store *st, const char *id, const char *account_id, const char *device_id, int64_t now);
/* A device's answer in one transaction, durable when it carries its audit
 * row (one durable commit per answer, which also syncs the attempt's
 * charge before the answer is told): request aa_id moved from pending to
 * aa_status as store_apprq_finish() does (same answers; then nothing but
 * the reset is written), with an approval the count of account
 * aa_account_id reset as store_apprq_approve() does (NULL for any other
 * status), the device's last use when aa_touch, and the audit row. */
struct store_apprq_answer {
	const char *aa_id;
	const char *aa_status; /* "approved", "refused", "denied" or "expired" */
	const char *aa_account_id; /* approved: the account whose count is reset; else NULL */
	const char *aa_device_id; /* who answered, or NULL */
	bool aa_touch; /* the device's last use set to aa_now */
	int64_t aa_now;
	const struct store_audit *aa_audit; /* or NULL: not synchronous */
	/* Or NULL.  The login request the answer was made for, completed in the
	 * same transaction (as store_authreq_complete; one no longer waiting is
	 * left as it is) when the request moved: a crash leaves the answer with
	 * its effects or none of them, never an answered request whose login
	 * still waits for it. */
	const struct store_authreq *aa_link;
};
int store_apprq_answer(struct store *st, const struct store_apprq_answer *an);
/* More time for a pending request: `step` seconds (> 0) on its expiry as
 * it is in the store (so that two extensions at once add two steps), never
 * past `cap`, while it was extended fewer than `max_times` times (> 0).
 * SL_ECONFLICT when it was that often, is at the cap or is not pending,
 * SL_EEXPIRED when pending but expired. */
int store_apprq_extend(struct store *st, const char *id, int step, int64_t cap, int max_times);
void store_apprq_clear(struct store_apprq *r);

/* CIBA */
int store_ciba_put(struct store *st, const struct store_ciba *c);
int store_ciba_get(struct store *st, const char *id, struct store_ciba *out);
/* Status (and person, auth_time when approved) of a pending request:
 * SL_ECONFLICT when no longer pending, SL_ENOTFOUND when missing. */
int store_ciba_set_status(
	struct store *st, const char *id, const char *status, const char *person_id, int64_t auth_time);
/* Record a token poll at `now`: *too_soon when within cb_interval of the last. */
int store_ciba_poll(struct store *st, const char *id, int64_t now, bool *too_soon);
/* A CIBA grant's answer, in one durable transaction: the request
 * approved -> redeemed once, the audit row `au`, the refresh token
 * `refresh` (NULL: none) and the access token.  SL_ECONFLICT after the
 * first time (or when not approved), SL_ENOTFOUND when missing: nothing
 * is stored then.  One transaction, so that a crash cannot leave a
 * redeemed request without its tokens (a login lost). */
int store_ciba_issue(struct store *st, const char *id, const struct store_audit *au, const struct store_token *refresh,
	const struct store_token *access);
void store_ciba_clear(struct store_ciba *c);

/* SMS outbox */
int store_sms_put(struct store *st, const char *phone, const char *text);
/* Messages with seq > after, oldest first (at most `limit` >= 1); borrowed. */
int store_sms_each(struct store *st, int64_t after, int limit, int (*fn)(const struct store_sms *, void *), void *arg);

/* ==== Smart-ID-style split-key accounts (schema 8; src/store/smartid.c,
 * smartid_reg.c) ====
 * docs/smartid-api.md is the wire contract these records serve.  One
 * account per person; devices per account, each with two split keys
 * (auth: PIN1, sign: PIN2) whose server halves are stored sealed by the
 * caller (at-rest key), never in clear. */

#define STORE_SID_KEY_AUTH "auth"
#define STORE_SID_KEY_SIGN "sign"

struct store_sid_account {
	char *sa_id;
	char *sa_person_id; /* unique: one account per person */
	char *sa_status; /* "active" or "blocked" (operator) */
	char *sa_email; /* as answered at registration (latest), or NULL */
	char *sa_phone; /* E.164 as answered at registration (latest), or NULL */
	int64_t sa_created;
};

struct store_sid_device {
	char *sd_id;
	char *sd_account_id;
	char *sd_name;
	char *sd_jkt; /* transport key thumbprint, unique among Smart-ID devices and registrations */
	char *sd_transport_jwk;
	char *sd_document; /* document number PNOBE-<rrn>-XXXX-Q, unique */
	char *sd_status; /* "active", "revoked" (operator, or a clone was seen) or "removed" (by the person) */
	char *sd_reason; /* why revoked/removed ("clone", "operator", "person", ...), or NULL */
	int64_t sd_created;
	int64_t sd_last_used; /* 0: never */
};

/* One split key of a device. */
struct store_sid_key {
	char *sk_device_id;
	char *sk_use; /* STORE_SID_KEY_AUTH or STORE_SID_KEY_SIGN */
	char *sk_sealed; /* the server key JSON (sk_server_key_to_json) sealed at rest, b64url */
	int64_t sk_version; /* the version inside sk_sealed, kept in clear for the compare-and-swap */
	char *sk_cert_pem; /* the certificate of the composite key */
	char *sk_cert_serial; /* hex */
	int sk_failures; /* wrong PINs in a row */
	int64_t sk_locked_until; /* 0, a time, or STORE_LOCKED_FOREVER */
};

/* A registration in progress (15 minutes from the app's start). */
struct store_sid_registration {
	char *sr_id;
	char *sr_jkt; /* unique while it lives */
	char *sr_transport_jwk;
	char *sr_device_name;
	char *sr_lang;
	char *sr_terms;
	char *sr_country; /* "BE" */
	char *sr_method; /* "eid" */
	char *sr_status; /* "code" -> "confirmed" -> "done"; or "failed" */
	char *sr_code_hash; /* hex HMAC of the registration code under a server key; unique while "code" */
	char *sr_auth_share; /* "code": the app's shares (sk_share_to_json) sealed at rest, AAD */
	char *sr_sign_share; /* "<id> <use> share"; NULL once the keys are made */
	char *sr_auth_sealed; /* server keys (as store_sid_key.sk_sealed), made at the confirmation: */
	int64_t sr_auth_version; /* NULL while "code" */
	char *sr_sign_sealed;
	int64_t sr_sign_version;
	char *sr_person; /* JSON store_person fields (id, rrn, names, birthdate) from the portal's eID login, once confirmed */
	char *sr_email; /* answers of the portal's questions, once confirmed */
	char *sr_phone;
	char *sr_challenge; /* b64url: what the recall signatures sign, set at confirmation */
	int sr_recall_failures; /* recall tries charged (store_sid_registration_recall_charge) */
	int sr_extended; /* "more time" given to the code (store_sid_registration_extend) */
	int sr_code_wrong; /* wrong codes typed at the portal while it lived (store_sid_registration_try_code) */
	int64_t sr_created;
	int64_t sr_expires;
};

/* A registration portal visit: one browser's eID login on the
 * registration pages (cookie-bound; the id is the hash of the cookie). */
struct store_sid_visit {
	char *sv_id;
	char *sv_person; /* JSON store_person fields (id, rrn, names, birthdate) from the eID login */
	char *sv_email;
	char *sv_phone;
	char *sv_registration_id; /* the registration its code matched, or NULL */
	int sv_code_tries; /* registration codes typed wrong */
	int64_t sv_expires;
	int sv_extended; /* "more time" given to the visit (store_sid_visit_extend) */
};

/* A signing session for a device: a login (or, later, an RP API session). */
struct store_sid_request {
	char *sq_id;
	char *sq_account_id;
	char *sq_client_id; /* the RP */
	char *sq_rp_name; /* as shown and bound */
	char *sq_action; /* "login", "sign" or "cert" (an RP API certificate choice: key "sign") */
	char *sq_key_use; /* STORE_SID_KEY_AUTH or STORE_SID_KEY_SIGN */
	char *sq_display_text;
	char *sq_nonce; /* b64url */
	char *sq_hash; /* b64url: the digest the device signs; "" only for link_kind "rpapi" (ACSP_V2, cert) */
	char *sq_digest; /* "SHA256", ... */
	char *sq_padding; /* "pkcs1" or "pss" */
	char *sq_vc; /* the 4-digit verification code both screens show */
	char *sq_link_kind; /* "authreq" (portal login), "ciba", "rpapi" */
	char *sq_link_id;
	char *sq_ip;
	char *sq_status; /* "pending", "approved", "refused", "failed" (clone, lock), "expired" */
	char *sq_device_id; /* the device that answered */
	char *sq_signature; /* b64url, once approved */
	char *sq_device_only; /* schema 10: only this device may see and answer it (RP API by document), or NULL */
	char *sq_extra; /* schema 10: JSON object of the RP API fields the device shows and signs (rpapi only) */
	int64_t sq_created;
	int64_t sq_expires;
	int sq_extended; /* schema 17: times the browser asked for more time */
};

/* A relying party of the Smart-ID RP API (`sleutel rp add`;
 * docs/smart-id.md).  Requests name it by relyingPartyUUID and
 * relyingPartyName (matched case-insensitively). */
struct store_sid_rp {
	char *sp_uuid; /* lower-case canonical UUID text */
	char *sp_name; /* relyingPartyName as registered */
	char *sp_allow_ip; /* comma-separated addresses or CIDRs the RP calls from; NULL: any */
	char *sp_permissions; /* space-separated of "auth sign cert": what it may start */
	char *sp_status; /* "active" or "disabled" */
	int64_t sp_created;
};

/* One RP API session (v3 and v2 share them; src/keys/sidrp). */
struct store_sid_session {
	char *ss_id; /* sessionID: a UUID */
	char *ss_rp_uuid;
	char *ss_api; /* "v3" or "v2": the shape its status is answered in */
	char *ss_type; /* "auth", "sign" or "cert" (certificate choice) */
	char *ss_flow; /* "device-link" or "notification" */
	char *ss_target_kind; /* "anonymous", "etsi" or "document" */
	char *ss_target; /* 11 digits (etsi) or a document number; NULL when anonymous */
	char *ss_account_id; /* known at creation for a target, at the device's claim when anonymous */
	char *ss_params; /* JSON object: the validated request (sidrp_request_to_json) */
	char *ss_token; /* sessionToken (device-link flows, unique) or NULL */
	char *ss_secret; /* sessionSecret sealed at rest (aad "sidrp-secret <id>"), or NULL */
	char *ss_server_random; /* b64 (ACSP_V2) or NULL */
	char *ss_vc; /* the verification code shown to the RP (notification flows) or NULL */
	char *ss_idem; /* idempotency key: b64url SHA-256 of RP, path and body */
	char *ss_request_id; /* the device's signing request once made (store_sid_request) */
	char *ss_ip; /* the RP's address */
	char *ss_state; /* "RUNNING" or "COMPLETE" */
	char *ss_result; /* JSON object once COMPLETE: the v3 "result" plus what the status shows */
	int64_t ss_created;
	int64_t ss_expires; /* RUNNING until then: then TIMEOUT */
	int64_t ss_keep_until; /* the row (its result) is purged after */
};

/* accounts */
int store_sid_account_get(struct store *st, const char *id, struct store_sid_account *out);
int store_sid_account_by_person(struct store *st, const char *person_id, struct store_sid_account *out);
/* By the person's national register number (login form). */
int store_sid_account_by_rrn(struct store *st, const char *rrn, struct store_sid_account *out);
/* Every account, ordered by creation; borrowed. */
int store_sid_account_each(struct store *st, int (*fn)(const struct store_sid_account *, void *), void *arg);
int store_sid_account_set_status(struct store *st, const char *id, const char *status);
void store_sid_account_clear(struct store_sid_account *a);

/* devices */
int store_sid_device_get(struct store *st, const char *id, struct store_sid_device *out);
int store_sid_device_by_jkt(struct store *st, const char *jkt, struct store_sid_device *out);
int store_sid_device_by_document(struct store *st, const char *document, struct store_sid_device *out);
/* Devices of an account (all statuses), ordered by creation; borrowed. */
int store_sid_device_each(
	struct store *st, const char *account_id, int (*fn)(const struct store_sid_device *, void *), void *arg);
int store_sid_device_count_active(struct store *st, const char *account_id, int *n);
/* active -> "revoked"/"removed" with a reason, in one step; the device's
 * pending requests (its account's not yet answered by another device nor
 * only for another one, sq_device_only: any of them may be on its screen)
 * become "failed".  SL_ECONFLICT when not
 * active, SL_ENOTFOUND when unknown. */
int store_sid_device_end(struct store *st, const char *id, const char *status, const char *reason);
int store_sid_device_touch(struct store *st, const char *id, int64_t when);
void store_sid_device_clear(struct store_sid_device *d);

/* keys */
int store_sid_key_get(struct store *st, const char *device_id, const char *use, struct store_sid_key *out);
/* One PIN try, charged BEFORE the signature is completed, in one
 * statement (as store_account_attempt): SL_EDENIED when locked at `now`;
 * otherwise failures + 1 and, at a step of `lo`, the lock.  *failures,
 * *locked_until: the new values. */
int store_sid_key_attempt(struct store *st, const char *device_id, const char *use, int64_t now,
	const struct store_lockout *lo, int *failures, int64_t *locked_until);
/* The right PIN: the new server key (sealed, at new_version) replaces the
 * one at old_version and failures go back to 0 (and the lock its own
 * attempt may have set), in one statement.  SL_ECONFLICT when the stored
 * version is no longer old_version (another signature won the race: the
 * caller answers as for a replay) or the device is no longer active;
 * SL_ENOTFOUND when no such key; SL_EINVAL unless new_version >
 * old_version. */
int store_sid_key_advance(struct store *st, const char *device_id, const char *use, int64_t old_version,
	const char *new_sealed, int64_t new_version);
/* Give back a try store_sid_key_attempt charged (the server failed after
 * it, nothing was tested): failures - 1 and the lock that try set lifted,
 * only while the key is as that charge left it (`failures`,
 * `locked_until`: its results; a lock later than `now` is that charge's),
 * else SL_ENOTFOUND and nothing changes. */
int store_sid_key_refund(
	struct store *st, const char *device_id, const char *use, int failures, int64_t locked_until, int64_t now);
/* The same key (same version) sealed anew: `sealed` replaces `old_sealed`
 * only while the row still holds it, else SL_ENOTFOUND. */
int store_sid_key_reseal(
	struct store *st, const char *device_id, const char *use, const char *old_sealed, const char *sealed);
/* Operator: failures 0 and no lock for the key `use` of a device (NULL:
 * both keys); SL_ENOTFOUND when the device has no such key. */
int store_sid_key_unlock(struct store *st, const char *device_id, const char *use);
void store_sid_key_clear(struct store_sid_key *k);

/* registrations */
/* Status "code" whatever r says, with the sealed shares (sr_*_share, both
 * required) and no server key.  SL_ECONFLICT when the jkt belongs to a
 * live registration or any device, or the code hash to a live
 * registration.  An expired or failed registration of the same jkt is
 * dropped first (a new start replaces it). */
int store_sid_registration_put(struct store *st, const struct store_sid_registration *r);
/* Expired ones are returned until purged: the caller checks sr_expires. */
int store_sid_registration_get(struct store *st, const char *id, struct store_sid_registration *out);
int store_sid_registration_by_jkt(struct store *st, const char *jkt, struct store_sid_registration *out);
/* The live ("code", unexpired at `now`) registration of a code hash. */
int store_sid_registration_by_code(
	struct store *st, const char *code_hash, int64_t now, struct store_sid_registration *out);
/* A code typed at the portal (after the visit's try is charged): first,
 * in one statement, every other live registration ("code", unexpired at
 * `now`) with fewer than `max_wrong` wrong tries counts one more (a wrong
 * code names no registration: it is a guess at each live one); then the
 * registration of `code_hash` as store_sid_registration_by_code.
 * SL_EDENIED (with *out filled) when that one has had `max_wrong` wrong
 * tries: its code is dead. */
int store_sid_registration_try_code(
	struct store *st, const char *code_hash, int64_t now, int max_wrong, struct store_sid_registration *out);
/* More time for a live "code" registration that ends by `near` (within
 * the warning's window): it ends at `until` instead, counted, in one
 * conditional statement (racing posts extend once: the first moves the
 * end past `near`).  SL_ECONFLICT when it ends after `near` (nothing
 * added, nothing counted) or has had `max_times` extensions; SL_EEXPIRED
 * when over, SL_ENOTFOUND when unknown; nothing when it has had
 * `max_wrong` wrong tries (SL_ESTORE); SL_EINVAL unless `until` is after
 * both now and `near`. */
int store_sid_registration_extend(
	struct store *st, const char *id, int64_t near, int64_t until, int max_times, int max_wrong);
/* Portal: "code" -> "confirmed" with person, email, phone, challenge and
 * the server keys made for the shares (sr_*_sealed and their versions: 0
 * for new keys; all from `r`) in one statement: the code and the shares are dropped.
 * SL_ECONFLICT when no longer "code", SL_EEXPIRED when expired. */
int store_sid_registration_confirm(struct store *st, const struct store_sid_registration *r, int64_t now);
/* One recall-check try (a PIN pair), charged BEFORE any key is completed,
 * in one statement (as store_sid_key_attempt): recall_failures + 1 while
 * "confirmed" and below `max`; *tries the new count.  SL_EDENIED when the
 * `max` tries are used (or the registration failed on them), SL_ECONFLICT
 * when not "confirmed" (not yet, or done), SL_ENOTFOUND when unknown. */
int store_sid_registration_recall_charge(struct store *st, const char *id, int max, int *tries);
/* Give a charged try back (nothing was tested, or the pair was right but
 * the finish refused): recall_failures - 1 while "confirmed" and above 0,
 * else SL_ENOTFOUND. */
int store_sid_registration_recall_refund(struct store *st, const char *id);
/* Replace the sealed keys and versions (a right PIN at the recall check
 * advanced one of them), a compare-and-swap on the versions the caller
 * completed with: SL_ECONFLICT when the stored ones are no longer
 * old_auth_version / old_sign_version (another try moved them: the
 * caller answers as for a replay) or the registration is no longer
 * "confirmed"; SL_EEXPIRED when expired; SL_EINVAL when a version would go
 * back. */
int store_sid_registration_set_keys(
	struct store *st, const struct store_sid_registration *r, int64_t old_auth_version, int64_t old_sign_version);
/* "code"/"confirmed" -> "failed", its server keys dropped; SL_ECONFLICT
 * when already "done" or "failed". */
int store_sid_registration_fail(struct store *st, const char *id);
/* Finish in one transaction: the registration ("confirmed", unexpired,
 * else SL_ECONFLICT / SL_EEXPIRED) becomes "done" (its copies of the server
 * keys dropped); the person is upserted by national number (`person`
 * in/out, p_rrn required: p_id set), the account created or reused (email,
 * phone updated from the registration; a reused one must be "active",
 * else SL_EDENIED, and have fewer than `max_devices` active devices, else
 * SL_ETOOBIG; max_devices 0: no limit — checked inside the transaction, so
 * racing finishes of one person cannot pass it together), the device (in/out: sd_document
 * required; sd_id made when NULL; sd_account_id, status, created set here;
 * sd_jkt, sd_transport_jwk and sd_name taken from the registration when
 * NULL, SL_EINVAL when the key differs) and its two keys (sk_device_id
 * and sk_use set here; sk_sealed NULL: the registration's latest sealed
 * key and version) inserted.  SL_ECONFLICT also when the document number
 * or the key is in use.  `account` out. */
int store_sid_registration_finish(struct store *st, const char *registration_id, int max_devices,
	struct store_person *person, struct store_sid_device *dev, const struct store_sid_key *auth,
	const struct store_sid_key *sign, struct store_sid_account *account, int64_t now, struct sl_err *err);
void store_sid_registration_clear(struct store_sid_registration *r);

/* registration portal visits */
int store_sid_visit_put(struct store *st, const struct store_sid_visit *v);
/* SL_ENOTFOUND when missing or expired at `now`. */
int store_sid_visit_get(struct store *st, const char *id, int64_t now, struct store_sid_visit *out);
/* Answers of the questions (email, phone). */
int store_sid_visit_answer(struct store *st, const char *id, const char *email, const char *phone);
/* One registration-code try, charged before the code is looked up: SL_EDENIED
 * when `max` tries are used (the visit is over); *tries the new count. */
int store_sid_visit_charge(struct store *st, const char *id, int max, int *tries);
int store_sid_visit_set_registration(struct store *st, const char *id, const char *registration_id);
/* More time for a live visit, as store_sid_registration_extend. */
int store_sid_visit_extend(struct store *st, const char *id, int64_t near, int64_t until, int max_times);
int store_sid_visit_delete(struct store *st, const char *id);
void store_sid_visit_clear(struct store_sid_visit *v);

/* signing requests */
int store_sid_request_put(struct store *st, const struct store_sid_request *r);
/* The same, only while fewer than `max_pending` (> 0) of the account's
 * requests are pending at sq_created, counted and inserted in one
 * statement: SL_EBUSY at the bound. */
int store_sid_request_put_bounded(struct store *st, const struct store_sid_request *r, int max_pending);
int store_sid_request_get(struct store *st, const char *id, struct store_sid_request *out);
/* Pending and unexpired at `now`, for an account. */
int store_sid_request_count_pending(struct store *st, const char *account_id, int64_t now, int *n);
int store_sid_request_each_pending(struct store *st, const char *account_id, int64_t now,
	int (*fn)(const struct store_sid_request *, void *), void *arg);
/* pending, unexpired -> `status` (answered by device_id, may be NULL;
 * signature b64url or NULL) in one step: SL_ECONFLICT when no longer
 * pending, SL_EEXPIRED when past expiry, SL_ENOTFOUND otherwise. */
int store_sid_request_finish(struct store *st, const char *id, const char *status, const char *device_id,
	const char *signature, int64_t now);
/* More time for a pending request, as store_apprq_extend. */
int store_sid_request_extend(struct store *st, const char *id, int step, int64_t cap, int max_times);
void store_sid_request_clear(struct store_sid_request *r);

/* Smart-ID RP API relying parties (schema 10).  Put: status "active"
 * unless sp_status says "disabled", created now unless given;
 * SL_ECONFLICT when the UUID exists, SL_EINVAL without uuid, name or
 * permissions. */
int store_sid_rp_put(struct store *st, const struct store_sid_rp *rp);
int store_sid_rp_get(struct store *st, const char *uuid, struct store_sid_rp *out);
/* Every RP, ordered by creation; borrowed. */
int store_sid_rp_each(struct store *st, int (*fn)(const struct store_sid_rp *, void *), void *arg);
/* "active" <-> "disabled"; SL_ENOTFOUND when unknown, SL_EINVAL for
 * another status. */
int store_sid_rp_set_status(struct store *st, const char *uuid, const char *status);
/* Its allow list (NULL: any address) and permissions replaced, in one
 * statement; SL_ENOTFOUND when unknown. */
int store_sid_rp_set_access(struct store *st, const char *uuid, const char *allow_ip, const char *permissions);
void store_sid_rp_clear(struct store_sid_rp *rp);

/* Smart-ID RP API sessions (schema 10).  Put: state "RUNNING", while
 * fewer than `max_running` (> 0; 0 = no bound) of the RP's sessions are
 * RUNNING and unexpired at ss_created, counted and inserted in one
 * statement (SL_EBUSY at the bound); SL_ECONFLICT when the id or token
 * exists; SL_ENOTFOUND when the RP is unknown; SL_EINVAL without id,
 * rp_uuid, params or expires, with keep_until before expires, an unknown
 * api/type/flow/target_kind, or a target on an anonymous session (or
 * none on another). */
int store_sid_session_put(struct store *st, const struct store_sid_session *s, int max_running);
/* SL_ENOTFOUND when missing or purged. */
int store_sid_session_get(struct store *st, const char *id, struct store_sid_session *out);
/* A device-link session by its sessionToken. */
int store_sid_session_by_token(struct store *st, const char *token, struct store_sid_session *out);
/* The newest session of `idem` created at or after `since` (idempotent
 * creation); SL_ENOTFOUND when none. */
int store_sid_session_by_idem(struct store *st, const char *idem, int64_t since, struct store_sid_session *out);
/* A device takes a RUNNING, unexpired session that no device took yet:
 * account and request set in one statement.  SL_ECONFLICT when already
 * taken or COMPLETE, SL_EEXPIRED when past expiry, SL_ENOTFOUND.
 * Of two racing claims exactly one wins. */
int store_sid_session_claim(
	struct store *st, const char *id, const char *account_id, const char *request_id, int64_t now);
/* RUNNING -> COMPLETE with the result JSON, kept until `keep_until`, once;
 * `request_id` (the answering request) must be the session's own when it
 * has one (a device that lost the claim cannot end it); NULL for what the
 * session itself decides (TIMEOUT, SERVER_ERROR).  SL_ECONFLICT when
 * already COMPLETE or the request is not the session's, SL_ENOTFOUND. */
int store_sid_session_complete(
	struct store *st, const char *id, const char *request_id, const char *result, int64_t keep_until);
void store_sid_session_clear(struct store_sid_session *s);

/* ---- state every node shares (limits.c) ---- */

/* Rate limits (schema 11): fixed windows of `window` seconds per key, each
 * starting at the key's first request.  Count one request against every
 * key of `checks`, all or none: SL_OK when each is under its limit (all
 * counted); SL_ETOOBIG when one is at its limit or its limit is <= 0
 * (none counted; *which is the first such index); SL_EINVAL for no key,
 * more than STORE_RATE_CHECKS_MAX, a key of STORE_RATE_KEY_MAX bytes or
 * more, or window <= 0; SL_EBUSY / SL_ESTORE when the store fails (the
 * caller refuses: a limit must not switch off). */
#define STORE_RATE_KEY_MAX 300
#define STORE_RATE_CHECKS_MAX 8
struct store_rate_check {
	const char *rc_key; /* "p:+32470123456", "i:127.0.0.1", "r:client" */
	int rc_limit; /* requests per window */
};
int store_rate_hit(
	struct store *st, const struct store_rate_check *checks, size_t n, int window, int64_t now, size_t *which);

/* ---- failures.c ---- */

/* The count of `key`'s rate window still running at `now` (0: none),
 * without counting: for a lookup whose hits must be refused too once its
 * misses are spent. */
int store_rate_peek(struct store *st, const char *key, int64_t now, int *count);

/* Wrong SMS activation codes of one phone number across its enrolments
 * (schema 20): at most fl_per_window in a window of fl_window seconds
 * from its first, and fl_total in all until the number types a right code
 * (store_phone_fail_clear) or an operator clears it. */
struct store_fail_limits {
	int fl_per_window;
	int fl_total;
	int fl_window;
};
/* Charge one try before the code is compared: SL_OK (counted),
 * SL_ETOOBIG when a count is spent (nothing counted), SL_EINVAL. */
int store_phone_fail_charge(struct store *st, const struct store_fail_limits *l, const char *phone, int64_t now);
/* SL_ETOOBIG when a count is spent (a new enrolment would be refused its
 * code), SL_OK when not. */
int store_phone_fail_spent(struct store *st, const struct store_fail_limits *l, const char *phone, int64_t now);
/* Forget the number's wrong codes (a right code, an operator). */
int store_phone_fail_clear(struct store *st, const char *phone);

/* Write an enrolment's proofing fields (status, proof_method, person,
 * proof_state) only while it is at "proofing" with proof_state still
 * `old_state` (NULL: none): a compare-and-swap, so that two nodes editing
 * the proof state at once cannot lose a change (a consumed ticket coming
 * back, a wrong code left uncharged).  SL_ECONFLICT when it changed
 * meanwhile: read it again and redo the edit. */
int store_enrollment_proof_swap(struct store *st, const struct store_enrollment *e, const char *old_state);

/* Delete expired short-lived rows (app requests, Smart-ID registrations
 * and signing requests an hour after expiry, Smart-ID visits at expiry,
 * RP API sessions after ss_keep_until,
 * outbox messages after an hour (they hold codes in clear); never
 * accounts, devices, keys, persons or the audit trail); returns rows
 * removed or < 0. */
int store_purge_expired(struct store *st, int64_t now);

/* ==== partners (schema 15): clients listed on the public site ==== */
/* A listed client, its strings borrowed for the visitor's call. */
struct store_partner {
	const char *pa_client_id;
	const char *pa_name;
	const char *pa_url; /* the page the site links to */
};
/* List a client at `url`, or (url NULL) take it off the list; SL_ENOTFOUND
 * when there is no such client. */
int store_partner_set(struct store *st, const char *client_id, const char *url);
/* The listing of a client: *url malloc'd, NULL when it is not listed;
 * SL_ENOTFOUND when there is no such client. */
int store_partner_get(struct store *st, const char *client_id, char **url);
/* Calls fn for at most `max` listed clients, oldest first. */
int store_partner_each(struct store *st, int max, int (*fn)(const struct store_partner *, void *), void *arg);
/* ==== notices (schema 16, notice.c): what a person is told about their
 * devices — a device added ("device.added"), blocked by the person
 * ("device.blocked"), revoked ("device.revoked", for lost-phone recovery).
 * Shown on the account page until read; fetched by the person's other
 * devices through the device API.  Kept, read or not: a row per device
 * added or blocked, like the audit trail it mirrors. ==== */
#define STORE_NOTICE_LIST_MAX 100 /* notices one read returns at most */
struct store_notice {
	char *nt_id; /* made by store_notice_add */
	char *nt_person_id;
	char *nt_kind; /* "device.added", "device.blocked", "device.revoked" */
	char *nt_device_kind; /* "app" or "smartid" */
	char *nt_device_id; /* the device the notice is about */
	char *nt_device_name; /* or NULL */
	int64_t nt_created;
	bool nt_read;
};
/* Record a notice (nt_id and nt_created are set here, in *n, malloc'd id). */
int store_notice_add(struct store *st, struct store_notice *n);
/* The person's notices, newest first, at most `limit` (1..STORE_NOTICE_LIST_MAX);
 * unread ones only when `unread_only`.  fn's record is borrowed. */
int store_notice_each(struct store *st, const char *person_id, bool unread_only, int limit,
	int (*fn)(const struct store_notice *, void *), void *arg);
/* What a device of the person is told: unread notices about another
 * device (not `device_id`) made at or after `since` (the device's own
 * creation: a new device is not told the past), newest first. */
int store_notice_each_for_device(struct store *st, const char *person_id, const char *device_id, int64_t since,
	int limit, int (*fn)(const struct store_notice *, void *), void *arg);
/* Mark the person's notice read; SL_ENOTFOUND when it is not theirs. */
int store_notice_ack(struct store *st, const char *person_id, const char *notice_id);
void store_notice_clear(struct store_notice *n);

/* One person's whole audit trail (every event with their id), newest
 * first: rows with seq < before_seq (0: from the newest), at most `limit`
 * (1..STORE_AUDIT_PAGE_MAX); fn's record (store_audit_entry) is borrowed.
 * For the person's own export from the account page. */
int store_audit_each_person_all(struct store *st, const char *person_id, int64_t before_seq, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg);

#endif
