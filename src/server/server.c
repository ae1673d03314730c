/*
 * server.c — bringing sleuteld up and down.
 *
 * Start: store (migrated), secrets, signing keys, catalogs, templates,
 * waiter registry and the store's listener (wake-ups from other nodes),
 * the housekeeping thread, then the two listeners.
 * Stop (SIGTERM/SIGINT): stop accepting, close the outbound queue (its
 * calls' requests answer 503), wake every waiter so suspended requests
 * answer, wait for in-flight requests up to shutdown_grace, stop the
 * listeners, abort the upstream calls still running after [outbound]
 * shutdown_timeout, then close the store, which checkpoints the WAL.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server.h"
#include "../keyholder/keyholder.h"
#include "../keys/eid/eid.h"
#include "../portal/portal.h"
#include "../keys/app/app.h"
#include "../proofing/proofing.h"
#include "../sms/sms.h"
#include "../outbound/outbound.h"

#define HOUSEKEEPING_SECONDS 30

static void
on_request_done(void *ctx, int route, int status, int64_t latency_us)
{
	struct server *srv = ctx;

	metrics_request(srv->sv_metrics, route, status, latency_us);
}

/* Descriptors besides connections: the store's pool, log, listeners, MHD's
 * inter-thread pipes, files read at reload. */
#define FDS_BESIDES_CONNECTIONS 256

/* Every open connection is a descriptor, and a suspended long-poll keeps
 * its connection: a node holding 100 000 + 100 000 waiters needs 200 000.
 * The soft limit (often 1024) is raised to the hard one, which only the
 * operator can raise (docs/operator.md); a hard limit below what the
 * configured connections need is logged, since past it accept() fails. */
static void
raise_fd_limit(const struct sl_config *c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c->c_max_connections + FDS_BESIDES_CONNECTIONS;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warn("open files limit %llu is below [server] max_connections + %d = %llu: connections past it "
			 "are refused (raise LimitNOFILE= or ulimit -n)",
			(unsigned long long)rl.rlim_cur, FDS_BESIDES_CONNECTIONS, (unsigned long long)want);
}

static int
load_secret(struct server *srv, struct sl_err *err)
{
	char *path = sl_path_resolve(srv->sv_conf->c_keys_dir, "secret"), *b64 = NULL;
	uint8_t *raw = NULL;
	size_t n = 0;
	int rc;

	rc = path ? sl_file_read(path, 1024, &b64, NULL, err) : SL_ENOMEM;
	free(path);
	if (rc != SL_OK)
		return rc;
	b64[strcspn(b64, "\r\n")] = '\0';
	raw = sl_b64url_decode(b64, strlen(b64), &n);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	if (raw == NULL || n < 32) {
		free(raw);
		return sl_fail(err, SL_EINVAL, "keys/secret must hold at least 32 random bytes (base64url)");
	}
	/* Independent keys for independent uses. */
	rc = crypto_hmac_sha256(raw, n, "sleutel csrf v1", 15, srv->sv_csrf_key);
	if (rc == SL_OK)
		rc = crypto_hmac_sha256(raw, n, "sleutel pairwise v1", 19, srv->sv_pairwise_key);
	if (rc == SL_OK)
		rc = crypto_hmac_sha256(raw, n, "sleutel sms v1", 14, srv->sv_sms_key);
	if (rc == SL_OK && ((srv->sv_csrf_hmac = crypto_hmac_new(srv->sv_csrf_key, sizeof(srv->sv_csrf_key))) == NULL ||
				   (srv->sv_pairwise_hmac = crypto_hmac_new(
					    srv->sv_pairwise_key, sizeof(srv->sv_pairwise_key))) == NULL))
		rc = sl_fail(err, SL_ECRYPTO, "cannot key HMAC-SHA256");
	OPENSSL_cleanse(raw, n);
	free(raw);
	return rc;
}

