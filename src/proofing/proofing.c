/*
 * proofing.c — the module's frame: start-up, the choices the app shows,
 * the route table, and the steps the bank and the eID share.
 *
 * Every change to an enrolment's proofing state is a read-modify-write
 * of its record (en_proof_state is one JSON value), written back only if
 * nobody changed it meanwhile (store_enrollment_proof_swap, a
 * compare-and-swap in the store), else read and done again: the app
 * asking for choices while a bank's callback lands, on this node or on
 * another, cannot lose either change.  Between the read and the write
 * there is no call to a bank.
 */
#include <stdlib.h>
#include <string.h>

#include "proofing_int.h"
#include "../oidc/oidc.h"
#include "../portal/portal.h"

#define GET (HTTP_GET | HTTP_HEAD)

const struct http_route proofing_routes[] = {
	/* The exact callback before the prefix that would also match it. */
	{ "/proofing/bank/callback", GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, proofing_bank_callback },
	{ "/proofing/bank/", GET | HTTP_POST, HTTP_ORIGIN_PORTAL, true, HTTP_KIND_PAGE, proofing_bank_page },
	{ "/proofing/eid", GET | HTTP_POST, HTTP_ORIGIN_EID, false, HTTP_KIND_PAGE, proofing_eid },
};
const size_t proofing_nroutes = sizeof(proofing_routes) / sizeof(proofing_routes[0]);

void
proof_phone_tail(const char *phone, char *out, size_t len)
{
	size_t n = phone ? strlen(phone) : 0;

	if (n < 4)
		snprintf(out, len, "%s", phone ? phone : "");
	else
		snprintf(out, len, "\xe2\x80\xa6%.2s %.2s", phone + n - 4, phone + n - 2);
}

char *
proof_csrf_token(struct server *srv, struct http_request *rq, const char *enrollment_id)
{
	char id[PROOF_ID_MAX + 8];

	snprintf(id, sizeof(id), "proof:%s", enrollment_id);
	return oidc_csrf_token(srv, rq, id);
}

bool
proof_csrf_ok(struct server *srv, struct http_request *rq, const char *enrollment_id, const char *method, int lang)
{
	char id[PROOF_ID_MAX + 8];

	snprintf(id, sizeof(id), "proof:%s", enrollment_id);
	if (oidc_csrf_ok(srv, rq, id, http_form(rq, "csrf")))
		return true;
	proof_audit(srv, rq, method, "csrf", NULL);
	portal_error(srv, rq, 403, lang, N_("This form has expired"), N_("Open the link from the sleutel app again."));
	return false;
}

int
proofing_init(struct server *srv, struct sl_err *err)
{
	struct proofing *pf = calloc(1, sizeof(*pf));

	if (pf == NULL || proof_cache_new(pf, srv->sv_conf->c_nbanks) != SL_OK) {
		free(pf);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&pf->pf_cache_lock, NULL);
	srv->sv_proofing = pf;
	return SL_OK;
}

void
proofing_free(struct server *srv)
{
	struct proofing *pf = srv->sv_proofing;

	if (pf == NULL)
		return;
	proof_cache_free(pf);
	pthread_mutex_destroy(&pf->pf_cache_lock);
	free(pf);
	srv->sv_proofing = NULL;
}

int
proof_bank_index(struct server *srv, const char *id)
{
	for (int i = 0; id != NULL && i < srv->sv_conf->c_nbanks; i++)
		if (strcmp(srv->sv_conf->c_banks[i].bk_id, id) == 0)
			return i;
	return -1;
}

