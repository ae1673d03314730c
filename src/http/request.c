/*
 * request.c — turning what MHD hands us into parameters, within limits.
 * Query parameters come from MHD (already percent-decoded); an urlencoded
 * body is decoded here with MHD_http_unescape.  Either way the total size,
 * the count, and the absence of control characters are checked.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

/* The parameter array starts at 4 entries and doubles up to max_params:
 * a long-poll has one parameter, and a calloc of max_params entries (1 KB
 * at the default) was its largest allocation after MHD's pool. */
static int
params_reserve(struct http_request *rq, unsigned max)
{
	struct http_param *grown;
	unsigned cap;

	if (rq->rq_nparams < rq->rq_params_cap)
		return SL_OK;
	cap = rq->rq_params_cap == 0 ? 4 : rq->rq_params_cap * 2;
	if (cap > max)
		cap = max;
	grown = realloc(rq->rq_params, cap * sizeof(*grown));
	if (grown == NULL)
		return SL_ENOMEM;
	rq->rq_params = grown;
	rq->rq_params_cap = cap;
	return SL_OK;
}

static int
param_add(struct http_request *rq, const char *name, size_t nlen, const char *value, size_t vlen)
{
	const struct http_limits *lim = &rq->rq_daemon->d_conf.hd_limits;
	struct http_param *p;
	char *block;

	if ((int)rq->rq_nparams >= lim->hl_max_params)
		return SL_ETOOBIG;
	if (!sl_str_printable(name, nlen) || !sl_str_printable(value, vlen))
		return SL_EINVAL;
	if (params_reserve(rq, (unsigned)lim->hl_max_params) != SL_OK || (block = malloc(nlen + vlen + 2)) == NULL)
		return SL_ENOMEM;
	memcpy(block, name, nlen);
	block[nlen] = '\0';
	memcpy(block + nlen + 1, value, vlen);
	block[nlen + 1 + vlen] = '\0';
	p = &rq->rq_params[rq->rq_nparams];
	p->hp_name = block;
	p->hp_value = block + nlen + 1;
	for (size_t i = 0; i < rq->rq_nparams && rq->rq_repeated == NULL; i++)
		if (strcmp(rq->rq_params[i].hp_name, p->hp_name) == 0)
			rq->rq_repeated = p->hp_name;
	rq->rq_nparams++;
	return SL_OK;
}

struct query_walk {
	struct http_request *qw_rq;
	size_t qw_bytes;
	int qw_rc;
};

static enum MHD_Result
query_iter(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value, size_t value_size)
{
	struct query_walk *qw = cls;
	const struct http_limits *lim = &qw->qw_rq->rq_daemon->d_conf.hd_limits;

	(void)kind;
	qw->qw_bytes += key_size + value_size + 2;
	if ((int)qw->qw_bytes > lim->hl_max_query) {
		qw->qw_rc = SL_ETOOBIG;
		return MHD_NO;
	}
	qw->qw_rc = param_add(qw->qw_rq, key, key_size, value ? value : "", value ? value_size : 0);
	return qw->qw_rc == SL_OK ? MHD_YES : MHD_NO;
}

int
request_parse_query(struct http_request *rq)
{
	struct query_walk qw = { rq, 0, SL_OK };

	MHD_get_connection_values_n(rq->rq_conn, MHD_GET_ARGUMENT_KIND, query_iter, &qw);
	return qw.qw_rc;
}

int
http_urlencoded_parse(char *body, size_t len, http_pair_fn fn, void *arg)
{
	char *save = NULL, *pair;
	int rc = SL_OK;

	if (memchr(body, '\0', len) != NULL)
		return SL_EINVAL;
	for (pair = strtok_r(body, "&", &save); pair && rc == SL_OK; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '='), *value = eq ? eq + 1 : pair + strlen(pair);
		size_t nlen, vlen;

		if (eq)
			*eq = '\0';
		for (char *c = pair; *c; c++)
			if (*c == '+')
				*c = ' ';
		for (char *c = value; *c; c++)
			if (*c == '+')
				*c = ' ';
		nlen = MHD_http_unescape(pair);
		vlen = MHD_http_unescape(value);
		if (nlen == 0)
			continue;
		rc = fn(arg, pair, nlen, value, vlen);
	}
	return rc;
}

static int
form_pair(void *arg, const char *name, size_t nlen, const char *value, size_t vlen)
{
	return param_add(arg, name, nlen, value, vlen);
}

static void
params_clear(struct http_request *rq)
{
	for (size_t i = 0; i < rq->rq_nparams; i++)
		free(rq->rq_params[i].hp_name);
	rq->rq_nparams = 0;
	rq->rq_repeated = NULL;
}

/* A GET that waits needs its query again only when it is resumed, and MHD
 * keeps the query in the connection's pool until then: the copies are
 * freed while it is suspended and made again by request_parse_query(). */
void
request_drop_query(struct http_request *rq)
{
	params_clear(rq);
	free(rq->rq_params);
	rq->rq_params = NULL;
	rq->rq_params_cap = 0;
}

/* Parameters in a POST come from a form body alone: a body of another
 * type (JSON, read by its handler) or none leaves no parameters, never the
 * query's, which proxies and logs keep (RFC 6749 §2.3.1, §3.2). */
