/*
 * bl.h — bench_load, the C load generator of `make bench` (bench/README.md,
 * docs/performance.md): what its parts share.
 *
 * The generator starts its own servers (sleuteld through the `sleutel`
 * CLI, the npm oidc-provider peer through node) on 127.0.0.1 with free
 * ports, drives them from C for a bounded time and count, and reports per
 * figure the rate and the SERVER's CPU per operation: utime + stime of the
 * server's process from /proc/PID/stat before and after the timed window,
 * divided by the operations completed in it.  CPU per operation does not
 * depend on how busy the shared 2-core machine is; the rate does.
 *
 * Logins are driven by W worker threads, each a blocking libcurl easy
 * handle per origin with kept-alive connections (one simulated browser per
 * thread at a time); the waiters scenario uses raw sockets and epoll,
 * where libcurl would be the limit.
 */
#ifndef BL_H
#define BL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

#define BL_URL_MAX 2048
#define BL_COOKIES 16 /* cookies a simulated browser keeps */
#define BL_COOKIE_MAX 1024 /* bytes of one name=value */
#define BL_BODY_MAX ((size_t)1 << 20) /* bytes of an answer kept */
#define BL_LAT_MAX 1000000 /* latencies kept per figure */
#define BL_NODES_MAX 16 /* sleuteld nodes of one installation */

/* ---- options (main.c) ---- */
struct bl_opts {
	const char *o_build; /* the build directory: sleutel, sleuteld */
	const char *o_root; /* the source tree: bench/peer, tests/node_modules */
	const char *o_out; /* the JSON results file */
	const char *o_engine; /* "sqlite" or "postgresql" (scenario 5) */
	int o_nodes; /* sleuteld nodes (scenario 5) */
	bool o_proxy; /* the app scenario behind a TLS-terminating proxy (plain HTTP) */
	bool o_hint; /* the app scenario's RP sends the number as login_hint */
	double o_seconds; /* per timed figure */
	int o_workers; /* concurrent simulated browsers */
	long o_max; /* operations per figure at most */
	long o_waiters; /* browsers and phones each in the waiters scenario */
	int o_addrs; /* source addresses 127.0.0.x of the waiters */
	char o_ca[512]; /* the test CA directory (sleutel init --ca) */
	char o_conninfo[512]; /* not empty: servers are made with sleutel init --postgresql (pgnodes.c) */
	char o_tmp[256]; /* this run's temp directory */
};

/* ---- processes and /proc (proc.c) ---- */
/* A free TCP port on 127.0.0.1 (bound and released). */
int bl_free_port(void);
/* Run argv to completion; its stdout (malloc'd, NUL-terminated) in *out
 * when out is not NULL.  0 when it exited 0. */
int bl_run(char *const argv[], char **out);
/* Start argv in the background, stdout and stderr to `log` (NULL: inherit);
 * `in_pipe` not NULL: its stdin is a pipe whose write end is returned
 * there (closing it tells the child the bench is gone). */
pid_t bl_spawn(char *const argv[], const char *log, int *in_pipe);
/* SIGTERM, then wait at most `secs` (then SIGKILL).  Exit status or -1. */
int bl_stop(pid_t pid, int secs);
/* utime + stime of a process (all its threads) in seconds; -1 on error. */
double bl_cpu(pid_t pid);
/* Of that, the children's (sleuteld's key holder). */
double bl_cpu_children(pid_t pid);
/* VmRSS in KiB; -1 on error. */
long bl_rss_kib(pid_t pid);
/* Open fds of a process; -1 on error. */
long bl_fds(pid_t pid);
/* Monotonic seconds. */
double bl_now(void);
/* Raise RLIMIT_NOFILE to the hard limit (or `want`); the soft limit. */
long bl_raise_nofile(long want);

/* ---- a simulated browser over libcurl easy (http.c) ---- */
struct bl_http {
	CURL *h_curl;
	char h_cookies[BL_COOKIES][BL_COOKIE_MAX]; /* name=value, set by answers */
	int h_ncookies;
	char h_location[BL_URL_MAX]; /* Location of the last answer, "" when none */
	char *h_body; /* body of the last answer (NUL-terminated) */
	size_t h_len;
	long h_status;
	const char *h_xff; /* X-Forwarded-For to send (behind the proxy config), or NULL */
	struct curl_slist *h_extra; /* more headers for the next request only */
	struct curl_slist *h_connect_to; /* bl_http_connect_to's mapping, or NULL */
};

int bl_http_init(struct bl_http *h, const char *ca_file);
void bl_http_free(struct bl_http *h);
void bl_http_forget_cookies(struct bl_http *h);
/* The client-side load balancer: requests to `origin`'s host:port connect
 * to `node`'s (both scheme://host:port...) with the URL, Host and TLS name
 * unchanged — several nodes behind one issuer (DPoP's htu is the issuer's
 * URL).  Nothing to map when they are the same.  0, or -1 when either is
 * not scheme://host:port. */
