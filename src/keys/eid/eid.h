/*
 * eid — logging in with the Belgian eID card.
 *
 * The browser presents the card's authentication certificate in a TLS
 * client-certificate handshake on the eID origin (or a trusted proxy
 * passes it in a header).  The validator checks the path to a configured
 * trust anchor, validity at use time, key usage, key type and size, and
 * revocation (OCSP, CRL as fallback); the identity comes from the
 * certificate's subject: the national register number (serialNumber),
 * surname (SN) and given names (GN); birth date and card type follow.
 */
#ifndef SL_EID_H
#define SL_EID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/core.h"
#include "../../http/http.h"

/* ---- national register number (identity.c / rrn.c) ---- */

/* Check an 11-digit Belgian national register number: the check digits are
 * 97 - (first nine digits mod 97), or for births from 2000 on, the same over
 * "2" followed by the nine digits.  Bis numbers (month + 20 or + 40) and an
 * unknown birth date (day and month 00) are valid.  On success fills
 * `birthdate` with "YYYY-MM-DD" ("" when the number does not give it) and
 * `sex` with 'M', 'F' or 0 (unknown).  SL_EINVAL with a message otherwise. */
int eid_rrn_check(const char *rrn, char birthdate[11], char *sex, struct sl_err *err);

enum eid_card_type { EID_CARD_CITIZEN = 1, EID_CARD_FOREIGNER, EID_CARD_KIDS };

struct eid_identity {
	char ei_rrn[12];
	char ei_birthdate[11]; /* "YYYY-MM-DD", or "" when unknown */
	char ei_sex; /* 'M', 'F' or 0 */
	char *ei_family_name; /* subject SN, UTF-8 */
	char *ei_given_names; /* subject GN, UTF-8 */
	char *ei_issuer_cn; /* "Citizen CA", "Foreigner CA", ... */
	enum eid_card_type ei_card_type;
};

/* The identity in a DER certificate.  The card type comes from the issuer
 * (an issuer CN containing "Foreigner CA" is a foreigner's card) and the age at
 * `now` (under 12 on a citizen card: Kids-ID).  SL_EINVAL with a message
 * when the subject lacks serialNumber, SN or GN, the country is not BE, or
 * the number fails eid_rrn_check(); SL_ETOOBIG past 16 KiB.  Never reads
 * past `len`. */
int eid_identity_from_der(const uint8_t *der, size_t len, int64_t now, struct eid_identity *out, struct sl_err *err);
void eid_identity_clear(struct eid_identity *id);
/* "citizen", "foreigner" or "kids". */
const char *eid_card_type_name(enum eid_card_type t);

/* ---- validation (validate.c, revocation.c) ---- */

/* Why a certificate was refused; each has its own page for the person. */
enum eid_verdict {
	EID_OK = 0,
	EID_NO_CERT, /* the browser sent no certificate */
	EID_EXPIRED,
	EID_NOT_YET_VALID,
	EID_REVOKED, /* revoked, or unknown to its issuer's OCSP */
	EID_UNKNOWN_ISSUER, /* no path to a configured trust anchor */
	EID_WRONG_USAGE, /* not an authentication certificate */
	EID_WEAK_KEY, /* RSA < 2048, or a curve other than P-256/P-384 */
	EID_STATUS_UNAVAILABLE, /* neither OCSP nor CRL could tell */
	EID_BAD_IDENTITY, /* no valid national register number or names */
	EID_MALFORMED, /* not a certificate at all */
};
#define EID_VERDICT_COUNT 11

/* The short name of a verdict for audit records and metrics ("ok",
 * "expired", "revoked", ...). */
const char *eid_verdict_name(enum eid_verdict v);

struct eid_validator_conf {
	const char *ev_anchors; /* PEM file: trust anchors (roots) */
	const char *ev_intermediates; /* PEM file: issuing CAs; may be NULL */
	const char *ev_ocsp_url; /* overrides the certificate's AIA; may be NULL */
	const char *ev_crl_url; /* used when the certificate names none; may be NULL */
	int ev_timeout; /* seconds for one OCSP or CRL fetch */
	int ev_cache_max; /* verdicts kept, by certificate hash */
	int ev_max_age; /* seconds an OCSP answer without nextUpdate counts */
	int ev_skew; /* seconds of clock difference accepted */
	bool ev_ocsp; /* ask OCSP at all */
	bool ev_crl; /* fall back to CRLs */
	bool ev_fail_open; /* accept when the status is unavailable */
};

struct eid_validator;

/* Load the trust anchors and verify each configured intermediate against
 * them once; NULL with a message when a file is unreadable or an
 * intermediate does not chain. */
struct eid_validator *eid_validator_new(const struct eid_validator_conf *conf, struct sl_err *err);
void eid_validator_free(struct eid_validator *v);

struct eid_result {
	enum eid_verdict er_verdict;
	struct eid_identity er_identity; /* filled when EID_OK */
	bool er_fail_open; /* accepted without a revocation status */
	char er_detail[SL_ERR_MAX]; /* what exactly, for the audit trail */
};

