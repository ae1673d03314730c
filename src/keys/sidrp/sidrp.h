/*
 * sidrp — the Smart-ID RP API on the accounts of src/keys/splitkey
 * (docs/smart-id.md is the contract: what an RP sends and gets, and what
 * the device sees; src/sidproto the published rules it follows).
 *
 *   {issuer}/smart-id/v3/...   authentication, signature, certificate and
 *                              certificate-choice sessions (device-link
 *                              and notification), session status long-poll
 *   {issuer}/smart-id/v2/...   the v2 shape of the same sessions
 *   POST /device/v1/smartid/link   a device claims a device-link session
 *                              it scanned (authCode and age checked here)
 *   GET /smart-id/device-link  what a phone without the app sees
 *
 * A session is a row (store_sid_session); the person's part is an
 * ordinary Smart-ID signing request (store_sid_request, link_kind
 * "rpapi", link_id = session id) answered on the device API like a
 * portal login.  The split-key module calls back here for such requests:
 * sidrp_request_digest() when it completes a signature and
 * sidrp_request_finished() when the request ends.
 */
#ifndef SL_SIDRP_H
#define SL_SIDRP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../http/http.h"
#include "../../server/server.h"
#include "../../store/store.h"

#define SIDRP_LINK_KIND "rpapi" /* store_sid_request.sq_link_kind of an RP API request */
#define SIDRP_V3_BASE "/smart-id/v3/"
#define SIDRP_V2_BASE "/smart-id/v2/"
#define SIDRP_DEVICE_LINK_PAGE "/smart-id/device-link"

/* What a device said with its answer to an RP API request (the device
 * API's POST /requests/{id}: docs/smart-id.md "Device side"). */
struct sidrp_answer {
	const char *sa_user_challenge; /* ACSP_V2: b64url, 43 chars; else NULL */
	const char *sa_interaction; /* the interaction type shown ("displayTextAndPIN", ...) or NULL */
	const char *sa_refusal; /* a refusal's reason: "refused", "wrong_vc", "interaction", "cert_choice",
				   "not_supported"; NULL for a confirmation */
};

/* true when `r` is an RP API request. */
bool sidrp_is_rp_request(const struct store_sid_request *r);

/* The hash the split-key signature of an RP API request is completed
 * over (sk_encode with r->sq_digest and r->sq_padding): for ACSP_V2 the
 * payload's hash with the device's userChallenge and interaction (both
 * checked: SL_EINVAL with a message for a malformed challenge or an
 * interaction the request did not offer), for RAW_DIGEST_SIGNATURE and v2
 * the RP's digest (r->sq_hash).  *outlen at most 64. */
int sidrp_request_digest(struct server *srv, const struct store_sid_request *r, const struct sidrp_answer *a,
	uint8_t *out, size_t *outlen, struct sl_err *err);

/* An RP API request ended ("approved", "refused", "failed", "expired"):
 * the session completes with its end result (re-reading the request for
 * the device and signature), and its status long-polls wake.  `a` may be
 * NULL (a device's end, a lock).  Quiet when the session already
 * completed. */
void sidrp_request_finished(
	struct server *srv, const struct store_sid_request *r, const char *status, const struct sidrp_answer *a);

/* The waiter key of a session: notified when it completes. */
void sidrp_session_wait_key(const char *session_id, char *out, size_t len);

/* Route table: the RP API (v3, v2), the device's link claim, the device
 * link page.  Mounted when [smartid] rp_api and the smartid key are on. */
extern const struct http_route sidrp_routes[];
extern const size_t sidrp_nroutes;

#endif
