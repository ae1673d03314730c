/*
 * enroll.c — enrolment of a phone (docs/device-api.md "enroll"; DESIGN §1
 * "App enrollment"): terms and phone number → a 5-digit SMS activation
 * code → proofing (bank or eID, src/proofing) → the proofing code of the
 * final page, typed in this app (so a proof made in someone else's
 * browser binds nothing) → the confirmation key Q, sealed → a device on
 * the account of that number.
 *
 * The enrolment is known by its transport key: each step's proof names
 * the key's thumbprint, stored on the enrolment at start.  The SMS code
 * comes from the CSRNG and is stored only as an HMAC (key from
 * keys/secret, bound to the enrolment id), compared in constant time.
 * Limits: [app] sms_code_lifetime, sms_attempts (wrong codes in all, a
 * resend does not give more), sms_max_sends, enrollment_lifetime; starts
 * per IP ([app] rate_ip) and per number ([app] rate_phone) in [app]
 * rate_window, so nobody can make sleutel text a number over and over.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "device_int.h"
#include "../../proofing/proofing.h"
#include "../../outbound/outbound.h"
#include "../../sms/sms.h"

#define DEFAULT_DEVICE_NAME "phone"

/* The text before the code, per language (config_languages order). */
static const char *const sms_texts[SL_LANG_COUNT] = {
	"Je sleutel-activatiecode is ",
	"Votre code d'activation sleutel est ",
	"Ihr sleutel-Aktivierungscode lautet ",
	"Your sleutel activation code is ",
};

static int
lang_index(const char *code)
{
	for (int i = 0; code != NULL && i < SL_LANG_COUNT; i++)
		if (strcmp(code, config_languages[i]) == 0)
			return i;
	return -1;
}

static int
enroll_lang(struct server *srv, const struct store_enrollment *en)
{
	int i = lang_index(en->en_lang);

	if (i < 0)
		i = lang_index(srv->sv_conf->c_default_language);
	return i < 0 ? 0 : i;
}

/* A new code: its MAC in `mac`, the text for the phone in `text`. */
static int
enroll_new_code(struct server *srv, const struct store_enrollment *en, char mac[2 * SL_SHA256_LEN + 1],
	char text[SMS_TEXT_MAX], struct sl_err *err)
{
	char code[APP_SMS_CODE_LEN + 1];
	uint32_t v;
	int rc;

	if (sl_random_uniform(100000, &v) != SL_OK)
		return sl_fail(err, SL_ECRYPTO, "no randomness");
	snprintf(code, sizeof(code), "%05u", v);
	rc = app_sms_mac(srv, en->en_id, code, mac);
	if (rc == SL_OK)
		snprintf(text, SMS_TEXT_MAX, "%s%s", sms_texts[enroll_lang(srv, en)], code);
	OPENSSL_cleanse(code, sizeof(code));
	return rc;
}

/* ---- the activation code's SMS, sent while the request waits ---- */

/* What the handler's second run needs once the gateway answered. */
struct enroll_sent {
	char *es_id;
	char *es_phone;
	char es_mac[2 * SL_SHA256_LEN + 1];
	bool es_resend;
};

static void
enroll_sent_free(void *p)
{
	struct enroll_sent *es = p;

	free(es->es_id);
	free(es->es_phone);
	free(es);
}

/* Make a code and send it off the event loop (src/sms, src/outbound);
 * the handler runs again and enroll_sms_resumed() answers.  SL_OK, or
 * the answer is sent. */
static int
enroll_send_code(struct server *srv, struct http_request *rq, const struct store_enrollment *en, bool resend)
{
	struct enroll_sent *es = calloc(1, sizeof(*es));
	struct sl_err err = { 0 };
	char text[SMS_TEXT_MAX];
	int rc = es == NULL ? SL_ENOMEM : SL_OK;

	if (rc == SL_OK && ((es->es_id = strdup(en->en_id)) == NULL || (es->es_phone = strdup(en->en_phone)) == NULL))
		rc = SL_ENOMEM;
	if (rc == SL_OK)
		rc = enroll_new_code(srv, en, es->es_mac, text, &err);
	if (rc != SL_OK) {
		if (es != NULL)
			enroll_sent_free(es);
		app_send_error(rq, 500, "server_error", "the activation code could not be made", NULL);
		return rc;
	}
	es->es_resend = resend;
	rc = sms_send_suspend(srv->sv_sms, srv->sv_outbound, rq, en->en_phone, text, es, enroll_sent_free, &err);
	OPENSSL_cleanse(text, sizeof(text));
	if (rc == SL_EBUSY) {
		http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
		app_send_error(rq, 503, "temporarily_unavailable", "Busy; try again in a moment.", NULL);
	} else if (rc != SL_OK) {
		log_warn("enrolment %s: %s", en->en_id, err.msg);
		app_send_error(rq, 502, "sms_failed", "The activation code could not be sent; try again.", NULL);
	}
	return rc;
}

