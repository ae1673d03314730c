/*
 * sidrp.c — the Smart-ID RP API's relying parties and sessions (store.h,
 * schema 10; src/keys/sidrp uses them).
 *
 * A relying party is registered by the operator (`sleutel rp add`) and
 * kept with fsync (FULL), as clients are.  A session lives minutes: it is
 * RUNNING until a device answers or its lifetime ends, then COMPLETE with
 * its result, which the RP may read until keep_until, when
 * store_purge_expired drops the row.  Sessions are committed NORMAL, as
 * signing requests: a power cut may lose the last few, which costs the RP
 * one more session.
 *
 * The three steps that race are single statements: the creation counts
 * the RP's running sessions and inserts in one INSERT ... SELECT (so
 * parallel creations cannot pass max_running together); a device's claim
 * and the completion are conditional UPDATEs, so of two racing claims (or
 * completions) exactly one changes the row.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define SP_COLS "uuid, name, allow_ip, permissions, status, created"
#define SS_COLS                                                                                                        \
	"id, rp_uuid, api, type, flow, target_kind, target, account_id, params, token, secret, server_random, vc,"     \
	" idem, request_id, ip, state, result, created, expires, keep_until"

/* Named, not inline: literals pasted around a column-list macro in the
 * table below read to clang-tidy like a missing comma. */
static const char sp_put_sql[] = "INSERT INTO sid_rps (" SP_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sp_get_sql[] = "SELECT " SP_COLS " FROM sid_rps WHERE uuid = ?1";
static const char sp_all_sql[] = "SELECT " SP_COLS " FROM sid_rps ORDER BY created, rowid";
/* ?19 = 0: no bound; otherwise only while fewer than ?19 of the RP's
 * sessions are RUNNING and unexpired at ?16 (its creation): counted and
 * inserted in one statement.  An unknown RP inserts nothing either: the
 * caller learns which from the RP's row. */
static const char ss_put_sql[] =
	"INSERT INTO sid_sessions (" SS_COLS ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	" ?14, NULL, ?15, 'RUNNING', NULL, ?16, ?17, ?18"
	" WHERE EXISTS (SELECT 1 FROM sid_rps WHERE uuid = ?2)"
	" AND (?19 = 0 OR (SELECT count(*) FROM sid_sessions WHERE rp_uuid = ?2"
	" AND state = 'RUNNING' AND expires > ?16) < ?19)";
static const char ss_get_sql[] = "SELECT " SS_COLS " FROM sid_sessions WHERE id = ?1";
static const char ss_by_token_sql[] = "SELECT " SS_COLS " FROM sid_sessions WHERE token = ?1";
static const char ss_by_idem_sql[] = "SELECT " SS_COLS " FROM sid_sessions WHERE idem = ?1 AND created >= ?2"
				     " ORDER BY created DESC, rowid DESC LIMIT 1";
/* Taken by one device: no request yet, RUNNING, unexpired at ?4. */
static const char ss_claim_sql[] = "UPDATE sid_sessions SET account_id = ?2, request_id = ?3"
				   " WHERE id = ?1 AND state = 'RUNNING' AND request_id IS NULL AND expires > ?4";
static const char ss_complete_sql[] = "UPDATE sid_sessions SET state = 'COMPLETE', result = ?2, keep_until = ?3"
				      " WHERE id = ?1 AND state = 'RUNNING'"
				      " AND (?4 IS NULL OR request_id IS NULL OR request_id = ?4)";

const char *const store_sql_sidrp[Q_COUNT] = {
	[Q_SP_PUT] = sp_put_sql,
	[Q_SP_GET] = sp_get_sql,
	[Q_SP_ALL] = sp_all_sql,
	[Q_SP_STATUS] = "UPDATE sid_rps SET status = ?2 WHERE uuid = ?1",
	[Q_SP_ACCESS] = "UPDATE sid_rps SET allow_ip = ?2, permissions = ?3 WHERE uuid = ?1",
	[Q_SS_PUT] = ss_put_sql,
	[Q_SS_GET] = ss_get_sql,
	[Q_SS_BY_TOKEN] = ss_by_token_sql,
	[Q_SS_BY_IDEM] = ss_by_idem_sql,
	[Q_SS_CLAIM] = ss_claim_sql,
	[Q_SS_COMPLETE] = ss_complete_sql,
	[Q_SS_STATE] = "SELECT state, expires, request_id IS NOT NULL FROM sid_sessions WHERE id = ?1",
};

