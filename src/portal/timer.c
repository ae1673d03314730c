/*
 * timer.c — more time on the pages that wait for a phone (WCAG 2.2.1
 * Timing Adjustable, 2.2.6 Timeouts): how far a waiting request's expiry
 * moves when the person asks for more, and the limits on it.
 *
 * Each extension adds one step (the request's own lifetime) to what is
 * left, at most PORTAL_TIMER_EXTENSIONS_MAX times, never past
 * PORTAL_TIMER_TOTAL_MAX seconds after the request was made, and never
 * past the authorization request it answers: a phone request cannot be
 * kept open for ever by a script that presses the button.
 */
#include "portal.h"

int
portal_timer_extend(const struct portal_timer *t, int64_t now, int64_t *until)
{
	int64_t to;

	*until = t->pt_expires;
	if (t->pt_expires <= now)
		return SL_EEXPIRED;
	if (t->pt_extended >= PORTAL_TIMER_EXTENSIONS_MAX || t->pt_step <= 0)
		return SL_ETOOBIG;
	to = t->pt_expires + t->pt_step;
	if (to > t->pt_created + PORTAL_TIMER_TOTAL_MAX)
		to = t->pt_created + PORTAL_TIMER_TOTAL_MAX;
	if (to > t->pt_cap)
		to = t->pt_cap;
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
