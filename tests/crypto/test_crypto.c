/*
 * test_crypto.c — hashes, PKCE, the strict JOSE wrapper and the local
 * X.509 set-up.  Forged tokens are signed here with OpenSSL directly, with
 * the real private key, so that a refusal can only come from the header
 * rules and never from a broken signature; each forgery has a control that
 * the same signer makes tokens the wrapper accepts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../src/crypto/crypto.h"

static const char *const algs[] = { "ES256", "RS256", "PS256" };
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* ---- helpers ---- */

static char *
b64u_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT), *enc;

	assert_non_null(s);
	enc = sl_b64url_encode((const uint8_t *)s, strlen(s));
	assert_non_null(enc);
	free(s);
	return enc;
}

static char *
b64u_str(const char *s)
{
	char *enc = sl_b64url_encode((const uint8_t *)s, strlen(s));

	assert_non_null(enc);
	return enc;
}

static char *
concat3(const char *a, const char *b, const char *c)
{
	struct sl_buf buf;

	sl_buf_init(&buf, 1 << 20);
	assert_int_equal(sl_buf_addf(&buf, "%s.%s.%s", a, b, c), SL_OK);
	return sl_buf_take(&buf);
}

/* "header.payload", what a JWS signature covers. */
static char *
signing_input(const char *h, const char *p)
{
	struct sl_buf buf;

	sl_buf_init(&buf, 1 << 20);
	assert_int_equal(sl_buf_addf(&buf, "%s.%s", h, p), SL_OK);
	return sl_buf_take(&buf);
}

/* The n-th of the three dot-separated parts of a compact JWS; malloc'd. */
static char *
jws_part(const char *compact, int n)
{
	const char *p = compact, *end;

	for (int i = 0; i < n; i++) {
		p = strchr(p, '.');
		assert_non_null(p);
		p++;
	}
	end = strchr(p, '.');
	return sl_strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static EVP_PKEY *
pkey_of(const struct jose_key *key)
{
	char *pem = jose_key_private_pem(key);
	BIO *bio;
	EVP_PKEY *pkey;

	assert_non_null(pem);
	bio = BIO_new_mem_buf(pem, -1);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	assert_non_null(pkey);
	return pkey;
}

/* A JWS signature over `input` made with OpenSSL, base64url. */
static char *
raw_sign(EVP_PKEY *pkey, const char *alg, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[1024], raw[64];
	size_t siglen = sizeof(sig);
	char *out;

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey), 1);
	if (strcmp(alg, "PS256") == 0) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const uint8_t *)input, strlen(input)), 1);
	EVP_MD_CTX_free(md);
	if (strcmp(alg, "ES256") == 0) {
		/* DER ECDSA-Sig-Value to the JWS form r || s. */
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		assert_non_null(es);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
		ECDSA_SIG_free(es);
		out = sl_b64url_encode(raw, sizeof(raw));
	} else {
		out = sl_b64url_encode(sig, siglen);
	}
	assert_non_null(out);
	return out;
}

/* A compact JWS with header `hdr` over `payload_b64`, signed with `pkey`
 * by `sign_alg` whatever the header says. */
static char *
forge(EVP_PKEY *pkey, const char *sign_alg, json_t *hdr, const char *payload_b64)
{
	char *h = b64u_json(hdr), *input, *sig, *out;

	input = signing_input(h, payload_b64);
	sig = raw_sign(pkey, sign_alg, input);
	out = concat3(h, payload_b64, sig);
	free(h);
	free(input);
	free(sig);
	return out;
}

static json_t *
claims_new(void)
{
	return json_pack("{s:s, s:s, s:i}", "iss", "https://id.example", "sub", "person-1", "n", 42);
}

static void
expect_verified(const char *token, struct jose_key *const *keys, size_t nkeys)
{
	struct sl_err err = { 0 };
	json_t *claims = NULL;
	int rc = jose_verify(token, keys, nkeys, &claims, &err);

	if (rc != SL_OK)
		fail_msg("jose_verify refused (%d): %s", rc, err.msg);
	assert_non_null(claims);
	json_decref(claims);
}

static void
expect_refused(const char *token, struct jose_key *const *keys, size_t nkeys)
{
	struct sl_err err = { 0 };
	json_t *claims = NULL;
	int rc = jose_verify(token, keys, nkeys, &claims, &err);

	if (rc == SL_OK) {
		json_decref(claims);
		fail_msg("jose_verify accepted %s", token);
	}
	assert_null(claims);
	assert_true(strlen(err.msg) > 0);
}

/* A JSON public JWK of an OpenSSL key, made here (not by the wrapper). */
static void
put_bn(json_t *o, const char *name, EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;
	char *enc;

	assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
	n = pad ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	assert_true(n > 0);
	enc = sl_b64url_encode(buf, (size_t)n);
	json_object_set_new(o, name, json_string(enc));
	free(enc);
}

