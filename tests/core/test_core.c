/*
 * test_core.c — the bounded buffer, base64url and base64, URL encoding,
 * constant-time comparison, randomness and the file helpers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "../../src/core/core.h"
#include "../lib/testutil.h"

/* ---- temporary directory per test ---- */

static int
tmpdir_setup(void **state)
{
	*state = tu_tmpdir("sl-test-core");
	return *state == NULL ? -1 : 0;
}

static int
tmpdir_teardown(void **state)
{
	tu_rm_tree(*state);
	free(*state);
	return 0;
}

/* "<dir>/<name>", which the test frees. */
static char *
path_in(const char *dir, const char *name)
{
	char *path = tu_path(dir, name);

	assert_non_null(path);
	return path;
}

/* ---- bounded buffer ---- */

static void
test_buf_add_up_to_max(void **state)
{
	struct sl_buf b;

	(void)state;
	sl_buf_init(&b, 8);
	assert_string_equal(sl_buf_str(&b), "");
	assert_int_equal(sl_buf_adds(&b, "abcd"), SL_OK);
	assert_int_equal(sl_buf_add(&b, "efgh", 4), SL_OK);
	assert_int_equal(b.b_len, 8);
	assert_string_equal(sl_buf_str(&b), "abcdefgh");
	sl_buf_reset(&b);
	assert_null(b.b_data);
	assert_int_equal(b.b_len, 0);
}

static void
test_buf_add_past_max_is_too_big(void **state)
{
	struct sl_buf b;

	(void)state;
	sl_buf_init(&b, 8);
	assert_int_equal(sl_buf_adds(&b, "abcdef"), SL_OK);
	assert_int_equal(sl_buf_adds(&b, "xyz"), SL_ETOOBIG);
	assert_int_equal(b.b_len, 6);
	assert_string_equal(sl_buf_str(&b), "abcdef");
	assert_int_equal(sl_buf_adds(&b, "gh"), SL_OK);
	assert_int_equal(sl_buf_add(&b, "i", 1), SL_ETOOBIG);
	assert_string_equal(sl_buf_str(&b), "abcdefgh");
	/* One huge length must not wrap around the limit check. */
	assert_int_equal(sl_buf_add(&b, "j", SIZE_MAX), SL_ETOOBIG);
	assert_string_equal(sl_buf_str(&b), "abcdefgh");
	sl_buf_reset(&b);
}

static void
test_buf_addf_formats_and_limits(void **state)
{
	struct sl_buf b;

	(void)state;
	sl_buf_init(&b, 16);
	assert_int_equal(sl_buf_addf(&b, "%s=%d", "n", 42), SL_OK);
	assert_int_equal(sl_buf_addf(&b, ";%c", 'x'), SL_OK);
	assert_string_equal(sl_buf_str(&b), "n=42;x");
	assert_int_equal(sl_buf_addf(&b, "%s", "0123456789ab"), SL_ETOOBIG);
	assert_string_equal(sl_buf_str(&b), "n=42;x");
	assert_int_equal(b.b_len, 6);
	assert_int_equal(sl_buf_addf(&b, "%010d", 7), SL_OK);
	assert_string_equal(sl_buf_str(&b), "n=42;x0000000007");
	sl_buf_reset(&b);
}

