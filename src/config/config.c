/*
 * config.c — parse sleutel.ini with libinih into struct sl_config.  The
 * table below is the single list of keys: name, type, range, default.
 */
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"

#ifndef SL_DATADIR
#define SL_DATADIR "/usr/local/share/sleutel"
#endif

const char *const config_languages[SL_LANG_COUNT] = { "nl", "fr", "de", "en" };

enum conf_type { CT_STR, CT_INT, CT_BOOL, CT_PATH, CT_KEYS, CT_LEVEL };

struct conf_key {
	const char *ck_section;
	const char *ck_name;
	enum conf_type ck_type;
	size_t ck_offset;
	long ck_min, ck_max;
	const char *ck_default;
};

#define OFF(f) offsetof(struct sl_config, f)
static const struct conf_key conf_keys[] = {
	{ "server", "issuer", CT_STR, OFF(c_issuer), 0, 0, NULL },
	{ "server", "listen", CT_STR, OFF(c_portal.lc_listen), 0, 0, "127.0.0.1" },
	{ "server", "port", CT_INT, OFF(c_portal.lc_port), 1, 65535, "8443" },
	{ "server", "tls", CT_BOOL, OFF(c_portal.lc_tls), 0, 0, "true" },
	{ "server", "tls_cert", CT_PATH, OFF(c_portal.lc_tls_cert), 0, 0, NULL },
	{ "server", "tls_key", CT_PATH, OFF(c_portal.lc_tls_key), 0, 0, NULL },
	{ "server", "threads", CT_INT, OFF(c_threads), 0, 256, "0" },
	{ "server", "max_connections", CT_INT, OFF(c_max_connections), 4, 1000000, "4096" },
	{ "server", "per_ip_connections", CT_INT, OFF(c_per_ip_connections), 0, 1000000, "0" },
	{ "server", "connection_memory", CT_INT, OFF(c_connection_memory), 4096, 1048576, "32768" },
	{ "server", "connection_timeout", CT_INT, OFF(c_connection_timeout), 1, 3600, "60" },
	{ "server", "header_timeout", CT_INT, OFF(c_header_timeout), 0, 3600, "30" },
	{ "server", "max_body", CT_INT, OFF(c_max_body), 1024, 16777216, "65536" },
	{ "server", "max_query", CT_INT, OFF(c_max_query), 256, 65536, "8192" },
	{ "server", "max_cookie", CT_INT, OFF(c_max_cookie), 256, 65536, "4096" },
	{ "server", "max_params", CT_INT, OFF(c_max_params), 4, 1024, "64" },
	{ "server", "shutdown_grace", CT_INT, OFF(c_shutdown_grace), 0, 600, "10" },
	{ "server", "trusted_proxies", CT_STR, OFF(c_trusted_proxies), 0, 0, "" },
	{ "server", "user", CT_STR, OFF(c_user), 0, 0, "" },
	{ "eid", "enabled", CT_BOOL, OFF(c_eid_enabled), 0, 0, "true" },
	{ "eid", "listen", CT_STR, OFF(c_eid.lc_listen), 0, 0, "127.0.0.1" },
	{ "eid", "port", CT_INT, OFF(c_eid.lc_port), 1, 65535, "8444" },
	{ "eid", "tls", CT_BOOL, OFF(c_eid.lc_tls), 0, 0, "true" },
	{ "eid", "tls_cert", CT_PATH, OFF(c_eid.lc_tls_cert), 0, 0, NULL },
	{ "eid", "tls_key", CT_PATH, OFF(c_eid.lc_tls_key), 0, 0, NULL },
	{ "eid", "client_ca", CT_PATH, OFF(c_eid.lc_client_ca), 0, 0, NULL },
	{ "eid", "public_url", CT_STR, OFF(c_eid.lc_public_url), 0, 0, NULL },
	{ "eid", "trust_anchors", CT_PATH, OFF(c_eid_anchors), 0, 0, NULL },
	{ "eid", "intermediates", CT_PATH, OFF(c_eid_intermediates), 0, 0, NULL },
	{ "eid", "ocsp_url", CT_STR, OFF(c_eid_ocsp_url), 0, 0, NULL },
	{ "eid", "crl_url", CT_STR, OFF(c_eid_crl_url), 0, 0, NULL },
	{ "eid", "ocsp", CT_BOOL, OFF(c_eid_ocsp), 0, 0, "true" },
	{ "eid", "crl", CT_BOOL, OFF(c_eid_crl), 0, 0, "true" },
	{ "eid", "fail_open", CT_BOOL, OFF(c_eid_fail_open), 0, 0, "false" },
	{ "eid", "revocation_timeout", CT_INT, OFF(c_eid_timeout), 1, 60, "5" },
	{ "eid", "cache_max", CT_INT, OFF(c_eid_cache_max), 1, 10000000, "10000" },
	{ "eid", "ocsp_max_age", CT_INT, OFF(c_eid_ocsp_max_age), 10, 86400, "300" },
	{ "eid", "proxy_header", CT_STR, OFF(c_eid_proxy_header), 0, 0, "X-SSL-Client-Cert" },
	{ "eid", "webeid", CT_BOOL, OFF(c_eid_webeid), 0, 0, "true" },
	{ "eid", "webeid_challenge_lifetime", CT_INT, OFF(c_eid_webeid_lifetime), 5, 600, "300" },
	{ "pki", "dir", CT_PATH, OFF(c_pki_dir), 0, 0, NULL },
	{ "pki", "listen", CT_STR, OFF(c_pki_listen), 0, 0, "127.0.0.1" },
	{ "pki", "port", CT_INT, OFF(c_pki_port), 1, 65535, "8889" },
	{ "pki", "ocsp_validity", CT_INT, OFF(c_pki_ocsp_validity), 10, 604800, "3600" },
	{ "metrics", "listen", CT_STR, OFF(c_metrics_listen), 0, 0, "127.0.0.1" },
	{ "metrics", "port", CT_INT, OFF(c_metrics_port), 0, 65535, "0" },
	{ "metrics", "token_file", CT_PATH, OFF(c_metrics_token_file), 0, 0, NULL },
	{ "store", "engine", CT_STR, OFF(c_store_engine), 0, 0, "sqlite" },
	{ "store", "path", CT_PATH, OFF(c_store_path), 0, 0, "sleutel.db" },
	{ "store", "conninfo", CT_STR, OFF(c_store_conninfo), 0, 0, NULL },
	{ "store", "busy_timeout_ms", CT_INT, OFF(c_store_busy_timeout_ms), 0, 600000, "5000" },
	{ "store", "pool", CT_INT, OFF(c_store_pool), 0, 256, "0" },
	{ "keys", "dir", CT_PATH, OFF(c_keys_dir), 0, 0, "keys" },
	{ "keys", "reload", CT_INT, OFF(c_keys_reload), 1, 86400, "30" },
	{ "keys", "holder_channels", CT_INT, OFF(c_keyholder_channels), 1, 16, "4" },
	{ "oidc", "code_lifetime", CT_INT, OFF(c_code_lifetime), 5, 600, "60" },
	{ "oidc", "access_token_lifetime", CT_INT, OFF(c_access_token_lifetime), 30, 86400, "600" },
	{ "oidc", "id_token_lifetime", CT_INT, OFF(c_id_token_lifetime), 30, 86400, "600" },
	{ "oidc", "refresh_token_lifetime", CT_INT, OFF(c_refresh_token_lifetime), 60, 31536000, "2592000" },
	{ "oidc", "request_lifetime", CT_INT, OFF(c_request_lifetime), 60, 86400, "900" },
	{ "oidc", "par_lifetime", CT_INT, OFF(c_par_lifetime), 10, 600, "60" },
	{ "oidc", "session_lifetime", CT_INT, OFF(c_session_lifetime), 60, 604800, "28800" },
	{ "oidc", "clock_skew", CT_INT, OFF(c_clock_skew), 0, 600, "60" },
	{ "oidc", "dpop_proof_window", CT_INT, OFF(c_dpop_proof_window), 5, 300, "60" },
	{ "oidc", "dpop_nonce_lifetime", CT_INT, OFF(c_dpop_nonce_lifetime), 5, 3600, "300" },
	{ "oidc", "max_redirect_uris", CT_INT, OFF(c_max_redirect_uris), 1, 100, "10" },
	{ "portal", "keys", CT_KEYS, OFF(c_portal_keys), 0, 0, "eid,app,smartid" },
	{ "portal", "default_language", CT_STR, OFF(c_default_language), 0, 0, "nl" },
	{ "portal", "data_dir", CT_PATH, OFF(c_data_dir), 0, 0, NULL },
	{ "portal", "waiter_timeout", CT_INT, OFF(c_waiter_timeout), 1, 300, "25" },
	{ "portal", "max_waiters", CT_INT, OFF(c_max_waiters), 1, 10000000, "100000" },
	{ "app", "request_lifetime", CT_INT, OFF(c_app_request_lifetime), 30, 600, "180" },
	{ "app", "max_pending", CT_INT, OFF(c_app_max_pending), 1, 20, "3" },
	{ "app", "rate_window", CT_INT, OFF(c_app_rate_window), 1, 86400, "600" },
	{ "app", "rate_phone", CT_INT, OFF(c_app_rate_phone), 1, 1000000, "5" },
	{ "app", "rate_ip", CT_INT, OFF(c_app_rate_ip), 1, 1000000, "30" },
	{ "app", "rate_rp", CT_INT, OFF(c_app_rate_rp), 1, 100000000, "100000" },
	{ "app", "enrollment_lifetime", CT_INT, OFF(c_app_enrollment_lifetime), 60, 86400, "1800" },
	{ "app", "sms_code_lifetime", CT_INT, OFF(c_app_sms_code_lifetime), 30, 3600, "600" },
	{ "app", "sms_attempts", CT_INT, OFF(c_app_sms_attempts), 1, 10, "3" },
	{ "app", "sms_max_sends", CT_INT, OFF(c_app_sms_max_sends), 1, 10, "3" },
	{ "app", "sms_wrong_window", CT_INT, OFF(c_app_sms_wrong_window), 60, 2592000, "86400" },
	{ "app", "sms_wrong_per_window", CT_INT, OFF(c_app_sms_wrong_per_window), 1, 1000, "10" },
	{ "app", "sms_wrong_max", CT_INT, OFF(c_app_sms_wrong_max), 1, 100000, "100" },
	{ "app", "proof_window", CT_INT, OFF(c_app_proof_window), 5, 600, "60" },
	{ "app", "qr_rotate_seconds", CT_INT, OFF(c_app_qr_rotate), 1, 60, "5" },
	{ "app", "poll_timeout", CT_INT, OFF(c_app_poll_timeout), 1, 300, "25" },
	{ "app", "push_url", CT_STR, OFF(c_app_push_url), 0, 0, "" },
	{ "app", "terms_version", CT_STR, OFF(c_app_terms_version), 0, 0, "2026-11" },
	{ "app", "default_country", CT_STR, OFF(c_app_default_country), 0, 0, "32" },
	{ "smartid", "key_bits", CT_INT, OFF(c_sid_key_bits), 1024, 4096, "3072" }, /* SK_BITS_MIN..MAX */
	{ "smartid", "registration_lifetime", CT_INT, OFF(c_sid_registration_lifetime), 60, 3600, "900" },
	{ "smartid", "code_tries", CT_INT, OFF(c_sid_code_tries), 1, 10, "5" },
	{ "smartid", "code_wrong_max", CT_INT, OFF(c_sid_code_wrong_max), 1, 1000000, "10000" },
	{ "smartid", "code_wrong_person", CT_INT, OFF(c_sid_code_wrong_person), 1, 1000, "20" },
	{ "smartid", "code_wrong_ip", CT_INT, OFF(c_sid_code_wrong_ip), 1, 1000000, "100" },
	{ "smartid", "code_wrong_window", CT_INT, OFF(c_sid_code_wrong_window), 1, 604800, "86400" },
	{ "smartid", "recall_tries", CT_INT, OFF(c_sid_recall_tries), 1, 10, "3" },
	{ "smartid", "max_devices", CT_INT, OFF(c_sid_max_devices), 1, 20, "5" },
	{ "smartid", "request_lifetime", CT_INT, OFF(c_sid_request_lifetime), 30, 600, "180" },
	{ "smartid", "max_pending", CT_INT, OFF(c_sid_max_pending), 1, 20, "3" },
	{ "smartid", "rate_ip", CT_INT, OFF(c_sid_rate_ip), 1, 1000000, "10" },
	{ "smartid", "keygen_max", CT_INT, OFF(c_sid_keygen_max), 1, 64, "2" },
	{ "smartid", "terms_version", CT_STR, OFF(c_sid_terms_version), 0, 0, "2026-12" },
	{ "smartid", "rp_api", CT_BOOL, OFF(c_sid_rp_api), 0, 0, "true" },
	{ "smartid", "device_link_base", CT_STR, OFF(c_sid_device_link_base), 0, 0, "" },
	{ "smartid", "scheme_name", CT_STR, OFF(c_sid_scheme_name), 0, 0, "smart-id" },
	{ "smartid", "certificate_level", CT_STR, OFF(c_sid_certificate_level), 0, 0, "QUALIFIED" },
	{ "smartid", "rp_session_lifetime", CT_INT, OFF(c_sid_rp_session_lifetime), 10, 600, "120" },
	{ "smartid", "rp_result_keep", CT_INT, OFF(c_sid_rp_result_keep), 10, 3600, "300" },
	{ "smartid", "rp_idempotency", CT_INT, OFF(c_sid_rp_idempotency), 0, 300, "15" },
	{ "smartid", "rp_max_running", CT_INT, OFF(c_sid_rp_max_running), 1, 1000000, "1000" },
	{ "smartid", "rp_link_skew", CT_INT, OFF(c_sid_rp_link_skew), 1, 120, "10" },
	{ "smartid", "rp_cert_miss_window", CT_INT, OFF(c_sid_rp_cert_miss_window), 60, 2592000, "86400" },
	{ "smartid", "rp_cert_misses", CT_INT, OFF(c_sid_rp_cert_misses), 1, 100000000, "1000" },
	{ "smartid", "rp_cert_misses_person", CT_INT, OFF(c_sid_rp_cert_misses_person), 1, 1000, "10" },
	{ "sms", "driver", CT_STR, OFF(c_sms_driver), 0, 0, "outbox" },
	{ "sms", "webhook_url", CT_STR, OFF(c_sms_webhook_url), 0, 0, "" },
	{ "sms", "webhook_token", CT_STR, OFF(c_sms_webhook_token), 0, 0, "" },
	{ "sms", "webhook_timeout", CT_INT, OFF(c_sms_webhook_timeout), 1, 60, "5" },
	{ "sms", "webhook_retries", CT_INT, OFF(c_sms_webhook_retries), 0, 10, "2" },
	{ "sms", "ca_file", CT_PATH, OFF(c_sms_ca_file), 0, 0, NULL },
	{ "ciba", "max_expiry", CT_INT, OFF(c_ciba_max_expiry), 30, 3600, "600" },
	{ "ciba", "interval", CT_INT, OFF(c_ciba_interval), 1, 60, "5" },
	{ "log", "level", CT_LEVEL, OFF(c_log_level), 0, 0, "info" },
	{ "outbound", "threads", CT_INT, OFF(c_outbound_threads), 1, 256, "16" },
	{ "outbound", "queue", CT_INT, OFF(c_outbound_queue), 1, 100000, "1024" },
	{ "outbound", "shutdown_timeout", CT_INT, OFF(c_outbound_shutdown), 0, 60, "2" },
	{ "proofing", "bank_timeout", CT_INT, OFF(c_bank_timeout), 1, 60, "10" },
	{ "ciba", "ping_timeout", CT_INT, OFF(c_ciba_ping_timeout), 1, 60, "5" },
	{ "app", "push_timeout", CT_INT, OFF(c_app_push_timeout), 1, 60, "5" },
	{ "server", "keyholder_user", CT_STR, OFF(c_keyholder_user), 0, 0, "" },
};
#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

