/*
 * app_requests.c — the app key's short-lived state: requests for the
 * phone (a login or a payment to confirm), CIBA requests, and the SMS
 * outbox.
 *
 * Requests and CIBA rows are committed at NORMAL (a power cut costs one
 * more login); the outbox at FULL (an activation code that was "sent"
 * must not vanish from the operator's record).  The state changes that
 * guard against replay (finish, extend, redeem) are single conditional
 * UPDATEs, so two racing answers cannot both win.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define AQ_COLS                                                                                                        \
	"id, account_id, client_id, rp_name, action, display_text, authz_details, codes, code, nonce, link_kind,"      \
	" link_id, ip, status, device_id, extended, created, expires, context"
#define CB_COLS                                                                                                        \
	"id, client_id, apprq_id, scope, acr, binding_message, notification_token, authz_details, status,"             \
	" person_id, auth_time, last_poll, poll_interval, expires"

/* Named, not inline: literals pasted around a column-list macro in the
 * table below read to clang-tidy like a missing comma. */
static const char aq_get_sql[] = "SELECT " AQ_COLS " FROM app_requests WHERE id = ?1";
static const char aq_put_sql[] =
	"INSERT INTO app_requests (" AQ_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	" ?11, ?12, ?13, 'pending', NULL, 0, ?14, ?15, ?16)";
/* The same, only while fewer than ?17 of the account's requests are
 * pending at ?14 (now): counted and inserted in one statement, run by
 * write_guarded, so requests posted at once cannot pass the bound
 * together (the check before it is only the fast answer). */
static const char aq_put_bounded_sql[] =
	"INSERT INTO app_requests (" AQ_COLS ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
	" ?11, ?12, ?13, 'pending', NULL, 0, ?14, ?15, ?16"
	" WHERE (SELECT count(*) FROM app_requests WHERE account_id = ?2 AND status = 'pending'"
	" AND expires > ?14) < ?17";
static const char aq_pending_sql[] =
	"SELECT " AQ_COLS " FROM app_requests"
	" WHERE account_id = ?1 AND status = 'pending' AND expires > ?2 ORDER BY created, id";
static const char cb_put_sql[] =
	"INSERT INTO ciba_requests (" CB_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending',"
	" NULL, 0, 0, ?9, ?10)";
static const char aq_count_pending_sql[] =
	"SELECT count(*) FROM app_requests WHERE account_id = ?1 AND status = 'pending' AND expires > ?2";
static const char aq_finish_sql[] =
	"UPDATE app_requests SET status = ?2, device_id = ?3 WHERE id = ?1 AND status = 'pending' AND expires > ?4";
/* ?2 step, ?5 cap: relative to the stored expiry, so that racing posts
 * each add their step or fail on the count. */
static const char aq_extend_sql[] =
	"UPDATE app_requests SET expires = CASE WHEN expires + ?2 < ?5 THEN expires + ?2 ELSE ?5 END,"
	" extended = extended + 1 WHERE id = ?1 AND status = 'pending' AND extended < ?4 AND expires > ?3"
	" AND expires < ?5";
static const char cb_status_sql[] =
	"UPDATE ciba_requests SET status = ?2, person_id = ?3, auth_time = ?4 WHERE id = ?1 AND status = 'pending'";
static const char cb_get_sql[] = "SELECT " CB_COLS " FROM ciba_requests WHERE id = ?1";

