/*
 * checkconfig.c — `sleutel check-config [FILE]`: what would stop sleuteld,
 * or leave it unsafe, found before it starts.  The file is read by
 * config_load, sleuteld's own loader, so a key or value it refuses is
 * refused here with the same words.  Then what the loader does not look
 * at: the files and directories the configuration names exist and can be
 * read by this user, private keys and secrets are not readable by others,
 * TLS certificates parse, are within their validity and match their keys,
 * the listeners do not collide, and the store opens (read-only: nothing is
 * written or migrated) at a schema this sleutel knows, with every signing
 * key it publishes present in the keys directory.
 *
 * Each problem is one line on stdout, "FILE: what", so that a script or a
 * person can act on it; exit 0 when there is none, 1 when there are, 2 for
 * a usage error.  Run it as the user sleuteld starts as (root, with
 * [server] user and keyholder_user; else [server] user): readability is
 * checked for the user who runs it.  With [server] keyholder_user, every
 * private key file [server] user could read is a problem (sleuteld would
 * refuse to start: src/keyholder/keyfiles.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "rostore.h"
#include "../keyholder/keyholder.h"

struct check {
	const char *ck_file; /* the configuration, as named */
	int ck_problems;
};

static void problem(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
problem(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", ck->ck_file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	ck->ck_problems++;
}

enum file_kind {
	FK_PUBLIC, /* a certificate, a CA bundle: anyone may read it */
	FK_SECRET, /* a private key, a token, the database: owner (and group) only */
	FK_DIR, /* a directory to read from */
	FK_SECRET_DIR, /* a directory of secrets: no access for others */
};

/* `what` exists, is of the right kind, readable by this user, and (for
 * secrets) neither readable nor writable by others; nothing but root or the
 * owner's group may write any of them.  Returns true when it can be read. */
static bool
check_path(struct check *ck, const char *what, const char *path, enum file_kind kind)
{
	bool dir = kind == FK_DIR || kind == FK_SECRET_DIR;
	bool secret = kind == FK_SECRET || kind == FK_SECRET_DIR;
	struct stat sb;

	if (stat(path, &sb) != 0) {
		problem(ck, "%s %s: %s", what, path, strerror(errno));
		return false;
	}
	if (dir && !S_ISDIR(sb.st_mode)) {
		problem(ck, "%s %s: not a directory", what, path);
		return false;
	}
	if (!dir && !S_ISREG(sb.st_mode)) {
		problem(ck, "%s %s: not a regular file", what, path);
		return false;
	}
	if (access(path, dir ? R_OK | X_OK : R_OK) != 0) {
		problem(ck, "%s %s: not readable by this user (uid %u): %s", what, path, (unsigned)getuid(),
			strerror(errno));
		return false;
	}
	if (secret && (sb.st_mode & (S_IROTH | S_IWOTH | S_IXOTH)) != 0)
		problem(ck, "%s %s: others may access it (mode %04o); chmod o-rwx", what, path,
			(unsigned)(sb.st_mode & 07777));
	else if ((sb.st_mode & S_IWOTH) != 0)
		problem(ck, "%s %s: anyone may change it (mode %04o); chmod o-w", what, path,
			(unsigned)(sb.st_mode & 07777));
	return true;
}

/* The optional file of a key: checked when set. */
static void
check_opt(struct check *ck, const char *what, const char *path, enum file_kind kind)
{
	if (path != NULL)
		(void)check_path(ck, what, path, kind);
}

/* ---- TLS ---- */

static X509 *
read_cert(struct check *ck, const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (x == NULL)
		problem(ck, "%s %s: no PEM certificate in it", what, path);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *
read_key(struct check *ck, const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	/* No passphrase callback: sleuteld cannot ask for one either. */
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, (void *)"") : NULL;

	if (f != NULL)
		fclose(f);
	if (k == NULL)
		problem(ck, "%s %s: no unencrypted PEM private key in it", what, path);
	ERR_clear_error();
	return k;
}

/* A listener's certificate (the first of the chain) and key: each can be
 * read, the certificate is valid now, and the key is its key. */
static void
check_tls(struct check *ck, const char *section, const struct sl_listener_conf *lc)
{
	char cw[64], kw[64];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	bool cert_ok, key_ok;

	snprintf(cw, sizeof(cw), "[%s] tls_cert", section);
	snprintf(kw, sizeof(kw), "[%s] tls_key", section);
	cert_ok = check_path(ck, cw, lc->lc_tls_cert, FK_PUBLIC);
	key_ok = check_path(ck, kw, lc->lc_tls_key, FK_SECRET);
	if (cert_ok && (x = read_cert(ck, cw, lc->lc_tls_cert)) != NULL) {
		if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
			problem(ck, "%s %s: the certificate has expired", cw, lc->lc_tls_cert);
		if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
			problem(ck, "%s %s: the certificate is not valid yet", cw, lc->lc_tls_cert);
	}
	if (key_ok)
		k = read_key(ck, kw, lc->lc_tls_key);
	if (x != NULL && k != NULL && X509_check_private_key(x, k) != 1)
		problem(ck, "%s %s does not match %s %s: they are not a pair", kw, lc->lc_tls_key, cw, lc->lc_tls_cert);
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
}

/* ---- listeners ---- */

struct listener {
	const char *ls_what; /* "[server]" */
	const char *ls_addr;
	int ls_port;
};

static bool
addr_ok(const char *addr, bool v6)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, addr, buf) == 1 || (v6 && inet_pton(AF_INET6, addr, buf) == 1);
}

