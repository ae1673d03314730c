/*
 * flow.c — a simulated browser's way through a login: redirects followed
 * on the bench's view of the server, the forms on the way answered, until
 * it is back at the RP (https://rp.example/cb).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bl.h"

#define MAX_STEPS 12 /* redirects and forms of one login, at most */

/* Follow the browser from `loc` until it is back at the RP: answer the
 * forms on the way (`form_for` picks the fields of a page, NULL: not a
 * form).  The RP URL in back, 0; -1 when it went astray. */
int
bl_browse(struct bl_http *h, const char *base, const char *first, bl_form_fn form_for, char *back, size_t size)
{
	char url[BL_URL_MAX], action[BL_URL_MAX];

	bl_abs(base, first, url, sizeof(url));
	for (int step = 0; step < MAX_STEPS; step++) {
		long st;
		char *form;
		if (strncmp(url, "https://rp.example/cb", 21) == 0) {
			snprintf(back, size, "%s", url);
			return 0;
		}
		st = bl_http_req(h, url, NULL, NULL);
		if (st == 302 || st == 303) {
			bl_abs(base, h->h_location, url, sizeof(url));
			continue;
		}
		if (st != 200 ||
			(form_for == NULL || (form = form_for(url, h->h_body, action, sizeof(action))) == NULL))
			return -1;
		st = bl_http_req(h, action, form, NULL);
		free(form);
		if (st != 302 && st != 303)
			return -1;
		bl_abs(base, h->h_location, url, sizeof(url));
	}
	return -1;
}

char *
bl_sleutel_form(const char *url, const char *html, char *action, size_t size)
{
	char *hidden = bl_hidden_form(html), *form;
	const char *path = strstr(url, "://"), *extra;

	path = path ? strchr(path + 3, '/') : NULL;
	if (hidden == NULL || path == NULL)
		return free(hidden), NULL;
	if (strncmp(path, "/key/test?", 10) == 0) {
		snprintf(action, size, "%.*s/key/test/login", (int)(path - url), url);
		extra = "rrn=85073003328&given_name=Bench&family_name=Citizen&mode=direct";
	} else if (strncmp(path, "/login/consent", 14) == 0) {
		snprintf(action, size, "%.*s/login/consent", (int)(path - url), url);
		extra = "decision=share";
	} else {
		free(hidden);
		return NULL;
	}
	if (asprintf(&form, "%s&%s", hidden, extra) < 0)
		form = NULL;
	free(hidden);
	return form;
}
