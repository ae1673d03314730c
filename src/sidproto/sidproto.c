/*
 * sidproto.c — hashes and signature algorithm names, canonical Base64,
 * verification codes, the ACSP_V2 payload, user challenges and callback
 * URLs (sidproto.h).
 *
 * The ACSP_V2 payload is what a Smart-ID authentication signs: eleven
 * '|'-joined fields, most of them Base64 text exactly as it travelled.
 * A '|' inside a field would let two different sessions share a payload,
 * so every field that is not re-encoded here is refused when it has one.
 * The RP name and brokered RP name are Base64-encoded here, so they may
 * hold anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../crypto/crypto.h"
#include "sidproto_int.h"

/* Bytes of an ACSP_V2 payload: its fields' own limits sum to far less. */
#define SIDP_ACSP_MAX 16384

/* ---- hash algorithms ---- */

static const struct sidp_hash hashes[] = {
	{ "SHA-256", "SHA256", "SHA256", 32 },
	{ "SHA-384", "SHA384", "SHA384", 48 },
	{ "SHA-512", "SHA512", "SHA512", 64 },
	{ "SHA3-256", NULL, "SHA3-256", 32 },
	{ "SHA3-384", NULL, "SHA3-384", 48 },
	{ "SHA3-512", NULL, "SHA3-512", 64 },
};
#define NHASHES (sizeof(hashes) / sizeof(hashes[0]))

/* PKCS#1 v1.5 signatureAlgorithm names, in the order of hashes[]. */
static const char *const pkcs1_names[NHASHES] = {
	"sha256WithRSAEncryption",
	"sha384WithRSAEncryption",
	"sha512WithRSAEncryption",
	"sha3-256WithRSAEncryption",
	"sha3-384WithRSAEncryption",
	"sha3-512WithRSAEncryption",
};

const struct sidp_hash *
sidp_hash_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NHASHES; i++)
		if (strcmp(hashes[i].sh_name, name) == 0)
			return &hashes[i];
	return NULL;
}

const struct sidp_hash *
sidp_hash_by_v2_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NHASHES; i++)
		if (hashes[i].sh_v2_name != NULL && strcmp(hashes[i].sh_v2_name, name) == 0)
			return &hashes[i];
	return NULL;
}

int
sidp_signature_algorithm(const char *name, bool *pss, const struct sidp_hash **hash)
{
	if (name == NULL)
		return SL_EINVAL;
	if (strcmp(name, "rsassa-pss") == 0) {
		*pss = true;
		return SL_OK;
	}
	for (size_t i = 0; i < NHASHES; i++) {
		if (strcmp(pkcs1_names[i], name) == 0) {
			*pss = false;
			*hash = &hashes[i];
			return SL_OK;
		}
	}
	return SL_EINVAL;
}

const char *
sidp_pkcs1_name(const struct sidp_hash *h)
{
	for (size_t i = 0; i < NHASHES; i++)
		if (h == &hashes[i])
			return pkcs1_names[i];
	return NULL;
}

/* ---- Base64 ---- */

uint8_t *
sidp_b64_decode(const char *s, size_t maxlen, size_t *outlen)
{
	size_t len, n = 0;
	uint8_t *out;
	char *again;
	bool same;

	if (s == NULL)
		return NULL;
	len = strnlen(s, maxlen + 1);
	if (len == 0 || len > maxlen)
		return NULL;
	out = sl_b64_decode(s, len, &n);
	if (out == NULL)
		return NULL;
	/* "AB==" and "AC==" decode alike: only the re-encoding's text is the
	 * canonical one, and a signed or MACed field must have one spelling. */
	again = sl_b64_encode(out, n);
	same = again != NULL && strcmp(again, s) == 0;
	free(again);
	if (!same) {
		free(out);
		return NULL;
	}
	out[n] = 0;
	*outlen = n;
	return out;
}

/* ---- verification codes ---- */

void
sidp_vc_of(const uint8_t *data, size_t len, char out[SIDP_VC_LEN + 1])
{
	uint8_t h[SL_SHA256_LEN];
	unsigned v;

	if (crypto_sha256(data, len, h) != SL_OK) {
		/* SHA-256 does not fail; an impossible code rather than a wrong one. */
		sl_strlcpy(out, "----", SIDP_VC_LEN + 1);
		return;
	}
	v = ((unsigned)h[SL_SHA256_LEN - 2] << 8 | h[SL_SHA256_LEN - 1]) % 10000u;
	snprintf(out, SIDP_VC_LEN + 1, "%04u", v);
}

