/* request_int.h — shared between the request side's files (request.c,
 * ratelimit.c, display.c, login.c, qr.c, scan.c); not public.  ciba.c
 * uses app_background() for its ping. */
#ifndef SL_APP_REQUEST_INT_H
#define SL_APP_REQUEST_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"

#define APP_RL_KEY_MAX STORE_RATE_KEY_MAX /* bytes of a rate-limit key ("p:", "i:", "r:" + value) */
#define APP_PUSH_MAX_DEVICES 16 /* devices woken per request */
#define APP_QR_TOKEN_MAX 128 /* bytes of a QR login token */
#define APP_QR_ID_MAX 64 /* bytes of the request id in a QR token */
#define APP_QR_SLOT_DIGITS 12 /* decimal digits of a QR token's slot */
#define APP_QR_SLOTS 2 /* slots a QR token is taken in: its own and the next */
#define APP_CTX_NAME_MAX 32 /* bytes of a browser or OS name in a login's context */
#define APP_CTX_NET_MAX 48 /* bytes of a coarse network ("203.0.113.x", "2001:db8:1::/48") */
#define APP_UA_MAX 1024 /* bytes of a User-Agent read; a longer one is "unknown" */
#define APP_QR_SVG_MAX (256u << 10) /* bytes of the QR code's SVG */

/* ---- display.c: the text the app shows and the confirmation signs ---- */
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
/* Run fn(arg) on an outbound worker (src/outbound), then free_fn(arg),
 * also when the job is dropped at shutdown.  SL_EBUSY when the outbound
 * queue is full (the caller then frees arg: the job is best effort). */
int app_background(struct server *srv, void (*fn)(void *), void (*free_fn)(void *), void *arg);
/* A decoy's account id: "-" and the number typed, so that decoys for one
 * number are counted like real requests (max_pending). */
#define APP_DECOY_PREFIX "-"
#define app_is_decoy(account_id) ((account_id)[0] == '-')

/* ---- login.c: the portal's app pages ---- */
void applogin_page(void *ctx, struct http_request *rq);
void applogin_submit(void *ctx, struct http_request *rq);
void applogin_hint(void *ctx, struct http_request *rq);
void applogin_wait(void *ctx, struct http_request *rq);
void applogin_poll(void *ctx, struct http_request *rq);
void applogin_extend(void *ctx, struct http_request *rq);
void applogin_qr(void *ctx, struct http_request *rq);

/* ---- qr.c ---- */
/* An inline SVG of `text` as a QR code (ECC level M), malloc'd; NULL on
 * failure.  `title` is the accessible name (escaped here). */
char *app_qr_svg(const char *text, const char *title);

/* ---- qrtoken.c: the QR code's rotating token ---- */
/* The slot of time `now` with slots of `rotate` seconds. */
int64_t app_qr_slot(int64_t now, int rotate);
/* "<id>.<slot>.<HMAC-SHA256(key, "qr|id|slot")>", malloc'd; NULL for an
 * id that is empty, longer than APP_QR_ID_MAX or has a '.'. */
char *app_qr_token_make(const uint8_t *key, size_t keylen, const char *id, int64_t slot);
/* Check a token at slot `now_slot`, its request id into `id`:
 *   SL_OK        the MAC is right and the slot is now_slot or the one before;
 *   SL_EEXPIRED  the MAC is right, the slot older (the screen moved on);
 *   SL_EDENIED   wrong MAC, or a slot in the future;
 *   SL_EINVAL    not a token (form, or longer than APP_QR_TOKEN_MAX). */
int app_qr_token_verify(const uint8_t *key, size_t keylen, const char *token, int64_t now_slot, char *id, size_t idlen);

/* ---- context.c: which browser started a login, coarsely ---- */
/* Browser family and OS from a User-Agent ("Chrome", "Linux"): "" for
 * what is not known; an unknown client's product name is cut at
 * APP_CTX_NAME_MAX bytes and kept only as printable ASCII. */
void app_context_browser(const char *ua, char *browser, size_t blen, char *os, size_t olen);
/* An address's network: IPv4 "203.0.113.x" (/24), IPv6 "2001:db8:1::/48";
 * "" for what is not an address. */
void app_context_network(const char *ip, char *out, size_t len);
/* The context JSON {"browser","os","network"} stored with a login, malloc'd. */
char *app_context_json(const char *ua, const char *ip);

/* ---- scan.c ---- */
/* A token's request id, as app_qr_token_verify() with the server's key
 * at the current slot of [app] qr_rotate_seconds. */
int app_qr_token_check(struct server *srv, const char *token, char *id, size_t idlen);
void appscan_post(void *ctx, struct http_request *rq);

#endif
