/*
 * outbound.c — the worker pool behind outbound_call() and outbound_post().
 *
 * A small pool of threads and a bounded FIFO under one mutex, rather than
 * libcurl's multi interface on a thread of its own: the upstream calls
 * are not single transfers but short sequences with logic between them
 * (a bank callback is discovery, token, JWKS, userinfo, each depending on
 * the one before; an SMS send retries with a pause), all written with
 * httpc's blocking calls and each bounded by its own timeout.  A worker
 * runs such a sequence as it is; what the pool bounds is how many run at
 * once (threads) and how many wait (queue_max), and the event loops never
 * wait on either.
 *
 * A call is shared by the request (its per-request data) and the worker
 * that runs it, and freed by whichever lets go last (c_refs).  The worker
 * wakes the call's waiter key after run() returned; a request that gave
 * up first (deadline, closed connection) is simply no longer waiting.
 *
 * Aborting at shutdown: each worker knows itself through a thread-local
 * pointer (as errno is thread-local), so the upstream code it runs needs
 * no new parameter: httpc is told once per worker which flag aborts its
 * calls, and outbound_watch() finds the worker's socket slot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "outbound.h"
#include "../httpc/httpc.h"

#define OB_KEY_MAX 40

struct ob_call {
	atomic_int c_refs; /* the request's and the worker's */
	atomic_bool c_done; /* run() returned: c_arg holds the result */
	atomic_bool c_cancelled; /* dropped at shutdown without running */
	struct waiter_registry *c_reg;
	struct outbound *c_ob;
	struct ob_job *c_job; /* while queued; under ob_lock */
	int64_t c_deadline;
	outbound_fn c_run;
	outbound_fn c_free;
	void *c_arg;
	char c_key[OB_KEY_MAX];
};

struct ob_job {
	struct ob_job *j_next;
	outbound_fn j_run; /* post: the job; call: NULL (c_run) */
	outbound_fn j_free;
	void *j_arg;
	struct ob_call *j_call; /* NULL for a post */
};

/* One worker thread: its socket slot is read by the aborting thread. */
struct ob_worker {
	struct outbound *w_ob;
	pthread_t w_thread;
	int w_fd; /* the socket its call waits on (outbound_watch), or -1; under ob_lock */
};

struct outbound {
	pthread_mutex_t ob_lock;
	pthread_cond_t ob_cond;
	pthread_cond_t ob_idle; /* a job ended (CLOCK_MONOTONIC) */
	struct ob_job *ob_head, *ob_tail;
	size_t ob_queued;
	size_t ob_reserved; /* slots held by callers between the check and the push */
	size_t ob_running;
	size_t ob_max;
	bool ob_stopping;
	bool ob_drained;
	atomic_bool ob_abort; /* running calls end now; read by httpc's progress callback */
	int64_t ob_abort_at; /* when ob_abort is set (sl_monotonic_ms) */
	size_t ob_dropped; /* calls ended unrun by outbound_close */
	struct waiter_registry *ob_reg;
	uint64_t ob_seq; /* for call keys; under ob_lock */
	struct ob_worker *ob_workers;
	int ob_nthreads;
};

static _Thread_local struct ob_worker *tl_worker;

static void
call_release(void *p)
{
	struct ob_call *c = p;

	if (c == NULL || atomic_fetch_sub(&c->c_refs, 1) != 1)
		return;
	if (c->c_free != NULL)
		c->c_free(c->c_arg);
	free(c);
}

static bool
call_finished(void *p)
{
	struct ob_call *c = p;

	return atomic_load(&c->c_done) || atomic_load(&c->c_cancelled);
}

/* A call's end, run or not: the request, if it still waits, runs again. */
static void
call_end(struct ob_call *c, bool ran)
{
	if (ran)
		atomic_store(&c->c_done, true);
	else
		atomic_store(&c->c_cancelled, true);
	waiter_notify(c->c_reg, c->c_key);
	call_release(c);
}

static void
job_run(struct ob_job *j)
{
	struct ob_call *c = j->j_call;

	if (c == NULL) {
		j->j_run(j->j_arg);
		if (j->j_free != NULL)
			j->j_free(j->j_arg);
	} else if (atomic_load(&c->c_refs) == 1) {
		/* The request is gone (deadline, closed): nobody to answer. */
		call_end(c, false);
	} else {
		c->c_run(c->c_arg);
		call_end(c, true);
	}
	free(j);
}

