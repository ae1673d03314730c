/*
 * httpc — the outgoing HTTP client sleuteld and the app use: libcurl (the
 * OpenSSL build), one easy handle per call (its connection kept for the
 * next call only through an httpc_share), every limit explicit.  Used for
 * the SMS webhook, the phone-push webhook, CIBA ping notifications, the
 * identity-proofing banks (discovery, JWKS, token) and by libsleutel-app.
 *
 * Calls block the calling thread for at most `hr_timeout` seconds per
 * attempt.  Redirects are never followed (a bank or webhook that redirects
 * is misconfigured, and following would leak the body elsewhere).  Only
 * http and https are allowed; http only to loopback addresses unless
 * `hr_allow_http` is set.
 */
#ifndef SL_HTTPC_H
#define SL_HTTPC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/core.h"

#define HTTPC_MAX_RESPONSE (1u << 20) /* bytes of a response body kept */
#define HTTPC_MAX_HEADERS 8

/* Kept-alive connections and TLS sessions shared by the calls of one owner
 * (libsleutel-app keeps one per app, so a login's three device-API calls
 * make one TLS handshake, not three).  One thread at a time. */
struct httpc_share;
struct httpc_share *httpc_share_new(void);
void httpc_share_free(struct httpc_share *sh);
/* The calls through `sh` to a URL naming host:port connect to
 * to_host:to_port instead (libcurl's CONNECT_TO): the URL, the Host header
 * and the TLS name check stay the URL's.  A client-side load balancer for
 * the bench and tests (several nodes behind one issuer, where a device
 * proof's htu must be the issuer's URL).  to_host must be a loopback
 * address, so http's loopback-only rule holds for what is connected; host
 * NULL removes the mapping.  SL_EINVAL otherwise. */
int httpc_share_connect_to(
	struct httpc_share *sh, const char *host, int port, const char *to_host, int to_port, struct sl_err *err);

/* A TLS-terminating proxy in front of the server, for the bench: the
 * calls through `sh` to an https:// URL go as http:// to the same host
 * and port (or connect-to's), every other part of the URL, the Host header
 * and a device proof's htu unchanged; judged as http:// (loopback only,
 * unless hr_allow_http). */
void httpc_share_plain(struct httpc_share *sh, bool plain);

struct httpc_request {
	const char *hr_method; /* "GET" or "POST" */
	const char *hr_url;
	const char *hr_content_type; /* POST: e.g. "application/json" */
	const char *hr_body; /* POST body (NUL-terminated), or NULL */
	size_t hr_body_len; /* 0: strlen(hr_body) */
	const char *hr_bearer; /* Authorization: Bearer ..., or NULL */
	const char *hr_basic_user; /* Authorization: Basic (RFC 6749 §2.3.1 form-encoded), or NULL */
	const char *hr_basic_pass;
	const char *hr_headers[HTTPC_MAX_HEADERS]; /* extra "Name: value" lines, NULL-terminated */
	const char *hr_ca_file; /* extra trust (PEM bundle); NULL: system store */
	int hr_timeout; /* seconds for the whole transfer; 0 = 10 */
	bool hr_allow_http; /* allow http:// to non-loopback hosts (never in production paths) */
	struct httpc_share *hr_share; /* reuse its connections; NULL: a new connection per call */
};

struct httpc_response {
	long hs_status; /* HTTP status, 0 when no response */
	char *hs_body; /* NUL-terminated, malloc'd (may hold NULs before the end) */
	size_t hs_len;
	char *hs_content_type; /* malloc'd or NULL */
};

/* Global libcurl set-up; call once from main() before threads start. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/* Perform one request.  SL_OK when a response arrived (any status: the
 * caller judges it); SL_EIO with a message for a transport failure or
 * timeout; SL_ETOOBIG when the body exceeds HTTPC_MAX_RESPONSE; SL_EINVAL
 * for a URL whose scheme is not allowed; SL_EBUSY when aborted
 * (httpc_abort_on). */
int httpc_do(const struct httpc_request *rq, struct httpc_response *out, struct sl_err *err);
void httpc_response_clear(struct httpc_response *r);

/* The calls this thread makes from now on end with SL_EBUSY ("aborted")
 * once *flag is true: checked before connecting and in libcurl's progress
 * callback (at least once a second while a transfer waits).  sleuteld's
 * outbound workers set their pool's flag, so a shutdown need not wait for
 * a hanging upstream's timeout.  NULL: no abort (the default). */
void httpc_abort_on(const atomic_bool *flag);

/* Convenience: GET a JSON document (status must be 200); a new reference. */
int httpc_get_json(const char *url, const char *ca_file, int timeout, void **json_out, struct sl_err *err);

#endif
