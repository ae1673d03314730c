/*
 * enroll.c — enrolment from the phone's side (docs/device-api.md,
 * "POST /enroll/..."): start with the phone number and the accepted terms,
 * the SMS activation code, proofing (the person follows a URL; the app
 * long-polls GET /enroll until the status is "proof_code", then the person
 * types the code the final page showed), then the 5-digit app code chosen
 * twice, which makes the camouflaged confirmation key.
 *
 * Only the enrolment id and its status are kept while enrolling; once the
 * server answers finish, the state holds the device and the camouflaged
 * key.  Q, the code and the key d are never written anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "app_int.h"

#define ENROLL_PHONE_MAX 32 /* bytes of a number as typed */
#define ENROLL_TERMS_MAX 64 /* bytes of a terms version */
#define ENROLL_SMS_MAX 16 /* digits of an activation code */
#define ENROLL_PEEK 3 /* seconds a look without waiting may take */
#define ENROLL_PROOF_CODE_MAX 32 /* bytes of a proofing code as typed ("XXXX-XXXX") */

static const char *const enroll_languages[] = { "nl", "fr", "de", "en", NULL };

bool
sapp_lang_ok(const char *s)
{
	for (size_t i = 0; s != NULL && enroll_languages[i] != NULL; i++)
		if (strcmp(s, enroll_languages[i]) == 0)
			return true;
	return false;
}

static bool
digits_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
spec_check(const struct sapp_enroll_spec *s, struct sl_err *err)
{
	const char *name = s->es_device_name;

	if (s->es_phone == NULL || s->es_phone[0] == '\0' || strlen(s->es_phone) > ENROLL_PHONE_MAX ||
		!sl_str_printable(s->es_phone, strlen(s->es_phone)))
		return sl_fail(err, SL_EINVAL, "phone number missing or longer than %d characters", ENROLL_PHONE_MAX);
	if (!sapp_lang_ok(s->es_language))
		return sl_fail(err, SL_EINVAL, "language must be nl, fr, de or en");
	if (s->es_terms_version == NULL || s->es_terms_version[0] == '\0' ||
		strlen(s->es_terms_version) > ENROLL_TERMS_MAX)
		return sl_fail(err, SL_EINVAL, "the terms must be accepted");
	if (name != NULL && (name[0] == '\0' || strlen(name) >= SAPP_NAME_MAX))
		return sl_fail(err, SL_EINVAL, "device name must be 1..%d bytes", SAPP_NAME_MAX - 1);
	return SL_OK;
}

/* Start over: a new transport key, no enrolment. */
static int
reset_enrollment(struct sapp *app, struct sl_err *err)
{
	char pem[SAPP_PEM_MAX];
	struct sapp_transport tk;
	int rc;

	if ((rc = sapp_transport_generate(pem, err)) != SL_OK)
		return rc;
	rc = sapp_transport_load(pem, &tk, err);
	if (rc == SL_OK) {
		sapp_transport_clear(&app->sa_tk);
		app->sa_tk = tk;
		memcpy(app->sa_st.st_transport_key, pem, sizeof(pem));
		app->sa_st.st_enrollment_id[0] = '\0';
		app->sa_st.st_enrollment_status[0] = '\0';
	}
	OPENSSL_cleanse(pem, sizeof(pem));
	return rc;
}

/* Keep the status the server reports (one we know), saving on change. */
static int
note_status(struct sapp *app, const json_t *answer, struct sl_err *err)
{
	const char *s = json_string_value(json_object_get(answer, "status"));
	struct sapp_state *st = &app->sa_st;

	if (s == NULL || (strcmp(s, "sms") != 0 && strcmp(s, "proofing") != 0 && strcmp(s, "proof_code") != 0 &&
				 strcmp(s, "proofed") != 0 && strcmp(s, "done") != 0))
		return sl_fail(err, SL_EINVAL, "the server reports an unknown enrolment status");
	if (strcmp(st->st_enrollment_status, s) == 0)
		return SL_OK;
	sl_strlcpy(st->st_enrollment_status, s, sizeof(st->st_enrollment_status));
	return sapp_save(app, err);
}

