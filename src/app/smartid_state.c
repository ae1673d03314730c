/*
 * smartid_state.c — the "smartid" object of the app's state file:
 *
 *   "smartid": {"transport_key": "-----BEGIN PRIVATE KEY-----...",
 *     "registration_id": "...", "registration_status": "code",
 *     "device_id": "...", "account_id": "...", "document_number": "PNOBE-...",
 *     "camo_log2n": 15, "camo_r": 8, "camo_p": 1,
 *     "auth": {"key": {sk_device_key_to_json}, "n": "<b64url>", "certificate": "PEM"},
 *     "sign": {...}}
 *
 * "n" is absent while the registration is at "code" (the server makes its
 * keys when the portal confirms, and GET /register brings the moduli);
 * files written when the start's answer brought them still parse.
 *
 * Either a registration (id and status, no certificates) or an active
 * device (device, account, document number and both certificates), never
 * both.  Parsed as strictly as the rest of the file: each device key goes
 * through sk_device_key_from_json and must be of its use; nothing here
 * depends on the PINs except through the camouflaged shares.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "app_int.h"

static const char *const sid_members[] = { "transport_key", "registration_id", "registration_status", "device_id",
	"account_id", "document_number", "camo_log2n", "camo_r", "camo_p", "auth", "sign", NULL };
static const char *const key_members[] = { "key", "n", "certificate", NULL };

const char *
sapp_sid_use_name(enum sapp_sid_use use)
{
	return use == SAPP_SID_SIGN ? "sign" : "auth";
}

static bool
b64url_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
			    *s == '_'))
			return false;
	return true;
}

/* One key: the device key (checked, of this use), n, the certificate. */
static int
parse_key(const json_t *obj, enum sapp_sid_use use, struct sapp_sid_key *out, struct sl_err *err)
{
	const char *name = sapp_sid_use_name(use);
	struct sk_device_key dev = { 0 };
	char *text;
	int rc;

	if ((rc = sapp_json_members(obj, name, key_members, err)) != SL_OK)
		return rc;
	if (!json_is_object(json_object_get(obj, "key")))
		return sl_fail(err, SL_EINVAL, "state: smartid %s has no key", name);
	text = json_dumps(json_object_get(obj, "key"), JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (strlen(text) >= sizeof(out->sk_device))
		rc = sl_fail(err, SL_EINVAL, "state: smartid %s key is too long", name);
	else if ((rc = sk_device_key_from_json(text, &dev, err)) != SL_OK) {
		char why[160];
		sl_strlcpy(why, err ? err->msg : "malformed", sizeof(why)); /* sl_fail writes err->msg */
		rc = sl_fail(err, SL_EINVAL, "state: smartid %s key: %s", name, why);
	} else if (strcmp(dev.dk_info, use == SAPP_SID_SIGN ? SK_INFO_SIGN : SK_INFO_AUTH) != 0)
		rc = sl_fail(err, SL_EINVAL, "state: smartid %s key is of the other use", name);
	if (rc == SL_OK)
		memcpy(out->sk_device, text, strlen(text) + 1);
	sk_device_key_clear(&dev);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (rc != SL_OK)
		return rc;
	if ((rc = sapp_json_str(obj, "n", out->sk_n, sizeof(out->sk_n), err)) != SL_OK ||
		(rc = sapp_json_str(obj, "certificate", out->sk_cert, sizeof(out->sk_cert), err)) != SL_OK)
		return rc;
	if (out->sk_n[0] != '\0' && !b64url_ok(out->sk_n))
		return sl_fail(err, SL_EINVAL, "state: smartid %s n is not base64url", name);
	if (out->sk_cert[0] != '\0' && strncmp(out->sk_cert, "-----BEGIN CERTIFICATE-----", 27) != 0)
		return sl_fail(err, SL_EINVAL, "state: smartid %s certificate is not PEM", name);
	return SL_OK;
}

/* What the members say together: a registration or an active device. */
static int
check_sid(const struct sapp_sid_state *ss, struct sl_err *err)
{
	bool reg = ss->ss_registration_id[0] != '\0', active = ss->ss_device_id[0] != '\0';
	const char *st = ss->ss_registration_status;

	if (ss->ss_transport_key[0] == '\0')
		return sl_fail(err, SL_EINVAL, "state: smartid has no transport_key");
	if (reg == active)
		return sl_fail(err, SL_EINVAL, "state: smartid is a registration or a device, one of the two");
	if (reg && (!sapp_id_ok(ss->ss_registration_id) || (strcmp(st, "code") != 0 && strcmp(st, "confirmed") != 0)))
		return sl_fail(err, SL_EINVAL, "state: smartid registration_id or registration_status is bad");
	if (!reg && st[0] != '\0')
		return sl_fail(err, SL_EINVAL, "state: smartid registration_status without a registration");
	if (active &&
		(!sapp_id_ok(ss->ss_device_id) || !sapp_id_ok(ss->ss_account_id) || ss->ss_document_number[0] == '\0' ||
			!sl_str_printable(ss->ss_document_number, strlen(ss->ss_document_number))))
		return sl_fail(
			err, SL_EINVAL, "state: smartid device_id, account_id and document_number come together");
	if (!active && (ss->ss_account_id[0] != '\0' || ss->ss_document_number[0] != '\0'))
		return sl_fail(err, SL_EINVAL, "state: smartid account_id or document_number without a device");
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		if ((ss->ss_keys[i].sk_cert[0] != '\0') != active)
			return sl_fail(err, SL_EINVAL, "state: smartid certificates come with an active device only");
		if (ss->ss_keys[i].sk_n[0] == '\0' && !(reg && strcmp(st, "code") == 0))
			return sl_fail(err, SL_EINVAL, "state: smartid %s has no n past the registration code",
				sapp_sid_use_name((enum sapp_sid_use)i));
	}
	return camo_params_check(&ss->ss_params, err) == SL_OK
		       ? SL_OK
		       : sl_fail(err, SL_EINVAL, "state: smartid scrypt cost is bad");
}

