/*
 * test_smartid.c — libsleutel-app's Smart-ID side without a server: the
 * "smartid" object of the state file (round trip, privacy, every refusal
 * of the strict parser, with a control showing the unchanged document
 * passes), the app's half of a split-key signature (the advanced key is
 * on disk before the part exists; the sealed part completes on a server
 * key made here, and a wrong PIN's does not; two handles on one file
 * sign at successive versions and a stale one never rolls the key back),
 * the checks a request must
 * pass before a PIN is asked (binding hash computed here by hand,
 * verification code, tampering of each bound field), and the PIN forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "app_test.h"

#define PIN1 "1234"
#define PIN2 "54321"
#define FAKE_PEM APP_TEST_FAKE_PEM

static const struct camo_params cheap = { 1, 1, 1 };

static char tmpdir[64];

/* Keys made once: the device keys and the server's keys for them. */
static struct sk_device_key dev[SAPP_SID_NKEYS];
static struct sk_server_key srv[SAPP_SID_NKEYS];

static int
setup(void **state)
{

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sapp-sid-test.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (app_test_sid_keygen(dev, srv, &cheap, PIN1, PIN2) != SL_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	app_test_sid_keys_clear(dev, srv);
	return app_test_rmdir(tmpdir);
}

/* A state with a Smart-ID registration (or, `active`, a device). */
static void
sid_state(struct sapp_state *st, bool active)
{
	app_test_sid_state(st, dev, srv, &cheap, active);
}

/* ---- the state file ---- */

static void
test_state_roundtrip(void **state)
{
	struct sapp_state *st = malloc(sizeof(*st)), *back = malloc(sizeof(*back));
	struct sk_device_key k = { 0 };
	struct sl_err err;
	struct stat sb;
	char path[128];

	(void)state;
	assert_non_null(st);
	assert_non_null(back);
	for (int active = 0; active < 2; active++) {
		app_test_path(tmpdir, path, sizeof(path), "sid.json");
		sid_state(st, active);
		assert_int_equal(sapp_state_save(path, st, &err), SL_OK);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		assert_true((size_t)sb.st_size < SAPP_STATE_MAX);
		assert_int_equal(sapp_state_load(path, back, &err), SL_OK);
		assert_true(back->st_sid.ss_present);
		assert_string_equal(back->st_sid.ss_transport_key, st->st_sid.ss_transport_key);
		assert_string_equal(back->st_sid.ss_registration_id, st->st_sid.ss_registration_id);
		assert_string_equal(back->st_sid.ss_registration_status, st->st_sid.ss_registration_status);
		assert_string_equal(back->st_sid.ss_device_id, st->st_sid.ss_device_id);
		assert_string_equal(back->st_sid.ss_document_number, st->st_sid.ss_document_number);
		assert_int_equal(back->st_sid.ss_params.cp_log2n, cheap.cp_log2n);
		for (int i = 0; i < SAPP_SID_NKEYS; i++) {
			assert_string_equal(back->st_sid.ss_keys[i].sk_n, st->st_sid.ss_keys[i].sk_n);
			assert_string_equal(back->st_sid.ss_keys[i].sk_cert, st->st_sid.ss_keys[i].sk_cert);
			/* The key comes back as the same key. */
			assert_int_equal(sk_device_key_from_json(back->st_sid.ss_keys[i].sk_device, &k, &err), SL_OK);
			assert_int_equal(BN_cmp(k.dk_n1, dev[i].dk_n1), 0);
			assert_int_equal(BN_cmp(k.dk_c, dev[i].dk_c), 0);
			assert_int_equal(k.dk_version, dev[i].dk_version);
			sk_device_key_clear(&k);
		}
		/* The fuzz target's oracle: what parses formats back to the same. */
		{
			char *t1 = sapp_state_format(back, &err), *t2;
			struct sapp_state *again = malloc(sizeof(*again));
			assert_non_null(t1);
			assert_non_null(again);
			assert_int_equal(sapp_state_parse(t1, strlen(t1), again, &err), SL_OK);
			assert_memory_equal(again, back, sizeof(*again));
			t2 = sapp_state_format(again, &err);
			assert_string_equal(t1, t2);
			sapp_state_free_text(t1);
			sapp_state_free_text(t2);
			free(again);
		}
		/* The app-key side is untouched by it, and the other way round. */
		assert_string_equal(back->st_transport_key, st->st_transport_key);
		assert_string_not_equal(back->st_transport_key, back->st_sid.ss_transport_key);
	}
	/* Without the object, none comes back. */
	st->st_sid.ss_present = false;
	assert_int_equal(sapp_state_save(path, st, &err), SL_OK);
	assert_int_equal(sapp_state_load(path, back, &err), SL_OK);
	assert_false(back->st_sid.ss_present);
	free(st);
	free(back);
}

static void
test_state_private(void **state)
{
	struct sapp_state *st = malloc(sizeof(*st));
	struct sapp *app = NULL;
	struct sl_err err;
	char path[128];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "open.json");
	sid_state(st, true);
	assert_int_equal(sapp_state_save(path, st, &err), SL_OK);
	assert_int_equal(sapp_open(path, &app, &err), SL_OK); /* control */
	assert_int_equal(sapp_sid_phase(app), SAPP_SID_ACTIVE);
	assert_string_equal(sapp_sid_document_number(app), "PNOBE-85010112345-A1B2-Q");
	assert_string_equal(sapp_sid_certificate(app, "sign"), FAKE_PEM);
	assert_null(sapp_sid_certificate(app, "other"));
	sapp_free(app);
	for (mode_t m = 0604; m <= 0660; m += 0056) { /* world-readable, then group-writable */
		assert_int_equal(chmod(path, m), 0);
		assert_int_equal(sapp_open(path, &app, &err), SL_EDENIED);
		assert_null(app);
	}
	free(st);
}

