/*
 * oidc.c — the OpenID Connect provider's records: persons, clients,
 * signing keys, authorization requests and PAR, codes, tokens, sessions,
 * seen jtis, the audit trail, and the purge of what has expired.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

const char *const store_sql_oidc[Q_COUNT] = {
	[Q_PERSON_BY_RRN] = "SELECT id, created, given_name, family_name, birthdate FROM persons WHERE rrn = ?1",
	[Q_PERSON_INSERT] = "INSERT INTO persons (id, rrn, given_name, family_name, birthdate, created, updated)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	/* Only a change is written: a returning person's login then commits
	 * nothing durable but its audit row (one fsync per login). */
	[Q_PERSON_UPDATE] = "UPDATE persons SET given_name = ?2, family_name = ?3, birthdate = ?4,"
			    " updated = ?5 WHERE id = ?1 AND (given_name IS DISTINCT FROM ?2"
			    " OR family_name IS DISTINCT FROM ?3 OR birthdate IS DISTINCT FROM ?4)",
	[Q_PERSON_GET] = "SELECT id, rrn, given_name, family_name, birthdate, created FROM persons WHERE id = ?1",
	[Q_CLIENT_ADD] =
		"INSERT INTO clients (client_id, name, secret_hash, auth_method, redirect_uris,"
		" post_logout_uris, jwks, id_token_alg, sector, require_par, created, ciba_mode, ciba_endpoint, scopes,"
		" require_signed_ro, id_token_enc_alg, id_token_enc_enc, profile)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[Q_CLIENT_GET] = "SELECT client_id, name, secret_hash, auth_method, redirect_uris, post_logout_uris,"
			 " jwks, id_token_alg, sector, require_par, created, ciba_mode, ciba_endpoint, scopes,"
			 " require_signed_ro, id_token_enc_alg, id_token_enc_enc, profile"
			 " FROM clients WHERE client_id = ?1",
	[Q_CLIENT_DEL] = "DELETE FROM clients WHERE client_id = ?1",
	[Q_CLIENT_ALL] = "SELECT client_id, name, secret_hash, auth_method, redirect_uris, post_logout_uris,"
			 " jwks, id_token_alg, sector, require_par, created, ciba_mode, ciba_endpoint, scopes,"
			 " require_signed_ro, id_token_enc_alg, id_token_enc_enc, profile"
			 " FROM clients ORDER BY created, client_id",
	[Q_KEY_ADD] =
		"INSERT INTO signing_keys (kid, alg, created, use_after, retire_after) VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_KEY_RETIRE] = "UPDATE signing_keys SET retire_after = ?2 WHERE alg = ?1 AND retire_after = 0",
	[Q_KEY_ALL] = "SELECT kid, alg, created, use_after, retire_after FROM signing_keys ORDER BY created, kid",
	[Q_KEY_GEN] = "SELECT gen FROM key_generation WHERE id = 1",
	[Q_KEY_GEN_BUMP] = "UPDATE key_generation SET gen = gen + 1 WHERE id = 1",
	[Q_AR_PUT] = "INSERT INTO auth_requests (id, kind, client_id, params, browser, expires)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_AR_GET] = "SELECT id, kind, client_id, params, browser, expires, status, person_id, key, acr, amr,"
		     " auth_time, context, extended FROM auth_requests WHERE id = ?1 AND expires > ?2"
		     " AND status <> 'answered'",
	/* A page of a login needs the request and its client: one statement
	 * reads both in one snapshot (a read transaction costs file locks). */
	[Q_AR_GET_CLIENT] =
		"SELECT a.id, a.kind, a.client_id, a.params, a.browser, a.expires, a.status, a.person_id,"
		" a.key, a.acr, a.amr, a.auth_time, a.context, a.extended, c.client_id, c.name, c.secret_hash,"
		" c.auth_method, c.redirect_uris, c.post_logout_uris, c.jwks, c.id_token_alg, c.sector,"
		" c.require_par, c.created, c.ciba_mode, c.ciba_endpoint, c.scopes,"
		" c.require_signed_ro, c.id_token_enc_alg, c.id_token_enc_enc, c.profile"
		" FROM auth_requests a JOIN clients c ON c.client_id = a.client_id"
		" WHERE a.id = ?1 AND a.expires > ?2 AND a.status <> 'answered'",
	[Q_AR_CONTEXT] = "UPDATE auth_requests SET context = ?2 WHERE id = ?1 AND context IS NULL AND expires > ?3",
	/* More time (portal/timelimit.c, WCAG 2.2.1): the request ends at ?2
	 * instead, counted; one already ending there or later (a post racing
	 * another), over at ?3 now, or at ?4 extensions is left alone. */
	[Q_AR_EXTEND] = "UPDATE auth_requests SET expires = ?2, extended = extended + 1"
			" WHERE id = ?1 AND kind = 'authorize' AND status <> 'answered' AND expires > ?3"
			" AND expires < ?2 AND extended < ?4",
	/* Why it was left alone (pending_why_not): any status but answered
	 * reads as open. */
	[Q_AR_STATE] = "SELECT CASE WHEN status = 'answered' OR kind <> 'authorize' THEN 'gone' ELSE 'open' END,"
		       " expires, extended FROM auth_requests WHERE id = ?1",
	[Q_AR_DONE] = "UPDATE auth_requests SET status = ?2, person_id = ?3, key = ?4, acr = ?5, amr = ?6,"
		      " auth_time = ?7 WHERE id = ?1 AND status = 'pending' AND expires > ?8",
	[Q_AR_DEL] = "DELETE FROM auth_requests WHERE id = ?1",
	/* An answered request is gone for every reader (Q_AR_GET) as if
	 * deleted; marking it writes one page where a delete writes three
	 * (the row, its id and expiry indexes), and the purge deletes it at
	 * its expiry with the others. */
	[Q_AR_ANSWER] = "UPDATE auth_requests SET status = 'answered' WHERE id = ?1 AND status <> 'answered'",
	[Q_AR_RESULT_SET] = "UPDATE auth_requests SET result_hash = ?2, result = ?3, result_expires = ?4"
			    " WHERE id = ?1 AND status = 'pending' AND expires > ?5",
	[Q_AR_RESULT_GET] = "SELECT result_hash, result, result_expires FROM auth_requests"
			    " WHERE id = ?1 AND expires > ?2 AND result_hash IS NOT NULL",
	[Q_AR_RESULT_CLEAR] = "UPDATE auth_requests SET result_hash = NULL, result = NULL, result_expires = 0"
			      " WHERE id = ?1",
	[Q_CODE_PUT] = "INSERT INTO codes (hash, grant_id, client_id, person_id, session_id, redirect_uri, scope,"
		       " nonce, challenge, acr, amr, claims, auth_time, expires, authz_details, dpop_jkt)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[Q_CODE_GET] = "SELECT hash, grant_id, client_id, person_id, session_id, redirect_uri, scope, nonce,"
		       " challenge, acr, amr, claims, auth_time, expires, used, authz_details, dpop_jkt FROM codes "
		       "WHERE hash = ?1",
	[Q_CODE_USE] = "UPDATE codes SET used = 1 WHERE hash = ?1",
	[Q_TOK_PUT] = "INSERT INTO tokens (hash, kind, grant_id, client_id, person_id, session_id, scope, acr,"
		      " amr, claims, auth_time, expires, revoked, authz_details, jkt)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?14)",
	[Q_TOK_GET] = "SELECT hash, kind, grant_id, client_id, person_id, session_id, scope, acr, amr, claims,"
		      " auth_time, expires, revoked, authz_details, jkt FROM tokens WHERE hash = ?1",
	[Q_TOK_REVOKE_GRANT] = "UPDATE tokens SET revoked = 1 WHERE grant_id = ?1",
	[Q_TOK_REVOKE_ONE] = "UPDATE tokens SET revoked = 1 WHERE hash = ?1 AND revoked = 0",
	[Q_SES_PUT] =
		"INSERT INTO sessions (id, person_id, acr, amr, auth_time, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_SES_GET] = "SELECT id, person_id, acr, amr, auth_time, expires FROM sessions WHERE id = ?1 AND expires > ?2",
	[Q_SES_DEL] = "DELETE FROM sessions WHERE id = ?1",
	[Q_SES_TOK_REVOKE] = "UPDATE tokens SET revoked = 1 WHERE session_id = ?1 AND revoked = 0",
	[Q_SES_CODE_DEL] = "DELETE FROM codes WHERE session_id = ?1",
	[Q_SES_TOK_MOVE] = "UPDATE tokens SET session_id = ?2 WHERE session_id = ?1 AND person_id = ?3",
	[Q_SES_CODE_MOVE] = "UPDATE codes SET session_id = ?2 WHERE session_id = ?1 AND person_id = ?3",
	/* store_key_logins_end: no index on person_id (a block is rare; a
	 * consent withdrawal scans tokens the same way), none added to the
	 * token insert every login makes. */
	[Q_KEY_SES_DEL] = "DELETE FROM sessions WHERE person_id = ?1 AND amr = ?2 AND id <> ?3",
	[Q_KEY_TOK_REVOKE] = "UPDATE tokens SET revoked = 1 WHERE person_id = ?1 AND amr = ?2 AND revoked = 0",
	[Q_KEY_CODE_DEL] = "DELETE FROM codes WHERE person_id = ?1 AND amr = ?2",
	[Q_JTI_PUT] = "INSERT INTO jti_seen (client_id, jti, expires) VALUES (?1, ?2, ?3)",
	[Q_AUDIT_ADD] = "INSERT INTO audit (time, event, result, person_id, client_id, key, ip, detail)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[Q_AUDIT_COUNT] = "SELECT count(*) FROM audit WHERE event = ?1 AND (?2 IS NULL OR result = ?2)",
	[Q_AUDIT_PERSON] = "SELECT seq, time, event, result, person_id, client_id, key, ip, detail FROM audit"
			   " WHERE person_id = ?1 AND event = 'login' ORDER BY seq DESC LIMIT ?2",
};

