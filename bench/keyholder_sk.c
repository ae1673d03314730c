/*
 * keyholder_sk.c — what the split-key and PKI ops of the key holder cost
 * (src/keyholder/hold_sk.c, hold_pki.c; docs/security.md §11), against the
 * same work done in this process (what sleuteld did before them).
 *
 *   build/bench/bench_keyholder_sk [BITS] [ROUNDS]
 *
 * BITS is [smartid] key_bits (n1 and n2; 3072 in production, 1024 in the
 * tests).  Each figure is CPU time per operation, the bench process and
 * the key holder together (from /proc/PID/stat), so that other work on a
 * shared machine does not count; wall time beside it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../src/keyholder/keyholder.h"
#include "../src/crypto/crypto.h"

static const struct camo_params cheap = { 4, 1, 1 };
static uint8_t req[KH_PAYLOAD_MAX];

/* CPU µs used so far by this process and the key holder. */
static double
cpu_us(pid_t kh)
{
	struct rusage ru;
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	double us;

	getrusage(RUSAGE_SELF, &ru);
	us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)kh);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			us += (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
		fclose(f);
	}
	return us;
}

static void
die(const char *what, const struct sl_err *err)
{
	fprintf(stderr, "%s: %s\n", what, err->msg);
	exit(1);
}

static size_t
put(size_t len, const void *p, size_t n)
{
	if (kh_field_put(req, &len, p, n) != SL_OK)
		exit(1);
	return len;
}

/* Field i of a field list. */
static struct kh_field
field(const uint8_t *ans, size_t len, size_t n, size_t i)
{
	static const size_t max[] = { KH_PAYLOAD_MAX, KH_PAYLOAD_MAX, KH_PAYLOAD_MAX };
	struct kh_field f[3];
	struct sl_err err = { 0 };

	if (kh_fields_get(ans, len, n, max, NULL, f, &err) != SL_OK)
		die("answer", &err);
	return f[i];
}

struct account {
	struct sk_device_key dev;
	uint8_t *key;
	size_t keylen;
	BIGNUM *n;
	struct sk_params p;
};

/* A registration through the key holder; the seconds its keygen took. */
static double
account_make(struct keyholder *kh, int bits, struct account *a)
{
	struct sk_server_key to = { 0 };
	struct sl_err err = { 0 };
	uint8_t *ans = NULL, *blob = NULL, pub[P256_PUB_LEN];
	size_t anslen = 0, bloblen = 0, len;
	char kid[KH_KID_MAX] = "", *json;
	struct kh_field f;
	int64_t t0;

	a->p = (struct sk_params){ bits, bits, &cheap };
	if (keyholder_call(kh, KH_OP_SEAL_KEYS, NULL, NULL, 0, &ans, &anslen, &err) != SL_OK)
		die("seal keys", &err);
	len = 1 + ans[0] + P256_PUB_LEN; /* the current sealing key after the at-rest key */
	memcpy(kid, ans + len + 1, ans[len]);
	memcpy(pub, ans + len + 1 + ans[len], P256_PUB_LEN);
	free(ans);
	if (sk_device_keygen(&a->p, SK_INFO_AUTH, "1234", &a->dev, &to, &err) != SL_OK)
		die("device keygen", &err);
	json = sk_share_to_json(&to);
	sk_server_key_clear(&to);
	if (seal(pub, kid, (const uint8_t *)"smartid-share auth b", 20, (const uint8_t *)json, strlen(json), &blob,
		    &bloblen, &err) != SL_OK)
		die("seal", &err);
	free(json);
	len = put(put(put(0, "smartid-share auth b", 20), blob, bloblen), "r auth share", 12);
	free(blob);
	if (keyholder_call(kh, KH_OP_SK_SHARE, kid, req, len, &ans, &anslen, &err) != SL_OK)
		die("share", &err);
	f = field(ans, anslen, 1, 0);
	len = put(put(put(0, "r auth share", 12), f.kf_p, f.kf_len), "r auth", 6);
	free(ans);
	t0 = sl_monotonic_ms();
	if (keyholder_call(kh, KH_OP_SK_KEYGEN, NULL, req, len, &ans, &anslen, &err) != SL_OK)
		die("keygen", &err);
	t0 = sl_monotonic_ms() - t0;
	f = field(ans, anslen, 2, 0);
	a->key = malloc(f.kf_len);
	memcpy(a->key, f.kf_p, f.kf_len);
	a->keylen = f.kf_len;
	f = field(ans, anslen, 2, 1);
	a->n = BN_bin2bn(f.kf_p, (int)f.kf_len, NULL);
	free(ans);
	return (double)t0 / 1000.0;
}

