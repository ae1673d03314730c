/* fuzz_ciba.c — the CIBA backchannel authentication endpoint
 * (/bc-authorize, src/oidc/ciba.c) on arbitrary form bodies: client
 * authentication, then the request validation (scope, login_hint,
 * binding_message, requested_expiry, client_notification_token,
 * authorization_details) and, for a valid request, the app request for the
 * person (phone number normalisation, the display text with the binding
 * message, the limits) and the CIBA record.
 *
 * The validator is static in ciba.c, so this drives the route's real
 * handler (oidc_ciba_routes) with a request built the way the HTTP layer
 * builds one (request_parse_form on the body), against a real store in a
 * temporary directory holding two CIBA clients (poll and ping) and one
 * enrolled account (+32470123456).  The answer is queued on no
 * connection (libmicrohttpd refuses it and frees the body), so what is
 * checked is the status the handler chose: one of those CIBA Core §13
 * allows, and 200 only for a request that names a client, openid, a
 * phone number and a readable binding message.
 *
 * The first byte of an input picks the client credentials: 0 poll client
 * with client_secret_post, 1 ping client, 2 a wrong secret, 3 none (the
 * input then carries its own); the rest is the form body. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/http/http_int.h"
#include "../src/keys/app/app.h"
#include "../src/keys/app/request_int.h"
#include "../src/outbound/outbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PHONE "+32470123456"
#define SECRET "fuzz-secret"

static struct server srv;
static struct http_daemon daemon_fake;
static char dir[64];

static void
die(const char *what, const struct sl_err *err)
{
	fprintf(stderr, "fuzz_ciba: %s: %s\n", what, err ? err->msg : "failed");
	abort();
}

static void
write_config(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("config file", NULL);
	/* No listener is started: the TLS files are named, never read. */
	fprintf(f,
		"[server]\nissuer = https://127.0.0.1:8443\ntls_cert = %s/none.pem\ntls_key = %s/none.pem\n"
		"[store]\npath = %s/sleutel.db\n"
		"[keys]\ndir = %s/keys\n"
		"[portal]\ndata_dir = %s\n"
		"[eid]\nenabled = false\n"
		/* High limits and many pending requests, so valid inputs keep
		 * reaching the end of the handler for a long run. */
		"[app]\nmax_pending = 20\nrate_phone = 1000000\nrate_ip = 1000000\nrate_rp = 1000000\n"
		"rate_window = 1\n",
		dir, dir, dir, dir, dir);
	fclose(f);
}

static void
add_client(const char *id, const char *mode, const char *endpoint)
{
	char hash[2 * SL_SHA256_LEN + 1];
	struct sl_err err;
	struct store_client c;

	if (crypto_token_hash(SECRET, hash) != SL_OK)
		die("secret hash", NULL);
	memset(&c, 0, sizeof(c));
	c.cl_id = (char *)id;
	c.cl_name = (char *)"Fuzz bank";
	c.cl_secret_hash = hash;
	c.cl_auth_method = (char *)"client_secret_post";
	c.cl_redirect_uris = (char *)"[\"https://rp.example/cb\"]";
	c.cl_post_logout_uris = (char *)"[]";
	c.cl_id_token_alg = (char *)"ES256";
	c.cl_sector = (char *)"rp.example";
	c.cl_created = sl_now();
	c.cl_ciba_mode = (char *)mode;
	c.cl_ciba_endpoint = (char *)endpoint;
	if (store_client_add(srv.sv_store, &c, &err) != SL_OK)
		die("client", &err);
}