static void
job_drop(struct ob_job *j)
{
	if (j->j_call != NULL)
		call_end(j->j_call, false);
	else if (j->j_free != NULL)
		j->j_free(j->j_arg);
	free(j);
}

static void *
worker_main(void *arg)
{
	struct ob_worker *w = arg;
	struct outbound *ob = w->w_ob;

	tl_worker = w;
	httpc_abort_on(&ob->ob_abort);
	pthread_mutex_lock(&ob->ob_lock);
	for (;;) {
		struct ob_job *j;

		while (!ob->ob_stopping && ob->ob_head == NULL)
			pthread_cond_wait(&ob->ob_cond, &ob->ob_lock);
		if (ob->ob_stopping)
			break;
		j = ob->ob_head;
		ob->ob_head = j->j_next;
		if (ob->ob_head == NULL)
			ob->ob_tail = NULL;
		ob->ob_queued--;
		if (j->j_call != NULL)
			j->j_call->c_job = NULL;
		ob->ob_running++;
		pthread_mutex_unlock(&ob->ob_lock);
		job_run(j);
		pthread_mutex_lock(&ob->ob_lock);
		ob->ob_running--;
		w->w_fd = -1; /* a call that forgot to unwatch */
		pthread_cond_broadcast(&ob->ob_idle);
	}
	pthread_mutex_unlock(&ob->ob_lock);
	return NULL;
}

struct outbound *
outbound_new(int threads, int queue_max, struct waiter_registry *reg, struct sl_err *err)
{
	struct outbound *ob = calloc(1, sizeof(*ob));
	pthread_condattr_t ca;

	if (ob == NULL || threads < 1 || queue_max < 1 ||
		(ob->ob_workers = calloc((size_t)threads, sizeof(*ob->ob_workers))) == NULL) {
		free(ob);
		return sl_fail(err, SL_ENOMEM, "cannot create the outbound pool"), NULL;
	}
	pthread_mutex_init(&ob->ob_lock, NULL);
	pthread_cond_init(&ob->ob_cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ob->ob_idle, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&ob->ob_abort, false);
	ob->ob_max = (size_t)queue_max;
	ob->ob_reg = reg;
	for (; ob->ob_nthreads < threads; ob->ob_nthreads++) {
		struct ob_worker *w = &ob->ob_workers[ob->ob_nthreads];
		w->w_ob = ob;
		w->w_fd = -1;
		if (pthread_create(&w->w_thread, NULL, worker_main, w) != 0) {
			outbound_free(ob);
			return sl_fail(err, SL_ERR, "cannot start the outbound workers"), NULL;
		}
	}
	return ob;
}

void
outbound_close(struct outbound *ob, int64_t abort_at_ms)
{
	struct ob_job *dropped;
	size_t n = 0;

	if (ob == NULL)
		return;
	pthread_mutex_lock(&ob->ob_lock);
	if (ob->ob_stopping) {
		pthread_mutex_unlock(&ob->ob_lock);
		return;
	}
	ob->ob_stopping = true;
	ob->ob_abort_at = abort_at_ms;
	dropped = ob->ob_head;
	ob->ob_head = ob->ob_tail = NULL;
	ob->ob_queued = 0;
	pthread_cond_broadcast(&ob->ob_cond);
	pthread_mutex_unlock(&ob->ob_lock);
	/* Each call's request runs again now and answers 503. */
	while (dropped != NULL) {
		struct ob_job *next = dropped->j_next;
		job_drop(dropped);
		dropped = next;
		n++;
	}
	pthread_mutex_lock(&ob->ob_lock);
	ob->ob_dropped = n;
	pthread_mutex_unlock(&ob->ob_lock);
	if (n > 0)
		log_warn("outbound: %zu queued upstream calls dropped at shutdown", n);
}

/* Set the abort flag and shut down the sockets the calls wait on (the
 * worker reads or writes them no more: the next read fails at once).
 * Under ob_lock, so a slot is never a socket already closed. */
