/*
 * smartid_reg.c — Smart-ID registration from the phone's side
 * (docs/smartid-api.md): both split keys made under PIN1 and PIN2, the
 * server's shares sealed and POSTed with a new transport key, the wait
 * for the portal's confirmation, and the recall check that proves both
 * PINs are remembered.  Also the pieces every Smart-ID call shares: the
 * call itself, loading a key, one split-key signature, forgetting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "app_int.h"

#define SID_TERMS_MAX 64 /* bytes of a terms version */
#define SID_PEEK 5 /* seconds a look at the registration (?wait=0) may take */
#define SID_RECALL_TAG "sleutel smartid recall v1"
#define SID_CHALLENGE_LEN 32

int
sapp_sid_call(struct sapp *app, const char *method, const char *path, json_t *body, int timeout, long *status,
	json_t **out, struct sl_err *err)
{
	char full[SAPP_ID_MAX + 96];
	bool proof = strcmp(path, "/config") != 0;

	if ((size_t)snprintf(full, sizeof(full), "/smartid%s", path) >= sizeof(full))
		return sl_fail(err, SL_EINVAL, "bad Smart-ID path");
	return sapp_call_as(app, &app->sa_sid_tk, method, full, body, proof, timeout, status, out, err);
}

int
sapp_sid_config(struct sapp *app, json_t **out, struct sl_err *err)
{
	long status;

	return sapp_sid_call(app, "GET", "/config", NULL, 0, &status, out, err);
}

int
sapp_sid_key_load(const struct sapp *app, enum sapp_sid_use use, struct sk_device_key *dev, struct sl_err *err)
{
	return sk_device_key_from_json(app->sa_st.st_sid.ss_keys[use].sk_device, dev, err);
}

int
sapp_sid_forget(struct sapp *app, struct sl_err *err)
{
	OPENSSL_cleanse(&app->sa_st.st_sid, sizeof(app->sa_st.st_sid));
	sapp_transport_clear(&app->sa_sid_tk);
	return sapp_save(app, err);
}

/* The device key's JSON into `slot` (the caller saves). */
static int
key_keep(const struct sk_device_key *dev, char slot[SAPP_SID_KEY_MAX], struct sl_err *err)
{
	char *text = sk_device_key_to_json(dev);
	int rc = SL_OK;

	if (text == NULL || strlen(text) >= SAPP_SID_KEY_MAX)
		rc = sl_fail(err, SL_ETOOBIG, "a Smart-ID key does not fit the state");
	else
		memcpy(slot, text, strlen(text) + 1);
	if (text != NULL)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}

/* n of `use` as kept, decoded. */
static BIGNUM *
key_n(const struct sapp *app, enum sapp_sid_use use)
{
	const char *s = app->sa_st.st_sid.ss_keys[use].sk_n;
	size_t len = 0;
	uint8_t *raw = sl_b64url_decode(s, strlen(s), &len);
	BIGNUM *n = raw ? BN_bin2bn(raw, (int)len, NULL) : NULL;

	free(raw);
	return n;
}

/* base64url of a sealed value. */
static char *
seal_b64(const uint8_t pub[P256_PUB_LEN], const char *kid, const char *aad, const uint8_t *plain, size_t len,
	struct sl_err *err)
{
	uint8_t *sealed = NULL;
	size_t slen = 0;
	char *enc;