/* The code that went out becomes the one to type (the one before, if
 * any, stops): stored only now, so a failed send leaves the old code. */
static int
enroll_code_store(struct server *srv, const struct enroll_sent *es)
{
	struct store_enrollment en;
	char *keep;
	int rc = store_enrollment_get(srv->sv_store, es->es_id, &en);

	if (rc != SL_OK)
		return rc;
	if (strcmp(en.en_status, "sms") == 0) {
		keep = en.en_sms_hash;
		en.en_sms_hash = (char *)es->es_mac;
		en.en_sms_expires = sl_now() + srv->sv_conf->c_app_sms_code_lifetime;
		rc = store_enrollment_update(srv->sv_store, &en);
		en.en_sms_hash = keep;
	}
	store_enrollment_clear(&en);
	return rc;
}

/* The second run of start or resend, after the SMS: true when this was
 * one (answered, or waiting again). */
static bool
enroll_sms_resumed(struct server *srv, struct http_request *rq)
{
	const struct sl_config *c = srv->sv_conf;
	struct enroll_sent *es;
	struct sl_err err = { 0 };
	int rc = sms_send_result(rq, (void **)&es, &err);

	if (es == NULL)
		return false;
	if (rc == SMS_WAITING)
		return true;
	if (rc == SL_OK && (rc = enroll_code_store(srv, es)) != SL_OK)
		sl_fail(&err, rc, "the code could not be stored");
	if (rc == SL_EBUSY) {
		http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
		app_send_error(rq, 503, "temporarily_unavailable", "Busy; try again in a moment.", NULL);
	} else if (rc != SL_OK) {
		log_warn("enrolment %s: %s", es->es_id, err.msg[0] ? err.msg : sl_strerror(rc));
		app_send_error(rq, 502, "sms_failed", "The activation code could not be sent; try again.", NULL);
	} else if (es->es_resend) {
		http_send_json(rq, 200, json_pack("{s:i}", "sms_expires_in", c->c_app_sms_code_lifetime));
	} else {
		http_send_json(rq, 201,
			json_pack("{s:s,s:s,s:s,s:i,s:i}", "enrollment_id", es->es_id, "phone", es->es_phone, "status",
				"sms", "expires_in", c->c_app_enrollment_lifetime, "sms_expires_in",
				c->c_app_sms_code_lifetime));
	}
	return true;
}

static bool
ended(struct server *srv, const struct store_enrollment *en)
{
	return en->en_sms_attempts >= srv->sv_conf->c_app_sms_attempts;
}

/* Answers the common refusals of a step on a known enrolment. */
static bool
enroll_live(struct server *srv, struct http_request *rq, const struct store_enrollment *en)
{
	if (sl_now() >= en->en_expires || strcmp(en->en_status, "done") == 0) {
		app_send_error(rq, 410, "enrollment_expired", "This enrolment has ended; start again.", NULL);
		return false;
	}
	if (ended(srv, en)) {
		app_send_error(rq, 403, "enrollment_ended", "Too many wrong codes; start again.", NULL);
		return false;
	}
	return true;
}

/* The enrolment whose transport key made this request's proof; on
 * failure the answer is sent. */
