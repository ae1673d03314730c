/*
 * app — the sleutel app key on the server side (DESIGN §1 "App login",
 * §4; PROTOCOL.md; docs/device-api.md is the wire contract).
 *
 * Two halves behind this one header:
 *   device side (device_int.h): the device API /device/v1 — device proofs,
 *     enrolment, the request channel, confirmation and refusal, the lockout
 *     schedule, device list and removal;
 *   request side (request_int.h): making a request for the phone (portal
 *     login, CIBA, payments) with its limits, the portal's app pages.
 *
 * A request's life: app_request_create() stores it (pending, 3 minutes) and
 * wakes the account's devices; the device answers through the device API,
 * which records the outcome on the request, then finishes what the request
 * was made for (the pending OIDC authorization request, or the CIBA
 * request) and wakes whoever waits on app_request_wait_key().
 */
#ifndef SL_APP_H
#define SL_APP_H

#include "../../http/http.h"
#include "../../oidc/oidc.h"
#include "../../server/server.h"
#include "../../store/store.h"

#define APP_PHONE_MAX 17 /* "+" and at most 15 digits (E.164), NUL */
#define APP_CODE_LEN 4 /* the verification code both screens show */
#define APP_NCODES 3 /* the app shows this many codes, one of them right */
#define APP_DISPLAY_MAX 1024 /* bytes of display text */
#define APP_BINDING_MAX 128 /* bytes of a CIBA binding_message */
#define APP_KEY_NAME "app"
#define APP_AMR "[\"swk\",\"pin\",\"mfa\"]" /* RFC 8176: software key + code, two factors */

/* ---- shared ---- */

/* Normalise a phone number typed by a person or sent by an app or RP into
 * E.164 ("+32470123456"): spaces, dots, dashes, slashes and parentheses
 * are dropped; "00" becomes "+"; a national number (leading 0, or no
 * prefix) gets the default calling code `default_cc` ("32") with the
 * trunk 0 removed.  SL_EINVAL for anything else (letters, too short or
 * long: E.164 allows 8..15 digits after "+"). */
int app_phone_normalize(const char *in, const char *default_cc, char out[APP_PHONE_MAX]);

/* display.c (shared with the Smart-ID key): build the display text for
 * `action` ("login" or "payment") in language `lang` (index into config_languages): the login sentence or the payment
 * sentence from `pay`, then the CIBA binding message on its own line when
 * given.  Deterministic: the same inputs always give the same bytes.
 * SL_ETOOBIG past APP_DISPLAY_MAX, SL_EINVAL for a bad action. */
int app_display_text(int lang, const char *action, const char *rp_name, const struct oidc_payment *pay,
	const char *binding_message, char *out, size_t outlen);

/* The waiter key of a request: notified when its status leaves "pending". */
void app_request_wait_key(const char *apprq_id, char *out, size_t len);
/* The waiter key of an account's devices (the request channel). */
void app_account_wait_key(const char *account_id, char *out, size_t len);

/* The stored context of a login (context.c) as the app gets it, its
 * strings checked readable; new reference, NULL when there is none. */
json_t *app_context_object(const char *context);

/* ---- request side (request.c, ratelimit.c) ---- */

struct app_request_spec {
	const char *as_phone; /* as typed: normalised here */
	const struct store_client *as_client; /* the RP */
	const char *as_action; /* "login" or "payment" */
	const char *as_authz_details; /* RFC 9396 JSON array (payment), or NULL */
	const char *as_binding_message; /* CIBA, or NULL */
	const char *as_link_kind; /* "authreq" or "ciba" */
	const char *as_link_id; /* the OIDC request or CIBA auth_req_id */
	const char *as_ip; /* the browser's or RP's address, for limits and audit (server_person_ip) */
	char as_ipbuf[SERVER_IP_MAX]; /* where a forwarded address is kept */
	const char *as_context; /* JSON context of the browser that started the login (context.c), or NULL */
	int as_lang; /* index into config_languages: the display text's language */
	int as_lifetime; /* seconds; 0 = [app] request_lifetime */
	bool as_decoy; /* a number without a usable account gets a decoy (below) */
	/* CIBA: its record, stored in the request's commit (its apprq_id and
	 * expiry are the request's), or NULL. */
	const struct store_ciba *as_ciba;
};

