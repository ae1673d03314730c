/*
 * sid_request.c — making a Smart-ID login request for the portal (DESIGN
 * §1 "Smart-ID", docs/smartid-api.md "GET /requests").
 *
 * In this order, each step able to refuse:
 *   1. rate limits per national number, client address and RP (the app
 *      key's table, app_rate_request), before the account is looked up,
 *      so asking about numbers costs the same whether they have an account
 *      or not;
 *   2. the account of the number (store_sid_account_by_rrn): none, or one
 *      an operator blocked, gets a decoy — a request stored like a real
 *      one for the account "-<number>", which no device ever sees, so the
 *      browser's page looks the same;
 *   3. at most [smartid] max_pending open requests per account (decoys
 *      counted the same way);
 *   4. the request: a random id and nonce, the display text in the
 *      browser's language, the binding hash (sid_bind.c) the device signs
 *      with its authentication key (PKCS#1 v1.5, SHA-256), and the
 *      verification code derived from the hash;
 *   5. stored, the account's long-polling devices woken, audited.
 * Nothing here is secret: the code is compared by people and the nonce only
 * makes each binding unique.
 */
#include <stdlib.h>
#include <string.h>

#include "sid_login_int.h"

static void
audit(struct server *srv, const struct sid_request_spec *spec, const char *person, const char *result)
{
	struct store_audit au = { .au_event = "smartid.request",
		.au_result = result,
		.au_person_id = person,
		.au_client_id = spec->ss_client->cl_id,
		.au_key = SID_KEY_NAME,
		.au_ip = spec->ss_ip,
		.au_detail = "login" };

	store_audit_add(srv->sv_store, &au);
}

struct made_fields {
	char *mf_id, *mf_nonce, *mf_hash;
	char mf_display[SID_DISPLAY_MAX + 1];
	char mf_vc[SID_VC_LEN + 1];
};

/* Step 4: the fields a request binds. */
static int
make_fields(const struct sid_request_spec *spec, struct made_fields *f)
{
	uint8_t hash[SL_SHA256_LEN];
	struct sid_bind b;

	f->mf_id = sl_random_name(16);
	f->mf_nonce = sl_random_id(SID_NONCE_BYTES);
	if (f->mf_id == NULL || f->mf_nonce == NULL)
		return SL_ECRYPTO;
	if (app_display_text(spec->ss_lang, "login", spec->ss_client->cl_name, NULL, NULL, f->mf_display,
		    sizeof(f->mf_display)) != SL_OK)
		return SL_ETOOBIG;
	b = (struct sid_bind){ f->mf_id, spec->ss_client->cl_id, spec->ss_client->cl_name, "login", f->mf_display,
		f->mf_nonce };
	if (sid_bind_hash(&b, hash) != SL_OK)
		return SL_ETOOBIG;
	sid_verification_code(hash, sizeof(hash), f->mf_vc);
	f->mf_hash = sl_b64url_encode(hash, sizeof(hash));
	return f->mf_hash != NULL ? SL_OK : SL_ENOMEM;
}

/* Steps 4 and 5 for `account_id` (a decoy's too): SL_EBUSY at max_pending. */
static int
store_request(
	struct server *srv, const char *account_id, const struct sid_request_spec *spec, struct sid_request_made *out)
{
	struct made_fields f = { 0 };
	struct store_sid_request r = { 0 };
	int64_t now = sl_now();
	int lifetime = spec->ss_lifetime > 0 ? spec->ss_lifetime : srv->sv_conf->c_sid_request_lifetime;
	int rc = make_fields(spec, &f);

	if (rc == SL_OK) {
		r.sq_id = f.mf_id;
		r.sq_account_id = (char *)account_id;
		r.sq_client_id = spec->ss_client->cl_id;
		r.sq_rp_name = spec->ss_client->cl_name;
		r.sq_action = (char *)"login";
		r.sq_key_use = (char *)STORE_SID_KEY_AUTH;
		r.sq_display_text = f.mf_display;
		r.sq_nonce = f.mf_nonce;
		r.sq_hash = f.mf_hash;
		r.sq_digest = (char *)"SHA256";
		r.sq_padding = (char *)"pkcs1";
		r.sq_vc = f.mf_vc;
		r.sq_link_kind = (char *)"authreq";
		r.sq_link_id = (char *)spec->ss_link_id;
		r.sq_ip = (char *)spec->ss_ip;
		r.sq_status = (char *)"pending";
		r.sq_created = now;
		r.sq_expires = now + lifetime;
		rc = store_sid_request_put_bounded(srv->sv_store, &r, srv->sv_conf->c_sid_max_pending);
	}
	if (rc == SL_OK) {
		sl_strlcpy(out->sm_id, f.mf_id, sizeof(out->sm_id));
		sl_strlcpy(out->sm_vc, f.mf_vc, sizeof(out->sm_vc));
		out->sm_expires = r.sq_expires;
	}
	free(f.mf_id);
	free(f.mf_nonce);
	free(f.mf_hash);
	return rc;
}

/* Steps 3-5: stored only while fewer than [smartid] max_pending requests
 * of the account wait (counted in the same statement as the insert). */
static int
store_bounded(struct server *srv, const char *account_id, const struct sid_request_spec *spec,
	struct sid_request_made *out, struct sl_err *err)
{
	int rc = store_request(srv, account_id, spec, out);

	if (rc == SL_EBUSY)
		return sl_fail(err, SL_EBUSY, "too many requests are waiting on this Smart-ID");
	if (rc != SL_OK)
		return sl_fail(err, SL_ESTORE, "the request could not be stored");
	return SL_OK;
}

/* A number without a usable account: the same page, a request nobody sees. */
static int
make_decoy(struct server *srv, const struct sid_request_spec *spec, struct sid_request_made *out, struct sl_err *err)
{
	char account[SID_RRN_LEN + 8];
	int rc;

	snprintf(account, sizeof(account), SID_DECOY_PREFIX "%s", spec->ss_rrn);
	rc = store_bounded(srv, account, spec, out, err);
	audit(srv, spec, NULL, rc == SL_OK ? "unknown_number" : rc == SL_EBUSY ? "too_many_pending" : "failed");
	return rc;
}

int
sid_request_create(
	struct server *srv, const struct sid_request_spec *spec, struct sid_request_made *out, struct sl_err *err)
{
	struct store_sid_account acct = { 0 };
	char subject[SID_RRN_LEN + 8], wkey[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (spec->ss_rrn == NULL || spec->ss_client == NULL || spec->ss_link_id == NULL)
		return sl_fail(err, SL_EINVAL, "incomplete request");
	snprintf(subject, sizeof(subject), "sid:%s", spec->ss_rrn);
	rc = app_rate_request(srv, subject, "this national number", spec->ss_client->cl_id, spec->ss_ip, err);
	if (rc != SL_OK) {
		audit(srv, spec, NULL, "rate_limited");
		return rc;
	}
	if (store_sid_account_by_rrn(srv->sv_store, spec->ss_rrn, &acct) != SL_OK ||
		strcmp(acct.sa_status, "active") != 0) {
		store_sid_account_clear(&acct);
		return make_decoy(srv, spec, out, err);
	}
	rc = store_bounded(srv, acct.sa_id, spec, out, err);
	if (rc == SL_OK) {
		sid_account_wait_key(acct.sa_id, wkey, sizeof(wkey));
		server_wake(srv, wkey);
	}
	audit(srv, spec, acct.sa_person_id, rc == SL_OK ? "ok" : rc == SL_EBUSY ? "too_many_pending" : "failed");
	store_sid_account_clear(&acct);
	return rc;
}
