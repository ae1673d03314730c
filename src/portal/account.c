/* account.c — placeholder until the citizen's page lands. */
#include "portal.h"

const struct http_route account_routes[1] = { { 0 } };
const size_t account_nroutes = 0;
