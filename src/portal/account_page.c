/*
 * account_page.c — the citizen's page itself: name, app accounts with
 * their devices, Smart-ID devices, the sites the person shares data with,
 * and the login history from the audit trail.  Repeated
 * parts (an account, a device, a login) are rendered from a small
 * template each and handed to account.html as raw HTML, as the key
 * buttons are on the key choice.
 *
 * Times are shown in UTC with the zone written out: the server does not
 * know the person's time zone, and a page without JavaScript cannot ask.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account_int.h"
#include "../oidc/oidc.h"

#define ACCOUNT_MAX_PART (128u << 10) /* bytes of the accounts or history HTML */
#define ACCOUNT_TIME_LEN 32

struct page_ctx {
	struct server *pc_srv;
	const struct i18n_catalog *pc_cat;
	int pc_lang;
	const char *pc_person_id;
	const char *pc_csrf;
	struct sl_buf pc_out; /* the HTML of the repeated parts */
	int pc_n; /* parts rendered */
	int pc_shown; /* devices shown in the current account */
	bool pc_sid_blocked; /* the Smart-ID account is blocked by the operator */
};

/* A row's times as template variables: created, used, never (and the
 * machine-readable twins); t[] holds the text. */
struct row_times {
	char rt_created[ACCOUNT_TIME_LEN], rt_created_iso[ACCOUNT_TIME_LEN];
	char rt_used[ACCOUNT_TIME_LEN], rt_used_iso[ACCOUNT_TIME_LEN];
};

