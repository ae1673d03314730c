/*
 * notices.c — GET /device/v1/notices: what the server tells this device
 * about the person's other devices (one added, blocked or revoked since
 * this one was), for the app to show.  Read only: the person marks a
 * notice read on the account page.
 */
#include <string.h>

#include "app_int.h"

#define NOTICES_MAX 20 /* notices in one answer (the server sends at most 20) */

int
sapp_notices(struct sapp *app, json_t **out, struct sl_err *err)
{
	json_t *ans = NULL, *arr, *n;
	long status;
	size_t i;
	int rc;

	*out = NULL;
	if (sapp_phase(app) != SAPP_ENROLLED)
		return sl_fail(err, SL_EINVAL, "this app is not enrolled yet");
	if ((rc = sapp_call_as(app, &app->sa_tk, "GET", "/notices", NULL, true, 0, &status, &ans, err)) != SL_OK)
		return rc;
	arr = json_object_get(ans, "notices");
	if (!json_is_array(arr) || json_array_size(arr) > NOTICES_MAX) {
		json_decref(ans);
		return sl_fail(err, SL_EINVAL, "the server's notices are not a list of at most %d", NOTICES_MAX);
	}
	json_array_foreach(arr, i, n)
	{
		if (!json_is_string(json_object_get(n, "kind")) || !json_is_string(json_object_get(n, "device_id"))) {
			json_decref(ans);
			return sl_fail(err, SL_EINVAL, "a notice without a kind or a device");
		}
	}
	*out = json_incref(arr);
	json_decref(ans);
	return SL_OK;
}
