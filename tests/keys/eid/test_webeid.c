/*
 * test_webeid.c — the Web eID token: its parse (every field missing,
 * empty, of the wrong type, too long, not base64; the format versions;
 * the size bound; bytes past `len`), what the card signs (known hashes of
 * the Web eID documents' example origin and challenge), and the signature
 * check for each of the nine algorithms with keys made here (EC P-256,
 * P-384, P-521, RSA 2048), with the wrong origin, the wrong challenge, a
 * damaged signature, a DER ECDSA signature, and keys that do not fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../../../src/keys/eid/eid.h"

#define ORIGIN "https://ria.ee"
#define NONCE "12345678901234567890123456789012345678901234"

struct card {
	EVP_PKEY *key;
	uint8_t *der;
	int der_len;
};

static struct card p256, p384, p521, rsa;
static int pss_salt = RSA_PSS_SALTLEN_DIGEST; /* what card_sign() uses for PS */

/* ---- helpers ---- */

static void
make_card(struct card *c, EVP_PKEY *key)
{
	X509 *x = X509_new();
	unsigned char *der = NULL;

	assert_non_null(key);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(
		X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"card", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	c->der_len = i2d_X509(x, &der);
	assert_true(c->der_len > 0);
	c->der = der;
	c->key = key;
	X509_free(x);
}

static int
setup(void **state)
{
	(void)state;
	make_card(&p256, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	make_card(&p384, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
	make_card(&p521, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"));
	make_card(&rsa, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	return 0;
}

static int
teardown(void **state)
{
	struct card *all[] = { &p256, &p384, &p521, &rsa };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		EVP_PKEY_free(all[i]->key);
		OPENSSL_free(all[i]->der);
	}
	return 0;
}

static const char *
md_of(const char *alg)
{
	return strcmp(alg + 2, "256") == 0 ? "SHA256" : strcmp(alg + 2, "384") == 0 ? "SHA384" : "SHA512";
}

/* Sign as the card does: the algorithm over H(origin) || H(nonce), ECDSA
 * as r || s of the curve's size.  Returns the signature (malloc'd). */
static uint8_t *
card_sign(const struct card *c, const char *alg, const char *origin, const char *nonce, size_t *len)
{
	const EVP_MD *md = EVP_get_digestbyname(md_of(alg));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t data[2 * EVP_MAX_MD_SIZE], sig[1024];
	unsigned a = 0, b = 0;
	size_t slen = sizeof(sig);
	uint8_t *out;

	assert_int_equal(EVP_Digest(origin, strlen(origin), data, &a, md, NULL), 1);
	assert_int_equal(EVP_Digest(nonce, strlen(nonce), data + a, &b, md, NULL), 1);
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, c->key), 1);
	if (alg[0] == 'P') {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt), 1);
	}
	assert_int_equal(EVP_DigestSign(ctx, sig, &slen, data, a + b), 1);
	EVP_MD_CTX_free(ctx);
	if (alg[0] == 'E') {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
		size_t n = (size_t)(EVP_PKEY_get_bits(c->key) + 7) / 8;
		assert_non_null(es);
		out = malloc(2 * n);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), out, (int)n), (int)n);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), out + n, (int)n), (int)n);
		ECDSA_SIG_free(es);
		*len = 2 * n;
		return out;
	}
	out = malloc(slen);
	memcpy(out, sig, slen);
	*len = slen;
	return out;
}

/* The token's JSON for a signature (malloc'd). */
static char *
token_json(const struct card *c, const char *alg, const uint8_t *sig, size_t sig_len)
{
	char *cert = sl_b64_encode(c->der, (size_t)c->der_len), *s64 = sl_b64_encode(sig, sig_len);
	json_t *o;
	char *text;

	assert_non_null(cert);
	assert_non_null(s64);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "unverifiedCertificate", cert, "algorithm", alg, "signature", s64,
		"format", "web-eid:1.0", "appVersion", "https://web-eid.eu/web-eid-app/releases/2.5.0+0");
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_non_null(text);
	free(cert);
	free(s64);
	return text;
}

static enum webeid_refusal
parse_str(const char *s, struct webeid_token *t)
{
	struct sl_err err = { 0 };
	enum webeid_refusal r = webeid_token_parse(s, strlen(s), t, &err);

	if (r != WEBEID_OK)
		assert_true(err.msg[0] != '\0'); /* every refusal says why */
	return r;
}

