/*
 * test_i18n.c — .mo catalogs compiled here with msgfmt, broken catalogs,
 * and the template engine: escaping, raw variables, translations with an
 * argument, sections, malformed templates, and template sets on disk.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../src/i18n/i18n.h"
#include "../../src/i18n/i18n_int.h"
#include "../lib/testutil.h"

#ifndef SL_TEST_SRCDIR
#error "SL_TEST_SRCDIR must be defined by the build"
#endif

static const char test_po[] = "msgid \"\"\n"
			      "msgstr \"\"\n"
			      "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
			      "\"Language: nl\\n\"\n"
			      "\n"
			      "msgid \"Hello\"\n"
			      "msgstr \"Hallo\"\n"
			      "\n"
			      "msgid \"Log in\"\n"
			      "msgstr \"Aanmelden <nu>\"\n"
			      "\n"
			      "msgid \"Welcome, %1\"\n"
			      "msgstr \"Welkom, %1 & co\"\n"
			      "\n"
			      "msgid \"Zebra\"\n"
			      "msgstr \"Zebra's \\\"streep\\\"\"\n"
			      "\n"
			      "msgid \"Untranslated\"\n"
			      "msgstr \"\"\n";

struct fixture {
	char *fx_dir;
	char *fx_mo; /* <dir>/nl.mo */
	struct i18n_catalog *fx_cat;
};

/* Compile `po` text to <dir>/<name>.mo with msgfmt; extra msgfmt options in `opts`. */
static char *
compile_po(const char *dir, const char *name, const char *po, const char *opts)
{
	struct sl_buf cmd, n;
	char *po_path, *mo_path;
	int rc;

	sl_buf_init(&n, 256);
	if (sl_buf_addf(&n, "%s.po", name) != SL_OK)
		return NULL;
	po_path = tu_path(dir, sl_buf_str(&n));
	sl_buf_reset(&n);
	if (sl_buf_addf(&n, "%s.mo", name) != SL_OK)
		return NULL;
	mo_path = tu_path(dir, sl_buf_str(&n));
	sl_buf_reset(&n);
	if (po_path == NULL || mo_path == NULL || tu_write_file(po_path, po, strlen(po)) != 0)
		return NULL;
	sl_buf_init(&cmd, 8192);
	if (sl_buf_addf(&cmd, "msgfmt %s -o '%s' '%s'", opts, mo_path, po_path) != SL_OK)
		return NULL;
	rc = system(sl_buf_str(&cmd));
	sl_buf_reset(&cmd);
	free(po_path);
	if (rc != 0) {
		free(mo_path);
		return NULL;
	}
	return mo_path;
}

