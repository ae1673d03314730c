/*
 * test_waiter.c — the waiter registry: each waiter is woken exactly once,
 * for the right reason, never before its deadline; limits; shutdown; wake
 * functions that call back into the registry; notifiers and adders on
 * several threads at once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/waiter/waiter.h"

#define FAR_MS (3600 * 1000) /* a deadline no test reaches */

/* Counts wakes across all waiters of a test, for waiting on the timer. */
struct tally {
	pthread_mutex_t ta_lock;
	pthread_cond_t ta_cond;
	int ta_n;
};

struct wctx {
	atomic_int wc_calls;
	atomic_int wc_reason;
	int64_t wc_deadline;
	int64_t wc_woke_at;
	struct tally *wc_tally;
};

static void
tally_init(struct tally *t)
{
	pthread_mutex_init(&t->ta_lock, NULL);
	pthread_cond_init(&t->ta_cond, NULL);
	t->ta_n = 0;
}

static void
tally_destroy(struct tally *t)
{
	pthread_mutex_destroy(&t->ta_lock);
	pthread_cond_destroy(&t->ta_cond);
}

/* Wait until `n` wakes were counted or `ms` passed; returns the count. */
static int
tally_wait(struct tally *t, int n, int64_t ms)
{
	int64_t end = sl_now_ms() + ms;
	int got;

	pthread_mutex_lock(&t->ta_lock);
	while (t->ta_n < n) {
		struct timespec ts;
		int64_t now = sl_now_ms();
		if (now >= end)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&t->ta_cond, &t->ta_lock, &ts);
	}
	got = t->ta_n;
	pthread_mutex_unlock(&t->ta_lock);
	return got;
}

static void
wake_count(void *arg, enum waiter_reason reason)
{
	struct wctx *c = arg;

	c->wc_woke_at = sl_monotonic_ms();
	atomic_store(&c->wc_reason, (int)reason);
	atomic_fetch_add(&c->wc_calls, 1);
	if (c->wc_tally != NULL) {
		pthread_mutex_lock(&c->wc_tally->ta_lock);
		c->wc_tally->ta_n++;
		pthread_cond_broadcast(&c->wc_tally->ta_cond);
		pthread_mutex_unlock(&c->wc_tally->ta_lock);
	}
}

static struct waiter_registry *
registry_new(size_t max)
{
	struct sl_err err = { 0 };
	struct waiter_registry *reg = waiter_registry_new(max, &err);

	if (reg == NULL)
		fail_msg("waiter_registry_new: %s", err.msg);
	return reg;
}

static void
key_of(char *buf, size_t len, const char *prefix, int i)
{
	snprintf(buf, len, "%s-%d", prefix, i);
}

/* ---- notify ---- */

#define MANY 10000
#define MANY_KEYS 100

static void
test_notify_wakes_exactly_its_key(void **state)
{
	struct waiter_registry *reg = registry_new(20000);
	struct wctx *ctx = calloc(MANY, sizeof(*ctx));
	int64_t now = sl_monotonic_ms();
	char key[32];

	(void)state;
	assert_non_null(ctx);
	for (int i = 0; i < MANY; i++) {
		key_of(key, sizeof(key), "browser", i % MANY_KEYS);
		assert_int_equal(waiter_add(reg, key, now + FAR_MS, wake_count, &ctx[i]), SL_OK);
	}
	assert_int_equal(waiter_count(reg), MANY);

	for (int k = 0; k < MANY_KEYS / 2; k++) {
		key_of(key, sizeof(key), "browser", k);
		assert_int_equal(waiter_notify(reg, key), MANY / MANY_KEYS);
	}
	for (int i = 0; i < MANY; i++) {
		if (i % MANY_KEYS < MANY_KEYS / 2) {
			assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
			assert_int_equal(atomic_load(&ctx[i].wc_reason), WAKE_EVENT);
		} else {
			assert_int_equal(atomic_load(&ctx[i].wc_calls), 0);
		}
	}
	assert_int_equal(waiter_count(reg), MANY / 2);

	/* Notifying again, or a key nobody waits on, wakes nobody. */
	assert_int_equal(waiter_notify(reg, "browser-0"), 0);
	assert_int_equal(waiter_notify(reg, "nobody"), 0);
	assert_int_equal(waiter_notify(reg, "browser"), 0);
	assert_int_equal(atomic_load(&ctx[0].wc_calls), 1);

	/* Freeing wakes the rest, once, for shutdown; the woken stay woken once. */
	waiter_registry_free(reg);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
		assert_int_equal(
			atomic_load(&ctx[i].wc_reason), i % MANY_KEYS < MANY_KEYS / 2 ? WAKE_EVENT : WAKE_SHUTDOWN);
	}
	free(ctx);
}

