/*
 * test_sidrp.c — the Smart-ID RP API's records in the SQLite store
 * (schema 10), on a fresh database file per test: relying parties (put
 * once, read, listed in order, enabled and disabled); sessions (every
 * field kept, id and token unique, an unknown RP refused, the RP's bound
 * of running sessions counted with the insert and not counting expired or
 * COMPLETE ones, the idempotency window, lookups by token); a device's
 * claim (once, also when racing threads claim together) and the
 * completion (once, also racing); purging at keep_until; the two new
 * columns of signing requests and the "cert" action; migration from a
 * version 9 database.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#define RP_A "00000000-0000-4000-8000-00000000000a"
#define RP_B "00000000-0000-4000-8000-00000000000b"
#define SES_1 "fa20fd1e-e320-4c68-8315-f6a507a0b4a9"
#define RESULT_OK "{\"result\":{\"endResult\":\"OK\"}}"
#define KEEP 300 /* what the RP API keeps a result for */

/* ---- fixtures ---- */

static struct store_sid_rp
rp_fixture(const char *uuid, const char *name, int64_t created)
{
	struct store_sid_rp rp = {
		.sp_uuid = (char *)uuid,
		.sp_name = (char *)name,
		.sp_allow_ip = (char *)"192.0.2.0/24,2001:db8::1",
		.sp_permissions = (char *)"auth sign cert",
		.sp_created = created,
	};
	return rp;
}

static void
put_rp(struct store *st, const char *uuid)
{
	struct store_sid_rp rp = rp_fixture(uuid, "DEMO", 0);

	assert_int_equal(store_sid_rp_put(st, &rp), SL_OK);
}

/* A device-link authentication of RP_A for anyone, running from `created`
 * for 90 seconds. */
static struct store_sid_session
session_fixture(const char *id, const char *token, int64_t created)
{
	struct store_sid_session s = {
		.ss_id = (char *)id,
		.ss_rp_uuid = (char *)RP_A,
		.ss_api = (char *)"v3",
		.ss_type = (char *)"auth",
		.ss_flow = (char *)"device-link",
		.ss_target_kind = (char *)"anonymous",
		.ss_params = (char *)"{\"rpChallenge\":\"GYS+\"}",
		.ss_token = (char *)token,
		.ss_secret = (char *)"sealed-secret",
		.ss_server_random = (char *)"MTlop6EXCrQ6FOErcKjxUhbV",
		.ss_idem = (char *)"idem-1",
		.ss_ip = (char *)"192.0.2.7",
		.ss_created = created,
		.ss_expires = created + 90,
		.ss_keep_until = created + 90 + KEEP,
	};
	return s;
}

/* Sessions s-<prefix>-0 .. n-1 of `rp`, each with its own token. */
static int
put_sessions(struct store *st, const char *rp, const char *prefix, int n, int64_t created, int max_running)
{
	char id[32];
	int rc = SL_OK;

	for (int i = 0; i < n && rc == SL_OK; i++) {
		struct store_sid_session s;
		snprintf(id, sizeof(id), "s-%s-%d", prefix, i);
		s = session_fixture(id, NULL, created);
		s.ss_rp_uuid = (char *)rp;
		rc = store_sid_session_put(st, &s, max_running);
	}
	return rc;
}

static char *
session_field(struct store *st, const char *id, size_t off)
{
	struct store_sid_session s;
	char **field = (char **)((char *)&s + off);
	char *v;

	assert_int_equal(store_sid_session_get(st, id, &s), SL_OK);
	v = *field;
	*field = NULL;
	store_sid_session_clear(&s);
	return v;
}

static void
assert_session_field(struct store *st, const char *id, size_t off, const char *want)
{
	char *v = session_field(st, id, off);

	if (want == NULL)
		assert_null(v);
	else
		assert_string_equal(v, want);
	free(v);
}

#define STATE offsetof(struct store_sid_session, ss_state)
#define REQUEST offsetof(struct store_sid_session, ss_request_id)
#define ACCOUNT offsetof(struct store_sid_session, ss_account_id)

/* ---- relying parties ---- */

struct rp_list {
	char uuids[4][40];
	char statuses[4][16];
	int n;
};

