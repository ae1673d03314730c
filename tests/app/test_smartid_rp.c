/*
 * test_smartid_rp.c — libsleutel-app's side of Smart-ID RP API requests
 * without a server (docs/smart-id.md "Device side"): crafted request
 * objects checked before any PIN (a wrong verification code, an
 * interaction list of unknown types only, a 61-character displayText60,
 * control characters, PIN1's key asked to sign, names that differ), the
 * ACSP_V2 hash the app signs equal to the published worked example
 * (facts §4b, vector A) for its userChallenge, v2's code of the hash
 * (the published "Hello World!" vector), the three codes of a
 * verification-code choice, the same-device callback URL, and device
 * links refused before anything is sent (malformed, or another server's).
 *
 * The app's server is https://127.0.0.1:9 (nothing listens): a call that
 * reached the network would be SL_EIO, so SL_EINVAL / SL_EDENIED prove a
 * refusal made before anything was sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "../../src/sidproto/sidproto.h"
#include "app_test.h"

#define PIN1 "1234"
#define PIN2 "54321"
#define REQ_ID "req_0123456789abcdefghij"

/* The published worked example (facts §4b vector A, §5, §6). */
#define SERVER_RANDOM "MTlop6EXCrQ6FOErcKjxUhbV"
#define RP_CHALLENGE "GYS+yoah6emAcVDNIajwSs6UB/M95XrDxMzXBUkwQJ9YFDipXXzGpPc7raWcuc2+TEoRc7WvIZ/7dU/iRXenYg=="
#define RP_CHALLENGE_VC "7180"
#define USER_CHALLENGE "GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00"
#define CALLBACK "https://rp.example.com/callback-url?value=RrKjjT4aggzu27YBddX1bQ"
#define SECRET "B98ODiVCebRedSwdTk51zFSaGYyHtY1H2A0ocAi3/Ps="
#define INTER                                                                                                          \
	"W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2UiLCJkaXNwbGF5VGV4dDIwMCI6IkxvbmdlciBkZXNjcmlwdGlvbiBvZiB0aGUgdHJhbnNh" \
	"Y3Rpb24gY29udGV4dCJ9LHsidHlwZSI6ImRpc3BsYXlUZXh0QW5kUElOIiwiZGlzcGxheVRleHQ2MCI6IlNob3J0IGRlc2NyaXB0aW9uIG9m" \
	"IHRoZSB0cmFuc2FjdGlvbiBjb250ZXh0In1d"
#define VECTOR_A "pKOjbNl/5Fy8NfrFqsj6pSn8W8O+Ik8rM33QSsbyD3J9qDJvEm90SboUciuY4wHGWa0Pnq8BgT3NJKmJiUDfKg=="

static const struct camo_params cheap = { 1, 1, 1 };
static struct sk_device_key dev[SAPP_SID_NKEYS];
static struct sk_server_key srv[SAPP_SID_NKEYS];
static char tmpdir[64];
static char secret_digest[SIDP_USER_CHALLENGE_LEN + 1];

static int
setup(void **state)
{
	uint8_t *secret, h[SL_SHA256_LEN];
	size_t len = 0;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sapp-rp-test.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (app_test_sid_keygen(dev, srv, &cheap, PIN1, PIN2) != SL_OK)
		return -1;
	/* The published session secret's digest, as a Web2App callback carries it. */
	if ((secret = sl_b64_decode(SECRET, strlen(SECRET), &len)) == NULL || crypto_sha256(secret, len, h) != SL_OK)
		return -1;
	free(secret);
	{
		char *enc = sl_b64url_encode(h, sizeof(h));
		sl_strlcpy(secret_digest, enc, sizeof(secret_digest));
		free(enc);
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	app_test_sid_keys_clear(dev, srv);
	return app_test_rmdir(tmpdir);
}

/* Standard Base64 of a text (the interactions field). */
static char *
b64(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(4 * (n / 3 + 1) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)n);
	return out;
}

/* The worked example's request: a Web2App authentication (ACSP_V2,
 * SHA-512, PSS) whose first interaction is confirmationMessage. */
