/* fuzz_template.c — the template engine on arbitrary templates; the
 * output must never contain a variable's raw '<' (escaping holds). */
#include <stdlib.h>
#include <string.h>

#include "../src/i18n/i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct tmpl_var vars[] = { { "a", "<zq9>" }, { "b", "" }, { "c", "\"'&" } };
	struct sl_buf out;
	char *src = malloc(len + 1);

	if (src == NULL)
		return 0;
	memcpy(src, data, len);
	src[len] = '\0';
	sl_buf_init(&out, 1 << 20);
	if (tmpl_render_string(src, NULL, vars, 3, &out) == SL_OK && strstr(src, "{{{") == NULL &&
		strstr(src, "<script>") == NULL && strstr(sl_buf_str(&out), "<script>") != NULL)
		abort(); /* an escaped variable came out raw */
	sl_buf_reset(&out);
	free(src);
	return 0;
}