static int
collect_rp(const struct store_sid_rp *rp, void *arg)
{
	struct rp_list *l = arg;

	if (l->n >= 4)
		return SL_ETOOBIG;
	snprintf(l->uuids[l->n], sizeof(l->uuids[0]), "%s", rp->sp_uuid);
	snprintf(l->statuses[l->n], sizeof(l->statuses[0]), "%s", rp->sp_status);
	l->n++;
	return SL_OK;
}

static void
test_rp_put_get(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_rp rp = rp_fixture(RP_A, "DEMO", 1000), got;

	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_OK);
	rp.sp_name = (char *)"Another name";
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_ECONFLICT);
	assert_int_equal(store_sid_rp_get(fx->fx_store, RP_A, &got), SL_OK);
	assert_string_equal(got.sp_uuid, RP_A);
	assert_string_equal(got.sp_name, "DEMO");
	assert_string_equal(got.sp_allow_ip, "192.0.2.0/24,2001:db8::1");
	assert_string_equal(got.sp_permissions, "auth sign cert");
	assert_string_equal(got.sp_status, "active");
	assert_int_equal(got.sp_created, 1000);
	store_sid_rp_clear(&got);
	assert_int_equal(store_sid_rp_get(fx->fx_store, RP_B, &got), SL_ENOTFOUND);
	/* Any address; registered disabled; the time of the put. */
	rp = rp_fixture(RP_B, "Bank", 0);
	rp.sp_allow_ip = NULL;
	rp.sp_status = (char *)"disabled";
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_OK);
	assert_int_equal(store_sid_rp_get(fx->fx_store, RP_B, &got), SL_OK);
	assert_null(got.sp_allow_ip);
	assert_string_equal(got.sp_status, "disabled");
	assert_true(got.sp_created >= sl_now() - 5);
	store_sid_rp_clear(&got);
	/* Required fields and known statuses. */
	rp = rp_fixture("00000000-0000-4000-8000-00000000000c", "X", 0);
	rp.sp_status = (char *)"paused";
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_EINVAL);
	rp.sp_status = NULL;
	rp.sp_permissions = NULL;
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_EINVAL);
	rp.sp_permissions = (char *)"auth";
	rp.sp_name = NULL;
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_EINVAL);
	rp.sp_name = (char *)"X";
	rp.sp_uuid = NULL;
	assert_int_equal(store_sid_rp_put(fx->fx_store, &rp), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_rps"), 2);
}

static void
test_rp_each_and_status(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_rp b = rp_fixture(RP_B, "Bank", 1000), a = rp_fixture(RP_A, "DEMO", 2000);
	struct rp_list l = { 0 };

	/* Listed by creation, not by UUID. */
	assert_int_equal(store_sid_rp_put(fx->fx_store, &a), SL_OK);
	assert_int_equal(store_sid_rp_put(fx->fx_store, &b), SL_OK);
	assert_int_equal(store_sid_rp_set_status(fx->fx_store, RP_A, "disabled"), SL_OK);
	assert_int_equal(store_sid_rp_each(fx->fx_store, collect_rp, &l), SL_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.uuids[0], RP_B);
	assert_string_equal(l.statuses[0], "active");
	assert_string_equal(l.uuids[1], RP_A);
	assert_string_equal(l.statuses[1], "disabled");
	assert_int_equal(store_sid_rp_set_status(fx->fx_store, RP_A, "active"), SL_OK);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_sid_rp_each(fx->fx_store, collect_rp, &l), SL_OK);
	assert_string_equal(l.statuses[1], "active");
	assert_int_equal(store_sid_rp_set_status(fx->fx_store, RP_A, "removed"), SL_EINVAL);
	assert_int_equal(store_sid_rp_set_status(fx->fx_store, RP_A, NULL), SL_EINVAL);
	assert_int_equal(store_sid_rp_set_status(fx->fx_store, "00000000-0000-4000-8000-00000000000c", "disabled"),
		SL_ENOTFOUND);
	/* The allow list (NULL: any address) and permissions replaced together. */
	{
		struct store_sid_rp got;

		assert_int_equal(store_sid_rp_set_access(fx->fx_store, RP_A, NULL, "auth v2"), SL_OK);
		assert_int_equal(store_sid_rp_get(fx->fx_store, RP_A, &got), SL_OK);
		assert_null(got.sp_allow_ip);
		assert_string_equal(got.sp_permissions, "auth v2");
		store_sid_rp_clear(&got);
		assert_int_equal(store_sid_rp_set_access(fx->fx_store, RP_A, "192.0.2.0/24", "sign"), SL_OK);
		assert_int_equal(store_sid_rp_get(fx->fx_store, RP_A, &got), SL_OK);
		assert_string_equal(got.sp_allow_ip, "192.0.2.0/24");
		assert_string_equal(got.sp_permissions, "sign");
		store_sid_rp_clear(&got);
		assert_int_equal(store_sid_rp_set_access(fx->fx_store, RP_A, NULL, NULL), SL_EINVAL);
		assert_int_equal(
			store_sid_rp_set_access(fx->fx_store, "00000000-0000-4000-8000-00000000000c", NULL, "auth"),
			SL_ENOTFOUND);
	}
	/* The visitor's own code stops the walk and is returned. */
	memset(&l, 0, sizeof(l));
	l.n = 4;
	assert_int_equal(store_sid_rp_each(fx->fx_store, collect_rp, &l), SL_ETOOBIG);
}