static void
test_buf_take_hands_over_and_empties(void **state)
{
	struct sl_buf b;
	char *s;

	(void)state;
	sl_buf_init(&b, 64);
	assert_int_equal(sl_buf_adds(&b, "hello"), SL_OK);
	s = sl_buf_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "hello");
	assert_null(b.b_data);
	assert_int_equal(b.b_len, 0);
	assert_string_equal(sl_buf_str(&b), "");
	free(s);

	/* An empty buffer hands over "", not NULL. */
	s = sl_buf_take(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	/* The buffer is usable again afterwards, with the same limit. */
	assert_int_equal(sl_buf_adds(&b, "again"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "again");
	sl_buf_reset(&b);
}

/* Every input of `bad` that `decode` accepts, listed in one failure. */
static void
expect_all_refused(
	uint8_t *(*decode)(const char *, size_t, size_t *), const char *what, const char *const *bad, size_t nbad)
{
	struct sl_buf accepted;
	size_t n;

	sl_buf_init(&accepted, 4096);
	for (size_t i = 0; i < nbad; i++) {
		uint8_t *dec = decode(bad[i], strlen(bad[i]), &n);
		if (dec == NULL)
			continue;
		free(dec);
		sl_buf_adds(&accepted, " \"");
		for (const char *c = bad[i]; *c; c++) {
			if (*c >= 0x20 && *c < 0x7f)
				sl_buf_add(&accepted, c, 1);
			else
				sl_buf_addf(&accepted, "\\x%02x", (unsigned char)*c);
		}
		sl_buf_addf(&accepted, "\" (%zu bytes)", n);
	}
	if (accepted.b_len > 0) {
		char list[4096];
		snprintf(list, sizeof(list), "%s", sl_buf_str(&accepted));
		sl_buf_reset(&accepted);
		fail_msg("%s accepted:%s", what, list);
	}
}

/* ---- base64url ---- */

static const struct {
	const char *plain;
	const char *enc;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_b64url_rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *p = rfc4648[i].plain, *e = rfc4648[i].enc;
		char *enc = sl_b64url_encode((const uint8_t *)p, strlen(p));
		uint8_t *dec;
		size_t n = 999;

		assert_non_null(enc);
		assert_string_equal(enc, e);
		free(enc);
		dec = sl_b64url_decode(e, strlen(e), &n);
		assert_non_null(dec);
		assert_int_equal(n, strlen(p));
		assert_memory_equal(dec, p, n);
		free(dec);
	}
}

static void
test_b64url_url_alphabet(void **state)
{
	const uint8_t raw[] = { 0xfb, 0xff, 0xbf };
	uint8_t *dec;
	size_t n;
	char *enc;

	(void)state;
	enc = sl_b64url_encode(raw, sizeof(raw));
	assert_non_null(enc);
	assert_string_equal(enc, "-_-_");
	dec = sl_b64url_decode(enc, strlen(enc), &n);
	assert_non_null(dec);
	assert_int_equal(n, sizeof(raw));
	assert_memory_equal(dec, raw, sizeof(raw));
	free(dec);
	free(enc);
}

static void
test_b64url_round_trip_all_lengths(void **state)
{
	uint8_t raw[200];

	(void)state;
	assert_int_equal(sl_random(raw, sizeof(raw)), SL_OK);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		char *enc = sl_b64url_encode(raw, len);
		uint8_t *dec;
		size_t n = 999;

		assert_non_null(enc);
		assert_int_equal(strlen(enc), (4 * len + 2) / 3);
		assert_null(strpbrk(enc, "+/="));
		dec = sl_b64url_decode(enc, strlen(enc), &n);
		assert_non_null(dec);
		assert_int_equal(n, len);
		assert_memory_equal(dec, raw, len);
		free(dec);
		free(enc);
	}
}

/* sl_b64_encode is sleuteld's own (encode.c): every byte value at every
 * position and every length 0..258 against OpenSSL's EVP_EncodeBlock, and
 * the URL form against the same with the alphabet swapped and no '='. */
static void
test_b64_encode_matches_openssl(void **state)
{
	uint8_t raw[258];
	char want[4 * sizeof(raw) / 3 + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + i / 256);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		char *enc = sl_b64_encode(raw + sizeof(raw) - len, len), *url;
		int n = EVP_EncodeBlock((unsigned char *)want, raw + sizeof(raw) - len, (int)len);

		assert_non_null(enc);
		assert_string_equal(enc, want);
		url = sl_b64url_encode(raw + sizeof(raw) - len, len);
		assert_non_null(url);
		while (n > 0 && want[n - 1] == '=')
			want[--n] = '\0';
		for (int i = 0; i < n; i++)
			want[i] = want[i] == '+' ? '-' : want[i] == '/' ? '_' : want[i];
		assert_string_equal(url, want);
		free(url);
		free(enc);
	}
}

