/* account_int.h — shared by the citizen's page files (account.c, the
 * routes and the login; account_page.c, the page itself). */
#ifndef SL_ACCOUNT_INT_H
#define SL_ACCOUNT_INT_H

#include "portal.h"

#define ACCOUNT_CLIENT_ID "sleutel-account" /* the built-in client of the page's login */
#define ACCOUNT_COOKIE_STATE "__Host-sl_account_state"
#define ACCOUNT_CSRF_ID "account" /* the CSRF token's request id: one per browser */
#define ACCOUNT_HISTORY_MAX 50 /* logins shown, newest first */
#define ACCOUNT_MAX_PHONES 16 /* app accounts (phone numbers) shown for one person */
#define ACCOUNT_CONSENTS_MAX 100 /* sites with a consent shown, newest first */
#define ACCOUNT_EXPORT_MAX 5000 /* audit records in one export, newest first; older ones are cut */
#define ACCOUNT_NOTICES_MAX 20 /* unread notices shown at the top of the page */

/* Render the page of `person_id`; `notice` (may be NULL) says what was
 * just done: "removed" (an app device), "sidremoved" (a Smart-ID device),
 * "withdrawn" (a consent), "notme" (a device blocked: "This was not me"),
 * "read" (a notice acknowledged). */
void account_render(struct server *srv, struct http_request *rq, int lang, const char *person_id, const char *notice);

/* account.c: a form posted on the page — the person's session (in *ses,
 * to clear) and the page's CSRF token checked; false with the error page
 * sent otherwise.  The app or Smart-ID device `id` when it is one of the
 * person's (SL_ENOTFOUND otherwise). */
bool account_form_ok(struct server *srv, struct http_request *rq, int lang, struct store_session *ses);
int account_own_device(struct server *srv, const char *person_id, const char *id, struct store_device *dev);
int account_own_sid_device(struct server *srv, const char *person_id, const char *id, struct store_sid_device *dev);

/* account_export.c: GET /account/export?format=json|csv */
void account_export(void *ctx, struct http_request *rq);
/* account_notme.c: POST /account/notme (device, sid or entry; csrf) and
 * POST /account/notices/read (notice; csrf) */
void account_notme(void *ctx, struct http_request *rq);
void account_notice_read(void *ctx, struct http_request *rq);

#endif
