/*
 * dpop.c — the RFC 9449 proof check shared by the OAuth endpoints
 * (src/oidc/dpop.c) and the app's device API (src/keys/app/proof.c):
 * the header (typ dpop+jwt, an allowed alg, nothing that adds semantics),
 * the signature, and the claims htm, htu, iat (within a window), jti,
 * optional nbf/exp, ath when an access token goes with the proof, and the
 * server nonce handed back to the caller to judge.
 *
 * Two ways to name the key: the OAuth form carries the public key in the
 * header's "jwk" (§4.2) — the JOSE wrapper refuses an embedded key by
 * design, so that key is checked through jose_key_from_jwk (algorithm,
 * curve, RSA size, no private part) and the signature through cjose here;
 * the app's form names a key the server already holds by kid, and goes
 * through jose_verify.  Replay (jti) and nonce state belong to the caller.
 */
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>

#include "crypto.h"

#define B64URL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static bool
members_are_strings(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) if (!json_is_string(v)) return false;
	return true;
}

int
dpop_jwk_thumbprint(json_t *jwk, char out[DPOP_JKT_LEN + 1], struct sl_err *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	uint8_t h[SL_SHA256_LEN];
	json_t *req = NULL;
	char *text, *enc;
	int rc;

	out[0] = '\0';
	/* RFC 7638 §3.2: the required members only, sorted, no spaces. */
	if (kty != NULL && strcmp(kty, "EC") == 0)
		req = json_pack("{s:s,s:O,s:O,s:O}", "kty", "EC", "crv", json_object_get(jwk, "crv"), "x",
			json_object_get(jwk, "x"), "y", json_object_get(jwk, "y"));
	else if (kty != NULL && strcmp(kty, "RSA") == 0)
		req = json_pack(
			"{s:s,s:O,s:O}", "kty", "RSA", "e", json_object_get(jwk, "e"), "n", json_object_get(jwk, "n"));
	if (req == NULL)
		return sl_fail(err, SL_EINVAL, "the key is not an EC or RSA JWK");
	if (!members_are_strings(req)) {
		json_decref(req);
		return sl_fail(err, SL_EINVAL, "the key's members must be strings");
	}
	text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(req);
	rc = text != NULL ? crypto_sha256(text, strlen(text), h) : SL_ENOMEM;
	free(text);
	enc = rc == SL_OK ? sl_b64url_encode(h, sizeof(h)) : NULL;
	rc = enc != NULL && sl_strlcpy(out, enc, DPOP_JKT_LEN + 1) == DPOP_JKT_LEN ? SL_OK : SL_ENOMEM;
	free(enc);
	return rc == SL_OK ? rc : sl_fail(err, rc, "out of memory");
}

char *
dpop_ath(const char *access_token)
{
	uint8_t h[SL_SHA256_LEN];

	if (access_token == NULL || crypto_sha256(access_token, strlen(access_token), h) != SL_OK)
		return NULL;
	return sl_b64url_encode(h, sizeof(h));
}

static bool
alg_allowed(const char *alg, const char *const *algs)
{
	for (; alg != NULL && algs != NULL && *algs != NULL; algs++)
		if (strcmp(alg, *algs) == 0)
			return true;
	return false;
}

static int
header_ok(json_t *hdr, const struct dpop_expect *ex, bool key_given, struct sl_err *err)
{
	static const char *const banned[] = { "crit", "jku", "x5u", "x5c", "b64", NULL };
	const char *typ = json_string_value(json_object_get(hdr, "typ"));
	const char *alg = json_string_value(json_object_get(hdr, "alg"));

	if (typ == NULL || strcmp(typ, "dpop+jwt") != 0)
		return sl_fail(err, SL_EDENIED, "the proof's typ must be dpop+jwt");
	if (!alg_allowed(alg, ex->de_algs))
		return sl_fail(err, SL_EDENIED, "the proof's alg %s is not accepted", alg ? alg : "(missing)");
	for (int i = 0; banned[i]; i++)
		if (json_object_get(hdr, banned[i]) != NULL)
			return sl_fail(err, SL_EDENIED, "the proof's header must not have %s", banned[i]);
	if (!key_given && !json_is_object(json_object_get(hdr, "jwk")))
		return sl_fail(err, SL_EDENIED, "the proof's header has no jwk");
	return SL_OK;
}

/* The signature of a proof whose header carries its public key: the key
 * is vetted by the JOSE wrapper (bound to the header's alg), then cjose
 * checks the signature with it. *claims new on SL_OK; out->dp_jkt set. */
