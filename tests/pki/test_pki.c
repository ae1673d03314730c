/*
 * test_pki.c — the demo PKI, checked from the outside with OpenSSL: chains
 * verify against trust.pem, certificates carry the fields and extensions a
 * Belgian eID card has, the PKCS#12 opens with the PIN alone, OCSP answers
 * verify and say good, revoked or unknown, CRLs list what was revoked, and
 * a card lands in a SoftHSM2 token.  The PKCS#11 test runs the real tools
 * and fails, naming the Debian package, when one is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../src/pki/pki.h"
#include "../lib/testutil.h"

#define OCSP_URL "http://127.0.0.1:8889/ocsp"
#define ADULT_RRN "85073003328"
#define PIN "1234"
#define VALIDITY 3600

static char tmpdir[] = "/tmp/sleutel-pki-test-XXXXXX";
static char pkidir[512];

/* ---- helpers ---- */

static char *
tpath(const char *name)
{
	static char buf[4][600];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static char *
ppath(const char *dir, const char *name)
{
	static char buf[4][600];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(cert);
	return cert;
}

static X509 *
file_cert(const char *dir, const char *name)
{
	FILE *fp = fopen(ppath(dir, name), "r");
	X509 *cert;

	assert_non_null(fp);
	cert = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(cert);
	return cert;
}

static X509_STORE *
trust_store(const char *dir)
{
	X509_STORE *st = X509_STORE_new();

	assert_non_null(st);
	assert_int_equal(X509_STORE_load_file(st, ppath(dir, "trust.pem")), 1);
	return st;
}

/* X509_verify_cert's error for `cert` against DIR/trust.pem (0: valid). */
static int
verify_chain(const char *dir, X509 *cert)
{
	X509_STORE *st = trust_store(dir);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc;

	assert_int_equal(X509_STORE_CTX_init(ctx, st, cert, NULL), 1);
	rc = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

static void
assert_name_entry(const X509_NAME *name, int nid, const char *want)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;

	assert_true(i >= 0);
	assert_true(ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) >= 0);
	assert_string_equal((char *)utf8, want);
	OPENSSL_free(utf8);
}

static bool
ext_critical(X509 *cert, int nid)
{
	int i = X509_get_ext_by_NID(cert, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}

/* The URI of an AIA access method, or NULL; malloc'd. */
static char *
aia_uri(X509 *cert, int method)
{
	AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
	char *out = NULL;

	for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

		if (OBJ_obj2nid(ad->method) == method && ad->location->type == GEN_URI)
			out = strdup((const char *)ASN1_STRING_get0_data(ad->location->d.uniformResourceIdentifier));
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return out;
}

/* Seconds from now to the time `t` (negative in the past). */
static long
secs_from_now(const ASN1_TIME *t)
{
	int days = 0, secs = 0;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
	return (long)days * 86400 + secs;
}

static int
this_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return tm.tm_year + 1900;
}

/* A valid RRN for a birth date, computed here independently. */
static void
make_rrn(int year, int month, int day, int seq, char out[12])
{
	char nine[16];
	unsigned long long n;

	snprintf(nine, sizeof(nine), "%02d%02d%02d%03d", year % 100, month, day, seq);
	n = strtoull(nine, NULL, 10) + (year >= 2000 ? 2000000000ULL : 0);
	snprintf(out, 12, "%.9s%02u", nine, (unsigned)(97 - n % 97));
}

static struct pki_card_opts
citizen(const char *rrn)
{
	return (struct pki_card_opts){ .pc_name = "Demo Citizen", .pc_rrn = rrn, .pc_pin = PIN };
}

static void
issue(const struct pki_card_opts *o, const char *p12name, struct pki_card *card)
{
	struct sl_err err = { 0 };
	int rc = pki_card_issue(pkidir, o, tpath(p12name), card, &err);

	if (rc != SL_OK)
		fail_msg("pki_card_issue: %s", err.msg);
}

/* Open a PKCS#12 file; NULL key when the PIN is wrong. */
static PKCS12 *
p12_load(const char *name)
{
	FILE *fp = fopen(tpath(name), "rb");
	PKCS12 *p12;

	assert_non_null(fp);
	p12 = d2i_PKCS12_fp(fp, NULL);
	fclose(fp);
	assert_non_null(p12);
	return p12;
}

