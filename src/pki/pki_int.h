/*
 * pki_int.h — what the files of the demo PKI share: the issuing CAs,
 * loading certificates and keys from the PKI directory, building a
 * certificate, the settings (pki.json) and the index (index.json).
 */
#ifndef SL_PKI_INT_H
#define SL_PKI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki.h"

#define PKI_FILE_MAX (1 << 20) /* a PEM file or pki.json */
#define PKI_INDEX_MAX (64 << 20) /* index.json: about 200 000 certificates */
#define PKI_SERIAL_LEN 16 /* random bytes in a serial number */
#define PKI_URL_MAX 1024 /* an OCSP or CRL URL */
#define PKI_DAY 86400

enum pki_ca_id { PKI_CA_CITIZEN, PKI_CA_FOREIGNER, PKI_CA_SMARTID, PKI_NCA };

struct pki_ca_info {
	const char *ci_name; /* "citizen": index.json, CLI, CRL file name */
	const char *ci_cn; /* subject CN */
	const char *ci_base; /* "citizen-ca": .pem, .key, .crt */
	const char *ci_ocsp; /* "citizen-ocsp": the OCSP signer's .pem, .key */
	bool ci_eid; /* issues eID cards: in trust.pem, made by pki_init only */
};

extern const struct pki_ca_info pki_cas[PKI_NCA];
struct pki_settings;

/* "citizen", "foreigner" or "smartid" → PKI_CA_*, or -1. */
int pki_ca_find(const char *name);
/* Whether DIR holds the CA and its OCSP signer (the signer is written
 * last).  A PKI made before the Smart-ID CA existed lacks that one. */
bool pki_ca_present(const char *dir, int ca);

/* `t` plus `years` calendar years (UTC), the same day and time. */
int64_t pki_add_years(int64_t t, int years);
/* DIR/name; malloc'd. */
char *pki_path(const char *dir, const char *name);
/* DIR/base.pem and DIR/base.key. */
X509 *pki_cert_load(const char *dir, const char *base, struct sl_err *err);
EVP_PKEY *pki_key_load(const char *dir, const char *base, struct sl_err *err);
/* EC P-384, or RSA 2048 when `rsa`. */
EVP_PKEY *pki_keygen(bool rsa);
/* A v3 certificate for `pkey` with a random positive serial, `subject`
 * (copied) and the validity; no issuer, extensions or signature yet. */
X509 *pki_cert_new(EVP_PKEY *pkey, const X509_NAME *subject, int64_t not_before, int64_t not_after);
/* keyUsage `ku`, extendedKeyUsage `eku` and certificatePolicies
 * `policies` (both may be NULL; OpenSSL's configuration syntax), SKI, AKI,
 * AIA (OCSP and caIssuers <base>/<ca>.crt) and, with a CRL base, CDP
 * <crl_base>/<ca>.crl: the extensions of an end-entity certificate. */
int pki_leaf_exts(X509 *cert, X509 *ca_cert, const struct pki_settings *ps, const struct pki_ca_info *ci,
	const char *ku, const char *eku, const char *policies);
/* Sign with the issuer's key (SHA-384). */
int pki_cert_sign(X509 *cert, X509 *issuer, EVP_PKEY *issuer_key);
/* Upper-case hex of a serial number (as `openssl x509 -serial` prints it,
 * without leading zero bytes); malloc'd. */
char *pki_serial_hex(const ASN1_INTEGER *serial);
/* Normalise hex typed by a person (any case, optional colons); malloc'd or
 * NULL when it is not a positive hex number of at most 20 bytes. */
char *pki_serial_norm(const char *hex);
/* PEM of a certificate or a private key (PKCS#8); malloc'd. */
char *pki_cert_pem(X509 *cert);
char *pki_key_pem(EVP_PKEY *pkey);
/* Move `n` bytes of DER that an i2d function allocated (OPENSSL_malloc) to a
 * malloc'd *out; frees `der`.  SL_ECRYPTO when n <= 0. */
