/*
 * test_proofing.c — the pure parts of proofing: the shape of tickets and
 * states ("<enrolment id>.<22 base64url>") and every malformed variant;
 * the proofing state kept in an enrolment (ticket limit, expiry,
 * consumption, the one bank flow with its browser binding); the mapping
 * of a bank's claims to a person (the national number required and
 * checked, names bounded, birth date agreeing); the ID-token claim checks
 * (iss, aud, azp, exp, iat, nonce); the proofing code (shape, alphabet,
 * randomness, what typing forgives) and the proof that waits for it
 * (tries, expiry, single use, replacement).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/proofing/proofing_int.h"

static const struct proof_claim_names names = { "rrn", "given_name", "family_name", "birthdate" };

/* ---- tokens ---- */

static void
token_round_trip(void **state)
{
	char hash[2 * SL_SHA256_LEN + 1], again[2 * SL_SHA256_LEN + 1], id[PROOF_ID_MAX];
	char *t = proof_token_new("abcDEF012-_xyzXYZ98765", hash);
	char *u = proof_token_new("abcDEF012-_xyzXYZ98765", again);

	(void)state;
	assert_non_null(t);
	assert_non_null(u);
	assert_int_equal(strlen(t), 22 + 1 + 22);
	assert_string_not_equal(t, u); /* random each time */
	assert_string_not_equal(hash, again);
	assert_int_equal(proof_token_parse(t, id), SL_OK);
	assert_string_equal(id, "abcDEF012-_xyzXYZ98765");
	crypto_token_hash(t, again);
	assert_string_equal(hash, again);
	free(t);
	free(u);
}

