/*
 * device_int.h — the device side of the app key: what its files share.
 *
 *   keys.c      the device-API sealing keys (published) and the at-rest key
 *               that seals each device's confirmation key Q in the store;
 *               the SMS-code MAC key; the enrolment rate-limit table
 *   wire.c      JSON bodies in, JSON errors out (the edges)
 *   proof.c     device proofs: JWS, claims, thumbprints (pure)
 *   dpop.c      the proof on a request (jti replay), app_device_authenticate()
 *   phone.c     app_phone_normalize()
 *   enroll.c    POST /enroll/start, /enroll/sms/resend, /enroll/sms,
 *               GET /enroll, POST /enroll/finish (+ the test-only route)
 *   channel.c   GET /requests: the request channel (long-poll)
 *   confirm.c   POST /requests/{id}: approve or refuse, the lockout schedule
 *   devices.c   GET /devices, POST /devices/{id}/remove
 *   device.c    the route table, GET /config and /keys, the waiter keys
 *
 * Waiter keys (other modules notify them):
 *   "enroll:<enrollment_id>"   the enrolment's status changed (proofing sets
 *                              "proofed" and notifies it; GET /enroll waits
 *                              on it) — build it with app_enroll_wait_key();
 *   app_account_wait_key()     a request was made for the account;
 *   app_request_wait_key()     a request left "pending".
 *
 * Enrolment proofing result (store_enrollment en_person, written by
 * proofing): a JSON object {"rrn","given_name","family_name","birthdate"}
 * (birthdate may be absent or null), read by POST /enroll/finish.
 */
#ifndef SL_APP_DEVICE_INT_H
#define SL_APP_DEVICE_INT_H

#include <openssl/types.h>

#include "app.h"

#define APP_DEVICE_BASE "/device/v1"
#define APP_SEAL_KEYS_MAX 8 /* published sealing keys (current + older) */
#define APP_KID_MAX 64 /* bytes of a sealing key id */
#define APP_JKT_LEN 43 /* base64url SHA-256 */
#define APP_ID_MAX 64 /* bytes of an id in a path or body */
#define APP_JTI_MIN 16
#define APP_JTI_MAX 64
#define APP_PROOF_MAX 4096 /* bytes of a DPoP header */
#define APP_SMS_CODE_LEN 5
#define APP_DEVICE_NAME_MAX 64 /* bytes of a device name */
#define APP_TERMS_MAX 32
#define APP_SEALED_MAX 1024 /* characters of a sealed value (b64url) */

/* Lockout schedule (DESIGN §4): wrong app codes in a row. */
#define APP_LOCK1_FAILURES 3
#define APP_LOCK1_SECONDS (3 * 3600)
#define APP_LOCK2_FAILURES 6
#define APP_LOCK2_SECONDS (24 * 3600)
#define APP_LOCK_FOREVER_FAILURES 9

/* ---- keys.c ---- */
struct app_seal_key {
	char sk_kid[APP_KID_MAX];
	EVP_PKEY *sk_priv;
	uint8_t sk_pub[P256_PUB_LEN];
};

struct app_keys {
	struct app_seal_key ak_seal[APP_SEAL_KEYS_MAX]; /* [0] is current */
	size_t ak_nseal;
	struct app_seal_key ak_rest; /* at-rest key for Q; never published */
};

/* The sealing key with `kid`, or NULL (immutable after start: no lock). */
const struct app_seal_key *app_seal_key_find(struct server *srv, const char *kid);
/* Open a value the app sealed to the published key `kid` (b64url), aad =
 * `aad`.  SL_EINVAL malformed, SL_EDENIED does not open. *plain malloc'd. */
int app_unseal_b64(struct server *srv, const char *kid, const char *b64, const char *aad, uint8_t **plain,
	size_t *plainlen, struct sl_err *err);
