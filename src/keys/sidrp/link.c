/*
 * link.c — a device link scanned or opened (docs/smart-id.md "POST
 * /device/v1/smartid/link"), and what a phone without the app sees.
 *
 *   POST /device/v1/smartid/link   {"link": "..."} with the device's proof
 *   GET  /smart-id/device-link     the deviceLinkBase itself: a page
 *
 * A claim is checked in this order, each step with its own error:
 *   1. the device's proof (sid_device_authenticate: 401);
 *   2. the link parsed strictly (sidproto) and its base ours: 400
 *      invalid_link;
 *   3. the session by sessionToken: 404 not_found; its sessionType the
 *      link's: 400 invalid_link;
 *   4. the authCode recomputed with the session's secret over the
 *      unprotected link exactly as received and compared in constant
 *      time: 401 bad_auth_code (so nothing below tells a forger anything);
 *   5. the session still running: 410 link_expired; not yet claimed: 409
 *      already_claimed; a QR's elapsedSeconds within [smartid]
 *      rp_link_skew of the session's real age (a photographed QR relayed
 *      to someone else later is refused): 410 link_expired;
 *   6. this device may answer it (etsi: its person has that national
 *      number; document: it is that device): 403 not_for_this_device;
 *   7. the request made for this device and the session taken in one
 *      statement (sidrp_request_make): a lost race is 409.
 * The secret is opened from rest only for step 4 and cleansed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../../portal/portal.h"
#include "../splitkey/sid_login_int.h"
#include "sidrp_int.h"

#define LINK_BASE_MAX 512

struct claim {
	struct server *cl_srv;
	struct http_request *cl_rq;
	struct store_sid_device cl_dev;
	struct store_sid_session cl_s;
	struct sidp_link_parsed cl_link;
};

static void
fail(struct claim *c, int status, const char *error, const char *desc)
{
	app_send_error(c->cl_rq, status, error, desc, NULL);
}

/* Steps 2 and 3; false when the answer is sent. */
static bool
find_session(struct claim *c, json_t *body)
{
	const char *url = app_json_str(body, "link", SIDP_LINK_MAX);
	char base[LINK_BASE_MAX];
	struct sl_err err = { 0 };
	int rc;

	if (url == NULL || sidp_link_parse(url, &c->cl_link, &err) != SL_OK) {
		fail(c, 400, "invalid_link", url == NULL ? "link is required" : err.msg);
		return false;
	}
	sidrp_device_link_base(c->cl_srv, base, sizeof(base));
	if (strcmp(c->cl_link.sp_link.sl_base, base) != 0) {
		fail(c, 400, "invalid_link", "This device link is not of this server.");
		return false;
	}
	rc = store_sid_session_by_token(c->cl_srv->sv_store, c->cl_link.sp_link.sl_token, &c->cl_s);
	if (rc == SL_ENOTFOUND) {
		fail(c, 404, "not_found", "No such session.");
		return false;
	}
	if (rc != SL_OK) {
		fail(c, 503, "temporarily_unavailable", "the store is not available");
		return false;
	}
	/* An RP that drew the link with another sessionType signs what the
	 * app would show wrongly: refused before the authCode is looked at. */
	if (strcmp(c->cl_link.sp_link.sl_session_type, c->cl_s.ss_type) != 0) {
		fail(c, 400, "invalid_link", "The link's sessionType is not its session's.");
		return false;
	}
	return true;
}

/* The authCode this session's secret gives for the link as received. */
static int
expected_code(struct claim *c, char out[SIDP_USER_CHALLENGE_LEN + 1], struct sl_err *err)
{
	const struct store_sid_session *s = &c->cl_s;
	bool cert = strcmp(s->ss_type, "cert") == 0, qr = c->cl_link.sp_link.sl_type == SIDP_LINK_QR;
	struct sidrp_params p;
	char aad[SIDRP_UUID_LEN + 32];
	uint8_t *secret = NULL;
	size_t len = 0;
	int rc = sidrp_params_load(s, &p, err);

	snprintf(aad, sizeof(aad), "sidrp-secret %s", s->ss_id);
	if (rc == SL_OK && s->ss_secret == NULL)
		rc = sl_fail(err, SL_EINVAL, "the session has no secret");
	if (rc == SL_OK)
		rc = app_rest_open_bytes(c->cl_srv, aad, s->ss_secret, &secret, &len, err);
	if (rc == SL_OK) {
		struct sidp_authcode_in in = {
			.sc_scheme = c->cl_srv->sv_conf->c_sid_scheme_name,
			.sc_protocol = cert || p.pa_protocol == NULL ? "" : p.pa_protocol,
			.sc_challenge = cert || p.pa_challenge == NULL ? "" : p.pa_challenge,
			.sc_rp_name = p.pa_rp_name,
			.sc_brokered_rp_name = p.pa_brokered,
			.sc_interactions = cert || p.pa_interactions_b64 == NULL ? "" : p.pa_interactions_b64,
			.sc_callback_url = qr ? "" : p.pa_callback,
			.sc_unprotected_link = c->cl_link.sp_unprotected,
		};
		rc = sidp_auth_code(secret, len, &in, out, err);
	}
	if (secret != NULL)
		OPENSSL_clear_free(secret, len);
	sidrp_params_clear(&p);
	return rc;
}