/* The enrolment is over on the server's side: forget it here too. */
static void
forget_if_ended(struct sapp *app)
{
	const char *code = sapp_last_error_code(app);

	if (strcmp(code, "enrollment_ended") == 0 || strcmp(code, "enrollment_expired") == 0) {
		app->sa_st.st_enrollment_id[0] = '\0';
		app->sa_st.st_enrollment_status[0] = '\0';
		sapp_save(app, NULL);
	}
}

static int
need_enrolling(const struct sapp *app, struct sl_err *err)
{
	if (sapp_phase(app) != SAPP_ENROLLING)
		return sl_fail(err, SL_EINVAL, "no enrolment in progress: start one first");
	return SL_OK;
}

int
sapp_enroll_start(struct sapp *app, const struct sapp_enroll_spec *spec, json_t **out, struct sl_err *err)
{
	json_t *body, *ans = NULL;
	const char *id;
	long status;
	int rc;

	*out = NULL;
	if (sapp_phase(app) == SAPP_ENROLLED)
		return sl_fail(err, SL_ECONFLICT, "this app is enrolled already");
	if ((rc = spec_check(spec, err)) != SL_OK)
		return rc;
	if (sapp_phase(app) == SAPP_ENROLLING && (rc = reset_enrollment(app, err)) != SL_OK)
		return rc;
	body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "phone", spec->es_phone, "terms_version", spec->es_terms_version,
		"language", spec->es_language, "device_name",
		spec->es_device_name ? spec->es_device_name : "sleutel-app", "transport_key",
		sapp_transport_jwk(&app->sa_tk));
	if (body == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = sapp_call(app, "POST", "/enroll/start", body, true, 0, &status, &ans, err);
	json_decref(body);
	if (rc != SL_OK)
		return rc;
	id = json_string_value(json_object_get(ans, "enrollment_id"));
	if (!sapp_id_ok(id)) {
		json_decref(ans);
		return sl_fail(err, SL_EINVAL, "the server's enrollment_id is not an id");
	}
	sl_strlcpy(app->sa_st.st_enrollment_id, id, sizeof(app->sa_st.st_enrollment_id));
	sl_strlcpy(app->sa_st.st_enrollment_status, "sms", sizeof(app->sa_st.st_enrollment_status));
	if ((rc = note_status(app, ans, err)) != SL_OK || (rc = sapp_save(app, err)) != SL_OK) {
		json_decref(ans);
		return rc;
	}
	*out = ans;
	return SL_OK;
}

/* POST {"code": code} to an enrolment step; the status it answers is kept. */
static int
post_code(struct sapp *app, const char *path, const char *code, json_t **out, struct sl_err *err)
{
	json_t *body, *ans = NULL;
	long status;
	int rc;

	if ((body = json_pack("{s:s}", "code", code)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = sapp_call(app, "POST", path, body, true, 0, &status, &ans, err);
	json_decref(body);
	if (rc != SL_OK) {
		forget_if_ended(app);
		return rc;
	}
	if ((rc = note_status(app, ans, err)) != SL_OK) {
		json_decref(ans);
		return rc;
	}
	*out = ans;
	return SL_OK;
}

int
sapp_enroll_sms(struct sapp *app, const char *sms_code, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = need_enrolling(app, err)) != SL_OK)
		return rc;
	if (!digits_ok(sms_code, ENROLL_SMS_MAX))
		return sl_fail(err, SL_EINVAL, "the activation code is digits only");
	return post_code(app, "/enroll/sms", sms_code, out, err);
}

