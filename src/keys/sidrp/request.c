/*
 * request.c — the person's part of an RP API session: one ordinary
 * Smart-ID signing request (store_sid_request, link_kind SIDRP_LINK_KIND,
 * link_id = the session id) answered on the device API like a portal
 * login (docs/smart-id.md "Device side").
 *
 * The request carries what the device shows (display_text: the first
 * interaction's text; verification_code) and, in sq_extra, the "rp_api"
 * object the device needs to build and sign the ACSP_V2 payload itself
 * (the server rebuilds the same payload from the same fields when the
 * answer comes: answer.c).  What the split-key signature is over:
 *   auth, ACSP_V2          no hash: the payload's hash, known only once
 *                          the device sends its userChallenge;
 *   sign (RAW_DIGEST), v2  the RP's digest, b64url;
 *   cert (choice)          nothing is signed: the person only confirms.
 *
 * A notification session's request is made at creation (create.c), for
 * all the account's devices, or one (a document number); a device-link
 * session's at the claim (link.c), for the claiming device only.  Either
 * way the session records it with store_sid_session_claim(), which takes
 * it once: a second claim loses, and its request is failed again at once.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../splitkey/sid_login_int.h"
#include "sidrp_int.h"

#define CERT_TEXT_MAX 256 /* bytes of a certificate choice's display text */

/* ---- the session's request, read back ---- */

static const char *
str_or(json_t *o, const char *name, const char *dflt)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* ss_params as parse.c's sidrp_req_to_json() writes it (its comment
 * lists the members). */
int
sidrp_params_load(const struct store_sid_session *s, struct sidrp_params *p, struct sl_err *err)
{
	json_t *v, *ign;
	bool cert = s->ss_type != NULL && strcmp(s->ss_type, "cert") == 0;

	memset(p, 0, sizeof(*p));
	p->pa_json = s->ss_params ? json_loads(s->ss_params, 0, NULL) : NULL;
	if (!json_is_object(p->pa_json))
		return sl_fail(err, SL_EINVAL, "the session has no request");
	v = json_object_get(p->pa_json, "api");
	p->pa_api = json_is_integer(v) && json_integer_value(v) == 2 ? 2 : 3;
	p->pa_rp_name = str_or(p->pa_json, "rp_name", NULL);
	p->pa_brokered = "";
	p->pa_protocol = str_or(p->pa_json, "protocol", NULL);
	p->pa_callback = str_or(p->pa_json, "callback", "");
	p->pa_interactions_b64 = str_or(p->pa_json, "interactions", NULL);
	v = json_object_get(p->pa_json, "interactions_v2");
	p->pa_interactions_v2 = json_is_array(v) ? v : NULL;
	p->pa_hash = sidp_hash_by_name(str_or(p->pa_json, "hash", "SHA-512"));
	p->pa_pss = json_is_true(json_object_get(p->pa_json, "pss")) || cert;
	ign = json_object_get(p->pa_json, "ignored");
	p->pa_ignored = json_is_array(ign) && json_array_size(ign) > 0 ? ign : NULL;
	p->pa_challenge = str_or(p->pa_json,
		s->ss_type && strcmp(s->ss_type, "auth") == 0 && p->pa_api == 3 ? "rp_challenge" : "digest", NULL);
	if (p->pa_rp_name == NULL || p->pa_hash == NULL)
		return sl_fail(err, SL_EINVAL, "the session's request has no relyingPartyName or hash");
	if (cert)
		return SL_OK;
	if (p->pa_challenge == NULL)
		return sl_fail(err, SL_EINVAL, "the session's request has no challenge or digest");
	if (p->pa_interactions_v2 != NULL)
		return sidp_interactions_parse_json(p->pa_interactions_v2, SIDP_RULES_V2, &p->pa_inter, err);
	if (p->pa_interactions_b64 == NULL)
		return sl_fail(err, SL_EINVAL, "the session's request has no interactions");
	return sidp_interactions_parse_b64(p->pa_interactions_b64, SIDP_RULES_NOTIFICATION, &p->pa_inter, err);
}

void
sidrp_params_clear(struct sidrp_params *p)
{
	json_decref(p->pa_json);
	memset(p, 0, sizeof(*p));
}

