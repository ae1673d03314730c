/*
 * sid_reg_int.h — the registration half of the split-key module: what its
 * files share (not public).
 *
 *   register.c     the route table, GET /config
 *   reg_device.c   POST /register (the shares, sealed; the registration
 *                  code), GET /register (long-poll; the moduli once
 *                  confirmed)
 *   reg_keygen.c   the server keys, made at the portal's confirmation
 *                  (bounded by [smartid] keygen_max)
 *   reg_recall.c   POST /register/finish: the recall check, certificates,
 *                  the device on the person's account
 *   reg_login.c    the portal: intro, the eID login of a visit (through the
 *                  portal's own eID login and its browser-bound handoff),
 *                  the visit cookie
 *   reg_pages.c    the portal: questions, registration code, confirmation
 *   reg_more.c     the portal: "I need more time" on the code and confirm
 *                  pages
 *
 * A registration (store_sid_registration) lives [smartid]
 * registration_lifetime from POST /register: "code" → (portal) "confirmed"
 * → (recall check) "done", or "failed" after [smartid] recall_tries wrong
 * PINs.  While "code" it holds only the app's shares (sealed at rest, AAD
 * "<registration id> <use> share"): a start costs the server no key
 * generation, the confirmation behind a fresh eID login does.  Its server
 * keys are sealed at rest with the AAD "<registration id> <use>"; a
 * device's keys with "<device id> <use>" (sid_key_aad).  The registration code is kept only as an HMAC
 * (sid_code_mac), looked up by it, so the compare is the MAC lookup.
 */
#ifndef SL_SID_REG_INT_H
#define SL_SID_REG_INT_H

#include "splitkey.h"
#include "../../keyholder/keyholder.h"
#include "../../oidc/oidc.h"
#include "../../store/store.h"

#define SID_REG_PORTAL "/smartid/register"
#define SID_REG_CLIENT_ID OIDC_CLIENT_SMARTID_REG /* built-in client of the portal's eID login (oidc.h) */
#define SID_REG_CLIENT_NAME "Smart-ID"
#define SID_REG_COOKIE_VISIT "__Host-sl_sidreg" /* the visit; its SHA-256 is the visit id */
#define SID_REG_COOKIE_STATE "__Host-sl_sidreg_state" /* the eID login in flight */
#define SID_REG_CSRF_ID "smartid-register" /* the forms' CSRF token id: one per browser */
#define SID_REG_LOGIN_MAX_AGE 300 /* seconds from the eID login to the visit */
#define SID_REG_EMAIL_MAX 254
#define SID_REG_NAME_MAX 64 /* bytes of a device name */
#define SID_REG_TERMS_MAX 64
#define SID_REG_CHALLENGE_LEN 32
#define SID_REG_AAD_MAX 160
#define SID_REG_SHARE_AAD KH_SK_SHARE_AAD /* + use + " " + jkt; the key holder's prefix */
#define SID_RECALL_TAG "sleutel smartid recall v1"

extern const char *const sid_uses[2]; /* STORE_SID_KEY_AUTH, STORE_SID_KEY_SIGN */

/* "<owner id> <use>": the AAD of a sealed server key (registration or
 * device) and of a recall partial signature. */
void sid_key_aad(const char *owner_id, const char *use, char *out, size_t len);
/* The HMAC (hex) under the server's key of a normalised registration code. */
int sid_code_mac(struct server *srv, const char *code, char out[2 * SL_SHA256_LEN + 1]);

/* An e-mail address of the usual shape as typed on the portal: one "@"
 * with something before it and a dotted domain after, at most
 * SID_REG_EMAIL_MAX bytes, no spaces, controls, quotes or brackets. */
bool sid_email_ok(const char *s);

/* The registration whose transport key made this request's proof (proof
 * checked, jti spent); on failure the 401/503 is sent. */
int sid_reg_authenticate(struct server *srv, struct http_request *rq, struct store_sid_registration *out);
/* 410 when expired; false when sent. */
bool sid_reg_live(struct http_request *rq, const struct store_sid_registration *r);

/* The server keys of the accounts (their shares d1'' and RSA keys) live
 * in the key holder (src/keyholder/hold_sk.c): here only sealed at rest
 * (b64url text, as stored, AAD "<owner> <use>") and the public parts.
 *
 * The public part of a sealed server key: sk_n1, sk_n, sk_version and
 * sk_w of *key, no secret member (sk_server_key_clear() it). */
int sid_key_open(struct server *srv, const char *owner, const char *use, const char *sealed, struct sk_server_key *key,
	struct sl_err *err);
/* sk_server_complete() in the key holder.  SL_OK with the verdict; for
 * SK_OK the signature and the advanced key, sealed again for the same
 * owner, and its version.  An error: the key holder could not (SK_ERROR). */
struct sid_completion {
	enum sk_verdict sc_verdict;
	uint8_t *sc_sig;
	size_t sc_siglen;
	char *sc_sealed;
	uint64_t sc_version;
};
int sid_key_complete(struct server *srv, const char *owner, const char *use, const char *sealed, const uint8_t *em,
	size_t emlen, uint64_t version, const uint8_t *part, size_t partlen, struct sid_completion *out,
	struct sl_err *err);
void sid_completion_clear(struct sid_completion *c);
/* The same key sealed for another owner (a registration's to its device);
 * malloc'd b64url or NULL. */
