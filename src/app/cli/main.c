/*
 * sleutel-app — the reference phone app in a terminal.  main() reads the
 * options and picks the command; commands.c does the work on
 * libsleutel-app.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../httpc/httpc.h"
#include "cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sleutel-app --state FILE [--server URL] [--ca FILE] [--lang nl|fr|de|en] [--json]\n"
		   "                   [--code-fd N] [COMMAND]\n\n"
		   "Without a command on a terminal: enrol if needed, then wait for requests.\n\n"
		   "commands:\n"
		   "  enroll                         enrol step by step (interactive)\n"
		   "  enroll start --phone N [--name NAME] [--lang L]\n"
		   "  enroll sms CODE                the activation code from the SMS\n"
		   "  enroll resend                  a new activation code\n"
		   "  enroll status [--wait [S]]     the enrolment's state (wait while proofing)\n"
		   "  enroll proof CODE              the code the proofing page shows (XXXX-XXXX)\n"
		   "  enroll finish                  choose the 5-digit app code (stdin or --code-fd)\n"
		   "  recover start --phone N [--name NAME]\n"
		   "                                 a lost phone or a forgotten app code: an enrolment\n"
		   "                                 proved with the eID card (then enroll sms, status, proof)\n"
		   "  recover finish [--revoke ID,...]\n"
		   "                                 choose a new app code; the number's old devices (or\n"
		   "                                 the ones named) are revoked\n"
		   "  pending [--wait S]             requests waiting for this phone\n"
		   "  approve ID [--pick CODE]       confirm a request (app code from stdin or --code-fd)\n"
		   "  refuse ID                      refuse a request\n"
		   "  scan URI                       a scanned QR code (sleutel://login?t=...)\n"
		   "  devices                        this account's devices\n"
		   "  remove DEVICE_ID               remove a device\n"
		   "  notices                        notices about this person's other devices\n\n"
		   "Smart-ID (PIN1 and PIN2 from stdin or --code-fd, one a line, when not on a terminal):\n"
		   "  smartid register [--country BE] [--method eid] [--name NAME] [--terms V]\n"
		   "                                 make the keys, show the registration code (and, on a\n"
		   "                                 terminal, wait for the portal and do the recall check)\n"
		   "  smartid status [--wait [S]]    the registration's or the device's state\n"
		   "  smartid finish                 the recall check: PIN1 and PIN2 again\n"
		   "  smartid pending [--wait S]     signing requests waiting for this phone\n"
		   "  smartid approve ID             confirm with PIN1 or PIN2 (the request's key)\n"
		   "  smartid refuse ID              refuse a request\n"
		   "  smartid link URL               open a relying party's device link (QR or link)\n"
		   "    (RP API requests: --pick CODE for a verification-code choice,\n"
		   "     --refuse refused|interaction|cert_choice|not_supported)\n"
		   "  smartid devices                this account's Smart-ID devices\n"
		   "  smartid remove DEVICE_ID       remove one\n\n"
		   "Exit status: 0 done, 1 refused (the message says why), 2 usage.\n");
}

static bool
is_number(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 9)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Options that take a value, for the commands. */
static bool
takes_value(const char *name)
{
	return strcmp(name, "phone") == 0 || strcmp(name, "name") == 0 || strcmp(name, "pick") == 0 ||
	       strcmp(name, "refuse") == 0 || strcmp(name, "terms") == 0 || strcmp(name, "country") == 0 ||
	       strcmp(name, "method") == 0;
}

static int
global_opt(struct cli *c, const char *name, const char *value, int *used)
{
	*used = 1;
	if (strcmp(name, "json") == 0) {
		c->c_json = true;
		*used = 0;
		return CLI_OK;
	}
	if (value == NULL)
		return CLI_USAGE;
	if (strcmp(name, "state") == 0)
		c->c_state = value;
	else if (strcmp(name, "server") == 0)
		c->c_server = value;
	else if (strcmp(name, "ca") == 0)
		c->c_ca = value;
	else if (strcmp(name, "lang") == 0 && lang_known(value))
		c->c_lang = value;
	else if (strcmp(name, "code-fd") == 0 && is_number(value))
		c->c_code_fd = atoi(value);
	else
		return CLI_USAGE;
	return CLI_OK;
}

static bool
is_global(const char *name)
{
	static const char *const g[] = { "state", "server", "ca", "lang", "json", "code-fd", NULL };

	for (int i = 0; g[i]; i++)
		if (strcmp(name, g[i]) == 0)
			return true;
	return false;
}

static int
parse_args(struct cli *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		int used = 0;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (c->c_npos >= CLI_MAX_POS)
				return CLI_USAGE;
			c->c_pos[c->c_npos++] = a;
			continue;
		}
		a += 2;
		if (is_global(a)) {
			if (global_opt(c, a, next, &used) != CLI_OK) {
				fprintf(stderr, "sleutel-app: bad value for --%s\n", a);
				return CLI_USAGE;
			}
		} else if (c->c_nopt < CLI_MAX_OPT && (takes_value(a) || strcmp(a, "wait") == 0)) {
			if (takes_value(a) && next == NULL) {
				fprintf(stderr, "sleutel-app: --%s needs a value\n", a);
				return CLI_USAGE;
			}
			used = takes_value(a) || is_number(next) ? 1 : 0;
			c->c_optk[c->c_nopt] = a;
			c->c_optv[c->c_nopt++] = used ? next : NULL;
		} else {
			fprintf(stderr, "sleutel-app: unknown option --%s\n", a);
			return CLI_USAGE;
		}
		i += used;
	}
	return CLI_OK;
}

static int
dispatch(struct cli *c)
{
	const char *cmd = c->c_npos > 0 ? c->c_pos[0] : NULL;

	if (cmd == NULL)
		return cmd_interactive(c);
	if (strcmp(cmd, "enroll") == 0)
		return cmd_enroll(c);
	if (strcmp(cmd, "recover") == 0)
		return cmd_recover(c);
	if (strcmp(cmd, "pending") == 0)
		return cmd_pending(c);
	if (strcmp(cmd, "approve") == 0)
		return cmd_approve(c);
	if (strcmp(cmd, "refuse") == 0)
		return cmd_refuse(c);
	if (strcmp(cmd, "scan") == 0)
		return cmd_scan(c);
	if (strcmp(cmd, "devices") == 0)
		return cmd_devices(c);
	if (strcmp(cmd, "remove") == 0)
		return cmd_remove(c);
	if (strcmp(cmd, "notices") == 0)
		return cmd_notices(c);
	if (strcmp(cmd, "smartid") == 0)
		return cmd_smartid(c);
	fprintf(stderr, "sleutel-app: unknown command %s\n", cmd);
	usage(stderr);
	return CLI_USAGE;
}

int
main(int argc, char **argv)
{
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.c_lang = "nl";
	c.c_code_fd = -1;
	umask(077); /* the state file holds the transport key */
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return CLI_OK;
	}
	if (parse_args(&c, argc, argv) != CLI_OK) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (c.c_state == NULL) {
		fprintf(stderr, "sleutel-app: --state FILE is required\n");
		usage(stderr);
		return CLI_USAGE;
	}
	c.c_tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !c.c_json;
	if (httpc_global_init() != SL_OK) {
		fprintf(stderr, "sleutel-app: cannot start libcurl\n");
		return CLI_REFUSED;
	}
	rc = dispatch(&c);
	sapp_free(c.c_app);
	httpc_global_cleanup();
	return rc;
}