const char *const store_sql_requests[Q_COUNT] = {
	[Q_AQ_PUT] = aq_put_sql,
	[Q_AQ_PUT_BOUNDED] = aq_put_bounded_sql,
	[Q_AQ_GET] = aq_get_sql,
	[Q_AQ_COUNT_PENDING] = aq_count_pending_sql,
	[Q_AQ_PENDING] = aq_pending_sql,
	[Q_AQ_FINISH] = aq_finish_sql,
	[Q_AQ_STATE] = "SELECT status, expires, extended FROM app_requests WHERE id = ?1",
	[Q_AQ_EXTEND] = aq_extend_sql,
	[Q_CB_PUT] = cb_put_sql,
	[Q_CB_GET] = cb_get_sql,
	[Q_CB_STATUS] = cb_status_sql,
	[Q_CB_POLL_GET] = "SELECT last_poll, poll_interval FROM ciba_requests WHERE id = ?1",
	[Q_CB_POLL_SET] = "UPDATE ciba_requests SET last_poll = ?2 WHERE id = ?1",
	[Q_CB_REDEEM] = "UPDATE ciba_requests SET status = 'redeemed' WHERE id = ?1 AND status = 'approved'",
	[Q_CB_EXISTS] = "SELECT 1 FROM ciba_requests WHERE id = ?1",
	[Q_SMS_PUT] = "INSERT INTO sms_outbox (phone, text, created) VALUES (?1, ?2, ?3)",
	[Q_SMS_AFTER] = "SELECT seq, phone, text, created FROM sms_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
};

/* ---- app requests ---- */

struct apprq_put_ctx {
	const struct store_apprq *pc_r;
	int pc_max; /* > 0 */
	const struct store_audit *pc_au; /* or NULL */
	const struct store_ciba *pc_ciba; /* or NULL */
	bool pc_full; /* out: the account had max pending, nothing stored */
};

/* A CIBA record; with its app request `r` (its id and expiry) when given. */
static int
ciba_insert(struct conn *c, const struct store_ciba *cb, const struct store_apprq *r)
{
	const struct bind b[] = { BT(cb->cb_id), BT(cb->cb_client_id), BT(r ? r->aq_id : cb->cb_apprq_id),
		BT(cb->cb_scope), BT(cb->cb_acr), BT(cb->cb_binding_message), BT(cb->cb_notification_token),
		BT(cb->cb_authz_details), BI(cb->cb_interval), BI(r ? r->aq_expires : cb->cb_expires) };

	return exec_bound(c, Q_CB_PUT, b, NBIND(b), NULL);
}

/* The bounded insert (counted and inserted in one statement, in a full
 * transaction: at READ COMMITTED two such statements at once would both
 * see the count before either insert), then its audit row. */
static int
apprq_put_tx(struct conn *c, void *arg)
{
	struct apprq_put_ctx *pc = arg;
	const struct store_apprq *r = pc->pc_r;
	const struct bind b[] = { BT(r->aq_id), BT(r->aq_account_id), BT(r->aq_client_id), BT(r->aq_rp_name),
		BT(r->aq_action), BT(r->aq_display_text), BT(r->aq_authz_details), BT(r->aq_codes), BT(r->aq_code),
		BT(r->aq_nonce), BT(r->aq_link_kind), BT(r->aq_link_id), BT(r->aq_ip),
		BI(r->aq_created ? r->aq_created : sl_now()), BI(r->aq_expires), BT(r->aq_context), BI(pc->pc_max) };
	int changes = 0, rc;

	pc->pc_full = false;
	if (pc->pc_max <= 0)
		return exec_bound(c, Q_AQ_PUT, b, NBIND(b) - 1, NULL);
	rc = exec_bound(c, Q_AQ_PUT_BOUNDED, b, NBIND(b), &changes);
	if (rc == SL_OK && changes == 0) {
		pc->pc_full = true; /* nothing written: the commit is empty */
		return SL_OK;
	}
	if (rc == SL_OK && pc->pc_au != NULL)
		rc = audit_insert(c, pc->pc_au);
	if (rc == SL_OK && pc->pc_ciba != NULL)
		rc = ciba_insert(c, pc->pc_ciba, r);
	return rc;
}

