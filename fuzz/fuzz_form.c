/* fuzz_form.c — the urlencoded body parser on arbitrary bytes. */
#include <stdlib.h>
#include <string.h>

#include "../src/http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int
count_pair(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t *n = arg;

	/* The lengths describe the decoded strings, which may hold a NUL
	 * from %00 (the request layer refuses control characters). */
	if (name[nlen] != '\0' || value[vlen] != '\0' || nlen == 0)
		abort();
	(*n)++;
	return *n > 1000 ? SL_ETOOBIG : SL_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *body = malloc(len + 1);
	size_t n = 0;

	if (body == NULL)
		return 0;
	memcpy(body, data, len);
	body[len] = '\0';
	(void)http_urlencoded_parse(body, len, count_pair, &n);
	free(body);
	return 0;
}
