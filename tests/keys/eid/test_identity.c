/*
 * test_identity.c — the national register number check against every row
 * of rrn.tsv (a copy of /work/shared/vectors/rrn.tsv beside this file) and
 * numbers built here for bis, unknown-date, century and calendar cases;
 * then the identity in certificates generated here with OpenSSL (EC P-384,
 * self-signed, issuer name set to the CA we pretend signed it): citizens,
 * foreigners, Kids-ID at the 12th birthday, every missing or wrong subject
 * attribute, names with accents, control characters and length limits,
 * and garbage, truncated and padded DER.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../../src/keys/eid/eid.h"

#ifndef SL_TEST_SRCDIR
#error "SL_TEST_SRCDIR must be defined by the build"
#endif

#define RRN_TSV SL_TEST_SRCDIR "/tests/keys/eid/rrn.tsv"

static EVP_PKEY *test_key;

/* ---- helpers ---- */

/* A number with correct check digits for the given century rule. */
static void
make_rrn(char out[12], int yy, int mm, int dd, int serial, bool after2000)
{
	long long n9 = yy * 10000000LL + mm * 100000LL + dd * 1000LL + serial;
	int cc = 97 - (int)((after2000 ? 2000000000LL + n9 : n9) % 97);

	char buf[64];

	snprintf(buf, sizeof(buf), "%02d%02d%02d%03d%02d", yy, mm, dd, serial, cc);
	assert_int_equal(strlen(buf), 11);
	memcpy(out, buf, 12);
}

static void
expect_rrn(const char *rrn, const char *birthdate, char sex)
{
	struct sl_err err = { 0 };
	char bd[11] = "junk";
	char sx = 'X';

	if (eid_rrn_check(rrn, bd, &sx, &err) != SL_OK)
		fail_msg("%s refused: %s", rrn, err.msg);
	assert_string_equal(bd, birthdate);
	assert_int_equal(sx, sex);
}

static void
expect_rrn_bad(const char *rrn)
{
	struct sl_err err = { 0 };
	char bd[11] = "junk";
	char sx = 'X';

	if (eid_rrn_check(rrn, bd, &sx, &err) != SL_EINVAL)
		fail_msg("%s accepted", rrn == NULL ? "(null)" : rrn);
	assert_true(err.msg[0] != '\0');
	assert_string_equal(bd, "");
	assert_int_equal(sx, 0);
}

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

#define NOW_2026 utc(2026, 6, 1, 12, 0, 0)

/* What goes in a generated certificate; NULL leaves an attribute out. */
struct spec {
	const char *sp_c;
	const char *sp_sn;
	const char *sp_gn;
	const char *sp_serial;
	const char *sp_issuer; /* issuer CN */
	const char *sp_sn2; /* a second SN */
	bool sp_sn_bmp; /* SN as a BMPString (ASCII and Latin-1 only) */
	const char *sp_gn_raw; /* GN as these raw bytes, not checked by OpenSSL */
	size_t sp_gn_rawlen;
	int sp_gn_type; /* of sp_gn_raw; 0 for UTF8String */
};

static const struct spec citizen = {
	.sp_c = "BE",
	.sp_sn = "Citizen",
	.sp_gn = "Demo Jan",
	.sp_serial = "85073003328",
	.sp_issuer = "Citizen CA",
};

static void
add_text(X509_NAME *n, int nid, const char *s)
{
	if (s != NULL)
		assert_int_equal(
			X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)s, -1, -1, 0), 1);
}

static void
add_bmp(X509_NAME *n, int nid, const char *latin1)
{
	unsigned char buf[512];
	size_t len = strlen(latin1);

	assert_true(len * 2 <= sizeof(buf));
	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = 0;
		buf[2 * i + 1] = (unsigned char)latin1[i];
	}
	assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, V_ASN1_BMPSTRING, buf, (int)(len * 2), -1, 0), 1);
}

