/*
 * daemon.c — one MHD daemon per origin, each with an epoll event loop per
 * thread of its pool, suspend/resume allowed, and every connection limit
 * from the configuration.
 *
 * MHD calls answer() several times per request: once with the headers
 * (limits are checked here: room left in the connection's pool, body size
 * announced, query size and count, cookie size), then once per body chunk
 * (appended to a bounded buffer), and once at the end, when the route's
 * handler runs.  A handler that waits suspends the connection; when it is
 * resumed MHD calls answer() again and the handler runs again with the
 * wake reason set.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "http_int.h"

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
route_find(const struct http_daemon_conf *c, const char *path)
{
	for (size_t i = 0; i < c->hd_nroutes; i++) {
		const struct http_route *r = &c->hd_routes[i];
		if (!(r->hr_origins & c->hd_origin))
			continue;
		if (r->hr_prefix ? strncmp(path, r->hr_path, strlen(r->hr_path)) == 0 : strcmp(path, r->hr_path) == 0)
			return (int)i;
	}
	return -1;
}

static enum http_method
method_of(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return HTTP_GET;
	if (strcmp(m, "POST") == 0)
		return HTTP_POST;
	if (strcmp(m, "HEAD") == 0)
		return HTTP_HEAD;
	return 0;
}

static void
client_ip(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	sl_strlcpy(out, "unknown", len);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)len);
}

/* A browser finding its way (Accept names text/html) to a path no route
 * serves: it is shown the error page, where an API client keeps JSON. */
static bool
wants_page(struct http_request *rq)
{
	const char *accept = http_header(rq, "Accept");

	return rq->rq_route == NULL && accept != NULL && strstr(accept, "text/html") != NULL;
}

/* An error found before the handler: JSON for APIs, a page for browsers. */
static void
early_error(struct http_request *rq, int status, const char *msg)
{
	const struct http_daemon_conf *c = &rq->rq_daemon->d_conf;

	if (((rq->rq_route != NULL && rq->rq_route->hr_kind == HTTP_KIND_PAGE) || wants_page(rq)) && c->hd_error_page) {
		c->hd_error_page(c->hd_ctx, rq, status);
		if (rq->rq_status != 0)
			return;
	}
	http_send_oauth_error(rq, status, status == 413 ? "request_too_large" : "invalid_request", msg);
}

struct pool_walk {
	size_t pw_bytes;
};

static enum MHD_Result
pool_iter(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value, size_t value_size)
{
	struct pool_walk *pw = cls;

	(void)kind;
	(void)key;
	(void)value;
	pw->pw_bytes += key_size + value_size + HTTP_POOL_FIELD;
	return MHD_YES;
}

/* MHD keeps a request's line and headers in the connection's pool
 * ([server] connection_memory) and builds the answer's headers in what is
 * left.  A request too large for the pool gets MHD's own 431, but one that
 * fits with too little room left for the answer was closed without any
 * (found at connection_memory = 4096: between 3.3 and 3.9 KB of headers):
 * such a request is refused with 431 here, while there is room for that.
 * The estimate counts every field with its record: headers, query
 * arguments, and cookies (MHD parses a copy of the Cookie header, so its
 * bytes count twice).  Left is a sliver of about 128 bytes just under
 * MHD's own limit where not even a bare 431 fits and MHD closes. */
static bool
headers_leave_room(struct http_request *rq)
{
	struct pool_walk pw = { strlen(rq->rq_path) + HTTP_POOL_FIELD };

	MHD_get_connection_values_n(
		rq->rq_conn, MHD_HEADER_KIND | MHD_COOKIE_KIND | MHD_GET_ARGUMENT_KIND, pool_iter, &pw);
	return pw.pw_bytes + HTTP_ANSWER_RESERVE <= (size_t)rq->rq_daemon->d_conf.hd_connection_memory;
}

/* Header-time checks; returns 0 or the status to answer with. */
static int
check_headers(struct http_request *rq, const char **msg)
{
	const struct http_limits *lim = &rq->rq_daemon->d_conf.hd_limits;
	const char *cl = http_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *cookie = http_header(rq, MHD_HTTP_HEADER_COOKIE);
	int rc;

	if (!headers_leave_room(rq)) {
		*msg = "request headers too large";
		return 431;
	}
	if (cl != NULL && strtoll(cl, NULL, 10) > lim->hl_max_body) {
		*msg = "request body too large";
		return 413;
	}
	if (cookie != NULL && (int)strlen(cookie) > lim->hl_max_cookie) {
		*msg = "cookie header too large";
		return 400;
	}
	rc = request_parse_query(rq);
	if (rc == SL_ETOOBIG) {
		*msg = "too many or too large query parameters";
		return 400;
	}
	if (rc != SL_OK) {
		*msg = "malformed query parameters";
		return 400;
	}
	return 0;
}

