/*
 * register.c — the registration half's route table (docs/smartid-api.md
 * "POST /register" ... and the portal's /smartid/register pages), GET
 * /config, and the small pieces the registration files share: the
 * registration's proof, the server keys through the key holder, the code
 * MAC.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "sid_reg_int.h"
#include "../app/app.h"
#include "../../keyholder/keyholder.h"

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

/* ---- the server keys, through the key holder (hold_sk.c) ----
 * This process holds them only sealed at rest (b64url, as stored); the
 * key holder opens, uses, re-seals and wipes them. */

#define SK_CALL_FIELDS 6

struct sk_req {
	const void *sr_p[SK_CALL_FIELDS];
	size_t sr_len[SK_CALL_FIELDS];
	size_t sr_n;
};

static void
sk_req_add(struct sk_req *r, const void *p, size_t len)
{
	r->sr_p[r->sr_n] = p;
	r->sr_len[r->sr_n++] = len;
}

/* One split-key op: the request's fields, the answer in *ans (malloc'd,
 * *anslen bytes; the caller parses it). */
static int
sk_call(struct server *srv, uint16_t op, const char *kid, const struct sk_req *r, uint8_t **ans, size_t *anslen,
	struct sl_err *err)
{
	uint8_t *buf = malloc(KH_PAYLOAD_MAX);
	size_t len = 0;
	int rc = buf ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");

	for (size_t i = 0; rc == SL_OK && i < r->sr_n; i++)
		if (kh_field_put(buf, &len, r->sr_p[i], r->sr_len[i]) != SL_OK)
			rc = sl_fail(err, SL_ETOOBIG, "a split-key request larger than %d bytes", KH_PAYLOAD_MAX);
	if (rc == SL_OK)
		rc = keyholder_call(srv->sv_kh, op, kid, buf, len, ans, anslen, err);
	free(buf);
	return rc;
}

/* b64url text into raw bytes for a request (free()). */
static uint8_t *
sk_raw(const char *b64, size_t *len, struct sl_err *err)
{
	uint8_t *raw = b64 ? sl_b64url_decode(b64, strlen(b64), len) : NULL;

	if (raw == NULL)
		sl_fail(err, SL_EINVAL, "a sealed key that is not base64url");
	return raw;
}

/* The answer's fields: n of them, each up to KH_PAYLOAD_MAX bytes. */
static int
sk_answer(const uint8_t *ans, size_t len, size_t n, struct kh_field *f, struct sl_err *err)
{
	static const size_t max[SK_CALL_FIELDS] = { KH_PAYLOAD_MAX, KH_PAYLOAD_MAX, KH_PAYLOAD_MAX, KH_PAYLOAD_MAX,
		KH_PAYLOAD_MAX, KH_PAYLOAD_MAX };

	return kh_fields_get(ans, len, n, max, NULL, f, err);
}

static char *
sk_b64(const struct kh_field *f, struct sl_err *err)
{
	char *b64 = sl_b64url_encode(f->kf_p, f->kf_len);

	if (b64 == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return b64;
}

static uint64_t
sk_version_of(const struct kh_field *f)
{
	uint64_t v = 0;

	for (size_t i = 0; i < f->kf_len; i++)
		v = v << 8 | f->kf_p[i];
	return v;
}

/* An op of (aad in, sealed, aad out) answering (sealed, ...): the first
 * answer field as b64url. */
static char *
sk_transform(struct server *srv, uint16_t op, const char *kid, const char *aad_in, const char *sealed,
	const char *aad_out, size_t nans, struct kh_field *rest, struct sl_err *err)
{
	struct sk_req r = { .sr_n = 0 };
	struct kh_field f[2];
	uint8_t *raw, *ans = NULL;
	size_t rawlen = 0, anslen = 0;
	char *out = NULL;

	if ((raw = sk_raw(sealed, &rawlen, err)) == NULL)
		return NULL;
	sk_req_add(&r, aad_in, strlen(aad_in));
	sk_req_add(&r, raw, rawlen);
	sk_req_add(&r, aad_out, strlen(aad_out));
	if (sk_call(srv, op, kid, &r, &ans, &anslen, err) == SL_OK && sk_answer(ans, anslen, nans, f, err) == SL_OK &&
		(out = sk_b64(&f[0], err)) != NULL && rest != NULL && nans > 1) {
		/* kept for the caller: copy, the answer buffer goes */
		uint8_t *copy = malloc(f[1].kf_len ? f[1].kf_len : 1);
		if (copy == NULL) {
			free(out);
			out = NULL;
			sl_fail(err, SL_ENOMEM, "out of memory");
		} else {
			memcpy(copy, f[1].kf_p, f[1].kf_len);
			*rest = (struct kh_field){ .kf_p = copy, .kf_len = f[1].kf_len };
		}
	}
	free(raw);
	free(ans);
	return out;
}

int
sid_key_open(struct server *srv, const char *owner, const char *use, const char *sealed, struct sk_server_key *key,
	struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX];
	struct sk_req r = { .sr_n = 0 };
	struct kh_field f[3];
	uint8_t *raw, *ans = NULL;
	size_t rawlen = 0, anslen = 0;
	int rc;

	memset(key, 0, sizeof(*key));
	sid_key_aad(owner, use, aad, sizeof(aad));
	if ((raw = sk_raw(sealed, &rawlen, err)) == NULL)
		return SL_EINVAL;
	sk_req_add(&r, aad, strlen(aad));
	sk_req_add(&r, raw, rawlen);
	rc = sk_call(srv, KH_OP_SK_OPEN, NULL, &r, &ans, &anslen, err);
	if (rc == SL_OK)
		rc = sk_answer(ans, anslen, 3, f, err);
	if (rc == SL_OK && f[2].kf_len != 8)
		rc = sl_fail(err, SL_EINVAL, "the key holder's version is not 8 bytes");
	if (rc == SL_OK) {
		key->sk_n1 = BN_bin2bn(f[0].kf_p, (int)f[0].kf_len, NULL);
		key->sk_n = BN_bin2bn(f[1].kf_p, (int)f[1].kf_len, NULL);
		key->sk_version = sk_version_of(&f[2]);
		key->sk_w = BN_num_bits(key->sk_n1) + SK_SHARE_EXTRA_BITS;
		if (key->sk_n1 == NULL || key->sk_n == NULL)
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
	}
	if (rc != SL_OK)
		sk_server_key_clear(key);
	free(raw);
	free(ans);
	return rc;
}

