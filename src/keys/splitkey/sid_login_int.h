/*
 * sid_login_int.h — the login half of the split-key module: what its files
 * share (docs/smartid-api.md "GET /requests" .. "POST /devices/{id}/remove",
 * "Portal pages").
 *
 *   login.c        the route table
 *   sid_bind.c     pure: the national number as typed, the binding bytes
 *                  and their hash, the verification code (fuzzed)
 *   sid_device.c   sid_device_authenticate(): the proof of a Smart-ID
 *                  device; the request object the device sees
 *   sid_channel.c  GET /requests: the request channel (long-poll)
 *   sid_confirm.c  POST /requests/{id}: refuse, or confirm with a partial
 *                  signature completed here, the lockout schedule and
 *                  clone detection
 *   sid_status.c   GET /status, GET /devices, POST /devices/{id}/remove
 *   sid_notices.c  GET /notices: notices about the person's other devices
 *   sid_request.c  making a login request: limits, the account, the
 *                  binding, stored, devices woken (decoys for unknown
 *                  numbers)
 *   sid_pages.c    the portal's Smart-ID pages: the national number form,
 *                  the wait page with the verification code, its long-poll,
 *                  how it ended
 *
 * A login request's life: sid_request_create() stores it (pending,
 * [smartid] request_lifetime) and notifies sid_account_wait_key(account);
 * a device answers on POST /requests/{id}, which records the outcome
 * (store_sid_request_finish), finishes the OIDC request and notifies
 * sid_request_wait_key(request) and the login's own waiter; the browser's
 * long-poll then moves on to /key/smartid/wait, which sends it on to the
 * RP (oidc_login_finish).
 */
#ifndef SL_SID_LOGIN_INT_H
#define SL_SID_LOGIN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "../../store/store.h"
#include "../app/app.h"
#include "../sidrp/sidrp.h"
#include "splitkey.h"

#define SID_RRN_LEN 11 /* digits of a national register number */
#define SID_RRN_INPUT_MAX 32 /* bytes of a national number as typed (spaces, dots, dashes) */
#define SID_VC_LEN 4 /* digits of the verification code */
#define SID_BIND_CONTEXT "sleutel-smartid-v1"
#define SID_BIND_FIELD_MAX 65535 /* bytes of one binding field (2-byte length) */
#define SID_NONCE_BYTES 16
#define SID_DISPLAY_MAX 1024 /* bytes of display text */
#define SID_DECOY_PREFIX "-" /* the account id of a decoy: "-" and the number */
#define sid_is_decoy(account_id) ((account_id)[0] == '-')

/* Lockout schedule per key (DESIGN §4): wrong PINs in a row. */
#define SID_LOCK1_FAILURES 3
#define SID_LOCK1_SECONDS (INT64_C(3) * 3600)
#define SID_LOCK2_FAILURES 6
#define SID_LOCK2_SECONDS (INT64_C(24) * 3600)
#define SID_LOCK_FOREVER_FAILURES 9
extern const struct store_lockout sid_lockout;

/* ---- sid_bind.c (pure) ---- */
/* A national register number as a person types it: digits with spaces,
 * dots and dashes anywhere between them ("85.07.30-033.28"), exactly 11
 * digits whose check digits are right (eid_rrn_check).  `out` gets the 11
 * digits.  SL_EINVAL for anything else (letters, too long, wrong check). */
int sid_rrn_normalize(const char *in, char out[SID_RRN_LEN + 1]);

struct sid_bind {
	const char *sb_request_id;
	const char *sb_rp_id;
	const char *sb_rp_name;
	const char *sb_action;
	const char *sb_display_text;
	const char *sb_nonce; /* its b64url text, as the device gets it */
};
/* SHA-256 of the binding bytes (docs/smartid-api.md "GET /requests"):
 * each field as a 2-byte big-endian length and its bytes, in the order
 * SID_BIND_CONTEXT, request id, rp_id, rp_name, action,
 * SHA-256(display_text) (32 bytes), nonce.  SL_ETOOBIG for a field past
 * SID_BIND_FIELD_MAX, SL_EINVAL for a NULL one. */
