/*
 * sms.c — `sleutel sms tail`: the SMS outbox ([sms] driver = outbox), for
 * the operator and the demo, where no real gateway sends the messages.
 * The texts hold activation codes: that is the point of reading them here,
 * so this command is for whoever may read the database anyway.
 *
 * --follow polls the table every SMS_POLL_MS until interrupted; each new
 * message is printed (and flushed) as it is committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

#define SMS_POLL_MS 500
#define SMS_BATCH 1000 /* messages read per query */

static void
sms_usage(void)
{
	printf("usage: sleutel [--config FILE] sms tail [--follow] [--after SEQ] [--json]\n"
	       "\nPrints the messages in the SMS outbox, oldest first (those after SEQ with --after),\n"
	       "one a line: SEQ, time, number, text; --json prints one JSON object a line.\n"
	       "--follow keeps printing new messages (the table is read every 0.5 s) until interrupted.\n");
}

struct tail_ctx {
	bool tc_json;
	int64_t tc_last; /* highest seq printed */
	int tc_n; /* rows in this batch */
};

static int
tail_row(const struct store_sms *m, void *arg)
{
	struct tail_ctx *tc = arg;
	char t[CLI_TIME_LEN];

	if (tc->tc_json) {
		json_t *o = json_pack("{s:I,s:I,s:s,s:s}", "seq", (json_int_t)m->sm_seq, "created",
			(json_int_t)m->sm_created, "phone", m->sm_phone, "text", m->sm_text);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s != NULL)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		printf("%-6lld %s  %-16s %s\n", (long long)m->sm_seq, cli_time(m->sm_created, t), m->sm_phone,
			m->sm_text);
	}
	if (m->sm_seq > tc->tc_last)
		tc->tc_last = m->sm_seq;
	tc->tc_n++;
	return SL_OK;
}

/* Everything after tc_last, in batches. */
static int
tail_drain(struct cli_ctx *cc, struct tail_ctx *tc)
{
	int rc;

	do {
		tc->tc_n = 0;
		rc = store_sms_each(cc->cc_store, tc->tc_last, SMS_BATCH, tail_row, tc);
	} while (rc == SL_OK && tc->tc_n == SMS_BATCH);
	fflush(stdout);
	return rc;
}

static int
sms_tail(struct cli_ctx *cc, int argc, char **argv)
{
	struct tail_ctx tc = { .tc_json = cli_has_flag(argc, argv, "--json") };
	bool follow = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0) {
			follow = true;
		} else if (strcmp(argv[i], "--after") == 0) {
			char *end = NULL;
			long long v = i + 1 < argc ? strtoll(argv[++i], &end, 10) : -1;
			if (end == NULL || end == argv[i] || *end != '\0' || v < 0)
				return cli_error("sms tail: --after needs a sequence number (0 or more)");
			tc.tc_last = v;
		} else {
			return cli_error("sms tail: unknown option %s (see sleutel sms --help)", argv[i]);
		}
	}
	rc = tail_drain(cc, &tc);
	while (rc == SL_OK && follow) {
		struct timespec ts = { 0, SMS_POLL_MS * 1000000L };
		nanosleep(&ts, NULL);
		rc = tail_drain(cc, &tc);
	}
	if (rc != SL_OK)
		return cli_error("cannot read the SMS outbox: %s", sl_strerror(rc));
	return CLI_OK;
}

int
cli_sms(const char *config, int argc, char **argv)
{
	struct cli_ctx cc;
	int rc;

	if (argc < 1 || cli_has_flag(argc, argv, "--help")) {
		sms_usage();
		return argc < 1 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[0], "tail") != 0) {
		cli_error("sms: unknown command %s (see sleutel sms --help)", argv[0]);
		return CLI_USAGE;
	}
	if (cli_open(config, &cc) != CLI_OK)
		return CLI_FAIL;
	rc = sms_tail(&cc, argc, argv);
	cli_close(&cc);
	return rc;
}