int bl_http_connect_to(struct bl_http *h, const char *origin, const char *node);
/* host and port of `url` (scheme://host:port/...); 0 or -1. */
int bl_origin(const char *url, char *host, size_t size, int *port);
/* GET (form NULL) or POST of `form` (urlencoded) to `url`, no redirects
 * followed.  `basic` "id:secret" for HTTP Basic or NULL.  The status, or
 * -1 when the transfer failed. */
long bl_http_req(struct bl_http *h, const char *url, const char *form, const char *basic);
/* An attribute of the last body (`name="VALUE"`) with &amp; undone. */
int bl_attr(const char *html, const char *name, char *out, size_t size);
/* All hidden inputs of the last body as a urlencoded form (malloc'd). */
char *bl_hidden_form(const char *html);
/* The query parameter `name` of a URL, percent-decoded. */
int bl_query(const char *url, const char *name, char *out, size_t size);
/* `loc` made absolute on `base` (scheme://host:port), its https issuer
 * replaced by `base` when the server is behind the proxy config. */
void bl_abs(const char *base, const char *loc, char *out, size_t size);
/* A PKCE pair: verifier and S256 challenge (base64url). */
void bl_pkce(char verifier[64], char challenge[64]);
/* The authorization URL of `client_id` at `authz` (full endpoint URL). */
void bl_authorize_url(
	const char *authz, const char *client_id, const char *challenge, const char *scope, char *out, size_t size);
/* The RP's token exchange for the code in `back`: 1 when it gave an ID
 * token, 0 otherwise. */
int bl_token(struct bl_http *h, const char *token_url, const char *basic, const char *back, const char *verifier);

/* ---- a login's way (flow.c) ---- */
/* The form to answer on a page at `url`: its fields (malloc'd, urlencoded)
 * and where to POST them in `action`; NULL when the page is not expected. */
typedef char *(*bl_form_fn)(const char *url, const char *html, char *action, size_t size);
/* Follow the browser from `first` until it is back at the RP, answering
 * forms with `form_for` (NULL: none expected): the RP URL in `back`, 0;
 * -1 when it went astray. */
int bl_browse(struct bl_http *h, const char *base, const char *first, bl_form_fn form_for, char *back, size_t size);
/* sleuteld's forms: the test key's (a fixed person) and consent (shared). */
char *bl_sleutel_form(const char *url, const char *html, char *action, size_t size);

/* ---- a sleuteld started for a scenario (server.c) ---- */
struct bl_server {
	char s_dir[512];
	char s_build[512]; /* where sleuteld is */
	char s_config[BL_URL_MAX];
	char s_base[256]; /* where the bench connects: http(s)://127.0.0.1:port */
	char s_issuer[256];
	char s_eid_base[256];
	char s_ca_file[BL_URL_MAX]; /* the TLS CA's PEM */
	int s_port, s_eid_port, s_pki_port, s_metrics_port;
	pid_t s_pid;
	bool s_tls;
};

/* `sleutel init` in a fresh directory of opts->o_tmp (`demo`: with the demo
 * PKI), the `extra` INI lines appended (later keys win), started, ready. */
int bl_server_start(
	const struct bl_opts *o, const char *name, bool demo, bool tls, const char *extra, struct bl_server *s);
/* Another node of `first`'s installation (the same directory, keys and
 * database; only its ports differ, in its own copy of sleutel.ini named
 * `name`), started and ready. */
int bl_server_twin(const struct bl_server *first, const char *name, const char *extra, struct bl_server *s);
/* `sleutel client add --json`: client_id and client_secret. */
int bl_server_client(const struct bl_opts *o, const struct bl_server *s, char id[128], char secret[128]);
/* Run the CLI on this server's config: argv after `--config FILE`. */
int bl_server_cli(const struct bl_opts *o, const struct bl_server *s, const char *const *args, char **out);
void bl_server_stop(struct bl_server *s);
/* The pids whose CPU a figure on `n` nodes counts: the nodes', then
 * `extra`'s (the database server's); their number in *np, or -1 when more
 * than `max`. */
int bl_node_pids(const struct bl_server *nodes, int n, const pid_t *extra, int nextra, pid_t *out, int max);
/* A scenario's body on a server started for it (bl_server_start's
 * arguments) and stopped after it. */
typedef int (*bl_server_fn)(const struct bl_opts *o, struct bl_server *s, json_t *out);
int bl_with_server(const struct bl_opts *o, const char *name, bool demo, bool tls, const char *extra, bl_server_fn body,
	json_t *out);
/* Stop, append `extra` INI lines (tls: [server] tls on or off), start
 * again on the same directory and database. */
int bl_server_restart(struct bl_server *s, bool tls, const char *extra);

