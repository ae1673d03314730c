/*
 * bank.c — proofing through the person's bank: sleutel is an OpenID
 * Connect client of each [bank.<id>] (authorization code flow, PKCE S256,
 * state and nonce, client_secret_basic at the token endpoint).
 *
 * The app opens /proofing/bank/<id>?t=<ticket> in the phone's browser.
 * The page says where the person is going and for which phone number (a
 * link forwarded by a stranger shows the stranger's number); its button
 * posts the ticket back, which spends it and starts a flow: state, nonce,
 * PKCE verifier and a browser cookie, kept in the enrolment, and a
 * redirect to the bank.  The bank sends the browser to
 * /proofing/bank/callback, where the state (one-time, constant-time, and
 * only in the browser that started) names the enrolment; the code is
 * exchanged, the ID token verified and checked, userinfo asked when the
 * ID token lacks the national number, and the claims mapped to a person.
 *
 * Every failure is a page that says what happened and offers to try
 * again with a fresh ticket; the enrolment stays in "proofing".
 *
 * Calls to the bank never run on an event loop: the request is suspended
 * and the calls run on an outbound worker (src/outbound), the handler
 * running again with their result.  The person waits at most [proofing]
 * bank_timeout seconds for all of them (504 "this took too long"); a
 * full outbound queue is a 503 with Retry-After.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proofing_int.h"
#include "../httpc/httpc.h"
#include "../outbound/outbound.h"
#include "../portal/portal.h"

#define BANK_PREFIX "/proofing/bank/"
#define BANK_VERIFIER_BYTES 32 /* 43 characters: RFC 7636 allows 43..128 */
#define BANK_URL_MAX 4096

static void
fail(struct server *srv, struct http_request *rq, int status, int lang, const char *enrollment_id, const char *bank,
	const char *heading, const char *detail, const char *code)
{
	struct proof_failure f = { status, lang, enrollment_id, bank, heading, detail, code };

	proof_fail_page(srv, rq, &f);
}

/* "…34 56": enough for a person to recognise their own number. */
static void
leave_page(struct server *srv, struct http_request *rq, int lang, const struct sl_bank_conf *b,
	const struct store_enrollment *e, const char *ticket)
{
	char phone[32], action[128], *csrf = proof_csrf_token(srv, rq, e->en_id);
	struct tmpl_var v[6];

	proof_phone_tail(e->en_phone, phone, sizeof(phone));
	snprintf(action, sizeof(action), BANK_PREFIX "%s", b->bk_id);
	v[0] = (struct tmpl_var){ "bank", b->bk_name };
	v[1] = (struct tmpl_var){ "phone", phone };
	v[2] = (struct tmpl_var){ "action", action };
	v[3] = (struct tmpl_var){ "t", ticket };
	v[4] = (struct tmpl_var){ "langcode", config_languages[lang] };
	v[5] = (struct tmpl_var){ "csrf", csrf ? csrf : "" };
	portal_page(srv, rq, 200, lang, N_("Confirm your identity with your bank"), "proofing_bank", v, 6);
	free(csrf);
}

struct start {
	const char *st_ticket_hash;
	const struct proof_flow *st_flow;
};

static int
start_flow(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	struct start *s = arg;

	(void)e;
	if (!proof_state_ticket(state, s->st_ticket_hash, sl_now(), true))
		return SL_EDENIED;
	*write = true;
	return proof_state_set_flow(state, s->st_flow);
}

static int
add_param(struct sl_buf *b, const char *name, const char *value)
{
	sl_buf_addf(b, "&%s=", name);
	return sl_url_encode(b, value);
}