/* Validate a client's chain (DER, leaf first; further certificates are
 * untrusted helpers for path building) at time `now`.  Always returns a
 * verdict; never blocks longer than two fetches of ev_timeout.  Safe to
 * call from many threads at once. */
void eid_validate(struct eid_validator *v, const uint8_t *const *ders, const size_t *lens, size_t n, int64_t now,
	struct eid_result *out);
/* eid_validate() when it needs no fetch and no path check, cheap enough
 * for an event loop: a chain without a certificate (EID_NO_CERT), or a
 * card whose verdict is in the cache and fresh (a returning card needs no
 * outbound worker).  false when it is not: *out is then empty. */
bool eid_validate_cached(struct eid_validator *v, const uint8_t *const *ders, const size_t *lens, size_t n, int64_t now,
	struct eid_result *out);
void eid_result_clear(struct eid_result *r);

/* ---- the validation off the event loop (check.c) ---- */
struct outbound;
struct http_request;
/* A card whose verdict is cached (and fresh) is judged at once into
 * *cached (EID_CHECK_CACHED; eid_result_clear() it after use): a full or
 * stopped pool does not hold it up.  Otherwise copy the chain, suspend
 * `rq` and run eid_validate() on a worker of `ob` (OCSP and CRL fetches
 * never hold an event loop).  SL_OK: return; the handler runs again and
 * reads eid_check_result().  SL_EBUSY: the outbound queue is full or the
 * server stops (answer 503 at once). */
#define EID_CHECK_CACHED 1
struct eid_chain;
int eid_check_suspend(struct eid_validator *v, struct outbound *ob, struct http_request *rq, const struct eid_chain *ch,
	int revocation_timeout, struct eid_result *cached);
/* Why a card was not checked, for its audit record: `st` is an enum
 * outbound_state other than OUTBOUND_DONE (the deadline passed, the server
 * stops, or the pool was full: outbound_refused()). */
const char *eid_check_unavailable(int st);
/* An enum outbound_state; with OUTBOUND_DONE, *res is the verdict (the
 * request's until it ends), NULL otherwise. */
int eid_check_result(struct http_request *rq, const struct eid_result **res);

/* ---- route handlers (login.c); ctx is the struct server ---- */
/* Portal origin: what to do, and the button to the eID origin. */
void eid_page(void *ctx, struct http_request *rq);

/* ---- the client certificate of a request on the eID origin (login.c) ---- */
#define EID_MAX_CHAIN 8
#define EID_MAX_HEADER 16384 /* bytes of a proxy's certificate header */

struct eid_chain {
	const uint8_t *ec_der[EID_MAX_CHAIN];
	size_t ec_len[EID_MAX_CHAIN];
	uint8_t *ec_owned[EID_MAX_CHAIN]; /* DER decoded from a proxy header */
	size_t ec_n;
};
struct server;
struct store_person;
struct store_authreq;
/* The certificate chain of this request: from the TLS handshake, or on a
 * plain listener ([eid] tls = false) from a trusted proxy's header ([eid]
 * proxy_header, only from [server] trusted_proxies).  SL_EDENIED for the
 * header on a TLS listener or from anyone else,
 * SL_ETOOBIG / SL_EINVAL for a long or unreadable header.  Always
 * eid_chain_clear() afterwards. */
int eid_request_chain(struct server *srv, struct http_request *rq, struct eid_chain *ch);
void eid_chain_clear(struct eid_chain *ch);
/* A person record (malloc'd strings; store_person_clear) from a card. */
void eid_person_from_identity(const struct eid_identity *id, struct store_person *p);
/* eID origin: take the client certificate, validate, hand the identity
 * over to the browser that started the login (below), or explain. */
void eid_login(void *ctx, struct http_request *rq);

/* ---- from the eID origin back to the starting browser (handoff.c) ---- */
#define EID_RESULT_LIFETIME 120 /* seconds a card's one-time result waits to be redeemed */
#define EID_RESULT_BYTES 32 /* of the one-time value R (256 bits) */

/* Keep a validated card's identity on pending request `req_id` as its
 * one-time result (only SHA-256(R) is stored; expires after
 * EID_RESULT_LIFETIME) and return R (malloc'd; the caller cleanses and
 * frees it).  SL_ENOTFOUND when the request is not pending. */
int eid_handoff_put(struct server *srv, const char *req_id, const struct eid_identity *id, char **r_out);
/* Portal origin, GET /login/eid/return?req=&r=: in the browser that started
 * the request (its binding cookie), redeem R once and finish the login; in
 * any other browser spend R, audit eid.other_browser and answer 403. */
void eid_return(void *ctx, struct http_request *rq);

/* ---- Web eID (webeid_token.c: the token; webeid.c: the routes) ----
 *
 * The second way to present the card, for where a TLS client certificate
 * cannot reach sleutel (a proxy that ends TLS, a browser without a
 * certificate prompt): the Web eID browser extension signs a server
 * challenge with the card's authentication key and returns a token
 * (web-eid:1 format, https://web-eid.eu); the certificate in it then goes
 * through eid_validate() like a TLS one. */
