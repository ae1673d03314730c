/*
 * test_splitkey.c — split-key RSA (crypto.h, "split-key RSA"): the
 * composite signature verifies as plain RSA (OpenSSL's verifier and the
 * openssl command), a wrong PIN never completes and leaves the server
 * unchanged, neither share signs alone, a copied device is caught, the
 * version window, the camouflage of a 4-digit PIN, and the refusals of the
 * serialisation.  Most keys are 1024+1024 with a cheap scrypt; one test
 * runs the production sizes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../../src/crypto/crypto.h"

#define NKEYS 20
#define NPINS 10000

static const struct camo_params cheap = { 4, 1, 1 };
static const struct sk_params small = { 1024, 1024, &cheap };

struct pair {
	struct sk_device_key dev;
	struct sk_server_key srv;
	EVP_PKEY *pub;
};

static void
pair_make(struct pair *k, const struct sk_params *p, const char *info, const char *pin)
{
	struct sl_err err = { 0 };

	if (sk_device_keygen(p, info, pin, &k->dev, &k->srv, &err) != SL_OK)
		fail_msg("device keygen: %s", err.msg);
	assert_null(k->srv.sk_key2);
	if (sk_server_keygen(p, &k->srv, &err) != SL_OK)
		fail_msg("server keygen: %s", err.msg);
	k->pub = sk_public_key(&k->srv, &err);
	assert_non_null(k->pub);
	assert_int_equal(EVP_PKEY_get_bits(k->pub), p->sp_n1_bits + p->sp_n2_bits);
}

static void
pair_free(struct pair *k)
{
	sk_device_key_clear(&k->dev);
	sk_server_key_clear(&k->srv);
	EVP_PKEY_free(k->pub);
}

/* A copy of the device state (what a thief's copy of the file holds). */
static void
dev_copy(const struct sk_device_key *from, struct sk_device_key *to)
{
	*to = *from;
	to->dk_n1 = BN_dup(from->dk_n1);
	to->dk_c = BN_dup(from->dk_c);
	assert_non_null(to->dk_n1);
	assert_non_null(to->dk_c);
}

static size_t
hash_of(const char *md, const char *msg, uint8_t out[EVP_MAX_MD_SIZE])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(msg, strlen(msg), out, &len, EVP_get_digestbyname(md), NULL), 1);
	return len;
}

/* EVP_PKEY_verify of sig over hash with pub: 1 good, 0 not. */
static int
verify(EVP_PKEY *pub, enum sk_padding pad, const char *md, const uint8_t *hash, size_t hashlen, const uint8_t *sig,
	size_t siglen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	int rc;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(
		EVP_PKEY_CTX_set_rsa_padding(ctx, pad == SK_PSS ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)), 1);
	if (pad == SK_PSS)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), 1);
	rc = EVP_PKEY_verify(ctx, sig, siglen, hash, hashlen);
	EVP_PKEY_CTX_free(ctx);
	return rc == 1;
}

/* One signature through both parties; its verdict, *sig on SK_OK. */
static enum sk_verdict
sign_with(struct pair *k, struct sk_device_key *dev, const struct sk_params *p, const char *pin, enum sk_padding pad,
	const char *md, const char *msg, uint8_t **sig, size_t *siglen)
{
	uint8_t hash[EVP_MAX_MD_SIZE], *em = NULL, *part = NULL;
	size_t hashlen = hash_of(md, msg, hash), emlen = 0, partlen = 0;
	uint64_t version = 0, before = dev->dk_version;
	struct sl_err err = { 0 };
	enum sk_verdict v;

	if (sk_encode(k->srv.sk_n, pad, md, hash, hashlen, &em, &emlen, &err) != SL_OK ||
		sk_device_sign(dev, pin, p, em, emlen, &version, &part, &partlen, &err) != SL_OK)
		fail_msg("encode or device part: %s", err.msg);
	assert_int_equal(version, before + 1);
	assert_int_equal(dev->dk_version, version);
	assert_int_equal(partlen, (size_t)BN_num_bytes(k->srv.sk_n1));
	v = sk_server_complete(&k->srv, em, emlen, version, part, partlen, sig, siglen);
	if (v == SK_OK)
		assert_int_equal(verify(k->pub, pad, md, hash, hashlen, *sig, *siglen), 1);
	else
		assert_null(*sig);
	free(em);
	free(part);
	return v;
}

static enum sk_verdict
sign_once(struct pair *k, const char *pin, enum sk_padding pad, const char *md, const char *msg)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum sk_verdict v = sign_with(k, &k->dev, &small, pin, pad, md, msg, &sig, &siglen);

	free(sig);
	return v;
}

/* sign_with() for `dev` (maybe a copy), PKCS#1 v1.5 / SHA-256. */
static enum sk_verdict
sign_dev(struct pair *k, struct sk_device_key *dev, const struct sk_params *p, const char *pin)
{
	uint8_t *sig = NULL;
	size_t siglen = 0;
	enum sk_verdict v = sign_with(k, dev, p, pin, SK_PKCS1, "SHA256", "a message", &sig, &siglen);

	free(sig);
	return v;
}