static int
fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct sl_err err = { 0 };

	if (fx == NULL)
		return -1;
	fx->fx_dir = tu_tmpdir("sl-test-i18n");
	if (fx->fx_dir == NULL)
		return -1;
	fx->fx_mo = compile_po(fx->fx_dir, "nl", test_po, "");
	if (fx->fx_mo == NULL)
		return -1;
	fx->fx_cat = i18n_catalog_load(fx->fx_mo, &err);
	if (fx->fx_cat == NULL) {
		fprintf(stderr, "i18n_catalog_load: %s\n", err.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	i18n_catalog_free(fx->fx_cat);
	tu_rm_tree(fx->fx_dir);
	free(fx->fx_dir);
	free(fx->fx_mo);
	free(fx);
	return 0;
}

/* Render `src` and compare; `cat` may be NULL. */
static void
expect_render(
	const char *src, const struct i18n_catalog *cat, const struct tmpl_var *vars, size_t nvars, const char *want)
{
	struct sl_buf out;
	int rc;

	sl_buf_init(&out, 65536);
	rc = tmpl_render_string(src, cat, vars, nvars, &out);
	if (rc != SL_OK)
		fail_msg("rendering \"%s\" failed with %d", src, rc);
	if (strcmp(sl_buf_str(&out), want) != 0)
		fail_msg("rendering \"%s\" gave \"%s\", want \"%s\"", src, sl_buf_str(&out), want);
	sl_buf_reset(&out);
}

static void
expect_render_error(const char *src, const struct tmpl_var *vars, size_t nvars)
{
	struct sl_buf out;
	int rc;

	sl_buf_init(&out, 65536);
	rc = tmpl_render_string(src, NULL, vars, nvars, &out);
	sl_buf_reset(&out);
	if (rc == SL_OK)
		fail_msg("rendering \"%s\" succeeded", src);
}

/* ---- catalogs ---- */

static void
test_catalog_lookup(void **state)
{
	struct fixture *fx = *state;
	const char *miss = "Goodbye", *untranslated = "Untranslated";

	assert_int_equal(i18n_catalog_size(fx->fx_cat), 4);
	assert_string_equal(i18n_gettext(fx->fx_cat, "Hello"), "Hallo");
	assert_string_equal(i18n_gettext(fx->fx_cat, "Log in"), "Aanmelden <nu>");
	assert_string_equal(i18n_gettext(fx->fx_cat, "Welcome, %1"), "Welkom, %1 & co");
	assert_string_equal(i18n_gettext(fx->fx_cat, "Zebra"), "Zebra's \"streep\"");
	/* A miss, an empty translation and the header all give back msgid. */
	assert_ptr_equal(i18n_gettext(fx->fx_cat, miss), miss);
	assert_ptr_equal(i18n_gettext(fx->fx_cat, untranslated), untranslated);
	assert_string_equal(i18n_gettext(fx->fx_cat, ""), "");
	assert_string_equal(i18n_gettext(fx->fx_cat, "hello"), "hello");
	assert_string_equal(i18n_gettext(fx->fx_cat, "Hello "), "Hello ");
	assert_string_equal(i18n_gettext(fx->fx_cat, "A"), "A");
	assert_string_equal(i18n_gettext(fx->fx_cat, "zzz"), "zzz");
}

/* ---- plural forms ---- */

static const char plural_po_fmt[] = "msgid \"\"\n"
				    "msgstr \"\"\n"
				    "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
				    "\"Plural-Forms: nplurals=2; plural=%s;\\n\"\n"
				    "\n"
				    "msgid \"%%1 minute left\"\n"
				    "msgid_plural \"%%1 minutes left\"\n"
				    "msgstr[0] \"%s\"\n"
				    "msgstr[1] \"%s\"\n"
				    "\n"
				    "msgid \"Half done\"\n"
				    "msgid_plural \"Halves done\"\n"
				    "msgstr[0] \"Moitié\"\n"
				    "msgstr[1] \"\"\n";

static struct i18n_catalog *
plural_catalog(const struct fixture *fx, const char *name, const char *rule, const char *one, const char *many)
{
	char po[2048], *mo;
	struct sl_err err = { 0 };
	struct i18n_catalog *cat;

	snprintf(po, sizeof(po), plural_po_fmt, rule, one, many);
	mo = compile_po(fx->fx_dir, name, po, "");
	assert_non_null(mo);
	cat = i18n_catalog_load(mo, &err);
	if (cat == NULL)
		fail_msg("%s refused: %s", name, err.msg);
	free(mo);
	return cat;
}

/* French takes the singular for 0 and 1, Dutch only for 1: no "1 seconden". */
static void
test_ngettext_french_and_dutch(void **state)
{
	struct fixture *fx = *state;
	struct i18n_catalog *fr = plural_catalog(fx, "fr", "(n > 1)", "%1 minute restante", "%1 minutes restantes");
	struct i18n_catalog *nl = plural_catalog(fx, "nlp", "(n != 1)", "nog %1 minuut", "nog %1 minuten");
	const char *one = "%1 minute left", *many = "%1 minutes left";

	assert_string_equal(i18n_ngettext(fr, one, many, 0), "%1 minute restante");
	assert_string_equal(i18n_ngettext(fr, one, many, 1), "%1 minute restante");
	assert_string_equal(i18n_ngettext(fr, one, many, 2), "%1 minutes restantes");
	assert_string_equal(i18n_ngettext(nl, one, many, 0), "nog %1 minuten");
	assert_string_equal(i18n_ngettext(nl, one, many, 1), "nog %1 minuut");
	assert_string_equal(i18n_ngettext(nl, one, many, 15), "nog %1 minuten");
	/* No catalog, or no entry: the English rule on the msgids. */
	assert_ptr_equal(i18n_ngettext(NULL, one, many, 1), one);
	assert_ptr_equal(i18n_ngettext(NULL, one, many, 0), many);
	const char *hour = "%1 hour", *hours = "%1 hours";
	assert_ptr_equal(i18n_ngettext(fr, hour, hours, 3), hours);
	assert_ptr_equal(i18n_ngettext(fr, hour, hours, 1), hour);
	/* An empty form falls back to the English text. */
	assert_string_equal(i18n_ngettext(nl, "Half done", "Halves done", 1), "Moitié");
	assert_string_equal(i18n_ngettext(nl, "Half done", "Halves done", 2), "Halves done");
	/* The singular msgid alone still finds the first form. */
	assert_string_equal(i18n_gettext(fr, one), "%1 minute restante");
	i18n_catalog_free(fr);
	i18n_catalog_free(nl);
}

static void
test_template_plural_tag(void **state)
{
	struct fixture *fx = *state;
	struct i18n_catalog *fr = plural_catalog(fx, "frt", "(n > 1)", "%1 minute <restante>", "%1 minutes restantes");
	struct tmpl_var one[] = { { "m", "1" } }, two[] = { { "m", "2" } }, zero[] = { { "m", "0" } },
			junk[] = { { "m", "2x<" } };

	expect_render("{{_n %1 minute left | %1 minutes left | m}}", fr, one, 1, "1 minute &lt;restante&gt;");
	expect_render("{{_n %1 minute left | %1 minutes left | m}}", fr, zero, 1, "0 minute &lt;restante&gt;");
	expect_render("{{_n %1 minute left | %1 minutes left | m}}", fr, two, 1, "2 minutes restantes");
	expect_render("{{_n %1 minute left | %1 minutes left | m}}", NULL, one, 1, "1 minute left");
	expect_render("{{_n %1 minute left | %1 minutes left | m}}", NULL, two, 1, "2 minutes left");
	/* Not a number: counted as 0, the value escaped where %1 is. */
	expect_render("{{_n %1 minute left | %1 minutes left | m}}", NULL, junk, 1, "2x&lt; minutes left");
	/* #N: the form for N with %1 kept, for a script (fr: 0 and 1 singular). */
	expect_render("{{_n %1 minute left | %1 minutes left | #1}}", fr, one, 1, "%1 minute &lt;restante&gt;");
	expect_render("{{_n %1 minute left | %1 minutes left | #0}}", fr, one, 1, "%1 minute &lt;restante&gt;");
	expect_render("{{_n %1 minute left | %1 minutes left | #2}}", fr, one, 1, "%1 minutes restantes");
	expect_render("{{_n %1 minute left | %1 minutes left | #0}}", NULL, one, 1, "%1 minutes left");
	expect_render_error("{{_n %1 minute left | %1 minutes left | #}}", one, 1);
	expect_render_error("{{_n %1 minute left | %1 minutes left | #2x}}", one, 1);
	expect_render_error("{{_n %1 minute left | %1 minutes left | #-1}}", one, 1);
	expect_render_error("{{_n %1 minute left | m}}", one, 1);
	expect_render_error("{{_n a | b | c | m}}", one, 1);
	expect_render_error("{{_n  | b | m}}", one, 1);
	i18n_catalog_free(fr);
}

static void
test_plural_rules(void **state)
{
	static const char polish[] = "(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)";
	static const struct {
		unsigned long n, form;
	} pl[] = { { 1, 0 }, { 2, 1 }, { 4, 1 }, { 5, 2 }, { 12, 2 }, { 22, 1 }, { 25, 2 }, { 0, 2 }, { 104, 1 } };
	static const char *const bad[] = { "", "n >", "(n", "n / 0", "n % (n - n)", "n ? 1", "x", "n 1", "1 +",
		"99999999999", "n == = 1" };
	char deep[200];
	unsigned long form;

	(void)state;
	for (size_t i = 0; i < sizeof(pl) / sizeof(pl[0]); i++) {
		assert_int_equal(i18n_plural_eval(polish, strlen(polish), pl[i].n, &form), SL_OK);
		if (form != pl[i].form)
			fail_msg("polish %lu: form %lu, want %lu", pl[i].n, form, pl[i].form);
	}
	assert_int_equal(i18n_plural_eval("!(n<=1) * 1 + 0", 15, 3, &form), SL_OK);
	assert_int_equal(form, 1);
	assert_int_equal(i18n_plural_eval("n>=2", 4, 1, &form), SL_OK);
	assert_int_equal(form, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (i18n_plural_eval(bad[i], strlen(bad[i]), 1, &form) == SL_OK)
			fail_msg("rule \"%s\" accepted", bad[i]);
	/* Nesting is bounded: no stack to exhaust. */
	memset(deep, '(', 100);
	deep[100] = 'n';
	memset(deep + 101, ')', 99);
	deep[199] = ')';
	assert_int_equal(i18n_plural_eval(deep, 200, 1, &form), SL_EINVAL);
	assert_int_equal(i18n_plural_eval(deep + 80, 41, 1, &form), SL_OK);
}

/* A catalog whose plural rule does not parse is refused at load. */
static void
test_catalog_bad_plural_rule_refused(void **state)
{
	struct fixture *fx = *state;
	char po[2048], *mo, *data = NULL, *at;
	size_t len = 0;
	struct sl_err err = { 0 };

	snprintf(po, sizeof(po), plural_po_fmt, "(n > 1)", "a", "b");
	mo = compile_po(fx->fx_dir, "badrule", po, "");
	assert_non_null(mo);
	assert_int_equal(sl_file_read(mo, 1 << 20, &data, &len, &err), SL_OK);
	at = memmem(data, len, "(n > 1)", 7);
	assert_non_null(at);
	memcpy(at, "(n >  )", 7); /* same length: the offsets stay right */
	assert_null(i18n_catalog_parse(data, len, &err));
	memcpy(at, "(n > 1)", 7);
	struct i18n_catalog *ok = i18n_catalog_parse(data, len, &err);
	assert_non_null(ok);
	i18n_catalog_free(ok);
	free(data);
	free(mo);
}

static void
test_null_catalog_returns_msgid(void **state)
{
	const char *msgid = "Hello";

	(void)state;
	assert_ptr_equal(i18n_gettext(NULL, msgid), msgid);
	assert_int_equal(i18n_catalog_size(NULL), 0);
	i18n_catalog_free(NULL);
}

static void
test_catalog_big_endian(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	struct i18n_catalog *cat;
	char *mo = compile_po(fx->fx_dir, "be", test_po, "--endianness=big");

	assert_non_null(mo);
	cat = i18n_catalog_load(mo, &err);
	if (cat == NULL)
		fail_msg("big-endian catalog refused: %s", err.msg);
	assert_int_equal(i18n_catalog_size(cat), 4);
	assert_string_equal(i18n_gettext(cat, "Hello"), "Hallo");
	assert_string_equal(i18n_gettext(cat, "Zebra"), "Zebra's \"streep\"");
	i18n_catalog_free(cat);
	free(mo);
}

static void
test_catalog_many_entries(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	struct i18n_catalog *cat;
	struct sl_buf po;
	char *mo, id[32], want[32];

	sl_buf_init(&po, 1 << 20);
	assert_int_equal(
		sl_buf_adds(&po, "msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\\n\"\n\n"), SL_OK);
	for (int i = 0; i < 500; i++)
		assert_int_equal(sl_buf_addf(&po, "msgid \"m%d\"\nmsgstr \"t%d\"\n\n", i * 7919 % 1000, i), SL_OK);
	mo = compile_po(fx->fx_dir, "many", sl_buf_str(&po), "");
	sl_buf_reset(&po);
	assert_non_null(mo);
	cat = i18n_catalog_load(mo, &err);
	assert_non_null(cat);
	assert_int_equal(i18n_catalog_size(cat), 500);
	for (int i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "m%d", i * 7919 % 1000);
		snprintf(want, sizeof(want), "t%d", i);
		assert_string_equal(i18n_gettext(cat, id), want);
	}
	assert_string_equal(i18n_gettext(cat, "m1"), "m1");
	i18n_catalog_free(cat);
	free(mo);
}

static void
test_catalog_parse_from_memory(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	struct i18n_catalog *cat;
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(sl_file_read(fx->fx_mo, 1 << 20, &data, &len, &err), SL_OK);
	cat = i18n_catalog_parse(data, len, &err);
	if (cat == NULL)
		fail_msg("i18n_catalog_parse: %s", err.msg);
	/* The bytes are copied: the caller's buffer may go. */
	memset(data, 0, len);
	free(data);
	assert_int_equal(i18n_catalog_size(cat), 4);
	assert_string_equal(i18n_gettext(cat, "Hello"), "Hallo");
	assert_string_equal(i18n_gettext(cat, "Goodbye"), "Goodbye");
	i18n_catalog_free(cat);

	assert_null(i18n_catalog_parse("", 0, &err));
	assert_true(strlen(err.msg) > 0);
	assert_null(i18n_catalog_parse("\xde\x12\x04\x95", 4, &err));
}

static void
expect_catalog_refused(const char *path, const char *why)
{
	struct sl_err err = { 0 };
	struct i18n_catalog *cat = i18n_catalog_load(path, &err);

	if (cat != NULL) {
		i18n_catalog_free(cat);
		fail_msg("a %s catalog was loaded", why);
	}
	assert_true(err.code < 0);
	assert_true(strlen(err.msg) > 0);
}

static void
test_broken_catalogs_refused(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	char *data = NULL, *path = tu_path(fx->fx_dir, "broken.mo"), garbage[1000];
	size_t len = 0;

	assert_int_equal(sl_file_read(fx->fx_mo, 1 << 20, &data, &len, &err), SL_OK);
	assert_true(len > 100);

	/* Cut at every length: none of them is a complete catalog. */
	for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 7)) {
		char why[64];
		assert_int_equal(tu_write_file(path, data, cut), 0);
		snprintf(why, sizeof(why), "truncated (%zu of %zu bytes)", cut, len);
		expect_catalog_refused(path, why);
	}

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 131 + 7);
	assert_int_equal(tu_write_file(path, garbage, sizeof(garbage)), 0);
	expect_catalog_refused(path, "garbage");

	/* The right magic followed by garbage. */
	memcpy(garbage, data, 4);
	assert_int_equal(tu_write_file(path, garbage, sizeof(garbage)), 0);
	expect_catalog_refused(path, "magic-then-garbage");

	expect_catalog_refused("/nonexistent/sleutel/nl.mo", "missing");
	free(data);
	free(path);
}

