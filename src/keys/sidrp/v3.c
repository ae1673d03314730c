/*
 * v3.c — the v3 creation endpoints (SK's RP API 3.2, docs/smart-id.md):
 * every POST under {issuer}/smart-id/v3/ is parsed (parse.c), its RP
 * checked (rp_auth.c) and its session made (create.c); this file writes
 * the answers of each shape:
 *
 *   device-link flows        {sessionID, sessionToken, sessionSecret, deviceLinkBase}
 *   notification signing     {sessionID, vc: {type: "numeric4", value}}
 *   other notification ones  {sessionID}  (the RP computes an
 *                            authentication's code from its rpChallenge)
 *   signature/certificate    {state: "OK", cert: {value, certificateLevel}}
 *                            or {state: "DOCUMENT_UNUSABLE"}, at once,
 *                            audited and bounded (cert_limit.c)
 *
 * sidrp_post() is shared with v2.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "sidrp_int.h"

static json_t *
v3_answer(const struct sidrp_req *r, const struct sidrp_created *c)
{
	const struct store_sid_session *s = &c->sc_session;

	if (strcmp(s->ss_flow, "device-link") == 0)
		return json_pack("{s:s,s:s,s:s,s:s}", "sessionID", s->ss_id, "sessionToken", s->ss_token,
			"sessionSecret", c->sc_secret, "deviceLinkBase", c->sc_link_base);
	if (r->sr_type == SIDRP_SIGN && r->sr_flow == SIDRP_NOTIFICATION && s->ss_vc != NULL)
		return json_pack(
			"{s:s,s:{s:s,s:s}}", "sessionID", s->ss_id, "vc", "type", "numeric4", "value", s->ss_vc);
	return json_pack("{s:s}", "sessionID", s->ss_id);
}

/* Content-Type application/json (any case, parameters such as charset
 * allowed): anything else could be a browser's form posted cross-site
 * without a CORS preflight. */
static bool
json_content_type(struct http_request *rq)
{
	const char *ct = http_content_type(rq);
	size_t n = strlen("application/json");

	if (ct == NULL)
		return false;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

void
sidrp_post(struct server *srv, struct http_request *rq, const char *base,
	int (*parse)(const char *, const char *, size_t, struct sidrp_req *, struct sidrp_problem *),
	json_t *(*answer)(const struct sidrp_req *, const struct sidrp_created *))
{
	const char *path = http_path(rq) + strlen(base);
	size_t len = 0;
	const uint8_t *body = http_body(rq, &len);
	struct sidrp_req r;
	struct sidrp_problem pr;
	struct store_sid_rp rp;
	struct sidrp_created c;
	char ip[SERVER_IP_MAX];

	if (!json_content_type(rq)) {
		sidrp_fail(rq, 415, NULL, NULL, "Content-Type must be application/json");
		return;
	}
	if (parse(path, (const char *)body, len, &r, &pr) != SL_OK) {
		sidrp_send_problem(rq, &pr);
		sidrp_req_clear(&r);
		return;
	}
	/* signature/certificate is part of signing (`sleutel rp add`'s "sign") */
	if (sidrp_rp_check(srv, rq, &r, r.sr_type == SIDRP_CERT ? "sign" : sidrp_type_word(r.sr_type), &rp, ip) !=
		SL_OK) {
		sidrp_req_clear(&r);
		return;
	}
	if (r.sr_type == SIDRP_CERT)
		sidrp_certificate_answer(srv, rq, &r, &rp, ip);
	else if (sidrp_session_create(srv, rq, &r, http_path(rq), body, len, &rp, ip, &c) == SL_OK) {
		http_send_json(rq, 200, answer(&r, &c));
		store_sid_session_clear(&c.sc_session);
	}
	OPENSSL_cleanse(c.sc_secret, sizeof(c.sc_secret));
	store_sid_rp_clear(&rp);
	sidrp_req_clear(&r);
}

/* The Base64 DER inside a PEM certificate (its body without line
 * breaks); new string or NULL. */
static char *
pem_body(const char *pem)
{
	const char *b = pem ? strstr(pem, "-----BEGIN CERTIFICATE-----") : NULL, *e;
	char *out, *w;

	if (b == NULL || (e = strstr(b, "-----END CERTIFICATE-----")) == NULL)
		return NULL;
	b += strlen("-----BEGIN CERTIFICATE-----");
	if ((out = malloc((size_t)(e - b) + 1)) == NULL)
		return NULL;
	for (w = out; b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t')
			*w++ = *b;
	*w = '\0';
	return out;
}

/* The sign key of an active device of an active account, not locked. */
static bool
document_usable(struct server *srv, const struct store_sid_device *d, struct store_sid_key *k)
{
	struct store_sid_account a;
	bool ok;

	if (strcmp(d->sd_status, "active") != 0 || store_sid_account_get(srv->sv_store, d->sd_account_id, &a) != SL_OK)
		return false;
	ok = strcmp(a.sa_status, "active") == 0 &&
	     store_sid_key_get(srv->sv_store, d->sd_id, STORE_SID_KEY_SIGN, k) == SL_OK &&
	     (k->sk_locked_until == 0 ||
		     (k->sk_locked_until != STORE_LOCKED_FOREVER && k->sk_locked_until <= sl_now()));
	store_sid_account_clear(&a);
	return ok;
}

void
sidrp_certificate_answer(struct server *srv, struct http_request *rq, const struct sidrp_req *r,
	const struct store_sid_rp *rp, const char *ip)
{
	struct store_sid_device d;
	struct store_sid_key k;
	const char *level = sidrp_level_name(sidrp_configured_level(srv));
	const char *result = "ok";
	char *der = NULL;
	int rc;

	memset(&k, 0, sizeof(k));
	if (sidrp_cert_limit_check(srv, rq, r, rp->sp_uuid, ip) != SL_OK)
		return;
	if ((rc = store_sid_device_by_document(srv->sv_store, r->sr_target_value, &d)) != SL_OK) {
		if (rc == SL_ENOTFOUND)
			sidrp_cert_miss(srv, rq, r, rp->sp_uuid, ip);
		else
			sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
		return;
	}
	if (r->sr_level > sidrp_configured_level(srv))
		result = "no_suitable_level";
	else if (!document_usable(srv, &d, &k) || (der = pem_body(k.sk_cert_pem)) == NULL)
		result = "unusable";
	sidrp_audit(srv, "sidrp.certificate", result, rp->sp_uuid, ip, r->sr_target_value);
	if (strcmp(result, "no_suitable_level") == 0)
		sidrp_fail(rq, 404, "NO_SUITABLE_ACCOUNT_FOUND", NULL,
			"No suitable account of requested type found, but user has some other accounts");
	else if (der == NULL)
		http_send_json(rq, 200, json_pack("{s:s}", "state", "DOCUMENT_UNUSABLE"));
	else
		http_send_json(rq, 200,
			json_pack("{s:s,s:{s:s,s:s}}", "state", "OK", "cert", "value", der, "certificateLevel",
				strcmp(level, "ADVANCED") == 0 ? level : "QUALIFIED"));
	free(der);
	store_sid_key_clear(&k);
	store_sid_device_clear(&d);
}

void
sidrp_v3_post(void *ctx, struct http_request *rq)
{
	sidrp_post(ctx, rq, SIDRP_V3_BASE, sidrp_parse_v3, v3_answer);
}

void
sidrp_v1_gone(void *ctx, struct http_request *rq)
{
	(void)ctx;
	sidrp_fail(rq, 480, NULL, NULL, "The RP API client is too old and not supported anymore");
}
