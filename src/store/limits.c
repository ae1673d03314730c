/*
 * limits.c — state that must hold across every node, kept in the store:
 * rate-limit windows (schema 11) and the proofing state's compare-and-swap.
 *
 * Rate limits: fixed windows per key, each starting at the key's first
 * request and ending `window` seconds later (a fixed window lets at most
 * twice the limit through around its edge, which is fine for a limit that
 * only has to make bombing a phone slow and visible).  One upsert per key
 * counts and answers the new count in one statement; the keys of one
 * request are counted in one transaction that is rolled back when any of
 * them went over, so a refused request counts nowhere.  Concurrent hits on
 * one key queue on its row (SQLite: the write lock; PostgreSQL: the row
 * lock, and a serialization failure is run again by tx_run), so N nodes
 * share one budget.  Rows are dropped by store_purge_expired once their
 * window is over; there is no in-memory table to fill.
 */
#include <string.h>

#include "store_int.h"

/* ?1 key, ?2 now, ?3 the end of a window starting now. */
static const char rate_hit_sql[] = "INSERT INTO rate_limits (key, count, expires) VALUES (?1, 1, ?3)"
				   " ON CONFLICT (key) DO UPDATE SET"
				   " count = CASE WHEN rate_limits.expires <= ?2 THEN 1 ELSE rate_limits.count + 1 END,"
				   " expires = CASE WHEN rate_limits.expires <= ?2 THEN ?3 ELSE rate_limits.expires END"
				   " RETURNING count";
static const char proof_swap_sql[] = "UPDATE enrollments SET status = ?2, proof_method = ?3, person = ?4,"
				     " proof_state = ?5 WHERE id = ?1 AND status = 'proofing'"
				     " AND COALESCE(proof_state, '') = COALESCE(?6, '')";

const char *const store_sql_limits[Q_COUNT] = {
	[Q_RL_HIT] = rate_hit_sql,
	[Q_EN_PROOF_SWAP] = proof_swap_sql,
};

struct rate_ctx {
	const struct store_rate_check *checks;
	size_t n;
	int64_t now;
	int64_t end;
	size_t *which;
};

/* Count key `k`; its new count in *count. */
static int
rate_count(struct conn *c, const char *k, int64_t now, int64_t end, int64_t *count)
{
	const struct bind b[] = { BT(k), BI(now), BI(end) };
	struct stmt *s = stmt_bound(c, Q_RL_HIT, b, NBIND(b));
	int rc = step_row(c, s);

	if (rc == SL_OK)
		*count = col_int(s, 0);
	/* An upsert always returns its row; RETURNING completes it only
	 * when stepped to the end. */
	if (rc == SL_ENOTFOUND || (rc == SL_OK && stmt_next(s) != SL_ENOTFOUND))
		rc = SL_ESTORE;
	stmt_reset(s);
	return rc;
}

static int
rate_tx(struct conn *c, void *arg)
{
	const struct rate_ctx *r = arg;

	for (size_t i = 0; i < r->n; i++) {
		int64_t count = 0;
		int rc;

		if (r->checks[i].rc_limit <= 0) {
			*r->which = i;
			return SL_ETOOBIG;
		}
		if ((rc = rate_count(c, r->checks[i].rc_key, r->now, r->end, &count)) != SL_OK)
			return rc;
		if (count > r->checks[i].rc_limit) {
			*r->which = i;
			return SL_ETOOBIG; /* rolled back: nothing of this request counts */
		}
	}
	return SL_OK;
}

int
store_rate_hit(
	struct store *st, const struct store_rate_check *checks, size_t n, int window, int64_t now, size_t *which)
{
	struct rate_ctx r = { checks, n, now, now + window, which };

	if (n == 0 || n > STORE_RATE_CHECKS_MAX || window <= 0)
		return SL_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (checks[i].rc_key == NULL || strlen(checks[i].rc_key) >= STORE_RATE_KEY_MAX)
			return SL_EINVAL;
	return tx_run(st, DUR_NORMAL, rate_tx, &r);
}

int
store_enrollment_proof_swap(struct store *st, const struct store_enrollment *e, const char *old_state)
{
	const struct bind b[] = { BT(e->en_id), BT(e->en_status), BT(e->en_proof_method), BT(e->en_person),
		BT(e->en_proof_state), BT(old_state) };
	int rc;

	if (e->en_id == NULL || e->en_status == NULL)
		return SL_EINVAL;
	rc = write_one(st, DUR_NORMAL, Q_EN_PROOF_SWAP, b, NBIND(b), true);
	return rc == SL_ENOTFOUND ? SL_ECONFLICT : rc;
}