static X509_NAME *
subject_of(const struct spec *sp)
{
	X509_NAME *n = X509_NAME_new();
	char cn[65];
	const char *gn = sp->sp_gn != NULL ? sp->sp_gn : "";
	const char *sn = sp->sp_sn != NULL && !sp->sp_sn_bmp ? sp->sp_sn : ""; /* Latin-1 is not for CN */

	assert_non_null(n);
	add_text(n, NID_countryName, sp->sp_c);
	if ((size_t)snprintf(cn, sizeof(cn), "%s %s (Authentication)", gn, sn) >= sizeof(cn))
		snprintf(cn, sizeof(cn), "Long Name (Authentication)");
	add_text(n, NID_commonName, cn);
	if (sp->sp_sn_bmp)
		add_bmp(n, NID_surname, sp->sp_sn);
	else
		add_text(n, NID_surname, sp->sp_sn);
	add_text(n, NID_surname, sp->sp_sn2);
	add_text(n, NID_givenName, sp->sp_gn);
	if (sp->sp_gn_raw != NULL)
		assert_int_equal(X509_NAME_add_entry_by_NID(n, NID_givenName,
					 sp->sp_gn_type != 0 ? sp->sp_gn_type : V_ASN1_UTF8STRING,
					 (const unsigned char *)sp->sp_gn_raw, (int)sp->sp_gn_rawlen, -1, 0),
			1);
	add_text(n, NID_serialNumber, sp->sp_serial);
	return n;
}

/* A DER certificate for `sp` (OPENSSL_free it). */
static uint8_t *
make_cert(const struct spec *sp, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *subj = subject_of(sp), *iss = X509_NAME_new();
	unsigned char *der = NULL;
	int n;

	assert_non_null(x);
	assert_non_null(iss);
	add_text(iss, NID_countryName, "BE");
	add_text(iss, NID_commonName, sp->sp_issuer);
	add_text(iss, NID_serialNumber, "202002");
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_subject_name(x, subj), 1);
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	assert_int_equal(X509_set_pubkey(x, test_key), 1);
	assert_true(X509_sign(x, test_key, EVP_sha384()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(subj);
	X509_NAME_free(iss);
	X509_free(x);
	return der;
}

/* The identity in a certificate for `sp` at `now`; the test fails on refusal. */
static void
identity_of(const struct spec *sp, int64_t now, struct eid_identity *id)
{
	struct sl_err err = { 0 };
	size_t len;
	uint8_t *der = make_cert(sp, &len);

	if (eid_identity_from_der(der, len, now, id, &err) != SL_OK)
		fail_msg("refused: %s", err.msg);
	OPENSSL_free(der);
}

static void
expect_refused_der(const uint8_t *der, size_t len, int code)
{
	struct sl_err err = { 0 };
	struct eid_identity id;

	memset(&id, 0xa5, sizeof(id));
	assert_int_equal(eid_identity_from_der(der, len, NOW_2026, &id, &err), code);
	assert_true(err.msg[0] != '\0');
	/* nothing left to free, nothing half-filled */
	assert_string_equal(id.ei_rrn, "");
	assert_string_equal(id.ei_birthdate, "");
	assert_int_equal(id.ei_sex, 0);
	assert_null(id.ei_family_name);
	assert_null(id.ei_given_names);
	assert_null(id.ei_issuer_cn);
	assert_int_equal(id.ei_card_type, 0);
}

static void
expect_refused(const struct spec *sp)
{
	size_t len;
	uint8_t *der = make_cert(sp, &len);

	expect_refused_der(der, len, SL_EINVAL);
	OPENSSL_free(der);
}

static int
group_setup(void **state)
{
	(void)state;
	test_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return test_key == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(test_key);
	return 0;
}

/* ---- national register number ---- */

/* Every row of rrn.tsv: "yes" rows pass with the birth date and sex the
 * note gives, "no" rows fail, "check" rows pass in the century they name. */
static void
test_rrn_vectors(void **state)
{
	FILE *f = fopen(RRN_TSV, "r");
	char line[512], bd[11], sx, want[11];
	int rows = 0, yes = 0, no = 0, check = 0, year;
	struct sl_err err;

	(void)state;
	if (f == NULL)
		fail_msg("cannot open %s", RRN_TSV);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *num = line, *valid, *note, *p;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		valid = strchr(num, '\t');
		assert_non_null(valid);
		*valid++ = '\0';
		note = strchr(valid, '\t');
		assert_non_null(note);
		*note++ = '\0';
		rows++;
		memset(&err, 0, sizeof(err));
		if (strcmp(valid, "no") == 0) {
			no++;
			expect_rrn_bad(num);
			continue;
		}
		if (eid_rrn_check(num, bd, &sx, &err) != SL_OK)
			fail_msg("row %s (%s) refused: %s", num, note, err.msg);
		if (strcmp(valid, "check") == 0) {
			check++;
			p = strstr(note, "as a ");
			assert_non_null(p);
			assert_int_equal(sscanf(p, "as a %d birth", &year), 1);
			snprintf(want, sizeof(want), "%04d", year);
			assert_memory_equal(bd, want, 4);
			continue;
		}
		assert_string_equal(valid, "yes");
		yes++;
		p = strstr(note, "born ");
		if (p != NULL && strlen(p) >= 15) {
			memcpy(want, p + 5, 10);
			want[10] = '\0';
			assert_string_equal(bd, want);
		}
		if (strstr(note, "female") != NULL)
			assert_int_equal(sx, 'F');
		else if (strstr(note, "male") != NULL)
			assert_int_equal(sx, 'M');
		else if (strstr(note, "sex unknown") != NULL)
			assert_int_equal(sx, 0);
		if (strstr(note, "date unknown") != NULL)
			assert_string_equal(bd, "");
	}
	fclose(f);
	assert_int_equal(rows, yes + no + check);
	assert_true(yes >= 8);
	assert_true(no >= 4);
	assert_true(check >= 1);
}

