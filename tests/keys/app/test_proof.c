/* test_proof.c — device proofs without the daemon: app_proof_verify() and
 * the thumbprint/JWK checks, each refusal on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/app/device_int.h"

#define HTU "https://sleutel.test/device/v1/requests"
#define NOW 1800000000
#define WINDOW 60

struct fixture {
	struct jose_key *key;
	json_t *jwk; /* public: kty, crv, x, y */
	char jkt[APP_JKT_LEN + 1];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct jose_key *tmp = jose_key_generate("ES256", "tmp", NULL);
	json_t *pub = jose_key_public_jwk(tmp);

	fx->jwk = json_pack("{s:s,s:s,s:O,s:O}", "kty", "EC", "crv", "P-256", "x", json_object_get(pub, "x"), "y",
		json_object_get(pub, "y"));
	assert_int_equal(app_jwk_thumbprint(fx->jwk, fx->jkt, NULL), SL_OK);
	/* The same key again, now with its thumbprint as kid. */
	{
		char *pem = jose_key_private_pem(tmp);
		fx->key = jose_key_from_pem(pem, "ES256", fx->jkt, NULL);
		free(pem);
	}
	assert_non_null(fx->key);
	json_decref(pub);
	jose_key_free(tmp);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	jose_key_free(fx->key);
	json_decref(fx->jwk);
	free(fx);
	return 0;
}

static char *
make(struct fixture *fx, const char *typ, const char *htm, const char *htu, json_int_t iat, const char *jti)
{
	json_t *c = json_object();
	char *s;

	if (htm)
		json_object_set_new(c, "htm", json_string(htm));
	if (htu)
		json_object_set_new(c, "htu", json_string(htu));
	if (iat)
		json_object_set_new(c, "iat", json_integer(iat));
	if (jti)
		json_object_set_new(c, "jti", json_string(jti));
	s = jose_sign(fx->key, c, typ, NULL);
	json_decref(c);
	return s;
}

static int
check(struct fixture *fx, const char *proof)
{
	struct app_proof out;
	struct sl_err err = { 0 };

	return app_proof_verify(proof, fx->jwk, "GET", HTU, NOW, WINDOW, &out, &err);
}

static void
test_good(void **state)
{
	struct fixture *fx = *state;
	char *p = make(fx, "dpop+jwt", "GET", HTU, NOW - 5, "abcdefghijklmnop");
	struct app_proof out;
	char kid[APP_JKT_LEN + 1];

	assert_int_equal(app_proof_verify(p, fx->jwk, "GET", HTU, NOW, WINDOW, &out, NULL), SL_OK);
	assert_string_equal(out.ap_jkt, fx->jkt);
	assert_string_equal(out.ap_jti, "abcdefghijklmnop");
	assert_int_equal(out.ap_iat, NOW - 5);
	assert_int_equal(app_proof_kid(p, kid), SL_OK);
	assert_string_equal(kid, fx->jkt);
	/* The edges of the window are inside it. */
	free(p);
	p = make(fx, "dpop+jwt", "GET", HTU, NOW + WINDOW, "abcdefghijklmnop");
	assert_int_equal(check(fx, p), SL_OK);
	free(p);
	p = make(fx, "dpop+jwt", "GET", HTU, NOW - WINDOW,
		"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ");
	assert_int_equal(check(fx, p), SL_OK);
	free(p);
}

static void
test_refused(void **state)
{
	struct fixture *fx = *state;
	const char *jti = "abcdefghijklmnop";
	char *p[] = {
		make(fx, "jwt", "GET", HTU, NOW, jti),
		make(fx, NULL, "GET", HTU, NOW, jti),
		make(fx, "dpop+jwt", "POST", HTU, NOW, jti),
		make(fx, "dpop+jwt", "get", HTU, NOW, jti),
		make(fx, "dpop+jwt", NULL, HTU, NOW, jti),
		make(fx, "dpop+jwt", "GET", HTU "/x", NOW, jti),
		make(fx, "dpop+jwt", "GET", "https://other.test/device/v1/requests", NOW, jti),
		make(fx, "dpop+jwt", "GET", HTU "?a=b", NOW, jti),
		make(fx, "dpop+jwt", "GET", NULL, NOW, jti),
		make(fx, "dpop+jwt", "GET", HTU, NOW - WINDOW - 1, jti),
		make(fx, "dpop+jwt", "GET", HTU, NOW + WINDOW + 1, jti),
		make(fx, "dpop+jwt", "GET", HTU, 0, jti),
		make(fx, "dpop+jwt", "GET", HTU, NOW, NULL),
		make(fx, "dpop+jwt", "GET", HTU, NOW, "short"),
		make(fx, "dpop+jwt", "GET", HTU, NOW, "abcdefghijklmno="),
		make(fx, "dpop+jwt", "GET", HTU, NOW,
			"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFGHIJKLMNOPQRSTUVWXYZ0"),
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		assert_non_null(p[i]);
		if (check(fx, p[i]) == SL_OK)
			fail_msg("proof %zu accepted", i);
		free(p[i]);
	}
}

