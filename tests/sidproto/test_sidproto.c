/* test_sidproto.c — the Smart-ID RP API's published rules (src/sidproto):
 * every published test vector (authCode, ACSP_V2 digests, verification
 * codes; SK ID Solutions' RP API v3 documentation, recomputed
 * independently), the vectors file tests/sidproto/verification-code.tsv,
 * and the strictness of every parser: device links, interactions,
 * callback URLs, signature algorithm names, user challenges, Base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/crypto/crypto.h"
#include "../../src/sidproto/sidproto.h"

#include <openssl/evp.h>

/* ---- the documentation's example session (device_link_flows.html) ---- */
#define SECRET_B64 "B98ODiVCebRedSwdTk51zFSaGYyHtY1H2A0ocAi3/Ps="
#define TOKEN "wGIrqveE6AuGDATZKmR1mtAZ"
#define BASE "https://smart-id.com/device-link"
#define CALLBACK "https://rp.example.com/callback-url?value=RrKjjT4aggzu27YBddX1bQ"
#define RP_CHALLENGE "GYS+yoah6emAcVDNIajwSs6UB/M95XrDxMzXBUkwQJ9YFDipXXzGpPc7raWcuc2+TEoRc7WvIZ/7dU/iRXenYg=="
#define DIGEST "FNZFFya5wGLv9b27fZngaWrOBqle4tGwxZuDFRBdPl1RQvxJsfoqvTbjafd+8BcehMOQGvak6zlP+F8tga4bfQ=="
/* [{"type":"confirmationMessage","displayText200":"Longer description of the transaction context"},
 *  {"type":"displayTextAndPIN","displayText60":"Short description of the transaction context"}] */
#define INTER                                                                                                          \
	"W3sidHlwZSI6ImNvbmZpcm1hdGlvbk1lc3NhZ2UiLCJkaXNwbGF5VGV4dDIwMCI6IkxvbmdlciBkZXNjcmlwdGlvbiBvZiB0aGUg"         \
	"dHJhbnNhY3Rpb24gY29udGV4dCJ9LHsidHlwZSI6ImRpc3BsYXlUZXh0QW5kUElOIiwiZGlzcGxheVRleHQ2MCI6IlNob3J0IGRl"         \
	"c2NyaXB0aW9uIG9mIHRoZSB0cmFuc2FjdGlvbiBjb250ZXh0In1d"
#define WEB2APP_AUTH_LINK                                                                                              \
	BASE "?deviceLinkType=Web2App&sessionToken=" TOKEN "&sessionType=auth&version=1.0&lang=eng"                    \
	     "&authCode=aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0"
#define QR_LINK                                                                                                        \
	BASE "?deviceLinkType=QR&elapsedSeconds=22&sessionToken=" TOKEN "&sessionType=auth&version=1.0&lang=eng"       \
	     "&authCode=OY1eHaD4UYedrBwtqUbSkpa0w7ttm4FllPkCD_3wlE0"

static uint8_t *
secret(size_t *len)
{
	uint8_t *s = sidp_b64_decode(SECRET_B64, 64, len);

	assert_non_null(s);
	assert_int_equal(*len, SIDP_SECRET_BYTES);
	return s;
}

static struct sidp_authcode_in
doc_authcode_in(const char *protocol, const char *challenge, const char *interactions, const char *callback)
{
	struct sidp_authcode_in in = {
		.sc_scheme = "smart-id",
		.sc_protocol = protocol,
		.sc_challenge = challenge,
		.sc_rp_name = "DEMO",
		.sc_brokered_rp_name = "Example RP",
		.sc_interactions = interactions,
		.sc_callback_url = callback,
	};
	return in;
}

/* Build the documentation's link of `type`/`session_type` and check its
 * authCode against the published one, both through sidp_auth_code over
 * the unprotected link and through sidp_link_build. */
static void
authcode_is(
	enum sidp_link_type type, long elapsed, const char *session_type, struct sidp_authcode_in in, const char *want)
{
	struct sidp_link l = { BASE, type, elapsed, TOKEN, session_type, "eng" };
	char code[SIDP_USER_CHALLENGE_LEN + 1];
	struct sl_err err = { 0 };
	size_t slen;
	uint8_t *s = secret(&slen);
	char *unprotected = sidp_link_unprotected(&l, &err);
	char *link;
	size_t ulen;

	assert_non_null(unprotected);
	assert_null(strchr(unprotected, '%'));
	in.sc_unprotected_link = unprotected;
	assert_int_equal(sidp_auth_code(s, slen, &in, code, &err), SL_OK);
	assert_string_equal(code, want);
	link = sidp_link_build(&l, s, slen, &in, &err);
	assert_non_null(link);
	ulen = strlen(unprotected);
	assert_memory_equal(link, unprotected, ulen);
	assert_memory_equal(link + ulen, "&authCode=", 10);
	assert_string_equal(link + ulen + 10, want);
	free(link);
	free(unprotected);
	free(s);
}

static void
test_authcode_vectors(void **state)
{
	(void)state;
	authcode_is(SIDP_LINK_WEB2APP, -1, "auth", doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, CALLBACK),
		"aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0");
	authcode_is(SIDP_LINK_QR, 22, "auth", doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, ""),
		"OY1eHaD4UYedrBwtqUbSkpa0w7ttm4FllPkCD_3wlE0");
	authcode_is(SIDP_LINK_APP2APP, -1, "sign", doc_authcode_in("RAW_DIGEST_SIGNATURE", DIGEST, INTER, CALLBACK),
		"8QZ16rkBW_ffkq6osT7UH1DbUlF9gEOZevgj-A0VNbM");
	authcode_is(SIDP_LINK_WEB2APP, -1, "cert", doc_authcode_in("", "", "", CALLBACK),
		"PI1qYa9_l6zR-v6Pkre6ycSm7S3BGiOQSe5OQlw4UJg");
}

