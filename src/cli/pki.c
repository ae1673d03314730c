/*
 * pki.c — `sleutel pki init|card|smartid|revoke|crl|ocsp`: the demo PKI (see
 * src/pki/pki.h and docs/pki.md).
 *
 * `pki ocsp` is a small standalone responder over HTTP (RFC 6960 appendix
 * A, RFC 5019): POST with an application/ocsp-request body of at most
 * OCSP_BODY_MAX bytes, or GET with the base64 request (URL-encoded) after
 * the OCSP URL's path.  It also serves what the certificates point to:
 * root.crt, citizen-ca.crt, foreigner-ca.crt and smartid-ca.crt (AIA
 * caIssuers, DER) and citizen.crl, foreigner.crl and smartid.crl (CDP,
 * fresh for every request), found by
 * their last path segment.  Answers are computed from the PKI directory
 * for every request, so revocations show at once.  SIGTERM and SIGINT stop
 * it.  It uses libmicrohttpd directly, with one polling thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "../pki/pki.h"

#define PKI_DEFAULT_OCSP_URL "http://127.0.0.1:8889/ocsp"
#define OCSP_BODY_MAX ((size_t)16 * 1024) /* bytes of a POSTed request */
#define OCSP_CONN_LIMIT 64
#define OCSP_CONN_TIMEOUT 10 /* seconds */
#define OCSP_DEFAULT_VALIDITY 3600 /* nextUpdate - thisUpdate of a response */
#define CRL_DEFAULT_VALIDITY ((long)7 * 86400)
#define PKI_MAX_VALIDITY ((long)366 * 86400)
#define PKI_MAX_POS 2 /* positional arguments of a subcommand */
#define PKI_PUB_MAX ((size_t)64 * 1024) /* bytes of a public key file */

static const char usage_init[] = "usage: sleutel pki init DIR [--ocsp-url URL] [--crl-base URL]\n"
				 "\nCreate DIR with a demo root CA, a Citizen CA, a Foreigner CA and a Smart-ID CA\n"
				 "(EC P-384), an OCSP signer for each CA, trust.pem, index.json and pki.json.\n"
				 "  --ocsp-url URL  OCSP URL in the cards' AIA (default " PKI_DEFAULT_OCSP_URL ")\n"
				 "  --crl-base URL  put a CDP URL/citizen.crl, URL/foreigner.crl or URL/smartid.crl\n"
				 "                  in the certificates;\n"
				 "                  the CA certificates are then also looked up under URL\n";
static const char usage_card[] =
	"usage: sleutel pki card DIR (--name \"GIVEN FAMILY\" | --given G --family F) --rrn NUMBER\n"
	"                        --out FILE.p12 --pin PIN [--foreigner] [--kids] [--rsa]\n"
	"                        [--expired | --not-yet-valid] [--cert-out FILE.pem]\n"
	"                        [--pkcs11 [--token LABEL] [--so-pin PIN]] [--json]\n"
	"\nIssue a virtual eID card: an authentication and a signature certificate (a Kids-ID\n"
	"has the first only) with their keys, in a PKCS#12 file protected by the PIN.\n"
	"  --name           given names and family name: the last word is the family name\n"
	"  --rrn NUMBER     national register number, 11 digits with valid check digits\n"
	"  --pin PIN        card PIN, 4 to 12 digits\n"
	"  --foreigner      issued by the Foreigner CA (default: Citizen CA)\n"
	"  --kids           a Kids-ID: the number must give an age under 12\n"
	"  --rsa            RSA 2048 keys, as on older cards (default EC P-384)\n"
	"  --expired        validity ended yesterday\n"
	"  --not-yet-valid  validity starts tomorrow (default: valid for 10 years from now)\n"
	"  --cert-out FILE  also write the authentication certificate (PEM)\n"
	"  --pkcs11         also put the card in a SoftHSM2 token (SOFTHSM2_CONF), user PIN = PIN\n"
	"  --token LABEL    the token's label (default \"sleutel eID RRN\"); made when missing\n"
	"  --so-pin PIN     security officer PIN of a new token (default: random, not shown)\n"
	"  --json           print {auth_serial, sign_serial, p12, token}\n";
