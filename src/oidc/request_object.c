/*
 * request_object.c — signed request objects passed by value (JAR, RFC 9101)
 * at the authorization and PAR endpoints.
 *
 * The `request` parameter is a JWT signed with one of the client's
 * registered keys (ES256 or PS256: none, HMAC and RS256 are refused).
 * Once it verifies, its claims are the request: every other parameter
 * sent beside it is dropped (RFC 9101 §6.3), client_id included, which
 * must name the same client inside.  Any failure is invalid_request_object:
 * JSON at /par; at /authorize a redirect to the redirect_uri given beside
 * the object when it is registered for the client (OIDC Core §6.1), else
 * a page (nothing in an object that failed is trusted, its redirect_uri
 * least of all).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

#include "oidc_int.h"

#define RO_MAX_LEN 8192 /* bytes of a request object */
#define RO_MAX_LIFETIME 3600 /* seconds from nbf (or iat) to exp */
#define RO_MAX_AGE 3600 /* seconds nbf may lie in the past */
#define RO_SKEW 10 /* seconds of clock difference tolerated */
#define RO_KEYS_MAX 8
#define RO_JTI_MAX 256

static const char *const ro_algs[] = { "ES256", "PS256", NULL };

static int
ro_fail(struct authz_error *ae, const char *error, const char *desc)
{
	memset(ae, 0, sizeof(*ae));
	ae->ae_status = 400;
	ae->ae_error = error;
	ae->ae_desc = desc;
	return SL_EINVAL;
}

static bool
alg_allowed(const char *alg)
{
	for (int i = 0; alg != NULL && ro_algs[i]; i++)
		if (strcmp(alg, ro_algs[i]) == 0)
			return true;
	return false;
}

/* The header, before any key is tried: a JWS (not a JWE) with an alg we
 * accept and, when typed, typed as a request object (RFC 9101 §10.8),
 * so that no other kind of JWT of the client passes for one. */
static const char *
header_problem(const char *ro)
{
	const char *alg, *typ;
	const char *why = NULL;
	int dots = 0;
	json_t *hdr;

	for (const char *p = ro; *p; p++)
		dots += *p == '.';
	if (dots == 4)
		return "encrypted request objects are not supported: sign it (ES256 or PS256)";
	hdr = jose_peek_header(ro);
	if (dots != 2 || hdr == NULL) {
		json_decref(hdr);
		return "the request object is not a signed JWT";
	}
	alg = json_string_value(json_object_get(hdr, "alg"));
	typ = json_string_value(json_object_get(hdr, "typ"));
	if (!alg_allowed(alg))
		why = "the request object must be signed with ES256 or PS256";
	else if (typ != NULL && strcasecmp(typ, "oauth-authz-req+jwt") != 0 && strcasecmp(typ, "JWT") != 0)
		why = "the request object's typ must be oauth-authz-req+jwt";
	json_decref(hdr);
	return why;
}

/* Verify the signature with the client's registered signing keys. */
static int
ro_verify(const struct store_client *client, const char *ro, json_t **claims)
{
	struct jose_key *keys[RO_KEYS_MAX];
	json_t *jwks = client->cl_jwks ? json_loads(client->cl_jwks, 0, NULL) : NULL, *k;
	struct sl_err err;
	size_t i, n = 0;
	int rc;

	/* Encryption keys (use "enc") are skipped: they fail here. */
	json_array_foreach(json_object_get(jwks, "keys"), i, k)
	{
		if (n < RO_KEYS_MAX && (keys[n] = jose_key_from_jwk(k, ro_algs, &err)) != NULL)
			n++;
	}
	json_decref(jwks);
	rc = n == 0 ? SL_ENOTFOUND : jose_verify(ro, keys, n, claims, &err);
	for (i = 0; i < n; i++)
		jose_key_free(keys[i]);
	return rc;
}

static bool
str_is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* A single string, as for client assertions (client_auth.c): an aud array
 * naming this server among others is an object made for another server. */
static bool
aud_is(json_t *aud, const char *issuer)
{
	return str_is(json_string_value(aud), issuer);
}

/* An optional NumericDate claim: false when present and not an integer. */
static bool
time_claim(json_t *claims, const char *name, int64_t *out)
{
	json_t *v = json_object_get(claims, name);

	*out = 0;
	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return false;
	*out = json_integer_value(v);
	return true;
}

/* iss, aud, client_id and the times (RFC 9101 §6, FAPI 2.0 Security
 * Profile §5.3.2.1 for the 60-minute bounds); NULL when they hold. */