static char *
srv_json(const struct sk_server_key *key)
{
	char *s = sk_server_key_to_json(key);

	assert_non_null(s);
	return s;
}

/* The server key serialises exactly as `before` did; frees `before`. */
static void
assert_unchanged(const struct sk_server_key *key, char *before)
{
	char *after = srv_json(key);

	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* ---- PINs, arguments ---- */

static void
test_pin_ok(void **state)
{
	(void)state;
	assert_true(sk_pin_ok("1234", SK_PIN1_MIN));
	assert_true(sk_pin_ok("000000000000", SK_PIN1_MIN)); /* SK_PIN_MAX digits */
	assert_false(sk_pin_ok("123", SK_PIN1_MIN));
	assert_false(sk_pin_ok("1234", SK_PIN2_MIN));
	assert_true(sk_pin_ok("12345", SK_PIN2_MIN));
	assert_false(sk_pin_ok("0000000000000", SK_PIN1_MIN)); /* 13 */
	assert_false(sk_pin_ok("12a4", SK_PIN1_MIN));
	assert_false(sk_pin_ok("1234 ", SK_PIN1_MIN));
	assert_false(sk_pin_ok("", SK_PIN1_MIN));
	assert_false(sk_pin_ok(NULL, SK_PIN1_MIN));
	assert_false(sk_pin_ok("1234", 0));
}

static void
test_keygen_args(void **state)
{
	const struct sk_params odd = { 1000, 1024, &cheap }, tiny = { 768, 1024, &cheap },
			       huge = { 1024, 4352, &cheap }, other = { 1280, 1024, &cheap };
	struct sk_device_key dev;
	struct sk_server_key srv;
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(sk_device_keygen(&odd, SK_INFO_AUTH, "1234", &dev, &srv, &err), SL_EINVAL);
	assert_int_equal(sk_device_keygen(&tiny, SK_INFO_AUTH, "1234", &dev, &srv, &err), SL_EINVAL);
	assert_int_equal(sk_device_keygen(&huge, SK_INFO_AUTH, "1234", &dev, &srv, &err), SL_EINVAL);
	assert_int_equal(sk_device_keygen(&small, "other use", "1234", &dev, &srv, &err), SL_EINVAL);
	assert_int_equal(sk_device_keygen(&small, SK_INFO_AUTH, "123", &dev, &srv, &err), SL_EINVAL);
	assert_int_equal(sk_device_keygen(&small, SK_INFO_SIGN, "1234", &dev, &srv, &err), SL_EINVAL);
	assert_null(dev.dk_n1);
	/* The server refuses a device modulus of another size than agreed. */
	assert_int_equal(sk_device_keygen(&small, SK_INFO_SIGN, "12345", &dev, &srv, &err), SL_OK);
	assert_int_equal(dev.dk_w, 1024 + SK_SHARE_EXTRA_BITS);
	assert_int_equal(BN_num_bits(dev.dk_n1), 1024);
	assert_true(BN_is_bit_set(dev.dk_n1, 1022)); /* n1 >= 3/4 * 2^1024 */
	assert_true(BN_num_bits(dev.dk_c) <= dev.dk_w);
	assert_true(BN_num_bits(srv.sk_d1pp) > dev.dk_w); /* d1'' > 2^W */
	assert_int_equal(sk_server_keygen(&other, &srv, &err), SL_EINVAL);
	assert_null(srv.sk_key2);
	/* ... and a low one, with which its draws might never reach n1 + n2 bits. */
	assert_int_equal(BN_clear_bit(srv.sk_n1, 1022), 1);
	assert_int_equal(sk_server_keygen(&small, &srv, &err), SL_EINVAL);
	assert_null(srv.sk_key2);
	assert_int_equal(BN_set_bit(srv.sk_n1, 1022), 1);
	assert_int_equal(sk_server_keygen(&small, &srv, &err), SL_OK);
	assert_int_equal(sk_server_keygen(&small, &srv, &err), SL_EINVAL); /* only once */
	sk_device_key_clear(&dev);
	sk_server_key_clear(&srv);
	sk_device_key_clear(NULL);
	sk_server_key_clear(NULL);
}

/* EM comes from OpenSSL's signer: PKCS#1 v1.5 is 00 01 FF.. 00 DigestInfo. */
static void
test_encode(void **state)
{
	struct pair k;
	uint8_t hash[EVP_MAX_MD_SIZE], *em = NULL;
	size_t hashlen = hash_of("SHA256", "hallo", hash), emlen = 0;
	struct sl_err err = { 0 };

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "1234");
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA256", hash, hashlen, &em, &emlen, &err), SL_OK);
	assert_int_equal(emlen, 256);
	assert_int_equal(em[0], 0);
	assert_int_equal(em[1], 1);
	assert_int_equal(em[2], 0xff);
	assert_memory_equal(em + emlen - hashlen, hash, hashlen);
	free(em);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PSS, "SHA256", hash, hashlen, &em, &emlen, &err), SL_OK);
	assert_int_equal(em[emlen - 1], 0xbc); /* RFC 8017 9.1.1 trailer */
	free(em);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA384", hash, hashlen, &em, &emlen, &err), SL_EINVAL);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "MD5", hash, 16, &em, &emlen, &err), SL_EINVAL);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA1", hash, 20, &em, &emlen, &err), SL_EINVAL);
	assert_int_equal(
		sk_encode(k.srv.sk_n, (enum sk_padding)3, "SHA256", hash, hashlen, &em, &emlen, &err), SL_EINVAL);
	assert_int_equal(sk_encode(k.srv.sk_n1, SK_PKCS1, "SHA256", hash, hashlen, &em, &emlen, &err), SL_EINVAL);
	assert_null(em);
	pair_free(&k);
}