static const char usage_smartid[] =
	"usage: sleutel pki smartid DIR (--name \"GIVEN FAMILY\" | --given G --family F) --rrn NUMBER\n"
	"                           --auth-pub FILE.pem --sign-pub FILE.pem [--document NUMBER]\n"
	"\nIssue a Smart-ID device's authentication and signing certificates from the Smart-ID CA\n"
	"(made first in a PKI that predates it) and print JSON {document_number, auth_serial,\n"
	"sign_serial, auth_cert, sign_cert, chain}.\n"
	"  --rrn NUMBER       national register number, 11 digits with valid check digits\n"
	"  --auth-pub FILE    the authentication public key (PEM; RSA 2048 to 8192 bits)\n"
	"  --sign-pub FILE    the signing public key (PEM; RSA, another key)\n"
	"  --document NUMBER  PNOBE-<rrn>-XXXX-Q (default: drawn, unused in the index)\n";
static const char usage_revoke[] = "usage: sleutel pki revoke DIR SERIAL\n"
				   "\nRevoke a card or Smart-ID certificate (reason keyCompromise); SERIAL is hex,\n"
				   "as 'sleutel pki card' or 'openssl x509 -serial' prints it.\n";
static const char usage_crl[] = "usage: sleutel pki crl DIR citizen|foreigner|smartid --out FILE [--validity SECONDS]\n"
				"\nWrite the CA's CRL (DER) with every revoked certificate; nextUpdate is\n"
				"now + SECONDS (default 7 days).\n";
static const char usage_ocsp[] = "usage: sleutel pki ocsp DIR [--port N] [--listen ADDRESS] [--validity SECONDS]\n"
				 "\nAnswer OCSP over HTTP (POST application/ocsp-request, or GET with the base64\n"
				 "request in the path) until SIGTERM or SIGINT; also serves root.crt, citizen-ca.crt,\n"
				 "foreigner-ca.crt, smartid-ca.crt, citizen.crl, foreigner.crl and smartid.crl.\n"
				 "  --port N          default: the port of the OCSP URL in DIR/pki.json\n"
				 "  --listen ADDRESS  IPv4 or IPv6 address (default 127.0.0.1)\n"
				 "  --validity SECS   nextUpdate - thisUpdate (default 3600)\n";

static void
pki_usage(void)
{
	printf("usage: sleutel pki init DIR [--ocsp-url URL] [--crl-base URL]\n"
	       "       sleutel pki card DIR --name \"GIVEN FAMILY\" --rrn NUMBER --out FILE.p12 --pin PIN ...\n"
	       "       sleutel pki smartid DIR --name \"GIVEN FAMILY\" --rrn NUMBER --auth-pub PEM --sign-pub PEM\n"
	       "       sleutel pki revoke DIR SERIAL\n"
	       "       sleutel pki crl DIR citizen|foreigner|smartid --out FILE [--validity SECONDS]\n"
	       "       sleutel pki ocsp DIR [--port N] [--listen ADDRESS] [--validity SECONDS]\n"
	       "\nA demo PKI shaped like Belgium's eID PKI, for tests and demos only: a root, a\n"
	       "Citizen CA, a Foreigner CA and a Smart-ID CA; virtual cards in PKCS#12 or a SoftHSM2\n"
	       "token; Smart-ID certificates; revocation, CRLs and an OCSP responder.  'sleutel pki COMMAND --help' "
	       "tells more.\n");
}

/* ---- options ---- */

struct pki_opt {
	const char *po_name;
	const char **po_value; /* takes an argument */
	bool *po_flag; /* or is a flag */
};

