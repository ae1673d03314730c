/*
 * sidproto — the Smart-ID RP API v3's published rules, pure, shared by the
 * server (src/keys/sidrp) and the app (libsleutel-app): the ACSP_V2
 * signed payload, device links and their authCode, verification codes,
 * interactions, hash algorithms, user challenges (docs/smart-id.md
 * "Protocol rules"; SK ID Solutions' RP API 3.2 documentation).
 *
 * Nothing here touches the network, the store or a clock: every function
 * is a function of its arguments (and the CSPRNG for the *_new ones), so
 * the published vectors are unit tests (tests/sidproto) and the parsers
 * are fuzzed (fuzz/fuzz_sidproto.c).
 *
 * Strings in and out are NUL-terminated UTF-8; "b64" is standard Base64
 * with padding (RFC 4648 §4), "b64url" the URL-safe form without padding
 * (§5), as the RP API uses each.
 */
#ifndef SL_SIDPROTO_H
#define SL_SIDPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/core.h"

#define SIDP_RP_CHALLENGE_MIN 32 /* bytes of a decoded rpChallenge */
#define SIDP_RP_CHALLENGE_MAX 64
#define SIDP_SERVER_RANDOM_BYTES 24 /* what we make: > 18 as the API promises; 32 b64 chars */
#define SIDP_USER_CHALLENGE_LEN 43 /* b64url chars of SHA-256: userChallenge, verifier, authCode */
#define SIDP_SECRET_BYTES 32 /* a sessionSecret's bytes (44 b64 chars) */
#define SIDP_TOKEN_LEN 24 /* a sessionToken we make: [A-Za-z0-9] */
#define SIDP_TOKEN_MAX 64 /* the longest sessionToken a link may carry */
#define SIDP_NONCE_MAX 30 /* chars of a nonce */
#define SIDP_TEXT60_MAX 60 /* characters (not bytes) of displayText60 */
#define SIDP_TEXT200_MAX 200 /* characters of displayText200 */
#define SIDP_CALLBACK_MAX 1800 /* bytes of an initialCallbackUrl */
#define SIDP_INTERACTIONS_B64_MAX 4096 /* bytes of the interactions field as sent */
#define SIDP_INTERACTIONS_MAX 4 /* entries; each type at most once */
#define SIDP_RP_NAME_MAX 128 /* bytes of a relyingPartyName */
#define SIDP_LINK_MAX 4096 /* bytes of a whole device link */
#define SIDP_VC_LEN 4
#define SIDP_ELAPSED_MAX 86400 /* a QR link's elapsedSeconds */

/* ---- Base64 as the RP API sends it ---- */
/* Canonical standard Base64 only (padded, the alphabet, zero unused bits:
 * decoding and re-encoding gives the same text), at most `maxlen` chars.
 * A malloc'd buffer (one spare byte, NUL) and *outlen, or NULL. */
uint8_t *sidp_b64_decode(const char *s, size_t maxlen, size_t *outlen);

/* ---- hash algorithms ---- */
struct sidp_hash {
	const char *sh_name; /* the v3 name: "SHA-256", ..., "SHA3-512" */
	const char *sh_v2_name; /* v2's hashType: "SHA256", "SHA384", "SHA512", or NULL (no SHA3 in v2) */
	const char *sh_digest; /* the name sk_encode()/OpenSSL know: "SHA256", ..., "SHA3-512" */
	size_t sh_len; /* output bytes */
};
/* By v3 name (exact, case-sensitive) or NULL. */
const struct sidp_hash *sidp_hash_by_name(const char *name);
/* By v2 hashType or NULL. */
const struct sidp_hash *sidp_hash_by_v2_name(const char *name);
/* A signatureAlgorithm: "rsassa-pss" (the v3 default: PSS, MGF1 with the
 * same hash, salt = hash length) sets *pss and leaves *hash; a PKCS#1
 * v1.5 name ("sha256WithRSAEncryption", "sha384WithRSAEncryption",
 * "sha512WithRSAEncryption", "sha3-256WithRSAEncryption", ...) clears
 * *pss and sets *hash to its hash.  SL_EINVAL for any other name. */
int sidp_signature_algorithm(const char *name, bool *pss, const struct sidp_hash **hash);
/* The PKCS#1 name of a hash ("sha256WithRSAEncryption"; v2's
 * signature.algorithm). */
const char *sidp_pkcs1_name(const struct sidp_hash *h);

