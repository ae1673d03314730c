/*
 * request.c — making a request for the phone: a portal login, a CIBA
 * request or a payment to confirm (DESIGN §1 "App login", §4).
 *
 * A request is made in this order, and each step can refuse:
 *   1. the number is normalised to E.164 (the same as at enrolment);
 *   2. rate limits per number, client address and RP (in the store, shared
 *      by every node: store_rate_hit; the keys in ratelimit.c), before
 *      the account is looked up, so asking about numbers costs the same
 *      whether they have an account or not;
 *   3. the account: blocked by an operator, or locked by the lockout
 *      schedule, gets no request at all;
 *   4. at most [app] max_pending open requests per account (counted by
 *      the insert itself, step 6);
 *   5. three distinct 4-digit codes from the CSPRNG in random order (one of
 *      them the browser's), a server nonce, the display text (display.c);
 *   6. stored with its audit line in one durable commit, the account's
 *      long-polling devices woken, the push webhook called off the
 *      request thread.
 * Nothing here holds a secret: codes are compared by people, and the nonce
 * only binds the confirmation to this request.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "request_int.h"
#include "../../httpc/httpc.h"
#include "../../outbound/outbound.h"

#define GET (HTTP_GET | HTTP_HEAD)
#define P HTTP_ORIGIN_PORTAL
const struct http_route app_login_routes[] = {
	{ "/key/app", GET, P, false, HTTP_KIND_PAGE, applogin_page },
	{ "/key/app/login", HTTP_POST, P, false, HTTP_KIND_PAGE, applogin_submit },
	{ "/key/app/wait", GET, P, false, HTTP_KIND_PAGE, applogin_wait },
	{ "/key/app/poll", GET, P, false, HTTP_KIND_API, applogin_poll },
	{ "/key/app/extend", HTTP_POST, P, false, HTTP_KIND_PAGE, applogin_extend },
	{ "/key/app/qr", GET, P, false, HTTP_KIND_API, applogin_qr },
	{ "/key/app/hint", GET, P, false, HTTP_KIND_PAGE, applogin_hint },
	{ "/device/v1/scan", HTTP_POST, P, false, HTTP_KIND_API, appscan_post },
};
const size_t app_login_nroutes = sizeof(app_login_routes) / sizeof(app_login_routes[0]);

int
app_background(struct server *srv, void (*fn)(void *), void (*free_fn)(void *), void *arg)
{
	return outbound_post(srv->sv_outbound, fn, free_fn, arg);
}

/* ---- push: wake the account's phones through the webhook ---- */

struct push_job {
	char *pj_url;
	int pj_timeout; /* [app] push_timeout */
	size_t pj_n;
	char *pj_devices[APP_PUSH_MAX_DEVICES];
};

static void
push_run(void *p)
{
	struct push_job *pj = p;

	for (size_t i = 0; i < pj->pj_n; i++) {
		json_t *o = json_pack("{s:s,s:s}", "event", "request", "device_id", pj->pj_devices[i]);
		char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		struct httpc_request hr = { .hr_method = "POST",
			.hr_url = pj->pj_url,
			.hr_content_type = "application/json",
			.hr_body = body,
			.hr_timeout = pj->pj_timeout };
		struct httpc_response res = { 0 };
		struct sl_err err;

		if (body != NULL && httpc_do(&hr, &res, &err) != SL_OK)
			log_warn("push webhook: %s", err.msg);
		else if (body != NULL && (res.hs_status < 200 || res.hs_status > 299))
			log_warn("push webhook answered %ld", res.hs_status);
		httpc_response_clear(&res);
		free(body);
		json_decref(o);
	}
}

static void
push_free(void *p)
{
	struct push_job *pj = p;

	for (size_t i = 0; i < pj->pj_n; i++)
		free(pj->pj_devices[i]);
	free(pj->pj_url);
	free(pj);
}

static int
push_collect(const struct store_device *d, void *arg)
{
	struct push_job *pj = arg;

	if (strcmp(d->dv_status, "active") == 0 && pj->pj_n < APP_PUSH_MAX_DEVICES)
		pj->pj_devices[pj->pj_n++] = strdup(d->dv_id);
	return SL_OK;
}