/* "2026-05-01 09:30 UTC" and its machine-readable twin. */
static void
fmt_time(int64_t t, char human[ACCOUNT_TIME_LEN], char iso[ACCOUNT_TIME_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	human[0] = iso[0] = '\0';
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return;
	strftime(human, ACCOUNT_TIME_LEN, "%Y-%m-%d %H:%M UTC", &tm);
	strftime(iso, ACCOUNT_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
row_times(struct row_times *rt, int64_t created, int64_t last_used)
{
	fmt_time(created, rt->rt_created, rt->rt_created_iso);
	fmt_time(last_used, rt->rt_used, rt->rt_used_iso);
}

static const char *
device_status(const char *status)
{
	if (strcmp(status, "active") == 0)
		return N_("In use");
	if (strcmp(status, "blocked") == 0)
		return N_("Blocked by the operator");
	return N_("Removed");
}

static int
device_row(const struct store_device *d, void *arg)
{
	struct page_ctx *pc = arg;
	struct row_times rt;
	const char *name = sl_str_empty(d->dv_name) ? "-" : d->dv_name;

	if (strcmp(d->dv_status, "removed") == 0)
		return SL_OK; /* gone for good: nothing the person can do with it */
	row_times(&rt, d->dv_created, d->dv_last_used);
	{
		struct tmpl_var v[11] = { { "id", d->dv_id }, { "name", name }, { "created", rt.rt_created },
			{ "created_iso", rt.rt_created_iso }, { "used", rt.rt_used }, { "used_iso", rt.rt_used_iso },
			{ "never", d->dv_last_used > 0 ? "" : "1" },
			{ "status", i18n_gettext(pc->pc_cat, device_status(d->dv_status)) }, { "csrf", pc->pc_csrf },
			{ "langcode", config_languages[pc->pc_lang] },
			{ "active", strcmp(d->dv_status, "active") == 0 ? "1" : "" } };
		pc->pc_shown++;
		return tmpl_render(pc->pc_srv->sv_templates, "account_device", pc->pc_cat, v, 11, &pc->pc_out);
	}
}

/* What the page shows of one app account, copied out of the store's
 * iteration: a store_*_each callback must not call the store itself (it
 * holds a connection of the pool). */
struct phone {
	char ph_id[64];
	char ph_number[32];
	bool ph_blocked;
	int64_t ph_locked_until;
};

struct phones {
	struct phone ps_items[ACCOUNT_MAX_PHONES];
	size_t ps_n;
};

static int
phone_take(const struct store_account *a, void *arg)
{
	struct phones *ps = arg;
	struct phone *ph = &ps->ps_items[ps->ps_n];

	if (ps->ps_n == ACCOUNT_MAX_PHONES)
		return SL_OK;
	sl_strlcpy(ph->ph_id, a->ac_id, sizeof(ph->ph_id));
	sl_strlcpy(ph->ph_number, a->ac_phone, sizeof(ph->ph_number));
	ph->ph_blocked = strcmp(a->ac_status, "blocked") == 0;
	ph->ph_locked_until = a->ac_locked_until;
	ps->ps_n++;
	return SL_OK;
}

/* One app account of the person with its devices. */
static int
account_part(struct page_ctx *pc, const struct phone *ph)
{
	struct page_ctx rows = *pc;
	char locked[ACCOUNT_TIME_LEN], iso[ACCOUNT_TIME_LEN], num[16];
	bool forever = ph->ph_locked_until == STORE_LOCKED_FOREVER;
	int rc;

	locked[0] = '\0';
	if (!forever && ph->ph_locked_until > sl_now())
		fmt_time(ph->ph_locked_until, locked, iso);
	sl_buf_init(&rows.pc_out, ACCOUNT_MAX_PART);
	rows.pc_shown = 0;
	rc = store_device_each(pc->pc_srv->sv_store, ph->ph_id, device_row, &rows);
	snprintf(num, sizeof(num), "%d", pc->pc_n++);
	if (rc == SL_OK) {
		struct tmpl_var v[7] = { { "n", num }, { "phone", ph->ph_number },
			{ "blocked", ph->ph_blocked ? "1" : "" }, { "locked", locked },
			{ "forever", forever ? "1" : "" }, { "devices", sl_buf_str(&rows.pc_out) },
			{ "nodevices", rows.pc_shown == 0 ? "1" : "" } };
		rc = tmpl_render(pc->pc_srv->sv_templates, "account_phone", pc->pc_cat, v, 7, &pc->pc_out);
	}
	sl_buf_reset(&rows.pc_out);
	return rc;
}

static int
accounts_html(struct page_ctx *pc)
{
	struct phones *ps = calloc(1, sizeof(*ps));
	int rc;

	if (ps == NULL)
		return SL_ENOMEM;
	rc = store_account_each_person(pc->pc_srv->sv_store, pc->pc_person_id, phone_take, ps);
	for (size_t i = 0; rc == SL_OK && i < ps->ps_n; i++)
		rc = account_part(pc, &ps->ps_items[i]);
	free(ps);
	return rc;
}

/* ---- Smart-ID ---- */

static const char *
sid_device_status(const struct store_sid_device *d)
{
	if (strcmp(d->sd_status, "active") == 0)
		return N_("In use");
	if (d->sd_reason != NULL && strcmp(d->sd_reason, "clone") == 0)
		return N_("Revoked: a copy of this device was detected");
	return N_("Revoked by the helpdesk");
}

/* One Smart-ID device; a removed one is not shown (the person removed
 * it: nothing more to do with it), a revoked one is, with why. */
static int
sid_device_row(const struct store_sid_device *d, void *arg)
{
	struct page_ctx *pc = arg;
	struct row_times rt;
	const char *name = sl_str_empty(d->sd_name) ? "-" : d->sd_name;

	if (strcmp(d->sd_status, "removed") == 0)
		return SL_OK;
	row_times(&rt, d->sd_created, d->sd_last_used);
	{
		struct tmpl_var v[12] = { { "id", d->sd_id }, { "name", name }, { "document", d->sd_document },
			{ "created", rt.rt_created }, { "created_iso", rt.rt_created_iso }, { "used", rt.rt_used },
			{ "used_iso", rt.rt_used_iso }, { "never", d->sd_last_used > 0 ? "" : "1" },
			{ "status", i18n_gettext(pc->pc_cat, sid_device_status(d)) },
			{ "active", strcmp(d->sd_status, "active") == 0 ? "1" : "" }, { "csrf", pc->pc_csrf },
			{ "langcode", config_languages[pc->pc_lang] } };
		pc->pc_n++;
		return tmpl_render(pc->pc_srv->sv_templates, "account_smartid", pc->pc_cat, v, 12, &pc->pc_out);
	}
}

/* The rows of the person's Smart-ID devices (none without an account). */
static int
smartid_html(struct page_ctx *pc)
{
	struct store_sid_account a;
	int rc = store_sid_account_by_person(pc->pc_srv->sv_store, pc->pc_person_id, &a);

	if (rc == SL_ENOTFOUND)
		return SL_OK;
	if (rc == SL_OK) {
		pc->pc_sid_blocked = strcmp(a.sa_status, "blocked") == 0;
		rc = store_sid_device_each(pc->pc_srv->sv_store, a.sa_id, sid_device_row, pc);
	}
	store_sid_account_clear(&a);
	return rc;
}

static const char *
key_label(const char *key)
{
	if (key == NULL || key[0] == '\0')
		return "-";
	if (strcmp(key, "eid") == 0)
		return N_("eID card reader");
	if (strcmp(key, "app") == 0)
		return N_("sleutel app");
	if (strcmp(key, "smartid") == 0)
		return N_("Smart-ID");
	if (strcmp(key, "test") == 0)
		return N_("Test key");
	return key;
}

/* One login, copied out of the audit iteration (see struct phone). */
struct login {
	int64_t lg_seq;
	bool lg_device; /* confirmed by a device the page can name ("This was not me") */
	int64_t lg_time;
	bool lg_ok;
	char lg_reason[64];
	char lg_client[64];
	char lg_key[16];
	char lg_ip[64];
};

struct logins {
	struct login lgs_items[ACCOUNT_HISTORY_MAX];
	size_t lgs_n;
};

static int
login_take(const struct store_audit_entry *r, void *arg)
{
	struct logins *ls = arg;
	struct login *lg = &ls->lgs_items[ls->lgs_n];

	if (ls->lgs_n == ACCOUNT_HISTORY_MAX)
		return SL_OK;
	lg->lg_seq = r->ae_seq;
	/* A device's confirmation names its request (the device that answered
	 * it); the login row of the portal names none. */
	lg->lg_device = r->ae_key != NULL && !sl_str_empty(r->ae_detail) &&
			(strcmp(r->ae_key, "app") == 0 || strcmp(r->ae_key, "smartid") == 0);
	lg->lg_time = r->ae_time;
	lg->lg_ok = r->ae_result != NULL && strcmp(r->ae_result, "ok") == 0;
	sl_strlcpy(lg->lg_reason, lg->lg_ok || r->ae_result == NULL ? "" : r->ae_result, sizeof(lg->lg_reason));
	sl_strlcpy(lg->lg_client, r->ae_client_id ? r->ae_client_id : "", sizeof(lg->lg_client));
	sl_strlcpy(lg->lg_key, r->ae_key ? r->ae_key : "", sizeof(lg->lg_key));
	sl_strlcpy(lg->lg_ip, r->ae_ip ? r->ae_ip : "-", sizeof(lg->lg_ip));
	ls->lgs_n++;
	return SL_OK;
}

static int
history_row(struct page_ctx *pc, const struct login *lg)
{
	struct store_client c;
	char when[ACCOUNT_TIME_LEN], iso[ACCOUNT_TIME_LEN], entry[24] = "";
	bool have_client =
		lg->lg_client[0] != '\0' && store_client_get(pc->pc_srv->sv_store, lg->lg_client, &c) == SL_OK;
	int rc;

	fmt_time(lg->lg_time, when, iso);
	if (lg->lg_device)
		snprintf(entry, sizeof(entry), "%lld", (long long)lg->lg_seq);
	{
		/* A removed client is named by its id: the person still sees that
		 * something logged in, and the helpdesk can find it. */
		struct tmpl_var v[10] = { { "when", when }, { "iso", iso },
			{ "site", have_client ? c.cl_name : (lg->lg_client[0] ? lg->lg_client : "-") },
			{ "key", i18n_gettext(pc->pc_cat, key_label(lg->lg_key)) }, { "ip", lg->lg_ip },
			{ "result", i18n_gettext(pc->pc_cat, lg->lg_ok ? N_("Logged in") : N_("Not logged in")) },
			{ "reason", lg->lg_reason }, { "entry", entry }, { "csrf", pc->pc_csrf },
			{ "langcode", config_languages[pc->pc_lang] } };
		rc = tmpl_render(pc->pc_srv->sv_templates, "account_history", pc->pc_cat, v, 10, &pc->pc_out);
	}
	if (have_client)
		store_client_clear(&c);
	pc->pc_n++;
	return rc;
}

static int
history_html(struct page_ctx *pc)
{
	struct logins *ls = calloc(1, sizeof(*ls));
	int rc;

	if (ls == NULL)
		return SL_ENOMEM;
	rc = store_audit_each_person(pc->pc_srv->sv_store, pc->pc_person_id, ACCOUNT_HISTORY_MAX, login_take, ls);
	for (size_t i = 0; rc == SL_OK && i < ls->lgs_n; i++)
		rc = history_row(pc, &ls->lgs_items[i]);
	free(ls);
	return rc;
}

/* One consent, copied out of the store's iteration (see struct phone). */
struct consent_row {
	char cr_client[257];
	char cr_name[404]; /* 100 characters of UTF-8 */
	char cr_scopes[128];
	int64_t cr_updated;
};

struct consent_rows {
	struct consent_row crs_items[ACCOUNT_CONSENTS_MAX];
	size_t crs_n;
};

static int
consent_take(const struct store_consent *cs, void *arg)
{
	struct consent_rows *rs = arg;
	struct consent_row *r = &rs->crs_items[rs->crs_n];

	if (rs->crs_n == ACCOUNT_CONSENTS_MAX)
		return SL_OK;
	sl_strlcpy(r->cr_client, cs->cs_client_id ? cs->cs_client_id : "", sizeof(r->cr_client));
	sl_strlcpy(r->cr_name, cs->cs_client_name ? cs->cs_client_name : "-", sizeof(r->cr_name));
	sl_strlcpy(r->cr_scopes, cs->cs_scopes ? cs->cs_scopes : "", sizeof(r->cr_scopes));
	r->cr_updated = cs->cs_updated;
	rs->crs_n++;
	return SL_OK;
}

static int
consent_part(struct page_ctx *pc, const struct consent_row *r)
{
	char when[ACCOUNT_TIME_LEN], iso[ACCOUNT_TIME_LEN];
	struct sl_buf data;
	int rc;

	fmt_time(r->cr_updated, when, iso);
	sl_buf_init(&data, 8192);
	rc = portal_consent_items(pc->pc_srv, pc->pc_cat, r->cr_scopes, &data);
	if (rc == SL_OK) {
		struct tmpl_var v[7] = { { "site", r->cr_name }, { "client", r->cr_client },
			{ "data", sl_buf_str(&data) }, { "when", when }, { "iso", iso }, { "csrf", pc->pc_csrf },
			{ "langcode", config_languages[pc->pc_lang] } };
		rc = tmpl_render(pc->pc_srv->sv_templates, "account_consent", pc->pc_cat, v, 7, &pc->pc_out);
	}
	sl_buf_reset(&data);
	pc->pc_n++;
	return rc;
}

static int
consents_html(struct page_ctx *pc)
{
	struct consent_rows *rs = calloc(1, sizeof(*rs));
	int rc;

	if (rs == NULL)
		return SL_ENOMEM;
	rc = store_consent_each(pc->pc_srv->sv_store, pc->pc_person_id, ACCOUNT_CONSENTS_MAX, consent_take, rs);
	for (size_t i = 0; rc == SL_OK && i < rs->crs_n; i++)
		rc = consent_part(pc, &rs->crs_items[i]);
	free(rs);
	return rc;
}

/* ---- notices: a device added, blocked or revoked, until read ---- */

static const char *
notice_kind_label(const char *device_kind)
{
	return strcmp(device_kind, "smartid") == 0 ? N_("Smart-ID") : N_("sleutel app");
}

/* Rendered in the store's iteration: templates do not call the store. */
static int
notice_row(const struct store_notice *n, void *arg)
{
	struct page_ctx *pc = arg;
	char when[ACCOUNT_TIME_LEN], iso[ACCOUNT_TIME_LEN];
	bool added = strcmp(n->nt_kind, "device.added") == 0;

	fmt_time(n->nt_created, when, iso);
	{
		struct tmpl_var v[13] = { { "id", n->nt_id },
			{ "name", sl_str_empty(n->nt_device_name) ? "-" : n->nt_device_name },
			{ "kind", i18n_gettext(pc->pc_cat, notice_kind_label(n->nt_device_kind)) }, { "when", when },
			{ "iso", iso }, { "added", added ? "1" : "" },
			{ "blocked", strcmp(n->nt_kind, "device.blocked") == 0 ? "1" : "" },
			{ "revoked", strcmp(n->nt_kind, "device.revoked") == 0 ? "1" : "" },
			{ "other", added ? "" : "1" },
			{ "field", strcmp(n->nt_device_kind, "smartid") == 0 ? "sid" : "device" },
			{ "device", n->nt_device_id }, { "csrf", pc->pc_csrf },
			{ "langcode", config_languages[pc->pc_lang] } };
		pc->pc_n++;
		return tmpl_render(pc->pc_srv->sv_templates, "account_notice", pc->pc_cat, v, 13, &pc->pc_out);
	}
}

static int
notices_html(struct page_ctx *pc)
{
	return store_notice_each(pc->pc_srv->sv_store, pc->pc_person_id, true, ACCOUNT_NOTICES_MAX, notice_row, pc);
}

static char *
person_name(struct server *srv, const char *person_id)
{
	struct store_person p;
	struct sl_buf b;

	if (store_person_get(srv->sv_store, person_id, &p) != SL_OK)
		return NULL;
	sl_buf_init(&b, 512);
	sl_buf_addf(&b, "%s %s", p.p_given_name ? p.p_given_name : "", p.p_family_name ? p.p_family_name : "");
	store_person_clear(&p);
	return sl_buf_take(&b);
}

/* "1" when the page was asked to say `which` (?done=which), else "". */
static const char *
account_notice_is(const char *notice, const char *which)
{
	return notice != NULL && strcmp(notice, which) == 0 ? "1" : "";
}

void
account_render(struct server *srv, struct http_request *rq, int lang, const char *person_id, const char *notice)
{
	struct page_ctx acc = { srv, srv->sv_catalogs[lang], lang, person_id, NULL, { 0 }, 0, 0, false };
	struct page_ctx hist = acc, cons = acc, sid = acc, nots = acc;
	char *csrf = oidc_csrf_token(srv, rq, ACCOUNT_CSRF_ID), *name = person_name(srv, person_id), max[16];
	char exportmax[16];
	int rc;

	acc.pc_csrf = cons.pc_csrf = sid.pc_csrf = hist.pc_csrf = nots.pc_csrf = csrf ? csrf : "";
	sl_buf_init(&nots.pc_out, ACCOUNT_MAX_PART);
	sl_buf_init(&acc.pc_out, ACCOUNT_MAX_PART);
	sl_buf_init(&sid.pc_out, ACCOUNT_MAX_PART);
	sl_buf_init(&hist.pc_out, ACCOUNT_MAX_PART);
	sl_buf_init(&cons.pc_out, ACCOUNT_MAX_PART);
	rc = notices_html(&nots);
	if (rc == SL_OK)
		rc = accounts_html(&acc);
	if (rc == SL_OK)
		rc = smartid_html(&sid);
	if (rc == SL_OK)
		rc = consents_html(&cons);
	if (rc == SL_OK)
		rc = history_html(&hist);
	snprintf(max, sizeof(max), "%d", ACCOUNT_HISTORY_MAX);
	snprintf(exportmax, sizeof(exportmax), "%d", ACCOUNT_EXPORT_MAX);
	if (rc != SL_OK || name == NULL) {
		log_error("cannot read the account page's data: %s", sl_strerror(rc));
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		struct tmpl_var v[19] = { { "name", name }, { "removed", account_notice_is(notice, "removed") },
			{ "withdrawn", account_notice_is(notice, "withdrawn") },
			{ "sidremoved", account_notice_is(notice, "sidremoved") },
			{ "accounts", sl_buf_str(&acc.pc_out) }, { "noaccounts", acc.pc_n == 0 ? "1" : "" },
			{ "smartid", sl_buf_str(&sid.pc_out) }, { "nosmartid", sid.pc_n == 0 ? "1" : "" },
			{ "sidblocked", sid.pc_sid_blocked ? "1" : "" }, { "consents", sl_buf_str(&cons.pc_out) },
			{ "noconsents", cons.pc_n == 0 ? "1" : "" }, { "history", sl_buf_str(&hist.pc_out) },
			{ "nohistory", hist.pc_n == 0 ? "1" : "" }, { "max", max },
			{ "langcode", config_languages[lang] }, { "notices", sl_buf_str(&nots.pc_out) },
			{ "notme", account_notice_is(notice, "notme") }, { "read", account_notice_is(notice, "read") },
			{ "exportmax", exportmax } };
		portal_page(srv, rq, 200, lang, N_("Your sleutel account"), "account", v, 19);
	}
	sl_buf_reset(&nots.pc_out);
	sl_buf_reset(&acc.pc_out);
	sl_buf_reset(&hist.pc_out);
	sl_buf_reset(&cons.pc_out);
	sl_buf_reset(&sid.pc_out);
	free(name);
	free(csrf);
}
