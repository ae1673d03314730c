/*
 * claims.c — what a bank says about a person, checked and mapped.
 *
 * A bank's ID token is first verified (discovery.c); then its claims must
 * be addressed to us (iss, aud, azp), fresh (exp, iat) and for this login
 * (nonce).  The person comes from the claims named in [bank.<id>]: the
 * national register number is the anchor (an account is bound to a
 * person by that number), so it is required and must be a valid number;
 * the names are what the app and the sites show.  Everything a bank sends
 * is untrusted text: each value has a type, a size and a form to meet.
 */
#include <stdlib.h>
#include <string.h>

#include "proofing_int.h"
#include "../keys/eid/eid.h"

#define CLAIMS_MAX_JSON (64u << 10) /* bytes of a claims document */

static int
name_claim(json_t *claims, const char *claim, const char *what, char **out, struct sl_err *err)
{
	json_t *v = json_object_get(claims, claim);
	const char *s = json_string_value(v);
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return sl_fail(err, SL_EINVAL, "the bank did not give the %s (claim %s)", what, claim);
	if (s == NULL)
		return sl_fail(err, SL_EINVAL, "the bank's %s (claim %s) is not a string", what, claim);
	len = json_string_length(v);
	if (len == 0 || len > PROOF_NAME_MAX || strlen(s) != len)
		return sl_fail(err, SL_EINVAL, "the bank's %s is empty or longer than %d bytes", what, PROOF_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sl_fail(err, SL_EINVAL, "the bank's %s holds control characters", what);
	*out = strdup(s);
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

/* The number without the separators people and banks write it with
 * ("85.07.30-033.28"); at most 11 digits survive, or it is refused. */
static int
rrn_claim(json_t *claims, const char *claim, char rrn[12], struct sl_err *err)
{
	json_t *v = json_object_get(claims, claim);
	const char *s = json_string_value(v);
	size_t n = 0, len;

	if (v == NULL || json_is_null(v) || (s != NULL && *s == '\0'))
		return sl_fail(err, SL_ENOTFOUND, "the bank did not give a national register number (claim %s)", claim);
	if (s == NULL)
		return sl_fail(err, SL_EINVAL, "the bank's national register number is not a string");
	len = json_string_length(v);
	if (len > 32)
		return sl_fail(err, SL_EINVAL, "the bank's national register number is too long");
	for (size_t i = 0; i < len; i++) {
		if (strchr(" .-/", s[i]) != NULL && s[i] != '\0')
			continue;
		if (s[i] < '0' || s[i] > '9' || n == 11)
			return sl_fail(err, SL_EINVAL, "the bank's national register number is not 11 digits");
		rrn[n++] = s[i];
	}
	rrn[n] = '\0';
	return SL_OK;
}

static bool
date_ok(const char *s)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static int
birthdate_claim(json_t *claims, const char *claim, const char *from_rrn, char **out, struct sl_err *err)
{
	json_t *v = json_object_get(claims, claim);
	const char *s = json_string_value(v);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		*out = from_rrn[0] ? strdup(from_rrn) : NULL;
		return from_rrn[0] && *out == NULL ? sl_fail(err, SL_ENOMEM, "out of memory") : SL_OK;
	}
	if (s == NULL || !date_ok(s))
		return sl_fail(err, SL_EINVAL, "the bank's birth date is not YYYY-MM-DD");
	/* A bis number's date may be partly unknown; a known one must agree. */
	if (from_rrn[0] && strcmp(s, from_rrn) != 0)
		return sl_fail(err, SL_EINVAL, "the bank's birth date does not match the national register number");
	*out = strdup(s);
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

int
proof_claims_map(const struct proof_claim_names *names, json_t *claims, struct store_person *out, struct sl_err *err)
{
	char rrn[12], birth[11], sex;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(claims))
		return sl_fail(err, SL_EINVAL, "the bank's claims are not a JSON object");
	rc = rrn_claim(claims, names->cn_rrn, rrn, err);
	if (rc == SL_OK && eid_rrn_check(rrn, birth, &sex, err) != SL_OK)
		rc = sl_fail(err, SL_EINVAL, "the bank's national register number is not valid");
	if (rc == SL_OK)
		rc = name_claim(claims, names->cn_given_name, "given name", &out->p_given_name, err);
	if (rc == SL_OK)
		rc = name_claim(claims, names->cn_family_name, "family name", &out->p_family_name, err);
	if (rc == SL_OK)
		rc = birthdate_claim(claims, names->cn_birthdate, birth, &out->p_birthdate, err);
	if (rc == SL_OK && (out->p_rrn = strdup(rrn)) == NULL)
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
	if (rc != SL_OK)
		store_person_clear(out);
	return rc;
}

int
proof_claims_parse(const struct proof_claim_names *names, const char *json, size_t len, struct store_person *out,
	struct sl_err *err)
{
	json_t *claims;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > CLAIMS_MAX_JSON)
		return sl_fail(err, SL_ETOOBIG, "claims larger than %u bytes", CLAIMS_MAX_JSON);
	claims = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (claims == NULL)
		return sl_fail(err, SL_EINVAL, "the bank's claims are not JSON");
	rc = proof_claims_map(names, claims, out, err);
	json_decref(claims);
	return rc;
}