struct app_request_made {
	char am_id[64]; /* the app request id */
	char am_code[APP_CODE_LEN + 1]; /* the verification code the browser shows */
	int64_t am_expires;
};

/* Count one enrolment start against the number's and the address's
 * limits ([app] rate_phone, rate_ip per rate_window), all or none, in the
 * request side's bounded table (separate counters from logins).  SL_OK;
 * SL_ETOOBIG at a limit; SL_EBUSY when the table is full (refused: a full
 * table never switches limits off). */
int app_rate_enrol(struct server *srv, const char *phone, const char *ip);
/* A number's wrong SMS activation codes across enrolments ([app]
 * sms_wrong_window, sms_wrong_per_window, sms_wrong_max): charge one try
 * before the code is compared (SL_ETOOBIG: spent, nothing charged), or
 * only ask whether they are spent (SL_ETOOBIG) before a new enrolment
 * sends a code.  A right code clears them (store_phone_fail_clear). */
int app_sms_wrong_charge(struct server *srv, const char *phone);
int app_sms_wrong_spent(struct server *srv, const char *phone);
/* Count one request for a person's device against the request side's
 * limits, all or none: [app] rate_phone per `subject` (a phone number, or
 * another key's handle such as "sid:<national number>"; `what` names it in
 * the message), rate_rp per RP, rate_ip per address (`ip` NULL: none, for
 * a client-authenticated RP server's call such as CIBA), per rate_window.
 * SL_OK; SL_ETOOBIG at a limit or when the table is full (err says which). */
int app_rate_request(struct server *srv, const char *subject, const char *what, const char *client_id, const char *ip,
	struct sl_err *err);
/* Count one start of something else under `key` (a namespaced string:
 * "sr:<address>" for Smart-ID registrations) against `limit` per [app]
 * rate_window, in the same bounded table.  SL_OK, SL_ETOOBIG at the limit,
 * SL_EBUSY when the table is full, SL_EINVAL for a key too long. */
int app_rate_count(struct server *srv, const char *key, int limit);
/* The key an address is counted under: IPv4 as is, IPv6 by its /56 (one
 * subscriber's prefix), anything else as is, at most `len` - 1 bytes. */
void app_rate_ip_key(const char *ip, char *out, size_t len);

/* Make a request for the phone of `as_phone` and wake its devices.
 *   SL_ENOTFOUND  no active account with that number (the caller decides
 *                 what to show: the portal does not reveal it);
 *   SL_EDENIED    the account is blocked or locked (err says until when);
 *   (with as_decoy neither: such a number gets a decoy request, stored
 *   like a real one for an account nobody has, so the page looks the
 *   same, nobody answers it, and it costs what a real request costs;
 *   SL_OK with its id and code, or SL_EBUSY at max_pending)
 *   SL_EBUSY      [app] max_pending requests are already pending;
 *   SL_ETOOBIG    a rate limit (phone, IP or RP) was hit;
 *   SL_EINVAL     bad spec (authorization_details, binding message).
 * The display text is built here, in as_lang, from the RP's name and the
 * action (and for a payment from authorization_details), and is stored:
 * it is exactly what the app shows and what the confirmation signs. */
int app_request_create(
	struct server *srv, const struct app_request_spec *spec, struct app_request_made *out, struct sl_err *err);

/* Route table of the request side (portal pages for the app key). */
extern const struct http_route app_login_routes[];
extern const size_t app_login_nroutes;

/* ---- device side (device API) ---- */

/* Route table of the device API (/device/v1/...). */
extern const struct http_route app_device_routes[];
extern const size_t app_device_nroutes;

/* A request as the app sees it (docs/device-api.md "GET /requests"),
 * with the starting browser's context when it has one; the scan answers
 * with the same object.  New reference, NULL when out of memory. */
json_t *app_request_json(const struct store_apprq *r, int64_t now);

