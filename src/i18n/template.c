/*
 * template.c — the portal's template engine: escape by default, four tags
 * (see i18n.h), no expressions and no loops; repeated parts are rendered by
 * the code from a small template each and passed in as a raw variable.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#define TMPL_MAX_FILE (256u << 10)
#define TMPL_MAX_COUNT 64
#define TMPL_MAX_DEPTH 8 /* nested {{?}} sections */
#define TMPL_MAX_NEST 4 /* partials within partials ({{> name}}) */

struct tmpl {
	char *t_name; /* file name without .html */
	char *t_src;
};

struct tmpl_set {
	struct tmpl ts_items[TMPL_MAX_COUNT];
	size_t ts_count;
};

/* The entity for c, or NULL when c goes out as it is. */
static const char *
html_entity(char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

/* The first n bytes of s, escaped: runs of plain text are copied at once
 * (a page is mostly plain text; a byte at a time was most of its cost). */
static int
html_escape_n(struct sl_buf *out, const char *s, size_t n)
{
	int rc = SL_OK;

	while (n > 0 && rc == SL_OK) {
		size_t run = 0;
		while (run < n && html_entity(s[run]) == NULL)
			run++;
		if (run > 0)
			rc = sl_buf_add(out, s, run);
		if (rc == SL_OK && run < n)
			rc = sl_buf_adds(out, html_entity(s[run++]));
		s += run;
		n -= run;
	}
	return rc;
}

int
html_escape(struct sl_buf *out, const char *s)
{
	return html_escape_n(out, s, strlen(s));
}

static const char *
var_get(const struct tmpl_var *vars, size_t n, const char *name, size_t namelen)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].tv_name) == namelen && memcmp(vars[i].tv_name, name, namelen) == 0)
			return vars[i].tv_value;
	return NULL;
}

/* `msg` escaped, with the escaped `arg` (NULL: empty) in place of each %1:
 * the text around each %1 escaped in one piece. */
static int
fill_arg(const char *msg, const char *arg, struct sl_buf *out)
{
	int rc = SL_OK;

	for (const char *p = msg; *p && rc == SL_OK;) {
		const char *mark = strstr(p, "%1");
		size_t run = mark ? (size_t)(mark - p) : strlen(p);
		rc = html_escape_n(out, p, run);
		p += run;
		if (rc == SL_OK && mark != NULL) {
			rc = html_escape(out, arg ? arg : "");
			p += 2;
		}
	}
	return rc;
}

/* One "|"-separated part of a tag, spaces around it dropped: [*s, *s+*n). */
static const char *
tag_part(const char **s, const char *end, size_t *n)
{
	const char *start = *s, *bar = memchr(start, '|', (size_t)(end - start));
	const char *stop = bar ? bar : end;

	while (start < stop && *start == ' ')
		start++;
	*n = (size_t)(stop - start);
	while (*n > 0 && start[*n - 1] == ' ')
		(*n)--;
	*s = bar ? bar + 1 : end;
	return start;
}

/* {{_n one %1 | many %1 | name}}: the plural form for the number in
 * `name` (not a number: 0), then as render_text.  With `#N` for the name
 * the count is N itself and %1 stays: the form a page's script fills in
 * (a countdown's singular and plural, from the translator's entry). */
static int
render_plural(const char *tag, size_t len, const struct i18n_catalog *cat, const struct tmpl_var *vars, size_t nvars,
	struct sl_buf *out)
{
	const char *s = tag, *end = tag + len, *one, *many, *name, *arg;
	char msgid[1024], plural[1024], *stop = NULL;
	size_t n1, n2, nn;
	unsigned long n = 0;