/* Options anywhere among at most PKI_MAX_POS positional arguments. */
static int
pki_parse(
	int argc, char **argv, const struct pki_opt *opts, const char *pos[PKI_MAX_POS], int npos_want, const char *cmd)
{
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		const struct pki_opt *o = opts;

		while (o->po_name != NULL && strcmp(o->po_name, argv[i]) != 0)
			o++;
		if (o->po_name != NULL && o->po_flag != NULL) {
			*o->po_flag = true;
		} else if (o->po_name != NULL && i + 1 < argc) {
			*o->po_value = argv[++i];
		} else if (o->po_name != NULL) {
			cli_error("pki %s: %s needs a value", cmd, argv[i]);
			return CLI_USAGE;
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			cli_error("pki %s: unknown option %s (see sleutel pki %s --help)", cmd, argv[i], cmd);
			return CLI_USAGE;
		} else if (npos < npos_want) {
			pos[npos++] = argv[i];
		} else {
			cli_error("pki %s: unexpected argument %s", cmd, argv[i]);
			return CLI_USAGE;
		}
	}
	if (npos < npos_want) {
		cli_error("pki %s: missing arguments (see sleutel pki %s --help)", cmd, cmd);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	*out = strtol(s, &end, 10);
	return *end == '\0' && *out >= min && *out <= max ? 0 : -1;
}

static int
write_file(const char *path, const void *data, size_t len, int mode)
{
	struct sl_err err = { 0 };

	if (sl_file_write(path, data, len, mode, &err) != SL_OK)
		return cli_error("%s", err.msg);
	return CLI_OK;
}

/* ---- init, revoke, crl ---- */

static int
pki_cmd_init(int argc, char **argv)
{
	const char *pos[PKI_MAX_POS], *ocsp_url = PKI_DEFAULT_OCSP_URL, *crl_base = NULL;
	const struct pki_opt opts[] = { { "--ocsp-url", &ocsp_url, NULL }, { "--crl-base", &crl_base, NULL },
		{ NULL, NULL, NULL } };
	struct sl_err err = { 0 };
	int rc = pki_parse(argc, argv, opts, pos, 1, "init");

	if (rc != CLI_OK)
		return rc;
	if (pki_init(pos[0], ocsp_url, crl_base, &err) != SL_OK)
		return cli_error("%s", err.msg);
	printf("demo PKI in %s: trust anchors in %s/trust.pem, OCSP at %s\n", pos[0], pos[0], ocsp_url);
	return CLI_OK;
}

static int
pki_cmd_revoke(int argc, char **argv)
{
	const char *pos[PKI_MAX_POS];
	const struct pki_opt opts[] = { { NULL, NULL, NULL } };
	struct sl_err err = { 0 };
	int rc = pki_parse(argc, argv, opts, pos, 2, "revoke");

	if (rc != CLI_OK)
		return rc;
	if (pki_revoke(pos[0], pos[1], &err) != SL_OK)
		return cli_error("%s", err.msg);
	printf("revoked %s\n", pos[1]);
	return CLI_OK;
}

static int
pki_cmd_crl(int argc, char **argv)
{
	const char *pos[PKI_MAX_POS], *out = NULL, *validity_s = NULL;
	const struct pki_opt opts[] = { { "--out", &out, NULL }, { "--validity", &validity_s, NULL },
		{ NULL, NULL, NULL } };
	struct sl_err err = { 0 };
	long validity = CRL_DEFAULT_VALIDITY;
	uint8_t *der = NULL;
	size_t len = 0;
	int rc = pki_parse(argc, argv, opts, pos, 2, "crl");

	if (rc != CLI_OK)
		return rc;
	if (out == NULL) {
		cli_error("pki crl: --out FILE is required");
		return CLI_USAGE;
	}
	if (validity_s != NULL && parse_long(validity_s, 1, PKI_MAX_VALIDITY, &validity) != 0) {
		cli_error("pki crl: --validity takes 1 to %ld seconds", PKI_MAX_VALIDITY);
		return CLI_USAGE;
	}
	if (pki_crl(pos[0], pos[1], validity, &der, &len, &err) != SL_OK)
		return cli_error("%s", err.msg);
	rc = write_file(out, der, len, 0644);
	free(der);
	return rc;
}

