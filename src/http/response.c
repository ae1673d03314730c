/*
 * response.c — every answer goes through response_queue(), which adds the
 * headers no response may lack: a strict Content-Security-Policy (no
 * inline script, no framing), nosniff, no referrer, no caching of
 * anything but static files, and HSTS on TLS listeners.
 */
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

#define CSP                                                                                                            \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "                              \
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

int
http_add_header(struct http_request *rq, const char *name, const char *value)
{
	if (rq->rq_nextra == HTTP_MAX_EXTRA_HEADERS)
		return SL_ETOOBIG;
	if (rq->rq_extra == NULL && (rq->rq_extra = calloc(HTTP_MAX_EXTRA_HEADERS, sizeof(*rq->rq_extra))) == NULL)
		return SL_ENOMEM;
	rq->rq_extra[rq->rq_nextra][0] = strdup(name);
	rq->rq_extra[rq->rq_nextra][1] = strdup(value);
	rq->rq_nextra++;
	return SL_OK;
}

/* `cache`: the Cache-Control of a response caches may keep, or NULL. */
static void
response_queue_cache(struct http_request *rq, int status, const char *ctype, char *body, size_t len, const char *cache)
{
	struct MHD_Response *resp;

	if (rq->rq_status != 0) {
		/* A handler answered twice: a bug, keep the first answer. */
		log_error("second response for %s ignored", rq->rq_path);
		free(body);
		return;
	}
	if (body == NULL)
		len = 0;
	resp = MHD_create_response_from_buffer(
		len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(body);
		return;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", cache ? cache : "no-store");
	if (cache == NULL)
		MHD_add_response_header(resp, "Pragma", "no-cache");
	if (rq->rq_daemon->d_conf.hd_tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
	for (size_t i = 0; i < rq->rq_nextra; i++)
		if (rq->rq_extra[i][0] && rq->rq_extra[i][1])
			MHD_add_response_header(resp, rq->rq_extra[i][0], rq->rq_extra[i][1]);
	rq->rq_status = status;
	MHD_queue_response(rq->rq_conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
}

void
response_queue(struct http_request *rq, int status, const char *ctype, char *body, size_t len, bool cacheable)
{
	response_queue_cache(rq, status, ctype, body, len, cacheable ? "public, max-age=3600" : NULL);
}

/* An answer with no body and no header of its own: the 431 for a request
 * whose headers left too little of the connection's pool for more
 * (daemon.c).  With no content there is nothing for the security headers
 * to protect. */
void
response_bare(struct http_request *rq, int status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);

	if (resp == NULL)
		return;
	rq->rq_status = status;
	MHD_queue_response(rq->rq_conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
}

void
http_send_json(struct http_request *rq, int status, json_t *body)
{
	char *s = body ? sl_json_compact(body) : NULL;

	json_decref(body);
	response_queue(rq, status, "application/json", s, s ? strlen(s) : 0, false);
}

void
http_send_oauth_error(struct http_request *rq, int status, const char *error, const char *desc)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(error));
	if (desc != NULL)
		json_object_set_new(o, "error_description", json_string(desc));
	if (status == 401)
		http_add_header(rq, "WWW-Authenticate", "Basic realm=\"sleutel\"");
	http_send_json(rq, status, o);
}

void
http_send_html(struct http_request *rq, int status, char *html)
{
	response_queue(rq, status, "text/html; charset=utf-8", html, html ? strlen(html) : 0, false);
}

void
http_send_text(struct http_request *rq, int status, const char *ctype, const char *body)
{
	char *copy = strdup(body);

	response_queue(rq, status, ctype, copy, copy ? strlen(copy) : 0, false);
}

void
http_send_redirect(struct http_request *rq, int status, const char *location)
{
	http_add_header(rq, MHD_HTTP_HEADER_LOCATION, location);
	response_queue(rq, status, NULL, NULL, 0, false);
}

void
http_send_empty(struct http_request *rq, int status)
{
	response_queue(rq, status, NULL, NULL, 0, false);
}

void
http_send_static(struct http_request *rq, const char *ctype, const char *body, size_t len)
{
	char *copy = malloc(len ? len : 1);

	if (copy != NULL)
		memcpy(copy, body, len);
	response_queue(rq, 200, ctype, copy, copy ? len : 0, true);
}

/* Does an If-None-Match list ("a", W/"b", or *) name `etag`?  The weak
 * comparison of RFC 9110 §13.1.2: a W/ prefix does not matter. */
static bool
etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);

	for (const char *p = list; *p;) {
		size_t len;
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 1 && *p == '*') || (len == n && strncmp(p, etag, n) == 0))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

void
http_send_cached(struct http_request *rq, const char *ctype, char *body, size_t len, const char *etag, int max_age)
{
	const char *inm = http_header(rq, "If-None-Match");
	char cache[64];

	snprintf(cache, sizeof(cache), "public, max-age=%d", max_age);
	http_add_header(rq, "ETag", etag);
	if (inm != NULL && etag_listed(inm, etag)) {
		free(body);
		response_queue_cache(rq, 304, NULL, NULL, 0, cache);
		return;
	}
	response_queue_cache(rq, 200, ctype, body, len, cache);
}

bool
http_form_body_required(struct http_request *rq)
{
	if (http_body_is_form(rq))
		return true;
	http_send_oauth_error(rq, 415, "invalid_request", "the body must be application/x-www-form-urlencoded");
	return false;
}