static json_t *
jwk_of_pkey(EVP_PKEY *pkey, const char *crv, int coord)
{
	json_t *o = json_object();

	if (crv != NULL) {
		json_object_set_new(o, "kty", json_string("EC"));
		json_object_set_new(o, "crv", json_string(crv));
		put_bn(o, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord);
		put_bn(o, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, coord);
	} else {
		json_object_set_new(o, "kty", json_string("RSA"));
		put_bn(o, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		put_bn(o, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0);
	}
	return o;
}

static void
expect_jwk_refused(json_t *jwk, const char *const *allowed, const char *why)
{
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_from_jwk(jwk, allowed, &err);

	if (key != NULL) {
		jose_key_free(key);
		fail_msg("jose_key_from_jwk accepted a JWK with %s", why);
	}
	assert_true(strlen(err.msg) > 0);
}

/* ---- hashes ---- */

static void
test_sha256_and_token_hash(void **state)
{
	uint8_t h[SL_SHA256_LEN];
	char hex[2 * SL_SHA256_LEN + 1];

	(void)state;
	assert_int_equal(crypto_sha256("abc", 3, h), SL_OK);
	sl_hex(h, sizeof(h), hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_token_hash("abc", hex), SL_OK);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_token_hash("", hex), SL_OK);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_sha256_rfc4231(void **state)
{
	uint8_t h[SL_SHA256_LEN];
	char hex[2 * SL_SHA256_LEN + 1];

	(void)state;
	/* RFC 4231 test case 2 */
	assert_int_equal(crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, h), SL_OK);
	sl_hex(h, sizeof(h), hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* A key keyed once gives the same MACs, again and again (each MAC on its
 * own copy of the keyed state), and a key longer than a block too. */
static void
test_hmac_keyed_once(void **state)
{
	uint8_t h[SL_SHA256_LEN], want[SL_SHA256_LEN], longkey[131];
	char hex[2 * SL_SHA256_LEN + 1];
	struct crypto_hmac *k = crypto_hmac_new("Jefe", 4), *big;

	(void)state;
	assert_non_null(k);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(crypto_hmac_mac(k, "what do ya want for nothing?", 28, h), SL_OK);
		sl_hex(h, sizeof(h), hex);
		assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	}
	assert_int_equal(crypto_hmac_mac(k, "other", 5, h), SL_OK);
	assert_int_equal(crypto_hmac_sha256("Jefe", 4, "other", 5, want), SL_OK);
	assert_memory_equal(h, want, sizeof(h));
	crypto_hmac_free(k);
	/* RFC 4231 test case 6: a 131-byte key */
	memset(longkey, 0xaa, sizeof(longkey));
	big = crypto_hmac_new(longkey, sizeof(longkey));
	assert_non_null(big);
	assert_int_equal(crypto_hmac_mac(big, "Test Using Larger Than Block-Size Key - Hash Key First", 54, h), SL_OK);
	sl_hex(h, sizeof(h), hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	crypto_hmac_free(big);
	assert_int_equal(crypto_hmac_mac(NULL, "x", 1, h), SL_ECRYPTO);
	crypto_hmac_free(NULL);
}

static void
test_half_hash_known_values(void **state)
{
	char *h;

	(void)state;
	/* printf %s VALUE | openssl dgst -sha256 -binary | head -c 16 | base64url */
	h = crypto_half_hash("sleutel-access-token");
	assert_non_null(h);
	assert_string_equal(h, "ryPemfq2Ldc_U9OPcZHaPg");
	free(h);
	h = crypto_half_hash("dNZX1hEZ9wBCzNL40Upu646bdzQA");
	assert_non_null(h);
	assert_string_equal(h, "wfgvmE9VxjAudsl9lc6TqA");
	free(h);
}

/* ---- PKCE ---- */

static char *
s256(const char *verifier)
{
	uint8_t h[SL_SHA256_LEN];

	assert_int_equal(crypto_sha256(verifier, strlen(verifier), h), SL_OK);
	return sl_b64url_encode(h, sizeof(h));
}

static void
test_pkce_rfc7636_vector(void **state)
{
	(void)state;
	assert_true(crypto_pkce_s256_ok(
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
	assert_false(crypto_pkce_s256_ok(
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
	assert_false(crypto_pkce_s256_ok(
		"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
	assert_false(crypto_pkce_s256_ok("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", ""));
	assert_false(crypto_pkce_s256_ok(NULL, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
	assert_false(crypto_pkce_s256_ok("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", NULL));
}

static void
test_pkce_verifier_length(void **state)
{
	char v[130];
	char *c;

	(void)state;
	/* Each challenge is the true S256 of its verifier: only length decides. */
	memset(v, 'a', sizeof(v));
	v[42] = '\0';
	c = s256(v);
	assert_false(crypto_pkce_s256_ok(v, c));
	free(c);
	v[42] = 'a';
	v[43] = '\0';
	c = s256(v);
	assert_true(crypto_pkce_s256_ok(v, c));
	free(c);
	v[43] = 'a';
	v[128] = '\0';
	c = s256(v);
	assert_true(crypto_pkce_s256_ok(v, c));
	free(c);
	v[128] = 'a';
	v[129] = '\0';
	c = s256(v);
	assert_false(crypto_pkce_s256_ok(v, c));
	free(c);
	c = s256("");
	assert_false(crypto_pkce_s256_ok("", c));
	free(c);
}

static void
test_pkce_verifier_characters(void **state)
{
	static const char *const bad[] = { "dBjftJeZ4CVP+mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		"dBjftJeZ4CVP/mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		"dBjftJeZ4CVP=mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "dBjftJeZ4CVP%mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		"dBjftJeZ4CVP\xc3\xa9mB92K27uhbUJU1p1r_wW1gFWFOEjXk" };
	const char *good = "0123456789.~-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char *c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = s256(bad[i]);
		if (crypto_pkce_s256_ok(bad[i], c))
			fail_msg("verifier %zu with a bad character accepted", i);
		free(c);
	}
	c = s256(good);
	assert_true(crypto_pkce_s256_ok(good, c));
	free(c);
}

/* ---- JOSE keys ---- */

static void
test_key_generate_each_alg(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "kid-1", &err);
		if (key == NULL)
			fail_msg("%s: %s", algs[i], err.msg);
		assert_string_equal(jose_key_alg(key), algs[i]);
		assert_string_equal(jose_key_kid(key), "kid-1");
		jose_key_free(key);
	}
	assert_true(jose_alg_supported("ES256"));
	assert_false(jose_alg_supported("none"));
	assert_false(jose_alg_supported("HS256"));
	assert_false(jose_alg_supported(NULL));
	assert_null(jose_key_generate("HS256", "k", &err));
	assert_true(strlen(err.msg) > 0);
	assert_null(jose_key_generate("none", "k", &err));
	assert_null(jose_key_generate(NULL, "k", &err));
	jose_key_free(NULL);
}

static void
test_sign_verify_round_trip(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "k1", &err);
		json_t *claims = claims_new(), *got = NULL, *hdr;
		char *token;

		assert_non_null(key);
		token = jose_sign(key, claims, "JWT", &err);
		if (token == NULL)
			fail_msg("%s: %s", algs[i], err.msg);
		hdr = jose_peek_header(token);
		assert_non_null(hdr);
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "k1");
		assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
		json_decref(hdr);
		if (jose_verify(token, &key, 1, &got, &err) != SL_OK)
			fail_msg("%s: %s", algs[i], err.msg);
		assert_true(json_equal(got, claims));
		json_decref(got);
		json_decref(claims);
		free(token);
		jose_key_free(key);
	}
}

static void
test_public_jwk_has_no_private_members(void **state)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "pub-1", &err);
		json_t *jwk;

		assert_non_null(key);
		jwk = jose_key_public_jwk(key);
		assert_non_null(jwk);
		assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "pub-1");
		assert_string_equal(json_string_value(json_object_get(jwk, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
		if (strcmp(algs[i], "ES256") == 0) {
			assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
			assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
			assert_non_null(json_object_get(jwk, "x"));
			assert_non_null(json_object_get(jwk, "y"));
		} else {
			assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
			assert_non_null(json_object_get(jwk, "n"));
			assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
		}
		for (size_t j = 0; j < sizeof(priv) / sizeof(priv[0]); j++)
			if (json_object_get(jwk, priv[j]) != NULL)
				fail_msg("%s public JWK holds \"%s\"", algs[i], priv[j]);
		json_decref(jwk);
		jose_key_free(key);
	}
}

static void
test_public_jwk_imports_and_verifies(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		const char *allowed[] = { algs[i], NULL };
		struct jose_key *key = jose_key_generate(algs[i], "rp-key", &err), *pub;
		json_t *jwk, *claims = claims_new();
		char *token;

		assert_non_null(key);
		jwk = jose_key_public_jwk(key);
		pub = jose_key_from_jwk(jwk, allowed, &err);
		if (pub == NULL)
			fail_msg("%s: %s", algs[i], err.msg);
		assert_string_equal(jose_key_alg(pub), algs[i]);
		assert_string_equal(jose_key_kid(pub), "rp-key");
		assert_null(jose_key_private_pem(pub));
		assert_null(jose_sign(pub, claims, NULL, &err));
		token = jose_sign(key, claims, NULL, &err);
		assert_non_null(token);
		expect_verified(token, &pub, 1);
		free(token);
		json_decref(claims);
		json_decref(jwk);
		jose_key_free(pub);
		jose_key_free(key);
	}
}

static void
test_forged_control_is_accepted(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	/* The forger below makes valid tokens when the header is honest. */
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "k1", &err);
		EVP_PKEY *pkey = pkey_of(key);
		json_t *hdr = json_pack("{s:s, s:s}", "alg", algs[i], "kid", "k1");
		char *payload = b64u_str("{\"sub\":\"person-1\"}"), *token;

		token = forge(pkey, algs[i], hdr, payload);
		expect_verified(token, &key, 1);
		free(token);
		free(payload);
		json_decref(hdr);
		EVP_PKEY_free(pkey);
		jose_key_free(key);
	}
}