const char *
config_default_data_dir(void)
{
	return SL_DATADIR;
}

static int
conf_parse_keys(const char *v, unsigned *out)
{
	char tmp[256], *save = NULL, *tok;
	unsigned mask = 0;

	if (sl_strlcpy(tmp, v, sizeof(tmp)) >= sizeof(tmp))
		return SL_EINVAL;
	for (tok = strtok_r(tmp, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (strcmp(tok, "eid") == 0)
			mask |= SL_KEY_EID;
		else if (strcmp(tok, "app") == 0)
			mask |= SL_KEY_APP;
		else if (strcmp(tok, "smartid") == 0)
			mask |= SL_KEY_SMARTID;
#ifdef SL_TEST_KEY
		else if (strcmp(tok, "test") == 0)
			mask |= SL_KEY_TEST;
#endif
		else
			return SL_EINVAL;
	}
	*out = mask;
	return SL_OK;
}

static int
conf_set(struct sl_config *conf, const struct conf_key *k, const char *v, struct sl_err *err)
{
	char *field = (char *)conf + k->ck_offset;
	char *end;
	long n;

	switch (k->ck_type) {
	case CT_STR:
	case CT_PATH: {
		char **s = (char **)(void *)field;
		char *nv;
		if (k->ck_type == CT_PATH && *v == '\0') {
			/* "key =" names no file: the same as leaving it out. */
			free(*s);
			*s = NULL;
			return SL_OK;
		}
		nv = k->ck_type == CT_PATH ? sl_path_resolve(conf->c_basedir, v) : strdup(v);
		if (nv == NULL)
			return sl_fail(err, SL_ENOMEM, "out of memory");
		free(*s);
		*s = nv;
		return SL_OK;
	}
	case CT_INT:
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < k->ck_min || n > k->ck_max)
			return sl_fail(err, SL_EINVAL, "[%s] %s = %s: expected a whole number from %ld to %ld",
				k->ck_section, k->ck_name, v, k->ck_min, k->ck_max);
		*(int *)(void *)field = (int)n;
		return SL_OK;
	case CT_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
			*(bool *)(void *)field = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
			*(bool *)(void *)field = false;
		else
			return sl_fail(
				err, SL_EINVAL, "[%s] %s = %s: expected true or false", k->ck_section, k->ck_name, v);
		return SL_OK;
	case CT_KEYS:
		if (conf_parse_keys(v, (unsigned *)(void *)field) != SL_OK)
			return sl_fail(err, SL_EINVAL, "[%s] %s = %s: expected a list of eid, app, smartid",
				k->ck_section, k->ck_name, v);
		return SL_OK;
	case CT_LEVEL:
		if (sl_log_level_parse(v, (enum sl_log_level *)(void *)field) != SL_OK)
			return sl_fail(err, SL_EINVAL, "[log] level = %s: expected debug, info, warn or error", v);
		return SL_OK;
	}
	return SL_EINVAL;
}

