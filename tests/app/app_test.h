/*
 * app_test.h — helpers the libsleutel-app unit tests share (app_test.c):
 * a state as a JSON document to change one member of, and parsing it back.
 */
#ifndef SAPP_APP_TEST_H
#define SAPP_APP_TEST_H

#include "../../src/app/app_int.h"

#define APP_TEST_FAKE_PEM "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

/* The formatted state of `st` as a JSON object (asserts it formats). */
json_t *app_test_state_doc(const struct sapp_state *st);
/* sapp_state_parse of the document's text: its return code. */
int app_test_parse_doc(json_t *doc, struct sl_err *err);

/* `dir`/`name` into `out`, with no file there yet. */
void app_test_path(const char *dir, char *out, size_t size, const char *name);
/* Remove a test's temporary directory and the files in it. */
int app_test_rmdir(const char *dir);

/* A state with a Smart-ID registration (or, `active`, a device with fake
 * certificates) on these keys, made with `cheap` scrypt parameters. */
void app_test_sid_state(struct sapp_state *st, const struct sk_device_key dev[SAPP_SID_NKEYS],
	const struct sk_server_key srv[SAPP_SID_NKEYS], const struct camo_params *cheap, bool active);

#define APP_TEST_SID_BITS 1024 /* small keys: a registration in milliseconds */
/* Both split keys (auth under pin1, sign under pin2) and the server's
 * halves, with `cheap` scrypt parameters: SL_OK or SL_ECRYPTO. */
int app_test_sid_keygen(struct sk_device_key dev[SAPP_SID_NKEYS], struct sk_server_key srv[SAPP_SID_NKEYS],
	const struct camo_params *cheap, const char *pin1, const char *pin2);
void app_test_sid_keys_clear(struct sk_device_key dev[SAPP_SID_NKEYS], struct sk_server_key srv[SAPP_SID_NKEYS]);

#endif
