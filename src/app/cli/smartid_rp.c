/*
 * smartid_rp.c — RP API requests in the terminal app: `smartid link URL`
 * (the text of a scanned QR code or an opened Web2App/App2App link) and
 * `smartid approve|refuse ID` of a request that came by notification.
 *
 * The request is checked whole by libsleutel-app first (sapp_rp_check);
 * one that does not add up is not shown as something to confirm.  Then
 * the person sees the site's name, what it asks ("Ik log in", "Ik
 * onderteken", a certificate choice), the interaction's text and the
 * verification code — or, for a verification-code choice, three codes to
 * pick from — and confirms with PIN1 or PIN2 (masked), or refuses.  A
 * same-device link ends with the callback URL to open.
 *
 * Scriptable: --pick CODE answers a code choice, --refuse REASON refuses,
 * the PIN is the first line of stdin (or --code-fd), --json prints the
 * server's answer (with "callback_url" for a same-device link).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

static const char *
action_text(const struct cli *c, const struct sapp_rp_view *v)
{
	return strcmp(v->rv_action, "login") == 0 ? txt(c, T_ACTION_LOGIN) : txt(c, T_ACTION_SIGN);
}

/* The site, what it asks, the text, the code (unless it is to be picked). */
static void
show_rp(const struct cli *c, const struct sapp_rp_view *v)
{
	if (c->c_json)
		return;
	printf("\n%s\n", v->rv_rp_name);
	if (v->rv_use == NULL)
		say2(c, T_RP_CERT, v->rv_rp_name, NULL);
	else
		printf("%s\n", action_text(c, v));
	if (v->rv_text[0] != '\0')
		printf("%s\n", v->rv_text);
	if (v->rv_vc[0] != '\0' && !v->rv_vc_choice) {
		say2(c, T_SID_VC, v->rv_vc, NULL);
		say(c, T_SID_VC_CHECK);
	}
	fflush(stdout);
}

/* The server's answer, and for a same-device link the way back. */
static int
rp_outcome(struct cli *c, const struct sapp_rp_view *v, json_t *ans, char *callback)
{
	if (callback != NULL && ans != NULL)
		json_object_set_new(ans, "callback_url", json_string(callback));
	show_outcome(c, ans);
	if (callback != NULL && !c->c_json)
		say2(c, T_RP_CALLBACK, v->rv_rp_name, callback);
	free(callback);
	json_decref(ans);
	return CLI_OK;
}

static int
rp_refuse(struct cli *c, const json_t *r, const struct sapp_rp_view *v, const char *reason)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	char *callback = NULL;
	int rc = sapp_rp_refuse(c->c_app, r, reason, &ans, &err);

	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	/* The RP learns the end from the session; the callback only brings the
	 * person back (no userChallengeVerifier: nothing was signed). */
	if (v->rv_same_device && sapp_rp_callback(r, NULL, &callback, &err) != SL_OK)
		callback = NULL;
	return rp_outcome(c, v, ans, callback);
}

/* A verification-code choice on a terminal: three codes, one of them
 * right; 0 refuses.  *pick "" when refused. */
