/*
 * register.c — the registration half's route table (docs/smartid-api.md
 * "POST /register" ... and the portal's /smartid/register pages), GET
 * /config, and the small pieces the registration files share: the
 * registration's proof, the at-rest sealing of server keys, the code MAC.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sid_reg_int.h"
#include "../app/app.h"

#define P HTTP_ORIGIN_PORTAL
#define GET (HTTP_GET | HTTP_HEAD)
#define POST HTTP_POST
#define GP (HTTP_GET | HTTP_HEAD | HTTP_POST)
#define API HTTP_KIND_API
#define PAGE HTTP_KIND_PAGE

const struct http_route sid_register_routes[] = {
	{ SID_DEVICE_BASE "/config", GET, P, false, API, sid_config_get },
	{ SID_DEVICE_BASE "/register", GP, P, false, API, sid_register_post },
	{ SID_DEVICE_BASE "/register/finish", POST, P, false, API, sid_register_finish },
	{ SID_REG_PORTAL, GET, P, false, PAGE, sid_portal_intro },
	{ SID_REG_PORTAL "/login", GET, P, false, PAGE, sid_portal_login },
	{ SID_REG_PORTAL "/return", GET, P, false, PAGE, sid_portal_return },
	{ SID_REG_PORTAL "/questions", GP, P, false, PAGE, sid_portal_questions },
	{ SID_REG_PORTAL "/code", GP, P, false, PAGE, sid_portal_code },
	{ SID_REG_PORTAL "/confirm", GP, P, false, PAGE, sid_portal_confirm },
};
const size_t sid_register_nroutes = sizeof(sid_register_routes) / sizeof(sid_register_routes[0]);

const char *const sid_uses[2] = { STORE_SID_KEY_AUTH, STORE_SID_KEY_SIGN };

void
sid_config_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const struct sl_config *c = srv->sv_conf;
	char portal[512];

	snprintf(portal, sizeof(portal), "%s%s", c->c_issuer, SID_REG_PORTAL);
	http_send_json(rq, 200,
		json_pack("{s:i,s:i,s:i,s:i,s:s,s:[s],s:[s],s:i,s:s,s:i,s:o}", "key_bits", c->c_sid_key_bits,
			"pin1_min", SK_PIN1_MIN, "pin2_min", SK_PIN2_MIN, "pin_max", SK_PIN_MAX, "terms_version",
			c->c_sid_terms_version, "countries", "BE", "methods", "eid", "registration_lifetime",
			c->c_sid_registration_lifetime, "portal_url", portal, "poll_timeout", c->c_app_poll_timeout,
			"seal_keys", app_keys_public(srv)));
}

void
sid_key_aad(const char *owner_id, const char *use, char *out, size_t len)
{
	snprintf(out, len, "%s %s", owner_id, use);
}

int
sid_code_mac(struct server *srv, const char *code, char out[2 * SL_SHA256_LEN + 1])
{
	char msg[64];
	uint8_t mac[SL_SHA256_LEN];
	int n = snprintf(msg, sizeof(msg), "smartid-registration:%s", code), rc;

	if (n < 0 || (size_t)n >= sizeof(msg))
		return SL_EINVAL;
	rc = crypto_hmac_sha256(srv->sv_sms_key, sizeof(srv->sv_sms_key), (const uint8_t *)msg, (size_t)n, mac);
	if (rc == SL_OK)
		sl_hex(mac, sizeof(mac), out);
	OPENSSL_cleanse(msg, sizeof(msg));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
sid_reg_authenticate(struct server *srv, struct http_request *rq, struct store_sid_registration *out)
{
	char jkt[APP_JKT_LEN + 1];
	struct sl_err err = { 0 };
	struct app_proof pr;
	json_t *jwk;
	int rc;

	memset(out, 0, sizeof(*out));
	if (app_proof_kid(http_header(rq, "DPoP"), jkt) != SL_OK) {
		app_send_invalid_proof(rq, "no DPoP proof with a key id");
		return SL_EDENIED;
	}
	rc = store_sid_registration_by_jkt(srv->sv_store, jkt, out);
	if (rc != SL_OK) {
		if (rc == SL_ENOTFOUND)
			app_send_invalid_proof(rq, "no registration for this key");
		else
			app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		return SL_EDENIED;
	}
	jwk = json_loads(out->sr_transport_jwk, 0, NULL);
	rc = jwk ? app_proof_check(srv, rq, jwk, &pr, &err) : sl_fail(&err, SL_EINVAL, "bad stored key");
	json_decref(jwk);
	if (rc != SL_OK) {
		app_send_invalid_proof(rq, err.msg);
		store_sid_registration_clear(out);
		return SL_EDENIED;
	}
	return SL_OK;
}

bool
sid_reg_live(struct http_request *rq, const struct store_sid_registration *r)
{
	if (sl_now() >= r->sr_expires) {
		app_send_error(rq, 410, "registration_expired", "This registration has expired; start again.", NULL);
		return false;
	}
	return true;
}

/* The JSON text sealed at rest under `aad`, NUL-terminated in *text
 * (OPENSSL_clear_free(*text, strlen + 1)). */