/* ---- timeouts ---- */

#define TIMED 200

/* After a lost connection to the other nodes: every waiter woken once, as
 * an event, whatever its key; the registry still takes new waiters and
 * their deadlines still run. */
static void
test_notify_all_wakes_every_key(void **state)
{
	struct waiter_registry *reg = registry_new(100);
	struct wctx ctx[12];
	int64_t now = sl_monotonic_ms();
	char key[32];

	(void)state;
	memset(ctx, 0, sizeof(ctx));
	for (int i = 0; i < 10; i++) {
		key_of(key, sizeof(key), "k", i % 4);
		assert_int_equal(waiter_add(reg, key, now + FAR_MS, wake_count, &ctx[i]), SL_OK);
	}
	assert_int_equal(waiter_notify_all(reg), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
		assert_int_equal(atomic_load(&ctx[i].wc_reason), WAKE_EVENT);
	}
	assert_int_equal(waiter_count(reg), 0);
	assert_int_equal(waiter_notify_all(reg), 0);
	assert_int_equal(waiter_add(reg, "k-0", now + FAR_MS, wake_count, &ctx[10]), SL_OK);
	assert_int_equal(waiter_add(reg, "late", sl_monotonic_ms() + 50, wake_count, &ctx[11]), SL_OK);
	assert_int_equal(waiter_notify(reg, "k-0"), 1);
	for (int i = 0; i < 100 && atomic_load(&ctx[11].wc_calls) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&ctx[11].wc_reason), WAKE_TIMEOUT);
	waiter_registry_free(reg);
	for (int i = 0; i < 12; i++)
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
}

static void
test_deadline_wakes_with_timeout(void **state)
{
	struct waiter_registry *reg = registry_new(1000);
	struct wctx ctx[TIMED];
	struct tally tally;
	int64_t start = sl_monotonic_ms();
	int notified = 0;
	char key[32];

	(void)state;
	tally_init(&tally);
	memset(ctx, 0, sizeof(ctx));
	/* Deadlines 100..299 ms ahead, added in a scrambled order. */
	for (int i = 0; i < TIMED; i++) {
		int j = (i * 73) % TIMED;
		ctx[j].wc_deadline = start + 100 + j;
		ctx[j].wc_tally = &tally;
		key_of(key, sizeof(key), "t", j);
		assert_int_equal(waiter_add(reg, key, ctx[j].wc_deadline, wake_count, &ctx[j]), SL_OK);
	}
	/* Take every third out of the middle of the heap first. */
	for (int j = 0; j < TIMED; j += 3) {
		key_of(key, sizeof(key), "t", j);
		assert_int_equal(waiter_notify(reg, key), 1);
		notified++;
	}
	assert_int_equal(tally_wait(&tally, TIMED, 2000), TIMED);
	assert_true(sl_monotonic_ms() - start < 2000);
	for (int j = 0; j < TIMED; j++) {
		assert_int_equal(atomic_load(&ctx[j].wc_calls), 1);
		if (j % 3 == 0) {
			assert_int_equal(atomic_load(&ctx[j].wc_reason), WAKE_EVENT);
			continue;
		}
		assert_int_equal(atomic_load(&ctx[j].wc_reason), WAKE_TIMEOUT);
		if (ctx[j].wc_woke_at < ctx[j].wc_deadline)
			fail_msg("waiter %d woke %lld ms before its deadline", j,
				(long long)(ctx[j].wc_deadline - ctx[j].wc_woke_at));
		assert_true(ctx[j].wc_woke_at - start < 2000);
	}
	assert_int_equal(waiter_count(reg), 0);
	assert_true(notified > 0);
	waiter_registry_free(reg);
	for (int j = 0; j < TIMED; j++)
		assert_int_equal(atomic_load(&ctx[j].wc_calls), 1);
	tally_destroy(&tally);
}