static int
enroll_auth(struct server *srv, struct http_request *rq, struct store_enrollment *en)
{
	char jkt[APP_JKT_LEN + 1];
	struct sl_err err = { 0 };
	struct app_proof pr;
	json_t *jwk;
	int rc;

	memset(en, 0, sizeof(*en));
	if (app_proof_kid(http_header(rq, "DPoP"), jkt) != SL_OK) {
		app_send_invalid_proof(rq, "no DPoP proof with a key id");
		return SL_EDENIED;
	}
	rc = store_enrollment_by_jkt(srv->sv_store, jkt, en);
	if (rc != SL_OK) {
		if (rc == SL_ENOTFOUND)
			app_send_invalid_proof(rq, "no enrolment for this key");
		else
			app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		return SL_EDENIED;
	}
	jwk = json_loads(en->en_transport_jwk, 0, NULL);
	rc = jwk ? app_proof_check(srv, rq, jwk, &pr, &err) : sl_fail(&err, SL_EINVAL, "bad stored key");
	json_decref(jwk);
	if (rc != SL_OK) {
		app_send_invalid_proof(rq, err.msg);
		store_enrollment_clear(en);
		return SL_EDENIED;
	}
	return SL_OK;
}

/* The start of a step with a body: the enrolment whose key made the proof,
 * still live, and the body.  False when the answer is sent (nothing is
 * left to free). */
bool
app_enroll_step(struct server *srv, struct http_request *rq, struct store_enrollment *en, json_t **body)
{
	*body = NULL;
	if (enroll_auth(srv, rq, en) != SL_OK)
		return false;
	*body = app_json_body(rq);
	if (*body != NULL && enroll_live(srv, rq, en))
		return true;
	json_decref(*body);
	*body = NULL;
	store_enrollment_clear(en);
	return false;
}

/* ---- POST /enroll/start ---- */

struct start_in {
	const char *si_terms;
	const char *si_lang;
	const char *si_name;
	json_t *si_jwk;
	char si_phone[APP_PHONE_MAX];
	char si_jkt[APP_JKT_LEN + 1];
};

/* Validate the body; on failure the answer is sent. */
static bool
start_input(struct server *srv, struct http_request *rq, json_t *body, struct start_in *in)
{
	const struct sl_config *c = srv->sv_conf;

	in->si_jwk = json_object_get(body, "transport_key");
	if (!app_body_key_ok(srv, rq, in->si_jwk, in->si_jkt))
		return false;
	in->si_terms = app_json_str(body, "terms_version", APP_TERMS_MAX);
	if (in->si_terms == NULL || strcmp(in->si_terms, c->c_app_terms_version) != 0) {
		app_send_error(rq, 400, "terms_not_accepted", "Accept the current terms first.",
			json_pack("{s:s}", "terms_version", c->c_app_terms_version));
		return false;
	}
	if (app_phone_normalize(app_json_str(body, "phone", 64), c->c_app_default_country, in->si_phone) != SL_OK) {
		app_send_error(rq, 400, "invalid_phone", "This is not a mobile phone number.", NULL);
		return false;
	}
	in->si_lang = app_json_str(body, "language", 8);
	if (in->si_lang == NULL || lang_index(in->si_lang) < 0)
		in->si_lang =
			config_languages[lang_index(c->c_default_language) < 0 ? 0 : lang_index(c->c_default_language)];
	in->si_name = app_json_str(body, "device_name", APP_DEVICE_NAME_MAX);
	/* Shown on pages and printed by the operator's CLI: readable text
	 * only (no control, bidi or invisible characters). */
	if (json_object_get(body, "device_name") != NULL &&
		(in->si_name == NULL || !oidc_text_readable(in->si_name, APP_DEVICE_NAME_MAX))) {
		app_send_error(rq, 400, "invalid_request", "device_name: 1 to 64 readable characters", NULL);
		return false;
	}
	if (in->si_name == NULL)
		in->si_name = DEFAULT_DEVICE_NAME;
	return true;
}

/* The number's wrong activation codes across enrolments are spent
 * (SL_ETOOBIG), or the store failed. */
static void
too_many_wrong(struct http_request *rq, int rc)
{
	if (rc == SL_ETOOBIG)
		app_send_error(rq, 429, "too_many_wrong_codes",
			"Too many wrong activation codes for this number; try again later or ask the helpdesk.", NULL);
	else
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
}

static bool
start_rate_ok(struct server *srv, const struct start_in *in, const char *ip)
{
	return app_rate_enrol(srv, in->si_phone, ip) == SL_OK;
}

