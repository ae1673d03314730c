/*
 * commands.c — the terminal app's commands on libsleutel-app.  Each
 * prints the server's answer (as JSON with --json, else as text in the
 * person's language) and returns the exit code.  A code (SMS code aside)
 * is never printed, and never read with echo: on a terminal it is typed
 * masked; otherwise it is the first line of stdin or of --code-fd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../crypto/crypto.h"
#include "cli.h"

#define ENROLL_WAIT_MAX 1800 /* seconds: an enrolment lives 30 minutes */
#define PENDING_WAIT_MAX 3600 /* seconds one `pending --wait` may take */
#define CODE_TRIES 3 /* times the terminal asks the code twice */

/* The format comes from text.c's table, never from input. */
/* The text `id` in the app's language with %1 and %2 replaced by a1 and
 * a2 (NULL: nothing), cut to fit `size`. */
void
fmt_txt(const struct cli *c, char *buf, size_t size, enum txt id, const char *a1, const char *a2)
{
	const char *t = txt(c, id);
	size_t n = 0;

	for (; *t != '\0' && n + 1 < size; t++) {
		if (t[0] == '%' && (t[1] == '1' || t[1] == '2')) {
			const char *a = t[1] == '1' ? a1 : a2;
			for (a = a ? a : ""; *a != '\0' && n + 1 < size; a++)
				buf[n++] = *a;
			t++;
		} else {
			buf[n++] = *t;
		}
	}
	buf[n] = '\0';
}

void
say2(const struct cli *c, enum txt id, const char *a1, const char *a2)
{
	char buf[1024];

	fmt_txt(c, buf, sizeof(buf), id, a1, a2);
	puts(buf);
}

void
say(const struct cli *c, enum txt id)
{
	say2(c, id, NULL, NULL);
}

void
say_num(const struct cli *c, enum txt id, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	say2(c, id, num, NULL);
}

