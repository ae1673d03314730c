/*
 * sms.c — the gateway chosen by [sms] driver (outbox or webhook), and the
 * checks every message passes before a driver sees it: an E.164 number and
 * a text of at most SMS_TEXT_MAX bytes without control characters; and
 * the send on an outbound worker while a request waits.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sms_int.h"
#include "../outbound/outbound.h"

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

	return n >= 9 && n <= SMS_PHONE_MAX && phone[0] == '+' && phone[1] != '0' &&
	       strspn(phone + 1, "0123456789") == n - 1;
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

/* Both checks; SL_OK or SL_EINVAL with the reason. */
static int
message_ok(const char *phone, const char *text, struct sl_err *err)
{
	if (!phone_ok(phone))
		return sl_fail(err, SL_EINVAL, "not an E.164 phone number");
	if (!text_ok(text))
		return sl_fail(err, SL_EINVAL, "the text is empty, longer than %d bytes or holds control characters",
			SMS_TEXT_MAX);
	return SL_OK;
}

int
sms_send(struct sms_gateway *gw, const char *phone, const char *text, struct sl_err *err)
{
	int rc;

	if (gw == NULL)
		return sl_fail(err, SL_EIO, "no SMS gateway");
	if ((rc = message_ok(phone, text, err)) != SL_OK)
		return rc;
	if (gw->gw_driver == SMS_WEBHOOK)
		return sms_webhook_send(&gw->gw_webhook, phone, text, err);
	return sms_outbox_send(gw->gw_store, phone, text, err);
}

/* ---- sending while the request waits ---- */

struct sms_call {
	struct sms_gateway *sc_gw;
	char sc_phone[SMS_PHONE_MAX + 1];
	char sc_text[SMS_TEXT_MAX + 1]; /* holds a code: cleansed once sent */
	void *sc_ctx;
	void (*sc_ctx_free)(void *);
	struct sl_err sc_err;
	int sc_rc;
};

static void
call_run(void *p)
{
	struct sms_call *sc = p;

	sc->sc_rc = sms_send(sc->sc_gw, sc->sc_phone, sc->sc_text, &sc->sc_err);
	OPENSSL_cleanse(sc->sc_text, sizeof(sc->sc_text));
}

static void
call_free(void *p)
{
	struct sms_call *sc = p;

	OPENSSL_cleanse(sc->sc_text, sizeof(sc->sc_text));
	if (sc->sc_ctx_free != NULL)
		sc->sc_ctx_free(sc->sc_ctx);
	free(sc);
}

/* The longest a send takes: every attempt's timeout and the pauses
 * between them (the outbox: a write, bounded like any other). */
static int64_t
send_bound_ms(const struct sms_gateway *gw)
{
	const struct sms_webhook *wh = &gw->gw_webhook;
	int64_t ms = 1000, pause = SMS_BACKOFF_MS;

	if (gw->gw_driver != SMS_WEBHOOK)
		return 10000;
	for (int i = 0; i <= wh->wh_retries; i++) {
		ms += (int64_t)wh->wh_timeout * 1000;
		if (i > 0) {
			ms += pause;
			pause = pause * 2 > SMS_BACKOFF_MAX_MS ? SMS_BACKOFF_MAX_MS : pause * 2;
		}
	}
	return ms;
}

int
sms_send_suspend(struct sms_gateway *gw, struct outbound *ob, struct http_request *rq, const char *phone,
	const char *text, void *ctx, void (*ctx_free)(void *), struct sl_err *err)
{
	struct sms_call *sc;
	int rc = gw == NULL ? sl_fail(err, SL_EIO, "no SMS gateway") : message_ok(phone, text, err);

	if (rc == SL_OK && (sc = calloc(1, sizeof(*sc))) == NULL)
		rc = sl_fail(err, SL_EBUSY, "out of memory");
	if (rc != SL_OK) {
		if (ctx_free != NULL)
			ctx_free(ctx);
		return rc == SL_EINVAL ? rc : SL_EBUSY;
	}
	sc->sc_gw = gw;
	sl_strlcpy(sc->sc_phone, phone, sizeof(sc->sc_phone));
	sl_strlcpy(sc->sc_text, text, sizeof(sc->sc_text));
	sc->sc_ctx = ctx;
	sc->sc_ctx_free = ctx_free;
	rc = outbound_call(ob, rq, sl_monotonic_ms() + send_bound_ms(gw), call_run, call_free, sc);
	return rc == SL_OK ? SL_OK : sl_fail(err, SL_EBUSY, "the outbound queue is full");
}

int
sms_send_result(struct http_request *rq, void **ctx, struct sl_err *err)
{
	struct sms_call *sc;
	enum outbound_state st = outbound_result(rq, (void **)&sc);

	*ctx = sc != NULL ? sc->sc_ctx : NULL;
	switch (st) {
	case OUTBOUND_NONE: return SL_OK;
	case OUTBOUND_WAITING: return SMS_WAITING;
	case OUTBOUND_DONE:
		if (sc->sc_rc != SL_OK && err != NULL)
			*err = sc->sc_err;
		return sc->sc_rc == SL_OK ? SL_OK : SL_EIO;
	case OUTBOUND_TIMEOUT: return sl_fail(err, SL_EIO, "the SMS gateway did not answer in time");
	default: return sl_fail(err, SL_EBUSY, "the server is stopping");
	}
}
