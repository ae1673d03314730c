/*
 * account.c — the citizen's own page, /account on the portal origin: who
 * sleutel knows them as, their app accounts and devices and their Smart-ID
 * devices (with a button to remove a device), the sites they agreed to share data with (with a
 * button to withdraw), and where and how they logged in.
 *
 * The page needs the person's SSO session.  Without one it offers a login
 * that goes through the portal like any relying party's would, so the
 * person picks a key on the usual page: /account/login sends the browser
 * to /authorize for a built-in client, "sleutel-account", whose one
 * redirect URI is {issuer}/account.  The login starts the SSO session
 * before the browser comes back, so the page only checks the state (a
 * cookie of this browser, compared in constant time) and drops the code:
 * it cannot be redeemed by anyone, because the client's secret and the
 * PKCE verifier were random values that were never kept.  Redeeming it
 * here would prove nothing the session does not already prove.
 *
 * The client is made at first use; its name is what the key choice shows
 * ("to log in to sleutel").  An operator who removes it gets a new one at
 * the next login.
 */
#include <stdlib.h>
#include <string.h>

#include "portal.h"
#include "account_int.h"
#include "../oidc/oidc_int.h"
#include "../keys/splitkey/splitkey.h"

#define ACCOUNT_STATE_LIFETIME 900 /* seconds to finish the login */

/* The built-in client of the page's login. */
static int
account_client(struct server *srv, char *redirect, size_t rlen)
{
	snprintf(redirect, rlen, "%s/account", srv->sv_conf->c_issuer);
	return oidc_builtin_client(srv, ACCOUNT_CLIENT_ID, "sleutel", redirect);
}

/* GET /account/login: start a login for the built-in client. */
static void
account_login(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = portal_lang(srv, rq, NULL);
	char redirect[512], *state = NULL, *verifier = NULL, *challenge = NULL, *loc = NULL;
	uint8_t digest[SL_SHA256_LEN];

	if (account_client(srv, redirect, sizeof(redirect)) == SL_OK) {
		state = sl_random_id(32);
		verifier = sl_random_id(32);
	}
	if (verifier != NULL && crypto_sha256(verifier, strlen(verifier), digest) == SL_OK)
		challenge = sl_b64url_encode(digest, sizeof(digest));
	if (state != NULL && challenge != NULL) {
		const char *kv[] = { "client_id", ACCOUNT_CLIENT_ID, "response_type", "code", "scope", "openid",
			"redirect_uri", redirect, "state", state, "code_challenge", challenge, "code_challenge_method",
			"S256", "ui_locales", config_languages[lang] };
		loc = url_with_params("/authorize", kv, sizeof(kv) / sizeof(kv[0]) / 2);
	}
	if (loc == NULL) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		/* The cookie keeps the page's language too, for the way back. */
		char cookie[128];
		snprintf(cookie, sizeof(cookie), "%s.%s", state, config_languages[lang]);
		cookie_set(rq, ACCOUNT_COOKIE_STATE, cookie, ACCOUNT_STATE_LIFETIME);
		http_send_redirect(rq, 303, loc);
	}
	free(loc);
	free(challenge);
	free(verifier);
	free(state);
}

/* The browser is back from the login (/account?code=..&state=.. or
 * ?error=..): check the state, forget it, and show the page at its own
 * address, so the code leaves the address bar and the history. */
static void
account_return(struct server *srv, struct http_request *rq, int lang)
{
	const char *state = http_param(rq, "state"), *cookie = http_cookie(rq, ACCOUNT_COOKIE_STATE);
	const char *dot = cookie ? strrchr(cookie, '.') : NULL;
	char loc[64];

	if (state == NULL || dot == NULL || !sl_ct_equal(state, strlen(state), cookie, (size_t)(dot - cookie))) {
		portal_error(srv, rq, 400, lang, N_("This login link has expired"),
			N_("Open your account page and log in again."));
		return;
	}
	if (http_param(rq, "lang") == NULL)
		lang = portal_lang_match(dot + 1, false) >= 0 ? portal_lang_match(dot + 1, false) : lang;
	cookie_set(rq, ACCOUNT_COOKIE_STATE, "", 0);
	snprintf(loc, sizeof(loc), "/account?lang=%s", config_languages[lang]);
	http_send_redirect(rq, 303, loc);
}

