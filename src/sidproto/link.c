/*
 * link.c — device links and their authCode (sidproto.h).
 *
 * A device link is the URL a QR code or a same-device button carries:
 * deviceLinkBase, then the parameters in the one published order, with
 * no percent-encoding, then authCode, an HMAC under the session's secret
 * over the link without it and the session's fields.  The link is
 * compared bit for bit, so the parser accepts exactly one spelling of
 * each link and says which rule a refused one broke: a scanner that
 * "fixed" a link (re-ordered, decoded, added a parameter) must fail
 * loudly, not recompute a different authCode.
 */
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"
#include "sidproto_int.h"

/* Bytes of an authCode payload: interactions, callback and link at their
 * limits, with the names' Base64, stay below this. */
#define SIDP_AUTHCODE_PAYLOAD_MAX 16384
#define LINK_PARAMS_MAX 8 /* parameters a parsed link may have: 7 defined */

static const char *const type_names[] = { NULL, "QR", "Web2App", "App2App" };

const char *
sidp_link_type_name(enum sidp_link_type t)
{
	if (t < SIDP_LINK_QR || t > SIDP_LINK_APP2APP)
		return NULL;
	return type_names[t];
}

enum sidp_link_type
sidp_link_type_of(const char *name)
{
	if (name == NULL)
		return 0;
	for (int t = SIDP_LINK_QR; t <= SIDP_LINK_APP2APP; t++)
		if (strcmp(type_names[t], name) == 0)
			return (enum sidp_link_type)t;
	return 0;
}

/* ---- the fields of a link ---- */

/* http(s)://..., printable ASCII, none of the characters that would end
 * the base or need encoding in a link. */
static bool
base_ok(const char *base)
{
	size_t len;

	if (base == NULL || (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0))
		return false;
	len = strnlen(base, SIDP_LINK_MAX + 1);
	if (len > SIDP_LINK_MAX / 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)base[i];
		if (c <= 0x20 || c >= 0x7f || strchr("?#&|%", c) != NULL)
			return false;
	}
	return true;
}

