/*
 * jose.c — the strict JOSE wrapper.  Keys are made and stored with OpenSSL
 * (EVP_PKEY, PEM); each is handed to cjose as a JWK for signing and
 * verifying.  The header is checked here before cjose sees the token, so
 * `alg` always comes from the key, never from the token.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"

#define JOSE_MAX_TOKEN 16384 /* bytes of a compact JWS we accept */
#define JOSE_MAX_KID 256 /* bytes of a key id, with its NUL */

struct jose_key {
	char jk_alg[16];
	char jk_kid[JOSE_MAX_KID];
	EVP_PKEY *jk_pkey; /* NULL for keys imported from a public JWK */
	cjose_jwk_t *jk_jwk;
	bool jk_private;
	atomic_int jk_refs; /* holders beyond the first (jose_key_ref) */
	jose_signer_fn jk_signer; /* a public key whose private half is elsewhere */
	void *jk_signer_ctx;
};

static const char *const jose_algs[] = { "ES256", "RS256", "PS256", NULL };

bool
jose_alg_supported(const char *alg)
{
	for (int i = 0; jose_algs[i]; i++)
		if (alg && strcmp(alg, jose_algs[i]) == 0)
			return true;
	return false;
}

static bool
alg_is_ec(const char *alg)
{
	return strcmp(alg, "ES256") == 0;
}

const char *
jose_key_alg(const struct jose_key *key)
{
	return key->jk_alg;
}

const char *
jose_key_kid(const struct jose_key *key)
{
	return key->jk_kid;
}

struct jose_key *
jose_key_ref(struct jose_key *key)
{
	if (key != NULL)
		atomic_fetch_add_explicit(&key->jk_refs, 1, memory_order_relaxed);
	return key;
}

void
jose_key_free(struct jose_key *key)
{
	if (key == NULL)
		return;
	/* Another holder remains: only its reference goes. */
	if (atomic_fetch_sub_explicit(&key->jk_refs, 1, memory_order_acq_rel) > 0)
		return;
	EVP_PKEY_free(key->jk_pkey);
	cjose_jwk_release(key->jk_jwk);
	free(key);
}

