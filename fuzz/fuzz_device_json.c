/* fuzz_device_json.c — the device API's body parser and the JWK checks
 * that run on the transport_key member of /enroll/start. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/app/device_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	json_t *o = NULL;
	char jkt[APP_JKT_LEN + 1];

	if (app_json_parse(data, len, &o, NULL) == SL_OK) {
		app_json_str(o, "phone", 64);
		app_jwk_thumbprint(json_object_get(o, "transport_key"), jkt, NULL);
		app_jwk_thumbprint(o, jkt, NULL);
	}
	json_decref(o);
	return 0;
}
