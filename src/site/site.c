/*
 * site.c — the site's pages: which path is which page, the page put in
 * the portal's layout with the site's menu and a language switch that
 * leads to the same page in another language, and the answer (cacheable
 * with an ETag, or a 404 page).
 */
#include <stdlib.h>
#include <string.h>

#include "site_int.h"
#include "../crypto/crypto.h"
#include "../oidc/oidc.h"
#include "../portal/portal.h"

#define SITE_ETAG_BYTES 16 /* of the page's SHA-256 */

struct site_page {
	const char *sp_slug; /* the path after /LANG/ */
	const char *sp_tmpl;
	const char *sp_title; /* msgid: the menu's label and the page's title */
};

static const struct site_page site_pages[] = {
	{ "", "site_home", N_("Discover sleutel") },
	{ "safety", "site_safety", N_("How safe it is") },
	{ "get-started", "site_get_started", N_("Get started") },
	{ "partners", "site_partners", N_("Partner sites") },
	{ "faq", "site_faq", N_("Frequently asked questions") },
};
#define SITE_NPAGES (sizeof(site_pages) / sizeof(site_pages[0]))

static const struct site_page site_not_found = { NULL, "site_not_found", N_("Page not found") };

/* The menu: one link per page, the current one marked. */
static int
site_menu(const struct i18n_catalog *cat, int lang, const struct site_page *cur, struct sl_buf *out)
{
	for (size_t i = 0; i < SITE_NPAGES; i++) {
		const struct site_page *p = &site_pages[i];
		if (sl_buf_addf(out, "<li><a href=\"/%s/%s\"%s>", config_languages[lang], p->sp_slug,
			    p == cur ? " aria-current=\"page\"" : "") != SL_OK ||
			html_escape(out, i18n_gettext(cat, p->sp_title)) != SL_OK ||
			sl_buf_adds(out, "</a></li>") != SL_OK)
			return SL_ETOOBIG;
	}
	return SL_OK;
}

/* The language switch: this page in each language (the start page from a
 * page that does not exist). */
static int
site_langs(int lang, const struct site_page *cur, struct sl_buf *out)
{
	static const char *const names[SL_LANG_COUNT] = { "Nederlands", "Français", "Deutsch", "English" };
	const char *slug = cur->sp_slug ? cur->sp_slug : "";

	for (int i = 0; i < SL_LANG_COUNT; i++) {
		const char *code = config_languages[i];
		if (sl_buf_addf(out, "<li><a lang=\"%s\" hreflang=\"%s\" href=\"/%s/%s\"%s>%s</a></li>", code, code,
			    code, slug, i == lang ? " aria-current=\"true\"" : "", names[i]) != SL_OK)
			return SL_ETOOBIG;
	}
	return SL_OK;
}

/* Minutes of a lifetime in seconds, rounded up ("3" for 180). */
static void
site_minutes(int seconds, char out[16])
{
	snprintf(out, 16, "%d", (seconds + 59) / 60);
}

/* The page's own content: its template, with the partner list on the
 * Partners page, and the limits the texts name as configured here. */
static int
site_content(struct server *srv, int lang, const struct site_page *pg, struct sl_buf *out)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	const struct sl_config *cf = srv->sv_conf;
	char sms[16], tries[16], enrol[16], login[16], sid[16];
	struct sl_buf partners;
	int count = 0, rc = SL_OK;

	site_minutes(cf->c_app_sms_code_lifetime, sms);
	snprintf(tries, sizeof(tries), "%d", cf->c_app_sms_attempts);
	site_minutes(cf->c_app_enrollment_lifetime, enrol);
	site_minutes(cf->c_app_request_lifetime, login);
	site_minutes(cf->c_sid_registration_lifetime, sid);
	sl_buf_init(&partners, PORTAL_MAX_PAGE);
	if (strcmp(pg->sp_tmpl, "site_partners") == 0)
		rc = site_partners_html(srv, cat, &partners, &count);
	if (rc == SL_OK) {
		const struct tmpl_var v[] = { { "lang", config_languages[lang] }, { "partners", sl_buf_str(&partners) },
			{ "nopartners", count == 0 ? "1" : "" }, { "sms_minutes", sms }, { "sms_tries", tries },
			{ "enrol_minutes", enrol }, { "login_minutes", login }, { "sid_minutes", sid } };
		rc = tmpl_render(srv->sv_templates, pg->sp_tmpl, cat, v, sizeof(v) / sizeof(v[0]), out);
	}
	sl_buf_reset(&partners);
	return rc;
}

