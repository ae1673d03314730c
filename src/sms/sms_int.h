/* sms_int.h — the two drivers behind sms.c. */
#ifndef SL_SMS_INT_H
#define SL_SMS_INT_H

#include "sms.h"

#define SMS_BACKOFF_MS 200 /* first retry after this; doubles each time */
#define SMS_BACKOFF_MAX_MS 2000

struct sms_webhook {
	const char *wh_url;
	const char *wh_token; /* NULL or "": no Authorization header */
	const char *wh_ca_file;
	int wh_timeout; /* seconds per attempt */
	int wh_retries; /* attempts after the first */
};

/* outbox.c: one row in the store's outbox. */
int sms_outbox_send(struct store *st, const char *phone, const char *text, struct sl_err *err);
/* webhook.c: POST {"to","text","id"}; retries on transport errors and 5xx
 * (short backoff), none on 4xx. */
int sms_webhook_send(const struct sms_webhook *wh, const char *phone, const char *text, struct sl_err *err);

#endif