/* The signing certificate of a card, from its PKCS#12. */
static X509 *
p12_sign_cert(const char *name)
{
	PKCS12 *p12 = p12_load(name);
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *found = NULL;
	STACK_OF(X509) *ca = NULL;

	assert_int_equal(PKCS12_parse(p12, PIN, &key, &cert, &ca), 1);
	for (int i = 0; i < sk_X509_num(ca); i++) {
		X509 *c = sk_X509_value(ca, i);
		int j = X509_NAME_get_index_by_NID(X509_get_subject_name(c), NID_serialNumber, -1);

		if (j >= 0 && found == NULL) {
			found = c;
			X509_up_ref(found);
		}
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	return found;
}

static int
setup(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(pkidir, sizeof(pkidir), "%s/pki", tmpdir);
	if (pki_init(pkidir, OCSP_URL, NULL, &err) != SL_OK) {
		fprintf(stderr, "pki_init: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static EVP_PKEY *sid_keys[3]; /* RSA 6144 (a composite key's size), RSA 2048, RSA 2048 */

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(sid_keys[i]);
	return tu_rm_tree(tmpdir);
}

/* ---- init ---- */

static void
test_init_files_and_twice(void **state)
{
	static const char *const files[] = { "root.pem", "root.key", "citizen-ca.pem", "citizen-ca.key",
		"foreigner-ca.pem", "foreigner-ca.key", "citizen-ocsp.pem", "citizen-ocsp.key", "foreigner-ocsp.pem",
		"foreigner-ocsp.key", "smartid-ca.pem", "smartid-ca.key", "smartid-ocsp.pem", "smartid-ocsp.key",
		"trust.pem", "index.json", "pki.json" };
	struct sl_err err = { 0 };
	struct stat st;
	X509 *root, *ca;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(stat(ppath(pkidir, files[i]), &st), 0);
		if (strstr(files[i], ".key") != NULL)
			assert_int_equal(st.st_mode & 077, 0);
	}
	assert_int_equal(pki_init(pkidir, OCSP_URL, NULL, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "already"));
	assert_int_equal(pki_init(tpath("bad"), "ftp://x", NULL, &err), SL_EINVAL);
	assert_int_equal(pki_init(tpath("bad"), "http://a,b", NULL, &err), SL_EINVAL);

	root = file_cert(pkidir, "root.pem");
	assert_name_entry(X509_get_subject_name(root), NID_commonName, "sleutel demo Belgium Root CA");
	assert_int_equal(X509_check_ca(root), 1);
	assert_int_equal(verify_chain(pkidir, root), 0);
	for (int i = 0; i < 2; i++) {
		ca = file_cert(pkidir, i ? "foreigner-ca.pem" : "citizen-ca.pem");
		assert_name_entry(X509_get_subject_name(ca), NID_commonName, i ? "Foreigner CA" : "Citizen CA");
		assert_name_entry(X509_get_subject_name(ca), NID_organizationName, "sleutel demo");
		assert_name_entry(X509_get_subject_name(ca), NID_countryName, "BE");
		assert_true(X509_get_extension_flags(ca) & EXFLAG_CA);
		assert_int_equal(X509_get_pathlen(ca), 0);
		assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
		assert_int_equal(verify_chain(pkidir, ca), 0);
		X509_free(ca);
	}
	X509_free(root);
}

static void
test_ocsp_signers(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		X509 *s = file_cert(pkidir, i ? "foreigner-ocsp.pem" : "citizen-ocsp.pem");
		X509 *ca = file_cert(pkidir, i ? "foreigner-ca.pem" : "citizen-ca.pem");

		assert_int_equal(X509_check_issued(ca, s), X509_V_OK);
		assert_true(X509_get_extended_key_usage(s) & XKU_OCSP_SIGN);
		assert_true(X509_get_ext_by_NID(s, NID_id_pkix_OCSP_noCheck, -1) >= 0);
		assert_int_equal(X509_check_ca(s), 0);
		X509_free(s);
		X509_free(ca);
	}
}

/* ---- cards ---- */

static void
check_auth_cert(X509 *cert, const char *rrn, const char *ca_cn, const char *ca_base)
{
	char *ocsp = aia_uri(cert, NID_ad_OCSP), *issuers = aia_uri(cert, NID_ad_ca_issuers), want[128];
	const X509_NAME *subj = X509_get_subject_name(cert);

	assert_name_entry(subj, NID_countryName, "BE");
	assert_name_entry(subj, NID_commonName, "Demo Citizen (Authentication)");
	assert_name_entry(subj, NID_surname, "Citizen");
	assert_name_entry(subj, NID_givenName, "Demo");
	assert_name_entry(subj, NID_serialNumber, rrn);
	assert_name_entry(X509_get_issuer_name(cert), NID_commonName, ca_cn);
	assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
	assert_true(ext_critical(cert, NID_key_usage));
	assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
	assert_non_null(ocsp);
	assert_string_equal(ocsp, OCSP_URL);
	snprintf(want, sizeof(want), "http://127.0.0.1:8889/%s.crt", ca_base);
	assert_non_null(issuers);
	assert_string_equal(issuers, want);
	assert_true(X509_get_ext_by_NID(cert, NID_crl_distribution_points, -1) < 0);
	free(ocsp);
	free(issuers);
}

static void
test_citizen_ec(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	X509 *auth, *sign;
	EVP_PKEY *pub;
	char group[32];
	struct tm tm_now, tm_end;
	time_t now;

	(void)state;
	issue(&o, "citizen.p12", &card);
	assert_non_null(card.pk_auth_serial);
	assert_non_null(card.pk_sign_serial);
	assert_string_not_equal(card.pk_auth_serial, card.pk_sign_serial);
	assert_int_equal(strlen(card.pk_auth_serial), 32); /* 16 random bytes */
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(pkidir, auth), 0);
	check_auth_cert(auth, ADULT_RRN, "Citizen CA", "citizen-ca");
	pub = X509_get0_pubkey(auth);
	assert_int_equal(EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL), 1);
	assert_string_equal(group, "secp384r1");
	/* Ten calendar years from now. */
	now = time(NULL);
	gmtime_r(&now, &tm_now);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(auth), &tm_end), 1);
	assert_int_equal(tm_end.tm_year, tm_now.tm_year + 10);
	assert_int_equal(tm_end.tm_mon, tm_now.tm_mon);
	assert_int_equal(tm_end.tm_mday, tm_now.tm_mday);
	assert_true(secs_from_now(X509_get0_notBefore(auth)) <= 0);

	sign = p12_sign_cert("citizen.p12");
	assert_non_null(sign);
	assert_int_equal(verify_chain(pkidir, sign), 0);
	assert_name_entry(X509_get_subject_name(sign), NID_commonName, "Demo Citizen (Signature)");
	assert_int_equal(X509_get_key_usage(sign), KU_NON_REPUDIATION);
	assert_true(ext_critical(sign, NID_key_usage));
	assert_false(X509_get_extension_flags(sign) & EXFLAG_XKUSAGE);
	X509_free(sign);
	X509_free(auth);
	pki_card_clear(&card);
}

static void
test_citizen_rsa(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	X509 *auth, *sign;

	(void)state;
	o.pc_rsa = true;
	issue(&o, "rsa.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(pkidir, auth), 0);
	check_auth_cert(auth, ADULT_RRN, "Citizen CA", "citizen-ca");
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(auth)), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(auth)), 2048);
	sign = p12_sign_cert("rsa.p12");
	assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(sign)), EVP_PKEY_RSA);
	assert_int_equal(verify_chain(pkidir, sign), 0);
	X509_free(sign);
	X509_free(auth);
	pki_card_clear(&card);
}

static void
test_validity(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	struct sl_err err = { 0 };
	X509 *auth;
	long t;

	(void)state;
	o.pc_expired = true;
	issue(&o, "expired.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(pkidir, auth), X509_V_ERR_CERT_HAS_EXPIRED);
	t = secs_from_now(X509_get0_notAfter(auth));
	assert_true(t < -86400 + 60 && t > -86400 - 60);
	X509_free(auth);
	pki_card_clear(&card);

	o.pc_expired = false;
	o.pc_not_yet_valid = true;
	issue(&o, "future.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(pkidir, auth), X509_V_ERR_CERT_NOT_YET_VALID);
	t = secs_from_now(X509_get0_notBefore(auth));
	assert_true(t > 86400 - 60 && t < 86400 + 60);
	X509_free(auth);
	pki_card_clear(&card);

	o.pc_expired = true;
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("both.p12"), &card, &err), SL_EINVAL);
	assert_null(card.pk_auth_serial);
}

static void
test_foreigner(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	X509 *auth, *sign;

	(void)state;
	o.pc_foreigner = true;
	issue(&o, "foreigner.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(pkidir, auth), 0);
	check_auth_cert(auth, ADULT_RRN, "Foreigner CA", "foreigner-ca");
	assert_non_null(strstr(card.pk_chain_pem, "BEGIN CERTIFICATE"));
	sign = p12_sign_cert("foreigner.p12");
	assert_name_entry(X509_get_issuer_name(sign), NID_commonName, "Foreigner CA");
	X509_free(sign);
	X509_free(auth);
	pki_card_clear(&card);
}

static void
test_kids(void **state)
{
	char young[12], adult2000[12];
	struct pki_card_opts o;
	struct pki_card card;
	struct sl_err err = { 0 };
	X509 *auth;

	(void)state;
	make_rrn(this_year() - 5, 1, 1, 1, young);
	make_rrn(2001, 3, 4, 2, adult2000);
	o = citizen(young);
	o.pc_kids = true;
	issue(&o, "kids.p12", &card);
	assert_null(card.pk_sign_serial); /* a Kids-ID does not sign */
	auth = pem_cert(card.pk_auth_pem);
	assert_name_entry(X509_get_issuer_name(auth), NID_commonName, "Citizen CA");
	assert_int_equal(verify_chain(pkidir, auth), 0);
	X509_free(auth);
	pki_card_clear(&card);

	o.pc_rrn = ADULT_RRN;
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("kids2.p12"), &card, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "under 12"));
	o.pc_rrn = adult2000;
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("kids3.p12"), &card, &err), SL_EINVAL);
	o.pc_rrn = young;
	o.pc_foreigner = true;
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("kids4.p12"), &card, &err), SL_EINVAL);
	assert_int_equal(access(tpath("kids2.p12"), F_OK), -1);

	/* Not a Kids-ID: a number from 2000 on, checked over "2" + nine digits. */
	o = citizen(adult2000);
	issue(&o, "born2001.p12", &card);
	pki_card_clear(&card);
}

