/*
 * status.c — revocation status: OCSP responses (RFC 6960) and CRLs
 * (RFC 5280) from index.json.
 *
 * The responder reads the directory for every request, so a revocation is
 * visible at once and the caller keeps no state.  A request is parsed with
 * d2i_OCSP_REQUEST and must be exactly that DER, with 1 to
 * PKI_OCSP_MAX_IDS CertIDs; anything else is answered malformedRequest.
 * Each CertID is matched against the issuing CAs by issuer name and key
 * hash, computed with the request's own hash algorithm, then by serial in
 * the index: good, revoked (time and reason) or unknown.
 *
 * A delegated responder may only sign for the CA that issued it, so one
 * response is signed by one CA's responder: the CA of the first CertID
 * that names one of ours.  CertIDs naming the other CA in the same request
 * are answered unknown; a request naming neither gets unauthorized (as RFC
 * 5019 2.2.3 has it for issuers a responder does not serve).  The signer's
 * certificate is included, so that clients can verify the delegation.
 * The Smart-ID CA is served like the others once it exists; a PKI made
 * before it (pki_smartid_ca_ensure) is answered for the eID CAs alone.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

#define PKI_OCSP_MAX_IDS 64 /* CertIDs in one request */
#define PKI_OCSP_REQ_MAX ((size_t)64 * 1024) /* bytes of a request */

struct ocsp_ctx {
	X509 *oc_ca[PKI_NCA];
	json_t *oc_index;
	int oc_ca_used; /* the CA whose responder signs, or -1 */
	int64_t oc_now;
	ASN1_TIME *oc_this;
	ASN1_TIME *oc_next;
};

/* An OCSP response without a body (malformedRequest, unauthorized ...). */
static int
ocsp_error_response(int status, uint8_t **resp, size_t *resplen, struct sl_err *err)
{
	OCSP_RESPONSE *r = OCSP_response_create(status, NULL);
	unsigned char *der = NULL;
	int n = r ? i2d_OCSP_RESPONSE(r, &der) : -1, rc = pki_der_take(der, n, resp, resplen);

	OCSP_RESPONSE_free(r);
	return rc == SL_OK ? SL_OK : sl_fail(err, rc, "cannot encode an OCSP response");
}

/* The issuing CA a CertID names, or -1. */
static int
ocsp_match_ca(const struct ocsp_ctx *ctx, OCSP_CERTID *cid)
{
	ASN1_OBJECT *md_obj = NULL;
	const EVP_MD *md;
	OCSP_CERTID *ca_id;
	int found = -1;

	if (!OCSP_id_get0_info(NULL, &md_obj, NULL, NULL, cid) || (md = EVP_get_digestbyobj(md_obj)) == NULL)
		return -1;
	for (int i = 0; found < 0 && i < PKI_NCA; i++) {
		if (ctx->oc_ca[i] == NULL)
			continue; /* the Smart-ID CA of an older PKI: not made yet */
		ca_id = OCSP_cert_to_id(md, NULL, ctx->oc_ca[i]);
		if (ca_id != NULL && OCSP_id_issuer_cmp(ca_id, cid) == 0)
			found = i;
		OCSP_CERTID_free(ca_id);
	}
	return found;
}

/* Add the status of one CertID to the response. */
static int
ocsp_add_status(struct ocsp_ctx *ctx, OCSP_BASICRESP *bs, OCSP_CERTID *cid)
{
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *revtime = NULL;
	json_t *e = NULL;
	char *hex = NULL;
	int ca = ocsp_match_ca(ctx, cid), status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1, rc;

	if (ca >= 0 && ca == ctx->oc_ca_used && OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) &&
		(hex = pki_serial_hex(serial)) != NULL)
		e = pki_index_find(ctx->oc_index, pki_cas[ca].ci_name, hex);
	if (e != NULL && pki_entry_revoked(e)) {
		status = V_OCSP_CERTSTATUS_REVOKED;
		reason = pki_reason_code(json_string_value(json_object_get(e, "reason")));
		revtime = ASN1_TIME_set(NULL, (time_t)json_integer_value(json_object_get(e, "revoked_at")));
	} else if (e != NULL) {
		status = V_OCSP_CERTSTATUS_GOOD;
	}
	rc = (status != V_OCSP_CERTSTATUS_REVOKED || revtime != NULL) &&
			     OCSP_basic_add1_status(bs, cid, status, reason, revtime, ctx->oc_this, ctx->oc_next) !=
				     NULL
		     ? SL_OK
		     : SL_ECRYPTO;
	ASN1_TIME_free(revtime);
	free(hex);
	return rc;
}

static void
ocsp_ctx_clear(struct ocsp_ctx *ctx)
{
	for (int i = 0; i < PKI_NCA; i++)
		X509_free(ctx->oc_ca[i]);
	json_decref(ctx->oc_index);
	ASN1_TIME_free(ctx->oc_this);
	ASN1_TIME_free(ctx->oc_next);
}

