/*
 * test_notice.c — the store's notices (notice.c, schema 15) and one
 * person's whole audit trail for the export (audit.c), on SQLite and (as
 * store_notice_pg) on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "store_fixture.h"

struct seen {
	int n;
	char id[8][40];
	char device[8][40];
	char kind[8][24];
	bool read[8];
};

static int
collect(const struct store_notice *nt, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		sl_strlcpy(s->id[s->n], nt->nt_id, sizeof(s->id[0]));
		sl_strlcpy(s->device[s->n], nt->nt_device_id, sizeof(s->device[0]));
		sl_strlcpy(s->kind[s->n], nt->nt_kind, sizeof(s->kind[0]));
		s->read[s->n] = nt->nt_read;
	}
	s->n++;
	return SL_OK;
}

static void
add(struct store *st, const char *person, const char *kind, const char *device, char id[40])
{
	struct store_notice n = { .nt_person_id = (char *)person,
		.nt_kind = (char *)kind,
		.nt_device_kind = (char *)"app",
		.nt_device_id = (char *)device,
		.nt_device_name = (char *)"phone" };

	assert_int_equal(store_notice_add(st, &n), SL_OK);
	assert_non_null(n.nt_id);
	assert_true(n.nt_created >= sl_now() - 1);
	sl_strlcpy(id, n.nt_id, 40);
	free(n.nt_id);
}

static void
test_notice_add_list_ack(void **state)
{
	struct fixture *fx = *state;
	struct seen s = { 0 };
	char a1[40], a2[40], b1[40];

	add(fx->fx_store, "p-1", "device.added", "dev-1", a1);
	add(fx->fx_store, "p-1", "device.added", "dev-2", a2);
	add(fx->fx_store, "p-2", "device.added", "dev-9", b1);

	assert_int_equal(store_notice_each(fx->fx_store, "p-1", true, 10, collect, &s), SL_OK);
	assert_int_equal(s.n, 2);
	/* What dev-1 is told: dev-2's notice, not its own, none of p-2's. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_notice_each_for_device(fx->fx_store, "p-1", "dev-1", 0, 10, collect, &s), SL_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.device[0], "dev-2");
	assert_string_equal(s.kind[0], "device.added");
	/* A device added later is not told of the past. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(
		store_notice_each_for_device(fx->fx_store, "p-1", "dev-3", sl_now() + 10, 10, collect, &s), SL_OK);
	assert_int_equal(s.n, 0);

	/* Read: only by its person; then gone from the unread lists. */
	assert_int_equal(store_notice_ack(fx->fx_store, "p-2", a2), SL_ENOTFOUND);
	assert_int_equal(store_notice_ack(fx->fx_store, "p-1", a2), SL_OK);
	assert_int_equal(store_notice_ack(fx->fx_store, "p-1", "no-such"), SL_ENOTFOUND);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_notice_each_for_device(fx->fx_store, "p-1", "dev-1", 0, 10, collect, &s), SL_OK);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_notice_each(fx->fx_store, "p-1", false, 10, collect, &s), SL_OK);
	assert_int_equal(s.n, 2);
	assert_true(s.read[0] != s.read[1]);

	/* Bounds and bad input. */
	assert_int_equal(store_notice_each(fx->fx_store, "p-1", true, 0, collect, &s), SL_EINVAL);
	assert_int_equal(
		store_notice_each(fx->fx_store, "p-1", true, STORE_NOTICE_LIST_MAX + 1, collect, &s), SL_EINVAL);
	assert_int_equal(store_notice_each(fx->fx_store, NULL, true, 10, collect, &s), SL_EINVAL);
	assert_int_equal(
		store_notice_add(fx->fx_store, &(struct store_notice){ .nt_person_id = (char *)"p" }), SL_EINVAL);
	assert_int_equal(store_notice_ack(fx->fx_store, NULL, a1), SL_EINVAL);
	(void)b1;
}

struct trail {
	int n;
	int64_t seq[8];
	char event[8][24];
};

static int
collect_trail(const struct store_audit_entry *e, void *arg)
{
	struct trail *t = arg;

	if (t->n < 8) {
		t->seq[t->n] = e->ae_seq;
		sl_strlcpy(t->event[t->n], e->ae_event, sizeof(t->event[0]));
	}
	t->n++;
	return SL_OK;
}

static void
test_audit_person_all_paged(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_result = "ok", .au_person_id = "p-1", .au_key = "app" };
	const char *events[] = { "login", "device.remove", "token", "consent.withdrawn", "login" };
	struct trail t = { 0 };

	for (size_t i = 0; i < 5; i++) {
		a.au_event = events[i];
		assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	}
	a.au_person_id = "p-2";
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);

	assert_int_equal(store_audit_each_person_all(fx->fx_store, "p-1", 0, 3, collect_trail, &t), SL_OK);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.event[0], "login"); /* newest first, every event */
	assert_string_equal(t.event[1], "consent.withdrawn");
	assert_string_equal(t.event[2], "token");
	/* The next page: below the last seq seen. */
	{
		struct trail next = { 0 };
		assert_int_equal(
			store_audit_each_person_all(fx->fx_store, "p-1", t.seq[2], 10, collect_trail, &next), SL_OK);
		assert_int_equal(next.n, 2);
		assert_string_equal(next.event[0], "device.remove");
		assert_true(next.seq[0] < t.seq[2]);
	}
	assert_int_equal(store_audit_each_person_all(fx->fx_store, "p-1", 0, 0, collect_trail, &t), SL_EINVAL);
	assert_int_equal(
		store_audit_each_person_all(fx->fx_store, "p-1", 0, STORE_AUDIT_PAGE_MAX + 1, collect_trail, &t),
		SL_EINVAL);
	assert_int_equal(store_audit_each_person_all(fx->fx_store, "p-1", -1, 1, collect_trail, &t), SL_EINVAL);
	assert_int_equal(store_audit_each_person_all(fx->fx_store, NULL, 0, 1, collect_trail, &t), SL_EINVAL);
}

static void
test_notice_clear_null_safe(void **state)
{
	struct store_notice n = { 0 };

	(void)state;
	store_notice_clear(NULL);
	store_notice_clear(&n);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_notice_add_list_ack),
		T(test_audit_person_all_paged),
		cmocka_unit_test(test_notice_clear_null_safe),
	};

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