char *
proof_person_json(const struct store_person *p)
{
	json_t *o = json_pack(
		"{s:s,s:s,s:s}", "rrn", p->p_rrn, "given_name", p->p_given_name, "family_name", p->p_family_name);
	char *s;

	if (o == NULL)
		return NULL;
	if (p->p_birthdate != NULL)
		json_object_set_new(o, "birthdate", json_string(p->p_birthdate));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static bool
aud_has(json_t *aud, const char *client_id, size_t *count)
{
	bool found = false;

	*count = 0;
	if (json_is_string(aud)) {
		*count = 1;
		return strcmp(json_string_value(aud), client_id) == 0;
	}
	for (size_t i = 0; i < json_array_size(aud); i++) {
		const char *a = json_string_value(json_array_get(aud, i));
		(*count)++;
		if (a != NULL && strcmp(a, client_id) == 0)
			found = true;
	}
	return found;
}

int
proof_id_token_check(json_t *claims, const struct proof_expect *ex, struct sl_err *err)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	const char *nonce = json_string_value(json_object_get(claims, "nonce"));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	json_t *azp = json_object_get(claims, "azp"), *exp = json_object_get(claims, "exp"),
	       *iat = json_object_get(claims, "iat");
	size_t naud;

	if (iss == NULL || strcmp(iss, ex->ex_issuer) != 0)
		return sl_fail(err, SL_EDENIED, "ID token from another issuer");
	if (sub == NULL || *sub == '\0')
		return sl_fail(err, SL_EDENIED, "ID token without sub");
	if (!aud_has(json_object_get(claims, "aud"), ex->ex_client_id, &naud))
		return sl_fail(err, SL_EDENIED, "ID token for another audience");
	if ((naud > 1 || azp != NULL) &&
		(!json_is_string(azp) || strcmp(json_string_value(azp), ex->ex_client_id) != 0))
		return sl_fail(err, SL_EDENIED, "ID token azp is not this client");
	if (!json_is_integer(exp) || json_integer_value(exp) + ex->ex_skew <= ex->ex_now)
		return sl_fail(err, SL_EDENIED, "ID token expired");
	if (!json_is_integer(iat) || json_integer_value(iat) > ex->ex_now + ex->ex_skew ||
		json_integer_value(iat) < ex->ex_now - PROOF_IAT_MAX_AGE)
		return sl_fail(err, SL_EDENIED, "ID token issued at a wrong time");
	if (nonce == NULL || !sl_ct_streq(nonce, ex->ex_nonce))
		return sl_fail(err, SL_EDENIED, "ID token nonce is not this login's");
	return SL_OK;
}
