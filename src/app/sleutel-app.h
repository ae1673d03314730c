/*
 * sleutel-app.h — libsleutel-app, the reference phone app's library: what
 * a real iOS or Android app would embed (DESIGN §2, PROTOCOL.md, and
 * docs/device-api.md, the wire contract it follows exactly).
 *
 * There is no global state.  Everything the app keeps lives in one state
 * file whose path the caller owns (mode 0600, written atomically, refused
 * when others may read it): the server URL, an optional CA file, the
 * transport key, the enrolment in progress, the device once enrolled, and
 * the camouflaged confirmation key (c, salt, scrypt parameters) — nothing
 * that depends on the 5-digit app code, so a stolen file offers no test of
 * a guessed code.  A `struct sapp` is that file opened, with the keys
 * loaded; it is not thread-safe (one per thread).
 *
 * Several processes (or handles) may open one state file at once: every
 * write is a read-modify-write under flock(LOCK_EX) on "<state>.lock"
 * (mode 0600, next to the file; waited for at most SAPP_LOCK_WAIT seconds,
 * then SL_EBUSY).  Under the lock the file is read again and this handle's
 * changes are merged into what is on disk, so an old copy in memory never
 * overwrites a newer file; when another writer changed the same part (the
 * app key, or the Smart-ID device) the save is refused with SL_ECONFLICT.
 * A Smart-ID signature advances the key from the version on disk and
 * writes it before anything is sent, and keeps the lock until its answer
 * was sent, so two processes never sign at the same version and their
 * versions reach the server in order (one at or below the last it
 * accepted is a clone: the device is revoked).
 *
 * Every call to the device API carries a fresh DPoP-shaped proof signed by
 * the transport key.  Calls return 0 or a negative SL_E* code; when the
 * server refused, `err` says "<error>: <error_description>" and
 * sapp_last_error() gives the server's whole error object (attempts_left,
 * failures, locked_until, ...).  Answers come back as new jansson
 * references the caller json_decref()s.
 */
#ifndef SLEUTEL_APP_H
#define SLEUTEL_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/core.h"

#define SAPP_STATE_VERSION 1
#define SAPP_STATE_MAX ((size_t)64 * 1024) /* bytes of a state file (two Smart-ID keys with certificates: ~10 KiB) */
#define SAPP_URL_MAX 512 /* bytes of the server URL */
#define SAPP_PATH_MAX 1024 /* bytes of the CA file path */
#define SAPP_ID_MAX 64 /* bytes of an id (enrolment, device, account, request) */
#define SAPP_PHONE_MAX 16 /* "+" and at most 15 digits */
#define SAPP_PEM_MAX 2048 /* bytes of the transport key's PEM */
#define SAPP_NAME_MAX 64 /* bytes of a device name */
#define SAPP_POLL_GRACE 10 /* seconds a long-poll may outlast the server's poll_timeout */
#define SAPP_POLL_DEFAULT 25 /* the server's poll_timeout when it does not say */
#define SAPP_TIMEOUT 15 /* seconds for an ordinary call */
#define SAPP_CONTEXT_MAX 48 /* bytes of each part of a request's context */
#define SAPP_LOCK_WAIT 10 /* seconds to wait for the state file's lock */

struct sapp;
struct camo_params;

enum sapp_phase {
	SAPP_NEW, /* a transport key, no enrolment yet */
	SAPP_ENROLLING, /* enrollment id and status known */
	SAPP_ENROLLED, /* device id, account id, phone, confirmation key */
};

/* ---- the state file ---- */

/* Create a new state at `path` (it must not exist) with a fresh transport
 * key.  `ca_file` may be NULL (system trust store). */
int sapp_create(const char *path, const char *server, const char *ca_file, struct sapp **out, struct sl_err *err);
/* Open an existing state: SL_EDENIED when the file is readable or writable
 * by group or others, SL_EINVAL when it does not parse. */
int sapp_open(const char *path, struct sapp **out, struct sl_err *err);
void sapp_free(struct sapp *app);
/* Use another server URL or CA file for this session (not saved). */
int sapp_set_server(struct sapp *app, const char *server, const char *ca_file, struct sl_err *err);
/* The scrypt cost used by sapp_enroll_finish (default camo_default_params;
 * tests use a cheap one).  The cost is recorded in the state. */