static bool
token_ok(const char *t)
{
	size_t len = t != NULL ? strnlen(t, SIDP_TOKEN_MAX + 1) : 0;

	if (len < SIDP_TOKEN_LEN || len > SIDP_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = t[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static bool
session_type_ok(const char *s)
{
	return s != NULL && (strcmp(s, "auth") == 0 || strcmp(s, "sign") == 0 || strcmp(s, "cert") == 0);
}

static bool
lang_ok(const char *s)
{
	if (s == NULL || strlen(s) != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

static int
link_check(const struct sidp_link *l, struct sl_err *err)
{
	if (!base_ok(l->sl_base))
		return sl_fail(err, SL_EINVAL, "device link: bad deviceLinkBase");
	if (sidp_link_type_name(l->sl_type) == NULL)
		return sl_fail(err, SL_EINVAL, "device link: bad deviceLinkType");
	if (l->sl_type == SIDP_LINK_QR && (l->sl_elapsed < 0 || l->sl_elapsed > SIDP_ELAPSED_MAX))
		return sl_fail(err, SL_EINVAL, "device link: elapsedSeconds out of range");
	if (l->sl_type != SIDP_LINK_QR && l->sl_elapsed != -1)
		return sl_fail(err, SL_EINVAL, "device link: elapsedSeconds is only for QR links");
	if (!token_ok(l->sl_token))
		return sl_fail(err, SL_EINVAL, "device link: bad sessionToken");
	if (!session_type_ok(l->sl_session_type))
		return sl_fail(err, SL_EINVAL, "device link: bad sessionType");
	if (!lang_ok(l->sl_lang))
		return sl_fail(err, SL_EINVAL, "device link: bad lang");
	return SL_OK;
}

char *
sidp_link_unprotected(const struct sidp_link *l, struct sl_err *err)
{
	struct sl_buf b;
	int rc;

	if (link_check(l, err) != SL_OK)
		return NULL;
	sl_buf_init(&b, SIDP_LINK_MAX);
	rc = sl_buf_addf(&b, "%s?deviceLinkType=%s", l->sl_base, sidp_link_type_name(l->sl_type));
	if (rc == SL_OK && l->sl_type == SIDP_LINK_QR)
		rc = sl_buf_addf(&b, "&elapsedSeconds=%ld", l->sl_elapsed);
	if (rc == SL_OK)
		rc = sl_buf_addf(&b, "&sessionToken=%s&sessionType=%s&version=1.0&lang=%s", l->sl_token,
			l->sl_session_type, l->sl_lang);
	if (rc != SL_OK) {
		sl_buf_reset(&b);
		sl_fail(err, rc, "device link: too long");
		return NULL;
	}
	return sl_buf_take(&b);
}

/* ---- authCode ---- */

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static int
authcode_check(const struct sidp_authcode_in *in, struct sl_err *err)
{
	const char *proto = or_empty(in->sc_protocol);
	bool choice = proto[0] == '\0';

	if (sl_str_empty(in->sc_scheme) || sidp_has_bar(in->sc_scheme))
		return sl_fail(err, SL_EINVAL, "authCode: bad schemeName");
	if (!choice && strcmp(proto, "ACSP_V2") != 0 && strcmp(proto, "RAW_DIGEST_SIGNATURE") != 0)
		return sl_fail(err, SL_EINVAL, "authCode: unknown signatureProtocol");
	/* A certificate choice has neither; a signature or login has both. */
	if (choice != sl_str_empty(in->sc_challenge) || choice != sl_str_empty(in->sc_interactions))
		return sl_fail(err, SL_EINVAL, "authCode: challenge and interactions go with a signatureProtocol");
	if (sidp_has_bar(or_empty(in->sc_challenge)) || sidp_has_bar(or_empty(in->sc_interactions)) ||
		sidp_has_bar(or_empty(in->sc_callback_url)))
		return sl_fail(err, SL_EINVAL, "authCode: a field contains '|'");
	if (in->sc_rp_name == NULL)
		return sl_fail(err, SL_EINVAL, "authCode: relyingPartyName is missing");
	if (sl_str_empty(in->sc_unprotected_link) || sidp_has_bar(in->sc_unprotected_link))
		return sl_fail(err, SL_EINVAL, "authCode: bad device link");
	return SL_OK;
}

static int
authcode_payload(const struct sidp_authcode_in *in, struct sl_buf *b)
{
	const char *brokered = or_empty(in->sc_brokered_rp_name);
	int rc = sl_buf_addf(b, "%s|%s|%s|", in->sc_scheme, or_empty(in->sc_protocol), or_empty(in->sc_challenge));

	if (rc == SL_OK)
		rc = sidp_buf_add_b64(b, in->sc_rp_name, strlen(in->sc_rp_name));
	if (rc == SL_OK)
		rc = sidp_buf_add_b64(b, brokered, strlen(brokered));
	if (rc == SL_OK)
		rc = sl_buf_addf(b, "%s|%s|%s", or_empty(in->sc_interactions), or_empty(in->sc_callback_url),
			in->sc_unprotected_link);
	return rc;
}

int
sidp_auth_code(const uint8_t *secret, size_t secretlen, const struct sidp_authcode_in *in,
	char out[SIDP_USER_CHALLENGE_LEN + 1], struct sl_err *err)
{
	uint8_t mac[SL_SHA256_LEN];
	struct sl_buf b;
	char *enc;
	int rc;

	out[0] = '\0';
	if (secret == NULL || secretlen == 0)
		return sl_fail(err, SL_EINVAL, "authCode: no session secret");
	rc = authcode_check(in, err);
	if (rc != SL_OK)
		return rc;
	sl_buf_init(&b, SIDP_AUTHCODE_PAYLOAD_MAX);
	rc = authcode_payload(in, &b);
	if (rc == SL_OK)
		rc = crypto_hmac_sha256(secret, secretlen, sl_buf_str(&b), b.b_len, mac);
	sl_buf_reset(&b);
	if (rc != SL_OK)
		return sl_fail(err, rc, "authCode: payload too long or HMAC failed");
	enc = sl_b64url_encode(mac, sizeof(mac));
	if (enc == NULL)
		return sl_fail(err, SL_ENOMEM, "authCode: out of memory");
	sl_strlcpy(out, enc, SIDP_USER_CHALLENGE_LEN + 1);
	free(enc);
	return SL_OK;
}

char *
sidp_link_build(const struct sidp_link *l, const uint8_t *secret, size_t secretlen, const struct sidp_authcode_in *in,
	struct sl_err *err)
{
	struct sidp_authcode_in mine = *in;
	char code[SIDP_USER_CHALLENGE_LEN + 1];
	char *unprotected = sidp_link_unprotected(l, err);
	struct sl_buf b;
	int rc;

	if (unprotected == NULL)
		return NULL;
	mine.sc_unprotected_link = unprotected;
	/* QR and same-device links share a session; only the latter bind its
	 * callback URL. */
	if (l->sl_type == SIDP_LINK_QR)
		mine.sc_callback_url = "";
	rc = sidp_auth_code(secret, secretlen, &mine, code, err);
	sl_buf_init(&b, SIDP_LINK_MAX);
	if (rc == SL_OK)
		rc = sl_buf_addf(&b, "%s&authCode=%s", unprotected, code);
	free(unprotected);
	if (rc != SL_OK) {
		sl_buf_reset(&b);
		if (err != NULL && err->code == 0)
			sl_fail(err, rc, "device link: too long");
		return NULL;
	}
	return sl_buf_take(&b);
}

/* ---- parsing a scanned link ---- */

struct link_param {
	const char *lp_name;
	const char *lp_value;
	size_t lp_offset; /* of the '&' or '?' before it, in the link */
};

/* The names in their published order; QR links have elapsedSeconds. */
static const char *const order_qr[] = { "deviceLinkType", "elapsedSeconds", "sessionToken", "sessionType", "version",
	"lang", "authCode" };
static const char *const order_same_device[] = { "deviceLinkType", "sessionToken", "sessionType", "version", "lang",
	"authCode" };

static int
link_chars_ok(const char *url, size_t len, struct sl_err *err)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c == '%')
			return sl_fail(err, SL_EINVAL, "device link: percent-encoding is not allowed");
		if (c == '#')
			return sl_fail(err, SL_EINVAL, "device link: a fragment is not allowed");
		if (c <= 0x20 || c >= 0x7f || c == '|')
			return sl_fail(err, SL_EINVAL, "device link: a character that is not allowed");
	}
	return SL_OK;
}

/* Split the query of `q` (the copy, from after '?') in place. */
static int
split_params(char *q, size_t qoff, struct link_param *p, size_t *np, struct sl_err *err)
{
	size_t n = 0;
	char *s = q;

	for (;;) {
		char *amp = strchr(s, '&');
		char *eq;
		if (n == LINK_PARAMS_MAX)
			return sl_fail(err, SL_EINVAL, "device link: too many parameters");
		if (amp != NULL)
			*amp = '\0';
		eq = strchr(s, '=');
		if (eq == NULL || eq == s)
			return sl_fail(err, SL_EINVAL, "device link: a parameter without name=value");
		*eq = '\0';
		p[n].lp_name = s;
		p[n].lp_value = eq + 1;
		p[n].lp_offset = qoff + (size_t)(s - q) - 1;
		n++;
		if (amp == NULL)
			break;
		s = amp + 1;
	}
	*np = n;
	return SL_OK;
}

static const struct link_param *
param_get(const struct link_param *p, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].lp_name, name) == 0)
			return &p[i];
	return NULL;
}

