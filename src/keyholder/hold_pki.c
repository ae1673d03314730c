/*
 * hold_pki.c — the demo PKI's signing keys, in the key holder: the issuing
 * CAs (certificates of the Smart-ID CA, CRLs of each) and their OCSP
 * signers.  Each is read from [pki] dir (`<base>.key`, src/pki's layout)
 * on first use, since the Smart-ID CA is made only with the first Smart-ID
 * certificates, and kept.
 *
 * sleuteld builds the structure, and sends its to-be-signed DER; this side
 * signs it with SHA-384 (what src/pki has always used) after checking that
 * it parses as exactly the kind the request names and that the key may
 * sign that kind: certificates only by the Smart-ID CA (the eID CAs'
 * certificates are made by the `sleutel pki` command, never by sleuteld),
 * CRLs by a CA, OCSP responses by an OCSP signer.  A certificate must
 * moreover be a Smart-ID device's, as src/pki/smartid.c makes them
 * (hold_pki_profile.c): no sub-CA, no OCSP responder, no longer validity.
 * That bounds what a compromised sleuteld can have signed to what it could
 * ask for anyway; it never has the keys.
 *
 * A PKI made before the Smart-ID CA existed gets it at the first Smart-ID
 * registration (KH_OP_PKI_SMARTID_CA): made here, since that reads the
 * root key and makes the new CA's and OCSP signer's keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "holder_int.h"
#include "../config/config.h"
#include "../pki/pki.h"

#define PKI_KEY_FILE_MAX 65536
#define PKI_TBS_MAX (KH_PAYLOAD_MAX - 1)

/* The keys sleuteld may have signed with, and what each signs (the names
 * of src/pki/pki.c's pki_cas[]). */
static const struct {
	const char *pk_base;
	unsigned pk_kinds; /* 1 << enum kh_pki_kind */
} pki_keys[KH_PKI_KEYS_MAX] = {
	{ "smartid-ca", 1u << KH_PKI_CERT | 1u << KH_PKI_CRL },
	{ "citizen-ca", 1u << KH_PKI_CRL },
	{ "foreigner-ca", 1u << KH_PKI_CRL },
	{ "smartid-ocsp", 1u << KH_PKI_OCSP },
	{ "citizen-ocsp", 1u << KH_PKI_OCSP },
	{ "foreigner-ocsp", 1u << KH_PKI_OCSP },
};

void
hold_pki_clear(struct holder *ho)
{
	for (size_t i = 0; i < KH_PKI_KEYS_MAX; i++) {
		EVP_PKEY_free(ho->ho_pki[i]);
		ho->ho_pki[i] = NULL;
	}
	X509_free(ho->ho_pki_ca);
	ho->ho_pki_ca = NULL;
}

/* A certificate for the Smart-ID CA to sign: its profile (the CA's own
 * certificate read on first use). */
static int
cert_profile_ok(struct holder *ho, const uint8_t *der, size_t len, struct sl_err *err)
{
	char *path, *pem = NULL;
	size_t n = 0;
	BIO *bio;

	if (ho->ho_pki_ca == NULL) {
		path = sl_path_resolve(ho->ho_conf->c_pki_dir, "smartid-ca.pem");
		if (path == NULL || sl_file_read(path, PKI_KEY_FILE_MAX, &pem, &n, err) != SL_OK) {
			free(path);
			return err && err->code ? err->code : SL_ENOMEM;
		}
		bio = BIO_new_mem_buf(pem, (int)n);
		ho->ho_pki_ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		free(pem);
		if (ho->ho_pki_ca == NULL)
			sl_fail(err, SL_ECRYPTO, "%s is not a PEM certificate", path);
		free(path);
		if (ho->ho_pki_ca == NULL)
			return SL_ECRYPTO;
	}
	return hold_pki_cert_ok(ho->ho_pki_ca, der, len, err);
}

