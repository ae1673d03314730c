/*
 * bench/splitkey.c — split-key RSA figures (not a test): key generation on
 * each side, the device's part, the server's part and whole signatures per
 * second at the production sizes, and the scrypt PIN opening separately
 * (its cost is chosen, not incidental: it is what a guess costs a thief).
 *
 *   build/bench/bench_splitkey [--seconds S] [--keys K] [--bits N1 N2]
 *
 * Each row runs for S seconds (at least once); keygen rows make K keys.
 * Wall and CPU time (this process) per operation are both printed, and
 * operations per second of each: the machine may be shared, and CPU time
 * (one core) is the figure that carries over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "../src/crypto/crypto.h"

/* Only the RSA arithmetic in the device and server rows: scrypt has a row
 * of its own at the production cost. */
static const struct camo_params cheap = { 1, 1, 1 };

struct clock2 {
	double c_wall, c_cpu;
};

static double
now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct clock2
clock_start(void)
{
	struct clock2 c = { now(CLOCK_MONOTONIC), now(CLOCK_PROCESS_CPUTIME_ID) };

	return c;
}

static void
clock_add(struct clock2 *sum, const struct clock2 *start)
{
	sum->c_wall += now(CLOCK_MONOTONIC) - start->c_wall;
	sum->c_cpu += now(CLOCK_PROCESS_CPUTIME_ID) - start->c_cpu;
}

static void
row(const char *what, long n, const struct clock2 *t)
{
	printf("| %-44s | %6ld | %10.2f | %10.2f | %9.1f | %9.1f |\n", what, n, 1e3 * t->c_wall / (double)n,
		1e3 * t->c_cpu / (double)n, (double)n / t->c_wall, (double)n / t->c_cpu);
}

