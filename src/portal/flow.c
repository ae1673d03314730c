/*
 * flow.c — the pages of one login: the key choice for a pending request,
 * cancel, the wait page and its long-poll, and the finish that sends the
 * browser back to the RP.
 */
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

/* keys NULL: every parameter (oidc_pending_load_some). */
static bool
load_pending(struct server *srv, struct http_request *rq, const char *const *keys, struct oidc_pending *p, int *lang)
{
	int rc = keys ? oidc_pending_load_some(srv, rq, http_param(rq, "req"), keys, p)
		      : oidc_pending_load(srv, rq, http_param(rq, "req"), p);

	if (rc != SL_OK) {
		*lang = portal_lang(srv, rq, NULL);
		portal_error(srv, rq, 404, *lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return false;
	}
	*lang = portal_lang(srv, rq, json_string_value(json_object_get(p->op_params, "ui_locales")));
	return true;
}

bool
portal_load_pending(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang)
{
	return load_pending(srv, rq, NULL, p, lang);
}

bool
portal_load_pending_some(
	struct server *srv, struct http_request *rq, const char *const *keys, struct oidc_pending *p, int *lang)
{
	return load_pending(srv, rq, keys, p, lang);
}

/* One button per key this build has and the configuration enables.  A
 * payment (authorization_details) is offered only to keys that show the
 * person what they confirm: the app. */
static void
key_buttons(
	struct server *srv, const struct i18n_catalog *cat, const char *req, int lang, bool payment, struct sl_buf *out)
{
	static const struct {
		unsigned kind;
		const char *path;
		const char *label;
		const char *hint;
	} keys[] = {
		{ SL_KEY_EID, "/key/eid", N_("eID card reader"), N_("Log in with your eID card and a card reader") },
		{ SL_KEY_APP, "/key/app", N_("sleutel app"), N_("Confirm on your phone with the sleutel app") },
		{ SL_KEY_SMARTID, "/key/smartid", N_("Smart-ID"),
			N_("Confirm on your phone with the Smart-ID app and PIN1") },
#ifdef SL_TEST_KEY
		{ SL_KEY_TEST, "/key/test", N_("Test key"), N_("Only in test builds: log in as any person") },
#endif
		{ 0, NULL, NULL, NULL },
	};

	for (size_t i = 0; keys[i].path != NULL; i++) {
		struct tmpl_var v[5] = { { "path", keys[i].path }, { "req", req },
			{ "label", i18n_gettext(cat, keys[i].label) }, { "hint", i18n_gettext(cat, keys[i].hint) },
			{ "langcode", config_languages[lang] } };
		if ((srv->sv_conf->c_portal_keys & keys[i].kind) && (!payment || keys[i].kind == SL_KEY_APP))
			tmpl_render(srv->sv_templates, "key_button", cat, v, 5, out);
	}
}

void
portal_choose(void *ctx, struct http_request *rq)
{
	static const char *const keys[] = { "ui_locales", "authorization_details", NULL }; /* all it reads */
	struct server *srv = ctx;
	struct oidc_pending p;
	struct sl_buf buttons;
	char *csrf;
	int lang;

	if (!load_pending(srv, rq, keys, &p, &lang))
		return;
	sl_buf_init(&buttons, 65536);
	key_buttons(srv, srv->sv_catalogs[lang], p.op_req.ar_id, lang,
		json_object_get(p.op_params, "authorization_details") != NULL, &buttons);
	csrf = oidc_csrf_token(srv, rq, p.op_req.ar_id);
	{
		struct portal_timelimit tl;
		struct tmpl_var v[6 + PORTAL_TIMELIMIT_NVARS] = { { "rp", p.op_client.cl_name },
			{ "req", p.op_req.ar_id }, { "csrf", csrf ? csrf : "" }, { "buttons", sl_buf_str(&buttons) },
			{ "langcode", config_languages[lang] }, { "nokeys", buttons.b_len == 0 ? "1" : "" } };
		portal_timelimit_vars(rq, &p, "login", &tl, v + 6);
		portal_page(srv, rq, 200, lang, N_("Choose your digital key"), "choose", v, 6 + PORTAL_TIMELIMIT_NVARS);
	}
	free(csrf);
	sl_buf_reset(&buttons);
	oidc_pending_clear(&p);
}

void
portal_cancel(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	int lang;

	if (!portal_load_pending(srv, rq, &p, &lang))
		return;
	if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_form(rq, "csrf"))) {
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
	} else {
		/* Finished here, not through the wait channel: a waiting page's
		 * poll must not race this answer to the browser. */
		free(p.op_req.ar_status);
		p.op_req.ar_status = strdup("denied");
		oidc_login_finish(srv, rq, &p);
	}
	oidc_pending_clear(&p);
}