static void
push_wake(struct server *srv, const char *account_id)
{
	struct push_job *pj;

	if (sl_str_empty(srv->sv_conf->c_app_push_url) || (pj = calloc(1, sizeof(*pj))) == NULL)
		return;
	pj->pj_url = strdup(srv->sv_conf->c_app_push_url);
	pj->pj_timeout = srv->sv_conf->c_app_push_timeout;
	store_device_each(srv->sv_store, account_id, push_collect, pj);
	if (pj->pj_n == 0 || pj->pj_url == NULL || app_background(srv, push_run, push_free, pj) != SL_OK) {
		if (pj->pj_n > 0)
			log_warn("push webhook skipped: the outbound queue is full");
		push_free(pj);
	}
}

/* ---- the request ---- */

static struct store_audit
audit_row(const struct app_request_spec *spec, const char *person, const char *result)
{
	return (struct store_audit){ .au_event = "app.request",
		.au_result = result,
		.au_person_id = person,
		.au_client_id = spec->as_client->cl_id,
		.au_key = APP_KEY_NAME,
		.au_ip = spec->as_ip,
		.au_detail = spec->as_action };
}

static void
audit(struct server *srv, const struct app_request_spec *spec, const char *person, const char *result)
{
	struct store_audit au = audit_row(spec, person, result);

	store_audit_add(srv->sv_store, &au);
}

int
app_rate_enrol(struct server *srv, const char *phone, const char *ip)
{
	const struct sl_config *c = srv->sv_conf;
	char kp[APP_RL_KEY_MAX], ki[APP_RL_KEY_MAX], addr[INET6_ADDRSTRLEN + 8];
	struct store_rate_check ck[2];
	size_t which = 0;

	app_rate_ip_key(ip, addr, sizeof(addr));
	snprintf(kp, sizeof(kp), "ep:%.200s", phone);
	snprintf(ki, sizeof(ki), "ei:%s", addr);
	ck[0] = (struct store_rate_check){ kp, c->c_app_rate_phone };
	ck[1] = (struct store_rate_check){ ki, c->c_app_rate_ip };
	return store_rate_hit(srv->sv_store, ck, 2, c->c_app_rate_window, sl_now(), &which);
}

/* [app] sms_wrong_*: a number's wrong activation codes across its
 * enrolments (failures.c in the store), so that starting again does not
 * give a guesser a new budget. */
static struct store_fail_limits
sms_wrong_limits(const struct sl_config *c)
{
	return (struct store_fail_limits){ c->c_app_sms_wrong_per_window, c->c_app_sms_wrong_max,
		c->c_app_sms_wrong_window };
}

int
app_sms_wrong_charge(struct server *srv, const char *phone)
{
	struct store_fail_limits l = sms_wrong_limits(srv->sv_conf);

	return store_phone_fail_charge(srv->sv_store, &l, phone, sl_now());
}

int
app_sms_wrong_spent(struct server *srv, const char *phone)
{
	struct store_fail_limits l = sms_wrong_limits(srv->sv_conf);

	return store_phone_fail_spent(srv->sv_store, &l, phone, sl_now());
}

int
app_rate_count(struct server *srv, const char *key, int limit)
{
	struct store_rate_check ck = { key, limit };
	size_t which = 0;

	return store_rate_hit(srv->sv_store, &ck, 1, srv->sv_conf->c_app_rate_window, sl_now(), &which);
}

