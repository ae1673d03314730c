/* test_ratelimit.c — the app requests' rate limiter (ratelimit.c): fixed
 * windows, counts per key, all-or-none over several keys, a full table
 * refusing new keys (fail closed), and expired windows dropped to make
 * room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/request_int.h"

#define WINDOW 60
#define T0 1800000000LL

static struct app_ratelimit *
table(size_t max)
{
	struct sl_err err;
	struct app_ratelimit *rl = ratelimit_new(max, &err);

	assert_non_null(rl);
	return rl;
}

/* One key, one hit. */
static int
hit1(struct app_ratelimit *rl, const char *key, int limit, int64_t now)
{
	struct ratelimit_check c = { key, limit };
	size_t which = 99;

	return ratelimit_hit(rl, &c, 1, WINDOW, now, &which);
}

static void
test_window(void **state)
{
	struct app_ratelimit *rl = table(100);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + i), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + 3), SL_ETOOBIG);
	/* Still refused up to the last second of the window, which started at
	 * the first request (refusals do not move it). */
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + WINDOW - 1), SL_ETOOBIG);
	/* A new window: the count starts again. */
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + WINDOW), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + WINDOW + 1), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + WINDOW + 2), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470123456", 3, T0 + WINDOW + 3), SL_ETOOBIG);
	assert_int_equal(ratelimit_size(rl), 1);
	ratelimit_free(rl);
}

static void
test_limit_zero_and_one(void **state)
{
	struct app_ratelimit *rl = table(100);

	(void)state;
	assert_int_equal(hit1(rl, "i:127.0.0.1", 1, T0), SL_OK);
	assert_int_equal(hit1(rl, "i:127.0.0.1", 1, T0), SL_ETOOBIG);
	/* A key already in the table with limit 0 is refused. */
	assert_int_equal(hit1(rl, "i:127.0.0.1", 0, T0 + WINDOW), SL_ETOOBIG);
	ratelimit_free(rl);
}

static void
test_keys_apart(void **state)
{
	struct app_ratelimit *rl = table(10000);
	char key[64];

	(void)state;
	/* Each key has its own count; one at its limit does not touch another. */
	assert_int_equal(hit1(rl, "p:+32470000001", 2, T0), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470000001", 2, T0), SL_OK);
	assert_int_equal(hit1(rl, "p:+32470000001", 2, T0), SL_ETOOBIG);
	assert_int_equal(hit1(rl, "p:+32470000002", 2, T0), SL_OK);
	assert_int_equal(hit1(rl, "i:+32470000001", 2, T0), SL_OK); /* same value, other kind */
	/* Many keys, each counted on its own (many share a bucket). */
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "i:10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(hit1(rl, key, 1, T0), SL_OK);
	}
	assert_int_equal(ratelimit_size(rl), 5003);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(key, sizeof(key), "i:10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(hit1(rl, key, 1, T0 + 1), SL_ETOOBIG);
	}
	ratelimit_free(rl);
}

static void
test_all_or_none(void **state)
{
	struct app_ratelimit *rl = table(100);
	size_t which = 99;

	(void)state;
	assert_int_equal(hit1(rl, "i:192.0.2.1", 1, T0), SL_OK);
	/* The IP is at its limit: the phone and RP keys are not counted. */
	struct ratelimit_check c[3] = { { "p:+32470123456", 1 }, { "i:192.0.2.1", 1 }, { "r:client", 1 } };
	assert_int_equal(ratelimit_hit(rl, c, 3, WINDOW, T0, &which), SL_ETOOBIG);
	assert_int_equal(which, 1);
	assert_int_equal(hit1(rl, "p:+32470123456", 1, T0), SL_OK);
	assert_int_equal(hit1(rl, "r:client", 1, T0), SL_OK);
	/* `which` names the first key at its limit. */
	struct ratelimit_check d[2] = { { "p:fresh", 5 }, { "r:client", 1 } };
	assert_int_equal(ratelimit_hit(rl, d, 2, WINDOW, T0, &which), SL_ETOOBIG);
	assert_int_equal(which, 1);
	/* All under their limits: all counted. */
	struct ratelimit_check e[2] = { { "p:a", 1 }, { "p:b", 1 } };
	assert_int_equal(ratelimit_hit(rl, e, 2, WINDOW, T0, &which), SL_OK);
	assert_int_equal(hit1(rl, "p:a", 1, T0), SL_ETOOBIG);
	assert_int_equal(hit1(rl, "p:b", 1, T0), SL_ETOOBIG);
	ratelimit_free(rl);
}

