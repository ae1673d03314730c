/*
 * consent.c — the scopes a client may be granted and its secret (what an
 * operator changes on a client), and what each person agreed to share with
 * each client.
 *
 * A consent row holds ids and scope names only (no secret, nothing about
 * the person but the id).  It is durable (FULL): losing one would only ask
 * the person again, but a withdrawal that came back after a power cut
 * would not be what the person chose.  Withdrawing deletes the row and
 * revokes the client's tokens of that person in the same transaction, so
 * no token outlives the consent it was issued under.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* An upsert: a second "Share" for the same site replaces the scopes. */
static const char consent_put_sql[] =
	"INSERT INTO consents (person_id, client_id, scopes, created, updated) VALUES (?1, ?2, ?3, ?4, ?4)"
	" ON CONFLICT (person_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated = excluded.updated";
/* Consents to clients that still exist, with the client's name. */
static const char consent_all_sql[] =
	"SELECT s.client_id, c.name, s.scopes, s.updated FROM consents s JOIN clients c ON c.client_id = s.client_id"
	" WHERE s.person_id = ?1 ORDER BY s.updated DESC, s.client_id LIMIT ?2";

/* fapi2 also sets require_par: FAPI 2.0 clients must push their requests. */
static const char client_profile_sql[] =
	"UPDATE clients SET profile = ?2, require_par = CASE WHEN ?2 = 'fapi2' THEN 1 ELSE require_par END"
	" WHERE client_id = ?1";

const char *const store_sql_consent[Q_COUNT] = {
	[Q_CLIENT_PROFILE] = client_profile_sql,
	[Q_CLIENT_SCOPES] = "UPDATE clients SET scopes = ?2 WHERE client_id = ?1",
	[Q_CLIENT_SECRET] = "UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1 AND secret_hash IS NOT NULL",
	[Q_CLIENT_SIGNED_RO] = "UPDATE clients SET require_signed_ro = ?2 WHERE client_id = ?1",
	[Q_CONSENT_GET] = "SELECT scopes FROM consents WHERE person_id = ?1 AND client_id = ?2",
	[Q_CONSENT_PUT] = consent_put_sql,
	[Q_CONSENT_ALL] = consent_all_sql,
	[Q_CONSENT_DEL] = "DELETE FROM consents WHERE person_id = ?1 AND client_id = ?2",
	[Q_CONSENT_REVOKE] = "UPDATE tokens SET revoked = 1 WHERE person_id = ?1 AND client_id = ?2 AND revoked = 0",
	[Q_CONSENT_CODES] = "DELETE FROM codes WHERE person_id = ?1 AND client_id = ?2",
};

int
store_client_set_scopes(struct store *st, const char *id, const char *scopes)
{
	const struct bind b[] = { BT(id), BT(scopes) };

	if (id == NULL || scopes == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_CLIENT_SCOPES, b, NBIND(b), true);
}

int
store_client_set_secret(struct store *st, const char *id, const char *secret_hash)
{
	const struct bind b[] = { BT(id), BT(secret_hash) };

	if (id == NULL || secret_hash == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_CLIENT_SECRET, b, NBIND(b), true);
}

int
store_client_set_signed_ro(struct store *st, const char *id, bool required)
{
	const struct bind b[] = { BT(id), BI(required) };

	if (id == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_CLIENT_SIGNED_RO, b, NBIND(b), true);
}

int
store_client_set_profile(struct store *st, const char *id, const char *profile)
{
	const struct bind b[] = { BT(id), BT(profile) };

	if (id == NULL || profile == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_CLIENT_PROFILE, b, NBIND(b), true);
}

static void
scopes_read(struct stmt *s, void *arg)
{
	char **out = arg;

	*out = col_text(s, 0);
	if (col_lost(s)) {
		free(*out);
		*out = NULL;
	}
}

int
store_consent_get(struct store *st, const char *person_id, const char *client_id, char **scopes)
{
	const struct bind b[] = { BT(person_id), BT(client_id) };

	*scopes = NULL;
	if (person_id == NULL || client_id == NULL)
		return SL_EINVAL;
	return read_one(st, Q_CONSENT_GET, b, NBIND(b), scopes_read, scopes);
}

int
store_consent_put(struct store *st, const char *person_id, const char *client_id, const char *scopes)
{
	const struct bind b[] = { BT(person_id), BT(client_id), BT(scopes), BI(sl_now()) };

	if (person_id == NULL || client_id == NULL || scopes == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_CONSENT_PUT, b, NBIND(b), false);
}

struct consent_visit {
	int (*fn)(const struct store_consent *, void *);
	void *arg;
};

/* The row's text points into the statement: valid during the call only. */
static int
consent_row(struct stmt *s, void *ctx)
{
	const struct consent_visit *v = ctx;
	struct store_consent cs;

	cs.cs_client_id = col_str(s, 0);
	cs.cs_client_name = col_str(s, 1);
	cs.cs_scopes = col_str(s, 2);
	cs.cs_updated = col_int(s, 3);
	return v->fn(&cs, v->arg);
}

int
store_consent_each(
	struct store *st, const char *person_id, int limit, int (*fn)(const struct store_consent *, void *), void *arg)
{
	const struct bind b[] = { BT(person_id), BI(limit) };
	struct consent_visit v = { fn, arg };

	if (person_id == NULL || limit < 1)
		return SL_EINVAL;
	return read_each(st, Q_CONSENT_ALL, b, NBIND(b), consent_row, &v);
}

struct consent_withdraw {
	const char *cw_person_id;
	const char *cw_client_id;
	int cw_tokens;
};

static int
consent_withdraw_tx(struct conn *c, void *arg)
{
	struct consent_withdraw *w = arg;
	const struct bind b[] = { BT(w->cw_person_id), BT(w->cw_client_id) };
	int deleted = 0, rc = exec_bound(c, Q_CONSENT_DEL, b, NBIND(b), &deleted);

	w->cw_tokens = 0;
	if (rc == SL_OK && deleted == 0)
		rc = SL_ENOTFOUND;
	if (rc == SL_OK)
		rc = exec_bound(c, Q_CONSENT_REVOKE, b, NBIND(b), &w->cw_tokens);
	/* A code issued a moment before would otherwise still give tokens. */
	if (rc == SL_OK)
		rc = exec_bound(c, Q_CONSENT_CODES, b, NBIND(b), NULL);
	return rc;
}

int
store_consent_withdraw(struct store *st, const char *person_id, const char *client_id, int *revoked)
{
	struct consent_withdraw w = { person_id, client_id, 0 };
	int rc;

	if (revoked != NULL)
		*revoked = 0;
	if (person_id == NULL || client_id == NULL)
		return SL_EINVAL;
	rc = tx_run(st, DUR_FULL, consent_withdraw_tx, &w);
	if (rc == SL_OK && revoked != NULL)
		*revoked = w.cw_tokens;
	return rc;
}