/* One change to a valid document's "smartid" object, refused. */
typedef void (*mutate_fn)(json_t *sid);

static void
m_unknown(json_t *s)
{
	json_object_set_new(s, "pin", json_string("1234"));
}
static void
m_no_tk(json_t *s)
{
	json_object_del(s, "transport_key");
}
static void
m_both(json_t *s)
{
	json_object_set_new(s, "device_id", json_string("dev_0123456789abcdefghij"));
}
static void
m_status(json_t *s)
{
	json_object_set_new(s, "registration_status", json_string("done"));
}
static void
m_no_camo(json_t *s)
{
	json_object_del(s, "camo_r");
}
static void
m_cert_early(json_t *s)
{
	json_object_set_new(json_object_get(s, "auth"), "certificate", json_string(FAKE_PEM));
}
static void
m_swap(json_t *s)
{
	json_t *a = json_incref(json_object_get(s, "auth"));

	json_object_set(s, "auth", json_object_get(s, "sign"));
	json_object_set_new(s, "sign", a);
}
static void
m_bad_n(json_t *s)
{
	json_object_set_new(json_object_get(s, "sign"), "n", json_string("not b64!"));
}
/* Past the code, the moduli are known: "confirmed" without n is refused. */
static void
m_confirmed_no_n(json_t *s)
{
	json_object_set_new(s, "registration_status", json_string("confirmed"));
	json_object_del(json_object_get(s, "auth"), "n");
}
static void
m_key_member(json_t *s)
{
	json_object_set_new(json_object_get(s, "auth"), "pin_hash", json_string("x"));
}
static void
m_short_c(json_t *s)
{
	json_object_set_new(json_object_get(json_object_get(s, "auth"), "key"), "c", json_string("AAAA"));
}
static void
m_no_sign(json_t *s)
{
	json_object_del(s, "sign");
}
static void
m_not_object(json_t *s)
{
	json_object_set_new(s, "auth", json_string("x"));
}

