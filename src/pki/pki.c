/*
 * pki.c — the demo PKI's directory: creating it, its settings and its
 * index of issued certificates, and revocation.
 *
 * The hierarchy is shaped like Belgium's eID PKI, with every key EC P-384
 * and every signature ECDSA with SHA-384 (as from Belgium Root CA6 on):
 *
 *   sleutel demo Belgium Root CA      CA:TRUE, keyCertSign + cRLSign, 25 years
 *   ├── Citizen CA                    CA:TRUE pathlen 0, keyCertSign + cRLSign, 20 years
 *   │   ├── Citizen CA OCSP Responder EKU OCSPSigning, id-pkix-ocsp-nocheck
 *   │   └── the cards of citizens and Kids-IDs
 *   ├── Foreigner CA                  (the same)
 *   │   ├── Foreigner CA OCSP Responder
 *   │   └── the cards of foreigners
 *   └── Smart-ID CA                   (the same; see smartid.c)
 *       ├── Smart-ID CA OCSP Responder
 *       └── the Smart-ID accounts' authentication and signing certificates
 *
 * Each issuing CA delegates OCSP to a responder certificate of its own:
 * RFC 6960 (4.2.2.2) wants a delegated responder issued by the CA of the
 * certificate asked about, so one signer cannot serve both CAs.  Unlike
 * the real issuing CAs, the demo ones carry no extendedKeyUsage: some
 * verifiers require an intermediate's EKU to include the leaf's, and the
 * responder certificates' OCSPSigning would then fail under them.
 *
 * The Smart-ID CA is no eID card issuer, so it stays out of trust.pem (the
 * eID login's trust set).  A PKI made before it existed gets it on first
 * use (pki_smartid_ca_ensure), with the root key that is in DIR anyway.
 *
 * index.json records every card certificate; it is rewritten whole and
 * atomically (sl_file_write), and writers take an flock on DIR/index.lock
 * so that two `sleutel pki card` or `revoke` never lose each other's entry.
 * Readers (the OCSP responder, the CRL) need no lock.
 */
#include <errno.h>
#include <time.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki_int.h"
#include "../crypto/crypto.h"

#define PKI_ROOT_CN "sleutel demo Belgium Root CA"
#define PKI_ORG "sleutel demo"

static char *file_name(const char *base, const char *ext);

const struct pki_ca_info pki_cas[PKI_NCA] = {
	{ "citizen", "Citizen CA", "citizen-ca", "citizen-ocsp", true },
	{ "foreigner", "Foreigner CA", "foreigner-ca", "foreigner-ocsp", true },
	{ "smartid", "Smart-ID CA", "smartid-ca", "smartid-ocsp", false },
};

int
pki_ca_find(const char *name)
{
	for (int i = 0; i < PKI_NCA; i++)
		if (name != NULL && strcmp(name, pki_cas[i].ci_name) == 0)
			return i;
	return -1;
}

bool
pki_ca_present(const char *dir, int ca)
{
	char *name = file_name(pki_cas[ca].ci_ocsp, ".pem"), *path = name ? pki_path(dir, name) : NULL;
	bool ok = path != NULL && access(path, F_OK) == 0;

	free(path);
	free(name);
	return ok;
}

int64_t
pki_add_years(int64_t t, int years)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return t + (int64_t)years * 365 * PKI_DAY;
	tm.tm_year += years;
	return (int64_t)timegm(&tm);
}

char *
pki_path(const char *dir, const char *name)
{
	return sl_path_resolve(dir, name);
}

static char *
file_name(const char *base, const char *ext)
{
	struct sl_buf buf;

	sl_buf_init(&buf, 256);
	if (sl_buf_addf(&buf, "%s%s", base, ext) != SL_OK) {
		sl_buf_reset(&buf);
		return NULL;
	}
	return sl_buf_take(&buf);
}

