/*
 * smartid.c — `sleutel-app smartid ...`: the Smart-ID app in a terminal,
 * on libsleutel-app's Smart-ID side, following the manual: "Registreren",
 * country and ID card, the terms, "Kies je PIN1" and PIN2 (twice each,
 * masked), the registration code and "Ga verder op je computer", the wait
 * for the portal, PIN1 and PIN2 again (the recall check); then signing
 * requests showing the site's name and the verification code, answered
 * with the PIN of the key the request names.
 *
 * Not on a terminal (scripts, tests), each PIN is one line of stdin or of
 * --code-fd, in the order asked (register and finish: PIN1 then PIN2).
 * A PIN is never printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../crypto/crypto.h"
#include "cli.h"

#define SID_REG_WAIT_MAX 900 /* seconds: a registration lives 15 minutes */
#define SID_PENDING_WAIT_MAX 3600 /* seconds one `smartid pending --wait` may take */
#define SID_POLL_STEP 30 /* seconds of one wait for the portal */

static const char *
str(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s ? s : "";
}

static long long
num(const json_t *o, const char *name)
{
	return (long long)json_integer_value(json_object_get(o, name));
}

static bool
pin_ok(const char *pin, const void *use)
{
	return sapp_sid_pin_ok(use, pin);
}

int
get_pin(struct cli *c, enum txt ask, const char *use, bool twice, char pin[CLI_LINE_MAX])
{
	struct secret_ask a = { ask, ask, T_SID_PIN_AGAIN, T_SID_PIN_MISMATCH, T_SID_PIN_FORM,
		strcmp(use, "sign") == 0 ? SK_PIN2_MIN : SK_PIN1_MIN, SK_PIN_MAX, pin_ok, use,
		"PIN1 is 4 to 12 digits, PIN2 5 to 12" };

	return get_secret(c, &a, twice, pin);
}

/* PIN1 and PIN2, each chosen (`twice`) or typed again. */
static int
get_pins(struct cli *c, bool twice, char pin1[CLI_LINE_MAX], char pin2[CLI_LINE_MAX])
{
	int rc = get_pin(c, twice ? T_SID_PIN1_NEW : T_SID_PIN1_ENTER, "auth", twice, pin1);

	if (rc == CLI_OK && (rc = get_pin(c, twice ? T_SID_PIN2_NEW : T_SID_PIN2_ENTER, "sign", twice, pin2)) != CLI_OK)
		OPENSSL_cleanse(pin1, CLI_LINE_MAX);
	return rc;
}

/* ---- registration ---- */

/* "Registreren": country and method, the terms (asked on a terminal). */
static int
reg_intro(struct cli *c, const json_t *cfg, struct sapp_sid_spec *spec)
{
	char q[CLI_LINE_MAX];

	if (spec->ss_terms_version == NULL)
		spec->ss_terms_version = json_string_value(json_object_get(cfg, "terms_version"));
	if (!c->c_tty)
		return CLI_OK;
	say(c, T_SID_REGISTER);
	say2(c, T_SID_COUNTRY, spec->ss_country ? spec->ss_country : "BE", NULL);
	fmt_txt(c, q, sizeof(q), T_SID_TERMS, spec->ss_terms_version ? spec->ss_terms_version : "?", NULL);
	if (!prompt_yes(q, txt(c, T_YES_CHARS)))
		return CLI_USAGE;
	say(c, T_SID_PIN_NOTE);
	return CLI_OK;
}

static void
show_code(const struct cli *c, const json_t *ans)
{
	char minutes[24];

	if (c->c_json) {
		print_json(ans);
		return;
	}
	snprintf(minutes, sizeof(minutes), "%lld", (num(ans, "expires_in") + 59) / 60);
	say2(c, T_SID_CONTINUE, str(ans, "portal_url"), NULL);
	say2(c, T_SID_CODE, str(ans, "registration_code"), minutes);
	fflush(stdout);
}

/* A refused registration call: why, in words, then the error. */
static int
reg_failed(struct cli *c, int rc, const struct sl_err *err)
{
	const char *code = sapp_last_error_code(c->c_app);

	if (!c->c_json && strcmp(code, "registration_expired") == 0)
		say(c, T_SID_EXPIRED);
	else if (!c->c_json && strcmp(code, "registration_failed") == 0)
		say(c, T_SID_FAILED);
	return cli_fail(c, rc, err);
}