static void
test_bad_input(void **state)
{
	static const char *const bad_rrns[] = { "85073003329", "8507300332", "850730033280", "8507300332a", "" };
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_rrns) / sizeof(bad_rrns[0]); i++) {
		o.pc_rrn = bad_rrns[i];
		assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	}
	o.pc_rrn = NULL;
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o = citizen(ADULT_RRN);
	o.pc_pin = "123";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o.pc_pin = "12ab";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o.pc_pin = "1234567890123";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o = citizen(ADULT_RRN);
	o.pc_name = "Madonna";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o.pc_name = "Bad\nName";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o.pc_name = NULL;
	o.pc_given = "Jo";
	o.pc_family = "Abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"; /* 65 bytes */
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	o.pc_given = NULL;
	o.pc_family = NULL;
	o.pc_name = "A Very Long Given Name Indeed And More Names Than Fit Familyname";
	assert_int_equal(pki_card_issue(pkidir, &o, tpath("bad.p12"), &card, &err), SL_EINVAL);
	assert_int_equal(access(tpath("bad.p12"), F_OK), -1);
	assert_int_equal(pki_card_issue(tpath("nopki"),
				 &(struct pki_card_opts){ .pc_name = "A B", .pc_rrn = ADULT_RRN, .pc_pin = PIN },
				 tpath("bad.p12"), &card, &err),
		SL_EIO);
}

static void
test_explicit_names(void **state)
{
	struct pki_card_opts o = {
		.pc_given = "Marie-Hélène", .pc_family = "Van den Bossche", .pc_rrn = ADULT_RRN, .pc_pin = "987654"
	};
	struct pki_card card;
	X509 *auth;

	(void)state;
	issue(&o, "names.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_name_entry(X509_get_subject_name(auth), NID_commonName, "Marie-Hélène Van den Bossche (Authentication)");
	assert_name_entry(X509_get_subject_name(auth), NID_surname, "Van den Bossche");
	assert_name_entry(X509_get_subject_name(auth), NID_givenName, "Marie-Hélène");
	X509_free(auth);
	pki_card_clear(&card);
}

/* PBES2 with AES-256-CBC, as modern NSS and OpenSSL want. */
static void
assert_aes256_shrouded(const PKCS12_SAFEBAG *bag)
{
	const X509_SIG *p8 = PKCS12_SAFEBAG_get0_pkcs8(bag);
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid;
	const void *param;
	int ptype;
	PBE2PARAM *pbe2;

	X509_SIG_get0(p8, &alg, NULL);
	X509_ALGOR_get0(&oid, &ptype, &param, alg);
	assert_int_equal(OBJ_obj2nid(oid), NID_pbes2);
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	assert_non_null(pbe2);
	assert_int_equal(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
	PBE2PARAM_free(pbe2);
}

static void
test_p12_pin(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	PKCS12 *p12;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *auth;
	STACK_OF(X509) *ca = NULL;
	STACK_OF(PKCS7) * safes;
	int nkeys = 0;

	(void)state;
	issue(&o, "pin.p12", &card);
	p12 = p12_load("pin.p12");
	assert_int_equal(PKCS12_verify_mac(p12, "0000", -1), 0);
	assert_int_equal(PKCS12_parse(p12, "0000", &key, &cert, &ca), 0);
	assert_null(key);
	assert_int_equal(PKCS12_parse(p12, PIN, &key, &cert, &ca), 1);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(X509_cmp(cert, auth), 0);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(sk_X509_num(ca), 3); /* signing cert, Citizen CA, root */

	safes = PKCS12_unpack_authsafes(p12);
	for (int i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) * bags;

		if (!PKCS7_type_is_data(p7))
			continue;
		bags = PKCS12_unpack_p7data(p7);
		for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
			assert_int_equal(
				PKCS12_SAFEBAG_get_nid(sk_PKCS12_SAFEBAG_value(bags, j)), NID_pkcs8ShroudedKeyBag);
			assert_aes256_shrouded(sk_PKCS12_SAFEBAG_value(bags, j));
			nkeys++;
		}
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	assert_int_equal(nkeys, 2);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	X509_free(auth);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	pki_card_clear(&card);
}

static void
test_index(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	json_t *index, *certs, *e;
	size_t i;
	int found = 0;

	(void)state;
	o.pc_foreigner = true;
	issue(&o, "index.p12", &card);
	index = json_load_file(ppath(pkidir, "index.json"), 0, NULL);
	assert_non_null(index);
	certs = json_object_get(index, "certs");
	json_array_foreach(certs, i, e)
	{
		const char *serial = json_string_value(json_object_get(e, "serial"));

		if (strcmp(serial, card.pk_auth_serial) != 0 && strcmp(serial, card.pk_sign_serial) != 0)
			continue;
		found++;
		assert_string_equal(json_string_value(json_object_get(e, "ca")), "foreigner");
		assert_string_equal(json_string_value(json_object_get(e, "status")), "good");
		assert_non_null(strstr(json_string_value(json_object_get(e, "subject")), "serialNumber=" ADULT_RRN));
		assert_true(json_integer_value(json_object_get(e, "not_after")) > (json_int_t)time(NULL));
		assert_string_equal(json_string_value(json_object_get(e, "kind")),
			strcmp(serial, card.pk_auth_serial) == 0 ? "authentication" : "signature");
	}
	assert_int_equal(found, 2);
	json_decref(index);
	pki_card_clear(&card);
}

/* ---- OCSP ---- */

static OCSP_RESPONSE *
ocsp_ask_in(const char *dir, OCSP_REQUEST *rq)
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_REQUEST(rq, &der);
	uint8_t *resp = NULL;
	size_t len = 0;
	struct sl_err err = { 0 };
	const unsigned char *p;
	OCSP_RESPONSE *r;

	assert_true(n > 0);
	if (pki_ocsp_respond(dir, der, (size_t)n, VALIDITY, &resp, &len, &err) != SL_OK)
		fail_msg("pki_ocsp_respond: %s", err.msg);
	p = resp;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(r);
	OPENSSL_free(der);
	free(resp);
	return r;
}

