/*
 * eid.c — scenario 3: eID logins against plain TLS handshakes on the same
 * sleuteld (TLS on both origins, the demo PKI, a virtual card made with
 * `sleutel pki card` as bench/eid.mjs does).
 *
 * Handshake figures are a new TLS connection each for GET /healthz (the
 * status does not matter, the handshake is the point):
 *   - on the portal origin, no client certificate;
 *   - on the eID origin with the card's certificate (the server asks for
 *     one and checks the chain: the "raw client-certificate handshake");
 *   - the same with the TLS session cache on, so a server that resumes
 *     sessions shows it in its CPU per handshake.
 * An eID login: /authorize → /key/eid → the eID origin on a NEW connection
 * with the card (full handshake, validation, verdict cache warm after the
 * first) → back on the portal → code → /token with an ID token.
 *
 * SLEUTEL_BENCH_EID=login in the environment runs the eID login figure
 * alone (no handshake figures, no GnuTLS reference), for a profile of it
 * through SLEUTEL_BENCH_WRAP.
 *
 * bl_eid_nodes: the eID login alone on several nodes of one installation
 * (pgnodes.c), the portal and the eID origin each one URL in front of the
 * nodes: the browser on node w % n, the card's handshake and the RP on the
 * next node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl.h"

struct eid {
	const struct bl_server *e_srv;
	const char *e_origin, *e_eid_origin; /* the portal's and the eID origin's URLs (one node's, or the issuer's) */
	char e_client[128], e_basic[300], e_p12[BL_URL_MAX];
	char e_authz[300], e_token[300], e_url[300];
	bool e_resume; /* handshakes: let curl resume TLS sessions */
	const char *e_ca; /* the CA of the server of a handshake figure */
	struct bl_http *e_agent, *e_card; /* per worker */
	struct bl_http *e_rp; /* per worker on several nodes (the RP on the card's node); NULL: the agent */
};

/* A new connection per request; TLS sessions resumed only with e_resume. */
static void
card_setup(const struct eid *e, struct bl_http *h)
{
	curl_easy_setopt(h->h_curl, CURLOPT_SSLCERTTYPE, "P12");
	curl_easy_setopt(h->h_curl, CURLOPT_SSLCERT, e->e_p12);
	curl_easy_setopt(h->h_curl, CURLOPT_KEYPASSWD, "1234");
	curl_easy_setopt(h->h_curl, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h->h_curl, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h->h_curl, CURLOPT_SSL_SESSIONID_CACHE, e->e_resume ? 1L : 0L);
}

static int
op_handshake(void *ctx, int w, struct bl_lat *aux)
{
	struct eid *e = ctx;

	(void)aux;
	return bl_http_req(&e->e_card[w], e->e_url, NULL, NULL) > 0;
}

static int
op_login(void *ctx, int w, struct bl_lat *aux)
{
	struct eid *e = ctx;
	struct bl_http *a = &e->e_agent[w], *card = &e->e_card[w];
	char verifier[64], challenge[64], url[BL_URL_MAX], req[128], back[BL_URL_MAX];
	const char *p, *q;

	(void)aux;
	bl_http_forget_cookies(a);
	bl_pkce(verifier, challenge);
	bl_authorize_url(e->e_authz, e->e_client, challenge, "openid profile", url, sizeof(url));
	if (bl_http_req(a, url, NULL, NULL) != 303 || bl_query(a->h_location, "req", req, sizeof(req)) != 0)
		return 0;
	snprintf(url, sizeof(url), "%s/key/eid?req=%s", e->e_origin, req);
	if (bl_http_req(a, url, NULL, NULL) != 200)
		return 0;
	/* the link to the eID origin the page offers */
	snprintf(url, sizeof(url), "href=\"%s/eid/login", e->e_eid_origin);
	if ((p = strstr(a->h_body, url)) == NULL || (q = strchr(p + 6, '"')) == NULL || q - p - 6 >= BL_URL_MAX)
		return 0;
	snprintf(url, sizeof(url), "%.*s", (int)(q - p - 6), p + 6);
	{ /* &amp; undone */
		char *r = url, *wr = url;
		while (*r)
			if (strncmp(r, "&amp;", 5) == 0)
				*wr++ = '&', r += 5;
			else
				*wr++ = *r++;
		*wr = '\0';
	}
	if (bl_http_req(card, url, NULL, NULL) != 303)
		return 0;
	snprintf(url, sizeof(url), "%s", card->h_location);
	if (bl_browse(a, e->e_origin, url, bl_sleutel_form, back, sizeof(back)) != 0)
		return 0;
	return bl_token(e->e_rp != NULL ? &e->e_rp[w] : a, e->e_token, e->e_basic, back, verifier);
}

