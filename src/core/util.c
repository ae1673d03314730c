/* util.c — randomness, constant-time comparison, strings, clocks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core.h"

int
sl_random(void *out, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(out, (int)len) != 1)
		return SL_ECRYPTO;
	return SL_OK;
}

/*
 * Identifiers and tokens (sl_random_id: request ids, cookies, codes,
 * access tokens) are cut from a per-thread pool of RAND_bytes output
 * instead of one RAND_bytes call each: OpenSSL 3 checks for a fork on
 * every call with getpid(), a system call, and a login drew six of them
 * (docs/performance.md).  The pool is the CSPRNG's output, nothing else:
 * each slice handed out is wiped from it, so the bytes exist once; a
 * refill is one RAND_bytes call.  A forked child starts with an empty
 * pool (pool_forget: the forking thread is the child's only thread), so
 * parent and child never share a slice.  Keys and nonces (sl_random) still
 * come straight from RAND_bytes.  Thread-local like OpenSSL's own
 * per-thread DRBGs: the pool holds no more than the DRBG's state does.
 */
#define RANDOM_POOL 512

struct random_pool {
	uint8_t rp_bytes[RANDOM_POOL];
	size_t rp_used; /* bytes handed out (wiped) from the start */
};

static _Thread_local struct random_pool random_pool = { .rp_used = RANDOM_POOL };

static void
pool_forget(void)
{
	OPENSSL_cleanse(random_pool.rp_bytes, sizeof(random_pool.rp_bytes));
	random_pool.rp_used = RANDOM_POOL;
}

static void
pool_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, pool_forget);
}

static int
pool_take(void *out, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct random_pool *p = &random_pool;

	if (len > RANDOM_POOL / 4)
		return sl_random(out, len);
	pthread_once(&once, pool_atfork);
	if (RANDOM_POOL - p->rp_used < len) {
		if (RAND_bytes(p->rp_bytes, RANDOM_POOL) != 1) {
			pool_forget();
			return SL_ECRYPTO;
		}
		p->rp_used = 0;
	}
	memcpy(out, p->rp_bytes + p->rp_used, len);
	OPENSSL_cleanse(p->rp_bytes + p->rp_used, len);
	p->rp_used += len;
	return SL_OK;
}

char *
sl_random_id(size_t bytes)
{
	uint8_t raw[64];
	char *id;

	if (bytes > sizeof(raw) || pool_take(raw, bytes) != SL_OK)
		return NULL;
	id = sl_b64url_encode(raw, bytes);
	OPENSSL_cleanse(raw, bytes);
	return id;
}

char *
sl_random_name(size_t bytes)
{
	char *id;

	/* Redrawing keeps the rest uniform; 1 in 32 draws is redrawn. */
	while ((id = sl_random_id(bytes)) != NULL && (id[0] == '-' || id[0] == '_'))
		free(id);
	return id;
}

int
sl_random_uniform(uint32_t bound, uint32_t *out)
{
	uint32_t r, limit;

	if (bound == 0)
		return SL_EINVAL;
	/* Rejection sampling: no modulo bias. */
	limit = UINT32_MAX - (UINT32_MAX % bound);
	do {
		if (sl_random(&r, sizeof(r)) != SL_OK)
			return SL_ECRYPTO;
	} while (r >= limit);
	*out = r % bound;
	return SL_OK;
}

bool
sl_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

bool
sl_ct_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	return sl_ct_equal(a, strlen(a), b, strlen(b));
}

size_t
sl_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
sl_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *
sl_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

bool
sl_str_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

bool
sl_str_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int64_t
sl_now(void)
{
	return (int64_t)time(NULL);
}

int64_t
sl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sl_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