/* The published links themselves, bit for bit; a QR link leaves the
 * session's callback URL out of its authCode whatever the caller passes. */
static void
test_link_build_published(void **state)
{
	struct sidp_link web = { BASE, SIDP_LINK_WEB2APP, -1, TOKEN, "auth", "eng" };
	struct sidp_link qr = { BASE, SIDP_LINK_QR, 22, TOKEN, "auth", "eng" };
	struct sidp_authcode_in in = doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, CALLBACK);
	struct sl_err err = { 0 };
	size_t slen;
	uint8_t *s = secret(&slen);
	char *link;

	(void)state;
	link = sidp_link_build(&web, s, slen, &in, &err);
	assert_non_null(link);
	assert_string_equal(link, WEB2APP_AUTH_LINK);
	free(link);
	link = sidp_link_build(&qr, s, slen, &in, &err);
	assert_non_null(link);
	assert_string_equal(link, QR_LINK);
	free(link);
	/* The same authCode from a key that is the secret's text: wrong. */
	link = sidp_link_build(&web, (const uint8_t *)SECRET_B64, strlen(SECRET_B64), &in, &err);
	assert_non_null(link);
	assert_non_null(strstr(link, "2rHGFM413hXL9zfYJkh54hgnsHlJn9rZDBcGTDIgs1Q"));
	free(link);
	free(s);
}

/* Fields a link or an authCode refuses to be built from. */
static void
test_link_build_refusals(void **state)
{
	struct sidp_link good = { BASE, SIDP_LINK_WEB2APP, -1, TOKEN, "auth", "eng" };
	struct sidp_link l;
	struct sidp_authcode_in in;
	char code[SIDP_USER_CHALLENGE_LEN + 1];
	struct sl_err err = { 0 };
	char *u;
	uint8_t key[32] = { 1 };

	(void)state;
	l = good, l.sl_elapsed = 3; /* elapsedSeconds on a same-device link */
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_type = SIDP_LINK_QR; /* a QR link without elapsedSeconds */
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_type = SIDP_LINK_QR, l.sl_elapsed = SIDP_ELAPSED_MAX + 1;
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_type = 0;
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_token = "short";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_token = "wGIrqveE6AuGDATZKmR1mtA_";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_session_type = "login";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_lang = "en";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_lang = "ENG";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_base = "https://smart-id.com/device-link?x=1";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_base = "ftp://smart-id.com/device-link";
	assert_null(sidp_link_unprotected(&l, &err));
	l = good, l.sl_base = "https://smart-id.com/device%20link";
	assert_null(sidp_link_unprotected(&l, &err));
	u = sidp_link_unprotected(&good, &err);
	assert_non_null(u);
	in = doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, CALLBACK);
	in.sc_unprotected_link = u;
	assert_int_equal(sidp_auth_code(key, 0, &in, code, &err), SL_EINVAL);
	in.sc_protocol = "ACSP_V3";
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	in = doc_authcode_in("", RP_CHALLENGE, "", CALLBACK); /* a certificate choice has no challenge */
	in.sc_unprotected_link = u;
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	in = doc_authcode_in("RAW_DIGEST_SIGNATURE", DIGEST, "", CALLBACK); /* a signature has interactions */
	in.sc_unprotected_link = u;
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	in = doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, "https://rp.example.com/a|b");
	in.sc_unprotected_link = u;
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	in = doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, CALLBACK);
	in.sc_scheme = "smart|id";
	in.sc_unprotected_link = u;
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	in.sc_scheme = "smart-id";
	in.sc_rp_name = NULL;
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_EINVAL);
	/* The RP names are Base64-encoded: a '|' in one is fine. */
	in.sc_rp_name = "A|B";
	assert_int_equal(sidp_auth_code(key, sizeof(key), &in, code, &err), SL_OK);
	assert_int_equal(strlen(code), SIDP_USER_CHALLENGE_LEN);
	free(u);
}

/* ---- parsing a scanned link ---- */

static void
parse_ok(const char *url, struct sidp_link_parsed *p)
{
	struct sl_err err = { 0 };

	if (sidp_link_parse(url, p, &err) != SL_OK)
		fail_msg("refused %s: %s", url, err.msg);
}

static void
parse_refused(const char *url, const char *msg_part)
{
	struct sidp_link_parsed p;
	struct sl_err err = { 0 };

	assert_int_equal(sidp_link_parse(url, &p, &err), SL_EINVAL);
	assert_null(p.sp_buf);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", url, err.msg, msg_part);
}