static json_t *
auth_request(void)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:i, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
			      "s:s, s:s, s:s, s:s, s:s, s:s}}",
		"id", REQ_ID, "rp_name", "DEMO", "action", "login", "key", "auth", "display_text",
		"Longer description of the transaction context", "verification_code", "digest", "SHA512", "padding",
		"pss", "expires_in", 87, "rp_api", "api", "v3", "session_type", "auth", "flow_type", "Web2App",
		"signature_protocol", "ACSP_V2", "scheme", "smart-id", "server_random", SERVER_RANDOM, "rp_challenge",
		RP_CHALLENGE, "rp_name", "DEMO", "brokered_rp_name", "Example RP", "interactions", INTER,
		"initial_callback_url", CALLBACK, "session_secret_digest", secret_digest, "hash_algorithm", "SHA-512");

	assert_non_null(r);
	return r;
}

static json_t *
api(json_t *r)
{
	return json_object_get(r, "rp_api");
}

/* `r` as a notification authentication offering `interactions` (JSON). */
static json_t *
notification(json_t *r, const char *interactions, const char *vc)
{
	char *enc = b64(interactions);

	json_object_set_new(api(r), "flow_type", json_string("Notification"));
	json_object_set_new(api(r), "initial_callback_url", json_string(""));
	json_object_del(api(r), "session_secret_digest");
	json_object_set_new(api(r), "interactions", json_string(enc));
	json_object_set_new(r, "verification_code", vc ? json_string(vc) : json_null());
	free(enc);
	return r;
}

/* A v3 notification signature (RAW_DIGEST_SIGNATURE) of a SHA-512 digest. */
static json_t *
sign_request(void)
{
	uint8_t h[64];
	char *h64;
	json_t *r = notification(auth_request(),
		"[{\"type\":\"confirmationMessage\",\"displayText200\":\"Sign the "
		"contract\"}]",
		"4927");

	memset(h, 0x42, sizeof(h));
	h64 = sl_b64url_encode(h, sizeof(h));
	json_object_set_new(r, "action", json_string("sign"));
	json_object_set_new(r, "key", json_string("sign"));
	json_object_set_new(r, "hash", json_string(h64));
	json_object_set_new(api(r), "session_type", json_string("sign"));
	json_object_set_new(api(r), "signature_protocol", json_string("RAW_DIGEST_SIGNATURE"));
	json_object_set_new(api(r), "rp_challenge", json_null());
	free(h64);
	return r;
}

static int
check(const json_t *r, struct sapp_rp_view *v)
{
	struct sl_err err = { 0 };

	return sapp_rp_check(r, v, &err);
}

/* An app on an active Smart-ID state whose server does not listen. */
static struct sapp *
active_app(const char *name)
{
	struct sapp_state *st = malloc(sizeof(*st));
	struct sapp *app = NULL;
	struct sl_err err;
	char path[128];

	assert_non_null(st);
	app_test_path(tmpdir, path, sizeof(path), name);
	app_test_sid_state(st, dev, srv, &cheap, true);
	sl_strlcpy(st->st_server, "https://127.0.0.1:9", sizeof(st->st_server));
	assert_int_equal(sapp_state_save(path, st, &err), SL_OK);
	free(st);
	assert_int_equal(sapp_open(path, &app, &err), SL_OK);
	return app;
}

static uint64_t
auth_version(struct sapp *app)
{
	struct sk_device_key k = { 0 };
	struct sl_err err;
	uint64_t v;

	assert_int_equal(sapp_sid_key_load(app, SAPP_SID_AUTH, &k, &err), SL_OK);
	v = k.dk_version;
	sk_device_key_clear(&k);
	return v;
}

/* ---- the published example ---- */

