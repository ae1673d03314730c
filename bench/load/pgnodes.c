/*
 * pgnodes.c — scenario 5: the trivial, app and eID logins on
 * PostgreSQL, on one node and on several nodes sharing the database
 * (issue 11).
 *
 * The bench starts a throwaway PostgreSQL server (scripts/pg-test-server.sh:
 * 127.0.0.1, a free port, a temp dir, stopped by its PID), makes a database
 * for each installation, `sleutel init --postgresql`, and for N nodes starts
 * N-1 more sleuteld on the same installation with their own ports
 * (bl_server_twin) — what an operator runs behind a load balancer.  Each
 * login crosses nodes: the trivial login's browser on node w % N, its code
 * redeemed on the next node; the app login's browser on node w % N, the
 * phone confirming and the RP redeeming on the next, so the confirmation
 * wakes the browser's long-poll on another node through LISTEN/NOTIFY;
 * the eID login's browser on node w % N, the card's client-certificate
 * handshake and the RP on the next.
 * The app login needs one origin for every node (a device proof's htu is
 * the issuer's URL): the issuer is a loopback port no node listens on, and
 * the bench's handles connect to their node behind it (app.c).  The CPU
 * per login counts the nodes AND the PostgreSQL server's processes, since
 * on this engine the database's work is no longer inside sleuteld.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl.h"

#define PG_NODES_MAX 8 /* <= BL_NODES_MAX */
#define PG_PIDS_MAX 64

/* The PostgreSQL server's processes: the postmaster and its children. */
static int
pg_pids(pid_t postmaster, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	out[n++] = postmaster;
	while ((e = readdir(d)) != NULL && n < max) {
		char path[300], line[256];
		FILE *f;
		long ppid = -1;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "PPid: %ld", &ppid) == 1)
				break;
		fclose(f);
		if (ppid == (long)postmaster)
			out[n++] = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return n;
}

struct pg_server {
	char ps_dir[300];
	char ps_admin[512]; /* the admin conninfo pg-test-server.sh printed */
	pid_t ps_pid;
};

