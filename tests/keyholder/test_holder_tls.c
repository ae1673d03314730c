/*
 * test_holder_tls.c — KH_OP_TLS_SIGN (src/keyholder/hold_tls.c): the
 * handshake signatures GnuTLS asks of an external key, made with the
 * listeners' TLS keys read at start, each verified with OpenSSL; and
 * every malformed request refused with a message that says why: no or
 * short input, input over KH_TLS_INPUT_MAX, a hash of the wrong length,
 * a DigestInfo the modulus cannot hold, unknown algorithms, algorithms
 * of another key type or curve, unknown key ids, a listener without TLS,
 * a missing or unreadable key file.  And KH_OP_PKI_SMARTID_CA: an older
 * PKI's Smart-ID CA made in the key holder, once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../../src/config/config.h"
#include "../../src/keyholder/holder_int.h"
#include "../../src/pki/pki.h"
#include "kh_util.h"

static uint8_t msg[KH_MSG_MAX], out[KH_PAYLOAD_MAX], req[KH_PAYLOAD_MAX];

struct fixture {
	char dir[64];
	char rsa_path[128], ec_path[128];
	struct sl_config conf;
	struct holder ho;
	EVP_PKEY *rsa, *ec;
};

static EVP_PKEY *
key_write(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	return key;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/kh-tls-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->rsa_path, sizeof(f->rsa_path), "%s/portal.key", f->dir);
	snprintf(f->ec_path, sizeof(f->ec_path), "%s/eid.key", f->dir);
	f->rsa = key_write(f->rsa_path, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	f->ec = key_write(f->ec_path, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	f->conf.c_keys_dir = f->dir;
	f->conf.c_portal.lc_tls = true;
	f->conf.c_portal.lc_tls_key = f->rsa_path;
	f->conf.c_eid_enabled = true;
	f->conf.c_eid.lc_tls = true;
	f->conf.c_eid.lc_tls_key = f->ec_path;
	f->ho.ho_conf = &f->conf;
	hold_tls_load(&f->ho);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hold_tls_clear(&f->ho);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->ec);
	assert_int_equal(kh_test_rm_dir(f->dir), 0);
	free(f);
	return 0;
}

/* One KH_OP_TLS_SIGN: [u16 algo][input]; the status, and the error text
 * in *why (when not NULL). */
static int
tls_sign(struct fixture *f, const char *kid, unsigned algo, const uint8_t *in, size_t len, size_t *outlen, char *why)
{
	struct kh_hdr h;
	struct sl_err err = { 0 };
	size_t n;
	int rc;

	req[0] = (uint8_t)(algo >> 8);
	req[1] = (uint8_t)algo;
	memcpy(req + 2, in, len);
	n = kh_msg_build(msg, KH_OP_TLS_SIGN, 0, 9, kid, req, len + 2);
	assert_true(n > 0);
	*outlen = 0;
	rc = holder_handle(&f->ho, msg, n, out, outlen, &h, &err);
	if (why != NULL)
		sl_strlcpy(why, err.msg, KH_ERRMSG_MAX);
	return rc;
}

