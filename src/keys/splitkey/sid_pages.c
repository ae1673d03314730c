/*
 * sid_pages.c — the portal's Smart-ID pages (as the app key's login.c):
 * the national number form, the wait page with the verification code and a
 * countdown, its long-poll, and the page that says how it ended.
 *
 *   GET  /key/smartid        the form
 *   POST /key/smartid/login  the number: a request (sid_request.c), then
 *                            303 to the wait page
 *   GET  /key/smartid/wait   the code while pending; once the login is
 *                            done, on to the RP (oidc_login_finish); how it
 *                            ended otherwise.  Without JavaScript the page's
 *                            "continue" button comes back here.
 *   GET  /key/smartid/poll   long-poll for the page's script (wait.js): 200
 *                            when there is something new, 204 to ask again
 *   POST /key/smartid/extend more time (WCAG 2.2.1), within portal_timer's
 *                            bounds; 303 back to the wait page
 *
 * Pages name the pending authorization request (req, bound to this browser
 * by its cookie) and the Smart-ID request (sq), which must be linked to it:
 * only the browser that started a login sees its code.  A number without
 * an account gets a decoy request: the same pages, no phone.
 */
#include <stdlib.h>
#include <string.h>

#include "../../portal/portal.h"
#include "sid_login_int.h"

#define RRN_HINT_VALUE_MAX 64 /* bytes of a typed number shown back in the form */

/* What the form and its post read of the authorization parameters
 * (oidc_pending_load_some); the wait page and its poll may finish the
 * login, which needs them all. */
static const char *const lang_only[] = { "ui_locales", NULL };

/* The form, with `error` (a message id) above it when set. */
static void
form_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, int status, const char *error,
	const char *rrn)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);
	struct tmpl_var v[6] = { { "rp", p->op_client.cl_name }, { "req", p->op_req.ar_id },
		{ "csrf", csrf ? csrf : "" }, { "langcode", config_languages[lang] },
		{ "error", error ? i18n_gettext(cat, error) : "" }, { "rrn", rrn ? rrn : "" } };

	portal_page(srv, rq, status, lang, N_("Log in with Smart-ID"), "sid_login", v, 6);
	free(csrf);
}

void
sidlogin_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	int lang;

	if (!portal_load_pending_some(srv, rq, lang_only, &p, &lang))
		return;
	form_page(srv, rq, &p, lang, 200, NULL, NULL);
	oidc_pending_clear(&p);
}

/* `heading` and `detail` on the app key's generic page (`tmpl`:
 * "app_refused" offers another key, "app_outcome" goes back to the RP). */
static void
message_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, int status,
	const char *tmpl, const char *heading, const char *detail)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);
	struct tmpl_var v[6] = { { "heading", i18n_gettext(cat, heading) }, { "detail", i18n_gettext(cat, detail) },
		{ "rp", p->op_client.cl_name }, { "req", p->op_req.ar_id }, { "csrf", csrf ? csrf : "" },
		{ "langcode", config_languages[lang] } };

	portal_page(srv, rq, status, lang, heading, tmpl, v, 6);
	free(csrf);
}

/* No request was made: why, and what to do. */
static void
refusal_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang, int rc)
{
	if (rc == SL_EBUSY)
		message_page(srv, rq, p, lang, 429, "app_refused", N_("Too many requests are waiting on your phone"),
			N_("Open the Smart-ID app and answer or refuse them first, then try again."));
	else if (rc == SL_ETOOBIG)
		message_page(srv, rq, p, lang, 429, "app_refused", N_("Too many attempts"),
			N_("For your safety, wait a few minutes before you try again, or choose another key."));
	else
		message_page(srv, rq, p, lang, 503, "app_refused", N_("Something went wrong"),
			N_("Try again in a moment, or choose another key."));
}