static void
test_acsp_vector(void **state)
{
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	uint8_t h[SAPP_SID_HASH_MAX], *want;
	size_t len = 0, wlen = 0;
	json_t *r = auth_request();

	(void)state;
	assert_true(sapp_rp_is(r));
	assert_int_equal(sapp_rp_check(r, &v, &err), SL_OK);
	assert_string_equal(v.rv_action, "login");
	assert_string_equal(v.rv_use, "auth");
	assert_string_equal(v.rv_flow, "Web2App");
	assert_true(v.rv_same_device);
	assert_true(v.rv_supported);
	assert_string_equal(v.rv_interaction, "confirmationMessage"); /* the first, in the RP's order */
	assert_string_equal(v.rv_text, "Longer description of the transaction context");
	assert_string_equal(v.rv_vc, "");
	assert_false(v.rv_vc_choice);

	/* The hash the app signs for that userChallenge is the published one. */
	assert_int_equal(sapp_rp_digest(r, USER_CHALLENGE, h, &len, &err), SL_OK);
	want = sl_b64_decode(VECTOR_A, strlen(VECTOR_A), &wlen);
	assert_non_null(want);
	assert_int_equal(len, 64);
	assert_int_equal(wlen, 64);
	assert_memory_equal(h, want, 64);
	free(want);
	/* Another userChallenge, another hash; a malformed one is refused. */
	assert_int_equal(sapp_rp_digest(r, "TLSjYRH2oYw8tW2bq0it0IUb7WIFkCLgF8NTc7-4Zq4", h, &len, &err), SL_OK);
	want = sl_b64_decode(VECTOR_A, strlen(VECTOR_A), &wlen);
	assert_non_null(want);
	assert_memory_not_equal(h, want, 64);
	free(want);
	assert_int_equal(sapp_rp_digest(r, "short", h, &len, &err), SL_EINVAL);

	/* A request without rp_api is not one. */
	json_object_del(r, "rp_api");
	assert_false(sapp_rp_is(r));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
}

/* ---- verification codes ---- */

