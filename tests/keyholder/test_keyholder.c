/*
 * test_keyholder.c — the key holder's protocol and request handling
 * (src/keyholder): malformed messages are refused and change nothing,
 * the key lists are bounded, signatures verify with the public half it
 * gives back, sealed values open only with their key id and AAD.  The
 * last test runs the real key holder process (build/sleuteld --keyholder)
 * and sends it malformed datagrams over a socketpair.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/config/config.h"
#include "../../src/keyholder/holder_int.h"
#include "kh_util.h"

static uint8_t msg[KH_MSG_MAX + 16], out[KH_PAYLOAD_MAX];

struct fixture {
	char dir[64];
	struct sl_config conf;
	struct holder ho;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/kh-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->conf.c_keys_dir = f->dir;
	f->ho.ho_conf = &f->conf;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hold_jws_clear(&f->ho);
	hold_seal_clear(&f->ho);
	assert_int_equal(kh_test_rm_dir(f->dir), 0);
	free(f);
	return 0;
}

static int
call(struct holder *ho, uint16_t op, const char *kid, const void *p, size_t len, size_t *outlen)
{
	return kh_test_call(ho, op, kid, p, len, out, outlen);
}

static void
write_key(const char *dir, const char *kid, const char *alg)
{
	struct sl_err err = { 0 };
	struct jose_key *k = jose_key_generate(alg, kid, &err);
	char *pem = jose_key_private_pem(k), path[256];

	snprintf(path, sizeof(path), "%s/%s.pem", dir, kid);
	assert_int_equal(sl_file_write(path, pem, strlen(pem), 0600, &err), SL_OK);
	free(pem);
	jose_key_free(k);
}

static void
test_parse_refusals(void **state)
{
	struct kh_hdr h, good;
	const uint8_t *p;
	struct sl_err err = { 0 };
	size_t n = kh_msg_build(msg, KH_OP_PING, 0, 1, "abc", "xy", 2);

	(void)state;
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_OK); /* the control */
	assert_int_equal(h.kh_len, 2);
	assert_memory_equal(p, "xy", 2);
	memcpy(&good, msg, sizeof(good));
	/* Short header, length that disagrees, too long. */
	assert_int_equal(kh_msg_parse(msg, sizeof(h) - 1, false, &h, &p, &err), SL_EINVAL);
	assert_int_equal(kh_msg_parse(msg, n - 1, false, &h, &p, &err), SL_EINVAL);
	assert_int_equal(kh_msg_parse(msg, n + 1, false, &h, &p, &err), SL_EINVAL);
	assert_int_equal(kh_msg_parse(msg, KH_MSG_MAX + 1, false, &h, &p, &err), SL_EINVAL);
	/* Unknown ops, a status in a request, a positive status in an answer. */
	h = good;
	h.kh_op = 0;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	h = good;
	h.kh_op = KH_OP_MAX + 1;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	h = good;
	h.kh_status = SL_EINVAL;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	assert_int_equal(kh_msg_parse(msg, n, true, &h, &p, &err), SL_OK);
	h = good;
	h.kh_status = 1;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, true, &h, &p, &err), SL_EINVAL);
	/* Another protocol version (a key holder of another build), or
	 * bytes in the padding. */
	h = good;
	h.kh_version = KH_PROTO_VERSION - 1;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	h = good;
	h.kh_pad = 1;
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	/* Key ids: unterminated, not padded, path characters, leading '-'. */
	h = good;
	memset(h.kh_kid, 'a', sizeof(h.kh_kid));
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	h = good;
	h.kh_kid[10] = 'x';
	memcpy(msg, &h, sizeof(h));
	assert_int_equal(kh_msg_parse(msg, n, false, &h, &p, &err), SL_EINVAL);
	assert_false(kh_kid_ok("../x", 4));
	assert_false(kh_kid_ok("-x", 2));
	assert_false(kh_kid_ok("a b", 3));
	assert_true(kh_kid_ok("aZ09_-", 6));
	/* The builder refuses what the parser would. */
	assert_int_equal(kh_msg_build(msg, KH_OP_PING, 0, 1, "../x", NULL, 0), 0);
	assert_int_equal(kh_msg_build(msg, KH_OP_PING, 0, 1, NULL, out, KH_PAYLOAD_MAX + 1), 0);
	assert_true(kh_msg_build(msg, KH_OP_PING, 0, 1, NULL, out, KH_PAYLOAD_MAX) > 0);
}

