/* login.c — the login half's route table (the portal's Smart-ID key and
 * the device's request channel, docs/smartid-api.md). */
#include "splitkey.h"

const struct http_route sid_login_routes[] = {
	{ NULL, 0, 0, false, 0, NULL },
};
const size_t sid_login_nroutes = 0;
