/*
 * smartid.c — the certificates of a Smart-ID device, issued by the demo
 * PKI's Smart-ID CA for the public halves of split keys (the CA never sees
 * a private key: the phone and the server each hold a share).
 *
 * The shape follows SK ID Solutions' "Certificate and OCSP Profile for
 * Smart-ID" (the profile from April 2025), with Belgian identifiers:
 *
 *   subject  C=BE, CN=<FAMILY>,<GIVEN>,<RRN>, SN, GN, serialNumber=PNOBE-<RRN>
 *            (the ETSI EN 319 412-1 semantics identifier: PNO + country)
 *   auth     keyUsage digitalSignature (critical); EKU 1.3.6.1.4.1.62306.5.7.0
 *            (Smart-ID authentication: not TLS clientAuth, so the certificate
 *            cannot stand in for an eID card in a TLS handshake)
 *   sign     keyUsage nonRepudiation (critical), no EKU
 *   policies auth: 2.999.17.2 + 0.4.0.2042.1.2 (ETSI NCP+);
 *            sign: 2.999.17.2 + 0.4.0.194112.1.2 (ETSI QCP-n-qscd)
 *   both     SKI, AKI, AIA (OCSP + caIssuers smartid-ca.crt), CDP with a
 *            CRL base; valid 3 years, as Smart-ID certificates are
 *
 * Where SK's certificates carry SK's own policy 1.3.6.1.4.1.10015.17.2
 * (qualified Smart-ID), ours carry 2.999.17.2, under the ISO/ITU-T arc
 * for examples (X.660): a demo CA must not claim SK's certificate policy,
 * and real Smart-ID verifiers should refuse these certificates.  Nor is
 * there a qcStatements extension: QcCompliance would claim EU qualified
 * status.
 *
 * The document number (PNOBE-<RRN>-XXXX-Q, one per device) is not in the
 * certificates, as in the real profile: Smart-ID hands it out beside the
 * certificate.  It is recorded in index.json on both certificates'
 * entries and returned to the caller.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "pki_int.h"
#include "../crypto/crypto.h"

#define SMARTID_YEARS 3
#define SMARTID_RSA_MIN 2048
#define SMARTID_RSA_MAX 8192
#define SMARTID_DOC_LEN 24 /* PNOBE- (6) + RRN (11) + - + 4 + -Q */
#define SMARTID_DRAWS 16 /* document numbers tried before giving up */
#define SMARTID_POLICY "2.999.17.2"

/* 32 characters without 0/O and 1/I: a byte's low 5 bits pick one evenly. */
static const char doc_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

enum { SID_AUTH, SID_SIGN, SID_NROLES };

static const struct sid_role {
	const char *sr_kind; /* in index.json */
	const char *sr_ku;
	const char *sr_eku;
	const char *sr_policies;
} sid_roles[SID_NROLES] = {
	{ "authentication", "critical,digitalSignature", "1.3.6.1.4.1.62306.5.7.0", SMARTID_POLICY ",0.4.0.2042.1.2" },
	{ "signature", "critical,nonRepudiation", NULL, SMARTID_POLICY ",0.4.0.194112.1.2" },
};

struct sid {
	char *sd_given;
	char *sd_family;
	const char *sd_rrn;
	int64_t sd_not_before;
	int64_t sd_not_after;
	struct pki_settings sd_ps;
	X509 *sd_ca_cert;
	EVP_PKEY *sd_ca_key; /* NULL with sd_signer */
	const struct pki_signer *sd_signer;
	X509 *sd_root;
	X509 *sd_cert[SID_NROLES];
	char *sd_serial[SID_NROLES];
	char sd_document[SMARTID_DOC_LEN + 1];
	bool sd_given_document; /* sd_document is the caller's */
};

static void
sid_free(struct sid *d)
{
	free(d->sd_given);
	free(d->sd_family);
	pki_settings_clear(&d->sd_ps);
	X509_free(d->sd_ca_cert);
	EVP_PKEY_free(d->sd_ca_key);
	X509_free(d->sd_root);
	for (int i = 0; i < SID_NROLES; i++) {
		X509_free(d->sd_cert[i]);
		free(d->sd_serial[i]);
	}
	memset(d, 0, sizeof(*d));
}

/* ---- checks ---- */

static int
key_check(EVP_PKEY *key, const char *what, struct sl_err *err)
{
	int bits;

	if (key == NULL)
		return sl_fail(err, SL_EINVAL, "the %s public key is missing", what);
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
		return sl_fail(err, SL_EINVAL, "the %s key is %s; Smart-ID keys are RSA (split-key signing)", what,
			EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "not RSA");
	bits = EVP_PKEY_get_bits(key);
	if (bits < SMARTID_RSA_MIN || bits > SMARTID_RSA_MAX)
		return sl_fail(err, SL_EINVAL, "the %s key has %d bits; %d to %d are accepted", what, bits,
			SMARTID_RSA_MIN, SMARTID_RSA_MAX);
	return SL_OK;
}

