/*
 * app.c — scenario 2: complete sleutel-app logins (browser + phone +
 * token) on a sleuteld with TLS, the phone being libsleutel-app — the C
 * library a real app embeds — and the latency from the phone's
 * confirmation being sent to the browser's long-poll answering.
 *
 * Setup (not timed): W phones enrolled through the library (start, the
 * SMS code from the outbox through `sleutel sms tail --json`, the test
 * build's POST /device/v1/test/proofed, finish with a cheap scrypt cost),
 * one per worker.  A login:
 *   browser: /authorize → /key/app → phone number POSTed (inline=1: the
 *            answer is the wait page with the verification code) → GET
 *            data-poll, suspended on the server (on its own thread: it
 *            blocks until the phone answered)
 *   phone:   sapp_requests → the request showing that code → sapp_approve
 *   browser: the long-poll answers with the RP's address and the code
 *            (or data-next → consent → code) → /token
 *
 * On several nodes of one installation (pgnodes.c) every URL is the
 * issuer's, which no node listens on: each handle connects to its node
 * (bl_http_connect_to, and httpc_share_connect_to for the phone's
 * connection), as behind a load balancer.  Worker w's browser is on node
 * w % n, its phone and the RP's token exchange on node (w + 1) % n, so the
 * confirmation wakes a long-poll held by another node (LISTEN/NOTIFY).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../httpc/httpc.h"
#include "app_int.h"
#include "bl.h"
#include "sleutel-app.h"

#define APP_CODE "24680" /* the app code of every bench phone */

struct app_worker {
	struct sapp *aw_phone;
	char aw_number[SAPP_PHONE_MAX + 1];
	struct bl_http aw_agent, aw_poll, aw_rp; /* the browser, its long-poll, the RP */
	char aw_poll_url[BL_URL_MAX];
	double aw_resumed; /* when the long-poll answered (bl_now) */
	long aw_poll_status;
};

struct app {
	const char *a_origin; /* every URL's: the node's own, or the issuer in front of the nodes */
	bool a_hint; /* the RP sends the number as login_hint: /authorize → the number form */
	char a_client[128], a_basic[300], a_authz[300], a_token[300];
	struct app_worker *a_w;
};

const char bl_app_conf[] = "[app]\nrate_phone = 1000000\nrate_ip = 1000000\nrate_rp = 100000000\nmax_pending = 20\n"
			   "[sms]\ndriver = outbox\n";

/* The activation code last sent to `phone` (the outbox, newest last). */
static int
sms_code(const struct bl_opts *o, const struct bl_server *s, const char *phone, char code[6])
{
	const char *args[] = { "sms", "tail", "--json", NULL };
	char *text = NULL, *line, *save = NULL;
	int rc = -1;

	if (bl_server_cli(o, s, args, &text) != 0)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *m = json_loads(line, 0, NULL);
		const char *to = json_string_value(json_object_get(m, "phone"));
		const char *t = json_string_value(json_object_get(m, "text"));
		size_t n = t ? strlen(t) : 0;
		if (to != NULL && strcmp(to, phone) == 0 && n >= 5) {
			memcpy(code, t + n - 5, 5);
			code[5] = '\0';
			rc = 0;
		}
		json_decref(m);
	}
	free(text);
	return rc;
}

/* The test build's proofing shortcut for an enrolment (on node `s`). */
static int
proofed(const struct bl_server *s, const char *origin, const char *enrollment_id, int i)
{
	struct bl_http h;
	char url[300], body[512];
	long st;

	if (bl_http_init(&h, s->s_ca_file) != 0)
		return -1;
	if (bl_http_connect_to(&h, origin, s->s_base) != 0) {
		bl_http_free(&h);
		return -1;
	}
	snprintf(url, sizeof(url), "%s/device/v1/test/proofed", origin);
	snprintf(body, sizeof(body),
		"{\"enrollment_id\":\"%s\",\"rrn\":\"85073003328\",\"given_name\":\"Bench\",\"family_name\":\"Worker%"
		"d\","
		"\"birthdate\":\"1985-07-30\"}",
		enrollment_id, i);
	h.h_extra = curl_slist_append(NULL, "Content-Type: application/json");
	st = bl_http_req(&h, url, body, NULL);
	bl_http_free(&h);
	return st == 200 ? 0 : -1;
}