/* Every name known and once; the set the deviceLinkType needs; in order. */
static int
params_shape(const struct link_param *p, size_t n, enum sidp_link_type *type, struct sl_err *err)
{
	const struct link_param *t;
	const char *const *order;
	size_t norder;

	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t k = 0; k < sizeof(order_qr) / sizeof(order_qr[0]); k++)
			known = known || strcmp(p[i].lp_name, order_qr[k]) == 0;
		if (!known)
			return sl_fail(err, SL_EINVAL, "device link: unknown parameter %.32s", p[i].lp_name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p[i].lp_name, p[j].lp_name) == 0)
				return sl_fail(err, SL_EINVAL, "device link: %s appears twice", p[i].lp_name);
	}
	t = param_get(p, n, "deviceLinkType");
	if (t == NULL)
		return sl_fail(err, SL_EINVAL, "device link: deviceLinkType is missing");
	*type = sidp_link_type_of(t->lp_value);
	if (*type == 0)
		return sl_fail(err, SL_EINVAL, "device link: unknown deviceLinkType");
	if (*type != SIDP_LINK_QR && param_get(p, n, "elapsedSeconds") != NULL)
		return sl_fail(err, SL_EINVAL, "device link: elapsedSeconds is only for QR links");
	order = *type == SIDP_LINK_QR ? order_qr : order_same_device;
	norder = *type == SIDP_LINK_QR ? sizeof(order_qr) / sizeof(order_qr[0])
				       : sizeof(order_same_device) / sizeof(order_same_device[0]);
	for (size_t k = 0; k < norder; k++)
		if (param_get(p, n, order[k]) == NULL)
			return sl_fail(err, SL_EINVAL, "device link: %s is missing", order[k]);
	for (size_t k = 0; k < norder; k++)
		if (strcmp(p[k].lp_name, order[k]) != 0)
			return sl_fail(err, SL_EINVAL, "device link: the parameters are out of order");
	return SL_OK;
}

