/* err.c — error codes and user-facing messages. */
#include <stdio.h>

#include "core.h"

int
sl_fail(struct sl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
sl_strerror(int code)
{
	switch (code) {
	case SL_OK: return "ok";
	case SL_ENOMEM: return "out of memory";
	case SL_EINVAL: return "invalid input";
	case SL_ENOTFOUND: return "not found";
	case SL_ETOOBIG: return "too large";
	case SL_EEXPIRED: return "expired";
	case SL_EDENIED: return "denied";
	case SL_ESTORE: return "database error";
	case SL_ECRYPTO: return "cryptographic error";
	case SL_EIO: return "I/O error";
	case SL_ECONFLICT: return "conflict";
	case SL_EBUSY: return "busy";
	default: return "error";
	}
}