/* A valid token's JSON with field `name` set to the JSON `value` (NULL:
 * removed). */
static char *
with_field(const char *name, const char *value)
{
	uint8_t sig[64] = { 1 };
	char *base = token_json(&p256, "ES256", sig, sizeof(sig)), *out;
	json_t *o = json_loads(base, 0, NULL);

	if (value == NULL)
		json_object_del(o, name);
	else
		json_object_set_new(o, name, json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(base);
	return out;
}

static void
expect_field(const char *name, const char *value, enum webeid_refusal want)
{
	struct webeid_token t;
	char *s = with_field(name, value);
	enum webeid_refusal got = parse_str(s, &t);

	if (got != want)
		fail_msg("%s = %s: %s, expected %s", name, value ? value : "(none)", webeid_refusal_name(got),
			webeid_refusal_name(want));
	webeid_token_clear(&t);
	free(s);
}

/* ---- the parse ---- */

static void
test_parse_valid(void **state)
{
	size_t len = 0;
	uint8_t *sig = card_sign(&p384, "ES384", ORIGIN, NONCE, &len);
	char *s = token_json(&p384, "ES384", sig, len);
	struct webeid_token t;

	(void)state;
	assert_int_equal(parse_str(s, &t), WEBEID_OK);
	assert_int_equal(t.wt_alg, WEBEID_ES384);
	assert_string_equal(webeid_alg_name(t.wt_alg), "ES384");
	assert_int_equal(t.wt_cert_len, (size_t)p384.der_len);
	assert_memory_equal(t.wt_cert, p384.der, t.wt_cert_len);
	assert_int_equal(t.wt_sig_len, 96);
	assert_memory_equal(t.wt_sig, sig, 96);
	assert_string_equal(t.wt_app_version, "https://web-eid.eu/web-eid-app/releases/2.5.0+0");
	webeid_token_clear(&t);
	webeid_token_clear(&t); /* cleared twice: no double free */
	webeid_token_clear(NULL);
	free(s);
	free(sig);
}

static void
test_parse_fields(void **state)
{
	static const char *const names[] = { "unverifiedCertificate", "algorithm", "signature", "format",
		"appVersion" };

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		expect_field(names[i], NULL, WEBEID_MALFORMED);
		expect_field(names[i], "\"\"", WEBEID_MALFORMED);
		expect_field(names[i], "42", WEBEID_MALFORMED);
		expect_field(names[i], "null", WEBEID_MALFORMED);
		expect_field(names[i], "[\"x\"]", WEBEID_MALFORMED);
	}
	expect_field("signature", "\"!!!!\"", WEBEID_MALFORMED);
	expect_field("unverifiedCertificate", "\"AAAA=\"", WEBEID_MALFORMED);
	expect_field("appVersion", "\"a\\u0000b\"", WEBEID_MALFORMED); /* an embedded NUL */
	expect_field("extra", "{\"unknown\": true}", WEBEID_OK); /* unknown fields are ignored */
	expect_field("unverifiedSigningCertificates", "[]", WEBEID_MALFORMED); /* not in 1.0 */
}

static void
test_parse_format_and_algorithm(void **state)
{
	static const char *const good_formats[] = { "\"web-eid:1\"", "\"web-eid:1.0\"", "\"web-eid:1.1\"",
		"\"web-eid:1.10\"" };
	static const char *const bad_formats[] = { "\"web-eid:2\"", "\"web-eid:1.\"", "\"web-eid:10\"",
		"\"web-eid:1.0a\"", "\"web-eid:1.-1\"", "\"WEB-EID:1\"", "\"web-eid\"", "\"web-eid:1 \"" };
	static const char *const algs[] = { "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384",
		"RS512" };
	static const char *const bad_algs[] = { "\"HS256\"", "\"none\"", "\"es256\"", "\"ES256 \"", "\"EdDSA\"",
		"\"ES\"", "\"RS1\"" };
	char quoted[16];

	(void)state;
	for (size_t i = 0; i < sizeof(good_formats) / sizeof(*good_formats); i++)
		expect_field("format", good_formats[i], WEBEID_OK);
	for (size_t i = 0; i < sizeof(bad_formats) / sizeof(*bad_formats); i++)
		expect_field("format", bad_formats[i], WEBEID_BAD_FORMAT);
	for (size_t i = 0; i < 9; i++) {
		snprintf(quoted, sizeof(quoted), "\"%s\"", algs[i]);
		expect_field("algorithm", quoted, WEBEID_OK);
		assert_string_equal(webeid_alg_name((enum webeid_alg)(i + 1)), algs[i]);
	}
	for (size_t i = 0; i < sizeof(bad_algs) / sizeof(*bad_algs); i++)
		expect_field("algorithm", bad_algs[i], WEBEID_BAD_ALGORITHM);
	assert_string_equal(webeid_alg_name((enum webeid_alg)0), "none");
	assert_string_equal(webeid_alg_name((enum webeid_alg)10), "none");
}

