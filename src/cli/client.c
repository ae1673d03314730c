/*
 * client.c — `sleutel client add|list|show|update|remove`: the relying
 * parties, with the scopes each may be granted.
 * A client secret is printed once, at creation, and stored only as its
 * SHA-256 (it is 256 random bits, so no slow hash is needed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "client_jose.h"
#include "../crypto/crypto.h"
#include "../oidc/scopes.h"

#define CLIENT_SCOPES_MAX 256 /* bytes of a --scopes value */
#define CLIENT_PARTNER_URL_MAX 256 /* bytes of a --partner-url value */

static void
client_usage(void)
{
	printf("usage: sleutel [--config FILE] client add --name NAME --redirect-uri URI [--redirect-uri URI ...]\n"
	       "              [--post-logout-redirect-uri URI ...] [--auth METHOD] [--jwks FILE]\n"
	       "              [--require-par] [--id-token-alg ES256|RS256|PS256] [--sector ID]\n"
	       "              [--profile default|fapi2]\n"
	       "              [--ciba-mode poll|ping [--ciba-endpoint URL]] [--scopes \"SCOPE ...\"] [--json]\n"
	       "              [--require-signed-request-object] [--id-token-encrypted-response-alg RSA-OAEP|ECDH-ES\n"
	       "              [--id-token-encrypted-response-enc A128CBC-HS256|A256GCM]] [--partner-url URL]\n"
	       "       sleutel [--config FILE] client list [--json]\n"
	       "       sleutel [--config FILE] client show CLIENT_ID [--json]\n"
	       "       sleutel [--config FILE] client update CLIENT_ID [--scopes \"SCOPE ...\"] [--new-secret]\n"
	       "              [--profile default|fapi2] [--[no-]require-signed-request-object]\n"
	       "              [--partner-url URL | --no-partner] [--json]\n"
	       "       sleutel [--config FILE] client remove CLIENT_ID\n"
	       "\nMETHOD is client_secret_basic (default), client_secret_post or private_key_jwt\n"
	       "(which needs --jwks FILE: the client's public keys, ES256 or PS256).\n"
	       "--require-signed-request-object: authorization requests only as request objects signed\n"
	       "with a key of --jwks.  --id-token-encrypted-response-alg: ID tokens encrypted to the\n"
	       "key of --jwks with use \"enc\" (enc A128CBC-HS256 unless given).\n"
	       "--partner-url lists the client on the public site's Partners page (/LANG/partners) with its\n"
	       "name and a link to URL (https, at most 256 characters); --no-partner takes it off.\n"
	       "--ciba-mode lets the client start a CIBA request (\"confirm on your phone\"); ping mode\n"
	       "needs --ciba-endpoint, the client notification endpoint: https, or http on 127.0.0.1.\n"
	       "--scopes lists the scopes the client may be granted (default \"openid profile\"): openid\n"
	       "(required), profile (name and date of birth), eid (the national register number) and\n"
	       "offline_access (refresh tokens).  Scopes a request asks for beyond these are dropped.\n"
	       "--profile fapi2 makes a FAPI 2.0 Security Profile client: it needs --auth private_key_jwt,\n"
	       "must use PAR, and its tokens are DPoP-bound (RFC 9449), with --ciba-mode its CIBA tokens\n"
	       "too (every token request carries a DPoP proof); codes live 60 s at most.\n"
	       "The secret of a new client is printed once and cannot be shown again.\n");
}

/* A --scopes value: known scopes only, openid among them, no repeats;
 * written back in the provider's order into *out (malloc'd). */