/* A decimal without sign or leading zero, at most SIDP_ELAPSED_MAX. */
static bool
elapsed_parse(const char *s, long *out)
{
	long v = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 6 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > SIDP_ELAPSED_MAX)
		return false;
	*out = v;
	return true;
}

static int
params_values(const struct link_param *p, size_t n, struct sidp_link *l, struct sl_err *err)
{
	const struct link_param *e = param_get(p, n, "elapsedSeconds");
	const char *version = param_get(p, n, "version")->lp_value;

	l->sl_elapsed = -1;
	if (e != NULL && !elapsed_parse(e->lp_value, &l->sl_elapsed))
		return sl_fail(err, SL_EINVAL, "device link: bad elapsedSeconds");
	l->sl_token = param_get(p, n, "sessionToken")->lp_value;
	if (!token_ok(l->sl_token))
		return sl_fail(err, SL_EINVAL, "device link: bad sessionToken");
	l->sl_session_type = param_get(p, n, "sessionType")->lp_value;
	if (!session_type_ok(l->sl_session_type))
		return sl_fail(err, SL_EINVAL, "device link: bad sessionType");
	if (strcmp(version, "1.0") != 0)
		return sl_fail(err, SL_EINVAL, "device link: version %.8s is not supported (1.0 is)", version);
	l->sl_lang = param_get(p, n, "lang")->lp_value;
	if (!lang_ok(l->sl_lang))
		return sl_fail(err, SL_EINVAL, "device link: bad lang");
	/* The same 43-char canonical b64url shape as a userChallenge. */
	if (!sidp_user_challenge_ok(param_get(p, n, "authCode")->lp_value))
		return sl_fail(err, SL_EINVAL, "device link: bad authCode");
	return SL_OK;
}

/* Split the copy in `buf` (after the unprotected link's copy). */
static int
link_split(struct sidp_link_parsed *out, char *copy, size_t len, struct sl_err *err)
{
	struct link_param p[LINK_PARAMS_MAX] = { 0 };
	char *q = strchr(copy, '?');
	size_t n = 0, auth_at;
	int rc;

	if (q == NULL)
		return sl_fail(err, SL_EINVAL, "device link: no parameters");
	*q = '\0';
	if (!base_ok(copy))
		return sl_fail(err, SL_EINVAL, "device link: bad deviceLinkBase");
	out->sp_link.sl_base = copy;
	rc = split_params(q + 1, (size_t)(q + 1 - copy), p, &n, err);
	if (rc == SL_OK)
		rc = params_shape(p, n, &out->sp_link.sl_type, err);
	if (rc == SL_OK)
		rc = params_values(p, n, &out->sp_link, err);
	if (rc != SL_OK)
		return rc;
	/* authCode is the last parameter: the unprotected link ends before it. */
	if (n == 0 || strcmp(p[n - 1].lp_name, "authCode") != 0)
		return sl_fail(err, SL_EINVAL, "device link: authCode must come last");
	auth_at = p[n - 1].lp_offset;
	if (auth_at >= len)
		return sl_fail(err, SL_EINVAL, "device link: bad authCode");
	out->sp_buf[auth_at] = '\0';
	out->sp_unprotected = out->sp_buf;
	out->sp_auth_code = p[n - 1].lp_value;
	return SL_OK;
}

int
sidp_link_parse(const char *url, struct sidp_link_parsed *out, struct sl_err *err)
{
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (url == NULL || url[0] == '\0')
		return sl_fail(err, SL_EINVAL, "device link: empty");
	len = strnlen(url, SIDP_LINK_MAX + 1);
	if (len > SIDP_LINK_MAX)
		return sl_fail(err, SL_EINVAL, "device link: longer than %d bytes", SIDP_LINK_MAX);
	rc = link_chars_ok(url, len, err);
	if (rc != SL_OK)
		return rc;
	/* Two copies: the unprotected link's text, then one split in place. */
	out->sp_buf = malloc(2 * (len + 1));
	if (out->sp_buf == NULL)
		return sl_fail(err, SL_ENOMEM, "device link: out of memory");
	memcpy(out->sp_buf, url, len + 1);
	memcpy(out->sp_buf + len + 1, url, len + 1);
	rc = link_split(out, out->sp_buf + len + 1, len, err);
	if (rc != SL_OK)
		sidp_link_parsed_clear(out);
	return rc;
}

void
sidp_link_parsed_clear(struct sidp_link_parsed *p)
{
	if (p == NULL)
		return;
	free(p->sp_buf);
	memset(p, 0, sizeof(*p));
}
