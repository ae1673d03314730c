/*
 * fault_engine.h — the SQLite engine with a serialization failure injected
 * where a test asks for one, to exercise tx_run's retries.
 *
 * SQLite never asks for a retry (its writers queue on one lock), but under
 * PostgreSQL any statement of a SERIALIZABLE transaction, or its COMMIT,
 * may fail with SQLSTATE 40001/40P01: the engine then sets cn_retry and
 * answers SL_EBUSY, and tx_run rolls back and runs the transaction again.
 * This engine does exactly that over the store's own engine (SQLite here,
 * PostgreSQL when the suites run on it, where the fault is one more): it
 * refuses the next `fe_commits` commits (the transaction is rolled back)
 * or fails the `fe_step_at`-th statement step of the next write
 * transaction.  fault_install() puts it under every connection of a store
 * (all `pool` of them borrowed at once, so the pool must be idle, and the
 * writers' own connection, conn_writer, where the engine has one).
 *
 * Included after <cmocka.h>; the test includes store_int.h for the engine
 * contract.  One fault per test process: the suites are single-threaded.
 */
#ifndef SL_FAULT_ENGINE_H
#define SL_FAULT_ENGINE_H

#include "../../src/store/store_int.h"

struct fault {
	int fe_commits; /* refuse this many commits to come */
	int fe_step_at; /* fail this step of the next write transaction (0: none) */
	int fe_steps; /* steps of the open write transaction */
	bool fe_in_tx;
	int fe_fired; /* faults injected */
	int fe_durable; /* write transactions begun durable (DUR_FULL) */
	int fe_begun; /* write transactions begun */
};

static struct fault fault;
static struct engine fault_engine;
static const struct engine *fault_base; /* the store's engine underneath */

static inline int
fault_tx_begin(struct conn *c, enum durability d, bool one_statement)
{
	fault.fe_steps = 0;
	fault.fe_in_tx = true;
	fault.fe_begun++;
	if (d == DUR_FULL)
		fault.fe_durable++;
	return fault_base->e_tx_begin(c, d, one_statement);
}

/* A statement of the transaction fails as PostgreSQL's would on a
 * serialization failure: cn_retry set, SL_EBUSY. */
static inline int
fault_step(struct stmt *s)
{
	if (fault.fe_in_tx && fault.fe_step_at > 0 && ++fault.fe_steps == fault.fe_step_at) {
		fault.fe_step_at = 0;
		fault.fe_fired++;
		s->s_conn->cn_retry = true;
		return SL_EBUSY;
	}
	return fault_base->e_step(s);
}

/* COMMIT fails: nothing of the transaction stays, cn_retry set. */
static inline int
fault_tx_end(struct conn *c, bool commit)
{
	fault.fe_in_tx = false;
	if (commit && fault.fe_commits > 0) {
		fault.fe_commits--;
		fault.fe_fired++;
		fault_base->e_tx_end(c, false);
		c->cn_retry = true;
		return SL_EBUSY;
	}
	return fault_base->e_tx_end(c, commit);
}

static inline void
fault_install(struct store *st, int pool)
{
	struct conn *conns[16];

	assert_true(pool > 0 && pool <= 16);
	memset(&fault, 0, sizeof(fault));
	conns[0] = conn_get(st);
	if (conns[0]->cn_engine != &fault_engine) {
		fault_base = conns[0]->cn_engine;
		fault_engine = *fault_base;
	}
	fault_engine.e_tx_begin = fault_tx_begin;
	fault_engine.e_step = fault_step;
	fault_engine.e_tx_end = fault_tx_end;
	for (int i = 0; i < pool; i++) {
		if (i > 0)
			conns[i] = conn_get(st);
		conns[i]->cn_engine = &fault_engine;
	}
	for (int i = 0; i < pool; i++)
		conn_put(st, conns[i]);
	if (conn_writer(st) != NULL)
		conn_writer(st)->cn_engine = &fault_engine;
}

#endif /* SL_FAULT_ENGINE_H */
