/*
 * smartid_reg.c — Smart-ID registrations (the app's start, the portal's
 * confirmation, the recall check, the finish that makes the account, the
 * device and its keys) and the registration portal's visits.
 *
 * Registrations and visits live minutes and are written at NORMAL; the
 * finish is one FULL transaction.  The steps that guard a registration
 * (confirm once, charge a code try, charge a recall try, move the keys on
 * from the versions read) are single conditional statements, so racing
 * requests cannot both pass; the finish checks the account's room (not
 * blocked, max_devices) in its own transaction for the same reason.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define SR_COLS                                                                                                        \
	"id, jkt, transport_jwk, device_name, lang, terms, country, method, status, code_hash, auth_sealed,"           \
	" auth_version, sign_sealed, sign_version, person, email, phone, challenge, recall_failures, created,"         \
	" expires, auth_share, sign_share, extended, code_wrong"
#define SV_COLS "id, person, email, phone, registration_id, code_tries, expires, extended"

static const char sr_put_sql[] =
	"INSERT INTO sid_registrations (" SR_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	" ?8, 'code', ?9, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL, 0, ?10, ?11, ?12, ?13, 0, 0)";
static const char sr_get_sql[] = "SELECT " SR_COLS " FROM sid_registrations WHERE id = ?1";
static const char sr_by_jkt_sql[] = "SELECT " SR_COLS " FROM sid_registrations WHERE jkt = ?1";
static const char sr_by_code_sql[] =
	"SELECT " SR_COLS " FROM sid_registrations WHERE code_hash = ?1 AND status = 'code' AND expires > ?2";
/* The code is spent: the hash is dropped with the status; the shares make
 * way for the server keys made for them. */
static const char sr_confirm_sql[] =
	"UPDATE sid_registrations SET status = 'confirmed', code_hash = NULL, person = ?2,"
	" email = ?3, phone = ?4, challenge = ?5, auth_sealed = ?7, auth_version = ?8, sign_sealed = ?9,"
	" sign_version = ?10, auth_share = NULL, sign_share = NULL WHERE id = ?1 AND status = 'code' AND expires > ?6";
static const char sv_put_sql[] = "INSERT INTO sid_visits (" SV_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, 0)";
static const char sv_get_sql[] = "SELECT " SV_COLS " FROM sid_visits WHERE id = ?1 AND expires > ?2";
/* A recall try is charged before any key is completed: SET sees the old
 * row, so of racing tries at most ?2 pass. */
static const char sr_recall_charge_sql[] = "UPDATE sid_registrations SET recall_failures = recall_failures + 1"
					   " WHERE id = ?1 AND status = 'confirmed' AND recall_failures < ?2"
					   " RETURNING recall_failures";
static const char sr_recall_refund_sql[] = "UPDATE sid_registrations SET recall_failures = recall_failures - 1"
					   " WHERE id = ?1 AND status = 'confirmed' AND recall_failures > 0";
/* The compare-and-swap: only from the versions the caller completed with. */
static const char sr_set_keys_sql[] =
	"UPDATE sid_registrations SET auth_sealed = ?2, auth_version = ?3, sign_sealed = ?4,"
	" sign_version = ?5 WHERE id = ?1 AND status = 'confirmed' AND expires > ?6"
	" AND auth_version = ?7 AND sign_version = ?8";
static const char sr_fail_sql[] =
	"UPDATE sid_registrations SET status = 'failed', code_hash = NULL, auth_sealed = NULL,"
	" sign_sealed = NULL, auth_share = NULL, sign_share = NULL WHERE id = ?1 AND status IN ('code', 'confirmed')";
static const char sr_done_sql[] = "UPDATE sid_registrations SET status = 'done', auth_sealed = NULL, sign_sealed = NULL"
				  " WHERE id = ?1 AND status = 'confirmed'";
static const char sv_charge_sql[] =
	"UPDATE sid_visits SET code_tries = code_tries + 1 WHERE id = ?1 AND code_tries < ?2"
	" RETURNING code_tries";