static int
scopes_parse(const char *v, char **out)
{
	static const char *const known[] = { OIDC_SCOPE_LIST, NULL };
	char tmp[CLIENT_SCOPES_MAX + 1], *save = NULL, *tok, *res;
	size_t len = 0;
	bool seen[sizeof(known) / sizeof(known[0])] = { false };

	*out = NULL;
	if (sl_strlcpy(tmp, v, sizeof(tmp)) >= sizeof(tmp))
		return cli_error("--scopes: at most %d characters", CLIENT_SCOPES_MAX);
	for (tok = strtok_r(tmp, " ,", &save); tok != NULL; tok = strtok_r(NULL, " ,", &save)) {
		size_t i = 0;
		while (known[i] != NULL && strcmp(known[i], tok) != 0)
			i++;
		if (known[i] == NULL)
			return cli_error(
				"--scopes: unknown scope \"%s\" (known: openid profile eid offline_access)", tok);
		seen[i] = true;
	}
	if (!seen[0])
		return cli_error("--scopes: openid is required (every login is an OpenID Connect login)");
	res = calloc(1, CLIENT_SCOPES_MAX + 1);
	if (res == NULL)
		return cli_error("out of memory");
	for (size_t i = 0; known[i] != NULL; i++)
		if (seen[i])
			len += (size_t)snprintf(
				res + len, CLIENT_SCOPES_MAX + 1 - len, "%s%s", len ? " " : "", known[i]);
	*out = res;
	return CLI_OK;
}

/* https, or http on a loopback address (RFC 8252 §7.3); no fragment. */
static bool
uri_ok(const char *u)
{
	if (strlen(u) > 2000 || strchr(u, '#') != NULL || strchr(u, ' ') != NULL)
		return false;
	if (strncmp(u, "https://", 8) == 0 && u[8] != '\0' && u[8] != '/')
		return true;
	return strncmp(u, "http://127.0.0.1", 16) == 0 || strncmp(u, "http://localhost", 16) == 0 ||
	       strncmp(u, "http://[::1]", 12) == 0;
}

/* The host[:port] part of a URI, for the pairwise sector. malloc'd. */
static char *
uri_host(const char *u)
{
	const char *h = strstr(u, "://");

	if (h == NULL)
		return NULL;
	h += 3;
	return sl_strndup(h, strcspn(h, "/?"));
}

static json_t *
client_json(const struct store_client *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "client_id", json_string(c->cl_id));
	json_object_set_new(o, "name", json_string(c->cl_name));
	json_object_set_new(o, "auth_method", json_string(c->cl_auth_method));
	json_object_set_new(o, "redirect_uris", json_loads(c->cl_redirect_uris, 0, NULL));
	json_object_set_new(o, "post_logout_redirect_uris", json_loads(c->cl_post_logout_uris, 0, NULL));
	json_object_set_new(o, "id_token_alg", json_string(c->cl_id_token_alg));
	json_object_set_new(o, "sector", json_string(c->cl_sector));
	json_object_set_new(o, "require_par", json_boolean(c->cl_require_par));
	json_object_set_new(o, "profile", json_string(c->cl_profile ? c->cl_profile : "default"));
	json_object_set_new(o, "scopes", json_string(c->cl_scopes ? c->cl_scopes : STORE_CLIENT_SCOPES_DEFAULT));
	json_object_set_new(o, "ciba_mode", c->cl_ciba_mode ? json_string(c->cl_ciba_mode) : json_null());
	json_object_set_new(o, "ciba_endpoint", c->cl_ciba_endpoint ? json_string(c->cl_ciba_endpoint) : json_null());
	json_object_set_new(o, "created", json_integer(c->cl_created));
	client_jose_json(o, c);
	return o;
}

static void
print_client(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		if (json_is_null(v))
			continue; /* not set: CIBA options of a client without CIBA */
		char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%-26s %s\n", k, s ? s : json_string_value(v));
		free(s);
	}
}

/* A client record, with its new secret when one was just made: the only
 * time it is ever shown. */
static void
print_with_secret(json_t *o, const char *secret, bool json)
{
	if (secret != NULL)
		json_object_set_new(o, "client_secret", json_string(secret));
	if (json) {
		cli_print_json(o);
		return;
	}
	print_client(o);
	if (secret != NULL)
		printf("\nKeep the client secret now: it is not stored and cannot be shown again.\n");
}