/* sk_encode_check: a PSS EM with any salt of the digest's length passes
 * for its own hash only; a flipped bit, another hash, another length or
 * another salt length fails; PKCS#1 only as sk_encode made it. */
static void
test_encode_check(void **state)
{
	struct pair k;
	uint8_t hash[EVP_MAX_MD_SIZE], other[EVP_MAX_MD_SIZE], *em = NULL, *em2 = NULL;
	size_t hashlen = hash_of("SHA512", "hallo", hash), emlen = 0, em2len = 0;
	struct sl_err err = { 0 };

	(void)state;
	hash_of("SHA512", "hello", other);
	pair_make(&k, &small, SK_INFO_AUTH, "1234");
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, &em, &emlen, &err), SL_OK);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, &em2, &em2len, &err), SL_OK);
	assert_memory_not_equal(em, em2, emlen); /* random salts: why the device sends its EM */
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, em, emlen, &err), SL_OK);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, em2, em2len, &err), SL_OK);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", other, hashlen, em, emlen, &err), SL_EINVAL);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, em, emlen - 1, &err), SL_EINVAL);
	em[emlen / 2] ^= 1;
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, em, emlen, &err), SL_EINVAL);
	em[emlen / 2] ^= 1;
	/* PKCS#1: only sk_encode's own bytes; a PSS EM is not one. */
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PKCS1, "SHA512", hash, hashlen, em, emlen, &err), SL_EINVAL);
	free(em2);
	em2 = NULL;
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA512", hash, hashlen, &em2, &em2len, &err), SL_OK);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PKCS1, "SHA512", hash, hashlen, em2, em2len, &err), SL_OK);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "SHA512", hash, hashlen, em2, em2len, &err), SL_EINVAL);
	assert_int_equal(sk_encode_check(k.srv.sk_n, SK_PSS, "MD5", hash, 16, em, emlen, &err), SL_EINVAL);
	free(em);
	free(em2);
	pair_free(&k);
}

/* ---- correctness ---- */

static void
test_many_keys(void **state)
{
	static const char *const mds[] = { "SHA256", "SHA384", "SHA512", "SHA3-256" };
	char msg[64];

	(void)state;
	for (int i = 0; i < NKEYS; i++) {
		struct pair k;

		pair_make(&k, &small, i % 2 ? SK_INFO_SIGN : SK_INFO_AUTH, "20481");
		for (size_t m = 0; m < sizeof(mds) / sizeof(mds[0]); m++)
			for (int pad = SK_PKCS1; pad <= SK_PSS; pad++) {
				snprintf(msg, sizeof(msg), "key %d message %zu pad %d", i, m, pad);
				assert_int_equal(sign_once(&k, "20481", (enum sk_padding)pad, mds[m], msg), SK_OK);
			}
		assert_int_equal(k.srv.sk_version, 8);
		assert_int_equal(k.dev.dk_version, 8);
		pair_free(&k);
	}
}

static void
test_production_size(void **state)
{
	struct pair k;

	(void)state;
	pair_make(&k, &sk_default_params, SK_INFO_SIGN, "918273");
	assert_int_equal(EVP_PKEY_get_bits(k.pub), 6144);
	for (int pad = SK_PKCS1; pad <= SK_PSS; pad++) {
		uint8_t *sig = NULL;
		size_t siglen = 0;

		assert_int_equal(sign_with(&k, &k.dev, &sk_default_params, "918273", (enum sk_padding)pad, "SHA256",
					 "production", &sig, &siglen),
			SK_OK);
		assert_int_equal(siglen, 768);
		free(sig);
	}
	assert_int_equal(sign_dev(&k, &k.dev, &sk_default_params, "918274"), SK_WRONG_PIN);
	pair_free(&k);
}

/* The signature and PEM public key pass `openssl pkeyutl -verify`: the
 * command runs with posix_spawnp, its output read through a pipe. */
static void
run_openssl(const char *dir, const char *const *opts)
{
	char pub[300], in[300], sig[300], out[256] = "";
	const char *argv[24] = { "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-in", in, "-sigfile", sig,
		"-pkeyopt", "digest:sha256" };
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1, argc = 12;
	ssize_t got;
	pid_t pid;

	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
	snprintf(in, sizeof(in), "%s/hash.bin", dir);
	snprintf(sig, sizeof(sig), "%s/sig.bin", dir);
	for (; *opts != NULL; opts++) {
		assert_true(argc + 3 <= 24); /* room for this pair and the NULL */
		argv[argc++] = "-pkeyopt";
		argv[argc++] = *opts;
	}
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO), 0);
	assert_int_equal(posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)argv, environ), 0);
	close(fds[1]);
	/* To the end: the tool may write its answer in more than one piece. */
	for (size_t have = 0; have < sizeof(out) - 1; have += (size_t)got) {
		got = read(fds[0], out + have, sizeof(out) - 1 - have);
		if (got <= 0)
			break;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	posix_spawn_file_actions_destroy(&fa);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(out, "Signature Verified Successfully"));
}

