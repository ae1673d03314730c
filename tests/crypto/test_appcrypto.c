/*
 * test_appcrypto.c — the security core of the sleutel app key: the
 * camouflaged confirmation key, sealing, and the bytes a confirmation signs
 * (PROTOCOL.md, test obligations 1-3).
 *
 * Known answers were computed once, outside this code, with Python's
 * hashlib (scrypt, HMAC-SHA256 for HKDF, SHA-256) and struct.pack('>H'),
 * following PROTOCOL.md; they are hard-coded so that neither the key
 * derivation nor the signed encoding can drift unnoticed.  Refusals always
 * have a control showing that the same set-up is accepted when unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "../../src/crypto/crypto.h"

#define NCODES 100000

/* ---- helpers ---- */

static void
pub_of(EVP_PKEY *key, uint8_t pub[P256_PUB_LEN])
{
	size_t n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, P256_PUB_LEN, &n), 1);
	assert_int_equal(n, P256_PUB_LEN);
}

/* A new P-256 key; its public point in `pub` unless that is NULL. */
static EVP_PKEY *
p256_new(uint8_t pub[P256_PUB_LEN])
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(key);
	if (pub != NULL)
		pub_of(key, pub);
	return key;
}

static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned int v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A fixed confirmation; the known answer below is for exactly these. */
static struct confirm_fields
fields_fixed(void)
{
	struct confirm_fields f = {
		.cf_request_id = "req-123",
		.cf_rp_id = "https://rp.example",
		.cf_rp_display_name = "Bank Voorbeeld",
		.cf_action = "payment",
		.cf_display_text = "Betaal \xe2\x82\xac"
				   "12,50 aan Voorbeeld",
		.cf_verification_code = "42",
		.cf_server_nonce = "nonce-xyz",
		.cf_decision = "approve",
		.cf_device_id = "dev-1",
	};
	return f;
}

/* The i-th of the nine fields (0..8, in signing order). */
static const char **
field_slot(struct confirm_fields *f, int i)
{
	switch (i) {
	case 0: return &f->cf_request_id;
	case 1: return &f->cf_rp_id;
	case 2: return &f->cf_rp_display_name;
	case 3: return &f->cf_action;
	case 4: return &f->cf_display_text;
	case 5: return &f->cf_verification_code;
	case 6: return &f->cf_server_nonce;
	case 7: return &f->cf_decision;
	default: return &f->cf_device_id;
	}
}

/* Sign arbitrary bytes with ECDSA P-256/SHA-256, bypassing confirm_bytes. */
static void
raw_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[CONFIRM_SIG_MAX], size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	*siglen = CONFIRM_SIG_MAX;
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, sig, siglen, msg, len), 1);
	EVP_MD_CTX_free(md);
}

static int
sign_verify(EVP_PKEY *signer, EVP_PKEY *verifier, const struct confirm_fields *f)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	struct sl_err err;
	int rc;

	assert_int_equal(confirm_sign(signer, f, &sig, &siglen, &err), SL_OK);
	rc = confirm_verify(verifier, f, sig, siglen);
	free(sig);
	return rc;
}

/* ---- camouflage ---- */

static void
test_camo_code_ok(void **state)
{
	(void)state;
	assert_true(camo_code_ok("00000"));
	assert_true(camo_code_ok("99999"));
	assert_false(camo_code_ok(NULL));
	assert_false(camo_code_ok(""));
	assert_false(camo_code_ok("1234"));
	assert_false(camo_code_ok("123456"));
	assert_false(camo_code_ok("12a45"));
	assert_false(camo_code_ok("1234 "));
	assert_false(camo_code_ok("\xd9\xa1"
				  "2345")); /* Arabic-Indic one */
}

static void
test_camo_params(void **state)
{
	const struct camo_params bad[] = {
		{ 0, 1, 1 }, /* N = 1 */
		{ 25, 1, 1 }, /* N too large */
		{ 4, 0, 1 },
		{ 4, 1, 0 },
		{ 20, 16, 1 }, /* 2 GiB of memory */
		{ 4, 1, 0x7fffffff },
	};
	const struct camo_params cheap = { 4, 1, 1 };
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN], pub[P256_PUB_LEN];
	struct sl_err err;

	(void)state;
	assert_int_equal(camo_default_params.cp_log2n, 15);
	assert_int_equal(camo_default_params.cp_r, 8);
	assert_int_equal(camo_default_params.cp_p, 1);
	assert_int_equal(camo_params_check(&camo_default_params, &err), SL_OK);
	assert_int_equal(camo_params_check(&cheap, &err), SL_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(camo_params_check(&bad[i], &err), SL_OK);
		assert_int_not_equal(camo_make("12345", &bad[i], c, salt, pub, &err), SL_OK);
	}
}