static void
test_alg_none_refused(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("RS256", "k1", &err);
	json_t *claims = claims_new();
	char *token = jose_sign(key, claims, NULL, &err), *payload, *sig, *forged, *h;
	static const char *const nones[] = { "none", "None", "NONE", "" };

	(void)state;
	assert_non_null(token);
	payload = jws_part(token, 1);
	sig = jws_part(token, 2);
	for (size_t i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
		json_t *hdr = json_pack("{s:s, s:s}", "alg", nones[i], "kid", "k1");
		h = b64u_json(hdr);
		forged = concat3(h, payload, "");
		expect_refused(forged, &key, 1);
		free(forged);
		forged = concat3(h, payload, sig);
		expect_refused(forged, &key, 1);
		free(forged);
		free(h);
		json_decref(hdr);
	}
	/* No alg at all. */
	h = b64u_str("{\"kid\":\"k1\"}");
	forged = concat3(h, payload, sig);
	expect_refused(forged, &key, 1);
	free(forged);
	free(h);
	free(payload);
	free(sig);
	free(token);
	json_decref(claims);
	jose_key_free(key);
}

static void
test_banned_header_members_refused(void **state)
{
	static const char *const banned[] = { "crit", "jku", "x5u", "jwk", "x5c" };
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("RS256", "k1", &err);
	EVP_PKEY *pkey = pkey_of(key);
	char *payload = b64u_str("{\"sub\":\"person-1\"}");
	json_t *pubjwk = jose_key_public_jwk(key);

	(void)state;
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++) {
		json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "kid", "k1");
		char *token;

		if (strcmp(banned[i], "crit") == 0) {
			json_object_set_new(hdr, "crit", json_pack("[s]", "exp"));
			json_object_set_new(hdr, "exp", json_integer(1));
		} else if (strcmp(banned[i], "jwk") == 0) {
			json_object_set(hdr, "jwk", pubjwk);
		} else if (strcmp(banned[i], "x5c") == 0) {
			json_object_set_new(hdr, "x5c", json_pack("[s]", "MIIB"));
		} else {
			json_object_set_new(hdr, banned[i], json_string("https://attacker.example/jwks"));
		}
		token = forge(pkey, "RS256", hdr, payload);
		expect_refused(token, &key, 1);
		free(token);
		json_decref(hdr);
	}
	json_decref(pubjwk);
	free(payload);
	EVP_PKEY_free(pkey);
	jose_key_free(key);
}

