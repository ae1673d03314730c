/*
 * cli.h — the sleutel-app terminal app: a phone app in a terminal, on
 * libsleutel-app.  Interactive on a terminal (prompts in the person's
 * language, masked code entry), scriptable with subcommands and --json.
 *
 * Exit codes: 0 done, 1 refused (by the server, or a network or state
 * failure: the message says which), 2 usage.
 */
#ifndef SAPP_CLI_H
#define SAPP_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../sleutel-app.h"

enum { CLI_OK = 0, CLI_REFUSED = 1, CLI_USAGE = 2 };

#define CLI_MAX_POS 8 /* positional arguments */
#define CLI_MAX_OPT 8 /* command options */
#define CLI_LINE_MAX 256 /* bytes of a typed line */

/* What the person sees, in four languages (text.c). */
enum txt {
	T_WELCOME,
	T_TERMS,
	T_PHONE,
	T_SMS_SENT,
	T_SMS_CODE,
	T_ATTEMPTS_LEFT,
	T_PROOFING,
	T_PROOFING_WAIT,
	T_PROOFED,
	T_PROOF_CODE_WAIT,
	T_PROOF_CODE,
	T_PROOF_AGAIN,
	T_CODE_NEW,
	T_CODE_AGAIN,
	T_CODE_MISMATCH,
	T_CODE_FIVE,
	T_READY,
	T_WAITING,
	T_NO_REQUESTS,
	T_ACTION_LOGIN,
	T_ACTION_PAYMENT,
	T_ACTION_SIGN,
	T_PICK,
	T_CONFIRM,
	T_CODE_ENTER,
	T_APPROVED,
	T_REFUSED,
	T_WRONG_CODE,
	T_LOCKED,
	T_EXPIRES,
	T_ON_OS,
	T_SOME_BROWSER,
	T_REQUESTED_FROM,
	T_NOT_YOUR_SCREEN,
	T_DEVICES,
	T_THIS_DEVICE,
	T_REMOVED,
	T_YES_CHARS,
	T_SID_REGISTER,
	T_SID_COUNTRY,
	T_SID_TERMS,
	T_SID_PIN_NOTE,
	T_SID_PIN1_NEW,
	T_SID_PIN2_NEW,
	T_SID_PIN_AGAIN,
	T_SID_PIN_MISMATCH,
	T_SID_PIN_FORM,
	T_SID_MAKING_KEYS,
	T_SID_CONTINUE,
	T_SID_CODE,
	T_SID_WAITING,
	T_SID_CONFIRMED,
	T_SID_RECALL,
	T_SID_PIN1_ENTER,
	T_SID_PIN2_ENTER,
	T_SID_WRONG_RECALL,
	T_SID_FAILED,
	T_SID_EXPIRED,
	T_SID_READY,
	T_SID_VC,
	T_SID_VC_CHECK,
	T_SID_WRONG_PIN,
	T_SID_REVOKED,
	T_SID_NONE,
	T_SID_DOCNR,
	T_SID_FAILURES,
	T_SID_BAD_REQUEST,
	T_RP_CERT,
	T_RP_PICK,
	T_RP_NOT_SUPPORTED,
	T_RP_WRONG_VC,
	T_RP_BAD_LINK,
	T_RP_CALLBACK,
	T_NOTICES,
	T_NO_NOTICES,
	T_NOTICE_ADDED,
	T_NOTICE_BLOCKED,
	T_NOTICE_REVOKED,
	T_NOTICE_ACT,
	T_RECOVER_EID,
	T_RECOVERED,
	T_COUNT
};

struct cli {
	const char *c_state;
	const char *c_server;
	const char *c_ca;
	const char *c_lang; /* "nl" (default), "fr", "de", "en" */
	bool c_json;
	bool c_tty; /* stdin and stdout are a terminal: ask, mask */
	int c_code_fd; /* -1: stdin */
	const char *c_pos[CLI_MAX_POS]; /* the command's positional arguments */
	int c_npos;
	const char *c_optk[CLI_MAX_OPT]; /* its options: name (without --) and value (NULL for a flag) */
	const char *c_optv[CLI_MAX_OPT];
	int c_nopt;
	struct sapp *c_app;
};

/* text.c */
const char *txt(const struct cli *c, enum txt id);
bool lang_known(const char *lang);

/* prompt.c */
/* A line typed at the terminal (echoed); SL_EIO at end of input. */
int prompt_line(const char *question, char *buf, size_t size);
/* A code of `len` digits, typed without echo (each digit shows as '*'). */
int prompt_code(const char *question, size_t len, char *buf, size_t size);
/* A yes/no question; `yes` holds the letters that mean yes. */
bool prompt_yes(const char *question, const char *yes);
/* A code from descriptor `fd` (not a terminal): its first line. */
int read_code_fd(int fd, char *buf, size_t size);

/* A PIN of min..max digits, typed without echo (each digit as '*'). */
int prompt_pin(const char *question, size_t min, size_t max, char *buf, size_t size);

