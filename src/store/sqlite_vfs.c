/*
 * sqlite_vfs.c — the SQLite engine's file layer: the platform's VFS with
 * one change, the writes of a transaction to its write-ahead log go to
 * the kernel as one write at its commit instead of two per page.
 *
 * Why: SQLite appends each page of a commit to the WAL as a 24-byte frame
 * header and the page, each its own pwrite; a login's commits write about
 * 18 pages, so 37 of the 107 system calls of a login were these writes,
 * and on a virtual machine a system call's exit is the cost
 * (docs/performance.md).  Here a WAL file keeps the bytes SQLite writes
 * one after another in a buffer and hands them to the real file in one
 * write when the commit frame's page arrives, so SQLite's xWrite of the
 * commit returns only once the whole transaction is written (its error,
 * if any, is the commit's); before anything that must see the file as
 * written (a read, a sync, its size, a truncation, a write elsewhere in the
 * file, closing); and when the buffer is full.
 *
 * Why it is safe: a frame becomes visible to readers (this process or
 * another) only when the writer updates the WAL index header in shared
 * memory, which SQLite does after the commit frame's xWrite (and its
 * xSync, when the transaction is durable) returned: by then the bytes are
 * in the kernel, as before.  Frames of a transaction not yet committed
 * are invisible either way; a crash loses them either way.  Durability is
 * unchanged: fdatasync runs on the same bytes at the same point.  Every
 * other file (the database, its shared memory, journals) is the
 * platform's own, untouched: xOpen gives it the platform's methods.
 *
 * Group commit (sqlite_wal_mark, sqlite_wal_sync_to).  The store commits
 * every transaction at `synchronous = NORMAL`: SQLite writes the frames
 * and does not sync the WAL inside COMMIT, where it would hold the write
 * lock for the whole fdatasync and no other commit could share it.  A
 * durable transaction instead takes a mark after its COMMIT, still on the
 * writers' turn (the bytes this WAL file handed to the kernel so far,
 * its frames included), and after the turn is released waits until a
 * sync covers the mark: the first waiter to find no sync running syncs
 * the file for everyone (the leader), noting what was written before it
 * began; those who committed meanwhile wait for it and, when it did not
 * cover them, the next leader syncs once for all of them.  Each answer is
 * still released only after the sync that covers its commit, so an
 * acknowledged write survives a power cut as with `synchronous = FULL`.
 * SQLite's own syncs of the WAL (its header at a restart, before a
 * checkpoint) count too.  Checkpoints are safe at NORMAL by SQLite's own
 * design: it syncs the WAL before copying frames into the database and
 * the database before the WAL may start over, so the WAL never restarts
 * over frames the database does not hold durably; the mark counts bytes,
 * not offsets, so a restart does not confuse it.  What changes: a durable
 * commit is visible to the node's other requests from its COMMIT, up to
 * one sync before it is durable.  An answer that reports it waits for the
 * sync; a later write that read it is later in the log, so no sync keeps
 * that one and loses this one.
 *
 * The VFS is registered once per process under its own name (SQLite's
 * list of VFSes is process-wide); the struct is immutable after that.
 * Each WAL file belongs to one connection, which one thread uses at a
 * time (the store's pool), so its buffer needs no lock; the group-commit
 * fields are shared with the threads waiting for a sync after their turn,
 * under wf_lock (the written count is atomic: the writer adds to it
 * without the lock).  Syncs of the real file (the leader's, SQLite's own)
 * take wf_sync_lock: the platform's xSync updates the file's flags.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

#define WAL_FRAME_HEADER 24
/* The most a WAL file buffers: a transaction larger than this (a
 * migration, a purge) goes out in pieces of this size.  The platform's
 * xWrite takes at most 128 KiB - 1 at once (SQLite's unix VFS masks the
 * length to 17 bits): 120 KiB is 29 frames of 4 KiB pages, more than a
 * login's largest commit. */
#define WAL_BUFFER_MAX ((size_t)120 * 1024)