int sapp_set_camo_params(struct sapp *app, const struct camo_params *p, struct sl_err *err);

enum sapp_phase sapp_phase(const struct sapp *app);
const char *sapp_server(const struct sapp *app);
const char *sapp_enrollment_id(const struct sapp *app); /* "" when none */
const char *sapp_enrollment_status(const struct sapp *app);
const char *sapp_device_id(const struct sapp *app);
const char *sapp_account_id(const struct sapp *app);
const char *sapp_phone(const struct sapp *app);
/* The server's error object of the last refused call (borrowed), or NULL. */
const json_t *sapp_last_error(const struct sapp *app);
/* The server's error code of the last refused call ("wrong_code"), or "". */
const char *sapp_last_error_code(const struct sapp *app);

/* ---- enrolment ---- */

/* GET /device/v1/config (no proof): issuer, terms_version, seal keys. */
int sapp_config(struct sapp *app, json_t **out, struct sl_err *err);

struct sapp_enroll_spec {
	const char *es_phone; /* as typed: the server normalises it */
	const char *es_device_name; /* NULL: "sleutel-app" */
	const char *es_language; /* "nl", "fr", "de" or "en" */
	const char *es_terms_version; /* the version the person accepted */
};

/* POST /enroll/start.  An enrolment already begun with this state starts
 * over with a new transport key.  Refused once enrolled. */
int sapp_enroll_start(struct sapp *app, const struct sapp_enroll_spec *spec, json_t **out, struct sl_err *err);
/* POST /enroll/sms with the 5-digit activation code. */
int sapp_enroll_sms(struct sapp *app, const char *sms_code, json_t **out, struct sl_err *err);
/* POST /enroll/sms/resend. */
int sapp_enroll_resend(struct sapp *app, json_t **out, struct sl_err *err);
/* GET /enroll.  `wait` seconds > 0: long-poll until the status leaves
 * "proofing" or the time is up; 0: one short look.  "proof_code": the
 * person's identity was confirmed in a browser and waits for the code the
 * final page shows (sapp_enroll_proof). */
int sapp_enroll_status(struct sapp *app, int wait, json_t **out, struct sl_err *err);
/* POST /enroll/proof with that proofing code ("XXXX-XXXX"; case, spaces
 * and the dash do not matter): the enrolment becomes "proofed".  A wrong
 * code is refused with "wrong_code" and sapp_last_error()'s
 * "attempts_left" (0: the proof is discarded, prove again);
 * "code_expired" and "no_proof" also mean: prove again. */
int sapp_enroll_proof(struct sapp *app, const char *code, json_t **out, struct sl_err *err);
/* The app code chosen (twice, checked by the caller): makes the
 * confirmation key, seals Q to the server's current seal key with aad =
 * the enrollment id, POSTs /enroll/finish and saves the enrolled state. */
int sapp_enroll_finish(struct sapp *app, const char *app_code, json_t **out, struct sl_err *err);

/* ---- recovery: a lost phone, a forgotten app code (docs/app.md) ----
 * The same steps as an enrolment, proved with the eID card (the server
 * refuses any other proof): sapp_recover_start, then sapp_enroll_sms,
 * _status, _proof as for an enrolment, then sapp_recover_finish.  On an
 * enrolled state (a forgotten code) the device here is forgotten at the
 * start and a new transport key made; the server ends the old device only
 * when the recovery finishes. */
#define SAPP_RECOVER_MAX 16 /* devices one recovery revokes at most */
int sapp_recover_start(struct sapp *app, const struct sapp_enroll_spec *spec, json_t **out, struct sl_err *err);
/* POST /enroll/recover: the new app code makes the key as at enrolment;
 * `revoke` (NULL, 0: the devices of this number) names the devices to
 * end.  Saves the enrolled state; the answer has "revoked". */
int sapp_recover_finish(struct sapp *app, const char *app_code, const char *const *revoke, size_t nrevoke, json_t **out,
	struct sl_err *err);

/* ---- requests ---- */

