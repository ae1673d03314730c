/*
 * timer.c — more time on the pages that wait for a phone (WCAG 2.2.1
 * Timing Adjustable, 2.2.6 Timeouts): how far a waiting request's expiry
 * moves when the person asks for more, and the limits on it.
 *
 * Each extension adds one step (the request's own lifetime) to what is
 * left, at most PORTAL_TIMER_EXTENSIONS_MAX times (WCAG's "at least ten"),
 * so never past (1 + that) steps after the request was made, and never
 * past the authorization request it answers (which has its own "more
 * time": timelimit.c): a phone request cannot be kept open for ever by a
 * script that presses the button.  docs/accessibility.md "Time limits".
 */
#include <stdio.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

void
portal_timer_login(struct portal_timer *t, struct server *srv, const struct oidc_pending *p)
{
	t->pt_cap = p->op_req.ar_expires;
	t->pt_ar_id = p->op_req.ar_id;
	t->pt_ar_client_id = p->op_req.ar_client_id;
	t->pt_ar_step = srv->sv_conf->c_request_lifetime;
	t->pt_ar_extended = p->op_req.ar_extended;
}

/* The latest the wait may end by its own bounds, at `cap` for the login
 * request's end. */
static int64_t
cap_at(const struct portal_timer *t, int64_t cap)
{
	int64_t total = t->pt_created + (int64_t)(PORTAL_TIMER_EXTENSIONS_MAX + 1) * t->pt_step;

	return total < cap ? total : cap;
}

int64_t
portal_timer_cap(const struct portal_timer *t)
{
	return cap_at(t, t->pt_cap);
}

/* Where the login request would end after one more extension for this
 * wait: a new window from now, or far enough for the wait's next step,
 * whichever is later. */
static int64_t
login_more(const struct portal_timer *t, int64_t now)
{
	int64_t window = now + t->pt_ar_step, step = t->pt_expires + t->pt_step;

	return window > step ? window : step;
}

/* Where the login request can end at most: its expiry, or later when it
 * may still be extended. */
static int64_t
login_reach(const struct portal_timer *t, int64_t now)
{
	int64_t more = login_more(t, now);

	if (t->pt_ar_id != NULL && t->pt_ar_extended < PORTAL_TIMELIMIT_EXTENSIONS_MAX && more > t->pt_cap)
		return more;
	return t->pt_cap;
}

int
portal_timer_extend(const struct portal_timer *t, int64_t now, int64_t *until)
{
	int64_t to, cap = cap_at(t, login_reach(t, now));

	*until = t->pt_expires;
	if (t->pt_expires <= now)
		return SL_EEXPIRED;
	if (t->pt_extended >= PORTAL_TIMER_EXTENSIONS_MAX || t->pt_step <= 0)
		return SL_ETOOBIG;
	to = t->pt_expires + t->pt_step;
	if (to > cap)
		to = cap;
	if (to <= t->pt_expires)
		return SL_ETOOBIG;
	*until = to;
	return SL_OK;
}

bool
portal_timer_extendable(const struct portal_timer *t, int64_t now)
{
	int64_t until;

	return portal_timer_extend(t, now, &until) == SL_OK;
}

void
portal_timer_vars(const struct portal_timer *t, struct http_request *rq, struct tmpl_var *v)
{
	const char *more = http_param(rq, "more");
	bool extendable = portal_timer_extendable(t, sl_now());

	v[0] = (struct tmpl_var){ "extendable", extendable ? "1" : "" };
	v[1] = (struct tmpl_var){ "extended", more != NULL && strcmp(more, "1") == 0 && t->pt_extended > 0 ? "1" : "" };
	v[2] = (struct tmpl_var){ "nomore", t->pt_extended > 0 && !extendable ? "1" : "" };
}

bool
portal_timer_begin(struct server *srv, struct http_request *rq, struct oidc_pending *p, int *lang)
{
	if (!portal_load_pending(srv, rq, p, lang))
		return false;
	if (oidc_csrf_ok(srv, rq, p->op_req.ar_id, http_form(rq, "csrf")))
		return true;
	portal_error(srv, rq, 403, *lang, N_("This form has expired"),
		N_("Go back to the site you came from and start again."));
	oidc_pending_clear(p);
	return false;
}

void
portal_timer_post(struct server *srv, struct http_request *rq, int lang, const struct portal_timer *t,
	const struct portal_timer_post *tr)
{
	char event[32], detail[32], ipbuf[SERVER_IP_MAX], loc[512];
	int64_t until, now = sl_now(), cap = portal_timer_cap(t);
	int rc = tr->tr_pending ? portal_timer_extend(t, now, &until) : SL_ECONFLICT;
	struct store_audit au = { .au_event = event,
		.au_key = tr->tr_key,
		.au_client_id = tr->tr_client_id,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };

	/* Past the login request's end: that request first, then the wait
	 * up to its new end (a refusal leaves the old cap, which may still
	 * give some time). */
	if (rc == SL_OK && until > t->pt_cap &&
		portal_timelimit_more(
			srv, rq, t->pt_ar_id, t->pt_ar_client_id, t->pt_ar_extended, login_more(t, now)) == SL_OK)
		cap = cap_at(t, login_more(t, now));
	if (rc == SL_OK && cap <= t->pt_expires)
		rc = SL_ETOOBIG;
	if (rc == SL_OK)
		rc = tr->tr_extend(srv->sv_store, tr->tr_id, t->pt_step, cap, PORTAL_TIMER_EXTENSIONS_MAX);
	snprintf(event, sizeof(event), "%s.extend", tr->tr_key);
	snprintf(detail, sizeof(detail), "%d/%d", t->pt_extended + (rc == SL_OK), PORTAL_TIMER_EXTENSIONS_MAX);
	au.au_result = rc == SL_OK ? "ok" : rc == SL_EEXPIRED ? "expired" : rc == SL_ETOOBIG ? "limit" : "conflict";
	store_audit_add(srv->sv_store, &au);
	if (rc == SL_EEXPIRED) {
		portal_error(srv, rq, 410, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
	} else if (rc == SL_ETOOBIG) {
		portal_error(srv, rq, 409, lang, N_("No more time can be added"),
			N_("You have had the most extra time there is. Confirm on your phone now, or go back to the "
			   "site and start again."));
	} else {
		snprintf(loc, sizeof(loc), "%s%s", tr->tr_wait, rc == SL_OK ? "&more=1" : "");
		http_send_redirect(rq, 303, loc);
	}
}