	if (seal(pub, kid, (const uint8_t *)aad, strlen(aad), plain, len, &sealed, &slen, err) != SL_OK)
		return NULL;
	enc = sl_b64url_encode(sealed, slen);
	free(sealed);
	if (enc == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return enc;
}

/* One signature to make under the state's lock. */
struct sign_job {
	enum sapp_sid_use sj_use;
	const char *sj_pin;
	const uint8_t *sj_em;
	size_t sj_emlen;
	uint64_t *sj_version;
	uint8_t **sj_part;
	size_t *sj_partlen;
};

/* Under the lock, on the state just read again: the key must be the one
 * this handle holds (same modulus and device), and it advances from the
 * version on disk, never from an older copy in memory. */
static int
sign_on_disk(struct sapp *app, struct sapp_state *disk, void *ctx, struct sl_err *err)
{
	const struct sign_job *j = ctx;
	struct sapp_sid_state *ss = &disk->st_sid;
	const struct sapp_sid_state *mine = &app->sa_st.st_sid;
	struct sk_device_key dev = { 0 };
	struct sk_params p = { 0, 0, &ss->ss_params };
	int rc;

	if (!ss->ss_present || strcmp(ss->ss_keys[j->sj_use].sk_n, mine->ss_keys[j->sj_use].sk_n) != 0 ||
		strcmp(ss->ss_device_id, mine->ss_device_id) != 0 ||
		strcmp(ss->ss_registration_id, mine->ss_registration_id) != 0)
		return sl_fail(err, SL_ECONFLICT,
			"the Smart-ID device in the state file changed since this app read it: nothing signed, try "
			"again");
	if ((rc = sk_device_key_from_json(ss->ss_keys[j->sj_use].sk_device, &dev, err)) != SL_OK)
		return rc;
	p.sp_n1_bits = p.sp_n2_bits = BN_num_bits(dev.dk_n1);
	rc = sk_device_sign(&dev, j->sj_pin, &p, j->sj_em, j->sj_emlen, j->sj_version, j->sj_part, j->sj_partlen, err);
	if (rc == SL_OK)
		rc = key_keep(&dev, ss->ss_keys[j->sj_use].sk_device, err);
	sk_device_key_clear(&dev);
	return rc;
}

/* Advance the key and save the state (sapp_commit), then the partial
 * signature: the advanced share is on disk before its signature leaves,
 * so no copy of an older file, and no other process, signs a version
 * this one used.  The lock stays held until the caller sent the answer
 * (sapp_release): versions reach the server in the order they were used. */
static int
sign_part(struct sapp *app, enum sapp_sid_use use, const char *pin, const uint8_t *em, size_t emlen, uint64_t *version,
	uint8_t **part, size_t *partlen, struct sl_err *err)
{
	struct sign_job j = { use, pin, em, emlen, version, part, partlen };
	int rc;

	*part = NULL;
	*partlen = 0;
	if ((rc = sapp_hold(app, err)) != SL_OK)
		return rc;
	rc = sapp_commit(app, sign_on_disk, &j, err);
	if (rc != SL_OK && *part != NULL) { /* signed, but not saved: it must not leave */
		OPENSSL_cleanse(*part, *partlen);
		free(*part);
		*part = NULL;
	}
	return rc;
}

int
sapp_sid_sign(struct sapp *app, enum sapp_sid_use use, const char *pin, enum sk_padding pad, const char *digest,
	const uint8_t *hash, size_t hashlen, const char *seal_kid, const uint8_t seal_pub[P256_PUB_LEN],
	const char *aad, uint64_t *version, char **part_b64, struct sl_err *err)
{
	struct sapp_sid_sig sig = { use, pin, pad, digest, hash, hashlen, seal_kid, seal_pub, aad };

	return sapp_sid_sign_em(app, &sig, version, part_b64, NULL, err);
}

int
sapp_sid_sign_em(struct sapp *app, const struct sapp_sid_sig *sig, uint64_t *version, char **part_b64, char **em_b64,
	struct sl_err *err)
{
	enum sapp_sid_use use = sig->sg_use;
	uint8_t *em = NULL, *part = NULL;
	size_t emlen = 0, partlen = 0;
	BIGNUM *n = key_n(app, use);
	int rc;