/* The authorization request (OIDC Core 3.1.2.1 with RFC 7636). */
static char *
authorize_url(struct server *srv, const struct sl_bank_conf *b, const char *endpoint, const char *state,
	const struct proof_flow *f, int lang)
{
	uint8_t digest[SL_SHA256_LEN];
	char *challenge, redirect[512];
	struct sl_buf u;
	int rc;

	if (crypto_sha256(f->pf_verifier, strlen(f->pf_verifier), digest) != SL_OK ||
		(challenge = sl_b64url_encode(digest, sizeof(digest))) == NULL)
		return NULL;
	snprintf(redirect, sizeof(redirect), "%s/proofing/bank/callback", srv->sv_conf->c_issuer);
	sl_buf_init(&u, BANK_URL_MAX);
	rc = sl_buf_adds(&u, endpoint);
	rc |= sl_buf_adds(&u, strchr(endpoint, '?') ? "&response_type=code" : "?response_type=code");
	rc |= add_param(&u, "client_id", b->bk_client_id);
	rc |= add_param(&u, "redirect_uri", redirect);
	rc |= add_param(&u, "scope", b->bk_scope);
	rc |= add_param(&u, "state", state);
	rc |= add_param(&u, "nonce", f->pf_nonce);
	rc |= add_param(&u, "code_challenge", challenge);
	rc |= add_param(&u, "code_challenge_method", "S256");
	rc |= add_param(&u, "ui_locales", config_languages[lang]);
	free(challenge);
	if (rc != SL_OK) {
		sl_buf_reset(&u);
		return NULL;
	}
	return sl_buf_take(&u);
}

/* Fill a new flow for bank `b`: *state and *cookie are malloc'd. */
static int
flow_new(const char *enrollment_id, const struct sl_bank_conf *b, struct proof_flow *f, char **state, char **cookie)
{
	char *verifier = sl_random_id(BANK_VERIFIER_BYTES), *nonce = sl_random_id(PROOF_SECRET_BYTES);
	int rc = SL_ENOMEM;

	memset(f, 0, sizeof(*f));
	*state = proof_token_new(enrollment_id, f->pf_state_hash);
	*cookie = proof_token_new(enrollment_id, f->pf_browser_hash);
	if (verifier && nonce && *state && *cookie) {
		sl_strlcpy(f->pf_bank, b->bk_id, sizeof(f->pf_bank));
		sl_strlcpy(f->pf_verifier, verifier, sizeof(f->pf_verifier));
		sl_strlcpy(f->pf_nonce, nonce, sizeof(f->pf_nonce));
		f->pf_expires = sl_now() + PROOF_FLOW_LIFETIME;
		rc = SL_OK;
	}
	free(verifier);
	free(nonce);
	return rc;
}

/* ---- waiting for the bank (on an outbound worker) ---- */

static int64_t
bank_deadline(struct server *srv)
{
	return sl_monotonic_ms() + (int64_t)srv->sv_conf->c_bank_timeout * 1000;
}

/* Seconds for the next call to the bank: what is left of the person's
 * wait and one more, so that the wait ends first (504) and the worker is
 * free just after.  0 when nothing is left. */
static int
bank_budget(int64_t deadline)
{
	int64_t left = deadline - sl_monotonic_ms();

	return left <= 0 ? 0 : (int)((left + 999) / 1000) + 1;
}

/* The page for a call that gave no result: the outbound queue was full
 * or the server stops (503, Retry-After), or the bank took longer than
 * bank_timeout (504).  With an enrolment and bank, "try again" is offered. */
static void
bank_no_answer(struct server *srv, struct http_request *rq, bool timeout, int lang, const char *enrollment_id,
	const char *bank)
{
	if (timeout) {
		proof_audit(srv, rq, "bank", "timeout", "the bank did not answer within bank_timeout");
		fail(srv, rq, 504, lang, enrollment_id, bank, N_("This took too long"),
			N_("The connection to your bank failed. Try again in a few minutes, or go back to the "
			   "sleutel app and choose another way."),
			"bank_timeout");
		return;
	}
	http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
	fail(srv, rq, 503, lang, enrollment_id, bank, N_("sleutel is busy, please try again in a moment"),
		N_("Please try again in a moment."), "busy");
}

/* The discovery document before leaving for the bank. */
struct leave_call {
	struct server *lc_srv;
	int lc_bank;
	int64_t lc_deadline;
	struct proof_endpoints lc_ep;
	struct sl_err lc_err;
	int lc_rc;
};

static void
leave_run(void *p)
{
	struct leave_call *lc = p;
	int budget = bank_budget(lc->lc_deadline);

	lc->lc_rc = budget > 0 ? proof_bank_endpoints(lc->lc_srv, lc->lc_bank, budget, &lc->lc_ep, &lc->lc_err)
			       : sl_fail(&lc->lc_err, SL_EIO, "bank_timeout passed in the queue");
}

static void
leave_free(void *p)
{
	struct leave_call *lc = p;

	proof_endpoints_clear(&lc->lc_ep);
	free(lc);
}

