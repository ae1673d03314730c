/*
 * sid_channel.c — GET /device/v1/smartid/requests, a Smart-ID device's
 * request channel (as the app key's channel.c).  The device long-polls:
 * its account's pending requests are answered at once; otherwise the
 * connection waits (a waiter, no thread) on sid_account_wait_key(account),
 * which sid_request_create() and sidrp_request_make() notify, until [app] poll_timeout passes
 * (204: poll again).  "?wait=0" answers at once (an empty list).
 *
 * The proof is checked on the first call only (its jti is spent then);
 * after the wait the handler runs again with the device id kept as
 * request data, and the device is looked at again: one revoked, removed
 * or blocked while it waited gets no request.
 */
#include <stdlib.h>
#include <string.h>

#include "sid_login_int.h"

struct pending_list {
	json_t *pl_list;
	int64_t pl_now;
	const char *pl_device;
};

static int
pending_one(const struct store_sid_request *r, void *arg)
{
	struct pending_list *pl = arg;
	json_t *o;

	if (!sid_request_for_device(r, pl->pl_device))
		return SL_OK; /* another device's (by document number, a claimed link) */
	o = sid_request_json(r, pl->pl_now);
	if (o == NULL)
		return SL_ENOMEM;
	json_array_append_new(pl->pl_list, o);
	return SL_OK;
}

struct channel_look {
	struct server *cl_srv;
	const char *cl_account;
	const char *cl_device;
	int cl_n; /* pending requests this device may see */
};

static int
count_visible(const struct store_sid_request *r, void *arg)
{
	struct channel_look *cl = arg;

	if (sid_request_for_device(r, cl->cl_device))
		cl->cl_n++;
	return SL_OK;
}

/* Only what this device would be given wakes it: another device's
 * request must not end its long-poll at once, again and again. */
static bool
channel_has(void *arg)
{
	struct channel_look *cl = arg;

	cl->cl_n = 0;
	return store_sid_request_each_pending(cl->cl_srv->sv_store, cl->cl_account, sl_now(), count_visible, cl) ==
		       SL_OK &&
	       cl->cl_n > 0;
}

/* Back from a wait: still an active device of an active account? */
static bool
still_active(struct server *srv, struct http_request *rq, const char *device_id, struct store_sid_device *dev)
{
	struct store_sid_account acct = { 0 };
	bool ok = false;

	if (store_sid_device_get(srv->sv_store, device_id, dev) == SL_OK && strcmp(dev->sd_status, "active") == 0 &&
		store_sid_account_get(srv->sv_store, dev->sd_account_id, &acct) == SL_OK)
		ok = strcmp(acct.sa_status, "active") == 0;
	store_sid_account_clear(&acct);
	if (!ok)
		app_send_error(rq, 401, "invalid_proof", "This device can no longer be used.", NULL);
	return ok;
}

/* First call: the proof; the device id kept for the rounds after a wait. */
static bool
first_call(struct server *srv, struct http_request *rq, struct store_sid_device *dev)
{
	char *copy;

	if (sid_device_authenticate(srv, rq, dev) != SL_OK)
		return false;
	copy = strdup(dev->sd_id);
	if (copy == NULL) {
		app_send_error(rq, 503, "temporarily_unavailable", "out of memory", NULL);
		return false;
	}
	http_set_data(rq, copy, free);
	store_sid_device_touch(srv->sv_store, dev->sd_id, sl_now());
	return true;
}

void
sid_channel_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct pending_list pl = { json_array(), sl_now(), NULL };
	struct store_sid_device dev = { 0 };
	const char *waited = http_get_data(rq), *wait = http_param(rq, "wait");
	char key[128];

	if (waited == NULL ? !first_call(srv, rq, &dev) : !still_active(srv, rq, waited, &dev))
		goto out;
	pl.pl_device = dev.sd_id;
	if (store_sid_request_each_pending(srv->sv_store, dev.sd_account_id, pl.pl_now, pending_one, &pl) != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	} else {
		struct channel_look cl = { srv, dev.sd_account_id, dev.sd_id, 0 };
		sid_account_wait_key(dev.sd_account_id, key, sizeof(key));
		app_channel_reply(srv, rq, pl.pl_list, wait != NULL && strcmp(wait, "0") == 0, key, channel_has, &cl);
	}
out:
	json_decref(pl.pl_list);
	store_sid_device_clear(&dev);
}
