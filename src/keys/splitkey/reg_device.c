/*
 * reg_device.c — the start of a Smart-ID registration on the device API
 * (docs/smartid-api.md "POST /register", "GET /register").
 *
 * The app has made both keys (sk_device_keygen) and sends the server's
 * shares sealed to a published device-API key, with the AAD naming the key
 * use and its own transport key, so a share cannot be replayed under
 * another key or for the other use.  Each share is parsed at this server's
 * size (sk_share_from_json with sid_params) and kept sealed at rest: the
 * server's own RSA keys (sk_server_keygen, about a second per key at 3072
 * bits) are made only when the portal confirms the registration behind an
 * eID login (reg_keygen.c), so a start costs no key generation.  The
 * composite moduli reach the app in GET /register once "confirmed".  The
 * registration code (XXXX-XXXX, 40 bits, the proofing code's generator) is
 * returned once and kept only as an HMAC, which is also how the portal
 * finds the registration.
 *
 * Limits: registrations started per client address ([smartid] rate_ip per
 * [app] rate_window), [smartid] registration_lifetime, one live
 * registration per transport key (409 key_in_use), and the request body
 * limits of the device API.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "sid_reg_int.h"
#include "../app/app.h"
#include "../../oidc/oidc.h"
#include "../../proofing/proofing.h"

/* What POST /register brings, checked. */
struct reg_in {
	json_t *ri_jwk;
	char ri_jkt[APP_JKT_LEN + 1];
	const char *ri_lang;
	const char *ri_name;
	const char *ri_terms;
	const char *ri_kid;
	char *ri_sealed[2]; /* auth, sign: checked and sealed at rest by the key holder */
};

static void
reg_in_clear(struct reg_in *in)
{
	for (int i = 0; i < 2; i++) {
		free(in->ri_sealed[i]);
		in->ri_sealed[i] = NULL;
	}
}

/* The transport key and the proof made with it; false when answered. */
static bool
reg_proof(struct server *srv, struct http_request *rq, json_t *body, struct reg_in *in)
{
	in->ri_jwk = json_object_get(body, "transport_key");
	return app_body_key_ok(srv, rq, in->ri_jwk, in->ri_jkt);
}

static bool
lang_ok(const char *lang)
{
	for (int i = 0; lang != NULL && i < SL_LANG_COUNT; i++)
		if (strcmp(lang, config_languages[i]) == 0)
			return true;
	return false;
}

/* The transport key is not a live registration's or a device's yet
 * (checked before the shares are opened; the store checks again). */
static bool
reg_key_free(struct server *srv, struct http_request *rq, const struct reg_in *in)
{
	struct store_sid_registration r;
	struct store_sid_device d;
	bool used = false;

	if (store_sid_registration_by_jkt(srv->sv_store, in->ri_jkt, &r) == SL_OK) {
		used = sl_now() < r.sr_expires;
		store_sid_registration_clear(&r);
	}
	if (!used && store_sid_device_by_jkt(srv->sv_store, in->ri_jkt, &d) == SL_OK) {
		used = true;
		store_sid_device_clear(&d);
	}
	if (used)
		app_send_error(rq, 409, "key_in_use", "This key is already in use; make a new one.", NULL);
	return !used;
}

/* Terms, country, method, language, device name; false when answered. */
static bool
reg_fields(struct server *srv, struct http_request *rq, json_t *body, struct reg_in *in)
{
	const struct sl_config *c = srv->sv_conf;
	const char *country = app_json_str(body, "country", 8), *method = app_json_str(body, "method", 16);

	in->ri_terms = app_json_str(body, "terms_version", SID_REG_TERMS_MAX);
	if (in->ri_terms == NULL || strcmp(in->ri_terms, c->c_sid_terms_version) != 0) {
		app_send_error(rq, 400, "terms_not_accepted", "Accept the current terms of the certificates first.",
			json_pack("{s:s}", "terms_version", c->c_sid_terms_version));
		return false;
	}
	if (country == NULL || strcmp(country, "BE") != 0) {
		app_send_error(rq, 400, "unsupported_country", "Only BE is supported.", NULL);
		return false;
	}
	if (method == NULL || strcmp(method, "eid") != 0) {
		app_send_error(rq, 400, "unsupported_method", "Only registration with the ID card (eid).", NULL);
		return false;
	}
	in->ri_lang = app_json_str(body, "language", 8);
	if (!lang_ok(in->ri_lang))
		in->ri_lang = lang_ok(c->c_default_language) ? c->c_default_language : config_languages[0];
	in->ri_name = app_json_str(body, "device_name", SID_REG_NAME_MAX);
	if (in->ri_name == NULL || !oidc_text_readable(in->ri_name, SID_REG_NAME_MAX)) {
		app_send_error(rq, 400, "invalid_request", "device_name: 1 to 64 readable characters", NULL);
		return false;
	}
	in->ri_kid = app_json_str(body, "seal_kid", APP_KID_MAX);
	if (in->ri_kid == NULL) {
		app_send_error(rq, 400, "invalid_request", "seal_kid is missing", NULL);
		return false;
	}
	return true;
}

