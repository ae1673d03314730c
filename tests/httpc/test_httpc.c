/*
 * test_httpc.c — the outgoing HTTP client's refusals, which need no
 * network: schemes other than http(s), plain http to a non-loopback host,
 * a closed loopback port, and a response larger than the limit (from a
 * one-shot server on a loopback socket in a thread).
 */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/httpc/httpc.h"

static int
global_setup(void **state)
{
	(void)state;
	return httpc_global_init() == SL_OK ? 0 : -1;
}

static int
global_teardown(void **state)
{
	(void)state;
	httpc_global_cleanup();
	return 0;
}

static int
get(const char *url, bool allow_http, struct httpc_response *rs, struct sl_err *err)
{
	struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_timeout = 5, .hr_allow_http = allow_http };

	return httpc_do(&rq, rs, err);
}

static void
test_schemes_refused(void **state)
{
	static const char *const urls[] = { "ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/",
		"http://example.org/", "http://127.0.0.1.example.org/", "HTTP://example.org/", "//127.0.0.1/", "" };
	struct httpc_response rs;
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (get(urls[i], false, &rs, &err) != SL_EINVAL)
			fail_msg("%s was not refused", urls[i]);
		assert_null(rs.hs_body);
	}
	assert_int_equal(get(NULL, false, &rs, &err), SL_EINVAL);
}

/* A closed port on loopback: a transport error with a message, fast. */
static void
test_closed_port(void **state)
{
	struct httpc_response rs;
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(get("http://127.0.0.1:1/", false, &rs, &err), SL_EIO);
	assert_non_null(strstr(err.msg, "127.0.0.1:1"));
	assert_int_equal(rs.hs_status, 0);
}

struct one_shot {
	int os_fd;
	size_t os_body; /* bytes of body to send */
};

