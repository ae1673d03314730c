/*
 * waiter.c — the waiter registry.
 *
 * Waiters live in two structures under one mutex: a hash table of keys
 * (chained, each chain a list of waiters on the same or colliding keys) for
 * waiter_notify(), and a binary min-heap on the deadline for the timer
 * thread, which sleeps on a condition variable until the earliest deadline
 * or until a new earliest one arrives.  Waking removes a waiter from both
 * structures under the lock, collects it on a private list, and calls the
 * wake functions after the lock is released, so a wake function may call
 * back into the registry.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "waiter.h"

#define WAITER_KEY_MAX 128

/* The key is stored to its length at the end: a waiter lives as long as
 * its long-poll, and a node holds up to [portal] max_waiters of them. */
struct waiter {
	uint64_t w_hash;
	int64_t w_deadline;
	size_t w_heap; /* index in the heap */
	waiter_wake_fn w_fn;
	void *w_arg;
	struct waiter *w_next; /* hash chain */
	struct waiter *w_prev;
	struct waiter *w_woken; /* private list during a wake */
	enum waiter_reason w_reason;
	char w_key[];
};

struct waiter_registry {
	pthread_mutex_t wr_lock;
	pthread_cond_t wr_cond;
	pthread_t wr_timer;
	struct waiter **wr_buckets;
	size_t wr_nbuckets; /* power of two */
	struct waiter **wr_heap;
	size_t wr_count;
	size_t wr_max;
	bool wr_stopping;
	bool wr_timer_running;
};

static uint64_t
key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- heap on w_deadline ---- */

static void
heap_swap(struct waiter_registry *reg, size_t a, size_t b)
{
	struct waiter *t = reg->wr_heap[a];

	reg->wr_heap[a] = reg->wr_heap[b];
	reg->wr_heap[b] = t;
	reg->wr_heap[a]->w_heap = a;
	reg->wr_heap[b]->w_heap = b;
}

static void
heap_up(struct waiter_registry *reg, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (reg->wr_heap[p]->w_deadline <= reg->wr_heap[i]->w_deadline)
			break;
		heap_swap(reg, i, p);
		i = p;
	}
}

static void
heap_down(struct waiter_registry *reg, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < reg->wr_count && reg->wr_heap[l]->w_deadline < reg->wr_heap[m]->w_deadline)
			m = l;
		if (r < reg->wr_count && reg->wr_heap[r]->w_deadline < reg->wr_heap[m]->w_deadline)
			m = r;
		if (m == i)
			break;
		heap_swap(reg, i, m);
		i = m;
	}
}

/* Remove from both structures and push on the woken list. */
static void
detach(struct waiter_registry *reg, struct waiter *w, enum waiter_reason why, struct waiter **woken)
{
	size_t i = w->w_heap, last = reg->wr_count - 1;

	if (i != last) {
		heap_swap(reg, i, last);
		reg->wr_count--;
		heap_down(reg, i);
		heap_up(reg, i);
	} else {
		reg->wr_count--;
	}
	if (w->w_prev)
		w->w_prev->w_next = w->w_next;
	else
		reg->wr_buckets[w->w_hash & (reg->wr_nbuckets - 1)] = w->w_next;
	if (w->w_next)
		w->w_next->w_prev = w->w_prev;
	w->w_reason = why;
	w->w_woken = *woken;
	*woken = w;
}

static void
wake_list(struct waiter *woken)
{
	while (woken != NULL) {
		struct waiter *next = woken->w_woken;
		waiter_wake_fn fn = woken->w_fn;
		void *arg = woken->w_arg;
		enum waiter_reason why = woken->w_reason;

		/* Forgotten before the call: the wake function may add again. */
		free(woken);
		fn(arg, why);
		woken = next;
	}
}

static void *
timer_main(void *arg)
{
	struct waiter_registry *reg = arg;

	pthread_mutex_lock(&reg->wr_lock);
	while (!reg->wr_stopping) {
		struct waiter *woken = NULL;
		int64_t now = sl_monotonic_ms();

		while (reg->wr_count > 0 && reg->wr_heap[0]->w_deadline <= now)
			detach(reg, reg->wr_heap[0], WAKE_TIMEOUT, &woken);
		if (woken != NULL) {
			pthread_mutex_unlock(&reg->wr_lock);
			wake_list(woken);
			pthread_mutex_lock(&reg->wr_lock);
			continue;
		}
		if (reg->wr_count == 0) {
			pthread_cond_wait(&reg->wr_cond, &reg->wr_lock);
		} else {
			/* The condvar uses CLOCK_MONOTONIC (set at creation). */
			int64_t due = reg->wr_heap[0]->w_deadline;
			struct timespec ts = { .tv_sec = due / 1000, .tv_nsec = (due % 1000) * 1000000 };
			pthread_cond_timedwait(&reg->wr_cond, &reg->wr_lock, &ts);
		}
	}
	pthread_mutex_unlock(&reg->wr_lock);
	return NULL;
}

