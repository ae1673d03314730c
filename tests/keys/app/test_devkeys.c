/* test_devkeys.c — a device's parsed keys kept per exact store row
 * (devkeys.c): the same row gives the same key without parsing again; a
 * row whose texts changed, another device or an entry past its lifetime is
 * parsed anew; a bad JWK or a failed opening keeps nothing; the table
 * stays within its slots; a key handed out outlives its entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../../../src/keys/app/device_int.h"

#define NOW 1800000000

/* A fresh P-256 public JWK as the store keeps it (compact text). */
static char *
jwk_text(void)
{
	struct jose_key *k = jose_key_generate("ES256", "t", NULL);
	json_t *pub, *o;
	char *text;

	assert_non_null(k);
	pub = jose_key_public_jwk(k);
	assert_non_null(pub);
	o = json_pack("{s:s,s:s,s:O,s:O}", "kty", "EC", "crv", "P-256", "x", json_object_get(pub, "x"), "y",
		json_object_get(pub, "y"));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	json_decref(pub);
	jose_key_free(k);
	return text;
}

struct opener {
	int calls;
	bool fail;
	EVP_PKEY *key;
};

static EVP_PKEY *
open_q(void *arg, const char *device_id, const char *sealed, struct sl_err *err)
{
	struct opener *o = arg;

	(void)device_id;
	(void)sealed;
	o->calls++;
	if (o->fail) {
		sl_fail(err, SL_EDENIED, "does not open");
		return NULL;
	}
	EVP_PKEY_up_ref(o->key);
	return o->key;
}

static void
test_transport_kept_per_row(void **state)
{
	struct app_devkeys *dk = app_devkeys_new();
	char *jwk = jwk_text(), *other = jwk_text(), jkt[APP_JKT_LEN + 1];
	struct store_device dev = { .dv_id = "dev-1", .dv_transport_jwk = jwk, .dv_confirm_key = "sealed-q" };
	struct jose_key *a, *b, *c, *d, *e;
	json_t *j = json_loads(jwk, 0, NULL);

	(void)state;
	assert_non_null(dk);
	assert_int_equal(app_jwk_thumbprint(j, jkt, NULL), SL_OK);
	a = app_devkeys_transport(dk, &dev, NOW, NULL);
	assert_non_null(a);
	assert_string_equal(jose_key_kid(a), jkt); /* the kid a proof must name */
	b = app_devkeys_transport(dk, &dev, NOW + 1, NULL);
	assert_ptr_equal(a, b); /* kept: not parsed again */
	assert_int_equal(app_devkeys_count(dk), 1);
	/* The store's row changed (another key): parsed anew. */
	dev.dv_transport_jwk = other;
	c = app_devkeys_transport(dk, &dev, NOW + 2, NULL);
	assert_non_null(c);
	assert_ptr_not_equal(c, a);
	assert_string_not_equal(jose_key_kid(c), jkt);
	/* The first key was handed out before its entry went: still usable. */
	assert_string_equal(jose_key_kid(a), jkt);
	/* Only the sealed Q changed: the entry is another row's, made again. */
	dev.dv_confirm_key = "sealed-q2";
	d = app_devkeys_transport(dk, &dev, NOW + 3, NULL);
	assert_ptr_not_equal(d, c);
	/* Past its lifetime: made again, though the row is the same. */
	e = app_devkeys_transport(dk, &dev, NOW + 3 + APP_DEVKEYS_TTL, NULL);
	assert_ptr_not_equal(e, d);
	assert_string_equal(jose_key_kid(e), jose_key_kid(d));
	for (struct jose_key **k = (struct jose_key *[]){ a, b, c, d, e, NULL }; *k; k++)
		jose_key_free(*k);
	json_decref(j);
	free(jwk);
	free(other);
	app_devkeys_free(dk);
}

static void
test_transport_refused(void **state)
{
	struct app_devkeys *dk = app_devkeys_new();
	struct store_device dev = { .dv_id = "dev-2", .dv_confirm_key = "q" };
	struct sl_err err = { 0 };
	/* x, y not a point on P-256 */
	char bad[] = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		     "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}";

	(void)state;
	assert_non_null(dk);
	assert_null(app_devkeys_transport(dk, &dev, NOW, &err)); /* no JWK at all */
	dev.dv_transport_jwk = "not json";
	assert_null(app_devkeys_transport(dk, &dev, NOW, &err));
	dev.dv_transport_jwk = bad;
	assert_null(app_devkeys_transport(dk, &dev, NOW, &err));
	assert_int_equal(err.code, SL_EINVAL);
	assert_int_equal(app_devkeys_count(dk), 0); /* nothing kept for a refusal */
	app_devkeys_free(dk);
}

