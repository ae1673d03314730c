/*
 * pg.c — the PostgreSQL store engine (several nodes, one database).
 *
 * To be written (issue 11): libpq, statements prepared once per
 * connection (`?N` parameters become `$N`), write transactions
 * SERIALIZABLE and marked for retry (cn_retry) on SQLSTATE 40001/40P01,
 * durability NORMAL as `SET LOCAL synchronous_commit = off`.
 */
#include "store_int.h"

static int
pg_open(struct conn *c, const struct store_options *opts, struct sl_err *err)
{
	(void)c;
	(void)opts;
	return sl_fail(err, SL_EINVAL, "[store] engine = postgresql: not built yet");
}

static void
pg_close(struct conn *c)
{
	(void)c;
}

const struct engine store_engine_pg = {
	.e_name = "postgresql",
	.e_open = pg_open,
	.e_close = pg_close,
};