static void
test_state_refusals(void **state)
{
	static const mutate_fn muts[] = { m_unknown, m_no_tk, m_both, m_status, m_no_camo, m_cert_early, m_swap,
		m_bad_n, m_confirmed_no_n, m_key_member, m_short_c, m_no_sign, m_not_object };
	struct sapp_state *st = malloc(sizeof(*st));
	struct sl_err err;

	(void)state;
	sid_state(st, false);
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		json_t *doc = app_test_state_doc(st);
		assert_int_equal(app_test_parse_doc(doc, &err), SL_OK); /* control */
		muts[i](json_object_get(doc, "smartid"));
		err.msg[0] = '\0';
		assert_int_equal(app_test_parse_doc(doc, &err), SL_EINVAL);
		assert_non_null(strstr(err.msg, "state")); /* says it is the state file */
		json_decref(doc);
	}
	/* At "code" the moduli are not known yet (the server makes its keys
	 * when the portal confirms): no n is fine; a file that has them (an
	 * older server's answer) too. */
	{
		json_t *doc = app_test_state_doc(st);
		for (int i = 0; i < SAPP_SID_NKEYS; i++)
			json_object_del(json_object_get(json_object_get(doc, "smartid"), sapp_sid_use_name(i)), "n");
		assert_int_equal(app_test_parse_doc(doc, &err), SL_OK);
		json_decref(doc);
	}
	/* An active device without its certificates is refused too. */
	sid_state(st, true);
	st->st_sid.ss_keys[1].sk_cert[0] = '\0';
	assert_null(sapp_state_format(st, &err));
	free(st);
}

/* ---- the app's half of a signature ---- */

static void
seal_keypair(EVP_PKEY **priv, uint8_t pub[P256_PUB_LEN])
{
	size_t n = 0;

	*priv = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(*priv);
	assert_int_equal(EVP_PKEY_get_octet_string_param(*priv, OSSL_PKEY_PARAM_PUB_KEY, pub, P256_PUB_LEN, &n), 1);
}

/* Unseal the app's part and complete it on the server's key. */
static enum sk_verdict
complete(EVP_PKEY *priv, const char *aad, enum sapp_sid_use use, const uint8_t *hash, uint64_t version,
	const char *part64)
{
	uint8_t *sealed, *part = NULL, *em = NULL, *sig = NULL;
	size_t slen = 0, plen = 0, emlen = 0, siglen = 0;
	struct sl_err err;
	enum sk_verdict v;

	sealed = sl_b64url_decode(part64, strlen(part64), &slen);
	assert_non_null(sealed);
	assert_int_equal(
		unseal(priv, "k1", (const uint8_t *)aad, strlen(aad), sealed, slen, &part, &plen, &err), SL_OK);
	assert_int_equal(sk_encode(srv[use].sk_n, SK_PKCS1, "SHA256", hash, 32, &em, &emlen, &err), SL_OK);
	v = sk_server_complete(&srv[use], em, emlen, version, part, plen, &sig, &siglen);
	free(sealed);
	free(part);
	free(em);
	free(sig);
	return v;
}

/* An active device's state written to `name` in tmpdir; its path in `path`. */
static void
active_file(const char *name, struct sapp_state *st, char *path, size_t size)
{
	struct sl_err err;

	app_test_path(tmpdir, path, size, name);
	sid_state(st, true);
	assert_int_equal(sapp_state_save(path, st, &err), SL_OK);
}

