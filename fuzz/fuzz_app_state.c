/* fuzz_app_state.c — the app's state-file parser (libsleutel-app,
 * src/app/state.c) on arbitrary input.  Oracle: whatever parses formats
 * back to a document that parses to the same state.
 *
 * state.c is compiled into this target directly: the fuzz targets link the
 * server's libraries, and the parser needs only core and crypto from them. */
#include <stdlib.h>
#include <string.h>

#include "../src/app/app_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sapp_state st, back;
	struct sl_err err;
	char *text;

	if (sapp_state_parse((const char *)data, len, &st, &err) != SL_OK)
		return 0;
	text = sapp_state_format(&st, &err);
	if (text == NULL)
		abort(); /* a parsed state always formats */
	if (sapp_state_parse(text, strlen(text), &back, &err) != SL_OK || memcmp(&st, &back, sizeof(st)) != 0)
		abort(); /* and round-trips */
	sapp_state_free_text(text);
	return 0;
}