/* ---- sessions ---- */

static void
test_session_put_get(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "wGIrqveE6AuGDATZKmR1mtAZ", now), got;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_OK);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_OK);
	assert_string_equal(got.ss_id, SES_1);
	assert_string_equal(got.ss_rp_uuid, RP_A);
	assert_string_equal(got.ss_api, "v3");
	assert_string_equal(got.ss_type, "auth");
	assert_string_equal(got.ss_flow, "device-link");
	assert_string_equal(got.ss_target_kind, "anonymous");
	assert_null(got.ss_target);
	assert_null(got.ss_account_id);
	assert_string_equal(got.ss_params, "{\"rpChallenge\":\"GYS+\"}");
	assert_string_equal(got.ss_token, "wGIrqveE6AuGDATZKmR1mtAZ");
	assert_string_equal(got.ss_secret, "sealed-secret");
	assert_string_equal(got.ss_server_random, "MTlop6EXCrQ6FOErcKjxUhbV");
	assert_null(got.ss_vc);
	assert_string_equal(got.ss_idem, "idem-1");
	assert_null(got.ss_request_id);
	assert_string_equal(got.ss_ip, "192.0.2.7");
	assert_string_equal(got.ss_state, "RUNNING");
	assert_null(got.ss_result);
	assert_int_equal(got.ss_created, now);
	assert_int_equal(got.ss_expires, now + 90);
	assert_int_equal(got.ss_keep_until, now + 90 + KEEP);
	store_sid_session_clear(&got);
	/* A notification signature for a document: its target, account and code. */
	s = session_fixture("s-2", NULL, now);
	s.ss_api = (char *)"v2";
	s.ss_type = (char *)"sign";
	s.ss_flow = (char *)"notification";
	s.ss_target_kind = (char *)"document";
	s.ss_target = (char *)"PNOBE-85073003328-AAAA-Q";
	s.ss_account_id = (char *)"acc-1";
	s.ss_vc = (char *)"4927";
	s.ss_secret = NULL;
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_get(fx->fx_store, "s-2", &got), SL_OK);
	assert_string_equal(got.ss_target, "PNOBE-85073003328-AAAA-Q");
	assert_string_equal(got.ss_account_id, "acc-1");
	assert_string_equal(got.ss_vc, "4927");
	assert_null(got.ss_token);
	assert_null(got.ss_secret);
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_null(got.ss_id);
}

static void
test_session_put_conflicts(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "token-1", now);

	/* No RP of that UUID yet. */
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_ENOTFOUND);
	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_OK);
	/* The same id; another id with the same token. */
	s.ss_token = (char *)"token-2";
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_ECONFLICT);
	s = session_fixture("s-2", "token-1", now);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_ECONFLICT);
	/* Without tokens, any number (notification flows). */
	s.ss_token = NULL;
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_OK);
	s.ss_id = (char *)"s-3";
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 10), SL_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions"), 3);
}

