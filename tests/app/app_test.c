/*
 * app_test.c — helpers the libsleutel-app unit tests share (app_test.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <unistd.h>

#include "app_test.h"

json_t *
app_test_state_doc(const struct sapp_state *st)
{
	struct sl_err err;
	char *text = sapp_state_format(st, &err);
	json_t *doc;

	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	sapp_state_free_text(text);
	assert_non_null(doc);
	return doc;
}

int
app_test_parse_doc(json_t *doc, struct sl_err *err)
{
	struct sapp_state *st = malloc(sizeof(*st)); /* large: two Smart-ID keys */
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	assert_non_null(st);
	assert_non_null(text);
	rc = sapp_state_parse(text, strlen(text), st, err);
	free(text);
	free(st);
	return rc;
}

int
app_test_rmdir(const char *dir)
{
	char path[1024];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

void
app_test_path(const char *dir, char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
	unlink(out);
}

static void
b64_bn(const BIGNUM *n, char *out, size_t size)
{
	uint8_t buf[1024];
	int len = BN_bn2bin(n, buf);
	char *enc = sl_b64url_encode(buf, (size_t)len);

	assert_non_null(enc);
	sl_strlcpy(out, enc, size);
	free(enc);
}

void
app_test_sid_state(struct sapp_state *st, const struct sk_device_key dev[SAPP_SID_NKEYS],
	const struct sk_server_key srv[SAPP_SID_NKEYS], const struct camo_params *cheap, bool active)
{
	struct sapp_sid_state *ss = &st->st_sid;
	struct sl_err err;

	memset(st, 0, sizeof(*st));
	sl_strlcpy(st->st_server, "https://127.0.0.1:8443", sizeof(st->st_server));
	assert_int_equal(sapp_transport_generate(st->st_transport_key, &err), SL_OK);
	ss->ss_present = true;
	assert_int_equal(sapp_transport_generate(ss->ss_transport_key, &err), SL_OK);
	ss->ss_params = *cheap;
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		char *text = sk_device_key_to_json(&dev[i]);
		assert_non_null(text);
		sl_strlcpy(ss->ss_keys[i].sk_device, text, sizeof(ss->ss_keys[i].sk_device));
		free(text);
		b64_bn(srv[i].sk_n, ss->ss_keys[i].sk_n, sizeof(ss->ss_keys[i].sk_n));
	}
	if (!active) {
		sl_strlcpy(ss->ss_registration_id, "reg_0123456789abcdefghij", sizeof(ss->ss_registration_id));
		sl_strlcpy(ss->ss_registration_status, "code", sizeof(ss->ss_registration_status));
		return;
	}
	sl_strlcpy(ss->ss_device_id, "dev_0123456789abcdefghij", sizeof(ss->ss_device_id));
	sl_strlcpy(ss->ss_account_id, "acc_0123456789abcdefghij", sizeof(ss->ss_account_id));
	sl_strlcpy(ss->ss_document_number, "PNOBE-85010112345-A1B2-Q", sizeof(ss->ss_document_number));
	for (int i = 0; i < SAPP_SID_NKEYS; i++)
		sl_strlcpy(ss->ss_keys[i].sk_cert, APP_TEST_FAKE_PEM, sizeof(ss->ss_keys[i].sk_cert));
}

int
app_test_sid_keygen(struct sk_device_key dev[SAPP_SID_NKEYS], struct sk_server_key srv[SAPP_SID_NKEYS],
	const struct camo_params *cheap, const char *pin1, const char *pin2)
{
	struct sk_params p = { APP_TEST_SID_BITS, APP_TEST_SID_BITS, cheap };
	struct sl_err err;

	if (sk_device_keygen(&p, SK_INFO_AUTH, pin1, &dev[0], &srv[0], &err) != SL_OK ||
		sk_device_keygen(&p, SK_INFO_SIGN, pin2, &dev[1], &srv[1], &err) != SL_OK ||
		sk_server_keygen(&p, &srv[0], &err) != SL_OK || sk_server_keygen(&p, &srv[1], &err) != SL_OK)
		return SL_ECRYPTO;
	return SL_OK;
}

void
app_test_sid_keys_clear(struct sk_device_key dev[SAPP_SID_NKEYS], struct sk_server_key srv[SAPP_SID_NKEYS])
{
	for (int i = 0; i < SAPP_SID_NKEYS; i++) {
		sk_device_key_clear(&dev[i]);
		sk_server_key_clear(&srv[i]);
	}
}