static void
test_b64url_decode_rejects_std_alphabet_and_padding(void **state)
{
	static const char *const bad[] = { "Zg==", "Zm8=", "+_8", "-/8", "Zm9v+A", "Zm9v/w", "Zm=v", "====" };

	(void)state;
	expect_all_refused(sl_b64url_decode, "sl_b64url_decode", bad, sizeof(bad) / sizeof(bad[0]));
}

static void
test_b64url_decode_rejects_bad_length_and_chars(void **state)
{
	static const char *const bad[] = { "Z", "Zm9vY", "Zm9vYmFyZ", "Zm9v!A", "Zm 9", "Zm9\x80", "Zm9v.g" };
	size_t n;

	(void)state;
	expect_all_refused(sl_b64url_decode, "sl_b64url_decode", bad, sizeof(bad) / sizeof(bad[0]));
	/* The length given is the length used: a NUL inside is not an end. */
	assert_null(sl_b64url_decode("Zm9v\0Zm9", 8, &n));
}

static void
test_b64url_decode_rejects_whitespace(void **state)
{
	static const char *const bad[] = { "    Zm9v", "Zm9v    ", "\n\n\n\nZm9v", "Zm9v\r\n\r\n", "Zm9v\t\t\t\t" };

	(void)state;
	expect_all_refused(sl_b64url_decode, "sl_b64url_decode", bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- base64 (HTTP Basic) ---- */

static void
test_b64_decode_padded(void **state)
{
	static const struct {
		const char *enc;
		const char *plain;
	} ok[] = {
		{ "", "" },
		{ "Zg==", "f" },
		{ "Zm8=", "fo" },
		{ "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" },
		{ "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" },
		{ "Y2xpZW50OnNlY3JldA==", "client:secret" },
	};
	uint8_t *dec;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = 999;
		dec = sl_b64_decode(ok[i].enc, strlen(ok[i].enc), &n);
		assert_non_null(dec);
		assert_int_equal(n, strlen(ok[i].plain));
		assert_memory_equal(dec, ok[i].plain, n);
		free(dec);
	}
	/* The standard alphabet: + and / */
	dec = sl_b64_decode("+/+/", 4, &n);
	assert_non_null(dec);
	assert_int_equal(n, 3);
	assert_memory_equal(dec, "\xfb\xff\xbf", 3);
	free(dec);
}

static void
test_b64_decode_rejects_bad_input(void **state)
{
	static const char *const bad[] = { "Zg", "Zm8", "Zm9vY", "Zg=", "Zm9v!A==", "-_-_", "Zm 9v" };

	(void)state;
	expect_all_refused(sl_b64_decode, "sl_b64_decode", bad, sizeof(bad) / sizeof(bad[0]));
}

static void
test_b64_decode_rejects_inner_padding(void **state)
{
	/* '=' may only end the input: anything else is not base64. */
	static const char *const bad[] = { "Zg==Zg==", "Z=g=", "QQ=A", "====" };

	(void)state;
	expect_all_refused(sl_b64_decode, "sl_b64_decode", bad, sizeof(bad) / sizeof(bad[0]));
}

/* ---- hex and URL encoding ---- */

static void
test_hex(void **state)
{
	const uint8_t raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(raw) + 1];

	(void)state;
	sl_hex(raw, sizeof(raw), out);
	assert_string_equal(out, "00017f80abff");
}

