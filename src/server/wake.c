/*
 * wake.c — waking suspended requests on every node.  A change that a
 * request may be waiting for (a confirmation, a new request for a phone, a
 * finished session) calls server_wake after committing it; the store
 * carries the key to every node's listener (store_notify: this node's at
 * once, the others' through PostgreSQL's NOTIFY), and the listener wakes
 * that node's waiters on the key.
 */
#include "server.h"

static void
on_store_event(void *arg, const char *key)
{
	struct server *srv = arg;

	/* NULL: the listener was cut off and events may have been missed;
	 * every waiter looks at its state again. */
	if (key == NULL)
		waiter_notify_all(srv->sv_waiters);
	else
		waiter_notify(srv->sv_waiters, key);
}

int
server_listen(struct server *srv, struct sl_err *err)
{
	return store_listen(srv->sv_store, on_store_event, srv, err);
}

void
server_wake(struct server *srv, const char *key)
{
	/* A failure to reach the other nodes is logged by the store; their
	 * waiters answer at their deadline and the client polls again. */
	(void)store_notify(srv->sv_store, key);
}
