/*
 * identity.c — who a Belgian eID authentication certificate belongs to.
 *
 * The card's authentication certificate names its holder in the subject:
 * C=BE, SN (surname), GN (given names) and serialNumber, which holds the
 * national register number (RRN).  The validator has already checked the
 * path, validity, key usage and revocation; this file only reads the
 * subject and the issuer's CN, and trusts none of it: every attribute must
 * appear at most once, be valid text without control characters and fit a
 * limit, and the serialNumber must pass the RRN check.
 *
 * The RRN is YYMMDDSSSCC.  CC = 97 - (YYMMDDSSS mod 97) for births before
 * 2000; for births from 2000 on the same is computed over 2YYMMDDSSS.  The
 * rule that matches decides the century.  Both rules can never match the
 * same number: the two remainders differ by 2 * 10^9 mod 97 = 68, never 0
 * (checked by the _Static_assert below), so the order in which the rules are
 * tried does not matter; we try the pre-2000 rule first.  Bis numbers (people
 * not in the national register) add 20 to the month when the sex was not
 * known at registration and 40 when it was.  A month or day of 00 means the
 * birth date is unknown; the number is then valid but gives no birth date.
 * Any other month/day must be a real date in the century the check digits
 * chose (29 Feb 1900 is not, 29 Feb 2000 is).  The serial SSS is odd for
 * men and even for women, except on +20 bis numbers, where the sex is
 * unknown.
 *
 * The card type comes from the issuer: an issuer CN containing "Foreigner
 * CA" means a foreigner's card, anything else a citizen's card, and a
 * citizen's card whose holder is under 12 at `now` is a Kids-ID.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "eid_int.h"

#define EID_RRN_LEN 11 /* digits in a national register number */
#define EID_NAME_MAX 200 /* bytes of UTF-8 in SN, GN or the issuer CN */
#define EID_SERIAL_MAX 64 /* bytes of the subject serialNumber (X.520 upper bound) */
#define EID_CERT_MAX 16384 /* bytes of DER; real eID certificates are under 2 KiB */
#define EID_KIDS_AGE 12 /* a citizen card of a holder younger than this is a Kids-ID */
#define EID_FOREIGNER_CA "Foreigner CA"

_Static_assert((2000000000LL % 97) != 0, "the pre- and post-2000 check digits must never coincide");

/* ---- national register number ---- */

/* true when `s` is exactly EID_RRN_LEN ASCII digits; stops at the first
 * non-digit, so it never reads past the terminating NUL. */
static bool
rrn_digits(const char *s)
{
	for (size_t i = 0; i < EID_RRN_LEN; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return s[EID_RRN_LEN] == '\0';
}

static int
rrn_num(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Two decimal digits of 0 <= v <= 99. */
static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

static int
days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (month == 2 && leap)
		return 29;
	return days[month - 1];
}

/*
 * `birthdate` and `sex` may be NULL when the caller does not want them.
 * Both are set to "" and 0 first, so a failure leaves them empty.
 */
int
eid_rrn_check(const char *rrn, char birthdate[11], char *sex, struct sl_err *err)
{
	int yy, mm, dd, serial, cc, year;
	int64_t n9;
	bool sex_known = true;

	if (birthdate != NULL)
		birthdate[0] = '\0';
	if (sex != NULL)
		*sex = 0;
	if (rrn == NULL)
		return sl_fail(err, SL_EINVAL, "no national register number");
	if (!rrn_digits(rrn))
		return sl_fail(err, SL_EINVAL, "a national register number is exactly 11 digits");

	yy = rrn_num(rrn, 2);
	mm = rrn_num(rrn + 2, 2);
	dd = rrn_num(rrn + 4, 2);
	serial = rrn_num(rrn + 6, 3);
	cc = rrn_num(rrn + 9, 2);
	n9 = rrn_num(rrn, 9);

	if (cc == 97 - (int)(n9 % 97))
		year = 1900 + yy;
	else if (cc == 97 - (int)((2000000000LL + n9) % 97))
		year = 2000 + yy;
	else
		return sl_fail(err, SL_EINVAL, "the national register number's check digits do not match");

	if (mm >= 40) {
		mm -= 40;
	} else if (mm >= 20) {
		mm -= 20;
		sex_known = false;
	}
	if (mm > 12 || dd > 31)
		return sl_fail(err, SL_EINVAL, "the national register number does not hold a date");
	if (mm != 0 && dd != 0 && dd > days_in_month(year, mm))
		return sl_fail(err, SL_EINVAL, "the national register number does not hold a real date");

	if (birthdate != NULL && mm != 0 && dd != 0) {
		put2(birthdate, year / 100);
		put2(birthdate + 2, year % 100);
		birthdate[4] = '-';
		put2(birthdate + 5, mm);
		birthdate[7] = '-';
		put2(birthdate + 8, dd);
		birthdate[10] = '\0';
	}
	if (sex != NULL && sex_known)
		*sex = serial % 2 == 1 ? 'M' : 'F';
	return SL_OK;
}

/* ---- certificate subject ---- */

/* Decode one UTF-8 sequence at s[*i] (len bytes in all); -1 when it is not
 * well-formed (overlong, surrogate, beyond U+10FFFF, truncated). */
static long
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	long cp, min;
	size_t n;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (len - *i - 1 < n)
		return -1;
	for (size_t k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return cp;
}

/* true for characters a name must not carry: C0 and C1 controls (NUL
 * included), DEL, line and paragraph separators and the bidirectional
 * formatting characters that can make a name display as another. */
static bool
char_refused(long cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return true;
	if (cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e))
		return true;
	return cp >= 0x2066 && cp <= 0x2069;
}