int
proof_edit(struct server *srv, const char *enrollment_id, proof_edit_fn fn, void *arg, struct store_enrollment *out)
{
	struct store_enrollment e;
	bool again = true;
	int rc = SL_ESTORE;

	memset(&e, 0, sizeof(e));
	for (int attempt = 0; attempt < PROOF_EDIT_TRIES && again; attempt++) {
		bool write = false;
		json_t *state = NULL;

		again = false;
		store_enrollment_clear(&e);
		memset(&e, 0, sizeof(e));
		rc = store_enrollment_get(srv->sv_store, enrollment_id, &e);
		if (rc != SL_OK)
			rc = SL_ENOTFOUND;
		else if (e.en_expires <= sl_now())
			rc = SL_EEXPIRED;
		else if (strcmp(e.en_status, "proofing") != 0)
			rc = SL_ECONFLICT;
		else if ((state = proof_state_load(e.en_proof_state)) == NULL)
			rc = SL_ENOMEM;
		else
			rc = fn(state, &e, arg, &write);
		if (write) {
			/* Written only over the state read; else read again and
			 * redo the edit. */
			char *old = e.en_proof_state;
			int w = (e.en_proof_state = json_dumps(state, JSON_COMPACT)) == NULL
					? SL_ENOMEM
					: store_enrollment_proof_swap(srv->sv_store, &e, old);
			free(old);
			if (w == SL_ECONFLICT)
				again = true;
			else if (w != SL_OK)
				rc = SL_ESTORE;
		}
		json_decref(state);
	}
	if (again)
		rc = SL_ESTORE; /* changed under us every time */
	if (out != NULL)
		*out = e;
	else
		store_enrollment_clear(&e);
	return rc;
}

static int
add_ticket(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	*write = true;
	return proof_state_add_ticket(state, arg, e->en_expires, sl_now());
}

char *
proof_ticket_new(struct server *srv, const char *enrollment_id)
{
	char hash[2 * SL_SHA256_LEN + 1];
	char *t = proof_token_new(enrollment_id, hash);

	if (t != NULL && proof_edit(srv, enrollment_id, add_ticket, hash, NULL) != SL_OK) {
		free(t);
		t = NULL;
	}
	return t;
}

json_t *
proofing_choices(struct server *srv, const char *enrollment_id, int lang)
{
	const struct sl_config *conf = srv->sv_conf;
	char *ticket, url[1024];
	json_t *list;

	if (lang < 0 || lang >= SL_LANG_COUNT)
		lang = 0;
	ticket = proof_ticket_new(srv, enrollment_id);
	list = ticket ? json_array() : NULL;
	for (int i = 0; list != NULL && i < conf->c_nbanks; i++) {
		const struct sl_bank_conf *b = &conf->c_banks[i];
		snprintf(url, sizeof(url), "%s/proofing/bank/%s?t=%s&lang=%s", conf->c_issuer, b->bk_id, ticket,
			config_languages[lang]);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "method", "bank", "id", b->bk_id, "name",
						    b->bk_name, "url", url));
	}
	if (list != NULL && srv->sv_eid_validator != NULL && conf->c_eid.lc_public_url != NULL) {
		snprintf(url, sizeof(url), "%s/proofing/eid?t=%s&lang=%s", conf->c_eid.lc_public_url, ticket,
			config_languages[lang]);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "method", "eid", "name",
						    i18n_gettext(srv->sv_catalogs[lang], N_("eID card")), "url", url));
	}
	free(ticket);
	return list;
}

/* ---- the steps the bank and the eID share ---- */

struct ticket_check {
	const char *tc_hash;
	bool tc_consume;
};

static int
check_ticket(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	struct ticket_check *tc = arg;

	(void)e;
	if (!proof_state_ticket(state, tc->tc_hash, sl_now(), tc->tc_consume))
		return SL_EDENIED;
	*write = tc->tc_consume;
	return SL_OK;
}

int
proof_lang(struct server *srv, struct http_request *rq, const struct store_enrollment *e)
{
	return portal_lang(srv, rq, e != NULL ? e->en_lang : NULL);
}

/* Why an enrolment cannot go on, for the person. */
void
proof_enrollment_page(struct server *srv, struct http_request *rq, int lang, int rc)
{
	switch (rc) {
	case SL_EEXPIRED:
		portal_error(srv, rq, 410, lang, N_("Your registration has expired"),
			N_("Go back to the sleutel app and start the registration again."));
		break;
	case SL_ECONFLICT:
		portal_error(srv, rq, 409, lang, N_("Your identity is already confirmed"),
			N_("Go back to the sleutel app to finish the registration."));
		break;
	case SL_EDENIED:
	case SL_ENOTFOUND:
	case SL_EINVAL:
		portal_error(srv, rq, 404, lang, N_("This link is no longer valid"),
			N_("Go back to the sleutel app and choose again how to confirm your identity."));
		break;
	default:
		portal_error(srv, rq, 500, lang, N_("Something went wrong"),
			N_("Go back to the sleutel app and try again in a few minutes."));
	}
}

