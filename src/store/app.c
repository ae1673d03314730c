/*
 * app.c — the app key's durable records: accounts (one phone number of one
 * person), devices (a phone's keys) and the enrolments that make them.
 *
 * Accounts and devices are committed with fsync (FULL); an enrolment is
 * short-lived (30 minutes) and written at NORMAL, except the step that
 * turns it into an account and a device, which is one FULL transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define ACC_COLS "id, person_id, phone, status, failures, locked_until, created"
#define DEV_COLS "id, account_id, name, jkt, transport_jwk, confirm_key, status, created, last_used"
#define DEV_NCOLS 9
/* The same lists for a join of devices d and accounts a. */
#define DEV_D_COLS "d.id, d.account_id, d.name, d.jkt, d.transport_jwk, d.confirm_key, d.status, d.created, d.last_used"
#define ACC_A_COLS "a.id, a.person_id, a.phone, a.status, a.failures, a.locked_until, a.created"
#define EN_COLS                                                                                                        \
	"id, phone, jkt, transport_jwk, device_name, lang, terms, status, sms_hash, sms_attempts, sms_sends,"          \
	" sms_expires, proof_method, person, proof_state, created, expires"

const char *const store_sql_app[Q_COUNT] = {
	[Q_ACC_GET] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?1",
	[Q_ACC_BY_PHONE] = "SELECT " ACC_COLS " FROM accounts WHERE phone = ?1",
	[Q_ACC_ALL] = "SELECT " ACC_COLS " FROM accounts ORDER BY created, id",
	[Q_ACC_PERSON] = "SELECT " ACC_COLS " FROM accounts WHERE person_id = ?1 ORDER BY created, id",
	[Q_ACC_INSERT] = "INSERT INTO accounts (" ACC_COLS ") VALUES (?1, ?2, ?3, 'active', 0, 0, ?4)",
	[Q_ACC_STATUS] = "UPDATE accounts SET status = ?2 WHERE id = ?1",
	[Q_ACC_FAILURE] = "UPDATE accounts SET failures = failures + 1 WHERE id = ?1 RETURNING failures",
	[Q_ACC_LOCK] = "UPDATE accounts SET locked_until = ?2 WHERE id = ?1",
	[Q_ACC_ATTEMPT] = "UPDATE accounts SET failures = failures + 1, locked_until = CASE"
			  " WHEN failures + 1 >= ?3 THEN ?4"
			  " WHEN failures + 1 = ?5 THEN ?2 + ?6"
			  " WHEN failures + 1 = ?7 THEN ?2 + ?8"
			  " ELSE locked_until END"
			  " WHERE id = ?1 AND locked_until <= ?2 RETURNING failures, locked_until",
	[Q_ACC_RESET] = "UPDATE accounts SET failures = 0, locked_until = 0 WHERE id = ?1",
	[Q_DEV_GET] = "SELECT " DEV_COLS " FROM devices WHERE id = ?1",
	[Q_DEV_BY_JKT] = "SELECT " DEV_COLS " FROM devices WHERE jkt = ?1",
	[Q_DEV_ACC_BY_JKT] =
		"SELECT " DEV_D_COLS ", " ACC_A_COLS " FROM devices d JOIN accounts a ON a.id = d.account_id"
		" WHERE d.jkt = ?1",
	[Q_DEV_OF_ACCOUNT] = "SELECT " DEV_COLS " FROM devices WHERE account_id = ?1 ORDER BY created, id",
	[Q_DEV_INSERT] = "INSERT INTO devices (" DEV_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, 0)",
	[Q_DEV_STATUS] = "UPDATE devices SET status = ?2 WHERE id = ?1",
	[Q_DEV_TOUCH] = "UPDATE devices SET last_used = ?2 WHERE id = ?1",
	[Q_DEV_JKT_USED] = "SELECT 1 FROM devices WHERE jkt = ?1",
	[Q_EN_PUT] = "INSERT INTO enrollments (" EN_COLS ")"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[Q_EN_GET] = "SELECT " EN_COLS " FROM enrollments WHERE id = ?1",
	[Q_EN_BY_JKT] = "SELECT " EN_COLS " FROM enrollments WHERE jkt = ?1",
	[Q_EN_UPDATE] = "UPDATE enrollments SET status = ?2, sms_hash = ?3, sms_sends = ?5,"
			" sms_expires = ?6, proof_method = ?7, person = ?8, proof_state = ?9"
			" WHERE id = ?1 AND status <> 'done'",
	[Q_EN_DROP_EXPIRED_JKT] = "DELETE FROM enrollments WHERE jkt = ?1 AND expires <= ?2",
	[Q_EN_DONE] = "UPDATE enrollments SET status = 'done' WHERE id = ?1 AND status = 'proofed'",
	[Q_EN_SMS_ATTEMPT] = "UPDATE enrollments SET sms_attempts = sms_attempts + 1"
			     " WHERE id = ?1 AND status = 'sms' AND sms_attempts < ?2 RETURNING sms_attempts",
};

