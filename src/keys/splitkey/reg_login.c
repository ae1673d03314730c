/*
 * reg_login.c — the registration portal's way in: the intro page and the
 * eID login of a visit.
 *
 * The eID login is the portal's own: /smartid/register/login starts a
 * login of the built-in client "sleutel-smartid" (prompt=login, its one
 * redirect URI /smartid/register/return) as a pending request of this
 * browser and sends the browser straight to that request's eID page.
 * From there the card goes through the eID origin and comes back through
 * /login/eid/return, which finishes the login only in the browser whose
 * binding cookie started it (keys/eid/handoff.c).  The code that the
 * login sends to the return page is redeemed here, once, for this client:
 * it names the person, and its amr must be ["eid"] and its login recent,
 * so no other key (nor an older SSO session) opens a visit.  The state
 * parameter is checked against this browser's cookie first, and the
 * code's PKCE challenge against the one this page derived from that state
 * (login_challenge): a code of a login someone else made up for the
 * built-in client does not open a visit.  That client's logins are never
 * answered by an SSO session either (oidc_client_fresh_only): a session
 * left in a shared browser must not turn into a Smart-ID.
 *
 * The visit (store_sid_visit) is then bound to a fresh random cookie;
 * the store knows it only by the cookie's SHA-256.  It lasts [smartid]
 * registration_lifetime and allows [smartid] code_tries wrong codes.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sid_reg_int.h"
#include "../../oidc/oidc.h"
#include "../../oidc/oidc_int.h"
#include "../../portal/portal.h"

void
sid_reg_problem(
	struct server *srv, struct http_request *rq, int status, int lang, const char *heading, const char *detail)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	struct tmpl_var v[3] = { { "heading", i18n_gettext(cat, heading) }, { "detail", i18n_gettext(cat, detail) },
		{ "langcode", config_languages[lang] } };

	portal_page(srv, rq, status, lang, heading, "smartid_problem", v, 3);
}

void
sid_code_minutes(struct server *srv, char *out, size_t len)
{
	int minutes = srv->sv_conf->c_sid_registration_lifetime / 60;

	/* Whole minutes, rounded down: the page never promises more time. */
	snprintf(out, len, "%d", minutes > 0 ? minutes : 1);
}

void
sid_portal_intro(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	char minutes[16];
	struct tmpl_var v[2] = { { "langcode", config_languages[lang] }, { "codemin", minutes } };

	sid_code_minutes(srv, minutes, sizeof(minutes));
	portal_page(srv, rq, 200, lang, N_("Register your Smart-ID with your ID card"), "smartid_register", v, 2);
}

/* The authorization parameters of the visit's eID login. */
static json_t *
login_params(struct server *srv, const char *state, const char *challenge, int lang)
{
	char redirect[512];

	snprintf(redirect, sizeof(redirect), "%s%s/return", srv->sv_conf->c_issuer, SID_REG_PORTAL);
	if (oidc_builtin_client(srv, SID_REG_CLIENT_ID, SID_REG_CLIENT_NAME, redirect) != SL_OK)
		return NULL;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "client_id", SID_REG_CLIENT_ID, "response_type",
		"code", "scope", "openid", "redirect_uri", redirect, "state", state, "code_challenge", challenge,
		"code_challenge_method", "S256", "prompt", "login", "ui_locales", config_languages[lang]);
}

/* The PKCE challenge of the login started with `state`: S256 of a
 * verifier that is a MAC of the state under a server key.  Nothing is
 * kept, and at the return only a code made for a login this page started
 * (for this state) matches; a login made up elsewhere for the built-in
 * client, with its own challenge, does not.  malloc'd. */
