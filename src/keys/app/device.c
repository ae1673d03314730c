/* device.c — placeholder until the device side lands (docs/device-api.md). */
#include "app.h"

const struct http_route app_device_routes[1] = { { 0 } };
const size_t app_device_nroutes = 0;

int
app_keys_load(struct server *srv, struct sl_err *err)
{
	(void)srv;
	(void)err;
	return SL_OK;
}

void
app_keys_free(struct server *srv)
{
	(void)srv;
}

json_t *
app_keys_public(struct server *srv)
{
	(void)srv;
	return json_object();
}

int
app_phone_normalize(const char *in, const char *default_cc, char out[APP_PHONE_MAX])
{
	(void)in;
	(void)default_cc;
	out[0] = '\0';
	return SL_EINVAL;
}

void
app_request_wait_key(const char *apprq_id, char *out, size_t len)
{
	snprintf(out, len, "apprq:%s", apprq_id);
}

void
app_account_wait_key(const char *account_id, char *out, size_t len)
{
	snprintf(out, len, "account:%s", account_id);
}

int
app_device_authenticate(struct server *srv, struct http_request *rq, struct store_device *out)
{
	(void)srv;
	(void)out;
	http_send_oauth_error(rq, 401, "invalid_proof", "not built yet");
	return SL_EDENIED;
}