static EVP_PKEY *
pki_key(struct holder *ho, size_t i, struct sl_err *err)
{
	char name[64], *path, *pem = NULL;
	size_t len = 0;
	BIO *bio;

	if (ho->ho_pki[i] != NULL)
		return ho->ho_pki[i];
	if (ho->ho_conf->c_pki_dir == NULL)
		return sl_fail(err, SL_ENOTFOUND, "no [pki] dir"), NULL;
	snprintf(name, sizeof(name), "%s.key", pki_keys[i].pk_base);
	path = sl_path_resolve(ho->ho_conf->c_pki_dir, name);
	if (path == NULL || sl_file_read(path, PKI_KEY_FILE_MAX, &pem, &len, err) != SL_OK) {
		free(path);
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	ho->ho_pki[i] = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_clear_free(pem, len);
	if (ho->ho_pki[i] == NULL)
		sl_fail(err, SL_ECRYPTO, "%s is not a PEM private key", path);
	free(path);
	return ho->ho_pki[i];
}

/* Does der parse as exactly one structure of `kind`? */
static bool
tbs_ok(int kind, const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	bool ok = false;

	if (kind == KH_PKI_CERT) {
		X509_CINF *c = d2i_X509_CINF(NULL, &q, (long)len);
		ok = c != NULL;
		X509_CINF_free(c);
	} else if (kind == KH_PKI_CRL) {
		X509_CRL_INFO *c = d2i_X509_CRL_INFO(NULL, &q, (long)len);
		ok = c != NULL;
		X509_CRL_INFO_free(c);
	} else if (kind == KH_PKI_OCSP) {
		OCSP_RESPDATA *r = d2i_OCSP_RESPDATA(NULL, &q, (long)len);
		ok = r != NULL;
		OCSP_RESPDATA_free(r);
	}
	return ok && q == der + len;
}

int
hold_pki_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	size_t i = 0, siglen = KH_PAYLOAD_MAX;
	EVP_MD_CTX *md;
	EVP_PKEY *key;
	int kind, ok;

	while (i < KH_PKI_KEYS_MAX && strcmp(pki_keys[i].pk_base, kid) != 0)
		i++;
	if (i == KH_PKI_KEYS_MAX)
		return sl_fail(err, SL_EINVAL, "no PKI key %s", kid);
	if (len < 2 || len - 1 > PKI_TBS_MAX)
		return sl_fail(err, SL_EINVAL, "malformed PKI signing request");
	kind = p[0];
	if (kind < KH_PKI_CERT || kind > KH_PKI_OCSP || !(pki_keys[i].pk_kinds & 1u << kind))
		return sl_fail(err, SL_EDENIED, "%s does not sign that", kid);
	if (!tbs_ok(kind, p + 1, len - 1))
		return sl_fail(err, SL_EINVAL, "not the to-be-signed part of a %s",
			kind == KH_PKI_CERT  ? "certificate"
			: kind == KH_PKI_CRL ? "CRL"
					     : "OCSP response");
	if ((key = pki_key(ho, i, err)) == NULL)
		return err && err->code ? err->code : SL_ECRYPTO;
	if (kind == KH_PKI_CERT && (ok = cert_profile_ok(ho, p + 1, len - 1, err)) != SL_OK)
		return ok;
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, key, NULL) == 1 &&
	     EVP_DigestSign(md, out, &siglen, p + 1, len - 1) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return sl_fail(err, SL_ECRYPTO, "signing failed");
	*outlen = siglen;
	return SL_OK;
}

int
hold_pki_smartid_ca(struct holder *ho, struct sl_err *err)
{
	mode_t old;
	int rc;

	if (ho->ho_conf->c_pki_dir == NULL)
		return sl_fail(err, SL_ENOTFOUND, "no [pki] dir");
	/* The certificates it writes are public (0644, as sleuteld made
	 * them); the key holder's own umask is 077. */
	old = umask(022);
	rc = pki_smartid_ca_ensure(ho->ho_conf->c_pki_dir, err);
	umask(old);
	return rc;
}
