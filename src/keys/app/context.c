/*
 * context.c — which browser started a login, coarsely: the browser's
 * family and OS from its User-Agent, and its network (IPv4 /24, IPv6
 * /48).  The app shows it beside the RP's name ("requested from Chrome on
 * Linux (203.0.113.x)") so that a person who scanned a QR code relayed to
 * a phishing page sees that the login is not the one on their screen.
 *
 * Coarse on purpose: the phone learns no full address and no version
 * string, only what a person can recognise.  Names come from fixed tables;
 * an unknown browser's first product token is kept only when it is short
 * readable ASCII (APP_CTX_NAME_MAX), so a hostile User-Agent cannot put a
 * sentence of its choice in front of the person.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "request_int.h"

struct ua_name {
	const char *un_token; /* a substring of the User-Agent */
	const char *un_name;
};

/* First match wins: Edge and Opera also say "Chrome/", Chrome also says
 * "Safari/", Android also says "Linux". */
static const struct ua_name browsers[] = {
	{ "Edg/", "Edge" },
	{ "EdgA/", "Edge" },
	{ "EdgiOS/", "Edge" },
	{ "OPR/", "Opera" },
	{ "SamsungBrowser/", "Samsung Internet" },
	{ "Firefox/", "Firefox" },
	{ "FxiOS/", "Firefox" },
	{ "Chromium/", "Chromium" },
	{ "CriOS/", "Chrome" },
	{ "Chrome/", "Chrome" },
	{ "Safari/", "Safari" },
};

static const struct ua_name systems[] = {
	{ "Windows", "Windows" },
	{ "Android", "Android" },
	{ "iPhone", "iOS" },
	{ "iPad", "iPadOS" },
	{ "Mac OS X", "macOS" },
	{ "Macintosh", "macOS" },
	{ "CrOS", "ChromeOS" },
	{ "Linux", "Linux" },
	{ "FreeBSD", "FreeBSD" },
	{ "OpenBSD", "OpenBSD" },
};

static const char *
lookup(const char *ua, const struct ua_name *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(ua, t[i].un_token) != NULL)
			return t[i].un_name;
	return NULL;
}

/* An unknown client's own name ("curl/8.5" → "curl"), cut at
 * APP_CTX_NAME_MAX bytes; "" when it is not plain ASCII or is "Mozilla". */
static void
product_name(const char *ua, char *out, size_t len)
{
	size_t n = strcspn(ua, "/ ;()");

	out[0] = '\0';
	if (n == 0 || strncmp(ua, "Mozilla", n) == 0)
		return;
	if (n > APP_CTX_NAME_MAX)
		n = APP_CTX_NAME_MAX;
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		if (!(ua[i] >= '!' && ua[i] <= '~'))
			return;
	memcpy(out, ua, n);
	out[n] = '\0';
}

void
app_context_browser(const char *ua, char *browser, size_t blen, char *os, size_t olen)
{
	const char *b = NULL, *o = NULL;

	browser[0] = '\0';
	os[0] = '\0';
	if (ua == NULL || strlen(ua) > APP_UA_MAX)
		return;
	b = lookup(ua, browsers, sizeof(browsers) / sizeof(browsers[0]));
	o = lookup(ua, systems, sizeof(systems) / sizeof(systems[0]));
	if (b != NULL)
		sl_strlcpy(browser, b, blen);
	else
		product_name(ua, browser, blen);
	if (o != NULL)
		sl_strlcpy(os, o, olen);
}

void
app_context_network(const char *ip, char *out, size_t len)
{
	unsigned char a[16];

	out[0] = '\0';
	if (ip == NULL)
		return;
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, len, "%u.%u.%u.x", a[0], a[1], a[2]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
			snprintf(out, len, "%u.%u.%u.x", a[12], a[13], a[14]);
		else
			snprintf(out, len, "%x:%x:%x::/48", (unsigned)(a[0] << 8 | a[1]), (unsigned)(a[2] << 8 | a[3]),
				(unsigned)(a[4] << 8 | a[5]));
	}
}

char *
app_context_json(const char *ua, const char *ip)
{
	char browser[APP_CTX_NAME_MAX + 1], os[APP_CTX_NAME_MAX + 1], net[APP_CTX_NET_MAX];
	json_t *o;
	char *s;

	app_context_browser(ua, browser, sizeof(browser), os, sizeof(os));
	app_context_network(ip, net, sizeof(net));
	o = json_pack("{s:s,s:s,s:s}", "browser", browser, "os", os, "network", net);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return s;
}

json_t *
app_context_object(const char *context)
{
	json_t *o = context ? json_loads(context, 0, NULL) : NULL;
	const char *keys[] = { "browser", "os", "network" };

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	/* Stored by this server, but shown to a person: check it again. */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = json_string_value(json_object_get(o, keys[i]));
		if (v == NULL || (v[0] != '\0' && !oidc_text_readable(v, APP_CTX_NET_MAX))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
