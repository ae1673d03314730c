/*
 * waiter — the registry of suspended requests (Redis's blocked.c is the
 * model).  A request that must wait for something (the browser for the
 * phone, the phone for a request) registers a waiter under a key and its
 * connection is suspended: it costs memory, not a thread.  Three things end
 * a wait, and each calls the waiter's wake function exactly once, outside
 * the registry lock, from whichever thread caused it:
 *
 *   WAKE_EVENT     waiter_notify() for its key (any thread);
 *   WAKE_TIMEOUT   its deadline passed (the registry's timer thread);
 *   WAKE_SHUTDOWN  waiter_registry_shutdown() (every waiter, then refuse new).
 *
 * The wake function typically resumes the suspended connection; the handler
 * then answers (with the event's result, or 204 so the client polls again).
 * After the wake function returns the registry forgets the waiter: its
 * handle must not be used again.  Limits: `max` waiters in all.
 */
#ifndef SL_WAITER_H
#define SL_WAITER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"

enum waiter_reason { WAKE_EVENT = 1, WAKE_TIMEOUT, WAKE_SHUTDOWN };

typedef void (*waiter_wake_fn)(void *arg, enum waiter_reason reason);

struct waiter_registry;

struct waiter_registry *waiter_registry_new(size_t max, struct sl_err *err);
/* Wakes every remaining waiter (WAKE_SHUTDOWN), stops the timer, frees. */
void waiter_registry_free(struct waiter_registry *reg);
/* Register a waiter under `key` until `deadline_ms` (sl_monotonic_ms()).
 * SL_ETOOBIG when the registry is full, SL_EBUSY after shutdown. */
int waiter_add(struct waiter_registry *reg, const char *key, int64_t deadline_ms, waiter_wake_fn fn, void *arg);
/* Wake every waiter on `key`; returns how many were woken. */
size_t waiter_notify(struct waiter_registry *reg, const char *key);
/* Wake every waiter (WAKE_EVENT), whatever its key: when events may have
 * been missed (another node's notifications lost while the connection
 * that carries them was down), each handler looks at its state again and
 * answers or the client polls again.  Returns how many were woken. */
size_t waiter_notify_all(struct waiter_registry *reg);
/* Wake everything and refuse new waiters from now on. */
void waiter_registry_shutdown(struct waiter_registry *reg);
size_t waiter_count(struct waiter_registry *reg);

#endif