void
print_json(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

const char *
cli_opt(const struct cli *c, const char *name, bool *present)
{
	for (int i = 0; i < c->c_nopt; i++) {
		if (strcmp(c->c_optk[i], name) == 0) {
			if (present != NULL)
				*present = true;
			return c->c_optv[i];
		}
	}
	if (present != NULL)
		*present = false;
	return NULL;
}

/* Options other than `allowed` (NULL-ended) and more positionals than
 * `maxpos` are a usage error. */
bool
args_ok(const struct cli *c, int minpos, int maxpos, const char *const *allowed)
{
	for (int i = 0; i < c->c_nopt; i++) {
		bool ok = false;
		for (int j = 0; allowed != NULL && allowed[j] != NULL; j++)
			ok |= strcmp(allowed[j], c->c_optk[i]) == 0;
		if (!ok) {
			fprintf(stderr, "sleutel-app: --%s does not go with this command\n", c->c_optk[i]);
			return false;
		}
	}
	if (c->c_npos < minpos || c->c_npos > maxpos) {
		fprintf(stderr, "sleutel-app: wrong number of arguments (see --help)\n");
		return false;
	}
	return true;
}

int
cli_fail(struct cli *c, int rc, const struct sl_err *err)
{
	const json_t *se = c->c_app ? sapp_last_error(c->c_app) : NULL;

	fprintf(stderr, "sleutel-app: %s\n", err->msg[0] ? err->msg : sl_strerror(rc));
	if (c->c_json) {
		if (se != NULL) {
			print_json(se);
		} else {
			json_t *o = json_pack("{s:s, s:s}", "error", "app_error", "error_description", err->msg);
			print_json(o);
			json_decref(o);
		}
	}
	return CLI_REFUSED;
}

/* Open the state; with `create`, make it when it does not exist. */
int
cli_open(struct cli *c, bool create)
{
	struct sl_err err = { 0 };
	struct stat sb;
	int rc;

	if (c->c_app != NULL)
		return CLI_OK;
	if (create && stat(c->c_state, &sb) != 0) {
		if (c->c_server == NULL) {
			fprintf(stderr, "sleutel-app: a new state needs --server URL\n");
			return CLI_USAGE;
		}
		rc = sapp_create(c->c_state, c->c_server, c->c_ca, &c->c_app, &err);
	} else {
		rc = sapp_open(c->c_state, &c->c_app, &err);
		if (rc == SL_OK && (c->c_server != NULL || c->c_ca != NULL))
			rc = sapp_set_server(c->c_app, c->c_server, c->c_ca, &err);
	}
	return rc == SL_OK ? CLI_OK : cli_fail(c, rc, &err);
}

int
get_secret(struct cli *c, const struct secret_ask *a, bool twice, char out[CLI_LINE_MAX])
{
	char again[CLI_LINE_MAX];

	if (c->c_code_fd >= 0 || !c->c_tty) {
		if (read_code_fd(c->c_code_fd >= 0 ? c->c_code_fd : STDIN_FILENO, out, CLI_LINE_MAX) != SL_OK ||
			!a->sa_ok(out, a->sa_arg)) {
			OPENSSL_cleanse(out, CLI_LINE_MAX);
			fprintf(stderr, "sleutel-app: %s\n", a->sa_fd_msg);
			return CLI_USAGE;
		}
		return CLI_OK;
	}
	for (int tries = 0; tries < CODE_TRIES; tries++) {
		int rc = prompt_pin(txt(c, twice ? a->sa_new : a->sa_enter), a->sa_min, a->sa_max, out, CLI_LINE_MAX);
		if (rc == SL_EIO)
			return CLI_USAGE; /* end of input, ^C */
		if (rc != SL_OK) {
			say(c, a->sa_form);
			continue;
		}
		if (!twice)
			return CLI_OK;
		rc = prompt_pin(txt(c, a->sa_again), a->sa_min, a->sa_max, again, sizeof(again));
		if (rc == SL_OK && strcmp(out, again) == 0) {
			OPENSSL_cleanse(again, sizeof(again));
			return CLI_OK;
		}
		OPENSSL_cleanse(again, sizeof(again));
		OPENSSL_cleanse(out, CLI_LINE_MAX);
		say(c, a->sa_mismatch);
	}
	return CLI_USAGE;
}

static bool
app_code_ok(const char *code, const void *arg)
{
	(void)arg;
	return camo_code_ok(code);
}

/* The 5-digit app code: masked on a terminal (twice when `twice`),
 * otherwise the first line of --code-fd or stdin. */
int
get_app_code(struct cli *c, bool twice, char code[CLI_LINE_MAX])
{
	static const struct secret_ask ask = { T_CODE_NEW, T_CODE_ENTER, T_CODE_AGAIN, T_CODE_MISMATCH, T_CODE_FIVE,
		CAMO_CODE_LEN, CAMO_CODE_LEN, app_code_ok, NULL, "the app code is exactly 5 digits" };

	return get_secret(c, &ask, twice, code);
}

int
cli_done(struct cli *c, int rc, const struct sl_err *err, json_t *ans,
	void (*show)(const struct cli *c, const json_t *ans))
{
	if (rc != SL_OK) {
		json_decref(ans);
		return cli_fail(c, rc, err);
	}
	show(c, ans);
	json_decref(ans);
	return CLI_OK;
}

void
print_list(const struct cli *c, const char *name, json_t *arr)
{
	json_t *o = json_pack("{s:O}", name, arr);

	(void)c;
	print_json(o);
	json_decref(o);
}

int
cli_start(struct cli *c, int minpos, int maxpos, const char *const *allowed)
{
	if (!args_ok(c, minpos, maxpos, allowed))
		return CLI_USAGE;
	return cli_open(c, false);
}

int
wait_value(const struct cli *c, int dflt, int max)
{
	bool present;
	const char *v = cli_opt(c, "wait", &present);
	int w;

	if (!present)
		return 0;
	w = v ? atoi(v) : dflt;
	return w > max ? max : w;
}

/* ---- enrolment ---- */

static void
show_proofing(const struct cli *c, const json_t *ans)
{
	json_t *p;
	size_t i;

	say(c, T_PROOFING);
	json_array_foreach(json_object_get(ans, "proofing"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *url = json_string_value(json_object_get(p, "url"));
		printf("  %zu. %s: %s\n", i + 1, name ? name : "?", url ? url : "?");
	}
}

static void
show_enroll(const struct cli *c, const json_t *ans)
{
	const char *status = json_string_value(json_object_get(ans, "status"));
	json_t *person = json_object_get(ans, "person");

	if (c->c_json) {
		print_json(ans);
		return;
	}
	printf("status: %s\n", status ? status : "?");
	if (status != NULL && strcmp(status, "proof_code") == 0)
		say(c, T_PROOF_CODE_WAIT);
	else if (json_is_array(json_object_get(ans, "proofing")))
		show_proofing(c, ans);
	if (json_is_object(person))
		say2(c, T_PROOFED, json_string_value(json_object_get(person, "given_name")) ?: "",
			json_string_value(json_object_get(person, "family_name")) ?: "");
}

/* The terms, accepted on a terminal by answering yes. */
static bool
prompt_yes_terms(const struct cli *c, const char *version)
{
	char q[CLI_LINE_MAX];

	say(c, T_WELCOME);
	fmt_txt(c, q, sizeof(q), T_TERMS, version ? version : "?", NULL);
	return prompt_yes(q, txt(c, T_YES_CHARS));
}

int
cli_enroll_start(struct cli *c, cli_start_fn start)
{
	static const char *const allowed[] = { "phone", "name", "terms", NULL };
	struct sapp_enroll_spec spec = { 0 };
	struct sl_err err = { 0 };
	json_t *cfg = NULL, *ans = NULL;
	char phone[CLI_LINE_MAX];
	int rc;

	if (!args_ok(c, 2, 2, allowed))
		return CLI_USAGE;
	spec.es_phone = cli_opt(c, "phone", NULL);
	spec.es_device_name = cli_opt(c, "name", NULL);
	spec.es_language = c->c_lang;
	spec.es_terms_version = cli_opt(c, "terms", NULL);
	if (spec.es_phone == NULL && !c->c_tty) {
		fprintf(stderr, "sleutel-app: enroll start needs --phone\n");
		return CLI_USAGE;
	}
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (spec.es_terms_version == NULL) {
		if ((rc = sapp_config(c->c_app, &cfg, &err)) != SL_OK)
			return cli_fail(c, rc, &err);
		spec.es_terms_version = json_string_value(json_object_get(cfg, "terms_version"));
		if (c->c_tty && !prompt_yes_terms(c, spec.es_terms_version)) {
			json_decref(cfg);
			return CLI_USAGE;
		}
	}
	if (spec.es_phone == NULL) {
		if (prompt_line(txt(c, T_PHONE), phone, sizeof(phone)) != SL_OK) {
			json_decref(cfg);
			return CLI_USAGE;
		}
		spec.es_phone = phone;
	}
	rc = start(c->c_app, &spec, &ans, &err);
	json_decref(cfg);
	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	if (c->c_json)
		print_json(ans);
	else
		say2(c, T_SMS_SENT, json_string_value(json_object_get(ans, "phone")) ?: spec.es_phone, NULL);
	json_decref(ans);
	return CLI_OK;
}

static int
enroll_sms(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	const json_t *se;
	int rc;

	if ((rc = cli_start(c, 3, 3, NULL)) != CLI_OK)
		return rc;
	rc = sapp_enroll_sms(c->c_app, c->c_pos[2], &ans, &err);
	if (rc != SL_OK) {
		se = sapp_last_error(c->c_app);
		if (!c->c_json && json_is_integer(json_object_get(se, "attempts_left")))
			say_num(c, T_ATTEMPTS_LEFT,
				(long long)json_integer_value(json_object_get(se, "attempts_left")));
		return cli_fail(c, rc, &err);
	}
	show_enroll(c, ans);
	json_decref(ans);
	return CLI_OK;
}

static int
enroll_resend(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, NULL)) != CLI_OK)
		return rc;
	if ((rc = sapp_enroll_resend(c->c_app, &ans, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	if (c->c_json)
		print_json(ans);
	json_decref(ans);
	return CLI_OK;
}

static int
enroll_status(struct cli *c)
{
	static const char *const allowed[] = { "wait", NULL };
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, allowed)) != CLI_OK)
		return rc;
	rc = sapp_enroll_status(c->c_app, wait_value(c, ENROLL_WAIT_MAX, ENROLL_WAIT_MAX), &ans, &err);
	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	show_enroll(c, ans);
	json_decref(ans);
	return CLI_OK;
}