/* First run of the POST: checks, then the discovery call is queued. */
static void
leave_start(struct server *srv, struct http_request *rq, int bank, const char *id, int lang)
{
	struct leave_call *lc;

	if (!proof_csrf_ok(srv, rq, id, "bank", lang))
		return;
	lc = calloc(1, sizeof(*lc));
	if (lc == NULL) {
		proof_enrollment_page(srv, rq, lang, SL_ENOMEM);
		return;
	}
	lc->lc_srv = srv;
	lc->lc_bank = bank;
	lc->lc_deadline = bank_deadline(srv);
	if (outbound_call(srv->sv_outbound, rq, lc->lc_deadline, leave_run, leave_free, lc) != SL_OK)
		bank_no_answer(srv, rq, false, lang, NULL, NULL);
}

/* POST: spend the ticket and leave for the bank. */
static void
leave(struct server *srv, struct http_request *rq, int bank, const char *ticket)
{
	const struct sl_bank_conf *b = &srv->sv_conf->c_banks[bank];
	const struct proof_endpoints *ep;
	struct leave_call *lc;
	struct proof_flow f;
	char id[PROOF_ID_MAX], thash[2 * SL_SHA256_LEN + 1], *state = NULL, *cookie = NULL, *url = NULL;
	char setc[256];
	struct start s = { thash, &f };
	int lang = proof_lang(srv, rq, NULL), rc;
	enum outbound_state st = outbound_result(rq, (void **)&lc);

	if (st == OUTBOUND_WAITING)
		return;
	if (proof_token_parse(ticket, id) != SL_OK || crypto_token_hash(ticket, thash) != SL_OK) {
		proof_enrollment_page(srv, rq, lang, SL_EINVAL);
		return;
	}
	/* Reach the bank before spending the ticket: a bank that is down
	 * leaves the link usable for another try. */
	if (st == OUTBOUND_NONE) {
		leave_start(srv, rq, bank, id, lang);
		return;
	}
	if (st != OUTBOUND_DONE) {
		bank_no_answer(srv, rq, st == OUTBOUND_TIMEOUT, lang, NULL, NULL);
		return;
	}
	if (lc->lc_rc != SL_OK) {
		proof_audit(srv, rq, "bank", "unreachable", lc->lc_err.msg);
		fail(srv, rq, 502, lang, NULL, NULL, N_("Your bank cannot be reached"),
			N_("The connection to your bank failed. Try again in a few minutes, or go back to the "
			   "sleutel app and choose another way."),
			"bank_unreachable");
		return;
	}
	ep = &lc->lc_ep;
	rc = flow_new(id, b, &f, &state, &cookie);
	if (rc == SL_OK)
		rc = proof_edit(srv, id, start_flow, &s, NULL);
	if (rc == SL_OK)
		url = authorize_url(srv, b, ep->pe_authorization, state, &f, lang);
	if (rc != SL_OK || url == NULL) {
		proof_enrollment_page(srv, rq, lang, rc == SL_OK ? SL_ENOMEM : rc);
	} else {
		snprintf(setc, sizeof(setc), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=%d", PROOF_COOKIE,
			cookie, PROOF_FLOW_LIFETIME);
		http_add_header(rq, "Set-Cookie", setc);
		http_send_redirect(rq, 303, url);
	}
	free(url);
	free(state);
	free(cookie);
}

void
proofing_bank_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *path = http_path(rq), *ticket = http_param(rq, "t");
	int bank = proof_bank_index(srv, path + strlen(BANK_PREFIX)), lang;
	struct store_enrollment e;

	if (bank < 0) {
		portal_error(srv, rq, 404, proof_lang(srv, rq, NULL), N_("This bank is not known"),
			N_("Go back to the sleutel app and choose again how to confirm your identity."));
		return;
	}
	if (http_method(rq) == HTTP_POST) {
		leave(srv, rq, bank, ticket);
		return;
	}
	if (proof_ticket_check(srv, rq, ticket, false, &e, &lang) != SL_OK)
		return;
	leave_page(srv, rq, lang, &srv->sv_conf->c_banks[bank], &e, ticket);
	store_enrollment_clear(&e);
}

/* ---- the callback ---- */

struct take {
	const char *tk_state_hash;
	const char *tk_browser_hash;
	struct proof_flow *tk_flow;
};