static OCSP_RESPONSE *
ocsp_ask(OCSP_REQUEST *rq)
{
	return ocsp_ask_in(pkidir, rq);
}

/* Ask DIR's responder for one certificate (SHA-1 or SHA-256 CertID, with a
 * nonce); the response must verify against DIR/trust.pem, with `extra` as
 * untrusted certificates.  Returns the status. */
static int
ocsp_status_in(const char *dir, STACK_OF(X509) * extra, X509 *cert, X509 *issuer, const EVP_MD *md, int *reason,
	long *revoked_ago)
{
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(md, cert, issuer), *id2 = OCSP_CERTID_dup(id);
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs;
	X509_STORE *st = trust_store(dir);
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status = -1;

	assert_non_null(OCSP_request_add0_id(rq, id));
	assert_int_equal(OCSP_request_add1_nonce(rq, NULL, 16), 1);
	r = ocsp_ask_in(dir, rq);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(r);
	assert_non_null(bs);
	assert_int_equal(OCSP_basic_verify(bs, extra, st, 0), 1);
	assert_int_equal(OCSP_check_nonce(rq, bs), 1);
	assert_int_equal(OCSP_resp_find_status(bs, id2, &status, reason, &rev, &thisupd, &nextupd), 1);
	assert_int_equal(OCSP_check_validity(thisupd, nextupd, 300, -1), 1);
	assert_true(labs(secs_from_now(nextupd) - VALIDITY) < 60);
	if (revoked_ago != NULL)
		*revoked_ago = rev ? -secs_from_now(rev) : -1;
	OCSP_CERTID_free(id2);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	OCSP_REQUEST_free(rq);
	X509_STORE_free(st);
	return status;
}

static int
ocsp_status(X509 *cert, X509 *issuer, const EVP_MD *md, int *reason, long *revoked_ago)
{
	return ocsp_status_in(pkidir, NULL, cert, issuer, md, reason, revoked_ago);
}

static void
test_ocsp_good_revoked(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	struct sl_err err = { 0 };
	X509 *auth, *sign, *ca = file_cert(pkidir, "citizen-ca.pem");
	int reason = -2;
	long ago;
	char lower[64], *p = lower;

	(void)state;
	issue(&o, "ocsp.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	sign = p12_sign_cert("ocsp.p12");
	assert_int_equal(ocsp_status(auth, ca, NULL, &reason, NULL), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(ocsp_status(auth, ca, EVP_sha256(), &reason, NULL), V_OCSP_CERTSTATUS_GOOD);

	/* Revoke by the serial typed in lower case with colons. */
	for (const char *s = card.pk_auth_serial; *s != '\0'; s += 2) {
		p += sprintf(p, "%s%c%c", s == card.pk_auth_serial ? "" : ":", s[0] | 0x20, s[1] | 0x20);
	}
	assert_int_equal(pki_revoke(pkidir, lower, &err), SL_OK);
	assert_int_equal(pki_revoke(pkidir, card.pk_auth_serial, &err), SL_ECONFLICT);
	assert_int_equal(pki_revoke(pkidir, "0123456789ABCDEF", &err), SL_ENOTFOUND);
	assert_int_equal(pki_revoke(pkidir, "xyz", &err), SL_EINVAL);
	assert_int_equal(ocsp_status(auth, ca, NULL, &reason, &ago), V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_true(ago >= 0 && ago < 60);
	assert_int_equal(ocsp_status(sign, ca, NULL, &reason, NULL), V_OCSP_CERTSTATUS_GOOD);
	X509_free(sign);
	X509_free(auth);
	X509_free(ca);
	pki_card_clear(&card);
}

static void
test_ocsp_unknown_and_foreigner(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	X509 *auth, *ca = file_cert(pkidir, "citizen-ca.pem"), *fca = file_cert(pkidir, "foreigner-ca.pem");
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_CERTID *id;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs;
	X509_STORE *st = trust_store(pkidir);
	int status = -1, reason;

	(void)state;
	o.pc_foreigner = true;
	issue(&o, "ocspf.p12", &card);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(ocsp_status(auth, fca, NULL, &reason, NULL), V_OCSP_CERTSTATUS_GOOD);

	/* A serial the index does not hold, under a CA of ours: unknown. */
	ASN1_INTEGER_set_int64(serial, 424242);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial);
	assert_non_null(OCSP_request_add0_id(rq, OCSP_CERTID_dup(id)));
	r = ocsp_ask(rq);
	bs = OCSP_response_get1_basic(r);
	assert_non_null(bs);
	assert_int_equal(OCSP_basic_verify(bs, NULL, st, 0), 1);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, NULL, NULL, NULL, NULL), 1);
	assert_int_equal(status, V_OCSP_CERTSTATUS_UNKNOWN);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(rq);
	X509_STORE_free(st);
	ASN1_INTEGER_free(serial);
	X509_free(auth);
	X509_free(ca);
	X509_free(fca);
	pki_card_clear(&card);
}

static void
test_ocsp_unauthorized(void **state)
{
	X509 *root = file_cert(pkidir, "root.pem"), *ca = file_cert(pkidir, "citizen-ca.pem");
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	OCSP_RESPONSE *r;

	(void)state;
	/* The root issued the CA certificate; no responder here speaks for it. */
	assert_non_null(OCSP_request_add0_id(rq, OCSP_cert_to_id(NULL, ca, root)));
	r = ocsp_ask(rq);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OCSP_RESPONSE_free(r);
	OCSP_REQUEST_free(rq);
	X509_free(root);
	X509_free(ca);
}

static void
assert_malformed(const uint8_t *req, size_t len)
{
	uint8_t *resp = NULL;
	size_t rlen = 0;
	struct sl_err err = { 0 };
	const unsigned char *p;
	OCSP_RESPONSE *r;

	assert_int_equal(pki_ocsp_respond(pkidir, req, len, VALIDITY, &resp, &rlen, &err), SL_OK);
	p = resp;
	r = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
	assert_non_null(r);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	OCSP_RESPONSE_free(r);
	free(resp);
}

static void
test_ocsp_malformed(void **state)
{
	X509 *root = file_cert(pkidir, "root.pem"), *ca = file_cert(pkidir, "citizen-ca.pem");
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	unsigned char *der = NULL, *big;
	uint8_t garbage[64];
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	assert_malformed(garbage, sizeof(garbage));
	assert_malformed((const uint8_t *)"", 0);
	assert_malformed(NULL, 0);
	assert_malformed((const uint8_t *)"\x30\x00", 2); /* no CertID */

	assert_non_null(OCSP_request_add0_id(rq, OCSP_cert_to_id(NULL, ca, root)));
	n = i2d_OCSP_REQUEST(rq, &der);
	assert_true(n > 10);
	for (int cut = 1; cut < n; cut++)
		assert_malformed(der, (size_t)cut); /* every truncation */
	big = malloc((size_t)n + 1);
	memcpy(big, der, (size_t)n);
	big[n] = 0;
	assert_malformed(big, (size_t)n + 1); /* trailing byte */
	free(big);
	OPENSSL_free(der);
	OCSP_REQUEST_free(rq);
	X509_free(root);
	X509_free(ca);
}

