/*
 * test_app.c — libsleutel-app without a server: the state file (round
 * trip, mode, privacy, every refusal of the strict parser), the
 * camouflage property on the STORED state (every one of the 10^5 codes
 * opens the file's key to a valid scalar; exactly one gives Q), the proof
 * each call carries (decoded and verified here), and the confirmation
 * built from a request as received, sealed and verified as the server
 * would.  Refusals come with a control showing the unchanged input passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "app_test.h"

#define NCODES 100000
#define NTHREADS 4

static const struct camo_params cheap = { 1, 1, 1 }; /* the property does not depend on the cost */

/* ---- helpers ---- */

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sapp-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return app_test_rmdir(tmpdir);
}

static void
pub_of(EVP_PKEY *key, uint8_t pub[P256_PUB_LEN])
{
	size_t n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, P256_PUB_LEN, &n), 1);
	assert_int_equal(n, P256_PUB_LEN);
}

/* An enrolled state with a confirmation key made under `code`. */
static void
enrolled_state(struct sapp_state *st, const char *code, uint8_t q[P256_PUB_LEN])
{
	struct sl_err err;

	memset(st, 0, sizeof(*st));
	sl_strlcpy(st->st_server, "https://127.0.0.1:8443", sizeof(st->st_server));
	sl_strlcpy(st->st_ca_file, "/etc/sleutel/ca.pem", sizeof(st->st_ca_file));
	assert_int_equal(sapp_transport_generate(st->st_transport_key, &err), SL_OK);
	sl_strlcpy(st->st_device_id, "dev_0123456789abcdefghij", sizeof(st->st_device_id));
	sl_strlcpy(st->st_account_id, "acc-0123456789abcdefghij", sizeof(st->st_account_id));
	sl_strlcpy(st->st_phone, "+32470123456", sizeof(st->st_phone));
	st->st_params = cheap;
	assert_int_equal(camo_make(code, &cheap, st->st_c, st->st_salt, q, &err), SL_OK);
	st->st_has_confirm = true;
}

/* ---- the state file ---- */

static void
test_state_roundtrip(void **state)
{
	struct sapp_state st, back;
	struct sl_err err;
	struct stat sb;
	uint8_t q[P256_PUB_LEN];
	char path[128];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "rt.json");
	enrolled_state(&st, "12345", q);
	assert_int_equal(sapp_state_save(path, &st, &err), SL_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sapp_state_load(path, &back, &err), SL_OK);
	assert_memory_equal(&st, &back, sizeof(st));

	/* An enrolment in progress round-trips too. */
	memset(st.st_device_id, 0, sizeof(st.st_device_id));
	memset(st.st_account_id, 0, sizeof(st.st_account_id));
	memset(st.st_phone, 0, sizeof(st.st_phone));
	memset(st.st_c, 0, sizeof(st.st_c));
	memset(st.st_salt, 0, sizeof(st.st_salt));
	memset(&st.st_params, 0, sizeof(st.st_params));
	st.st_has_confirm = false;
	sl_strlcpy(st.st_enrollment_id, "enr_0123456789abcdefghi", sizeof(st.st_enrollment_id));
	sl_strlcpy(st.st_enrollment_status, "proofing", sizeof(st.st_enrollment_status));
	assert_int_equal(sapp_state_save(path, &st, &err), SL_OK);
	assert_int_equal(sapp_state_load(path, &back, &err), SL_OK);
	assert_memory_equal(&st, &back, sizeof(st));
}

static void
test_create_open(void **state)
{
	struct sapp *app = NULL;
	struct sl_err err;
	struct stat sb;
	char path[128], kid[SAPP_JKT_LEN + 1];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "new.json");
	assert_int_equal(sapp_create(path, "https://127.0.0.1:9/", NULL, &app, &err), SL_OK);
	assert_int_equal(sapp_phase(app), SAPP_NEW);
	assert_string_equal(sapp_server(app), "https://127.0.0.1:9"); /* no trailing slash: htu = issuer + path */
	sl_strlcpy(kid, app->sa_tk.tk_jkt, sizeof(kid));
	sapp_free(app);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* It exists now: create refuses, open loads the same key. */
	assert_int_equal(sapp_create(path, "https://127.0.0.1:9", NULL, &app, &err), SL_ECONFLICT);
	assert_null(app);
	assert_int_equal(sapp_open(path, &app, &err), SL_OK);
	assert_string_equal(app->sa_tk.tk_jkt, kid);
	sapp_free(app);
	assert_int_equal(sapp_create(path, NULL, NULL, &app, &err), SL_EINVAL);
	app_test_path(tmpdir, path, sizeof(path), "bad-url.json");
	assert_int_equal(sapp_create(path, "ftp://x", NULL, &app, &err), SL_EINVAL);
	assert_int_equal(sapp_create(path, "https://x/?q=1", NULL, &app, &err), SL_EINVAL);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
