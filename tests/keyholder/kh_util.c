/*
 * kh_util.c — what the key holder's unit tests share (kh_util.h).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kh_util.h"

static uint8_t msg[KH_MSG_MAX];

int
kh_test_rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return rmdir(dir);
}

int
kh_test_call(struct holder *ho, uint16_t op, const char *kid, const void *p, size_t len, uint8_t *out, size_t *outlen)
{
	struct kh_hdr h;
	struct sl_err err = { 0 };
	size_t n = kh_msg_build(msg, op, 0, 7, kid, p, len);

	assert_true(n > 0);
	return holder_handle(ho, msg, n, out, outlen, &h, &err);
}