/* The phone's connection to node `s` when its server URL is `origin`. */
static int
phone_connect_to(struct sapp *phone, const char *origin, const struct bl_server *s, struct sl_err *err)
{
	char oh[128], nh[128];
	int op, np;

	if (bl_origin(origin, oh, sizeof(oh), &op) != 0 || bl_origin(s->s_base, nh, sizeof(nh), &np) != 0)
		return sl_fail(err, SL_EINVAL, "not an origin: %s", origin);
	if (strcmp(oh, nh) == 0 && op == np)
		return SL_OK;
	return httpc_share_connect_to(phone->sa_http, oh, op, nh, np, err);
}

/* The phone's server URL: its device proofs' htu is the issuer's, which
 * is the origin, except behind the proxy config, where the issuer is the
 * proxy's https:// and the node speaks plain HTTP on the same port: the
 * phone's connection goes as http:// (httpc_share_plain), as a
 * TLS-terminating proxy would forward it. */
static const char *
phone_server(const struct bl_server *s, const char *origin)
{
	return s->s_tls ? origin : s->s_issuer;
}

/* Phone `i` enrolled on node `s` through `origin` (its server URL). */
static int
enrol_at(const struct bl_opts *o, const struct bl_server *s, const char *origin, int i, struct sapp **phone,
	char number[SAPP_PHONE_MAX + 1])
{
	static const struct camo_params cheap = { 4, 1, 1 }; /* the phone's cost is not the server's */
	char path[BL_URL_MAX], code[6];
	struct sapp_enroll_spec spec = { .es_device_name = "bench", .es_language = "nl" };
	struct sl_err err = { 0 };
	json_t *ans = NULL, *started = NULL;
	const char *terms;
	int rc;

	snprintf(path, sizeof(path), "%s/phone%d.json", s->s_dir, i);
	snprintf(number, SAPP_PHONE_MAX + 1, "+3247%07d", 1000000 + i);
	if ((rc = sapp_create(path, phone_server(s, origin), s->s_ca_file, phone, &err)) != SL_OK)
		goto out;
	if (!s->s_tls)
		httpc_share_plain((*phone)->sa_http, true);
	else if ((rc = phone_connect_to(*phone, origin, s, &err)) != SL_OK)
		goto out;
	if ((rc = sapp_set_camo_params(*phone, &cheap, &err)) != SL_OK ||
		(rc = sapp_config(*phone, &ans, &err)) != SL_OK)
		goto out;
	terms = json_string_value(json_object_get(ans, "terms_version"));
	spec.es_terms_version = terms;
	spec.es_phone = number;
	rc = sapp_enroll_start(*phone, &spec, &started, &err);
	json_decref(ans);
	json_decref(started);
	ans = NULL;
	if (rc != SL_OK)
		goto out;
	if (sms_code(o, s, sapp_phone(*phone)[0] ? sapp_phone(*phone) : number, code) != 0) {
		rc = sl_fail(&err, SL_ENOTFOUND, "no activation SMS for %s", number);
		goto out;
	}
	rc = sapp_enroll_sms(*phone, code, &ans, &err);
	json_decref(ans);
	ans = NULL;
	if (rc != SL_OK)
		goto out;
	if (proofed(s, origin, sapp_enrollment_id(*phone), i) != 0) {
		rc = sl_fail(&err, SL_EINVAL, "test/proofed refused");
		goto out;
	}
	rc = sapp_enroll_finish(*phone, APP_CODE, &ans, &err);
	json_decref(ans);
	snprintf(number, SAPP_PHONE_MAX + 1, "%s", sapp_phone(*phone));
out:
	if (rc != SL_OK)
		fprintf(stderr, "bench: enrolling phone %d: %s\n", i, err.msg);
	return rc;
}

int
bl_phone_enrol(
	const struct bl_opts *o, const struct bl_server *s, int i, struct sapp **phone, char number[SAPP_PHONE_MAX + 1])
{
	return enrol_at(o, s, s->s_base, i, phone, number);
}

static void *
long_poll(void *arg)
{
	struct app_worker *w = arg;

	w->aw_poll_status = bl_http_req(&w->aw_poll, w->aw_poll_url, NULL, NULL);
	w->aw_resumed = bl_now();
	return NULL;
}