static int
load_portal_data(struct server *srv, struct sl_err *err)
{
	const char *dir = srv->sv_conf->c_data_dir;
	char *p;
	int rc = SL_OK;

	p = sl_path_resolve(dir, "templates");
	srv->sv_templates = p ? tmpl_set_load(p, err) : NULL;
	free(p);
	if (srv->sv_templates == NULL)
		return SL_EIO;
	for (int i = 0; i < SL_LANG_COUNT && rc == SL_OK; i++) {
		char name[64];
		snprintf(name, sizeof(name), "locale/%s.mo", config_languages[i]);
		p = sl_path_resolve(dir, name);
		srv->sv_catalogs[i] = p ? i18n_catalog_load(p, err) : NULL;
		free(p);
		if (srv->sv_catalogs[i] == NULL)
			rc = SL_EIO;
	}
	if (rc == SL_OK && (p = sl_path_resolve(dir, "static/sleutel.css")) != NULL) {
		rc = sl_file_read(p, 1 << 20, &srv->sv_css, &srv->sv_css_len, err);
		free(p);
	}
	if (rc == SL_OK && (p = sl_path_resolve(dir, "static/wait.js")) != NULL) {
		rc = sl_file_read(p, 1 << 20, &srv->sv_wait_js, &srv->sv_wait_js_len, err);
		free(p);
	}
	if (rc == SL_OK && (p = sl_path_resolve(dir, "static/webeid.js")) != NULL) {
		rc = sl_file_read(p, 1 << 20, &srv->sv_webeid_js, &srv->sv_webeid_js_len, err);
		free(p);
	}
	return rc;
}

static int
load_tls(struct server *srv, struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	int rc = SL_OK;

	/* The certificates only: the private keys are the key holder's
	 * (hold_tls.c), which signs each full handshake (http tlskey.c). */
	if (c->c_portal.lc_tls)
		rc = sl_file_read(c->c_portal.lc_tls_cert, 1 << 20, &srv->sv_tls_cert, NULL, err);
	if (rc == SL_OK && c->c_eid_enabled && c->c_eid.lc_tls) {
		rc = sl_file_read(c->c_eid.lc_tls_cert, 1 << 20, &srv->sv_eid_cert, NULL, err);
		if (rc == SL_OK && c->c_eid.lc_client_ca != NULL)
			rc = sl_file_read(c->c_eid.lc_client_ca, 4 << 20, &srv->sv_eid_trust, NULL, err);
	}
	return rc;
}

static int
start_eid_validator(struct server *srv, struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	struct eid_validator_conf ec = {
		.ev_anchors = c->c_eid_anchors,
		.ev_intermediates = c->c_eid_intermediates,
		.ev_ocsp_url = c->c_eid_ocsp_url,
		.ev_crl_url = c->c_eid_crl_url,
		.ev_timeout = c->c_eid_timeout,
		.ev_cache_max = c->c_eid_cache_max,
		.ev_max_age = c->c_eid_ocsp_max_age,
		.ev_skew = c->c_clock_skew,
		.ev_ocsp = c->c_eid_ocsp,
		.ev_crl = c->c_eid_crl,
		.ev_fail_open = c->c_eid_fail_open,
	};

	srv->sv_eid_validator = eid_validator_new(&ec, err);
	if (srv->sv_eid_validator == NULL)
		return SL_EINVAL;
	if (c->c_eid_fail_open)
		log_warn("[eid] fail_open = true: cards whose status cannot be checked are accepted (audited)");
	return SL_OK;
}

static void *
housekeeping_main(void *arg)
{
	struct server *srv = arg;
	struct timespec ts;

	pthread_mutex_lock(&srv->sv_hk_lock);
	while (!atomic_load(&srv->sv_stopping)) {
		int64_t wait = srv->sv_conf->c_keys_reload < HOUSEKEEPING_SECONDS ? srv->sv_conf->c_keys_reload
										  : HOUSEKEEPING_SECONDS;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait;
		pthread_cond_timedwait(&srv->sv_hk_cond, &srv->sv_hk_lock, &ts);
		if (atomic_load(&srv->sv_stopping))
			break;
		pthread_mutex_unlock(&srv->sv_hk_lock);
		keyring_refresh(srv);
		store_purge_expired(srv->sv_store, sl_now());
		pthread_mutex_lock(&srv->sv_hk_lock);
	}
	pthread_mutex_unlock(&srv->sv_hk_lock);
	return NULL;
}