int pki_der_take(unsigned char *der, int n, uint8_t **out, size_t *outlen);
/* RFC 2253 form of a name, UTF-8 kept; malloc'd. */
char *pki_name_str(const X509_NAME *name);

/* ---- pki.json ---- */
struct pki_settings {
	char *ps_ocsp_url; /* AIA OCSP */
	char *ps_crl_base; /* CDP base, or NULL */
	char *ps_ca_issuers_base; /* AIA caIssuers base: crl_base, else the OCSP URL's origin */
};

int pki_settings_load(const char *dir, struct pki_settings *ps, struct sl_err *err);
void pki_settings_clear(struct pki_settings *ps);

/* ---- index.json: {"version": 1, "certs": [{serial, ca, kind, subject,
 * not_after, status, revoked_at, reason}]} ---- */
/* Serialise writers of the index (flock on DIR/index.lock); -1 on error. */
int pki_index_lock(const char *dir, struct sl_err *err);
void pki_index_unlock(int fd);
json_t *pki_index_load(const char *dir, struct sl_err *err);
int pki_index_save(const char *dir, json_t *index, struct sl_err *err);
/* The entry of `serial` (normalised hex) issued by `ca`, or by any CA when
 * `ca` is NULL; borrowed. */
json_t *pki_index_find(json_t *index, const char *ca, const char *serial);
bool pki_entry_revoked(json_t *entry);
/* Append a "good" entry for `cert` (issued by `ca`, of `kind`) to the
 * index, with its validity and, when not NULL, `document` as
 * document_number. */
int pki_index_add(json_t *index, X509 *cert, const char *serial, int ca, const char *kind, const char *document,
	struct sl_err *err);
/* Lock, load, change with `fn` (which returns SL_OK to save), save,
 * unlock. */
int pki_index_update(
	const char *dir, int (*fn)(json_t *index, void *arg, struct sl_err *err), void *arg, struct sl_err *err);
/* RFC 5280 CRLReason code of a reason name, or -1. */
int pki_reason_code(const char *name);

/* ---- issuing (card.c) ---- */
#define PKI_NAME_MAX 64 /* bytes of a given or family name */
/* A person's subject as the Belgian and Smart-ID certificates order it:
 * C=BE, CN, SN, GN, serialNumber; NULL when a value does not fit. */
X509_NAME *pki_person_name(const char *cn, const char *family, const char *given, const char *serial);
/* What issuing from CA `ca` needs: the settings, the CA's certificate and
 * key, and the root's certificate (for the chain). */
int pki_issuer_load(const char *dir, int ca, struct pki_settings *ps, X509 **ca_cert, EVP_PKEY **ca_key, X509 **root,
	struct sl_err *err);
/* The PEM of the CA and the root, the chain handed out with certificates;
 * malloc'd. */
char *pki_chain_pem(X509 *ca, X509 *root);
/* An RRN's check digits; *century is 1900 or 2000.  SL_EINVAL. */
int pki_rrn_check(const char *rrn, int *century, struct sl_err *err);
/* Given and family names: explicit, or `name` split at its last space;
 * each 1 to PKI_NAME_MAX bytes without control characters.  malloc'd. */
int pki_names(const char *name, const char *given, const char *family, char **out_given, char **out_family,
	struct sl_err *err);

/* extsign.c: sign with a pki_signer's key (file base `base`); the
 * result verified with issuer's (or signer's) public key. */
struct ocsp_basic_response_st;
int pki_ext_sign_cert(X509 *cert, X509 *issuer, const struct pki_signer *s, const char *base, struct sl_err *err);
int pki_ext_sign_crl(X509_CRL *crl, X509 *issuer, const struct pki_signer *s, const char *base, struct sl_err *err);
int pki_ext_sign_ocsp(struct ocsp_basic_response_st *bs, X509 *signer, const struct pki_signer *s, const char *base,
	struct sl_err *err);

#endif
