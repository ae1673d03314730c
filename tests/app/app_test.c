/*
 * app_test.c — helpers the libsleutel-app unit tests share (app_test.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

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

int
app_test_rmdir(const char *dir)
{
	char path[1024];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

void
app_test_path(const char *dir, char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
	unlink(out);
}
