/*
 * requests.c — the request channel from the phone's side: long-poll
 * GET /requests, approve with the code the person picked and the app code,
 * refuse, and scan a QR code (docs/device-api.md, PROTOCOL.md "What a
 * confirmation signs").
 *
 * The signed fields are taken from the request exactly as the server sent
 * it and as the person saw it: the app never rebuilds or normalises the
 * display text, so a signature covers what was shown.  The code the person
 * picked must be one of the request's codes; whether it is the right one
 * only the server knows.
 *
 * Approving opens the camouflaged key under the app code.  A wrong code
 * gives a valid but wrong key: the signature is made and sent, and the
 * server answers wrong_code — the app cannot tell, by design.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "app_int.h"

#define REQ_MAX 16 /* requests in one answer */
#define REQ_FIND_PEEK 3 /* seconds to look up one pending request */
#define SCAN_PREFIX "sleutel://login?t="
#define SCAN_TOKEN_MAX 512 /* bytes of a QR token */

static const char *
member(const json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static bool
action_ok(const char *a)
{
	return a != NULL && (strcmp(a, "login") == 0 || strcmp(a, "payment") == 0 || strcmp(a, "sign") == 0);
}

static bool
picked_ok(const json_t *request, const char *picked)
{
	json_t *codes = json_object_get(request, "codes"), *c;
	size_t i;

	if (!json_is_array(codes))
		return false;
	json_array_foreach(codes, i, c)
	{
		if (json_is_string(c) && strcmp(json_string_value(c), picked) == 0)
			return true;
	}
	return false;
}

/* Every code of the request is one line of printable text. */
static bool
codes_showable(const json_t *request)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(request, "codes"), i, c)
	{
		if (!json_is_string(c) || !sapp_text_showable(json_string_value(c)) ||
			strchr(json_string_value(c), '\n') != NULL)
			return false;
	}
	return true;
}

int
sapp_confirm_fields(const json_t *request, const char *picked, const char *decision, const char *device_id,
	struct confirm_fields *out, struct sl_err *err)
{
	bool approve = decision != NULL && strcmp(decision, "approve") == 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(request))
		return sl_fail(err, SL_EINVAL, "a request is a JSON object");
	out->cf_request_id = member(request, "id");
	out->cf_rp_id = member(request, "rp_id");
	out->cf_rp_display_name = member(request, "rp_name");
	out->cf_action = member(request, "action");
	out->cf_display_text = member(request, "display_text");
	out->cf_server_nonce = member(request, "nonce");
	out->cf_verification_code = picked;
	out->cf_decision = decision;
	out->cf_device_id = device_id;
	if (!sapp_id_ok(out->cf_request_id))
		return sl_fail(err, SL_EINVAL, "the request has no valid id");
	if (out->cf_rp_id == NULL || out->cf_rp_display_name == NULL || out->cf_display_text == NULL ||
		out->cf_server_nonce == NULL || out->cf_server_nonce[0] == '\0')
		return sl_fail(err, SL_EINVAL, "the request lacks rp_id, rp_name, display_text or nonce");
	if (!action_ok(out->cf_action))
		return sl_fail(err, SL_EINVAL, "the request's action is unknown");
	/* What the person reads before approving: an escape sequence could
	 * redraw the screen with another RP's name or text. */
	if (!sapp_text_showable(out->cf_rp_display_name) || strchr(out->cf_rp_display_name, '\n') != NULL ||
		!sapp_text_showable(out->cf_display_text) || !codes_showable(request))
		return sl_fail(err, SL_EINVAL, "the request's rp_name, display_text or codes have control characters");
	if (!approve && (decision == NULL || strcmp(decision, "refuse") != 0))
		return sl_fail(err, SL_EINVAL, "decision is approve or refuse");
	if (picked == NULL || (approve && !picked_ok(request, picked)))
		return sl_fail(err, SL_EINVAL, "the chosen code is not one of the request's codes");
	if (device_id == NULL || !sapp_id_ok(device_id))
		return sl_fail(err, SL_EINVAL, "this app is not enrolled");
	return SL_OK;
}