/* An account for PHONE, made the way enrolment makes one. */
static void
add_account(void)
{
	struct store_enrollment e;
	struct store_person p;
	struct store_device d;
	struct store_account a;
	struct sl_err err;
	int64_t now = sl_now();

	memset(&e, 0, sizeof(e));
	e.en_id = (char *)"fuzz-enrollment";
	e.en_phone = (char *)PHONE;
	e.en_jkt = (char *)"fuzz-jkt";
	e.en_transport_jwk = (char *)"{}";
	e.en_device_name = (char *)"Fuzz phone";
	e.en_lang = (char *)"nl";
	e.en_terms = srv.sv_conf->c_app_terms_version;
	e.en_status = (char *)"proofed";
	e.en_sms_hash = (char *)"";
	e.en_proof_method = (char *)"test";
	e.en_person = (char *)"{}";
	e.en_created = now;
	e.en_expires = now + 3600;
	if (store_enrollment_put(srv.sv_store, &e) != SL_OK)
		die("enrolment", NULL);
	memset(&p, 0, sizeof(p));
	p.p_rrn = (char *)"85073003328";
	p.p_given_name = (char *)"Mark";
	p.p_family_name = (char *)"Denblinden";
	memset(&d, 0, sizeof(d));
	d.dv_name = (char *)"Fuzz phone";
	d.dv_jkt = (char *)"fuzz-jkt";
	d.dv_transport_jwk = (char *)"{}";
	d.dv_confirm_key = (char *)"AA";
	d.dv_status = (char *)"active";
	d.dv_created = now;
	memset(&a, 0, sizeof(a));
	if (store_enrollment_finish(srv.sv_store, "fuzz-enrollment", &p, &d, &a, &err) != SL_OK)
		die("enrolment finish", &err);
	free(d.dv_id);
	free(d.dv_account_id);
	free(p.p_id);
	store_account_clear(&a);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* At exit: close the store and leave no temporary directory behind. */
static void
cleanup(void)
{
	outbound_free(srv.sv_outbound);
	waiter_registry_free(srv.sv_waiters);
	store_close(srv.sv_store);
	config_free(srv.sv_conf);
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_options so = { 0 };
	struct sl_err err;
	char path[128];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-ciba.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	snprintf(path, sizeof(path), "%s/sleutel.ini", dir);
	write_config(path);
	atexit(cleanup);
	if ((srv.sv_conf = config_load(path, &err)) == NULL)
		die("config", &err);
	snprintf(path, sizeof(path), "%s/sleutel.db", dir);
	so.so_path = path;
	if ((srv.sv_store = store_open(&so, &err)) == NULL)
		die("store", &err);
	if ((srv.sv_waiters = waiter_registry_new(64, &err)) == NULL)
		die("waiters", &err);
	/* the ping (and the app's push) go through the outbound pool */
	if ((srv.sv_outbound = outbound_new(1, 16, srv.sv_waiters, &err)) == NULL)
		die("outbound", &err);
	add_client("poll-client", "poll", NULL);
	add_client("ping-client", "ping", "http://127.0.0.1:9/ping");
	add_account();
	daemon_fake.d_conf.hd_tls = true;
	daemon_fake.d_conf.hd_limits.hl_max_params = 64;
	return 0;
}

/* The statuses /bc-authorize may answer (CIBA Core §13, RFC 6749 §5.2). */
static bool
status_allowed(int status)
{
	return status == 200 || status == 400 || status == 401 || status == 403 || status == 429 || status == 503;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const creds[] = {
		"client_id=poll-client&client_secret=" SECRET "&",
		"client_id=ping-client&client_secret=" SECRET "&",
		"client_id=poll-client&client_secret=wrong&",
		"",
	};
	struct http_request *rq;
	const char *c;

	if (len == 0)
		return 0;
	c = creds[data[0] % 4];
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return 0;
	rq->rq_daemon = &daemon_fake;
	rq->rq_method = HTTP_POST;
	rq->rq_path = "/bc-authorize"; /* MHD's in the daemon; request_free leaves it */
	rq->rq_ctype = "application/x-www-form-urlencoded"; /* what the daemon reads from the header */
	snprintf(rq->rq_ip, sizeof(rq->rq_ip), "192.0.2.%u", (unsigned)(len % 200));
	sl_buf_init(&rq->rq_body, 1 << 20);
	if (sl_buf_adds(&rq->rq_body, c) != SL_OK || sl_buf_add(&rq->rq_body, data + 1, len - 1) != SL_OK ||
		sl_buf_str(&rq->rq_body) == NULL) {
		request_free(rq);
		return 0;
	}
	/* The HTTP layer answers 400 itself for a body it cannot parse. */
	if (request_parse_form(rq) == SL_OK) {
		oidc_ciba_routes[0].hr_fn(&srv, rq);
		if (getenv("FUZZ_CIBA_STATUS") != NULL) /* to see where the seeds end */
			fprintf(stderr, "fuzz_ciba: %d\n", rq->rq_status);
		if (!status_allowed(rq->rq_status)) {
			fprintf(stderr, "fuzz_ciba: status %d\n", rq->rq_status);
			abort();
		}
		if (rq->rq_status == 200) {
			/* Accepted: it named openid, a phone and a readable binding message. */
			const char *scope = http_form(rq, "scope"), *bm = http_form(rq, "binding_message");
			char phone[APP_PHONE_MAX];
			if (scope == NULL || strstr(scope, "openid") == NULL || !app_binding_ok(bm) ||
				app_phone_normalize(http_form(rq, "login_hint"), "32", phone) != SL_OK ||
				strcmp(phone, PHONE) != 0)
				abort();
		}
	}
	request_free(rq);
	return 0;
}
