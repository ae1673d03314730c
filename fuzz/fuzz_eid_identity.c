/*
 * fuzz_eid_identity.c — the identity in an eID authentication certificate.
 * Arbitrary bytes go to eid_identity_from_der() at a fixed time; a success
 * must hold a national register number that eid_rrn_check() accepts with
 * the same birth date and sex, both names and a known card type.  The same
 * bytes, as a string, also go to eid_rrn_check() directly.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/eid/eid.h"

#define FUZZ_NOW 1780315200 /* 2026-06-01T12:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
fuzz_rrn(const uint8_t *data, size_t len)
{
	char s[16], bd[11], sex;

	if (len >= sizeof(s))
		return;
	memcpy(s, data, len);
	s[len] = '\0';
	if (eid_rrn_check(s, bd, &sex, NULL) != SL_OK)
		return;
	if (strlen(s) != 11 || (bd[0] != '\0' && strlen(bd) != 10) || (sex != 0 && sex != 'M' && sex != 'F'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct eid_identity id;
	struct sl_err err;
	char bd[11], sex;

	fuzz_rrn(data, len);
	if (eid_identity_from_der(data, len, FUZZ_NOW, &id, &err) != SL_OK)
		return 0;
	if (eid_rrn_check(id.ei_rrn, bd, &sex, NULL) != SL_OK)
		abort();
	if (strcmp(bd, id.ei_birthdate) != 0 || sex != id.ei_sex)
		abort();
	if (id.ei_family_name == NULL || id.ei_family_name[0] == '\0' || id.ei_given_names == NULL ||
		id.ei_given_names[0] == '\0' || id.ei_issuer_cn == NULL)
		abort();
	if (strlen(id.ei_family_name) > 200 || strlen(id.ei_given_names) > 200)
		abort();
	if (strcmp(eid_card_type_name(id.ei_card_type), "unknown") == 0)
		abort();
	eid_identity_clear(&id);
	return 0;
}