static void
test_alg_switched_refused(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *rs = jose_key_generate("RS256", "k1", &err), *ps;
	EVP_PKEY *pkey = pkey_of(rs);
	char *pem = jose_key_private_pem(rs), *payload = b64u_str("{\"sub\":\"person-1\"}"), *token;
	json_t *hdr;
	uint8_t mac[SL_SHA256_LEN];

	(void)state;
	/* The same RSA key bound to PS256 under the same kid. */
	ps = jose_key_from_pem(pem, "PS256", "k1", &err);
	assert_non_null(ps);

	/* PSS-signed by the real key, header says PS256: the RS256 key refuses. */
	hdr = json_pack("{s:s, s:s}", "alg", "PS256", "kid", "k1");
	token = forge(pkey, "PS256", hdr, payload);
	expect_refused(token, &rs, 1);
	expect_verified(token, &ps, 1); /* control: the signature itself is good */
	free(token);
	json_decref(hdr);

	/* And the other way round. */
	hdr = json_pack("{s:s, s:s}", "alg", "RS256", "kid", "k1");
	token = forge(pkey, "RS256", hdr, payload);
	expect_refused(token, &ps, 1);
	expect_verified(token, &rs, 1);
	free(token);
	json_decref(hdr);

	/* HS256 keyed with the public key: unknown to the wrapper. */
	{
		json_t *jwk = jose_key_public_jwk(rs);
		char *h, *input, *sig, *forged;
		const char *n = json_string_value(json_object_get(jwk, "n"));
		unsigned int mlen = 0;

		hdr = json_pack("{s:s, s:s}", "alg", "HS256", "kid", "k1");
		h = b64u_json(hdr);
		input = signing_input(h, payload);
		HMAC(EVP_sha256(), n, (int)strlen(n), (const uint8_t *)input, strlen(input), mac, &mlen);
		sig = sl_b64url_encode(mac, mlen);
		forged = concat3(h, payload, sig);
		expect_refused(forged, &rs, 1);
		free(forged);
		free(sig);
		free(input);
		free(h);
		json_decref(hdr);
		json_decref(jwk);
	}

	/* ES256 header on an RSA-signed token. */
	hdr = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "k1");
	token = forge(pkey, "RS256", hdr, payload);
	expect_refused(token, &rs, 1);
	free(token);
	json_decref(hdr);

	free(payload);
	free(pem);
	EVP_PKEY_free(pkey);
	jose_key_free(ps);
	jose_key_free(rs);
}

static void
test_tampered_payload_refused(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "k1", &err);
		json_t *claims = claims_new();
		char *token = jose_sign(key, claims, NULL, &err), *h, *p, *s, *evil, *forged;

		assert_non_null(token);
		h = jws_part(token, 0);
		s = jws_part(token, 2);
		evil = b64u_str("{\"iss\":\"https://id.example\",\"sub\":\"admin\",\"n\":42}");
		forged = concat3(h, evil, s);
		expect_refused(forged, &key, 1);
		free(forged);

		/* One flipped character of the signature. */
		p = jws_part(token, 1);
		s[3] = s[3] == 'A' ? 'B' : 'A';
		forged = concat3(h, p, s);
		expect_refused(forged, &key, 1);
		free(forged);

		/* Signature left off. */
		forged = concat3(h, p, "");
		expect_refused(forged, &key, 1);
		free(forged);

		free(p);
		free(evil);
		free(h);
		free(s);
		free(token);
		json_decref(claims);
		jose_key_free(key);
	}
}

