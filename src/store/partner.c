/*
 * partner.c — the clients an operator lists on the public site's
 * "Partners" page (schema 15): a client opts in with the address the page
 * links to, and out by clearing it.  The listing is a column of the client
 * record, so removing a client removes its listing with it.
 */
#include <stdlib.h>

#include "store_int.h"

static const char partner_all_sql[] = "SELECT client_id, name, partner_url FROM clients"
				      " WHERE partner_url IS NOT NULL ORDER BY created, client_id LIMIT ?1";

const char *const store_sql_partner[Q_COUNT] = {
	[Q_PARTNER_SET] = "UPDATE clients SET partner_url = ?2 WHERE client_id = ?1",
	[Q_PARTNER_GET] = "SELECT partner_url FROM clients WHERE client_id = ?1",
	[Q_PARTNER_ALL] = partner_all_sql,
};

int
store_partner_set(struct store *st, const char *client_id, const char *url)
{
	const struct bind b[] = { BT(client_id), BT(url) };

	if (client_id == NULL)
		return SL_EINVAL;
	return write_one(st, DUR_FULL, Q_PARTNER_SET, b, NBIND(b), true);
}

static void
partner_url_read(struct stmt *s, void *arg)
{
	char **out = arg;

	*out = col_text(s, 0);
}

int
store_partner_get(struct store *st, const char *client_id, char **url)
{
	const struct bind b[] = { BT(client_id) };

	*url = NULL;
	if (client_id == NULL)
		return SL_EINVAL;
	return read_one(st, Q_PARTNER_GET, b, NBIND(b), partner_url_read, url);
}

struct partner_visit {
	int (*fn)(const struct store_partner *, void *);
	void *arg;
};

/* The row's text is borrowed from the statement for the call only. */
static int
partner_row(struct stmt *s, void *ctx)
{
	const struct partner_visit *v = ctx;
	struct store_partner p = { col_str(s, 0), col_str(s, 1), col_str(s, 2) };

	return v->fn(&p, v->arg);
}

int
store_partner_each(struct store *st, int max, int (*fn)(const struct store_partner *, void *), void *arg)
{
	const struct bind b[] = { BI(max) };
	struct partner_visit v = { fn, arg };

	if (max <= 0 || fn == NULL)
		return SL_EINVAL;
	return read_each(st, Q_PARTNER_ALL, b, NBIND(b), partner_row, &v);
}