/* GET /requests: `*out` is the array of pending requests (maybe empty).
 * `wait` seconds > 0 polls until one comes or the time is up; 0 is one
 * round of the server's long-poll. */
int sapp_requests(struct sapp *app, int wait, json_t **out, struct sl_err *err);
/* The pending request with this id as the server sent it (SL_ENOTFOUND). */
int sapp_request_find(struct sapp *app, const char *request_id, json_t **out, struct sl_err *err);
/* Approve `request` (exactly as received) with the verification code the
 * person picked out of its codes and the 5-digit app code. */
int sapp_approve(struct sapp *app, const json_t *request, const char *picked, const char *app_code, json_t **out,
	struct sl_err *err);
/* Refuse `request`: the same bytes with decision "refuse", signed by the
 * transport key. */
int sapp_refuse(struct sapp *app, const json_t *request, json_t **out, struct sl_err *err);
/* A scanned QR code "sleutel://login?t=TOKEN": POST /scan; the request. */
int sapp_scan(struct sapp *app, const char *uri, json_t **out, struct sl_err *err);

/* Which browser started a login, coarsely, as the server recorded it (the
 * request's "context"): each part "" when not known. */
struct sapp_context {
	char sc_browser[SAPP_CONTEXT_MAX + 1]; /* "Chrome" */
	char sc_os[SAPP_CONTEXT_MAX + 1]; /* "Linux" */
	char sc_network[SAPP_CONTEXT_MAX + 1]; /* "203.0.113.x" or "2001:db8:1::/48" */
};
/* The context of `request`: SL_OK; SL_ENOTFOUND when it has none (CIBA,
 * an older server); SL_EINVAL when a part is not short printable ASCII
 * (then nothing of it is to be shown). */
int sapp_request_context(const json_t *request, struct sapp_context *out);
/* Text the terminal may print as it is: no control characters but line
 * breaks (an escape sequence could redraw what the person reads). */
bool sapp_text_showable(const char *text);

/* ---- devices ---- */

/* GET /devices: `*out` is the array of this account's devices. */
int sapp_devices(struct sapp *app, json_t **out, struct sl_err *err);
/* POST /devices/{id}/remove.  Removing this device forgets the enrolment
 * in the state file too. */
int sapp_remove(struct sapp *app, const char *device_id, json_t **out, struct sl_err *err);
/* GET /notices: `*out` is the array of notices about the person's other
 * devices ({"id","kind","device_kind","device_id","device_name","created"};
 * kind "device.added", "device.blocked" or "device.revoked"), newest first. */
int sapp_notices(struct sapp *app, json_t **out, struct sl_err *err);

/* ---- Smart-ID (docs/smartid-api.md) ----
 *
 * A Smart-ID device lives in the same state file as a "smartid" object
 * with its OWN transport key (the server keeps app-key and Smart-ID
 * devices apart), the two split keys (auth under PIN1, sign under PIN2:
 * sk_device_key_to_json, nothing depending on a PIN but the camouflaged
 * share), their composite moduli, the registration or the device, and
 * the certificates.  The split keys use the scrypt cost of
 * sapp_set_camo_params, recorded with them.
 *
 * Every signature advances the key and SAVES the state before anything
 * is sent (sk_device_sign's rule: a copy of an older file is a clone).  A
 * wrong PIN is not detectable here, by design: the server counts it. */

enum sapp_sid_phase {
	SAPP_SID_NONE, /* no Smart-ID registration or device */
	SAPP_SID_REGISTERING, /* keys made, registration id and status known */
	SAPP_SID_ACTIVE, /* device, account, document number, certificates */
};

enum sapp_sid_phase sapp_sid_phase(const struct sapp *app);
const char *sapp_sid_registration_id(const struct sapp *app); /* "" when none */
const char *sapp_sid_registration_status(const struct sapp *app); /* "code", "confirmed" or "" */
const char *sapp_sid_device_id(const struct sapp *app);
const char *sapp_sid_account_id(const struct sapp *app);
const char *sapp_sid_document_number(const struct sapp *app);
/* The PEM certificate of "auth" or "sign" ("" until active, NULL for
 * another name). */
