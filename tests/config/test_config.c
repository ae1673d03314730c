/*
 * test_config.c — config_load on INI files written to a temporary
 * directory: defaults, path resolution, and every kind of refusal, each
 * with a message that names what is wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../src/config/config.h"
#include "../lib/testutil.h"

/* The smallest configuration that loads: eID off, so no eID certificates. */
#define SERVER "[server]\nissuer = https://id.example\ntls_cert = tls/cert.pem\ntls_key = tls/key.pem\n"
#define EID_OFF "[eid]\nenabled = false\n"
#define MINIMAL SERVER EID_OFF

struct fixture {
	char *fx_dir;
	char *fx_path; /* <dir>/sleutel.ini */
};

static int
fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->fx_dir = tu_tmpdir("sl-test-config");
	if (fx->fx_dir == NULL)
		return -1;
	fx->fx_path = tu_path(fx->fx_dir, "sleutel.ini");
	if (fx->fx_path == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	tu_rm_tree(fx->fx_dir);
	free(fx->fx_dir);
	free(fx->fx_path);
	free(fx);
	return 0;
}

static void
write_text(const char *path, const char *text)
{
	assert_int_equal(tu_write_text(path, text), 0);
}

/* Load `text` and require success. */
static struct sl_config *
load_ok(struct fixture *fx, const char *text)
{
	struct sl_err err = { 0 };
	struct sl_config *conf;

	write_text(fx->fx_path, text);
	conf = config_load(fx->fx_path, &err);
	if (conf == NULL)
		fail_msg("config_load refused a valid file: %s", err.msg);
	return conf;
}

/* Load `text` and require a refusal whose message contains `needle`. */
static void
load_refused(struct fixture *fx, const char *text, const char *needle)
{
	struct sl_err err = { 0 };
	struct sl_config *conf;

	write_text(fx->fx_path, text);
	conf = config_load(fx->fx_path, &err);
	if (conf != NULL) {
		config_free(conf);
		fail_msg("config_load accepted:\n%s", text);
	}
	assert_true(err.code < 0);
	assert_true(strlen(err.msg) > 0);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", err.msg, needle);
}

/* ---- the app key: [app], [sms], [ciba], [bank.<id>] ---- */

#define BANK(id, issuer) "[bank." id "]\nname = Bank " id "\nissuer = " issuer "\nclient_id = sl\nclient_secret = s\n"

static void
test_app_defaults_and_values(void **state)
{
	struct sl_config *conf = load_ok(*state, MINIMAL);

	assert_int_equal(conf->c_app_request_lifetime, 180);
	assert_int_equal(conf->c_app_max_pending, 3);
	assert_int_equal(conf->c_app_sms_attempts, 3);
	assert_int_equal(conf->c_app_sms_code_lifetime, 600);
	assert_int_equal(conf->c_app_enrollment_lifetime, 1800);
	assert_int_equal(conf->c_app_qr_rotate, 5);
	assert_string_equal(conf->c_app_default_country, "32");
	assert_string_equal(conf->c_sms_driver, "outbox");
	assert_int_equal(conf->c_nbanks, 0);
	config_free(conf);
	conf = load_ok(*state,
		MINIMAL "[app]\nrequest_lifetime = 60\nmax_pending = 1\npush_url = https://push.example/w\n"
			"qr_rotate_seconds = 60\n"
			"[sms]\ndriver = webhook\nwebhook_url = https://sms.example/send\nwebhook_retries = 0\n"
			"[ciba]\ninterval = 2\n");
	assert_int_equal(conf->c_app_request_lifetime, 60);
	assert_int_equal(conf->c_app_max_pending, 1);
	assert_int_equal(conf->c_app_qr_rotate, 60);
	assert_string_equal(conf->c_app_push_url, "https://push.example/w");
	assert_string_equal(conf->c_sms_driver, "webhook");
	assert_int_equal(conf->c_sms_webhook_retries, 0);
	assert_int_equal(conf->c_ciba_interval, 2);
	config_free(conf);
}