/* commands.c: shared by the commands */
/* The text `id` with %1 and %2 replaced by a1 and a2 (NULL: nothing). */
void fmt_txt(const struct cli *c, char *buf, size_t size, enum txt id, const char *a1, const char *a2);
void say(const struct cli *c, enum txt id);
void say2(const struct cli *c, enum txt id, const char *a1, const char *a2);
void say_num(const struct cli *c, enum txt id, long long v);
/* Only options of `allowed` (NULL-ended), minpos..maxpos positionals. */
bool args_ok(const struct cli *c, int minpos, int maxpos, const char *const *allowed);
/* Open the state (`create`: make it when it does not exist). */
int cli_open(struct cli *c, bool create);
/* args_ok, then cli_open of an existing state: an exit code. */
int cli_start(struct cli *c, int minpos, int maxpos, const char *const *allowed);
/* --wait [S]: 0 when absent, `dflt` without a value, at most `max`. */
int wait_value(const struct cli *c, int dflt, int max);

/* A secret the person types: masked on a terminal (twice, to choose
 * one), else the next line of --code-fd or stdin. */
struct secret_ask {
	enum txt sa_new, sa_enter, sa_again, sa_mismatch, sa_form; /* the prompts */
	size_t sa_min, sa_max; /* digits */
	bool (*sa_ok)(const char *secret, const void *arg); /* its form */
	const void *sa_arg;
	const char *sa_fd_msg; /* said when a line from a descriptor is not of the form */
};
int get_secret(struct cli *c, const struct secret_ask *a, bool twice, char out[CLI_LINE_MAX]);
/* The end of a command: a refusal reported (exit 1), or `ans` shown;
 * `ans` is released either way. */
int cli_done(struct cli *c, int rc, const struct sl_err *err, json_t *ans,
	void (*show)(const struct cli *c, const json_t *ans));
/* A refused answer to a request: the failures, lock or revocation said
 * in words, then the error (exit 1). */
int answer_failed(struct cli *c, int rc, const struct sl_err *err);
/* Answer request `r` with `fn` (a refusal) and show the outcome. */
int answer_with(struct cli *c, const json_t *r, int (*fn)(struct sapp *, const json_t *, json_t **, struct sl_err *));
/* The pending request `id` found with `fn` (after opening the state). */
int find_with(
	struct cli *c, const char *id, json_t **r, int (*fn)(struct sapp *, const char *, json_t **, struct sl_err *));
/* The requests of a `pending` (or its refusal), each shown with `show`;
 * `arr` is released. */
int show_requests(struct cli *c, int rc, const struct sl_err *err, json_t *arr,
	void (*show)(const struct cli *c, const json_t *r));
/* The devices of a `devices` (or its refusal); `arr` is released. */
int show_devices(struct cli *c, int rc, const struct sl_err *err, json_t *arr);
/* "Toestel verwijderd." (or the JSON answer). */
void show_removed(const struct cli *c, const json_t *ans);
/* {"<name>": arr} as one line of JSON. */
void print_list(const struct cli *c, const char *name, json_t *arr);

/* smartid.c: `sleutel-app smartid ...` */
int cmd_smartid(struct cli *c);
/* A PIN of `use` ("auth": PIN1, "sign": PIN2), asked with `ask`: masked
 * on a terminal (twice when `twice`), else one line of --code-fd or stdin. */
int get_pin(struct cli *c, enum txt ask, const char *use, bool twice, char pin[CLI_LINE_MAX]);

/* smartid_rp.c: RP API requests (docs/smart-id.md "Device side") */
/* `smartid link URL`: claim a scanned or opened device link, then answer. */
int rp_link(struct cli *c);
/* `smartid approve|refuse ID` of an RP API request (`confirm`: approve). */
int rp_answer(struct cli *c, const json_t *r, bool confirm);

/* commands.c: each returns an exit code */
const char *cli_opt(const struct cli *c, const char *name, bool *present);
int cli_fail(struct cli *c, int rc, const struct sl_err *err);
int cmd_enroll(struct cli *c);
/* "enroll start" and "recover start": --phone, --name, --terms (asked on
 * a terminal when absent), then `start` (sapp_enroll_start or
 * sapp_recover_start); an exit code. */
typedef int (*cli_start_fn)(struct sapp *, const struct sapp_enroll_spec *, json_t **, struct sl_err *);
int cli_enroll_start(struct cli *c, cli_start_fn start);
/* The 5-digit app code: chosen twice on a terminal, else one line. */
int get_app_code(struct cli *c, bool twice, char code[CLI_LINE_MAX]);
/* recover.c: "recover start", "recover finish [--revoke ID,...]". */
int cmd_recover(struct cli *c);
int cmd_pending(struct cli *c);
int cmd_approve(struct cli *c);
int cmd_refuse(struct cli *c);
int cmd_scan(struct cli *c);
int cmd_devices(struct cli *c);
/* `notices`: what the server tells about the person's other devices. */
int cmd_notices(struct cli *c);
int cmd_remove(struct cli *c);
int cmd_interactive(struct cli *c);
void show_request(const struct cli *c, const json_t *r);
/* "approved" or "refused" (or the JSON answer with --json). */
void show_outcome(const struct cli *c, const json_t *ans);
void print_json(const json_t *doc);

#endif