static bool
text_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;
	long cp;

	while (i < len) {
		cp = utf8_next(s, len, &i);
		if (cp < 0 || char_refused(cp))
			return false;
	}
	return true;
}

/*
 * The single entry `nid` of `name` as a malloc'd UTF-8 string of at most
 * `max` bytes; *out is NULL (and SL_OK returned) when there is none.  Two
 * entries, text that does not convert to UTF-8, refused characters or a
 * longer string fail with SL_EINVAL; the text itself is never echoed.
 */
static int
name_text(const X509_NAME *name, int nid, const char *what, size_t max, char **out, struct sl_err *err)
{
	const X509_NAME_ENTRY *ent;
	unsigned char *utf8 = NULL;
	int idx, n, rc = SL_OK;

	*out = NULL;
	idx = X509_NAME_get_index_by_NID(name, nid, -1);
	if (idx < 0)
		return SL_OK;
	if (X509_NAME_get_index_by_NID(name, nid, idx) >= 0)
		return sl_fail(err, SL_EINVAL, "the certificate has more than one %s", what);
	ent = X509_NAME_get_entry(name, idx);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (n < 0 || utf8 == NULL) {
		ERR_clear_error();
		return sl_fail(err, SL_EINVAL, "the certificate's %s is not text", what);
	}
	if ((size_t)n > max) {
		rc = sl_fail(err, SL_EINVAL, "the certificate's %s is longer than %zu bytes", what, max);
	} else if (!text_ok(utf8, (size_t)n)) {
		rc = sl_fail(err, SL_EINVAL, "the certificate's %s holds control characters or bad UTF-8", what);
	} else {
		*out = sl_strndup((const char *)utf8, (size_t)n);
		if (*out == NULL)
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
	}
	OPENSSL_free(utf8);
	return rc;
}

/* The subject's serialNumber, checked as an RRN, into `out`. */
static int
identity_rrn(const X509_NAME *subj, struct eid_identity *out, struct sl_err *err)
{
	struct sl_err rerr = { 0 };
	char *serial;
	int rc;

	rc = name_text(subj, NID_serialNumber, "serialNumber", EID_SERIAL_MAX, &serial, err);
	if (rc != SL_OK)
		return rc;
	if (serial == NULL)
		return sl_fail(err, SL_EINVAL, "the certificate has no serialNumber (national register number)");
	rc = eid_rrn_check(serial, out->ei_birthdate, &out->ei_sex, &rerr);
	if (rc == SL_OK)
		sl_strlcpy(out->ei_rrn, serial, sizeof(out->ei_rrn)); /* 11 digits: fits */
	free(serial);
	if (rc != SL_OK)
		return sl_fail(err, SL_EINVAL, "the certificate's serialNumber is not a national register number: %s",
			rerr.msg);
	return SL_OK;
}

/* Country, serialNumber, SN and GN of the subject into `out`. */
static int
identity_subject(const X509 *x, struct eid_identity *out, struct sl_err *err)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	char *country = NULL;
	bool belgian;
	int rc;

	if (subj == NULL)
		return sl_fail(err, SL_EINVAL, "the certificate has no subject");
	rc = name_text(subj, NID_countryName, "country", 2, &country, err);
	if (rc != SL_OK)
		return rc;
	belgian = country != NULL && strcmp(country, "BE") == 0;
	free(country);
	if (!belgian)
		return sl_fail(err, SL_EINVAL, "the certificate is not for a Belgian eID (country is not BE)");

	rc = identity_rrn(subj, out, err);
	if (rc != SL_OK)
		return rc;
	rc = name_text(subj, NID_surname, "surname (SN)", EID_NAME_MAX, &out->ei_family_name, err);
	if (rc != SL_OK)
		return rc;
	if (sl_str_empty(out->ei_family_name))
		return sl_fail(err, SL_EINVAL, "the certificate has no surname (SN)");
	rc = name_text(subj, NID_givenName, "given names (GN)", EID_NAME_MAX, &out->ei_given_names, err);
	if (rc != SL_OK)
		return rc;
	if (sl_str_empty(out->ei_given_names))
		return sl_fail(err, SL_EINVAL, "the certificate has no given names (GN)");
	return SL_OK;
}