/* Does sig verify over `tbs` with key, padding pad (0: ECDSA) and md? */
static bool
verifies(EVP_PKEY *key, int pad, const char *md, const uint8_t *tbs, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	bool ok = pc != NULL && EVP_PKEY_verify_init(pc) == 1;

	if (ok && pad != 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1;
	if (ok && md != NULL)
		ok = EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(md)) == 1;
	if (ok && pad == RSA_PKCS1_PSS_PADDING)
		ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
	ok = ok && EVP_PKEY_verify(pc, sig, siglen, tbs, len) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

/* The DER DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1). */
static const uint8_t sha256_info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

static void
test_tls_signatures(void **state)
{
	struct fixture *f = *state;
	uint8_t hash[64], info[sizeof(sha256_info) + 32];
	size_t outlen = 0;

	assert_int_equal(RAND_bytes(hash, sizeof(hash)), 1);
	memcpy(info, sha256_info, sizeof(sha256_info));
	memcpy(info + sizeof(sha256_info), hash, 32);
	/* RSA PKCS#1 v1.5 (TLS 1.2): GnuTLS gives the DigestInfo as RSA_RAW;
	 * it verifies as an RSA-SHA256 signature over the hash. */
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, info, sizeof(info), &outlen, NULL), SL_OK);
	assert_int_equal(outlen, 256);
	assert_true(verifies(f->rsa, RSA_PKCS1_PADDING, "SHA256", hash, 32, out, outlen));
	assert_false(verifies(f->rsa, RSA_PKCS1_PADDING, "SHA256", hash + 1, 32, out, outlen)); /* the control */
	/* The TLS 1.0 form: MD5 || SHA-1, 36 bytes, no DigestInfo. */
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, hash, 36, &outlen, NULL), SL_OK);
	assert_true(verifies(f->rsa, RSA_PKCS1_PADDING, NULL, hash, 36, out, outlen));
	/* RSA-PSS (TLS 1.3), each hash, salt as long as the hash. */
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, hash, 32, &outlen, NULL), SL_OK);
	assert_true(verifies(f->rsa, RSA_PKCS1_PSS_PADDING, "SHA256", hash, 32, out, outlen));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, hash, 48, &outlen, NULL), SL_OK);
	assert_true(verifies(f->rsa, RSA_PKCS1_PSS_PADDING, "SHA384", hash, 48, out, outlen));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, hash, 64, &outlen, NULL), SL_OK);
	assert_true(verifies(f->rsa, RSA_PKCS1_PSS_PADDING, "SHA512", hash, 64, out, outlen));
	/* ECDSA: TLS 1.2's and TLS 1.3's (the curve named). */
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA256, hash, 32, &outlen, NULL), SL_OK);
	assert_true(verifies(f->ec, 0, "SHA256", hash, 32, out, outlen));
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, hash, 32, &outlen, NULL), SL_OK);
	assert_true(verifies(f->ec, 0, "SHA256", hash, 32, out, outlen));
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA384, hash, 48, &outlen, NULL), SL_OK);
	assert_true(verifies(f->ec, 0, "SHA384", hash, 48, out, outlen));
	assert_false(verifies(f->ec, 0, "SHA384", hash, 48, out, outlen - 1)); /* the control */
}

static void
test_tls_refusals(void **state)
{
	struct fixture *f = *state;
	char why[KH_ERRMSG_MAX];
	uint8_t big[KH_TLS_INPUT_MAX + 1];
	size_t outlen = 0, n;
	struct kh_hdr h;
	struct sl_err err = { 0 };

	memset(big, 1, sizeof(big));
	/* Unknown algorithms: one GnuTLS has that the key holder does not
	 * sign, one GnuTLS does not have. */
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_EDDSA_ED25519, big, 32, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "is not one the key holder signs"));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, 0xffff, big, 32, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "algorithm 65535"));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_SHA256, big, 32, &outlen, why), SL_EINVAL);
	/* Another key type, another curve. */
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_ECDSA_SHA256, big, 32, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "is RSA"));
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, big, 32, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "is EC"));
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_RSA_RAW, big, 32, &outlen, why), SL_EINVAL);
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, big, 48, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "not on P-384"));
	/* Lengths: a hash one byte short or long, a DigestInfo the 2048-bit
	 * modulus cannot pad (245 bytes fit, 246 do not), input over the
	 * bound, no input, no algorithm. */
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA256, big, 31, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "has 32 bytes, not 31"));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, big, 33, &outlen, why), SL_EINVAL);
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, big, 245, &outlen, why), SL_OK);
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, big, 246, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "do not fit"));
	assert_int_equal(
		tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, big, KH_TLS_INPUT_MAX + 1, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "1 to 512 bytes"));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_RAW, big, 0, &outlen, why), SL_EINVAL);
	for (size_t len = 0; len < 2; len++) {
		n = kh_msg_build(msg, KH_OP_TLS_SIGN, 0, 9, KH_TLS_PORTAL, big, len);
		assert_int_equal(holder_handle(&f->ho, msg, n, out, &outlen, &h, &err), SL_EINVAL);
		assert_int_equal(h.kh_op, KH_OP_TLS_SIGN);
	}
	/* Key ids: none, unknown, another key holder's (a JWS kid). */
	assert_int_equal(tls_sign(f, NULL, GNUTLS_SIGN_ECDSA_SHA256, big, 32, &outlen, why), SL_EINVAL);
	assert_int_equal(tls_sign(f, "metrics", GNUTLS_SIGN_ECDSA_SHA256, big, 32, &outlen, why), SL_EINVAL);
	assert_non_null(strstr(why, "no TLS key metrics"));
	assert_int_equal(outlen, 0);
}

