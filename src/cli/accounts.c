/*
 * accounts.c — `sleutel account ...` and `sleutel device ...`: the app
 * key's accounts (one phone number of one person) and their devices, as
 * the operator sees them.
 *
 * An operator can block an account or a device (every login and request
 * refused until unblocked), lift a lockout (the wrong-code counter back to
 * 0: the person proved who they are some other way, e.g. at a desk), and
 * remove a device for good.  Every change is an audit record with the
 * operator's Unix user.  An account is named by its id or its phone
 * number, typed as a person would ("0470 12 34 56" or "+32470123456").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "../keys/app/app.h"

static void
account_usage(void)
{
	printf("usage: sleutel [--config FILE] account list [--json]\n"
	       "       sleutel [--config FILE] account show PHONE|ID [--json]\n"
	       "       sleutel [--config FILE] account block PHONE|ID\n"
	       "       sleutel [--config FILE] account unblock PHONE|ID\n"
	       "       sleutel [--config FILE] account unlock PHONE|ID\n"
	       "       sleutel [--config FILE] account sms-unlock PHONE\n"
	       "\nblock    refuse every login and request of the account until unblocked\n"
	       "unlock   lift a lockout after wrong app codes (the failure count goes back to 0)\n"
	       "sms-unlock  forget a number's wrong SMS activation codes ([app] sms_wrong_max), account or not\n"
	       "PHONE is the number as typed (0470 12 34 56) or in E.164 (+32470123456).\n");
}

static void
device_usage(void)
{
	printf("usage: sleutel [--config FILE] device list PHONE|ID [--json]\n"
	       "       sleutel [--config FILE] device block DEVICE_ID\n"
	       "       sleutel [--config FILE] device unblock DEVICE_ID\n"
	       "       sleutel [--config FILE] device remove DEVICE_ID\n"
	       "\nA blocked device cannot answer requests until unblocked; a removed device is gone for good\n"
	       "(the person enrols the phone again).\n");
}

/* The account named by an id or a phone number. */
static int
account_find(struct cli_ctx *cc, const char *what, struct store_account *out)
{
	char phone[APP_PHONE_MAX];

	memset(out, 0, sizeof(*out));
	if (strlen(what) > 64)
		return cli_error("no account %.64s...", what);
	if (store_account_get(cc->cc_store, what, out) == SL_OK)
		return CLI_OK;
	if (app_phone_normalize(what, cc->cc_conf->c_app_default_country, phone) == SL_OK &&
		store_account_by_phone(cc->cc_store, phone, out) == SL_OK)
		return CLI_OK;
	return cli_error("no account %s", what);
}

static int
count_device(const struct store_device *d, void *arg)
{
	if (strcmp(d->dv_status, "removed") != 0)
		(*(int *)arg)++;
	return SL_OK;
}

/* The account's own fields; account_more() adds what other tables say.
 * Two steps because a store_*_each callback must not call the store (it
 * holds the connection). */
static json_t *
account_json(const struct store_account *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_string(a->ac_id));
	json_object_set_new(o, "phone", json_string(a->ac_phone));
	json_object_set_new(o, "person_id", json_string(a->ac_person_id));
	json_object_set_new(o, "name", json_null());
	json_object_set_new(o, "status", json_string(a->ac_status));
	json_object_set_new(o, "failures", json_integer(a->ac_failures));
	json_object_set_new(o, "locked_until", cli_json_lock(a->ac_locked_until));
	json_object_set_new(o, "devices", json_integer(0));
	json_object_set_new(o, "created", json_integer(a->ac_created));
	return o;
}

/* The person's name and the number of devices not removed. */
static void
account_more(struct cli_ctx *cc, json_t *o)
{
	struct store_person p;
	int devices = 0;

	if (store_person_get(cc->cc_store, json_string_value(json_object_get(o, "person_id")), &p) == SL_OK) {
		cli_set_person_name(o, &p);
		store_person_clear(&p);
	}
	store_device_each(cc->cc_store, json_string_value(json_object_get(o, "id")), count_device, &devices);
	json_object_set_new(o, "devices", json_integer(devices));
}

static json_t *
device_json(const struct store_device *d)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "id", d->dv_id, "account_id", d->dv_account_id, "name",
		d->dv_name ? d->dv_name : "", "status", d->dv_status, "created", (json_int_t)d->dv_created, "last_used",
		cli_json_time(d->dv_last_used));
}

static int
list_account(const struct store_account *a, void *arg)
{
	json_array_append_new(arg, account_json(a));
	return SL_OK;
}

