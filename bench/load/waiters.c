/*
 * waiters.c — scenario 4: the server's memory (VmRSS) and open fds while N
 * browsers (GET /login/poll of a pending login) and N phones (GET
 * /device/v1/requests with a device proof) hold long-polls open.
 *
 * Raw non-blocking sockets and one epoll loop (libcurl would need a handle
 * per waiter), from source addresses 127.0.0.1 .. 127.0.0.K (the kernel
 * picks each source port at connect with IP_BIND_ADDRESS_NO_PORT, so each
 * address has its own ephemeral range).  N is bounded by the fds this
 * process and the server may open (RLIMIT_NOFILE, raised to its hard
 * limit): both ends hold 2N sockets.
 *
 * Setup: the server starts with TLS to enrol a few phones through
 * libsleutel-app (their proofs must name the https issuer), then restarts
 * on the same database behind the proxy config (plain HTTP) with its
 * connection and waiter limits raised and the long-poll timeouts at their
 * maximum (300 s).  Browsers share M pending logins (each its own
 * /authorize with its browser cookie); phones share the enrolled devices,
 * each poll with a fresh proof.  Memory is read when half the waiters are
 * held (the sleutel_waiters gauge of /metrics) and when all are: the
 * difference per waiter gives the projection to 100 000 + 100 000.  Then
 * the same again with [server] connection_memory at its floor.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app_int.h"
#include "bl.h"
#include "sleutel-app.h"

#define PHONES 8 /* enrolled devices the phone waiters share */
#define LOGINS 1000 /* pending logins the browser waiters share, at most */
#define IN_FLIGHT 256 /* connections being opened at once */
#define SETTLE_SECS 60 /* a phase waits this long at most for the gauge */
#define PROJECT 200000 /* waiters of the target: 100 000 + 100 000 */

struct conn {
	int c_fd;
	unsigned char c_state; /* 0 unused, 1 connecting, 2 waiting, 3 answered or closed */
};

struct waiters {
	const struct bl_server *w_srv;
	struct sapp *w_phone[PHONES];
	int w_nphones;
	char (*w_login)[BL_URL_MAX]; /* "req\0cookie header" per pending login */
	int w_nlogins;
	struct conn *w_conn; /* 2N: even browsers, odd phones */
	long w_n; /* waiters of each kind */
	int w_ep, w_addrs;
	long w_answered; /* long-polls the server answered early (refused, busy) */
	char w_first_answer[128];
};

/* The sleutel_waiters gauge, or -1. */
static long
gauge(const struct bl_server *s)
{
	struct bl_http h;
	char url[128];
	const char *p;
	long n = -1;

	if (bl_http_init(&h, NULL) != 0)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", s->s_metrics_port);
	if (bl_http_req(&h, url, NULL, NULL) == 200 && (p = strstr(h.h_body, "\nsleutel_waiters ")) != NULL)
		n = strtol(p + 17, NULL, 10);
	bl_http_free(&h);
	return n;
}

/* M logins pending at /authorize, each with its browser's cookies. */
static int
pending_logins(const struct bl_opts *o, struct waiters *w, const char *client)
{
	struct bl_http h;
	char authz[300], url[BL_URL_MAX], verifier[64], challenge[64];

	w->w_nlogins = w->w_n < LOGINS ? (int)w->w_n : LOGINS;
	if ((w->w_login = calloc((size_t)w->w_nlogins, sizeof(*w->w_login))) == NULL || bl_http_init(&h, NULL) != 0)
		return -1;
	(void)o;
	snprintf(authz, sizeof(authz), "%s/authorize", w->w_srv->s_base);
	for (int i = 0; i < w->w_nlogins; i++) {
		size_t off;
		bl_http_forget_cookies(&h);
		bl_pkce(verifier, challenge);
		bl_authorize_url(authz, client, challenge, "openid profile", url, sizeof(url));
		if (bl_http_req(&h, url, NULL, NULL) != 303 ||
			bl_query(h.h_location, "req", w->w_login[i], BL_URL_MAX / 2) != 0) {
			fprintf(stderr, "bench: /authorize answered %ld\n", h.h_status);
			bl_http_free(&h);
			return -1;
		}
		off = strlen(w->w_login[i]) + 1;
		for (int c = 0; c < h.h_ncookies; c++)
			off += (size_t)snprintf(
				w->w_login[i] + off, BL_URL_MAX - off, "%s%s", c ? "; " : "", h.h_cookies[c]);
	}
	bl_http_free(&h);
	return 0;
}