/* A refusal after which the person must prove again. */
static bool
proof_gone(const struct cli *c)
{
	const char *code = sapp_last_error_code(c->c_app);

	return strcmp(code, "wrong_code") == 0 || strcmp(code, "code_expired") == 0 || strcmp(code, "no_proof") == 0;
}

/* Say how many tries are left after a refused proofing code, or that the
 * person must prove again; true when a try is left. */
static bool
proof_refused(const struct cli *c)
{
	json_t *left = json_object_get(sapp_last_error(c->c_app), "attempts_left");

	if (json_is_integer(left) && json_integer_value(left) > 0) {
		say_num(c, T_ATTEMPTS_LEFT, (long long)json_integer_value(left));
		return true;
	}
	if (proof_gone(c))
		say(c, T_PROOF_AGAIN);
	return false;
}

static int
enroll_proof(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 3, 3, NULL)) != CLI_OK)
		return rc;
	if ((rc = sapp_enroll_proof(c->c_app, c->c_pos[2], &ans, &err)) != SL_OK) {
		if (!c->c_json)
			proof_refused(c);
		return cli_fail(c, rc, &err);
	}
	show_enroll(c, ans);
	json_decref(ans);
	return CLI_OK;
}

static int
enroll_finish(struct cli *c)
{
	struct sl_err err = { 0 };
	char code[CLI_LINE_MAX];
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, NULL)) != CLI_OK)
		return rc;
	if ((rc = get_app_code(c, true, code)) != CLI_OK)
		return rc;
	rc = sapp_enroll_finish(c->c_app, code, &ans, &err);
	OPENSSL_cleanse(code, sizeof(code));
	if (rc != SL_OK)
		return cli_fail(c, rc, &err);
	if (c->c_json)
		print_json(ans);
	else
		say(c, T_READY);
	json_decref(ans);
	return CLI_OK;
}

