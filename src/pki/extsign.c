/*
 * extsign.c — signing a certificate, CRL or OCSP response with a key this
 * process does not hold (struct pki_signer: sleuteld's key holder).
 *
 * OpenSSL writes the signature algorithm into the structure only while it
 * signs, so each structure is first signed with a throwaway key of the
 * real key's type (an EC key on the same curve, or a small RSA key: the
 * algorithm identifier of SHA-384 with either does not depend on the
 * key), which sets every field as the real key would; then its
 * to-be-signed DER goes to the signer and the real signature replaces the
 * throwaway one, and is verified with the real public key before the
 * structure is used.  For OCSP, the throwaway key comes with a throwaway
 * certificate of the signer's name (OCSP_basic_sign checks that key and
 * certificate match and names the responder by it); the real signer's
 * certificate is added after.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "pki_int.h"

#define THROWAWAY_RSA_BITS 1024

/* A key of pub's type to sign with once and forget. */
static EVP_PKEY *
throwaway_key(EVP_PKEY *pub)
{
	char group[64];

	if (EVP_PKEY_is_a(pub, "EC") && EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), NULL) == 1)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
	if (EVP_PKEY_is_a(pub, "RSA"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)THROWAWAY_RSA_BITS);
	return NULL;
}

/* The signer's signature of tbs (der, n bytes, freed here) into bits. */
static int
sign_into(const struct pki_signer *s, const char *base, int kind, unsigned char *der, int n,
	const ASN1_BIT_STRING *bits, struct sl_err *err)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int rc;

	if (n <= 0) {
		OPENSSL_free(der);
		return sl_fail(err, SL_ECRYPTO, "cannot encode what is to be signed");
	}
	rc = s->ps_sign(s->ps_arg, base, kind, der, (size_t)n, &sig, &siglen, err);
	OPENSSL_free(der);
	if (rc == SL_OK) {
		ASN1_BIT_STRING *b = (ASN1_BIT_STRING *)bits; /* the structure's own, as ASN1_item_sign fills it */
		if (siglen > INT32_MAX || ASN1_BIT_STRING_set(b, sig, (int)siglen) != 1)
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
		else
			b->flags = (b->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT; /* no unused bits */
	}
	free(sig);
	return rc;
}

int
pki_ext_sign_cert(X509 *cert, X509 *issuer, const struct pki_signer *s, const char *base, struct sl_err *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer), *tmp = pub ? throwaway_key(pub) : NULL;
	const ASN1_BIT_STRING *bits = NULL;
	unsigned char *der = NULL;
	int n, rc;

	if (tmp == NULL || X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1 ||
		X509_sign(cert, tmp, EVP_sha384()) <= 0) {
		EVP_PKEY_free(tmp);
		return sl_fail(err, SL_ECRYPTO, "cannot prepare the certificate for signing");
	}
	EVP_PKEY_free(tmp);
	X509_get0_signature(&bits, NULL, cert);
	n = i2d_re_X509_tbs(cert, &der);
	rc = sign_into(s, base, PKI_TBS_CERT, der, n, bits, err);
	if (rc == SL_OK && X509_verify(cert, pub) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "the signer's certificate signature does not verify");
	return rc;
}

int
pki_ext_sign_crl(X509_CRL *crl, X509 *issuer, const struct pki_signer *s, const char *base, struct sl_err *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(issuer), *tmp = pub ? throwaway_key(pub) : NULL;
	const ASN1_BIT_STRING *bits = NULL;
	unsigned char *der = NULL;
	int n, rc;

	if (tmp == NULL || X509_CRL_sign(crl, tmp, EVP_sha384()) <= 0) {
		EVP_PKEY_free(tmp);
		return sl_fail(err, SL_ECRYPTO, "cannot prepare the CRL for signing");
	}
	EVP_PKEY_free(tmp);
	X509_CRL_get0_signature(crl, &bits, NULL);
	n = i2d_re_X509_CRL_tbs(crl, &der);
	rc = sign_into(s, base, PKI_TBS_CRL, der, n, bits, err);
	if (rc == SL_OK && X509_CRL_verify(crl, pub) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "the signer's CRL signature does not verify");
	return rc;
}

int
pki_ext_sign_ocsp(OCSP_BASICRESP *bs, X509 *signer, const struct pki_signer *s, const char *base, struct sl_err *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(signer), *tmp = pub ? throwaway_key(pub) : NULL;
	X509 *stand_in = X509_new();
	unsigned char *der = NULL;
	int n, rc = SL_OK;

	if (tmp == NULL || stand_in == NULL || X509_set_subject_name(stand_in, X509_get_subject_name(signer)) != 1 ||
		X509_set_pubkey(stand_in, tmp) != 1 ||
		OCSP_basic_sign(bs, stand_in, tmp, EVP_sha384(), NULL, OCSP_NOCERTS) != 1 ||
		OCSP_basic_add1_cert(bs, signer) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "cannot prepare the OCSP response for signing");
	EVP_PKEY_free(tmp);
	X509_free(stand_in);
	if (rc == SL_OK) {
		n = i2d_OCSP_RESPDATA(OCSP_resp_get0_respdata(bs), &der);
		rc = sign_into(s, base, PKI_TBS_OCSP, der, n, OCSP_resp_get0_signature(bs), err);
	}
	if (rc == SL_OK && OCSP_basic_verify(bs, NULL, NULL, OCSP_NOVERIFY | OCSP_NOCHAIN) != 1)
		rc = sl_fail(err, SL_ECRYPTO, "the signer's OCSP signature does not verify");
	return rc;
}