/* The whole page: content, menu and switch in the portal's layout. */
static int
site_render(struct server *srv, int lang, const struct site_page *pg, struct sl_buf *page)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	struct sl_buf body, menu, langs;
	int rc;

	sl_buf_init(&body, PORTAL_MAX_PAGE);
	sl_buf_init(&menu, 4096);
	sl_buf_init(&langs, 4096);
	rc = site_content(srv, lang, pg, &body);
	if (rc == SL_OK)
		rc = site_menu(cat, lang, pg, &menu);
	if (rc == SL_OK)
		rc = site_langs(lang, pg, &langs);
	if (rc == SL_OK) {
		const struct tmpl_var v[] = { { "lang", config_languages[lang] },
			{ "title", i18n_gettext(cat, pg->sp_title) }, { "content", sl_buf_str(&body) },
			{ "langnav", sl_buf_str(&langs) }, { "sitenav", sl_buf_str(&menu) } };
		rc = tmpl_render(srv->sv_templates, "layout", cat, v, sizeof(v) / sizeof(v[0]), page);
	}
	sl_buf_reset(&body);
	sl_buf_reset(&menu);
	sl_buf_reset(&langs);
	return rc;
}

/* The same bytes, the same tag: the page's hash, quoted. */
static void
site_etag(const struct sl_buf *page, char out[2 * SITE_ETAG_BYTES + 3])
{
	uint8_t h[SL_SHA256_LEN];

	crypto_sha256(page->b_data, page->b_len, h);
	out[0] = '"';
	sl_hex(h, SITE_ETAG_BYTES, out + 1);
	out[2 * SITE_ETAG_BYTES + 1] = '"';
	out[2 * SITE_ETAG_BYTES + 2] = '\0';
}

static void
site_send(struct server *srv, struct http_request *rq, int lang, const struct site_page *pg)
{
	struct sl_buf page;
	int rc;

	sl_buf_init(&page, PORTAL_MAX_PAGE);
	rc = site_render(srv, lang, pg, &page);
	if (rc == SL_ESTORE || rc == SL_EBUSY) {
		sl_buf_reset(&page);
		portal_error(srv, rq, 503, lang, N_("sleutel is busy, please try again in a moment"), NULL);
		return;
	}
	if (rc != SL_OK) {
		log_error("cannot render the site's %s: %s", pg->sp_tmpl, sl_strerror(rc));
		sl_buf_reset(&page);
		http_send_text(rq, 500, "text/plain; charset=utf-8", "Internal error");
		return;
	}
	http_add_header(rq, "Content-Language", config_languages[lang]);
	if (pg == &site_not_found) {
		http_send_html(rq, 404, sl_buf_take(&page));
	} else {
		char etag[2 * SITE_ETAG_BYTES + 3];
		size_t len = page.b_len;
		site_etag(&page, etag);
		http_send_cached(rq, "text/html; charset=utf-8", sl_buf_take(&page), len, etag, SITE_MAX_AGE);
	}
}

/* "/": the start page in the language the portal would choose; a choice
 * made with ?lang= is remembered as the switch on other pages does. */
static void
site_root(struct server *srv, struct http_request *rq)
{
	int lang = portal_lang(srv, rq, NULL);
	const char *explicit = http_param(rq, "lang");
	char where[16];

	if (explicit != NULL && strcmp(explicit, config_languages[lang]) == 0) {
		char cookie[128];
		snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000",
			OIDC_COOKIE_LANG, config_languages[lang]);
		http_add_header(rq, "Set-Cookie", cookie);
	}
	snprintf(where, sizeof(where), "/%s/", config_languages[lang]);
	http_send_redirect(rq, 302, where);
}

/* The language a path starts with (its route says it is one of them). */
static int
site_lang_of(const char *path)
{
	for (int i = 0; i < SL_LANG_COUNT; i++)
		if (strncmp(path + 1, config_languages[i], 2) == 0)
			return i;
	return 0;
}

static void
site_serve(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *path = http_path(rq), *slug = path + 4; /* after "/xx/" */
	int lang;

	if (strcmp(path, "/") == 0) {
		site_root(srv, rq);
		return;
	}
	lang = site_lang_of(path);
	if (path[3] == '\0') {
		char where[16];
		snprintf(where, sizeof(where), "/%s/", config_languages[lang]);
		http_send_redirect(rq, 301, where);
		return;
	}
	for (size_t i = 0; i < SITE_NPAGES; i++) {
		if (strcmp(slug, site_pages[i].sp_slug) == 0) {
			site_send(srv, rq, lang, &site_pages[i]);
			return;
		}
	}
	site_send(srv, rq, lang, &site_not_found);
}

#define SITE_GET (HTTP_GET | HTTP_HEAD)
#define SITE_LANG_ROUTES(l)                                                                                            \
	{ "/" l, SITE_GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, site_serve },                                    \
	{                                                                                                              \
		"/" l "/", SITE_GET, HTTP_ORIGIN_PORTAL, true, HTTP_KIND_PAGE, site_serve                              \
	}

/* One pair per language of config_languages; a path in another language
 * matches no route: a browser gets the 404 page in its own language. */
const struct http_route site_routes[] = {
	{ "/", SITE_GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, site_serve },
	SITE_LANG_ROUTES("nl"),
	SITE_LANG_ROUTES("fr"),
	SITE_LANG_ROUTES("de"),
	SITE_LANG_ROUTES("en"),
};
const size_t site_nroutes = sizeof(site_routes) / sizeof(site_routes[0]);