static int
apprq_put(struct store *st, const struct store_apprq *r, int max_pending, const struct store_audit *au,
	const struct store_ciba *cb)
{
	struct apprq_put_ctx pc = { r, max_pending, au, cb, false };
	int rc;

	if (r->aq_id == NULL || r->aq_account_id == NULL || r->aq_client_id == NULL || r->aq_action == NULL ||
		(cb != NULL && (cb->cb_id == NULL || cb->cb_client_id == NULL || cb->cb_interval < 0)))
		return SL_EINVAL;
	rc = tx_run(st, au != NULL ? DUR_FULL : DUR_NORMAL, apprq_put_tx, &pc);
	return rc == SL_OK && pc.pc_full ? SL_EBUSY : rc;
}

int
store_apprq_put(struct store *st, const struct store_apprq *r)
{
	return apprq_put(st, r, 0, NULL, NULL);
}

int
store_apprq_put_bounded(struct store *st, const struct store_apprq *r, int max_pending)
{
	return apprq_put(st, r, max_pending, NULL, NULL);
}

int
store_apprq_put_audited(struct store *st, const struct store_apprq *r, int max_pending, const struct store_audit *au)
{
	if (max_pending <= 0)
		return SL_EINVAL;
	return apprq_put(st, r, max_pending, au, NULL);
}

int
store_apprq_put_ciba(struct store *st, const struct store_apprq *r, int max_pending, const struct store_audit *au,
	const struct store_ciba *cb)
{
	if (max_pending <= 0 || au == NULL || cb == NULL)
		return SL_EINVAL;
	return apprq_put(st, r, max_pending, au, cb);
}

static void
apprq_read(struct stmt *s, void *arg)
{
	struct store_apprq *r = arg;

	r->aq_id = col_text(s, 0);
	r->aq_account_id = col_text(s, 1);
	r->aq_client_id = col_text(s, 2);
	r->aq_rp_name = col_text(s, 3);
	r->aq_action = col_text(s, 4);
	r->aq_display_text = col_text(s, 5);
	r->aq_authz_details = col_text(s, 6);
	r->aq_codes = col_text(s, 7);
	r->aq_code = col_text(s, 8);
	r->aq_nonce = col_text(s, 9);
	r->aq_link_kind = col_text(s, 10);
	r->aq_link_id = col_text(s, 11);
	r->aq_ip = col_text(s, 12);
	r->aq_status = col_text(s, 13);
	r->aq_device_id = col_text(s, 14);
	r->aq_extended = (int)col_int(s, 15);
	r->aq_created = col_int(s, 16);
	r->aq_expires = col_int(s, 17);
	r->aq_context = col_text(s, 18);
	if (col_lost(s))
		store_apprq_clear(r);
}

int
store_apprq_get(struct store *st, const char *id, struct store_apprq *out)
{
	const struct bind b[] = { BT(id) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_AQ_GET, b, NBIND(b), apprq_read, out);
}

int
store_apprq_count_pending(struct store *st, const char *account_id, int64_t now, int *n)
{
	const struct bind b[] = { BT(account_id), BI(now) };

	return read_one(st, Q_AQ_COUNT_PENDING, b, NBIND(b), count_read, n);
}

struct apprq_visit {
	int (*fn)(const struct store_apprq *, void *);
	void *arg;
};

static int
apprq_row(struct stmt *s, void *ctx)
{
	const struct apprq_visit *v = ctx;
	struct store_apprq r = { 0 };
	int rc;

	apprq_read(s, &r);
	if (col_lost(s))
		return SL_ENOMEM; /* apprq_read cleared it */
	rc = v->fn(&r, v->arg);
	store_apprq_clear(&r);
	return rc;
}

int
store_apprq_each_pending(
	struct store *st, const char *account_id, int64_t now, int (*fn)(const struct store_apprq *, void *), void *arg)
{
	const struct bind b[] = { BT(account_id), BI(now) };
	struct apprq_visit v = { fn, arg };

	return read_each(st, Q_AQ_PENDING, b, NBIND(b), apprq_row, &v);
}

