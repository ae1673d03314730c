/*
 * revocation.c — is this card revoked?  OCSP first (RFC 6960): the URL from
 * the certificate's AIA, or the configured one; a nonce; the response's
 * signature checked against the trust store, its signer being the issuing
 * CA or a responder it delegated (OCSP_basic_verify); the answer fresh
 * (thisUpdate/nextUpdate within the clock skew, or max_age when there is
 * no nextUpdate).  When OCSP cannot answer, the CRL (from the CRL
 * distribution point, or the configured URL): its signature by the issuer
 * checked, fresh, cached until its nextUpdate.
 *
 * Fetches use OpenSSL's own HTTP client with a timeout and a size cap.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "eid_int.h"
#include "../../outbound/outbound.h"

static int64_t
asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* "Not from the future" is judged against the clock after the fetch: an
 * answer made while an earlier fetch timed out is newer than the
 * validation's `now` by that timeout. */
static int64_t
later(int64_t now)
{
	int64_t t = sl_now();

	return t > now ? t : now;
}

/* On an outbound worker, the connected socket is registered so a shutdown
 * can end a fetch that waits on a hanging responder at once (and none
 * starts once the pool aborts); elsewhere a no-op. */
static BIO *
abortable(BIO *bio, void *arg, int connect, int detail)
{
	int fd = -1;

	(void)arg, (void)detail;
	if (!connect) {
		outbound_unwatch();
		return bio;
	}
	if (BIO_get_fd(bio, &fd) < 0)
		return bio;
	return outbound_watch(fd) == SL_OK ? bio : NULL;
}

/* POST (req != NULL) or GET a URL; the response body, or NULL. */
static BIO *
fetch(const char *url, BIO *req, const char *ctype, const char *expect, int timeout, char *detail, size_t dlen)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int ssl = 0;
	BIO *resp = NULL;

	if (OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1) {
		snprintf(detail, dlen, "bad URL %s", url);
		return NULL;
	}
	if (ssl) {
		/* OCSP and CRLs are signed objects served over plain HTTP. */
		snprintf(detail, dlen, "https revocation URLs are not used: %s", url);
	} else {
		resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, abortable, NULL, 0, NULL,
			ctype, req, expect, 1, EID_MAX_FETCH, timeout, 0);
		if (resp == NULL)
			snprintf(detail, dlen, "no answer from %s", url);
	}
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return resp;
}

static char *
ocsp_url_of(struct eid_validator *v, X509 *leaf)
{
	STACK_OF(OPENSSL_STRING) * urls;
	char *url = NULL;

	if (v->ev.ev_ocsp_url != NULL)
		return strdup(v->ev.ev_ocsp_url);
	urls = X509_get1_ocsp(leaf);
	if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
		url = strdup(sk_OPENSSL_STRING_value(urls, 0));
	X509_email_free(urls);
	return url;
}

static enum eid_status
ocsp_answer(struct eid_validator *v, OCSP_REQUEST *req, OCSP_RESPONSE *resp, OCSP_CERTID *id, X509 *issuer, int64_t now,
	int64_t *until, char *detail, size_t dlen)
{
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *certs = sk_X509_new_null();
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	enum eid_status st = EID_STATUS_NONE;
	int status = -1, reason = -1, nonce;

	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(detail, dlen, "OCSP responder answered status %ld", (long)OCSP_response_status(resp));
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL || certs == NULL) {
		snprintf(detail, dlen, "OCSP answer is not a basic response");
		goto out;
	}
	sk_X509_push(certs, issuer);
	if (OCSP_basic_verify(bs, certs, v->v_store, 0) != 1) {
		snprintf(detail, dlen, "OCSP answer signed by no authority of this CA");
		goto out;
	}
	/* 1: nonce echoed; -1: responder does not do nonces (accepted);
	 * anything else (0: different nonce) is a replayed or foreign answer. */
	nonce = OCSP_check_nonce(req, bs);
	if (nonce != 1 && nonce != -1) {
		snprintf(detail, dlen, "OCSP nonce mismatch");
		goto out;
	}
	if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
		snprintf(detail, dlen, "OCSP answer does not cover this certificate");
		goto out;
	}
	if (OCSP_check_validity(thisupd, nextupd, v->ev.ev_skew, nextupd ? -1 : v->ev.ev_max_age) != 1 ||
		asn1_epoch(thisupd) > later(now) + v->ev.ev_skew ||
		(nextupd && asn1_epoch(nextupd) < now - v->ev.ev_skew)) {
		snprintf(detail, dlen, "OCSP answer is stale or from the future");
		goto out;
	}
	*until = nextupd ? asn1_epoch(nextupd) : now + v->ev.ev_max_age;
	st = status == V_OCSP_CERTSTATUS_GOOD      ? EID_STATUS_GOOD
	     : status == V_OCSP_CERTSTATUS_REVOKED ? EID_STATUS_REVOKED
						   : EID_STATUS_UNKNOWN;
	if (st == EID_STATUS_REVOKED)
		snprintf(detail, dlen, "revoked (OCSP, reason %d)", reason);
