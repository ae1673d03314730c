/*
 * fuzz_bank_claims.c — what a bank sends about a person, and the proofing
 * values that come back through a browser.  Arbitrary bytes go to
 * proof_claims_parse() (as a bank's ID-token payload or userinfo); a
 * success must hold an 11-digit number that eid_rrn_check() accepts,
 * names within PROOF_NAME_MAX without control characters, and a birth
 * date of the YYYY-MM-DD shape.  The same bytes go to proof_token_parse()
 * (a ticket or state) and, as stored proofing state, to the ticket and
 * flow look-ups.
 */
#include <stdlib.h>
#include <string.h>

#include "../src/keys/eid/eid.h"
#include "../src/proofing/proofing_int.h"

#define FUZZ_NOW 1780315200 /* 2026-06-01T12:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PROOF_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void
fuzz_claims(const uint8_t *data, size_t len)
{
	static const struct proof_claim_names names = { "rrn", "given_name", "family_name", "birthdate" };
	struct store_person p;
	char bd[11], sex;

	if (proof_claims_parse(&names, (const char *)data, len, &p, NULL) != SL_OK) {
		if (p.p_rrn || p.p_given_name || p.p_family_name || p.p_birthdate)
			abort(); /* a failure leaves nothing behind */
		return;
	}
	if (strlen(p.p_rrn) != 11 || eid_rrn_check(p.p_rrn, bd, &sex, NULL) != SL_OK)
		abort();
	name_ok(p.p_given_name);
	name_ok(p.p_family_name);
	if (p.p_birthdate != NULL && (strlen(p.p_birthdate) != 10 || p.p_birthdate[4] != '-'))
		abort();
	free(proof_person_json(&p));
	store_person_clear(&p);
}

static void
fuzz_token_and_state(const uint8_t *data, size_t len)
{
	char s[PROOF_TOKEN_MAX + 16], id[PROOF_ID_MAX];
	struct proof_flow f;
	json_t *st;

	if (len < sizeof(s)) {
		memcpy(s, data, len);
		s[len] = '\0';
		if (proof_token_parse(s, id) == SL_OK && (strlen(id) == 0 || strlen(id) >= PROOF_ID_MAX))
			abort();
	}
	if (len > 4096)
		return;
	{
		char *text = malloc(len + 1);
		if (text == NULL)
			return;
		memcpy(text, data, len);
		text[len] = '\0';
		st = proof_state_load(text);
		free(text);
	}
	if (st == NULL)
		return;
	proof_state_ticket(st, "00", FUZZ_NOW, true);
	proof_state_take_flow(st, "00", "00", FUZZ_NOW, &f);
	proof_state_add_ticket(st, "11", FUZZ_NOW + 60, FUZZ_NOW);
	if (!proof_state_ticket(st, "11", FUZZ_NOW, false))
		abort(); /* a ticket just added is live */
	json_decref(st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	fuzz_claims(data, len);
	fuzz_token_and_state(data, len);
	return 0;
}
