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
	/* "zq9" appears only in a variable: if the output holds "<zq9" and the
	 * template has no raw tag and no "zq9" of its own, escaping failed. */
	if (tmpl_render_string(src, NULL, vars, 3, &out) == SL_OK && strstr(src, "{{{") == NULL &&
		strstr(src, "zq9") == NULL && strstr(sl_buf_str(&out), "<zq9") != NULL)
		abort();
	sl_buf_reset(&out);
	free(src);
	return 0;
}