/* One share: opened and checked at this server's size in the key holder,
 * which seals it at rest for registration `id`. */
static int
reg_share(struct server *srv, json_t *body, struct reg_in *in, const char *id, int i, struct sl_err *err)
{
	const char *use = sid_uses[i], *b64 = app_json_str(body, use, APP_SEALED_BIG_MAX);
	char aad[SID_REG_AAD_MAX];

	if (b64 == NULL)
		return sl_fail(err, SL_EINVAL, "%s: a sealed share is missing", use);
	snprintf(aad, sizeof(aad), "%s%s %s", SID_REG_SHARE_AAD, use, in->ri_jkt);
	in->ri_sealed[i] = sid_share_in(srv, in->ri_kid, b64, aad, id, use, err);
	return in->ri_sealed[i] != NULL ? SL_OK : err->code != SL_OK ? err->code : SL_EINVAL;
}

/* Both shares, checked (no key is made here: reg_keygen.c, at the
 * portal's confirmation).  SL_EINVAL for a share refused; the key
 * holder's SL_EBUSY when it does not answer. */
static int
reg_shares(struct server *srv, json_t *body, struct reg_in *in, const char *id, struct sl_err *err)
{
	int rc = SL_OK;

	for (int i = 0; i < 2 && rc == SL_OK; i++)
		rc = reg_share(srv, body, in, id, i, err);
	return rc == SL_OK || rc == SL_EBUSY || rc == SL_ENOMEM ? rc : SL_EINVAL;
}

/* The composite modulus as base64url. */
static json_t *
reg_modulus(const struct sk_server_key *k)
{
	int len = BN_num_bytes(k->sk_n);
	uint8_t *raw = malloc((size_t)len);
	char *b64 = NULL;
	json_t *o = NULL;

	if (raw != NULL && BN_bn2bin(k->sk_n, raw) == len && (b64 = sl_b64url_encode(raw, (size_t)len)) != NULL)
		o = json_pack("{s:s}", "n", b64);
	free(raw);
	free(b64);
	return o;
}

/* The record (sealed shares, code MAC) stored; the code in `code`. */
static int
reg_store(struct server *srv, const struct reg_in *in, const char *id, char code[PROOF_CODE_SHOWN + 1],
	struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	char norm[PROOF_CODE_LEN + 1], mac[2 * SL_SHA256_LEN + 1], *jwk = app_jwk_public_text(in->ri_jwk);
	char *const *sealed = in->ri_sealed;
	int64_t now = sl_now();
	int rc = jwk ? SL_OK : SL_ENOMEM;

	/* A new code on the rare clash with a live one (40 bits); the key's
	 * clash was looked for before the shares were opened (reg_key_free). */
	for (int tries = 0; rc == SL_OK || (rc == SL_ECONFLICT && tries < 3); tries++) {
		struct store_sid_registration r = { .sr_id = (char *)id,
			.sr_jkt = (char *)in->ri_jkt,
			.sr_transport_jwk = jwk,
			.sr_device_name = (char *)in->ri_name,
			.sr_lang = (char *)in->ri_lang,
			.sr_terms = (char *)in->ri_terms,
			.sr_country = "BE",
			.sr_method = "eid",
			.sr_status = "code",
			.sr_code_hash = mac,
			.sr_auth_share = sealed[0],
			.sr_sign_share = sealed[1],
			.sr_created = now,
			.sr_expires = now + c->c_sid_registration_lifetime };
		if (proof_code_new(code) != SL_OK || proof_code_normalize(code, norm) != SL_OK ||
			sid_code_mac(srv, norm, mac) != SL_OK) {
			rc = sl_fail(err, SL_ECRYPTO, "no registration code");
			break;
		}
		rc = store_sid_registration_put(srv->sv_store, &r);
		if (rc != SL_ECONFLICT)
			break;
	}
	OPENSSL_cleanse(norm, sizeof(norm));
	free(jwk);
	return rc;
}

