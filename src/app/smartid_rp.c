/*
 * smartid_rp.c — Smart-ID RP API requests from the phone's side
 * (docs/smart-id.md "Device side"; the published rules are src/sidproto's).
 *
 * An RP API request is checked whole before anything is shown as
 * something to confirm: what the person reads is what the signature
 * binds.  The interactions are decoded from the very Base64 text the RP
 * sent (the ACSP_V2 payload hashes that text), the first one this app
 * supports is shown, and its text must be within its limit and free of
 * control characters.  Where the app can recompute the verification code
 * (v3 notification authentication: of the rpChallenge; v2: of the hash),
 * a server that shows one code and asks for another is refused.  PIN1's
 * key only logs in and PIN2's only signs, so neither a login can be
 * turned into a signature nor the reverse.
 *
 * An ACSP_V2 authentication is signed over the payload's hash built here
 * with a fresh userChallenge (whose verifier goes back to a same-device
 * RP in the callback URL); a RAW_DIGEST_SIGNATURE or v2 request over the
 * RP's digest.  Both use the split-key path of sapp_sid_sign, which keeps
 * the state's lock until the answer was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../sidproto/sidproto.h"
#include "app_int.h"

#define RP_LINK_PATH "/link" /* after /device/v1/smartid */
#define RP_PLACEHOLDER_CHALLENGE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* 43 chars: a trial payload */
#define RP_VC_CODES 10000

/* How a checked request is signed. */
struct rp_sign {
	enum sapp_sid_use rs_use;
	enum sk_padding rs_pad;
	const struct sidp_hash *rs_hash;
	bool rs_acsp; /* ACSP_V2: the payload's hash; else rs_digest */
	uint8_t rs_digest[SAPP_SID_HASH_MAX];
	size_t rs_len;
};

static const char *
member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static bool
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/* Absent or JSON null. */
static bool
nothing(const json_t *o, const char *name)
{
	const json_t *v = json_object_get(o, name);

	return v == NULL || json_is_null(v);
}

/* No control character (C0, DEL) anywhere: an escape sequence could
 * redraw what the person reads. */
/* Shown as it is: no control (C0, C1), bidirectional or invisible
 * character — whatever the server checked (sidp_text_shown_ok). */
static bool
no_controls(const char *s)
{
	return sidp_text_shown_ok(s, strlen(s));
}

bool
sapp_rp_is(const json_t *request)
{
	return json_is_object(json_object_get(request, "rp_api"));
}

/* ---- the check ---- */

/* id, names, action and key, and the session type of rp_api. */
static int
check_top(const json_t *r, const json_t *api, struct sapp_rp_view *v, struct sl_err *err)
{
	static const char *const actions[][3] = { { "login", "auth", "auth" }, { "sign", "sign", "sign" },
		{ "cert", "sign", "cert" } };
	const char *rp = member(r, "rp_name"), *text = member(r, "display_text");

	if (!json_is_object(r) || !sapp_id_ok(member(r, "id")) || !json_is_object(api))
		return sl_fail(err, SL_EINVAL, "the request has no valid id or rp_api");
	if (rp == NULL || rp[0] == '\0' || strlen(rp) > SAPP_RP_NAME_MAX || !no_controls(rp))
		return sl_fail(err, SL_EINVAL, "the request's rp_name is missing, too long or not printable");
	/* The name shown is the name signed (ACSP_V2 binds rp_api's). */
	if (!is(member(api, "rp_name"), rp))
		return sl_fail(err, SL_EINVAL, "the request's rp_name is not its rp_api's");
	if (text != NULL && (strlen(text) > SAPP_RP_TEXT_MAX || !no_controls(text)))
		return sl_fail(err, SL_EINVAL, "the request's display_text is too long or has control characters");
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!is(member(r, "action"), actions[i][0]))
			continue;
		/* PIN1's key logs in and PIN2's signs: never the other way round. */
		if (!is(member(r, "key"), actions[i][1]))
			return sl_fail(err, SL_EINVAL, "the request's key does not match its action");
		if (!is(member(api, "session_type"), actions[i][2]))
			return sl_fail(err, SL_EINVAL, "the request's session_type does not match its action");
		v->rv_action = actions[i][0];
		v->rv_use = i == 2 ? NULL : actions[i][1];
		sl_strlcpy(v->rv_rp_name, rp, sizeof(v->rv_rp_name));
		return SL_OK;
	}
	return sl_fail(err, SL_EINVAL, "the request's action is unknown");
}

