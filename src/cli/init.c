/*
 * init.c — `sleutel init DIR`: everything sleuteld needs to start, with
 * nothing else: a configuration, a local CA and TLS certificate for the
 * loopback names, the master secret, signing keys and the database.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "../crypto/crypto.h"

static void
init_usage(void)
{
	printf("usage: sleutel init DIR [--issuer URL] [--port N] [--eid-port N] [--ca CADIR]\n"
	       "\nWrites DIR/sleutel.ini, DIR/tls (a local CA and a certificate for localhost and\n"
	       "127.0.0.1), DIR/keys (the master secret and ID-token signing keys) and DIR/sleutel.db,\n"
	       "so that 'sleuteld --config DIR/sleutel.ini' starts with nothing else.\n"
	       "  --issuer URL   the issuer (default https://127.0.0.1:PORT)\n"
	       "  --port N       portal and OIDC port (default 8443)\n"
	       "  --eid-port N   eID origin port (default 8444)\n"
	       "  --ca CADIR     issue the TLS certificate from CADIR/ca.pem and CADIR/ca.key\n"
	       "                 instead of making a new local CA\n");
}

static int
write_text(const char *dir, const char *name, const char *text, int mode, struct sl_err *err)
{
	char *path = sl_path_resolve(dir, name);
	int rc = path ? sl_file_write(path, text, strlen(text), mode, err) : SL_ENOMEM;

	free(path);
	return rc;
}

static int
make_dir(const char *dir, const char *sub)
{
	char *path = sub ? sl_path_resolve(dir, sub) : strdup(dir);
	int rc = path && (mkdir(path, 0700) == 0 || errno == EEXIST) ? SL_OK : SL_EIO;

	free(path);
	return rc;
}

/* A new local CA, or the one in `ca_dir` (ca.pem, ca.key) when given. */
static int
make_tls(const char *dir, const char *ca_dir, struct sl_err *err)
{
	char *ca_key = NULL, *ca_cert = NULL, *key = NULL, *cert = NULL, *p;
	int rc;

	if (ca_dir == NULL) {
		rc = x509_make_ca("sleutel local CA", 3650, &ca_key, &ca_cert, err);
	} else {
		p = sl_path_resolve(ca_dir, "ca.pem");
		rc = p ? sl_file_read(p, 1 << 20, &ca_cert, NULL, err) : SL_ENOMEM;
		free(p);
		p = sl_path_resolve(ca_dir, "ca.key");
		if (rc == SL_OK)
			rc = p ? sl_file_read(p, 1 << 20, &ca_key, NULL, err) : SL_ENOMEM;
		free(p);
	}

	if (rc == SL_OK)
		rc = x509_make_server(
			ca_key, ca_cert, "localhost", "DNS:localhost,IP:127.0.0.1", 825, &key, &cert, err);
	if (rc == SL_OK)
		rc = write_text(dir, "tls/ca.pem", ca_cert, 0644, err);
	if (rc == SL_OK && ca_dir == NULL)
		rc = write_text(dir, "tls/ca.key", ca_key, 0600, err);
	if (rc == SL_OK)
		rc = write_text(dir, "tls/server.pem", cert, 0644, err);
	if (rc == SL_OK)
		rc = write_text(dir, "tls/server.key", key, 0600, err);
	free(ca_key);
	free(ca_cert);
	free(key);
	free(cert);
	return rc;
}

static int
make_secret(const char *dir, struct sl_err *err)
{
	char *secret = sl_random_id(32), line[128];
	int rc;

	if (secret == NULL)
		return sl_fail(err, SL_ECRYPTO, "no randomness");
	snprintf(line, sizeof(line), "%s\n", secret);
	rc = write_text(dir, "keys/secret", line, 0600, err);
	free(secret);
	return rc;
}

