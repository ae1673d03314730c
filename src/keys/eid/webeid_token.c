/*
 * webeid_token.c — the Web eID authentication token: its parse, what the
 * card signed, and the check of that signature.
 *
 * The token (format web-eid:1, https://web-eid.eu) is JSON with five
 * strings: unverifiedCertificate (base64 DER), algorithm (a JWS name),
 * signature (base64), format and appVersion.  The card signs, with the
 * algorithm, H(origin) || H(challenge), H the algorithm's hash: the
 * origin is what binds the token to this site (a token made for another
 * site does not verify here), the challenge to this login.  ECDSA
 * signatures come as the card makes them, r || s, not DER.
 *
 * Nothing here says the certificate is trusted: eid_validate() does.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "eid.h"

static const char *const refusal_names[WEBEID_REFUSAL_COUNT] = { "ok", "malformed_token", "token_too_large",
	"unsupported_format", "unsupported_algorithm", "algorithm_mismatch", "bad_signature", "bad_certificate" };

const char *
webeid_refusal_name(enum webeid_refusal r)
{
	return (unsigned)r < WEBEID_REFUSAL_COUNT ? refusal_names[r] : "error";
}

/* Each algorithm: its JWS name, hash, and the key it needs ("EC" with a
 * curve, or "RSA" with PSS or PKCS #1 v1.5 padding). */
static const struct {
	const char *name;
	const char *md;
	const char *curve; /* NULL: RSA */
	bool pss;
} algs[] = {
	[WEBEID_ES256] = { "ES256", "SHA256", "prime256v1", false },
	[WEBEID_ES384] = { "ES384", "SHA384", "secp384r1", false },
	[WEBEID_ES512] = { "ES512", "SHA512", "secp521r1", false },
	[WEBEID_PS256] = { "PS256", "SHA256", NULL, true },
	[WEBEID_PS384] = { "PS384", "SHA384", NULL, true },
	[WEBEID_PS512] = { "PS512", "SHA512", NULL, true },
	[WEBEID_RS256] = { "RS256", "SHA256", NULL, false },
	[WEBEID_RS384] = { "RS384", "SHA384", NULL, false },
	[WEBEID_RS512] = { "RS512", "SHA512", NULL, false },
};
#define ALG_COUNT (sizeof(algs) / sizeof(algs[0]))
/* Characters of the standard base64 of n bytes, with padding. */
#define B64_CHARS(n) (((size_t)(n) + 2) / 3 * 4)

static bool
alg_known(enum webeid_alg a)
{
	return (unsigned)a > 0 && (unsigned)a < ALG_COUNT;
}

const char *
webeid_alg_name(enum webeid_alg a)
{
	return alg_known(a) ? algs[a].name : "none";
}

void
webeid_token_clear(struct webeid_token *t)
{
	if (t == NULL)
		return;
	free(t->wt_cert);
	free(t->wt_sig);
	free(t->wt_app_version);
	memset(t, 0, sizeof(*t));
}

/* A required string field, at most `max` characters; NULL when missing,
 * empty, longer or not a string. */
static const char *
field(json_t *o, const char *name, size_t max, struct sl_err *err)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);

	if (s == NULL || *s == '\0' || json_string_length(v) > max || strlen(s) != json_string_length(v)) {
		sl_fail(err, SL_EINVAL, "'%s' is missing, empty, too long or not a string", name);
		return NULL;
	}
	return s;
}