const char *const store_sql_sid_reg[Q_COUNT] = {
	[Q_SR_PUT] = sr_put_sql,
	[Q_SR_GET] = sr_get_sql,
	[Q_SR_BY_JKT] = sr_by_jkt_sql,
	[Q_SR_BY_CODE] = sr_by_code_sql,
	/* A registration no longer holds its key once expired or failed. */
	[Q_SR_DROP_STALE] = "DELETE FROM sid_registrations WHERE jkt = ?1 AND (expires <= ?2 OR status = 'failed')",
	/* Nor its code once expired (the partial UNIQUE index stays exact). */
	[Q_SR_FREE_CODE] = "UPDATE sid_registrations SET code_hash = NULL WHERE code_hash = ?1 AND expires <= ?2",
	[Q_SR_JKT_DEVICE] = "SELECT 1 FROM sid_devices WHERE jkt = ?1",
	[Q_SR_CONFIRM] = sr_confirm_sql,
	[Q_SR_RECALL_CHARGE] = sr_recall_charge_sql,
	[Q_SR_RECALL_REFUND] = sr_recall_refund_sql,
	[Q_SR_SET_KEYS] = sr_set_keys_sql,
	/* A failed or finished registration keeps no server key: the
	 * device's keys live in sid_keys, a failed one's nowhere. */
	[Q_SR_FAIL] = sr_fail_sql,
	[Q_SR_DONE] = sr_done_sql,
	[Q_SV_PUT] = sv_put_sql,
	[Q_SV_GET] = sv_get_sql,
	[Q_SV_ANSWER] = "UPDATE sid_visits SET email = ?2, phone = ?3 WHERE id = ?1",
	[Q_SV_CHARGE] = sv_charge_sql,
	[Q_SV_SET_REG] = "UPDATE sid_visits SET registration_id = ?2 WHERE id = ?1",
	[Q_SV_DEL] = "DELETE FROM sid_visits WHERE id = ?1",
	/* A typed code that is not ?1 is a guess at every other live code:
	 * each counts it, up to ?3 (then that code is dead).  One statement,
	 * so racing tries are counted one by one and none passes the cap. */
	[Q_SR_CODE_WRONG] = "UPDATE sid_registrations SET code_wrong = code_wrong + 1 WHERE status = 'code'"
			    " AND expires > ?2 AND code_wrong < ?3 AND code_hash <> ?1",
	/* More time for the code (WCAG 2.2.1): it ends at ?2 instead,
	 * counted; one ending after ?6 (more than the warning's window
	 * left: pressed early, or a post racing another that already
	 * extended it), over at ?3 now, at ?4 extensions or dead by ?5 wrong
	 * tries is left alone. */
	[Q_SR_EXTEND] = "UPDATE sid_registrations SET expires = ?2, extended = extended + 1 WHERE id = ?1"
			" AND status = 'code' AND expires > ?3 AND expires <= ?6 AND expires < ?2 AND extended < ?4"
			" AND code_wrong < ?5",
	[Q_SR_STATE] = "SELECT status, expires, extended FROM sid_registrations WHERE id = ?1",
	[Q_SV_EXTEND] = "UPDATE sid_visits SET expires = ?2, extended = extended + 1 WHERE id = ?1"
			" AND expires > ?3 AND expires <= ?5 AND expires < ?2 AND extended < ?4",
	[Q_SV_STATE] = "SELECT 'open', expires, extended FROM sid_visits WHERE id = ?1",
};

/* ---- registrations ---- */