/* Birth date and sex of each documented row, spelled out. */
static void
test_rrn_documented(void **state)
{
	(void)state;
	expect_rrn("85073003328", "1985-07-30", 'M');
	expect_rrn("90020199704", "1990-02-01", 'M');
	expect_rrn("75121599916", "1975-12-15", 'M');
	expect_rrn("15030112318", "2015-03-01", 'M');
	expect_rrn("08010100275", "2008-01-01", 'F');
	expect_rrn("85273003371", "1985-07-30", 0);
	expect_rrn("85473003416", "1985-07-30", 'F');
	expect_rrn("00000000196", "", 'M');
	expect_rrn("15030112386", "1915-03-01", 'M');
	expect_rrn_bad("85073003329");
}

static void
test_rrn_bis(void **state)
{
	char r[12];

	(void)state;
	/* +20: sex unknown whatever the serial */
	make_rrn(r, 85, 27, 30, 33, false);
	expect_rrn(r, "1985-07-30", 0);
	make_rrn(r, 85, 27, 30, 34, false);
	expect_rrn(r, "1985-07-30", 0);
	make_rrn(r, 5, 32, 28, 101, true);
	expect_rrn(r, "2005-12-28", 0);
	/* +40: sex from the serial */
	make_rrn(r, 85, 47, 30, 33, false);
	expect_rrn(r, "1985-07-30", 'M');
	make_rrn(r, 85, 47, 30, 34, false);
	expect_rrn(r, "1985-07-30", 'F');
	make_rrn(r, 12, 41, 31, 200, true);
	expect_rrn(r, "2012-01-31", 'F');
	/* bis with an impossible date */
	make_rrn(r, 85, 22, 30, 33, false);
	expect_rrn_bad(r);
	make_rrn(r, 85, 44, 31, 33, false);
	expect_rrn_bad(r);
}