static int
jwk_put_bn(json_t *obj, const char *name, const EVP_PKEY *pkey, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n, rc;
	char *enc;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		return SL_ECRYPTO;
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_clear_free(bn);
	if (n <= 0)
		return SL_ECRYPTO;
	enc = sl_b64url_encode(buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (enc == NULL)
		return SL_ENOMEM;
	/* A member lost to a failed allocation would make a partial key. */
	rc = json_object_set_new(obj, name, json_string(enc)) == 0 ? SL_OK : SL_ENOMEM;
	OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return rc;
}

/* The JWK form of an OpenSSL key; private members only when `priv`. */
static json_t *
jwk_from_pkey(const EVP_PKEY *pkey, bool priv)
{
	json_t *o = json_object();
	int rc = SL_OK;

	if (o == NULL)
		return NULL;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		rc |= json_object_set_new(o, "kty", json_string("EC"));
		rc |= json_object_set_new(o, "crv", json_string("P-256"));
		rc |= jwk_put_bn(o, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		rc |= jwk_put_bn(o, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		if (priv)
			rc |= jwk_put_bn(o, "d", pkey, OSSL_PKEY_PARAM_PRIV_KEY, 32);
	} else {
		rc |= json_object_set_new(o, "kty", json_string("RSA"));
		rc |= jwk_put_bn(o, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		rc |= jwk_put_bn(o, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		if (priv) {
			rc |= jwk_put_bn(o, "d", pkey, OSSL_PKEY_PARAM_RSA_D, 0);
			rc |= jwk_put_bn(o, "p", pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0);
			rc |= jwk_put_bn(o, "q", pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0);
			rc |= jwk_put_bn(o, "dp", pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0);
			rc |= jwk_put_bn(o, "dq", pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0);
			rc |= jwk_put_bn(o, "qi", pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0);
		}
	}
	if (rc != SL_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
key_check_type(EVP_PKEY *pkey, const char *alg, struct sl_err *err)
{
	if (alg_is_ec(alg)) {
		char grp[32];
		size_t glen = 0;
		if (!EVP_PKEY_is_a(pkey, "EC") ||
			EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), &glen) !=
				1 ||
			strcmp(grp, "prime256v1") != 0)
			return sl_fail(err, SL_EINVAL, "%s needs an EC P-256 key", alg);
	} else {
		if (!EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) < 2048)
			return sl_fail(err, SL_EINVAL, "%s needs an RSA key of at least 2048 bits", alg);
	}
	return SL_OK;
}

static struct jose_key *
key_wrap(EVP_PKEY *pkey, const char *alg, const char *kid, bool priv, struct sl_err *err)
{
	struct jose_key *key;
	json_t *jwk;
	char *json;
	cjose_err cerr;

	if (!jose_alg_supported(alg)) {
		sl_fail(err, SL_EINVAL, "unsupported algorithm %s", alg ? alg : "(none)");
		return NULL;
	}
	if (key_check_type(pkey, alg, err) != SL_OK)
		return NULL;
	if (kid != NULL && strlen(kid) >= JOSE_MAX_KID) {
		sl_fail(err, SL_EINVAL, "key id longer than %d characters", JOSE_MAX_KID - 1);
		return NULL;
	}
	key = calloc(1, sizeof(*key));
	jwk = jwk_from_pkey(pkey, priv);
	json = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
	json_decref(jwk);
	if (key == NULL || json == NULL) {
		free(key);
		free(json);
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	key->jk_jwk = cjose_jwk_import(json, strlen(json), &cerr);
	OPENSSL_cleanse(json, strlen(json));
	free(json);
	if (key->jk_jwk == NULL) {
		free(key);
		sl_fail(err, SL_ECRYPTO, "cannot import key: %s", cerr.message);
		return NULL;
	}
	sl_strlcpy(key->jk_alg, alg, sizeof(key->jk_alg));
	sl_strlcpy(key->jk_kid, kid ? kid : "", sizeof(key->jk_kid));
	key->jk_pkey = pkey;
	key->jk_private = priv;
	return key;
}

struct jose_key *
jose_key_generate(const char *alg, const char *kid, struct sl_err *err)
{
	EVP_PKEY *pkey;
	struct jose_key *key;

	if (!jose_alg_supported(alg)) {
		sl_fail(err, SL_EINVAL, "unsupported algorithm %s", alg ? alg : "(none)");
		return NULL;
	}
	if (alg_is_ec(alg))
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (pkey == NULL) {
		sl_fail(err, SL_ECRYPTO, "key generation failed");
		return NULL;
	}
	key = key_wrap(pkey, alg, kid, true, err);
	if (key == NULL)
		EVP_PKEY_free(pkey);
	return key;
}

struct jose_key *
jose_key_from_pem(const char *pem, const char *alg, const char *kid, struct sl_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = NULL;
	struct jose_key *key;
	bool priv = true;

	if (bio == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL) {
		BIO_reset(bio);
		pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		priv = false;
	}
	BIO_free(bio);
	if (pkey == NULL) {
		sl_fail(err, SL_EINVAL, "not a PEM key");
		return NULL;
	}
	key = key_wrap(pkey, alg, kid, priv, err);
	if (key == NULL)
		EVP_PKEY_free(pkey);
	return key;
}

struct jose_key *
jose_key_from_jwk(json_t *jwk, const char *const *allowed, struct sl_err *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	struct jose_key *key;
	json_t *pub;
	char *json;
	cjose_err cerr;
	bool ok = false;

	if (kty == NULL)
		return sl_fail(err, SL_EINVAL, "JWK without kty"), NULL;
	if (kid != NULL && strlen(kid) >= JOSE_MAX_KID)
		return sl_fail(err, SL_EINVAL, "JWK kid longer than %d characters", JOSE_MAX_KID - 1), NULL;
	if (use != NULL && strcmp(use, "sig") != 0)
		return sl_fail(err, SL_EINVAL, "JWK use is not sig"), NULL;
	if (json_object_get(jwk, "d") != NULL)
		return sl_fail(err, SL_EINVAL, "a client JWKS must not hold private keys"), NULL;
	if (alg == NULL)
		alg = strcmp(kty, "EC") == 0 ? "ES256" : "PS256";
	for (int i = 0; allowed && allowed[i]; i++)
		ok |= strcmp(allowed[i], alg) == 0;
	if (!ok || !jose_alg_supported(alg))
		return sl_fail(err, SL_EINVAL, "JWK algorithm %s is not allowed", alg), NULL;
	if ((alg_is_ec(alg) && strcmp(kty, "EC") != 0) || (!alg_is_ec(alg) && strcmp(kty, "RSA") != 0))
		return sl_fail(err, SL_EINVAL, "JWK kty %s does not fit %s", kty, alg), NULL;
	if (alg_is_ec(alg) && !json_is_string(json_object_get(jwk, "crv")))
		return sl_fail(err, SL_EINVAL, "EC JWK without crv"), NULL;
	if (alg_is_ec(alg) && strcmp(json_string_value(json_object_get(jwk, "crv")), "P-256") != 0)
		return sl_fail(err, SL_EINVAL, "ES256 needs curve P-256"), NULL;
	pub = json_deep_copy(jwk);
	json_object_del(pub, "alg");
	json_object_del(pub, "use");
	json_object_del(pub, "key_ops");
	json = json_dumps(pub, JSON_COMPACT);
	json_decref(pub);
	key = calloc(1, sizeof(*key));
	if (json == NULL || key == NULL) {
		free(json);
		free(key);
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	}
	key->jk_jwk = cjose_jwk_import(json, strlen(json), &cerr);
	free(json);
	if (key->jk_jwk == NULL) {
		free(key);
		return sl_fail(err, SL_EINVAL, "bad JWK: %s", cerr.message), NULL;
	}
	if (!alg_is_ec(alg) && cjose_jwk_get_keysize(key->jk_jwk, &cerr) < 2048) {
		jose_key_free(key);
		return sl_fail(err, SL_EINVAL, "RSA keys must have at least 2048 bits"), NULL;
	}
	sl_strlcpy(key->jk_alg, alg, sizeof(key->jk_alg));
	sl_strlcpy(key->jk_kid, kid ? kid : "", sizeof(key->jk_kid));
	return key;
}

char *
jose_key_private_pem(const struct jose_key *key)
{
	BIO *bio;
	char *data, *out = NULL;
	long n;

	if (key->jk_pkey == NULL || !key->jk_private)
		return NULL;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, key->jk_pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &data);
		out = sl_strndup(data, (size_t)n);
	}
	BIO_free(bio);
	return out;
}

json_t *
jose_key_public_jwk(const struct jose_key *key)
{
	const char *json;
	json_t *o;
	cjose_err cerr;

	json = cjose_jwk_to_json(key->jk_jwk, false, &cerr);
	if (json == NULL)
		return NULL;
	o = json_loads(json, 0, NULL);
	free((void *)json);
	if (o == NULL)
		return NULL;
	json_object_del(o, "kid");
	/* A published key without its kid or alg is no use: all or nothing. */
	if (json_object_set_new(o, "kid", json_string(key->jk_kid)) != 0 ||
		json_object_set_new(o, "alg", json_string(key->jk_alg)) != 0 ||
		json_object_set_new(o, "use", json_string("sig")) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
jose_key_set_signer(struct jose_key *key, jose_signer_fn fn, void *ctx)
{
	key->jk_signer = fn;
	key->jk_signer_ctx = ctx;
}

/* The compact JWS composed here, signed by the key's signer (RFC 7515
 * §5.1): BASE64URL(header) "." BASE64URL(payload), then the signature. */
static char *
sign_remote(const struct jose_key *key, const char *payload, const char *typ, struct sl_err *err)
{
	json_t *hdr = json_pack("{s:s}", "alg", key->jk_alg);
	char *hjson, *h64 = NULL, *p64 = NULL, *s64 = NULL, *out = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	struct sl_buf b;

	if (hdr != NULL && key->jk_kid[0] != '\0')
		json_object_set_new(hdr, "kid", json_string(key->jk_kid));
	if (hdr != NULL && typ != NULL)
		json_object_set_new(hdr, "typ", json_string(typ));
	hjson = hdr ? sl_json_compact(hdr) : NULL;
	json_decref(hdr);
	if (hjson != NULL) {
		h64 = sl_b64url_encode((const uint8_t *)hjson, strlen(hjson));
		p64 = sl_b64url_encode((const uint8_t *)payload, strlen(payload));
	}
	free(hjson);
	sl_buf_init(&b, JOSE_MAX_TOKEN);
	/* sl_buf_adds, not a format: the payload is most of a token */
	if (h64 == NULL || p64 == NULL || sl_buf_adds(&b, h64) != SL_OK || sl_buf_adds(&b, ".") != SL_OK ||
		sl_buf_adds(&b, p64) != SL_OK) {
		sl_fail(err, SL_ENOMEM, "out of memory");
	} else if (key->jk_signer(key->jk_signer_ctx, key->jk_kid, (const uint8_t *)b.b_data, b.b_len, &sig, &siglen,
			   err) == SL_OK) {
		s64 = sl_b64url_encode(sig, siglen);
		if (s64 != NULL && sl_buf_adds(&b, ".") == SL_OK && sl_buf_adds(&b, s64) == SL_OK)
			out = sl_buf_take(&b);
		else
			sl_fail(err, SL_ENOMEM, "out of memory");
	}
	sl_buf_reset(&b);
	free(h64);
	free(p64);
	free(s64);
	free(sig);
	return out;
}

char *
jose_sign(const struct jose_key *key, json_t *claims, const char *typ, struct sl_err *err)
{
	cjose_header_t *hdr;
	cjose_jws_t *jws = NULL;
	cjose_err cerr;
	const char *ser = NULL;
	char *payload, *out = NULL;

	if (key->jk_signer != NULL) {
		payload = sl_json_compact(claims);
		out = payload ? sign_remote(key, payload, typ, err) : NULL;
		if (payload == NULL)
			sl_fail(err, SL_ENOMEM, "out of memory");
		free(payload);
		return out;
	}
	if (!key->jk_private) {
		sl_fail(err, SL_EINVAL, "not a private key");
		return NULL;
	}
	payload = json_dumps(claims, JSON_COMPACT);
	hdr = cjose_header_new(&cerr);
	if (payload == NULL || hdr == NULL) {
		free(payload);
		cjose_header_release(hdr);
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	/* A header member lost to a failed allocation would sign a token
	 * without its kid or typ: refuse instead. */
	if (!cjose_header_set(hdr, CJOSE_HDR_ALG, key->jk_alg, &cerr) ||
		(key->jk_kid[0] != '\0' && !cjose_header_set(hdr, CJOSE_HDR_KID, key->jk_kid, &cerr)) ||
		(typ != NULL && !cjose_header_set(hdr, "typ", typ, &cerr))) {
		sl_fail(err, SL_ENOMEM, "out of memory");
	} else {
		jws = cjose_jws_sign(key->jk_jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
		if (jws == NULL || !cjose_jws_export(jws, &ser, &cerr))
			sl_fail(err, SL_ECRYPTO, "signing failed: %s", cerr.message);
		else if ((out = strdup(ser)) == NULL)
			sl_fail(err, SL_ENOMEM, "out of memory");
	}
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return out;
}

/* Three non-empty base64url segments, nothing else.  Checked before cjose
 * sees the token: its decoder asserts (aborts the process) on some
 * malformed input, which a client could otherwise send at will. */
static bool
compact_well_formed(const char *s, size_t len)
{
	size_t seg = 0;
	int dots = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (seg == 0 || seg % 4 == 1 || ++dots > 2)
				return false;
			seg = 0;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_') {
			seg++;
		} else {
			return false;
		}
	}
	return dots == 2 && seg > 0 && seg % 4 != 1;
}

json_t *
jose_peek_header(const char *compact)
{
	const char *dot = strchr(compact, '.');
	uint8_t *raw;
	size_t n;
	json_t *hdr;

	if (dot == NULL || (size_t)(dot - compact) > JOSE_MAX_TOKEN)
		return NULL;
	raw = sl_b64url_decode(compact, (size_t)(dot - compact), &n);
	if (raw == NULL)
		return NULL;
	hdr = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(hdr)) {
		json_decref(hdr);
		return NULL;
	}
	return hdr;
}

/* The header rules: alg is one we know, and nothing that would let the
 * token choose its own key or add semantics we do not implement. */
static int
header_check(json_t *hdr, const char **alg, const char **kid, struct sl_err *err)
{
	static const char *const banned[] = { "crit", "jku", "x5u", "jwk", "x5c", "b64", NULL };

	*alg = json_string_value(json_object_get(hdr, "alg"));
	*kid = json_string_value(json_object_get(hdr, "kid"));
	if (*alg == NULL || !jose_alg_supported(*alg))
		return sl_fail(err, SL_EDENIED, "JWS algorithm %s is not accepted", *alg ? *alg : "(missing)");
	for (int i = 0; banned[i]; i++)
		if (json_object_get(hdr, banned[i]) != NULL)
			return sl_fail(err, SL_EDENIED, "JWS header member %s is not accepted", banned[i]);
	return SL_OK;
}

static struct jose_key *
pick_key(struct jose_key *const *keys, size_t nkeys, const char *alg, const char *kid)
{
	struct jose_key *found = NULL;
	size_t matches = 0;

	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i]->jk_alg, alg) != 0)
			continue;
		if (kid != NULL && strcmp(keys[i]->jk_kid, kid) != 0)
			continue;
		found = keys[i];
		matches++;
	}
	/* Without a kid the choice must be unambiguous. */
	return matches == 1 ? found : NULL;
}

