/*
 * client_auth.c — authenticating a client at the token and PAR endpoints:
 * client_secret_basic, client_secret_post (RFC 6749 §2.3.1) and
 * private_key_jwt (OIDC Core §9, RFC 7523).  A client uses exactly the
 * method it registered; presenting two methods at once is an error.
 */
#include <stdlib.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "oidc_int.h"

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ASSERTION_MAX_LIFETIME 300 /* seconds from now to exp */
#define ASSERTION_SKEW 10 /* seconds of clock difference tolerated */
#define CLIENT_KEYS_MAX 8

static int
deny(struct http_request *rq, const char *desc)
{
	http_send_oauth_error(rq, 401, "invalid_client", desc);
	return SL_EDENIED;
}

/* "Basic base64(urlenc(id):urlenc(secret))" → id and secret, decoded. */
static int
basic_credentials(const char *header, char **id, char **secret)
{
	size_t n = 0;
	uint8_t *raw;
	char *colon;

	*id = *secret = NULL;
	if (strncasecmp(header, "Basic ", 6) != 0 || strlen(header) > 2048)
		return SL_EINVAL;
	raw = sl_b64_decode(header + 6, strlen(header + 6), &n);
	if (raw == NULL)
		return SL_EINVAL;
	*id = sl_strndup((const char *)raw, n);
	free(raw);
	if (*id == NULL || (colon = strchr(*id, ':')) == NULL) {
		free(*id);
		*id = NULL;
		return SL_EINVAL;
	}
	*colon = '\0';
	*secret = strdup(colon + 1);
	MHD_http_unescape(*id);
	MHD_http_unescape(*secret);
	return SL_OK;
}

static bool
secret_ok(const struct store_client *c, const char *secret)
{
	char hash[2 * SL_SHA256_LEN + 1];

	if (c->cl_secret_hash == NULL || secret == NULL || crypto_token_hash(secret, hash) != SL_OK)
		return false;
	return sl_ct_streq(hash, c->cl_secret_hash);
}

static char *
assertion_subject(const char *assertion)
{
	const char *p1 = strchr(assertion, '.'), *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
	uint8_t *raw;
	size_t n;
	json_t *o;
	char *sub = NULL;

	if (p2 == NULL || p2 - p1 > 8192)
		return NULL;
	raw = sl_b64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), &n);
	o = raw ? json_loadb((const char *)raw, n, 0, NULL) : NULL;
	free(raw);
	sub = sl_strdup(json_string_value(json_object_get(o, "sub")));
	json_decref(o);
	return sub;
}

/* The audience, a single string (audience injection: an array naming
 * this server among others, or an endpoint URL another AS's metadata may
 * claim, lets an assertion made for another server log in here; FAPI 2.0
 * Security Profile final §5.3.2.1, draft-ietf-oauth-rfc7523bis).  A fapi2
 * client must name the issuer; any other client may also name the
 * endpoint it posts to (OIDC Core §9, what basic-OP conformance sends). */
static bool
aud_ok(json_t *aud, const char *issuer, const char *endpoint, bool issuer_only)
{
	const char *s = json_string_value(aud);

	if (s == NULL)
		return false;
	return strcmp(s, issuer) == 0 || (!issuer_only && strcmp(s, endpoint) == 0);
}

static int
assertion_claims_ok(
	struct server *srv, json_t *cl, const struct store_client *c, const char *endpoint, const char **why)
{
	const char *client_id = c->cl_id;
	int64_t now = sl_now();
	json_t *exp = json_object_get(cl, "exp"), *nbf = json_object_get(cl, "nbf"), *iat = json_object_get(cl, "iat");
	const char *jti = json_string_value(json_object_get(cl, "jti"));

	*why = "assertion iss and sub must be the client_id";
	if (!sl_ct_streq(json_string_value(json_object_get(cl, "iss")), client_id) ||
		!sl_ct_streq(json_string_value(json_object_get(cl, "sub")), client_id))
		return SL_EDENIED;
	*why = client_is_fapi2(c) ? "assertion aud must be the issuer, a single string"
				  : "assertion aud must be the issuer or this endpoint, a single string";
	if (!aud_ok(json_object_get(cl, "aud"), srv->sv_conf->c_issuer, endpoint, client_is_fapi2(c)))
		return SL_EDENIED;
	*why = "assertion exp is missing, past, or too far ahead";
	if (!json_is_integer(exp) || json_integer_value(exp) + ASSERTION_SKEW < now ||
		json_integer_value(exp) > now + ASSERTION_MAX_LIFETIME)
		return SL_EDENIED;
	*why = "assertion nbf or iat is in the future";
	if ((nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + ASSERTION_SKEW)) ||
		(iat != NULL && (!json_is_integer(iat) || json_integer_value(iat) > now + ASSERTION_SKEW)))
		return SL_EDENIED;
	*why = "assertion jti is missing or was used before";
	if (jti == NULL || strlen(jti) > 256 ||
		store_jti_use(srv->sv_store, client_id, jti, json_integer_value(exp) + ASSERTION_SKEW + 1) != SL_OK)
		return SL_EDENIED;
	return SL_OK;
}

