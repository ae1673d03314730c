/*
 * http — libmicrohttpd used directly: daemons, routing, request parsing
 * with explicit limits, responses with the security headers every answer
 * carries, and suspend/resume through the waiter registry.
 *
 * A handler receives a parsed request and answers it with one of the
 * http_send_* functions, or parks it with http_wait(); after the wait ends
 * MHD calls the same handler again, and http_wake_reason() says why.
 * Limits (query and body bytes, parameter count, cookie bytes) are checked
 * before the handler runs: it only sees requests within them.
 */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/core.h"
#include "../waiter/waiter.h"

enum http_method { HTTP_GET = 1, HTTP_POST = 2, HTTP_HEAD = 4 };
enum http_origin { HTTP_ORIGIN_PORTAL = 1, HTTP_ORIGIN_EID = 2, HTTP_ORIGIN_PKI = 4, HTTP_ORIGIN_METRICS = 8 };
/* How errors found before the handler are answered. */
enum http_kind { HTTP_KIND_API, HTTP_KIND_PAGE };

struct http_request;

typedef void (*http_handler_fn)(void *ctx, struct http_request *rq);

struct http_route {
	const char *hr_path; /* exact path, or a prefix when hr_prefix */
	unsigned hr_methods; /* enum http_method bits */
	unsigned hr_origins; /* enum http_origin bits */
	bool hr_prefix;
	enum http_kind hr_kind;
	http_handler_fn hr_fn;
};

struct http_limits {
	int hl_max_body;
	int hl_max_query;
	int hl_max_cookie;
	int hl_max_params;
};

/* Called once per finished request, for metrics. route_index is -1 for
 * requests that matched no route. */
typedef void (*http_done_fn)(void *ctx, int route_index, int status, int64_t latency_us);
/* Produces the page shown for errors found before a PAGE handler runs. */
typedef void (*http_error_page_fn)(void *ctx, struct http_request *rq, int status);
/* The TLS handshake's signature by the listener's private key, which this
 * process does not hold (sleuteld: keyholder_tls_sign): `algo` the
 * gnutls_sign_algorithm_t GnuTLS asks an external key for, `in` what its
 * sign_hash callback gets (a DigestInfo for RSA PKCS#1 v1.5, else the
 * hash); the signature malloc'd in *sig. */
typedef int (*http_tls_sign_fn)(void *ctx, const char *name, unsigned algo, const uint8_t *in, size_t len,
	uint8_t **sig, size_t *siglen, struct sl_err *err);

struct http_daemon_conf {
	const char *hd_name; /* "portal" or "eid", for logs */
	enum http_origin hd_origin;
	const char *hd_listen;
	int hd_port;
	bool hd_tls;
	char *hd_cert_pem; /* borrowed; must outlive the daemon; the chain, leaf first */
	http_tls_sign_fn hd_tls_sign; /* signs with the certificate's key (hd_tls) */
	void *hd_tls_sign_ctx;
	const char *hd_tls_key; /* the name hd_tls_sign knows the key by */
	bool hd_tls_tickets; /* TLS session tickets: a resumed handshake signs nothing */
	char *hd_trust_pem; /* eID: CAs named in the certificate request */
	const char *hd_priorities; /* GnuTLS priority string; NULL: NORMAL */
	int hd_threads;
	int hd_max_connections;
	int hd_per_ip_connections;
	int hd_connection_memory;
	int hd_connection_timeout;
	int hd_header_timeout; /* seconds for a new connection's first request head; 0: none */
	struct http_limits hd_limits;
	const struct http_route *hd_routes;
	size_t hd_nroutes;
	void *hd_ctx;
	http_done_fn hd_done;
	http_error_page_fn hd_error_page;
};

struct http_daemon;

struct http_daemon *http_daemon_start(const struct http_daemon_conf *conf, struct sl_err *err);
/* Stop accepting new connections (in-flight ones go on). */
void http_daemon_quiesce(struct http_daemon *d);
/* Requests being handled or waiting right now. */
int http_daemon_active(struct http_daemon *d);
/* Stop and free; connections still open are closed. */
void http_daemon_stop(struct http_daemon *d);
/* The port actually bound (when hd_port was 0). */
int http_daemon_port(struct http_daemon *d);

/* Split an application/x-www-form-urlencoded body of `len` bytes (NUL at
 * body[len]; decoded in place) and call `fn` for each pair with a
 * non-empty name.  SL_EINVAL for an embedded NUL; stops at fn's error. */
typedef int (*http_pair_fn)(void *arg, const char *name, size_t nlen, const char *value, size_t vlen);
int http_urlencoded_parse(char *body, size_t len, http_pair_fn fn, void *arg);

