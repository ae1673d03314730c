/* test_ratelimit.c — the keys the app requests' rate limits count under
 * (ratelimit.c).  The counting is the store's (store_rate_hit), tested in
 * tests/store/test_limits.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/request_int.h"

/* IPv4 as is; IPv6 by the /56 a subscriber gets; never longer than asked. */
static void
test_ip_key(void **state)
{
	char out[64];

	(void)state;
	app_rate_ip_key("192.0.2.7", out, sizeof(out));
	assert_string_equal(out, "192.0.2.7");
	app_rate_ip_key("2001:db8:1:2ff:aaaa:bbbb:cccc:dddd", out, sizeof(out));
	assert_string_equal(out, "2001:db8:1:200::/56");
	app_rate_ip_key("2001:db8:1:2aa::1", out, sizeof(out));
	assert_string_equal(out, "2001:db8:1:200::/56");
	app_rate_ip_key("::1", out, sizeof(out));
	assert_string_equal(out, "::/56");
	app_rate_ip_key("not:an:address", out, sizeof(out));
	assert_string_equal(out, "not:an:address");
	app_rate_ip_key(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	app_rate_ip_key("2001:db8:1:2ff::1", out, 8);
	assert_int_equal(strlen(out), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
