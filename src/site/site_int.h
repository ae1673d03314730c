/*
 * site_int.h — what the site's files share.
 */
#ifndef SL_SITE_INT_H
#define SL_SITE_INT_H

#include "site.h"
#include "../server/server.h"

/* The Partners page's list items, HTML built from escaped parts, appended
 * to `out`: each listed client's name, link and the keys one logs in there
 * with; *count of them.  SL_ESTORE when the store cannot be read. */
int site_partners_html(struct server *srv, const struct i18n_catalog *cat, struct sl_buf *out, int *count);

#endif
