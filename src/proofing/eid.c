/*
 * eid.c — proofing with the eID card, on the eID origin (the one that
 * asks the browser for a client certificate).
 *
 * The app's link {eid public_url}/proofing/eid?t=<ticket> is opened on a
 * computer with a card reader (or a phone with an NFC reader and the eID
 * middleware).  It shows whose phone is being linked and asks to go on
 * (a form with a CSRF token: a card is an ambient credential, so a link
 * or a page elsewhere must not be able to proof an attacker's enrolment
 * with it unseen).  On that POST the card's authentication certificate is validated
 * exactly as for an eID login (the same validator: path, validity, key
 * usage, revocation), the identity comes from its subject, and the
 * enrolment becomes "proofed" with method "eid".  The ticket is spent
 * only then, in the same step, so a refused card (wrong certificate
 * chosen, reader unplugged) can simply be tried again with the same link.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proofing_int.h"
#include "../keys/eid/eid.h"
#include "../outbound/outbound.h"
#include "../portal/portal.h"

/* What the person reads for a refused card. */
static const char *
refusal_detail(enum eid_verdict v)
{
	switch (v) {
	case EID_NO_CERT:
		return N_("Your browser did not offer the certificate of your eID card, or you cancelled the "
			  "choice.");
	case EID_EXPIRED:
		return N_("The certificate on your card is no longer valid. Renew your card at your municipality.");
	case EID_REVOKED: return N_("The certificate on your card was revoked. Contact your municipality.");
	case EID_WRONG_USAGE:
		return N_("When your browser asks, choose the certificate whose name ends in (Authentication).");
	case EID_STATUS_UNAVAILABLE:
		return N_("Whether your card is still valid cannot be checked at the moment. Try again in a few "
			  "minutes.");
	default: return N_("Only Belgian eID cards are accepted. Choose the certificate of your eID card.");
	}
}

static void
accept_card(struct server *srv, struct http_request *rq, int lang, const struct store_enrollment *e, const char *ticket,
	const struct eid_result *res)
{
	char hash[2 * SL_SHA256_LEN + 1], code[PROOF_CODE_SHOWN + 1] = "";
	struct store_enrollment now = { 0 };
	struct store_person p;
	int rc;

	eid_person_from_identity(&res->er_identity, &p);
	if (p.p_rrn == NULL || p.p_given_name == NULL || p.p_family_name == NULL)
		rc = SL_ENOMEM;
	else if ((rc = crypto_token_hash(ticket, hash)) == SL_OK)
		rc = proof_complete(srv, e->en_id, &p, "eid", hash, code, &now);
	if (rc == SL_OK) {
		proof_audit(srv, rq, "eid", res->er_fail_open ? "ok_fail_open" : "ok",
			res->er_fail_open ? res->er_detail : NULL);
		proof_done_page(srv, rq, lang, &p, &now, code);
	} else {
		proof_enrollment_page(srv, rq, lang, rc);
	}
	OPENSSL_cleanse(code, sizeof(code));
	store_enrollment_clear(&now);
	store_person_clear(&p);
}

/* GET: the warning page, which does not spend the ticket. */
static void
warning_page(
	struct server *srv, struct http_request *rq, int lang, const struct store_enrollment *e, const char *ticket)
{
	char phone[32], *csrf = proof_csrf_token(srv, rq, e->en_id);
	struct tmpl_var v[4] = { { "phone", phone }, { "t", ticket }, { "csrf", csrf ? csrf : "" },
		{ "langcode", config_languages[lang] } };

	proof_phone_tail(e->en_phone, phone, sizeof(phone));
	portal_page(srv, rq, 200, lang, N_("Confirm your identity with your eID card"), "proofing_eid", v, 4);
	free(csrf);
}

/* The card's verdict, back on an event loop.  A validation that found no
 * worker in time is "cannot be checked at the moment": 503 (queue full,
 * stopping) or 504 (no answer in time). */
static void
card_verdict(struct server *srv, struct http_request *rq, int lang, const struct store_enrollment *e,
	const char *ticket, int st, const struct eid_result *res)
{
	enum eid_verdict v = st == OUTBOUND_DONE ? res->er_verdict : EID_STATUS_UNAVAILABLE;
	struct proof_failure f = { st == OUTBOUND_DONE      ? 403
				   : st == OUTBOUND_TIMEOUT ? 504
							    : 503,
		lang, NULL, NULL, N_("Your eID card was not accepted"), refusal_detail(v), eid_verdict_name(v) };

	if (v == EID_OK) {
		accept_card(srv, rq, lang, e, ticket, res);
		return;
	}
	if (st != OUTBOUND_DONE && st != OUTBOUND_TIMEOUT)
		http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
	proof_audit(
		srv, rq, "eid", eid_verdict_name(v), st == OUTBOUND_DONE ? res->er_detail : eid_check_unavailable(st));
	proof_fail_page(srv, rq, &f);
}

void
proofing_eid(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *ticket = http_param(rq, "t");
	struct eid_chain ch;
	struct store_enrollment e;
	const struct eid_result *res;
	struct eid_result cached;
	int lang, rc, st = eid_check_result(rq, &res);

	if (st == OUTBOUND_WAITING)
		return;
	if (srv->sv_eid_validator == NULL) {
		portal_error(srv, rq, 404, proof_lang(srv, rq, NULL), N_("The eID card is not available here"),
			N_("Go back to the sleutel app and choose another way."));
		return;
	}
	if (proof_ticket_check(srv, rq, ticket, false, &e, &lang) != SL_OK)
		return;
	if (st != OUTBOUND_NONE) {
		card_verdict(srv, rq, lang, &e, ticket, st, res);
		store_enrollment_clear(&e);
		return;
	}
	if (http_method(rq) != HTTP_POST) {
		warning_page(srv, rq, lang, &e, ticket);
		store_enrollment_clear(&e);
		return;
	}
	if (!proof_csrf_ok(srv, rq, e.en_id, "eid", lang)) {
		store_enrollment_clear(&e);
		return;
	}
	/* From the TLS handshake, or from a trusted proxy's header. */
	if (eid_request_chain(srv, rq, &ch) != SL_OK) {
		struct proof_failure f = { 400, lang, NULL, NULL, N_("Your eID card was not accepted"),
			refusal_detail(EID_MALFORMED), eid_verdict_name(EID_MALFORMED) };
		proof_audit(srv, rq, "eid", eid_verdict_name(EID_MALFORMED), "unusable client-certificate header");
		proof_fail_page(srv, rq, &f);
	} else if ((rc = eid_check_suspend(srv->sv_eid_validator, srv->sv_outbound, rq, &ch,
			    srv->sv_conf->c_eid_timeout, &cached)) == EID_CHECK_CACHED) {
		card_verdict(srv, rq, lang, &e, ticket, OUTBOUND_DONE, &cached);
		eid_result_clear(&cached);
	} else if (rc != SL_OK) {
		card_verdict(srv, rq, lang, &e, ticket, outbound_refused(srv->sv_outbound), NULL);
	}
	eid_chain_clear(&ch);
	store_enrollment_clear(&e);
}