/* ---- persons ---- */

int
person_upsert_tx(struct conn *c, struct store_person *p, int64_t now)
{
	struct stmt *s;
	int rc = SL_OK;

	if (p->p_rrn != NULL) {
		s = conn_stmt(c, Q_PERSON_BY_RRN);
		bind_text(s, 1, p->p_rrn);
		rc = step_row(c, s);
		if (rc == SL_OK) {
			free(p->p_id);
			p->p_id = col_text(s, 0);
			p->p_created = col_int(s, 1);
			/* The id is NOT NULL: a NULL copy is out of memory. */
			if (p->p_id == NULL)
				rc = SL_ENOMEM;
		}
		stmt_reset(s);
		if (rc == SL_ENOTFOUND)
			rc = SL_OK;
	}
	if (rc == SL_OK && p->p_created != 0) {
		s = conn_stmt(c, Q_PERSON_UPDATE);
		bind_text(s, 1, p->p_id);
		bind_text(s, 2, p->p_given_name);
		bind_text(s, 3, p->p_family_name);
		bind_text(s, 4, p->p_birthdate);
		bind_int(s, 5, now);
		rc = step_done(c, s);
	} else if (rc == SL_OK) {
		/* Out of memory: never a person inserted with a NULL id (SQLite
		 * takes NULL in a TEXT primary key). */
		if (p->p_id == NULL && (p->p_id = sl_random_name(16)) == NULL)
			return SL_ENOMEM;
		p->p_created = now;
		s = conn_stmt(c, Q_PERSON_INSERT);
		bind_text(s, 1, p->p_id);
		bind_text(s, 2, p->p_rrn);
		bind_text(s, 3, p->p_given_name);
		bind_text(s, 4, p->p_family_name);
		bind_text(s, 5, p->p_birthdate);
		bind_int(s, 6, now);
		rc = step_done(c, s);
	}
	return rc;
}

int
person_work_reset(struct store_person *work, const struct store_person *from)
{
	free(work->p_id);
	*work = *from;
	work->p_id = NULL;
	if (from->p_id != NULL && (work->p_id = strdup(from->p_id)) == NULL)
		return SL_ENOMEM;
	return SL_OK;
}

void
person_work_end(struct store_person *to, struct store_person *work, int rc)
{
	if (rc == SL_OK) {
		free(to->p_id);
		to->p_id = work->p_id;
		to->p_created = work->p_created;
	} else {
		free(work->p_id);
	}
	work->p_id = NULL;
}

struct person_upsert {
	const struct store_person *pu_from;
	struct store_person pu_work;
	int64_t pu_now;
};

static int
person_upsert_run(struct conn *c, void *arg)
{
	struct person_upsert *u = arg;
	int rc = person_work_reset(&u->pu_work, u->pu_from);

	return rc == SL_OK ? person_upsert_tx(c, &u->pu_work, u->pu_now) : rc;
}

int
store_person_upsert(struct store *st, struct store_person *p, struct sl_err *err)
{
	struct person_upsert u = { p, { 0 }, sl_now() };
	int rc = tx_run(st, DUR_FULL, person_upsert_run, &u);

	person_work_end(p, &u.pu_work, rc);
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot save the person record");
}

static void
person_read(struct stmt *s, void *arg)
{
	struct store_person *p = arg;

	p->p_id = col_text(s, 0);
	p->p_rrn = col_text(s, 1);
	p->p_given_name = col_text(s, 2);
	p->p_family_name = col_text(s, 3);
	p->p_birthdate = col_text(s, 4);
	p->p_created = col_int(s, 5);
	if (col_lost(s))
		store_person_clear(p);
}

int
store_person_get(struct store *st, const char *id, struct store_person *out)
{
	const struct bind b[] = { BT(id) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_PERSON_GET, b, NBIND(b), person_read, out);
}

void
store_person_clear(struct store_person *p)
{
	free(p->p_id);
	free(p->p_rrn);
	free(p->p_given_name);
	free(p->p_family_name);
	free(p->p_birthdate);
	memset(p, 0, sizeof(*p));
}

/* ---- clients ---- */

int
store_client_add(struct store *st, const struct store_client *cl, struct sl_err *err)
{
	const struct bind b[] = { BT(cl->cl_id), BT(cl->cl_name), BT(cl->cl_secret_hash), BT(cl->cl_auth_method),
		BT(cl->cl_redirect_uris), BT(cl->cl_post_logout_uris ? cl->cl_post_logout_uris : "[]"), BT(cl->cl_jwks),
		BT(cl->cl_id_token_alg), BT(cl->cl_sector), BI(cl->cl_require_par), BI(cl->cl_created),
		BT(cl->cl_ciba_mode), BT(cl->cl_ciba_endpoint),
		BT(cl->cl_scopes ? cl->cl_scopes : STORE_CLIENT_SCOPES_DEFAULT), BI(cl->cl_require_signed_ro),
		BT(cl->cl_id_token_enc_alg), BT(cl->cl_id_token_enc_enc),
		BT(cl->cl_profile ? cl->cl_profile : "default") };
	int rc = write_one(st, DUR_FULL, Q_CLIENT_ADD, b, NBIND(b), false);

	if (rc == SL_ECONFLICT)
		return sl_fail(err, rc, "a client with id %s exists", cl->cl_id);
	return rc == SL_OK ? rc : sl_fail(err, rc, "cannot save the client");
}

