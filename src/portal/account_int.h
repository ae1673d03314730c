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

/* Render the page of `person_id`; `notice` (may be NULL) says what was
 * just done: "removed" (an app device), "sidremoved" (a Smart-ID device),
 * "withdrawn" (a consent). */
void account_render(struct server *srv, struct http_request *rq, int lang, const char *person_id, const char *notice);

#endif