static void
test_sign_persists_first(void **state)
{
	struct sapp_state *st = malloc(sizeof(*st)), *disk = malloc(sizeof(*disk));
	uint8_t hash[32], pub[P256_PUB_LEN];
	struct sk_device_key k = { 0 };
	struct sapp *app = NULL;
	EVP_PKEY *priv;
	struct sl_err err;
	uint64_t version = 0;
	char path[128], *part = NULL;

	(void)state;
	memset(hash, 0x5a, sizeof(hash));
	seal_keypair(&priv, pub);
	active_file("sign.json", st, path, sizeof(path));
	assert_int_equal(sapp_open(path, &app, &err), SL_OK);

	/* Right PIN: version 1 is on disk, and the server completes it. */
	assert_int_equal(sapp_sid_sign(app, SAPP_SID_AUTH, PIN1, SK_PKCS1, "SHA256", hash, sizeof(hash), "k1", pub,
				 "req_1", &version, &part, &err),
		SL_OK);
	assert_int_equal(version, srv[0].sk_version + 1);
	assert_int_equal(sapp_state_load(path, disk, &err), SL_OK);
	assert_int_equal(sk_device_key_from_json(disk->st_sid.ss_keys[SAPP_SID_AUTH].sk_device, &k, &err), SL_OK);
	assert_int_equal(k.dk_version, version);
	sk_device_key_clear(&k);
	assert_int_equal(complete(priv, "req_1", SAPP_SID_AUTH, hash, version, part), SK_OK);
	free(part);

	/* Wrong PIN: a part is made and sent (the app cannot tell), the key
	 * still moves on, and the server refuses to complete it. */
	assert_int_equal(sapp_sid_sign(app, SAPP_SID_AUTH, "9999", SK_PKCS1, "SHA256", hash, sizeof(hash), "k1", pub,
				 "req_2", &version, &part, &err),
		SL_OK);
	assert_int_equal(complete(priv, "req_2", SAPP_SID_AUTH, hash, version, part), SK_WRONG_PIN);
	free(part);

	/* The sign key with PIN2 after the auth key's two: its own versions. */
	assert_int_equal(sapp_sid_sign(app, SAPP_SID_SIGN, PIN2, SK_PKCS1, "SHA256", hash, sizeof(hash), "k1", pub,
				 "req_3", &version, &part, &err),
		SL_OK);
	assert_int_equal(version, 1);
	assert_int_equal(complete(priv, "req_3", SAPP_SID_SIGN, hash, version, part), SK_OK);
	free(part);

	/* A PIN not of PIN2's form is refused before the key moves. */
	assert_int_equal(sapp_sid_sign(app, SAPP_SID_SIGN, "1234", SK_PKCS1, "SHA256", hash, sizeof(hash), "k1", pub,
				 "req_4", &version, &part, &err),
		SL_EINVAL);
	assert_null(part);
	assert_int_equal(sapp_state_load(path, disk, &err), SL_OK);
	assert_int_equal(sk_device_key_from_json(disk->st_sid.ss_keys[SAPP_SID_SIGN].sk_device, &k, &err), SL_OK);
	assert_int_equal(k.dk_version, 1);
	sk_device_key_clear(&k);

	sapp_free(app);
	EVP_PKEY_free(priv);
	free(st);
	free(disk);
}

/* The version of `use` in the file at `path`. */
static uint64_t
disk_version(const char *path, enum sapp_sid_use use)
{
	struct sapp_state *disk = malloc(sizeof(*disk));
	struct sk_device_key k = { 0 };
	struct sl_err err;
	uint64_t v;

	assert_non_null(disk);
	assert_int_equal(sapp_state_load(path, disk, &err), SL_OK);
	assert_int_equal(sk_device_key_from_json(disk->st_sid.ss_keys[use].sk_device, &k, &err), SL_OK);
	v = k.dk_version;
	sk_device_key_clear(&k);
	free(disk);
	return v;
}

/* The auth key's version `app` signs at (the sealed part dropped). */
static uint64_t
sign_auth(struct sapp *app, const uint8_t hash[32], const uint8_t pub[P256_PUB_LEN])
{
	struct sl_err err;
	uint64_t v = 0;
	char *part = NULL;

	assert_int_equal(sapp_sid_sign(app, SAPP_SID_AUTH, PIN1, SK_PKCS1, "SHA256", hash, 32, "k1", pub, "req_x", &v,
				 &part, &err),
		SL_OK);
	assert_non_null(part);
	free(part);
	sapp_release(app); /* as a caller does once the answer was sent */
	return v;
}

/* Two handles on one state file (as two processes would be): each
 * signature advances the key from the version on disk, so the second
 * handle, read before the first signed, signs v+2, not v+1 again; a save
 * by the stale handle does not roll the key back; a change of the
 * Smart-ID device by a stale handle is refused; a signature's lock, held
 * until its answer was sent, is waited for SAPP_LOCK_WAIT seconds, then
 * refused. */
