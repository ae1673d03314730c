/* proofing_int.h — shared between the proofing files; not public. */
#ifndef SL_PROOFING_INT_H
#define SL_PROOFING_INT_H

#include <pthread.h>

#include "proofing.h"

#define PROOF_ID_MAX 64 /* bytes of an enrolment id in a ticket or state */
#define PROOF_SECRET_BYTES 16 /* random bytes of a ticket, state or cookie */
#define PROOF_TOKEN_MAX 128 /* bytes of "<enrolment id>.<secret>" */
#define PROOF_MAX_TICKETS 8 /* live tickets per enrolment; the oldest goes first */
#define PROOF_FLOW_LIFETIME 600 /* seconds from leaving for the bank to its callback */
#define PROOF_NAME_MAX 256 /* bytes of a given or family name from a bank */
#define PROOF_CACHE_TTL 3600 /* seconds a bank's discovery and JWKS are reused */
#define PROOF_JWKS_REFRESH 30 /* seconds between JWKS refetches for an unknown key */
#define PROOF_JWKS_MAX_KEYS 16 /* keys kept from a bank's JWKS */
#define PROOF_EDIT_TRIES 8 /* reads of an enrolment's proof state when others keep changing it */
#define PROOF_IAT_MAX_AGE 600 /* seconds an ID token's iat may lie in the past */
#define PROOF_COOKIE "__Host-sl_proof"
#define PROOF_CODE_LIFETIME 600 /* seconds a code lives (never beyond the enrolment) */
#define PROOF_CODE_TRIES 5 /* wrong codes before the proof is discarded */

/* ---- tickets and state (ticket.c) ---- */

/* A new "<enrolment id>.<secret>" (malloc'd) with the hex SHA-256 of the
 * whole string in `hash`.  Used for tickets, OAuth state and the cookie. */
char *proof_token_new(const char *enrollment_id, char hash[2 * SL_SHA256_LEN + 1]);
/* The enrolment id a ticket or state names, without trusting the rest:
 * SL_EINVAL for anything not "<id>.<secret>" of the expected shape. */
int proof_token_parse(const char *token, char id[PROOF_ID_MAX]);

/* The bank flow in flight, kept in the enrolment's en_proof_state. */
struct proof_flow {
	char pf_bank[CONFIG_BANK_ID_MAX + 1];
	char pf_state_hash[2 * SL_SHA256_LEN + 1];
	char pf_browser_hash[2 * SL_SHA256_LEN + 1];
	char pf_verifier[64]; /* PKCE code_verifier */
	char pf_nonce[64];
	int64_t pf_expires;
};

/* en_proof_state (may be NULL) as an object; a new reference, never NULL
 * unless out of memory.  Unreadable state counts as empty. */
json_t *proof_state_load(const char *text);
/* Add a ticket hash valid until `expires`, dropping expired ones and the
 * oldest past PROOF_MAX_TICKETS. */
int proof_state_add_ticket(json_t *state, const char *hash, int64_t expires, int64_t now);
/* Is `hash` a live ticket (constant time per entry)?  With `consume`, it
 * is removed. */
bool proof_state_ticket(json_t *state, const char *hash, int64_t now, bool consume);
/* Store the bank flow (replacing one in flight). */
int proof_state_set_flow(json_t *state, const struct proof_flow *f);
/* Take the flow whose state hash is `state_hash` when `browser_hash`
 * (the cookie's) matches too: SL_OK and removed from `state`;
 * SL_ENOTFOUND (none, other state); SL_EDENIED for another browser (the
 * flow stays: a stranger cannot end it); SL_EEXPIRED (removed). */
int proof_state_take_flow(
	json_t *state, const char *state_hash, const char *browser_hash, int64_t now, struct proof_flow *out);

/* The proof waiting for its code, in en_proof_state:
 * "pending": {"h": <hex SHA-256 of the normalised code>, "exp", "left":
 * tries left, "person": {...}, "method": "bank:<id>" | "eid"}.  A newer
 * one replaces it (with all its tries). */