int
sapp_enroll_resend(struct sapp *app, json_t **out, struct sl_err *err)
{
	json_t *body = json_object();
	long status;
	int rc;

	*out = NULL;
	if ((rc = need_enrolling(app, err)) != SL_OK || body == NULL) {
		json_decref(body);
		return rc != SL_OK ? rc : sl_fail(err, SL_ENOMEM, "out of memory");
	}
	rc = sapp_call(app, "POST", "/enroll/sms/resend", body, true, 0, &status, out, err);
	json_decref(body);
	if (rc != SL_OK)
		forget_if_ended(app);
	return rc;
}

int
sapp_enroll_proof(struct sapp *app, const char *code, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = need_enrolling(app, err)) != SL_OK)
		return rc;
	if (code == NULL || code[0] == '\0' || strlen(code) > ENROLL_PROOF_CODE_MAX ||
		!sl_str_printable(code, strlen(code)))
		return sl_fail(err, SL_EINVAL, "the proofing code is the 8 characters the page shows (XXXX-XXXX)");
	return post_code(app, "/enroll/proof", code, out, err);
}

int
sapp_enroll_status(struct sapp *app, int wait, json_t **out, struct sl_err *err)
{
	const struct sapp_status_poll sp = { &app->sa_tk, "/enroll", "/enroll", ENROLL_PEEK, "proofing", note_status,
		forget_if_ended, sapp_enrollment_status };
	int rc;

	*out = NULL;
	if ((rc = need_enrolling(app, err)) != SL_OK)
		return rc;
	return sapp_status_poll(app, &sp, wait, out, err);
}

