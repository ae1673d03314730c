/* fuzz_sid_login.c — the Smart-ID login half's parser and binding
 * (src/keys/splitkey/sid_bind.c) on anything: sid_rrn_normalize() yields
 * "" or exactly 11 digits that normalise to themselves; sid_bind_hash()
 * over fields cut from the input at NUL bytes is deterministic and
 * changes when a field moves to its neighbour (the length prefixes), and
 * the verification code is always 4 digits. */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/splitkey/sid_login_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
check_rrn(const char *s)
{
	char out[SID_RRN_LEN + 1], again[SID_RRN_LEN + 1];

	if (sid_rrn_normalize(s, out) == SL_OK) {
		if (strlen(out) != SID_RRN_LEN || strspn(out, "0123456789") != SID_RRN_LEN)
			abort();
		if (sid_rrn_normalize(out, again) != SL_OK || strcmp(out, again) != 0)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}
}

static void
check_bind(const char *s, size_t len)
{
	const char *f[6];
	size_t n = 0, at = 0;
	uint8_t h1[SL_SHA256_LEN], h2[SL_SHA256_LEN];
	char vc[SID_VC_LEN + 1];
	struct sid_bind b;

	while (n < 6 && at <= len) {
		f[n++] = s + at;
		at += strlen(s + at) + 1;
	}
	while (n < 6)
		f[n++] = "";
	b = (struct sid_bind){ f[0], f[1], f[2], f[3], f[4], f[5] };
	if (sid_bind_hash(&b, h1) != SL_OK)
		return;
	if (sid_bind_hash(&b, h2) != SL_OK || memcmp(h1, h2, sizeof(h1)) != 0)
		abort();
	sid_verification_code(h1, sizeof(h1), vc);
	if (strlen(vc) != SID_VC_LEN || strspn(vc, "0123456789") != SID_VC_LEN)
		abort();
	/* "ab","c" and "a","bc" must not bind the same bytes. */
	if (f[1][0] != '\0') {
		char moved[2] = { f[1][0], '\0' };
		size_t l0 = strlen(f[0]);
		char *joined = malloc(l0 + 2);
		if (joined == NULL)
			return;
		memcpy(joined, f[0], l0);
		memcpy(joined + l0, moved, 2);
		b.sb_request_id = joined;
		b.sb_rp_id = f[1] + 1;
		if (sid_bind_hash(&b, h2) == SL_OK && memcmp(h1, h2, sizeof(h1)) == 0)
			abort();
		free(joined);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	check_rrn(s);
	check_bind(s, len);
	free(s);
	return 0;
}
