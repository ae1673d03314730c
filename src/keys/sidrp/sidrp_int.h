/*
 * sidrp_int.h — what the RP API's files share (docs/smart-id.md).
 *
 *   routes.c    the route table                                   [rpapi]
 *   problem.c   RFC 9457 problem answers                           [rpapi]
 *   parse.c     v3 request bodies -> struct sidrp_req (pure,
 *               fuzzed)                                            [rpapi]
 *   parse_v2.c  v2 request bodies -> struct sidrp_req (pure,
 *               fuzzed)                                            [rpapi]
 *   rp_auth.c   the RP: UUID + name, source address, permission    [rpapi]
 *   create.c    making a session: idempotency, limits, the
 *               account or device, the secret and token, the
 *               notification request                               [rpapi]
 *   v3.c, v2.c  the endpoints of each shape                        [rpapi]
 *   status.c    GET session/{id}: long-poll, TIMEOUT, the v3 and
 *               v2 answers                                         [rpapi]
 *   request.c   sidrp_request_make(): a session's signing request
 *               for one account (or device), devices woken         [rpdevice]
 *   link.c      POST /device/v1/smartid/link: a scanned link
 *               claimed; GET /smart-id/device-link                 [rpdevice]
 *   answer.c    sidrp_request_digest(), sidrp_request_finished(),
 *               sidrp_session_end(): the end result, signature and
 *               certificate                                        [rpdevice]
 *
 * A COMPLETE session's ss_result is the v3 status body without "state"
 * ({"result": {"endResult", "documentNumber", "details"},
 * "signatureProtocol", "signature", "cert", "interactionTypeUsed",
 * "deviceIpAddress", "ignoredProperties"}): answer.c writes it, status.c
 * answers it as it is (v3) or in the v2 shape.
 */
#ifndef SL_SIDRP_INT_H
#define SL_SIDRP_INT_H

#include <jansson.h>

#include "../../sidproto/sidproto.h"
#include "../splitkey/splitkey.h"
#include "sidrp.h"

#define SIDRP_BODY_MAX 65536 /* bytes of a request body */
#define SIDRP_TIMEOUT_MIN_MS 1000
#define SIDRP_TIMEOUT_MAX_MS 120000
#define SIDRP_TIMEOUT_DEFAULT_MS 60500
#define SIDRP_UUID_LEN 36
#define SIDRP_SUPERSEDE_MAX 20 /* an RP's older pending requests to one account ended at once (>= max_pending) */

/* ---- parse.c, parse_v2.c (pure) ---- */
enum sidrp_type { SIDRP_AUTH = 1, SIDRP_SIGN, SIDRP_CERT_CHOICE, SIDRP_CERT /* signature/certificate: sync */ };
enum sidrp_flow { SIDRP_DEVICE_LINK = 1, SIDRP_NOTIFICATION, SIDRP_LINKED /* notification/linked */ };
enum sidrp_target { SIDRP_ANONYMOUS = 1, SIDRP_ETSI, SIDRP_DOCUMENT };
enum sidrp_level { SIDRP_ADVANCED = 1, SIDRP_QUALIFIED, SIDRP_QSCD };

/* A creation request, validated; strings point into `sr_body` (the parsed
 * JSON, owned) or the path. */
