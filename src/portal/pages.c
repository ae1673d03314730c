/*
 * pages.c — the portal's pages.  A page is its template rendered in the
 * request's language, placed in layout.html with the language switch.
 */
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

#define PORTAL_MAX_VARS 24

/* The language switch: links to this page in each language.  The link is
 * the matched route's path, never the request's as sent: "//host/x" (or
 * %2F, or /\ which browsers read as //) would lead to another site.  A
 * page not found (status 404) links to the front page. */
static int
lang_nav(struct http_request *rq, int status, int lang, struct sl_buf *out)
{
	static const char *const names[SL_LANG_COUNT] = { "Nederlands", "Français", "Deutsch", "English" };
	const char *path = status == 404 ? NULL : http_route_path(rq);
	int rc = SL_OK;

	/* The parameters that say which page this is (the pending request and
	 * its tokens) are kept; anything else is not repeated. */
	static const char *const keep[] = { "req", "t", "csrf", NULL };

	/* Joined with sl_buf_adds, not formatted: this runs for every page,
	 * and twelve snprintf calls were 2 % of a trivial login's
	 * instructions (docs/performance.md, the seventh round). */
	for (int i = 0; i < SL_LANG_COUNT && rc == SL_OK; i++) {
		sl_buf_adds(out, "<li><a lang=\"");
		sl_buf_adds(out, config_languages[i]);
		sl_buf_adds(out, "\" hreflang=\"");
		sl_buf_adds(out, config_languages[i]);
		rc = sl_buf_adds(out, "\" href=\"");
		if (rc == SL_OK && http_method(rq) == HTTP_GET && path != NULL) {
			html_escape(out, path);
			sl_buf_adds(out, "?");
			for (int k = 0; keep[k]; k++) {
				const char *v = http_param(rq, keep[k]);
				if (v == NULL)
					continue;
				sl_buf_adds(out, keep[k]);
				sl_buf_adds(out, "=");
				sl_url_encode(out, v);
				sl_buf_adds(out, "&amp;");
			}
		} else {
			sl_buf_adds(out, "/?");
		}
		sl_buf_adds(out, "lang=");
		sl_buf_adds(out, config_languages[i]);
		sl_buf_adds(out, i == lang ? "\" aria-current=\"true\">" : "\">");
		sl_buf_adds(out, names[i]);
		sl_buf_adds(out, "</a></li>");
	}
	return rc;
}

void
portal_page(struct server *srv, struct http_request *rq, int status, int lang, const char *title, const char *tmpl,
	const struct tmpl_var *vars, size_t nvars)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	struct sl_buf body, nav, page;
	struct tmpl_var lv[4];
	const char *explicit = http_param(rq, "lang");
	int rc;

	sl_buf_init(&body, PORTAL_MAX_PAGE);
	sl_buf_init(&nav, 4096);
	sl_buf_init(&page, PORTAL_MAX_PAGE);
	rc = tmpl_render(srv->sv_templates, tmpl, cat, vars, nvars, &body);
	if (rc == SL_OK)
		rc = lang_nav(rq, status, lang, &nav);
	lv[0] = (struct tmpl_var){ "lang", config_languages[lang] };
	lv[1] = (struct tmpl_var){ "title", i18n_gettext(cat, title) };
	lv[2] = (struct tmpl_var){ "content", sl_buf_str(&body) };
	lv[3] = (struct tmpl_var){ "langnav", sl_buf_str(&nav) };
	if (rc == SL_OK)
		rc = tmpl_render(srv->sv_templates, "layout", cat, lv, 4, &page);
	if (rc != SL_OK) {
		log_error("cannot render %s: %s", tmpl, sl_strerror(rc));
		sl_buf_reset(&page);
		http_send_text(rq, 500, "text/plain; charset=utf-8", "Internal error");
	} else {
		if (explicit != NULL && strcmp(explicit, config_languages[lang]) == 0) {
			char cookie[128];
			snprintf(cookie, sizeof(cookie),
				"%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000", OIDC_COOKIE_LANG,
				config_languages[lang]);
			http_add_header(rq, "Set-Cookie", cookie);
		}
		http_add_header(rq, "Content-Language", config_languages[lang]);
		http_send_html(rq, status, sl_buf_take(&page));
	}
	sl_buf_reset(&body);
	sl_buf_reset(&nav);
	sl_buf_reset(&page);
}