static void
write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_openssl_cli(void **state)
{
	static const char *const pkcs1[] = { "rsa_padding_mode:pkcs1", NULL };
	static const char *const pss[] = { "rsa_padding_mode:pss", "rsa_pss_saltlen:digest", "rsa_mgf1_md:sha256",
		NULL };
	char dir[] = "/tmp/sk-cli-XXXXXX", path[512];
	uint8_t hash[EVP_MAX_MD_SIZE];
	size_t hashlen = hash_of("SHA256", "openssl says so", hash);
	struct pair k;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pair_make(&k, &small, SK_INFO_AUTH, "5555");
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k.pub), 1);
	assert_int_equal(fclose(f), 0);
	write_file(dir, "hash.bin", hash, hashlen);
	for (int pad = SK_PKCS1; pad <= SK_PSS; pad++) {
		uint8_t *sig = NULL;
		size_t siglen = 0;

		assert_int_equal(sign_with(&k, &k.dev, &small, "5555", (enum sk_padding)pad, "SHA256",
					 "openssl says so", &sig, &siglen),
			SK_OK);
		write_file(dir, "sig.bin", sig, siglen);
		run_openssl(dir, pad == SK_PSS ? pss : pkcs1);
		free(sig);
	}
	for (const char *const *n = (const char *const[]){ "pub.pem", "hash.bin", "sig.bin", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
	pair_free(&k);
}

/* ---- wrong PIN, shares alone ---- */

static void
test_wrong_pin(void **state)
{
	struct pair k;
	char *before;

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "1234");
	before = srv_json(&k.srv);
	assert_int_equal(sign_once(&k, "1235", SK_PKCS1, "SHA256", "m"), SK_WRONG_PIN);
	assert_int_equal(sign_once(&k, "4321", SK_PSS, "SHA256", "m"), SK_WRONG_PIN);
	assert_int_equal(sign_once(&k, "12340", SK_PSS, "SHA256", "m"), SK_WRONG_PIN);
	assert_unchanged(&k.srv, before); /* server share and version */
	assert_int_equal(k.srv.sk_version, 0);
	assert_int_equal(sign_once(&k, "1234", SK_PKCS1, "SHA256", "m"), SK_OK);
	assert_int_equal(k.srv.sk_version, 4);
	pair_free(&k);
}

/* delta_v as the contract defines it, computed here independently. */
static BIGNUM *
delta_of(const uint8_t kdev[SK_KDEV_LEN], uint64_t v)
{
	uint8_t msg[13] = { 'd', 'e', 'l', 't', 'a' }, mac[SL_SHA256_LEN];
	BIGNUM *d = BN_new();

	for (int i = 0; i < 8; i++)
		msg[5 + i] = (uint8_t)(v >> (56 - 8 * i));
	assert_int_equal(crypto_hmac_sha256(kdev, SK_KDEV_LEN, msg, sizeof(msg), mac), SL_OK);
	assert_non_null(BN_bin2bn(mac, SK_DELTA_BITS / 8, d));
	return d;
}

/* What the server would return, WITHOUT its check: part * m^d1''_v mod n1
 * with the server's own EM^d2 mod n2, combined by the CRT. */
static uint8_t *
complete_raw(const struct sk_server_key *srv, uint64_t v, const uint8_t *em, size_t emlen, const BIGNUM *part)
{
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *d = BN_dup(srv->sk_d1pp), *m = BN_bin2bn(em, (int)emlen, NULL), *s1 = BN_new(), *s2 = BN_new(),
	       *n2 = NULL, *d2 = NULL, *t = BN_new(), *s = BN_new();
	size_t nlen = (size_t)BN_num_bytes(srv->sk_n);
	uint8_t *sig = malloc(nlen);

	assert_int_equal(EVP_PKEY_get_bn_param(srv->sk_key2, OSSL_PKEY_PARAM_RSA_N, &n2), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(srv->sk_key2, OSSL_PKEY_PARAM_RSA_D, &d2), 1);
	for (uint64_t i = srv->sk_version; i < v; i++) {
		BIGNUM *delta = delta_of(srv->sk_kdev, i);
		assert_int_equal(BN_sub(d, d, delta), 1);
		BN_free(delta);
	}
	assert_int_equal(BN_mod_exp(s1, m, d, srv->sk_n1, bn), 1);
	assert_int_equal(BN_mod_mul(s1, s1, part, srv->sk_n1, bn), 1);
	assert_int_equal(BN_mod_exp(s2, m, d2, n2, bn), 1);
	assert_non_null(BN_mod_inverse(t, n2, srv->sk_n1, bn));
	assert_int_equal(BN_mod_sub(s, s1, s2, srv->sk_n1, bn), 1);
	assert_int_equal(BN_mod_mul(s, s, t, srv->sk_n1, bn), 1);
	assert_int_equal(BN_mul(s, s, n2, bn), 1);
	assert_int_equal(BN_add(s, s, s2), 1);
	assert_int_equal(BN_bn2binpad(s, sig, (int)nlen), (int)nlen);
	BN_free(d);
	BN_free(m);
	BN_free(s1);
	BN_free(s2);
	BN_free(n2);
	BN_clear_free(d2);
	BN_free(t);
	BN_free(s);
	BN_CTX_free(bn);
	return sig;
}

