/*
 * smartid.c — `sleutel smartid ...`: Smart-ID-style split-key accounts (one
 * per person) and their devices, as the operator sees them.
 *
 * An operator revokes a device for good (a lost or stolen phone: its two
 * certificates are revoked too when this sleutel serves the demo PKI, so
 * OCSP answers "revoked"), and lifts a PIN lockout once the person proved
 * who they are some other way.  Every change is an audit record with the
 * operator's Unix user.  An account is named by its id, a device's
 * document number (PNOBE-...) or the person's national register number as
 * typed ("85.07.30-033.28"); the national number is shown masked.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "../keys/splitkey/splitkey.h"
#include "../pki/pki.h"

#define SID_RRN_LEN 11
#define SID_REASON_MAX 200

static void
smartid_usage(void)
{
	printf("usage: sleutel [--config FILE] smartid list [--json]\n"
	       "       sleutel [--config FILE] smartid show ACCOUNT_ID|DOCUMENT_NUMBER|NATIONAL_NUMBER [--json]\n"
	       "       sleutel [--config FILE] smartid revoke DEVICE_ID [--reason TEXT]\n"
	       "       sleutel [--config FILE] smartid unlock DEVICE_ID [--key auth|sign]\n"
	       "\nrevoke   end a device for good: it cannot log in or sign any more, its pending requests\n"
	       "         fail, and with [pki] dir its two certificates are revoked (OCSP answers revoked)\n"
	       "unlock   lift a PIN lockout (both keys, or the one named): failures back to 0, no lock\n"
	       "NATIONAL_NUMBER as typed (85.07.30-033.28) or as 11 digits.\n");
}

/* The 11 digits of a national number typed with the usual separators;
 * false for anything else. */
static bool
rrn_digits(const char *in, char out[SID_RRN_LEN + 1])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (isdigit((unsigned char)*in)) {
			if (n == SID_RRN_LEN)
				return false;
			out[n++] = *in;
		} else if (strchr(" .-/", *in) == NULL) {
			return false;
		}
	}
	out[n] = '\0';
	return n == SID_RRN_LEN;
}

/* "85.07.30-xxx.xx": the birth date stays readable for the operator, the
 * serial and check digits do not end up on screens and in pasted logs. */
static json_t *
rrn_masked(const char *rrn)
{
	char buf[32];

	if (rrn == NULL || strlen(rrn) != SID_RRN_LEN)
		return json_null();
	snprintf(buf, sizeof(buf), "%.2s.%.2s.%.2s-xxx.xx", rrn, rrn + 2, rrn + 4);
	return json_string(buf);
}

/* The account named by an id, a device's document number or the person's
 * national number. */