/* Q sealed to the at-rest key (aad = device id), b64url malloc'd; and back. */
char *app_rest_seal(struct server *srv, const char *device_id, const uint8_t q[P256_PUB_LEN], struct sl_err *err);
EVP_PKEY *app_rest_open(struct server *srv, const char *device_id, const char *sealed_b64, struct sl_err *err);
/* Hex HMAC of an SMS code, bound to the enrolment. out: 65 bytes. */
int app_sms_mac(struct server *srv, const char *enrollment_id, const char *code, char out[2 * SL_SHA256_LEN + 1]);

/* ---- wire.c ---- */
#define APP_JSON_MAX_DEPTH 8
/* Parse a JSON object body (duplicate keys refused, depth bounded). */
int app_json_parse(const uint8_t *data, size_t len, json_t **out, struct sl_err *err);
/* The request's JSON body (Content-Type application/json); on failure the
 * 400 is sent and NULL returned. */
json_t *app_json_body(struct http_request *rq);
/* {"error","error_description"} plus the fields of `extra` (stolen, may be NULL). */
void app_send_error(struct http_request *rq, int status, const char *error, const char *desc, json_t *extra);
/* A string member of at most `max` bytes without NUL; NULL otherwise. */
const char *app_json_str(json_t *o, const char *name, size_t max);

/* ---- dpop.c ---- */
/* RFC 7638 thumbprint of a P-256 public JWK (b64url, 43 chars); also
 * checks the JWK is exactly that (kty EC, crv P-256, x/y on the curve). */
int app_jwk_thumbprint(json_t *jwk, char out[APP_JKT_LEN + 1], struct sl_err *err);
/* The 65-byte point of a P-256 public JWK. */
int app_jwk_point(json_t *jwk, uint8_t out[P256_PUB_LEN], struct sl_err *err);

struct app_proof {
	char ap_jkt[APP_JKT_LEN + 1];
	char ap_jti[APP_JTI_MAX + 1];
	int64_t ap_iat;
};
/* The kid of a proof (its header), unverified: which key to check it with. */
int app_proof_kid(const char *proof, char out[APP_JKT_LEN + 1]);
/* Verify a proof with transport key `jwk` for `htm` `htu` at `now`
 * (|iat - now| <= window).  No replay check: the caller records the jti. */
int app_proof_verify(const char *proof, json_t *jwk, const char *htm, const char *htu, int64_t now, int window,
	struct app_proof *out, struct sl_err *err);
/* The whole check for a request: header, verify, replay (jti recorded).
 * `jwk` is the key the proof's kid names (the caller looked it up). */
int app_proof_check(
	struct server *srv, struct http_request *rq, json_t *jwk, struct app_proof *out, struct sl_err *err);
/* 401 invalid_proof with WWW-Authenticate: DPoP. */
void app_send_invalid_proof(struct http_request *rq, const char *desc);
/* The htu of this request: issuer + path. */
int app_htu(struct server *srv, struct http_request *rq, char *out, size_t len);

/* ---- device.c ---- */
void app_enroll_wait_key(const char *enrollment_id, char *out, size_t len);
/* A syntactically valid id (b64url, 1..APP_ID_MAX). */
bool app_id_ok(const char *id);

/* ---- handlers ---- */
void app_enroll_start(void *ctx, struct http_request *rq);
void app_enroll_resend(void *ctx, struct http_request *rq);
void app_enroll_sms(void *ctx, struct http_request *rq);
void app_enroll_get(void *ctx, struct http_request *rq);
void app_enroll_proof(void *ctx, struct http_request *rq);
void app_enroll_finish(void *ctx, struct http_request *rq);
#ifdef SL_TEST_KEY
void app_enroll_test_proofed(void *ctx, struct http_request *rq);
#endif
void app_channel_get(void *ctx, struct http_request *rq);
void app_confirm_post(void *ctx, struct http_request *rq);
void app_devices_get(void *ctx, struct http_request *rq);
void app_devices_remove(void *ctx, struct http_request *rq);

#endif