static void
reg_answer(struct server *srv, struct http_request *rq, const char *id, const char *code)
{
	const struct sl_config *c = srv->sv_conf;
	char portal[512];

	snprintf(portal, sizeof(portal), "%s%s", c->c_issuer, SID_REG_PORTAL);
	http_send_json(rq, 201,
		json_pack("{s:s,s:s,s:s,s:i,s:s}", "registration_id", id, "registration_code", code, "status", "code",
			"expires_in", c->c_sid_registration_lifetime, "portal_url", portal));
}

static bool
reg_rate_ok(struct server *srv, struct http_request *rq)
{
	char ipbuf[SERVER_IP_MAX], addr[96], key[128];

	app_rate_ip_key(server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)), addr, sizeof(addr));
	snprintf(key, sizeof(key), "sr:%s", addr);
	if (app_rate_count(srv, key, srv->sv_conf->c_sid_rate_ip) == SL_OK)
		return true;
	app_send_error(rq, 429, "rate_limited", "Too many registrations from this address; try again later.", NULL);
	return false;
}

/* After the checks: shares, record, answer. */
static void
reg_make(struct server *srv, struct http_request *rq, json_t *body, struct reg_in *in)
{
	struct sl_err err = { 0 };
	char code[PROOF_CODE_SHOWN + 1] = "", *id = sl_random_name(16);
	int rc = id ? reg_shares(srv, body, in, id, &err) : SL_ENOMEM;

	if (rc == SL_EINVAL) {
		app_send_error(rq, 400, "invalid_share", err.msg, NULL);
		free(id);
		return;
	}
	if (rc == SL_OK)
		rc = reg_store(srv, in, id, code, &err);
	if (rc == SL_ECONFLICT) {
		app_send_error(rq, 409, "key_in_use", "This key is already in use; make a new one.", NULL);
	} else if (rc != SL_OK) {
		log_warn("smartid registration: %s", err.msg[0] ? err.msg : sl_strerror(rc));
		app_send_error(rq, 500, "server_error", "The registration could not be stored; try again.", NULL);
	} else {
		sid_reg_audit(srv, rq, "smartid.register", "started", NULL, in->ri_name);
		reg_answer(srv, rq, id, code);
	}
	OPENSSL_cleanse(code, sizeof(code));
	free(id);
}

/* ---- GET /register ---- */

/* {"n"} of the registration's server key of use i (sealed at rest). */
static json_t *
reg_key_modulus(struct server *srv, const struct store_sid_registration *r, int i)
{
	struct sk_server_key k = { 0 };
	struct sl_err err = { 0 };
	json_t *o = NULL;

	if (sid_key_open(srv, r->sr_id, sid_uses[i], i == 0 ? r->sr_auth_sealed : r->sr_sign_sealed, &k, &err) == SL_OK)
		o = reg_modulus(&k);
	else
		log_warn("smartid registration: %s", err.msg);
	sk_server_key_clear(&k);
	return o;
}

/* The answer of GET /register; NULL when the keys cannot be read. */
static json_t *
reg_state(struct server *srv, const struct store_sid_registration *r, int recall_tries)
{
	int64_t left = r->sr_expires > sl_now() ? r->sr_expires - sl_now() : 0;
	json_t *o = json_pack("{s:s,s:I}", "status", r->sr_status, "expires_in", (json_int_t)left);

	if (o != NULL && strcmp(r->sr_status, "confirmed") == 0) {
		json_t *p = r->sr_person ? json_loads(r->sr_person, 0, NULL) : NULL;
		json_object_set_new(o, "person",
			json_pack("{s:s?,s:s?}", "given_name", json_string_value(json_object_get(p, "given_name")),
				"family_name", json_string_value(json_object_get(p, "family_name"))));
		json_decref(p);
		json_object_set_new(o, "challenge", json_string(r->sr_challenge ? r->sr_challenge : ""));
		json_object_set_new(o, "recall_attempts_left",
			json_integer(recall_tries > r->sr_recall_failures ? recall_tries - r->sr_recall_failures : 0));
		for (int i = 0; i < 2; i++) {
			json_t *n = reg_key_modulus(srv, r, i);
			if (n == NULL) {
				json_decref(o);
				return NULL;
			}
			json_object_set_new(o, sid_uses[i], n);
		}
	}
	return o;
}