void
app_enroll_start(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const struct sl_config *c = srv->sv_conf;
	json_t *body;
	struct start_in in = { 0 };
	struct store_enrollment en = { 0 };
	char mac[2 * SL_SHA256_LEN + 1], ipbuf[SERVER_IP_MAX], *jwk = NULL, *id = NULL;
	int64_t now = sl_now();
	int rc;

	if (enroll_sms_resumed(srv, rq))
		return;
	body = app_json_body(rq);
	if (body == NULL || !start_input(srv, rq, body, &in))
		goto out;
	if (!start_rate_ok(srv, &in, server_person_ip(srv, rq, ipbuf, sizeof(ipbuf)))) {
		app_send_error(rq, 429, "rate_limited", "Too many enrolments; try again later.", NULL);
		goto out;
	}
	if ((rc = app_sms_wrong_spent(srv, in.si_phone)) != SL_OK) {
		too_many_wrong(rq, rc);
		goto out;
	}
	id = sl_random_name(16);
	jwk = app_jwk_public_text(in.si_jwk);
	if (id == NULL || jwk == NULL) {
		app_send_error(rq, 500, "server_error", "out of memory", NULL);
		goto out;
	}
	en = (struct store_enrollment){ .en_id = id,
		.en_phone = in.si_phone,
		.en_jkt = in.si_jkt,
		.en_transport_jwk = jwk,
		.en_device_name = (char *)in.si_name,
		.en_lang = (char *)in.si_lang,
		.en_terms = (char *)in.si_terms,
		.en_status = "sms",
		.en_sms_hash = "",
		.en_sms_sends = 1,
		.en_sms_expires = now + c->c_app_sms_code_lifetime,
		.en_created = now,
		.en_expires = now + c->c_app_enrollment_lifetime };
	rc = app_sms_mac(srv, id, "-", mac); /* a placeholder no code matches, until the code is made */
	en.en_sms_hash = mac;
	if (rc == SL_OK)
		rc = store_enrollment_put(srv->sv_store, &en);
	if (rc == SL_ECONFLICT) {
		app_send_error(rq, 409, "key_in_use", "This key is already in use; make a new one.", NULL);
		goto out;
	}
	if (rc != SL_OK) {
		log_warn("enrolment %s: %s", id, sl_strerror(rc));
		app_send_error(
			rq, 503, "temporarily_unavailable", "The enrolment could not be stored; try again.", NULL);
		goto out;
	}
	/* Answered when the SMS went out (enroll_sms_resumed). */
	enroll_send_code(srv, rq, &en, false);
out:
	free(id);
	free(jwk);
	json_decref(body);
}

/* ---- POST /enroll/sms/resend ---- */

void
app_enroll_resend(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const struct sl_config *c = srv->sv_conf;
	struct store_enrollment en;

	if (enroll_sms_resumed(srv, rq) || enroll_auth(srv, rq, &en) != SL_OK)
		return;
	if (!enroll_live(srv, rq, &en))
		goto out;
	if (strcmp(en.en_status, "sms") != 0) {
		app_send_error(rq, 409, "invalid_state", "The activation code was already entered.", NULL);
		goto out;
	}
	if (en.en_sms_sends >= c->c_app_sms_max_sends) {
		app_send_error(rq, 429, "too_many_sms", "No more activation codes for this enrolment; start again.",
			json_pack("{s:i}", "max_sends", c->c_app_sms_max_sends));
		goto out;
	}
	/* Counted before sending: a failing gateway is no way around the
	 * limit; the old code stays until the new one went out. */
	en.en_sms_sends++;
	if (store_enrollment_update(srv->sv_store, &en) != SL_OK)
		app_send_error(
			rq, 503, "temporarily_unavailable", "The enrolment could not be stored; try again.", NULL);
	else
		enroll_send_code(srv, rq, &en, true);
out:
	store_enrollment_clear(&en);
}

/* ---- POST /enroll/sms ---- */

/* Charge this try before the code is compared (parallel guesses get no
 * more than [app] sms_attempts in all); false when the answer is sent. */
