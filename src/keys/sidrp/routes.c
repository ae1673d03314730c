/* routes.c — the RP API's route table (sidrp.h): v3 and v2 (a session's
 * status before the creation prefix: the first match wins), v1 answered
 * 480, the device's link claim and the device-link page.  Mounted by
 * src/server/routes.c when the smartid key and [smartid] rp_api are on. */
#include "sidrp_int.h"

#define GET (HTTP_GET | HTTP_HEAD)
#define P HTTP_ORIGIN_PORTAL

const struct http_route sidrp_routes[] = {
	{ SIDRP_V3_BASE "session/", GET, P, true, HTTP_KIND_API, sidrp_v3_session_get },
	{ SIDRP_V3_BASE, HTTP_POST, P, true, HTTP_KIND_API, sidrp_v3_post },
	{ SIDRP_V2_BASE "session/", GET, P, true, HTTP_KIND_API, sidrp_v2_session_get },
	{ SIDRP_V2_BASE, HTTP_POST, P, true, HTTP_KIND_API, sidrp_v2_post },
	{ "/smart-id/v1/", GET | HTTP_POST, P, true, HTTP_KIND_API, sidrp_v1_gone },
	{ SID_DEVICE_BASE "/link", HTTP_POST, P, false, HTTP_KIND_API, sidrp_link_post },
	{ SIDRP_DEVICE_LINK_PAGE, GET, P, false, HTTP_KIND_PAGE, sidrp_link_page },
};
const size_t sidrp_nroutes = sizeof(sidrp_routes) / sizeof(sidrp_routes[0]);
