/*
 * device.c — the device API's route table (docs/device-api.md), the two
 * documents served without a proof (/config and /keys), and the small
 * shared pieces: waiter keys, id syntax, the request object the app sees.
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

#define P HTTP_ORIGIN_PORTAL
#define GET (HTTP_GET | HTTP_HEAD)
#define POST HTTP_POST
#define API HTTP_KIND_API

static void app_config_get(void *ctx, struct http_request *rq);
static void app_keys_get(void *ctx, struct http_request *rq);

const struct http_route app_device_routes[] = {
	{ APP_DEVICE_BASE "/config", GET, P, false, API, app_config_get },
	{ APP_DEVICE_BASE "/keys", GET, P, false, API, app_keys_get },
	{ APP_DEVICE_BASE "/enroll/start", POST, P, false, API, app_enroll_start },
	{ APP_DEVICE_BASE "/enroll/sms/resend", POST, P, false, API, app_enroll_resend },
	{ APP_DEVICE_BASE "/enroll/sms", POST, P, false, API, app_enroll_sms },
	{ APP_DEVICE_BASE "/enroll/proof", POST, P, false, API, app_enroll_proof },
	{ APP_DEVICE_BASE "/enroll/finish", POST, P, false, API, app_enroll_finish },
	{ APP_DEVICE_BASE "/enroll/recover", POST, P, false, API, app_enroll_recover },
	{ APP_DEVICE_BASE "/enroll", GET, P, false, API, app_enroll_get },
	{ APP_DEVICE_BASE "/requests", GET, P, false, API, app_channel_get },
	{ APP_DEVICE_BASE "/requests/", POST, P, true, API, app_confirm_post },
	{ APP_DEVICE_BASE "/devices", GET, P, false, API, app_devices_get },
	{ APP_DEVICE_BASE "/devices/", POST, P, true, API, app_devices_remove },
	{ APP_DEVICE_BASE "/notices", GET, P, false, API, app_notices_get },
#ifdef SL_TEST_KEY
	/* Test builds only: mark an enrolment proofed with a given identity. */
	{ APP_DEVICE_BASE "/test/proofed", POST, P, false, API, app_enroll_test_proofed },
#endif
};
const size_t app_device_nroutes = sizeof(app_device_routes) / sizeof(app_device_routes[0]);

static void
app_config_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const struct sl_config *c = srv->sv_conf;

	http_send_json(rq, 200,
		json_pack("{s:s,s:s,s:s,s:i,s:o}", "issuer", c->c_issuer, "terms_version", c->c_app_terms_version,
			"default_country", c->c_app_default_country, "poll_timeout", c->c_app_poll_timeout, "seal_keys",
			app_keys_public(srv)));
}

static void
app_keys_get(void *ctx, struct http_request *rq)
{
	http_send_json(rq, 200, json_pack("{s:o}", "seal_keys", app_keys_public(ctx)));
}

void
app_request_wait_key(const char *apprq_id, char *out, size_t len)
{
	snprintf(out, len, "apprq:%s", apprq_id);
}

void
app_account_wait_key(const char *account_id, char *out, size_t len)
{
	snprintf(out, len, "account:%s", account_id);
}

void
app_enroll_wait_key(const char *enrollment_id, char *out, size_t len)
{
	snprintf(out, len, "enroll:%s", enrollment_id);
}

bool
app_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n <= APP_ID_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

json_t *
app_request_json(const struct store_apprq *r, int64_t now)
{
	json_t *o, *codes = json_loads(r->aq_codes ? r->aq_codes : "[]", 0, NULL);

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:I}", "id", r->aq_id, "rp_id", r->aq_client_id, "rp_name",
		r->aq_rp_name, "action", r->aq_action, "display_text", r->aq_display_text, "codes",
		codes ? codes : json_array(), "nonce", r->aq_nonce, "expires_in",
		(json_int_t)(r->aq_expires > now ? r->aq_expires - now : 0));
	if (o != NULL && r->aq_authz_details != NULL) {
		json_t *ad = json_loads(r->aq_authz_details, 0, NULL);
		if (ad != NULL)
			json_object_set_new(o, "authorization_details", ad);
	}
	if (o != NULL && r->aq_context != NULL) {
		json_t *ctx = app_context_object(r->aq_context);
		if (ctx != NULL)
			json_object_set_new(o, "context", ctx);
	}
	return o;
}