/* ---- card ---- */

struct card_args {
	struct pki_card_opts ca_opts;
	const char *ca_out;
	const char *ca_cert_out;
	const char *ca_token;
	const char *ca_so_pin;
	bool ca_pkcs11;
	bool ca_json;
};

/* Print `o` (NULL: out of memory) and free it. */
static int
print_json(json_t *o)
{
	if (o == NULL)
		return cli_error("out of memory");
	cli_print_json(o);
	json_decref(o);
	return CLI_OK;
}

static int
card_print(const struct card_args *a, const struct pki_card *card, const char *token)
{
	json_t *o;

	if (!a->ca_json) {
		printf("authentication certificate: %s\n", card->pk_auth_serial);
		if (card->pk_sign_serial != NULL)
			printf("signature certificate:      %s\n", card->pk_sign_serial);
		printf("PKCS#12:                    %s\n", a->ca_out);
		if (token != NULL)
			printf("PKCS#11 token:              %s\n", token);
		return CLI_OK;
	}
	o = json_pack("{s:s,s:s?,s:s,s:s?}", "auth_serial", card->pk_auth_serial, "sign_serial", card->pk_sign_serial,
		"p12", a->ca_out, "token", token);
	return print_json(o);
}

static int
card_args_check(struct card_args *a)
{
	if (a->ca_opts.pc_name != NULL && (a->ca_opts.pc_given != NULL || a->ca_opts.pc_family != NULL)) {
		cli_error("pki card: give --name, or --given and --family, not both");
		return CLI_USAGE;
	}
	if (a->ca_opts.pc_name == NULL && (a->ca_opts.pc_given == NULL || a->ca_opts.pc_family == NULL)) {
		cli_error("pki card: --name, or --given and --family, is required");
		return CLI_USAGE;
	}
	if (a->ca_opts.pc_rrn == NULL || a->ca_out == NULL || a->ca_opts.pc_pin == NULL) {
		cli_error("pki card: --rrn, --out and --pin are required");
		return CLI_USAGE;
	}
	if (!a->ca_pkcs11 && (a->ca_token != NULL || a->ca_so_pin != NULL)) {
		cli_error("pki card: --token and --so-pin go with --pkcs11");
		return CLI_USAGE;
	}
	return CLI_OK;
}

static int
pki_cmd_card(int argc, char **argv)
{
	struct card_args a = { 0 };
	struct pki_opt opts[] = { { "--name", &a.ca_opts.pc_name, NULL }, { "--given", &a.ca_opts.pc_given, NULL },
		{ "--family", &a.ca_opts.pc_family, NULL }, { "--rrn", &a.ca_opts.pc_rrn, NULL },
		{ "--pin", &a.ca_opts.pc_pin, NULL }, { "--out", &a.ca_out, NULL },
		{ "--cert-out", &a.ca_cert_out, NULL }, { "--token", &a.ca_token, NULL },
		{ "--so-pin", &a.ca_so_pin, NULL }, { "--foreigner", NULL, &a.ca_opts.pc_foreigner },
		{ "--kids", NULL, &a.ca_opts.pc_kids }, { "--rsa", NULL, &a.ca_opts.pc_rsa },
		{ "--expired", NULL, &a.ca_opts.pc_expired }, { "--not-yet-valid", NULL, &a.ca_opts.pc_not_yet_valid },
		{ "--pkcs11", NULL, &a.ca_pkcs11 }, { "--json", NULL, &a.ca_json }, { NULL, NULL, NULL } };
	const char *pos[PKI_MAX_POS];
	struct pki_card card = { 0 };
	struct sl_err err = { 0 };
	char token[64];
	int rc = pki_parse(argc, argv, opts, pos, 1, "card");

	if (rc != CLI_OK || (rc = card_args_check(&a)) != CLI_OK)
		return rc;
	if (pki_card_issue(pos[0], &a.ca_opts, a.ca_out, &card, &err) != SL_OK)
		return cli_error("%s", err.msg);
	if (a.ca_cert_out != NULL)
		rc = write_file(a.ca_cert_out, card.pk_auth_pem, strlen(card.pk_auth_pem), 0644);
	if (rc == CLI_OK && a.ca_pkcs11) {
		snprintf(token, sizeof(token), "sleutel eID %s", a.ca_opts.pc_rrn);
		if (a.ca_token != NULL)
			snprintf(token, sizeof(token), "%s", a.ca_token);
		if (pki_card_to_pkcs11(pos[0], a.ca_out, a.ca_opts.pc_pin, token, a.ca_so_pin, &err) != SL_OK)
			rc = cli_error("%s (the card is issued and in %s)", err.msg, a.ca_out);
	}
	if (rc == CLI_OK)
		rc = card_print(&a, &card, a.ca_pkcs11 ? token : NULL);
	pki_card_clear(&card);
	return rc;
}

