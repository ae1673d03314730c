/*
 * tlskey.c — a TLS listener's certificate chain and its private key as a
 * GnuTLS external key: this process never holds the key's bytes.
 *
 * libmicrohttpd's MHD_OPTION_HTTPS_CERT_CALLBACK (a
 * gnutls_certificate_retrieve_function2, daemon.c) returns the chain and
 * the gnutls_privkey_t made here with gnutls_privkey_import_ext4.  GnuTLS
 * asks that key for one signature per full handshake through sign_hash():
 * a DigestInfo for RSA PKCS#1 v1.5 (as GNUTLS_SIGN_RSA_RAW), the hash for
 * RSA-PSS and ECDSA; the signature comes from hd_tls_sign (sleuteld's key
 * holder).  info() tells GnuTLS the key's type and size from the
 * certificate, and which signature algorithms the key holder makes, so
 * that GnuTLS negotiates only those (TLS 1.3 with an RSA key needs
 * RSA-PSS).  A resumed session (tickets) needs no signature.
 *
 * When the signer fails (the key holder gone or not answering), the
 * signature fails and GnuTLS ends that handshake with an alert; the
 * connection closes and nothing else is affected.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "http_int.h"

#define TLS_CHAIN_MAX 16 /* certificates in [server] tls_cert */

struct tls_key {
	const char *tk_name;
	http_tls_sign_fn tk_sign;
	void *tk_ctx;
	gnutls_pcert_st tk_pcert[TLS_CHAIN_MAX];
	unsigned tk_npcert;
	gnutls_privkey_t tk_priv;
	gnutls_pk_algorithm_t tk_pk; /* GNUTLS_PK_RSA or GNUTLS_PK_ECDSA */
	unsigned tk_bits;
	gnutls_ecc_curve_t tk_curve; /* ECDSA */
	struct sl_err *tk_probe_err; /* set while tlskey_new() checks the key */
};

/* The algorithms the key holder signs for a key like k (hold_tls.c). */
static bool
sign_ok(const struct tls_key *k, unsigned algo)
{
	switch (algo) {
	case GNUTLS_SIGN_RSA_SHA1:
	case GNUTLS_SIGN_RSA_SHA224:
	case GNUTLS_SIGN_RSA_SHA256:
	case GNUTLS_SIGN_RSA_SHA384:
	case GNUTLS_SIGN_RSA_SHA512:
	case GNUTLS_SIGN_RSA_RAW:
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA512: return k->tk_pk == GNUTLS_PK_RSA;
	case GNUTLS_SIGN_ECDSA_SHA1:
	case GNUTLS_SIGN_ECDSA_SHA224:
	case GNUTLS_SIGN_ECDSA_SHA256:
	case GNUTLS_SIGN_ECDSA_SHA384:
	case GNUTLS_SIGN_ECDSA_SHA512: return k->tk_pk == GNUTLS_PK_ECDSA;
	case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256: return k->tk_curve == GNUTLS_ECC_CURVE_SECP256R1;
	case GNUTLS_SIGN_ECDSA_SECP384R1_SHA384: return k->tk_curve == GNUTLS_ECC_CURVE_SECP384R1;
	case GNUTLS_SIGN_ECDSA_SECP521R1_SHA512: return k->tk_curve == GNUTLS_ECC_CURVE_SECP521R1;
	default: return false;
	}
}

static int
key_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	const struct tls_key *k = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return (int)k->tk_pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)k->tk_bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return sign_ok(k, GNUTLS_FLAGS_TO_SIGN_ALGO(flags)) ? 1 : 0;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_UNKNOWN; /* no single one */
	return -1;
}

static int
key_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata, unsigned int flags,
	const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
	struct tls_key *k = userdata;
	struct sl_err err = { 0 };
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int rc;

	(void)key;
	(void)flags;
	rc = k->tk_sign(k->tk_ctx, k->tk_name, (unsigned)algo, hash->data, hash->size, &sig, &siglen, &err);
	if (rc != SL_OK) {
		/* A key holder that is gone or silent is logged by its client
		 * once; anything else says what went wrong here. */
		if (k->tk_probe_err != NULL)
			*k->tk_probe_err = err;
		else if (rc != SL_EBUSY)
			log_warn("%s TLS handshake: %s", k->tk_name, err.msg);
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	signature->data = gnutls_malloc(siglen);
	if (signature->data == NULL) {
		free(sig);
		return GNUTLS_E_MEMORY_ERROR;
	}
	memcpy(signature->data, sig, siglen);
	signature->size = (unsigned)siglen;
	free(sig);
	return 0;
}