/* Each field a session cannot be without, or a value it cannot have. */
static void
test_session_put_invalid(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	static const struct {
		size_t off;
		const char *value;
	} bad[] = {
		{ offsetof(struct store_sid_session, ss_id), NULL },
		{ offsetof(struct store_sid_session, ss_rp_uuid), NULL },
		{ offsetof(struct store_sid_session, ss_params), NULL },
		{ offsetof(struct store_sid_session, ss_api), "v1" },
		{ offsetof(struct store_sid_session, ss_api), NULL },
		{ offsetof(struct store_sid_session, ss_type), "login" },
		{ offsetof(struct store_sid_session, ss_flow), "linked" },
		{ offsetof(struct store_sid_session, ss_target_kind), "email" },
		{ offsetof(struct store_sid_session, ss_target_kind), "etsi" }, /* without a target */
		{ offsetof(struct store_sid_session, ss_target), "85073003328" }, /* anonymous with one */
	};
	struct store_sid_session s;

	put_rp(fx->fx_store, RP_A);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = session_fixture(SES_1, NULL, now);
		*(const char **)((char *)&s + bad[i].off) = bad[i].value;
		assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_EINVAL);
	}
	s = session_fixture(SES_1, NULL, now);
	s.ss_expires = 0;
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_EINVAL);
	s = session_fixture(SES_1, NULL, now);
	s.ss_keep_until = s.ss_expires - 1;
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions"), 0);
	/* The etsi target that was missing above, given. */
	s = session_fixture(SES_1, NULL, now);
	s.ss_target_kind = (char *)"etsi";
	s.ss_target = (char *)"85073003328";
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
}

static void
test_session_max_running(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();

	put_rp(fx->fx_store, RP_A);
	put_rp(fx->fx_store, RP_B);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "a", 3, now, 3), SL_OK);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "over", 1, now, 3), SL_EBUSY);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions WHERE id = 's-over-0'"), 0);
	/* Another RP has its own bound; 0 is none. */
	assert_int_equal(put_sessions(fx->fx_store, RP_B, "b", 3, now, 3), SL_OK);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "free", 1, now, 0), SL_OK);
	/* A COMPLETE one no longer counts. */
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-a-0", NULL, RESULT_OK, now + KEEP), SL_OK);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-free-0", NULL, RESULT_OK, now + KEEP), SL_OK);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "c", 1, now, 3), SL_OK);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "d", 1, now, 3), SL_EBUSY);
	/* Nor do those still RUNNING past their expiry (not yet ended by a
	 * status request): at now + 90 all three have expired. */
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "later", 3, now + 90, 3), SL_OK);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "later-over", 1, now + 90, 3), SL_EBUSY);
	/* One second before, they all still count. */
	assert_int_equal(put_sessions(fx->fx_store, RP_B, "early", 1, now + 89, 3), SL_EBUSY);
}

/* Creations racing for the last places of the bound. */
struct put_job {
	struct store *pj_store;
	char pj_id[16];
	int64_t pj_now;
	int pj_rc;
};

static void *
put_job_run(void *arg)
{
	struct put_job *j = arg;
	struct store_sid_session s = session_fixture(j->pj_id, NULL, j->pj_now);

	j->pj_rc = store_sid_session_put(j->pj_store, &s, 3);
	return NULL;
}

static void
test_session_max_running_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct put_job jobs[8];
	pthread_t th[8];
	int ok = 0, busy = 0;

	put_rp(fx->fx_store, RP_A);
	for (int i = 0; i < 8; i++) {
		jobs[i] = (struct put_job){ .pj_store = fx->fx_store, .pj_now = sl_now() };
		snprintf(jobs[i].pj_id, sizeof(jobs[i].pj_id), "p-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, put_job_run, &jobs[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].pj_rc == SL_OK)
			ok++;
		else if (jobs[i].pj_rc == SL_EBUSY)
			busy++;
	}
	assert_int_equal(ok, 3);
	assert_int_equal(busy, 5);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions"), 3);
}

