/*
 * reg_pages.c — the registration portal after the eID login (the manual's
 * step 4 and 5): a few questions (e-mail, phone, "this is me"), the
 * registration code the app shows, and the confirmation.  Every form has
 * the browser's CSRF token and needs the visit's cookie, which only the
 * browser that logged in with the card has.
 *
 * The code: [smartid] code_tries per visit, each charged BEFORE it is
 * looked up (store_sid_visit_charge), so no try goes uncounted; the code
 * is found by its HMAC (sid_code_mac), so comparing is a lookup of a MAC
 * and nothing of the code is compared byte by byte.  An unknown code and
 * an expired one read the same: check it, or start again in the app.  With
 * the tries used up the visit ends: log in with the card again.  Over its
 * whole life (every visit, every extension) a code outlives at most
 * [smartid] code_wrong_max wrong codes (store_sid_registration_try_code):
 * then it is dead, and the page says to start again in the app.  Since a
 * wrong code counts against every live code, one person could otherwise
 * kill them all: every code typed is also charged, before the visit's try
 * and the lookup, to the person (code_wrong_person) and to the address
 * (code_wrong_ip) per code_wrong_window (code_charge); past either, a 429
 * page and nothing is tested.  Both the code page and the confirm page
 * have "I need more time" (reg_more.c).
 *
 * "Confirm" makes the server's keys for the app's shares (only now, behind
 * the card: reg_keygen.c, at most [smartid] keygen_max at once; over it a
 * 503 "try again" page that keeps everything) and moves the registration
 * from "code" to "confirmed" with them, the person, the answers and a
 * fresh 32-byte challenge for the recall check, in one statement; wakes the
 * app's long-poll, ends the visit and says to go on on the phone.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sid_reg_int.h"
#include "../app/app.h"
#include "../../oidc/oidc.h"
#include "../../portal/portal.h"
#include "../../proofing/proofing.h"

#define NAMES_MAX 512

/* "Given Family" of the visit's person. */
static void
visit_name(const struct store_sid_visit *v, char *out, size_t len)
{
	char given[NAMES_MAX], family[NAMES_MAX];

	sid_visit_names(v, given, sizeof(given), family, sizeof(family));
	snprintf(out, len, "%s %s", given, family);
}

bool
sid_email_ok(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;
	size_t n = s ? strnlen(s, SID_REG_EMAIL_MAX + 1) : 0;

	if (at == NULL || n < 3 || n > SID_REG_EMAIL_MAX || at == s || strchr(at + 1, '@') != NULL ||
		strchr(at + 1, '.') == NULL || at[1] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || strchr("<>\"'(),;:\\[]", s[i]) != NULL)
			return false;
	return true;
}

/* A form page: the browser's CSRF token and the language, then `extra`
 * (at most FORM_VARS_MAX - 2). */
#define FORM_VARS_MAX 24
static void
form_page(struct server *srv, struct http_request *rq, int status, int lang, const char *title, const char *tmpl,
	const struct tmpl_var *extra, size_t n)
{
	char *csrf = oidc_csrf_token(srv, rq, SID_REG_CSRF_ID);
	struct tmpl_var vars[FORM_VARS_MAX] = { { "csrf", csrf ? csrf : "" }, { "langcode", config_languages[lang] } };

	for (size_t i = 0; i < n && i + 2 < FORM_VARS_MAX; i++)
		vars[i + 2] = extra[i];
	portal_page(srv, rq, status, lang, title, tmpl, vars, n + 2 < FORM_VARS_MAX ? n + 2 : FORM_VARS_MAX);
	free(csrf);
}

/* ---- questions ---- */

static void
questions_page(struct server *srv, struct http_request *rq, int status, int lang, const struct store_sid_visit *v,
	const char *error)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	const char *email = http_form(rq, "email"), *phone = http_form(rq, "phone");
	char name[2 * NAMES_MAX];
	struct tmpl_var vars[4] = { { "name", name }, { "email", email ? email : (v->sv_email ? v->sv_email : "") },
		{ "phone", phone ? phone : (v->sv_phone ? v->sv_phone : "") },
		{ "error", error ? i18n_gettext(cat, error) : "" } };

	visit_name(v, name, sizeof(name));
	form_page(srv, rq, status, lang, N_("A few questions"), "smartid_questions", vars, 4);
}

