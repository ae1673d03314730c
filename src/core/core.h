/*
 * core — the small things every module needs and nothing with I/O policy:
 * error codes and messages, a bounded growable buffer, base64url, a CSPRNG
 * wrapper, constant-time comparison, clock access, logging and the INI
 * configuration.
 *
 * Conventions used across sleutel: functions return 0 or a negative SL_E*
 * code; a function that can fail for a reason the user should read takes a
 * `struct sl_err *` and fills its message.  x_new() is paired with x_free(),
 * and x_free(NULL) does nothing.
 */
#ifndef SL_CORE_H
#define SL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum {
	SL_OK = 0,
	SL_ERR = -1, /* generic failure, message says why */
	SL_ENOMEM = -2, /* allocation failed */
	SL_EINVAL = -3, /* bad input from a caller or a client */
	SL_ENOTFOUND = -4, /* no such record */
	SL_ETOOBIG = -5, /* a limit was exceeded */
	SL_EEXPIRED = -6, /* too late */
	SL_EDENIED = -7, /* authentication or authorisation refused */
	SL_ESTORE = -8, /* database failure */
	SL_ECRYPTO = -9, /* a cryptographic operation failed */
	SL_EIO = -10, /* file or network I/O failed */
	SL_ECONFLICT = -11, /* already exists, already used */
	SL_EBUSY = -12, /* try again later */
};

#define SL_ERR_MAX 256

/* An error message meant for a person (operator or end user). */
struct sl_err {
	int code;
	char msg[SL_ERR_MAX];
};

/* Fill `err` (may be NULL) and return `code`. */
int sl_fail(struct sl_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *sl_strerror(int code);

/* ---- bounded buffer (curl's dynbuf): growing past `max` is an error ---- */
struct sl_buf {
	char *b_data;
	size_t b_len;
	size_t b_cap;
	size_t b_max;
};

void sl_buf_init(struct sl_buf *buf, size_t max);
void sl_buf_reset(struct sl_buf *buf); /* frees the memory */
int sl_buf_add(struct sl_buf *buf, const void *data, size_t len);
int sl_buf_adds(struct sl_buf *buf, const char *s);
int sl_buf_addf(struct sl_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sl_buf_vaddf(struct sl_buf *buf, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The NUL-terminated contents ("" when empty); owned by the buffer. */
const char *sl_buf_str(const struct sl_buf *buf);
/* Hand the contents to the caller (free() them); the buffer is emptied. */
char *sl_buf_take(struct sl_buf *buf);

/* ---- encodings ---- */
/* base64url without padding. Returns a malloc'd string or NULL. */
char *sl_b64url_encode(const uint8_t *data, size_t len);
/* Decodes into a malloc'd buffer; returns NULL on bad input. */
uint8_t *sl_b64url_decode(const char *s, size_t slen, size_t *outlen);
/* Standard base64 with padding (for HTTP Basic). */
uint8_t *sl_b64_decode(const char *s, size_t slen, size_t *outlen);
/* Standard base64 with padding (RFC 4648 §4). Returns a malloc'd string or NULL. */
char *sl_b64_encode(const uint8_t *data, size_t len);
void sl_hex(const uint8_t *data, size_t len, char *out); /* out: 2*len+1 */
/* Percent-encode for a URL query (RFC 3986 unreserved kept). */
int sl_url_encode(struct sl_buf *out, const char *s);

/* ---- JSON ---- */
/* json_dumps(v, JSON_COMPACT), byte for byte, faster (json.c); free() it. */
struct json_t;
char *sl_json_compact(const struct json_t *v);

/* ---- randomness (OpenSSL's CSPRNG) ---- */
int sl_random(void *out, size_t len);
/* A random identifier: `bytes` random bytes as base64url; malloc'd. */
char *sl_random_id(size_t bytes);
/* The same, but starting with a letter or digit, for identifiers people
 * type as command arguments or use as file names (a leading '-' reads as
 * an option). */
char *sl_random_name(size_t bytes);
/* Uniform random integer in [0, bound). */
int sl_random_uniform(uint32_t bound, uint32_t *out);

/* ---- comparison ---- */
/* Constant-time equality for secrets; lengths are not secret. */
bool sl_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
bool sl_ct_streq(const char *a, const char *b);

/* ---- strings ---- */
size_t sl_strlcpy(char *dst, const char *src, size_t size);
char *sl_strdup(const char *s); /* NULL-safe */
char *sl_strndup(const char *s, size_t n);
bool sl_str_empty(const char *s); /* NULL or "" */
/* true when s is printable ASCII without control characters */
bool sl_str_printable(const char *s, size_t len);

/* ---- time ---- */
int64_t sl_now(void); /* seconds since the epoch (UTC) */
int64_t sl_now_ms(void); /* milliseconds, CLOCK_REALTIME */
int64_t sl_monotonic_ms(void); /* milliseconds, CLOCK_MONOTONIC */

/* ---- logging: one JSON object per line on stderr ---- */
enum sl_log_level { SL_LOG_DEBUG, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR };
void sl_log_set_level(enum sl_log_level level);
int sl_log_level_parse(const char *s, enum sl_log_level *out);
void sl_log(enum sl_log_level level, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define log_debug(...) sl_log(SL_LOG_DEBUG, __func__, __VA_ARGS__)
#define log_info(...) sl_log(SL_LOG_INFO, __func__, __VA_ARGS__)
#define log_warn(...) sl_log(SL_LOG_WARN, __func__, __VA_ARGS__)
#define log_error(...) sl_log(SL_LOG_ERROR, __func__, __VA_ARGS__)

/* ---- files ---- */
/* Read a whole file (at most `max` bytes) into a NUL-terminated buffer. */
int sl_file_read(const char *path, size_t max, char **out, size_t *outlen, struct sl_err *err);
/* Write a file atomically (temp + fsync + rename) with the given mode. */
int sl_file_write(const char *path, const void *data, size_t len, int mode, struct sl_err *err);
/* Join `base`'s directory (when `rel` is relative) with `rel`; malloc'd. */
char *sl_path_resolve(const char *basedir, const char *rel);

#endif
