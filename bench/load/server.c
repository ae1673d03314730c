/*
 * server.c — a sleuteld for one scenario, as the integration harness makes
 * one (tests/integration/lib/harness.mjs): `sleutel init` in a fresh
 * directory with free loopback ports and the run's test CA, the scenario's
 * INI lines appended (a later key wins in sleutel.ini), the metrics port
 * moved off the default, started, and ready when /healthz answers 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bl.h"

static int
append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) < 0 ? -1 : 0;
	return fclose(f) != 0 ? -1 : rc;
}

/* Has the daemon exited (then it is reaped)? */
static bool
waitpid_gone(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == pid;
}

static int
wait_healthy(struct bl_server *s)
{
	struct bl_http h;
	char url[300];
	int rc = -1;

	if (bl_http_init(&h, s->s_ca_file) != 0)
		return -1;
	snprintf(url, sizeof(url), "%s/healthz", s->s_base);
	for (int i = 0; i < 1200 && rc != 0; i++) { /* 60 s: under a profiler too */
		if (bl_http_req(&h, url, NULL, NULL) == 200)
			rc = 0;
		else if (waitpid_gone(s->s_pid))
			break;
		else
			usleep(50000);
	}
	bl_http_free(&h);
	return rc;
}

static int launch(struct bl_server *s, bool tls, const char *extra);

int
bl_server_start(const struct bl_opts *o, const char *name, bool demo, bool tls, const char *extra, struct bl_server *s)
{
	char cli[BL_URL_MAX], port[16], eport[16], pport[16], conf[256];

	memset(s, 0, sizeof(*s));
	snprintf(s->s_dir, sizeof(s->s_dir), "%s/%s", o->o_tmp, name);
	snprintf(s->s_config, sizeof(s->s_config), "%s/sleutel.ini", s->s_dir);
	snprintf(s->s_ca_file, sizeof(s->s_ca_file), "%s/ca.pem", o->o_ca);
	snprintf(cli, sizeof(cli), "%s/sleutel", o->o_build);
	snprintf(s->s_build, sizeof(s->s_build), "%s", o->o_build);
	s->s_port = bl_free_port();
	do
		s->s_eid_port = bl_free_port();
	while (s->s_eid_port == s->s_port);
	snprintf(port, sizeof(port), "%d", s->s_port);
	snprintf(eport, sizeof(eport), "%d", s->s_eid_port);
	{
		char *argv[16] = { cli, "init", s->s_dir, "--port", port, "--eid-port", eport, "--ca",
			(char *)o->o_ca };
		int n = 9;
		if (o->o_conninfo[0] != '\0') {
			argv[n++] = "--postgresql";
			argv[n++] = (char *)o->o_conninfo;
		}
		if (demo) {
			argv[n++] = "--demo";
			argv[n++] = "--pki-port";
			argv[n++] = pport;
			do
				s->s_pki_port = bl_free_port();
			while (s->s_pki_port == s->s_port || s->s_pki_port == s->s_eid_port);
			snprintf(pport, sizeof(pport), "%d", s->s_pki_port);
		}
		if (bl_run(argv, NULL) != 0) {
			fprintf(stderr, "bench: sleutel init %s failed\n", s->s_dir);
			return -1;
		}
	}
	s->s_metrics_port = bl_free_port();
	snprintf(conf, sizeof(conf), "\n[metrics]\nport = %d\n", s->s_metrics_port);
	if (append(s->s_config, conf) != 0)
		return -1;
	snprintf(s->s_issuer, sizeof(s->s_issuer), "https://127.0.0.1:%d", s->s_port);
	snprintf(s->s_eid_base, sizeof(s->s_eid_base), "https://127.0.0.1:%d", s->s_eid_port);
	return launch(s, tls, extra);
}

int
bl_server_restart(struct bl_server *s, bool tls, const char *extra)
{
	bl_server_stop(s);
	return launch(s, tls, extra);
}

