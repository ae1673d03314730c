/*
 * state.c — the app's state file: a small JSON document with a version.
 *
 *   {"version": 1, "server": "https://...", "ca_file": "/path/ca.pem",
 *    "transport_key": "-----BEGIN PRIVATE KEY-----...",
 *    "enrollment_id": "...", "enrollment_status": "sms",
 *    "device_id": "...", "account_id": "...", "phone": "+32470123456",
 *    "confirm_c": "<b64url 32 bytes>", "confirm_salt": "<b64url 16 bytes>",
 *    "confirm_log2n": 15, "confirm_r": 8, "confirm_p": 1,
 *    "smartid": {...}}
 *
 * "smartid" (smartid_state.c) is the Smart-ID device: its own transport
 * key, the registration or the active device, and the two split keys.
 *
 * The parser is strict because the file is input like any other (a phone
 * backup, a copied file): unknown members, duplicates, wrong types and
 * every length are refused.  The confirmation members come as a set, and
 * nothing here depends on the app code (PROTOCOL.md, "Camouflage").
 *
 * The file must be private to its owner: one readable by group or others
 * is refused rather than used, as ssh does with private keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "app_int.h"

static const char *const state_members[] = { "version", "server", "ca_file", "transport_key", "enrollment_id",
	"enrollment_status", "device_id", "account_id", "phone", "confirm_c", "confirm_salt", "confirm_log2n",
	"confirm_r", "confirm_p", "smartid", NULL };

static const char *const confirm_members[] = { "confirm_c", "confirm_salt", "confirm_log2n", "confirm_r", "confirm_p",
	NULL };

static const char *const enroll_statuses[] = { "sms", "proofing", "proof_code", "proofed", "done", NULL };

bool
sapp_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= SAPP_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_'))
			return false;
	}
	return true;
}

bool
sapp_phone_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 9 || n > 16 || s[0] != '+')
		return false;
	for (size_t i = 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

int
sapp_json_members(const json_t *doc, const char *what, const char *const *allowed, struct sl_err *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(doc))
		return sl_fail(err, SL_EINVAL, "state: %s is not a JSON object", what);
	json_object_foreach((json_t *)doc, key, v)
	{
		if (!in_list(key, allowed))
			return sl_fail(err, SL_EINVAL, "state: unknown member \"%.40s\" in %s", key, what);
	}
	return SL_OK;
}

int
sapp_json_str(const json_t *doc, const char *name, char *dst, size_t size, struct sl_err *err)
{
	json_t *v = json_object_get(doc, name);
	const char *s;
	size_t n;

	dst[0] = '\0';
	if (v == NULL)
		return SL_OK;
	if (!json_is_string(v))
		return sl_fail(err, SL_EINVAL, "state: %s is not a string", name);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= size || strlen(s) != n)
		return sl_fail(err, SL_EINVAL, "state: %s has a bad length", name);
	memcpy(dst, s, n + 1);
	return SL_OK;
}

/* base64url of exactly `len` bytes. */
static int
get_bytes(json_t *doc, const char *name, uint8_t *dst, size_t len, struct sl_err *err)
{
	const char *s = json_string_value(json_object_get(doc, name));
	uint8_t *raw;
	size_t n = 0;

	if (s == NULL || strlen(s) > 2 * len)
		return sl_fail(err, SL_EINVAL, "state: %s is missing or too long", name);
	raw = sl_b64url_decode(s, strlen(s), &n);
	if (raw == NULL || n != len) {
		free(raw);
		return sl_fail(err, SL_EINVAL, "state: %s is not %zu bytes of base64url", name, len);
	}
	memcpy(dst, raw, len);
	OPENSSL_cleanse(raw, len);
	free(raw);
	return SL_OK;
}

int
sapp_json_u32(const json_t *doc, const char *name, uint32_t *out, struct sl_err *err)
{
	json_t *v = json_object_get(doc, name);

	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 20)
		return sl_fail(err, SL_EINVAL, "state: %s is not a small positive integer", name);
	*out = (uint32_t)json_integer_value(v);
	return SL_OK;
}

static int
parse_confirm(json_t *doc, struct sapp_state *st, struct sl_err *err)
{
	int present = 0, rc;

	for (size_t i = 0; confirm_members[i] != NULL; i++)
		present += json_object_get(doc, confirm_members[i]) != NULL;
	if (present == 0)
		return SL_OK;
	if (present != 5)
		return sl_fail(err, SL_EINVAL, "state: the confirm_* members come together");
	if ((rc = get_bytes(doc, "confirm_c", st->st_c, sizeof(st->st_c), err)) != SL_OK ||
		(rc = get_bytes(doc, "confirm_salt", st->st_salt, sizeof(st->st_salt), err)) != SL_OK ||
		(rc = sapp_json_u32(doc, "confirm_log2n", &st->st_params.cp_log2n, err)) != SL_OK ||
		(rc = sapp_json_u32(doc, "confirm_r", &st->st_params.cp_r, err)) != SL_OK ||
		(rc = sapp_json_u32(doc, "confirm_p", &st->st_params.cp_p, err)) != SL_OK)
		return rc;
	if (camo_params_check(&st->st_params, err) != SL_OK)
		return sl_fail(err, SL_EINVAL, "state: bad scrypt parameters");
	st->st_has_confirm = true;
	return SL_OK;
}