static int
take_flow(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	struct take *t = arg;
	int rc = proof_state_take_flow(state, t->tk_state_hash, t->tk_browser_hash, sl_now(), t->tk_flow);

	(void)e;
	*write = rc == SL_OK || rc == SL_EEXPIRED;
	return rc;
}

/* What a callback carries, checked before anything leaves for the bank. */
struct callback {
	char cb_id[PROOF_ID_MAX];
	struct proof_flow cb_flow;
	int cb_bank;
	int cb_lang;
	const char *cb_code;
	const char *cb_error;
	bool cb_iss_given; /* the answer named its issuer (RFC 9207) */
};

/* The state names the enrolment; it must be the flow in flight, from
 * this browser.  SL_OK, or the page is sent. */
static int
callback_flow(struct server *srv, struct http_request *rq, struct callback *cb)
{
	const char *state = http_query(rq, "state"), *cookie = http_cookie(rq, PROOF_COOKIE);
	char shash[2 * SL_SHA256_LEN + 1], bhash[2 * SL_SHA256_LEN + 1] = "";
	struct take t = { shash, bhash, &cb->cb_flow };
	struct store_enrollment e;
	int rc;

	cb->cb_lang = proof_lang(srv, rq, NULL);
	if (proof_token_parse(state, cb->cb_id) != SL_OK || crypto_token_hash(state, shash) != SL_OK) {
		proof_audit(srv, rq, "bank", "bad_state", "callback without a valid state");
		fail(srv, rq, 400, cb->cb_lang, NULL, NULL, N_("This answer from the bank is not valid"),
			N_("Go back to the sleutel app and choose again how to confirm your identity."),
			"invalid_state");
		return SL_EINVAL;
	}
	if (cookie != NULL && strlen(cookie) < PROOF_TOKEN_MAX)
		crypto_token_hash(cookie, bhash);
	rc = proof_edit(srv, cb->cb_id, take_flow, &t, &e);
	cb->cb_lang = proof_lang(srv, rq, e.en_lang ? &e : NULL);
	store_enrollment_clear(&e);
	if (rc == SL_OK) {
		cb->cb_bank = proof_bank_index(srv, cb->cb_flow.pf_bank);
		return cb->cb_bank >= 0 ? SL_OK : (proof_enrollment_page(srv, rq, cb->cb_lang, SL_EINVAL), SL_EINVAL);
	}
	proof_audit(srv, rq, "bank", rc == SL_EDENIED ? "other_browser" : "bad_state", "callback state refused");
	if (rc == SL_EDENIED)
		fail(srv, rq, 403, cb->cb_lang, NULL, NULL, N_("Open this in the same browser"),
			N_("The answer from your bank reached another browser than the one that went to the bank. "
			   "Go back to the sleutel app and try again."),
			"other_browser");
	else if (rc == SL_ENOTFOUND)
		fail(srv, rq, 400, cb->cb_lang, cb->cb_id, NULL, N_("This answer from the bank is not valid"),
			N_("It was already used, or it does not belong to this registration. Go back to the sleutel "
			   "app and choose again how to confirm your identity."),
			"invalid_state");
	else if (rc == SL_EEXPIRED)
		fail(srv, rq, 400, cb->cb_lang, cb->cb_id, NULL, N_("This took too long"),
			N_("Go back to the sleutel app and try again."), "flow_expired");
	else
		proof_enrollment_page(srv, rq, cb->cb_lang, rc);
	return rc;
}

