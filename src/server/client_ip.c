/*
 * client_ip.c — whose address a request comes from.
 *
 * Behind a reverse proxy every connection comes from the proxy.  Only a
 * proxy named in [server] trusted_proxies is believed about the person's
 * address (the last one it appended to X-Forwarded-For, the hop it saw);
 * from anyone else the header is a claim the sender makes about itself and
 * is ignored.  A sender may send its own X-Forwarded-For line too: a proxy
 * that appends to it (nginx's $proxy_add_x_forwarded_for) leaves its hop
 * last on that line, one that adds a line of its own (HAProxy's option
 * forwardfor) leaves it on the last line — so the last element of the
 * last line, never the first line (which the sender wrote).
 */
#include <string.h>

#include "server.h"

bool
server_proxy_trusted(const struct server *srv, const char *ip)
{
	char list[1024], *save = NULL, *tok;

	if (ip == NULL || sl_strlcpy(list, srv->sv_conf->c_trusted_proxies, sizeof(list)) >= sizeof(list))
		return false;
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (strcmp(tok, ip) == 0)
			return true;
	return false;
}

const char *
server_person_ip(const struct server *srv, struct http_request *rq, char *buf, size_t len)
{
	const char *xff = http_header_last(rq, "X-Forwarded-For"), *last;

	if (xff == NULL || !server_proxy_trusted(srv, http_client_ip(rq)))
		return http_client_ip(rq);
	last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	while (*last == ' ')
		last++;
	if (sl_strlcpy(buf, last, len) >= len || buf[0] == '\0' ||
		strspn(buf, "0123456789abcdefABCDEF.:") != strlen(buf))
		return http_client_ip(rq);
	return buf;
}

const char *
server_audit_ip(const struct server *srv, struct http_request *rq, char buf[SERVER_IP_MAX])
{
	return server_person_ip(srv, rq, buf, SERVER_IP_MAX);
}
