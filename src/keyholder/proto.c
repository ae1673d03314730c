/*
 * proto.c — the key holder's messages: building one, and checking one that
 * arrived before anything in it is used.  Both ends run the same checks;
 * the key holder's side is the one that matters (a compromised HTTP
 * process may send anything), and tests/keyholder drives it with
 * malformed messages.
 */
#include <string.h>

#include "keyholder.h"

bool
kh_kid_ok(const char *kid, size_t len)
{
	if (len >= KH_KID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = kid[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			    c == '_'))
			return false;
	}
	return len == 0 || kid[0] != '-';
}

size_t
kh_msg_build(uint8_t *buf, uint16_t op, int16_t status, uint32_t seq, const char *kid, const void *payload, size_t len)
{
	struct kh_hdr h;
	size_t kidlen = kid ? strlen(kid) : 0;

	if (len > KH_PAYLOAD_MAX || !kh_kid_ok(kid, kidlen))
		return 0;
	memset(&h, 0, sizeof(h));
	h.kh_op = op;
	h.kh_status = status;
	h.kh_version = KH_PROTO_VERSION;
	h.kh_seq = seq;
	h.kh_len = (uint32_t)len;
	if (kidlen > 0)
		memcpy(h.kh_kid, kid, kidlen);
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), payload, len);
	return sizeof(h) + len;
}

int
kh_msg_parse(const uint8_t *msg, size_t n, bool answer, struct kh_hdr *hdr, const uint8_t **payload, struct sl_err *err)
{
	size_t kidlen;

	*payload = NULL;
	if (n < sizeof(*hdr))
		return sl_fail(err, SL_EINVAL, "short message: %zu bytes", n);
	if (n > KH_MSG_MAX)
		return sl_fail(err, SL_EINVAL, "message of %zu bytes", n);
	memcpy(hdr, msg, sizeof(*hdr));
	if (hdr->kh_len != n - sizeof(*hdr))
		return sl_fail(err, SL_EINVAL, "length %u, but %zu payload bytes", hdr->kh_len, n - sizeof(*hdr));
	if (hdr->kh_version != KH_PROTO_VERSION || hdr->kh_pad != 0)
		return sl_fail(err, SL_EINVAL, "protocol version %u, not %d", hdr->kh_version, KH_PROTO_VERSION);
	if (hdr->kh_op < 1 || hdr->kh_op > KH_OP_MAX)
		return sl_fail(err, SL_EINVAL, "unknown op %u", hdr->kh_op);
	if (!answer && hdr->kh_status != 0)
		return sl_fail(err, SL_EINVAL, "a request with a status");
	if (answer && hdr->kh_status > 0)
		return sl_fail(err, SL_EINVAL, "an answer with status %d", hdr->kh_status);
	kidlen = strnlen(hdr->kh_kid, sizeof(hdr->kh_kid));
	if (kidlen == sizeof(hdr->kh_kid) || !kh_kid_ok(hdr->kh_kid, kidlen))
		return sl_fail(err, SL_EINVAL, "malformed key id");
	for (size_t i = kidlen; i < sizeof(hdr->kh_kid); i++)
		if (hdr->kh_kid[i] != '\0')
			return sl_fail(err, SL_EINVAL, "key id not NUL-padded");
	*payload = msg + sizeof(*hdr);
	return SL_OK;
}

int
kh_fields_get(const uint8_t *p, size_t len, size_t n, const size_t *max, const size_t *min, struct kh_field *f,
	struct sl_err *err)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l;

		if (len - pos < 2)
			return sl_fail(err, SL_EINVAL, "field %zu of %zu is missing", i + 1, n);
		l = (size_t)p[pos] << 8 | p[pos + 1];
		pos += 2;
		if (l > len - pos)
			return sl_fail(err, SL_EINVAL, "field %zu runs past the message", i + 1);
		if (l > max[i] || (min != NULL && l < min[i]))
			return sl_fail(err, SL_EINVAL, "field %zu has %zu bytes", i + 1, l);
		f[i] = (struct kh_field){ .kf_p = p + pos, .kf_len = l };
		pos += l;
	}
	if (pos != len)
		return sl_fail(err, SL_EINVAL, "%zu bytes after the last field", len - pos);
	return SL_OK;
}

int
kh_field_put(uint8_t *out, size_t *outlen, const void *p, size_t len)
{
	if (len > 0xffff || len + 2 > KH_PAYLOAD_MAX - *outlen)
		return SL_ETOOBIG;
	out[(*outlen)++] = (uint8_t)(len >> 8);
	out[(*outlen)++] = (uint8_t)len;
	if (len > 0)
		memcpy(out + *outlen, p, len);
	*outlen += len;
	return SL_OK;
}