static char *
login_challenge(struct server *srv, const char *state)
{
	uint8_t mac[SL_SHA256_LEN], digest[SL_SHA256_LEN];
	char msg[128], *verifier = NULL, *challenge = NULL;
	int n = snprintf(msg, sizeof(msg), "sidreg-login:%s", state);

	if (n > 0 && (size_t)n < sizeof(msg) &&
		crypto_hmac_sha256(srv->sv_sms_key, sizeof(srv->sv_sms_key), msg, (size_t)n, mac) == SL_OK)
		verifier = sl_b64url_encode(mac, sizeof(mac));
	if (verifier != NULL && crypto_sha256(verifier, strlen(verifier), digest) == SL_OK)
		challenge = sl_b64url_encode(digest, sizeof(digest));
	if (verifier != NULL) {
		OPENSSL_cleanse(verifier, strlen(verifier));
		free(verifier);
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return challenge;
}

/* GET /smartid/register/login: a pending eID login for this browser. */
void
sid_portal_login(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	char *state = sl_random_id(32), *challenge = NULL, *req = NULL;
	json_t *in = NULL;

	if (state != NULL)
		challenge = login_challenge(srv, state);
	if (state != NULL && challenge != NULL)
		in = login_params(srv, state, challenge, lang);
	if (in == NULL || oidc_pending_start(srv, rq, in, &req) != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		char cookie[128], loc[256];
		snprintf(cookie, sizeof(cookie), "%s.%s", state, config_languages[lang]);
		cookie_set(rq, SID_REG_COOKIE_STATE, cookie, srv->sv_conf->c_request_lifetime);
		snprintf(loc, sizeof(loc), "/key/eid?req=%s&lang=%s", req, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	json_decref(in);
	free(req);
	free(challenge);
	free(state);
}

/* The state parameter is this browser's (constant time); the cookie goes.
 * The state itself is then http_param(rq, "state"). */
static bool
return_state_ok(struct http_request *rq, int *lang)
{
	const char *state = http_param(rq, "state"), *cookie = http_cookie(rq, SID_REG_COOKIE_STATE);
	const char *dot = cookie ? strrchr(cookie, '.') : NULL;
	int l;

	if (state == NULL || dot == NULL || !sl_ct_equal(state, strlen(state), cookie, (size_t)(dot - cookie)))
		return false;
	if (http_param(rq, "lang") == NULL && (l = portal_lang_match(dot + 1, false)) >= 0)
		*lang = l;
	cookie_set(rq, SID_REG_COOKIE_STATE, "", 0);
	return true;
}

/* Redeem the login's code: the person, when the login was a fresh eID one. */
static int
return_person(struct server *srv, struct http_request *rq, struct store_person *p)
{
	const char *code = http_param(rq, "code");
	char hash[2 * SL_SHA256_LEN + 1];
	struct store_code co;
	int rc;

	memset(p, 0, sizeof(*p));
	if (code == NULL || strlen(code) > 128 || crypto_token_hash(code, hash) != SL_OK)
		return SL_EINVAL;
	rc = store_code_redeem(srv->sv_store, hash, SID_REG_CLIENT_ID, &co);
	if (rc == SL_OK && (co.co_amr == NULL || strcmp(co.co_amr, "[\"eid\"]") != 0 ||
				   sl_now() - co.co_auth_time > SID_REG_LOGIN_MAX_AGE))
		rc = SL_EDENIED;
	if (rc == SL_OK) {
		/* The code must be of the login this page started for this state. */
		char *want = login_challenge(srv, http_param(rq, "state"));
		if (want == NULL || co.co_challenge == NULL || !sl_ct_streq(want, co.co_challenge))
			rc = SL_EDENIED;
		free(want);
	}
	if (rc == SL_OK)
		rc = store_person_get(srv->sv_store, co.co_person_id, p);
	if (rc == SL_OK && (p->p_rrn == NULL || p->p_given_name == NULL || p->p_family_name == NULL)) {
		store_person_clear(p);
		rc = SL_EDENIED;
	}
	store_code_clear(&co);
	return rc;
}

/* A new visit for `p` bound to a new cookie of this browser. */
static int
visit_start(struct server *srv, struct http_request *rq, const struct store_person *p)
{
	int lifetime = srv->sv_conf->c_sid_registration_lifetime;
	char id[2 * SL_SHA256_LEN + 1], *cookie = sl_random_id(32);
	/* The person's id too: the portal's audit records name the person. */
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "id", p->p_id, "rrn", p->p_rrn, "given_name", p->p_given_name,
		"family_name", p->p_family_name, "birthdate", p->p_birthdate);
	char *person = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = cookie && person ? crypto_token_hash(cookie, id) : SL_ENOMEM;

	if (rc == SL_OK) {
		struct store_sid_visit v = { .sv_id = id, .sv_person = person, .sv_expires = sl_now() + lifetime };
		rc = store_sid_visit_put(srv->sv_store, &v);
	}
	if (rc == SL_OK)
		cookie_set(rq, SID_REG_COOKIE_VISIT, cookie, lifetime);
	json_decref(o);
	free(person);
	if (cookie != NULL) {
		OPENSSL_cleanse(cookie, strlen(cookie));
		free(cookie);
	}
	return rc;
}

/* GET /smartid/register/return?code=&state= (or ?error=). */
void
sid_portal_return(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL), rc;
	struct store_person p;
	char loc[96];

	if (!return_state_ok(rq, &lang)) {
		sid_reg_problem(srv, rq, 400, lang, N_("This login link has expired"),
			N_("Open the registration page again and log in with your eID."));
		return;
	}
	rc = return_person(srv, rq, &p);
	if (rc != SL_OK) {
		sid_reg_audit(srv, rq, "smartid.portal", "denied", NULL, "no fresh eID login");
		sid_reg_problem(srv, rq, 403, lang, N_("Log in with your eID card"),
			N_("The registration needs a login with your eID card. Start again and log in with your "
			   "card."));
		return;
	}
	rc = visit_start(srv, rq, &p);
	if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		sid_reg_audit(srv, rq, "smartid.portal", "ok", p.p_id, "eID login for a registration");
		snprintf(loc, sizeof(loc), "%s/questions?lang=%s", SID_REG_PORTAL, config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_person_clear(&p);
}

/* ---- shared by the pages ---- */

int
sid_visit_load(struct server *srv, struct http_request *rq, struct store_sid_visit *out)
{
	const char *cookie = http_cookie(rq, SID_REG_COOKIE_VISIT);
	char id[2 * SL_SHA256_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (cookie == NULL || strlen(cookie) < 16 || strlen(cookie) > 128 || crypto_token_hash(cookie, id) != SL_OK)
		return SL_ENOTFOUND;
	return store_sid_visit_get(srv->sv_store, id, sl_now(), out);
}

void
sid_visit_names(const struct store_sid_visit *v, char *given, size_t glen, char *family, size_t flen)
{
	json_t *o = v->sv_person ? json_loads(v->sv_person, 0, NULL) : NULL;
	const char *g = json_string_value(json_object_get(o, "given_name"));
	const char *f = json_string_value(json_object_get(o, "family_name"));

	sl_strlcpy(given, g ? g : "", glen);
	sl_strlcpy(family, f ? f : "", flen);
	json_decref(o);
}

void
sid_visit_audit(struct server *srv, struct http_request *rq, const struct store_sid_visit *v, const char *result,
	const char *registration_id, const char *note)
{
	json_t *o = v->sv_person ? json_loads(v->sv_person, 0, NULL) : NULL;
	char detail[SID_REG_AAD_MAX];

	if (registration_id != NULL)
		snprintf(detail, sizeof(detail), "registration %s%s%s", registration_id, note ? ": " : "",
			note ? note : "");
	sid_reg_audit(srv, rq, "smartid.portal", result, json_string_value(json_object_get(o, "id")),
		registration_id != NULL ? detail : note);
	json_decref(o);
}

bool
sid_form_ok(struct server *srv, struct http_request *rq, int lang, struct store_sid_visit *v)
{
	if (sid_visit_load(srv, rq, v) != SL_OK) {
		sid_reg_problem(srv, rq, 403, lang, N_("Log in with your eID card"),
			N_("The registration needs a login with your eID card in this browser. Start again and log in "
			   "with your card."));
		return false;
	}
	if (http_method(rq) == HTTP_POST && !oidc_csrf_ok(srv, rq, SID_REG_CSRF_ID, http_form(rq, "csrf"))) {
		sid_reg_problem(srv, rq, 403, lang, N_("This form has expired"),
			N_("Open the registration page again and log in with your eID."));
		store_sid_visit_clear(v);
		return false;
	}
	return true;
}
