/*
 * card.c — issuing a virtual eID card.
 *
 * A card holds two key pairs, as a real Belgian eID does: one whose
 * certificate authenticates ("<given> <family> (Authentication)", key usage
 * digitalSignature, EKU clientAuth) and one that makes qualified signatures
 * ("... (Signature)", key usage nonRepudiation alone).  A Kids-ID, like the
 * real one, holds the authentication pair only: children under 12 do not
 * sign.  The subject is C=BE, CN, SN (family name), GN (given names) and
 * serialNumber (the national register number, RRN), in that order, as on
 * the cards.  Keys are EC P-384 (cards since 2020) or RSA 2048 (older
 * cards).  Both certificates carry AIA (OCSP and caIssuers) and, when the
 * PKI has a CRL base, a CDP.
 *
 * The RRN is checked here only as far as issuing needs: eleven digits whose
 * last two are 97 - (the first nine mod 97), or the same over "2" and the
 * nine for births from 2000; a Kids-ID's number must also give a birth date
 * less than 12 years ago.
 *
 * The PKCS#12 is what PKCS12_create_ex() would write, with two key pairs
 * instead of one: certificates in a safe encrypted with AES-256-CBC (PBES2,
 * PBKDF2 with HMAC-SHA-256), shrouded keys with the same, a SHA-256 MAC,
 * each key paired with its certificate by localKeyID and named by the
 * certificate's CN; the issuing CA and the root come along for the chain.
 * NSS (Firefox, Chromium) and OpenSSL 3 read it; the 40-bit RC2 and 3DES of
 * older defaults are refused by modern importers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "pki_int.h"
#include "../crypto/crypto.h"

#define PKI_P12_ITER PKCS12_DEFAULT_ITER
#define PKI_PIN_MIN 4
#define PKI_PIN_MAX 12
#define PKI_CARD_YEARS 10
#define PKI_KIDS_AGE 12

enum { ROLE_AUTH, ROLE_SIGN, NROLES };

static const struct card_role {
	const char *cr_word; /* in the CN and the friendly name */
	const char *cr_kind; /* in index.json */
	const char *cr_ku;
	const char *cr_eku;
} roles[NROLES] = {
	{ "Authentication", "authentication", "critical,digitalSignature", "clientAuth" },
	{ "Signature", "signature", "critical,nonRepudiation", NULL },
};

struct card {
	char *cd_given;
	char *cd_family;
	const char *cd_rrn;
	int cd_ca; /* PKI_CA_* */
	bool cd_rsa;
	int cd_nroles; /* 1 on a Kids-ID */
	int64_t cd_not_before;
	int64_t cd_not_after;
	struct pki_settings cd_ps;
	X509 *cd_ca_cert;
	EVP_PKEY *cd_ca_key;
	X509 *cd_root;
	X509 *cd_cert[NROLES];
	EVP_PKEY *cd_key[NROLES];
	char *cd_cn[NROLES];
	char *cd_serial[NROLES];
};

static void
card_free(struct card *c)
{
	free(c->cd_given);
	free(c->cd_family);
	pki_settings_clear(&c->cd_ps);
	X509_free(c->cd_ca_cert);
	EVP_PKEY_free(c->cd_ca_key);
	X509_free(c->cd_root);
	for (int i = 0; i < NROLES; i++) {
		X509_free(c->cd_cert[i]);
		EVP_PKEY_free(c->cd_key[i]);
		free(c->cd_cn[i]);
		free(c->cd_serial[i]);
	}
	memset(c, 0, sizeof(*c));
}

/* ---- checks ---- */

static int
digit(const char *s, int i)
{
	return s[i] - '0';
}

int
pki_rrn_check(const char *rrn, int *century, struct sl_err *err)
{
	uint64_t n9 = 0, check;

	if (rrn == NULL || strlen(rrn) != 11 || strspn(rrn, "0123456789") != 11)
		return sl_fail(err, SL_EINVAL, "a national register number has 11 digits");
	for (int i = 0; i < 9; i++)
		n9 = n9 * 10 + (uint64_t)digit(rrn, i);
	check = (uint64_t)digit(rrn, 9) * 10 + (uint64_t)digit(rrn, 10);
	if (97 - n9 % 97 == check)
		*century = 1900;
	else if (97 - (2000000000 + n9) % 97 == check)
		*century = 2000;
	else
		return sl_fail(err, SL_EINVAL, "%s: the check digits do not match (mod 97)", rrn);
	return SL_OK;
}

