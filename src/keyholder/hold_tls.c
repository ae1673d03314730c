/*
 * hold_tls.c — the listeners' TLS server keys, in the key holder.
 *
 * sleuteld gives libmicrohttpd the certificate chain and an external
 * GnuTLS key (src/http/tlskey.c) whose signatures come from here: GnuTLS
 * hashes the handshake and asks for one signature per full handshake (a
 * resumed session needs none).  What it asks is what an external key's
 * sign_hash callback gets: the signature algorithm and either a DigestInfo
 * (RSA PKCS#1 v1.5: GnuTLS asks for GNUTLS_SIGN_RSA_RAW) or the hash
 * (RSA-PSS, ECDSA).  Only the algorithms of the table below are signed,
 * each only with a key of its type (and curve, for TLS 1.3's ECDSA
 * algorithms), and a hash must have its algorithm's length.  The GnuTLS
 * header is used for the algorithms' numbers only; the signature is
 * OpenSSL's, as for every other key here.
 *
 * The keys are read at start, before the key holder gives up root: an
 * operator's TLS key is often readable by root alone (certbot's are), and
 * sleuteld read it at the same moment before this process existed.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "holder_int.h"
#include "../config/config.h"

#define TLS_KEY_FILE_MAX (1 << 20) /* bytes of a key file: what sleuteld read before */

enum tls_pad { TLS_PKCS1, TLS_PSS, TLS_ECDSA };

/* What each GnuTLS algorithm asks of the key holder. */
static const struct tls_alg {
	unsigned ta_algo; /* gnutls_sign_algorithm_t */
	enum tls_pad ta_pad;
	const char *ta_md; /* NULL: RSA_RAW, input is a DigestInfo */
	const char *ta_curve; /* TLS 1.3 ECDSA: the key's curve; NULL: any */
} tls_algs[] = {
	{ GNUTLS_SIGN_RSA_RAW, TLS_PKCS1, NULL, NULL },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, TLS_PSS, "SHA256", NULL },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, TLS_PSS, "SHA384", NULL },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, TLS_PSS, "SHA512", NULL },
	{ GNUTLS_SIGN_ECDSA_SHA1, TLS_ECDSA, "SHA1", NULL },
	{ GNUTLS_SIGN_ECDSA_SHA224, TLS_ECDSA, "SHA224", NULL },
	{ GNUTLS_SIGN_ECDSA_SHA256, TLS_ECDSA, "SHA256", NULL },
	{ GNUTLS_SIGN_ECDSA_SHA384, TLS_ECDSA, "SHA384", NULL },
	{ GNUTLS_SIGN_ECDSA_SHA512, TLS_ECDSA, "SHA512", NULL },
	{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, TLS_ECDSA, "SHA256", "P-256" },
	{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, TLS_ECDSA, "SHA384", "P-384" },
	{ GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, TLS_ECDSA, "SHA512", "P-521" },
};

void
hold_tls_clear(struct holder *ho)
{
	for (size_t i = 0; i < KH_TLS_KEYS; i++) {
		EVP_PKEY_free(ho->ho_tls[i].ht_key);
		memset(&ho->ho_tls[i], 0, sizeof(ho->ho_tls[i]));
	}
}

static void
tls_read(struct hold_tls *t, const char *name, const char *path)
{
	struct sl_err err = { 0 };
	char *pem = NULL;
	size_t len = 0;
	BIO *bio;

	t->ht_name = name;
	if (sl_file_read(path, TLS_KEY_FILE_MAX, &pem, &len, &err) != SL_OK) {
		sl_strlcpy(t->ht_why, err.msg, sizeof(t->ht_why));
		return;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	t->ht_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_clear_free(pem, len);
	if (t->ht_key == NULL)
		snprintf(t->ht_why, sizeof(t->ht_why), "%s is not a PEM private key (without a passphrase)", path);
	else if (!EVP_PKEY_is_a(t->ht_key, "RSA") && !EVP_PKEY_is_a(t->ht_key, "EC")) {
		snprintf(t->ht_why, sizeof(t->ht_why), "%s: a TLS key must be RSA or EC", path);
		EVP_PKEY_free(t->ht_key);
		t->ht_key = NULL;
	}
}

void
hold_tls_load(struct holder *ho)
{
	const struct sl_config *c = ho->ho_conf;

	hold_tls_clear(ho);
	ho->ho_tls[0].ht_name = KH_TLS_PORTAL;
	ho->ho_tls[1].ht_name = KH_TLS_EID;
	snprintf(ho->ho_tls[0].ht_why, KH_ERRMSG_MAX, "the portal listener has no TLS ([server] tls = false)");
	snprintf(ho->ho_tls[1].ht_why, KH_ERRMSG_MAX, "the eID listener has no TLS ([eid] off or tls = false)");
	if (c->c_portal.lc_tls && c->c_portal.lc_tls_key != NULL)
		tls_read(&ho->ho_tls[0], KH_TLS_PORTAL, c->c_portal.lc_tls_key);
	if (c->c_eid_enabled && c->c_eid.lc_tls && c->c_eid.lc_tls_key != NULL)
		tls_read(&ho->ho_tls[1], KH_TLS_EID, c->c_eid.lc_tls_key);
}

/* Is key's curve `curve` (an OpenSSL group name)? */
static bool
curve_is(EVP_PKEY *key, const char *curve)
{
	char group[32];

	if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), NULL) != 1)
		return false;
	return strcmp(group, curve) == 0 || (strcmp(curve, "P-256") == 0 && strcmp(group, "prime256v1") == 0) ||
	       (strcmp(curve, "P-384") == 0 && strcmp(group, "secp384r1") == 0) ||
	       (strcmp(curve, "P-521") == 0 && strcmp(group, "secp521r1") == 0);
}

