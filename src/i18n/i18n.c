/*
 * i18n.c — reading gettext .mo catalogs.  The file format (GNU gettext
 * manual, "The Format of GNU MO Files") is a header, then two tables of
 * (length, offset) pairs for the original and translated strings, sorted
 * by original string.  The file is kept in memory and searched with a
 * binary search; every offset is checked against the file size first, so
 * a broken file is refused rather than read out of bounds.
 *
 * A message with plural forms is stored as "singular\0plural" with its
 * forms "form0\0form1..." (i18n_ngettext); the header's Plural-Forms rule
 * says which form a number takes (plural.c), checked at load.
 */
#include <stdlib.h>
#include <string.h>

#include "i18n_int.h"

#define MO_MAGIC 0x950412deU
#define MO_MAGIC_SWAPPED 0xde120495U
#define MO_MAX_SIZE (8u << 20)

struct mo_entry {
	const char *me_id;
	const char *me_str;
	size_t me_str_len; /* all its forms, NULs between them */
	bool me_plural;
};

struct i18n_catalog {
	char *ic_data;
	size_t ic_size;
	struct mo_entry *ic_entries;
	size_t ic_count;
	const char *ic_rule; /* the header's plural rule; NULL: English's */
	size_t ic_rule_len;
	unsigned long ic_nplurals;
};

static uint32_t
mo_u32(const char *data, size_t off, bool swap)
{
	uint32_t v;

	memcpy(&v, data + off, sizeof(v));
	if (swap)
		v = __builtin_bswap32(v);
	return v;
}

/* The string at table slot i, checked: inside the file and NUL-ended;
 * its length (NULs inside included) in *lenp. */
static const char *
mo_string(const struct i18n_catalog *cat, uint32_t table, uint32_t i, bool swap, size_t *lenp)
{
	size_t slot = (size_t)table + (size_t)i * 8;
	uint32_t len, off;

	if (slot + 8 > cat->ic_size)
		return NULL;
	len = mo_u32(cat->ic_data, slot, swap);
	off = mo_u32(cat->ic_data, slot + 4, swap);
	if ((size_t)off + len >= cat->ic_size || cat->ic_data[off + len] != '\0')
		return NULL;
	*lenp = len;
	return cat->ic_data + off;
}

/* The header's plural rule, when it has one: it must parse (tried on a
 * few numbers), or the catalog is refused. */
static int
catalog_plural_rule(struct i18n_catalog *cat, const char *header)
{
	static const unsigned long probe[] = { 0, 1, 2, 5, 11, 21, 101, 1000 };
	unsigned long form;
	int rc = i18n_plural_header(header, &cat->ic_rule, &cat->ic_rule_len, &cat->ic_nplurals);

	if (rc == SL_ENOTFOUND) {
		cat->ic_rule = NULL;
		return SL_OK;
	}
	for (size_t i = 0; rc == SL_OK && i < sizeof(probe) / sizeof(probe[0]); i++)
		rc = i18n_plural_eval(cat->ic_rule, cat->ic_rule_len, probe[i], &form);
	return rc;
}

/* Index the catalog whose bytes are in cat->ic_data. */
static int
catalog_index(struct i18n_catalog *cat)
{
	uint32_t magic, count, orig, trans;
	const char *prev = NULL;
	bool swap;

	if (cat->ic_data == NULL || cat->ic_size < 28)
		return SL_EINVAL;
	memcpy(&magic, cat->ic_data, 4);
	if (magic != MO_MAGIC && magic != MO_MAGIC_SWAPPED)
		return SL_EINVAL;
	swap = magic == MO_MAGIC_SWAPPED;
	count = mo_u32(cat->ic_data, 8, swap);
	orig = mo_u32(cat->ic_data, 12, swap);
	trans = mo_u32(cat->ic_data, 16, swap);
	if (count > cat->ic_size / 16)
		return SL_EINVAL;
	cat->ic_entries = calloc(count ? count : 1, sizeof(*cat->ic_entries));
	if (cat->ic_entries == NULL)
		return SL_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		size_t idlen = 0, slen = 0;
		const char *id = mo_string(cat, orig, i, swap, &idlen);
		const char *str = mo_string(cat, trans, i, swap, &slen);
		if (id == NULL || str == NULL)
			return SL_EINVAL;
		if (id[0] == '\0' && catalog_plural_rule(cat, str) != SL_OK)
			return SL_EINVAL;
		if (prev != NULL && strcmp(prev, id) >= 0)
			return SL_EINVAL; /* the table must be sorted for the binary search */
		prev = id;
		if (id[0] == '\0' || str[0] == '\0')
			continue; /* header entry, or untranslated */
		cat->ic_entries[cat->ic_count].me_id = id;
		cat->ic_entries[cat->ic_count].me_str = str;
		cat->ic_entries[cat->ic_count].me_str_len = slen;
		cat->ic_entries[cat->ic_count].me_plural = strlen(id) < idlen;
		cat->ic_count++;
	}
	return SL_OK;
}