/* The catalog in `path`, with the 32-bit word at `off` set to `v`, in `out`. */
static void
patch_catalog(const char *path, size_t off, uint32_t v, const char *out)
{
	struct sl_err err = { 0 };
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(sl_file_read(path, 1 << 20, &data, &len, &err), SL_OK);
	assert_true(off + 4 <= len);
	memcpy(data + off, &v, 4);
	assert_int_equal(tu_write_file(out, data, len), 0);
	free(data);
}

static void
test_catalog_offsets_out_of_file_refused(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	char *data = NULL, *path = tu_path(fx->fx_dir, "evil.mo");
	uint32_t orig, trans, count;
	size_t len = 0;

	assert_int_equal(sl_file_read(fx->fx_mo, 1 << 20, &data, &len, &err), SL_OK);
	memcpy(&count, data + 8, 4);
	memcpy(&orig, data + 12, 4);
	memcpy(&trans, data + 16, 4);
	free(data);
	assert_true(count >= 2);

	/* Control: rewriting a word with its own value keeps the file loadable. */
	patch_catalog(fx->fx_mo, 8, count, path);
	{
		struct i18n_catalog *cat = i18n_catalog_load(path, &err);
		assert_non_null(cat);
		i18n_catalog_free(cat);
	}

	patch_catalog(fx->fx_mo, trans + 8 + 4, (uint32_t)len + 100, path);
	expect_catalog_refused(path, "translation offset past the end");
	patch_catalog(fx->fx_mo, orig + 8 + 4, (uint32_t)len - 1, path);
	expect_catalog_refused(path, "original offset at the last byte");
	patch_catalog(fx->fx_mo, trans + 8, 0xfffffff0u, path);
	expect_catalog_refused(path, "length past the end");
	patch_catalog(fx->fx_mo, 12, 0x7ffffff0u, path);
	expect_catalog_refused(path, "table past the end");
	patch_catalog(fx->fx_mo, 16, 0xfffffffcu, path);
	expect_catalog_refused(path, "table at the end of the address space");
	patch_catalog(fx->fx_mo, 8, 0x40000000u, path);
	expect_catalog_refused(path, "huge count");
	free(path);
}