static void
test_rrn_unknown_date(void **state)
{
	char r[12];

	(void)state;
	expect_rrn("00000000196", "", 'M');
	make_rrn(r, 70, 0, 0, 2, false);
	expect_rrn(r, "", 'F');
	make_rrn(r, 70, 0, 15, 3, false);
	expect_rrn(r, "", 'M');
	make_rrn(r, 70, 5, 0, 3, false);
	expect_rrn(r, "", 'M');
	make_rrn(r, 10, 0, 0, 4, true);
	expect_rrn(r, "", 'F');
	make_rrn(r, 70, 20, 0, 3, false);
	expect_rrn(r, "", 0);
	make_rrn(r, 70, 40, 0, 3, false);
	expect_rrn(r, "", 'M');
	/* unknown month with an impossible day is still refused */
	make_rrn(r, 70, 0, 32, 3, false);
	expect_rrn_bad(r);
}

/* The matching rule decides the century, also for the calendar. */
static void
test_rrn_century(void **state)
{
	char r[12];

	(void)state;
	expect_rrn("15030112386", "1915-03-01", 'M');
	expect_rrn("15030112318", "2015-03-01", 'M');
	make_rrn(r, 15, 3, 1, 123, false);
	assert_string_equal(r, "15030112386");
	make_rrn(r, 15, 3, 1, 123, true);
	assert_string_equal(r, "15030112318");
	make_rrn(r, 99, 12, 31, 1, false);
	expect_rrn(r, "1999-12-31", 'M');
	make_rrn(r, 0, 1, 1, 2, true);
	expect_rrn(r, "2000-01-01", 'F');
	make_rrn(r, 0, 1, 1, 2, false);
	expect_rrn(r, "1900-01-01", 'F');
	/* 1900 was not a leap year, 2000 was */
	make_rrn(r, 0, 2, 29, 1, false);
	expect_rrn_bad(r);
	make_rrn(r, 0, 2, 29, 1, true);
	expect_rrn(r, "2000-02-29", 'M');
}

static void
test_rrn_bad_dates(void **state)
{
	static const int bad[][2] = { { 2, 31 }, { 2, 30 }, { 4, 31 }, { 6, 31 }, { 9, 31 }, { 11, 31 }, { 13, 1 },
		{ 19, 1 }, { 33, 1 }, { 39, 1 }, { 53, 1 }, { 60, 1 }, { 99, 1 }, { 1, 32 }, { 12, 99 } };
	char r[12];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_rrn(r, 85, bad[i][0], bad[i][1], 33, false);
		expect_rrn_bad(r);
		make_rrn(r, 5, bad[i][0], bad[i][1], 33, true);
		expect_rrn_bad(r);
	}
	make_rrn(r, 85, 2, 29, 33, false);
	expect_rrn_bad(r);
	make_rrn(r, 84, 2, 29, 33, false);
	expect_rrn(r, "1984-02-29", 'M');
	make_rrn(r, 85, 4, 30, 33, false);
	expect_rrn(r, "1985-04-30", 'M');
}

static void
test_rrn_bad_format(void **state)
{
	struct sl_err err = { 0 };
	char bd[11], sx;

	(void)state;
	expect_rrn_bad("8507300332");
	expect_rrn_bad("850730033280");
	expect_rrn_bad("85O73003328");
	expect_rrn_bad("8507300332A");
	expect_rrn_bad("");
	expect_rrn_bad(NULL);
	expect_rrn_bad(" 85073003328");
	expect_rrn_bad("85073003328 ");
	expect_rrn_bad("85.07.30-033.28");
	expect_rrn_bad("+8507300332");
	expect_rrn_bad("-8507300332");
	expect_rrn_bad("85073003328\n");
	expect_rrn_bad("\xef\xbc\x98"
		       "5073003328"); /* a fullwidth 8 */
	expect_rrn_bad("85073003300"); /* check digits are never 00 */
	expect_rrn_bad("85073003397");
	/* outputs are optional; err may be NULL */
	assert_int_equal(eid_rrn_check("85073003328", NULL, NULL, NULL), SL_OK);
	assert_int_equal(eid_rrn_check("85073003329", NULL, NULL, NULL), SL_EINVAL);
	assert_int_equal(eid_rrn_check(NULL, bd, &sx, &err), SL_EINVAL);
	assert_int_equal(err.code, SL_EINVAL);
}

