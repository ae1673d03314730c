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