/* ---- templates: variables ---- */

static void
test_variable_is_escaped(void **state)
{
	const struct tmpl_var vars[] = { { "name", "a&b<c>d\"e'f" } };

	(void)state;
	expect_render("[{{name}}]", NULL, vars, 1, "[a&amp;b&lt;c&gt;d&quot;e&#39;f]");
	expect_render("<a title=\"{{name}}\">", NULL, vars, 1, "<a title=\"a&amp;b&lt;c&gt;d&quot;e&#39;f\">");
}

static void
test_triple_braces_are_raw(void **state)
{
	const struct tmpl_var vars[] = { { "html", "<b>&amp;</b>" } };

	(void)state;
	expect_render("{{{html}}}", NULL, vars, 1, "<b>&amp;</b>");
	expect_render("x{{{html}}}y{{html}}", NULL, vars, 1, "x<b>&amp;</b>y&lt;b&gt;&amp;amp;&lt;/b&gt;");
}

static void
test_missing_variable_renders_nothing(void **state)
{
	const struct tmpl_var vars[] = { { "name", "Ann" } };

	(void)state;
	expect_render("[{{nope}}]", NULL, vars, 1, "[]");
	expect_render("[{{{nope}}}]", NULL, vars, 1, "[]");
	expect_render("[{{nam}}][{{names}}]", NULL, vars, 1, "[][]");
	expect_render("[{{nope}}]", NULL, NULL, 0, "[]");
	expect_render("plain text, no tags", NULL, NULL, 0, "plain text, no tags");
	expect_render("", NULL, NULL, 0, "");
	expect_render("single { braces } stay", NULL, NULL, 0, "single { braces } stay");
}

