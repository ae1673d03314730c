/* fuzz_jose.c — jose_verify() and jose_peek_header() on arbitrary input:
 * the parser every client assertion and ID token hint goes through. */
#include <stdlib.h>
#include <string.h>

#include "../src/crypto/crypto.h"

static struct jose_key *fuzz_keys[2];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	json_t *claims = NULL, *hdr;
	struct sl_err err;

	if (s == NULL)
		return 0;
	if (fuzz_keys[0] == NULL) {
		fuzz_keys[0] = jose_key_generate("ES256", "k1", &err);
		fuzz_keys[1] = jose_key_generate("RS256", "k2", &err);
	}
	memcpy(s, data, len);
	s[len] = '\0';
	hdr = jose_peek_header(s);
	json_decref(hdr);
	if (jose_verify(s, fuzz_keys, 2, &claims, &err) == SL_OK)
		abort(); /* nothing random verifies */
	json_decref(claims);
	free(s);
	return 0;
}