/* ---- interactions ---- */
enum sidp_interaction_type {
	SIDP_DISPLAY_TEXT_AND_PIN = 1, /* displayText60 */
	SIDP_CONFIRMATION_MESSAGE, /* displayText200 */
	SIDP_CONFIRMATION_MESSAGE_AND_VC_CHOICE, /* displayText200; notification flows only */
	SIDP_VC_CHOICE, /* v2 only: displayText60 */
};
struct sidp_interaction {
	enum sidp_interaction_type si_type;
	char si_text[4 * SIDP_TEXT200_MAX + 1]; /* UTF-8 */
};
struct sidp_interactions {
	size_t sn;
	struct sidp_interaction si[SIDP_INTERACTIONS_MAX];
};
enum sidp_flow_rules {
	SIDP_RULES_DEVICE_LINK, /* v3 device-link and linked flows: displayTextAndPIN, confirmationMessage */
	SIDP_RULES_NOTIFICATION, /* v3 notification flows: + confirmationMessageAndVerificationCodeChoice */
	SIDP_RULES_V2, /* v2's allowedInteractionsOrder: + verificationCodeChoice */
};
/* The type's wire name ("displayTextAndPIN", ...) or NULL. */
const char *sidp_interaction_name(enum sidp_interaction_type t);
/* The type of a wire name, or 0. */
enum sidp_interaction_type sidp_interaction_type_of(const char *name);
/* v3: `b64` is Base64 of a JSON array of {"type", "displayText60" |
 * "displayText200"} (the text the type needs, of at most 60 / 200
 * characters, without control characters; no other member), 1 to
 * SIDP_INTERACTIONS_MAX entries, no type twice, every type allowed by
 * `rules`.  SL_EINVAL with a message naming what is wrong (the problem
 * body's detail). */
int sidp_interactions_parse_b64(
	const char *b64, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err);
/* v2: the same rules over a JSON array already parsed
 * (allowedInteractionsOrder). */
int sidp_interactions_parse_json(
	const json_t *array, enum sidp_flow_rules rules, struct sidp_interactions *out, struct sl_err *err);

/* Text a screen may show as it is: valid UTF-8 of `len` bytes without C0
 * or C1 control characters, DEL, bidirectional overrides, embeddings,
 * isolates or marks, or invisible characters (U+200B..U+200F,
 * U+202A..U+202E, U+2060..U+2069, U+FEFF) — any of which could make a text
 * read otherwise than it signs, or pass for the app's own lines. */
bool sidp_text_shown_ok(const char *s, size_t len);

/* ---- verification codes ---- */
/* int(SHA-256(data)[-2:]) mod 10000 as 4 digits: v3 notification
 * authentication over the decoded rpChallenge, v2 over the hash. */
void sidp_vc_of(const uint8_t *data, size_t len, char out[SIDP_VC_LEN + 1]);
/* A random code (v3 notification signing), from the CSPRNG. */
int sidp_vc_random(char out[SIDP_VC_LEN + 1]);

/* ---- ACSP_V2 (authentication) ---- */
struct sidp_acsp {
	const char *sa_scheme; /* "smart-id" */
	const char *sa_server_random; /* b64, as the session returns it */
	const char *sa_rp_challenge; /* b64, as the RP sent it */
	const char *sa_user_challenge; /* b64url, 43 chars, from the device */
	const char *sa_rp_name; /* UTF-8, encoded here */
	const char *sa_brokered_rp_name; /* UTF-8 or "" / NULL */
	const char *sa_interactions; /* the interactions field exactly as sent (b64) */
	const char *sa_interaction_used; /* "displayTextAndPIN", ... */
	const char *sa_callback_url; /* initialCallbackUrl: used only for Web2App and App2App */
	const char *sa_flow_type; /* "QR", "Web2App", "App2App" or "Notification" */
};
/* The payload: "scheme|ACSP_V2|serverRandom|rpChallenge|userChallenge|
 * B64(rpName)|B64(brokeredRpName)|B64(SHA-256(interactions))|
 * interactionTypeUsed|callback (Web2App/App2App, else empty)|flowType".
 * New string (caller frees) or NULL with err (a NULL required field, a
 * '|' where none may be, an unknown flow type). */
char *sidp_acsp_payload(const struct sidp_acsp *a, struct sl_err *err);
/* The hash (with `h`) of that payload: what the auth key signs (PSS
 * hashes the payload; PKCS#1 names hash it too).  *outlen = h->sh_len. */
int sidp_acsp_digest(
	const struct sidp_acsp *a, const struct sidp_hash *h, uint8_t *out, size_t *outlen, struct sl_err *err);