static void
test_other_kid_refused(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "kid-a", &err), *same, *other;
		json_t *claims = claims_new();
		char *pem = jose_key_private_pem(key), *token;

		/* The very same key material under kid-b: the kid decides. */
		same = jose_key_from_pem(pem, algs[i], "kid-b", &err);
		other = jose_key_generate(algs[i], "kid-b", &err);
		assert_non_null(same);
		assert_non_null(other);
		token = jose_sign(key, claims, NULL, &err);
		assert_non_null(token);
		expect_refused(token, &same, 1);
		expect_refused(token, &other, 1);
		{
			struct jose_key *both[] = { other, key };
			expect_verified(token, both, 2);
		}
		free(token);
		free(pem);
		json_decref(claims);
		jose_key_free(other);
		jose_key_free(same);
		jose_key_free(key);
	}
}

static void
test_no_kid_needs_one_candidate(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", NULL, &err);
	struct jose_key *other = jose_key_generate("ES256", NULL, &err);
	struct jose_key *rsa = jose_key_generate("RS256", NULL, &err);
	json_t *claims = claims_new(), *hdr;
	char *token;

	(void)state;
	assert_non_null(key);
	token = jose_sign(key, claims, NULL, &err);
	assert_non_null(token);
	hdr = jose_peek_header(token);
	assert_null(json_object_get(hdr, "kid"));
	json_decref(hdr);
	{
		struct jose_key *one[] = { rsa, key };
		struct jose_key *two[] = { key, other };
		expect_verified(token, one, 2);
		expect_refused(token, two, 2);
	}
	expect_refused(token, NULL, 0);
	free(token);
	json_decref(claims);
	jose_key_free(rsa);
	jose_key_free(other);
	jose_key_free(key);
}

static void
test_malformed_tokens_refused(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", "k1", &err);
	json_t *claims = NULL, *arr = json_pack("[i]", 1);
	char *big, *token, *hdr;

	(void)state;
	expect_refused("", &key, 1);
	expect_refused("not a token", &key, 1);
	expect_refused("a.b.c", &key, 1);
	expect_refused("....", &key, 1);

	/* A signed payload that is not an object. */
	{
		EVP_PKEY *pkey = pkey_of(key);
		json_t *h = json_pack("{s:s, s:s}", "alg", "ES256", "kid", "k1");
		char *p = b64u_json(arr);
		token = forge(pkey, "ES256", h, p);
		assert_int_not_equal(jose_verify(token, &key, 1, &claims, &err), SL_OK);
		assert_null(claims);
		free(token);
		free(p);
		json_decref(h);
		EVP_PKEY_free(pkey);
	}

	/* Duplicate header members. */
	hdr = b64u_str("{\"alg\":\"ES256\",\"kid\":\"k1\",\"alg\":\"none\"}");
	token = concat3(hdr, "e30", "");
	expect_refused(token, &key, 1);
	free(token);
	free(hdr);

	/* Over the size limit. */
	big = malloc(20000);
	assert_non_null(big);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	big[10] = '.';
	big[20] = '.';
	assert_int_equal(jose_verify(big, &key, 1, &claims, &err), SL_ETOOBIG);
	free(big);
	json_decref(arr);
	jose_key_free(key);
}

static void
test_pem_round_trip(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	for (size_t i = 0; i < NALGS; i++) {
		struct jose_key *key = jose_key_generate(algs[i], "k1", &err), *back;
		json_t *claims = claims_new();
		char *pem = jose_key_private_pem(key), *token;

		assert_non_null(pem);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		back = jose_key_from_pem(pem, algs[i], "k1", &err);
		if (back == NULL)
			fail_msg("%s: %s", algs[i], err.msg);
		token = jose_sign(back, claims, "JWT", &err);
		assert_non_null(token);
		expect_verified(token, &key, 1);
		free(token);
		free(pem);
		json_decref(claims);
		jose_key_free(back);
		jose_key_free(key);
	}
}

static void
test_pem_with_wrong_alg_refused(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *ec = jose_key_generate("ES256", "k", &err);
	struct jose_key *rsa = jose_key_generate("RS256", "k", &err);
	char *ecpem = jose_key_private_pem(ec), *rsapem = jose_key_private_pem(rsa);

	(void)state;
	assert_null(jose_key_from_pem(ecpem, "RS256", "k", &err));
	assert_true(strlen(err.msg) > 0);
	assert_null(jose_key_from_pem(ecpem, "PS256", "k", &err));
	assert_null(jose_key_from_pem(rsapem, "ES256", "k", &err));
	assert_null(jose_key_from_pem(rsapem, "HS256", "k", &err));
	assert_null(jose_key_from_pem(
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "ES256", "k", &err));
	assert_null(jose_key_from_pem("garbage", "ES256", "k", &err));
	free(ecpem);
	free(rsapem);
	jose_key_free(ec);
	jose_key_free(rsa);
}