int
proof_ticket_check(struct server *srv, struct http_request *rq, const char *ticket, bool consume,
	struct store_enrollment *out, int *lang)
{
	char id[PROOF_ID_MAX], hash[2 * SL_SHA256_LEN + 1];
	struct ticket_check tc = { hash, consume };
	int rc;

	memset(out, 0, sizeof(*out));
	*lang = proof_lang(srv, rq, NULL);
	if (proof_token_parse(ticket, id) != SL_OK || crypto_token_hash(ticket, hash) != SL_OK) {
		proof_enrollment_page(srv, rq, *lang, SL_EINVAL);
		return SL_EINVAL;
	}
	rc = proof_edit(srv, id, check_ticket, &tc, out);
	*lang = proof_lang(srv, rq, out->en_lang ? out : NULL);
	if (rc != SL_OK) {
		proof_enrollment_page(srv, rq, *lang, rc);
		store_enrollment_clear(out);
	}
	return rc;
}

struct complete {
	const struct store_person *cp_person;
	const char *cp_method;
	const char *cp_ticket_hash; /* eID: consumed in the same step; may be NULL */
	const char *cp_code_hash;
};

/* Never marks the enrolment proofed: the person waits for the code typed
 * in the app that started this enrolment (the browser may be anyone's). */
static int
mark_pending(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	struct complete *cp = arg;
	int64_t expires = sl_now() + PROOF_CODE_LIFETIME;
	char *person;
	int rc;

	if (cp->cp_ticket_hash != NULL && !proof_state_ticket(state, cp->cp_ticket_hash, sl_now(), true))
		return SL_EDENIED;
	if ((person = proof_person_json(cp->cp_person)) == NULL)
		return SL_ENOMEM;
	if (expires > e->en_expires)
		expires = e->en_expires;
	rc = proof_state_set_pending(state, person, cp->cp_method, cp->cp_code_hash, expires);
	free(person);
	json_object_del(state, "flow");
	*write = true;
	return rc;
}

static void
notify_enrollment(struct server *srv, const char *enrollment_id)
{
	char key[PROOF_ID_MAX + 16];

	snprintf(key, sizeof(key), "enroll:%s", enrollment_id);
	server_wake(srv, key);
}

int
proof_complete(struct server *srv, const char *enrollment_id, const struct store_person *person, const char *method,
	const char *ticket_hash, char code[PROOF_CODE_SHOWN + 1], struct store_enrollment *e)
{
	char norm[PROOF_CODE_LEN + 1], hash[2 * SL_SHA256_LEN + 1];
	struct complete cp = { person, method, ticket_hash, hash };
	int rc;

	memset(e, 0, sizeof(*e));
	if (proof_code_new(code) != SL_OK || proof_code_normalize(code, norm) != SL_OK ||
		crypto_token_hash(norm, hash) != SL_OK)
		return SL_ECRYPTO;
	rc = proof_edit(srv, enrollment_id, mark_pending, &cp, e);
	if (rc == SL_OK)
		notify_enrollment(srv, enrollment_id);
	return rc;
}

bool
proofing_pending(const struct store_enrollment *e, int64_t now, struct proofing_pending *out)
{
	json_t *state;
	int64_t expires = 0;
	int left = 0;
	bool waiting;

	if (e->en_status == NULL || strcmp(e->en_status, "proofing") != 0 || e->en_expires <= now)
		return false;
	state = proof_state_load(e->en_proof_state);
	waiting = state != NULL && proof_state_pending(state, now, &expires, &left);
	json_decref(state);
	if (waiting && out != NULL) {
		out->pp_expires_in = expires - now;
		out->pp_tries_left = left;
	}
	return waiting;
}

