/*
 * config — sleuteld's INI configuration, typed.  Every key has a default,
 * a range and a line in docs/config.md; an unknown section or key, a value
 * out of range or a missing required file is an error at start-up, never a
 * silent default.  Relative paths are resolved against the directory of the
 * configuration file.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/core.h"

#define SL_LANG_COUNT 4

enum sl_key_kind {
	SL_KEY_EID = 1 << 0,
	SL_KEY_APP = 1 << 1,
	SL_KEY_SMARTID = 1 << 2,
	SL_KEY_TEST = 1 << 3, /* test builds only */
};

struct sl_listener_conf {
	char *lc_listen; /* IPv4/IPv6 literal to bind */
	int lc_port;
	bool lc_tls;
	char *lc_tls_cert; /* PEM chain */
	char *lc_tls_key; /* PEM private key */
	char *lc_client_ca; /* eID origin: CA bundle used in the certificate request */
	char *lc_public_url; /* how browsers reach it, e.g. https://eid.example:8444 */
};

struct sl_config {
	char *c_path; /* the file read */
	char *c_basedir; /* its directory */

	/* [server] */
	char *c_issuer;
	struct sl_listener_conf c_portal;
	int c_threads; /* 0 = number of cores */
	int c_max_connections;
	int c_per_ip_connections;
	int c_connection_memory; /* bytes MHD may use per connection */
	int c_connection_timeout; /* seconds of idle before MHD closes */
	int c_max_body; /* bytes of a request body */
	int c_max_query; /* bytes of a URL query string */
	int c_max_cookie; /* bytes of the Cookie header */
	int c_max_params; /* parameters per request */
	int c_shutdown_grace; /* seconds to finish in-flight requests */
	char *c_trusted_proxies; /* comma-separated addresses (eID proxy mode) */

	/* [eid] */
	bool c_eid_enabled;
	struct sl_listener_conf c_eid;
	char *c_eid_anchors;       /* PEM: trust anchors (Belgium Root CAs) */
	char *c_eid_intermediates; /* PEM: Citizen CA, Foreigner CA */
	char *c_eid_ocsp_url;      /* overrides the card's AIA */
	char *c_eid_crl_url;       /* when the card names no CRL */
	bool c_eid_ocsp;
	bool c_eid_crl;
	bool c_eid_fail_open;
	int c_eid_timeout;         /* seconds per OCSP/CRL fetch */
	int c_eid_cache_max;       /* card verdicts cached */
	int c_eid_ocsp_max_age;    /* seconds for an OCSP answer without nextUpdate */
	char *c_eid_proxy_header;  /* nginx $ssl_client_escaped_cert arrives here */

	/* [pki]: the demo PKI's OCSP responder and CRLs (demo mode only) */
	char *c_pki_dir;          /* NULL: not served */
	char *c_pki_listen;
	int c_pki_port;
	int c_pki_ocsp_validity;  /* seconds until an OCSP answer's nextUpdate */

	/* [store] */
	char *c_store_engine; /* "sqlite" */
	char *c_store_path;
	int c_store_busy_timeout_ms;
	int c_store_pool;

	/* [keys] */
	char *c_keys_dir;
	int c_keys_reload; /* seconds between checks for rotated keys */

	/* [oidc] */
	int c_code_lifetime;
	int c_access_token_lifetime;
	int c_id_token_lifetime;
	int c_refresh_token_lifetime;
	int c_request_lifetime; /* an authorization request waiting for login */
	int c_par_lifetime;
	int c_session_lifetime; /* SSO session */
	int c_clock_skew;
	int c_max_redirect_uris;

	/* [portal] */
	unsigned c_portal_keys; /* bitmask of enum sl_key_kind */
	char *c_default_language;
	char *c_data_dir; /* templates/, static/, locale/ */
	int c_waiter_timeout; /* seconds before a long-poll answers 204 */
	int c_max_waiters;

	/* [log] */
	enum sl_log_level c_log_level;
};

/* Load and validate; returns NULL with `err` filled. */
struct sl_config *config_load(const char *path, struct sl_err *err);
void config_free(struct sl_config *conf);
/* Languages the portal speaks, in order: nl, fr, de, en. */
extern const char *const config_languages[SL_LANG_COUNT];
/* The compiled-in default data directory (templates, static, locale). */
const char *config_default_data_dir(void);

#endif