/* ---- accounts ---- */

/* An account's columns (ACC_COLS) from column `at` on. */
static void
account_read_at(struct stmt *s, int at, struct store_account *a)
{
	a->ac_id = col_text(s, at);
	a->ac_person_id = col_text(s, at + 1);
	a->ac_phone = col_text(s, at + 2);
	a->ac_status = col_text(s, at + 3);
	a->ac_failures = col_int(s, at + 4);
	a->ac_locked_until = col_int(s, at + 5);
	a->ac_created = col_int(s, at + 6);
}

static void
account_read(struct stmt *s, void *arg)
{
	account_read_at(s, 0, arg);
	if (col_lost(s))
		store_account_clear(arg);
}

int
store_account_get(struct store *st, const char *id, struct store_account *out)
{
	return get_one(st, Q_ACC_GET, id, account_read, out, sizeof(*out));
}

int
store_account_by_phone(struct store *st, const char *phone, struct store_account *out)
{
	return get_one(st, Q_ACC_BY_PHONE, phone, account_read, out, sizeof(*out));
}

struct account_visit {
	int (*fn)(const struct store_account *, void *);
	void *arg;
};

static int
account_row(struct stmt *s, void *ctx)
{
	const struct account_visit *v = ctx;
	struct store_account a = { 0 };
	int rc;

	account_read(s, &a);
	if (col_lost(s))
		return SL_ENOMEM; /* account_read cleared it */
	rc = v->fn(&a, v->arg);
	store_account_clear(&a);
	return rc;
}

int
store_account_each(struct store *st, int (*fn)(const struct store_account *, void *), void *arg)
{
	struct account_visit v = { fn, arg };

	return read_each(st, Q_ACC_ALL, NULL, 0, account_row, &v);
}

int
store_account_each_person(
	struct store *st, const char *person_id, int (*fn)(const struct store_account *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id) };
	struct account_visit v = { fn, arg };

	if (person_id == NULL)
		return SL_EINVAL;
	return read_each(st, Q_ACC_PERSON, b, NBIND(b), account_row, &v);
}

int
store_account_set_status(struct store *st, const char *id, const char *status)
{
	const struct bind b[] = { BT(id), BT(status) };

	if (status == NULL || (strcmp(status, "active") != 0 && strcmp(status, "blocked") != 0))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_ACC_STATUS, b, NBIND(b), true);
}

int
store_account_failure(struct store *st, const char *id, int *failures)
{
	return update_returning_int(st, DUR_FULL, Q_ACC_FAILURE, id, failures);
}

int
store_account_attempt(struct store *st, const char *id, int64_t now, const struct store_lockout *lo, int *failures,
	int64_t *locked_until)
{
	const struct bind b[] = { BT(id), BI(now), BI(lo->lo_forever), BI(STORE_LOCKED_FOREVER), BI(lo->lo_step2),
		BI(lo->lo_secs2), BI(lo->lo_step1), BI(lo->lo_secs1) };
	int64_t v[2] = { 0, 0 };
	/* Not FULL: the caller's audit commit (FULL) syncs it before any
	 * answer (store.h); a sync here was one more fsync per login. */
	int rc = update_returning(st, DUR_NORMAL, Q_ACC_ATTEMPT, b, NBIND(b), v, 2);

	if (rc == SL_OK) {
		*failures = (int)v[0];
		*locked_until = v[1];
	}
	/* No row: unknown, or locked at `now` (the caller reads which). */
	return rc == SL_ENOTFOUND ? SL_EDENIED : rc;
}

