/* fuzz_sid_register.c — what a person types on the Smart-ID registration
 * portal: the e-mail address (sid_email_ok) and the registration code
 * (proof_code_normalize, the proofing code's normaliser the portal reuses).
 * An accepted address has one "@", no byte at or below space and at most
 * SID_REG_EMAIL_MAX bytes; an accepted code is PROOF_CODE_LEN characters of
 * the alphabet and normalises to itself. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/splitkey/sid_reg_int.h"
#include "../src/proofing/proofing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
check_email(const char *s)
{
	const char *at;

	if (!sid_email_ok(s))
		return;
	at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strlen(s) > SID_REG_EMAIL_MAX)
		abort();
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ')
			abort();
}

static void
check_code(const char *s)
{
	char out[PROOF_CODE_LEN + 1], again[PROOF_CODE_LEN + 1];

	if (proof_code_normalize(s, out) != SL_OK)
		return;
	if (strlen(out) != PROOF_CODE_LEN || strspn(out, PROOF_CODE_ALPHABET) != PROOF_CODE_LEN)
		abort();
	if (proof_code_normalize(out, again) != SL_OK || strcmp(out, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	check_email(s);
	check_code(s);
	free(s);
	return 0;
}
