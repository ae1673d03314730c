/*
 * site — the public site on the portal origin: what sleutel is ("Discover
 * sleutel"), how it keeps people safe, how to get started, the partner
 * sites, and the frequent questions, in nl, fr, de and en.
 *
 * Every page has the language in its path (/nl/, /fr/faq, ...), so a page
 * is the same for everyone who asks for it: it is sent with an ETag and
 * may be kept by caches for SITE_MAX_AGE seconds, and it sets no cookie.
 * "/" sends the browser to the start page in its language (the portal's
 * choice: ?lang=, cookie, Accept-Language, default).  A path whose first
 * segment is two letters is the site's: an unknown page or language is a
 * 404 page in the page's (or the browser's) language.  Every other path
 * no route serves is still the JSON 404 an API client expects.
 *
 * The texts are the templates data/templates/site_*.html and their
 * translations in po/LANG.po; the Partners page lists the clients an
 * operator opted in (`sleutel client update ID --partner-url URL`).
 */
#ifndef SL_SITE_H
#define SL_SITE_H

#include "../http/http.h"

#define SITE_MAX_AGE 300 /* seconds a cache may keep a page before asking again */
#define SITE_PARTNERS_MAX 100 /* partner sites listed on the page, oldest first */

/* The catch-all route table: after every other table (routes.c). */
extern const struct http_route site_routes[];
extern const size_t site_nroutes;

#endif