static int
make_config(const char *dir, const char *issuer, int port, int eid_port, struct sl_err *err)
{
	char text[4096];

	snprintf(text, sizeof(text),
		"; sleutel configuration, written by 'sleutel init'.\n"
		"; Every key, its default and its range: docs/config.md.\n\n"
		"[server]\n"
		"issuer = %s\n"
		"listen = 127.0.0.1\n"
		"port = %d\n"
		"tls_cert = tls/server.pem\n"
		"tls_key = tls/server.key\n\n"
		"[eid]\n"
		"; The origin that asks the browser for the eID card's certificate.\n"
		"listen = 127.0.0.1\n"
		"port = %d\n"
		"public_url = https://127.0.0.1:%d\n"
		"tls_cert = tls/server.pem\n"
		"tls_key = tls/server.key\n"
		"client_ca = tls/ca.pem\n\n"
		"[store]\n"
		"path = sleutel.db\n\n"
		"[keys]\n"
		"dir = keys\n\n"
		"[portal]\n"
		"; The login keys offered on the key-choice page.\n"
		"keys = eid,app,smartid%s\n"
		"default_language = nl\n",
		issuer, port, eid_port, eid_port,
#ifdef SL_TEST_KEY
		",test"
#else
		""
#endif
	);
	return write_text(dir, "sleutel.ini", text, 0600, err);
}

static int
parse_port(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return SL_EINVAL;
	*out = (int)v;
	return SL_OK;
}

int
cli_init(int argc, char **argv)
{
	const char *dir = NULL, *issuer = NULL, *ca_dir = NULL;
	char issuer_buf[256], *ini;
	int port = 8443, eid_port = 8444;
	struct cli_ctx cc;
	struct sl_err err = { 0 };
	struct stat sb;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			init_usage();
			return CLI_OK;
		} else if (strcmp(argv[i], "--issuer") == 0 && i + 1 < argc) {
			issuer = argv[++i];
		} else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
			ca_dir = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (parse_port(argv[++i], &port) != SL_OK)
				return cli_error("--port takes a number from 1 to 65535");
		} else if (strcmp(argv[i], "--eid-port") == 0 && i + 1 < argc) {
			if (parse_port(argv[++i], &eid_port) != SL_OK)
				return cli_error("--eid-port takes a number from 1 to 65535");
		} else if (argv[i][0] != '-' && dir == NULL) {
			dir = argv[i];
		} else {
			init_usage();
			return CLI_USAGE;
		}
	}
	if (dir == NULL) {
		init_usage();
		return CLI_USAGE;
	}
	if (port == eid_port)
		return cli_error("--port and --eid-port must differ");
	if (issuer == NULL) {
		snprintf(issuer_buf, sizeof(issuer_buf), "https://127.0.0.1:%d", port);
		issuer = issuer_buf;
	}
	ini = sl_path_resolve(dir, "sleutel.ini");
	if (ini != NULL && stat(ini, &sb) == 0) {
		free(ini);
		return cli_error("%s/sleutel.ini exists; not overwriting an installation", dir);
	}
	if (make_dir(dir, NULL) || make_dir(dir, "tls") || make_dir(dir, "keys")) {
		free(ini);
		return cli_error("cannot create %s: %s", dir, strerror(errno));
	}
	rc = make_tls(dir, ca_dir, &err);
	if (rc == SL_OK)
		rc = make_secret(dir, &err);
	if (rc == SL_OK)
		rc = make_config(dir, issuer, port, eid_port, &err);
	if (rc == SL_OK && (rc = cli_open(ini, &cc)) == CLI_OK) {
		rc = cli_keys_generate(cc.cc_store, cc.cc_conf->c_keys_dir, sl_now(), &err);
		cli_close(&cc);
	} else if (rc == CLI_FAIL) {
		free(ini);
		return CLI_FAIL;
	}
	if (rc != SL_OK) {
		free(ini);
		return cli_error("%s", err.msg[0] ? err.msg : "init failed");
	}
	printf("initialised %s\nstart with: sleuteld --config %s\nTLS CA for clients: %s/tls/ca.pem\n", dir, ini, dir);
	free(ini);
	return CLI_OK;
}
