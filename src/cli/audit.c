/*
 * audit.c — `sleutel audit export`: the append-only audit trail, streamed
 * for an archive or a SIEM.  Rows come in seq order, AUDIT_PAGE at a time
 * (store_audit_each), so an export of millions of rows holds one page in
 * memory and no transaction open between pages; sleuteld goes on writing
 * meanwhile, and rows committed after the export passed their place are
 * left for the next run (--after SEQ resumes where the last one ended).
 *
 * Formats: jsonl, one JSON object a line (the default), and csv (RFC 4180,
 * a header line, CRLF).  Texts in the trail can come from outside (a
 * device name, an address), so CSV fields are quoted and a field that a
 * spreadsheet would take for a formula (= + - @ at its start) gets a
 * leading apostrophe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

#define AUDIT_PAGE 1000 /* rows read per query */

enum audit_format { AF_JSONL, AF_CSV };

struct export_ctx {
	enum audit_format ex_format;
	int64_t ex_last; /* highest seq written */
	int ex_n; /* rows in this page */
	int64_t ex_rows;
};

static void
audit_usage(void)
{
	printf("usage: sleutel [--config FILE] audit export [--since T] [--until T] [--after SEQ]\n"
	       "                                           [--format jsonl|csv]\n"
	       "\nWrites the audit trail, oldest first, to stdout: the rows with since <= time < until\n"
	       "(T: 2026-05-01, 2026-05-01T09:30:00Z or Unix seconds; UTC) and seq > SEQ.  jsonl (the\n"
	       "default) is one JSON object a line; csv has a header line.  Fields: seq, time, event, result,\n"
	       "person_id, client_id, key, ip, detail.\n");
}

/* "2026-05-01", "2026-05-01T09:30:00Z" or Unix seconds: a UTC time. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	char *nend = NULL;
	long long n;

	if (strspn(s, "0123456789") == strlen(s) && *s != '\0') {
		n = strtoll(s, &nend, 10);
		if (*nend != '\0' || n <= 0)
			return SL_EINVAL;
		*out = n;
		return SL_OK;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == 'T')
		end = strptime(end + 1, "%H:%M:%S", &tm);
	if (end == NULL || !(*end == '\0' || (end[0] == 'Z' && end[1] == '\0')) || tm.tm_year < 70)
		return SL_EINVAL;
	*out = (int64_t)timegm(&tm);
	return *out > 0 ? SL_OK : SL_EINVAL;
}

static void
csv_field(const char *v, bool last)
{
	if (v != NULL) {
		putchar('"');
		if (v[0] != '\0' && strchr("=+-@", v[0]) != NULL)
			putchar('\'');
		for (const char *p = v; *p != '\0'; p++) {
			if (*p == '"')
				putchar('"');
			putchar(*p);
		}
		putchar('"');
	}
	fputs(last ? "\r\n" : ",", stdout);
}

static int
export_row(const struct store_audit_entry *e, void *arg)
{
	struct export_ctx *ex = arg;
	char t[CLI_TIME_LEN], seq[24];

	cli_time(e->ae_time, t);
	if (ex->ex_format == AF_JSONL) {
		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?}", "seq", (json_int_t)e->ae_seq,
			"time", t, "event", e->ae_event, "result", e->ae_result, "person_id", e->ae_person_id,
			"client_id", e->ae_client_id, "key", e->ae_key, "ip", e->ae_ip, "detail", e->ae_detail);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (s == NULL)
			return SL_ENOMEM; /* or a text that is not UTF-8 */
		puts(s);
		free(s);
	} else {
		snprintf(seq, sizeof(seq), "%lld", (long long)e->ae_seq);
		fputs(seq, stdout);
		putchar(',');
		csv_field(t, false);
		csv_field(e->ae_event, false);
		csv_field(e->ae_result, false);
		csv_field(e->ae_person_id, false);
		csv_field(e->ae_client_id, false);
		csv_field(e->ae_key, false);
		csv_field(e->ae_ip, false);
		csv_field(e->ae_detail, true);
	}
	ex->ex_last = e->ae_seq;
	ex->ex_n++;
	ex->ex_rows++;
	return SL_OK;
}

struct export_args {
	int64_t ea_since, ea_until, ea_after;
	enum audit_format ea_format;
};

/* A usage error of audit export: the message, then exit status 2. */
static int
export_bad(const char *what)
{
	cli_error("audit export: %s (see sleutel audit --help)", what);
	return CLI_USAGE;
}

static int
export_parse(int argc, char **argv, struct export_args *ea)
{
	memset(ea, 0, sizeof(*ea));
	/* Every option takes a value. */
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--since") == 0 || strcmp(argv[i], "--until") == 0) {
			int64_t *t = argv[i][2] == 's' ? &ea->ea_since : &ea->ea_until;
			if (v == NULL || parse_time(v, t) != SL_OK)
				return export_bad("--since and --until take 2026-05-01, 2026-05-01T09:30:00Z or Unix "
						  "seconds");
		} else if (strcmp(argv[i], "--after") == 0) {
			char *end = NULL;
			long long n = v ? strtoll(v, &end, 10) : -1;
			if (end == NULL || end == v || *end != '\0' || n < 0)
				return export_bad("--after needs a sequence number (0 or more)");
			ea->ea_after = n;
		} else if (strcmp(argv[i], "--format") == 0) {
			if (v != NULL && strcmp(v, "jsonl") == 0)
				ea->ea_format = AF_JSONL;
			else if (v != NULL && strcmp(v, "csv") == 0)
				ea->ea_format = AF_CSV;
			else
				return export_bad("--format is jsonl or csv");
		} else {
			cli_error("audit export: unknown option %s (see sleutel audit --help)", argv[i]);
			return CLI_USAGE;
		}
	}
	if (ea->ea_until != 0 && ea->ea_until <= ea->ea_since)
		return export_bad("--until must be after --since");
	return CLI_OK;
}

static int
audit_export(struct cli_ctx *cc, const struct export_args *ea)
{
	struct export_ctx ex = { .ex_format = ea->ea_format, .ex_last = ea->ea_after };
	int rc;

	if (ex.ex_format == AF_CSV)
		fputs("seq,time,event,result,person_id,client_id,key,ip,detail\r\n", stdout);
	do {
		ex.ex_n = 0;
		rc = store_audit_each(
			cc->cc_store, ex.ex_last, ea->ea_since, ea->ea_until, AUDIT_PAGE, export_row, &ex);
	} while (rc == SL_OK && ex.ex_n == AUDIT_PAGE);
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_error("audit export: cannot write the output");
	if (rc != SL_OK)
		return cli_error("audit export: cannot read the audit trail after seq %lld: %s", (long long)ex.ex_last,
			sl_strerror(rc));
	fprintf(stderr, "sleutel: %lld audit rows, last seq %lld\n", (long long)ex.ex_rows, (long long)ex.ex_last);
	return CLI_OK;
}

int
cli_audit_cmd(const char *config, int argc, char **argv)
{
	struct export_args ea;
	struct cli_ctx cc;
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		audit_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[0], "export") != 0) {
		cli_error("audit: unknown command %s (see sleutel audit --help)", argv[0]);
		return CLI_USAGE;
	}
	rc = export_parse(argc, argv, &ea);
	if (rc != CLI_OK)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	rc = audit_export(&cc, &ea);
	cli_close(&cc);
	return rc;
}