struct wal_file {
	sqlite3_file wf_base; /* pMethods: wal_methods */
	sqlite3_file *wf_real; /* the platform's file, in the same allocation */
	unsigned char *wf_buf;
	size_t wf_len, wf_cap;
	sqlite3_int64 wf_start; /* the file offset of wf_buf[0] */
	/* The offset of the commit frame's page, once its header was
	 * buffered: the write there ends the transaction. */
	sqlite3_int64 wf_commit_page;
	/* Group commit: bytes handed to the kernel since the file was
	 * opened (a mark), the most a finished sync covers, a sync running,
	 * and a failed sync's code (sticky: after a failed fdatasync the
	 * kernel may have dropped the pages, so no later sync proves them). */
	_Atomic uint64_t wf_written;
	pthread_mutex_t wf_lock;
	pthread_cond_t wf_done;
	pthread_mutex_t wf_sync_lock;
	uint64_t wf_synced;
	bool wf_syncing;
	int wf_sync_rc;
	int wf_waiting; /* threads in wf_done's wait */
};

static sqlite3_vfs wal_vfs;
static sqlite3_io_methods wal_methods;

static sqlite3_vfs *
real_vfs(void)
{
	return wal_vfs.pAppData;
}

static struct wal_file *
wf_of(sqlite3_file *f)
{
	return (struct wal_file *)f;
}

/* A write to the real file, counted for group commit once it returned. */
static int
wal_write_real(struct wal_file *w, const void *data, int amount, sqlite3_int64 offset)
{
	int rc = w->wf_real->pMethods->xWrite(w->wf_real, data, amount, offset);

	if (rc == SQLITE_OK && amount > 0)
		atomic_fetch_add(&w->wf_written, (uint64_t)amount);
	return rc;
}

/* Hand the buffered bytes to the real file. */
static int
wal_flush(struct wal_file *w)
{
	int rc = SQLITE_OK;

	if (w->wf_len > 0)
		rc = wal_write_real(w, w->wf_buf, (int)w->wf_len, w->wf_start);
	/* On failure too: SQLite fails the transaction and writes its frames
	 * again, from its own pages, in the next one. */
	w->wf_len = 0;
	w->wf_commit_page = 0;
	return rc;
}

static int
wal_close(sqlite3_file *f)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w), rc2 = w->wf_real->pMethods->xClose(w->wf_real);

	free(w->wf_buf);
	w->wf_buf = NULL;
	pthread_mutex_destroy(&w->wf_lock);
	pthread_cond_destroy(&w->wf_done);
	pthread_mutex_destroy(&w->wf_sync_lock);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
wal_read(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->wf_real->pMethods->xRead(w->wf_real, out, amount, offset);
}

/* Make room for `amount` more bytes; false when the buffer cannot grow
 * (then the caller writes through). */
static bool
wal_room(struct wal_file *w, size_t amount)
{
	size_t cap = w->wf_cap ? w->wf_cap : (size_t)32 * 1024;
	unsigned char *nb;

	if (w->wf_len + amount <= w->wf_cap)
		return true;
	while (cap < w->wf_len + amount)
		cap *= 2;
	if (cap > WAL_BUFFER_MAX)
		cap = WAL_BUFFER_MAX;
	if (cap < w->wf_len + amount || (nb = realloc(w->wf_buf, cap)) == NULL)
		return false;
	w->wf_buf = nb;
	w->wf_cap = cap;
	return true;
}

/* A frame header whose "database size after commit" field is set marks
 * the last frame of a transaction. */
static bool
commit_header(const void *data, int amount, sqlite3_int64 offset)
{
	const unsigned char *h = data;

	return amount == WAL_FRAME_HEADER && offset >= 32 && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int
wal_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
	struct wal_file *w = wf_of(f);
	bool commit_page;
	int rc;

	/* Only what continues the buffer is kept; anything else (the WAL
	 * header at offset 0, a frame rewritten in place) goes after it. */
	if (w->wf_len > 0 && offset != w->wf_start + (sqlite3_int64)w->wf_len && (rc = wal_flush(w)) != SQLITE_OK)
		return rc;
	if (w->wf_len + (size_t)amount > WAL_BUFFER_MAX && (rc = wal_flush(w)) != SQLITE_OK)
		return rc;
	if (amount <= 0 || !wal_room(w, (size_t)amount)) {
		if ((rc = wal_flush(w)) != SQLITE_OK)
			return rc;
		return wal_write_real(w, data, amount, offset);
	}
	if (w->wf_len == 0)
		w->wf_start = offset;
	commit_page = w->wf_commit_page != 0 && offset == w->wf_commit_page;
	memcpy(w->wf_buf + w->wf_len, data, (size_t)amount);
	w->wf_len += (size_t)amount;
	if (commit_header(data, amount, offset))
		w->wf_commit_page = offset + WAL_FRAME_HEADER;
	/* The commit frame's page: the transaction is whole, it goes now,
	 * before SQLite publishes it in the WAL index. */
	return commit_page ? wal_flush(w) : SQLITE_OK;
}