static void
registration_read(struct stmt *s, void *arg)
{
	struct store_sid_registration *r = arg;

	r->sr_id = col_text(s, 0);
	r->sr_jkt = col_text(s, 1);
	r->sr_transport_jwk = col_text(s, 2);
	r->sr_device_name = col_text(s, 3);
	r->sr_lang = col_text(s, 4);
	r->sr_terms = col_text(s, 5);
	r->sr_country = col_text(s, 6);
	r->sr_method = col_text(s, 7);
	r->sr_status = col_text(s, 8);
	r->sr_code_hash = col_text(s, 9);
	r->sr_auth_sealed = col_text(s, 10);
	r->sr_auth_version = col_int(s, 11);
	r->sr_sign_sealed = col_text(s, 12);
	r->sr_sign_version = col_int(s, 13);
	r->sr_person = col_text(s, 14);
	r->sr_email = col_text(s, 15);
	r->sr_phone = col_text(s, 16);
	r->sr_challenge = col_text(s, 17);
	r->sr_recall_failures = col_int(s, 18);
	r->sr_created = col_int(s, 19);
	r->sr_expires = col_int(s, 20);
	r->sr_auth_share = col_text(s, 21);
	r->sr_sign_share = col_text(s, 22);
	r->sr_extended = (int)col_int(s, 23);
	r->sr_code_wrong = (int)col_int(s, 24);
	if (col_lost(s))
		store_sid_registration_clear(r);
}

/* Is `jkt` a Smart-ID device's key (any status: an ended device's key
 * stays spent)? */
static int
jkt_is_sid_device(struct conn *c, const char *jkt)
{
	int rc = conn_exists(c, Q_SR_JKT_DEVICE, jkt);

	if (rc == SL_OK)
		return SL_ECONFLICT;
	return rc == SL_ENOTFOUND ? SL_OK : rc;
}

struct registration_put {
	const struct store_sid_registration *rp_reg;
	int64_t rp_now;
};

static int
registration_put_tx(struct conn *c, void *arg)
{
	const struct registration_put *p = arg;
	const struct store_sid_registration *r = p->rp_reg;
	const struct bind stale[] = { BT(r->sr_jkt), BI(p->rp_now) };
	const struct bind code[] = { BT(r->sr_code_hash), BI(p->rp_now) };
	const struct bind b[] = { BT(r->sr_id), BT(r->sr_jkt), BT(r->sr_transport_jwk), BT(r->sr_device_name),
		BT(r->sr_lang), BT(r->sr_terms), BT(r->sr_country), BT(r->sr_method), BT(r->sr_code_hash),
		BI(r->sr_created ? r->sr_created : p->rp_now), BI(r->sr_expires), BT(r->sr_auth_share),
		BT(r->sr_sign_share) };
	int rc = exec_bound(c, Q_SR_DROP_STALE, stale, NBIND(stale), NULL);

	if (rc == SL_OK)
		rc = exec_bound(c, Q_SR_FREE_CODE, code, NBIND(code), NULL);
	if (rc == SL_OK)
		rc = jkt_is_sid_device(c, r->sr_jkt);
	/* A live registration's key or code: the UNIQUE constraints. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_SR_PUT, b, NBIND(b), NULL);
	return rc;
}

int
store_sid_registration_put(struct store *st, const struct store_sid_registration *r)
{
	struct registration_put p = { r, sl_now() };

	if (r->sr_id == NULL || r->sr_jkt == NULL || r->sr_transport_jwk == NULL || r->sr_code_hash == NULL ||
		r->sr_auth_share == NULL || r->sr_sign_share == NULL)
		return SL_EINVAL;
	return tx_run(st, DUR_NORMAL, registration_put_tx, &p);
}

int
store_sid_registration_get(struct store *st, const char *id, struct store_sid_registration *out)
{
	return get_one(st, Q_SR_GET, id, registration_read, out, sizeof(*out));
}

int
store_sid_registration_by_jkt(struct store *st, const char *jkt, struct store_sid_registration *out)
{
	return get_one(st, Q_SR_BY_JKT, jkt, registration_read, out, sizeof(*out));
}

int
store_sid_registration_by_code(struct store *st, const char *code_hash, int64_t now, struct store_sid_registration *out)
{
	const struct bind b[] = { BT(code_hash), BI(now) };

	memset(out, 0, sizeof(*out));
	if (code_hash == NULL)
		return SL_EINVAL;
	return read_one(st, Q_SR_BY_CODE, b, NBIND(b), registration_read, out);
}

int
store_sid_registration_try_code(
	struct store *st, const char *code_hash, int64_t now, int max_wrong, struct store_sid_registration *out)
{
	const struct bind b[] = { BT(code_hash), BI(now), BI(max_wrong) };
	int rc;

	memset(out, 0, sizeof(*out));
	if (code_hash == NULL || max_wrong <= 0)
		return SL_EINVAL;
	rc = write_one(st, DUR_NORMAL, Q_SR_CODE_WRONG, b, NBIND(b), false);
	if (rc == SL_OK)
		rc = store_sid_registration_by_code(st, code_hash, now, out);
	if (rc == SL_OK && out->sr_code_wrong >= max_wrong)
		rc = SL_EDENIED; /* the right code of a dead registration */
	if (rc != SL_OK && rc != SL_EDENIED)
		store_sid_registration_clear(out);
	return rc;
}

