/*
 * x509.c — the local CA and TLS server certificate `sleutel init` writes,
 * so that both listeners speak TLS from the first start.  Operators point
 * the configuration at their own certificates instead.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"

static char *
pem_of_key(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &data);
		out = sl_strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

static char *
pem_of_cert(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (bio && PEM_write_bio_X509(bio, cert) == 1) {
		n = BIO_get_mem_data(bio, &data);
		out = sl_strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

/* Both PEMs or neither: a half-made pair is freed, not handed back. */
static int
pems_or_none(char **key_pem, char **cert_pem)
{
	if (*key_pem && *cert_pem)
		return SL_OK;
	free(*key_pem);
	free(*cert_pem);
	*key_pem = *cert_pem = NULL;
	return SL_ENOMEM;
}

int
x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return SL_ECRYPTO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? SL_OK : SL_ECRYPTO;
}

static int
name_add(X509_NAME *name, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) == 1;
}

/* A certificate skeleton: random serial, validity, subject CN, key. */
static X509 *
cert_new(EVP_PKEY *pkey, const char *cn, int days)
{
	X509 *cert = X509_new();
	uint8_t serial[16];
	BIGNUM *bn;
	X509_NAME *name;

	if (cert == NULL || sl_random(serial, sizeof(serial)) != SL_OK)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL) {
		BN_free(bn);
		goto fail;
	}
	BN_free(bn);
	/* Each of these allocates: a failure must not leave a certificate
	 * without its validity, key or name that is then signed. */
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, 2) != 1 || X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
		X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) == NULL ||
		X509_set_pubkey(cert, pkey) != 1 || !name_add(name, "O", "sleutel") || !name_add(name, "CN", cn))
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

int
x509_make_ca(const char *cn, int days, char **key_pem, char **cert_pem, struct sl_err *err)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = pkey ? cert_new(pkey, cn, days) : NULL;
	int rc = SL_ECRYPTO;

	if (cert == NULL)
		goto out;
	if (X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1 ||
		x509_add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		x509_add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		x509_add_ext(cert, cert, NID_subject_key_identifier, "hash") ||
		X509_sign(cert, pkey, EVP_sha256()) <= 0)
		goto out;
	*key_pem = pem_of_key(pkey);
	*cert_pem = pem_of_cert(cert);
	rc = pems_or_none(key_pem, cert_pem);
out:
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot make the local CA");
}

int
x509_make_server(const char *ca_key_pem, const char *ca_cert_pem, const char *cn, const char *sans, int days,
	char **key_pem, char **cert_pem, struct sl_err *err)
{
	BIO *kb = BIO_new_mem_buf(ca_key_pem, -1), *cb = BIO_new_mem_buf(ca_cert_pem, -1);
	EVP_PKEY *ca_key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	X509 *ca = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = pkey ? cert_new(pkey, cn, days) : NULL;
	int rc = SL_ECRYPTO;

	if (ca_key == NULL || ca == NULL || cert == NULL)
		goto out;
	if (X509_set_issuer_name(cert, X509_get_subject_name(ca)) != 1 ||
		x509_add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") ||
		x509_add_ext(cert, ca, NID_key_usage, "critical,digitalSignature") ||
		x509_add_ext(cert, ca, NID_ext_key_usage, "serverAuth") ||
		x509_add_ext(cert, ca, NID_subject_alt_name, sans) ||
		x509_add_ext(cert, ca, NID_authority_key_identifier, "keyid") ||
		X509_sign(cert, ca_key, EVP_sha256()) <= 0)
		goto out;
	*key_pem = pem_of_key(pkey);
	*cert_pem = pem_of_cert(cert);
	rc = pems_or_none(key_pem, cert_pem);
out:
	BIO_free(kb);
	BIO_free(cb);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot make the TLS server certificate");
}