/* ---- user challenges and callbacks ---- */
/* 43 chars of the b64url alphabet, canonical (32 bytes: the last char
 * carries two zero bits, as b64url(SHA-256) always does). */
bool sidp_user_challenge_ok(const char *s);
/* The device's side: a fresh verifier (b64url of 32 CSPRNG bytes) and
 * userChallenge = b64url(SHA-256(verifier's ASCII text)). */
int sidp_user_challenge_new(char verifier[SIDP_USER_CHALLENGE_LEN + 1], char challenge[SIDP_USER_CHALLENGE_LEN + 1]);
/* userChallenge of a verifier (the RP's check of a callback). */
void sidp_user_challenge_of(const char *verifier, char out[SIDP_USER_CHALLENGE_LEN + 1]);
/* sessionSecretDigest = b64url(SHA-256(the decoded secret bytes)). */
void sidp_secret_digest(const uint8_t *secret, size_t len, char out[SIDP_USER_CHALLENGE_LEN + 1]);
/* An initialCallbackUrl: "https://" and a host, at most SIDP_CALLBACK_MAX
 * bytes, printable ASCII (a URI: no space, control character or raw
 * UTF-8), no '|', no '#'. */
bool sidp_callback_url_ok(const char *url);

/* ---- device links ---- */
enum sidp_link_type { SIDP_LINK_QR = 1, SIDP_LINK_WEB2APP, SIDP_LINK_APP2APP };
struct sidp_link {
	const char *sl_base; /* deviceLinkBase */
	enum sidp_link_type sl_type;
	long sl_elapsed; /* QR only: seconds since the session was made; -1 otherwise */
	const char *sl_token; /* sessionToken */
	const char *sl_session_type; /* "auth", "sign" or "cert" */
	const char *sl_lang; /* 3 lower-case letters: "eng", "nld", "fra", "deu" */
};
/* "base?deviceLinkType=T[&elapsedSeconds=N]&sessionToken=..&sessionType=
 * ..&version=1.0&lang=..": new string or NULL (bad field). */
char *sidp_link_unprotected(const struct sidp_link *l, struct sl_err *err);
struct sidp_authcode_in {
	const char *sc_scheme; /* "smart-id" */
	const char *sc_protocol; /* "ACSP_V2", "RAW_DIGEST_SIGNATURE", or "" (certificate choice) */
	const char *sc_challenge; /* rpChallenge or digest, b64 as sent; "" for certificate choice */
	const char *sc_rp_name; /* UTF-8, encoded here */
	const char *sc_brokered_rp_name; /* UTF-8, "" or NULL */
	const char *sc_interactions; /* as sent (b64); "" for certificate choice */
	const char *sc_callback_url; /* "" for QR links and when none */
	const char *sc_unprotected_link; /* sidp_link_unprotected() */
};
/* authCode = b64url(HMAC-SHA256(secret, scheme|protocol|challenge|
 * B64(rpName)|B64(brokeredRpName)|interactions|callback|unprotected link)). */
int sidp_auth_code(const uint8_t *secret, size_t secretlen, const struct sidp_authcode_in *in,
	char out[SIDP_USER_CHALLENGE_LEN + 1], struct sl_err *err);
/* The whole link: unprotected + "&authCode=" + authCode.  New string.
 * in->sc_unprotected_link is ignored (the link's own is used), and a QR
 * link's authCode has an empty callback field whatever in->sc_callback_url
 * says (one session serves QR and same-device links). */
char *sidp_link_build(const struct sidp_link *l, const uint8_t *secret, size_t secretlen,
	const struct sidp_authcode_in *in, struct sl_err *err);
/* A link as scanned, split strictly (the parameters in the published
 * order, each once, no percent-encoding, version 1.0, elapsedSeconds
 * present exactly for QR): the members point into `buf` (a copy the
 * caller frees with free()), `unprotected` is the link up to
 * "&authCode=", `auth_code` its value.  SL_EINVAL with a message for
 * anything else; at most SIDP_LINK_MAX bytes. */
struct sidp_link_parsed {
	char *sp_buf;
	struct sidp_link sp_link;
	const char *sp_unprotected;
	const char *sp_auth_code;
};
int sidp_link_parse(const char *url, struct sidp_link_parsed *out, struct sl_err *err);
void sidp_link_parsed_clear(struct sidp_link_parsed *p);
/* "QR", "Web2App", "App2App" and back (0 for none). */
const char *sidp_link_type_name(enum sidp_link_type t);
enum sidp_link_type sidp_link_type_of(const char *name);

#endif
