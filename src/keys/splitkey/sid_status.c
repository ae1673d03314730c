/*
 * sid_status.c — what a Smart-ID device may ask about its account
 * (docs/smartid-api.md): GET /status (this device, its person and the
 * state of its two keys), GET /devices (the account's devices) and
 * POST /devices/{id}/remove (any active device of the same account, this
 * one too; its keys end with it, and its pending requests, whose
 * browsers are told at once).  Another account's device is 404, as one
 * that does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "sid_login_int.h"

#define REMOVE_SUFFIX "/remove"

static json_t *
key_json(struct server *srv, const char *device_id, const char *use)
{
	struct store_sid_key k = { 0 };
	json_t *o;

	if (store_sid_key_get(srv->sv_store, device_id, use, &k) != SL_OK)
		return json_null();
	o = json_pack("{s:i,s:I,s:s?}", "failures", k.sk_failures, "locked_until",
		(json_int_t)(k.sk_locked_until == STORE_LOCKED_FOREVER ? -1 : k.sk_locked_until), "certificate",
		k.sk_cert_pem);
	store_sid_key_clear(&k);
	return o;
}

/* The logins waiting on an account's requests when a device ends. */
struct ended_logins {
	struct store_sid_request el_req[SID_END_NOTIFY_MAX];
	size_t el_n;
};

static int
collect_pending(const struct store_sid_request *r, void *arg)
{
	struct ended_logins *el = arg;
	struct store_sid_request *c;

	if (el->el_n == SID_END_NOTIFY_MAX)
		return SL_OK;
	c = &el->el_req[el->el_n];
	c->sq_id = strdup(r->sq_id);
	c->sq_account_id = strdup(r->sq_account_id);
	c->sq_link_kind = strdup(r->sq_link_kind ? r->sq_link_kind : "");
	c->sq_link_id = strdup(r->sq_link_id ? r->sq_link_id : "");
	if (c->sq_id == NULL || c->sq_account_id == NULL || c->sq_link_kind == NULL || c->sq_link_id == NULL) {
		store_sid_request_clear(c);
		return SL_ENOMEM;
	}
	el->el_n++;
	return SL_OK;
}

/* Both certificates of a device, by the serials on record. */
static void
sid_device_certs_revoke(struct server *srv, const char *device_id)
{
	static const char *const uses[] = { STORE_SID_KEY_AUTH, STORE_SID_KEY_SIGN };
	struct store_sid_key k[2];
	const char *serials[2] = { NULL, NULL };

	memset(k, 0, sizeof(k));
	for (size_t i = 0; i < 2; i++)
		if (store_sid_key_get(srv->sv_store, device_id, uses[i], &k[i]) == SL_OK)
			serials[i] = k[i].sk_cert_serial;
	sid_certs_revoke(srv, serials, 2);
	store_sid_key_clear(&k[0]);
	store_sid_key_clear(&k[1]);
}

int
sid_device_end(struct server *srv, const struct store_sid_device *dev, const char *status, const char *reason)
{
	struct ended_logins *el = calloc(1, sizeof(*el));
	struct store_sid_request now = { 0 };
	int rc;

	if (el != NULL)
		store_sid_request_each_pending(srv->sv_store, dev->sd_account_id, sl_now(), collect_pending, el);
	rc = store_sid_device_end(srv->sv_store, dev->sd_id, status, reason);
	if (rc == SL_OK)
		sid_device_certs_revoke(srv, dev->sd_id);
	for (size_t i = 0; el != NULL && i < el->el_n; i++) {
		/* Only those the end failed: another device may have answered. */
		if (rc == SL_OK && store_sid_request_get(srv->sv_store, el->el_req[i].sq_id, &now) == SL_OK &&
			strcmp(now.sq_status, "failed") == 0)
			sid_request_finished(srv, &el->el_req[i], "failed", NULL);
		store_sid_request_clear(&now);
		store_sid_request_clear(&el->el_req[i]);
	}
	free(el);
	return rc;
}

void
sid_status_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_sid_device dev;
	struct store_sid_account acct = { 0 };
	struct store_person person = { 0 };

	if (sid_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	if (store_sid_account_get(srv->sv_store, dev.sd_account_id, &acct) != SL_OK ||
		store_person_get(srv->sv_store, acct.sa_person_id, &person) != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	} else {
		http_send_json(rq, 200,
			json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:{s:o,s:o}}", "account_id", acct.sa_id, "device_id",
				dev.sd_id, "document_number", dev.sd_document, "status", dev.sd_status, "person",
				"given_name", person.p_given_name ? person.p_given_name : "", "family_name",
				person.p_family_name ? person.p_family_name : "", "keys", STORE_SID_KEY_AUTH,
				key_json(srv, dev.sd_id, STORE_SID_KEY_AUTH), STORE_SID_KEY_SIGN,
				key_json(srv, dev.sd_id, STORE_SID_KEY_SIGN)));
	}
	store_person_clear(&person);
	store_sid_account_clear(&acct);
	store_sid_device_clear(&dev);
}

struct device_list {
	json_t *dl_list;
	const char *dl_self;
};

static int
device_one(const struct store_sid_device *d, void *arg)
{
	struct device_list *dl = arg;
	json_t *o;

	if (strcmp(d->sd_status, "removed") == 0)
		return SL_OK;
	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:b}", "id", d->sd_id, "name", d->sd_name ? d->sd_name : "",
		"document_number", d->sd_document, "status", d->sd_status, "created", (json_int_t)d->sd_created,
		"last_used", (json_int_t)d->sd_last_used, "this_device", strcmp(d->sd_id, dl->dl_self) == 0);
	if (o == NULL)
		return SL_ENOMEM;
	json_array_append_new(dl->dl_list, o);
	return SL_OK;
}

void
sid_devices_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_sid_device dev;
	struct device_list dl;

	if (sid_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	dl = (struct device_list){ json_array(), dev.sd_id };
	if (store_sid_device_each(srv->sv_store, dev.sd_account_id, device_one, &dl) != SL_OK)
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	else
		http_send_json(rq, 200, json_pack("{s:O}", "devices", dl.dl_list));
	json_decref(dl.dl_list);
	store_sid_device_clear(&dev);
}

void
sid_devices_remove(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_sid_device dev, other = { 0 };
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = {
		.au_event = "smartid.device.remove", .au_key = SID_KEY_NAME, .au_ip = server_audit_ip(srv, rq, ipbuf)
	};
	char id[APP_ID_MAX + 1];
	int rc;

	if (sid_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	if (!sid_path_id(rq, SID_DEVICE_BASE "/devices/", REMOVE_SUFFIX, id) ||
		store_sid_device_get(srv->sv_store, id, &other) != SL_OK ||
		strcmp(other.sd_account_id, dev.sd_account_id) != 0 || strcmp(other.sd_status, "active") != 0) {
		app_send_error(rq, 404, "not_found", "No such device.", NULL);
		goto out;
	}
	rc = sid_device_end(srv, &other, "removed", "person");
	if (rc == SL_ECONFLICT) {
		app_send_error(rq, 404, "not_found", "No such device.", NULL);
		goto out;
	}
	if (rc != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		goto out;
	}
	au.au_result = "ok";
	au.au_detail = id;
	store_audit_add(srv->sv_store, &au);
	http_send_json(rq, 200, json_pack("{s:s}", "status", "removed"));
out:
	store_sid_device_clear(&other);
	store_sid_device_clear(&dev);
}