static void
test_handle_malformed(void **state)
{
	struct fixture *f = *state;
	struct kh_hdr h;
	struct sl_err err = { 0 };
	size_t n = kh_msg_build(msg, KH_OP_JWS_SIGN, 0, 42, "k", "x", 1), outlen = 0;

	/* A header whose length lies: refused, with the sequence number to
	 * answer on. */
	assert_int_equal(holder_handle(&f->ho, msg, n + 3, out, &outlen, &h, &err), SL_EINVAL);
	assert_int_equal(h.kh_seq, 42);
	assert_int_equal(outlen, 0);
	/* An unknown op is answered as PING (so the sender sees a refusal). */
	((struct kh_hdr *)msg)->kh_op = 99;
	assert_int_equal(holder_handle(&f->ho, msg, n, out, &outlen, &h, &err), SL_EINVAL);
	assert_int_equal(h.kh_op, KH_OP_PING);
	/* A few bytes. */
	assert_int_equal(holder_handle(&f->ho, msg, 3, out, &outlen, &h, &err), SL_EINVAL);
}

static void
test_jws_set_and_sign(void **state)
{
	struct fixture *f = *state;
	struct sl_err err = { 0 };
	const char *list = "kEC one\n";
	size_t outlen = 0;
	char line[128];
	struct jose_key *pub;
	json_t *got = NULL;
	char *pem;

	write_key(f->dir, "kEC", "ES256");
	write_key(f->dir, "kRS", "RS256");
	write_key(f->dir, "kPS", "PS256");
	/* Malformed lists: an unknown alg, no newline, a path as kid, a key of
	 * another type, a missing file. */
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, list, strlen(list), &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "kEC ES256", 9, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "../kEC ES256\n", 13, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "kRS ES256\n", 10, &outlen), SL_ECRYPTO);
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "nope ES256\n", 11, &outlen), SL_EIO);
	assert_int_equal(f->ho.ho_njws, 0);
	/* More than KH_JWS_MAX lines. */
	{
		struct sl_buf b;
		sl_buf_init(&b, KH_PAYLOAD_MAX);
		for (int i = 0; i <= KH_JWS_MAX; i++)
			sl_buf_adds(&b, "kEC ES256\n");
		assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, b.b_data, b.b_len, &outlen), SL_ETOOBIG);
		sl_buf_reset(&b);
	}
	/* The control: three keys, three public PEMs back. */
	snprintf(line, sizeof(line), "kEC ES256\nkRS RS256\nkPS PS256\n");
	outlen = 0;
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, line, strlen(line), &outlen), SL_OK);
	assert_int_equal(f->ho.ho_njws, 3);
	pem = strndup((char *)out + 2, (size_t)out[0] << 8 | out[1]);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	assert_null(strstr((char *)out, "PRIVATE"));
	pub = jose_key_from_pem(pem, "ES256", "kEC", &err);
	assert_non_null(pub);
	free(pem);
	/* Signed there, composed here: verifies with the public half; twice,
	 * since each signature copies the key's one prepared context. */
	for (int round = 0; round < 2; round++) {
		char input[] = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtFQyJ9.eyJzdWIiOiJ4In0";
		uint8_t sig[64];
		char *s64, compact[256];
		input[strlen(input) - 4] = round ? '5' : '4'; /* {"sub":"y"}, {"sub":"x"} */
		outlen = 0;
		assert_int_equal(call(&f->ho, KH_OP_JWS_SIGN, "kEC", input, strlen(input), &outlen), SL_OK);
		assert_int_equal(outlen, 64);
		memcpy(sig, out, 64);
		s64 = sl_b64url_encode(sig, 64);
		snprintf(compact, sizeof(compact), "%s.%s", input, s64);
		free(s64);
		assert_int_equal(jose_verify(compact, &pub, 1, &got, &err), SL_OK);
		json_decref(got);
		compact[strlen(compact) - 2] ^= 1;
		assert_int_not_equal(jose_verify(compact, &pub, 1, &got, &err), SL_OK);
	}
	assert_int_equal(call(&f->ho, KH_OP_JWS_SIGN, "nope", "x", 1, &outlen), SL_ENOTFOUND);
	/* A failed new list keeps the old set. */
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "kEC ES256\nnope ES256\n", 21, &outlen), SL_EIO);
	assert_int_equal(f->ho.ho_njws, 3);
	/* A shorter list drops the others. */
	outlen = 0;
	assert_int_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "kPS PS256\n", 10, &outlen), SL_OK);
	assert_int_equal(f->ho.ho_njws, 1);
	assert_int_equal(call(&f->ho, KH_OP_JWS_SIGN, "kEC", "x", 1, &outlen), SL_ENOTFOUND);
	jose_key_free(pub);
	/* PS256: the prepared context keeps PSS padding (jose_verify checks
	 * it as PS256). */
	pem = strndup((char *)out + 2, (size_t)out[0] << 8 | out[1]);
	pub = jose_key_from_pem(pem, "PS256", "kPS", &err);
	assert_non_null(pub);
	free(pem);
	{
		char input[] = "eyJhbGciOiJQUzI1NiIsImtpZCI6ImtQUyJ9.eyJzdWIiOiJ4In0";
		char *s64, compact[512];
		outlen = 0;
		assert_int_equal(call(&f->ho, KH_OP_JWS_SIGN, "kPS", input, strlen(input), &outlen), SL_OK);
		assert_int_equal(outlen, 256);
		s64 = sl_b64url_encode(out, outlen);
		snprintf(compact, sizeof(compact), "%s.%s", input, s64);
		free(s64);
		assert_int_equal(jose_verify(compact, &pub, 1, &got, &err), SL_OK);
		json_decref(got);
	}
	jose_key_free(pub);
}