static int
ocsp_ctx_load(const char *dir, int64_t validity, struct ocsp_ctx *ctx, struct sl_err *err)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->oc_ca_used = -1;
	ctx->oc_now = sl_now();
	for (int i = 0; i < PKI_NCA; i++)
		if ((pki_cas[i].ci_eid || pki_ca_present(dir, i)) &&
			(ctx->oc_ca[i] = pki_cert_load(dir, pki_cas[i].ci_base, err)) == NULL)
			return err ? err->code : SL_ERR;
	if ((ctx->oc_index = pki_index_load(dir, err)) == NULL)
		return err ? err->code : SL_ERR;
	ctx->oc_this = ASN1_TIME_set(NULL, (time_t)ctx->oc_now);
	ctx->oc_next = ASN1_TIME_set(NULL, (time_t)(ctx->oc_now + validity));
	if (ctx->oc_this == NULL || ctx->oc_next == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	return SL_OK;
}

/* Sign the statuses of every CertID of `rq` with the responder of
 * ctx->oc_ca_used and encode the successful response. */
static int
ocsp_sign(const char *dir, const struct pki_signer *ps, struct ocsp_ctx *ctx, OCSP_REQUEST *rq, uint8_t **resp,
	size_t *resplen, struct sl_err *err)
{
	const char *signer_base = pki_cas[ctx->oc_ca_used].ci_ocsp;
	X509 *signer = pki_cert_load(dir, signer_base, err);
	EVP_PKEY *key = signer && ps == NULL ? pki_key_load(dir, signer_base, err) : NULL;
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *r = NULL;
	unsigned char *der = NULL;
	int rc = key || (signer && ps) ? SL_OK : (err ? err->code : SL_ERR), n;

	if (rc == SL_OK && bs == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	for (int i = 0; rc == SL_OK && i < OCSP_request_onereq_count(rq); i++)
		rc = ocsp_add_status(ctx, bs, OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i)));
	if (rc == SL_OK) {
		if (OCSP_copy_nonce(bs, rq) <= 0 ||
			(ps ? pki_ext_sign_ocsp(bs, signer, ps, signer_base, err) != SL_OK
			    : OCSP_basic_sign(bs, signer, key, EVP_sha384(), NULL, 0) != 1) ||
			(r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL) {
			rc = sl_fail(err, SL_ECRYPTO, "cannot sign the OCSP response");
		} else {
			n = i2d_OCSP_RESPONSE(r, &der);
			if ((rc = pki_der_take(der, n, resp, resplen)) != SL_OK)
				sl_fail(err, rc, "cannot encode the OCSP response");
		}
	} else if (signer != NULL && bs != NULL) {
		sl_fail(err, rc, "cannot build the OCSP response");
	}
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	EVP_PKEY_free(key);
	X509_free(signer);
	return rc;
}

int
pki_ocsp_respond(const char *dir, const uint8_t *req, size_t reqlen, int64_t validity, uint8_t **resp, size_t *resplen,
	struct sl_err *err)
{
	return pki_ocsp_respond_with(dir, NULL, req, reqlen, validity, resp, resplen, err);
}

int
pki_ocsp_respond_with(const char *dir, const struct pki_signer *signer, const uint8_t *req, size_t reqlen,
	int64_t validity, uint8_t **resp, size_t *resplen, struct sl_err *err)
{
	const unsigned char *p = req;
	OCSP_REQUEST *rq = NULL;
	struct ocsp_ctx ctx;
	int n, rc;

	*resp = NULL;
	*resplen = 0;
	if (validity <= 0 || validity > INT32_MAX)
		return sl_fail(err, SL_EINVAL, "an OCSP response's validity is 1 to %d seconds", INT32_MAX);
	if (req != NULL && reqlen > 0 && reqlen <= PKI_OCSP_REQ_MAX)
		rq = d2i_OCSP_REQUEST(NULL, &p, (long)reqlen);
	n = rq ? OCSP_request_onereq_count(rq) : 0;
	if (rq == NULL || p != req + reqlen || n < 1 || n > PKI_OCSP_MAX_IDS) {
		OCSP_REQUEST_free(rq);
		return ocsp_error_response(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp, resplen, err);
	}
	rc = ocsp_ctx_load(dir, validity, &ctx, err);
	for (int i = 0; rc == SL_OK && ctx.oc_ca_used < 0 && i < n; i++)
		ctx.oc_ca_used = ocsp_match_ca(&ctx, OCSP_onereq_get0_id(OCSP_request_onereq_get0(rq, i)));
	if (rc == SL_OK && ctx.oc_ca_used < 0)
		rc = ocsp_error_response(OCSP_RESPONSE_STATUS_UNAUTHORIZED, resp, resplen, err);
	else if (rc == SL_OK)
		rc = ocsp_sign(dir, signer, &ctx, rq, resp, resplen, err);
	ocsp_ctx_clear(&ctx);
	OCSP_REQUEST_free(rq);
	return rc;
}