char *sid_key_reseal(
	struct server *srv, const char *from, const char *use, const char *sealed, const char *to, struct sl_err *err);
/* The app's share as POST /register brings it (b64url, sealed to device
 * key `kid` under `app_aad`), checked at this server's size by the key
 * holder and sealed at rest for the registration (AAD "<registration id>
 * <use> share"); malloc'd b64url or NULL. */
char *sid_share_in(struct server *srv, const char *kid, const char *sealed, const char *app_aad,
	const char *registration_id, const char *use, struct sl_err *err);
/* The server key made from a registration's sealed share, sealed at rest
 * (AAD "<registration id> <use>"); malloc'd b64url or NULL. */
char *sid_key_make(
	struct server *srv, const char *registration_id, const char *use, const char *sealed_share, struct sl_err *err);

/* reg_keygen.c: the server keys of a registration the portal is
 * confirming, made from its sealed shares and sealed at rest (sealed[0]
 * auth, sealed[1] sign, malloc'd).  At most [smartid] keygen_max run at
 * once server-wide: SL_EBUSY (nothing made) when that many are running. */
int sid_reg_keygen(struct server *srv, const struct store_sid_registration *r, char *sealed[2], struct sl_err *err);

/* Route handlers. */
void sid_config_get(void *ctx, struct http_request *rq);
void sid_register_post(void *ctx, struct http_request *rq);
void sid_register_get(void *ctx, struct http_request *rq);
void sid_register_finish(void *ctx, struct http_request *rq);
void sid_portal_intro(void *ctx, struct http_request *rq);
void sid_portal_login(void *ctx, struct http_request *rq);
void sid_portal_return(void *ctx, struct http_request *rq);
void sid_portal_questions(void *ctx, struct http_request *rq);
void sid_portal_code(void *ctx, struct http_request *rq);
void sid_portal_confirm(void *ctx, struct http_request *rq);

/* ---- portal shared (reg_login.c) ---- */

/* This browser's live visit (by its cookie), or SL_ENOTFOUND. */
int sid_visit_load(struct server *srv, struct http_request *rq, struct store_sid_visit *out);
/* The person of a visit (sv_person JSON): given and family names. */
void sid_visit_names(const struct store_sid_visit *v, char *given, size_t glen, char *family, size_t flen);
/* The registration code's life in whole minutes, as text (reg_login.c). */
void sid_code_minutes(struct server *srv, char *out, size_t len);
/* A dead end of the portal (heading, detail: msgids) with the way back
 * to the intro. */
void sid_reg_problem(
	struct server *srv, struct http_request *rq, int status, int lang, const char *heading, const char *detail);
/* A form of the portal: the visit and the CSRF token; false when the page
 * (no visit: log in with the eID first; bad token) is sent. */
bool sid_form_ok(struct server *srv, struct http_request *rq, int lang, struct store_sid_visit *v);
void sid_reg_audit(struct server *srv, struct http_request *rq, const char *event, const char *result,
	const char *person_id, const char *detail);
/* A "smartid.portal" audit record of a visit's step: the visit's person,
 * the registration (NULL: none yet) and a note (never a code). */
void sid_visit_audit(struct server *srv, struct http_request *rq, const struct store_sid_visit *v, const char *result,
	const char *registration_id, const char *note);

/* reg_replace.c: a replacement device.  The confirmation page's rows of
 * the visit person's active Smart-ID devices, each with its "revoke it"
 * box (nothing without an account); and, after a confirmation stored, the
 * ticked devices ended for good (certificates revoked, audit
 * "smartid.revoke", notice "device.revoked"): how many. */
#define SID_REPLACE_HTML_MAX 16384 /* bytes of the rows */
int sid_replace_rows(struct server *srv, const struct store_sid_visit *v, int lang, struct sl_buf *out);
size_t sid_replace_revoke(
	struct server *srv, struct http_request *rq, const struct store_sid_visit *v, const char *registration_id);

/* reg_more.c: "I need more time" on the code and confirm pages (WCAG
 * 2.2.1).  The page's time-limit variables (PORTAL_TIMELIMIT_NVARS in
 * out; r NULL: the code page, whose clock is the visit's).  A press: more
 * time for the visit; for the code (and the visit with it).  SL_OK,
 * SL_ECONFLICT (a whole window left: nothing added, nothing counted),
 * SL_ETOOBIG (SID_REG_EXTENSIONS_MAX reached), SL_EEXPIRED; each press
 * audited.  sid_more_answer sends the outcome: 303 back to `page` with
 * more=1 or more=0, 409, 410. */
#define SID_REG_EXTENSIONS_MAX 10 /* WCAG 2.2.1: at least ten */
struct portal_timelimit;
struct tmpl_var;
void sid_more_vars(struct http_request *rq, const struct store_sid_visit *v, const struct store_sid_registration *r,
	struct portal_timelimit *tl, struct tmpl_var *out);
int sid_more_visit(struct server *srv, struct http_request *rq, const struct store_sid_visit *v);
int sid_more_code(struct server *srv, struct http_request *rq, const struct store_sid_visit *v,
	const struct store_sid_registration *r);
void sid_more_answer(struct server *srv, struct http_request *rq, int lang, const char *page, int rc);

#endif