/* The token request (OIDC Core 3.1.3.1): the ID token and access token. */
static int
redeem(struct server *srv, const struct callback *cb, const struct proof_endpoints *ep, int timeout, char **id_token,
	char **access_token, struct sl_err *err)
{
	const struct sl_bank_conf *b = &srv->sv_conf->c_banks[cb->cb_bank];
	struct httpc_request hr = { .hr_method = "POST",
		.hr_url = ep->pe_token,
		.hr_content_type = "application/x-www-form-urlencoded",
		.hr_basic_user = b->bk_client_id,
		.hr_basic_pass = b->bk_client_secret,
		.hr_ca_file = b->bk_ca_file,
		.hr_timeout = timeout,
		.hr_headers = { "Accept: application/json", NULL } };
	struct httpc_response res = { 0 };
	char redirect[512];
	struct sl_buf body;
	json_t *doc = NULL;
	int rc;

	*id_token = *access_token = NULL;
	snprintf(redirect, sizeof(redirect), "%s/proofing/bank/callback", srv->sv_conf->c_issuer);
	sl_buf_init(&body, BANK_URL_MAX);
	rc = sl_buf_adds(&body, "grant_type=authorization_code");
	rc |= add_param(&body, "code", cb->cb_code);
	rc |= add_param(&body, "redirect_uri", redirect);
	rc |= add_param(&body, "code_verifier", cb->cb_flow.pf_verifier);
	hr.hr_body = sl_buf_str(&body);
	if (rc == SL_OK)
		rc = httpc_do(&hr, &res, err);
	sl_buf_reset(&body);
	if (rc != SL_OK)
		return rc == SL_EIO ? rc : sl_fail(err, SL_EIO, "token request failed");
	if (res.hs_status == 200)
		doc = json_loadb(res.hs_body, res.hs_len, JSON_REJECT_DUPLICATES, NULL);
	if (res.hs_status != 200)
		rc = sl_fail(err, SL_EDENIED, "the bank's token endpoint answered %ld", res.hs_status);
	else if (!json_is_string(json_object_get(doc, "id_token")))
		rc = sl_fail(err, SL_EINVAL, "the bank's token response has no ID token");
	else {
		*id_token = strdup(json_string_value(json_object_get(doc, "id_token")));
		*access_token = sl_strdup(json_string_value(json_object_get(doc, "access_token")));
		rc = *id_token ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
	}
	json_decref(doc);
	httpc_response_clear(&res);
	return rc;
}

/* Userinfo (OIDC Core 5.3), merged under the ID token's claims: only
 * when the ID token lacks the national number.  Its sub must match. */
static int
userinfo_merge(struct server *srv, int bank, const struct proof_endpoints *ep, const char *access_token, int timeout,
	json_t *claims, struct sl_err *err)
{
	const struct sl_bank_conf *b = &srv->sv_conf->c_banks[bank];
	struct httpc_request hr = { .hr_method = "GET",
		.hr_url = ep->pe_userinfo,
		.hr_bearer = access_token,
		.hr_ca_file = b->bk_ca_file,
		.hr_timeout = timeout,
		.hr_headers = { "Accept: application/json", NULL } };
	struct httpc_response res = { 0 };
	json_t *doc = NULL;
	int rc;

	if (json_object_get(claims, b->bk_claim_rrn) != NULL || ep->pe_userinfo == NULL || access_token == NULL)
		return SL_OK;
	rc = httpc_do(&hr, &res, err);
	if (rc != SL_OK)
		return rc;
	if (res.hs_status == 200)
		doc = json_loadb(res.hs_body, res.hs_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc))
		rc = sl_fail(err, SL_EINVAL, "the bank's userinfo answered %ld without a JSON object", res.hs_status);
	else if (!json_equal(json_object_get(doc, "sub"), json_object_get(claims, "sub")))
		rc = sl_fail(err, SL_EDENIED, "the bank's userinfo is about another subject");
	else
		json_object_update_missing(claims, doc);
	json_decref(doc);
	httpc_response_clear(&res);
	return rc;
}

/* A bank that cannot be reached stays SL_EIO; anything else it sent
 * that does not hold up is SL_EDENIED (a bad answer). */
static int
bad_answer(int rc)
{
	return rc == SL_OK || rc == SL_EIO ? rc : SL_EDENIED;
}

/* The callback's calls to the bank, on an outbound worker. */
struct bank_call {
	struct server *bk_srv;
	struct callback bk_cb; /* cb_code points to bk_code */
	char *bk_code;
	int64_t bk_deadline;
	struct store_person bk_person;
	struct sl_err bk_err;
	int bk_rc;
};

/* Is there time left for another call?  SL_EIO when not. */
static int
budget_left(const struct bank_call *bc, int *budget, struct sl_err *err)
{
	*budget = bank_budget(bc->bk_deadline);
	return *budget > 0 ? SL_OK : sl_fail(err, SL_EIO, "the bank took longer than bank_timeout");
}

/* Code → verified, checked claims → person.  SL_EIO (unreachable),
 * SL_EDENIED (bad answer or token), SL_ENOTFOUND (no national number),
 * SL_EINVAL (bad claims). */
