/* test_display.c — the text the phone shows and the confirmation signs
 * (display.c): the login sentence in the four languages, payments (amount
 * and currency the way each language writes them, the IBAN in groups of
 * four), the CIBA binding message on its own line, and the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/request_int.h"

enum { NL, FR, DE, EN };

static const char *const langs[] = { "nl", "fr", "de", "en" };

static struct oidc_payment
payment(int64_t cents, const char *currency, const char *creditor, const char *iban)
{
	struct oidc_payment p;

	memset(&p, 0, sizeof(p));
	p.pm_cents = cents;
	snprintf(p.pm_currency, sizeof(p.pm_currency), "%s", currency);
	snprintf(p.pm_creditor, sizeof(p.pm_creditor), "%s", creditor);
	snprintf(p.pm_iban, sizeof(p.pm_iban), "%s", iban);
	return p;
}

static void
text_is(int lang, const char *action, const char *rp, const struct oidc_payment *pay, const char *binding,
	const char *want)
{
	char out[APP_DISPLAY_MAX + 1];
	int rc;

	memset(out, 'x', sizeof(out));
	rc = app_display_text(lang, action, rp, pay, binding, out, sizeof(out));
	if (rc != SL_OK)
		fail_msg("%s/%s: rc %d, want \"%s\"", lang >= 0 && lang < 4 ? langs[lang] : "?", action, rc, want);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\", want \"%s\"", out, want);
}

static void
amount_is(int lang, int64_t cents, const char *currency, const char *want)
{
	struct oidc_payment p = payment(cents, currency, "X", "BE71096123456769");
	char out[64];

	assert_int_equal(app_display_amount(lang, &p, out, sizeof(out)), SL_OK);
	if (strcmp(out, want) != 0)
		fail_msg("%lld %s in %s: \"%s\", want \"%s\"", (long long)cents, currency, langs[lang], out, want);
}

static void
test_login_languages(void **state)
{
	(void)state;
	text_is(NL, "login", "Mijn gezondheid", NULL, NULL, "Inloggen bij Mijn gezondheid");
	text_is(FR, "login", "Mijn gezondheid", NULL, NULL, "Se connecter à Mijn gezondheid");
	text_is(DE, "login", "Mijn gezondheid", NULL, NULL, "Anmelden bei Mijn gezondheid");
	text_is(EN, "login", "Mijn gezondheid", NULL, NULL, "Log in to Mijn gezondheid");
	/* A language index out of range reads as English, never out of bounds. */
	text_is(-1, "login", "RP", NULL, NULL, "Log in to RP");
	text_is(SL_LANG_COUNT, "login", "RP", NULL, NULL, "Log in to RP");
	text_is(1000, "login", "RP", NULL, NULL, "Log in to RP");
	/* The RP's name is taken as it is: UTF-8 passes through. */
	text_is(FR, "login", "Société Générale", NULL, NULL, "Se connecter à Société Générale");
}

static void
test_amounts(void **state)
{
	(void)state;
	amount_is(NL, 1234, "EUR", "EUR 12,34");
	amount_is(FR, 1234, "EUR", "12,34 EUR");
	amount_is(DE, 1234, "EUR", "12,34 EUR");
	amount_is(EN, 1234, "EUR", "EUR 12.34");
	/* Cents always as two digits; whole amounts keep ",00". */
	amount_is(NL, 5, "EUR", "EUR 0,05");
	amount_is(EN, 50, "USD", "USD 0.50");
	amount_is(DE, 100, "CHF", "1,00 CHF");
	amount_is(FR, 1, "EUR", "0,01 EUR");
	/* The largest amount a payment may hold, without thousands separators
	 * (one way to read it, whatever the language). */
	amount_is(NL, OIDC_AMOUNT_MAX_CENTS, "EUR", "EUR 1000000,00");
	amount_is(EN, OIDC_AMOUNT_MAX_CENTS, "GBP", "GBP 1000000.00");
	amount_is(-3, 1234, "EUR", "EUR 12.34");
	{
		struct oidc_payment p = payment(1234, "EUR", "X", "BE71096123456769");
		char small[9]; /* "EUR 12,34" needs 10 */
		assert_int_equal(app_display_amount(NL, &p, small, sizeof(small)), SL_ETOOBIG);
		char fits[10];
		assert_int_equal(app_display_amount(NL, &p, fits, sizeof(fits)), SL_OK);
		assert_string_equal(fits, "EUR 12,34");
	}
}