int
request_parse_form(struct http_request *rq)
{
	params_clear(rq);
	if (rq->rq_body.b_data == NULL || rq->rq_body.b_len == 0 || !http_body_is_form(rq))
		return SL_OK;
	return http_urlencoded_parse(rq->rq_body.b_data, rq->rq_body.b_len, form_pair, rq);
}

void
request_free(struct http_request *rq)
{
	for (size_t i = 0; i < rq->rq_nparams; i++)
		free(rq->rq_params[i].hp_name);
	for (size_t i = 0; i < rq->rq_nextra; i++) {
		free(rq->rq_extra[i][0]);
		free(rq->rq_extra[i][1]);
	}
	free(rq->rq_extra);
	if (rq->rq_data_free)
		rq->rq_data_free(rq->rq_data);
	free(rq->rq_params);
	sl_buf_reset(&rq->rq_body);
	free(rq);
}

/* ---- accessors ---- */

enum http_method
http_method(const struct http_request *rq)
{
	return rq->rq_method;
}

const char *
http_path(const struct http_request *rq)
{
	return rq->rq_path;
}

const char *
http_route_path(const struct http_request *rq)
{
	const struct http_route *r = rq->rq_route;

	if (r == NULL)
		return NULL;
	if (!r->hr_prefix)
		return r->hr_path;
	/* Our prefixes are "/word/...": a path starting with one is ours. */
	if (rq->rq_path[0] != '/' || rq->rq_path[1] == '/' || rq->rq_path[1] == '\\')
		return NULL;
	return rq->rq_path;
}

static const char *
param_find(const struct http_request *rq, const char *name)
{
	for (size_t i = 0; i < rq->rq_nparams; i++)
		if (strcmp(rq->rq_params[i].hp_name, name) == 0)
			return rq->rq_params[i].hp_value;
	return NULL;
}

const char *
http_query(const struct http_request *rq, const char *name)
{
	if (rq->rq_method == HTTP_POST)
		return MHD_lookup_connection_value(rq->rq_conn, MHD_GET_ARGUMENT_KIND, name);
	return param_find(rq, name);
}

const char *
http_form(const struct http_request *rq, const char *name)
{
	return rq->rq_method == HTTP_POST ? param_find(rq, name) : NULL;
}

const char *
http_param(const struct http_request *rq, const char *name)
{
	return param_find(rq, name);
}

const char *
http_param_repeated(const struct http_request *rq)
{
	return rq->rq_repeated;
}

size_t
http_param_count(const struct http_request *rq)
{
	return rq->rq_nparams;
}

void
http_param_at(const struct http_request *rq, size_t i, const char **name, const char **value)
{
	*name = rq->rq_params[i].hp_name;
	*value = rq->rq_params[i].hp_value;
}

const char *
http_header(const struct http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->rq_conn, MHD_HEADER_KIND, name);
}

struct header_walk {
	const char *hw_name;
	const char *hw_last;
};

static enum MHD_Result
header_last_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_walk *hw = cls;

	(void)kind;
	if (key != NULL && value != NULL && strcasecmp(key, hw->hw_name) == 0)
		hw->hw_last = value;
	return MHD_YES;
}

const char *
http_header_last(const struct http_request *rq, const char *name)
{
	struct header_walk hw = { .hw_name = name, .hw_last = NULL };

	MHD_get_connection_values(rq->rq_conn, MHD_HEADER_KIND, header_last_iter, &hw);
	return hw.hw_last;
}

const char *
http_cookie(const struct http_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->rq_conn, MHD_COOKIE_KIND, name);
}

const char *
http_client_ip(const struct http_request *rq)
{
	return rq->rq_ip;
}

const uint8_t *
http_body(const struct http_request *rq, size_t *len)
{
	*len = rq->rq_body.b_len;
	return (const uint8_t *)sl_buf_str(&rq->rq_body);
}

const char *
http_content_type(const struct http_request *rq)
{
	return rq->rq_ctype;
}

bool
http_body_is_form(const struct http_request *rq)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const char *ct = http_content_type(rq);

	/* The media type alone or with parameters ("; charset=UTF-8"). */
	return ct != NULL && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
	       (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' || ct[sizeof(form) - 1] == ' ');
}

bool
http_is_tls(const struct http_request *rq)
{
	return rq->rq_daemon->d_conf.hd_tls;
}

void *
http_get_data(const struct http_request *rq)
{
	return rq->rq_data;
}

void
http_set_data(struct http_request *rq, void *data, void (*free_fn)(void *))
{
	if (rq->rq_data_free)
		rq->rq_data_free(rq->rq_data);
	rq->rq_data = data;
	rq->rq_data_free = free_fn;
}

const char *
http_memo(const struct http_request *rq, const void *of)
{
	return of != NULL && rq->rq_memo_of == of ? rq->rq_memo : NULL;
}

void
http_memo_set(struct http_request *rq, const void *of, const char *value)
{
	size_t n = strlen(value);

	rq->rq_memo_of = NULL;
	if (of == NULL || n > HTTP_MEMO_MAX)
		return;
	memcpy(rq->rq_memo, value, n + 1);
	rq->rq_memo_of = of;
}
