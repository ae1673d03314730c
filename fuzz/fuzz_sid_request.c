/* fuzz_sid_request.c — the app's check of a Smart-ID signing request as
 * the server sends it (libsleutel-app sapp_sid_request_verify): shape,
 * binding fields against the hash, verification code against the hash.
 * Whatever the server (or something in between) sends, the app either
 * refuses it with a message or names the key to ask a PIN for. */
#include <stdlib.h>
#include <string.h>

#include "../src/app/sleutel-app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	json_t *r = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
	const char *use = NULL;
	struct sl_err err = { 0 };

	if (r == NULL)
		return 0;
	if (sapp_sid_request_verify(r, &use, &err) == SL_OK) {
		if (use == NULL || (strcmp(use, "auth") != 0 && strcmp(use, "sign") != 0))
			abort();
	} else if (err.msg[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	json_decref(r);
	return 0;
}