/* Code strings: any non-empty string up to CAMO_CODE_MAX bytes opens. */
static void
test_camo_code_strings(void **state)
{
	const struct camo_params cheap = { 4, 1, 1 };
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN], pub[P256_PUB_LEN], got[P256_PUB_LEN];
	char longcode[CAMO_CODE_MAX + 2];
	EVP_PKEY *key = NULL;
	struct sl_err err;

	(void)state;
	assert_int_not_equal(camo_make(NULL, &cheap, c, salt, pub, &err), SL_OK);
	assert_int_not_equal(camo_make("", &cheap, c, salt, pub, &err), SL_OK);
	memset(longcode, '7', sizeof(longcode) - 1);
	longcode[sizeof(longcode) - 1] = '\0';
	assert_int_equal(camo_make(longcode, &cheap, c, salt, pub, &err), SL_EINVAL);
	longcode[CAMO_CODE_MAX] = '\0'; /* exactly the maximum */
	assert_int_equal(camo_make(longcode, &cheap, c, salt, pub, &err), SL_OK);

	/* A PIN-like passphrase shares the construction. */
	assert_int_equal(camo_make("hunter2 \xc3\xa9", &cheap, c, salt, pub, &err), SL_OK);
	assert_int_equal(camo_open(c, salt, &cheap, "hunter2 \xc3\xa9", &key, &err), SL_OK);
	pub_of(key, got);
	assert_memory_equal(got, pub, P256_PUB_LEN);
	EVP_PKEY_free(key);
	assert_int_not_equal(camo_open(c, salt, &cheap, "", &key, &err), SL_OK);
	assert_null(key);
	assert_int_not_equal(camo_open(c, salt, &cheap, NULL, &key, &err), SL_OK);
	assert_null(key);
}

/*
 * k(code) against values computed with Python:
 *   ikm = hashlib.scrypt(code, salt=bytes(range(16)), n=2**log2n, r=r, p=p, dklen=32)
 *   okm = HKDF-SHA256(ikm, salt=b'', info=b'sleutel confirm v1', L=48)  (RFC 5869 via hmac)
 *   k   = int.from_bytes(okm, 'big') % n_P256, as 32 big-endian bytes
 * and deterministic: the same code and salt give the same scalar and key.
 */
static void
test_camo_known_answer(void **state)
{
	const struct camo_params cheap = { 4, 1, 1 };
	const struct {
		const char *code;
		const struct camo_params *p;
		const char *k;
	} kat[] = {
		{ "12345", &cheap, "818586f00a4edb3fa5ea6bc891339d2e731b5ecd25b751cabb802ee30dfdbdaa" },
		{ "00000", &cheap, "61ddd5ac106a72ccd3ea4beb7043d8dacf71bbb4d036797abc8f8b62b16be439" },
		{ "12345", NULL, "14063835d652d5d893a1d451e63c38472f4b9d14bcb233037f57252fe23ba98b" },
	};
	uint8_t salt[CAMO_SALT_LEN], k[P256_SCALAR_LEN], k2[P256_SCALAR_LEN], want[P256_SCALAR_LEN];
	uint8_t c[P256_SCALAR_LEN] = { 0 }, pub1[P256_PUB_LEN], pub2[P256_PUB_LEN];
	EVP_PKEY *key;
	struct sl_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		unhex(kat[i].k, want, sizeof(want));
		assert_int_equal(camo_code_scalar(kat[i].code, salt, kat[i].p, k, &err), SL_OK);
		assert_memory_equal(k, want, sizeof(want));
		assert_int_equal(camo_code_scalar(kat[i].code, salt, kat[i].p, k2, &err), SL_OK);
		assert_memory_equal(k2, k, sizeof(k));
	}
	/* With c = 0 the opened key is k(code) itself: twice the same. */
	assert_int_equal(camo_open(c, salt, &cheap, "12345", &key, &err), SL_OK);
	pub_of(key, pub1);
	EVP_PKEY_free(key);
	assert_int_equal(camo_open(c, salt, &cheap, "12345", &key, &err), SL_OK);
	pub_of(key, pub2);
	EVP_PKEY_free(key);
	assert_memory_equal(pub1, pub2, P256_PUB_LEN);
	/* Another salt, another scalar. */
	salt[0] ^= 1;
	assert_int_equal(camo_code_scalar("12345", salt, &cheap, k, &err), SL_OK);
	unhex(kat[0].k, want, sizeof(want));
	assert_memory_not_equal(k, want, sizeof(want));
}

/*
 * camo_make writes c, the salt and Q and nothing else (guard bytes around
 * each output stay untouched), and two enrolments with the same code share
 * nothing: d and the salt are fresh each time.  The phone's state is c and
 * the salt: camo_open takes nothing else, so nothing else on the phone can
 * depend on the code.
 */
static void
test_camo_make_outputs(void **state)
{
	struct {
		uint8_t g0[8];
		uint8_t c[P256_SCALAR_LEN];
		uint8_t g1[8];
		uint8_t salt[CAMO_SALT_LEN];
		uint8_t g2[8];
		uint8_t pub[P256_PUB_LEN];
		uint8_t g3[8];
	} o[2];
	const struct camo_params cheap = { 4, 1, 1 };
	uint8_t guard[8];
	EVP_PKEY *q;
	struct sl_err err;

	(void)state;
	memset(o, 0xa5, sizeof(o));
	memset(guard, 0xa5, sizeof(guard));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(camo_make("12345", &cheap, o[i].c, o[i].salt, o[i].pub, &err), SL_OK);
		assert_memory_equal(o[i].g0, guard, 8);
		assert_memory_equal(o[i].g1, guard, 8);
		assert_memory_equal(o[i].g2, guard, 8);
		assert_memory_equal(o[i].g3, guard, 8);
		assert_int_equal(o[i].pub[0], 0x04);
		q = p256_public_from_bytes(o[i].pub, &err);
		assert_non_null(q);
		EVP_PKEY_free(q);
	}
	assert_memory_not_equal(o[0].c, o[1].c, P256_SCALAR_LEN);
	assert_memory_not_equal(o[0].salt, o[1].salt, CAMO_SALT_LEN);
	assert_memory_not_equal(o[0].pub, o[1].pub, P256_PUB_LEN);
}