const char *sapp_sid_certificate(const struct sapp *app, const char *use);
/* Is `pin` of the form of PIN1 (`use` "auth": 4..12 digits) or PIN2
 * ("sign": 5..12 digits)?  A form check, never a PIN check. */
bool sapp_sid_pin_ok(const char *use, const char *pin);

/* GET /smartid/config (no proof). */
int sapp_sid_config(struct sapp *app, json_t **out, struct sl_err *err);

struct sapp_sid_spec {
	const char *ss_country; /* NULL: "BE" */
	const char *ss_method; /* NULL: "eid" */
	const char *ss_device_name; /* NULL: "sleutel-app" */
	const char *ss_language; /* "nl", "fr", "de" or "en" */
	const char *ss_terms_version; /* the version the person accepted */
	const char *ss_pin1; /* chosen (twice, checked by the caller) */
	const char *ss_pin2;
};

/* Make both keys (key_bits from /config), seal the shares, POST
 * /register, and keep the registration: the answer (registration_code,
 * portal_url, expires_in) in *out.  Refused while a device is active; a
 * registration in progress is dropped and begun again with a new
 * transport key. */
int sapp_sid_register(struct sapp *app, const struct sapp_sid_spec *spec, json_t **out, struct sl_err *err);
/* GET /register: `wait` seconds > 0 long-polls while the status is
 * "code"; 0 is one short look.  "confirmed" brings the composite moduli
 * (checked against the keys: each a multiple of the key's n1), which are
 * kept.  "failed" and registration_expired forget the registration (start
 * again). */
int sapp_sid_registration(struct sapp *app, int wait, json_t **out, struct sl_err *err);
/* The recall check (POST /register/finish) once the portal confirmed:
 * both keys sign the challenge.  201 keeps the device and certificates;
 * wrong_pin (sapp_last_error: "keys", "attempts_left") keeps the
 * registration for another try; registration_failed forgets it. */
int sapp_sid_finish(struct sapp *app, const char *pin1, const char *pin2, json_t **out, struct sl_err *err);

/* GET /smartid/requests: the array of pending signing requests.  `wait`
 * as sapp_requests (0: ?wait=0, at once). */
int sapp_sid_requests(struct sapp *app, int wait, json_t **out, struct sl_err *err);
/* The pending request with this id (SL_ENOTFOUND). */
int sapp_sid_request_find(struct sapp *app, const char *request_id, json_t **out, struct sl_err *err);
/* Check `request` before asking for a PIN: its binding fields against
 * its hash (portal logins) and its verification code against the hash.
 * SL_EINVAL with a message when it does not hold: do not sign it.
 * *use_name is "auth" or "sign" (which PIN to ask for).  An RP API
 * request is checked by sapp_rp_check (*use_name NULL for a certificate
 * choice), and sapp_sid_confirm answers it by sapp_rp_confirm. */
int sapp_sid_request_verify(const json_t *request, const char **use_name, struct sl_err *err);
/* Confirm `request` (exactly as received, checked again) with the PIN of
 * the key it names: sign, save, POST.  wrong_pin, locked and
 * device_revoked come back in sapp_last_error(). */
int sapp_sid_confirm(struct sapp *app, const json_t *request, const char *pin, json_t **out, struct sl_err *err);
int sapp_sid_refuse(struct sapp *app, const json_t *request, json_t **out, struct sl_err *err);

/* GET /smartid/status, GET /smartid/devices (the array), POST
 * /smartid/devices/{id}/remove (this device: the state forgets it). */
int sapp_sid_status(struct sapp *app, json_t **out, struct sl_err *err);
int sapp_sid_devices(struct sapp *app, json_t **out, struct sl_err *err);
int sapp_sid_remove(struct sapp *app, const char *device_id, json_t **out, struct sl_err *err);