/* ---- smartid ---- */

/* A PEM public key from a file of at most PKI_PUB_MAX bytes, or NULL. */
static EVP_PKEY *
pub_load(const char *path, const char *opt)
{
	struct sl_err err = { 0 };
	char *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;

	if (sl_file_read(path, PKI_PUB_MAX, &data, &len, &err) != SL_OK) {
		cli_error("pki smartid: %s: %s", opt, err.msg);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
		key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (key == NULL)
		cli_error("pki smartid: %s: %s holds no PEM public key", opt, path);
	BIO_free(bio);
	free(data);
	return key;
}

static int
smartid_print(const struct pki_smartid *sm)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "document_number", sm->sm_document, "auth_serial",
		sm->sm_auth_serial, "sign_serial", sm->sm_sign_serial, "auth_cert", sm->sm_auth_pem, "sign_cert",
		sm->sm_sign_pem, "chain", sm->sm_chain_pem);

	return print_json(o);
}

static int
pki_cmd_smartid(int argc, char **argv)
{
	struct pki_smartid_opts so = { 0 };
	const char *pos[PKI_MAX_POS], *auth = NULL, *sign = NULL;
	const struct pki_opt opts[] = { { "--name", &so.so_name, NULL }, { "--given", &so.so_given, NULL },
		{ "--family", &so.so_family, NULL }, { "--rrn", &so.so_rrn, NULL }, { "--auth-pub", &auth, NULL },
		{ "--sign-pub", &sign, NULL }, { "--document", &so.so_document, NULL }, { NULL, NULL, NULL } };
	struct pki_smartid sm = { 0 };
	struct sl_err err = { 0 };
	int rc = pki_parse(argc, argv, opts, pos, 1, "smartid");

	if (rc != CLI_OK)
		return rc;
	if (so.so_rrn == NULL || auth == NULL || sign == NULL ||
		(so.so_name == NULL && (so.so_given == NULL || so.so_family == NULL)) ||
		(so.so_name != NULL && (so.so_given != NULL || so.so_family != NULL))) {
		cli_error("pki smartid: --rrn, --auth-pub, --sign-pub and --name (or --given and --family) are "
			  "required");
		return CLI_USAGE;
	}
	if ((so.so_auth_pub = pub_load(auth, "--auth-pub")) == NULL ||
		(so.so_sign_pub = pub_load(sign, "--sign-pub")) == NULL)
		rc = CLI_FAIL;
	else if (pki_smartid_issue(pos[0], &so, &sm, &err) != SL_OK)
		rc = cli_error("%s", err.msg);
	else
		rc = smartid_print(&sm);
	pki_smartid_clear(&sm);
	EVP_PKEY_free(so.so_auth_pub);
	EVP_PKEY_free(so.so_sign_pub);
	return rc;
}

/* ---- ocsp ---- */

struct ocsp_srv {
	const char *os_dir;
	char os_path[256]; /* the OCSP URL's path without a trailing '/' ("" for the root) */
	int64_t os_validity;
};

struct ocsp_conn {
	struct sl_buf oc_body;
	bool oc_toobig;
};