struct sidrp_req {
	json_t *sr_body;
	int sr_api; /* 3 or 2 */
	enum sidrp_type sr_type;
	enum sidrp_flow sr_flow;
	enum sidrp_target sr_target;
	char sr_target_value[64]; /* 11 digits (etsi PNOBE-) or a document number */
	const char *sr_rp_uuid;
	const char *sr_rp_name;
	enum sidrp_level sr_level; /* default QUALIFIED */
	const char *sr_protocol; /* "ACSP_V2", "RAW_DIGEST_SIGNATURE", NULL (certificates) */
	const char *sr_rp_challenge; /* ACSP_V2: b64 as sent (32..64 bytes decoded) */
	const char *sr_digest; /* RAW_DIGEST_SIGNATURE / v2 hash: b64 as sent, of sr_hash's length */
	const struct sidp_hash *sr_hash;
	bool sr_pss; /* rsassa-pss (else PKCS#1 v1.5) */
	const char *sr_interactions_b64; /* v3: as sent; NULL for certificates */
	struct sidp_interactions sr_interactions;
	const char *sr_callback_url; /* initialCallbackUrl or NULL */
	const char *sr_nonce;
	const char *sr_vc_type; /* "numeric4" (v3 notification authentication) */
	const char *sr_linked_session; /* notification/linked */
	bool sr_share_ip; /* requestProperties.shareMdClientIpAddress */
	json_t *sr_ignored; /* array: requestProperties we do not know (ignoredProperties); owned */
};
/* A problem: the RFC 9457 answer parse and the handlers give. */
struct sidrp_problem {
	int sp_status; /* 400, 401, 403, 404, 415, 429, 471, 472, 480, 503 */
	char sp_detail[256];
	char sp_param[80]; /* the request member at fault ("" for none): errors[0].paramName; pointer "/<param>" with
			      each '.' a '/' */
	char sp_code[48]; /* errors[0].code for 404s ("NO_SUITABLE_ACCOUNT_FOUND") or "" */
};
/* `path` is what follows SIDRP_V3_BASE ("authentication/device-link/
 * anonymous", "signature/notification/etsi/PNOBE-85073003328", ...),
 * `body` the raw body.  SL_OK, or SL_EINVAL with *pr filled (400 for a
 * bad body, 404 for an unknown path or identifier shape). */
int sidrp_parse_v3(const char *path, const char *body, size_t len, struct sidrp_req *out, struct sidrp_problem *pr);
/* The same for SIDRP_V2_BASE paths ("authentication/etsi/..",
 * "signature/document/..", "certificatechoice/etsi/.."). */
int sidrp_parse_v2(const char *path, const char *body, size_t len, struct sidrp_req *out, struct sidrp_problem *pr);
void sidrp_req_clear(struct sidrp_req *r);
/* The validated request as the session keeps it (ss_params; its members
 * are listed above sidrp_req_to_json in parse.c).  New reference. */
json_t *sidrp_req_to_json(const struct sidrp_req *r);
/* "ADVANCED", "QUALIFIED", "QSCD". */
const char *sidrp_level_name(enum sidrp_level l);
/* A UUID's shape: 8-4-4-4-12 hex digits (either case). */
bool sidrp_uuid_ok(const char *s);

/* ---- parse helpers (parse.c, shared with parse_v2.c) ---- */
/* One creation endpoint: its path after the API base, up to the
 * identifier (the whole path when anonymous). */
