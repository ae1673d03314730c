/*
 * smartid.c — Smart-ID-style split-key accounts: accounts (one per
 * person), devices (a phone's transport key and document number), the two
 * split keys of each device, and signing requests.  Registrations and the
 * registration portal's visits are in smartid_reg.c.
 *
 * Accounts, devices and keys are committed with fsync (FULL): a key's
 * version and failure count guard against clones and PIN guessing, so a
 * power cut must not roll them back.  Signing requests are short-lived
 * (NORMAL), as the app key's.  Every state change that guards against a
 * race (the PIN try, the key's advance, ending a device, answering a
 * request) is one conditional statement.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define SA_COLS "id, person_id, status, email, phone, created"
#define SD_COLS "id, account_id, name, jkt, transport_jwk, document, status, reason, created, last_used"
#define SK_COLS "device_id, key_use, sealed, version, cert_pem, cert_serial, failures, locked_until"
#define SQ_COLS                                                                                                        \
	"id, account_id, client_id, rp_name, action, key_use, display_text, nonce, hash, digest, padding, vc,"         \
	" link_kind, link_id, ip, status, device_id, signature, created, expires, device_only, extra"

/* Named, not inline: literals pasted around a column-list macro in the
 * table below read to clang-tidy like a missing comma. */
static const char sa_get_sql[] = "SELECT " SA_COLS " FROM sid_accounts WHERE id = ?1";
static const char sa_by_person_sql[] = "SELECT " SA_COLS " FROM sid_accounts WHERE person_id = ?1";
static const char sa_by_rrn_sql[] = "SELECT a.id, a.person_id, a.status, a.email, a.phone, a.created"
				    " FROM sid_accounts a JOIN persons p ON p.id = a.person_id WHERE p.rrn = ?1";
static const char sa_all_sql[] = "SELECT " SA_COLS " FROM sid_accounts ORDER BY created, rowid";
static const char sa_insert_sql[] = "INSERT INTO sid_accounts (" SA_COLS ") VALUES (?1, ?2, 'active', ?3, ?4, ?5)";
static const char sd_get_sql[] = "SELECT " SD_COLS " FROM sid_devices WHERE id = ?1";
static const char sd_by_jkt_sql[] = "SELECT " SD_COLS " FROM sid_devices WHERE jkt = ?1";
static const char sd_by_doc_sql[] = "SELECT " SD_COLS " FROM sid_devices WHERE document = ?1";
static const char sd_of_account_sql[] =
	"SELECT " SD_COLS " FROM sid_devices WHERE account_id = ?1 ORDER BY created, rowid";
static const char sd_insert_sql[] =
	"INSERT INTO sid_devices (" SD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', NULL, ?7, 0)";
static const char sk_get_sql[] = "SELECT " SK_COLS " FROM sid_keys WHERE device_id = ?1 AND key_use = ?2";
static const char sk_insert_sql[] = "INSERT INTO sid_keys (" SK_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0)";
/* As Q_ACC_ATTEMPT: SET sees the old row, so the count and the lock are
 * decided together, and a key locked at `now` is not touched. */
static const char sk_attempt_sql[] = "UPDATE sid_keys SET failures = failures + 1, locked_until = CASE"
				     " WHEN failures + 1 >= ?4 THEN ?5"
				     " WHEN failures + 1 = ?6 THEN ?3 + ?7"
				     " WHEN failures + 1 = ?8 THEN ?3 + ?9"
				     " ELSE locked_until END"
				     " WHERE device_id = ?1 AND key_use = ?2 AND locked_until <= ?3"
				     " RETURNING failures, locked_until";
/* The compare-and-swap: only from the version the caller completed with,
 * and only while the device is active (a clone's revocation wins). */
static const char sk_advance_sql[] =
	"UPDATE sid_keys SET sealed = ?4, version = ?5, failures = 0, locked_until = 0"
	" WHERE device_id = ?1 AND key_use = ?2 AND version = ?3"
	" AND EXISTS (SELECT 1 FROM sid_devices d WHERE d.id = ?1 AND d.status = 'active')";
static const char sd_fail_requests_sql[] = "UPDATE sid_requests SET status = 'failed' WHERE status = 'pending'"
					   " AND account_id = (SELECT account_id FROM sid_devices WHERE id = ?1)"
					   " AND (device_id IS NULL OR device_id = ?1)"
					   " AND (device_only IS NULL OR device_only = ?1)";
