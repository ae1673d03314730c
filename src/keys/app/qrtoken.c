/*
 * qrtoken.c — the token in the portal's QR code, and its check, without
 * the server around them (so they are unit-tested on their own).
 *
 * A token is "<request id>.<slot>.<MAC>": the slot is the clock divided
 * into [app] qr_rotate_seconds, the MAC an HMAC-SHA256 of both under the
 * server's CSRF key.  The page fetches a new token every slot, and the
 * server takes a token in its own slot and the next one only
 * (APP_QR_SLOTS): a code relayed from this screen to a phishing page goes
 * stale within seconds, and where the relay is live, the app shows which
 * browser asked (context.c) so the person can see it is not theirs.
 */
#include <stdlib.h>
#include <string.h>

#include "request_int.h"
#include "../../crypto/crypto.h"

int64_t
app_qr_slot(int64_t now, int rotate)
{
	return rotate > 0 && now > 0 ? now / rotate : 0;
}

static char *
slot_mac(const uint8_t *key, size_t keylen, const char *id, int64_t slot)
{
	uint8_t mac[SL_SHA256_LEN];
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "qr|%s|%lld", id, (long long)slot);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return NULL;
	if (crypto_hmac_sha256(key, keylen, msg, (size_t)n, mac) != SL_OK)
		return NULL;
	return sl_b64url_encode(mac, sizeof(mac));
}

char *
app_qr_token_make(const uint8_t *key, size_t keylen, const char *id, int64_t slot)
{
	char *mac, *tok;
	size_t n;

	if (id == NULL || id[0] == '\0' || strlen(id) > APP_QR_ID_MAX || strchr(id, '.') != NULL || slot < 0)
		return NULL;
	if ((mac = slot_mac(key, keylen, id, slot)) == NULL)
		return NULL;
	n = strlen(id) + strlen(mac) + APP_QR_SLOT_DIGITS + 3;
	tok = malloc(n);
	if (tok != NULL)
		snprintf(tok, n, "%s.%lld.%s", id, (long long)slot, mac);
	free(mac);
	return tok;
}

/* "<digits>." at `s`: the slot, and where the MAC starts; -1 if malformed.
 * Only the form app_qr_token_make() writes (no leading zero): the MAC is
 * over the number, the single-use record over the token's text, so a
 * second spelling of one slot would be a second use. */
static int64_t
parse_slot(const char *s, const char **mac)
{
	size_t n = strspn(s, "0123456789");
	int64_t v = 0;

	if (n == 0 || n > APP_QR_SLOT_DIGITS || s[n] != '.' || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*mac = s + n + 1;
	return v;
}

int
app_qr_token_verify(const uint8_t *key, size_t keylen, const char *token, int64_t now_slot, char *id, size_t idlen)
{
	const char *dot, *mac = NULL;
	int64_t slot;
	char *want;
	bool ok;

	if (token == NULL || strlen(token) > APP_QR_TOKEN_MAX || (dot = strchr(token, '.')) == NULL || dot == token ||
		(size_t)(dot - token) >= idlen || (size_t)(dot - token) > APP_QR_ID_MAX)
		return SL_EINVAL;
	if ((slot = parse_slot(dot + 1, &mac)) < 0)
		return SL_EINVAL;
	memcpy(id, token, (size_t)(dot - token));
	id[dot - token] = '\0';
	want = slot_mac(key, keylen, id, slot);
	ok = want != NULL && sl_ct_streq(want, mac);
	free(want);
	/* Only the MAC makes a slot worth reading: a future one is no token
	 * this server gave out, an old one is a screen that has moved on. */
	if (!ok || slot > now_slot)
		return SL_EDENIED;
	if (slot <= now_slot - APP_QR_SLOTS)
		return SL_EEXPIRED;
	return SL_OK;
}
