/*
 * discovery.c — OpenID Provider metadata (OIDC Discovery §3, RFC 8414,
 * RFC 9126, RFC 9207, RFC 9449, CIBA Core, RFC 9396) and the JWKS.  Only what is implemented is
 * advertised.
 */
#include <stdlib.h>

#include "oidc_int.h"

static json_t *
strings(const char *const *v)
{
	json_t *a = json_array();

	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static void
endpoint(json_t *o, const char *name, const char *issuer, const char *path)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", issuer, path);
	json_object_set_new(o, name, json_string(url));
}

void
oidc_discovery(void *ctx, struct http_request *rq)
{
	static const char *const algs[] = { "ES256", "RS256", "PS256", NULL };
	static const char *const auth_methods[] = { "client_secret_basic", "client_secret_post", "private_key_jwt",
		NULL };
	static const char *const auth_algs[] = { "ES256", "PS256", NULL };
	static const char *const claims[] = { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
		"azp", "at_hash", "name", "given_name", "family_name", "birthdate", "national_register_number", NULL };
	static const char *const locales[] = { "nl", "fr", "de", "en", NULL };
	static const char *const acrs[] = { OIDC_ACR_HIGH, NULL };
	static const char *const code[] = { "code", NULL };
	static const char *const query[] = { "query", NULL };
	static const char *const grants[] = { "authorization_code", "refresh_token", OIDC_CIBA_GRANT, NULL };
	static const char *const ciba_modes[] = { "poll", "ping", NULL };
	static const char *const details_types[] = { "payment", NULL };
	static const char *const pairwise[] = { "pairwise", NULL };
	static const char *const s256[] = { "S256", NULL };
	static const char *const prompts[] = { "none", "login", NULL };
	struct server *srv = ctx;
	const char *iss = srv->sv_conf->c_issuer;
	json_t *o = json_object();

	json_object_set_new(o, "issuer", json_string(iss));
	endpoint(o, "authorization_endpoint", iss, "/authorize");
	endpoint(o, "token_endpoint", iss, "/token");
	endpoint(o, "userinfo_endpoint", iss, "/userinfo");
	endpoint(o, "jwks_uri", iss, "/jwks");
	endpoint(o, "pushed_authorization_request_endpoint", iss, "/par");
	endpoint(o, "end_session_endpoint", iss, "/logout");
	json_object_set_new(o, "scopes_supported", strings(oidc_scopes));
	json_object_set_new(o, "response_types_supported", strings(code));
	json_object_set_new(o, "response_modes_supported", strings(query));
	json_object_set_new(o, "grant_types_supported", strings(grants));
	json_object_set_new(o, "subject_types_supported", strings(pairwise));
	json_object_set_new(o, "id_token_signing_alg_values_supported", strings(algs));
	json_object_set_new(o, "token_endpoint_auth_methods_supported", strings(auth_methods));
	json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported", strings(auth_algs));
	json_object_set_new(o, "code_challenge_methods_supported", strings(s256));
	json_object_set_new(o, "claims_supported", strings(claims));
	json_object_set_new(o, "claims_parameter_supported", json_true());
	request_object_metadata(o); /* RFC 9101 (request_object.c) */
	id_token_jwe_metadata(o); /* OIDC Core §10.2 (id_token_jwe.c) */
	json_object_set_new(o, "request_uri_parameter_supported", json_false());
	json_object_set_new(o, "require_pushed_authorization_requests", json_false());
	json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
	/* RFC 9449 §5.1 */
	json_object_set_new(o, "dpop_signing_alg_values_supported", strings(oidc_dpop_algs()));
	json_object_set_new(o, "acr_values_supported", strings(acrs));
	json_object_set_new(o, "ui_locales_supported", strings(locales));
	json_object_set_new(o, "prompt_values_supported", strings(prompts));
	/* CIBA Core §4 and RFC 9396 §10 */
	endpoint(o, "backchannel_authentication_endpoint", iss, "/bc-authorize");
	json_object_set_new(o, "backchannel_token_delivery_modes_supported", strings(ciba_modes));
	json_object_set_new(o, "backchannel_user_code_parameter_supported", json_false());
	json_object_set_new(o, "authorization_details_types_supported", strings(details_types));
	http_send_json(rq, 200, o);
}

void
oidc_jwks(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;

	http_send_json(rq, 200, keyring_jwks(srv));
}