test_state_private(void **state)
{
	static const int modes[] = { 0644, 0640, 0604, 0660, 0602 };
	struct sapp_state st, back;
	struct sapp *app = NULL;
	struct sl_err err;
	uint8_t q[P256_PUB_LEN];
	char path[128], link[140];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "priv.json");
	enrolled_state(&st, "54321", q);
	assert_int_equal(sapp_state_save(path, &st, &err), SL_OK);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, (mode_t)modes[i]), 0);
		assert_int_equal(sapp_state_load(path, &back, &err), SL_EDENIED);
		assert_non_null(strstr(err.msg, "chmod 600"));
		assert_int_equal(sapp_open(path, &app, &err), SL_EDENIED);
		assert_null(app);
	}
	assert_int_equal(chmod(path, 0600), 0); /* control */
	assert_int_equal(sapp_state_load(path, &back, &err), SL_OK);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(sapp_state_load(path, &back, &err), SL_OK);
	/* A symbolic link is not followed; a missing file is SL_ENOTFOUND. */
	snprintf(link, sizeof(link), "%s.lnk", path);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_not_equal(sapp_state_load(link, &back, &err), SL_OK);
	app_test_path(tmpdir, path, sizeof(path), "missing.json");
	assert_int_equal(sapp_state_load(path, &back, &err), SL_ENOTFOUND);
}

static void
test_state_refusals(void **state)
{
	struct sapp_state st;
	struct sl_err err;
	uint8_t q[P256_PUB_LEN], raw[40];
	char big[SAPP_URL_MAX + 8], *enc;
	json_t *doc;

	(void)state;
	enrolled_state(&st, "00000", q);
	doc = app_test_state_doc(&st);
	assert_int_equal(app_test_parse_doc(doc, &err), SL_OK); /* control */

#define REFUSE(change, what)                                                                                           \
	do {                                                                                                           \
		json_t *d = json_deep_copy(doc);                                                                       \
		change;                                                                                                \
		assert_int_equal(app_test_parse_doc(d, &err), SL_EINVAL);                                              \
		if (strstr(err.msg, what) == NULL)                                                                     \
			fail_msg("refused for \"%s\", expected \"%s\"", err.msg, what);                                \
		json_decref(d);                                                                                        \
	} while (0)

	REFUSE(json_object_set_new(d, "q", json_string("AAAA")), "unknown member");
	REFUSE(json_object_set_new(d, "check", json_integer(1)), "unknown member");
	REFUSE(json_object_set_new(d, "version", json_integer(2)), "version");
	REFUSE(json_object_set_new(d, "version", json_string("1")), "version");
	REFUSE(json_object_del(d, "version"), "version");
	REFUSE(json_object_del(d, "transport_key"), "transport_key");
	REFUSE(json_object_set_new(d, "server", json_integer(5)), "server");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://", 8);
	REFUSE(json_object_set_new(d, "server", json_string(big)), "server");
	REFUSE(json_object_set_new(d, "server", json_string("")), "server");
	REFUSE(json_object_set_new(d, "server", json_string("file:///etc")), "server");
	REFUSE(json_object_set_new(d, "device_id", json_string("a/b")), "device_id");
	REFUSE(json_object_set_new(d, "phone", json_string("0470123456")), "phone");
	REFUSE(json_object_set_new(d, "phone", json_string("+3247012345678901")), "phone");
	REFUSE(json_object_del(d, "account_id"), "together");
	REFUSE(json_object_del(d, "confirm_salt"), "together");
	REFUSE(json_object_set_new(d, "enrollment_id", json_string("abc")), "enrollment");
	REFUSE((json_object_set_new(d, "enrollment_id", json_string("abc")),
		       json_object_set_new(d, "enrollment_status", json_string("sms"))),
		"enrolled and enrolling");
	REFUSE(json_object_set_new(d, "confirm_log2n", json_integer(0)), "confirm_log2n");
	REFUSE(json_object_set_new(d, "confirm_log2n", json_integer(40)), "scrypt");
	REFUSE(json_object_set_new(d, "confirm_r", json_real(1.5)), "confirm_r");
	/* c must be exactly 32 bytes, the salt exactly 16. */
	memset(raw, 7, sizeof(raw));
	enc = sl_b64url_encode(raw, 31);
	REFUSE(json_object_set_new(d, "confirm_c", json_string(enc)), "confirm_c");
	free(enc);
	enc = sl_b64url_encode(raw, 33);
	REFUSE(json_object_set_new(d, "confirm_c", json_string(enc)), "confirm_c");
	free(enc);
	enc = sl_b64url_encode(raw, 17);
	REFUSE(json_object_set_new(d, "confirm_salt", json_string(enc)), "confirm_salt");
	free(enc);
	REFUSE(json_object_set_new(d, "confirm_c", json_string("!!not base64!!")), "confirm_c");

	/* Not an object, not JSON, duplicate members, too big. */
	assert_int_equal(sapp_state_parse("[]", 2, &st, &err), SL_EINVAL);
	assert_int_equal(sapp_state_parse("{", 1, &st, &err), SL_EINVAL);
	assert_int_equal(sapp_state_parse("{\"version\":1,\"version\":1}", 25, &st, &err), SL_EINVAL);
	{
		char *huge = calloc(1, SAPP_STATE_MAX + 2);
		assert_non_null(huge);
		memset(huge, ' ', SAPP_STATE_MAX + 1);
		assert_int_equal(sapp_state_parse(huge, SAPP_STATE_MAX + 1, &st, &err), SL_ETOOBIG);
		free(huge);
	}
	/* A transport key that is not P-256 parses but does not load. */
	{
		struct sapp_transport tk;
		assert_int_not_equal(
			sapp_transport_load(
				"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", &tk, &err),
			SL_OK);
	}
	json_decref(doc);
#undef REFUSE
}