/* ---- identity from a certificate ---- */

static void
test_cert_citizen(void **state)
{
	struct eid_identity id;

	(void)state;
	identity_of(&citizen, NOW_2026, &id);
	assert_string_equal(id.ei_rrn, "85073003328");
	assert_string_equal(id.ei_birthdate, "1985-07-30");
	assert_int_equal(id.ei_sex, 'M');
	assert_string_equal(id.ei_family_name, "Citizen");
	assert_string_equal(id.ei_given_names, "Demo Jan");
	assert_string_equal(id.ei_issuer_cn, "Citizen CA");
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	assert_string_equal(eid_card_type_name(id.ei_card_type), "citizen");
	eid_identity_clear(&id);
	assert_null(id.ei_family_name);
	assert_string_equal(id.ei_rrn, "");
}

static void
test_cert_foreigner(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;
	char r[12];

	(void)state;
	sp.sp_issuer = "Foreigner CA";
	sp.sp_serial = "08010100275";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_FOREIGNER);
	assert_string_equal(eid_card_type_name(id.ei_card_type), "foreigner");
	assert_string_equal(id.ei_issuer_cn, "Foreigner CA");
	assert_int_equal(id.ei_sex, 'F');
	eid_identity_clear(&id);

	/* a CN that contains the name, as a demo CA's would */
	sp.sp_issuer = "sleutel demo Foreigner CA";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_FOREIGNER);
	eid_identity_clear(&id);

	/* a child on a foreigner's card is not a Kids-ID */
	make_rrn(r, 18, 6, 15, 2, true);
	sp.sp_serial = r;
	sp.sp_issuer = "Foreigner CA";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_FOREIGNER);
	eid_identity_clear(&id);

	/* the case matters */
	sp.sp_issuer = "foreigner ca";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	eid_identity_clear(&id);
}

static void
test_cert_kids(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;
	char r[12];

	(void)state;
	make_rrn(r, 18, 6, 15, 2, true);
	sp.sp_serial = r;
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_birthdate, "2018-06-15");
	assert_int_equal(id.ei_sex, 'F');
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	assert_string_equal(eid_card_type_name(id.ei_card_type), "kids");
	eid_identity_clear(&id);

	/* the Kids-ID row of rrn.tsv: 11 in 2026 */
	sp.sp_serial = "15030112318";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	eid_identity_clear(&id);

	/* the same digits as a 1915 birth: an adult */
	sp.sp_serial = "15030112386";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	eid_identity_clear(&id);
}

/* Under 12 until the last second before the 12th birthday (UTC). */
static void
test_cert_kids_birthday(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;
	char r[12];

	(void)state;
	make_rrn(r, 14, 3, 1, 4, true);
	sp.sp_serial = r;
	identity_of(&sp, utc(2026, 2, 28, 23, 59, 59), &id);
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	eid_identity_clear(&id);
	identity_of(&sp, utc(2026, 3, 1, 0, 0, 0), &id);
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	eid_identity_clear(&id);
	identity_of(&sp, utc(2025, 12, 31, 0, 0, 0), &id);
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	eid_identity_clear(&id);

	/* born 29 Feb: 12 on 29 Feb 2028, not the day before */
	make_rrn(r, 16, 2, 29, 4, true);
	sp.sp_serial = r;
	identity_of(&sp, utc(2028, 2, 28, 12, 0, 0), &id);
	assert_int_equal(id.ei_card_type, EID_CARD_KIDS);
	eid_identity_clear(&id);
	identity_of(&sp, utc(2028, 2, 29, 0, 0, 0), &id);
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	eid_identity_clear(&id);
}

static void
test_cert_unknown_birth(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;

	(void)state;
	sp.sp_serial = "00000000196";
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_birthdate, "");
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	eid_identity_clear(&id);
}