/* ?18 = 0: no bound; otherwise only while fewer than ?18 of the account's
 * requests are pending at ?16 (now): count and insert in one statement, so
 * parallel requests cannot pass max_pending together (on PostgreSQL only
 * at SERIALIZABLE: write_guarded). */
static const char sq_put_sql[] = "INSERT INTO sid_requests (" SQ_COLS ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
				 " ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'pending', NULL, NULL, ?16, ?17, ?19, ?20"
				 " WHERE ?18 = 0 OR (SELECT count(*) FROM sid_requests WHERE account_id = ?2"
				 " AND status = 'pending' AND expires > ?16) < ?18";
static const char sq_get_sql[] = "SELECT " SQ_COLS ", extended FROM sid_requests WHERE id = ?1";
static const char sq_pending_sql[] =
	"SELECT " SQ_COLS ", extended FROM sid_requests"
	" WHERE account_id = ?1 AND status = 'pending' AND expires > ?2 ORDER BY created, rowid";
/* ?2 step, ?5 cap: relative to the stored expiry, so that racing posts
 * each add their step or fail on the count. */
static const char sq_extend_sql[] =
	"UPDATE sid_requests SET expires = CASE WHEN expires + ?2 < ?5 THEN expires + ?2 ELSE ?5 END,"
	" extended = extended + 1 WHERE id = ?1 AND status = 'pending' AND extended < ?4 AND expires > ?3"
	" AND expires < ?5";
static const char sq_finish_sql[] =
	"UPDATE sid_requests SET status = ?2, device_id = COALESCE(?3, device_id), signature = ?4"
	" WHERE id = ?1 AND status = 'pending' AND expires > ?5";

/* The compare-and-swap refund: only while the key is as this try's charge
 * left it (?3 failures, ?4 locked_until); a lock that charge set (later
 * than ?5, now) goes with it.  The charge found the key unlocked. */
static const char sk_refund_sql[] = "UPDATE sid_keys SET failures = failures - 1,"
				    " locked_until = CASE WHEN locked_until > ?5 THEN 0 ELSE locked_until END"
				    " WHERE device_id = ?1 AND key_use = ?2 AND failures = ?3 AND locked_until = ?4"
				    " AND failures > 0";

static const char sk_unlock_sql[] = "UPDATE sid_keys SET failures = 0, locked_until = 0"
				    " WHERE device_id = ?1 AND (?2 IS NULL OR key_use = ?2)";

const char *const store_sql_sid[Q_COUNT] = {
	[Q_SA_GET] = sa_get_sql,
	[Q_SA_BY_PERSON] = sa_by_person_sql,
	[Q_SA_BY_RRN] = sa_by_rrn_sql,
	[Q_SA_ALL] = sa_all_sql,
	[Q_SA_INSERT] = sa_insert_sql,
	[Q_SA_STATUS] = "UPDATE sid_accounts SET status = ?2 WHERE id = ?1",
	[Q_SA_CONTACT] =
		"UPDATE sid_accounts SET email = COALESCE(?2, email), phone = COALESCE(?3, phone) WHERE id = ?1",
	[Q_SD_GET] = sd_get_sql,
	[Q_SD_BY_JKT] = sd_by_jkt_sql,
	[Q_SD_BY_DOC] = sd_by_doc_sql,
	[Q_SD_OF_ACCOUNT] = sd_of_account_sql,
	[Q_SD_COUNT_ACTIVE] = "SELECT count(*) FROM sid_devices WHERE account_id = ?1 AND status = 'active'",
	[Q_SD_INSERT] = sd_insert_sql,
	[Q_SD_END] = "UPDATE sid_devices SET status = ?2, reason = ?3 WHERE id = ?1 AND status = 'active'",
	[Q_SD_FAIL_REQUESTS] = sd_fail_requests_sql,
	[Q_SD_TOUCH] = "UPDATE sid_devices SET last_used = ?2 WHERE id = ?1",
	[Q_SK_GET] = sk_get_sql,
	[Q_SK_INSERT] = sk_insert_sql,
	[Q_SK_ATTEMPT] = sk_attempt_sql,
	[Q_SK_ADVANCE] = sk_advance_sql,
	[Q_SK_UNLOCK] = sk_unlock_sql,
	[Q_SK_REFUND] = sk_refund_sql,
	/* Only over the blob the caller resealed (a compare and swap). */
	[Q_SK_RESEAL] = "UPDATE sid_keys SET sealed = ?4 WHERE device_id = ?1 AND key_use = ?2 AND sealed = ?3",
	[Q_SQ_PUT] = sq_put_sql,
	[Q_SQ_GET] = sq_get_sql,
	[Q_SQ_COUNT_PENDING] =
		"SELECT count(*) FROM sid_requests WHERE account_id = ?1 AND status = 'pending' AND expires > ?2",
	[Q_SQ_PENDING] = sq_pending_sql,
	[Q_SQ_FINISH] = sq_finish_sql,
	[Q_SQ_STATE] = "SELECT status, expires, extended FROM sid_requests WHERE id = ?1",
	[Q_SQ_EXTEND] = sq_extend_sql,
};

