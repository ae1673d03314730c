/*
 * recover.c — POST /device/v1/enroll/recover: a lost or replaced phone, or
 * a forgotten app code (docs/device-api.md "Recovery", issue 13).
 *
 * A recovery is an enrolment (start, SMS code, proofing, the proofing code
 * typed in the app) that ends here instead of at /enroll/finish.  Why an
 * enrolment: it already binds a fresh transport key, the possession of the
 * number (SMS) and a proof of identity typed back into this very app, and
 * its finish already reuses the account of a number for the same person.
 * What recovery adds, all in the finish's one transaction:
 *   - the proof must be the eID card (method "eid"): the SMS proves the
 *     SIM, not the person, and a lost phone's SIM is the easiest thing to
 *     get hold of, so an SMS never suffices (nor a test or bank proof here);
 *   - the number must have an account, and the card's national register
 *     number must be that account's person (else 403 identity_mismatch,
 *     audited, nothing changed);
 *   - the old devices end ("removed": their proofs and signatures are
 *     refused from the next request on): by default every device of that
 *     number, or the ones the person picks ("revoke": device ids of any of
 *     their app accounts);
 *   - the person's logins made with the app key end (store_key_logins_end):
 *     their SSO sessions, and the access and refresh tokens sites got
 *     through them, so whoever holds the lost phone is logged out too;
 *   - the account's wrong-code count and lock are cleared: the new device
 *     has a new app code (a new Q), and this is the only way a person
 *     clears a lock themselves.
 * The person, their history, consents and other devices stay; the other
 * devices and the account page get "device.revoked" (and "device.added").
 * A forgotten code is the same call from the same phone: the app makes a
 * new transport key and a new code, and its old device is revoked.
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

/* The eID card, and nothing else, proves the person for a recovery. */
static bool
proved_with_card(const struct store_enrollment *en)
{
	return en->en_proof_method != NULL && strcmp(en->en_proof_method, "eid") == 0;
}

/* "revoke": absent (NULL: the number's devices) or 1..STORE_RECOVER_MAX
 * device ids; false when the 400 is sent. */
static bool
revoke_input(struct http_request *rq, json_t *body, const char *ids[STORE_RECOVER_MAX], size_t *n)
{
	json_t *list = json_object_get(body, "revoke"), *v;
	size_t i;

	*n = 0;
	if (list == NULL)
		return true;
	if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > STORE_RECOVER_MAX) {
		app_send_error(rq, 400, "invalid_request", "revoke: a list of 1 to 16 device ids", NULL);
		return false;
	}
	json_array_foreach(list, i, v)
	{
		if (!app_id_ok(json_string_value(v))) {
			app_send_error(rq, 400, "invalid_request", "revoke: a list of 1 to 16 device ids", NULL);
			return false;
		}
		ids[(*n)++] = json_string_value(v);
	}
	return true;
}

static void
recover_audit(
	struct server *srv, struct http_request *rq, const char *result, const char *person_id, const char *detail)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "app.recover",
		.au_result = result,
		.au_person_id = person_id,
		.au_key = APP_KEY_NAME,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}

/* The refusals of the store's answer; each is audited. */
static void
recover_refused(struct server *srv, struct http_request *rq, int rc, const struct store_enrollment *en,
	const struct store_recovery *rec, const struct sl_err *err)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "enrolment %s", en->en_id);
	switch (rc) {
	case SL_EDENIED:
		/* On the account's own history: its person sees the attempt. */
		recover_audit(srv, rq, "identity_mismatch", rec->re_person_id[0] ? rec->re_person_id : NULL, detail);
		app_send_error(rq, 403, "identity_mismatch",
			"This eID card is not the card of the person this number belongs to. Nothing was changed.",
			NULL);
		break;
	case SL_ENOTFOUND:
		recover_audit(srv, rq, "not_found", NULL, detail);
		app_send_error(rq, 404, "not_found", err->msg, NULL);
		break;
	case SL_ECONFLICT:
		app_send_error(rq, 409, "not_proofed", "Confirm your identity with your eID card first.", NULL);
		break;
	case SL_EEXPIRED:
		app_send_error(rq, 410, "enrollment_expired", "This enrolment has ended; start again.", NULL);
		break;
	case SL_ETOOBIG: app_send_error(rq, 400, "invalid_request", err->msg, NULL); break;
	default:
		log_warn("recovery %s: %s", en->en_id, err->msg);
		app_send_error(rq, 500, "server_error", "The recovery could not be finished.", NULL);
	}
}

