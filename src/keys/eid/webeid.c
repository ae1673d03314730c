/*
 * webeid.c — logging in with the eID card through the Web eID browser
 * extension, on the portal origin.
 *
 * The eID page asks for a challenge (POST /login/eid/webeid/challenge):
 * 32 random bytes in base64, kept on the pending request as the SHA-256
 * of a domain-separated copy, for [eid] webeid_challenge_lifetime seconds,
 * and answered only to the browser that started the request (its binding
 * cookie and CSRF token).  The extension signs H(origin) || H(challenge)
 * with the card; the page posts the token (POST /login/eid/webeid) with
 * the challenge.  There the challenge is taken once (a replay, a late or
 * an unknown one is refused), the signature checked over the configured
 * portal origin (never the request's Host or Origin), and the certificate
 * validated as a TLS client certificate is (eid_validate: trust path,
 * validity, authentication usage, OCSP/CRL, identity).  An accepted card
 * takes the TLS path's way back (eid_accept_url): the page goes to
 * /login/eid/return, which completes the login.
 *
 * The challenge shares the request's one-time result slot with the TLS
 * path's handoff; its hash has its own prefix so neither can stand for
 * the other.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "eid.h"
#include "../../outbound/outbound.h"
#include "../../crypto/crypto.h"
#include "../../oidc/oidc.h"
#include "../../portal/portal.h"

#define WEBEID_HASH_PREFIX "webeid-challenge:"
#define WEBEID_CHALLENGE_RESULT "{\"webeid\":\"challenge\"}"
#define WEBEID_ORIGIN_MAX 512

/* The codes a page may see besides the token's and the card's. */
struct webeid_error {
	int status;
	const char *code;
	const char *msgid;
};

static const struct webeid_error ERR_GONE = { 404, "request_expired", N_("This login request has expired") };
static const struct webeid_error ERR_FORM = { 403, "form_expired", N_("This form has expired") };
static const struct webeid_error ERR_OFF = { 404, "webeid_disabled", N_("Web eID is not offered here") };
static const struct webeid_error ERR_CHALLENGE = { 401, "challenge_invalid",
	N_("This Web eID login has expired. Try again.") };
static const struct webeid_error ERR_EXPIRED = { 401, "challenge_expired",
	N_("This Web eID login has expired. Try again.") };
static const struct webeid_error ERR_INTERNAL = { 500, "server_error", N_("Something went wrong") };

/* The token's refusals: 400 for what is not a token, 401 for one that
 * does not prove the card. */
static struct webeid_error
token_error(enum webeid_refusal r)
{
	switch (r) {
	case WEBEID_TOO_LARGE:
		return (struct webeid_error){ 413, webeid_refusal_name(r),
			N_("The Web eID answer could not be read.") };
	case WEBEID_BAD_SIGNATURE:
		return (struct webeid_error){ 401, webeid_refusal_name(r),
			N_("The card's signature could not be verified. Try again.") };
	default:
		return (struct webeid_error){ 400, webeid_refusal_name(r),
			N_("The Web eID answer could not be read.") };
	}
}

static void
send_error(struct server *srv, struct http_request *rq, int lang, struct webeid_error e)
{
	const char *msg = i18n_gettext(srv->sv_catalogs[lang], e.msgid);

	http_send_json(rq, e.status, json_pack("{s:s, s:s}", "error", e.code, "message", msg));
}

/* The portal's origin (RFC 6454 ASCII serialisation) from the issuer
 * URL: scheme, host and port, without the path, and without the port when
 * it is https's own (a browser's origin never names 443). */
static int
portal_origin(struct server *srv, char *out, size_t len)
{
	const char *iss = srv->sv_conf->c_issuer, *host = strstr(iss, "://"), *end;
	size_t n;

	if (host == NULL)
		return SL_EINVAL;
	end = strchr(host + 3, '/');
	n = end ? (size_t)(end - iss) : strlen(iss);
	if (n >= len)
		return SL_ETOOBIG;
	memcpy(out, iss, n);
	out[n] = '\0';
	if (n > 4 && strncmp(out, "https://", 8) == 0 && strcmp(out + n - 4, ":443") == 0)
		out[n - 4] = '\0';
	return SL_OK;
}