/*
 * PROTOCOL.md obligation 1: every one of the 10^5 codes opens the state to a
 * valid scalar; only the right one gives Q.  scrypt runs with N = 2^4, r = 1
 * so that 10^5 opens take seconds: the property is structural (c + k(code)
 * mod n is a scalar for every code, whatever the KDF's cost) and does not
 * depend on the cost; test_camo_production covers the real parameters.
 *
 * Worker threads (which also shows camo_open shares no state) open every
 * code and run OpenSSL's private-key check (1 <= d' < n) on each key; they
 * only record, the asserts are made here.  All 10^5 public keys are then
 * compared with Q (only the right code matches, and no two codes share a
 * key).  The right code and every 37th wrong one (2 703) are opened again,
 * pass the pairwise check (the public point is d'*G) and sign, and the
 * signature is checked against Q as the server would.  Most of the time is
 * OpenSSL's EC work in camo_open (EVP_PKEY_fromdata, d'*G), not scrypt.
 */
#define OPEN_THREADS_MAX 8

struct open_job {
	const uint8_t *oj_c, *oj_salt;
	const struct camo_params *oj_params;
	uint8_t (*oj_pubs)[P256_PUB_LEN];
	int oj_from, oj_to; /* codes [from, to) */
	int oj_failed; /* how many codes did not open to a valid key */
	int oj_first; /* the first of them, or -1 */
};

static void *
open_worker(void *arg)
{
	struct open_job *oj = arg;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *key;
	struct sl_err err;
	char code[16];
	size_t n;
	bool ok;

	for (int i = oj->oj_from; i < oj->oj_to; i++) {
		snprintf(code, sizeof(code), "%05d", i);
		key = NULL;
		pctx = NULL;
		ok = camo_code_ok(code) && camo_open(oj->oj_c, oj->oj_salt, oj->oj_params, code, &key, &err) == SL_OK &&
		     p256_is(key) && (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) != NULL &&
		     EVP_PKEY_private_check(pctx) == 1 &&
		     EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, oj->oj_pubs[i], P256_PUB_LEN, &n) ==
			     1 &&
		     n == P256_PUB_LEN;
		if (!ok && oj->oj_failed++ == 0)
			oj->oj_first = i;
		EVP_PKEY_CTX_free(pctx);
		EVP_PKEY_free(key);
	}
	return NULL;
}

static int
pubcmp(const void *a, const void *b)
{
	return memcmp(a, b, P256_PUB_LEN);
}

static void
test_camo_all_codes(void **state)
{
	const struct camo_params cheap = { 4, 1, 1 };
	const int right = 31416;
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN], q[P256_PUB_LEN], got[P256_PUB_LEN];
	uint8_t(*pubs)[P256_PUB_LEN] = calloc(NCODES, sizeof(*pubs));
	struct open_job jobs[OPEN_THREADS_MAX];
	pthread_t tids[OPEN_THREADS_MAX];
	int joined[OPEN_THREADS_MAX];
	int made = 0;
	struct confirm_fields f = fields_fixed();
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu < 1 ? 1 : ncpu > OPEN_THREADS_MAX ? OPEN_THREADS_MAX : (int)ncpu;
	int nsigned = 0;
	EVP_PKEY *qkey, *key;
	EVP_PKEY_CTX *pctx;
	struct timespec t0;
	struct sl_err err;
	char code[16];

	(void)state;
	assert_non_null(pubs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(code, sizeof(code), "%05d", right);
	assert_int_equal(camo_make(code, &cheap, c, salt, q, &err), SL_OK);
	qkey = p256_public_from_bytes(q, &err);
	assert_non_null(qkey);
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct open_job){ c, salt, &cheap, pubs, NCODES / nthreads * t,
			t == nthreads - 1 ? NCODES : NCODES / nthreads * (t + 1), 0, -1 };
		if (pthread_create(&tids[t], NULL, open_worker, &jobs[t]) != 0)
			break;
		made++;
	}
	/*
	 * Join every worker made before any assertion: a failed assertion
	 * leaves the test at once (cmocka's longjmp), and a worker still
	 * running would go on writing to this frame's jobs[] and, once the
	 * process exits, call OpenSSL after OPENSSL_cleanup() has freed its
	 * locks (the allocation sweep's crashes, docs/faults.md).
	 */
	for (int t = 0; t < made; t++)
		joined[t] = pthread_join(tids[t], NULL);
	assert_int_equal(made, nthreads);
	for (int t = 0; t < nthreads; t++) {
		assert_int_equal(joined[t], 0);
		if (jobs[t].oj_failed != 0)
			fail_msg("%d codes did not open, the first %05d", jobs[t].oj_failed, jobs[t].oj_first);
	}
	for (int i = 0; i < NCODES; i++)
		assert_int_equal(memcmp(pubs[i], q, P256_PUB_LEN) == 0, i == right);

	for (int i = 0; i < NCODES; i++) {
		if (i != right && i % 37 != 0)
			continue;
		snprintf(code, sizeof(code), "%05d", i);
		assert_int_equal(camo_open(c, salt, &cheap, code, &key, &err), SL_OK);
		pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
		assert_non_null(pctx);
		assert_int_equal(EVP_PKEY_pairwise_check(pctx), 1);
		EVP_PKEY_CTX_free(pctx);
		pub_of(key, got);
		assert_memory_equal(got, pubs[i], P256_PUB_LEN); /* deterministic */
		f.cf_verification_code = code;
		assert_int_equal(sign_verify(key, qkey, &f), i == right ? SL_OK : SL_EDENIED);
		EVP_PKEY_free(key);
		nsigned++;
	}
	assert_true(nsigned > 2700);

	qsort(pubs, NCODES, sizeof(*pubs), pubcmp);
	for (int i = 1; i < NCODES; i++)
		assert_int_not_equal(memcmp(pubs[i - 1], pubs[i], P256_PUB_LEN), 0);
	print_message("[          ] %d codes opened on %d threads, %d signed, in %.1f s\n", NCODES, nthreads, nsigned,
		elapsed(&t0));
	EVP_PKEY_free(qkey);
	free(pubs);
}