static void
test_parse_not_json(void **state)
{
	static const char *const bad[] = { "", "null", "[]", "\"token\"", "{", "{\"format\":\"web-eid:1.0\"}",
		"{\"format\":\"web-eid:1.0\",\"format\":\"web-eid:1.0\"}", "{}x" };
	struct webeid_token t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse_str(bad[i], &t) != WEBEID_MALFORMED)
			fail_msg("'%s' was not refused as malformed", bad[i]);
		assert_null(t.wt_cert); /* nothing left behind */
	}
}

static void
test_parse_bounds(void **state)
{
	struct webeid_token t;
	struct sl_err err = { 0 };
	char *s = with_field("appVersion", "\"x\""), *big;
	size_t n = strlen(s);

	(void)state;
	/* exactly at the bound: read (and refused for appVersion's own bound) */
	big = malloc(WEBEID_MAX_TOKEN + 2);
	memset(big, ' ', WEBEID_MAX_TOKEN + 1);
	memcpy(big, s, n);
	big[WEBEID_MAX_TOKEN + 1] = '\0';
	assert_int_equal(webeid_token_parse(big, WEBEID_MAX_TOKEN, &t, &err), WEBEID_OK);
	webeid_token_clear(&t);
	assert_int_equal(webeid_token_parse(big, WEBEID_MAX_TOKEN + 1, &t, &err), WEBEID_TOO_LARGE);
	assert_int_equal(err.code, SL_ETOOBIG);
	/* `len` ends the text: what follows is not read */
	assert_int_equal(webeid_token_parse(s, n - 1, &t, &err), WEBEID_MALFORMED);
	memcpy(big, s, n);
	big[n] = '}';
	assert_int_equal(webeid_token_parse(big, n, &t, &err), WEBEID_OK);
	webeid_token_clear(&t);
	free(big);
	free(s);
	/* appVersion up to its bound; a signature past WEBEID_MAX_SIG bytes */
	{
		char v[WEBEID_MAX_APP_VERSION + 4];
		memset(v, 'a', sizeof(v));
		v[0] = '"';
		v[WEBEID_MAX_APP_VERSION + 1] = '"';
		v[WEBEID_MAX_APP_VERSION + 2] = '\0';
		expect_field("appVersion", v, WEBEID_OK);
		v[WEBEID_MAX_APP_VERSION + 1] = 'a';
		v[WEBEID_MAX_APP_VERSION + 2] = '"';
		v[WEBEID_MAX_APP_VERSION + 3] = '\0';
		expect_field("appVersion", v, WEBEID_MALFORMED);
	}
	{
		uint8_t raw[WEBEID_MAX_SIG + 1];
		char *b64, *q;
		memset(raw, 7, sizeof(raw));
		b64 = sl_b64_encode(raw, sizeof(raw));
		q = malloc(strlen(b64) + 3);
		sprintf(q, "\"%s\"", b64);
		expect_field("signature", q, WEBEID_MALFORMED);
		free(q);
		free(b64);
	}
}

/* ---- what the card signs ---- */

