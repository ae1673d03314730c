/*
 * http.c — a simulated browser on one libcurl easy handle: its own
 * cookies (kept here, not by curl, because behind the proxy config the
 * server's cookies are Secure while the bench speaks plain HTTP to it),
 * manual redirects, the last answer's status, Location and body; and the
 * small parsers the login flows need (hidden inputs, attributes, query
 * parameters, PKCE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "bl.h"

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct bl_http *h = arg;
	size_t len = sz * n;
	char *nb;

	if (h->h_len + len > BL_BODY_MAX)
		return 0;
	if ((nb = realloc(h->h_body, h->h_len + len + 1)) == NULL)
		return 0;
	h->h_body = nb;
	memcpy(h->h_body + h->h_len, p, len);
	h->h_len += len;
	h->h_body[h->h_len] = '\0';
	return len;
}

static void
trim_copy(char *dst, size_t size, const char *src, size_t len)
{
	while (len > 0 && (src[len - 1] == '\r' || src[len - 1] == '\n' || src[len - 1] == ' '))
		len--;
	while (len > 0 && *src == ' ')
		src++, len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Keep (or drop, when empty or expired) a cookie from Set-Cookie. */
static void
set_cookie(struct bl_http *h, const char *v, size_t len)
{
	char pair[BL_COOKIE_MAX];
	const char *semi = memchr(v, ';', len), *eq;
	size_t plen = semi ? (size_t)(semi - v) : len, nlen;
	bool gone;
	int i;

	trim_copy(pair, sizeof(pair), v, plen);
	if ((eq = strchr(pair, '=')) == NULL)
		return;
	nlen = (size_t)(eq - pair) + 1;
	gone = eq[1] == '\0' || (semi != NULL && (strcasestr(semi, "max-age=0") || strcasestr(semi, "max-age=-")));
	for (i = 0; i < h->h_ncookies; i++)
		if (strncmp(h->h_cookies[i], pair, nlen) == 0)
			break;
	if (gone) {
		if (i < h->h_ncookies) {
			memmove(h->h_cookies[i], h->h_cookies[i + 1], (size_t)(h->h_ncookies - i - 1) * BL_COOKIE_MAX);
			h->h_ncookies--;
		}
		return;
	}
	if (i == h->h_ncookies) {
		if (h->h_ncookies == BL_COOKIES)
			return;
		h->h_ncookies++;
	}
	memcpy(h->h_cookies[i], pair, sizeof(pair));
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct bl_http *h = arg;
	size_t len = sz * n;

	if (len > 9 && strncasecmp(p, "location:", 9) == 0)
		trim_copy(h->h_location, sizeof(h->h_location), p + 9, len - 9);
	else if (len > 11 && strncasecmp(p, "set-cookie:", 11) == 0)
		set_cookie(h, p + 11, len - 11);
	return len;
}

