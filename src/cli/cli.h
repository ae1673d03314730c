/*
 * cli — the operator's command `sleutel`: init, clients, keys, app accounts
 * and devices, Smart-ID accounts and devices, the SMS outbox, the demo
 * PKI, and operations: check-config, audit export, backup and restore.  Each subcommand takes --help; every command that prints data takes
 * --json; errors go to stderr and the exit status is non-zero.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <stdbool.h>

#include <jansson.h>

#include "../config/config.h"
#include "../store/store.h"

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

int cli_init(int argc, char **argv);
int cli_client(const char *config, int argc, char **argv);
int cli_keys(const char *config, int argc, char **argv);
int cli_pki(int argc, char **argv);
int cli_account(const char *config, int argc, char **argv);
int cli_device(const char *config, int argc, char **argv);
int cli_sms(const char *config, int argc, char **argv);
int cli_smartid(const char *config, int argc, char **argv);
int cli_rp(const char *config, int argc, char **argv);
/* Operations (issue 12): checkconfig.c, audit.c, backup.c ("backup" or
 * "restore" in cmd). */
int cli_check_config(const char *config, int argc, char **argv);
int cli_audit_cmd(const char *config, int argc, char **argv);
int cli_backup(const char *config, const char *cmd, int argc, char **argv);

/* Shared helpers (common.c). */
struct cli_ctx {
	struct sl_config *cc_conf;
	struct store *cc_store;
};
int cli_open(const char *config, struct cli_ctx *cc);
void cli_close(struct cli_ctx *cc);
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An operator action in the audit trail (who: the Unix user). */
void cli_audit(struct cli_ctx *cc, const char *event, const char *client_id, const char *detail);
/* The same for an action on a person's account or device. */
void cli_audit_person(struct cli_ctx *cc, const char *event, const char *person_id, const char *detail);
/* A time as ISO 8601 UTC ("2026-05-01T09:30:00Z"), or "-" for 0. */
#define CLI_TIME_LEN 24
const char *cli_time(int64_t t, char buf[CLI_TIME_LEN]);
bool cli_has_flag(int argc, char **argv, const char *flag);
/* o["name"] = "Given Family" of the person. */
void cli_set_person_name(json_t *o, const struct store_person *p);
/* JSON for a time (null for 0) and for a lock (null when not locked now,
 * the time it ends, or "forever"); either as text ("-", ISO time,
 * "forever"). */
json_t *cli_json_time(int64_t t);
json_t *cli_json_lock(int64_t until);
const char *cli_text_time(const json_t *v, char buf[CLI_TIME_LEN]);
/* argv[0] is one of the NULL-terminated `verbs` and, from the
 * `nargless`-th verb on, argv[1] is given (`what` names it in the
 * message); else CLI_USAGE after the message. */
int cli_check_verb(const char *cmd, int argc, char **argv, const char *const *verbs, size_t nargless, const char *what);
/* Print a JSON value, indented, on stdout. */
void cli_print_json(const json_t *v);
/* Generate and register a signing key of each algorithm, each signing
 * `delay` seconds after it is registered (and so published); the private
 * halves go to keys_dir/<kid>.pem (mode 0600).  With `fixture_dir` (test
 * builds' `sleutel init` only) each is that folder's <alg>.pem under a new
 * kid instead: two RSA key generations are most of an init's CPU, and the
 * tests start hundreds of installations. */
int cli_keys_generate(
	struct store *st, const char *keys_dir, const char *fixture_dir, int64_t delay, struct sl_err *err);
/* The two halves of cli_keys_generate, for `keys rotate` as root: the key
 * files written (and given to `owner`, [server] keyholder_user, when not
 * NULL) into kids[]; then, as [server] user, registered (kids[] freed). */
#define CLI_KEY_ALGS 3
extern const char *const cli_key_algs[CLI_KEY_ALGS];
struct passwd;
int cli_keys_write(const char *keys_dir, const char *fixture_dir, const struct passwd *owner, char *kids[CLI_KEY_ALGS],
	struct sl_err *err);
int cli_keys_register(struct store *st, char *kids[CLI_KEY_ALGS], int64_t delay, struct sl_err *err);
/* initown.c: the installation `sleutel init` made in dir given to [server]
 * user and keyholder_user (run as root). */
int cli_init_own(const char *dir, const struct passwd *user, const struct passwd *kh, struct sl_err *err);

#endif