/* ---- templates: translations ---- */

static void
test_translation_is_escaped(void **state)
{
	struct fixture *fx = *state;

	expect_render("<h1>{{_ Hello}}</h1>", fx->fx_cat, NULL, 0, "<h1>Hallo</h1>");
	expect_render("{{_ Log in}}", fx->fx_cat, NULL, 0, "Aanmelden &lt;nu&gt;");
	expect_render("{{_ Zebra}}", fx->fx_cat, NULL, 0, "Zebra&#39;s &quot;streep&quot;");
	/* Without a catalog, or without an entry, the msgid itself (escaped). */
	expect_render("{{_ Log in}}", NULL, NULL, 0, "Log in");
	expect_render("{{_ Tom & Jerry}}", fx->fx_cat, NULL, 0, "Tom &amp; Jerry");
}

static void
test_translation_with_argument(void **state)
{
	struct fixture *fx = *state;
	const struct tmpl_var vars[] = { { "who", "<Ann & Bob>" } };

	expect_render("{{_ Welcome, %1 | who}}", fx->fx_cat, vars, 1, "Welkom, &lt;Ann &amp; Bob&gt; &amp; co");
	expect_render("{{_ Welcome, %1|who}}", fx->fx_cat, vars, 1, "Welkom, &lt;Ann &amp; Bob&gt; &amp; co");
	expect_render("{{_ Welcome, %1 | who}}", NULL, vars, 1, "Welcome, &lt;Ann &amp; Bob&gt;");
	/* An unset argument fills in as nothing. */
	expect_render("{{_ Welcome, %1 | nobody}}", fx->fx_cat, vars, 1, "Welkom,  &amp; co");
}

