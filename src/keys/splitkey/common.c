/* common.c — what both halves of the split-key module share: waiter keys,
 * the key sizes, revoking a device's certificates. */
#include <stdio.h>

#include "../../core/core.h"
#include "../../crypto/crypto.h"
#include "../../pki/pki.h"
#include "../../store/store.h"
#include "splitkey.h"

void
sid_registration_wait_key(const char *registration_id, char *out, size_t len)
{
	snprintf(out, len, "sidreg:%s", registration_id);
}

void
sid_account_wait_key(const char *account_id, char *out, size_t len)
{
	snprintf(out, len, "sidacct:%s", account_id);
}

void
sid_request_wait_key(const char *request_id, char *out, size_t len)
{
	snprintf(out, len, "sidrq:%s", request_id);
}

void
sid_params(const struct server *srv, struct sk_params *out)
{
	out->sp_n1_bits = srv->sv_conf->c_sid_key_bits;
	out->sp_n2_bits = srv->sv_conf->c_sid_key_bits;
	out->sp_camo = NULL;
}

void
sid_certs_revoke(struct server *srv, const char *const serials[], size_t n)
{
	const char *dir = srv->sv_conf->c_pki_dir;
	struct sl_err err = { 0 };

	for (size_t i = 0; i < n; i++) {
		if (serials[i] == NULL)
			continue;
		if (dir == NULL) {
			log_warn("smartid: certificate %s not revoked: no [pki] dir", serials[i]);
			continue;
		}
		int rc = pki_revoke(dir, serials[i], &err);
		if (rc != SL_OK && rc != SL_ECONFLICT)
			log_warn("smartid: certificate %s not revoked: %s", serials[i], err.msg);
	}
}