static bool
key_use_ok(const char *use)
{
	static const char *const uses[] = { STORE_SID_KEY_AUTH, STORE_SID_KEY_SIGN, NULL };

	return one_of(use, uses);
}

/* ---- accounts ---- */

static void
sid_account_read(struct stmt *s, void *arg)
{
	struct store_sid_account *a = arg;

	a->sa_id = col_text(s, 0);
	a->sa_person_id = col_text(s, 1);
	a->sa_status = col_text(s, 2);
	a->sa_email = col_text(s, 3);
	a->sa_phone = col_text(s, 4);
	a->sa_created = col_int(s, 5);
	if (col_lost(s))
		store_sid_account_clear(a);
}

int
store_sid_account_get(struct store *st, const char *id, struct store_sid_account *out)
{
	return get_one(st, Q_SA_GET, id, sid_account_read, out, sizeof(*out));
}

int
store_sid_account_by_person(struct store *st, const char *person_id, struct store_sid_account *out)
{
	return get_one(st, Q_SA_BY_PERSON, person_id, sid_account_read, out, sizeof(*out));
}

int
store_sid_account_by_rrn(struct store *st, const char *rrn, struct store_sid_account *out)
{
	return get_one(st, Q_SA_BY_RRN, rrn, sid_account_read, out, sizeof(*out));
}

STORE_VISITOR(sid_account, struct store_sid_account, sid_account_read, store_sid_account_clear)

int
store_sid_account_each(struct store *st, int (*fn)(const struct store_sid_account *, void *), void *arg)
{
	struct sid_account_visit v = { fn, arg };

	return read_each(st, Q_SA_ALL, NULL, 0, sid_account_row, &v);
}

int
store_sid_account_set_status(struct store *st, const char *id, const char *status)
{
	static const char *const statuses[] = { "active", "blocked", NULL };
	const struct bind b[] = { BT(id), BT(status) };

	if (id == NULL || !one_of(status, statuses))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SA_STATUS, b, NBIND(b), true);
}

int
sid_account_for_person_tx(struct conn *c, const char *person_id, const char *email, const char *phone, int64_t now,
	struct store_sid_account *out)
{
	const struct bind by_person[] = { BT(person_id) };
	char *id = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = conn_read_one(c, Q_SA_BY_PERSON, by_person, NBIND(by_person), sid_account_read, out);
	if (rc == SL_OK) {
		const struct bind b[] = { BT(out->sa_id), BT(email), BT(phone) };
		rc = exec_bound(c, Q_SA_CONTACT, b, NBIND(b), NULL);
	} else if (rc == SL_ENOTFOUND) {
		if ((id = sl_random_name(16)) == NULL)
			return SL_ENOMEM;
		const struct bind b[] = { BT(id), BT(person_id), BT(email), BT(phone), BI(now) };
		rc = exec_bound(c, Q_SA_INSERT, b, NBIND(b), NULL);
	}
	/* Read back what is stored now (the contact merged, or the new row). */
	if (rc == SL_OK) {
		const struct bind key[] = { BT(id != NULL ? id : out->sa_id) };
		struct store_sid_account now_stored = { 0 };
		rc = conn_read_one(c, Q_SA_GET, key, NBIND(key), sid_account_read, &now_stored);
		store_sid_account_clear(out);
		*out = now_stored;
	}
	free(id);
	return rc;
}