/* DIR/base+ext in a memory BIO. */
static BIO *
file_bio(const char *dir, const char *base, const char *ext, struct sl_err *err)
{
	char *name = file_name(base, ext), *path = name ? pki_path(dir, name) : NULL, *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;

	if (path == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
	} else if (sl_file_read(path, PKI_FILE_MAX, &data, &len, err) == SL_OK) {
		bio = BIO_new(BIO_s_secmem());
		if (bio == NULL || BIO_write(bio, data, (int)len) != (int)len) {
			BIO_free(bio);
			bio = NULL;
			sl_fail(err, SL_ENOMEM, "out of memory");
		}
		OPENSSL_cleanse(data, len);
	}
	free(data);
	free(path);
	free(name);
	return bio;
}

X509 *
pki_cert_load(const char *dir, const char *base, struct sl_err *err)
{
	BIO *bio = file_bio(dir, base, ".pem", err);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	if (bio != NULL && cert == NULL)
		sl_fail(err, SL_ECRYPTO, "%s/%s.pem is not a PEM certificate", dir, base);
	BIO_free(bio);
	return cert;
}

EVP_PKEY *
pki_key_load(const char *dir, const char *base, struct sl_err *err)
{
	BIO *bio = file_bio(dir, base, ".key", err);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

	if (bio != NULL && pkey == NULL)
		sl_fail(err, SL_ECRYPTO, "%s/%s.key is not a PEM private key", dir, base);
	BIO_free(bio);
	return pkey;
}

EVP_PKEY *
pki_keygen(bool rsa)
{
	if (rsa)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
}

X509 *
pki_cert_new(EVP_PKEY *pkey, const X509_NAME *subject, int64_t not_before, int64_t not_after)
{
	X509 *cert = X509_new();
	uint8_t serial[PKI_SERIAL_LEN];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (cert == NULL || sl_random(serial, sizeof(serial)) != SL_OK)
		goto out;
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x01; /* and never zero */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL &&
	     X509_set_version(cert, X509_VERSION_3) == 1 &&
	     ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)not_before) != NULL &&
	     ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after) != NULL &&
	     X509_set_subject_name(cert, subject) == 1 && X509_set_pubkey(cert, pkey) == 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

/* certificatePolicies with the comma-separated policy OIDs, no qualifiers.
 * (OpenSSL's configuration syntax for it needs a configuration database.) */
static int
add_policies(X509 *cert, const char *oids)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	char *copy = strdup(oids), *save = NULL;
	POLICYINFO *pi;
	int ok = cp != NULL && copy != NULL;

	for (char *p = ok ? strtok_r(copy, ",", &save) : NULL; ok && p != NULL; p = strtok_r(NULL, ",", &save)) {
		ASN1_OBJECT *oid = OBJ_txt2obj(p, 1);

		pi = oid ? POLICYINFO_new() : NULL;
		ok = pi != NULL;
		if (ok) {
			ASN1_OBJECT_free(pi->policyid);
			pi->policyid = oid;
			oid = NULL;
			ok = sk_POLICYINFO_push(cp, pi) > 0;
		}
		if (!ok)
			POLICYINFO_free(pi);
		ASN1_OBJECT_free(oid);
	}
	ok = ok && X509_add1_ext_i2d(cert, NID_certificate_policies, cp, 0, X509V3_ADD_APPEND) == 1;
	sk_POLICYINFO_pop_free(cp, POLICYINFO_free);
	free(copy);
	return ok ? SL_OK : SL_ECRYPTO;
}

int
pki_leaf_exts(X509 *cert, X509 *ca_cert, const struct pki_settings *ps, const struct pki_ca_info *ci, const char *ku,
	const char *eku, const char *policies)
{
	char aia[2 * PKI_URL_MAX + 64], cdp[PKI_URL_MAX + 64];
	int rc;

	snprintf(aia, sizeof(aia), "OCSP;URI:%s,caIssuers;URI:%s/%s.crt", ps->ps_ocsp_url, ps->ps_ca_issuers_base,
		ci->ci_base);
	snprintf(cdp, sizeof(cdp), "URI:%s/%s.crl", ps->ps_crl_base ? ps->ps_crl_base : "", ci->ci_name);
	rc = x509_add_ext(cert, ca_cert, NID_key_usage, ku);
	if (rc == SL_OK && eku != NULL)
		rc = x509_add_ext(cert, ca_cert, NID_ext_key_usage, eku);
	if (rc == SL_OK && policies != NULL)
		rc = add_policies(cert, policies);
	if (rc == SL_OK)
		rc = x509_add_ext(cert, ca_cert, NID_subject_key_identifier, "hash");
	if (rc == SL_OK)
		rc = x509_add_ext(cert, ca_cert, NID_authority_key_identifier, "keyid");
	if (rc == SL_OK)
		rc = x509_add_ext(cert, ca_cert, NID_info_access, aia);
	if (rc == SL_OK && ps->ps_crl_base != NULL)
		rc = x509_add_ext(cert, ca_cert, NID_crl_distribution_points, cdp);
	return rc;
}