/* An OCSP response with status internalError (RFC 6960 4.2.1). */
static const uint8_t ocsp_internal_error[] = { 0x30, 0x03, 0x0a, 0x01, 0x02 };

static enum MHD_Result
ocsp_send(struct MHD_Connection *conn, unsigned int status, const char *type, void *body, size_t len, bool copy,
	const char *cache)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		if (!copy)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (cache != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, POST");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
ocsp_text(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	log_info("HTTP %u: %s", status, text);
	return ocsp_send(conn, status, "text/plain; charset=utf-8", (void *)text, strlen(text), true, NULL);
}

static enum MHD_Result
ocsp_answer_der(struct ocsp_srv *srv, struct MHD_Connection *conn, const uint8_t *req, size_t len, bool get)
{
	struct sl_err err = { 0 };
	uint8_t *resp = NULL;
	size_t resplen = 0;
	char cache[96];

	if (pki_ocsp_respond(srv->os_dir, req, len, srv->os_validity, &resp, &resplen, &err) != SL_OK) {
		log_error("%s", err.msg);
		return ocsp_send(conn, MHD_HTTP_OK, "application/ocsp-response", (void *)ocsp_internal_error,
			sizeof(ocsp_internal_error), true, "no-store");
	}
	/* RFC 5019 6.2: GET responses may be cached until nextUpdate. */
	snprintf(cache, sizeof(cache), "max-age=%lld, public, no-transform, must-revalidate",
		(long long)srv->os_validity);
	return ocsp_send(
		conn, MHD_HTTP_OK, "application/ocsp-response", resp, resplen, false, get ? cache : "no-store");
}

/* DIR/base.pem as DER; OPENSSL_malloc'd, length or -1. */
static int
cert_der(const char *dir, const char *base, unsigned char **der)
{
	char name[64], *path;
	X509 *cert = NULL;
	FILE *fp = NULL;
	int n;

	snprintf(name, sizeof(name), "%s.pem", base);
	if ((path = sl_path_resolve(dir, name)) != NULL)
		fp = fopen(path, "re");
	if (fp != NULL) {
		cert = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	n = cert ? i2d_X509(cert, der) : -1;
	X509_free(cert);
	free(path);
	return n;
}

/* root.crt, the CAs' .crt and their .crl, by the last segment of the path;
 * *found false for anything else. */
static enum MHD_Result
ocsp_file(struct ocsp_srv *srv, struct MHD_Connection *conn, const char *url, bool *found)
{
	static const char *const certs[] = { "root", "citizen-ca", "foreigner-ca", "smartid-ca" };
	const char *name = strrchr(url, '/') ? strrchr(url, '/') + 1 : url;
	struct sl_err err = { 0 };
	unsigned char *buf = NULL;
	enum MHD_Result ret;
	uint8_t *der = NULL;
	char want[32];
	size_t len = 0;
	int n;

	*found = true;
	if (strcmp(name, "citizen.crl") == 0 || strcmp(name, "foreigner.crl") == 0 ||
		strcmp(name, "smartid.crl") == 0) {
		snprintf(want, sizeof(want), "%.*s", (int)(strlen(name) - 4), name);
		if (pki_crl(srv->os_dir, want, CRL_DEFAULT_VALIDITY, &der, &len, &err) != SL_OK)
			return ocsp_text(conn,
				err.code == SL_ENOTFOUND ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
				err.msg);
		return ocsp_send(conn, MHD_HTTP_OK, "application/pkix-crl", der, len, false, "max-age=60");
	}
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		snprintf(want, sizeof(want), "%s.crt", certs[i]);
		if (strcmp(name, want) != 0)
			continue;
		if ((n = cert_der(srv->os_dir, certs[i], &buf)) <= 0)
			return ocsp_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the certificate");
		ret = ocsp_send(conn, MHD_HTTP_OK, "application/pkix-cert", buf, (size_t)n, true, NULL);
		OPENSSL_free(buf);
		return ret;
	}
	*found = false;
	return MHD_NO;
}

static enum MHD_Result
ocsp_get(struct ocsp_srv *srv, struct MHD_Connection *conn, const char *url)
{
	size_t plen = strlen(srv->os_path), len = 0;
	enum MHD_Result ret;
	uint8_t *req;
	bool found;

	ret = ocsp_file(srv, conn, url, &found);
	if (found)
		return ret;
	if (strncmp(url, srv->os_path, plen) != 0 || url[plen] != '/' || url[plen + 1] == '\0')
		return ocsp_text(conn, MHD_HTTP_NOT_FOUND, "not found");
	/* MHD has undone the URL encoding: what is left is base64. */
	req = sl_b64_decode(url + plen + 1, strlen(url + plen + 1), &len);
	if (req == NULL)
		return ocsp_text(conn, MHD_HTTP_BAD_REQUEST, "the path is not a base64 OCSP request");
	ret = ocsp_answer_der(srv, conn, req, len, true);
	free(req);
	return ret;
}

static enum MHD_Result
ocsp_dispatch(
	struct ocsp_srv *srv, struct MHD_Connection *conn, const char *url, const char *method, struct ocsp_conn *oc)
{
	const char *type;

	log_info("%s %.80s", method, url);
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return ocsp_get(srv, conn, url);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return ocsp_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or POST");
	if (oc->oc_toobig)
		return ocsp_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request too large");
	type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (type == NULL || strncasecmp(type, "application/ocsp-request", 24) != 0 ||
		(type[24] != '\0' && type[24] != ';' && type[24] != ' '))
		return ocsp_text(conn, MHD_HTTP_BAD_REQUEST, "Content-Type must be application/ocsp-request");
	if (oc->oc_body.b_len == 0)
		return ocsp_text(conn, MHD_HTTP_BAD_REQUEST, "empty request");
	return ocsp_answer_der(srv, conn, (const uint8_t *)oc->oc_body.b_data, oc->oc_body.b_len, false);
}

static enum MHD_Result
ocsp_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
	const char *upload, size_t *upload_size, void **con_cls)
{
	struct ocsp_conn *oc = *con_cls;
	const char *cl;
	long n;

	(void)version;
	if (oc == NULL) {
		if ((oc = calloc(1, sizeof(*oc))) == NULL)
			return MHD_NO;
		sl_buf_init(&oc->oc_body, OCSP_BODY_MAX);
		*con_cls = oc;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && (parse_long(cl, 0, OCSP_BODY_MAX, &n) != 0))
			oc->oc_toobig = true;
		if (oc->oc_toobig)
			return ocsp_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request too large");
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!oc->oc_toobig && sl_buf_add(&oc->oc_body, upload, *upload_size) != SL_OK)
			oc->oc_toobig = true;
		*upload_size = 0;
		return MHD_YES;
	}
	return ocsp_dispatch(cls, conn, url, method, oc);
}

