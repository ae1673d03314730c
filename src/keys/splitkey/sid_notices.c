/*
 * sid_notices.c — GET /device/v1/smartid/notices: what a Smart-ID device
 * is told about the person's other devices (an app phone or Smart-ID
 * device added, blocked, revoked), the same list the app's GET /notices
 * gives (keys/app/notices.c), for the person of this device's account.
 */
#include "sid_login_int.h"

void
sid_notices_get(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_sid_device dev;
	struct store_sid_account acct = { 0 };
	json_t *ans = NULL;

	if (sid_device_authenticate(srv, rq, &dev) != SL_OK)
		return;
	if (store_sid_account_get(srv->sv_store, dev.sd_account_id, &acct) == SL_OK)
		ans = app_notices_for_device(srv, acct.sa_person_id, dev.sd_id, dev.sd_created);
	if (ans == NULL)
		app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	else
		http_send_json(rq, 200, ans);
	store_sid_account_clear(&acct);
	store_sid_device_clear(&dev);
}