/* What the members say together: a consistent phase. */
static int
check_state(const struct sapp_state *st, struct sl_err *err)
{
	bool enrolled = st->st_device_id[0] != '\0';

	if (strncmp(st->st_server, "https://", 8) != 0 && strncmp(st->st_server, "http://", 7) != 0)
		return sl_fail(err, SL_EINVAL, "state: server is not an http(s) URL");
	if (!sl_str_printable(st->st_server, strlen(st->st_server)) ||
		!sl_str_printable(st->st_ca_file, strlen(st->st_ca_file)))
		return sl_fail(err, SL_EINVAL, "state: server or ca_file has control characters");
	if (st->st_transport_key[0] == '\0')
		return sl_fail(err, SL_EINVAL, "state: no transport_key");
	if ((st->st_enrollment_id[0] != '\0') != (st->st_enrollment_status[0] != '\0'))
		return sl_fail(err, SL_EINVAL, "state: enrollment_id and enrollment_status come together");
	if (st->st_enrollment_id[0] != '\0' && !sapp_id_ok(st->st_enrollment_id))
		return sl_fail(err, SL_EINVAL, "state: enrollment_id is not an id");
	if (st->st_enrollment_status[0] != '\0' && !in_list(st->st_enrollment_status, enroll_statuses))
		return sl_fail(err, SL_EINVAL, "state: unknown enrollment_status");
	if (enrolled != (st->st_account_id[0] != '\0') || enrolled != (st->st_phone[0] != '\0') ||
		enrolled != st->st_has_confirm)
		return sl_fail(err, SL_EINVAL, "state: device_id, account_id, phone and confirm_* come together");
	if (enrolled && (!sapp_id_ok(st->st_device_id) || !sapp_id_ok(st->st_account_id)))
		return sl_fail(err, SL_EINVAL, "state: device_id or account_id is not an id");
	if (enrolled && !sapp_phone_ok(st->st_phone))
		return sl_fail(err, SL_EINVAL, "state: phone is not +<digits>");
	if (enrolled && st->st_enrollment_id[0] != '\0')
		return sl_fail(err, SL_EINVAL, "state: enrolled and enrolling at once");
	return SL_OK;
}

static int
parse_doc(json_t *doc, struct sapp_state *st, struct sl_err *err)
{
	json_t *v;
	int rc;

	if ((rc = sapp_json_members(doc, "the state", state_members, err)) != SL_OK)
		return rc;
	v = json_object_get(doc, "version");
	if (!json_is_integer(v) || json_integer_value(v) != SAPP_STATE_VERSION)
		return sl_fail(err, SL_EINVAL, "state: version is not %d", SAPP_STATE_VERSION);
	if ((rc = sapp_json_str(doc, "server", st->st_server, sizeof(st->st_server), err)) != SL_OK ||
		(rc = sapp_json_str(doc, "ca_file", st->st_ca_file, sizeof(st->st_ca_file), err)) != SL_OK ||
		(rc = sapp_json_str(doc, "transport_key", st->st_transport_key, sizeof(st->st_transport_key), err)) !=
			SL_OK ||
		(rc = sapp_json_str(doc, "enrollment_id", st->st_enrollment_id, sizeof(st->st_enrollment_id), err)) !=
			SL_OK ||
		(rc = sapp_json_str(doc, "enrollment_status", st->st_enrollment_status,
			 sizeof(st->st_enrollment_status), err)) != SL_OK ||
		(rc = sapp_json_str(doc, "device_id", st->st_device_id, sizeof(st->st_device_id), err)) != SL_OK ||
		(rc = sapp_json_str(doc, "account_id", st->st_account_id, sizeof(st->st_account_id), err)) != SL_OK ||
		(rc = sapp_json_str(doc, "phone", st->st_phone, sizeof(st->st_phone), err)) != SL_OK ||
		(rc = parse_confirm(doc, st, err)) != SL_OK)
		return rc;
	if (json_object_get(doc, "smartid") != NULL &&
		(rc = sapp_sid_parse(json_object_get(doc, "smartid"), &st->st_sid, err)) != SL_OK)
		return rc;
	return check_state(st, err);
}