out:
	sk_X509_free(certs);
	OCSP_BASICRESP_free(bs);
	return st;
}

static enum eid_status
ocsp_status(struct eid_validator *v, X509 *leaf, X509 *issuer, int64_t now, int64_t *until, char *detail, size_t dlen)
{
	char *url = ocsp_url_of(v, leaf);
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer), *id_copy;
	OCSP_RESPONSE *resp = NULL;
	BIO *body = NULL, *answer = NULL;
	enum eid_status st = EID_STATUS_NONE;

	if (url == NULL) {
		snprintf(detail, dlen, "no OCSP URL");
		goto out;
	}
	id_copy = id ? OCSP_CERTID_dup(id) : NULL;
	if (req == NULL || id_copy == NULL || OCSP_request_add0_id(req, id_copy) == NULL ||
		OCSP_request_add1_nonce(req, NULL, -1) != 1) {
		snprintf(detail, dlen, "cannot build the OCSP request");
		goto out;
	}
	body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req);
	answer = body ? fetch(url, body, "application/ocsp-request", "application/ocsp-response", v->ev.ev_timeout,
				detail, dlen)
		      : NULL;
	resp = answer ? d2i_OCSP_RESPONSE_bio(answer, NULL) : NULL;
	if (answer != NULL && resp == NULL)
		snprintf(detail, dlen, "malformed OCSP answer from %s", url);
	if (resp != NULL)
		st = ocsp_answer(v, req, resp, id, issuer, now, until, detail, dlen);
out:
	OCSP_RESPONSE_free(resp);
	BIO_free(answer);
	BIO_free(body);
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	free(url);
	return st;
}