struct waiter_registry *
waiter_registry_new(size_t max, struct sl_err *err)
{
	struct waiter_registry *reg = calloc(1, sizeof(*reg));
	pthread_condattr_t ca;
	size_t nb = 64;

	if (reg == NULL || max == 0)
		goto nomem;
	while (nb < max / 2 && nb < ((size_t)1 << 20))
		nb *= 2;
	reg->wr_nbuckets = nb;
	reg->wr_max = max;
	reg->wr_buckets = calloc(nb, sizeof(struct waiter *));
	reg->wr_heap = calloc(max, sizeof(struct waiter *));
	if (reg->wr_buckets == NULL || reg->wr_heap == NULL)
		goto nomem;
	pthread_mutex_init(&reg->wr_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&reg->wr_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&reg->wr_timer, NULL, timer_main, reg) != 0) {
		pthread_mutex_destroy(&reg->wr_lock);
		pthread_cond_destroy(&reg->wr_cond);
		goto nomem;
	}
	reg->wr_timer_running = true;
	return reg;
nomem:
	if (reg) {
		free(reg->wr_buckets);
		free(reg->wr_heap);
		free(reg);
	}
	sl_fail(err, SL_ENOMEM, "cannot create the waiter registry");
	return NULL;
}

int
waiter_add(struct waiter_registry *reg, const char *key, int64_t deadline_ms, waiter_wake_fn fn, void *arg)
{
	struct waiter *w;
	size_t b, klen = strlen(key);

	if (klen >= WAITER_KEY_MAX)
		return SL_EINVAL;
	w = calloc(1, sizeof(*w) + klen + 1);
	if (w == NULL)
		return SL_ENOMEM;
	memcpy(w->w_key, key, klen + 1);
	w->w_hash = key_hash(key);
	w->w_deadline = deadline_ms;
	w->w_fn = fn;
	w->w_arg = arg;
	pthread_mutex_lock(&reg->wr_lock);
	if (reg->wr_stopping || reg->wr_count >= reg->wr_max) {
		int rc = reg->wr_stopping ? SL_EBUSY : SL_ETOOBIG;
		pthread_mutex_unlock(&reg->wr_lock);
		free(w);
		return rc;
	}
	b = w->w_hash & (reg->wr_nbuckets - 1);
	w->w_next = reg->wr_buckets[b];
	if (w->w_next)
		w->w_next->w_prev = w;
	reg->wr_buckets[b] = w;
	w->w_heap = reg->wr_count;
	reg->wr_heap[reg->wr_count++] = w;
	heap_up(reg, w->w_heap);
	if (w->w_heap == 0)
		pthread_cond_signal(&reg->wr_cond);
	pthread_mutex_unlock(&reg->wr_lock);
	return SL_OK;
}

size_t
waiter_notify(struct waiter_registry *reg, const char *key)
{
	uint64_t h = key_hash(key);
	struct waiter *w, *next, *woken = NULL;
	size_t n = 0;

	pthread_mutex_lock(&reg->wr_lock);
	for (w = reg->wr_buckets[h & (reg->wr_nbuckets - 1)]; w != NULL; w = next) {
		next = w->w_next;
		if (w->w_hash == h && strcmp(w->w_key, key) == 0) {
			detach(reg, w, WAKE_EVENT, &woken);
			n++;
		}
	}
	pthread_mutex_unlock(&reg->wr_lock);
	wake_list(woken);
	return n;
}

/* Take every waiter out of both structures and wake each with `reason`
 * (outside the lock); `stop` also refuses new waiters from now on. */
static size_t
wake_all(struct waiter_registry *reg, enum waiter_reason reason, bool stop)
{
	struct waiter *woken = NULL;
	size_t n;

	pthread_mutex_lock(&reg->wr_lock);
	if (stop)
		reg->wr_stopping = true;
	/* Take the heap array as it is, then empty both structures. */
	for (size_t i = 0; i < reg->wr_count; i++) {
		struct waiter *w = reg->wr_heap[i];
		w->w_reason = reason;
		w->w_woken = woken;
		woken = w;
	}
	n = reg->wr_count;
	reg->wr_count = 0;
	memset(reg->wr_buckets, 0, reg->wr_nbuckets * sizeof(struct waiter *));
	/* The timer's earliest deadline went with them. */
	pthread_cond_signal(&reg->wr_cond);
	pthread_mutex_unlock(&reg->wr_lock);
	wake_list(woken);
	return n;
}

size_t
waiter_notify_all(struct waiter_registry *reg)
{
	return wake_all(reg, WAKE_EVENT, false);
}

void
waiter_registry_shutdown(struct waiter_registry *reg)
{
	(void)wake_all(reg, WAKE_SHUTDOWN, true);
}

size_t
waiter_count(struct waiter_registry *reg)
{
	size_t n;

	pthread_mutex_lock(&reg->wr_lock);
	n = reg->wr_count;
	pthread_mutex_unlock(&reg->wr_lock);
	return n;
}

void
waiter_registry_free(struct waiter_registry *reg)
{
	if (reg == NULL)
		return;
	waiter_registry_shutdown(reg);
	if (reg->wr_timer_running)
		pthread_join(reg->wr_timer, NULL);
	pthread_mutex_destroy(&reg->wr_lock);
	pthread_cond_destroy(&reg->wr_cond);
	free(reg->wr_buckets);
	free(reg->wr_heap);
	free(reg);
}
