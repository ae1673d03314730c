/*
 * reg_replace.c — a replacement for a lost or broken Smart-ID device, in
 * the registration portal (issue 13; docs/smartid-registration.md
 * "Replacing a device").
 *
 * The registration already binds the person with a fresh eID login and
 * already adds a second device to an existing account (same person, same
 * account, history and other devices kept).  What this adds: the
 * confirmation page lists the person's active Smart-ID devices, each with
 * a box "lost or replaced: revoke it", and a confirmation that stored its
 * keys ends the ticked ones at once (sid_device_end: "removed" for reason
 * "replaced", both certificates revoked in the CA's index, its pending
 * logins failed), with an audit row "smartid.revoke" and the notice
 * "device.revoked" to the person's other devices and account page; the
 * person's Smart-ID logins end with it (store_key_logins_end: SSO
 * sessions, and the tokens sites got through them).  Done
 * at the confirmation, not at the app's finish: the person is in front of
 * the portal with their card, and a lost phone must stop at once, even
 * when the new one never finishes; it also frees its place under
 * [smartid] max_devices for the new one.
 */
#include <stdlib.h>
#include <string.h>

#include "sid_reg_int.h"
#include "../app/app.h"

#define REPLACE_MAX 16 /* devices listed (the account holds at most [smartid] max_devices) */
#define REPLACE_FIELD "revoke_" /* the form field of a device: revoke_<device id> */

struct replace_list {
	struct store_sid_device rl_dev[REPLACE_MAX];
	size_t rl_n;
};

static int
replace_take(const struct store_sid_device *d, void *arg)
{
	struct replace_list *l = arg;
	struct store_sid_device *to;

	if (strcmp(d->sd_status, "active") != 0 || l->rl_n >= REPLACE_MAX)
		return SL_OK;
	to = &l->rl_dev[l->rl_n];
	to->sd_id = sl_strdup(d->sd_id);
	to->sd_account_id = sl_strdup(d->sd_account_id);
	to->sd_name = sl_strdup(d->sd_name ? d->sd_name : "");
	to->sd_document = sl_strdup(d->sd_document);
	to->sd_status = sl_strdup(d->sd_status);
	if (to->sd_id == NULL || to->sd_account_id == NULL || to->sd_name == NULL || to->sd_document == NULL ||
		to->sd_status == NULL) {
		store_sid_device_clear(to);
		return SL_ENOMEM;
	}
	l->rl_n++;
	return SL_OK;
}

static void
replace_list_clear(struct replace_list *l)
{
	for (size_t i = 0; i < l->rl_n; i++)
		store_sid_device_clear(&l->rl_dev[i]);
	l->rl_n = 0;
}

/* The visit person's id (from the eID login), or "" */
static void
visit_person_id(const struct store_sid_visit *v, char *out, size_t len)
{
	json_t *o = v->sv_person ? json_loads(v->sv_person, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(o, "id"));

	sl_strlcpy(out, id ? id : "", len);
	json_decref(o);
}

/* The active devices of the visit's person (none without an account). */
static int
replace_devices(struct server *srv, const struct store_sid_visit *v, char person[65], struct replace_list *l)
{
	struct store_sid_account a;
	int rc;

	memset(l, 0, sizeof(*l));
	visit_person_id(v, person, 65);
	if (person[0] == '\0')
		return SL_ENOTFOUND;
	rc = store_sid_account_by_person(srv->sv_store, person, &a);
	if (rc == SL_OK)
		rc = store_sid_device_each(srv->sv_store, a.sa_id, replace_take, l);
	store_sid_account_clear(&a);
	if (rc != SL_OK)
		replace_list_clear(l);
	return rc;
}

int
sid_replace_rows(struct server *srv, const struct store_sid_visit *v, int lang, struct sl_buf *out)
{
	struct replace_list l;
	char person[65], field[sizeof(REPLACE_FIELD) + 64];
	int rc = replace_devices(srv, v, person, &l);

	if (rc == SL_ENOTFOUND)
		return SL_OK;
	for (size_t i = 0; rc == SL_OK && i < l.rl_n; i++) {
		const struct store_sid_device *d = &l.rl_dev[i];
		struct tmpl_var vars[3] = { { "field", field }, { "name", sl_str_empty(d->sd_name) ? "-" : d->sd_name },
			{ "document", d->sd_document } };
		snprintf(field, sizeof(field), REPLACE_FIELD "%s", d->sd_id);
		rc = tmpl_render(srv->sv_templates, "smartid_replace", srv->sv_catalogs[lang], vars, 3, out);
	}
	replace_list_clear(&l);
	return rc;
}

/* End one ticked device: certificates, audit, notice. */
static void
replace_end(struct server *srv, struct http_request *rq, const char *person, const struct store_sid_device *d,
	const char *registration_id)
{
	char detail[SID_REG_AAD_MAX + 128];
	int rc = sid_device_end(srv, d, "removed", "replaced"), nses = 0, ntok = 0;

	if (rc == SL_ECONFLICT) /* ended meanwhile: nothing more to do */
		return;
	if (rc == SL_OK)
		rc = store_key_logins_end(srv->sv_store, person, SID_AMR, NULL, &nses, &ntok);
	snprintf(detail, sizeof(detail),
		"replaced by registration %s: device %s %s (%.60s); %d sessions ended, %d tokens revoked",
		registration_id, d->sd_id, d->sd_document, d->sd_name, nses, ntok);
	sid_reg_audit(srv, rq, "smartid.revoke", rc == SL_OK ? "ok" : "failed", person, detail);
	if (rc == SL_OK)
		app_notice_device(srv, person, "device.revoked", "smartid", d->sd_id, d->sd_name);
	else
		log_warn("smartid replacement: device %s could not be ended: %s", d->sd_id, sl_strerror(rc));
}

size_t
sid_replace_revoke(
	struct server *srv, struct http_request *rq, const struct store_sid_visit *v, const char *registration_id)
{
	struct replace_list l;
	char person[65], field[sizeof(REPLACE_FIELD) + 64];
	size_t n = 0;

	if (replace_devices(srv, v, person, &l) != SL_OK)
		return 0;
	for (size_t i = 0; i < l.rl_n; i++) {
		const char *ticked;
		snprintf(field, sizeof(field), REPLACE_FIELD "%s", l.rl_dev[i].sd_id);
		ticked = http_form(rq, field);
		if (ticked != NULL && strcmp(ticked, "1") == 0) {
			replace_end(srv, rq, person, &l.rl_dev[i], registration_id);
			n++;
		}
	}
	replace_list_clear(&l);
	return n;
}
