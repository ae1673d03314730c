/* fuzz_template.c — the template engine on arbitrary templates: a
 * variable never brings a raw '<' into the output (escaping holds).
 *
 * The template is rendered twice, with a = "<zq9>" and with a = "zq9"
 * (both non-empty, so every section takes the same branch).  Escaped, the
 * '<' of the first is "&lt;": both outputs then hold the same number of
 * '<', whatever the template's own text builds around them.  (Looking for
 * "<zq9" in the output was wrong: "<z" and "q9" of the template's own text
 * can meet, e.g. around a {{_ ...}} tag.) */
#include <stdlib.h>
#include <string.h>

#include "../src/i18n/i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static size_t
count_lt(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '<';
	return n;
}

/* The number of '<' in the rendering with `a`, or (size_t)-1 on failure. */
static size_t
render_lt(const char *src, const char *a)
{
	const struct tmpl_var vars[] = { { "a", a }, { "b", "" }, { "c", "\"'&" } };
	struct sl_buf out;
	size_t n = (size_t)-1;

	sl_buf_init(&out, 1 << 20);
	if (tmpl_render_string(src, NULL, vars, 3, &out) == SL_OK)
		n = count_lt(sl_buf_str(&out));
	sl_buf_reset(&out);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *src = malloc(len + 1);
	size_t with, without;

	if (src == NULL)
		return 0;
	memcpy(src, data, len);
	src[len] = '\0';
	if (strstr(src, "{{{") == NULL) {
		with = render_lt(src, "<zq9>");
		without = render_lt(src, "zq9");
		if (with != (size_t)-1 && without != (size_t)-1 && with != without)
			abort();
	}
	free(src);
	return 0;
}