static void
test_session_by_token_and_idem(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture("s-old", "tok-old", now - 20), got;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	s = session_fixture("s-new", "tok-new", now - 5);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	s = session_fixture("s-other", "tok-other", now);
	s.ss_idem = (char *)"idem-2";
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);

	assert_int_equal(store_sid_session_by_token(fx->fx_store, "tok-old", &got), SL_OK);
	assert_string_equal(got.ss_id, "s-old");
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_by_token(fx->fx_store, "tok-none", &got), SL_ENOTFOUND);
	/* The newest of the key within the window (15 s). */
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-1", now - 15, &got), SL_OK);
	assert_string_equal(got.ss_id, "s-new");
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-1", now - 30, &got), SL_OK);
	assert_string_equal(got.ss_id, "s-new");
	store_sid_session_clear(&got);
	/* At the edge: created at `since` is within it. */
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-1", now - 5, &got), SL_OK);
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-1", now - 4, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-2", now - 15, &got), SL_OK);
	assert_string_equal(got.ss_id, "s-other");
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, "idem-3", 0, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_session_by_idem(fx->fx_store, NULL, 0, &got), SL_ENOTFOUND);
}

static void
test_session_claim(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "tok-1", now);

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	s = session_fixture("s-old", "tok-2", now - 100);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	s = session_fixture("s-done", "tok-3", now);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-done", NULL, RESULT_OK, now + KEEP), SL_OK);

	assert_int_equal(store_sid_session_claim(fx->fx_store, SES_1, "acc-1", "req-1", now), SL_OK);
	assert_session_field(fx->fx_store, SES_1, ACCOUNT, "acc-1");
	assert_session_field(fx->fx_store, SES_1, REQUEST, "req-1");
	assert_session_field(fx->fx_store, SES_1, STATE, "RUNNING");
	/* Once: a second device (or the same one again) loses. */
	assert_int_equal(store_sid_session_claim(fx->fx_store, SES_1, "acc-2", "req-2", now), SL_ECONFLICT);
	assert_session_field(fx->fx_store, SES_1, ACCOUNT, "acc-1");
	assert_session_field(fx->fx_store, SES_1, REQUEST, "req-1");
	/* Past its expiry (at it, too); COMPLETE; unknown. */
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-old", "acc-1", "req-3", now), SL_EEXPIRED);
	s = session_fixture("s-edge", "tok-4", now);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-edge", "acc-1", "req-4", now + 90), SL_EEXPIRED);
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-edge", "acc-1", "req-4", now + 89), SL_OK);
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-done", "acc-1", "req-5", now), SL_ECONFLICT);
	assert_int_equal(store_sid_session_claim(fx->fx_store, "nope", "acc-1", "req-6", now), SL_ENOTFOUND);
	assert_session_field(fx->fx_store, "s-old", REQUEST, NULL);
	assert_session_field(fx->fx_store, "s-done", REQUEST, NULL);
	/* Without an account or a request there is nothing to claim with. */
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-old", NULL, "req-7", now), SL_EINVAL);
	assert_int_equal(store_sid_session_claim(fx->fx_store, "s-old", "acc-1", NULL, now), SL_EINVAL);
	assert_int_equal(store_sid_session_claim(fx->fx_store, NULL, "acc-1", "req-7", now), SL_EINVAL);
}

/* ---- races: claims and completions of one session ---- */

#define RACERS 6

struct race {
	struct store *r_store;
	pthread_barrier_t r_start;
	bool r_complete; /* race to complete, else to claim */
};

struct racer {
	struct race *rc_race;
	char rc_value[16]; /* this thread's request id or result */
	int rc_rc;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	struct race *race = r->rc_race;

	pthread_barrier_wait(&race->r_start);
	if (race->r_complete)
		r->rc_rc = store_sid_session_complete(race->r_store, SES_1, NULL, r->rc_value, sl_now() + KEEP);
	else
		r->rc_rc = store_sid_session_claim(race->r_store, SES_1, "acc-1", r->rc_value, sl_now());
	return NULL;
}

/* Run the race; exactly one thread wins, the others get SL_ECONFLICT;
 * the winner's value. */