/* A Kids-ID's number must give a birth date less than 12 years ago. */
static int
kids_check(const char *rrn, int century, int64_t now, struct sl_err *err)
{
	int year = century + digit(rrn, 0) * 10 + digit(rrn, 1);
	int month = digit(rrn, 2) * 10 + digit(rrn, 3), day = digit(rrn, 4) * 10 + digit(rrn, 5), age;
	time_t t = (time_t)now;
	struct tm tm;

	if (month > 40)
		month -= 40; /* bis number, sex known */
	else if (month > 20)
		month -= 20; /* bis number, sex unknown */
	if (month < 1 || month > 12 || day < 1 || day > 31)
		return sl_fail(err, SL_EINVAL, "%s gives no birth date; a Kids-ID needs one", rrn);
	if (gmtime_r(&t, &tm) == NULL)
		return sl_fail(err, SL_ERR, "cannot read the clock");
	age = tm.tm_year + 1900 - year;
	if (tm.tm_mon + 1 < month || (tm.tm_mon + 1 == month && tm.tm_mday < day))
		age--;
	if (age < 0 || age >= PKI_KIDS_AGE)
		return sl_fail(err, SL_EINVAL, "a Kids-ID is for children under %d; %s was born %04d-%02d-%02d",
			PKI_KIDS_AGE, rrn, year, month, day);
	return SL_OK;
}

