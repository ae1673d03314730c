/*
 * buf.c — a growable buffer with a hard maximum, after curl's dynbuf.
 * Every buffer that holds client input is created with the limit that
 * applies to that input; going past it is SL_ETOOBIG, never a realloc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

void
sl_buf_init(struct sl_buf *buf, size_t max)
{
	buf->b_data = NULL;
	buf->b_len = 0;
	buf->b_cap = 0;
	buf->b_max = max;
}

void
sl_buf_reset(struct sl_buf *buf)
{
	free(buf->b_data);
	buf->b_data = NULL;
	buf->b_len = 0;
	buf->b_cap = 0;
}

static int
buf_grow(struct sl_buf *buf, size_t need)
{
	size_t cap;
	char *p;

	if (need > buf->b_max || need + 1 < need)
		return SL_ETOOBIG;
	if (need + 1 <= buf->b_cap)
		return SL_OK;
	cap = buf->b_cap ? buf->b_cap : 64;
	while (cap < need + 1)
		cap *= 2;
	if (cap > buf->b_max + 1)
		cap = buf->b_max + 1;
	p = realloc(buf->b_data, cap);
	if (p == NULL)
		return SL_ENOMEM;
	buf->b_data = p;
	buf->b_cap = cap;
	return SL_OK;
}

int
sl_buf_add(struct sl_buf *buf, const void *data, size_t len)
{
	int rc;

	/* What fits goes in without buf_grow's call and checks (about 350
	 * adds a trivial login, most of them a few bytes of JSON or HTML;
	 * docs/performance.md, the eighth round).  b_cap never exceeds
	 * b_max + 1, so this cannot pass the limit; with no buffer yet
	 * (b_cap 0) the test fails. */
	if (len < buf->b_cap - buf->b_len) {
		if (len > 0) /* data may be NULL then */
			memcpy(buf->b_data + buf->b_len, data, len);
		buf->b_len += len;
		buf->b_data[buf->b_len] = '\0';
		return SL_OK;
	}
	if (buf->b_len + len < buf->b_len)
		return SL_ETOOBIG;
	rc = buf_grow(buf, buf->b_len + len);
	if (rc != SL_OK)
		return rc;
	if (len > 0)
		memcpy(buf->b_data + buf->b_len, data, len);
	buf->b_len += len;
	buf->b_data[buf->b_len] = '\0';
	return SL_OK;
}

int
sl_buf_adds(struct sl_buf *buf, const char *s)
{
	return sl_buf_add(buf, s, strlen(s));
}

int
sl_buf_vaddf(struct sl_buf *buf, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return SL_EINVAL;
	rc = buf_grow(buf, buf->b_len + (size_t)n);
	if (rc != SL_OK)
		return rc;
	vsnprintf(buf->b_data + buf->b_len, (size_t)n + 1, fmt, ap);
	buf->b_len += (size_t)n;
	return SL_OK;
}

int
sl_buf_addf(struct sl_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sl_buf_vaddf(buf, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
sl_buf_str(const struct sl_buf *buf)
{
	return buf->b_data ? buf->b_data : "";
}

char *
sl_buf_take(struct sl_buf *buf)
{
	char *p = buf->b_data;

	if (p == NULL)
		p = strdup("");
	buf->b_data = NULL;
	buf->b_len = 0;
	buf->b_cap = 0;
	return p;
}
