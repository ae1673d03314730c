/*
 * test_outbound.c — the outbound pool: every posted job runs once and is
 * freed once; a full queue refuses at once (never blocks); shutdown drops
 * what is queued (freed, not run) and waits for what runs; a stop closes
 * the queue at once and aborts calls hanging on a real socket (an httpc
 * call, a socket registered with outbound_watch) at its deadline.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "../../src/httpc/httpc.h"
#include "../../src/outbound/outbound.h"

struct counts {
	atomic_int ran;
	atomic_int freed;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool release; /* the blocking job may return */
	bool started; /* the blocking job runs */
};

static void
count_run(void *arg)
{
	struct counts *c = arg;

	atomic_fetch_add(&c->ran, 1);
}

static void
count_free(void *arg)
{
	struct counts *c = arg;

	atomic_fetch_add(&c->freed, 1);
}

/* Holds its worker until c->release: a hanging upstream. */
static void
block_run(void *arg)
{
	struct counts *c = arg;

	pthread_mutex_lock(&c->lock);
	c->started = true;
	pthread_cond_broadcast(&c->cond);
	while (!c->release)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_add(&c->ran, 1);
}

static void
counts_init(struct counts *c)
{
	atomic_init(&c->ran, 0);
	atomic_init(&c->freed, 0);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->release = c->started = false;
}

static void
wait_started(struct counts *c)
{
	pthread_mutex_lock(&c->lock);
	while (!c->started)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

static void
release(struct counts *c)
{
	pthread_mutex_lock(&c->lock);
	c->release = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* A pool of `threads` and `queue`, with the registry its calls would use. */
struct pool {
	struct waiter_registry *reg;
	struct outbound *ob;
};

static struct pool
pool_new(int threads, int queue)
{
	struct sl_err err;
	struct pool p = { waiter_registry_new(16, &err), NULL };

	assert_non_null(p.reg);
	p.ob = outbound_new(threads, queue, p.reg, &err);
	assert_non_null(p.ob);
	return p;
}

/* A pool whose one worker hangs on `blk` until released; `c` counts
 * the other jobs. */
struct hung {
	struct pool h_pool;
	struct counts h_blk;
	struct counts h_c;
};

static void
hung_setup(struct hung *h, int queue, outbound_fn blk_free)
{
	h->h_pool = pool_new(1, queue);
	counts_init(&h->h_blk);
	counts_init(&h->h_c);
	assert_int_equal(outbound_post(h->h_pool.ob, block_run, blk_free, &h->h_blk), SL_OK);
	wait_started(&h->h_blk);
}

/* The hung pool (queue 8, its blocking job freed too) and `n` counted jobs
 * queued behind it. */
static void
hung_with_queued(struct hung *h, int n)
{
	hung_setup(h, 8, count_free);
	for (int i = 0; i < n; i++)
		assert_int_equal(outbound_post(h->h_pool.ob, count_run, count_free, &h->h_c), SL_OK);
}

static void
test_every_job_runs_once(void **state)
{
	struct pool p = pool_new(3, 1000);
	struct outbound *ob = p.ob;
	struct counts c;

	(void)state;
	counts_init(&c);
	for (int i = 0; i < 500; i++)
		assert_int_equal(outbound_post(ob, count_run, count_free, &c), SL_OK);
	for (int i = 0; i < 500 && atomic_load(&c.freed) < 500; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&c.ran), 500);
	assert_int_equal(atomic_load(&c.freed), 500);
	assert_int_equal(outbound_pending(ob), 0);
	outbound_free(ob);
	waiter_registry_free(p.reg);
}

static void
test_full_queue_refuses_at_once(void **state)
{
	struct hung h;
	struct outbound *ob;
	int64_t t0;

	(void)state;
	hung_setup(&h, 2, NULL);
	ob = h.h_pool.ob;
	assert_int_equal(outbound_post(ob, count_run, count_free, &h.h_c), SL_OK);
	assert_int_equal(outbound_post(ob, count_run, count_free, &h.h_c), SL_OK);
	t0 = sl_monotonic_ms();
	assert_int_equal(outbound_post(ob, count_run, count_free, &h.h_c), SL_EBUSY);
	assert_true(sl_monotonic_ms() - t0 < 100);
	assert_int_equal(outbound_refused(ob), OUTBOUND_FULL); /* full, not stopping */
	assert_int_equal(atomic_load(&h.h_c.freed), 0); /* refused: still the caller's */
	assert_int_equal(outbound_pending(ob), 3);
	release(&h.h_blk);
	for (int i = 0; i < 500 && atomic_load(&h.h_c.freed) < 2; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&h.h_c.ran), 2);
	assert_int_equal(outbound_post(ob, count_run, count_free, &h.h_c), SL_OK);
	outbound_free(ob);
	assert_int_equal(atomic_load(&h.h_c.freed), 3);
	waiter_registry_free(h.h_pool.reg);
}

static void *
release_later(void *arg)
{
	usleep(100000);
	release(arg);
	return NULL;
}

static void
test_shutdown_drops_queued_waits_running(void **state)
{
	struct hung h;
	pthread_t t;

	(void)state;
	hung_with_queued(&h, 3);
	pthread_create(&t, NULL, release_later, &h.h_blk);
	outbound_free(h.h_pool.ob); /* drops the 3 queued, waits for the running one */
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&h.h_blk.ran), 1);
	assert_int_equal(atomic_load(&h.h_blk.freed), 1);
	assert_int_equal(atomic_load(&h.h_c.ran), 0);
	assert_int_equal(atomic_load(&h.h_c.freed), 3);
	outbound_free(NULL);
	waiter_registry_free(h.h_pool.reg);
}

