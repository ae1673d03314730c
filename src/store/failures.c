/*
 * failures.c — counts of failures that must not reset with a rate
 * window: the wrong SMS activation codes of one phone number across all
 * its enrolments (schema 20), and a read of a rate-limit window without
 * counting (for a lookup that must refuse a hit once its misses are
 * spent, or its answers tell a hit from a miss).
 *
 * A number's wrong codes: one row per number that typed a wrong code
 * since its last right one, with the total (never reset by time: NIST SP
 * 800-63B-4 §3.2.2 caps consecutive failures) and the count of the
 * current day-long window.  A try is charged by one upsert whose WHERE
 * refuses it when either count is spent, so two nodes charging at once
 * share one budget and a refused try changes nothing.
 */
#include "store_int.h"

/* ?1 phone, ?2 now, ?3 the end of a window starting now, ?4 the total
 * limit, ?5 the window's limit. */
static const char pf_charge_sql[] =
	"INSERT INTO phone_failures (phone, total, window_count, window_end) VALUES (?1, 1, 1, ?3)"
	" ON CONFLICT (phone) DO UPDATE SET total = phone_failures.total + 1,"
	" window_count = CASE WHEN phone_failures.window_end <= ?2 THEN 1 ELSE phone_failures.window_count + 1 END,"
	" window_end = CASE WHEN phone_failures.window_end <= ?2 THEN ?3 ELSE phone_failures.window_end END"
	" WHERE phone_failures.total < ?4 AND (phone_failures.window_end <= ?2 OR phone_failures.window_count < ?5)"
	" RETURNING total";
static const char pf_spent_sql[] = "SELECT count(*) FROM phone_failures WHERE phone = ?1"
				   " AND (total >= ?3 OR (window_end > ?2 AND window_count >= ?4))";
static const char pf_clear_sql[] = "DELETE FROM phone_failures WHERE phone = ?1";
static const char rl_peek_sql[] = "SELECT count FROM rate_limits WHERE key = ?1 AND expires > ?2";

const char *const store_sql_failures[Q_COUNT] = {
	[Q_PF_CHARGE] = pf_charge_sql,
	[Q_PF_SPENT] = pf_spent_sql,
	[Q_PF_CLEAR] = pf_clear_sql,
	[Q_RL_PEEK] = rl_peek_sql,
};

struct charge_ctx {
	const struct bind *b;
	size_t n;
};

static int
charge_tx(struct conn *c, void *arg)
{
	const struct charge_ctx *x = arg;
	struct stmt *s = stmt_bound(c, Q_PF_CHARGE, x->b, x->n);
	int rc = step_row(c, s);

	/* No row: the WHERE of the update refused it (a count is spent). */
	if (rc == SL_ENOTFOUND)
		rc = SL_ETOOBIG;
	else if (rc == SL_OK && stmt_next(s) != SL_ENOTFOUND)
		rc = SL_ESTORE;
	stmt_reset(s);
	return rc;
}

int
store_phone_fail_charge(struct store *st, const struct store_fail_limits *l, const char *phone, int64_t now)
{
	const struct bind b[] = { BT(phone), BI(now), BI(now + l->fl_window), BI(l->fl_total), BI(l->fl_per_window) };
	struct charge_ctx x = { b, NBIND(b) };

	if (phone == NULL || l->fl_window <= 0 || l->fl_total <= 0 || l->fl_per_window <= 0)
		return SL_EINVAL;
	return tx_run(st, DUR_NORMAL, charge_tx, &x);
}

int
store_phone_fail_spent(struct store *st, const struct store_fail_limits *l, const char *phone, int64_t now)
{
	const struct bind b[] = { BT(phone), BI(now), BI(l->fl_total), BI(l->fl_per_window) };
	int n = 0;
	int rc;

	if (phone == NULL)
		return SL_EINVAL;
	if ((rc = read_one(st, Q_PF_SPENT, b, NBIND(b), count_read, &n)) != SL_OK)
		return rc;
	return n > 0 ? SL_ETOOBIG : SL_OK;
}

int
store_phone_fail_clear(struct store *st, const char *phone)
{
	const struct bind b[] = { BT(phone) };

	if (phone == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_NORMAL, Q_PF_CLEAR, b, NBIND(b), false);
}

int
store_rate_peek(struct store *st, const char *key, int64_t now, int *count)
{
	const struct bind b[] = { BT(key), BI(now) };
	int rc;

	*count = 0;
	if (key == NULL)
		return SL_EINVAL;
	rc = read_one(st, Q_RL_PEEK, b, NBIND(b), count_read, count);
	return rc == SL_ENOTFOUND ? SL_OK : rc;
}