/* One round of a device's request channel ("GET /requests", channel.c;
 * the Smart-ID channel too): 200 {"requests": list} (borrowed) when it has
 * any or `at_once`; 204 when this is the round after a wait (timeout,
 * shutdown); otherwise the connection waits on `wait_key` until [app]
 * poll_timeout, `has(arg)` rechecked, and the handler runs again. */
void app_channel_reply(struct server *srv, struct http_request *rq, json_t *list, bool at_once, const char *wait_key,
	bool (*has)(void *), void *arg);
/* Authenticate a device-API request by its proof (the DPoP header) as a
 * registered, active device: SL_OK with the record; otherwise the 401 is
 * already sent and SL_EDENIED returned. */
int app_device_authenticate(struct server *srv, struct http_request *rq, struct store_device *out);
/* The same, with the device's account as read for the decision (active):
 * *acct filled on SL_OK only (store_account_clear). */
int app_device_authenticate_account(
	struct server *srv, struct http_request *rq, struct store_device *out, struct store_account *acct);

/* The same, the proof verified but its jti NOT recorded: the caller
 * records it (app_proof_jti) in the transaction of its first write, and
 * answers nothing that changed state before (the confirmation: with the
 * attempt's charge, store_account_attempt_jti).  *proof filled on SL_OK. */
struct app_proof;
int app_device_authenticate_deferred(struct server *srv, struct http_request *rq, struct store_device *out,
	struct store_account *acct, struct app_proof *proof);
/* Start-up: load or create the device-API sealing key and the at-rest key
 * (keys dir); on failure sleuteld does not start. */
int app_keys_load(struct server *srv, struct sl_err *err);
void app_keys_free(struct server *srv);
/* The device-API public key document (also served at /device/v1/keys). */
json_t *app_keys_public(struct server *srv);

/* ---- the device-API toolkit (keys.c, wire.c, dpop.c, device.c) ----
 * Shared with the other key modules that talk to phones over
 * /device/v1 (src/keys/splitkey): the same proofs, sealing, bodies and
 * errors (docs/device-api.md). */
#define APP_KID_MAX 64 /* bytes of a sealing key id */
#define APP_JKT_LEN 43 /* base64url SHA-256 */
#define APP_ID_MAX 64 /* bytes of an id in a path or body */
#define APP_JTI_MIN 16
#define APP_JTI_MAX 64
/* Open a value the app sealed to the published key `kid` (b64url), aad =
 * `aad`.  SL_EINVAL malformed, SL_EDENIED does not open. *plain malloc'd. */
int app_unseal_b64(struct server *srv, const char *kid, const char *b64, const char *aad, uint8_t **plain,
	size_t *plainlen, struct sl_err *err);
/* The same for values up to APP_SEALED_BIG_MAX characters (split-key
 * shares and partial signatures, at most SK_JSON_MAX bytes sealed). */
#define APP_SEALED_BIG_MAX 24576
int app_unseal_b64_big(struct server *srv, const char *kid, const char *b64, const char *aad, uint8_t **plain,
	size_t *plainlen, struct sl_err *err);
#define APP_JSON_MAX_DEPTH 8
/* Parse a JSON object body (duplicate keys refused, depth bounded). */
int app_json_parse(const uint8_t *data, size_t len, json_t **out, struct sl_err *err);
/* The request's JSON body (Content-Type application/json); on failure the
 * 400 is sent and NULL returned. */
json_t *app_json_body(struct http_request *rq);
/* {"error","error_description"} plus the fields of `extra` (stolen, may be NULL). */
void app_send_error(struct http_request *rq, int status, const char *error, const char *desc, json_t *extra);
/* {"notices": [...]}: the person's unread notices about devices other than
 * `device_id`, made since `since` (the asking device's enrolment), for a
 * device API (notices.c; the app's and Smart-ID's); NULL when the store
 * fails. */
json_t *app_notices_for_device(struct server *srv, const char *person_id, const char *device_id, int64_t since);
/* Record a notice (store_notice_add) for the person's devices and account
 * page: `kind` "device.added", "device.blocked" or "device.revoked" about
 * device `device_id` of `device_kind` ("app" or "smartid"); logged, not
 * returned, when it cannot be written (what it tells of stands). */