static void
test_cert_bis(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;

	(void)state;
	sp.sp_serial = "85273003371";
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_rrn, "85273003371");
	assert_string_equal(id.ei_birthdate, "1985-07-30");
	assert_int_equal(id.ei_sex, 0);
	eid_identity_clear(&id);
	sp.sp_serial = "85473003416";
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(id.ei_sex, 'F');
	eid_identity_clear(&id);
}

static void
test_cert_missing(void **state)
{
	struct spec sp;

	(void)state;
	sp = citizen;
	sp.sp_sn = NULL;
	expect_refused(&sp);
	sp = citizen;
	sp.sp_gn = NULL;
	expect_refused(&sp);
	sp = citizen;
	sp.sp_serial = NULL;
	expect_refused(&sp);
	sp = citizen;
	sp.sp_c = NULL;
	expect_refused(&sp);
	/* GN present but empty */
	sp = citizen;
	sp.sp_gn = NULL;
	sp.sp_gn_raw = "";
	sp.sp_gn_rawlen = 0;
	expect_refused(&sp);
}

static void
test_cert_country(void **state)
{
	struct spec sp = citizen;

	(void)state;
	sp.sp_c = "NL";
	expect_refused(&sp);
	sp.sp_c = "be";
	expect_refused(&sp);
}

static void
test_cert_bad_rrn(void **state)
{
	static const char *const bad[] = { "85073003329", "8507300332", "850730033280", "85O73003328", "BE85073003328",
		"85073003328 ", "85.07.30-033.28", "PNOBE-85073003328" };
	struct spec sp = citizen;
	char r[12];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp.sp_serial = bad[i];
		expect_refused(&sp);
	}
	/* right check digits, no such day */
	make_rrn(r, 85, 2, 31, 33, false);
	sp.sp_serial = r;
	expect_refused(&sp);
}

static void
test_cert_utf8_names(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;

	(void)state;
	sp.sp_gn = "Jérôme Zoë";
	sp.sp_sn = "Müller-Łukasiewicz";
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_given_names, "Jérôme Zoë");
	assert_string_equal(id.ei_family_name, "Müller-Łukasiewicz");
	eid_identity_clear(&id);

	/* a BMPString converts to the same UTF-8 */
	sp = citizen;
	sp.sp_sn = "M\xfcller"; /* Latin-1 */
	sp.sp_sn_bmp = true;
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_family_name, "Müller");
	eid_identity_clear(&id);
}

static void
test_cert_control_chars(void **state)
{
	static const char *const bad[] = { "Jan\tPiet", "Jan\nPiet", "Jan\x7fPiet", "Jan\x1bPiet",
		"Jan\xc2\x85Piet", /* U+0085 NEL */
		"Jan\xe2\x80\xaePiet", /* U+202E right-to-left override */
		"Jan\xe2\x80\x8fPiet", /* U+200F right-to-left mark */
		"Jan\xe2\x81\xa6Piet", /* U+2066 left-to-right isolate */
		"Jan\xe2\x80\xa8Piet" /* U+2028 line separator */ };
	struct eid_identity id;
	struct spec sp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp = citizen;
		sp.sp_gn = bad[i];
		expect_refused(&sp);
		sp = citizen;
		sp.sp_sn = bad[i];
		expect_refused(&sp);
	}
	/* an embedded NUL, given as raw UTF8String bytes */
	sp = citizen;
	sp.sp_gn = NULL;
	sp.sp_gn_raw = "Jan\0Piet";
	sp.sp_gn_rawlen = 8;
	expect_refused(&sp);
	/* Latin-1 bytes in a NumericString, a type OpenSSL does not
	 * canonicalise: they reach the identity code as U+0085 and ESC */
	sp.sp_gn_type = V_ASN1_NUMERICSTRING;
	sp.sp_gn_raw = "Jan\x85Piet";
	sp.sp_gn_rawlen = strlen(sp.sp_gn_raw);
	expect_refused(&sp);
	sp.sp_gn_raw = "Jan\x1bPiet";
	expect_refused(&sp);
	/* a string type that is not text */
	sp.sp_gn_type = V_ASN1_BIT_STRING;
	sp.sp_gn_raw = "Jan Piet";
	sp.sp_gn_rawlen = strlen(sp.sp_gn_raw);
	expect_refused(&sp);
	/* the control: the same path with good bytes passes */
	sp.sp_gn_type = V_ASN1_NUMERICSTRING;
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_given_names, "Jan Piet");
	eid_identity_clear(&id);
	sp.sp_gn_type = V_ASN1_UTF8STRING;
	sp.sp_gn_raw = "J\xc3\xa9r\xc3\xb4me";
	sp.sp_gn_rawlen = strlen(sp.sp_gn_raw);
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_given_names, "Jérôme");
	eid_identity_clear(&id);
}

