/*
 * sleuteld — the sleutel identity server.  main() only parses options,
 * loads the configuration, starts the server and waits for a signal.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "httpc/httpc.h"
#include "server/server.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sleuteld --config FILE\n"
			"       sleuteld --help | --version\n");
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct sl_config *conf;
	struct server *srv;
	struct sl_err err = { 0 };
	sigset_t set;
	int sig = 0;

	umask(077); /* keys, database and logs are for the operator alone */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("sleuteld %s\n", SL_VERSION);
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (path == NULL) {
		usage();
		return 2;
	}
	conf = config_load(path, &err);
	if (conf == NULL) {
		fprintf(stderr, "sleuteld: %s\n", err.msg);
		return 1;
	}
	sl_log_set_level(conf->c_log_level);
	if (httpc_global_init() != SL_OK) {
		fprintf(stderr, "sleuteld: cannot initialise libcurl\n");
		config_free(conf);
		return 1;
	}
	/* Signals are taken synchronously in this thread; every other thread
	 * inherits the mask and never sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv = server_start(conf, &err);
	if (srv == NULL) {
		fprintf(stderr, "sleuteld: %s\n", err.msg);
		config_free(conf);
		httpc_global_cleanup();
		return 1;
	}
	log_info("sleuteld %s ready, issuer %s", SL_VERSION, conf->c_issuer);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			keyring_refresh(srv);
			continue;
		}
		break;
	}
	log_info("signal %d: stopping", sig);
	server_stop(srv);
	config_free(conf);
	httpc_global_cleanup();
	log_info("stopped");
	return 0;
}