/* ---- Smart-ID RP API requests (docs/smart-id.md "Device side") ----
 *
 * A request with an "rp_api" object comes from a relying party through
 * the Smart-ID RP API: by notification (on the request channel, answered
 * by id) or by a device link the person scanned or opened
 * (sapp_sid_link_claim).  Before anything is shown as something to
 * confirm, and before any PIN, sapp_rp_check() checks it whole: its shape,
 * the key for the action (PIN1's auth key only logs in, PIN2's sign key
 * only signs, a certificate choice needs no PIN), the interactions (the
 * first this app supports in the RP's order; texts of their limits,
 * without control characters), and the verification code where the app
 * can recompute it (v3 notification authentication: of the rpChallenge;
 * v2: of the hash).  An ACSP_V2 authentication signs the payload's hash
 * made here with a fresh userChallenge; the state's lock is held from the
 * signature until the answer was sent, as sapp_sid_confirm does. */

#define SAPP_RP_TEXT_MAX ((size_t)4 * 200) /* bytes of an interaction's text (200 characters of UTF-8) */
#define SAPP_RP_NAME_MAX 128 /* bytes of a relying party's name */
#define SAPP_RP_CHOICES 3 /* codes offered for a verification-code choice */

/* What the person is shown of a checked RP API request. */
struct sapp_rp_view {
	char rv_rp_name[SAPP_RP_NAME_MAX + 1];
	const char *rv_action; /* "login", "sign" or "cert" */
	const char *rv_use; /* the key: "auth" (PIN1), "sign" (PIN2); NULL for a certificate choice (no PIN) */
	const char *rv_flow; /* "QR", "Web2App", "App2App" or "Notification" */
	bool rv_same_device; /* Web2App/App2App: a callback URL is opened after the answer */
	bool rv_supported; /* false: no interaction this app supports: refuse with "not_supported" */
	const char *rv_interaction; /* the type shown ("displayTextAndPIN", ...); NULL: none (certificate choice) */
	char rv_text[SAPP_RP_TEXT_MAX + 1]; /* its text ("" for none) */
	char rv_vc[5]; /* the verification code to show or pick, "" for none */
	bool rv_vc_choice; /* the person picks rv_vc out of SAPP_RP_CHOICES codes */
};

/* Does `request` carry an "rp_api" object? */
bool sapp_rp_is(const json_t *request);
/* Check an RP API request as received (above).  SL_OK and *out filled;
 * SL_EINVAL with a message naming what does not hold (then nothing is to
 * be shown, asked or signed). */
int sapp_rp_check(const json_t *request, struct sapp_rp_view *out, struct sl_err *err);
/* The codes of a verification-code choice: `vc` and two other random,
 * distinct codes, in a random order. */
int sapp_rp_choices(const char *vc, char out[SAPP_RP_CHOICES][5], struct sl_err *err);
/* Confirm a checked request: `picked` is the code the person picked (a
 * choice; else NULL), `pin` the PIN of the key (NULL for a certificate
 * choice).  A pick that is not the request's code sends the refusal
 * "wrong_vc" instead and is SL_EDENIED (the session ends WRONG_VC).
 * ACSP_V2: a fresh userChallenge, the payload's hash signed.  *callback
 * (when not NULL): for Web2App/App2App the URL to open afterwards
 * (malloc'd), else NULL.  wrong_pin, locked, device_revoked come back in
 * sapp_last_error(). */
int sapp_rp_confirm(struct sapp *app, const json_t *request, const char *picked, const char *pin, json_t **out,
	char **callback, struct sl_err *err);
/* Refuse with `reason`: "refused", "wrong_vc", "interaction" (the
 * interaction shown was refused), "cert_choice" or "not_supported". */
int sapp_rp_refuse(struct sapp *app, const json_t *request, const char *reason, json_t **out, struct sl_err *err);
/* A same-device (Web2App/App2App) request's callback URL:
 * initial_callback_url, then "&" ("?" when it has no query)
 * "sessionSecretDigest=<digest>", and "&userChallengeVerifier=<v>" when
 * `verifier` is not NULL.  New string; SL_EINVAL for another flow. */
int sapp_rp_callback(const json_t *request, const char *verifier, char **out, struct sl_err *err);
/* A device link as scanned or opened: parsed strictly (sidp_link_parse),
 * its deviceLinkBase on this app's server (else refused before anything
 * is sent), then POST /smartid/link: the request it opens (a new
 * reference), checked to be of the link's session and flow type. */
int sapp_sid_link_claim(struct sapp *app, const char *link, json_t **request, struct sl_err *err);

#endif
