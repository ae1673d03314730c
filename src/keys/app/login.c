/*
 * login.c — the portal's pages for the sleutel app key (DESIGN §1 "App
 * login"): the phone-number form with its QR alternative, the wait page
 * with the verification code and a countdown the person may extend
 * (WCAG 2.2.1, within portal_timer's bounds), its long-poll, and the page
 * that says how it ended.
 *
 * Pages name the pending authorization request (req, bound to this
 * browser by its cookie) and the app request (aq), which must be linked to
 * it: so only the browser that started a login sees its code.
 *
 * The QR code is the scan alternative: the form page offers it by a link
 * (scan=1, the same page with the code), so a login that types a number
 * never draws one (libqrencode's mask search was a fifth of an app
 * login's CPU) and its page does not long-poll.  It changes every [app]
 * qr_rotate_seconds (qrtoken.c): the page's script fetches the new one
 * from /key/app/qr; without script the page offers a new code by
 * reloading.  Which browser started the login (context.c), for the app to
 * show, is recorded on the login by the QR page (or /key/app/qr), and for
 * a typed number stored with the app request the number's post makes.
 *
 * A number without an account is not revealed: it gets a decoy request
 * that looks the same on this side and that no phone ever sees.
 *
 * Fewer requests per login (docs/performance.md, "app login, sixth
 * round"): with the page's script the number's post answers with the wait
 * page itself, whose long-poll issues the code and names the RP's address;
 * an RP's login_hint with a +32 number skips the key choice: the number
 * form comes filled in (/key/app/hint).
 */
#include <stdlib.h>
#include <string.h>

#include "request_int.h"
#include "../../portal/portal.h"

#define QR_SCHEME "sleutel://login?t="

/* The parameters the pages read (oidc_pending_load_some): the language,
 * a payment's details (payment_of), the RP's number (applogin_hint).  The
 * wait page, its poll and the extension may finish the login, which needs
 * them all. */
static const char *const page_params[] = { "ui_locales", "authorization_details", NULL };
static const char *const hint_params[] = { "ui_locales", "authorization_details", "login_hint", NULL };
static const char *const qr_params[] = { "ui_locales", NULL };

static const char *
payment_of(const struct oidc_pending *p)
{
	return json_string_value(json_object_get(p->op_params, "authorization_details"));
}

/* What a payment request asks, in the page's language; "" for a login. */
static void
payment_line(const struct oidc_pending *p, int lang, char *out, size_t len)
{
	struct oidc_payment pay;

	out[0] = '\0';
	if (payment_of(p) != NULL && oidc_authz_details_parse(payment_of(p), &pay, NULL) == SL_OK)
		app_display_text(lang, "payment", p->op_client.cl_name, &pay, NULL, out, len);
}

/* The QR code of this login as it is now: its link (sleutel://login?t=...)
 * and the SVG of it, both malloc'd (NULL on failure); its slot. */
static int64_t
qr_now(struct server *srv, const struct oidc_pending *p, const struct i18n_catalog *cat, char **link, char **svg)
{
	int64_t slot = app_qr_slot(sl_now(), srv->sv_conf->c_app_qr_rotate);
	char *tok = app_qr_token_make(srv->sv_csrf_key, sizeof(srv->sv_csrf_key), p->op_req.ar_id, slot);
	size_t n;

	*link = NULL;
	*svg = NULL;
	if (tok != NULL && (*link = malloc((n = strlen(QR_SCHEME) + strlen(tok) + 1))) != NULL) {
		snprintf(*link, n, "%s%s", QR_SCHEME, tok);
		*svg = app_qr_svg(*link, i18n_gettext(cat, N_("QR code to scan with the sleutel app")));
	}
	free(tok);
	return slot;
}

/* Record which browser started this login, once: the app shows it with
 * the request, so a QR code relayed to another screen stands out. */