static void
test_pem_of_small_rsa_and_other_curve_refused(void **state)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	struct sl_err err = { 0 };
	BIO *bio;
	char *data, *pem;
	long n;

	(void)state;
	assert_non_null(small);
	assert_non_null(p384);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = sl_strndup(data, (size_t)n);
	BIO_free(bio);
	assert_null(jose_key_from_pem(pem, "RS256", "k", &err));
	assert_non_null(strstr(err.msg, "2048"));
	free(pem);

	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, p384, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = sl_strndup(data, (size_t)n);
	BIO_free(bio);
	assert_null(jose_key_from_pem(pem, "ES256", "k", &err));
	assert_non_null(strstr(err.msg, "P-256"));
	free(pem);
	EVP_PKEY_free(small);
	EVP_PKEY_free(p384);
}

static void
test_public_pem_verifies_only(void **state)
{
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", "k1", &err), *pub;
	EVP_PKEY *pkey = pkey_of(key);
	json_t *claims = claims_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem, *token;
	long n;

	(void)state;
	assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = sl_strndup(data, (size_t)n);
	BIO_free(bio);
	pub = jose_key_from_pem(pem, "ES256", "k1", &err);
	assert_non_null(pub);
	assert_null(jose_key_private_pem(pub));
	assert_null(jose_sign(pub, claims, NULL, &err));
	token = jose_sign(key, claims, NULL, &err);
	expect_verified(token, &pub, 1);
	free(token);
	free(pem);
	json_decref(claims);
	EVP_PKEY_free(pkey);
	jose_key_free(pub);
	jose_key_free(key);
}

/* ---- jose_key_from_jwk ---- */

static void
test_jwk_with_private_member_refused(void **state)
{
	const char *allowed[] = { "ES256", "RS256", "PS256", NULL };
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", "k1", &err);
	json_t *jwk = jose_key_public_jwk(key);

	(void)state;
	json_object_set_new(jwk, "d", json_string("AAAA"));
	expect_jwk_refused(jwk, allowed, "\"d\"");
	json_decref(jwk);
	jose_key_free(key);
}

static void
test_jwk_alg_not_allowed_refused(void **state)
{
	const char *only_es[] = { "ES256", NULL };
	const char *rs_and_ps[] = { "RS256", "PS256", NULL };
	const char *with_hs[] = { "HS256", "RS256", NULL };
	const char *none[] = { NULL };
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("RS256", "k1", &err), *ok;
	json_t *jwk = jose_key_public_jwk(key);

	(void)state;
	expect_jwk_refused(jwk, only_es, "RS256 when only ES256 is allowed");
	expect_jwk_refused(jwk, none, "an empty allowed list");
	expect_jwk_refused(jwk, NULL, "no allowed list");
	ok = jose_key_from_jwk(jwk, rs_and_ps, &err);
	assert_non_null(ok);
	jose_key_free(ok);

	/* An alg the wrapper does not implement, even if the caller allows it. */
	json_object_set_new(jwk, "alg", json_string("HS256"));
	expect_jwk_refused(jwk, with_hs, "alg HS256");

	/* Without "alg" an RSA key is taken as PS256. */
	json_object_del(jwk, "alg");
	expect_jwk_refused(jwk, with_hs, "no alg (PS256) when only RS256 is allowed");
	ok = jose_key_from_jwk(jwk, rs_and_ps, &err);
	assert_non_null(ok);
	assert_string_equal(jose_key_alg(ok), "PS256");
	jose_key_free(ok);
	json_decref(jwk);
	jose_key_free(key);
}

static void
test_jwk_kty_alg_mismatch_refused(void **state)
{
	const char *all[] = { "ES256", "RS256", "PS256", NULL };
	struct sl_err err = { 0 };
	struct jose_key *ec = jose_key_generate("ES256", "k1", &err);
	struct jose_key *rsa = jose_key_generate("RS256", "k2", &err);
	json_t *ecjwk = jose_key_public_jwk(ec), *rsajwk = jose_key_public_jwk(rsa);

	(void)state;
	json_object_set_new(ecjwk, "alg", json_string("RS256"));
	expect_jwk_refused(ecjwk, all, "kty EC and alg RS256");
	json_object_set_new(ecjwk, "alg", json_string("PS256"));
	expect_jwk_refused(ecjwk, all, "kty EC and alg PS256");
	json_object_set_new(rsajwk, "alg", json_string("ES256"));
	expect_jwk_refused(rsajwk, all, "kty RSA and alg ES256");
	json_object_set_new(rsajwk, "kty", json_string("oct"));
	json_object_set_new(rsajwk, "alg", json_string("RS256"));
	expect_jwk_refused(rsajwk, all, "kty oct");
	json_object_del(rsajwk, "kty");
	expect_jwk_refused(rsajwk, all, "no kty");
	json_decref(ecjwk);
	json_decref(rsajwk);
	jose_key_free(ec);
	jose_key_free(rsa);
}