int
store_apprq_finish(struct store *st, const char *id, const char *status, const char *device_id, int64_t now)
{
	static const char *const outcomes[] = { "approved", "refused", "denied", "expired", NULL };
	const struct bind b[] = { BT(id), BT(status), BT(device_id), BI(now) };
	const struct pending_ref ref = { Q_AQ_STATE, id, now, false };

	if (id == NULL || !one_of(status, outcomes))
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_AQ_FINISH, b, NBIND(b), pending_why_not, &ref);
}

struct answer_ctx {
	const struct store_apprq_answer *an;
	int outcome; /* SL_OK, or why the request was not pending */
};

static int
answer_tx(struct conn *c, void *arg)
{
	struct answer_ctx *a = arg;
	const struct store_apprq_answer *an = a->an;
	const struct bind reset[] = { BT(an->aa_account_id) };
	const struct bind finish[] = { BT(an->aa_id), BT(an->aa_status), BT(an->aa_device_id), BI(an->aa_now) };
	const struct bind touch[] = { BT(an->aa_device_id), BI(an->aa_now) };
	const struct pending_ref ref = { Q_AQ_STATE, an->aa_id, an->aa_now, false };
	int changes = 0, rc = SL_OK;

	a->outcome = SL_OK;
	if (an->aa_account_id != NULL)
		rc = exec_bound(c, Q_ACC_RESET, reset, NBIND(reset), &changes);
	if (rc == SL_OK)
		rc = exec_bound(c, Q_AQ_FINISH, finish, NBIND(finish), &changes);
	if (rc == SL_OK && changes == 0) {
		/* Answered or expired meanwhile: a reset still commits, the
		 * audit row does not (the caller says why instead). */
		a->outcome = pending_why_not(c, &ref);
		return a->outcome == SL_ESTORE ? SL_ESTORE : SL_OK;
	}
	if (rc == SL_OK && an->aa_touch && an->aa_device_id != NULL)
		rc = exec_bound(c, Q_DEV_TOUCH, touch, NBIND(touch), &changes);
	if (rc == SL_OK && an->aa_audit != NULL)
		rc = audit_insert(c, an->aa_audit);
	if (rc == SL_OK && an->aa_link != NULL) {
		const struct store_authreq *r = an->aa_link;
		const struct bind done[] = { BT(r->ar_id), BT(r->ar_status), BT(r->ar_person_id), BT(r->ar_key),
			BT(r->ar_acr), BT(r->ar_amr), BI(r->ar_auth_time), BI(an->aa_now) };

		rc = exec_bound(c, Q_AR_DONE, done, NBIND(done), &changes);
	}
	return rc;
}

int
store_apprq_answer(struct store *st, const struct store_apprq_answer *an)
{
	static const char *const outcomes[] = { "approved", "refused", "denied", "expired", NULL };
	struct answer_ctx a = { an, SL_OK };
	int rc;

	if (an->aa_id == NULL || !one_of(an->aa_status, outcomes) ||
		(an->aa_account_id != NULL && strcmp(an->aa_status, "approved") != 0))
		return SL_EINVAL;
	rc = tx_run(st, an->aa_audit != NULL ? DUR_FULL : DUR_NORMAL, answer_tx, &a);
	return rc != SL_OK ? rc : a.outcome;
}

int
store_apprq_approve(struct store *st, const char *id, const char *account_id, const char *device_id, int64_t now)
{
	const struct store_apprq_answer an = { .aa_id = id,
		.aa_status = "approved",
		.aa_account_id = account_id,
		.aa_device_id = device_id,
		.aa_touch = true,
		.aa_now = now };

	if (id == NULL || account_id == NULL || device_id == NULL)
		return SL_EINVAL;
	return store_apprq_answer(st, &an);
}

int
store_apprq_extend(struct store *st, const char *id, int step, int64_t cap, int max_times)
{
	int64_t now = sl_now();
	const struct bind b[] = { BT(id), BI(step), BI(now), BI(max_times), BI(cap) };
	const struct pending_ref ref = { Q_AQ_STATE, id, now, true, NULL, max_times, cap };

	if (id == NULL || max_times <= 0 || step <= 0)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_AQ_EXTEND, b, NBIND(b), pending_why_not, &ref);
}