/* One completion at the device's next version; the key advanced. */
static void
complete_once(struct keyholder *kh, struct account *a)
{
	struct sl_err err = { 0 };
	uint8_t hash[32] = { 1 }, *em = NULL, *part = NULL, vb[8], *ans = NULL;
	size_t emlen = 0, partlen = 0, anslen = 0, len;
	uint64_t v = 0;
	struct kh_field f;

	if (sk_encode(a->n, SK_PKCS1, "SHA256", hash, sizeof(hash), &em, &emlen, &err) != SL_OK ||
		sk_device_sign(&a->dev, "1234", &a->p, em, emlen, &v, &part, &partlen, &err) != SL_OK)
		die("device", &err);
	for (int i = 0; i < 8; i++)
		vb[i] = (uint8_t)(v >> (56 - 8 * i));
	len = put(put(put(put(put(put(0, "r auth", 6), a->key, a->keylen), "r auth", 6), em, emlen), vb, 8), part,
		partlen);
	if (keyholder_call(kh, KH_OP_SK_COMPLETE, NULL, req, len, &ans, &anslen, &err) != SL_OK || ans[0] != SK_OK)
		die("complete", &err);
	f = field(ans + 1, anslen - 1, 3, 1);
	memcpy(a->key, f.kf_p, f.kf_len);
	a->keylen = f.kf_len;
	free(ans);
	free(em);
	OPENSSL_clear_free(part, partlen);
}

/* The device's part of a completion alone (what the bench does beside the
 * key holder's work, to subtract), on a copy of the device that never
 * sends. */
static void
device_once(struct account *a)
{
	struct sl_err err = { 0 };
	uint8_t hash[32] = { 1 }, *em = NULL, *part = NULL;
	size_t emlen = 0, partlen = 0;
	uint64_t v = 0;

	if (sk_encode(a->n, SK_PKCS1, "SHA256", hash, sizeof(hash), &em, &emlen, &err) != SL_OK ||
		sk_device_sign(&a->dev, "1234", &a->p, em, emlen, &v, &part, &partlen, &err) != SL_OK)
		die("device", &err);
	free(em);
	OPENSSL_clear_free(part, partlen);
}

static void
open_once(struct keyholder *kh, struct account *a)
{
	struct sl_err err = { 0 };
	uint8_t *ans = NULL;
	size_t anslen = 0, len = put(put(0, "r auth", 6), a->key, a->keylen);

	if (keyholder_call(kh, KH_OP_SK_OPEN, NULL, req, len, &ans, &anslen, &err) != SL_OK)
		die("open", &err);
	free(ans);
}

/* An OCSP-sized to-be-signed DER (a certificate's, which the key holder
 * parses the same way) signed by smartid-ca; `local` signs in-process. */
static void
pki_once(struct keyholder *kh, const uint8_t *tbs, size_t len, EVP_PKEY *local)
{
	struct sl_err err = { 0 };
	uint8_t *sig = NULL, buf[512];
	size_t siglen = sizeof(buf);
	EVP_PKEY *tmp;

	if (local != NULL) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (EVP_DigestSignInit_ex(md, NULL, "SHA384", NULL, NULL, local, NULL) != 1 ||
			EVP_DigestSign(md, buf, &siglen, tbs, len) != 1)
			exit(1);
		EVP_MD_CTX_free(md);
		return;
	}
	/* sleuteld's side: the throwaway key that sets the algorithms
	 * (src/pki/extsign.c), then the round trip. */
	tmp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY_free(tmp);
	if (keyholder_pki_sign(kh, "smartid-ca", KH_PKI_CERT, tbs, len, &sig, &siglen, &err) != SL_OK)
		die("pki sign", &err);
	free(sig);
}