static bool
rp_status_ok(const char *status)
{
	static const char *const statuses[] = { "active", "disabled", NULL };

	return one_of(status, statuses);
}

/* ---- relying parties ---- */

int
store_sid_rp_put(struct store *st, const struct store_sid_rp *rp)
{
	const char *status = rp->sp_status ? rp->sp_status : "active";
	const struct bind b[] = { BT(rp->sp_uuid), BT(rp->sp_name), BT(rp->sp_allow_ip), BT(rp->sp_permissions),
		BT(status), BI(rp->sp_created ? rp->sp_created : sl_now()) };

	if (rp->sp_uuid == NULL || rp->sp_name == NULL || rp->sp_permissions == NULL || !rp_status_ok(status))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SP_PUT, b, NBIND(b), true);
}

static void
sid_rp_read(struct stmt *s, void *arg)
{
	struct store_sid_rp *rp = arg;

	rp->sp_uuid = col_text(s, 0);
	rp->sp_name = col_text(s, 1);
	rp->sp_allow_ip = col_text(s, 2);
	rp->sp_permissions = col_text(s, 3);
	rp->sp_status = col_text(s, 4);
	rp->sp_created = col_int(s, 5);
	if (col_lost(s))
		store_sid_rp_clear(rp);
}

int
store_sid_rp_get(struct store *st, const char *uuid, struct store_sid_rp *out)
{
	return get_one(st, Q_SP_GET, uuid, sid_rp_read, out, sizeof(*out));
}

STORE_VISITOR(sid_rp, struct store_sid_rp, sid_rp_read, store_sid_rp_clear)

int
store_sid_rp_each(struct store *st, int (*fn)(const struct store_sid_rp *, void *), void *arg)
{
	struct sid_rp_visit v = { fn, arg };

	return read_each(st, Q_SP_ALL, NULL, 0, sid_rp_row, &v);
}

int
store_sid_rp_set_status(struct store *st, const char *uuid, const char *status)
{
	const struct bind b[] = { BT(uuid), BT(status) };

	if (uuid == NULL || !rp_status_ok(status))
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SP_STATUS, b, NBIND(b), true);
}

int
store_sid_rp_set_access(struct store *st, const char *uuid, const char *allow_ip, const char *permissions)
{
	const struct bind b[] = { BT(uuid), BT(allow_ip), BT(permissions) };

	if (uuid == NULL || permissions == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_SP_ACCESS, b, NBIND(b), true);
}

void
store_sid_rp_clear(struct store_sid_rp *rp)
{
	if (rp == NULL)
		return;
	free(rp->sp_uuid);
	free(rp->sp_name);
	free(rp->sp_allow_ip);
	free(rp->sp_permissions);
	free(rp->sp_status);
	memset(rp, 0, sizeof(*rp));
}

/* ---- sessions ---- */

/* The fields a session cannot be without, and their known values. */
static bool
session_ok(const struct store_sid_session *s)
{
	static const char *const apis[] = { "v3", "v2", NULL };
	static const char *const types[] = { "auth", "sign", "cert", NULL };
	static const char *const flows[] = { "device-link", "notification", NULL };
	static const char *const targets[] = { "anonymous", "etsi", "document", NULL };

	if (s->ss_id == NULL || s->ss_rp_uuid == NULL || s->ss_params == NULL || s->ss_expires <= 0 ||
		s->ss_keep_until < s->ss_expires)
		return false;
	if (!one_of(s->ss_api, apis) || !one_of(s->ss_type, types) || !one_of(s->ss_flow, flows) ||
		!one_of(s->ss_target_kind, targets))
		return false;
	/* A target names someone; an anonymous session names no one. */
	return (strcmp(s->ss_target_kind, "anonymous") == 0) == (s->ss_target == NULL);
}

/* Why an insert of a session within bounds inserted nothing. */
static int
session_put_why_not(struct conn *c, const void *ctx)
{
	const struct store_sid_session *s = ctx;

	return conn_exists(c, Q_SP_GET, s->ss_rp_uuid) == SL_OK ? SL_EBUSY : SL_ENOTFOUND;
}