static void
test_link_parse_good(void **state)
{
	struct sidp_link_parsed p;
	struct sidp_authcode_in in = doc_authcode_in("ACSP_V2", RP_CHALLENGE, INTER, "");
	char code[SIDP_USER_CHALLENGE_LEN + 1];
	struct sl_err err = { 0 };
	size_t slen;
	uint8_t *s = secret(&slen);

	(void)state;
	parse_ok(WEB2APP_AUTH_LINK, &p);
	assert_string_equal(p.sp_link.sl_base, BASE);
	assert_int_equal(p.sp_link.sl_type, SIDP_LINK_WEB2APP);
	assert_int_equal(p.sp_link.sl_elapsed, -1);
	assert_string_equal(p.sp_link.sl_token, TOKEN);
	assert_string_equal(p.sp_link.sl_session_type, "auth");
	assert_string_equal(p.sp_link.sl_lang, "eng");
	assert_string_equal(p.sp_auth_code, "aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0");
	assert_string_equal(p.sp_unprotected,
		BASE "?deviceLinkType=Web2App&sessionToken=" TOKEN "&sessionType=auth&version=1.0&lang=eng");
	sidp_link_parsed_clear(&p);
	assert_null(p.sp_buf);

	/* The QR link: parse, then recompute its authCode as the server does. */
	parse_ok(QR_LINK, &p);
	assert_int_equal(p.sp_link.sl_type, SIDP_LINK_QR);
	assert_int_equal(p.sp_link.sl_elapsed, 22);
	in.sc_unprotected_link = p.sp_unprotected;
	assert_int_equal(sidp_auth_code(s, slen, &in, code, &err), SL_OK);
	assert_true(sl_ct_streq(code, p.sp_auth_code));
	sidp_link_parsed_clear(&p);
	sidp_link_parsed_clear(NULL);
	parse_ok(BASE "?deviceLinkType=QR&elapsedSeconds=0&sessionToken=" TOKEN
		      "&sessionType=cert&version=1.0&lang=nld&authCode=PI1qYa9_l6zR-v6Pkre6ycSm7S3BGiOQSe5OQlw4UJg",
		&p);
	assert_int_equal(p.sp_link.sl_elapsed, 0);
	sidp_link_parsed_clear(&p);
	free(s);
}

#define Q_TYPE "deviceLinkType=Web2App"
#define Q_TOKEN "sessionToken=" TOKEN
#define Q_ST "sessionType=auth"
#define Q_V "version=1.0"
#define Q_LANG "lang=eng"
#define Q_AC "authCode=aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv0"