	*part_b64 = NULL;
	if (em_b64 != NULL)
		*em_b64 = NULL;
	if (n == NULL)
		return sl_fail(err, SL_EINVAL, "state: the %s modulus is malformed", sapp_sid_use_name(use));
	rc = sk_encode(n, sig->sg_pad, sig->sg_digest, sig->sg_hash, sig->sg_hashlen, &em, &emlen, err);
	BN_free(n);
	if (rc != SL_OK)
		return rc;
	/* A PSS salt is random: the server completes the very EM signed. */
	if (em_b64 != NULL && (*em_b64 = sl_b64url_encode(em, emlen)) == NULL) {
		free(em);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	rc = sign_part(app, use, sig->sg_pin, em, emlen, version, &part, &partlen, err);
	free(em);
	if (rc != SL_OK) {
		if (em_b64 != NULL) {
			free(*em_b64);
			*em_b64 = NULL;
		}
		return rc;
	}
	/* With the state file, the partial signature would test PINs: it
	 * leaves only sealed, and is wiped. */
	*part_b64 = seal_b64(sig->sg_seal_pub, sig->sg_seal_kid, sig->sg_aad, part, partlen, err);
	OPENSSL_cleanse(part, partlen);
	free(part);
	if (*part_b64 == NULL && em_b64 != NULL) {
		free(*em_b64);
		*em_b64 = NULL;
	}
	return *part_b64 ? SL_OK : (err && err->code ? err->code : SL_ECRYPTO);
}

/* ---- registration ---- */

bool
sapp_sid_pin_ok(const char *use, const char *pin)
{
	if (use == NULL)
		return false;
	if (strcmp(use, "auth") == 0)
		return sk_pin_ok(pin, SK_PIN1_MIN);
	return strcmp(use, "sign") == 0 && sk_pin_ok(pin, SK_PIN2_MIN);
}

static bool
short_printable(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max && sl_str_printable(s, strlen(s));
}

static int
spec_check(const struct sapp_sid_spec *s, struct sl_err *err)
{
	if (!sapp_lang_ok(s->ss_language))
		return sl_fail(err, SL_EINVAL, "language must be nl, fr, de or en");
	if (!short_printable(s->ss_terms_version, SID_TERMS_MAX))
		return sl_fail(err, SL_EINVAL, "the terms must be accepted");
	if ((s->ss_country != NULL && !short_printable(s->ss_country, 8)) ||
		(s->ss_method != NULL && !short_printable(s->ss_method, 16)))
		return sl_fail(err, SL_EINVAL, "country or method is malformed");
	if (s->ss_device_name != NULL && (s->ss_device_name[0] == '\0' || strlen(s->ss_device_name) >= SAPP_NAME_MAX))
		return sl_fail(err, SL_EINVAL, "device name must be 1..%d bytes", SAPP_NAME_MAX - 1);
	if (!sapp_sid_pin_ok("auth", s->ss_pin1))
		return sl_fail(err, SL_EINVAL, "PIN1 is %d to %d digits", SK_PIN1_MIN, SK_PIN_MAX);
	if (!sapp_sid_pin_ok("sign", s->ss_pin2))
		return sl_fail(err, SL_EINVAL, "PIN2 is %d to %d digits", SK_PIN2_MIN, SK_PIN_MAX);
	return SL_OK;
}

/* What a registration needs from /config: key size and seal key. */
struct reg_cfg {
	int rc_bits;
	char rc_kid[SEAL_KID_MAX];
	uint8_t rc_pub[P256_PUB_LEN];
};

static int
reg_config(struct sapp *app, struct reg_cfg *cfg, struct sl_err *err)
{
	json_t *doc = NULL;
	json_int_t bits;
	int rc;

	if ((rc = sapp_sid_config(app, &doc, err)) != SL_OK)
		return rc;
	bits = json_integer_value(json_object_get(doc, "key_bits"));
	if (bits < SK_BITS_MIN || bits > SK_BITS_MAX || bits % 256 != 0)
		rc = sl_fail(err, SL_EINVAL, "the server's key_bits is not a key size");
	else
		rc = sapp_seal_key_of(json_object_get(doc, "seal_keys"), cfg->rc_kid, cfg->rc_pub, err);
	cfg->rc_bits = (int)bits;
	json_decref(doc);
	return rc;
}

/* The new registration being built: keys, shares, transport key. */
struct reg_new {
	struct sapp_transport rn_tk;
	char rn_pem[SAPP_PEM_MAX];
	struct sk_device_key rn_dev[SAPP_SID_NKEYS];
	struct sk_server_key rn_share[SAPP_SID_NKEYS];
};

static void
reg_new_clear(struct reg_new *r)
{
	sapp_transport_clear(&r->rn_tk);
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		sk_device_key_clear(&r->rn_dev[i]);
		sk_server_key_clear(&r->rn_share[i]);
	}
	OPENSSL_cleanse(r, sizeof(*r));
}

static int
reg_keygen(struct sapp *app, const struct sapp_sid_spec *spec, int bits, struct reg_new *r, struct sl_err *err)
{
	struct sk_params p = { bits, bits, &app->sa_params };
	int rc;

	if ((rc = sapp_transport_generate(r->rn_pem, err)) != SL_OK ||
		(rc = sapp_transport_load(r->rn_pem, &r->rn_tk, err)) != SL_OK)
		return rc;
	if ((rc = sk_device_keygen(&p, SK_INFO_AUTH, spec->ss_pin1, &r->rn_dev[SAPP_SID_AUTH],
		     &r->rn_share[SAPP_SID_AUTH], err)) != SL_OK)
		return rc;
	return sk_device_keygen(
		&p, SK_INFO_SIGN, spec->ss_pin2, &r->rn_dev[SAPP_SID_SIGN], &r->rn_share[SAPP_SID_SIGN], err);
}

/* seal(kid, aad = "smartid-share <use> " + jkt, sk_share_to_json(share)). */
static char *
sealed_share(const struct reg_new *r, enum sapp_sid_use use, const struct reg_cfg *cfg, struct sl_err *err)
{
	char aad[64 + SAPP_JKT_LEN], *text, *enc;

	snprintf(aad, sizeof(aad), "smartid-share %s %s", sapp_sid_use_name(use), r->rn_tk.tk_jkt);
	if ((text = sk_share_to_json(&r->rn_share[use])) == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	enc = seal_b64(cfg->rc_pub, cfg->rc_kid, aad, (const uint8_t *)text, strlen(text), err);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return enc;
}

static json_t *
reg_body(const struct sapp_sid_spec *spec, const struct reg_new *r, const struct reg_cfg *cfg, struct sl_err *err)
{
	char *a = sealed_share(r, SAPP_SID_AUTH, cfg, err);
	char *s = a ? sealed_share(r, SAPP_SID_SIGN, cfg, err) : NULL;
	json_t *body = NULL;

	if (s != NULL)
		body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "country",
			spec->ss_country ? spec->ss_country : "BE", "method", spec->ss_method ? spec->ss_method : "eid",
			"terms_version", spec->ss_terms_version, "language", spec->ss_language, "device_name",
			spec->ss_device_name ? spec->ss_device_name : "sleutel-app", "transport_key",
			sapp_transport_jwk(&r->rn_tk), "seal_kid", cfg->rc_kid, "auth", a, "sign", s);
	if (s != NULL && body == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	free(a);
	free(s);
	return body;
}

/* The answer's n for `use` (GET /register once "confirmed"): base64url,
 * a multiple of our n1 and longer. */
static int
answer_n(const json_t *ans, enum sapp_sid_use use, const struct sk_device_key *dev, char out[SAPP_SID_N_MAX],
	struct sl_err *err)
{
	const char *s = json_string_value(json_object_get(json_object_get(ans, sapp_sid_use_name(use)), "n"));
	BIGNUM *n = NULL, *rem = BN_new();
	BN_CTX *ctx = BN_CTX_new();
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc = SL_OK;

	if (s != NULL && strlen(s) < SAPP_SID_N_MAX)
		raw = sl_b64url_decode(s, strlen(s), &len);
	if (raw != NULL)
		n = BN_bin2bn(raw, (int)len, NULL);
	if (n == NULL || rem == NULL || ctx == NULL || BN_num_bits(n) <= BN_num_bits(dev->dk_n1) ||
		BN_mod(rem, n, dev->dk_n1, ctx) != 1 || !BN_is_zero(rem))
		rc = sl_fail(err, SL_EINVAL, "the server's %s modulus is not one of this key", sapp_sid_use_name(use));
	else
		sl_strlcpy(out, s, SAPP_SID_N_MAX);
	free(raw);
	BN_free(n);
	BN_free(rem);
	BN_CTX_free(ctx);
	return rc;
}

/* The registration as the server answered it, into a fresh "smartid"
 * (no n yet: the server makes its keys when the portal confirms). */
static int
reg_keep(struct sapp *app, const json_t *ans, struct reg_new *r, struct sl_err *err)
{
	struct sapp_sid_state ss = { 0 };
	const char *id = json_string_value(json_object_get(ans, "registration_id"));
	int rc = SL_OK;

	if (!sapp_id_ok(id))
		return sl_fail(err, SL_EINVAL, "the server's registration_id is not an id");
	ss.ss_present = true;
	sl_strlcpy(ss.ss_transport_key, r->rn_pem, sizeof(ss.ss_transport_key));
	sl_strlcpy(ss.ss_registration_id, id, sizeof(ss.ss_registration_id));
	sl_strlcpy(ss.ss_registration_status, "code", sizeof(ss.ss_registration_status));
	ss.ss_params = app->sa_params;
	for (int i = 0; rc == SL_OK && i < SAPP_SID_NKEYS; i++)
		rc = key_keep(&r->rn_dev[i], ss.ss_keys[i].sk_device, err);
	if (rc == SL_OK) {
		app->sa_st.st_sid = ss;
		sapp_transport_clear(&app->sa_sid_tk);
		app->sa_sid_tk = r->rn_tk;
		memset(&r->rn_tk, 0, sizeof(r->rn_tk)); /* moved */
		rc = sapp_save(app, err);
	}
	OPENSSL_cleanse(&ss, sizeof(ss));
	return rc;
}

int
sapp_sid_register(struct sapp *app, const struct sapp_sid_spec *spec, json_t **out, struct sl_err *err)
{
	struct reg_new *r = NULL;
	struct reg_cfg cfg;
	json_t *body = NULL, *ans = NULL;
	long status;
	int rc;

	*out = NULL;
	if (sapp_sid_phase(app) == SAPP_SID_ACTIVE)
		return sl_fail(err, SL_ECONFLICT, "this app has a Smart-ID device already");
	if ((rc = spec_check(spec, err)) != SL_OK || (rc = reg_config(app, &cfg, err)) != SL_OK)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if ((rc = reg_keygen(app, spec, cfg.rc_bits, r, err)) != SL_OK)
		goto out;
	if ((body = reg_body(spec, r, &cfg, err)) == NULL) {
		rc = err && err->code ? err->code : SL_ERR;
		goto out;
	}
	if ((rc = sapp_call_as(app, &r->rn_tk, "POST", "/smartid/register", body, true, 0, &status, &ans, err)) !=
			SL_OK ||
		(rc = reg_keep(app, ans, r, err)) != SL_OK)
		goto out;
	*out = ans;
	ans = NULL;
out:
	json_decref(body);
	json_decref(ans);
	reg_new_clear(r);
	free(r);
	return rc;
}

static int
need_registering(const struct sapp *app, struct sl_err *err)
{
	if (sapp_sid_phase(app) != SAPP_SID_REGISTERING)
		return sl_fail(err, SL_EINVAL, "no Smart-ID registration in progress: register first");
	return SL_OK;
}

/* The registration is over on the server's side: forget it here too. */
static void
forget_if_ended(struct sapp *app)
{
	const char *code = sapp_last_error_code(app);

	if (strcmp(code, "registration_expired") == 0 || strcmp(code, "registration_failed") == 0)
		sapp_sid_forget(app, NULL);
}

/* "confirmed": both composite moduli from the answer, checked against
 * our keys, into `n` (the caller keeps them). */
static int
confirmed_n(const struct sapp *app, const json_t *ans, char n[SAPP_SID_NKEYS][SAPP_SID_N_MAX], struct sl_err *err)
{
	struct sk_device_key dev = { 0 };
	int rc = SL_OK;

	for (int i = 0; rc == SL_OK && i < SAPP_SID_NKEYS; i++) {
		if ((rc = sapp_sid_key_load(app, (enum sapp_sid_use)i, &dev, err)) == SL_OK)
			rc = answer_n(ans, (enum sapp_sid_use)i, &dev, n[i], err);
		sk_device_key_clear(&dev);
	}
	return rc;
}

/* Keep the status the server reports (with the moduli once "confirmed");
 * "failed" forgets the keys. */
static int
note_status(struct sapp *app, const json_t *ans, struct sl_err *err)
{
	const char *s = json_string_value(json_object_get(ans, "status"));
	struct sapp_sid_state *ss = &app->sa_st.st_sid;
	char n[SAPP_SID_NKEYS][SAPP_SID_N_MAX];
	int rc;

	if (s == NULL || (strcmp(s, "code") != 0 && strcmp(s, "confirmed") != 0 && strcmp(s, "done") != 0 &&
				 strcmp(s, "failed") != 0))
		return sl_fail(err, SL_EINVAL, "the server reports an unknown registration status");
	if (strcmp(s, "failed") == 0)
		return sapp_sid_forget(app, err);
	if (strcmp(s, "done") == 0 || (strcmp(s, ss->ss_registration_status) == 0 && ss->ss_keys[0].sk_n[0] != '\0'))
		return SL_OK;
	if (strcmp(s, "confirmed") == 0) {
		if ((rc = confirmed_n(app, ans, n, err)) != SL_OK)
			return rc;
		for (int i = 0; i < SAPP_SID_NKEYS; i++)
			sl_strlcpy(ss->ss_keys[i].sk_n, n[i], SAPP_SID_N_MAX);
	} else if (strcmp(s, ss->ss_registration_status) == 0) {
		return SL_OK; /* "code", still */
	}
	sl_strlcpy(ss->ss_registration_status, s, SAPP_STATUS_MAX);
	return sapp_save(app, err);
}

int
sapp_sid_registration(struct sapp *app, int wait, json_t **out, struct sl_err *err)
{
	const struct sapp_status_poll sp = { &app->sa_sid_tk, "/smartid/register", "/smartid/register?wait=0", SID_PEEK,
		"code", note_status, forget_if_ended, sapp_sid_registration_status };
	int rc;

	*out = NULL;
	if ((rc = need_registering(app, err)) != SL_OK)
		return rc;
	return sapp_status_poll(app, &sp, wait, out, err);
}

/* SHA-256("sleutel smartid recall v1" 0 id 0 use 0 challenge). */
static int
recall_hash(const char *id, const char *use, const uint8_t challenge[SID_CHALLENGE_LEN], uint8_t h[SL_SHA256_LEN])
{
	uint8_t buf[sizeof(SID_RECALL_TAG) + SAPP_ID_MAX + 8 + SID_CHALLENGE_LEN];
	size_t n = 0;

	memcpy(buf, SID_RECALL_TAG, sizeof(SID_RECALL_TAG)); /* with its NUL: the 0x00 */
	n += sizeof(SID_RECALL_TAG);
	memcpy(buf + n, id, strlen(id) + 1);
	n += strlen(id) + 1;
	memcpy(buf + n, use, strlen(use) + 1);
	n += strlen(use) + 1;
	memcpy(buf + n, challenge, SID_CHALLENGE_LEN);
	n += SID_CHALLENGE_LEN;
	return crypto_sha256(buf, n, h);
}

/* The challenge of a confirmed registration (one short look). */
static int
recall_challenge(struct sapp *app, uint8_t challenge[SID_CHALLENGE_LEN], struct sl_err *err)
{
	json_t *ans = NULL;
	const char *c;
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc;

	if ((rc = sapp_sid_registration(app, 0, &ans, err)) != SL_OK)
		return rc;
	c = json_string_value(json_object_get(ans, "challenge"));
	if (strcmp(json_string_value(json_object_get(ans, "status")), "confirmed") != 0)
		rc = sl_fail(err, SL_ECONFLICT, "not_confirmed: the registration is not confirmed on the portal yet");
	else if (c == NULL || strlen(c) > 64 || (raw = sl_b64url_decode(c, strlen(c), &len)) == NULL ||
		 len != SID_CHALLENGE_LEN)
		rc = sl_fail(err, SL_EINVAL, "the server's challenge is not 32 bytes of base64url");
	else
		memcpy(challenge, raw, SID_CHALLENGE_LEN);
	free(raw);
	json_decref(ans);
	return rc;
}

/* {"version", "part"} of one key over the recall challenge. */
static json_t *
recall_part(struct sapp *app, enum sapp_sid_use use, const char *pin, const uint8_t challenge[SID_CHALLENGE_LEN],
	const struct reg_cfg *cfg, struct sl_err *err)
{
	const char *id = app->sa_st.st_sid.ss_registration_id, *name = sapp_sid_use_name(use);
	char aad[SAPP_ID_MAX + 8], *part = NULL;
	uint8_t h[SL_SHA256_LEN];
	uint64_t version = 0;
	json_t *o = NULL;

	snprintf(aad, sizeof(aad), "%s %s", id, name);
	if (recall_hash(id, name, challenge, h) != SL_OK) {
		sl_fail(err, SL_ECRYPTO, "SHA-256 failed");
		return NULL;
	}
	if (sapp_sid_sign(app, use, pin, SK_PKCS1, "SHA256", h, sizeof(h), cfg->rc_kid, cfg->rc_pub, aad, &version,
		    &part, err) != SL_OK)
		return NULL;
	o = json_pack("{s:I, s:s}", "version", (json_int_t)version, "part", part);
	free(part);
	if (o == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return o;
}

/* The device as the server answered the recall check. */
static int
finish_keep(struct sapp *app, const json_t *ans, struct sl_err *err)
{
	struct sapp_sid_state *ss = &app->sa_st.st_sid;
	const char *dev = json_string_value(json_object_get(ans, "device_id"));
	const char *acc = json_string_value(json_object_get(ans, "account_id"));
	const char *doc = json_string_value(json_object_get(ans, "document_number"));
	const json_t *certs = json_object_get(ans, "certificates");

	if (!sapp_id_ok(dev) || !sapp_id_ok(acc) || !short_printable(doc, SAPP_SID_DOCNR_MAX - 1))
		return sl_fail(err, SL_EINVAL, "the server's device_id, account_id or document_number is malformed");
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		const char *pem = json_string_value(json_object_get(certs, sapp_sid_use_name(i)));
		if (pem == NULL || strlen(pem) >= SAPP_SID_CERT_MAX ||
			strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0)
			return sl_fail(err, SL_EINVAL, "the server's %s certificate is not PEM", sapp_sid_use_name(i));
		sl_strlcpy(ss->ss_keys[i].sk_cert, pem, SAPP_SID_CERT_MAX);
	}
	sl_strlcpy(ss->ss_device_id, dev, sizeof(ss->ss_device_id));
	sl_strlcpy(ss->ss_account_id, acc, sizeof(ss->ss_account_id));
	sl_strlcpy(ss->ss_document_number, doc, sizeof(ss->ss_document_number));
	ss->ss_registration_id[0] = '\0';
	ss->ss_registration_status[0] = '\0';
	return sapp_save(app, err);
}

int
sapp_sid_finish(struct sapp *app, const char *pin1, const char *pin2, json_t **out, struct sl_err *err)
{
	uint8_t challenge[SID_CHALLENGE_LEN];
	json_t *a = NULL, *s = NULL, *body = NULL, *ans = NULL;
	struct reg_cfg cfg;
	long status;
	int rc;

	*out = NULL;
	if ((rc = need_registering(app, err)) != SL_OK)
		return rc;
	if (!sapp_sid_pin_ok("auth", pin1) || !sapp_sid_pin_ok("sign", pin2))
		return sl_fail(err, SL_EINVAL, "PIN1 is %d to %d digits, PIN2 %d to %d", SK_PIN1_MIN, SK_PIN_MAX,
			SK_PIN2_MIN, SK_PIN_MAX);
	if ((rc = recall_challenge(app, challenge, err)) != SL_OK || (rc = reg_config(app, &cfg, err)) != SL_OK)
		return rc;
	if ((a = recall_part(app, SAPP_SID_AUTH, pin1, challenge, &cfg, err)) == NULL ||
		(s = recall_part(app, SAPP_SID_SIGN, pin2, challenge, &cfg, err)) == NULL ||
		(body = json_pack("{s:s, s:O, s:O}", "seal_kid", cfg.rc_kid, "auth", a, "sign", s)) == NULL) {
		rc = err && err->code ? err->code : SL_ENOMEM;
		goto out;
	}
	rc = sapp_sid_call(app, "POST", "/register/finish", body, 0, &status, &ans, err);
	if (rc != SL_OK)
		forget_if_ended(app);
	else if ((rc = finish_keep(app, ans, err)) == SL_OK) {
		*out = ans;
		ans = NULL;
	}
out:
	sapp_release(app); /* the answer was sent (or nothing will be) */
	json_decref(a);
	json_decref(s);
	json_decref(body);
	json_decref(ans);
	return rc;
}