static void
test_payment_sentences(void **state)
{
	struct oidc_payment p = payment(1234, "EUR", "Apotheek Nova", "BE71096123456769");

	(void)state;
	text_is(NL, "payment", "Mijn gezondheid", &p, NULL,
		"Betaling van EUR 12,34 aan Apotheek Nova (BE71 0961 2345 6769)");
	text_is(FR, "payment", "Mijn gezondheid", &p, NULL,
		"Paiement de 12,34 EUR à Apotheek Nova (BE71 0961 2345 6769)");
	text_is(DE, "payment", "Mijn gezondheid", &p, NULL,
		"Zahlung von 12,34 EUR an Apotheek Nova (BE71 0961 2345 6769)");
	text_is(EN, "payment", "Mijn gezondheid", &p, NULL,
		"Payment of EUR 12.34 to Apotheek Nova (BE71 0961 2345 6769)");
	/* The payment text names no RP: it is about the money. */
	text_is(EN, "payment", NULL, &p, NULL, "Payment of EUR 12.34 to Apotheek Nova (BE71 0961 2345 6769)");
}

static void
test_iban_groups(void **state)
{
	(void)state;
	/* The shortest (Norway, 15) and longest (34) IBANs: the last group is short. */
	struct oidc_payment no = payment(100, "NOK", "Nordbank", "NO9386011117947");
	text_is(EN, "payment", "RP", &no, NULL, "Payment of NOK 1.00 to Nordbank (NO93 8601 1117 947)");
	struct oidc_payment lc = payment(100, "EUR", "Long", "LC55HEMT000100010012001200023015");
	text_is(EN, "payment", "RP", &lc, NULL,
		"Payment of EUR 1.00 to Long (LC55 HEMT 0001 0001 0012 0012 0002 3015)");
	char iban34[OIDC_IBAN_MAX + 1];
	memset(iban34, 'A', OIDC_IBAN_MAX);
	iban34[OIDC_IBAN_MAX] = '\0';
	struct oidc_payment max = payment(100, "EUR", "M", iban34);
	text_is(EN, "payment", "RP", &max, NULL,
		"Payment of EUR 1.00 to M (AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA AA)");
	/* Exactly a multiple of four: no trailing space. */
	struct oidc_payment de = payment(100, "EUR", "D", "DE89370400440532013000");
	text_is(DE, "payment", "RP", &de, NULL, "Zahlung von 1,00 EUR an D (DE89 3704 0044 0532 0130 00)");
	struct oidc_payment x16 = payment(100, "EUR", "B", "BE71096123456769");
	char out[APP_DISPLAY_MAX + 1];
	assert_int_equal(app_display_text(EN, "payment", "RP", &x16, NULL, out, sizeof(out)), SL_OK);
	assert_null(strstr(out, " )"));
}

static void
test_binding_message(void **state)
{
	struct oidc_payment p = payment(1234, "EUR", "Apotheek Nova", "BE71096123456769");
	char out[APP_DISPLAY_MAX + 1], msg[APP_BINDING_MAX + 2];

	(void)state;
	text_is(NL, "login", "Bank", NULL, "W4-K9", "Inloggen bij Bank\nW4-K9");
	text_is(EN, "payment", "Bank", &p, "Kassa 3",
		"Payment of EUR 12.34 to Apotheek Nova (BE71 0961 2345 6769)\nKassa 3");
	/* Empty: no line added. */
	text_is(DE, "login", "Bank", NULL, "", "Anmelden bei Bank");
	/* UTF-8 is fine; control, bidi-override and invisible characters are not. */
	text_is(FR, "login", "Bank", NULL, "Caisse n°3 — 12€", "Se connecter à Bank\nCaisse n°3 — 12€");
	const char *refused[] = { "a\nb", "tab\there", "\x7f",
		("evil\xe2\x80\xae"
		 "gnp"), /* a right-to-left override, then text */
		"zero\xe2\x80\x8bwidth", " lead", "trail ", "\xff\xfe", "\xc3", "bad\xc3(" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (app_binding_ok(refused[i]))
			fail_msg("binding message %zu accepted", i);
		if (app_display_text(NL, "login", "Bank", NULL, refused[i], out, sizeof(out)) != SL_EINVAL)
			fail_msg("display text with binding message %zu not refused", i);
	}
	assert_false(app_binding_ok(NULL));
	assert_false(app_binding_ok(""));
	/* APP_BINDING_MAX bytes exactly; one more is refused. */
	memset(msg, 'a', APP_BINDING_MAX);
	msg[APP_BINDING_MAX] = '\0';
	assert_true(app_binding_ok(msg));
	msg[APP_BINDING_MAX] = 'a';
	msg[APP_BINDING_MAX + 1] = '\0';
	assert_false(app_binding_ok(msg));
	/* The limit is in bytes: 42 euro signs (126 bytes) pass, 43 (129) do not. */
	char euros[3 * 43 + 1] = "";
	for (int i = 0; i < 42; i++)
		strcat(euros, "\xe2\x82\xac");
	assert_true(app_binding_ok(euros));
	strcat(euros, "\xe2\x82\xac");
	assert_false(app_binding_ok(euros));
}