int
app_rate_request(struct server *srv, const char *subject, const char *what, const char *client_id, const char *ip,
	struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	char kp[APP_RL_KEY_MAX], ki[APP_RL_KEY_MAX], kr[APP_RL_KEY_MAX], addr[INET6_ADDRSTRLEN + 8];
	struct store_rate_check ck[3];
	const char *const whats[3] = { what, "this site", "this address" };
	size_t which = 0;
	int rc;

	snprintf(kp, sizeof(kp), "p:%.250s", subject);
	snprintf(kr, sizeof(kr), "r:%.250s", client_id);
	ck[0] = (struct store_rate_check){ kp, c->c_app_rate_phone };
	ck[1] = (struct store_rate_check){ kr, c->c_app_rate_rp };
	/* NULL: an RP's server authenticated as a client (CIBA) calls, not a
	 * person's browser: its own limit counts, not the address's. */
	if (ip != NULL) {
		app_rate_ip_key(ip, addr, sizeof(addr));
		snprintf(ki, sizeof(ki), "i:%s", addr);
		ck[2] = (struct store_rate_check){ ki, c->c_app_rate_ip };
	}
	rc = store_rate_hit(srv->sv_store, ck, ip != NULL ? 3 : 2, c->c_app_rate_window, sl_now(), &which);
	if (rc == SL_ETOOBIG)
		return sl_fail(err, SL_ETOOBIG, "too many requests for %s; try again in %d minutes", whats[which],
			(c->c_app_rate_window + 59) / 60);
	if (rc != SL_OK)
		return sl_fail(err, SL_ETOOBIG, "too many requests right now; try again later");
	return SL_OK;
}

static int
limits(struct server *srv, const struct app_request_spec *spec, const char *phone, struct sl_err *err)
{
	bool ciba = strcmp(spec->as_link_kind, "ciba") == 0;

	return app_rate_request(
		srv, phone, "this phone number", spec->as_client->cl_id, ciba ? NULL : spec->as_ip, err);
}

/* Three distinct codes in random order; the browser's is at a random
 * place.  `n` is 1 for a scanned QR code. */
static int
make_codes(int n, char codes[APP_NCODES][APP_CODE_LEN + 1], json_t **arr)
{
	uint32_t v;

	for (int i = 0; i < n; i++) {
		bool again;
		do {
			if (sl_random_uniform(10000, &v) != SL_OK)
				return SL_ECRYPTO;
			snprintf(codes[i], APP_CODE_LEN + 1, "%04u", v);
			again = false;
			for (int k = 0; k < i; k++)
				again = again || strcmp(codes[k], codes[i]) == 0;
		} while (again);
	}
	/* codes[0] is the browser's; the app sees them shuffled (Fisher-Yates). */
	*arr = json_array();
	{
		int order[APP_NCODES] = { 0, 1, 2 };
		for (int i = n - 1; i > 0; i--) {
			uint32_t j;
			int t;
			if (sl_random_uniform((uint32_t)i + 1, &j) != SL_OK)
				return SL_ECRYPTO;
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < n; i++)
			json_array_append_new(*arr, json_string(codes[order[i]]));
	}
	return SL_OK;
}

/* Fill and store the record (account may be the decoy's), with its audit
 * row `au` in the same commit when given.  SL_EBUSY when the account has
 * [app] max_pending requests pending (nothing stored). */
static int
store_request(struct server *srv, const char *account_id, const struct app_request_spec *spec, int ncodes,
	const char *display, const struct store_audit *au, struct app_request_made *out)
{
	char codes[APP_NCODES][APP_CODE_LEN + 1];
	struct store_apprq r;
	json_t *arr = NULL;
	char *id = sl_random_name(16), *nonce = sl_random_id(16), *codes_json = NULL;
	int64_t now = sl_now();
	int lifetime = spec->as_lifetime > 0 ? spec->as_lifetime : srv->sv_conf->c_app_request_lifetime;
	int rc = SL_ECRYPTO;

	if (id == NULL || nonce == NULL || make_codes(ncodes, codes, &arr) != SL_OK ||
		(codes_json = json_dumps(arr, JSON_COMPACT)) == NULL)
		goto out;
	memset(&r, 0, sizeof(r));
	r.aq_id = id;
	r.aq_account_id = (char *)account_id;
	r.aq_client_id = spec->as_client->cl_id;
	r.aq_rp_name = spec->as_client->cl_name;
	r.aq_action = (char *)spec->as_action;
	r.aq_display_text = (char *)display;
	r.aq_authz_details = (char *)spec->as_authz_details;
	r.aq_codes = codes_json;
	r.aq_code = codes[0];
	r.aq_nonce = nonce;
	r.aq_link_kind = (char *)spec->as_link_kind;
	r.aq_link_id = (char *)spec->as_link_id;
	r.aq_ip = (char *)spec->as_ip;
	r.aq_context = (char *)spec->as_context;
	r.aq_status = (char *)"pending";
	r.aq_created = now;
	r.aq_expires = now + lifetime;
	if (au != NULL && spec->as_ciba != NULL)
		rc = store_apprq_put_ciba(srv->sv_store, &r, srv->sv_conf->c_app_max_pending, au, spec->as_ciba);
	else if (au != NULL)
		rc = store_apprq_put_audited(srv->sv_store, &r, srv->sv_conf->c_app_max_pending, au);
	else
		rc = store_apprq_put_bounded(srv->sv_store, &r, srv->sv_conf->c_app_max_pending);
	if (rc == SL_OK) {
		sl_strlcpy(out->am_id, id, sizeof(out->am_id));
		sl_strlcpy(out->am_code, codes[0], sizeof(out->am_code));
		out->am_expires = r.aq_expires;
	}
out:
	json_decref(arr);
	free(id);
	free(nonce);
	free(codes_json);
	return rc;
}