int
jose_verify(const char *compact, struct jose_key *const *keys, size_t nkeys, json_t **claims, struct sl_err *err)
{
	const char *alg, *kid;
	struct jose_key *key;
	cjose_jws_t *jws;
	cjose_err cerr;
	uint8_t *plain = NULL;
	size_t plen = 0, len = strlen(compact);
	json_t *hdr, *payload;
	int rc;

	*claims = NULL;
	if (len > JOSE_MAX_TOKEN)
		return sl_fail(err, SL_ETOOBIG, "JWS larger than %d bytes", JOSE_MAX_TOKEN);
	if (!compact_well_formed(compact, len))
		return sl_fail(err, SL_EINVAL, "not a compact JWS");
	hdr = jose_peek_header(compact);
	if (hdr == NULL)
		return sl_fail(err, SL_EINVAL, "not a compact JWS");
	rc = header_check(hdr, &alg, &kid, err);
	key = rc == SL_OK ? pick_key(keys, nkeys, alg, kid) : NULL;
	json_decref(hdr);
	if (rc != SL_OK)
		return rc;
	if (key == NULL)
		return sl_fail(err, SL_EDENIED, "no key to verify this JWS");
	jws = cjose_jws_import(compact, len, &cerr);
	if (jws == NULL)
		return sl_fail(err, SL_EINVAL, "malformed JWS");
	if (!cjose_jws_verify(jws, key->jk_jwk, &cerr) || !cjose_jws_get_plaintext(jws, &plain, &plen, &cerr)) {
		cjose_jws_release(jws);
		return sl_fail(err, SL_EDENIED, "JWS signature is not valid");
	}
	payload = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES, NULL);
	cjose_jws_release(jws);
	if (!json_is_object(payload)) {
		json_decref(payload);
		return sl_fail(err, SL_EINVAL, "JWS payload is not a JSON object");
	}
	*claims = payload;
	return SL_OK;
}

