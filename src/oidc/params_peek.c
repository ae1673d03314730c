/*
 * params_peek.c — a few string members of a pending request's stored
 * parameters, without parsing all of them.
 *
 * A key page needs only `ui_locales` (and the choice page whether there is
 * an `authorization_details`), but json_loads of the whole object was
 * about 41 k instructions per page, 3.5 % of a trivial login
 * (docs/performance.md, the sixth round).  The stored object is sleutel's
 * own: sl_json_compact of a flat object (authorize.c), every `"` inside a
 * string escaped.  So the top level is walked token by token, and only
 * the values asked for are decoded, each by jansson (escapes and UTF-8
 * are its job; a member not asked for is not checked).  Anything else —
 * whitespace, a value that is not a string (a request object may carry
 * numbers), malformed text — falls back to the full json_loads, so the
 * answer is always jansson's.
 *
 * With no list (keys NULL) every member is decoded: the login's completion
 * reads the whole request, and json_loads of it was 39 k instructions per
 * trivial login (docs/performance.md, the seventh round).  A value with no
 * escape and no control character is its bytes, so json_stringn takes it
 * as it is (checking its UTF-8, as jansson's reader does); one with an
 * escape goes to jansson's reader as before.
 */
#include <string.h>

#include "oidc_int.h"

/* The end of the string token that starts at s (at its opening quote):
 * the closing quote, or NULL when the text ends first. */
static const char *
string_end(const char *s)
{
	for (s++; *s != '\0'; s++) {
		if (*s == '\\') {
			if (s[1] == '\0')
				return NULL;
			s++;
		} else if (*s == '"') {
			return s;
		}
	}
	return NULL;
}

static bool
wanted(const char *key, size_t len, const char *const *keys)
{
	if (keys == NULL)
		return true;
	for (size_t i = 0; keys[i] != NULL; i++)
		if (strlen(keys[i]) == len && memcmp(keys[i], key, len) == 0)
			return true;
	return false;
}

/* The string token v..vend (both quotes) as jansson reads it; NULL when
 * it is not a valid string. */
static json_t *
string_value(const char *v, const char *vend)
{
	for (const char *c = v + 1; c < vend; c++)
		if (*c == '\\' || (unsigned char)*c < 0x20)
			return json_loadb(v, (size_t)(vend - v + 1), JSON_DECODE_ANY, NULL);
	return json_stringn(v + 1, (size_t)(vend - v - 1));
}

/* The walk; false when the text is not the shape it handles. */
static bool
peek_flat(const char *json, const char *const *keys, json_t *out)
{
	const char *s = json;

	if (*s++ != '{')
		return false;
	if (*s == '}')
		return s[1] == '\0';
	for (;;) {
		const char *key = s, *kend, *v, *vend;
		if (*key != '"' || (kend = string_end(key)) == NULL || kend[1] != ':')
			return false;
		v = kend + 2;
		if (*v != '"' || (vend = string_end(v)) == NULL)
			return false;
		/* A name with an escape is jansson's to decode (it may be one
		 * of the names asked, spelled otherwise). */
		if (memchr(key + 1, '\\', (size_t)(kend - key - 1)) != NULL)
			return false;
		if (wanted(key + 1, (size_t)(kend - key - 1), keys)) {
			json_t *str = string_value(v, vend);
			char name[64];
			if (!json_is_string(str) || (size_t)(kend - key - 1) >= sizeof(name)) {
				json_decref(str);
				return false;
			}
			memcpy(name, key + 1, (size_t)(kend - key - 1));
			name[kend - key - 1] = '\0';
			if (json_object_set_new(out, name, str) != 0)
				return false;
		}
		s = vend + 1;
		if (*s == '}')
			return s[1] == '\0';
		if (*s++ != ',')
			return false;
	}
}

json_t *
oidc_params_peek(const char *json, const char *const *keys)
{
	json_t *out = json_object(), *all;

	if (out == NULL || json == NULL) {
		json_decref(out);
		return NULL;
	}
	if (peek_flat(json, keys, out))
		return out;
	json_object_clear(out);
	all = json_loads(json, 0, NULL);
	if (!json_is_object(all) || keys == NULL) {
		json_decref(out);
		if (json_is_object(all))
			return all;
		json_decref(all);
		return NULL;
	}
	for (size_t i = 0; keys[i] != NULL; i++) {
		json_t *v = json_object_get(all, keys[i]);
		if (v != NULL)
			json_object_set(out, keys[i], v);
	}
	json_decref(all);
	return out;
}