struct conf_parse {
	struct sl_config *cp_conf;
	struct sl_err *cp_err;
	int cp_rc;
};

/* The keys of a [bank.<id>] section. */
static const struct bank_key {
	const char *bkk_name;
	size_t bkk_offset;
	bool bkk_path;
} bank_keys[] = {
	{ "name", offsetof(struct sl_bank_conf, bk_name), false },
	{ "issuer", offsetof(struct sl_bank_conf, bk_issuer), false },
	{ "client_id", offsetof(struct sl_bank_conf, bk_client_id), false },
	{ "client_secret", offsetof(struct sl_bank_conf, bk_client_secret), false },
	{ "scope", offsetof(struct sl_bank_conf, bk_scope), false },
	{ "ca_file", offsetof(struct sl_bank_conf, bk_ca_file), true },
	{ "claim_rrn", offsetof(struct sl_bank_conf, bk_claim_rrn), false },
	{ "claim_given_name", offsetof(struct sl_bank_conf, bk_claim_given_name), false },
	{ "claim_family_name", offsetof(struct sl_bank_conf, bk_claim_family_name), false },
	{ "claim_birthdate", offsetof(struct sl_bank_conf, bk_claim_birthdate), false },
	{ "endpoint_origins", offsetof(struct sl_bank_conf, bk_endpoint_origins), false },
};