static void
token_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"no-dot-here",
		".AAAAAAAAAAAAAAAAAAAAAA", /* no id */
		"abc.AAAAAAAAAAAAAAAAAAAAA", /* 21 */
		"abc.AAAAAAAAAAAAAAAAAAAAAAA", /* 23 */
		"abc.AAAAAAAAAAAAAAAAAAAAA=", /* padding */
		"a/c.AAAAAAAAAAAAAAAAAAAAAA", /* not base64url in the id */
		"abc.AAAAAAAAAAAAAAAAAAAA.A", /* a second dot */
		"abc.AAAAAAAAAAA AAAAAAAAAA",
		"abc\n.AAAAAAAAAAAAAAAAAAAAAA",
	};
	char id[PROOF_ID_MAX], longid[PROOF_TOKEN_MAX + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(proof_token_parse(bad[i], id), SL_EINVAL);
		assert_string_equal(id, "");
	}
	assert_int_equal(proof_token_parse(NULL, id), SL_EINVAL);
	/* An id of PROOF_ID_MAX characters does not fit. */
	memset(longid, 'a', PROOF_ID_MAX);
	strcpy(longid + PROOF_ID_MAX, ".AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(proof_token_parse(longid, id), SL_EINVAL);
	longid[PROOF_ID_MAX] = '\0';
	assert_null(proof_token_new(longid, (char[2 * SL_SHA256_LEN + 1]){ 0 }));
	memset(longid, 'a', PROOF_ID_MAX - 1);
	strcpy(longid + PROOF_ID_MAX - 1, ".AAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(proof_token_parse(longid, id), SL_OK);
	assert_int_equal(strlen(id), PROOF_ID_MAX - 1);
	assert_int_equal(proof_token_parse("abc.AAAAAAAAAAAAAAAAAAAAAA", id), SL_OK);
}

/* ---- the proofing code ---- */

static void
code_shape(void **state)
{
	char a[PROOF_CODE_SHOWN + 1], b[PROOF_CODE_SHOWN + 1], norm[PROOF_CODE_LEN + 1];
	int seen[256] = { 0 }, distinct = 0;

	(void)state;
	assert_int_equal(proof_code_new(a), SL_OK);
	assert_int_equal(strlen(a), 9);
	assert_int_equal(a[4], '-');
	assert_int_equal(proof_code_normalize(a, norm), SL_OK);
	assert_int_equal(strlen(norm), PROOF_CODE_LEN);
	assert_memory_equal(norm, a, 4);
	assert_memory_equal(norm + 4, a + 5, 4);
	/* Only the unambiguous alphabet, and all of it over many codes. */
	for (int i = 0; i < 400; i++) {
		assert_int_equal(proof_code_new(b), SL_OK);
		assert_string_not_equal(a, b);
		for (int j = 0; j < 9; j++) {
			if (j == 4)
				continue;
			assert_non_null(strchr(PROOF_CODE_ALPHABET, b[j]));
			seen[(unsigned char)b[j]]++;
		}
	}
	for (int c = 0; c < 256; c++)
		distinct += seen[c] > 0;
	assert_int_equal(distinct, 32);
	assert_null(strpbrk(PROOF_CODE_ALPHABET, "01IO"));
}

static void
code_normalize(void **state)
{
	static const char *const bad[] = { "", "ABCD-EFG", "ABCD-EFGHJ", "ABCD-EFG0", "ABCD-EFGI", "ABCD_EFGH",
		"ABCD\tEFGH", "ÄBCD-EFGH", "                                 ABCDEFGH" };
	char norm[PROOF_CODE_LEN + 1];

	(void)state;
	assert_int_equal(proof_code_normalize("abcd-efgh", norm), SL_OK);
	assert_string_equal(norm, "ABCDEFGH");
	assert_int_equal(proof_code_normalize(" AB CD EF-GH ", norm), SL_OK);
	assert_string_equal(norm, "ABCDEFGH");
	assert_int_equal(proof_code_normalize("ABCDEFGH", norm), SL_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(proof_code_normalize(bad[i], norm), SL_EINVAL);
	assert_int_equal(proof_code_normalize(NULL, norm), SL_EINVAL);
}

static const char person[] = "{\"rrn\":\"85073003328\",\"given_name\":\"Jan\",\"family_name\":\"Peeters\"}";

static void
pending_redeem(void **state)
{
	json_t *st = proof_state_load(NULL);
	struct proof_redeemed r;
	int64_t exp = 0;
	int left = 0;

	(void)state;
	assert_false(proof_state_pending(st, 1000, NULL, NULL));
	assert_int_equal(proof_state_redeem(st, "h1", 1000, &r), SL_ENOTFOUND);
	assert_int_equal(proof_state_set_pending(st, "not json", "eid", "h1", 1600), SL_EINVAL);
	assert_int_equal(proof_state_set_pending(st, person, "bank:demo", "h1", 1600), SL_OK);
	assert_true(proof_state_pending(st, 1000, &exp, &left));
	assert_int_equal(exp, 1600);
	assert_int_equal(left, PROOF_CODE_TRIES);
	/* A wrong code is charged. */
	assert_int_equal(proof_state_redeem(st, "h2", 1000, &r), SL_EDENIED);
	assert_int_equal(r.rd_tries_left, PROOF_CODE_TRIES - 1);
	assert_true(proof_state_pending(st, 1000, NULL, &left));
	assert_int_equal(left, PROOF_CODE_TRIES - 1);
	/* The right one gives the person once. */
	assert_int_equal(proof_state_redeem(st, "h1", 1000, &r), SL_OK);
	assert_string_equal(r.rd_method, "bank:demo");
	assert_non_null(strstr(r.rd_person, "\"rrn\":\"85073003328\""));
	proof_redeemed_clear(&r);
	assert_false(proof_state_pending(st, 1000, NULL, NULL));
	assert_int_equal(proof_state_redeem(st, "h1", 1000, &r), SL_ENOTFOUND);
	json_decref(st);
}

static void
pending_limits(void **state)
{
	json_t *st = proof_state_load(NULL);
	struct proof_redeemed r;

	(void)state;
	/* PROOF_CODE_TRIES wrong codes discard it: the right one is then worth nothing. */
	assert_int_equal(proof_state_set_pending(st, person, "eid", "h1", 1600), SL_OK);
	for (int i = PROOF_CODE_TRIES - 1; i >= 0; i--) {
		assert_int_equal(proof_state_redeem(st, "hx", 1000, &r), SL_EDENIED);
		assert_int_equal(r.rd_tries_left, i);
	}
	assert_null(json_object_get(st, "pending"));
	assert_int_equal(proof_state_redeem(st, "h1", 1000, &r), SL_ENOTFOUND);
	/* Expired at its time: discarded. */
	assert_int_equal(proof_state_set_pending(st, person, "eid", "h1", 1600), SL_OK);
	assert_false(proof_state_pending(st, 1600, NULL, NULL));
	assert_int_equal(proof_state_redeem(st, "h1", 1600, &r), SL_EEXPIRED);
	assert_null(json_object_get(st, "pending"));
	/* A newer proof replaces the older one, with all its tries. */
	assert_int_equal(proof_state_set_pending(st, person, "eid", "h1", 1600), SL_OK);
	assert_int_equal(proof_state_redeem(st, "hx", 1000, &r), SL_EDENIED);
	assert_int_equal(proof_state_set_pending(st, person, "bank:demo", "h2", 1700), SL_OK);
	assert_int_equal(proof_state_redeem(st, "h1", 1000, &r), SL_EDENIED);
	assert_int_equal(r.rd_tries_left, PROOF_CODE_TRIES - 1);
	assert_int_equal(proof_state_redeem(st, "h2", 1000, &r), SL_OK);
	assert_string_equal(r.rd_method, "bank:demo");
	proof_redeemed_clear(&r);
	json_decref(st);
}

/* ---- state ---- */

static void
state_tickets(void **state)
{
	json_t *st = proof_state_load("{not json");
	char h[PROOF_MAX_TICKETS + 2][8];

	(void)state;
	assert_non_null(st);
	assert_true(json_is_array(json_object_get(st, "tickets")));
	for (int i = 0; i < PROOF_MAX_TICKETS + 2; i++) {
		snprintf(h[i], sizeof(h[i]), "h%d", i);
		assert_int_equal(proof_state_add_ticket(st, h[i], 2000, 1000), SL_OK);
	}
	/* The two oldest went; the newest are there. */
	assert_int_equal(json_array_size(json_object_get(st, "tickets")), PROOF_MAX_TICKETS);
	assert_false(proof_state_ticket(st, h[0], 1000, false));
	assert_false(proof_state_ticket(st, h[1], 1000, false));
	assert_true(proof_state_ticket(st, h[2], 1000, false));
	assert_true(proof_state_ticket(st, h[9], 1999, false));
	/* Expired at its time, and unknown values never match. */
	assert_false(proof_state_ticket(st, h[9], 2000, false));
	assert_false(proof_state_ticket(st, "h", 1000, false));
	assert_false(proof_state_ticket(st, "h99", 1000, false));
	/* Consumed once. */
	assert_true(proof_state_ticket(st, h[5], 1000, true));
	assert_false(proof_state_ticket(st, h[5], 1000, true));
	assert_true(proof_state_ticket(st, h[6], 1000, false));
	/* Adding later drops the expired ones. */
	assert_int_equal(proof_state_add_ticket(st, "late", 5000, 3000), SL_OK);
	assert_int_equal(json_array_size(json_object_get(st, "tickets")), 1);
	json_decref(st);
}

static void
state_flow(void **state)
{
	json_t *st = proof_state_load(NULL), *again;
	struct proof_flow f = { .pf_bank = "demo",
		.pf_state_hash = "s1",
		.pf_browser_hash = "b1",
		.pf_verifier = "verifier",
		.pf_nonce = "nonce",
		.pf_expires = 2000 };
	struct proof_flow out;
	char *text;

	(void)state;
	assert_int_equal(proof_state_set_flow(st, &f), SL_OK);
	/* Survives a round trip through the stored text. */
	text = json_dumps(st, JSON_COMPACT);
	again = proof_state_load(text);
	free(text);
	json_decref(st);
	st = again;
	assert_int_equal(proof_state_take_flow(st, "s2", "b1", 1000, &out), SL_ENOTFOUND);
	/* Another browser cannot take it, nor end it. */
	assert_int_equal(proof_state_take_flow(st, "s1", "b2", 1000, &out), SL_EDENIED);
	assert_int_equal(proof_state_take_flow(st, "s1", NULL, 1000, &out), SL_EDENIED);
	assert_int_equal(proof_state_take_flow(st, "s1", "b1", 1000, &out), SL_OK);
	assert_string_equal(out.pf_bank, "demo");
	assert_string_equal(out.pf_verifier, "verifier");
	assert_string_equal(out.pf_nonce, "nonce");
	/* One-time. */
	assert_int_equal(proof_state_take_flow(st, "s1", "b1", 1000, &out), SL_ENOTFOUND);
	/* Late: refused and gone. */
	assert_int_equal(proof_state_set_flow(st, &f), SL_OK);
	assert_int_equal(proof_state_take_flow(st, "s1", "b1", 2000, &out), SL_EEXPIRED);
	assert_null(json_object_get(st, "flow"));
	json_decref(st);
}

/* ---- claims ---- */

static int
map(const char *json, struct store_person *p, struct sl_err *err)
{
	return proof_claims_parse(&names, json, strlen(json), p, err);
}

static void
claims_good(void **state)
{
	struct store_person p;
	struct sl_err err = { 0 };
	char *j;

	(void)state;
	assert_int_equal(
		map("{\"sub\":\"x\",\"rrn\":\"85073003328\",\"given_name\":\"Jan\",\"family_name\":\"Peeters\"}", &p,
			&err),
		SL_OK);
	assert_string_equal(p.p_rrn, "85073003328");
	assert_string_equal(p.p_given_name, "Jan");
	assert_string_equal(p.p_family_name, "Peeters");
	assert_string_equal(p.p_birthdate, "1985-07-30"); /* from the number */
	j = proof_person_json(&p);
	assert_non_null(j);
	assert_string_equal(j, "{\"rrn\":\"85073003328\",\"given_name\":\"Jan\",\"family_name\":\"Peeters\","
			       "\"birthdate\":\"1985-07-30\"}");
	free(j);
	store_person_clear(&p);
	/* Separators, accents, a matching birth date; after-2000 rule. */
	assert_int_equal(map("{\"rrn\":\"15.03.01-123.18\",\"given_name\":\"Zoë\",\"family_name\":\"Van den Bossche\","
			     "\"birthdate\":\"2015-03-01\"}",
				 &p, &err),
		SL_OK);
	assert_string_equal(p.p_rrn, "15030112318");
	assert_string_equal(p.p_given_name, "Zoë");
	store_person_clear(&p);
	/* Unknown birth date in the number: the bank's is kept; none at all is fine. */
	assert_int_equal(map("{\"rrn\":\"00000000196\",\"given_name\":\"A\",\"family_name\":\"B\","
			     "\"birthdate\":\"1970-01-02\"}",
				 &p, &err),
		SL_OK);
	assert_string_equal(p.p_birthdate, "1970-01-02");
	store_person_clear(&p);
	assert_int_equal(map("{\"rrn\":\"00000000196\",\"given_name\":\"A\",\"family_name\":\"B\"}", &p, &err), SL_OK);
	assert_null(p.p_birthdate);
	store_person_clear(&p);
}

static void
claims_custom_names(void **state)
{
	static const struct proof_claim_names other = { "national_id", "first", "last", "dob" };
	const char *json =
		"{\"national_id\":\"90020199704\",\"first\":\"Els\",\"last\":\"Maes\",\"dob\":\"1990-02-01\","
		"\"rrn\":\"garbage\"}";
	struct store_person p;
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(proof_claims_parse(&other, json, strlen(json), &p, &err), SL_OK);
	assert_string_equal(p.p_rrn, "90020199704");
	assert_string_equal(p.p_family_name, "Maes");
	store_person_clear(&p);
	/* With the default names the same claims lack a valid number. */
	assert_int_equal(proof_claims_parse(&names, json, strlen(json), &p, &err), SL_EINVAL);
}

static void
claims_bad(void **state)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
		{ "{\"given_name\":\"A\",\"family_name\":\"B\"}", SL_ENOTFOUND },
		{ "{\"rrn\":null,\"given_name\":\"A\",\"family_name\":\"B\"}", SL_ENOTFOUND },
		{ "{\"rrn\":\"\",\"given_name\":\"A\",\"family_name\":\"B\"}", SL_ENOTFOUND },
		{ "{\"rrn\":85073003328,\"given_name\":\"A\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003329\",\"given_name\":\"A\",\"family_name\":\"B\"}",
			SL_EINVAL }, /* check digits */
		{ "{\"rrn\":\"8507300332\",\"given_name\":\"A\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"850730033280\",\"given_name\":\"A\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85O73003328\",\"given_name\":\"A\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\\u0000\",\"given_name\":\"A\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":[\"A\"],\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"A\\nB\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"A\\u0000B\",\"family_name\":\"B\"}", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"A\",\"family_name\":\"B\",\"birthdate\":\"1985-07-31\"}",
			SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"A\",\"family_name\":\"B\",\"birthdate\":\"30/07/1985\"}",
			SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"given_name\":\"A\",\"family_name\":\"B\",\"birthdate\":19850730}",
			SL_EINVAL },
		{ "[]", SL_EINVAL },
		{ "{\"rrn\":\"85073003328\",\"rrn\":\"90020199704\",\"given_name\":\"A\",\"family_name\":\"B\"}",
			SL_EINVAL }, /* duplicate keys */
		{ "not json", SL_EINVAL },
	};
	struct store_person p;
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = map(cases[i].json, &p, &err);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): %d, want %d (%s)", i, cases[i].json, rc, cases[i].rc, err.msg);
		assert_null(p.p_rrn);
		assert_null(p.p_given_name);
	}
}