/* ---- JWE: encrypting to a client's public key (RFC 7516) ----
 * What Debian 12's cjose (0.6.2) can do: RSA-OAEP (not RSA-OAEP-256) and
 * ECDH-ES key management; A128CBC-HS256 and A256GCM content encryption.
 * RSA1_5 is left out (RFC 8725 §3.2: padding-oracle attacks). */

static const char *const jwe_algs[] = { "RSA-OAEP", "ECDH-ES", NULL };
static const char *const jwe_encs[] = { "A128CBC-HS256", "A256GCM", NULL };

static bool
in_list(const char *const *list, const char *s)
{
	for (int i = 0; s != NULL && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
jose_jwe_alg_supported(const char *alg)
{
	return in_list(jwe_algs, alg);
}

bool
jose_jwe_enc_supported(const char *enc)
{
	return in_list(jwe_encs, enc);
}

const char *const *
jose_jwe_algs(void)
{
	return jwe_algs;
}

const char *const *
jose_jwe_encs(void)
{
	return jwe_encs;
}

bool
jose_jwk_is_enc(json_t *jwk)
{
	const char *use = json_string_value(json_object_get(jwk, "use"));

	return use != NULL && strcmp(use, "enc") == 0;
}

/* The client's public encryption JWK as a cjose key for `alg` (NULL: the
 * JWK's own alg, else the one its kty implies), every rule checked. */
static cjose_jwk_t *
jwe_key_import(json_t *jwk, const char **alg, struct sl_err *err)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k", NULL };
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *own = json_string_value(json_object_get(jwk, "alg"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	cjose_jwk_t *key;
	cjose_err cerr;
	json_t *pub;
	char *json;

	if (kty == NULL)
		return sl_fail(err, SL_EINVAL, "JWK without kty"), NULL;
	if (!jose_jwk_is_enc(jwk))
		return sl_fail(err, SL_EINVAL, "an encryption JWK must have use \"enc\""), NULL;
	for (int i = 0; private_members[i]; i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return sl_fail(err, SL_EINVAL, "a client JWKS must not hold private keys"), NULL;
	if (own != NULL && !jose_jwe_alg_supported(own))
		return sl_fail(err, SL_EINVAL, "JWE algorithm %s is not supported (RSA-OAEP, ECDH-ES)", own), NULL;
	if (*alg != NULL && own != NULL && strcmp(*alg, own) != 0)
		return sl_fail(err, SL_EINVAL, "the JWK is for %s, not %s", own, *alg), NULL;
	if (*alg == NULL)
		*alg = own != NULL ? own : strcmp(kty, "EC") == 0 ? "ECDH-ES" : "RSA-OAEP";
	if (!jose_jwe_alg_supported(*alg))
		return sl_fail(err, SL_EINVAL, "JWE algorithm %s is not supported (RSA-OAEP, ECDH-ES)", *alg), NULL;
	if (strcmp(*alg, "ECDH-ES") == 0 && (strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, "P-256") != 0))
		return sl_fail(err, SL_EINVAL, "ECDH-ES needs an EC P-256 key"), NULL;
	if (strcmp(*alg, "RSA-OAEP") == 0 && strcmp(kty, "RSA") != 0)
		return sl_fail(err, SL_EINVAL, "RSA-OAEP needs an RSA key"), NULL;
	pub = json_deep_copy(jwk);
	json_object_del(pub, "alg");
	json_object_del(pub, "use");
	json_object_del(pub, "key_ops");
	json = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
	json_decref(pub);
	if (json == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	key = cjose_jwk_import(json, strlen(json), &cerr);
	free(json);
	if (key == NULL)
		return sl_fail(err, SL_EINVAL, "bad JWK: %s", cerr.message), NULL;
	if (strcmp(*alg, "RSA-OAEP") == 0 && cjose_jwk_get_keysize(key, &cerr) < 2048) {
		cjose_jwk_release(key);
		return sl_fail(err, SL_EINVAL, "RSA keys must have at least 2048 bits"), NULL;
	}
	return key;
}

int
jose_jwe_key_check(json_t *jwk, const char *alg, struct sl_err *err)
{
	cjose_jwk_t *key = jwe_key_import(jwk, &alg, err);

	if (key == NULL)
		return err->code;
	cjose_jwk_release(key);
	return SL_OK;
}

char *
jose_encrypt(json_t *jwk, const char *alg, const char *enc, const char *cty, const char *plaintext, struct sl_err *err)
{
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	cjose_header_t *hdr;
	cjose_jwk_t *key;
	cjose_jwe_t *jwe = NULL;
	cjose_err cerr;
	char *ser = NULL, *out = NULL;

	if (alg == NULL || !jose_jwe_enc_supported(enc))
		return sl_fail(err, SL_EINVAL, "JWE enc %s is not supported", enc ? enc : "(none)"), NULL;
	key = jwe_key_import(jwk, &alg, err);
	if (key == NULL)
		return NULL;
	hdr = cjose_header_new(&cerr);
	if (hdr == NULL || !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &cerr) ||
		!cjose_header_set(hdr, CJOSE_HDR_ENC, enc, &cerr) ||
		(kid != NULL && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr)) ||
		(cty != NULL && !cjose_header_set(hdr, CJOSE_HDR_CTY, cty, &cerr))) {
		sl_fail(err, SL_ENOMEM, "out of memory");
	} else {
		jwe = cjose_jwe_encrypt(key, hdr, (const uint8_t *)plaintext, strlen(plaintext), &cerr);
		ser = jwe ? cjose_jwe_export(jwe, &cerr) : NULL;
		out = ser ? strdup(ser) : NULL;
		if (ser == NULL)
			sl_fail(err, SL_ECRYPTO, "encryption failed: %s", cerr.message);
		else if (out == NULL)
			sl_fail(err, SL_ENOMEM, "out of memory");
	}
	free(ser);
	cjose_jwe_release(jwe);
	cjose_header_release(hdr);
	cjose_jwk_release(key);
	return out;
}
