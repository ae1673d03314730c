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
void eid_result_clear(struct eid_result *r);

/* ---- the validation off the event loop (check.c) ---- */
struct outbound;
struct http_request;
/* Copy the chain, suspend `rq` and run eid_validate() on a worker of
 * `ob` (OCSP and CRL fetches never hold an event loop).  SL_OK: return;
 * the handler runs again and reads eid_check_result().  SL_EBUSY: the
 * outbound queue is full or the server stops (answer 503 at once). */
struct eid_chain;
int eid_check_suspend(struct eid_validator *v, struct outbound *ob, struct http_request *rq, const struct eid_chain *ch,
	int revocation_timeout);
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
/* The certificate chain of this request: from the TLS handshake, or from a
 * trusted proxy's header ([eid] proxy_header, only from [server]
 * trusted_proxies).  SL_EDENIED for the header from anyone else,
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

#endif
