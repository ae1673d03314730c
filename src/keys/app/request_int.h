/* request_int.h — shared between the request side's files (request.c,
 * ratelimit.c, display.c, login.c, qr.c, scan.c); not public.  ciba.c
 * uses app_background() for its ping. */
#ifndef SL_APP_REQUEST_INT_H
#define SL_APP_REQUEST_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"

#define APP_RL_MAX_ENTRIES 100000 /* rate-limit windows kept at once (phone, IP, RP keys) */
#define APP_RL_KEY_MAX 300 /* bytes of a rate-limit key ("p:", "i:", "r:" + value) */
#define APP_BG_MAX 64 /* background jobs (push, CIBA ping) running at once */
#define APP_PUSH_TIMEOUT 5 /* seconds per push webhook call */
#define APP_PUSH_MAX_DEVICES 16 /* devices woken per request */
#define APP_QR_TOKEN_MAX 128 /* bytes of a QR login token */
#define APP_QR_SVG_MAX (256u << 10) /* bytes of the QR code's SVG */

/* ---- ratelimit.c: fixed windows per key, a bounded table under a mutex ---- */
struct app_ratelimit;

struct app_ratelimit *ratelimit_new(size_t max_entries, struct sl_err *err);
void ratelimit_free(struct app_ratelimit *rl);
struct ratelimit_check {
	const char *rc_key; /* "p:+32470123456", "i:127.0.0.1", "r:client" */
	int rc_limit; /* requests per window */
};
/* Count one request against every key in `checks`, all or none: SL_OK when
 * each is under its limit (all counted); SL_ETOOBIG naming nothing when one
 * is at its limit (none counted: *which is its index); SL_EBUSY when the
 * table is full even after dropping expired windows (fail closed). */
int ratelimit_hit(struct app_ratelimit *rl, const struct ratelimit_check *checks, size_t n, int window, int64_t now,
	size_t *which);
size_t ratelimit_size(struct app_ratelimit *rl);

/* ---- display.c: the text the app shows and the confirmation signs ---- */
/* Build the display text for `action` ("login" or "payment") in language
 * `lang` (index into config_languages): the login sentence or the payment
 * sentence from `pay`, then the CIBA binding message on its own line when
 * given.  Deterministic: the same inputs always give the same bytes.
 * SL_ETOOBIG past APP_DISPLAY_MAX, SL_EINVAL for a bad action. */
int app_display_text(int lang, const char *action, const char *rp_name, const struct oidc_payment *pay,
	const char *binding_message, char *out, size_t outlen);
/* "12.34" in `lang`'s convention with the currency ("EUR 12,34"). */
int app_display_amount(int lang, const struct oidc_payment *pay, char *out, size_t outlen);
/* A binding message a person can read: 1..APP_BINDING_MAX bytes of UTF-8
 * without control or bidi-override characters. */
bool app_binding_ok(const char *msg);

/* ---- request.c ---- */
/* Make a request for a known account (the phone form after the lookup,
 * and the QR scan).  `ncodes` is APP_NCODES, or 1 for a scan (the QR's
 * code is the only one). */
int app_request_for_account(struct server *srv, const struct store_account *ac, const struct app_request_spec *spec,
	int ncodes, struct app_request_made *out, struct sl_err *err);
/* A request for a number nobody has: stored like a real one, for no
 * account, so the browser's page looks the same and nobody answers it. */
int app_request_decoy(struct server *srv, const struct app_request_spec *spec, struct app_request_made *out);
/* Run fn(arg) on a detached thread counted in sv_app_requests; shutdown
 * waits for every one.  SL_EBUSY when APP_BG_MAX are running (the caller
 * then frees arg: the job is best effort). */
int app_background(struct server *srv, void (*fn)(void *), void *arg);
/* A decoy's account id: "-" and the number typed, so that decoys for one
 * number are counted like real requests (max_pending). */
#define APP_DECOY_PREFIX "-"
#define app_is_decoy(account_id) ((account_id)[0] == '-')

/* ---- login.c: the portal's app pages ---- */
void applogin_page(void *ctx, struct http_request *rq);
void applogin_submit(void *ctx, struct http_request *rq);
void applogin_wait(void *ctx, struct http_request *rq);
void applogin_poll(void *ctx, struct http_request *rq);
void applogin_extend(void *ctx, struct http_request *rq);

/* ---- qr.c ---- */
/* An inline SVG of `text` as a QR code (ECC level M), malloc'd; NULL on
 * failure.  `title` is the accessible name (escaped here). */
char *app_qr_svg(const char *text, const char *title);

/* ---- scan.c ---- */
/* The one-time token of a pending authorization request's QR code,
 * malloc'd: "<request id>.<HMAC>" (the id is not secret; the MAC binds it). */
char *app_qr_token(struct server *srv, const char *authreq_id);
/* The request id a token names, when its MAC is right (into `id`). */
int app_qr_token_check(struct server *srv, const char *token, char *id, size_t idlen);
void appscan_post(void *ctx, struct http_request *rq);

#endif
