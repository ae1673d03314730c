/*
 * routes.c — what each origin serves.  The portal origin serves the OIDC
 * endpoints and the pages; the eID origin (which asks browsers for a
 * client certificate) serves only what the eID key needs, plus health.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "../oidc/oidc.h"
#include "../keys/eid/eid.h"
#include "../portal/portal.h"
#include "../keys/app/app.h"
#include "../keys/splitkey/splitkey.h"
#include "../keys/sidrp/sidrp.h"
#include "../proofing/proofing.h"
#include "../site/site.h"

static void
route_health(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int version = 0;

	if (atomic_load(&srv->sv_stopping) || store_schema_version(srv->sv_store, &version) != SL_OK) {
		http_send_json(rq, 503, json_pack("{s:s}", "status", "unavailable"));
		return;
	}
	http_send_json(rq, 200, json_pack("{s:s,s:i}", "status", "ok", "schema", version));
}

/* "Bearer <token>" matching [metrics] token_file, when one is set. */
static bool
metrics_caller_ok(struct server *srv, struct http_request *rq)
{
	const char *authz = http_header(rq, "Authorization");

	if (srv->sv_metrics_token == NULL)
		return true;
	return authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0 && sl_ct_streq(authz + 7, srv->sv_metrics_token);
}

static void
route_metrics(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	char *text;

	if (!metrics_caller_ok(srv, rq)) {
		http_add_header(rq, "WWW-Authenticate", "Bearer realm=\"metrics\"");
		http_send_json(rq, 401, json_pack("{s:s}", "error", "a bearer token is required for /metrics"));
		return;
	}
	text = metrics_render(srv->sv_metrics, srv->sv_routes, srv->sv_nroutes, waiter_count(srv->sv_waiters));
	if (text == NULL) {
		http_send_empty(rq, 500);
		return;
	}
	http_send_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text);
	free(text);
}

#define P HTTP_ORIGIN_PORTAL
#define E HTTP_ORIGIN_EID
#define GET (HTTP_GET | HTTP_HEAD)
#define GP (HTTP_GET | HTTP_HEAD | HTTP_POST)
#define API HTTP_KIND_API
#define PAGE HTTP_KIND_PAGE

static const struct http_route core_routes[] = {
	{ "/healthz", GET, P | E | HTTP_ORIGIN_METRICS, false, API, route_health },
	{ "/metrics", GET, HTTP_ORIGIN_METRICS, false, API, route_metrics },
	{ "/.well-known/openid-configuration", GET, P, false, API, oidc_discovery },
	{ "/jwks", GET, P, false, API, oidc_jwks },
	{ "/authorize", GP, P, false, PAGE, oidc_authorize },
	{ "/par", HTTP_POST, P, false, API, oidc_par },
	{ "/token", HTTP_POST, P, false, API, oidc_token },
	{ "/userinfo", GP, P, false, API, oidc_userinfo },
	{ "/logout", GP, P, false, PAGE, oidc_end_session },
	{ "/login", GET, P, false, PAGE, portal_choose },
	{ "/login/cancel", HTTP_POST, P, false, PAGE, portal_cancel },
	{ "/login/more", HTTP_POST, P, false, PAGE, portal_timelimit_extend },
	{ "/login/wait", GET, P, false, PAGE, portal_wait_page },
	{ "/login/poll", GET, P, false, API, portal_poll },
	{ "/login/finish", GP, P, false, PAGE, portal_finish },
	{ "/login/consent", GP, P, false, PAGE, portal_consent },
	{ "/key/eid", GET, P, false, PAGE, eid_page },
	{ "/eid/login", GET, E, false, PAGE, eid_login },
	{ "/login/eid/return", GET, P, false, PAGE, eid_return },
	{ "/login/eid/webeid/challenge", HTTP_POST, P, false, API, webeid_challenge },
	{ "/login/eid/webeid", HTTP_POST, P, false, API, webeid_login },
	{ "/static/webeid.js", GET, P, false, PAGE, webeid_script },
#ifdef SL_TEST_KEY
	{ "/key/test", GET, P, false, PAGE, testkey_page },
	{ "/key/test/login", HTTP_POST, P, false, PAGE, testkey_login },
	{ "/key/test/approve", HTTP_POST, P, false, API, testkey_approve },
#endif
};

/* Catch-alls and prefixes last, after every module's table (then the
 * site's "/" and /LANG/ prefixes, src/site). */
static const struct http_route tail_routes[] = {
	{ "/ocsp", GP, HTTP_ORIGIN_PKI, true, API, server_pki_ocsp },
	{ "/crl/", GET, HTTP_ORIGIN_PKI, true, API, server_pki_crl },
	{ "/static/", GET, P | E, true, PAGE, portal_static },
};

#define TABLE(t)                                                                                                       \
	{                                                                                                              \
		(t), sizeof(t) / sizeof((t)[0])                                                                        \
	}
#define MODULE(t, n)                                                                                                   \
	{                                                                                                              \
		(t), 0, &(n)                                                                                           \
	}
/* A key module's table, left out when [portal] keys does not offer the
 * key: switching a key off closes its pages and device API, not only its
 * button. */
#define KEY_MODULE(t, n, k)                                                                                            \
	{                                                                                                              \
		(t), 0, &(n), (k), true                                                                                \
	}

int
server_routes_build(struct server *srv, struct sl_err *err)
{
	const struct {
		const struct http_route *rt_routes;
		size_t rt_fixed; /* this file's tables */
		const size_t *rt_n; /* a module's table: its exported count */
		unsigned rt_key; /* the key (enum sl_key_kind) the table serves; 0: always */
		bool rt_on; /* a key module's own switch ([smartid] rp_api) */
	} tables[] = {
		TABLE(core_routes),
		MODULE(oidc_ciba_routes, oidc_ciba_nroutes),
		MODULE(app_login_routes, app_login_nroutes),
		MODULE(app_device_routes, app_device_nroutes),
		KEY_MODULE(sid_register_routes, sid_register_nroutes, SL_KEY_SMARTID),
		KEY_MODULE(sid_login_routes, sid_login_nroutes, SL_KEY_SMARTID),
		{ sidrp_routes, 0, &sidrp_nroutes, SL_KEY_SMARTID, srv->sv_conf->c_sid_rp_api },
		MODULE(proofing_routes, proofing_nroutes),
		MODULE(account_routes, account_nroutes),
		TABLE(tail_routes),
		MODULE(site_routes, site_nroutes),
	};
	size_t n = 0, at = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i].rt_key == 0 || ((srv->sv_conf->c_portal_keys & tables[i].rt_key) && tables[i].rt_on))
			n += tables[i].rt_n ? *tables[i].rt_n : tables[i].rt_fixed;
	srv->sv_routes = calloc(n, sizeof(*srv->sv_routes));
	if (srv->sv_routes == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		size_t k = tables[i].rt_n ? *tables[i].rt_n : tables[i].rt_fixed;
		if (tables[i].rt_key != 0 && !((srv->sv_conf->c_portal_keys & tables[i].rt_key) && tables[i].rt_on))
			continue;
		memcpy(srv->sv_routes + at, tables[i].rt_routes, k * sizeof(*srv->sv_routes));
		at += k;
	}
	srv->sv_nroutes = n;
	return SL_OK;
}