/* The request of waiter `i` (even: browser, odd: phone) into buf. */
static int
request_of(struct waiters *w, long i, char *buf, size_t size)
{
	int port = w->w_srv->s_port;

	if (i % 2 == 0) {
		const char *login = w->w_login[(i / 2) % w->w_nlogins];
		return snprintf(buf, size,
			"GET /login/poll?req=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\nAccept: "
			"application/json\r\n\r\n",
			login, port, login + strlen(login) + 1);
	} else {
		struct sapp *phone = w->w_phone[(i / 2) % w->w_nphones];
		char htu[300];
		struct sl_err err;
		char *proof;
		int n;
		snprintf(htu, sizeof(htu), "%s/device/v1/requests", w->w_srv->s_issuer);
		if ((proof = sapp_proof(&phone->sa_tk, "GET", htu, &err)) == NULL)
			return -1;
		n = snprintf(buf, size, "GET /device/v1/requests HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nDPoP: %s\r\n\r\n",
			port, proof);
		free(proof);
		return n;
	}
}

static int
open_one(struct waiters *w, long i)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)i };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % w->w_addrs));
	dst.sin_addr.s_addr = htonl(0x7f000001u);
	dst.sin_port = htons((uint16_t)w->w_srv->s_port);
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
		(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS) ||
		epoll_ctl(w->w_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return -1;
	}
	w->w_conn[i].c_fd = fd;
	w->w_conn[i].c_state = 1;
	return 0;
}

static void
closed(struct waiters *w, long i)
{
	close(w->w_conn[i].c_fd);
	w->w_conn[i].c_state = 3;
}

/* One event on waiter i: connected (send the request) or answered. */
static void
on_event(struct waiters *w, long i, uint32_t events, long *connecting)
{
	struct conn *c = &w->w_conn[i];
	char buf[4096];
	int err = 0;
	socklen_t el = sizeof(err);

	if (c->c_state == 1) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i };
		int n;
		(*connecting)--;
		if ((events & (EPOLLERR | EPOLLHUP)) || getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
			err != 0 || (n = request_of(w, i, buf, sizeof(buf))) <= 0 || (size_t)n >= sizeof(buf) ||
			write(c->c_fd, buf, (size_t)n) != n) {
			w->w_answered++;
			closed(w, i);
			return;
		}
		c->c_state = 2;
		epoll_ctl(w->w_ep, EPOLL_CTL_MOD, c->c_fd, &ev);
		return;
	}
	if (c->c_state == 2) { /* an answer before any wake-up: refused or busy */
		ssize_t n = read(c->c_fd, buf, sizeof(buf) - 1);
		if (n > 0 && w->w_first_answer[0] == '\0') {
			buf[n] = '\0';
			snprintf(w->w_first_answer, sizeof(w->w_first_answer), "%.*s", (int)strcspn(buf, "\r\n"), buf);
		}
		w->w_answered++;
		closed(w, i);
	}
}

/* Open waiters [from, to) and wait until they are all sent. */
static void
open_range(struct waiters *w, long from, long to)
{
	struct epoll_event evs[512];
	long next = from, connecting = 0;

	while (next < to || connecting > 0) {
		int n;
		while (next < to && connecting < IN_FLIGHT) {
			if (open_one(w, next) == 0)
				connecting++;
			else
				w->w_answered++;
			next++;
		}
		n = epoll_wait(w->w_ep, evs, 512, 1000);
		for (int k = 0; k < n; k++)
			on_event(w, (long)evs[k].data.u64, evs[k].events, &connecting);
	}
}

/* Serve events until the gauge reaches `want` or stops moving. */
static long
settle(struct waiters *w, long want)
{
	struct epoll_event evs[512];
	long g = -1, last = -1;
	double until = bl_now() + SETTLE_SECS, still = bl_now();
	long dummy = 0;

	while (bl_now() < until) {
		int n = epoll_wait(w->w_ep, evs, 512, 200);
		for (int k = 0; k < n; k++)
			on_event(w, (long)evs[k].data.u64, evs[k].events, &dummy);
		g = gauge(w->w_srv);
		if (g >= want)
			break;
		if (g != last) {
			last = g;
			still = bl_now();
		} else if (bl_now() - still > 5) {
			break;
		}
	}
	return g;
}

static void
row(json_t *out, const char *variant, const char *what, double value)
{
	struct bl_result r = { .r_scenario = "waiters", .r_cpu_us = -1, .r_extra = value };

	snprintf(r.r_what, sizeof(r.r_what), "%s%s", variant, what);
	r.r_p50 = r.r_p99 = r.r_p999 = r.r_aux50 = r.r_aux99 = r.r_aux999 = -1;
	bl_report(out, &r);
}