/* A client's columns, from column `at` on (Q_CLIENT_GET's order). */
static void
client_cols(struct stmt *s, int at, struct store_client *out)
{
	out->cl_id = col_text(s, at + 0);
	out->cl_name = col_text(s, at + 1);
	out->cl_secret_hash = col_text(s, at + 2);
	out->cl_auth_method = col_text(s, at + 3);
	out->cl_redirect_uris = col_text(s, at + 4);
	out->cl_post_logout_uris = col_text(s, at + 5);
	out->cl_jwks = col_text(s, at + 6);
	out->cl_id_token_alg = col_text(s, at + 7);
	out->cl_sector = col_text(s, at + 8);
	out->cl_require_par = col_int(s, at + 9) != 0;
	out->cl_created = col_int(s, at + 10);
	out->cl_ciba_mode = col_text(s, at + 11);
	out->cl_ciba_endpoint = col_text(s, at + 12);
	out->cl_scopes = col_text(s, at + 13);
	out->cl_require_signed_ro = col_int(s, at + 14) != 0;
	out->cl_id_token_enc_alg = col_text(s, at + 15);
	out->cl_id_token_enc_enc = col_text(s, at + 16);
	out->cl_profile = col_text(s, at + 17);
}

static void
client_read(struct stmt *s, void *arg)
{
	client_cols(s, 0, arg);
	if (col_lost(s))
		store_client_clear(arg);
}

int
store_client_get(struct store *st, const char *id, struct store_client *out)
{
	const struct bind b[] = { BT(id) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_CLIENT_GET, b, NBIND(b), client_read, out);
}

int
store_client_remove(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_FULL, Q_CLIENT_DEL, b, NBIND(b), true);
}

struct client_visit {
	int (*fn)(const struct store_client *, void *);
	void *arg;
};

static int
client_row(struct stmt *s, void *ctx)
{
	const struct client_visit *v = ctx;
	struct store_client cl = { 0 };
	int rc;

	client_read(s, &cl);
	if (col_lost(s))
		return SL_ENOMEM; /* client_read cleared cl */
	rc = v->fn(&cl, v->arg);
	store_client_clear(&cl);
	return rc;
}

int
store_client_each(struct store *st, int (*fn)(const struct store_client *, void *), void *arg)
{
	struct client_visit v = { fn, arg };

	return read_each(st, Q_CLIENT_ALL, NULL, 0, client_row, &v);
}

void
store_client_clear(struct store_client *cl)
{
	free(cl->cl_id);
	free(cl->cl_name);
	free(cl->cl_secret_hash);
	free(cl->cl_auth_method);
	free(cl->cl_redirect_uris);
	free(cl->cl_post_logout_uris);
	free(cl->cl_jwks);
	free(cl->cl_id_token_alg);
	free(cl->cl_sector);
	free(cl->cl_ciba_mode);
	free(cl->cl_ciba_endpoint);
	free(cl->cl_scopes);
	free(cl->cl_id_token_enc_alg);
	free(cl->cl_id_token_enc_enc);
	free(cl->cl_profile);
	memset(cl, 0, sizeof(*cl));
}

/* ---- signing keys ---- */

/* A change to the signing keys and the bump of their generation, so that
 * every node reloads them. */
struct key_change {
	enum stmt_id kc_q;
	const struct bind *kc_b;
	size_t kc_n;
};

static int
key_change_tx(struct conn *c, void *arg)
{
	const struct key_change *k = arg;
	int rc = exec_bound(c, k->kc_q, k->kc_b, k->kc_n, NULL);

	if (rc == SL_OK)
		rc = exec_bound(c, Q_KEY_GEN_BUMP, NULL, 0, NULL);
	return rc;
}

int
store_key_add(struct store *st, const struct store_key *k)
{
	const struct bind b[] = { BT(k->k_kid), BT(k->k_alg), BI(k->k_created), BI(k->k_use_after),
		BI(k->k_retire_after) };
	struct key_change kc = { Q_KEY_ADD, b, NBIND(b) };

	return tx_run(st, DUR_FULL, key_change_tx, &kc);
}

int
store_key_retire_current(struct store *st, const char *alg, int64_t retire_after)
{
	const struct bind b[] = { BT(alg), BI(retire_after) };
	struct key_change kc = { Q_KEY_RETIRE, b, NBIND(b) };

	return tx_run(st, DUR_FULL, key_change_tx, &kc);
}

struct key_visit {
	int (*fn)(const struct store_key *, void *);
	void *arg;
};

static int
key_row(struct stmt *s, void *ctx)
{
	const struct key_visit *v = ctx;
	struct store_key k;
	int rc;

	k.k_kid = col_text(s, 0);
	k.k_alg = col_text(s, 1);
	k.k_created = col_int(s, 2);
	k.k_use_after = col_int(s, 3);
	k.k_retire_after = col_int(s, 4);
	rc = col_lost(s) ? SL_ENOMEM : v->fn(&k, v->arg);
	free(k.k_kid);
	free(k.k_alg);
	return rc;
}

int
store_key_each(struct store *st, int (*fn)(const struct store_key *, void *), void *arg)
{
	struct key_visit v = { fn, arg };

	return read_each(st, Q_KEY_ALL, NULL, 0, key_row, &v);
}

int
store_key_generation(struct store *st, int64_t *gen)
{
	struct conn *c = conn_get(st);
	struct stmt *s = conn_stmt(c, Q_KEY_GEN);
	int rc = step_row(c, s);

	if (rc == SL_OK)
		*gen = col_int(s, 0);
	stmt_reset(s);
	conn_put(st, c);
	return rc;
}

/* ---- authorization requests ---- */

int
store_authreq_put(struct store *st, const struct store_authreq *r)
{
	const struct bind b[] = { BT(r->ar_id), BT(r->ar_kind), BT(r->ar_client_id), BT(r->ar_params),
		BT(r->ar_browser), BI(r->ar_expires) };

	return write_one(st, DUR_NORMAL, Q_AR_PUT, b, NBIND(b), false);
}

static void
authreq_row(struct stmt *s, void *arg)
{
	struct store_authreq *out = arg;

	out->ar_id = col_text(s, 0);
	out->ar_kind = col_text(s, 1);
	out->ar_client_id = col_text(s, 2);
	out->ar_params = col_text(s, 3);
	out->ar_browser = col_text(s, 4);
	out->ar_expires = col_int(s, 5);
	out->ar_status = col_text(s, 6);
	out->ar_person_id = col_text(s, 7);
	out->ar_key = col_text(s, 8);
	out->ar_acr = col_text(s, 9);
	out->ar_amr = col_text(s, 10);
	out->ar_auth_time = col_int(s, 11);
	out->ar_context = col_text(s, 12);
	out->ar_extended = (int)col_int(s, 13);
	if (col_lost(s))
		store_authreq_clear(out);
}

/* The request if it has not expired. */
static int
authreq_read(struct conn *c, const char *id, struct store_authreq *out)
{
	const struct bind b[] = { BT(id), BI(sl_now()) };

	memset(out, 0, sizeof(*out));
	return conn_read_one(c, Q_AR_GET, b, NBIND(b), authreq_row, out);
}