static struct http_request *
request_new(struct http_daemon *d, struct MHD_Connection *conn, const char *url, const char *method)
{
	struct http_request *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		return NULL;
	rq->rq_daemon = d;
	rq->rq_conn = conn;
	rq->rq_start_us = now_us();
	rq->rq_path = url;
	rq->rq_method = method_of(method);
	if (rq->rq_method == HTTP_POST)
		rq->rq_ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq->rq_route_index = route_find(&d->d_conf, url);
	rq->rq_route = rq->rq_route_index >= 0 ? &d->d_conf.hd_routes[rq->rq_route_index] : NULL;
	sl_buf_init(&rq->rq_body, (size_t)d->d_conf.hd_limits.hl_max_body);
	client_ip(conn, rq->rq_ip, sizeof(rq->rq_ip));
	atomic_fetch_add(&d->d_active, 1);
	return rq;
}

static void
dispatch(struct http_request *rq)
{
	if (rq->rq_early_status == 431) {
		response_bare(rq, 431);
		return;
	}
	if (rq->rq_early_status != 0) {
		early_error(rq, rq->rq_early_status, rq->rq_early_msg);
		return;
	}
	if (rq->rq_route == NULL) {
		rq->rq_early_status = 404;
		early_error(rq, 404, "no such endpoint");
		return;
	}
	if (rq->rq_method == 0 || !(rq->rq_route->hr_methods & rq->rq_method)) {
		http_add_header(rq, MHD_HTTP_HEADER_ALLOW,
			rq->rq_route->hr_methods & HTTP_POST
				? (rq->rq_route->hr_methods & HTTP_GET ? "GET, HEAD, POST" : "POST")
				: "GET, HEAD");
		early_error(rq, 405, "method not allowed");
		return;
	}
	if (rq->rq_method == HTTP_POST) {
		/* The query's parameters, parsed with the headers, give way to
		 * the form body's, or to none when the body is not a form. */
		int rc = request_parse_form(rq);
		if (rc != SL_OK) {
			early_error(rq, 400, rc == SL_ETOOBIG ? "too many form parameters" : "malformed form body");
			return;
		}
	}
	rq->rq_route->hr_fn(rq->rq_daemon->d_conf.hd_ctx, rq);
	if (rq->rq_status == 0 && !rq->rq_waiting) {
		log_error("handler for %s answered nothing", rq->rq_path);
		http_send_oauth_error(rq, 500, "server_error", "no response");
	}
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
	const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct http_daemon *d = cls;
	struct http_request *rq = *req_cls;

	(void)version;
	if (rq == NULL) {
		if (d->d_headwatch != NULL) {
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
			const struct conn_ctx *cc = ci != NULL ? ci->socket_context : NULL;
			if (cc != NULL)
				headwatch_done(d->d_headwatch, cc->cc_head);
		}
		rq = request_new(d, conn, url, method);
		if (rq == NULL)
			return MHD_NO;
		*req_cls = rq;
		/* An unknown method is answered by dispatch(): 404 or 405 with Allow. */
		if (rq->rq_method != 0)
			rq->rq_early_status = check_headers(rq, &rq->rq_early_msg);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (rq->rq_early_status == 0 && sl_buf_add(&rq->rq_body, upload_data, *upload_data_size) != SL_OK) {
			rq->rq_early_status = 413;
			rq->rq_early_msg = "request body too large";
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->rq_waiting) {
		/* Resumed after a wait: run the handler again, with the query
		 * parsed again (it passed the limits the first time). */
		rq->rq_waiting = false;
		if (rq->rq_method != HTTP_POST && request_parse_query(rq) != SL_OK)
			http_send_oauth_error(rq, 503, "temporarily_unavailable", "out of memory");
		else
			rq->rq_route->hr_fn(d->d_conf.hd_ctx, rq);
		if (rq->rq_status == 0 && !rq->rq_waiting)
			http_send_empty(rq, 204);
	} else if (rq->rq_status == 0) {
		dispatch(rq);
	}
	if (rq->rq_waiting && rq->rq_method != HTTP_POST)
		request_drop_query(rq);
	return MHD_YES;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_daemon *d = cls;
	struct http_request *rq = *req_cls;

	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	if (d->d_conf.hd_done)
		d->d_conf.hd_done(d->d_conf.hd_ctx, rq->rq_route_index, rq->rq_status, now_us() - rq->rq_start_us);
	atomic_fetch_sub(&d->d_active, 1);
	request_free(rq);
	*req_cls = NULL;
}

/* libmicrohttpd 0.9.75 has no option for session tickets, but its TLS
 * session exists when a connection is announced, before the handshake:
 * tickets are enabled on it here.  GnuTLS derives the keys that encrypt
 * the tickets from the master key and rotates them itself. */
static void
tickets_enable(struct http_daemon *d, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);

	if (ci != NULL && ci->tls_session != NULL)
		gnutls_session_ticket_enable_server((gnutls_session_t)ci->tls_session, &d->d_ticket_key);
}

