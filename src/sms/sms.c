/* sms.c — placeholder until the gateways land. */
#include <stdlib.h>

#include "sms.h"

struct sms_gateway {
	int gw_unused;
};

struct sms_gateway *
sms_gateway_new(const struct sl_config *conf, struct store *st, struct sl_err *err)
{
	(void)conf;
	(void)st;
	(void)err;
	return calloc(1, sizeof(struct sms_gateway));
}

void
sms_gateway_free(struct sms_gateway *gw)
{
	free(gw);
}

int
sms_send(struct sms_gateway *gw, const char *phone, const char *text, struct sl_err *err)
{
	(void)gw;
	(void)phone;
	(void)text;
	return sl_fail(err, SL_EIO, "not built yet");
}