static void
test_refused_arguments(void **state)
{
	struct app_ratelimit *rl = table(100);
	struct ratelimit_check many[9];
	char longkey[APP_RL_KEY_MAX + 1];
	size_t which = 0;

	(void)state;
	for (size_t i = 0; i < 9; i++)
		many[i] = (struct ratelimit_check){ "p:x", 100 };
	assert_int_equal(ratelimit_hit(rl, many, 9, WINDOW, T0, &which), SL_EINVAL);
	assert_int_equal(ratelimit_size(rl), 0);
	memset(longkey, 'k', APP_RL_KEY_MAX);
	longkey[APP_RL_KEY_MAX] = '\0';
	assert_int_equal(hit1(rl, longkey, 1, T0), SL_EINVAL);
	longkey[APP_RL_KEY_MAX - 1] = '\0'; /* the longest key: APP_RL_KEY_MAX with its NUL */
	assert_int_equal(hit1(rl, longkey, 1, T0), SL_OK);
	assert_int_equal(hit1(rl, longkey, 1, T0), SL_ETOOBIG);
	ratelimit_free(rl);
}

static void
test_table_full(void **state)
{
	struct app_ratelimit *rl = table(3);
	size_t which = 0;

	(void)state;
	assert_int_equal(hit1(rl, "p:1", 5, T0), SL_OK);
	assert_int_equal(hit1(rl, "p:2", 5, T0 + 10), SL_OK);
	assert_int_equal(hit1(rl, "p:3", 5, T0 + 20), SL_OK);
	/* Full, nothing expired: a new key is refused (fail closed)... */
	assert_int_equal(hit1(rl, "p:4", 5, T0 + 30), SL_EBUSY);
	assert_int_equal(ratelimit_size(rl), 3);
	/* ...while keys already in the table still count. */
	assert_int_equal(hit1(rl, "p:1", 5, T0 + 30), SL_OK);
	/* A refusal for a full table counts none of the keys of the call. */
	struct ratelimit_check c[2] = { { "p:2", 2 }, { "p:5", 5 } };
	assert_int_equal(ratelimit_hit(rl, c, 2, WINDOW, T0 + 30, &which), SL_EBUSY);
	assert_int_equal(hit1(rl, "p:2", 2, T0 + 30), SL_OK); /* its second: the refused call did not count */
	assert_int_equal(hit1(rl, "p:2", 2, T0 + 30), SL_ETOOBIG);
	ratelimit_free(rl);
}

static void
test_expired_evicted(void **state)
{
	struct app_ratelimit *rl = table(3);
	size_t which = 0;

	(void)state;
	assert_int_equal(hit1(rl, "p:1", 1, T0), SL_OK);
	assert_int_equal(hit1(rl, "p:2", 1, T0 + 10), SL_OK);
	assert_int_equal(hit1(rl, "p:3", 1, T0 + 20), SL_OK);
	/* p:1's window is over at T0 + WINDOW: it is dropped to make room,
	 * the others are kept. */
	assert_int_equal(hit1(rl, "p:4", 1, T0 + WINDOW), SL_OK);
	assert_int_equal(ratelimit_size(rl), 3);
	assert_int_equal(hit1(rl, "p:2", 1, T0 + WINDOW), SL_ETOOBIG);
	assert_int_equal(hit1(rl, "p:3", 1, T0 + WINDOW), SL_ETOOBIG);
	assert_int_equal(hit1(rl, "p:4", 1, T0 + WINDOW), SL_ETOOBIG);
	/* Every window over: all dropped but the new key. */
	assert_int_equal(hit1(rl, "p:1", 1, T0 + 10 * WINDOW), SL_OK);
	assert_int_equal(ratelimit_size(rl), 1);
	/* A key left over from a refused multi-key call (inserted, then the
	 * table filled) counts from zero. */
	assert_int_equal(hit1(rl, "p:x", 1, T0 + 10 * WINDOW), SL_OK);
	struct ratelimit_check c[2] = { { "p:new", 1 }, { "p:newer", 1 } };
	assert_int_equal(ratelimit_hit(rl, c, 2, WINDOW, T0 + 10 * WINDOW, &which), SL_EBUSY);
	assert_int_equal(ratelimit_size(rl), 3);
	assert_int_equal(hit1(rl, "p:new", 1, T0 + 10 * WINDOW), SL_OK);
	ratelimit_free(rl);
}

static void
test_free_null(void **state)
{
	(void)state;
	ratelimit_free(NULL);
}

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
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_limit_zero_and_one),
		cmocka_unit_test(test_keys_apart),
		cmocka_unit_test(test_all_or_none),
		cmocka_unit_test(test_refused_arguments),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_expired_evicted),
		cmocka_unit_test(test_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