static void
test_signed_data(void **state)
{
	/* sha256sum of the Web eID documents' example origin and challenge */
	static const uint8_t h_origin[32] = { 0x3a, 0x0d, 0xe5, 0x94, 0xdd, 0xc5, 0xe6, 0xd2, 0xdb, 0x6a, 0xc3, 0x67,
		0x88, 0xcc, 0xd4, 0x10, 0x2b, 0x7e, 0xb2, 0x72, 0xe4, 0xd6, 0x10, 0xea, 0x89, 0x56, 0x31, 0x7c, 0xcf,
		0x61, 0x6f, 0x92 };
	static const uint8_t h_nonce[32] = { 0x96, 0xd5, 0x81, 0x10, 0xd3, 0xc3, 0x10, 0x77, 0x97, 0x0a, 0xe1, 0x19,
		0x7c, 0xf5, 0x1a, 0x3b, 0x51, 0x52, 0xdb, 0xb2, 0x41, 0x7c, 0x79, 0xde, 0x9a, 0x59, 0xbf, 0x2f, 0x62,
		0xb6, 0xd4, 0x3c };
	static const uint8_t h384_origin[16] = { 0x86, 0x9f, 0xc6, 0x7e, 0x80, 0x28, 0x21, 0x2e, 0x14, 0xa4, 0x95, 0x2c,
		0x58, 0x3b, 0xd6, 0x14 };
	uint8_t out[2 * WEBEID_MAX_HASH];
	size_t len = 1;

	(void)state;
	assert_int_equal(webeid_signed_data(WEBEID_ES256, ORIGIN, NONCE, out, &len), SL_OK);
	assert_int_equal(len, 64);
	assert_memory_equal(out, h_origin, 32);
	assert_memory_equal(out + 32, h_nonce, 32);
	assert_int_equal(webeid_signed_data(WEBEID_RS256, ORIGIN, NONCE, out, &len), SL_OK);
	assert_memory_equal(out, h_origin, 32);
	assert_int_equal(webeid_signed_data(WEBEID_PS384, ORIGIN, NONCE, out, &len), SL_OK);
	assert_int_equal(len, 96);
	assert_memory_equal(out, h384_origin, 16);
	assert_int_equal(webeid_signed_data(WEBEID_ES512, ORIGIN, NONCE, out, &len), SL_OK);
	assert_int_equal(len, 128);
	assert_int_equal(webeid_signed_data((enum webeid_alg)0, ORIGIN, NONCE, out, &len), SL_EINVAL);
	assert_int_equal(len, 0);
	assert_int_equal(webeid_signed_data((enum webeid_alg)99, ORIGIN, NONCE, out, &len), SL_EINVAL);
	assert_int_equal(webeid_signed_data(WEBEID_ES256, NULL, NONCE, out, &len), SL_EINVAL);
}

/* ---- the signature ---- */

static enum webeid_refusal
verify_as(const struct card *signer, const char *sign_alg, const struct card *cert, const char *claim,
	const char *origin, const char *nonce)
{
	size_t len = 0;
	uint8_t *sig = card_sign(signer, sign_alg, ORIGIN, NONCE, &len);
	char *s = token_json(cert, claim, sig, len);
	struct webeid_token t;
	struct sl_err err = { 0 };
	enum webeid_refusal r;

	assert_int_equal(parse_str(s, &t), WEBEID_OK);
	r = webeid_verify(&t, origin, nonce, &err);
	if (r != WEBEID_OK)
		assert_true(err.msg[0] != '\0');
	webeid_token_clear(&t);
	free(s);
	free(sig);
	return r;
}

static void
test_verify_each_algorithm(void **state)
{
	static const struct {
		const struct card *card;
		const char *alg;
	} ok[] = { { &p256, "ES256" }, { &p384, "ES384" }, { &p521, "ES512" }, { &rsa, "PS256" }, { &rsa, "PS384" },
		{ &rsa, "PS512" }, { &rsa, "RS256" }, { &rsa, "RS384" }, { &rsa, "RS512" } };

	(void)state;
	for (size_t i = 0; i < 9; i++) {
		const struct card *c = ok[i].card;
		if (verify_as(c, ok[i].alg, c, ok[i].alg, ORIGIN, NONCE) != WEBEID_OK)
			fail_msg("%s refused", ok[i].alg);
		/* another origin, another challenge: not this signature */
		assert_int_equal(
			verify_as(c, ok[i].alg, c, ok[i].alg, "https://ria.ee.evil", NONCE), WEBEID_BAD_SIGNATURE);
		assert_int_equal(verify_as(c, ok[i].alg, c, ok[i].alg, ORIGIN "/", NONCE), WEBEID_BAD_SIGNATURE);
		assert_int_equal(verify_as(c, ok[i].alg, c, ok[i].alg, ORIGIN, NONCE "x"), WEBEID_BAD_SIGNATURE);
	}
}

