/* fuzz_mo.c — the .mo catalog reader on arbitrary bytes, and its plural
 * rule (plural.c) on the numbers around its edges. */
#include "../src/i18n/i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sl_err err;
	struct i18n_catalog *cat = i18n_catalog_parse(data, len, &err);

	if (cat != NULL) {
		(void)i18n_gettext(cat, "Choose your digital key");
		(void)i18n_gettext(cat, "");
		for (unsigned long n = 0; n < 4; n++)
			(void)i18n_ngettext(cat, "%1 minute", "%1 minutes", n * 1000 + n);
	}
	i18n_catalog_free(cat);
	return 0;
}