/* Event-loop threads when [server] threads is 0: four per core, at least
 * eight.  A handler blocks its thread while its durable commit waits for
 * the sync it shares with others (group commit); with one thread per core
 * two waits stalled every connection of the listener, and at most two
 * commits shared a sync (docs/performance.md, the fourth round).  Upstream
 * calls (OCSP, SMS, bank) never block one: they run on sv_outbound while
 * the request waits suspended (src/outbound, docs/faults.md). */
static int
default_threads(long cores)
{
	long n = cores > 0 ? 4 * cores : 8;

	return (int)(n < 8 ? 8 : n > 256 ? 256 : n);
}

static struct http_daemon *
listener_start(struct server *srv, const char *name, enum http_origin origin, const struct sl_listener_conf *lc,
	char *cert, char *trust, struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct http_daemon_conf hd = {
		.hd_name = name,
		.hd_origin = origin,
		.hd_listen = lc->lc_listen,
		.hd_port = lc->lc_port,
		.hd_tls = lc->lc_tls,
		.hd_cert_pem = cert,
		.hd_tls_sign = keyholder_tls_sign,
		.hd_tls_sign_ctx = srv->sv_kh,
		.hd_tls_key = origin == HTTP_ORIGIN_EID ? KH_TLS_EID : KH_TLS_PORTAL,
		/* Tickets on the portal only: a resumed session would bring the
		 * card's certificate back to the eID origin without the card
		 * signing again, and each eID login must be the card's. */
		.hd_tls_tickets = origin == HTTP_ORIGIN_PORTAL,
		.hd_trust_pem = trust,
		/* On the eID origin GnuTLS must let a certificate whose key usage
		 * forbids TLS signatures (the card's nonRepudiation signing
		 * certificate, which browsers do offer) finish the handshake: the
		 * proof of possession is still checked, and the validator then
		 * refuses it with a page that says what to choose instead.  In
		 * GnuTLS 3.7 only %COMPAT ignores a peer's key-usage violation
		 * (%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS covers our own certificate);
		 * its other relaxations (no record padding, oversized records
		 * tolerated) weaken no cipher or check, and apply to this origin
		 * alone. */
		.hd_priorities = origin == HTTP_ORIGIN_EID ? "NORMAL:%COMPAT" : NULL,
		.hd_threads = c->c_threads > 0 ? c->c_threads : default_threads(cores),
		.hd_max_connections = c->c_max_connections,
		.hd_per_ip_connections = c->c_per_ip_connections,
		.hd_connection_memory = c->c_connection_memory,
		.hd_connection_timeout = c->c_connection_timeout,
		.hd_header_timeout = c->c_header_timeout,
		.hd_limits = { c->c_max_body, c->c_max_query, c->c_max_cookie, c->c_max_params },
		.hd_routes = srv->sv_routes,
		.hd_nroutes = srv->sv_nroutes,
		.hd_ctx = srv,
		.hd_done = on_request_done,
		.hd_error_page = portal_error_status,
	};

	return http_daemon_start(&hd, err);
}

/* /metrics tells how many logins of each key, requests and waiters there
 * are: useful to an attacker timing a relay, so it never shares a listener
 * with the portal.  Its own listener is loopback by default; bound
 * elsewhere, a bearer token from a file (one line, at least 32 characters)
 * keeps scrapers other than the operator's out. */
static int
start_metrics(struct server *srv, struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	struct sl_listener_conf ml = { .lc_listen = c->c_metrics_listen, .lc_port = c->c_metrics_port };
	int rc;

	if (c->c_metrics_port == 0)
		return SL_OK;
	if (c->c_metrics_token_file != NULL) {
		rc = sl_file_read(c->c_metrics_token_file, 4096, &srv->sv_metrics_token, NULL, err);
		if (rc != SL_OK)
			return rc;
		srv->sv_metrics_token[strcspn(srv->sv_metrics_token, "\r\n")] = '\0';
		if (strlen(srv->sv_metrics_token) < METRICS_TOKEN_MIN)
			return sl_fail(err, SL_EINVAL,
				"[metrics] token_file %s: the token must be at least %d characters",
				c->c_metrics_token_file, METRICS_TOKEN_MIN);
	}
	srv->sv_metrics_http = listener_start(srv, "metrics", HTTP_ORIGIN_METRICS, &ml, NULL, NULL, err);
	if (srv->sv_metrics_http == NULL)
		return SL_ERR;
	log_info("metrics on http://%s:%d/metrics%s", c->c_metrics_listen, http_daemon_port(srv->sv_metrics_http),
		srv->sv_metrics_token ? " (bearer token required)" : "");
	return SL_OK;
}