/* What the page was sent back to say (after a form): the first of its
 * known notices in the address, or NULL. */
static const char *
page_notice(struct http_request *rq)
{
	static const char *const notices[] = { "removed", "sidremoved", "withdrawn", "notme", "read" };

	for (size_t i = 0; i < sizeof(notices) / sizeof(notices[0]); i++)
		if (http_param(rq, notices[i]) != NULL)
			return notices[i];
	return NULL;
}

/* GET /account */
static void
account_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	int lang = portal_lang(srv, rq, NULL);

	if (http_param(rq, "code") != NULL || http_param(rq, "state") != NULL || http_param(rq, "error") != NULL) {
		account_return(srv, rq, lang);
		return;
	}
	if (session_current(srv, rq, &ses) != SL_OK) {
		struct tmpl_var v[1] = { { "langcode", config_languages[lang] } };
		portal_page(srv, rq, 200, lang, N_("Your sleutel account"), "account_login", v, 1);
		return;
	}
	account_render(srv, rq, lang, ses.s_person_id, page_notice(rq));
	store_session_clear(&ses);
}

/* A form posted on the page: the person's session (in *ses, to clear)
 * and the page's CSRF token; false with the error page sent otherwise. */
bool
account_form_ok(struct server *srv, struct http_request *rq, int lang, struct store_session *ses)
{
	if (session_current(srv, rq, ses) != SL_OK) {
		portal_error(srv, rq, 401, lang, N_("You are not logged in"),
			N_("Open your account page and log in again."));
		return false;
	}
	if (!oidc_csrf_ok(srv, rq, ACCOUNT_CSRF_ID, http_form(rq, "csrf"))) {
		portal_error(
			srv, rq, 403, lang, N_("This form has expired"), N_("Open your account page and try again."));
		store_session_clear(ses);
		return false;
	}
	return true;
}

/* The device named in the form, if it is one of this person's. */
int
account_own_device(struct server *srv, const char *person_id, const char *id, struct store_device *dev)
{
	struct store_account a;
	bool mine;

	memset(dev, 0, sizeof(*dev));
	if (id == NULL || strlen(id) > 64 || store_device_get(srv->sv_store, id, dev) != SL_OK)
		return SL_ENOTFOUND;
	if (store_account_get(srv->sv_store, dev->dv_account_id, &a) != SL_OK) {
		store_device_clear(dev);
		return SL_ENOTFOUND;
	}
	mine = a.ac_person_id != NULL && strcmp(a.ac_person_id, person_id) == 0;
	store_account_clear(&a);
	if (!mine) {
		store_device_clear(dev);
		return SL_ENOTFOUND;
	}
	return SL_OK;
}

/* POST /account/devices/remove: device, csrf. */
static void
account_device_remove(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	struct store_device dev;
	int lang = portal_lang(srv, rq, NULL);
	char loc[64], detail[256];
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "device.remove", .au_result = "ok", .au_ip = server_audit_ip(srv, rq, ipbuf)
	};

	if (!account_form_ok(srv, rq, lang, &ses))
		return;
	if (account_own_device(srv, ses.s_person_id, http_form(rq, "device"), &dev) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This device is not one of yours"),
			N_("Open your account page and try again."));
	} else if (strcmp(dev.dv_status, "removed") != 0 &&
		   store_device_set_status(srv->sv_store, dev.dv_id, "removed") != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
		store_device_clear(&dev);
	} else {
		snprintf(detail, sizeof(detail), "by the person: device %s (%.100s)", dev.dv_id,
			dev.dv_name ? dev.dv_name : "");
		au.au_person_id = ses.s_person_id;
		au.au_key = "app";
		au.au_detail = detail;
		store_audit_add(srv->sv_store, &au);
		snprintf(loc, sizeof(loc), "/account?removed=1&lang=%s", config_languages[lang]);
		http_send_redirect(rq, 303, loc);
		store_device_clear(&dev);
	}
	store_session_clear(&ses);
}

