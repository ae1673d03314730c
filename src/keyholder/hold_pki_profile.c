/*
 * hold_pki_profile.c — the one certificate profile the Smart-ID CA signs
 * for sleuteld: a Smart-ID device's authentication or signing certificate
 * (src/pki/smartid.c).  Anything else asked of it is refused, so that a
 * compromised sleuteld cannot have the CA certify a sub-CA, an OCSP
 * responder, a TLS server, or a device for decades: what it can still have
 * signed is what it could have asked for anyway, one device's
 * certificates, valid three years.
 *
 * The to-be-signed DER is wrapped into a certificate with an empty
 * signature to read it through OpenSSL's X509 accessors; then:
 *
 *   version 3; issuer the CA's subject; AKI the CA's SKI
 *   validity   notBefore no earlier than two hours ago (smartid.c backdates
 *              one hour), notAfter after it and no later than
 *              KH_SMARTID_YEARS years and a day from now
 *   subject    not the CA's; a serialNumber PNOBE-... (ETSI natural person)
 *   key        RSA of KH_SMARTID_RSA_MIN..MAX bits (the split keys)
 *   extensions exactly: keyUsage, critical, digitalSignature alone (then
 *              extendedKeyUsage is the Smart-ID authentication OID alone)
 *              or nonRepudiation alone (then no extendedKeyUsage);
 *              certificatePolicies, SKI, AKI, AIA, CRL distribution points.
 *              No basicConstraints (the profile has none; a CA:TRUE would
 *              make a sub-CA), and no other extension (OCSP no-check, name
 *              constraints, alternative names...).
 */
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "holder_int.h"

#define KH_SMARTID_YEARS 3 /* src/pki/smartid.c SMARTID_YEARS */
#define KH_SMARTID_RSA_MIN 2048
#define KH_SMARTID_RSA_MAX 8192
#define KH_SMARTID_SKEW 7200 /* seconds a notBefore may lie in the past */
#define KH_SMARTID_AUTH_EKU "1.3.6.1.4.1.62306.5.7.0"

/* der (a TBSCertificate) inside a certificate with an empty signature. */
static X509 *
tbs_wrap(const uint8_t *der, size_t len)
{
	static const uint8_t alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
	static const uint8_t bits[] = { 0x03, 0x01, 0x00 };
	size_t body = len + sizeof(alg) + sizeof(bits), n = 0;
	uint8_t *buf;
	const unsigned char *q;
	X509 *x;

	if (body > 0xffff || (buf = OPENSSL_malloc(body + 4)) == NULL)
		return NULL;
	buf[n++] = 0x30;
	if (body >= 256) {
		buf[n++] = 0x82;
		buf[n++] = (uint8_t)(body >> 8);
	} else if (body >= 128) {
		buf[n++] = 0x81;
	}
	buf[n++] = (uint8_t)body;
	memcpy(buf + n, der, len);
	memcpy(buf + n + len, alg, sizeof(alg));
	memcpy(buf + n + len + sizeof(alg), bits, sizeof(bits));
	q = buf;
	x = d2i_X509(NULL, &q, (long)(n + body));
	if (x != NULL && q != buf + n + body) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(buf);
	return x;
}

/* x's authority key identifier is the CA's subject key identifier. */
static bool
akid_ok(X509 *x, X509 *ca)
{
	const ASN1_OCTET_STRING *id = X509_get0_authority_key_id(x), *skid = X509_get0_subject_key_id(ca);

	return id != NULL && skid != NULL && ASN1_OCTET_STRING_cmp(id, skid) == 0;
}

static int
validity_ok(X509 *x, struct sl_err *err)
{
	time_t now = time(NULL), earliest = now - KH_SMARTID_SKEW;
	/* Three years hold one 29 February at most; a day of slack. */
	time_t latest = now + (time_t)(KH_SMARTID_YEARS * 365 + 1 + 1) * 86400;
	const ASN1_TIME *nb = X509_get0_notBefore(x), *na = X509_get0_notAfter(x);

	if (X509_cmp_time(nb, &earliest) < 0)
		return sl_fail(err, SL_EDENIED, "a Smart-ID certificate does not begin in the past");
	if (X509_cmp_time(na, &latest) > 0)
		return sl_fail(err, SL_EDENIED, "a Smart-ID certificate is valid %d years at most", KH_SMARTID_YEARS);
	if (ASN1_TIME_compare(nb, na) >= 0)
		return sl_fail(err, SL_EDENIED, "the certificate ends before it begins");
	return SL_OK;
}