/* The SMS code, asked until right or the server ends the enrolment. */
static int
ask_sms(struct cli *c, json_t **ans)
{
	struct sl_err err = { 0 };
	char line[CLI_LINE_MAX];
	int rc;

	for (;;) {
		if (prompt_line(txt(c, T_SMS_CODE), line, sizeof(line)) != SL_OK)
			return CLI_USAGE;
		rc = sapp_enroll_sms(c->c_app, line, ans, &err);
		if (rc == SL_OK)
			return CLI_OK;
		if (strcmp(sapp_last_error_code(c->c_app), "wrong_code") != 0)
			return cli_fail(c, rc, &err);
		say_num(c, T_ATTEMPTS_LEFT,
			(long long)json_integer_value(json_object_get(sapp_last_error(c->c_app), "attempts_left")));
	}
}

/* The proofing code the page shows, asked until right.  CLI_OK also when
 * the person must prove again (the new links are shown). */
static int
ask_proof_code(struct cli *c)
{
	struct sl_err err = { 0 };
	char line[CLI_LINE_MAX];
	json_t *ans = NULL;
	int rc;

	say(c, T_PROOF_CODE_WAIT);
	for (;;) {
		if (prompt_line(txt(c, T_PROOF_CODE), line, sizeof(line)) != SL_OK)
			return CLI_USAGE;
		if (line[0] == '\0' || strlen(line) > 32)
			continue;
		if ((rc = sapp_enroll_proof(c->c_app, line, &ans, &err)) == SL_OK)
			break;
		/* Not a code's shape (not counted), or a wrong one with tries left. */
		if (strcmp(sapp_last_error_code(c->c_app), "invalid_request") == 0 || proof_refused(c))
			continue;
		if (!proof_gone(c))
			return cli_fail(c, rc, &err);
		if ((rc = sapp_enroll_status(c->c_app, 0, &ans, &err)) != SL_OK)
			return cli_fail(c, rc, &err);
		if (json_is_array(json_object_get(ans, "proofing")))
			show_proofing(c, ans);
		break;
	}
	json_decref(ans);
	return CLI_OK;
}

/* Wait while proofing, ask for the page's code; say whose identity was
 * linked. */