/* ---- templates: sections ---- */

static void
test_section_kept_when_set(void **state)
{
	const struct tmpl_var set[] = { { "x", "1" }, { "name", "Ann" } };
	const struct tmpl_var empty[] = { { "x", "" }, { "name", "Ann" } };

	(void)state;
	expect_render("a{{?x}}[{{name}}]{{/x}}b", NULL, set, 2, "a[Ann]b");
	expect_render("a{{?x}}[{{name}}]{{/x}}b", NULL, empty, 2, "ab");
	expect_render("a{{?x}}[{{name}}]{{/x}}b", NULL, NULL, 0, "ab");
	/* A dropped section drops its translations and raw variables too. */
	expect_render("{{?x}}{{_ Hello}}{{{name}}}{{/x}}.", NULL, empty, 2, ".");
}

static void
test_nested_sections(void **state)
{
	const char *src = "<{{?a}}A{{?b}}B{{/b}}C{{/a}}{{?b}}D{{/b}}>";
	const struct tmpl_var both[] = { { "a", "1" }, { "b", "1" } };
	const struct tmpl_var only_a[] = { { "a", "1" } };
	const struct tmpl_var only_b[] = { { "b", "1" } };

	(void)state;
	expect_render(src, NULL, both, 2, "<ABCD>");
	expect_render(src, NULL, only_a, 1, "<AC>");
	expect_render(src, NULL, only_b, 1, "<D>");
	expect_render(src, NULL, NULL, 0, "<>");
	/* Eight levels deep is allowed. */
	expect_render("{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}deep"
		      "{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}",
		NULL, both, 2, "deep");
}