static void
test_app_limits_refused(void **state)
{
	load_refused(*state, MINIMAL "[app]\nrequest_lifetime = 29\n", "request_lifetime");
	load_refused(*state, MINIMAL "[app]\nmax_pending = 0\n", "max_pending");
	load_refused(*state, MINIMAL "[app]\nqr_rotate_seconds = 0\n", "qr_rotate_seconds");
	load_refused(*state, MINIMAL "[app]\nqr_rotate_seconds = 61\n", "qr_rotate_seconds");
	load_refused(*state, MINIMAL "[app]\nsms_attempts = 11\n", "sms_attempts");
	load_refused(*state, MINIMAL "[app]\ndefault_country = +32\n", "default_country");
	load_refused(*state, MINIMAL "[app]\ndefault_country = 1234\n", "default_country");
	load_refused(*state, MINIMAL "[sms]\ndriver = carrier-pigeon\n", "driver");
	load_refused(*state, MINIMAL "[app]\npush_url = http://push.example/\n", "push_url");
	load_refused(*state, MINIMAL "[sms]\ndriver = webhook\n", "webhook_url");
	load_refused(*state, MINIMAL "[sms]\ndriver = webhook\nwebhook_url = http://sms.example/\n", "webhook_url");
	load_refused(*state, MINIMAL "[sms]\ndriver = webhook\nwebhook_url = http://127.0.0.1.sms.example/\n",
		"webhook_url");
	load_refused(*state, MINIMAL "[sms]\ndriver = webhook\nwebhook_url = http://127.0.0.1:80@sms.example/\n",
		"webhook_url");
	load_refused(*state, MINIMAL "[ciba]\nmax_expiry = 5\n", "max_expiry");
}

static void
test_banks_read(void **state)
{
	struct sl_config *conf =
		load_ok(*state, MINIMAL BANK("kbc", "https://bank.example") "scope = openid rrn\n"
									    "claim_rrn = nationalNumber\n" BANK(
										    "demo", "http://127.0.0.1:8090"));

	assert_int_equal(conf->c_nbanks, 2);
	assert_string_equal(conf->c_banks[0].bk_id, "kbc");
	assert_string_equal(conf->c_banks[0].bk_name, "Bank kbc");
	assert_string_equal(conf->c_banks[0].bk_scope, "openid rrn");
	assert_string_equal(conf->c_banks[0].bk_claim_rrn, "nationalNumber");
	assert_string_equal(conf->c_banks[0].bk_claim_given_name, "given_name");
	assert_string_equal(conf->c_banks[1].bk_issuer, "http://127.0.0.1:8090");
	assert_string_equal(conf->c_banks[1].bk_scope, "openid profile");
	config_free(conf);
}

static void
test_banks_refused(void **state)
{
	load_refused(*state, MINIMAL "[bank.Big Bank]\nname = x\n", "bank id");
	load_refused(*state, MINIMAL "[bank.]\nname = x\n", "bank id");
	load_refused(*state, MINIMAL "[bank.kbc]\nname = KBC\nissuer = https://b.example\n", "client_id");
	load_refused(*state, MINIMAL BANK("kbc", "http://bank.example"), "issuer");
	load_refused(*state, MINIMAL BANK("kbc", "http://127.0.0.1.bank.example"), "issuer");
	load_refused(*state, MINIMAL BANK("kbc", "https://b.example") "colour = blue\n", "colour");
	load_refused(*state,
		MINIMAL BANK("a", "https://a.example") BANK("b", "https://b.example") BANK("c", "https://c.example")
			BANK("d", "https://d.example") BANK("e", "https://e.example") BANK("f", "https://f.example")
				BANK("g", "https://g.example") BANK("h", "https://h.example")
					BANK("i", "https://i.example"),
		"at most 8");
}

