/*
 * test_rowread.c — the store's row readers when a column's copy fails
 * (out of memory): the read answers SL_ENOMEM and leaves the record
 * cleared (every field it had copied freed), never SL_OK with a field
 * missing.  For each reader below, the 1st, 2nd, ... copy of a read is
 * failed in turn until a read makes fewer copies than that; that last
 * read must return the whole row.  On the sanitizer build LeakSanitizer
 * also checks that nothing a failed read copied is left behind.
 *
 * The failure is injected by this executable's own strdup (col_text's
 * copy; PostgreSQL's bound values too), which the store's static library
 * links against: armed only around the read under test.  On PostgreSQL
 * too (store_rowread_pg), where libpq's own strdups are counted as well.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

/* strdup number strdup_fail_at (counted from 1 while armed) fails. */
static atomic_int strdup_fail_at;
static atomic_int strdup_calls;

char *
strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p;

	if (atomic_load(&strdup_fail_at) > 0 && atomic_fetch_add(&strdup_calls, 1) + 1 == atomic_load(&strdup_fail_at))
		return NULL;
	p = malloc(len);
	if (p != NULL)
		memcpy(p, s, len);
	return p;
}

/* One reader: the read of the seeded row into `out` and its clear. */
struct reader {
	const char *r_name;
	int (*r_read)(struct store *st, void *out);
	void (*r_clear)(void *out);
	size_t r_size;
	int r_min_copies; /* text columns the seeded row has non-NULL */
};

/* Which pointer-sized words of a record are zero: a record read whole and
 * one with a text field missing differ there (the row is the same). */
static void
zero_words(const unsigned char *rec, size_t size, bool *zero)
{
	for (size_t w = 0; w < size / sizeof(void *); w++) {
		void *word;

		memcpy(&word, rec + w * sizeof(void *), sizeof(word));
		zero[w] = word == NULL;
	}
}

/* Fail each strdup of r's read in turn (col_text's copies, and on
 * PostgreSQL libpq's own, which it may absorb): each read answers
 * SL_ENOMEM with the record cleared, or SL_OK with the whole row; never
 * SL_OK with a field missing.  Then the read that reaches the end. */
static void
fail_each_copy(struct fixture *fx, const struct reader *r)
{
	size_t nw = r->r_size / sizeof(void *);
	unsigned char *out = calloc(1, r->r_size), *zero = calloc(1, r->r_size);
	bool *whole = calloc(nw, sizeof(bool)), *got = calloc(nw, sizeof(bool));
	int n, rc, enomem = 0;

	assert_true(out && zero && whole && got);
	assert_int_equal(r->r_read(fx->fx_store, out), SL_OK);
	zero_words(out, r->r_size, whole);
	r->r_clear(out);
	for (n = 1;; n++) {
		atomic_store(&strdup_calls, 0);
		atomic_store(&strdup_fail_at, n);
		rc = r->r_read(fx->fx_store, out);
		atomic_store(&strdup_fail_at, 0);
		if (atomic_load(&strdup_calls) < n)
			break;
		if (rc == SL_ENOMEM) {
			enomem++;
			if (memcmp(out, zero, r->r_size) != 0)
				fail_msg("%s: copy %d failed, the record was not cleared", r->r_name, n);
			continue;
		}
		if (rc != SL_OK)
			fail_msg("%s: copy %d failed, the read answered %d, not SL_ENOMEM", r->r_name, n, rc);
		zero_words(out, r->r_size, got);
		if (memcmp(got, whole, nw * sizeof(bool)) != 0)
			fail_msg("%s: copy %d failed, the read answered SL_OK with a field missing", r->r_name, n);
		r->r_clear(out);
	}
	if (rc != SL_OK)
		fail_msg("%s: the read with no failure answered %d", r->r_name, rc);
	if (enomem < r->r_min_copies)
		fail_msg("%s: %d reads answered SL_ENOMEM, the row has %d text columns", r->r_name, enomem,
			r->r_min_copies);
	zero_words(out, r->r_size, got);
	assert_memory_equal(got, whole, nw * sizeof(bool));
	r->r_clear(out);
	free(out);
	free(zero);
	free(whole);
	free(got);
}

/* ---- the seeded rows ---- */