static void
test_share_alone(void **state)
{
	const char *pins[] = { "7319", "7318" }; /* right, wrong */
	uint8_t hash[EVP_MAX_MD_SIZE], *em = NULL;
	size_t hashlen = hash_of("SHA256", "alone", hash), emlen = 0, nlen;
	struct sl_err err = { 0 };
	BN_CTX *bn = BN_CTX_new();
	BIGNUM *e = BN_new(), *one = BN_new();
	struct pair k;

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "7319");
	nlen = (size_t)BN_num_bytes(k.srv.sk_n);
	assert_int_equal(BN_set_word(e, SK_E), 1);
	assert_int_equal(BN_one(one), 1);
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA256", hash, hashlen, &em, &emlen, &err), SL_OK);
	for (int i = 0; i < 2; i++) {
		struct sk_device_key copy;
		uint8_t *part = NULL, *sig;
		size_t partlen = 0;
		uint64_t v = 0;
		BIGNUM *pb, *m1 = BN_new(), *r = BN_new();

		dev_copy(&k.dev, &copy);
		assert_int_equal(sk_device_sign(&copy, pins[i], &small, em, emlen, &v, &part, &partlen, &err), SL_OK);
		pb = BN_bin2bn(part, (int)partlen, NULL);
		/* The device's part alone is not s1: part^e != EM (mod n1). */
		assert_non_null(BN_bin2bn(em, (int)emlen, m1));
		assert_int_equal(BN_nnmod(m1, m1, k.srv.sk_n1, bn), 1);
		assert_int_equal(BN_mod_exp(r, pb, e, k.srv.sk_n1, bn), 1);
		assert_int_not_equal(BN_cmp(r, m1), 0);
		/* Completed with the server's parts: only the right share verifies. */
		sig = complete_raw(&k.srv, v, em, emlen, pb);
		assert_int_equal(verify(k.pub, SK_PKCS1, "SHA256", hash, hashlen, sig, nlen), i == 0);
		free(sig);
		sk_device_key_clear(&copy);
		BN_free(pb);
		BN_free(m1);
		BN_free(r);
		free(part);
	}
	/* The server alone (no device share at all, part = 1) signs nothing. */
	{
		uint8_t *sig = complete_raw(&k.srv, 1, em, emlen, one);
		assert_int_equal(verify(k.pub, SK_PKCS1, "SHA256", hash, hashlen, sig, nlen), 0);
		free(sig);
	}
	free(em);
	BN_free(e);
	BN_free(one);
	BN_CTX_free(bn);
	pair_free(&k);
}

/* ---- clones and versions ---- */

static void
clone_order(bool original_first)
{
	struct sk_device_key copy;
	struct pair k;
	char *before;

	pair_make(&k, &small, SK_INFO_AUTH, "2468");
	assert_int_equal(sign_once(&k, "2468", SK_PKCS1, "SHA256", "before the copy"), SK_OK);
	dev_copy(&k.dev, &copy);
	if (original_first) {
		assert_int_equal(sign_once(&k, "2468", SK_PKCS1, "SHA256", "original"), SK_OK);
		before = srv_json(&k.srv);
		assert_int_equal(sign_dev(&k, &copy, &small, "2468"), SK_CLONE);
	} else {
		assert_int_equal(sign_dev(&k, &copy, &small, "2468"), SK_OK);
		before = srv_json(&k.srv);
		assert_int_equal(sign_once(&k, "2468", SK_PKCS1, "SHA256", "original"), SK_CLONE);
	}
	assert_unchanged(&k.srv, before);
	sk_device_key_clear(&copy);
	pair_free(&k);
}

static void
test_clone(void **state)
{
	(void)state;
	clone_order(true);
	clone_order(false);
}

static void
test_skip(void **state)
{
	struct pair k;
	char *before;

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "1111");
	/* SK_MAX_SKIP - 1 wrong tries, then the right PIN: a gap of SK_MAX_SKIP. */
	for (int i = 0; i < SK_MAX_SKIP - 1; i++)
		assert_int_equal(sign_once(&k, "1112", SK_PKCS1, "SHA256", "wrong"), SK_WRONG_PIN);
	assert_int_equal(sign_once(&k, "1111", SK_PKCS1, "SHA256", "right"), SK_OK);
	assert_int_equal(k.srv.sk_version, SK_MAX_SKIP);
	/* One more: the gap is SK_MAX_SKIP + 1, refused, and the server unchanged. */
	for (int i = 0; i < SK_MAX_SKIP; i++)
		assert_int_equal(sign_once(&k, "1112", SK_PKCS1, "SHA256", "wrong"), SK_WRONG_PIN);
	before = srv_json(&k.srv);
	assert_int_equal(sign_once(&k, "1111", SK_PKCS1, "SHA256", "right"), SK_BAD_VERSION);
	assert_unchanged(&k.srv, before);
	pair_free(&k);
}