/* 64 CertIDs in one request are answered, 65 are malformed; the validity
 * of a response is checked. */
static void
test_ocsp_limits(void **state)
{
	X509 *ca = file_cert(pkidir, "citizen-ca.pem");
	OCSP_REQUEST *rq = OCSP_REQUEST_new();
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	OCSP_RESPONSE *r;
	unsigned char *der = NULL;
	uint8_t *resp = NULL;
	size_t rlen = 0;
	struct sl_err err = { 0 };
	int n;

	(void)state;
	for (int i = 1; i <= 64; i++) {
		ASN1_INTEGER_set_int64(serial, i);
		assert_non_null(OCSP_request_add0_id(rq,
			OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial)));
	}
	r = ocsp_ask(rq);
	assert_int_equal(OCSP_response_status(r), OCSP_RESPONSE_STATUS_SUCCESSFUL);
	OCSP_RESPONSE_free(r);
	assert_non_null(OCSP_request_add0_id(
		rq, OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial)));
	n = i2d_OCSP_REQUEST(rq, &der);
	assert_true(n > 0);
	assert_malformed(der, (size_t)n);
	assert_int_equal(pki_ocsp_respond(pkidir, der, (size_t)n, 0, &resp, &rlen, &err), SL_EINVAL);
	assert_null(resp);
	OPENSSL_free(der);
	ASN1_INTEGER_free(serial);
	OCSP_REQUEST_free(rq);
	X509_free(ca);
}

/* ---- CRL ---- */

static void
test_crl(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	struct sl_err err = { 0 };
	X509 *ca = file_cert(pkidir, "citizen-ca.pem"), *auth, *sign;
	X509_REVOKED *rev = NULL;
	X509_CRL *crl;
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	ASN1_ENUMERATED *code;

	(void)state;
	issue(&o, "crl.p12", &card);
	assert_int_equal(pki_revoke(pkidir, card.pk_sign_serial, &err), SL_OK);
	auth = pem_cert(card.pk_auth_pem);
	sign = p12_sign_cert("crl.p12");
	assert_int_equal(pki_crl(pkidir, "citizen", 86400, &der, &len, &err), SL_OK);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)), 0);
	assert_true(labs(secs_from_now(X509_CRL_get0_lastUpdate(crl))) < 60);
	assert_true(labs(secs_from_now(X509_CRL_get0_nextUpdate(crl)) - 86400) < 60);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(sign)), 1);
	code = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	assert_non_null(code);
	assert_int_equal(ASN1_ENUMERATED_get(code), CRL_REASON_KEY_COMPROMISE);
	ASN1_ENUMERATED_free(code);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(auth)), 0);
	X509_CRL_free(crl);
	free(der);

	/* The Foreigner CA's CRL holds only its own revocations. */
	assert_int_equal(pki_crl(pkidir, "foreigner", 86400, &der, &len, &err), SL_OK);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(sign)), 0);
	X509_CRL_free(crl);
	free(der);
	assert_int_equal(pki_crl(pkidir, "root", 86400, &der, &len, &err), SL_EINVAL);
	assert_int_equal(pki_crl(pkidir, "citizen", 0, &der, &len, &err), SL_EINVAL);
	X509_free(sign);
	X509_free(auth);
	X509_free(ca);
	pki_card_clear(&card);
}

static void
test_crl_base(void **state)
{
	char dir[600];
	struct sl_err err = { 0 };
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	STACK_OF(DIST_POINT) * cdp;
	GENERAL_NAME *gn;
	char *issuers;
	X509 *auth;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pki-crl", tmpdir);
	assert_int_equal(pki_init(dir, "http://ocsp.example/eid", "http://crl.example/eid/", &err), SL_OK);
	assert_int_equal(pki_card_issue(dir, &o, tpath("cdp.p12"), &card, &err), SL_OK);
	auth = pem_cert(card.pk_auth_pem);
	assert_int_equal(verify_chain(dir, auth), 0);
	cdp = X509_get_ext_d2i(auth, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(cdp);
	gn = sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0);
	assert_string_equal((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		"http://crl.example/eid/citizen.crl");
	issuers = aia_uri(auth, NID_ad_ca_issuers);
	assert_string_equal(issuers, "http://crl.example/eid/citizen-ca.crt");
	free(issuers);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	X509_free(auth);
	pki_card_clear(&card);
}

/* ---- PKCS#11 ---- */

/* Run a tool, its output into `out`; exit status, or -1 when it is not
 * installed. */
static int
run(char *const argv[], char *out, size_t size)
{
	int fds[2], status = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? (WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status)) : -2;
}

static void
need_tool(const char *tool, const char *arg, const char *package)
{
	char *argv[] = { (char *)tool, (char *)arg, NULL };
	char out[4096];

	if (run(argv, out, sizeof(out)) == -1)
		fail_msg("%s is missing: install the Debian package %s", tool, package);
}

/* A PKCS#12 with more certificates than a card holds: token.p12's key and
 * certificate with four CA certificates (PKCS12_create). */
static const char *
crowded_p12(void)
{
	static const char *const cas[] = { "citizen-ca.pem", "root.pem", "foreigner-ca.pem", "root.pem" };
	PKCS12 *p12 = p12_load("token.p12"), *out;
	STACK_OF(X509) *ca = sk_X509_new_null();
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	FILE *fp;

	assert_int_equal(PKCS12_parse(p12, PIN, &key, &cert, NULL), 1);
	for (size_t i = 0; i < sizeof(cas) / sizeof(cas[0]); i++)
		assert_true(sk_X509_push(ca, file_cert(pkidir, cas[i])) > 0);
	out = PKCS12_create_ex(PIN, "Demo Citizen (Authentication)", key, cert, ca, NID_aes_256_cbc, NID_aes_256_cbc, 0,
		0, 0, NULL, NULL);
	assert_non_null(out);
	fp = fopen(tpath("crowded.p12"), "wb");
	assert_non_null(fp);
	assert_int_equal(i2d_PKCS12_fp(fp, out), 1);
	fclose(fp);
	PKCS12_free(out);
	PKCS12_free(p12);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	return tpath("crowded.p12");
}