static void
test_two_handles(void **state)
{
	struct sapp_state *st = malloc(sizeof(*st));
	uint8_t hash[32], pub[P256_PUB_LEN];
	struct sapp *a = NULL, *b = NULL;
	EVP_PKEY *priv;
	struct sl_err err;
	uint64_t v0, va, vb;
	int64_t t0;
	char path[128], *part = NULL;

	(void)state;
	memset(hash, 0x33, sizeof(hash));
	seal_keypair(&priv, pub);
	active_file("two.json", st, path, sizeof(path));
	v0 = disk_version(path, SAPP_SID_AUTH);
	assert_int_equal(sapp_open(path, &a, &err), SL_OK);
	assert_int_equal(sapp_open(path, &b, &err), SL_OK);

	va = sign_auth(a, hash, pub);
	vb = sign_auth(b, hash, pub);
	assert_int_equal(va, v0 + 1);
	assert_int_equal(vb, v0 + 2);
	assert_int_equal(disk_version(path, SAPP_SID_AUTH), v0 + 2);
	/* And the first handle, now stale, signs after both: v+3. */
	va = sign_auth(a, hash, pub);
	assert_int_equal(va, v0 + 3);

	/* The stale handle b saves a change of the app-key part (as a long
	 * enrolment does): the change lands, the Smart-ID key keeps v+3. */
	sl_strlcpy(b->sa_st.st_enrollment_id, "enr_0123456789abcdefghij", sizeof(b->sa_st.st_enrollment_id));
	sl_strlcpy(b->sa_st.st_enrollment_status, "sms", sizeof(b->sa_st.st_enrollment_status));
	assert_int_equal(sapp_save(b, &err), SL_OK);
	assert_int_equal(disk_version(path, SAPP_SID_AUTH), v0 + 3);
	assert_int_equal(sapp_state_load(path, st, &err), SL_OK);
	assert_string_equal(st->st_enrollment_status, "sms");
	/* b now holds the file: its next signature is v+4. */
	vb = sign_auth(b, hash, pub);
	assert_int_equal(vb, v0 + 4);

	/* a is stale again; its change of the Smart-ID device (the part b
	 * changed) is refused and nothing is written. */
	sl_strlcpy(a->sa_st.st_sid.ss_document_number, "PNOBE-85010112345-ZZZZ-Q",
		sizeof(a->sa_st.st_sid.ss_document_number));
	assert_int_equal(sapp_save(a, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "Smart-ID device changed"));
	assert_int_equal(sapp_state_load(path, st, &err), SL_OK);
	assert_string_equal(st->st_sid.ss_document_number, "PNOBE-85010112345-A1B2-Q");
	assert_int_equal(disk_version(path, SAPP_SID_AUTH), v0 + 4);

	/* A signature keeps the lock until its answer was sent (the caller's
	 * sapp_release): meanwhile another handle waits SAPP_LOCK_WAIT
	 * seconds, then is refused clearly. */
	sl_strlcpy(a->sa_st.st_sid.ss_document_number, "PNOBE-85010112345-A1B2-Q",
		sizeof(a->sa_st.st_sid.ss_document_number)); /* a's refused change undone */
	assert_int_equal(sapp_sid_sign(a, SAPP_SID_AUTH, PIN1, SK_PKCS1, "SHA256", hash, sizeof(hash), "k1", pub,
				 "req_e", &va, &part, &err),
		SL_OK);
	free(part);
	assert_int_equal(va, v0 + 5);
	t0 = sl_monotonic_ms();
	assert_int_equal(sapp_save(b, &err), SL_EBUSY);
	assert_true(sl_monotonic_ms() - t0 >= (int64_t)SAPP_LOCK_WAIT * 1000);
	assert_non_null(strstr(err.msg, "is locked"));
	sapp_release(a);
	assert_int_equal(sapp_save(b, &err), SL_OK); /* control: free again */

	sapp_free(a);
	sapp_free(b);
	EVP_PKEY_free(priv);
	free(st);
}

/* ---- requests ---- */

/* The binding bytes written out by hand, as the doc gives them. */
static void
bind_by_hand(const char *id, const char *rp_id, const char *rp_name, const char *action, const char *text,
	const char *nonce, uint8_t out[32])
{
	const char *f[] = { "sleutel-smartid-v1", id, rp_id, rp_name, action, NULL, nonce };
	uint8_t buf[2048], th[32];
	size_t n = 0;

	assert_int_equal(crypto_sha256(text, strlen(text), th), SL_OK);
	for (int i = 0; i < 7; i++) {
		const uint8_t *d = f[i] ? (const uint8_t *)f[i] : th;
		size_t len = f[i] ? strlen(f[i]) : sizeof(th);
		buf[n++] = (uint8_t)(len >> 8);
		buf[n++] = (uint8_t)len;
		memcpy(buf + n, d, len);
		n += len;
	}
	assert_int_equal(crypto_sha256(buf, n, out), SL_OK);
}

