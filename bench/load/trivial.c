/*
 * trivial.c — scenario 1: complete authorization-code logins with a
 * trivial interaction, sleuteld against npm oidc-provider in the same run,
 * with the same generator and concurrency.
 *
 * sleuteld: plain HTTP behind the proxy config ([server] tls = false,
 * trusted_proxies = 127.0.0.1, the bench sends X-Forwarded-For), a new
 * browser per login: /authorize (PKCE) → /key/test → the test key's form
 * POSTed → consent (shared) → code → /token (client_secret_basic; ES256 ID
 * token).  oidc-provider (bench/peer/oidc-provider.mjs): /auth (PKCE) →
 * the development login form POSTed → the consent form POSTed → code →
 * /token.  Each login is counted only when the token answer holds an ID
 * token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bl.h"

#define TRIVIAL_NODES BL_NODES_MAX

/* The servers a login runs on: one, or several nodes of one database — a
 * worker's logins go to node w % n and their codes are redeemed on the next
 * node, so each login crosses nodes as behind a load balancer. */
struct trivial {
	const char *t_base[TRIVIAL_NODES]; /* where the bench connects */
	char t_authz[TRIVIAL_NODES][300], t_token[TRIVIAL_NODES][300]; /* endpoint URLs */
	int t_nodes;
	char t_basic[300];
	char t_client[128];
	struct bl_http *t_http; /* one per worker */
};

static char *
peer_form(const char *url, const char *html, char *action, size_t size)
{
	snprintf(action, size, "%s", url);
	if (strstr(html, "name=\"prompt\" value=\"login\"") != NULL)
		return strdup("prompt=login&login=bench&password=bench");
	if (strstr(html, "name=\"prompt\" value=\"consent\"") != NULL)
		return strdup("prompt=consent");
	return NULL;
}

static int
login(struct trivial *t, int w, bl_form_fn form_for, bool sleutel)
{
	struct bl_http *h = &t->t_http[w];
	int node = w % t->t_nodes;
	const char *base = t->t_base[node];
	char verifier[64], challenge[64], url[BL_URL_MAX], back[BL_URL_MAX];
	long st;

	bl_http_forget_cookies(h); /* a new browser */
	bl_pkce(verifier, challenge);
	bl_authorize_url(t->t_authz[node], t->t_client, challenge, "openid profile", url, sizeof(url));
	st = bl_http_req(h, url, NULL, NULL);
	if (st != 302 && st != 303)
		return 0;
	snprintf(url, sizeof(url), "%s", h->h_location);
	if (sleutel) { /* the key choice: straight to the test key */
		char req[128];
		if (bl_query(url, "req", req, sizeof(req)) != 0)
			return 0;
		snprintf(url, sizeof(url), "%s/key/test?req=%s", base, req);
	}
	if (bl_browse(h, base, url, form_for, back, sizeof(back)) != 0)
		return 0;
	return bl_token(h, t->t_token[(node + 1) % t->t_nodes], t->t_basic, back, verifier);
}

static int
op_sleutel(void *ctx, int w, struct bl_lat *aux)
{
	(void)aux;
	return login(ctx, w, bl_sleutel_form, true);
}

static int
op_peer(void *ctx, int w, struct bl_lat *aux)
{
	(void)aux;
	return login(ctx, w, peer_form, false);
}

static int
drive(const struct bl_opts *o, struct trivial *t, bl_op_fn op, const pid_t *pids, int npids, const char *xff,
	struct bl_result *r)
{
	int rc;

	t->t_http = calloc((size_t)o->o_workers, sizeof(*t->t_http));
	if (t->t_http == NULL)
		return -1;
	for (int i = 0; i < o->o_workers; i++) {
		bl_http_init(&t->t_http[i], NULL);
		t->t_http[i].h_xff = xff;
	}
	/* one login first: a failure here is a broken setup, not a figure */
	if (!op(t, 0, NULL)) {
		fprintf(stderr, "bench: trivial login failed (status %ld, %s)\n", t->t_http[0].h_status,
			t->t_http[0].h_body ? t->t_http[0].h_body : "");
		rc = -1;
	} else {
		rc = bl_run_timed(o, o->o_workers, op, t, pids, npids, r);
	}
	for (int i = 0; i < o->o_workers; i++)
		bl_http_free(&t->t_http[i]);
	free(t->t_http);
	return rc;
}

/* Point `t` at node i's endpoints. */
static void
set_node(struct trivial *t, int i, const char *base)
{
	t->t_base[i] = base;
	snprintf(t->t_authz[i], sizeof(t->t_authz[i]), "%s/authorize", base);
	snprintf(t->t_token[i], sizeof(t->t_token[i]), "%s/token", base);
}

int
bl_trivial_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const pid_t *extra, int nextra,
	struct bl_result *r)
{
	struct trivial t = { .t_nodes = n };
	pid_t pids[TRIVIAL_NODES + 64];
	char secret[128];
	int np;

