/* notify_int.h — between notify.c (the engine-neutral part of the store's
 * notifications) and pg_notify.c (PostgreSQL's LISTEN connection); not
 * public. */
#ifndef SL_STORE_NOTIFY_INT_H
#define SL_STORE_NOTIFY_INT_H

#include "store_int.h"

/* The one channel every node LISTENs on and NOTIFYs to. */
#define NOTIFY_CHANNEL "sleutel_wake"
/* A node's id in a payload: hex of 8 random bytes. */
#define NOTIFY_NODE_LEN 16

/* The payload "<node id> <key>"; a key from another node, or NULL when
 * the payload is not one (or is this node's own). */
const char *notify_payload_key(const char *payload, const char *self);

struct pg_listener;
/* Connect with `conninfo`, LISTEN, and call fn(arg, key) on a thread of
 * its own for every other node's key; re-connect when the connection is
 * lost (with a growing pause, up to PG_LISTEN_BACKOFF_MAX_MS) and then
 * call fn(arg, NULL).  Fails (SL_ESTORE) only when the first connection
 * cannot be made. */
struct pg_listener *pg_listener_start(
	const char *conninfo, const char *self, store_listen_fn fn, void *arg, struct sl_err *err);
/* Stop the thread (joined) and close its connection; NULL is a no-op. */
void pg_listener_stop(struct pg_listener *l);

#endif