int
store_sid_registration_extend(
	struct store *st, const char *id, int64_t near, int64_t until, int max_times, int max_wrong)
{
	int64_t now = sl_now();
	const struct bind b[] = { BT(id), BI(until), BI(now), BI(max_times), BI(max_wrong), BI(near) };
	const struct pending_ref ref = { Q_SR_STATE, id, now, true, "code", max_times, near + 1 };

	if (id == NULL || max_times <= 0 || until <= now || near >= until)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SR_EXTEND, b, NBIND(b), pending_why_not, &ref);
}

struct reg_state {
	const char *rs_id;
	const char *rs_status; /* the status the change needed */
	int64_t rs_now; /* 0: expiry not checked */
	const int64_t *rs_versions; /* auth, sign the change needed; NULL: not checked */
};

/* Why a registration is not fit for a step (in the caller's transaction):
 * SL_ENOTFOUND (no such registration), SL_ECONFLICT (another status),
 * SL_EEXPIRED (past its expiry).  `expired_first` orders the last two as
 * the contract of the step says; SL_OK when it is fit. */
static int
reg_check(const struct store_sid_registration *r, const struct reg_state *want, bool expired_first)
{
	bool wrong = r->sr_status == NULL || strcmp(r->sr_status, want->rs_status) != 0;
	bool expired = want->rs_now != 0 && r->sr_expires <= want->rs_now;

	if (expired_first && expired)
		return SL_EEXPIRED;
	if (wrong)
		return SL_ECONFLICT;
	return expired ? SL_EEXPIRED : SL_OK;
}

/* A conditional change of a registration matched no row: say why. */
static int
reg_why_not(struct conn *c, const void *arg)
{
	const struct reg_state *want = arg;
	const struct bind b[] = { BT(want->rs_id) };
	struct store_sid_registration r = { 0 };
	int rc = conn_read_one(c, Q_SR_GET, b, NBIND(b), registration_read, &r);

	if (rc == SL_OK && (rc = reg_check(&r, want, false)) == SL_OK && want->rs_versions != NULL &&
		(r.sr_auth_version != want->rs_versions[0] || r.sr_sign_version != want->rs_versions[1]))
		rc = SL_ECONFLICT; /* another try moved the keys on */
	else if (rc == SL_OK)
		rc = SL_ESTORE; /* the statement should have matched */
	store_sid_registration_clear(&r);
	return rc;
}

int
store_sid_registration_confirm(struct store *st, const struct store_sid_registration *r, int64_t now)
{
	const struct bind b[] = { BT(r->sr_id), BT(r->sr_person), BT(r->sr_email), BT(r->sr_phone), BT(r->sr_challenge),
		BI(now), BT(r->sr_auth_sealed), BI(r->sr_auth_version), BT(r->sr_sign_sealed), BI(r->sr_sign_version) };
	const struct reg_state want = { r->sr_id, "code", now, NULL };

	if (r->sr_id == NULL || r->sr_person == NULL || r->sr_challenge == NULL || r->sr_auth_sealed == NULL ||
		r->sr_sign_sealed == NULL)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SR_CONFIRM, b, NBIND(b), reg_why_not, &want);
}

