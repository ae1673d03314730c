/*
 * phone.c — phone numbers as people type them, to E.164.
 *
 * Accepted: digits with separators (space, '.', '-', '/', parentheses);
 * "+<cc>..." or "00<cc>..." (international); "0..." (national: the trunk 0
 * is replaced by the default calling code); digits without prefix
 * (national without trunk 0).  "(0)" after an international prefix, as in
 * "+32 (0)470 12 34 56", is the trunk 0 written out of habit: dropped.
 * The result has 8..15 digits after "+" and no leading 0 in the country
 * code.  Belgian numbers (+32) are checked further: the national part is
 * 8 digits (landline) or 9 (mobile, 4xx), never starting with 0.
 */
#include <string.h>

#include "app.h"

#define PHONE_IN_MAX 64 /* bytes typed */
#define PHONE_DIGITS_MIN 8
#define PHONE_DIGITS_MAX 15

static bool
phone_sep(char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '/' || c == '(' || c == ')';
}

/* Digits of `in` with separators and a "(0)" dropped; '+' kept only first. */
static int
phone_digits(const char *in, char *out, size_t outlen, bool *plus)
{
	size_t n = 0;

	*plus = false;
	for (size_t i = 0; in[i] != '\0'; i++) {
		char c = in[i];
		if (c == '+' && n == 0 && !*plus) {
			*plus = true;
		} else if (c == '(' && strncmp(in + i, "(0)", 3) == 0 &&
			   (*plus || (n >= 2 && out[0] == '0' && out[1] == '0'))) {
			i += 2; /* "+32 (0)470": the trunk 0 written out of habit */
		} else if (c >= '0' && c <= '9') {
			if (n + 1 >= outlen)
				return SL_EINVAL;
			out[n++] = c;
		} else if (!phone_sep(c)) {
			return SL_EINVAL;
		}
	}
	out[n] = '\0';
	return n > 0 ? SL_OK : SL_EINVAL;
}

int
app_phone_normalize(const char *in, const char *default_cc, char out[APP_PHONE_MAX])
{
	char digits[PHONE_IN_MAX + 1], e164[PHONE_IN_MAX + 8];
	const char *d = digits;
	bool plus;
	size_t n;

	out[0] = '\0';
	if (in == NULL || default_cc == NULL || strlen(in) > PHONE_IN_MAX ||
		phone_digits(in, digits, sizeof(digits), &plus) != SL_OK)
		return SL_EINVAL;
	if (plus) {
		snprintf(e164, sizeof(e164), "+%s", d);
	} else if (strncmp(d, "00", 2) == 0) {
		snprintf(e164, sizeof(e164), "+%s", d + 2);
	} else if (d[0] == '0') {
		snprintf(e164, sizeof(e164), "+%s%s", default_cc, d + 1);
	} else {
		snprintf(e164, sizeof(e164), "+%s%s", default_cc, d);
	}
	n = strlen(e164) - 1;
	if (n < PHONE_DIGITS_MIN || n > PHONE_DIGITS_MAX || e164[1] == '0')
		return SL_EINVAL;
	if (strncmp(e164, "+32", 3) == 0) {
		size_t nsn = n - 2;
		if (e164[3] == '0' || nsn < 8 || nsn > 9 || (nsn == 9 && e164[3] != '4'))
			return SL_EINVAL;
	}
	/* Never a truncated number: app.h's APP_PHONE_MAX bounds what fits. */
	if (sl_strlcpy(out, e164, APP_PHONE_MAX) >= APP_PHONE_MAX) {
		out[0] = '\0';
		return SL_EINVAL;
	}
	return SL_OK;
}