/* api, flow type, signature protocol, and for a same-device flow the
 * callback and the secret's digest. */
static int
check_flow(const json_t *api, struct sapp_rp_view *v, bool *v2, struct sl_err *err)
{
	static const char *const flows[] = { "QR", "Web2App", "App2App", "Notification" };
	const char *proto = member(api, "signature_protocol"), *cb = member(api, "initial_callback_url");
	const char *ssd = member(api, "session_secret_digest");

	if (!is(member(api, "api"), "v3") && !is(member(api, "api"), "v2"))
		return sl_fail(err, SL_EINVAL, "the request's rp_api.api is neither v3 nor v2");
	*v2 = is(member(api, "api"), "v2");
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
		if (is(member(api, "flow_type"), flows[i]))
			v->rv_flow = flows[i];
	if (v->rv_flow == NULL || (*v2 && strcmp(v->rv_flow, "Notification") != 0))
		return sl_fail(err, SL_EINVAL, "the request's flow_type is unknown");
	if (v->rv_use == NULL || *v2) {
		if (!nothing(api, "signature_protocol"))
			return sl_fail(err, SL_EINVAL, "the request's signature_protocol is not for its kind");
	} else if (!is(proto, strcmp(v->rv_use, "auth") == 0 ? "ACSP_V2" : "RAW_DIGEST_SIGNATURE")) {
		return sl_fail(err, SL_EINVAL, "the request's signature_protocol is not for its action");
	}
	v->rv_same_device = strcmp(v->rv_flow, "Web2App") == 0 || strcmp(v->rv_flow, "App2App") == 0;
	if (v->rv_same_device && (!sidp_callback_url_ok(cb) || !sidp_user_challenge_ok(ssd)))
		return sl_fail(err, SL_EINVAL, "a same-device request needs its callback URL and secret digest");
	return SL_OK;
}

/* The interactions as sent, with every type this app does not know left
 * out (an RP may offer newer ones first); NULL with err when malformed. */
static json_t *
known_interactions(const json_t *api, bool v2, struct sl_err *err)
{
	const char *b64 = member(api, "interactions");
	json_t *all = NULL, *known, *e;
	uint8_t *raw = NULL;
	size_t len = 0, i;

	if (v2) {
		all = json_incref(json_object_get(api, "interactions_v2"));
	} else if (b64 != NULL && strlen(b64) <= SIDP_INTERACTIONS_B64_MAX &&
		   (raw = sl_b64_decode(b64, strlen(b64), &len)) != NULL) {
		all = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
		free(raw);
	}
	if (!json_is_array(all) || (known = json_array()) == NULL) {
		json_decref(all);
		sl_fail(err, SL_EINVAL, "the request's interactions are not a JSON array (in Base64)");
		return NULL;
	}
	json_array_foreach(all, i, e)
	{
		const char *type = member(e, "type");
		if (type == NULL) {
			json_decref(all);
			json_decref(known);
			sl_fail(err, SL_EINVAL, "an interaction has no type");
			return NULL;
		}
		if (sidp_interaction_type_of(type) != 0)
			json_array_append(known, e);
	}
	json_decref(all);
	return known;
}

/* The first interaction this app supports, in the RP's order: all of
 * v3's and v2's verificationCodeChoice; their texts checked by sidproto
 * with the flow's rules. */