struct attempt_ctx {
	const struct bind *ac_b;
	size_t ac_nb;
	const struct store_jti *ac_jti; /* or NULL */
	int64_t ac_v[2]; /* failures, locked_until */
};

/* The proof's jti first (a replay changes nothing), then the charge. */
static int
attempt_tx(struct conn *c, void *arg)
{
	struct attempt_ctx *a = arg;
	const struct store_jti *j = a->ac_jti;
	struct stmt *s;
	int rc = SL_OK;

	if (j != NULL) {
		const struct bind jb[] = { BT(j->jt_key), BT(j->jt_jti), BI(j->jt_expires) };
		rc = exec_bound(c, Q_JTI_PUT, jb, NBIND(jb), NULL);
	}
	if (rc != SL_OK)
		return rc;
	s = stmt_bound(c, Q_ACC_ATTEMPT, a->ac_b, a->ac_nb);
	rc = step_row(c, s);
	if (rc == SL_OK) {
		a->ac_v[0] = col_int(s, 0);
		a->ac_v[1] = col_int(s, 1);
		/* RETURNING completes the UPDATE only when stepped to the end. */
		if (stmt_next(s) != SL_ENOTFOUND)
			rc = SL_ESTORE;
	}
	stmt_reset(s);
	return rc;
}

int
store_account_attempt_jti(struct store *st, const char *id, int64_t now, const struct store_lockout *lo,
	const struct store_jti *jti, int *failures, int64_t *locked_until)
{
	const struct bind b[] = { BT(id), BI(now), BI(lo->lo_forever), BI(STORE_LOCKED_FOREVER), BI(lo->lo_step2),
		BI(lo->lo_secs2), BI(lo->lo_step1), BI(lo->lo_secs1) };
	struct attempt_ctx a = { b, NBIND(b), jti, { 0, 0 } };
	int rc;

	if (jti == NULL || jti->jt_key == NULL || jti->jt_jti == NULL)
		return SL_EINVAL;
	/* Not FULL, as store_account_attempt. */
	rc = tx_run(st, DUR_NORMAL, attempt_tx, &a);
	if (rc == SL_OK) {
		*failures = (int)a.ac_v[0];
		*locked_until = a.ac_v[1];
	}
	return rc == SL_ENOTFOUND ? SL_EDENIED : rc;
}

int
store_account_lock(struct store *st, const char *id, int64_t until)
{
	const struct bind b[] = { BT(id), BI(until) };

	return write_one(st, DUR_FULL, Q_ACC_LOCK, b, NBIND(b), true);
}

int
store_account_success(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_FULL, Q_ACC_RESET, b, NBIND(b), true);
}

int
store_account_unlock(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_FULL, Q_ACC_RESET, b, NBIND(b), true);
}

void
store_account_clear(struct store_account *a)
{
	if (a == NULL)
		return;
	free(a->ac_id);
	free(a->ac_person_id);
	free(a->ac_phone);
	free(a->ac_status);
	memset(a, 0, sizeof(*a));
}

/* ---- devices ---- */

static void
device_read(struct stmt *s, void *arg)
{
	struct store_device *d = arg;

	d->dv_id = col_text(s, 0);
	d->dv_account_id = col_text(s, 1);
	d->dv_name = col_text(s, 2);
	d->dv_jkt = col_text(s, 3);
	d->dv_transport_jwk = col_text(s, 4);
	d->dv_confirm_key = col_text(s, 5);
	d->dv_status = col_text(s, 6);
	d->dv_created = col_int(s, 7);
	d->dv_last_used = col_int(s, 8);
	if (col_lost(s))
		store_device_clear(d);
}

struct device_account {
	struct store_device *da_dev;
	struct store_account *da_acct;
};

static void
device_account_read(struct stmt *s, void *arg)
{
	struct device_account *da = arg;

	device_read(s, da->da_dev);
	account_read_at(s, DEV_NCOLS, da->da_acct);
	if (col_lost(s)) {
		store_device_clear(da->da_dev);
		store_account_clear(da->da_acct);
	}
}