static bool
sms_charge(struct server *srv, struct http_request *rq, struct store_enrollment *en)
{
	int rc = app_sms_wrong_charge(srv, en->en_phone);

	if (rc != SL_OK) {
		too_many_wrong(rq, rc);
		return false;
	}
	rc = store_enrollment_sms_charge(
		srv->sv_store, en->en_id, srv->sv_conf->c_app_sms_attempts, &en->en_sms_attempts);
	if (rc == SL_OK)
		return true;
	if (rc == SL_EDENIED)
		app_send_error(rq, 403, "enrollment_ended", "Too many wrong codes; start again.", NULL);
	else
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	return false;
}

static void
sms_wrong(struct server *srv, struct http_request *rq, struct store_enrollment *en)
{
	int left = srv->sv_conf->c_app_sms_attempts - en->en_sms_attempts;

	if (left <= 0)
		app_send_error(rq, 403, "enrollment_ended", "Too many wrong codes; start again.", NULL);
	else
		app_send_error(rq, 400, "wrong_code", "This is not the activation code.",
			json_pack("{s:i}", "attempts_left", left));
}

void
app_enroll_sms(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_enrollment en;
	char mac[2 * SL_SHA256_LEN + 1];
	const char *code;
	json_t *body;

	if (!app_enroll_step(srv, rq, &en, &body))
		return;
	if (strcmp(en.en_status, "sms") != 0) {
		app_send_error(rq, 409, "invalid_state", "The activation code was already entered.", NULL);
		goto out;
	}
	if (sl_now() >= en.en_sms_expires) {
		app_send_error(rq, 410, "code_expired", "This activation code has expired; ask for a new one.", NULL);
		goto out;
	}
	code = app_json_str(body, "code", APP_SMS_CODE_LEN);
	if (code == NULL || strlen(code) != APP_SMS_CODE_LEN || strspn(code, "0123456789") != APP_SMS_CODE_LEN) {
		app_send_error(rq, 400, "invalid_request", "code: 5 digits", NULL);
		goto out;
	}
	if (!sms_charge(srv, rq, &en))
		goto out;
	if (app_sms_mac(srv, en.en_id, code, mac) != SL_OK || !sl_ct_streq(mac, en.en_sms_hash)) {
		sms_wrong(srv, rq, &en);
		goto out;
	}
	free(en.en_status);
	en.en_status = strdup("proofing");
	if (en.en_status == NULL || store_enrollment_update(srv->sv_store, &en) != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		goto out;
	}
	/* A right code ends the run of wrong ones (NIST SP 800-63B-4 counts
	 * consecutive failures); a failure here leaves the count higher. */
	(void)store_phone_fail_clear(srv->sv_store, en.en_phone);
	{
		json_t *choices = proofing_choices(srv, en.en_id, enroll_lang(srv, &en));
		http_send_json(rq, 200,
			json_pack("{s:s,s:o}", "status", "proofing", "proofing", choices ? choices : json_array()));
	}
out:
	json_decref(body);
	store_enrollment_clear(&en);
}

/* ---- GET /enroll (long-poll while proofing) ---- */

/* The status the app sees: "proof_code" while a proof waits for the code
 * from the final page (the record stays in "proofing"). */
static json_t *
enroll_state(struct server *srv, const struct store_enrollment *en)
{
	struct proofing_pending pp;
	bool waiting = proofing_pending(en, sl_now(), &pp);
	json_t *o = json_pack("{s:s,s:I}", "status", waiting ? "proof_code" : en->en_status, "expires_in",
		(json_int_t)(en->en_expires > sl_now() ? en->en_expires - sl_now() : 0));

	if (waiting)
		json_object_set_new(o, "proof_code",
			json_pack("{s:I,s:i}", "expires_in", (json_int_t)pp.pp_expires_in, "attempts_left",
				pp.pp_tries_left));
	/* Also while a code is awaited: the person may prove again instead. */
	if (strcmp(en->en_status, "proofing") == 0) {
		json_t *choices = proofing_choices(srv, en->en_id, enroll_lang(srv, en));
		json_object_set_new(o, "proofing", choices ? choices : json_array());
	}
	if (en->en_person != NULL && (strcmp(en->en_status, "proofed") == 0 || strcmp(en->en_status, "done") == 0)) {
		json_t *p = json_loads(en->en_person, 0, NULL);
		json_object_set_new(o, "person",
			json_pack("{s:s?,s:s?}", "given_name", json_string_value(json_object_get(p, "given_name")),
				"family_name", json_string_value(json_object_get(p, "family_name"))));
		json_decref(p);
	}
	return o;
}

