/*
 * main.c — bench_load: options, the run's temp directory and test CA, the
 * scenarios in order, the table on stdout and the JSON results file.
 *
 *   build/bench/bench_load [--scenario all|trivial|app|eid|waiters|postgresql]
 *       [--seconds S] [--workers W] [--max N] [--waiters N] [--addrs K]
 *       [--engine sqlite|postgresql] [--nodes N] [--proxy] [--hint] [--out FILE]
 *
 * --proxy: the app scenario behind a TLS-terminating proxy (plain HTTP
 * with the proxy config, as the trivial scenario) instead of TLS.
 * --hint: the app scenario's RP sends the phone number as login_hint.
 *
 * Scenario postgresql (pgnodes.c; also `--engine postgresql`) runs the
 * trivial, app and eID logins on PostgreSQL on one node and on --nodes N
 * (default 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bl.h"

static void
usage(void)
{
	fprintf(stderr,
		"usage: bench_load [--scenario all|trivial|app|eid|waiters|postgresql] [--seconds S] [--workers W]\n"
		"                  [--max N] [--waiters N] [--addrs K] [--engine sqlite|postgresql] [--nodes N]\n"
		"                  [--proxy] [--hint] [--build DIR] [--root DIR] [--out FILE]\n");
}

static json_t *
num_or_null(double v)
{
	return v < 0 ? json_null() : json_real((double)(long long)(v * 1000 + 0.5) / 1000);
}

void
bl_report(json_t *out, const struct bl_result *r)
{
	bool derived = r->r_cpu_us < 0 && r->r_rate == 0; /* a ratio, a memory figure */
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "scenario",
		r->r_scenario, "what", r->r_what, "done", (json_int_t)r->r_done, "failed", (json_int_t)r->r_failed,
		"seconds", num_or_null(derived ? -1 : r->r_seconds), "per_second",
		num_or_null(derived ? -1 : r->r_rate), "server_cpu_us_per_op", num_or_null(r->r_cpu_us), "p50_ms",
		num_or_null(r->r_p50), "p99_ms", num_or_null(r->r_p99), "p999_ms", num_or_null(r->r_p999),
		"resume_p50_ms", num_or_null(r->r_aux50), "resume_p99_ms", num_or_null(r->r_aux99), "resume_p999_ms",
		num_or_null(r->r_aux999), "value", r->r_extra != 0 ? json_real(r->r_extra) : json_null());

	if (r->r_split > 0)
		json_object_set_new(o, "database_cpu_us_per_op", num_or_null(r->r_cpu_split_us));
	if (!derived)
		json_object_set_new(
			o, "keyholder_cpu_us_per_op", num_or_null(r->r_cpu_kids_us > 0 ? r->r_cpu_kids_us : -1));

	json_array_append_new(out, o);
	if (derived)
		printf("%-9s %-46s %38s %12.*f\n", r->r_scenario, r->r_what, "", r->r_extra < 10 ? 3 : 1, r->r_extra);
	else
		printf("%-9s %-46s %7ld %4ld %9.1f %9.0f %8.1f %8.1f %s\n", r->r_scenario, r->r_what, r->r_done,
			r->r_failed, r->r_rate, r->r_cpu_us, r->r_p50, r->r_p99,
			r->r_aux50 >= 0 ? "(resume below)" : "");
	if (r->r_split > 0 && r->r_cpu_split_us >= 0)
		printf("%-9s %-46s %22s %9.0f\n", r->r_scenario, "  of which the database server's processes", "",
			r->r_cpu_split_us);
	if (!derived && r->r_cpu_kids_us > 0)
		printf("%-9s %-46s %22s %9.0f\n", r->r_scenario, "  of which the key holder's process", "",
			r->r_cpu_kids_us);
	if (r->r_aux50 >= 0)
		printf("%-9s %-46s %38s p50 %.1f  p99 %.1f  p999 %.1f ms\n", r->r_scenario, "  confirm -> resume", "",
			r->r_aux50, r->r_aux99, r->r_aux999);
	fflush(stdout);
}

static int
opt_num(int argc, char **argv, int *i, double *out)
{
	char *end;

	if (*i + 1 >= argc)
		return -1;
	*out = strtod(argv[++*i], &end);
	return *end == '\0' && *out >= 0 ? 0 : -1;
}

static int
parse(int argc, char **argv, struct bl_opts *o, const char **scenario)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		double v;
		if (i + 1 < argc && strcmp(a, "--scenario") == 0)
			*scenario = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--engine") == 0)
			o->o_engine = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--out") == 0)
			o->o_out = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--build") == 0)
			o->o_build = argv[++i];
		else if (i + 1 < argc && strcmp(a, "--root") == 0)
			o->o_root = argv[++i];
		else if (strcmp(a, "--seconds") == 0 && opt_num(argc, argv, &i, &v) == 0 && v > 0 && v <= 600)
			o->o_seconds = v;
		else if (strcmp(a, "--workers") == 0 && opt_num(argc, argv, &i, &v) == 0 && v >= 1 && v <= 256)
			o->o_workers = (int)v;
		else if (strcmp(a, "--max") == 0 && opt_num(argc, argv, &i, &v) == 0 && v >= 1)
			o->o_max = (long)v;
		else if (strcmp(a, "--waiters") == 0 && opt_num(argc, argv, &i, &v) == 0 && v >= 1 && v <= 1000000)
			o->o_waiters = (long)v;
		else if (strcmp(a, "--addrs") == 0 && opt_num(argc, argv, &i, &v) == 0 && v >= 1 && v <= 250)
			o->o_addrs = (int)v;
		else if (strcmp(a, "--proxy") == 0)
			o->o_proxy = true;
		else if (strcmp(a, "--hint") == 0)
			o->o_hint = true;
		else if (strcmp(a, "--nodes") == 0 && opt_num(argc, argv, &i, &v) == 0 && v >= 1 && v <= 16)
			o->o_nodes = (int)v;
		else
			return -1;
	}
	if (strcmp(o->o_engine, "sqlite") != 0 && strcmp(o->o_engine, "postgresql") != 0)
		return -1;
	return 0;
}