int
store_device_account_by_jkt(struct store *st, const char *jkt, struct store_device *dev, struct store_account *acct)
{
	struct device_account da = { dev, acct };

	/* Both zeroed here (get_one's size 0); a row is read into them only
	 * when there is one, so they stay empty otherwise. */
	memset(dev, 0, sizeof(*dev));
	memset(acct, 0, sizeof(*acct));
	return get_one(st, Q_DEV_ACC_BY_JKT, jkt, device_account_read, &da, 0);
}

int
store_device_get(struct store *st, const char *id, struct store_device *out)
{
	return get_one(st, Q_DEV_GET, id, device_read, out, sizeof(*out));
}

int
store_device_by_jkt(struct store *st, const char *jkt, struct store_device *out)
{
	return get_one(st, Q_DEV_BY_JKT, jkt, device_read, out, sizeof(*out));
}

struct device_visit {
	int (*fn)(const struct store_device *, void *);
	void *arg;
};

static int
device_row(struct stmt *s, void *ctx)
{
	const struct device_visit *v = ctx;
	struct store_device d = { 0 };
	int rc;

	device_read(s, &d);
	if (col_lost(s))
		return SL_ENOMEM; /* device_read cleared it */
	rc = v->fn(&d, v->arg);
	store_device_clear(&d);
	return rc;
}

int
store_device_each(struct store *st, const char *account_id, int (*fn)(const struct store_device *, void *), void *arg)
{
	const struct bind b[] = { BT(account_id) };
	struct device_visit v = { fn, arg };

	return read_each(st, Q_DEV_OF_ACCOUNT, b, NBIND(b), device_row, &v);
}

int
store_device_set_status(struct store *st, const char *id, const char *status)
{
	const struct bind b[] = { BT(id), BT(status) };

	if (status == NULL ||
		(strcmp(status, "active") != 0 && strcmp(status, "blocked") != 0 && strcmp(status, "removed") != 0))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_DEV_STATUS, b, NBIND(b), true);
}

int
store_device_touch(struct store *st, const char *id, int64_t when)
{
	const struct bind b[] = { BT(id), BI(when) };

	/* Last use is information for the person, not a security record:
	 * losing the latest touch to a power cut costs nothing. */
	return write_one(st, DUR_NORMAL, Q_DEV_TOUCH, b, NBIND(b), true);
}

void
store_device_clear(struct store_device *d)
{
	if (d == NULL)
		return;
	free(d->dv_id);
	free(d->dv_account_id);
	free(d->dv_name);
	free(d->dv_jkt);
	free(d->dv_transport_jwk);
	free(d->dv_confirm_key);
	free(d->dv_status);
	memset(d, 0, sizeof(*d));
}

/* ---- enrolments ---- */

static void
enrollment_read(struct stmt *s, void *arg)
{
	struct store_enrollment *e = arg;

	e->en_id = col_text(s, 0);
	e->en_phone = col_text(s, 1);
	e->en_jkt = col_text(s, 2);
	e->en_transport_jwk = col_text(s, 3);
	e->en_device_name = col_text(s, 4);
	e->en_lang = col_text(s, 5);
	e->en_terms = col_text(s, 6);
	e->en_status = col_text(s, 7);
	e->en_sms_hash = col_text(s, 8);
	e->en_sms_attempts = col_int(s, 9);
	e->en_sms_sends = col_int(s, 10);
	e->en_sms_expires = col_int(s, 11);
	e->en_proof_method = col_text(s, 12);
	e->en_person = col_text(s, 13);
	e->en_proof_state = col_text(s, 14);
	e->en_created = col_int(s, 15);
	e->en_expires = col_int(s, 16);
	if (col_lost(s))
		store_enrollment_clear(e);
}

/* Is `jkt` a device's key (any status: a removed phone's key stays spent)? */
static int
jkt_is_device(struct conn *c, const char *jkt)
{
	int rc = conn_exists(c, Q_DEV_JKT_USED, jkt);

	if (rc == SL_OK)
		return SL_ECONFLICT;
	return rc == SL_ENOTFOUND ? SL_OK : rc;
}