static size_t
cert_tbs(EVP_PKEY *k, unsigned char **der)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	int n;

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha384());
	n = i2d_re_X509_tbs(x, der);
	X509_free(x);
	X509_NAME_free(name);
	return n > 0 ? (size_t)n : 0;
}

/* Remove the flat directory the bench made (its ini and the keys). */
static int
rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return rmdir(dir) == 0 ? 0 : 1;
}

#define MEASURE(label, rounds, stmt)                                                                                   \
	do {                                                                                                           \
		double c0 = cpu_us(keyholder_pid(kh));                                                                 \
		int64_t w0 = sl_monotonic_ms();                                                                        \
		for (int i_ = 0; i_ < (rounds); i_++) {                                                                \
			stmt;                                                                                          \
		}                                                                                                      \
		printf("%-44s %9.1f us CPU %9.1f us wall\n", label, (cpu_us(keyholder_pid(kh)) - c0) / (rounds),       \
			(double)(sl_monotonic_ms() - w0) * 1000.0 / (rounds));                                         \
	} while (0)

int
main(int argc, char **argv)
{
	int bits = argc > 1 ? atoi(argv[1]) : 3072, rounds = argc > 2 ? atoi(argv[2]) : 50;
	char dir[] = "/tmp/kh-sk-bench-XXXXXX", path[256], text[512], exe[] = SL_BENCH_BUILDDIR "/sleuteld";
	struct sl_err err = { 0 };
	struct account a = { 0 };
	struct keyholder *kh;
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	unsigned char *tbs = NULL;
	size_t tbslen;
	FILE *fp;

	if (bits < SK_BITS_MIN || bits > SK_BITS_MAX || bits % 256 != 0 || rounds < 1 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/smartid-ca.key", dir);
	if ((fp = fopen(path, "w")) == NULL || PEM_write_PrivateKey(fp, ca, NULL, NULL, 0, NULL, NULL) != 1)
		return 1;
	fclose(fp);
	snprintf(path, sizeof(path), "%s/sleutel.ini", dir);
	snprintf(text, sizeof(text),
		"[server]\nissuer = https://kh.example\ntls = false\n[eid]\nenabled = false\n"
		"[keys]\ndir = %s\n[pki]\ndir = %s\n[smartid]\nkey_bits = %d\n[log]\nlevel = error\n",
		dir, dir, bits);
	sl_file_write(path, text, strlen(text), 0600, &err);
	if ((kh = keyholder_start(exe, path, 1, &err)) == NULL)
		die("start", &err);

	printf("key_bits %d, %d rounds\n", bits, rounds);
	printf("%-44s %9.3f s wall\n", "SK_KEYGEN (one, in a key holder child)", account_make(kh, bits, &a));
	MEASURE("SK_OPEN (public part)", rounds, open_once(kh, &a));
	{
		struct account copy = a;
		char *dj = sk_device_key_to_json(&a.dev);
		if (dj == NULL || sk_device_key_from_json(dj, &copy.dev, &err) != SL_OK)
			die("device copy", &err);
		free(dj);
		MEASURE("device part alone (sk_encode + sk_device_sign)", rounds, device_once(&copy));
		sk_device_key_clear(&copy.dev);
	}
	MEASURE("device part + SK_COMPLETE", rounds, complete_once(kh, &a));
	tbslen = cert_tbs(ca, &tbs);
	MEASURE("in-process ECDSA P-384 sign of a TBS", rounds * 10, pki_once(kh, tbs, tbslen, ca));
	MEASURE("PKI_SIGN + throwaway P-384 key", rounds * 10, pki_once(kh, tbs, tbslen, NULL));
	OPENSSL_free(tbs);
	keyholder_stop(kh);
	EVP_PKEY_free(ca);
	sk_device_key_clear(&a.dev);
	free(a.key);
	BN_free(a.n);
	return rm_flat(dir);
}