void
store_sid_account_clear(struct store_sid_account *a)
{
	if (a == NULL)
		return;
	free(a->sa_id);
	free(a->sa_person_id);
	free(a->sa_status);
	free(a->sa_email);
	free(a->sa_phone);
	memset(a, 0, sizeof(*a));
}

/* ---- devices ---- */

static void
sid_device_read(struct stmt *s, void *arg)
{
	struct store_sid_device *d = arg;

	d->sd_id = col_text(s, 0);
	d->sd_account_id = col_text(s, 1);
	d->sd_name = col_text(s, 2);
	d->sd_jkt = col_text(s, 3);
	d->sd_transport_jwk = col_text(s, 4);
	d->sd_document = col_text(s, 5);
	d->sd_status = col_text(s, 6);
	d->sd_reason = col_text(s, 7);
	d->sd_created = col_int(s, 8);
	d->sd_last_used = col_int(s, 9);
	if (col_lost(s))
		store_sid_device_clear(d);
}

int
store_sid_device_get(struct store *st, const char *id, struct store_sid_device *out)
{
	return get_one(st, Q_SD_GET, id, sid_device_read, out, sizeof(*out));
}

int
store_sid_device_by_jkt(struct store *st, const char *jkt, struct store_sid_device *out)
{
	return get_one(st, Q_SD_BY_JKT, jkt, sid_device_read, out, sizeof(*out));
}

int
store_sid_device_by_document(struct store *st, const char *document, struct store_sid_device *out)
{
	return get_one(st, Q_SD_BY_DOC, document, sid_device_read, out, sizeof(*out));
}

STORE_VISITOR(sid_device, struct store_sid_device, sid_device_read, store_sid_device_clear)

int
store_sid_device_each(
	struct store *st, const char *account_id, int (*fn)(const struct store_sid_device *, void *), void *arg)
{
	const struct bind b[] = { BT(account_id) };
	struct sid_device_visit v = { fn, arg };

	if (account_id == NULL)
		return SL_EINVAL;
	return read_each(st, Q_SD_OF_ACCOUNT, b, NBIND(b), sid_device_row, &v);
}

int
store_sid_device_count_active(struct store *st, const char *account_id, int *n)
{
	const struct bind b[] = { BT(account_id) };

	return read_one(st, Q_SD_COUNT_ACTIVE, b, NBIND(b), count_read, n);
}

/* Ending a device changed nothing: it is gone, or no longer active. */
static int
device_why_not(struct conn *c, const void *id)
{
	struct store_sid_device d = { 0 };
	const struct bind b[] = { BT(id) };
	int rc = conn_read_one(c, Q_SD_GET, b, NBIND(b), sid_device_read, &d);

	store_sid_device_clear(&d);
	return rc == SL_OK ? SL_ECONFLICT : rc;
}

struct device_end {
	const char *de_id;
	const char *de_status;
	const char *de_reason;
};

static int
device_end_tx(struct conn *c, void *arg)
{
	const struct device_end *e = arg;
	const struct bind b[] = { BT(e->de_id), BT(e->de_status), BT(e->de_reason) };
	const struct bind key[] = { BT(e->de_id) };
	int changes = 0, rc = exec_bound(c, Q_SD_END, b, NBIND(b), &changes);

	if (rc == SL_OK && changes == 0)
		rc = device_why_not(c, e->de_id);
	/* Whatever the ended phone has on its screen now cannot be approved. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_SD_FAIL_REQUESTS, key, NBIND(key), NULL);
	return rc;
}

int
store_sid_device_end(struct store *st, const char *id, const char *status, const char *reason)
{
	static const char *const ends[] = { "revoked", "removed", NULL };
	struct device_end e = { id, status, reason };

	if (id == NULL || !one_of(status, ends))
		return SL_EINVAL;
	return tx_run(st, DUR_FULL, device_end_tx, &e);
}

int
store_sid_device_touch(struct store *st, const char *id, int64_t when)
{
	const struct bind b[] = { BT(id), BI(when) };

	/* Information for the person, not a security record (NORMAL). */
	return write_one(st, DUR_NORMAL, Q_SD_TOUCH, b, NBIND(b), true);
}

