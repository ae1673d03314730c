/*
 * rp.c — `sleutel rp add|list|show|disable|enable`: the relying parties of
 * the Smart-ID RP API (docs/smart-id.md), as the operator registers them.
 *
 * A relying party is named by its relyingPartyUUID, a random version-4
 * UUID made here from the CSPRNG (or the one it already uses with the
 * hosted service, --uuid), and carries the relyingPartyName its requests
 * must repeat, the addresses it may call from and what it may start
 * (auth, sign, cert; v2 for the older API, only when asked for).  Without
 * --allow-ip an RP may call only from this host (loopback): the UUID and
 * name are no secrets, so "any address" must be asked for (--allow-ip
 * any), is warned about and is marked in list and show.  Everything an operator types is checked before the
 * store is opened and written back normalised: addresses as inet_ntop
 * prints them, a CIDR's host bits cleared, permissions in a fixed order.
 * Every change is an audit record with the operator's Unix user.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../sidproto/sidproto.h"
#include "cli.h"

#define RP_NAME_MAX 128 /* bytes of a relyingPartyName */
#define RP_ALLOW_IP_MAX 32 /* addresses or CIDRs of one RP */
#define RP_ALLOW_IP_LEN (RP_ALLOW_IP_MAX * (INET6_ADDRSTRLEN + 4) + 1) /* the normalised list */
#define RP_UUID_LEN 36
#define RP_PERMISSIONS_ALL "auth sign cert v2"
#define RP_PERMISSIONS_DEFAULT "auth,sign,cert" /* v2 only when asked for */
#define RP_ALLOW_IP_DEFAULT "127.0.0.1,::1" /* an RP on this host */

static void
rp_usage(void)
{
	printf("usage: sleutel [--config FILE] rp add --name NAME [--allow-ip ADDR[,ADDR...]|any]\n"
	       "              [--permissions auth,sign,cert,v2] [--uuid UUID] [--json]\n"
	       "       sleutel [--config FILE] rp list [--json]\n"
	       "       sleutel [--config FILE] rp show UUID [--json]\n"
	       "       sleutel [--config FILE] rp set UUID [--allow-ip ADDR[,ADDR...]|any] [--permissions ...]\n"
	       "       sleutel [--config FILE] rp disable UUID\n"
	       "       sleutel [--config FILE] rp enable UUID\n"
	       "\nRelying parties of the Smart-ID RP API ({issuer}/smart-id/v3/ and v2/).\n"
	       "add       registers one and prints its relyingPartyUUID (a new random one, or --uuid)\n"
	       "NAME      the relyingPartyName its requests carry (matched ignoring case): 1 to %d bytes\n"
	       "          of printable UTF-8\n"
	       "ADDR      an IPv4 or IPv6 address or CIDR (192.0.2.0/24, 2001:db8::/32) the RP calls from;\n"
	       "          at most %d; without --allow-ip only this host (127.0.0.1, ::1); --allow-ip any:\n"
	       "          any address (the relyingPartyUUID is then its only credential)\n"
	       "auth      may start authentication sessions; sign: signature sessions and\n"
	       "          signature/certificate; cert: certificate choice; v2: the same through the\n"
	       "          older /smart-id/v2/ API (default: auth, sign and cert; v2 only when named)\n"
	       "set       replaces its addresses or permissions (an RP moving to v2 or to new servers)\n"
	       "disable   its requests are refused (403) until enabled again\n",
		RP_NAME_MAX, RP_ALLOW_IP_MAX);
}

/* ---- what the operator types ---- */

/* 1..RP_NAME_MAX bytes of text a phone may show (sidp_text_shown_ok: valid
 * UTF-8 without control, bidirectional or invisible characters), as the
 * RP API accepts the relyingPartyName its requests carry. */
static bool
name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= RP_NAME_MAX && sidp_text_shown_ok(name, n);
}