struct i18n_catalog *
i18n_catalog_load(const char *path, struct sl_err *err)
{
	struct i18n_catalog *cat = calloc(1, sizeof(*cat));

	if (cat == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	if (sl_file_read(path, MO_MAX_SIZE, &cat->ic_data, &cat->ic_size, err) != SL_OK) {
		i18n_catalog_free(cat);
		return NULL;
	}
	if (catalog_index(cat) != SL_OK) {
		sl_fail(err, SL_EINVAL, "%s is not a valid .mo catalog", path);
		i18n_catalog_free(cat);
		return NULL;
	}
	return cat;
}

struct i18n_catalog *
i18n_catalog_parse(const void *data, size_t len, struct sl_err *err)
{
	struct i18n_catalog *cat = calloc(1, sizeof(*cat));

	if (cat == NULL || len > MO_MAX_SIZE || (cat->ic_data = malloc(len + 1)) == NULL) {
		free(cat);
		return sl_fail(err, len > MO_MAX_SIZE ? SL_ETOOBIG : SL_ENOMEM, "catalog too large"), NULL;
	}
	memcpy(cat->ic_data, data, len);
	cat->ic_data[len] = '\0';
	cat->ic_size = len;
	if (catalog_index(cat) != SL_OK) {
		sl_fail(err, SL_EINVAL, "not a valid .mo catalog");
		i18n_catalog_free(cat);
		return NULL;
	}
	return cat;
}

void
i18n_catalog_free(struct i18n_catalog *cat)
{
	if (cat == NULL)
		return;
	free(cat->ic_entries);
	free(cat->ic_data);
	free(cat);
}

size_t
i18n_catalog_size(const struct i18n_catalog *cat)
{
	return cat ? cat->ic_count : 0;
}

static const struct mo_entry *
catalog_find(const struct i18n_catalog *cat, const char *msgid)
{
	size_t lo = 0, hi = cat ? cat->ic_count : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(msgid, cat->ic_entries[mid].me_id);
		if (c == 0)
			return &cat->ic_entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *
i18n_gettext(const struct i18n_catalog *cat, const char *msgid)
{
	const struct mo_entry *e = catalog_find(cat, msgid);

	return e ? e->me_str : msgid;
}

const char *
i18n_ngettext(const struct i18n_catalog *cat, const char *singular, const char *plural, unsigned long n)
{
	const struct mo_entry *e = catalog_find(cat, singular);
	unsigned long form = n != 1;
	const char *s, *end;

	if (e == NULL || !e->me_plural)
		return n == 1 ? singular : plural;
	if (cat->ic_rule != NULL &&
		(i18n_plural_eval(cat->ic_rule, cat->ic_rule_len, n, &form) != SL_OK || form >= cat->ic_nplurals))
		form = 0;
	/* The form-th of the NUL-separated forms; a missing or empty one
	 * falls back to the English text. */
	s = e->me_str;
	end = e->me_str + e->me_str_len;
	for (unsigned long i = 0; i < form && s < end; i++)
		s += strlen(s) + 1;
	if (s >= end || *s == '\0')
		return n == 1 ? singular : plural;
	return s;
}