/* ---- THE CAMOUFLAGE PROPERTY, on the stored state ---- */

struct open_job {
	const struct sapp_state *oj_st;
	const uint8_t *oj_q;
	int oj_from, oj_to;
	int oj_bad; /* codes that did not open to a valid key */
	int oj_matches; /* codes that opened to Q */
	int oj_match;
};

static void *
open_worker(void *arg)
{
	struct open_job *j = arg;
	uint8_t pub[P256_PUB_LEN];
	struct sl_err err;
	char code[16];

	for (int i = j->oj_from; i < j->oj_to; i++) {
		EVP_PKEY *key = NULL;
		size_t n = 0;
		snprintf(code, sizeof(code), "%05d", i);
		if (camo_open(j->oj_st->st_c, j->oj_st->st_salt, &j->oj_st->st_params, code, &key, &err) != SL_OK ||
			!p256_is(key) ||
			EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &n) != 1 ||
			n != P256_PUB_LEN) {
			j->oj_bad++;
		} else if (memcmp(pub, j->oj_q, P256_PUB_LEN) == 0) {
			j->oj_matches++;
			j->oj_match = i;
		}
		EVP_PKEY_free(key);
	}
	return NULL;
}

static void
test_camouflage_property(void **state)
{
	struct sapp_state st, back;
	struct open_job jobs[NTHREADS];
	pthread_t tids[NTHREADS];
	struct sl_err err;
	uint8_t q[P256_PUB_LEN];
	char path[128], *text, *qenc;
	int bad = 0, matches = 0, match = -1;

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "camo.json");
	enrolled_state(&st, "31416", q);
	assert_int_equal(sapp_state_save(path, &st, &err), SL_OK);
	assert_int_equal(sapp_state_load(path, &back, &err), SL_OK);
	/* The state records the cost it was made with. */
	assert_int_equal(back.st_params.cp_log2n, cheap.cp_log2n);
	assert_int_equal(back.st_params.cp_r, cheap.cp_r);
	assert_int_equal(back.st_params.cp_p, cheap.cp_p);
	/* Q is nowhere in the file. */
	assert_int_equal(sl_file_read(path, SAPP_STATE_MAX, &text, NULL, &err), SL_OK);
	qenc = sl_b64url_encode(q, sizeof(q));
	assert_null(strstr(text, qenc));
	qenc[43] = '\0'; /* nor its X coordinate's first 32 bytes */
	assert_null(strstr(text, qenc + 2));
	free(qenc);
	free(text);

	for (int t = 0; t < NTHREADS; t++) {
		jobs[t] = (struct open_job){ &back, q, NCODES / NTHREADS * t,
			t == NTHREADS - 1 ? NCODES : NCODES / NTHREADS * (t + 1), 0, 0, -1 };
		assert_int_equal(pthread_create(&tids[t], NULL, open_worker, &jobs[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		assert_int_equal(pthread_join(tids[t], NULL), 0);
		bad += jobs[t].oj_bad;
		matches += jobs[t].oj_matches;
		if (jobs[t].oj_matches > 0)
			match = jobs[t].oj_match;
	}
	assert_int_equal(bad, 0); /* every candidate code opens to a valid key */
	assert_int_equal(matches, 1); /* and only the right one is the enrolled key */
	assert_int_equal(match, 31416);
}

/* ---- the proof ---- */

static json_t *
b64_json(const char *seg, size_t len)
{
	size_t n = 0;
	uint8_t *raw = sl_b64url_decode(seg, len, &n);
	json_t *o;

	assert_non_null(raw);
	o = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	assert_non_null(o);
	return o;
}

/* RFC 7638 computed here from the raw public point, not from proof.c. */
static void
jkt_of(EVP_PKEY *key, char out[SAPP_JKT_LEN + 1], char x[64], char y[64])
{
	uint8_t pub[P256_PUB_LEN], h[32];
	char canon[200], *ex, *ey, *eh;

	pub_of(key, pub);
	ex = sl_b64url_encode(pub + 1, 32);
	ey = sl_b64url_encode(pub + 33, 32);
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", ex, ey);
	assert_int_equal(crypto_sha256(canon, strlen(canon), h), SL_OK);
	eh = sl_b64url_encode(h, sizeof(h));
	sl_strlcpy(out, eh, SAPP_JKT_LEN + 1);
	sl_strlcpy(x, ex, 64);
	sl_strlcpy(y, ey, 64);
	free(ex);
	free(ey);
	free(eh);
}

static void
test_proof_format(void **state)
{
	const char *htu = "https://127.0.0.1:8443/device/v1/enroll/start";
	struct sapp_transport tk;
	struct jose_key *pub;
	struct sl_err err;
	char pem[SAPP_PEM_MAX], jkt[SAPP_JKT_LEN + 1], x[64], y[64], *p1, *p2;
	const char *dot;
	json_t *hdr, *claims = NULL, *claims2 = NULL, *jwk;
	const char *allowed[] = { "ES256", NULL };
	int64_t now = sl_now();

	(void)state;
	assert_int_equal(sapp_transport_generate(pem, &err), SL_OK);
	assert_int_equal(sapp_transport_load(pem, &tk, &err), SL_OK);
	jkt_of(tk.tk_pkey, jkt, x, y);
	assert_string_equal(tk.tk_jkt, jkt);
	p1 = sapp_proof(&tk, "POST", htu, &err);
	p2 = sapp_proof(&tk, "POST", htu, &err);
	assert_non_null(p1);
	assert_non_null(p2);

	/* Header: exactly typ, alg, kid — no jwk. */
	dot = strchr(p1, '.');
	assert_non_null(dot);
	hdr = b64_json(p1, (size_t)(dot - p1));
	assert_int_equal(json_object_size(hdr), 3);
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "dpop+jwt");
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), jkt);
	assert_null(json_object_get(hdr, "jwk"));
	json_decref(hdr);

	/* It verifies with the public key the server registered. */
	jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "x", x, "y", y, "kid", jkt);
	pub = jose_key_from_jwk(jwk, allowed, &err);
	json_decref(jwk);
	assert_non_null(pub);
	assert_int_equal(jose_verify(p1, &pub, 1, &claims, &err), SL_OK);
	assert_int_equal(jose_verify(p2, &pub, 1, &claims2, &err), SL_OK);
	assert_int_equal(json_object_size(claims), 4);
	assert_string_equal(json_string_value(json_object_get(claims, "htm")), "POST");
	assert_string_equal(json_string_value(json_object_get(claims, "htu")), htu);
	assert_true(json_is_integer(json_object_get(claims, "iat")));
	assert_true(llabs(json_integer_value(json_object_get(claims, "iat")) - now) <= 5);
	assert_true(sapp_id_ok(json_string_value(json_object_get(claims, "jti"))));
	assert_int_equal(strlen(json_string_value(json_object_get(claims, "jti"))), 22);
	assert_string_not_equal(
		json_string_value(json_object_get(claims, "jti")), json_string_value(json_object_get(claims2, "jti")));
	/* A changed byte does not verify (control for the verification). */
	p1[strlen(p1) - 3] = p1[strlen(p1) - 3] == 'A' ? 'B' : 'A';
	json_decref(claims);
	claims = NULL;
	assert_int_not_equal(jose_verify(p1, &pub, 1, &claims, &err), SL_OK);
	json_decref(claims2);
	jose_key_free(pub);
	free(p1);
	free(p2);
	sapp_transport_clear(&tk);
}

