/*
 * audit.c — the audit trail read back: in order, for `sleutel audit
 * export`, and one person's login history, for the account page; one row
 * record (store_audit_entry) and one reader for both.
 * Rows are appended by oidc.c (store_audit_add, store_login_issue) and
 * never changed (triggers refuse UPDATE and DELETE on both engines).  The
 * export reads them in pages keyed by seq, so a long trail is streamed
 * with bounded memory and no transaction is held open between pages: under
 * SQLite a long read would keep the WAL from being checkpointed, under
 * PostgreSQL libpq would buffer the whole result.
 */
#include "store_int.h"

/* ?2 / ?3 = 0: no bound on that side. */
static const char audit_range_sql[] = "SELECT seq, time, event, result, person_id, client_id, key, ip, detail"
				      " FROM audit WHERE seq > ?1 AND (?2 = 0 OR time >= ?2) AND (?3 = 0 OR time < ?3)"
				      " ORDER BY seq LIMIT ?4";

const char *const store_sql_audit[Q_COUNT] = {
	[Q_AUDIT_RANGE] = audit_range_sql,
	[Q_AUDIT_PERSON_ALL] = "SELECT seq, time, event, result, person_id, client_id, key, ip, detail FROM audit"
			       " WHERE person_id = ?1 AND (?2 = 0 OR seq < ?2) ORDER BY seq DESC LIMIT ?3",
};

struct audit_range_visit {
	int (*fn)(const struct store_audit_entry *, void *);
	void *arg;
};

/* The row's text points into the statement: valid during the call only. */
static int
audit_range_row(struct stmt *s, void *ctx)
{
	const struct audit_range_visit *v = ctx;
	struct store_audit_entry e;

	e.ae_seq = col_int(s, 0);
	e.ae_time = col_int(s, 1);
	e.ae_event = col_str(s, 2);
	e.ae_result = col_str(s, 3);
	e.ae_person_id = col_str(s, 4);
	e.ae_client_id = col_str(s, 5);
	e.ae_key = col_str(s, 6);
	e.ae_ip = col_str(s, 7);
	e.ae_detail = col_str(s, 8);
	return v->fn(&e, v->arg);
}

int
store_audit_each_person(struct store *st, const char *person_id, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id), BI(limit) };
	struct audit_range_visit v = { fn, arg };

	if (person_id == NULL || limit < 1)
		return SL_EINVAL;
	return read_each(st, Q_AUDIT_PERSON, b, NBIND(b), audit_range_row, &v);
}

int
store_audit_each(struct store *st, int64_t after_seq, int64_t since, int64_t until, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg)
{
	const struct bind b[] = { BI(after_seq), BI(since), BI(until), BI(limit) };
	struct audit_range_visit v = { fn, arg };

	if (fn == NULL || limit < 1 || limit > STORE_AUDIT_PAGE_MAX || after_seq < 0 || since < 0 || until < 0)
		return SL_EINVAL;
	return read_each(st, Q_AUDIT_RANGE, b, NBIND(b), audit_range_row, &v);
}

int
store_audit_each_person_all(struct store *st, const char *person_id, int64_t before_seq, int limit,
	int (*fn)(const struct store_audit_entry *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id), BI(before_seq), BI(limit) };
	struct audit_range_visit v = { fn, arg };

	if (person_id == NULL || fn == NULL || before_seq < 0 || limit < 1 || limit > STORE_AUDIT_PAGE_MAX)
		return SL_EINVAL;
	return read_each(st, Q_AUDIT_PERSON_ALL, b, NBIND(b), audit_range_row, &v);
}