static int
load_jwks(const char *path, char **out)
{
	struct sl_err err = { 0 };
	char *text = NULL;
	json_t *doc, *k;
	size_t i;
	int n = 0;

	if (sl_file_read(path, 65536, &text, NULL, &err) != SL_OK)
		return cli_error("%s", err.msg);
	doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_array(json_object_get(doc, "keys"))) {
		json_decref(doc);
		return cli_error("%s: not a JWKS ({\"keys\": [...]})", path);
	}
	json_array_foreach(json_object_get(doc, "keys"), i, k)
	{
		if (client_jwk_check(k, &err) != SL_OK) {
			json_decref(doc);
			return cli_error("%s: key %zu: %s", path, i, err.msg);
		}
		n++;
	}
	if (n == 0) {
		json_decref(doc);
		return cli_error("%s: no keys", path);
	}
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return CLI_OK;
}

/* A --partner-url value: shown to everyone as a link, so only an https
 * address (http on loopback, for tests) in plain URI characters: nothing
 * a page would have to escape, no user@ part that hides the real host. */
static int
partner_url_check(const char *v)
{
	if (strlen(v) > CLIENT_PARTNER_URL_MAX || !uri_ok(v))
		return cli_error("--partner-url %s: must be https:// (or http:// on loopback), at most %d characters, "
				 "without a fragment",
			v, CLIENT_PARTNER_URL_MAX);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("\"<>\\^`{|}@", *p) != NULL)
			return cli_error("--partner-url: the character 0x%02x is not allowed in the link", *p);
	return CLI_OK;
}

/* A client's listing on the Partners page, as "partner_url" (null when
 * not listed: print_client leaves it out). */
static void
partner_json(struct cli_ctx *cc, json_t *o)
{
	char *url = NULL;

	store_partner_get(cc->cc_store, json_string_value(json_object_get(o, "client_id")), &url);
	json_object_set_new(o, "partner_url", url ? json_string(url) : json_null());
	free(url);
}

/* List (url) or unlist (NULL) a client, audited as client.partner. */
static int
partner_set(struct cli_ctx *cc, const char *id, const char *url)
{
	int rc = store_partner_set(cc->cc_store, id, url);

	if (rc == SL_ENOTFOUND)
		return cli_error("no client %s", id);
	if (rc != SL_OK)
		return cli_error("cannot save the client");
	cli_audit(cc, "client.partner", id, url ? url : "not listed");
	return CLI_OK;
}

struct add_opts {
	const char *ao_name, *ao_auth, *ao_jwks, *ao_alg, *ao_sector;
	const char *ao_ciba_mode, *ao_ciba_endpoint, *ao_profile, *ao_partner;
	char *ao_scopes; /* checked, malloc'd */
	json_t *ao_uris, *ao_post;
	bool ao_par;
	int ao_max_uris; /* [oidc] max_redirect_uris */
	struct client_jose_opts ao_jose;
};