/* The production parameters: the right code verifies, a wrong one opens
 * (to another valid key) but does not. */
static void
test_camo_production(void **state)
{
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN], q[P256_PUB_LEN], got[P256_PUB_LEN];
	struct confirm_fields f = fields_fixed();
	EVP_PKEY *qkey, *key;
	EVP_PKEY_CTX *pctx;
	struct timespec t0;
	struct sl_err err;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(camo_make("27182", NULL, c, salt, q, &err), SL_OK);
	assert_int_equal(camo_make("27182", &camo_default_params, c, salt, q, &err), SL_OK);
	qkey = p256_public_from_bytes(q, &err);
	assert_non_null(qkey);

	assert_int_equal(camo_open(c, salt, NULL, "27182", &key, &err), SL_OK);
	pub_of(key, got);
	assert_memory_equal(got, q, P256_PUB_LEN);
	assert_int_equal(sign_verify(key, qkey, &f), SL_OK);
	EVP_PKEY_free(key);

	assert_int_equal(camo_open(c, salt, &camo_default_params, "27183", &key, &err), SL_OK);
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	assert_int_equal(EVP_PKEY_check(pctx), 1);
	EVP_PKEY_CTX_free(pctx);
	pub_of(key, got);
	assert_memory_not_equal(got, q, P256_PUB_LEN);
	assert_int_equal(sign_verify(key, qkey, &f), SL_EDENIED);
	EVP_PKEY_free(key);
	EVP_PKEY_free(qkey);
	print_message("[          ] production parameters: 4 scrypt runs in %.2f s\n", elapsed(&t0));
}

/* A damaged state (c >= n, or all ones) still opens: nothing fails on
 * content the code could influence. */
static void
test_camo_odd_state(void **state)
{
	const struct camo_params cheap = { 4, 1, 1 };
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN] = { 0 };
	EVP_PKEY *key;
	struct sl_err err;

	(void)state;
	memset(c, 0xff, sizeof(c));
	assert_int_equal(camo_open(c, salt, &cheap, "55555", &key, &err), SL_OK);
	assert_true(p256_is(key));
	EVP_PKEY_free(key);
	memset(c, 0, sizeof(c));
	assert_int_equal(camo_open(c, salt, &cheap, "55555", &key, &err), SL_OK);
	EVP_PKEY_free(key);
}

/* ---- P-256 public keys ---- */

static void
test_p256_public(void **state)
{
	uint8_t pub[P256_PUB_LEN], bad[P256_PUB_LEN];
	EVP_PKEY *key = p256_new(pub), *k2, *other;
	struct sl_err err;

	(void)state;
	k2 = p256_public_from_bytes(pub, &err);
	assert_non_null(k2);
	assert_true(p256_is(k2));
	/* The same point on a group copied from another P-256 key. */
	other = p256_public_like(key, pub, &err);
	assert_non_null(other);
	assert_true(p256_is(other));
	assert_int_equal(EVP_PKEY_eq(k2, other), 1);
	EVP_PKEY_free(other);
	EVP_PKEY_free(k2);
	/* Each bad point is refused by both ways of making the key. */
	memcpy(bad, pub, sizeof(bad));
	bad[P256_PUB_LEN - 1] ^= 1; /* y + 1: off the curve */
	assert_null(p256_public_from_bytes(bad, &err));
	assert_null(p256_public_like(key, bad, &err));
	memcpy(bad, pub, sizeof(bad));
	bad[0] = 0x02; /* compressed and hybrid forms are refused */
	assert_null(p256_public_from_bytes(bad, &err));
	assert_null(p256_public_like(key, bad, &err));
	bad[0] = 0x06;
	assert_null(p256_public_from_bytes(bad, &err));
	assert_null(p256_public_like(key, bad, &err));
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x04;
	assert_null(p256_public_from_bytes(bad, &err));
	assert_null(p256_public_like(key, bad, &err));
	memset(bad, 0xff, sizeof(bad)); /* coordinates >= p */
	bad[0] = 0x04;
	assert_null(p256_public_from_bytes(bad, &err));
	assert_null(p256_public_like(key, bad, &err));
	{
		/* x = p exactly (y of a real point): one past the field */
		static const uint8_t p[32] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		memcpy(bad, pub, sizeof(bad));
		memcpy(bad + 1, p, sizeof(p));
		assert_null(p256_public_from_bytes(bad, &err));
		assert_null(p256_public_like(key, bad, &err));
	}
	assert_null(p256_public_from_bytes(NULL, &err));
	assert_null(p256_public_like(key, NULL, &err));
	assert_null(p256_public_like(NULL, pub, &err));

	other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_null(p256_public_like(other, pub, &err)); /* not a P-256 key to copy from */
	assert_non_null(other);
	assert_false(p256_is(other));
	assert_false(p256_is(NULL));
	assert_true(p256_is(key));
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}

