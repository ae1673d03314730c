/*
 * api.c — an opened state (struct sapp) and the one function every call to
 * the device API goes through: URL from the server and path, a fresh
 * proof, the CA file for TLS verification, strict JSON answers, and the
 * server's error object turned into `struct sl_err`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../httpc/httpc.h"
#include "app_int.h"

#define SAPP_PATHPART_MAX 256 /* bytes of a device-API path */

static int
set_server(struct sapp *app, const char *server, const char *ca_file, struct sl_err *err)
{
	size_t n;

	if (server != NULL) {
		n = strlen(server);
		while (n > 0 && server[n - 1] == '/')
			n--; /* the issuer has no trailing slash; htu must match it */
		if (n == 0 || n >= sizeof(app->sa_server) ||
			(strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) ||
			!sl_str_printable(server, n) || memchr(server, '?', n) != NULL ||
			memchr(server, '#', n) != NULL)
			return sl_fail(err, SL_EINVAL, "server must be an http(s) URL without query (at most %d bytes)",
				SAPP_URL_MAX - 1);
		memcpy(app->sa_server, server, n);
		app->sa_server[n] = '\0';
	}
	if (ca_file != NULL) {
		if (strlen(ca_file) >= sizeof(app->sa_ca_file) || !sl_str_printable(ca_file, strlen(ca_file)))
			return sl_fail(err, SL_EINVAL, "CA file path too long (at most %d bytes)", SAPP_PATH_MAX - 1);
		sl_strlcpy(app->sa_ca_file, ca_file, sizeof(app->sa_ca_file));
	}
	return SL_OK;
}

int
sapp_set_server(struct sapp *app, const char *server, const char *ca_file, struct sl_err *err)
{
	return set_server(app, server, ca_file, err);
}

int
sapp_set_camo_params(struct sapp *app, const struct camo_params *p, struct sl_err *err)
{
	if (camo_params_check(p, err) != SL_OK)
		return err ? err->code : SL_EINVAL;
	app->sa_params = *p;
	return SL_OK;
}