static int
add_parse(int argc, char **argv, struct add_opts *ao)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int jose = client_jose_option(&ao->ao_jose, argc, argv, &i);
		if (jose != 0 || strcmp(a, "--json") == 0) {
			if (jose < 0)
				return CLI_FAIL;
			continue;
		}
		if (strcmp(a, "--require-par") == 0) {
			ao->ao_par = true;
			continue;
		}
		if (v == NULL)
			return cli_error("client add: %s needs a value", a);
		i++;
		if (strcmp(a, "--name") == 0)
			ao->ao_name = v;
		else if (strcmp(a, "--auth") == 0)
			ao->ao_auth = v;
		else if (strcmp(a, "--jwks") == 0)
			ao->ao_jwks = v;
		else if (strcmp(a, "--id-token-alg") == 0)
			ao->ao_alg = v;
		else if (strcmp(a, "--sector") == 0)
			ao->ao_sector = v;
		else if (strcmp(a, "--ciba-mode") == 0)
			ao->ao_ciba_mode = v;
		else if (strcmp(a, "--ciba-endpoint") == 0)
			ao->ao_ciba_endpoint = v;
		else if (strcmp(a, "--profile") == 0)
			ao->ao_profile = v;
		else if (strcmp(a, "--partner-url") == 0) {
			if (partner_url_check(v) != CLI_OK)
				return CLI_FAIL;
			ao->ao_partner = v;
		} else if (strcmp(a, "--scopes") == 0) {
			free(ao->ao_scopes);
			if (scopes_parse(v, &ao->ao_scopes) != CLI_OK)
				return CLI_FAIL;
		} else if (strcmp(a, "--redirect-uri") == 0 || strcmp(a, "--post-logout-redirect-uri") == 0) {
			json_t *arr = a[2] == 'r' ? ao->ao_uris : ao->ao_post;
			if (!uri_ok(v))
				return cli_error("%s: must be https:// (or http:// on loopback) without a fragment", v);
			if ((int)json_array_size(arr) == ao->ao_max_uris)
				return cli_error(
					"at most %d URIs of each kind ([oidc] max_redirect_uris)", ao->ao_max_uris);
			json_array_append_new(arr, json_string(v));
		} else
			return cli_error("client add: unknown option %s (see sleutel client --help)", a);
	}
	return CLI_OK;
}

/* CIBA: poll, or ping with a notification endpoint the server will POST
 * to (https, or http on 127.0.0.1 for a local test RP: the notification
 * carries a bearer token, so nothing else goes in the clear). */
static int
ciba_check(const struct add_opts *ao)
{
	const char *e = ao->ao_ciba_endpoint, *m = ao->ao_ciba_mode;

	if (m == NULL)
		return e == NULL ? CLI_OK : cli_error("client add: --ciba-endpoint goes with --ciba-mode ping");
	if (strcmp(m, "poll") != 0 && strcmp(m, "ping") != 0)
		return cli_error("client add: --ciba-mode must be poll or ping");
	if (strcmp(m, "poll") == 0)
		return e == NULL ? CLI_OK : cli_error("client add: --ciba-endpoint goes with --ciba-mode ping only");
	if (e == NULL)
		return cli_error("client add: --ciba-mode ping needs --ciba-endpoint URL");
	if (strlen(e) > 2000 || strchr(e, '#') != NULL || strchr(e, ' ') != NULL || strchr(e, '@') != NULL ||
		!((strncmp(e, "https://", 8) == 0 && e[8] != '\0' && e[8] != '/') ||
			strncmp(e, "http://127.0.0.1:", 17) == 0 || strncmp(e, "http://127.0.0.1/", 17) == 0))
		return cli_error("%s: the CIBA endpoint must be https:// (or http://127.0.0.1) without a fragment", e);
	return CLI_OK;
}

static int
add_check(struct add_opts *ao)
{
	if (ao->ao_name == NULL || strlen(ao->ao_name) == 0 || strlen(ao->ao_name) > 100)
		return cli_error("client add: --name is required (at most 100 characters)");
	if (json_array_size(ao->ao_uris) == 0)
		return cli_error("client add: at least one --redirect-uri is required");
	if (strcmp(ao->ao_auth, "client_secret_basic") != 0 && strcmp(ao->ao_auth, "client_secret_post") != 0 &&
		strcmp(ao->ao_auth, "private_key_jwt") != 0)
		return cli_error(
			"client add: --auth must be client_secret_basic, client_secret_post or private_key_jwt");
	if (strcmp(ao->ao_auth, "private_key_jwt") == 0 && ao->ao_jwks == NULL)
		return cli_error("client add: --auth private_key_jwt needs --jwks FILE");
	if (!jose_alg_supported(ao->ao_alg))
		return cli_error("client add: --id-token-alg must be ES256, RS256 or PS256");
	if (strcmp(ao->ao_profile, "default") != 0 && strcmp(ao->ao_profile, "fapi2") != 0)
		return cli_error("client add: --profile must be default or fapi2");
	if (strcmp(ao->ao_profile, "fapi2") == 0 && strcmp(ao->ao_auth, "private_key_jwt") != 0)
		return cli_error("client add: --profile fapi2 needs --auth private_key_jwt (FAPI 2.0 §5.3.3)");
	if (strcmp(ao->ao_profile, "fapi2") == 0)
		ao->ao_par = true; /* FAPI 2.0 §5.3.2.2 */
	return ciba_check(ao);
}

