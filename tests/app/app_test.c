/*
 * app_test.c — helpers the libsleutel-app unit tests share (app_test.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app_test.h"

json_t *
app_test_state_doc(const struct sapp_state *st)
{
	struct sl_err err;
	char *text = sapp_state_format(st, &err);
	json_t *doc;

	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	sapp_state_free_text(text);
	assert_non_null(doc);
	return doc;
}

int
app_test_parse_doc(json_t *doc, struct sl_err *err)
{
	struct sapp_state *st = malloc(sizeof(*st)); /* large: two Smart-ID keys */
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	assert_non_null(st);
	assert_non_null(text);
	rc = sapp_state_parse(text, strlen(text), st, err);
	free(text);
	free(st);
	return rc;
}