static void
test_earlier_deadline_added_later_is_honoured(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct wctx late = { 0 }, soon = { 0 };
	struct tally tally;
	int64_t start = sl_monotonic_ms();

	(void)state;
	tally_init(&tally);
	late.wc_tally = &tally;
	soon.wc_tally = &tally;
	/* The timer first sleeps toward a far deadline; a nearer one must wake it. */
	assert_int_equal(waiter_add(reg, "late", start + FAR_MS, wake_count, &late), SL_OK);
	usleep(20 * 1000);
	soon.wc_deadline = sl_monotonic_ms() + 50;
	assert_int_equal(waiter_add(reg, "soon", soon.wc_deadline, wake_count, &soon), SL_OK);
	assert_int_equal(tally_wait(&tally, 1, 2000), 1);
	assert_int_equal(atomic_load(&soon.wc_calls), 1);
	assert_int_equal(atomic_load(&soon.wc_reason), WAKE_TIMEOUT);
	assert_true(soon.wc_woke_at >= soon.wc_deadline);
	assert_int_equal(atomic_load(&late.wc_calls), 0);
	assert_int_equal(waiter_count(reg), 1);
	waiter_registry_free(reg);
	assert_int_equal(atomic_load(&late.wc_calls), 1);
	assert_int_equal(atomic_load(&late.wc_reason), WAKE_SHUTDOWN);
	tally_destroy(&tally);
}

static void
test_past_deadline_wakes_at_once(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct wctx c = { 0 };
	struct tally tally;

	(void)state;
	tally_init(&tally);
	c.wc_tally = &tally;
	assert_int_equal(waiter_add(reg, "k", sl_monotonic_ms() - 1000, wake_count, &c), SL_OK);
	assert_int_equal(tally_wait(&tally, 1, 2000), 1);
	assert_int_equal(atomic_load(&c.wc_reason), WAKE_TIMEOUT);
	assert_int_equal(waiter_count(reg), 0);
	waiter_registry_free(reg);
	assert_int_equal(atomic_load(&c.wc_calls), 1);
	tally_destroy(&tally);
}

/* ---- limits ---- */

static void
test_add_past_max_is_too_big(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct wctx ctx[11];
	int64_t far = sl_monotonic_ms() + FAR_MS;

	(void)state;
	memset(ctx, 0, sizeof(ctx));
	for (int i = 0; i < 10; i++)
		assert_int_equal(waiter_add(reg, "k", far, wake_count, &ctx[i]), SL_OK);
	assert_int_equal(waiter_add(reg, "k", far, wake_count, &ctx[10]), SL_ETOOBIG);
	assert_int_equal(waiter_add(reg, "other", far, wake_count, &ctx[10]), SL_ETOOBIG);
	assert_int_equal(waiter_count(reg), 10);
	/* Refused waiters are never woken. */
	assert_int_equal(waiter_notify(reg, "k"), 10);
	assert_int_equal(atomic_load(&ctx[10].wc_calls), 0);
	/* Room again after the wake. */
	assert_int_equal(waiter_add(reg, "k", far, wake_count, &ctx[10]), SL_OK);
	waiter_registry_free(reg);
	for (int i = 0; i < 11; i++)
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
}