/* PNOBE-<rrn>-XXXX-Q with XXXX from the alphabet. */
static bool
document_ok(const char *doc, const char *rrn)
{
	if (doc == NULL || strlen(doc) != SMARTID_DOC_LEN || strncmp(doc, "PNOBE-", 6) != 0 ||
		strncmp(doc + 6, rrn, 11) != 0 || doc[17] != '-' || strcmp(doc + 22, "-Q") != 0)
		return false;
	for (int i = 18; i < 22; i++)
		if (strchr(doc_alphabet, doc[i]) == NULL || doc[i] == '\0')
			return false;
	return true;
}

static int
sid_check(const struct pki_smartid_opts *o, struct sid *d, struct sl_err *err)
{
	int century, rc;

	if ((rc = pki_names(o->so_name, o->so_given, o->so_family, &d->sd_given, &d->sd_family, err)) != SL_OK ||
		(rc = pki_rrn_check(o->so_rrn, &century, err)) != SL_OK)
		return rc;
	if (o->so_document != NULL && !document_ok(o->so_document, o->so_rrn))
		return sl_fail(
			err, SL_EINVAL, "a document number is PNOBE-%s-XXXX-Q, X one of %s", o->so_rrn, doc_alphabet);
	if ((rc = key_check(o->so_auth_pub, "authentication", err)) != SL_OK ||
		(rc = key_check(o->so_sign_pub, "signing", err)) != SL_OK)
		return rc;
	if (EVP_PKEY_eq(o->so_auth_pub, o->so_sign_pub) == 1)
		return sl_fail(err, SL_EINVAL, "the authentication and signing keys must differ");
	d->sd_rrn = o->so_rrn;
	d->sd_not_before = sl_now() - 3600; /* an hour's clock skew */
	d->sd_not_after = pki_add_years(sl_now(), SMARTID_YEARS);
	if (o->so_document != NULL) {
		memcpy(d->sd_document, o->so_document, SMARTID_DOC_LEN + 1);
		d->sd_given_document = true;
	}
	return SL_OK;
}

/* ---- certificates ---- */

/* The CA's certificate, settings and root; its key too unless a signer
 * holds it (sleuteld's key holder). */
static int
sid_load(const char *dir, struct sid *d, struct sl_err *err)
{
	const struct pki_signer *s = d->sd_signer;
	int rc = s != NULL && s->ps_smartid_ca_ensure != NULL ? s->ps_smartid_ca_ensure(s->ps_arg, err)
							      : pki_smartid_ca_ensure(dir, err);

	if (rc != SL_OK)
		return rc;
	if (d->sd_signer == NULL)
		return pki_issuer_load(dir, PKI_CA_SMARTID, &d->sd_ps, &d->sd_ca_cert, &d->sd_ca_key, &d->sd_root, err);
	if ((rc = pki_settings_load(dir, &d->sd_ps, err)) != SL_OK)
		return rc;
	d->sd_ca_cert = pki_cert_load(dir, pki_cas[PKI_CA_SMARTID].ci_base, err);
	d->sd_root = d->sd_ca_cert ? pki_cert_load(dir, "root", err) : NULL;
	return d->sd_root ? SL_OK : (err ? err->code : SL_ERR);
}

/* C, CN=<FAMILY>,<GIVEN>,<RRN>, SN, GN, serialNumber=PNOBE-<RRN>. */
static X509_NAME *
sid_name(const struct sid *d)
{
	char cn[3 * PKI_NAME_MAX], pno[32];

	snprintf(cn, sizeof(cn), "%s,%s,%s", d->sd_family, d->sd_given, d->sd_rrn);
	snprintf(pno, sizeof(pno), "PNOBE-%s", d->sd_rrn);
	return pki_person_name(cn, d->sd_family, d->sd_given, pno);
}

static int
sid_cert(struct sid *d, int role, EVP_PKEY *pub, struct sl_err *err)
{
	const struct sid_role *r = &sid_roles[role];
	X509_NAME *name = sid_name(d);
	X509 *cert = NULL;
	int rc = SL_ECRYPTO;

	if (name == NULL)
		return sl_fail(err, SL_EINVAL,
			"the name does not fit a certificate (UTF-8, at most 64 characters in \"FAMILY,GIVEN,RRN\")");
	cert = pki_cert_new(pub, name, d->sd_not_before, d->sd_not_after);
	if (cert != NULL &&
		pki_leaf_exts(cert, d->sd_ca_cert, &d->sd_ps, &pki_cas[PKI_CA_SMARTID], r->sr_ku, r->sr_eku,
			r->sr_policies) == SL_OK &&
		(d->sd_signer ? pki_ext_sign_cert(
					cert, d->sd_ca_cert, d->sd_signer, pki_cas[PKI_CA_SMARTID].ci_base, err)
			      : pki_cert_sign(cert, d->sd_ca_cert, d->sd_ca_key)) == SL_OK)
		rc = (d->sd_serial[role] = pki_serial_hex(X509_get0_serialNumber(cert))) ? SL_OK : SL_ENOMEM;
	if (rc == SL_OK) {
		d->sd_cert[role] = cert;
		cert = NULL;
	} else {
		sl_fail(err, rc, "cannot make the Smart-ID %s certificate", r->sr_kind);
	}
	X509_free(cert);
	X509_NAME_free(name);
	return rc;
}

