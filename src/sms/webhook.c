/*
 * webhook.c — the webhook driver: an HTTP POST of
 * {"to": "+32470123456", "text": "...", "id": "<random>"} to [sms]
 * webhook_url with "Authorization: Bearer [sms] webhook_token".  The id is
 * the same on every attempt so the gateway can drop a duplicate when an
 * answer was lost.  A 2xx is success; a transport error, a timeout or a
 * 5xx is retried [sms] webhook_retries times with a short doubling pause;
 * a 4xx is the gateway refusing this message and fails at once.  The
 * text (it holds a code) and the token are never logged.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "sms_int.h"
#include "../httpc/httpc.h"

static void
pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One attempt: SL_OK (2xx), SL_EINVAL (4xx: do not retry), SL_EBUSY
 * (aborted, the server stops: do not retry), SL_EIO (retry). */
static int
attempt(const struct sms_webhook *wh, const char *body, struct sl_err *err)
{
	struct httpc_request rq = { .hr_method = "POST",
		.hr_url = wh->wh_url,
		.hr_content_type = "application/json",
		.hr_body = body,
		.hr_bearer = wh->wh_token && wh->wh_token[0] ? wh->wh_token : NULL,
		.hr_ca_file = wh->wh_ca_file,
		.hr_timeout = wh->wh_timeout };
	struct httpc_response res = { 0 };
	int rc = httpc_do(&rq, &res, err);

	if (rc == SL_OK) {
		if (res.hs_status >= 200 && res.hs_status < 300)
			rc = SL_OK;
		else if (res.hs_status >= 400 && res.hs_status < 500)
			rc = sl_fail(err, SL_EINVAL, "the SMS gateway refused the message (HTTP %ld)", res.hs_status);
		else
			rc = sl_fail(err, SL_EIO, "the SMS gateway answered HTTP %ld", res.hs_status);
	} else if (rc != SL_EINVAL && rc != SL_EBUSY) {
		rc = SL_EIO;
	}
	httpc_response_clear(&res);
	return rc;
}

int
sms_webhook_send(const struct sms_webhook *wh, const char *phone, const char *text, struct sl_err *err)
{
	char *id = sl_random_id(16), *body = NULL;
	json_t *o = id ? json_pack("{s:s,s:s,s:s}", "to", phone, "text", text, "id", id) : NULL;
	int rc = SL_EIO, backoff = SMS_BACKOFF_MS;

	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL) {
		free(id);
		return sl_fail(err, SL_ENOMEM, "out of memory");
	}
	for (int i = 0; i <= wh->wh_retries; i++) {
		if (i > 0) {
			pause_ms(backoff);
			backoff = backoff * 2 > SMS_BACKOFF_MAX_MS ? SMS_BACKOFF_MAX_MS : backoff * 2;
		}
		rc = attempt(wh, body, err);
		if (rc == SL_OK || rc == SL_EINVAL || rc == SL_EBUSY)
			break;
		log_warn("SMS %s to the gateway: attempt %d of %d failed: %s", id, i + 1, wh->wh_retries + 1,
			err ? err->msg : "");
	}
	free(body);
	if (rc == SL_EINVAL)
		log_warn("SMS %s: %s", id, err ? err->msg : "refused");
	free(id);
	return rc == SL_OK ? SL_OK : (rc == SL_EINVAL ? SL_EIO : rc);
}
