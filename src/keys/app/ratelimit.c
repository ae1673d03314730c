/*
 * ratelimit.c — the keys the app requests' rate limits count under (anti
 * push-bombing, DESIGN §4).  The counting itself is in the store
 * (store_rate_hit, src/store/limits.c), so that every node behind a load
 * balancer counts against one budget; request.c makes the keys and reads
 * the answer.
 */
#include <arpa/inet.h>
#include <string.h>

#include "request_int.h"

void
app_rate_ip_key(const char *ip, char *out, size_t len)
{
	struct in6_addr a6;

	/* A subscriber gets a /56 (or a /48) of IPv6: count the /56, or one
	 * customer could spread over 256 budgets and fill the table. */
	if (ip != NULL && strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a6) == 1) {
		memset(a6.s6_addr + 7, 0, 9);
		if (inet_ntop(AF_INET6, &a6, out, (socklen_t)len) != NULL) {
			sl_strlcpy(out + strlen(out), "/56", len - strlen(out));
			return;
		}
	}
	sl_strlcpy(out, ip ? ip : "", len);
}