static void
test_seal_keys_and_unseal(void **state)
{
	struct fixture *f = *state;
	struct sl_err err = { 0 };
	size_t outlen = 0, bloblen = 0;
	uint8_t rest_pub[P256_PUB_LEN], *blob = NULL, req[512];
	char kid[KH_KID_MAX];

	assert_int_equal(call(&f->ho, KH_OP_SEAL_KEYS, NULL, NULL, 0, &outlen), SL_OK);
	assert_int_equal(f->ho.ho_nseal, 2); /* the at-rest key and a new sealing key */
	assert_int_equal(out[0], strlen(KH_REST_KID));
	assert_memory_equal(out + 1, KH_REST_KID, strlen(KH_REST_KID));
	memcpy(rest_pub, out + 1 + out[0], P256_PUB_LEN);
	memcpy(kid, out + 1 + out[0] + P256_PUB_LEN + 1, out[1 + out[0] + P256_PUB_LEN]);
	kid[out[1 + out[0] + P256_PUB_LEN]] = '\0';
	assert_true(kh_kid_ok(kid, strlen(kid)));
	/* Sealed here to the at-rest key, opened there. */
	assert_int_equal(seal(rest_pub, KH_REST_SEAL_KID, (const uint8_t *)"dev1", 4, (const uint8_t *)"secret", 6,
				 &blob, &bloblen, &err),
		SL_OK);
	req[0] = 0;
	req[1] = 4;
	memcpy(req + 2, "dev1", 4);
	memcpy(req + 6, blob, bloblen);
	outlen = 0;
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 6 + bloblen, &outlen), SL_OK);
	assert_int_equal(outlen, 6);
	assert_memory_equal(out, "secret", 6);
	/* Another key, another AAD, a changed byte, malformed AAD lengths. */
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, kid, req, 6 + bloblen, &outlen), SL_EDENIED);
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, "nope", req, 6 + bloblen, &outlen), SL_EINVAL);
	req[5] = '2';
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 6 + bloblen, &outlen), SL_EDENIED);
	req[5] = '1';
	req[6 + bloblen - 1] ^= 1;
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 6 + bloblen, &outlen), SL_EDENIED);
	req[1] = 0;
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 6 + bloblen, &outlen), SL_EINVAL);
	req[0] = 0xff;
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 6 + bloblen, &outlen), SL_EINVAL);
	assert_int_equal(call(&f->ho, KH_OP_UNSEAL, KH_REST_KID, req, 1, &outlen), SL_EINVAL);
	free(blob);
	/* Loaded again: the same keys (the files), not new ones. */
	outlen = 0;
	assert_int_equal(call(&f->ho, KH_OP_SEAL_KEYS, NULL, NULL, 0, &outlen), SL_OK);
	assert_memory_equal(out + 1 + out[0], rest_pub, P256_PUB_LEN);
}

