/* link.c — see sidrp_int.h.  Skeleton: the rpdevice engineer writes it. */
#include "sidrp_int.h"

void
sidrp_link_page(void *ctx, struct http_request *rq)
{
	(void)ctx;
	http_send_json(rq, 404, json_pack("{s:s}", "error", "not_found"));
}

void
sidrp_link_post(void *ctx, struct http_request *rq)
{
	(void)ctx;
	http_send_json(rq, 404, json_pack("{s:s}", "error", "not_found"));
}
