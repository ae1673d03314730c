/*
 * pki_routes.c — in demo mode ([pki] dir set), sleuteld serves the demo
 * PKI's OCSP responder (RFC 6960 appendix A: POST, or GET with the request
 * base64 in the path) and its CRLs on a plain-HTTP listener of their own,
 * as real CAs serve theirs: the answers are signed, not the transport.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "../pki/pki.h"

#define PKI_MAX_REQUEST 16384

static void
ocsp_answer(struct server *srv, struct http_request *rq, const uint8_t *der, size_t len)
{
	struct sl_err err = { 0 };
	uint8_t *resp = NULL;
	size_t n = 0;

	if (pki_ocsp_respond(srv->sv_conf->c_pki_dir, der, len, srv->sv_conf->c_pki_ocsp_validity, &resp, &n, &err) !=
		SL_OK) {
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

void
server_pki_crl(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *name = http_path(rq) + strlen("/crl/");
	struct sl_err err = { 0 };
	uint8_t *der = NULL;
	size_t len = 0;
	const char *ca = strcmp(name, "citizen.crl") == 0     ? "citizen"
			 : strcmp(name, "foreigner.crl") == 0 ? "foreigner"
							      : NULL;

	if (ca == NULL) {
		http_send_text(rq, 404, "text/plain", "no such CRL\n");
		return;
	}
	if (pki_crl(srv->sv_conf->c_pki_dir, ca, srv->sv_conf->c_pki_ocsp_validity, &der, &len, &err) != SL_OK) {
		http_send_text(rq, 500, "text/plain", "CRL error\n");
		return;
	}
	http_send_static(rq, "application/pkix-crl", (const char *)der, len);
	free(der);
}