void
store_apprq_clear(struct store_apprq *r)
{
	if (r == NULL)
		return;
	free(r->aq_id);
	free(r->aq_account_id);
	free(r->aq_client_id);
	free(r->aq_rp_name);
	free(r->aq_action);
	free(r->aq_display_text);
	free(r->aq_authz_details);
	free(r->aq_codes);
	free(r->aq_code);
	free(r->aq_nonce);
	free(r->aq_link_kind);
	free(r->aq_link_id);
	free(r->aq_ip);
	free(r->aq_status);
	free(r->aq_device_id);
	free(r->aq_context);
	memset(r, 0, sizeof(*r));
}

/* ---- CIBA ---- */

static int
ciba_put_tx(struct conn *c, void *arg)
{
	return ciba_insert(c, arg, NULL);
}

int
store_ciba_put(struct store *st, const struct store_ciba *cb)
{
	if (cb->cb_id == NULL || cb->cb_client_id == NULL || cb->cb_interval < 0)
		return SL_EINVAL;
	/* tx_run hands its context on as it is: ciba_put_tx only reads it. */
	return tx_run(st, DUR_NORMAL, ciba_put_tx, (void *)cb);
}

static void
ciba_read(struct stmt *s, void *arg)
{
	struct store_ciba *out = arg;

	out->cb_id = col_text(s, 0);
	out->cb_client_id = col_text(s, 1);
	out->cb_apprq_id = col_text(s, 2);
	out->cb_scope = col_text(s, 3);
	out->cb_acr = col_text(s, 4);
	out->cb_binding_message = col_text(s, 5);
	out->cb_notification_token = col_text(s, 6);
	out->cb_authz_details = col_text(s, 7);
	out->cb_status = col_text(s, 8);
	out->cb_person_id = col_text(s, 9);
	out->cb_auth_time = col_int(s, 10);
	out->cb_last_poll = col_int(s, 11);
	out->cb_interval = col_int(s, 12);
	out->cb_expires = col_int(s, 13);
	if (col_lost(s))
		store_ciba_clear(out);
}

int
store_ciba_get(struct store *st, const char *id, struct store_ciba *out)
{
	const struct bind b[] = { BT(id) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_CB_GET, b, NBIND(b), ciba_read, out);
}

/* A conditional UPDATE on a CIBA row changed nothing: gone, or not in the
 * state it needed. */
static int
ciba_why_not(struct conn *c, const void *id)
{
	const struct bind b[] = { BT(id) };
	struct stmt *s = stmt_bound(c, Q_CB_EXISTS, b, NBIND(b));
	int rc = step_row(c, s);

	stmt_reset(s);
	return rc == SL_OK ? SL_ECONFLICT : rc;
}

int
store_ciba_set_status(struct store *st, const char *id, const char *status, const char *person_id, int64_t auth_time)
{
	static const char *const outcomes[] = { "approved", "denied", "expired", NULL };
	const struct bind b[] = { BT(id), BT(status), BT(person_id), BI(auth_time) };

	if (id == NULL || !one_of(status, outcomes) || (strcmp(status, "approved") == 0 && person_id == NULL))
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_CB_STATUS, b, NBIND(b), ciba_why_not, id);
}

struct ciba_poll {
	const char *cp_id;
	int64_t cp_now;
	bool cp_too_soon;
};