int
store_authreq_get(struct store *st, const char *id, struct store_authreq *out)
{
	struct conn *c = conn_get(st);
	int rc = authreq_read(c, id, out);

	conn_put(st, c);
	return rc;
}

struct authreq_client {
	struct store_authreq *ac_req;
	struct store_client *ac_client;
};

static void
authreq_client_row(struct stmt *s, void *arg)
{
	const struct authreq_client *ac = arg;

	authreq_row(s, ac->ac_req);
	client_cols(s, 14, ac->ac_client);
	if (col_lost(s)) {
		store_authreq_clear(ac->ac_req);
		store_client_clear(ac->ac_client);
	}
}

int
store_authreq_get_client(struct store *st, const char *id, struct store_authreq *out, struct store_client *client)
{
	const struct bind b[] = { BT(id), BI(sl_now()) };
	struct authreq_client ac = { out, client };
	int rc;

	memset(out, 0, sizeof(*out));
	memset(client, 0, sizeof(*client));
	rc = read_one(st, Q_AR_GET_CLIENT, b, NBIND(b), authreq_client_row, &ac);
	if (rc != SL_OK) {
		store_authreq_clear(out);
		store_client_clear(client);
	}
	return rc;
}

int
store_authreq_delete(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_NORMAL, Q_AR_DEL, b, NBIND(b), true);
}

int
store_authreq_complete(struct store *st, const struct store_authreq *r)
{
	const struct bind b[] = { BT(r->ar_id), BT(r->ar_status), BT(r->ar_person_id), BT(r->ar_key), BT(r->ar_acr),
		BT(r->ar_amr), BI(r->ar_auth_time), BI(sl_now()) };

	return write_one(st, DUR_NORMAL, Q_AR_DONE, b, NBIND(b), true);
}

/* ---- a login's completion: the person and the request together ---- */