int
store_sid_registration_recall_charge(struct store *st, const char *id, int max, int *tries)
{
	const struct bind b[] = { BT(id), BI(max) };
	struct store_sid_registration r = { 0 };
	int64_t v = 0;
	int rc;

	if (id == NULL)
		return SL_EINVAL;
	rc = update_returning(st, DUR_NORMAL, Q_SR_RECALL_CHARGE, b, NBIND(b), &v, 1);
	if (rc == SL_OK) {
		*tries = (int)v;
		return rc;
	}
	if (rc != SL_ENOTFOUND)
		return rc;
	/* Nothing charged; why is read afterwards (it only picks the answer:
	 * the statement alone decided that nothing is tested). */
	rc = store_sid_registration_get(st, id, &r);
	if (rc == SL_OK)
		rc = strcmp(r.sr_status, "failed") == 0 ||
				     (strcmp(r.sr_status, "confirmed") == 0 && r.sr_recall_failures >= max)
			     ? SL_EDENIED
			     : SL_ECONFLICT;
	store_sid_registration_clear(&r);
	return rc;
}

int
store_sid_registration_recall_refund(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	if (id == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_NORMAL, Q_SR_RECALL_REFUND, b, NBIND(b), true);
}

int
store_sid_registration_set_keys(
	struct store *st, const struct store_sid_registration *r, int64_t old_auth_version, int64_t old_sign_version)
{
	int64_t now = sl_now();
	const int64_t old[2] = { old_auth_version, old_sign_version };
	const struct bind b[] = { BT(r->sr_id), BT(r->sr_auth_sealed), BI(r->sr_auth_version), BT(r->sr_sign_sealed),
		BI(r->sr_sign_version), BI(now), BI(old_auth_version), BI(old_sign_version) };
	const struct reg_state want = { r->sr_id, "confirmed", now, old };

	/* Versions only go up: a step back would re-admit a stale share. */
	if (r->sr_id == NULL || r->sr_auth_sealed == NULL || r->sr_sign_sealed == NULL ||
		r->sr_auth_version < old_auth_version || r->sr_sign_version < old_sign_version)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SR_SET_KEYS, b, NBIND(b), reg_why_not, &want);
}

/* Failing changed nothing: gone, or already done or failed. */
static int
reg_exists_why(struct conn *c, const void *id)
{
	const struct bind b[] = { BT(id) };
	struct store_sid_registration r = { 0 };
	int rc = conn_read_one(c, Q_SR_GET, b, NBIND(b), registration_read, &r);

	store_sid_registration_clear(&r);
	return rc == SL_OK ? SL_ECONFLICT : rc;
}

int
store_sid_registration_fail(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	if (id == NULL)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SR_FAIL, b, NBIND(b), reg_exists_why, id);
}

/* Take a field of the device from the registration when the caller left
 * it NULL; SL_EINVAL when the caller's differs (another phone's key). */
static int
take_field(char **field, const char *from_registration)
{
	if (*field != NULL)
		return from_registration == NULL || strcmp(*field, from_registration) == 0 ? SL_OK : SL_EINVAL;
	if (from_registration == NULL)
		return SL_OK;
	*field = strdup(from_registration);
	return *field != NULL ? SL_OK : SL_ENOMEM;
}

/* The device of a finished registration: its transport key is the
 * registration's; its name too unless the caller chose one. */