/* Two listeners on one port collide when their addresses are the same or
 * either is a wildcard. */
static bool
collide(const struct listener *a, const struct listener *b)
{
	bool any_a = strcmp(a->ls_addr, "0.0.0.0") == 0 || strcmp(a->ls_addr, "::") == 0;
	bool any_b = strcmp(b->ls_addr, "0.0.0.0") == 0 || strcmp(b->ls_addr, "::") == 0;

	return a->ls_port == b->ls_port && (any_a || any_b || strcmp(a->ls_addr, b->ls_addr) == 0);
}

static void
check_listeners(struct check *ck, const struct sl_config *conf)
{
	struct listener ls[4];
	size_t n = 0;

	ls[n++] = (struct listener){ "[server]", conf->c_portal.lc_listen, conf->c_portal.lc_port };
	if (conf->c_eid_enabled)
		ls[n++] = (struct listener){ "[eid]", conf->c_eid.lc_listen, conf->c_eid.lc_port };
	if (conf->c_pki_dir != NULL)
		ls[n++] = (struct listener){ "[pki]", conf->c_pki_listen, conf->c_pki_port };
	if (conf->c_metrics_port != 0)
		ls[n++] = (struct listener){ "[metrics]", conf->c_metrics_listen, conf->c_metrics_port };
	for (size_t i = 0; i < n; i++) {
		if (!addr_ok(ls[i].ls_addr, strcmp(ls[i].ls_what, "[metrics]") == 0))
			problem(ck, "%s listen = %s: not an IP address literal", ls[i].ls_what, ls[i].ls_addr);
		for (size_t j = i + 1; j < n; j++)
			if (collide(&ls[i], &ls[j]))
				problem(ck, "%s and %s both listen on %s port %d", ls[i].ls_what, ls[j].ls_what,
					ls[j].ls_addr, ls[j].ls_port);
	}
}

/* ---- the store ---- */

struct key_check {
	struct check *kc_ck;
	const char *kc_dir;
};

static int
key_file(const char *kid, void *arg)
{
	struct key_check *kc = arg;
	char name[160], *path;

	if (kid == NULL || strchr(kid, '/') != NULL ||
		(size_t)snprintf(name, sizeof(name), "%s.pem", kid) >= sizeof(name)) {
		problem(kc->kc_ck, "[keys] a signing key in the store has a bad id");
		return SL_OK;
	}
	path = sl_path_resolve(kc->kc_dir, name);
	if (path == NULL)
		return SL_ENOMEM;
	(void)check_path(kc->kc_ck, "[keys] signing key", path, FK_SECRET);
	free(path);
	return SL_OK;
}

