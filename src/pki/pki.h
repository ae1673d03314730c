/*
 * pki — the demo PKI: a root CA and, under it, a Citizen CA and a Foreigner
 * CA shaped like Belgium's; virtual eID cards (an authentication and a
 * signing certificate with their keys, in PKCS#12 protected by the card
 * PIN, or in a SoftHSM2 PKCS#11 token whose user PIN is the card PIN);
 * revocation; an OCSP responder (RFC 6960) and CRLs for it.  For demos
 * and tests only: the CA keys are files in the PKI directory.
 *
 * Layout of a PKI directory DIR:
 *   DIR/root.pem, DIR/root.key               the demo root CA
 *   DIR/citizen-ca.pem, DIR/citizen-ca.key   issuing CA for citizens and Kids-ID
 *   DIR/foreigner-ca.pem, DIR/foreigner-ca.key
 *   DIR/ocsp.pem, DIR/ocsp.key               OCSP signer (delegated by each CA)
 *   DIR/trust.pem                            root + both CAs (the trust set)
 *   DIR/index.json                           issued certificates and revocations
 *   DIR/pki.json                             settings: OCSP URL, CRL URLs
 */
#ifndef SL_PKI_H
#define SL_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

struct pki_card_opts {
	const char *pc_name;      /* "Demo Citizen": GN is all but the last word, SN the last */
	const char *pc_given;     /* or explicit given names ... */
	const char *pc_family;    /* ... and family name */
	const char *pc_rrn;       /* 11 digits; checked */
	bool pc_foreigner;        /* issued by the Foreigner CA */
	bool pc_kids;             /* a Kids-ID: the number must give an age under 12 */
	bool pc_rsa;              /* RSA 2048 keys instead of EC P-384 */
	bool pc_expired;          /* validity ended yesterday */
	bool pc_not_yet_valid;    /* validity starts tomorrow */
	const char *pc_pin;       /* 4 to 12 digits */
};

struct pki_card {
	char *pk_auth_serial;     /* hex serial of the authentication certificate */
	char *pk_sign_serial;     /* hex serial of the signing certificate */
	char *pk_auth_pem;        /* the authentication certificate */
	char *pk_chain_pem;       /* issuing CA + root */
};

/* Create DIR with the root, both CAs and the OCSP signer. `ocsp_url` is put
 * in the certificates' AIA, `crl_base` (may be NULL) in their CDP as
 * crl_base/citizen.crl and crl_base/foreigner.crl.  Refuses an existing
 * PKI. */
int pki_init(const char *dir, const char *ocsp_url, const char *crl_base, struct sl_err *err);
/* Issue a card; writes `out_p12` (PKCS#12: auth key + cert + chain, and the
 * signing key + cert, friendly names "<name> (Authentication)" and
 * "<name> (Signature)") protected by the PIN. */
int pki_card_issue(const char *dir, const struct pki_card_opts *o, const char *out_p12, struct pki_card *out,
	struct sl_err *err);
/* The same card into a SoftHSM2 token labelled `token` (created when
 * missing, user PIN = card PIN, SO PIN = `so_pin`); needs softhsm2-util and
 * pkcs11-tool. */
int pki_card_to_pkcs11(const char *dir, const char *p12, const char *pin, const char *token, const char *so_pin,
	struct sl_err *err);
void pki_card_clear(struct pki_card *c);
/* Revoke a certificate by hex serial (reason keyCompromise). */
int pki_revoke(const char *dir, const char *serial_hex, struct sl_err *err);
/* A DER OCSP response to a DER OCSP request for this PKI: good, revoked or
 * unknown per the index, signed by the OCSP signer, thisUpdate now,
 * nextUpdate now + `validity` seconds, nonce echoed.  malloc'd. */
int pki_ocsp_respond(const char *dir, const uint8_t *req, size_t reqlen, int64_t validity, uint8_t **resp,
	size_t *resplen, struct sl_err *err);
/* A DER CRL of `ca` ("citizen" or "foreigner"), valid `validity` seconds. */
int pki_crl(const char *dir, const char *ca, int64_t validity, uint8_t **der, size_t *len, struct sl_err *err);

#endif