static int
check_spec(const struct app_request_spec *spec, struct oidc_payment *pay, struct sl_err *err)
{
	if (spec->as_client == NULL || spec->as_action == NULL || spec->as_link_kind == NULL ||
		spec->as_link_id == NULL)
		return sl_fail(err, SL_EINVAL, "incomplete request");
	if (strcmp(spec->as_link_kind, "authreq") != 0 && strcmp(spec->as_link_kind, "ciba") != 0)
		return sl_fail(err, SL_EINVAL, "unknown link kind");
	if (strcmp(spec->as_action, "payment") == 0) {
		if (oidc_authz_details_parse(spec->as_authz_details, pay, err) != SL_OK)
			return SL_EINVAL;
	} else if (strcmp(spec->as_action, "login") != 0 || spec->as_authz_details != NULL) {
		return sl_fail(err, SL_EINVAL, "the action must be login, or payment with authorization_details");
	}
	if (!sl_str_empty(spec->as_binding_message) && !app_binding_ok(spec->as_binding_message))
		return sl_fail(
			err, SL_EINVAL, "the binding message must be 1 to %d readable characters", APP_BINDING_MAX);
	return SL_OK;
}

/* Blocked or locked; the bound on pending requests is the insert's own
 * (store_apprq_put_audited counts and inserts in one statement). */
static int
account_usable(const struct store_account *ac, const char **why, struct sl_err *err)
{
	int64_t now = sl_now();

	*why = strcmp(ac->ac_status, "active") != 0 ? "refused_blocked" : "refused_locked";
	if (strcmp(ac->ac_status, "active") != 0)
		return sl_fail(err, SL_EDENIED, "this sleutel app account is blocked");
	if (ac->ac_locked_until == STORE_LOCKED_FOREVER)
		return sl_fail(err, SL_EDENIED, "this sleutel app account is locked after too many wrong codes");
	if (ac->ac_locked_until > now)
		return sl_fail(err, SL_EDENIED, "this sleutel app account is locked for %lld more minutes",
			(long long)((ac->ac_locked_until - now + 59) / 60));
	return SL_OK;
}

/* A request for a number without a usable account: stored like a real
 * one for an account nobody has ("-" and the number), so that the browser's
 * page looks the same and nobody answers it, with the audit row of what
 * happened (`result`) in the same durable commit, so that it costs what a
 * real request costs. */
static int
decoy(struct server *srv, const struct app_request_spec *spec, const char *person, const char *result,
	struct app_request_made *out)
{
	char phone[APP_PHONE_MAX], account[APP_PHONE_MAX + 8];
	struct store_audit au = audit_row(spec, person, result);
	int rc;

	memset(out, 0, sizeof(*out));
	if (app_phone_normalize(spec->as_phone, srv->sv_conf->c_app_default_country, phone) != SL_OK)
		return SL_EINVAL;
	snprintf(account, sizeof(account), APP_DECOY_PREFIX "%s", phone);
	/* The same bound as a real account's (SL_EBUSY): "too many waiting"
	 * must not tell a number with an account from one without. */
	rc = store_request(srv, account, spec, APP_NCODES, "", &au, out);
	if (rc == SL_EBUSY)
		store_audit_add(srv->sv_store, &au); /* not stored, still audited */
	return rc;
}