static bool
subject_ok(X509 *x, X509 *ca)
{
	const X509_NAME *s = X509_get_subject_name(x);
	int i = X509_NAME_get_index_by_NID(s, NID_serialNumber, -1);
	const ASN1_STRING *v = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(s, i)) : NULL;

	return v != NULL && ASN1_STRING_length(v) > 6 && memcmp(ASN1_STRING_get0_data(v), "PNOBE-", 6) == 0 &&
	       X509_NAME_cmp(s, X509_get_subject_name(ca)) != 0;
}

static bool
key_ok(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	int bits = k ? EVP_PKEY_get_bits(k) : 0;

	return k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA && bits >= KH_SMARTID_RSA_MIN &&
	       bits <= KH_SMARTID_RSA_MAX;
}

/* The extended key usage is exactly the Smart-ID authentication OID. */
static bool
auth_eku_ok(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	char oid[64] = "";
	bool ok = eku != NULL && sk_ASN1_OBJECT_num(eku) == 1 &&
		  OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0), 1) > 0 &&
		  strcmp(oid, KH_SMARTID_AUTH_EKU) == 0;

	EXTENDED_KEY_USAGE_free(eku);
	return ok;
}

static int
extensions_ok(X509 *x, struct sl_err *err)
{
	static const int allowed[] = { NID_key_usage, NID_ext_key_usage, NID_certificate_policies,
		NID_subject_key_identifier, NID_authority_key_identifier, NID_info_access,
		NID_crl_distribution_points };
	int ku, loc;
	bool eku;

	for (int i = 0; i < X509_get_ext_count(x); i++) {
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(x, i)));
		size_t j = 0;
		while (j < sizeof(allowed) / sizeof(allowed[0]) && allowed[j] != nid)
			j++;
		if (j == sizeof(allowed) / sizeof(allowed[0]))
			return sl_fail(err, SL_EDENIED, "a Smart-ID certificate carries no %s extension",
				nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
		if (X509_get_ext_by_NID(x, nid, i) >= 0)
			return sl_fail(err, SL_EDENIED, "extension %s twice", OBJ_nid2sn(nid));
	}
	loc = X509_get_ext_by_NID(x, NID_key_usage, -1);
	if (loc < 0 || !X509_EXTENSION_get_critical(X509_get_ext(x, loc)))
		return sl_fail(err, SL_EDENIED, "a Smart-ID certificate's keyUsage is there and critical");
	ku = (int)X509_get_key_usage(x);
	eku = X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0;
	if (ku == KU_DIGITAL_SIGNATURE)
		return auth_eku_ok(x) ? SL_OK
				      : sl_fail(err, SL_EDENIED,
						"an authentication certificate's extendedKeyUsage is Smart-ID "
						"authentication alone");
	if (ku == KU_NON_REPUDIATION)
		return eku ? sl_fail(err, SL_EDENIED, "a signing certificate carries no extendedKeyUsage") : SL_OK;
	return sl_fail(err, SL_EDENIED, "keyUsage is digitalSignature or nonRepudiation alone");
}

int
hold_pki_cert_ok(X509 *ca, const uint8_t *der, size_t len, struct sl_err *err)
{
	X509 *x = tbs_wrap(der, len);
	int rc;

	if (x == NULL)
		return sl_fail(err, SL_EINVAL, "not the to-be-signed part of a certificate");
	/* Caches the extensions (the accessors below read that cache);
	 * EXFLAG_INVALID when one does not parse. */
	if ((X509_get_extension_flags(x) & EXFLAG_INVALID) != 0 || (X509_get_extension_flags(ca) & EXFLAG_INVALID) != 0)
		rc = sl_fail(err, SL_EDENIED, "an extension does not parse");
	else if (X509_get_version(x) != X509_VERSION_3)
		rc = sl_fail(err, SL_EDENIED, "a Smart-ID certificate is X.509 version 3");
	else if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)) != 0)
		rc = sl_fail(err, SL_EDENIED, "the issuer is not the Smart-ID CA");
	else if (!akid_ok(x, ca))
		rc = sl_fail(err, SL_EDENIED, "the authority key identifier is not the Smart-ID CA's");
	else if (!subject_ok(x, ca))
		rc = sl_fail(err, SL_EDENIED, "the subject is not a Smart-ID account's (serialNumber PNOBE-...)");
	else if (!key_ok(x))
		rc = sl_fail(err, SL_EDENIED, "a Smart-ID key is RSA of %d to %d bits", KH_SMARTID_RSA_MIN,
			KH_SMARTID_RSA_MAX);
	else if ((rc = validity_ok(x, err)) == SL_OK)
		rc = extensions_ok(x, err);
	X509_free(x);
	return rc;
}