/* The request on the phone that shows `vcode`, or NULL. */
static json_t *
find_request(struct sapp *phone, const char *vcode)
{
	struct sl_err err;
	json_t *list = NULL, *rq, *found = NULL;
	size_t i, j;

	if (sapp_requests(phone, 0, &list, &err) != SL_OK)
		return NULL;
	json_array_foreach(list, i, rq)
	{
		json_t *c;
		json_array_foreach(json_object_get(rq, "codes"), j,
			c) if (json_is_string(c) && strcmp(json_string_value(c), vcode) == 0) found = json_incref(rq);
		if (found != NULL)
			break;
	}
	json_decref(list);
	return found;
}

static int
op_login(void *ctx, int wi, struct bl_lat *aux)
{
	struct app *a = ctx;
	struct app_worker *w = &a->a_w[wi];
	struct bl_http *h = &w->aw_agent;
	const char *base = a->a_origin, *p;
	char verifier[64], challenge[64], url[BL_URL_MAX], req[128], next[BL_URL_MAX], back[BL_URL_MAX], vcode[8];
	char body[BL_URL_MAX];
	char *form, *enc;
	struct sl_err err;
	pthread_t poller;
	json_t *rq, *answer = NULL;
	double t_confirm;
	long st;
	int ok;

	bl_http_forget_cookies(h);
	bl_pkce(verifier, challenge);
	bl_authorize_url(a->a_authz, a->a_client, challenge, "openid profile", url, sizeof(url));
	if (a->a_hint) { /* OIDC Core 3.1.2.1 */
		enc = curl_easy_escape(NULL, w->aw_number, 0);
		snprintf(url + strlen(url), sizeof(url) - strlen(url), "&login_hint=%s", enc);
		curl_free(enc);
	}
	if (bl_http_req(h, url, NULL, NULL) != 303 || bl_query(h->h_location, "req", req, sizeof(req)) != 0)
		return 0;
	if (a->a_hint) /* the number form, filled in: the key choice skipped */
		bl_abs(base, h->h_location, url, sizeof(url));
	else
		snprintf(url, sizeof(url), "%s/key/app?req=%s&lang=nl", base, req);
	if (bl_http_req(h, url, NULL, NULL) != 200 || (form = bl_hidden_form(h->h_body)) == NULL)
		return 0;
	/* the page's script asks for the wait page as the number's answer */
	if ((p = strstr(form, "inline=0")) != NULL)
		form[p - form + 7] = '1';
	enc = curl_easy_escape(NULL, w->aw_number, 0);
	snprintf(body, sizeof(body), "%s&phone=%s", form, enc);
	curl_free(enc);
	free(form);
	snprintf(url, sizeof(url), "%s/key/app/login", base);
	st = bl_http_req(h, url, body, NULL);
	if (st == 303) { /* a server without it: to the wait page */
		bl_abs(base, h->h_location, url, sizeof(url));
		st = bl_http_req(h, url, NULL, NULL);
	}
	if (st != 200 || bl_attr(h->h_body, "data-poll", url, sizeof(url)) != 0 ||
		bl_attr(h->h_body, "data-next", next, sizeof(next)) != 0 ||
		(p = strstr(h->h_body, "id=\"vcode\"")) == NULL || (p = strchr(p, '>')) == NULL ||
		sscanf(p + 1, "%7[0-9]", vcode) != 1)
		return 0;
	/* the browser's long-poll, suspended on the server while the phone answers */
	memcpy(w->aw_poll.h_cookies, h->h_cookies, sizeof(h->h_cookies));
	w->aw_poll.h_ncookies = h->h_ncookies;
	bl_abs(base, url, w->aw_poll_url, sizeof(w->aw_poll_url));
	if (pthread_create(&poller, NULL, long_poll, w) != 0)
		return 0;
	rq = find_request(w->aw_phone, vcode);
	t_confirm = bl_now();
	ok = rq != NULL && sapp_approve(w->aw_phone, rq, vcode, APP_CODE, &answer, &err) == SL_OK;
	json_decref(answer);
	json_decref(rq);
	pthread_join(poller, NULL);
	if (!ok || w->aw_poll_status != 200)
		return 0;
	if (aux != NULL)
		bl_lat_add(aux, (w->aw_resumed - t_confirm) * 1000);
	/* the poll's answer names the RP with the code when it issued it */
	answer = json_loads(w->aw_poll.h_body ? w->aw_poll.h_body : "", 0, NULL);
	if (json_is_string(json_object_get(answer, "location")))
		snprintf(next, sizeof(next), "%s", json_string_value(json_object_get(answer, "location")));
	json_decref(answer);
	if (bl_browse(h, base, next, bl_sleutel_form, back, sizeof(back)) != 0)
		return 0;
	return bl_token(&w->aw_rp, a->a_token, a->a_basic, back, verifier);
}