/* ---- sealing ---- */

struct seal_fixture {
	EVP_PKEY *sf_key;
	uint8_t sf_pub[P256_PUB_LEN];
	uint8_t *sf_blob;
	size_t sf_len;
};

static const char sealed_msg[] = "a DER signature would travel here";
static const char req_id[] = "req-0001";

static void
sealed_new(struct seal_fixture *sf, size_t plainlen)
{
	struct sl_err err;

	sf->sf_key = p256_new(sf->sf_pub);
	assert_int_equal(seal(sf->sf_pub, "dev-key-1", (const uint8_t *)req_id, strlen(req_id),
				 (const uint8_t *)sealed_msg, plainlen, &sf->sf_blob, &sf->sf_len, &err),
		SL_OK);
	assert_int_equal(sf->sf_len, SEAL_OVERHEAD + plainlen);
}

static int
unseal_rc(EVP_PKEY *key, const char *kid, const char *aad, const uint8_t *blob, size_t len)
{
	uint8_t *plain = NULL;
	size_t plainlen = 1;
	struct sl_err err;
	int rc;

	rc = unseal(key, kid, (const uint8_t *)aad, strlen(aad), blob, len, &plain, &plainlen, &err);
	if (rc == SL_OK) {
		assert_int_equal(plainlen, strlen(sealed_msg));
		assert_memory_equal(plain, sealed_msg, plainlen);
	} else {
		assert_null(plain);
		assert_int_equal(plainlen, 0);
	}
	free(plain);
	return rc;
}

static void
test_seal_roundtrip(void **state)
{
	struct seal_fixture sf;
	uint8_t *blob2, *plain, *big;
	size_t len2, plainlen;
	struct sl_err err;

	(void)state;
	sealed_new(&sf, strlen(sealed_msg));
	assert_int_equal(sf.sf_blob[0], SEAL_VERSION);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_OK);
	/* No plaintext in the clear, and a fresh ephemeral key and nonce each time. */
	assert_null(memmem(sf.sf_blob, sf.sf_len, "signature", 9));
	assert_int_equal(seal(sf.sf_pub, "dev-key-1", (const uint8_t *)req_id, strlen(req_id),
				 (const uint8_t *)sealed_msg, strlen(sealed_msg), &blob2, &len2, &err),
		SL_OK);
	assert_int_equal(len2, sf.sf_len);
	assert_memory_not_equal(blob2 + 1, sf.sf_blob + 1, P256_PUB_LEN + SEAL_NONCE_LEN);
	free(blob2);

	/* Empty and maximum-size plaintexts; one byte more is refused. */
	big = calloc(1, SEAL_PLAIN_MAX + 1);
	assert_non_null(big);
	assert_int_equal(seal(sf.sf_pub, "k", (const uint8_t *)"r", 1, NULL, 0, &blob2, &len2, &err), SL_OK);
	assert_int_equal(unseal(sf.sf_key, "k", (const uint8_t *)"r", 1, blob2, len2, &plain, &plainlen, &err), SL_OK);
	assert_int_equal(plainlen, 0);
	free(plain);
	free(blob2);
	assert_int_equal(
		seal(sf.sf_pub, "k", (const uint8_t *)"r", 1, big, SEAL_PLAIN_MAX, &blob2, &len2, &err), SL_OK);
	assert_int_equal(unseal(sf.sf_key, "k", (const uint8_t *)"r", 1, blob2, len2, &plain, &plainlen, &err), SL_OK);
	assert_int_equal(plainlen, SEAL_PLAIN_MAX);
	free(plain);
	free(blob2);
	assert_int_equal(seal(sf.sf_pub, "k", (const uint8_t *)"r", 1, big, SEAL_PLAIN_MAX + 1, &blob2, &len2, &err),
		SL_ETOOBIG);
	assert_null(blob2);
	free(big);
	free(sf.sf_blob);
	EVP_PKEY_free(sf.sf_key);
}