/* web-eid:1, or web-eid:1.<digits>: the major version this code knows. */
static bool
format_ok(const char *f)
{
	if (strncmp(f, "web-eid:1", 9) != 0)
		return false;
	if (f[9] == '\0')
		return true;
	if (f[9] != '.' || f[10] == '\0')
		return false;
	for (const char *p = f + 10; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Standard base64 into a malloc'd buffer of at most `max` bytes. */
static uint8_t *
b64_field(const char *s, size_t max, size_t *len, const char *name, struct sl_err *err)
{
	uint8_t *out = sl_b64_decode(s, strlen(s), len);

	if (out == NULL || *len == 0 || *len > max) {
		free(out);
		sl_fail(err, SL_EINVAL, "'%s' is not base64 of 1 to %zu bytes", name, max);
		return NULL;
	}
	return out;
}

static enum webeid_refusal
token_fields(json_t *o, struct webeid_token *t, struct sl_err *err)
{
	const char *cert, *alg, *sig, *format, *app;

	if (!json_is_object(o))
		return sl_fail(err, SL_EINVAL, "the token is not a JSON object"), WEBEID_MALFORMED;
	if ((format = field(o, "format", 32, err)) == NULL)
		return WEBEID_MALFORMED;
	if (!format_ok(format))
		return sl_fail(err, SL_EINVAL, "format '%s' is not web-eid:1", format), WEBEID_BAD_FORMAT;
	if ((alg = field(o, "algorithm", 16, err)) == NULL)
		return WEBEID_MALFORMED;
	for (size_t i = 1; i < ALG_COUNT && t->wt_alg == 0; i++)
		if (strcmp(alg, algs[i].name) == 0)
			t->wt_alg = (enum webeid_alg)i;
	if (t->wt_alg == 0)
		return sl_fail(err, SL_EINVAL, "algorithm '%s' is not supported", alg), WEBEID_BAD_ALGORITHM;
	if ((cert = field(o, "unverifiedCertificate", B64_CHARS(WEBEID_MAX_CERT), err)) == NULL ||
		(sig = field(o, "signature", B64_CHARS(WEBEID_MAX_SIG), err)) == NULL ||
		(app = field(o, "appVersion", WEBEID_MAX_APP_VERSION, err)) == NULL)
		return WEBEID_MALFORMED;
	/* version 1.0 has no signing certificates (that is format 1.1) */
	if (strcmp(format, "web-eid:1.0") == 0 && json_object_get(o, "unverifiedSigningCertificates") != NULL)
		return sl_fail(err, SL_EINVAL, "'unverifiedSigningCertificates' is not allowed in web-eid:1.0"),
		       WEBEID_MALFORMED;
	if ((t->wt_cert = b64_field(cert, WEBEID_MAX_CERT, &t->wt_cert_len, "unverifiedCertificate", err)) == NULL ||
		(t->wt_sig = b64_field(sig, WEBEID_MAX_SIG, &t->wt_sig_len, "signature", err)) == NULL)
		return WEBEID_MALFORMED;
	if ((t->wt_app_version = strdup(app)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), WEBEID_MALFORMED;
	return WEBEID_OK;
}

enum webeid_refusal
webeid_token_parse(const char *json, size_t len, struct webeid_token *t, struct sl_err *err)
{
	json_error_t jerr;
	json_t *o;
	enum webeid_refusal r;

	memset(t, 0, sizeof(*t));
	if (len > WEBEID_MAX_TOKEN)
		return sl_fail(err, SL_ETOOBIG, "the token is longer than %d bytes", WEBEID_MAX_TOKEN),
		       WEBEID_TOO_LARGE;
	if ((o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return sl_fail(err, SL_EINVAL, "the token is not JSON: %s", jerr.text), WEBEID_MALFORMED;
	r = token_fields(o, t, err);
	json_decref(o);
	if (r != WEBEID_OK)
		webeid_token_clear(t);
	return r;
}

static int
digest(const char *md, const char *s, uint8_t *out, size_t *len)
{
	unsigned n = 0;

	if (EVP_Digest(s, strlen(s), out, &n, EVP_get_digestbyname(md), NULL) != 1)
		return SL_ECRYPTO;
	*len = n;
	return SL_OK;
}

int
webeid_signed_data(
	enum webeid_alg alg, const char *origin, const char *nonce, uint8_t out[2 * WEBEID_MAX_HASH], size_t *len)
{
	size_t a = 0, b = 0;

	*len = 0;
	if (!alg_known(alg) || origin == NULL || nonce == NULL)
		return SL_EINVAL;
	if (digest(algs[alg].md, origin, out, &a) != SL_OK || digest(algs[alg].md, nonce, out + a, &b) != SL_OK)
		return SL_ECRYPTO;
	*len = a + b;
	return SL_OK;
}

/* Does the key fit the algorithm? ECDSA names its curve; RSA either. */
static bool
key_fits(EVP_PKEY *k, enum webeid_alg alg, size_t *field_len)
{
	char grp[64];
	size_t n = 0;

	if (algs[alg].curve == NULL)
		return EVP_PKEY_is_a(k, "RSA");
	if (!EVP_PKEY_is_a(k, "EC") ||
		EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), &n) != 1)
		return false;
	*field_len = (size_t)(EVP_PKEY_get_bits(k) + 7) / 8;
	return strcmp(grp, algs[alg].curve) == 0;
}

/* The card's r || s as the DER ECDSA-Sig-Value OpenSSL verifies. */
static unsigned char *
ecdsa_der(const uint8_t *sig, size_t len, size_t field_len, int *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;

	*der_len = 0;
	if (es == NULL || len != 2 * field_len)
		goto out;
	r = BN_bin2bn(sig, (int)field_len, NULL);
	s = BN_bin2bn(sig + field_len, (int)field_len, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* es owns them */
	*der_len = i2d_ECDSA_SIG(es, &der);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return *der_len > 0 ? der : NULL;
}

static bool
signature_good(EVP_PKEY *k, const struct webeid_token *t, size_t field_len, const uint8_t *data, size_t dlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = EVP_get_digestbyname(algs[t->wt_alg].md);
	unsigned char *der = NULL;
	const unsigned char *sig = t->wt_sig;
	size_t slen = t->wt_sig_len;
	bool good = false;

	if (algs[t->wt_alg].curve != NULL) {
		int n = 0;
		if ((der = ecdsa_der(t->wt_sig, t->wt_sig_len, field_len, &n)) == NULL)
			goto out;
		sig = der;
		slen = (size_t)n;
	}
	if (ctx == NULL || md == NULL || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k) != 1)
		goto out;
	/* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash */
	if (algs[t->wt_alg].pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
					   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
					   EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1))
		goto out;
	good = EVP_DigestVerify(ctx, sig, slen, data, dlen) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return good;
}

enum webeid_refusal
webeid_verify(const struct webeid_token *t, const char *origin, const char *nonce, struct sl_err *err)
{
	const unsigned char *p = t->wt_cert;
	X509 *x = d2i_X509(NULL, &p, (long)t->wt_cert_len);
	EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
	uint8_t data[2 * WEBEID_MAX_HASH];
	size_t dlen = 0, field_len = 0;
	enum webeid_refusal r;

	if (k == NULL || p != t->wt_cert + t->wt_cert_len)
		r = (sl_fail(err, SL_EINVAL, "unverifiedCertificate is not one DER certificate"),
			WEBEID_BAD_CERTIFICATE);
	else if (!alg_known(t->wt_alg) || !key_fits(k, t->wt_alg, &field_len))
		r = (sl_fail(err, SL_EINVAL, "algorithm %s does not fit the certificate's key",
			     webeid_alg_name(t->wt_alg)),
			WEBEID_ALGORITHM_MISMATCH);
	else if (webeid_signed_data(t->wt_alg, origin, nonce, data, &dlen) != SL_OK ||
		 !signature_good(k, t, field_len, data, dlen))
		r = (sl_fail(err, SL_EDENIED, "the signature is not the card's over this origin and challenge"),
			WEBEID_BAD_SIGNATURE);
	else
		r = WEBEID_OK;
	X509_free(x);
	return r;
}
