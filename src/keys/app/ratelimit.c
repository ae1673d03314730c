/*
 * ratelimit.c — how many app requests a phone number, a client address and
 * an RP may start per window (anti push-bombing, DESIGN §4).
 *
 * Fixed windows: a key's count starts at its first request and resets once
 * `window` seconds have passed since.  A fixed window lets at most twice
 * the limit through around a window's edge, which is fine for a limit that
 * only has to make bombing a phone slow and visible.
 *
 * The table is a chained hash table with a random seed (so nobody picks
 * keys that collide) under one mutex, and a hard cap on entries: when it is
 * full, expired windows are dropped; when it is still full, new keys are
 * refused (fail closed: an attacker filling the table must not switch the
 * limits off).  The state is per process; several nodes each count their
 * own share, which the per-node limits allow for.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "request_int.h"

#define RL_BUCKETS 4096

struct rl_entry {
	struct rl_entry *re_next;
	int64_t re_start; /* the window began here */
	int re_count;
	char re_key[];
};

struct app_ratelimit {
	pthread_mutex_t rl_lock;
	struct rl_entry *rl_buckets[RL_BUCKETS];
	size_t rl_n;
	size_t rl_max;
	uint64_t rl_seed;
	int64_t rl_swept; /* last full sweep: at most one a second */
};

struct app_ratelimit *
ratelimit_new(size_t max_entries, struct sl_err *err)
{
	struct app_ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (sl_random(&rl->rl_seed, sizeof(rl->rl_seed)) != SL_OK) {
		free(rl);
		sl_fail(err, SL_ECRYPTO, "no randomness for the rate-limit table");
		return NULL;
	}
	rl->rl_max = max_entries;
	pthread_mutex_init(&rl->rl_lock, NULL);
	return rl;
}

void
ratelimit_free(struct app_ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry *e = rl->rl_buckets[i], *next;
		for (; e; e = next) {
			next = e->re_next;
			free(e);
		}
	}
	pthread_mutex_destroy(&rl->rl_lock);
	free(rl);
}

/* FNV-1a over the seed and the key. */
static size_t
bucket_of(const struct app_ratelimit *rl, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ rl->rl_seed;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	h ^= h >> 29;
	return (size_t)(h % RL_BUCKETS);
}

static struct rl_entry *
find(struct app_ratelimit *rl, const char *key)
{
	struct rl_entry *e = rl->rl_buckets[bucket_of(rl, key)];

	while (e && strcmp(e->re_key, key) != 0)
		e = e->re_next;
	return e;
}

/* Drop every window that has passed. */
static void
sweep(struct app_ratelimit *rl, int window, int64_t now)
{
	for (size_t i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry **pp = &rl->rl_buckets[i];
		while (*pp) {
			struct rl_entry *e = *pp;
			if (now - e->re_start >= window) {
				*pp = e->re_next;
				free(e);
				rl->rl_n--;
			} else {
				pp = &e->re_next;
			}
		}
	}
}

static struct rl_entry *
insert(struct app_ratelimit *rl, const char *key, int window, int64_t now)
{
	size_t len = strlen(key), b;
	struct rl_entry *e;

	/* A full table is swept at most once a second: a flood of new keys
	 * must not turn every request into a walk over the whole table. */
	if (rl->rl_n >= rl->rl_max && now != rl->rl_swept) {
		sweep(rl, window, now);
		rl->rl_swept = now;
	}
	if (rl->rl_n >= rl->rl_max)
		return NULL;
	e = calloc(1, sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	memcpy(e->re_key, key, len + 1);
	e->re_start = now;
	b = bucket_of(rl, key);
	e->re_next = rl->rl_buckets[b];
	rl->rl_buckets[b] = e;
	rl->rl_n++;
	return e;
}

int
ratelimit_hit(struct app_ratelimit *rl, const struct ratelimit_check *checks, size_t n, int window, int64_t now,
	size_t *which)
{
	struct rl_entry *found[8];
	int rc = SL_OK;

	if (n > sizeof(found) / sizeof(found[0]))
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (strlen(checks[i].rc_key) >= APP_RL_KEY_MAX)
			return SL_EINVAL;
	pthread_mutex_lock(&rl->rl_lock);
	/* First judge every key, then count: all or none. */
	for (size_t i = 0; i < n && rc == SL_OK; i++) {
		struct rl_entry *e = find(rl, checks[i].rc_key);
		if (e != NULL && now - e->re_start >= window) {
			e->re_start = now;
			e->re_count = 0;
		}
		if (checks[i].rc_limit <= 0 || (e != NULL && e->re_count >= checks[i].rc_limit)) {
			*which = i;
			rc = SL_ETOOBIG;
		}
		found[i] = e;
	}
	for (size_t i = 0; i < n && rc == SL_OK; i++) {
		if (found[i] == NULL && (found[i] = insert(rl, checks[i].rc_key, window, now)) == NULL)
			rc = SL_EBUSY;
	}
	/* A key inserted just now counts from zero, so a failure to insert
	 * a later one leaves the earlier ones at no cost. */
	for (size_t i = 0; i < n && rc == SL_OK; i++)
		found[i]->re_count++;
	pthread_mutex_unlock(&rl->rl_lock);
	return rc;
}

size_t
ratelimit_size(struct app_ratelimit *rl)
{
	size_t n;

	pthread_mutex_lock(&rl->rl_lock);
	n = rl->rl_n;
	pthread_mutex_unlock(&rl->rl_lock);
	return n;
}

void
app_rate_ip_key(const char *ip, char *out, size_t len)
{
	struct in6_addr a6;

	/* A subscriber gets a /56 (or a /48) of IPv6: count the /56, or one
	 * customer could spread over 256 budgets and fill the table. */
	if (ip != NULL && strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a6) == 1) {
		memset(a6.s6_addr + 7, 0, 9);
		if (inet_ntop(AF_INET6, &a6, out, (socklen_t)len) != NULL) {
			sl_strlcpy(out + strlen(out), "/56", len - strlen(out));
			return;
		}
	}
	sl_strlcpy(out, ip ? ip : "", len);
}