/* GET, POST /smartid/register/questions */
void
sid_portal_questions(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	struct store_sid_visit v;
	char phone[APP_PHONE_MAX], loc[96];
	const char *email = http_form(rq, "email"), *me = http_form(rq, "me");

	if (!sid_form_ok(srv, rq, lang, &v))
		return;
	if (http_method(rq) != HTTP_POST) {
		questions_page(srv, rq, 200, lang, &v, NULL);
	} else if (!sid_email_ok(email)) {
		questions_page(srv, rq, 400, lang, &v, N_("Type your e-mail address, for example jan@example.be."));
	} else if (app_phone_normalize(http_form(rq, "phone"), srv->sv_conf->c_app_default_country, phone) != SL_OK) {
		questions_page(srv, rq, 400, lang, &v, N_("Type your mobile number, for example +32 470 12 34 56."));
	} else if (me == NULL || strcmp(me, "yes") != 0) {
		questions_page(srv, rq, 400, lang, &v, N_("Confirm that this is you."));
	} else if (store_sid_visit_answer(srv->sv_store, v.sv_id, email, phone) != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		snprintf(loc, sizeof(loc), "%s/code?lang=%s", SID_REG_PORTAL, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_sid_visit_clear(&v);
}

/* ---- the registration code ---- */

static void
code_page(struct server *srv, struct http_request *rq, int status, int lang, const struct store_sid_visit *v,
	const char *error, int left)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char tries[16] = "", minutes[16];
	struct portal_timelimit tl;
	struct tmpl_var vars[3 + PORTAL_TIMELIMIT_NVARS] = { { "error", error ? i18n_gettext(cat, error) : "" },
		{ "left", tries }, { "codemin", minutes } };

	if (error != NULL)
		snprintf(tries, sizeof(tries), "%d", left);
	sid_code_minutes(srv, minutes, sizeof(minutes));
	sid_more_vars(rq, v, NULL, &tl, vars + 3);
	form_page(srv, rq, status, lang, N_("Type your registration code"), "smartid_code", vars,
		3 + PORTAL_TIMELIMIT_NVARS);
}

/* The registration of a typed code, after the visit's try is charged:
 * the try counts against every other live code too
 * (store_sid_registration_try_code); SL_EDENIED: the code is dead. */
static int
code_lookup(struct server *srv, const char *typed, struct store_sid_registration *r)
{
	char norm[PROOF_CODE_LEN + 1], mac[2 * SL_SHA256_LEN + 1];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = proof_code_normalize(typed, norm);
	if (rc == SL_OK)
		rc = sid_code_mac(srv, norm, mac);
	OPENSSL_cleanse(norm, sizeof(norm));
	if (rc == SL_OK)
		rc = store_sid_registration_try_code(
			srv->sv_store, mac, sl_now(), srv->sv_conf->c_sid_code_wrong_max, r);
	return rc;
}

/* A typed code charged to the visit's person (by the stored person id,
 * never the national number) and to the address, per [smartid]
 * code_wrong_window, in one store_rate_hit BEFORE anything is tested: tries
 * sent at once queue on the rows and cannot pass the limit, and a refused
 * try counts nowhere.  A right code counts too (there is no give-back):
 * one per registration, so the limit leaves room for typing errors.
 * SL_ETOOBIG: over the person's limit (*which 0) or the address's (1). */
static int
code_charge(struct server *srv, struct http_request *rq, const struct store_sid_visit *v, size_t *which)
{
	const struct sl_config *c = srv->sv_conf;
	json_t *o = v->sv_person ? json_loads(v->sv_person, 0, NULL) : NULL;
	const char *person = json_string_value(json_object_get(o, "id"));
	char ipbuf[SERVER_IP_MAX], addr[96], kp[128], ki[128];
	struct store_rate_check ck[2];
	int rc = SL_EINVAL;

	if (person != NULL) {
		app_rate_ip_key(server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)), addr, sizeof(addr));
		snprintf(kp, sizeof(kp), "sw:%.100s", person);
		snprintf(ki, sizeof(ki), "swi:%s", addr);
		ck[0] = (struct store_rate_check){ kp, c->c_sid_code_wrong_person };
		ck[1] = (struct store_rate_check){ ki, c->c_sid_code_wrong_ip };
		rc = store_rate_hit(srv->sv_store, ck, 2, c->c_sid_code_wrong_window, sl_now(), which);
	}
	json_decref(o);
	return rc;
}

/* "Try again in N hours/minutes." for the window, rounded up: its count
 * began at or before the first code counted, so it ends within one window
 * from now.  N is at least 2 (under 2 minutes reads 2 minutes), so the
 * one plural form nl, fr, de and en use for it is the only one needed. */
