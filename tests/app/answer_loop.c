/*
 * answer_loop.c — one libsleutel-app handle answering requests for an
 * integration test (tests/integration/app-seal-refetch.test.mjs), so that
 * what the handle keeps between answers (its connection, the seal key for
 * SAPP_SEAL_KEEP_MS) is what a real app keeps across logins, against a
 * real sleuteld the test restarts in between.
 *
 *   app_answer_loop STATE CA_FILE APP_CODE
 *
 * Each line of stdin is a verification code: the pending request showing
 * it is approved with it and APP_CODE.  Each answer is one line of stdout:
 * "approved", or "error <code>: <message>".  Ends at the end of stdin.
 * Not a unit test: it needs the server the integration test runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/app/sleutel-app.h"

/* The pending request that shows `vcode` (a new reference), or NULL. */
static json_t *
request_showing(struct sapp *app, const char *vcode, struct sl_err *err)
{
	json_t *list = NULL, *rq, *c, *found = NULL;
	size_t i, j;

	if (sapp_requests(app, 0, &list, err) != SL_OK)
		return NULL;
	json_array_foreach(list, i, rq)
	{
		json_array_foreach(json_object_get(rq, "codes"), j, c)
		{
			if (found == NULL && json_is_string(c) && strcmp(json_string_value(c), vcode) == 0)
				found = json_incref(rq);
		}
	}
	json_decref(list);
	if (found == NULL && err->code == SL_OK)
		sl_fail(err, SL_ENOTFOUND, "no pending request shows %s", vcode);
	return found;
}

int
main(int argc, char **argv)
{
	struct sl_err err = { 0 };
	struct sapp *app = NULL;
	char line[64];

	if (argc != 4) {
		fprintf(stderr, "usage: app_answer_loop STATE CA_FILE APP_CODE\n");
		return 2;
	}
	if (sapp_open(argv[1], &app, &err) != SL_OK || sapp_set_server(app, NULL, argv[2], &err) != SL_OK) {
		fprintf(stderr, "app_answer_loop: %s\n", err.msg);
		sapp_free(app);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		json_t *rq, *ans = NULL;
		line[strcspn(line, "\r\n")] = '\0';
		memset(&err, 0, sizeof(err));
		rq = request_showing(app, line, &err);
		if (rq != NULL && sapp_approve(app, rq, line, argv[3], &ans, &err) == SL_OK)
			printf("approved\n");
		else
			printf("error %d: %s\n", err.code, err.msg);
		json_decref(ans);
		json_decref(rq);
		fflush(stdout);
	}
	sapp_free(app);
	return 0;
}