static void
abort_locked(struct outbound *ob)
{
	atomic_store(&ob->ob_abort, true);
	for (int i = 0; i < ob->ob_nthreads; i++)
		if (ob->ob_workers[i].w_fd >= 0)
			shutdown(ob->ob_workers[i].w_fd, SHUT_RDWR);
}

void
outbound_drain(struct outbound *ob, struct outbound_report *out)
{
	struct outbound_report r = { 0 };
	size_t running;
	struct timespec until;

	if (ob == NULL)
		return;
	outbound_close(ob, sl_monotonic_ms());
	pthread_mutex_lock(&ob->ob_lock);
	if (ob->ob_drained) {
		pthread_mutex_unlock(&ob->ob_lock);
		if (out != NULL)
			*out = r;
		return;
	}
	running = ob->ob_running;
	until.tv_sec = (time_t)(ob->ob_abort_at / 1000);
	until.tv_nsec = (long)(ob->ob_abort_at % 1000) * 1000000L;
	while (ob->ob_running > 0 && sl_monotonic_ms() < ob->ob_abort_at)
		pthread_cond_timedwait(&ob->ob_idle, &ob->ob_lock, &until);
	r.or_aborted = ob->ob_running;
	r.or_finished = running - ob->ob_running;
	r.or_dropped = ob->ob_dropped;
	abort_locked(ob);
	ob->ob_drained = true;
	pthread_mutex_unlock(&ob->ob_lock);
	for (int i = 0; i < ob->ob_nthreads; i++)
		pthread_join(ob->ob_workers[i].w_thread, NULL);
	if (r.or_aborted > 0)
		log_warn("outbound: %zu running upstream calls aborted at shutdown", r.or_aborted);
	if (out != NULL)
		*out = r;
}

void
outbound_free(struct outbound *ob)
{
	if (ob == NULL)
		return;
	outbound_drain(ob, NULL);
	pthread_mutex_destroy(&ob->ob_lock);
	pthread_cond_destroy(&ob->ob_cond);
	pthread_cond_destroy(&ob->ob_idle);
	free(ob->ob_workers);
	free(ob);
}

int
outbound_watch(int fd)
{
	struct ob_worker *w = tl_worker;
	int rc = SL_OK;

	if (w == NULL)
		return SL_OK;
	pthread_mutex_lock(&w->w_ob->ob_lock);
	if (atomic_load(&w->w_ob->ob_abort))
		rc = SL_EBUSY;
	else
		w->w_fd = fd;
	pthread_mutex_unlock(&w->w_ob->ob_lock);
	return rc;
}

void
outbound_unwatch(void)
{
	struct ob_worker *w = tl_worker;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->w_ob->ob_lock);
	w->w_fd = -1;
	pthread_mutex_unlock(&w->w_ob->ob_lock);
}

/* Append under the lock; the caller checked the room. */
static void
push_locked(struct outbound *ob, struct ob_job *j)
{
	if (ob->ob_tail != NULL)
		ob->ob_tail->j_next = j;
	else
		ob->ob_head = j;
	ob->ob_tail = j;
	ob->ob_queued++;
	pthread_cond_signal(&ob->ob_cond);
}

static bool
room_locked(const struct outbound *ob)
{
	return !ob->ob_stopping && ob->ob_queued + ob->ob_reserved < ob->ob_max;
}

int
outbound_post(struct outbound *ob, outbound_fn run, outbound_fn free_fn, void *arg)
{
	struct ob_job *j = calloc(1, sizeof(*j));
	int rc = SL_EBUSY;

	if (ob == NULL || j == NULL) {
		free(j);
		return SL_EBUSY;
	}
	*j = (struct ob_job){ .j_run = run, .j_free = free_fn, .j_arg = arg };
	pthread_mutex_lock(&ob->ob_lock);
	if (room_locked(ob)) {
		push_locked(ob, j);
		rc = SL_OK;
	}
	pthread_mutex_unlock(&ob->ob_lock);
	if (rc != SL_OK)
		free(j);
	return rc;
}