/* The run's temp directory and its test CA (scripts/test-env.sh's). */
static int
setup(struct bl_opts *o)
{
	char cli[BL_URL_MAX], dir[BL_URL_MAX];

	snprintf(o->o_tmp, sizeof(o->o_tmp), "/tmp/sleutel-bench.XXXXXX");
	if (mkdtemp(o->o_tmp) == NULL)
		return -1;
	snprintf(cli, sizeof(cli), "%s/sleutel", o->o_build);
	snprintf(dir, sizeof(dir), "%s/ca", o->o_tmp);
	{
		char *argv[] = { cli, "init", dir, NULL };
		if (bl_run(argv, NULL) != 0)
			return -1;
	}
	snprintf(o->o_ca, sizeof(o->o_ca), "%s/ca/tls", o->o_tmp);
	return 0;
}

/* `--engine postgresql` alone means scenario 5; the other scenarios run
 * on SQLite, the embedded engine one node uses. */
static int
engine_choice(const struct bl_opts *o, const char **scenario)
{
	if (strcmp(o->o_engine, "sqlite") == 0)
		return 0;
	if (strcmp(*scenario, "all") == 0)
		*scenario = "postgresql";
	if (strcmp(*scenario, "postgresql") != 0) {
		fprintf(stderr, "bench: --engine postgresql is scenario postgresql (the others run on SQLite)\n");
		return -1;
	}
	return 0;
}

static int
write_results(const struct bl_opts *o, json_t *rows)
{
	json_t *doc = json_pack("{s:s, s:s, s:i, s:f, s:i, s:I, s:O}", "engine", o->o_engine, "generator",
		"bench_load (C)", "nodes", o->o_nodes, "seconds", o->o_seconds, "workers", o->o_workers, "waiters",
		(json_int_t)o->o_waiters, "results", rows);
	int rc = json_dump_file(doc, o->o_out, JSON_INDENT(2)) == 0 ? 0 : -1;

	json_decref(doc);
	if (rc != 0)
		fprintf(stderr, "bench: could not write %s\n", o->o_out);
	else
		printf("\nresults: %s\n", o->o_out);
	return rc;
}

int
main(int argc, char **argv)
{
	struct bl_opts o = { .o_build = "build",
		.o_root = ".",
		.o_out = "build/bench/results.json",
		.o_engine = "sqlite",
		.o_nodes = 1,
		.o_seconds = 5,
		.o_workers = 8,
		.o_max = 1000000,
		.o_waiters = 100000,
		.o_addrs = 8 };
	const char *scenario = "all";
	json_t *rows;
	int rc = 0;
	bool all;

	if (parse(argc, argv, &o, &scenario) != 0) {
		usage();
		return 2;
	}
	if (engine_choice(&o, &scenario) != 0)
		return 2;
	all = strcmp(scenario, "all") == 0;
	if (!all && strcmp(scenario, "trivial") != 0 && strcmp(scenario, "app") != 0 && strcmp(scenario, "eid") != 0 &&
		strcmp(scenario, "waiters") != 0 && strcmp(scenario, "postgresql") != 0) {
		usage();
		return 2;
	}
	/* the waiters' sockets, and the servers started from here inherit it */
	bl_raise_nofile(2 * o.o_waiters + 4096);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup(&o) != 0) {
		fprintf(stderr, "bench: could not make the run's directory and test CA\n");
		return 1;
	}
	rows = json_array();
	printf("%-9s %-46s %7s %4s %9s %9s %8s %8s\n", "scenario", "figure", "done", "fail", "per s", "srv us/op",
		"p50 ms", "p99 ms");
	if ((all || strcmp(scenario, "trivial") == 0) && bl_trivial(&o, rows) != 0)
		rc = 1;
	if ((all || strcmp(scenario, "app") == 0) && bl_app(&o, rows) != 0)
		rc = 1;
	if ((all || strcmp(scenario, "eid") == 0) && bl_eid(&o, rows) != 0)
		rc = 1;
	if ((all || strcmp(scenario, "waiters") == 0) && bl_waiters(&o, rows) != 0)
		rc = 1;
	if ((all || strcmp(scenario, "postgresql") == 0) && bl_pgnodes(&o, rows) != 0)
		rc = 1;
	if (write_results(&o, rows) != 0)
		rc = 1;
	json_decref(rows);
	if (rc == 0) {
		char *argv_rm[] = { "rm", "-rf", o.o_tmp, NULL };
		bl_run(argv_rm, NULL);
	} else {
		fprintf(stderr, "bench: something failed; logs kept in %s\n", o.o_tmp);
	}
	curl_global_cleanup();
	return rc;
}
