/* test_qrtoken.c — the rotating token of the portal's QR code (qrtoken.c):
 * taken in its own slot and the next, refused one slot later (expired),
 * in a future slot, with a changed MAC, slot or id, and when malformed or
 * longer than APP_QR_TOKEN_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/request_int.h"

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
#define ID "r3q-Id_0123456789abcdef"
#define SLOT 400000000 /* a slot of 5 s near the year 2033 */

static int
verify(const char *tok, int64_t now_slot, char *id)
{
	return app_qr_token_verify(key, sizeof(key), tok, now_slot, id, APP_QR_ID_MAX + 1);
}

static void
test_slots(void **state)
{
	char id[APP_QR_ID_MAX + 1], *tok = app_qr_token_make(key, sizeof(key), ID, SLOT);

	(void)state;
	assert_non_null(tok);
	assert_true(strncmp(tok, ID ".400000000.", strlen(ID ".400000000.")) == 0);
	assert_int_equal(verify(tok, SLOT, id), SL_OK); /* the current slot */
	assert_string_equal(id, ID);
	assert_int_equal(verify(tok, SLOT + 1, id), SL_OK); /* the previous */
	assert_int_equal(verify(tok, SLOT + APP_QR_SLOTS, id), SL_EEXPIRED); /* older */
	assert_int_equal(verify(tok, SLOT + 1000, id), SL_EEXPIRED);
	assert_int_equal(verify(tok, SLOT - 1, id), SL_EDENIED); /* from the future */
	free(tok);
}

static void
test_slot_clock(void **state)
{
	(void)state;
	assert_int_equal(app_qr_slot(1000, 5), 200);
	assert_int_equal(app_qr_slot(1004, 5), 200);
	assert_int_equal(app_qr_slot(1005, 5), 201);
	assert_int_equal(app_qr_slot(1005, 1), 1005);
	assert_int_equal(app_qr_slot(1005, 0), 0);
	/* Consecutive slots give different tokens. */
	char *a = app_qr_token_make(key, sizeof(key), ID, app_qr_slot(1004, 5));
	char *b = app_qr_token_make(key, sizeof(key), ID, app_qr_slot(1005, 5));
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

/* `tok` with the character at `at` changed. */
static int
verify_changed(const char *tok, size_t at, char to)
{
	char buf[APP_QR_TOKEN_MAX + 64], id[APP_QR_ID_MAX + 1];

	snprintf(buf, sizeof(buf), "%s", tok);
	buf[at] = buf[at] == to ? (char)(to + 1) : to;
	return verify(buf, SLOT, id);
}

static void
test_tampered(void **state)
{
	char *tok = app_qr_token_make(key, sizeof(key), ID, SLOT), id[APP_QR_ID_MAX + 1], buf[256];
	size_t slot_at = strlen(ID) + 1, len = strlen(tok);

	(void)state;
	assert_int_equal(verify_changed(tok, len - 2, 'A'), SL_EDENIED); /* the MAC */
	assert_int_equal(verify_changed(tok, 0, 'x'), SL_EDENIED); /* the id */
	/* An older slot with the MAC of this one: denied, not "expired". */
	assert_int_equal(verify_changed(tok, slot_at + 8, '9'), SL_EDENIED);
	snprintf(buf, sizeof(buf), "%.*s399999999.%s", (int)slot_at, tok, strrchr(tok, '.') + 1);
	assert_int_equal(verify(buf, SLOT, id), SL_EDENIED);
	/* Another key's token. */
	uint8_t other[32] = { 9 };
	char *foreign = app_qr_token_make(other, sizeof(other), ID, SLOT);
	assert_int_equal(verify(foreign, SLOT, id), SL_EDENIED);
	free(foreign);
	/* The same slot spelled with a leading zero: its MAC would match, and
	 * as another text it would pass the single-use record once more. */
	snprintf(buf, sizeof(buf), "%.*s0%s", (int)slot_at, tok, tok + slot_at);
	assert_int_equal(verify(buf, SLOT, id), SL_EINVAL);
	snprintf(buf, sizeof(buf), "%.*s00%s", (int)slot_at, tok, tok + slot_at);
	assert_int_equal(verify(buf, SLOT, id), SL_EINVAL);
	free(tok);
	/* Slot 0 itself is written "0" and is a token. */
	tok = app_qr_token_make(key, sizeof(key), ID, 0);
	assert_int_equal(verify(tok, 0, id), SL_OK);
	free(tok);
}

static void
test_malformed(void **state)
{
	char id[APP_QR_ID_MAX + 1], big[APP_QR_TOKEN_MAX + 2], *tok;
	static const char *const bad[] = { "", "x", ".1.mac", "id.", "id..mac", "id.12a.mac", "id.-1.mac",
		"id.1234567890123.mac", "id.1mac", NULL };

	(void)state;
	for (size_t i = 0; bad[i] != NULL; i++)
		if (verify(bad[i], SLOT, id) != SL_EINVAL)
			fail_msg("\"%s\" is not a token", bad[i]);
	assert_int_equal(verify(NULL, SLOT, id), SL_EINVAL);
	/* Over-long: refused before any MAC is made. */
	tok = app_qr_token_make(key, sizeof(key), ID, SLOT);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 1 - strlen(tok), tok, strlen(tok));
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strlen(big), APP_QR_TOKEN_MAX + 1);
	assert_int_equal(verify(big, SLOT, id), SL_EINVAL);
	/* An id too long for the caller's buffer. */
	assert_int_equal(app_qr_token_verify(key, sizeof(key), tok, SLOT, id, 4), SL_EINVAL);
	free(tok);
	/* Ids a token cannot carry. */
	assert_null(app_qr_token_make(key, sizeof(key), "", SLOT));
	assert_null(app_qr_token_make(key, sizeof(key), "a.b", SLOT));
	memset(big, 'a', APP_QR_ID_MAX + 1);
	big[APP_QR_ID_MAX + 1] = '\0';
	assert_null(app_qr_token_make(key, sizeof(key), big, SLOT));
	big[APP_QR_ID_MAX] = '\0'; /* the longest id still fits in a token */
	tok = app_qr_token_make(key, sizeof(key), big, SLOT);
	assert_non_null(tok);
	assert_true(strlen(tok) <= APP_QR_TOKEN_MAX);
	assert_int_equal(verify(tok, SLOT, id), SL_OK);
	free(tok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_slot_clock),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
