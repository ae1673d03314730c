/*
 * pkcs11.c — a card's keys and certificates into a SoftHSM2 token, so that
 * a browser (through NSS and p11-kit or a loaded module) meets the card as
 * it would meet a real eID behind a PKCS#11 module.
 *
 * The work is done by the tools a person would use, run with fork/exec and
 * never a shell: `softhsm2-util --init-token --free` when no token has the
 * label yet (user PIN = the card PIN), then one `pkcs11-tool --write-object`
 * per object.  SoftHSM finds its configuration in $SOFTHSM2_CONF, which is
 * left to the environment.  The card PIN reaches pkcs11-tool through its
 * environment (--pin env:VAR), not its command line; softhsm2-util has no
 * such option, so token creation shows the PIN to other local users for
 * the moment it runs: acceptable for a demo token, and said in docs/pki.md.
 *
 * The PKCS#12 is opened with the PIN (its MAC first, so a wrong PIN is told
 * as such) and walked bag by bag, because PKCS12_parse() returns one key
 * and a card has two.  Keys are paired with their certificates by
 * localKeyID and named by the certificate's friendly name.  Private keys
 * go to the tools as DER PKCS#8 in a fresh 0700 directory inside DIR,
 * written 0600, wiped from memory and unlinked when done.
 *
 * Objects, after the labels and IDs of the Belgian eID middleware:
 *   ID 02 "Authentication"  private key + certificate
 *   ID 03 "Signature"       private key + certificate
 *   ID 04 "CA"              the issuing CA's certificate
 *   ID 05 "Root"            the root's certificate
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

#define PKI_TOOL_OUT_MAX (64 * 1024) /* output kept from a tool */
#define PKI_TOKEN_LABEL_MAX 32 /* CK_TOKEN_INFO.label */
#define PKI_P12_MAX (1 << 20)
#define PKI_CARD_OBJS 4
#define PKI_PIN_ENV "SL_PKCS11_PIN"

extern char **environ;

static const char *const softhsm_modules[] = {
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
};

struct card_obj {
	const char *co_label;
	const char *co_id;
	uint8_t *co_key; /* DER PKCS#8, or NULL */
	size_t co_keylen;
	uint8_t *co_cert; /* DER */
	size_t co_certlen;
};

struct card_objs {
	struct card_obj cs_obj[PKI_CARD_OBJS];
	size_t cs_n;
};

static void
card_objs_clear(struct card_objs *cs)
{
	for (size_t i = 0; i < cs->cs_n; i++) {
		if (cs->cs_obj[i].co_key != NULL)
			OPENSSL_cleanse(cs->cs_obj[i].co_key, cs->cs_obj[i].co_keylen);
		free(cs->cs_obj[i].co_key);
		free(cs->cs_obj[i].co_cert);
	}
	memset(cs, 0, sizeof(*cs));
}

/* ---- running a tool ---- */

static const char *
tool_package(const char *tool)
{
	return strcmp(tool, "softhsm2-util") == 0 ? "softhsm2" : "opensc";
}

/* The environment with PKI_PIN_ENV=pin added (replacing any); malloc'd
 * array of borrowed strings but for the new one, which is envp[0]. */
static char **
tool_env(const char *pin)
{
	size_t n = 0, k = 1;
	char **envp;
	struct sl_buf var;

	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((envp = calloc(n + 2, sizeof(*envp))) == NULL)
		return NULL;
	sl_buf_init(&var, 256);
	if (sl_buf_addf(&var, "%s=%s", PKI_PIN_ENV, pin ? pin : "") != SL_OK || (envp[0] = sl_buf_take(&var)) == NULL) {
		free(envp);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], PKI_PIN_ENV "=", sizeof(PKI_PIN_ENV)) != 0)
			envp[k++] = environ[i];
	return envp;
}