static void
code_when(const struct i18n_catalog *cat, int window, char *out, size_t len)
{
	bool hours = window >= 2 * 3600;
	int n = hours ? (window + 3599) / 3600 : (window + 59) / 60;
	const char *text = i18n_gettext(cat, hours ? N_("Try again in %1 hours.") : N_("Try again in %1 minutes."));
	const char *arg = strstr(text, "%1");

	if (n < 2)
		n = 2;
	if (arg == NULL)
		snprintf(out, len, "%s", text);
	else
		snprintf(out, len, "%.*s%d%s", (int)(arg - text), text, n, arg + 2);
}

/* Past [smartid] code_wrong_person or code_wrong_ip: 429 (Retry-After the
 * window), the code untested, the visit's tries untouched; audited with
 * the person (never the code). */
static void
code_limited(struct server *srv, struct http_request *rq, int lang, const struct store_sid_visit *v, size_t which)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	const char *who = which == 0 ? N_("You typed too many wrong registration codes. For your safety, no more "
					  "codes are checked for a while.")
				     : N_("Too many wrong registration codes were typed from your internet "
					  "connection. For your safety, no more codes are checked for a while.");
	char when[256], detail[1024], retry[16];
	struct tmpl_var vars[3] = { { "heading", i18n_gettext(cat, N_("Too many wrong codes")) }, { "detail", detail },
		{ "langcode", config_languages[lang] } };

	sid_visit_audit(srv, rq, v, "code_limit", v->sv_registration_id,
		which == 0 ? "[smartid] code_wrong_person reached" : "[smartid] code_wrong_ip reached");
	code_when(cat, srv->sv_conf->c_sid_code_wrong_window, when, sizeof(when));
	snprintf(detail, sizeof(detail), "%s %s", i18n_gettext(cat, who), when);
	snprintf(retry, sizeof(retry), "%d", srv->sv_conf->c_sid_code_wrong_window); /* at the latest */
	http_add_header(rq, "Retry-After", retry);
	portal_page(srv, rq, 429, lang, N_("Too many wrong codes"), "smartid_problem", vars, 3);
}

/* The tries are used up: the visit ends, the person logs in again. */
static void
code_tries_over(struct server *srv, struct http_request *rq, int lang, const struct store_sid_visit *v)
{
	store_sid_visit_delete(srv->sv_store, v->sv_id);
	sid_visit_audit(srv, rq, v, "code_tries", v->sv_registration_id, "registration code tries used up");
	sid_reg_problem(srv, rq, 403, lang, N_("Too many wrong codes"),
		N_("Start again: log in with your eID card and type the code the app shows."));
}

/* A wrong code (unknown, expired or dead): the page again with the
 * tries left, or the visit's end when they are used up. */
static void
code_wrong(struct server *srv, struct http_request *rq, int lang, const struct store_sid_visit *v, int rc, int tries)
{
	int max = srv->sv_conf->c_sid_code_tries;

	sid_visit_audit(srv, rq, v, rc == SL_EDENIED ? "dead_code" : "wrong_code", v->sv_registration_id,
		rc == SL_EDENIED ? "the code has had [smartid] code_wrong_max wrong tries" : NULL);
	if (tries >= max)
		code_tries_over(srv, rq, lang, v);
	else if (rc == SL_EDENIED)
		code_page(srv, rq, 400, lang, v,
			N_("This registration code no longer works: too many wrong codes were typed for it. Start the "
			   "registration again in the Smart-ID app and type the new code it shows."),
			max - tries);
	else
		code_page(srv, rq, 400, lang, v,
			N_("This registration code is not right, or it has expired. Check the code in the app, "
			   "or start again in the app."),
			max - tries);
}

/* POST: charge (the person and the address, then the visit), look up,
 * remember the registration on the visit; with `more` ("I need more
 * time" pressed with a code typed) the code gets a new window too. */