int
pki_cert_sign(X509 *cert, X509 *issuer, EVP_PKEY *issuer_key)
{
	if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1)
		return SL_ECRYPTO;
	return X509_sign(cert, issuer_key, EVP_sha384()) > 0 ? SL_OK : SL_ECRYPTO;
}

static char *
bn_hex(const BIGNUM *bn)
{
	char *hex = bn ? BN_bn2hex(bn) : NULL, *out = hex ? strdup(hex) : NULL;

	OPENSSL_free(hex);
	return out;
}

char *
pki_serial_hex(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *out = bn && !BN_is_negative(bn) ? bn_hex(bn) : NULL;

	BN_free(bn);
	return out;
}

char *
pki_serial_norm(const char *hex)
{
	char digits[2 * 20 + 1];
	size_t n = 0;
	BIGNUM *bn = NULL;
	char *out = NULL;

	for (const char *p = hex; p != NULL && *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (n + 1 >= sizeof(digits) || strchr("0123456789abcdefABCDEF", *p) == NULL)
			return NULL;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	if (n == 0 || BN_hex2bn(&bn, digits) != (int)n)
		goto out;
	if (!BN_is_zero(bn))
		out = bn_hex(bn);
out:
	BN_free(bn);
	return out;
}

static char *
bio_take(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	return n > 0 ? sl_strndup(data, (size_t)n) : NULL;
}

char *
pki_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = bio && PEM_write_bio_X509(bio, cert) == 1 ? bio_take(bio) : NULL;

	BIO_free(bio);
	return out;
}

char *
pki_key_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 ? bio_take(bio) : NULL;

	BIO_free_all(bio);
	return out;
}

int
pki_der_take(unsigned char *der, int n, uint8_t **out, size_t *outlen)
{
	int rc = SL_OK;

	*out = NULL;
	*outlen = 0;
	if (der == NULL || n <= 0)
		rc = SL_ECRYPTO;
	else if ((*out = malloc((size_t)n)) == NULL)
		rc = SL_ENOMEM;
	if (rc == SL_OK) {
		memcpy(*out, der, (size_t)n);
		*outlen = (size_t)n;
	}
	OPENSSL_free(der);
	return rc;
}

char *
pki_name_str(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		out = bio_take(bio);
	BIO_free(bio);
	return out != NULL ? out : strdup("");
}

/* ---- settings ---- */

static char *
json_str_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? strdup(s) : NULL;
}

int
pki_settings_load(const char *dir, struct pki_settings *ps, struct sl_err *err)
{
	char *path = pki_path(dir, "pki.json"), *data = NULL;
	json_t *o = NULL;
	int rc;

	memset(ps, 0, sizeof(*ps));
	rc = path ? sl_file_read(path, PKI_FILE_MAX, &data, NULL, err) : sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc == SL_OK && (o = json_loads(data, 0, NULL)) == NULL)
		rc = sl_fail(err, SL_EINVAL, "%s is not JSON", path);
	if (rc == SL_OK) {
		ps->ps_ocsp_url = json_str_dup(o, "ocsp_url");
		ps->ps_crl_base = json_str_dup(o, "crl_base");
		ps->ps_ca_issuers_base = json_str_dup(o, "ca_issuers_base");
		if (ps->ps_ocsp_url == NULL || ps->ps_ca_issuers_base == NULL) {
			rc = sl_fail(err, SL_EINVAL, "%s lacks ocsp_url or ca_issuers_base", path);
			pki_settings_clear(ps);
		}
	}
	json_decref(o);
	free(data);
	free(path);
	return rc;
}

