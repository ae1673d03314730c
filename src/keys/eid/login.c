/*
 * login.c — the eID key's pages.
 *
 * On the portal origin, /key/eid shows what to do (reader, card, PIN) and a
 * button to the eID origin.  There, /eid/login takes the certificate the
 * browser presented in the TLS handshake (or, from a trusted proxy, in the
 * configured header), validates it, and either keeps the identity on the
 * pending request as a one-time result and sends the browser back to the
 * portal to redeem it (handoff.c), or shows the person what went wrong and
 * what to do about it.
 *
 * The eID origin may be another host, where the portal's cookies are not
 * sent; the link carries the request's CSRF token as a ticket, checked
 * against the request's stored browser binding.  The ticket stops a forged
 * link, not a forwarded one: the login is completed only on the portal, in
 * the browser whose cookie started it (handoff.c).
 */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "eid.h"
#include "../../oidc/oidc.h"
#include "../../outbound/outbound.h"
#include "../../portal/portal.h"

struct eid_page_text {
	const char *heading;
	const char *detail;
};

/* What the person reads for each refusal. */
static struct eid_page_text
verdict_text(enum eid_verdict v)
{
	switch (v) {
	case EID_NO_CERT:
		return (struct eid_page_text){ N_("Your browser did not send a certificate"),
			N_("Your browser did not offer the certificate of your eID card, or you cancelled the "
			   "choice.") };
	case EID_EXPIRED:
		return (struct eid_page_text){ N_("Your eID card has expired"),
			N_("The certificate on your card is no longer valid. Renew your card at your municipality.") };
	case EID_NOT_YET_VALID:
		return (struct eid_page_text){ N_("Your eID card is not valid yet"),
			N_("The certificate on your card only becomes valid later. Check the date and time of your "
			   "computer.") };
	case EID_REVOKED:
		return (struct eid_page_text){ N_("Your eID card has been revoked"),
			N_("The certificate on your card was revoked. Contact your municipality.") };
	case EID_UNKNOWN_ISSUER:
	case EID_WEAK_KEY:
	case EID_MALFORMED:
		return (struct eid_page_text){ N_("This card is not recognised"),
			N_("Only Belgian eID cards are accepted. Choose the certificate of your eID card.") };
	case EID_WRONG_USAGE:
		return (struct eid_page_text){ N_("This is not the authentication certificate"),
			N_("When your browser asks, choose the certificate whose name ends in (Authentication).") };
	case EID_STATUS_UNAVAILABLE:
		return (struct eid_page_text){ N_("Your card cannot be checked right now"),
			N_("Whether your card is still valid cannot be checked at the moment. Try again in a few "
			   "minutes.") };
	case EID_BAD_IDENTITY:
		return (struct eid_page_text){ N_("The national register number on this card is not valid"),
			N_("The card does not carry a valid national register number. Contact your municipality.") };
	default: return (struct eid_page_text){ N_("Something went wrong"), NULL };
	}
}

void
eid_refusal_record(struct server *srv, struct http_request *rq, const struct store_authreq *ar, const char *result,
	bool unavailable, const char *detail)
{
	char ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "login",
		.au_key = "eid",
		.au_result = result,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_client_id = ar ? ar->ar_client_id : NULL,
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
	metrics_login(srv->sv_metrics, "eid", unavailable ? "failed" : "denied");
}

const char *
eid_verdict_heading(enum eid_verdict v)
{
	return verdict_text(v).heading;
}

static void
eid_refuse(struct server *srv, struct http_request *rq, int lang, const struct store_authreq *ar, enum eid_verdict v,
	const char *detail, int status)
{
	const char *req_id = ar ? ar->ar_id : NULL;
	struct eid_page_text t = verdict_text(v);
	const struct i18n_catalog *cat = srv->sv_catalogs[lang];
	char back[512];
	struct tmpl_var vars[4];

	eid_refusal_record(srv, rq, ar, eid_verdict_name(v), v == EID_STATUS_UNAVAILABLE, detail);
	snprintf(back, sizeof(back), "%s/login?req=%s&lang=%s", srv->sv_conf->c_issuer, req_id ? req_id : "",
		config_languages[lang]);
	vars[0] = (struct tmpl_var){ "heading", i18n_gettext(cat, t.heading) };
	vars[1] = (struct tmpl_var){ "detail", t.detail ? i18n_gettext(cat, t.detail) : "" };
	vars[2] = (struct tmpl_var){ "back", req_id ? back : "" };
	vars[3] = (struct tmpl_var){ "code", eid_verdict_name(v) };
	portal_page(srv, rq, status, lang, t.heading, "eid_error", vars, 4);
}