static const char *
run_race(struct race *race, struct racer *racers)
{
	pthread_t th[RACERS];
	int winner = -1;

	assert_int_equal(pthread_barrier_init(&race->r_start, NULL, RACERS), 0);
	for (int i = 0; i < RACERS; i++) {
		racers[i].rc_race = race;
		snprintf(racers[i].rc_value, sizeof(racers[i].rc_value), "{\"n\":%d}", i);
		assert_int_equal(pthread_create(&th[i], NULL, racer_run, &racers[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&race->r_start);
	for (int i = 0; i < RACERS; i++) {
		if (racers[i].rc_rc == SL_OK) {
			assert_int_equal(winner, -1);
			winner = i;
		} else {
			assert_int_equal(racers[i].rc_rc, SL_ECONFLICT);
		}
	}
	assert_int_not_equal(winner, -1);
	return racers[winner].rc_value;
}

static void
test_session_claim_race(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_session s = session_fixture(SES_1, "tok-1", sl_now());
	struct race race = { .r_store = fx->fx_store };
	struct racer racers[RACERS];
	const char *won;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	won = run_race(&race, racers);
	assert_session_field(fx->fx_store, SES_1, REQUEST, won);
}

static void
test_session_complete_once(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "tok-1", now), got;
	struct race race = { .r_store = fx->fx_store, .r_complete = true };
	struct racer racers[RACERS];
	const char *won;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	won = run_race(&race, racers);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_OK);
	assert_string_equal(got.ss_state, "COMPLETE");
	assert_string_equal(got.ss_result, won);
	assert_true(got.ss_keep_until >= now + KEEP);
	store_sid_session_clear(&got);
	/* Once more: refused, the result stays the winner's. */
	assert_int_equal(store_sid_session_complete(fx->fx_store, SES_1, NULL, RESULT_OK, now + KEEP), SL_ECONFLICT);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_OK);
	assert_string_equal(got.ss_result, won);
	store_sid_session_clear(&got);
	/* A session past its expiry still completes (with its TIMEOUT), and
	 * its keep_until is the one given now. */
	s = session_fixture("s-old", "tok-2", now - 200);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_complete(
				 fx->fx_store, "s-old", NULL, "{\"result\":{\"endResult\":\"TIMEOUT\"}}", now + 7),
		SL_OK);
	assert_int_equal(store_sid_session_get(fx->fx_store, "s-old", &got), SL_OK);
	assert_int_equal(got.ss_keep_until, now + 7);
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "nope", NULL, RESULT_OK, now + KEEP), SL_ENOTFOUND);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-old", NULL, NULL, now + KEEP), SL_EINVAL);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-old", NULL, RESULT_OK, 0), SL_EINVAL);
}

/* Only the request the session took ends it (review 10, finding 5): a
 * device that lost the claim cannot answer for the winner. */
static void
test_session_complete_by_its_request_only(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "tok-1", now), got;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_claim(fx->fx_store, SES_1, "acct-1", "rq-winner", now), SL_OK);
	assert_int_equal(
		store_sid_session_complete(fx->fx_store, SES_1, "rq-loser", RESULT_OK, now + KEEP), SL_ECONFLICT);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_OK);
	assert_string_equal(got.ss_state, "RUNNING");
	store_sid_session_clear(&got);
	assert_int_equal(store_sid_session_complete(fx->fx_store, SES_1, "rq-winner", RESULT_OK, now + KEEP), SL_OK);
	/* A session no device took yet completes by its own decision (NULL). */
	s = session_fixture("s-free", "tok-2", now);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_complete(fx->fx_store, "s-free", NULL, RESULT_OK, now + KEEP), SL_OK);
}

/* ---- purge ---- */

