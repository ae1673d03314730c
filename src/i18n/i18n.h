/*
 * i18n — message catalogs and HTML templates for the portal.
 *
 * One process serves nl, fr, de and en at once, so a message is looked up
 * per request in the catalog of that request's language; the process-wide
 * locale is never switched.  Catalogs are gettext .mo files (compiled from
 * po/LANG.po by msgfmt) read once at start-up into immutable tables, which the
 * request threads then share without a lock.
 *
 * Templates are HTML files with four kinds of tag, and escape by default:
 *   {{name}}              the variable, HTML-escaped
 *   {{{name}}}            the variable as is (only for HTML the code built
 *                         itself from escaped parts)
 *   {{_ text}}            the translation of `text`, escaped
 *   {{_ text %1 | name}}  the same with %1 replaced by the escaped variable
 *   {{_n one %1 | many %1 | name}}  the plural form for the number in
 *                         variable `name` (i18n_ngettext), %1 filled so
 *   {{_n one %1 | many %1 | #N}}  the form for the count N, %1 kept (for
 *                         a script to fill)
 *   {{> name}}           another template of the same set, same variables
 *                         (a partial; at most 4 deep, not in bare strings)
 *   {{?name}}...{{/name}} the part is kept only when the variable is set
 *                         and not empty
 */
#ifndef SL_I18N_H
#define SL_I18N_H

#include <stddef.h>

#include "../core/core.h"

struct i18n_catalog;

/* Load a .mo file; NULL with err on failure. */
struct i18n_catalog *i18n_catalog_load(const char *path, struct sl_err *err);
/* The same from bytes in memory (copied). */
struct i18n_catalog *i18n_catalog_parse(const void *data, size_t len, struct sl_err *err);
void i18n_catalog_free(struct i18n_catalog *cat);
/* The translation of msgid, or msgid itself when the catalog (may be NULL)
 * has none.  The result lives as long as the catalog (or msgid). */
const char *i18n_gettext(const struct i18n_catalog *cat, const char *msgid);
size_t i18n_catalog_size(const struct i18n_catalog *cat);
/* The form of a message with plural forms (msgid `singular`, msgid_plural
 * `plural`) that goes with n, by the catalog's Plural-Forms rule;
 * `singular` when n is 1 and `plural` otherwise when the catalog (may be
 * NULL) has none. */
const char *i18n_ngettext(const struct i18n_catalog *cat, const char *singular, const char *plural, unsigned long n);

struct tmpl_var {
	const char *tv_name;
	const char *tv_value;
};

struct tmpl_set;

/* Load every *.html in `dir` (at most 64 files of 256 KiB each). */
struct tmpl_set *tmpl_set_load(const char *dir, struct sl_err *err);
void tmpl_set_free(struct tmpl_set *set);
/* Render template `name` into `out` with the variables and catalog.
 * SL_ENOTFOUND for an unknown template, SL_ETOOBIG past the buffer max. */
int tmpl_render(const struct tmpl_set *set, const char *name, const struct i18n_catalog *cat,
	const struct tmpl_var *vars, size_t nvars, struct sl_buf *out);
/* Render a template string directly (used by tests and small fragments). */
int tmpl_render_string(
	const char *src, const struct i18n_catalog *cat, const struct tmpl_var *vars, size_t nvars, struct sl_buf *out);
/* Append `s` to `out` with &, <, >, ", ' escaped. */
int html_escape(struct sl_buf *out, const char *s);

#endif
