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
 * The eID step alone: the card's request at the eID origin on a new
 * connection (full client-certificate handshake, the chain checked, the
 * identity read and kept on the request as its one-time result, the 303
 * back to the portal), repeated on a pending request made beforehand: the
 * eID origin's share of a login.
 *
 * Client-certificate handshakes, eID steps and eID logins are measured in
 * alternating rounds (a second each, the order rotated every round of
 * three) and summed: on this shared machine a figure taken a few seconds
 * after another met another load, and the ratio of two rates came out
 * anywhere between 0.4 and 1.4.  Each of the step and the login is set
 * against the handshake three ways: by rate (the words), by server
 * CPU (handshake's CPU over the operation's: the rate ratio when the
 * server is the only limit) and by the CPU of server and generator
 * together (the rate ratio when the shared cores are the limit, steadier
 * than the rates on a busy machine).  The card's key and chain are decoded
 * once and handed to each connection's SSL_CTX: the generator's client is
 * a P-384 signature and a TLS handshake per card connection, no PKCS#12.
 *
 * SLEUTEL_BENCH_EID=login in the environment runs the eID login figure
 * alone (no handshake figures, no GnuTLS reference), for a profile of it
 * through SLEUTEL_BENCH_WRAP.  SLEUTEL_BENCH_EID=steps runs one worker
 * through --max logins (200 by default), each followed by one
 * client-certificate handshake, and gives the server's CPU per step of a
 * login (exact, from the scheduler's run time of its threads) next to
 * that of a handshake: where a login's cost beyond its handshake goes.
 *
 * bl_eid_nodes: the eID login alone on several nodes of one installation
 * (pgnodes.c), the portal and the eID origin each one URL in front of the
 * nodes: the browser on node w % n, the card's handshake and the RP on the
 * next node.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/pkcs12.h>
#include <openssl/ssl.h>

#include "bl.h"

/* The steps of an eID login, as op_login takes them. */
enum { EID_STEP_AUTHORIZE, EID_STEP_KEY_PAGE, EID_STEP_CARD, EID_STEP_RETURN, EID_STEP_TOKEN, EID_STEPS };
static const char *const step_names[EID_STEPS] = { "/authorize", "/key/eid", "/eid/login + card handshake",
	"/login/eid/return", "/token" };

struct eid {
	const struct bl_server *e_srv;
	const char *e_origin, *e_eid_origin; /* the portal's and the eID origin's URLs (one node's, or the issuer's) */
	char e_client[128], e_basic[300], e_p12[BL_URL_MAX];
	/* The card's key, certificate and chain, decoded once from e_p12: a
	 * PKCS#12 decode per connection (its PBKDF rounds) cost the client
	 * 5-7 ms per card handshake, several times the server's work. */
	EVP_PKEY *e_card_key;
	X509 *e_card_cert;
	STACK_OF(X509) * e_card_chain;
	char e_authz[300], e_token[300], e_url[300];
	bool e_resume; /* handshakes: let curl resume TLS sessions */
	const char *e_ca; /* the CA of the server of a handshake figure */
	struct bl_http *e_agent, *e_card; /* per worker */
	struct bl_http *e_rp; /* per worker on several nodes (the RP on the card's node); NULL: the agent */
	char (*e_step_url)[BL_URL_MAX]; /* per worker: op_eid_step's link to the eID origin */
	pid_t e_step_pid; /* steps: the server whose CPU each step of a login adds to e_step_ns; 0: off */
	double e_step_ns[EID_STEPS], e_step_t;
};

/* libcurl (OpenSSL) makes an SSL_CTX per connection: the card's decoded
 * key and chain go into it by reference, nothing parsed again. */
static CURLcode
card_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	const struct eid *e = arg;
	SSL_CTX *ctx = ssl_ctx;

	(void)curl;
	if (SSL_CTX_use_certificate(ctx, e->e_card_cert) != 1 || SSL_CTX_use_PrivateKey(ctx, e->e_card_key) != 1 ||
		SSL_CTX_set1_chain(ctx, e->e_card_chain) != 1)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

/* The card file decoded once (setup). */
static int
card_load(struct eid *e)
{
	FILE *f = fopen(e->e_p12, "rb");
	PKCS12 *p12 = f ? d2i_PKCS12_fp(f, NULL) : NULL;
	int ok = p12 != NULL && PKCS12_parse(p12, "1234", &e->e_card_key, &e->e_card_cert, &e->e_card_chain) == 1;

	if (f != NULL)
		fclose(f);
	PKCS12_free(p12);
	if (ok && e->e_card_chain == NULL)
		ok = (e->e_card_chain = sk_X509_new_null()) != NULL;
	if (!ok)
		fprintf(stderr, "bench: cannot read the card %s\n", e->e_p12);
	return ok ? 0 : -1;
}

static void
card_unload(struct eid *e)
{
	EVP_PKEY_free(e->e_card_key);
	X509_free(e->e_card_cert);
	sk_X509_pop_free(e->e_card_chain, X509_free);
	e->e_card_key = NULL;
	e->e_card_cert = NULL;
	e->e_card_chain = NULL;
}

/* A new connection per request; TLS sessions resumed only with e_resume. */
static void
card_setup(const struct eid *e, struct bl_http *h)
{
	curl_easy_setopt(h->h_curl, CURLOPT_SSL_CTX_FUNCTION, card_ctx);
	curl_easy_setopt(h->h_curl, CURLOPT_SSL_CTX_DATA, (void *)e);
	curl_easy_setopt(h->h_curl, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h->h_curl, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(h->h_curl, CURLOPT_SSL_SESSIONID_CACHE, e->e_resume ? 1L : 0L);
}

/* Nanoseconds the threads of `pid` have run: the sum of each thread's
 * /proc/PID/task/TID/schedstat (exact; /proc/PID/stat counts 10-ms ticks,
 * too coarse for one step of one login).  -1 when unreadable. */
static double
run_ns(pid_t pid)
{
	char path[64], file[400];
	struct dirent *de;
	double sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		unsigned long long ns;
		FILE *f;
		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, de->d_name);
		if ((f = fopen(file, "r")) == NULL)
			continue; /* a thread that ended meanwhile */
		if (fscanf(f, "%llu", &ns) == 1)
			sum += (double)ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* steps: the server's CPU since the last mark goes to step `done` (-1: a
 * login starts). */
static void
step_mark(struct eid *e, int done)
{
	double t;

	if (e->e_step_pid == 0)
		return;
	t = run_ns(e->e_step_pid);
	if (done >= 0)
		e->e_step_ns[done] += t - e->e_step_t;
	e->e_step_t = t;
}

static int
op_handshake(void *ctx, int w, struct bl_lat *aux)
{
	struct eid *e = ctx;

	(void)aux;
	return bl_http_req(&e->e_card[w], e->e_url, NULL, NULL) > 0;
}

/* A login's way to the card: /authorize, then the portal's eID page, whose
 * link to the eID origin goes to `url` (&amp; undone).  0, or -1. */
static int
card_link(struct eid *e, int w, const char *challenge, char url[BL_URL_MAX])
{
	struct bl_http *a = &e->e_agent[w];
	char req[128];
	const char *p, *q;

	bl_http_forget_cookies(a);
	bl_authorize_url(e->e_authz, e->e_client, challenge, "openid profile", url, BL_URL_MAX);
	step_mark(e, -1);
	if (bl_http_req(a, url, NULL, NULL) != 303 || bl_query(a->h_location, "req", req, sizeof(req)) != 0)
		return -1;
	step_mark(e, EID_STEP_AUTHORIZE);
	snprintf(url, BL_URL_MAX, "%s/key/eid?req=%s", e->e_origin, req);
	if (bl_http_req(a, url, NULL, NULL) != 200)
		return -1;
	step_mark(e, EID_STEP_KEY_PAGE);
	snprintf(url, BL_URL_MAX, "href=\"%s/eid/login", e->e_eid_origin);
	if ((p = strstr(a->h_body, url)) == NULL || (q = strchr(p + 6, '"')) == NULL || q - p - 6 >= BL_URL_MAX)
		return -1;
	snprintf(url, BL_URL_MAX, "%.*s", (int)(q - p - 6), p + 6);
	for (char *r = url, *wr = url;; wr++) { /* &amp; undone */
		if (strncmp(r, "&amp;", 5) == 0) {
			*wr = '&';
			r += 5;
		} else if ((*wr = *r++) == '\0') {
			break;
		}
	}
	return 0;
}

/* The eID step alone: the card on a new connection at the eID origin (full
 * client-certificate handshake, the chain validated, the identity read and
 * kept on the request as its one-time result) and its 303 back to the
 * portal, on a pending request of this worker's made beforehand
 * (steps_prepare): the eID origin's share of a login, which a handshake
 * figure can be compared with. */
static int
op_eid_step(void *ctx, int w, struct bl_lat *aux)
{
	struct eid *e = ctx;

	(void)aux;
	return bl_http_req(&e->e_card[w], e->e_step_url[w], NULL, NULL) == 303;
}

/* Each worker's pending request for op_eid_step (its link to the eID
 * origin), made outside the timed rounds.  0, or -1. */
static int
steps_prepare(const struct bl_opts *o, struct eid *e)
{
	char verifier[64], challenge[64];

	for (int w = 0; w < o->o_workers; w++) {
		bl_pkce(verifier, challenge);
		if (card_link(e, w, challenge, e->e_step_url[w]) != 0) {
			fprintf(stderr, "bench: eID step: no pending request (status %ld)\n", e->e_agent[w].h_status);
			return -1;
		}
	}
	return 0;
}

static int
op_login(void *ctx, int w, struct bl_lat *aux)
{
	struct eid *e = ctx;
	struct bl_http *a = &e->e_agent[w], *card = &e->e_card[w];
	char verifier[64], challenge[64], url[BL_URL_MAX], back[BL_URL_MAX];
	int ok;

	(void)aux;
	bl_pkce(verifier, challenge);
	if (card_link(e, w, challenge, url) != 0 || bl_http_req(card, url, NULL, NULL) != 303)
		return 0;
	step_mark(e, EID_STEP_CARD);
	snprintf(url, sizeof(url), "%s", card->h_location);
	if (bl_browse(a, e->e_origin, url, bl_sleutel_form, back, sizeof(back)) != 0)
		return 0;
	step_mark(e, EID_STEP_RETURN);
	ok = bl_token(e->e_rp != NULL ? &e->e_rp[w] : a, e->e_token, e->e_basic, back, verifier);
	step_mark(e, EID_STEP_TOKEN);
	return ok;
}

/* Fresh handles for every worker: the browser's, and the card's (a new
 * connection per request; sessions resumed only with e_resume). */
static void
handles_reset(const struct bl_opts *o, struct eid *e)
{
	for (int i = 0; i < o->o_workers; i++) {
		bl_http_free(&e->e_agent[i]);
		bl_http_free(&e->e_card[i]);
		bl_http_init(&e->e_agent[i], e->e_srv->s_ca_file);
		bl_http_init(&e->e_card[i], e->e_ca ? e->e_ca : e->e_srv->s_ca_file);
		card_setup(e, &e->e_card[i]);
	}
}

/* One operation first: a broken setup is not a figure. */
static int
check_op(struct eid *e, const char *what, bl_op_fn op)
{
	if (op(e, 0, NULL))
		return 0;
	fprintf(stderr, "bench: %s failed (status %ld, card %ld)\n", what, e->e_agent[0].h_status,
		e->e_card[0].h_status);
	return -1;
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
	handles_reset(o, e);
	if (check_op(e, what, op) != 0)
		return -1;
	if (bl_run_timed(o, o->o_workers, op, e, &pid, 1, r) == 0)
		bl_report(out, r);
	else
		rc = -1;
	return rc;
}

/* A figure summed over rounds: counts, time and CPU add up; p50 is the
 * rounds' mean weighted by their operations, p99 and p999 the worst
 * round's. */
struct rounds {
	struct bl_result rd_sum;
	double rd_cpu_us, rd_gen_ns; /* server CPU, load generator's run time */
	double rd_p50_weighted;
};

static void
rounds_add(struct rounds *s, const struct bl_result *r, double gen_ns)
{
	struct bl_result *t = &s->rd_sum;

	t->r_done += r->r_done;
	t->r_failed += r->r_failed;
	t->r_seconds += r->r_seconds;
	s->rd_cpu_us += r->r_cpu_us > 0 ? r->r_cpu_us * (double)r->r_done : 0;
	s->rd_gen_ns += gen_ns;
	s->rd_p50_weighted += r->r_p50 > 0 ? r->r_p50 * (double)r->r_done : 0;
	t->r_p99 = r->r_p99 > t->r_p99 ? r->r_p99 : t->r_p99;
	t->r_p999 = r->r_p999 > t->r_p999 ? r->r_p999 : t->r_p999;
}

static void
rounds_end(struct rounds *s, const char *what)
{
	struct bl_result *t = &s->rd_sum;

	t->r_scenario = "eid";
	snprintf(t->r_what, sizeof(t->r_what), "%s", what);
	t->r_rate = t->r_seconds > 0 ? (double)t->r_done / t->r_seconds : 0;
	t->r_cpu_us = t->r_done > 0 ? s->rd_cpu_us / (double)t->r_done : -1;
	t->r_p50 = t->r_done > 0 ? s->rd_p50_weighted / (double)t->r_done : -1;
	t->r_aux50 = t->r_aux99 = t->r_aux999 = -1;
}

/* The load generator's own CPU in ns, its ended worker threads included. */
static double
self_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)ru.ru_utime.tv_usec +
		       (double)ru.ru_stime.tv_usec) *
	       1e3;
}