/* ---- the TLS library alone (tlsref.c) ---- */
struct bl_tlsref {
	const char *tr_cert, *tr_key; /* PEM files */
	const char *tr_priorities; /* GnuTLS priority string */
	bool tr_request_cert; /* ask for a client certificate (the eID origin does) */
	bool tr_tickets; /* session tickets: clients may resume */
};
/* A minimal GnuTLS server in a child process on a free loopback port:
 * its pid (bl_stop it), the port in *port. */
pid_t bl_tlsref_start(const struct bl_tlsref *t, int *port);
/* Open a TLS connection to `port`, send the ClientHello, then stay silent
 * for `secs`: the CPU of `pid` meanwhile in cores (1.0 = one core busy);
 * -1 on error. */
double bl_tls_stall(int port, double secs, pid_t pid);

/* ---- the timed worker loop (run.c) ---- */
struct bl_lat {
	double *l_ms;
	size_t l_n, l_cap;
};
void bl_lat_add(struct bl_lat *l, double ms);
/* The p-th quantile in ms (sorts), or -1 when empty. */
double bl_lat_pct(struct bl_lat *l, double p);
void bl_lat_free(struct bl_lat *l);

/* One operation of worker `w`: 1 done, 0 failed. */
typedef int (*bl_op_fn)(void *ctx, int w, struct bl_lat *aux);

struct bl_result {
	const char *r_scenario;
	char r_what[96];
	long r_done, r_failed;
	double r_seconds, r_rate;
	double r_cpu_us; /* server CPU per operation in µs */
	double r_p50, r_p99, r_p999; /* of each operation, ms */
	double r_aux50, r_aux99, r_aux999; /* confirm→resume, ms; -1 when none */
	double r_extra; /* a scenario's own figure (waiters: RSS KiB) */
	int r_split; /* > 0: the pids from this index on (the database server's) are also counted apart */
	double r_cpu_split_us; /* their CPU per operation in µs (r_split > 0) */
	double r_cpu_kids_us; /* of r_cpu_us, the sleuteld nodes' children's (the key holders') */
};

/* Run op on `workers` threads for opts->o_seconds (at most o_max ops),
 * measuring the CPU of `pids` (n of them) over the window; r->r_split set
 * beforehand also gives the share of pids[r_split..n). */
int bl_run_timed(
	const struct bl_opts *o, int workers, bl_op_fn op, void *ctx, const pid_t *pids, int n, struct bl_result *r);

/* ---- scenarios ---- */
struct sapp;
/* Enrol phone `i` (+3247..., libsleutel-app with a cheap scrypt cost, its
 * state file in the server's directory) on a server with TLS and the SMS
 * outbox; its normalised number in `number`. */
int bl_phone_enrol(const struct bl_opts *o, const struct bl_server *s, int i, struct sapp **phone, char number[17]);

int bl_trivial(const struct bl_opts *o, json_t *out);
/* Trivial logins on `n` running nodes of one database (plain HTTP behind
 * the proxy config): worker w logs in on node w % n and redeems its code on
 * the next node; the CPU counted is the nodes' and `extra`'s (the database
 * server's processes). */
int bl_trivial_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const pid_t *extra, int nextra,
	struct bl_result *r);
/* Scenario 5: trivial, app and eID logins on PostgreSQL, one node and
 * o_nodes nodes (pgnodes.c). */
int bl_pgnodes(const struct bl_opts *o, json_t *out);
int bl_app(const struct bl_opts *o, json_t *out);
/* The app scenario's INI lines (rate limits out of the way, the SMS outbox). */
extern const char bl_app_conf[];
/* App logins on `n` running nodes with TLS (n = 1: one server), every URL
 * on `origin` (the nodes' issuer, or the one node's own base): worker w's
 * browser on node w % n, its phone (enrolled there first) and the RP on
 * node (w + 1) % n; the CPU counted is the nodes' and `extra`'s. */
int bl_app_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const char *origin, const pid_t *extra,
	int nextra, struct bl_result *r);
int bl_eid(const struct bl_opts *o, json_t *out);
/* The eID scenario's INI lines (the eID key offered). */
extern const char bl_eid_conf[];
/* eID logins on `n` running nodes with TLS and the demo PKI, the portal's
 * URLs on `origin` and the eID origin's on `eid_origin` (the nodes' public
 * URLs): worker w's browser on node w % n, the card's new client-cert
 * handshake and the RP on node (w + 1) % n; the CPU counted is the nodes'
 * and `extra`'s. */
int bl_eid_nodes(const struct bl_opts *o, const struct bl_server *nodes, int n, const char *origin,
	const char *eid_origin, const pid_t *extra, int nextra, struct bl_result *r);
int bl_waiters(const struct bl_opts *o, json_t *out);

/* ---- output (main.c) ---- */
void bl_report(json_t *out, const struct bl_result *r);

#endif