static void
test_pkcs11(void **state)
{
	struct pki_card_opts o = citizen(ADULT_RRN);
	struct pki_card card;
	struct sl_err err = { 0 };
	char conf[600], tokens[600], text[1024], out[16384];
	char *ls[] = { "ls", "-A", pkidir, NULL };
	char *list[] = { "pkcs11-tool", "--module", "/usr/lib/softhsm/libsofthsm2.so", "--token-label", "demo card",
		"--login", "--pin", PIN, "--list-objects", NULL };

	(void)state;
	need_tool("softhsm2-util", "--version", "softhsm2");
	need_tool("pkcs11-tool", "--help", "opensc");
	if (access("/usr/lib/softhsm/libsofthsm2.so", R_OK) != 0)
		fail_msg("/usr/lib/softhsm/libsofthsm2.so is missing: install the Debian package softhsm2");
	snprintf(tokens, sizeof(tokens), "%s/tokens", tmpdir);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", tmpdir);
	assert_int_equal(mkdir(tokens, 0700), 0);
	snprintf(text, sizeof(text), "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
		tokens);
	assert_int_equal(sl_file_write(conf, text, strlen(text), 0600, &err), SL_OK);
	assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);

	issue(&o, "token.p12", &card);
	assert_int_equal(pki_card_to_pkcs11(pkidir, tpath("token.p12"), "0000", "demo card", NULL, &err), SL_EDENIED);
	if (pki_card_to_pkcs11(pkidir, tpath("token.p12"), PIN, "demo card", "87654321", &err) != SL_OK)
		fail_msg("pki_card_to_pkcs11: %s", err.msg);
	assert_int_equal(run(list, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "Private Key Object; EC"));
	assert_non_null(strstr(out, "label:      Authentication"));
	assert_non_null(strstr(out, "label:      Signature"));
	assert_non_null(strstr(out, "label:      CA"));
	assert_non_null(strstr(out, card.pk_auth_serial));
	assert_non_null(strstr(out, card.pk_sign_serial));
	assert_non_null(strstr(out, "ID:         02"));
	assert_non_null(strstr(out, "ID:         03"));
	/* A second card into the same token is refused, and no key file is left. */
	assert_int_equal(pki_card_to_pkcs11(pkidir, tpath("token.p12"), PIN, "demo card", NULL, &err), SL_ECONFLICT);
	assert_int_equal(pki_card_to_pkcs11(pkidir, tpath("token.p12"), PIN, "", NULL, &err), SL_EINVAL);
	assert_int_equal(
		pki_card_to_pkcs11(pkidir, tpath("token.p12"), PIN, "123456789012345678901234567890123", NULL, &err),
		SL_EINVAL); /* 33 characters: more than a PKCS#11 label holds */
	assert_int_equal(pki_card_to_pkcs11(pkidir, tpath("nothing.p12"), PIN, "x", NULL, &err), SL_EIO);
	assert_int_equal(pki_card_to_pkcs11(pkidir, crowded_p12(), PIN, "crowded", NULL, &err), SL_ETOOBIG);
	assert_int_equal(run(ls, out, sizeof(out)), 0);
	assert_null(strstr(out, ".pkcs11"));
	pki_card_clear(&card);
}

/* ---- Smart-ID ---- */

#define SID_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#define EKU_SMARTID_AUTH "1.3.6.1.4.1.62306.5.7.0"
#define POLICY_DEMO "2.999.17.2"
#define POLICY_NCP_PLUS "0.4.0.2042.1.2"
#define POLICY_QCP_N_QSCD "0.4.0.194112.1.2"

static EVP_PKEY *
sid_key(int i)
{
	static const size_t bits[] = { 6144, 2048, 2048 };

	if (sid_keys[i] == NULL)
		sid_keys[i] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits[i]);
	assert_non_null(sid_keys[i]);
	return sid_keys[i];
}

static struct pki_smartid_opts
sid_opts(EVP_PKEY *auth, EVP_PKEY *sign)
{
	return (struct pki_smartid_opts){
		.so_name = "Demo Citizen", .so_rrn = ADULT_RRN, .so_auth_pub = auth, .so_sign_pub = sign
	};
}

static void
sid_issue(const char *dir, const struct pki_smartid_opts *o, struct pki_smartid *sm)
{
	struct sl_err err = { 0 };

	if (pki_smartid_issue(dir, o, sm, &err) != SL_OK)
		fail_msg("pki_smartid_issue: %s", err.msg);
}

/* PNOBE-<rrn>-XXXX-Q with X from the unambiguous alphabet, checked here
 * independently of the library. */
static bool
doc_shape(const char *doc, const char *rrn)
{
	char want[32];

	snprintf(want, sizeof(want), "PNOBE-%s-", rrn);
	if (strlen(doc) != 24 || strncmp(doc, want, 18) != 0 || strcmp(doc + 22, "-Q") != 0)
		return false;
	return strspn(doc + 18, SID_ALPHABET) >= 4;
}

/* The chain to root.pem with the Smart-ID CA as the one intermediate. */
static int
verify_smartid(const char *dir, X509 *cert)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int rc;

	assert_int_equal(X509_STORE_load_file(st, ppath(dir, "root.pem")), 1);
	assert_true(sk_X509_push(untrusted, file_cert(dir, "smartid-ca.pem")) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, cert, untrusted), 1);
	rc = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(st);
	return rc;
}

/* Whether certificatePolicies or extendedKeyUsage (`nid`) holds `oid`. */
static bool
has_oid(X509 *cert, int nid, const char *oid)
{
	bool policies = nid == NID_certificate_policies, found = false;
	void *ext = X509_get_ext_d2i(cert, nid, NULL, NULL);
	int n = policies ? sk_POLICYINFO_num(ext) : sk_ASN1_OBJECT_num(ext);
	char buf[64];

	for (int i = 0; i < n; i++) {
		OBJ_obj2txt(buf, sizeof(buf),
			policies ? sk_POLICYINFO_value(ext, i)->policyid : sk_ASN1_OBJECT_value(ext, i), 1);
		found = found || strcmp(buf, oid) == 0;
	}
	if (policies)
		sk_POLICYINFO_pop_free(ext, POLICYINFO_free);
	else
		sk_ASN1_OBJECT_pop_free(ext, ASN1_OBJECT_free);
	return found;
}

static bool
has_policy(X509 *cert, const char *oid)
{
	return has_oid(cert, NID_certificate_policies, oid);
}

static bool
has_eku(X509 *cert, const char *oid)
{
	return has_oid(cert, NID_ext_key_usage, oid);
}

static size_t
index_count(const char *dir)
{
	json_error_t jerr;
	json_t *index = json_load_file(ppath(dir, "index.json"), 0, &jerr);
	size_t n;

	assert_non_null(index);
	n = json_array_size(json_object_get(index, "certs"));
	json_decref(index);
	return n;
}

/* The index entry of `serial`, checked: CA, kind, status, document. */
static void
assert_sid_entry(const char *dir, const char *serial, const char *kind, const char *doc)
{
	json_error_t jerr;
	json_t *index = json_load_file(ppath(dir, "index.json"), 0, &jerr), *e;
	size_t i;
	int found = 0;

	assert_non_null(index);
	json_array_foreach(json_object_get(index, "certs"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "serial")), serial) != 0)
			continue;
		found++;
		assert_string_equal(json_string_value(json_object_get(e, "ca")), "smartid");
		assert_string_equal(json_string_value(json_object_get(e, "kind")), kind);
		assert_string_equal(json_string_value(json_object_get(e, "status")), "good");
		assert_string_equal(json_string_value(json_object_get(e, "document_number")), doc);
	}
	assert_int_equal(found, 1);
	json_decref(index);
}