/* ---- accepted files ---- */

static void
test_minimal_file_gives_defaults(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx, MINIMAL);
	char *p;

	assert_string_equal(conf->c_path, fx->fx_path);
	assert_string_equal(conf->c_basedir, fx->fx_dir);
	assert_string_equal(conf->c_issuer, "https://id.example");
	assert_string_equal(conf->c_portal.lc_listen, "127.0.0.1");
	assert_int_equal(conf->c_portal.lc_port, 8443);
	assert_true(conf->c_portal.lc_tls);
	assert_int_equal(conf->c_threads, 0);
	assert_int_equal(conf->c_max_connections, 4096);
	assert_int_equal(conf->c_per_ip_connections, 0);
	assert_int_equal(conf->c_connection_memory, 32768);
	assert_int_equal(conf->c_connection_timeout, 60);
	assert_int_equal(conf->c_max_body, 65536);
	assert_int_equal(conf->c_max_query, 8192);
	assert_int_equal(conf->c_max_cookie, 4096);
	assert_int_equal(conf->c_max_params, 64);
	assert_int_equal(conf->c_shutdown_grace, 10);
	assert_int_equal(conf->c_outbound_threads, 16);
	assert_int_equal(conf->c_outbound_queue, 1024);
	assert_int_equal(conf->c_bank_timeout, 10);
	assert_int_equal(conf->c_ciba_ping_timeout, 5);
	assert_int_equal(conf->c_app_push_timeout, 5);
	assert_string_equal(conf->c_trusted_proxies, "");
	assert_false(conf->c_eid_enabled);
	assert_int_equal(conf->c_eid.lc_port, 8444);
	assert_string_equal(conf->c_store_engine, "sqlite");
	assert_int_equal(conf->c_store_busy_timeout_ms, 5000);
	assert_int_equal(conf->c_store_pool, 0);
	assert_int_equal(conf->c_keys_reload, 30);
	assert_int_equal(conf->c_code_lifetime, 60);
	assert_int_equal(conf->c_access_token_lifetime, 600);
	assert_int_equal(conf->c_id_token_lifetime, 600);
	assert_int_equal(conf->c_refresh_token_lifetime, 2592000);
	assert_int_equal(conf->c_request_lifetime, 900);
	assert_int_equal(conf->c_par_lifetime, 60);
	assert_int_equal(conf->c_session_lifetime, 28800);
	assert_int_equal(conf->c_clock_skew, 60);
	assert_int_equal(conf->c_max_redirect_uris, 10);
	assert_int_equal(conf->c_portal_keys, SL_KEY_EID | SL_KEY_APP | SL_KEY_SMARTID);
	assert_string_equal(conf->c_default_language, "nl");
	assert_string_equal(conf->c_data_dir, config_default_data_dir());
	assert_int_equal(conf->c_waiter_timeout, 25);
	assert_int_equal(conf->c_max_waiters, 100000);
	assert_int_equal(conf->c_log_level, SL_LOG_INFO);

	/* Default paths live next to the configuration file. */
	p = tu_path(fx->fx_dir, "sleutel.db");
	assert_string_equal(conf->c_store_path, p);
	free(p);
	p = tu_path(fx->fx_dir, "keys");
	assert_string_equal(conf->c_keys_dir, p);
	free(p);
	config_free(conf);
}