int
outbound_call(struct outbound *ob, struct http_request *rq, int64_t deadline_ms, outbound_fn run, outbound_fn free_fn,
	void *arg)
{
	struct ob_call *c = calloc(1, sizeof(*c));
	struct ob_job *j = calloc(1, sizeof(*j));
	bool room;
	int rc;

	if (ob == NULL || c == NULL || j == NULL) {
		free(c);
		free(j);
		if (free_fn != NULL)
			free_fn(arg);
		return SL_EBUSY;
	}
	atomic_init(&c->c_refs, 1);
	c->c_reg = ob->ob_reg;
	c->c_ob = ob;
	c->c_deadline = deadline_ms;
	c->c_run = run;
	c->c_free = free_fn;
	c->c_arg = arg;
	/* The request owns the call from here; its end releases it. */
	http_set_data(rq, c, call_release);
	/* Hold a slot before suspending: a full queue is answered at once,
	 * and a suspended request always gets its job queued. */
	pthread_mutex_lock(&ob->ob_lock);
	room = room_locked(ob);
	if (room)
		ob->ob_reserved++;
	snprintf(c->c_key, sizeof(c->c_key), "outbound:%llu", (unsigned long long)++ob->ob_seq);
	pthread_mutex_unlock(&ob->ob_lock);
	if (!room) {
		free(j);
		return SL_EBUSY;
	}
	rc = http_wait(rq, ob->ob_reg, c->c_key, deadline_ms);
	pthread_mutex_lock(&ob->ob_lock);
	ob->ob_reserved--;
	if (rc == SL_OK && !ob->ob_stopping) {
		atomic_fetch_add(&c->c_refs, 1);
		*j = (struct ob_job){ .j_call = c };
		c->c_job = j;
		push_locked(ob, j);
		j = NULL;
	}
	pthread_mutex_unlock(&ob->ob_lock);
	if (j != NULL && rc == SL_OK) {
		/* Stopped meanwhile: the request waits for nothing; wake it. */
		atomic_store(&c->c_cancelled, true);
		waiter_notify(ob->ob_reg, c->c_key);
	}
	free(j);
	return rc;
}

/* A call whose request gave up leaves the queue at once: its slot is
 * free for a request that still waits. */
static void
call_unqueue(struct ob_call *c)
{
	struct outbound *ob = c->c_ob;
	struct ob_job *prev = NULL, *j;

	pthread_mutex_lock(&ob->ob_lock);
	for (j = ob->ob_head; j != NULL && j != c->c_job; j = j->j_next)
		prev = j;
	if (j != NULL) {
		if (prev != NULL)
			prev->j_next = j->j_next;
		else
			ob->ob_head = j->j_next;
		if (ob->ob_tail == j)
			ob->ob_tail = prev;
		ob->ob_queued--;
		c->c_job = NULL;
	}
	pthread_mutex_unlock(&ob->ob_lock);
	if (j != NULL)
		job_drop(j);
}

enum outbound_state
outbound_result(struct http_request *rq, void **arg)
{
	struct ob_call *c = http_get_data(rq);

	*arg = NULL;
	if (c == NULL || http_wake_reason(rq) == 0)
		return OUTBOUND_NONE;
	*arg = c->c_arg;
	if (atomic_load(&c->c_done))
		return OUTBOUND_DONE;
	if (atomic_load(&c->c_cancelled))
		return OUTBOUND_STOPPING;
	switch (http_wake_reason(rq)) {
	case WAKE_TIMEOUT: call_unqueue(c); return OUTBOUND_TIMEOUT;
	case WAKE_EVENT:
		/* Every waiter is woken when other nodes' wake-ups may have been
		 * lost (waiter_notify_all): not ours; wait again. */
		return http_wait_recheck(rq, c->c_reg, c->c_key, c->c_deadline, call_finished, c) == SL_OK
			       ? OUTBOUND_WAITING
			       : OUTBOUND_STOPPING;
	default: return OUTBOUND_STOPPING;
	}
}

enum outbound_state
outbound_refused(struct outbound *ob)
{
	bool stopping = true;

	if (ob != NULL) {
		pthread_mutex_lock(&ob->ob_lock);
		stopping = ob->ob_stopping;
		pthread_mutex_unlock(&ob->ob_lock);
	}
	return stopping ? OUTBOUND_STOPPING : OUTBOUND_FULL;
}

size_t
outbound_pending(struct outbound *ob)
{
	size_t n;

	pthread_mutex_lock(&ob->ob_lock);
	n = ob->ob_queued + ob->ob_running;
	pthread_mutex_unlock(&ob->ob_lock);
	return n;
}
