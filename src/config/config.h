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

#define SL_ISSUER_MAX 160 /* characters of [server] issuer */

struct sl_listener_conf {
	char *lc_listen; /* IPv4/IPv6 literal to bind */
	int lc_port;
	bool lc_tls;
	char *lc_tls_cert; /* PEM chain */
	char *lc_tls_key; /* PEM private key */
	char *lc_client_ca; /* eID origin: CA bundle used in the certificate request */
	char *lc_public_url; /* how browsers reach it, e.g. https://eid.example:8444 */
};

#define CONFIG_MAX_BANKS 8
#define CONFIG_BANK_ID_MAX 32

/* One identity-proofing bank: sleutel is its OIDC client (code + PKCE). */
struct sl_bank_conf {
	char *bk_id; /* from the section name [bank.<id>]: [a-z0-9_-]{1,32} */
	char *bk_name; /* shown to the person */
	char *bk_issuer; /* https://, or http:// on a loopback address */
	char *bk_client_id;
	char *bk_client_secret; /* client_secret_basic */
	char *bk_scope; /* default "openid profile" */
	char *bk_ca_file; /* extra CA bundle for its TLS; NULL = system */
	char *bk_claim_rrn; /* claim holding the national register number */
	char *bk_claim_given_name;
	char *bk_claim_family_name;
	char *bk_claim_birthdate;
	char *bk_endpoint_origins; /* space-separated origins the token, userinfo and JWKS endpoints may be at
				       besides the issuer's; NULL = none */
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
	int c_header_timeout; /* seconds for a new connection's first request head; 0: none */
	int c_max_body; /* bytes of a request body */
	int c_max_query; /* bytes of a URL query string */
	int c_max_cookie; /* bytes of the Cookie header */
	int c_max_params; /* parameters per request */
	int c_shutdown_grace; /* seconds to finish in-flight requests */
	char *c_trusted_proxies; /* comma-separated addresses (eID proxy mode) */
	char *c_user; /* started as root: the account to run as after binding ("" = stay) */
	char *c_keyholder_user; /* started as root: the key holder's own account ("" = c_user) */

	/* [eid] */
	bool c_eid_enabled;
	struct sl_listener_conf c_eid;
	char *c_eid_anchors; /* PEM: trust anchors (Belgium Root CAs) */
	char *c_eid_intermediates; /* PEM: Citizen CA, Foreigner CA */
	char *c_eid_ocsp_url; /* overrides the card's AIA */
	char *c_eid_crl_url; /* when the card names no CRL */
	bool c_eid_ocsp;
	bool c_eid_crl;
	bool c_eid_fail_open;
	int c_eid_timeout; /* seconds per OCSP/CRL fetch */
	int c_eid_cache_max; /* card verdicts cached */
	int c_eid_ocsp_max_age; /* seconds for an OCSP answer without nextUpdate */
	char *c_eid_proxy_header; /* nginx $ssl_client_escaped_cert arrives here */
	bool c_eid_webeid; /* offer Web eID beside the TLS client certificate */
	int c_eid_webeid_lifetime; /* seconds a Web eID challenge may be answered */

	/* [pki]: the demo PKI's OCSP responder and CRLs (demo mode only) */
	char *c_pki_dir; /* NULL: not served */
	char *c_pki_listen;
	int c_pki_port;
	int c_pki_ocsp_validity; /* seconds until an OCSP answer's nextUpdate */
	/* [metrics]: /metrics on its own plain-HTTP listener, never on the
	 * portal or eID origin */
	char *c_metrics_listen;
	int c_metrics_port; /* 0: metrics not served */
	char *c_metrics_token_file; /* when set, a bearer token is required */

	/* [store] */
	char *c_store_engine; /* "sqlite" or "postgresql" */
	char *c_store_path; /* sqlite */
	char *c_store_conninfo; /* postgresql: libpq connection string */
	int c_store_busy_timeout_ms;
	int c_store_pool;

	/* [keys] */
	char *c_keys_dir;
	int c_keys_reload; /* seconds between checks for rotated keys */
	int c_keyholder_channels; /* socketpairs to the key holder (src/keyholder) */

	/* [oidc] */
	int c_code_lifetime;
	int c_access_token_lifetime;
	int c_id_token_lifetime;
	int c_refresh_token_lifetime;
	int c_request_lifetime; /* an authorization request waiting for login */
	int c_par_lifetime;
	int c_dpop_proof_window; /* RFC 9449 proofs: |iat - now| at most this many seconds */
	int c_dpop_nonce_lifetime; /* a DPoP-Nonce is good for this long at least, twice at most */
	int c_session_lifetime; /* SSO session */
	int c_clock_skew;
	int c_max_redirect_uris;

	/* [portal] */
	unsigned c_portal_keys; /* bitmask of enum sl_key_kind */
	char *c_default_language;
	char *c_data_dir; /* templates/, static/, locale/ */
	int c_waiter_timeout; /* seconds before a long-poll answers 204 */
	int c_max_waiters;

