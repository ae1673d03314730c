/*
 * interactions.c — what the RP asks the app to show (sidproto.h).
 *
 * v3 sends `interactions` as Base64 of a JSON array; v2 sends the array
 * itself (allowedInteractionsOrder).  Both come down to the same checks:
 * 1 to SIDP_INTERACTIONS_MAX entries, each {"type", one text member}, the
 * text member the type names, no type twice, only the types the flow
 * allows.  Texts are counted in characters (code points), not bytes,
 * because the limits are what a phone screen shows; control characters
 * (C0, DEL, C1) are refused so a text cannot fake a line or a field on
 * the screen.  The Base64 text itself is kept by the caller exactly as
 * sent: it is signed (ACSP_V2) and MACed (authCode) as text.
 */
#include <stdlib.h>
#include <string.h>

#include "sidproto.h"

static const struct {
	enum sidp_interaction_type type;
	const char *name;
	const char *text_member;
	size_t text_max;
} kinds[] = {
	{ SIDP_DISPLAY_TEXT_AND_PIN, "displayTextAndPIN", "displayText60", SIDP_TEXT60_MAX },
	{ SIDP_CONFIRMATION_MESSAGE, "confirmationMessage", "displayText200", SIDP_TEXT200_MAX },
	{ SIDP_CONFIRMATION_MESSAGE_AND_VC_CHOICE, "confirmationMessageAndVerificationCodeChoice", "displayText200",
		SIDP_TEXT200_MAX },
	{ SIDP_VC_CHOICE, "verificationCodeChoice", "displayText60", SIDP_TEXT60_MAX },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static size_t
kind_index(enum sidp_interaction_type t)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].type == t)
			return i;
	return NKINDS;
}

const char *
sidp_interaction_name(enum sidp_interaction_type t)
{
	size_t i = kind_index(t);

	return i < NKINDS ? kinds[i].name : NULL;
}

enum sidp_interaction_type
sidp_interaction_type_of(const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].type;
	return 0;
}

static bool
allowed(enum sidp_interaction_type t, enum sidp_flow_rules rules)
{
	switch (t) {
	case SIDP_DISPLAY_TEXT_AND_PIN:
	case SIDP_CONFIRMATION_MESSAGE: return true;
	case SIDP_CONFIRMATION_MESSAGE_AND_VC_CHOICE: return rules == SIDP_RULES_NOTIFICATION || rules == SIDP_RULES_V2;
	case SIDP_VC_CHOICE: return rules == SIDP_RULES_V2;
	}
	return false;
}

/* The code point of the UTF-8 sequence at s[*i] (advancing *i), or -1
 * for a malformed, overlong or surrogate one. */