static void
record_context(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	char ipbuf[SERVER_IP_MAX], *ctx;

	if (p->op_req.ar_context != NULL)
		return;
	ctx = app_context_json(http_header(rq, "User-Agent"), server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)));
	if (ctx != NULL && store_authreq_set_context(srv->sv_store, p->op_req.ar_id, ctx) == SL_OK)
		p->op_req.ar_context = ctx;
	else
		free(ctx);
}

/* The form page, with `error` (a message id) above the form when set;
 * with the QR code when `scan`, else with the link to it. */
static void
form_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, int status, const char *error,
	const char *phone, bool scan)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);
	char *link = NULL, *svg = NULL, *finish = NULL, payment[APP_DISPLAY_MAX + 1];
	char poll[128], qrurl[160], reload[160], rotate[16], slot[32] = "";
	size_t n;

	if (scan)
		snprintf(slot, sizeof(slot), "%lld", (long long)qr_now(srv, p, cat, &link, &svg));
	payment_line(p, lang, payment, sizeof(payment));
	n = strlen(p->op_req.ar_id) + (csrf ? strlen(csrf) : 0) + 64;
	if ((finish = malloc(n)) != NULL)
		snprintf(finish, n, "/login/finish?req=%s&csrf=%s&lang=%s", p->op_req.ar_id, csrf ? csrf : "",
			config_languages[lang]);
	snprintf(poll, sizeof(poll), "/login/poll?req=%s", p->op_req.ar_id);
	snprintf(qrurl, sizeof(qrurl), "/key/app/qr?req=%s&lang=%s", p->op_req.ar_id, config_languages[lang]);
	/* The QR page's own address: "New QR code" without script, and the
	 * form page's link to the code. */
	snprintf(reload, sizeof(reload), "/key/app?req=%s&lang=%s&scan=1", p->op_req.ar_id, config_languages[lang]);
	snprintf(rotate, sizeof(rotate), "%d", srv->sv_conf->c_app_qr_rotate);
	{
		struct portal_timelimit tl;
		struct tmpl_var v[17 + PORTAL_TIMELIMIT_NVARS] = { { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "csrf", csrf ? csrf : "" },
			{ "langcode", config_languages[lang] }, { "qr", svg ? svg : "" },
			{ "error", error ? i18n_gettext(cat, error) : "" }, { "phone", phone ? phone : "+32 " },
			{ "payment", payment }, { "poll", poll }, { "next", finish ? finish : "" },
			{ "qrlink", link ? link : "" }, { "login", payment[0] ? "" : "1" }, { "qrurl", qrurl },
			{ "reload", reload }, { "rotate", rotate }, { "slot", slot },
			{ "scanlink", scan ? "" : reload } };
		portal_timelimit_vars(rq, p, "app", &tl, v + 17);
		portal_page(srv, rq, status, lang, N_("Log in with the sleutel app"), "app_login", v,
			17 + PORTAL_TIMELIMIT_NVARS);
	}
	free(csrf);
	free(link);
	free(svg);
	free(finish);
}

/* The QR code of now, for the page's script to swap in each slot (JSON:
 * the SVG, the link, the slot and the seconds to the next one).  Only the
 * browser that started the login gets it; 404 for any other. */
void
applogin_qr(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	char *link, *svg;
	int64_t slot, next;
	int lang;

	if (oidc_pending_load_some(srv, rq, http_param(rq, "req"), qr_params, &p) != SL_OK) {
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
		return;
	}
	if (strcmp(p.op_req.ar_status, "pending") != 0) {
		http_send_json(rq, 200, json_pack("{s:s}", "status", p.op_req.ar_status));
		oidc_pending_clear(&p);
		return;
	}
	lang = portal_lang(srv, rq, json_string_value(json_object_get(p.op_params, "ui_locales")));
	/* Every way to a token records the browser, so no relay can fetch
	 * codes without being named on the phone. */
	record_context(srv, rq, &p);
	slot = qr_now(srv, &p, srv->sv_catalogs[lang], &link, &svg);
	next = (slot + 1) * srv->sv_conf->c_app_qr_rotate - sl_now();
	if (link == NULL || svg == NULL)
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
	else
		http_send_json(rq, 200,
			json_pack("{s:s,s:s,s:s,s:I,s:I}", "status", "pending", "svg", svg, "link", link, "slot",
				(json_int_t)slot, "next_in", (json_int_t)(next > 0 ? next : 1)));
	free(link);
	free(svg);
	oidc_pending_clear(&p);
}