static void
claims_name_limit(void **state)
{
	char json[PROOF_NAME_MAX + 128], name[PROOF_NAME_MAX + 2];
	struct store_person p;
	struct sl_err err = { 0 };

	(void)state;
	memset(name, 'x', PROOF_NAME_MAX);
	name[PROOF_NAME_MAX] = '\0';
	snprintf(json, sizeof(json), "{\"rrn\":\"85073003328\",\"given_name\":\"%s\",\"family_name\":\"B\"}", name);
	assert_int_equal(map(json, &p, &err), SL_OK);
	store_person_clear(&p);
	strcat(name, "x");
	snprintf(json, sizeof(json), "{\"rrn\":\"85073003328\",\"given_name\":\"%s\",\"family_name\":\"B\"}", name);
	assert_int_equal(map(json, &p, &err), SL_EINVAL);
	/* The whole document is bounded too. */
	assert_int_equal(proof_claims_parse(&names, "{}", 64u * 1024 + 1, &p, &err), SL_ETOOBIG);
}

/* ---- ID-token checks ---- */

static int
check(const char *json, const char *nonce)
{
	struct proof_expect ex = { "https://bank.example", "sleutel", nonce, 100000, 60 };
	struct sl_err err = { 0 };
	json_t *claims = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(claims);
	rc = proof_id_token_check(claims, &ex, &err);
	json_decref(claims);
	return rc;
}