/* One round of `op`; the load generator's own CPU added to rd_gen_ns. */
static int
round_run(const struct bl_opts *ro, struct eid *e, bl_op_fn op, pid_t pid, struct rounds *into)
{
	struct bl_result r = { .r_scenario = "eid" };
	double g0 = self_ns();

	if (bl_run_timed(ro, ro->o_workers, op, e, &pid, 1, &r) != 0)
		return -1;
	rounds_add(into, &r, self_ns() - g0);
	return 0;
}

/* The alternated figures: client-certificate handshakes, the eID step
 * alone and complete eID logins. */
enum { FIG_HANDSHAKE, FIG_EID_STEP, FIG_LOGIN, FIGS };

/* The three figures in rounds of a second each, the order rotated every
 * round of three, o_seconds in all for each.  A round ends when its last
 * operation does: shorter rounds would weigh that tail (a login's p99 is a
 * few hundred ms here) too much. */
static int
interleaved(const struct bl_opts *o, struct eid *e, const char *hs_url, pid_t pid, struct rounds fig[FIGS])
{
	static const bl_op_fn ops[FIGS] = { op_handshake, op_eid_step, op_login };
	static const char *const names[FIGS] = { "TLS handshake, eID origin, client cert",
		"eID step (card handshake + check + result)", "eID login (authorize .. token)" };
	int n = o->o_seconds >= 2 ? (int)o->o_seconds : 1;
	struct bl_opts ro = *o;

	memset(fig, 0, FIGS * sizeof(*fig));
	ro.o_seconds = o->o_seconds / n;
	ro.o_max = o->o_max / n > 0 ? o->o_max / n : 1;
	snprintf(e->e_url, sizeof(e->e_url), "%s", hs_url);
	e->e_resume = false;
	handles_reset(o, e);
	if (check_op(e, "TLS handshake, eID origin", op_handshake) != 0 || check_op(e, "eID login", op_login) != 0 ||
		steps_prepare(o, e) != 0 || check_op(e, "eID step", op_eid_step) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < FIGS; k++) {
			int f = (i + k) % FIGS;
			if (round_run(&ro, e, ops[f], pid, &fig[f]) != 0)
				return -1;
		}
	for (int f = 0; f < FIGS; f++)
		rounds_end(&fig[f], names[f]);
	return 0;
}