int
store_sid_session_put(struct store *st, const struct store_sid_session *s, int max_running)
{
	const struct bind b[] = { BT(s->ss_id), BT(s->ss_rp_uuid), BT(s->ss_api), BT(s->ss_type), BT(s->ss_flow),
		BT(s->ss_target_kind), BT(s->ss_target), BT(s->ss_account_id), BT(s->ss_params), BT(s->ss_token),
		BT(s->ss_secret), BT(s->ss_server_random), BT(s->ss_vc), BT(s->ss_idem), BT(s->ss_ip),
		BI(s->ss_created ? s->ss_created : sl_now()), BI(s->ss_expires), BI(s->ss_keep_until),
		BI(max_running < 0 ? 0 : max_running) };

	if (!session_ok(s))
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SS_PUT, b, NBIND(b), session_put_why_not, s);
}

static void
sid_session_read(struct stmt *s, void *arg)
{
	struct store_sid_session *ss = arg;

	ss->ss_id = col_text(s, 0);
	ss->ss_rp_uuid = col_text(s, 1);
	ss->ss_api = col_text(s, 2);
	ss->ss_type = col_text(s, 3);
	ss->ss_flow = col_text(s, 4);
	ss->ss_target_kind = col_text(s, 5);
	ss->ss_target = col_text(s, 6);
	ss->ss_account_id = col_text(s, 7);
	ss->ss_params = col_text(s, 8);
	ss->ss_token = col_text(s, 9);
	ss->ss_secret = col_text(s, 10);
	ss->ss_server_random = col_text(s, 11);
	ss->ss_vc = col_text(s, 12);
	ss->ss_idem = col_text(s, 13);
	ss->ss_request_id = col_text(s, 14);
	ss->ss_ip = col_text(s, 15);
	ss->ss_state = col_text(s, 16);
	ss->ss_result = col_text(s, 17);
	ss->ss_created = col_int(s, 18);
	ss->ss_expires = col_int(s, 19);
	ss->ss_keep_until = col_int(s, 20);
	if (col_lost(s))
		store_sid_session_clear(ss);
}

int
store_sid_session_get(struct store *st, const char *id, struct store_sid_session *out)
{
	return get_one(st, Q_SS_GET, id, sid_session_read, out, sizeof(*out));
}

int
store_sid_session_by_token(struct store *st, const char *token, struct store_sid_session *out)
{
	return get_one(st, Q_SS_BY_TOKEN, token, sid_session_read, out, sizeof(*out));
}

int
store_sid_session_by_idem(struct store *st, const char *idem, int64_t since, struct store_sid_session *out)
{
	const struct bind b[] = { BT(idem), BI(since) };

	memset(out, 0, sizeof(*out));
	if (idem == NULL)
		return SL_ENOTFOUND;
	return read_one(st, Q_SS_BY_IDEM, b, NBIND(b), sid_session_read, out);
}

/* Why a claim or a completion changed nothing (write_or_why with
 * pending_why_not): no such session (SL_ENOTFOUND), taken or COMPLETE
 * (SL_ECONFLICT), past its expiry (SL_EEXPIRED, claims only: a completion's
 * pr_now is 0). */
int
store_sid_session_claim(struct store *st, const char *id, const char *account_id, const char *request_id, int64_t now)
{
	const struct bind b[] = { BT(id), BT(account_id), BT(request_id), BI(now) };
	const struct pending_ref ref = { Q_SS_STATE, id, now, true, "RUNNING" };

	if (id == NULL || account_id == NULL || request_id == NULL || now <= 0)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SS_CLAIM, b, NBIND(b), pending_why_not, &ref);
}

int
store_sid_session_complete(
	struct store *st, const char *id, const char *request_id, const char *result, int64_t keep_until)
{
	const struct bind b[] = { BT(id), BT(result), BI(keep_until), BT(request_id) };
	const struct pending_ref ref = { Q_SS_STATE, id, 0, true, "RUNNING" };

	if (id == NULL || result == NULL || keep_until <= 0)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_SS_COMPLETE, b, NBIND(b), pending_why_not, &ref);
}

void
store_sid_session_clear(struct store_sid_session *s)
{
	if (s == NULL)
		return;
	free(s->ss_id);
	free(s->ss_rp_uuid);
	free(s->ss_api);
	free(s->ss_type);
	free(s->ss_flow);
	free(s->ss_target_kind);
	free(s->ss_target);
	free(s->ss_account_id);
	free(s->ss_params);
	free(s->ss_token);
	free(s->ss_secret);
	free(s->ss_server_random);
	free(s->ss_vc);
	free(s->ss_idem);
	free(s->ss_request_id);
	free(s->ss_ip);
	free(s->ss_state);
	free(s->ss_result);
	memset(s, 0, sizeof(*s));
}