static bool
same_text(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Is the person by p's national number stored exactly as p says?  Then
 * p takes its id and creation time. */
static bool
person_unchanged(struct conn *c, struct store_person *p)
{
	struct stmt *s;
	bool same = false;

	if (p->p_rrn == NULL)
		return false;
	s = conn_stmt(c, Q_PERSON_BY_RRN);
	bind_text(s, 1, p->p_rrn);
	if (step_row(c, s) == SL_OK && same_text(col_str(s, 2), p->p_given_name) &&
		same_text(col_str(s, 3), p->p_family_name) && same_text(col_str(s, 4), p->p_birthdate)) {
		/* as person_upsert_tx: the stored id wins */
		free(p->p_id);
		p->p_id = col_text(s, 0);
		p->p_created = col_int(s, 1);
		same = p->p_id != NULL;
	}
	stmt_reset(s);
	return same;
}

struct login_complete {
	const struct store_person *lc_from;
	struct store_person lc_work;
	const struct store_authreq *lc_req;
	int64_t lc_now;
	bool lc_durable; /* this run may write the person */
	bool lc_needs_durable; /* a run that may not found it new or changed */
	const char *lc_client_id; /* with lc_consent: the client whose consent is read */
	char **lc_consent;
};

static void
consent_scopes_read(struct stmt *s, void *arg)
{
	*(char **)arg = col_text(s, 0);
	if (col_lost(s)) {
		free(*(char **)arg);
		*(char **)arg = NULL;
	}
}

static int
login_complete_tx(struct conn *c, void *arg)
{
	struct login_complete *lc = arg;
	const struct store_authreq *r = lc->lc_req;
	int changes = 0, rc = person_work_reset(&lc->lc_work, lc->lc_from);

	if (rc != SL_OK)
		return rc;
	if (!person_unchanged(c, &lc->lc_work)) {
		if (!lc->lc_durable) {
			lc->lc_needs_durable = true;
			return SL_ECONFLICT; /* rolled back: store_login_complete runs it durably */
		}
		rc = person_upsert_tx(c, &lc->lc_work, lc->lc_now);
	}
	if (rc == SL_OK) {
		const struct bind b[] = { BT(r->ar_id), BT(r->ar_status), BT(lc->lc_work.p_id), BT(r->ar_key),
			BT(r->ar_acr), BT(r->ar_amr), BI(r->ar_auth_time), BI(lc->lc_now) };
		rc = exec_bound(c, Q_AR_DONE, b, NBIND(b), &changes);
	}
	if (rc == SL_OK && changes == 0)
		rc = SL_ENOTFOUND;
	if (rc == SL_OK && lc->lc_consent != NULL) {
		const struct bind b[] = { BT(lc->lc_work.p_id), BT(lc->lc_client_id) };
		free(*lc->lc_consent); /* what a run before this one read */
		*lc->lc_consent = NULL;
		rc = conn_read_one(c, Q_CONSENT_GET, b, NBIND(b), consent_scopes_read, lc->lc_consent);
		if (rc == SL_ENOTFOUND)
			rc = SL_OK;
	}
	return rc;
}

/* Person p and the request's completion (lc prepared from p). */
static int
login_complete_run(struct store *st, struct store_person *p, struct login_complete *lc)
{
	/* A returning person's login writes only short-lived state: no
	 * durable commit.  A new or changed person is written durably, in a
	 * second run. */
	int rc = tx_run(st, DUR_NORMAL, login_complete_tx, lc);

	if (rc == SL_ECONFLICT && lc->lc_needs_durable) {
		lc->lc_durable = true;
		rc = tx_run(st, DUR_FULL, login_complete_tx, lc);
	}
	person_work_end(p, &lc->lc_work, rc);
	return rc;
}

int
store_login_complete(struct store *st, struct store_person *p, const struct store_authreq *r)
{
	struct login_complete lc = { .lc_from = p, .lc_req = r, .lc_now = sl_now() };

	return login_complete_run(st, p, &lc);
}

int
store_login_complete_consent(
	struct store *st, struct store_person *p, const struct store_authreq *r, const char *client_id, char **consent)
{
	struct login_complete lc = {
		.lc_from = p, .lc_req = r, .lc_now = sl_now(), .lc_client_id = client_id, .lc_consent = consent
	};
	int rc;

	*consent = NULL;
	if (client_id == NULL)
		return SL_EINVAL;
	rc = login_complete_run(st, p, &lc);
	if (rc != SL_OK) {
		free(*consent);
		*consent = NULL;
	}
	return rc;
}

int
store_authreq_set_result(struct store *st, const char *id, const char *hash, const char *result, int64_t expires)
{
	const struct bind b[] = { BT(id), BT(hash), BT(result), BI(expires), BI(sl_now()) };

	return write_one(st, DUR_NORMAL, Q_AR_RESULT_SET, b, NBIND(b), true);
}

struct authreq_result {
	char *rs_hash;
	char *rs_result;
	int64_t rs_expires;
};

static void
authreq_result_clear(struct authreq_result *rs)
{
	free(rs->rs_hash);
	free(rs->rs_result);
	memset(rs, 0, sizeof(*rs));
}

static void
authreq_result_row(struct stmt *s, void *arg)
{
	struct authreq_result *out = arg;

	out->rs_hash = col_text(s, 0);
	out->rs_result = col_text(s, 1);
	out->rs_expires = col_int(s, 2);
	if (col_lost(s))
		authreq_result_clear(out);
}

struct take_result {
	const char *tr_id;
	const char *tr_hash;
	struct authreq_result tr_rs;
};

static int
take_result_tx(struct conn *c, void *arg)
{
	struct take_result *t = arg;
	const struct bind b[] = { BT(t->tr_id), BI(sl_now()) };
	const struct bind clear[] = { BT(t->tr_id) };
	int rc;

	authreq_result_clear(&t->tr_rs);
	rc = conn_read_one(c, Q_AR_RESULT_GET, b, NBIND(b), authreq_result_row, &t->tr_rs);
	if (rc == SL_OK &&
		(t->tr_hash == NULL || t->tr_rs.rs_hash == NULL || !sl_ct_streq(t->tr_rs.rs_hash, t->tr_hash)))
		rc = SL_ENOTFOUND;
	if (rc == SL_OK)
		rc = exec_bound(c, Q_AR_RESULT_CLEAR, clear, NBIND(clear), NULL);
	return rc;
}

/* Read, compare and clear in one write transaction, so two redemptions of
 * the same value cannot both see it. */
int
store_authreq_take_result(struct store *st, const char *id, const char *hash, char **result)
{
	struct take_result t = { id, hash, { 0 } };
	int rc = tx_run(st, DUR_NORMAL, take_result_tx, &t);

	*result = NULL;
	if (rc == SL_OK && t.tr_rs.rs_expires <= sl_now())
		rc = SL_EEXPIRED;
	if (rc == SL_OK) {
		*result = t.tr_rs.rs_result;
		t.tr_rs.rs_result = NULL;
	}
	authreq_result_clear(&t.tr_rs);
	return rc;
}

int
store_authreq_set_context(struct store *st, const char *id, const char *context)
{
	const struct bind b[] = { BT(id), BT(context), BI(sl_now()) };

	return write_one(st, DUR_NORMAL, Q_AR_CONTEXT, b, NBIND(b), false);
}

int
store_authreq_extend(struct store *st, const char *id, int64_t until, int max_times)
{
	int64_t now = sl_now();
	const struct bind b[] = { BT(id), BI(until), BI(now), BI(max_times) };
	const struct pending_ref ref = { Q_AR_STATE, id, now, true, "open", max_times, until };

	if (id == NULL || max_times <= 0 || until <= now)
		return SL_EINVAL;
	return write_or_why(st, DUR_NORMAL, Q_AR_EXTEND, b, NBIND(b), pending_why_not, &ref);
}

void
store_authreq_clear(struct store_authreq *r)
{
	free(r->ar_id);
	free(r->ar_kind);
	free(r->ar_client_id);
	free(r->ar_params);
	free(r->ar_browser);
	free(r->ar_status);
	free(r->ar_person_id);
	free(r->ar_key);
	free(r->ar_acr);
	free(r->ar_amr);
	free(r->ar_context);
	memset(r, 0, sizeof(*r));
}

/* ---- codes ---- */

static int
code_insert(struct conn *c, const struct store_code *co)
{
	const struct bind b[] = { BT(co->co_hash), BT(co->co_grant_id), BT(co->co_client_id), BT(co->co_person_id),
		BT(co->co_session_id), BT(co->co_redirect_uri), BT(co->co_scope), BT(co->co_nonce),
		BT(co->co_challenge), BT(co->co_acr), BT(co->co_amr), BT(co->co_claims), BI(co->co_auth_time),
		BI(co->co_expires), BT(co->co_authz_details), BT(co->co_dpop_jkt) };

	return exec_bound(c, Q_CODE_PUT, b, NBIND(b), NULL);
}

static int
code_put_tx(struct conn *c, void *arg)
{
	return code_insert(c, arg);
}

int
store_code_put(struct store *st, const struct store_code *co)
{
	/* tx_run hands its context on as it is: code_put_tx only reads it. */
	return tx_run(st, DUR_NORMAL, code_put_tx, (void *)co);
}

/* A code's row and whether it was redeemed before. */
struct code_row {
	struct store_code *cr_code;
	bool cr_used;
};

static void
code_read(struct stmt *s, void *arg)
{
	struct code_row *r = arg;
	struct store_code *out = r->cr_code;

	out->co_hash = col_text(s, 0);
	out->co_grant_id = col_text(s, 1);
	out->co_client_id = col_text(s, 2);
	out->co_person_id = col_text(s, 3);
	out->co_session_id = col_text(s, 4);
	out->co_redirect_uri = col_text(s, 5);
	out->co_scope = col_text(s, 6);
	out->co_nonce = col_text(s, 7);
	out->co_challenge = col_text(s, 8);
	out->co_acr = col_text(s, 9);
	out->co_amr = col_text(s, 10);
	out->co_claims = col_text(s, 11);
	out->co_auth_time = col_int(s, 12);
	out->co_expires = col_int(s, 13);
	r->cr_used = col_int(s, 14) != 0;
	out->co_authz_details = col_text(s, 15);
	out->co_dpop_jkt = col_text(s, 16);
	if (col_lost(s))
		store_code_clear(out);
}

struct code_redeem {
	const char *cd_hash;
	const char *cd_client_id;
	struct code_row cd_row;
	bool cd_foreign;
	const struct store_code_exchange *cd_x; /* NULL: redeem only */
	int cd_verdict; /* cx_accept's */
};

/* The tokens a code buys, stored with its use. */
static int
code_exchange_tx(struct conn *c, struct code_redeem *r)
{
	const struct store_code_exchange *x = r->cd_x;
	struct store_token t[STORE_CODE_TOKENS];
	int n = 0, rc;

	r->cd_verdict = x->cx_accept(r->cd_row.cr_code, x->cx_arg);
	if (r->cd_verdict != SL_OK)
		return SL_OK; /* refused, but used up: committed */
	memset(t, 0, sizeof(t));
	rc = x->cx_tokens(r->cd_row.cr_code, x->cx_arg, t, &n);
	for (int i = 0; rc == SL_OK && i < n && i < STORE_CODE_TOKENS; i++)
		rc = token_insert(c, &t[i]);
	if (rc == SL_OK && x->cx_person != NULL) {
		const struct bind b[] = { BT(r->cd_row.cr_code->co_person_id) };
		store_person_clear(x->cx_person); /* what a run before this one read */
		rc = conn_read_one(c, Q_PERSON_GET, b, NBIND(b), person_read, x->cx_person);
		if (rc == SL_ENOTFOUND)
			rc = SL_OK;
	}
	return rc;
}

static int
code_redeem_tx(struct conn *c, void *arg)
{
	struct code_redeem *r = arg;
	const struct bind b[] = { BT(r->cd_hash) };
	struct store_code *out = r->cd_row.cr_code;
	int rc;

	store_code_clear(out); /* what a run before this one read */
	r->cd_row.cr_used = false;
	r->cd_verdict = SL_OK;
	rc = conn_read_one(c, Q_CODE_GET, b, NBIND(b), code_read, &r->cd_row);
	/* Checked before anything changes: another client's replay must
	 * neither use the code up nor count as its reuse. */
	r->cd_foreign = rc == SL_OK && (out->co_client_id == NULL || strcmp(out->co_client_id, r->cd_client_id) != 0);
	if (rc == SL_OK && !r->cd_row.cr_used && !r->cd_foreign)
		rc = exec_bound(c, Q_CODE_USE, b, NBIND(b), NULL);
	if (rc == SL_OK && !r->cd_row.cr_used && !r->cd_foreign && r->cd_x != NULL)
		rc = code_exchange_tx(c, r);
	return rc;
}

static int
code_redeem_run(struct store *st, struct code_redeem *r)
{
	struct store_code *out = r->cd_row.cr_code;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tx_run(st, DUR_NORMAL, code_redeem_tx, r);
	/* Rolled back (out of memory, the database): nothing is answered, so
	 * nothing the last run read is kept either. */
	if (rc != SL_OK)
		store_code_clear(out);
	if (rc == SL_OK && r->cd_foreign) {
		store_code_clear(out);
		return SL_EDENIED;
	}
	if (rc == SL_OK && r->cd_row.cr_used)
		return SL_ECONFLICT;
	return rc == SL_OK ? r->cd_verdict : rc;
}

int
store_code_redeem(struct store *st, const char *hash, const char *client_id, struct store_code *out)
{
	struct code_redeem r = { hash, client_id, { out, false }, false, NULL, SL_OK };

	return code_redeem_run(st, &r);
}

int
store_code_exchange(struct store *st, const char *hash, const char *client_id, const struct store_code_exchange *cx,
	struct store_code *out)
{
	struct code_redeem r = { hash, client_id, { out, false }, false, cx, SL_OK };

	return code_redeem_run(st, &r);
}

void
store_code_clear(struct store_code *co)
{
	free(co->co_hash);
	free(co->co_grant_id);
	free(co->co_client_id);
	free(co->co_person_id);
	free(co->co_session_id);
	free(co->co_redirect_uri);
	free(co->co_scope);
	free(co->co_nonce);
	free(co->co_challenge);
	free(co->co_acr);
	free(co->co_amr);
	free(co->co_claims);
	free(co->co_authz_details);
	free(co->co_dpop_jkt);
	memset(co, 0, sizeof(*co));
}

/* ---- tokens ---- */

int
token_insert(struct conn *c, const struct store_token *t)
{
	const struct bind b[] = { BT(t->t_hash), BT(t->t_kind), BT(t->t_grant_id), BT(t->t_client_id),
		BT(t->t_person_id), BT(t->t_session_id), BT(t->t_scope), BT(t->t_acr), BT(t->t_amr), BT(t->t_claims),
		BI(t->t_auth_time), BI(t->t_expires), BT(t->t_authz_details), BT(t->t_jkt) };

	return exec_bound(c, Q_TOK_PUT, b, NBIND(b), NULL);
}

static int
token_put_tx(struct conn *c, void *arg)
{
	return token_insert(c, arg);
}

int
store_token_put(struct store *st, const struct store_token *t)
{
	/* tx_run hands its context on as it is: token_put_tx only reads it. */
	return tx_run(st, DUR_NORMAL, token_put_tx, (void *)t);
}

static void
token_read(struct stmt *s, void *arg)
{
	struct store_token *out = arg;

	out->t_hash = col_text(s, 0);
	out->t_kind = col_text(s, 1);
	out->t_grant_id = col_text(s, 2);
	out->t_client_id = col_text(s, 3);
	out->t_person_id = col_text(s, 4);
	out->t_session_id = col_text(s, 5);
	out->t_scope = col_text(s, 6);
	out->t_acr = col_text(s, 7);
	out->t_amr = col_text(s, 8);
	out->t_claims = col_text(s, 9);
	out->t_auth_time = col_int(s, 10);
	out->t_expires = col_int(s, 11);
	out->t_revoked = col_int(s, 12) != 0;
	out->t_authz_details = col_text(s, 13);
	out->t_jkt = col_text(s, 14);
	if (col_lost(s))
		store_token_clear(out);
}

int
store_token_get(struct store *st, const char *hash, struct store_token *out)
{
	const struct bind b[] = { BT(hash) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_TOK_GET, b, NBIND(b), token_read, out);
}

static int
revoke_grant(struct conn *c, const char *grant_id)
{
	const struct bind b[] = { BT(grant_id) };

	return exec_bound(c, Q_TOK_REVOKE_GRANT, b, NBIND(b), NULL);
}

int
store_token_revoke_grant(struct store *st, const char *grant_id)
{
	const struct bind b[] = { BT(grant_id) };

	return write_one(st, DUR_NORMAL, Q_TOK_REVOKE_GRANT, b, NBIND(b), false);
}

struct token_rotate {
	const char *tr_old_hash;
	const struct store_token *tr_next;
	const struct store_token *tr_access; /* NULL: store_token_rotate */
	bool tr_replay;
};

static int
token_rotate_tx(struct conn *c, void *arg)
{
	struct token_rotate *r = arg;
	int changes = 0, rc = SL_OK;

	r->tr_replay = false;
	if (r->tr_old_hash != NULL) {
		const struct bind b[] = { BT(r->tr_old_hash) };
		rc = exec_bound(c, Q_TOK_REVOKE_ONE, b, NBIND(b), &changes);
		/* Nothing to revoke: it was rotated out before, so this is a replay. */
		r->tr_replay = rc == SL_OK && changes == 0;
		if (rc == SL_OK && r->tr_replay)
			return revoke_grant(c, r->tr_next->t_grant_id);
	}
	if (rc == SL_OK && r->tr_next != NULL)
		rc = token_insert(c, r->tr_next);
	if (rc == SL_OK && r->tr_access != NULL)
		rc = token_insert(c, r->tr_access);
	return rc;
}

int
store_token_rotate(struct store *st, const char *old_hash, const struct store_token *next)
{
	struct token_rotate r = { old_hash, next, NULL, false };
	int rc = tx_run(st, DUR_NORMAL, token_rotate_tx, &r);

	return rc == SL_OK && r.tr_replay ? SL_ECONFLICT : rc;
}

int
store_token_issue(
	struct store *st, const char *old_hash, const struct store_token *refresh, const struct store_token *access)
{
	struct token_rotate r = { old_hash, refresh, access, false };
	int rc;

	if (old_hash != NULL && refresh == NULL)
		return SL_EINVAL;
	rc = tx_run(st, DUR_NORMAL, token_rotate_tx, &r);
	return rc == SL_OK && r.tr_replay ? SL_ECONFLICT : rc;
}

void
store_token_clear(struct store_token *t)
{
	free(t->t_hash);
	free(t->t_kind);
	free(t->t_grant_id);
	free(t->t_client_id);
	free(t->t_person_id);
	free(t->t_session_id);
	free(t->t_scope);
	free(t->t_acr);
	free(t->t_amr);
	free(t->t_claims);
	free(t->t_authz_details);
	free(t->t_jkt);
	memset(t, 0, sizeof(*t));
}

/* ---- sessions ---- */

int
store_session_put(struct store *st, const struct store_session *ses)
{
	const struct bind b[] = { BT(ses->s_id), BT(ses->s_person_id), BT(ses->s_acr), BT(ses->s_amr),
		BI(ses->s_auth_time), BI(ses->s_expires) };

	return write_one(st, DUR_NORMAL, Q_SES_PUT, b, NBIND(b), false);
}

static void
session_read(struct stmt *s, void *arg)
{
	struct store_session *out = arg;

	out->s_id = col_text(s, 0);
	out->s_person_id = col_text(s, 1);
	out->s_acr = col_text(s, 2);
	out->s_amr = col_text(s, 3);
	out->s_auth_time = col_int(s, 4);
	out->s_expires = col_int(s, 5);
	if (col_lost(s))
		store_session_clear(out);
}

/* The session if it has not expired. */
int
store_session_get(struct store *st, const char *id, struct store_session *out)
{
	const struct bind b[] = { BT(id), BI(sl_now()) };

	memset(out, 0, sizeof(*out));
	return read_one(st, Q_SES_GET, b, NBIND(b), session_read, out);
}

int
store_session_end(struct store *st, const char *id)
{
	const struct bind b[] = { BT(id) };

	return write_one(st, DUR_NORMAL, Q_SES_DEL, b, NBIND(b), false);
}

/* Inside a transaction: session `b` (one bound id) and what was issued
 * under it end: its tokens revoked, its codes and the session deleted. */
static int
session_end_tx(struct conn *c, const struct bind *b)
{
	int rc = exec_bound(c, Q_SES_TOK_REVOKE, b, 1, NULL);

	if (rc == SL_OK)
		rc = exec_bound(c, Q_SES_CODE_DEL, b, 1, NULL);
	if (rc == SL_OK)
		rc = exec_bound(c, Q_SES_DEL, b, 1, NULL);
	return rc;
}

struct session_replace {
	const char *sr_old_id;
	const struct store_session *sr_ses; /* NULL: only end the old one */
};

/* Session sr_ses (when given) takes the place of sr_old_id (when given). */
static int
session_replace_tx(struct conn *c, void *arg)
{
	const struct session_replace *r = arg;
	const struct store_session *ses = r->sr_ses;
	const struct bind old[] = { BT(r->sr_old_id) };
	int rc = SL_OK;

	if (ses != NULL) {
		const struct bind put[] = { BT(ses->s_id), BT(ses->s_person_id), BT(ses->s_acr), BT(ses->s_amr),
			BI(ses->s_auth_time), BI(ses->s_expires) };
		rc = exec_bound(c, Q_SES_PUT, put, NBIND(put), NULL);
	}
	if (r->sr_old_id == NULL)
		return rc;
	if (ses != NULL) {
		/* The same person's tokens and codes follow the session, so
		 * logging out later still ends them; anyone else's end here. */
		const struct bind move[] = { BT(r->sr_old_id), BT(ses->s_id), BT(ses->s_person_id) };
		if (rc == SL_OK)
			rc = exec_bound(c, Q_SES_TOK_MOVE, move, NBIND(move), NULL);
		if (rc == SL_OK)
			rc = exec_bound(c, Q_SES_CODE_MOVE, move, NBIND(move), NULL);
	}
	if (rc == SL_OK)
		rc = session_end_tx(c, old);
	return rc;
}

int
store_session_logout(struct store *st, const char *id)
{
	struct session_replace r = { id, NULL };

	return tx_run(st, DUR_NORMAL, session_replace_tx, &r);
}

int
store_session_replace(struct store *st, const char *old_id, const struct store_session *ses)
{
	struct session_replace r = { old_id, ses };

	return tx_run(st, DUR_NORMAL, session_replace_tx, &r);
}

int
key_logins_end_conn(
	struct conn *c, const char *person_id, const char *amr, const char *keep_session, int *sessions, int *tokens)
{
	/* "" for no session to keep: no session id is empty */
	const struct bind b[] = { BT(person_id), BT(amr), BT(keep_session ? keep_session : "") };
	const struct {
		enum stmt_id ks_stmt;
		size_t ks_nbind; /* the sessions' statement alone binds the one kept */
		int *ks_changes;
	} steps[] = {
		{ Q_KEY_SES_DEL, 3, sessions }, { Q_KEY_TOK_REVOKE, 2, tokens },
		{ Q_KEY_CODE_DEL, 2, NULL }, /* a code of a moment before would still give tokens */
	};
	int rc = SL_OK;

	for (size_t i = 0; rc == SL_OK && i < sizeof(steps) / sizeof(steps[0]); i++)
		rc = exec_bound(c, steps[i].ks_stmt, b, steps[i].ks_nbind, steps[i].ks_changes);
	return rc;
}

struct key_logins {
	const char *kl_person_id, *kl_amr, *kl_keep;
	int kl_sessions, kl_tokens;
};

static int
key_logins_end_tx(struct conn *c, void *arg)
{
	struct key_logins *kl = arg;

	return key_logins_end_conn(c, kl->kl_person_id, kl->kl_amr, kl->kl_keep, &kl->kl_sessions, &kl->kl_tokens);
}

int
store_key_logins_end(
	struct store *st, const char *person_id, const char *amr, const char *keep_session, int *sessions, int *tokens)
{
	struct key_logins kl = { person_id, amr, keep_session, 0, 0 };
	int rc;

	if (person_id == NULL || amr == NULL)
		return SL_EINVAL;
	rc = tx_run(st, DUR_FULL, key_logins_end_tx, &kl);
	if (sessions != NULL)
		*sessions = rc == SL_OK ? kl.kl_sessions : 0;
	if (tokens != NULL)
		*tokens = rc == SL_OK ? kl.kl_tokens : 0;
	return rc;
}

void
store_session_clear(struct store_session *ses)
{
	free(ses->s_id);
	free(ses->s_person_id);
	free(ses->s_acr);
	free(ses->s_amr);
	memset(ses, 0, sizeof(*ses));
}

/* ---- jti ---- */

int
store_jti_use(struct store *st, const char *client_id, const char *jti, int64_t expires)
{
	const struct bind b[] = { BT(client_id), BT(jti), BI(expires) };

	return write_one(st, DUR_NORMAL, Q_JTI_PUT, b, NBIND(b), false);
}

/* ---- audit ---- */

int
audit_insert(struct conn *c, const struct store_audit *a)
{
	const struct bind b[] = { BI(sl_now()), BT(a->au_event), BT(a->au_result ? a->au_result : "ok"),
		BT(a->au_person_id), BT(a->au_client_id), BT(a->au_key), BT(a->au_ip), BT(a->au_detail) };

	return exec_bound(c, Q_AUDIT_ADD, b, NBIND(b), NULL);
}

static int
audit_add_tx(struct conn *c, void *arg)
{
	return audit_insert(c, arg);
}

int
store_audit_add(struct store *st, const struct store_audit *a)
{
	/* tx_run hands its context on as it is: audit_add_tx only reads it. */
	return tx_run(st, DUR_FULL, audit_add_tx, (void *)a);
}

/* ---- a login's answer ---- */

static int
login_issue_tx(struct conn *c, void *arg)
{
	const struct store_login_issue *li = arg;
	const struct bind req[] = { BT(li->li_req_id) };
	int changes = 0, rc = exec_bound(c, Q_AR_ANSWER, req, NBIND(req), &changes);

	if (rc == SL_OK && changes == 0)
		rc = SL_ENOTFOUND; /* answered by another request meanwhile */
	if (rc == SL_OK && li->li_session != NULL) {
		struct session_replace r = { li->li_old_session, li->li_session };
		rc = session_replace_tx(c, &r);
	}
	if (rc == SL_OK && li->li_audit != NULL)
		rc = audit_insert(c, li->li_audit);
	if (rc == SL_OK)
		rc = code_insert(c, li->li_code);
	return rc;
}

int
store_login_issue(struct store *st, const struct store_login_issue *li)
{
	/* tx_run hands its context on as it is: login_issue_tx only reads it. */
	return tx_run(st, li->li_audit != NULL ? DUR_FULL : DUR_NORMAL, login_issue_tx, (void *)li);
}

/* ---- a key's login completed and answered at once ---- */

struct complete_issue {
	struct login_complete ci_lc;
	store_issue_fn ci_issue;
	void *ci_ctx;
	bool ci_issued;
};

static int
complete_issue_tx(struct conn *c, void *arg)
{
	struct complete_issue *ci = arg;
	const struct store_login_issue *li;
	int rc = login_complete_tx(c, &ci->ci_lc);

	ci->ci_issued = false;
	if (rc != SL_OK)
		return rc;
	/* a run again (SL_EBUSY) asks again: ci_issue only fills pointers */
	rc = ci->ci_issue(ci->ci_ctx, ci->ci_lc.lc_work.p_id, *ci->ci_lc.lc_consent, &li);
	if (rc == SL_OK && li != NULL) {
		rc = login_issue_tx(c, (void *)li); /* only read */
		ci->ci_issued = rc == SL_OK;
	}
	return rc;
}

/* A completion answered at once (store_login_complete_issue and the eID
 * return's store_authreq_redeem_complete_issue): durable, the consent
 * read for `client_id`.  SL_EINVAL when either is missing. */
static int
complete_issue_init(struct complete_issue *ci, const struct store_person *from, const struct store_authreq *r,
	const char *client_id, char **consent, store_issue_fn issue, void *ctx, bool *issued)
{
	*ci = (struct complete_issue){ .ci_lc = { .lc_from = from,
					       .lc_req = r,
					       .lc_now = sl_now(),
					       .lc_durable = true,
					       .lc_client_id = client_id,
					       .lc_consent = consent },
		.ci_issue = issue,
		.ci_ctx = ctx };
	*consent = NULL;
	*issued = false;
	return client_id == NULL || issue == NULL ? SL_EINVAL : SL_OK;
}

/* What the caller gets of a run of complete_issue_tx ending with rc. */
static void
complete_issue_end(const struct complete_issue *ci, int rc, char **consent, bool *issued)
{
	if (rc != SL_OK) {
		free(*consent);
		*consent = NULL;
	}
	*issued = rc == SL_OK && ci->ci_issued;
}

int
store_login_complete_issue(struct store *st, struct store_person *p, const struct store_authreq *r,
	const char *client_id, char **consent, store_issue_fn issue, void *ctx, bool *issued)
{
	struct complete_issue ci;
	int rc = complete_issue_init(&ci, p, r, client_id, consent, issue, ctx, issued);

	if (rc != SL_OK)
		return rc;
	/* Durable from the start: the answer carries the login's audit row,
	 * and a new or changed person is durable anyway; only a login that
	 * stops at the consent page pays a sync it did not need before. */
	rc = tx_run(st, DUR_FULL, complete_issue_tx, &ci);
	person_work_end(p, &ci.ci_lc.lc_work, rc);
	complete_issue_end(&ci, rc, consent, issued);
	return rc;
}

int
store_audit_count(struct store *st, const char *event, const char *result, int64_t *n)
{
	struct conn *c = conn_get(st);
	struct stmt *s = conn_stmt(c, Q_AUDIT_COUNT);
	int rc;

	bind_text(s, 1, event);
	bind_text(s, 2, result);
	rc = step_row(c, s);
	if (rc == SL_OK)
		*n = col_int(s, 0);
	stmt_reset(s);
	conn_put(st, c);
	return rc;
}

/* ---- housekeeping ---- */

/* How long a row outlives its expiry (or, for the outbox, its creation). */
#define APPRQ_KEEP_AFTER_EXPIRY 3600 /* the browser may still ask how it ended */
/* An outbox row holds a live activation code in clear: kept no longer
 * than the longest code lifetime ([app] sms_code_lifetime is at most an
 * hour), enough for the operator (sleutel sms tail) and the demo. */
#define SMS_OUTBOX_KEEP 3600
/* The app and the browser may still ask how a Smart-ID registration or
 * signing request ended. */
#define SID_KEEP_AFTER_EXPIRY 3600

struct purge {
	int64_t pg_now;
	int pg_total;
};

static int
purge_tx(struct conn *c, void *arg)
{
	static const struct {
		const char *table;
		const char *column;
		int64_t keep;
	} rules[] = {
		{ "auth_requests", "expires", 0 },
		{ "codes", "expires", 0 },
		{ "tokens", "expires", 0 },
		{ "sessions", "expires", 0 },
		{ "jti_seen", "expires", 0 },
		{ "enrollments", "expires", 0 },
		{ "app_requests", "expires", APPRQ_KEEP_AFTER_EXPIRY },
		{ "ciba_requests", "expires", 0 },
		{ "sms_outbox", "created", SMS_OUTBOX_KEEP },
		{ "sid_registrations", "expires", SID_KEEP_AFTER_EXPIRY },
		{ "sid_visits", "expires", 0 },
		{ "sid_requests", "expires", SID_KEEP_AFTER_EXPIRY },
		{ "sid_sessions", "keep_until", 0 },
		{ "rate_limits", "expires", 0 },
	};
	struct purge *p = arg;
	int rc = SL_OK;

	p->pg_total = 0; /* rows a run before this one deleted were rolled back */
	for (size_t i = 0; rc == SL_OK && i < sizeof(rules) / sizeof(rules[0]); i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s <= %lld", rules[i].table, rules[i].column,
			(long long)(p->pg_now - rules[i].keep));
		rc = conn_exec(c, sql);
		p->pg_total += conn_changes(c);
	}
	return rc;
}