/* nginx's $ssl_client_escaped_cert: the PEM chain, URL-escaped. */
static int
chain_from_header(const char *value, struct eid_chain *ch)
{
	char *pem = strdup(value);
	BIO *bio;
	X509 *x;

	if (pem == NULL)
		return SL_ENOMEM;
	MHD_http_unescape(pem);
	bio = BIO_new_mem_buf(pem, -1);
	while (bio && ch->ec_n < EID_MAX_CHAIN && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		unsigned char *der = NULL;
		int n = i2d_X509(x, &der);
		X509_free(x);
		if (n <= 0)
			break;
		ch->ec_owned[ch->ec_n] = der;
		ch->ec_der[ch->ec_n] = der;
		ch->ec_len[ch->ec_n] = (size_t)n;
		ch->ec_n++;
	}
	BIO_free(bio);
	free(pem);
	return ch->ec_n > 0 ? SL_OK : SL_EINVAL;
}

void
eid_chain_clear(struct eid_chain *ch)
{
	for (size_t i = 0; i < ch->ec_n; i++)
		OPENSSL_free(ch->ec_owned[i]);
}

int
eid_request_chain(struct server *srv, struct http_request *rq, struct eid_chain *ch)
{
	const char *hdr = http_header(rq, srv->sv_conf->c_eid_proxy_header);

	memset(ch, 0, sizeof(*ch));
	if (hdr != NULL && *hdr != '\0') {
		/* Believed only on a plain listener ([eid] tls = false), the one
		 * behind a TLS-terminating proxy (docs/eid.md): on a TLS listener
		 * the handshake is the browser's own, and a header is a forgery
		 * or a misconfigured proxy, whoever sends it. */
		if (http_is_tls(rq) || !server_proxy_trusted(srv, http_client_ip(rq)))
			return SL_EDENIED;
		if (strlen(hdr) > EID_MAX_HEADER)
			return SL_ETOOBIG;
		return chain_from_header(hdr, ch) == SL_OK ? SL_OK : SL_EINVAL;
	}
	ch->ec_n = http_client_certs(rq, ch->ec_der, ch->ec_len, EID_MAX_CHAIN);
	return SL_OK;
}

void
eid_person_from_identity(const struct eid_identity *id, struct store_person *p)
{
	memset(p, 0, sizeof(*p));
	p->p_rrn = strdup(id->ei_rrn);
	p->p_given_name = sl_strdup(id->ei_given_names);
	p->p_family_name = sl_strdup(id->ei_family_name);
	p->p_birthdate = id->ei_birthdate[0] ? strdup(id->ei_birthdate) : NULL;
}

int
eid_accept_url(struct server *srv, struct http_request *rq, int lang, const struct store_authreq *ar,
	const struct eid_result *res, char *loc, size_t loclen)
{
	char *r = NULL;
	int n, rc;

	if (res->er_fail_open) {
		char ipbuf[SERVER_IP_MAX];
		struct store_audit au = { .au_event = "eid.fail_open",
			.au_key = "eid",
			.au_result = "accepted",
			.au_ip = server_audit_ip(srv, rq, ipbuf),
			.au_client_id = ar->ar_client_id,
			.au_detail = res->er_detail };
		store_audit_add(srv->sv_store, &au);
	}
	if ((rc = eid_handoff_put(srv, ar->ar_id, &res->er_identity, &r)) != SL_OK)
		return rc;
	n = snprintf(loc, loclen, "%s/login/eid/return?req=%s&r=%s&lang=%s", srv->sv_conf->c_issuer, ar->ar_id, r,
		config_languages[lang]);
	if (n < 0 || (size_t)n >= loclen) {
		log_error("%s: the issuer URL is too long for the way back", __func__);
		OPENSSL_cleanse(loc, loclen);
		rc = SL_ETOOBIG;
	}
	OPENSSL_cleanse(r, strlen(r));
	free(r);
	return rc;
}

/* A valid card: keep its identity for the browser that started the login
 * and send this browser to the portal to redeem it (handoff.c). */
static void
eid_accept(struct server *srv, struct http_request *rq, int lang, const struct store_authreq *ar,
	const struct eid_result *res)
{
	char loc[1024];
	int rc = eid_accept_url(srv, rq, lang, ar, res, loc, sizeof(loc));

	if (rc == SL_OK)
		http_send_redirect(rq, 303, loc);
	else if (rc == SL_ETOOBIG)
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), NULL);
	else
		portal_error(srv, rq, 409, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
	OPENSSL_cleanse(loc, sizeof(loc));
}