static int
finish_device(struct conn *c, const struct store_sid_registration *reg, struct store_sid_device *dev,
	const char *account_id, int64_t now, struct sl_err *why)
{
	int rc;

	if ((rc = take_field(&dev->sd_jkt, reg->sr_jkt)) != SL_OK ||
		(rc = take_field(&dev->sd_transport_jwk, reg->sr_transport_jwk)) != SL_OK)
		return sl_fail(why, rc, "the device key is not the registration's");
	if (dev->sd_name == NULL && (rc = take_field(&dev->sd_name, reg->sr_device_name)) != SL_OK)
		return sl_fail(why, rc, "out of memory");
	/* Tell a reused document number from a reused key. */
	rc = conn_exists(c, Q_SD_BY_DOC, dev->sd_document);
	if (rc == SL_OK)
		return sl_fail(why, SL_ECONFLICT, "the document number is in use");
	if (rc != SL_ENOTFOUND)
		return sl_fail(why, rc, "cannot read the devices");
	rc = sid_device_insert_tx(c, dev, account_id, now);
	if (rc == SL_ECONFLICT)
		return sl_fail(why, rc, "the device key is in use");
	return rc == SL_OK ? rc : sl_fail(why, rc, "cannot save the device");
}

/* Insert the device's key of `use`: the caller's record, its server key
 * (when NULL) the registration's latest. */
static int
finish_key(struct conn *c, const struct store_sid_registration *reg, const char *device_id, const char *use,
	const struct store_sid_key *in, struct sl_err *why)
{
	bool auth = strcmp(use, STORE_SID_KEY_AUTH) == 0;
	struct store_sid_key k = *in;
	int rc;

	k.sk_use = (char *)use;
	if (k.sk_sealed == NULL) {
		k.sk_sealed = auth ? reg->sr_auth_sealed : reg->sr_sign_sealed;
		k.sk_version = auth ? reg->sr_auth_version : reg->sr_sign_version;
	}
	rc = sid_key_insert(c, device_id, &k);
	return rc == SL_OK ? rc : sl_fail(why, rc, "cannot save the %s key", use);
}

/* May the account take one more device (in the finish's transaction, which
 * holds the write lock, so racing finishes of one person are counted one
 * after the other)?  SL_EDENIED when the operator blocked it, SL_ETOOBIG
 * at max_devices active (0: no limit). */
static int
finish_room(struct conn *c, const struct store_sid_account *a, int max_devices, struct sl_err *why)
{
	const struct bind b[] = { BT(a->sa_id) };
	int n = 0, rc;

	if (a->sa_status == NULL || strcmp(a->sa_status, "active") != 0)
		return sl_fail(why, SL_EDENIED, "the account is blocked");
	if (max_devices <= 0)
		return SL_OK;
	rc = conn_read_one(c, Q_SD_COUNT_ACTIVE, b, NBIND(b), count_read, &n);
	if (rc != SL_OK)
		return sl_fail(why, rc, "cannot count the devices");
	return n < max_devices ? SL_OK : sl_fail(why, SL_ETOOBIG, "the account has %d active devices", n);
}

struct registration_finish {
	const char *rf_id;
	int rf_max_devices;
	const struct store_person *rf_person; /* the caller's */
	struct store_person rf_work; /* upserted in the transaction */
	struct store_sid_device *rf_dev;
	bool rf_had_id, rf_had_jkt, rf_had_jwk, rf_had_name; /* else the run's */
	const struct store_sid_key *rf_auth, *rf_sign;
	struct store_sid_account *rf_account;
	struct store_sid_registration rf_reg;
	struct sl_err rf_why; /* the first reason, reported after ROLLBACK */
	int64_t rf_now;
};

/* Start a run from the caller's records: what an earlier run read, made or
 * said is dropped. */
static int
registration_finish_reset(struct registration_finish *f)
{
	struct store_sid_device *dev = f->rf_dev;

	store_sid_registration_clear(&f->rf_reg);
	store_sid_account_clear(f->rf_account);
	memset(&f->rf_why, 0, sizeof(f->rf_why));
	unfill(&dev->sd_id, f->rf_had_id);
	unfill(&dev->sd_jkt, f->rf_had_jkt);
	unfill(&dev->sd_transport_jwk, f->rf_had_jwk);
	unfill(&dev->sd_name, f->rf_had_name);
	return person_work_reset(&f->rf_work, f->rf_person);
}

