/*
 * notices.c — GET /device/v1/notices: what the person is told about their
 * other devices (a device added, blocked or revoked), for the app to show;
 * the same list for a Smart-ID device (GET /device/v1/smartid/notices,
 * splitkey/sid_notices.c); and the record of a device added at enrolment.
 *
 * A device sees the unread notices about any other device of its person
 * made since it was itself added: a new phone is not told of the past,
 * and a phone is not told that it was itself added.  The person marks a
 * notice read on the account page; the device API only reads, so a stolen
 * phone cannot hide from the others that it was added.
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

#define APP_NOTICES_MAX 20 /* notices one fetch returns, newest first */

static int
notice_one(const struct store_notice *n, void *arg)
{
	json_t *list = arg, *o;

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", n->nt_id, "kind", n->nt_kind, "device_kind", n->nt_device_kind,
		"device_id", n->nt_device_id, "device_name", n->nt_device_name ? n->nt_device_name : "", "created",
		(json_int_t)n->nt_created);
	if (o == NULL || json_array_append_new(list, o) != 0)
		return SL_ENOMEM;
	return SL_OK;
}

json_t *
app_notices_for_device(struct server *srv, const char *person_id, const char *device_id, int64_t since)
{
	json_t *list = json_array();

	if (list == NULL || person_id == NULL ||
		store_notice_each_for_device(
			srv->sv_store, person_id, device_id, since, APP_NOTICES_MAX, notice_one, list) != SL_OK) {
		json_decref(list);
		return NULL;
	}
	return json_pack("{s:o}", "notices", list);
}

void
app_notices_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_device dev;
	struct store_account acct = { 0 };
	json_t *ans = NULL;

	if (app_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	if (store_account_get(srv->sv_store, dev.dv_account_id, &acct) == SL_OK)
		ans = app_notices_for_device(srv, acct.ac_person_id, dev.dv_id, dev.dv_created);
	if (ans == NULL)
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	else
		http_send_json(rq, 200, ans);
	store_account_clear(&acct);
	store_device_clear(&dev);
}

void
app_notice_device(struct server *srv, const char *person_id, const char *kind, const char *device_kind,
	const char *device_id, const char *device_name)
{
	struct store_notice n = { .nt_person_id = (char *)person_id,
		.nt_kind = (char *)kind,
		.nt_device_kind = (char *)device_kind,
		.nt_device_id = (char *)device_id,
		.nt_device_name = (char *)device_name };

	if (person_id == NULL || store_notice_add(srv->sv_store, &n) != SL_OK)
		log_warn("%s: the notice of device %s was not recorded", kind, device_id);
	free(n.nt_id);
}

void
app_notice_device_added(struct server *srv, const char *person_id, const struct store_device *dev)
{
	app_notice_device(srv, person_id, "device.added", APP_KEY_NAME, dev->dv_id, dev->dv_name);
}