static void
tool_env_free(char **envp)
{
	if (envp != NULL && envp[0] != NULL) {
		OPENSSL_cleanse(envp[0], strlen(envp[0]));
		free(envp[0]);
	}
	free(envp);
}

/* Read `fd` to its end, keeping the first PKI_TOOL_OUT_MAX bytes. */
static void
tool_drain(int fd, struct sl_buf *out)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out->b_len + (size_t)n <= PKI_TOOL_OUT_MAX)
			sl_buf_add(out, chunk, (size_t)n);
	}
}

/* The last non-empty line of a tool's output, for an error message. */
static void
tool_last_line(const char *s, char *line, size_t size)
{
	const char *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(line, size, "%.*s", (int)(end - start), start);
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static void
tool_child(char *const argv[], char **envp, int null_fd, int out_fd, int err_fd)
{
	int e;

	if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	execvpe(argv[0], argv, envp);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Run argv[0] (from PATH) with stdin /dev/null, PKI_PIN_ENV=pin in its
 * environment and stdout+stderr into `out`; SL_OK when it exits 0. */
static int
tool_run(char *const argv[], const char *pin, struct sl_buf *out, struct sl_err *err)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC), out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	int status = 0, exec_errno = 0, rc = SL_OK;
	char **envp = tool_env(pin), line[160];
	pid_t pid = -1;

	if (null_fd < 0 || envp == NULL || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
		(pid = fork()) < 0) {
		rc = sl_fail(err, SL_EIO, "cannot run %s: %s", argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0)
		tool_child(argv, envp, null_fd, out_pipe[1], err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	out_pipe[1] = err_pipe[1] = -1;
	tool_drain(out_pipe[0], out);
	while (read(err_pipe[0], &exec_errno, sizeof(exec_errno)) < 0 && errno == EINTR)
		;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	tool_last_line(sl_buf_str(out), line, sizeof(line));
	if (exec_errno != 0)
		rc = sl_fail(err, SL_EIO, "cannot run %s: %s (Debian package %s)", argv[0], strerror(exec_errno),
			tool_package(argv[0]));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = sl_fail(err, SL_ERR, "%s %s failed: %s", argv[0], argv[1], line[0] ? line : "(no output)");
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	if (null_fd >= 0)
		close(null_fd);
	tool_env_free(envp);
	return rc;
}

/* ---- the PKCS#12 ---- */

static int
der_of_cert(X509 *cert, uint8_t **der, size_t *len)
{
	unsigned char *buf = NULL;
	int n = i2d_X509(cert, &buf);

	return pki_der_take(buf, n, der, len);
}

/* The key bag with localKeyID `id` among `bags`, as DER PKCS#8. */
static int
p12_key_of(
	const STACK_OF(PKCS12_SAFEBAG) * bags, const ASN1_OCTET_STRING *id, const char *pin, uint8_t **der, size_t *len)
{
	for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		const ASN1_TYPE *kid = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
		PKCS8_PRIV_KEY_INFO *p8;
		unsigned char *buf = NULL;
		int n, rc;

		if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag || kid == NULL ||
			kid->type != V_ASN1_OCTET_STRING || ASN1_OCTET_STRING_cmp(kid->value.octet_string, id) != 0)
			continue;
		if ((p8 = PKCS12_decrypt_skey_ex(bag, pin, -1, NULL, NULL)) == NULL)
			return SL_ECRYPTO;
		n = i2d_PKCS8_PRIV_KEY_INFO(p8, &buf);
		PKCS8_PRIV_KEY_INFO_free(p8);
		rc = n > 0 && (*der = malloc((size_t)n)) != NULL ? SL_OK : SL_ENOMEM;
		if (rc == SL_OK) {
			memcpy(*der, buf, (size_t)n);
			*len = (size_t)n;
		}
		if (buf != NULL)
			OPENSSL_clear_free(buf, (size_t)n);
		return rc;
	}
	return SL_ENOTFOUND;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t ls = s ? strlen(s) : 0, lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* One certificate bag into an object (with its key when it has one). */
static int
p12_cert_obj(const PKCS12_SAFEBAG *bag, const STACK_OF(PKCS12_SAFEBAG) * keys, const char *pin, struct card_objs *cs)
{
	const ASN1_TYPE *kid = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
	char *fname;
	X509 *cert;
	struct card_obj *co;
	int rc = SL_OK;

	if (cs->cs_n >= PKI_CARD_OBJS)
		return SL_ETOOBIG; /* more than a card holds */
	fname = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)bag);
	cert = PKCS12_SAFEBAG_get1_cert(bag);
	co = &cs->cs_obj[cs->cs_n];
	if (cert == NULL) {
		rc = SL_EINVAL;
	} else if (kid == NULL || kid->type != V_ASN1_OCTET_STRING) {
		bool root = X509_check_issued(cert, cert) == X509_V_OK;

		co->co_label = root ? "Root" : "CA";
		co->co_id = root ? "05" : "04";
	} else if (ends_with(fname, "(Authentication)") || ends_with(fname, "(Signature)")) {
		co->co_label = ends_with(fname, "(Signature)") ? "Signature" : "Authentication";
		co->co_id = ends_with(fname, "(Signature)") ? "03" : "02";
		rc = p12_key_of(keys, kid->value.octet_string, pin, &co->co_key, &co->co_keylen);
	} else {
		rc = SL_EINVAL;
	}
	if (rc == SL_OK)
		rc = der_of_cert(cert, &co->co_cert, &co->co_certlen);
	cs->cs_n++; /* counted even when half filled, so that clearing frees it */
	X509_free(cert);
	OPENSSL_free(fname);
	return rc;
}

