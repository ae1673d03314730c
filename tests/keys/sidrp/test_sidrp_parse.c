/* test_sidrp_parse.c — the RP API's request parsers (parse.c, parse_v2.c):
 * every v3 and v2 path into its type, flow and target, identifiers of the
 * wrong shape refused 404, the published example bodies accepted, and
 * each field's refusal (400 naming the member), the ss_params it keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../src/keys/sidrp/sidrp_int.h"

#define UUID "00000000-0000-4000-8000-000000000000"
#define ETSI "PNOBE-85073003328"
#define DOC "PNOBE-85073003328-AB2C-Q"
/* The API's published examples (facts §9, §4b). */
#define RP_CHALLENGE "S480uRoCX4pAb1tWqAy8WGl/AWE1RnqaP2y5iamCDhlCyQrMTVa5d8Dh34sZ+UePHXRNKTwz7QTvsIL1ls05AQ=="
#define DIGEST "VC3jDipMw9TgSQrIm3oYuz2t/GciD3Aw2WTpnaGpo+1sdkkRiCnbRz08uqlgU6q1W2/VP6PDxSQlOy5AIxT5Xw=="
#define INTER                                                                                                          \
	"W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2UiLCJkaXNwbGF5VGV4dDIwMCI6IkxvbmdlciBkZXNjcmlwdGlvbiBvZiB0aGUgdHJhbnNh" \
	"Y3Rpb24gY29udGV4dCJ9LHsidHlwZSI6ImRpc3BsYXlUZXh0QW5kUElOIiwiZGlzcGxheVRleHQ2MCI6IlNob3J0IGRlc2NyaXB0aW9uIG9m" \
	"IHRoZSB0cmFuc2FjdGlvbiBjb250ZXh0In1d"
/* [{"type":"confirmationMessageAndVerificationCodeChoice","displayText200":"Pay 10 EUR"}] */
#define INTER_VC_CHOICE                                                                                                \
	"W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2VBbmRWZXJpZmljYXRpb25Db2RlQ2hvaWNlIiwiZGlzcGxheVRleHQyMDAiOiJQYXkgMTAg" \
	"RVVSIn1d"
#define SHA256_HELLO "f4OxZX/x/FO5LcGBSKHWXfwtSx+j1ncoSt3SABJtkGk=" /* SHA-256("Hello World!") */

static json_t *
auth_body(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:s}", "relyingPartyUUID", UUID, "relyingPartyName",
		"DEMO", "certificateLevel", "QUALIFIED", "signatureProtocol", "ACSP_V2", "signatureProtocolParameters",
		"rpChallenge", RP_CHALLENGE, "signatureAlgorithm", "rsassa-pss", "signatureAlgorithmParameters",
		"hashAlgorithm", "SHA-512", "interactions", INTER, "vcType", "numeric4");
}

static json_t *
sign_body(void)
{
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:s}", "relyingPartyUUID", UUID, "relyingPartyName",
		"DEMO", "signatureProtocol", "RAW_DIGEST_SIGNATURE", "signatureProtocolParameters", "digest", DIGEST,
		"signatureAlgorithm", "rsassa-pss", "signatureAlgorithmParameters", "hashAlgorithm", "SHA-512", "nonce",
		"d8XkbEnA0WsE0PvBZZoxGnPI4ml9qk", "interactions", INTER);
}

static json_t *
plain_body(void)
{
	return json_pack("{s:s,s:s}", "relyingPartyUUID", UUID, "relyingPartyName", "DEMO");
}

static json_t *
v2_body(void)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "relyingPartyUUID", UUID, "relyingPartyName", "DEMO",
		"hash", SHA256_HELLO, "hashType", "SHA256", "allowedInteractionsOrder", "type", "displayTextAndPIN",
		"displayText60", "Log in");
}

/* Parse `body` (stolen) at `path`; r is cleared by the caller. */
static int
run(int api, const char *path, json_t *body, struct sidrp_req *r, struct sidrp_problem *pr)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	assert_non_null(text);
	rc = api == 3 ? sidrp_parse_v3(path, text, strlen(text), r, pr)
		      : sidrp_parse_v2(path, text, strlen(text), r, pr);
	free(text);
	json_decref(body);
	return rc;
}

