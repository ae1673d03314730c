/*
 * handoff.c — from the eID origin back to the browser that started the
 * login.
 *
 * A card proves who presents it, not which browser asked.  Anyone can send
 * the eID link of their own pending request to someone else; if the card
 * presented there completed the request, the sender's browser, waiting on
 * /login/finish or the wait page, would be logged in as the card's holder.
 * So the eID origin does not complete the request.  It keeps the validated
 * identity on the request as a one-time result, behind the SHA-256 of a
 * fresh 256-bit value R, for EID_RESULT_LIFETIME seconds, and sends the
 * browser that presented the card to /login/eid/return on the portal with
 * R.  There the request is loaded with the browser-binding cookie, so only
 * the browser that started it gets that far; only then is R redeemed (once,
 * compared in constant time) and the login completed and finished.
 *
 * In any other browser R is spent without being used, the request stays
 * pending, an eid.other_browser audit record is written, and the page warns
 * the person that someone may be trying to log in as them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "eid.h"
#include "../../crypto/crypto.h"
#include "../../oidc/oidc.h"
#include "../../portal/portal.h"

#define EID_RESULT_MAX_PARAM 64 /* characters of R in the URL (43 for 32 bytes) */

/* The identity as the store keeps it until it is redeemed. */
static char *
identity_json(const struct eid_identity *id)
{
	json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?}", "rrn", id->ei_rrn, "given_name", id->ei_given_names,
		"family_name", id->ei_family_name, "birthdate", id->ei_birthdate[0] ? id->ei_birthdate : NULL);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static char *
json_str_dup(json_t *o, const char *name)
{
	return sl_strdup(json_string_value(json_object_get(o, name)));
}

/* The person record back from identity_json(); SL_EINVAL when it is not one. */
static int
person_from_json(const char *text, struct store_person *p)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	memset(p, 0, sizeof(*p));
	if (o != NULL) {
		p->p_rrn = json_str_dup(o, "rrn");
		p->p_given_name = json_str_dup(o, "given_name");
		p->p_family_name = json_str_dup(o, "family_name");
		p->p_birthdate = json_str_dup(o, "birthdate");
		json_decref(o);
	}
	if (p->p_rrn == NULL || strlen(p->p_rrn) != 11) {
		store_person_clear(p);
		return SL_EINVAL;
	}
	return SL_OK;
}

int
eid_handoff_put(struct server *srv, const char *req_id, const struct eid_identity *id, char **r_out)
{
	char hash[2 * SL_SHA256_LEN + 1], *r = sl_random_id(EID_RESULT_BYTES), *json = identity_json(id);
	int rc = SL_ENOMEM;

	*r_out = NULL;
	if (r != NULL && json != NULL)
		rc = crypto_token_hash(r, hash);
	if (rc == SL_OK)
		rc = store_authreq_set_result(srv->sv_store, req_id, hash, json, sl_now() + EID_RESULT_LIFETIME);
	free(json);
	if (rc == SL_OK) {
		*r_out = r;
	} else if (r != NULL) {
		OPENSSL_cleanse(r, strlen(r));
		free(r);
	}
	return rc;
}

/* Redeem R for request `req_id`: SL_OK with the person; SL_EEXPIRED when R
 * was right but late (spent all the same); SL_ENOTFOUND / SL_EINVAL when R
 * is missing, wrong or used. */
static int
handoff_take(struct server *srv, const char *req_id, const char *r, struct store_person *person)
{
	char hash[2 * SL_SHA256_LEN + 1], *json = NULL;
	int rc;

	memset(person, 0, sizeof(*person));
	if (r == NULL || *r == '\0' || strlen(r) > EID_RESULT_MAX_PARAM || crypto_token_hash(r, hash) != SL_OK)
		return SL_EINVAL;
	rc = store_authreq_take_result(srv->sv_store, req_id, hash, &json);
	if (rc == SL_OK)
		rc = person_from_json(json, person);
	free(json);
	return rc;
}

static void
request_gone(struct server *srv, struct http_request *rq, int lang)
{
	portal_error(srv, rq, 404, lang, N_("This login request has expired"),
		N_("Go back to the site you came from and start again."));
}

