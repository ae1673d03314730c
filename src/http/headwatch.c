/* headwatch.c — a deadline on a new connection's first request head.
 *
 * libmicrohttpd's connection_timeout counts inactivity: a client that
 * sends its headers one byte a second (slowloris) is never idle and keeps
 * its connection until the memory pool fills, hours later.  The watch
 * remembers every connection from its start (MHD's connection notifier)
 * until its first request head is complete (the first call of the access
 * handler); a thread shuts down the socket of one still without a head
 * after `header_timeout` seconds, and libmicrohttpd then sees the end of
 * the stream and closes the connection itself.  The socket is shut down
 * under the watch's lock and a connection leaves the list (in the
 * notifier's CLOSED call, which libmicrohttpd makes before it closes the
 * descriptor), so a shut down descriptor is never one reused by another
 * connection. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http_int.h"

struct head_entry {
	struct head_entry *he_prev, *he_next; /* in the list while waiting for its head */
	int he_fd;
	int64_t he_deadline_ms;
	bool he_listed;
};

struct head_watch {
	pthread_mutex_t hw_lock;
	pthread_cond_t hw_cond;
	pthread_t hw_thread;
	bool hw_stop;
	int hw_timeout_s;
	struct head_entry hw_list; /* sentinel */
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
unlist(struct head_entry *e)
{
	if (!e->he_listed)
		return;
	e->he_prev->he_next = e->he_next;
	e->he_next->he_prev = e->he_prev;
	e->he_listed = false;
}

static void *
reaper(void *arg)
{
	struct head_watch *hw = arg;
	struct timespec until;

	pthread_mutex_lock(&hw->hw_lock);
	while (!hw->hw_stop) {
		int64_t now = mono_ms();
		struct head_entry *e = hw->hw_list.he_next;

		/* Entries are listed in the order of their start: the first not
		 * yet due ends the pass. */
		while (e != &hw->hw_list && e->he_deadline_ms <= now) {
			struct head_entry *next = e->he_next;

			shutdown(e->he_fd, SHUT_RDWR);
			unlist(e);
			e = next;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&hw->hw_cond, &hw->hw_lock, &until);
	}
	pthread_mutex_unlock(&hw->hw_lock);
	return NULL;
}

struct head_watch *
headwatch_new(int timeout_s)
{
	struct head_watch *hw = calloc(1, sizeof(*hw));

	if (hw == NULL)
		return NULL;
	hw->hw_timeout_s = timeout_s;
	hw->hw_list.he_next = hw->hw_list.he_prev = &hw->hw_list;
	pthread_mutex_init(&hw->hw_lock, NULL);
	pthread_cond_init(&hw->hw_cond, NULL);
	if (pthread_create(&hw->hw_thread, NULL, reaper, hw) != 0) {
		pthread_cond_destroy(&hw->hw_cond);
		pthread_mutex_destroy(&hw->hw_lock);
		free(hw);
		return NULL;
	}
	return hw;
}

void
headwatch_free(struct head_watch *hw)
{
	if (hw == NULL)
		return;
	pthread_mutex_lock(&hw->hw_lock);
	hw->hw_stop = true;
	pthread_cond_signal(&hw->hw_cond);
	pthread_mutex_unlock(&hw->hw_lock);
	pthread_join(hw->hw_thread, NULL);
	pthread_cond_destroy(&hw->hw_cond);
	pthread_mutex_destroy(&hw->hw_lock);
	free(hw);
}

/* MHD_OPTION_NOTIFY_CONNECTION: list a new connection, forget a closed one. */
void
headwatch_notify(
	void *cls, struct MHD_Connection *conn, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct head_watch *hw = cls;
	struct head_entry *e = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (e = calloc(1, sizeof(*e))) == NULL)
			return; /* unwatched: connection_timeout still holds */
		e->he_fd = ci->connect_fd;
		e->he_deadline_ms = mono_ms() + (int64_t)hw->hw_timeout_s * 1000;
		pthread_mutex_lock(&hw->hw_lock);
		e->he_prev = hw->hw_list.he_prev;
		e->he_next = &hw->hw_list;
		e->he_prev->he_next = e;
		hw->hw_list.he_prev = e;
		e->he_listed = true;
		pthread_mutex_unlock(&hw->hw_lock);
		*socket_context = e;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && e != NULL) {
		pthread_mutex_lock(&hw->hw_lock);
		unlist(e);
		pthread_mutex_unlock(&hw->hw_lock);
		free(e);
		*socket_context = NULL;
	}
}

/* The connection's first request head is complete: no deadline now. */
void
headwatch_done(struct head_watch *hw, void *entry)
{
	struct head_entry *e = entry;

	if (e == NULL || !e->he_listed)
		return;
	pthread_mutex_lock(&hw->hw_lock);
	unlist(e);
	pthread_mutex_unlock(&hw->hw_lock);
}
