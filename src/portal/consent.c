/*
 * consent.c — the consent page, /login/consent: after a key identified
 * the person (or an SSO session answered), the data the site asks for, in
 * the person's words, with "Share" and "Do not share".  The decision is a
 * POST with the pending request's CSRF token (bound to this browser's
 * cookie, as every portal form); what it does is oidc's (consent.c there).
 */
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

/* What each data scope means to the person. */
static const struct {
	const char *scope;
	const char *label;
} consent_labels[] = {
	{ "profile", N_("Your name") },
	{ "profile", N_("Your date of birth") },
	{ "eid", N_("Your national register number") },
	{ "offline_access", N_("Stay connected: the site may use this data when you are not there (offline access)") },
};

static bool
scope_named(const char *scopes, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = scopes; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

int
portal_consent_items(struct server *srv, const struct i18n_catalog *cat, const char *scopes, struct sl_buf *out)
{
	int rc = SL_OK;

	for (size_t i = 0; rc == SL_OK && i < sizeof(consent_labels) / sizeof(consent_labels[0]); i++) {
		struct tmpl_var v[1] = { { "label", i18n_gettext(cat, consent_labels[i].label) } };
		if (scope_named(scopes, consent_labels[i].scope))
			rc = tmpl_render(srv->sv_templates, "consent_item", cat, v, 1, out);
	}
	return rc;
}

/* A completed request of this browser, or an error page. */
static bool
load_done(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang)
{
	if (oidc_pending_load(srv, rq, http_param(rq, "req"), p) != SL_OK) {
		*lang = portal_lang(srv, rq, NULL);
		portal_error(srv, rq, 404, *lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return false;
	}
	*lang = portal_lang(srv, rq, json_string_value(json_object_get(p->op_params, "ui_locales")));
	if (p->op_req.ar_status == NULL || strcmp(p->op_req.ar_status, "done") != 0) {
		/* Nobody logged in yet: there is nothing to agree to. */
		portal_error(srv, rq, 409, *lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		oidc_pending_clear(p);
		return false;
	}
	return true;
}

static void
consent_page(struct server *srv, struct http_request *rq, const struct oidc_pending *p, int lang)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char *asked = oidc_consent_new(srv, p), *csrf = oidc_csrf_token(srv, rq, p->op_req.ar_id);
	struct sl_buf items;
	int rc = asked && csrf ? SL_OK : SL_ENOMEM;

	sl_buf_init(&items, 8192);
	if (rc == SL_OK)
		rc = portal_consent_items(srv, cat, asked, &items);
	if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		struct portal_timelimit tl;
		struct tmpl_var v[5 + PORTAL_TIMELIMIT_NVARS] = { { "rp", p->op_client.cl_name },
			{ "req", p->op_req.ar_id }, { "csrf", csrf }, { "items", sl_buf_str(&items) },
			{ "langcode", config_languages[lang] } };
		portal_timelimit_vars(rq, p, "consent", &tl, v + 5);
		portal_page(srv, rq, 200, lang, N_("Share your data?"), "consent", v, 5 + PORTAL_TIMELIMIT_NVARS);
	}
	sl_buf_reset(&items);
	free(csrf);
	free(asked);
}

/* GET shows the page; POST (req, csrf, decision=share|deny) answers it. */
void
portal_consent(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	const char *decision = http_form(rq, "decision");
	int lang;

	if (!load_done(srv, rq, &p, &lang))
		return;
	if (http_method(rq) != HTTP_POST)
		consent_page(srv, rq, &p, lang);
	else if (!oidc_csrf_ok(srv, rq, p.op_req.ar_id, http_form(rq, "csrf")))
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
	else if (decision != NULL && strcmp(decision, "share") == 0)
		oidc_consent_give(srv, rq, &p);
	else if (decision != NULL && strcmp(decision, "deny") == 0)
		oidc_consent_refuse(srv, rq, &p);
	else
		portal_error(
			srv, rq, 400, lang, N_("The request was not valid"), N_("Choose whether to share your data."));
	oidc_pending_clear(&p);
}