/* Seal Q to the server's current key with aad = the enrolment id. */
static json_t *
finish_body(struct sapp *app, const uint8_t q[P256_PUB_LEN], struct sl_err *err)
{
	const char *eid = app->sa_st.st_enrollment_id;
	char kid[SEAL_KID_MAX], *enc;
	uint8_t spub[P256_PUB_LEN], *sealed = NULL;
	size_t slen = 0;
	json_t *body;

	if (sapp_seal_key(app, kid, spub, err) != SL_OK ||
		seal(spub, kid, (const uint8_t *)eid, strlen(eid), q, P256_PUB_LEN, &sealed, &slen, err) != SL_OK)
		return NULL;
	enc = sl_b64url_encode(sealed, slen);
	free(sealed);
	body = enc ? json_pack("{s:s, s:s}", "seal_kid", kid, "confirmation_key", enc) : NULL;
	free(enc);
	if (body == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return body;
}

/* The enrolled state: device, account, phone, and the camouflaged key. */
static int
finish_keep(struct sapp *app, json_t *ans, const uint8_t c[P256_SCALAR_LEN], const uint8_t salt[CAMO_SALT_LEN],
	struct sl_err *err)
{
	const char *dev = json_string_value(json_object_get(ans, "device_id"));
	const char *acc = json_string_value(json_object_get(ans, "account_id"));
	const char *phone = json_string_value(json_object_get(ans, "phone"));
	struct sapp_state *st = &app->sa_st;

	if (!sapp_id_ok(dev) || !sapp_id_ok(acc) || !sapp_phone_ok(phone))
		return sl_fail(err, SL_EINVAL, "the server's device_id, account_id or phone is malformed");
	sl_strlcpy(st->st_device_id, dev, sizeof(st->st_device_id));
	sl_strlcpy(st->st_account_id, acc, sizeof(st->st_account_id));
	sl_strlcpy(st->st_phone, phone, sizeof(st->st_phone));
	memcpy(st->st_c, c, P256_SCALAR_LEN);
	memcpy(st->st_salt, salt, CAMO_SALT_LEN);
	st->st_params = app->sa_params;
	st->st_has_confirm = true;
	st->st_enrollment_id[0] = '\0';
	st->st_enrollment_status[0] = '\0';
	return sapp_save(app, err);
}

/* The finish of an enrolment or a recovery: the app code makes the key,
 * Q goes sealed to `path` with the members of `extra` (may be NULL). */
static int
finish_to(
	struct sapp *app, const char *path, const char *app_code, const json_t *extra, json_t **out, struct sl_err *err)
{
	uint8_t c[P256_SCALAR_LEN], salt[CAMO_SALT_LEN], q[P256_PUB_LEN];
	json_t *body = NULL, *ans = NULL;
	long status;
	int rc;

	*out = NULL;
	if ((rc = need_enrolling(app, err)) != SL_OK)
		return rc;
	if (!camo_code_ok(app_code))
		return sl_fail(err, SL_EINVAL, "the app code is exactly %d digits", CAMO_CODE_LEN);
	if ((rc = camo_make(app_code, &app->sa_params, c, salt, q, err)) != SL_OK)
		return rc;
	if ((body = finish_body(app, q, err)) == NULL) {
		rc = err ? err->code : SL_ERR;
		goto out;
	}
	if (extra != NULL && json_object_update(body, (json_t *)extra) != 0) {
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	rc = sapp_call(app, "POST", path, body, true, 0, &status, &ans, err);
	if (rc != SL_OK) {
		forget_if_ended(app);
		goto out;
	}
	if ((rc = finish_keep(app, ans, c, salt, err)) != SL_OK)
		goto out;
	*out = ans;
	ans = NULL;
out:
	OPENSSL_cleanse(c, sizeof(c));
	OPENSSL_cleanse(salt, sizeof(salt));
	OPENSSL_cleanse(q, sizeof(q));
	json_decref(body);
	json_decref(ans);
	return rc;
}

int
sapp_enroll_finish(struct sapp *app, const char *app_code, json_t **out, struct sl_err *err)
{
	return finish_to(app, "/enroll/finish", app_code, NULL, out, err);
}

/* ---- recovery (docs/device-api.md "Recovery") ---- */

/* Forget the enrolled device here (its code is forgotten, or this is a
 * new phone's copy): the server ends it when the recovery finishes. */
static void
forget_device(struct sapp *app)
{
	struct sapp_state *st = &app->sa_st;

	st->st_device_id[0] = st->st_account_id[0] = st->st_phone[0] = '\0';
	OPENSSL_cleanse(st->st_c, sizeof(st->st_c));
	OPENSSL_cleanse(st->st_salt, sizeof(st->st_salt));
	st->st_has_confirm = false;
}

int
sapp_recover_start(struct sapp *app, const struct sapp_enroll_spec *spec, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = spec_check(spec, err)) != SL_OK)
		return rc;
	if (sapp_phase(app) == SAPP_ENROLLED) {
		/* A new transport key: the old one is the device's, ended by the recovery. */
		forget_device(app);
		if ((rc = reset_enrollment(app, err)) != SL_OK)
			return rc;
	}
	return sapp_enroll_start(app, spec, out, err);
}

int
sapp_recover_finish(struct sapp *app, const char *app_code, const char *const *revoke, size_t nrevoke, json_t **out,
	struct sl_err *err)
{
	json_t *extra = NULL, *list;
	int rc;

	*out = NULL;
	if (nrevoke > SAPP_RECOVER_MAX)
		return sl_fail(err, SL_EINVAL, "at most %d devices to revoke", SAPP_RECOVER_MAX);
	if (nrevoke > 0) {
		if ((extra = json_object()) == NULL || (list = json_array()) == NULL ||
			json_object_set_new(extra, "revoke", list) != 0) {
			json_decref(extra);
			return sl_fail(err, SL_ENOMEM, "out of memory");
		}
		for (size_t i = 0; i < nrevoke; i++)
			if (!sapp_id_ok(revoke[i]) || json_array_append_new(list, json_string(revoke[i])) != 0) {
				json_decref(extra);
				return sl_fail(err, SL_EINVAL, "not a device id: %.64s", revoke[i] ? revoke[i] : "");
			}
	}
	rc = finish_to(app, "/enroll/recover", app_code, extra, out, err);
	json_decref(extra);
	return rc;
}