/* Worth a long-poll: proofing, and no proof waiting for its code. */
static bool
enroll_waits(const struct store_enrollment *en)
{
	return en->en_status != NULL && strcmp(en->en_status, "proofing") == 0 && !proofing_pending(en, sl_now(), NULL);
}

struct enroll_look {
	struct server *el_srv;
	const char *el_id;
};

/* Has the enrolment left "proofing", or a proof come to wait (or gone)? */
static bool
enroll_moved(void *arg)
{
	struct enroll_look *el = arg;
	struct store_enrollment e;
	bool moved;

	if (store_enrollment_get(el->el_srv->sv_store, el->el_id, &e) != SL_OK)
		return true;
	moved = !enroll_waits(&e);
	store_enrollment_clear(&e);
	return moved;
}

void
app_enroll_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_enrollment en;
	char key[128];
	const char *waited = http_get_data(rq);

	if (waited != NULL) {
		/* Back from the wait: the proof was checked (and its jti spent) on the first call. */
		if (store_enrollment_get(srv->sv_store, waited, &en) != SL_OK) {
			app_send_error(rq, 410, "enrollment_expired", "This enrolment has ended; start again.", NULL);
			return;
		}
	} else if (enroll_auth(srv, rq, &en) != SL_OK) {
		return;
	}
	if (!enroll_live(srv, rq, &en))
		goto out;
	if (waited == NULL && enroll_waits(&en)) {
		char *id = strdup(en.en_id);
		app_enroll_wait_key(en.en_id, key, sizeof(key));
		if (id != NULL) {
			http_set_data(rq, id, free);
			struct enroll_look el = { srv, en.en_id };
			if (http_wait_recheck(rq, srv->sv_waiters, key,
				    sl_monotonic_ms() + (int64_t)srv->sv_conf->c_app_poll_timeout * 1000, enroll_moved,
				    &el) == SL_OK)
				goto out;
		}
	}
	http_send_json(rq, 200, enroll_state(srv, &en));
out:
	store_enrollment_clear(&en);
}

/* ---- POST /enroll/proof ---- */

static void
proof_audit_code(struct server *srv, struct http_request *rq, const char *result)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "proofing", .au_result = result, .au_key = "code", .au_ip = server_audit_ip(srv, rq, ipbuf)
	};

	store_audit_add(srv->sv_store, &au);
}

static void
proof_answer(struct server *srv, struct http_request *rq, int rc, int tries_left)
{
	switch (rc) {
	case SL_EINVAL:
		app_send_error(rq, 400, "invalid_request", "code: the 8 characters the page shows (XXXX-XXXX)", NULL);
		break;
	case SL_EDENIED:
		proof_audit_code(srv, rq, tries_left > 0 ? "wrong_code" : "discarded");
		app_send_error(rq, 400, "wrong_code",
			tries_left > 0 ? "This is not the code the page shows."
				       : "Too many wrong codes; confirm your identity again.",
			json_pack("{s:i}", "attempts_left", tries_left));
		break;
	case SL_EEXPIRED:
		app_send_error(rq, 410, "code_expired", "This code has expired; confirm your identity again.", NULL);
		break;
	case SL_ENOTFOUND:
	case SL_ECONFLICT:
		app_send_error(rq, 409, "no_proof", "No confirmed identity waits for a code; confirm it first.", NULL);
		break;
	default: app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	}
}

void
app_enroll_proof(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_enrollment en, now = { 0 };
	int rc, tries_left = 0;
	json_t *body;

	if (!app_enroll_step(srv, rq, &en, &body))
		return;
	/* Bound to this request's enrolment: the one whose key signed it. */
	rc = proofing_redeem(srv, en.en_id, app_json_str(body, "code", 64), &tries_left);
	if (rc != SL_OK) {
		proof_answer(srv, rq, rc, tries_left);
		goto out;
	}
	proof_audit_code(srv, rq, "ok");
	if (store_enrollment_get(srv->sv_store, en.en_id, &now) == SL_OK)
		http_send_json(rq, 200, enroll_state(srv, &now));
	else
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
out:
	json_decref(body);
	store_enrollment_clear(&now);
	store_enrollment_clear(&en);
}