static void
test_url_encode(void **state)
{
	struct sl_buf b;

	(void)state;
	sl_buf_init(&b, 1024);
	assert_int_equal(sl_url_encode(&b, "AZaz09-._~"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "AZaz09-._~");
	sl_buf_reset(&b);

	assert_int_equal(sl_url_encode(&b, "a b"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "a%20b");
	sl_buf_reset(&b);

	/* é and € as UTF-8 bytes, upper-case hex */
	assert_int_equal(sl_url_encode(&b, "caf\xc3\xa9 \xe2\x82\xac"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "caf%C3%A9%20%E2%82%AC");
	sl_buf_reset(&b);

	assert_int_equal(sl_url_encode(&b, "&=?/+%#:@!*'()\"<>\n"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "%26%3D%3F%2F%2B%25%23%3A%40%21%2A%27%28%29%22%3C%3E%0A");
	sl_buf_reset(&b);

	assert_int_equal(sl_url_encode(&b, ""), SL_OK);
	assert_string_equal(sl_buf_str(&b), "");
	sl_buf_reset(&b);

	/* runs and escapes taking turns, an escape first and last */
	assert_int_equal(sl_url_encode(&b, "/ab c~d//e?"), SL_OK);
	assert_string_equal(sl_buf_str(&b), "%2Fab%20c~d%2F%2Fe%3F");
	sl_buf_reset(&b);
}

static void
test_url_encode_respects_buffer_max(void **state)
{
	struct sl_buf b;

	(void)state;
	sl_buf_init(&b, 5);
	assert_int_equal(sl_url_encode(&b, "a  b"), SL_ETOOBIG);
	assert_true(b.b_len <= 5);
	sl_buf_reset(&b);
}

/* ---- constant-time comparison ---- */

static void
test_ct_equal(void **state)
{
	(void)state;
	assert_true(sl_ct_equal("secret", 6, "secret", 6));
	assert_false(sl_ct_equal("secret", 6, "secreT", 6));
	assert_false(sl_ct_equal("Secret", 6, "secret", 6));
	assert_false(sl_ct_equal("secret", 6, "secrets", 7));
	assert_false(sl_ct_equal("secrets", 7, "secret", 6));
	assert_true(sl_ct_equal("a\0b", 3, "a\0b", 3));
	assert_false(sl_ct_equal("a\0b", 3, "a\0c", 3));
	assert_true(sl_ct_equal("", 0, "", 0));
	assert_false(sl_ct_equal("", 0, "x", 1));
}

static void
test_ct_streq(void **state)
{
	(void)state;
	assert_true(sl_ct_streq("token", "token"));
	assert_true(sl_ct_streq("", ""));
	assert_false(sl_ct_streq("token", "tokem"));
	assert_false(sl_ct_streq("token", "tok"));
	assert_false(sl_ct_streq("tok", "token"));
	assert_false(sl_ct_streq("", "x"));
	assert_false(sl_ct_streq(NULL, "token"));
	assert_false(sl_ct_streq("token", NULL));
	assert_false(sl_ct_streq(NULL, NULL));
}

/* ---- randomness ---- */

static void
test_random_uniform_bounds(void **state)
{
	int seen[10] = { 0 };
	uint32_t v;

	(void)state;
	assert_int_equal(sl_random_uniform(0, &v), SL_EINVAL);
	for (int i = 0; i < 100; i++) {
		v = 99;
		assert_int_equal(sl_random_uniform(1, &v), SL_OK);
		assert_int_equal(v, 0);
	}
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(sl_random_uniform(10, &v), SL_OK);
		assert_true(v < 10);
		seen[v]++;
	}
	/* 2000 draws: each value is expected 200 times; absence is ~1e-91. */
	for (int i = 0; i < 10; i++)
		assert_true(seen[i] > 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(sl_random_uniform(UINT32_MAX, &v), SL_OK);
		assert_true(v < UINT32_MAX);
	}
	for (int i = 0; i < 100; i++) {
		assert_int_equal(sl_random_uniform(0x80000001u, &v), SL_OK);
		assert_true(v < 0x80000001u);
	}
}

/* Names people type as arguments never start with '-' (read as an option)
 * or '_'; found when a client id "-..." made `client show ID` fail. */
static void
test_random_name_starts_with_alnum(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		char *id = sl_random_name(16);
		assert_non_null(id);
		assert_int_equal(strlen(id), 22);
		if (id[0] == '-' || id[0] == '_')
			fail_msg("sl_random_name gave %s", id);
		free(id);
	}
}

static void
test_random_id_length_and_alphabet(void **state)
{
	static const struct {
		size_t bytes, chars;
	} sizes[] = { { 1, 2 }, { 3, 4 }, { 16, 22 }, { 32, 43 }, { 64, 86 } };
	char *a, *b;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		a = sl_random_id(sizes[i].bytes);
		assert_non_null(a);
		assert_int_equal(strlen(a), sizes[i].chars);
		assert_int_equal(
			strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), strlen(a));
		free(a);
	}
	a = sl_random_id(16);
	b = sl_random_id(16);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	/* More than the documented internal maximum is refused, not truncated. */
	assert_null(sl_random_id(65));
}