static void
check_store(struct check *ck, const struct sl_config *conf, bool keys_dir_ok)
{
	struct sl_err err = { 0 };
	struct rostore *rs;
	bool pg = strcmp(conf->c_store_engine, "postgresql") == 0;
	int version = 0;
	char sql[160];

	if (!pg && !check_path(ck, "[store] path", conf->c_store_path, FK_SECRET))
		return;
	if ((rs = rostore_open(conf, &err)) == NULL) {
		problem(ck, "[store] %s", err.msg);
		return;
	}
	if (rostore_schema_version(rs, &version, &err) != SL_OK) {
		problem(ck, "[store] cannot read the schema version: %s", err.msg);
	} else if (version == 0) {
		problem(ck, "[store] the database is empty (no schema): is it the installation's? (sleutel init makes "
			    "one)");
	} else if (version > STORE_SCHEMA_VERSION) {
		problem(ck, "[store] the database has schema version %d but this sleutel knows only up to %d", version,
			STORE_SCHEMA_VERSION);
	} else if (keys_dir_ok) {
		/* The keys sleuteld loads at start (keyring.c): those not
		 * retired yet.  Their private halves are files. */
		struct key_check kc = { ck, conf->c_keys_dir };
		snprintf(sql, sizeof(sql), "SELECT kid FROM signing_keys WHERE retire_after = 0 OR retire_after > %lld",
			(long long)sl_now());
		if (rostore_each(rs, sql, key_file, &kc, &err) != SL_OK)
			problem(ck, "[store] cannot list the signing keys: %s", err.msg);
	}
	rostore_close(rs);
}

/* ---- the configuration file itself ---- */

static void
check_config_file(struct check *ck, const struct sl_config *conf)
{
	bool secrets = !sl_str_empty(conf->c_sms_webhook_token) || conf->c_nbanks > 0 ||
		       (conf->c_store_conninfo != NULL && strstr(conf->c_store_conninfo, "password") != NULL);
	struct stat sb;

	if (stat(conf->c_path, &sb) != 0)
		return; /* it was just read */
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		problem(ck, "the configuration may be changed by others (mode %04o); chmod go-w",
			(unsigned)(sb.st_mode & 07777));
	if (secrets && (sb.st_mode & S_IROTH) != 0)
		problem(ck,
			"the configuration holds secrets ([sms] webhook_token, [bank.*] client_secret or a "
			"password) and others may read it (mode %04o); chmod o-r",
			(unsigned)(sb.st_mode & 07777));
}

static void
check_files(struct check *ck, const struct sl_config *conf)
{
	char what[80];

	if (conf->c_portal.lc_tls)
		check_tls(ck, "server", &conf->c_portal);
	if (conf->c_eid_enabled) {
		if (conf->c_eid.lc_tls) {
			check_tls(ck, "eid", &conf->c_eid);
			check_opt(ck, "[eid] client_ca", conf->c_eid.lc_client_ca, FK_PUBLIC);
		}
		check_opt(ck, "[eid] trust_anchors", conf->c_eid_anchors, FK_PUBLIC);
		check_opt(ck, "[eid] intermediates", conf->c_eid_intermediates, FK_PUBLIC);
	}
	check_opt(ck, "[pki] dir", conf->c_pki_dir, FK_SECRET_DIR);
	if (conf->c_metrics_port != 0)
		check_opt(ck, "[metrics] token_file", conf->c_metrics_token_file, FK_SECRET);
	if (strcmp(conf->c_sms_driver, "webhook") == 0)
		check_opt(ck, "[sms] ca_file", conf->c_sms_ca_file, FK_PUBLIC);
	for (int i = 0; i < conf->c_nbanks; i++) {
		snprintf(what, sizeof(what), "[bank.%s] ca_file", conf->c_banks[i].bk_id);
		check_opt(ck, what, conf->c_banks[i].bk_ca_file, FK_PUBLIC);
	}
	if (check_path(ck, "[portal] data_dir", conf->c_data_dir, FK_DIR)) {
		char *t = sl_path_resolve(conf->c_data_dir, "templates/");
		if (t != NULL)
			(void)check_path(ck, "[portal] data_dir", t, FK_DIR);
		free(t);
	}
}