/* Malformed completions are refused without touching the key. */
static void
test_complete_malformed(void **state)
{
	uint8_t hash[EVP_MAX_MD_SIZE], *em = NULL, *part = NULL, *sig = NULL;
	size_t hashlen = hash_of("SHA256", "shape", hash), emlen = 0, partlen = 0, siglen = 0;
	struct sl_err err = { 0 };
	uint64_t v = 0;
	struct pair k;

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "1234");
	assert_int_equal(sk_encode(k.srv.sk_n, SK_PKCS1, "SHA256", hash, hashlen, &em, &emlen, &err), SL_OK);
	assert_int_equal(sk_device_sign(&k.dev, "1234", &small, em, emlen, &v, &part, &partlen, &err), SL_OK);
	assert_int_equal(sk_server_complete(&k.srv, em, emlen - 1, v, part, partlen, &sig, &siglen), SK_BAD_VERSION);
	assert_int_equal(sk_server_complete(&k.srv, em, emlen, v, part, partlen - 1, &sig, &siglen), SK_BAD_VERSION);
	memset(part, 0xff, partlen); /* >= n1 */
	assert_int_equal(sk_server_complete(&k.srv, em, emlen, v, part, partlen, &sig, &siglen), SK_BAD_VERSION);
	memset(em, 0xff, emlen); /* >= n */
	assert_int_equal(sk_server_complete(&k.srv, em, emlen, v, part, partlen, &sig, &siglen), SK_BAD_VERSION);
	assert_int_equal(sk_server_complete(&k.srv, NULL, 0, v, part, partlen, &sig, &siglen), SK_BAD_VERSION);
	assert_null(sig);
	assert_int_equal(k.srv.sk_version, 0);
	free(part);
	assert_int_equal(sk_device_sign(&k.dev, "12a4", &small, em, emlen, &v, &part, &partlen, &err), SL_EINVAL);
	assert_int_equal(sk_device_sign(&k.dev, "1234", &small, em, 0, &v, &part, &partlen, &err), SL_EINVAL);
	assert_int_equal(k.dev.dk_version, 1); /* refused before advancing */
	free(em);
	pair_free(&k);
}

/* ---- camouflage ---- */

static int
cmp_share(const void *a, const void *b)
{
	return memcmp(a, b, (1024 + SK_SHARE_EXTRA_BITS) / 8);
}

/* (c + k(pin)) mod 2^W as W/8 bytes: what the device opens for `pin`. */
static void
open_share(const struct sk_device_key *dev, const char *pin, uint8_t *out, size_t len)
{
	uint8_t k[(1024 + SK_SHARE_EXTRA_BITS) / 8];
	BIGNUM *kb = BN_new(), *s = BN_new();
	struct sl_err err = { 0 };

	assert_int_equal(len, sizeof(k));
	assert_int_equal(camo_kdf(pin, dev->dk_salt, &cheap, dev->dk_info, k, len, &err), SL_OK);
	assert_non_null(BN_bin2bn(k, (int)len, kb));
	assert_int_equal(BN_add(s, dev->dk_c, kb), 1);
	if (BN_num_bits(s) > dev->dk_w)
		assert_int_equal(BN_mask_bits(s, dev->dk_w), 1);
	assert_int_equal(BN_bn2binpad(s, out, (int)len), (int)len);
	BN_free(kb);
	BN_free(s);
}

static int
ones(const uint8_t *b, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += __builtin_popcount(b[i]);
	return n;
}

static void
test_camouflage(void **state)
{
	const size_t len = (1024 + SK_SHARE_EXTRA_BITS) / 8;
	uint8_t *shares = malloc(NPINS * len), right[(1024 + SK_SHARE_EXTRA_BITS) / 8];
	int right_pin = 4821, bins[256] = { 0 }, completed = 0;
	double chi2 = 0, z;
	struct pair k;
	char pin[8];

	(void)state;
	assert_non_null(shares);
	pair_make(&k, &small, SK_INFO_AUTH, "4821");
	for (int i = 0; i < NPINS; i++) {
		snprintf(pin, sizeof(pin), "%04d", i);
		open_share(&k.dev, pin, shares + (size_t)i * len, len);
		bins[shares[(size_t)i * len]]++;
	}
	memcpy(right, shares + (size_t)right_pin * len, len);
	/* Every candidate is a W-bit value (by construction) and all differ. */
	qsort(shares, NPINS, len, cmp_share);
	for (int i = 1; i < NPINS; i++)
		assert_int_not_equal(memcmp(shares + (size_t)(i - 1) * len, shares + (size_t)i * len, len), 0);
	/* Top bytes uniform: chi-square with 255 degrees of freedom, p < 1e-6 at 370. */
	for (int b = 0; b < 256; b++)
		chi2 += (bins[b] - NPINS / 256.0) * (bins[b] - NPINS / 256.0) / (NPINS / 256.0);
	assert_true(chi2 < 370);
	/* The right share's bit count is no outlier: within 6 standard deviations
	 * of W/2, as a uniform W-bit value is but with probability 2^-29. */
	z = ones(right, len) - 4.0 * (double)len;
	assert_true(z * z < 36 * 2.0 * (double)len); /* variance W/4 = 2 * len */
	/* Only the right PIN completes: every candidate tried with the server. */
	for (int i = 0; i < NPINS; i++) {
		struct sk_device_key copy;
		uint8_t *sig = NULL;
		size_t siglen = 0;
		enum sk_verdict v;

		snprintf(pin, sizeof(pin), "%04d", i);
		dev_copy(&k.dev, &copy);
		v = sign_with(&k, &copy, &small, pin, SK_PKCS1, "SHA256", "every pin", &sig, &siglen);
		assert_int_equal(v, i == right_pin ? SK_OK : SK_WRONG_PIN);
		if (v == SK_OK) {
			completed++;
			k.srv.sk_version = 0; /* let the other copies try at version 1 too */
		}
		free(sig);
		sk_device_key_clear(&copy);
	}
	assert_int_equal(completed, 1);
	free(shares);
	pair_free(&k);
}