int
sid_device_insert_tx(struct conn *c, struct store_sid_device *dev, const char *account_id, int64_t now)
{
	char *acc = strdup(account_id), *status = strdup("active");
	int rc;

	if (acc == NULL || status == NULL || (dev->sd_id == NULL && (dev->sd_id = sl_random_name(16)) == NULL)) {
		free(acc);
		free(status);
		return SL_ENOMEM;
	}
	free(dev->sd_account_id);
	dev->sd_account_id = acc;
	free(dev->sd_status);
	dev->sd_status = status;
	free(dev->sd_reason);
	dev->sd_reason = NULL;
	dev->sd_created = now;
	dev->sd_last_used = 0;
	{
		const struct bind b[] = { BT(dev->sd_id), BT(acc), BT(dev->sd_name), BT(dev->sd_jkt),
			BT(dev->sd_transport_jwk), BT(dev->sd_document), BI(now) };
		rc = exec_bound(c, Q_SD_INSERT, b, NBIND(b), NULL);
	}
	return rc;
}

void
store_sid_device_clear(struct store_sid_device *d)
{
	if (d == NULL)
		return;
	free(d->sd_id);
	free(d->sd_account_id);
	free(d->sd_name);
	free(d->sd_jkt);
	free(d->sd_transport_jwk);
	free(d->sd_document);
	free(d->sd_status);
	free(d->sd_reason);
	memset(d, 0, sizeof(*d));
}

/* ---- keys ---- */

static void
sid_key_read(struct stmt *s, void *arg)
{
	struct store_sid_key *k = arg;

	k->sk_device_id = col_text(s, 0);
	k->sk_use = col_text(s, 1);
	k->sk_sealed = col_text(s, 2);
	k->sk_version = col_int(s, 3);
	k->sk_cert_pem = col_text(s, 4);
	k->sk_cert_serial = col_text(s, 5);
	k->sk_failures = col_int(s, 6);
	k->sk_locked_until = col_int(s, 7);
	if (col_lost(s))
		store_sid_key_clear(k);
}

int
store_sid_key_get(struct store *st, const char *device_id, const char *use, struct store_sid_key *out)
{
	const struct bind b[] = { BT(device_id), BT(use) };

	memset(out, 0, sizeof(*out));
	if (device_id == NULL || !key_use_ok(use))
		return SL_EINVAL;
	return read_one(st, Q_SK_GET, b, NBIND(b), sid_key_read, out);
}

int
sid_key_insert(struct conn *c, const char *device_id, const struct store_sid_key *k)
{
	const struct bind b[] = { BT(device_id), BT(k->sk_use), BT(k->sk_sealed), BI(k->sk_version), BT(k->sk_cert_pem),
		BT(k->sk_cert_serial) };

	if (!key_use_ok(k->sk_use) || k->sk_sealed == NULL)
		return SL_EINVAL;
	return exec_bound(c, Q_SK_INSERT, b, NBIND(b), NULL);
}

int
store_sid_key_attempt(struct store *st, const char *device_id, const char *use, int64_t now,
	const struct store_lockout *lo, int *failures, int64_t *locked_until)
{
	const struct bind b[] = { BT(device_id), BT(use), BI(now), BI(lo->lo_forever), BI(STORE_LOCKED_FOREVER),
		BI(lo->lo_step2), BI(lo->lo_secs2), BI(lo->lo_step1), BI(lo->lo_secs1) };
	int64_t v[2] = { 0, 0 };
	int rc;

	if (device_id == NULL || !key_use_ok(use))
		return SL_EINVAL;
	rc = update_returning(st, DUR_FULL, Q_SK_ATTEMPT, b, NBIND(b), v, 2);
	if (rc == SL_OK) {
		*failures = (int)v[0];
		*locked_until = v[1];
	}
	/* No row: unknown, or locked at `now` (the caller reads which). */
	return rc == SL_ENOTFOUND ? SL_EDENIED : rc;
}

struct key_ref {
	const char *kr_device;
	const char *kr_use;
};

/* The advance changed nothing: no such key, or it moved on (or its
 * device ended) meanwhile. */
static int
key_why_not(struct conn *c, const void *arg)
{
	const struct key_ref *r = arg;
	struct store_sid_key k = { 0 };
	const struct bind b[] = { BT(r->kr_device), BT(r->kr_use) };
	int rc = conn_read_one(c, Q_SK_GET, b, NBIND(b), sid_key_read, &k);

	store_sid_key_clear(&k);
	return rc == SL_OK ? SL_ECONFLICT : rc;
}