static int
client_add(struct cli_ctx *cc, int argc, char **argv)
{
	struct add_opts ao = {
		.ao_auth = "client_secret_basic",
		.ao_alg = "ES256",
		.ao_profile = "default",
		.ao_max_uris = cc->cc_conf->c_max_redirect_uris,
	};
	struct store_client c = { 0 };
	struct sl_err err = { 0 };
	char hash[2 * SL_SHA256_LEN + 1], *secret = NULL, *sector = NULL;
	json_t *out;
	int rc;

	ao.ao_uris = json_array();
	ao.ao_post = json_array();
	rc = add_parse(argc, argv, &ao);
	if (rc == CLI_OK)
		rc = add_check(&ao);
	if (rc == CLI_OK && ao.ao_jwks)
		rc = load_jwks(ao.ao_jwks, &c.cl_jwks);
	c.cl_auth_method = (char *)ao.ao_auth;
	if (rc == CLI_OK)
		rc = client_jose_apply(&ao.ao_jose, &c);
	if (rc == CLI_OK)
		sector = ao.ao_sector ? strdup(ao.ao_sector)
				      : uri_host(json_string_value(json_array_get(ao.ao_uris, 0)));
	if (rc == CLI_OK && sector == NULL)
		rc = cli_error("client add: cannot read the host of the redirect URI");
	for (size_t i = 1; rc == CLI_OK && sector != NULL && ao.ao_sector == NULL && i < json_array_size(ao.ao_uris);
		i++) {
		char *h = uri_host(json_string_value(json_array_get(ao.ao_uris, i)));
		if (h == NULL || strcmp(h, sector) != 0)
			rc = cli_error("redirect URIs on several hosts need --sector (the pairwise subject's scope)");
		free(h);
	}
	if (rc == CLI_OK && strcmp(ao.ao_auth, "private_key_jwt") != 0) {
		secret = sl_random_id(32);
		crypto_token_hash(secret, hash);
		c.cl_secret_hash = hash;
	}
	if (rc == CLI_OK) {
		c.cl_id = sl_random_name(16);
		c.cl_name = (char *)ao.ao_name;
		c.cl_auth_method = (char *)ao.ao_auth;
		c.cl_redirect_uris = json_dumps(ao.ao_uris, JSON_COMPACT);
		c.cl_post_logout_uris = json_dumps(ao.ao_post, JSON_COMPACT);
		c.cl_id_token_alg = (char *)ao.ao_alg;
		c.cl_sector = sector;
		c.cl_require_par = ao.ao_par;
		c.cl_ciba_mode = (char *)ao.ao_ciba_mode;
		c.cl_ciba_endpoint = (char *)ao.ao_ciba_endpoint;
		c.cl_scopes = ao.ao_scopes; /* NULL: the store's default */
		c.cl_profile = (char *)ao.ao_profile;
		c.cl_created = sl_now();
		if (store_client_add(cc->cc_store, &c, &err) != SL_OK)
			rc = cli_error("%s", err.msg);
		else
			cli_audit(cc, "client.add", c.cl_id, c.cl_name);
	}
	if (rc == CLI_OK && ao.ao_partner != NULL)
		rc = partner_set(cc, c.cl_id, ao.ao_partner);
	if (rc == CLI_OK) {
		out = client_json(&c);
		partner_json(cc, out);
		print_with_secret(out, secret, cli_has_flag(argc, argv, "--json"));
		json_decref(out);
	}
	free(c.cl_id);
	free(c.cl_redirect_uris);
	free(c.cl_post_logout_uris);
	free(c.cl_jwks);
	free(secret);
	free(sector);
	free(ao.ao_scopes);
	json_decref(ao.ao_uris);
	json_decref(ao.ao_post);
	return rc;
}