	/* [app]: the sleutel app key (enrolment, login, confirmation) */
	int c_app_request_lifetime; /* seconds a login/payment request waits for the phone */
	int c_app_max_pending; /* pending requests per account */
	int c_app_rate_window; /* seconds of the rate-limit window */
	int c_app_rate_phone; /* new requests per phone number per window */
	int c_app_rate_ip; /* new requests per client IP per window */
	int c_app_rate_rp; /* new requests per RP per window */
	int c_app_enrollment_lifetime; /* seconds from enrolment start to finish */
	int c_app_sms_code_lifetime; /* seconds an SMS activation code is valid */
	int c_app_sms_attempts; /* wrong SMS codes before the enrolment ends */
	int c_app_sms_max_sends; /* SMS per enrolment (first + resends) */
	int c_app_sms_wrong_window; /* seconds of the window of sms_wrong_per_window */
	int c_app_sms_wrong_per_window; /* wrong SMS codes per number per window, across enrolments */
	int c_app_sms_wrong_max; /* wrong SMS codes per number until a right one or an operator */
	int c_app_proof_window; /* seconds a device proof's iat may differ from now */
	int c_app_qr_rotate; /* seconds one QR code is shown; a code is taken for two */
	int c_app_poll_timeout; /* seconds before GET /device/v1/requests answers 204 */
	char *c_app_push_url; /* webhook that wakes a phone; "" = none */
	char *c_app_terms_version; /* the terms version a new enrolment must accept */
	char *c_app_default_country; /* calling code for numbers without one: "32" */

	/* [smartid]: split-key accounts (docs/smartid-api.md) */
	int c_sid_key_bits; /* n1 and n2 bits each: 3072; 1024..4096, a multiple of 256 */
	int c_sid_registration_lifetime; /* seconds from the app's start to the recall check */
	int c_sid_code_tries; /* registration codes typed wrong per portal visit */
	int c_sid_code_wrong_max; /* wrong codes a registration code outlives, over its whole life */
	int c_sid_code_wrong_person; /* registration codes typed per person per code_wrong_window */
	int c_sid_code_wrong_ip; /* registration codes typed per client address per code_wrong_window */
	int c_sid_code_wrong_window; /* seconds of the window of the two above */
	int c_sid_recall_tries; /* wrong PINs at the recall check before the registration fails */
	int c_sid_max_devices; /* active devices per account */
	int c_sid_request_lifetime; /* seconds a signing request waits for the phone */
	int c_sid_max_pending; /* pending requests per account */
	int c_sid_rate_ip; /* registrations started per client IP per [app] rate_window */
	int c_sid_keygen_max; /* portal confirmations making server keys at once, server-wide */
	char *c_sid_terms_version; /* the certificate terms a registration must accept */
	/* [smartid] the RP API (src/keys/sidrp, docs/smart-id.md) */
	char *c_sid_device_link_base; /* deviceLinkBase; empty: {issuer}/smart-id/device-link */
	char *c_sid_scheme_name; /* the schemeName of ACSP_V2 payloads and authCodes: "smart-id" */
	char *c_sid_certificate_level; /* what this CA's certificates satisfy: ADVANCED, QUALIFIED or QSCD */
	int c_sid_rp_session_lifetime; /* seconds a RUNNING RP API session waits for the person */
	int c_sid_rp_result_keep; /* seconds a COMPLETE session's result stays readable */
	int c_sid_rp_idempotency; /* seconds an identical creation request returns the same session */
	int c_sid_rp_max_running; /* RUNNING sessions per RP */
	int c_sid_rp_link_skew; /* seconds a QR link's elapsedSeconds may differ from the session's age */
	int c_sid_rp_cert_miss_window; /* seconds of the window of the two below */
	int c_sid_rp_cert_misses; /* unknown document numbers per RP per window (signature/certificate) */
	int c_sid_rp_cert_misses_person; /* the same per RP and national number */
	bool c_sid_rp_api; /* serve {issuer}/smart-id/v3/ and /v2/ */

	/* [sms] */
	char *c_sms_driver; /* "outbox" or "webhook" */
	char *c_sms_webhook_url;
	char *c_sms_webhook_token; /* sent as Authorization: Bearer; "" = none */
	int c_sms_webhook_timeout; /* seconds per attempt */
	int c_sms_webhook_retries; /* attempts after the first */
	char *c_sms_ca_file; /* extra CA bundle for the webhook's TLS; NULL = system */

	/* [ciba] */
	int c_ciba_max_expiry; /* largest requested_expiry accepted */
	int c_ciba_interval; /* seconds between token polls */

	/* [bank.<id>]: upstream OIDC providers for identity proofing */
	struct sl_bank_conf c_banks[CONFIG_MAX_BANKS];
	int c_nbanks;

	/* [log] */
	enum sl_log_level c_log_level;

	/* Upstream calls off the event loops (src/outbound) and their timeouts */
	int c_outbound_threads; /* [outbound] threads: calls running at once */
	int c_outbound_queue; /* [outbound] queue: calls waiting for a worker; more are 503 */
	int c_outbound_shutdown; /* [outbound] shutdown_timeout: seconds running calls get at a stop */
	int c_bank_timeout; /* [proofing] bank_timeout: seconds per call to a bank */
	int c_ciba_ping_timeout; /* [ciba] ping_timeout: seconds per ping to a client */
	int c_app_push_timeout; /* [app] push_timeout: seconds per push webhook call */
};

/* Load and validate; returns NULL with `err` filled. */
struct sl_config *config_load(const char *path, struct sl_err *err);
void config_free(struct sl_config *conf);
/* Languages the portal speaks, in order: nl, fr, de, en. */
extern const char *const config_languages[SL_LANG_COUNT];
/* The compiled-in default data directory (templates, static, locale). */
const char *config_default_data_dir(void);

#endif
