/*
 * init.c — `sleutel init DIR`: everything sleuteld needs to start, with
 * nothing else: a configuration, a local CA and TLS certificate for the
 * loopback names, the master secret, signing keys and the database.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../crypto/crypto.h"
#include "../pki/pki.h"

/* The longest --postgresql connection string. */
#define INIT_CONNINFO_MAX 1024

static void
init_usage(void)
{
	printf("usage: sleutel init DIR [--issuer URL] [--port N] [--eid-port N] [--ca CADIR] [--demo [--pki-port N]]\n"
	       "                        [--postgresql CONNINFO] [--user USER --keyholder-user USER]\n"
	       "\nWrites DIR/sleutel.ini, DIR/tls (a local CA and a certificate for localhost and\n"
	       "127.0.0.1), DIR/keys (the master secret and ID-token signing keys) and DIR/sleutel.db\n"
	       "(or the PostgreSQL database's schema),\n"
	       "so that 'sleuteld --config DIR/sleutel.ini' starts with nothing else.\n"
	       "  --issuer URL   the issuer (default https://127.0.0.1:PORT)\n"
	       "  --port N       portal and OIDC port (default 8443)\n"
	       "  --eid-port N   eID origin port (default 8444)\n"
	       "  --ca CADIR     issue the TLS certificate from CADIR/ca.pem and CADIR/ca.key\n"
	       "                 instead of making a new local CA\n"
	       "  --demo         make a demo PKI in DIR/pki and trust it instead of the Belgian roots;\n"
	       "                 sleuteld then serves its OCSP responder and CRLs on --pki-port (8889)\n"
	       "  --postgresql CONNINFO\n"
	       "                 keep the records in PostgreSQL ([store] engine = postgresql) at this libpq\n"
	       "                 connection string, instead of DIR/sleutel.db\n"
	       "  --user USER --keyholder-user USER\n"
	       "                 (as root) set [server] user and keyholder_user, and give the\n"
	       "                 installation to them: keys/ and tls/ to the key holder's account alone\n");
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

/* The eID trust: the Belgian certificates, or in demo mode the demo PKI
 * made in DIR/pki, whose OCSP responder and CRLs sleuteld then serves. */
static void
trust_section(char *out, size_t len, int pki_port)
{
	const char *d = config_default_data_dir();

	if (pki_port == 0)
		snprintf(out, len,
			"; The Belgian eID trust (see trust/belgium/README.md for adding Root CA6).\n"
			"trust_anchors = %s/trust/belgium/belgium-root-ca4.pem\n"
			"intermediates = %s/trust/belgium/eid-intermediates.pem\n"
			"client_ca = %s/trust/belgium/eid-request-cas.pem\n\n",
			d, d, d);
	else
		snprintf(out, len,
			"; Demo mode: the demo PKI in pki/ (sleutel pki card pki ... issues cards).\n"
			"trust_anchors = pki/root.pem\n"
			"intermediates = pki/trust.pem\n"
			"client_ca = pki/trust.pem\n\n"
			"[pki]\n"
			"; Demo mode only: serve the demo PKI's OCSP responder and CRLs.\n"
			"dir = pki\n"
			"listen = 127.0.0.1\n"
			"port = %d\n\n",
			pki_port);
}

/* The [store] section: SQLite's file in DIR, or PostgreSQL at `conninfo`. */
static void
store_section(char *out, size_t len, const char *conninfo)
{
	if (conninfo == NULL)
		snprintf(out, len, "[store]\npath = sleutel.db\n\n");
	else
		snprintf(out, len,
			"[store]\n"
			"; PostgreSQL: see docs/operator.md (On PostgreSQL).\n"
			"engine = postgresql\n"
			"conninfo = %s\n\n",
			conninfo);
}

static int
make_config(const char *dir, const char *issuer, int port, int eid_port, int pki_port, const char *conninfo,
	const char *users, struct sl_err *err)
{
	char text[4096], trust[1024], store[INIT_CONNINFO_MAX + 128];

	trust_section(trust, sizeof(trust), pki_port);
	store_section(store, sizeof(store), conninfo);

	snprintf(text, sizeof(text),
		"; sleutel configuration, written by 'sleutel init'.\n"
		"; Every key, its default and its range: docs/config.md.\n\n"
		"[server]\n"
		"issuer = %s\n"
		"listen = 127.0.0.1\n"
		"port = %d\n"
		"tls_cert = tls/server.pem\n"
		"tls_key = tls/server.key\n"
		"%s\n"
		"[eid]\n"
		"; The origin that asks the browser for the eID card's certificate.\n"
		"listen = 127.0.0.1\n"
		"port = %d\n"
		"public_url = https://127.0.0.1:%d\n"
		"tls_cert = tls/server.pem\n"
		"tls_key = tls/server.key\n"
		"%s"
		"%s"
		"[keys]\n"
		"dir = keys\n\n"
		"[metrics]\n"
		"; /metrics on its own plain-HTTP listener, never on the portal; 0 = off.\n"
		"listen = 127.0.0.1\n"
		"port = 0\n\n"
		"[portal]\n"
		"; The login keys offered on the key-choice page.\n"
		"keys = eid,app,smartid%s\n"
		"default_language = nl\n",
		issuer, port, users, eid_port, eid_port, trust, store,
#ifdef SL_TEST_KEY
		",test"
#else
		""
#endif
	);
	return write_text(dir, "sleutel.ini", text, 0600, err);
}

static int
make_demo_pki(const char *dir, int pki_port, struct sl_err *err)
{
	char *pki = sl_path_resolve(dir, "pki"), ocsp[128], crl[128];
	int rc;

	snprintf(ocsp, sizeof(ocsp), "http://127.0.0.1:%d/ocsp", pki_port);
	snprintf(crl, sizeof(crl), "http://127.0.0.1:%d/crl", pki_port);
	rc = pki ? pki_init(pki, ocsp, crl, err) : SL_ENOMEM;
	free(pki);
	return rc;
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
/* TEST BUILDS ONLY: SLEUTEL_TEST_SIGNING_KEYS names a folder of ES256.pem,
 * RS256.pem and PS256.pem that init installs (each under a kid of its own)
 * instead of new keys: the test harness's installations share that key
 * material, and spare two RSA key generations each.  Key rotation always
 * makes new keys. */
static const char *
init_fixture_keys(void)
{
#ifdef SL_TEST_KEY
	const char *dir = getenv("SLEUTEL_TEST_SIGNING_KEYS");

	if (dir != NULL && dir[0] != '\0')
		return dir;
#endif
	return NULL;
}

int
cli_init(int argc, char **argv)
{
	const char *dir = NULL, *issuer = NULL, *ca_dir = NULL, *conninfo = NULL, *user = NULL, *kh_user = NULL;
	struct passwd *pw_user = NULL, *pw_kh = NULL, pw_user_copy, pw_kh_copy;
	char issuer_buf[256], users[160] = "", *ini;
	int port = 8443, eid_port = 8444, pki_port = 8889;
	bool demo = false;
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
		} else if (strcmp(argv[i], "--demo") == 0) {
			demo = true;
		} else if (strcmp(argv[i], "--pki-port") == 0 && i + 1 < argc) {
			if (parse_port(argv[++i], &pki_port) != SL_OK)
				return cli_error("--pki-port takes a number from 1 to 65535");
		} else if (strcmp(argv[i], "--postgresql") == 0 && i + 1 < argc) {
			conninfo = argv[++i];
			/* One line of the configuration, of a bounded length. */
			if (conninfo[0] == '\0' || strlen(conninfo) > INIT_CONNINFO_MAX ||
				strpbrk(conninfo, "\r\n") != NULL)
				return cli_error("--postgresql takes a libpq connection string of one line, at most %d "
						 "characters",
					INIT_CONNINFO_MAX);
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			user = argv[++i];
		} else if (strcmp(argv[i], "--keyholder-user") == 0 && i + 1 < argc) {
			kh_user = argv[++i];
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
	if (port == eid_port || (demo && (pki_port == port || pki_port == eid_port)))
		return cli_error("--port, --eid-port and --pki-port must differ");
	if ((user != NULL) != (kh_user != NULL))
		return cli_error("--user and --keyholder-user go together");
	if (user != NULL) {
		struct passwd *pw;
		if (geteuid() != 0)
			return cli_error("--user and --keyholder-user give the installation away: run as root");
		/* getpwnam's answer is overwritten by the next call: copied
		 * (uid and gid are what is used). */
		if ((pw = getpwnam(user)) == NULL)
			return cli_error("no such user %s", user);
		pw_user_copy = *pw;
		if ((pw = getpwnam(kh_user)) == NULL)
			return cli_error("no such user %s", kh_user);
		pw_kh_copy = *pw;
		pw_user = &pw_user_copy;
		pw_kh = &pw_kh_copy;
		if (pw_user->pw_uid == 0 || pw_kh->pw_uid == 0 || pw_user->pw_uid == pw_kh->pw_uid)
			return cli_error("--user and --keyholder-user are two accounts, neither of them root");
		snprintf(users, sizeof(users), "user = %s\nkeyholder_user = %s\n", user, kh_user);
	}
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
	if (rc == SL_OK && demo)
		rc = make_demo_pki(dir, pki_port, &err);
	if (rc == SL_OK)
		rc = make_config(dir, issuer, port, eid_port, demo ? pki_port : 0, conninfo, users, &err);
	if (rc == SL_OK && (rc = cli_open(ini, &cc)) == CLI_OK) {
		rc = cli_keys_generate(cc.cc_store, cc.cc_conf->c_keys_dir, init_fixture_keys(), 0, &err);
		cli_close(&cc);
	} else if (rc == CLI_FAIL) {
		free(ini);
		return CLI_FAIL;
	}
	if (rc == SL_OK && user != NULL)
		rc = cli_init_own(dir, pw_user, pw_kh, &err);
	if (rc != SL_OK) {
		free(ini);
		return cli_error("%s", err.msg[0] ? err.msg : "init failed");
	}
	printf("initialised %s\nstart with: sleuteld --config %s\nTLS CA for clients: %s/tls/ca.pem\n", dir, ini, dir);
	free(ini);
	return CLI_OK;
}