/* Wait until the portal confirmed (or the registration ended). */
static int
wait_confirmed(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL, *person;
	const char *st;
	int rc;

	say(c, T_SID_WAITING);
	for (;;) {
		if ((rc = sapp_sid_registration(c->c_app, SID_POLL_STEP, &ans, &err)) != SL_OK)
			return reg_failed(c, rc, &err);
		st = str(ans, "status");
		if (strcmp(st, "code") != 0)
			break;
		json_decref(ans);
	}
	rc = CLI_OK;
	person = json_object_get(ans, "person");
	if (strcmp(st, "confirmed") == 0) {
		say2(c, T_SID_CONFIRMED, str(person, "given_name"), str(person, "family_name"));
	} else {
		say(c, T_SID_FAILED);
		rc = CLI_REFUSED;
	}
	json_decref(ans);
	return rc;
}

/* "PIN1", "PIN2" or "PIN1, PIN2" from a wrong_pin's "keys". */
static void
wrong_keys(const json_t *se, char *out, size_t size)
{
	json_t *k;
	size_t i;

	out[0] = '\0';
	json_array_foreach(json_object_get(se, "keys"), i, k)
	{
		const char *name = json_string_value(k);
		if (name == NULL)
			continue;
		if (out[0] != '\0')
			strncat(out, ", ", size - strlen(out) - 1);
		strncat(out, strcmp(name, "sign") == 0 ? "PIN2" : "PIN1", size - strlen(out) - 1);
	}
}

/* One recall check; *again when a wrong PIN leaves tries. */
static int
recall_once(struct cli *c, bool *again)
{
	char pin1[CLI_LINE_MAX], pin2[CLI_LINE_MAX], keys[32], left[24];
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	const json_t *se;
	int rc;

	*again = false;
	if ((rc = get_pins(c, false, pin1, pin2)) != CLI_OK)
		return rc;
	rc = sapp_sid_finish(c->c_app, pin1, pin2, &ans, &err);
	OPENSSL_cleanse(pin1, sizeof(pin1));
	OPENSSL_cleanse(pin2, sizeof(pin2));
	if (rc == SL_OK) {
		if (c->c_json)
			print_json(ans);
		else
			say2(c, T_SID_READY, sapp_sid_document_number(c->c_app), NULL);
		json_decref(ans);
		return CLI_OK;
	}
	se = sapp_last_error(c->c_app);
	if (strcmp(sapp_last_error_code(c->c_app), "wrong_pin") == 0 && !c->c_json) {
		wrong_keys(se, keys, sizeof(keys));
		snprintf(left, sizeof(left), "%lld", num(se, "attempts_left"));
		say2(c, T_SID_WRONG_RECALL, keys, left);
		*again = c->c_tty && num(se, "attempts_left") > 0;
	}
	return reg_failed(c, rc, &err);
}

static int
recall(struct cli *c)
{
	bool again = true;
	int rc = CLI_OK;

	if (c->c_tty)
		say(c, T_SID_RECALL);
	while (again)
		rc = recall_once(c, &again);
	return rc;
}