static void
die(const char *what, const struct sl_err *err)
{
	fprintf(stderr, "bench_splitkey: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

/* K device keygens then K server keygens; the last pair is kept. */
static void
bench_keygen(const struct sk_params *p, int keys, struct sk_device_key *dev, struct sk_server_key *srv)
{
	struct clock2 td = { 0, 0 }, ts = { 0, 0 }, c;
	struct sl_err err = { 0 };

	for (int i = 0; i < keys; i++) {
		if (i > 0) {
			sk_device_key_clear(dev);
			sk_server_key_clear(srv);
		}
		c = clock_start();
		if (sk_device_keygen(p, SK_INFO_AUTH, "1234", dev, srv, &err) != SL_OK)
			die("device keygen", &err);
		clock_add(&td, &c);
		c = clock_start();
		if (sk_server_keygen(p, srv, &err) != SL_OK)
			die("server keygen", &err);
		clock_add(&ts, &c);
	}
	row("device keygen (RSA n1, split, camouflage)", keys, &td);
	row("server keygen (RSA n2, n = n1*n2)", keys, &ts);
}

static uint8_t *
encode(const struct sk_server_key *srv, const char *msg, size_t *emlen)
{
	uint8_t hash[SL_SHA256_LEN], *em = NULL;
	struct sl_err err = { 0 };

	crypto_sha256(msg, strlen(msg), hash);
	if (sk_encode(srv->sk_n, SK_PKCS1, "SHA256", hash, sizeof(hash), &em, emlen, &err) != SL_OK)
		die("encode", &err);
	return em;
}

/* On a copy of the device state: the server is not asked, so the real
 * one must not run ahead of it. */
static void
bench_device(const struct sk_params *p, const struct sk_device_key *orig, const uint8_t *em, size_t emlen, double secs,
	const char *what)
{
	struct sk_device_key copy = *orig, *dev = &copy;
	struct clock2 t = { 0, 0 }, c;
	struct sl_err err = { 0 };
	long n = 0;

	copy.dk_n1 = BN_dup(orig->dk_n1);
	copy.dk_c = BN_dup(orig->dk_c);
	if (copy.dk_n1 == NULL || copy.dk_c == NULL)
		die("copy", NULL);
	do {
		uint8_t *part = NULL;
		size_t partlen = 0;
		uint64_t v = 0;

		c = clock_start();
		if (sk_device_sign(dev, "1234", p, em, emlen, &v, &part, &partlen, &err) != SL_OK)
			die("device part", &err);
		clock_add(&t, &c);
		free(part);
		n++;
	} while (t.c_wall < secs);
	row(what, n, &t);
	sk_device_key_clear(dev);
}

/* Server completions, timed alone: partials are made in untimed batches. */
static void
bench_server(const struct sk_params *p, struct sk_device_key *dev, struct sk_server_key *srv, double secs)
{
	enum { BATCH = 16 };
	uint8_t *parts[BATCH], *em, *sig;
	size_t emlen = 0, partlen = 0, siglen = 0;
	uint64_t versions[BATCH];
	struct clock2 t = { 0, 0 }, c;
	struct sl_err err = { 0 };
	long n = 0;

	em = encode(srv, "server part", &emlen);
	do {
		for (int i = 0; i < BATCH; i++)
			if (sk_device_sign(dev, "1234", p, em, emlen, &versions[i], &parts[i], &partlen, &err) != SL_OK)
				die("device part", &err);
		for (int i = 0; i < BATCH; i++) {
			c = clock_start();
			if (sk_server_complete(srv, em, emlen, versions[i], parts[i], partlen, &sig, &siglen) != SK_OK)
				die("server part", NULL);
			clock_add(&t, &c);
			free(sig);
			free(parts[i]);
			n++;
		}
	} while (t.c_wall < secs);
	row("server part (complete s1, s2, CRT, check)", n, &t);
	free(em);
}

/* Encode, device part, server part and a verification with OpenSSL. */
static void
bench_whole(const struct sk_params *p, struct sk_device_key *dev, struct sk_server_key *srv, double secs)
{
	struct clock2 t = { 0, 0 }, c;
	struct sl_err err = { 0 };
	long n = 0;

	do {
		uint8_t *em, *part = NULL, *sig = NULL;
		size_t emlen = 0, partlen = 0, siglen = 0;
		uint64_t v = 0;

		c = clock_start();
		em = encode(srv, "whole", &emlen);
		if (sk_device_sign(dev, "1234", p, em, emlen, &v, &part, &partlen, &err) != SL_OK ||
			sk_server_complete(srv, em, emlen, v, part, partlen, &sig, &siglen) != SK_OK)
			die("whole signature", &err);
		clock_add(&t, &c);
		free(em);
		free(part);
		free(sig);
		n++;
	} while (t.c_wall < secs);
	row("whole signature (encode + device + server)", n, &t);
}

static void
bench_scrypt(double secs)
{
	uint8_t salt[CAMO_SALT_LEN] = { 0 }, out[(SK_N1_BITS + SK_SHARE_EXTRA_BITS) / 8];
	struct clock2 t = { 0, 0 }, c;
	struct sl_err err = { 0 };
	long n = 0;
	char label[64];

	do {
		c = clock_start();
		if (camo_kdf("1234", salt, NULL, SK_INFO_AUTH, out, sizeof(out), &err) != SL_OK)
			die("scrypt", &err);
		clock_add(&t, &c);
		n++;
	} while (t.c_wall < secs);
	snprintf(label, sizeof(label), "PIN opening (scrypt N=2^%d r=%d p=%d + HKDF)", CAMO_LOG2N, CAMO_R, CAMO_P);
	row(label, n, &t);
}

int
main(int argc, char **argv)
{
	struct sk_params p = { SK_N1_BITS, SK_N2_BITS, &cheap };
	struct sk_device_key dev;
	struct sk_server_key srv;
	double secs = 3;
	int keys = 3;
	uint8_t *em;
	size_t emlen = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
			keys = atoi(argv[++i]);
		else if (strcmp(argv[i], "--bits") == 0 && i + 2 < argc) {
			p.sp_n1_bits = atoi(argv[++i]);
			p.sp_n2_bits = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--seconds S] [--keys K] [--bits N1 N2]\n", argv[0]);
			return 2;
		}
	}
	if (secs <= 0 || keys < 1)
		return 2;
	printf("split-key RSA, n1 %d + n2 %d bits (n %d), %s\n\n", p.sp_n1_bits, p.sp_n2_bits,
		p.sp_n1_bits + p.sp_n2_bits, OpenSSL_version(OPENSSL_VERSION));
	printf("| %-44s | %6s | %10s | %10s | %9s | %9s |\n", "operation", "count", "wall ms/op", "CPU ms/op", "ops/s",
		"ops/CPU-s");
	printf("|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------------", "--------", "------------",
		"------------", "-----------", "-----------");
	bench_keygen(&p, keys, &dev, &srv);
	em = encode(&srv, "device part", &emlen);
	bench_device(&p, &dev, em, emlen, secs, "device part (EM^d1' mod n1, scrypt aside)");
	bench_server(&p, &dev, &srv, secs);
	bench_whole(&p, &dev, &srv, secs);
	bench_scrypt(secs);
	p.sp_camo = NULL;
	bench_device(&p, &dev, em, emlen, secs, "device part with the PIN opening");
	free(em);
	sk_device_key_clear(&dev);
	sk_server_key_clear(&srv);
	return 0;
}