void
applogin_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	const char *scan = http_param(rq, "scan");
	int lang;

	if (!portal_load_pending_some(srv, rq, page_params, &p, &lang))
		return;
	/* The QR code names this browser to the phone that scans it; a typed
	 * number's request names the browser that posts it (the same one:
	 * the request is bound to its cookie), recorded with the app request
	 * itself (applogin_submit), so the form page writes nothing. */
	if (scan != NULL && strcmp(scan, "1") == 0) {
		record_context(srv, rq, &p);
		form_page(srv, rq, &p, lang, 200, NULL, NULL, true);
	} else {
		form_page(srv, rq, &p, lang, 200, NULL, NULL, false);
	}
	oidc_pending_clear(&p);
}

/* A refusal before any request was made: what happened and what to do. */
static void
refusal_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, int rc)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	const char *title, *detail;
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);
	int status = 429;

	if (rc == SL_EDENIED) {
		title = N_("Your sleutel app cannot be used right now");
		detail = N_("It is blocked, or locked for a while after too many wrong codes. Try again later, or "
			    "choose another key.");
		status = 403;
	} else if (rc == SL_EBUSY) {
		title = N_("Too many requests are waiting on your phone");
		detail = N_("Open the sleutel app and answer or refuse them first, then try again.");
	} else if (rc == SL_ETOOBIG) {
		title = N_("Too many attempts");
		detail = N_("For your safety, wait a few minutes before you try again, or choose another key.");
	} else {
		title = N_("Something went wrong");
		detail = N_("Try again in a moment, or choose another key.");
		status = 503;
	}
	{
		struct tmpl_var v[6] = { { "heading", i18n_gettext(cat, title) },
			{ "detail", i18n_gettext(cat, detail) }, { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "csrf", csrf ? csrf : "" },
			{ "langcode", config_languages[lang] } };
		portal_page(srv, rq, status, lang, title, "app_refused", v, 6);
	}
	free(csrf);
}

static int
spec_for(struct server *srv, struct http_request *rq, const struct oidc_pending *p, int lang, const char *phone,
	struct app_request_spec *spec)
{
	int64_t left = p->op_req.ar_expires - sl_now();

	memset(spec, 0, sizeof(*spec));
	spec->as_phone = phone;
	spec->as_client = &p->op_client;
	spec->as_action = payment_of(p) ? "payment" : "login";
	spec->as_authz_details = payment_of(p);
	spec->as_link_kind = "authreq";
	spec->as_link_id = p->op_req.ar_id;
	spec->as_ip = server_audit_ip(srv, rq, spec->as_ipbuf);
	spec->as_context = p->op_req.ar_context;
	spec->as_lang = lang;
	/* Never outlive the authorization request it answers. */
	if (left < 10)
		return SL_EEXPIRED;
	if (left < srv->sv_conf->c_app_request_lifetime)
		spec->as_lifetime = (int)left;
	return SL_OK;
}

static void wait_page(
	struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, const struct store_apprq *r);

/* The app request `aq` just made: its wait page as the answer (one
 * request fewer than a 303 to it) when `in_page` — the number form's
 * script asked for it (inline=1) and puts the wait page's own address in
 * the history (wait.js, data-self), so a reload asks for the wait page and
 * never posts the number again — else the 303.  A decoy's page is loaded
 * the same way as a real one's. */
