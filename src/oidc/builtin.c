/*
 * builtin.c — clients of sleutel's own pages (the account page's login,
 * the Smart-ID registration portal's eID login).  Each has one redirect
 * URI on the issuer and a secret that is thrown away at once: nobody ever
 * authenticates as it, the page that started the login checks its own
 * state cookie and reads the login's outcome itself.  The client is made
 * at first use; an operator who removes it gets a new one at the next
 * login, and an issuer change repairs its redirect URI.
 */
#include <stdlib.h>
#include <string.h>

#include "oidc_int.h"

bool
oidc_client_fresh_only(const char *client_id)
{
	return client_id != NULL && strcmp(client_id, OIDC_CLIENT_SMARTID_REG) == 0;
}

int
oidc_builtin_client(struct server *srv, const char *id, const char *name, const char *redirect)
{
	struct store_client c;
	json_t *uris;
	char *secret, hash[2 * SL_SHA256_LEN + 1];
	bool ok;
	int rc;

	if (store_client_get(srv->sv_store, id, &c) == SL_OK) {
		uris = json_loads(c.cl_redirect_uris, 0, NULL);
		ok = json_array_has(uris, redirect);
		json_decref(uris);
		store_client_clear(&c);
		if (ok)
			return SL_OK;
		store_client_remove(srv->sv_store, id);
	}
	secret = sl_random_id(32);
	if (secret == NULL || crypto_token_hash(secret, hash) != SL_OK) {
		free(secret);
		return SL_ECRYPTO;
	}
	free(secret);
	memset(&c, 0, sizeof(c));
	c.cl_id = (char *)id;
	c.cl_name = (char *)name;
	c.cl_secret_hash = hash;
	c.cl_auth_method = (char *)"client_secret_basic";
	uris = json_pack("[s]", redirect);
	c.cl_redirect_uris = json_dumps(uris, JSON_COMPACT);
	json_decref(uris);
	c.cl_post_logout_uris = (char *)"[]";
	c.cl_id_token_alg = (char *)"ES256";
	c.cl_sector = (char *)id;
	c.cl_created = sl_now();
	rc = c.cl_redirect_uris ? store_client_add(srv->sv_store, &c, NULL) : SL_ENOMEM;
	free(c.cl_redirect_uris);
	/* Two first logins at once: the second add fails, the get wins. */
	if (rc != SL_OK && store_client_get(srv->sv_store, id, &c) == SL_OK) {
		store_client_clear(&c);
		rc = SL_OK;
	}
	return rc;
}
