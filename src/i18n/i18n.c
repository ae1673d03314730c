/*
 * i18n.c — reading gettext .mo catalogs.  The file format (GNU gettext
 * manual, "The Format of GNU MO Files") is a header, then two tables of
 * (length, offset) pairs for the original and translated strings, sorted
 * by original string.  The file is kept in memory and searched with a
 * binary search; every offset is checked against the file size first, so
 * a broken file is refused rather than read out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#define MO_MAGIC 0x950412deU
#define MO_MAGIC_SWAPPED 0xde120495U
#define MO_MAX_SIZE (8u << 20)

struct mo_entry {
	const char *me_id;
	const char *me_str;
};

struct i18n_catalog {
	char *ic_data;
	size_t ic_size;
	struct mo_entry *ic_entries;
	size_t ic_count;
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

/* The string at table slot i, checked: inside the file and NUL-ended. */
static const char *
mo_string(const struct i18n_catalog *cat, uint32_t table, uint32_t i, bool swap)
{
	size_t slot = (size_t)table + (size_t)i * 8;
	uint32_t len, off;

	if (slot + 8 > cat->ic_size)
		return NULL;
	len = mo_u32(cat->ic_data, slot, swap);
	off = mo_u32(cat->ic_data, slot + 4, swap);
	if ((size_t)off + len >= cat->ic_size || cat->ic_data[off + len] != '\0')
		return NULL;
	return cat->ic_data + off;
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
		const char *id = mo_string(cat, orig, i, swap);
		const char *str = mo_string(cat, trans, i, swap);
		if (id == NULL || str == NULL)
			return SL_EINVAL;
		if (prev != NULL && strcmp(prev, id) >= 0)
			return SL_EINVAL; /* the table must be sorted for the binary search */
		prev = id;
		if (id[0] == '\0' || str[0] == '\0')
			continue; /* header entry, or untranslated */
		cat->ic_entries[cat->ic_count].me_id = id;
		cat->ic_entries[cat->ic_count].me_str = str;
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

const char *
i18n_gettext(const struct i18n_catalog *cat, const char *msgid)
{
	size_t lo = 0, hi;

	if (cat == NULL)
		return msgid;
	hi = cat->ic_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(msgid, cat->ic_entries[mid].me_id);
		if (c == 0)
			return cat->ic_entries[mid].me_str;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return msgid;
}
