/* test_phone.c — app_phone_normalize(): Belgian numbers typed every way,
 * international prefixes, foreign numbers, and everything that must be
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/app.h"

static void
ok(const char *in, const char *cc, const char *want)
{
	char out[APP_PHONE_MAX];

	if (app_phone_normalize(in, cc, out) != SL_OK)
		fail_msg("refused \"%s\"", in);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, out, want);
}

static void
bad(const char *in, const char *cc)
{
	char out[APP_PHONE_MAX] = "x";

	if (app_phone_normalize(in, cc, out) != SL_EINVAL)
		fail_msg("accepted \"%s\" as \"%s\"", in ? in : "(null)", out);
	assert_string_equal(out, "");
}

static void
test_belgian_mobile(void **state)
{
	(void)state;
	const char *ways[] = { "0470123456", "0470 12 34 56", "0470/12.34.56", "0470-12-34-56", "(0470) 12 34 56",
		"470123456", "470 12 34 56", "+32470123456", "+32 470 12 34 56", "+32 (0)470 12 34 56",
		"+32(0)470123456", "0032470123456", "0032 470 12 34 56", "0032 (0)470 12 34 56", " 0470 12 34 56 ",
		"+32.470.12.34.56" };

	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		ok(ways[i], "32", "+32470123456");
	ok("0499 99 99 99", "32", "+32499999999");
}

static void
test_belgian_landline(void **state)
{
	(void)state;
	ok("02 123 45 67", "32", "+3221234567");
	ok("02/123.45.67", "32", "+3221234567");
	ok("+32 2 123 45 67", "32", "+3221234567");
	ok("09 123 45 67", "32", "+3291234567");
	ok("04 123 45 67", "32", "+3241234567"); /* Liège: 8 digits starting with 4 */
}

static void
test_foreign(void **state)
{
	(void)state;
	ok("+31 6 12345678", "32", "+31612345678");
	ok("0031612345678", "32", "+31612345678");
	ok("+33 6 12 34 56 78", "32", "+33612345678");
	ok("0049 151 23456789", "32", "+4915123456789");
	ok("+1 (415) 555-2671", "32", "+14155552671");
	ok("+352 621 123 456", "32", "+352621123456");
	/* Another default country code. */
	ok("06 12345678", "31", "+31612345678");
	ok("0470 12 34 56", "31", "+31470123456");
}

static void
test_refused(void **state)
{
	(void)state;
	const char *nos[] = { "", " ", "abc", "0470 12 34 5x", "+", "00", "++32470123456", "+32 470 12 34 56+",
		"0470\t123456", "0470\n123456", "+32 0470 12 34 56", /* trunk 0 after the country code */
		"04701234567", /* 10 national digits in Belgium */
		"+3247012345678", "+32 1234567", /* 7 national digits */
		"+0470123456", "000032470123456", "12 34", "+1234567", /* 7 digits */
		"+1234567890123456", /* 16 digits */
		"0470 12 34 56 #", "0470;123456", "+32 470 12 34 56 ext 1", "tel:+32470123456",
		("\xc2\xa0"
		 "0470123456"), /* a no-break space first */
		"0470１23456", /* a full-width digit */
		"0470 12 34 56 (1)", "+32 5123 4567 8" };

	for (size_t i = 0; i < sizeof(nos) / sizeof(nos[0]); i++)
		bad(nos[i], "32");
	bad(NULL, "32");
	bad("0470123456", NULL);
}

static void
test_limits(void **state)
{
	char in[200];
	(void)state;

	/* 64 bytes of input are read; separators count. */
	memset(in, ' ', sizeof(in));
	memcpy(in, "0470123456", 10);
	in[64] = '\0';
	ok(in, "32", "+32470123456");
	in[65] = '\0';
	in[64] = ' ';
	bad(in, "32");
	/* E.164 allows 15 digits after "+"; what fits in APP_PHONE_MAX (with
	 * "+" and NUL) is accepted, one more digit never, and never truncated. */
	{
		char num[40] = "+", want[40];
		size_t most = APP_PHONE_MAX - 2 < 15 ? APP_PHONE_MAX - 2 : 15;
		for (size_t i = 1; i <= most; i++)
			num[i] = (char)('1' + i % 9);
		num[most + 1] = '\0';
		strcpy(want, num);
		ok(num, "32", want);
		num[most + 1] = '5';
		num[most + 2] = '\0';
		bad(num, "32");
	}
	ok("+12345678", "32", "+12345678");
	bad("+1234567890123456", "32");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_belgian_mobile),
		cmocka_unit_test(test_belgian_landline),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