/* ---- confirmations from a request as received ---- */

static const char *request_json =
	"{\"id\":\"rq_0123456789abcdefghij\",\"rp_id\":\"client-1\",\"rp_name\":\"Mijn gezondheid\","
	"\"action\":\"login\",\"display_text\":\"Aanmelden bij  Mijn gezondheid\\n\\u20ac 12,00\","
	"\"codes\":[\"4821\",\"0937\",\"6610\"],\"nonce\":\"n0nce-value\",\"expires_in\":171}";

static void
test_confirm_fields(void **state)
{
	struct confirm_fields f;
	struct sl_err err;
	json_t *rq = json_loads(request_json, 0, NULL), *bad;

	(void)state;
	assert_non_null(rq);
	assert_int_equal(sapp_confirm_fields(rq, "0937", "approve", "dev_1", &f, &err), SL_OK);
	assert_string_equal(f.cf_request_id, "rq_0123456789abcdefghij");
	assert_string_equal(f.cf_rp_id, "client-1");
	assert_string_equal(f.cf_rp_display_name, "Mijn gezondheid");
	assert_string_equal(f.cf_action, "login");
	assert_string_equal(f.cf_display_text, "Aanmelden bij  Mijn gezondheid\n\xe2\x82\xac 12,00"); /* exactly */
	assert_string_equal(f.cf_verification_code, "0937");
	assert_string_equal(f.cf_server_nonce, "n0nce-value");
	assert_string_equal(f.cf_decision, "approve");
	assert_string_equal(f.cf_device_id, "dev_1");
	/* A refusal needs no code. */
	assert_int_equal(sapp_confirm_fields(rq, "", "refuse", "dev_1", &f, &err), SL_OK);
	assert_string_equal(f.cf_decision, "refuse");

	assert_int_equal(sapp_confirm_fields(rq, "1234", "approve", "dev_1", &f, &err), SL_EINVAL);
	assert_int_equal(sapp_confirm_fields(rq, "", "approve", "dev_1", &f, &err), SL_EINVAL);
	assert_int_equal(sapp_confirm_fields(rq, "0937", "maybe", "dev_1", &f, &err), SL_EINVAL);
	assert_int_equal(sapp_confirm_fields(rq, "0937", "approve", "", &f, &err), SL_EINVAL);
	static const char *const members[] = { "id", "rp_id", "rp_name", "action", "display_text", "nonce", "codes",
		NULL };
	for (int i = 0; members[i]; i++) {
		bad = json_deep_copy(rq);
		json_object_del(bad, members[i]);
		assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_EINVAL);
		json_decref(bad);
	}
	bad = json_deep_copy(rq);
	json_object_set_new(bad, "action", json_string("transfer"));
	assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_EINVAL);
	json_object_set_new(bad, "action", json_string("payment"));
	assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_OK);
	json_object_set_new(bad, "id", json_string("../../admin"));
	assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_EINVAL);
	json_decref(bad);
	/* Review 9: text with control characters (an escape sequence could
	 * redraw the terminal) is refused, approve or refuse; a line break
	 * only in the display text. */
	static const struct {
		const char *member, *value;
	} unshowable[] = { { "rp_name", "Mijn \x1b[2Jbank" }, { "rp_name", "Mijn\nbank" },
		{ "display_text", "Aanmelden\x1b]0;x\x07" }, { "display_text", "\x7f" } };
	for (size_t i = 0; i < sizeof(unshowable) / sizeof(unshowable[0]); i++) {
		bad = json_deep_copy(rq);
		json_object_set_new(bad, unshowable[i].member, json_string(unshowable[i].value));
		assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_EINVAL);
		assert_int_equal(sapp_confirm_fields(bad, "", "refuse", "dev_1", &f, &err), SL_EINVAL);
		json_decref(bad);
	}
	bad = json_deep_copy(rq);
	json_array_append_new(json_object_get(bad, "codes"), json_string("\x1b[1m"));
	assert_int_equal(sapp_confirm_fields(bad, "0937", "approve", "dev_1", &f, &err), SL_EINVAL);
	json_decref(bad);
	assert_true(sapp_text_showable("Aanmelden\n\xe2\x82\xac 12,00"));
	assert_false(sapp_text_showable("\t"));
	json_decref(rq);
}