int proof_state_set_pending(
	json_t *state, const char *person_json, const char *method, const char *code_hash, int64_t expires);
/* Is a proof waiting (live, tries left)?  Its expiry and tries left. */
bool proof_state_pending(json_t *state, int64_t now, int64_t *expires, int *tries_left);
/* What a redeemed code gives: malloc'd en_person JSON and method. */
struct proof_redeemed {
	char *rd_person;
	char *rd_method;
	int rd_tries_left; /* after a wrong code */
};
void proof_redeemed_clear(struct proof_redeemed *r);
/* Redeem `code_hash` against the waiting proof (constant time): SL_OK and
 * the proof taken out of `state`; SL_EDENIED for a wrong code, charged
 * (the last try discards the proof); SL_EEXPIRED (discarded);
 * SL_ENOTFOUND when no proof waits. */
int proof_state_redeem(json_t *state, const char *code_hash, int64_t now, struct proof_redeemed *out);

/* ---- claims (claims.c) ---- */

/* Which claim holds what ([bank.<id>] claim_*). */
struct proof_claim_names {
	const char *cn_rrn;
	const char *cn_given_name;
	const char *cn_family_name;
	const char *cn_birthdate;
};

/* Map a bank's claims (ID token, with userinfo merged in) to a person:
 * the national number is required (separators " .-/" dropped) and must
 * pass eid_rrn_check; names are required strings of at most
 * PROOF_NAME_MAX bytes without control characters; the birth date is
 * YYYY-MM-DD, or taken from the number, and must agree with it.
 * SL_ENOTFOUND when the number is missing, SL_EINVAL for a bad value. */
int proof_claims_map(
	const struct proof_claim_names *names, json_t *claims, struct store_person *out, struct sl_err *err);
/* The same from JSON text (the fuzz target's entry). */
int proof_claims_parse(const struct proof_claim_names *names, const char *json, size_t len, struct store_person *out,
	struct sl_err *err);
/* en_person JSON of a mapped person: {"rrn","given_name","family_name",
 * "birthdate"}; malloc'd. */
char *proof_person_json(const struct store_person *p);

/* What the ID token must say (OIDC Core 3.1.3.7). */
struct proof_expect {
	const char *ex_issuer;
	const char *ex_client_id;
	const char *ex_nonce;
	int64_t ex_now;
	int ex_skew;
};
/* Check iss, aud (and azp when several audiences or present), exp, iat
 * and nonce of verified ID-token claims.  SL_EDENIED with the reason. */
int proof_id_token_check(json_t *claims, const struct proof_expect *ex, struct sl_err *err);

/* ---- a bank's discovery document and keys (discovery.c) ---- */

struct proof_endpoints {
	char *pe_authorization;
	char *pe_token;
	char *pe_userinfo; /* may be NULL */
	bool pe_iss_required; /* authorization_response_iss_parameter_supported (RFC 9207) */
};
void proof_endpoints_clear(struct proof_endpoints *e);

struct proof_bank_cache;

struct proofing {
	pthread_mutex_t pf_cache_lock; /* the caches below */
	struct proof_bank_cache *pf_cache; /* one per [bank.<id>], same order */
	int pf_nbanks;
};

int proof_cache_new(struct proofing *pf, int nbanks);
void proof_cache_free(struct proofing *pf);
/* Calls to the bank block for up to `timeout` seconds each: only on an
 * outbound worker (bank.c).  The bank's endpoints, from its discovery document (fetched when the
 * cached copy is older than PROOF_CACHE_TTL); copies for the caller.
 * SL_EIO when the bank cannot be reached, SL_EINVAL for a bad document. */
int proof_bank_endpoints(struct server *srv, int bank, int timeout, struct proof_endpoints *out, struct sl_err *err);
/* Verify an ID token with the bank's JWKS (refetched once for an unknown
 * key); *claims is a new reference. */
int proof_bank_verify(
	struct server *srv, int bank, const char *id_token, int timeout, json_t **claims, struct sl_err *err);

/* ---- shared steps (proofing.c) ---- */

/* The bank of `id`, or -1. */
int proof_bank_index(struct server *srv, const char *id);