/* ---- POST /enroll/finish ---- */

static int
person_from_json(const char *text, struct store_person *p)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	const char *rrn = json_string_value(json_object_get(o, "rrn"));
	const char *given = json_string_value(json_object_get(o, "given_name"));
	const char *family = json_string_value(json_object_get(o, "family_name"));
	const char *birth = json_string_value(json_object_get(o, "birthdate"));

	memset(p, 0, sizeof(*p));
	if (given == NULL || family == NULL) {
		json_decref(o);
		return SL_EINVAL;
	}
	p->p_rrn = sl_strdup(rrn);
	p->p_given_name = sl_strdup(given);
	p->p_family_name = sl_strdup(family);
	p->p_birthdate = sl_strdup(birth);
	json_decref(o);
	return p->p_given_name && p->p_family_name ? SL_OK : SL_ENOMEM;
}

/* Q from the body: unsealed (aad = enrolment id), a point on P-256. */
static int
finish_q(struct server *srv, json_t *body, const char *enrollment_id, uint8_t q[P256_PUB_LEN], struct sl_err *err)
{
	uint8_t *plain = NULL;
	size_t n = 0;
	EVP_PKEY *k = NULL;
	int rc;

	rc = app_unseal_b64(srv, app_json_str(body, "seal_kid", APP_KID_MAX),
		app_json_str(body, "confirmation_key", APP_SEALED_MAX), enrollment_id, &plain, &n, err);
	if (rc == SL_OK && n != P256_PUB_LEN)
		rc = sl_fail(err, SL_EINVAL, "the confirmation key must be a 65-byte P-256 point");
	if (rc == SL_OK && (k = p256_public_from_bytes(plain, err)) == NULL)
		rc = SL_EINVAL;
	if (rc == SL_OK)
		memcpy(q, plain, P256_PUB_LEN);
	EVP_PKEY_free(k);
	free(plain);
	return rc;
}

static void
finish_answer(struct server *srv, struct http_request *rq, int rc, const struct store_device *dev,
	const struct store_account *acct, const struct sl_err *err)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "app.enroll", .au_key = APP_KEY_NAME, .au_ip = server_audit_ip(srv, rq, ipbuf)
	};

	if (rc == SL_OK) {
		/* audited in the enrolment's transaction (app_enroll_finish) */
		http_send_json(rq, 201,
			json_pack("{s:s,s:s,s:s}", "device_id", dev->dv_id, "account_id", acct->ac_id, "phone",
				acct->ac_phone));
	} else if (rc == SL_ECONFLICT) {
		app_send_error(rq, 409, "not_proofed", "Link your identity first.", NULL);
	} else if (rc == SL_EDENIED) {
		au.au_result = "phone_in_use";
		store_audit_add(srv->sv_store, &au);
		app_send_error(rq, 409, "phone_in_use", "This number belongs to another person's account.", NULL);
	} else {
		log_warn("enrolment finish: %s", err->msg);
		app_send_error(rq, 500, "server_error", "The enrolment could not be finished.", NULL);
	}
}

int
app_enroll_new_device(struct server *srv, struct http_request *rq, const struct store_enrollment *en, json_t *body,
	struct store_person *person, struct store_device *dev)
{
	struct sl_err err = { 0 };
	uint8_t q[P256_PUB_LEN];

	if (strcmp(en->en_status, "proofed") != 0 || person_from_json(en->en_person, person) != SL_OK) {
		app_send_error(rq, 409, "not_proofed", "Link your identity first.", NULL);
		return SL_ECONFLICT;
	}
	if (finish_q(srv, body, en->en_id, q, &err) != SL_OK) {
		app_send_error(rq, 400, "invalid_key", err.msg, NULL);
		return SL_EINVAL;
	}
	dev->dv_id = sl_random_name(16);
	dev->dv_name = sl_strdup(en->en_device_name);
	dev->dv_jkt = sl_strdup(en->en_jkt);
	dev->dv_transport_jwk = sl_strdup(en->en_transport_jwk);
	dev->dv_status = strdup("active");
	dev->dv_created = sl_now();
	dev->dv_confirm_key = dev->dv_id ? app_rest_seal(srv, dev->dv_id, q, &err) : NULL;
	if (dev->dv_confirm_key == NULL || dev->dv_name == NULL || dev->dv_status == NULL || dev->dv_jkt == NULL ||
		dev->dv_transport_jwk == NULL) {
		app_send_error(rq, 500, "server_error", "The enrolment could not be finished.", NULL);
		return SL_ENOMEM;
	}
	return SL_OK;
}