static int
account_list(struct cli_ctx *cc, bool json)
{
	json_t *arr = json_array(), *v;
	char t[CLI_TIME_LEN];
	size_t i;
	int rc = store_account_each(cc->cc_store, list_account, arr);

	if (rc != SL_OK) {
		json_decref(arr);
		return cli_error("cannot read the accounts: %s", sl_strerror(rc));
	}
	json_array_foreach(arr, i, v) account_more(cc, v);
	if (json) {
		cli_print_json(arr);
	} else {
		printf("%-16s %-30s %-8s %-8s %-20s %s\n", "PHONE", "NAME", "STATUS", "FAILURES", "LOCKED UNTIL",
			"DEVICES");
		json_array_foreach(arr, i, v) printf("%-16s %-30s %-8s %-8lld %-20s %lld\n",
			json_string_value(json_object_get(v, "phone")),
			json_is_string(json_object_get(v, "name")) ? json_string_value(json_object_get(v, "name"))
								   : "-",
			json_string_value(json_object_get(v, "status")),
			(long long)json_integer_value(json_object_get(v, "failures")),
			cli_text_time(json_object_get(v, "locked_until"), t),
			(long long)json_integer_value(json_object_get(v, "devices")));
	}
	json_decref(arr);
	return CLI_OK;
}

static int
list_device(const struct store_device *d, void *arg)
{
	json_array_append_new(arg, device_json(d));
	return SL_OK;
}

static void
print_devices(const json_t *arr)
{
	char c[CLI_TIME_LEN], u[CLI_TIME_LEN];
	json_t *v;
	size_t i;

	printf("%-24s %-8s %-20s %-20s %s\n", "DEVICE_ID", "STATUS", "CREATED", "LAST USED", "NAME");
	json_array_foreach(arr, i, v) printf("%-24s %-8s %-20s %-20s %s\n", json_string_value(json_object_get(v, "id")),
		json_string_value(json_object_get(v, "status")), cli_text_time(json_object_get(v, "created"), c),
		cli_text_time(json_object_get(v, "last_used"), u), json_string_value(json_object_get(v, "name")));
}

/* `account show` (with_account) and `device list`: the account's devices. */
static int
account_show(struct cli_ctx *cc, const char *what, bool json, bool with_account)
{
	struct store_account a;
	json_t *o, *devs = json_array();
	char t[CLI_TIME_LEN];
	const char *k;
	json_t *v;

	if (account_find(cc, what, &a) != CLI_OK) {
		json_decref(devs);
		return CLI_FAIL;
	}
	store_device_each(cc->cc_store, a.ac_id, list_device, devs);
	o = account_json(&a);
	store_account_clear(&a);
	account_more(cc, o);
	if (!with_account) {
		if (json)
			cli_print_json(devs);
		else
			print_devices(devs);
	} else if (json) {
		json_object_set(o, "device_list", devs);
		cli_print_json(o);
	} else {
		json_object_foreach(o, k, v)
		{
			if (json_is_integer(v) && (strcmp(k, "created") == 0 || strcmp(k, "locked_until") == 0))
				printf("%-14s %s\n", k, cli_text_time(v, t));
			else if (json_is_integer(v))
				printf("%-14s %lld\n", k, (long long)json_integer_value(v));
			else
				printf("%-14s %s\n", k, json_is_string(v) ? json_string_value(v) : "-");
		}
		printf("\n");
		print_devices(devs);
	}
	json_decref(o);
	json_decref(devs);
	return CLI_OK;
}

/* A block ends the person's logins made with the app key: their SSO
 * sessions and the tokens sites got through them (store_key_logins_end);
 * what ended is told and appended to the audit detail. */
static int
block_logins(struct cli_ctx *cc, const char *person_id, char *detail, size_t len)
{
	int nses = 0, ntok = 0, rc;
	size_t used = strlen(detail);

	if (person_id == NULL)
		return SL_OK; /* the account is gone: nothing of it logs in */
	rc = store_key_logins_end(cc->cc_store, person_id, APP_AMR, NULL, &nses, &ntok);
	if (rc != SL_OK) {
		snprintf(detail + used, len - used, "; its logins were not ended: %s", sl_strerror(rc));
		cli_error("the person's app logins were not ended (%s): block again", sl_strerror(rc));
		return rc;
	}
	snprintf(detail + used, len - used, "; %d sessions ended, %d tokens revoked", nses, ntok);
	return SL_OK;
}

/* sms-unlock: the number's wrong activation codes forgotten (it may have
 * no account yet: they are counted per number), audited. */
static int
sms_unlock(struct cli_ctx *cc, const char *what)
{
	char phone[APP_PHONE_MAX], detail[64];
	int rc;

	if (strlen(what) > 64 || app_phone_normalize(what, cc->cc_conf->c_app_default_country, phone) != SL_OK)
		return cli_error("not a phone number: %.64s", what);
	if ((rc = store_phone_fail_clear(cc->cc_store, phone)) != SL_OK)
		return cli_error("sms-unlock %s: %s", phone, sl_strerror(rc));
	snprintf(detail, sizeof(detail), "number %s", phone);
	cli_audit_person(cc, "account.sms_unlock", NULL, detail);
	printf("sms-unlocked %s\n", phone);
	return CLI_OK;
}