static void
ok3(const char *path, json_t *body, enum sidrp_type type, enum sidrp_flow flow, enum sidrp_target target)
{
	struct sidrp_req r;
	struct sidrp_problem pr;

	if (run(3, path, body, &r, &pr) != SL_OK)
		fail_msg("%s: %d %s (%s)", path, pr.sp_status, pr.sp_detail, pr.sp_param);
	assert_int_equal(r.sr_api, 3);
	assert_int_equal(r.sr_type, type);
	assert_int_equal(r.sr_flow, flow);
	assert_int_equal(r.sr_target, target);
	if (target == SIDRP_ETSI)
		assert_string_equal(r.sr_target_value, "85073003328");
	if (target == SIDRP_DOCUMENT)
		assert_string_equal(r.sr_target_value, DOC);
	sidrp_req_clear(&r);
}

/* Refused with `status` naming `param` ("" for none). */
static void
bad(int api, const char *path, json_t *body, int status, const char *param)
{
	struct sidrp_req r;
	struct sidrp_problem pr;

	if (run(api, path, body, &r, &pr) != SL_EINVAL)
		fail_msg("%s: accepted, expected %d %s", path, status, param);
	assert_int_equal(pr.sp_status, status);
	assert_string_equal(pr.sp_param, param);
	assert_true(pr.sp_detail[0] != '\0');
	sidrp_req_clear(&r);
}