/* The card's verdict, back on an event loop: hand over, or explain.  A
 * validation that found no worker in time is the "cannot be checked right
 * now" refusal, 503 (queue full, stopping) or 504 (no answer in time),
 * audited with its own reason (eid_check_unavailable). */
static void
eid_login_verdict(struct server *srv, struct http_request *rq, int lang, const struct store_authreq *ar, int st,
	const struct eid_result *res)
{
	if (st != OUTBOUND_DONE) {
		if (st != OUTBOUND_TIMEOUT)
			http_add_header(rq, "Retry-After", OUTBOUND_RETRY_AFTER);
		eid_refuse(srv, rq, lang, ar, EID_STATUS_UNAVAILABLE, eid_check_unavailable(st),
			st == OUTBOUND_TIMEOUT ? 504 : 503);
	} else if (res->er_verdict == EID_OK) {
		eid_accept(srv, rq, lang, ar, res);
	} else {
		eid_refuse(srv, rq, lang, ar, res->er_verdict, res->er_detail, 403);
	}
}

void
eid_login(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *req = http_param(rq, "req"), *ticket = http_param(rq, "t");
	struct store_authreq ar;
	const struct eid_result *res;
	struct eid_result cached;
	struct eid_chain ch;
	int lang = portal_lang(srv, rq, NULL), rc, st = eid_check_result(rq, &res);

	if (st == OUTBOUND_WAITING)
		return;
	memset(&ar, 0, sizeof(ar));
	if (req == NULL || strlen(req) > 64 || store_authreq_get(srv->sv_store, req, &ar) != SL_OK ||
		strcmp(ar.ar_status, "pending") != 0) {
		portal_error(srv, rq, 404, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		store_authreq_clear(&ar);
		return;
	}
	if (!oidc_ticket_ok(srv, &ar, ticket)) {
		portal_error(srv, rq, 403, lang, N_("This form has expired"),
			N_("Go back to the site you came from and start again."));
		store_authreq_clear(&ar);
		return;
	}
	if (st != OUTBOUND_NONE) {
		eid_login_verdict(srv, rq, lang, &ar, st, res);
		store_authreq_clear(&ar);
		return;
	}
	rc = eid_request_chain(srv, rq, &ch);
	if (rc == SL_EDENIED)
		eid_refuse(srv, rq, lang, &ar, EID_MALFORMED,
			"client-certificate header on a TLS listener or not from a trusted proxy", 400);
	else if (rc != SL_OK)
		eid_refuse(srv, rq, lang, &ar, EID_MALFORMED, "unreadable client-certificate header", 400);
	else if ((rc = eid_check_suspend(srv->sv_eid_validator, srv->sv_outbound, rq, &ch, srv->sv_conf->c_eid_timeout,
			  &cached)) == EID_CHECK_CACHED) {
		eid_login_verdict(srv, rq, lang, &ar, OUTBOUND_DONE, &cached);
		eid_result_clear(&cached);
	} else if (rc != SL_OK)
		eid_login_verdict(srv, rq, lang, &ar, outbound_refused(srv->sv_outbound), NULL);
	eid_chain_clear(&ch);
	store_authreq_clear(&ar);
}

/* The portal's page for the eID key: what to do, and the way in. */
void
eid_page(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	static const char *const keys[] = { "ui_locales", NULL }; /* all this page reads */
	char *csrf, url[1024];
	int lang;

	if (oidc_pending_load_some(srv, rq, http_param(rq, "req"), keys, &p) != SL_OK) {
		portal_error(srv, rq, 404, portal_lang(srv, rq, NULL), N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
		return;
	}
	lang = portal_lang(srv, rq, json_string_value(json_object_get(p.op_params, "ui_locales")));
	csrf = oidc_csrf_token(srv, rq, p.op_req.ar_id);
	snprintf(url, sizeof(url), "%s/eid/login?req=%s&t=%s&lang=%s", srv->sv_conf->c_eid.lc_public_url,
		p.op_req.ar_id, csrf ? csrf : "", config_languages[lang]);
	{
		struct portal_timelimit tl;
		struct tmpl_var v[6 + PORTAL_TIMELIMIT_NVARS] = { { "rp", p.op_client.cl_name }, { "url", url },
			{ "req", p.op_req.ar_id }, { "langcode", config_languages[lang] }, { "csrf", csrf ? csrf : "" },
			{ "webeid", srv->sv_conf->c_eid_webeid ? "1" : NULL } };
		portal_timelimit_vars(rq, &p, "eid", &tl, v + 6);
		portal_page(srv, rq, 200, lang, N_("Log in with your eID card"), "eid", v, 6 + PORTAL_TIMELIMIT_NVARS);
	}
	free(csrf);
	oidc_pending_clear(&p);
}