/* Bad UTF-8 that OpenSSL will not encode, patched into the DER over a GN
 * of as many 'Q's; d2i or the identity code must refuse it. */
static void
test_cert_bad_utf8(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} bad[] = {
		{ "J\xe9r\xf4me", 6 }, /* Latin-1 */
		{ "\xc0\xaf", 2 }, /* overlong "/" */
		{ "\xed\xa0\x80", 3 }, /* a surrogate */
		{ "\xf4\x90\x80\x80", 4 }, /* beyond U+10FFFF */
		{ "ab\xc3", 3 }, /* truncated */
		{ "J\xc3\xa9r", 4 }, /* the control: good UTF-8, must pass */
	};
	struct spec sp = citizen;
	struct eid_identity id;
	char marker[8];
	uint8_t *der, *p;
	size_t len, n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = bad[i].n;
		memset(marker, 'Q', n);
		marker[n] = '\0';
		sp.sp_gn = marker;
		der = make_cert(&sp, &len);
		p = NULL;
		for (size_t k = 0; k + n + 2 <= len && p == NULL; k++) {
			if (der[k] == V_ASN1_UTF8STRING && der[k + 1] == n && memcmp(der + k + 2, marker, n) == 0)
				p = der + k + 2;
		}
		assert_non_null(p);
		memcpy(p, bad[i].b, n);
		if (i + 1 < sizeof(bad) / sizeof(bad[0])) {
			expect_refused_der(der, len, SL_EINVAL);
		} else {
			assert_int_equal(eid_identity_from_der(der, len, NOW_2026, &id, NULL), SL_OK);
			assert_string_equal(id.ei_given_names, "Jér");
			eid_identity_clear(&id);
		}
		OPENSSL_free(der);
	}
}