static int
figure(const struct bl_opts *o, struct eid *e, const char *what, bl_op_fn op, const char *url, bool resume, json_t *out,
	struct bl_result *r, pid_t pid)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->r_scenario = "eid";
	snprintf(r->r_what, sizeof(r->r_what), "%s", what);
	snprintf(e->e_url, sizeof(e->e_url), "%s", url);
	e->e_resume = resume;
	for (int i = 0; i < o->o_workers; i++) {
		bl_http_free(&e->e_agent[i]);
		bl_http_free(&e->e_card[i]);
		bl_http_init(&e->e_agent[i], e->e_srv->s_ca_file);
		bl_http_init(&e->e_card[i], e->e_ca ? e->e_ca : e->e_srv->s_ca_file);
		card_setup(e, &e->e_card[i]);
	}
	if (!op(e, 0, NULL)) {
		fprintf(stderr, "bench: %s failed (status %ld)\n", what, e->e_card[0].h_status);
		return -1;
	}
	if (bl_run_timed(o, o->o_workers, op, e, &pid, 1, r) == 0)
		bl_report(out, r);
	else
		rc = -1;
	return rc;
}

/* The server's CPU while one client sent its ClientHello and then
 * nothing for a second (a server that waits for the socket uses none). */
static void
stall_row(json_t *out, const char *what, int port, pid_t pid)
{
	struct bl_result r = { .r_scenario = "eid", .r_cpu_us = -1 };

	snprintf(r.r_what, sizeof(r.r_what), "%s", what);
	r.r_extra = bl_tls_stall(port, 1.0, pid);
	r.r_p50 = r.r_p99 = r.r_p999 = r.r_aux50 = r.r_aux99 = r.r_aux999 = -1;
	bl_report(out, &r);
}

/* A self-signed RSA-2048 certificate for 127.0.0.1 (openssl CLI). */
static int
rsa_cert(const struct bl_server *s, char *cert, char *key, size_t size)
{
	char subj[] = "/CN=127.0.0.1", san[] = "subjectAltName=IP:127.0.0.1";
	char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-subj", subj, "-addext", san, "-days", "2", NULL };

	snprintf(cert, size, "%s/rsa.pem", s->s_dir);
	snprintf(key, size, "%s/rsa.key", s->s_dir);
	return bl_run(argv, NULL);
}