static int
wait_proofed(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL, *person;
	int rc;

	say(c, T_PROOFING_WAIT);
	for (;;) {
		const char *st = sapp_enrollment_status(c->c_app);
		if (strcmp(st, "proof_code") == 0) {
			if ((rc = ask_proof_code(c)) != CLI_OK)
				return rc;
			continue;
		}
		if (strcmp(st, "proofing") != 0)
			break;
		if ((rc = sapp_enroll_status(c->c_app, 30, &ans, &err)) != SL_OK)
			return cli_fail(c, rc, &err);
		json_decref(ans);
	}
	if ((rc = sapp_enroll_status(c->c_app, 0, &ans, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	person = json_object_get(ans, "person");
	if (json_is_object(person))
		say2(c, T_PROOFED, json_string_value(json_object_get(person, "given_name")) ?: "",
			json_string_value(json_object_get(person, "family_name")) ?: "");
	json_decref(ans);
	return CLI_OK;
}

/* All steps on a terminal: terms, phone, SMS code, proofing, app code.
 * An enrolment already under way goes on where it stands. */
static int
enroll_interactive(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if (!c->c_tty) {
		fprintf(stderr, "sleutel-app: interactive enrolment needs a terminal; use the enroll subcommands\n");
		return CLI_USAGE;
	}
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (sapp_phase(c->c_app) == SAPP_ENROLLED) {
		say(c, T_READY);
		return CLI_OK;
	}
	/* Where does it stand?  An ended enrolment is forgotten: start over. */
	if (sapp_phase(c->c_app) == SAPP_ENROLLING && sapp_enroll_status(c->c_app, 0, &ans, &err) != SL_OK &&
		sapp_phase(c->c_app) == SAPP_ENROLLING)
		return cli_fail(c, err.code, &err);
	c->c_npos = 2; /* as "enroll start" */
	if (sapp_phase(c->c_app) == SAPP_NEW && (rc = cli_enroll_start(c, sapp_enroll_start)) != CLI_OK)
		return rc;
	if (strcmp(sapp_enrollment_status(c->c_app), "sms") == 0) {
		json_decref(ans);
		if ((rc = ask_sms(c, &ans)) != CLI_OK)
			return rc;
	}
	if (strcmp(sapp_enrollment_status(c->c_app), "proofing") == 0)
		show_proofing(c, ans);
	json_decref(ans);
	if ((rc = wait_proofed(c)) != CLI_OK)
		return rc;
	c->c_npos = 2; /* as "enroll finish" */
	c->c_nopt = 0;
	return enroll_finish(c);
}

int
cmd_enroll(struct cli *c)
{
	const char *sub = c->c_npos > 1 ? c->c_pos[1] : NULL;

	if (sub == NULL)
		return enroll_interactive(c);
	if (strcmp(sub, "start") == 0)
		return cli_enroll_start(c, sapp_enroll_start);
	if (strcmp(sub, "sms") == 0)
		return enroll_sms(c);
	if (strcmp(sub, "resend") == 0)
		return enroll_resend(c);
	if (strcmp(sub, "status") == 0)
		return enroll_status(c);
	if (strcmp(sub, "proof") == 0)
		return enroll_proof(c);
	if (strcmp(sub, "finish") == 0)
		return enroll_finish(c);
	fprintf(stderr, "sleutel-app: unknown enroll step %s (start, sms, resend, status, proof, finish)\n", sub);
	return CLI_USAGE;
}

/* ---- requests ---- */

static const char *
action_text(const struct cli *c, const char *action)
{
	if (action != NULL && strcmp(action, "payment") == 0)
		return txt(c, T_ACTION_PAYMENT);
	if (action != NULL && strcmp(action, "sign") == 0)
		return txt(c, T_ACTION_SIGN);
	return txt(c, T_ACTION_LOGIN);
}

/* "Chrome on Linux (203.0.113.x)" in the app's language. */
static void
context_text(const struct cli *c, const struct sapp_context *x, char *out, size_t size)
{
	char who[256];
	size_t n;

	if (x->sc_browser[0] != '\0' && x->sc_os[0] != '\0')
		fmt_txt(c, who, sizeof(who), T_ON_OS, x->sc_browser, x->sc_os);
	else
		sl_strlcpy(who, x->sc_browser[0] != '\0' ? x->sc_browser : txt(c, T_SOME_BROWSER), sizeof(who));
	n = sl_strlcpy(out, who, size);
	if (x->sc_network[0] != '\0' && n < size)
		snprintf(out + n, size - n, " (%s)", x->sc_network);
}

/* Which browser asked, when the server says: a QR code relayed from
 * another screen shows up here as a browser or network that is not the
 * person's own. */
static void
show_context(const struct cli *c, const json_t *r, const char *rp)
{
	struct sapp_context x;
	char from[512];

	if (sapp_request_context(r, &x) != SL_OK)
		return;
	context_text(c, &x, from, sizeof(from));
	say2(c, T_REQUESTED_FROM, rp, from);
	say(c, T_NOT_YOUR_SCREEN);
}

/* A line of text from the server: as it is when the terminal may print it
 * (sapp_text_showable; `lines`: line breaks kept), else with every control
 * character shown as \xNN, so that an escape sequence cannot redraw what
 * the person reads; the answer is refused too (sapp_confirm_fields). */
static void
put_text(const char *s, bool lines)
{
	if (s == NULL)
		s = "?";
	if (sapp_text_showable(s) && (lines || strchr(s, '\n') == NULL)) {
		printf("%s\n", s);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	putchar('\n');
}

/* The RP's name, the action and the display text as sent (control
 * characters escaped: put_text), who asked (show_context), and the codes
 * to pick from. */
void
show_request(const struct cli *c, const json_t *r)
{
	const char *rp = json_string_value(json_object_get(r, "rp_name"));
	const char *text = json_string_value(json_object_get(r, "display_text"));
	json_t *code;
	size_t i;

	printf("\n");
	put_text(rp, false);
	printf("%s\n", action_text(c, json_string_value(json_object_get(r, "action"))));
	put_text(text ? text : "", true);
	show_context(c, r, rp && sapp_text_showable(rp) && strchr(rp, '\n') == NULL ? rp : "?");
	json_array_foreach(json_object_get(r, "codes"), i, code)
	{
		printf("  %zu) ", i + 1);
		put_text(json_string_value(code), false);
	}
	if (json_is_integer(json_object_get(r, "expires_in")))
		say_num(c, T_EXPIRES, (long long)json_integer_value(json_object_get(r, "expires_in")));
	printf("[%s]\n", json_string_value(json_object_get(r, "id")) ?: "?");
}

int
cmd_pending(struct cli *c)
{
	static const char *const allowed[] = { "wait", NULL };
	struct sl_err err = { 0 };
	json_t *arr = NULL;
	int rc;

	if ((rc = cli_start(c, 1, 1, allowed)) != CLI_OK)
		return rc;
	rc = sapp_requests(c->c_app, wait_value(c, PENDING_WAIT_MAX, PENDING_WAIT_MAX), &arr, &err);
	return show_requests(c, rc, &err, arr, show_request);
}

int
show_requests(struct cli *c, int rc, const struct sl_err *err, json_t *arr,
	void (*show)(const struct cli *c, const json_t *r))
{
	json_t *r;
	size_t i;

	if (rc != SL_OK)
		return cli_fail(c, rc, err);
	if (c->c_json)
		print_list(c, "requests", arr);
	else if (json_array_size(arr) == 0)
		say(c, T_NO_REQUESTS);
	else
		json_array_foreach(arr, i, r) show(c, r);
	json_decref(arr);
	return CLI_OK;
}

static bool
code_listed(const json_t *r, const char *code)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(r, "codes"), i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), code) == 0)
			return true;
	}
	return false;
}