/* Obligation 2: only the server key, the right kid and the right request id. */
static void
test_seal_binding(void **state)
{
	struct seal_fixture sf;
	EVP_PKEY *other = p256_new(NULL), *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t *plain = NULL, *blob = NULL, badpub[P256_PUB_LEN];
	size_t plainlen, len;
	char longkid[SEAL_KID_MAX + 2];
	struct sl_err err;

	(void)state;
	sealed_new(&sf, strlen(sealed_msg));
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_OK);
	assert_int_equal(unseal_rc(other, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_EDENIED);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-2", req_id, sf.sf_blob, sf.sf_len), SL_EDENIED);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-", req_id, sf.sf_blob, sf.sf_len), SL_EDENIED);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", "req-0002", sf.sf_blob, sf.sf_len), SL_EDENIED);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", "req-000", sf.sf_blob, sf.sf_len), SL_EDENIED);
	assert_int_equal(unseal_rc(p384, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_EINVAL);
	assert_int_equal(
		unseal(sf.sf_key, "dev-key-1", NULL, 0, sf.sf_blob, sf.sf_len, &plain, &plainlen, &err), SL_EINVAL);
	assert_int_equal(unseal(sf.sf_key, "", (const uint8_t *)req_id, strlen(req_id), sf.sf_blob, sf.sf_len, &plain,
				 &plainlen, &err),
		SL_EINVAL);
	assert_int_equal(unseal(NULL, "dev-key-1", (const uint8_t *)req_id, strlen(req_id), sf.sf_blob, sf.sf_len,
				 &plain, &plainlen, &err),
		SL_EINVAL);

	/* The sealing side refuses what it cannot bind. */
	memset(longkid, 'k', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	assert_int_equal(seal(sf.sf_pub, longkid, (const uint8_t *)"r", 1, (const uint8_t *)"x", 1, &blob, &len, &err),
		SL_EINVAL);
	longkid[SEAL_KID_MAX] = '\0';
	assert_int_equal(
		seal(sf.sf_pub, longkid, (const uint8_t *)"r", 1, (const uint8_t *)"x", 1, &blob, &len, &err), SL_OK);
	free(blob);
	assert_int_equal(seal(sf.sf_pub, "k", NULL, 0, (const uint8_t *)"x", 1, &blob, &len, &err), SL_EINVAL);
	assert_int_equal(seal(sf.sf_pub, "k", (const uint8_t *)"r", SEAL_AAD_MAX + 1, (const uint8_t *)"x", 1, &blob,
				 &len, &err),
		SL_EINVAL);
	memcpy(badpub, sf.sf_pub, sizeof(badpub));
	badpub[40] ^= 1;
	assert_int_equal(
		seal(badpub, "k", (const uint8_t *)"r", 1, (const uint8_t *)"x", 1, &blob, &len, &err), SL_EINVAL);
	assert_null(blob);

	free(sf.sf_blob);
	EVP_PKEY_free(sf.sf_key);
	EVP_PKEY_free(other);
	EVP_PKEY_free(p384);
}

/* Every single changed byte, in every bit position, is refused. */
static void
test_seal_flip_each_byte(void **state)
{
	struct seal_fixture sf;
	int rc;

	(void)state;
	sealed_new(&sf, strlen(sealed_msg));
	for (size_t i = 0; i < sf.sf_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			sf.sf_blob[i] ^= (uint8_t)(1u << bit);
			rc = unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len);
			/* the version or the point is malformed, or the tag fails */
			if (i < 1 + P256_PUB_LEN)
				assert_true(rc == SL_EINVAL || rc == SL_EDENIED);
			else
				assert_int_equal(rc, SL_EDENIED);
			sf.sf_blob[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_OK);
	free(sf.sf_blob);
	EVP_PKEY_free(sf.sf_key);
}

static void
test_seal_truncated_version(void **state)
{
	struct seal_fixture sf;
	uint8_t *longer;

	(void)state;
	sealed_new(&sf, strlen(sealed_msg));
	for (size_t n = 0; n < sf.sf_len; n++)
		assert_int_not_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, n), SL_OK);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, SEAL_OVERHEAD - 1), SL_EINVAL);
	/* cut inside the ciphertext: well-formed but not authentic */
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len - 1), SL_EDENIED);
	longer = malloc(sf.sf_len + 1);
	assert_non_null(longer);
	memcpy(longer, sf.sf_blob, sf.sf_len);
	longer[sf.sf_len] = 0;
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, longer, sf.sf_len + 1), SL_EDENIED);
	free(longer);
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, NULL, sf.sf_len), SL_EINVAL);
	/* over the size bound, before any work */
	assert_int_equal(
		unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, SEAL_OVERHEAD + SEAL_PLAIN_MAX + 1), SL_EINVAL);

	sf.sf_blob[0] = 0;
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_EINVAL);
	sf.sf_blob[0] = 2;
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_EINVAL);
	sf.sf_blob[0] = SEAL_VERSION;
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_OK);
	/* an ephemeral key off the curve */
	sf.sf_blob[1 + P256_PUB_LEN - 1] ^= 1;
	assert_int_equal(unseal_rc(sf.sf_key, "dev-key-1", req_id, sf.sf_blob, sf.sf_len), SL_EINVAL);
	free(sf.sf_blob);
	EVP_PKEY_free(sf.sf_key);
}

/* ---- what a confirmation signs ---- */

/*
 * The bytes for fields_fixed(), computed once with Python:
 *   f = lambda b: struct.pack('>H', len(b)) + b
 *   b"".join(map(f, [b"sleutel-confirm-v1", b"req-123", b"https://rp.example",
 *       "Bank Voorbeeld".encode(), b"payment",
 *       hashlib.sha256("Betaal €12,50 aan Voorbeeld".encode()).digest(),
 *       b"42", b"nonce-xyz", b"approve", b"dev-1"])).hex()
 */
static const char confirm_kat[] = "0012736c657574656c2d636f6e6669726d2d763100077265712d313233001268747470733a2f2f7270"
				  "2e6578616d706c65000e42616e6b20566f6f726265656c6400077061796d656e740020c35364c2a3"
				  "2610f4fa4da79e30bc6aa59bb5601fea3d483759dac8bc4dd3a92a0002343200096e6f6e63652d78"
				  "797a0007617070726f766500056465762d31";

