/*
 * dpop.c — DPoP (RFC 9449) at the OAuth endpoints: /par, /token and
 * /userinfo.  The proof itself is checked by dpop_proof_verify()
 * (src/crypto/dpop.c, shared with the app's device API); this file adds
 * what needs the server: the htu of this request, the server nonce, the
 * jti replay record, and the error answers.
 *
 * Server nonces (§8, §9) are stateless, so any node of a cluster checks
 * any other's: nonce = base64url HMAC-SHA256(K, "slot:" ‖ floor(now / L))
 * with L = [oidc] dpop_nonce_lifetime and K derived from the server's
 * pairwise secret under its own label.  The current and the previous
 * slot are accepted, so a nonce is good for at least L seconds and at
 * most 2L.  Every proof must carry one: a proof without, or with a stale
 * one, gets use_dpop_nonce and a fresh DPoP-Nonce header, and every
 * answer of these endpoints carries the current nonce.
 *
 * A proof's jti is recorded under "dpop:<jkt>" until iat + [oidc]
 * dpop_proof_window + 1, after which its iat alone refuses it.
 */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "oidc_int.h"

#define NONCE_KEY_LABEL "sleutel DPoP nonce key" /* no '|': never a pairwise subject's input */

static const char *const dpop_algs[] = { OIDC_DPOP_ALGS, NULL };

const char *const *
oidc_dpop_algs(void)
{
	return dpop_algs;
}

bool
client_is_fapi2(const struct store_client *c)
{
	return c->cl_profile != NULL && strcmp(c->cl_profile, OIDC_PROFILE_FAPI2) == 0;
}

/* The nonce of time slot `slot` (43 characters). */
static int
nonce_of(struct server *srv, int64_t slot, char out[DPOP_JKT_LEN + 1])
{
	uint8_t key[SL_SHA256_LEN], mac[SL_SHA256_LEN];
	char msg[64];
	char *enc;
	int rc;

	rc = crypto_hmac_sha256(
		srv->sv_pairwise_key, sizeof(srv->sv_pairwise_key), NONCE_KEY_LABEL, strlen(NONCE_KEY_LABEL), key);
	snprintf(msg, sizeof(msg), "slot:%lld", (long long)slot);
	if (rc == SL_OK)
		rc = crypto_hmac_sha256(key, sizeof(key), msg, strlen(msg), mac);
	OPENSSL_cleanse(key, sizeof(key));
	enc = rc == SL_OK ? sl_b64url_encode(mac, sizeof(mac)) : NULL;
	rc = enc != NULL && sl_strlcpy(out, enc, DPOP_JKT_LEN + 1) == DPOP_JKT_LEN ? SL_OK : SL_ECRYPTO;
	free(enc);
	return rc;
}

static int64_t
slot_now(struct server *srv)
{
	return sl_now() / srv->sv_conf->c_dpop_nonce_lifetime;
}

void
oidc_dpop_nonce_header(struct server *srv, struct http_request *rq)
{
	char n[DPOP_JKT_LEN + 1];

	if (nonce_of(srv, slot_now(srv), n) == SL_OK)
		http_add_header(rq, "DPoP-Nonce", n);
}

static bool
nonce_ok(struct server *srv, const char *nonce)
{
	char cur[DPOP_JKT_LEN + 1], prev[DPOP_JKT_LEN + 1];
	int64_t slot = slot_now(srv);
	bool is_cur, is_prev;

	if (nonce == NULL || nonce[0] == '\0' || nonce_of(srv, slot, cur) != SL_OK ||
		nonce_of(srv, slot - 1, prev) != SL_OK)
		return false;
	/* both compared, in constant time */
	is_cur = sl_ct_streq(nonce, cur);
	is_prev = sl_ct_streq(nonce, prev);
	return is_cur || is_prev;
}

/* The error answer: at the authorization server a 400 JSON error (§5,
 * §8), at a resource a 401 with WWW-Authenticate: DPoP (§7.1, §9). */
int
oidc_dpop_fail(struct server *srv, struct http_request *rq, bool resource, const char *error, const char *desc)
{
	char hdr[256];

	oidc_dpop_nonce_header(srv, rq);
	if (!resource) {
		http_send_oauth_error(rq, 400, error, desc);
		return SL_EDENIED;
	}
	snprintf(hdr, sizeof(hdr), "DPoP error=\"%s\", algs=\"%s\"", error, OIDC_DPOP_ALGS_SP);
	http_add_header(rq, "WWW-Authenticate", hdr);
	http_send_oauth_error(rq, 401, error, desc);
	return SL_EDENIED;
}

int
oidc_dpop_check(
	struct server *srv, struct http_request *rq, const char *path, const char *access_token, struct oidc_dpop *out)
{
	const struct sl_config *conf = srv->sv_conf;
	const char *proof = http_header(rq, "DPoP");
	enum http_method m = http_method(rq);
	bool resource = access_token != NULL;
	char htu[600], key[DPOP_JKT_LEN + 8], *ath = NULL;
	struct dpop_expect ex = { m == HTTP_POST ? "POST" : "GET", htu, sl_now(), conf->c_dpop_proof_window, dpop_algs,
		NULL };
	struct dpop_proof pr;
	struct sl_err err = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (proof == NULL)
		return SL_OK;
	out->od_present = true;
	if ((size_t)snprintf(htu, sizeof(htu), "%s%s", conf->c_issuer, path) >= sizeof(htu))
		return oidc_dpop_fail(srv, rq, resource, "invalid_dpop_proof", "the URL is too long");
	if (resource && (ath = dpop_ath(access_token)) == NULL)
		return oidc_dpop_fail(srv, rq, resource, "invalid_dpop_proof", "out of memory");
	ex.de_ath = ath;
	rc = dpop_proof_verify(proof, NULL, &ex, &pr, &err);
	free(ath);
	if (rc != SL_OK)
		return oidc_dpop_fail(srv, rq, resource, "invalid_dpop_proof", err.msg);
	if (!nonce_ok(srv, pr.dp_nonce))
		return oidc_dpop_fail(srv, rq, resource, "use_dpop_nonce",
			pr.dp_nonce[0] ? "the DPoP nonce is stale: use the one in DPoP-Nonce"
				       : "a DPoP nonce is required: use the one in DPoP-Nonce");
	snprintf(key, sizeof(key), "dpop:%s", pr.dp_jkt);
	rc = store_jti_use(srv->sv_store, key, pr.dp_jti, pr.dp_iat + conf->c_dpop_proof_window + 1);
	if (rc == SL_ECONFLICT)
		return oidc_dpop_fail(
			srv, rq, resource, "invalid_dpop_proof", "the proof was used before (jti replay)");
	if (rc != SL_OK) {
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "cannot record the proof");
		return SL_EDENIED;
	}
	memcpy(out->od_jkt, pr.dp_jkt, sizeof(out->od_jkt));
	return SL_OK;
}

bool
oidc_jkt_valid(const char *jkt)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

	return jkt != NULL && strlen(jkt) == DPOP_JKT_LEN && strspn(jkt, b64url) == DPOP_JKT_LEN;
}
