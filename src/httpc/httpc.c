/*
 * httpc.c — outgoing HTTP over libcurl.  See httpc.h for the limits.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "httpc.h"

struct httpc_share {
	CURLSH *sh_curl;
	struct curl_slist *sh_connect_to; /* httpc_share_connect_to's one mapping, or NULL */
	bool sh_plain; /* httpc_share_plain: https:// URLs go as http:// */
};

int
httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SL_OK : SL_ERR;
}

void
httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

struct sink {
	struct sl_buf s_buf;
	bool s_overflow;
};

/* Per thread, as the thread's calls are: see httpc_abort_on(). */
static _Thread_local const atomic_bool *tl_abort;

void
httpc_abort_on(const atomic_bool *flag)
{
	tl_abort = flag;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_bool *flag = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(flag) ? 1 : 0; /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->s_buf.b_len + len > HTTPC_MAX_RESPONSE || sl_buf_add(&s->s_buf, data, len) != SL_OK) {
		s->s_overflow = true;
		return 0; /* aborts the transfer */
	}
	return len;
}

/* A loopback host as libcurl's URL parser reads it: localhost, [::1], or
 * a dotted IPv4 literal in 127.0.0.0/8 (and nothing after it). */
static bool
loopback_host(const char *host)
{
	size_t n = strlen(host);

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	return n > 4 && n <= 15 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == n;
}

/* http:// only to loopback unless allowed; nothing but http(s).  The URL
 * is parsed by libcurl itself, so the host judged is the host connected. */