static int
private_key_jwt(struct server *srv, struct http_request *rq, const struct store_client *c, const char *assertion,
	const char *endpoint)
{
	static const char *const allowed[] = { "ES256", "PS256", NULL };
	struct jose_key *keys[CLIENT_KEYS_MAX];
	json_t *jwks = c->cl_jwks ? json_loads(c->cl_jwks, 0, NULL) : NULL, *k, *claims = NULL;
	struct sl_err err;
	const char *why = "assertion signature is not valid";
	size_t i, n = 0;
	int rc;

	json_array_foreach(json_object_get(jwks, "keys"), i, k)
	{
		if (n < CLIENT_KEYS_MAX && (keys[n] = jose_key_from_jwk(k, allowed, &err)) != NULL)
			n++;
	}
	json_decref(jwks);
	rc = jose_verify(assertion, keys, n, &claims, &err);
	for (i = 0; i < n; i++)
		jose_key_free(keys[i]);
	if (rc == SL_OK)
		rc = assertion_claims_ok(srv, claims, c, endpoint, &why);
	json_decref(claims);
	return rc == SL_OK ? SL_OK : deny(rq, why);
}

int
client_authenticate(struct server *srv, struct http_request *rq, const char *endpoint_url, struct store_client *out)
{
	const char *authz = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *form_id = http_form(rq, "client_id"), *form_secret = http_form(rq, "client_secret");
	const char *atype = http_form(rq, "client_assertion_type"), *assertion = http_form(rq, "client_assertion");
	char *basic_id = NULL, *basic_secret = NULL;
	const char *method, *client_id, *secret;
	int rc, got = SL_ENOTFOUND, methods = (authz != NULL) + (form_secret != NULL) + (assertion != NULL);

	memset(out, 0, sizeof(*out));
	if (methods != 1) {
		http_send_oauth_error(rq, methods == 0 ? 401 : 400, methods == 0 ? "invalid_client" : "invalid_request",
			methods == 0 ? "client authentication is required" : "use one client authentication method");
		return SL_EDENIED;
	}
	if (authz != NULL) {
		if (basic_credentials(authz, &basic_id, &basic_secret) != SL_OK)
			return deny(rq, "malformed Authorization header");
		method = "client_secret_basic";
		client_id = basic_id;
		secret = basic_secret;
		if (form_id != NULL && strcmp(form_id, basic_id) != 0) {
			free(basic_id);
			free(basic_secret);
			return deny(rq, "client_id differs from the authenticated client");
		}
	} else if (form_secret != NULL) {
		method = "client_secret_post";
		client_id = form_id;
		secret = form_secret;
	} else {
		if (atype == NULL || strcmp(atype, ASSERTION_TYPE) != 0)
			return deny(rq, "unsupported client_assertion_type");
		method = "private_key_jwt";
		secret = NULL;
		client_id = form_id;
		if (client_id == NULL) {
			/* client_id is optional with an assertion (RFC 7523 §3):
			 * its unverified sub picks the client whose keys then
			 * verify it, and the verified sub must match. */
			basic_id = assertion_subject(assertion);
			client_id = basic_id;
		}
	}
	rc = SL_EDENIED;
	if (client_id == NULL || strlen(client_id) > 256 ||
		(got = store_client_get(srv->sv_store, client_id, out)) != SL_OK) {
		if (got == SL_ESTORE || got == SL_EBUSY) /* the database is down: not the client's fault */
			http_send_oauth_error(rq, 503, "temporarily_unavailable", "the client could not be read");
		else
			deny(rq, "unknown client");
	} else if (strcmp(out->cl_auth_method, method) != 0)
		deny(rq, "this client is registered for another authentication method");
	else if (secret != NULL && !secret_ok(out, secret))
		deny(rq, "client authentication failed");
	else if (secret == NULL && private_key_jwt(srv, rq, out, assertion, endpoint_url) != SL_OK)
		; /* answered */
	else
		rc = SL_OK;
	if (basic_secret)
		OPENSSL_cleanse(basic_secret, strlen(basic_secret));
	free(basic_id);
	free(basic_secret);
	if (rc != SL_OK)
		store_client_clear(out);
	return rc;
}
