/*
 * display.c — the text the app shows for a request, which the person's
 * confirmation signs (its SHA-256 is a field of confirm_bytes).
 *
 * The sentences are written here, not taken from the translation
 * catalogs: a signed text must come out byte for byte the same for the
 * same request, whatever catalog a node has loaded.  A payment reads the
 * way people of that language write money ("EUR 12,34" in Dutch,
 * "12,34 EUR" in French and German, "EUR 12.34" in English), with the
 * IBAN in groups of four as on a bank statement.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "request_int.h"

enum { L_NL, L_FR, L_DE, L_EN };

/* Literal formats (one per language), so the compiler checks them. */
static int
login_sentence(int lang, const char *rp, char *out, size_t len)
{
	switch (lang) {
	case L_NL: return snprintf(out, len, "Inloggen bij %s", rp);
	case L_FR: return snprintf(out, len, "Se connecter à %s", rp);
	case L_DE: return snprintf(out, len, "Anmelden bei %s", rp);
	default: return snprintf(out, len, "Log in to %s", rp);
	}
}

static int
payment_sentence(int lang, const char *amount, const char *creditor, const char *iban, char *out, size_t len)
{
	switch (lang) {
	case L_NL: return snprintf(out, len, "Betaling van %s aan %s (%s)", amount, creditor, iban);
	case L_FR: return snprintf(out, len, "Paiement de %s à %s (%s)", amount, creditor, iban);
	case L_DE: return snprintf(out, len, "Zahlung von %s an %s (%s)", amount, creditor, iban);
	default: return snprintf(out, len, "Payment of %s to %s (%s)", amount, creditor, iban);
	}
}

int
app_display_amount(int lang, const struct oidc_payment *pay, char *out, size_t outlen)
{
	char num[32];
	int n;

	if (lang < 0 || lang >= SL_LANG_COUNT)
		lang = L_EN;
	snprintf(num, sizeof(num), "%" PRId64 "%c%02d", pay->pm_cents / 100, lang == L_EN ? '.' : ',',
		(int)(pay->pm_cents % 100));
	if (lang == L_FR || lang == L_DE)
		n = snprintf(out, outlen, "%s %s", num, pay->pm_currency);
	else
		n = snprintf(out, outlen, "%s %s", pay->pm_currency, num);
	return n < 0 || (size_t)n >= outlen ? SL_ETOOBIG : SL_OK;
}

/* "BE71096123456769" → "BE71 0961 2345 6769" */
static void
iban_grouped(const char *iban, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; iban[i] && o + 2 < outlen; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = iban[i];
	}
	out[o] = '\0';
}

bool
app_binding_ok(const char *msg)
{
	return msg != NULL && strlen(msg) <= APP_BINDING_MAX && oidc_text_readable(msg, APP_BINDING_MAX);
}

int
app_display_text(int lang, const char *action, const char *rp_name, const struct oidc_payment *pay,
	const char *binding_message, char *out, size_t outlen)
{
	char amount[64], iban[OIDC_IBAN_MAX + OIDC_IBAN_MAX / 4 + 2];
	size_t len;
	int n;

	if (lang < 0 || lang >= SL_LANG_COUNT)
		lang = L_EN;
	if (outlen > APP_DISPLAY_MAX + 1)
		outlen = APP_DISPLAY_MAX + 1;
	if (action != NULL && strcmp(action, "login") == 0 && rp_name != NULL) {
		n = login_sentence(lang, rp_name, out, outlen);
	} else if (action != NULL && strcmp(action, "payment") == 0 && pay != NULL) {
		if (app_display_amount(lang, pay, amount, sizeof(amount)) != SL_OK)
			return SL_ETOOBIG;
		iban_grouped(pay->pm_iban, iban, sizeof(iban));
		n = payment_sentence(lang, amount, pay->pm_creditor, iban, out, outlen);
	} else {
		return SL_EINVAL;
	}
	if (n < 0 || (size_t)n >= outlen)
		return SL_ETOOBIG;
	if (binding_message != NULL && binding_message[0] != '\0') {
		if (!app_binding_ok(binding_message))
			return SL_EINVAL;
		len = (size_t)n;
		n = snprintf(out + len, outlen - len, "\n%s", binding_message);
		if (n < 0 || (size_t)n >= outlen - len)
			return SL_ETOOBIG;
	}
	return SL_OK;
}