static void
assert_sid_subject(X509 *cert)
{
	const X509_NAME *subj = X509_get_subject_name(cert);

	assert_name_entry(subj, NID_countryName, "BE");
	assert_name_entry(subj, NID_commonName, "Citizen,Demo," ADULT_RRN);
	assert_name_entry(subj, NID_surname, "Citizen");
	assert_name_entry(subj, NID_givenName, "Demo");
	assert_name_entry(subj, NID_serialNumber, "PNOBE-" ADULT_RRN);
	assert_name_entry(X509_get_issuer_name(cert), NID_commonName, "Smart-ID CA");
	assert_int_equal(X509_NAME_entry_count(subj), 5);
	/* three years, as Smart-ID certificates */
	assert_true(labs(secs_from_now(X509_get0_notAfter(cert)) - 3L * 365 * 86400) < 3L * 86400);
}

static void
test_smartid_certs(void **state)
{
	struct pki_smartid_opts o = sid_opts(sid_key(0), sid_key(1));
	struct pki_smartid sm;
	X509 *auth, *sign, *ca = file_cert(pkidir, "smartid-ca.pem");
	char *ocsp, *issuers;
	BIO *bio;
	X509 *c1, *c2;

	(void)state;
	sid_issue(pkidir, &o, &sm);
	assert_true(doc_shape(sm.sm_document, ADULT_RRN));
	auth = pem_cert(sm.sm_auth_pem);
	sign = pem_cert(sm.sm_sign_pem);
	assert_sid_subject(auth);
	assert_sid_subject(sign);

	/* Authentication: digitalSignature, the Smart-ID EKU and not TLS clientAuth, NCP+. */
	assert_int_equal(X509_get_key_usage(auth), KU_DIGITAL_SIGNATURE);
	assert_true(ext_critical(auth, NID_key_usage));
	assert_true(has_eku(auth, EKU_SMARTID_AUTH));
	assert_false(X509_get_extended_key_usage(auth) & XKU_SSL_CLIENT);
	assert_true(has_policy(auth, POLICY_DEMO) && has_policy(auth, POLICY_NCP_PLUS));
	assert_false(has_policy(auth, POLICY_QCP_N_QSCD));
	/* Signing: nonRepudiation alone, no EKU, QCP-n-qscd. */
	assert_int_equal(X509_get_key_usage(sign), KU_NON_REPUDIATION);
	assert_true(ext_critical(sign, NID_key_usage));
	assert_true(X509_get_ext_by_NID(sign, NID_ext_key_usage, -1) < 0);
	assert_true(has_policy(sign, POLICY_DEMO) && has_policy(sign, POLICY_QCP_N_QSCD));
	assert_false(has_policy(sign, POLICY_NCP_PLUS));

	/* The keys are the caller's: a 6144-bit composite size and RSA 2048. */
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(auth)), 6144);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(auth), sid_key(0)), 1);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(sign)), 2048);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(sign), sid_key(1)), 1);

	ocsp = aia_uri(auth, NID_ad_OCSP);
	issuers = aia_uri(sign, NID_ad_ca_issuers);
	assert_string_equal(ocsp, OCSP_URL);
	assert_string_equal(issuers, "http://127.0.0.1:8889/smartid-ca.crt");
	free(ocsp);
	free(issuers);

	/* The chain: Smart-ID CA then root; it verifies to the root, but the
	 * eID trust set (trust.pem) does not hold the Smart-ID CA. */
	assert_int_equal(verify_smartid(pkidir, auth), 0);
	assert_int_equal(verify_smartid(pkidir, sign), 0);
	assert_int_equal(verify_chain(pkidir, auth), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	bio = BIO_new_mem_buf(sm.sm_chain_pem, -1);
	c1 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	c2 = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(c2);
	assert_int_equal(X509_cmp(c1, ca), 0);
	assert_name_entry(X509_get_subject_name(c2), NID_commonName, "sleutel demo Belgium Root CA");
	assert_int_equal(X509_check_issued(ca, auth), X509_V_OK);

	assert_sid_entry(pkidir, sm.sm_auth_serial, "authentication", sm.sm_document);
	assert_sid_entry(pkidir, sm.sm_sign_serial, "signature", sm.sm_document);
	X509_free(c1);
	X509_free(c2);
	BIO_free(bio);
	X509_free(auth);
	X509_free(sign);
	X509_free(ca);
	pki_smartid_clear(&sm);
}

static void
test_smartid_documents(void **state)
{
	static const char *const bad[] = { "PNOBE-" ADULT_RRN "-ABC0-Q", "PNOBE-" ADULT_RRN "-ABCO-Q",
		"PNOBE-" ADULT_RRN "-abcd-Q", "PNOBE-" ADULT_RRN "-ABCDE-Q", "PNOBE-" ADULT_RRN "-ABCD-Q ",
		"PNOBE-" ADULT_RRN "-ABCD-N", "PNOEE-" ADULT_RRN "-ABCD-Q", "PNOBE-85073003409-ABCD-Q", "" };
	struct pki_smartid_opts o = sid_opts(sid_key(1), sid_key(2));
	struct pki_smartid sm[8], given;
	struct sl_err err = { 0 };
	size_t n;

	(void)state;
	/* Drawn: one per device, each of the shape, all different. */
	for (int i = 0; i < 8; i++) {
		sid_issue(pkidir, &o, &sm[i]);
		assert_true(doc_shape(sm[i].sm_document, ADULT_RRN));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(sm[i].sm_document, sm[j].sm_document);
	}
	/* Given: taken as is, once. */
	o.so_document = "PNOBE-" ADULT_RRN "-Z2B9-Q";
	sid_issue(pkidir, &o, &given);
	assert_string_equal(given.sm_document, o.so_document);
	assert_sid_entry(pkidir, given.sm_sign_serial, "signature", o.so_document);
	pki_smartid_clear(&given); /* the failed issues below start from an empty result */
	n = index_count(pkidir);
	assert_int_equal(pki_smartid_issue(pkidir, &o, &given, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "already issued"));
	assert_null(given.sm_document);
	o.so_document = sm[3].sm_document;
	assert_int_equal(pki_smartid_issue(pkidir, &o, &given, &err), SL_ECONFLICT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.so_document = bad[i];
		assert_int_equal(pki_smartid_issue(pkidir, &o, &given, &err), SL_EINVAL);
	}
	assert_int_equal(index_count(pkidir), n);
	for (int i = 0; i < 8; i++)
		pki_smartid_clear(&sm[i]);
}