static void
test_unbalanced_sections_refused(void **state)
{
	const struct tmpl_var vars[] = { { "a", "1" }, { "b", "1" } };

	(void)state;
	expect_render_error("{{?a}}open", vars, 2);
	expect_render_error("{{?a}}open", NULL, 0);
	expect_render_error("close{{/a}}", vars, 2);
	expect_render_error("{{?a}}{{?b}}{{/b}}", vars, 2);
	expect_render_error("{{?a}}{{/a}}{{/a}}", vars, 2);
	/* Too deep. */
	expect_render_error("{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}{{?a}}x"
			    "{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}",
		vars, 2);
}

static void
test_mismatched_section_close_refused(void **state)
{
	const struct tmpl_var vars[] = { { "a", "1" }, { "b", "1" } };

	(void)state;
	/* {{/name}} closes {{?name}}, not whatever section is open. */
	expect_render_error("{{?a}}x{{/b}}", vars, 2);
	expect_render_error("{{?a}}{{?b}}x{{/a}}{{/b}}", vars, 2);
}

static void
test_unterminated_tags_refused(void **state)
{
	const struct tmpl_var vars[] = { { "name", "Ann" } };

	(void)state;
	expect_render_error("Hello {{name", vars, 1);
	expect_render_error("Hello {{name}", vars, 1);
	expect_render_error("Hello {{{name}}", vars, 1);
	expect_render_error("{{_ Hello", vars, 1);
	expect_render_error("{{?name}}x{{/name", vars, 1);
	expect_render_error("{{?name", vars, 1);
}

static void
test_render_respects_buffer_max(void **state)
{
	const struct tmpl_var vars[] = { { "name", "a<b" } };
	struct sl_buf out;

	(void)state;
	sl_buf_init(&out, 8);
	assert_int_equal(tmpl_render_string("0123456789", NULL, NULL, 0, &out), SL_ETOOBIG);
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render_string("xxxx{{name}}", NULL, vars, 1, &out), SL_ETOOBIG);
	assert_true(out.b_len <= 8);
	sl_buf_reset(&out);
}

/* ---- html_escape ---- */

static void
test_html_escape(void **state)
{
	struct sl_buf out;

	(void)state;
	sl_buf_init(&out, 1024);
	assert_int_equal(html_escape(&out, "<script>alert('x&y')</script>\"\xc3\xa9"), SL_OK);
	assert_string_equal(sl_buf_str(&out), "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;\xc3\xa9");
	sl_buf_reset(&out);
}

/* ---- template sets ---- */

static void
test_template_set_load_and_render(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	const struct tmpl_var vars[] = { { "name", "<Ann>" }, { "x", "1" } };
	char *tdir = tu_path(fx->fx_dir, "templates"), *p;
	struct tmpl_set *set;
	struct sl_buf out;

	assert_int_equal(mkdir(tdir, 0700), 0);
	p = tu_path(tdir, "page.html");
	assert_int_equal(tu_write_text(p, "<p>{{_ Hello}} {{name}}</p>\n"), 0);
	free(p);
	p = tu_path(tdir, "other.html");
	assert_int_equal(tu_write_text(p, "{{?x}}X{{/x}}{{?y}}Y{{/y}}"), 0);
	free(p);
	p = tu_path(tdir, "notes.txt");
	assert_int_equal(tu_write_text(p, "not a template"), 0);
	free(p);

	set = tmpl_set_load(tdir, &err);
	if (set == NULL)
		fail_msg("tmpl_set_load: %s", err.msg);
	sl_buf_init(&out, 4096);
	assert_int_equal(tmpl_render(set, "page", fx->fx_cat, vars, 2, &out), SL_OK);
	assert_string_equal(sl_buf_str(&out), "<p>Hallo &lt;Ann&gt;</p>\n");
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render(set, "other", NULL, vars, 2, &out), SL_OK);
	assert_string_equal(sl_buf_str(&out), "X");
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render(set, "notes", NULL, vars, 2, &out), SL_ENOTFOUND);
	assert_int_equal(tmpl_render(set, "page.html", NULL, vars, 2, &out), SL_ENOTFOUND);
	assert_int_equal(tmpl_render(set, "missing", NULL, vars, 2, &out), SL_ENOTFOUND);
	assert_int_equal(tmpl_render(set, "", NULL, vars, 2, &out), SL_ENOTFOUND);
	sl_buf_reset(&out);
	tmpl_set_free(set);
	tmpl_set_free(NULL);
	free(tdir);
}

