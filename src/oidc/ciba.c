/* ciba.c — placeholder until CIBA lands. */
#include "oidc_int.h"

const struct http_route oidc_ciba_routes[1] = { { 0 } };
const size_t oidc_ciba_nroutes = 0;

void
oidc_ciba_finished(struct server *srv, const char *auth_req_id)
{
	(void)srv;
	(void)auth_req_id;
}