void app_notice_device(struct server *srv, const char *person_id, const char *kind, const char *device_kind,
	const char *device_id, const char *device_name);
/* A string member of at most `max` bytes without NUL; NULL otherwise. */
const char *app_json_str(json_t *o, const char *name, size_t max);
/* RFC 7638 thumbprint of a P-256 public JWK (b64url, 43 chars); also
 * checks the JWK is exactly that (kty EC, crv P-256, x/y on the curve). */
int app_jwk_thumbprint(json_t *jwk, char out[APP_JKT_LEN + 1], struct sl_err *err);
struct app_proof {
	char ap_jkt[APP_JKT_LEN + 1];
	char ap_jti[APP_JTI_MAX + 1];
	int64_t ap_iat;
};
/* The jti record of a verified proof (store_jti_use's key "dev:<jkt>",
 * until iat + [app] proof_window + 1); `key` holds its key string. */
struct app_jti_key {
	char jk_key[APP_JKT_LEN + 8];
};
void app_proof_jti(struct server *srv, const struct app_proof *pr, struct app_jti_key *key, struct store_jti *out);
/* The kid of a proof (its header), unverified: which key to check it with. */
int app_proof_kid(const char *proof, char out[APP_JKT_LEN + 1]);
/* Verify a proof with transport key `jwk` for `htm` `htu` at `now`
 * (|iat - now| <= window).  No replay check: the caller records the jti. */
int app_proof_verify(const char *proof, json_t *jwk, const char *htm, const char *htu, int64_t now, int window,
	struct app_proof *out, struct sl_err *err);
/* The verifying key of transport key `jwk`: checked like
 * app_jwk_thumbprint() (which goes to `jkt`), bound to ES256 with the
 * thumbprint as its kid.  NULL on error; jose_key_free(). */
struct jose_key *app_proof_key(json_t *jwk, char jkt[APP_JKT_LEN + 1], struct sl_err *err);
/* app_proof_verify() with a key made by app_proof_key() (or kept: see
 * app_devkeys_transport()); ap_jkt is the key's kid. */
int app_proof_verify_key(const char *proof, struct jose_key *key, const char *htm, const char *htu, int64_t now,
	int window, struct app_proof *out, struct sl_err *err);
/* The whole check for a request: header, verify, replay (jti recorded).
 * `jwk` is the key the proof's kid names (the caller looked it up). */
int app_proof_check(
	struct server *srv, struct http_request *rq, json_t *jwk, struct app_proof *out, struct sl_err *err);
/* The same with a key made by app_proof_key(). */
int app_proof_check_key(
	struct server *srv, struct http_request *rq, struct jose_key *key, struct app_proof *out, struct sl_err *err);
/* The first request of a device, whose body brings its transport key
 * `jwk`: the key is a P-256 JWK (its thumbprint to `jkt`), the proof's kid
 * names it and the proof checks.  False when the 400 invalid_key or the
 * 401 is already sent. */
bool app_body_key_ok(struct server *srv, struct http_request *rq, json_t *jwk, char jkt[APP_JKT_LEN + 1]);
/* The public members of a checked P-256 JWK as compact JSON text, as
 * stored (malloc'd; NULL when out of memory). */
char *app_jwk_public_text(json_t *jwk);
/* 401 invalid_proof with WWW-Authenticate: DPoP. */
void app_send_invalid_proof(struct http_request *rq, const char *desc);
/* The htu of this request: issuer + path. */
int app_htu(struct server *srv, struct http_request *rq, char *out, size_t len);
/* A syntactically valid id (b64url, 1..APP_ID_MAX). */
bool app_id_ok(const char *id);
/* Seal `data` to the at-rest key (aad binds it to its row), b64url
 * malloc'd; and open it again (*plain malloc'd, cleanse it when secret). */
char *app_rest_seal_bytes(struct server *srv, const char *aad, const uint8_t *data, size_t len, struct sl_err *err);
int app_rest_open_bytes(struct server *srv, const char *aad, const char *sealed_b64, uint8_t **plain, size_t *plainlen,
	struct sl_err *err);

#endif
