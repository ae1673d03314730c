/*
 * kh_util.h — what the key holder's unit tests share.
 */
#ifndef SL_KH_UTIL_H
#define SL_KH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/keyholder/holder_int.h"

/* Remove the flat directory `dir` and the files in it; 0 or -1. */
int kh_test_rm_dir(const char *dir);
/* One request through holder_handle (asserted to build): the status, the
 * answer's payload in out (KH_PAYLOAD_MAX bytes). */
int kh_test_call(
	struct holder *ho, uint16_t op, const char *kid, const void *p, size_t len, uint8_t *out, size_t *outlen);

#endif