static void
send_wait(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, const char *aq, bool in_page)
{
	struct store_apprq r;
	char loc[256];

	if (in_page && store_apprq_get(srv->sv_store, aq, &r) == SL_OK) {
		wait_page(srv, rq, p, lang, &r);
		store_apprq_clear(&r);
		return;
	}
	snprintf(loc, sizeof(loc), "/key/app/wait?req=%s&aq=%s&lang=%s", p->op_req.ar_id, aq, config_languages[lang]);
	http_send_redirect(rq, 303, loc);
}

void
applogin_submit(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct app_request_spec spec;
	struct app_request_made made;
	struct sl_err err;
	const char *phone = http_form(rq, "phone"), *in = http_form(rq, "inline");
	bool inline_asked = in != NULL && strcmp(in, "1") == 0;
	char ipbuf[SERVER_IP_MAX], *browser = NULL;
	int lang, rc;

	if (!portal_load_pending_some(srv, rq, page_params, &p, &lang))
		return;
	if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_form(rq, "csrf"))) {
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
		goto out;
	}
	/* A login whose browser is not recorded yet (no QR code was shown)
	 * names the browser posting the number, in the app request only. */
	if (p.op_req.ar_context == NULL)
		browser = app_context_json(
			http_header(rq, "User-Agent"), server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)));
	if (spec_for(srv, rq, &p, lang, phone, &spec) != SL_OK) {
		portal_error(srv, rq, 410, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		goto out;
	}
	/* No account, or one that is blocked or locked: the same wait page
	 * for a request no phone sees (a decoy), so that the form tells
	 * nobody which numbers have an account or what state it is in. */
	spec.as_decoy = true;
	if (browser != NULL)
		spec.as_context = browser;
	rc = app_request_create(srv, &spec, &made, &err);
	if (rc == SL_EINVAL) {
		form_page(srv, rq, &p, lang, 400,
			N_("This is not a phone number. Type your mobile number, for example +32 470 12 34 56."),
			phone != NULL && strlen(phone) <= 64 ? phone : NULL, false);
	} else if (rc != SL_OK) {
		refusal_page(srv, rq, &p, lang, rc);
	} else {
		send_wait(srv, rq, &p, lang, made.am_id, inline_asked);
	}
out:
	free(browser);
	oidc_pending_clear(&p);
}

/* The RP's login_hint, a Belgian mobile number (/authorize sends the
 * browser here for one, src/oidc/authorize.c): the number form, filled in
 * with it, the key choice skipped.  Nothing is sent to a phone until the
 * person posts the form (applogin_submit: CSRF, the same limits, a decoy
 * for a number without a usable account): a GET any other site can cause
 * must not start a login on a phone of that site's choosing, whose
 * confirmation would log this browser in as someone else.  Anything else
 * (not a +32 mobile number, the login no longer waiting for a key) goes
 * to the key choice. */
void
applogin_hint(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	const char *hint;
	char choice[160], phone[APP_PHONE_MAX];
	int lang;

	if (!portal_load_pending_some(srv, rq, hint_params, &p, &lang))
		return;
	hint = json_string_value(json_object_get(p.op_params, "login_hint"));
	if (strcmp(p.op_req.ar_status, "pending") == 0 && hint != NULL &&
		app_phone_normalize(hint, srv->sv_conf->c_app_default_country, phone) == SL_OK &&
		strncmp(phone, "+32", 3) == 0) {
		form_page(srv, rq, &p, lang, 200, NULL, phone, false);
	} else {
		snprintf(choice, sizeof(choice), "/login?req=%s&lang=%s", p.op_req.ar_id, config_languages[lang]);
		http_send_redirect(rq, 303, choice);
	}
	oidc_pending_clear(&p);
}