static void
code_post(struct server *srv, struct http_request *rq, int lang, const struct store_sid_visit *v, bool more)
{
	int max = srv->sv_conf->c_sid_code_tries, tries = 0, rc;
	struct store_sid_registration r;
	size_t which = 0;
	char loc[96];

	rc = code_charge(srv, rq, v, &which);
	if (rc == SL_ETOOBIG) {
		code_limited(srv, rq, lang, v, which);
		return;
	}
	if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
		return;
	}
	if (store_sid_visit_charge(srv->sv_store, v->sv_id, max, &tries) != SL_OK) {
		code_tries_over(srv, rq, lang, v);
		return;
	}
	rc = code_lookup(srv, http_form(rq, "code"), &r);
	if (rc != SL_OK) {
		code_wrong(srv, rq, lang, v, rc, tries);
	} else if (store_sid_visit_set_registration(srv->sv_store, v->sv_id, r.sr_id) != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else if (more) {
		sid_more_answer(srv, rq, lang, "confirm", sid_more_code(srv, rq, v, &r));
	} else {
		snprintf(loc, sizeof(loc), "%s/confirm?lang=%s", SID_REG_PORTAL, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_sid_registration_clear(&r);
}

/* Was the field left empty (spaces only)? */
static bool
blank(const char *s)
{
	while (s != NULL && *s == ' ')
		s++;
	return s == NULL || *s == '\0';
}

/* GET, POST /smartid/register/code (POST: code, and more=1 for "I need
 * more time": the visit's clock, and the code's when one is typed) */
void
sid_portal_code(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	struct store_sid_visit v;
	const char *more = http_form(rq, "more");
	bool asked = more != NULL && strcmp(more, "1") == 0;
	char loc[96];

	if (!sid_form_ok(srv, rq, lang, &v))
		return;
	if (v.sv_email == NULL) {
		snprintf(loc, sizeof(loc), "%s/questions?lang=%s", SID_REG_PORTAL, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	} else if (http_method(rq) != HTTP_POST) {
		code_page(srv, rq, 200, lang, &v, NULL, 0);
	} else if (asked && blank(http_form(rq, "code"))) {
		sid_more_answer(srv, rq, lang, "code", sid_more_visit(srv, rq, &v));
	} else {
		code_post(srv, rq, lang, &v, asked);
	}
	store_sid_visit_clear(&v);
}

/* ---- confirmation ---- */

/* The visit's registration, still waiting for its code and live (not
 * expired, not dead). */
static int
confirm_registration(struct server *srv, const struct store_sid_visit *v, struct store_sid_registration *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if (v->sv_registration_id == NULL)
		return SL_ENOTFOUND;
	rc = store_sid_registration_get(srv->sv_store, v->sv_registration_id, r);
	/* Dead by wrong tries (code_wrong_max) is over here too. */
	if (rc == SL_OK && (strcmp(r->sr_status, "code") != 0 || sl_now() >= r->sr_expires ||
				   r->sr_code_wrong >= srv->sv_conf->c_sid_code_wrong_max)) {
		store_sid_registration_clear(r);
		rc = SL_EEXPIRED;
	}
	return rc;
}

/* The confirmation form; `error` (a msgid) above the button.  Its time
 * limit (WCAG 2.2.1) is the code's, or the visit's when that ends first:
 * said up front in whole minutes, and warned of by wait.js (#timelimit). */
static void
confirm_page(struct server *srv, struct http_request *rq, int status, int lang, const struct store_sid_visit *v,
	const struct store_sid_registration *r, const char *error)
{
	char name[2 * NAMES_MAX];
	struct sl_buf rows;
	struct portal_timelimit tl;
	struct tmpl_var vars[4 + PORTAL_TIMELIMIT_NVARS] = { { "name", name }, { "device", r->sr_device_name },
		{ "error", error ? i18n_gettext(srv->sv_catalogs[lang], error) : "" }, { "replace", "" } };

	sid_more_vars(rq, v, r, &tl, vars + 4);
	sl_buf_init(&rows, SID_REPLACE_HTML_MAX);
	/* The person's devices, to revoke a lost one (reg_replace.c); the
	 * page without them when they cannot be read. */
	if (sid_replace_rows(srv, v, lang, &rows) == SL_OK && sl_buf_str(&rows) != NULL)
		vars[3].tv_value = sl_buf_str(&rows);
	visit_name(v, name, sizeof(name));
	form_page(srv, rq, status, lang, N_("Confirm your Smart-ID account"), "smartid_confirm", vars,
		4 + PORTAL_TIMELIMIT_NVARS);
	sl_buf_reset(&rows);
}

/* The server keys made and "code" -> "confirmed" with them, the person
 * and `challenge`, in one statement. */
static int
confirm_store(struct server *srv, const struct store_sid_visit *v, struct store_sid_registration *r, char *challenge,
	struct sl_err *err)
{
	char *sealed[2] = { NULL, NULL };
	int rc = sid_reg_keygen(srv, r, sealed, err);

	if (rc == SL_OK) {
		free(r->sr_auth_sealed);
		free(r->sr_sign_sealed);
		r->sr_auth_sealed = sealed[0];
		r->sr_sign_sealed = sealed[1];
		r->sr_person = v->sv_person;
		r->sr_email = v->sv_email;
		r->sr_phone = v->sv_phone;
		r->sr_challenge = challenge;
		rc = store_sid_registration_confirm(srv->sv_store, r, sl_now());
		r->sr_person = r->sr_email = r->sr_phone = r->sr_challenge = NULL; /* borrowed */
	}
	return rc;
}

/* Confirmed by another request of this visit while this one made its keys
 * (a second press of the button during the keygen)? */
static bool
confirmed_meanwhile(struct server *srv, const char *id)
{
	struct store_sid_registration now;
	bool yes = false;

	if (store_sid_registration_get(srv->sv_store, id, &now) == SL_OK) {
		yes = strcmp(now.sr_status, "confirmed") == 0;
		store_sid_registration_clear(&now);
	}
	return yes;
}

static void
done_page(struct server *srv, struct http_request *rq, int lang)
{
	struct tmpl_var vars[1] = { { "langcode", config_languages[lang] } };

	portal_page(srv, rq, 200, lang, N_("Continue on your phone"), "smartid_done", vars, 1);
}

/* POST: the server keys, then "code" -> "confirmed". */
static void
confirm_post(struct server *srv, struct http_request *rq, int lang, const struct store_sid_visit *v,
	struct store_sid_registration *r)
{
	uint8_t raw[SID_REG_CHALLENGE_LEN];
	char *challenge = NULL, key[128];
	struct sl_err err = { 0 };
	int rc = sl_random(raw, sizeof(raw));

	if (rc == SL_OK && (challenge = sl_b64url_encode(raw, sizeof(raw))) == NULL)
		rc = SL_ENOMEM;
	if (rc == SL_OK)
		rc = confirm_store(srv, v, r, challenge, &err);
	if (rc == SL_EBUSY) {
		/* Nothing changed: the same form, to press again. */
		sid_visit_audit(srv, rq, v, "busy", r->sr_id, err.msg);
		confirm_page(srv, rq, 503, lang, v, r,
			N_("The server is busy making keys for other registrations. Try again in a moment: press "
			   "Confirm again."));
	} else if (rc == SL_ECONFLICT && confirmed_meanwhile(srv, r->sr_id)) {
		done_page(srv, rq, lang); /* the browser shows this answer, not the first's */
	} else if (rc != SL_OK) {
		if (rc != SL_ECONFLICT && rc != SL_EEXPIRED)
			log_warn("smartid registration: %s", err.msg[0] ? err.msg : sl_strerror(rc));
		sid_reg_problem(srv, rq, rc == SL_ECONFLICT || rc == SL_EEXPIRED ? 410 : 500, lang,
			N_("This registration has expired"), N_("Start again in the Smart-ID app."));
	} else {
		sid_registration_wait_key(r->sr_id, key, sizeof(key));
		server_wake(srv, key);
		sid_replace_revoke(srv, rq, v, r->sr_id); /* the lost devices the person ticked */
		store_sid_visit_delete(srv->sv_store, v->sv_id);
		sid_visit_audit(srv, rq, v, "confirmed", r->sr_id, r->sr_device_name);
		done_page(srv, rq, lang);
	}
	free(challenge);
}

/* GET, POST /smartid/register/confirm (POST: confirm; more=1: "I need
 * more time") */
void
sid_portal_confirm(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	const char *more = http_form(rq, "more");
	struct store_sid_visit v;
	struct store_sid_registration r;

	if (!sid_form_ok(srv, rq, lang, &v))
		return;
	if (confirm_registration(srv, &v, &r) != SL_OK)
		sid_reg_problem(srv, rq, 410, lang, N_("This registration has expired"),
			N_("Start again in the Smart-ID app."));
	else if (http_method(rq) != HTTP_POST)
		confirm_page(srv, rq, 200, lang, &v, &r, NULL);
	else if (more != NULL && strcmp(more, "1") == 0)
		sid_more_answer(srv, rq, lang, "confirm", sid_more_code(srv, rq, &v, &r));
	else
		confirm_post(srv, rq, lang, &v, &r);
	store_sid_registration_clear(&r);
	store_sid_visit_clear(&v);
}