/* The Smart-ID device named in the form, if it is one of this person's. */
int
account_own_sid_device(struct server *srv, const char *person_id, const char *id, struct store_sid_device *dev)
{
	struct store_sid_account a;
	bool mine;

	memset(dev, 0, sizeof(*dev));
	if (id == NULL || strlen(id) > 64 || store_sid_device_get(srv->sv_store, id, dev) != SL_OK)
		return SL_ENOTFOUND;
	mine = store_sid_account_get(srv->sv_store, dev->sd_account_id, &a) == SL_OK && a.sa_person_id != NULL &&
	       strcmp(a.sa_person_id, person_id) == 0;
	store_sid_account_clear(&a);
	if (!mine) {
		store_sid_device_clear(dev);
		return SL_ENOTFOUND;
	}
	return SL_OK;
}

/* POST /account/smartid/remove: device, csrf.  The device ends for good
 * ("removed" by the person): its keys no longer complete a signature and
 * what it may have on its screen fails.  A second submit of the same form
 * (the device is no longer active) shows the page as the first did. */
static void
account_smartid_remove(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	struct store_sid_device dev;
	int lang = portal_lang(srv, rq, NULL), rc = SL_OK;
	char loc[64], detail[256];
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "smartid.remove", .au_result = "ok", .au_ip = server_audit_ip(srv, rq, ipbuf)
	};

	if (!account_form_ok(srv, rq, lang, &ses))
		return;
	if (account_own_sid_device(srv, ses.s_person_id, http_form(rq, "device"), &dev) != SL_OK) {
		portal_error(srv, rq, 404, lang, N_("This device is not one of yours"),
			N_("Open your account page and try again."));
		store_session_clear(&ses);
		return;
	}
	rc = sid_device_end(srv, &dev, "removed", "person");
	if (rc != SL_OK && rc != SL_ECONFLICT) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		if (rc == SL_OK) {
			snprintf(detail, sizeof(detail), "by the person: device %s %s (%.100s)", dev.sd_id,
				dev.sd_document, dev.sd_name ? dev.sd_name : "");
			au.au_person_id = ses.s_person_id;
			au.au_key = "smartid";
			au.au_detail = detail;
			store_audit_add(srv->sv_store, &au);
		}
		snprintf(loc, sizeof(loc), "/account?sidremoved=1&lang=%s", config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_sid_device_clear(&dev);
	store_session_clear(&ses);
}

/* POST /account/consents/withdraw: client, csrf.  The consent goes and so
 * do the client's access and refresh tokens of this person (one
 * transaction in the store): the site loses what the consent gave it. */
static void
account_consent_withdraw(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	const char *client = http_form(rq, "client");
	int lang = portal_lang(srv, rq, NULL), revoked = 0, rc;
	char loc[64], detail[64];
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "consent.withdrawn", .au_result = "ok", .au_ip = server_audit_ip(srv, rq, ipbuf)
	};

	if (!account_form_ok(srv, rq, lang, &ses))
		return;
	if (client == NULL || strlen(client) > 256 ||
		(rc = store_consent_withdraw(srv->sv_store, ses.s_person_id, client, &revoked)) == SL_ENOTFOUND) {
		portal_error(srv, rq, 404, lang, N_("You do not share data with this site"),
			N_("Open your account page and try again."));
	} else if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		snprintf(detail, sizeof(detail), "by the person: %d tokens revoked", revoked);
		au.au_person_id = ses.s_person_id;
		au.au_client_id = client;
		au.au_detail = detail;
		store_audit_add(srv->sv_store, &au);
		snprintf(loc, sizeof(loc), "/account?withdrawn=1&lang=%s", config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_session_clear(&ses);
}

#define GET (HTTP_GET | HTTP_HEAD)

const struct http_route account_routes[] = {
	{ "/account", GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_page },
	{ "/account/login", GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_login },
	{ "/account/devices/remove", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_device_remove },
	{ "/account/smartid/remove", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_smartid_remove },
	{ "/account/consents/withdraw", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE,
		account_consent_withdraw },
	{ "/account/export", GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_export },
	{ "/account/notme", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_notme },
	{ "/account/notices/read", HTTP_POST, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, account_notice_read },
};
const size_t account_nroutes = sizeof(account_routes) / sizeof(account_routes[0]);