static int
enrollment_put_tx(struct conn *c, void *arg)
{
	const struct store_enrollment *e = arg;
	const struct bind drop[] = { BT(e->en_jkt), BI(sl_now()) };
	const struct bind b[] = { BT(e->en_id), BT(e->en_phone), BT(e->en_jkt), BT(e->en_transport_jwk),
		BT(e->en_device_name), BT(e->en_lang), BT(e->en_terms), BT(e->en_status ? e->en_status : "sms"),
		BT(e->en_sms_hash), BI(e->en_sms_attempts), BI(e->en_sms_sends), BI(e->en_sms_expires),
		BT(e->en_proof_method), BT(e->en_person), BT(e->en_proof_state), BI(e->en_created), BI(e->en_expires) };
	/* An expired enrolment no longer holds its key; a live one or any
	 * device does (the UNIQUE constraint, then the devices). */
	int rc = exec_bound(c, Q_EN_DROP_EXPIRED_JKT, drop, NBIND(drop), NULL);

	if (rc == SL_OK)
		rc = jkt_is_device(c, e->en_jkt);
	if (rc == SL_OK)
		rc = exec_bound(c, Q_EN_PUT, b, NBIND(b), NULL);
	return rc;
}

int
store_enrollment_put(struct store *st, const struct store_enrollment *e)
{
	if (e->en_id == NULL || e->en_jkt == NULL || e->en_phone == NULL || e->en_transport_jwk == NULL)
		return SL_EINVAL;
	/* tx_run hands its context on as it is: enrollment_put_tx only reads it. */
	return tx_run(st, DUR_NORMAL, enrollment_put_tx, (void *)e);
}

int
store_enrollment_get(struct store *st, const char *id, struct store_enrollment *out)
{
	return get_one(st, Q_EN_GET, id, enrollment_read, out, sizeof(*out));
}

int
store_enrollment_by_jkt(struct store *st, const char *jkt, struct store_enrollment *out)
{
	return get_one(st, Q_EN_BY_JKT, jkt, enrollment_read, out, sizeof(*out));
}

int
store_enrollment_update(struct store *st, const struct store_enrollment *e)
{
	const struct bind b[] = { BT(e->en_id), BT(e->en_status), BT(e->en_sms_hash), BI(e->en_sms_attempts),
		BI(e->en_sms_sends), BI(e->en_sms_expires), BT(e->en_proof_method), BT(e->en_person),
		BT(e->en_proof_state) };

	if (e->en_status == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_NORMAL, Q_EN_UPDATE, b, NBIND(b), true);
}

int
store_enrollment_sms_charge(struct store *st, const char *id, int max, int *attempts)
{
	const struct bind b[] = { BT(id), BI(max) };
	int64_t v = 0;
	int rc = update_returning(st, DUR_NORMAL, Q_EN_SMS_ATTEMPT, b, NBIND(b), &v, 1);

	if (rc == SL_OK)
		*attempts = (int)v;
	/* No row: tries used up, not at "sms", or unknown. */
	return rc == SL_ENOTFOUND ? SL_EDENIED : rc;
}

/* The account of `phone` for `person_id`: the existing one when it is the
 * same person's, else a new one. */
static int
finish_account(struct conn *c, const char *phone, const char *person_id, int64_t now, struct store_account *account,
	struct sl_err *err)
{
	const struct bind by_phone[] = { BT(phone) };
	int rc = conn_read_one(c, Q_ACC_BY_PHONE, by_phone, NBIND(by_phone), account_read, account);

	if (rc == SL_OK) {
		if (account->ac_person_id == NULL || strcmp(account->ac_person_id, person_id) != 0)
			return sl_fail(err, SL_EDENIED, "the number belongs to another person");
		return SL_OK;
	}
	if (rc != SL_ENOTFOUND)
		return sl_fail(err, rc, "cannot read the account");

