/*
 * store.c — bench_store: the cost of one store operation on each engine,
 * a figure, not a test (never run by make check).
 *
 *   bench_store sqlite N FILE
 *   bench_store postgresql N CONNINFO [DBNAME]
 *
 * N authorization requests are written (store_authreq_put, each its own
 * transaction), then read back (store_authreq_get), on a pool of 2
 * connections; then N durable audit rows (store_audit_add, each its own
 * durable commit) from 1 thread and from DURABLE_THREADS threads at once,
 * where group commit lets concurrent commits share a sync.  Printed per
 * operation: wall time, this process's CPU and, on PostgreSQL with DBNAME,
 * the CPU of the server processes serving that database (from /proc: run
 * it on the database server's machine).
 */
#include <pthread.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../src/core/core.h"
#include "../src/store/store.h"

static double
wall_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double
self_cpu_s(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return tv_s(r.ru_utime) + tv_s(r.ru_stime);
}

/* Is /proc/PID a PostgreSQL backend of database `db` (its title says)? */
static bool
serves(const char *pid, const char *db)
{
	char path[300], title[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(title, 1, sizeof(title) - 1, f);
	fclose(f);
	title[n] = '\0';
	return strncmp(title, "postgres: ", 10) == 0 && strstr(title, db) != NULL;
}

/* CPU seconds of the server processes of database `db`. */
static double
server_cpu_s(const char *db)
{
	double total = 0;
	DIR *d;
	struct dirent *e;

	if (db == NULL || (d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], stat[1024], *p;
		unsigned long ut, st;
		size_t n;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || !serves(e->d_name, db))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		/* utime and stime: fields 14 and 15, after the ")" of the name. */
		p = strrchr(stat, ')');
		if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			total += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	closedir(d);
	return total;
}

#define DURABLE_THREADS 8

struct durable {
	struct store *st;
	int n;
	bool failed;
};

static void *
durable_run(void *arg)
{
	struct durable *d = arg;
	const struct store_audit a = { .au_event = "bench", .au_result = "ok", .au_client_id = "bench" };

	for (int i = 0; i < d->n && !d->failed; i++)
		d->failed = store_audit_add(d->st, &a) != SL_OK;
	return NULL;
}

/* n durable commits from `threads` threads at once; false on a failure. */
static bool
durable_commits(struct store *st, int n, int threads)
{
	pthread_t t[DURABLE_THREADS];
	struct durable d[DURABLE_THREADS];
	bool ok = true;

	for (int i = 0; i < threads; i++) {
		d[i] = (struct durable){ st, n / threads + (i < n % threads), false };
		if (pthread_create(&t[i], NULL, durable_run, &d[i]) != 0)
			return false;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ok = ok && !d[i].failed;
	}
	return ok;
}

int
main(int argc, char **argv)
{
	struct store_options o = { .so_busy_timeout_ms = 5000, .so_pool = 2 };
	struct sl_err err = { 0 };
	const char *db = argc > 4 ? argv[4] : NULL;
	double w[5], c[5], s[5];
	static const char *const what[5] = { NULL, "put", "get", "durable x1", "durable x8" };
	struct store *st;
	char id[32];
	int n;

	if (argc < 4 || (n = atoi(argv[2])) < 1 || n > 10000000) {
		fprintf(stderr, "usage: bench_store sqlite N FILE | postgresql N CONNINFO [DBNAME]\n");
		return 2;
	}
	if (strcmp(argv[1], "sqlite") == 0) {
		o.so_path = argv[3];
	} else {
		o.so_engine = argv[1];
		o.so_conninfo = argv[3];
	}
	sl_log_set_level(SL_LOG_WARN);
	if ((st = store_open(&o, &err)) == NULL) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		return 1;
	}
	w[0] = wall_s(), c[0] = self_cpu_s(), s[0] = server_cpu_s(db);
	for (int i = 0; i < n; i++) {
		struct store_authreq r = { .ar_id = id,
			.ar_kind = (char *)"authorize",
			.ar_client_id = (char *)"bench",
			.ar_params = (char *)"{\"scope\":\"openid\"}",
			.ar_browser = (char *)"b",
			.ar_expires = sl_now() + 600 };
		snprintf(id, sizeof(id), "bench-%d", i);
		if (store_authreq_put(st, &r) != SL_OK) {
			fprintf(stderr, "bench_store: put failed\n");
			return 1;
		}
	}
	w[1] = wall_s(), c[1] = self_cpu_s(), s[1] = server_cpu_s(db);
	for (int i = 0; i < n; i++) {
		struct store_authreq got = { 0 };
		snprintf(id, sizeof(id), "bench-%d", i);
		if (store_authreq_get(st, id, &got) != SL_OK) {
			fprintf(stderr, "bench_store: get failed\n");
			return 1;
		}
		store_authreq_clear(&got);
	}
	w[2] = wall_s(), c[2] = self_cpu_s(), s[2] = server_cpu_s(db);
	for (int k = 3; k <= 4; k++) {
		if (!durable_commits(st, n, k == 3 ? 1 : DURABLE_THREADS)) {
			fprintf(stderr, "bench_store: audit row failed\n");
			return 1;
		}
		w[k] = wall_s(), c[k] = self_cpu_s(), s[k] = server_cpu_s(db);
	}
	store_close(st);
	for (int k = 1; k <= 4; k++)
		printf("%-10s %-10s %8.1f us wall %8.1f us cpu here %8.1f us cpu server  (per op, %d ops)\n", argv[1],
			what[k], (w[k] - w[k - 1]) / n * 1e6, (c[k] - c[k - 1]) / n * 1e6, (s[k] - s[k - 1]) / n * 1e6,
			n);
	return 0;
}
