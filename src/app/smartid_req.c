/*
 * smartid_req.c — Smart-ID signing requests from the phone's side
 * (docs/smartid-api.md, "GET /requests"): the request channel, the checks
 * made BEFORE a PIN is asked (the binding fields of a portal login must
 * hash to the request's hash, and the verification code must be the one
 * the hash gives), then the split-key signature with the key the request
 * names, or a refusal.
 *
 * The checks are what makes the verification code mean something: the
 * person compares the code on the site with the one here, and the code is
 * derived from the very hash the phone signs.  A server that showed one
 * code and asked for a signature over another hash is refused here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../sidproto/sidproto.h"
#include "app_int.h"

#define SID_BIND_TAG "sleutel-smartid-v1"
#define SID_FIELD_MAX 65535 /* bytes of one bound field */
#define SID_TEXT_MAX 4096 /* bytes of a display text */
#define SID_FIND_PEEK 5 /* seconds to look up one pending request */

static const char *
member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* One field: a 2-byte big-endian length and the bytes. */
static int
add_field(struct sl_buf *b, const void *data, size_t len)
{
	uint8_t l[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	if (len > SID_FIELD_MAX)
		return SL_ETOOBIG;
	if (sl_buf_add(b, l, 2) != SL_OK || sl_buf_add(b, data, len) != SL_OK)
		return SL_ENOMEM;
	return SL_OK;
}

int
sapp_sid_binding_hash(const char *id, const char *rp_id, const char *rp_name, const char *action,
	const char *display_text, const char *nonce, uint8_t out[SL_SHA256_LEN], struct sl_err *err)
{
	const char *f[] = { SID_BIND_TAG, id, rp_id, rp_name, action };
	uint8_t th[SL_SHA256_LEN];
	struct sl_buf b;
	int rc = SL_OK;

	if (id == NULL || rp_id == NULL || rp_name == NULL || action == NULL || display_text == NULL || nonce == NULL)
		return sl_fail(err, SL_EINVAL, "a bound field is missing");
	sl_buf_init(&b, (size_t)8 * (SID_FIELD_MAX + 2));
	for (size_t i = 0; rc == SL_OK && i < sizeof(f) / sizeof(f[0]); i++)
		rc = add_field(&b, f[i], strlen(f[i]));
	if (rc == SL_OK && (rc = crypto_sha256(display_text, strlen(display_text), th)) == SL_OK)
		rc = add_field(&b, th, sizeof(th));
	if (rc == SL_OK)
		rc = add_field(&b, nonce, strlen(nonce));
	if (rc == SL_OK)
		rc = crypto_sha256(b.b_data, b.b_len, out);
	sl_buf_reset(&b);
	return rc == SL_OK ? SL_OK : sl_fail(err, rc, "the bound fields do not hash (too long?)");
}

void
sapp_sid_vc(const uint8_t *hash, size_t len, char out[5])
{
	sidp_vc_of(hash, len, out); /* Smart-ID's published rule (src/sidproto) */
}

/* The digest's name as sk_encode knows it and its length. */
static size_t
digest_len(const char *d)
{
	static const struct {
		const char *name;
		size_t len;
	} ds[] = { { "SHA256", 32 }, { "SHA384", 48 }, { "SHA512", 64 }, { "SHA3-256", 32 }, { "SHA3-384", 48 },
		{ "SHA3-512", 64 } };

	for (size_t i = 0; d != NULL && i < sizeof(ds) / sizeof(ds[0]); i++)
		if (strcmp(d, ds[i].name) == 0)
			return ds[i].len;
	return 0;
}

static bool
one_of(const char *s, const char *a, const char *b)
{
	return s != NULL && (strcmp(s, a) == 0 || strcmp(s, b) == 0);
}

bool
sapp_text_showable(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			return false;
	return true;
}

/* Shape: every member the app shows or signs, of the right kind. */
static int
check_shape(const json_t *r, struct sl_err *err)
{
	const char *vc = member(r, "verification_code"), *rp = member(r, "rp_name"), *text = member(r, "display_text");

	if (!json_is_object(r) || !sapp_id_ok(member(r, "id")))
		return sl_fail(err, SL_EINVAL, "the request has no valid id");
	if (rp == NULL || rp[0] == '\0' || strlen(rp) > 128 || !sl_str_printable(rp, strlen(rp)))
		return sl_fail(err, SL_EINVAL, "the request's rp_name is missing or not printable");
	if (text == NULL || strlen(text) > SID_TEXT_MAX)
		return sl_fail(err, SL_EINVAL, "the request's display_text is missing or too long");
	if (!one_of(member(r, "action"), "login", "sign"))
		return sl_fail(err, SL_EINVAL, "the request's action is unknown");
	if (!one_of(member(r, "key"), "auth", "sign"))
		return sl_fail(err, SL_EINVAL, "the request's key is neither auth nor sign");
	/* PIN1's key logs in and PIN2's signs: never the other way round, so
	 * a request cannot have the login key sign an unbound hash. */
	if ((strcmp(member(r, "key"), "auth") == 0) != (strcmp(member(r, "action"), "login") == 0))
		return sl_fail(err, SL_EINVAL, "the request's key does not match its action");
	if (!sapp_text_showable(text))
		return sl_fail(err, SL_EINVAL, "the request's display_text has control characters");
	if (!one_of(member(r, "padding"), "pkcs1", "pss"))
		return sl_fail(err, SL_EINVAL, "the request's padding is unknown");
	if (digest_len(member(r, "digest")) == 0)
		return sl_fail(err, SL_EINVAL, "the request's digest is unknown");
	if (vc == NULL || strlen(vc) != 4 || strspn(vc, "0123456789") != 4)
		return sl_fail(err, SL_EINVAL, "the request's verification code is not 4 digits");
	return SL_OK;
}

/* A login must bind its fields: the auth key signs nothing else. */
static int
check_binding(const json_t *r, const uint8_t *hash, size_t hashlen, struct sl_err *err)
{
	const json_t *bind = json_object_get(r, "bind");
	uint8_t h[SL_SHA256_LEN];
	int rc;

	if (bind == NULL) {
		if (strcmp(member(r, "action"), "login") == 0)
			return sl_fail(err, SL_EINVAL, "a login request without its bound fields");
		return SL_OK;
	}
	if (!json_is_object(bind) || strcmp(member(r, "digest"), "SHA256") != 0)
		return sl_fail(err, SL_EINVAL, "the request's bound fields are malformed");
	if ((rc = sapp_sid_binding_hash(member(r, "id"), member(bind, "rp_id"), member(r, "rp_name"),
		     member(r, "action"), member(r, "display_text"), member(bind, "nonce"), h, err)) != SL_OK)
		return rc;
	if (hashlen != sizeof(h) || CRYPTO_memcmp(h, hash, sizeof(h)) != 0)
		return sl_fail(err, SL_EINVAL, "the request's hash is not that of its fields: not signed");
	return SL_OK;
}

int
sapp_sid_request_check(const json_t *r, enum sapp_sid_use *use, enum sk_padding *pad, uint8_t hash[SAPP_SID_HASH_MAX],
	size_t *hashlen, struct sl_err *err)
{
	const char *h64 = member(r, "hash");
	uint8_t *raw = NULL;
	size_t len = 0;
	char vc[5];
	int rc;

	if ((rc = check_shape(r, err)) != SL_OK)
		return rc;
	if (h64 != NULL && strlen(h64) <= (size_t)2 * SAPP_SID_HASH_MAX)
		raw = sl_b64url_decode(h64, strlen(h64), &len);
	if (raw == NULL || len != digest_len(member(r, "digest"))) {
		free(raw);
		return sl_fail(err, SL_EINVAL, "the request's hash is not of its digest");
	}
	memcpy(hash, raw, len);
	free(raw);
	*hashlen = len;
	if ((rc = check_binding(r, hash, len, err)) != SL_OK)
		return rc;
	sapp_sid_vc(hash, len, vc);
	if (strcmp(vc, member(r, "verification_code")) != 0)
		return sl_fail(err, SL_EINVAL, "the request's verification code is not its hash's: not signed");
	*use = strcmp(member(r, "key"), "sign") == 0 ? SAPP_SID_SIGN : SAPP_SID_AUTH;
	*pad = strcmp(member(r, "padding"), "pss") == 0 ? SK_PSS : SK_PKCS1;
	return SL_OK;
}

int
sapp_sid_request_verify(const json_t *request, const char **use_name, struct sl_err *err)
{
	uint8_t hash[SAPP_SID_HASH_MAX];
	enum sapp_sid_use use = SAPP_SID_AUTH;
	enum sk_padding pad = SK_PKCS1;
	struct sapp_rp_view v;
	size_t len;
	int rc;

	if (sapp_rp_is(request)) { /* the RP API's own checks (smartid_rp.c) */
		rc = sapp_rp_check(request, &v, err);
		*use_name = rc == SL_OK ? v.rv_use : NULL;
		return rc;
	}
	rc = sapp_sid_request_check(request, &use, &pad, hash, &len, err);
	*use_name = rc == SL_OK ? sapp_sid_use_name(use) : NULL;
	return rc;
}

int
sapp_sid_requests(struct sapp *app, int wait, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	return sapp_requests_poll(
		app, &app->sa_sid_tk, wait > 0 ? "/smartid/requests" : "/smartid/requests?wait=0", wait, out, err);
}

int
sapp_sid_request_find(struct sapp *app, const char *request_id, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	return sapp_request_find_at(
		app, &app->sa_sid_tk, "/smartid/requests?wait=0", SID_FIND_PEEK, request_id, out, err);
}

/* POST /requests/{id} with `body`. */
static int
answer(struct sapp *app, const json_t *request, json_t *body, json_t **out, struct sl_err *err)
{
	char path[SAPP_ID_MAX + 16];
	long status;

	snprintf(path, sizeof(path), "/requests/%s", member(request, "id"));
	return sapp_sid_call(app, "POST", path, body, 0, &status, out, err);
}

int
sapp_sid_confirm(struct sapp *app, const json_t *request, const char *pin, json_t **out, struct sl_err *err)
{
	uint8_t hash[SAPP_SID_HASH_MAX], spub[P256_PUB_LEN];
	char kid[SEAL_KID_MAX], *part = NULL;
	enum sapp_sid_use use = SAPP_SID_AUTH;
	enum sk_padding pad = SK_PKCS1;
	uint64_t version = 0;
	json_t *body = NULL, *cfg = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (sapp_rp_is(request)) /* an RP API request: its own checks and body (no code to pick here) */
		return sapp_rp_confirm(app, request, NULL, pin, out, NULL, err);
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK ||
		(rc = sapp_sid_request_check(request, &use, &pad, hash, &len, err)) != SL_OK)
		return rc;
	if (!sapp_sid_pin_ok(sapp_sid_use_name(use), pin))
		return sl_fail(err, SL_EINVAL, "%s is %d to %d digits", use == SAPP_SID_SIGN ? "PIN2" : "PIN1",
			use == SAPP_SID_SIGN ? SK_PIN2_MIN : SK_PIN1_MIN, SK_PIN_MAX);
	if ((rc = sapp_sid_config(app, &cfg, err)) != SL_OK ||
		(rc = sapp_seal_key_of(json_object_get(cfg, "seal_keys"), kid, spub, err)) != SL_OK)
		goto out;
	if ((rc = sapp_sid_sign(app, use, pin, pad, member(request, "digest"), hash, len, kid, spub,
		     member(request, "id"), &version, &part, err)) != SL_OK)
		goto out;
	body = json_pack("{s:s, s:s, s:I, s:s}", "decision", "confirm", "seal_kid", kid, "version", (json_int_t)version,
		"part", part);
	rc = body ? answer(app, request, body, out, err) : sl_fail(err, SL_ENOMEM, "out of memory");
out:
	sapp_release(app); /* held since the signature: its answer was sent (or nothing will be) */
	free(part);
	json_decref(body);
	json_decref(cfg);
	return rc;
}

int
sapp_sid_refuse(struct sapp *app, const json_t *request, json_t **out, struct sl_err *err)
{
	json_t *body;
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	if (!json_is_object(request) || !sapp_id_ok(member(request, "id")))
		return sl_fail(err, SL_EINVAL, "the request has no valid id");
	if ((body = json_pack("{s:s}", "decision", "refuse")) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = answer(app, request, body, out, err);
	json_decref(body);
	return rc;
}