#define GOOD_IAT "\"iat\":99990,\"exp\":100300"

static void
id_token_checks(void **state)
{
	(void)state;
	assert_int_equal(
		check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\"," GOOD_IAT
		      "}",
			"n1"),
		SL_OK);
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":[\"sleutel\",\"x\"],\"azp\":"
			       "\"sleutel\",\"nonce\":\"n1\"," GOOD_IAT "}",
				 "n1"),
		SL_OK);
	/* Each claim wrong in turn. */
	assert_int_equal(
		check("{\"iss\":\"https://evil.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\"," GOOD_IAT
		      "}",
			"n1"),
		SL_EDENIED);
	assert_int_equal(
		check("{\"iss\":\"https://bank.example\",\"aud\":\"sleutel\",\"nonce\":\"n1\"," GOOD_IAT "}", "n1"),
		SL_EDENIED);
	assert_int_equal(
		check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"other\",\"nonce\":\"n1\"," GOOD_IAT
		      "}",
			"n1"),
		SL_EDENIED);
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":[\"sleutel\",\"x\"],\"nonce\":"
			       "\"n1\"," GOOD_IAT "}",
				 "n1"),
		SL_EDENIED); /* several audiences without azp */
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"azp\":\"x\","
			       "\"nonce\":\"n1\"," GOOD_IAT "}",
				 "n1"),
		SL_EDENIED);
	assert_int_equal(
		check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n2\"," GOOD_IAT
		      "}",
			"n1"),
		SL_EDENIED);
	assert_int_equal(
		check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\"," GOOD_IAT "}", "n1"),
		SL_EDENIED);
	/* exp within the skew passes; past it fails. */
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\","
			       "\"iat\":99990,\"exp\":99950}",
				 "n1"),
		SL_OK);
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\","
			       "\"iat\":99990,\"exp\":99940}",
				 "n1"),
		SL_EDENIED);
	/* iat from the future, and too old. */
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\","
			       "\"iat\":100061,\"exp\":100300}",
				 "n1"),
		SL_EDENIED);
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\","
			       "\"iat\":99399,\"exp\":100300}",
				 "n1"),
		SL_EDENIED);
	assert_int_equal(check("{\"iss\":\"https://bank.example\",\"sub\":\"u\",\"aud\":\"sleutel\",\"nonce\":\"n1\","
			       "\"iat\":\"99990\",\"exp\":100300}",
				 "n1"),
		SL_EDENIED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_round_trip),
		cmocka_unit_test(token_malformed),
		cmocka_unit_test(code_shape),
		cmocka_unit_test(code_normalize),
		cmocka_unit_test(pending_redeem),
		cmocka_unit_test(pending_limits),
		cmocka_unit_test(state_tickets),
		cmocka_unit_test(state_flow),
		cmocka_unit_test(claims_good),
		cmocka_unit_test(claims_custom_names),
		cmocka_unit_test(claims_bad),
		cmocka_unit_test(claims_name_limit),
		cmocka_unit_test(id_token_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
