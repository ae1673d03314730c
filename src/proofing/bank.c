/* bank.c — placeholder until proofing lands. */
#include "proofing.h"

const struct http_route proofing_routes[1] = { { 0 } };
const size_t proofing_nroutes = 0;

int
proofing_init(struct server *srv, struct sl_err *err)
{
	(void)srv;
	(void)err;
	return SL_OK;
}

void
proofing_free(struct server *srv)
{
	(void)srv;
}

json_t *
proofing_choices(struct server *srv, const char *enrollment_id, int lang)
{
	(void)srv;
	(void)enrollment_id;
	(void)lang;
	return json_array();
}