static void
bank_person(void *arg)
{
	struct bank_call *bc = arg;
	struct server *srv = bc->bk_srv;
	const struct callback *cb = &bc->bk_cb;
	const struct sl_bank_conf *b = &srv->sv_conf->c_banks[cb->cb_bank];
	struct proof_expect ex = { b->bk_issuer, b->bk_client_id, cb->cb_flow.pf_nonce, sl_now(),
		srv->sv_conf->c_clock_skew };
	struct proof_claim_names names = { b->bk_claim_rrn, b->bk_claim_given_name, b->bk_claim_family_name,
		b->bk_claim_birthdate };
	struct proof_endpoints ep = { 0 };
	struct sl_err *err = &bc->bk_err;
	char *id_token = NULL, *access = NULL;
	json_t *claims = NULL;
	int t = 0, rc = budget_left(bc, &t, err);

	if (rc == SL_OK && proof_bank_endpoints(srv, cb->cb_bank, t, &ep, err) != SL_OK)
		rc = SL_EIO;
	/* RFC 9207 2.4: a bank that advertises iss always sends it; an answer
	 * without it may come from another issuer (mix-up): not redeemed. */
	if (rc == SL_OK && ep.pe_iss_required && !cb->cb_iss_given)
		rc = sl_fail(err, SL_EDENIED, "the bank advertises RFC 9207 but its answer has no iss");
	if (rc == SL_OK && (rc = budget_left(bc, &t, err)) == SL_OK)
		rc = bad_answer(redeem(srv, cb, &ep, t, &id_token, &access, err));
	if (rc == SL_OK && (rc = budget_left(bc, &t, err)) == SL_OK)
		rc = bad_answer(proof_bank_verify(srv, cb->cb_bank, id_token, t, &claims, err));
	if (rc == SL_OK)
		rc = bad_answer(proof_id_token_check(claims, &ex, err));
	if (rc == SL_OK && (rc = budget_left(bc, &t, err)) == SL_OK)
		rc = bad_answer(userinfo_merge(srv, cb->cb_bank, &ep, access, t, claims, err));
	if (rc == SL_OK && (rc = proof_claims_map(&names, claims, &bc->bk_person, err)) != SL_OK)
		rc = rc == SL_ENOTFOUND ? SL_ENOTFOUND : SL_EINVAL;
	if (rc != SL_OK)
		log_info("bank %s: proofing failed: %s", b->bk_id, err->msg);
	json_decref(claims);
	free(id_token);
	free(access);
	proof_endpoints_clear(&ep);
	bc->bk_rc = rc;
}

static void
bank_call_free(void *arg)
{
	struct bank_call *bc = arg;

	store_person_clear(&bc->bk_person);
	free(bc->bk_code);
	free(bc);
}

static void
bank_refused(struct server *srv, struct http_request *rq, const struct callback *cb)
{
	const char *bank = srv->sv_conf->c_banks[cb->cb_bank].bk_id;
	bool cancelled = strcmp(cb->cb_error, "access_denied") == 0;

	proof_audit(srv, rq, "bank", cancelled ? "access_denied" : "bank_error", cb->cb_error);
	fail(srv, rq, 403, cb->cb_lang, cb->cb_id, bank,
		cancelled ? N_("Your bank did not confirm your identity") : N_("Your bank reported an error"),
		cancelled ? N_("You cancelled at your bank, or your bank refused. You can try again, or go back "
			       "to the sleutel app and choose another way.")
			  : N_("You can try again, or go back to the sleutel app and choose another way."),
		cancelled ? "access_denied" : "bank_error");
}

