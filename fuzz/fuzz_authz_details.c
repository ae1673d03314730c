/* fuzz_authz_details.c — RFC 9396 authorization_details validation on
 * arbitrary bytes, and the display text built from whatever it accepts:
 * an accepted payment must give a text in every language, within
 * APP_DISPLAY_MAX, that names the IBAN and the creditor. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/app/request_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct oidc_payment pay;
	char text[APP_DISPLAY_MAX + 1];
	char *json = malloc(len + 1);

	if (json == NULL)
		return 0;
	memcpy(json, data, len);
	json[len] = '\0';
	if (oidc_authz_details_parse(json, &pay, NULL) == SL_OK) {
		if (pay.pm_cents <= 0 || pay.pm_cents > OIDC_AMOUNT_MAX_CENTS || !oidc_iban_ok(pay.pm_iban) ||
			!oidc_text_readable(pay.pm_creditor, OIDC_CREDITOR_MAX))
			abort();
		for (int lang = 0; lang < SL_LANG_COUNT; lang++) {
			if (app_display_text(lang, "payment", "RP", &pay, NULL, text, sizeof(text)) != SL_OK ||
				strstr(text, pay.pm_creditor) == NULL)
				abort();
		}
	}
	free(json);
	return 0;
}