static int
registration_finish_tx(struct conn *c, void *arg)
{
	struct registration_finish *f = arg;
	const struct bind key[] = { BT(f->rf_id) };
	const struct reg_state want = { f->rf_id, "confirmed", f->rf_now, NULL };
	struct store_sid_registration *reg = &f->rf_reg;
	struct store_sid_account *account = f->rf_account;
	struct sl_err *why = &f->rf_why;
	int rc = registration_finish_reset(f), changes = 0;

	if (rc == SL_OK && (rc = conn_read_one(c, Q_SR_GET, key, NBIND(key), registration_read, reg)) == SL_ENOTFOUND)
		sl_fail(why, rc, "no such registration");
	if (rc == SL_OK && (rc = reg_check(reg, &want, true)) != SL_OK)
		sl_fail(why, rc,
			rc == SL_EEXPIRED ? "the registration has expired" : "the registration is not confirmed");
	/* The same person record as the app key's and the eID login's. */
	if (rc == SL_OK && (rc = person_upsert_tx(c, &f->rf_work, f->rf_now)) != SL_OK)
		sl_fail(why, rc, "cannot save the person record");
	if (rc == SL_OK && (rc = sid_account_for_person_tx(
				    c, f->rf_work.p_id, reg->sr_email, reg->sr_phone, f->rf_now, account)) != SL_OK)
		sl_fail(why, rc, "cannot save the account");
	if (rc == SL_OK)
		rc = finish_room(c, account, f->rf_max_devices, why);
	if (rc == SL_OK)
		rc = finish_device(c, reg, f->rf_dev, account->sa_id, f->rf_now, why);
	if (rc == SL_OK)
		rc = finish_key(c, reg, f->rf_dev->sd_id, STORE_SID_KEY_AUTH, f->rf_auth, why);
	if (rc == SL_OK)
		rc = finish_key(c, reg, f->rf_dev->sd_id, STORE_SID_KEY_SIGN, f->rf_sign, why);
	/* Read in this transaction (BEGIN IMMEDIATE holds the write lock), so
	 * this cannot miss; checked anyway. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_SR_DONE, key, NBIND(key), &changes);
	if (rc == SL_OK && changes != 1)
		rc = sl_fail(why, SL_ECONFLICT, "the registration is not confirmed");
	return rc;
}

int
store_sid_registration_finish(struct store *st, const char *registration_id, int max_devices,
	struct store_person *person, struct store_sid_device *dev, const struct store_sid_key *auth,
	const struct store_sid_key *sign, struct store_sid_account *account, int64_t now, struct sl_err *err)
{
	struct registration_finish f = { 0 };
	int rc;

	memset(account, 0, sizeof(*account));
	if (registration_id == NULL || person == NULL || person->p_rrn == NULL || dev == NULL ||
		dev->sd_document == NULL || auth == NULL || sign == NULL)
		return sl_fail(err, SL_EINVAL, "the registration lacks a person, device, document number or key");
	f.rf_id = registration_id;
	f.rf_max_devices = max_devices;
	/* The person as stored is set in `person` only once committed: a
	 * caller that tries again with the same record must not carry the id
	 * of a row that was rolled back. */
	f.rf_person = person;
	f.rf_dev = dev;
	f.rf_had_id = dev->sd_id != NULL;
	f.rf_had_jkt = dev->sd_jkt != NULL;
	f.rf_had_jwk = dev->sd_transport_jwk != NULL;
	f.rf_had_name = dev->sd_name != NULL;
	f.rf_auth = auth;
	f.rf_sign = sign;
	f.rf_account = account;
	f.rf_now = now;
	rc = tx_run(st, DUR_FULL, registration_finish_tx, &f);
	person_work_end(person, &f.rf_work, rc);
	store_sid_registration_clear(&f.rf_reg);
	if (rc != SL_OK) {
		store_sid_account_clear(account);
		return sl_fail(err, rc, "%s", f.rf_why.code != SL_OK ? f.rf_why.msg : "cannot finish the registration");
	}
	return rc;
}

