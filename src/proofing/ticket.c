/*
 * ticket.c — the one-time values of proofing and where they are kept.
 *
 * A proofing ticket (in the URL the app opens), the OAuth state (through
 * the bank and back) and the browser cookie all have one shape:
 * "<enrolment id>.<128 random bits>".  The id lets a handler find the
 * enrolment without another index; the whole string is a secret of which
 * only its SHA-256 is stored, in the enrolment's en_proof_state:
 *
 *   {"tickets": [{"h": "<hex>", "exp": 1700000000}, ...],
 *    "flow": {"bank", "state", "browser", "verifier", "nonce", "exp"}}
 *
 * Several tickets may live at once (each time the app asks for the
 * choices it gets a new one, and an older link may still be open); one
 * bank flow at a time.  Everything here is pure: the caller loads and
 * stores the enrolment under the proofing lock.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "proofing_int.h"

char *
proof_token_new(const char *enrollment_id, char hash[2 * SL_SHA256_LEN + 1])
{
	char *secret = sl_random_id(PROOF_SECRET_BYTES), *token = NULL;
	struct sl_buf b;

	if (secret == NULL || enrollment_id == NULL || strlen(enrollment_id) >= PROOF_ID_MAX) {
		free(secret);
		return NULL;
	}
	sl_buf_init(&b, PROOF_TOKEN_MAX);
	if (sl_buf_addf(&b, "%s.%s", enrollment_id, secret) == SL_OK)
		token = sl_buf_take(&b);
	sl_buf_reset(&b);
	free(secret);
	if (token != NULL && crypto_token_hash(token, hash) != SL_OK) {
		free(token);
		token = NULL;
	}
	return token;
}

static bool
b64url_chars(const char *s, size_t len)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

int
proof_token_parse(const char *token, char id[PROOF_ID_MAX])
{
	const char *dot;
	size_t idlen, tlen;

	id[0] = '\0';
	if (token == NULL)
		return SL_EINVAL;
	tlen = strnlen(token, PROOF_TOKEN_MAX);
	dot = memchr(token, '.', tlen);
	if (tlen == PROOF_TOKEN_MAX || dot == NULL)
		return SL_EINVAL;
	idlen = (size_t)(dot - token);
	/* 16 random bytes are 22 base64url characters. */
	if (idlen == 0 || idlen >= PROOF_ID_MAX || tlen - idlen - 1 != 22 || !b64url_chars(token, idlen) ||
		!b64url_chars(dot + 1, 22))
		return SL_EINVAL;
	memcpy(id, token, idlen);
	id[idlen] = '\0';
	return SL_OK;
}

json_t *
proof_state_load(const char *text)
{
	json_t *st = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;

	if (!json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	if (st != NULL && !json_is_array(json_object_get(st, "tickets")))
		json_object_set_new(st, "tickets", json_array());
	return st;
}

int
proof_state_add_ticket(json_t *state, const char *hash, int64_t expires, int64_t now)
{
	json_t *list = json_object_get(state, "tickets"), *t;
	size_t i = 0;

	if (!json_is_array(list))
		return SL_EINVAL;
	while (i < json_array_size(list)) {
		t = json_array_get(list, i);
		if (json_integer_value(json_object_get(t, "exp")) <= now)
			json_array_remove(list, i);
		else
			i++;
	}
	while (json_array_size(list) >= PROOF_MAX_TICKETS)
		json_array_remove(list, 0);
	t = json_pack("{s:s,s:I}", "h", hash, "exp", (json_int_t)expires);
	return t != NULL && json_array_append_new(list, t) == 0 ? SL_OK : SL_ENOMEM;
}

bool
proof_state_ticket(json_t *state, const char *hash, int64_t now, bool consume)
{
	json_t *list = json_object_get(state, "tickets");
	size_t found = SIZE_MAX;

	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *t = json_array_get(list, i);
		const char *h = json_string_value(json_object_get(t, "h"));
		/* Look at every entry so the time does not say which matched. */
		if (h != NULL && sl_ct_streq(h, hash) && json_integer_value(json_object_get(t, "exp")) > now)
			found = i;
	}
	if (found == SIZE_MAX)
		return false;
	if (consume)
		json_array_remove(list, found);
	return true;
}

int
proof_state_set_flow(json_t *state, const struct proof_flow *f)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "bank", f->pf_bank, "state", f->pf_state_hash, "browser",
		f->pf_browser_hash, "verifier", f->pf_verifier, "nonce", f->pf_nonce, "exp", (json_int_t)f->pf_expires);

	if (o == NULL)
		return SL_ENOMEM;
	return json_object_set_new(state, "flow", o) == 0 ? SL_OK : SL_ENOMEM;
}

static bool
copy_field(json_t *o, const char *name, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(o, name));

	return v != NULL && sl_strlcpy(dst, v, len) < len;
}