static int
sid_register(struct cli *c)
{
	static const char *const allowed[] = { "country", "method", "name", "terms", NULL };
	struct sapp_sid_spec spec = { 0 };
	char pin1[CLI_LINE_MAX], pin2[CLI_LINE_MAX];
	struct sl_err err = { 0 };
	json_t *cfg = NULL, *ans = NULL;
	int rc;

	if (!args_ok(c, 2, 2, allowed))
		return CLI_USAGE;
	spec = (struct sapp_sid_spec){ cli_opt(c, "country", NULL), cli_opt(c, "method", NULL),
		cli_opt(c, "name", NULL), c->c_lang, cli_opt(c, "terms", NULL), pin1, pin2 };
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if ((rc = sapp_sid_config(c->c_app, &cfg, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	if ((rc = reg_intro(c, cfg, &spec)) != CLI_OK || (rc = get_pins(c, true, pin1, pin2)) != CLI_OK) {
		json_decref(cfg);
		return rc;
	}
	if (c->c_tty)
		say(c, T_SID_MAKING_KEYS);
	rc = sapp_sid_register(c->c_app, &spec, &ans, &err);
	OPENSSL_cleanse(pin1, sizeof(pin1));
	OPENSSL_cleanse(pin2, sizeof(pin2));
	json_decref(cfg);
	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	show_code(c, ans);
	json_decref(ans);
	if (!c->c_tty)
		return CLI_OK; /* scripts go on with `smartid status --wait` and `smartid finish` */
	if ((rc = wait_confirmed(c)) != CLI_OK)
		return rc;
	return recall(c);
}

static int
sid_finish(struct cli *c)
{
	int rc;

	if ((rc = cli_start(c, 2, 2, NULL)) != CLI_OK)
		return rc;
	return recall(c);
}

/* ---- the state of things ---- */

static void
show_registration(const struct cli *c, const json_t *ans)
{
	const json_t *person = json_object_get(ans, "person");

	if (c->c_json) {
		print_json(ans);
		return;
	}
	printf("status: %s\n", str(ans, "status"));
	if (strcmp(str(ans, "status"), "confirmed") == 0)
		say2(c, T_SID_CONFIRMED, str(person, "given_name"), str(person, "family_name"));
	else if (strcmp(str(ans, "status"), "failed") == 0)
		say(c, T_SID_FAILED);
}

static void
show_status(const struct cli *c, const json_t *ans)
{
	static const char *const uses[] = { "auth", "sign" };
	char failures[24];

	if (c->c_json) {
		print_json(ans);
		return;
	}
	say2(c, T_SID_DOCNR, str(ans, "document_number"), NULL);
	printf("status: %s\n", str(ans, "status"));
	for (int i = 0; i < 2; i++) {
		const json_t *k = json_object_get(json_object_get(ans, "keys"), uses[i]);
		snprintf(failures, sizeof(failures), "%lld", num(k, "failures"));
		say2(c, T_SID_FAILURES, i == 0 ? "PIN1" : "PIN2", failures);
		if (num(k, "locked_until") != 0)
			say(c, T_LOCKED);
	}
}

static int
sid_status(struct cli *c)
{
	static const char *const allowed[] = { "wait", NULL };
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, allowed)) != CLI_OK)
		return rc;
	switch (sapp_sid_phase(c->c_app)) {
	case SAPP_SID_REGISTERING:
		rc = sapp_sid_registration(c->c_app, wait_value(c, SID_REG_WAIT_MAX, SID_REG_WAIT_MAX), &ans, &err);
		if (rc != SL_OK)
			return reg_failed(c, rc, &err);
		show_registration(c, ans);
		break;
	case SAPP_SID_ACTIVE:
		if ((rc = sapp_sid_status(c->c_app, &ans, &err)) != SL_OK)
			return cli_fail(c, rc, &err);
		show_status(c, ans);
		break;
	default:
		ans = json_pack("{s:s}", "status", "none");
		if (c->c_json)
			print_json(ans);
		else
			say(c, T_SID_NONE);
	}
	json_decref(ans);
	return CLI_OK;
}

/* ---- requests ---- */

static const char *
action_text(const struct cli *c, const char *action)
{
	return strcmp(action, "sign") == 0 ? txt(c, T_ACTION_SIGN) : txt(c, T_ACTION_LOGIN);
}

/* The site's name, what it asks, the text, and the verification code. */
static void
show_sid_request(const struct cli *c, const json_t *r)
{
	printf("\n%s\n%s\n", str(r, "rp_name"), action_text(c, str(r, "action")));
	if (str(r, "display_text")[0] != '\0')
		printf("%s\n", str(r, "display_text"));
	if (str(r, "verification_code")[0] != '\0') /* RP API device links show none */
		say2(c, T_SID_VC, str(r, "verification_code"), NULL);
	if (json_is_integer(json_object_get(r, "expires_in")))
		say_num(c, T_EXPIRES, num(r, "expires_in"));
	printf("%s [%s]\n", strcmp(str(r, "key"), "sign") == 0 ? "PIN2" : "PIN1", str(r, "id"));
}

