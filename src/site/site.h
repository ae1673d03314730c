/*
 * site — the public site on the portal origin: what sleutel is ("Discover
 * sleutel"), how it keeps people safe, how to get started, the partner
 * sites, and the frequent questions, in nl, fr, de and en.
 *
 * Every page has the language in its path (/nl/, /fr/faq, ...), so a page
 * is the same for everyone who asks for it: it is sent with an ETag and
 * may be kept by caches for SITE_MAX_AGE seconds, and it sets no cookie.
 * "/" sends the browser to the start page in its language (the portal's
 * choice: ?lang=, cookie, Accept-Language, default).  An unknown page
 * is the site's 404 page in the path's language; a language the site does
 * not have matches no route, and a browser gets the portal's 404 page in
 * its own language (an API client, the JSON 404 it always got).
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

/* "/", "/LANG" and the "/LANG/" prefixes (routes.c puts them last). */
extern const struct http_route site_routes[];
extern const size_t site_nroutes;

#endif