static bool
scheme_ok(const struct httpc_request *rq, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "https") == 0)
		ok = true;
	else if (strcmp(scheme, "http") == 0)
		ok = rq->hr_allow_http || loopback_host(host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

void
httpc_response_clear(struct httpc_response *r)
{
	if (r == NULL)
		return;
	free(r->hs_body);
	free(r->hs_content_type);
	memset(r, 0, sizeof(*r));
}

/* Appends one header line.  curl_slist_append answers NULL when it cannot
 * allocate, and the list it was given would be lost (and the request sent
 * without that header): keep the list, and say so. */
static bool
hdr_add(struct curl_slist **hdrs, const char *line)
{
	struct curl_slist *more = curl_slist_append(*hdrs, line);

	if (more == NULL)
		return false;
	*hdrs = more;
	return true;
}

int
httpc_do(const struct httpc_request *rq, struct httpc_response *out, struct sl_err *err)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink;
	char *plain = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", line[4096];
	const char *ctype = NULL;
	CURL *c;
	CURLcode cc;
	int rc = SL_OK;

	memset(out, 0, sizeof(*out));
	if (rq->hr_url == NULL)
		return sl_fail(err, SL_EINVAL, "URL scheme not allowed: (none)");
	/* Behind httpc_share_plain's proxy an https:// URL goes as http://,
	 * judged like any http:// URL (loopback only). */
	if (rq->hr_share != NULL && rq->hr_share->sh_plain && strncmp(rq->hr_url, "https://", 8) == 0 &&
		asprintf(&plain, "http://%s", rq->hr_url + 8) < 0)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (!scheme_ok(rq, plain != NULL ? plain : rq->hr_url)) {
		free(plain);
		return sl_fail(err, SL_EINVAL, "URL scheme not allowed: %s", rq->hr_url);
	}
	if (tl_abort != NULL && atomic_load(tl_abort)) {
		free(plain);
		return sl_fail(err, SL_EBUSY, "%s: aborted, the server stops", rq->hr_url);
	}
	c = curl_easy_init();
	if (c == NULL) {
		free(plain);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	sl_buf_init(&sink.s_buf, HTTPC_MAX_RESPONSE + 1);
	sink.s_overflow = false;
	curl_easy_setopt(c, CURLOPT_URL, plain != NULL ? plain : rq->hr_url);
	if (rq->hr_share != NULL) {
		curl_easy_setopt(c, CURLOPT_SHARE, rq->hr_share->sh_curl);
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, rq->hr_share->sh_connect_to);
	}
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(rq->hr_timeout > 0 ? rq->hr_timeout : 10));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(rq->hr_timeout > 0 ? rq->hr_timeout : 10));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sleutel/" SL_VERSION);
	if (tl_abort != NULL) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)tl_abort);
	}
	if (rq->hr_ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, rq->hr_ca_file);
	if (rq->hr_method != NULL && strcmp(rq->hr_method, "POST") == 0) {
		const char *body = rq->hr_body ? rq->hr_body : "";
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(rq->hr_body_len ? rq->hr_body_len : strlen(body)));
		if (rq->hr_content_type != NULL) {
			snprintf(line, sizeof(line), "Content-Type: %s", rq->hr_content_type);
			if (!hdr_add(&hdrs, line))
				goto oom;
		}
	}
	if (rq->hr_bearer != NULL) {
		if ((size_t)snprintf(line, sizeof(line), "Authorization: Bearer %s", rq->hr_bearer) >= sizeof(line)) {
			rc = sl_fail(err, SL_EINVAL, "bearer token too long");
			goto out;
		}
		if (!hdr_add(&hdrs, line))
			goto oom;
	}
	if (rq->hr_basic_user != NULL) {
		/* RFC 6749 §2.3.1: user and password are form-encoded first. */
		char *u = curl_easy_escape(c, rq->hr_basic_user, 0);
		char *p = curl_easy_escape(c, rq->hr_basic_pass ? rq->hr_basic_pass : "", 0);
		if (u == NULL || p == NULL) {
			curl_free(u);
			curl_free(p);
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, u);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p);
		curl_free(u);
		curl_free(p);
	}
	for (size_t i = 0; i < HTTPC_MAX_HEADERS && rq->hr_headers[i] != NULL; i++) {
		if (!hdr_add(&hdrs, rq->hr_headers[i]))
			goto oom;
	}
	if (!hdr_add(&hdrs, "Expect:")) {
	oom:
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (sink.s_overflow) {
		rc = sl_fail(err, SL_ETOOBIG, "%s: response larger than %u bytes", rq->hr_url, HTTPC_MAX_RESPONSE);
		goto out;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = sl_fail(err, SL_EBUSY, "%s: aborted, the server stops", rq->hr_url);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = sl_fail(err, SL_EIO, "%s: %s", rq->hr_url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->hs_status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	out->hs_content_type = ctype ? strdup(ctype) : NULL;
	out->hs_len = sink.s_buf.b_len;
	out->hs_body = sl_buf_take(&sink.s_buf);
	if (out->hs_body == NULL)
		out->hs_body = strdup("");
	if (out->hs_body == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
out:
	if (rc != SL_OK)
		httpc_response_clear(out);
	sl_buf_reset(&sink.s_buf);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(plain);
	return rc;
}

struct httpc_share *
httpc_share_new(void)
{
	struct httpc_share *sh = calloc(1, sizeof(*sh));

	if (sh == NULL)
		return NULL;
	if ((sh->sh_curl = curl_share_init()) == NULL ||
		curl_share_setopt(sh->sh_curl, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
		curl_share_setopt(sh->sh_curl, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		httpc_share_free(sh);
		return NULL;
	}
	return sh;
}

void
httpc_share_free(struct httpc_share *sh)
{
	if (sh == NULL)
		return;
	/* Closes the connections it still keeps. */
	curl_share_cleanup(sh->sh_curl);
	curl_slist_free_all(sh->sh_connect_to);
	free(sh);
}

void
httpc_share_plain(struct httpc_share *sh, bool plain)
{
	sh->sh_plain = plain;
}

int
httpc_share_connect_to(
	struct httpc_share *sh, const char *host, int port, const char *to_host, int to_port, struct sl_err *err)
{
	char spec[300];
	struct curl_slist *l;
	int n;

	if (host == NULL) {
		curl_slist_free_all(sh->sh_connect_to);
		sh->sh_connect_to = NULL;
		return SL_OK;
	}
	if (to_host == NULL || !loopback_host(to_host))
		return sl_fail(
			err, SL_EINVAL, "connect-to: %s is not a loopback address", to_host ? to_host : "(none)");
	if (port < 1 || port > 65535 || to_port < 1 || to_port > 65535 || strchr(host, ':') != NULL)
		return sl_fail(err, SL_EINVAL, "connect-to: bad host or port");
	n = snprintf(spec, sizeof(spec), "%s:%d:%s:%d", host, port, to_host, to_port);
	if (n < 0 || (size_t)n >= sizeof(spec))
		return sl_fail(err, SL_EINVAL, "connect-to: host name too long");
	if ((l = curl_slist_append(NULL, spec)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	curl_slist_free_all(sh->sh_connect_to);
	sh->sh_connect_to = l;
	return SL_OK;
}

int
httpc_get_json(const char *url, const char *ca_file, int timeout, void **json_out, struct sl_err *err)
{
	struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_ca_file = ca_file, .hr_timeout = timeout };
	struct httpc_response rs;
	json_error_t je;
	json_t *doc;
	int rc;

	*json_out = NULL;
	rq.hr_headers[0] = "Accept: application/json";
	rc = httpc_do(&rq, &rs, err);
	if (rc != SL_OK)
		return rc;
	if (rs.hs_status != 200) {
		rc = sl_fail(err, SL_EIO, "%s: HTTP status %ld", url, rs.hs_status);
	} else if ((doc = json_loadb(rs.hs_body, rs.hs_len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		rc = sl_fail(err, SL_EINVAL, "%s: not JSON (%s)", url, je.text);
	} else {
		*json_out = doc;
	}
	httpc_response_clear(&rs);
	return rc;
}
