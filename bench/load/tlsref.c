/*
 * tlsref.c — the TLS library's own cost, as a yardstick for sleuteld's
 * handshakes (issue 11 item 4): a minimal GnuTLS server in a child process
 * of the bench, one connection at a time, each a full handshake (or a
 * resumption when tickets are on), one read of the request, a fixed
 * 200 answer, bye, close.  No HTTP library, no application: what is left
 * of a handshake's server CPU is GnuTLS and the kernel.
 *
 * The variants are what the issue asks about: the key type (the
 * certificate and key passed in), the priority string, a certificate
 * request (the eID origin's), and session tickets (resumption).
 *
 * bl_tls_stall() is a client that sends its ClientHello and then nothing:
 * the server's CPU meanwhile shows whether it waits or spins.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "bl.h"

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/* One connection: handshake, the request read, the answer, bye. */
static void
serve_one(int fd, gnutls_certificate_credentials_t cred, gnutls_priority_t prio, const gnutls_datum_t *ticket_key,
	bool request_cert)
{
	gnutls_session_t s;
	char buf[4096];
	int rc;

	if (gnutls_init(&s, GNUTLS_SERVER) < 0)
		return;
	gnutls_priority_set(s, prio);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (request_cert)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	if (ticket_key != NULL)
		gnutls_session_ticket_enable_server(s, ticket_key);
	gnutls_transport_set_int(s, fd);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == 0) {
		do
			rc = (int)gnutls_record_recv(s, buf, sizeof(buf));
		while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
		if (rc > 0)
			gnutls_record_send(s, answer, sizeof(answer) - 1);
		gnutls_bye(s, GNUTLS_SHUT_WR);
	}
	gnutls_deinit(s);
}

static void
serve(int lfd, const struct bl_tlsref *t)
{
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	gnutls_datum_t key = { 0 };

	if (gnutls_global_init() < 0 || gnutls_certificate_allocate_credentials(&cred) < 0 ||
		gnutls_certificate_set_x509_key_file(cred, t->tr_cert, t->tr_key, GNUTLS_X509_FMT_PEM) < 0 ||
		gnutls_priority_init(&prio, t->tr_priorities, NULL) < 0 ||
		(t->tr_tickets && gnutls_session_ticket_key_generate(&key) < 0))
		_exit(1);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_one(fd, cred, prio, t->tr_tickets ? &key : NULL, t->tr_request_cert);
		close(fd);
	}
}

pid_t
bl_tlsref_start(const struct bl_tlsref *t, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	pid_t pid;

	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 512) != 0 ||
		getsockname(lfd, (struct sockaddr *)&a, &len) != 0) {
		close(lfd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		serve(lfd, t);
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* The stalled client reads nothing: its handshake stops after the
 * ClientHello however fast the server answers. */
static ssize_t
no_read(gnutls_transport_ptr_t ptr, void *buf, size_t size)
{
	(void)ptr;
	(void)buf;
	(void)size;
	errno = EAGAIN;
	return -1;
}

double
bl_tls_stall(int port, double secs, pid_t pid)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	double c0, c1 = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	a.sin_port = htons((uint16_t)port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("bench: connect");
		goto out;
	}
	if ((rc = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
		(rc = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK)) < 0)
		goto out;
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	gnutls_transport_set_pull_function(s, no_read);
	if ((rc = gnutls_handshake(s)) != GNUTLS_E_AGAIN) /* the ClientHello is out, the answer not read */
		goto out;
	usleep(200000); /* the server's flight is out; from here it waits for ours */
	c0 = bl_cpu(pid);
	usleep((useconds_t)(secs * 1e6));
	c1 = (bl_cpu(pid) - c0) / secs;
out:
	if (c1 < 0)
		fprintf(stderr, "bench: stalled handshake to port %d: %s\n", port,
			rc ? gnutls_strerror(rc) : "no connection");
	if (s != NULL)
		gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
	if (fd >= 0)
		close(fd);
	return c1;
}