static int
choose_interaction(const json_t *api, bool v2, struct sapp_rp_view *v, struct sl_err *err)
{
	struct sidp_interactions ia;
	enum sidp_flow_rules rules = v2                               ? SIDP_RULES_V2
				     : is(v->rv_flow, "Notification") ? SIDP_RULES_NOTIFICATION
								      : SIDP_RULES_DEVICE_LINK;
	json_t *known;
	int rc;

	v->rv_supported = true;
	if (v->rv_use == NULL && nothing(api, "interactions") && nothing(api, "interactions_v2"))
		return SL_OK; /* a certificate choice shows none */
	if ((known = known_interactions(api, v2, err)) == NULL)
		return SL_EINVAL;
	if (json_array_size(known) == 0) {
		json_decref(known);
		v->rv_supported = false;
		return SL_OK;
	}
	rc = sidp_interactions_parse_json(known, rules, &ia, err);
	json_decref(known);
	if (rc != SL_OK)
		return rc;
	for (size_t i = 0; i < ia.sn; i++)
		if (!no_controls(ia.si[i].si_text))
			return sl_fail(err, SL_EINVAL, "an interaction's text has control characters");
	v->rv_interaction = sidp_interaction_name(ia.si[0].si_type);
	sl_strlcpy(v->rv_text, ia.si[0].si_text, sizeof(v->rv_text));
	v->rv_vc_choice =
		ia.si[0].si_type == SIDP_CONFIRMATION_MESSAGE_AND_VC_CHOICE || ia.si[0].si_type == SIDP_VC_CHOICE;
	return SL_OK;
}

/* Hash algorithm, digest name, padding, and the RP's digest (RAW and v2). */
static int
check_hash(const json_t *r, const json_t *api, bool v2, struct rp_sign *s, struct sl_err *err)
{
	const char *ha = member(api, "hash_algorithm"), *h64 = member(r, "hash");
	uint8_t *raw = NULL;
	size_t len = 0;

	s->rs_hash = ha ? sidp_hash_by_name(ha) : NULL;
	if (s->rs_hash == NULL && v2 && ha != NULL)
		s->rs_hash = sidp_hash_by_v2_name(ha);
	if (s->rs_hash == NULL || !is(member(r, "digest"), s->rs_hash->sh_digest))
		return sl_fail(err, SL_EINVAL, "the request's digest is not its hash_algorithm");
	if (!is(member(r, "padding"), "pss") && !is(member(r, "padding"), "pkcs1"))
		return sl_fail(err, SL_EINVAL, "the request's padding is unknown");
	s->rs_pad = is(member(r, "padding"), "pss") ? SK_PSS : SK_PKCS1;
	if (s->rs_acsp) {
		if (!nothing(r, "hash"))
			return sl_fail(err, SL_EINVAL, "an ACSP_V2 request carries no hash: the app makes it");
		return SL_OK;
	}
	if (h64 != NULL && strlen(h64) <= (size_t)2 * SAPP_SID_HASH_MAX)
		raw = sl_b64url_decode(h64, strlen(h64), &len);
	if (raw == NULL || len != s->rs_hash->sh_len) {
		free(raw);
		return sl_fail(err, SL_EINVAL, "the request's hash is not of its hash_algorithm");
	}
	memcpy(s->rs_digest, raw, len);
	s->rs_len = len;
	free(raw);
	return SL_OK;
}

/* The ACSP_V2 fields of `api` with this userChallenge and interaction. */
static void
acsp_of(const json_t *api, const char *user_challenge, const char *interaction, struct sidp_acsp *a)
{
	*a = (struct sidp_acsp){ member(api, "scheme"), member(api, "server_random"), member(api, "rp_challenge"),
		user_challenge, member(api, "rp_name"), member(api, "brokered_rp_name"), member(api, "interactions"),
		interaction, member(api, "initial_callback_url"), member(api, "flow_type") };
	if (a->sa_brokered_rp_name == NULL)
		a->sa_brokered_rp_name = "";
	if (a->sa_callback_url == NULL)
		a->sa_callback_url = "";
}

/* The code to show, recomputed where the docs say; `vc` 4 digits or null. */
static int
check_vc(const json_t *r, const json_t *api, bool v2, const struct rp_sign *s, struct sapp_rp_view *v,
	struct sl_err *err)
{
	const char *vc = member(r, "verification_code"), *ch = member(api, "rp_challenge");
	bool note = is(v->rv_flow, "Notification");
	uint8_t *raw = NULL;
	size_t len = 0;
	char mine[SIDP_VC_LEN + 1] = "";

