/*
 * plural.c — the plural rule of a catalog's "Plural-Forms" header (GNU
 * gettext manual, "Plural forms"): which of a message's forms goes with a
 * number, e.g. "plural=(n > 1);" for French, "plural=(n != 1);" for Dutch,
 * German and English.
 *
 * The rule is a C expression over n: numbers, n, ! * / % + - < <= > >= ==
 * != && || ?: and parentheses.  It is read with a recursive descent at
 * each use (the rules are a few dozen bytes), with a bound on nesting, and
 * a rule that does not parse, or divides by zero, is an error: the caller
 * then refuses the catalog at load, or falls back to the English rule.
 */
#include <ctype.h>
#include <string.h>

#include "i18n_int.h"

#define PLURAL_DEPTH_MAX 32

struct plural_parser {
	const char *pp_s;
	unsigned long pp_n;
	int pp_depth;
	bool pp_bad;
};

static unsigned long ternary(struct plural_parser *pp);

static void
skip_space(struct plural_parser *pp)
{
	while (*pp->pp_s == ' ' || *pp->pp_s == '\t' || *pp->pp_s == '\n')
		pp->pp_s++;
}

/* Take `op` when it comes next (not the start of a longer operator). */
static bool
take(struct plural_parser *pp, const char *op)
{
	size_t len = strlen(op);

	skip_space(pp);
	if (strncmp(pp->pp_s, op, len) != 0)
		return false;
	if (len == 1 && (op[0] == '<' || op[0] == '>' || op[0] == '!') && pp->pp_s[1] == '=')
		return false;
	pp->pp_s += len;
	return true;
}

static unsigned long
primary(struct plural_parser *pp)
{
	unsigned long v = 0;

	skip_space(pp);
	if (++pp->pp_depth > PLURAL_DEPTH_MAX) {
		pp->pp_bad = true;
		return 0;
	}
	if (take(pp, "!")) {
		v = !primary(pp);
	} else if (take(pp, "(")) {
		v = ternary(pp);
		if (!take(pp, ")"))
			pp->pp_bad = true;
	} else if (*pp->pp_s == 'n') {
		pp->pp_s++;
		v = pp->pp_n;
	} else if (isdigit((unsigned char)*pp->pp_s)) {
		while (isdigit((unsigned char)*pp->pp_s) && v < 1000000)
			v = v * 10 + (unsigned long)(*pp->pp_s++ - '0');
		if (isdigit((unsigned char)*pp->pp_s))
			pp->pp_bad = true;
	} else {
		pp->pp_bad = true;
	}
	pp->pp_depth--;
	return v;
}

static unsigned long
product(struct plural_parser *pp)
{
	unsigned long v = primary(pp);

	for (;;) {
		char op = take(pp, "*") ? '*' : take(pp, "/") ? '/' : take(pp, "%") ? '%' : 0;
		unsigned long r;
		if (op == 0)
			return v;
		r = primary(pp);
		if (op != '*' && r == 0) {
			pp->pp_bad = true;
			return 0;
		}
		v = op == '*' ? v * r : op == '/' ? v / r : v % r;
	}
}

static unsigned long
sum(struct plural_parser *pp)
{
	unsigned long v = product(pp);

	for (;;) {
		if (take(pp, "+"))
			v += product(pp);
		else if (take(pp, "-"))
			v -= product(pp);
		else
			return v;
	}
}

static unsigned long
relation(struct plural_parser *pp)
{
	unsigned long v = sum(pp);

	for (;;) {
		if (take(pp, "<="))
			v = v <= sum(pp);
		else if (take(pp, ">="))
			v = v >= sum(pp);
		else if (take(pp, "<"))
			v = v < sum(pp);
		else if (take(pp, ">"))
			v = v > sum(pp);
		else
			return v;
	}
}

static unsigned long
equality(struct plural_parser *pp)
{
	unsigned long v = relation(pp);

	for (;;) {
		if (take(pp, "=="))
			v = v == relation(pp);
		else if (take(pp, "!="))
			v = v != relation(pp);
		else
			return v;
	}
}

/* && and || read both sides (the parse must go on); no side effects. */
static unsigned long
conjunction(struct plural_parser *pp)
{
	unsigned long v = equality(pp);

	while (take(pp, "&&")) {
		unsigned long r = equality(pp);
		v = v && r;
	}
	return v;
}

static unsigned long
disjunction(struct plural_parser *pp)
{
	unsigned long v = conjunction(pp);

	while (take(pp, "||")) {
		unsigned long r = conjunction(pp);
		v = v || r;
	}
	return v;
}

static unsigned long
ternary(struct plural_parser *pp)
{
	unsigned long c = disjunction(pp), a, b;

	if (!take(pp, "?"))
		return c;
	if (++pp->pp_depth > PLURAL_DEPTH_MAX) {
		pp->pp_bad = true;
		return 0;
	}
	a = ternary(pp);
	if (!take(pp, ":"))
		pp->pp_bad = true;
	b = ternary(pp);
	pp->pp_depth--;
	return c ? a : b;
}

int
i18n_plural_eval(const char *rule, size_t len, unsigned long n, unsigned long *form)
{
	char buf[I18N_PLURAL_RULE_MAX + 1];
	struct plural_parser pp = { buf, n, 0, false };
	unsigned long v;

	if (rule == NULL || len == 0 || len > I18N_PLURAL_RULE_MAX)
		return SL_EINVAL;
	memcpy(buf, rule, len);
	buf[len] = '\0';
	v = ternary(&pp);
	skip_space(&pp);
	if (pp.pp_bad || *pp.pp_s != '\0')
		return SL_EINVAL;
	*form = v;
	return SL_OK;
}

int
i18n_plural_header(const char *header, const char **rule, size_t *len, unsigned long *nplurals)
{
	const char *line = header ? strstr(header, "Plural-Forms:") : NULL;
	const char *np, *pl, *end, *semi;
	unsigned long count = 0;

	if (line == NULL)
		return SL_ENOTFOUND;
	end = strchr(line, '\n');
	if (end == NULL)
		end = line + strlen(line);
	np = strstr(line, "nplurals=");
	pl = strstr(line, "plural=");
	if (np == NULL || pl == NULL || np > end || pl > end)
		return SL_EINVAL;
	for (np += strlen("nplurals="); isdigit((unsigned char)*np) && count < 100; np++)
		count = count * 10 + (unsigned long)(*np - '0');
	if (count < 1 || count > 6)
		return SL_EINVAL;
	pl += strlen("plural=");
	semi = memchr(pl, ';', (size_t)(end - pl));
	*rule = pl;
	*len = (size_t)((semi ? semi : end) - pl);
	*nplurals = count;
	return SL_OK;
}
