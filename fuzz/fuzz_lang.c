/* fuzz_lang.c — ui_locales and Accept-Language parsing. */
#include <stdlib.h>
#include <string.h>

#include "../src/portal/portal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);
	int a, b;

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	a = portal_lang_match(s, true);
	b = portal_lang_match(s, false);
	if (a < -1 || a >= SL_LANG_COUNT || b < -1 || b >= SL_LANG_COUNT)
		abort();
	free(s);
	return 0;
}