int
proof_state_take_flow(
	json_t *state, const char *state_hash, const char *browser_hash, int64_t now, struct proof_flow *out)
{
	json_t *f = json_object_get(state, "flow");
	const char *h = json_string_value(json_object_get(f, "state"));
	const char *b = json_string_value(json_object_get(f, "browser"));
	int rc = SL_OK;

	memset(out, 0, sizeof(*out));
	if (h == NULL || !sl_ct_streq(h, state_hash))
		return SL_ENOTFOUND;
	if (b == NULL || browser_hash == NULL || !sl_ct_streq(b, browser_hash))
		return SL_EDENIED;
	if (!copy_field(f, "bank", out->pf_bank, sizeof(out->pf_bank)) ||
		!copy_field(f, "state", out->pf_state_hash, sizeof(out->pf_state_hash)) ||
		!copy_field(f, "browser", out->pf_browser_hash, sizeof(out->pf_browser_hash)) ||
		!copy_field(f, "verifier", out->pf_verifier, sizeof(out->pf_verifier)) ||
		!copy_field(f, "nonce", out->pf_nonce, sizeof(out->pf_nonce)))
		rc = SL_ENOTFOUND;
	out->pf_expires = json_integer_value(json_object_get(f, "exp"));
	if (rc == SL_OK && out->pf_expires <= now)
		rc = SL_EEXPIRED;
	/* One-time: whatever the outcome, this state cannot come back. */
	json_object_del(state, "flow");
	return rc;
}

/* ---- the proofing code and the proof that waits for it ---- */

int
proof_code_new(char out[PROOF_CODE_SHOWN + 1])
{
	static const char alphabet[] = PROOF_CODE_ALPHABET;
	uint8_t raw[PROOF_CODE_LEN];
	size_t j = 0;

	_Static_assert(sizeof(alphabet) - 1 == 32, "5 bits a character");
	if (sl_random(raw, sizeof(raw)) != SL_OK)
		return SL_ECRYPTO;
	for (size_t i = 0; i < PROOF_CODE_LEN; i++) {
		if (i == PROOF_CODE_LEN / 2)
			out[j++] = '-';
		out[j++] = alphabet[raw[i] & 31];
	}
	out[j] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return SL_OK;
}

int
proof_code_normalize(const char *typed, char out[PROOF_CODE_LEN + 1])
{
	size_t n = 0;

	out[0] = '\0';
	if (typed == NULL || strnlen(typed, PROOF_CODE_TYPED_MAX + 1) > PROOF_CODE_TYPED_MAX)
		return SL_EINVAL;
	for (const char *s = typed; *s != '\0'; s++) {
		char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
		if (c == ' ' || c == '-')
			continue;
		if (n == PROOF_CODE_LEN || strchr(PROOF_CODE_ALPHABET, c) == NULL)
			return SL_EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == PROOF_CODE_LEN ? SL_OK : SL_EINVAL;
}

int
proof_state_set_pending(
	json_t *state, const char *person_json, const char *method, const char *code_hash, int64_t expires)
{
	json_t *person = json_loads(person_json, JSON_REJECT_DUPLICATES, NULL), *p;

	if (!json_is_object(person)) {
		json_decref(person);
		return SL_EINVAL;
	}
	/* "o" takes the person's reference, also when packing fails. */
	p = json_pack("{s:s,s:I,s:i,s:o,s:s}", "h", code_hash, "exp", (json_int_t)expires, "left", PROOF_CODE_TRIES,
		"person", person, "method", method);
	if (p == NULL)
		return SL_ENOMEM;
	return json_object_set_new(state, "pending", p) == 0 ? SL_OK : SL_ENOMEM;
}

bool
proof_state_pending(json_t *state, int64_t now, int64_t *expires, int *tries_left)
{
	json_t *p = json_object_get(state, "pending");
	int64_t exp = json_integer_value(json_object_get(p, "exp"));
	json_int_t left = json_integer_value(json_object_get(p, "left"));

	if (!json_is_object(p) || exp <= now || left <= 0)
		return false;
	if (expires != NULL)
		*expires = exp;
	if (tries_left != NULL)
		*tries_left = (int)left;
	return true;
}

int
proof_state_redeem(json_t *state, const char *code_hash, int64_t now, struct proof_redeemed *out)
{
	json_t *p = json_object_get(state, "pending");
	const char *h = json_string_value(json_object_get(p, "h"));
	json_int_t left = json_integer_value(json_object_get(p, "left"));

	memset(out, 0, sizeof(*out));
	if (!json_is_object(p) || h == NULL)
		return SL_ENOTFOUND;
	if (json_integer_value(json_object_get(p, "exp")) <= now || left <= 0) {
		json_object_del(state, "pending");
		return SL_EEXPIRED;
	}
	if (!sl_ct_streq(h, code_hash)) {
		out->rd_tries_left = (int)left - 1;
		/* The last wrong try ends this proof: the person proves again. */
		if (out->rd_tries_left <= 0)
			json_object_del(state, "pending");
		else
			json_object_set_new(p, "left", json_integer(out->rd_tries_left));
		return SL_EDENIED;
	}
	out->rd_person = json_dumps(json_object_get(p, "person"), JSON_COMPACT);
	out->rd_method = sl_strdup(json_string_value(json_object_get(p, "method")));
	json_object_del(state, "pending");
	if (out->rd_person == NULL || out->rd_method == NULL) {
		proof_redeemed_clear(out);
		return SL_ENOMEM;
	}
	return SL_OK;
}

void
proof_redeemed_clear(struct proof_redeemed *r)
{
	free(r->rd_person);
	free(r->rd_method);
	memset(r, 0, sizeof(*r));
}
