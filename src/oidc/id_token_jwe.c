/*
 * id_token_jwe.c — ID tokens encrypted for the client that registered
 * id_token_encrypted_response_alg (OIDC Core §10.2, Registration §2).
 *
 * The signed ID token is the plaintext of a JWE to the client's public
 * encryption key (use "enc" in its registered JWKS): a nested JWT, signed
 * then encrypted, with cty "JWT".  Only the client's public key is used:
 * no private key of this server is involved, so the key holder is not.
 */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "oidc_int.h"

/* The client's first encryption key fit for its alg (a new reference). */
static json_t *
enc_key(const struct store_client *client)
{
	json_t *jwks = client->cl_jwks ? json_loads(client->cl_jwks, 0, NULL) : NULL, *k, *found = NULL;
	struct sl_err err;
	size_t i;

	json_array_foreach(json_object_get(jwks, "keys"), i, k)
	{
		if (jose_jwk_is_enc(k) && jose_jwe_key_check(k, client->cl_id_token_enc_alg, &err) == SL_OK) {
			found = json_incref(k);
			break;
		}
	}
	json_decref(jwks);
	return found;
}

char *
id_token_encrypt(const struct store_client *client, char *jws)
{
	const char *enc = client->cl_id_token_enc_enc ? client->cl_id_token_enc_enc : "A128CBC-HS256";
	struct sl_err err = { 0 };
	json_t *key;
	char *jwe = NULL;

	if (jws == NULL || client->cl_id_token_enc_alg == NULL)
		return jws;
	key = enc_key(client);
	if (key == NULL)
		log_error("client %s has no %s encryption key for its ID tokens", client->cl_id,
			client->cl_id_token_enc_alg);
	else if ((jwe = jose_encrypt(key, client->cl_id_token_enc_alg, enc, "JWT", jws, &err)) == NULL)
		log_error("cannot encrypt an ID token for client %s: %s", client->cl_id, err.msg);
	json_decref(key);
	/* Never the signed token in its place: the client asked for it
	 * encrypted, and it holds personal data. */
	OPENSSL_cleanse(jws, strlen(jws));
	free(jws);
	return jwe;
}

void
id_token_jwe_metadata(json_t *o)
{
	json_t *algs = json_array(), *encs = json_array();

	for (const char *const *a = jose_jwe_algs(); *a; a++)
		json_array_append_new(algs, json_string(*a));
	for (const char *const *e = jose_jwe_encs(); *e; e++)
		json_array_append_new(encs, json_string(*e));
	json_object_set_new(o, "id_token_encryption_alg_values_supported", algs);
	json_object_set_new(o, "id_token_encryption_enc_values_supported", encs);
}