static struct sapp *
sapp_new(const char *path, struct sl_err *err)
{
	struct sapp *app = calloc(1, sizeof(*app));

	if (app == NULL || (app->sa_path = strdup(path)) == NULL ||
		(app->sa_base = calloc(1, sizeof(*app->sa_base))) == NULL ||
		(app->sa_http = httpc_share_new()) == NULL) {
		if (app != NULL) {
			free(app->sa_path);
			free(app->sa_base);
		}
		free(app);
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	app->sa_params = camo_default_params;
	app->sa_lock = -1;
	return app;
}

void
sapp_free(struct sapp *app)
{
	if (app == NULL)
		return;
	sapp_transport_clear(&app->sa_tk);
	sapp_transport_clear(&app->sa_sid_tk);
	json_decref(app->sa_last_error);
	sapp_release(app);
	httpc_share_free(app->sa_http);
	free(app->sa_path);
	if (app->sa_base != NULL)
		OPENSSL_cleanse(app->sa_base, sizeof(*app->sa_base));
	free(app->sa_base);
	OPENSSL_cleanse(app, sizeof(*app));
	free(app);
}

int
sapp_create(const char *path, const char *server, const char *ca_file, struct sapp **out, struct sl_err *err)
{
	struct sapp *app;
	struct stat sb;
	int rc;

	*out = NULL;
	if (server == NULL)
		return sl_fail(err, SL_EINVAL, "a new state needs the server URL (--server)");
	if (lstat(path, &sb) == 0)
		return sl_fail(err, SL_ECONFLICT, "%s exists already", path);
	if ((app = sapp_new(path, err)) == NULL)
		return SL_ENOMEM;
	if ((rc = set_server(app, server, ca_file, err)) != SL_OK ||
		(rc = sapp_transport_generate(app->sa_st.st_transport_key, err)) != SL_OK ||
		(rc = sapp_transport_load(app->sa_st.st_transport_key, &app->sa_tk, err)) != SL_OK) {
		sapp_free(app);
		return rc;
	}
	sl_strlcpy(app->sa_st.st_server, app->sa_server, sizeof(app->sa_st.st_server));
	sl_strlcpy(app->sa_st.st_ca_file, app->sa_ca_file, sizeof(app->sa_st.st_ca_file));
	if ((rc = sapp_commit_new(app, err)) != SL_OK) {
		sapp_free(app);
		return rc;
	}
	*out = app;
	return SL_OK;
}

int
sapp_open(const char *path, struct sapp **out, struct sl_err *err)
{
	struct sapp *app;
	int rc;

	*out = NULL;
	if ((app = sapp_new(path, err)) == NULL)
		return SL_ENOMEM;
	if ((rc = sapp_state_load(path, &app->sa_st, err)) != SL_OK ||
		(rc = sapp_transport_load(app->sa_st.st_transport_key, &app->sa_tk, err)) != SL_OK ||
		(app->sa_st.st_sid.ss_present && (rc = sapp_transport_load(app->sa_st.st_sid.ss_transport_key,
							  &app->sa_sid_tk, err)) != SL_OK)) {
		sapp_free(app);
		return rc;
	}
	*app->sa_base = app->sa_st; /* what later saves merge against */
	sl_strlcpy(app->sa_server, app->sa_st.st_server, sizeof(app->sa_server));
	sl_strlcpy(app->sa_ca_file, app->sa_st.st_ca_file, sizeof(app->sa_ca_file));
	*out = app;
	return SL_OK;
}

int
sapp_save(struct sapp *app, struct sl_err *err)
{
	return sapp_commit(app, NULL, NULL, err);
}

enum sapp_phase
sapp_phase(const struct sapp *app)
{
	if (app->sa_st.st_device_id[0] != '\0')
		return SAPP_ENROLLED;
	return app->sa_st.st_enrollment_id[0] != '\0' ? SAPP_ENROLLING : SAPP_NEW;
}

const char *
sapp_server(const struct sapp *app)
{
	return app->sa_server;
}

const char *
sapp_enrollment_id(const struct sapp *app)
{
	return app->sa_st.st_enrollment_id;
}

const char *
sapp_enrollment_status(const struct sapp *app)
{
	return app->sa_st.st_enrollment_status;
}

const char *
sapp_device_id(const struct sapp *app)
{
	return app->sa_st.st_device_id;
}

const char *
sapp_account_id(const struct sapp *app)
{
	return app->sa_st.st_account_id;
}

const char *
sapp_phone(const struct sapp *app)
{
	return app->sa_st.st_phone;
}

const json_t *
sapp_last_error(const struct sapp *app)
{
	return app->sa_last_error;
}

const char *
sapp_last_error_code(const struct sapp *app)
{
	const char *s = json_string_value(json_object_get(app->sa_last_error, "error"));

	return s ? s : "";
}

static int
status_code(long status)
{
	switch (status) {
	case 400: return SL_EINVAL;
	case 401:
	case 403:
	case 423: return SL_EDENIED;
	case 404: return SL_ENOTFOUND;
	case 409: return SL_ECONFLICT;
	case 410: return SL_EEXPIRED;
	case 413: return SL_ETOOBIG;
	case 429:
	case 503: return SL_EBUSY;
	default: return SL_ERR;
	}
}

/* A refusal: keep the server's object, and say its code and text. */
static int
server_error(struct sapp *app, long status, json_t *doc, struct sl_err *err)
{
	const char *code = json_string_value(json_object_get(doc, "error"));
	const char *desc = json_string_value(json_object_get(doc, "error_description"));

	json_decref(app->sa_last_error);
	app->sa_last_error = NULL;
	if (json_is_object(doc) && code != NULL) {
		app->sa_last_error = json_incref(doc);
		return sl_fail(err, status_code(status), "%.64s: %.160s", code, desc ? desc : "(no description)");
	}
	app->sa_last_error = json_pack("{s:s, s:s}", "error", "http_error", "error_description", "unexpected answer");
	return sl_fail(err, status_code(status), "the server answered HTTP %ld", status);
}

static int
build_url(const struct sapp *app, const char *path, char *url, size_t size, struct sl_err *err)
{
	if (strlen(path) >= SAPP_PATHPART_MAX || path[0] != '/')
		return sl_fail(err, SL_EINVAL, "bad device-API path");
	if ((size_t)snprintf(url, size, "%s/device/v1%s", app->sa_server, path) >= size)
		return sl_fail(err, SL_EINVAL, "server URL too long");
	return SL_OK;
}

/* The DPoP header for `url` (htu: the URL without its query). */
static char *
proof_header(const struct sapp_transport *tk, const char *method, const char *url, struct sl_err *err)
{
	char htu[SAPP_URL_MAX + SAPP_PATHPART_MAX + 16], *jws, *dpop;
	size_t n = strcspn(url, "?");

	if (n >= sizeof(htu)) {
		sl_fail(err, SL_EINVAL, "URL too long");
		return NULL;
	}
	memcpy(htu, url, n);
	htu[n] = '\0';
	if ((jws = sapp_proof(tk, method, htu, err)) == NULL)
		return NULL;
	n = strlen(jws) + sizeof("DPoP: ");
	if ((dpop = malloc(n)) == NULL)
		sl_fail(err, SL_ENOMEM, "out of memory");
	else
		snprintf(dpop, n, "DPoP: %s", jws);
	free(jws);
	return dpop;
}

int
sapp_call(struct sapp *app, const char *method, const char *path, json_t *body, bool proof, int timeout, long *status,
	json_t **out, struct sl_err *err)
{
	return sapp_call_as(app, &app->sa_tk, method, path, body, proof, timeout, status, out, err);
}

int
sapp_call_as(struct sapp *app, const struct sapp_transport *tk, const char *method, const char *path, json_t *body,
	bool proof, int timeout, long *status, json_t **out, struct sl_err *err)
{
	struct httpc_request rq = { .hr_method = method, .hr_timeout = timeout > 0 ? timeout : SAPP_TIMEOUT };
	struct httpc_response rs;
	char url[SAPP_URL_MAX + SAPP_PATHPART_MAX + 16], *text = NULL, *dpop = NULL;
	json_t *doc = NULL;
	json_error_t je;
	int rc, nh = 0;

	*out = NULL;
	*status = 0;
	json_decref(app->sa_last_error); /* it describes the last call only */
	app->sa_last_error = NULL;
	if ((rc = build_url(app, path, url, sizeof(url), err)) != SL_OK)
		return rc;
	rq.hr_url = url;
	rq.hr_share = app->sa_http;
	rq.hr_ca_file = app->sa_ca_file[0] ? app->sa_ca_file : NULL;
	rq.hr_headers[nh++] = "Accept: application/json";
	if (proof) {
		if ((dpop = proof_header(tk, method, url, err)) == NULL)
			return err && err->code ? err->code : SL_ECRYPTO;
		rq.hr_headers[nh++] = dpop;
	}
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			rc = sl_fail(err, SL_ENOMEM, "out of memory");
			goto out;
		}
		rq.hr_body = text;
		rq.hr_content_type = "application/json";
	}
	if ((rc = httpc_do(&rq, &rs, err)) != SL_OK)
		goto out;
	*status = rs.hs_status;
	if (rs.hs_status != 204 && rs.hs_len > 0)
		doc = json_loadb(rs.hs_body, rs.hs_len, JSON_REJECT_DUPLICATES, &je);
	httpc_response_clear(&rs);
	if (*status >= 200 && *status < 300) {
		if (*status != 204 && !json_is_object(doc))
			rc = sl_fail(err, SL_EINVAL, "%s: the server's answer is not a JSON object", path);
		else
			*out = json_incref(doc);
	} else {
		rc = server_error(app, *status, doc, err);
	}
