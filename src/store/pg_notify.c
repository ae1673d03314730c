/*
 * pg_notify.c — a node's LISTEN connection to PostgreSQL: its own PGconn
 * (made from the store's conninfo, not from the pool, since it blocks in
 * poll for as long as the node runs) on its own thread.
 *
 * The thread polls the connection's socket and a pipe that stop() writes
 * to, reads what arrived (PQconsumeInput) and hands every other node's key
 * to the listener.  A lost connection (the server restarted, the backend
 * was terminated, a network cut found by TCP keepalives) is made again
 * after a pause that doubles up to PG_LISTEN_BACKOFF_MAX_MS; notifications
 * sent meanwhile are lost, so after each reconnect the listener is called
 * with NULL and every waiter looks at its state again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "notify_int.h"

#define PG_LISTEN_BACKOFF_MIN_MS 50
#define PG_LISTEN_BACKOFF_MAX_MS 2000
/* How long poll() sleeps before it checks the connection's state anyway. */
#define PG_LISTEN_TICK_MS 5000

struct pg_listener {
	char *pl_conninfo;
	char pl_self[NOTIFY_NODE_LEN + 1];
	store_listen_fn pl_fn;
	void *pl_arg;
	PGconn *pl_conn;
	int pl_stop[2]; /* a byte on [1] ends the thread */
	pthread_t pl_thread;
	bool pl_running;
};

/* The server's notices (and the FATAL of a terminated backend) would go
 * to stderr; a lost connection is logged by the loop instead. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A connection that LISTENs, or NULL (the reason in `err` when given). */
static PGconn *
listen_connect(const struct pg_listener *l, struct sl_err *err)
{
	/* Ours first: the operator's conninfo (expanded from dbname) comes
	 * after and overrides them.  Keepalives find a silent network cut. */
	const char *const keys[] = { "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "application_name", "dbname", NULL };
	const char *const values[] = { "5", "1", "10", "5", "3", "sleuteld-listen", l->pl_conninfo, NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	PGresult *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message names host and user, never the password. */
		if (err != NULL)
			sl_fail(err, SL_ESTORE, "PostgreSQL (listen): %s",
				conn ? PQerrorMessage(conn) : "out of memory");
		else
			log_warn("PostgreSQL (listen): %s", conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet, NULL);
	res = PQexec(conn, "LISTEN " NOTIFY_CHANNEL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (err != NULL)
			sl_fail(err, SL_ESTORE, "PostgreSQL LISTEN: %s", PQerrorMessage(conn));
		else
			log_warn("PostgreSQL LISTEN: %s", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/* Wait for `fd` to be readable or for stop, up to `ms` (-1: no bound).
 * Returns 1 (readable), 0 (timeout), -1 (stop). */
static int
wait_for(const struct pg_listener *l, int fd, int ms)
{
	struct pollfd p[2] = { { l->pl_stop[0], POLLIN, 0 }, { fd, POLLIN, 0 } };
	int r;

	do
		r = poll(p, fd >= 0 ? 2 : 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0 || p[0].revents != 0)
		return -1;
	return r > 0 ? 1 : 0;
}

/* Hand every notification that arrived to the listener. */
static void
deliver(struct pg_listener *l)
{
	PGnotify *nt;

	while ((nt = PQnotifies(l->pl_conn)) != NULL) {
		const char *key = notify_payload_key(nt->extra, l->pl_self);
		if (key != NULL)
			l->pl_fn(l->pl_arg, key);
		PQfreemem(nt);
	}
}

/* Read until the connection is lost (returns 0) or stop (-1). */
static int
listen_loop(struct pg_listener *l)
{
	for (;;) {
		int fd = PQsocket(l->pl_conn);
		/* libpq closes the socket when it reads the end of the stream. */
		if (fd < 0 || PQstatus(l->pl_conn) != CONNECTION_OK)
			return 0;
		/* Readable or the tick: read either way (the tick finds a
		 * connection whose state changed without a byte). */
		if (wait_for(l, fd, PG_LISTEN_TICK_MS) < 0)
			return -1;
		if (!PQconsumeInput(l->pl_conn) || PQstatus(l->pl_conn) != CONNECTION_OK)
			return 0;
		deliver(l);
	}
}

static void *
listener_main(void *arg)
{
	struct pg_listener *l = arg;
	int backoff = PG_LISTEN_BACKOFF_MIN_MS;

	for (;;) {
		if (listen_loop(l) < 0)
			break;
		log_warn("PostgreSQL: the LISTEN connection was lost (%s); connecting again",
			PQerrorMessage(l->pl_conn));
		PQfinish(l->pl_conn);
		l->pl_conn = NULL;
		while (l->pl_conn == NULL) {
			if (wait_for(l, -1, backoff) < 0)
				return NULL;
			l->pl_conn = listen_connect(l, NULL);
			if (backoff < PG_LISTEN_BACKOFF_MAX_MS)
				backoff =
					backoff * 2 > PG_LISTEN_BACKOFF_MAX_MS ? PG_LISTEN_BACKOFF_MAX_MS : backoff * 2;
		}
		backoff = PG_LISTEN_BACKOFF_MIN_MS;
		log_info("PostgreSQL: listening again; waking every waiter to look again");
		l->pl_fn(l->pl_arg, NULL);
	}
	return NULL;
}

struct pg_listener *
pg_listener_start(const char *conninfo, const char *self, store_listen_fn fn, void *arg, struct sl_err *err)
{
	struct pg_listener *l = calloc(1, sizeof(*l));

	if (l == NULL || (l->pl_conninfo = strdup(conninfo ? conninfo : "")) == NULL) {
		free(l);
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	}
	l->pl_stop[0] = l->pl_stop[1] = -1;
	sl_strlcpy(l->pl_self, self, sizeof(l->pl_self));
	l->pl_fn = fn;
	l->pl_arg = arg;
	if (pipe2(l->pl_stop, O_CLOEXEC) != 0) {
		sl_fail(err, SL_ERR, "pipe: %s", strerror(errno));
		pg_listener_stop(l);
		return NULL;
	}
	if ((l->pl_conn = listen_connect(l, err)) == NULL) {
		pg_listener_stop(l);
		return NULL;
	}
	if (pthread_create(&l->pl_thread, NULL, listener_main, l) != 0) {
		sl_fail(err, SL_ERR, "cannot start the PostgreSQL listener thread");
		pg_listener_stop(l);
		return NULL;
	}
	l->pl_running = true;
	return l;
}

void
pg_listener_stop(struct pg_listener *l)
{
	if (l == NULL)
		return;
	if (l->pl_running) {
		ssize_t w;
		do
			w = write(l->pl_stop[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(l->pl_thread, NULL);
	}
	PQfinish(l->pl_conn);
	if (l->pl_stop[0] >= 0)
		close(l->pl_stop[0]);
	if (l->pl_stop[1] >= 0)
		close(l->pl_stop[1]);
	if (l->pl_conninfo != NULL)
		OPENSSL_cleanse(l->pl_conninfo, strlen(l->pl_conninfo));
	free(l->pl_conninfo);
	free(l);
}