/* Step 4; false when the answer is sent. */
static bool
code_ok(struct claim *c)
{
	char want[SIDP_USER_CHALLENGE_LEN + 1];
	struct sl_err err = { 0 };
	bool ok;

	if (expected_code(c, want, &err) != SL_OK) {
		log_warn("smartid rp session %s: no authCode: %s", c->cl_s.ss_id, err.msg);
		fail(c, 503, "temporarily_unavailable", "the session cannot be checked");
		return false;
	}
	ok = sl_ct_streq(want, c->cl_link.sp_auth_code);
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok)
		fail(c, 401, "bad_auth_code", "The device link's authCode is not right.");
	return ok;
}

/* Step 5; false when the answer is sent. */
static bool
still_open(struct claim *c)
{
	const struct store_sid_session *s = &c->cl_s;
	int64_t now = sl_now(), age = now - s->ss_created, skew = c->cl_srv->sv_conf->c_sid_rp_link_skew;
	long elapsed = c->cl_link.sp_link.sl_elapsed;

	if (strcmp(s->ss_state, "RUNNING") != 0 || now >= s->ss_expires) {
		fail(c, 410, "link_expired", "This Smart-ID session is over.");
		return false;
	}
	if (s->ss_request_id != NULL) {
		fail(c, 409, "already_claimed", "Another device already took this session.");
		return false;
	}
	if (c->cl_link.sp_link.sl_type == SIDP_LINK_QR && (elapsed - age > skew || age - elapsed > skew)) {
		fail(c, 410, "link_expired", "This QR code is too old: scan the one on the screen now.");
		return false;
	}
	return true;
}

/* Step 6: an etsi session is its person's, a document session its
 * device's; anyone's active device may take an anonymous one. */
static bool
for_this_device(struct claim *c)
{
	const struct store_sid_session *s = &c->cl_s;
	struct store_sid_account acct = { 0 };
	struct store_person person = { 0 };
	bool ok = true;

	if (strcmp(s->ss_target_kind, "document") == 0) {
		ok = s->ss_target != NULL && strcmp(s->ss_target, c->cl_dev.sd_document) == 0;
	} else if (strcmp(s->ss_target_kind, "etsi") == 0) {
		ok = s->ss_target != NULL &&
		     store_sid_account_get(c->cl_srv->sv_store, c->cl_dev.sd_account_id, &acct) == SL_OK &&
		     store_person_get(c->cl_srv->sv_store, acct.sa_person_id, &person) == SL_OK &&
		     person.p_rrn != NULL && strcmp(person.p_rrn, s->ss_target) == 0;
	}
	if (ok && s->ss_account_id != NULL && strcmp(s->ss_account_id, c->cl_dev.sd_account_id) != 0)
		ok = false;
	store_person_clear(&person);
	store_sid_account_clear(&acct);
	if (!ok)
		fail(c, 403, "not_for_this_device", "This Smart-ID session is for someone else.");
	return ok;
}

/* Step 7. */
static void
take(struct claim *c)
{
	char id[APP_ID_MAX + 1];
	struct store_sid_request r = { 0 };
	struct sl_err err = { 0 };
	const char *flow = sidp_link_type_name(c->cl_link.sp_link.sl_type);
	int rc = sidrp_request_make(c->cl_srv, &c->cl_s, c->cl_dev.sd_account_id, c->cl_dev.sd_id, flow, id, &err);

	if (rc == SL_ECONFLICT)
		fail(c, 409, "already_claimed", "Another device already took this session.");
	else if (rc == SL_EEXPIRED)
		fail(c, 410, "link_expired", "This Smart-ID session is over.");
	else if (rc == SL_EBUSY)
		fail(c, 429, "too_many_requests", err.msg);
	else if (rc != SL_OK || store_sid_request_get(c->cl_srv->sv_store, id, &r) != SL_OK)
		fail(c, 503, "temporarily_unavailable", "the request could not be made");
	else
		http_send_json(c->cl_rq, 200, json_pack("{s:o}", "request", sid_request_json(&r, sl_now())));
	store_sid_request_clear(&r);
}

void
sidrp_link_post(void *ctx, struct http_request *rq)
{
	struct claim c = { .cl_srv = ctx, .cl_rq = rq };
	json_t *body;

	if (sid_device_authenticate(c.cl_srv, rq, &c.cl_dev) != SL_OK)
		return;
	body = app_json_body(rq);
	if (body != NULL && find_session(&c, body) && code_ok(&c) && still_open(&c) && for_this_device(&c))
		take(&c);
	json_decref(body);
	sidp_link_parsed_clear(&c.cl_link);
	store_sid_session_clear(&c.cl_s);
	store_sid_device_clear(&c.cl_dev);
}

/* ---- GET /smart-id/device-link ---- */

/* The link's lang (ISO 639-2, "nld") as one of ours, else the usual. */
static int
page_lang(struct server *srv, struct http_request *rq)
{
	static const struct {
		const char *three, *two;
	} map[] = { { "nld", "nl" }, { "dut", "nl" }, { "fra", "fr" }, { "fre", "fr" }, { "deu", "de" },
		{ "ger", "de" }, { "eng", "en" } };
	const char *l = http_param(rq, "lang");
	int i;

	for (size_t k = 0; l != NULL && k < sizeof(map) / sizeof(map[0]); k++)
		if (strcmp(l, map[k].three) == 0 && (i = portal_lang_match(map[k].two, false)) >= 0)
			return i;
	return portal_lang(srv, rq, NULL);
}

void
sidrp_link_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	int lang = page_lang(srv, rq);
	struct tmpl_var v[1] = { { "langcode", config_languages[lang] } };

	portal_page(srv, rq, 200, lang, N_("Open this link in the Smart-ID app"), "sidrp_device_link", v, 1);
}