int
app_request_for_account(struct server *srv, const struct store_account *ac, const struct app_request_spec *spec,
	int ncodes, struct app_request_made *out, struct sl_err *err)
{
	struct oidc_payment pay;
	struct store_audit ok;
	char display[APP_DISPLAY_MAX + 1], wkey[128];
	const char *why = "refused";
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_spec(spec, &pay, err) != SL_OK)
		return SL_EINVAL;
	if (ncodes < 1 || ncodes > APP_NCODES)
		return sl_fail(err, SL_EINVAL, "bad number of codes");
	rc = limits(srv, spec, ac->ac_phone, err);
	if (rc == SL_OK)
		rc = account_usable(ac, &why, err);
	if (rc == SL_EDENIED && spec->as_decoy)
		return decoy(srv, spec, ac->ac_person_id, "refused", out);
	if (rc != SL_OK) {
		/* Why an account is refused goes to the audit only: a CIBA RP
		 * is told access_denied (ciba.c), not that it is locked. */
		audit(srv, spec, ac->ac_person_id,
			rc == SL_ETOOBIG ? "rate_limited"
			: rc == SL_EBUSY ? "too_many_pending"
					 : why);
		return rc;
	}
	rc = app_display_text(spec->as_lang, spec->as_action, spec->as_client->cl_name,
		strcmp(spec->as_action, "payment") == 0 ? &pay : NULL, spec->as_binding_message, display,
		sizeof(display));
	if (rc != SL_OK)
		return sl_fail(err, rc, "the text to show is too long");
	/* Stored and audited in one durable commit. */
	ok = audit_row(spec, ac->ac_person_id, "ok");
	rc = store_request(srv, ac->ac_id, spec, ncodes, display, &ok, out);
	if (rc == SL_EBUSY) {
		audit(srv, spec, ac->ac_person_id, "too_many_pending");
		return sl_fail(err, SL_EBUSY, "too many requests are waiting on this phone");
	}
	if (rc != SL_OK)
		return sl_fail(err, SL_ESTORE, "the request could not be stored");
	app_account_wait_key(ac->ac_id, wkey, sizeof(wkey));
	server_wake(srv, wkey);
	push_wake(srv, ac->ac_id);
	return SL_OK;
}

int
app_request_create(
	struct server *srv, const struct app_request_spec *spec, struct app_request_made *out, struct sl_err *err)
{
	struct store_account ac;
	char phone[APP_PHONE_MAX];
	int rc;

	memset(out, 0, sizeof(*out));
	if (spec->as_phone == NULL ||
		app_phone_normalize(spec->as_phone, srv->sv_conf->c_app_default_country, phone) != SL_OK)
		return sl_fail(err, SL_EINVAL, "this is not a phone number");
	if (spec->as_client == NULL || spec->as_link_kind == NULL)
		return sl_fail(err, SL_EINVAL, "incomplete request");
	memset(&ac, 0, sizeof(ac));
	if (store_account_by_phone(srv->sv_store, phone, &ac) != SL_OK) {
		/* Counted like a real request, so trying numbers is limited. */
		rc = limits(srv, spec, phone, err);
		if (rc == SL_OK && spec->as_decoy)
			return decoy(srv, spec, NULL, "unknown_phone", out);
		if (rc == SL_OK)
			rc = sl_fail(err, SL_ENOTFOUND, "no sleutel app account for this number");
		audit(srv, spec, NULL, rc == SL_ETOOBIG ? "rate_limited" : "unknown_phone");
		return rc;
	}
	/* CIBA has no browser to show a code: the binding message the RP
	 * shows is compared instead, and the app shows one code. */
	rc = app_request_for_account(
		srv, &ac, spec, strcmp(spec->as_link_kind, "ciba") == 0 ? 1 : APP_NCODES, out, err);
	store_account_clear(&ac);
	return rc;
}
