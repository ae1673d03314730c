/*
 * pki — the demo PKI: a root CA and, under it, a Citizen CA and a Foreigner
 * CA shaped like Belgium's and a Smart-ID CA shaped like SK ID Solutions'
 * (certificates for split-key accounts, whose keys it never sees); virtual
 * eID cards (an authentication and a
 * signing certificate with their keys, in PKCS#12 protected by the card
 * PIN, or in a SoftHSM2 PKCS#11 token whose user PIN is the card PIN);
 * revocation; an OCSP responder (RFC 6960) and CRLs for it.  For demos
 * and tests only: the CA keys are files in the PKI directory.
 *
 * Layout of a PKI directory DIR (keys are PKCS#8 PEM, mode 0600):
 *   DIR/root.pem, DIR/root.key                   the demo root CA
 *   DIR/citizen-ca.pem, DIR/citizen-ca.key       issuing CA for citizens and Kids-ID
 *   DIR/foreigner-ca.pem, DIR/foreigner-ca.key
 *   DIR/citizen-ocsp.pem, DIR/citizen-ocsp.key   OCSP signer delegated by the Citizen CA
 *   DIR/foreigner-ocsp.pem, DIR/foreigner-ocsp.key  ... by the Foreigner CA
 *   DIR/smartid-ca.pem, DIR/smartid-ca.key       issuing CA of Smart-ID accounts
 *   DIR/smartid-ocsp.pem, DIR/smartid-ocsp.key   ... and its OCSP signer
 *   DIR/trust.pem                                root + both eID CAs (the eID trust set;
 *                                                not the Smart-ID CA)
 *   DIR/index.json                               issued certificates and revocations
 *   DIR/index.lock                               serialises writers of index.json
 *   DIR/pki.json                                 settings: OCSP URL, CRL and caIssuers bases
 * (RFC 6960 lets a delegated signer answer only for the CA that issued it,
 * hence one signer per CA.)
 */
#ifndef SL_PKI_H
#define SL_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

struct pki_card_opts {
	const char *pc_name; /* "Demo Citizen": GN is all but the last word, SN the last */
	const char *pc_given; /* or explicit given names ... */
	const char *pc_family; /* ... and family name */
	const char *pc_rrn; /* 11 digits; checked */
	bool pc_foreigner; /* issued by the Foreigner CA */
	bool pc_kids; /* a Kids-ID: the number must give an age under 12 */
	bool pc_rsa; /* RSA 2048 keys instead of EC P-384 */
	bool pc_expired; /* validity ended yesterday */
	bool pc_not_yet_valid; /* validity starts tomorrow */
	const char *pc_pin; /* 4 to 12 digits */
};

struct pki_card {
	char *pk_auth_serial; /* hex serial of the authentication certificate */
	char *pk_sign_serial; /* ... of the signing certificate; NULL on a Kids-ID */
	char *pk_auth_pem; /* the authentication certificate */
	char *pk_chain_pem; /* issuing CA + root */
};

struct evp_pkey_st; /* EVP_PKEY */

/* A Smart-ID account's certificates for one device: the public halves of
 * the split keys (ordinary RSA keys, 6144 bits for a composite key; RSA
 * 2048 to 8192 accepted, EC refused: split-key signing is RSA). */
/* A signer of certificates, CRLs and OCSP responses whose keys this
 * process does not hold (sleuteld: its key holder, keyholder.h
 * KH_OP_PKI_SIGN).  ps_sign signs `tbs`, the DER to be signed of a `kind`
 * (PKI_TBS_*), with the key of file base `base` ("smartid-ca",
 * "citizen-ocsp", ...) under SHA-384; the signature malloc'd in *sig.
 * NULL where a function takes one: the key is read from the directory. */
enum pki_tbs_kind { PKI_TBS_CERT = 1, PKI_TBS_CRL = 2, PKI_TBS_OCSP = 3 };
struct pki_signer {
	int (*ps_sign)(void *arg, const char *base, int kind, const uint8_t *tbs, size_t len, uint8_t **sig,
		size_t *siglen, struct sl_err *err);
	void *ps_arg;
	/* pki_smartid_ca_ensure() where the keys are (sleuteld: the key
	 * holder, which reads the root key and makes the Smart-ID CA's and
	 * OCSP signer's keys); NULL: in this process. */
	int (*ps_smartid_ca_ensure)(void *arg, struct sl_err *err);
};

struct pki_smartid_opts {
	const char *so_name; /* "Given Family", or ... */
	const char *so_given; /* ... explicit given names ... */
	const char *so_family; /* ... and family name */
	const char *so_rrn; /* 11 digits; checked */
	const char *so_document; /* PNOBE-<rrn>-XXXX-Q, or NULL to draw one */
	struct evp_pkey_st *so_auth_pub; /* the authentication key (PIN1) */
	struct evp_pkey_st *so_sign_pub; /* the signing key (PIN2); a different key */
	const struct pki_signer *so_signer; /* NULL: the Smart-ID CA's key from the directory */
};