static void
test_key_longer_than_limit_refused(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct wctx c = { 0 }, d = { 0 };
	int64_t far = sl_monotonic_ms() + FAR_MS;
	char key[200];

	(void)state;
	memset(key, 'k', sizeof(key));
	key[128] = '\0';
	assert_int_equal(waiter_add(reg, key, far, wake_count, &c), SL_EINVAL);
	key[sizeof(key) - 1] = '\0';
	memset(key, 'k', sizeof(key) - 1);
	assert_int_equal(waiter_add(reg, key, far, wake_count, &c), SL_EINVAL);
	assert_int_equal(waiter_count(reg), 0);
	key[127] = '\0';
	assert_int_equal(waiter_add(reg, key, far, wake_count, &d), SL_OK);
	assert_int_equal(waiter_notify(reg, key), 1);
	assert_int_equal(atomic_load(&d.wc_calls), 1);
	waiter_registry_free(reg);
	assert_int_equal(atomic_load(&c.wc_calls), 0);
}

static void
test_registry_of_zero_refused(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	assert_null(waiter_registry_new(0, &err));
	assert_true(strlen(err.msg) > 0);
	waiter_registry_free(NULL);
}

/* ---- threads ---- */

#define ADDERS 4
#define NOTIFIERS 4
#define PER_ADDER 2500
#define CKEYS 16

struct race {
	struct waiter_registry *ra_reg;
	struct wctx *ra_ctx; /* ADDERS * PER_ADDER */
	atomic_int ra_adders_left;
	atomic_long ra_notified; /* sum of waiter_notify() results */
	atomic_int ra_add_failures;
};

struct adder {
	struct race *ad_race;
	int ad_id;
};

static void *
adder_main(void *arg)
{
	struct adder *ad = arg;
	struct race *ra = ad->ad_race;
	int64_t far = sl_monotonic_ms() + FAR_MS;
	char key[32];

	for (int i = 0; i < PER_ADDER; i++) {
		int n = ad->ad_id * PER_ADDER + i;
		key_of(key, sizeof(key), "c", n % CKEYS);
		if (waiter_add(ra->ra_reg, key, far, wake_count, &ra->ra_ctx[n]) != SL_OK)
			atomic_fetch_add(&ra->ra_add_failures, 1);
	}
	atomic_fetch_sub(&ra->ra_adders_left, 1);
	return NULL;
}

static void *
notifier_main(void *arg)
{
	struct race *ra = arg;
	char key[32];

	while (atomic_load(&ra->ra_adders_left) > 0) {
		for (int k = 0; k < CKEYS; k++) {
			key_of(key, sizeof(key), "c", k);
			atomic_fetch_add(&ra->ra_notified, (long)waiter_notify(ra->ra_reg, key));
		}
	}
	return NULL;
}

static void
test_notify_from_threads_while_adding(void **state)
{
	struct race ra = { 0 };
	struct adder ads[ADDERS];
	pthread_t at[ADDERS], nt[NOTIFIERS];
	const int total = ADDERS * PER_ADDER;
	char key[32];

	(void)state;
	ra.ra_reg = registry_new(20000);
	ra.ra_ctx = calloc((size_t)total, sizeof(*ra.ra_ctx));
	assert_non_null(ra.ra_ctx);
	atomic_store(&ra.ra_adders_left, ADDERS);
	for (int i = 0; i < NOTIFIERS; i++)
		assert_int_equal(pthread_create(&nt[i], NULL, notifier_main, &ra), 0);
	for (int i = 0; i < ADDERS; i++) {
		ads[i] = (struct adder){ &ra, i };
		assert_int_equal(pthread_create(&at[i], NULL, adder_main, &ads[i]), 0);
	}
	for (int i = 0; i < ADDERS; i++)
		assert_int_equal(pthread_join(at[i], NULL), 0);
	for (int i = 0; i < NOTIFIERS; i++)
		assert_int_equal(pthread_join(nt[i], NULL), 0);
	/* Whatever the notifiers missed, one last round gets. */
	for (int k = 0; k < CKEYS; k++) {
		key_of(key, sizeof(key), "c", k);
		atomic_fetch_add(&ra.ra_notified, (long)waiter_notify(ra.ra_reg, key));
	}
	assert_int_equal(atomic_load(&ra.ra_add_failures), 0);
	assert_int_equal(atomic_load(&ra.ra_notified), total);
	assert_int_equal(waiter_count(ra.ra_reg), 0);
	for (int i = 0; i < total; i++) {
		if (atomic_load(&ra.ra_ctx[i].wc_calls) != 1)
			fail_msg("waiter %d woken %d times", i, atomic_load(&ra.ra_ctx[i].wc_calls));
		assert_int_equal(atomic_load(&ra.ra_ctx[i].wc_reason), WAKE_EVENT);
	}
	waiter_registry_free(ra.ra_reg);
	for (int i = 0; i < total; i++)
		assert_int_equal(atomic_load(&ra.ra_ctx[i].wc_calls), 1);
	free(ra.ra_ctx);
}