static int
account_find(struct cli_ctx *cc, const char *what, struct store_sid_account *out)
{
	struct store_sid_device d;
	char rrn[SID_RRN_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (strlen(what) > 64)
		return cli_error("no Smart-ID account %.64s...", what);
	if (store_sid_account_get(cc->cc_store, what, out) == SL_OK)
		return CLI_OK;
	if (store_sid_device_by_document(cc->cc_store, what, &d) == SL_OK) {
		int rc = store_sid_account_get(cc->cc_store, d.sd_account_id, out);
		store_sid_device_clear(&d);
		if (rc == SL_OK)
			return CLI_OK;
	}
	if (rrn_digits(what, rrn) && store_sid_account_by_rrn(cc->cc_store, rrn, out) == SL_OK)
		return CLI_OK;
	return cli_error("no Smart-ID account %s", what);
}

/* The account's own fields; account_more() adds what other tables say
 * (a store_*_each callback must not call the store). */
static json_t *
account_json(const struct store_sid_account *a)
{
	return json_pack("{s:s,s:s,s:n,s:n,s:s,s:s?,s:s?,s:i,s:I}", "id", a->sa_id, "person_id", a->sa_person_id,
		"name", "national_number", "status", a->sa_status, "email", a->sa_email, "phone", a->sa_phone,
		"devices", 0, "created", (json_int_t)a->sa_created);
}

/* The person's name, the masked national number, the active devices. */
static void
account_more(struct cli_ctx *cc, json_t *o)
{
	struct store_person p;
	int devices = 0;

	if (store_person_get(cc->cc_store, json_string_value(json_object_get(o, "person_id")), &p) == SL_OK) {
		cli_set_person_name(o, &p);
		json_object_set_new(o, "national_number", rrn_masked(p.p_rrn));
		store_person_clear(&p);
	}
	store_sid_device_count_active(cc->cc_store, json_string_value(json_object_get(o, "id")), &devices);
	json_object_set_new(o, "devices", json_integer(devices));
}

static const char *
str_or_dash(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "-";
}

static int
list_account(const struct store_sid_account *a, void *arg)
{
	json_array_append_new(arg, account_json(a));
	return SL_OK;
}

static int
smartid_list(struct cli_ctx *cc, bool json)
{
	json_t *arr = json_array(), *v;
	size_t i;
	int rc = store_sid_account_each(cc->cc_store, list_account, arr);

	if (rc != SL_OK) {
		json_decref(arr);
		return cli_error("cannot read the Smart-ID accounts: %s", sl_strerror(rc));
	}
	json_array_foreach(arr, i, v) account_more(cc, v);
	if (json) {
		cli_print_json(arr);
	} else {
		printf("%-24s %-30s %-16s %-8s %s\n", "ACCOUNT_ID", "NAME", "NATIONAL_NUMBER", "STATUS", "DEVICES");
		json_array_foreach(arr, i, v) printf("%-24s %-30s %-16s %-8s %lld\n",
			json_string_value(json_object_get(v, "id")), str_or_dash(json_object_get(v, "name")),
			str_or_dash(json_object_get(v, "national_number")),
			json_string_value(json_object_get(v, "status")),
			(long long)json_integer_value(json_object_get(v, "devices")));
	}
	json_decref(arr);
	return CLI_OK;
}

static int
list_device(const struct store_sid_device *d, void *arg)
{
	json_array_append_new(
		arg, json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:I,s:o}", "id", d->sd_id, "name", d->sd_name, "document_number",
			     d->sd_document, "status", d->sd_status, "reason", d->sd_reason, "created",
			     (json_int_t)d->sd_created, "last_used", cli_json_time(d->sd_last_used)));
	return SL_OK;
}

/* {"failures", "locked_until", "certificate_serial"} of a device's key. */
static json_t *
key_json(struct cli_ctx *cc, const char *device_id, const char *use)
{
	struct store_sid_key k;
	json_t *o;

	if (store_sid_key_get(cc->cc_store, device_id, use, &k) != SL_OK)
		return json_null();
	o = json_pack("{s:i,s:o,s:s?}", "failures", k.sk_failures, "locked_until", cli_json_lock(k.sk_locked_until),
		"certificate_serial", k.sk_cert_serial);
	store_sid_key_clear(&k);
	return o;
}

static void
print_key(const char *use, const json_t *k)
{
	char t[CLI_TIME_LEN];

	if (!json_is_object(k))
		return;
	printf("  %-4s  failures %lld, locked until %s, certificate %s\n", use,
		(long long)json_integer_value(json_object_get(k, "failures")),
		cli_text_time(json_object_get(k, "locked_until"), t),
		str_or_dash(json_object_get(k, "certificate_serial")));
}

static void
print_account(const json_t *o)
{
	char c[CLI_TIME_LEN], u[CLI_TIME_LEN];
	const json_t *devs = json_object_get(o, "device_list"), *v;
	size_t i;

	printf("%-16s %s\n%-16s %s\n%-16s %s\n%-16s %s\n%-16s %s\n%-16s %s\n%-16s %s\n\n", "id",
		json_string_value(json_object_get(o, "id")), "name", str_or_dash(json_object_get(o, "name")),
		"national_number", str_or_dash(json_object_get(o, "national_number")), "status",
		json_string_value(json_object_get(o, "status")), "email", str_or_dash(json_object_get(o, "email")),
		"phone", str_or_dash(json_object_get(o, "phone")), "created",
		cli_text_time(json_object_get(o, "created"), c));
	printf("%-24s %-8s %-28s %-20s %-20s %s\n", "DEVICE_ID", "STATUS", "DOCUMENT_NUMBER", "CREATED", "LAST USED",
		"NAME");
	json_array_foreach(devs, i, v)
	{
		printf("%-24s %-8s %-28s %-20s %-20s %s\n", json_string_value(json_object_get(v, "id")),
			json_string_value(json_object_get(v, "status")),
			json_string_value(json_object_get(v, "document_number")),
			cli_text_time(json_object_get(v, "created"), c),
			cli_text_time(json_object_get(v, "last_used"), u), str_or_dash(json_object_get(v, "name")));
		if (json_is_string(json_object_get(v, "reason")))
			printf("  ended: %s\n", json_string_value(json_object_get(v, "reason")));
		print_key(STORE_SID_KEY_AUTH, json_object_get(json_object_get(v, "keys"), STORE_SID_KEY_AUTH));
		print_key(STORE_SID_KEY_SIGN, json_object_get(json_object_get(v, "keys"), STORE_SID_KEY_SIGN));
	}
}

