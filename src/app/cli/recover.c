/*
 * recover.c — "sleutel-app recover": a lost or replaced phone, or a
 * forgotten app code (docs/app.md "Recovery").  An enrolment for the same
 * number, proved with the eID card, that ends on the existing account:
 *   recover start --phone N [--name NAME] [--terms V]
 *   enroll sms CODE / enroll status --wait / enroll proof CODE
 *   recover finish [--revoke ID,ID,...]
 * The finish chooses a new 5-digit code (as at enrolment); the server
 * revokes the number's old devices, or the ones named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

#define RECOVER_LIST_MAX 1024 /* bytes of the --revoke list */

/* "a,b,c" into `ids` (pointers into `buf`, a copy of the text). */
static int
split_ids(const char *text, char buf[RECOVER_LIST_MAX], const char *ids[SAPP_RECOVER_MAX], size_t *n)
{
	char *save = NULL, *tok;

	*n = 0;
	if (text == NULL)
		return SL_OK;
	if (strlen(text) >= RECOVER_LIST_MAX)
		return SL_EINVAL;
	sl_strlcpy(buf, text, RECOVER_LIST_MAX);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (*n >= SAPP_RECOVER_MAX)
			return SL_EINVAL;
		ids[(*n)++] = tok;
	}
	return *n > 0 ? SL_OK : SL_EINVAL;
}

/* The revoked devices, comma-separated ("-" for none). */
static void
revoked_text(const json_t *ans, char *out, size_t len)
{
	const json_t *list = json_object_get(ans, "revoked"), *v;
	size_t i, at = 0;

	out[0] = '\0';
	json_array_foreach(list, i, v)
	{
		int w = snprintf(out + at, len - at, "%s%s", at > 0 ? ", " : "", json_string_value(v) ?: "?");
		if (w < 0 || (size_t)w >= len - at)
			break;
		at += (size_t)w;
	}
	if (at == 0)
		sl_strlcpy(out, "-", len);
}

static int
recover_finish(struct cli *c)
{
	static const char *const allowed[] = { "revoke", NULL };
	const char *ids[SAPP_RECOVER_MAX];
	char list[RECOVER_LIST_MAX], code[CLI_LINE_MAX], said[512];
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	size_t n = 0;
	int rc;

	if ((rc = cli_start(c, 2, 2, allowed)) != CLI_OK)
		return rc;
	if (split_ids(cli_opt(c, "revoke", NULL), list, ids, &n) != SL_OK) {
		fprintf(stderr, "sleutel-app: --revoke takes 1 to %d device ids, comma-separated\n", SAPP_RECOVER_MAX);
		return CLI_USAGE;
	}
	if ((rc = get_app_code(c, true, code)) != CLI_OK)
		return rc;
	rc = sapp_recover_finish(c->c_app, code, n > 0 ? ids : NULL, n, &ans, &err);
	OPENSSL_cleanse(code, sizeof(code));
	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	if (c->c_json) {
		print_json(ans);
	} else {
		revoked_text(ans, said, sizeof(said));
		say2(c, T_RECOVERED, said, NULL);
	}
	json_decref(ans);
	return CLI_OK;
}

int
cmd_recover(struct cli *c)
{
	const char *sub = c->c_npos > 1 ? c->c_pos[1] : NULL;
	int rc;

	if (sub != NULL && strcmp(sub, "start") == 0) {
		rc = cli_enroll_start(c, sapp_recover_start);
		if (rc == CLI_OK && !c->c_json)
			say(c, T_RECOVER_EID);
		return rc;
	}
	if (sub != NULL && strcmp(sub, "finish") == 0)
		return recover_finish(c);
	fprintf(stderr, "sleutel-app: recover start or recover finish\n");
	return CLI_USAGE;
}