struct reg_look {
	struct server *rl_srv;
	const char *rl_id;
};

/* Has the registration left "code" (or gone)? */
static bool
reg_moved(void *arg)
{
	struct reg_look *rl = arg;
	struct store_sid_registration r;
	bool moved;

	if (store_sid_registration_get(rl->rl_srv->sv_store, rl->rl_id, &r) != SL_OK)
		return true;
	moved = strcmp(r.sr_status, "code") != 0 || sl_now() >= r.sr_expires ||
		r.sr_code_wrong >= rl->rl_srv->sv_conf->c_sid_code_wrong_max;
	store_sid_registration_clear(&r);
	return moved;
}

/* Park the long-poll until the portal moves the registration on; true
 * when parked (the handler runs again after). */
static bool
reg_wait(struct server *srv, struct http_request *rq, const struct store_sid_registration *r)
{
	const char *wait = http_param(rq, "wait");
	char key[128], *id;
	struct reg_look rl = { srv, r->sr_id };
	int64_t until = r->sr_expires - sl_now(), poll = srv->sv_conf->c_app_poll_timeout;

	if ((wait != NULL && strcmp(wait, "0") == 0) || strcmp(r->sr_status, "code") != 0 ||
		(id = strdup(r->sr_id)) == NULL)
		return false;
	http_set_data(rq, id, free);
	sid_registration_wait_key(r->sr_id, key, sizeof(key));
	return http_wait_recheck(rq, srv->sv_waiters, key, sl_monotonic_ms() + 1000 * (until < poll ? until : poll),
		       reg_moved, &rl) == SL_OK;
}

void
sid_register_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *waited = http_get_data(rq);
	struct store_sid_registration r;

	if (waited != NULL) {
		/* Back from the wait: the proof was checked (and its jti spent) on the first call. */
		if (store_sid_registration_get(srv->sv_store, waited, &r) != SL_OK) {
			app_send_error(
				rq, 410, "registration_expired", "This registration has ended; start again.", NULL);
			return;
		}
	} else if (sid_reg_authenticate(srv, rq, &r) != SL_OK) {
		return;
	}
	if (strcmp(r.sr_status, "code") == 0 && r.sr_code_wrong >= srv->sv_conf->c_sid_code_wrong_max) {
		/* Dead by wrong tries at the portal ([smartid] code_wrong_max):
		 * over for the app as an expired one. */
		app_send_error(rq, 410, "registration_expired",
			"Too many wrong registration codes were typed; start again.", NULL);
	} else if (sid_reg_live(rq, &r) && (waited != NULL || !reg_wait(srv, rq, &r))) {
		json_t *o = reg_state(srv, &r, srv->sv_conf->c_sid_recall_tries);
		if (o != NULL)
			http_send_json(rq, 200, o);
		else
			app_send_error(rq, 500, "server_error", "The registration's keys cannot be read.", NULL);
	}
	store_sid_registration_clear(&r);
}

/* ---- POST /register (and GET, same path) ---- */

void
sid_register_post(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct reg_in in;
	json_t *body;

	if (http_method(rq) != HTTP_POST) {
		sid_register_get(ctx, rq);
		return;
	}
	memset(&in, 0, sizeof(in));
	body = app_json_body(rq);
	if (body == NULL)
		return;
	if (srv->sv_conf->c_pki_dir == NULL)
		app_send_error(rq, 503, "not_available", "Smart-ID registration is not offered here.", NULL);
	else if (reg_proof(srv, rq, body, &in) && reg_fields(srv, rq, body, &in) && reg_key_free(srv, rq, &in) &&
		 reg_rate_ok(srv, rq))
		reg_make(srv, rq, body, &in);
	reg_in_clear(&in);
	json_decref(body);
}