static void
test_verify_mismatch(void **state)
{
	(void)state;
	/* the curve must be the algorithm's */
	assert_int_equal(verify_as(&p384, "ES384", &p384, "ES256", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	assert_int_equal(verify_as(&p256, "ES256", &p256, "ES384", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	assert_int_equal(verify_as(&p521, "ES512", &p521, "ES384", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	/* RSA cannot claim ECDSA, nor EC claim RSA */
	assert_int_equal(verify_as(&rsa, "RS256", &rsa, "ES256", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	assert_int_equal(verify_as(&p256, "ES256", &p256, "RS256", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	assert_int_equal(verify_as(&p256, "ES256", &p256, "PS256", ORIGIN, NONCE), WEBEID_ALGORITHM_MISMATCH);
	/* the right kind of key but the other padding or hash: a bad signature */
	assert_int_equal(verify_as(&rsa, "PS256", &rsa, "RS256", ORIGIN, NONCE), WEBEID_BAD_SIGNATURE);
	assert_int_equal(verify_as(&rsa, "RS256", &rsa, "PS256", ORIGIN, NONCE), WEBEID_BAD_SIGNATURE);
	assert_int_equal(verify_as(&rsa, "RS384", &rsa, "RS256", ORIGIN, NONCE), WEBEID_BAD_SIGNATURE);
	/* RFC 7518 §3.5: the salt is as long as the hash, not any length */
	pss_salt = RSA_PSS_SALTLEN_MAX;
	assert_int_equal(verify_as(&rsa, "PS256", &rsa, "PS256", ORIGIN, NONCE), WEBEID_BAD_SIGNATURE);
	pss_salt = RSA_PSS_SALTLEN_DIGEST;
	/* another key's signature under this certificate */
	assert_int_equal(verify_as(&p256, "ES256", &rsa, "RS256", ORIGIN, NONCE), WEBEID_BAD_SIGNATURE);
}

static void
test_verify_damaged(void **state)
{
	size_t len = 0;
	uint8_t *sig = card_sign(&p256, "ES256", ORIGIN, NONCE, &len);
	struct webeid_token t = { 0 };
	struct sl_err err = { 0 };
	uint8_t der_sig[80];
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *p = der_sig;
	uint8_t *cert;

	(void)state;
	t.wt_alg = WEBEID_ES256;
	t.wt_cert = p256.der;
	t.wt_cert_len = (size_t)p256.der_len;
	t.wt_sig = sig;
	t.wt_sig_len = len;
	assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_OK);
	for (size_t i = 0; i < len; i += 7) {
		sig[i] ^= 0x20;
		assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_BAD_SIGNATURE);
		sig[i] ^= 0x20;
	}
	/* r || s one byte short, or the DER form OpenSSL would make */
	t.wt_sig_len = len - 1;
	assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_BAD_SIGNATURE);
	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
	t.wt_sig = der_sig;
	t.wt_sig_len = (size_t)i2d_ECDSA_SIG(es, &p);
	assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_BAD_SIGNATURE);
	ECDSA_SIG_free(es);
	/* a certificate with a byte more, or one less */
	t.wt_sig = sig;
	t.wt_sig_len = len;
	cert = malloc((size_t)p256.der_len + 1);
	memcpy(cert, p256.der, (size_t)p256.der_len);
	cert[p256.der_len] = 0;
	t.wt_cert = cert;
	t.wt_cert_len = (size_t)p256.der_len + 1;
	assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_BAD_CERTIFICATE);
	t.wt_cert_len = (size_t)p256.der_len - 1;
	assert_int_equal(webeid_verify(&t, ORIGIN, NONCE, &err), WEBEID_BAD_CERTIFICATE);
	free(cert);
	free(sig);
}

static void
test_refusal_names(void **state)
{
	(void)state;
	assert_string_equal(webeid_refusal_name(WEBEID_OK), "ok");
	assert_string_equal(webeid_refusal_name(WEBEID_BAD_SIGNATURE), "bad_signature");
	assert_string_equal(webeid_refusal_name(WEBEID_ALGORITHM_MISMATCH), "algorithm_mismatch");
	assert_string_equal(webeid_refusal_name((enum webeid_refusal)WEBEID_REFUSAL_COUNT), "error");
	for (int i = 0; i < WEBEID_REFUSAL_COUNT; i++)
		assert_non_null(webeid_refusal_name((enum webeid_refusal)i));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_format_and_algorithm),
		cmocka_unit_test(test_parse_not_json),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_signed_data),
		cmocka_unit_test(test_verify_each_algorithm),
		cmocka_unit_test(test_verify_mismatch),
		cmocka_unit_test(test_verify_damaged),
		cmocka_unit_test(test_refusal_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