static int
ciba_poll_tx(struct conn *c, void *arg)
{
	struct ciba_poll *p = arg;
	const struct bind key[] = { BT(p->cp_id) };
	const struct bind set[] = { BT(p->cp_id), BI(p->cp_now) };
	struct stmt *s = stmt_bound(c, Q_CB_POLL_GET, key, NBIND(key));
	int rc = step_row(c, s);

	p->cp_too_soon = false;
	if (rc == SL_OK) {
		int64_t last = col_int(s, 0), interval = col_int(s, 1);
		p->cp_too_soon = last != 0 && p->cp_now - last < interval;
	}
	stmt_reset(s);
	/* Every poll counts, too soon or not: a client that keeps polling
	 * early keeps getting slow_down. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_CB_POLL_SET, set, NBIND(set), NULL);
	return rc;
}

int
store_ciba_poll(struct store *st, const char *id, int64_t now, bool *too_soon)
{
	struct ciba_poll p = { id, now, false };
	int rc = tx_run(st, DUR_NORMAL, ciba_poll_tx, &p);

	*too_soon = p.cp_too_soon;
	return rc;
}

struct ciba_issue {
	const char *ci_id;
	const struct store_audit *ci_audit;
	const struct store_token *ci_refresh, *ci_access;
};

static int
ciba_issue_tx(struct conn *c, void *arg)
{
	const struct ciba_issue *ci = arg;
	const struct bind b[] = { BT(ci->ci_id) };
	int changes = 0, rc = exec_bound(c, Q_CB_REDEEM, b, NBIND(b), &changes);

	if (rc == SL_OK && changes == 0)
		return ciba_why_not(c, ci->ci_id); /* nothing written: rolled back */
	if (rc == SL_OK)
		rc = audit_insert(c, ci->ci_audit);
	if (rc == SL_OK && ci->ci_refresh != NULL)
		rc = token_insert(c, ci->ci_refresh);
	if (rc == SL_OK)
		rc = token_insert(c, ci->ci_access);
	return rc;
}

int
store_ciba_issue(struct store *st, const char *id, const struct store_audit *au, const struct store_token *refresh,
	const struct store_token *access)
{
	const struct ciba_issue ci = { id, au, refresh, access };

	if (id == NULL || au == NULL || access == NULL)
		return SL_EINVAL;
	/* Durable: the audit row is in this commit, as the audit trail is.
	 * tx_run hands its context on as it is: ciba_issue_tx only reads it. */
	return tx_run(st, DUR_FULL, ciba_issue_tx, (void *)&ci);
}

void
store_ciba_clear(struct store_ciba *cb)
{
	if (cb == NULL)
		return;
	free(cb->cb_id);
	free(cb->cb_client_id);
	free(cb->cb_apprq_id);
	free(cb->cb_scope);
	free(cb->cb_acr);
	free(cb->cb_binding_message);
	free(cb->cb_notification_token);
	free(cb->cb_authz_details);
	free(cb->cb_status);
	free(cb->cb_person_id);
	memset(cb, 0, sizeof(*cb));
}

/* ---- SMS outbox ---- */

int
store_sms_put(struct store *st, const char *phone, const char *text)
{
	const struct bind b[] = { BT(phone), BT(text), BI(sl_now()) };

	if (phone == NULL || text == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SMS_PUT, b, NBIND(b), false);
}

struct sms_visit {
	int (*fn)(const struct store_sms *, void *);
	void *arg;
};

/* The message's text points into the statement: valid during the call. */
static int
sms_row(struct stmt *s, void *ctx)
{
	const struct sms_visit *v = ctx;
	struct store_sms m;

	m.sm_seq = col_int(s, 0);
	m.sm_phone = (char *)col_str(s, 1);
	m.sm_text = (char *)col_str(s, 2);
	m.sm_created = col_int(s, 3);
	return v->fn(&m, v->arg);
}

int
store_sms_each(struct store *st, int64_t after, int limit, int (*fn)(const struct store_sms *, void *), void *arg)
{
	const struct bind b[] = { BI(after), BI(limit) };
	struct sms_visit v = { fn, arg };

	/* LIMIT -1 would mean "no limit" to SQLite: refuse it. */
	if (limit < 1)
		return SL_EINVAL;
	return read_each(st, Q_SMS_AFTER, b, NBIND(b), sms_row, &v);
}
