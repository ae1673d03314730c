/*
 * test_holder_pki.c — what the Smart-ID CA in the key holder signs
 * (src/keyholder/hold_pki_profile.c): a Smart-ID device's authentication
 * and signing certificates as src/pki/smartid.c makes them, issued here
 * through the key holder as sleuteld issues them; and each shape a
 * compromised sleuteld could ask for instead, refused: a CA (or any
 * basicConstraints), a long or backdated validity, an OCSP-signing or other
 * extended key usage, another issuer, another key usage, an extension the
 * profile lacks, a subject that is no Smart-ID account's, a key that is not
 * RSA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../src/config/config.h"
#include "../../src/keyholder/holder_int.h"
#include "../../src/pki/pki.h"
#include "kh_util.h"

static uint8_t out[KH_PAYLOAD_MAX], req[KH_PAYLOAD_MAX];

static struct {
	char dir[64], pki[96];
	struct sl_config conf;
	struct holder ho;
	X509 *ca, *auth, *sign;
} g;

/* struct pki_signer's ps_sign over the key holder, as sleuteld's. */
static int
holder_sign(void *arg, const char *base, int kind, const uint8_t *tbs, size_t len, uint8_t **sig, size_t *siglen,
	struct sl_err *err)
{
	size_t n = 0;
	int rc;

	(void)err;
	req[0] = (uint8_t)kind;
	memcpy(req + 1, tbs, len);
	rc = kh_test_call(arg, KH_OP_PKI_SIGN, base, req, len + 1, out, &n);
	if (rc != SL_OK)
		return rc;
	*sig = malloc(n);
	memcpy(*sig, out, n);
	*siglen = n;
	return SL_OK;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

/* A PKI, and one device's certificates issued through the key holder. */
static int
group_setup(void **state)
{
	const struct pki_signer signer = { holder_sign, &g.ho, NULL };
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *s = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct pki_smartid_opts o = { .so_given = "Demo",
		.so_family = "Citizen",
		.so_rrn = "85073003328",
		.so_auth_pub = a,
		.so_sign_pub = s,
		.so_signer = &signer };
	struct pki_smartid sm = { 0 };
	struct sl_err err = { 0 };
	char path[160];
	FILE *fp;

	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/kh-pki-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	snprintf(g.pki, sizeof(g.pki), "%s/pki", g.dir);
	assert_int_equal(pki_init(g.pki, "http://127.0.0.1:1/ocsp", "http://127.0.0.1:1/crl", &err), SL_OK);
	g.conf.c_pki_dir = g.pki;
	g.ho.ho_conf = &g.conf;
	if (pki_smartid_issue(g.pki, &o, &sm, &err) != SL_OK)
		fail_msg("%s", err.msg);
	g.auth = pem_cert(sm.sm_auth_pem);
	g.sign = pem_cert(sm.sm_sign_pem);
	snprintf(path, sizeof(path), "%s/smartid-ca.pem", g.pki);
	assert_non_null(fp = fopen(path, "r"));
	g.ca = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(g.ca);
	pki_smartid_clear(&sm);
	EVP_PKEY_free(a);
	EVP_PKEY_free(s);
	return 0;
}

static int
rm_pki(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd);
}

static int
group_teardown(void **state)
{
	(void)state;
	hold_pki_clear(&g.ho);
	X509_free(g.ca);
	X509_free(g.auth);
	X509_free(g.sign);
	return rm_pki(g.dir);
}

/* x's to-be-signed part signed by the Smart-ID CA in the key holder. */
static int
sign_tbs(X509 *x)
{
	unsigned char *p = NULL;
	int n = i2d_re_X509_tbs(x, &p);
	size_t outlen = 0;
	int rc;

	assert_true(n > 0 && n < KH_PAYLOAD_MAX - 1);
	req[0] = KH_PKI_CERT;
	memcpy(req + 1, p, (size_t)n);
	OPENSSL_free(p);
	rc = kh_test_call(&g.ho, KH_OP_PKI_SIGN, "smartid-ca", req, (size_t)n + 1, out, &outlen);
	X509_free(x);
	return rc;
}

