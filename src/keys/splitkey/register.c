/* register.c — the registration half's route table (docs/smartid-api.md
 * "POST /register" ... and the portal's /smartid/register pages). */
#include "splitkey.h"

const struct http_route sid_register_routes[] = {
	{ NULL, 0, 0, false, 0, NULL },
};
const size_t sid_register_nroutes = 0;
