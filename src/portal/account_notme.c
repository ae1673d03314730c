/*
 * account_notme.c — "This was not me" on the citizen's page, and marking a
 * notice read.
 *
 * POST /account/notme names a device (an app device: device=, a Smart-ID
 * device: sid=) or a login of the history (entry=, its audit seq; the
 * device that confirmed it is found through the confirmation's request,
 * which the audit row names).  The device ends at once, as a removal does
 * ("removed": its proofs and signatures are refused from the next request
 * on, the status check every device request makes; a Smart-ID device's
 * certificates are revoked and its pending requests fail), an audit row
 * "device.notme" / "smartid.notme" is written, and the person's other
 * devices get a notice "device.blocked".  The logins made with that key
 * end with it (store_key_logins_end): the person's SSO sessions of the
 * key, but the one on this page, and the access and refresh tokens sites
 * got through them.  Sessions and tokens keep the login's key (its amr),
 * not the device, so this is every login of the person with that key.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "account_int.h"
#include "../keys/app/app.h"
#include "../keys/splitkey/splitkey.h"

#define NOTME_DETAIL_MAX 320

/* The device a "not me" names, resolved to one of the person's. */
struct notme {
	const char *nm_kind; /* "app" or "smartid" */
	char nm_id[65];
	int64_t nm_entry; /* the history entry it came from, or 0 */
};

struct entry_take {
	int64_t et_seq;
	bool et_found;
	char et_key[16];
	char et_detail[65];
};

static int
entry_take(const struct store_audit_entry *e, void *arg)
{
	struct entry_take *t = arg;

	if (e->ae_seq != t->et_seq || e->ae_key == NULL || e->ae_detail == NULL)
		return SL_OK;
	t->et_found = true;
	sl_strlcpy(t->et_key, e->ae_key, sizeof(t->et_key));
	sl_strlcpy(t->et_detail, e->ae_detail, sizeof(t->et_detail));
	return SL_OK;
}

/* The device that confirmed the person's history entry `seq`. */
static int
entry_device(struct server *srv, const char *person_id, const char *seq_text, struct notme *nm)
{
	struct entry_take t = { 0 };
	char *end = NULL;
	long long seq = seq_text ? strtoll(seq_text, &end, 10) : 0;
	int rc = SL_ENOTFOUND;

	if (seq <= 0 || seq == LLONG_MAX || end == seq_text || *end != '\0')
		return SL_ENOTFOUND;
	t.et_seq = seq;
	/* The query is the person's own rows: another person's seq is not found. */
	if (store_audit_each_person_all(srv->sv_store, person_id, seq + 1, 1, entry_take, &t) != SL_OK || !t.et_found)
		return SL_ENOTFOUND;
	nm->nm_entry = seq;
	if (strcmp(t.et_key, "app") == 0) {
		struct store_apprq r = { 0 };
		if (store_apprq_get(srv->sv_store, t.et_detail, &r) == SL_OK && r.aq_device_id != NULL) {
			nm->nm_kind = "app";
			sl_strlcpy(nm->nm_id, r.aq_device_id, sizeof(nm->nm_id));
			rc = SL_OK;
		}
		store_apprq_clear(&r);
	} else if (strcmp(t.et_key, "smartid") == 0) {
		struct store_sid_request r = { 0 };
		if (store_sid_request_get(srv->sv_store, t.et_detail, &r) == SL_OK && r.sq_device_id != NULL) {
			nm->nm_kind = "smartid";
			sl_strlcpy(nm->nm_id, r.sq_device_id, sizeof(nm->nm_id));
			rc = SL_OK;
		}
		store_sid_request_clear(&r);
	}
	return rc;
}

/* End the device `nm` names when it is one of the person's (SL_ENOTFOUND
 * otherwise); its name into `name`.  A device already ended is blocked
 * all the same: SL_OK. */
static int
end_device(struct server *srv, const char *person_id, const struct notme *nm, char *name, size_t nlen)
{
	struct store_device app;
	struct store_sid_device sid;
	int rc;

	if (strcmp(nm->nm_kind, "smartid") == 0) {
		if ((rc = account_own_sid_device(srv, person_id, nm->nm_id, &sid)) == SL_OK) {
			sl_strlcpy(name, sid.sd_name ? sid.sd_name : "", nlen);
			rc = sid_device_end(srv, &sid, "removed", "person");
			store_sid_device_clear(&sid);
		}
		return rc == SL_ECONFLICT ? SL_OK : rc;
	}
	if ((rc = account_own_device(srv, person_id, nm->nm_id, &app)) == SL_OK) {
		sl_strlcpy(name, app.dv_name ? app.dv_name : "", nlen);
		if (strcmp(app.dv_status, "removed") != 0)
			rc = store_device_set_status(srv->sv_store, app.dv_id, "removed");
		store_device_clear(&app);
	}
	return rc;
}