static void
test_values_are_read(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx, "[server]\n"
					     "issuer = https://id.example/realm\n"
					     "listen = ::1\n"
					     "port = 9443\n"
					     "tls = false\n"
					     "max_body = 1024\n"
					     "trusted_proxies = 10.0.0.1, 10.0.0.2\n"
					     "[eid]\n"
					     "enabled = no\n"
					     "[oidc]\n"
					     "code_lifetime = 5\n"
					     "session_lifetime = 604800\n"
					     "[portal]\n"
					     "keys = eid, app\n"
					     "default_language = fr\n"
					     "waiter_timeout = 300\n"
					     "[log]\n"
					     "level = debug\n");

	assert_string_equal(conf->c_issuer, "https://id.example/realm");
	assert_string_equal(conf->c_portal.lc_listen, "::1");
	assert_int_equal(conf->c_portal.lc_port, 9443);
	assert_false(conf->c_portal.lc_tls);
	assert_int_equal(conf->c_max_body, 1024);
	assert_string_equal(conf->c_trusted_proxies, "10.0.0.1, 10.0.0.2");
	assert_int_equal(conf->c_code_lifetime, 5);
	assert_int_equal(conf->c_session_lifetime, 604800);
	assert_int_equal(conf->c_portal_keys, SL_KEY_EID | SL_KEY_APP);
	assert_string_equal(conf->c_default_language, "fr");
	assert_int_equal(conf->c_waiter_timeout, 300);
	assert_int_equal(conf->c_log_level, SL_LOG_DEBUG);
	config_free(conf);
}

static void
test_relative_paths_resolve_against_file_dir(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	struct sl_config *conf;
	char *etc = tu_path(fx->fx_dir, "etc"), *ini, *want;

	assert_int_equal(mkdir(etc, 0700), 0);
	ini = tu_path(etc, "sleutel.ini");
	write_text(ini, "[server]\n"
			"issuer = https://id.example\n"
			"tls_cert = certs/cert.pem\n"
			"tls_key = /abs/key.pem\n"
			"[eid]\n"
			"enabled = false\n"
			"[store]\n"
			"path = db/sleutel.db\n"
			"[keys]\n"
			"dir = signing\n"
			"[portal]\n"
			"data_dir = share\n");
	conf = config_load(ini, &err);
	if (conf == NULL)
		fail_msg("refused: %s", err.msg);
	assert_string_equal(conf->c_basedir, etc);
	want = tu_path(etc, "certs/cert.pem");
	assert_string_equal(conf->c_portal.lc_tls_cert, want);
	free(want);
	assert_string_equal(conf->c_portal.lc_tls_key, "/abs/key.pem");
	want = tu_path(etc, "db/sleutel.db");
	assert_string_equal(conf->c_store_path, want);
	free(want);
	want = tu_path(etc, "signing");
	assert_string_equal(conf->c_keys_dir, want);
	free(want);
	want = tu_path(etc, "share");
	assert_string_equal(conf->c_data_dir, want);
	free(want);
	config_free(conf);
	free(ini);
	free(etc);
}

static void
test_eid_without_anchors_refused(void **state)
{
	load_refused(*state,
		"[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\n"
		"[eid]\ntls_cert = c\ntls_key = k\npublic_url = https://eid.example\n",
		"trust_anchors");
}

static void
test_eid_without_client_ca_refused(void **state)
{
	/* Without the CA names the TLS server sends no certificate request. */
	load_refused(*state,
		"[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\n"
		"[eid]\ntls_cert = c\ntls_key = k\ntrust_anchors = a\npublic_url = https://eid.example\n",
		"client_ca");
}

/* The commented sample in data/ is a configuration sleuteld accepts. */
static void
test_sample_file_loads(void **state)
{
	struct sl_err err = { 0 };
	struct sl_config *conf;

	(void)state;
	conf = config_load(SL_TEST_SRCDIR "/data/sleutel.ini.sample", &err);
	if (conf == NULL)
		fail_msg("data/sleutel.ini.sample refused: %s", err.msg);
	assert_string_equal(conf->c_issuer, "https://login.example.be");
	assert_true(conf->c_eid_enabled);
	assert_false(conf->c_eid_fail_open);
	assert_int_equal(conf->c_max_body, 65536);
	config_free(conf);
}

static void
test_eid_plain_needs_proxy(void **state)
{
	load_refused(*state,
		"[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\n"
		"[eid]\ntls = false\ntrust_anchors = a\npublic_url = https://eid.example\n",
		"trusted_proxies");
}

