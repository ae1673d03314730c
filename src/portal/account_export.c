/*
 * account_export.c — GET /account/export?format=json|csv: the person's own
 * audit trail (logins, device and consent events, as the audit holds
 * them: time, event, result, site, key, address, detail) as a download.
 *
 * Only the logged-in person's rows: the person id comes from the SSO
 * session, never from the request.  A GET of one's own data needs no CSRF
 * token: another site can make the browser download it, but cannot read
 * it (the response is not CORS-readable and goes to the person's disk).
 * Bounded: at most ACCOUNT_EXPORT_MAX records, newest first, read in pages
 * so that no store connection is held long; a longer trail is cut and the
 * file says so.  CSV cells are quoted, and a cell that a spreadsheet would
 * run as a formula (starting with = + - @, a tab or a carriage return) is
 * prefixed with an apostrophe (OWASP "CSV injection").
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account_int.h"
#include "../oidc/oidc_int.h"

#define EXPORT_PAGE 500 /* audit rows read per store call */
#define EXPORT_MAX_BYTES (16u << 20) /* of a CSV: ACCOUNT_EXPORT_MAX rows of about 3 KiB; cut past it */
#define EXPORT_CSV_NOTE ((size_t)64) /* bytes of the closing note */

struct export_ctx {
	bool ex_csv;
	struct sl_buf ex_out;
	json_t *ex_records;
	int ex_n; /* records written */
	int64_t ex_last_seq; /* the oldest seq seen: the next page is below it */
	bool ex_more; /* a row past ACCOUNT_EXPORT_MAX exists */
	int ex_rc;
};

static void
iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One CSV cell: quoted, quotes doubled, a formula defused. */
static void
csv_cell(struct sl_buf *b, const char *v, bool last)
{
	sl_buf_adds(b, "\"");
	if (v != NULL && v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL)
		sl_buf_adds(b, "'");
	for (const char *p = v ? v : ""; *p != '\0'; p++) {
		if (*p == '"')
			sl_buf_adds(b, "\"\"");
		else
			sl_buf_add(b, p, 1);
	}
	sl_buf_adds(b, last ? "\"\r\n" : "\",");
}

static int
export_row(const struct store_audit_entry *e, void *arg)
{
	struct export_ctx *ex = arg;
	char when[32];

	ex->ex_last_seq = e->ae_seq;
	if (ex->ex_more)
		return SL_OK; /* cut already: the page's other rows are not wanted */
	if (ex->ex_n == ACCOUNT_EXPORT_MAX) {
		ex->ex_more = true;
		return SL_OK;
	}
	iso_time(e->ae_time, when);
	if (ex->ex_csv) {
		const char *cells[] = { when, e->ae_event, e->ae_result, e->ae_client_id, e->ae_key, e->ae_ip,
			e->ae_detail };
		size_t n = sizeof(cells) / sizeof(cells[0]), worst = 2 * EXPORT_CSV_NOTE; /* room for the note */

		for (size_t i = 0; i < n; i++) /* every character a quote, and the quotes, ' and , */
			worst += 2 * (cells[i] ? strlen(cells[i]) : 0) + 4;
		if (ex->ex_out.b_len + worst > EXPORT_MAX_BYTES) {
			ex->ex_more = true; /* cut here, with the note, rather than half a row */
			return SL_OK;
		}
		for (size_t i = 0; i < n; i++)
			csv_cell(&ex->ex_out, cells[i], i + 1 == n);
	} else {
		json_t *o = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}", "time", when, "event", e->ae_event,
			"result", e->ae_result, "site", e->ae_client_id, "key", e->ae_key, "ip", e->ae_ip, "detail",
			e->ae_detail);
		if (o == NULL || json_array_append_new(ex->ex_records, o) != 0)
			return SL_ENOMEM;
	}
	ex->ex_n++;
	return SL_OK;
}

/* Read the trail page by page until it ends or the bound is passed. */
static int
export_read(struct server *srv, const char *person_id, struct export_ctx *ex)
{
	for (;;) {
		int before = ex->ex_n, rc;
		int64_t from = ex->ex_last_seq;
		int want = ACCOUNT_EXPORT_MAX - ex->ex_n + 1; /* one more: is there a rest? */

		rc = store_audit_each_person_all(
			srv->sv_store, person_id, from, want < EXPORT_PAGE ? want : EXPORT_PAGE, export_row, ex);
		if (rc != SL_OK)
			return rc;
		if (ex->ex_more || ex->ex_n == before || ex->ex_last_seq == from)
			return SL_OK;
	}
}

static void
export_send(struct http_request *rq, struct export_ctx *ex, const char *now)
{
	char disp[96], max[16];

	snprintf(max, sizeof(max), "%d", ACCOUNT_EXPORT_MAX);
	snprintf(disp, sizeof(disp), "attachment; filename=\"sleutel-history-%.10s.%s\"", now,
		ex->ex_csv ? "csv" : "json");
	http_add_header(rq, "Content-Disposition", disp);
	if (ex->ex_csv) {
		if (ex->ex_more)
			sl_buf_addf(
				&ex->ex_out, "\"# cut: only the newest %d records are in this file\"\r\n", ex->ex_n);
		http_send_text(rq, 200, "text/csv; charset=utf-8", sl_buf_str(&ex->ex_out));
		return;
	}
	http_send_json(rq, 200,
		json_pack("{s:s,s:i,s:b,s:s?,s:O}", "exported", now, "max", ACCOUNT_EXPORT_MAX, "truncated",
			ex->ex_more, "note",
			ex->ex_more ? "cut: only the newest records are in this file (see max)" : NULL, "records",
			ex->ex_records));
}

/* GET /account/export?format=json|csv */
void
account_export(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	const char *format = http_param(rq, "format");
	int lang = portal_lang(srv, rq, NULL);
	struct export_ctx ex = { 0 };
	char now[32];

	if (session_current(srv, rq, &ses) != SL_OK) {
		portal_error(srv, rq, 401, lang, N_("You are not logged in"),
			N_("Open your account page and log in again."));
		return;
	}
	if (format == NULL || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)) {
		portal_error(srv, rq, 400, lang, N_("This download does not exist"),
			N_("Open your account page and try again."));
		store_session_clear(&ses);
		return;
	}
	ex.ex_csv = strcmp(format, "csv") == 0;
	sl_buf_init(&ex.ex_out, EXPORT_MAX_BYTES);
	ex.ex_records = json_array();
	if (ex.ex_csv)
		sl_buf_adds(&ex.ex_out, "\"time\",\"event\",\"result\",\"site\",\"key\",\"ip\",\"detail\"\r\n");
	iso_time(sl_now(), now);
	ex.ex_rc = ex.ex_records ? export_read(srv, ses.s_person_id, &ex) : SL_ENOMEM;
	if (ex.ex_rc != SL_OK) {
		log_error("cannot read the history export: %s", sl_strerror(ex.ex_rc));
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		export_send(rq, &ex, now);
	}
	json_decref(ex.ex_records);
	sl_buf_reset(&ex.ex_out);
	store_session_clear(&ses);
}
