/* test_context.c — the coarse context of the browser that started a login
 * (context.c): User-Agent to browser family and OS, an unknown client's
 * name cut at APP_CTX_NAME_MAX, addresses to their /24 or /48, and the
 * stored JSON checked again before the app sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/request_int.h"

static void
ua_is(const char *ua, const char *browser, const char *os)
{
	char b[APP_CTX_NAME_MAX + 1], o[APP_CTX_NAME_MAX + 1];

	app_context_browser(ua, b, sizeof(b), o, sizeof(o));
	if (strcmp(b, browser) != 0 || strcmp(o, os) != 0)
		fail_msg("%s: \"%s\" on \"%s\", want \"%s\" on \"%s\"", ua ? ua : "(null)", b, o, browser, os);
}

static void
test_user_agents(void **state)
{
	(void)state;
	ua_is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Chrome", "Linux");
	ua_is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 "
	      "Safari/537.36",
		"Chrome", "Linux");
	ua_is("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/119.0 Chrome/119.0 "
	      "Safari/537.36",
		"Chromium", "Linux");
	ua_is("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
	      "Safari/537.36 Edg/120.0",
		"Edge", "Windows");
	ua_is("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Windows");
	ua_is("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
	      "Safari/605.1.15",
		"Safari", "macOS");
	ua_is("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	      "Version/17.1 Mobile/15E148 Safari/604.1",
		"Safari", "iOS");
	ua_is("Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
	      "SamsungBrowser/23.0 Chrome/115.0 Mobile Safari/537.36",
		"Samsung Internet", "Android");
	ua_is("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
	      "Safari/537.36 OPR/105.0",
		"Opera", "ChromeOS");
	ua_is("curl/8.5.0", "curl", "");
	ua_is("node", "node", "");
	ua_is("Mozilla/5.0 (compatible)", "", "");
	ua_is("", "", "");
	ua_is(NULL, "", "");
}

static void
test_hostile_agents(void **state)
{
	char ua[APP_UA_MAX + 2];

	(void)state;
	/* An unknown name is cut at APP_CTX_NAME_MAX bytes. */
	ua_is("Averyveryveryveryveryverylongclientnamethatgoeson/1.0", "Averyveryveryveryveryverylongcli", "");
	assert_int_equal(strlen("Averyveryveryveryveryverylongcli"), APP_CTX_NAME_MAX);
	/* Not plain ASCII, or control characters: nothing of it is shown. */
	ua_is("Caf\xc3\xa9/1.0", "", "");
	ua_is("Bad\x01name/1.0", "", "");
	ua_is("Log\xe2\x80\xaeout/1.0", "", "");
	/* Longer than APP_UA_MAX: unknown. */
	memset(ua, 'a', sizeof(ua));
	memcpy(ua, "Firefox/1 ", 10);
	ua[APP_UA_MAX + 1] = '\0';
	ua_is(ua, "", "");
	ua[APP_UA_MAX] = '\0';
	ua_is(ua, "Firefox", "");
}

static void
net_is(const char *ip, const char *want)
{
	char out[APP_CTX_NET_MAX];

	app_context_network(ip, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", ip ? ip : "(null)", out, want);
}

static void
test_networks(void **state)
{
	(void)state;
	net_is("203.0.113.77", "203.0.113.x");
	net_is("127.0.0.1", "127.0.0.x");
	net_is("::ffff:198.51.100.9", "198.51.100.x");
	net_is("2001:db8:1234:5678::1", "2001:db8:1234::/48");
	net_is("2001:db8::1", "2001:db8:0::/48");
	net_is("::1", "0:0:0::/48");
	net_is("fe80::1%eth0", "");
	net_is("not an address", "");
	net_is("203.0.113", "");
	net_is(NULL, "");
}

static void
test_json(void **state)
{
	char *s;
	json_t *o;

	(void)state;
	s = app_context_json("Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", "203.0.113.5");
	assert_non_null(s);
	assert_string_equal(s, "{\"browser\":\"Firefox\",\"network\":\"203.0.113.x\",\"os\":\"Linux\"}");
	o = app_context_object(s);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "browser")), "Firefox");
	json_decref(o);
	free(s);
	/* What is not a readable context is not shown. */
	assert_null(app_context_object(NULL));
	assert_null(app_context_object("[]"));
	assert_null(app_context_object("{\"browser\":\"x\",\"os\":\"y\"}"));
	assert_null(app_context_object("{\"browser\":\"a\\u202eb\",\"os\":\"\",\"network\":\"\"}"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_agents),
		cmocka_unit_test(test_hostile_agents),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