static void
test_confirm_known_answer(void **state)
{
	struct confirm_fields f = fields_fixed();
	struct sl_buf buf;
	uint8_t want[sizeof(confirm_kat) / 2];

	(void)state;
	unhex(confirm_kat, want, sizeof(want));
	assert_int_equal(confirm_bytes(&f, &buf), SL_OK);
	assert_int_equal(buf.b_len, sizeof(want));
	assert_memory_equal(buf.b_data, want, sizeof(want));
	sl_buf_reset(&buf);
}

/*
 * Obligation 3: each of the ten fields, changed alone, makes verification
 * fail.  The nine caller fields go through the API; the tag, which the API
 * fixes, is changed in raw bytes signed directly with OpenSSL (control: the
 * unchanged raw bytes, signed the same way, verify).
 */
static void
test_confirm_each_field(void **state)
{
	const char *alt[9] = {
		"req-124",
		"https://rp.example.",
		"Bank Voorbeeld ",
		"login",
		"Betaal \u20AC12,51 aan Voorbeeld", /* UTF-8 euro sign */
		"43",
		"nonce-xyZ",
		"refuse",
		"dev-2",
	};
	struct confirm_fields f = fields_fixed(), g;
	uint8_t pub[P256_PUB_LEN], *sig = NULL, raw[CONFIRM_SIG_MAX];
	EVP_PKEY *key = p256_new(pub), *pk;
	struct sl_buf buf;
	size_t siglen, rawlen;
	struct sl_err err;

	(void)state;
	pk = p256_public_from_bytes(pub, &err);
	assert_non_null(pk);
	assert_int_equal(confirm_sign(key, &f, &sig, &siglen, &err), SL_OK);
	assert_true(siglen > 0 && siglen <= CONFIRM_SIG_MAX);
	assert_int_equal(confirm_verify(pk, &f, sig, siglen), SL_OK);
	for (int i = 0; i < 9; i++) {
		g = f;
		*field_slot(&g, i) = alt[i];
		assert_int_equal(confirm_verify(pk, &g, sig, siglen), SL_EDENIED);
		/* and the signature over the changed list verifies for it alone */
		assert_int_equal(sign_verify(key, pk, &g), SL_OK);
	}
	/* The tag (field 0). */
	assert_int_equal(confirm_bytes(&f, &buf), SL_OK);
	raw_sign(key, buf.b_data, buf.b_len, raw, &rawlen);
	assert_int_equal(confirm_verify(pk, &f, raw, rawlen), SL_OK);
	buf.b_data[2 + strlen(CONFIRM_TAG) - 1] = '2'; /* "sleutel-confirm-v2" */
	raw_sign(key, buf.b_data, buf.b_len, raw, &rawlen);
	assert_int_equal(confirm_verify(pk, &f, raw, rawlen), SL_EDENIED);
	sl_buf_reset(&buf);

	/* Malformed signatures. */
	assert_int_equal(confirm_verify(pk, &f, sig, siglen - 1), SL_EDENIED);
	assert_int_equal(confirm_verify(pk, &f, sig, 0), SL_EDENIED);
	assert_int_equal(confirm_verify(pk, &f, NULL, siglen), SL_EDENIED);
	sig[siglen - 1] ^= 1;
	assert_int_equal(confirm_verify(pk, &f, sig, siglen), SL_EDENIED);
	free(sig);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(key);
}

/* A refusal is signed with the transport key: nobody else can refuse. */
static void
test_confirm_refusal(void **state)
{
	struct confirm_fields f = fields_fixed();
	uint8_t tpub[P256_PUB_LEN];
	EVP_PKEY *transport = p256_new(tpub), *other = p256_new(NULL), *tp;
	struct sl_err err;

	(void)state;
	tp = p256_public_from_bytes(tpub, &err);
	assert_non_null(tp);
	f.cf_decision = "refuse";
	assert_int_equal(sign_verify(transport, tp, &f), SL_OK);
	assert_int_equal(sign_verify(other, tp, &f), SL_EDENIED);
	/* an approval is not a refusal */
	{
		uint8_t *sig;
		size_t siglen;

		assert_int_equal(confirm_sign(transport, &f, &sig, &siglen, &err), SL_OK);
		f.cf_decision = "approve";
		assert_int_equal(confirm_verify(tp, &f, sig, siglen), SL_EDENIED);
		free(sig);
	}
	EVP_PKEY_free(tp);
	EVP_PKEY_free(transport);
	EVP_PKEY_free(other);
}

/* `a` and `b` encode to as many bytes, yet to different bytes: what the
 * length prefixes are for. */
static void
assert_same_length_other_bytes(const struct confirm_fields *a, const struct confirm_fields *b)
{
	struct sl_buf ba, bb;

	assert_int_equal(confirm_bytes(a, &ba), SL_OK);
	assert_int_equal(confirm_bytes(b, &bb), SL_OK);
	assert_int_equal(ba.b_len, bb.b_len);
	assert_memory_not_equal(ba.b_data, bb.b_data, ba.b_len);
	sl_buf_reset(&ba);
	sl_buf_reset(&bb);
}