int
bl_http_init(struct bl_http *h, const char *ca_file)
{
	memset(h, 0, sizeof(*h));
	if ((h->h_curl = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(h->h_curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->h_curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->h_curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->h_curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->h_curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h->h_curl, CURLOPT_NOSIGNAL, 1L);
	if (ca_file != NULL)
		curl_easy_setopt(h->h_curl, CURLOPT_CAINFO, ca_file);
	return 0;
}

void
bl_http_free(struct bl_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->h_curl);
	curl_slist_free_all(h->h_extra);
	curl_slist_free_all(h->h_connect_to);
	free(h->h_body);
	memset(h, 0, sizeof(*h));
}

void
bl_http_forget_cookies(struct bl_http *h)
{
	h->h_ncookies = 0;
}

int
bl_origin(const char *url, char *host, size_t size, int *port)
{
	const char *p = strstr(url, "://"), *colon;
	char *end;
	long n;

	if (p == NULL || (colon = strchr(p + 3, ':')) == NULL || (size_t)(colon - p - 3) >= size)
		return -1;
	n = strtol(colon + 1, &end, 10);
	if (n < 1 || n > 65535 || (*end != '\0' && *end != '/'))
		return -1;
	memcpy(host, p + 3, (size_t)(colon - p - 3));
	host[colon - p - 3] = '\0';
	*port = (int)n;
	return 0;
}

int
bl_http_connect_to(struct bl_http *h, const char *origin, const char *node)
{
	char oh[128], nh[128], spec[300];
	int op, np;

	if (bl_origin(origin, oh, sizeof(oh), &op) != 0 || bl_origin(node, nh, sizeof(nh), &np) != 0)
		return -1;
	curl_slist_free_all(h->h_connect_to);
	h->h_connect_to = NULL;
	if (strcmp(oh, nh) != 0 || op != np) {
		snprintf(spec, sizeof(spec), "%s:%d:%s:%d", oh, op, nh, np);
		if ((h->h_connect_to = curl_slist_append(NULL, spec)) == NULL)
			return -1;
	}
	curl_easy_setopt(h->h_curl, CURLOPT_CONNECT_TO, h->h_connect_to);
	return 0;
}

long
bl_http_req(struct bl_http *h, const char *url, const char *form, const char *basic)
{
	struct curl_slist *hdrs = h->h_extra;
	char line[BL_COOKIES * BL_COOKIE_MAX + 16];
	size_t off = 0;
	CURLcode rc;

	h->h_extra = NULL;
	h->h_len = 0;
	h->h_location[0] = '\0';
	if (h->h_body != NULL)
		h->h_body[0] = '\0';
	if (h->h_ncookies > 0) {
		off = (size_t)snprintf(line, sizeof(line), "Cookie: ");
		for (int i = 0; i < h->h_ncookies; i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i ? "; " : "", h->h_cookies[i]);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (h->h_xff != NULL) {
		snprintf(line, sizeof(line), "X-Forwarded-For: %s", h->h_xff);
		hdrs = curl_slist_append(hdrs, line);
		hdrs = curl_slist_append(hdrs, "X-Forwarded-Proto: https");
	}
	curl_easy_setopt(h->h_curl, CURLOPT_URL, url);
	curl_easy_setopt(h->h_curl, CURLOPT_HTTPHEADER, hdrs);
	if (form != NULL) {
		curl_easy_setopt(h->h_curl, CURLOPT_POSTFIELDS, form);
	} else {
		curl_easy_setopt(h->h_curl, CURLOPT_HTTPGET, 1L);
	}
	if (basic != NULL) {
		curl_easy_setopt(h->h_curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h->h_curl, CURLOPT_USERPWD, basic);
	} else {
		curl_easy_setopt(h->h_curl, CURLOPT_USERPWD, NULL);
	}
	rc = curl_easy_perform(h->h_curl);
	curl_easy_setopt(h->h_curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		h->h_status = -1;
		return -1;
	}
	curl_easy_getinfo(h->h_curl, CURLINFO_RESPONSE_CODE, &h->h_status);
	if (h->h_body == NULL)
		h->h_body = calloc(1, 1);
	return h->h_status;
}

static void
amp_undo(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		if (strncmp(r, "&amp;", 5) == 0) {
			*w++ = '&';
			r += 5;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

int
bl_attr(const char *html, const char *name, char *out, size_t size)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "%s=\"", name);
	if (html == NULL || (p = strstr(html, pat)) == NULL)
		return -1;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >= size)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	amp_undo(out);
	return 0;
}

char *
bl_hidden_form(const char *html)
{
	static const char tag[] = "<input type=\"hidden\" name=\"";
	size_t cap = 4096, len = 0;
	char *out = calloc(1, cap);
	const char *p = html;

	while (out != NULL && p != NULL && (p = strstr(p, tag)) != NULL) {
		const char *n = p + sizeof(tag) - 1, *ne = strchr(n, '"'), *v, *ve;
		char *val, *enc;
		if (ne == NULL || strncmp(ne, "\" value=\"", 9) != 0)
			break;
		v = ne + 9;
		if ((ve = strchr(v, '"')) == NULL)
			break;
		val = strndup(v, (size_t)(ve - v));
		amp_undo(val);
		enc = curl_easy_escape(NULL, val, 0);
		if (len + (size_t)(ne - n) + strlen(enc) + 3 < cap)
			len += (size_t)snprintf(
				out + len, cap - len, "%s%.*s=%s", len ? "&" : "", (int)(ne - n), n, enc);
		curl_free(enc);
		free(val);
		p = ve;
	}
	return out;
}

int
bl_query(const char *url, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = strchr(url, '?');

	while (p != NULL) {
		p++;
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1, *e = strpbrk(v, "&#");
			int olen;
			char *dec = curl_easy_unescape(NULL, v, e ? (int)(e - v) : (int)strlen(v), &olen);
			if (dec == NULL || (size_t)olen >= size) {
				curl_free(dec);
				return -1;
			}
			memcpy(out, dec, (size_t)olen + 1);
			curl_free(dec);
			return 0;
		}
		p = strchr(p, '&');
	}
	return -1;
}

void
bl_abs(const char *base, const char *loc, char *out, size_t size)
{
	const char *path = loc, *bh = strstr(base, "://");

	if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0) {
		const char *host = strstr(loc, "://") + 3, *slash = strchr(host, '/');
		size_t hl = slash ? (size_t)(slash - host) : strlen(host);
		/* another origin (the RP, the eID origin) is kept as it is */
		if (bh == NULL || strlen(bh + 3) != hl || strncmp(bh + 3, host, hl) != 0) {
			snprintf(out, size, "%s", loc);
			return;
		}
		path = slash ? slash : "/";
	}
	snprintf(out, size, "%s%s", base, path);
}

static void
b64url(const unsigned char *in, size_t len, char *out)
{
	char tmp[128];
	int n = EVP_EncodeBlock((unsigned char *)tmp, in, (int)len);

	while (n > 0 && tmp[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		out[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
	out[n] = '\0';
}

void
bl_pkce(char verifier[64], char challenge[64])
{
	unsigned char r[32], d[SHA256_DIGEST_LENGTH];

	RAND_bytes(r, sizeof(r));
	b64url(r, sizeof(r), verifier);
	SHA256((const unsigned char *)verifier, strlen(verifier), d);
	b64url(d, sizeof(d), challenge);
}

void
bl_authorize_url(
	const char *authz, const char *client_id, const char *challenge, const char *scope, char *out, size_t size)
{
	char *sc = curl_easy_escape(NULL, scope, 0);

	snprintf(out, size,
		"%s?client_id=%s&redirect_uri=https%%3A%%2F%%2Frp.example%%2Fcb&response_type=code&scope=%s&state=s"
		"&nonce=n&code_challenge=%s&code_challenge_method=S256",
		authz, client_id, sc, challenge);
	curl_free(sc);
}

int
bl_token(struct bl_http *h, const char *token_url, const char *basic, const char *back, const char *verifier)
{
	char code[512], form[1024];

	if (strncmp(back, "https://rp.example/cb?", 22) != 0 || bl_query(back, "code", code, sizeof(code)) != 0)
		return 0;
	snprintf(form, sizeof(form),
		"grant_type=authorization_code&code=%s&redirect_uri=https%%3A%%2F%%2Frp.example%%2Fcb&code_verifier=%s",
		code, verifier);
	if (bl_http_req(h, token_url, form, basic) != 200)
		return 0;
	return strstr(h->h_body, "\"id_token\"") != NULL;
}