/* The bank's answer, back on an event loop: the person's page. */
static void
callback_finish(struct server *srv, struct http_request *rq, struct bank_call *bc, enum outbound_state st)
{
	const struct callback *cb = &bc->bk_cb;
	const char *bank = srv->sv_conf->c_banks[cb->cb_bank].bk_id;
	struct store_person *p = &bc->bk_person;
	struct store_enrollment e = { 0 };
	char method[CONFIG_BANK_ID_MAX + 8], code[PROOF_CODE_SHOWN + 1];
	int rc = bc->bk_rc;

	if (st != OUTBOUND_DONE) {
		bank_no_answer(srv, rq, st == OUTBOUND_TIMEOUT, cb->cb_lang, cb->cb_id, bank);
		return;
	}
	if (rc != SL_OK)
		proof_audit(srv, rq, "bank", "failed", bc->bk_err.msg);
	snprintf(method, sizeof(method), "bank:%s", bank);
	if (rc == SL_OK)
		rc = proof_complete(srv, cb->cb_id, p, method, NULL, code, &e);
	if (rc == SL_OK) {
		proof_audit(srv, rq, method, "ok", NULL);
		proof_done_page(srv, rq, cb->cb_lang, p, &e, code);
	} else if (rc == SL_EIO) {
		fail(srv, rq, 502, cb->cb_lang, cb->cb_id, bank, N_("Your bank cannot be reached"),
			N_("The connection to your bank failed. Try again in a few minutes, or go back to the "
			   "sleutel app and choose another way."),
			"bank_unreachable");
	} else if (rc == SL_ENOTFOUND) {
		fail(srv, rq, 403, cb->cb_lang, cb->cb_id, bank,
			N_("Your bank did not give your national register number"),
			N_("Without it your identity cannot be confirmed. Go back to the sleutel app and choose "
			   "another "
			   "way, such as your eID card."),
			"missing_rrn");
	} else if (rc == SL_EINVAL) {
		fail(srv, rq, 403, cb->cb_lang, cb->cb_id, bank, N_("Your bank's details about you are not valid"),
			N_("Go back to the sleutel app and choose another way, such as your eID card."),
			"invalid_claims");
	} else if (rc == SL_EDENIED) {
		fail(srv, rq, 502, cb->cb_lang, cb->cb_id, bank, N_("Your bank's answer could not be verified"),
			N_("You can try again, or go back to the sleutel app and choose another way."),
			"invalid_id_token");
	} else {
		proof_enrollment_page(srv, rq, cb->cb_lang, rc);
	}
	OPENSSL_cleanse(code, sizeof(code));
	store_enrollment_clear(&e);
}

/* Queue the calls to the bank; the handler runs again with their result. */
static void
callback_call(struct server *srv, struct http_request *rq, const struct callback *cb)
{
	const char *bank = srv->sv_conf->c_banks[cb->cb_bank].bk_id;
	struct bank_call *bc = calloc(1, sizeof(*bc));

	if (bc == NULL || (bc->bk_code = strdup(cb->cb_code)) == NULL) {
		free(bc);
		proof_enrollment_page(srv, rq, cb->cb_lang, SL_ENOMEM);
		return;
	}
	bc->bk_srv = srv;
	bc->bk_cb = *cb;
	bc->bk_cb.cb_code = bc->bk_code;
	bc->bk_cb.cb_error = NULL;
	bc->bk_deadline = bank_deadline(srv);
	if (outbound_call(srv->sv_outbound, rq, bc->bk_deadline, bank_person, bank_call_free, bc) != SL_OK)
		bank_no_answer(srv, rq, false, cb->cb_lang, cb->cb_id, bank);
}

void
proofing_bank_callback(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct callback cb = { .cb_code = http_query(rq, "code"), .cb_error = http_query(rq, "error") };
	const char *iss = http_query(rq, "iss"), *bank;
	struct bank_call *bc;
	enum outbound_state st = outbound_result(rq, (void **)&bc);

	if (st == OUTBOUND_WAITING)
		return;
	if (st != OUTBOUND_NONE) {
		callback_finish(srv, rq, bc, st);
		return;
	}
	if (callback_flow(srv, rq, &cb) != SL_OK)
		return;
	bank = srv->sv_conf->c_banks[cb.cb_bank].bk_id;
	/* RFC 9207: an answer naming another issuer is a mix-up attack. */
	if (iss != NULL && strcmp(iss, srv->sv_conf->c_banks[cb.cb_bank].bk_issuer) != 0) {
		proof_audit(srv, rq, "bank", "wrong_issuer", iss);
		fail(srv, rq, 400, cb.cb_lang, cb.cb_id, bank, N_("This answer from the bank is not valid"),
			N_("You can try again, or go back to the sleutel app and choose another way."), "wrong_issuer");
		return;
	}
	if (cb.cb_error != NULL || cb.cb_code == NULL) {
		if (cb.cb_error == NULL)
			cb.cb_error = "no_code";
		bank_refused(srv, rq, &cb);
		return;
	}
	cb.cb_iss_given = iss != NULL;
	callback_call(srv, rq, &cb);
}
