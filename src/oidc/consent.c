/*
 * consent.c — the person's consent to share data with a relying party.
 *
 * A client is registered with the scopes it may be granted (params.c
 * drops the others).  Of what remains, everything beyond openid is data
 * about the person: before the first code that releases a set of data to
 * a client, the person is asked on the portal (/login/consent, rendered by
 * the portal), after the key identified them and before the code goes
 * back: on the way of every key (oidc_login_finish) and of an SSO session
 * (authorize.c).  "Share" stores the scopes for the person and the client
 * (ids and scope names only) and the code is issued; "Do not share" sends
 * access_denied to the RP.  A later request for a subset of what was
 * agreed is not asked again; one for more is, for all of it; prompt=consent
 * always asks; prompt=none that would need to ask gets consent_required
 * (OIDC Core §3.1.2.6).  CIBA asks nothing here: the phone shows the RP.
 */
#include <stdlib.h>

#include "oidc_int.h"

/* The claims a claims parameter may name (all of the profile scope). */
static const char *const profile_claims[] = { "name", "given_name", "family_name", "birthdate", NULL };

static bool
claims_name_profile(const char *claims)
{
	static const char *const parts[] = { "userinfo", "id_token", NULL };
	json_t *c = claims ? json_loads(claims, 0, NULL) : NULL;
	bool found = false;

	for (int p = 0; c != NULL && parts[p] && !found; p++)
		for (int i = 0; profile_claims[i] && !found; i++)
			found = json_object_get(json_object_get(c, parts[p]), profile_claims[i]) != NULL;
	json_decref(c);
	return found;
}

char *
consent_asked(json_t *params)
{
	const char *scope = params_str(params, "scope");
	bool profile = scope_has(scope, "profile") || claims_name_profile(params_str(params, "claims"));
	struct sl_buf b;

	sl_buf_init(&b, OIDC_MAX_PARAM);
	for (int i = 0; oidc_scopes[i]; i++) {
		const char *s = oidc_scopes[i];
		bool asked = strcmp(s, "profile") == 0 ? profile : strcmp(s, "openid") != 0 && scope_has(scope, s);
		if (asked && sl_buf_addf(&b, "%s%s", b.b_len ? " " : "", s) != SL_OK) {
			sl_buf_reset(&b);
			return NULL;
		}
	}
	return sl_buf_take(&b);
}

bool
scope_covers(const char *have, const char *want)
{
	for (int i = 0; oidc_scopes[i]; i++)
		if (scope_has(want, oidc_scopes[i]) && !scope_has(have, oidc_scopes[i]))
			return false;
	return true;
}

int
consent_needed(struct server *srv, const char *person_id, const char *client_id, json_t *params,
	const char *const *known, bool *ask)
{
	const char *prompt = params_str(params, "prompt");
	char *asked = consent_asked(params), *have = NULL;
	int rc = SL_OK;

	*ask = false;
	if (asked == NULL)
		return SL_ENOMEM;
	if (asked[0] != '\0') {
		if (prompt != NULL && scope_has(prompt, "consent")) {
			*ask = true;
		} else if (known != NULL) {
			*ask = *known == NULL || !scope_covers(*known, asked);
		} else {
			rc = store_consent_get(srv->sv_store, person_id, client_id, &have);
			if (rc == SL_ENOTFOUND)
				rc = SL_OK;
			*ask = rc == SL_OK && (have == NULL || !scope_covers(have, asked));
		}
	}
	free(have);
	free(asked);
	return rc;
}

char *
oidc_consent_new(struct server *srv, const struct oidc_pending *p)
{
	const char *prompt = params_str(p->op_params, "prompt");
	char *asked = consent_asked(p->op_params), *have = NULL, *fresh;
	struct sl_buf b;

	if (asked == NULL || (prompt != NULL && scope_has(prompt, "consent")) ||
		store_consent_get(srv->sv_store, p->op_req.ar_person_id, p->op_req.ar_client_id, &have) != SL_OK)
		return asked;
	sl_buf_init(&b, OIDC_MAX_PARAM);
	for (int i = 0; oidc_scopes[i]; i++)
		if (scope_has(asked, oidc_scopes[i]) && !scope_has(have, oidc_scopes[i]))
			sl_buf_addf(&b, "%s%s", b.b_len ? " " : "", oidc_scopes[i]);
	fresh = sl_buf_take(&b);
	free(have);
	free(asked);
	return fresh;
}

static void
consent_audit(struct server *srv, struct http_request *rq, const struct oidc_pending *p, const char *event,
	const char *detail)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = event,
		.au_result = "ok",
		.au_person_id = p->op_req.ar_person_id,
		.au_client_id = p->op_req.ar_client_id,
		.au_key = p->op_req.ar_key,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}

/* The union of what was agreed before and what is agreed now, in the
 * order of oidc_scopes. malloc'd. */
static char *
consent_union(const char *before, const char *now)
{
	struct sl_buf b;

	sl_buf_init(&b, OIDC_MAX_PARAM);
	for (int i = 0; oidc_scopes[i]; i++)
		if ((scope_has(before, oidc_scopes[i]) || scope_has(now, oidc_scopes[i])) &&
			sl_buf_addf(&b, "%s%s", b.b_len ? " " : "", oidc_scopes[i]) != SL_OK) {
			sl_buf_reset(&b);
			return NULL;
		}
	return sl_buf_take(&b);
}

void
oidc_consent_give(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	const struct store_authreq *ar = &p->op_req;
	char *asked = consent_asked(p->op_params), *before = NULL, *all = NULL;
	int rc;

	rc = asked == NULL ? SL_ENOMEM : store_consent_get(srv->sv_store, ar->ar_person_id, ar->ar_client_id, &before);
	if (rc == SL_OK || rc == SL_ENOTFOUND)
		rc = (all = consent_union(before, asked)) == NULL ? SL_ENOMEM : SL_OK;
	if (rc == SL_OK)
		rc = store_consent_put(srv->sv_store, ar->ar_person_id, ar->ar_client_id, all);
	if (rc != SL_OK) {
		oidc_redirect_error(srv, rq, params_str(p->op_params, "redirect_uri"),
			params_str(p->op_params, "state"), "server_error", "the consent could not be recorded");
	} else {
		consent_audit(srv, rq, p, "consent.given", asked);
		login_issue(srv, rq, p);
	}
	free(all);
	free(before);
	free(asked);
}

void
oidc_consent_refuse(struct server *srv, struct http_request *rq, struct oidc_pending *p)
{
	char *asked = consent_asked(p->op_params);

	consent_audit(srv, rq, p, "consent.refused", asked);
	free(asked);
	store_authreq_delete(srv->sv_store, p->op_req.ar_id);
	metrics_login(srv->sv_metrics, p->op_req.ar_key, "denied");
	oidc_redirect_error(srv, rq, params_str(p->op_params, "redirect_uri"), params_str(p->op_params, "state"),
		"access_denied", "the person did not agree to share the data asked for");
}

void
consent_ask(struct server *srv, struct http_request *rq, const char *req_id)
{
	char loc[1024];
	int n = snprintf(loc, sizeof(loc), "%s/login/consent?req=%s", srv->sv_conf->c_issuer, req_id);

	/* A cut URL would send the browser somewhere else: refuse instead. */
	if (n < 0 || (size_t)n >= sizeof(loc)) {
		oidc_error_page(srv, rq, 500, "server_error", "the portal's address is too long");
		return;
	}
	http_send_redirect(rq, 303, loc);
}