	if (vc == NULL) {
		if (!nothing(r, "verification_code"))
			return sl_fail(err, SL_EINVAL, "the request's verification code is not a string");
		if (note && v->rv_use != NULL)
			return sl_fail(err, SL_EINVAL, "a notification request without its verification code");
		if (v->rv_vc_choice)
			return sl_fail(err, SL_EINVAL, "a verification-code choice without a code");
		return SL_OK;
	}
	if (!note || strlen(vc) != SIDP_VC_LEN || strspn(vc, "0123456789") != SIDP_VC_LEN)
		return sl_fail(err, SL_EINVAL, "the request's verification code is not 4 digits of a notification");
	if (v2 && v->rv_use != NULL) { /* the code of the hash signed (a certificate choice signs none) */
		sidp_vc_of(s->rs_digest, s->rs_len, mine);
	} else if (s->rs_acsp) {
		if (ch != NULL && strlen(ch) <= (size_t)2 * SIDP_RP_CHALLENGE_MAX)
			raw = sl_b64_decode(ch, strlen(ch), &len);
		if (raw == NULL || len < SIDP_RP_CHALLENGE_MIN || len > SIDP_RP_CHALLENGE_MAX) {
			free(raw);
			return sl_fail(err, SL_EINVAL, "the request's rp_challenge is not 32 to 64 bytes of Base64");
		}
		sidp_vc_of(raw, len, mine);
		free(raw);
	}
	if (mine[0] != '\0' && strcmp(mine, vc) != 0)
		return sl_fail(err, SL_EINVAL, "the request's verification code is not its challenge's: not signed");
	sl_strlcpy(v->rv_vc, vc, sizeof(v->rv_vc));
	return SL_OK;
}

static int
rp_check(const json_t *r, struct sapp_rp_view *v, struct rp_sign *s, struct sl_err *err)
{
	const json_t *api = json_object_get(r, "rp_api");
	uint8_t trial[SAPP_SID_HASH_MAX];
	struct sidp_acsp a;
	size_t len;
	bool v2 = false;
	int rc;

	memset(v, 0, sizeof(*v));
	memset(s, 0, sizeof(*s));
	if ((rc = check_top(r, api, v, err)) != SL_OK || (rc = check_flow(api, v, &v2, err)) != SL_OK ||
		(rc = choose_interaction(api, v2, v, err)) != SL_OK)
		return rc;
	if (v->rv_use != NULL) {
		s->rs_use = strcmp(v->rv_use, "sign") == 0 ? SAPP_SID_SIGN : SAPP_SID_AUTH;
		s->rs_acsp = !v2 && s->rs_use == SAPP_SID_AUTH;
		if ((rc = check_hash(r, api, v2, s, err)) != SL_OK)
			return rc;
	}
	if ((rc = check_vc(r, api, v2, s, v, err)) != SL_OK)
		return rc;
	if (!s->rs_acsp || !v->rv_supported)
		return SL_OK;
	/* Every field of the payload, before a PIN is asked. */
	acsp_of(api, RP_PLACEHOLDER_CHALLENGE, v->rv_interaction, &a);
	return sidp_acsp_digest(&a, s->rs_hash, trial, &len, err);
}

