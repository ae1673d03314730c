/*
 * log.c — structured logs: one JSON object per line on stderr.  Callers
 * never pass secrets (codes, tokens, keys, PINs); the message is escaped
 * so a client-controlled string cannot forge a log line.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/* The level is set once at start-up before any thread runs. */
static enum sl_log_level log_min = SL_LOG_INFO;

void
sl_log_set_level(enum sl_log_level level)
{
	log_min = level;
}

int
sl_log_level_parse(const char *s, enum sl_log_level *out)
{
	static const char *names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum sl_log_level)i;
			return SL_OK;
		}
	}
	return SL_EINVAL;
}

static void
log_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (; *in != '\0' && o + 7 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void
sl_log(enum sl_log_level level, const char *where, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warn", "error" };
	char msg[1024], esc[2048], stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), msg);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* One fprintf per line: stdio locks the stream, lines never interleave. */
	fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"where\":\"%s\",\"msg\":\"%s\"}\n", stamp, names[level],
		where, esc);
}