/* The code picked on a terminal: 1..3 (or the code itself); 0 refuses. */
static int
ask_pick(struct cli *c, const json_t *r, char *pick, size_t size, bool *refuse)
{
	char line[CLI_LINE_MAX];
	json_t *codes = json_object_get(r, "codes");

	*refuse = false;
	if (prompt_line(txt(c, T_PICK), line, sizeof(line)) != SL_OK)
		return CLI_USAGE;
	if (strcmp(line, "0") == 0) {
		*refuse = true;
		return CLI_OK;
	}
	if (strlen(line) == 1 && line[0] >= '1' && line[0] <= '9' &&
		json_is_string(json_array_get(codes, (size_t)(line[0] - '1'))))
		sl_strlcpy(pick, json_string_value(json_array_get(codes, (size_t)(line[0] - '1'))), size);
	else
		sl_strlcpy(pick, line, size);
	return code_listed(r, pick) ? CLI_OK : CLI_USAGE;
}

void
show_outcome(const struct cli *c, const json_t *ans)
{
	const char *st = json_string_value(json_object_get(ans, "status"));

	if (c->c_json)
		print_json(ans);
	else
		say(c, st != NULL && strcmp(st, "approved") == 0 ? T_APPROVED : T_REFUSED);
}

/* A refused answer (app key or Smart-ID): the lockout count, said plainly. */
int
answer_failed(struct cli *c, int rc, const struct sl_err *err)
{
	const json_t *se = sapp_last_error(c->c_app);
	const char *code = sapp_last_error_code(c->c_app);
	char failures[24], left[24];

	snprintf(failures, sizeof(failures), "%lld", (long long)json_integer_value(json_object_get(se, "failures")));
	snprintf(left, sizeof(left), "%lld", (long long)json_integer_value(json_object_get(se, "attempts_left")));
	if (!c->c_json && strcmp(code, "wrong_code") == 0)
		say2(c, T_WRONG_CODE, failures, NULL);
	if (!c->c_json && strcmp(code, "wrong_pin") == 0)
		say2(c, T_SID_WRONG_PIN, failures, left);
	if (!c->c_json && strcmp(code, "locked") == 0)
		say(c, T_LOCKED);
	if (!c->c_json && strcmp(code, "device_revoked") == 0)
		say(c, T_SID_REVOKED);
	return cli_fail(c, rc, err);
}

