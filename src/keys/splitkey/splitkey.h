/*
 * splitkey — Smart-ID-style split-key accounts on the server side (DESIGN
 * §1 "Smart-ID", §4 "Split-key"; docs/smartid-api.md is the wire
 * contract, docs/splitkey.md the arithmetic, src/crypto sk_* the code).
 *
 * Two halves behind this one header, each with its own route table:
 *   registration (sid_reg_int.h): the device API /device/v1/smartid/config,
 *     /register, /register/finish and the registration portal pages
 *     /smartid/register... (eID login, questions, the registration code,
 *     confirmation), the certificates of a new device;
 *   login (sid_login_int.h): the portal's Smart-ID key (/key/smartid...:
 *     national number, verification code, wait), signing requests, the
 *     device's request channel /device/v1/smartid/requests, completing
 *     split-key signatures with the lockout schedule and clone detection,
 *     /device/v1/smartid/status and /devices.
 *
 * Devices prove requests exactly as app-key devices do (the device-API
 * toolkit in ../app/app.h), with their own transport keys.
 */
#ifndef SL_SPLITKEY_H
#define SL_SPLITKEY_H

#include "../../crypto/crypto.h"
#include "../../http/http.h"
#include "../../server/server.h"

#define SID_KEY_NAME "smartid"
#define SID_AMR "[\"smartid\"]"
#define SID_DEVICE_BASE "/device/v1/smartid"

/* The waiter key of a registration: notified when its status changes. */
void sid_registration_wait_key(const char *registration_id, char *out, size_t len);
/* The waiter key of an account's devices: a signing request was made. */
void sid_account_wait_key(const char *account_id, char *out, size_t len);
/* The waiter key of a signing request: notified when it leaves "pending". */
void sid_request_wait_key(const char *request_id, char *out, size_t len);

/* The split-key sizes of this server ([smartid] key_bits for n1 and n2;
 * the scrypt cost is the device's business). */
void sid_params(const struct server *srv, struct sk_params *out);

struct store_sid_device;
/* End an active device ("revoked" or "removed", with a reason) for good:
 * store_sid_device_end(), its two certificates revoked in the Smart-ID
 * CA's index ([pki] dir; OCSP answers "revoked" from then on), and the
 * logins its end failed told at once (their browsers move on instead of
 * waiting out the request).  The store's codes: SL_ECONFLICT when it was
 * not active (nothing else is done then). */
int sid_device_end(struct server *srv, const struct store_sid_device *dev, const char *status, const char *reason);
/* Revoke certificates by hex serial in the [pki] dir's index (NULL
 * serials skipped; already revoked is fine); failures are logged, not
 * returned: the device or registration is over either way. */
void sid_certs_revoke(struct server *srv, const char *const serials[], size_t n);

/* Route tables of the two halves. */
extern const struct http_route sid_register_routes[];
extern const size_t sid_register_nroutes;
extern const struct http_route sid_login_routes[];
extern const size_t sid_login_nroutes;

#endif