/* Every connection gets its struct conn_ctx, which the header watch and
 * the TLS certificate callback use. */
static void
conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct http_daemon *d = cls;
	struct conn_ctx *cc = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		/* Out of memory: no header deadline (connection_timeout still
		 * holds), and a TLS handshake finds no certificate and fails. */
		if ((cc = calloc(1, sizeof(*cc))) == NULL)
			return;
		cc->cc_daemon = d;
		*socket_context = cc;
		if (d->d_ticket_key.data != NULL)
			tickets_enable(d, conn);
	}
	if (cc == NULL)
		return;
	if (d->d_headwatch != NULL)
		headwatch_notify(d->d_headwatch, conn, &cc->cc_head, code);
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(cc);
		*socket_context = NULL;
	}
}

/* MHD_OPTION_HTTPS_CERT_CALLBACK: the chain and the external key of the
 * listener the handshake is on.  libmicrohttpd sets the session's pointer
 * to its connection; the connection's socket context is our conn_ctx. */
static int
tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
	const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert, unsigned int *pcert_length,
	gnutls_privkey_t *privkey)
{
	struct MHD_Connection *conn = gnutls_session_get_ptr(session);
	const union MHD_ConnectionInfo *ci =
		conn != NULL ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
	const struct conn_ctx *cc = ci != NULL ? ci->socket_context : NULL;

	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (cc == NULL || cc->cc_daemon->d_tlskey == NULL)
		return -1;
	tlskey_get(cc->cc_daemon->d_tlskey, pcert, pcert_length, privkey);
	return 0;
}

static void
daemon_free(struct http_daemon *d)
{
	headwatch_free(d->d_headwatch);
	tlskey_free(d->d_tlskey);
	if (d->d_ticket_key.data != NULL) {
		gnutls_memset(d->d_ticket_key.data, 0, d->d_ticket_key.size);
		gnutls_free(d->d_ticket_key.data);
	}
	free(d);
}

__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("libmicrohttpd: %s", msg);
}

struct http_daemon *
http_daemon_start(const struct http_daemon_conf *conf, struct sl_err *err)
{
	struct http_daemon *d = calloc(1, sizeof(*d));
	struct sockaddr_in sin;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	const union MHD_DaemonInfo *di;
	struct MHD_OptionItem opts[20];
	int n = 0;

	if (d == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	d->d_conf = *conf;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)conf->hd_port);
	if (inet_pton(AF_INET, conf->hd_listen, &sin.sin_addr) != 1) {
		free(d);
		return sl_fail(err, SL_EINVAL, "%s: listen address %s is not an IPv4 address", conf->hd_name,
			       conf->hd_listen),
		       NULL;
	}
	/* TLS listeners run MHD's poll loop, not epoll: libmicrohttpd 0.9.75's
	 * epoll loop keeps a handshaking connection on its ready list and calls
	 * gnutls_handshake again and again while it answers "again", so a
	 * client that sends its ClientHello and then waits costs most of a core
	 * until the connection timeout (measured by bench/load, asserted by
	 * tests/integration/tls-stall).  poll() waits on the socket.  Suspended
	 * long-polls are not in the poll set, so the many waiters cost nothing
	 * per loop; the plain listeners behind a proxy keep epoll. */
	if (conf->hd_tls)
		flags = (flags & ~(unsigned)MHD_USE_EPOLL_INTERNAL_THREAD) | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TLS;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &sin };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, conf->hd_threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, conf->hd_max_connections, NULL };
	if (conf->hd_per_ip_connections > 0)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->hd_per_ip_connections,
			NULL };
	/* The listen queue is the kernel's to bound (net.core.somaxconn caps
	 * what listen() asks): after a restart every waiting browser and phone
	 * reconnects at once, and libmicrohttpd's own SOMAXCONN (4096) would
	 * drop SYNs the operator's setting allows (docs/operator.md). */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, HTTP_LISTEN_BACKLOG, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, conf->hd_connection_memory, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, conf->hd_connection_timeout, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, d };
	if (conf->hd_header_timeout > 0) {
		d->d_headwatch = headwatch_new(conf->hd_header_timeout);
		if (d->d_headwatch == NULL) {
			free(d);
			return sl_fail(err, SL_ENOMEM, "%s: cannot start the header timeout thread", conf->hd_name),
			       NULL;
		}
	}
	if (d->d_headwatch != NULL || conf->hd_tls)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)conn_notify, d };
	if (conf->hd_tls) {
		/* No private key here: the certificate callback gives GnuTLS
		 * an external key that signs through hd_tls_sign (tlskey.c). */
		d->d_tlskey =
			tlskey_new(conf->hd_tls_key, conf->hd_cert_pem, conf->hd_tls_sign, conf->hd_tls_sign_ctx, err);
		if (d->d_tlskey == NULL) {
			daemon_free(d);
			return NULL;
		}
		if (conf->hd_tls_tickets && gnutls_session_ticket_key_generate(&d->d_ticket_key) < 0) {
			daemon_free(d);
			return sl_fail(err, SL_ECRYPTO, "%s: cannot make a session ticket key", conf->hd_name), NULL;
		}
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)tls_retrieve };
		if (conf->hd_priorities != NULL)
			opts[n++] =
				(struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)conf->hd_priorities };
		if (conf->hd_trust_pem != NULL)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, conf->hd_trust_pem };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d->d_mhd = MHD_start_daemon(
		flags, (uint16_t)conf->hd_port, NULL, NULL, answer, d, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d->d_mhd == NULL) {
		daemon_free(d);
		return sl_fail(err, SL_EIO, "%s: cannot listen on %s:%d (in use, or bad TLS certificate)",
			       conf->hd_name, conf->hd_listen, conf->hd_port),
		       NULL;
	}
	di = MHD_get_daemon_info(d->d_mhd, MHD_DAEMON_INFO_BIND_PORT);
	d->d_port = di ? di->port : conf->hd_port;
	return d;
}