static int
smartid_show(struct cli_ctx *cc, const char *what, bool json)
{
	struct store_sid_account a;
	json_t *o, *devs = json_array(), *v;
	size_t i;

	if (account_find(cc, what, &a) != CLI_OK) {
		json_decref(devs);
		return CLI_FAIL;
	}
	store_sid_device_each(cc->cc_store, a.sa_id, list_device, devs);
	json_array_foreach(devs, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		json_object_set_new(v, "keys",
			json_pack("{s:o,s:o}", STORE_SID_KEY_AUTH, key_json(cc, id, STORE_SID_KEY_AUTH),
				STORE_SID_KEY_SIGN, key_json(cc, id, STORE_SID_KEY_SIGN)));
	}
	o = account_json(&a);
	store_sid_account_clear(&a);
	account_more(cc, o);
	json_object_set_new(o, "device_list", devs);
	if (json)
		cli_print_json(o);
	else
		print_account(o);
	json_decref(o);
	return CLI_OK;
}

/* The device's certificate of `use` revoked in the demo PKI; a warning
 * (not a failure: the device is revoked already) when that fails. */
static void
revoke_certificate(struct cli_ctx *cc, const char *device_id, const char *use)
{
	struct store_sid_key k;
	struct sl_err err = { 0 };
	int rc;

	if (store_sid_key_get(cc->cc_store, device_id, use, &k) != SL_OK || k.sk_cert_serial == NULL) {
		store_sid_key_clear(&k);
		cli_error("warning: device %s has no %s certificate on record", device_id, use);
		return;
	}
	rc = pki_revoke(cc->cc_conf->c_pki_dir, k.sk_cert_serial, &err);
	if (rc == SL_OK || rc == SL_ECONFLICT)
		printf("revoked certificate %s (%s)\n", k.sk_cert_serial, use);
	else
		cli_error("warning: certificate %s (%s) not revoked: %s", k.sk_cert_serial, use, err.msg);
	store_sid_key_clear(&k);
}

/* The value of `--opt VALUE` after argv[1], NULL when absent; *bad when
 * an option is unknown or lacks its value. */
static const char *
option(int argc, char **argv, const char *opt, bool *bad)
{
	const char *v = NULL;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], opt) == 0 && i + 1 < argc && v == NULL)
			v = argv[++i];
		else if (strcmp(argv[i], "--json") != 0)
			*bad = true;
	}
	return v;
}

/* A reason as an operator typed it: printable, bounded. */
static bool
reason_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > SID_REASON_MAX)
		return false;
	for (; *r != '\0'; r++)
		if ((unsigned char)*r < 0x20 || *r == 0x7f)
			return false;
	return true;
}

static int
device_find(struct cli_ctx *cc, const char *id, struct store_sid_device *d)
{
	memset(d, 0, sizeof(*d));
	if (strlen(id) > 64 || store_sid_device_get(cc->cc_store, id, d) != SL_OK)
		return cli_error("no Smart-ID device %.64s", id);
	return CLI_OK;
}

/* An audit record of a change to device `d`, naming its account's person;
 * for a revocation (`end_logins`) the person's Smart-ID logins end first
 * (store_key_logins_end), what ended appended to the detail.  SL_OK, or
 * the error of that end. */
static int
device_audit(struct cli_ctx *cc, const struct store_sid_device *d, const char *event, char *detail, size_t len,
	bool end_logins)
{
	struct store_sid_account a = { 0 };
	size_t used = strlen(detail);
	int rc = SL_OK, nses = 0, ntok = 0;

	store_sid_account_get(cc->cc_store, d->sd_account_id, &a);
	if (end_logins && a.sa_person_id != NULL) {
		rc = store_key_logins_end(cc->cc_store, a.sa_person_id, SID_AMR, NULL, &nses, &ntok);
		if (rc == SL_OK)
			snprintf(detail + used, len - used, "; %d sessions ended, %d tokens revoked", nses, ntok);
		else
			snprintf(detail + used, len - used, "; its logins were not ended: %s", sl_strerror(rc));
	}
	cli_audit_person(cc, event, a.sa_person_id, detail);
	store_sid_account_clear(&a);
	return rc;
}