enum sidp_flow_rules
sidrp_rules(int api, const char *flow_type)
{
	if (api == 2)
		return SIDP_RULES_V2;
	return flow_type && strcmp(flow_type, "Notification") == 0 ? SIDP_RULES_NOTIFICATION : SIDP_RULES_DEVICE_LINK;
}

void
sidrp_device_link_base(const struct server *srv, char *out, size_t len)
{
	const char *conf = srv->sv_conf->c_sid_device_link_base;

	if (!sl_str_empty(conf))
		snprintf(out, len, "%s", conf);
	else
		snprintf(out, len, "%s%s", srv->sv_conf->c_issuer, SIDRP_DEVICE_LINK_PAGE);
}

/* ---- the request's fields ---- */

struct made {
	char *md_id, *md_nonce, *md_hash, *md_extra;
	char md_display[SID_DISPLAY_MAX + 1];
	char md_vc[SIDP_VC_LEN + 1];
	bool md_has_vc;
};

static void
made_clear(struct made *m)
{
	free(m->md_id);
	free(m->md_nonce);
	free(m->md_hash);
	free(m->md_extra);
}

/* The RP's digest (b64 as sent) as b64url; "" for ACSP_V2 and a choice. */
static int
hash_of(const struct store_sid_session *s, const struct sidrp_params *p, struct made *m)
{
	uint8_t *raw;
	size_t len = 0;

	if (strcmp(s->ss_type, "cert") == 0 || (p->pa_protocol && strcmp(p->pa_protocol, "ACSP_V2") == 0)) {
		m->md_hash = strdup(""); /* nothing the server was given to sign */
		return m->md_hash ? SL_OK : SL_ENOMEM;
	}
	raw = sl_b64_decode(p->pa_challenge, strlen(p->pa_challenge), &len);
	if (raw == NULL || len != p->pa_hash->sh_len) {
		free(raw);
		return SL_EINVAL;
	}
	m->md_hash = sl_b64url_encode(raw, len);
	free(raw);
	return m->md_hash ? SL_OK : SL_ENOMEM;
}

/* The code the phone shows: notification flows only (device links bind
 * by the link itself).  The session's own (signing: random), else the
 * published rule over the decoded rpChallenge (v3) or hash (v2). */
static void
vc_of(const struct store_sid_session *s, const struct sidrp_params *p, const char *flow_type, struct made *m)
{
	uint8_t *raw;
	size_t len = 0;

	if (strcmp(flow_type, "Notification") != 0 || strcmp(s->ss_type, "cert") == 0)
		return;
	if (s->ss_vc != NULL && strlen(s->ss_vc) == SIDP_VC_LEN) {
		memcpy(m->md_vc, s->ss_vc, SIDP_VC_LEN + 1);
		m->md_has_vc = true;
		return;
	}
	if (p->pa_challenge == NULL)
		return;
	raw = sl_b64_decode(p->pa_challenge, strlen(p->pa_challenge), &len);
	if (raw != NULL) {
		sidp_vc_of(raw, len, m->md_vc);
		m->md_has_vc = true;
	}
	free(raw);
}

/* sessionSecretDigest for a same-device flow's callback: the secret
 * opened from rest; NULL for QR and notification flows. */
static char *
secret_digest(struct server *srv, const struct store_sid_session *s, const char *flow_type)
{
	char aad[SIDRP_UUID_LEN + 32], *out = NULL;
	uint8_t *secret = NULL;
	size_t len = 0;
	struct sl_err err = { 0 };

	if (s->ss_secret == NULL || (strcmp(flow_type, "Web2App") != 0 && strcmp(flow_type, "App2App") != 0))
		return NULL;
	snprintf(aad, sizeof(aad), "sidrp-secret %s", s->ss_id);
	if (app_rest_open_bytes(srv, aad, s->ss_secret, &secret, &len, &err) == SL_OK) {
		out = calloc(1, SIDP_USER_CHALLENGE_LEN + 1);
		if (out != NULL)
			sidp_secret_digest(secret, len, out);
		OPENSSL_cleanse(secret, len);
	}
	free(secret);
	return out;
}

