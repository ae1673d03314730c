/*
 * params.c — validating an authorization request (RFC 6749 §4.1, OIDC Core
 * §3.1.2, RFC 7636, RFC 9126, RFC 9207, RFC 9700).
 *
 * Order matters: until client_id and redirect_uri are known good, an error
 * is shown on a page and never redirected (an open redirector is worse than
 * an unfriendly page); after that, errors go back to the RP.
 * A signed request object (request_object.c) is verified right after the
 * client is known, and its claims are then the whole request.
 */
#include <stdlib.h>

#include "oidc_int.h"

const char *const oidc_scopes[] = { OIDC_SCOPE_LIST, NULL };

/* Parameters kept from an authorization request; the rest are ignored. */
static const char *const kept_params[] = { "client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "ui_locales", "claims_locales", "login_hint",
	"acr_values", "display", "claims", "id_token_hint", "authorization_details", NULL };

const char *
params_str(json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

bool
scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word);
	const char *p = scope;

	while (p && *p) {
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
		while (*p == ' ')
			p++;
	}
	return false;
}

char *
scope_grant(const char *asked, const char *allowed)
{
	struct sl_buf b;

	sl_buf_init(&b, OIDC_MAX_PARAM);
	for (int i = 0; oidc_scopes[i]; i++)
		if (scope_has(asked, oidc_scopes[i]) && scope_has(allowed, oidc_scopes[i]) &&
			sl_buf_addf(&b, "%s%s", b.b_len ? " " : "", oidc_scopes[i]) != SL_OK) {
			sl_buf_reset(&b);
			return NULL;
		}
	return sl_buf_take(&b);
}

const char *
grant_claims_now(const struct store_client *c, const char *claims)
{
	return scope_has(c->cl_scopes, "profile") ? claims : NULL;
}

bool
json_array_has(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
	return false;
}

json_t *
params_collect(struct http_request *rq, const char **repeated)
{
	json_t *o;

	*repeated = http_param_repeated(rq);
	if (*repeated != NULL)
		return NULL;
	o = json_object();
	for (size_t i = 0; i < http_param_count(rq); i++) {
		const char *name, *value;
		http_param_at(rq, i, &name, &value);
		json_object_set_new(o, name, json_string(value));
	}
	return o;
}

static int
fail(struct authz_error *ae, int status, const char *error, const char *desc)
{
	ae->ae_status = status;
	ae->ae_error = error;
	ae->ae_desc = desc;
	return SL_EINVAL;
}

static bool
redirect_registered(const struct store_client *client, const char *redirect_uri)
{
	json_t *uris = json_loads(client->cl_redirect_uris, 0, NULL);
	bool ok = json_array_has(uris, redirect_uri); /* exact string match, RFC 9700 §2.1 */

	json_decref(uris);
	return ok;
}

int
params_client(struct server *srv, json_t *in, struct store_client *client, struct authz_error *ae)
{
	const char *client_id = params_str(in, "client_id");
	const char *redirect_uri = params_str(in, "redirect_uri");
	int rc;

	memset(ae, 0, sizeof(*ae));
	if (sl_str_empty(client_id))
		return fail(ae, 400, "invalid_request", "client_id is missing");
	if (strlen(client_id) > 256)
		return fail(ae, 400, "invalid_client", "unknown client_id");
	rc = store_client_get(srv->sv_store, client_id, client);
	if (rc == SL_ESTORE || rc == SL_EBUSY) /* the database is down: not the RP's fault */
		return fail(ae, 503, "temporarily_unavailable", "the client could not be read");
	if (rc != SL_OK)
		return fail(ae, 400, "invalid_client", "unknown client_id");
	if (request_object_take(srv, in, client, ae) != SL_OK) {
		/* Nothing in a failed object is trusted, but a redirect_uri
		 * beside it (OIDC Core §6.1) registered for the client is. */
		if (redirect_uri != NULL && redirect_registered(client, redirect_uri)) {
			ae->ae_redirect = true;
			ae->ae_redirect_uri = redirect_uri;
			ae->ae_state = params_str(in, "state");
		}
		return SL_EINVAL;
	}
	redirect_uri = params_str(in, "redirect_uri");
	if (sl_str_empty(redirect_uri))
		return fail(ae, 400, "invalid_request", "redirect_uri is missing");
	if (!redirect_registered(client, redirect_uri))
		return fail(ae, 400, "invalid_request", "redirect_uri is not registered for this client");
	ae->ae_redirect = true;
	ae->ae_redirect_uri = redirect_uri;
	ae->ae_state = params_str(in, "state");
	return SL_OK;
}

static bool
is_b64url(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
			    *s == '_'))
			return false;
	return true;
}

static int
check_prompt(const char *prompt, struct authz_error *ae)
{
	char tmp[128], *save = NULL, *tok;
	bool none = false;
	int n = 0;

	if (prompt == NULL)
		return SL_OK;
	if (sl_strlcpy(tmp, prompt, sizeof(tmp)) >= sizeof(tmp))
		return fail(ae, 400, "invalid_request", "prompt is too long");
	for (tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		n++;
		if (strcmp(tok, "none") == 0)
			none = true;
		else if (strcmp(tok, "login") != 0 && strcmp(tok, "consent") != 0 && strcmp(tok, "select_account") != 0)
			return fail(ae, 400, "invalid_request", "unknown prompt value");
	}
	if (none && n > 1)
		return fail(ae, 400, "invalid_request", "prompt=none cannot be combined with other values");
	return SL_OK;
}