/* The audit row and the notice to the person's other devices; `ended`:
 * what store_key_logins_end said. */
static void
notme_record(struct server *srv, struct http_request *rq, const char *person_id, const struct notme *nm,
	const char *name, const char *ended)
{
	char detail[NOTME_DETAIL_MAX], ipbuf[SERVER_IP_MAX];
	bool app = strcmp(nm->nm_kind, "app") == 0;
	struct store_audit au = { .au_event = app ? "device.notme" : "smartid.notme",
		.au_result = "ok",
		.au_person_id = person_id,
		.au_key = nm->nm_kind,
		.au_ip = server_audit_ip(srv, rq, ipbuf),
		.au_detail = detail };
	struct store_notice n = { .nt_person_id = (char *)person_id,
		.nt_kind = (char *)"device.blocked",
		.nt_device_kind = (char *)nm->nm_kind,
		.nt_device_id = (char *)nm->nm_id,
		.nt_device_name = (char *)name };

	if (nm->nm_entry > 0)
		snprintf(detail, sizeof(detail), "not me, by the person: device %s (%.64s), login entry %lld; %s",
			nm->nm_id, name, (long long)nm->nm_entry, ended);
	else
		snprintf(
			detail, sizeof(detail), "not me, by the person: device %s (%.64s); %s", nm->nm_id, name, ended);
	store_audit_add(srv->sv_store, &au);
	if (store_notice_add(srv->sv_store, &n) != SL_OK)
		log_warn("not me: the notice of device %s was not recorded", nm->nm_id);
	free(n.nt_id);
}

/* POST /account/notme: device | sid | entry, csrf */
void
account_notme(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	struct notme nm = { 0 };
	const char *device = http_form(rq, "device"), *sid = http_form(rq, "sid"), *notice = http_form(rq, "notice");
	int lang = portal_lang(srv, rq, NULL), rc = SL_ENOTFOUND, nses = 0, ntok = 0;
	char loc[64], name[128] = "", ended[64];

	if (!account_form_ok(srv, rq, lang, &ses))
		return;
	if (device != NULL || sid != NULL) {
		nm.nm_kind = device != NULL ? "app" : "smartid";
		rc = sl_strlcpy(nm.nm_id, device ? device : sid, sizeof(nm.nm_id)) < sizeof(nm.nm_id) ? SL_OK
												      : SL_ENOTFOUND;
	} else {
		rc = entry_device(srv, ses.s_person_id, http_form(rq, "entry"), &nm);
	}
	if (rc == SL_OK)
		rc = end_device(srv, ses.s_person_id, &nm, name, sizeof(name));
	if (rc == SL_OK)
		rc = store_key_logins_end(srv->sv_store, ses.s_person_id,
			strcmp(nm.nm_kind, "app") == 0 ? APP_AMR : SID_AMR, ses.s_id, &nses, &ntok);
	if (rc == SL_ENOTFOUND) {
		portal_error(srv, rq, 404, lang, N_("This device is not one of yours"),
			N_("Open your account page and try again."));
	} else if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		snprintf(ended, sizeof(ended), "%d sessions ended, %d tokens revoked", nses, ntok);
		notme_record(srv, rq, ses.s_person_id, &nm, name, ended);
		if (notice != NULL && strlen(notice) <= 64) /* the notice it answered is done with */
			store_notice_ack(srv->sv_store, ses.s_person_id, notice);
		snprintf(loc, sizeof(loc), "/account?notme=1&lang=%s", config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_session_clear(&ses);
}

/* POST /account/notices/read: notice, csrf ("This was me"). */
void
account_notice_read(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_session ses;
	const char *id = http_form(rq, "notice");
	int lang = portal_lang(srv, rq, NULL), rc;
	char loc[64];

	if (!account_form_ok(srv, rq, lang, &ses))
		return;
	rc = id == NULL || strlen(id) > 64 ? SL_ENOTFOUND : store_notice_ack(srv->sv_store, ses.s_person_id, id);
	if (rc == SL_ENOTFOUND) {
		portal_error(srv, rq, 404, lang, N_("This notice is not one of yours"),
			N_("Open your account page and try again."));
	} else if (rc != SL_OK) {
		portal_error(srv, rq, 500, lang, N_("Something went wrong"), N_("Please try again in a moment."));
	} else {
		snprintf(loc, sizeof(loc), "/account?read=1&lang=%s", config_languages[lang]);
		http_send_redirect(rq, 303, loc);
	}
	store_session_clear(&ses);
}