/* ---- serialisation ---- */

/* `text` with member `name` replaced by `value` (a new reference). */
static char *
with_member(const char *text, const char *name, json_t *value)
{
	json_t *o = json_loads(text, 0, NULL);
	char *out;

	assert_non_null(o);
	if (value == NULL)
		json_object_del(o, name);
	else
		json_object_set_new(o, name, value);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

static void
expect_refused(const char *text, bool server)
{
	struct sk_device_key dev;
	struct sk_server_key srv;
	struct sl_err err = { 0 };

	if (server) {
		assert_int_equal(sk_server_key_from_json(text, &srv, &err), SL_EINVAL);
		assert_null(srv.sk_n1);
		assert_null(srv.sk_key2);
	} else {
		assert_int_equal(sk_device_key_from_json(text, &dev, &err), SL_EINVAL);
		assert_null(dev.dk_c);
	}
	assert_true(strlen(err.msg) > 0);
}

static void
refuse_member(const char *text, const char *name, json_t *value, bool server)
{
	char *bad = with_member(text, name, value);

	expect_refused(bad, server);
	free(bad);
}

static void
test_json_roundtrip(void **state)
{
	struct pair k;
	struct sk_device_key dev2;
	struct sk_server_key srv2;
	struct sl_err err = { 0 };
	char *d1, *s1, *d2, *s2;

	(void)state;
	pair_make(&k, &small, SK_INFO_SIGN, "13579");
	assert_int_equal(sign_once(&k, "13579", SK_PKCS1, "SHA256", "advance"), SK_OK);
	d1 = sk_device_key_to_json(&k.dev);
	s1 = srv_json(&k.srv);
	assert_non_null(d1);
	assert_true(strlen(d1) < SK_JSON_MAX);
	assert_true(strlen(s1) < SK_JSON_MAX);
	assert_int_equal(sk_device_key_from_json(d1, &dev2, &err), SL_OK);
	assert_int_equal(sk_server_key_from_json(s1, &srv2, &err), SL_OK);
	d2 = sk_device_key_to_json(&dev2);
	s2 = srv_json(&srv2);
	assert_string_equal(d1, d2);
	assert_string_equal(s1, s2);
	assert_int_equal(dev2.dk_version, 1);
	assert_string_equal(dev2.dk_info, SK_INFO_SIGN);
	/* The parsed pair still signs together. */
	sk_device_key_clear(&k.dev);
	sk_server_key_clear(&k.srv);
	k.dev = dev2;
	k.srv = srv2;
	assert_int_equal(sign_once(&k, "13579", SK_PSS, "SHA512", "after a round trip"), SK_OK);
	free(d2);
	free(s2);
	pair_free(&k);
	free(d1);
	free(s1);
}

/* The share travels from the device to the server as JSON: it parses back
 * to what the server keygen takes, and the keys made from it sign.  Any
 * other version, a lower modulus, an extra member or a too small d1'' is
 * refused. */
static void
test_share_json(void **state)
{
	struct sk_device_key dev;
	struct sk_server_key share, got;
	struct sl_err err = { 0 };
	struct pair k;
	const struct sk_params other = { 1280, 1024, &cheap };
	char *text, *bad;
	json_t *o;

	(void)state;
	assert_int_equal(sk_device_keygen(&small, SK_INFO_AUTH, "4321", &dev, &share, &err), SL_OK);
	text = sk_share_to_json(&share);
	assert_non_null(text);
	assert_int_equal(sk_share_from_json(text, &small, &got, &err), SL_OK);
	assert_int_equal(BN_cmp(got.sk_n1, share.sk_n1), 0);
	assert_int_equal(BN_cmp(got.sk_d1pp, share.sk_d1pp), 0);
	assert_memory_equal(got.sk_kdev, share.sk_kdev, SK_KDEV_LEN);
	assert_int_equal(sk_share_from_json(text, &other, &k.srv, &err), SL_EINVAL); /* another size */
	assert_null(k.srv.sk_n1);
	assert_int_equal(sk_server_keygen(&small, &got, &err), SL_OK);
	assert_null(sk_share_to_json(&got)); /* once it has key2 it is no share */
	k.dev = dev;
	k.srv = got;
	k.pub = sk_public_key(&k.srv, &err);
	assert_int_equal(sign_once(&k, "4321", SK_PKCS1, "SHA256", "after the share travelled"), SK_OK);
	o = json_loads(text, 0, NULL);
	json_object_set_new(o, "version", json_integer(1));
	bad = json_dumps(o, 0);
	assert_int_equal(sk_share_from_json(bad, &small, &got, &err), SL_EINVAL);
	free(bad);
	json_object_set_new(o, "version", json_integer(0));
	json_object_set_new(o, "extra", json_true());
	bad = json_dumps(o, 0);
	assert_int_equal(sk_share_from_json(bad, &small, &got, &err), SL_EINVAL);
	free(bad);
	json_object_del(o, "extra");
	json_object_set_new(o, "d1pp", json_string("AQ")); /* 1 < 2^W */
	bad = json_dumps(o, 0);
	assert_int_equal(sk_share_from_json(bad, &small, &got, &err), SL_EINVAL);
	free(bad);
	json_decref(o);
	BN_clear_bit(share.sk_n1, 1022);
	bad = sk_share_to_json(&share);
	assert_int_equal(sk_share_from_json(bad, &small, &got, &err), SL_EINVAL); /* n1 too low */
	free(bad);
	free(text);
	sk_server_key_clear(&share);
	pair_free(&k);
}

static void
test_json_refusals(void **state)
{
	struct pair k, other;
	char *d, *s, *big, *trunc;
	json_t *o;

	(void)state;
	pair_make(&k, &small, SK_INFO_AUTH, "1234");
	pair_make(&other, &small, SK_INFO_AUTH, "1234");
	d = sk_device_key_to_json(&k.dev);
	s = srv_json(&k.srv);
	/* Truncated, oversized, not JSON, not an object. */
	trunc = strndup(s, strlen(s) / 2);
	expect_refused(trunc, true);
	free(trunc);
	trunc = strndup(d, strlen(d) - 2);
	expect_refused(trunc, false);
	free(trunc);
	big = malloc(SK_JSON_MAX + 2);
	memset(big, ' ', SK_JSON_MAX + 1);
	big[SK_JSON_MAX + 1] = '\0';
	memcpy(big, s, strlen(s)); /* valid JSON followed by spaces: too long */
	expect_refused(big, true);
	memset(big, ' ', SK_JSON_MAX + 1);
	memcpy(big, d, strlen(d));
	expect_refused(big, false);
	big[SK_JSON_MAX] = '\0'; /* the same at exactly the limit: accepted */
	{
		struct sk_device_key dev;
		struct sl_err err = { 0 };
		assert_int_equal(sk_device_key_from_json(big, &dev, &err), SL_OK);
		sk_device_key_clear(&dev);
	}
	free(big);
	expect_refused("[]", true);
	expect_refused("{}", false);
	expect_refused(NULL, false);
	/* n that is not n1 * n2, another key's n1, another key's server RSA key. */
	trunc = srv_json(&other.srv);
	o = json_loads(trunc, 0, NULL);
	free(trunc);
	assert_non_null(o);
	refuse_member(s, "n", json_incref(json_object_get(o, "n")), true);
	refuse_member(s, "n1", json_incref(json_object_get(o, "n1")), true);
	refuse_member(s, "key2", json_incref(json_object_get(o, "key2")), true);
	refuse_member(s, "key2", json_string("AAAA"), true);
	refuse_member(s, "d1pp", json_string(""), true);
	refuse_member(s, "d1pp", NULL, true);
	refuse_member(s, "w", json_integer(1024), true);
	refuse_member(s, "version", json_integer(-1), true);
	refuse_member(s, "version", json_string("1"), true);
	refuse_member(s, "kdev", json_string("AAAA"), true);
	refuse_member(s, "v", json_integer(2), true);
	/* The device: c of the wrong width, salt, use, n1 even or too small. */
	refuse_member(d, "c", json_string("AAAA"), false);
	refuse_member(d, "salt", json_string("AAAA"), false);
	refuse_member(d, "use", json_string("other"), false);
	refuse_member(d, "n1", json_string("AAAA"), false);
	refuse_member(d, "n1", json_string("_w"), false); /* 0xff: 8 bits */
	refuse_member(d, "kdev", NULL, false);
	refuse_member(d, "version", json_integer((json_int_t)SK_VERSION_MAX + 1), false);
	json_decref(o);
	free(d);
	free(s);
	pair_free(&k);
	pair_free(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_ok),
		cmocka_unit_test(test_keygen_args),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_check),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_production_size),
		cmocka_unit_test(test_openssl_cli),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_share_alone),
		cmocka_unit_test(test_clone),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_complete_malformed),
		cmocka_unit_test(test_camouflage),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_share_json),
		cmocka_unit_test(test_json_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