static void
test_wrong_key(void **state)
{
	struct fixture *fx = *state;
	struct jose_key *other = jose_key_generate("ES256", fx->jkt, NULL); /* same kid, another key */
	struct jose_key *named = jose_key_generate("ES256", "someone-else", NULL);
	json_t *c = json_pack(
		"{s:s,s:s,s:I,s:s}", "htm", "GET", "htu", HTU, "iat", (json_int_t)NOW, "jti", "abcdefghijklmnop");
	json_t *iat_str = json_pack(
		"{s:s,s:s,s:s,s:s}", "htm", "GET", "htu", HTU, "iat", "1800000000", "jti", "abcdefghijklmnop");
	char *a, *b, *own, *tampered, *d;

	assert_non_null(other);
	assert_non_null(named);
	a = jose_sign(other, c, "dpop+jwt", NULL);
	b = jose_sign(named, c, "dpop+jwt", NULL);
	own = jose_sign(fx->key, c, "dpop+jwt", NULL);
	d = jose_sign(fx->key, iat_str, "dpop+jwt", NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(own);
	assert_non_null(d);
	tampered = strdup(own);
	assert_int_equal(check(fx, a), SL_EDENIED);
	assert_int_equal(check(fx, b), SL_EDENIED);
	assert_int_equal(check(fx, d), SL_EDENIED);
	assert_int_equal(check(fx, own), SL_OK);
	tampered[strlen(tampered) - 3] ^= 1;
	assert_int_not_equal(check(fx, tampered), SL_OK);
	assert_int_not_equal(check(fx, "not.a.jws"), SL_OK);
	assert_int_not_equal(check(fx, ""), SL_OK);
	assert_int_not_equal(check(fx, NULL), SL_OK);
	{
		char big[APP_PROOF_MAX + 2];
		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(check(fx, big), SL_ETOOBIG);
	}
	json_decref(c);
	json_decref(iat_str);
	free(a);
	free(b);
	free(d);
	free(own);
	free(tampered);
	jose_key_free(other);
	jose_key_free(named);
}

static void
test_jwk_checks(void **state)
{
	struct fixture *fx = *state;
	char jkt[APP_JKT_LEN + 1];
	uint8_t pt[P256_PUB_LEN];
	json_t *j;

	/* Order and extra members do not change the thumbprint. */
	j = json_deep_copy(fx->jwk);
	json_object_set_new(j, "kid", json_string("whatever"));
	json_object_set_new(j, "use", json_string("sig"));
	assert_int_equal(app_jwk_thumbprint(j, jkt, NULL), SL_OK);
	assert_string_equal(jkt, fx->jkt);
	/* A private member, another curve, a short coordinate, a point off the curve. */
	json_object_set_new(j, "d", json_string("AAAA"));
	assert_int_equal(app_jwk_thumbprint(j, jkt, NULL), SL_EINVAL);
	json_decref(j);
	j = json_deep_copy(fx->jwk);
	json_object_set_new(j, "crv", json_string("P-384"));
	assert_int_equal(app_jwk_point(j, pt, NULL), SL_EINVAL);
	json_decref(j);
	j = json_deep_copy(fx->jwk);
	json_object_set_new(j, "x", json_string("AAAA"));
	assert_int_equal(app_jwk_point(j, pt, NULL), SL_EINVAL);
	json_decref(j);
	j = json_deep_copy(fx->jwk);
	json_object_set_new(j, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_int_equal(app_jwk_point(j, pt, NULL), SL_EINVAL);
	json_decref(j);
	j = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", "AQAB", "e", "AQAB");
	assert_int_equal(app_jwk_point(j, pt, NULL), SL_EINVAL);
	json_decref(j);
	assert_int_equal(app_jwk_point(NULL, pt, NULL), SL_EINVAL);
	/* A proof verified with a key that is not a P-256 JWK. */
	j = json_pack("{s:s}", "kty", "EC");
	{
		struct app_proof out;
		char *p = make(fx, "dpop+jwt", "GET", HTU, NOW, "abcdefghijklmnop");
		assert_int_not_equal(app_proof_verify(p, j, "GET", HTU, NOW, WINDOW, &out, NULL), SL_OK);
		free(p);
	}
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_jwk_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