struct sidrp_endpoint {
	const char *se_prefix;
	enum sidrp_type se_type;
	enum sidrp_flow se_flow;
	enum sidrp_target se_target;
};
/* Fill *pr (sp_param may be "a.b": pointer "/a/b"); returns SL_EINVAL. */
int sidrp_bad(struct sidrp_problem *pr, int status, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Start parsing for `api` (3, 2): out and pr cleared, the endpoint of
 * `path` in `table` and its identifier (PNOBE-<11 valid digits>,
 * PNOBE-<11>-XXXX-Q) else 404, at most SIDRP_BODY_MAX bytes of one JSON
 * object (no duplicate member) into out->sr_body else 400. */
int sidrp_parse_start(int api, const char *path, const struct sidrp_endpoint *table, size_t n, const char *body,
	size_t len, struct sidrp_req *out, struct sidrp_problem *pr);
/* A string member `name` (reported as `param`) of 1..max bytes, no NUL;
 * *out NULL when absent (or null) and not required. */
int sidrp_str(json_t *o, const char *name, const char *param, bool required, size_t max, const char **out,
	struct sidrp_problem *pr);
/* relyingPartyUUID and relyingPartyName. */
int sidrp_common_parse(struct sidrp_req *r, struct sidrp_problem *pr);
/* certificateLevel (QSCD allowed when `qscd`); default QUALIFIED. */
int sidrp_level_parse(struct sidrp_req *r, bool qscd, struct sidrp_problem *pr);
int sidrp_nonce_parse(struct sidrp_req *r, struct sidrp_problem *pr);
/* capabilities and requestProperties. */
int sidrp_extras_parse(struct sidrp_req *r, struct sidrp_problem *pr);
/* Canonical standard Base64 (padding, zero trailing bits) of min..max
 * bytes; *declen the decoded length (may be NULL).  SL_EINVAL otherwise. */
int sidrp_b64_canonical(const char *s, size_t min, size_t max, size_t *declen);

/* ---- problem.c ---- */
void sidrp_send_problem(struct http_request *rq, const struct sidrp_problem *pr);
/* Fill and send in one: sidrp_fail(rq, 404, "NO_SUITABLE_ACCOUNT_FOUND", NULL, "..."). */
void sidrp_fail(struct http_request *rq, int status, const char *code, const char *param, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- rp_auth.c ---- */
/* `ip` (an address as text) is covered by the comma-separated list of
 * addresses and CIDRs `allow` (IPv4, IPv6; NULL or "": any). */
bool sidrp_ip_allowed(const char *allow, const char *ip);
/* `perm` is a token of the space-separated permission list `list`. */
bool sidrp_has_permission(const char *list, const char *perm);
/* The RP of `r` for an endpoint needing `perm` ("auth", "sign", "cert";
 * NULL: none; a v2 request needs "v2" as well): 403 unknown or disabled
 * UUID, 401 another name or address, 403 no permission.  SL_OK with *rp (clear it) and the caller's address
 * in `ip`; otherwise the problem is sent (and audited). */
int sidrp_rp_check(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *perm,
	struct store_sid_rp *rp, char ip[SERVER_IP_MAX]);
/* An audit row of the RP API (au_key "smartid", au_client_id the RP). */
void sidrp_audit(struct server *srv, const char *event, const char *result, const char *rp_uuid, const char *ip,
	const char *detail);

/* ---- create.c ---- */
/* A session made (or found again: idempotent creation). */
struct sidrp_created {
	struct store_sid_session sc_session; /* owned: store_sid_session_clear */
	char sc_secret[SIDP_SECRET_BYTES * 2]; /* sessionSecret, b64 ("" for notification flows) */
	char sc_link_base[1024]; /* deviceLinkBase */
};
/* Make the session of a validated request `r` (at `path`, the whole
 * request path, `body` as sent: both in the idempotency key) for the checked RP `rp` called from `ip`.  SL_OK
 * with *out; otherwise the problem (404, 429, 471/472 for v2, 503) is
 * sent. */
int sidrp_session_create(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *path,
	const uint8_t *body, size_t len, const struct store_sid_rp *rp, const char *ip, struct sidrp_created *out);
/* POST signature/certificate/{doc} by the checked RP `rp` from `ip`:
 * the answer at once (bounded and audited: cert_limit.c). */
void sidrp_certificate_answer(struct server *srv, struct http_request *rq, const struct sidrp_req *r,
	const struct store_sid_rp *rp, const char *ip);

/* ---- cert_limit.c ---- */
/* SL_OK when the RP's misses (per RP, per RP and national number) are not
 * spent; otherwise 429 (or 503) is sent and audited. */
int sidrp_cert_limit_check(
	struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *rp_uuid, const char *ip);
/* An unknown document number: counted and audited, then 404 (429 once the
 * count is spent). */
void sidrp_cert_miss(
	struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *rp_uuid, const char *ip);
/* A creation POST of either API: parse (with `parse`), the RP, the
 * session; `answer` writes the 200 body of a made session. */
void sidrp_post(struct server *srv, struct http_request *rq, const char *base,
	int (*parse)(const char *, const char *, size_t, struct sidrp_req *, struct sidrp_problem *),
	json_t *(*answer)(const struct sidrp_req *, const struct sidrp_created *));
/* [smartid] certificate_level. */
enum sidrp_level sidrp_configured_level(struct server *srv);
/* The "auth"/"sign"/"cert" permission and session type of a request. */
const char *sidrp_type_word(enum sidrp_type t);
/* Any path under /smart-id/v1/: 480, the client is too old. */
void sidrp_v1_gone(void *ctx, struct http_request *rq);

/* ---- request.c ---- */
/* A session's request as the device side reads it back from ss_params
 * (the RP's body as sidrp_req_to_json keeps it): the fields the device
 * shows and signs.  Strings borrowed from pa_json (owned). */
struct sidrp_params {
	json_t *pa_json;
	int pa_api; /* 3 or 2 */
	const char *pa_rp_name;
	const char *pa_brokered; /* "" when none */
	const char *pa_protocol; /* "ACSP_V2", "RAW_DIGEST_SIGNATURE", or NULL (certificate choice, v2) */
	const char *pa_challenge; /* ACSP_V2: rpChallenge; signing and v2: the digest (b64 as sent); else NULL */
	const struct sidp_hash *pa_hash; /* SHA-512 when the request names none (certificate choice) */
	bool pa_pss;
	const char *pa_interactions_b64; /* v3 as sent, or NULL */
	json_t *pa_interactions_v2; /* v2's allowedInteractionsOrder (borrowed), or NULL */
	struct sidp_interactions pa_inter; /* parsed; sn 0 for a certificate choice */
	const char *pa_callback; /* initialCallbackUrl or "" */
	json_t *pa_ignored; /* ignoredProperties (borrowed) or NULL */
};
/* SL_EINVAL with a message when ss_params is not a request of its type. */
int sidrp_params_load(const struct store_sid_session *s, struct sidrp_params *p, struct sl_err *err);
void sidrp_params_clear(struct sidrp_params *p);
/* The interaction rules of a flow ("Notification", "QR", ...) and API. */
enum sidp_flow_rules sidrp_rules(int api, const char *flow_type);
/* The device link base this server answers with and accepts. */
void sidrp_device_link_base(const struct server *srv, char *out, size_t len);
/* Make the signing request of a session for `account_id` (and only
 * `device_id` when not NULL: a document number, a claimed link), with the
 * device-facing fields (sq_extra: docs/smart-id.md "Device side"), wake
 * the account's devices, and record it on the session (notification
 * flows: at creation; device-link flows: at the claim, which also takes
 * the session).  `request_id` out (APP_ID_MAX + 1).  SL_EBUSY when the
 * account has [smartid] max_pending requests waiting; SL_ECONFLICT when
 * the session was already claimed; SL_ESTORE. */
int sidrp_request_make(struct server *srv, const struct store_sid_session *s, const char *account_id,
	const char *device_id, const char *flow_type, char *request_id, struct sl_err *err);

/* ---- answer.c ---- */
/* Complete a RUNNING session with an end result only (TIMEOUT,
 * USER_REFUSED, ...): store_sid_session_complete with {"endResult": ..}
 * and the waiters woken.  Quiet when already complete. */
void sidrp_session_end(struct server *srv, const char *session_id, const char *end_result, const char *detail);

/* ---- handlers ---- */
void sidrp_v3_post(void *ctx, struct http_request *rq);
void sidrp_v2_post(void *ctx, struct http_request *rq);
void sidrp_v3_session_get(void *ctx, struct http_request *rq);
void sidrp_v2_session_get(void *ctx, struct http_request *rq);
void sidrp_link_post(void *ctx, struct http_request *rq);
void sidrp_link_page(void *ctx, struct http_request *rq);

#endif