/* The public key's type, size and curve, from the leaf certificate. */
static int
key_params(struct tls_key *k, struct sl_err *err)
{
	gnutls_pubkey_t pub = k->tk_pcert[0].pubkey;
	int pk = gnutls_pubkey_get_pk_algorithm(pub, &k->tk_bits);

	if (pk == GNUTLS_PK_ECDSA) {
		gnutls_datum_t x = { 0 }, y = { 0 };
		if (gnutls_pubkey_export_ecc_raw(pub, &k->tk_curve, &x, &y) < 0)
			return sl_fail(err, SL_ECRYPTO, "%s: cannot read the certificate's EC key", k->tk_name);
		gnutls_free(x.data);
		gnutls_free(y.data);
	} else if (pk != GNUTLS_PK_RSA) {
		return sl_fail(err, SL_EINVAL, "%s: the TLS certificate's key is %s; RSA or EC (ECDSA) are served",
			k->tk_name, gnutls_pk_get_name((gnutls_pk_algorithm_t)pk));
	}
	k->tk_pk = (gnutls_pk_algorithm_t)pk;
	return SL_OK;
}

/* One signature through GnuTLS, as a handshake makes it, verified with the
 * certificate: the key holder's key is the certificate's, and signs. */
static int
key_probe(struct tls_key *k, struct sl_err *err)
{
	gnutls_sign_algorithm_t algo = k->tk_pk == GNUTLS_PK_RSA ? GNUTLS_SIGN_RSA_SHA256 : GNUTLS_SIGN_ECDSA_SHA256;
	uint8_t nonce[32], digest[32];
	gnutls_datum_t hash = { digest, sizeof(digest) }, sig = { 0 };
	struct sl_err why = { 0 };
	int rc;

	if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof(nonce)) < 0 ||
		gnutls_hash_fast(GNUTLS_DIG_SHA256, nonce, sizeof(nonce), digest) < 0)
		return sl_fail(err, SL_ECRYPTO, "%s: no random bytes", k->tk_name);
	k->tk_probe_err = &why;
	rc = gnutls_privkey_sign_hash2(k->tk_priv, algo, 0, &hash, &sig);
	k->tk_probe_err = NULL;
	if (rc < 0)
		return sl_fail(err, why.code ? why.code : SL_ECRYPTO, "%s TLS key: %s", k->tk_name,
			why.msg[0] ? why.msg : gnutls_strerror(rc));
	rc = gnutls_pubkey_verify_hash2(k->tk_pcert[0].pubkey, algo, 0, &hash, &sig);
	gnutls_free(sig.data);
	if (rc < 0)
		return sl_fail(
			err, SL_EINVAL, "%s: the TLS key does not match the certificate's public key", k->tk_name);
	return SL_OK;
}

struct tls_key *
tlskey_new(const char *name, const char *cert_pem, http_tls_sign_fn sign, void *ctx, struct sl_err *err)
{
	struct tls_key *k = calloc(1, sizeof(*k));
	gnutls_datum_t pem = { (unsigned char *)cert_pem, cert_pem ? (unsigned)strlen(cert_pem) : 0 };
	int rc;

	if (k == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	k->tk_name = name;
	k->tk_sign = sign;
	k->tk_ctx = ctx;
	if (cert_pem == NULL || sign == NULL) {
		free(k);
		return sl_fail(err, SL_EINVAL, "%s: TLS needs a certificate and a signer", name), NULL;
	}
	k->tk_npcert = TLS_CHAIN_MAX;
	rc = gnutls_pcert_list_import_x509_raw(k->tk_pcert, &k->tk_npcert, &pem, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || k->tk_npcert == 0) {
		k->tk_npcert = 0;
		tlskey_free(k);
		return sl_fail(err, SL_EINVAL, "%s: the TLS certificate file: %s (at most %d certificates)", name,
			       rc < 0 ? gnutls_strerror(rc) : "no certificate", TLS_CHAIN_MAX),
		       NULL;
	}
	if (key_params(k, err) != SL_OK || gnutls_privkey_init(&k->tk_priv) < 0 ||
		gnutls_privkey_import_ext4(k->tk_priv, k, NULL, key_sign_hash, NULL, NULL, key_info, 0) < 0 ||
		key_probe(k, err) != SL_OK) {
		if (err != NULL && err->code == 0)
			sl_fail(err, SL_ECRYPTO, "%s: cannot make the external TLS key", name);
		tlskey_free(k);
		return NULL;
	}
	return k;
}

void
tlskey_get(struct tls_key *k, gnutls_pcert_st **pcert, unsigned *pcert_length, gnutls_privkey_t *privkey)
{
	*pcert = k->tk_pcert;
	*pcert_length = k->tk_npcert;
	*privkey = k->tk_priv;
}

void
tlskey_free(struct tls_key *k)
{
	if (k == NULL)
		return;
	if (k->tk_priv != NULL)
		gnutls_privkey_deinit(k->tk_priv);
	for (unsigned i = 0; i < k->tk_npcert; i++)
		gnutls_pcert_deinit(&k->tk_pcert[i]);
	free(k);
}
