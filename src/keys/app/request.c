/* request.c — placeholder until the request side lands. */
#include "app.h"

const struct http_route app_login_routes[1] = { { 0 } };
const size_t app_login_nroutes = 0;

int
app_requests_init(struct server *srv, struct sl_err *err)
{
	(void)srv;
	(void)err;
	return SL_OK;
}

void
app_requests_free(struct server *srv)
{
	(void)srv;
}

int
app_request_create(
	struct server *srv, const struct app_request_spec *spec, struct app_request_made *out, struct sl_err *err)
{
	(void)srv;
	(void)spec;
	(void)out;
	return sl_fail(err, SL_ENOTFOUND, "not built yet");
}