/* block, unblock, unlock: one change, one audit record. */
static int
account_change(struct cli_ctx *cc, const char *verb, const char *what)
{
	struct store_account a;
	char event[32], detail[192];
	const char *done;
	int rc;

	if (account_find(cc, what, &a) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(verb, "block") == 0) {
		rc = store_account_set_status(cc->cc_store, a.ac_id, "blocked");
		done = "blocked";
	} else if (strcmp(verb, "unblock") == 0) {
		rc = store_account_set_status(cc->cc_store, a.ac_id, "active");
		done = "unblocked";
	} else {
		rc = store_account_unlock(cc->cc_store, a.ac_id);
		done = "unlocked";
	}
	if (rc != SL_OK) {
		rc = cli_error("account %s: %s", a.ac_phone, sl_strerror(rc));
	} else {
		snprintf(event, sizeof(event), "account.%s", verb);
		snprintf(detail, sizeof(detail), "account %s %s", a.ac_id, a.ac_phone);
		rc = strcmp(verb, "block") == 0 && block_logins(cc, a.ac_person_id, detail, sizeof(detail)) != SL_OK
			     ? CLI_FAIL
			     : CLI_OK;
		cli_audit_person(cc, event, a.ac_person_id, detail);
		printf("%s %s\n", done, a.ac_phone);
	}
	store_account_clear(&a);
	return rc;
}

static int
device_change(struct cli_ctx *cc, const char *verb, const char *id)
{
	static const struct {
		const char *verb, *status, *done;
	} changes[] = {
		{ "block", "blocked", "blocked" },
		{ "unblock", "active", "unblocked" },
		{ "remove", "removed", "removed" },
	};
	struct store_device d;
	struct store_account a;
	char event[32], detail[256];
	size_t i;
	int rc;

	for (i = 0; i + 1 < sizeof(changes) / sizeof(changes[0]); i++)
		if (strcmp(changes[i].verb, verb) == 0)
			break;
	if (strlen(id) > 64 || store_device_get(cc->cc_store, id, &d) != SL_OK)
		return cli_error("no device %.64s", id);
	if (strcmp(d.dv_status, "removed") == 0) {
		store_device_clear(&d);
		return cli_error("device %s is removed: it cannot be changed any more", id);
	}
	rc = store_device_set_status(cc->cc_store, d.dv_id, changes[i].status);
	if (rc != SL_OK) {
		rc = cli_error("device %s: %s", id, sl_strerror(rc));
	} else {
		memset(&a, 0, sizeof(a));
		store_account_get(cc->cc_store, d.dv_account_id, &a);
		snprintf(event, sizeof(event), "device.%s", verb);
		snprintf(detail, sizeof(detail), "device %s (%.100s) of account %s", d.dv_id,
			d.dv_name ? d.dv_name : "", d.dv_account_id);
		rc = strcmp(verb, "unblock") != 0 && /* block, remove */
				     block_logins(cc, a.ac_person_id, detail, sizeof(detail)) != SL_OK
			     ? CLI_FAIL
			     : CLI_OK;
		cli_audit_person(cc, event, a.ac_person_id, detail);
		printf("%s %s\n", changes[i].done, d.dv_id);
		store_account_clear(&a);
	}
	store_device_clear(&d);
	return rc;
}

int
cli_account(const char *config, int argc, char **argv)
{
	static const char *const verbs[] = { "list", "show", "block", "unblock", "unlock", "sms-unlock", NULL };
	struct cli_ctx cc;
	bool json = cli_has_flag(argc, argv, "--json");
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		account_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	rc = cli_check_verb("account", argc, argv, verbs, 1, "PHONE or ID");
	if (rc != CLI_OK)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "list") == 0)
		rc = account_list(&cc, json);
	else if (strcmp(argv[0], "show") == 0)
		rc = account_show(&cc, argv[1], json, true);
	else if (strcmp(argv[0], "sms-unlock") == 0)
		rc = sms_unlock(&cc, argv[1]);
	else
		rc = account_change(&cc, argv[0], argv[1]);
	cli_close(&cc);
	return rc;
}

int
cli_device(const char *config, int argc, char **argv)
{
	static const char *const verbs[] = { "list", "block", "unblock", "remove", NULL };
	struct cli_ctx cc;
	bool json = cli_has_flag(argc, argv, "--json");
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		device_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	rc = cli_check_verb("device", argc, argv, verbs, 0, strcmp(argv[0], "list") != 0 ? "DEVICE_ID" : "PHONE or ID");
	if (rc != CLI_OK)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "list") == 0)
		rc = account_show(&cc, argv[1], json, false);
	else
		rc = device_change(&cc, argv[0], argv[1]);
	cli_close(&cc);
	return rc;
}