	one = tag_part(&s, end, &n1);
	many = tag_part(&s, end, &n2);
	name = tag_part(&s, end, &nn);
	if (s != end || n1 == 0 || n2 == 0 || nn == 0 || n1 >= sizeof(msgid) || n2 >= sizeof(plural))
		return SL_EINVAL;
	memcpy(msgid, one, n1);
	msgid[n1] = '\0';
	memcpy(plural, many, n2);
	plural[n2] = '\0';
	if (*name == '#') {
		if (nn < 2 || name[1] < '0' || name[1] > '9')
			return SL_EINVAL;
		n = strtoul(name + 1, &stop, 10);
		if (stop != name + nn)
			return SL_EINVAL;
		return fill_arg(i18n_ngettext(cat, msgid, plural, n), "%1", out);
	}
	arg = var_get(vars, nvars, name, nn);
	if (arg != NULL && *arg >= '0' && *arg <= '9') {
		n = strtoul(arg, &stop, 10);
		if (*stop != '\0')
			n = 0;
	}
	return fill_arg(i18n_ngettext(cat, msgid, plural, n), arg, out);
}

/* {{_ text}} or {{_ text %1 | name}}: translate, then escape, then fill. */
static int
render_text(const char *tag, size_t len, const struct i18n_catalog *cat, const struct tmpl_var *vars, size_t nvars,
	struct sl_buf *out)
{
	const char *bar = memchr(tag, '|', len);
	const char *arg = NULL;
	char msgid[1024];
	size_t idlen = bar ? (size_t)(bar - tag) : len;

	while (idlen > 0 && tag[idlen - 1] == ' ')
		idlen--;
	if (idlen >= sizeof(msgid))
		return SL_ETOOBIG;
	memcpy(msgid, tag, idlen);
	msgid[idlen] = '\0';
	if (bar != NULL) {
		const char *name = bar + 1;
		size_t nlen = len - (size_t)(name - tag);
		while (nlen > 0 && *name == ' ') {
			name++;
			nlen--;
		}
		while (nlen > 0 && name[nlen - 1] == ' ')
			nlen--;
		arg = var_get(vars, nvars, name, nlen);
	}
	return fill_arg(i18n_gettext(cat, msgid), arg, out);
}

struct render_ctx {
	const struct tmpl_set *rc_set; /* NULL: no partials (a bare string) */
	const struct i18n_catalog *rc_cat;
	const struct tmpl_var *rc_vars;
	size_t rc_nvars;
	int rc_nest;
};

static const char *
template_src(const struct tmpl_set *set, const char *name, size_t len)
{
	for (size_t i = 0; set != NULL && i < set->ts_count; i++)
		if (strlen(set->ts_items[i].t_name) == len && memcmp(set->ts_items[i].t_name, name, len) == 0)
			return set->ts_items[i].t_src;
	return NULL;
}

static int render(const char *src, const struct render_ctx *rx, struct sl_buf *out);

/* {{> name}}: another template of the set, with the same variables; a
 * bounded nesting, so a template that includes itself is an error. */
static int
render_partial(const char *tag, size_t len, const struct render_ctx *rx, struct sl_buf *out)
{
	struct render_ctx inner = *rx;
	const char *src;

	while (len > 0 && *tag == ' ') {
		tag++;
		len--;
	}
	while (len > 0 && tag[len - 1] == ' ')
		len--;
	src = template_src(rx->rc_set, tag, len);
	if (src == NULL || rx->rc_nest >= TMPL_MAX_NEST)
		return SL_EINVAL;
	inner.rc_nest++;
	return render(src, &inner, out);
}