/* A derived row: a ratio or a figure in the value column. */
static void
value_row(json_t *out, const char *what, double v)
{
	struct bl_result r = { .r_scenario = "eid", .r_cpu_us = -1, .r_extra = v };

	snprintf(r.r_what, sizeof(r.r_what), "%s", what);
	r.r_p50 = r.r_p99 = r.r_p999 = r.r_aux50 = r.r_aux99 = r.r_aux999 = -1;
	bl_report(out, &r);
}

/* The load generator's CPU per operation of a figure, in us. */
static double
gen_us(const struct rounds *r)
{
	return r->rd_sum.r_done > 0 ? r->rd_gen_ns / 1000 / (double)r->rd_sum.r_done : -1;
}

/* An operation against a handshake, the way the target reads (ops per
 * second over handshakes per second): by rate, as measured; by server
 * CPU, the rate ratio a server that is the only limit would give
 * (handshake's CPU over the operation's); and by the CPU of server and
 * generator together, what the shared cores give. */
static void
ratio_rows(json_t *out, const char *what, const struct rounds *hs, const struct rounds *op)
{
	const struct bl_result *h = &hs->rd_sum, *l = &op->rd_sum;
	char name[96];

	snprintf(name, sizeof(name), "ratio %s/handshake, by rate", what);
	value_row(out, name, h->r_rate > 0 ? l->r_rate / h->r_rate : -1);
	snprintf(name, sizeof(name), "ratio %s/handshake, by server CPU", what);
	value_row(out, name, l->r_cpu_us > 0 ? h->r_cpu_us / l->r_cpu_us : -1);
	if (h->r_cpu_us > 0 && l->r_cpu_us > 0 && gen_us(hs) > 0 && gen_us(op) > 0) {
		snprintf(name, sizeof(name), "ratio %s/handshake, server+generator CPU", what);
		value_row(out, name, (gen_us(hs) + h->r_cpu_us) / (gen_us(op) + l->r_cpu_us));
	}
}