void
http_daemon_quiesce(struct http_daemon *d)
{
	MHD_socket fd;

	if (d == NULL)
		return;
	fd = MHD_quiesce_daemon(d->d_mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

int
http_daemon_active(struct http_daemon *d)
{
	return d ? atomic_load(&d->d_active) : 0;
}

int
http_daemon_port(struct http_daemon *d)
{
	return d->d_port;
}

void
http_daemon_stop(struct http_daemon *d)
{
	if (d == NULL)
		return;
	MHD_stop_daemon(d->d_mhd); /* closes every connection: the watch's list is empty */
	daemon_free(d);
}

size_t
http_client_certs(const struct http_request *rq, const uint8_t **ders, size_t *lens, size_t max)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *peers;
	unsigned int n = 0;

	if (!rq->rq_daemon->d_conf.hd_tls)
		return 0;
	ci = MHD_get_connection_info(rq->rq_conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return 0;
	/* GnuTLS has checked the client's proof of possession (CertificateVerify);
	 * whether the certificate is any good is for the application to say. */
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (peers == NULL)
		return 0;
	if (n > max)
		n = (unsigned int)max;
	for (unsigned int i = 0; i < n; i++) {
		ders[i] = peers[i].data;
		lens[i] = peers[i].size;
	}
	return n;
}

/* ---- waiting ---- */

static void
wake(void *arg, enum waiter_reason reason)
{
	struct http_request *rq = arg;

	rq->rq_wake = (int)reason;
	MHD_resume_connection(rq->rq_conn);
}

int
http_wait(struct http_request *rq, struct waiter_registry *reg, const char *key, int64_t deadline_ms)
{
	int rc;

	/* Suspend first: the wake may come from another thread at once. */
	rq->rq_waiting = true;
	rq->rq_wake = 0;
	MHD_suspend_connection(rq->rq_conn);
	rc = waiter_add(reg, key, deadline_ms, wake, rq);
	if (rc != SL_OK) {
		rq->rq_waiting = false;
		MHD_resume_connection(rq->rq_conn);
	}
	return rc;
}

int
http_wait_recheck(struct http_request *rq, struct waiter_registry *reg, const char *key, int64_t deadline_ms,
	bool (*happened)(void *), void *arg)
{
	int rc = http_wait(rq, reg, key, deadline_ms);

	/* The event may have come between the handler's look and the waiter's
	 * registration, and its notify found nobody: look again now that the
	 * waiter is registered, and if it came, wake the key ourselves. */
	if (rc == SL_OK && happened(arg))
		waiter_notify(reg, key);
	return rc;
}

int
http_wake_reason(const struct http_request *rq)
{
	return rq->rq_wake;
}