int
store_sid_key_advance(struct store *st, const char *device_id, const char *use, int64_t old_version,
	const char *new_sealed, int64_t new_version)
{
	const struct bind b[] = { BT(device_id), BT(use), BI(old_version), BT(new_sealed), BI(new_version) };
	const struct key_ref ref = { device_id, use };

	/* Versions only go up: a step back would re-admit a stale share. */
	if (device_id == NULL || !key_use_ok(use) || new_sealed == NULL || new_version <= old_version)
		return SL_EINVAL;
	return write_or_why(st, DUR_FULL, Q_SK_ADVANCE, b, NBIND(b), key_why_not, &ref);
}

int
store_sid_key_refund(
	struct store *st, const char *device_id, const char *use, int failures, int64_t locked_until, int64_t now)
{
	const struct bind b[] = { BT(device_id), BT(use), BI(failures), BI(locked_until), BI(now) };

	if (device_id == NULL || !key_use_ok(use) || failures < 1)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SK_REFUND, b, NBIND(b), true);
}

int
store_sid_key_reseal(
	struct store *st, const char *device_id, const char *use, const char *old_sealed, const char *sealed)
{
	const struct bind b[] = { BT(device_id), BT(use), BT(old_sealed), BT(sealed) };

	if (device_id == NULL || !key_use_ok(use) || old_sealed == NULL || sealed == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SK_RESEAL, b, NBIND(b), true);
}

int
store_sid_key_unlock(struct store *st, const char *device_id, const char *use)
{
	const struct bind b[] = { BT(device_id), BT(use) };

	if (device_id == NULL || (use != NULL && !key_use_ok(use)))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SK_UNLOCK, b, NBIND(b), true);
}

void
store_sid_key_clear(struct store_sid_key *k)
{
	if (k == NULL)
		return;
	free(k->sk_device_id);
	free(k->sk_use);
	free(k->sk_sealed);
	free(k->sk_cert_pem);
	free(k->sk_cert_serial);
	memset(k, 0, sizeof(*k));
}

/* ---- signing requests ---- */

/* The fields a request cannot be without, and their known values: a
 * certificate choice is confirmed with the signing key's PIN; only an RP
 * API request may have an empty hash (ACSP_V2: the device makes the
 * payload; a certificate choice signs nothing). */
static bool
sid_request_ok(const struct store_sid_request *r)
{
	static const char *const actions[] = { "login", "sign", "cert", NULL };

	if (r->sq_id == NULL || r->sq_account_id == NULL || r->sq_client_id == NULL || !one_of(r->sq_action, actions) ||
		!key_use_ok(r->sq_key_use) || r->sq_digest == NULL || r->sq_padding == NULL)
		return false;
	if (strcmp(r->sq_action, "cert") == 0 && strcmp(r->sq_key_use, STORE_SID_KEY_SIGN) != 0)
		return false;
	if (r->sq_hash == NULL)
		return false;
	return r->sq_hash[0] != '\0' || (r->sq_link_kind != NULL && strcmp(r->sq_link_kind, "rpapi") == 0);
}

int
store_sid_request_put_bounded(struct store *st, const struct store_sid_request *r, int max_pending)
{
	const struct bind b[] = { BT(r->sq_id), BT(r->sq_account_id), BT(r->sq_client_id), BT(r->sq_rp_name),
		BT(r->sq_action), BT(r->sq_key_use), BT(r->sq_display_text), BT(r->sq_nonce), BT(r->sq_hash),
		BT(r->sq_digest), BT(r->sq_padding), BT(r->sq_vc), BT(r->sq_link_kind), BT(r->sq_link_id), BT(r->sq_ip),
		BI(r->sq_created ? r->sq_created : sl_now()), BI(r->sq_expires), BI(max_pending < 0 ? 0 : max_pending),
		BT(r->sq_device_only), BT(r->sq_extra) };
	int rc;

	if (!sid_request_ok(r))
		return SL_EINVAL;
	rc = write_guarded(st, DUR_NORMAL, Q_SQ_PUT, b, NBIND(b), true);
	return rc == SL_ENOTFOUND ? SL_EBUSY : rc;
}

