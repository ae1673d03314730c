/*
 * portal — the pages a person sees: the key choice, the wait page, the
 * language switch, error pages; and the test-only key of test builds.
 * Every page is rendered from a template in the request's language, inside
 * the common layout, with a CSRF token in every form.
 */
#ifndef SL_PORTAL_H
#define SL_PORTAL_H

#include "../http/http.h"
#include "../server/server.h"

struct oidc_pending;

#define PORTAL_MAX_PAGE (256u << 10)
/* Marks a message id for extraction into po/sleutel.pot; translated later,
 * per request, with i18n_gettext(). */
#define N_(s) s

/* Route handlers (ctx is the struct server). */
void portal_choose(void *ctx, struct http_request *rq);
void portal_cancel(void *ctx, struct http_request *rq);
void portal_wait_page(void *ctx, struct http_request *rq);
void portal_poll(void *ctx, struct http_request *rq);
void portal_finish(void *ctx, struct http_request *rq);
void portal_static(void *ctx, struct http_request *rq);
/* /login/consent (consent.c): GET the page, POST the person's answer. */
void portal_consent(void *ctx, struct http_request *rq);
/* The data of `scopes` (space-separated) in the person's words, as <li>
 * items appended to `out`. */
int portal_consent_items(struct server *srv, const struct i18n_catalog *cat, const char *scopes, struct sl_buf *out);
/* A pending request of this browser (the "req" parameter) with the page's
 * language; otherwise the "expired" error page is sent and false returned. */
bool portal_load_pending(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang);
/* As portal_load_pending, for a page that reads only the parameters `keys`
 * (NULL-terminated, with "ui_locales"): oidc_pending_load_some. */
bool portal_load_pending_some(
	struct server *srv, struct http_request *rq, const char *const *keys, struct oidc_pending *p, int *lang);
/* Where a login that waits on a key's request on another device stands
 * (the app key's and Smart-ID's wait pages).  `pending`: the key's request
 * is still "pending"; `ended`: it ended without success (refused, failed,
 * expired); `expires`: its expiry.  A request pending past its expiry, or
 * one that ended while the login is still open, denies the login here. */
enum portal_key_state {
	PORTAL_KEY_FINISH, /* the login is done: oidc_login_finish() */
	PORTAL_KEY_EXPIRED, /* time is up */
	PORTAL_KEY_DENIED, /* the login was denied (by the key or elsewhere) */
	PORTAL_KEY_ENDED, /* the key's request ended: say how */
	PORTAL_KEY_WAIT, /* still waiting: the wait page */
};
enum portal_key_state portal_key_state(
	struct server *srv, const struct oidc_pending *p, bool pending, bool ended, int64_t expires);
/* The long-poll of such a wait page: 200 once the login is no longer
 * pending or the key's request is over (expired ones deny the login), 204
 * to poll again, else parked until the login changes or `expires`. */
void portal_key_poll(struct server *srv, struct http_request *rq, const struct oidc_pending *p, bool pending,
	bool ended, int64_t expires);
/* Park a wait page's long-poll until the login `req_id` changes (its
 * oidc_wait_key is notified), for [portal] waiter_timeout seconds or
 * `max_ms` when that is sooner (> 0); 503 JSON when no waiter is free. */
void portal_wait_login(struct server *srv, struct http_request *rq, const char *req_id, int64_t max_ms);
/* The page for errors found before a page handler ran (http_error_page_fn). */
void portal_error_status(void *ctx, struct http_request *rq, int status);

/* The citizen's own page (account.c): devices, login history. */
extern const struct http_route account_routes[];
extern const size_t account_nroutes;

#ifdef SL_TEST_KEY
void testkey_page(void *ctx, struct http_request *rq);
void testkey_login(void *ctx, struct http_request *rq);
void testkey_approve(void *ctx, struct http_request *rq);
#endif

/* The language of this request: explicit lang parameter, then the
 * pending request's ui_locales (may be NULL), the cookie, Accept-Language,
 * and the configured default. Index into config_languages. */
int portal_lang(struct server *srv, struct http_request *rq, const char *ui_locales);
/* Parse a ui_locales / Accept-Language list; -1 when nothing matches. */
int portal_lang_match(const char *list, bool accept_language);

/* Render `tmpl` inside the layout and send it. `vars` may be NULL. */
void portal_page(struct server *srv, struct http_request *rq, int status, int lang, const char *title, const char *tmpl,
	const struct tmpl_var *vars, size_t nvars);
void portal_error(
	struct server *srv, struct http_request *rq, int status, int lang, const char *title, const char *detail);
/* "Log out of sleutel?" with a CSRF-protected POST form; `rp_name` and
 * `client_id` (the client the logout came from, when known) may be NULL. */
void portal_logout_confirm(struct server *srv, struct http_request *rq, const char *rp_name, const char *client_id);
void portal_logged_out(struct server *srv, struct http_request *rq);