/* The stored form of a challenge: SHA-256 of the prefixed text, hex. */
static int
challenge_hash(const char *nonce, char hash[2 * SL_SHA256_LEN + 1])
{
	char buf[sizeof(WEBEID_HASH_PREFIX) + WEBEID_NONCE_CHARS];
	int rc;

	if (nonce == NULL || strlen(nonce) != WEBEID_NONCE_CHARS)
		return SL_EINVAL;
	snprintf(buf, sizeof(buf), "%s%s", WEBEID_HASH_PREFIX, nonce);
	rc = crypto_token_hash(buf, hash);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* The pending request of this browser, with the form's CSRF token right;
 * false when an error was sent. */
static bool
pending_of(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang)
{
	const char *req = http_param(rq, "req");

	*lang = portal_lang(srv, rq, NULL);
	if (srv->sv_eid_validator == NULL || !srv->sv_conf->c_eid_webeid) {
		send_error(srv, rq, *lang, ERR_OFF);
		return false;
	}
	if (req == NULL || strlen(req) > 64 || oidc_pending_load(srv, rq, req, p) != SL_OK) {
		send_error(srv, rq, *lang, ERR_GONE);
		return false;
	}
	*lang = portal_lang(srv, rq, json_string_value(json_object_get(p->op_params, "ui_locales")));
	if (!oidc_csrf_ok(srv, rq, p->op_req.ar_id, http_param(rq, "csrf"))) {
		send_error(srv, rq, *lang, ERR_FORM);
		oidc_pending_clear(p);
		return false;
	}
	return true;
}

void
webeid_challenge(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	uint8_t raw[WEBEID_NONCE_BYTES];
	char hash[2 * SL_SHA256_LEN + 1], *nonce = NULL;
	int lang, rc = SL_ENOMEM;

	if (!pending_of(srv, rq, &p, &lang))
		return;
	if (sl_random(raw, sizeof(raw)) == SL_OK && (nonce = sl_b64_encode(raw, sizeof(raw))) != NULL &&
		(rc = challenge_hash(nonce, hash)) == SL_OK)
		rc = store_authreq_set_result(srv->sv_store, p.op_req.ar_id, hash, WEBEID_CHALLENGE_RESULT,
			sl_now() + srv->sv_conf->c_eid_webeid_lifetime);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc == SL_OK)
		http_send_json(rq, 200,
			json_pack("{s:s, s:i}", "challengeNonce", nonce, "expiresIn",
				srv->sv_conf->c_eid_webeid_lifetime));
	else
		send_error(srv, rq, lang, rc == SL_ENOTFOUND ? ERR_GONE : ERR_INTERNAL);
	free(nonce);
	oidc_pending_clear(&p);
}

/* Take the challenge the token answers: once, and only in time. */
static bool
take_challenge(struct server *srv, struct http_request *rq, int lang, struct oidc_pending *p, const char *nonce)
{
	char hash[2 * SL_SHA256_LEN + 1], *json = NULL;
	size_t raw_len = 0;
	uint8_t *raw = nonce ? sl_b64_decode(nonce, strlen(nonce), &raw_len) : NULL;
	int rc = SL_EINVAL;

	if (raw != NULL && raw_len == WEBEID_NONCE_BYTES && challenge_hash(nonce, hash) == SL_OK)
		rc = store_authreq_take_result(srv->sv_store, p->op_req.ar_id, hash, &json);
	free(raw);
	if (rc == SL_OK && (json == NULL || strcmp(json, WEBEID_CHALLENGE_RESULT) != 0))
		rc = SL_EINVAL;
	free(json);
	if (rc == SL_OK)
		return true;
	eid_refusal_record(srv, rq, &p->op_req, rc == SL_EEXPIRED ? ERR_EXPIRED.code : ERR_CHALLENGE.code, false,
		rc == SL_EEXPIRED ? "web eid: the challenge was answered too late"
				  : "web eid: not a challenge issued for this request, or used before");
	send_error(srv, rq, lang, rc == SL_EEXPIRED ? ERR_EXPIRED : ERR_CHALLENGE);
	return false;
}

/* The certificate's verdict, back on an event loop (eid_check_suspend ran
 * the checks of the TLS path on an outbound worker: OCSP and the CRL may
 * hang): the way back, or the JSON error. */