int
sapp_answer_body(const struct confirm_fields *f, EVP_PKEY *key, const char *seal_kid,
	const uint8_t seal_pub[P256_PUB_LEN], json_t **out, struct sl_err *err)
{
	const char *rid = f->cf_request_id;
	uint8_t *sig = NULL, *sealed = NULL;
	size_t siglen = 0, slen = 0;
	char *enc = NULL;
	int rc;

	*out = NULL;
	if (seal_pub == NULL || seal_kid == NULL || rid == NULL)
		return sl_fail(err, SL_EINVAL, "no server key to seal the answer to");
	if ((rc = confirm_sign(key, f, &sig, &siglen, err)) != SL_OK)
		return rc;
	rc = seal(seal_pub, seal_kid, (const uint8_t *)rid, strlen(rid), sig, siglen, &sealed, &slen, err);
	OPENSSL_cleanse(sig, siglen); /* Q is recoverable from it: it leaves only sealed */
	free(sig);
	if (rc != SL_OK)
		return rc;
	enc = sl_b64url_encode(sealed, slen);
	free(sealed);
	if (enc != NULL)
		*out = json_pack("{s:s, s:s, s:s, s:s}", "decision", f->cf_decision, "verification_code",
			f->cf_verification_code, "seal_kid", seal_kid, "sealed_signature", enc);
	free(enc);
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

static int
need_enrolled(const struct sapp *app, struct sl_err *err)
{
	if (sapp_phase(app) != SAPP_ENROLLED)
		return sl_fail(err, SL_EINVAL, "this app is not enrolled yet");
	return SL_OK;
}

/* The requests of one answer, checked for shape. */
static int
take_requests(json_t *ans, json_t **out, struct sl_err *err)
{
	json_t *arr = json_object_get(ans, "requests"), *r;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > REQ_MAX)
		return sl_fail(err, SL_EINVAL, "the server's requests are not a list of at most %d", REQ_MAX);
	json_array_foreach(arr, i, r)
	{
		if (!json_is_object(r) || !sapp_id_ok(member(r, "id")))
			return sl_fail(err, SL_EINVAL, "the server sent a request without an id");
	}
	*out = json_incref(arr);
	return SL_OK;
}

int
sapp_requests_poll(
	struct sapp *app, const struct sapp_transport *tk, const char *path, int wait, json_t **out, struct sl_err *err)
{
	int64_t deadline = sl_monotonic_ms() + (int64_t)(wait > 0 ? wait : 0) * 1000;
	json_t *ans = NULL;
	int rc, secs;

	*out = NULL;
	for (;;) {
		int64_t left = deadline - sl_monotonic_ms();
		secs = SAPP_POLL_DEFAULT + SAPP_POLL_GRACE;
		if (wait > 0 && left < (int64_t)secs * 1000)
			secs = (int)((left + 999) / 1000);
		if (secs < 1)
			secs = 1;
		if ((rc = sapp_poll(app, tk, path, secs, &ans, err)) != SL_OK)
			return rc;
		if (ans != NULL) {
			rc = take_requests(ans, out, err);
			json_decref(ans);
			if (rc != SL_OK || json_array_size(*out) > 0 || wait <= 0)
				return rc;
			json_decref(*out);
			*out = NULL;
		}
		if (wait <= 0 || sl_monotonic_ms() >= deadline)
			break;
	}
	*out = json_array();
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

int
sapp_requests(struct sapp *app, int wait, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = need_enrolled(app, err)) != SL_OK)
		return rc;
	return sapp_requests_poll(app, &app->sa_tk, "/requests", wait, out, err);
}

int
sapp_request_find_at(struct sapp *app, const struct sapp_transport *tk, const char *path, int secs,
	const char *request_id, json_t **out, struct sl_err *err)
{
	json_t *arr = NULL, *ans = NULL, *r;
	size_t i;
	int rc;

	*out = NULL;
	if (!sapp_id_ok(request_id))
		return sl_fail(err, SL_EINVAL, "not a request id");
	if ((rc = sapp_poll(app, tk, path, secs, &ans, err)) != SL_OK)
		return rc;
	if (ans != NULL && (rc = take_requests(ans, &arr, err)) != SL_OK) {
		json_decref(ans);
		return rc;
	}
	json_array_foreach(arr, i, r)
	{
		if (strcmp(member(r, "id"), request_id) == 0) {
			*out = json_incref(r);
			break;
		}
	}
	json_decref(arr);
	json_decref(ans);
	return *out ? SL_OK : sl_fail(err, SL_ENOTFOUND, "no pending request %s for this device", request_id);
}

int
sapp_request_find(struct sapp *app, const char *request_id, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = need_enrolled(app, err)) != SL_OK)
		return rc;
	return sapp_request_find_at(app, &app->sa_tk, "/requests", REQ_FIND_PEEK, request_id, out, err);
}

/* Did the last call end with the server's error `code`? */
static bool
last_error_is(const struct sapp *app, const char *code)
{
	const char *e = json_string_value(json_object_get(app->sa_last_error, "error"));

	return e != NULL && strcmp(e, code) == 0;
}