/* review8: JWS_SET reads `<kid>.pem` from [keys] dir for any well-formed
 * kid, and the at-rest and sealing keys live there as P-256 PEM files
 * (device-rest.pem, device-seal-<kid>.pem): a compromised sleuteld lists
 * "device-rest ES256" and has the at-rest key ECDSA-sign whatever it sends.
 * An ID-token key list must not name a key the key holder keeps for
 * another use. */
static void
test_jws_set_refuses_other_keys(void **state)
{
	struct fixture *f = *state;
	size_t outlen = 0;
	char kid[KH_KID_MAX], line[128];

	assert_int_equal(call(&f->ho, KH_OP_SEAL_KEYS, NULL, NULL, 0, &outlen), SL_OK);
	memcpy(kid, out + 1 + out[0] + P256_PUB_LEN + 1, out[1 + out[0] + P256_PUB_LEN]);
	kid[out[1 + out[0] + P256_PUB_LEN]] = '\0';
	outlen = 0;
	assert_int_not_equal(call(&f->ho, KH_OP_JWS_SET, NULL, "device-rest ES256\n", 18, &outlen), SL_OK);
	outlen = 0;
	assert_int_not_equal(call(&f->ho, KH_OP_JWS_SIGN, "device-rest", "x.y", 3, &outlen), SL_OK);
	snprintf(line, sizeof(line), "device-seal-%s ES256\n", kid);
	outlen = 0;
	assert_int_not_equal(call(&f->ho, KH_OP_JWS_SET, NULL, line, strlen(line), &outlen), SL_OK);
}

/* The real process: malformed datagrams get an error answer, a good one
 * after them is served, and end of file ends it with status 0. */
static void
test_process(void **state)
{
	struct fixture *f = *state;
	char ini[256], text[512], exe[] = SL_TEST_BUILDDIR "/sleuteld";
	struct sl_err err = { 0 };
	struct kh_hdr h;
	const uint8_t *p;
	int sv[2], st;
	pid_t pid;
	ssize_t n;
	size_t len;

	snprintf(ini, sizeof(ini), "%s/sleutel.ini", f->dir);
	snprintf(text, sizeof(text),
		"[server]\nissuer = https://kh.example\ntls = false\n[eid]\nenabled = false\n[keys]\ndir = %s\n",
		f->dir);
	assert_int_equal(sl_file_write(ini, text, strlen(text), 0600, &err), SL_OK);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(sv[1], KH_FIRST_FD);
		execl(exe, "sleuteld", "--keyholder", "1", "--config", ini, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	/* Garbage, a short header, a lying length, an unknown op. */
	assert_int_equal(send(sv[0], "garbage", 7, 0), 7);
	n = recv(sv[0], msg, sizeof(msg), 0);
	assert_int_equal(kh_msg_parse(msg, (size_t)n, true, &h, &p, &err), SL_OK);
	assert_int_equal(h.kh_status, SL_EINVAL);
	len = kh_msg_build(msg, KH_OP_PING, 0, 5, NULL, "abc", 3);
	assert_int_equal(send(sv[0], msg, len - 1, 0), (ssize_t)len - 1);
	n = recv(sv[0], msg, sizeof(msg), 0);
	assert_int_equal(kh_msg_parse(msg, (size_t)n, true, &h, &p, &err), SL_OK);
	assert_int_equal(h.kh_status, SL_EINVAL);
	assert_int_equal(h.kh_seq, 5);
	len = kh_msg_build(msg, KH_OP_PING, 0, 6, NULL, "abc", 3);
	((struct kh_hdr *)msg)->kh_op = 77;
	assert_int_equal(send(sv[0], msg, len, 0), (ssize_t)len);
	n = recv(sv[0], msg, sizeof(msg), 0);
	assert_int_equal(kh_msg_parse(msg, (size_t)n, true, &h, &p, &err), SL_OK);
	assert_int_equal(h.kh_status, SL_EINVAL);
	/* Then a good request is served. */
	len = kh_msg_build(msg, KH_OP_PING, 0, 8, NULL, "abc", 3);
	assert_int_equal(send(sv[0], msg, len, 0), (ssize_t)len);
	n = recv(sv[0], msg, sizeof(msg), 0);
	assert_int_equal(kh_msg_parse(msg, (size_t)n, true, &h, &p, &err), SL_OK);
	assert_int_equal(h.kh_status, 0);
	assert_int_equal(h.kh_seq, 8);
	assert_memory_equal(p, "abc", 3);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test_setup_teardown(test_handle_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jws_set_and_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_keys_and_unseal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jws_set_refuses_other_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