int
sid_key_complete(struct server *srv, const char *owner, const char *use, const char *sealed, const uint8_t *em,
	size_t emlen, uint64_t version, const uint8_t *part, size_t partlen, struct sid_completion *out,
	struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX];
	uint8_t vb[8], *raw, *ans = NULL;
	struct sk_req r = { .sr_n = 0 };
	struct kh_field f[3];
	size_t rawlen = 0, anslen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->sc_verdict = SK_ERROR;
	sid_key_aad(owner, use, aad, sizeof(aad));
	for (int i = 0; i < 8; i++)
		vb[i] = (uint8_t)(version >> (56 - 8 * i));
	if ((raw = sk_raw(sealed, &rawlen, err)) == NULL)
		return SL_EINVAL;
	sk_req_add(&r, aad, strlen(aad));
	sk_req_add(&r, raw, rawlen);
	sk_req_add(&r, aad, strlen(aad));
	sk_req_add(&r, em, emlen);
	sk_req_add(&r, vb, sizeof(vb));
	sk_req_add(&r, part, partlen);
	rc = sk_call(srv, KH_OP_SK_COMPLETE, NULL, &r, &ans, &anslen, err);
	if (rc == SL_OK && (anslen < 1 || ans[0] > SK_ERROR))
		rc = sl_fail(err, SL_EINVAL, "the key holder's verdict is malformed");
	if (rc == SL_OK && ans[0] == SK_OK && (rc = sk_answer(ans + 1, anslen - 1, 3, f, err)) == SL_OK) {
		out->sc_sig = malloc(f[0].kf_len ? f[0].kf_len : 1);
		out->sc_siglen = f[0].kf_len;
		out->sc_sealed = sk_b64(&f[1], err);
		out->sc_version = sk_version_of(&f[2]);
		if (out->sc_sig == NULL || out->sc_sealed == NULL)
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
		else
			memcpy(out->sc_sig, f[0].kf_p, f[0].kf_len);
	} else if (rc == SL_OK && anslen != 1) {
		rc = sl_fail(err, SL_EINVAL, "the key holder's verdict is malformed");
	}
	if (rc == SL_OK)
		out->sc_verdict = (enum sk_verdict)ans[0];
	else
		sid_completion_clear(out);
	free(raw);
	free(ans);
	return rc;
}

void
sid_completion_clear(struct sid_completion *c)
{
	free(c->sc_sig);
	free(c->sc_sealed);
	memset(c, 0, sizeof(*c));
	c->sc_verdict = SK_ERROR;
}

char *
sid_key_reseal(
	struct server *srv, const char *from, const char *use, const char *sealed, const char *to, struct sl_err *err)
{
	char in[SID_REG_AAD_MAX], out[SID_REG_AAD_MAX];

	sid_key_aad(from, use, in, sizeof(in));
	sid_key_aad(to, use, out, sizeof(out));
	return sk_transform(srv, KH_OP_SK_RESEAL, NULL, in, sealed, out, 1, NULL, err);
}

/* "<registration id> <use> share": never a server key's AAD. */
static void
share_aad(const char *registration_id, const char *use, char *out, size_t len)
{
	snprintf(out, len, "%s %s share", registration_id, use);
}

char *
sid_share_in(struct server *srv, const char *kid, const char *sealed, const char *app_aad, const char *registration_id,
	const char *use, struct sl_err *err)
{
	char aad[SID_REG_AAD_MAX];

	if (kid == NULL || !kh_kid_ok(kid, strlen(kid)) || kid[0] == '\0')
		return sl_fail(err, SL_EINVAL, "unknown seal_kid"), NULL;
	share_aad(registration_id, use, aad, sizeof(aad));
	return sk_transform(srv, KH_OP_SK_SHARE, kid, app_aad, sealed, aad, 1, NULL, err);
}

char *
sid_key_make(
	struct server *srv, const char *registration_id, const char *use, const char *sealed_share, struct sl_err *err)
{
	char in[SID_REG_AAD_MAX], out[SID_REG_AAD_MAX];
	struct kh_field n = { 0 };
	char *sealed;

	share_aad(registration_id, use, in, sizeof(in));
	sid_key_aad(registration_id, use, out, sizeof(out));
	sealed = sk_transform(srv, KH_OP_SK_KEYGEN, NULL, in, sealed_share, out, 2, &n, err);
	free((void *)n.kf_p); /* the modulus: GET /register reads it with sid_key_open */
	return sealed;
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
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}