static void
test_confirm_kept_per_row(void **state)
{
	struct app_devkeys *dk = app_devkeys_new();
	char *jwk = jwk_text();
	struct store_device dev = { .dv_id = "dev-3", .dv_transport_jwk = jwk, .dv_confirm_key = "sealed-a" };
	struct opener o = { .key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") };
	EVP_PKEY *q[5];

	(void)state;
	assert_non_null(dk);
	q[0] = app_devkeys_confirm(dk, &dev, NOW, open_q, &o, NULL);
	assert_ptr_equal(q[0], o.key);
	assert_int_equal(o.calls, 1);
	q[1] = app_devkeys_confirm(dk, &dev, NOW + 1, open_q, &o, NULL);
	assert_int_equal(o.calls, 1); /* kept */
	/* The transport key of the same row shares the entry. */
	jose_key_free(app_devkeys_transport(dk, &dev, NOW + 1, NULL));
	q[2] = app_devkeys_confirm(dk, &dev, NOW + 2, open_q, &o, NULL);
	assert_int_equal(o.calls, 1);
	assert_int_equal(app_devkeys_count(dk), 1);
	/* Q sealed anew in the store: opened again. */
	dev.dv_confirm_key = "sealed-b";
	q[3] = app_devkeys_confirm(dk, &dev, NOW + 3, open_q, &o, NULL);
	assert_int_equal(o.calls, 2);
	/* Another device: its own opening. */
	dev.dv_id = "dev-4";
	q[4] = app_devkeys_confirm(dk, &dev, NOW + 3, open_q, &o, NULL);
	assert_int_equal(o.calls, 3);
	/* A failed opening keeps nothing, and is tried again next time. */
	o.fail = true;
	dev.dv_id = "dev-5";
	assert_null(app_devkeys_confirm(dk, &dev, NOW + 4, open_q, &o, NULL));
	assert_null(app_devkeys_confirm(dk, &dev, NOW + 4, open_q, &o, NULL));
	assert_int_equal(o.calls, 5);
	dev.dv_confirm_key = NULL;
	assert_null(app_devkeys_confirm(dk, &dev, NOW + 4, open_q, &o, NULL));
	assert_int_equal(o.calls, 5); /* no sealed Q: nothing to open */
	for (int i = 0; i < 5; i++)
		EVP_PKEY_free(q[i]);
	app_devkeys_free(dk);
	EVP_PKEY_free(o.key);
	free(jwk);
}

static void
test_bounded(void **state)
{
	struct app_devkeys *dk = app_devkeys_new();
	struct opener o = { .key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") };
	char id[32], *jwk = jwk_text();
	struct store_device dev = { .dv_id = id, .dv_transport_jwk = jwk, .dv_confirm_key = "q" };
	char longid[APP_ID_MAX + 2];

	(void)state;
	assert_non_null(dk);
	for (int i = 0; i < 3 * APP_DEVKEYS_SLOTS; i++) {
		snprintf(id, sizeof(id), "device-%d", i);
		EVP_PKEY_free(app_devkeys_confirm(dk, &dev, NOW, open_q, &o, NULL));
	}
	assert_int_equal(o.calls, 3 * APP_DEVKEYS_SLOTS);
	assert_true(app_devkeys_count(dk) <= APP_DEVKEYS_SLOTS);
	assert_true(app_devkeys_count(dk) > APP_DEVKEYS_SLOTS / 2);
	/* An id longer than any real one is served, not kept. */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	dev.dv_id = longid;
	EVP_PKEY_free(app_devkeys_confirm(dk, &dev, NOW, open_q, &o, NULL));
	EVP_PKEY_free(app_devkeys_confirm(dk, &dev, NOW, open_q, &o, NULL));
	assert_int_equal(o.calls, 3 * APP_DEVKEYS_SLOTS + 2);
	app_devkeys_free(dk);
	app_devkeys_free(NULL);
	EVP_PKEY_free(o.key);
	free(jwk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_kept_per_row),
		cmocka_unit_test(test_transport_refused),
		cmocka_unit_test(test_confirm_kept_per_row),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
