/*
 * client_jose.c — the client options for signed request objects (RFC 9101)
 * and encrypted ID tokens (OIDC Core §10.2, Registration §2).  Both need
 * keys in the client's JWKS: a signing key (ES256, PS256) to verify its
 * request objects, an encryption key (use "enc": RSA-OAEP or ECDH-ES) for
 * its ID tokens.  A client whose JWKS lacks the key is refused here, at
 * registration, not at its first login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_jose.h"
#include "../crypto/crypto.h"

#define ENC_DEFAULT "A128CBC-HS256" /* OIDC Registration §2 */

static const char *const sig_algs[] = { "ES256", "PS256", NULL };

int
client_jose_option(struct client_jose_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (strcmp(a, "--require-signed-request-object") == 0) {
		o->cj_signed_ro = true;
		return 1;
	}
	if (strcmp(a, "--id-token-encrypted-response-alg") != 0 && strcmp(a, "--id-token-encrypted-response-enc") != 0)
		return 0;
	if (v == NULL)
		return cli_error("client add: %s needs a value", a), -1;
	if (strcmp(a, "--id-token-encrypted-response-alg") == 0 && !jose_jwe_alg_supported(v))
		return cli_error("client add: %s must be RSA-OAEP or ECDH-ES", a), -1;
	if (strcmp(a, "--id-token-encrypted-response-enc") == 0 && !jose_jwe_enc_supported(v))
		return cli_error("client add: %s must be A128CBC-HS256 or A256GCM", a), -1;
	if (strcmp(a, "--id-token-encrypted-response-alg") == 0)
		o->cj_enc_alg = v;
	else
		o->cj_enc_enc = v;
	(*i)++;
	return 1;
}

int
client_jwk_check(json_t *jwk, struct sl_err *err)
{
	struct jose_key *key;

	if (jose_jwk_is_enc(jwk))
		return jose_jwe_key_check(jwk, NULL, err);
	key = jose_key_from_jwk(jwk, sig_algs, err);
	if (key == NULL)
		return err->code;
	jose_key_free(key);
	return SL_OK;
}

/* How many keys of the JWKS (JSON text, or NULL) are signing keys, and is
 * one of them an encryption key for `enc_alg`? */
static int
count_sig_keys(const char *jwks_json, const char *enc_alg, bool *has_enc)
{
	json_t *jwks = jwks_json ? json_loads(jwks_json, 0, NULL) : NULL, *k;
	struct sl_err err;
	size_t i;
	int n = 0;

	*has_enc = false;
	json_array_foreach(json_object_get(jwks, "keys"), i, k)
	{
		if (!jose_jwk_is_enc(k))
			n++;
		else if (enc_alg != NULL && jose_jwe_key_check(k, enc_alg, &err) == SL_OK)
			*has_enc = true;
	}
	json_decref(jwks);
	return n;
}

int
client_jose_apply(const struct client_jose_opts *o, struct store_client *c)
{
	bool has_enc;
	int nsig = count_sig_keys(c->cl_jwks, o->cj_enc_alg, &has_enc);

	if (strcmp(c->cl_auth_method, "private_key_jwt") == 0 && nsig == 0)
		return cli_error("client add: private_key_jwt needs a signing key (ES256 or PS256) in --jwks");
	if (o->cj_signed_ro && nsig == 0)
		return cli_error("client add: --require-signed-request-object needs the client's signing keys "
				 "(ES256 or PS256) in --jwks");
	if (o->cj_enc_enc != NULL && o->cj_enc_alg == NULL)
		return cli_error("client add: --id-token-encrypted-response-enc needs "
				 "--id-token-encrypted-response-alg");
	if (o->cj_enc_alg != NULL && !has_enc)
		return cli_error("client add: --id-token-encrypted-response-alg %s needs an encryption key for it "
				 "(use \"enc\") in --jwks",
			o->cj_enc_alg);
	c->cl_require_signed_ro = o->cj_signed_ro;
	c->cl_id_token_enc_alg = (char *)o->cj_enc_alg;
	c->cl_id_token_enc_enc = o->cj_enc_alg != NULL ? (char *)(o->cj_enc_enc ? o->cj_enc_enc : ENC_DEFAULT) : NULL;
	return CLI_OK;
}

int
client_jose_set_signed_ro(struct cli_ctx *cc, const char *id, bool required)
{
	struct store_client c;
	bool has_enc;
	int nsig;

	if (store_client_get(cc->cc_store, id, &c) != SL_OK)
		return cli_error("no client %s", id);
	nsig = count_sig_keys(c.cl_jwks, NULL, &has_enc);
	store_client_clear(&c);
	if (required && nsig == 0)
		return cli_error("client %s has no signing keys (ES256 or PS256) to verify request objects with", id);
	if (store_client_set_signed_ro(cc->cc_store, id, required) != SL_OK)
		return cli_error("cannot save the client");
	cli_audit(cc, "client.update", id,
		required ? "require_signed_request_object" : "no require_signed_request_object");
	return CLI_OK;
}

void
client_jose_json(json_t *o, const struct store_client *c)
{
	json_object_set_new(o, "require_signed_request_object", json_boolean(c->cl_require_signed_ro));
	json_object_set_new(o, "id_token_encrypted_response_alg",
		c->cl_id_token_enc_alg ? json_string(c->cl_id_token_enc_alg) : json_null());
	json_object_set_new(o, "id_token_encrypted_response_enc",
		c->cl_id_token_enc_enc ? json_string(c->cl_id_token_enc_enc) : json_null());
}
