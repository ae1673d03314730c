/* fuzz_dpop.c — app_proof_kid() and app_proof_verify() on arbitrary
 * proofs: the DPoP header every device-API call carries. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/app/device_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static json_t *jwk;
	char *s = malloc(len + 1), kid[APP_JKT_LEN + 1];
	struct app_proof out;

	if (s == NULL)
		return 0;
	if (jwk == NULL) {
		struct jose_key *k = jose_key_generate("ES256", "k", NULL);
		json_t *pub = jose_key_public_jwk(k);
		jwk = json_pack("{s:s,s:s,s:O,s:O}", "kty", "EC", "crv", "P-256", "x", json_object_get(pub, "x"), "y",
			json_object_get(pub, "y"));
		json_decref(pub);
		jose_key_free(k);
	}
	memcpy(s, data, len);
	s[len] = '\0';
	app_proof_kid(s, kid);
	if (app_proof_verify(s, jwk, "GET", "https://x/device/v1/requests", 1800000000, 60, &out, NULL) == SL_OK)
		abort(); /* nothing random verifies */
	free(s);
	return 0;
}