static long
next_code_point(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
	static const long min[] = { 0, 0x80, 0x800, 0x10000 };
	long cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);

	if (n > 3 || *i + n >= len + (n == 0))
		return -1;
	for (size_t k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	*i += n + 1;
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

static bool
shown_ok(long cp)
{
	return !(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
		 (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff);
}

bool
sidp_text_shown_ok(const char *s, size_t len)
{
	long cp;

	for (size_t i = 0; s != NULL && i < len;)
		if ((cp = next_code_point((const unsigned char *)s, len, &i)) < 0 || !shown_ok(cp))
			return false;
	return s != NULL;
}

/* Characters of `s`, or (size_t)-1 when it is not text a screen may show
 * (sidp_text_shown_ok). */
static size_t
text_chars(const unsigned char *s, size_t len)
{
	size_t n = 0;
	long cp;

	for (size_t i = 0; i < len; n++)
		if ((cp = next_code_point(s, len, &i)) < 0 || !shown_ok(cp))
			return (size_t)-1;
	return n;
}

static int
parse_text(const json_t *obj, size_t idx, size_t k, struct sidp_interaction *out, struct sl_err *err)
{
	const char *member = kinds[k].text_member;
	const json_t *t = json_object_get(obj, member);
	size_t len, chars;

	if (t == NULL)
		return sl_fail(err, SL_EINVAL, "interactions[%zu]: %s needs %s", idx, kinds[k].name, member);
	if (!json_is_string(t))
		return sl_fail(err, SL_EINVAL, "interactions[%zu].%s is not a string", idx, member);
	len = json_string_length(t);
	if (len == 0)
		return sl_fail(err, SL_EINVAL, "interactions[%zu].%s is empty", idx, member);
	if (len >= sizeof(out->si_text))
		return sl_fail(err, SL_EINVAL, "interactions[%zu].%s is longer than %zu characters", idx, member,
			kinds[k].text_max);
	chars = text_chars((const unsigned char *)json_string_value(t), len);
	if (chars == (size_t)-1)
		return sl_fail(err, SL_EINVAL, "interactions[%zu].%s contains a control character", idx, member);
	if (chars > kinds[k].text_max)
		return sl_fail(err, SL_EINVAL, "interactions[%zu].%s is longer than %zu characters", idx, member,
			kinds[k].text_max);
	memcpy(out->si_text, json_string_value(t), len);
	out->si_text[len] = '\0';
	return SL_OK;
}

static int
parse_one(const json_t *obj, size_t idx, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err)
{
	const json_t *type = json_object_get(obj, "type");
	enum sidp_interaction_type t;
	size_t k;

	if (!json_is_object(obj))
		return sl_fail(err, SL_EINVAL, "interactions[%zu] is not an object", idx);
	if (!json_is_string(type))
		return sl_fail(err, SL_EINVAL, "interactions[%zu] has no type", idx);
	t = sidp_interaction_type_of(json_string_value(type));
	if (t == 0 || strlen(json_string_value(type)) != json_string_length(type))
		return sl_fail(err, SL_EINVAL, "interactions[%zu]: unknown type", idx);
	if (!allowed(t, rules))
		return sl_fail(err, SL_EINVAL, "interactions[%zu]: %s is not allowed in this flow", idx,
			sidp_interaction_name(t));
	for (size_t i = 0; i < out->sn; i++)
		if (out->si[i].si_type == t)
			return sl_fail(
				err, SL_EINVAL, "interactions[%zu]: %s appears twice", idx, sidp_interaction_name(t));
	k = kind_index(t);
	out->si[out->sn].si_type = t;
	if (parse_text(obj, idx, k, &out->si[out->sn], err) != SL_OK)
		return SL_EINVAL;
	if (json_object_size(obj) != 2)
		return sl_fail(
			err, SL_EINVAL, "interactions[%zu] must have exactly type and %s", idx, kinds[k].text_member);
	out->sn++;
	return SL_OK;
}

int
sidp_interactions_parse_json(
	const json_t *array, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(array))
		return sl_fail(err, SL_EINVAL, "interactions is not a JSON array");
	n = json_array_size(array);
	if (n == 0)
		return sl_fail(err, SL_EINVAL, "interactions is empty");
	if (n > SIDP_INTERACTIONS_MAX)
		return sl_fail(err, SL_EINVAL, "interactions has more than %d entries", SIDP_INTERACTIONS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (parse_one(json_array_get(array, i), i, rules, out, err) != SL_OK) {
			memset(out, 0, sizeof(*out));
			return SL_EINVAL;
		}
	}
	return SL_OK;
}

int
sidp_interactions_parse_b64(
	const char *b64, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err)
{
	uint8_t *raw;
	size_t rawlen = 0;
	json_t *array;
	json_error_t jerr;
	int rc;

	memset(out, 0, sizeof(*out));
	if (b64 == NULL || b64[0] == '\0')
		return sl_fail(err, SL_EINVAL, "interactions is missing");
	if (strnlen(b64, SIDP_INTERACTIONS_B64_MAX + 1) > SIDP_INTERACTIONS_B64_MAX)
		return sl_fail(err, SL_EINVAL, "interactions is longer than %d characters", SIDP_INTERACTIONS_B64_MAX);
	raw = sidp_b64_decode(b64, SIDP_INTERACTIONS_B64_MAX, &rawlen);
	if (raw == NULL)
		return sl_fail(err, SL_EINVAL, "interactions is not canonical Base64");
	/* Duplicate keys would let the app and the server read different texts. */
	array = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (array == NULL)
		return sl_fail(err, SL_EINVAL, "interactions is not a JSON array: %s", jerr.text);
	rc = sidp_interactions_parse_json(array, rules, out, err);
	json_decref(array);
	return rc;
}