/* Change an enrolment's proofing state (a compare-and-swap in the
 * store, redone up to PROOF_EDIT_TRIES times when another request or node
 * changed it meanwhile, so `fn` may run more than once): the
 * enrolment must be live and in "proofing" (else SL_ENOTFOUND,
 * SL_EEXPIRED or SL_ECONFLICT); `fn` edits `state` (and may edit the
 * record) and sets *write when it must be stored, which happens whatever
 * fn returns.  The record goes to `out` (may be NULL; clear it). */
typedef int (*proof_edit_fn)(json_t *state, struct store_enrollment *e, void *arg, bool *write);
int proof_edit(
	struct server *srv, const char *enrollment_id, proof_edit_fn fn, void *arg, struct store_enrollment *out);
/* A new ticket for the enrolment, stored hashed; malloc'd or NULL. */
char *proof_ticket_new(struct server *srv, const char *enrollment_id);
/* Check a ticket (and consume it with `consume`): SL_OK with the
 * enrolment in `out`; otherwise the page is already sent. */
int proof_ticket_check(struct server *srv, struct http_request *rq, const char *ticket, bool consume,
	struct store_enrollment *out, int *lang);
/* The page language: ?lang=, then the enrolment's (e may be NULL). */
int proof_lang(struct server *srv, struct http_request *rq, const struct store_enrollment *e);
/* "…34 56": the end of the number being enrolled, for the warning pages. */
void proof_phone_tail(const char *phone, char *out, size_t len);
/* The POST that spends a ticket must come from the warning page, in the
 * same browser: a page elsewhere cannot submit an attacker's ticket and
 * skip the warning.  The token (malloc'd) for the page's form, and its
 * check: false when the 403 page is already sent (and audited). */
char *proof_csrf_token(struct server *srv, struct http_request *rq, const char *enrollment_id);
bool proof_csrf_ok(
	struct server *srv, struct http_request *rq, const char *enrollment_id, const char *method, int lang);
/* The page for a proof_edit() failure. */
void proof_enrollment_page(struct server *srv, struct http_request *rq, int lang, int rc);
/* A proof succeeded in some browser: the person waits on the enrolment
 * with a new proofing code (returned in `code`, stored hashed) until the
 * app on the phone being enrolled types it (proofing_redeem); the
 * enrolment stays in "proofing" and holds no person yet.  The bank flow
 * ends; the app's long-poll is woken.  `ticket_hash` (eID) must be a live
 * ticket and is consumed in the same step; NULL for the bank.  The
 * enrolment goes to `e` (clear it). */
int proof_complete(struct server *srv, const char *enrollment_id, const struct store_person *person, const char *method,
	const char *ticket_hash, char code[PROOF_CODE_SHOWN + 1], struct store_enrollment *e);
/* Record an attempt in the audit trail (event "proofing"). */
void proof_audit(
	struct server *srv, struct http_request *rq, const char *method, const char *result, const char *detail);
/* The "go back to the app and type this code" page: the code, the person,
 * the end of the number being linked, and the warning never to give it. */
void proof_done_page(struct server *srv, struct http_request *rq, int lang, const struct store_person *p,
	const struct store_enrollment *e, const char *code);

/* A failure page; with a bank and enrolment, it offers "try again". */
struct proof_failure {
	int fl_status;
	int fl_lang;
	const char *fl_enrollment_id; /* may be NULL */
	const char *fl_bank; /* may be NULL */
	const char *fl_heading; /* message ids (N_) */
	const char *fl_detail;
	const char *fl_code; /* technical detail for a helpdesk */
};
void proof_fail_page(struct server *srv, struct http_request *rq, const struct proof_failure *f);

/* ---- routes ---- */
void proofing_bank_page(void *ctx, struct http_request *rq); /* GET, POST /proofing/bank/<id> */
void proofing_bank_callback(void *ctx, struct http_request *rq); /* GET /proofing/bank/callback */
void proofing_eid(void *ctx, struct http_request *rq); /* GET /proofing/eid (eID origin) */

#endif
