/* fuzz_phone.c — app_phone_normalize() on anything typed: the result is
 * always "" or a well-formed E.164 number that normalises to itself. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/app/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1), out[APP_PHONE_MAX], again[APP_PHONE_MAX];

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (app_phone_normalize(s, "32", out) == SL_OK) {
		size_t n = strlen(out);
		if (out[0] != '+' || n < 9 || strspn(out + 1, "0123456789") != n - 1)
			abort();
		if (app_phone_normalize(out, "32", again) != SL_OK || strcmp(out, again) != 0)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}
	free(s);
	return 0;
}