/* A prefix length: decimal digits, no sign, no leading zero, <= max. */
static bool
prefix_parse(const char *s, int max, int *out)
{
	int v = 0;

	if (*s == '\0' || strlen(s) > 3 || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return v <= max;
}

/* One address or CIDR, written normalised into out: the address as
 * inet_ntop prints it, a prefix's host bits cleared ("192.0.2.7/24" is
 * "192.0.2.0/24"). */
static bool
addr_normalise(const char *in, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	unsigned char a[16];
	const char *slash = strchr(in, '/');
	size_t hostlen = slash ? (size_t)(slash - in) : strlen(in);
	int family, bits, prefix = -1;

	if (hostlen == 0 || hostlen >= sizeof(host))
		return false;
	memcpy(host, in, hostlen);
	host[hostlen] = '\0';
	family = strchr(host, ':') ? AF_INET6 : AF_INET;
	bits = family == AF_INET6 ? 128 : 32;
	if (inet_pton(family, host, a) != 1 || (slash != NULL && !prefix_parse(slash + 1, bits, &prefix)))
		return false;
	for (int i = prefix < 0 ? bits : prefix; i < bits; i++)
		a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	if (inet_ntop(family, a, text, sizeof(text)) == NULL)
		return false;
	if (prefix < 0)
		return (size_t)snprintf(out, outlen, "%s", text) < outlen;
	return (size_t)snprintf(out, outlen, "%s/%d", text, prefix) < outlen;
}

/* Split a comma-separated list (spaces around items ignored) and hand
 * each item to fn; CLI_USAGE (after the message) for an empty item. */
static int
list_each(const char *opt, const char *list, int (*fn)(const char *item, void *arg), void *arg)
{
	char *copy = strdup(list), *save = NULL, *item;
	int rc = CLI_OK;
	size_t n = strlen(list);

	if (copy == NULL)
		return cli_error("out of memory");
	if (n == 0 || list[0] == ',' || list[n - 1] == ',' || strstr(list, ",,") != NULL)
		rc = (cli_error("%s: an empty item in \"%s\"", opt, list), CLI_USAGE);
	for (item = strtok_r(copy, ",", &save); rc == CLI_OK && item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *end = item + strlen(item);
		while (*item == ' ')
			item++;
		while (end > item && end[-1] == ' ')
			*--end = '\0';
		rc = *item == '\0' ? (cli_error("%s: an empty item in \"%s\"", opt, list), CLI_USAGE) : fn(item, arg);
	}
	free(copy);
	return rc;
}

struct addr_list {
	char al_text[RP_ALLOW_IP_LEN];
	int al_n;
};

static int
addr_add(const char *item, void *arg)
{
	struct addr_list *l = arg;
	char norm[INET6_ADDRSTRLEN + 5];
	size_t len = strlen(l->al_text);

	if (!addr_normalise(item, norm, sizeof(norm)))
		return cli_error(
			       "--allow-ip: \"%.64s\" is not an IPv4 or IPv6 address or CIDR (prefix up to 32 or 128)",
			       item),
		       CLI_USAGE;
	if (++l->al_n > RP_ALLOW_IP_MAX)
		return cli_error("--allow-ip: at most %d addresses", RP_ALLOW_IP_MAX), CLI_USAGE;
	snprintf(l->al_text + len, sizeof(l->al_text) - len, "%s%s", len ? "," : "", norm);
	return CLI_OK;
}

/* Which of auth, sign, cert, v2 were named (bit i: perms[i]). */
static const char *const perms[] = { "auth", "sign", "cert", "v2", NULL };

static int
perm_add(const char *item, void *arg)
{
	unsigned *seen = arg;

	for (unsigned i = 0; perms[i] != NULL; i++) {
		if (strcmp(item, perms[i]) == 0) {
			*seen |= 1u << i;
			return CLI_OK;
		}
	}
	return cli_error("--permissions: unknown permission \"%.32s\" (known: auth, sign, cert, v2)", item), CLI_USAGE;
}

/* The space-separated permissions in the fixed order (as stored). */
static int
perms_parse(const char *v, char out[sizeof(RP_PERMISSIONS_ALL)])
{
	unsigned seen = 0;
	size_t len = 0;
	int rc = list_each("--permissions", v, perm_add, &seen);

	out[0] = '\0';
	for (unsigned i = 0; rc == CLI_OK && perms[i] != NULL; i++)
		if (seen & (1u << i))
			len += (size_t)snprintf(
				out + len, sizeof(RP_PERMISSIONS_ALL) - len, "%s%s", len ? " " : "", perms[i]);
	return rc;
}

/* A UUID as text, 8-4-4-4-12 hex digits (either case), written lower-case
 * into out; false for anything else. */
static bool
uuid_normalise(const char *in, char out[RP_UUID_LEN + 1])
{
	if (strlen(in) != RP_UUID_LEN)
		return false;
	for (size_t i = 0; i < RP_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? in[i] != '-' : !isxdigit((unsigned char)in[i]))
			return false;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[RP_UUID_LEN] = '\0';
	return true;
}

/* A random (version 4, RFC 9562) UUID from the CSPRNG, lower-case. */
static int
uuid_new(char out[RP_UUID_LEN + 1])
{
	unsigned char b[16];

	if (sl_random(b, sizeof(b)) != SL_OK)
		return SL_ECRYPTO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, RP_UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return SL_OK;
}

/* --allow-ip (a list, or "any": warned about, al_n 0) and --permissions,
 * each checked; NULL: not given (left as it is). */
static int
access_parse(const char *allow, const char *perm, struct addr_list *l, char perms_out[sizeof(RP_PERMISSIONS_ALL)])
{
	int rc = CLI_OK;

	if (allow != NULL && strcmp(allow, "any") == 0)
		fprintf(stderr, "warning: --allow-ip any: this relying party may call from any address, so its "
				"relyingPartyUUID is its only credential: keep it secret\n");
	else if (allow != NULL)
		rc = list_each("--allow-ip", allow, addr_add, l);
	if (rc == CLI_OK && perm != NULL)
		rc = perms_parse(perm, perms_out);
	return rc;
}

/* ---- add ---- */

struct rp_add {
	const char *ra_name;
	struct addr_list ra_allow; /* al_n 0: any address (--allow-ip any) */
	char ra_perms[sizeof(RP_PERMISSIONS_ALL)];
	char ra_uuid[RP_UUID_LEN + 1]; /* "" until made, unless --uuid */
};

/* The options of `rp add`, each checked: CLI_USAGE after a message. */
static int
add_options(int argc, char **argv, struct rp_add *a)
{
	const char *allow = NULL, *perm = NULL, *uuid = NULL;
	int rc = CLI_OK;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc && rc == CLI_OK; i++) {
		const char **slot = strcmp(argv[i], "--name") == 0          ? &a->ra_name
				    : strcmp(argv[i], "--allow-ip") == 0    ? &allow
				    : strcmp(argv[i], "--permissions") == 0 ? &perm
				    : strcmp(argv[i], "--uuid") == 0        ? &uuid
									    : NULL;
		if (slot == NULL && strcmp(argv[i], "--json") == 0)
			continue;
		if (slot == NULL || *slot != NULL || i + 1 >= argc)
			return cli_error(
				       "rp add: unknown or repeated option, or a missing value: %.32s (see sleutel rp "
				       "--help)",
				       argv[i]),
			       CLI_USAGE;
		*slot = argv[++i];
	}
	if (a->ra_name == NULL)
		return cli_error("rp add: --name NAME is required"), CLI_USAGE;
	if (!name_ok(a->ra_name))
		return cli_error("rp add: the name must be 1 to %d bytes of printable UTF-8 (no control characters)",
			       RP_NAME_MAX),
		       CLI_USAGE;
	if (uuid != NULL && !uuid_normalise(uuid, a->ra_uuid))
		return cli_error("rp add: --uuid: \"%.40s\" is not a UUID (8-4-4-4-12 hex digits)", uuid), CLI_USAGE;
	return access_parse(
		allow ? allow : RP_ALLOW_IP_DEFAULT, perm ? perm : RP_PERMISSIONS_DEFAULT, &a->ra_allow, a->ra_perms);
}

