/* test_sid_bind.c — the pure pieces of a Smart-ID login (sid_bind.c): the
 * national register number as a person types it, the binding hash of a
 * request (a vector computed independently from docs/smartid-api.md), its
 * sensitivity to every field and to where fields split, and the
 * verification code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/splitkey/sid_login_int.h"

static void
rrn_is(const char *typed, const char *want)
{
	char out[SID_RRN_LEN + 1];
	int rc;

	memset(out, 'x', sizeof(out));
	rc = sid_rrn_normalize(typed, out);
	if (want == NULL) {
		assert_int_equal(rc, SL_EINVAL);
		assert_string_equal(out, "");
	} else {
		assert_int_equal(rc, SL_OK);
		assert_string_equal(out, want);
	}
}

static void
test_rrn(void **state)
{
	(void)state;
	rrn_is("85073003328", "85073003328");
	rrn_is("85.07.30-033.28", "85073003328");
	rrn_is(" 850730 033 28 ", "85073003328");
	rrn_is("85-07-30.033-28", "85073003328");
	rrn_is("85073003329", NULL); /* check digits */
	rrn_is("8507300332", NULL); /* 10 digits */
	rrn_is("850730033280", NULL); /* 12 digits */
	rrn_is("85O73003328", NULL); /* a letter */
	rrn_is("85/07/30 033 28", NULL); /* another separator */
	rrn_is("85073003328\n", NULL);
	rrn_is("8 5 0 7 3 0 0 3 3 2 8 . . . . . .", NULL); /* past SID_RRN_INPUT_MAX */
	rrn_is("", NULL);
	rrn_is(NULL, NULL);
}

static const struct sid_bind vector = { "rq1", "client", "Mijn gezondheid", "login", "Log in to Mijn gezondheid",
	"bm9uY2U" };

static void
hex(const uint8_t *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void
test_bind_vector(void **state)
{
	uint8_t h[SL_SHA256_LEN];
	char x[2 * SL_SHA256_LEN + 1], vc[SID_VC_LEN + 1];

	(void)state;
	assert_int_equal(sid_bind_hash(&vector, h), SL_OK);
	hex(h, sizeof(h), x);
	/* python3: sha256(b"".join(len(f).to_bytes(2, "big") + f for f in fields)) */
	assert_string_equal(x, "3e88f82f60dfd9df74e2636201658e565f190f47b71dbe9337168ebde10cbff7");
	sid_verification_code(h, sizeof(h), vc);
	assert_string_equal(vc, "8227");
}

static void
test_bind_fields(void **state)
{
	uint8_t base[SL_SHA256_LEN], h[SL_SHA256_LEN];
	struct sid_bind b;
	const char **f[6] = { &b.sb_request_id, &b.sb_rp_id, &b.sb_rp_name, &b.sb_action, &b.sb_display_text,
		&b.sb_nonce };

	(void)state;
	assert_int_equal(sid_bind_hash(&vector, base), SL_OK);
	/* Every field counts. */
	for (size_t i = 0; i < 6; i++) {
		b = vector;
		*f[i] = "other";
		assert_int_equal(sid_bind_hash(&b, h), SL_OK);
		assert_memory_not_equal(h, base, sizeof(h));
	}
	/* Where one field ends and the next begins counts too. */
	b = vector;
	b.sb_request_id = "rq1c";
	b.sb_rp_id = "lient";
	assert_int_equal(sid_bind_hash(&b, h), SL_OK);
	assert_memory_not_equal(h, base, sizeof(h));
	/* A missing field is refused. */
	b = vector;
	b.sb_nonce = NULL;
	assert_int_equal(sid_bind_hash(&b, h), SL_EINVAL);
}

static void
test_bind_too_long(void **state)
{
	static char big[SID_BIND_FIELD_MAX + 2];
	uint8_t h[SL_SHA256_LEN];
	struct sid_bind b = vector;

	(void)state;
	memset(big, 'a', SID_BIND_FIELD_MAX);
	big[SID_BIND_FIELD_MAX] = '\0';
	b.sb_rp_name = big;
	assert_int_equal(sid_bind_hash(&b, h), SL_OK); /* exactly the most a 2-byte length holds */
	big[SID_BIND_FIELD_MAX] = 'a';
	big[SID_BIND_FIELD_MAX + 1] = '\0';
	assert_int_equal(sid_bind_hash(&b, h), SL_ETOOBIG);
}

static void
test_code(void **state)
{
	uint8_t zero[SL_SHA256_LEN] = { 0 };
	char vc[SID_VC_LEN + 1];

	(void)state;
	/* SHA-256 of 32 zero bytes ends in 0x2925 = 10533: 0533, leading zero kept. */
	sid_verification_code(zero, sizeof(zero), vc);
	assert_string_equal(vc, "0533");
	/* Smart-ID's published vector: the hash SHA-256("Hello World!") shows 7712. */
	{
		uint8_t h[SL_SHA256_LEN];
		assert_int_equal(crypto_sha256("Hello World!", 12, h), SL_OK);
		sid_verification_code(h, sizeof(h), vc);
		assert_string_equal(vc, "7712");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrn),
		cmocka_unit_test(test_bind_vector),
		cmocka_unit_test(test_bind_fields),
		cmocka_unit_test(test_bind_too_long),
		cmocka_unit_test(test_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
