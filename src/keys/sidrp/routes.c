/* routes.c — the RP API's route table (sidrp.h).  Skeleton: the rpapi
 * engineer fills it and mounts it in src/server/routes.c. */
#include "sidrp_int.h"

const struct http_route sidrp_routes[] = {
	{ SIDRP_DEVICE_LINK_PAGE, HTTP_GET, HTTP_ORIGIN_PORTAL, false, HTTP_KIND_PAGE, sidrp_link_page },
};
const size_t sidrp_nroutes = sizeof(sidrp_routes) / sizeof(sidrp_routes[0]);