static int
pg_start(const struct bl_opts *o, struct pg_server *pg)
{
	char script[BL_URL_MAX], *text = NULL, pidfile[400];
	FILE *f;
	long pid = 0;

	/* its own directory under /tmp: the run's is private to this user, and
	 * the server runs as `postgres` when the bench runs as root */
	snprintf(pg->ps_dir, sizeof(pg->ps_dir), "/tmp/sleutel-bench-pg.XXXXXX");
	if (mkdtemp(pg->ps_dir) == NULL)
		return -1;
	snprintf(script, sizeof(script), "%s/scripts/pg-test-server.sh", o->o_root);
	{
		char *argv[] = { "sh", script, "start", pg->ps_dir, NULL };
		if (bl_run(argv, &text) != 0 || text == NULL) {
			fprintf(stderr, "bench: the PostgreSQL server did not start (%s)\n", script);
			free(text);
			return -1;
		}
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(pg->ps_admin, sizeof(pg->ps_admin), "%s", text);
	free(text);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", pg->ps_dir);
	if ((f = fopen(pidfile, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	pg->ps_pid = (pid_t)pid;
	return pid > 0 ? 0 : -1;
}

static void
pg_stop(const struct bl_opts *o, struct pg_server *pg)
{
	char script[BL_URL_MAX];
	char *argv[] = { "sh", script, "stop", pg->ps_dir, NULL };

	snprintf(script, sizeof(script), "%s/scripts/pg-test-server.sh", o->o_root);
	bl_run(argv, NULL);
}

/* A fresh database `name` on the server; its conninfo in `out`. */
static int
pg_database(const struct pg_server *pg, const char *name, char *out, size_t size)
{
	char sql[128];
	const char *db = strstr(pg->ps_admin, "dbname=");
	char *argv[] = { "psql", (char *)pg->ps_admin, "-qAtX", "-c", sql, NULL };
	int n;

	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (bl_run(argv, NULL) != 0) {
		fprintf(stderr, "bench: CREATE DATABASE %s failed\n", name);
		return -1;
	}
	/* the admin conninfo with its dbname replaced */
	if (db == NULL)
		n = snprintf(out, size, "%s dbname=%s", pg->ps_admin, name);
	else
		n = snprintf(out, size, "%.*sdbname=%s%s", (int)(db - pg->ps_admin), pg->ps_admin, name,
			db + strcspn(db, " "));
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* What runs on the nodes: the trivial login on plain HTTP behind the proxy
 * config; the app login, or the eID login (the demo PKI), on TLS with the
 * issuer (and the eID origin's public URL) in front of the nodes. */
enum pg_login { PG_TRIVIAL, PG_APP, PG_EID };

static const char *const pg_names[] = { "nodes", "app", "eid" };

/* Logins on `n` nodes of a fresh installation on PostgreSQL. */
static int
run_nodes(const struct bl_opts *base, const struct pg_server *pg, enum pg_login what, int n, struct bl_result *r)
{
	struct bl_opts o = *base;
	struct bl_server nodes[PG_NODES_MAX];
	pid_t pids[PG_PIDS_MAX];
	char name[32], extra[1024], issuer[64], eid_origin[64];
	int started = 0, np, rc = -1;

	snprintf(name, sizeof(name), "bench_%s%d", pg_names[what], n);
	if (pg_database(pg, name, o.o_conninfo, sizeof(o.o_conninfo)) != 0)
		return -1;
	/* the load balancer's origins, where no node listens: every request
	 * reaches a node only through the bench's connect-to */
	snprintf(issuer, sizeof(issuer), "https://127.0.0.1:%d", bl_free_port());
	snprintf(eid_origin, sizeof(eid_origin), "https://127.0.0.1:%d", bl_free_port());
	if (what == PG_APP)
		snprintf(extra, sizeof(extra), "%s[server]\nissuer = %s\n", bl_app_conf, issuer);
	else if (what == PG_EID)
		snprintf(extra, sizeof(extra), "%s[server]\nissuer = %s\n[eid]\npublic_url = %s\n", bl_eid_conf, issuer,
			eid_origin);
	else
		snprintf(extra, sizeof(extra), "[portal]\nkeys = test\n");
	if (bl_server_start(&o, name, what == PG_EID, what != PG_TRIVIAL, extra, &nodes[0]) != 0)
		return -1;
	for (started = 1; started < n; started++) {
		char ini[32];
		snprintf(ini, sizeof(ini), "node%d.ini", started + 1);
		if (bl_server_twin(&nodes[0], ini, NULL, &nodes[started]) != 0)
			goto out;
	}
	/* the backends exist once every node has opened its pool */
	np = pg_pids(pg->ps_pid, pids, PG_PIDS_MAX);
	if (what == PG_APP)
		rc = bl_app_nodes(&o, nodes, n, issuer, pids, np, r);
	else if (what == PG_EID)
		rc = bl_eid_nodes(&o, nodes, n, issuer, eid_origin, pids, np, r);
	else
		rc = bl_trivial_nodes(&o, nodes, n, pids, np, r);
out:
	while (started-- > 0)
		bl_server_stop(&nodes[started]);
	return rc;
}

/* One figure: its row when it ran, -1 when not. */
static int
figure(const struct bl_opts *o, const struct pg_server *pg, enum pg_login what, int n, const char *label, json_t *out)
{
	/* the pids are the n nodes', then the database server's: its share apart */
	struct bl_result r = { .r_scenario = "postgres", .r_split = n };

	snprintf(r.r_what, sizeof(r.r_what), "%s", label);
	if (run_nodes(o, pg, what, n, &r) != 0)
		return -1;
	bl_report(out, &r);
	return 0;
}

int
bl_pgnodes(const struct bl_opts *o, json_t *out)
{
	struct pg_server pg;
	char many[96], app_many[96], eid_many[96];
	int n = o->o_nodes > 1 ? o->o_nodes : 2, rc = 0;

	if (n > PG_NODES_MAX) {
		fprintf(stderr, "bench: at most %d nodes\n", PG_NODES_MAX);
		return -1;
	}
	if (pg_start(o, &pg) != 0)
		return -1;
	snprintf(many, sizeof(many), "login, %d nodes, code redeemed on the next", n);
	snprintf(app_many, sizeof(app_many), "app login, %d nodes, phone + RP on the next", n);
	snprintf(eid_many, sizeof(eid_many), "eID login, %d nodes, card + RP on the next", n);
	if (figure(o, &pg, PG_TRIVIAL, 1, "login, 1 node (sleuteld + PostgreSQL CPU)", out) != 0)
		rc = -1;
	if (figure(o, &pg, PG_TRIVIAL, n, many, out) != 0)
		rc = -1;
	if (figure(o, &pg, PG_APP, 1, "app login, 1 node (sleuteld + PostgreSQL CPU)", out) != 0)
		rc = -1;
	if (figure(o, &pg, PG_APP, n, app_many, out) != 0)
		rc = -1;
	if (figure(o, &pg, PG_EID, 1, "eID login, 1 node (sleuteld + PostgreSQL CPU)", out) != 0)
		rc = -1;
	if (figure(o, &pg, PG_EID, n, eid_many, out) != 0)
		rc = -1;
	pg_stop(o, &pg);
	return rc;
}