static void
test_v3_paths(void **state)
{
	(void)state;
	ok3("authentication/device-link/etsi/" ETSI, auth_body(), SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ETSI);
	ok3("authentication/device-link/document/" DOC, auth_body(), SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_DOCUMENT);
	ok3("authentication/device-link/anonymous", auth_body(), SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ANONYMOUS);
	ok3("authentication/notification/etsi/" ETSI, auth_body(), SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
	ok3("authentication/notification/document/" DOC, auth_body(), SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_DOCUMENT);
	ok3("signature/device-link/etsi/" ETSI, sign_body(), SIDRP_SIGN, SIDRP_DEVICE_LINK, SIDRP_ETSI);
	ok3("signature/device-link/document/" DOC, sign_body(), SIDRP_SIGN, SIDRP_DEVICE_LINK, SIDRP_DOCUMENT);
	ok3("signature/notification/etsi/" ETSI, sign_body(), SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_ETSI);
	ok3("signature/notification/document/" DOC, sign_body(), SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_DOCUMENT);
	json_t *linked = sign_body();
	json_object_set_new(linked, "linkedSessionID", json_string("0aa27573-5ac2-479e-9c69-00343ff8416f"));
	ok3("signature/notification/linked/" DOC, linked, SIDRP_SIGN, SIDRP_LINKED, SIDRP_DOCUMENT);
	ok3("signature/certificate/" DOC, plain_body(), SIDRP_CERT, SIDRP_NOTIFICATION, SIDRP_DOCUMENT);
	ok3("signature/certificate-choice/device-link/anonymous", plain_body(), SIDRP_CERT_CHOICE, SIDRP_DEVICE_LINK,
		SIDRP_ANONYMOUS);
	ok3("signature/certificate-choice/notification/etsi/" ETSI, plain_body(), SIDRP_CERT_CHOICE, SIDRP_NOTIFICATION,
		SIDRP_ETSI);
}

static void
test_v3_bad_paths(void **state)
{
	(void)state;
	bad(3, "authentication/device-link/etsi/PNOBE-85073003329", auth_body(), 404, ""); /* check digits */
	bad(3, "authentication/device-link/etsi/PNOEE-30001010004", auth_body(), 404, "");
	bad(3, "authentication/device-link/etsi/PNOBE-8507300332", auth_body(), 404, "");
	bad(3, "authentication/device-link/etsi/", auth_body(), 404, "");
	bad(3, "authentication/device-link/document/" ETSI, auth_body(), 404, "");
	bad(3, "authentication/device-link/document/PNOBE-85073003328-AB2C-X", auth_body(), 404, "");
	bad(3, "authentication/device-link/document/PNOBE-85073003328-AB0C-Q", auth_body(), 404, ""); /* 0 */
	bad(3, "authentication/device-link/document/" DOC "/x", auth_body(), 404, "");
	bad(3, "authentication/device-link/anonymous/x", auth_body(), 404, "");
	bad(3, "certificate-choice/device-link/etsi/" ETSI, plain_body(), 404, "");
	bad(3, "signature/certificate-choice/device-link/etsi/" ETSI, plain_body(), 404, "");
	bad(3, "signature/certificate-choice/notification/document/" DOC, plain_body(), 404, "");
	bad(3, "session/" UUID, plain_body(), 404, "");
	bad(3, "", plain_body(), 404, "");
}

static void
test_v3_body(void **state)
{
	struct sidrp_req r;
	struct sidrp_problem pr;
	char *big = malloc(SIDRP_BODY_MAX + 2);

	(void)state;
	assert_int_equal(sidrp_parse_v3("signature/certificate/" DOC, "[]", 2, &r, &pr), SL_EINVAL);
	assert_int_equal(pr.sp_status, 400);
	sidrp_req_clear(&r);
	assert_int_equal(sidrp_parse_v3("signature/certificate/" DOC, "{", 1, &r, &pr), SL_EINVAL);
	assert_int_equal(pr.sp_status, 400);
	sidrp_req_clear(&r);
	assert_int_equal(sidrp_parse_v3("signature/certificate/" DOC, "", 0, &r, &pr), SL_EINVAL);
	assert_int_equal(pr.sp_status, 400);
	sidrp_req_clear(&r);
	const char *dup =
		"{\"relyingPartyUUID\":\"" UUID "\",\"relyingPartyUUID\":\"" UUID "\",\"relyingPartyName\":\"DEMO\"}";
	assert_int_equal(sidrp_parse_v3("signature/certificate/" DOC, dup, strlen(dup), &r, &pr), SL_EINVAL);
	assert_int_equal(pr.sp_status, 400);
	sidrp_req_clear(&r);
	/* at most SIDRP_BODY_MAX bytes */
	assert_non_null(big);
	memset(big, ' ', SIDRP_BODY_MAX + 1);
	memcpy(big, "{}", 2);
	big[SIDRP_BODY_MAX + 1] = '\0';
	assert_int_equal(sidrp_parse_v3("signature/certificate/" DOC, big, SIDRP_BODY_MAX + 1, &r, &pr), SL_EINVAL);
	assert_int_equal(pr.sp_status, 400);
	assert_non_null(strstr(pr.sp_detail, "larger"));
	sidrp_req_clear(&r);
	free(big);
}

/* `b` with `name` set to `v` (stolen; NULL deletes it). */
static json_t *
with(json_t *b, const char *name, json_t *v)
{
	if (v == NULL)
		json_object_del(b, name);
	else
		json_object_set_new(b, name, v);
	return b;
}

static json_t *
auth_with(const char *name, json_t *v)
{
	return with(auth_body(), name, v);
}

static json_t *
auth_params_with(const char *name, json_t *v)
{
	json_t *b = auth_body(), *p = json_object_get(b, "signatureProtocolParameters");

	if (v == NULL)
		json_object_del(p, name);
	else
		json_object_set_new(p, name, v);
	return b;
}

#define AUTH_N "authentication/notification/etsi/" ETSI
#define AUTH_D "authentication/device-link/anonymous"

static void
test_v3_common_fields(void **state)
{
	char name[130];

	(void)state;
	bad(3, AUTH_N, auth_with("relyingPartyUUID", NULL), 400, "relyingPartyUUID");
	bad(3, AUTH_N, auth_with("relyingPartyUUID", json_integer(1)), 400, "relyingPartyUUID");
	bad(3, AUTH_N, auth_with("relyingPartyUUID", json_string("00000000-0000-4000-8000-00000000000")), 400,
		"relyingPartyUUID");
	bad(3, AUTH_N, auth_with("relyingPartyUUID", json_string("00000000x0000-4000-8000-000000000000")), 400,
		"relyingPartyUUID");
	bad(3, AUTH_N, auth_with("relyingPartyName", NULL), 400, "relyingPartyName");
	bad(3, AUTH_N, auth_with("relyingPartyName", json_string("")), 400, "relyingPartyName");
	bad(3, AUTH_N, auth_with("relyingPartyName", json_string("DE\nMO")), 400, "relyingPartyName");
	memset(name, 'a', 129);
	name[129] = '\0';
	bad(3, AUTH_N, auth_with("relyingPartyName", json_string(name)), 400, "relyingPartyName");
	name[128] = '\0';
	ok3(AUTH_N, auth_with("relyingPartyName", json_string(name)), SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
	bad(3, AUTH_N, auth_with("certificateLevel", json_string("QSCD")), 400, "certificateLevel");
	bad(3, AUTH_N, auth_with("certificateLevel", json_string("qualified")), 400, "certificateLevel");
	bad(3, AUTH_N, auth_with("certificateLevel", json_true()), 400, "certificateLevel");
	ok3(AUTH_N, auth_with("certificateLevel", json_string("ADVANCED")), SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
	bad(3, AUTH_N, auth_with("capabilities", json_string("x")), 400, "capabilities");
	bad(3, AUTH_N, auth_with("capabilities", json_pack("[i]", 1)), 400, "capabilities");
	bad(3, AUTH_N,
		auth_with("capabilities",
			json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k")),
		400, "capabilities");
	memset(name, 'c', 65);
	name[65] = '\0';
	bad(3, AUTH_N, auth_with("capabilities", json_pack("[s]", name)), 400, "capabilities");
	ok3(AUTH_N, auth_with("capabilities", json_pack("[s]", "ADVANCED")), SIDRP_AUTH, SIDRP_NOTIFICATION,
		SIDRP_ETSI);
	bad(3, AUTH_N, auth_with("requestProperties", json_string("x")), 400, "requestProperties");
	bad(3, AUTH_N, auth_with("requestProperties", json_pack("{s:s}", "shareMdClientIpAddress", "yes")), 400,
		"requestProperties.shareMdClientIpAddress");
}

static void
test_v3_protocol_fields(void **state)
{
	(void)state;
	bad(3, AUTH_N, auth_with("signatureProtocol", NULL), 400, "signatureProtocol");
	bad(3, AUTH_N, auth_with("signatureProtocol", json_string("RAW_DIGEST_SIGNATURE")), 400, "signatureProtocol");
	bad(3, AUTH_N, auth_with("signatureProtocolParameters", NULL), 400, "signatureProtocolParameters");
	bad(3, AUTH_N, auth_with("signatureProtocolParameters", json_string("x")), 400, "signatureProtocolParameters");
	bad(3, AUTH_N, auth_params_with("rpChallenge", NULL), 400, "signatureProtocolParameters.rpChallenge");
	bad(3, AUTH_N, auth_params_with("rpChallenge", json_string("not base64!")), 400,
		"signatureProtocolParameters.rpChallenge");
	/* 31 bytes, 65 bytes, a non-zero trailing bit, no padding */
	bad(3, AUTH_N, auth_params_with("rpChallenge", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")),
		400, "signatureProtocolParameters.rpChallenge");
	bad(3, AUTH_N,
		auth_params_with(
			"rpChallenge", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
						   "AAAAAAAAAAAAAAAAAAAAAAA=")),
		400, "signatureProtocolParameters.rpChallenge");
	bad(3, AUTH_N, auth_params_with("rpChallenge", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=")),
		400, "signatureProtocolParameters.rpChallenge");
	bad(3, AUTH_N, auth_params_with("rpChallenge", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")), 400,
		"signatureProtocolParameters.rpChallenge");
	ok3(AUTH_N, auth_params_with("rpChallenge", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
		SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
	bad(3, AUTH_N, auth_params_with("signatureAlgorithm", NULL), 400,
		"signatureProtocolParameters.signatureAlgorithm");
	bad(3, AUTH_N, auth_params_with("signatureAlgorithm", json_string("rsassa-pkcs")), 400,
		"signatureProtocolParameters.signatureAlgorithm");
	bad(3, AUTH_N, auth_params_with("signatureAlgorithmParameters", NULL), 400,
		"signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm");
	bad(3, AUTH_N, auth_params_with("signatureAlgorithmParameters", json_integer(3)), 400,
		"signatureProtocolParameters.signatureAlgorithmParameters");
	bad(3, AUTH_N, auth_params_with("signatureAlgorithmParameters", json_pack("{s:s}", "hashAlgorithm", "SHA-1")),
		400, "signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm");
	/* a PKCS#1 name fixes the hash: agreeing or absent is fine, another is not */
	json_t *b = auth_params_with("signatureAlgorithm", json_string("sha256WithRSAEncryption"));
	bad(3, AUTH_N, b, 400, "signatureProtocolParameters.signatureAlgorithmParameters.hashAlgorithm");
	b = auth_params_with("signatureAlgorithm", json_string("sha512WithRSAEncryption"));
	ok3(AUTH_N, b, SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
	b = auth_params_with("signatureAlgorithm", json_string("sha384WithRSAEncryption"));
	json_object_del(json_object_get(b, "signatureProtocolParameters"), "signatureAlgorithmParameters");
	ok3(AUTH_N, b, SIDRP_AUTH, SIDRP_NOTIFICATION, SIDRP_ETSI);
}

static void
test_v3_flow_fields(void **state)
{
	char url[1900];

	(void)state;
	bad(3, AUTH_N, auth_with("interactions", NULL), 400, "interactions");
	bad(3, AUTH_N, auth_with("interactions", json_string("!!")), 400, "interactions");
	bad(3, AUTH_N, auth_with("interactions", json_string("W10=")), 400, "interactions"); /* [] */
	/* the verification-code choice: notification flows only */
	ok3(AUTH_N, auth_with("interactions", json_string(INTER_VC_CHOICE)), SIDRP_AUTH, SIDRP_NOTIFICATION,
		SIDRP_ETSI);
	bad(3, AUTH_D, auth_with("interactions", json_string(INTER_VC_CHOICE)), 400, "interactions");
	bad(3, AUTH_N, auth_with("vcType", NULL), 400, "vcType");
	bad(3, AUTH_N, auth_with("vcType", json_string("alphaNumeric4")), 400, "vcType");
	ok3(AUTH_D, auth_with("vcType", NULL), SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ANONYMOUS);
	bad(3, AUTH_D, auth_with("initialCallbackUrl", json_string("http://rp.example.com/cb")), 400,
		"initialCallbackUrl");
	bad(3, AUTH_D, auth_with("initialCallbackUrl", json_string("https://rp.example.com/cb#x")), 400,
		"initialCallbackUrl");
	bad(3, AUTH_D, auth_with("initialCallbackUrl", json_string("https://rp.example.com/a|b")), 400,
		"initialCallbackUrl");
	snprintf(url, sizeof(url), "https://rp.example.com/%01790d", 0);
	bad(3, AUTH_D, auth_with("initialCallbackUrl", json_string(url)), 400, "initialCallbackUrl");
	ok3(AUTH_D, auth_with("initialCallbackUrl", json_string("https://rp.example.com/callback-url?value=Rr")),
		SIDRP_AUTH, SIDRP_DEVICE_LINK, SIDRP_ANONYMOUS);
}

static void
test_v3_sign_fields(void **state)
{
	json_t *b;

	(void)state;
	b = sign_body();
	json_object_set_new(b, "nonce", json_string("0123456789012345678901234567890")); /* 31 */
	bad(3, "signature/notification/etsi/" ETSI, b, 400, "nonce");
	bad(3, "signature/notification/etsi/" ETSI, with(sign_body(), "nonce", json_string("")), 400, "nonce");
	bad(3, "signature/notification/etsi/" ETSI, with(sign_body(), "signatureProtocol", json_string("ACSP_V2")), 400,
		"signatureProtocol");
	/* the digest is exactly the hash's length */
	b = sign_body();
	json_object_set_new(
		json_object_get(json_object_get(b, "signatureProtocolParameters"), "signatureAlgorithmParameters"),
		"hashAlgorithm", json_string("SHA-256"));
	bad(3, "signature/notification/etsi/" ETSI, b, 400, "signatureProtocolParameters.digest");
	b = sign_body();
	json_object_set_new(json_object_get(b, "signatureProtocolParameters"), "digest", json_string(SHA256_HELLO));
	json_object_set_new(
		json_object_get(json_object_get(b, "signatureProtocolParameters"), "signatureAlgorithmParameters"),
		"hashAlgorithm", json_string("SHA3-256"));
	ok3("signature/notification/etsi/" ETSI, b, SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_ETSI);
	b = sign_body();
	json_object_set_new(b, "certificateLevel", json_string("QSCD"));
	ok3("signature/notification/etsi/" ETSI, b, SIDRP_SIGN, SIDRP_NOTIFICATION, SIDRP_ETSI);
	/* linked: linkedSessionID required, a UUID */
	bad(3, "signature/notification/linked/" DOC, sign_body(), 400, "linkedSessionID");
	bad(3, "signature/notification/linked/" DOC, with(sign_body(), "linkedSessionID", json_string("not-a-uuid")),
		400, "linkedSessionID");
	b = sign_body();
	json_object_set_new(b, "linkedSessionID", json_string("0aa27573-5ac2-479e-9c69-00343ff8416f"));
	json_object_set_new(b, "interactions", json_string(INTER_VC_CHOICE));
	bad(3, "signature/notification/linked/" DOC, b, 400, "interactions");
}

static void
test_to_json(void **state)
{
	struct sidrp_req r;
	struct sidrp_problem pr;
	json_t *b = auth_body(), *o;

	(void)state;
	json_object_set_new(b, "requestProperties", json_pack("{s:b,s:i}", "shareMdClientIpAddress", 1, "other", 1));
	json_object_set_new(b, "initialCallbackUrl", json_string("https://rp.example.com/cb"));
	assert_int_equal(run(3, AUTH_D, b, &r, &pr), SL_OK);
	assert_true(r.sr_share_ip);
	o = sidrp_req_to_json(&r);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "api")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "auth");
	assert_string_equal(json_string_value(json_object_get(o, "flow")), "device-link");
	assert_string_equal(json_string_value(json_object_get(o, "protocol")), "ACSP_V2");
	assert_string_equal(json_string_value(json_object_get(o, "rp_challenge")), RP_CHALLENGE);
	assert_string_equal(json_string_value(json_object_get(o, "hash")), "SHA-512");
	assert_true(json_is_true(json_object_get(o, "pss")));
	assert_string_equal(json_string_value(json_object_get(o, "interactions")), INTER);
	assert_string_equal(json_string_value(json_object_get(o, "callback")), "https://rp.example.com/cb");
	assert_string_equal(json_string_value(json_object_get(o, "level")), "QUALIFIED");
	assert_string_equal(json_string_value(json_object_get(o, "rp_name")), "DEMO");
	assert_true(json_is_true(json_object_get(o, "share_ip")));
	assert_int_equal(json_array_size(json_object_get(o, "ignored")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "ignored"), 0)), "other");
	json_decref(o);
	sidrp_req_clear(&r);
}

static void
test_v2(void **state)
{
	struct sidrp_req r;
	struct sidrp_problem pr;
	json_t *b, *o;

	(void)state;
	assert_int_equal(run(2, "signature/document/" DOC, v2_body(), &r, &pr), SL_OK);
	assert_int_equal(r.sr_api, 2);
	assert_int_equal(r.sr_type, SIDRP_SIGN);
	assert_int_equal(r.sr_flow, SIDRP_NOTIFICATION);
	assert_int_equal(r.sr_target, SIDRP_DOCUMENT);
	assert_false(r.sr_pss);
	assert_string_equal(r.sr_digest, SHA256_HELLO);
	o = sidrp_req_to_json(&r);
	assert_int_equal(json_integer_value(json_object_get(o, "api")), 2);
	assert_true(json_is_array(json_object_get(o, "interactions_v2")));
	assert_string_equal(json_string_value(json_object_get(o, "hash")), "SHA-256");
	json_decref(o);
	sidrp_req_clear(&r);
	assert_int_equal(run(2, "authentication/etsi/" ETSI, v2_body(), &r, &pr), SL_OK);
	assert_int_equal(r.sr_type, SIDRP_AUTH);
	sidrp_req_clear(&r);
	assert_int_equal(run(2, "certificatechoice/etsi/" ETSI, plain_body(), &r, &pr), SL_OK);
	assert_int_equal(r.sr_type, SIDRP_CERT_CHOICE);
	sidrp_req_clear(&r);
	assert_int_equal(run(2, "certificatechoice/document/" DOC, plain_body(), &r, &pr), SL_OK);
	sidrp_req_clear(&r);
	assert_int_equal(run(2, "authentication/document/" DOC, v2_body(), &r, &pr), SL_OK);
	sidrp_req_clear(&r);
	assert_int_equal(run(2, "signature/etsi/" ETSI, v2_body(), &r, &pr), SL_OK);
	sidrp_req_clear(&r);
	bad(2, "certificate-choice/etsi/" ETSI, plain_body(), 404, "");
	bad(2, "authentication/etsi/PNOBE-85073003329", v2_body(), 404, "");
	bad(2, "authentication/etsi/" ETSI, with(v2_body(), "hashType", json_string("SHA3-256")), 400, "hashType");
	bad(2, "authentication/etsi/" ETSI, with(v2_body(), "hashType", json_string("SHA512")), 400, "hash");
	bad(2, "authentication/etsi/" ETSI, with(v2_body(), "hash", NULL), 400, "hash");
	bad(2, "authentication/etsi/" ETSI, with(v2_body(), "allowedInteractionsOrder", json_string(INTER)), 400,
		"allowedInteractionsOrder");
	bad(2, "authentication/etsi/" ETSI, with(v2_body(), "allowedInteractionsOrder", NULL), 400,
		"allowedInteractionsOrder");
	b = v2_body();
	json_object_set_new(b, "allowedInteractionsOrder",
		json_pack("[{s:s,s:s}]", "type", "verificationCodeChoice", "displayText60", "Log in"));
	assert_int_equal(run(2, "authentication/etsi/" ETSI, b, &r, &pr), SL_OK);
	sidrp_req_clear(&r);
	bad(2, "signature/etsi/" ETSI, with(v2_body(), "nonce", json_string("0123456789012345678901234567890")), 400,
		"nonce");
}

static void
test_helpers(void **state)
{
	size_t n;

	(void)state;
	assert_true(sidrp_uuid_ok(UUID));
	assert_true(sidrp_uuid_ok("FA20FD1E-E320-4C68-8315-F6A507A0B4A9"));
	assert_false(sidrp_uuid_ok("fa20fd1e-e320-4c68-8315-f6a507a0b4a"));
	assert_false(sidrp_uuid_ok("fa20fd1e-e320-4c68-8315-f6a507a0b4ag"));
	assert_int_equal(sidrp_b64_canonical(RP_CHALLENGE, 32, 64, &n), SL_OK);
	assert_int_equal(n, 64);
	assert_int_equal(sidrp_b64_canonical("AAB=", 1, 4, &n), SL_EINVAL); /* trailing bits */
	assert_int_equal(sidrp_b64_canonical("AAE=", 1, 4, &n), SL_OK);
	assert_int_equal(sidrp_b64_canonical("AB==", 1, 4, &n), SL_EINVAL);
	assert_int_equal(sidrp_b64_canonical("AQ==", 1, 4, &n), SL_OK);
	assert_int_equal(sidrp_b64_canonical("AQ=", 1, 4, &n), SL_EINVAL);
	assert_int_equal(sidrp_b64_canonical("AQ==", 2, 4, &n), SL_EINVAL); /* 1 byte < 2 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3_paths),
		cmocka_unit_test(test_v3_bad_paths),
		cmocka_unit_test(test_v3_body),
		cmocka_unit_test(test_v3_common_fields),
		cmocka_unit_test(test_v3_protocol_fields),
		cmocka_unit_test(test_v3_flow_fields),
		cmocka_unit_test(test_v3_sign_fields),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