static void
test_eid_enabled_with_certificates(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx, "[server]\n"
					     "issuer = https://id.example\n"
					     "tls_cert = tls/cert.pem\n"
					     "tls_key = tls/key.pem\n"
					     "[eid]\n"
					     "tls_cert = eid/cert.pem\n"
					     "tls_key = eid/key.pem\n"
					     "client_ca = eid/ca.pem\n"
					     "trust_anchors = eid/roots.pem\n"
					     "intermediates = eid/cas.pem\n"
					     "public_url = https://eid.example:8444\n");
	char *want = tu_path(fx->fx_dir, "eid/ca.pem"), *anchors = tu_path(fx->fx_dir, "eid/roots.pem");

	assert_true(conf->c_eid_enabled);
	assert_string_equal(conf->c_eid_anchors, anchors);
	assert_true(conf->c_eid_ocsp);
	assert_true(conf->c_eid_crl);
	assert_false(conf->c_eid_fail_open);
	assert_int_equal(conf->c_eid_timeout, 5);
	assert_string_equal(conf->c_eid_proxy_header, "X-SSL-Client-Cert");
	assert_true(conf->c_eid_webeid);
	assert_int_equal(conf->c_eid_webeid_lifetime, 300);
	free(anchors);
	assert_true(conf->c_eid.lc_tls);
	assert_string_equal(conf->c_eid.lc_client_ca, want);
	assert_string_equal(conf->c_eid.lc_public_url, "https://eid.example:8444");
	free(want);
	config_free(conf);
}

static void
test_portal_test_key_accepted(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx, MINIMAL "[portal]\nkeys = test\n");

	assert_int_equal(conf->c_portal_keys, SL_KEY_TEST);
	config_free(conf);
	conf = load_ok(fx, MINIMAL "[portal]\nkeys = eid,test , smartid\n");
	assert_int_equal(conf->c_portal_keys, SL_KEY_EID | SL_KEY_TEST | SL_KEY_SMARTID);
	config_free(conf);
}

static void
test_comments_and_blank_lines(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx,
		"; sleutel configuration\n# another comment\n\n" MINIMAL "[oidc]\ncode_lifetime = 120 ; two minutes\n");

	assert_int_equal(conf->c_code_lifetime, 120);
	config_free(conf);
}

/* ---- refusals ---- */

static void
test_unknown_key_refused(void **state)
{
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetme = 60\n", "code_lifetme");
}

static void
test_unknown_section_refused(void **state)
{
	load_refused(*state, MINIMAL "[oauth]\ncode_lifetime = 60\n", "oauth");
}

static void
test_key_in_wrong_section_refused(void **state)
{
	load_refused(*state, MINIMAL "[server]\ncode_lifetime = 60\n", "code_lifetime");
}

static void
test_number_out_of_range_refused(void **state)
{
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime = 601\n", "code_lifetime");
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime = 4\n", "code_lifetime");
	load_refused(*state, MINIMAL "[server]\nport = 0\n", "port");
	load_refused(*state, MINIMAL "[server]\nport = 65536\n", "port");
	load_refused(*state, MINIMAL "[server]\nmax_body = -1\n", "max_body");
	load_refused(*state, MINIMAL "[portal]\nwaiter_timeout = 99999999999999999999\n", "waiter_timeout");
	load_refused(*state, MINIMAL "[eid]\nwebeid_challenge_lifetime = 4\n", "webeid_challenge_lifetime");
	load_refused(*state, MINIMAL "[eid]\nwebeid_challenge_lifetime = 601\n", "webeid_challenge_lifetime");
	load_refused(*state, MINIMAL "[proofing]\nbank_timeout = 0\n", "bank_timeout");
	load_refused(*state, MINIMAL "[proofing]\nbank_timeout = 61\n", "bank_timeout");
	load_refused(*state, MINIMAL "[outbound]\nthreads = 0\n", "threads");
	load_refused(*state, MINIMAL "[outbound]\nqueue = 100001\n", "queue");
	load_refused(*state, MINIMAL "[ciba]\nping_timeout = 0\n", "ping_timeout");
	load_refused(*state, MINIMAL "[app]\npush_timeout = 61\n", "push_timeout");
}