static int
check_pkce(json_t *in, struct authz_error *ae)
{
	const char *challenge = params_str(in, "code_challenge");
	const char *method = params_str(in, "code_challenge_method");

	if (sl_str_empty(challenge))
		return fail(ae, 400, "invalid_request", "PKCE is required: code_challenge is missing");
	if (method == NULL || strcmp(method, "S256") != 0)
		return fail(ae, 400, "invalid_request", "code_challenge_method must be S256");
	if (strlen(challenge) != 43 || !is_b64url(challenge))
		return fail(ae, 400, "invalid_request", "code_challenge is not a base64url SHA-256");
	return SL_OK;
}

static int
check_values(json_t *in, struct authz_error *ae)
{
	const char *max_age = params_str(in, "max_age");
	const char *claims = params_str(in, "claims");
	const char *key;
	json_t *v;

	json_object_foreach(in, key, v)
	{
		if (strlen(json_string_value(v)) > OIDC_MAX_PARAM)
			return fail(ae, 400, "invalid_request", "a parameter is too long");
	}
	if (max_age != NULL) {
		char *end;
		long n = strtol(max_age, &end, 10);
		if (*max_age == '\0' || *end != '\0' || n < 0)
			return fail(ae, 400, "invalid_request", "max_age must be a non-negative integer");
	}
	/* RFC 9396: a payment for the app to show; validated strictly. */
	if (params_str(in, "authorization_details") != NULL &&
		oidc_authz_details_parse(params_str(in, "authorization_details"), NULL, NULL) != SL_OK)
		return fail(ae, 400, "invalid_authorization_details", "authorization_details is not a valid payment");
	if (claims != NULL) {
		json_t *c = json_loads(claims, JSON_REJECT_DUPLICATES, NULL);
		bool ok = json_is_object(c);
		json_decref(c);
		if (!ok)
			return fail(ae, 400, "invalid_request", "claims is not a JSON object");
	}
	return SL_OK;
}

int
params_validate(struct server *srv, json_t *in, const struct store_client *client, bool via_par, json_t **out,
	struct authz_error *ae)
{
	const char *response_type = params_str(in, "response_type");
	const char *response_mode = params_str(in, "response_mode");
	const char *scope = params_str(in, "scope");
	json_t *mark = json_object_get(in, OIDC_RO_MARK);
	char *granted;
	json_t *kept;

	(void)srv;
	*out = NULL;
	/* A request object is verified (request_object_take) before this. */
	if (mark != NULL && !json_is_true(mark))
		return fail(ae, 400, "invalid_request_object", "the request object was not verified");
	if (mark == NULL && client->cl_require_signed_ro)
		return fail(ae, 400, "invalid_request", "this client must send its requests as signed request objects");
	json_object_del(in, OIDC_RO_MARK); /* not a parameter */
	if (json_object_get(in, "request_uri") != NULL)
		return fail(ae, 400, "request_uri_not_supported", "request_uri is only for pushed requests");
	if (client->cl_require_par && !via_par)
		return fail(ae, 400, "invalid_request", "this client must use pushed authorization requests");
	if (sl_str_empty(response_type))
		return fail(ae, 400, "invalid_request", "response_type is missing");
	if (strcmp(response_type, "code") != 0)
		return fail(ae, 400, "unsupported_response_type", "only response_type=code is supported");
	if (response_mode != NULL && strcmp(response_mode, "query") != 0)
		return fail(ae, 400, "invalid_request", "only response_mode=query is supported");
	if (scope == NULL || !scope_has(scope, "openid"))
		return fail(ae, 400, "invalid_scope", "scope must include openid");
	if (check_prompt(params_str(in, "prompt"), ae) != SL_OK || check_pkce(in, ae) != SL_OK ||
		check_values(in, ae) != SL_OK)
		return SL_EINVAL;
	kept = json_object();
	for (int i = 0; kept_params[i]; i++) {
		json_t *v = json_object_get(in, kept_params[i]);
		if (v != NULL)
			json_object_set(kept, kept_params[i], v);
	}
	/* Unknown scopes are ignored (OIDC Core §3.1.2.1), and so are those
	 * the client may not be granted (RFC 6749 §3.3): the grant, and so the
	 * token response, names only what this client gets.  openid is always
	 * allowed, so a request is never refused outright for its scope. */
	granted = scope_grant(scope, client->cl_scopes);
	if (granted == NULL) {
		json_decref(kept);
		return fail(ae, 500, "server_error", "out of memory");
	}
	json_object_set_new(kept, "scope", json_string(granted));
	free(granted);
	/* The claims parameter can only name profile claims: not for a client
	 * that may not have them. */
	if (!scope_has(client->cl_scopes, "profile"))
		json_object_del(kept, "claims");
	*out = kept;
	return SL_OK;
}
