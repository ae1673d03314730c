/*
 * sid_bind.c — the pure pieces of a Smart-ID login request: the national
 * number as a person types it, the bytes a login binds and their hash (what
 * the device signs), the verification code both screens show, and the
 * sentence the app shows.  No I/O, no state: fuzzed (fuzz/fuzz_sid_login.c).
 *
 * The binding is length-prefixed (2 bytes big-endian per field), so no
 * choice of names or texts can make two different requests bind the same
 * bytes; the display text is bound by its SHA-256 so the binding stays
 * small.  The device recomputes it from the request's fields before it
 * asks for the PIN, and checks the verification code (docs/smartid-api.md).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "../eid/eid.h"
#include "../../sidproto/sidproto.h"
#include "sid_login_int.h"

int
sid_rrn_normalize(const char *in, char out[SID_RRN_LEN + 1])
{
	char digits[SID_RRN_LEN + 1], birth[11], sex;
	size_t n = 0;

	out[0] = '\0';
	if (in == NULL || strlen(in) > SID_RRN_INPUT_MAX)
		return SL_EINVAL;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n == SID_RRN_LEN)
				return SL_EINVAL;
			digits[n++] = *p;
		} else if (*p != ' ' && *p != '.' && *p != '-') {
			return SL_EINVAL;
		}
	}
	digits[n] = '\0';
	if (n != SID_RRN_LEN || eid_rrn_check(digits, birth, &sex, NULL) != SL_OK)
		return SL_EINVAL;
	memcpy(out, digits, sizeof(digits));
	return SL_OK;
}

/* One field: its 2-byte length, then its bytes. */
static int
bind_field(EVP_MD_CTX *md, const void *data, size_t len)
{
	uint8_t be[2];

	if (len > SID_BIND_FIELD_MAX)
		return SL_ETOOBIG;
	be[0] = (uint8_t)(len >> 8);
	be[1] = (uint8_t)(len & 0xff);
	if (EVP_DigestUpdate(md, be, 2) != 1 || (len > 0 && EVP_DigestUpdate(md, data, len) != 1))
		return SL_ECRYPTO;
	return SL_OK;
}

static int
bind_str(EVP_MD_CTX *md, const char *s)
{
	return bind_field(md, s, strlen(s));
}

int
sid_bind_hash(const struct sid_bind *b, uint8_t out[SL_SHA256_LEN])
{
	uint8_t dt[SL_SHA256_LEN];
	EVP_MD_CTX *md;
	unsigned int outlen = 0;
	int rc;

	if (b->sb_request_id == NULL || b->sb_rp_id == NULL || b->sb_rp_name == NULL || b->sb_action == NULL ||
		b->sb_display_text == NULL || b->sb_nonce == NULL)
		return SL_EINVAL;
	if (crypto_sha256(b->sb_display_text, strlen(b->sb_display_text), dt) != SL_OK ||
		(md = EVP_MD_CTX_new()) == NULL)
		return SL_ECRYPTO;
	rc = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? SL_OK : SL_ECRYPTO;
	if (rc == SL_OK)
		rc = bind_str(md, SID_BIND_CONTEXT);
	if (rc == SL_OK)
		rc = bind_str(md, b->sb_request_id);
	if (rc == SL_OK)
		rc = bind_str(md, b->sb_rp_id);
	if (rc == SL_OK)
		rc = bind_str(md, b->sb_rp_name);
	if (rc == SL_OK)
		rc = bind_str(md, b->sb_action);
	if (rc == SL_OK)
		rc = bind_field(md, dt, sizeof(dt));
	if (rc == SL_OK)
		rc = bind_str(md, b->sb_nonce);
	if (rc == SL_OK && (EVP_DigestFinal_ex(md, out, &outlen) != 1 || outlen != SL_SHA256_LEN))
		rc = SL_ECRYPTO;
	EVP_MD_CTX_free(md);
	return rc;
}

void
sid_verification_code(const uint8_t *hash, size_t hashlen, char out[SID_VC_LEN + 1])
{
	sidp_vc_of(hash, hashlen, out); /* Smart-ID's published rule (src/sidproto) */
}
