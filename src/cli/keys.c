/*
 * keys.c — `sleutel keys rotate|list`: the ID-token signing keys.
 * A rotated-in key is published at once and signs after --publish-delay
 * seconds, so RPs that cache the JWKS know it before they meet it.
 *
 * With [server] keyholder_user, [keys] dir is that account's alone:
 * `rotate` then runs as root, writes the key files and gives them to it,
 * and becomes [server] user before it opens the store (so that a database
 * file it creates is sleuteld's, not root's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pwd.h>
#include <unistd.h>

#include "cli.h"
#include "../keyholder/keyholder.h"

static void
keys_usage(void)
{
	printf("usage: sleutel [--config FILE] keys rotate [--publish-delay SECONDS] [--json]\n"
	       "       sleutel [--config FILE] keys list [--json]\n"
	       "\nrotate  add a new ES256, RS256 and PS256 key; each signs after the delay (default 3600 s)\n"
	       "        and the key it replaces stays published one day longer\n"
	       "list    show every key, when it signs from and until when it is published\n");
}

static int
key_row(const struct store_key *k, void *arg)
{
	json_t *arr = arg;

	json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:I}", "kid", k->k_kid, "alg", k->k_alg, "created",
					   (json_int_t)k->k_created, "use_after", (json_int_t)k->k_use_after,
					   "retire_after", (json_int_t)k->k_retire_after));
	return SL_OK;
}

static int
keys_list(struct cli_ctx *cc, bool json)
{
	json_t *arr = json_array(), *v;
	size_t i;

	store_key_each(cc->cc_store, key_row, arr);
	if (json) {
		cli_print_json(arr);
	} else {
		printf("%-18s %-6s %-12s %s\n", "KID", "ALG", "SIGNS FROM", "RETIRES");
		json_array_foreach(arr, i, v) printf("%-18s %-6s %-12lld %lld\n",
			json_string_value(json_object_get(v, "kid")), json_string_value(json_object_get(v, "alg")),
			(long long)json_integer_value(json_object_get(v, "use_after")),
			(long long)json_integer_value(json_object_get(v, "retire_after")));
	}
	json_decref(arr);
	return CLI_OK;
}

static int
rotated(struct cli_ctx *cc, long delay, int argc, char **argv)
{
	cli_audit(cc, "keys.rotate", NULL, NULL);
	if (!cli_has_flag(argc, argv, "--json"))
		printf("new keys published; they sign from %ld seconds from now\n", delay);
	return cli_has_flag(argc, argv, "--json") ? keys_list(cc, true) : CLI_OK;
}

/* `rotate` with [server] keyholder_user (see above); CLI_USAGE when it is
 * not set, for the plain rotation. */
static int
rotate_separated(const char *config, long delay, int argc, char **argv)
{
	struct sl_err err = { 0 };
	struct sl_config *conf = config_load(config, &err);
	struct passwd *owner;
	struct cli_ctx cc;
	char *kids[CLI_KEY_ALGS];
	int rc;

	if (conf == NULL)
		return cli_error("%s", err.msg);
	if (conf->c_keyholder_user[0] == '\0') {
		config_free(conf);
		return CLI_USAGE;
	}
	if (geteuid() != 0)
		rc = cli_error("[keys] dir is [server] keyholder_user %s's: run sleutel keys rotate as root",
			conf->c_keyholder_user);
	else if ((owner = getpwnam(conf->c_keyholder_user)) == NULL)
		rc = cli_error("[server] keyholder_user %s: no such user", conf->c_keyholder_user);
	else if (cli_keys_write(conf->c_keys_dir, NULL, owner, kids, &err) != SL_OK ||
		 keyholder_drop_user(conf->c_user, "sleutel keys rotate", &err) != SL_OK) {
		for (size_t i = 0; i < CLI_KEY_ALGS; i++)
			free(kids[i]);
		rc = cli_error("%s", err.msg);
	} else if (cli_open(config, &cc) != CLI_OK) {
		for (size_t i = 0; i < CLI_KEY_ALGS; i++)
			free(kids[i]);
		rc = CLI_FAIL;
	} else {
		rc = cli_keys_register(cc.cc_store, kids, delay, &err) != SL_OK ? cli_error("%s", err.msg)
										: rotated(&cc, delay, argc, argv);
		cli_close(&cc);
	}
	config_free(conf);
	return rc;
}

int
cli_keys(const char *config, int argc, char **argv)
{
	struct cli_ctx cc;
	struct sl_err err = { 0 };
	long delay = 3600;
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		keys_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--publish-delay") == 0 && i + 1 < argc) {
			char *end;
			delay = strtol(argv[++i], &end, 10);
			if (*end != '\0' || delay < 0 || delay > 30L * 86400)
				return cli_error("--publish-delay takes seconds from 0 to 2592000");
		} else if (strcmp(argv[i], "--json") != 0) {
			return cli_error("keys: unknown option %s (see sleutel keys --help)", argv[i]);
		}
	}
	if (strcmp(argv[0], "rotate") != 0 && strcmp(argv[0], "list") != 0)
		return cli_error("keys: unknown command %s (see sleutel keys --help)", argv[0]);
	if (strcmp(argv[0], "rotate") == 0 && (rc = rotate_separated(config, delay, argc, argv)) != CLI_USAGE)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "list") == 0) {
		rc = keys_list(&cc, cli_has_flag(argc, argv, "--json"));
	} else if (cli_keys_generate(cc.cc_store, cc.cc_conf->c_keys_dir, NULL, delay, &err) != SL_OK) {
		rc = cli_error("%s", err.msg);
	} else {
		rc = rotated(&cc, delay, argc, argv);
	}
	cli_close(&cc);
	return rc;
}