static void
test_purge_sessions_at_keep_until(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_session s = session_fixture(SES_1, "tok-1", now), got;

	put_rp(fx->fx_store, RP_A);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	s = session_fixture("s-running", "tok-2", now);
	assert_int_equal(store_sid_session_put(fx->fx_store, &s, 0), SL_OK);
	assert_int_equal(store_sid_session_complete(fx->fx_store, SES_1, NULL, RESULT_OK, now + 10), SL_OK);
	/* The result is read until keep_until... */
	assert_int_equal(store_purge_expired(fx->fx_store, now + 9), 0);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_OK);
	store_sid_session_clear(&got);
	/* ...and then it is gone; the running one stays until its own. */
	assert_int_equal(store_purge_expired(fx->fx_store, now + 10), 1);
	assert_int_equal(store_sid_session_get(fx->fx_store, SES_1, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_session_get(fx->fx_store, "s-running", &got), SL_OK);
	store_sid_session_clear(&got);
	assert_int_equal(store_purge_expired(fx->fx_store, now + 90 + KEEP), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions"), 0);
	/* Never the RP. */
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_rps"), 1);
}

/* ---- signing requests: the RP API's columns and action ---- */

static struct store_sid_request
rp_request(const char *id, const char *action, const char *key_use, int64_t expires)
{
	struct store_sid_request r = {
		.sq_id = (char *)id,
		.sq_account_id = (char *)"acc-1",
		.sq_client_id = (char *)RP_A,
		.sq_rp_name = (char *)"DEMO",
		.sq_action = (char *)action,
		.sq_key_use = (char *)key_use,
		.sq_display_text = (char *)"Log in to DEMO",
		.sq_hash = (char *)"",
		.sq_digest = (char *)"SHA512",
		.sq_padding = (char *)"pss",
		.sq_link_kind = (char *)"rpapi",
		.sq_link_id = (char *)SES_1,
		.sq_device_only = (char *)"dev-1",
		.sq_extra = (char *)"{\"api\":\"v3\",\"session_type\":\"auth\"}",
		.sq_created = sl_now(),
		.sq_expires = expires,
	};
	return r;
}

struct extra_seen {
	int n;
	bool device_only_kept;
};

static int
seen_extra(const struct store_sid_request *r, void *arg)
{
	struct extra_seen *e = arg;

	e->n++;
	if (r->sq_device_only != NULL && strcmp(r->sq_device_only, "dev-1") == 0 && r->sq_extra != NULL)
		e->device_only_kept = true;
	return SL_OK;
}

static void
test_request_rp_columns(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_request q = rp_request("q-auth", "login", STORE_SID_KEY_AUTH, now + 90), got;
	struct extra_seen seen = { 0 };

	/* ACSP_V2: no hash of its own (""); the device's and the RP API's fields. */
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-auth", &got), SL_OK);
	assert_string_equal(got.sq_hash, "");
	assert_string_equal(got.sq_device_only, "dev-1");
	assert_string_equal(got.sq_extra, "{\"api\":\"v3\",\"session_type\":\"auth\"}");
	assert_string_equal(got.sq_link_kind, "rpapi");
	assert_string_equal(got.sq_status, "pending");
	store_sid_request_clear(&got);
	assert_null(got.sq_extra);
	assert_int_equal(store_sid_request_each_pending(fx->fx_store, "acc-1", now, seen_extra, &seen), SL_OK);
	assert_int_equal(seen.n, 1);
	assert_true(seen.device_only_kept);
	/* A certificate choice, with the signing key; any device of the account. */
	q = rp_request("q-cert", "cert", STORE_SID_KEY_SIGN, now + 90);
	q.sq_device_only = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-cert", &got), SL_OK);
	assert_string_equal(got.sq_action, "cert");
	assert_null(got.sq_device_only);
	store_sid_request_clear(&got);
	q = rp_request("q-cert-auth", "cert", STORE_SID_KEY_AUTH, now + 90);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	/* A RAW_DIGEST_SIGNATURE keeps its digest. */
	q = rp_request("q-sign", "sign", STORE_SID_KEY_SIGN, now + 90);
	q.sq_hash = (char *)"FNZFFya5wGLv9b27fZngaWrOBqle4tGwxZuDFRBdPl1RQvxJsfoqvTbjafd-8BcehMOQGvak6zlP-F8tga4bfQ";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-sign", &got), SL_OK);
	assert_string_equal(got.sq_hash, q.sq_hash);
	store_sid_request_clear(&got);
	/* Only the RP API's requests may have an empty hash; none may lack one. */
	q = rp_request("q-login", "login", STORE_SID_KEY_AUTH, now + 90);
	q.sq_link_kind = (char *)"authreq";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	q.sq_link_kind = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	q.sq_link_kind = (char *)"rpapi";
	q.sq_hash = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-login", &got), SL_ENOTFOUND);
}

/* Ending a device fails what may be on its screen, not the requests
 * only another device of the account may answer. */
static void
test_request_device_only_survives_other_device_end(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_request q = rp_request("q-other", "sign", STORE_SID_KEY_SIGN, sl_now() + 90), got;

	/* The account's one device, made behind the store's back (the
	 * registration is test_smartid.c's business). */
	assert_int_equal(
		raw_exec(fx->fx_path,
			"INSERT INTO persons (id, created, updated) VALUES ('p1', 1, 1);"
			"INSERT INTO sid_accounts (id, person_id, status, created) VALUES ('acc-1', 'p1', 'active', 1);"
			"INSERT INTO sid_devices (id, account_id, jkt, transport_jwk, document, status, created)"
			" VALUES ('dev-1', 'acc-1', 'jkt-1', '{}', 'PNOBE-85073003328-AAAA-Q', 'active', 1);"),
		SQLITE_OK);
	q.sq_hash = (char *)"aGFzaA";
	q.sq_device_only = (char *)"dev-2";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	q.sq_id = (char *)"q-mine";
	q.sq_device_only = (char *)"dev-1";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	q.sq_id = (char *)"q-any";
	q.sq_device_only = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_device_end(fx->fx_store, "dev-1", "revoked", "operator"), SL_OK);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-other", &got), SL_OK);
	assert_string_equal(got.sq_status, "pending");
	store_sid_request_clear(&got);
	assert_int_equal(
		raw_count(fx->fx_path,
			"SELECT count(*) FROM sid_requests WHERE status = 'failed' AND id IN ('q-mine', 'q-any')"),
		2);
}

