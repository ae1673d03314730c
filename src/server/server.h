/*
 * server — sleuteld's context: the one struct that holds every piece of
 * state the daemon shares between threads (configuration, store, keys,
 * waiters, metrics, catalogs, templates), and the start/stop sequence.
 * Everything in it is either immutable after start-up or guarded by its
 * own lock; there is no other global mutable state.
 */
#ifndef SL_SERVER_H
#define SL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include "../config/config.h"
#include "../crypto/crypto.h"
#include "../http/http.h"
#include "../i18n/i18n.h"
#include "../store/store.h"
#include "../waiter/waiter.h"

#define SERVER_SECRET_LEN 32
#define METRICS_TOKEN_MIN 32 /* characters of the [metrics] bearer token */

struct keyring;
struct keyholder;
struct eid_validator;
struct metrics;
struct app_keys;
struct sms_gateway;
struct proofing;
struct outbound;

struct server {
	struct sl_config *sv_conf;
	struct store *sv_store;
	struct keyring *sv_keys;
	struct keyholder *sv_kh; /* the key holder process (src/keyholder); main's, not freed here */
	struct waiter_registry *sv_waiters;
	struct metrics *sv_metrics;
	struct tmpl_set *sv_templates;
	struct i18n_catalog *sv_catalogs[SL_LANG_COUNT];
	char *sv_css; /* static/sleutel.css */
	size_t sv_css_len;
	char *sv_wait_js; /* static/wait.js */
	size_t sv_wait_js_len;
	char *sv_webeid_js; /* static/webeid.js */
	size_t sv_webeid_js_len;
	/* Derived from keys/secret: CSRF tokens, pairwise subjects, and the MAC
	 * under which SMS activation codes are stored. */
	uint8_t sv_csrf_key[SERVER_SECRET_LEN];
	uint8_t sv_pairwise_key[SERVER_SECRET_LEN];
	uint8_t sv_sms_key[SERVER_SECRET_LEN];
	/* The first two keyed once (crypto_hmac_new): a login MACs with them
	 * three times. */
	struct crypto_hmac *sv_csrf_hmac, *sv_pairwise_hmac;
	char *sv_tls_cert; /* the certificates; the keys are the key holder's */
	char *sv_eid_cert, *sv_eid_trust;
	struct eid_validator *sv_eid_validator; /* NULL when [eid] enabled = false */
	struct app_keys *sv_app_keys; /* keys/app device side: sealing and at-rest keys */
	struct sms_gateway *sv_sms; /* sms: outbox or webhook */
	struct proofing *sv_proofing; /* proofing: banks (upstream OIDC) */
	/* Every origin's routes: the core table and each module's, merged at
	 * start (routes.c); immutable afterwards. */
	struct http_route *sv_routes;
	size_t sv_nroutes;
	struct http_daemon *sv_portal;
	struct http_daemon *sv_eid;
	struct http_daemon *sv_pki; /* demo mode: OCSP and CRLs over plain HTTP */
	struct http_daemon *sv_metrics_http; /* [metrics] port: /metrics, /healthz */
	char *sv_metrics_token; /* [metrics] token_file's bearer token, or NULL */
	pthread_t sv_housekeeper;
	pthread_mutex_t sv_hk_lock;
	pthread_cond_t sv_hk_cond;
	bool sv_hk_running;
	atomic_bool sv_stopping;
	struct outbound *sv_outbound; /* upstream calls off the event loops (src/outbound) */
	atomic_int sv_sid_keygens; /* Smart-ID confirmations making server keys now ([smartid] keygen_max) */
};

/* Open everything the configuration names and start listening.  Private
 * keys are used through `kh`, the key holder main started (kept by the
 * caller, who stops it after server_stop). */
struct server *server_start(struct sl_config *conf, struct keyholder *kh, struct sl_err *err);
/* Graceful stop: refuse new connections, wake all waiters, let in-flight
 * requests finish (up to shutdown_grace seconds), close the store. */
void server_stop(struct server *srv);

/* ---- waking waiters on every node (wake.c) ---- */
/* Start this node's store listener: keys any node wakes reach this node's
 * waiter registry (sv_waiters must exist; SL_EBUSY when another sleuteld
 * already serves the same SQLite file). */
int server_listen(struct server *srv, struct sl_err *err);
/* Wake what waits on `key` here and on every other node; call it after
 * the change it announces is committed. */
void server_wake(struct server *srv, const char *key);

/* ---- whose address (client_ip.c) ---- */
#define SERVER_IP_MAX 64 /* a buffer for server_person_ip() */
/* Is `ip` one of [server] trusted_proxies? */
bool server_proxy_trusted(const struct server *srv, const char *ip);
/* The person's address: the connection's, or behind a trusted proxy the
 * last address it put in X-Forwarded-For (copied into buf when used). */
const char *server_person_ip(const struct server *srv, struct http_request *rq, char *buf, size_t len);
/* The address an audit row records (DESIGN §3 "from which IP"): the
 * person's, as server_person_ip, so behind a trusted proxy the row holds
 * the hop it saw, not the proxy (docs/config.md trusted_proxies).  `buf`
 * (SERVER_IP_MAX bytes) must live as long as the row.  Every audit row
 * takes its address from here: scripts/check.sh refuses http_client_ip. */
const char *server_audit_ip(const struct server *srv, struct http_request *rq, char buf[SERVER_IP_MAX]);

/* Demo PKI routes (pki_routes.c). */
void server_pki_ocsp(void *ctx, struct http_request *rq);
void server_pki_crl(void *ctx, struct http_request *rq);

/* Merge the core routes and every module's table into sv_routes
 * (routes.c).  Module tables come before the catch-all routes. */
int server_routes_build(struct server *srv, struct sl_err *err);

/* ---- keyring: the ID-token signing keys (keyring.c) ---- */
int keyring_load(struct server *srv, struct sl_err *err);
/* Reload when `sleutel keys rotate` changed the set; cheap when not. */
int keyring_refresh(struct server *srv);
void keyring_free(struct keyring *kr);
/* Keys are used under the keyring's read lock, so a rotation never frees a
 * key in use: lock, sign or verify, unlock. */
void keyring_lock(struct server *srv);
void keyring_unlock(struct server *srv);
/* Under the lock: the key to sign with for `alg` now, or NULL. */
struct jose_key *keyring_signer(struct server *srv, const char *alg);
/* Under the lock: every published key (current, next, retiring). */
size_t keyring_verifiers(struct server *srv, struct jose_key **keys, size_t max);
/* The JWKS document; a new reference. */
json_t *keyring_jwks(struct server *srv);

/* ---- metrics (metrics.c) ---- */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);
void metrics_request(struct metrics *m, int route, int status, int64_t latency_us);
void metrics_login(struct metrics *m, const char *key, const char *result);
/* Prometheus text exposition; malloc'd. */
char *metrics_render(struct metrics *m, const struct http_route *routes, size_t nroutes, size_t waiters);

#endif