/* The app request `aq` of this pending request, or SL_ENOTFOUND. */
static int
load_apprq(struct server *srv, struct http_request *rq, const struct oidc_pending *p, struct store_apprq *r)
{
	const char *aq = http_param(rq, "aq");

	memset(r, 0, sizeof(*r));
	if (aq == NULL || strlen(aq) > 64 || store_apprq_get(srv->sv_store, aq, r) != SL_OK)
		return SL_ENOTFOUND;
	if (strcmp(r->aq_link_kind, "authreq") != 0 || strcmp(r->aq_link_id, p->op_req.ar_id) != 0) {
		store_apprq_clear(r);
		return SL_ENOTFOUND;
	}
	return SL_OK;
}

/* How it ended, in words; the button goes back to the RP (access_denied). */
static void
outcome_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, const char *status)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	const char *title, *detail;
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);

	if (strcmp(status, "refused") == 0) {
		title = N_("You refused the request on your phone");
		detail = N_("You are not logged in. If this was a mistake, go back to the site and start again.");
	} else if (strcmp(status, "denied") == 0) {
		title = N_("The wrong verification code was chosen");
		detail = N_("The code you pick in the app must be the code this page showed. For your safety the "
			    "request was stopped.");
	} else if (strcmp(status, "expired") == 0) {
		title = N_("Time is up");
		detail = N_("The request on your phone has expired. Go back to the site and start again.");
	} else {
		title = N_("The login was not completed");
		detail = N_("Go back to the site you came from and start again.");
	}
	{
		struct tmpl_var v[6] = { { "heading", i18n_gettext(cat, title) },
			{ "detail", i18n_gettext(cat, detail) }, { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "csrf", csrf ? csrf : "" },
			{ "langcode", config_languages[lang] } };
		portal_page(srv, rq, 200, lang, title, "app_outcome", v, 6);
	}
	free(csrf);
}

/* Answered no, or over. */
static bool
ended(const struct store_apprq *r)
{
	return strcmp(r->aq_status, "refused") == 0 || strcmp(r->aq_status, "denied") == 0 ||
	       strcmp(r->aq_status, "expired") == 0;
}

/* The bounds on this app request's extra time (portal_timer). */
static struct portal_timer
timer_of(struct server *srv, const struct oidc_pending *p, const struct store_apprq *r)
{
	struct portal_timer t = { .pt_created = r->aq_created,
		.pt_expires = r->aq_expires,
		.pt_step = srv->sv_conf->c_app_request_lifetime,
		.pt_extended = r->aq_extended };

	portal_timer_login(&t, srv, p);
	return t;
}

static void
wait_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, const struct store_apprq *r)
{
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id), remaining[32], poll[192], next[384];
	const char *payment = strcmp(r->aq_action, "payment") == 0 ? r->aq_display_text : "";
	char decoy_text[APP_DISPLAY_MAX + 1];

	if (app_is_decoy(r->aq_account_id) && payment_of(p) != NULL) {
		payment_line(p, lang, decoy_text, sizeof(decoy_text));
		payment = decoy_text;
	}
	snprintf(remaining, sizeof(remaining), "%lld", (long long)(r->aq_expires - sl_now()));
	/* finish=1: the page's script goes where the poll's answer says (the
	 * RP, with the code issued by the poll itself) */
	snprintf(poll, sizeof(poll), "/key/app/poll?req=%s&aq=%s&finish=1", p->op_req.ar_id, r->aq_id);
	snprintf(next, sizeof(next), "/key/app/wait?req=%s&aq=%s&lang=%s", p->op_req.ar_id, r->aq_id,
		config_languages[lang]);
	{
		struct portal_timer t = timer_of(srv, p, r);
		struct tmpl_var v[11 + PORTAL_TIMER_NVARS] = { { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "aq", r->aq_id }, { "csrf", csrf ? csrf : "" },
			{ "code", r->aq_code }, { "remaining", remaining }, { "langcode", config_languages[lang] },
			{ "payment", payment }, { "poll", poll }, { "next", next },
			{ "login", payment[0] ? "" : "1" } };
		portal_timer_vars(&t, rq, v + 11);
		portal_page(
			srv, rq, 200, lang, N_("Confirm in the sleutel app"), "app_wait", v, 11 + PORTAL_TIMER_NVARS);
	}
	free(csrf);
}

