/*
 * reg_more.c — "I need more time" on the registration portal's pages where
 * a clock runs (WCAG 2.2.1 Timing Adjustable, 2.2.6 Timeouts): the code
 * page (the visit's clock: [smartid] registration_lifetime from the eID
 * login) and the confirm page (the registration code's clock, and the
 * visit's with it).  docs/accessibility.md "Time limits".
 *
 * As the login request's "more time" (portal/timelimit.c, whose variables
 * and audit words these pages share): a press starts the window again from
 * now, at most SID_REG_EXTENSIONS_MAX times for the code and as many for
 * the visit; pressed with more than the warning's window left
 * (SID_REG_MORE_WINDOW, wait.js's warning) it adds nothing and counts
 * nothing, so every extension needs the person there near the end; each
 * is one conditional UPDATE (racing posts count once: the first moves the
 * end out of the window) and one audit record "smartid.register.extend".
 * Time no longer bounds the guesses at a code: [smartid] code_wrong_max
 * does, by count over the code's whole life
 * (store_sid_registration_try_code), so a longer life gives a guesser
 * nothing more.
 */
#include <stdio.h>
#include <string.h>

#include "sid_reg_int.h"
#include "../../portal/portal.h"

#define SID_REG_MORE_WINDOW 120 /* seconds: the warning's (wait.js WARN_AT) */

/* The latest end at which a press adds time: the warning's window, or
 * less than the whole lifetime when that is shorter ([smartid]
 * registration_lifetime may be 60 s), so a press can always add some. */
static int64_t
more_near(const struct server *srv, int64_t now)
{
	int life = srv->sv_conf->c_sid_registration_lifetime;

	return now + (life > SID_REG_MORE_WINDOW ? SID_REG_MORE_WINDOW : life - 1);
}

/* The clock of a page: the visit's, or the earlier of the code's and the
 * visit's once the code matched. */
static int64_t
page_ends(const struct store_sid_visit *v, const struct store_sid_registration *r)
{
	return r != NULL && r->sr_expires < v->sv_expires ? r->sr_expires : v->sv_expires;
}

void
sid_more_vars(struct http_request *rq, const struct store_sid_visit *v, const struct store_sid_registration *r,
	struct portal_timelimit *tl, struct tmpl_var *out)
{
	bool code_first = r != NULL && r->sr_expires < v->sv_expires;
	int extended = v->sv_extended + (r != NULL ? r->sr_extended : 0);
	int first = code_first ? r->sr_extended : v->sv_extended; /* the clock that ends first */

	portal_timelimit_vars_at(
		rq, page_ends(v, r), extended, first < SID_REG_EXTENSIONS_MAX, r != NULL ? "confirm" : "code", tl, out);
}

/* The audit record of one press on one clock ("visit" or "registration
 * <id>"), with the count after it. */
static void
more_audit(struct server *srv, struct http_request *rq, const struct store_sid_visit *v, const char *what, int extended,
	int rc)
{
	json_t *o = v->sv_person ? json_loads(v->sv_person, 0, NULL) : NULL;
	char detail[SID_REG_AAD_MAX];

	snprintf(detail, sizeof(detail), "%s: %d/%d", what, extended + (rc == SL_OK), SID_REG_EXTENSIONS_MAX);
	sid_reg_audit(srv, rq, "smartid.register.extend", portal_timelimit_result(rc),
		json_string_value(json_object_get(o, "id")), detail);
	json_decref(o);
}

int
sid_more_visit(struct server *srv, struct http_request *rq, const struct store_sid_visit *v)
{
	int64_t now = sl_now();
	int rc;

	if (v->sv_expires > more_near(srv, now))
		rc = SL_ECONFLICT; /* pressed early: nothing, not even a count */
	else if (v->sv_extended >= SID_REG_EXTENSIONS_MAX)
		rc = SL_ETOOBIG;
	else
		rc = store_sid_visit_extend(srv->sv_store, v->sv_id, more_near(srv, now),
			now + srv->sv_conf->c_sid_registration_lifetime, SID_REG_EXTENSIONS_MAX);
	more_audit(srv, rq, v, "visit", v->sv_extended, rc);
	return rc;
}

int
sid_more_code(struct server *srv, struct http_request *rq, const struct store_sid_visit *v,
	const struct store_sid_registration *r)
{
	const struct sl_config *c = srv->sv_conf;
	char what[SID_REG_AAD_MAX];
	int64_t now = sl_now();
	int rc, vrc;

	if (r->sr_code_wrong >= c->c_sid_code_wrong_max)
		rc = SL_EEXPIRED; /* a dead code gets no time */
	else if (r->sr_expires > more_near(srv, now))
		rc = SL_ECONFLICT;
	else if (r->sr_extended >= SID_REG_EXTENSIONS_MAX)
		rc = SL_ETOOBIG;
	else
		rc = store_sid_registration_extend(srv->sv_store, r->sr_id, more_near(srv, now),
			now + c->c_sid_registration_lifetime, SID_REG_EXTENSIONS_MAX, c->c_sid_code_wrong_max);
	snprintf(what, sizeof(what), "registration %s", r->sr_id);
	more_audit(srv, rq, v, what, r->sr_extended, rc);
	if (rc != SL_OK && rc != SL_ECONFLICT)
		return rc;
	/* The page's clock is the earlier of the code's and the visit's: the
	 * visit's moves too when it is near its end (its own count).  With
	 * the code far from its end, the press is the visit's. */
	vrc = sid_more_visit(srv, rq, v);
	return rc == SL_ECONFLICT ? vrc : rc;
}

void
sid_more_answer(struct server *srv, struct http_request *rq, int lang, const char *page, int rc)
{
	char loc[128];

	if (rc == SL_EEXPIRED || rc == SL_ENOTFOUND) {
		sid_reg_problem(srv, rq, 410, lang, N_("This registration has expired"),
			N_("Start again in the Smart-ID app."));
	} else if (rc == SL_ETOOBIG) {
		sid_reg_problem(srv, rq, 409, lang, N_("No more time can be added"),
			N_("You have had the most extra time there is. Start the registration again in the Smart-ID "
			   "app: it shows a new code."));
	} else if (rc != SL_OK && rc != SL_ECONFLICT) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		/* SL_ECONFLICT: more than the warning's window is left
		 * (pressed early, or a post that raced another): the page says
		 * so (more=0). */
		snprintf(loc, sizeof(loc), "%s/%s?lang=%s&more=%d", SID_REG_PORTAL, page, config_languages[lang],
			rc == SL_OK);
		http_send_redirect(rq, 303, loc);
	}
}