static json_t *
rp_json(const struct store_sid_rp *rp)
{
	json_t *o = json_pack("{s:s,s:s,s:n,s:b,s:[],s:s,s:I}", "uuid", rp->sp_uuid, "name", rp->sp_name, "allow_ip",
		"allow_any", sl_str_empty(rp->sp_allow_ip), "permissions", "status", rp->sp_status, "created",
		(json_int_t)rp->sp_created);
	json_t *perm = json_object_get(o, "permissions");
	char buf[RP_ALLOW_IP_LEN], *save = NULL, *tok;

	if (rp->sp_allow_ip != NULL) {
		json_t *ips = json_array();
		sl_strlcpy(buf, rp->sp_allow_ip, sizeof(buf));
		for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
			json_array_append_new(ips, json_string(tok));
		json_object_set_new(o, "allow_ip", ips);
	}
	sl_strlcpy(buf, rp->sp_permissions, sizeof(buf));
	save = NULL;
	for (tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		json_array_append_new(perm, json_string(tok));
	return o;
}

static int
rp_add(struct cli_ctx *cc, struct rp_add *a, bool json)
{
	struct store_sid_rp rp = { .sp_name = (char *)a->ra_name,
		.sp_allow_ip = a->ra_allow.al_n ? a->ra_allow.al_text : NULL,
		.sp_permissions = a->ra_perms,
		.sp_created = sl_now() };
	char detail[512];
	json_t *o;
	int rc;

	if (a->ra_uuid[0] == '\0' && uuid_new(a->ra_uuid) != SL_OK)
		return cli_error("cannot make a UUID: no randomness");
	rp.sp_uuid = a->ra_uuid;
	rp.sp_status = (char *)"active";
	rc = store_sid_rp_put(cc->cc_store, &rp);
	if (rc == SL_ECONFLICT)
		return cli_error("a relying party %s exists already", a->ra_uuid);
	if (rc != SL_OK)
		return cli_error("cannot register the relying party: %s", sl_strerror(rc));
	snprintf(detail, sizeof(detail), "rp %s \"%s\", permissions %s, allow-ip %s", a->ra_uuid, a->ra_name,
		a->ra_perms, rp.sp_allow_ip ? rp.sp_allow_ip : "any");
	cli_audit(cc, "rp.add", a->ra_uuid, detail);
	if (!json) {
		puts(a->ra_uuid);
		return CLI_OK;
	}
	o = rp_json(&rp);
	cli_print_json(o);
	json_decref(o);
	return CLI_OK;
}

/* ---- list, show ---- */

static int
list_rp(const struct store_sid_rp *rp, void *arg)
{
	json_array_append_new(arg, rp_json(rp));
	return SL_OK;
}

/* "a,b" of a JSON array of strings, or dflt when it is not one. */
static const char *
joined(const json_t *arr, const char *sep, const char *dflt, char *buf, size_t len)
{
	const json_t *v;
	size_t i, n = 0;

	if (!json_is_array(arr))
		return dflt;
	buf[0] = '\0';
	json_array_foreach(arr, i, v) n +=
		(size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? sep : "", json_string_value(v));
	return buf;
}

static int
rp_list(struct cli_ctx *cc, bool json)
{
	json_t *arr = json_array(), *v;
	char perm[64], ips[RP_ALLOW_IP_LEN];
	size_t i;
	bool any = false;
	int rc = store_sid_rp_each(cc->cc_store, list_rp, arr);

	if (rc != SL_OK) {
		json_decref(arr);
		return cli_error("cannot read the relying parties: %s", sl_strerror(rc));
	}
	if (json) {
		cli_print_json(arr);
	} else {
		printf("%-36s %-8s %-14s %-24s %s\n", "UUID", "STATUS", "PERMISSIONS", "ALLOW_IP", "NAME");
		json_array_foreach(arr, i, v) printf("%-36s %-8s %-14s %-24s %s\n",
			json_string_value(json_object_get(v, "uuid")), json_string_value(json_object_get(v, "status")),
			joined(json_object_get(v, "permissions"), ",", "-", perm, sizeof(perm)),
			joined(json_object_get(v, "allow_ip"), ",", "any (!)", ips, sizeof(ips)),
			json_string_value(json_object_get(v, "name")));
		json_array_foreach(arr, i, v) any = any || json_is_true(json_object_get(v, "allow_any"));
		if (any)
			printf("(!) any address: the relyingPartyUUID is the RP's only credential\n");
	}
	json_decref(arr);
	return CLI_OK;
}

/* The RP named on the command line (any case). */
static int
rp_find(struct cli_ctx *cc, const char *what, struct store_sid_rp *rp)
{
	char uuid[RP_UUID_LEN + 1];

	memset(rp, 0, sizeof(*rp));
	if (!uuid_normalise(what, uuid) || store_sid_rp_get(cc->cc_store, uuid, rp) != SL_OK)
		return cli_error("no relying party %.40s", what);
	return CLI_OK;
}

static int
rp_show(struct cli_ctx *cc, const char *what, bool json)
{
	struct store_sid_rp rp;
	char t[CLI_TIME_LEN], buf[RP_ALLOW_IP_LEN];
	json_t *o;

	if (rp_find(cc, what, &rp) != CLI_OK)
		return CLI_FAIL;
	o = rp_json(&rp);
	store_sid_rp_clear(&rp);
	if (json) {
		cli_print_json(o);
	} else {
		printf("%-12s %s\n", "uuid", json_string_value(json_object_get(o, "uuid")));
		printf("%-12s %s\n", "name", json_string_value(json_object_get(o, "name")));
		printf("%-12s %s\n", "status", json_string_value(json_object_get(o, "status")));
		printf("%-12s %s\n", "permissions",
			joined(json_object_get(o, "permissions"), " ", "-", buf, sizeof(buf)));
		printf("%-12s %s\n", "allow_ip",
			joined(json_object_get(o, "allow_ip"), " ",
				"any (!): the relyingPartyUUID is the RP's only credential", buf, sizeof(buf)));
		printf("%-12s %s\n", "created", cli_time(json_integer_value(json_object_get(o, "created")), t));
	}
	json_decref(o);
	return CLI_OK;
}

/* ---- disable, enable ---- */

static int
rp_set_status(struct cli_ctx *cc, const char *what, const char *status)
{
	struct store_sid_rp rp;
	char detail[256];
	int rc;

	if (rp_find(cc, what, &rp) != CLI_OK)
		return CLI_FAIL;
	if (rp.sp_status != NULL && strcmp(rp.sp_status, status) == 0) {
		printf("%s is %s already\n", rp.sp_uuid, status);
		store_sid_rp_clear(&rp);
		return CLI_OK;
	}
	rc = store_sid_rp_set_status(cc->cc_store, rp.sp_uuid, status);
	if (rc != SL_OK) {
		rc = cli_error("relying party %s: %s", rp.sp_uuid, sl_strerror(rc));
	} else {
		snprintf(detail, sizeof(detail), "rp %s \"%s\"", rp.sp_uuid, rp.sp_name);
		cli_audit(cc, strcmp(status, "disabled") == 0 ? "rp.disable" : "rp.enable", rp.sp_uuid, detail);
		printf("%s %s\n", strcmp(status, "disabled") == 0 ? "disabled" : "enabled", rp.sp_uuid);
		rc = CLI_OK;
	}
	store_sid_rp_clear(&rp);
	return rc;
}

/* ---- set ---- */

struct rp_set {
	const char *rs_allow; /* NULL: as it is */
	const char *rs_perm; /* NULL: as it is */
	struct addr_list rs_list;
	char rs_perms[sizeof(RP_PERMISSIONS_ALL)];
};

/* `rp set UUID [--allow-ip ...|any] [--permissions ...]`: at least one. */
static int
set_options(int argc, char **argv, struct rp_set *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--allow-ip") == 0      ? &o->rs_allow
				    : strcmp(argv[i], "--permissions") == 0 ? &o->rs_perm
									    : NULL;
		if (slot == NULL || *slot != NULL || i + 1 >= argc)
			return cli_error(
				       "rp set: unknown or repeated option, or a missing value: %.32s (see sleutel rp "
				       "--help)",
				       argv[i]),
			       CLI_USAGE;
		*slot = argv[++i];
	}
	if (o->rs_allow == NULL && o->rs_perm == NULL)
		return cli_error("rp set: give --allow-ip or --permissions (or both)"), CLI_USAGE;
	return access_parse(o->rs_allow, o->rs_perm, &o->rs_list, o->rs_perms);
}