/* ---- shutdown ---- */

static void
test_shutdown_wakes_all_then_refuses(void **state)
{
	struct waiter_registry *reg = registry_new(1000);
	struct wctx ctx[100], late = { 0 };
	int64_t far = sl_monotonic_ms() + FAR_MS;
	char key[32];

	(void)state;
	memset(ctx, 0, sizeof(ctx));
	for (int i = 0; i < 100; i++) {
		key_of(key, sizeof(key), "s", i % 7);
		assert_int_equal(waiter_add(reg, key, far - i, wake_count, &ctx[i]), SL_OK);
	}
	waiter_registry_shutdown(reg);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
		assert_int_equal(atomic_load(&ctx[i].wc_reason), WAKE_SHUTDOWN);
	}
	assert_int_equal(waiter_count(reg), 0);
	assert_int_equal(waiter_add(reg, "s-0", far, wake_count, &late), SL_EBUSY);
	assert_int_equal(waiter_notify(reg, "s-0"), 0);
	waiter_registry_shutdown(reg); /* a second time is harmless */
	waiter_registry_free(reg);
	assert_int_equal(atomic_load(&late.wc_calls), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
}

static void
test_free_wakes_pending(void **state)
{
	struct waiter_registry *reg = registry_new(100);
	struct wctx ctx[50];
	int64_t far = sl_monotonic_ms() + FAR_MS;

	(void)state;
	memset(ctx, 0, sizeof(ctx));
	for (int i = 0; i < 50; i++)
		assert_int_equal(waiter_add(reg, i % 2 ? "odd" : "even", far, wake_count, &ctx[i]), SL_OK);
	waiter_registry_free(reg);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(atomic_load(&ctx[i].wc_calls), 1);
		assert_int_equal(atomic_load(&ctx[i].wc_reason), WAKE_SHUTDOWN);
	}
}

/* ---- wake functions that call back ---- */

struct reenter {
	struct waiter_registry *re_reg;
	struct wctx re_second;
	struct wctx re_third;
	int re_add_rc;
	size_t re_notified;
	size_t re_count;
	atomic_int re_calls;
	atomic_int re_reason;
	struct tally *re_tally;
};

static void
wake_reenter(void *arg, enum waiter_reason reason)
{
	struct reenter *re = arg;

	re->re_add_rc = waiter_add(re->re_reg, "second", sl_monotonic_ms() + FAR_MS, wake_count, &re->re_second);
	re->re_notified = waiter_notify(re->re_reg, "third");
	re->re_count = waiter_count(re->re_reg);
	atomic_store(&re->re_reason, (int)reason);
	atomic_fetch_add(&re->re_calls, 1);
	if (re->re_tally != NULL) {
		pthread_mutex_lock(&re->re_tally->ta_lock);
		re->re_tally->ta_n++;
		pthread_cond_broadcast(&re->re_tally->ta_cond);
		pthread_mutex_unlock(&re->re_tally->ta_lock);
	}
}