static int
list_row(const struct store_client *c, void *arg)
{
	json_array_append_new(arg, client_json(c));
	return SL_OK;
}

static int
client_list(struct cli_ctx *cc, bool json)
{
	json_t *arr = json_array(), *v;
	size_t i;

	store_client_each(cc->cc_store, list_row, arr);
	json_array_foreach(arr, i, v) partner_json(cc, v);
	if (json) {
		cli_print_json(arr);
	} else {
		printf("%-24s %-22s %-34s %s\n", "CLIENT_ID", "AUTH", "SCOPES", "NAME");
		json_array_foreach(arr, i, v) printf("%-24s %-22s %-34s %s\n",
			json_string_value(json_object_get(v, "client_id")),
			json_string_value(json_object_get(v, "auth_method")),
			json_string_value(json_object_get(v, "scopes")), json_string_value(json_object_get(v, "name")));
	}
	json_decref(arr);
	return CLI_OK;
}

/* `secret` (shown once, when it was just made) may be NULL. */
static int
client_show(struct cli_ctx *cc, const char *id, bool json, const char *secret)
{
	struct store_client c;
	json_t *o;

	if (store_client_get(cc->cc_store, id, &c) != SL_OK)
		return cli_error("no client %s", id);
	o = client_json(&c);
	partner_json(cc, o);
	print_with_secret(o, secret, json);
	json_decref(o);
	store_client_clear(&c);
	return CLI_OK;
}

/* client update CLIENT_ID --new-secret: a fresh secret, printed once; the
 * old one stops working at once (a leaked secret is answered by this). */
static int
client_new_secret(struct cli_ctx *cc, const char *id, char **secret)
{
	char hash[2 * SL_SHA256_LEN + 1];
	int rc;

	*secret = sl_random_id(32);
	if (*secret == NULL || crypto_token_hash(*secret, hash) != SL_OK)
		return cli_error("cannot make a secret");
	rc = store_client_set_secret(cc->cc_store, id, hash);
	if (rc == SL_ENOTFOUND)
		return cli_error(
			"no client %s with a secret (a private_key_jwt client authenticates with its keys)", id);
	if (rc != SL_OK)
		return cli_error("cannot save the client");
	cli_audit(cc, "client.secret", id, "new secret");
	return CLI_OK;
}

/* client update CLIENT_ID --profile default|fapi2: fapi2 needs a
 * private_key_jwt client, and sets require_par with it. */
static int
client_set_profile(struct cli_ctx *cc, const char *id, const char *profile)
{
	struct store_client c;
	int rc;

	if (strcmp(profile, "default") != 0 && strcmp(profile, "fapi2") != 0)
		return cli_error("client update: --profile must be default or fapi2");
	if (store_client_get(cc->cc_store, id, &c) != SL_OK)
		return cli_error("no client %s", id);
	rc = strcmp(profile, "fapi2") == 0 && strcmp(c.cl_auth_method, "private_key_jwt") != 0
		     ? cli_error("client update: --profile fapi2 needs a private_key_jwt client (FAPI 2.0 §5.3.3)")
		     : CLI_OK;
	store_client_clear(&c);
	if (rc == CLI_OK && store_client_set_profile(cc->cc_store, id, profile) != SL_OK)
		rc = cli_error("cannot save the client");
	if (rc == CLI_OK)
		cli_audit(cc, "client.profile", id, profile);
	return rc;
}

/* client update CLIENT_ID [--scopes "..."] [--new-secret]: what the client
 * may be granted from now on, and its secret.  Tokens issued before keep
 * their scope until they expire; consents stay (a person is asked again
 * only for scopes not agreed to). */