static const struct store_client seed_client = {
	.cl_id = (char *)"client-a",
	.cl_name = (char *)"Client A",
	.cl_secret_hash = (char *)"00ff",
	.cl_auth_method = (char *)"client_secret_basic",
	.cl_redirect_uris = (char *)"[\"https://a.example/cb\"]",
	.cl_post_logout_uris = (char *)"[]",
	.cl_jwks = (char *)"{\"keys\":[]}",
	.cl_id_token_alg = (char *)"ES256",
	.cl_sector = (char *)"a.example",
	.cl_ciba_mode = (char *)"poll",
	.cl_ciba_endpoint = (char *)"https://a.example/ciba",
	.cl_scopes = (char *)"openid profile",
	.cl_id_token_enc_alg = (char *)"RSA-OAEP",
	.cl_id_token_enc_enc = (char *)"A256GCM",
	.cl_profile = (char *)"default",
	.cl_created = 1700000000,
};

/* The seeded person's id, which the store chose. */
static char person_id[64];

static void
seed(struct fixture *fx)
{
	struct sl_err err = { 0 };
	struct store_person p = { .p_rrn = strdup("85073003328"),
		.p_given_name = strdup("Anna"),
		.p_family_name = strdup("Peeters"),
		.p_birthdate = strdup("1985-07-30") };
	struct store_authreq ar = {
		.ar_id = (char *)"req-1",
		.ar_kind = (char *)"authorize",
		.ar_client_id = (char *)"client-a",
		.ar_params = (char *)"{\"scope\":\"openid\"}",
		.ar_browser = (char *)"b1",
		.ar_expires = sl_now() + 600,
	};
	struct store_token t = {
		.t_hash = (char *)"tok-1",
		.t_kind = (char *)"access",
		.t_grant_id = (char *)"g1",
		.t_client_id = (char *)"client-a",
		.t_person_id = (char *)"person-1",
		.t_session_id = (char *)"ses-1",
		.t_scope = (char *)"openid",
		.t_acr = (char *)"high",
		.t_amr = (char *)"[\"eid\"]",
		.t_claims = (char *)"{}",
		.t_authz_details = (char *)"[]",
		.t_jkt = (char *)"jkt-1",
		.t_auth_time = 1700000000,
		.t_expires = sl_now() + 600,
	};
	struct store_session ses = {
		.s_id = (char *)"ses-1",
		.s_person_id = (char *)"person-1",
		.s_acr = (char *)"high",
		.s_amr = (char *)"[\"eid\"]",
		.s_auth_time = 1700000000,
		.s_expires = sl_now() + 600,
	};
	struct store_sid_rp rp = {
		.sp_uuid = (char *)"00000000-0000-4000-8000-000000000001",
		.sp_name = (char *)"RP one",
		.sp_allow_ip = (char *)"127.0.0.1",
		.sp_permissions = (char *)"auth sign",
	};

	assert_int_equal(store_client_add(fx->fx_store, &seed_client, &err), SL_OK);
	assert_int_equal(store_person_upsert(fx->fx_store, &p, &err), SL_OK);
	assert_non_null(p.p_id);
	assert_true(strlen(p.p_id) < sizeof(person_id));
	snprintf(person_id, sizeof(person_id), "%s", p.p_id);
	store_person_clear(&p);
	assert_int_equal(store_authreq_put(fx->fx_store, &ar), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t), SL_OK);
	assert_int_equal(store_session_put(fx->fx_store, &ses), SL_OK);
	assert_int_equal(store_consent_put(fx->fx_store, "person-1", "client-a", "openid profile"), SL_OK);
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_OK);
}

/* ---- the reads ---- */

/* read_X and clear_X of store_X_get(st, KEY, out), store_X_clear. */
#define KEYED_READER(what, key)                                                                                        \
	static int read_##what(struct store *st, void *out)                                                            \
	{                                                                                                              \
		return store_##what##_get(st, key, out);                                                               \
	}                                                                                                              \
	static void clear_##what(void *out)                                                                            \
	{                                                                                                              \
		store_##what##_clear(out);                                                                             \
	}

KEYED_READER(client, "client-a")
KEYED_READER(person, person_id)
KEYED_READER(authreq, "req-1")
KEYED_READER(token, "tok-1")
KEYED_READER(session, "ses-1")
KEYED_READER(sid_rp, "00000000-0000-4000-8000-000000000001")

/* A request and its client, read as one joined row. */
struct authreq_client {
	struct store_authreq ac_req;
	struct store_client ac_client;
};

static int
read_authreq_client(struct store *st, void *out)
{
	struct authreq_client *ac = out;

	return store_authreq_get_client(st, "req-1", &ac->ac_req, &ac->ac_client);
}