static void
test_confirm_length_prefix(void **state)
{
	struct confirm_fields a = fields_fixed(), b = fields_fixed();
	EVP_PKEY *key = p256_new(NULL);
	uint8_t *sig;
	size_t siglen;
	struct sl_err err;

	(void)state;
	a.cf_request_id = "ab";
	a.cf_rp_id = "c";
	b.cf_request_id = "a";
	b.cf_rp_id = "bc";
	assert_same_length_other_bytes(&a, &b);
	assert_int_equal(confirm_sign(key, &a, &sig, &siglen, &err), SL_OK);
	assert_int_equal(confirm_verify(key, &a, sig, siglen), SL_OK);
	assert_int_equal(confirm_verify(key, &b, sig, siglen), SL_EDENIED);
	free(sig);

	/* Empty fields are encoded too (length 0), not skipped. */
	a = fields_fixed();
	b = fields_fixed();
	a.cf_request_id = "";
	a.cf_rp_id = "abc";
	b.cf_request_id = "abc";
	b.cf_rp_id = "";
	assert_same_length_other_bytes(&a, &b);
	EVP_PKEY_free(key);
}

static void
test_confirm_invalid(void **state)
{
	const char *bad_actions[] = { "", "Login", "transfer", "login ", "sign\n" };
	const char *bad_decisions[] = { "", "yes", "Approve", "refused" };
	struct confirm_fields f = fields_fixed(), g;
	EVP_PKEY *key = p256_new(NULL), *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	struct sl_buf buf;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	struct sl_err err;
	char *huge;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_actions) / sizeof(bad_actions[0]); i++) {
		g = f;
		g.cf_action = bad_actions[i];
		assert_int_equal(confirm_bytes(&g, &buf), SL_EINVAL);
		assert_null(buf.b_data);
		assert_int_equal(confirm_sign(key, &g, &sig, &siglen, &err), SL_EINVAL);
		assert_null(sig);
	}
	for (size_t i = 0; i < sizeof(bad_decisions) / sizeof(bad_decisions[0]); i++) {
		g = f;
		g.cf_decision = bad_decisions[i];
		assert_int_equal(confirm_bytes(&g, &buf), SL_EINVAL);
		assert_int_equal(confirm_sign(key, &g, &sig, &siglen, &err), SL_EINVAL);
	}
	for (const char *const *a = (const char *const[]){ "login", "payment", "sign", NULL }; *a; a++) {
		g = f;
		g.cf_action = *a;
		assert_int_equal(confirm_bytes(&g, &buf), SL_OK);
		sl_buf_reset(&buf);
	}
	for (int i = 0; i < 9; i++) {
		g = f;
		*field_slot(&g, i) = NULL;
		assert_int_equal(confirm_bytes(&g, &buf), SL_EINVAL);
		assert_int_equal(confirm_verify(key, &g, (const uint8_t *)"x", 1), SL_EDENIED);
	}
	assert_int_equal(confirm_bytes(NULL, &buf), SL_EINVAL);

	/* 65535 bytes is the limit, for every field (the display text too). */
	huge = malloc(CONFIRM_FIELD_MAX + 2);
	assert_non_null(huge);
	memset(huge, 'x', CONFIRM_FIELD_MAX + 1);
	for (int i = 0; i < 9; i++) {
		if (i == 3 || i == 7)
			continue; /* action, decision: fixed sets */
		g = f;
		*field_slot(&g, i) = huge;
		huge[CONFIRM_FIELD_MAX] = '\0';
		assert_int_equal(confirm_bytes(&g, &buf), SL_OK);
		sl_buf_reset(&buf);
		huge[CONFIRM_FIELD_MAX] = 'x';
		huge[CONFIRM_FIELD_MAX + 1] = '\0';
		assert_int_equal(confirm_bytes(&g, &buf), SL_ETOOBIG);
		assert_null(buf.b_data);
	}
	free(huge);

	/* Only P-256 keys sign and verify. */
	assert_int_equal(confirm_sign(p384, &f, &sig, &siglen, &err), SL_EINVAL);
	assert_int_equal(confirm_sign(NULL, &f, &sig, &siglen, &err), SL_EINVAL);
	assert_int_equal(confirm_sign(key, &f, &sig, &siglen, &err), SL_OK);
	assert_int_equal(confirm_verify(p384, &f, sig, siglen), SL_EDENIED);
	assert_int_equal(confirm_verify(NULL, &f, sig, siglen), SL_EDENIED);
	assert_int_equal(confirm_verify(key, &f, sig, siglen), SL_OK);
	free(sig);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_camo_code_ok),
		cmocka_unit_test(test_camo_params),
		cmocka_unit_test(test_camo_code_strings),
		cmocka_unit_test(test_camo_known_answer),
		cmocka_unit_test(test_camo_make_outputs),
		cmocka_unit_test(test_camo_all_codes),
		cmocka_unit_test(test_camo_production),
		cmocka_unit_test(test_camo_odd_state),
		cmocka_unit_test(test_p256_public),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_binding),
		cmocka_unit_test(test_seal_flip_each_byte),
		cmocka_unit_test(test_seal_truncated_version),
		cmocka_unit_test(test_confirm_known_answer),
		cmocka_unit_test(test_confirm_each_field),
		cmocka_unit_test(test_confirm_refusal),
		cmocka_unit_test(test_confirm_length_prefix),
		cmocka_unit_test(test_confirm_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