struct redeem {
	const char *rd_hash;
	int *rd_tries_left;
};

static int
redeem_code(json_t *state, struct store_enrollment *e, void *arg, bool *write)
{
	struct redeem *r = arg;
	struct proof_redeemed got;
	char *status;
	int rc = proof_state_redeem(state, r->rd_hash, sl_now(), &got);

	*write = rc != SL_ENOTFOUND; /* a wrong try is charged, an expired proof dropped */
	*r->rd_tries_left = got.rd_tries_left;
	if (rc != SL_OK)
		return rc;
	if ((status = strdup("proofed")) == NULL) {
		proof_redeemed_clear(&got);
		return SL_ENOMEM;
	}
	free(e->en_person);
	free(e->en_proof_method);
	free(e->en_status);
	e->en_person = got.rd_person;
	e->en_proof_method = got.rd_method;
	e->en_status = status;
	/* Nothing in flight any more: every ticket and flow ends here. */
	json_object_clear(state);
	return SL_OK;
}

int
proofing_redeem(struct server *srv, const char *enrollment_id, const char *code, int *tries_left)
{
	char norm[PROOF_CODE_LEN + 1], hash[2 * SL_SHA256_LEN + 1];
	struct redeem r = { hash, tries_left };
	int rc;

	*tries_left = 0;
	if (proof_code_normalize(code, norm) != SL_OK)
		return SL_EINVAL;
	if (crypto_token_hash(norm, hash) != SL_OK)
		return SL_ECRYPTO;
	rc = proof_edit(srv, enrollment_id, redeem_code, &r, NULL);
	if (rc == SL_OK)
		notify_enrollment(srv, enrollment_id);
	return rc;
}

void
proof_audit(struct server *srv, struct http_request *rq, const char *method, const char *result, const char *detail)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "proofing",
		.au_result = result,
		.au_key = method,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}

void
proof_done_page(struct server *srv, struct http_request *rq, int lang, const struct store_person *p,
	const struct store_enrollment *e, const char *code)
{
	char name[2 * PROOF_NAME_MAX + 2], phone[32], minutes[16];
	struct tmpl_var v[4];

	snprintf(name, sizeof(name), "%s %s", p->p_given_name, p->p_family_name);
	proof_phone_tail(e->en_phone, phone, sizeof(phone));
	snprintf(minutes, sizeof(minutes), "%d", PROOF_CODE_LIFETIME / 60);
	v[0] = (struct tmpl_var){ "name", name };
	v[1] = (struct tmpl_var){ "phone", phone };
	v[2] = (struct tmpl_var){ "code", code };
	v[3] = (struct tmpl_var){ "minutes", minutes };
	portal_page(srv, rq, 200, lang, N_("Type this code in the sleutel app"), "proofing_done", v, 4);
}

void
proof_fail_page(struct server *srv, struct http_request *rq, const struct proof_failure *f)
{
	const struct i18n_catalog *cat = srv->sv_catalogs[f->fl_lang];
	char *ticket = NULL, retry[1024] = "";
	struct tmpl_var v[4];

	/* A fresh ticket, so that "try again" works without the app. */
	if (f->fl_enrollment_id != NULL && f->fl_bank != NULL)
		ticket = proof_ticket_new(srv, f->fl_enrollment_id);
	if (ticket != NULL)
		snprintf(retry, sizeof(retry), "/proofing/bank/%s?t=%s&lang=%s", f->fl_bank, ticket,
			config_languages[f->fl_lang]);
	free(ticket);
	v[0] = (struct tmpl_var){ "heading", i18n_gettext(cat, f->fl_heading) };
	v[1] = (struct tmpl_var){ "detail", i18n_gettext(cat, f->fl_detail) };
	v[2] = (struct tmpl_var){ "retry", retry };
	v[3] = (struct tmpl_var){ "code", f->fl_code };
	portal_page(srv, rq, f->fl_status, f->fl_lang, f->fl_heading, "proofing_error", v, 4);
}