/* docs/smart-id.md "The request object of an RP API request": rp_api. */
static int
extra_of(struct server *srv, const struct store_sid_session *s, const struct sidrp_params *p, const char *flow_type,
	struct made *m)
{
	bool acsp = p->pa_protocol && strcmp(p->pa_protocol, "ACSP_V2") == 0;
	char *digest = secret_digest(srv, s, flow_type);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s?,s:s?,s:s,s:s,s:s?,s:s,s:s}", "api",
		p->pa_api == 2 ? "v2" : "v3", "session_type", s->ss_type, "flow_type", flow_type, "signature_protocol",
		p->pa_protocol, "scheme", srv->sv_conf->c_sid_scheme_name, "server_random", s->ss_server_random,
		"rp_challenge", acsp ? p->pa_challenge : NULL, "rp_name", p->pa_rp_name, "brokered_rp_name",
		p->pa_brokered, "interactions", p->pa_interactions_b64, "initial_callback_url", p->pa_callback,
		"hash_algorithm", p->pa_hash->sh_name);

	if (o != NULL && p->pa_interactions_v2 != NULL)
		json_object_set(o, "interactions_v2", p->pa_interactions_v2);
	if (o != NULL && digest != NULL)
		json_object_set_new(o, "session_secret_digest", json_string(digest));
	if (o != NULL && p->pa_ignored != NULL)
		json_object_set(o, "ignored_properties", p->pa_ignored);
	free(digest);
	m->md_extra = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return m->md_extra ? SL_OK : SL_ENOMEM;
}

/* What the phone shows above the PIN: the RP's first interaction, or for
 * a certificate choice a short text (the app words it in its language). */
static void
display_of(const struct store_sid_session *s, const struct sidrp_params *p, struct made *m)
{
	if (strcmp(s->ss_type, "cert") == 0 || p->pa_inter.sn == 0)
		snprintf(m->md_display, sizeof(m->md_display), "Choose your certificate for %s", p->pa_rp_name);
	else
		sl_strlcpy(m->md_display, p->pa_inter.si[0].si_text, sizeof(m->md_display));
}

static int
make_fields(struct server *srv, const struct store_sid_session *s, const struct sidrp_params *p, const char *flow_type,
	struct made *m)
{
	int rc;

	if (p->pa_hash == NULL || p->pa_rp_name == NULL)
		return SL_EINVAL;
	m->md_id = sl_random_name(16);
	m->md_nonce = sl_random_id(SID_NONCE_BYTES);
	if (m->md_id == NULL || m->md_nonce == NULL)
		return SL_ECRYPTO;
	rc = hash_of(s, p, m);
	if (rc == SL_OK)
		rc = extra_of(srv, s, p, flow_type, m);
	vc_of(s, p, flow_type, m);
	display_of(s, p, m);
	return rc;
}

/* ---- stored, recorded, woken ---- */

static int
store_request(struct server *srv, const struct store_sid_session *s, const struct sidrp_params *p,
	const char *account_id, const char *device_id, struct made *m)
{
	bool auth = strcmp(s->ss_type, "auth") == 0;
	struct store_sid_request r = {
		.sq_id = m->md_id,
		.sq_account_id = (char *)account_id,
		.sq_client_id = s->ss_rp_uuid,
		.sq_rp_name = (char *)p->pa_rp_name,
		.sq_action = (char *)(auth ? "login" : s->ss_type),
		.sq_key_use = (char *)(auth ? STORE_SID_KEY_AUTH : STORE_SID_KEY_SIGN),
		.sq_display_text = m->md_display,
		.sq_nonce = m->md_nonce,
		.sq_hash = m->md_hash,
		.sq_digest = (char *)p->pa_hash->sh_digest,
		.sq_padding = (char *)(p->pa_pss ? "pss" : "pkcs1"),
		.sq_vc = m->md_has_vc ? m->md_vc : NULL,
		.sq_link_kind = (char *)SIDRP_LINK_KIND,
		.sq_link_id = s->ss_id,
		.sq_ip = s->ss_ip,
		.sq_status = (char *)"pending",
		.sq_device_only = (char *)device_id,
		.sq_extra = m->md_extra,
		.sq_created = sl_now(),
		.sq_expires = s->ss_expires,
	};

	return store_sid_request_put_bounded(srv->sv_store, &r, srv->sv_conf->c_sid_max_pending);
}