static int
wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->wf_real->pMethods->xTruncate(w->wf_real, size);
}

/* Sync the real file; what was written before counts as synced.  The
 * caller holds no lock. */
static int
wal_sync_real(struct wal_file *w, int flags)
{
	uint64_t before;
	int rc;

	pthread_mutex_lock(&w->wf_sync_lock);
	before = atomic_load(&w->wf_written);
	rc = w->wf_real->pMethods->xSync(w->wf_real, flags);
	pthread_mutex_unlock(&w->wf_sync_lock);
	pthread_mutex_lock(&w->wf_lock);
	if (rc != SQLITE_OK) {
		if (w->wf_sync_rc == SQLITE_OK)
			log_error("the write-ahead log's sync failed (SQLite error %d): durable commits fail "
				  "until the store is opened again",
				rc);
		w->wf_sync_rc = rc;
	} else if (before > w->wf_synced)
		w->wf_synced = before;
	if (w->wf_waiting > 0)
		pthread_cond_broadcast(&w->wf_done);
	pthread_mutex_unlock(&w->wf_lock);
	return rc;
}

static int
wal_sync(sqlite3_file *f, int flags)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : wal_sync_real(w, flags);
}

static int
wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->wf_real->pMethods->xFileSize(w->wf_real, size);
}

static int
wal_lock(sqlite3_file *f, int level)
{
	struct wal_file *w = wf_of(f);

	return w->wf_real->pMethods->xLock(w->wf_real, level);
}

static int
wal_unlock(sqlite3_file *f, int level)
{
	struct wal_file *w = wf_of(f);

	return w->wf_real->pMethods->xUnlock(w->wf_real, level);
}

static int
wal_check_reserved(sqlite3_file *f, int *out)
{
	struct wal_file *w = wf_of(f);

	return w->wf_real->pMethods->xCheckReservedLock(w->wf_real, out);
}

static int
wal_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wal_file *w = wf_of(f);
	int rc = wal_flush(w);

	return rc != SQLITE_OK ? rc : w->wf_real->pMethods->xFileControl(w->wf_real, op, arg);
}

static int
wal_sector_size(sqlite3_file *f)
{
	struct wal_file *w = wf_of(f);

	return w->wf_real->pMethods->xSectorSize(w->wf_real);
}

static int
wal_device_characteristics(sqlite3_file *f)
{
	struct wal_file *w = wf_of(f);

	return w->wf_real->pMethods->xDeviceCharacteristics(w->wf_real);
}

/* A file of the connection: the platform's, behind the buffer for a WAL. */
static int
vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	struct wal_file *w = wf_of(f);
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs()->xOpen(real_vfs(), name, f, flags, out_flags);
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->wf_lock, NULL);
	pthread_cond_init(&w->wf_done, NULL);
	pthread_mutex_init(&w->wf_sync_lock, NULL);
	w->wf_real = (sqlite3_file *)(w + 1);
	rc = real_vfs()->xOpen(real_vfs(), name, w->wf_real, flags, out_flags);
	/* A file that did not open has no methods: SQLite closes nothing. */
	w->wf_base.pMethods = rc == SQLITE_OK && w->wf_real->pMethods != NULL ? &wal_methods : NULL;
	if (w->wf_base.pMethods == NULL) {
		pthread_mutex_destroy(&w->wf_lock);
		pthread_cond_destroy(&w->wf_done);
		pthread_mutex_destroy(&w->wf_sync_lock);
	}
	return rc;
}

/* The rest is the platform's, called with its own VFS. */
static int
vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}

static int
vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return real_vfs()->xAccess(real_vfs(), name, flags, out);
}

static int
vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}

static void *
vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return real_vfs()->xDlOpen(real_vfs(), name);
}