void
sidlogin_submit(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct sid_request_spec spec = { 0 };
	struct sid_request_made made;
	struct sl_err err = { 0 };
	const char *typed = http_form(rq, "rrn");
	char rrn[SID_RRN_LEN + 1], loc[256], ipbuf[SERVER_IP_MAX];
	int64_t left;
	int lang, rc;

	if (!portal_load_pending_some(srv, rq, lang_only, &p, &lang))
		return;
	left = p.op_req.ar_expires - sl_now();
	if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_form(rq, "csrf"))) {
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
	} else if (sid_rrn_normalize(typed, rrn) != SL_OK) {
		form_page(srv, rq, &p, lang, 400,
			N_("This is not a national register number. Type its 11 digits, for example 85.07.30-033.28."),
			typed != NULL && strlen(typed) <= RRN_HINT_VALUE_MAX ? typed : NULL);
	} else if (left < 10) {
		portal_error(srv, rq, 410, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
	} else {
		spec = (struct sid_request_spec){ rrn, &p.op_client, p.op_req.ar_id,
			server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)), lang,
			/* never outlive the authorization request it answers */
			left < srv->sv_conf->c_sid_request_lifetime ? (int)left : 0 };
		rc = sid_request_create(srv, &spec, &made, &err);
		if (rc != SL_OK) {
			refusal_page(srv, rq, &p, lang, rc);
		} else {
			snprintf(loc, sizeof(loc), "/key/smartid/wait?req=%s&sq=%s&lang=%s", p.op_req.ar_id, made.sm_id,
				config_languages[lang]);
			http_send_redirect(rq, 303, loc);
		}
	}
	oidc_pending_clear(&p);
}

/* The Smart-ID request `sq` of this pending request, or SL_ENOTFOUND. */
static int
load_request(struct server *srv, struct http_request *rq, const struct oidc_pending *p, struct store_sid_request *r)
{
	const char *sq = http_param(rq, "sq");

	memset(r, 0, sizeof(*r));
	if (sq == NULL || !app_id_ok(sq) || store_sid_request_get(srv->sv_store, sq, r) != SL_OK)
		return SL_ENOTFOUND;
	if (strcmp(r->sq_link_kind, "authreq") != 0 || strcmp(r->sq_link_id, p->op_req.ar_id) != 0) {
		store_sid_request_clear(r);
		return SL_ENOTFOUND;
	}
	return SL_OK;
}

/* Why a request "failed": "clone" (its device was revoked when it
 * answered), "locked" (the key it answered with is locked) or "other" (a
 * device ended while it waited). */
static const char *
failed_because(struct server *srv, const struct store_sid_request *r)
{
	struct store_sid_device d = { 0 };
	struct store_sid_key k = { 0 };
	const char *why = "other";

	if (r->sq_device_id == NULL || store_sid_device_get(srv->sv_store, r->sq_device_id, &d) != SL_OK)
		return why;
	if (strcmp(d.sd_status, "revoked") == 0 && d.sd_reason != NULL && strcmp(d.sd_reason, "clone") == 0)
		why = "clone";
	else if (store_sid_key_get(srv->sv_store, r->sq_device_id, r->sq_key_use, &k) == SL_OK &&
		 k.sk_locked_until > sl_now())
		why = "locked";
	store_sid_key_clear(&k);
	store_sid_device_clear(&d);
	return why;
}

/* How it ended, in words; the button goes back to the RP (access_denied). */
static void
outcome_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang,
	const struct store_sid_request *r, const char *status)
{
	const char *title = N_("The login was not completed");
	const char *detail = N_("Go back to the site you came from and start again.");

	if (strcmp(status, "refused") == 0) {
		title = N_("You refused the request on your phone");
		detail = N_("You are not logged in. If this was a mistake, go back to the site and start again.");
	} else if (strcmp(status, "expired") == 0) {
		title = N_("Time is up");
		detail = N_("The request on your phone has expired. Go back to the site and start again.");
	} else if (strcmp(status, "failed") == 0) {
		const char *why = failed_because(srv, r);
		if (strcmp(why, "clone") == 0) {
			title = N_("This Smart-ID device can no longer be used");
			detail = N_("A copy of the Smart-ID app on this device was seen, so the device was blocked for "
				    "your safety. Register the device again, or choose another key.");
		} else if (strcmp(why, "locked") == 0) {
			title = N_("Your Smart-ID is locked");
			detail = N_("PIN1 was typed wrong too many times. Wait until the lock ends, or choose another "
				    "key.");
		}
	}
	message_page(srv, rq, p, lang, 200, "app_outcome", title, detail);
}