/* The same handshakes against GnuTLS alone (tlsref.c), in variants. */
static int
reference(const struct bl_opts *o, struct eid *e, json_t *out)
{
	char cert[BL_URL_MAX], key[BL_URL_MAX], rcert[BL_URL_MAX], rkey[BL_URL_MAX], url[64];
	struct variant {
		const char *v_what, *v_prio;
		bool v_rsa, v_req, v_tickets;
	} vs[] = {
		{ "GnuTLS alone: P-256 key, NORMAL", "NORMAL", false, false, false },
		{ "GnuTLS alone: + client cert requested (card)", "NORMAL:%COMPAT", false, true, false },
		{ "GnuTLS alone: + session tickets, resumed", "NORMAL", false, false, true },
		{ "GnuTLS alone: TLS 1.2 only (ECDHE P-256)", "NORMAL:-VERS-TLS1.3", false, false, false },
		{ "GnuTLS alone: RSA-2048 key", "NORMAL", true, false, false },
	};
	int rc = 0;

	snprintf(cert, sizeof(cert), "%s/tls/server.pem", e->e_srv->s_dir);
	snprintf(key, sizeof(key), "%s/tls/server.key", e->e_srv->s_dir);
	if (rsa_cert(e->e_srv, rcert, rkey, sizeof(rcert)) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]) && rc == 0; i++) {
		struct bl_tlsref t = { vs[i].v_rsa ? rcert : cert, vs[i].v_rsa ? rkey : key, vs[i].v_prio, vs[i].v_req,
			vs[i].v_tickets };
		struct bl_result r;
		int port;
		pid_t pid = bl_tlsref_start(&t, &port);
		if (pid <= 0)
			return -1;
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
		e->e_ca = vs[i].v_rsa ? rcert : NULL;
		rc = figure(o, e, vs[i].v_what, op_handshake, url, vs[i].v_tickets, out, &r, pid);
		if (i == 0)
			stall_row(out, "GnuTLS alone: CPU (cores) while a client stalls", port, pid);
		e->e_ca = NULL;
		bl_stop(pid, 5);
	}
	return rc;
}

/* The virtual card and the RP; the endpoints on e_origin. */
static int
setup(const struct bl_opts *o, struct eid *e)
{
	const struct bl_server *s = e->e_srv;
	char secret[128], pem[BL_URL_MAX];
	const char *card[] = { "pki", "card", NULL, "--name", "Bench Citizen", "--rrn", "85073003328", "--out",
		e->e_p12, "--pin", "1234", NULL };

	snprintf(pem, sizeof(pem), "%s/pki", s->s_dir);
	card[2] = pem;
	snprintf(e->e_p12, sizeof(e->e_p12), "%s/card.p12", s->s_dir);
	if (bl_server_cli(o, s, card, NULL) != 0 || bl_server_client(o, s, e->e_client, secret) != 0) {
		fprintf(stderr, "bench: eid setup failed\n");
		return -1;
	}
	snprintf(e->e_basic, sizeof(e->e_basic), "%s:%s", e->e_client, secret);
	snprintf(e->e_authz, sizeof(e->e_authz), "%s/authorize", e->e_origin);
	snprintf(e->e_token, sizeof(e->e_token), "%s/token", e->e_origin);
	return 0;
}

int
bl_eid_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const char *origin, const char *eid_origin,
	const pid_t *extra, int nextra, struct bl_result *r)
{
	struct eid e = { .e_srv = &nodes[0], .e_origin = origin, .e_eid_origin = eid_origin };
	pid_t pids[BL_NODES_MAX + 64];
	int np, w = 0, rc = -1;

	if (n > BL_NODES_MAX || (np = bl_node_pids(nodes, n, extra, nextra, pids, BL_NODES_MAX + 64)) < 0)
		return -1;
	if (setup(o, &e) != 0)
		return -1;
	e.e_agent = calloc((size_t)o->o_workers, sizeof(*e.e_agent));
	e.e_card = calloc((size_t)o->o_workers, sizeof(*e.e_card));
	e.e_rp = calloc((size_t)o->o_workers, sizeof(*e.e_rp));
	if (e.e_agent == NULL || e.e_card == NULL || e.e_rp == NULL)
		goto out;
	/* worker w's browser on node w % n, the card and the RP on the next */
	for (; w < o->o_workers; w++) {
		const struct bl_server *b = &nodes[w % n], *c = &nodes[(w + 1) % n];
		if (bl_http_init(&e.e_agent[w], b->s_ca_file) != 0 || bl_http_init(&e.e_card[w], c->s_ca_file) != 0 ||
			bl_http_init(&e.e_rp[w], c->s_ca_file) != 0 ||
			bl_http_connect_to(&e.e_agent[w], origin, b->s_base) != 0 ||
			bl_http_connect_to(&e.e_card[w], eid_origin, c->s_eid_base) != 0 ||
			bl_http_connect_to(&e.e_rp[w], origin, c->s_base) != 0) {
			w++;
			goto out;
		}
		card_setup(&e, &e.e_card[w]);
	}
	if (!op_login(&e, 0, NULL)) {
		fprintf(stderr, "bench: eID login failed (status %ld, card %ld)\n", e.e_agent[0].h_status,
			e.e_card[0].h_status);
		goto out;
	}
	rc = bl_run_timed(o, o->o_workers, op_login, &e, pids, np, r);
out:
	for (int i = 0; i < w; i++) {
		bl_http_free(&e.e_agent[i]);
		bl_http_free(&e.e_card[i]);
		bl_http_free(&e.e_rp[i]);
	}
	free(e.e_agent);
	free(e.e_card);
	free(e.e_rp);
	return rc;
}