static int
ask_rp_pick(struct cli *c, const struct sapp_rp_view *v, char *pick, size_t size)
{
	char codes[SAPP_RP_CHOICES][5], q[CLI_LINE_MAX], line[CLI_LINE_MAX];
	struct sl_err err = { 0 };
	int rc;

	if ((rc = sapp_rp_choices(v->rv_vc, codes, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	for (int i = 0; i < SAPP_RP_CHOICES; i++)
		printf("  %d. %s\n", i + 1, codes[i]);
	fmt_txt(c, q, sizeof(q), T_RP_PICK, v->rv_rp_name, NULL);
	for (;;) {
		if (prompt_line(q, line, sizeof(line)) != SL_OK)
			return CLI_USAGE;
		if (strcmp(line, "0") == 0) {
			pick[0] = '\0';
			return CLI_OK;
		}
		if (strlen(line) == 1 && line[0] >= '1' && line[0] < '1' + SAPP_RP_CHOICES) {
			sl_strlcpy(pick, codes[line[0] - '1'], size);
			return CLI_OK;
		}
	}
}

/* The reason a "no" refuses with: the certificate choice, or the
 * interaction shown. */
static const char *
no_reason(const struct sapp_rp_view *v)
{
	return v->rv_use == NULL ? "cert_choice" : "interaction";
}

/* The code picked (--pick, or asked on a terminal) and "Bevestig?":
 * *refuse set when the person said no. */
static int
rp_consent(struct cli *c, const struct sapp_rp_view *v, char pick[CLI_LINE_MAX], bool *refuse)
{
	const char *opt = cli_opt(c, "pick", NULL);
	int rc;

	*refuse = false;
	pick[0] = '\0';
	if (v->rv_vc_choice) {
		if (opt != NULL) {
			sl_strlcpy(pick, opt, CLI_LINE_MAX);
		} else if (!c->c_tty) {
			fprintf(stderr, "sleutel-app: this request asks for --pick CODE (the code the site shows)\n");
			return CLI_USAGE;
		} else if ((rc = ask_rp_pick(c, v, pick, CLI_LINE_MAX)) != CLI_OK) {
			return rc;
		}
		*refuse = pick[0] == '\0';
		return CLI_OK;
	}
	if (c->c_tty)
		*refuse = !prompt_yes(txt(c, T_CONFIRM), txt(c, T_YES_CHARS));
	return CLI_OK;
}

static int
rp_confirm(struct cli *c, const json_t *r, const struct sapp_rp_view *v)
{
	char pick[CLI_LINE_MAX], pin[CLI_LINE_MAX] = "", *callback = NULL;
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	bool refuse = false;
	int rc;

	if ((rc = rp_consent(c, v, pick, &refuse)) != CLI_OK)
		return rc;
	if (refuse)
		return rp_refuse(c, r, v, no_reason(v));
	if (v->rv_use != NULL && (rc = get_pin(c, strcmp(v->rv_use, "sign") == 0 ? T_SID_PIN2_ENTER : T_SID_PIN1_ENTER,
					  v->rv_use, false, pin)) != CLI_OK)
		return rc;
	rc = sapp_rp_confirm(c->c_app, r, pick[0] ? pick : NULL, v->rv_use ? pin : NULL, &ans, &callback, &err);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rc == SL_EDENIED && v->rv_vc_choice) {
		if (!c->c_json)
			say(c, T_RP_WRONG_VC);
		json_decref(ans);
		return cli_fail(c, rc, &err);
	}
	if (rc != SL_OK)
		return answer_failed(c, rc, &err);
	return rp_outcome(c, v, ans, callback);
}

int
rp_answer(struct cli *c, const json_t *r, bool confirm)
{
	const char *reason = cli_opt(c, "refuse", NULL);
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	int rc;

	if ((rc = sapp_rp_check(r, &v, &err)) != SL_OK) {
		if (!confirm || reason != NULL) { /* one that does not add up may still be refused */
			memset(&v, 0, sizeof(v));
			return rp_refuse(c, r, &v, reason ? reason : "refused");
		}
		if (!c->c_json)
			say(c, T_SID_BAD_REQUEST);
		return cli_fail(c, rc, &err);
	}
	if (!v.rv_supported) {
		if (!c->c_json)
			say(c, T_RP_NOT_SUPPORTED);
		rc = rp_refuse(c, r, &v, "not_supported");
		return rc == CLI_OK ? CLI_REFUSED : rc; /* nothing was approved */
	}
	show_rp(c, &v);
	if (!confirm || reason != NULL)
		return rp_refuse(c, r, &v, reason ? reason : "refused");
	return rp_confirm(c, r, &v);
}

int
rp_link(struct cli *c)
{
	static const char *const allowed[] = { "pick", "refuse", NULL };
	struct sl_err err = { 0 };
	json_t *r = NULL;
	int rc;

	if ((rc = cli_start(c, 3, 3, allowed)) != CLI_OK)
		return rc;
	if ((rc = sapp_sid_link_claim(c->c_app, c->c_pos[2], &r, &err)) != SL_OK) {
		/* Not ours, or not a device link at all (the server was not asked). */
		if (!c->c_json && sapp_sid_phase(c->c_app) == SAPP_SID_ACTIVE && sapp_last_error(c->c_app) == NULL)
			say(c, T_RP_BAD_LINK);
		return cli_fail(c, rc, &err);
	}
	rc = rp_answer(c, r, true);
	json_decref(r);
	return rc;
}