int
store_purge_expired(struct store *st, int64_t now)
{
	struct purge p = { now, 0 };
	int rc = tx_run(st, DUR_NORMAL, purge_tx, &p);

	return rc == SL_OK ? p.pg_total : rc;
}

/* ---- the eID return: the one-time result redeemed and the login
 * completed in one commit (src/keys/eid/handoff.c) ---- */

struct redeem_complete {
	struct take_result rd_take;
	int (*rd_person_of)(const char *result, struct store_person *p);
	struct store_person rd_person; /* what the result says */
	struct complete_issue rd_ci; /* its ci_lc completes from rd_person */
};

static int
redeem_complete_tx(struct conn *c, void *arg)
{
	struct redeem_complete *rd = arg;
	int rc = take_result_tx(c, &rd->rd_take);

	/* late: rolled back here, store_authreq_take_result spends it */
	if (rc == SL_OK && rd->rd_take.tr_rs.rs_expires <= rd->rd_ci.ci_lc.lc_now)
		rc = SL_EEXPIRED;
	if (rc == SL_OK) {
		store_person_clear(&rd->rd_person);
		rc = rd->rd_person_of(rd->rd_take.tr_rs.rs_result, &rd->rd_person);
	}
	return rc == SL_OK ? complete_issue_tx(c, &rd->rd_ci) : rc;
}