static bool
name_ok(const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len == 0 || len > PKI_NAME_MAX || s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
pki_names(const char *name, const char *given, const char *family, char **out_given, char **out_family,
	struct sl_err *err)
{
	const char *sp;

	if (given != NULL || family != NULL) {
		*out_given = sl_strdup(given);
		*out_family = sl_strdup(family);
	} else if (name != NULL && (sp = strrchr(name, ' ')) != NULL) {
		*out_given = sl_strndup(name, (size_t)(sp - name));
		*out_family = strdup(sp + 1);
	} else {
		return sl_fail(err, SL_EINVAL, "a name of two words or more is needed (given names, family name)");
	}
	if (!name_ok(*out_given) || !name_ok(*out_family))
		return sl_fail(err, SL_EINVAL,
			"given and family names must be 1 to %d bytes without control characters", PKI_NAME_MAX);
	return SL_OK;
}

static int
card_check(const struct pki_card_opts *o, struct card *c, struct sl_err *err)
{
	size_t pinlen = o->pc_pin ? strlen(o->pc_pin) : 0;
	int64_t now = sl_now();
	int century = 0, rc;

	if (pinlen < PKI_PIN_MIN || pinlen > PKI_PIN_MAX || strspn(o->pc_pin, "0123456789") != pinlen)
		return sl_fail(err, SL_EINVAL, "a card PIN has %d to %d digits", PKI_PIN_MIN, PKI_PIN_MAX);
	if (o->pc_expired && o->pc_not_yet_valid)
		return sl_fail(err, SL_EINVAL, "a card cannot be both expired and not yet valid");
	if (o->pc_kids && o->pc_foreigner)
		return sl_fail(err, SL_EINVAL, "a Kids-ID is issued by the Citizen CA, not the Foreigner CA");
	if ((rc = pki_names(o->pc_name, o->pc_given, o->pc_family, &c->cd_given, &c->cd_family, err)) != SL_OK ||
		(rc = pki_rrn_check(o->pc_rrn, &century, err)) != SL_OK)
		return rc;
	if (o->pc_kids && (rc = kids_check(o->pc_rrn, century, now, err)) != SL_OK)
		return rc;
	c->cd_rrn = o->pc_rrn;
	c->cd_ca = o->pc_foreigner ? PKI_CA_FOREIGNER : PKI_CA_CITIZEN;
	c->cd_rsa = o->pc_rsa;
	c->cd_nroles = o->pc_kids ? 1 : NROLES;
	if (o->pc_expired) {
		c->cd_not_after = now - PKI_DAY;
		c->cd_not_before = pki_add_years(c->cd_not_after, -PKI_CARD_YEARS);
	} else if (o->pc_not_yet_valid) {
		c->cd_not_before = now + PKI_DAY;
		c->cd_not_after = pki_add_years(c->cd_not_before, PKI_CARD_YEARS);
	} else {
		c->cd_not_before = now - 3600; /* an hour's clock skew */
		c->cd_not_after = pki_add_years(now, PKI_CARD_YEARS);
	}
	return SL_OK;
}

/* ---- certificates ---- */

int
pki_issuer_load(const char *dir, int ca, struct pki_settings *ps, X509 **ca_cert, EVP_PKEY **ca_key, X509 **root,
	struct sl_err *err)
{
	const struct pki_ca_info *ci = &pki_cas[ca];
	int rc = pki_settings_load(dir, ps, err);

	if (rc != SL_OK)
		return rc;
	*ca_cert = pki_cert_load(dir, ci->ci_base, err);
	*ca_key = *ca_cert ? pki_key_load(dir, ci->ci_base, err) : NULL;
	*root = *ca_key ? pki_cert_load(dir, "root", err) : NULL;
	return *root ? SL_OK : (err ? err->code : SL_ERR);
}

X509_NAME *
pki_person_name(const char *cn, const char *family, const char *given, const char *serial)
{
	X509_NAME *name = X509_NAME_new();
	const struct {
		int nid;
		int type;
		const char *value;
	} rdn[] = { { NID_countryName, MBSTRING_ASC, "BE" }, { NID_commonName, MBSTRING_UTF8, cn },
		{ NID_surname, MBSTRING_UTF8, family }, { NID_givenName, MBSTRING_UTF8, given },
		{ NID_serialNumber, MBSTRING_ASC, serial } };

	for (size_t i = 0; name != NULL && i < sizeof(rdn) / sizeof(rdn[0]); i++) {
		if (!X509_NAME_add_entry_by_NID(
			    name, rdn[i].nid, rdn[i].type, (const unsigned char *)rdn[i].value, -1, -1, 0)) {
			X509_NAME_free(name);
			name = NULL;
		}
	}
	return name;
}

char *
pki_chain_pem(X509 *ca, X509 *root)
{
	char *ca_pem = pki_cert_pem(ca), *root_pem = pki_cert_pem(root), *out = NULL;
	struct sl_buf chain;

	sl_buf_init(&chain, 1 << 20);
	if (ca_pem && root_pem && sl_buf_adds(&chain, ca_pem) == SL_OK && sl_buf_adds(&chain, root_pem) == SL_OK)
		out = sl_buf_take(&chain);
	sl_buf_reset(&chain);
	free(ca_pem);
	free(root_pem);
	return out;
}

static int
card_cert(struct card *c, int role, struct sl_err *err)
{
	const struct card_role *r = &roles[role];
	struct sl_buf cn;
	X509_NAME *name = NULL;
	X509 *cert = NULL;
	int rc = SL_ECRYPTO;

	sl_buf_init(&cn, 256);
	if (sl_buf_addf(&cn, "%s %s (%s)", c->cd_given, c->cd_family, r->cr_word) != SL_OK)
		goto out;
	c->cd_key[role] = pki_keygen(c->cd_rsa);
	name = c->cd_key[role] ? pki_person_name(sl_buf_str(&cn), c->cd_family, c->cd_given, c->cd_rrn) : NULL;
	if (c->cd_key[role] != NULL && name == NULL) {
		rc = sl_fail(
			err, SL_EINVAL, "the name does not fit a certificate (UTF-8, at most 64 characters in the CN)");
		goto out;
	}
	cert = name ? pki_cert_new(c->cd_key[role], name, c->cd_not_before, c->cd_not_after) : NULL;
	if (cert != NULL &&
		pki_leaf_exts(cert, c->cd_ca_cert, &c->cd_ps, &pki_cas[c->cd_ca], r->cr_ku, r->cr_eku, NULL) == SL_OK &&
		pki_cert_sign(cert, c->cd_ca_cert, c->cd_ca_key) == SL_OK)
		rc = SL_OK;
	if (rc == SL_OK) {
		c->cd_serial[role] = pki_serial_hex(X509_get0_serialNumber(cert));
		c->cd_cn[role] = sl_buf_take(&cn);
		rc = c->cd_serial[role] && c->cd_cn[role] ? SL_OK : SL_ENOMEM;
	}
	if (rc == SL_OK) {
		c->cd_cert[role] = cert;
		cert = NULL;
	} else {
		sl_fail(err, rc, "cannot make the %s certificate", r->cr_kind);
	}
out:
	X509_free(cert);
	X509_NAME_free(name);
	sl_buf_reset(&cn);
	return rc;
}

/* ---- PKCS#12 ---- */

static int
p12_add_cert(STACK_OF(PKCS12_SAFEBAG) * *bags, X509 *cert, const char *fname, const uint8_t *id, unsigned int idlen)
{
	PKCS12_SAFEBAG *bag = PKCS12_add_cert(bags, cert);

	if (bag == NULL || !PKCS12_add_friendlyname_utf8(bag, fname, -1))
		return SL_ECRYPTO;
	if (id != NULL && !PKCS12_add_localkeyid(bag, (unsigned char *)id, (int)idlen))
		return SL_ECRYPTO;
	return SL_OK;
}

/* A key and its certificate, paired by localKeyID (SHA-256 of the cert). */
static int
p12_add_pair(STACK_OF(PKCS12_SAFEBAG) * *certs, STACK_OF(PKCS12_SAFEBAG) * *keys, X509 *cert, EVP_PKEY *key,
	const char *fname, const char *pin)
{
	unsigned char id[EVP_MAX_MD_SIZE];
	unsigned int idlen = 0;
	PKCS12_SAFEBAG *bag;

	if (X509_digest(cert, EVP_sha256(), id, &idlen) != 1 || p12_add_cert(certs, cert, fname, id, idlen) != SL_OK)
		return SL_ECRYPTO;
	bag = PKCS12_add_key_ex(keys, key, 0, PKI_P12_ITER, NID_aes_256_cbc, pin, NULL, NULL);
	if (bag == NULL || !PKCS12_add_localkeyid(bag, id, (int)idlen) || !PKCS12_add_friendlyname_utf8(bag, fname, -1))
		return SL_ECRYPTO;
	return SL_OK;
}

static int
card_p12(const struct card *c, const char *pin, uint8_t **der, size_t *len)
{
	STACK_OF(PKCS12_SAFEBAG) *certs = NULL, *keys = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	int rc = SL_OK, n;

	*der = NULL;
	for (int i = 0; rc == SL_OK && i < c->cd_nroles; i++)
		rc = p12_add_pair(&certs, &keys, c->cd_cert[i], c->cd_key[i], c->cd_cn[i], pin);
	if (rc == SL_OK)
		rc = p12_add_cert(&certs, c->cd_ca_cert, pki_cas[c->cd_ca].ci_cn, NULL, 0);
	if (rc == SL_OK)
		rc = p12_add_cert(&certs, c->cd_root, "sleutel demo Belgium Root CA", NULL, 0);
	if (rc != SL_OK || !PKCS12_add_safe_ex(&safes, certs, NID_aes_256_cbc, PKI_P12_ITER, pin, NULL, NULL) ||
		!PKCS12_add_safe_ex(&safes, keys, -1, 0, NULL, NULL, NULL) ||
		(p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL)) == NULL ||
		!PKCS12_set_mac(p12, pin, -1, NULL, 0, PKI_P12_ITER, EVP_sha256()) || (n = i2d_PKCS12(p12, der)) <= 0) {
		rc = SL_ECRYPTO;
	} else {
		*len = (size_t)n;
	}
	sk_PKCS12_SAFEBAG_pop_free(certs, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(keys, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	return rc;
}

/* ---- index ---- */

static int
card_add(json_t *index, void *arg, struct sl_err *err)
{
	const struct card *c = arg;
	int rc = SL_OK;

	for (int i = 0; rc == SL_OK && i < c->cd_nroles; i++)
		rc = pki_index_add(index, c->cd_cert[i], c->cd_serial[i], c->cd_ca, roles[i].cr_kind, NULL, err);
	return rc;
}

static int
card_result(const struct card *c, struct pki_card *out)
{
	out->pk_auth_serial = strdup(c->cd_serial[ROLE_AUTH]);
	out->pk_sign_serial = c->cd_nroles > ROLE_SIGN ? strdup(c->cd_serial[ROLE_SIGN]) : NULL;
	out->pk_auth_pem = pki_cert_pem(c->cd_cert[ROLE_AUTH]);
	out->pk_chain_pem = pki_chain_pem(c->cd_ca_cert, c->cd_root);
	if (out->pk_auth_serial && (out->pk_sign_serial || c->cd_nroles == 1) && out->pk_auth_pem && out->pk_chain_pem)
		return SL_OK;
	return SL_ENOMEM;
}

int
pki_card_issue(
	const char *dir, const struct pki_card_opts *o, const char *out_p12, struct pki_card *out, struct sl_err *err)
{
	struct card c = { 0 };
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = card_check(o, &c, err)) != SL_OK ||
		(rc = pki_issuer_load(dir, c.cd_ca, &c.cd_ps, &c.cd_ca_cert, &c.cd_ca_key, &c.cd_root, err)) != SL_OK)
		goto out;
	for (int i = 0; rc == SL_OK && i < c.cd_nroles; i++)
		rc = card_cert(&c, i, err);
	if (rc == SL_OK && (rc = card_p12(&c, o->pc_pin, &der, &len)) != SL_OK)
		sl_fail(err, rc, "cannot make the PKCS#12 file");
	/* Record before handing out: a card the index does not know would be
	 * unknown to OCSP and could never be revoked. */
	if (rc == SL_OK)
		rc = pki_index_update(dir, card_add, &c, err);
	if (rc == SL_OK)
		rc = sl_file_write(out_p12, der, len, 0600, err);
	if (rc == SL_OK && (rc = card_result(&c, out)) != SL_OK)
		sl_fail(err, rc, "out of memory");
out:
	if (rc != SL_OK)
		pki_card_clear(out);
	OPENSSL_clear_free(der, len);
	card_free(&c);
	return rc;
}

void
pki_card_clear(struct pki_card *c)
{
	if (c == NULL)
		return;
	free(c->pk_auth_serial);
	free(c->pk_sign_serial);
	free(c->pk_auth_pem);
	free(c->pk_chain_pem);
	memset(c, 0, sizeof(*c));
}