	if (n > TRIVIAL_NODES || (np = bl_node_pids(nodes, n, extra, nextra, pids, TRIVIAL_NODES + 64)) < 0)
		return -1;
	if (bl_server_client(o, &nodes[0], t.t_client, secret) != 0)
		return -1;
	snprintf(t.t_basic, sizeof(t.t_basic), "%s:%s", t.t_client, secret);
	for (int i = 0; i < n; i++)
		set_node(&t, i, nodes[i].s_base);
	return drive(o, &t, op_sleutel, pids, np, "198.51.100.7", r);
}

static int
run_sleutel(const struct bl_opts *o, struct bl_result *r, const char *name, const char *extra)
{
	struct bl_server s;
	int rc;

	if (bl_server_start(o, name, false, false, extra, &s) != 0)
		return -1;
	rc = bl_trivial_nodes(o, &s, 1, NULL, 0, r);
	bl_server_stop(&s);
	return rc;
}

/* Start the peer; its pid, port; stdin pipe in *in (closed: it stops). */
static pid_t
peer_start(const struct bl_opts *o, int *port, int *in)
{
	char script[BL_URL_MAX], log[BL_URL_MAX], ps[16], line[256] = "";
	pid_t pid;

	*port = bl_free_port();
	snprintf(ps, sizeof(ps), "%d", *port);
	snprintf(script, sizeof(script), "%s/bench/peer/oidc-provider.mjs", o->o_root);
	snprintf(log, sizeof(log), "%s/oidc-provider.log", o->o_tmp);
	{
		char *argv[] = { "node", script, "--port", ps, NULL };
		if ((pid = bl_spawn(argv, log, in)) <= 0)
			return -1;
	}
	/* ready when its first line ({"port":N}) is in the log */
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(log, "r");
		bool up = false;
		if (f != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				up = up || strncmp(line, "{\"port\":", 8) == 0;
			fclose(f);
		}
		if (up)
			return pid;
		usleep(50000);
	}
	fprintf(stderr, "bench: oidc-provider did not start (see %s)\n", log);
	close(*in);
	bl_stop(pid, 5);
	return -1;
}

static int
run_peer(const struct bl_opts *o, struct bl_result *r)
{
	struct trivial t = {
		.t_nodes = 1, .t_client = "bench", .t_basic = "bench:bench-secret-bench-secret-bench-secret"
	};
	char base[64];
	int port, in, rc;
	pid_t pid = peer_start(o, &port, &in);

	if (pid <= 0)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	t.t_base[0] = base;
	snprintf(t.t_authz[0], sizeof(t.t_authz[0]), "%s/auth", base);
	snprintf(t.t_token[0], sizeof(t.t_token[0]), "%s/token", base);
	rc = drive(o, &t, op_peer, &pid, 1, NULL, r);
	close(in);
	bl_stop(pid, 5);
	return rc;
}

int
bl_trivial(const struct bl_opts *o, json_t *out)
{
	struct bl_result s = { .r_scenario = "trivial" }, p = { .r_scenario = "trivial" };
	struct bl_result m = { .r_scenario = "trivial" };
	/* SLEUTEL_BENCH_TRIVIAL=sleutel: the first row alone, for profiles
	 * and counts through SLEUTEL_BENCH_WRAP (docs/performance.md) */
	const char *only = getenv("SLEUTEL_BENCH_TRIVIAL");
	bool alone = only != NULL && strcmp(only, "sleutel") == 0;
	int rc = 0;

	snprintf(s.r_what, sizeof(s.r_what), "sleuteld login (test key, http+proxy)");
	snprintf(m.r_what, sizeof(m.r_what), "  the same, connection_memory = 8192");
	snprintf(p.r_what, sizeof(p.r_what), "oidc-provider login (devInteractions)");
	if (run_sleutel(o, &s, "trivial", "[portal]\nkeys = test\n") == 0)
		bl_report(out, &s);
	else
		rc = -1;
	if (alone)
		return rc;
	/* MHD zeroes a connection's whole memory pool for each request: the
	 * smallest pool shows what that costs a login */
	if (run_sleutel(o, &m, "trivial-mem", "[portal]\nkeys = test\n[server]\nconnection_memory = 8192\n") == 0)
		bl_report(out, &m);
	else
		rc = -1;
	if (run_peer(o, &p) == 0)
		bl_report(out, &p);
	else
		rc = -1;
	if (rc == 0 && s.r_cpu_us > 0) {
		struct bl_result ratio = { .r_scenario = "trivial" };
		snprintf(ratio.r_what, sizeof(ratio.r_what), "ratio sleuteld/oidc-provider CPU per login");
		ratio.r_extra = s.r_cpu_us / p.r_cpu_us;
		ratio.r_cpu_us = -1;
		ratio.r_p50 = ratio.r_p99 = ratio.r_p999 = ratio.r_aux50 = ratio.r_aux99 = ratio.r_aux999 = -1;
		bl_report(out, &ratio);
	}
	return rc;
}