static void *
serve_once(void *arg)
{
	struct one_shot *os = arg;
	char head[128], buf[4096];
	int c = accept(os->os_fd, NULL, NULL);
	size_t left = os->os_body;

	if (c < 0)
		return NULL;
	(void)!read(c, buf, sizeof(buf));
	snprintf(
		head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", os->os_body);
	(void)!write(c, head, strlen(head));
	memset(buf, 'a', sizeof(buf));
	while (left > 0) {
		ssize_t n = write(c, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0)
			break;
		left -= (size_t)n;
	}
	close(c);
	return NULL;
}

static int
run_one_shot(size_t body, struct httpc_response *rs, struct sl_err *err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct one_shot os = { socket(AF_INET, SOCK_STREAM, 0), body };
	char url[64];
	pthread_t t;
	int rc;

	assert_true(os.os_fd >= 0);
	assert_int_equal(bind(os.os_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(os.os_fd, 1), 0);
	assert_int_equal(getsockname(os.os_fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
	assert_int_equal(pthread_create(&t, NULL, serve_once, &os), 0);
	rc = get(url, false, rs, err);
	shutdown(os.os_fd, SHUT_RDWR);
	pthread_join(t, NULL);
	close(os.os_fd);
	return rc;
}

/* Up to the limit is kept whole; one byte more is refused. */
static void
test_response_limit(void **state)
{
	struct httpc_response rs;
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(run_one_shot(HTTPC_MAX_RESPONSE, &rs, &err), SL_OK);
	assert_int_equal(rs.hs_status, 200);
	assert_int_equal(rs.hs_len, HTTPC_MAX_RESPONSE);
	assert_int_equal(rs.hs_body[HTTPC_MAX_RESPONSE], '\0');
	httpc_response_clear(&rs);
	assert_int_equal(run_one_shot(HTTPC_MAX_RESPONSE + 1, &rs, &err), SL_ETOOBIG);
	assert_null(rs.hs_body);
	httpc_response_clear(NULL);
}

/* A keep-alive server that accepts ONE connection and answers every
 * request on it; further connections are not accepted (the listen queue
 * holds them, so a call on a second connection times out). */
struct keep_alive {
	int ka_fd;
	int ka_answered;
	char ka_first[512]; /* the first request's bytes (NUL-terminated) */
};

static void *
serve_keep_alive(void *arg)
{
	struct keep_alive *ka = arg;
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char buf[4096];
	int c = accept(ka->ka_fd, NULL, NULL);
	ssize_t n;

	if (c < 0)
		return NULL;
	while ((n = read(c, buf, sizeof(buf))) > 0) {
		if (ka->ka_answered == 0)
			snprintf(ka->ka_first, sizeof(ka->ka_first), "%.*s", (int)n, buf);
		/* one request per read: the client sends its next only after our answer */
		if (write(c, answer, sizeof(answer) - 1) != (ssize_t)(sizeof(answer) - 1))
			break;
		ka->ka_answered++;
	}
	close(c);
	return NULL;
}

/* A keep-alive server on a loopback port in thread *t: its port. */
static int
keep_alive_start(struct keep_alive *ka, pthread_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	ka->ka_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ka->ka_fd >= 0);
	assert_int_equal(bind(ka->ka_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ka->ka_fd, 4), 0);
	assert_int_equal(getsockname(ka->ka_fd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(pthread_create(t, NULL, serve_keep_alive, ka), 0);
	return ntohs(a.sin_port);
}

/* Calls through one share use one connection; without it each call needs
 * its own (libsleutel-app made three TLS handshakes per login). */
static void
test_share_keeps_the_connection(void **state)
{
	struct keep_alive ka = { 0 };
	struct httpc_share *sh = httpc_share_new();
	struct httpc_response rs;
	struct sl_err err = { 0 };
	char url[64];
	pthread_t t;

	(void)state;
	assert_non_null(sh);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", keep_alive_start(&ka, &t));
	for (int i = 0; i < 3; i++) {
		struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_timeout = 2, .hr_share = sh };
		assert_int_equal(httpc_do(&rq, &rs, &err), SL_OK);
		assert_int_equal(rs.hs_status, 200);
		httpc_response_clear(&rs);
	}
	/* Without the share the next call opens a second connection, which
	 * this server never accepts. */
	{
		struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_timeout = 1 };
		assert_int_equal(httpc_do(&rq, &rs, &err), SL_EIO);
	}
	httpc_share_free(sh); /* closes the kept connection: the server's read ends */
	pthread_join(t, NULL);
	close(ka.ka_fd);
	assert_int_equal(ka.ka_answered, 3);
	httpc_share_free(NULL);
}

/* A share's connect-to: a URL naming a closed port reaches the server
 * listening elsewhere, with the URL's Host; a target that is not loopback
 * is refused; removing the mapping makes the URL's own port count again. */
static void
test_share_connect_to(void **state)
{
	struct keep_alive ka = { 0 };
	struct httpc_share *sh = httpc_share_new();
	struct httpc_request rq = {
		.hr_method = "GET", .hr_url = "http://127.0.0.1:1/x", .hr_timeout = 2, .hr_share = sh
	};
	struct httpc_response rs;
	struct sl_err err = { 0 };
	pthread_t t;
	int port;

	(void)state;
	assert_non_null(sh);
	port = keep_alive_start(&ka, &t);
	assert_int_equal(httpc_share_connect_to(sh, "127.0.0.1", 1, "192.0.2.1", port, &err), SL_EINVAL);
	assert_int_equal(httpc_share_connect_to(sh, "127.0.0.1", 1, "127.0.0.1", 0, &err), SL_EINVAL);
	assert_int_equal(httpc_share_connect_to(sh, "127.0.0.1", 1, "127.0.0.1", port, &err), SL_OK);
	assert_int_equal(httpc_do(&rq, &rs, &err), SL_OK);
	assert_int_equal(rs.hs_status, 200);
	httpc_response_clear(&rs);
	assert_non_null(strstr(ka.ka_first, "GET /x HTTP/1.1\r\n"));
	assert_non_null(strstr(ka.ka_first, "\r\nHost: 127.0.0.1:1\r\n"));
	/* without the mapping the URL's closed port is what is connected */
	assert_int_equal(httpc_share_connect_to(sh, NULL, 0, NULL, 0, &err), SL_OK);
	rq.hr_url = "http://127.0.0.1:1/y";
	assert_int_equal(httpc_do(&rq, &rs, &err), SL_EIO);
	httpc_share_free(sh);
	pthread_join(t, NULL);
	close(ka.ka_fd);
	assert_int_equal(ka.ka_answered, 1);
}

/* A share behind httpc_share_plain's proxy: an https:// URL is asked as
 * plain HTTP of the same host and port (the bench's TLS-terminating proxy),
 * Host unchanged; not without it (a TLS handshake the server cannot
 * answer); never to a host that is not loopback. */
static void
test_share_plain(void **state)
{
	char url[64];
	pthread_t t;
	struct keep_alive ka = { 0 };
	struct sl_err err = { 0 };
	struct httpc_response rs;
	struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_timeout = 2 };

	(void)state;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/p", keep_alive_start(&ka, &t));
	assert_non_null(rq.hr_share = httpc_share_new());
	httpc_share_plain(rq.hr_share, true);
	assert_int_equal(httpc_do(&rq, &rs, &err), SL_OK);
	assert_int_equal(rs.hs_status, 200);
	httpc_response_clear(&rs);
	assert_non_null(strstr(ka.ka_first, "GET /p HTTP/1.1\r\n"));
	assert_non_null(strstr(ka.ka_first, "\r\nHost: 127.0.0.1:"));
	/* never to a host that is not loopback */
	rq.hr_url = "https://192.0.2.1/p";
	assert_int_equal(httpc_do(&rq, &rs, &err), SL_EINVAL);
	/* without it, TLS to a server that speaks none */
	httpc_share_plain(rq.hr_share, false);
	rq.hr_url = url;
	rq.hr_timeout = 1;
	assert_int_equal(httpc_do(&rq, &rs, &err), SL_EIO);
	httpc_share_free(rq.hr_share);
	pthread_join(t, NULL);
	close(ka.ka_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemes_refused),
		cmocka_unit_test(test_closed_port),
		cmocka_unit_test(test_response_limit),
		cmocka_unit_test(test_share_keeps_the_connection),
		cmocka_unit_test(test_share_connect_to),
		cmocka_unit_test(test_share_plain),
	};

	return cmocka_run_group_tests(tests, global_setup, global_teardown);
}
