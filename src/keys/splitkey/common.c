/* common.c — what both halves of the split-key module share: waiter keys
 * and the key sizes. */
#include <stdio.h>

#include "../../crypto/crypto.h"
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