int
store_sid_request_put(struct store *st, const struct store_sid_request *r)
{
	return store_sid_request_put_bounded(st, r, 0);
}

static void
sid_request_read(struct stmt *s, void *arg)
{
	struct store_sid_request *r = arg;

	r->sq_id = col_text(s, 0);
	r->sq_account_id = col_text(s, 1);
	r->sq_client_id = col_text(s, 2);
	r->sq_rp_name = col_text(s, 3);
	r->sq_action = col_text(s, 4);
	r->sq_key_use = col_text(s, 5);
	r->sq_display_text = col_text(s, 6);
	r->sq_nonce = col_text(s, 7);
	r->sq_hash = col_text(s, 8);
	r->sq_digest = col_text(s, 9);
	r->sq_padding = col_text(s, 10);
	r->sq_vc = col_text(s, 11);
	r->sq_link_kind = col_text(s, 12);
	r->sq_link_id = col_text(s, 13);
	r->sq_ip = col_text(s, 14);
	r->sq_status = col_text(s, 15);
	r->sq_device_id = col_text(s, 16);
	r->sq_signature = col_text(s, 17);
	r->sq_created = col_int(s, 18);
	r->sq_expires = col_int(s, 19);
	r->sq_device_only = col_text(s, 20);
	r->sq_extra = col_text(s, 21);
	r->sq_extended = (int)col_int(s, 22);
	if (col_lost(s))
		store_sid_request_clear(r);
}

int
store_sid_request_get(struct store *st, const char *id, struct store_sid_request *out)
{
	return get_one(st, Q_SQ_GET, id, sid_request_read, out, sizeof(*out));
}

int
store_sid_request_count_pending(struct store *st, const char *account_id, int64_t now, int *n)
{
	const struct bind b[] = { BT(account_id), BI(now) };

	return read_one(st, Q_SQ_COUNT_PENDING, b, NBIND(b), count_read, n);
}

STORE_VISITOR(sid_request, struct store_sid_request, sid_request_read, store_sid_request_clear)

int
store_sid_request_each_pending(struct store *st, const char *account_id, int64_t now,
	int (*fn)(const struct store_sid_request *, void *), void *arg)
{
	const struct bind b[] = { BT(account_id), BI(now) };
	struct sid_request_visit v = { fn, arg };

	return read_each(st, Q_SQ_PENDING, b, NBIND(b), sid_request_row, &v);
}

int
store_sid_request_finish(
	struct store *st, const char *id, const char *status, const char *device_id, const char *signature, int64_t now)
{
	static const char *const outcomes[] = { "approved", "refused", "failed", "expired", NULL };
	const struct bind b[] = { BT(id), BT(status), BT(device_id), BT(signature), BI(now) };
	const struct pending_ref ref = { Q_SQ_STATE, id, now, false };

	if (id == NULL || !one_of(status, outcomes))
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SQ_FINISH, b, NBIND(b), pending_why_not, &ref);
}

int
store_sid_request_extend(struct store *st, const char *id, int step, int64_t cap, int max_times)
{
	int64_t now = sl_now();
	const struct bind b[] = { BT(id), BI(step), BI(now), BI(max_times), BI(cap) };
	const struct pending_ref ref = { Q_SQ_STATE, id, now, true, NULL, max_times, cap };

	if (id == NULL || max_times <= 0 || step <= 0)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SQ_EXTEND, b, NBIND(b), pending_why_not, &ref);
}

void
store_sid_request_clear(struct store_sid_request *r)
{
	if (r == NULL)
		return;
	free(r->sq_id);
	free(r->sq_account_id);
	free(r->sq_client_id);
	free(r->sq_rp_name);
	free(r->sq_action);
	free(r->sq_key_use);
	free(r->sq_display_text);
	free(r->sq_nonce);
	free(r->sq_hash);
	free(r->sq_digest);
	free(r->sq_padding);
	free(r->sq_vc);
	free(r->sq_link_kind);
	free(r->sq_link_id);
	free(r->sq_ip);
	free(r->sq_status);
	free(r->sq_device_id);
	free(r->sq_signature);
	free(r->sq_device_only);
	free(r->sq_extra);
	memset(r, 0, sizeof(*r));
}
