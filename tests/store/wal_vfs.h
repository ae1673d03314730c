/*
 * wal_vfs.h — a test VFS over the platform's that sees what reaches the
 * kernel through WAL files: registered as the default before the store
 * opens, so the store's VFS (src/store/sqlite_vfs.c) wraps it in turn.
 * Every other file is the platform's own.  A test gives its write and
 * sync of a WAL file (each calls the real file's method itself); the rest
 * passes through.  And the suites' fixture: a store on a directory of its
 * own.  Included after <cmocka.h>, <sqlite3.h>, store_int.h and testutil.h.
 */
#ifndef SL_TEST_WAL_VFS_H
#define SL_TEST_WAL_VFS_H

struct tw_file {
	sqlite3_file tw_base;
	sqlite3_file *tw_real;
};

static sqlite3_vfs tw_vfs;
static sqlite3_io_methods tw_methods;

static inline sqlite3_file *
tw_real(sqlite3_file *f)
{
	return ((struct tw_file *)f)->tw_real;
}

static inline int
tw_close(sqlite3_file *f)
{
	return tw_real(f)->pMethods->xClose(tw_real(f));
}

static inline int
tw_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off)
{
	return tw_real(f)->pMethods->xRead(tw_real(f), out, n, off);
}

static inline int
tw_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return tw_real(f)->pMethods->xTruncate(tw_real(f), size);
}

static inline int
tw_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return tw_real(f)->pMethods->xFileSize(tw_real(f), size);
}

static inline int
tw_lock(sqlite3_file *f, int l)
{
	return tw_real(f)->pMethods->xLock(tw_real(f), l);
}

static inline int
tw_unlock(sqlite3_file *f, int l)
{
	return tw_real(f)->pMethods->xUnlock(tw_real(f), l);
}

static inline int
tw_reserved(sqlite3_file *f, int *out)
{
	return tw_real(f)->pMethods->xCheckReservedLock(tw_real(f), out);
}

static inline int
tw_fcntl(sqlite3_file *f, int op, void *arg)
{
	return tw_real(f)->pMethods->xFileControl(tw_real(f), op, arg);
}

static inline int
tw_sector(sqlite3_file *f)
{
	return tw_real(f)->pMethods->xSectorSize(tw_real(f));
}

static inline int
tw_devchar(sqlite3_file *f)
{
	return tw_real(f)->pMethods->xDeviceCharacteristics(tw_real(f));
}

/* Only WAL files get the test's methods. */
static inline int
tw_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	sqlite3_vfs *real = vfs->pAppData;
	struct tw_file *tf = (struct tw_file *)f;
	int rc;

	if (!(flags & SQLITE_OPEN_WAL))
		return real->xOpen(real, name, f, flags, out);
	tf->tw_real = (sqlite3_file *)(tf + 1);
	rc = real->xOpen(real, name, tf->tw_real, flags, out);
	tf->tw_base.pMethods = rc == SQLITE_OK && tf->tw_real->pMethods != NULL ? &tw_methods : NULL;
	return rc;
}

/* Register the VFS as the default, with the test's write and sync of a
 * WAL file (`tw_real(f)` is the platform's file under it). */
static inline void
tw_register(const char *name, int (*write)(sqlite3_file *, const void *, int, sqlite3_int64),
	int (*sync)(sqlite3_file *, int))
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	assert_non_null(real);
	tw_vfs = *real;
	tw_vfs.zName = name;
	tw_vfs.pAppData = real;
	tw_vfs.szOsFile = (int)sizeof(struct tw_file) + real->szOsFile;
	tw_vfs.xOpen = tw_open;
	tw_vfs.pNext = NULL;
	tw_methods = (sqlite3_io_methods){ .iVersion = 1,
		.xClose = tw_close,
		.xRead = tw_read,
		.xWrite = write,
		.xTruncate = tw_truncate,
		.xSync = sync,
		.xFileSize = tw_size,
		.xLock = tw_lock,
		.xUnlock = tw_unlock,
		.xCheckReservedLock = tw_reserved,
		.xFileControl = tw_fcntl,
		.xSectorSize = tw_sector,
		.xDeviceCharacteristics = tw_devchar };
	assert_int_equal(sqlite3_vfs_register(&tw_vfs, 1), SQLITE_OK);
}

/* ---- a store on a fresh directory, for the suites' setup ---- */

struct tw_fx {
	char *dir, *path;
	struct store *st;
};

/* *state: a tw_fx whose store's writers wait at most busy_ms; -1 when it
 * cannot be opened. */
static inline int
tw_fx_open(void **state, const char *prefix, int busy_ms)
{
	struct tw_fx *fx = calloc(1, sizeof(*fx));
	struct store_options o = { .so_busy_timeout_ms = busy_ms, .so_pool = 2 };
	struct sl_err err = { 0 };

	if (fx == NULL)
		return -1;
	if ((fx->dir = tu_tmpdir(prefix)) == NULL || (fx->path = tu_path(fx->dir, "sleutel.db")) == NULL)
		goto fail;
	o.so_path = fx->path;
	if ((fx->st = store_open(&o, &err)) == NULL) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		goto fail;
	}
	*state = fx;
	return 0;
fail:
	free(fx->dir);
	free(fx->path);
	free(fx);
	return -1;
}

static inline int
tw_fx_close(void **state)
{
	struct tw_fx *fx = *state;

	store_close(fx->st);
	tu_rm_tree(fx->dir);
	free(fx->dir);
	free(fx->path);
	free(fx);
	return 0;
}

#endif /* SL_TEST_WAL_VFS_H */