/* The RP's earlier requests to this account still pending (at most a few:
 * [smartid] max_pending), collected to be superseded. */
struct older {
	const char *ol_rp;
	size_t ol_n;
	char ol_ids[SIDRP_SUPERSEDE_MAX][APP_ID_MAX + 1];
	char ol_sessions[SIDRP_SUPERSEDE_MAX][APP_ID_MAX + 1];
};

static int
older_one(const struct store_sid_request *r, void *arg)
{
	struct older *o = arg;

	if (o->ol_n < SIDRP_SUPERSEDE_MAX && sidrp_is_rp_request(r) && strcmp(r->sq_client_id, o->ol_rp) == 0) {
		sl_strlcpy(o->ol_ids[o->ol_n], r->sq_id, sizeof(o->ol_ids[0]));
		sl_strlcpy(o->ol_sessions[o->ol_n], r->sq_link_id, sizeof(o->ol_sessions[0]));
		o->ol_n++;
	}
	return 0;
}

/* One pending request per RP and person (review 10, finding 4): the RP's
 * new session supersedes its older one for this account, which fails and
 * ends TIMEOUT — so an RP that keeps starting sessions holds one of the
 * account's [smartid] max_pending places, never all of them, and the
 * portal's logins and other RPs keep theirs. */
static void
supersede_older(struct server *srv, const struct store_sid_session *s, const char *account_id)
{
	struct older o = { .ol_rp = s->ss_rp_uuid };

	store_sid_request_each_pending(srv->sv_store, account_id, sl_now(), older_one, &o);
	for (size_t i = 0; i < o.ol_n; i++)
		if (store_sid_request_finish(srv->sv_store, o.ol_ids[i], "failed", NULL, NULL, sl_now()) == SL_OK)
			sidrp_session_end(srv, o.ol_sessions[i], "TIMEOUT", NULL);
}

int
sidrp_request_make(struct server *srv, const struct store_sid_session *s, const char *account_id, const char *device_id,
	const char *flow_type, char *request_id, struct sl_err *err)
{
	struct sidrp_params p;
	struct made m = { 0 };
	char key[128];
	int rc;

	request_id[0] = '\0';
	rc = sidrp_params_load(s, &p, err);
	if (rc == SL_OK && (rc = make_fields(srv, s, &p, flow_type, &m)) != SL_OK)
		sl_fail(err, rc, "the session's request could not be made");
	if (rc == SL_OK) {
		supersede_older(srv, s, account_id);
		rc = store_request(srv, s, &p, account_id, device_id, &m);
		if (rc == SL_EBUSY)
			sl_fail(err, rc, "too many requests are waiting on this Smart-ID");
		else if (rc != SL_OK)
			rc = sl_fail(err, SL_ESTORE, "the request could not be stored");
	}
	if (rc == SL_OK) {
		rc = store_sid_session_claim(srv->sv_store, s->ss_id, account_id, m.md_id, sl_now());
		if (rc != SL_OK) {
			/* Another device took the session first (or it ended): this
			 * request is nobody's. */
			store_sid_request_finish(srv->sv_store, m.md_id, "failed", NULL, NULL, sl_now());
			rc = sl_fail(err,
				rc == SL_ECONFLICT  ? SL_ECONFLICT
				: rc == SL_EEXPIRED ? SL_EEXPIRED
						    : SL_ESTORE,
				"the session was already taken or is over");
		}
	}
	if (rc != SL_OK && rc != SL_EBUSY && rc != SL_ECONFLICT)
		log_warn("smartid rp session %s: no request: %s", s->ss_id, err->msg);
	if (rc == SL_OK) {
		sl_strlcpy(request_id, m.md_id, APP_ID_MAX + 1);
		sid_account_wait_key(account_id, key, sizeof(key));
		server_wake(srv, key);
	}
	made_clear(&m);
	sidrp_params_clear(&p);
	return rc;
}
