/*
 * lang.c — choosing the language of a page.  Order: an explicit choice on
 * this request (the language switch adds lang=xx), the RP's ui_locales,
 * the cookie the switch set, the browser's Accept-Language, the default.
 */
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

static int
lang_index(const char *tag, size_t len)
{
	/* "nl", "nl-BE", "fr-be": the primary subtag decides. */
	size_t primary = strcspn(tag, "-_");

	if (primary > len)
		primary = len;
	for (int i = 0; i < SL_LANG_COUNT; i++)
		if (primary == 2 && strncasecmp(tag, config_languages[i], 2) == 0)
			return i;
	return -1;
}

int
portal_lang_match(const char *list, bool accept_language)
{
	double best_q = 0;
	int best = -1;
	const char *p = list;

	if (list == NULL)
		return -1;
	while (*p) {
		size_t len;
		double q = 1.0;
		const char *semi;
		int idx;

		while (*p == ' ' || *p == ',')
			p++;
		len = strcspn(p, accept_language ? "," : " ");
		if (len == 0)
			break;
		semi = memchr(p, ';', len);
		if (accept_language && semi != NULL) {
			const char *qs = strstr(semi, "q=");
			if (qs != NULL && qs < p + len)
				q = strtod(qs + 2, NULL);
		}
		idx = lang_index(p, semi ? (size_t)(semi - p) : len);
		if (idx >= 0 && !accept_language)
			return idx; /* ui_locales: first match in order of preference */
		if (idx >= 0 && q > best_q) {
			best_q = q;
			best = idx;
		}
		p += len;
	}
	return best;
}

int
portal_lang(struct server *srv, struct http_request *rq, const char *ui_locales)
{
	const char *explicit = http_param(rq, "lang");
	int i;

	if (explicit != NULL && (i = lang_index(explicit, strlen(explicit))) >= 0 && strlen(explicit) == 2)
		return i;
	if ((i = portal_lang_match(ui_locales, false)) >= 0)
		return i;
	if ((i = portal_lang_match(http_cookie(rq, OIDC_COOKIE_LANG), false)) >= 0)
		return i;
	if ((i = portal_lang_match(http_header(rq, "Accept-Language"), true)) >= 0)
		return i;
	return portal_lang_match(srv->sv_conf->c_default_language, false);
}