int
answer_with(struct cli *c, const json_t *r, int (*fn)(struct sapp *, const json_t *, json_t **, struct sl_err *))
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc = fn(c->c_app, r, &ans, &err);

	return cli_done(c, rc, &err, ans, show_outcome);
}

static int
refuse_request(struct cli *c, const json_t *r)
{
	return answer_with(c, r, sapp_refuse);
}

/* Approve `r`: the picked code (asked on a terminal), "Bevestig", the
 * app code. */
static int
approve_request(struct cli *c, const json_t *r, const char *pick_opt)
{
	struct sl_err err = { 0 };
	char pick[CLI_LINE_MAX], code[CLI_LINE_MAX];
	json_t *ans = NULL;
	bool refuse = false;
	int rc;

	if (pick_opt != NULL) {
		sl_strlcpy(pick, pick_opt, sizeof(pick));
	} else if (c->c_tty) {
		show_request(c, r);
		if ((rc = ask_pick(c, r, pick, sizeof(pick), &refuse)) != CLI_OK)
			return rc;
		if (refuse || !prompt_yes(txt(c, T_CONFIRM), txt(c, T_YES_CHARS)))
			return refuse_request(c, r);
	} else {
		fprintf(stderr, "sleutel-app: approve needs --pick CODE (one of the request's codes)\n");
		return CLI_USAGE;
	}
	if (!code_listed(r, pick)) {
		fprintf(stderr, "sleutel-app: %s is not one of the request's codes\n", pick);
		return CLI_USAGE;
	}
	if ((rc = get_app_code(c, false, code)) != CLI_OK)
		return rc;
	rc = sapp_approve(c->c_app, r, pick, code, &ans, &err);
	OPENSSL_cleanse(code, sizeof(code));
	if (rc != SL_OK)
		return answer_failed(c, rc, &err);
	show_outcome(c, ans);
	json_decref(ans);
	return CLI_OK;
}

