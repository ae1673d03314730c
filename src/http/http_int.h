/* http_int.h — shared between the http module's files; not public. */
#ifndef SL_HTTP_INT_H
#define SL_HTTP_INT_H

#include <netinet/in.h>
#include <stdatomic.h>

#include <gnutls/abstract.h>
#include <microhttpd.h>

#include "http.h"

#define HTTP_MAX_EXTRA_HEADERS 8
/* Room in the connection's pool: what one request field costs besides its
 * bytes (MHD's record of it, ": " and CRLF), and what an answer's headers
 * need at most (the security headers of response.c, a Location, up to
 * HTTP_MAX_EXTRA_HEADERS cookies).  daemon.c refuses with 431 a request
 * that would leave less (docs/config.md, connection_memory). */
#define HTTP_POOL_FIELD 64
/* What listen() asks; the kernel caps it at net.core.somaxconn. */
#define HTTP_LISTEN_BACKLOG 65535
#define HTTP_ANSWER_RESERVE 1024

/* One allocation: hp_value points into hp_name's block ("name\0value"). */
struct http_param {
	char *hp_name;
	char *hp_value;
};

/* A suspended long-poll keeps its struct http_request (and its MHD
 * connection) for minutes, and 100 000 of them are the memory target of a
 * node (docs/performance.md): what is held only while answering (extra
 * response headers) or only sometimes (parameters) is allocated when it is
 * needed, to its size. */

struct http_request {
	struct http_daemon *rq_daemon;
	struct MHD_Connection *rq_conn;
	const struct http_route *rq_route;
	int rq_route_index;
	enum http_method rq_method;
	const char *rq_path; /* MHD's, in the connection's pool until completed() */
	const char *rq_ctype; /* a POST's Content-Type: MHD's, looked up once at its start; NULL: none */
	char rq_ip[INET6_ADDRSTRLEN];
	int64_t rq_start_us;
	int rq_status; /* 0 until a response is queued */
	int rq_early_status; /* a limit was hit before the handler ran */
	const char *rq_early_msg;
	struct sl_buf rq_body;
	struct http_param *rq_params; /* query (GET) or form (POST), grown to fit */
	unsigned rq_nparams, rq_params_cap;
	const char *rq_repeated;
	char *(*rq_extra)[2]; /* HTTP_MAX_EXTRA_HEADERS name/value pairs, allocated at the first */
	unsigned rq_nextra;
	int rq_wake; /* enum waiter_reason after a wait */
	bool rq_waiting;
	void *rq_data;
	void (*rq_data_free)(void *);
	const void *rq_memo_of; /* http_memo: what rq_memo was derived from */
	char rq_memo[HTTP_MEMO_MAX + 1];
};

struct http_daemon {
	struct http_daemon_conf d_conf;
	struct MHD_Daemon *d_mhd;
	struct head_watch *d_headwatch; /* NULL: header_timeout 0 */
	struct tls_key *d_tlskey; /* TLS listeners: the chain and the external key */
	gnutls_datum_t d_ticket_key; /* hd_tls_tickets: GnuTLS's master key for them */
	atomic_int d_active;
	int d_port;
};

/* What daemon.c keeps per connection (MHD's socket context): the daemon,
 * for the TLS certificate callback, which gets only the session, and the
 * header watch's entry. */
struct conn_ctx {
	struct http_daemon *cc_daemon;
	void *cc_head;
};

/* tlskey.c: the certificate chain and a GnuTLS external private key whose
 * signatures come from hd_tls_sign; tlskey_new() checks with one
 * signature that the key signs for the certificate. */
struct tls_key;
struct tls_key *tlskey_new(
	const char *name, const char *cert_pem, http_tls_sign_fn sign, void *ctx, struct sl_err *err);
void tlskey_free(struct tls_key *k);
/* What the certificate callback returns for a handshake. */
void tlskey_get(struct tls_key *k, gnutls_pcert_st **pcert, unsigned *pcert_length, gnutls_privkey_t *privkey);

/* headwatch.c: the deadline on a new connection's first request head */
struct head_watch;
struct head_watch *headwatch_new(int timeout_s);
void headwatch_free(struct head_watch *hw);
void headwatch_notify(
	void *cls, struct MHD_Connection *conn, void **socket_context, enum MHD_ConnectionNotificationCode code);
/* entry: what headwatch_notify() put in the socket context it was given. */
void headwatch_done(struct head_watch *hw, void *entry);
/* request.c */
int request_parse_query(struct http_request *rq);
int request_parse_form(struct http_request *rq);
void request_free(struct http_request *rq);
void request_drop_query(struct http_request *rq);
/* response.c */
void response_queue(struct http_request *rq, int status, const char *ctype, char *body, size_t len, bool cacheable);
void response_bare(struct http_request *rq, int status);

#endif