void
store_sid_registration_clear(struct store_sid_registration *r)
{
	if (r == NULL)
		return;
	free(r->sr_id);
	free(r->sr_jkt);
	free(r->sr_transport_jwk);
	free(r->sr_device_name);
	free(r->sr_lang);
	free(r->sr_terms);
	free(r->sr_country);
	free(r->sr_method);
	free(r->sr_status);
	free(r->sr_code_hash);
	free(r->sr_auth_share);
	free(r->sr_sign_share);
	free(r->sr_auth_sealed);
	free(r->sr_sign_sealed);
	free(r->sr_person);
	free(r->sr_email);
	free(r->sr_phone);
	free(r->sr_challenge);
	memset(r, 0, sizeof(*r));
}

/* ---- registration portal visits ---- */

int
store_sid_visit_put(struct store *st, const struct store_sid_visit *v)
{
	const struct bind b[] = { BT(v->sv_id), BT(v->sv_person), BT(v->sv_email), BT(v->sv_phone),
		BT(v->sv_registration_id), BI(v->sv_expires) };

	if (v->sv_id == NULL || v->sv_person == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_NORMAL, Q_SV_PUT, b, NBIND(b), false);
}

static void
visit_read(struct stmt *s, void *arg)
{
	struct store_sid_visit *v = arg;

	v->sv_id = col_text(s, 0);
	v->sv_person = col_text(s, 1);
	v->sv_email = col_text(s, 2);
	v->sv_phone = col_text(s, 3);
	v->sv_registration_id = col_text(s, 4);
	v->sv_code_tries = col_int(s, 5);
	v->sv_expires = col_int(s, 6);
	v->sv_extended = (int)col_int(s, 7);
	if (col_lost(s))
		store_sid_visit_clear(v);
}

int
store_sid_visit_get(struct store *st, const char *id, int64_t now, struct store_sid_visit *out)
{
	const struct bind b[] = { BT(id), BI(now) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_SV_GET, b, NBIND(b), visit_read, out);
}

int
store_sid_visit_answer(struct store *st, const char *id, const char *email, const char *phone)
{
	const struct bind b[] = { BT(id), BT(email), BT(phone) };

	return write_one(st, DUR_NORMAL, Q_SV_ANSWER, b, NBIND(b), true);
}

int
store_sid_visit_charge(struct store *st, const char *id, int max, int *tries)
{
	const struct bind b[] = { BT(id), BI(max) };
	int64_t v = 0;
	int rc = update_returning(st, DUR_NORMAL, Q_SV_CHARGE, b, NBIND(b), &v, 1);

	if (rc == SL_OK)
		*tries = (int)v;
	/* No row: the tries are used up, or no such visit. */
	return rc == SL_ENOTFOUND ? SL_EDENIED : rc;
}

int
store_sid_visit_extend(struct store *st, const char *id, int64_t near, int64_t until, int max_times)
{
	int64_t now = sl_now();
	const struct bind b[] = { BT(id), BI(until), BI(now), BI(max_times), BI(near) };
	const struct pending_ref ref = { Q_SV_STATE, id, now, true, "open", max_times, near + 1 };

	if (id == NULL || max_times <= 0 || until <= now || near >= until)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SV_EXTEND, b, NBIND(b), pending_why_not, &ref);
}

int
store_sid_visit_set_registration(struct store *st, const char *id, const char *registration_id)
{
	const struct bind b[] = { BT(id), BT(registration_id) };

	return write_one(st, DUR_NORMAL, Q_SV_SET_REG, b, NBIND(b), true);
}

int
store_sid_visit_delete(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_NORMAL, Q_SV_DEL, b, NBIND(b), true);
}

void
store_sid_visit_clear(struct store_sid_visit *v)
{
	if (v == NULL)
		return;
	free(v->sv_id);
	free(v->sv_person);
	free(v->sv_email);
	free(v->sv_phone);
	free(v->sv_registration_id);
	memset(v, 0, sizeof(*v));
}