static void
test_jwk_other_curve_refused(void **state)
{
	const char *all[] = { "ES256", "RS256", "PS256", NULL };
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct sl_err err = { 0 };
	struct jose_key *key;
	json_t *jwk;

	(void)state;
	assert_non_null(p384);
	assert_non_null(p256);
	/* Control: a P-256 JWK built the same way is accepted. */
	jwk = jwk_of_pkey(p256, "P-256", 32);
	key = jose_key_from_jwk(jwk, all, &err);
	if (key == NULL)
		fail_msg("P-256 JWK refused: %s", err.msg);
	jose_key_free(key);
	json_decref(jwk);

	jwk = jwk_of_pkey(p384, "P-384", 48);
	expect_jwk_refused(jwk, all, "curve P-384");
	json_object_set_new(jwk, "alg", json_string("ES256"));
	expect_jwk_refused(jwk, all, "curve P-384 and alg ES256");
	json_object_del(jwk, "crv");
	expect_jwk_refused(jwk, all, "no crv");
	json_decref(jwk);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p256);
}

static void
test_jwk_small_rsa_refused(void **state)
{
	const char *all[] = { "ES256", "RS256", "PS256", NULL };
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *big = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct sl_err err = { 0 };
	struct jose_key *key;
	json_t *jwk;

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	jwk = jwk_of_pkey(big, NULL, 0);
	json_object_set_new(jwk, "alg", json_string("RS256"));
	key = jose_key_from_jwk(jwk, all, &err);
	if (key == NULL)
		fail_msg("RSA 2048 JWK refused: %s", err.msg);
	jose_key_free(key);
	json_decref(jwk);

	jwk = jwk_of_pkey(small, NULL, 0);
	json_object_set_new(jwk, "alg", json_string("RS256"));
	expect_jwk_refused(jwk, all, "RSA 1024 (RS256)");
	json_object_set_new(jwk, "alg", json_string("PS256"));
	expect_jwk_refused(jwk, all, "RSA 1024 (PS256)");
	json_decref(jwk);
	EVP_PKEY_free(small);
	EVP_PKEY_free(big);
}

static void
test_jwk_use_enc_refused(void **state)
{
	const char *all[] = { "ES256", "RS256", "PS256", NULL };
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", "k1", &err);
	json_t *jwk = jose_key_public_jwk(key);

	(void)state;
	json_object_set_new(jwk, "use", json_string("enc"));
	expect_jwk_refused(jwk, all, "use enc");
	json_decref(jwk);
	jose_key_free(key);
}

static void
test_jwk_long_kid_kept_or_refused(void **state)
{
	const char *all[] = { "ES256", NULL };
	struct sl_err err = { 0 };
	struct jose_key *key = jose_key_generate("ES256", "k", &err), *pub;
	json_t *jwk = jose_key_public_jwk(key);
	char kid[101];

	(void)state;
	/* RFC 7517 sets no length on kid; a key must not answer to another. */
	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	json_object_set_new(jwk, "kid", json_string(kid));
	pub = jose_key_from_jwk(jwk, all, &err);
	if (pub != NULL && strcmp(jose_key_kid(pub), kid) != 0)
		fail_msg("a %zu-character kid was cut to \"%s\"", strlen(kid), jose_key_kid(pub));
	jose_key_free(pub);
	json_decref(jwk);
	jose_key_free(key);
}

/* ---- X.509 ---- */

static X509 *
cert_parse(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(cert);
	return cert;
}

static EVP_PKEY *
key_parse(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(pkey);
	return pkey;
}

static int
verify_chain(X509 *ca, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void
test_x509_ca(void **state)
{
	struct sl_err err = { 0 };
	char *key_pem = NULL, *cert_pem = NULL;
	X509 *ca;
	EVP_PKEY *key;
	char cn[64];

	(void)state;
	assert_int_equal(x509_make_ca("sleutel test CA", 30, &key_pem, &cert_pem, &err), SL_OK);
	ca = cert_parse(cert_pem);
	key = key_parse(key_pem);
	assert_int_equal(X509_check_private_key(ca, key), 1);
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn)),
		(int)strlen("sleutel test CA"));
	assert_string_equal(cn, "sleutel test CA");
	/* Self-signed: it verifies against itself. */
	assert_int_equal(X509_verify(ca, key), 1);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(ca)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(ca)) > 0);
	X509_free(ca);
	EVP_PKEY_free(key);
	free(key_pem);
	free(cert_pem);
}