static int
client_update(struct cli_ctx *cc, int argc, char **argv, bool json)
{
	const char *id = argv[1], *v = NULL, *profile = NULL, *partner = NULL;
	char *scopes = NULL, *secret = NULL;
	bool new_secret = false;
	int rc = CLI_OK, signed_ro = -1; /* -1: unchanged */
	bool partner_change = false;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--new-secret") == 0) {
			new_secret = true;
			continue;
		}
		if (strcmp(argv[i], "--require-signed-request-object") == 0 ||
			strcmp(argv[i], "--no-require-signed-request-object") == 0) {
			signed_ro = argv[i][2] == 'r';
			continue;
		}
		if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			profile = argv[++i];
			continue;
		}
		if ((strcmp(argv[i], "--partner-url") == 0 && i + 1 < argc) || strcmp(argv[i], "--no-partner") == 0) {
			if (partner_change)
				return cli_error("client update: --partner-url or --no-partner, once");
			partner_change = true;
			partner = argv[i][2] == 'p' ? argv[++i] : NULL;
			if (partner != NULL && partner_url_check(partner) != CLI_OK)
				return CLI_FAIL;
			continue;
		}
		if (strcmp(argv[i], "--scopes") != 0 || i + 1 >= argc)
			return cli_error("client update: only --scopes \"SCOPE ...\", --profile, --new-secret, "
					 "--partner-url URL, --no-partner and "
					 "--[no-]require-signed-request-object can be changed");
		v = argv[++i];
	}
	if (v == NULL && !new_secret && profile == NULL && signed_ro < 0 && !partner_change)
		return cli_error("client update: what to change? (--scopes \"SCOPE ...\", --profile, --new-secret, "
				 "--partner-url URL, --no-partner)");
	if (v != NULL && scopes_parse(v, &scopes) != CLI_OK)
		return CLI_FAIL;
	if (scopes != NULL) {
		rc = store_client_set_scopes(cc->cc_store, id, scopes);
		if (rc == SL_ENOTFOUND)
			rc = cli_error("no client %s", id);
		else if (rc != SL_OK)
			rc = cli_error("cannot save the client");
		else
			cli_audit(cc, "client.update", id, scopes);
	}
	if (rc == CLI_OK && signed_ro >= 0)
		rc = client_jose_set_signed_ro(cc, id, signed_ro == 1);
	if (rc == CLI_OK && profile != NULL)
		rc = client_set_profile(cc, id, profile);
	if (rc == CLI_OK && partner_change)
		rc = partner_set(cc, id, partner);
	if (rc == CLI_OK && new_secret)
		rc = client_new_secret(cc, id, &secret);
	if (rc == CLI_OK)
		rc = client_show(cc, id, json, secret);
	if (secret != NULL)
		OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	free(scopes);
	return rc;
}

int
cli_client(const char *config, int argc, char **argv)
{
	struct cli_ctx cc;
	bool json = cli_has_flag(argc, argv, "--json");
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		client_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[0], "add") != 0 && strcmp(argv[0], "list") != 0 && strcmp(argv[0], "show") != 0 &&
		strcmp(argv[0], "update") != 0 && strcmp(argv[0], "remove") != 0)
		return cli_error("client: unknown command %s (see sleutel client --help)", argv[0]);
	if ((strcmp(argv[0], "show") == 0 || strcmp(argv[0], "remove") == 0 || strcmp(argv[0], "update") == 0) &&
		(argc < 2 || argv[1][0] == '-'))
		return cli_error("client %s: which CLIENT_ID?", argv[0]);
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "add") == 0)
		rc = client_add(&cc, argc, argv);
	else if (strcmp(argv[0], "list") == 0)
		rc = client_list(&cc, json);
	else if (strcmp(argv[0], "show") == 0)
		rc = client_show(&cc, argv[1], json, NULL);
	else if (strcmp(argv[0], "update") == 0)
		rc = client_update(&cc, argc, argv, json);
	else if (store_client_remove(cc.cc_store, argv[1]) != SL_OK)
		rc = cli_error("no client %s", argv[1]);
	else {
		cli_audit(&cc, "client.remove", argv[1], NULL);
		printf("removed %s\n", argv[1]);
		rc = CLI_OK;
	}
	cli_close(&cc);
	return rc;
}