int
sapp_rp_check(const json_t *request, struct sapp_rp_view *out, struct sl_err *err)
{
	struct rp_sign s;
	int rc = rp_check(request, out, &s, err);

	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

int
sapp_rp_choices(const char *vc, char out[SAPP_RP_CHOICES][5], struct sl_err *err)
{
	char other[SAPP_RP_CHOICES - 1][8];
	uint32_t x, right;
	int n = 0;

	if (vc == NULL || strlen(vc) != SIDP_VC_LEN || strspn(vc, "0123456789") != SIDP_VC_LEN)
		return sl_fail(err, SL_EINVAL, "a verification code is 4 digits");
	/* Two other codes, distinct from it and from each other. */
	while (n < SAPP_RP_CHOICES - 1) {
		if (sl_random_uniform(RP_VC_CODES, &x) != SL_OK)
			return sl_fail(err, SL_ECRYPTO, "no random numbers");
		snprintf(other[n], sizeof(other[n]), "%04u", (unsigned int)x);
		if (strcmp(other[n], vc) != 0 && (n == 0 || strcmp(other[n], other[0]) != 0))
			n++;
	}
	if (sl_random_uniform(SAPP_RP_CHOICES, &right) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "no random numbers");
	for (int i = 0, j = 0; i < SAPP_RP_CHOICES; i++)
		sl_strlcpy(out[i], (uint32_t)i == right ? vc : other[j++], 5);
	return SL_OK;
}

/* ---- answers ---- */

static int
rp_answer(struct sapp *app, const json_t *request, json_t *body, json_t **out, struct sl_err *err)
{
	char path[SAPP_ID_MAX + 16];
	long status;

	if (body == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "/requests/%s", member(request, "id"));
	return sapp_sid_call(app, "POST", path, body, 0, &status, out, err);
}

int
sapp_rp_refuse(struct sapp *app, const json_t *request, const char *reason, json_t **out, struct sl_err *err)
{
	static const char *const reasons[] = { "refused", "wrong_vc", "interaction", "cert_choice", "not_supported" };
	struct sapp_rp_view v;
	struct sl_err ignored = { 0 };
	bool known = false;
	json_t *body;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		known = known || is(reason, reasons[i]);
	if (!known)
		return sl_fail(err, SL_EINVAL,
			"a refusal's reason is refused, wrong_vc, interaction, cert_choice or "
			"not_supported");
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	if (!json_is_object(request) || !sapp_id_ok(member(request, "id")))
		return sl_fail(err, SL_EINVAL, "the request has no valid id");
	/* A request that does not add up may still be refused: without the
	 * interaction then. */
	if (sapp_rp_check(request, &v, &ignored) != SL_OK)
		v.rv_interaction = NULL;
	body = json_pack("{s:s, s:s}", "decision", "refuse", "reason", reason);
	if (body != NULL && v.rv_interaction != NULL)
		json_object_set_new(body, "interaction", json_string(v.rv_interaction));
	rc = rp_answer(app, request, body, out, err);
	json_decref(body);
	return rc;
}

int
sapp_rp_callback(const json_t *request, const char *verifier, char **out, struct sl_err *err)
{
	const json_t *api = json_object_get(request, "rp_api");
	const char *cb = member(api, "initial_callback_url"), *ssd = member(api, "session_secret_digest");
	const char *flow = member(api, "flow_type");
	size_t size;

	*out = NULL;
	if (!is(flow, "Web2App") && !is(flow, "App2App"))
		return sl_fail(err, SL_EINVAL, "only a same-device request has a callback URL");
	if (!sidp_callback_url_ok(cb) || !sidp_user_challenge_ok(ssd) ||
		(verifier != NULL && !sidp_user_challenge_ok(verifier)))
		return sl_fail(err, SL_EINVAL, "the request's callback URL or secret digest is malformed");
	size = strlen(cb) + (size_t)2 * SIDP_USER_CHALLENGE_LEN + 64;
	if ((*out = malloc(size)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	snprintf(*out, size, "%s%csessionSecretDigest=%s%s%s", cb, strchr(cb, '?') ? '&' : '?', ssd,
		verifier ? "&userChallengeVerifier=" : "", verifier ? verifier : "");
	return SL_OK;
}

/* The hash a checked request is signed over (ACSP_V2: the payload's with
 * this userChallenge and the interaction shown; else the RP's). */
static int
rp_digest(const json_t *r, const struct sapp_rp_view *v, const struct rp_sign *s, const char *user_challenge,
	uint8_t out[SAPP_SID_HASH_MAX], size_t *len, struct sl_err *err)
{
	struct sidp_acsp a;

	if (!s->rs_acsp) {
		memcpy(out, s->rs_digest, s->rs_len);
		*len = s->rs_len;
		return SL_OK;
	}
	acsp_of(json_object_get(r, "rp_api"), user_challenge, v->rv_interaction, &a);
	return sidp_acsp_digest(&a, s->rs_hash, out, len, err);
}

int
sapp_rp_digest(const json_t *request, const char *user_challenge, uint8_t out[SAPP_SID_HASH_MAX], size_t *len,
	struct sl_err *err)
{
	struct sapp_rp_view v;
	struct rp_sign s;
	int rc;

	if ((rc = rp_check(request, &v, &s, err)) == SL_OK && (v.rv_use == NULL || !v.rv_supported))
		rc = sl_fail(err, SL_EINVAL, "the request is not signed");
	if (rc == SL_OK && s.rs_acsp && !sidp_user_challenge_ok(user_challenge))
		rc = sl_fail(err, SL_EINVAL, "a userChallenge is 43 characters of Base64URL");
	if (rc == SL_OK)
		rc = rp_digest(request, &v, &s, user_challenge, out, len, err);
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

/* The confirmation's body: for a signature, the app's half sealed (the
 * state's lock is then held: the caller releases it once sent). */
static json_t *
confirm_body(struct sapp *app, const json_t *r, const struct sapp_rp_view *v, const struct rp_sign *s, const char *pin,
	const char *user_challenge, struct sl_err *err)
{
	uint8_t h[SAPP_SID_HASH_MAX], spub[P256_PUB_LEN];
	char kid[SEAL_KID_MAX], *part = NULL, *em = NULL;
	struct sapp_sid_sig sig;
	size_t len = 0;
	uint64_t version = 0;
	json_t *cfg = NULL, *body;

	body = json_pack("{s:s}", "decision", "confirm");
	/* A certificate choice offers none: the app showed a confirmation,
	 * which the RP reads as interactionTypeUsed (mandatory with OK). */
	if (body != NULL)
		json_object_set_new(body, "interaction",
			json_string(v->rv_interaction ? v->rv_interaction : "confirmationMessage"));
	if (body == NULL || v->rv_use == NULL)
		return body ? body : (sl_fail(err, SL_ENOMEM, "out of memory"), NULL);
	if (s->rs_acsp)
		json_object_set_new(body, "user_challenge", json_string(user_challenge));
	if (s->rs_hash == NULL) { /* rp_check set it for every signed request */
		sl_fail(err, SL_EINVAL, "the request has no hash algorithm");
		goto fail;
	}
	if (rp_digest(r, v, s, user_challenge, h, &len, err) != SL_OK || sapp_sid_config(app, &cfg, err) != SL_OK ||
		sapp_seal_key_of(json_object_get(cfg, "seal_keys"), kid, spub, err) != SL_OK)
		goto fail;
	sig = (struct sapp_sid_sig){ s->rs_use, pin, s->rs_pad, s->rs_hash->sh_digest, h, len, kid, spub,
		member(r, "id") };
	if (sapp_sid_sign_em(app, &sig, &version, &part, s->rs_pad == SK_PSS ? &em : NULL, err) != SL_OK)
		goto fail;
	json_object_set_new(body, "seal_kid", json_string(kid));
	json_object_set_new(body, "version", json_integer((json_int_t)version));
	json_object_set_new(body, "part", json_string(part));
	if (em != NULL)
		json_object_set_new(body, "em", json_string(em));
	free(part);
	free(em);
	json_decref(cfg);
	return body;
fail:
	json_decref(cfg);
	json_decref(body);
	return NULL;
}

/* The pick of a verification-code choice: a wrong one ends the session. */
static int
check_pick(struct sapp *app, const json_t *r, const struct sapp_rp_view *v, const char *picked, json_t **out,
	struct sl_err *err)
{
	int rc;

	if (!v->rv_vc_choice)
		return SL_OK;
	if (picked == NULL || strlen(picked) != SIDP_VC_LEN)
		return sl_fail(err, SL_EINVAL, "this request asks the person to pick its verification code");
	if (sl_ct_streq(picked, v->rv_vc))
		return SL_OK;
	if ((rc = sapp_rp_refuse(app, r, "wrong_vc", out, err)) != SL_OK)
		return rc;
	return sl_fail(err, SL_EDENIED, "wrong_vc: the code picked is not the request's; it was refused");
}

int
sapp_rp_confirm(struct sapp *app, const json_t *request, const char *picked, const char *pin, json_t **out,
	char **callback, struct sl_err *err)
{
	char verifier[SIDP_USER_CHALLENGE_LEN + 1] = "", uc[SIDP_USER_CHALLENGE_LEN + 1] = "";
	struct sapp_rp_view v;
	struct rp_sign s;
	json_t *body;
	int rc;

	*out = NULL;
	if (callback != NULL)
		*callback = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK || (rc = rp_check(request, &v, &s, err)) != SL_OK)
		goto out;
	if (!v.rv_supported) {
		rc = sl_fail(err, SL_EINVAL, "the request offers no interaction this app supports: refuse it");
		goto out;
	}
	if ((rc = check_pick(app, request, &v, picked, out, err)) != SL_OK)
		goto out;
	if (v.rv_use != NULL && !sapp_sid_pin_ok(v.rv_use, pin)) {
		rc = sl_fail(err, SL_EINVAL, "%s is %d to %d digits", s.rs_use == SAPP_SID_SIGN ? "PIN2" : "PIN1",
			s.rs_use == SAPP_SID_SIGN ? SK_PIN2_MIN : SK_PIN1_MIN, SK_PIN_MAX);
		goto out;
	}
	if (s.rs_acsp && (rc = sidp_user_challenge_new(verifier, uc)) != SL_OK) {
		rc = sl_fail(err, rc, "no random numbers for the userChallenge");
		goto out;
	}
	if ((body = confirm_body(app, request, &v, &s, pin, uc, err)) == NULL) {
		rc = err && err->code ? err->code : SL_ERR;
		goto out;
	}
	rc = rp_answer(app, request, body, out, err);
	json_decref(body);
	if (rc == SL_OK && callback != NULL && v.rv_same_device)
		rc = sapp_rp_callback(request, s.rs_acsp ? verifier : NULL, callback, err);
out:
	sapp_release(app); /* held since the signature: its answer was sent (or nothing will be) */
	OPENSSL_cleanse(verifier, sizeof(verifier));
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

/* ---- device links ---- */

/* Is the link's base on this app's server (its URL, then "/")? */
static bool
base_is_ours(const struct sapp *app, const char *base)
{
	const char *srv = sapp_server(app);
	size_t n = strlen(srv);

	while (n > 0 && srv[n - 1] == '/')
		n--;
	return n > 0 && strncmp(base, srv, n) == 0 && base[n] == '/';
}

/* The request a claim opened must be of the link's kind. */
static int
claimed_ok(const json_t *request, const struct sidp_link_parsed *p, struct sl_err *err)
{
	const json_t *api = json_object_get(request, "rp_api");

	if (!json_is_object(request) || !json_is_object(api))
		return sl_fail(err, SL_EINVAL, "the server's answer has no RP API request");
	if (!is(member(api, "session_type"), p->sp_link.sl_session_type) ||
		!is(member(api, "flow_type"), sidp_link_type_name(p->sp_link.sl_type)))
		return sl_fail(err, SL_EINVAL, "the request is not of the link's session or flow type");
	return SL_OK;
}

int
sapp_sid_link_claim(struct sapp *app, const char *link, json_t **request, struct sl_err *err)
{
	struct sidp_link_parsed p = { 0 };
	json_t *body = NULL, *ans = NULL;
	long status;
	int rc;

	*request = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	if (link == NULL || (rc = sidp_link_parse(link, &p, err)) != SL_OK)
		return link == NULL ? sl_fail(err, SL_EINVAL, "no link") : rc;
	if (!base_is_ours(app, p.sp_link.sl_base)) {
		rc = sl_fail(
			err, SL_EDENIED, "the link is not for this app's server (%s): not opened", sapp_server(app));
		goto out;
	}
	if ((body = json_pack("{s:s}", "link", link)) == NULL) {
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sapp_sid_call(app, "POST", RP_LINK_PATH, body, 0, &status, &ans, err)) != SL_OK)
		goto out;
	if ((rc = claimed_ok(json_object_get(ans, "request"), &p, err)) == SL_OK)
		*request = json_incref(json_object_get(ans, "request"));
out:
	json_decref(body);
	json_decref(ans);
	sidp_link_parsed_clear(&p);
	return rc;
}