int
sapp_sid_parse(const json_t *obj, struct sapp_sid_state *out, struct sl_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sapp_json_members(obj, "smartid", sid_members, err)) != SL_OK ||
		(rc = sapp_json_str(obj, "transport_key", out->ss_transport_key, sizeof(out->ss_transport_key), err)) !=
			SL_OK ||
		(rc = sapp_json_str(obj, "registration_id", out->ss_registration_id, sizeof(out->ss_registration_id),
			 err)) != SL_OK ||
		(rc = sapp_json_str(obj, "registration_status", out->ss_registration_status,
			 sizeof(out->ss_registration_status), err)) != SL_OK ||
		(rc = sapp_json_str(obj, "device_id", out->ss_device_id, sizeof(out->ss_device_id), err)) != SL_OK ||
		(rc = sapp_json_str(obj, "account_id", out->ss_account_id, sizeof(out->ss_account_id), err)) != SL_OK ||
		(rc = sapp_json_str(obj, "document_number", out->ss_document_number, sizeof(out->ss_document_number),
			 err)) != SL_OK ||
		(rc = sapp_json_u32(obj, "camo_log2n", &out->ss_params.cp_log2n, err)) != SL_OK ||
		(rc = sapp_json_u32(obj, "camo_r", &out->ss_params.cp_r, err)) != SL_OK ||
		(rc = sapp_json_u32(obj, "camo_p", &out->ss_params.cp_p, err)) != SL_OK)
		return rc;
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		const json_t *k = json_object_get(obj, sapp_sid_use_name((enum sapp_sid_use)i));
		if (k == NULL)
			return sl_fail(err, SL_EINVAL, "state: smartid has no %s key", sapp_sid_use_name(i));
		if ((rc = parse_key(k, (enum sapp_sid_use)i, &out->ss_keys[i], err)) != SL_OK)
			return rc;
	}
	if ((rc = check_sid(out, err)) != SL_OK)
		return rc;
	out->ss_present = true;
	return SL_OK;
}

static json_t *
format_key(const struct sapp_sid_key *k)
{
	json_t *o = json_object(), *dev = json_loads(k->sk_device, JSON_REJECT_DUPLICATES, NULL);

	if (o == NULL || dev == NULL) {
		json_decref(o);
		json_decref(dev);
		return NULL;
	}
	json_object_set_new(o, "key", dev);
	sapp_json_put(o, "n", k->sk_n);
	sapp_json_put(o, "certificate", k->sk_cert);
	return o;
}

int
sapp_sid_format(const struct sapp_sid_state *ss, json_t **out, struct sl_err *err)
{
	json_t *o;
	int rc;

	*out = NULL;
	if ((rc = check_sid(ss, err)) != SL_OK)
		return rc;
	if ((o = json_object()) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	sapp_json_put(o, "transport_key", ss->ss_transport_key);
	sapp_json_put(o, "registration_id", ss->ss_registration_id);
	sapp_json_put(o, "registration_status", ss->ss_registration_status);
	sapp_json_put(o, "device_id", ss->ss_device_id);
	sapp_json_put(o, "account_id", ss->ss_account_id);
	sapp_json_put(o, "document_number", ss->ss_document_number);
	json_object_set_new(o, "camo_log2n", json_integer(ss->ss_params.cp_log2n));
	json_object_set_new(o, "camo_r", json_integer(ss->ss_params.cp_r));
	json_object_set_new(o, "camo_p", json_integer(ss->ss_params.cp_p));
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		json_t *k = format_key(&ss->ss_keys[i]);
		if (k == NULL) {
			json_decref(o);
			return sl_fail(err, SL_EINVAL, "state: smartid %s key is malformed", sapp_sid_use_name(i));
		}
		json_object_set_new(o, sapp_sid_use_name((enum sapp_sid_use)i), k);
	}
	*out = o;
	return SL_OK;
}
