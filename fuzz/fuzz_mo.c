/* fuzz_mo.c — the .mo catalog reader on arbitrary bytes. */
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
	}
	i18n_catalog_free(cat);
	return 0;
}