/* More time on a wait page (timer.c, WCAG 2.2.1): a waiting request made
 * at pt_created, expiring at pt_expires, extended pt_extended times so
 * far; each extension adds pt_step seconds, never past pt_cap (the
 * authorization request's expiry) — unless that request may itself get
 * more time (pt_ar_id, filled by portal_timer_login): then the one press
 * extends both, the login request first (timelimit.c). */
#define PORTAL_TIMER_EXTENSIONS_MAX 10 /* extensions of one request (WCAG 2.2.1: at least ten) */
struct portal_timer {
	int64_t pt_created;
	int64_t pt_expires;
	int64_t pt_cap;
	int pt_step;
	int pt_extended;
	const char *pt_ar_id; /* NULL: pt_cap is fixed */
	const char *pt_ar_client_id;
	int pt_ar_step; /* [oidc] request_lifetime */
	int pt_ar_extended;
};
/* The login request's side of a wait's timer: pt_cap and the pt_ar_*. */
void portal_timer_login(struct portal_timer *t, struct server *srv, const struct oidc_pending *p);
/* The new expiry in *until: SL_OK; SL_EEXPIRED when already over,
 * SL_ETOOBIG when no more time may be added (*until: pt_expires). */
int portal_timer_extend(const struct portal_timer *t, int64_t now, int64_t *until);
/* The latest expiry extensions may reach (for the store's own check). */
int64_t portal_timer_cap(const struct portal_timer *t);
bool portal_timer_extendable(const struct portal_timer *t, int64_t now);
/* The wait page's variables on extra time, in v[0..2]: "extendable" (the
 * button), "extended" (back from one: the page's more=1), "nomore". */
#define PORTAL_TIMER_NVARS 3
void portal_timer_vars(const struct portal_timer *t, struct http_request *rq, struct tmpl_var *v);
/* A "more time" post's start: the pending request of this browser and a
 * good CSRF token.  false: the error page was sent (p is clear). */
bool portal_timer_begin(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang);
/* The rest of a "more time" post, once its request is loaded: extend it
 * (in the store, by tr_extend, within the timer's bounds), audit the try
 * as "<tr_key>.extend" and answer: 303 to the wait page `tr_wait` (with
 * more=1 after an extension; also when the request was answered
 * meanwhile: the page says how it ended), 410 when expired, 409 when no
 * more time may be added. */
struct portal_timer_post {
	const char *tr_key; /* "app", "smartid" */
	const char *tr_id; /* the request */
	bool tr_pending;
	const char *tr_client_id;
	const char *tr_wait; /* the wait page's address */
	int (*tr_extend)(struct store *st, const char *id, int step, int64_t cap, int max_times);
};
void portal_timer_post(struct server *srv, struct http_request *rq, int lang, const struct portal_timer *t,
	const struct portal_timer_post *tr);

/* The authorization request's own time limit on its form pages (the key
 * choice, the app number form, the eID page, the consent page; WCAG
 * 2.2.1; timelimit.c): said up front without script, warned of by wait.js
 * shortly before the end, and extended by a "More time" form (POST
 * /login/more, CSRF) that starts the window again, at most
 * PORTAL_TIMELIMIT_EXTENSIONS_MAX times.  `page` names the page the form
 * returns to ("login", "app", "eid", "consent").  The variables in
 * v[0..8]: "tlleft" (seconds left), "tlmin" (whole minutes left, rounded
 * up) with "tlmany" when more than one, else "tlone"; "tlpage", "tlmore"
 * (more time may be asked) or "tlnomore", "tlextended" (back from it) or
 * "tlfull" (back from it with nothing to add); tl holds their text. */
#define PORTAL_TIMELIMIT_EXTENSIONS_MAX 10
#define PORTAL_TIMELIMIT_NVARS 9
struct portal_timelimit {
	char tl_left[24];
	char tl_min[24];
};
void portal_timelimit_vars(struct http_request *rq, const struct oidc_pending *p, const char *page,
	struct portal_timelimit *tl, struct tmpl_var *v);
/* The same variables for another time limit of the same shape (the
 * Smart-ID registration's pages): it ends at `expires`, was extended
 * `extended` times, and may be extended again when `more_ok`. */
void portal_timelimit_vars_at(struct http_request *rq, int64_t expires, int extended, bool more_ok, const char *page,
	struct portal_timelimit *tl, struct tmpl_var *v);
/* An extension's outcome for its audit record: "ok", "expired", "limit"
 * (SL_ETOOBIG) or "conflict" (nothing added). */
const char *portal_timelimit_result(int rc);
/* More time for login request `ar_id` (client `client_id`, extended
 * `extended` times so far): it ends at `until` instead, audited as
 * "login.extend": SL_OK, SL_ETOOBIG at the limit, or store_authreq_extend's
 * refusal. */
int portal_timelimit_more(struct server *srv, struct http_request *rq, const char *ar_id, const char *client_id,
	int extended, int64_t until);
/* POST /login/more (req, csrf, page, lang). */
void portal_timelimit_extend(void *ctx, struct http_request *rq);

#endif