static void
app_free(struct app *a, int n)
{
	for (int i = 0; i < n; i++) {
		bl_http_free(&a->a_w[i].aw_agent);
		bl_http_free(&a->a_w[i].aw_poll);
		bl_http_free(&a->a_w[i].aw_rp);
		sapp_free(a->a_w[i].aw_phone);
	}
	free(a->a_w);
}

/* Worker w's handles and phone: the browser on node w % n, the phone and
 * the RP on the next node, every URL on `origin`. */
static int
app_worker_init(
	const struct bl_opts *o, const struct bl_server *nodes, int n, const char *origin, int w, struct app_worker *aw)
{
	const struct bl_server *browser = &nodes[w % n], *phone = &nodes[(w + 1) % n];

	if (bl_http_init(&aw->aw_agent, browser->s_ca_file) != 0 ||
		bl_http_init(&aw->aw_poll, browser->s_ca_file) != 0 ||
		bl_http_init(&aw->aw_rp, phone->s_ca_file) != 0 ||
		bl_http_connect_to(&aw->aw_agent, origin, browser->s_base) != 0 ||
		bl_http_connect_to(&aw->aw_poll, origin, browser->s_base) != 0 ||
		bl_http_connect_to(&aw->aw_rp, origin, phone->s_base) != 0)
		return -1;
	if (!browser->s_tls) /* behind the proxy config: the proxy names the browser */
		aw->aw_agent.h_xff = aw->aw_poll.h_xff = aw->aw_rp.h_xff = "203.0.113.7";
	return enrol_at(o, phone, origin, w, &aw->aw_phone, aw->aw_number) == SL_OK ? 0 : -1;
}

int
bl_app_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const char *origin, const pid_t *extra,
	int nextra, struct bl_result *r)
{
	struct app a = { .a_origin = origin, .a_hint = o->o_hint };
	pid_t pids[BL_NODES_MAX + 64];
	char secret[128];
	int rc = -1, w = 0, np;
	double t0 = bl_now();

	if (n > BL_NODES_MAX || (np = bl_node_pids(nodes, n, extra, nextra, pids, BL_NODES_MAX + 64)) < 0)
		return -1;
	if (bl_server_client(o, &nodes[0], a.a_client, secret) != 0)
		return -1;
	snprintf(a.a_basic, sizeof(a.a_basic), "%s:%s", a.a_client, secret);
	snprintf(a.a_authz, sizeof(a.a_authz), "%s/authorize", origin);
	snprintf(a.a_token, sizeof(a.a_token), "%s/token", origin);
	if ((a.a_w = calloc((size_t)o->o_workers, sizeof(*a.a_w))) == NULL)
		return -1;
	for (; w < o->o_workers; w++)
		if (app_worker_init(o, nodes, n, origin, w, &a.a_w[w]) != 0) {
			w++;
			goto out;
		}
	fprintf(stderr, "bench: %d phones enrolled in %.1f s\n", w, bl_now() - t0);
	/* one login first: a failure here is a broken setup, not a figure */
	if (!op_login(&a, 0, NULL)) {
		fprintf(stderr, "bench: app login failed (status %ld)\n", a.a_w[0].aw_agent.h_status);
		goto out;
	}
	rc = bl_run_timed(o, o->o_workers, op_login, &a, pids, np, r);
out:
	app_free(&a, w);
	return rc;
}

static int
run(const struct bl_opts *o, struct bl_server *s, json_t *out)
{
	struct bl_result r = { .r_scenario = "app" };

	snprintf(r.r_what, sizeof(r.r_what), "app login (browser + %s + token%s%s)",
		o->o_proxy ? "app" : "libsleutel-app", o->o_proxy ? ", http+proxy" : "", o->o_hint ? ", hint" : "");
	if (bl_app_nodes(o, s, 1, s->s_base, NULL, 0, &r) != 0)
		return -1;
	bl_report(out, &r);
	return 0;
}

int
bl_app(const struct bl_opts *o, json_t *out)
{
	/* The TLS figure by default; --proxy: behind a TLS-terminating proxy
	 * (plain HTTP with the proxy config, as the trivial scenario). */
	return bl_with_server(o, "app", false, !o->o_proxy, bl_app_conf, run, out);
}