static int
sid_pending(struct cli *c)
{
	static const char *const allowed[] = { "wait", NULL };
	struct sl_err err = { 0 };
	json_t *arr = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, allowed)) != CLI_OK)
		return rc;
	rc = sapp_sid_requests(c->c_app, wait_value(c, SID_PENDING_WAIT_MAX, SID_PENDING_WAIT_MAX), &arr, &err);
	return show_requests(c, rc, &err, arr, show_sid_request);
}

static int
sid_refuse_request(struct cli *c, const json_t *r)
{
	return answer_with(c, r, sapp_sid_refuse);
}

/* Checked before anything is asked: a request that does not add up is
 * not shown as something to confirm. */
static int
sid_confirm_request(struct cli *c, const json_t *r)
{
	struct sl_err err = { 0 };
	char pin[CLI_LINE_MAX];
	const char *use = NULL;
	json_t *ans = NULL;
	int rc;

	if ((rc = sapp_sid_request_verify(r, &use, &err)) != SL_OK) {
		if (!c->c_json)
			say(c, T_SID_BAD_REQUEST);
		return cli_fail(c, rc, &err);
	}
	if (!c->c_json)
		show_sid_request(c, r);
	if (c->c_tty) {
		say(c, T_SID_VC_CHECK);
		if (!prompt_yes(txt(c, T_CONFIRM), txt(c, T_YES_CHARS)))
			return sid_refuse_request(c, r);
	}
	if ((rc = get_pin(c, strcmp(use, "sign") == 0 ? T_SID_PIN2_ENTER : T_SID_PIN1_ENTER, use, false, pin)) !=
		CLI_OK)
		return rc;
	rc = sapp_sid_confirm(c->c_app, r, pin, &ans, &err);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rc != SL_OK)
		return answer_failed(c, rc, &err);
	return cli_done(c, rc, &err, ans, show_outcome);
}

static int
sid_answer(struct cli *c, bool confirm)
{
	static const char *const allowed[] = { "pick", "refuse", NULL }; /* RP API requests only */
	json_t *r = NULL;
	int rc;

	if (!args_ok(c, 3, 3, allowed))
		return CLI_USAGE;
	if ((rc = find_with(c, c->c_pos[2], &r, sapp_sid_request_find)) != CLI_OK)
		return rc;
	if (sapp_rp_is(r))
		rc = rp_answer(c, r, confirm);
	else if (c->c_nopt > 0)
		rc = args_ok(c, 3, 3, NULL) ? CLI_OK : CLI_USAGE; /* --pick, --refuse: not for this request */
	else
		rc = confirm ? sid_confirm_request(c, r) : sid_refuse_request(c, r);
	json_decref(r);
	return rc;
}

/* ---- devices ---- */

static int
sid_devices(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *arr = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, NULL)) != CLI_OK)
		return rc;
	rc = sapp_sid_devices(c->c_app, &arr, &err);
	return show_devices(c, rc, &err, arr);
}

static int
sid_remove(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 3, 3, NULL)) != CLI_OK)
		return rc;
	rc = sapp_sid_remove(c->c_app, c->c_pos[2], &ans, &err);
	return cli_done(c, rc, &err, ans, show_removed);
}

int
cmd_smartid(struct cli *c)
{
	const char *sub = c->c_npos > 1 ? c->c_pos[1] : NULL;

	if (sub != NULL && strcmp(sub, "register") == 0)
		return sid_register(c);
	if (sub != NULL && strcmp(sub, "finish") == 0)
		return sid_finish(c);
	if (sub != NULL && strcmp(sub, "status") == 0)
		return sid_status(c);
	if (sub != NULL && strcmp(sub, "pending") == 0)
		return sid_pending(c);
	if (sub != NULL && strcmp(sub, "approve") == 0)
		return sid_answer(c, true);
	if (sub != NULL && strcmp(sub, "refuse") == 0)
		return sid_answer(c, false);
	if (sub != NULL && strcmp(sub, "link") == 0)
		return rp_link(c);
	if (sub != NULL && strcmp(sub, "devices") == 0)
		return sid_devices(c);
	if (sub != NULL && strcmp(sub, "remove") == 0)
		return sid_remove(c);
	fprintf(stderr,
		"sleutel-app: smartid register, status, finish, pending, approve, refuse, link, devices or remove\n");
	return CLI_USAGE;
}
