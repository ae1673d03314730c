/*
 * test_pg.c — what only the PostgreSQL engine has: a server that goes away
 * under a connection, nodes that migrate one database at once, and a
 * conninfo whose password must never reach a message.  Always on
 * PostgreSQL (SLEUTEL_TEST_PG's server, or one this binary starts); the
 * store's other suites run on both engines.
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

/* End every backend of the test's schema (by application_name): the
 * store's connections find their server gone at their next statement. */
static void
kill_backends(const struct fixture *fx)
{
	char sql[256], msg[256];

	snprintf(sql, sizeof(sql),
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s'"
		" AND pid <> pg_backend_pid()",
		fx->fx_schema);
	assert_int_equal(fx_pg_exec(fx_pg_admin(), sql, msg, sizeof(msg)), 0);
}

/* A lost connection fails the operation in flight with SL_ESTORE (never
 * a crash), and the next operation on it runs on a new one. */
static void
test_lost_connection_is_remade(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_result = "ok" };
	struct store_session ses = { 0 };
	int64_t n = -1;

	store_close(fx->fx_store);
	fx->fx_store = NULL; /* a failed open leaves the teardown nothing to close twice */
	fx->fx_store = open_store(fx->fx_path, 1);
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	/* A read outside a transaction. */
	kill_backends(fx);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_ESTORE);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 1);
	/* A write: its transaction fails whole, the next one commits. */
	kill_backends(fx);
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_ESTORE);
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 2);
	/* A statement prepared on the old connection is prepared again. */
	kill_backends(fx);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_ESTORE);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 2);
	/* A statement never prepared on the old connection. */
	kill_backends(fx);
	assert_int_equal(store_session_get(fx->fx_store, "no-such-session", &ses), SL_ESTORE);
	assert_int_equal(store_session_get(fx->fx_store, "no-such-session", &ses), SL_ENOTFOUND);
}

#define MIGRATORS 4

struct migrator {
	const char *mg_conninfo;
	struct store *mg_store;
};

static void *
migrate_worker(void *arg)
{
	struct migrator *m = arg;
	struct store_options opts = { .so_engine = "postgresql", .so_conninfo = m->mg_conninfo, .so_pool = 2 };
	struct sl_err err = { 0 };

	m->mg_store = store_open(&opts, &err);
	if (m->mg_store == NULL)
		print_message("store_open: %s\n", err.msg);
	return NULL;
}

/* Nodes starting together on an empty database: one migrates (under the
 * advisory lock), the others find it done; one schema, one version row. */
static void
test_nodes_migrate_once(void **state)
{
	struct fixture *fx = *state;
	struct migrator m[MIGRATORS];
	pthread_t th[MIGRATORS];
	char sql[512], msg[256];
	int version = -1;

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	/* An empty schema again (the fixture's catalog views stay). */
	snprintf(sql, sizeof(sql),
		"DROP TABLE schema_version; DO $$DECLARE t record; BEGIN FOR t IN SELECT tablename FROM pg_tables"
		" WHERE schemaname = current_schema() LOOP EXECUTE 'DROP TABLE ' || quote_ident(t.tablename)"
		" || ' CASCADE'; END LOOP; END$$; DROP FUNCTION audit_append_only();");
	assert_int_equal(fx_pg_exec(fx->fx_path, sql, msg, sizeof(msg)), 0);
	assert_int_equal(
		raw_count(fx->fx_path, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"), 0);
	for (int i = 0; i < MIGRATORS; i++) {
		m[i] = (struct migrator){ fx->fx_path, NULL };
		assert_int_equal(pthread_create(&th[i], NULL, migrate_worker, &m[i]), 0);
	}
	for (int i = 0; i < MIGRATORS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < MIGRATORS; i++) {
		assert_non_null(m[i].mg_store);
		assert_int_equal(store_schema_version(m[i].mg_store, &version), SL_OK);
		assert_int_equal(version, STORE_SCHEMA_VERSION);
		store_close(m[i].mg_store);
	}
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM schema_version"), 1);
	fx->fx_store = open_store(fx->fx_path, 2);
}

/* A server that cannot be reached: store_open fails with a message, and
 * the message never carries the conninfo's password. */
static void
test_unreachable_server_message_has_no_password(void **state)
{
	struct store_options opts = { .so_engine = "postgresql",
		.so_conninfo = "host=127.0.0.1 port=1 user=nobody password=sekrit-pw-4711 connect_timeout=2",
		.so_pool = 1 };
	struct sl_err err = { 0 };

	(void)state;
	assert_null(store_open(&opts, &err));
	assert_int_equal(err.code, SL_ESTORE);
	assert_non_null(strstr(err.msg, "PostgreSQL"));
	assert_null(strstr(err.msg, "sekrit"));
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_lost_connection_is_remade),
		T(test_nodes_migrate_once),
		cmocka_unit_test(test_unreachable_server_message_has_no_password),
	};
#undef T

	/* This suite is PostgreSQL's whatever the run's engine. */
	setenv("SLEUTEL_TEST_ENGINE", "postgresql", 1);
	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