/* A portal login request as the server would send it. */
static json_t *
login_request(void)
{
	uint8_t h[32], hh[32];
	char vc[8], *h64;
	json_t *r;

	bind_by_hand("req_0123456789abcdefghij", "demo-rp", "Mijn gezondheid", "login", "Log in bij Mijn gezondheid",
		"nonce-xyz", h);
	assert_int_equal(crypto_sha256(h, sizeof(h), hh), SL_OK);
	snprintf(vc, sizeof(vc), "%04u", (unsigned int)((hh[30] << 8 | hh[31]) % 10000));
	h64 = sl_b64url_encode(h, sizeof(h));
	r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:i}", "id",
		"req_0123456789abcdefghij", "rp_name", "Mijn gezondheid", "action", "login", "key", "auth",
		"display_text", "Log in bij Mijn gezondheid", "verification_code", vc, "digest", "SHA256", "padding",
		"pkcs1", "hash", h64, "bind", "rp_id", "demo-rp", "nonce", "nonce-xyz", "expires_in", 170);
	free(h64);
	assert_non_null(r);
	return r;
}

static void
test_request_checks(void **state)
{
	static const char *const bound[][2] = { { "rp_name", "Evil bank" }, { "display_text", "Pay 1000 EUR" },
		{ "id", "req_other0123456789abcd" }, { "action", "sign" } };
	uint8_t h[32];
	struct sl_err err;
	const char *use = NULL;
	json_t *r = login_request(), *t;
	char vc[5], *h64;

	(void)state;
	/* The library's binding hash is the one written out by hand. */
	bind_by_hand("a", "b", "c", "login", "", "n", h);
	{
		uint8_t mine[32];
		assert_int_equal(sapp_sid_binding_hash("a", "b", "c", "login", "", "n", mine, &err), SL_OK);
		assert_memory_equal(mine, h, 32);
	}
	assert_int_equal(sapp_sid_request_verify(r, &use, &err), SL_OK); /* control */
	assert_string_equal(use, "auth");

	/* Each bound field changed: the hash is no longer its fields'. */
	for (size_t i = 0; i < sizeof(bound) / sizeof(bound[0]); i++) {
		t = json_deep_copy(r);
		json_object_set_new(t, bound[i][0], json_string(bound[i][1]));
		assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
		assert_null(use);
		json_decref(t);
	}
	t = json_deep_copy(r);
	json_object_set_new(json_object_get(t, "bind"), "nonce", json_string("other"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	json_decref(t);
	t = json_deep_copy(r);
	json_object_set_new(json_object_get(t, "bind"), "rp_id", json_string("other-rp"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	json_decref(t);

	/* Another hash with its own (right) code: still not the fields'. */
	memset(h, 7, sizeof(h));
	sapp_sid_vc(h, sizeof(h), vc);
	h64 = sl_b64url_encode(h, sizeof(h));
	t = json_deep_copy(r);
	json_object_set_new(t, "hash", json_string(h64));
	json_object_set_new(t, "verification_code", json_string(vc));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "hash"));
	/* ... and a login without its bound fields is not signed either. */
	json_object_del(t, "bind");
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	/* A signing request (PIN2) carries no binding: the code must match. */
	json_object_set_new(t, "action", json_string("sign"));
	json_object_set_new(t, "key", json_string("sign"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_OK);
	assert_string_equal(use, "sign");
	/* ... but PIN1's key never signs one (review: an unbound hash), and
	 * PIN2's never logs in. */
	json_object_set_new(t, "key", json_string("auth"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "does not match its action"));
	json_object_set_new(t, "key", json_string("sign"));
	/* A text with an escape sequence is not shown (nor signed). */
	json_object_set_new(t, "display_text", json_string("Sign\x1b[2Jthis"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "control characters"));
	json_decref(t);
	t = json_deep_copy(r);
	json_object_set_new(t, "key", json_string("sign"));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	json_decref(t);
	free(h64);

	/* The verification code shown must be the hash's. */
	t = json_deep_copy(r);
	sl_strlcpy(vc, json_string_value(json_object_get(r, "verification_code")), sizeof(vc));
	vc[3] = vc[3] == '9' ? '0' : (char)(vc[3] + 1);
	json_object_set_new(t, "verification_code", json_string(vc));
	assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
	assert_non_null(strstr(err.msg, "verification code"));
	json_decref(t);

	/* Shape: key, padding, digest, hash length, id. */
	{
		static const char *const bad[][2] = { { "key", "both" }, { "padding", "none" }, { "digest", "MD5" },
			{ "hash", "AAAA" }, { "id", "a b" }, { "verification_code", "12345" } };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			t = json_deep_copy(r);
			json_object_set_new(t, bad[i][0], json_string(bad[i][1]));
			assert_int_equal(sapp_sid_request_verify(t, &use, &err), SL_EINVAL);
			json_decref(t);
		}
	}
	json_decref(r);
}

static void
test_vc_rule(void **state)
{
	uint8_t h[32], hh[32];
	char vc[5];

	(void)state;
	for (int i = 0; i < 64; i++) {
		memset(h, i, sizeof(h));
		sapp_sid_vc(h, sizeof(h), vc);
		assert_int_equal(strlen(vc), 4);
		assert_int_equal(crypto_sha256(h, sizeof(h), hh), SL_OK);
		assert_int_equal(atoi(vc), ((hh[30] << 8) | hh[31]) % 10000);
	}
	/* Smart-ID's published vector: the hash SHA-256("Hello World!") shows 7712. */
	assert_int_equal(crypto_sha256("Hello World!", 12, h), SL_OK);
	sapp_sid_vc(h, sizeof(h), vc);
	assert_string_equal(vc, "7712");
}

static void
test_pin_forms(void **state)
{
	(void)state;
	assert_true(sapp_sid_pin_ok("auth", "1234"));
	assert_true(sapp_sid_pin_ok("auth", "123456789012"));
	assert_false(sapp_sid_pin_ok("auth", "123"));
	assert_false(sapp_sid_pin_ok("auth", "1234567890123"));
	assert_false(sapp_sid_pin_ok("auth", "12a4"));
	assert_false(sapp_sid_pin_ok("auth", " 1234"));
	assert_false(sapp_sid_pin_ok("auth", ""));
	assert_false(sapp_sid_pin_ok("auth", NULL));
	assert_true(sapp_sid_pin_ok("sign", "12345"));
	assert_false(sapp_sid_pin_ok("sign", "1234"));
	assert_false(sapp_sid_pin_ok("other", "12345"));
	assert_false(sapp_sid_pin_ok(NULL, "12345"));
}

/* Calls that need a phase are refused locally, before any network. */
static void
test_local_refusals(void **state)
{
	struct sapp_sid_spec spec = { NULL, NULL, NULL, "nl", "2026-11", "1234", "54321" };
	struct sapp *app = NULL;
	struct sl_err err;
	json_t *out = NULL, *r = login_request();
	char path[128];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "none.json");
	assert_int_equal(sapp_create(path, "http://127.0.0.1:9", NULL, &app, &err), SL_OK);
	assert_int_equal(sapp_sid_phase(app), SAPP_SID_NONE);
	assert_int_equal(sapp_sid_finish(app, "1234", "54321", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_sid_registration(app, 0, &out, &err), SL_EINVAL);
	assert_int_equal(sapp_sid_requests(app, 0, &out, &err), SL_EINVAL);
	assert_int_equal(sapp_sid_confirm(app, r, "1234", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_sid_devices(app, &out, &err), SL_EINVAL);
	/* A PIN of the wrong form is refused before the server is asked
	 * (nothing listens on port 9: a call would be SL_EIO). */
	spec.ss_pin1 = "123";
	assert_int_equal(sapp_sid_register(app, &spec, &out, &err), SL_EINVAL);
	spec.ss_pin1 = "1234";
	spec.ss_pin2 = "1234";
	assert_int_equal(sapp_sid_register(app, &spec, &out, &err), SL_EINVAL);
	spec.ss_pin2 = "54321";
	spec.ss_language = "xx";
	assert_int_equal(sapp_sid_register(app, &spec, &out, &err), SL_EINVAL);
	assert_null(out);
	sapp_free(app);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_state_private),
		cmocka_unit_test(test_state_refusals),
		cmocka_unit_test(test_sign_persists_first),
		cmocka_unit_test(test_two_handles),
		cmocka_unit_test(test_request_checks),
		cmocka_unit_test(test_vc_rule),
		cmocka_unit_test(test_pin_forms),
		cmocka_unit_test(test_local_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