struct server *
server_start(struct sl_config *conf, struct keyholder *kh, struct sl_err *err)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct store_options so;

	if (srv == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	srv->sv_conf = conf;
	srv->sv_kh = kh;
	raise_fd_limit(conf);
	pthread_mutex_init(&srv->sv_hk_lock, NULL);
	pthread_cond_init(&srv->sv_hk_cond, NULL);
	so.so_engine = conf->c_store_engine;
	so.so_path = conf->c_store_path;
	so.so_conninfo = conf->c_store_conninfo;
	so.so_busy_timeout_ms = conf->c_store_busy_timeout_ms;
	so.so_pool = conf->c_store_pool > 0 ? conf->c_store_pool : (int)sysconf(_SC_NPROCESSORS_ONLN) * 2 + 2;
	srv->sv_store = store_open(&so, err);
	srv->sv_metrics = metrics_new();
	if (srv->sv_store == NULL || srv->sv_metrics == NULL || load_secret(srv, err) != SL_OK ||
		keyring_load(srv, err) != SL_OK || load_portal_data(srv, err) != SL_OK || load_tls(srv, err) != SL_OK)
		goto fail;
	if (conf->c_eid_enabled && start_eid_validator(srv, err) != SL_OK)
		goto fail;
	if (server_routes_build(srv, err) != SL_OK || app_keys_load(srv, err) != SL_OK ||
		proofing_init(srv, err) != SL_OK)
		goto fail;
	srv->sv_sms = sms_gateway_new(conf, srv->sv_store, err);
	if (srv->sv_sms == NULL)
		goto fail;
	srv->sv_waiters = waiter_registry_new((size_t)conf->c_max_waiters, err);
	if (srv->sv_waiters == NULL || server_listen(srv, err) != SL_OK)
		goto fail;
	srv->sv_outbound = outbound_new(conf->c_outbound_threads, conf->c_outbound_queue, srv->sv_waiters, err);
	if (srv->sv_outbound == NULL)
		goto fail;
	if (pthread_create(&srv->sv_housekeeper, NULL, housekeeping_main, srv) != 0) {
		sl_fail(err, SL_ERR, "cannot start the housekeeping thread");
		goto fail;
	}
	srv->sv_hk_running = true;
	srv->sv_portal =
		listener_start(srv, "portal", HTTP_ORIGIN_PORTAL, &conf->c_portal, srv->sv_tls_cert, NULL, err);
	if (srv->sv_portal == NULL)
		goto fail;
	if (conf->c_eid_enabled) {
		srv->sv_eid = listener_start(
			srv, "eid", HTTP_ORIGIN_EID, &conf->c_eid, srv->sv_eid_cert, srv->sv_eid_trust, err);
		if (srv->sv_eid == NULL)
			goto fail;
	}
	if (conf->c_pki_dir != NULL) {
		struct sl_listener_conf pl = { .lc_listen = conf->c_pki_listen, .lc_port = conf->c_pki_port };
		srv->sv_pki = listener_start(srv, "pki", HTTP_ORIGIN_PKI, &pl, NULL, NULL, err);
		if (srv->sv_pki == NULL)
			goto fail;
		log_warn("demo PKI: OCSP responder and CRLs on http://%s:%d (demo mode, not for production)",
			conf->c_pki_listen, conf->c_pki_port);
	}
	if (start_metrics(srv, err) != SL_OK)
		goto fail;
	log_info("listening: portal %s:%d%s, eID %s", conf->c_portal.lc_listen, http_daemon_port(srv->sv_portal),
		conf->c_portal.lc_tls ? " (TLS)" : " (plain HTTP behind a proxy)",
		srv->sv_eid ? "enabled" : "disabled");
	return srv;
fail:
	server_stop(srv);
	return NULL;
}

/* Running upstream calls end or are aborted; the audit trail says what
 * the stop did to them (their requests were answered 503 already). */
