/*
 * json.c — the compact JSON text of a jansson value, byte for byte what
 * json_dumps(v, JSON_COMPACT) writes, at a fraction of its cost.
 *
 * jansson decodes every character of every string as UTF-8 while it
 * writes it (utf8_iterate), about 40 instructions a byte; a login's JSON
 * is mostly base64url (tokens, hashes) and ASCII names, written here a run
 * at a time.  Whatever this file does not write exactly as jansson would —
 * a string with a byte above 0x7f (jansson validates it as UTF-8 and
 * fails the whole dump on a bad one), a real number (its own rounding
 * rules), a nesting deeper than SL_JSON_DEPTH — makes it hand the whole
 * value to json_dumps instead, so the output never differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core.h"

#define SL_JSON_DEPTH 64

enum { JW_OK, JW_JANSSON, JW_ERR }; /* written; let jansson write it; failed */

static int
jw_add(struct sl_buf *b, const char *s, size_t n)
{
	return sl_buf_add(b, s, n) == SL_OK ? JW_OK : JW_ERR;
}

/* What jw_string does with a byte: P copies it as it is (0x20 to 0x7f but
 * '"' and '\\'), E escapes it, J hands the value to jansson (above 0x7f).
 * One load per byte where four comparisons were: the strings are most of
 * a login's JSON (docs/performance.md, the eighth round). */
enum { JC_PLAIN, JC_ESCAPE, JC_JANSSON };
#define P JC_PLAIN
#define E JC_ESCAPE
#define J JC_JANSSON
static const unsigned char jw_class[256] = {
	E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x00 */
	E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, /* 0x10 */
	P, P, E, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x20: '"' */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x30 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x40 */
	P, P, P, P, P, P, P, P, P, P, P, P, E, P, P, P, /* 0x50: '\\' */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x60 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 0x70 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0x80 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0x90 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xa0 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xb0 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xc0 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xd0 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xe0 */
	J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, J, /* 0xf0 */
};
#undef P
#undef E
#undef J

/* A JSON string: runs of plain ASCII copied at once, the mandatory
 * escapes as jansson writes them (\uXXXX in upper case). */
static int
jw_string(struct sl_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;

	if (jw_add(b, "\"", 1) != JW_OK)
		return JW_ERR;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		if (jw_class[c] == JC_PLAIN)
			continue;
		if (jw_class[c] == JC_JANSSON)
			return JW_JANSSON;
		if (i > run && jw_add(b, s + run, i - run) != JW_OK)
			return JW_ERR;
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			elen = 6;
			break;
		}
		if (jw_add(b, esc, elen) != JW_OK)
			return JW_ERR;
	}
	if (n > run && jw_add(b, s + run, n - run) != JW_OK)
		return JW_ERR;
	return jw_add(b, "\"", 1);
}

/* Recursive, to SL_JSON_DEPTH at most (deeper goes to jansson). */
static int
jw_value(struct sl_buf *b, const json_t *v, int depth)
{
	char num[32];
	int rc = JW_OK, n;

	if (depth > SL_JSON_DEPTH)
		return JW_JANSSON;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		bool first = true;
		if (jw_add(b, "{", 1) != JW_OK)
			return JW_ERR;
		/* insertion order, as json_dumps keeps it (jansson >= 2.8) */
		json_object_foreach((json_t *)v, key, item)
		{
			if (!first && (rc = jw_add(b, ",", 1)) != JW_OK)
				return rc;
			first = false;
			if ((rc = jw_string(b, key, strlen(key))) != JW_OK || (rc = jw_add(b, ":", 1)) != JW_OK ||
				(rc = jw_value(b, item, depth + 1)) != JW_OK)
				return rc;
		}
		return jw_add(b, "}", 1);
	}
	case JSON_ARRAY:
		if (jw_add(b, "[", 1) != JW_OK)
			return JW_ERR;
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0 && (rc = jw_add(b, ",", 1)) != JW_OK)
				return rc;
			if ((rc = jw_value(b, json_array_get(v, i), depth + 1)) != JW_OK)
				return rc;
		}
		return jw_add(b, "]", 1);
	case JSON_STRING: return jw_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return n > 0 && (size_t)n < sizeof(num) ? jw_add(b, num, (size_t)n) : JW_ERR;
	case JSON_TRUE: return jw_add(b, "true", 4);
	case JSON_FALSE: return jw_add(b, "false", 5);
	case JSON_NULL: return jw_add(b, "null", 4);
	default: return JW_JANSSON; /* a real */
	}
}

char *
sl_json_compact(const struct json_t *v)
{
	struct sl_buf b;
	int rc;

	if (v == NULL || !(json_is_object(v) || json_is_array(v)))
		return json_dumps(v, JSON_COMPACT); /* what it says of a bare value */
	sl_buf_init(&b, SIZE_MAX / 2);
	rc = jw_value(&b, v, 0);
	if (rc == JW_OK)
		return sl_buf_take(&b);
	sl_buf_reset(&b);
	return rc == JW_JANSSON ? json_dumps(v, JSON_COMPACT) : NULL;
}
