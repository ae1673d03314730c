/*
 * outbound — calls to upstreams (a bank, an SMS gateway, a CIBA client's
 * ping endpoint, the push webhook) off the event loops.
 *
 * A handler must never wait on an upstream on libmicrohttpd's thread: a
 * hanging upstream would hold one of `[server] threads` loops per request,
 * and a few of them stop every login.  Instead:
 *
 *   outbound_call()   suspends the request (a waiter under a key of its
 *                     own, as a long-poll), queues `run` for a worker and
 *                     returns; the worker runs it and wakes the key, and
 *                     the handler runs again and reads the result with
 *                     outbound_result().  The request's deadline bounds
 *                     the wait (queued time included).
 *   outbound_post()   fire and forget: the answer does not depend on it.
 *
 * The pool is `threads` workers and a queue of `queue_max` jobs, both
 * bounded: a full queue is SL_EBUSY at once (the caller answers 503 with
 * Retry-After), never a block.  A call whose request gave up (its deadline
 * passed, its connection closed) before a worker took it is dropped
 * without running.
 *
 * Shutdown is bounded: outbound_close() stops taking work (SL_EBUSY: the
 * handler answers 503 with Retry-After), ends every queued call at once
 * (its request runs again with OUTBOUND_STOPPING: a 503) and fixes the
 * moment running calls are aborted; outbound_drain() waits for them up
 * to that moment, then aborts them: httpc calls on a worker see the abort
 * in their progress callback (libcurl calls it at least once a second),
 * and a socket a worker registered with outbound_watch() is shut down at
 * once.  outbound_free() closes and drains (abort at once) if not done.
 */
#ifndef SL_OUTBOUND_H
#define SL_OUTBOUND_H

#include "../http/http.h"
#include "../waiter/waiter.h"

#define OUTBOUND_RETRY_AFTER "5" /* seconds, the Retry-After of a 503 for a full queue */

struct outbound;

/* `reg` (borrowed) is where suspended callers wait; it must outlive the pool. */
struct outbound *outbound_new(int threads, int queue_max, struct waiter_registry *reg, struct sl_err *err);
void outbound_free(struct outbound *ob);

/* What became of the calls at shutdown, for the log and the audit. */
struct outbound_report {
	size_t or_dropped; /* queued, ended without running */
	size_t or_finished; /* running, ended by themselves before the abort */
	size_t or_aborted; /* running at the abort */
};

/* Stop taking work and end what is queued; running calls are aborted
 * from `abort_at_ms` (sl_monotonic_ms() clock) on.  Idempotent. */
void outbound_close(struct outbound *ob, int64_t abort_at_ms);
/* Wait for the running calls up to the abort moment, abort the rest and
 * join the workers: returns about a second after that moment (libcurl's
 * progress callback period) — except for an OCSP/CRL fetch still in its
 * TCP connect (OpenSSL's HTTP client hands over the socket only once
 * connected), which ends by its own timeout ([eid] revocation_timeout),
 * then finds the pool aborted and does not send.  `out` may be NULL. */
void outbound_drain(struct outbound *ob, struct outbound_report *out);

/* For code that blocks on a socket of its own on a worker (OpenSSL's HTTP
 * client for OCSP and CRLs): register it, so an abort shuts it down.
 * SL_EBUSY when the pool aborts already (do not start the transfer);
 * SL_OK and no effect off a worker.  unwatch before closing the socket. */
int outbound_watch(int fd);
void outbound_unwatch(void);

/* Jobs: run(arg) on a worker thread, then free_fn(arg) (also when the job
 * is dropped without running; free_fn may be NULL). */
typedef void (*outbound_fn)(void *arg);

/* Queue a fire-and-forget job.  SL_EBUSY when the queue is full or the
 * pool stops: nothing was queued and the caller still owns arg. */
int outbound_post(struct outbound *ob, outbound_fn run, outbound_fn free_fn, void *arg);

/* Suspend `rq` and queue run(arg); arg belongs to the call from now on,
 * also on failure.  SL_OK: the handler returns and runs again later;
 * SL_EBUSY (queue full, or stopping) or SL_ETOOBIG (waiters full): the
 * handler answers 503 at once. */
int outbound_call(struct outbound *ob, struct http_request *rq, int64_t deadline_ms, outbound_fn run,
	outbound_fn free_fn, void *arg);

enum outbound_state {
	OUTBOUND_NONE, /* no call: the handler's first run */
	OUTBOUND_DONE, /* run() returned: all of *arg is readable until the request ends */
	OUTBOUND_WAITING, /* woken for nothing, waiting again: return at once */
	OUTBOUND_TIMEOUT, /* the deadline passed first: answer 504 */
	OUTBOUND_STOPPING, /* the server stops: answer 503 */
	OUTBOUND_FULL, /* never from outbound_result(): see outbound_refused() */
};

/* When outbound_call() refused (not SL_OK), why, for the handler's answer
 * (503 either way) and its audit record: OUTBOUND_STOPPING once the pool
 * is closed (the server stops), OUTBOUND_FULL otherwise (the queue or the
 * waiters were full, or no memory). */
enum outbound_state outbound_refused(struct outbound *ob);

/* On the handler's second run: what became of its call.  *arg is the
 * call's arg in every state but NONE; unless DONE, a worker may still be
 * running it: read only what run() does not write (the call's inputs). */
enum outbound_state outbound_result(struct http_request *rq, void **arg);

/* Jobs queued and running now (for tests and metrics). */
size_t outbound_pending(struct outbound *ob);

#endif
