/*
 * smartid_dev.c — the Smart-ID device once active: what the state holds
 * (phase, ids, certificates), GET /status, the account's devices and
 * their removal (this device: the state forgets its keys).
 */
#include <string.h>

#include "app_int.h"

enum sapp_sid_phase
sapp_sid_phase(const struct sapp *app)
{
	const struct sapp_sid_state *ss = &app->sa_st.st_sid;

	if (!ss->ss_present)
		return SAPP_SID_NONE;
	return ss->ss_device_id[0] != '\0' ? SAPP_SID_ACTIVE : SAPP_SID_REGISTERING;
}

const char *
sapp_sid_registration_id(const struct sapp *app)
{
	return app->sa_st.st_sid.ss_registration_id;
}

const char *
sapp_sid_registration_status(const struct sapp *app)
{
	return app->sa_st.st_sid.ss_registration_status;
}

const char *
sapp_sid_device_id(const struct sapp *app)
{
	return app->sa_st.st_sid.ss_device_id;
}

const char *
sapp_sid_account_id(const struct sapp *app)
{
	return app->sa_st.st_sid.ss_account_id;
}

const char *
sapp_sid_document_number(const struct sapp *app)
{
	return app->sa_st.st_sid.ss_document_number;
}

const char *
sapp_sid_certificate(const struct sapp *app, const char *use)
{
	if (use != NULL && strcmp(use, "auth") == 0)
		return app->sa_st.st_sid.ss_keys[SAPP_SID_AUTH].sk_cert;
	if (use != NULL && strcmp(use, "sign") == 0)
		return app->sa_st.st_sid.ss_keys[SAPP_SID_SIGN].sk_cert;
	return NULL;
}

int
sapp_sid_need_active(const struct sapp *app, struct sl_err *err)
{
	if (sapp_sid_phase(app) != SAPP_SID_ACTIVE)
		return sl_fail(err, SL_EINVAL, "this app has no active Smart-ID device");
	return SL_OK;
}

int
sapp_sid_status(struct sapp *app, json_t **out, struct sl_err *err)
{
	long status;
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	return sapp_sid_call(app, "GET", "/status", NULL, 0, &status, out, err);
}

int
sapp_sid_devices(struct sapp *app, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	return sapp_devices_at(app, &app->sa_sid_tk, "/smartid/devices", out, err);
}

int
sapp_sid_remove(struct sapp *app, const char *device_id, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if ((rc = sapp_sid_need_active(app, err)) != SL_OK)
		return rc;
	rc = sapp_remove_at(app, &app->sa_sid_tk, "/smartid", device_id, out, err);
	if (rc == SL_OK && strcmp(device_id, app->sa_st.st_sid.ss_device_id) == 0)
		rc = sapp_sid_forget(app, err);
	return rc;
}