/* 200 bytes of UTF-8 pass, 201 do not. */
static void
test_cert_name_limit(void **state)
{
	char name[256];
	struct spec sp = citizen;
	struct eid_identity id;

	(void)state;
	name[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(name, "\xc3\xa9");
	assert_int_equal(strlen(name), 200);
	sp.sp_gn = name;
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(strlen(id.ei_given_names), 200);
	eid_identity_clear(&id);
	sp = citizen;
	sp.sp_sn = name;
	identity_of(&sp, NOW_2026, &id);
	assert_int_equal(strlen(id.ei_family_name), 200);
	eid_identity_clear(&id);

	strcat(name, "a");
	sp = citizen;
	sp.sp_gn = name;
	expect_refused(&sp);
	sp = citizen;
	sp.sp_sn = name;
	expect_refused(&sp);
}

static void
test_cert_duplicate(void **state)
{
	struct spec sp = citizen;

	(void)state;
	sp.sp_sn2 = "Other";
	expect_refused(&sp);
}

static void
test_cert_issuer(void **state)
{
	struct spec sp = citizen;
	struct eid_identity id;

	(void)state;
	/* an issuer without a CN: "" and a citizen's card */
	sp.sp_issuer = NULL;
	identity_of(&sp, NOW_2026, &id);
	assert_string_equal(id.ei_issuer_cn, "");
	assert_int_equal(id.ei_card_type, EID_CARD_CITIZEN);
	eid_identity_clear(&id);
	/* an issuer CN with a control character */
	sp.sp_issuer = "Foreigner CA\n";
	expect_refused(&sp);
}

static void
test_cert_garbage(void **state)
{
	static const uint8_t junk[] = "hello, this is not a certificate";
	static const uint8_t seq[] = { 0x30, 0x82, 0xff, 0xff, 0x30 };
	struct eid_identity id;
	uint8_t *big;

	(void)state;
	expect_refused_der(junk, sizeof(junk) - 1, SL_EINVAL);
	expect_refused_der(seq, sizeof(seq), SL_EINVAL);
	expect_refused_der(junk, 0, SL_EINVAL);
	expect_refused_der(NULL, 10, SL_EINVAL);
	assert_int_equal(eid_identity_from_der(junk, sizeof(junk), NOW_2026, NULL, NULL), SL_EINVAL);
	big = calloc(1, 16385);
	assert_non_null(big);
	big[0] = 0x30;
	expect_refused_der(big, 16385, SL_ETOOBIG);
	free(big);
	/* err may be NULL */
	assert_int_equal(eid_identity_from_der(junk, 4, NOW_2026, &id, NULL), SL_EINVAL);
}

/* Every proper prefix of a good certificate is refused, read from a buffer
 * of exactly that size (ASan catches a read past it); trailing bytes too. */
static void
test_cert_truncated(void **state)
{
	size_t len;
	uint8_t *der = make_cert(&citizen, &len), *copy;
	struct eid_identity id;

	(void)state;
	for (size_t i = 1; i < len; i++) {
		copy = malloc(i);
		assert_non_null(copy);
		memcpy(copy, der, i);
		expect_refused_der(copy, i, SL_EINVAL);
		free(copy);
	}
	copy = malloc(len + 1);
	assert_non_null(copy);
	memcpy(copy, der, len);
	copy[len] = 0;
	expect_refused_der(copy, len + 1, SL_EINVAL);
	/* the control: the whole certificate passes */
	assert_int_equal(eid_identity_from_der(copy, len, NOW_2026, &id, NULL), SL_OK);
	eid_identity_clear(&id);
	free(copy);
	OPENSSL_free(der);
}

static void
test_clear_and_names(void **state)
{
	(void)state;
	eid_identity_clear(NULL);
	assert_string_equal(eid_card_type_name(EID_CARD_CITIZEN), "citizen");
	assert_string_equal(eid_card_type_name(EID_CARD_FOREIGNER), "foreigner");
	assert_string_equal(eid_card_type_name(EID_CARD_KIDS), "kids");
	assert_string_equal(eid_card_type_name((enum eid_card_type)0), "unknown");
	assert_string_equal(eid_card_type_name((enum eid_card_type)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrn_vectors),
		cmocka_unit_test(test_rrn_documented),
		cmocka_unit_test(test_rrn_bis),
		cmocka_unit_test(test_rrn_unknown_date),
		cmocka_unit_test(test_rrn_century),
		cmocka_unit_test(test_rrn_bad_dates),
		cmocka_unit_test(test_rrn_bad_format),
		cmocka_unit_test(test_cert_citizen),
		cmocka_unit_test(test_cert_foreigner),
		cmocka_unit_test(test_cert_kids),
		cmocka_unit_test(test_cert_kids_birthday),
		cmocka_unit_test(test_cert_unknown_birth),
		cmocka_unit_test(test_cert_bis),
		cmocka_unit_test(test_cert_missing),
		cmocka_unit_test(test_cert_country),
		cmocka_unit_test(test_cert_bad_rrn),
		cmocka_unit_test(test_cert_utf8_names),
		cmocka_unit_test(test_cert_control_chars),
		cmocka_unit_test(test_cert_bad_utf8),
		cmocka_unit_test(test_cert_name_limit),
		cmocka_unit_test(test_cert_duplicate),
		cmocka_unit_test(test_cert_issuer),
		cmocka_unit_test(test_cert_garbage),
		cmocka_unit_test(test_cert_truncated),
		cmocka_unit_test(test_clear_and_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
