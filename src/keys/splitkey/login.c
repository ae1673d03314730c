/* login.c — the login half's route table: the portal's Smart-ID key
 * (/key/smartid...) and the device's request channel, answers, status and
 * devices (docs/smartid-api.md).  What each file does: sid_login_int.h. */
#include "sid_login_int.h"

#define P HTTP_ORIGIN_PORTAL
#define GET (HTTP_GET | HTTP_HEAD)
#define POST HTTP_POST
#define API HTTP_KIND_API
#define PAGE HTTP_KIND_PAGE

const struct http_route sid_login_routes[] = {
	{ "/key/smartid", GET, P, false, PAGE, sidlogin_page },
	{ "/key/smartid/login", POST, P, false, PAGE, sidlogin_submit },
	{ "/key/smartid/wait", GET, P, false, PAGE, sidlogin_wait },
	{ "/key/smartid/poll", GET, P, false, API, sidlogin_poll },
	{ "/key/smartid/extend", POST, P, false, PAGE, sidlogin_extend },
	{ SID_DEVICE_BASE "/requests", GET, P, false, API, sid_channel_get },
	{ SID_DEVICE_BASE "/requests/", POST, P, true, API, sid_confirm_post },
	{ SID_DEVICE_BASE "/status", GET, P, false, API, sid_status_get },
	{ SID_DEVICE_BASE "/devices", GET, P, false, API, sid_devices_get },
	{ SID_DEVICE_BASE "/devices/", POST, P, true, API, sid_devices_remove },
	{ SID_DEVICE_BASE "/notices", GET, P, false, API, sid_notices_get },
};
const size_t sid_login_nroutes = sizeof(sid_login_routes) / sizeof(sid_login_routes[0]);