static void
ocsp_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct ocsp_conn *oc = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (oc != NULL) {
		sl_buf_reset(&oc->oc_body);
		free(oc);
		*con_cls = NULL;
	}
}

/* The path and port of the OCSP URL in pki.json. */
static int
ocsp_url_parts(const char *dir, struct ocsp_srv *srv, long *port)
{
	char *path = sl_path_resolve(dir, "pki.json"), *data = NULL;
	struct sl_err err = { 0 };
	const char *url, *host, *slash, *colon;
	json_t *o = NULL;
	int rc = path ? sl_file_read(path, 1 << 20, &data, NULL, &err) : SL_ENOMEM;

	free(path);
	if (rc != SL_OK || (o = json_loads(data, 0, NULL)) == NULL ||
		(url = json_string_value(json_object_get(o, "ocsp_url"))) == NULL ||
		(host = strstr(url, "://")) == NULL) {
		free(data);
		json_decref(o);
		return cli_error("%s", rc != SL_OK ? err.msg : "pki.json has no OCSP URL");
	}
	host += 3;
	slash = strchr(host, '/');
	snprintf(srv->os_path, sizeof(srv->os_path), "%s", slash ? slash : "");
	if (srv->os_path[0] != '\0' && srv->os_path[strlen(srv->os_path) - 1] == '/')
		srv->os_path[strlen(srv->os_path) - 1] = '\0';
	colon = strrchr(host, ':');
	if (colon != NULL && (slash == NULL || colon < slash) && strchr(colon, ']') == NULL)
		*port = strtol(colon + 1, NULL, 10);
	else
		*port = strncmp(url, "https", 5) == 0 ? 443 : 80;
	free(data);
	json_decref(o);
	return CLI_OK;
}