void
portal_error(struct server *srv, struct http_request *rq, int status, int lang, const char *title, const char *detail)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	struct tmpl_var v[2] = { { "heading", i18n_gettext(cat, title) },
		{ "detail", detail ? i18n_gettext(cat, detail) : "" } };

	portal_page(srv, rq, status, lang, title, "error", v, 2);
}

/* OAuth error codes shown to a person as a sentence. */
static const char *
error_title(const char *code)
{
	if (code == NULL)
		return N_("Something went wrong");
	if (strcmp(code, "invalid_client") == 0)
		return N_("This site is not known to sleutel");
	if (strcmp(code, "invalid_request_uri") == 0)
		return N_("This login link has expired");
	if (strcmp(code, "temporarily_unavailable") == 0)
		return N_("sleutel is busy, please try again in a moment");
	if (strcmp(code, "invalid_request") == 0)
		return N_("The site sent an invalid login request");
	return N_("Something went wrong");
}

void
oidc_error_page(struct server *srv, struct http_request *rq, int status, const char *title, const char *detail)
{
	const struct i18n_catalog *cat;
	int lang = portal_lang(srv, rq, NULL);
	struct tmpl_var v[3];

	cat = srv->sv_catalogs[lang];
	v[0] = (struct tmpl_var){ "heading", i18n_gettext(cat, error_title(title)) };
	v[1] = (struct tmpl_var){ "detail", i18n_gettext(cat, N_("Go back to the site you came from and try again.")) };
	/* The technical reason, in English, for the site's developers. */
	v[2] = (struct tmpl_var){ "code", detail ? detail : (title ? title : "") };
	portal_page(srv, rq, status, lang, error_title(title), "error", v, 3);
}

void
portal_error_status(void *ctx, struct http_request *rq, int status)
{
	struct server *srv = ctx;
	const char *title = status == 404   ? N_("Page not found")
			    : status == 413 ? N_("The request was too large")
			    : status == 405 ? N_("This page cannot be used that way")
					    : N_("The request was not valid");

	portal_error(srv, rq, status, portal_lang(srv, rq, NULL), title,
		N_("Go back to the site you came from and try again."));
}

void
portal_static(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *path = http_path(rq);

	if (strcmp(path, "/static/sleutel.css") == 0)
		http_send_static(rq, "text/css; charset=utf-8", srv->sv_css, srv->sv_css_len);
	else if (strcmp(path, "/static/wait.js") == 0)
		http_send_static(rq, "text/javascript; charset=utf-8", srv->sv_wait_js, srv->sv_wait_js_len);
	else
		portal_error_status(srv, rq, 404);
}

void
portal_logout_confirm(struct server *srv, struct http_request *rq, const char *rp_name, const char *client_id)
{
	char *csrf = oidc_csrf_token(srv, rq, "logout");
	struct tmpl_var v[7];
	int lang = portal_lang(srv, rq, http_param(rq, "ui_locales")); /* RP-Initiated Logout §2 */

	v[0] = (struct tmpl_var){ "csrf", csrf ? csrf : "" };
	v[1] = (struct tmpl_var){ "rp", rp_name ? rp_name : "" };
	v[2] = (struct tmpl_var){ "client_id", client_id };
	v[3] = (struct tmpl_var){ "post_logout_redirect_uri", http_param(rq, "post_logout_redirect_uri") };
	v[4] = (struct tmpl_var){ "state", http_param(rq, "state") };
	v[5] = (struct tmpl_var){ "langcode", config_languages[lang] };
	v[6] = (struct tmpl_var){ "nrp", rp_name ? "" : "1" };
	portal_page(srv, rq, 200, lang, N_("Log out"), "logout", v, 7);
	free(csrf);
}

void
portal_logged_out(struct server *srv, struct http_request *rq)
{
	portal_page(srv, rq, 200, portal_lang(srv, rq, http_param(rq, "ui_locales")), N_("You are logged out"),
		"logged_out", NULL, 0);
}
