/*
 * sqlite_schema.c — the schema in SQLite's dialect, as numbered steps.  A
 * database is brought to STORE_SCHEMA_VERSION at open, each step in its own
 * transaction; a database whose version is newer than this build knows is
 * refused.  pg_schema.c holds the same steps in PostgreSQL's dialect.
 */
#include "store_int.h"

const char *const store_schema_sqlite[STORE_SCHEMA_VERSION] = {
	/* 1: the foundation */
	"CREATE TABLE persons ("
	" id TEXT PRIMARY KEY, rrn TEXT UNIQUE, given_name TEXT, family_name TEXT,"
	" birthdate TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE clients ("
	" client_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT,"
	" auth_method TEXT NOT NULL, redirect_uris TEXT NOT NULL, post_logout_uris TEXT NOT NULL,"
	" jwks TEXT, id_token_alg TEXT NOT NULL, sector TEXT NOT NULL,"
	" require_par INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE signing_keys ("
	" kid TEXT PRIMARY KEY, alg TEXT NOT NULL, created INTEGER NOT NULL,"
	" use_after INTEGER NOT NULL, retire_after INTEGER NOT NULL);"
	"CREATE TABLE auth_requests ("
	" id TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL,"
	" params TEXT NOT NULL, browser TEXT, expires INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'pending', person_id TEXT, key TEXT, acr TEXT, amr TEXT,"
	" auth_time INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX auth_requests_expires ON auth_requests(expires);"
	"CREATE TABLE codes ("
	" hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,"
	" person_id TEXT NOT NULL, session_id TEXT, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL,"
	" nonce TEXT, challenge TEXT NOT NULL, acr TEXT, amr TEXT, claims TEXT,"
	" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX codes_expires ON codes(expires);"
	"CREATE TABLE tokens ("
	" hash TEXT PRIMARY KEY, kind TEXT NOT NULL, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,"
	" person_id TEXT NOT NULL, session_id TEXT, scope TEXT NOT NULL, acr TEXT, amr TEXT,"
	" claims TEXT, auth_time INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_grant ON tokens(grant_id);"
	"CREATE INDEX tokens_expires ON tokens(expires);"
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL, acr TEXT, amr TEXT,"
	" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE TABLE jti_seen ("
	" client_id TEXT NOT NULL, jti TEXT NOT NULL, expires INTEGER NOT NULL,"
	" PRIMARY KEY (client_id, jti));"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL,"
	" result TEXT NOT NULL, person_id TEXT, client_id TEXT, key TEXT, ip TEXT, detail TEXT);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TABLE key_generation (id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER NOT NULL);"
	"INSERT INTO key_generation VALUES (1, 0);",

	/* 2: REPLACE deletes without firing DELETE triggers, so an audit row
	 * could be rewritten by reusing its seq: refuse that too. */
	"CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit"
	" WHEN NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",

	/* 3: the sleutel app key.  Accounts and devices are durable; the
	 * rest is short-lived and purged (store_purge_expired). */
	"ALTER TABLE clients ADD COLUMN ciba_mode TEXT;"
	"ALTER TABLE clients ADD COLUMN ciba_endpoint TEXT;"
	"ALTER TABLE codes ADD COLUMN authz_details TEXT;"
	"ALTER TABLE tokens ADD COLUMN authz_details TEXT;"
	"CREATE TABLE accounts ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES persons(id), phone TEXT NOT NULL UNIQUE,"
	" status TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX accounts_person ON accounts(person_id);"
	"CREATE TABLE devices ("
	" id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT,"
	" jkt TEXT NOT NULL UNIQUE, transport_jwk TEXT NOT NULL, confirm_key TEXT NOT NULL,"
	" status TEXT NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX devices_account ON devices(account_id, created);"
	"CREATE TABLE enrollments ("
	" id TEXT PRIMARY KEY, phone TEXT NOT NULL, jkt TEXT NOT NULL UNIQUE, transport_jwk TEXT NOT NULL,"
	" device_name TEXT, lang TEXT, terms TEXT, status TEXT NOT NULL, sms_hash TEXT,"
	" sms_attempts INTEGER NOT NULL DEFAULT 0, sms_sends INTEGER NOT NULL DEFAULT 0,"
	" sms_expires INTEGER NOT NULL DEFAULT 0, proof_method TEXT, person TEXT, proof_state TEXT,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE INDEX enrollments_expires ON enrollments(expires);"
	"CREATE TABLE app_requests ("
	" id TEXT PRIMARY KEY, account_id TEXT NOT NULL, client_id TEXT NOT NULL, rp_name TEXT,"
	" action TEXT NOT NULL, display_text TEXT, authz_details TEXT, codes TEXT, code TEXT, nonce TEXT,"
	" link_kind TEXT, link_id TEXT, ip TEXT, status TEXT NOT NULL DEFAULT 'pending', device_id TEXT,"
	" extended INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE INDEX app_requests_account ON app_requests(account_id, status);"
	"CREATE INDEX app_requests_expires ON app_requests(expires);"
	"CREATE TABLE ciba_requests ("
	" id TEXT PRIMARY KEY, client_id TEXT NOT NULL, apprq_id TEXT, scope TEXT, acr TEXT,"
	" binding_message TEXT, notification_token TEXT, authz_details TEXT,"
	" status TEXT NOT NULL DEFAULT 'pending', person_id TEXT, auth_time INTEGER NOT NULL DEFAULT 0,"
	" last_poll INTEGER NOT NULL DEFAULT 0, poll_interval INTEGER NOT NULL DEFAULT 5,"
	" expires INTEGER NOT NULL);"
	"CREATE INDEX ciba_requests_expires ON ciba_requests(expires);"
	"CREATE TABLE sms_outbox ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, phone TEXT NOT NULL, text TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX sms_outbox_created ON sms_outbox(created);"
	"CREATE INDEX audit_person ON audit(person_id, seq);",

	/* 4: the eID key's one-time result.  A card presented on the eID
	 * origin is kept on the pending request, behind the hash of a
	 * one-time value, until the browser that started the request redeems
	 * it on the portal (store_authreq_set_result / _take_result). */
	"ALTER TABLE auth_requests ADD COLUMN result_hash TEXT;"
	"ALTER TABLE auth_requests ADD COLUMN result TEXT;"
	"ALTER TABLE auth_requests ADD COLUMN result_expires INTEGER NOT NULL DEFAULT 0;",

	/* 5: logout revokes the tokens and drops the codes of its session. */
	"CREATE INDEX IF NOT EXISTS tokens_session"
	" ON tokens(session_id);"
	"CREATE INDEX IF NOT EXISTS codes_session ON codes(session_id);",

	/* 6: the scopes each client may be granted, and what each person
	 * agreed to share with each client.  Clients that existed before get
	 * "openid profile": the national register number (eid) is granted
	 * again only by an operator, explicitly. */
	"ALTER TABLE clients ADD COLUMN scopes TEXT NOT NULL DEFAULT 'openid profile';"
	"CREATE TABLE consents ("
	" person_id TEXT NOT NULL, client_id TEXT NOT NULL, scopes TEXT NOT NULL,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (person_id, client_id));",

	/* 7: the coarse context (browser, OS, network) of the browser that
	 * started a login, shown by the app so a relayed QR code stands out. */
	"ALTER TABLE auth_requests ADD COLUMN context TEXT; ALTER TABLE app_requests ADD COLUMN context TEXT;",

	/* 8: Smart-ID-style split-key accounts (src/store/smartid*.c).  One
	 * account per person; a device's transport key and document number
	 * are never reused (any status); a registration holds its key while
	 * it lives (store_sid_registration_put drops an expired or failed
	 * one first) and its code while at "code" (the partial index). */
	"CREATE TABLE sid_accounts ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL UNIQUE REFERENCES persons(id), status TEXT NOT NULL,"
	" email TEXT, phone TEXT, created INTEGER NOT NULL);"
	"CREATE TABLE sid_devices ("
	" id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES sid_accounts(id), name TEXT,"
	" jkt TEXT NOT NULL UNIQUE, transport_jwk TEXT NOT NULL, document TEXT NOT NULL UNIQUE,"
	" status TEXT NOT NULL, reason TEXT, created INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sid_devices_account ON sid_devices(account_id, created);"
	"CREATE TABLE sid_keys ("
	" device_id TEXT NOT NULL REFERENCES sid_devices(id), key_use TEXT NOT NULL, sealed TEXT NOT NULL,"
	" version INTEGER NOT NULL, cert_pem TEXT, cert_serial TEXT, failures INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, key_use));"
	"CREATE TABLE sid_registrations ("
	" id TEXT PRIMARY KEY, jkt TEXT NOT NULL UNIQUE, transport_jwk TEXT NOT NULL, device_name TEXT,"
	" lang TEXT, terms TEXT, country TEXT, method TEXT, status TEXT NOT NULL, code_hash TEXT,"
	" auth_sealed TEXT, auth_version INTEGER NOT NULL DEFAULT 0, sign_sealed TEXT,"
	" sign_version INTEGER NOT NULL DEFAULT 0, person TEXT, email TEXT, phone TEXT, challenge TEXT,"
	" recall_failures INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX sid_registrations_code ON sid_registrations(code_hash) WHERE status = 'code';"
	"CREATE INDEX sid_registrations_expires ON sid_registrations(expires);"
	"CREATE TABLE sid_visits ("
	" id TEXT PRIMARY KEY, person TEXT, email TEXT, phone TEXT, registration_id TEXT,"
	" code_tries INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL);"
	"CREATE INDEX sid_visits_expires ON sid_visits(expires);"
	"CREATE TABLE sid_requests ("
	" id TEXT PRIMARY KEY, account_id TEXT NOT NULL, client_id TEXT NOT NULL, rp_name TEXT,"
	" action TEXT NOT NULL, key_use TEXT NOT NULL, display_text TEXT, nonce TEXT, hash TEXT NOT NULL,"
	" digest TEXT NOT NULL, padding TEXT NOT NULL, vc TEXT, link_kind TEXT, link_id TEXT, ip TEXT,"
	" status TEXT NOT NULL DEFAULT 'pending', device_id TEXT, signature TEXT, created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL);"
	"CREATE INDEX sid_requests_account ON sid_requests(account_id, status);"
	"CREATE INDEX sid_requests_expires ON sid_requests(expires);",
	/* 9: a registration keeps the app's shares (sealed) until the portal
	 * confirms; only then are the server keys made (auth_sealed, sign_sealed).
	 * One still waiting for its code was started under the old rule (keys
	 * made at the start): it is dropped, the app starts again. */
	"ALTER TABLE sid_registrations ADD COLUMN auth_share TEXT;"
	"ALTER TABLE sid_registrations ADD COLUMN sign_share TEXT;"
	"DELETE FROM sid_registrations WHERE status = 'code';",
	/* 10: the Smart-ID RP API (src/keys/sidrp): its relying parties, its
	 * sessions (results kept a while after they complete), and on a
	 * device's signing request the one device it is for (by document) and
	 * the RP API fields it shows and signs. */
	"CREATE TABLE sid_rps ("
	" uuid TEXT PRIMARY KEY, name TEXT NOT NULL, allow_ip TEXT, permissions TEXT NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'active', created INTEGER NOT NULL);"
	"CREATE TABLE sid_sessions ("
	" id TEXT PRIMARY KEY, rp_uuid TEXT NOT NULL REFERENCES sid_rps(uuid), api TEXT NOT NULL,"
	" type TEXT NOT NULL, flow TEXT NOT NULL, target_kind TEXT NOT NULL, target TEXT, account_id TEXT,"
	" params TEXT NOT NULL, token TEXT UNIQUE, secret TEXT, server_random TEXT, vc TEXT, idem TEXT,"
	" request_id TEXT, ip TEXT, state TEXT NOT NULL DEFAULT 'RUNNING', result TEXT,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL, keep_until INTEGER NOT NULL);"
	"CREATE INDEX sid_sessions_rp ON sid_sessions(rp_uuid, state, expires);"
	"CREATE INDEX sid_sessions_idem ON sid_sessions(idem, created);"
	"CREATE INDEX sid_sessions_keep ON sid_sessions(keep_until);"
	"ALTER TABLE sid_requests ADD COLUMN device_only TEXT;"
	"ALTER TABLE sid_requests ADD COLUMN extra TEXT;",
	/* 11: rate-limit windows (limits.c), in the store so that every node
	 * counts against one budget; a row lives until its window ends. */
	"CREATE TABLE rate_limits ("
	" key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE INDEX rate_limits_expires ON rate_limits(expires);",
	/* 12: fewer pages written per login (docs/performance.md): a page
	 * written is a WAL frame and later a checkpoint write.  The
	 * short-lived tables of small rows keyed by a random id become
	 * WITHOUT ROWID — the row lives in its primary key's b-tree, so an
	 * insert writes one leaf where a rowid table wrote the row and its key
	 * index.  (The tables of larger rows — requests, codes, tokens — stay
	 * rowid tables: a row of 400-600 bytes fills a key-ordered leaf in a
	 * few random inserts and the splits cost more pages than the key index
	 * saves, where a rowid table appends.)  Codes lose their expiry index:
	 * a code lives at most [oidc] code_lifetime (10 minutes), and the purge
	 * every 30 s scans that small table instead of every login writing the
	 * index; the long-lived tables keep theirs (requests live 15 minutes,
	 * sessions hours, tokens up to a month).  Each table is copied whole,
	 * in this step's one transaction. */
	"CREATE TABLE sessions_v12 ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL, acr TEXT, amr TEXT,"
	" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO sessions_v12 (id, person_id, acr, amr, auth_time, expires)"
	" SELECT id, person_id, acr, amr, auth_time, expires FROM sessions;"
	"DROP TABLE sessions;"
	"ALTER TABLE sessions_v12 RENAME TO sessions;"
	"CREATE TABLE jti_seen_v12 ("
	" client_id TEXT NOT NULL, jti TEXT NOT NULL, expires INTEGER NOT NULL,"
	" PRIMARY KEY (client_id, jti)) WITHOUT ROWID;"
	"INSERT INTO jti_seen_v12 (client_id, jti, expires) SELECT client_id, jti, expires FROM jti_seen;"
	"DROP TABLE jti_seen;"
	"ALTER TABLE jti_seen_v12 RENAME TO jti_seen;"
	"CREATE TABLE rate_limits_v12 ("
	" key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO rate_limits_v12 (key, count, expires) SELECT key, count, expires FROM rate_limits;"
	"DROP TABLE rate_limits;"
	"ALTER TABLE rate_limits_v12 RENAME TO rate_limits;"
	"CREATE INDEX rate_limits_expires ON rate_limits(expires);"
	"DROP INDEX IF EXISTS codes_expires;",
	/* 13: signed request objects (RFC 9101) required of a client, and the
	 * JWE alg/enc its ID tokens are encrypted with (NULL: signed only). */
	"ALTER TABLE clients ADD COLUMN require_signed_ro INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE clients ADD COLUMN id_token_enc_alg TEXT;"
	"ALTER TABLE clients ADD COLUMN id_token_enc_enc TEXT;",
	/* 14: FAPI 2.0 and DPoP (RFC 9449): a client's profile ("default" or
	 * "fapi2"), the key a code is bound to (dpop_jkt at /par or
	 * /authorize), and the key thumbprint a token is bound to (cnf.jkt;
	 * NULL: a bearer token). */
	"ALTER TABLE clients ADD COLUMN profile TEXT NOT NULL DEFAULT 'default';"
	"ALTER TABLE codes ADD COLUMN dpop_jkt TEXT;"
	"ALTER TABLE tokens ADD COLUMN jkt TEXT;",
	/* 15: the public site's Partners page: the address a client that
	 * opted in is listed with (NULL: not listed). */
	"ALTER TABLE clients ADD COLUMN partner_url TEXT;",
	/* 16: notices to a person about their devices (notice.c): a device
	 * added (or, later, revoked), shown on the account page until read
	 * and fetched by the person's other devices. */
	"CREATE TABLE notices ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL, kind TEXT NOT NULL, device_kind TEXT NOT NULL,"
	" device_id TEXT NOT NULL, device_name TEXT, created INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX notices_person ON notices(person_id, created);",
	/* 17: a Smart-ID login's "more time" (WCAG 2.2.1), counted as the
	 * app request's is (portal/timer.c). */
	"ALTER TABLE sid_requests ADD COLUMN extended INTEGER NOT NULL DEFAULT 0;",
	/* 18: a login request's own "more time" (WCAG 2.2.1), counted
	 * (portal/timelimit.c). */
	"ALTER TABLE auth_requests ADD COLUMN extended INTEGER NOT NULL DEFAULT 0;",
	/* 19: the Smart-ID registration code's "more time" (WCAG 2.2.1) and
	 * its wrong tries over its whole life (a cap by count, not by time:
	 * reg_pages.c), and the portal visit's own "more time". */
	"ALTER TABLE sid_registrations ADD COLUMN extended INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sid_registrations ADD COLUMN code_wrong INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sid_visits ADD COLUMN extended INTEGER NOT NULL DEFAULT 0;",
	/* 20: the wrong SMS activation codes of one phone number across its
	 * enrolments (failures.c): a total until its next right code and the
	 * count of a day-long window. */
	"CREATE TABLE phone_failures ("
	" phone TEXT PRIMARY KEY, total INTEGER NOT NULL, window_count INTEGER NOT NULL,"
	" window_end INTEGER NOT NULL);",
};