static void
test_tls_keys_missing(void **state)
{
	struct fixture *f = *state;
	char why[KH_ERRMSG_MAX], bad[160];
	uint8_t hash[32] = { 0 };
	size_t outlen = 0;
	FILE *fp;

	/* A listener without TLS: a request for its key says so. */
	f->conf.c_eid.lc_tls = false;
	hold_tls_load(&f->ho);
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA256, hash, 32, &outlen, why), SL_ENOTFOUND);
	assert_non_null(strstr(why, "no TLS"));
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, hash, 32, &outlen, why), SL_OK);
	/* A key file gone, and one that is not a key: the path is named. */
	f->conf.c_eid.lc_tls = true;
	snprintf(bad, sizeof(bad), "%s/nope.key", f->dir);
	f->conf.c_eid.lc_tls_key = bad;
	hold_tls_load(&f->ho);
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA256, hash, 32, &outlen, why), SL_ENOTFOUND);
	assert_non_null(strstr(why, "nope.key"));
	fp = fopen(bad, "w");
	assert_non_null(fp);
	fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", fp);
	fclose(fp);
	hold_tls_load(&f->ho);
	assert_int_equal(tls_sign(f, KH_TLS_EID, GNUTLS_SIGN_ECDSA_SHA256, hash, 32, &outlen, why), SL_ENOTFOUND);
	assert_non_null(strstr(why, "is not a PEM private key"));
	/* The portal's key still signs. */
	assert_int_equal(tls_sign(f, KH_TLS_PORTAL, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, hash, 32, &outlen, why), SL_OK);
}

static X509 *
cert_read(const char *dir, const char *name)
{
	char path[160];
	FILE *fp;
	X509 *c;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	c = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(c);
	return c;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* A PKI without its Smart-ID CA (as made before that CA existed): the key
 * holder makes it, with the root key, once; without [pki] dir it says so. */
static void
test_pki_smartid_ca(void **state)
{
	struct fixture *f = *state;
	struct sl_err err = { 0 };
	char pki[96], path[160], *before = NULL, *after = NULL;
	const char *gone[] = { "smartid-ca.pem", "smartid-ca.key", "smartid-ocsp.pem", "smartid-ocsp.key" };
	size_t outlen = 0;
	X509 *ca, *root;

	snprintf(pki, sizeof(pki), "%s/pki", f->dir);
	assert_int_equal(kh_test_call(&f->ho, KH_OP_PKI_SMARTID_CA, NULL, NULL, 0, out, &outlen), SL_ENOTFOUND);
	assert_int_equal(pki_init(pki, "http://127.0.0.1:1/ocsp", NULL, &err), SL_OK);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", pki, gone[i]);
		assert_int_equal(unlink(path), 0);
	}
	f->conf.c_pki_dir = pki;
	assert_int_equal(kh_test_call(&f->ho, KH_OP_PKI_SMARTID_CA, NULL, NULL, 0, out, &outlen), SL_OK);
	assert_int_equal(outlen, 0);
	snprintf(path, sizeof(path), "%s/smartid-ca.key", pki);
	assert_int_equal(sl_file_read(path, 1 << 16, &before, NULL, &err), SL_OK);
	/* Made once: a second request changes nothing. */
	assert_int_equal(kh_test_call(&f->ho, KH_OP_PKI_SMARTID_CA, NULL, NULL, 0, out, &outlen), SL_OK);
	assert_int_equal(sl_file_read(path, 1 << 16, &after, NULL, &err), SL_OK);
	assert_string_equal(before, after);
	/* The root certified it. */
	ca = cert_read(pki, "smartid-ca.pem");
	root = cert_read(pki, "root.pem");
	assert_int_equal(X509_verify(ca, X509_get0_pubkey(root)), 1);
	X509_free(ca);
	X509_free(root);
	free(before);
	free(after);
	/* It takes no payload and no key id. */
	assert_int_equal(kh_test_call(&f->ho, KH_OP_PKI_SMARTID_CA, NULL, "x", 1, out, &outlen), SL_EINVAL);
	assert_int_equal(kh_test_call(&f->ho, KH_OP_PKI_SMARTID_CA, "root", NULL, 0, out, &outlen), SL_EINVAL);
	hold_pki_clear(&f->ho);
	f->conf.c_pki_dir = NULL;
	assert_int_equal(nftw(pki, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tls_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_keys_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pki_smartid_ca, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