/* ---- the request ---- */
enum http_method http_method(const struct http_request *rq);
const char *http_path(const struct http_request *rq);
/* The path of the route the request matched, for links back to it: the
 * route's own path, or for a prefix route the request's (which starts
 * with that prefix); NULL when no route matched.  Never one a browser
 * reads as another host ("//", "/\\"), as http_path() can be. */
const char *http_route_path(const struct http_request *rq);
/* Query parameter (GET) or form field (POST urlencoded body). */
const char *http_query(const struct http_request *rq, const char *name);
const char *http_form(const struct http_request *rq, const char *name);
/* The form field for POST, the query parameter otherwise. */
const char *http_param(const struct http_request *rq, const char *name);
/* The name of a parameter given twice, or NULL (OAuth forbids repeats). */
const char *http_param_repeated(const struct http_request *rq);
/* Iterate over the parameters http_param() reads from. */
size_t http_param_count(const struct http_request *rq);
void http_param_at(const struct http_request *rq, size_t i, const char **name, const char **value);
const char *http_header(const struct http_request *rq, const char *name);
/* The LAST line of a header sent several times (http_header gives the
 * first): what a proxy that adds its own line rather than appending wrote. */
const char *http_header_last(const struct http_request *rq, const char *name);
const char *http_cookie(const struct http_request *rq, const char *name);
const char *http_client_ip(const struct http_request *rq);
const char *http_content_type(const struct http_request *rq);
/* Is the body application/x-www-form-urlencoded (with parameters or not)? */
bool http_body_is_form(const struct http_request *rq);
/* The OAuth endpoints take a form body only (RFC 6749 §3.2, RFC 9126
 * §2.1): false after answering 415 with a JSON error when it is not. */
bool http_form_body_required(struct http_request *rq);
/* The raw request body (POST); borrowed. */
const uint8_t *http_body(const struct http_request *rq, size_t *len);
bool http_is_tls(const struct http_request *rq);
/* The certificates the client presented in the TLS handshake, leaf first
 * (DER, borrowed: valid while the request is).  Returns how many were
 * stored in `ders`/`lens` (at most `max`); 0 when none or not TLS. */
size_t http_client_certs(const struct http_request *rq, const uint8_t **ders, size_t *lens, size_t max);
void *http_get_data(const struct http_request *rq);
/* Per-request data a handler keeps across a wait; freed with `free_fn`. */
void http_set_data(struct http_request *rq, void *data, void (*free_fn)(void *));
/* One value derived at some cost from a part of the request (the browser
 * binding: the hash of a cookie, wanted up to three times per request),
 * kept for the request's life.  `of` is the part's address (what
 * http_cookie returned: MHD keeps it for the connection); http_memo gives
 * NULL for any other.  A value longer than HTTP_MEMO_MAX is not kept. */
#define HTTP_MEMO_MAX 64
const char *http_memo(const struct http_request *rq, const void *of);
void http_memo_set(struct http_request *rq, const void *of, const char *value);

/* ---- answering ---- */
/* Extra header for the response about to be sent (Set-Cookie etc.). */
int http_add_header(struct http_request *rq, const char *name, const char *value);
void http_send_json(struct http_request *rq, int status, json_t *body); /* steals body */
void http_send_oauth_error(struct http_request *rq, int status, const char *error, const char *desc);
void http_send_html(struct http_request *rq, int status, char *html); /* takes html */
void http_send_text(struct http_request *rq, int status, const char *ctype, const char *body);
void http_send_redirect(struct http_request *rq, int status, const char *location);
void http_send_empty(struct http_request *rq, int status);
/* Static file answer with caching allowed. */
void http_send_static(struct http_request *rq, const char *ctype, const char *body, size_t len);
/* A page shared caches may keep for `max_age` seconds and then revalidate:
 * 200 with `etag` (a quoted entity tag), or 304 without the body when the
 * request's If-None-Match names it.  Takes `body`. */
void http_send_cached(
	struct http_request *rq, const char *ctype, char *body, size_t len, const char *etag, int max_age);

/* ---- waiting ---- */
/* Suspend the request until `key` is notified or `deadline_ms` passes.
 * SL_ETOOBIG when the registry is full, SL_EBUSY while shutting down: the
 * handler then answers at once. */
int http_wait(struct http_request *rq, struct waiter_registry *reg, const char *key, int64_t deadline_ms);
/* http_wait() without a lost wake-up: after registering, `happened(arg)`
 * looks at the state again; when the awaited event already came (its
 * notify ran between the handler's first look and the registration), the
 * key is notified at once and the handler runs again. */
int http_wait_recheck(struct http_request *rq, struct waiter_registry *reg, const char *key, int64_t deadline_ms,
	bool (*happened)(void *), void *arg);
/* 0 on a first call; the waiter_reason after a wait. */
int http_wake_reason(const struct http_request *rq);

#endif
