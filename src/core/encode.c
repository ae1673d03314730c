/* encode.c — base64url (JOSE, tokens), base64 (HTTP Basic, the Smart-ID RP API) and hex. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core.h"

/*
 * Base64 by hand rather than EVP_EncodeBlock and a second pass over its
 * output for the URL alphabet: sleuteld encodes a dozen short values per
 * login (ids, MACs, signatures) and the ID token's JWS, and the library's
 * call and the second pass cost more than the encoding.  A character is
 * looked up in a 64-byte table as EVP_EncodeBlock does (OpenSSL 3.0's
 * conv_bin2ascii): no exposure of a secret that the library's call did
 * not have.  (A masks-only version cost three times the instructions.)
 */
static const char b64_std[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* `url`: '-' and '_' and no padding (RFC 4648 §5); otherwise '+', '/'
 * and '=' (§4).  NULL when out of memory or too long. */
static char *
b64_encode(const uint8_t *data, size_t len, bool url)
{
	const char *a = url ? b64_url : b64_std;
	size_t full = len / 3 * 3, rest = len - full, o = 0;
	char *out;

	if (len > (size_t)INT32_MAX / 2)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < full; i += 3) {
		unsigned w = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		out[o++] = a[w >> 18];
		out[o++] = a[w >> 12 & 63];
		out[o++] = a[w >> 6 & 63];
		out[o++] = a[w & 63];
	}
	if (rest > 0) {
		unsigned w = (unsigned)data[full] << 16 | (rest == 2 ? (unsigned)data[full + 1] << 8 : 0);
		out[o++] = a[w >> 18];
		out[o++] = a[w >> 12 & 63];
		if (rest == 2)
			out[o++] = a[w >> 6 & 63];
		else if (!url)
			out[o++] = '=';
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

char *
sl_b64_encode(const uint8_t *data, size_t len)
{
	return b64_encode(data, len, false);
}

char *
sl_b64url_encode(const uint8_t *data, size_t len)
{
	return b64_encode(data, len, true);
}

/* Only the alphabet, and '=' only as the last one or two characters:
 * EVP_DecodeBlock alone would skip white space and accept inner padding. */
static bool
b64_well_formed(const char *in, size_t inlen)
{
	size_t pad = 0;

	while (pad < 2 && pad < inlen && in[inlen - 1 - pad] == '=')
		pad++;
	if (pad == inlen && inlen > 0)
		return false;
	for (size_t i = 0; i < inlen - pad; i++) {
		char c = in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			    c == '/'))
			return false;
	}
	return true;
}

static uint8_t *
b64_decode_std(char *in, size_t inlen, size_t *outlen)
{
	uint8_t *out;
	int n, pad = 0;

	if (inlen % 4 != 0 || inlen > (size_t)INT32_MAX / 2 || !b64_well_formed(in, inlen))
		return NULL;
	out = malloc(inlen / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	n = EVP_DecodeBlock(out, (unsigned char *)in, (int)inlen);
	if (n < 0) {
		free(out);
		return NULL;
	}
	if (inlen >= 1 && in[inlen - 1] == '=')
		pad++;
	if (inlen >= 2 && in[inlen - 2] == '=')
		pad++;
	*outlen = (size_t)n - (size_t)pad;
	return out;
}

uint8_t *
sl_b64url_decode(const char *s, size_t slen, size_t *outlen)
{
	char *tmp;
	uint8_t *out;
	size_t n = slen;

	if (slen % 4 == 1 || slen > (size_t)INT32_MAX / 2)
		return NULL;
	tmp = malloc(slen + 4);
	if (tmp == NULL)
		return NULL;
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			goto bad;
		tmp[i] = c;
	}
	while (n % 4 != 0)
		tmp[n++] = '=';
	out = b64_decode_std(tmp, n, outlen);
	free(tmp);
	return out;
bad:
	free(tmp);
	return NULL;
}

uint8_t *
sl_b64_decode(const char *s, size_t slen, size_t *outlen)
{
	char *tmp = sl_strndup(s, slen);
	uint8_t *out;

	if (tmp == NULL)
		return NULL;
	out = b64_decode_std(tmp, slen, outlen);
	free(tmp);
	return out;
}

void
sl_hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static bool
url_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

/* A run of unreserved characters goes in with one sl_buf_add (a redirect
 * or a form carries a dozen ids and URLs a login: a call per character
 * was 1.5 k instructions per value). */
int
sl_url_encode(struct sl_buf *out, const char *s)
{
	static const char digits[] = "0123456789ABCDEF";
	int rc = SL_OK;

	while (*s && rc == SL_OK) {
		size_t n = 0;

		while (url_unreserved((unsigned char)s[n]))
			n++;
		if (n > 0) {
			rc = sl_buf_add(out, s, n);
			s += n;
		} else {
			unsigned char c = (unsigned char)*s++;
			char enc[3] = { '%', digits[c >> 4], digits[c & 15] };
			rc = sl_buf_add(out, enc, 3);
		}
	}
	return rc;
}