/* {{> name}}: a partial sees the same variables; an unknown partial, one
 * that includes itself, and a partial in a bare string are errors. */
static void
test_template_partials(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	const struct tmpl_var vars[] = { { "name", "<Ann>" }, { "x", "1" } };
	static const char *const files[][2] = {
		{ "page.html", "<main>{{> _part }}|{{?x}}{{>_part}}{{/x}}</main>" },
		{ "_part.html", "[{{name}}{{?y}}never{{/y}}]" },
		{ "loop.html", "a{{> loop}}" },
		{ "missing.html", "{{> nothing}}" },
	};
	char *tdir = tu_path(fx->fx_dir, "partials"), *p;
	struct tmpl_set *set;
	struct sl_buf out;

	assert_int_equal(mkdir(tdir, 0700), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = tu_path(tdir, files[i][0]);
		assert_int_equal(tu_write_text(p, files[i][1]), 0);
		free(p);
	}
	set = tmpl_set_load(tdir, &err);
	if (set == NULL)
		fail_msg("tmpl_set_load: %s", err.msg);
	sl_buf_init(&out, 4096);
	assert_int_equal(tmpl_render(set, "page", NULL, vars, 2, &out), SL_OK);
	assert_string_equal(sl_buf_str(&out), "<main>[&lt;Ann&gt;]|[&lt;Ann&gt;]</main>");
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render(set, "loop", NULL, vars, 2, &out), SL_EINVAL);
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render(set, "missing", NULL, vars, 2, &out), SL_EINVAL);
	sl_buf_reset(&out);
	assert_int_equal(tmpl_render_string("{{> _part}}", NULL, vars, 2, &out), SL_EINVAL);
	sl_buf_reset(&out);
	tmpl_set_free(set);
	free(tdir);
}

static void
test_template_set_missing_dir_refused(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	char *tdir = tu_path(fx->fx_dir, "no-such-dir");

	assert_null(tmpl_set_load(tdir, &err));
	assert_non_null(strstr(err.msg, tdir));
	free(tdir);
}

/* The portal's own templates load and render without variables. */
static void
test_shipped_templates_render(void **state)
{
	struct sl_err err = { 0 };
	struct tmpl_set *set;
	struct dirent *de;
	int rendered = 0;
	DIR *d;

	(void)state;
	set = tmpl_set_load(SL_TEST_SRCDIR "/data/templates", &err);
	if (set == NULL)
		fail_msg("shipped templates: %s", err.msg);
	d = opendir(SL_TEST_SRCDIR "/data/templates");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		struct sl_buf out;
		char name[256];
		int rc;

		if (n < 6 || strcmp(de->d_name + n - 5, ".html") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		sl_buf_init(&out, 1 << 20);
		rc = tmpl_render(set, name, NULL, NULL, 0, &out);
		sl_buf_reset(&out);
		if (rc != SL_OK)
			fail_msg("template %s does not render: %d", name, rc);
		rendered++;
	}
	closedir(d);
	assert_true(rendered > 0);
	tmpl_set_free(set);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_catalog_lookup),
		cmocka_unit_test(test_null_catalog_returns_msgid),
		T(test_catalog_big_endian),
		T(test_catalog_many_entries),
		T(test_catalog_parse_from_memory),
		T(test_broken_catalogs_refused),
		T(test_catalog_offsets_out_of_file_refused),
		T(test_ngettext_french_and_dutch),
		T(test_template_plural_tag),
		cmocka_unit_test(test_plural_rules),
		T(test_catalog_bad_plural_rule_refused),
		cmocka_unit_test(test_variable_is_escaped),
		cmocka_unit_test(test_triple_braces_are_raw),
		cmocka_unit_test(test_missing_variable_renders_nothing),
		T(test_translation_is_escaped),
		T(test_translation_with_argument),
		cmocka_unit_test(test_section_kept_when_set),
		cmocka_unit_test(test_nested_sections),
		cmocka_unit_test(test_unbalanced_sections_refused),
		cmocka_unit_test(test_mismatched_section_close_refused),
		cmocka_unit_test(test_unterminated_tags_refused),
		cmocka_unit_test(test_render_respects_buffer_max),
		cmocka_unit_test(test_html_escape),
		T(test_template_set_load_and_render),
		T(test_template_partials),
		T(test_template_set_missing_dir_refused),
		cmocka_unit_test(test_shipped_templates_render),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