/* The person out of a redemption (its id set) or nothing. */
static int
redeem_end(struct redeem_complete *rd, struct store_person *p, int rc)
{
	person_work_end(&rd->rd_person, &rd->rd_ci.ci_lc.lc_work, rc);
	authreq_result_clear(&rd->rd_take.tr_rs);
	if (rc == SL_OK) {
		*p = rd->rd_person;
	} else {
		store_person_clear(&rd->rd_person);
		memset(p, 0, sizeof(*p));
	}
	return rc;
}

int
store_authreq_redeem_complete_issue(struct store *st, const char *hash,
	int (*person_of)(const char *result, struct store_person *p), struct store_person *p,
	const struct store_authreq *r, const char *client_id, char **consent, store_issue_fn issue, void *ctx,
	bool *issued)
{
	struct redeem_complete rd = { .rd_take = { r->ar_id, hash, { 0 } }, .rd_person_of = person_of };
	int rc = complete_issue_init(&rd.rd_ci, &rd.rd_person, r, client_id, consent, issue, ctx, issued);

	memset(p, 0, sizeof(*p));
	if (rc != SL_OK)
		return rc;
	/* durable from the start, as store_login_complete_issue: the answer
	 * carries the login's audit row */
	rc = tx_run(st, DUR_FULL, redeem_complete_tx, &rd);
	complete_issue_end(&rd.rd_ci, rc, consent, issued);
	return redeem_end(&rd, p, rc);
}