/* Append the scenario's lines, start sleuteld, wait until it answers. */
static int
launch(struct bl_server *s, bool tls, const char *extra)
{
	char daemon[BL_URL_MAX], log[BL_URL_MAX + 16], conf[4096], more[512];

	snprintf(daemon, sizeof(daemon), "%s/sleuteld", s->s_build);
	/* SLEUTEL_BENCH_SERVER: more [server] lines for every daemon of the
	 * run, ";" for a new line (e.g. "threads = 8": docs/performance.md) */
	snprintf(more, sizeof(more), "%s", getenv("SLEUTEL_BENCH_SERVER") ? getenv("SLEUTEL_BENCH_SERVER") : "");
	for (char *p = more; *p != '\0'; p++)
		if (*p == ';')
			*p = '\n';
	snprintf(conf, sizeof(conf), "\n%s%s\n%s\n",
		tls ? "[server]\ntls = true\n" : "[server]\ntls = false\ntrusted_proxies = 127.0.0.1\n", more,
		extra ? extra : "");
	if (append(s->s_config, conf) != 0)
		return -1;
	s->s_tls = tls;
	snprintf(s->s_base, sizeof(s->s_base), "%s://127.0.0.1:%d", tls ? "https" : "http", s->s_port);
	snprintf(log, sizeof(log), "%s.log", s->s_config); /* per node: nodes share s_dir */
	{
		/* SLEUTEL_BENCH_WRAP: a command line the daemon runs under (a
		 * profiler: docs/performance.md), words split on spaces */
		const char *env = getenv("SLEUTEL_BENCH_WRAP");
		char *argv[32], *wrap = env != NULL ? strdup(env) : NULL, *save = NULL;
		int n = 0;
		for (char *w = wrap ? strtok_r(wrap, " ", &save) : NULL; w != NULL && n < 28;
			w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
		argv[n++] = daemon;
		argv[n++] = "--config";
		argv[n++] = s->s_config;
		argv[n] = NULL;
		s->s_pid = bl_spawn(argv, log, NULL);
		free(wrap);
		if (s->s_pid <= 0)
			return -1;
	}
	if (wait_healthy(s) != 0) {
		fprintf(stderr, "bench: sleuteld did not become healthy (see %s)\n", log);
		bl_server_stop(s);
		return -1;
	}
	return 0;
}

int
bl_server_twin(const struct bl_server *first, const char *name, const char *extra, struct bl_server *s)
{
	char ports[256];
	FILE *in, *out;
	int c;

	*s = *first;
	s->s_pid = 0;
	snprintf(s->s_config, sizeof(s->s_config), "%s/%s", first->s_dir, name);
	do
		s->s_port = bl_free_port();
	while (s->s_port == first->s_port || s->s_port == first->s_eid_port);
	do
		s->s_eid_port = bl_free_port();
	while (s->s_eid_port == s->s_port || s->s_eid_port == first->s_port || s->s_eid_port == first->s_eid_port);
	s->s_metrics_port = bl_free_port();
	/* a copy of the first node's file (the same issuer, keys, database),
	 * its own ports appended: a later key wins */
	if ((in = fopen(first->s_config, "r")) == NULL)
		return -1;
	if ((out = fopen(s->s_config, "w")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((c = fgetc(in)) != EOF)
		fputc(c, out);
	fclose(in);
	if (fclose(out) != 0)
		return -1;
	snprintf(ports, sizeof(ports), "\n[server]\nport = %d\n[eid]\nport = %d\n[metrics]\nport = %d\n", s->s_port,
		s->s_eid_port, s->s_metrics_port);
	if (append(s->s_config, ports) != 0)
		return -1;
	if (first->s_pki_port != 0) {
		/* the demo PKI's OCSP responder and CRLs: each node serves them on
		 * a port of its own (the certificates name the first node's) */
		do
			s->s_pki_port = bl_free_port();
		while (s->s_pki_port == first->s_pki_port || s->s_pki_port == s->s_port ||
			s->s_pki_port == s->s_eid_port);
		snprintf(ports, sizeof(ports), "[pki]\nport = %d\n", s->s_pki_port);
		if (append(s->s_config, ports) != 0)
			return -1;
	}
	snprintf(s->s_eid_base, sizeof(s->s_eid_base), "https://127.0.0.1:%d", s->s_eid_port);
	return launch(s, first->s_tls, extra);
}

int
bl_server_cli(const struct bl_opts *o, const struct bl_server *s, const char *const *args, char **out)
{
	char cli[BL_URL_MAX], *argv[32];
	int n = 0;

	snprintf(cli, sizeof(cli), "%s/sleutel", o->o_build);
	argv[n++] = cli;
	argv[n++] = "--config";
	argv[n++] = (char *)s->s_config;
	for (; *args != NULL && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	return bl_run(argv, out);
}

int
bl_server_client(const struct bl_opts *o, const struct bl_server *s, char id[128], char secret[128])
{
	const char *args[] = { "client", "add", "--name", "Bench", "--json", "--redirect-uri", "https://rp.example/cb",
		"--scopes", "openid profile", NULL };
	char *text = NULL;
	json_t *doc;
	int rc = -1;

	if (bl_server_cli(o, s, args, &text) != 0)
		goto out;
	if ((doc = json_loads(text, 0, NULL)) != NULL) {
		const char *i = json_string_value(json_object_get(doc, "client_id"));
		const char *sec = json_string_value(json_object_get(doc, "client_secret"));
		if (i != NULL && sec != NULL) {
			snprintf(id, 128, "%s", i);
			snprintf(secret, 128, "%s", sec);
			rc = 0;
		}
		json_decref(doc);
	}
out:
	if (rc != 0)
		fprintf(stderr, "bench: client add failed: %s\n", text ? text : "");
	free(text);
	return rc;
}

int
bl_with_server(const struct bl_opts *o, const char *name, bool demo, bool tls, const char *extra, bl_server_fn body,
	json_t *out)
{
	struct bl_server s;
	int rc;

	if (bl_server_start(o, name, demo, tls, extra, &s) != 0)
		return -1;
	rc = body(o, &s, out);
	bl_server_stop(&s);
	return rc;
}

int
bl_node_pids(const struct bl_server *nodes, int n, const pid_t *extra, int nextra, pid_t *out, int max)
{
	int np = 0;

	if (n < 1 || nextra < 0 || n + nextra > max)
		return -1;
	for (int i = 0; i < n; i++)
		out[np++] = nodes[i].s_pid;
	for (int i = 0; i < nextra; i++)
		out[np++] = extra[i];
	return np;
}

void
bl_server_stop(struct bl_server *s)
{
	if (s->s_pid > 0) {
		int st = bl_stop(s->s_pid, 20);
		if (st != 0)
			fprintf(stderr, "bench: sleuteld %s stopped with %d (see %s.log)\n", s->s_dir, st, s->s_config);
	}
	s->s_pid = 0;
}