static void
test_refused_inputs(void **state)
{
	struct oidc_payment p = payment(1234, "EUR", "Apotheek Nova", "BE71096123456769");
	char out[APP_DISPLAY_MAX + 1];

	(void)state;
	assert_int_equal(app_display_text(EN, "transfer", "RP", &p, NULL, out, sizeof(out)), SL_EINVAL);
	assert_int_equal(app_display_text(EN, NULL, "RP", &p, NULL, out, sizeof(out)), SL_EINVAL);
	assert_int_equal(app_display_text(EN, "LOGIN", "RP", NULL, NULL, out, sizeof(out)), SL_EINVAL);
	assert_int_equal(app_display_text(EN, "login", NULL, NULL, NULL, out, sizeof(out)), SL_EINVAL);
	assert_int_equal(app_display_text(EN, "payment", "RP", NULL, NULL, out, sizeof(out)), SL_EINVAL);
}

static void
test_bounds(void **state)
{
	static char rp[APP_DISPLAY_MAX * 2], out[APP_DISPLAY_MAX * 2];
	const size_t prefix = strlen("Log in to ");

	(void)state;
	/* Exactly APP_DISPLAY_MAX bytes fit; one more is refused. */
	memset(rp, 'r', APP_DISPLAY_MAX - prefix);
	rp[APP_DISPLAY_MAX - prefix] = '\0';
	assert_int_equal(app_display_text(EN, "login", rp, NULL, NULL, out, APP_DISPLAY_MAX + 1), SL_OK);
	assert_int_equal(strlen(out), APP_DISPLAY_MAX);
	rp[APP_DISPLAY_MAX - prefix] = 'r';
	rp[APP_DISPLAY_MAX - prefix + 1] = '\0';
	assert_int_equal(app_display_text(EN, "login", rp, NULL, NULL, out, APP_DISPLAY_MAX + 1), SL_ETOOBIG);
	/* A bigger buffer does not lift the limit: the text is what the
	 * phone shows, and the phone takes APP_DISPLAY_MAX bytes. */
	assert_int_equal(app_display_text(EN, "login", rp, NULL, NULL, out, sizeof(out)), SL_ETOOBIG);
	/* The binding message counts too (its newline included). */
	rp[APP_DISPLAY_MAX - prefix - 3] = '\0';
	assert_int_equal(app_display_text(EN, "login", rp, NULL, "ab", out, sizeof(out)), SL_OK);
	assert_int_equal(strlen(out), APP_DISPLAY_MAX);
	assert_int_equal(app_display_text(EN, "login", rp, NULL, "abc", out, sizeof(out)), SL_ETOOBIG);
	/* A small buffer is refused, never overrun. */
	char small[16];
	memset(small, 'z', sizeof(small));
	assert_int_equal(app_display_text(EN, "login", "Mijn gezondheid", NULL, NULL, small, 10), SL_ETOOBIG);
	assert_int_equal(small[10], 'z');
	assert_int_equal(app_display_text(EN, "login", "RP", NULL, NULL, small, 13), SL_OK);
	assert_string_equal(small, "Log in to RP");
	assert_int_equal(app_display_text(EN, "login", "RP", NULL, "b", small, 14), SL_ETOOBIG);
	/* The longest payment fits easily: 140 four-byte characters of creditor. */
	struct oidc_payment p = payment(OIDC_AMOUNT_MAX_CENTS, "EUR", "", "LC55HEMT000100010012001200023015");
	for (int i = 0; i < OIDC_CREDITOR_MAX; i++)
		strcat(p.pm_creditor, "\xf0\x9f\x98\x80");
	char bm[APP_BINDING_MAX + 1];
	memset(bm, 'm', APP_BINDING_MAX);
	bm[APP_BINDING_MAX] = '\0';
	for (int lang = 0; lang < SL_LANG_COUNT; lang++)
		assert_int_equal(app_display_text(lang, "payment", "RP", &p, bm, out, sizeof(out)), SL_OK);
}

static void
test_deterministic(void **state)
{
	struct oidc_payment p = payment(99999, "EUR", "Apotheek Nova", "BE71096123456769");
	char a[APP_DISPLAY_MAX + 1], b[APP_DISPLAY_MAX + 1];

	(void)state;
	for (int lang = 0; lang < SL_LANG_COUNT; lang++) {
		memset(a, 1, sizeof(a));
		memset(b, 2, sizeof(b));
		assert_int_equal(app_display_text(lang, "payment", "RP", &p, "x", a, sizeof(a)), SL_OK);
		assert_int_equal(app_display_text(lang, "payment", "RP", &p, "x", b, sizeof(b)), SL_OK);
		assert_string_equal(a, b);
		/* Each language its own sentence. */
		for (int other = 0; other < lang; other++) {
			assert_int_equal(app_display_text(other, "payment", "RP", &p, "x", b, sizeof(b)), SL_OK);
			assert_string_not_equal(a, b);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_languages),
		cmocka_unit_test(test_amounts),
		cmocka_unit_test(test_payment_sentences),
		cmocka_unit_test(test_iban_groups),
		cmocka_unit_test(test_binding_message),
		cmocka_unit_test(test_refused_inputs),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