int
sidp_vc_random(char out[SIDP_VC_LEN + 1])
{
	uint32_t v;
	int rc = sl_random_uniform(10000, &v);

	if (rc != SL_OK)
		return rc;
	snprintf(out, SIDP_VC_LEN + 1, "%04u", (unsigned)v);
	return SL_OK;
}

/* ---- ACSP_V2 ---- */

bool
sidp_has_bar(const char *s)
{
	return strchr(s, '|') != NULL;
}

static bool
flow_type_ok(const char *t)
{
	return strcmp(t, "QR") == 0 || strcmp(t, "Web2App") == 0 || strcmp(t, "App2App") == 0 ||
	       strcmp(t, "Notification") == 0;
}

int
sidp_buf_add_b64(struct sl_buf *b, const void *data, size_t len)
{
	char *enc = sl_b64_encode(data, len);
	int rc;

	if (enc == NULL)
		return SL_ENOMEM;
	rc = sl_buf_adds(b, enc);
	free(enc);
	return rc != SL_OK ? rc : sl_buf_adds(b, "|");
}

static int
acsp_check(const struct sidp_acsp *a, struct sl_err *err)
{
	const char *text[] = { a->sa_scheme, a->sa_server_random, a->sa_rp_challenge, a->sa_user_challenge,
		a->sa_interactions, a->sa_interaction_used, a->sa_flow_type };
	const char *names[] = { "schemeName", "serverRandom", "rpChallenge", "userChallenge", "interactions",
		"interactionTypeUsed", "flowType" };

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		if (sl_str_empty(text[i]))
			return sl_fail(err, SL_EINVAL, "ACSP_V2: %s is missing", names[i]);
		if (sidp_has_bar(text[i]))
			return sl_fail(err, SL_EINVAL, "ACSP_V2: %s contains '|'", names[i]);
	}
	if (a->sa_rp_name == NULL)
		return sl_fail(err, SL_EINVAL, "ACSP_V2: relyingPartyName is missing");
	if (a->sa_callback_url != NULL && sidp_has_bar(a->sa_callback_url))
		return sl_fail(err, SL_EINVAL, "ACSP_V2: initialCallbackUrl contains '|'");
	if (!flow_type_ok(a->sa_flow_type))
		return sl_fail(err, SL_EINVAL, "ACSP_V2: unknown flowType");
	return SL_OK;
}

/* The payload into *out (malloc'd). */
static int
acsp_build(const struct sidp_acsp *a, char **out, struct sl_err *err)
{
	const char *brokered = a->sa_brokered_rp_name != NULL ? a->sa_brokered_rp_name : "";
	uint8_t ih[SL_SHA256_LEN];
	bool same_device;
	struct sl_buf b;
	int rc = acsp_check(a, err);

	if (rc != SL_OK)
		return rc;
	same_device = strcmp(a->sa_flow_type, "Web2App") == 0 || strcmp(a->sa_flow_type, "App2App") == 0;
	if (crypto_sha256(a->sa_interactions, strlen(a->sa_interactions), ih) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "ACSP_V2: SHA-256 failed");
	sl_buf_init(&b, SIDP_ACSP_MAX);
	rc = sl_buf_addf(&b, "%s|ACSP_V2|%s|%s|%s|", a->sa_scheme, a->sa_server_random, a->sa_rp_challenge,
		a->sa_user_challenge);
	if (rc == SL_OK)
		rc = sidp_buf_add_b64(&b, a->sa_rp_name, strlen(a->sa_rp_name));
	if (rc == SL_OK)
		rc = sidp_buf_add_b64(&b, brokered, strlen(brokered));
	if (rc == SL_OK)
		rc = sidp_buf_add_b64(&b, ih, sizeof(ih));
	/* The callback URL binds only a same-device flow; QR and notification
	 * payloads carry an empty field. */
	if (rc == SL_OK)
		rc = sl_buf_addf(&b, "%s|%s|%s", a->sa_interaction_used,
			same_device && a->sa_callback_url != NULL ? a->sa_callback_url : "", a->sa_flow_type);
	if (rc != SL_OK) {
		sl_buf_reset(&b);
		return sl_fail(err, rc, "ACSP_V2: payload too long");
	}
	*out = sl_buf_take(&b);
	if (*out == NULL) {
		sl_fail(err, SL_ENOMEM, "ACSP_V2: out of memory");
		return SL_ENOMEM;
	}
	return SL_OK;
}