/* Check that `a` fits key and input; SL_OK or the error to answer. */
static int
tls_check(const struct hold_tls *t, const struct tls_alg *a, size_t len, struct sl_err *err)
{
	bool rsa = EVP_PKEY_is_a(t->ht_key, "RSA");
	const EVP_MD *md;
	size_t want;

	if (rsa != (a->ta_pad != TLS_ECDSA))
		return sl_fail(err, SL_EINVAL, "the %s TLS key is %s: it does not sign GnuTLS algorithm %u", t->ht_name,
			rsa ? "RSA" : "EC", a->ta_algo);
	if (a->ta_curve != NULL && !curve_is(t->ht_key, a->ta_curve))
		return sl_fail(err, SL_EINVAL, "the %s TLS key is not on %s", t->ht_name, a->ta_curve);
	if (a->ta_md == NULL) {
		/* PKCS#1 v1.5 type 1 needs 11 bytes of padding. */
		want = (size_t)EVP_PKEY_get_size(t->ht_key);
		if (len + 11 > want)
			return sl_fail(err, SL_EINVAL, "%zu bytes do not fit a %zu-byte RSA signature", len, want);
		return SL_OK;
	}
	md = EVP_get_digestbyname(a->ta_md);
	want = md ? (size_t)EVP_MD_get_size(md) : 0;
	if (len != want)
		return sl_fail(err, SL_EINVAL, "a %s hash has %zu bytes, not %zu", a->ta_md, want, len);
	return SL_OK;
}

int
hold_tls_sign(struct holder *ho, const char *kid, const uint8_t *p, size_t len, uint8_t *out, size_t *outlen,
	struct sl_err *err)
{
	const struct tls_alg *a = NULL;
	const struct hold_tls *t = NULL;
	EVP_PKEY_CTX *pc;
	size_t siglen = KH_PAYLOAD_MAX;
	unsigned algo;
	int rc, ok;

	for (size_t i = 0; i < KH_TLS_KEYS; i++)
		if (ho->ho_tls[i].ht_name != NULL && strcmp(ho->ho_tls[i].ht_name, kid) == 0)
			t = &ho->ho_tls[i];
	if (t == NULL)
		return sl_fail(err, SL_EINVAL, "no TLS key %s (portal or eid)", kid);
	if (len < 3 || len - 2 > KH_TLS_INPUT_MAX)
		return sl_fail(err, SL_EINVAL, "a TLS signing request has 1 to %d bytes to sign, not %zu",
			KH_TLS_INPUT_MAX, len < 2 ? 0 : len - 2);
	algo = (unsigned)p[0] << 8 | p[1];
	for (size_t i = 0; i < sizeof(tls_algs) / sizeof(tls_algs[0]); i++)
		if (tls_algs[i].ta_algo == algo)
			a = &tls_algs[i];
	if (a == NULL)
		return sl_fail(err, SL_EINVAL, "GnuTLS signature algorithm %u is not one the key holder signs", algo);
	if (t->ht_key == NULL)
		return sl_fail(err, SL_ENOTFOUND, "%s", t->ht_why);
	if ((rc = tls_check(t, a, len - 2, err)) != SL_OK)
		return rc;
	pc = EVP_PKEY_CTX_new_from_pkey(NULL, t->ht_key, NULL);
	ok = pc != NULL && EVP_PKEY_sign_init(pc) == 1;
	if (ok && a->ta_pad != TLS_ECDSA)
		ok = EVP_PKEY_CTX_set_rsa_padding(
			     pc, a->ta_pad == TLS_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1;
	if (ok && a->ta_md != NULL)
		ok = EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(a->ta_md)) == 1;
	/* TLS's RSA-PSS: MGF1 with the same hash, a salt as long as it. */
	if (ok && a->ta_pad == TLS_PSS)
		ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1;
	if (ok)
		ok = EVP_PKEY_sign(pc, out, &siglen, p + 2, len - 2) == 1;
	EVP_PKEY_CTX_free(pc);
	if (!ok)
		return sl_fail(err, SL_ECRYPTO, "the %s TLS signature failed", t->ht_name);
	*outlen = siglen;
	return SL_OK;
}