static void
check_keys(struct check *ck, const struct sl_config *conf, bool *dir_ok)
{
	char *secret;

	*dir_ok = check_path(ck, "[keys] dir", conf->c_keys_dir, FK_SECRET_DIR);
	if (!*dir_ok)
		return;
	secret = sl_path_resolve(conf->c_keys_dir, "secret");
	if (secret != NULL)
		(void)check_path(ck, "[keys] master secret", secret, FK_SECRET);
	free(secret);
}

struct key_reader {
	struct check *kr_ck;
	const struct sl_config *kr_conf;
};

static void
key_readable(const char *path, void *arg)
{
	const struct key_reader *kr = arg;

	problem(kr->kr_ck,
		"%s: [server] user %s could read this private key; chown it to [server] keyholder_user %s, "
		"mode 0600",
		path, kr->kr_conf->c_user, kr->kr_conf->c_keyholder_user);
}

/* Privilege separation: the key holder's account of its own, and no key
 * file that sleuteld's account could read. */
static void
check_separation(struct check *ck, const struct sl_config *conf)
{
	struct key_reader kr = { ck, conf };
	struct sl_err err = { 0 };
	struct passwd *pw;

	if (conf->c_keyholder_user[0] == '\0')
		return;
	if (getpwnam(conf->c_keyholder_user) == NULL)
		problem(ck, "[server] keyholder_user %s: no such user", conf->c_keyholder_user);
	if (conf->c_user[0] == '\0') {
		problem(ck, "[server] keyholder_user is set but [server] user is not: sleuteld would run as root");
		return;
	}
	if (strcmp(conf->c_user, conf->c_keyholder_user) == 0) {
		problem(ck, "[server] keyholder_user must be another account than [server] user");
		return;
	}
	if ((pw = getpwnam(conf->c_user)) == NULL) {
		problem(ck, "[server] user %s: no such user", conf->c_user);
		return;
	}
	if (keyholder_files_readable(conf, pw->pw_uid, pw->pw_gid, key_readable, &kr, &err) < 0)
		problem(ck, "%s", err.msg);
}

static void
checkconfig_usage(void)
{
	printf("usage: sleutel check-config [FILE]\n"
	       "\nReads FILE (default: --config, $SLEUTEL_CONFIG, ./sleutel.ini) as sleuteld does and checks\n"
	       "what it names: files exist and are readable, private keys and secrets are not readable by\n"
	       "others, TLS certificates are valid and match their keys, listeners do not collide, the store\n"
	       "opens (read-only) at a known schema and every signing key it publishes has its file.\n"
	       "One line per problem; exit 0: none, 1: problems, 2: usage.  Run it as sleuteld's user.\n");
}

int
cli_check_config(const char *config, int argc, char **argv)
{
	struct check ck = { 0 };
	struct sl_err err = { 0 };
	struct sl_config *conf;
	bool keys_ok = false;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			checkconfig_usage();
			return CLI_OK;
		}
		if (argv[i][0] == '-' || i > 0) {
			cli_error("check-config: unexpected %s (see sleutel check-config --help)", argv[i]);
			return CLI_USAGE;
		}
		config = argv[i];
	}
	ck.ck_file = config;
	conf = config_load(config, &err);
	if (conf == NULL) {
		problem(&ck, "%s", err.msg);
		return CLI_FAIL;
	}
	check_config_file(&ck, conf);
	check_files(&ck, conf);
	check_keys(&ck, conf, &keys_ok);
	check_separation(&ck, conf);
	check_listeners(&ck, conf);
	check_store(&ck, conf, keys_ok);
	config_free(conf);
	if (ck.ck_problems > 0)
		return CLI_FAIL;
	printf("%s: ok\n", config);
	return CLI_OK;
}