static struct MHD_Daemon *
ocsp_start(struct ocsp_srv *srv, const char *listen, long port)
{
	struct sockaddr_in sin = { 0 };
	struct sockaddr_in6 sin6 = { 0 };
	struct sockaddr *sa = (struct sockaddr *)&sin;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (inet_pton(AF_INET, listen, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, listen, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		cli_error("pki ocsp: --listen takes an IPv4 or IPv6 address, not %s", listen);
		return NULL;
	}
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, ocsp_handler, srv, MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)OCSP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)OCSP_CONN_TIMEOUT, MHD_OPTION_NOTIFY_COMPLETED, ocsp_completed, NULL, MHD_OPTION_END);
}

static int
pki_cmd_ocsp(int argc, char **argv)
{
	const char *pos[PKI_MAX_POS], *port_s = NULL, *listen = "127.0.0.1", *validity_s = NULL;
	const struct pki_opt opts[] = { { "--port", &port_s, NULL }, { "--listen", &listen, NULL },
		{ "--validity", &validity_s, NULL }, { NULL, NULL, NULL } };
	struct ocsp_srv srv = { 0 };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	long port = 0, url_port = 0, validity = OCSP_DEFAULT_VALIDITY;
	sigset_t set;
	int rc = pki_parse(argc, argv, opts, pos, 1, "ocsp"), sig;

	if (rc != CLI_OK)
		return rc;
	if ((port_s != NULL && parse_long(port_s, 0, 65535, &port) != 0) ||
		(validity_s != NULL && parse_long(validity_s, 1, PKI_MAX_VALIDITY, &validity) != 0)) {
		cli_error("pki ocsp: --port takes 0 to 65535, --validity 1 to %ld seconds", PKI_MAX_VALIDITY);
		return CLI_USAGE;
	}
	srv.os_dir = pos[0];
	srv.os_validity = validity;
	if (ocsp_url_parts(pos[0], &srv, &url_port) != CLI_OK)
		return CLI_FAIL;
	if (port_s == NULL)
		port = url_port;
	/* Signals are taken in this thread; MHD's thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d = ocsp_start(&srv, listen, port)) == NULL)
		return cli_error("pki ocsp: cannot listen on %s port %ld", listen, port);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("OCSP responder for %s on http://%s%s%s:%u%s\n", pos[0], strchr(listen, ':') ? "[" : "", listen,
		strchr(listen, ':') ? "]" : "", info ? info->port : (unsigned int)port, srv.os_path);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	return CLI_OK;
}

int
cli_pki(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *usage;
		int (*run)(int, char **);
	} cmds[] = { { "init", usage_init, pki_cmd_init }, { "card", usage_card, pki_cmd_card },
		{ "smartid", usage_smartid, pki_cmd_smartid }, { "revoke", usage_revoke, pki_cmd_revoke },
		{ "crl", usage_crl, pki_cmd_crl }, { "ocsp", usage_ocsp, pki_cmd_ocsp } };

	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
		pki_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (cli_has_flag(argc - 1, argv + 1, "--help")) {
			fputs(cmds[i].usage, stdout);
			return CLI_OK;
		}
		return cmds[i].run(argc - 1, argv + 1);
	}
	cli_error("pki: unknown command %s (see sleutel pki --help)", argv[0]);
	return CLI_USAGE;
}
