/*
 * sms.c — the gateway chosen by [sms] driver (outbox or webhook), and the
 * checks every message passes before a driver sees it: an E.164 number and
 * a text of at most SMS_TEXT_MAX bytes without control characters.
 */
#include <stdlib.h>
#include <string.h>

#include "sms_int.h"

enum sms_driver { SMS_OUTBOX, SMS_WEBHOOK };

struct sms_gateway {
	enum sms_driver gw_driver;
	struct store *gw_store;
	struct sms_webhook gw_webhook; /* borrowed strings: the config outlives the gateway */
};

struct sms_gateway *
sms_gateway_new(const struct sl_config *conf, struct store *st, struct sl_err *err)
{
	struct sms_gateway *gw;

	if (strcmp(conf->c_sms_driver, "outbox") != 0 && strcmp(conf->c_sms_driver, "webhook") != 0)
		return sl_fail(err, SL_EINVAL, "[sms] driver must be outbox or webhook"), NULL;
	gw = calloc(1, sizeof(*gw));
	if (gw == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	gw->gw_driver = strcmp(conf->c_sms_driver, "webhook") == 0 ? SMS_WEBHOOK : SMS_OUTBOX;
	gw->gw_store = st;
	gw->gw_webhook = (struct sms_webhook){ conf->c_sms_webhook_url, conf->c_sms_webhook_token, conf->c_sms_ca_file,
		conf->c_sms_webhook_timeout, conf->c_sms_webhook_retries };
	return gw;
}

void
sms_gateway_free(struct sms_gateway *gw)
{
	free(gw);
}

static bool
phone_ok(const char *phone)
{
	size_t n = phone ? strlen(phone) : 0;

	return n >= 9 && n <= 16 && phone[0] == '+' && phone[1] != '0' && strspn(phone + 1, "0123456789") == n - 1;
}

static bool
text_ok(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0 || n > SMS_TEXT_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
			return false;
	return true;
}

int
sms_send(struct sms_gateway *gw, const char *phone, const char *text, struct sl_err *err)
{
	if (gw == NULL)
		return sl_fail(err, SL_EIO, "no SMS gateway");
	if (!phone_ok(phone))
		return sl_fail(err, SL_EINVAL, "not an E.164 phone number");
	if (!text_ok(text))
		return sl_fail(err, SL_EINVAL, "the text is empty, longer than %d bytes or holds control characters",
			SMS_TEXT_MAX);
	if (gw->gw_driver == SMS_WEBHOOK)
		return sms_webhook_send(&gw->gw_webhook, phone, text, err);
	return sms_outbox_send(gw->gw_store, phone, text, err);
}