/* Done: notices to the person's other devices, the answer. */
static void
recover_done(struct server *srv, struct http_request *rq, const struct store_device *dev,
	const struct store_account *acct, const struct store_recovery *rec)
{
	json_t *revoked = json_array();

	for (size_t i = 0; i < rec->re_nrevoked; i++) {
		app_notice_device(srv, acct->ac_person_id, "device.revoked", APP_KEY_NAME, rec->re_revoked[i],
			rec->re_revoked_name[i]);
		json_array_append_new(revoked, json_string(rec->re_revoked[i]));
	}
	app_notice_device_added(srv, acct->ac_person_id, dev);
	http_send_json(rq, 201,
		json_pack("{s:s,s:s,s:s,s:o}", "device_id", dev->dv_id, "account_id", acct->ac_id, "phone",
			acct->ac_phone, "revoked", revoked ? revoked : json_array()));
}

/* What one recovery makes and reads, cleared together. */
struct recovery {
	struct store_person rv_person; /* the card's, from the enrolment */
	struct store_device rv_dev; /* the new device */
	struct store_account rv_acct; /* the number's account */
	struct store_recovery rv_rec;
	const char *rv_ids[STORE_RECOVER_MAX]; /* "revoke", borrowed from the body */
};

static void
recovery_clear(struct recovery *rv)
{
	store_person_clear(&rv->rv_person);
	store_device_clear(&rv->rv_dev);
	store_account_clear(&rv->rv_acct);
}

/* A live, proofed enrolment of this request's key and its body: the rest. */
static void
recover_run(struct server *srv, struct http_request *rq, const struct store_enrollment *en, json_t *body)
{
	struct recovery rv = { 0 };
	struct sl_err err = { 0 };
	char detail[160], ipbuf[SERVER_IP_MAX];
	int rc;

	if (strcmp(en->en_status, "proofed") == 0 && !proved_with_card(en)) {
		snprintf(detail, sizeof(detail), "enrolment %s proved by %.32s", en->en_id,
			en->en_proof_method ? en->en_proof_method : "nothing");
		recover_audit(srv, rq, "eid_required", NULL, detail);
		app_send_error(rq, 403, "eid_required",
			"Only your eID card can recover your account; enrol with it again.", NULL);
		return;
	}
	if (!revoke_input(rq, body, rv.rv_ids, &rv.rv_rec.re_nrevoke) ||
		app_enroll_new_device(srv, rq, en, body, &rv.rv_person, &rv.rv_dev) != SL_OK) {
		recovery_clear(&rv);
		return;
	}
	rv.rv_rec.re_revoke = json_object_get(body, "revoke") != NULL ? rv.rv_ids : NULL;
	rv.rv_rec.re_end_amr = APP_AMR;
	snprintf(detail, sizeof(detail), "recovery with the eID card: enrolment %s", en->en_id);
	rc = store_enrollment_recover_audit(srv->sv_store, en->en_id, &rv.rv_person, &rv.rv_dev, &rv.rv_acct,
		&rv.rv_rec,
		&(const struct store_audit){ .au_event = "app.recover",
			.au_result = "ok",
			.au_key = APP_KEY_NAME,
			.au_ip = server_audit_ip(srv, rq, ipbuf),
			.au_detail = detail },
		&err);
	if (rc == SL_OK)
		recover_done(srv, rq, &rv.rv_dev, &rv.rv_acct, &rv.rv_rec);
	else
		recover_refused(srv, rq, rc, en, &rv.rv_rec, &err);
	recovery_clear(&rv);
}

void
app_enroll_recover(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_enrollment en;
	json_t *body;

	if (!app_enroll_step(srv, rq, &en, &body))
		return;
	recover_run(srv, rq, &en, body);
	json_decref(body);
	store_enrollment_clear(&en);
}