/* The answer body: the server unseals with its key and the request id and
 * verifies with Q; a wrong app code gives a signature Q does not verify. */
static void
test_answer_body(void **state)
{
	struct sapp_state st;
	struct confirm_fields f;
	struct sl_err err;
	uint8_t q[P256_PUB_LEN], spub[P256_PUB_LEN], *sealed, *sig;
	size_t slen = 0, siglen = 0;
	EVP_PKEY *server = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *key, *qkey;
	json_t *rq = json_loads(request_json, 0, NULL), *body;
	const char *rid = "rq_0123456789abcdefghij";

	(void)state;
	assert_non_null(server);
	pub_of(server, spub);
	enrolled_state(&st, "24680", q);
	qkey = p256_public_from_bytes(q, &err);
	assert_non_null(qkey);
	assert_int_equal(sapp_confirm_fields(rq, "6610", "approve", st.st_device_id, &f, &err), SL_OK);
	for (int right = 1; right >= 0; right--) {
		assert_int_equal(
			camo_open(st.st_c, st.st_salt, &st.st_params, right ? "24680" : "24681", &key, &err), SL_OK);
		assert_int_equal(sapp_answer_body(&f, key, "seal-1", spub, &body, &err), SL_OK);
		EVP_PKEY_free(key);
		assert_int_equal(json_object_size(body), 4);
		assert_string_equal(json_string_value(json_object_get(body, "decision")), "approve");
		assert_string_equal(json_string_value(json_object_get(body, "verification_code")), "6610");
		assert_string_equal(json_string_value(json_object_get(body, "seal_kid")), "seal-1");
		sealed = sl_b64url_decode(json_string_value(json_object_get(body, "sealed_signature")),
			strlen(json_string_value(json_object_get(body, "sealed_signature"))), &slen);
		assert_non_null(sealed);
		/* Bound to the request id. */
		assert_int_equal(
			unseal(server, "seal-1", (const uint8_t *)"rq_other", 8, sealed, slen, &sig, &siglen, &err),
			SL_EDENIED);
		assert_int_equal(
			unseal(server, "seal-1", (const uint8_t *)rid, strlen(rid), sealed, slen, &sig, &siglen, &err),
			SL_OK);
		assert_int_equal(confirm_verify(qkey, &f, sig, siglen), right ? SL_OK : SL_EDENIED);
		free(sig);
		free(sealed);
		json_decref(body);
	}
	EVP_PKEY_free(qkey);
	EVP_PKEY_free(server);
	json_decref(rq);
}