static void
test_link_parse_refusals(void **state)
{
	char *longer;
	size_t n;

	(void)state;
	/* Order, duplicates, missing, unknown. */
	parse_refused(BASE "?" Q_TOKEN "&" Q_TYPE "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "out of order");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "&" Q_LANG, "twice");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "twice");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_AC, "lang is missing");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG, "authCode is missing");
	parse_refused(BASE "?" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "deviceLinkType is missing");
	parse_refused(BASE "?" Q_TYPE "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "sessionToken is missing");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "&x=1", "unknown parameter");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "&", "name=value");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&lang&" Q_AC, "name=value");
	parse_refused(BASE, "no parameters");
	parse_refused("", "empty");
	parse_refused(
		"smart-id.com/device-link?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "deviceLinkBase");
	/* Percent-encoding, fragments, white space, '|'. */
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "%3D", "percent-encoding");
	parse_refused(
		BASE "?deviceLinkType%3DWeb2App&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "percent-encoding");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "#x", "fragment");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG " &" Q_AC, "not allowed");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC "\n", "not allowed");
	parse_refused(BASE "|?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "not allowed");
	/* elapsedSeconds: QR only, and required there; a plain decimal. */
	parse_refused(BASE "?" Q_TYPE "&elapsedSeconds=2&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "only for QR");
	parse_refused(
		BASE "?deviceLinkType=QR&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "elapsedSeconds is missing");
	parse_refused(BASE "?deviceLinkType=QR&" Q_TOKEN "&elapsedSeconds=2&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC,
		"out of order");
	parse_refused(BASE "?deviceLinkType=QR&elapsedSeconds=022&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC,
		"bad elapsedSeconds");
	parse_refused(BASE "?deviceLinkType=QR&elapsedSeconds=-1&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC,
		"bad elapsedSeconds");
	parse_refused(BASE "?deviceLinkType=QR&elapsedSeconds=86401&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC,
		"bad elapsedSeconds");
	/* Values. */
	parse_refused(BASE "?deviceLinkType=qr&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "deviceLinkType");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&version=2.0&" Q_LANG "&" Q_AC, "version 2.0");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&version=1.00&" Q_LANG "&" Q_AC, "not supported");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&sessionType=login&" Q_V "&" Q_LANG "&" Q_AC, "sessionType");
	parse_refused(BASE "?" Q_TYPE "&sessionToken=abc&" Q_ST "&" Q_V "&" Q_LANG "&" Q_AC, "sessionToken");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&lang=en&" Q_AC, "lang");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&lang=&" Q_AC, "lang");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG "&authCode=aegUh6gCKkXBJhhvtJqSTWB5",
		"authCode");
	parse_refused(BASE "?" Q_TYPE "&" Q_TOKEN "&" Q_ST "&" Q_V "&" Q_LANG
			   "&authCode=aegUh6gCKkXBJhhvtJqSTWB5_2W8TDQt5eZ7db6krv1",
		"authCode"); /* not canonical: the last char's low bits are not zero */
	/* Over-long: one byte past the limit is refused before anything else. */
	n = SIDP_LINK_MAX + 1;
	longer = malloc(n + 1);
	assert_non_null(longer);
	memset(longer, 'a', n);
	memcpy(longer, WEB2APP_AUTH_LINK, strlen(WEB2APP_AUTH_LINK));
	longer[n] = '\0';
	parse_refused(longer, "longer than");
	free(longer);
}

/* ---- interactions ---- */

static int
inter_parse(const char *json, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err)
{
	char *b64 = sl_b64_encode((const uint8_t *)json, strlen(json));
	int rc;

	assert_non_null(b64);
	rc = sidp_interactions_parse_b64(b64, rules, out, err);
	free(b64);
	return rc;
}

static void
inter_refused(const char *json, enum sidp_flow_rules rules, const char *msg_part)
{
	struct sidp_interactions out;
	struct sl_err err = { 0 };

	assert_int_equal(inter_parse(json, rules, &out, &err), SL_EINVAL);
	assert_int_equal(out.sn, 0);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", json, err.msg, msg_part);
}

static void
inter_ok(const char *json, enum sidp_flow_rules rules, size_t n)
{
	struct sidp_interactions out;
	struct sl_err err = { 0 };

	if (inter_parse(json, rules, &out, &err) != SL_OK)
		fail_msg("%s refused: %s", json, err.msg);
	assert_int_equal(out.sn, n);
}

/* `n` copies of `unit` inside a displayTextAndPIN or confirmationMessage. */
static char *
text_json(const char *type, const char *member, const char *unit, size_t n)
{
	struct sl_buf b;

	sl_buf_init(&b, 8192);
	assert_int_equal(sl_buf_addf(&b, "[{\"type\":\"%s\",\"%s\":\"", type, member), SL_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sl_buf_adds(&b, unit), SL_OK);
	assert_int_equal(sl_buf_adds(&b, "\"}]"), SL_OK);
	return sl_buf_take(&b);
}

static void
test_interactions_published(void **state)
{
	struct sidp_interactions out;
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(sidp_interactions_parse_b64(INTER, SIDP_RULES_DEVICE_LINK, &out, &err), SL_OK);
	assert_int_equal(out.sn, 2);
	assert_int_equal(out.si[0].si_type, SIDP_CONFIRMATION_MESSAGE);
	assert_string_equal(out.si[0].si_text, "Longer description of the transaction context");
	assert_int_equal(out.si[1].si_type, SIDP_DISPLAY_TEXT_AND_PIN);
	assert_string_equal(out.si[1].si_text, "Short description of the transaction context");
	assert_int_equal(sidp_interactions_parse_b64(INTER, SIDP_RULES_NOTIFICATION, &out, &err), SL_OK);
	assert_string_equal(sidp_interaction_name(SIDP_CONFIRMATION_MESSAGE_AND_VC_CHOICE),
		"confirmationMessageAndVerificationCodeChoice");
	assert_int_equal(sidp_interaction_type_of("verificationCodeChoice"), SIDP_VC_CHOICE);
	assert_int_equal(sidp_interaction_type_of("DisplayTextAndPIN"), 0);
	assert_null(sidp_interaction_name(0));
}

static void
test_interactions_rules(void **state)
{
	const char *cmvc =
		"[{\"type\":\"confirmationMessageAndVerificationCodeChoice\",\"displayText200\":\"Pay 5 EUR\"}]";
	const char *vcc = "[{\"type\":\"verificationCodeChoice\",\"displayText60\":\"Pay\"}]";
	const char *four = "[{\"type\":\"verificationCodeChoice\",\"displayText60\":\"a\"},"
			   "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"b\"},"
			   "{\"type\":\"confirmationMessage\",\"displayText200\":\"c\"},"
			   "{\"type\":\"confirmationMessageAndVerificationCodeChoice\",\"displayText200\":\"d\"}]";
	const char *five = "[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\"},"
			   "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"b\"},"
			   "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"c\"},"
			   "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"d\"},"
			   "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"e\"}]";

	(void)state;
	inter_refused(cmvc, SIDP_RULES_DEVICE_LINK, "not allowed in this flow");
	inter_ok(cmvc, SIDP_RULES_NOTIFICATION, 1);
	inter_ok(cmvc, SIDP_RULES_V2, 1);
	inter_refused(vcc, SIDP_RULES_NOTIFICATION, "not allowed in this flow");
	inter_refused(vcc, SIDP_RULES_DEVICE_LINK, "not allowed in this flow");
	inter_ok(vcc, SIDP_RULES_V2, 1);
	inter_ok(four, SIDP_RULES_V2, 4);
	inter_refused(five, SIDP_RULES_V2, "more than 4");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\"},"
		      "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"b\"}]",
		SIDP_RULES_NOTIFICATION, "appears twice");
	inter_refused("[]", SIDP_RULES_NOTIFICATION, "empty");
	inter_refused("{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\"}", SIDP_RULES_NOTIFICATION,
		"not a JSON array");
	inter_refused("\"displayTextAndPIN\"", SIDP_RULES_NOTIFICATION, "not a JSON array");
	inter_refused("[\"displayTextAndPIN\"]", SIDP_RULES_NOTIFICATION, "not an object");
	inter_refused("[{\"displayText60\":\"a\"}]", SIDP_RULES_NOTIFICATION, "no type");
	inter_refused("[{\"type\":\"pin\",\"displayText60\":\"a\"}]", SIDP_RULES_NOTIFICATION, "unknown type");
	inter_refused("[{\"type\":\"displayTextAndPIN\"}]", SIDP_RULES_NOTIFICATION, "needs displayText60");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText200\":\"a\"}]", SIDP_RULES_NOTIFICATION,
		"needs displayText60");
	inter_refused("[{\"type\":\"confirmationMessage\",\"displayText60\":\"a\"}]", SIDP_RULES_NOTIFICATION,
		"needs displayText200");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\",\"x\":1}]", SIDP_RULES_NOTIFICATION,
		"exactly type and displayText60");
	inter_refused(
		"[{\"type\":\"displayTextAndPIN\",\"displayText60\":7}]", SIDP_RULES_NOTIFICATION, "not a string");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"\"}]", SIDP_RULES_NOTIFICATION, "empty");
	/* Two texts under one key: the server and the app must read the same one. */
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\",\"displayText60\":\"b\"}]",
		SIDP_RULES_NOTIFICATION, "not a JSON array");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"a\\u0000b\"}]", SIDP_RULES_NOTIFICATION,
		"not a JSON array");
}

