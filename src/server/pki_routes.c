/*
 * pki_routes.c — in demo mode ([pki] dir set), sleuteld serves the demo
 * PKI's OCSP responder (RFC 6960 appendix A: POST, or GET with the request
 * base64 in the path) and its CRLs on a plain-HTTP listener of their own,
 * as real CAs serve theirs: the answers are signed, not the transport.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server.h"
#include "../keyholder/keyholder.h"
#include "../pki/pki.h"

#define PKI_MAX_REQUEST 16384

static void
ocsp_answer(struct server *srv, struct http_request *rq, const uint8_t *der, size_t len)
{
	struct sl_err err = { 0 };
	struct pki_signer kh = { keyholder_pki_sign, srv->sv_kh }; /* the signing keys are the key holder's */
	uint8_t *resp = NULL;
	size_t n = 0;

	if (pki_ocsp_respond_with(srv->sv_conf->c_pki_dir, &kh, der, len, srv->sv_conf->c_pki_ocsp_validity, &resp, &n,
		    &err) != SL_OK) {
		http_send_text(rq, 500, "text/plain", "OCSP responder error\n");
		return;
	}
	http_send_static(rq, "application/ocsp-response", (const char *)resp, n);
	free(resp);
}

void
server_pki_ocsp(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *path = http_path(rq), *ct = http_content_type(rq);
	const uint8_t *body;
	uint8_t *der;
	size_t len = 0;

	if (http_method(rq) == HTTP_POST) {
		if (ct == NULL || strcmp(ct, "application/ocsp-request") != 0) {
			http_send_text(rq, 415, "text/plain", "expected application/ocsp-request\n");
			return;
		}
		body = http_body(rq, &len);
		if (len == 0 || len > PKI_MAX_REQUEST) {
			http_send_text(rq, 400, "text/plain", "empty or oversized OCSP request\n");
			return;
		}
		ocsp_answer(srv, rq, body, len);
		return;
	}
	/* GET /ocsp/<base64 DER> */
	path += strlen("/ocsp");
	while (*path == '/')
		path++;
	der = strlen(path) <= PKI_MAX_REQUEST ? sl_b64_decode(path, strlen(path), &len) : NULL;
	if (der == NULL || len == 0) {
		free(der);
		http_send_text(rq, 400, "text/plain", "malformed OCSP GET request\n");
		return;
	}
	ocsp_answer(srv, rq, der, len);
	free(der);
}

/* The CA certificates the cards' AIA caIssuers names (DER). */
static void
ca_cert(struct server *srv, struct http_request *rq, const char *name)
{
	static const char *const known[] = { "root", "citizen-ca", "foreigner-ca", "smartid-ca", NULL };
	char file[64], *path, *pem = NULL;
	struct sl_err err = { 0 };
	BIO *bio;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int n = 0;

	for (int i = 0; known[i]; i++) {
		if (strncmp(name, known[i], strlen(known[i])) == 0 && strcmp(name + strlen(known[i]), ".crt") == 0) {
			snprintf(file, sizeof(file), "%s.pem", known[i]);
			path = sl_path_resolve(srv->sv_conf->c_pki_dir, file);
			if (path != NULL && sl_file_read(path, 65536, &pem, NULL, &err) == SL_OK &&
				(bio = BIO_new_mem_buf(pem, -1)) != NULL) {
				x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
				BIO_free(bio);
			}
			free(path);
			free(pem);
			break;
		}
	}
	if (x != NULL && (n = i2d_X509(x, &der)) > 0)
		http_send_static(rq, "application/pkix-cert", (const char *)der, (size_t)n);
	else
		http_send_text(rq, 404, "text/plain", "no such certificate\n");
	OPENSSL_free(der);
	X509_free(x);
}

void
server_pki_crl(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *name = http_path(rq) + strlen("/crl/");
	struct pki_signer kh = { keyholder_pki_sign, srv->sv_kh };
	struct sl_err err = { 0 };
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;
	const char *ca = strcmp(name, "citizen.crl") == 0     ? "citizen"
			 : strcmp(name, "foreigner.crl") == 0 ? "foreigner"
			 : strcmp(name, "smartid.crl") == 0   ? "smartid"
							      : NULL;

	if (ca == NULL) {
		ca_cert(srv, rq, name);
		return;
	}
	rc = pki_crl_with(srv->sv_conf->c_pki_dir, &kh, ca, srv->sv_conf->c_pki_ocsp_validity, &der, &len, &err);
	if (rc == SL_ENOTFOUND) { /* a PKI made before its Smart-ID CA */
		http_send_text(rq, 404, "text/plain", "no such CRL\n");
		return;
	}
	if (rc != SL_OK) {
		http_send_text(rq, 500, "text/plain", "CRL error\n");
		return;
	}
	http_send_static(rq, "application/pkix-crl", (const char *)der, len);
	free(der);
}
