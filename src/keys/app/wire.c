/*
 * wire.c — the edges of the device API: JSON bodies in (an object,
 * duplicate keys refused, nesting bounded, within [server] max_body, which
 * the http layer enforced), JSON errors out in the shape every device-API
 * error has: {"error", "error_description", ...extra fields}.
 */
#include <string.h>

#include "device_int.h"

static int
depth_ok(json_t *v, int depth)
{
	const char *k;
	json_t *m;
	size_t i;

	if (depth > APP_JSON_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach(v, k, m) if (!depth_ok(m, depth + 1)) return 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) if (!depth_ok(m, depth + 1)) return 0;
	}
	return 1;
}

int
app_json_parse(const uint8_t *data, size_t len, json_t **out, struct sl_err *err)
{
	json_error_t jerr;
	json_t *o;

	*out = NULL;
	if (data == NULL || len == 0)
		return sl_fail(err, SL_EINVAL, "the body must be a JSON object");
	if (memchr(data, '\0', len) != NULL)
		return sl_fail(err, SL_EINVAL, "the body holds a NUL byte");
	o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return sl_fail(err, SL_EINVAL, "the body must be a JSON object");
	}
	if (!depth_ok(o, 0)) {
		json_decref(o);
		return sl_fail(err, SL_ETOOBIG, "the body nests deeper than %d levels", APP_JSON_MAX_DEPTH);
	}
	*out = o;
	return SL_OK;
}

json_t *
app_json_body(struct http_request *rq)
{
	const char *ct = http_content_type(rq);
	const uint8_t *body;
	size_t len = 0;
	struct sl_err err = { 0 };
	json_t *o;

	if (ct == NULL || strncmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';')) {
		app_send_error(rq, 415, "invalid_request", "Content-Type must be application/json", NULL);
		return NULL;
	}
	body = http_body(rq, &len);
	if (app_json_parse(body, len, &o, &err) != SL_OK) {
		app_send_error(rq, 400, "invalid_request", err.msg, NULL);
		return NULL;
	}
	return o;
}

void
app_send_error(struct http_request *rq, int status, const char *error, const char *desc, json_t *extra)
{
	json_t *o = json_object();

	json_object_set_new(o, "error", json_string(error));
	if (desc != NULL)
		json_object_set_new(o, "error_description", json_string(desc));
	if (extra != NULL) {
		json_object_update_missing(o, extra);
		json_decref(extra);
	}
	http_send_json(rq, status, o);
}

const char *
app_json_str(json_t *o, const char *name, size_t max)
{
	json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (s == NULL || n > max || strlen(s) != n)
		return NULL;
	return s;
}