static int
rest_open_text(struct server *srv, const char *aad, const char *sealed, char **text, struct sl_err *err)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	int rc = app_rest_open_bytes(srv, aad, sealed, &plain, &len, err);

	*text = NULL;
	if (rc != SL_OK)
		return rc;
	if ((*text = malloc(len + 1)) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	else {
		memcpy(*text, plain, len);
		(*text)[len] = '\0';
	}
	OPENSSL_clear_free(plain, len);
	return rc;
}

/* JSON text sealed at rest under `aad`; the text is wiped and freed. */
static char *
rest_seal_text(struct server *srv, const char *aad, char *text, struct sl_err *err)
{
	char *sealed;

	if (text == NULL) {
		sl_fail(err, SL_ENOMEM, "cannot serialise the key");
		return NULL;
	}
	sealed = app_rest_seal_bytes(srv, aad, (const uint8_t *)text, strlen(text), err);
	OPENSSL_clear_free(text, strlen(text) + 1);
	return sealed;
}

int
sid_key_open(struct server *srv, const char *owner, const char *use, const char *sealed, struct sk_server_key *key,
	struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX], *text = NULL;
	int rc;

	memset(key, 0, sizeof(*key));
	sid_key_aad(owner, use, aad, sizeof(aad));
	if ((rc = rest_open_text(srv, aad, sealed, &text, err)) != SL_OK)
		return rc;
	rc = sk_server_key_from_json(text, key, err);
	OPENSSL_clear_free(text, strlen(text) + 1);
	return rc;
}

char *
sid_key_seal(
	struct server *srv, const char *owner, const char *use, const struct sk_server_key *key, struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX];

	sid_key_aad(owner, use, aad, sizeof(aad));
	return rest_seal_text(srv, aad, sk_server_key_to_json(key), err);
}

/* "<registration id> <use> share": never a server key's AAD. */
static void
share_aad(const char *registration_id, const char *use, char *out, size_t len)
{
	snprintf(out, len, "%s %s share", registration_id, use);
}

int
sid_share_open(struct server *srv, const char *registration_id, const char *use, const char *sealed,
	struct sk_server_key *share, struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX], *text = NULL;
	struct sk_params p;
	int rc;

	memset(share, 0, sizeof(*share));
	share_aad(registration_id, use, aad, sizeof(aad));
	if ((rc = rest_open_text(srv, aad, sealed, &text, err)) != SL_OK)
		return rc;
	sid_params(srv, &p);
	rc = sk_share_from_json(text, &p, share, err);
	OPENSSL_clear_free(text, strlen(text) + 1);
	return rc;
}

char *
sid_share_seal(struct server *srv, const char *registration_id, const char *use, const struct sk_server_key *share,
	struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX];

	share_aad(registration_id, use, aad, sizeof(aad));
	return rest_seal_text(srv, aad, sk_share_to_json(share), err);
}

void
sid_reg_audit(struct server *srv, struct http_request *rq, const char *event, const char *result, const char *person_id,
	const char *detail)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = event,
		.au_result = result,
		.au_person_id = person_id,
		.au_key = SID_KEY_NAME,
		.au_ip = server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)),
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}