void
portal_wait_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	char *csrf, remaining[32];
	int lang;

	if (!portal_load_pending(srv, rq, &p, &lang))
		return;
	csrf = oidc_csrf_token(srv, rq, p.op_req.ar_id);
	snprintf(remaining, sizeof(remaining), "%lld", (long long)(p.op_req.ar_expires - sl_now()));
	{
		struct tmpl_var v[5] = { { "rp", p.op_client.cl_name }, { "req", p.op_req.ar_id },
			{ "csrf", csrf ? csrf : "" }, { "remaining", remaining },
			{ "langcode", config_languages[lang] } };
		portal_page(srv, rq, 200, lang, N_("Confirm on your other device"), "wait", v, 5);
	}
	free(csrf);
	oidc_pending_clear(&p);
}

/* Long-poll: answers when the request is no longer pending, or 204 when
 * the wait times out (the page polls again). */
void
portal_poll(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;

	if (oidc_pending_load(srv, rq, http_param(rq, "req"), &p) != SL_OK) {
		http_send_json(rq, 404, json_pack("{s:s}", "status", "expired"));
		return;
	}
	if (strcmp(p.op_req.ar_status, "pending") != 0)
		http_send_json(rq, 200, json_pack("{s:s}", "status", p.op_req.ar_status));
	else if (http_wake_reason(rq) != 0)
		http_send_empty(rq, 204); /* timeout or shutdown: poll again */
	else
		portal_wait_login(srv, rq, p.op_req.ar_id, 0);
	oidc_pending_clear(&p);
}

struct login_look {
	struct server *ll_srv;
	const char *ll_req_id;
};

/* Has the login left "pending" (or gone)? */
static bool
login_moved(void *arg)
{
	struct login_look *ll = arg;
	struct store_authreq ar;
	bool moved;

	if (store_authreq_get(ll->ll_srv->sv_store, ll->ll_req_id, &ar) != SL_OK)
		return true;
	moved = ar.ar_status == NULL || strcmp(ar.ar_status, "pending") != 0;
	store_authreq_clear(&ar);
	return moved;
}

void
portal_wait_login(struct server *srv, struct http_request *rq, const char *req_id, int64_t max_ms)
{
	int64_t wait_ms = (int64_t)srv->sv_conf->c_waiter_timeout * 1000;
	struct login_look ll = { srv, req_id };
	char key[128];

	if (max_ms > 0 && max_ms < wait_ms)
		wait_ms = max_ms;
	oidc_wait_key(req_id, key, sizeof(key));
	if (http_wait_recheck(rq, srv->sv_waiters, key, sl_monotonic_ms() + wait_ms, login_moved, &ll) != SL_OK)
		http_send_json(rq, 503, json_pack("{s:s}", "status", "busy"));
}

void
portal_finish(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	int lang;

	if (!portal_load_pending(srv, rq, &p, &lang))
		return;
	if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_param(rq, "csrf")))
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
	else if (strcmp(p.op_req.ar_status, "pending") == 0)
		portal_wait_page(srv, rq);
	else
		oidc_login_finish(srv, rq, &p);
	oidc_pending_clear(&p);
}

enum portal_key_state
portal_key_state(struct server *srv, const struct oidc_pending *p, bool pending, bool ended, int64_t expires)
{
	if (strcmp(p->op_req.ar_status, "done") == 0)
		return PORTAL_KEY_FINISH;
	if (pending && expires <= sl_now()) {
		oidc_login_deny(srv, p->op_req.ar_id); /* still pending past its expiry: over */
		return PORTAL_KEY_EXPIRED;
	}
	if (strcmp(p->op_req.ar_status, "denied") == 0)
		return PORTAL_KEY_DENIED;
	if (ended) {
		oidc_login_deny(srv, p->op_req.ar_id); /* the phone said no and the login is still open */
		return PORTAL_KEY_ENDED;
	}
	return PORTAL_KEY_WAIT;
}

void
portal_key_poll(struct server *srv, struct http_request *rq, const struct oidc_pending *p, bool pending, bool ended,
	int64_t expires)
{
	if (strcmp(p->op_req.ar_status, "pending") != 0) {
		http_send_json(rq, 200, json_pack("{s:s}", "status", p->op_req.ar_status));
	} else if ((pending && expires <= sl_now()) || ended) {
		if (pending)
			oidc_login_deny(srv, p->op_req.ar_id);
		http_send_json(rq, 200, json_pack("{s:s}", "status", "ended"));
	} else if (http_wake_reason(rq) != 0) {
		http_send_empty(rq, 204);
	} else {
		/* Wake at the request's expiry at the latest, so the page turns
		 * at once when time is up. */
		portal_wait_login(srv, rq, p->op_req.ar_id, (expires - sl_now()) * 1000 + 200);
	}
}