#define WEBEID_NONCE_BYTES 32 /* of a challenge (256 bits) */
#define WEBEID_NONCE_CHARS 44 /* its standard base64 with padding */
#define WEBEID_MAX_TOKEN 12288 /* bytes of a token's JSON */
#define WEBEID_MAX_CERT 8192 /* bytes of the certificate's DER */
#define WEBEID_MAX_SIG 1024 /* bytes of a signature (RSA up to 8192 bits) */
#define WEBEID_MAX_APP_VERSION 256 /* characters of appVersion */
#define WEBEID_MAX_HASH 64 /* bytes of the largest hash (SHA-512) */

/* The JWS names the token may carry (RFC 7518 §3.3-3.5), as the Web eID
 * validators accept them. */
enum webeid_alg {
	WEBEID_ES256 = 1,
	WEBEID_ES384,
	WEBEID_ES512,
	WEBEID_PS256,
	WEBEID_PS384,
	WEBEID_PS512,
	WEBEID_RS256,
	WEBEID_RS384,
	WEBEID_RS512,
};

/* Why a token was refused before its certificate was looked at; each has
 * a code the page shows (webeid_refusal_name). */
enum webeid_refusal {
	WEBEID_OK = 0,
	WEBEID_MALFORMED, /* not JSON, a field missing, empty or not base64 */
	WEBEID_TOO_LARGE, /* past WEBEID_MAX_TOKEN */
	WEBEID_BAD_FORMAT, /* "format" is not web-eid:1 */
	WEBEID_BAD_ALGORITHM, /* "algorithm" is not one of enum webeid_alg */
	WEBEID_ALGORITHM_MISMATCH, /* the algorithm does not fit the certificate's key */
	WEBEID_BAD_SIGNATURE, /* not the card's signature of this origin and challenge */
	WEBEID_BAD_CERTIFICATE, /* unverifiedCertificate is not a certificate */
};
#define WEBEID_REFUSAL_COUNT 8

const char *webeid_refusal_name(enum webeid_refusal r);

struct webeid_token {
	uint8_t *wt_cert; /* DER of unverifiedCertificate */
	size_t wt_cert_len;
	uint8_t *wt_sig; /* the signature as the card made it (ECDSA: r || s) */
	size_t wt_sig_len;
	enum webeid_alg wt_alg;
	char *wt_app_version;
};

/* Parse a token's JSON of `len` bytes: the five string fields, format
 * "web-eid:1" or "web-eid:1.<minor>", a known algorithm, certificate and
 * signature in standard base64 within their bounds.  Never reads past
 * `len`.  WEBEID_OK, or the refusal with a message in `err`. */
enum webeid_refusal webeid_token_parse(const char *json, size_t len, struct webeid_token *t, struct sl_err *err);
void webeid_token_clear(struct webeid_token *t);
const char *webeid_alg_name(enum webeid_alg a);

/* What the card signs (with the algorithm's hash): H(origin) || H(nonce),
 * the hashes of the origin's ASCII serialisation and of the challenge as
 * the base64 text it was sent in.  Fills `out` (2 * WEBEID_MAX_HASH bytes)
 * and *len; SL_EINVAL for an unknown algorithm. */
int webeid_signed_data(
	enum webeid_alg alg, const char *origin, const char *nonce, uint8_t out[2 * WEBEID_MAX_HASH], size_t *len);

/* Check the token's signature with its certificate's key over
 * webeid_signed_data(): WEBEID_OK, WEBEID_BAD_CERTIFICATE,
 * WEBEID_ALGORITHM_MISMATCH (ES256 needs P-256, ES384 P-384, ES512 P-521,
 * PS and RS an RSA key) or WEBEID_BAD_SIGNATURE. */
enum webeid_refusal webeid_verify(
	const struct webeid_token *t, const char *origin, const char *nonce, struct sl_err *err);

/* Portal origin, POST /login/eid/webeid/challenge (req, csrf): a fresh
 * challenge for this browser's pending request, single use, kept as its
 * hash for [eid] webeid_challenge_lifetime seconds. */
void webeid_challenge(void *ctx, struct http_request *rq);
/* Portal origin, POST /login/eid/webeid (req, csrf, challenge, token):
 * check the token and its certificate; on success the identity goes the
 * TLS path's way back (eid_handoff_put), and the JSON answer says where
 * the page goes next; otherwise a JSON error with a code and a message in
 * the person's language. */
void webeid_login(void *ctx, struct http_request *rq);
/* GET /static/webeid.js: the page's part that talks to the extension. */
void webeid_script(void *ctx, struct http_request *rq);

/* login.c, shared with webeid.c: record a refused card (audit, metrics)
 * and the text the person reads for a verdict. */
void eid_refusal_record(struct server *srv, struct http_request *rq, const struct store_authreq *ar, const char *result,
	bool unavailable, const char *detail);
const char *eid_verdict_heading(enum eid_verdict v);
/* The accepted card's way back to the starting browser: the one-time
 * result kept (handoff.c) and its /login/eid/return URL in `loc`.
 * SL_ENOTFOUND when the request is not pending any more. */
int eid_accept_url(struct server *srv, struct http_request *rq, int lang, const struct store_authreq *ar,
	const struct eid_result *res, char *loc, size_t loclen);

#endif