/* ---- CRL ---- */

static int
crl_add(X509_CRL *crl, json_t *e)
{
	const char *hex = json_string_value(json_object_get(e, "serial"));
	int reason = pki_reason_code(json_string_value(json_object_get(e, "reason")));
	X509_REVOKED *rev = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)json_integer_value(json_object_get(e, "revoked_at")));
	ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	int ok;

	ok = rev && t && code && hex && BN_hex2bn(&bn, hex) > 0 && (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	     X509_REVOKED_set_serialNumber(rev, serial) && X509_REVOKED_set_revocationDate(rev, t) &&
	     (reason < 0 || (ASN1_ENUMERATED_set(code, reason) &&
				    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0, 0))) &&
	     X509_CRL_add0_revoked(crl, rev);
	if (ok)
		rev = NULL; /* the CRL has it */
	X509_REVOKED_free(rev);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(code);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok ? SL_OK : SL_ECRYPTO;
}

/* Version, issuer, times, CRL number (the time: it only grows) and AKI. */
static int
crl_header(X509_CRL *crl, X509 *ca, int64_t now, int64_t validity)
{
	ASN1_TIME *last = ASN1_TIME_set(NULL, (time_t)now), *next = ASN1_TIME_set(NULL, (time_t)(now + validity));
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	X509V3_CTX v3;
	X509_EXTENSION *aki = NULL;
	int ok;

	X509V3_set_ctx(&v3, ca, NULL, NULL, crl, 0);
	ok = last && next && number && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	     X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) && X509_CRL_set1_lastUpdate(crl, last) &&
	     X509_CRL_set1_nextUpdate(crl, next) && ASN1_INTEGER_set_int64(number, now) &&
	     X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) &&
	     (aki = X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid")) != NULL &&
	     X509_CRL_add_ext(crl, aki, -1);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(number);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	return ok ? SL_OK : SL_ECRYPTO;
}

int
pki_crl(const char *dir, const char *ca, int64_t validity, uint8_t **der, size_t *len, struct sl_err *err)
{
	return pki_crl_with(dir, NULL, ca, validity, der, len, err);
}

int
pki_crl_with(const char *dir, const struct pki_signer *signer, const char *ca, int64_t validity, uint8_t **der,
	size_t *len, struct sl_err *err)
{
	int id = pki_ca_find(ca), rc;
	unsigned char *buf = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	X509_CRL *crl = NULL;
	json_t *index = NULL, *e;
	size_t i;

	*der = NULL;
	*len = 0;
	if (id < 0)
		return sl_fail(err, SL_EINVAL, "no CA %s (citizen, foreigner or smartid)", ca ? ca : "(null)");
	if (!pki_cas[id].ci_eid && !pki_ca_present(dir, id))
		return sl_fail(err, SL_ENOTFOUND, "%s has no %s yet: it is made with the first Smart-ID certificates",
			dir, pki_cas[id].ci_cn);
	if (validity <= 0 || validity > INT32_MAX)
		return sl_fail(err, SL_EINVAL, "a CRL's validity is 1 to %d seconds", INT32_MAX);
	if ((cert = pki_cert_load(dir, pki_cas[id].ci_base, err)) == NULL ||
		(signer == NULL && (key = pki_key_load(dir, pki_cas[id].ci_base, err)) == NULL) ||
		(index = pki_index_load(dir, err)) == NULL) {
		rc = err ? err->code : SL_ERR;
		goto out;
	}
	rc = (crl = X509_CRL_new()) ? crl_header(crl, cert, sl_now(), validity) : SL_ENOMEM;
	json_array_foreach(json_object_get(index, "certs"), i, e)
	{
		const char *c = json_string_value(json_object_get(e, "ca"));

		if (rc == SL_OK && pki_entry_revoked(e) && c != NULL && strcmp(c, pki_cas[id].ci_name) == 0)
			rc = crl_add(crl, e);
	}
	if (rc == SL_OK && !X509_CRL_sort(crl))
		rc = SL_ECRYPTO;
	if (rc == SL_OK && signer != NULL)
		rc = pki_ext_sign_crl(crl, cert, signer, pki_cas[id].ci_base, err);
	else if (rc == SL_OK && X509_CRL_sign(crl, key, EVP_sha384()) <= 0)
		rc = SL_ECRYPTO;
	if (rc == SL_OK) {
		int n = i2d_X509_CRL(crl, &buf);

		rc = pki_der_take(buf, n, der, len);
	}
	if (rc != SL_OK)
		sl_fail(err, rc, "cannot make the CRL of the %s CA", ca);
out:
	X509_CRL_free(crl);
	json_decref(index);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}