static void
test_x509_server_verifies_against_ca(void **state)
{
	struct sl_err err = { 0 };
	char *ca_key = NULL, *ca_pem = NULL, *key_pem = NULL, *cert_pem = NULL;
	char *other_key = NULL, *other_pem = NULL;
	X509 *ca, *cert, *other;
	EVP_PKEY *key;

	(void)state;
	assert_int_equal(x509_make_ca("sleutel test CA", 30, &ca_key, &ca_pem, &err), SL_OK);
	assert_int_equal(x509_make_server(ca_key, ca_pem, "localhost",
				 "DNS:localhost,DNS:id.example,IP:127.0.0.1,IP:::1", 30, &key_pem, &cert_pem, &err),
		SL_OK);
	ca = cert_parse(ca_pem);
	cert = cert_parse(cert_pem);
	key = key_parse(key_pem);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_int_equal(verify_chain(ca, cert), 1);

	assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "id.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "other.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.2", 0), 0);

	/* Control: another CA does not vouch for it. */
	assert_int_equal(x509_make_ca("other CA", 30, &other_key, &other_pem, &err), SL_OK);
	other = cert_parse(other_pem);
	assert_int_not_equal(verify_chain(other, cert), 1);

	X509_free(other);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	free(other_key);
	free(other_pem);
	free(ca_key);
	free(ca_pem);
	free(key_pem);
	free(cert_pem);
}

static void
test_x509_server_with_bad_input_fails(void **state)
{
	struct sl_err err = { 0 };
	char *ca_key = NULL, *ca_pem = NULL, *key_pem = NULL, *cert_pem = NULL;

	(void)state;
	assert_int_equal(x509_make_ca("sleutel test CA", 30, &ca_key, &ca_pem, &err), SL_OK);
	assert_int_not_equal(
		x509_make_server("garbage", ca_pem, "localhost", "DNS:localhost", 30, &key_pem, &cert_pem, &err),
		SL_OK);
	assert_true(strlen(err.msg) > 0);
	assert_int_not_equal(
		x509_make_server(ca_key, "garbage", "localhost", "DNS:localhost", 30, &key_pem, &cert_pem, &err),
		SL_OK);
	assert_int_not_equal(
		x509_make_server(ca_key, ca_pem, "localhost", "BOGUS:localhost", 30, &key_pem, &cert_pem, &err), SL_OK);
	free(ca_key);
	free(ca_pem);
}

/* RFC 7638 §3.1: the thumbprint of the RFC 7517 A.1 RSA key; extra
 * members do not change it; a key of neither kind, or with a non-string
 * member, has none (src/crypto/dpop.c). */
static void
test_dpop_jwk_thumbprint_rfc7638(void **state)
{
	char jkt[DPOP_JKT_LEN + 1];
	json_t *k = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "n",
		"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
		"BJECPebWKRXjBZCiFV4n3oknjhMs"
		"tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
		"FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
		"hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
		"kEgU8awapJzKnqDKgw",
		"e", "AQAB", "alg", "RS256", "kid", "2011-04-29");

	(void)state;
	assert_int_equal(dpop_jwk_thumbprint(k, jkt, NULL), SL_OK);
	assert_string_equal(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_object_set_new(k, "e", json_integer(65537));
	assert_int_not_equal(dpop_jwk_thumbprint(k, jkt, NULL), SL_OK);
	json_object_set_new(k, "kty", json_string("oct"));
	assert_int_not_equal(dpop_jwk_thumbprint(k, jkt, NULL), SL_OK);
	json_decref(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_and_token_hash),
		cmocka_unit_test(test_hmac_sha256_rfc4231),
		cmocka_unit_test(test_hmac_keyed_once),
		cmocka_unit_test(test_half_hash_known_values),
		cmocka_unit_test(test_pkce_rfc7636_vector),
		cmocka_unit_test(test_pkce_verifier_length),
		cmocka_unit_test(test_pkce_verifier_characters),
		cmocka_unit_test(test_key_generate_each_alg),
		cmocka_unit_test(test_sign_verify_round_trip),
		cmocka_unit_test(test_public_jwk_has_no_private_members),
		cmocka_unit_test(test_public_jwk_imports_and_verifies),
		cmocka_unit_test(test_forged_control_is_accepted),
		cmocka_unit_test(test_alg_none_refused),
		cmocka_unit_test(test_banned_header_members_refused),
		cmocka_unit_test(test_alg_switched_refused),
		cmocka_unit_test(test_tampered_payload_refused),
		cmocka_unit_test(test_other_kid_refused),
		cmocka_unit_test(test_no_kid_needs_one_candidate),
		cmocka_unit_test(test_malformed_tokens_refused),
		cmocka_unit_test(test_pem_round_trip),
		cmocka_unit_test(test_pem_with_wrong_alg_refused),
		cmocka_unit_test(test_pem_of_small_rsa_and_other_curve_refused),
		cmocka_unit_test(test_public_pem_verifies_only),
		cmocka_unit_test(test_jwk_with_private_member_refused),
		cmocka_unit_test(test_jwk_alg_not_allowed_refused),
		cmocka_unit_test(test_jwk_kty_alg_mismatch_refused),
		cmocka_unit_test(test_jwk_other_curve_refused),
		cmocka_unit_test(test_jwk_small_rsa_refused),
		cmocka_unit_test(test_jwk_use_enc_refused),
		cmocka_unit_test(test_jwk_long_kid_kept_or_refused),
		cmocka_unit_test(test_x509_ca),
		cmocka_unit_test(test_x509_server_verifies_against_ca),
		cmocka_unit_test(test_x509_server_with_bad_input_fails),
		cmocka_unit_test(test_dpop_jwk_thumbprint_rfc7638),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
