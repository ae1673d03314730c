/*
 * fuzz_webeid_token.c — the Web eID authentication token.  Arbitrary bytes
 * go to webeid_token_parse(); an accepted token must hold a known
 * algorithm, a certificate and a signature within their bounds and an
 * appVersion within its own, and then goes through webeid_verify() (which
 * must refuse or accept without reading past what it was given).  The
 * bytes, as a string, are also hashed as an origin by webeid_signed_data().
 */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/eid/eid.h"

#define FUZZ_ORIGIN "https://sleutel.example"
#define FUZZ_NONCE "12345678901234567890123456789012345678901234"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
fuzz_signed_data(const uint8_t *data, size_t len)
{
	uint8_t out[2 * WEBEID_MAX_HASH];
	char *s = malloc(len + 1);
	size_t n = 0;

	if (s == NULL)
		return;
	memcpy(s, data, len);
	s[len] = '\0';
	if (webeid_signed_data(WEBEID_ES384, s, FUZZ_NONCE, out, &n) != SL_OK || n != 96)
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct webeid_token t;
	struct sl_err err;
	enum webeid_refusal r;

	fuzz_signed_data(data, len);
	r = webeid_token_parse((const char *)data, len, &t, &err);
	if (r != WEBEID_OK) {
		if (t.wt_cert != NULL || t.wt_sig != NULL || t.wt_app_version != NULL)
			abort(); /* a refused token leaves nothing behind */
		return 0;
	}
	if (strcmp(webeid_alg_name(t.wt_alg), "none") == 0 || t.wt_cert_len == 0 || t.wt_cert_len > WEBEID_MAX_CERT ||
		t.wt_sig_len == 0 || t.wt_sig_len > WEBEID_MAX_SIG || strlen(t.wt_app_version) > WEBEID_MAX_APP_VERSION)
		abort();
	r = webeid_verify(&t, FUZZ_ORIGIN, FUZZ_NONCE, &err);
	if (r != WEBEID_OK && r != WEBEID_BAD_CERTIFICATE && r != WEBEID_ALGORITHM_MISMATCH &&
		r != WEBEID_BAD_SIGNATURE)
		abort();
	webeid_token_clear(&t);
	return 0;
}
