/* fuzz_sidproto.c — the Smart-ID RP API's parsers (src/sidproto) on
 * anything.  The first byte picks one; the rest is the text.
 * - a device link: sidp_link_parse() refuses or yields fields from which
 *   sidp_link_unprotected() rebuilds exactly the link's unprotected part,
 *   and that plus "&authCode=" plus the code is the input, byte for byte
 *   (one spelling per link);
 * - interactions as Base64 (v3) and as JSON (v2): an accepted list has 1
 *   to 4 entries of distinct types within their length limits, and what
 *   the device-link rules accept the notification and v2 rules accept;
 * - canonical Base64: what decodes re-encodes to the input;
 * - callback URLs, user challenges and signature names: no crash, and
 *   an accepted callback URL starts with "https://". */
#include <stdlib.h>
#include <string.h>

#include "../src/sidproto/sidproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
check_link(const char *s)
{
	struct sidp_link_parsed p;
	struct sl_err err = { 0 };
	char *u, *whole;
	size_t ulen;

	if (sidp_link_parse(s, &p, &err) != SL_OK) {
		if (p.sp_buf != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	u = sidp_link_unprotected(&p.sp_link, &err);
	if (u == NULL || strcmp(u, p.sp_unprotected) != 0 || !sidp_user_challenge_ok(p.sp_auth_code))
		abort();
	ulen = strlen(u);
	whole = malloc(ulen + 11 + SIDP_USER_CHALLENGE_LEN);
	if (whole != NULL) {
		memcpy(whole, u, ulen);
		memcpy(whole + ulen, "&authCode=", 10);
		memcpy(whole + ulen + 10, p.sp_auth_code, SIDP_USER_CHALLENGE_LEN + 1);
		if (strcmp(whole, s) != 0)
			abort();
		free(whole);
	}
	free(u);
	sidp_link_parsed_clear(&p);
}

static void
check_list(const struct sidp_interactions *in)
{
	if (in->sn < 1 || in->sn > SIDP_INTERACTIONS_MAX)
		abort();
	for (size_t i = 0; i < in->sn; i++) {
		if (sidp_interaction_name(in->si[i].si_type) == NULL || in->si[i].si_text[0] == '\0')
			abort();
		if (strlen(in->si[i].si_text) > 4 * SIDP_TEXT200_MAX)
			abort();
		for (size_t j = 0; j < i; j++)
			if (in->si[i].si_type == in->si[j].si_type)
				abort();
	}
}

static void
check_interactions_b64(const char *s)
{
	struct sidp_interactions dl, nf, v2;
	int rdl = sidp_interactions_parse_b64(s, SIDP_RULES_DEVICE_LINK, &dl, NULL);
	int rnf = sidp_interactions_parse_b64(s, SIDP_RULES_NOTIFICATION, &nf, NULL);
	int rv2 = sidp_interactions_parse_b64(s, SIDP_RULES_V2, &v2, NULL);

	if (rdl == SL_OK) {
		check_list(&dl);
		if (rnf != SL_OK || rv2 != SL_OK || memcmp(&dl, &nf, sizeof(dl)) != 0)
			abort();
	}
	if (rnf == SL_OK && rv2 != SL_OK)
		abort();
	if (rv2 == SL_OK)
		check_list(&v2);
}

static void
check_interactions_json(const char *s, size_t len)
{
	struct sidp_interactions out;
	json_t *j = json_loadb(s, len, JSON_DECODE_ANY, NULL);

	if (j == NULL)
		return;
	if (sidp_interactions_parse_json(j, SIDP_RULES_V2, &out, NULL) == SL_OK)
		check_list(&out);
	json_decref(j);
}

static void
check_b64(const char *s)
{
	size_t n = 0;
	uint8_t *raw = sidp_b64_decode(s, SIDP_LINK_MAX, &n);
	char *again;

	if (raw == NULL)
		return;
	again = sl_b64_encode(raw, n);
	if (again == NULL || strcmp(again, s) != 0)
		abort();
	free(again);
	free(raw);
}

static void
check_names(const char *s)
{
	const struct sidp_hash *h = NULL;
	bool pss = false;

	if (sidp_callback_url_ok(s) && strncmp(s, "https://", 8) != 0)
		abort();
	(void)sidp_user_challenge_ok(s);
	if (sidp_signature_algorithm(s, &pss, &h) == SL_OK && !pss && sidp_pkcs1_name(h) == NULL)
		abort();
	(void)sidp_hash_by_name(s);
	(void)sidp_hash_by_v2_name(s);
	(void)sidp_interaction_type_of(s);
	(void)sidp_link_type_of(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s;

	if (len < 1 || len > 2 * SIDP_LINK_MAX)
		return 0;
	s = malloc(len);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, len - 1);
	s[len - 1] = '\0';
	switch (data[0] % 5) {
	case 0: check_link(s); break;
	case 1: check_interactions_b64(s); break;
	case 2: check_interactions_json(s, len - 1); break;
	case 3: check_b64(s); break;
	default: check_names(s); break;
	}
	free(s);
	return 0;
}