static void
token_verdict(struct server *srv, struct http_request *rq, int lang, struct oidc_pending *p, int st,
	const struct eid_result *res)
{
	char loc[1024], detail[SL_ERR_MAX + 16];
	int rc;

	if (st != OUTBOUND_DONE) {
		if (st != OUTBOUND_TIMEOUT)
			http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
		snprintf(detail, sizeof(detail), "web eid: %s", eid_check_unavailable(st));
		eid_refusal_record(srv, rq, &p->op_req, eid_verdict_name(EID_STATUS_UNAVAILABLE), true, detail);
		send_error(srv, rq, lang,
			(struct webeid_error){ st == OUTBOUND_TIMEOUT ? 504 : 503,
				eid_verdict_name(EID_STATUS_UNAVAILABLE),
				eid_verdict_heading(EID_STATUS_UNAVAILABLE) });
	} else if (res->er_verdict != EID_OK) {
		snprintf(detail, sizeof(detail), "web eid: %s", res->er_detail);
		eid_refusal_record(srv, rq, &p->op_req, eid_verdict_name(res->er_verdict),
			res->er_verdict == EID_STATUS_UNAVAILABLE, detail);
		send_error(srv, rq, lang,
			(struct webeid_error){ res->er_verdict == EID_STATUS_UNAVAILABLE ? 503 : 401,
				eid_verdict_name(res->er_verdict), eid_verdict_heading(res->er_verdict) });
	} else if ((rc = eid_accept_url(srv, rq, lang, &p->op_req, res, loc, sizeof(loc))) != SL_OK) {
		send_error(srv, rq, lang, rc == SL_ENOTFOUND ? ERR_GONE : ERR_INTERNAL);
	} else {
		http_send_json(rq, 200, json_pack("{s:s}", "redirect", loc));
		OPENSSL_cleanse(loc, sizeof(loc));
	}
}

/* POST /login/eid/webeid.  The first run checks the token and spends the
 * challenge, then suspends the request while a worker validates the
 * certificate; the second run (the same request, resumed) answers. */
void
webeid_login(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *text = http_param(rq, "token");
	const struct eid_result *res;
	struct oidc_pending p;
	struct webeid_token t;
	struct sl_err err = { 0 };
	char origin[WEBEID_ORIGIN_MAX], detail[SL_ERR_MAX + 16];
	enum webeid_refusal r;
	int lang, st = eid_check_result(rq, &res);

	if (st == OUTBOUND_WAITING)
		return;
	if (!pending_of(srv, rq, &p, &lang))
		return;
	if (st != OUTBOUND_NONE) {
		token_verdict(srv, rq, lang, &p, st, res);
		oidc_pending_clear(&p);
		return;
	}
	memset(&t, 0, sizeof(t));
	r = text ? webeid_token_parse(text, strlen(text), &t, &err)
		 : (sl_fail(&err, SL_EINVAL, "no token"), WEBEID_MALFORMED);
	/* the challenge is spent by any token, good or bad, that answers it */
	if (r == WEBEID_OK && !take_challenge(srv, rq, lang, &p, http_param(rq, "challenge")))
		goto out;
	if (r == WEBEID_OK && portal_origin(srv, origin, sizeof(origin)) != SL_OK) {
		send_error(srv, rq, lang, ERR_INTERNAL);
		goto out;
	}
	if (r == WEBEID_OK)
		r = webeid_verify(&t, origin, http_param(rq, "challenge"), &err);
	if (r != WEBEID_OK) {
		snprintf(detail, sizeof(detail), "web eid: %s", err.msg);
		eid_refusal_record(srv, rq, &p.op_req, webeid_refusal_name(r), false, detail);
		send_error(srv, rq, lang, token_error(r));
	} else {
		struct eid_chain ch = { .ec_der = { t.wt_cert }, .ec_len = { t.wt_cert_len }, .ec_n = 1 };

		struct eid_result cached;
		int rc;

		/* the chain is copied: the token goes when this run ends */
		rc = eid_check_suspend(
			srv->sv_eid_validator, srv->sv_outbound, rq, &ch, srv->sv_conf->c_eid_timeout, &cached);
		if (rc == EID_CHECK_CACHED) {
			token_verdict(srv, rq, lang, &p, OUTBOUND_DONE, &cached);
			eid_result_clear(&cached);
		} else if (rc != SL_OK) {
			token_verdict(srv, rq, lang, &p, outbound_refused(srv->sv_outbound), NULL);
		}
	}
out:
	webeid_token_clear(&t);
	oidc_pending_clear(&p);
}

/* Read once at start with the other static files (server.c
 * load_portal_data): the eID page is served from memory. */
void
webeid_script(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;

	http_send_static(rq, "text/javascript; charset=utf-8", srv->sv_webeid_js, srv->sv_webeid_js_len);
}
