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
 *   recover.c   POST /enroll/recover: a lost phone or a forgotten app
 *               code, proved with the eID card
 *   channel.c   GET /requests: the request channel (long-poll)
 *   confirm.c   POST /requests/{id}: approve or refuse, the lockout schedule
 *   devices.c   GET /devices, POST /devices/{id}/remove
 *   notices.c   GET /notices: notices about the person's other devices
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
#define APP_PROOF_MAX 4096 /* bytes of a DPoP header */
#define APP_SMS_CODE_LEN 5
#define APP_DEVICE_NAME_MAX 64 /* bytes of a device name */
#define APP_TERMS_MAX 32
#define APP_SEALED_MAX 1024 /* characters of a sealed value (b64url) */
#define APP_TOUCH_EVERY 60 /* seconds: a device's last use is written at most this often by its polls */

/* Lockout schedule (DESIGN §4): wrong app codes in a row. */
#define APP_LOCK1_FAILURES 3
#define APP_LOCK1_SECONDS (3 * INT64_C(3600))
#define APP_LOCK2_FAILURES 6
#define APP_LOCK2_SECONDS (24 * INT64_C(3600))
#define APP_LOCK_FOREVER_FAILURES 9

/* ---- keys.c ---- */
struct app_seal_key {
	char sk_kid[APP_KID_MAX]; /* the at-rest key: KH_REST_KID (its private half is the key holder's) */
	uint8_t sk_pub[P256_PUB_LEN];
};

struct app_keys {
	struct app_seal_key ak_seal[APP_SEAL_KEYS_MAX]; /* [0] is current */
	size_t ak_nseal;
	struct app_seal_key ak_rest; /* at-rest key for Q; never published */
	struct app_devkeys *ak_devkeys; /* devices' parsed keys (devkeys.c), its own lock */
};

/* The sealing key with `kid`, or NULL (immutable after start: no lock). */
const struct app_seal_key *app_seal_key_find(struct server *srv, const char *kid);
/* Q sealed to the at-rest key (aad = device id), b64url malloc'd; and back. */
char *app_rest_seal(struct server *srv, const char *device_id, const uint8_t q[P256_PUB_LEN], struct sl_err *err);
EVP_PKEY *app_rest_open(struct server *srv, const char *device_id, const char *sealed_b64, struct sl_err *err);
/* Hex HMAC of an SMS code, bound to the enrolment. out: 65 bytes. */
int app_sms_mac(struct server *srv, const char *enrollment_id, const char *code, char out[2 * SL_SHA256_LEN + 1]);

/* ---- devkeys.c ---- */
#define APP_DEVKEYS_SLOTS 1024 /* devices whose keys are kept parsed */
#define APP_DEVKEYS_TTL 600 /* seconds an entry is used before it is made again */
struct app_devkeys;
struct app_devkeys *app_devkeys_new(void);
void app_devkeys_free(struct app_devkeys *dk);
/* The verifying key of the device row `dev` (its transport JWK, kid = the
 * thumbprint), kept from an earlier call for exactly the same row texts or
 * made now.  The caller decides on the row's status: this only parses.
 * A new reference (jose_key_free); NULL when the JWK is unusable. */
struct jose_key *app_devkeys_transport(
	struct app_devkeys *dk, const struct store_device *dev, int64_t now, struct sl_err *err);
/* Q of the device row `dev`, kept or opened now with `open` (app_rest_open
 * in the daemon).  A new reference (EVP_PKEY_free); NULL on failure. */
typedef EVP_PKEY *(*app_devkeys_open_fn)(void *arg, const char *device_id, const char *sealed_b64, struct sl_err *err);
/* Entries held now (at most APP_DEVKEYS_SLOTS). */
size_t app_devkeys_count(struct app_devkeys *dk);
EVP_PKEY *app_devkeys_confirm(struct app_devkeys *dk, const struct store_device *dev, int64_t now,
	app_devkeys_open_fn open, void *arg, struct sl_err *err);

/* ---- dpop.c ---- */
/* The 65-byte point of a P-256 public JWK. */
int app_jwk_point(json_t *jwk, uint8_t out[P256_PUB_LEN], struct sl_err *err);

/* ---- device.c ---- */
void app_enroll_wait_key(const char *enrollment_id, char *out, size_t len);

/* ---- handlers ---- */
void app_enroll_start(void *ctx, struct http_request *rq);
void app_enroll_resend(void *ctx, struct http_request *rq);
void app_enroll_sms(void *ctx, struct http_request *rq);
void app_enroll_get(void *ctx, struct http_request *rq);
void app_enroll_proof(void *ctx, struct http_request *rq);
void app_enroll_finish(void *ctx, struct http_request *rq);
/* The start of an enrolment step with a body (enroll.c): the enrolment
 * whose key made the proof, still live, and the body.  False when the
 * answer is sent (nothing is left to free). */
bool app_enroll_step(struct server *srv, struct http_request *rq, struct store_enrollment *en, json_t **body);
/* The finish's common part: the enrolment is proofed (its person to
 * `person`) and the body brings Q (sealed, checked): `dev` is the new
 * device, Q sealed at rest.  SL_OK, or the answer is sent. */
int app_enroll_new_device(struct server *srv, struct http_request *rq, const struct store_enrollment *en, json_t *body,
	struct store_person *person, struct store_device *dev);
/* recover.c: POST /enroll/recover, the finish of a recovery. */
void app_enroll_recover(void *ctx, struct http_request *rq);
#ifdef SL_TEST_KEY
void app_enroll_test_proofed(void *ctx, struct http_request *rq);
#endif
void app_channel_get(void *ctx, struct http_request *rq);
void app_confirm_post(void *ctx, struct http_request *rq);
void app_devices_get(void *ctx, struct http_request *rq);
void app_devices_remove(void *ctx, struct http_request *rq);
/* notices.c: GET /notices; the notice of a device added at enrolment
 * (logged when it cannot be written: the enrolment stands). */
void app_notices_get(void *ctx, struct http_request *rq);
void app_notice_device_added(struct server *srv, const char *person_id, const struct store_device *dev);

#endif