static bool
bank_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= CONFIG_BANK_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The bank of section [bank.<id>], added on first sight. */
static struct sl_bank_conf *
bank_for(struct sl_config *conf, const char *id, struct sl_err *err)
{
	struct sl_bank_conf *b;

	for (int i = 0; i < conf->c_nbanks; i++)
		if (strcmp(conf->c_banks[i].bk_id, id) == 0)
			return &conf->c_banks[i];
	if (!bank_id_ok(id))
		return sl_fail(err, SL_EINVAL, "[bank.%s]: a bank id is 1 to %d of a-z, 0-9, _ and -", id,
			       CONFIG_BANK_ID_MAX),
		       NULL;
	if (conf->c_nbanks == CONFIG_MAX_BANKS)
		return sl_fail(err, SL_ETOOBIG, "[bank.%s]: at most %d banks", id, CONFIG_MAX_BANKS), NULL;
	b = &conf->c_banks[conf->c_nbanks];
	b->bk_id = strdup(id);
	b->bk_scope = strdup("openid profile");
	b->bk_claim_rrn = strdup("rrn");
	b->bk_claim_given_name = strdup("given_name");
	b->bk_claim_family_name = strdup("family_name");
	b->bk_claim_birthdate = strdup("birthdate");
	conf->c_nbanks++;
	if (b->bk_id == NULL || b->bk_scope == NULL || b->bk_claim_rrn == NULL || b->bk_claim_given_name == NULL ||
		b->bk_claim_family_name == NULL || b->bk_claim_birthdate == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	return b;
}

static int
conf_bank(struct sl_config *conf, const char *id, const char *name, const char *value, struct sl_err *err)
{
	struct sl_bank_conf *b = bank_for(conf, id, err);

	if (b == NULL)
		return err->code;
	for (size_t i = 0; i < sizeof(bank_keys) / sizeof(bank_keys[0]); i++) {
		if (strcmp(bank_keys[i].bkk_name, name) == 0) {
			char **field = (char **)(void *)((char *)b + bank_keys[i].bkk_offset);
			char *nv = bank_keys[i].bkk_path ? sl_path_resolve(conf->c_basedir, value) : strdup(value);
			if (nv == NULL)
				return sl_fail(err, SL_ENOMEM, "out of memory");
			free(*field);
			*field = nv;
			return SL_OK;
		}
	}
	return sl_fail(err, SL_EINVAL, "%s: unknown key [bank.%s] %s", conf->c_path, id, name);
}

static int
conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *cp = user;

	if (cp->cp_rc != SL_OK)
		return 0;
	if (strncmp(section, "bank.", 5) == 0) {
		cp->cp_rc = conf_bank(cp->cp_conf, section + 5, name, value, cp->cp_err);
		return cp->cp_rc == SL_OK;
	}
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (strcmp(conf_keys[i].ck_section, section) == 0 && strcmp(conf_keys[i].ck_name, name) == 0) {
			cp->cp_rc = conf_set(cp->cp_conf, &conf_keys[i], value, cp->cp_err);
			return cp->cp_rc == SL_OK;
		}
	}
	cp->cp_rc = sl_fail(cp->cp_err, SL_EINVAL, "%s: unknown key [%s] %s", cp->cp_conf->c_path, section, name);
	return 0;
}

