/*
 * i18n_int.h — inside the i18n module: the plural rule of a catalog
 * (plural.c), for i18n.c.
 */
#ifndef SL_I18N_INT_H
#define SL_I18N_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "i18n.h"

#define I18N_PLURAL_RULE_MAX 256 /* bytes of a "plural=" expression */

/* The form (0-based) rule `rule` (len bytes, not NUL-ended) gives number n:
 * SL_OK with *form; SL_EINVAL when the rule does not parse or divides by
 * zero. */
int i18n_plural_eval(const char *rule, size_t len, unsigned long n, unsigned long *form);
/* In a catalog header: the "Plural-Forms:" line's rule (pointing into
 * header) and nplurals.  SL_ENOTFOUND without the line, SL_EINVAL when it
 * is malformed or nplurals is not 1..6. */
int i18n_plural_header(const char *header, const char **rule, size_t *len, unsigned long *nplurals);

#endif