static void
test_wrong_vc_refused(void **state)
{
	static const char *const ia = "[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Log in to DEMO\"}]";
	struct sapp *app = active_app("vc.json");
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	uint64_t before = auth_version(app);
	json_t *r = notification(auth_request(), ia, RP_CHALLENGE_VC), *out = NULL;

	(void)state;
	/* The published rpChallenge's code: accepted, shown. */
	assert_int_equal(check(r, &v), SL_OK);
	assert_string_equal(v.rv_vc, RP_CHALLENGE_VC);
	assert_string_equal(v.rv_flow, "Notification");
	assert_false(v.rv_same_device);

	/* Another code: refused, before the PIN (no network, the key did not move). */
	json_object_set_new(r, "verification_code", json_string("7181"));
	assert_int_equal(sapp_rp_check(r, &v, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "verification code"));
	assert_int_equal(sapp_rp_confirm(app, r, NULL, PIN1, &out, NULL, &err), SL_EINVAL);
	assert_null(out);
	assert_int_equal(auth_version(app), before);
	/* So is sapp_sid_confirm's path for it, and none at all. */
	assert_int_equal(sapp_sid_confirm(app, r, PIN1, &out, &err), SL_EINVAL);
	json_object_set_new(r, "verification_code", json_null());
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_object_set_new(r, "verification_code", json_string("71800"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	/* A device-link request shows none: a code there is refused. */
	json_decref(r);
	r = auth_request();
	json_object_set_new(r, "verification_code", json_string("1234"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	assert_int_equal(auth_version(app), before);
	json_decref(r);
	sapp_free(app);
}

/* v2: the code of the hash; the published "Hello World!" vector. */
static void
test_v2(void **state)
{
	uint8_t h[SL_SHA256_LEN], d[SAPP_SID_HASH_MAX];
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	size_t len = 0;
	char *h64;
	json_t *r = sign_request(), *arr = json_loads("[{\"type\":\"verificationCodeChoice\",\"displayText60\":"
						      "\"Sign?\"}]",
					    0, NULL);

	(void)state;
	assert_int_equal(crypto_sha256("Hello World!", 12, h), SL_OK);
	h64 = sl_b64url_encode(h, sizeof(h));
	json_object_set_new(r, "hash", json_string(h64));
	json_object_set_new(r, "digest", json_string("SHA256"));
	json_object_set_new(r, "padding", json_string("pkcs1"));
	json_object_set_new(r, "verification_code", json_string("7712"));
	json_object_set_new(api(r), "api", json_string("v2"));
	json_object_set_new(api(r), "signature_protocol", json_null());
	json_object_set_new(api(r), "interactions", json_null());
	json_object_set_new(api(r), "interactions_v2", arr);
	json_object_set_new(api(r), "hash_algorithm", json_string("SHA-256"));
	assert_int_equal(sapp_rp_check(r, &v, &err), SL_OK);
	assert_string_equal(v.rv_vc, "7712");
	assert_string_equal(v.rv_interaction, "verificationCodeChoice");
	assert_true(v.rv_vc_choice);
	assert_int_equal(sapp_rp_digest(r, NULL, d, &len, &err), SL_OK);
	assert_int_equal(len, 32);
	assert_memory_equal(d, h, 32); /* signed as it is */

	json_object_set_new(r, "verification_code", json_string("7713"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	/* v2 has no device links, and no signature protocol. */
	json_object_set_new(r, "verification_code", json_string("7712"));
	json_object_set_new(api(r), "signature_protocol", json_string("RAW_DIGEST_SIGNATURE"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_object_set_new(api(r), "signature_protocol", json_null());
	json_object_set_new(api(r), "flow_type", json_string("QR"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	free(h64);
	json_decref(r);
}

/* ---- interactions ---- */

static void
test_interactions(void **state)
{
	struct sapp *app = active_app("ia.json");
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	char text[128], *j;
	json_t *r, *out = NULL;

	(void)state;
	/* Only types this app does not know: not supported, nothing signed. */
	r = notification(
		auth_request(), "[{\"type\":\"holographicConsent\",\"displayText60\":\"x\"}]", RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_OK);
	assert_false(v.rv_supported);
	assert_int_equal(sapp_rp_confirm(app, r, NULL, PIN1, &out, NULL, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "no interaction"));
	json_decref(r);

	/* An unknown one first is skipped: the next, in the RP's order. */
	r = notification(auth_request(),
		"[{\"type\":\"holographicConsent\",\"displayText60\":\"x\"},{\"type\":"
		"\"confirmationMessageAndVerificationCodeChoice\",\"displayText200\":\"Log in to DEMO?\"},{\"type\":"
		"\"displayTextAndPIN\",\"displayText60\":\"Log in\"}]",
		RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_OK);
	assert_true(v.rv_supported);
	assert_string_equal(v.rv_interaction, "confirmationMessageAndVerificationCodeChoice");
	assert_string_equal(v.rv_text, "Log in to DEMO?");
	assert_true(v.rv_vc_choice);
	/* A choice without a pick is refused before the PIN. */
	assert_int_equal(sapp_rp_confirm(app, r, NULL, PIN1, &out, NULL, &err), SL_EINVAL);
	json_decref(r);

	/* displayText60: 60 characters (of UTF-8) pass, 61 do not. */
	j = malloc(1024);
	assert_non_null(j);
	memset(text, 'a', 61);
	text[61] = '\0';
	snprintf(j, 1024, "[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"%s\"}]", text);
	r = notification(auth_request(), j, RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	text[60] = '\0';
	snprintf(j, 1024, "[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"%s\"}]", text);
	r = notification(auth_request(), j, RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_OK);
	assert_int_equal(strlen(v.rv_text), 60);
	json_decref(r);

	/* Control characters: an escape sequence, a line break. */
	r = notification(auth_request(),
		"[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay\\u001b[2J 10 EUR\"}]", RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	r = notification(auth_request(), "[{\"type\":\"confirmationMessage\",\"displayText200\":\"Pay\\n10 EUR\"}]",
		RP_CHALLENGE_VC);
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);

	/* The code choice is for notification flows only (not a device link). */
	r = auth_request();
	{
		char *enc =
			b64("[{\"type\":\"confirmationMessageAndVerificationCodeChoice\",\"displayText200\":\"x\"}]");
		json_object_set_new(api(r), "interactions", json_string(enc));
		free(enc);
	}
	assert_int_equal(check(r, &v), SL_EINVAL);
	/* Not Base64 of a JSON array. */
	json_object_set_new(api(r), "interactions", json_string("bm90IGpzb24="));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_object_set_new(api(r), "interactions", json_string("!!!"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	free(j);
	sapp_free(app);
}

/* ---- keys, actions, names ---- */

static void
test_keys(void **state)
{
	struct sapp *app = active_app("keys.json");
	struct sapp_rp_view v;
	struct sl_err err = { 0 };
	uint8_t d[SAPP_SID_HASH_MAX];
	size_t len = 0;
	json_t *r = sign_request(), *out = NULL;

	(void)state;
	assert_int_equal(check(r, &v), SL_OK);
	assert_string_equal(v.rv_use, "sign");
	assert_string_equal(v.rv_vc, "4927"); /* the server's random code, shown */
	assert_int_equal(sapp_rp_digest(r, NULL, d, &len, &err), SL_OK);
	assert_int_equal(len, 64);
	assert_int_equal(d[0], 0x42);
	/* PIN1's key is never asked to sign, PIN2's never to log in. */
	json_object_set_new(r, "key", json_string("auth"));
	assert_int_equal(sapp_rp_check(r, &v, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "does not match its action"));
	assert_int_equal(sapp_rp_confirm(app, r, NULL, PIN1, &out, NULL, &err), SL_EINVAL);
	json_object_set_new(r, "key", json_string("sign"));
	/* PIN1's form for PIN2: refused before anything is made or sent. */
	assert_int_equal(sapp_rp_confirm(app, r, NULL, "1234", &out, NULL, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "PIN2"));
	/* The digest must be of the hash algorithm; ACSP_V2 does not sign one. */
	json_object_set_new(r, "hash", json_string("AAAA"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	r = sign_request();
	json_object_set_new(api(r), "signature_protocol", json_string("ACSP_V2"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	r = sign_request();
	json_object_set_new(r, "digest", json_string("SHA256"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	r = auth_request();
	json_object_set_new(r, "hash", json_string("QUJD"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	/* The name shown is the name signed. */
	json_object_del(r, "hash");
	json_object_set_new(api(r), "rp_name", json_string("Evil bank"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_object_set_new(api(r), "rp_name", json_string("DEMO"));
	json_object_set_new(r, "key", json_string("sign"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);

	/* A certificate choice: the sign key, no PIN, no interaction. */
	r = sign_request();
	json_object_set_new(r, "action", json_string("cert"));
	json_object_del(r, "hash");
	json_object_set_new(r, "verification_code", json_null());
	json_object_set_new(api(r), "session_type", json_string("cert"));
	json_object_set_new(api(r), "signature_protocol", json_null());
	json_object_set_new(api(r), "interactions", json_null());
	assert_int_equal(check(r, &v), SL_OK);
	assert_null(v.rv_use);
	assert_null(v.rv_interaction);
	assert_int_equal(sapp_rp_digest(r, NULL, d, &len, &err), SL_EINVAL);
	json_object_set_new(r, "key", json_string("auth"));
	assert_int_equal(check(r, &v), SL_EINVAL);
	json_decref(r);
	sapp_free(app);
}

/* ---- verification-code choice ---- */

static void
test_choices(void **state)
{
	char codes[SAPP_RP_CHOICES][5];
	struct sl_err err = { 0 };
	int where[SAPP_RP_CHOICES] = { 0 };

	(void)state;
	for (int n = 0; n < 300; n++) {
		int right = 0;
		assert_int_equal(sapp_rp_choices("0042", codes, &err), SL_OK);
		for (int i = 0; i < SAPP_RP_CHOICES; i++) {
			assert_int_equal(strlen(codes[i]), 4);
			assert_int_equal(strspn(codes[i], "0123456789"), 4);
			for (int k = 0; k < i; k++)
				assert_string_not_equal(codes[i], codes[k]);
			if (strcmp(codes[i], "0042") == 0) {
				right++;
				where[i]++;
			}
		}
		assert_int_equal(right, 1);
	}
	for (int i = 0; i < SAPP_RP_CHOICES; i++)
		assert_true(where[i] > 0); /* the right code is not always in one place */
	assert_int_equal(sapp_rp_choices("42", codes, &err), SL_EINVAL);
	assert_int_equal(sapp_rp_choices(NULL, codes, &err), SL_EINVAL);
}

/* ---- the same-device callback ---- */

static void
test_callback(void **state)
{
	struct sl_err err = { 0 };
	char want[512], *url = NULL;
	json_t *r = auth_request();

	(void)state;
	assert_int_equal(sapp_rp_callback(r, USER_CHALLENGE, &url, &err), SL_OK);
	snprintf(want, sizeof(want), "%s&sessionSecretDigest=%s&userChallengeVerifier=%s", CALLBACK, secret_digest,
		USER_CHALLENGE);
	assert_string_equal(url, want);
	free(url);
	/* No verifier (a signature, a refusal); a URL without a query. */
	json_object_set_new(api(r), "initial_callback_url", json_string("https://rp.example.com/back"));
	assert_int_equal(sapp_rp_callback(r, NULL, &url, &err), SL_OK);
	snprintf(want, sizeof(want), "https://rp.example.com/back?sessionSecretDigest=%s", secret_digest);
	assert_string_equal(url, want);
	free(url);
	assert_int_equal(sapp_rp_callback(r, "not a verifier", &url, &err), SL_EINVAL);
	assert_null(url);
	/* Only a same-device flow has one; http:// is not a callback. */
	json_object_set_new(api(r), "initial_callback_url", json_string("http://rp.example.com/back"));
	assert_int_equal(sapp_rp_callback(r, NULL, &url, &err), SL_EINVAL);
	json_object_set_new(api(r), "flow_type", json_string("QR"));
	assert_int_equal(sapp_rp_callback(r, NULL, &url, &err), SL_EINVAL);
	assert_null(url);
	json_decref(r);
}

/* ---- device links ---- */

#define LINK_AUTH_CODE "aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0"
#define LINK_QUERY                                                                                                     \
	"?deviceLinkType=QR&elapsedSeconds=3&sessionToken=wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=" \
	"eng&authCode=" LINK_AUTH_CODE

static void
test_links(void **state)
{
	static const char *const bad[] = {
		"",
		"not a link",
		"https://127.0.0.1:9/smart-id/device-link?deviceLinkType=QR&sessionToken=wGIrqveE6AuGDATZKmR1mtAZ&"
		"sessionType=auth&version=1.0&lang=eng&authCode=" LINK_AUTH_CODE, /* QR without elapsedSeconds */
		"https://127.0.0.1:9/smart-id/device-link?deviceLinkType=Web2App&elapsedSeconds=3&sessionToken="
		"wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode=" LINK_AUTH_CODE,
		"https://127.0.0.1:9/smart-id/device-link?elapsedSeconds=3&deviceLinkType=QR&sessionToken="
		"wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode=" LINK_AUTH_CODE, /* order */
		"https://127.0.0.1:9/smart-id/device-link?deviceLinkType=QR&elapsedSeconds=3&sessionToken="
		"wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=2.0&lang=eng&authCode=" LINK_AUTH_CODE,
		"https://127.0.0.1:9/smart-id/device-link?deviceLinkType=QR&elapsedSeconds=3&sessionToken="
		"wGIrqveE6AuGDATZKmR1mtAZ&sessionType=auth&version=1.0&lang=eng",
		"https://127.0.0.1:9/smart-id/device-link?deviceLinkType=QR&elapsedSeconds=3&sessionToken="
		"wGIrqveE6AuGDATZKmR1mtAZ&sessionType=login&version=1.0&lang=eng&authCode=" LINK_AUTH_CODE,
		"https://127.0.0.1:9/smart-id/"
		"device-link?deviceLinkType=QR&elapsedSeconds=3&sessionToken=wGIrqveE6AuGDATZ%"
		"4BmR1mtAZ&sessionType=auth&version=1.0&lang=eng&authCode=" LINK_AUTH_CODE,
	};
	struct sapp *app = active_app("links.json"), *none = NULL;
	struct sl_err err = { 0 };
	char *huge;
	json_t *r = NULL;
	char path[128];

	(void)state;
	/* Malformed links: refused by the parser, nothing sent. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(sapp_sid_link_claim(app, bad[i], &r, &err), SL_EINVAL);
		assert_null(r);
		assert_true(err.msg[0] != '\0');
	}
	huge = malloc(SIDP_LINK_MAX + 64);
	assert_non_null(huge);
	snprintf(huge, SIDP_LINK_MAX + 64, "https://127.0.0.1:9/smart-id/device-link" LINK_QUERY "%s", "");
	memset(huge + strlen(huge), 'a', SIDP_LINK_MAX + 10 - strlen(huge)); /* a longer authCode */
	huge[SIDP_LINK_MAX + 10] = '\0';
	assert_int_equal(sapp_sid_link_claim(app, huge, &r, &err), SL_EINVAL);
	free(huge);

	/* Another server's link, well formed: refused before anything is sent. */
	assert_int_equal(sapp_sid_link_claim(app, "https://smart-id.com/device-link" LINK_QUERY, &r, &err), SL_EDENIED);
	assert_non_null(strstr(err.msg, "not for this app's server"));
	assert_int_equal(
		sapp_sid_link_claim(app, "https://127.0.0.1:90/smart-id/device-link" LINK_QUERY, &r, &err), SL_EDENIED);
	assert_int_equal(sapp_sid_link_claim(app, "https://127.0.0.1:9.evil.example/device-link" LINK_QUERY, &r, &err),
		SL_EDENIED);
	assert_null(r);
	/* This server's: it goes to the network (nothing listens here). */
	assert_int_equal(
		sapp_sid_link_claim(app, "https://127.0.0.1:9/smart-id/device-link" LINK_QUERY, &r, &err), SL_EIO);
	assert_null(r);
	sapp_free(app);

	/* Without an active Smart-ID nothing is claimed. */
	app_test_path(tmpdir, path, sizeof(path), "plain.json");
	assert_int_equal(sapp_create(path, "https://127.0.0.1:9", NULL, &none, &err), SL_OK);
	assert_int_equal(
		sapp_sid_link_claim(none, "https://127.0.0.1:9/smart-id/device-link" LINK_QUERY, &r, &err), SL_EINVAL);
	sapp_free(none);
}

/* ---- the EM of a PSS signature ---- */

/* The app returns the EM its part was made over (a PSS salt is random:
 * the server completes that one): a valid PSS encoding of the hash, fresh
 * each time; PKCS#1 needs none. */
static void
test_sign_em(void **state)
{
	struct sapp *app = active_app("em.json");
	uint8_t hash[64], pub[P256_PUB_LEN], em[2][1024], *dec, other[64];
	EVP_PKEY *seal_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct sapp_sid_sig sig = { SAPP_SID_AUTH, PIN1, SK_PSS, "SHA512", hash, sizeof(hash), "k1", pub, REQ_ID };
	struct sl_err err = { 0 };
	size_t len[2] = { 0, 0 };
	uint64_t version = 0;
	char *part = NULL, *em64 = NULL;

	(void)state;
	assert_non_null(seal_key);
	assert_int_equal(
		EVP_PKEY_get_octet_string_param(seal_key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len[0]), 1);
	memset(hash, 0x37, sizeof(hash));
	memset(other, 0x38, sizeof(other));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sapp_sid_sign_em(app, &sig, &version, &part, &em64, &err), SL_OK);
		sapp_release(app); /* as a caller does once the answer was sent */
		assert_non_null(part);
		assert_non_null(em64);
		/* Copied and freed at once: nothing of the first round is held
		 * while the second calls into src/ (the allocation sweep cannot
		 * tell a result kept from a loop's earlier round on this same
		 * line from a leak of the call that failed). */
		dec = sl_b64url_decode(em64, strlen(em64), &len[i]);
		assert_non_null(dec);
		assert_true(len[i] <= sizeof(em[i]));
		memcpy(em[i], dec, len[i]);
		free(dec);
		assert_int_equal(sk_encode_check(srv[0].sk_n, SK_PSS, "SHA512", hash, 64, em[i], len[i], &err), SL_OK);
		assert_int_equal(
			sk_encode_check(srv[0].sk_n, SK_PSS, "SHA512", other, 64, em[i], len[i], &err), SL_EINVAL);
		free(part);
		free(em64);
	}
	assert_int_equal(len[0], len[1]);
	assert_memory_not_equal(em[0], em[1], len[0]); /* a fresh salt */
	EVP_PKEY_free(seal_key);
	sapp_free(app);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acsp_vector),
		cmocka_unit_test(test_wrong_vc_refused),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_interactions),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_callback),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_sign_em),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