/* https://, or plain http:// to 127.0.0.1 (tests and the demo): the host
 * must end there (no "127.0.0.1.example", no userinfo trick). */
static bool
url_https_or_loopback(const char *url)
{
	const char *rest = url + 16;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	return strncmp(url, "http://127.0.0.1", 16) == 0 && (*rest == '\0' || *rest == ':' || *rest == '/') &&
	       strchr(url, '@') == NULL;
}

static int
conf_validate(struct sl_config *conf, struct sl_err *err)
{
	if (sl_str_empty(conf->c_issuer))
		return sl_fail(err, SL_EINVAL, "[server] issuer is required");
	if (strncmp(conf->c_issuer, "https://", 8) != 0)
		return sl_fail(err, SL_EINVAL, "[server] issuer must be an https:// URL");
	if (conf->c_issuer[strlen(conf->c_issuer) - 1] == '/')
		return sl_fail(err, SL_EINVAL, "[server] issuer must not end with '/'");
	if (strpbrk(conf->c_issuer, "?# ") != NULL)
		return sl_fail(err, SL_EINVAL, "[server] issuer must have no query, fragment or space");
	/* Every redirect and link the portal writes starts with it. */
	if (strlen(conf->c_issuer) > SL_ISSUER_MAX)
		return sl_fail(err, SL_EINVAL, "[server] issuer is longer than %d characters", SL_ISSUER_MAX);
	if (conf->c_portal.lc_tls && (conf->c_portal.lc_tls_cert == NULL || conf->c_portal.lc_tls_key == NULL))
		return sl_fail(err, SL_EINVAL, "[server] tls_cert and tls_key are required with tls = true");
	if (conf->c_eid_enabled) {
		if (!conf->c_eid.lc_tls && sl_str_empty(conf->c_trusted_proxies))
			return sl_fail(err, SL_EINVAL,
				"[eid] tls = false needs [server] trusted_proxies: the proxy then passes the "
				"certificate");
		if (conf->c_eid.lc_tls && (conf->c_eid.lc_tls_cert == NULL || conf->c_eid.lc_tls_key == NULL))
			return sl_fail(err, SL_EINVAL, "[eid] tls_cert and tls_key are required");
		if (conf->c_eid.lc_port == conf->c_portal.lc_port)
			return sl_fail(err, SL_EINVAL, "[eid] port must differ from [server] port");
		if (conf->c_eid_anchors == NULL)
			return sl_fail(
				err, SL_EINVAL, "[eid] trust_anchors is required (the Belgian roots, or a demo PKI)");
		if (sl_str_empty(conf->c_eid.lc_public_url))
			return sl_fail(err, SL_EINVAL, "[eid] public_url is required");
		if (conf->c_eid.lc_tls && conf->c_eid.lc_client_ca == NULL)
			return sl_fail(err, SL_EINVAL,
				"[eid] client_ca is required: without it the eID origin asks no browser for a "
				"certificate");
	}
	if (conf->c_store_path == NULL)
		return sl_fail(err, SL_EINVAL, "[store] path is required");
	if (conf->c_keys_dir == NULL)
		return sl_fail(err, SL_EINVAL, "[keys] dir is required");
	if (conf->c_data_dir == NULL)
		return sl_fail(err, SL_EINVAL, "[portal] data_dir is required");
	if (strcmp(conf->c_sms_driver, "outbox") != 0 && strcmp(conf->c_sms_driver, "webhook") != 0)
		return sl_fail(err, SL_EINVAL, "[sms] driver = %s: expected outbox or webhook", conf->c_sms_driver);
	if (strcmp(conf->c_sms_driver, "webhook") == 0 && !url_https_or_loopback(conf->c_sms_webhook_url))
		return sl_fail(err, SL_EINVAL,
			"[sms] webhook_url must be an https:// URL (http:// only on 127.0.0.1) with driver = webhook");
	if (!sl_str_empty(conf->c_app_push_url) && !url_https_or_loopback(conf->c_app_push_url))
		return sl_fail(err, SL_EINVAL, "[app] push_url must be an https:// URL (http:// only on 127.0.0.1)");
	if (strlen(conf->c_app_default_country) < 1 || strlen(conf->c_app_default_country) > 3 ||
		strspn(conf->c_app_default_country, "0123456789") != strlen(conf->c_app_default_country))
		return sl_fail(err, SL_EINVAL, "[app] default_country is a calling code of 1 to 3 digits, e.g. 32");
	if (strcmp(conf->c_sid_certificate_level, "ADVANCED") != 0 &&
		strcmp(conf->c_sid_certificate_level, "QUALIFIED") != 0 &&
		strcmp(conf->c_sid_certificate_level, "QSCD") != 0)
		return sl_fail(err, SL_EINVAL, "[smartid] certificate_level = %s: expected ADVANCED, QUALIFIED or QSCD",
			conf->c_sid_certificate_level);
	if (sl_str_empty(conf->c_sid_scheme_name) || strchr(conf->c_sid_scheme_name, '|') != NULL)
		return sl_fail(err, SL_EINVAL, "[smartid] scheme_name must be a name without '|' (smart-id)");
	if (!sl_str_empty(conf->c_sid_device_link_base) && !url_https_or_loopback(conf->c_sid_device_link_base))
		return sl_fail(err, SL_EINVAL,
			"[smartid] device_link_base must be an https:// URL (http:// only on 127.0.0.1), or empty");
	if (conf->c_sid_key_bits % 256 != 0)
		return sl_fail(err, SL_EINVAL, "[smartid] key_bits = %d: expected a multiple of 256 (3072)",
			conf->c_sid_key_bits);
	if (sl_str_empty(conf->c_sid_terms_version))
		return sl_fail(err, SL_EINVAL, "[smartid] terms_version must not be empty");
	for (int i = 0; i < conf->c_nbanks; i++) {
		const struct sl_bank_conf *b = &conf->c_banks[i];
		if (sl_str_empty(b->bk_name) || sl_str_empty(b->bk_issuer) || sl_str_empty(b->bk_client_id) ||
			sl_str_empty(b->bk_client_secret))
			return sl_fail(
				err, SL_EINVAL, "[bank.%s] needs name, issuer, client_id and client_secret", b->bk_id);
		if (!url_https_or_loopback(b->bk_issuer))
			return sl_fail(err, SL_EINVAL, "[bank.%s] issuer must be https:// (http:// only on 127.0.0.1)",
				b->bk_id);
	}
	if (strcmp(conf->c_store_engine, "sqlite") != 0 && strcmp(conf->c_store_engine, "postgresql") != 0)
		return sl_fail(
			err, SL_EINVAL, "[store] engine = %s: expected sqlite or postgresql", conf->c_store_engine);
	if (strcmp(conf->c_store_engine, "postgresql") == 0 && sl_str_empty(conf->c_store_conninfo))
		return sl_fail(
			err, SL_EINVAL, "[store] engine = postgresql needs conninfo (a libpq connection string)");
	for (int i = 0; i < SL_LANG_COUNT; i++)
		if (strcmp(conf->c_default_language, config_languages[i]) == 0)
			return SL_OK;
	return sl_fail(err, SL_EINVAL, "[portal] default_language must be nl, fr, de or en");
}