/* connection_memory: 4096 (one page, what a node with 100 000 long-polls
 * sets) is the floor, 1 MiB the ceiling. */
static void
test_connection_memory_bounds(void **state)
{
	struct fixture *fx = *state;
	struct sl_config *conf = load_ok(fx, MINIMAL "[server]\nconnection_memory = 4096\n");

	assert_int_equal(conf->c_connection_memory, 4096);
	config_free(conf);
	conf = load_ok(fx, MINIMAL "[server]\nconnection_memory = 1048576\n");
	assert_int_equal(conf->c_connection_memory, 1048576);
	config_free(conf);
	load_refused(fx, MINIMAL "[server]\nconnection_memory = 4095\n", "connection_memory");
	load_refused(fx, MINIMAL "[server]\nconnection_memory = 1048577\n", "connection_memory");
}

static void
test_not_a_number_refused(void **state)
{
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime = sixty\n", "code_lifetime");
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime = 60s\n", "code_lifetime");
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime = 6.0\n", "code_lifetime");
	load_refused(*state, MINIMAL "[server]\nmax_body = 0x10000\n", "max_body");
	load_refused(*state, MINIMAL "[oidc]\ncode_lifetime =\n", "code_lifetime");
}

static void
test_bad_boolean_refused(void **state)
{
	load_refused(*state, MINIMAL "[server]\ntls = maybe\n", "tls");
	load_refused(*state,
		"[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\n"
		"[eid]\nenabled = TRUE!\n",
		"enabled");
}

static void
test_http_issuer_refused(void **state)
{
	load_refused(*state,
		"[server]\nissuer = http://id.example\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n", "issuer");
}

static void
test_issuer_with_trailing_slash_refused(void **state)
{
	load_refused(*state,
		"[server]\nissuer = https://id.example/\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n",
		"issuer");
	load_refused(
		*state, "[server]\nissuer = https://\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n", "issuer");
}

static void
test_long_issuer_refused(void **state)
{
	char text[1024];

	snprintf(text, sizeof(text),
		"[server]\nissuer = https://%0*d.ex\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n",
		SL_ISSUER_MAX - 10, 0); /* 8 + 150 + 3 = one past the limit */
	load_refused(*state, text, "longer than 160");
	snprintf(text, sizeof(text),
		"[server]\nissuer = https://%0*d\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n",
		SL_ISSUER_MAX - 8, 0);
	config_free(load_ok(*state, text));
}

static void
test_missing_issuer_refused(void **state)
{
	load_refused(*state, "[server]\ntls_cert = c\ntls_key = k\n[eid]\nenabled = false\n", "issuer");
}

static void
test_issuer_with_query_or_fragment_refused(void **state)
{
	/* OpenID Connect Discovery 1.0 §3: no query or fragment components. */
	load_refused(*state,
		"[server]\nissuer = https://id.example?tenant=a\ntls_cert = c\ntls_key = k\n"
		"[eid]\nenabled = false\n",
		"issuer");
	load_refused(*state,
		"[server]\nissuer = https://id.example#top\ntls_cert = c\ntls_key = k\n"
		"[eid]\nenabled = false\n",
		"issuer");
}

