/*
 * prompt.c — reading what the person types.  A code is typed without echo
 * (termios: no ECHO, no ICANON), each digit shown as '*', so it is never on
 * the screen or in the terminal's scrollback; the terminal is restored on
 * every path.  A code from a descriptor (scripts, tests) is one line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

int
prompt_line(const char *question, char *buf, size_t size)
{
	size_t n;

	fputs(question, stdout);
	fflush(stdout);
	if (fgets(buf, (int)size, stdin) == NULL)
		return SL_EIO;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin)) {
		int ch;
		while ((ch = getchar()) != EOF && ch != '\n')
			; /* drop the rest of an over-long line */
		buf[0] = '\0';
		return SL_ETOOBIG;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return SL_OK;
}

bool
prompt_yes(const char *question, const char *yes)
{
	char line[CLI_LINE_MAX];

	if (prompt_line(question, line, sizeof(line)) != SL_OK || line[0] == '\0')
		return false;
	return strchr(yes, line[0]) != NULL;
}

/* Read min..max digits without echo until Enter; backspace erases one. */
static int
read_masked(size_t min, size_t len, char *buf, size_t size)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return SL_EIO;
		if (ch == '\n' || ch == '\r')
			break;
		if ((ch == 0x7f || ch == '\b') && n > 0) {
			n--;
			fputs("\b \b", stdout);
		} else if (ch >= '0' && ch <= '9' && n < len && n + 1 < size) {
			buf[n++] = ch;
			fputc('*', stdout);
		} else if (ch == 0x03 || ch == 0x04) {
			return SL_EIO; /* ^C, ^D: ISIG is off while reading */
		}
		fflush(stdout);
	}
	buf[n] = '\0';
	ch = 0;
	return n >= min && n <= len ? SL_OK : SL_EINVAL;
}

int
prompt_code(const char *question, size_t len, char *buf, size_t size)
{
	return prompt_pin(question, len, len, buf, size);
}

int
prompt_pin(const char *question, size_t min, size_t max, char *buf, size_t size)
{
	struct termios old, raw;
	int rc;

	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return SL_EIO; /* not a terminal: never read a code with echo */
	raw = old;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* No echo before the question shows: what is typed after it is kept,
	 * what was typed ahead (and may have been echoed) is dropped. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
		return SL_EIO;
	fputs(question, stdout);
	fflush(stdout);
	rc = read_masked(min, max, buf, size);
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stdout);
	fflush(stdout);
	if (rc != SL_OK)
		OPENSSL_cleanse(buf, size);
	return rc;
}

/* One line from fd, without its newline; SL_EIO at end of input. */
static int
fd_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return SL_EIO;
		if (r == 0) {
			if (n == 0)
				return SL_EIO;
			break;
		}
		if (ch == '\n')
			break;
		if (ch == '\r')
			continue;
		if (n + 1 >= size)
			return SL_ETOOBIG;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return SL_OK;
}

int
read_code_fd(int fd, char *buf, size_t size)
{
	int rc = fd_line(fd, buf, size);

	if (rc != SL_OK)
		OPENSSL_cleanse(buf, size);
	return rc;
}