int sid_bind_hash(const struct sid_bind *b, uint8_t out[SL_SHA256_LEN]);
/* The verification code of a hash: int(SHA-256(hash)[-2:]) mod 10000 as
 * 4 digits (Smart-ID's rule). */
void sid_verification_code(const uint8_t *hash, size_t hashlen, char out[SID_VC_LEN + 1]);

/* ---- sid_device.c ---- */
/* Authenticate a device-API request as an active Smart-ID device of an
 * active account: the proof's kid looked up with store_sid_device_by_jkt,
 * checked with app_proof_check.  SL_OK with the record (clear it);
 * otherwise the 401 (or 503) is sent and SL_EDENIED returned. */
int sid_device_authenticate(struct server *srv, struct http_request *rq, struct store_sid_device *out);
/* A request as the device sees it ("GET /requests"; an RP API request
 * with its "rp_api" object, docs/smart-id.md "Device side"); new reference. */
json_t *sid_request_json(const struct store_sid_request *r, int64_t now);
/* May this device see and answer `r`?  Not when the request is only for
 * another device (an RP API request by document number, a claimed link). */
bool sid_request_for_device(const struct store_sid_request *r, const char *device_id);
/* The request of `rq`'s path after `prefix` (an id, at most APP_ID_MAX),
 * or false. */
bool sid_path_id(struct http_request *rq, const char *prefix, const char *suffix, char out[APP_ID_MAX + 1]);

/* ---- sid_confirm.c ---- */
/* Finish what a request was made for (the OIDC login: complete with the
 * account's person when approved, deny otherwise; an RP API session: its
 * end result, sidrp_request_finished() with the device's answer `a`, NULL
 * for a lock, a clone or a device's end) and wake its waiters. */
void sid_request_finished(
	struct server *srv, const struct store_sid_request *r, const char *status, const struct sidrp_answer *a);

/* ---- sid_status.c ---- */
#define SID_END_NOTIFY_MAX 64 /* pending logins told at once when a device ends */
/* sid_device_end(): splitkey.h */

/* ---- sid_request.c ---- */
struct sid_request_spec {
	const char *ss_rrn; /* 11 digits, normalised */
	const struct store_client *ss_client; /* the RP */
	const char *ss_link_id; /* the OIDC request */
	const char *ss_ip; /* the browser's address, for limits and audit */
	int ss_lang; /* the display text's language */
	int ss_lifetime; /* seconds; 0 = [smartid] request_lifetime */
};
struct sid_request_made {
	char sm_id[APP_ID_MAX + 1];
	char sm_vc[SID_VC_LEN + 1];
	int64_t sm_expires;
};
/* Make a login request for the account of ss_rrn and wake its devices.
 * A number without an active account gets a decoy: stored like a real
 * request for no account, so the browser sees the same page.
 *   SL_EBUSY    [smartid] max_pending requests already wait (decoys too);
 *   SL_ETOOBIG  a rate limit (number, address, RP);
 *   SL_ESTORE   the store failed. */
int sid_request_create(
	struct server *srv, const struct sid_request_spec *spec, struct sid_request_made *out, struct sl_err *err);

/* ---- handlers ---- */
void sid_channel_get(void *ctx, struct http_request *rq);
void sid_confirm_post(void *ctx, struct http_request *rq);
void sid_status_get(void *ctx, struct http_request *rq);
void sid_devices_get(void *ctx, struct http_request *rq);
void sid_devices_remove(void *ctx, struct http_request *rq);
void sidlogin_page(void *ctx, struct http_request *rq);
void sidlogin_submit(void *ctx, struct http_request *rq);
void sidlogin_wait(void *ctx, struct http_request *rq);
void sidlogin_poll(void *ctx, struct http_request *rq);
void sidlogin_extend(void *ctx, struct http_request *rq);

/* sid_notices.c: GET /device/v1/smartid/notices */
void sid_notices_get(void *ctx, struct http_request *rq);

#endif