/* Sign the fields with `key`, seal, and POST /requests/{id}. */
static int
answer(struct sapp *app, const struct confirm_fields *f, EVP_PKEY *key, json_t **out, struct sl_err *err)
{
	char kid[SEAL_KID_MAX], path[SAPP_ID_MAX + 16];
	uint8_t spub[P256_PUB_LEN];
	json_t *body = NULL;
	long status;
	int rc;

	snprintf(path, sizeof(path), "/requests/%s", f->cf_request_id);
	for (int round = 0;; round++) {
		bool kept = app->sa_seal_until > sl_monotonic_ms();
		if ((rc = sapp_seal_key(app, kid, spub, err)) != SL_OK ||
			(rc = sapp_answer_body(f, key, kid, spub, &body, err)) != SL_OK)
			return rc;
		rc = sapp_call(app, "POST", path, body, true, 0, &status, out, err);
		json_decref(body);
		body = NULL;
		/* A kept seal key the server no longer opens (400 before any
		 * attempt is counted): fetch the current one and answer again,
		 * once. */
		if (rc == SL_OK || !kept || round > 0 || status != 400 || !last_error_is(app, "invalid_signature"))
			return rc;
		sapp_seal_key_forget(app);
	}
}

int
sapp_approve(struct sapp *app, const json_t *request, const char *picked, const char *app_code, json_t **out,
	struct sl_err *err)
{
	const struct sapp_state *st = &app->sa_st;
	struct confirm_fields f;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	if ((rc = need_enrolled(app, err)) != SL_OK)
		return rc;
	if (!camo_code_ok(app_code))
		return sl_fail(err, SL_EINVAL, "the app code is exactly %d digits", CAMO_CODE_LEN);
	if ((rc = sapp_confirm_fields(request, picked, "approve", st->st_device_id, &f, err)) != SL_OK)
		return rc;
	if ((rc = camo_open(st->st_c, st->st_salt, &st->st_params, app_code, &key, err)) != SL_OK)
		return rc;
	rc = answer(app, &f, key, out, err);
	EVP_PKEY_free(key);
	return rc;
}

int
sapp_refuse(struct sapp *app, const json_t *request, json_t **out, struct sl_err *err)
{
	struct confirm_fields f;
	int rc;

	*out = NULL;
	if ((rc = need_enrolled(app, err)) != SL_OK)
		return rc;
	if ((rc = sapp_confirm_fields(request, "", "refuse", app->sa_st.st_device_id, &f, err)) != SL_OK)
		return rc;
	return answer(app, &f, app->sa_tk.tk_pkey, out, err);
}

static bool
token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > SCAN_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_' || c == '.' || c == '~'))
			return false;
	}
	return true;
}

int
sapp_scan(struct sapp *app, const char *uri, json_t **out, struct sl_err *err)
{
	const char *token;
	json_t *body, *ans = NULL;
	long status;
	int rc;

	*out = NULL;
	if ((rc = need_enrolled(app, err)) != SL_OK)
		return rc;
	if (uri == NULL || strncmp(uri, SCAN_PREFIX, strlen(SCAN_PREFIX)) != 0 ||
		!token_ok(token = uri + strlen(SCAN_PREFIX)))
		return sl_fail(err, SL_EINVAL, "not a sleutel login code (sleutel://login?t=...)");
	if ((body = json_pack("{s:s}", "token", token)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = sapp_call(app, "POST", "/scan", body, true, 0, &status, &ans, err);
	json_decref(body);
	if (rc != SL_OK)
		return rc;
	if (!sapp_id_ok(member(ans, "id"))) {
		json_decref(ans);
		return sl_fail(err, SL_EINVAL, "the server's answer to a scan is not a request");
	}
	*out = ans;
	return SL_OK;
}

/* Short printable ASCII: what the server puts in a context, nothing a
 * server could use to write a sentence of its own into the app's. */
static bool
context_part(const json_t *ctx, const char *name, char *out, size_t size)
{
	const char *v = member(ctx, name);
	size_t n = v ? strlen(v) : 0;

	if (v == NULL || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < ' ' || v[i] > '~')
			return false;
	memcpy(out, v, n + 1);
	return true;
}

int
sapp_request_context(const json_t *request, struct sapp_context *out)
{
	const json_t *ctx = json_object_get(request, "context");

	memset(out, 0, sizeof(*out));
	if (ctx == NULL)
		return SL_ENOTFOUND;
	if (!json_is_object(ctx) || !context_part(ctx, "browser", out->sc_browser, sizeof(out->sc_browser)) ||
		!context_part(ctx, "os", out->sc_os, sizeof(out->sc_os)) ||
		!context_part(ctx, "network", out->sc_network, sizeof(out->sc_network))) {
		memset(out, 0, sizeof(*out));
		return SL_EINVAL;
	}
	return SL_OK;
}
