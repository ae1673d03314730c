/*
 * cert_limit.c — the bound on POST signature/certificate/{documentNumber}
 * (docs/smart-id.md "Certificate by document number").  That call needs
 * no interaction: a wrong document number is a 404 and the right one the
 * person's certificate, so without a bound an RP holding national
 * numbers could try the 2^20 suffixes of PNOBE-<number>-XXXX-Q until it
 * finds every holder's device.  Unknown document numbers are counted in
 * the shared rate-limit windows (store_rate_hit) per RP ([smartid]
 * rp_cert_misses) and per RP and national number (rp_cert_misses_person)
 * over rp_cert_miss_window; once either is spent every lookup under it,
 * a right number included, answers 429, so that the answers stop telling
 * a hit from a miss.  The per-person count is the RP's own: one RP
 * cannot block another's lookups of a person.  Every lookup is audited.
 */
#include <stdio.h>
#include <string.h>

#include "sidrp_int.h"

/* "sc:r:<uuid>" and "sc:p:<uuid>:PNOBE-<number>" (the document number up
 * to its suffix). */
static void
cert_keys(const struct sidrp_req *r, const char *rp_uuid, char kr[STORE_RATE_KEY_MAX], char kp[STORE_RATE_KEY_MAX])
{
	const char *doc = r->sr_target_value;
	const char *dash = strchr(doc, '-');
	int person =
		dash != NULL && strchr(dash + 1, '-') != NULL ? (int)(strchr(dash + 1, '-') - doc) : (int)strlen(doc);

	snprintf(kr, STORE_RATE_KEY_MAX, "sc:r:%.100s", rp_uuid);
	snprintf(kp, STORE_RATE_KEY_MAX, "sc:p:%.100s:%.*s", rp_uuid, person > 100 ? 100 : person, doc);
}

static void
limited(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *rp_uuid, const char *ip,
	const char *result)
{
	sidrp_audit(srv, "sidrp.certificate", result, rp_uuid, ip, r->sr_target_value);
	if (strcmp(result, "limited") == 0)
		sidrp_fail(rq, 429, NULL, NULL, "Too many unknown document numbers; try again later");
	else
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
}

int
sidrp_cert_limit_check(
	struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *rp_uuid, const char *ip)
{
	const struct sl_config *c = srv->sv_conf;
	char kr[STORE_RATE_KEY_MAX], kp[STORE_RATE_KEY_MAX];
	int nr = 0, np = 0;
	int64_t now = sl_now();

	cert_keys(r, rp_uuid, kr, kp);
	if (store_rate_peek(srv->sv_store, kr, now, &nr) != SL_OK ||
		store_rate_peek(srv->sv_store, kp, now, &np) != SL_OK) {
		limited(srv, rq, r, rp_uuid, ip, "store_failed");
		return SL_ESTORE;
	}
	if (nr >= c->c_sid_rp_cert_misses || np >= c->c_sid_rp_cert_misses_person) {
		limited(srv, rq, r, rp_uuid, ip, "limited");
		return SL_ETOOBIG;
	}
	return SL_OK;
}

void
sidrp_cert_miss(
	struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *rp_uuid, const char *ip)
{
	const struct sl_config *c = srv->sv_conf;
	char kr[STORE_RATE_KEY_MAX], kp[STORE_RATE_KEY_MAX];
	struct store_rate_check ck[2];
	size_t which = 0;
	int rc;

	cert_keys(r, rp_uuid, kr, kp);
	ck[0] = (struct store_rate_check){ kr, c->c_sid_rp_cert_misses };
	ck[1] = (struct store_rate_check){ kp, c->c_sid_rp_cert_misses_person };
	rc = store_rate_hit(srv->sv_store, ck, 2, c->c_sid_rp_cert_miss_window, sl_now(), &which);
	if (rc == SL_OK) {
		sidrp_audit(srv, "sidrp.certificate", "unknown", rp_uuid, ip, r->sr_target_value);
		sidrp_fail(rq, 404, NULL, NULL, "Not Found");
	} else {
		limited(srv, rq, r, rp_uuid, ip, rc == SL_ETOOBIG ? "limited" : "store_failed");
	}
}