static void
test_missing_file_refused(void **state)
{
	struct fixture *fx = *state;
	struct sl_err err = { 0 };
	char *path = tu_path(fx->fx_dir, "nonexistent.ini");

	assert_null(config_load(path, &err));
	assert_int_equal(err.code, SL_EIO);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

static void
test_portal_bogus_key_refused(void **state)
{
	load_refused(*state, MINIMAL "[portal]\nkeys = bogus\n", "keys");
	load_refused(*state, MINIMAL "[portal]\nkeys = eid, bogus\n", "bogus");
}

static void
test_tls_without_cert_refused(void **state)
{
	load_refused(
		*state, "[server]\nissuer = https://id.example\ntls_key = k\n[eid]\nenabled = false\n", "tls_cert");
	load_refused(
		*state, "[server]\nissuer = https://id.example\ntls_cert = c\n[eid]\nenabled = false\n", "tls_key");
}

static void
test_tls_with_empty_cert_refused(void **state)
{
	/* "tls_cert =" names no file: as required as leaving the key out. */
	load_refused(*state, "[server]\nissuer = https://id.example\ntls_cert =\ntls_key = k\n[eid]\nenabled = false\n",
		"tls_cert");
}

static void
test_empty_required_paths_refused(void **state)
{
	/* Each has a default; an empty value must not leave it unset, which
	 * would put the database, the keys or the templates wherever the
	 * daemon happens to run. */
	load_refused(*state, MINIMAL "[store]\npath =\n", "path");
	load_refused(*state, MINIMAL "[keys]\ndir =\n", "dir");
	load_refused(*state, MINIMAL "[portal]\ndata_dir =\n", "data_dir");
}

static void
test_eid_without_cert_refused(void **state)
{
	load_refused(*state, "[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\n", "[eid]");
}

static void
test_eid_same_port_refused(void **state)
{
	load_refused(*state,
		"[server]\nissuer = https://id.example\ntls_cert = c\ntls_key = k\nport = 9000\n"
		"[eid]\ntls_cert = c\ntls_key = k\nport = 9000\n",
		"port");
}

static void
test_bad_language_refused(void **state)
{
	load_refused(*state, MINIMAL "[portal]\ndefault_language = es\n", "default_language");
}

static void
test_bad_log_level_refused(void **state)
{
	load_refused(*state, MINIMAL "[log]\nlevel = loud\n", "level");
}

static void
test_other_store_engine_refused(void **state)
{
	load_refused(*state, MINIMAL "[store]\nengine = postgres\n", "engine");
}

static void
test_syntax_error_refused(void **state)
{
	load_refused(*state, MINIMAL "this line is not a key\n", "line 7");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_minimal_file_gives_defaults),
		T(test_values_are_read),
		T(test_relative_paths_resolve_against_file_dir),
		T(test_eid_without_anchors_refused),
		T(test_eid_plain_needs_proxy),
		T(test_sample_file_loads),
		T(test_eid_without_client_ca_refused),
		T(test_eid_enabled_with_certificates),
		T(test_portal_test_key_accepted),
		T(test_comments_and_blank_lines),
		T(test_unknown_key_refused),
		T(test_unknown_section_refused),
		T(test_key_in_wrong_section_refused),
		T(test_number_out_of_range_refused),
		T(test_connection_memory_bounds),
		T(test_not_a_number_refused),
		T(test_bad_boolean_refused),
		T(test_http_issuer_refused),
		T(test_issuer_with_trailing_slash_refused),
		T(test_long_issuer_refused),
		T(test_missing_issuer_refused),
		T(test_issuer_with_query_or_fragment_refused),
		T(test_missing_file_refused),
		T(test_portal_bogus_key_refused),
		T(test_tls_without_cert_refused),
		T(test_tls_with_empty_cert_refused),
		T(test_empty_required_paths_refused),
		T(test_eid_without_cert_refused),
		T(test_eid_same_port_refused),
		T(test_bad_language_refused),
		T(test_bad_log_level_refused),
		T(test_other_store_engine_refused),
		T(test_syntax_error_refused),
		T(test_app_defaults_and_values),
		T(test_app_limits_refused),
		T(test_banks_read),
		T(test_banks_refused),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