static void
clear_authreq_client(void *out)
{
	struct authreq_client *ac = out;

	store_authreq_clear(&ac->ac_req);
	store_client_clear(&ac->ac_client);
}

static int
read_consent(struct store *st, void *out)
{
	return store_consent_get(st, "person-1", "client-a", out);
}

/* A malloc'd string (consent's scopes, a visited row's name). */
static void
clear_string(void *out)
{
	free(*(char **)out);
	*(char **)out = NULL;
}

/* The visitors (read_each): a failed copy ends the listing with
 * SL_ENOMEM before the visitor sees the row; out holds a copy of what the
 * visitor saw (its name), so that the last read's row is checked. */
static int
keep_client_name(const struct store_client *cl, void *arg)
{
	char **name = arg;

	assert_non_null(cl->cl_name); /* never a row with a field missing */
	free(*name);
	*name = strndup(cl->cl_name, 64);
	return *name != NULL ? SL_OK : SL_ENOMEM;
}

static int
read_client_each(struct store *st, void *out)
{
	int rc = store_client_each(st, keep_client_name, out);
	if (rc != SL_OK)
		clear_string(out);
	return rc;
}

static int
keep_rp_name(const struct store_sid_rp *rp, void *arg)
{
	char **name = arg;

	assert_non_null(rp->sp_permissions);
	free(*name);
	*name = strndup(rp->sp_name, 64);
	return *name != NULL ? SL_OK : SL_ENOMEM;
}

static int
read_sid_rp_each(struct store *st, void *out)
{
	int rc = store_sid_rp_each(st, keep_rp_name, out);

	if (rc != SL_OK)
		clear_string(out);
	return rc;
}

static const struct reader readers[] = {
	{ "store_person_get", read_person, clear_person, sizeof(struct store_person), 5 },
	{ "store_client_get", read_client, clear_client, sizeof(struct store_client), 15 },
	{ "store_authreq_get", read_authreq, clear_authreq, sizeof(struct store_authreq), 6 },
	{ "store_authreq_get_client", read_authreq_client, clear_authreq_client, sizeof(struct authreq_client), 21 },
	{ "store_token_get", read_token, clear_token, sizeof(struct store_token), 12 },
	{ "store_session_get", read_session, clear_session, sizeof(struct store_session), 4 },
	{ "store_consent_get", read_consent, clear_string, sizeof(char *), 1 },
	{ "store_sid_rp_get", read_sid_rp, clear_sid_rp, sizeof(struct store_sid_rp), 5 },
	{ "store_client_each", read_client_each, clear_string, sizeof(char *), 15 },
	{ "store_sid_rp_each", read_sid_rp_each, clear_string, sizeof(char *), 5 },
};

static void
test_failed_copy_is_enomem(void **state)
{
	struct fixture *fx = *state;

	seed(fx);
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		fail_each_copy(fx, &readers[i]);
}

/* A failed copy inside a transaction (the row store_authreq_take_result's
 * transaction reads) rolls it back: SL_ENOMEM, and the one-time result is
 * still there to be taken. */
static void
test_failed_copy_in_transaction(void **state)
{
	struct fixture *fx = *state;
	char *result = NULL;
	int n, rc, enomem = 0;

	seed(fx);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h1", "the result", sl_now() + 600), SL_OK);
	for (n = 1;; n++) {
		atomic_store(&strdup_calls, 0);
		atomic_store(&strdup_fail_at, n);
		rc = store_authreq_take_result(fx->fx_store, "req-1", "h1", &result);
		atomic_store(&strdup_fail_at, 0);
		if (atomic_load(&strdup_calls) < n)
			break;
		if (rc == SL_OK) {
			/* PostgreSQL: libpq absorbed its failed strdup; the result was
			 * taken whole.  Put it back for the next N. */
			assert_string_equal(result, "the result");
			free(result);
			result = NULL;
			assert_int_equal(
				store_authreq_set_result(fx->fx_store, "req-1", "h1", "the result", sl_now() + 600),
				SL_OK);
			continue;
		}
		assert_int_equal(rc, SL_ENOMEM);
		assert_null(result);
		enomem++;
	}
	assert_true(enomem >= 2); /* the hash and the result were copied */
	assert_int_equal(rc, SL_OK);
	assert_string_equal(result, "the result");
	free(result);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h1", &result), SL_ENOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_copy_is_enomem, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_copy_in_transaction, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
