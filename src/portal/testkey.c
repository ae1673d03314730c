/*
 * testkey.c — a stand-in login key compiled into test builds only
 * (meson -Dtest_key=true), never into an installed daemon.  It lets the
 * tests and the demo log in as any person until the real keys exist, in
 * the two shapes the real keys have: at once in the browser (like the eID
 * card), or confirmed from elsewhere while the browser waits (like the
 * app), which exercises the waiter registry end to end.
 */
#ifdef SL_TEST_KEY
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

#define TESTKEY_MAX_NAME 100

void
testkey_page(void *ctx, struct http_request *rq)
{
	static const char *const keys[] = { "ui_locales", NULL }; /* all this page reads */
	struct server *srv = ctx;
	struct oidc_pending p;
	char *csrf;
	int lang;

	if (oidc_pending_load_some(srv, rq, http_param(rq, "req"), keys, &p) != SL_OK) {
		portal_error(srv, rq, 404, portal_lang(srv, rq, NULL), N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return;
	}
	lang = portal_lang(srv, rq, json_string_value(json_object_get(p.op_params, "ui_locales")));
	csrf = oidc_csrf_token(srv, rq, p.op_req.ar_id);
	{
		struct tmpl_var v[4] = { { "rp", p.op_client.cl_name }, { "req", p.op_req.ar_id },
			{ "csrf", csrf ? csrf : "" }, { "langcode", config_languages[lang] } };
		portal_page(srv, rq, 200, lang, N_("Test key"), "testkey", v, 4);
	}
	free(csrf);
	oidc_pending_clear(&p);
}

/* The identity typed into the form, checked for shape only. */
static int
test_person(struct http_request *rq, struct store_person *person)
{
	const char *rrn = http_param(rq, "rrn"), *given = http_param(rq, "given_name");
	const char *family = http_param(rq, "family_name");

	memset(person, 0, sizeof(*person));
	if (rrn == NULL || strlen(rrn) != 11 || strspn(rrn, "0123456789") != 11 || given == NULL || family == NULL ||
		strlen(given) == 0 || strlen(family) == 0 || strlen(given) > TESTKEY_MAX_NAME ||
		strlen(family) > TESTKEY_MAX_NAME)
		return SL_EINVAL;
	person->p_rrn = strdup(rrn);
	person->p_given_name = strdup(given);
	person->p_family_name = strdup(family);
	/* Birth date from the national number (YYMMDD, 19xx for the test). */
	person->p_birthdate = malloc(11);
	if (person->p_birthdate != NULL)
		snprintf(
			person->p_birthdate, 11, "%s%.2s-%.2s-%.2s", rrn[0] < '3' ? "20" : "19", rrn, rrn + 2, rrn + 4);
	return SL_OK;
}

void
testkey_login(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_person person;
	struct sl_err err;
	const char *mode = http_form(rq, "mode");
	char loc[256];
	int lang;

	if (oidc_pending_load(srv, rq, http_form(rq, "req"), &p) != SL_OK) {
		portal_error(srv, rq, 404, portal_lang(srv, rq, NULL), N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return;
	}
	lang = portal_lang(srv, rq, json_string_value(json_object_get(p.op_params, "ui_locales")));
	if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_form(rq, "csrf"))) {
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
	} else if (mode != NULL && strcmp(mode, "remote") == 0) {
		snprintf(loc, sizeof(loc), "/login/wait?req=%s&lang=%s", p.op_req.ar_id, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	} else if (test_person(rq, &person) != SL_OK) {
		portal_error(srv, rq, 400, lang, N_("The test identity is not valid"),
			N_("Type an 11-digit national number and both names."));
	} else {
		/* The request as loaded above, completed and answered in one
		 * commit: no second load, no second transaction. */
		if (oidc_login_complete_finish(srv, rq, &p, &person, "test", OIDC_ACR_LOW, "[\"test\"]", &err) != SL_OK)
			portal_error(srv, rq, 409, lang, N_("This login request has expired"),
				N_("Go back to the site you came from and start again."));
		store_person_clear(&person);
	}
	oidc_pending_clear(&p);
}

/* The "other device": approves or refuses a pending request by id, with no
 * browser binding, as a phone would. JSON answers.  Unlike the eID key
 * (keys/eid/handoff.c) it is not bound to the starting browser, and that is
 * no hole: it exists only in test builds (-Dtest_key=true, never installed),
 * where any browser may log itself in as any person typed into the form, so
 * completing a request from elsewhere gives nothing the form does not. */
void
testkey_approve(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *req = http_form(rq, "req"), *decision = http_form(rq, "decision");
	struct store_person person;
	struct sl_err err;
	int rc;

	if (req == NULL || strlen(req) > 64) {
		http_send_oauth_error(rq, 400, "invalid_request", "req is missing");
		return;
	}
	if (decision != NULL && strcmp(decision, "refuse") == 0) {
		rc = oidc_login_deny(srv, req);
	} else if (test_person(rq, &person) != SL_OK) {
		http_send_oauth_error(rq, 400, "invalid_request", "rrn, given_name and family_name are required");
		return;
	} else {
		rc = oidc_login_complete(srv, req, &person, "test", OIDC_ACR_LOW, "[\"test\"]", &err);
		store_person_clear(&person);
	}
	if (rc != SL_OK)
		http_send_oauth_error(rq, 404, "not_found", "no pending request with that id");
	else
		http_send_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}
#endif