out:
	json_decref(doc);
	free(text);
	free(dpop);
	return rc;
}

int
sapp_poll(
	struct sapp *app, const struct sapp_transport *tk, const char *path, int secs, json_t **ans, struct sl_err *err)
{
	int64_t t0 = sl_monotonic_ms();
	long status = 0;
	int rc;

	rc = sapp_call_as(app, tk, "GET", path, NULL, true, secs, &status, ans, err);
	if (rc == SL_EIO && sl_monotonic_ms() - t0 >= (int64_t)secs * 1000 - 200)
		return SL_OK; /* our limit, not the server's: nothing came */
	return rc;
}

int
sapp_status_poll(struct sapp *app, const struct sapp_status_poll *sp, int wait, json_t **out, struct sl_err *err)
{
	int64_t deadline = sl_monotonic_ms() + (int64_t)(wait > 0 ? wait : 0) * 1000;
	json_t *ans = NULL;
	int rc, secs;

	*out = NULL;
	for (;;) {
		int64_t left = deadline - sl_monotonic_ms();
		secs = wait > 0 ? (int)((left + 999) / 1000) : sp->sp_peek;
		if (secs > SAPP_POLL_DEFAULT + SAPP_POLL_GRACE)
			secs = SAPP_POLL_DEFAULT + SAPP_POLL_GRACE;
		if ((rc = sapp_poll(app, sp->sp_tk, wait > 0 ? sp->sp_path : sp->sp_peek_path, secs < 1 ? 1 : secs,
			     &ans, err)) != SL_OK) {
			sp->sp_ended(app);
			return rc;
		}
		if (ans != NULL && (rc = sp->sp_note(app, ans, err)) != SL_OK) {
			json_decref(ans);
			return rc;
		}
		if (ans != NULL && strcmp(sp->sp_status(app), sp->sp_waiting) != 0)
			break;
		if (wait <= 0 || sl_monotonic_ms() >= deadline)
			break;
		json_decref(ans);
		ans = NULL;
	}
	if (ans == NULL) /* the long-poll outlasted us: the status has not moved */
		ans = json_pack("{s:s}", "status", sp->sp_status(app));
	*out = ans;
	return ans ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

int
sapp_config(struct sapp *app, json_t **out, struct sl_err *err)
{
	long status;

	return sapp_call(app, "GET", "/config", NULL, false, 0, &status, out, err);
}

int
sapp_seal_key(struct sapp *app, char kid[SEAL_KID_MAX], uint8_t pub[P256_PUB_LEN], struct sl_err *err)
{
	json_t *doc = NULL;
	long status;
	int rc;

	/* Sealing keys are rotated with a long overlap (the older ones stay
	 * published and usable), so one fetch serves many answers. */
	if (app->sa_seal_until > sl_monotonic_ms()) {
		memcpy(kid, app->sa_seal_kid, SEAL_KID_MAX);
		memcpy(pub, app->sa_seal_pub, P256_PUB_LEN);
		return SL_OK;
	}
	if ((rc = sapp_call(app, "GET", "/keys", NULL, false, 0, &status, &doc, err)) != SL_OK)
		return rc;
	rc = sapp_seal_key_of(json_object_get(doc, "seal_keys"), kid, pub, err);
	json_decref(doc);
	if (rc == SL_OK) {
		memcpy(app->sa_seal_kid, kid, SEAL_KID_MAX);
		memcpy(app->sa_seal_pub, pub, P256_PUB_LEN);
		app->sa_seal_until = sl_monotonic_ms() + SAPP_SEAL_KEEP_MS;
	}
	return rc;
}

void
sapp_seal_key_forget(struct sapp *app)
{
	app->sa_seal_until = 0;
}

int
sapp_seal_key_of(const json_t *keys, char kid[SEAL_KID_MAX], uint8_t pub[P256_PUB_LEN], struct sl_err *err)
{
	const json_t *key = json_array_get(keys, 0);
	const char *k, *p;
	uint8_t *raw = NULL;
	size_t n = 0;
	int rc = SL_OK;

	k = json_string_value(json_object_get(key, "kid"));
	p = json_string_value(json_object_get(key, "pub"));
	if (k != NULL && p != NULL && strlen(k) > 0 && strlen(k) < SEAL_KID_MAX &&
		strlen(p) <= (size_t)2 * P256_PUB_LEN)
		raw = sl_b64url_decode(p, strlen(p), &n);
	if (raw == NULL || n != P256_PUB_LEN) {
		rc = sl_fail(err, SL_EINVAL, "the server's seal key is malformed");
	} else {
		sl_strlcpy(kid, k, SEAL_KID_MAX);
		memcpy(pub, raw, P256_PUB_LEN);
	}
	free(raw);
	return rc;
}