static int
smartid_revoke(struct cli_ctx *cc, const char *id, const char *reason)
{
	struct store_sid_device d;
	char detail[512];
	int rc;

	if (device_find(cc, id, &d) != CLI_OK)
		return CLI_FAIL;
	rc = store_sid_device_end(cc->cc_store, d.sd_id, "revoked", reason);
	if (rc == SL_ECONFLICT) {
		rc = cli_error("device %s is %s already (%s)", d.sd_id, d.sd_status, d.sd_reason ? d.sd_reason : "-");
	} else if (rc != SL_OK) {
		rc = cli_error("device %s: %s", d.sd_id, sl_strerror(rc));
	} else {
		snprintf(detail, sizeof(detail), "device %s %s of account %s: %s", d.sd_id, d.sd_document,
			d.sd_account_id, reason);
		rc = device_audit(cc, &d, "smartid.revoke", detail, sizeof(detail), true) == SL_OK ? CLI_OK : CLI_FAIL;
		if (rc != CLI_OK)
			cli_error("device %s: its Smart-ID logins were not ended", d.sd_id);
		printf("revoked %s (%s)\n", d.sd_id, d.sd_document);
		if (cc->cc_conf->c_pki_dir != NULL) {
			revoke_certificate(cc, d.sd_id, STORE_SID_KEY_AUTH);
			revoke_certificate(cc, d.sd_id, STORE_SID_KEY_SIGN);
		}
	}
	store_sid_device_clear(&d);
	return rc;
}

static int
smartid_unlock(struct cli_ctx *cc, const char *id, const char *use)
{
	struct store_sid_device d;
	char detail[256];
	int rc;

	if (device_find(cc, id, &d) != CLI_OK)
		return CLI_FAIL;
	rc = store_sid_key_unlock(cc->cc_store, d.sd_id, use);
	if (rc != SL_OK) {
		rc = cli_error("device %s: %s", d.sd_id, sl_strerror(rc));
	} else {
		snprintf(detail, sizeof(detail), "device %s %s, %s", d.sd_id, d.sd_document, use ? use : "both keys");
		device_audit(cc, &d, "smartid.unlock", detail, sizeof(detail), false);
		printf("unlocked %s (%s)\n", d.sd_id, use ? use : "both keys");
		rc = CLI_OK;
	}
	store_sid_device_clear(&d);
	return rc;
}

/* revoke and unlock: the option, checked before the store is opened. */
static int
change_option(int argc, char **argv, const char **value)
{
	bool revoke = strcmp(argv[0], "revoke") == 0, bad = false;

	*value = option(argc, argv, revoke ? "--reason" : "--key", &bad);
	if (bad)
		return cli_error("smartid %s: unknown option or missing value (see sleutel smartid --help)", argv[0]),
		       CLI_USAGE;
	if (revoke && *value != NULL && !reason_ok(*value))
		return cli_error("smartid revoke: the reason must be 1 to %d printable characters", SID_REASON_MAX),
		       CLI_USAGE;
	if (!revoke && *value != NULL && strcmp(*value, STORE_SID_KEY_AUTH) != 0 &&
		strcmp(*value, STORE_SID_KEY_SIGN) != 0)
		return cli_error("smartid unlock: --key is auth or sign"), CLI_USAGE;
	if (revoke && *value == NULL)
		*value = "operator";
	return CLI_OK;
}

int
cli_smartid(const char *config, int argc, char **argv)
{
	static const char *const verbs[] = { "list", "show", "revoke", "unlock", NULL };
	struct cli_ctx cc;
	bool json = cli_has_flag(argc, argv, "--json");
	const char *value = NULL;
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		smartid_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	rc = cli_check_verb("smartid", argc, argv, verbs, 1,
		strcmp(argv[0], "show") == 0 ? "ACCOUNT_ID, DOCUMENT_NUMBER or NATIONAL_NUMBER" : "DEVICE_ID");
	if (rc == CLI_OK && (strcmp(argv[0], "revoke") == 0 || strcmp(argv[0], "unlock") == 0))
		rc = change_option(argc, argv, &value);
	if (rc != CLI_OK)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "list") == 0)
		rc = smartid_list(&cc, json);
	else if (strcmp(argv[0], "show") == 0)
		rc = smartid_show(&cc, argv[1], json);
	else if (strcmp(argv[0], "revoke") == 0)
		rc = smartid_revoke(&cc, argv[1], value);
	else
		rc = smartid_unlock(&cc, argv[1], value);
	cli_close(&cc);
	return rc;
}