void
applogin_wait(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_apprq r;
	int lang;

	if (!portal_load_pending(srv, rq, &p, &lang))
		return;
	/* A login the phone answered finishes on the request alone: the app
	 * request's state no longer decides anything (portal_key_state). */
	memset(&r, 0, sizeof(r));
	if (strcmp(p.op_req.ar_status, "done") == 0) {
		oidc_login_finish(srv, rq, &p);
		goto out;
	}
	if (load_apprq(srv, rq, &p, &r) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		goto out;
	}
	switch (portal_key_state(srv, &p, strcmp(r.aq_status, "pending") == 0, ended(&r), r.aq_expires)) {
	case PORTAL_KEY_FINISH: oidc_login_finish(srv, rq, &p); break;
	case PORTAL_KEY_EXPIRED: outcome_page(srv, rq, &p, lang, "expired"); break;
	case PORTAL_KEY_DENIED:
		outcome_page(srv, rq, &p, lang, strcmp(r.aq_status, "pending") == 0 ? "other" : r.aq_status);
		break;
	case PORTAL_KEY_ENDED: outcome_page(srv, rq, &p, lang, r.aq_status); break;
	default: wait_page(srv, rq, &p, lang, &r); /* pending, or approved on its way */
	}
out:
	store_apprq_clear(&r);
	oidc_pending_clear(&p);
}

/* Long-poll of the wait page: 200 once the login is no longer pending
 * (done, denied, or the app request expired), 204 to poll again.  With
 * finish=1 (the wait page's script) a login done without consent to ask
 * is answered here: the code issued and its RP address in the answer
 * (oidc_login_finish_poll), one request fewer than going to the wait page
 * for it. */
void
applogin_poll(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_apprq r;
	const char *finish = http_param(rq, "finish");

	if (oidc_pending_load(srv, rq, http_param(rq, "req"), &p) != SL_OK) {
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
		return;
	}
	/* No longer pending (done, denied): the answer is the request's
	 * status whatever the app request says (portal_key_poll). */
	memset(&r, 0, sizeof(r));
	if (strcmp(p.op_req.ar_status, "pending") != 0 && finish != NULL && strcmp(finish, "1") == 0)
		oidc_login_finish_poll(srv, rq, &p);
	else if (strcmp(p.op_req.ar_status, "pending") != 0)
		portal_key_poll(srv, rq, &p, false, false, 0);
	else if (load_apprq(srv, rq, &p, &r) != SL_OK)
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
	else
		portal_key_poll(srv, rq, &p, strcmp(r.aq_status, "pending") == 0, ended(&r), r.aq_expires);
	store_apprq_clear(&r);
	oidc_pending_clear(&p);
}

/* More time (WCAG 2.2.1 Timing Adjustable): another lifetime on top of
 * what is left, within portal_timer's bounds; the store's conditional
 * UPDATE holds the count, so two posts at once cannot both pass the last
 * one.  Back to the wait page (without script too), which says so. */
void
applogin_extend(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_apprq r;
	struct portal_timer t;
	struct portal_timer_post post;
	char loc[256];
	int lang;

	if (!portal_timer_begin(srv, rq, &p, &lang))
		return;
	memset(&r, 0, sizeof(r));
	if (load_apprq(srv, rq, &p, &r) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		goto out;
	}
	t = timer_of(srv, &p, &r);
	snprintf(loc, sizeof(loc), "/key/app/wait?req=%s&aq=%s&lang=%s", p.op_req.ar_id, r.aq_id,
		config_languages[lang]);
	post = (struct portal_timer_post){ "app", r.aq_id, strcmp(r.aq_status, "pending") == 0, r.aq_client_id, loc,
		store_apprq_extend };
	portal_timer_post(srv, rq, lang, &t, &post);
out:
	store_apprq_clear(&r);
	oidc_pending_clear(&p);
}