int
find_with(struct cli *c, const char *id, json_t **r, int (*fn)(struct sapp *, const char *, json_t **, struct sl_err *))
{
	struct sl_err err = { 0 };
	int rc;

	if ((rc = cli_open(c, false)) != CLI_OK)
		return rc;
	if ((rc = fn(c->c_app, id, r, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	return CLI_OK;
}

/* The pending request named on the command line. */
static int
find_request(struct cli *c, json_t **r)
{
	return find_with(c, c->c_pos[1], r, sapp_request_find);
}

int
cmd_approve(struct cli *c)
{
	static const char *const allowed[] = { "pick", NULL };
	json_t *r = NULL;
	int rc;

	if (!args_ok(c, 2, 2, allowed))
		return CLI_USAGE;
	if (cli_opt(c, "pick", NULL) == NULL && !c->c_tty) {
		fprintf(stderr, "sleutel-app: approve needs --pick CODE (one of the request's codes)\n");
		return CLI_USAGE;
	}
	if ((rc = find_request(c, &r)) != CLI_OK)
		return rc;
	rc = approve_request(c, r, cli_opt(c, "pick", NULL));
	json_decref(r);
	return rc;
}

int
cmd_refuse(struct cli *c)
{
	json_t *r = NULL;
	int rc;

	if (!args_ok(c, 2, 2, NULL))
		return CLI_USAGE;
	if ((rc = find_request(c, &r)) != CLI_OK)
		return rc;
	rc = refuse_request(c, r);
	json_decref(r);
	return rc;
}

int
cmd_scan(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *r = NULL;
	int rc;

	if (!args_ok(c, 2, 2, NULL))
		return CLI_USAGE;
	if (strncmp(c->c_pos[1], "sleutel://login?t=", 18) != 0) {
		fprintf(stderr, "sleutel-app: not a sleutel login code (sleutel://login?t=...)\n");
		return CLI_USAGE;
	}
	if ((rc = cli_open(c, false)) != CLI_OK)
		return rc;
	if ((rc = sapp_scan(c->c_app, c->c_pos[1], &r, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	if (c->c_json) {
		print_json(r);
		rc = CLI_OK;
	} else if (c->c_tty) {
		rc = approve_request(c, r, NULL); /* the QR code carried the code: it is the only one */
	} else {
		show_request(c, r);
		rc = CLI_OK;
	}
	json_decref(r);
	return rc;
}

/* ---- devices ---- */

int
cmd_devices(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *arr = NULL;
	int rc;

	if ((rc = cli_start(c, 1, 1, NULL)) != CLI_OK)
		return rc;
	rc = sapp_devices(c->c_app, &arr, &err);
	return show_devices(c, rc, &err, arr);
}

int
show_devices(struct cli *c, int rc, const struct sl_err *err, json_t *arr)
{
	json_t *d;
	size_t i;

	if (rc != SL_OK)
		return cli_fail(c, rc, err);
	if (c->c_json) {
		print_list(c, "devices", arr);
		json_decref(arr);
		return CLI_OK;
	}
	say(c, T_DEVICES);
	json_array_foreach(arr, i, d)
	{
		const char *docnr = json_string_value(json_object_get(d, "document_number")); /* Smart-ID */
		printf("  %s  %s  %s%s%s %s\n", json_string_value(json_object_get(d, "id")) ?: "?",
			json_string_value(json_object_get(d, "name")) ?: "?", docnr ? docnr : "", docnr ? "  " : "",
			json_string_value(json_object_get(d, "status")) ?: "?",
			json_is_true(json_object_get(d, "this_device")) ? txt(c, T_THIS_DEVICE) : "");
	}
	json_decref(arr);
	return CLI_OK;
}

/* ---- notices ---- */

/* The notices as text (or JSON); `quiet`: say nothing when there are none
 * (the interactive mode's start).  `arr` is released. */
static void
show_notices(struct cli *c, json_t *arr, bool quiet)
{
	char page[SAPP_URL_MAX + 16];
	json_t *n;
	size_t i;

	if (c->c_json) {
		print_list(c, "notices", arr);
		json_decref(arr);
		return;
	}
	if (json_array_size(arr) == 0) {
		if (!quiet)
			say(c, T_NO_NOTICES);
		json_decref(arr);
		return;
	}
	say(c, T_NOTICES);
	json_array_foreach(arr, i, n)
	{
		const char *kind = json_string_value(json_object_get(n, "kind"));
		const char *name = json_string_value(json_object_get(n, "device_name"));
		enum txt id = strcmp(kind, "device.added") == 0     ? T_NOTICE_ADDED
			      : strcmp(kind, "device.blocked") == 0 ? T_NOTICE_BLOCKED
								    : T_NOTICE_REVOKED;
		say2(c, id, name != NULL && name[0] != '\0' ? name : "-",
			json_string_value(json_object_get(n, "device_kind")) ?: "?");
	}
	snprintf(page, sizeof(page), "%s/account", sapp_server(c->c_app));
	say2(c, T_NOTICE_ACT, page, NULL);
	json_decref(arr);
}

int
cmd_notices(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *arr = NULL;
	int rc;

	if ((rc = cli_start(c, 1, 1, NULL)) != CLI_OK)
		return rc;
	if ((rc = sapp_notices(c->c_app, &arr, &err)) != SL_OK)
		return cli_fail(c, rc, &err);
	show_notices(c, arr, false);
	return CLI_OK;
}

int
cmd_remove(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *ans = NULL;
	int rc;

	if ((rc = cli_start(c, 2, 2, NULL)) != CLI_OK)
		return rc;
	rc = sapp_remove(c->c_app, c->c_pos[1], &ans, &err);
	return cli_done(c, rc, &err, ans, show_removed);
}

void
show_removed(const struct cli *c, const json_t *ans)
{
	if (!c->c_json)
		say(c, T_REMOVED);
	else if (ans != NULL)
		print_json(ans);
	else
		puts("{}");
}

/* ---- no command: the app as a person uses it ---- */

int
cmd_interactive(struct cli *c)
{
	struct sl_err err = { 0 };
	json_t *arr = NULL, *r;
	size_t i;
	int rc;

	if (!c->c_tty) {
		fprintf(stderr, "sleutel-app: no command given (see --help)\n");
		return CLI_USAGE;
	}
	if ((rc = cli_open(c, true)) != CLI_OK)
		return rc;
	if (sapp_phase(c->c_app) != SAPP_ENROLLED && (rc = enroll_interactive(c)) != CLI_OK)
		return rc;
	if (sapp_notices(c->c_app, &arr, &err) == SL_OK) /* a device the person may not know of */
		show_notices(c, arr, true);
	arr = NULL;
	say(c, T_WAITING);
	for (;;) {
		if ((rc = sapp_requests(c->c_app, 0, &arr, &err)) != SL_OK)
			return cli_fail(c, rc, &err);
		json_array_foreach(arr, i, r) approve_request(c, r, NULL);
		json_decref(arr);
		arr = NULL;
	}
}
