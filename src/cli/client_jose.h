/*
 * client_jose.h — the client options for signed request objects (JAR,
 * RFC 9101) and encrypted ID tokens (OIDC Core §10.2), kept apart from
 * client.c: `client add --require-signed-request-object
 * --id-token-encrypted-response-alg ALG --id-token-encrypted-response-enc ENC`
 * and `client update --[no-]require-signed-request-object`.
 */
#ifndef SL_CLI_CLIENT_JOSE_H
#define SL_CLI_CLIENT_JOSE_H

#include "cli.h"

struct client_jose_opts {
	bool cj_signed_ro;
	const char *cj_enc_alg, *cj_enc_enc;
};

/* Is argv[*i] one of these options of `client add`?  1 when it was (its
 * value taken: *i advanced), 0 when not, -1 on an error (printed). */
int client_jose_option(struct client_jose_opts *o, int argc, char **argv, int *i);
/* One key of a client's JWKS: a signing key (ES256, PS256) or, with use
 * "enc", an encryption key (RSA-OAEP, ECDH-ES).  SL_OK or the reason. */
int client_jwk_check(json_t *jwk, struct sl_err *err);
/* Check the options against the client's auth method and JWKS (c->cl_jwks,
 * checked by client_jwk_check, or NULL) and set them on `c`.  CLI_OK or
 * CLI_FAIL (printed). */
int client_jose_apply(const struct client_jose_opts *o, struct store_client *c);
/* `client update ID --[no-]require-signed-request-object`. */
int client_jose_set_signed_ro(struct cli_ctx *cc, const char *id, bool required);
/* The options in a client's JSON (client show/list). */
void client_jose_json(json_t *o, const struct store_client *c);

#endif