struct pki_smartid {
	char *sm_document; /* PNOBE-<rrn>-XXXX-Q */
	char *sm_auth_serial; /* upper-case hex, as for cards */
	char *sm_sign_serial;
	char *sm_auth_pem;
	char *sm_sign_pem;
	char *sm_chain_pem; /* Smart-ID CA + root */
};

/* Create DIR (its parent must exist) with the root, the three CAs and an
 * OCSP signer for each.  `ocsp_url` is put in the cards' AIA, `crl_base`
 * (may be NULL) in their CDP as crl_base/citizen.crl, foreigner.crl,
 * smartid.crl; AIA caIssuers points to <base>/citizen-ca.crt (and the CAs' to
 * <base>/root.crt), base being crl_base or else the OCSP URL's origin.
 * SL_ECONFLICT for an existing PKI, SL_EINVAL for a URL that is not
 * http(s) or holds spaces or commas. */
int pki_init(const char *dir, const char *ocsp_url, const char *crl_base, struct sl_err *err);
/* Issue a card; writes `out_p12` (PKCS#12: auth key + cert + chain, and the
 * signing key + cert, friendly names "<name> (Authentication)" and
 * "<name> (Signature)") protected by the PIN, after recording the
 * certificates in the index.  A Kids-ID, like the real one, has no signing
 * key.  Hex serials are upper case, as `openssl x509 -serial` prints them.
 * SL_EINVAL for bad options (name, RRN, PIN, a Kids-ID's age). */
int pki_card_issue(
	const char *dir, const struct pki_card_opts *o, const char *out_p12, struct pki_card *out, struct sl_err *err);
/* The card in `p12` (opened with `pin`) into a SoftHSM2 token labelled
 * `token` (created when missing, user PIN = card PIN, SO PIN = `so_pin`,
 * random when NULL); needs softhsm2-util and pkcs11-tool (Debian softhsm2
 * and opensc) and SOFTHSM2_CONF.  Objects: ID 02 "Authentication" and 03
 * "Signature" (key + certificate), 04 "CA", 05 "Root".  Key files live in a
 * private directory in DIR while the tools run.  SL_EDENIED for a wrong
 * PIN, SL_ECONFLICT when the token already holds a card. */
int pki_card_to_pkcs11(
	const char *dir, const char *p12, const char *pin, const char *token, const char *so_pin, struct sl_err *err);
void pki_card_clear(struct pki_card *c);
/* Issue a Smart-ID device's authentication and signing certificates from
 * the Smart-ID CA (made first when DIR predates it), valid 3 years, and
 * record both in the index with the device's document number: drawn as
 * PNOBE-<rrn>-XXXX-Q (four characters of 23456789ABCDEFGHJKLMNPQRSTUVWXYZ,
 * unused in the index) or given in that shape.  SL_EINVAL for bad options
 * or keys (EC, RSA under 2048 or over 8192 bits, the same key twice),
 * SL_ECONFLICT for a given document number already in the index. */
int pki_smartid_issue(const char *dir, const struct pki_smartid_opts *o, struct pki_smartid *out, struct sl_err *err);
void pki_smartid_clear(struct pki_smartid *s);
/* Revoke a certificate (card or Smart-ID) by hex serial, any case, colons
 * allowed (reason keyCompromise).  SL_ENOTFOUND when not in the index, SL_ECONFLICT when
 * already revoked. */
int pki_revoke(const char *dir, const char *serial_hex, struct sl_err *err);
/* A DER OCSP response to a DER OCSP request for this PKI: good, revoked or
 * unknown per the index, signed by the issuing CA's OCSP signer (its
 * certificate included), thisUpdate now, nextUpdate now + `validity`
 * seconds, nonce echoed.  malloc'd.  A request that is not exactly one DER
 * OCSPRequest with 1 to 64 CertIDs gets a malformedRequest response, one
 * naming none of the CAs an unauthorized response: both SL_OK.  An error return
 * (the directory cannot be read) leaves *resp NULL. */
int pki_ocsp_respond(const char *dir, const uint8_t *req, size_t reqlen, int64_t validity, uint8_t **resp,
	size_t *resplen, struct sl_err *err);
/* A DER CRL of `ca` ("citizen", "foreigner" or "smartid"), valid
 * `validity` seconds, with the CA's revoked serials and their reasons;
 * malloc'd.  SL_ENOTFOUND for the Smart-ID CA of a PKI that has not made
 * it yet. */
int pki_crl(const char *dir, const char *ca, int64_t validity, uint8_t **der, size_t *len, struct sl_err *err);
/* The same, signed by `signer` (NULL: as above, the keys from dir). */
int pki_ocsp_respond_with(const char *dir, const struct pki_signer *signer, const uint8_t *req, size_t reqlen,
	int64_t validity, uint8_t **resp, size_t *resplen, struct sl_err *err);
int pki_crl_with(const char *dir, const struct pki_signer *signer, const char *ca, int64_t validity, uint8_t **der,
	size_t *len, struct sl_err *err);

/* Make the Smart-ID CA and its OCSP signer in DIR when they are missing
 * (under the index lock, so two callers make it once): reads the root key
 * and makes their keys (sleuteld: in its key holder). */
int pki_smartid_ca_ensure(const char *dir, struct sl_err *err);

#endif