	account->ac_id = sl_random_name(16);
	account->ac_person_id = strdup(person_id);
	account->ac_phone = strdup(phone);
	account->ac_status = strdup("active");
	account->ac_created = now;
	if (account->ac_id == NULL || account->ac_person_id == NULL || account->ac_phone == NULL ||
		account->ac_status == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	{
		const struct bind b[] = { BT(account->ac_id), BT(person_id), BT(phone), BI(now) };
		rc = exec_bound(c, Q_ACC_INSERT, b, NBIND(b), NULL);
	}
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot save the account");
}

/* Insert the device for `account_id`; fills the fields the store decides. */
static int
finish_device(struct conn *c, struct store_device *dev, const char *account_id, int64_t now, struct sl_err *err)
{
	char *acc = strdup(account_id);
	int rc;

	if (acc == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	free(dev->dv_account_id);
	dev->dv_account_id = acc;
	if (dev->dv_id == NULL && (dev->dv_id = sl_random_name(16)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (dev->dv_status == NULL && (dev->dv_status = strdup("active")) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	dev->dv_created = now;
	dev->dv_last_used = 0;
	{
		const struct bind b[] = { BT(dev->dv_id), BT(acc), BT(dev->dv_name), BT(dev->dv_jkt),
			BT(dev->dv_transport_jwk), BT(dev->dv_confirm_key), BI(now) };
		rc = exec_bound(c, Q_DEV_INSERT, b, NBIND(b), NULL);
	}
	if (rc == SL_ECONFLICT)
		return sl_fail(err, rc, "the device key is in use");
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot save the device");
}

struct enrollment_finish {
	const char *ef_id;
	const struct store_person *ef_person; /* the caller's */
	struct store_person ef_work; /* upserted in the transaction */
	struct store_device *ef_dev;
	bool ef_dev_had_id, ef_dev_had_status; /* else made by the run */
	struct store_account *ef_account;
	struct store_recovery *ef_rec; /* NULL: an enrolment, not a recovery */
	const struct store_audit *ef_audit; /* NULL: none */
	struct store_enrollment ef_en;
	struct sl_err ef_why; /* the first reason, reported after ROLLBACK */
	int64_t ef_now;
};

/* Start a run from the caller's records: what an earlier run read, made or
 * said is dropped. */
static int
enrollment_finish_reset(struct enrollment_finish *f)
{
	struct store_device *dev = f->ef_dev;

	store_enrollment_clear(&f->ef_en);
	store_account_clear(f->ef_account);
	memset(&f->ef_why, 0, sizeof(f->ef_why));
	unfill(&dev->dv_id, f->ef_dev_had_id);
	unfill(&dev->dv_status, f->ef_dev_had_status);
	if (f->ef_rec != NULL) {
		f->ef_rec->re_nrevoked = 0;
		f->ef_rec->re_person_id[0] = '\0';
	}
	return person_work_reset(&f->ef_work, f->ef_person);
}

/* ---- recovery: the account must be there and the person's ---- */

static int
recover_account(struct conn *c, const char *phone, const char *person_id, struct store_account *account,
	struct store_recovery *rec, struct sl_err *err)
{
	const struct bind by_phone[] = { BT(phone) };
	int rc = conn_read_one(c, Q_ACC_BY_PHONE, by_phone, NBIND(by_phone), account_read, account);

	if (rc == SL_ENOTFOUND)
		return sl_fail(err, rc, "the number has no account to recover");
	if (rc != SL_OK)
		return sl_fail(err, rc, "cannot read the account");
	if (account->ac_person_id == NULL || strcmp(account->ac_person_id, person_id) != 0) {
		sl_strlcpy(rec->re_person_id, account->ac_person_id ? account->ac_person_id : "",
			sizeof(rec->re_person_id));
		return sl_fail(err, SL_EDENIED, "the card is not the account's person's");
	}
	return SL_OK;
}

/* Note device `d` as one to end (when it still runs). */
static int
recover_take(struct store_recovery *rec, const struct store_device *d, struct sl_err *err)
{
	if (strcmp(d->dv_status, "removed") == 0)
		return SL_OK;
	for (size_t i = 0; i < rec->re_nrevoked; i++) /* named twice: ended once */
		if (strcmp(rec->re_revoked[i], d->dv_id) == 0)
			return SL_OK;
	if (rec->re_nrevoked >= STORE_RECOVER_MAX)
		return sl_fail(err, SL_ETOOBIG, "more than %d devices to revoke", STORE_RECOVER_MAX);
	sl_strlcpy(rec->re_revoked[rec->re_nrevoked], d->dv_id, sizeof(rec->re_revoked[0]));
	sl_strlcpy(
		rec->re_revoked_name[rec->re_nrevoked], d->dv_name ? d->dv_name : "", sizeof(rec->re_revoked_name[0]));
	rec->re_nrevoked++;
	return SL_OK;
}

/* The default: every device of the number's account that still runs. */
static int
recover_pick_account(struct conn *c, const char *account_id, struct store_recovery *rec, struct sl_err *err)
{
	const struct bind b[] = { BT(account_id) };
	struct stmt *s = stmt_bound(c, Q_DEV_OF_ACCOUNT, b, NBIND(b));
	int rc = SL_OK, r;

	while (rc == SL_OK && (r = stmt_next(s)) == SL_OK) {
		struct store_device d = { 0 };
		device_read(s, &d);
		rc = col_lost(s) ? SL_ENOMEM : recover_take(rec, &d, err);
		store_device_clear(&d);
	}
	if (rc == SL_OK && r != SL_ENOTFOUND)
		rc = SL_ESTORE;
	stmt_reset(s);
	return rc;
}

/* The devices the person picked: each an app device of one of their accounts. */
static int
recover_pick_listed(struct conn *c, const char *person_id, struct store_recovery *rec, struct sl_err *err)
{
	int rc = SL_OK;

	for (size_t i = 0; rc == SL_OK && i < rec->re_nrevoke; i++) {
		const struct bind dk[] = { BT(rec->re_revoke[i]) };
		struct store_device d = { 0 };
		struct store_account a = { 0 };

		rc = conn_read_one(c, Q_DEV_GET, dk, NBIND(dk), device_read, &d);
		if (rc == SL_OK) {
			const struct bind ak[] = { BT(d.dv_account_id) };
			rc = conn_read_one(c, Q_ACC_GET, ak, NBIND(ak), account_read, &a);
		}
		if (rc == SL_ENOTFOUND ||
			(rc == SL_OK && (a.ac_person_id == NULL || strcmp(a.ac_person_id, person_id))))
			rc = sl_fail(err, SL_ENOTFOUND, "device %.64s is not one of the person's", rec->re_revoke[i]);
		if (rc == SL_OK)
			rc = recover_take(rec, &d, err);
		store_device_clear(&d);
		store_account_clear(&a);
	}
	return rc;
}

/* End the picked devices and clear the account's wrong-code count and lock. */
static int
recover_revoke(struct conn *c, const struct store_account *account, const char *person_id, struct store_recovery *rec,
	struct sl_err *err)
{
	const struct bind acc[] = { BT(account->ac_id) };
	int rc = rec->re_revoke == NULL ? recover_pick_account(c, account->ac_id, rec, err)
					: recover_pick_listed(c, person_id, rec, err);

	for (size_t i = 0; rc == SL_OK && i < rec->re_nrevoked; i++) {
		const struct bind b[] = { BT(rec->re_revoked[i]), BT("removed") };
		rc = exec_bound(c, Q_DEV_STATUS, b, NBIND(b), NULL);
	}
	if (rc == SL_OK)
		rc = exec_bound(c, Q_ACC_RESET, acc, NBIND(acc), NULL);
	/* A lost phone's logins end with it: its thief's SSO session too. */
	if (rc == SL_OK && rec->re_nrevoked > 0 && rec->re_end_amr != NULL)
		rc = key_logins_end_conn(
			c, person_id, rec->re_end_amr, NULL, &rec->re_sessions_ended, &rec->re_tokens_revoked);
	return rc;
}

static int
enrollment_finish_tx(struct conn *c, void *arg)
{
	struct enrollment_finish *f = arg;
	const struct bind key[] = { BT(f->ef_id) };
	struct store_enrollment *en = &f->ef_en;
	struct sl_err *why = &f->ef_why;
	int rc = enrollment_finish_reset(f), changes = 0;

	if (rc == SL_OK) {
		rc = conn_read_one(c, Q_EN_GET, key, NBIND(key), enrollment_read, en);
		if (rc == SL_ENOTFOUND)
			sl_fail(why, rc, "no such enrolment");
	}
	if (rc == SL_OK && en->en_expires <= f->ef_now)
		rc = sl_fail(why, SL_EEXPIRED, "the enrolment has expired");
	if (rc == SL_OK && (en->en_status == NULL || strcmp(en->en_status, "proofed") != 0))
		rc = sl_fail(why, SL_ECONFLICT, "the enrolment is not proofed");
	if (rc == SL_OK && (rc = person_upsert_tx(c, &f->ef_work, f->ef_now)) != SL_OK)
		sl_fail(why, rc, "cannot save the person record");
	if (rc == SL_OK && f->ef_rec == NULL)
		rc = finish_account(c, en->en_phone, f->ef_work.p_id, f->ef_now, f->ef_account, why);
	if (rc == SL_OK && f->ef_rec != NULL &&
		(rc = recover_account(c, en->en_phone, f->ef_work.p_id, f->ef_account, f->ef_rec, why)) == SL_OK)
		rc = recover_revoke(c, f->ef_account, f->ef_work.p_id, f->ef_rec, why);
	if (rc == SL_OK)
		rc = finish_device(c, f->ef_dev, f->ef_account->ac_id, f->ef_now, why);
	/* The status was read in this transaction (BEGIN IMMEDIATE holds the
	 * write lock), so this cannot miss; checked anyway. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_EN_DONE, key, NBIND(key), &changes);
	if (rc == SL_OK && changes != 1)
		rc = sl_fail(why, SL_ECONFLICT, "the enrolment is not proofed");
	if (rc == SL_OK && f->ef_audit != NULL) {
		struct store_audit au = *f->ef_audit;

		au.au_person_id = f->ef_work.p_id;
		rc = audit_insert(c, &au);
	}
	return rc;
}

int
store_enrollment_finish(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, struct sl_err *err)
{
	return store_enrollment_finish_audit(st, enrollment_id, person, dev, account, NULL, err);
}

int
store_enrollment_finish_audit(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, const struct store_audit *au, struct sl_err *err)
{
	return store_enrollment_recover_audit(st, enrollment_id, person, dev, account, NULL, au, err);
}

int
store_enrollment_recover_audit(struct store *st, const char *enrollment_id, struct store_person *person,
	struct store_device *dev, struct store_account *account, struct store_recovery *rec,
	const struct store_audit *au, struct sl_err *err)
{
	struct enrollment_finish f = { .ef_id = enrollment_id,
		.ef_person = person,
		.ef_dev = dev,
		.ef_dev_had_id = dev->dv_id != NULL,
		.ef_dev_had_status = dev->dv_status != NULL,
		.ef_account = account,
		.ef_rec = rec,
		.ef_audit = au,
		.ef_now = sl_now() };
	int rc;

	memset(account, 0, sizeof(*account));
	if (enrollment_id == NULL || dev->dv_jkt == NULL || dev->dv_transport_jwk == NULL ||
		dev->dv_confirm_key == NULL)
		return sl_fail(err, SL_EINVAL, "the device lacks a key");
	if (rec != NULL && rec->re_nrevoke > STORE_RECOVER_MAX)
		return sl_fail(err, SL_ETOOBIG, "more than %d devices to revoke", STORE_RECOVER_MAX);
	rc = tx_run(st, DUR_FULL, enrollment_finish_tx, &f);
	person_work_end(person, &f.ef_work, rc);
	store_enrollment_clear(&f.ef_en);
	if (rc != SL_OK) {
		store_account_clear(account);
		return sl_fail(err, rc, "%s", f.ef_why.code != SL_OK ? f.ef_why.msg : "cannot finish the enrolment");
	}
	return rc;
}

void
store_enrollment_clear(struct store_enrollment *e)
{
	if (e == NULL)
		return;
	free(e->en_id);
	free(e->en_phone);
	free(e->en_jkt);
	free(e->en_transport_jwk);
	free(e->en_device_name);
	free(e->en_lang);
	free(e->en_terms);
	free(e->en_status);
	free(e->en_sms_hash);
	free(e->en_proof_method);
	free(e->en_person);
	free(e->en_proof_state);
	memset(e, 0, sizeof(*e));
}
