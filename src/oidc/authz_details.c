/*
 * authz_details.c — RFC 9396 authorization_details, the one type sleutel
 * knows: a payment the person confirms on the phone.
 *
 * The app shows a sentence built from these fields and the person's
 * confirmation signs that sentence, so the validation is strict: one
 * entry, known members only, an amount that reads one way only, a name
 * without characters that hide or reorder text, an IBAN whose check digits
 * are right.  Anything else is refused with a message for the RP's
 * developer, never guessed at.
 */
#include <stdlib.h>

#include "oidc_int.h"

/* The next code point of valid UTF-8 (jansson validated it), or -1. */
static long
utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	long c;
	int n;

	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		c = s[0] & 0x1f;
		n = 1;
	} else if ((s[0] & 0xf0) == 0xe0) {
		c = s[0] & 0x0f;
		n = 2;
	} else if ((s[0] & 0xf8) == 0xf0) {
		c = s[0] & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

/* Characters that would make the shown text differ from what is read:
 * controls, and the invisible marks that reorder or join text. */
static bool
unreadable(long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb);
}

bool
oidc_text_readable(const char *s, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	if (s == NULL || *s == '\0' || *s == ' ')
		return false;
	while (*p) {
		long c = utf8_next(&p);
		if (c < 0 || unreadable(c) || ++n > max_chars)
			return false;
	}
	return p[-1] != ' ';
}

/* Only these members, and each of them. */
static bool
members_exactly(json_t *o, const char *const *names)
{
	size_t n = 0;

	if (!json_is_object(o))
		return false;
	for (; names[n]; n++)
		if (json_object_get(o, names[n]) == NULL)
			return false;
	return json_object_size(o) == n;
}

/* "12.34", "12.3", "12": digits without a leading zero (but "0.50"), at
 * most two decimals, > 0 and at most OIDC_AMOUNT_MAX_CENTS. */
static int
parse_amount(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	size_t i = 0, nd = 0;

	if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0' && s[1] != '.'))
		return SL_EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		whole = whole * 10 + (s[i] - '0');
		if (whole > OIDC_AMOUNT_MAX_CENTS / 100)
			return SL_ETOOBIG;
	}
	if (i == 0)
		return SL_EINVAL;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
			if (nd == 2)
				return SL_EINVAL;
			frac = frac * 10 + (s[i] - '0');
		}
		if (nd == 0)
			return SL_EINVAL;
		if (nd == 1)
			frac *= 10;
	}
	if (s[i] != '\0')
		return SL_EINVAL;
	*cents = whole * 100 + frac;
	if (*cents <= 0)
		return SL_EINVAL;
	return *cents > OIDC_AMOUNT_MAX_CENTS ? SL_ETOOBIG : SL_OK;
}

/* ISO 13616: country, check digits, BBAN; mod 97 of the rearranged
 * number is 1.  Capitals and digits only, no spaces. */
bool
oidc_iban_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	unsigned rem = 0;

	if (n < OIDC_IBAN_MIN || n > OIDC_IBAN_MAX)
		return false;
	if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' &&
		    s[3] <= '9'))
		return false;
	for (size_t k = 0; k < n; k++) {
		char c = s[(k + 4) % n];
		if (c >= '0' && c <= '9')
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else if (c >= 'A' && c <= 'Z')
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1;
}

static bool
currency_ok(const char *s)
{
	return s != NULL && strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
	       s[2] <= 'Z';
}

static int
parse_entry(json_t *e, struct oidc_payment *pm, struct sl_err *err)
{
	static const char *const top[] = { "type", "instructedAmount", "creditorName", "creditorAccount", NULL };
	static const char *const amount[] = { "amount", "currency", NULL };
	static const char *const account[] = { "iban", NULL };
	json_t *ia = json_object_get(e, "instructedAmount"), *ca = json_object_get(e, "creditorAccount");
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *amt, *cur, *name, *iban;
	int rc;

	if (!json_is_object(e) || type == NULL)
		return sl_fail(err, SL_EINVAL, "authorization_details entries must be objects with a type");
	if (strcmp(type, "payment") != 0)
		return sl_fail(err, SL_EINVAL, "authorization_details type must be payment");
	if (!members_exactly(e, top))
		return sl_fail(err, SL_EINVAL,
			"a payment has exactly type, instructedAmount, creditorName and creditorAccount");
	if (!members_exactly(ia, amount) || !members_exactly(ca, account))
		return sl_fail(err, SL_EINVAL,
			"instructedAmount has exactly amount and currency; creditorAccount exactly iban");
	amt = json_string_value(json_object_get(ia, "amount"));
	cur = json_string_value(json_object_get(ia, "currency"));
	name = json_string_value(json_object_get(e, "creditorName"));
	iban = json_string_value(json_object_get(ca, "iban"));
	rc = parse_amount(amt, &pm->pm_cents);
	if (rc == SL_ETOOBIG)
		return sl_fail(err, SL_EINVAL, "the amount is above the maximum");
	if (rc != SL_OK)
		return sl_fail(err, SL_EINVAL, "amount must be a decimal string above 0 with at most two decimals");
	if (!currency_ok(cur))
		return sl_fail(err, SL_EINVAL, "currency must be an ISO 4217 code (three capitals)");
	if (!oidc_text_readable(name, OIDC_CREDITOR_MAX) || strlen(name) >= sizeof(pm->pm_creditor))
		return sl_fail(err, SL_EINVAL, "creditorName must be 1 to 140 readable characters");
	if (!oidc_iban_ok(iban))
		return sl_fail(err, SL_EINVAL, "creditorAccount.iban is not a valid IBAN");
	memcpy(pm->pm_currency, cur, 4);
	sl_strlcpy(pm->pm_creditor, name, sizeof(pm->pm_creditor));
	sl_strlcpy(pm->pm_iban, iban, sizeof(pm->pm_iban));
	return SL_OK;
}

int
oidc_authz_details_parse(const char *json, struct oidc_payment *out, struct sl_err *err)
{
	struct oidc_payment pm;
	json_error_t je;
	json_t *a;
	int rc;

	memset(&pm, 0, sizeof(pm));
	if (json == NULL || strlen(json) > OIDC_AUTHZ_DETAILS_MAX)
		return sl_fail(err, SL_EINVAL, "authorization_details is missing or too long");
	a = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(a) || json_array_size(a) != 1) {
		json_decref(a);
		return sl_fail(err, SL_EINVAL, "authorization_details must be a JSON array of one payment");
	}
	rc = parse_entry(json_array_get(a, 0), &pm, err);
	json_decref(a);
	if (rc == SL_OK && out != NULL)
		*out = pm;
	return rc;
}