char *
sidp_acsp_payload(const struct sidp_acsp *a, struct sl_err *err)
{
	char *payload = NULL;

	if (acsp_build(a, &payload, err) != SL_OK)
		return NULL;
	return payload;
}

static int
digest_bytes(const char *digest_name, const void *data, size_t len, uint8_t *out, size_t *outlen)
{
	EVP_MD *md = EVP_MD_fetch(NULL, digest_name, NULL);
	unsigned n = 0;
	int ok;

	if (md == NULL)
		return SL_ECRYPTO;
	ok = EVP_Digest(data, len, out, &n, md, NULL);
	EVP_MD_free(md);
	if (ok != 1)
		return SL_ECRYPTO;
	*outlen = n;
	return SL_OK;
}

int
sidp_acsp_digest(const struct sidp_acsp *a, const struct sidp_hash *h, uint8_t *out, size_t *outlen, struct sl_err *err)
{
	char *payload = NULL;
	int rc;

	if (h == NULL)
		return sl_fail(err, SL_EINVAL, "ACSP_V2: no hash algorithm");
	rc = acsp_build(a, &payload, err);
	if (rc != SL_OK || payload == NULL)
		return rc != SL_OK ? rc : SL_ERR;
	rc = digest_bytes(h->sh_digest, payload, strlen(payload), out, outlen);
	free(payload);
	if (rc != SL_OK)
		return sl_fail(err, rc, "ACSP_V2: %s failed", h->sh_name);
	return SL_OK;
}

/* ---- user challenges and callbacks ---- */

static bool
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
sidp_user_challenge_ok(const char *s)
{
	static const char zero_low_bits[] = "AEIMQUYcgkosw048"; /* 6-bit values with the low 2 bits clear */

	if (s == NULL || strnlen(s, SIDP_USER_CHALLENGE_LEN + 1) != SIDP_USER_CHALLENGE_LEN)
		return false;
	for (size_t i = 0; i < SIDP_USER_CHALLENGE_LEN; i++)
		if (!b64url_char(s[i]))
			return false;
	/* 43 chars hold 258 bits for 256: the last two must be zero. */
	return strchr(zero_low_bits, s[SIDP_USER_CHALLENGE_LEN - 1]) != NULL;
}

/* b64url(SHA-256(data)) into a 44-byte buffer. */
static void
sha256_b64url(const void *data, size_t len, char out[SIDP_USER_CHALLENGE_LEN + 1])
{
	uint8_t h[SL_SHA256_LEN];
	char *enc = NULL;

	out[0] = '\0';
	if (crypto_sha256(data, len, h) == SL_OK)
		enc = sl_b64url_encode(h, sizeof(h));
	if (enc != NULL)
		sl_strlcpy(out, enc, SIDP_USER_CHALLENGE_LEN + 1);
	free(enc);
}

int
sidp_user_challenge_new(char verifier[SIDP_USER_CHALLENGE_LEN + 1], char challenge[SIDP_USER_CHALLENGE_LEN + 1])
{
	uint8_t raw[32];
	char *enc;
	int rc = sl_random(raw, sizeof(raw));

	if (rc != SL_OK)
		return rc;
	enc = sl_b64url_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (enc == NULL)
		return SL_ENOMEM;
	sl_strlcpy(verifier, enc, SIDP_USER_CHALLENGE_LEN + 1);
	free(enc);
	sidp_user_challenge_of(verifier, challenge);
	return challenge[0] != '\0' ? SL_OK : SL_ECRYPTO;
}

void
sidp_user_challenge_of(const char *verifier, char out[SIDP_USER_CHALLENGE_LEN + 1])
{
	sha256_b64url(verifier, strlen(verifier), out);
}

void
sidp_secret_digest(const uint8_t *secret, size_t len, char out[SIDP_USER_CHALLENGE_LEN + 1])
{
	sha256_b64url(secret, len, out);
}

bool
sidp_callback_url_ok(const char *url)
{
	static const char scheme[] = "https://";
	size_t len;

	if (url == NULL)
		return false;
	len = strnlen(url, SIDP_CALLBACK_MAX + 1);
	if (len > SIDP_CALLBACK_MAX || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return false;
	/* A host must follow the scheme. */
	if (strchr("/?#|:@", url[sizeof(scheme) - 1]) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f || c == '|' || c == '#')
			return false;
	}
	return true;
}
