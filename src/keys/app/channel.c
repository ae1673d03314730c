/*
 * channel.c — GET /device/v1/requests, the request channel.  The app
 * long-polls: pending requests of its account are answered at once;
 * otherwise the connection waits (a waiter in the registry, no thread) on
 * app_account_wait_key(account), which the request side notifies when it
 * makes a request, until [app] poll_timeout passes (204: poll again).
 *
 * The proof is checked on the first call only: its jti is spent then, and
 * the handler runs again after the wait with the device id kept as request
 * data; the device and its account are looked at again then.
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

struct pending_list {
	json_t *pl_list;
	int64_t pl_now;
};

static int
pending_one(const struct store_apprq *r, void *arg)
{
	struct pending_list *pl = arg;
	json_t *o = app_request_json(r, pl->pl_now);

	if (o == NULL)
		return SL_ENOMEM;
	json_array_append_new(pl->pl_list, o);
	return SL_OK;
}

struct channel_look {
	struct server *cl_srv;
	const char *cl_account;
};

/* Is a request pending for the account now? */
static bool
channel_has(void *arg)
{
	struct channel_look *cl = arg;
	int n = 0;

	return store_apprq_count_pending(cl->cl_srv->sv_store, cl->cl_account, sl_now(), &n) == SL_OK && n > 0;
}

/* Back from a wait: the device (kept as request data) must still be
 * active and its account not blocked: one removed or blocked while it
 * waited gets no request.  The answer is sent when not. */
static bool
still_active(struct server *srv, struct http_request *rq, const char *device_id, struct store_device *dev)
{
	struct store_account ac;
	bool ok = false;

	if (store_device_get(srv->sv_store, device_id, dev) == SL_OK && strcmp(dev->dv_status, "active") == 0 &&
		store_account_get(srv->sv_store, dev->dv_account_id, &ac) == SL_OK) {
		ok = strcmp(ac.ac_status, "active") == 0;
		store_account_clear(&ac);
	}
	if (!ok)
		app_send_error(rq, 401, "invalid_proof", "This device can no longer be used.", NULL);
	return ok;
}

void
app_channel_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct pending_list pl = { json_array(), sl_now() };
	struct store_device dev = { 0 };
	const char *waited = http_get_data(rq);
	char key[128];

	if (waited == NULL) {
		char *copy;
		if (app_device_authenticate(srv, rq, &dev) != SL_OK)
			goto out;
		copy = strdup(dev.dv_id);
		if (copy == NULL) {
			app_send_error(rq, 503, "temporarily_unavailable", "out of memory", NULL);
			goto out;
		}
		http_set_data(rq, copy, free);
		/* Last use is shown to the person by the minute at best: a
		 * write per poll would add a commit to every round. */
		if (pl.pl_now - dev.dv_last_used >= APP_TOUCH_EVERY)
			store_device_touch(srv->sv_store, dev.dv_id, pl.pl_now);
	} else if (!still_active(srv, rq, waited, &dev)) {
		goto out;
	}
	if (store_apprq_each_pending(srv->sv_store, dev.dv_account_id, pl.pl_now, pending_one, &pl) != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	} else {
		struct channel_look cl = { srv, dev.dv_account_id };
		app_account_wait_key(dev.dv_account_id, key, sizeof(key));
		app_channel_reply(srv, rq, pl.pl_list, false, key, channel_has, &cl);
	}
out:
	json_decref(pl.pl_list);
	store_device_clear(&dev);
}

void
app_channel_reply(struct server *srv, struct http_request *rq, json_t *list, bool at_once, const char *wait_key,
	bool (*has)(void *), void *arg)
{
	if (json_array_size(list) > 0 || at_once) {
		http_send_json(rq, 200, json_pack("{s:O}", "requests", list));
	} else if (http_wake_reason(rq) != 0) {
		http_send_empty(rq, 204); /* timeout, shutdown, or the request went before we looked */
	} else if (http_wait_recheck(rq, srv->sv_waiters, wait_key,
			   sl_monotonic_ms() + (int64_t)srv->sv_conf->c_app_poll_timeout * 1000, has, arg) != SL_OK) {
		app_send_error(rq, 503, "temporarily_unavailable", "too many waiting; poll again", NULL);
	}
}