static void
test_smartid_bad_input(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	struct pki_smartid_opts o;
	struct pki_smartid sm;
	struct sl_err err = { 0 };
	size_t n = index_count(pkidir);

	(void)state;
	assert_non_null(ec);
	assert_non_null(small);
	o = sid_opts(ec, sid_key(1));
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "authentication key is EC; Smart-ID keys are RSA"));
	o = sid_opts(sid_key(1), ec);
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "signing key is EC"));
	o = sid_opts(small, sid_key(1));
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "1024 bits; 2048 to 8192"));
	o = sid_opts(sid_key(1), sid_key(1));
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "must differ"));
	o = sid_opts(NULL, sid_key(1));
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	o = sid_opts(sid_key(1), sid_key(2));
	o.so_rrn = "85073003329";
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	o.so_rrn = ADULT_RRN;
	o.so_name = "Mononym";
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	o.so_name = NULL;
	o.so_given = "A very long given name that with the family name does not fit";
	o.so_family = "in the sixty-four characters of a CN";
	assert_int_equal(pki_smartid_issue(pkidir, &o, &sm, &err), SL_EINVAL);
	assert_null(sm.sm_auth_pem);
	assert_int_equal(index_count(pkidir), n);
	/* RSA 2048 for both keys is accepted. */
	o = sid_opts(sid_key(1), sid_key(2));
	sid_issue(pkidir, &o, &sm);
	assert_int_equal(index_count(pkidir), n + 2);
	pki_smartid_clear(&sm);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
}

static void
test_smartid_ocsp_crl(void **state)
{
	struct pki_smartid_opts o = sid_opts(sid_key(1), sid_key(2));
	struct pki_smartid sm;
	struct sl_err err = { 0 };
	X509 *auth, *sign, *ca = file_cert(pkidir, "smartid-ca.pem");
	STACK_OF(X509) *extra = sk_X509_new_null();
	X509_REVOKED *rev = NULL;
	X509_CRL *crl;
	uint8_t *der = NULL;
	size_t len = 0;
	const unsigned char *p;
	int reason = -2;
	long ago;

	(void)state;
	X509_up_ref(ca);
	assert_true(sk_X509_push(extra, ca) > 0);
	sid_issue(pkidir, &o, &sm);
	auth = pem_cert(sm.sm_auth_pem);
	sign = pem_cert(sm.sm_sign_pem);
	assert_int_equal(ocsp_status_in(pkidir, extra, auth, ca, NULL, &reason, NULL), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(ocsp_status_in(pkidir, extra, sign, ca, EVP_sha256(), &reason, NULL), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(pki_revoke(pkidir, sm.sm_auth_serial, &err), SL_OK);
	assert_int_equal(ocsp_status_in(pkidir, extra, auth, ca, NULL, &reason, &ago), V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
	assert_true(ago >= 0 && ago < 60);
	assert_int_equal(ocsp_status_in(pkidir, extra, sign, ca, NULL, &reason, NULL), V_OCSP_CERTSTATUS_GOOD);

	assert_int_equal(pki_crl(pkidir, "smartid", 86400, &der, &len, &err), SL_OK);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(auth)), 1);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(sign)), 0);
	X509_CRL_free(crl);
	free(der);
	/* The Citizen CA's CRL does not list it. */
	assert_int_equal(pki_crl(pkidir, "citizen", 86400, &der, &len, &err), SL_OK);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(auth)), 0);
	X509_CRL_free(crl);
	free(der);
	sk_X509_pop_free(extra, X509_free);
	X509_free(auth);
	X509_free(sign);
	X509_free(ca);
	pki_smartid_clear(&sm);
}

/* A PKI made before the Smart-ID CA: OCSP and cards work as before, its
 * CRL is "not found", and the first Smart-ID certificates make the CA. */
static void
test_smartid_older_pki(void **state)
{
	static const char *const files[] = { "smartid-ca.pem", "smartid-ca.key", "smartid-ocsp.pem",
		"smartid-ocsp.key" };
	char dir[400], *trust_before = NULL, *trust_after = NULL;
	struct pki_card_opts co = citizen(ADULT_RRN);
	struct pki_smartid_opts o = sid_opts(sid_key(1), sid_key(2));
	struct pki_card card;
	struct pki_smartid sm;
	struct sl_err err = { 0 };
	STACK_OF(X509) * extra;
	X509 *auth, *ca;
	uint8_t *der = NULL;
	size_t len = 0;
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pki-old", tmpdir);
	assert_int_equal(pki_init(dir, OCSP_URL, NULL, &err), SL_OK);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_int_equal(unlink(ppath(dir, files[i])), 0);
	assert_int_equal(sl_file_read(ppath(dir, "trust.pem"), 1 << 20, &trust_before, NULL, &err), SL_OK);

	assert_int_equal(pki_card_issue(dir, &co, tpath("old.p12"), &card, &err), SL_OK);
	auth = pem_cert(card.pk_auth_pem);
	ca = file_cert(dir, "citizen-ca.pem");
	assert_int_equal(ocsp_status_in(dir, NULL, auth, ca, NULL, NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
	X509_free(auth);
	X509_free(ca);
	assert_int_equal(pki_crl(dir, "smartid", 86400, &der, &len, &err), SL_ENOTFOUND);
	assert_null(der);

	sid_issue(dir, &o, &sm);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(stat(ppath(dir, files[i]), &st), 0);
		if (strstr(files[i], ".key") != NULL)
			assert_int_equal(st.st_mode & 077, 0);
	}
	auth = pem_cert(sm.sm_auth_pem);
	ca = file_cert(dir, "smartid-ca.pem");
	assert_int_equal(verify_smartid(dir, auth), 0);
	extra = sk_X509_new_null();
	X509_up_ref(ca);
	assert_true(sk_X509_push(extra, ca) > 0);
	assert_int_equal(ocsp_status_in(dir, extra, auth, ca, NULL, NULL, NULL), V_OCSP_CERTSTATUS_GOOD);
	assert_int_equal(pki_crl(dir, "smartid", 86400, &der, &len, &err), SL_OK);
	/* The eID trust set is left alone. */
	assert_int_equal(sl_file_read(ppath(dir, "trust.pem"), 1 << 20, &trust_after, NULL, &err), SL_OK);
	assert_string_equal(trust_before, trust_after);
	free(der);
	free(trust_before);
	free(trust_after);
	sk_X509_pop_free(extra, X509_free);
	X509_free(auth);
	X509_free(ca);
	pki_card_clear(&card);
	pki_smartid_clear(&sm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_files_and_twice),
		cmocka_unit_test(test_ocsp_signers),
		cmocka_unit_test(test_citizen_ec),
		cmocka_unit_test(test_citizen_rsa),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_foreigner),
		cmocka_unit_test(test_kids),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_explicit_names),
		cmocka_unit_test(test_p12_pin),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_ocsp_good_revoked),
		cmocka_unit_test(test_ocsp_unknown_and_foreigner),
		cmocka_unit_test(test_ocsp_unauthorized),
		cmocka_unit_test(test_ocsp_malformed),
		cmocka_unit_test(test_ocsp_limits),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_crl_base),
		cmocka_unit_test(test_pkcs11),
		cmocka_unit_test(test_smartid_certs),
		cmocka_unit_test(test_smartid_documents),
		cmocka_unit_test(test_smartid_bad_input),
		cmocka_unit_test(test_smartid_ocsp_crl),
		cmocka_unit_test(test_smartid_older_pki),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