static void
test_interactions_texts(void **state)
{
	char *j;

	(void)state;
	/* Characters, not bytes: 60 two-byte letters fit displayText60. */
	j = text_json("displayTextAndPIN", "displayText60", "a", 60);
	inter_ok(j, SIDP_RULES_DEVICE_LINK, 1);
	free(j);
	j = text_json("displayTextAndPIN", "displayText60", "a", 61);
	inter_refused(j, SIDP_RULES_DEVICE_LINK, "longer than 60 characters");
	free(j);
	j = text_json("displayTextAndPIN", "displayText60", "\xc3\xa9", 60);
	inter_ok(j, SIDP_RULES_DEVICE_LINK, 1);
	free(j);
	j = text_json("displayTextAndPIN", "displayText60", "\xc3\xa9", 61);
	inter_refused(j, SIDP_RULES_DEVICE_LINK, "longer than 60 characters");
	free(j);
	j = text_json("confirmationMessage", "displayText200", "\xf0\x9f\x94\x91", 200); /* 800 bytes */
	inter_ok(j, SIDP_RULES_DEVICE_LINK, 1);
	free(j);
	j = text_json("confirmationMessage", "displayText200", "x", 201);
	inter_refused(j, SIDP_RULES_DEVICE_LINK, "longer than 200 characters");
	free(j);
	j = text_json("confirmationMessage", "displayText200", "\xf0\x9f\x94\x91", 201);
	inter_refused(j, SIDP_RULES_DEVICE_LINK, "longer than 200 characters");
	free(j);
	/* Control characters: C0 (a new line), DEL, C1 (U+0085). */
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay\\nto Eve\"}]", SIDP_RULES_V2,
		"control character");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay\\u007f\"}]", SIDP_RULES_V2,
		"control character");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay\\u0085\"}]", SIDP_RULES_V2,
		"control character");
	inter_ok("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Betaal \\u20ac 5 aan Caf\\u00e9\"}]",
		SIDP_RULES_V2, 1);
	/* Bidirectional overrides and invisible characters (review 10): a
	 * right-to-left override makes "Pay 1000" read otherwise. */
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay \\u202e0001\"}]", SIDP_RULES_V2,
		"control character");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Pay\\u200b\"}]", SIDP_RULES_V2,
		"control character");
	inter_refused("[{\"type\":\"displayTextAndPIN\",\"displayText60\":\"\\u2066Pay\\u2069\"}]", SIDP_RULES_V2,
		"control character");
}

static void
test_text_shown_ok(void **state)
{
	const char *ok = "Mijn Bank \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";

	(void)state;
	assert_true(sidp_text_shown_ok(ok, strlen(ok)));
	assert_false(sidp_text_shown_ok("Bank\xe2\x80\xae", 7)); /* U+202E */
	assert_false(sidp_text_shown_ok("Bank\xe2\x80\x8f", 7)); /* U+200F */
	assert_false(sidp_text_shown_ok("\xef\xbb\xbf"
					"Bank",
		7)); /* U+FEFF */
	assert_false(sidp_text_shown_ok("Bank\xc2\x85", 6)); /* C1 */
	assert_false(sidp_text_shown_ok("Bank\t", 5));
	assert_false(sidp_text_shown_ok("\xc3", 1)); /* cut short */
	assert_false(sidp_text_shown_ok("\xc0\xaf", 2)); /* overlong */
	assert_false(sidp_text_shown_ok("\xed\xa0\x80", 3)); /* a surrogate */
	assert_false(sidp_text_shown_ok(NULL, 0));
}