void
pki_settings_clear(struct pki_settings *ps)
{
	free(ps->ps_ocsp_url);
	free(ps->ps_crl_base);
	free(ps->ps_ca_issuers_base);
	memset(ps, 0, sizeof(*ps));
}

/* ---- index ---- */

int
pki_index_lock(const char *dir, struct sl_err *err)
{
	char *path = pki_path(dir, "index.lock");
	int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;

	if (fd < 0) {
		sl_fail(err, SL_EIO, "cannot open %s/index.lock: %s", dir, strerror(errno));
	} else {
		while (flock(fd, LOCK_EX) != 0) {
			if (errno == EINTR)
				continue;
			sl_fail(err, SL_EIO, "cannot lock %s/index.lock: %s", dir, strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
	}
	free(path);
	return fd;
}

void
pki_index_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

json_t *
pki_index_load(const char *dir, struct sl_err *err)
{
	char *path = pki_path(dir, "index.json"), *data = NULL;
	json_t *index = NULL;

	if (path == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
	} else if (sl_file_read(path, PKI_INDEX_MAX, &data, NULL, err) == SL_OK) {
		index = json_loads(data, 0, NULL);
		if (index == NULL || !json_is_array(json_object_get(index, "certs"))) {
			json_decref(index);
			index = NULL;
			sl_fail(err, SL_EINVAL, "%s is not a PKI index", path);
		}
	}
	free(data);
	free(path);
	return index;
}

int
pki_index_save(const char *dir, json_t *index, struct sl_err *err)
{
	char *path = pki_path(dir, "index.json"), *s = json_dumps(index, JSON_INDENT(2));
	int rc;

	if (path == NULL || s == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	else
		rc = sl_file_write(path, s, strlen(s), 0644, err);
	free(s);
	free(path);
	return rc;
}

json_t *
pki_index_find(json_t *index, const char *ca, const char *serial)
{
	json_t *certs = json_object_get(index, "certs"), *e;
	const char *s, *c;
	size_t i;

	json_array_foreach(certs, i, e)
	{
		s = json_string_value(json_object_get(e, "serial"));
		c = json_string_value(json_object_get(e, "ca"));
		if (s != NULL && strcmp(s, serial) == 0 && (ca == NULL || (c != NULL && strcmp(c, ca) == 0)))
			return e;
	}
	return NULL;
}

bool
pki_entry_revoked(json_t *entry)
{
	const char *s = json_string_value(json_object_get(entry, "status"));

	return s != NULL && strcmp(s, "revoked") == 0;
}

/* Unix seconds of an ASN1_TIME. */
static int64_t
asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
}

int
pki_index_add(json_t *index, X509 *cert, const char *serial, int ca, const char *kind, const char *document,
	struct sl_err *err)
{
	char *subject = pki_name_str(X509_get_subject_name(cert));
	json_t *e = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:I,s:s}", "serial", serial, "ca", pki_cas[ca].ci_name, "kind",
		kind, "subject", subject, "not_before", (json_int_t)asn1_unix(X509_get0_notBefore(cert)), "not_after",
		(json_int_t)asn1_unix(X509_get0_notAfter(cert)), "status", "good");
	int rc = SL_OK;

	if (e == NULL || (document != NULL && json_object_set_new(e, "document_number", json_string(document)) != 0) ||
		json_array_append(json_object_get(index, "certs"), e) != 0)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	json_decref(e);
	free(subject);
	return rc;
}

int
pki_index_update(
	const char *dir, int (*fn)(json_t *index, void *arg, struct sl_err *err), void *arg, struct sl_err *err)
{
	json_t *index = NULL;
	int fd, rc;

	if ((fd = pki_index_lock(dir, err)) < 0 || (index = pki_index_load(dir, err)) == NULL)
		rc = err ? err->code : SL_ERR;
	else if ((rc = fn(index, arg, err)) == SL_OK)
		rc = pki_index_save(dir, index, err);
	json_decref(index);
	pki_index_unlock(fd);
	return rc;
}

static const char *const reasons[] = { "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold" };