static int
run(const struct bl_opts *o, struct bl_server *s, json_t *out)
{
	struct eid e = { .e_srv = s, .e_origin = s->s_base, .e_eid_origin = s->s_eid_base };
	struct bl_result plain, cert, resumed, login;
	const char *only = getenv("SLEUTEL_BENCH_EID");
	char url[300];
	int rc = -1;

	if (setup(o, &e) != 0)
		return -1;
	e.e_agent = calloc((size_t)o->o_workers, sizeof(*e.e_agent));
	e.e_card = calloc((size_t)o->o_workers, sizeof(*e.e_card));
	if (e.e_agent == NULL || e.e_card == NULL)
		goto out;
	snprintf(url, sizeof(url), "%s/healthz", s->s_eid_base);
	/* SLEUTEL_BENCH_EID=login: the eID login figure alone, so that a
	 * profile through SLEUTEL_BENCH_WRAP holds nothing else */
	if (only != NULL && strcmp(only, "login") == 0) {
		rc = figure(o, &e, "eID login (new client-cert handshake + token)", op_login, url, false, out, &login,
			s->s_pid);
		goto out;
	}
	snprintf(url, sizeof(url), "%s/healthz", s->s_base);
	if (figure(o, &e, "TLS handshake, portal, no client cert", op_handshake, url, false, out, &plain, s->s_pid) !=
		0)
		goto out;
	snprintf(url, sizeof(url), "%s/healthz", s->s_eid_base);
	if (figure(o, &e, "TLS handshake, eID origin, client cert", op_handshake, url, false, out, &cert, s->s_pid) !=
			0 ||
		figure(o, &e, "  the same, TLS session resumption allowed", op_handshake, url, true, out, &resumed,
			s->s_pid) != 0 ||
		figure(o, &e, "eID login (new client-cert handshake + token)", op_login, url, false, out, &login,
			s->s_pid) != 0)
		goto out;
	{
		struct bl_result ratio = { .r_scenario = "eid", .r_cpu_us = -1 };
		snprintf(ratio.r_what, sizeof(ratio.r_what), "ratio eID logins/s to client-cert handshakes/s");
		ratio.r_extra = cert.r_rate > 0 ? login.r_rate / cert.r_rate : -1;
		ratio.r_p50 = ratio.r_p99 = ratio.r_p999 = ratio.r_aux50 = ratio.r_aux99 = ratio.r_aux999 = -1;
		bl_report(out, &ratio);
		snprintf(ratio.r_what, sizeof(ratio.r_what), "ratio CPU per eID login to per handshake");
		ratio.r_extra = cert.r_cpu_us > 0 ? login.r_cpu_us / cert.r_cpu_us : -1;
		bl_report(out, &ratio);
	}
	stall_row(out, "sleuteld: CPU (cores) while a client stalls mid-handshake", s->s_port, s->s_pid);
	rc = reference(o, &e, out);
out:
	for (int i = 0; e.e_agent != NULL && e.e_card != NULL && i < o->o_workers; i++) {
		bl_http_free(&e.e_agent[i]);
		bl_http_free(&e.e_card[i]);
	}
	free(e.e_agent);
	free(e.e_card);
	return rc;
}

const char bl_eid_conf[] = "[portal]\nkeys = eid,test\n";

int
bl_eid(const struct bl_opts *o, json_t *out)
{
	return bl_with_server(o, "eid", true, true, bl_eid_conf, run, out);
}