/* Replace (or, value NULL, remove) x's extension nid. */
static void
set_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int i;

	while ((i = X509_get_ext_by_NID(x, nid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, i));
	if (value == NULL)
		return;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, g.ca, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static void
test_profile_signed(void **state)
{
	(void)state;
	/* What sleuteld issues was signed (group_setup) and verifies. */
	assert_int_equal(X509_verify(g.auth, X509_get0_pubkey(g.ca)), 1);
	assert_int_equal(X509_verify(g.sign, X509_get0_pubkey(g.ca)), 1);
	assert_int_equal(sign_tbs(X509_dup(g.auth)), SL_OK);
	assert_int_equal(sign_tbs(X509_dup(g.sign)), SL_OK);
}

static void
test_refuses_ca(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	set_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	set_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	set_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_basic_constraints_false(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	set_ext(x, NID_basic_constraints, "critical,CA:FALSE");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_long_validity(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 10 * 365, 0, NULL));
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 3 * 365 + 3, 0, NULL));
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_backdated(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -365, 0, NULL));
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	/* Ends before it begins. */
	x = X509_dup(g.auth);
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, -3600 * 3, NULL));
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_ocsp_signing(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	set_ext(x, NID_ext_key_usage, "OCSPSigning");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.auth);
	set_ext(x, NID_ext_key_usage, "1.3.6.1.4.1.62306.5.7.0,OCSPSigning");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	set_ext(x, NID_key_usage, "critical,digitalSignature");
	set_ext(x, NID_ext_key_usage, "OCSPSigning");
	set_ext(x, NID_id_pkix_OCSP_noCheck, "ignored");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_eku(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	set_ext(x, NID_ext_key_usage, "clientAuth");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.auth);
	set_ext(x, NID_ext_key_usage, NULL);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	set_ext(x, NID_ext_key_usage, "serverAuth");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_issuer(void **state)
{
	X509 *x = X509_dup(g.auth);
	X509_NAME *n = X509_NAME_new();

	(void)state;
	assert_int_equal(
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Citizen CA", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, n), 1);
	X509_NAME_free(n);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_key_usage(void **state)
{
	X509 *x = X509_dup(g.sign);

	(void)state;
	set_ext(x, NID_key_usage, "critical,nonRepudiation,keyEncipherment");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	set_ext(x, NID_key_usage, "nonRepudiation"); /* not critical */
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.auth);
	set_ext(x, NID_key_usage, NULL);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_extension(void **state)
{
	X509 *x = X509_dup(g.auth);

	(void)state;
	set_ext(x, NID_subject_alt_name, "DNS:login.example.be");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.sign);
	set_ext(x, NID_name_constraints, "permitted;DNS:example.be");
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_subject(void **state)
{
	X509 *x = X509_dup(g.auth);
	X509_NAME *n = X509_NAME_new();

	(void)state;
	assert_int_equal(
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"login.example.be", -1, -1, 0),
		1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	X509_NAME_free(n);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	/* The CA's own name. */
	x = X509_dup(g.auth);
	assert_int_equal(X509_set_subject_name(x, X509_get_subject_name(g.ca)), 1);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

static void
test_refuses_other_key(void **state)
{
	X509 *x = X509_dup(g.auth);
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	(void)state;
	assert_int_equal(X509_set_pubkey(x, k), 1);
	EVP_PKEY_free(k);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
	x = X509_dup(g.auth);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	EVP_PKEY_free(k);
	assert_int_equal(sign_tbs(x), SL_EDENIED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_signed),
		cmocka_unit_test(test_refuses_ca),
		cmocka_unit_test(test_refuses_basic_constraints_false),
		cmocka_unit_test(test_refuses_long_validity),
		cmocka_unit_test(test_refuses_backdated),
		cmocka_unit_test(test_refuses_ocsp_signing),
		cmocka_unit_test(test_refuses_other_eku),
		cmocka_unit_test(test_refuses_other_issuer),
		cmocka_unit_test(test_refuses_other_key_usage),
		cmocka_unit_test(test_refuses_other_extension),
		cmocka_unit_test(test_refuses_other_subject),
		cmocka_unit_test(test_refuses_other_key),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