int
pki_reason_code(const char *name)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (name != NULL && strcmp(name, reasons[i]) == 0)
			return (int)i;
	return -1;
}

int
pki_revoke(const char *dir, const char *serial_hex, struct sl_err *err)
{
	char *serial = pki_serial_norm(serial_hex);
	json_t *index = NULL, *e;
	int fd = -1, rc;

	if (serial == NULL)
		return sl_fail(err, SL_EINVAL, "%s is not a hex serial number", serial_hex ? serial_hex : "(null)");
	if ((fd = pki_index_lock(dir, err)) < 0 || (index = pki_index_load(dir, err)) == NULL) {
		rc = err ? err->code : SL_ERR;
		goto out;
	}
	e = pki_index_find(index, NULL, serial);
	if (e == NULL) {
		rc = sl_fail(err, SL_ENOTFOUND, "no certificate with serial %s in %s/index.json", serial, dir);
	} else if (pki_entry_revoked(e)) {
		rc = sl_fail(err, SL_ECONFLICT, "certificate %s is already revoked", serial);
	} else {
		rc = json_object_set_new(e, "status", json_string("revoked")) ||
				     json_object_set_new(e, "revoked_at", json_integer(sl_now())) ||
				     json_object_set_new(e, "reason", json_string("keyCompromise"))
			     ? sl_fail(err, SL_ENOMEM, "out of memory")
			     : pki_index_save(dir, index, err);
	}
out:
	json_decref(index);
	pki_index_unlock(fd);
	free(serial);
	return rc;
}

/* ---- pki_init ---- */

struct pki_ext {
	int pe_nid;
	const char *pe_value;
};