/* ---- migration ---- */

/* A version 9 database (before the RP API) keeps its signing requests;
 * the new tables and columns work on the migrated file. */
static void
test_migrates_v9_database(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_request q = rp_request("q-old", "login", STORE_SID_KEY_AUTH, now + 90), got;
	int version = -1;

	q.sq_link_kind = (char *)"authreq";
	q.sq_hash = (char *)"aGFzaA";
	q.sq_device_only = NULL;
	q.sq_extra = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V10_UNDO "PRAGMA user_version = 9;"), SQLITE_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'sid_sessions'"), 0);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q-old", &got), SL_OK);
	assert_string_equal(got.sq_hash, "aGFzaA");
	assert_string_equal(got.sq_link_kind, "authreq");
	assert_string_equal(got.sq_status, "pending");
	assert_null(got.sq_device_only);
	assert_null(got.sq_extra);
	store_sid_request_clear(&got);
	put_rp(fx->fx_store, RP_A);
	assert_int_equal(put_sessions(fx->fx_store, RP_A, "m", 2, now, 0), SL_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_sessions"), 2);
}

static void
test_clear_null_safe(void **state)
{
	struct store_sid_rp rp = { .sp_allow_ip = strdup("x") };
	struct store_sid_session s = { .ss_result = strdup("x") };

	(void)state;
	store_sid_rp_clear(NULL);
	store_sid_session_clear(NULL);
	store_sid_rp_clear(&rp);
	store_sid_session_clear(&s);
	assert_null(rp.sp_allow_ip);
	assert_null(s.ss_result);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rp_put_get),
		T(test_rp_each_and_status),
		T(test_session_put_get),
		T(test_session_put_conflicts),
		T(test_session_put_invalid),
		T(test_session_max_running),
		T(test_session_max_running_concurrent),
		T(test_session_by_token_and_idem),
		T(test_session_claim),
		T(test_session_claim_race),
		T(test_session_complete_once),
		T(test_session_complete_by_its_request_only),
		T(test_purge_sessions_at_keep_until),
		T(test_request_rp_columns),
		T(test_request_device_only_survives_other_device_end),
		T(test_migrates_v9_database),
		cmocka_unit_test(test_clear_null_safe),
	};

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