/* The bags of every safe; encrypted safes are opened with the PIN. */
static int
p12_bags(PKCS12 *p12, const char *pin, STACK_OF(PKCS12_SAFEBAG) * *certs, STACK_OF(PKCS12_SAFEBAG) * *keys)
{
	STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
	int rc = safes ? SL_OK : SL_ECRYPTO;

	*certs = sk_PKCS12_SAFEBAG_new_null();
	*keys = sk_PKCS12_SAFEBAG_new_null();
	if (*certs == NULL || *keys == NULL)
		rc = SL_ENOMEM;
	for (int i = 0; rc == SL_OK && i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags = NULL;

		if (PKCS7_type_is_data(p7))
			bags = PKCS12_unpack_p7data(p7);
		else if (PKCS7_type_is_encrypted(p7))
			bags = PKCS12_unpack_p7encdata(p7, pin, -1);
		if (bags == NULL)
			rc = SL_ECRYPTO;
		while (bags != NULL && sk_PKCS12_SAFEBAG_num(bags) > 0) {
			PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_shift(bags);
			int nid = PKCS12_SAFEBAG_get_nid(bag);

			if ((nid == NID_certBag && sk_PKCS12_SAFEBAG_push(*certs, bag) > 0) ||
				(nid == NID_pkcs8ShroudedKeyBag && sk_PKCS12_SAFEBAG_push(*keys, bag) > 0))
				continue;
			PKCS12_SAFEBAG_free(bag);
		}
		sk_PKCS12_SAFEBAG_free(bags);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return rc;
}

static bool
has_auth_key(const struct card_objs *cs)
{
	for (size_t i = 0; i < cs->cs_n; i++)
		if (cs->cs_obj[i].co_key != NULL && strcmp(cs->cs_obj[i].co_label, "Authentication") == 0)
			return true;
	return false;
}

static int
p12_objects(const char *path, const char *pin, struct card_objs *cs, struct sl_err *err)
{
	STACK_OF(PKCS12_SAFEBAG) *certs = NULL, *keys = NULL;
	char *data = NULL;
	size_t len = 0;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	int rc = sl_file_read(path, PKI_P12_MAX, &data, &len, err);

	if (rc != SL_OK)
		return rc;
	p = (const unsigned char *)data;
	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL)
		rc = sl_fail(err, SL_EINVAL, "%s is not a PKCS#12 file", path);
	else if (!PKCS12_mac_present(p12))
		rc = sl_fail(err, SL_EINVAL, "%s has no MAC", path);
	else if (!PKCS12_verify_mac(p12, pin, -1))
		rc = sl_fail(err, SL_EDENIED, "wrong PIN for %s", path);
	else if ((rc = p12_bags(p12, pin, &certs, &keys)) != SL_OK)
		sl_fail(err, rc, "cannot open the safes of %s", path);
	for (int i = 0; rc == SL_OK && i < sk_PKCS12_SAFEBAG_num(certs); i++)
		if ((rc = p12_cert_obj(sk_PKCS12_SAFEBAG_value(certs, i), keys, pin, cs)) != SL_OK)
			sl_fail(err, rc, "%s is not a card of this PKI", path);
	if (rc == SL_OK && !has_auth_key(cs))
		rc = sl_fail(err, SL_EINVAL, "%s holds no authentication key", path);
	sk_PKCS12_SAFEBAG_pop_free(certs, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(keys, PKCS12_SAFEBAG_free);
	PKCS12_free(p12);
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

/* ---- the token ---- */

static const char *
softhsm_module(struct sl_err *err)
{
	for (size_t i = 0; i < sizeof(softhsm_modules) / sizeof(softhsm_modules[0]); i++)
		if (access(softhsm_modules[i], R_OK) == 0)
			return softhsm_modules[i];
	sl_fail(err, SL_ENOTFOUND, "no SoftHSM2 PKCS#11 module (%s; Debian package softhsm2)", softhsm_modules[0]);
	return NULL;
}

/* Whether a line of `out` reads "<key>: <value>" (spaces around trimmed). */
static bool
output_has(const char *out, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (const char *line = out; line != NULL && *line != '\0';) {
		const char *eol = strchr(line, '\n'), *p = line, *end;

		end = eol ? eol : line + strlen(line);
		while (p < end && *p == ' ')
			p++;
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			while (p < end && *p == ' ')
				p++;
			while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
				end--;
			if ((size_t)(end - p) == vlen && strncmp(p, value, vlen) == 0)
				return true;
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

/* Create the token unless one has the label already; a token that exists
 * must not hold a card yet. */
static int
token_prepare(const char *module, const char *token, const char *pin, const char *so_pin, struct sl_err *err)
{
	char *show[] = { "softhsm2-util", "--show-slots", NULL };
	char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", (char *)token, "--pin", (char *)pin,
		"--so-pin", (char *)so_pin, NULL };
	char *list[] = { "pkcs11-tool", "--module", (char *)module, "--token-label", (char *)token, "--login", "--pin",
		"env:" PKI_PIN_ENV, "--list-objects", NULL };
	struct sl_buf out;
	int rc;

	sl_buf_init(&out, PKI_TOOL_OUT_MAX);
	rc = tool_run(show, NULL, &out, err);
	if (rc == SL_OK && !output_has(sl_buf_str(&out), "Label", token)) {
		sl_buf_reset(&out);
		rc = tool_run(init, NULL, &out, err);
	} else if (rc == SL_OK) {
		sl_buf_reset(&out);
		rc = tool_run(list, pin, &out, err);
		if (rc == SL_OK && output_has(sl_buf_str(&out), "label", "Authentication"))
			rc = sl_fail(err, SL_ECONFLICT,
				"token %s already holds a card (softhsm2-util --delete-token --token '%s' removes it)",
				token, token);
	}
	sl_buf_reset(&out);
	return rc;
}

static int
token_write(const char *module, const char *token, const char *pin, const char *file, const char *type,
	const struct card_obj *co, struct sl_err *err)
{
	char *argv[] = { "pkcs11-tool", "--module", (char *)module, "--token-label", (char *)token, "--login", "--pin",
		"env:" PKI_PIN_ENV, "--write-object", (char *)file, "--type", (char *)type, "--id", (char *)co->co_id,
		"--label", (char *)co->co_label, NULL };
	struct sl_buf out;
	int rc;

	sl_buf_init(&out, PKI_TOOL_OUT_MAX);
	rc = tool_run(argv, pin, &out, err);
	sl_buf_reset(&out);
	return rc;
}

/* Write one object's DER to `tmp`/name and import it; the file goes after. */
static int
token_import(const char *module, const char *token, const char *pin, const char *tmp, const struct card_obj *co,
	bool key, struct sl_err *err)
{
	char name[64], *path;
	int rc;

	snprintf(name, sizeof(name), "%s.%s.der", co->co_id, key ? "key" : "crt");
	if ((path = pki_path(tmp, name)) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = sl_file_write(path, key ? co->co_key : co->co_cert, key ? co->co_keylen : co->co_certlen, 0600, err);
	if (rc == SL_OK)
		rc = token_write(module, token, pin, path, key ? "privkey" : "cert", co, err);
	unlink(path);
	free(path);
	return rc;
}

static int
token_args_check(const char *token, const char *pin, const char *so_pin, struct sl_err *err)
{
	size_t tl = token ? strlen(token) : 0;

	if (tl == 0 || tl > PKI_TOKEN_LABEL_MAX || !sl_str_printable(token, tl) || token[0] == ' ' ||
		token[tl - 1] == ' ')
		return sl_fail(err, SL_EINVAL, "a token label has 1 to %d printable characters", PKI_TOKEN_LABEL_MAX);
	if (sl_str_empty(pin) || strspn(pin, "0123456789") != strlen(pin))
		return sl_fail(err, SL_EINVAL, "the card PIN is digits");
	if (so_pin != NULL && (strlen(so_pin) < 4 || strlen(so_pin) > 255 || !sl_str_printable(so_pin, strlen(so_pin))))
		return sl_fail(err, SL_EINVAL, "an SO PIN has 4 to 255 printable characters");
	return SL_OK;
}

int
pki_card_to_pkcs11(
	const char *dir, const char *p12, const char *pin, const char *token, const char *so_pin, struct sl_err *err)
{
	struct card_objs cs = { 0 };
	char *tmp = NULL, random_so[17] = { 0 };
	const char *module;
	uint8_t rnd[8];
	int rc;

	if ((rc = token_args_check(token, pin, so_pin, err)) != SL_OK ||
		(rc = p12_objects(p12, pin, &cs, err)) != SL_OK)
		goto out;
	if ((module = softhsm_module(err)) == NULL) {
		rc = SL_ENOTFOUND;
		goto out;
	}
	if (so_pin == NULL) {
		if (sl_random(rnd, sizeof(rnd)) != SL_OK) {
			rc = sl_fail(err, SL_ECRYPTO, "no randomness");
			goto out;
		}
		sl_hex(rnd, sizeof(rnd), random_so);
		so_pin = random_so;
	}
	if ((rc = token_prepare(module, token, pin, so_pin, err)) != SL_OK)
		goto out;
	if ((tmp = pki_path(dir, ".pkcs11.XXXXXX")) == NULL || mkdtemp(tmp) == NULL) {
		rc = sl_fail(err, SL_EIO, "cannot make a private directory in %s: %s", dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; rc == SL_OK && i < cs.cs_n; i++) {
		if (cs.cs_obj[i].co_key != NULL)
			rc = token_import(module, token, pin, tmp, &cs.cs_obj[i], true, err);
		if (rc == SL_OK)
			rc = token_import(module, token, pin, tmp, &cs.cs_obj[i], false, err);
	}
	rmdir(tmp);
out:
	OPENSSL_cleanse(random_so, sizeof(random_so));
	free(tmp);
	card_objs_clear(&cs);
	return rc;
}
