/* common.c — what every `sleutel` subcommand shares. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../crypto/crypto.h"

int
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sleutel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_FAIL;
}

static void
audit_write(struct cli_ctx *cc, const char *event, const char *client_id, const char *person_id, const char *detail)
{
	char who[256];
	const char *user = getenv("USER");
	struct store_audit au = {
		.au_event = event, .au_result = "ok", .au_client_id = client_id, .au_person_id = person_id
	};

	snprintf(who, sizeof(who), "operator %s%s%s", user ? user : "(unknown)", detail ? ": " : "",
		detail ? detail : "");
	au.au_detail = who;
	if (store_audit_add(cc->cc_store, &au) != SL_OK)
		cli_error("warning: the audit record for %s was not written", event);
}

void
cli_audit(struct cli_ctx *cc, const char *event, const char *client_id, const char *detail)
{
	audit_write(cc, event, client_id, NULL, detail);
}

void
cli_audit_person(struct cli_ctx *cc, const char *event, const char *person_id, const char *detail)
{
	audit_write(cc, event, NULL, person_id, detail);
}

const char *
cli_time(int64_t t, char buf[CLI_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, CLI_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		sl_strlcpy(buf, "-", CLI_TIME_LEN);
	return buf;
}

void
cli_set_person_name(json_t *o, const struct store_person *p)
{
	char name[256];

	snprintf(name, sizeof(name), "%s %s", p->p_given_name ? p->p_given_name : "",
		p->p_family_name ? p->p_family_name : "");
	json_object_set_new(o, "name", json_string(name));
}

json_t *
cli_json_time(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

json_t *
cli_json_lock(int64_t until)
{
	if (until == STORE_LOCKED_FOREVER)
		return json_string("forever");
	return until > sl_now() ? json_integer(until) : json_null();
}

const char *
cli_text_time(const json_t *v, char buf[CLI_TIME_LEN])
{
	if (json_is_string(v))
		return json_string_value(v);
	return cli_time(json_is_integer(v) ? json_integer_value(v) : 0, buf);
}

int
cli_check_verb(const char *cmd, int argc, char **argv, const char *const *verbs, size_t nargless, const char *what)
{
	size_t i;

	for (i = 0; verbs[i] != NULL; i++)
		if (strcmp(argv[0], verbs[i]) == 0)
			break;
	if (verbs[i] == NULL) {
		cli_error("%s: unknown command %s (see sleutel %s --help)", cmd, argv[0], cmd);
		return CLI_USAGE;
	}
	if (i >= nargless && (argc < 2 || argv[1][0] == '-')) {
		cli_error("%s %s: which %s?", cmd, argv[0], what);
		return CLI_USAGE;
	}
	return CLI_OK;
}

void
cli_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s != NULL)
		puts(s);
	free(s);
}

bool
cli_has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return true;
	return false;
}

int
cli_open(const char *config, struct cli_ctx *cc)
{
	struct sl_err err = { 0 };
	struct store_options so;

	memset(cc, 0, sizeof(*cc));
	cc->cc_conf = config_load(config, &err);
	if (cc->cc_conf == NULL)
		return cli_error("%s", err.msg);
	so.so_engine = cc->cc_conf->c_store_engine;
	so.so_path = cc->cc_conf->c_store_path;
	so.so_conninfo = cc->cc_conf->c_store_conninfo;
	so.so_busy_timeout_ms = cc->cc_conf->c_store_busy_timeout_ms;
	so.so_pool = 1;
	cc->cc_store = store_open(&so, &err);
	if (cc->cc_store == NULL) {
		config_free(cc->cc_conf);
		return cli_error("%s", err.msg);
	}
	return CLI_OK;
}

void
cli_close(struct cli_ctx *cc)
{
	store_close(cc->cc_store);
	config_free(cc->cc_conf);
}

const char *const cli_key_algs[CLI_KEY_ALGS] = { "ES256", "RS256", "PS256" };

/* A new key of `alg`, or the one in fixture_dir/<alg>.pem (see cli.h). */
static struct jose_key *
keys_make(const char *alg, const char *kid, const char *fixture_dir, struct sl_err *err)
{
	char name[64], *path, *pem = NULL;
	struct jose_key *key = NULL;
	size_t len;

	if (fixture_dir == NULL)
		return jose_key_generate(alg, kid, err);
	snprintf(name, sizeof(name), "%s.pem", alg);
	if ((path = sl_path_resolve(fixture_dir, name)) == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (sl_file_read(path, 65536, &pem, &len, err) == SL_OK)
		key = jose_key_from_pem(pem, alg, kid, err);
	free(pem);
	free(path);
	return key;
}

/* Make the key of `alg` under a new kid and write its private half to
 * keys_dir/<kid>.pem (owned by `owner` when set); *kid is the caller's to
 * free. */
static int
keys_write(const char *alg, const char *keys_dir, const char *fixture_dir, const struct passwd *owner, char **kid,
	struct sl_err *err)
{
	struct jose_key *key;
	char *pem = NULL, name[128], *path = NULL;
	int rc = SL_ENOMEM;

	if ((*kid = sl_random_name(12)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if ((key = keys_make(alg, *kid, fixture_dir, err)) == NULL)
		return SL_ENOMEM; /* `err` says why */
	if ((pem = jose_key_private_pem(key)) != NULL) {
		snprintf(name, sizeof(name), "%s.pem", *kid);
		path = sl_path_resolve(keys_dir, name);
		rc = path ? sl_file_write(path, pem, strlen(pem), 0600, err) : SL_ENOMEM;
	}
	if (rc == SL_ENOMEM)
		sl_fail(err, rc, "out of memory");
	/* lchown: keys_dir is owner's, who could have put a link there. */
	if (rc == SL_OK && owner != NULL && lchown(path, owner->pw_uid, owner->pw_gid) != 0)
		rc = sl_fail(err, SL_EIO, "cannot give %s to %s: %s", path, owner->pw_name, strerror(errno));
	free(path);
	free(pem);
	jose_key_free(key);
	return rc;
}

int
cli_keys_write(const char *keys_dir, const char *fixture_dir, const struct passwd *owner, char *kids[CLI_KEY_ALGS],
	struct sl_err *err)
{
	int rc = SL_OK;

	for (size_t i = 0; i < CLI_KEY_ALGS; i++)
		kids[i] = NULL;
	for (size_t i = 0; i < CLI_KEY_ALGS && rc == SL_OK; i++)
		rc = keys_write(cli_key_algs[i], keys_dir, fixture_dir, owner, &kids[i], err);
	return rc;
}

int
cli_keys_register(struct store *st, char *kids[CLI_KEY_ALGS], int64_t delay, struct sl_err *err)
{
	int64_t use_after = sl_now() + delay;
	int rc = SL_OK;

	/* The delay counts from when RPs can see a key (it is published once
	 * registered), so that none signs sooner than `delay` after that. */
	for (size_t i = 0; i < CLI_KEY_ALGS && rc == SL_OK; i++) {
		struct store_key sk = { kids[i], (char *)cli_key_algs[i], sl_now(), use_after, 0 };

		/* Retire the current key of this algorithm first: it stays
		 * published until the new one signs plus the longest token
		 * lifetime (a day covers every configured maximum but refresh
		 * tokens, which are opaque and not signed). */
		rc = store_key_retire_current(st, cli_key_algs[i], use_after + 86400);
		if (rc == SL_OK)
			rc = store_key_add(st, &sk);
		if (rc != SL_OK)
			sl_fail(err, rc, "cannot register the new %s key", cli_key_algs[i]);
	}
	for (size_t i = 0; i < CLI_KEY_ALGS; i++) {
		free(kids[i]);
		kids[i] = NULL;
	}
	return rc;
}

int
cli_keys_generate(struct store *st, const char *keys_dir, const char *fixture_dir, int64_t delay, struct sl_err *err)
{
	char *kids[CLI_KEY_ALGS];
	int rc;

	/* Every key is made before any is registered: an RSA key takes
	 * seconds on a busy machine. */
	rc = cli_keys_write(keys_dir, fixture_dir, NULL, kids, err);
	if (rc == SL_OK)
		return cli_keys_register(st, kids, delay, err);
	for (size_t i = 0; i < CLI_KEY_ALGS; i++)
		free(kids[i]);
	return rc;
}
