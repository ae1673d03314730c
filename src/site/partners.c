/*
 * partners.c — the Partners page's list: the clients an operator listed
 * (schema 15, `sleutel client ... --partner-url URL`), oldest first, at
 * most SITE_PARTNERS_MAX of them.  A name is whatever the operator typed,
 * so it is escaped like any text; the link passed the CLI's check (https,
 * plain URI characters) and is escaped all the same.
 *
 * Which keys a partner accepts: sleutel has no per-client key list, so a
 * partner's visitors can use every key the portal offers ([portal] keys),
 * and the page says exactly that, key by key.
 */
#include <string.h>

#include "site_int.h"
#include "../portal/portal.h"

struct partner_list {
	const struct i18n_catalog *pl_cat;
	const char *pl_keys; /* "eID card reader, sleutel app" in the page's language */
	struct sl_buf *pl_out;
	int pl_count;
};

/* <li><h2><a href="URL">NAME</a></h2><p>Log in there with: KEYS</p></li> */
static int
partner_item(const struct store_partner *p, void *arg)
{
	struct partner_list *pl = arg;
	struct sl_buf *out = pl->pl_out;

	if (sl_buf_adds(out, "<li><h2><a href=\"") != SL_OK || html_escape(out, p->pa_url) != SL_OK ||
		sl_buf_adds(out, "\">") != SL_OK || html_escape(out, p->pa_name) != SL_OK ||
		sl_buf_adds(out, "</a></h2><p>") != SL_OK ||
		html_escape(out, i18n_gettext(pl->pl_cat, N_("Log in there with:"))) != SL_OK ||
		sl_buf_adds(out, " ") != SL_OK || html_escape(out, pl->pl_keys) != SL_OK ||
		sl_buf_adds(out, "</p></li>") != SL_OK)
		return SL_ETOOBIG;
	pl->pl_count++;
	return SL_OK;
}

/* The keys the portal offers, named as the key choice names them. */
static int
offered_keys(struct server *srv, const struct i18n_catalog *cat, struct sl_buf *out)
{
	static const struct {
		unsigned kind;
		const char *label;
	} keys[] = {
		{ SL_KEY_EID, N_("eID card reader") },
		{ SL_KEY_APP, N_("sleutel app") },
		{ SL_KEY_SMARTID, N_("Smart-ID") },
	};
	int rc = SL_OK;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == SL_OK; i++) {
		if (!(srv->sv_conf->c_portal_keys & keys[i].kind))
			continue;
		if (out->b_len > 0)
			rc = sl_buf_adds(out, ", ");
		if (rc == SL_OK)
			rc = sl_buf_adds(out, i18n_gettext(cat, keys[i].label));
	}
	return rc;
}

int
site_partners_html(struct server *srv, const struct i18n_catalog *cat, struct sl_buf *out, int *count)
{
	struct sl_buf keys;
	struct partner_list pl = { cat, NULL, out, 0 };
	int rc;

	sl_buf_init(&keys, 1024);
	rc = offered_keys(srv, cat, &keys);
	pl.pl_keys = sl_buf_str(&keys);
	if (rc == SL_OK)
		rc = store_partner_each(srv->sv_store, SITE_PARTNERS_MAX, partner_item, &pl);
	*count = pl.pl_count;
	sl_buf_reset(&keys);
	return rc;
}
