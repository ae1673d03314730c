/*
 * sleutel — the operator's command.  main() picks the subcommand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void
usage(void)
{
	printf("usage: sleutel [--config FILE] COMMAND ...\n\n"
	       "commands:\n"
	       "  init DIR        write a working configuration, TLS certificates, keys and database\n"
	       "  client ...      add, list, show and remove relying parties (sleutel client --help)\n"
	       "  keys ...        rotate and list the ID-token signing keys (sleutel keys --help)\n"
	       "  account ...     app accounts: list, show, block, unblock, unlock (sleutel account --help)\n"
	       "  device ...      app devices: list, block, unblock, remove (sleutel device --help)\n"
	       "  smartid ...     Smart-ID accounts and devices: list, show, revoke, unlock (sleutel smartid --help)\n"
	       "  rp ...          Smart-ID RP API relying parties: add, list, show, disable, enable (sleutel rp "
	       "--help)\n"
	       "  sms tail        the SMS outbox, optionally followed (sleutel sms --help)\n"
	       "  pki ...         a demo eID PKI: CAs, cards, revocation, OCSP (sleutel pki --help)\n"
	       "  check-config [FILE]  check the configuration and what it names before sleuteld starts\n"
	       "  audit export    the audit trail as JSON lines or CSV (sleutel audit --help)\n"
	       "  backup DEST     an online backup of the SQLite store (sleutel backup --help)\n"
	       "  restore SRC     replace the SQLite store with a backup, sleuteld stopped\n\n"
	       "--config FILE defaults to $SLEUTEL_CONFIG, then ./sleutel.ini.\n");
}

int
main(int argc, char **argv)
{
	const char *config = getenv("SLEUTEL_CONFIG");
	int i = 1;

	umask(077); /* keys and database are for the operator alone */
	if (config == NULL)
		config = "sleutel.ini";
	if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
		config = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage();
		return CLI_USAGE;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
		usage();
		return CLI_OK;
	}
	if (strcmp(argv[i], "--version") == 0) {
		printf("sleutel %s\n", SL_VERSION);
		return CLI_OK;
	}
	if (strcmp(argv[i], "init") == 0)
		return cli_init(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "client") == 0)
		return cli_client(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "keys") == 0)
		return cli_keys(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "account") == 0)
		return cli_account(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "device") == 0)
		return cli_device(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "smartid") == 0)
		return cli_smartid(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "rp") == 0)
		return cli_rp(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "sms") == 0)
		return cli_sms(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "pki") == 0)
		return cli_pki(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "check-config") == 0)
		return cli_check_config(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "audit") == 0)
		return cli_audit_cmd(config, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "backup") == 0 || strcmp(argv[i], "restore") == 0)
		return cli_backup(config, argv[i], argc - i - 1, argv + i + 1);
	fprintf(stderr, "sleutel: unknown command %s (see sleutel --help)\n", argv[i]);
	return CLI_USAGE;
}
