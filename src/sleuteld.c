/*
 * sleuteld — the sleutel identity server.  main() only parses options,
 * loads the configuration, starts the key holder (the process that holds
 * the private keys, src/keyholder) and the server, and waits for a signal.
 * The key holder gone (SIGCHLD) is fatal: sleuteld stops gracefully and
 * exits 1, and a supervisor restarts both (as relayd's parent does).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "httpc/httpc.h"
#include "keyholder/keyholder.h"
#include "server/server.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sleuteld --config FILE\n"
			"       sleuteld --help | --version\n");
}

/* What a compromise of this process could reach when the key holder does
 * not run under an account of its own (docs/security.md, "Privilege
 * separation"). */
static void
warn_separation(const struct sl_config *conf)
{
	if (geteuid() != 0)
		log_warn("started as uid %u, not root: the key holder runs as the same user, who can read the key "
			 "files (start as root with [server] user and keyholder_user)",
			(unsigned)geteuid());
	else if (conf->c_user[0] != '\0' && conf->c_keyholder_user[0] == '\0')
		log_warn("the key holder runs as [server] user %s, as sleuteld does, who can then read the key "
			 "files: set [server] keyholder_user to an account of its own",
			conf->c_user);
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct sl_config *conf;
	struct keyholder *kh;
	struct server *srv;
	struct sl_err err = { 0 };
	sigset_t set;
	int sig = 0, status = 0;

	if (argc > 1 && strcmp(argv[1], "--keyholder") == 0)
		return keyholder_main(argc, argv);
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
	/* Signals are taken synchronously in this thread; every other thread
	 * inherits the mask and never sees them.  Blocked before the key
	 * holder starts, so its early death is still a pending SIGCHLD. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit (RLIMIT_FSIZE) reached must fail the write with
	 * EFBIG, which the store answers as a full disk, not kill the
	 * process: a full disk costs writes, never the reads. */
	signal(SIGXFSZ, SIG_IGN);
	if (keyholder_files_check(conf, &err) != SL_OK) {
		fprintf(stderr, "sleuteld: %s\n", err.msg);
		config_free(conf);
		return 1;
	}
	warn_separation(conf);
	/* Before any thread: the key holder is forked (then exec'd). */
	kh = keyholder_start("/proc/self/exe", path, conf->c_keyholder_channels, &err);
	if (kh == NULL) {
		fprintf(stderr, "sleuteld: %s\n", err.msg);
		config_free(conf);
		return 1;
	}
	if (httpc_global_init() != SL_OK) {
		fprintf(stderr, "sleuteld: cannot initialise libcurl\n");
		keyholder_stop(kh);
		config_free(conf);
		return 1;
	}
	srv = server_start(conf, kh, &err);
	if (srv == NULL || keyholder_drop_user(conf->c_user, "sleuteld", &err) != SL_OK) {
		fprintf(stderr, "sleuteld: %s\n", err.msg);
		server_stop(srv);
		keyholder_stop(kh);
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
		if (sig == SIGCHLD) {
			if (!keyholder_reap(kh))
				continue;
			log_error("the key holder is gone: stopping (restart sleuteld)");
			status = 1;
		}
		break;
	}
	log_info("signal %d: stopping", sig);
	server_stop(srv);
	keyholder_stop(kh);
	config_free(conf);
	httpc_global_cleanup();
	log_info("stopped");
	return status;
}
