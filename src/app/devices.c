/*
 * devices.c — the account's devices: list them, remove one (this one
 * too; then the state forgets the enrolment and keeps only its server).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "app_int.h"

#define DEVICES_MAX 64 /* devices in one answer */

int
sapp_devices(struct sapp *app, json_t **out, struct sl_err *err)
{
	*out = NULL;
	if (sapp_phase(app) != SAPP_ENROLLED)
		return sl_fail(err, SL_EINVAL, "this app is not enrolled yet");
	return sapp_devices_at(app, &app->sa_tk, "/devices", out, err);
}

int
sapp_devices_at(struct sapp *app, const struct sapp_transport *tk, const char *path, json_t **out, struct sl_err *err)
{
	json_t *ans = NULL, *arr;
	long status;
	int rc;

	*out = NULL;
	if ((rc = sapp_call_as(app, tk, "GET", path, NULL, true, 0, &status, &ans, err)) != SL_OK)
		return rc;
	arr = json_object_get(ans, "devices");
	if (!json_is_array(arr) || json_array_size(arr) > DEVICES_MAX) {
		json_decref(ans);
		return sl_fail(err, SL_EINVAL, "the server's devices are not a list of at most %d", DEVICES_MAX);
	}
	*out = json_incref(arr);
	json_decref(ans);
	return SL_OK;
}

/* This device is gone: keep the server and the transport key only. */
static int
forget_device(struct sapp *app, struct sl_err *err)
{
	struct sapp_state *st = &app->sa_st;

	st->st_device_id[0] = '\0';
	st->st_account_id[0] = '\0';
	st->st_phone[0] = '\0';
	st->st_has_confirm = false;
	OPENSSL_cleanse(st->st_c, sizeof(st->st_c));
	OPENSSL_cleanse(st->st_salt, sizeof(st->st_salt));
	memset(&st->st_params, 0, sizeof(st->st_params));
	return sapp_save(app, err);
}

int
sapp_remove_at(struct sapp *app, const struct sapp_transport *tk, const char *base, const char *device_id, json_t **out,
	struct sl_err *err)
{
	char path[SAPP_ID_MAX + 64];
	json_t *body;
	long status;
	int rc;

	*out = NULL;
	if (!sapp_id_ok(device_id))
		return sl_fail(err, SL_EINVAL, "not a device id");
	snprintf(path, sizeof(path), "%s/devices/%s/remove", base, device_id);
	if ((body = json_object()) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = sapp_call_as(app, tk, "POST", path, body, true, 0, &status, out, err);
	json_decref(body);
	return rc;
}

int
sapp_remove(struct sapp *app, const char *device_id, json_t **out, struct sl_err *err)
{
	int rc;

	*out = NULL;
	if (sapp_phase(app) != SAPP_ENROLLED)
		return sl_fail(err, SL_EINVAL, "this app is not enrolled yet");
	rc = sapp_remove_at(app, &app->sa_tk, "", device_id, out, err);
	if (rc == SL_OK && strcmp(device_id, app->sa_st.st_device_id) == 0)
		rc = forget_device(app, err);
	return rc;
}