static X509_NAME *
demo_name(const char *cn)
{
	X509_NAME *name = X509_NAME_new();

	if (name == NULL ||
		!X509_NAME_add_entry_by_NID(
			name, NID_countryName, MBSTRING_ASC, (const unsigned char *)"BE", -1, -1, 0) ||
		!X509_NAME_add_entry_by_NID(
			name, NID_organizationName, MBSTRING_UTF8, (const unsigned char *)PKI_ORG, -1, -1, 0) ||
		!X509_NAME_add_entry_by_NID(
			name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* A certificate for a new key of `cn`, signed by `issuer` (self-signed when
 * NULL); the certificate and key are written as DIR/base.pem and .key, and
 * the key is handed back in *out_key when that is not NULL. */
static X509 *
make_cert(const char *dir, const char *base, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int64_t not_after,
	const struct pki_ext *ext, size_t next, EVP_PKEY **out_key, struct sl_err *err)
{
	EVP_PKEY *pkey = pki_keygen(false);
	X509_NAME *name = demo_name(cn);
	X509 *cert = pkey && name ? pki_cert_new(pkey, name, sl_now() - 3600, not_after) : NULL;
	char *pem = NULL, *key = NULL, *cpath = NULL, *kpath = NULL;
	char *cname = file_name(base, ".pem"), *kname = file_name(base, ".key");
	int rc = cert ? SL_OK : SL_ECRYPTO;

	for (size_t i = 0; rc == SL_OK && i < next; i++)
		rc = x509_add_ext(cert, issuer ? issuer : cert, ext[i].pe_nid, ext[i].pe_value);
	if (rc == SL_OK)
		rc = pki_cert_sign(cert, issuer ? issuer : cert, issuer ? issuer_key : pkey);
	if (rc != SL_OK) {
		sl_fail(err, rc, "cannot make the certificate of %s", cn);
		goto out;
	}
	pem = pki_cert_pem(cert);
	key = pki_key_pem(pkey);
	cpath = cname ? pki_path(dir, cname) : NULL;
	kpath = kname ? pki_path(dir, kname) : NULL;
	if (pem == NULL || key == NULL || cpath == NULL || kpath == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc == SL_OK && (rc = sl_file_write(kpath, key, strlen(key), 0600, err)) == SL_OK)
		rc = sl_file_write(cpath, pem, strlen(pem), 0644, err);
out:
	if (rc != SL_OK) {
		X509_free(cert);
		cert = NULL;
	} else if (out_key != NULL) {
		*out_key = pkey;
		pkey = NULL;
	}
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	free(pem);
	free(cpath);
	free(kpath);
	free(cname);
	free(kname);
	X509_NAME_free(name);
	EVP_PKEY_free(pkey);
	return cert;
}

/* An issuing CA and its OCSP signer; an eID CA's PEM is appended to `trust`. */
static int
make_issuing(const char *dir, const struct pki_ca_info *ci, X509 *root, EVP_PKEY *root_key,
	const struct pki_settings *ps, struct sl_buf *trust, struct sl_err *err)
{
	char aia[PKI_URL_MAX + 64], cn[64], *pem = NULL;
	int64_t until = pki_add_years(sl_now(), 20);
	const struct pki_ext ca_ext[] = { { NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" }, { NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid" }, { NID_info_access, aia } };
	const struct pki_ext ocsp_ext[] = { { NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" }, { NID_ext_key_usage, "OCSPSigning" },
		{ NID_id_pkix_OCSP_noCheck, "ignored" }, { NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid" } };
	EVP_PKEY *ca_key = NULL;
	X509 *ca, *ocsp = NULL;
	int rc = SL_ECRYPTO;

	snprintf(aia, sizeof(aia), "caIssuers;URI:%s/root.crt", ps->ps_ca_issuers_base);
	snprintf(cn, sizeof(cn), "%s OCSP Responder", ci->ci_cn);
	ca = make_cert(dir, ci->ci_base, ci->ci_cn, root, root_key, until, ca_ext, 5, &ca_key, err);
	if (ca != NULL)
		ocsp = make_cert(dir, ci->ci_ocsp, cn, ca, ca_key, until, ocsp_ext, 6, NULL, err);
	if (ocsp != NULL && ci->ci_eid) {
		pem = pki_cert_pem(ca);
		rc = pem ? sl_buf_adds(trust, pem) : SL_ENOMEM;
		if (rc != SL_OK)
			sl_fail(err, rc, "out of memory");
	}
	free(pem);
	X509_free(ocsp);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return ocsp != NULL ? (ci->ci_eid ? rc : SL_OK) : (err ? err->code : SL_ERR);
}

/* http(s)://host[:port][/path], nothing that would need escaping in
 * OpenSSL's extension syntax. */
static bool
url_ok(const char *url)
{
	size_t len = url ? strlen(url) : 0;

	if (len < 8 || len > PKI_URL_MAX || !sl_str_printable(url, len))
		return false;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return false;
	return strpbrk(url, " ,\"\\") == NULL;
}

/* scheme://authority of a URL; malloc'd. */
static char *
url_origin(const char *url)
{
	const char *p = strstr(url, "://");
	const char *slash = p ? strchr(p + 3, '/') : NULL;

	return slash ? sl_strndup(url, (size_t)(slash - url)) : strdup(url);
}

static int
init_settings(const char *dir, const char *ocsp_url, const char *crl_base, struct pki_settings *ps, struct sl_err *err)
{
	char *path;
	int rc;

	if (!url_ok(ocsp_url))
		return sl_fail(err, SL_EINVAL, "the OCSP URL must be http(s)://... without spaces or commas");
	if (crl_base != NULL && !url_ok(crl_base))
		return sl_fail(err, SL_EINVAL, "the CRL base must be http(s)://... without spaces or commas");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sl_fail(err, SL_EIO, "cannot create %s: %s", dir, strerror(errno));
	for (size_t i = 0; i < 2; i++) {
		path = pki_path(dir, i == 0 ? "pki.json" : "root.key");
		rc = path == NULL ? SL_ENOMEM : access(path, F_OK) == 0 ? SL_ECONFLICT : SL_OK;
		free(path);
		if (rc != SL_OK)
			return sl_fail(err, rc, "%s already holds a PKI", dir);
	}
	ps->ps_ocsp_url = strdup(ocsp_url);
	if (crl_base != NULL) {
		ps->ps_crl_base = sl_strndup(crl_base, strlen(crl_base) - (crl_base[strlen(crl_base) - 1] == '/'));
		ps->ps_ca_issuers_base = ps->ps_crl_base ? strdup(ps->ps_crl_base) : NULL;
	} else {
		ps->ps_ca_issuers_base = url_origin(ocsp_url);
	}
	if (ps->ps_ocsp_url == NULL || ps->ps_ca_issuers_base == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	return SL_OK;
}

static int
write_json(const char *dir, const char *name, json_t *v, struct sl_err *err)
{
	char *path = pki_path(dir, name), *s = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
	int rc = path && s ? sl_file_write(path, s, strlen(s), 0644, err) : sl_fail(err, SL_ENOMEM, "out of memory");

	free(s);
	free(path);
	json_decref(v);
	return rc;
}

static int
write_trust(const char *dir, struct sl_buf *trust, struct sl_err *err)
{
	char *path = pki_path(dir, "trust.pem");
	int rc = path ? sl_file_write(path, trust->b_data, trust->b_len, 0644, err)
		      : sl_fail(err, SL_ENOMEM, "out of memory");

	free(path);
	return rc;
}

int
pki_init(const char *dir, const char *ocsp_url, const char *crl_base, struct sl_err *err)
{
	const struct pki_ext root_ext[] = { { NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" }, { NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" } };
	struct pki_settings ps = { 0 };
	struct sl_buf trust;
	EVP_PKEY *root_key = NULL;
	X509 *root = NULL;
	char *pem = NULL;
	int rc;

	sl_buf_init(&trust, 1 << 20);
	if ((rc = init_settings(dir, ocsp_url, crl_base, &ps, err)) != SL_OK)
		goto out;
	root = make_cert(
		dir, "root", PKI_ROOT_CN, NULL, NULL, pki_add_years(sl_now(), 25), root_ext, 4, &root_key, err);
	if (root == NULL) {
		rc = err ? err->code : SL_ERR;
		goto out;
	}
	pem = pki_cert_pem(root);
	if (pem == NULL || sl_buf_adds(&trust, pem) != SL_OK) {
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; rc == SL_OK && i < PKI_NCA; i++)
		rc = make_issuing(dir, &pki_cas[i], root, root_key, &ps, &trust, err);
	if (rc == SL_OK)
		rc = write_trust(dir, &trust, err);
	if (rc == SL_OK)
		rc = write_json(dir, "index.json", json_pack("{s:i,s:[]}", "version", 1, "certs"), err);
	/* pki.json last: its presence says the PKI is complete. */
	if (rc == SL_OK)
		rc = write_json(dir, "pki.json",
			json_pack("{s:s,s:s?,s:s}", "ocsp_url", ps.ps_ocsp_url, "crl_base", ps.ps_crl_base,
				"ca_issuers_base", ps.ps_ca_issuers_base),
			err);
out:
	free(pem);
	sl_buf_reset(&trust);
	X509_free(root);
	EVP_PKEY_free(root_key);
	pki_settings_clear(&ps);
	return rc;
}

/* ---- the Smart-ID CA of an older PKI ---- */

int
pki_smartid_ca_ensure(const char *dir, struct sl_err *err)
{
	struct pki_settings ps = { 0 };
	EVP_PKEY *root_key = NULL;
	X509 *root = NULL;
	int fd, rc = SL_OK;

	if (pki_ca_present(dir, PKI_CA_SMARTID))
		return SL_OK;
	if ((fd = pki_index_lock(dir, err)) < 0)
		return err ? err->code : SL_ERR;
	/* Another process may have made it while we waited for the lock. */
	if (!pki_ca_present(dir, PKI_CA_SMARTID)) {
		if ((rc = pki_settings_load(dir, &ps, err)) == SL_OK &&
			((root = pki_cert_load(dir, "root", err)) == NULL ||
				(root_key = pki_key_load(dir, "root", err)) == NULL))
			rc = err ? err->code : SL_ERR;
		if (rc == SL_OK)
			rc = make_issuing(dir, &pki_cas[PKI_CA_SMARTID], root, root_key, &ps, NULL, err);
	}
	pki_index_unlock(fd);
	EVP_PKEY_free(root_key);
	X509_free(root);
	pki_settings_clear(&ps);
	return rc;
}