/* Someone else's browser: spend R, record it, warn. */
static void
return_elsewhere(struct server *srv, struct http_request *rq, const char *req)
{
	int lang = portal_lang(srv, rq, NULL), rc;
	struct store_authreq ar;
	struct store_person person;
	struct sl_err err = { 0 };
	char ipbuf[SERVER_IP_MAX];

	if (req == NULL || strlen(req) > 64 || store_authreq_get(srv->sv_store, req, &ar) != SL_OK) {
		request_gone(srv, rq, lang);
		return;
	}
	rc = handoff_take(srv, ar.ar_id, http_param(rq, "r"), &person);
	if (rc == SL_OK || rc == SL_EEXPIRED) {
		struct store_audit au = { .au_event = "eid.other_browser",
			.au_result = "refused",
			.au_key = "eid",
			.au_client_id = ar.ar_client_id,
			.au_ip = server_audit_ip(srv, rq, ipbuf),
			.au_detail = "a card presented for this login came back to a browser that did not start it" };
		/* The card's holder, so the operator can tell them. */
		if (rc == SL_OK && store_person_upsert(srv->sv_store, &person, &err) == SL_OK)
			au.au_person_id = person.p_id;
		store_audit_add(srv->sv_store, &au);
		metrics_login(srv->sv_metrics, "eid", "denied");
	}
	store_person_clear(&person);
	store_authreq_clear(&ar);
	portal_page(srv, rq, 403, lang, N_("This login was started in another browser"), "eid_other_browser", NULL, 0);
}

/* R redeemed in the right browser: complete the request and finish it (the
 * SSO session and the code to the RP). */
static void
return_finish(
	struct server *srv, struct http_request *rq, int lang, struct oidc_pending *p, struct store_person *person)
{
	struct sl_err err = { 0 };

	/* p takes the recorded outcome: no second load to finish it */
	if (oidc_login_complete_pending(srv, p, person, "eid", OIDC_ACR_HIGH, "[\"eid\"]", &err) != SL_OK) {
		portal_error(srv, rq, 409, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return;
	}
	oidc_login_finish(srv, rq, p);
}

/* The common way back: R redeemed, the person recorded, the request
 * completed and answered (session, code, audit row) in one durable store
 * transaction, the answer sent.  A failure with *committed false changed
 * nothing and sent nothing, and the caller goes step by step (take the
 * result, complete the login), which tells each failure apart; *committed
 * true is a login recorded but not answered (out of memory). */
static int
return_redeem(struct server *srv, struct http_request *rq, struct oidc_pending *p, const char *r, bool *committed)
{
	char hash[2 * SL_SHA256_LEN + 1];
	struct oidc_redeem rd = { hash, person_from_json };
	struct sl_err err = { 0 };

	*committed = false;
	/* a payment is confirmed in the app only: the step-by-step way refuses it */
	if (json_string_value(json_object_get(p->op_params, "authorization_details")) != NULL)
		return SL_EDENIED;
	if (r == NULL || *r == '\0' || strlen(r) > EID_RESULT_MAX_PARAM || crypto_token_hash(r, hash) != SL_OK)
		return SL_EINVAL;
	return oidc_login_redeem_finish(srv, rq, p, &rd, "eid", OIDC_ACR_HIGH, "[\"eid\"]", committed, &err);
}

void
eid_return(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *req = http_param(rq, "req");
	struct store_person person;
	struct oidc_pending p;
	bool committed;
	int lang;

	if (oidc_pending_load(srv, rq, req, &p) != SL_OK) {
		return_elsewhere(srv, rq, req);
		return;
	}
	lang = portal_lang(srv, rq, json_string_value(json_object_get(p.op_params, "ui_locales")));
	if (return_redeem(srv, rq, &p, http_param(rq, "r"), &committed) == SL_OK) {
		/* answered */
	} else if (committed) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), NULL);
	} else if (handoff_take(srv, req, http_param(rq, "r"), &person) != SL_OK) {
		struct tmpl_var v[2] = { { "req", p.op_req.ar_id }, { "langcode", config_languages[lang] } };
		portal_page(srv, rq, 400, lang, N_("Your eID card login could not be finished"), "eid_retry", v, 2);
	} else {
		return_finish(srv, rq, lang, &p, &person);
		store_person_clear(&person);
	}
	oidc_pending_clear(&p);
}