static void
test_wake_fn_may_call_registry_on_notify(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct reenter re = { .re_reg = reg };
	int64_t far = sl_monotonic_ms() + FAR_MS;

	(void)state;
	assert_int_equal(waiter_add(reg, "first", far, wake_reenter, &re), SL_OK);
	assert_int_equal(waiter_add(reg, "third", far, wake_count, &re.re_third), SL_OK);
	assert_int_equal(waiter_notify(reg, "first"), 1);
	assert_int_equal(atomic_load(&re.re_calls), 1);
	assert_int_equal(atomic_load(&re.re_reason), WAKE_EVENT);
	assert_int_equal(re.re_add_rc, SL_OK);
	assert_int_equal(re.re_notified, 1);
	assert_int_equal(atomic_load(&re.re_third.wc_calls), 1);
	assert_int_equal(waiter_count(reg), 1); /* "second" */
	assert_int_equal(waiter_notify(reg, "second"), 1);
	assert_int_equal(atomic_load(&re.re_second.wc_calls), 1);
	waiter_registry_free(reg);
}

static void
test_wake_fn_may_call_registry_on_timeout(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct tally tally;
	struct reenter re = { .re_reg = reg, .re_tally = &tally };
	int64_t far = sl_monotonic_ms() + FAR_MS;

	(void)state;
	tally_init(&tally);
	assert_int_equal(waiter_add(reg, "third", far, wake_count, &re.re_third), SL_OK);
	assert_int_equal(waiter_add(reg, "first", sl_monotonic_ms() + 20, wake_reenter, &re), SL_OK);
	assert_int_equal(tally_wait(&tally, 1, 2000), 1);
	assert_int_equal(atomic_load(&re.re_reason), WAKE_TIMEOUT);
	assert_int_equal(re.re_add_rc, SL_OK);
	assert_int_equal(re.re_notified, 1);
	assert_int_equal(atomic_load(&re.re_third.wc_calls), 1);
	/* The timer thread is still alive after the re-entry. */
	assert_int_equal(waiter_notify(reg, "second"), 1);
	memset(&re.re_second, 0, sizeof(re.re_second));
	re.re_second.wc_tally = &tally;
	assert_int_equal(waiter_add(reg, "second", sl_monotonic_ms() + 20, wake_count, &re.re_second), SL_OK);
	assert_int_equal(tally_wait(&tally, 2, 2000), 2);
	assert_int_equal(atomic_load(&re.re_second.wc_reason), WAKE_TIMEOUT);
	waiter_registry_free(reg);
	tally_destroy(&tally);
}

static void
test_wake_fn_may_call_registry_on_shutdown(void **state)
{
	struct waiter_registry *reg = registry_new(10);
	struct reenter re = { .re_reg = reg };

	(void)state;
	assert_int_equal(waiter_add(reg, "first", sl_monotonic_ms() + FAR_MS, wake_reenter, &re), SL_OK);
	waiter_registry_free(reg);
	assert_int_equal(atomic_load(&re.re_calls), 1);
	assert_int_equal(atomic_load(&re.re_reason), WAKE_SHUTDOWN);
	assert_int_equal(re.re_add_rc, SL_EBUSY);
	assert_int_equal(re.re_notified, 0);
	assert_int_equal(atomic_load(&re.re_second.wc_calls), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_wakes_exactly_its_key),
		cmocka_unit_test(test_notify_all_wakes_every_key),
		cmocka_unit_test(test_deadline_wakes_with_timeout),
		cmocka_unit_test(test_earlier_deadline_added_later_is_honoured),
		cmocka_unit_test(test_past_deadline_wakes_at_once),
		cmocka_unit_test(test_add_past_max_is_too_big),
		cmocka_unit_test(test_key_longer_than_limit_refused),
		cmocka_unit_test(test_registry_of_zero_refused),
		cmocka_unit_test(test_notify_from_threads_while_adding),
		cmocka_unit_test(test_shutdown_wakes_all_then_refuses),
		cmocka_unit_test(test_free_wakes_pending),
		cmocka_unit_test(test_wake_fn_may_call_registry_on_notify),
		cmocka_unit_test(test_wake_fn_may_call_registry_on_timeout),
		cmocka_unit_test(test_wake_fn_may_call_registry_on_shutdown),
	};

	/* A deadlock fails the run here rather than at the harness timeout. */
	alarm(100);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