static int
verify_embedded(const char *proof, json_t *hdr, json_t **claims, struct dpop_proof *out, struct sl_err *err)
{
	const char *alg = json_string_value(json_object_get(hdr, "alg"));
	const char *const one[] = { alg, NULL };
	json_t *jwk = json_deep_copy(json_object_get(hdr, "jwk")), *payload;
	struct jose_key *vetted;
	cjose_jwk_t *ck = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err cerr;
	uint8_t *plain = NULL;
	size_t plen = 0;
	char *text = NULL;
	int rc = SL_EDENIED;

	if (jwk == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	json_object_set_new(jwk, "alg", json_string(alg));
	json_object_del(jwk, "kid");
	vetted = jose_key_from_jwk(jwk, one, err);
	if (vetted == NULL) {
		json_decref(jwk);
		return SL_EDENIED;
	}
	jose_key_free(vetted);
	if (dpop_jwk_thumbprint(jwk, out->dp_jkt, err) != SL_OK)
		goto done;
	json_object_del(jwk, "alg");
	json_object_del(jwk, "use");
	json_object_del(jwk, "key_ops");
	text = json_dumps(jwk, JSON_COMPACT);
	ck = text ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
	jws = ck ? cjose_jws_import(proof, strlen(proof), &cerr) : NULL;
	if (ck == NULL || jws == NULL) {
		sl_fail(err, SL_EDENIED, "the proof or its key is malformed");
		goto done;
	}
	if (!cjose_jws_verify(jws, ck, &cerr) || !cjose_jws_get_plaintext(jws, &plain, &plen, &cerr)) {
		sl_fail(err, SL_EDENIED, "the proof's signature is not valid");
		goto done;
	}
	payload = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(payload)) {
		*claims = payload;
		rc = SL_OK;
	} else {
		json_decref(payload);
		sl_fail(err, SL_EDENIED, "the proof's payload is not a JSON object");
	}
done:
	cjose_jws_release(jws);
	cjose_jwk_release(ck);
	free(text);
	json_decref(jwk);
	return rc;
}

static int
times_ok(json_t *c, const struct dpop_expect *ex, struct dpop_proof *out, struct sl_err *err)
{
	json_t *iat = json_object_get(c, "iat"), *nbf = json_object_get(c, "nbf"), *exp = json_object_get(c, "exp");

	if (!json_is_integer(iat))
		return sl_fail(err, SL_EDENIED, "the proof has no integer iat");
	out->dp_iat = json_integer_value(iat);
	if (out->dp_iat < ex->de_now - ex->de_window || out->dp_iat > ex->de_now + ex->de_window)
		return sl_fail(err, SL_EDENIED, "the proof's iat is more than %d seconds from now", ex->de_window);
	/* Not in RFC 9449, but a proof that says it is not valid yet or any
	 * more is taken at its word. */
	if (nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > ex->de_now + ex->de_window))
		return sl_fail(err, SL_EDENIED, "the proof's nbf is in the future");
	if (exp != NULL && (!json_is_integer(exp) || json_integer_value(exp) <= ex->de_now))
		return sl_fail(err, SL_EDENIED, "the proof has expired (exp)");
	return SL_OK;
}

static int
claims_ok(json_t *c, const struct dpop_expect *ex, struct dpop_proof *out, struct sl_err *err)
{
	const char *htm = json_string_value(json_object_get(c, "htm"));
	const char *htu = json_string_value(json_object_get(c, "htu"));
	const char *jti = json_string_value(json_object_get(c, "jti"));
	json_t *nonce = json_object_get(c, "nonce");
	size_t jl = jti ? strlen(jti) : 0;

	if (htm == NULL || strcmp(htm, ex->de_htm) != 0)
		return sl_fail(err, SL_EDENIED, "the proof's htm is not this request's method");
	if (htu == NULL || strcmp(htu, ex->de_htu) != 0)
		return sl_fail(err, SL_EDENIED, "the proof's htu is not this request's URL");
	if (times_ok(c, ex, out, err) != SL_OK)
		return SL_EDENIED;
	if (jl < DPOP_JTI_MIN || jl > DPOP_JTI_MAX || strspn(jti, B64URL_CHARS) != jl)
		return sl_fail(err, SL_EDENIED, "the proof's jti must be %d..%d base64url characters", DPOP_JTI_MIN,
			DPOP_JTI_MAX);
	memcpy(out->dp_jti, jti, jl + 1);
	if (ex->de_ath != NULL && !sl_ct_streq(json_string_value(json_object_get(c, "ath")), ex->de_ath))
		return sl_fail(err, SL_EDENIED, "the proof's ath is not the hash of this access token");
	if (nonce != NULL) {
		if (!json_is_string(nonce) || strlen(json_string_value(nonce)) > DPOP_NONCE_MAX)
			return sl_fail(err, SL_EDENIED, "the proof's nonce is not one this server gave");
		memcpy(out->dp_nonce, json_string_value(nonce), strlen(json_string_value(nonce)) + 1);
	}
	return SL_OK;
}

int
dpop_proof_verify(const char *proof, struct jose_key *key, const struct dpop_expect *ex, struct dpop_proof *out,
	struct sl_err *err)
{
	json_t *hdr, *claims = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (proof == NULL)
		return sl_fail(err, SL_EDENIED, "no DPoP proof");
	if (strlen(proof) > DPOP_PROOF_MAX)
		return sl_fail(err, SL_ETOOBIG, "the proof is longer than %d bytes", DPOP_PROOF_MAX);
	hdr = jose_peek_header(proof);
	if (hdr == NULL)
		return sl_fail(err, SL_EINVAL, "the proof is not a compact JWS");
	rc = header_ok(hdr, ex, key != NULL, err);
	if (rc == SL_OK && key != NULL)
		rc = jose_verify(proof, &key, 1, &claims, err);
	else if (rc == SL_OK)
		rc = verify_embedded(proof, hdr, &claims, out, err);
	json_decref(hdr);
	if (rc == SL_OK)
		rc = claims_ok(claims, ex, out, err);
	json_decref(claims);
	return rc == SL_OK || rc == SL_ENOMEM || rc == SL_ETOOBIG ? rc : SL_EDENIED;
}