int
sapp_state_parse(const char *json, size_t len, struct sapp_state *out, struct sl_err *err)
{
	json_error_t je;
	json_t *doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > SAPP_STATE_MAX)
		return sl_fail(err, SL_ETOOBIG, "state: larger than %zu bytes", SAPP_STATE_MAX);
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return sl_fail(err, SL_EINVAL, "state: not JSON (line %d: %s)", je.line, je.text);
	rc = parse_doc(doc, out, err);
	json_decref(doc);
	if (rc != SL_OK)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

void
sapp_json_put(json_t *doc, const char *name, const char *s)
{
	if (s[0] != '\0')
		json_object_set_new(doc, name, json_string(s));
}

static int
put_bytes(json_t *doc, const char *name, const uint8_t *b, size_t len)
{
	char *enc = sl_b64url_encode(b, len);

	if (enc == NULL)
		return SL_ENOMEM;
	json_object_set_new(doc, name, json_string(enc));
	OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return SL_OK;
}

char *
sapp_state_format(const struct sapp_state *st, struct sl_err *err)
{
	json_t *doc = json_object();
	char *text = NULL;
	int rc = SL_OK;

	if (doc == NULL || check_state(st, err) != SL_OK) {
		json_decref(doc);
		if (doc == NULL)
			sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	json_object_set_new(doc, "version", json_integer(SAPP_STATE_VERSION));
	sapp_json_put(doc, "server", st->st_server);
	sapp_json_put(doc, "ca_file", st->st_ca_file);
	sapp_json_put(doc, "transport_key", st->st_transport_key);
	sapp_json_put(doc, "enrollment_id", st->st_enrollment_id);
	sapp_json_put(doc, "enrollment_status", st->st_enrollment_status);
	sapp_json_put(doc, "device_id", st->st_device_id);
	sapp_json_put(doc, "account_id", st->st_account_id);
	sapp_json_put(doc, "phone", st->st_phone);
	if (st->st_has_confirm) {
		rc |= put_bytes(doc, "confirm_c", st->st_c, sizeof(st->st_c));
		rc |= put_bytes(doc, "confirm_salt", st->st_salt, sizeof(st->st_salt));
		json_object_set_new(doc, "confirm_log2n", json_integer(st->st_params.cp_log2n));
		json_object_set_new(doc, "confirm_r", json_integer(st->st_params.cp_r));
		json_object_set_new(doc, "confirm_p", json_integer(st->st_params.cp_p));
	}
	if (rc == SL_OK && st->st_sid.ss_present) {
		json_t *sid = NULL;
		if (sapp_sid_format(&st->st_sid, &sid, err) != SL_OK) {
			json_decref(doc);
			return NULL; /* err says why */
		}
		json_object_set_new(doc, "smartid", sid);
	}
	if (rc == SL_OK)
		text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc); /* jansson frees, does not wipe: the PEM is wiped by the caller's text only */
	if (text == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	return text;
}

void
sapp_state_free_text(char *text)
{
	if (text == NULL)
		return;
	OPENSSL_cleanse(text, strlen(text));
	free(text);
}

/* Read the whole file from an open descriptor, at most SAPP_STATE_MAX. */
static int
read_fd(int fd, const char *path, char **out, size_t *outlen, struct sl_err *err)
{
	struct sl_buf buf;
	char chunk[4096];
	ssize_t n;
	int rc = SL_OK;

	sl_buf_init(&buf, SAPP_STATE_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sl_fail(err, SL_EIO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (sl_buf_add(&buf, chunk, (size_t)n) != SL_OK) {
			rc = sl_fail(err, SL_ETOOBIG, "%s: larger than %zu bytes", path, SAPP_STATE_MAX);
			break;
		}
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc != SL_OK) {
		if (buf.b_data != NULL)
			OPENSSL_cleanse(buf.b_data, buf.b_len);
		sl_buf_reset(&buf);
		return rc;
	}
	*outlen = buf.b_len;
	*out = sl_buf_take(&buf);
	if (*out == NULL)
		*out = strdup("");
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

int
sapp_state_load(const char *path, struct sapp_state *out, struct sl_err *err)
{
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sl_fail(
			err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return sl_fail(err, SL_EIO, "%s is not a regular file", path);
	}
	if ((sb.st_mode & 077) != 0) {
		close(fd);
		return sl_fail(err, SL_EDENIED, "%s is open to others (mode %03o): chmod 600 it first", path,
			(unsigned int)(sb.st_mode & 0777));
	}
	rc = read_fd(fd, path, &text, &len, err);
	close(fd);
	if (rc != SL_OK)
		return rc;
	rc = sapp_state_parse(text, len, out, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int
sapp_state_save(const char *path, const struct sapp_state *st, struct sl_err *err)
{
	char *text = sapp_state_format(st, err);
	int rc;

	if (text == NULL)
		return err ? err->code : SL_ERR;
	rc = sl_file_write(path, text, strlen(text), 0600, err);
	sapp_state_free_text(text);
	return rc;
}