static bool
ended(const struct store_sid_request *r)
{
	return strcmp(r->sq_status, "refused") == 0 || strcmp(r->sq_status, "failed") == 0 ||
	       strcmp(r->sq_status, "expired") == 0;
}

/* The bounds on this request's extra time (portal_timer). */
static struct portal_timer
timer_of(struct server *srv, const struct oidc_pending *p, const struct store_sid_request *r)
{
	struct portal_timer t = { .pt_created = r->sq_created,
		.pt_expires = r->sq_expires,
		.pt_step = srv->sv_conf->c_sid_request_lifetime,
		.pt_extended = r->sq_extended };

	portal_timer_login(&t, srv, p);
	return t;
}

static void
wait_page(struct server *srv, struct http_request *rq, struct oidc_pending *p, int lang,
	const struct store_sid_request *r)
{
	char *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id), remaining[32], poll[192], next[384];
	struct portal_timer t = timer_of(srv, p, r);

	snprintf(remaining, sizeof(remaining), "%lld", (long long)(r->sq_expires - sl_now()));
	snprintf(poll, sizeof(poll), "/key/smartid/poll?req=%s&sq=%s", p->op_req.ar_id, r->sq_id);
	snprintf(next, sizeof(next), "/key/smartid/wait?req=%s&sq=%s&lang=%s", p->op_req.ar_id, r->sq_id,
		config_languages[lang]);
	{
		struct tmpl_var v[9 + PORTAL_TIMER_NVARS] = { { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "sq", r->sq_id }, { "csrf", csrf ? csrf : "" },
			{ "code", r->sq_vc }, { "remaining", remaining }, { "langcode", config_languages[lang] },
			{ "poll", poll }, { "next", next } };
		portal_timer_vars(&t, rq, v + 9);
		portal_page(
			srv, rq, 200, lang, N_("Confirm in the Smart-ID app"), "sid_wait", v, 9 + PORTAL_TIMER_NVARS);
	}
	free(csrf);
}

void
sidlogin_wait(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_sid_request r;
	bool pending;
	int lang;

	if (!portal_load_pending(srv, rq, &p, &lang))
		return;
	if (load_request(srv, rq, &p, &r) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		goto out;
	}
	pending = strcmp(r.sq_status, "pending") == 0;
	switch (portal_key_state(srv, &p, pending, ended(&r), r.sq_expires)) {
	case PORTAL_KEY_FINISH: oidc_login_finish(srv, rq, &p); break;
	case PORTAL_KEY_EXPIRED: outcome_page(srv, rq, &p, lang, &r, "expired"); break;
	case PORTAL_KEY_DENIED:
	case PORTAL_KEY_ENDED: outcome_page(srv, rq, &p, lang, &r, pending ? "other" : r.sq_status); break;
	default: wait_page(srv, rq, &p, lang, &r); /* pending, or approved on its way */
	}
out:
	store_sid_request_clear(&r);
	oidc_pending_clear(&p);
}

void
sidlogin_poll(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_sid_request r;

	if (oidc_pending_load(srv, rq, http_param(rq, "req"), &p) != SL_OK) {
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
		return;
	}
	if (load_request(srv, rq, &p, &r) != SL_OK)
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
	else
		portal_key_poll(srv, rq, &p, strcmp(r.sq_status, "pending") == 0, ended(&r), r.sq_expires);
	store_sid_request_clear(&r);
	oidc_pending_clear(&p);
}

/* More time (WCAG 2.2.1), as the app key's applogin_extend. */
void
sidlogin_extend(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	struct store_sid_request r;
	struct portal_timer t;
	struct portal_timer_post post;
	char loc[256];
	int lang;

	if (!portal_timer_begin(srv, rq, &p, &lang))
		return;
	if (load_request(srv, rq, &p, &r) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
	} else {
		t = timer_of(srv, &p, &r);
		snprintf(loc, sizeof(loc), "/key/smartid/wait?req=%s&sq=%s&lang=%s", p.op_req.ar_id, r.sq_id,
			config_languages[lang]);
		post = (struct portal_timer_post){ "smartid", r.sq_id, strcmp(r.sq_status, "pending") == 0,
			r.sq_client_id, loc, store_sid_request_extend };
		portal_timer_post(srv, rq, lang, &t, &post);
	}
	store_sid_request_clear(&r);
	oidc_pending_clear(&p);
}