static char *
crl_url_of(struct eid_validator *v, X509 *leaf)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	char *url = NULL;

	for (int i = 0; dps != NULL && url == NULL && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; url == NULL && j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			if (gn->type == GEN_URI)
				url = sl_strndup((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
					(size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier));
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	if (url == NULL && v->ev.ev_crl_url != NULL)
		url = strdup(v->ev.ev_crl_url);
	return url;
}

/* A fresh CRL for `url` signed by `issuer`: from the cache, or fetched.
 * Returns a new reference. Called with v_lock held for the cache only. */
static X509_CRL *
crl_get(struct eid_validator *v, const char *url, X509 *issuer, int64_t now, char *detail, size_t dlen)
{
	X509_CRL *crl = NULL;
	BIO *body;
	int64_t next;
	size_t slot = 0;

	pthread_mutex_lock(&v->v_lock);
	for (size_t i = 0; i < EID_CRL_CACHE; i++) {
		struct eid_crl_entry *e = &v->v_crls[i];
		if (e->ce_url != NULL && strcmp(e->ce_url, url) == 0 && e->ce_next_update > now &&
			X509_CRL_verify(e->ce_crl, X509_get0_pubkey(issuer)) == 1) {
			crl = e->ce_crl;
			X509_CRL_up_ref(crl);
			break;
		}
	}
	pthread_mutex_unlock(&v->v_lock);
	if (crl != NULL)
		return crl;
	body = fetch(url, NULL, NULL, NULL, v->ev.ev_timeout, detail, dlen);
	crl = body ? d2i_X509_CRL_bio(body, NULL) : NULL;
	BIO_free(body);
	if (crl == NULL) {
		if (body != NULL)
			snprintf(detail, dlen, "malformed CRL from %s", url);
		return NULL;
	}
	next = asn1_epoch(X509_CRL_get0_nextUpdate(crl));
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1 ||
		X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
		snprintf(detail, dlen, "CRL from %s is not signed by the issuing CA", url);
	} else if (next < now - v->ev.ev_skew ||
		   asn1_epoch(X509_CRL_get0_lastUpdate(crl)) > later(now) + v->ev.ev_skew) {
		snprintf(detail, dlen, "CRL from %s is stale", url);
	} else {
		pthread_mutex_lock(&v->v_lock);
		for (size_t i = 0; i < EID_CRL_CACHE; i++)
			if (v->v_crls[i].ce_url == NULL || strcmp(v->v_crls[i].ce_url, url) == 0 ||
				v->v_crls[i].ce_next_update < v->v_crls[slot].ce_next_update)
				slot = i;
		free(v->v_crls[slot].ce_url);
		X509_CRL_free(v->v_crls[slot].ce_crl);
		v->v_crls[slot].ce_url = strdup(url);
		v->v_crls[slot].ce_crl = crl;
		v->v_crls[slot].ce_next_update = next;
		X509_CRL_up_ref(crl);
		pthread_mutex_unlock(&v->v_lock);
		return crl;
	}
	X509_CRL_free(crl);
	return NULL;
}

static enum eid_status
crl_status(struct eid_validator *v, X509 *leaf, X509 *issuer, int64_t now, int64_t *until, char *detail, size_t dlen)
{
	char *url = crl_url_of(v, leaf);
	X509_CRL *crl;
	X509_REVOKED *rev = NULL;
	enum eid_status st;

	if (url == NULL)
		return EID_STATUS_NONE;
	crl = crl_get(v, url, issuer, now, detail, dlen);
	free(url);
	if (crl == NULL)
		return EID_STATUS_NONE;
	if (X509_CRL_get0_by_cert(crl, &rev, leaf) == 1) {
		snprintf(detail, dlen, "revoked (CRL)");
		st = EID_STATUS_REVOKED;
	} else {
		st = EID_STATUS_GOOD;
	}
	*until = asn1_epoch(X509_CRL_get0_nextUpdate(crl));
	X509_CRL_free(crl);
	return st;
}

enum eid_status
eid_revocation_status(
	struct eid_validator *v, X509 *leaf, X509 *issuer, int64_t now, int64_t *until, char *detail, size_t detail_len)
{
	enum eid_status st = EID_STATUS_NONE;
	char ocsp_detail[SL_ERR_MAX] = "";

	if (v->ev.ev_ocsp)
		st = ocsp_status(v, leaf, issuer, now, until, ocsp_detail, sizeof(ocsp_detail));
	if (st == EID_STATUS_NONE && v->ev.ev_crl)
		st = crl_status(v, leaf, issuer, now, until, detail, detail_len);
	if (st == EID_STATUS_NONE && ocsp_detail[0] != '\0')
		snprintf(detail, detail_len, "%s", ocsp_detail);
	else if (st != EID_STATUS_NONE && ocsp_detail[0] != '\0' && st != EID_STATUS_REVOKED)
		snprintf(detail, detail_len, "OCSP failed (%s); CRL answered", ocsp_detail);
	else if (st == EID_STATUS_REVOKED && detail[0] == '\0')
		snprintf(detail, detail_len, "%s", ocsp_detail);
	return st;
}

void
eid_crl_cache_free(struct eid_validator *v)
{
	for (size_t i = 0; i < EID_CRL_CACHE; i++) {
		free(v->v_crls[i].ce_url);
		X509_CRL_free(v->v_crls[i].ce_crl);
		v->v_crls[i].ce_url = NULL;
		v->v_crls[i].ce_crl = NULL;
	}
}