static int
rp_set(struct cli_ctx *cc, const char *what, struct rp_set *o)
{
	struct store_sid_rp rp;
	const char *allow, *granted;
	char detail[RP_ALLOW_IP_LEN + 256];
	int rc;

	if (rp_find(cc, what, &rp) != CLI_OK)
		return CLI_FAIL;
	allow = o->rs_allow == NULL ? rp.sp_allow_ip : o->rs_list.al_n ? o->rs_list.al_text : NULL;
	granted = o->rs_perm == NULL ? rp.sp_permissions : o->rs_perms;
	rc = store_sid_rp_set_access(cc->cc_store, rp.sp_uuid, allow, granted);
	if (rc != SL_OK) {
		rc = cli_error("relying party %s: %s", rp.sp_uuid, sl_strerror(rc));
	} else {
		snprintf(detail, sizeof(detail), "rp %s \"%s\", permissions %s, allow-ip %s", rp.sp_uuid, rp.sp_name,
			granted, allow ? allow : "any");
		cli_audit(cc, "rp.set", rp.sp_uuid, detail);
		printf("%s: permissions %s, allow-ip %s\n", rp.sp_uuid, granted, allow ? allow : "any");
		rc = CLI_OK;
	}
	store_sid_rp_clear(&rp);
	return rc;
}

