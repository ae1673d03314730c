/*
 * timelimit.c — the login request's own time limit on its form pages (WCAG
 * 2.2.1 Timing Adjustable, 2.2.6 Timeouts): what the pages say of it, and
 * "More time" (POST /login/more).
 *
 * An authorization request lives [oidc] request_lifetime seconds.  More
 * time starts that window again from now, at most
 * PORTAL_TIMELIMIT_EXTENSIONS_MAX times (WCAG's "Extend": at least ten),
 * so a login stays bounded (about eleven lifetimes) and each extension
 * needs the person, present, to press the button before the end: a login
 * left open on an unattended computer still ends.  The count is kept on
 * the request and moved by one conditional UPDATE, so posts at once add
 * one window, not several.  docs/accessibility.md "Time limits".
 */
#include <stdio.h>
#include <string.h>

#include "portal.h"
#include "../oidc/oidc.h"

/* The pages the form returns to, by the name it posts: fixed addresses,
 * so the post cannot send the browser anywhere else. */
static const struct {
	const char *name;
	const char *path;
} back_pages[] = {
	{ "login", "/login" },
	{ "app", "/key/app" },
	{ "eid", "/key/eid" },
	{ "consent", "/login/consent" },
};

static const char *
back_path(const char *page)
{
	for (size_t i = 0; page != NULL && i < sizeof(back_pages) / sizeof(back_pages[0]); i++)
		if (strcmp(page, back_pages[i].name) == 0)
			return back_pages[i].path;
	return NULL;
}

void
portal_timelimit_vars_at(struct http_request *rq, int64_t expires, int extended, bool more_ok, const char *page,
	struct portal_timelimit *tl, struct tmpl_var *v)
{
	const char *more = http_param(rq, "more");
	int64_t left = expires - sl_now();

	if (left < 0)
		left = 0;
	snprintf(tl->tl_left, sizeof(tl->tl_left), "%lld", (long long)left);
	/* Rounded up: "ends in 2 minutes" with 61 seconds left is never late. */
	snprintf(tl->tl_min, sizeof(tl->tl_min), "%lld", (long long)((left + 59) / 60));
	v[0] = (struct tmpl_var){ "tlleft", tl->tl_left };
	v[1] = (struct tmpl_var){ "tlmin", tl->tl_min };
	v[2] = (struct tmpl_var){ "tlmany", left > 60 ? "1" : "" };
	v[3] = (struct tmpl_var){ "tlone", left > 60 ? "" : "1" };
	v[4] = (struct tmpl_var){ "tlpage", page };
	v[5] = (struct tmpl_var){ "tlmore", more_ok ? "1" : "" };
	v[6] = (struct tmpl_var){ "tlnomore", more_ok ? "" : "1" };
	v[7] = (struct tmpl_var){ "tlextended", more != NULL && strcmp(more, "1") == 0 && extended > 0 ? "1" : "" };
	v[8] = (struct tmpl_var){ "tlfull", more != NULL && strcmp(more, "0") == 0 ? "1" : "" };
}

void
portal_timelimit_vars(struct http_request *rq, const struct oidc_pending *p, const char *page,
	struct portal_timelimit *tl, struct tmpl_var *v)
{
	int extended = p->op_req.ar_extended;

	portal_timelimit_vars_at(rq, p->op_req.ar_expires, extended,
		extended < PORTAL_TIMELIMIT_EXTENSIONS_MAX && back_path(page) != NULL, page, tl, v);
}

const char *
portal_timelimit_result(int rc)
{
	switch (rc) {
	case SL_OK: return "ok";
	case SL_EEXPIRED: return "expired";
	case SL_ETOOBIG: return "limit";
	default: return "conflict";
	}
}

int
portal_timelimit_more(struct server *srv, struct http_request *rq, const char *ar_id, const char *client_id,
	int extended, int64_t until)
{
	char detail[32], ipbuf[SERVER_IP_MAX];
	struct store_audit au = { .au_event = "login.extend",
		.au_client_id = client_id,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };
	int rc = SL_ETOOBIG;

	if (extended < PORTAL_TIMELIMIT_EXTENSIONS_MAX)
		rc = store_authreq_extend(srv->sv_store, ar_id, until, PORTAL_TIMELIMIT_EXTENSIONS_MAX);
	snprintf(detail, sizeof(detail), "%d/%d", extended + (rc == SL_OK), PORTAL_TIMELIMIT_EXTENSIONS_MAX);
	au.au_result = portal_timelimit_result(rc);
	store_audit_add(srv->sv_store, &au);
	return rc;
}

void
portal_timelimit_extend(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct oidc_pending p;
	const char *path;
	char loc[512];
	int lang, rc;

	if (!portal_timer_begin(srv, rq, &p, &lang))
		return;
	path = back_path(http_form(rq, "page"));
	if (path == NULL) {
		portal_error(srv, rq, 400, lang, N_("Something went wrong"),
			N_("Go back to the site you came from and start again."));
		oidc_pending_clear(&p);
		return;
	}
	rc = portal_timelimit_more(srv, rq, p.op_req.ar_id, p.op_req.ar_client_id, p.op_req.ar_extended,
		sl_now() + srv->sv_conf->c_request_lifetime);
	if (rc == SL_EEXPIRED || rc == SL_ENOTFOUND) {
		portal_error(srv, rq, 410, lang, N_("This login request has expired"),
			N_("Go back to the site you came from and start again."));
	} else if (rc == SL_ETOOBIG) {
		portal_error(srv, rq, 409, lang, N_("No more time can be added"),
			N_("You have had the most extra time there is. Go back to the site you came from and start "
			   "again."));
	} else {
		/* SL_ECONFLICT: the request already ends a whole window from
		 * now (pressed early, or a post that raced another): the page
		 * says so (more=0) and shows the time there is. */
		snprintf(loc, sizeof(loc), "%s?req=%s&lang=%s&more=%d", path, p.op_req.ar_id, config_languages[lang],
			rc == SL_OK);
		http_send_redirect(rq, 303, loc);
	}
	oidc_pending_clear(&p);
}
