/*
 * sms — sending a text message to a phone number, through one of two
 * drivers chosen by [sms] driver:
 *   outbox   rows in the store's sms_outbox table; an operator (or the
 *            demo) reads them with `sleutel sms tail`;
 *   webhook  an HTTP POST of JSON {"to","text","id"} to [sms] webhook_url
 *            (Bearer [sms] webhook_token), with a timeout per attempt and
 *            [sms] webhook_retries retries on a transport error or a 5xx.
 * The text holds a one-time code: it is never logged.
 *
 * A handler never sends on its event loop (a hanging gateway would hold
 * it for webhook_timeout per attempt): sms_send_suspend() sends on an
 * outbound worker (src/outbound) while the request waits, and the handler
 * runs again and reads sms_send_result().
 */
#ifndef SL_SMS_H
#define SL_SMS_H

#include "../config/config.h"
#include "../http/http.h"
#include "../store/store.h"

#define SMS_TEXT_MAX 480 /* bytes: three concatenated GSM segments */
#define SMS_PHONE_MAX 16 /* bytes of an E.164 number with its "+" */

struct sms_gateway;

struct sms_gateway *sms_gateway_new(const struct sl_config *conf, struct store *st, struct sl_err *err);
void sms_gateway_free(struct sms_gateway *gw);
/* Send `text` to `phone` (E.164).  SL_OK once the outbox row is committed
 * or the webhook answered 2xx; SL_EIO (with a message) when every attempt
 * failed; SL_EINVAL for a bad number or text. */
int sms_send(struct sms_gateway *gw, const char *phone, const char *text, struct sl_err *err);

struct outbound;
/* Check `phone` and `text` as sms_send() does (SL_EINVAL at once), then
 * suspend `rq` and send on a worker of `ob`; `ctx` is the handler's own
 * state for its second run, freed with ctx_free when the request ends
 * (also on failure).  SL_OK: return and run again; SL_EBUSY (the queue
 * is full or the server stops; answer 503 with Retry-After) or SL_EINVAL. */
int sms_send_suspend(struct sms_gateway *gw, struct outbound *ob, struct http_request *rq, const char *phone,
	const char *text, void *ctx, void (*ctx_free)(void *), struct sl_err *err);
/* On the handler's second run: SL_OK (sent), SL_EIO (every attempt
 * failed, or no answer within the gateway's bound: err says which),
 * SL_EBUSY (the server stops); SMS_WAITING when the request waits again
 * (return at once).  *ctx is the handler's state, NULL on a first run. */
#define SMS_WAITING 1
int sms_send_result(struct http_request *rq, void **ctx, struct sl_err *err);

#endif
