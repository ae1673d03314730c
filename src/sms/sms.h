/*
 * sms — sending a text message to a phone number, through one of two
 * drivers chosen by [sms] driver:
 *   outbox   rows in the store's sms_outbox table; an operator (or the
 *            demo) reads them with `sleutel sms tail`;
 *   webhook  an HTTP POST of JSON {"to","text","id"} to [sms] webhook_url
 *            (Bearer [sms] webhook_token), with a timeout per attempt and
 *            [sms] webhook_retries retries on a transport error or a 5xx.
 * The text holds a one-time code: it is never logged.
 */
#ifndef SL_SMS_H
#define SL_SMS_H

#include "../config/config.h"
#include "../store/store.h"

#define SMS_TEXT_MAX 480 /* bytes: three concatenated GSM segments */

struct sms_gateway;

struct sms_gateway *sms_gateway_new(const struct sl_config *conf, struct store *st, struct sl_err *err);
void sms_gateway_free(struct sms_gateway *gw);
/* Send `text` to `phone` (E.164).  SL_OK once the outbox row is committed
 * or the webhook answered 2xx; SL_EIO (with a message) when every attempt
 * failed; SL_EINVAL for a bad number or text. */
int sms_send(struct sms_gateway *gw, const char *phone, const char *text, struct sl_err *err);

#endif