struct sl_config *
config_load(const char *path, struct sl_err *err)
{
	struct sl_config *conf;
	struct conf_parse cp;
	char dirbuf[PATH_MAX];
	FILE *f;
	int line;

	conf = calloc(1, sizeof(*conf));
	if (conf == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	conf->c_path = strdup(path);
	if (sl_strlcpy(dirbuf, path, sizeof(dirbuf)) >= sizeof(dirbuf) || conf->c_path == NULL) {
		sl_fail(err, SL_EINVAL, "configuration path too long");
		config_free(conf);
		return NULL;
	}
	conf->c_basedir = strdup(dirname(dirbuf));
	if (conf->c_basedir == NULL) {
		/* Without it relative paths would stay relative to the cwd. */
		sl_fail(err, SL_ENOMEM, "out of memory");
		config_free(conf);
		return NULL;
	}
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (conf_keys[i].ck_default == NULL)
			continue;
		if (conf_set(conf, &conf_keys[i], conf_keys[i].ck_default, err) != SL_OK) {
			config_free(conf);
			return NULL;
		}
	}
	conf->c_data_dir = strdup(config_default_data_dir());
	if (conf->c_data_dir == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		config_free(conf);
		return NULL;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		sl_fail(err, SL_EIO, "cannot open configuration %s", path);
		config_free(conf);
		return NULL;
	}
	cp.cp_conf = conf;
	cp.cp_err = err;
	cp.cp_rc = SL_OK;
	line = ini_parse_file(f, conf_handler, &cp);
	fclose(f);
	if (cp.cp_rc == SL_OK && line != 0)
		cp.cp_rc = sl_fail(err, SL_EINVAL, "%s: syntax error on line %d", path, line);
	if (cp.cp_rc == SL_OK)
		cp.cp_rc = conf_validate(conf, err);
	if (cp.cp_rc != SL_OK) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

static void
listener_free(struct sl_listener_conf *lc)
{
	free(lc->lc_listen);
	free(lc->lc_tls_cert);
	free(lc->lc_tls_key);
	free(lc->lc_client_ca);
	free(lc->lc_public_url);
}

void
config_free(struct sl_config *conf)
{
	if (conf == NULL)
		return;
	free(conf->c_path);
	free(conf->c_basedir);
	free(conf->c_issuer);
	listener_free(&conf->c_portal);
	listener_free(&conf->c_eid);
	free(conf->c_trusted_proxies);
	free(conf->c_user);
	free(conf->c_keyholder_user);
	free(conf->c_eid_anchors);
	free(conf->c_pki_dir);
	free(conf->c_pki_listen);
	free(conf->c_metrics_listen);
	free(conf->c_metrics_token_file);
	free(conf->c_eid_intermediates);
	free(conf->c_eid_ocsp_url);
	free(conf->c_eid_crl_url);
	free(conf->c_eid_proxy_header);
	free(conf->c_store_engine);
	free(conf->c_store_path);
	free(conf->c_store_conninfo);
	free(conf->c_keys_dir);
	free(conf->c_default_language);
	free(conf->c_data_dir);
	free(conf->c_app_push_url);
	free(conf->c_app_terms_version);
	free(conf->c_app_default_country);
	free(conf->c_sid_terms_version);
	free(conf->c_sid_device_link_base);
	free(conf->c_sid_scheme_name);
	free(conf->c_sid_certificate_level);
	free(conf->c_sms_driver);
	free(conf->c_sms_webhook_url);
	free(conf->c_sms_webhook_token);
	free(conf->c_sms_ca_file);
	for (int i = 0; i < conf->c_nbanks; i++) {
		struct sl_bank_conf *b = &conf->c_banks[i];
		free(b->bk_id);
		free(b->bk_name);
		free(b->bk_issuer);
		free(b->bk_client_id);
		free(b->bk_client_secret);
		free(b->bk_scope);
		free(b->bk_ca_file);
		free(b->bk_claim_rrn);
		free(b->bk_claim_given_name);
		free(b->bk_claim_family_name);
		free(b->bk_claim_birthdate);
		free(b->bk_endpoint_origins);
	}
	free(conf);
}