/* ---- the library refuses bad input before any network ---- */

static void
test_local_refusals(void **state)
{
	struct sapp_state st;
	struct sapp *app = NULL;
	struct sapp_enroll_spec spec = { "0470123456", "Pixel", "nl", "2026-11" };
	struct sl_err err;
	uint8_t q[P256_PUB_LEN];
	json_t *out = NULL, *rq = json_loads(request_json, 0, NULL);
	char path[128];

	(void)state;
	app_test_path(tmpdir, path, sizeof(path), "local.json");
	assert_int_equal(sapp_create(path, "http://127.0.0.1:9", NULL, &app, &err), SL_OK);
	spec.es_language = "xx";
	assert_int_equal(sapp_enroll_start(app, &spec, &out, &err), SL_EINVAL);
	spec.es_language = "nl";
	spec.es_terms_version = NULL;
	assert_int_equal(sapp_enroll_start(app, &spec, &out, &err), SL_EINVAL);
	spec.es_terms_version = "2026-11";
	spec.es_phone = "012345678901234567890123456789012";
	assert_int_equal(sapp_enroll_start(app, &spec, &out, &err), SL_EINVAL);
	assert_int_equal(sapp_enroll_sms(app, "12345", &out, &err), SL_EINVAL); /* nothing started */
	assert_int_equal(sapp_enroll_finish(app, "12345", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_requests(app, 0, &out, &err), SL_EINVAL); /* not enrolled */
	/* Nothing listens on port 9: a transport failure is SL_EIO, said plainly. */
	spec.es_phone = "0470123456";
	assert_int_equal(sapp_enroll_start(app, &spec, &out, &err), SL_EIO);
	assert_null(sapp_last_error(app));
	sapp_free(app);

	enrolled_state(&st, "11111", q);
	sl_strlcpy(st.st_server, "http://127.0.0.1:9", sizeof(st.st_server));
	assert_int_equal(sapp_state_save(path, &st, &err), SL_OK);
	assert_int_equal(sapp_open(path, &app, &err), SL_OK);
	assert_int_equal(sapp_phase(app), SAPP_ENROLLED);
	assert_int_equal(sapp_enroll_start(app, &spec, &out, &err), SL_ECONFLICT);
	assert_int_equal(sapp_approve(app, rq, "4821", "1234", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_approve(app, rq, "4821", "12a45", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_approve(app, rq, "9999", "12345", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_scan(app, "https://evil/login?t=abc", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_scan(app, "sleutel://login?t=", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_scan(app, "sleutel://login?t=a/b", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_remove(app, "../x", &out, &err), SL_EINVAL);
	assert_int_equal(sapp_request_find(app, "a b", &out, &err), SL_EINVAL);
	sapp_free(app);
	json_decref(rq);
}

/* A request's context: the three parts as sent, none when absent, and
 * nothing at all when a part is not short printable ASCII. */
static void
test_request_context(void **state)
{
	struct sapp_context x;
	json_t *r;
	char big[SAPP_CONTEXT_MAX + 2];

	(void)state;
	r = json_pack("{s:{s:s,s:s,s:s}}", "context", "browser", "Firefox", "os", "Linux", "network", "203.0.113.x");
	assert_int_equal(sapp_request_context(r, &x), SL_OK);
	assert_string_equal(x.sc_browser, "Firefox");
	assert_string_equal(x.sc_os, "Linux");
	assert_string_equal(x.sc_network, "203.0.113.x");
	json_decref(r);
	r = json_pack("{s:s}", "id", "rq");
	assert_int_equal(sapp_request_context(r, &x), SL_ENOTFOUND);
	json_decref(r);
	r = json_pack("{s:{s:s,s:s,s:s}}", "context", "browser", "Fire\nfox", "os", "", "network", "");
	assert_int_equal(sapp_request_context(r, &x), SL_EINVAL);
	assert_string_equal(x.sc_browser, "");
	json_decref(r);
	r = json_pack("{s:{s:s,s:s,s:s}}", "context", "browser", "Caf\xc3\xa9", "os", "", "network", "");
	assert_int_equal(sapp_request_context(r, &x), SL_EINVAL);
	json_decref(r);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = json_pack("{s:{s:s,s:s,s:s}}", "context", "browser", big, "os", "", "network", "");
	assert_int_equal(sapp_request_context(r, &x), SL_EINVAL);
	big[SAPP_CONTEXT_MAX] = '\0';
	json_object_set_new(json_object_get(r, "context"), "browser", json_string(big));
	assert_int_equal(sapp_request_context(r, &x), SL_OK);
	json_object_del(json_object_get(r, "context"), "os");
	assert_int_equal(sapp_request_context(r, &x), SL_EINVAL);
	json_decref(r);
	r = json_pack("{s:s}", "context", "Chrome");
	assert_int_equal(sapp_request_context(r, &x), SL_EINVAL);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_create_open),
		cmocka_unit_test(test_state_private),
		cmocka_unit_test(test_state_refusals),
		cmocka_unit_test(test_camouflage_property),
		cmocka_unit_test(test_proof_format),
		cmocka_unit_test(test_confirm_fields),
		cmocka_unit_test(test_answer_body),
		cmocka_unit_test(test_local_refusals),
		cmocka_unit_test(test_request_context),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
