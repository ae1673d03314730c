/*
 * create.c — making an RP API session (docs/smart-id.md, docs/config.md
 * [smartid] rp_*):
 *
 *   1. idempotency: the same RP, path and body within [smartid]
 *      rp_idempotency seconds answers the same session again (the same
 *      sessionSecret, unsealed), so an RP that retries after a lost
 *      answer does not start a second session on the person's phone;
 *   2. the person: an etsi identifier names an active account with an
 *      active device, a document number an active device of an active
 *      account (else 404; v2 472 for an account that is not active), and
 *      a certificateLevel above [smartid] certificate_level finds no
 *      suitable account (404 NO_SUITABLE_ACCOUNT_FOUND; v2 471);
 *   3. the secrets: sessionID a v4 UUID, sessionSecret 32 CSPRNG bytes
 *      (sealed at rest, aad "sidrp-secret <id>"), sessionToken 24
 *      alphanumerics (device-link flows), serverRandom (ACSP_V2), the
 *      verification code;
 *   4. the row, bounded by [smartid] rp_max_running per RP (429);
 *   5. notification flows: the person's signing request at once
 *      (sidrp_request_make; SL_EBUSY 429, anything else SERVER_ERROR and
 *      503).  Device-link flows make theirs when a device claims the link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sidrp_int.h"
#include "../../crypto/crypto.h"
#include "../app/app.h"

#define TOKEN_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define AAD_MAX 80 /* "sidrp-secret <uuid>" */

