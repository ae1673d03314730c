/*
 * store — everything sleuteld keeps, behind one interface.  Callers see
 * typed records and operations, never SQL; an engine (sqlite.c today,
 * PostgreSQL later) implements `struct store_ops`.  Every operation that
 * changes state is one transaction.
 *
 * Durability: persons, clients, signing keys and the audit trail are
 * committed with fsync (synchronous=FULL).  Short-lived login state
 * (authorization requests, PAR, codes, tokens, sessions, seen jtis) is
 * committed with synchronous=NORMAL: a power cut may lose the last few
 * of those, which costs a person one more login and nothing else.
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

#define STORE_SCHEMA_VERSION 2

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
	char *cl_jwks; /* JSON {"keys":[...]} for private_key_jwt, else NULL */
	char *cl_id_token_alg; /* ES256 | RS256 | PS256 */
	char *cl_sector; /* pairwise sector identifier */
	bool cl_require_par;
	int64_t cl_created;
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
	int64_t co_auth_time;
	int64_t co_expires;
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
	int64_t t_auth_time;
	int64_t t_expires;
	bool t_revoked;
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
	const char *so_path;
	int so_busy_timeout_ms;
	int so_pool; /* connections; 0 = 4 (sleuteld passes 2 x cores + 2) */
};

struct store *store_open(const struct store_options *opts, struct sl_err *err);
void store_close(struct store *st);
int store_schema_version(struct store *st, int *version);

/* persons */
int store_person_upsert(struct store *st, struct store_person *p, struct sl_err *err);
int store_person_get(struct store *st, const char *id, struct store_person *out);
void store_person_clear(struct store_person *p);

/* clients */
int store_client_add(struct store *st, const struct store_client *c, struct sl_err *err);
int store_client_get(struct store *st, const char *id, struct store_client *out);
int store_client_remove(struct store *st, const char *id);
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
/* Get and delete in one step (PAR request_uri is single-use). */
int store_authreq_take(struct store *st, const char *id, struct store_authreq *out);
int store_authreq_delete(struct store *st, const char *id);
/* Record the outcome of a login on a pending request (status "done" with
 * the person and key, or "denied"); SL_ENOTFOUND when it is not pending. */
int store_authreq_complete(struct store *st, const struct store_authreq *r);
void store_authreq_clear(struct store_authreq *r);

/* authorization codes */
int store_code_put(struct store *st, const struct store_code *c);
/* Redeem once: SL_OK with the record; SL_ECONFLICT when it was used before
 * (out->co_grant_id set so the caller revokes); SL_ENOTFOUND otherwise. */
int store_code_redeem(struct store *st, const char *hash, struct store_code *out);
void store_code_clear(struct store_code *c);

/* tokens */
int store_token_put(struct store *st, const struct store_token *t);
int store_token_get(struct store *st, const char *hash, struct store_token *out);
int store_token_revoke_grant(struct store *st, const char *grant_id);
/* Rotate a refresh token: revoke `old_hash` and insert `next` in one
 * transaction.  SL_ECONFLICT when old was already revoked (a replay): the
 * whole grant is then revoked. */
int store_token_rotate(struct store *st, const char *old_hash, const struct store_token *next);
void store_token_clear(struct store_token *t);

/* SSO sessions */
int store_session_put(struct store *st, const struct store_session *s);
int store_session_get(struct store *st, const char *id, struct store_session *out);
int store_session_end(struct store *st, const char *id);
void store_session_clear(struct store_session *s);

/* Record a client assertion's jti until `expires`; SL_ECONFLICT if seen. */
int store_jti_use(struct store *st, const char *client_id, const char *jti, int64_t expires);

/* audit trail (append-only) */
int store_audit_add(struct store *st, const struct store_audit *a);
int store_audit_count(struct store *st, const char *event, const char *result, int64_t *n);

/* Delete expired short-lived rows; returns rows removed or < 0. */
int store_purge_expired(struct store *st, int64_t now);

#endif