static int
render(const char *src, const struct render_ctx *rx, struct sl_buf *out)
{
	const struct i18n_catalog *cat = rx->rc_cat;
	const struct tmpl_var *vars = rx->rc_vars;
	size_t nvars = rx->rc_nvars;
	const char *p = src;
	const char *open_name[TMPL_MAX_DEPTH];
	size_t open_len[TMPL_MAX_DEPTH];
	int skip = 0, depth = 0, rc = SL_OK;

	while (*p && rc == SL_OK) {
		const char *open = strstr(p, "{{"), *close, *tag;
		bool raw;
		size_t len;

		if (open == NULL) {
			if (!skip)
				rc = sl_buf_adds(out, p);
			break;
		}
		if (!skip && open > p)
			rc = sl_buf_add(out, p, (size_t)(open - p));
		raw = open[2] == '{';
		tag = open + (raw ? 3 : 2);
		close = strstr(tag, raw ? "}}}" : "}}");
		if (close == NULL)
			return SL_EINVAL;
		len = (size_t)(close - tag);
		p = close + (raw ? 3 : 2);
		if (rc != SL_OK)
			break;
		if (!raw && len > 0 && tag[0] == '?') {
			const char *v = var_get(vars, nvars, tag + 1, len - 1);
			if (depth == TMPL_MAX_DEPTH)
				return SL_EINVAL;
			open_name[depth] = tag + 1;
			open_len[depth] = len - 1;
			depth++;
			if (skip || v == NULL || *v == '\0')
				skip++;
		} else if (!raw && len > 0 && tag[0] == '/') {
			/* A section closes by its own name, innermost first. */
			if (depth == 0 || open_len[depth - 1] != len - 1 ||
				memcmp(open_name[depth - 1], tag + 1, len - 1) != 0)
				return SL_EINVAL;
			depth--;
			if (skip > 0)
				skip--;
		} else if (skip) {
			continue;
		} else if (!raw && len > 2 && tag[0] == '_' && tag[1] == 'n' && tag[2] == ' ') {
			rc = render_plural(tag + 3, len - 3, cat, vars, nvars, out);
		} else if (!raw && len > 1 && tag[0] == '_' && tag[1] == ' ') {
			rc = render_text(tag + 2, len - 2, cat, vars, nvars, out);
		} else if (!raw && len > 1 && tag[0] == '>') {
			rc = render_partial(tag + 1, len - 1, rx, out);
		} else {
			const char *v = var_get(vars, nvars, tag, len);
			if (v != NULL)
				rc = raw ? sl_buf_adds(out, v) : html_escape(out, v);
		}
	}
	if (rc == SL_OK && depth != 0)
		return SL_EINVAL;
	return rc;
}

int
tmpl_render_string(
	const char *src, const struct i18n_catalog *cat, const struct tmpl_var *vars, size_t nvars, struct sl_buf *out)
{
	struct render_ctx rx = { NULL, cat, vars, nvars, 0 };

	return render(src, &rx, out);
}

int
tmpl_render(const struct tmpl_set *set, const char *name, const struct i18n_catalog *cat, const struct tmpl_var *vars,
	size_t nvars, struct sl_buf *out)
{
	struct render_ctx rx = { set, cat, vars, nvars, 0 };
	const char *src = template_src(set, name, strlen(name));

	return src != NULL ? render(src, &rx, out) : SL_ENOTFOUND;
}

struct tmpl_set *
tmpl_set_load(const char *dir, struct sl_err *err)
{
	struct tmpl_set *set = calloc(1, sizeof(*set));
	DIR *d = opendir(dir);
	struct dirent *de;

	if (set == NULL || d == NULL) {
		if (d)
			closedir(d);
		free(set);
		return sl_fail(err, SL_EIO, "cannot read templates in %s", dir), NULL;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct tmpl *t;
		char *path;

		if (n < 6 || strcmp(de->d_name + n - 5, ".html") != 0)
			continue;
		if (set->ts_count == TMPL_MAX_COUNT) {
			sl_fail(err, SL_ETOOBIG, "more than %d templates in %s", TMPL_MAX_COUNT, dir);
			goto fail;
		}
		t = &set->ts_items[set->ts_count];
		path = sl_path_resolve(dir, de->d_name);
		t->t_name = sl_strndup(de->d_name, n - 5);
		if (path == NULL || t->t_name == NULL ||
			sl_file_read(path, TMPL_MAX_FILE, &t->t_src, NULL, err) != SL_OK) {
			free(path);
			free(t->t_name);
			t->t_name = NULL;
			goto fail;
		}
		free(path);
		set->ts_count++;
	}
	closedir(d);
	return set;
fail:
	closedir(d);
	tmpl_set_free(set);
	return NULL;
}

void
tmpl_set_free(struct tmpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->ts_count; i++) {
		free(set->ts_items[i].t_name);
		free(set->ts_items[i].t_src);
	}
	free(set);
}