/* Only --json after the UUID (list, show) or nothing (disable, enable). */
static int
no_options(int argc, char **argv, int first, bool json_ok)
{
	for (int i = first; i < argc; i++)
		if (!json_ok || strcmp(argv[i], "--json") != 0)
			return cli_error("rp %s: unexpected %.32s (see sleutel rp --help)", argv[0], argv[i]),
			       CLI_USAGE;
	return CLI_OK;
}

int
cli_rp(const char *config, int argc, char **argv)
{
	static const char *const verbs[] = { "add", "list", "show", "set", "disable", "enable", NULL };
	struct cli_ctx cc;
	struct rp_add add;
	struct rp_set set;
	bool json = cli_has_flag(argc, argv, "--json"), change;
	int rc;

	memset(&add, 0, sizeof(add));
	memset(&set, 0, sizeof(set));
	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		rp_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	rc = cli_check_verb("rp", argc, argv, verbs, 2, "relying party (UUID)");
	change = rc == CLI_OK && (strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0);
	if (rc == CLI_OK && strcmp(argv[0], "add") == 0)
		rc = add_options(argc, argv, &add);
	else if (rc == CLI_OK && strcmp(argv[0], "set") == 0)
		rc = set_options(argc, argv, &set);
	else if (rc == CLI_OK)
		rc = no_options(argc, argv, strcmp(argv[0], "list") == 0 ? 1 : 2, !change);
	if (rc != CLI_OK)
		return rc;
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	if (strcmp(argv[0], "add") == 0)
		rc = rp_add(&cc, &add, json);
	else if (strcmp(argv[0], "list") == 0)
		rc = rp_list(&cc, json);
	else if (strcmp(argv[0], "show") == 0)
		rc = rp_show(&cc, argv[1], json);
	else if (strcmp(argv[0], "set") == 0)
		rc = rp_set(&cc, argv[1], &set);
	else
		rc = rp_set_status(&cc, argv[1], strcmp(argv[0], "disable") == 0 ? "disabled" : "active");
	cli_close(&cc);
	return rc;
}
