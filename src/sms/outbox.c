/*
 * outbox.c — the outbox driver: the message becomes a row in the store's
 * sms_outbox table, committed before sms_send() returns.  An operator (or
 * the demo) reads it with `sleutel sms tail`; the store purges old rows.
 */
#include "sms_int.h"

int
sms_outbox_send(struct store *st, const char *phone, const char *text, struct sl_err *err)
{
	if (store_sms_put(st, phone, text) != SL_OK)
		return sl_fail(err, SL_EIO, "the SMS outbox is not writable");
	return SL_OK;
}