/* Whole years from "YYYY-MM-DD" to the UTC date of `now`. */
static int
age_at(const char *birthdate, int64_t now, int *age, struct sl_err *err)
{
	time_t t = (time_t)now;
	struct tm tm;
	int y, m, d, ty, tmon;

	if ((int64_t)t != now || gmtime_r(&t, &tm) == NULL)
		return sl_fail(err, SL_EINVAL, "the time is out of range");
	y = rrn_num(birthdate, 4);
	m = rrn_num(birthdate + 5, 2);
	d = rrn_num(birthdate + 8, 2);
	ty = tm.tm_year + 1900;
	tmon = tm.tm_mon + 1;
	*age = ty - y;
	if (tmon < m || (tmon == m && tm.tm_mday < d))
		(*age)--;
	return SL_OK;
}

/* Issuer CN and card type. */
static int
identity_card(const X509 *x, int64_t now, struct eid_identity *out, struct sl_err *err)
{
	const X509_NAME *issuer = X509_get_issuer_name(x);
	int rc, age = 0;

	if (issuer != NULL) {
		rc = name_text(issuer, NID_commonName, "issuer CN", EID_NAME_MAX, &out->ei_issuer_cn, err);
		if (rc != SL_OK)
			return rc;
	}
	if (out->ei_issuer_cn == NULL) {
		out->ei_issuer_cn = sl_strdup("");
		if (out->ei_issuer_cn == NULL)
			return sl_fail(err, SL_ENOMEM, "out of memory");
	}

	if (strstr(out->ei_issuer_cn, EID_FOREIGNER_CA) != NULL) {
		out->ei_card_type = EID_CARD_FOREIGNER;
		return SL_OK;
	}
	out->ei_card_type = EID_CARD_CITIZEN;
	if (out->ei_birthdate[0] == '\0')
		return SL_OK;
	rc = age_at(out->ei_birthdate, now, &age, err);
	if (rc != SL_OK)
		return rc;
	if (age < EID_KIDS_AGE)
		out->ei_card_type = EID_CARD_KIDS;
	return SL_OK;
}

/* The subject and the issuer of a certificate already parsed from `len`
 * bytes of which it used `used` (the rules of eid_identity_from_der). */
int
eid_identity_from_x509(
	const X509 *x, size_t len, size_t used, int64_t now, struct eid_identity *out, struct sl_err *err)
{
	int rc;

	if (out == NULL)
		return sl_fail(err, SL_EINVAL, "no identity to fill");
	memset(out, 0, sizeof(*out));
	if (len > EID_CERT_MAX)
		return sl_fail(err, SL_ETOOBIG, "the certificate is larger than %d bytes", EID_CERT_MAX);
	if (used != len)
		return sl_fail(err, SL_EINVAL, "trailing bytes after the certificate");
	rc = identity_subject(x, out, err);
	if (rc == SL_OK)
		rc = identity_card(x, now, out, err);
	if (rc != SL_OK)
		eid_identity_clear(out);
	return rc;
}

/*
 * `out` is cleared first; on success the caller owns its strings and frees
 * them with eid_identity_clear(), on failure nothing is left to free.  The
 * DER must be exactly one certificate: trailing bytes are refused.  An
 * issuer without a CN gives ei_issuer_cn "" and a citizen's card.
 */
int
eid_identity_from_der(const uint8_t *der, size_t len, int64_t now, struct eid_identity *out, struct sl_err *err)
{
	const unsigned char *p = der;
	X509 *x;
	int rc;

	if (out == NULL)
		return sl_fail(err, SL_EINVAL, "no identity to fill");
	memset(out, 0, sizeof(*out));
	if (der == NULL || len == 0)
		return sl_fail(err, SL_EINVAL, "no certificate");
	if (len > EID_CERT_MAX)
		return sl_fail(err, SL_ETOOBIG, "the certificate is larger than %d bytes", EID_CERT_MAX);

	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		ERR_clear_error();
		return sl_fail(err, SL_EINVAL, "not a DER certificate");
	}
	rc = eid_identity_from_x509(x, len, (size_t)(p - der), now, out, err);
	X509_free(x);
	return rc;
}

void
eid_identity_clear(struct eid_identity *id)
{
	if (id == NULL)
		return;
	free(id->ei_family_name);
	free(id->ei_given_names);
	free(id->ei_issuer_cn);
	memset(id, 0, sizeof(*id));
}

/* "unknown" for a value outside the enum, so a caller never prints NULL. */
const char *
eid_card_type_name(enum eid_card_type t)
{
	switch (t) {
	case EID_CARD_CITIZEN: return "citizen";
	case EID_CARD_FOREIGNER: return "foreigner";
	case EID_CARD_KIDS: return "kids";
	}
	return "unknown";
}