/* Identifiers come from a per-thread pool of the CSPRNG's output: a
 * forked child must not hand out the slice its parent hands out next, nor
 * any two draws (across refills of the pool) repeat. */
static void
test_random_id_pool_fork_and_refill(void **state)
{
	char *ids[200], *parent, child[64] = "";
	int fds[2], status = 0;
	pid_t pid;

	(void)state;
	for (int i = 0; i < 200; i++) { /* 200 x 32 bytes: many refills */
		ids[i] = sl_random_id(32);
		assert_non_null(ids[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	for (int i = 0; i < 200; i++)
		free(ids[i]);
	free(sl_random_id(16)); /* the pool holds bytes now */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *id = sl_random_id(16);
		ssize_t n = id ? write(fds[1], id, strlen(id)) : -1;
		_exit(n > 0 ? 0 : 1);
	}
	close(fds[1]);
	assert_true(read(fds[0], child, sizeof(child) - 1) > 0);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	parent = sl_random_id(16);
	assert_non_null(parent);
	assert_string_not_equal(parent, child);
	free(parent);
}

/* ---- strings ---- */

static void
test_strlcpy_truncates_and_reports(void **state)
{
	char small[4];

	(void)state;
	assert_int_equal(sl_strlcpy(small, "abcdef", sizeof(small)), 6);
	assert_string_equal(small, "abc");
	assert_int_equal(sl_strlcpy(small, "ab", sizeof(small)), 2);
	assert_string_equal(small, "ab");
	assert_true(sl_str_empty(NULL));
	assert_true(sl_str_empty(""));
	assert_false(sl_str_empty("x"));
	assert_true(sl_str_printable("abc ~", 5));
	assert_false(sl_str_printable("a\nb", 3));
	assert_false(sl_str_printable("a\x7f", 2));
}

/* ---- files ---- */

static void
test_file_write_honours_mode(void **state)
{
	const char *dir = *state;
	char *path = path_in(dir, "secret.pem");
	struct sl_err err = { 0 };
	struct stat sb;
	mode_t old = umask(022);

	assert_int_equal(sl_file_write(path, "key", 3, 0600, &err), SL_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* Wider than the umask allows: the mode asked for is the mode set. */
	assert_int_equal(sl_file_write(path, "pub", 3, 0664, &err), SL_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0664);

	/* Replacing a 0664 file with a secret narrows it again. */
	assert_int_equal(sl_file_write(path, "key2", 4, 0600, &err), SL_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	umask(old);
	free(path);
}

static void
test_file_write_is_atomic_and_leaves_no_tmp(void **state)
{
	const char *dir = *state;
	char *path = path_in(dir, "data.json");
	struct sl_err err = { 0 };
	struct dirent *de;
	char *data;
	size_t n;
	int files = 0;
	DIR *d;

	assert_int_equal(sl_file_write(path, "old contents", 12, 0600, &err), SL_OK);
	assert_int_equal(sl_file_write(path, "new", 3, 0600, &err), SL_OK);
	assert_int_equal(sl_file_read(path, 100, &data, &n, &err), SL_OK);
	assert_int_equal(n, 3);
	assert_string_equal(data, "new");
	free(data);

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		assert_string_equal(de->d_name, "data.json");
		files++;
	}
	closedir(d);
	assert_int_equal(files, 1);
	free(path);
}

static void
test_file_write_into_missing_dir_fails(void **state)
{
	const char *dir = *state;
	char *path = path_in(dir, "no/such/dir/file");
	struct sl_err err = { 0 };

	assert_int_equal(sl_file_write(path, "x", 1, 0600, &err), SL_EIO);
	assert_int_equal(err.code, SL_EIO);
	assert_true(strlen(err.msg) > 0);
	free(path);
}

static void
test_file_read_limit(void **state)
{
	const char *dir = *state;
	char *path = path_in(dir, "big");
	struct sl_err err = { 0 };
	char *data = NULL, *content;
	size_t n = 0, size = 10000;

	/* Larger than one read() chunk, so the limit is hit across reads. */
	content = malloc(size);
	assert_non_null(content);
	memset(content, 'x', size);
	assert_int_equal(sl_file_write(path, content, size, 0600, &err), SL_OK);

	assert_int_equal(sl_file_read(path, size, &data, &n, &err), SL_OK);
	assert_int_equal(n, size);
	assert_memory_equal(data, content, size);
	assert_int_equal(data[size], '\0');
	free(data);

	data = NULL;
	memset(&err, 0, sizeof(err));
	assert_int_equal(sl_file_read(path, size - 1, &data, &n, &err), SL_ETOOBIG);
	assert_null(data);
	assert_int_equal(err.code, SL_ETOOBIG);
	assert_non_null(strstr(err.msg, "too large"));

	assert_int_equal(sl_file_read(path, 100, &data, NULL, &err), SL_ETOOBIG);
	free(content);
	free(path);
}

static void
test_file_read_empty_and_missing(void **state)
{
	const char *dir = *state;
	char *path = path_in(dir, "empty"), *missing = path_in(dir, "missing");
	struct sl_err err = { 0 };
	char *data = NULL;
	size_t n = 99;

	assert_int_equal(sl_file_write(path, "", 0, 0600, &err), SL_OK);
	assert_int_equal(sl_file_read(path, 10, &data, &n, &err), SL_OK);
	assert_non_null(data);
	assert_int_equal(n, 0);
	assert_string_equal(data, "");
	free(data);

	assert_int_equal(sl_file_read(missing, 10, &data, &n, &err), SL_EIO);
	assert_non_null(strstr(err.msg, missing));
	free(path);
	free(missing);
}

static void
test_path_resolve(void **state)
{
	char *p;

	(void)state;
	p = sl_path_resolve("/etc/sleutel", "keys");
	assert_non_null(p);
	assert_string_equal(p, "/etc/sleutel/keys");
	free(p);
	p = sl_path_resolve("/etc/sleutel", "tls/cert.pem");
	assert_non_null(p);
	assert_string_equal(p, "/etc/sleutel/tls/cert.pem");
	free(p);
	p = sl_path_resolve("/etc/sleutel", "/var/lib/sleutel/db");
	assert_non_null(p);
	assert_string_equal(p, "/var/lib/sleutel/db");
	free(p);
	p = sl_path_resolve(NULL, "rel/path");
	assert_non_null(p);
	assert_string_equal(p, "rel/path");
	free(p);
	p = sl_path_resolve("", "rel/path");
	assert_non_null(p);
	assert_string_equal(p, "rel/path");
	free(p);
	p = sl_path_resolve(".", "sleutel.db");
	assert_non_null(p);
	assert_string_equal(p, "./sleutel.db");
	free(p);
	assert_null(sl_path_resolve("/etc", NULL));
}

/* ---- errors ---- */

static void
test_fail_fills_error(void **state)
{
	struct sl_err err = { 0 };

	(void)state;
	assert_int_equal(sl_fail(&err, SL_EINVAL, "bad %s %d", "thing", 7), SL_EINVAL);
	assert_int_equal(err.code, SL_EINVAL);
	assert_string_equal(err.msg, "bad thing 7");
	assert_int_equal(sl_fail(NULL, SL_EIO, "ignored"), SL_EIO);
	assert_string_equal(sl_strerror(SL_ETOOBIG), "too large");
	assert_string_equal(sl_strerror(SL_ECONFLICT), "conflict");
}

/* sl_json_compact writes what json_dumps(v, JSON_COMPACT) writes, for
 * every kind of value: escapes, control characters, order, nesting, and
 * the cases it leaves to jansson (non-ASCII, reals, deep nesting). */
static void
expect_same_json(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT), *got = sl_json_compact(v);

	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
	free(want);
	free(got);
	json_decref(v);
}

static void
test_json_compact_matches_jansson(void **state)
{
	json_t *deep = json_array(), *at = deep, *ctl = json_object();
	char all[32], printable[0x61];

	(void)state;
	expect_same_json(json_pack("{s:s,s:i,s:s,s:b,s:b,s:n,s:[],s:{}}", "access_token", "aB-_09", "expires_in", 3600,
		"scope", "openid profile", "t", 1, "f", 0, "z", "a", "o"));
	expect_same_json(json_pack("{s:s,s:I,s:I}", "q", "say \"hi\" \\ / back", "min", (json_int_t)INT64_MIN, "max",
		(json_int_t)INT64_MAX));
	for (int i = 1; i < 32; i++)
		all[i - 1] = (char)i;
	all[31] = '\0';
	json_object_set_new(ctl, "ctl", json_string(all));
	for (int i = 0x20; i <= 0x7f; i++) /* every byte written as it is, and '"' and '\\' */
		printable[i - 0x20] = (char)i;
	printable[0x60] = '\0';
	json_object_set_new(ctl, "printable", json_string(printable));
	json_object_set_new(ctl, "k\n\"ey", json_stringn("a\0b", 3));
	expect_same_json(ctl);
	/* insertion order kept */
	expect_same_json(json_pack("{s:i,s:i,s:i,s:[i,s,[{}]]}", "zeta", 1, "alpha", 2, "mid", 3, "arr", -7, "x"));
	/* left to jansson: non-ASCII (valid, and not UTF-8 at all), reals */
	expect_same_json(json_pack("{s:s}", "name",
		"Ren\xc3\xa9"
		"e \xe2\x82\xac"));
	expect_same_json(json_pack("{s:[f,f]}", "r", 0.1, 1e300));
	expect_same_json(json_pack("[o]", json_stringn_nocheck("\xff\xfe", 2)));
	for (int i = 0; i < 100; i++) {
		json_t *next = json_array();
		json_array_append_new(at, next);
		at = next;
	}
	expect_same_json(deep);
	/* bare values: json_dumps refuses them without JSON_ENCODE_ANY */
	expect_same_json(json_string("bare"));
	expect_same_json(json_integer(5));
	assert_null(sl_json_compact(NULL));
	{
		json_t *o = json_pack("{s:s,s:[i,b]}", "k", "\x1f\"/", "a", 10, 0);
		char *got = sl_json_compact(o);
		assert_string_equal(got, "{\"k\":\"\\u001F\\\"/\",\"a\":[10,false]}");
		free(got);
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_add_up_to_max),
		cmocka_unit_test(test_buf_add_past_max_is_too_big),
		cmocka_unit_test(test_buf_addf_formats_and_limits),
		cmocka_unit_test(test_buf_take_hands_over_and_empties),
		cmocka_unit_test(test_b64url_rfc4648_vectors),
		cmocka_unit_test(test_b64url_url_alphabet),
		cmocka_unit_test(test_b64url_round_trip_all_lengths),
		cmocka_unit_test(test_b64_encode_matches_openssl),
		cmocka_unit_test(test_b64url_decode_rejects_std_alphabet_and_padding),
		cmocka_unit_test(test_b64url_decode_rejects_bad_length_and_chars),
		cmocka_unit_test(test_b64url_decode_rejects_whitespace),
		cmocka_unit_test(test_b64_decode_padded),
		cmocka_unit_test(test_b64_decode_rejects_bad_input),
		cmocka_unit_test(test_b64_decode_rejects_inner_padding),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_url_encode_respects_buffer_max),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_ct_streq),
		cmocka_unit_test(test_random_uniform_bounds),
		cmocka_unit_test(test_random_id_length_and_alphabet),
		cmocka_unit_test(test_random_id_pool_fork_and_refill),
		cmocka_unit_test(test_random_name_starts_with_alnum),
		cmocka_unit_test(test_strlcpy_truncates_and_reports),
		cmocka_unit_test_setup_teardown(test_file_write_honours_mode, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(
			test_file_write_is_atomic_and_leaves_no_tmp, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_write_into_missing_dir_fails, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_read_limit, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_file_read_empty_and_missing, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_path_resolve),
		cmocka_unit_test(test_fail_fills_error),
		cmocka_unit_test(test_json_compact_matches_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