static void
stop_outbound(struct server *srv)
{
	struct outbound_report r = { 0 };
	char detail[160];
	struct store_audit au = { .au_event = "server.stop", .au_result = "ok", .au_detail = detail };

	if (srv->sv_outbound == NULL)
		return;
	outbound_drain(srv->sv_outbound, &r);
	outbound_free(srv->sv_outbound);
	srv->sv_outbound = NULL;
	snprintf(detail, sizeof(detail), "upstream calls: %zu queued dropped, %zu running finished, %zu aborted",
		r.or_dropped, r.or_finished, r.or_aborted);
	if (r.or_dropped + r.or_finished + r.or_aborted > 0 && srv->sv_store != NULL &&
		store_audit_add(srv->sv_store, &au) != SL_OK)
		log_warn("the stop's audit record was not written");
}

void
server_stop(struct server *srv)
{
	int64_t deadline;

	if (srv == NULL)
		return;
	atomic_store(&srv->sv_stopping, true);
	http_daemon_quiesce(srv->sv_portal);
	http_daemon_quiesce(srv->sv_eid);
	http_daemon_quiesce(srv->sv_pki);
	http_daemon_quiesce(srv->sv_metrics_http);
	/* Before the waiters wake: a woken request must not queue a new call. */
	outbound_close(srv->sv_outbound, sl_monotonic_ms() + (int64_t)srv->sv_conf->c_outbound_shutdown * 1000);
	if (srv->sv_waiters != NULL)
		waiter_registry_shutdown(srv->sv_waiters);
	deadline = sl_monotonic_ms() + (int64_t)srv->sv_conf->c_shutdown_grace * 1000;
	while ((http_daemon_active(srv->sv_portal) > 0 || http_daemon_active(srv->sv_eid) > 0 ||
		       http_daemon_active(srv->sv_pki) > 0 || http_daemon_active(srv->sv_metrics_http) > 0) &&
		sl_monotonic_ms() < deadline)
		usleep(10000);
	http_daemon_stop(srv->sv_portal);
	http_daemon_stop(srv->sv_eid);
	http_daemon_stop(srv->sv_pki);
	http_daemon_stop(srv->sv_metrics_http);
	/* Its calls use the store, the banks' caches and the registry. */
	stop_outbound(srv);
	if (srv->sv_hk_running) {
		pthread_mutex_lock(&srv->sv_hk_lock);
		pthread_cond_signal(&srv->sv_hk_cond);
		pthread_mutex_unlock(&srv->sv_hk_lock);
		pthread_join(srv->sv_housekeeper, NULL);
	}
	/* The listener (its thread joined) before the registry it wakes. */
	if (srv->sv_store != NULL)
		store_unlisten(srv->sv_store);
	waiter_registry_free(srv->sv_waiters);
	sms_gateway_free(srv->sv_sms);
	proofing_free(srv);
	app_keys_free(srv);
	free(srv->sv_routes);
	eid_validator_free(srv->sv_eid_validator);
	keyring_free(srv->sv_keys);
	store_close(srv->sv_store);
	metrics_free(srv->sv_metrics);
	tmpl_set_free(srv->sv_templates);
	for (int i = 0; i < SL_LANG_COUNT; i++)
		i18n_catalog_free(srv->sv_catalogs[i]);
	free(srv->sv_css);
	free(srv->sv_wait_js);
	free(srv->sv_webeid_js);
	free(srv->sv_tls_cert);
	free(srv->sv_eid_cert);
	free(srv->sv_eid_trust);
	if (srv->sv_metrics_token != NULL)
		OPENSSL_cleanse(srv->sv_metrics_token, strlen(srv->sv_metrics_token));
	free(srv->sv_metrics_token);
	crypto_hmac_free(srv->sv_csrf_hmac);
	crypto_hmac_free(srv->sv_pairwise_hmac);
	OPENSSL_cleanse(srv->sv_csrf_key, sizeof(srv->sv_csrf_key));
	OPENSSL_cleanse(srv->sv_pairwise_key, sizeof(srv->sv_pairwise_key));
	OPENSSL_cleanse(srv->sv_sms_key, sizeof(srv->sv_sms_key));
	pthread_mutex_destroy(&srv->sv_hk_lock);
	pthread_cond_destroy(&srv->sv_hk_cond);
	free(srv);
}