/* ---- document number and index ---- */

static bool
document_used(json_t *index, const char *doc)
{
	json_t *e;
	const char *s;
	size_t i;

	json_array_foreach(json_object_get(index, "certs"), i, e)
	{
		s = json_string_value(json_object_get(e, "document_number"));
		if (s != NULL && strcmp(s, doc) == 0)
			return true;
	}
	return false;
}

/* The given document number when unused, else a fresh one. */
static int
document_pick(json_t *index, struct sid *d, bool given, struct sl_err *err)
{
	uint8_t rnd[4];

	if (given)
		return document_used(index, d->sd_document)
			       ? sl_fail(err, SL_ECONFLICT, "document number %s is already issued", d->sd_document)
			       : SL_OK;
	for (int n = 0; n < SMARTID_DRAWS; n++) {
		if (sl_random(rnd, sizeof(rnd)) != SL_OK)
			return sl_fail(err, SL_ECRYPTO, "no random bytes");
		snprintf(d->sd_document, sizeof(d->sd_document), "PNOBE-%s-%c%c%c%c-Q", d->sd_rrn,
			doc_alphabet[rnd[0] & 31], doc_alphabet[rnd[1] & 31], doc_alphabet[rnd[2] & 31],
			doc_alphabet[rnd[3] & 31]);
		if (!document_used(index, d->sd_document))
			return SL_OK;
	}
	return sl_fail(err, SL_ECONFLICT, "no unused document number for %s after %d draws", d->sd_rrn, SMARTID_DRAWS);
}

/* Pick the document number and record both certificates with it, under
 * the index lock (so that two devices never share a number). */
static int
sid_add(json_t *index, void *arg, struct sl_err *err)
{
	struct sid *d = arg;
	int rc = document_pick(index, d, d->sd_given_document, err);

	for (int i = 0; rc == SL_OK && i < SID_NROLES; i++)
		rc = pki_index_add(index, d->sd_cert[i], d->sd_serial[i], PKI_CA_SMARTID, sid_roles[i].sr_kind,
			d->sd_document, err);
	return rc;
}

static int
sid_result(const struct sid *d, struct pki_smartid *out)
{
	out->sm_document = strdup(d->sd_document);
	out->sm_auth_serial = strdup(d->sd_serial[SID_AUTH]);
	out->sm_sign_serial = strdup(d->sd_serial[SID_SIGN]);
	out->sm_auth_pem = pki_cert_pem(d->sd_cert[SID_AUTH]);
	out->sm_sign_pem = pki_cert_pem(d->sd_cert[SID_SIGN]);
	out->sm_chain_pem = pki_chain_pem(d->sd_ca_cert, d->sd_root);
	if (out->sm_document && out->sm_auth_serial && out->sm_sign_serial && out->sm_auth_pem && out->sm_sign_pem &&
		out->sm_chain_pem)
		return SL_OK;
	return SL_ENOMEM;
}

int
pki_smartid_issue(const char *dir, const struct pki_smartid_opts *o, struct pki_smartid *out, struct sl_err *err)
{
	struct sid d = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	d.sd_signer = o->so_signer;
	if ((rc = sid_check(o, &d, err)) != SL_OK || (rc = sid_load(dir, &d, err)) != SL_OK)
		goto out;
	rc = sid_cert(&d, SID_AUTH, o->so_auth_pub, err);
	if (rc == SL_OK)
		rc = sid_cert(&d, SID_SIGN, o->so_sign_pub, err);
	/* Recorded before handed out: OCSP must know every certificate. */
	if (rc == SL_OK)
		rc = pki_index_update(dir, sid_add, &d, err);
	if (rc == SL_OK && (rc = sid_result(&d, out)) != SL_OK)
		sl_fail(err, rc, "out of memory");
out:
	if (rc != SL_OK)
		pki_smartid_clear(out);
	sid_free(&d);
	return rc;
}

void
pki_smartid_clear(struct pki_smartid *s)
{
	if (s == NULL)
		return;
	free(s->sm_document);
	free(s->sm_auth_serial);
	free(s->sm_sign_serial);
	free(s->sm_auth_pem);
	free(s->sm_sign_pem);
	free(s->sm_chain_pem);
	memset(s, 0, sizeof(*s));
}