static void
test_interactions_base64(void **state)
{
	struct sidp_interactions out;
	struct sl_err err = { 0 };
	char *big;

	(void)state;
	assert_int_equal(sidp_interactions_parse_b64(NULL, SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_int_equal(sidp_interactions_parse_b64("", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	/* Unpadded, URL-safe, white space, a non-canonical last character. */
	assert_int_equal(sidp_interactions_parse_b64("W10", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_string_equal(err.msg, "interactions is not canonical Base64");
	assert_int_equal(sidp_interactions_parse_b64("W3-_", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_int_equal(sidp_interactions_parse_b64("W10= ", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_int_equal(sidp_interactions_parse_b64("W11=", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_string_equal(err.msg, "interactions is not canonical Base64");
	assert_int_equal(sidp_interactions_parse_b64("W10=", SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_string_equal(err.msg, "interactions is empty"); /* "[]": the Base64 was fine */
	/* Over the byte limit, before decoding. */
	big = malloc(SIDP_INTERACTIONS_B64_MAX + 5);
	assert_non_null(big);
	memset(big, 'A', SIDP_INTERACTIONS_B64_MAX + 4);
	big[SIDP_INTERACTIONS_B64_MAX + 4] = '\0';
	assert_int_equal(sidp_interactions_parse_b64(big, SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
	free(big);
}

/* v2's allowedInteractionsOrder: the array itself. */
static void
test_interactions_json(void **state)
{
	struct sidp_interactions out;
	struct sl_err err = { 0 };
	json_t *a = json_loads("[{\"type\":\"verificationCodeChoice\",\"displayText60\":\"Log in?\"},"
			       "{\"type\":\"displayTextAndPIN\",\"displayText60\":\"Log in\"}]",
		0, NULL);
	json_t *o = json_object();

	(void)state;
	assert_int_equal(sidp_interactions_parse_json(a, SIDP_RULES_V2, &out, &err), SL_OK);
	assert_int_equal(out.sn, 2);
	assert_int_equal(out.si[0].si_type, SIDP_VC_CHOICE);
	assert_string_equal(out.si[0].si_text, "Log in?");
	assert_int_equal(sidp_interactions_parse_json(a, SIDP_RULES_NOTIFICATION, &out, &err), SL_EINVAL);
	assert_int_equal(sidp_interactions_parse_json(o, SIDP_RULES_V2, &out, &err), SL_EINVAL);
	assert_int_equal(sidp_interactions_parse_json(NULL, SIDP_RULES_V2, &out, &err), SL_EINVAL);
	json_decref(a);
	json_decref(o);
}

/* ---- ACSP_V2 ---- */

static struct sidp_acsp
doc_acsp(void)
{
	struct sidp_acsp a = {
		.sa_scheme = "smart-id",
		.sa_server_random = "MTlop6EXCrQ6FOErcKjxUhbV",
		.sa_rp_challenge = RP_CHALLENGE,
		.sa_user_challenge = "GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00",
		.sa_rp_name = "DEMO",
		.sa_brokered_rp_name = "Example RP",
		.sa_interactions = INTER,
		.sa_interaction_used = "confirmationMessage",
		.sa_callback_url = CALLBACK,
		.sa_flow_type = "Web2App",
	};
	return a;
}

static void
digest_b64_is(const struct sidp_acsp *a, const char *hash, const char *want)
{
	uint8_t d[64];
	size_t dlen = 0;
	struct sl_err err = { 0 };
	const struct sidp_hash *h = sidp_hash_by_name(hash);
	char *b64;

	assert_non_null(h);
	assert_int_equal(sidp_acsp_digest(a, h, d, &dlen, &err), SL_OK);
	assert_int_equal(dlen, h->sh_len);
	b64 = sl_b64_encode(d, dlen);
	assert_string_equal(b64, want);
	free(b64);
}

static void
test_acsp_vectors(void **state)
{
	struct sidp_acsp a = doc_acsp();
	struct sl_err err = { 0 };
	char *p = sidp_acsp_payload(&a, &err);

	(void)state;
	assert_non_null(p);
	/* Vector A (the documentation's worked example), with B64(SHA-256(INTER)) in field 8. */
	assert_string_equal(p,
		"smart-id|ACSP_V2|MTlop6EXCrQ6FOErcKjxUhbV|" RP_CHALLENGE
		"|GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00|REVNTw==|RXhhbXBsZSBSUA=="
		"|RW2HOCLDvRFNWmAOmpWE+3rt7a8q4JGQD3n75d6xJHM=|confirmationMessage|" CALLBACK "|Web2App");
	free(p);
	digest_b64_is(&a, "SHA-512",
		"pKOjbNl/5Fy8NfrFqsj6pSn8W8O+Ik8rM33QSsbyD3J9qDJvEm90SboUciuY4wHGWa0Pnq8BgT3NJKmJiUDfKg==");
	/* Vector B: the RP is "Bank 123". */
	a.sa_rp_name = "Bank 123";
	digest_b64_is(&a, "SHA-512",
		"ForpWzIGtGPvivuCWiDXv1U01qBnaf7ob2wjGEtRKpYO/atx7707vsG3o2jdTuezTHJvUvM2V9TKEAIhor+nng==");
	/* A notification flow drops the callback URL (computed with Python's hashlib). */
	a = doc_acsp();
	a.sa_interaction_used = "displayTextAndPIN";
	a.sa_flow_type = "Notification";
	p = sidp_acsp_payload(&a, &err);
	assert_non_null(p);
	assert_non_null(strstr(p, "|displayTextAndPIN||Notification"));
	free(p);
	digest_b64_is(&a, "SHA3-256", "9NscY/QqCmWUVMYv2KMz+q+Yq2pseSpvO4Dctutc4k4=");
	a.sa_flow_type = "QR";
	p = sidp_acsp_payload(&a, &err);
	assert_non_null(p);
	assert_non_null(strstr(p, "|displayTextAndPIN||QR"));
	free(p);
	/* No broker: an empty field. */
	a.sa_brokered_rp_name = NULL;
	p = sidp_acsp_payload(&a, &err);
	assert_non_null(p);
	assert_non_null(strstr(p, "|REVNTw==||RW2H"));
	free(p);
}

static void
acsp_refused(struct sidp_acsp a, const char *msg_part)
{
	struct sl_err err = { 0 };
	uint8_t d[64];
	size_t dlen;

	assert_null(sidp_acsp_payload(&a, &err));
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
	assert_int_equal(sidp_acsp_digest(&a, sidp_hash_by_name("SHA-256"), d, &dlen, &err), SL_EINVAL);
}

static void
test_acsp_refusals(void **state)
{
	struct sidp_acsp a;
	uint8_t d[64];
	size_t dlen;

	(void)state;
	a = doc_acsp(), a.sa_flow_type = "Notify";
	acsp_refused(a, "unknown flowType");
	a = doc_acsp(), a.sa_server_random = NULL;
	acsp_refused(a, "serverRandom is missing");
	a = doc_acsp(), a.sa_user_challenge = "";
	acsp_refused(a, "userChallenge is missing");
	a = doc_acsp(), a.sa_interactions = NULL;
	acsp_refused(a, "interactions is missing");
	a = doc_acsp(), a.sa_rp_name = NULL;
	acsp_refused(a, "relyingPartyName is missing");
	/* A '|' would shift fields: two sessions could sign the same bytes. */
	a = doc_acsp(), a.sa_scheme = "smart-id|ACSP_V2";
	acsp_refused(a, "schemeName contains '|'");
	a = doc_acsp(), a.sa_interaction_used = "displayTextAndPIN|x";
	acsp_refused(a, "interactionTypeUsed contains '|'");
	a = doc_acsp(), a.sa_callback_url = "https://rp.example.com/|Web2App";
	acsp_refused(a, "initialCallbackUrl contains '|'");
	/* The names are Base64-encoded: anything goes. */
	a = doc_acsp(), a.sa_rp_name = "A|B", a.sa_brokered_rp_name = "C|D";
	assert_int_equal(sidp_acsp_digest(&a, sidp_hash_by_name("SHA-384"), d, &dlen, NULL), SL_OK);
	assert_int_equal(dlen, 48);
	a = doc_acsp();
	assert_int_equal(sidp_acsp_digest(&a, NULL, d, &dlen, NULL), SL_EINVAL);
}

/* ---- hashes and signature algorithm names ---- */

static void
test_hashes(void **state)
{
	static const char *const v3[] = { "SHA-256", "SHA-384", "SHA-512", "SHA3-256", "SHA3-384", "SHA3-512" };
	static const size_t lens[] = { 32, 48, 64, 32, 48, 64 };
	static const char *const pkcs1[] = { "sha256WithRSAEncryption", "sha384WithRSAEncryption",
		"sha512WithRSAEncryption", "sha3-256WithRSAEncryption", "sha3-384WithRSAEncryption",
		"sha3-512WithRSAEncryption" };
	const struct sidp_hash *h, *got;
	bool pss;

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		h = sidp_hash_by_name(v3[i]);
		assert_non_null(h);
		assert_int_equal(h->sh_len, lens[i]);
		assert_string_equal(sidp_pkcs1_name(h), pkcs1[i]);
		got = NULL, pss = true;
		assert_int_equal(sidp_signature_algorithm(pkcs1[i], &pss, &got), SL_OK);
		assert_false(pss);
		assert_ptr_equal(got, h);
		assert_int_equal(EVP_MD_get_size(EVP_get_digestbyname(h->sh_digest)), (int)lens[i]);
	}
	assert_ptr_equal(sidp_hash_by_v2_name("SHA256"), sidp_hash_by_name("SHA-256"));
	assert_ptr_equal(sidp_hash_by_v2_name("SHA512"), sidp_hash_by_name("SHA-512"));
	assert_null(sidp_hash_by_v2_name("SHA3-256")); /* v2 has no SHA-3 */
	assert_null(sidp_hash_by_v2_name("SHA-256"));
	assert_null(sidp_hash_by_name("sha-256"));
	assert_null(sidp_hash_by_name("SHA256"));
	assert_null(sidp_hash_by_name("SHA-1"));
	assert_null(sidp_hash_by_name(NULL));
	/* rsassa-pss names no hash: the parameters do, so *hash is left alone. */
	got = sidp_hash_by_name("SHA3-512"), pss = false;
	assert_int_equal(sidp_signature_algorithm("rsassa-pss", &pss, &got), SL_OK);
	assert_true(pss);
	assert_ptr_equal(got, sidp_hash_by_name("SHA3-512"));
	assert_int_equal(sidp_signature_algorithm("RSASSA-PSS", &pss, &got), SL_EINVAL);
	assert_int_equal(sidp_signature_algorithm("sha1WithRSAEncryption", &pss, &got), SL_EINVAL);
	assert_int_equal(sidp_signature_algorithm("SHA256WithRSAEncryption", &pss, &got), SL_EINVAL);
	assert_int_equal(sidp_signature_algorithm("sha256WithRSAEncryption ", &pss, &got), SL_EINVAL);
	assert_int_equal(sidp_signature_algorithm("", &pss, &got), SL_EINVAL);
	assert_int_equal(sidp_signature_algorithm(NULL, &pss, &got), SL_EINVAL);
}

/* ---- verification codes ---- */

static void
vc_of_b64(const char *b64, const char *want)
{
	char vc[SIDP_VC_LEN + 1];
	size_t len = 0;
	uint8_t *raw = sidp_b64_decode(b64, 4096, &len);

	assert_non_null(raw);
	sidp_vc_of(raw, len, vc);
	if (strcmp(vc, want) != 0)
		fail_msg("%s: code %s, want %s", b64, vc, want);
	free(raw);
}

static void
test_vc_published(void **state)
{
	uint8_t h[SL_SHA256_LEN];
	char vc[SIDP_VC_LEN + 1];

	(void)state;
	/* v3 notification authentication: over the decoded rpChallenge. */
	vc_of_b64(RP_CHALLENGE, "7180");
	/* v2: over the hash the RP sent, here SHA-256("Hello World!"). */
	assert_int_equal(crypto_sha256("Hello World!", 12, h), SL_OK);
	sidp_vc_of(h, sizeof(h), vc);
	assert_string_equal(vc, "7712");
	/* Leading zeros kept: SHA-256 of 32 zero bytes ends in 0x2925 = 10533. */
	memset(h, 0, sizeof(h));
	sidp_vc_of(h, sizeof(h), vc);
	assert_string_equal(vc, "0533");
}

/* Every line of the shared vectors file: Base64 input, code. */
static void
test_vc_file(void **state)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(SL_TEST_SRCDIR "/tests/sidproto/verification-code.tsv", "r");

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *tab1, *tab2;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		tab1 = strchr(line, '\t');
		assert_non_null(tab1);
		*tab1 = '\0';
		tab2 = strchr(tab1 + 1, '\t');
		if (tab2 != NULL)
			*tab2 = '\0';
		tab1[1 + strcspn(tab1 + 1, "\r\n")] = '\0';
		vc_of_b64(line, tab1 + 1);
		n++;
	}
	fclose(f);
	assert_true(n >= 2);
}

static void
test_vc_random(void **state)
{
	char vc[SIDP_VC_LEN + 1];
	int seen[10] = { 0 };
	int distinct = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(sidp_vc_random(vc), SL_OK);
		assert_int_equal(strlen(vc), SIDP_VC_LEN);
		assert_int_equal(strspn(vc, "0123456789"), SIDP_VC_LEN);
		seen[vc[0] - '0'] = 1;
	}
	for (int d = 0; d < 10; d++)
		distinct += seen[d];
	/* 200 uniform codes miss a first digit with chance 10 * 0.9^200 < 1e-8. */
	assert_int_equal(distinct, 10);
}

/* ---- user challenges, the secret's digest, callbacks, Base64 ---- */

static void
test_user_challenge(void **state)
{
	char verifier[SIDP_USER_CHALLENGE_LEN + 1], challenge[SIDP_USER_CHALLENGE_LEN + 1];
	char again[SIDP_USER_CHALLENGE_LEN + 1];
	char other[SIDP_USER_CHALLENGE_LEN + 1], other_c[SIDP_USER_CHALLENGE_LEN + 1];
	size_t slen;
	uint8_t *s;

	(void)state;
	assert_int_equal(sidp_user_challenge_new(verifier, challenge), SL_OK);
	assert_true(sidp_user_challenge_ok(verifier));
	assert_true(sidp_user_challenge_ok(challenge));
	sidp_user_challenge_of(verifier, again);
	assert_string_equal(again, challenge);
	assert_int_equal(sidp_user_challenge_new(other, other_c), SL_OK);
	assert_string_not_equal(other, verifier);
	assert_string_not_equal(other_c, challenge);
	/* Computed with Python's hashlib over the verifier's ASCII text. */
	sidp_user_challenge_of("dGhpcyBpcyBhIHRlc3QgdmVyaWZpZXIgZm9yIHNpZHA", again);
	assert_string_equal(again, "PSWD7B9YjdQfIar2dzgExMLJ5Hba_2eKDm7fEkIURYY");
	s = secret(&slen);
	sidp_secret_digest(s, slen, again);
	assert_string_equal(again, "U4CKK13H1XFiyBofev9asqrzIrY5_Gszi_nL_zDKkBc");
	free(s);
	assert_true(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS00"));
	assert_false(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS0"));
	assert_false(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS000"));
	assert_false(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7/pezLAI5jMS00"));
	assert_false(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS0="));
	assert_false(sidp_user_challenge_ok("GnsWXXEjTCKR89fj9uo5u5ReBZ9JR7_pezLAI5jMS01")); /* not canonical */
	assert_false(sidp_user_challenge_ok(""));
	assert_false(sidp_user_challenge_ok(NULL));
}

static void
test_callback_urls(void **state)
{
	char *u;

	(void)state;
	assert_true(sidp_callback_url_ok(CALLBACK));
	assert_true(sidp_callback_url_ok("https://rp.example.com"));
	assert_true(sidp_callback_url_ok("https://rp.example.com:8443/cb?a=%7C"));
	assert_false(sidp_callback_url_ok("http://rp.example.com/cb"));
	assert_false(sidp_callback_url_ok("HTTPS://rp.example.com/cb"));
	assert_false(sidp_callback_url_ok("https://"));
	assert_false(sidp_callback_url_ok("https:///cb"));
	assert_false(sidp_callback_url_ok("https://rp.example.com/cb#done"));
	assert_false(sidp_callback_url_ok("https://rp.example.com/cb?a|b"));
	assert_false(sidp_callback_url_ok("https://rp.example.com/c b"));
	assert_false(sidp_callback_url_ok("https://rp.example.com/cb\r\n"));
	assert_false(sidp_callback_url_ok("https://rp.example.com/caf\xc3\xa9"));
	assert_false(sidp_callback_url_ok(""));
	assert_false(sidp_callback_url_ok(NULL));
	/* SIDP_CALLBACK_MAX bytes pass, one more does not. */
	u = malloc(SIDP_CALLBACK_MAX + 2);
	assert_non_null(u);
	memset(u, 'a', SIDP_CALLBACK_MAX + 1);
	memcpy(u, "https://rp.example.com/", 23);
	u[SIDP_CALLBACK_MAX] = '\0';
	assert_true(sidp_callback_url_ok(u));
	u[SIDP_CALLBACK_MAX] = 'a';
	u[SIDP_CALLBACK_MAX + 1] = '\0';
	assert_false(sidp_callback_url_ok(u));
	free(u);
}

static void
test_b64_canonical(void **state)
{
	size_t n = 0;
	uint8_t *b;
	char *enc;

	(void)state;
	b = sidp_b64_decode("REVNTw==", 8, &n);
	assert_non_null(b);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "DEMO", 4);
	free(b);
	assert_null(sidp_b64_decode("REVNTw==", 7, &n)); /* over the limit */
	assert_null(sidp_b64_decode("REVNTx==", 8, &n)); /* unused bits set */
	assert_null(sidp_b64_decode("REVNTw=", 8, &n));
	assert_null(sidp_b64_decode("REVNTw", 8, &n));
	assert_null(sidp_b64_decode("REVN Tw==", 16, &n));
	assert_null(sidp_b64_decode("RE=NTw==", 8, &n));
	assert_null(sidp_b64_decode("", 8, &n));
	assert_null(sidp_b64_decode(NULL, 8, &n));
	enc = sl_b64_encode((const uint8_t *)"Example RP", 10);
	assert_string_equal(enc, "RXhhbXBsZSBSUA==");
	free(enc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authcode_vectors),
		cmocka_unit_test(test_link_build_published),
		cmocka_unit_test(test_link_build_refusals),
		cmocka_unit_test(test_link_parse_good),
		cmocka_unit_test(test_link_parse_refusals),
		cmocka_unit_test(test_interactions_published),
		cmocka_unit_test(test_interactions_rules),
		cmocka_unit_test(test_interactions_texts),
		cmocka_unit_test(test_text_shown_ok),
		cmocka_unit_test(test_interactions_base64),
		cmocka_unit_test(test_interactions_json),
		cmocka_unit_test(test_acsp_vectors),
		cmocka_unit_test(test_acsp_refusals),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_vc_published),
		cmocka_unit_test(test_vc_file),
		cmocka_unit_test(test_vc_random),
		cmocka_unit_test(test_user_challenge),
		cmocka_unit_test(test_callback_urls),
		cmocka_unit_test(test_b64_canonical),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