static void
interleaved_report(json_t *out, struct rounds fig[FIGS])
{
	for (int f = 0; f < FIGS; f++)
		bl_report(out, &fig[f].rd_sum);
	ratio_rows(out, "eID step", &fig[FIG_HANDSHAKE], &fig[FIG_EID_STEP]);
	ratio_rows(out, "eID login", &fig[FIG_HANDSHAKE], &fig[FIG_LOGIN]);
	value_row(out, "load generator CPU per handshake (us)", gen_us(&fig[FIG_HANDSHAKE]));
	value_row(out, "load generator CPU per eID step (us)", gen_us(&fig[FIG_EID_STEP]));
	value_row(out, "load generator CPU per eID login (us)", gen_us(&fig[FIG_LOGIN]));
}

/* SLEUTEL_BENCH_EID=steps: one worker, each login followed by one
 * client-certificate handshake; the server's exact CPU per step. */
static int
steps(const struct bl_opts *o, struct eid *e, const char *hs_url, pid_t pid, json_t *out)
{
	long n = o->o_max > 0 && o->o_max < 1000000 ? o->o_max : 200, done;
	double hs_ns = 0, total = 0, t;
	char what[96];

	snprintf(e->e_url, sizeof(e->e_url), "%s", hs_url);
	e->e_resume = false;
	handles_reset(o, e);
	/* the verdict cache and the consent filled, the connections open */
	if (check_op(e, "eID login", op_login) != 0 || check_op(e, "TLS handshake, eID origin", op_handshake) != 0)
		return -1;
	memset(e->e_step_ns, 0, sizeof(e->e_step_ns));
	/* a failed operation stops the count: a broken run is not a figure */
	for (done = 0; done < n; done++) {
		e->e_step_pid = pid;
		if (!op_login(e, 0, NULL))
			break;
		e->e_step_pid = 0;
		t = run_ns(pid);
		if (!op_handshake(e, 0, NULL))
			break;
		hs_ns += run_ns(pid) - t;
	}
	e->e_step_pid = 0;
	if (done < n) {
		fprintf(stderr, "bench: steps: operation %ld failed (status %ld, card %ld)\n", done + 1,
			e->e_agent[0].h_status, e->e_card[0].h_status);
		return -1;
	}
	for (int i = 0; i < EID_STEPS; i++) {
		snprintf(what, sizeof(what), "  step %s (us)", step_names[i]);
		value_row(out, what, e->e_step_ns[i] / 1000 / (double)n);
		total += e->e_step_ns[i];
	}
	value_row(out, "server CPU per eID login, exact (us)", total / 1000 / (double)n);
	value_row(out, "server CPU per card handshake, exact (us)", hs_ns / 1000 / (double)n);
	value_row(out, "ratio server CPU per login to per handshake", hs_ns > 0 ? total / hs_ns : -1);
	return 0;
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
	if (bl_server_cli(o, s, card, NULL) != 0 || card_load(e) != 0 ||
		bl_server_client(o, s, e->e_client, secret) != 0) {
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
	if (setup(o, &e) != 0) {
		card_unload(&e);
		return -1;
	}
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
	card_unload(&e);
	return rc;
}

static int
run(const struct bl_opts *o, struct bl_server *s, json_t *out)
{
	struct eid e = { .e_srv = s, .e_origin = s->s_base, .e_eid_origin = s->s_eid_base };
	struct bl_result plain, resumed, login;
	struct rounds fig[FIGS];
	const char *only = getenv("SLEUTEL_BENCH_EID");
	char url[300], eid_url[300];
	int rc = -1;

	if (setup(o, &e) != 0) {
		card_unload(&e);
		return -1;
	}
	e.e_agent = calloc((size_t)o->o_workers, sizeof(*e.e_agent));
	e.e_card = calloc((size_t)o->o_workers, sizeof(*e.e_card));
	e.e_step_url = calloc((size_t)o->o_workers, sizeof(*e.e_step_url));
	if (e.e_agent == NULL || e.e_card == NULL || e.e_step_url == NULL)
		goto out;
	snprintf(eid_url, sizeof(eid_url), "%s/healthz", s->s_eid_base);
	/* SLEUTEL_BENCH_EID=login: the eID login figure alone, so that a
	 * profile through SLEUTEL_BENCH_WRAP holds nothing else */
	if (only != NULL && strcmp(only, "login") == 0) {
		rc = figure(o, &e, "eID login (new client-cert handshake + token)", op_login, eid_url, false, out,
			&login, s->s_pid);
		goto out;
	}
	if (only != NULL && strcmp(only, "steps") == 0) {
		rc = steps(o, &e, eid_url, s->s_pid, out);
		goto out;
	}
	snprintf(url, sizeof(url), "%s/healthz", s->s_base);
	if (figure(o, &e, "TLS handshake, portal, no client cert", op_handshake, url, false, out, &plain, s->s_pid) !=
			0 ||
		interleaved(o, &e, eid_url, s->s_pid, fig) != 0)
		goto out;
	interleaved_report(out, fig);
	if (figure(o, &e, "  the same handshake, TLS session resumption allowed", op_handshake, eid_url, true, out,
		    &resumed, s->s_pid) != 0)
		goto out;
	stall_row(out, "sleuteld: CPU (cores) while a client stalls mid-handshake", s->s_port, s->s_pid);
	rc = reference(o, &e, out);
out:
	for (int i = 0; e.e_agent != NULL && e.e_card != NULL && i < o->o_workers; i++) {
		bl_http_free(&e.e_agent[i]);
		bl_http_free(&e.e_card[i]);
	}
	free(e.e_agent);
	free(e.e_card);
	free(e.e_step_url);
	card_unload(&e);
	return rc;
}

const char bl_eid_conf[] = "[portal]\nkeys = eid,test\n";

int
bl_eid(const struct bl_opts *o, json_t *out)
{
	return bl_with_server(o, "eid", true, true, bl_eid_conf, run, out);
}
