/*
 * devices.c — a person's phones as the app sees them: GET /devices (the
 * devices of this device's account) and POST /devices/{id}/remove (any
 * device of the same account, this one too).  A removed device's proofs
 * are refused from then on (app_device_authenticate wants "active").
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

#define REMOVE_SUFFIX "/remove"

struct device_list {
	json_t *dl_list;
	const char *dl_self;
};

static int
device_one(const struct store_device *d, void *arg)
{
	struct device_list *dl = arg;
	json_t *o;

	if (strcmp(d->dv_status, "removed") == 0)
		return SL_OK;
	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b}", "id", d->dv_id, "name", d->dv_name ? d->dv_name : "", "status",
		d->dv_status, "created", (json_int_t)d->dv_created, "last_used", (json_int_t)d->dv_last_used,
		"this_device", strcmp(d->dv_id, dl->dl_self) == 0);
	if (o == NULL)
		return SL_ENOMEM;
	json_array_append_new(dl->dl_list, o);
	return SL_OK;
}

void
app_devices_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_device dev;
	struct device_list dl;

	if (app_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	dl = (struct device_list){ json_array(), dev.dv_id };
	if (store_device_each(srv->sv_store, dev.dv_account_id, device_one, &dl) != SL_OK)
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	else
		http_send_json(rq, 200, json_pack("{s:O}", "devices", dl.dl_list));
	json_decref(dl.dl_list);
	store_device_clear(&dev);
}

void
app_devices_remove(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *rest = http_path(rq) + strlen(APP_DEVICE_BASE "/devices/");
	size_t n = strlen(rest), slen = strlen(REMOVE_SUFFIX);
	struct store_device dev, other = { 0 };
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "app.device.remove", .au_key = APP_KEY_NAME, .au_ip = server_audit_ip(srv, rq, ipbuf)
	};
	char id[APP_ID_MAX + 1];

	if (app_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	if (n <= slen || n - slen > APP_ID_MAX || strcmp(rest + n - slen, REMOVE_SUFFIX) != 0) {
		app_send_error(rq, 404, "not_found", "No such device.", NULL);
		goto out;
	}
	memcpy(id, rest, n - slen);
	id[n - slen] = '\0';
	if (!app_id_ok(id) || store_device_get(srv->sv_store, id, &other) != SL_OK ||
		strcmp(other.dv_account_id, dev.dv_account_id) != 0 || strcmp(other.dv_status, "removed") == 0) {
		app_send_error(rq, 404, "not_found", "No such device.", NULL);
		goto out;
	}
	if (store_device_set_status(srv->sv_store, id, "removed") != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		goto out;
	}
	au.au_result = "ok";
	au.au_detail = id;
	store_audit_add(srv->sv_store, &au);
	http_send_json(rq, 200, json_pack("{s:s}", "status", "removed"));
out:
	store_device_clear(&other);
	store_device_clear(&dev);
}