static int
hold(const struct bl_opts *o, struct waiters *w, json_t *out, const char *variant)
{
	pid_t pid = w->w_srv->s_pid;
	long rss0 = bl_rss_kib(pid), fds0 = bl_fds(pid), g_half, g_full, rss_half, rss_full;
	double cpu0 = bl_cpu(pid), t0 = bl_now(), cpu1, per_waiter;
	char what[96];

	(void)o;
	open_range(w, 0, w->w_n); /* half: N/2 browsers and N/2 phones */
	g_half = settle(w, w->w_n);
	rss_half = bl_rss_kib(pid);
	open_range(w, w->w_n, 2 * w->w_n);
	g_full = settle(w, 2 * w->w_n);
	rss_full = bl_rss_kib(pid);
	cpu1 = bl_cpu(pid);
	snprintf(what, sizeof(what), "held (%ld browsers + %ld phones asked)", w->w_n, w->w_n);
	row(out, variant, what, (double)g_full);
	if (w->w_answered > 0)
		fprintf(stderr, "bench: %ld long-polls answered early (first: %s)\n", w->w_answered, w->w_first_answer);
	row(out, variant, "answered early / not connected", (double)w->w_answered);
	row(out, variant, "server RSS MiB, idle", rss0 / 1024.0);
	row(out, variant, "server RSS MiB, all held", rss_full / 1024.0);
	row(out, variant, "server fds, idle", (double)fds0);
	row(out, variant, "server fds, all held", (double)bl_fds(pid));
	per_waiter = g_full > g_half ? (double)(rss_full - rss_half) * 1024.0 / (double)(g_full - g_half) : -1;
	row(out, variant, "RSS bytes per waiter (half to all)", per_waiter);
	if (per_waiter > 0)
		row(out, variant, "projected RSS MiB, 100k + 100k",
			(rss_full * 1024.0 + per_waiter * (double)(PROJECT - g_full)) / 1048576.0);
	row(out, variant, "server CPU us per waiter set up", g_full > 0 ? (cpu1 - cpu0) * 1e6 / (double)g_full : -1);
	fprintf(stderr, "bench: %ld waiters set up in %.1f s\n", g_full, bl_now() - t0);
	return g_full > 0 ? 0 : -1;
}

/* Close every open waiter, ready for another round. */
static void
close_all(struct waiters *w)
{
	for (long i = 0; w->w_conn != NULL && i < 2 * w->w_n; i++) {
		if (w->w_conn[i].c_state == 1 || w->w_conn[i].c_state == 2)
			close(w->w_conn[i].c_fd);
		w->w_conn[i].c_state = 0;
	}
	w->w_answered = 0;
	w->w_first_answer[0] = '\0';
}

/* Waiters of each kind this machine allows: both ends hold 2N fds. */
static long
waiters_allowed(const struct bl_opts *o)
{
	struct rlimit rl;
	long n = o->o_waiters;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < 2 * n + 2000) {
		n = ((long)rl.rlim_cur - 2000) / 2;
		fprintf(stderr, "bench: RLIMIT_NOFILE is %ld here: %ld waiters of each kind instead of %ld\n",
			(long)rl.rlim_cur, n, o->o_waiters);
	}
	return n;
}

static int
run(const struct bl_opts *o, struct bl_server *s, struct waiters *w, json_t *out)
{
	char client[128], secret[128], conf[1024];
	long total = 2 * w->w_n + 1000;

	for (; w->w_nphones < PHONES && w->w_nphones < w->w_n; w->w_nphones++) {
		char number[SAPP_PHONE_MAX + 1];
		if (bl_phone_enrol(o, s, w->w_nphones, &w->w_phone[w->w_nphones], number) != SL_OK)
			return -1;
	}
	if (bl_server_client(o, s, client, secret) != 0)
		return -1;
	snprintf(conf, sizeof(conf),
		"[server]\nmax_connections = %ld\nconnection_timeout = 3600\nper_ip_connections = 0\n"
		"[portal]\nwaiter_timeout = 300\nmax_waiters = %ld\n[app]\npoll_timeout = 300\n",
		total > 1000000 ? 1000000 : total, total);
	if (bl_server_restart(s, false, conf) != 0 || pending_logins(o, w, client) != 0)
		return -1;
	w->w_addrs = o->o_addrs;
	if ((w->w_conn = calloc((size_t)(2 * w->w_n), sizeof(*w->w_conn))) == NULL ||
		(w->w_ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || hold(o, w, out, "") != 0)
		return -1;
	/* the same at connection_memory's floor (4096, one page): the setting
	 * of a node meant for 100 000 + 100 000 waiters (docs/operator.md) */
	close_all(w);
	if (bl_server_restart(s, false, "[server]\nconnection_memory = 4096\n") != 0)
		return -1;
	return hold(o, w, out, "mem 4096: ");
}

int
bl_waiters(const struct bl_opts *o, json_t *out)
{
	struct bl_server s;
	struct waiters w = { .w_srv = &s, .w_ep = -1 };
	int rc;

	w.w_n = waiters_allowed(o);
	if (w.w_n < 2)
		return -1;
	if (bl_server_start(o, "waiters", false, true,
		    "[app]\nrate_phone = 1000000\nrate_ip = 1000000\nrate_rp = 100000000\n[sms]\ndriver = outbox\n",
		    &s) != 0)
		return -1;
	rc = run(o, &s, &w, out);
	bl_server_stop(&s);
	close_all(&w);
	if (w.w_ep >= 0)
		close(w.w_ep);
	for (int i = 0; i < w.w_nphones; i++)
		sapp_free(w.w_phone[i]);
	free(w.w_conn);
	free(w.w_login);
	return rc;
}