static void
vfs_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	real_vfs()->xDlError(real_vfs(), n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *lib, const char *sym))(void)
{
	(void)vfs;
	return real_vfs()->xDlSym(real_vfs(), lib, sym);
}

static void
vfs_dl_close(sqlite3_vfs *vfs, void *lib)
{
	(void)vfs;
	real_vfs()->xDlClose(real_vfs(), lib);
}

static int
vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs()->xRandomness(real_vfs(), n, out);
}

static int
vfs_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return real_vfs()->xSleep(real_vfs(), us);
}

static int
vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return real_vfs()->xCurrentTime(real_vfs(), out);
}

static int
vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return real_vfs()->xGetLastError(real_vfs(), n, out);
}

static int
vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static void
vfs_setup(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	/* Without the version-2 methods (every platform VFS has them) the
	 * connections keep the platform's VFS. */
	if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL)
		return;
	wal_methods = (sqlite3_io_methods){
		.iVersion = 1,
		.xClose = wal_close,
		.xRead = wal_read,
		.xWrite = wal_write,
		.xTruncate = wal_truncate,
		.xSync = wal_sync,
		.xFileSize = wal_file_size,
		.xLock = wal_lock,
		.xUnlock = wal_unlock,
		.xCheckReservedLock = wal_check_reserved,
		.xFileControl = wal_file_control,
		.xSectorSize = wal_sector_size,
		.xDeviceCharacteristics = wal_device_characteristics,
	};
	wal_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct wal_file) + real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = SQLITE_WAL_VFS,
		.pAppData = real,
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_full_pathname,
		.xDlOpen = vfs_dl_open,
		.xDlError = vfs_dl_error,
		.xDlSym = vfs_dl_sym,
		.xDlClose = vfs_dl_close,
		.xRandomness = vfs_randomness,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_current_time,
		.xGetLastError = vfs_last_error,
		.xCurrentTimeInt64 = vfs_current_time64,
	};
	if (sqlite3_vfs_register(&wal_vfs, 0) != SQLITE_OK)
		wal_vfs.zName = NULL;
}

const char *
sqlite_wal_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vfs_setup);
	return wal_vfs.zName;
}

/* ---- group commit ---- */

int
sqlite_wal_mark(sqlite3 *db, struct wal_mark *m)
{
	sqlite3_file *f = NULL;
	int rc;

	m->wm_wal = NULL;
	m->wm_mark = 0;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || f == NULL ||
		f->pMethods == NULL)
		return SQLITE_OK; /* no log written: nothing to sync */
	if (f->pMethods != &wal_methods) {
		/* Not this layer's file (the platform's VFS, a rollback
		 * journal): sync now, on the writers' turn, as FULL would. */
		return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	}
	m->wm_wal = wf_of(f);
	m->wm_mark = atomic_load(&m->wm_wal->wf_written);
	pthread_mutex_lock(&m->wm_wal->wf_lock);
	rc = m->wm_wal->wf_sync_rc;
	pthread_mutex_unlock(&m->wm_wal->wf_lock);
	return rc;
}

int
sqlite_wal_sync_to(const struct wal_mark *m)
{
	struct wal_file *w = m->wm_wal;
	int rc;

	if (w == NULL)
		return SQLITE_OK;
	pthread_mutex_lock(&w->wf_lock);
	while ((rc = w->wf_sync_rc) == SQLITE_OK && w->wf_synced < m->wm_mark) {
		if (w->wf_syncing) {
			/* A sync runs: it may cover this mark, or the next one
			 * (whose leader may be this thread) will. */
			w->wf_waiting++;
			pthread_cond_wait(&w->wf_done, &w->wf_lock);
			w->wf_waiting--;
			continue;
		}
		/* The leader: one sync for every commit written before it. */
		w->wf_syncing = true;
		pthread_mutex_unlock(&w->wf_lock);
		(void)wal_sync_real(w, SQLITE_SYNC_NORMAL); /* its outcome: in wf_sync_rc */
		pthread_mutex_lock(&w->wf_lock);
		w->wf_syncing = false;
		/* Those who came while it ran and are not covered: the next
		 * leader is one of them. */
		if (w->wf_waiting > 0)
			pthread_cond_broadcast(&w->wf_done);
	}
	pthread_mutex_unlock(&w->wf_lock);
	return rc;
}