/* Standard Base64 with padding of `len` bytes into `out` (4 * ceil(len/3) + 1). */
static void
b64_std(const uint8_t *data, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

const char *
sidrp_type_word(enum sidrp_type t)
{
	return t == SIDRP_AUTH ? "auth" : t == SIDRP_SIGN ? "sign" : "cert";
}

enum sidrp_level
sidrp_configured_level(struct server *srv)
{
	const char *l = srv->sv_conf->c_sid_certificate_level;

	return l == NULL                    ? SIDRP_QUALIFIED
	       : strcmp(l, "ADVANCED") == 0 ? SIDRP_ADVANCED
	       : strcmp(l, "QSCD") == 0     ? SIDRP_QSCD
					    : SIDRP_QUALIFIED;
}

static int
uuid_v4(char out[SIDRP_UUID_LEN + 1])
{
	uint8_t b[16];
	char hex[33];

	if (sl_random(b, sizeof(b)) != SL_OK)
		return SL_ECRYPTO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	sl_hex(b, sizeof(b), hex);
	snprintf(out, SIDRP_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return SL_OK;
}

static int
token_new(char out[SIDP_TOKEN_LEN + 1])
{
	uint32_t v;

	for (int i = 0; i < SIDP_TOKEN_LEN; i++) {
		if (sl_random_uniform(sizeof(TOKEN_ALPHABET) - 1, &v) != SL_OK)
			return SL_ECRYPTO;
		out[i] = TOKEN_ALPHABET[v];
	}
	out[SIDP_TOKEN_LEN] = '\0';
	return SL_OK;
}

/* b64url(SHA-256(rp uuid NUL path NUL body)). */
static int
idem_key(const char *rp_uuid, const char *path, const uint8_t *body, size_t len, char **out)
{
	size_t ul = strlen(rp_uuid) + 1, pl = strlen(path) + 1;
	uint8_t *buf = malloc(ul + pl + len + 1), h[SL_SHA256_LEN];

	if (buf == NULL)
		return SL_ENOMEM;
	memcpy(buf, rp_uuid, ul);
	memcpy(buf + ul, path, pl);
	if (len > 0)
		memcpy(buf + ul + pl, body, len);
	crypto_sha256(buf, ul + pl + len, h);
	free(buf);
	*out = sl_b64url_encode(h, sizeof(h));
	return *out ? SL_OK : SL_ENOMEM;
}

/* The person's account (and device, for a document number) of a
 * targeted request; the 404 / 471 / 472 sent otherwise. */
struct target {
	struct store_sid_account tg_account;
	struct store_sid_device tg_device;
};

static int
no_account(struct http_request *rq, const struct sidrp_req *r, bool inactive)
{
	if (r->sr_api == 2 && inactive)
		sidrp_fail(rq, 472, NULL, NULL, "Person should view Smart-ID app or Smart-ID self-service portal now");
	else
		sidrp_fail(rq, 404, NULL, NULL, "Not Found");
	return SL_ENOTFOUND;
}

static int
target_find(struct server *srv, struct http_request *rq, const struct sidrp_req *r, struct target *t)
{
	struct store *st = srv->sv_store;
	int n = 0, rc;

	if (r->sr_target == SIDRP_ETSI) {
		if ((rc = store_sid_account_by_rrn(st, r->sr_target_value, &t->tg_account)) != SL_OK)
			return rc == SL_ENOTFOUND ? no_account(rq, r, false) : rc;
		if (store_sid_device_count_active(st, t->tg_account.sa_id, &n) != SL_OK)
			return SL_ESTORE;
		if (n == 0)
			return no_account(rq, r, false);
	} else {
		if ((rc = store_sid_device_by_document(st, r->sr_target_value, &t->tg_device)) != SL_OK)
			return rc == SL_ENOTFOUND ? no_account(rq, r, false) : rc;
		if (strcmp(t->tg_device.sd_status, "active") != 0)
			return no_account(rq, r, false);
		if ((rc = store_sid_account_get(st, t->tg_device.sd_account_id, &t->tg_account)) != SL_OK)
			return rc == SL_ENOTFOUND ? no_account(rq, r, false) : rc;
	}
	if (strcmp(t->tg_account.sa_status, "active") != 0)
		return no_account(rq, r, true);
	return SL_OK;
}

static int
level_ok(struct server *srv, struct http_request *rq, const struct sidrp_req *r)
{
	if (r->sr_level <= sidrp_configured_level(srv))
		return SL_OK;
	if (r->sr_api == 2)
		sidrp_fail(rq, 471, NULL, NULL,
			"No suitable account of requested type found, but user has some other "
			"accounts");
	else
		sidrp_fail(rq, 404, "NO_SUITABLE_ACCOUNT_FOUND", NULL,
			"No suitable account of requested type found, but user has some other accounts");
	return SL_ENOTFOUND;
}

/* notification/linked: linkedSessionID is this RP's device-link
 * certificate choice, COMPLETE OK with the same document number. */
static int
linked_ok(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const struct store_sid_rp *rp)
{
	struct store_sid_session s;
	json_t *res = NULL, *result;
	bool ok = false;

	if (store_sid_session_get(srv->sv_store, r->sr_linked_session, &s) != SL_OK)
		goto out;
	ok = strcmp(s.ss_rp_uuid, rp->sp_uuid) == 0 && strcmp(s.ss_type, "cert") == 0 &&
	     strcmp(s.ss_flow, "device-link") == 0 && strcmp(s.ss_state, "COMPLETE") == 0 && s.ss_result != NULL &&
	     (res = json_loads(s.ss_result, 0, NULL)) != NULL;
	result = json_object_get(res, "result");
	ok = ok && json_is_string(json_object_get(result, "endResult")) &&
	     strcmp(json_string_value(json_object_get(result, "endResult")), "OK") == 0 &&
	     json_is_string(json_object_get(result, "documentNumber")) &&
	     strcmp(json_string_value(json_object_get(result, "documentNumber")), r->sr_target_value) == 0;
	json_decref(res);
	store_sid_session_clear(&s);
out:
	if (!ok)
		sidrp_fail(rq, 400, NULL, "linkedSessionID",
			"linkedSessionID must be a completed certificate choice of this document");
	return ok ? SL_OK : SL_EINVAL;
}

/* The verification code of a notification flow, or "" for none. */
static int
vc_make(const struct sidrp_req *r, char vc[SIDP_VC_LEN + 1])
{
	const char *src = r->sr_api == 2 ? r->sr_digest : r->sr_type == SIDRP_AUTH ? r->sr_rp_challenge : NULL;
	uint8_t *raw;
	size_t len;

	vc[0] = '\0';
	if (r->sr_flow != SIDRP_NOTIFICATION || r->sr_type == SIDRP_CERT_CHOICE)
		return SL_OK;
	if (src == NULL)
		return sidp_vc_random(vc);
	if ((raw = sl_b64_decode(src, strlen(src), &len)) == NULL)
		return SL_EINVAL;
	sidp_vc_of(raw, len, vc);
	free(raw);
	return SL_OK;
}

/* The secrets of a new session: id, token + sealed secret (device-link),
 * serverRandom (ACSP_V2), verification code. */
struct secrets {
	char se_id[SIDRP_UUID_LEN + 1];
	char se_token[SIDP_TOKEN_LEN + 1];
	uint8_t se_secret[SIDP_SECRET_BYTES];
	char se_random[SIDP_SERVER_RANDOM_BYTES * 2];
	char se_vc[SIDP_VC_LEN + 1];
	char *se_sealed;
};

static int
secrets_make(struct server *srv, const struct sidrp_req *r, struct secrets *se, struct sidrp_created *out)
{
	uint8_t rnd[SIDP_SERVER_RANDOM_BYTES];
	char aad[AAD_MAX];
	struct sl_err err;

	memset(se, 0, sizeof(*se));
	if (uuid_v4(se->se_id) != SL_OK || vc_make(r, se->se_vc) != SL_OK)
		return SL_ECRYPTO;
	if (r->sr_protocol != NULL && strcmp(r->sr_protocol, "ACSP_V2") == 0) {
		if (sl_random(rnd, sizeof(rnd)) != SL_OK)
			return SL_ECRYPTO;
		b64_std(rnd, sizeof(rnd), se->se_random);
	}
	if (r->sr_flow != SIDRP_DEVICE_LINK)
		return SL_OK;
	if (token_new(se->se_token) != SL_OK || sl_random(se->se_secret, sizeof(se->se_secret)) != SL_OK)
		return SL_ECRYPTO;
	snprintf(aad, sizeof(aad), "sidrp-secret %s", se->se_id);
	se->se_sealed = app_rest_seal_bytes(srv, aad, se->se_secret, sizeof(se->se_secret), &err);
	if (se->se_sealed != NULL)
		b64_std(se->se_secret, sizeof(se->se_secret), out->sc_secret);
	/* the plain secret lives on only in the answer (cleansed by the caller) */
	OPENSSL_cleanse(se->se_secret, sizeof(se->se_secret));
	return se->se_sealed != NULL ? SL_OK : SL_ECRYPTO;
}

static const char *
target_kind(enum sidrp_target t)
{
	return t == SIDRP_ETSI ? "etsi" : t == SIDRP_DOCUMENT ? "document" : "anonymous";
}

/* The row of a new session into out->sc_session (owned copies). */
static int
session_fill(struct server *srv, const struct sidrp_req *r, const struct secrets *se, const char *account_id,
	const char *idem, const char *rp_uuid, const char *ip, struct store_sid_session *s)
{
	json_t *params = sidrp_req_to_json(r);
	int64_t now = sl_now();

	memset(s, 0, sizeof(*s));
	s->ss_id = sl_strdup(se->se_id);
	s->ss_rp_uuid = sl_strdup(rp_uuid);
	s->ss_api = sl_strdup(r->sr_api == 2 ? "v2" : "v3");
	s->ss_type = sl_strdup(sidrp_type_word(r->sr_type));
	s->ss_flow = sl_strdup(r->sr_flow == SIDRP_DEVICE_LINK ? "device-link" : "notification");
	s->ss_target_kind = sl_strdup(target_kind(r->sr_target));
	s->ss_target = r->sr_target == SIDRP_ANONYMOUS ? NULL : sl_strdup(r->sr_target_value);
	s->ss_account_id = sl_strdup(account_id);
	s->ss_params = params ? json_dumps(params, JSON_COMPACT) : NULL;
	s->ss_token = se->se_token[0] ? sl_strdup(se->se_token) : NULL;
	s->ss_secret = sl_strdup(se->se_sealed);
	s->ss_server_random = se->se_random[0] ? sl_strdup(se->se_random) : NULL;
	s->ss_vc = se->se_vc[0] ? sl_strdup(se->se_vc) : NULL;
	s->ss_idem = sl_strdup(idem);
	s->ss_ip = sl_strdup(ip);
	s->ss_state = sl_strdup("RUNNING");
	s->ss_created = now;
	s->ss_expires = now + srv->sv_conf->c_sid_rp_session_lifetime;
	s->ss_keep_until = s->ss_expires + srv->sv_conf->c_sid_rp_result_keep;
	json_decref(params);
	return s->ss_id && s->ss_params && s->ss_idem && s->ss_state ? SL_OK : SL_ENOMEM;
}

static void
link_base(struct server *srv, char *out, size_t len)
{
	if (!sl_str_empty(srv->sv_conf->c_sid_device_link_base))
		sl_strlcpy(out, srv->sv_conf->c_sid_device_link_base, len);
	else
		snprintf(out, len, "%s%s", srv->sv_conf->c_issuer, SIDRP_DEVICE_LINK_PAGE);
}

/* Plain secret bytes from app_rest_open_bytes (malloc'ed), cleansed. */
static void
secret_free(uint8_t *plain, size_t len)
{
	if (plain != NULL)
		OPENSSL_cleanse(plain, len);
	free(plain);
}

/* An earlier identical request's session, within the window: SL_OK with
 * out filled (the secret unsealed).  A notification session without its
 * request (its creation failed) does not count. */
static int
idem_find(struct server *srv, const char *idem, struct sidrp_created *out)
{
	struct store_sid_session *s = &out->sc_session;
	char aad[AAD_MAX];
	uint8_t *plain = NULL;
	size_t plen = 0;
	struct sl_err err;
	int window = srv->sv_conf->c_sid_rp_idempotency;

	if (window <= 0 || store_sid_session_by_idem(srv->sv_store, idem, sl_now() - window, s) != SL_OK)
		return SL_ENOTFOUND;
	if (strcmp(s->ss_flow, "notification") == 0 && s->ss_request_id == NULL)
		goto miss;
	if (s->ss_secret != NULL) {
		snprintf(aad, sizeof(aad), "sidrp-secret %s", s->ss_id);
		if (app_rest_open_bytes(srv, aad, s->ss_secret, &plain, &plen, &err) != SL_OK ||
			plen != SIDP_SECRET_BYTES)
			goto miss;
		b64_std(plain, plen, out->sc_secret);
		secret_free(plain, plen);
	}
	return SL_OK;
miss:
	/* opened but of the wrong length: still the secret's bytes */
	secret_free(plain, plen);
	store_sid_session_clear(s);
	return SL_ENOTFOUND;
}

/* The row stored (rp_max_running), and the notification request made. */
static int
session_start(struct server *srv, struct http_request *rq, const struct sidrp_req *r, struct store_sid_session *s,
	const char *device_id)
{
	char request_id[APP_ID_MAX + 1];
	struct sl_err err;
	int rc = store_sid_session_put(srv->sv_store, s, srv->sv_conf->c_sid_rp_max_running);

	if (rc == SL_EBUSY) {
		sidrp_fail(rq, 429, NULL, NULL, "Too many sessions are running for this relying party");
		return rc;
	}
	if (rc != SL_OK) {
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		return rc;
	}
	if (r->sr_flow == SIDRP_DEVICE_LINK)
		return SL_OK;
	rc = sidrp_request_make(srv, s, s->ss_account_id, device_id, "Notification", request_id, &err);
	if (rc == SL_OK) {
		free(s->ss_request_id);
		s->ss_request_id = sl_strdup(request_id);
		return SL_OK;
	}
	sidrp_session_end(srv, s->ss_id, "SERVER_ERROR", NULL);
	if (rc == SL_EBUSY)
		sidrp_fail(rq, 429, NULL, NULL, "The person has too many requests waiting");
	else
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
	return rc;
}

/* Who the session is for: the account (and device) of a target. */
static int
session_for(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const struct store_sid_rp *rp,
	struct target *t)
{
	int rc;

	if (r->sr_flow == SIDRP_LINKED && (rc = linked_ok(srv, rq, r, rp)) != SL_OK)
		return rc;
	if (r->sr_target != SIDRP_ANONYMOUS && (rc = target_find(srv, rq, r, t)) != SL_OK) {
		if (rc != SL_ENOTFOUND)
			sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		return rc;
	}
	return level_ok(srv, rq, r);
}

int
sidrp_session_create(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *path,
	const uint8_t *body, size_t len, const struct store_sid_rp *rp, const char *ip, struct sidrp_created *out)
{
	struct target t;
	struct secrets se;
	char *idem = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	memset(&se, 0, sizeof(se));
	link_base(srv, out->sc_link_base, sizeof(out->sc_link_base));
	if ((rc = idem_key(rp->sp_uuid, path, body, len, &idem)) != SL_OK) {
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		return rc;
	}
	if (idem_find(srv, idem, out) == SL_OK) {
		free(idem);
		return SL_OK;
	}
	if ((rc = session_for(srv, rq, r, rp, &t)) != SL_OK)
		goto done;
	if ((rc = secrets_make(srv, r, &se, out)) != SL_OK || (rc = session_fill(srv, r, &se, t.tg_account.sa_id, idem,
								       rp->sp_uuid, ip, &out->sc_session)) != SL_OK) {
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		goto done;
	}
	rc = session_start(srv, rq, r, &out->sc_session, r->sr_target == SIDRP_DOCUMENT ? t.tg_device.sd_id : NULL);
	if (rc == SL_OK)
		sidrp_audit(srv, "sidrp.session", sidrp_type_word(r->sr_type), rp->sp_uuid, ip, out->sc_session.ss_id);
done:
	if (rc != SL_OK) {
		store_sid_session_clear(&out->sc_session);
		OPENSSL_cleanse(out->sc_secret, sizeof(out->sc_secret));
	}
	free(se.se_sealed);
	free(idem);
	store_sid_account_clear(&t.tg_account);
	store_sid_device_clear(&t.tg_device);
	return rc;
}
