/*
 * notify.c — notifications between nodes (store.h): the engine-neutral
 * part.  This node's listener is called at once by store_notify; the other
 * nodes hear it through the engine: under PostgreSQL a NOTIFY on a pooled
 * connection (pg_notify.c listens), under SQLite nobody, since there is
 * only one node — store_listen takes an exclusive lock on a file next to
 * the database, so a second sleuteld on the same file is refused rather
 * than left waiting for wake-ups that never come.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "notify_int.h"

/* The SQLite node lock: <database>-node.lock. */
#define NODE_LOCK_SUFFIX "-node.lock"

struct notifier {
	store_listen_fn n_fn;
	void *n_arg;
	char n_node[NOTIFY_NODE_LEN + 1];
	int n_lockfd; /* sqlite: the node lock, held while listening; else -1 */
	struct pg_listener *n_pg; /* postgresql */
};

const char *const store_sql_notify[Q_COUNT] = {
	/* Delivered at the end of its (one-statement) transaction. */
	[Q_NOTIFY] = "SELECT pg_notify(?1, ?2)",
};

static bool
is_pg(struct store *st)
{
	return strcmp(store_engine_name(st), "postgresql") == 0;
}

const char *
notify_payload_key(const char *payload, const char *self)
{
	const char *sp = payload ? strchr(payload, ' ') : NULL;
	size_t klen;

	if (sp == NULL || (size_t)(sp - payload) != NOTIFY_NODE_LEN)
		return NULL;
	if (self != NULL && strncmp(payload, self, NOTIFY_NODE_LEN) == 0)
		return NULL; /* this node's own: its listener was called already */
	klen = strlen(sp + 1);
	return klen > 0 && klen < STORE_NOTIFY_KEY_MAX ? sp + 1 : NULL;
}

/* One sleuteld per SQLite file: a second one would not hear the first's
 * notifications.  flock() goes with the process, even on SIGKILL. */
static int
node_lock(const char *db, struct sl_err *err)
{
	size_t n = strlen(db) + sizeof(NODE_LOCK_SUFFIX);
	char *path = malloc(n);
	int fd;

	if (path == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	snprintf(path, n, "%s%s", db, NODE_LOCK_SUFFIX);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		sl_fail(err, SL_EIO, "%s: %s", path, strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		fd = -1;
		if (e == EWOULDBLOCK)
			sl_fail(err, SL_EBUSY,
				"another sleuteld serves %s: SQLite is for one node; several nodes need "
				"[store] engine = postgresql",
				db);
		else
			sl_fail(err, SL_EIO, "%s: %s", path, strerror(e));
	}
	free(path);
	return fd;
}

int
store_listen(struct store *st, store_listen_fn fn, void *arg, struct sl_err *err)
{
	struct notifier **slot = store_notifier(st), *n;
	uint8_t id[NOTIFY_NODE_LEN / 2];

	if (*slot != NULL)
		return sl_fail(err, SL_EINVAL, "the store already has a listener");
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	n->n_fn = fn;
	n->n_arg = arg;
	n->n_lockfd = -1;
	if (sl_random(id, sizeof(id)) != SL_OK) {
		free(n);
		return sl_fail(err, SL_ECRYPTO, "no randomness for the node id");
	}
	sl_hex(id, sizeof(id), n->n_node);
	if (is_pg(st)) {
		n->n_pg = pg_listener_start(store_opt_conninfo(st), n->n_node, fn, arg, err);
		if (n->n_pg == NULL) {
			free(n);
			return SL_ESTORE;
		}
	} else if (store_opt_path(st) != NULL && strcmp(store_opt_path(st), ":memory:") != 0) {
		n->n_lockfd = node_lock(store_opt_path(st), err);
		if (n->n_lockfd < 0) {
			int rc = err->code;
			free(n);
			return rc;
		}
	}
	*slot = n;
	return SL_OK;
}

void
store_unlisten(struct store *st)
{
	struct notifier **slot = store_notifier(st), *n = *slot;

	if (n == NULL)
		return;
	pg_listener_stop(n->n_pg);
	if (n->n_lockfd >= 0)
		close(n->n_lockfd);
	free(n);
	*slot = NULL;
}

/* NOTIFY on a pooled connection, in a transaction of its own: it follows
 * the commit of the change it announces, so a node that hears it reads
 * the new state. */
static int
publish(struct store *st, const char *payload)
{
	const struct bind b[] = { BT(NOTIFY_CHANNEL), BT(payload) };
	struct conn *c = conn_get(st);
	struct stmt *s = stmt_bound(c, Q_NOTIFY, b, NBIND(b));
	int rc = step_row(c, s) == SL_OK ? SL_OK : SL_ESTORE;

	stmt_reset(s);
	conn_put(st, c);
	return rc;
}

int
store_notify(struct store *st, const char *key)
{
	const struct notifier *n = *store_notifier(st);
	char payload[NOTIFY_NODE_LEN + 1 + STORE_NOTIFY_KEY_MAX];
	int rc = SL_OK;

	if (key == NULL || key[0] == '\0' || strlen(key) >= STORE_NOTIFY_KEY_MAX)
		return SL_EINVAL;
	if (n != NULL)
		n->n_fn(n->n_arg, key);
	if (is_pg(st)) {
		/* Without a listener (the CLI) the node id is zeros: nobody skips it. */
		snprintf(payload, sizeof(payload), "%s %s", n ? n->n_node : "0000000000000000", key);
		rc = publish(st, payload);
		/* The key may name a login: not logged. */
		if (rc != SL_OK)
			log_warn("could not tell the other nodes about an event (the store did not answer)");
	}
	return rc;
}