void
app_enroll_finish(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_enrollment en;
	char ipbuf[SERVER_IP_MAX];
	struct store_person person = { 0 };
	struct store_account acct = { 0 };
	struct store_device dev = { 0 };
	struct sl_err err = { 0 };
	json_t *body;
	int rc;

	if (!app_enroll_step(srv, rq, &en, &body))
		return;
	if (app_enroll_new_device(srv, rq, &en, body, &person, &dev) != SL_OK)
		goto out;
	/* The audit row commits with the enrolment: a crash between two
	 * would leave a device the audit trail never saw. */
	rc = store_enrollment_finish_audit(srv->sv_store, en.en_id, &person, &dev, &acct,
		&(const struct store_audit){ .au_event = "app.enroll",
			.au_result = "ok",
			.au_key = APP_KEY_NAME,
			.au_ip = server_audit_ip(srv, rq, ipbuf) },
		&err);
	if (rc == SL_OK) /* the person's other devices and account page are told */
		app_notice_device_added(srv, acct.ac_person_id ? acct.ac_person_id : person.p_id, &dev);
	finish_answer(srv, rq, rc, &dev, &acct, &err);
out:
	json_decref(body);
	store_person_clear(&person);
	store_account_clear(&acct);
	store_device_clear(&dev);
	store_enrollment_clear(&en);
}

#ifdef SL_TEST_KEY
/* POST /device/v1/test/proofed — TEST BUILDS ONLY (meson -Dtest_key=true),
 * like the portal's test key: stands in for bank or eID proofing, so the
 * device API can be tested end to end.  Body: {"enrollment_id", "rrn",
 * "given_name", "family_name", "birthdate"?}; the enrolment must be in
 * "proofing". */
void
app_enroll_test_proofed(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	json_t *body = app_json_body(rq), *person;
	struct store_enrollment en = { 0 };
	const char *id, *rrn;
	char key[128];

	if (body == NULL)
		return;
	id = app_json_str(body, "enrollment_id", APP_ID_MAX);
	rrn = app_json_str(body, "rrn", 11);
	person = json_pack("{s:s?,s:s?,s:s?,s:s?}", "rrn", rrn, "given_name", app_json_str(body, "given_name", 100),
		"family_name", app_json_str(body, "family_name", 100), "birthdate",
		app_json_str(body, "birthdate", 10));
	if (!app_id_ok(id) || rrn == NULL || strlen(rrn) != 11 || json_object_get(person, "given_name") == NULL ||
		json_object_get(person, "family_name") == NULL) {
		app_send_error(rq, 400, "invalid_request", "enrollment_id, rrn, given_name, family_name", NULL);
	} else if (store_enrollment_get(srv->sv_store, id, &en) != SL_OK) {
		app_send_error(rq, 404, "not_found", "no such enrolment", NULL);
	} else if (strcmp(en.en_status, "proofing") != 0) {
		app_send_error(rq, 409, "invalid_state", "the enrolment is not waiting for proofing", NULL);
	} else {
		free(en.en_status);
		free(en.en_proof_method);
		free(en.en_person);
		en.en_status = strdup("proofed");
		en.en_proof_method = strdup("test");
		en.en_person = json_dumps(person, JSON_COMPACT);
		if (store_enrollment_update(srv->sv_store, &en) != SL_OK) {
			app_send_error(rq, 500, "server_error", "cannot update the enrolment", NULL);
		} else {
			app_enroll_wait_key(id, key, sizeof(key));
			server_wake(srv, key);
			http_send_json(rq, 200, json_pack("{s:s}", "status", "proofed"));
		}
	}
	json_decref(person);
	json_decref(body);
	store_enrollment_clear(&en);
}
#endif