static void
test_close_refuses_and_ends_queued(void **state)
{
	struct hung h;
	struct outbound_report r;
	pthread_t t;

	(void)state;
	hung_with_queued(&h, 3);
	outbound_close(h.h_pool.ob, sl_monotonic_ms() + 10000);
	/* queued: ended at once, unrun; new work: refused */
	assert_int_equal(atomic_load(&h.h_c.freed), 3);
	assert_int_equal(atomic_load(&h.h_c.ran), 0);
	assert_int_equal(outbound_post(h.h_pool.ob, count_run, count_free, &h.h_c), SL_EBUSY);
	assert_int_equal(outbound_refused(h.h_pool.ob), OUTBOUND_STOPPING); /* audited as a stop */
	assert_int_equal(outbound_pending(h.h_pool.ob), 1);
	pthread_create(&t, NULL, release_later, &h.h_blk);
	outbound_drain(h.h_pool.ob, &r); /* the running one ends by itself before its deadline */
	pthread_join(t, NULL);
	assert_int_equal(r.or_dropped, 3);
	assert_int_equal(r.or_finished, 1);
	assert_int_equal(r.or_aborted, 0);
	assert_int_equal(atomic_load(&h.h_blk.ran), 1);
	outbound_free(h.h_pool.ob);
	waiter_registry_free(h.h_pool.reg);
}

/* A TCP listener that completes handshakes (the kernel's backlog) and
 * never answers: a hanging upstream. */
static int
hanging_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

struct hang_call {
	int hc_port;
	atomic_int *hc_started;
	int hc_rc;
	int64_t hc_ms; /* how long the call lasted */
};

/* An httpc GET with a 30 s timeout to the listener. */
static void
http_hang_run(void *arg)
{
	struct hang_call *hc = arg;
	char url[64];
	struct httpc_request rq = { .hr_method = "GET", .hr_url = url, .hr_timeout = 30 };
	struct httpc_response res;
	struct sl_err err = { 0 };
	int64_t t0 = sl_monotonic_ms();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", hc->hc_port);
	atomic_fetch_add(hc->hc_started, 1);
	hc->hc_rc = httpc_do(&rq, &res, &err);
	httpc_response_clear(&res);
	hc->hc_ms = sl_monotonic_ms() - t0;
}

/* A blocking read of its own on a registered socket (as OpenSSL's OCSP
 * client does): SL_OK when the read ended with no data. */
static void
socket_hang_run(void *arg)
{
	struct hang_call *hc = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int64_t t0 = sl_monotonic_ms();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char b;

	a.sin_port = htons((uint16_t)hc->hc_port);
	hc->hc_rc = SL_ERR;
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && outbound_watch(fd) == SL_OK) {
		atomic_fetch_add(hc->hc_started, 1);
		hc->hc_rc = recv(fd, &b, 1, 0) <= 0 ? SL_OK : SL_ERR; /* blocks until shut down */
		outbound_unwatch();
	}
	if (fd >= 0)
		close(fd);
	hc->hc_ms = sl_monotonic_ms() - t0;
}

static void
test_drain_aborts_hanging_calls(void **state)
{
	struct pool p = pool_new(3, 4);
	struct outbound_report r;
	struct hang_call hc[3];
	atomic_int started;
	int port, lfd = hanging_listener(&port);
	int64_t t0;

	(void)state;
	atomic_init(&started, 0);
	for (int i = 0; i < 3; i++) {
		hc[i] = (struct hang_call){ .hc_port = port, .hc_started = &started, .hc_rc = 1 };
		assert_int_equal(outbound_post(p.ob, i < 2 ? http_hang_run : socket_hang_run, NULL, &hc[i]), SL_OK);
	}
	for (int i = 0; i < 500 && atomic_load(&started) < 3; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&started), 3);
	usleep(200000); /* the two GETs sent, waiting for an answer */
	t0 = sl_monotonic_ms();
	outbound_close(p.ob, t0 + 300);
	outbound_drain(p.ob, &r);
	/* the deadline, plus at most about a second of libcurl's progress period */
	assert_true(sl_monotonic_ms() - t0 >= 290);
	assert_true(sl_monotonic_ms() - t0 < 300 + 1500);
	assert_int_equal(r.or_aborted, 3);
	assert_int_equal(r.or_finished, 0);
	assert_int_equal(hc[0].hc_rc, SL_EBUSY);
	assert_int_equal(hc[1].hc_rc, SL_EBUSY);
	assert_int_equal(hc[2].hc_rc, SL_OK);
	for (int i = 0; i < 3; i++)
		assert_true(hc[i].hc_ms < 3000);
	/* once aborted: a worker's new call does not start, off a worker nothing changes */
	assert_int_equal(outbound_watch(lfd), SL_OK);
	outbound_unwatch();
	outbound_free(p.ob);
	close(lfd);
	waiter_registry_free(p.reg);
}

static void
test_bad_sizes(void **state)
{
	struct sl_err err;

	(void)state;
	assert_null(outbound_new(0, 4, NULL, &err));
	assert_null(outbound_new(1, 0, NULL, &err));
	assert_int_equal(outbound_post(NULL, count_run, NULL, NULL), SL_EBUSY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_job_runs_once),
		cmocka_unit_test(test_full_queue_refuses_at_once),
		cmocka_unit_test(test_shutdown_drops_queued_waits_running),
		cmocka_unit_test(test_close_refuses_and_ends_queued),
		cmocka_unit_test(test_drain_aborts_hanging_calls),
		cmocka_unit_test(test_bad_sizes),
	};

	if (httpc_global_init() != SL_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
