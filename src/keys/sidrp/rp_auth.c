/*
 * rp_auth.c — who is calling: the RP a request names (relyingPartyUUID,
 * registered and active, else 403), its relyingPartyName (as registered,
 * ASCII case folded, else 401), the address it calls from (in the RP's
 * allow list of addresses and CIDRs, IPv4 and IPv6, else 401) and the
 * permission the endpoint needs ("auth", "sign", "cert", and "v2" for
 * every v2 endpoint: v2 signs any hash with the PIN1 key, so an RP gets it
 * only when the operator names it; else 403), as
 * SK's RP API describes its 401 and 403.  Refusals are audited without
 * anything secret (the RP's UUID and the reason).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "sidrp_int.h"

#define ALLOW_LIST_MAX 4096 /* bytes of an RP's allow list we look at */

/* An address as 16 bytes (IPv4 as v4-mapped IPv6) and its family's bit
 * offset (96 for IPv4), so one comparison serves both. */
static bool
addr_parse(const char *s, uint8_t out[16], int *offset)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		*offset = 96;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) != 1)
		return false;
	/* an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d */
	*offset = memcmp(out, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 ? 96 : 0;
	return true;
}

/* `entry` ("addr" or "addr/bits") covers `ip`. */
static bool
entry_covers(char *entry, const uint8_t ip[16], int ip_offset)
{
	char *slash = strchr(entry, '/'), *end;
	uint8_t net[16];
	int offset, bits;
	long v;

	if (slash != NULL)
		*slash = '\0';
	if (!addr_parse(entry, net, &offset) || offset != ip_offset)
		return false;
	bits = 128 - offset;
	if (slash != NULL) {
		v = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || v < 0 || v > 128 - offset)
			return false;
		bits = (int)v;
	}
	bits += offset;
	for (int i = 0; i < bits / 8; i++)
		if (net[i] != ip[i])
			return false;
	if (bits % 8 != 0) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
		if ((net[bits / 8] & mask) != (ip[bits / 8] & mask))
			return false;
	}
	return true;
}

bool
sidrp_ip_allowed(const char *allow, const char *ip)
{
	char list[ALLOW_LIST_MAX], *save = NULL, *tok;
	uint8_t addr[16];
	int offset;

	if (allow == NULL || allow[0] == '\0')
		return true;
	if (ip == NULL || !addr_parse(ip, addr, &offset) || sl_strlcpy(list, allow, sizeof(list)) >= sizeof(list))
		return false;
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (entry_covers(tok, addr, offset))
			return true;
	return false;
}

/* relyingPartyName as registered, ASCII letters folded. */
static bool
name_matches(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

bool
sidrp_has_permission(const char *list, const char *perm)
{
	size_t n = strlen(perm);

	for (const char *p = list ? list : ""; *p;) {
		size_t k = strcspn(p, " ");
		if (k == n && strncmp(p, perm, n) == 0)
			return true;
		p += k;
		p += strspn(p, " ");
	}
	return false;
}

void
sidrp_audit(struct server *srv, const char *event, const char *result, const char *rp_uuid, const char *ip,
	const char *detail)
{
	struct store_audit au = { .au_event = event,
		.au_result = result,
		.au_client_id = rp_uuid,
		.au_key = "smartid",
		.au_ip = ip,
		.au_detail = detail };

	store_audit_add(srv->sv_store, &au);
}

static int
refuse(struct server *srv, struct http_request *rq, int status, const char *reason, const char *uuid, const char *ip)
{
	sidrp_audit(srv, "sidrp.refused", reason, uuid, ip, NULL);
	sidrp_fail(rq, status, NULL, NULL, "%s", status == 401 ? "Unauthorized" : "Forbidden");
	return SL_EDENIED;
}

int
sidrp_rp_check(struct server *srv, struct http_request *rq, const struct sidrp_req *r, const char *perm,
	struct store_sid_rp *rp, char ip[SERVER_IP_MAX])
{
	char uuid[SIDRP_UUID_LEN + 1];
	const char *addr = server_person_ip(srv, rq, ip, SERVER_IP_MAX);
	int rc;

	memset(rp, 0, sizeof(*rp));
	if (addr != ip)
		sl_strlcpy(ip, addr ? addr : "", SERVER_IP_MAX);
	sl_strlcpy(uuid, r->sr_rp_uuid, sizeof(uuid));
	for (char *p = uuid; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	rc = store_sid_rp_get(srv->sv_store, uuid, rp);
	if (rc == SL_ENOTFOUND || (rc == SL_OK && strcmp(rp->sp_status, "active") != 0))
		rc = refuse(srv, rq, 403, rc == SL_OK ? "rp_disabled" : "rp_unknown", uuid, ip);
	else if (rc != SL_OK)
		sidrp_fail(rq, 503, NULL, NULL, "The service is unavailable; try again later");
	else if (!name_matches(rp->sp_name, r->sr_rp_name))
		rc = refuse(srv, rq, 401, "rp_name", uuid, ip);
	else if (!sidrp_ip_allowed(rp->sp_allow_ip, ip))
		rc = refuse(srv, rq, 401, "rp_address", uuid, ip);
	else if ((perm != NULL && !sidrp_has_permission(rp->sp_permissions, perm)) ||
		 (r->sr_api == 2 && !sidrp_has_permission(rp->sp_permissions, "v2")))
		rc = refuse(srv, rq, 403, "rp_permission", uuid, ip);
	if (rc != SL_OK)
		store_sid_rp_clear(rp);
	return rc;
}