static const char *
claims_problem(struct server *srv, json_t *cl, const struct store_client *client, int64_t *exp)
{
	int64_t now = sl_now(), nbf, iat, start;

	if (json_object_get(cl, "request") != NULL || json_object_get(cl, "request_uri") != NULL)
		return "a request object must not hold request or request_uri";
	if (!str_is(json_string_value(json_object_get(cl, "iss")), client->cl_id))
		return "the request object's iss must be the client_id";
	if (!aud_is(json_object_get(cl, "aud"), srv->sv_conf->c_issuer))
		return "the request object's aud must be the issuer, a single string";
	if (!str_is(json_string_value(json_object_get(cl, "client_id")), client->cl_id))
		return "the request object's client_id must be the client_id of the request";
	if (!json_is_integer(json_object_get(cl, "exp")) || !time_claim(cl, "nbf", &nbf) ||
		!time_claim(cl, "iat", &iat))
		return "the request object needs exp, and exp, nbf and iat must be NumericDates";
	*exp = json_integer_value(json_object_get(cl, "exp"));
	if (*exp + RO_SKEW < now)
		return "the request object has expired";
	if (nbf > now + RO_SKEW || iat > now + RO_SKEW)
		return "the request object is not valid yet (nbf or iat in the future)";
	if (nbf != 0 && nbf < now - RO_MAX_AGE)
		return "the request object's nbf is more than 60 minutes in the past";
	start = nbf != 0 ? nbf : iat != 0 ? iat : now;
	if (*exp - start > RO_MAX_LIFETIME)
		return "the request object may live at most 60 minutes (exp after nbf or iat)";
	return NULL;
}

/* The object's claims as authorization parameters, all strings as if
 * they had come in a query: numbers (max_age) in decimal, objects and
 * arrays (claims, authorization_details) as compact JSON.  The JWT's own
 * claims are not parameters. */
static json_t *
claims_to_params(json_t *cl, const char **why)
{
	static const char *const jwt_claims[] = { "iss", "aud", "exp", "nbf", "iat", "jti", "sub", NULL };
	json_t *out = json_object(), *v;
	const char *name;
	char num[32], *s;

	json_object_foreach(cl, name, v)
	{
		bool skip = false;
		for (int i = 0; jwt_claims[i]; i++)
			skip |= strcmp(name, jwt_claims[i]) == 0;
		if (skip)
			continue;
		if (json_is_string(v)) {
			json_object_set(out, name, v);
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			json_object_set_new(out, name, json_string(num));
		} else if (json_is_object(v) || json_is_array(v)) {
			s = json_dumps(v, JSON_COMPACT);
			json_object_set_new(out, name, s ? json_string(s) : NULL);
			free(s);
		} else {
			*why = "a request object parameter is neither a string, a number nor JSON";
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* A jti, when given, is used once (RFC 9101 §10.9): kept one second past
 * the last second the object is accepted (exp + RO_SKEW, claims_problem). */
static const char *
jti_problem(struct server *srv, json_t *cl, const struct store_client *client, int64_t exp)
{
	json_t *jti = json_object_get(cl, "jti");
	char key[RO_JTI_MAX + 8];

	if (jti == NULL)
		return NULL;
	if (!json_is_string(jti) || json_string_length(jti) == 0 || json_string_length(jti) > RO_JTI_MAX)
		return "the request object's jti must be a string of at most 256 characters";
	/* Its own namespace: a client assertion may carry the same jti. */
	snprintf(key, sizeof(key), "jar:%s", json_string_value(jti));
	if (store_jti_use(srv->sv_store, client->cl_id, key, exp + RO_SKEW + 1) != SL_OK)
		return "the request object was used before (its jti was seen)";
	return NULL;
}

int
request_object_take(struct server *srv, json_t *in, const struct store_client *client, struct authz_error *ae)
{
	const char *ro = params_str(in, "request"), *why;
	json_t *claims = NULL, *params = NULL;
	int64_t exp = 0;

	if (ro == NULL)
		return SL_OK;
	if (json_object_get(in, "request_uri") != NULL)
		return ro_fail(ae, "invalid_request", "give request or request_uri, not both");
	if (strlen(ro) > RO_MAX_LEN)
		return ro_fail(ae, "invalid_request_object", "the request object is larger than 8192 bytes");
	why = header_problem(ro);
	if (why != NULL)
		return ro_fail(ae, "invalid_request_object", why);
	if (ro_verify(client, ro, &claims) != SL_OK)
		return ro_fail(ae, "invalid_request_object",
			"the request object's signature does not verify with the client's registered keys");
	why = claims_problem(srv, claims, client, &exp);
	if (why == NULL)
		params = claims_to_params(claims, &why);
	if (why == NULL)
		why = jti_problem(srv, claims, client, exp);
	json_decref(claims);
	if (why != NULL) {
		json_decref(params);
		return ro_fail(ae, "invalid_request_object", why);
	}
	/* Only the object's parameters count from here on. */
	json_object_clear(in);
	json_object_update(in, params);
	json_decref(params);
	json_object_set_new(in, OIDC_RO_MARK, json_true());
	return SL_OK;
}

void
request_object_metadata(json_t *o)
{
	json_t *algs = json_array();

	for (int i = 0; ro_algs[i]; i++)
		json_array_append_new(algs, json_string(ro_algs[i]));
	json_object_set_new(o, "request_parameter_supported", json_true());
	json_object_set_new(o, "request_object_signing_alg_values_supported", algs);
	/* Per client (sleutel client add --require-signed-request-object);
	 * not for every client of this server. */
	json_object_set_new(o, "require_signed_request_object", json_false());
}
