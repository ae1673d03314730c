/*
 * crypto — every cryptographic operation the application performs, composed
 * from OpenSSL 3 and cjose.  No primitive is written here.
 *
 * JOSE goes through a strict wrapper around cjose: a key is bound to exactly
 * one algorithm when it is created or imported; verification refuses a
 * token whose header names another algorithm, `none`, or any of `crit`,
 * `jku`, `x5u`, `jwk`, `x5c`.
 */
#ifndef SL_CRYPTO_H
#define SL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/core.h"

#define SL_SHA256_LEN 32

/* ---- hashes ---- */
int crypto_sha256(const void *data, size_t len, uint8_t out[SL_SHA256_LEN]);
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SL_SHA256_LEN]);
/* An HMAC-SHA256 key keyed once (its padded blocks hashed, the digest
 * fetched): each MAC copies that state instead of keying again, about a
 * third of crypto_hmac_sha256's cost.  It holds no more than the key it
 * was made from; crypto_hmac_free wipes it.  Safe to use from several
 * threads at once (each MAC works on its own copy). */
struct crypto_hmac;
struct crypto_hmac *crypto_hmac_new(const void *key, size_t keylen);
int crypto_hmac_mac(const struct crypto_hmac *h, const void *data, size_t len, uint8_t out[SL_SHA256_LEN]);
void crypto_hmac_free(struct crypto_hmac *h);
/* Hex SHA-256 of a string: how one-time codes, tokens and client secrets
 * are stored.  They are 128+ random bits, so a fast hash is the right one. */
int crypto_token_hash(const char *token, char out[2 * SL_SHA256_LEN + 1]);
/* OIDC at_hash / c_hash for ES256/RS256/PS256: left half of SHA-256, b64url. */
char *crypto_half_hash(const char *value);
/* PKCE (RFC 7636) S256: true when verifier is well-formed and matches. */
bool crypto_pkce_s256_ok(const char *verifier, const char *challenge);

/* ---- JOSE keys ---- */
struct jose_key;

/* A new key for `alg` (ES256: P-256; RS256/PS256: RSA 2048). */
struct jose_key *jose_key_generate(const char *alg, const char *kid, struct sl_err *err);
/* Load a private or public key from PEM and bind it to `alg`. */
struct jose_key *jose_key_from_pem(const char *pem, const char *alg, const char *kid, struct sl_err *err);
/* Import a public JWK (a client's key). Its alg is taken from the JWK's
 * "alg", else from `default_alg`; it must be one of `allowed` (NULL-ended). */
struct jose_key *jose_key_from_jwk(json_t *jwk, const char *const *allowed, struct sl_err *err);
/* Drops one reference: the key is freed with its last one. */
void jose_key_free(struct jose_key *key);
/* One more reference to `key` (atomic), given back with jose_key_free().
 * A key is never changed after it is made, so holders on several threads
 * may verify with it at once (cjose only reads its EC_KEY or RSA). */
struct jose_key *jose_key_ref(struct jose_key *key);
const char *jose_key_alg(const struct jose_key *key);
const char *jose_key_kid(const struct jose_key *key);
/* Private key as PKCS#8 PEM; malloc'd. */
char *jose_key_private_pem(const struct jose_key *key);
/* Public JWK with kid, alg and use=sig; new reference. */
json_t *jose_key_public_jwk(const struct jose_key *key);
bool jose_alg_supported(const char *alg);

/* A signer outside this process (the key holder): signs the JWS signing
 * input with the private half of key `kid`, giving the JWS signature
 * bytes (ES256: R || S) malloc'd in *sig.  0 or a negative SL_E* code. */
typedef int (*jose_signer_fn)(void *ctx, const char *kid, const uint8_t *input, size_t len, uint8_t **sig,
	size_t *siglen, struct sl_err *err);
/* Make a public key sign through `fn` (jose_sign then composes the JWS
 * and asks fn for the signature).  Set it before the key is shared. */
void jose_key_set_signer(struct jose_key *key, jose_signer_fn fn, void *ctx);
/* Sign `claims` as a compact JWS with header {alg, kid, typ}. malloc'd. */
char *jose_sign(const struct jose_key *key, json_t *claims, const char *typ, struct sl_err *err);
/* Verify a compact JWS with one of `keys` (the one whose kid matches, or
 * the only one of the header's alg when no kid).  On success *claims is a
 * new reference to the payload object. */
int jose_verify(const char *compact, struct jose_key *const *keys, size_t nkeys, json_t **claims, struct sl_err *err);
/* The protected header of a compact JWS, unverified (for routing only). */
json_t *jose_peek_header(const char *compact);

/* ---- JWE to a client's public key (RFC 7516): RSA-OAEP or ECDH-ES key
 * management, A128CBC-HS256 or A256GCM content encryption. ---- */
bool jose_jwe_alg_supported(const char *alg);
bool jose_jwe_enc_supported(const char *enc);
/* The supported values, NULL-ended (for discovery). */
const char *const *jose_jwe_algs(void);
const char *const *jose_jwe_encs(void);
/* Is this JWK marked for encryption (use "enc")? */
bool jose_jwk_is_enc(json_t *jwk);
/* Check a client's public JWK for encryption with `alg` (NULL: its own
 * alg, else the one its kty implies): use "enc", no private members, the
 * key type and size the algorithm needs. */
int jose_jwe_key_check(json_t *jwk, const char *alg, struct sl_err *err);
/* Encrypt `plaintext` to the public JWK as a compact JWE with header
 * {alg, enc, kid (the JWK's), cty (when not NULL)}. malloc'd. */
char *jose_encrypt(
	json_t *jwk, const char *alg, const char *enc, const char *cty, const char *plaintext, struct sl_err *err);
/* ---- DPoP proofs, RFC 9449 (dpop.c) ----
 * One check for the OAuth endpoints and the app's device API.  The caller
 * records the jti (replay) and judges the nonce; this checks the rest. */
#define DPOP_JKT_LEN 43 /* base64url SHA-256: an RFC 7638 thumbprint */
#define DPOP_JTI_MIN 16
#define DPOP_JTI_MAX 64 /* characters of a proof's jti (base64url) */
#define DPOP_PROOF_MAX 8192 /* bytes of a proof */
#define DPOP_NONCE_MAX 128 /* characters of a proof's nonce */
struct dpop_expect {
	const char *de_htm, *de_htu; /* this request's method and URL, compared exactly */
	int64_t de_now;
	int de_window; /* |iat - now| <= window; nbf <= now + window; exp > now */
	const char *const *de_algs; /* the algs accepted, NULL-ended */
	const char *de_ath; /* dpop_ath() of the access token sent with it, or NULL */
};
struct dpop_proof {
	char dp_jkt[DPOP_JKT_LEN + 1]; /* thumbprint of the header's jwk ("" when the caller gave the key) */
	char dp_jti[DPOP_JTI_MAX + 1];
	int64_t dp_iat;
	char dp_nonce[DPOP_NONCE_MAX + 1]; /* "" when the proof has none */
};
/* Verify `proof` with `key` (the app: the header names it by kid and must
 * not embed one), or, when `key` is NULL, with the public key in its
 * header's "jwk" (OAuth).  SL_EDENIED with a message for a bad proof,
 * SL_ETOOBIG for an oversized one. */
int dpop_proof_verify(const char *proof, struct jose_key *key, const struct dpop_expect *ex, struct dpop_proof *out,
	struct sl_err *err);
/* RFC 7638 thumbprint (SHA-256, base64url) of an EC or RSA public JWK. */
int dpop_jwk_thumbprint(json_t *jwk, char out[DPOP_JKT_LEN + 1], struct sl_err *err);
/* The ath of an access token: base64url SHA-256 (RFC 9449 §4.2). malloc'd. */
char *dpop_ath(const char *access_token);

/* ---- X.509 for the local TLS set-up (sleutel init) and the demo PKI ---- */
struct x509_st;
/* Add an extension in OpenSSL's config syntax ("critical,CA:TRUE"),
 * with `issuer` for key identifiers. SL_ECRYPTO when it does not parse. */
int x509_add_ext(struct x509_st *cert, struct x509_st *issuer, int nid, const char *value);
/* A self-signed CA: PEM key and certificate, malloc'd. */
int x509_make_ca(const char *cn, int days, char **key_pem, char **cert_pem, struct sl_err *err);
/* A TLS server certificate for the DNS names and IPs in `sans`
 * (comma-separated, e.g. "DNS:localhost,IP:127.0.0.1"), issued by the CA. */
int x509_make_server(const char *ca_key_pem, const char *ca_cert_pem, const char *cn, const char *sans, int days,
	char **key_pem, char **cert_pem, struct sl_err *err);

/* ==== sleutel app key: camouflage, sealing, confirmation bytes ====
 * PROTOCOL.md, "Camouflage", "Sealing" and "What a confirmation signs".
 * Shared by the server and the reference phone app.  Keys are OpenSSL
 * EVP_PKEYs on P-256; public keys travel as 65-byte uncompressed points. */
#include <openssl/types.h>

#define P256_PUB_LEN 65 /* 0x04 || X || Y */
#define P256_SCALAR_LEN 32

/* An EC key on P-256 (any other type or curve: false). */
bool p256_is(const EVP_PKEY *key);
/* A public key from an uncompressed point; refuses any other form and a
 * point not on the curve.  Free with EVP_PKEY_free(). NULL on error. */
EVP_PKEY *p256_public_from_bytes(const uint8_t pub[P256_PUB_LEN], struct sl_err *err);
/* The same, on the group of `like` (a P-256 key at hand, e.g. the server's
 * own): the point is decoded and validated the same way, without making
 * the group again (the costly part).  NULL when `like` is no P-256 key. */
EVP_PKEY *p256_public_like(const EVP_PKEY *like, const uint8_t pub[P256_PUB_LEN], struct sl_err *err);

/* HKDF-SHA256 (RFC 5869, extract and expand); salt may be NULL/0. */
int crypto_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const char *info,
	uint8_t *out, size_t outlen, struct sl_err *err);

/* ---- camouflage: the confirmation key stored under the app code ---- */
#define CAMO_LOG2N 15 /* production scrypt cost: N = 2^15 */
#define CAMO_R 8
#define CAMO_P 1
#define CAMO_MAXMEM (256u * 1024 * 1024) /* scrypt memory bound, bytes */
#define CAMO_SALT_LEN 16
#define CAMO_CODE_LEN 5 /* the app code: exactly 5 ASCII digits */
#define CAMO_CODE_MAX 256 /* any code string (PIN-like uses): 1..256 bytes */
#define CAMO_INFO "sleutel confirm v1"

struct camo_params {
	uint32_t cp_log2n;
	uint32_t cp_r;
	uint32_t cp_p;
};
extern const struct camo_params camo_default_params; /* 2^15, 8, 1 */

/* true when `code` is exactly CAMO_CODE_LEN ASCII digits. */
bool camo_code_ok(const char *code);
/* Sane scrypt parameters (N > 1, memory within CAMO_MAXMEM)? */
int camo_params_check(const struct camo_params *p, struct sl_err *err);
/* Enrolment: a new confirmation key d; writes c = (d - k(code)) mod n and
 * the salt (the phone's state: these two only, plus `p`, which does not
 * depend on the code) and Q = d*G for the server.  d is forgotten.
 * `p` NULL means camo_default_params. */
int camo_make(const char *code, const struct camo_params *p, uint8_t c_out[P256_SCALAR_LEN],
	uint8_t salt_out[CAMO_SALT_LEN], uint8_t pub_out[P256_PUB_LEN], struct sl_err *err);
/* The key (c + k(code)) mod n, with its public point, for ANY code: a wrong
 * code gives a valid but wrong key that only the server can tell.  Fails
 * only on bad arguments or resources (or d' = 0, ~2^-256).  EVP_PKEY_free(). */
int camo_open(const uint8_t c[P256_SCALAR_LEN], const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p,
	const char *code, EVP_PKEY **key_out, struct sl_err *err);
/* The camouflage key stream: HKDF-SHA256(scrypt(code, salt, p), info,
 * outlen bytes), 1..CAMO_KDF_MAX bytes; the app key (info CAMO_INFO) and
 * split-key (SK_INFO_*) share it.  As secret as the code; `p` NULL means
 * camo_default_params. */
#define CAMO_KDF_MAX 1024
int camo_kdf(const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p, const char *info,
	uint8_t *out, size_t outlen, struct sl_err *err);
/* k(code) = HKDF-SHA256(scrypt(code, salt), info CAMO_INFO, 48 bytes) mod n,
 * big-endian: exposed for test vectors; as secret as the code. */
int camo_code_scalar(const char *code, const uint8_t salt[CAMO_SALT_LEN], const struct camo_params *p,
	uint8_t k_out[P256_SCALAR_LEN], struct sl_err *err);

/* ---- sealing: ECDH P-256 + HKDF-SHA256 + AES-256-GCM to a server key ---- */
#define SEAL_VERSION 1
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (1 + P256_PUB_LEN + SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_PLAIN_MAX (64 * 1024) /* bytes of plaintext */
#define SEAL_AAD_MAX 1024 /* bytes of AAD (the request id) */
#define SEAL_KID_MAX 256 /* bytes of server key id */
#define SEAL_INFO "sleutel seal v1"

/* version 1 || ephemeral public key (65) || nonce (12) || ciphertext || tag
 * (16), malloc'd in *out.  `aad` (the request id) must not be empty. */
int seal(const uint8_t server_pub[P256_PUB_LEN], const char *server_kid, const uint8_t *aad, size_t aadlen,
	const uint8_t *plain, size_t plainlen, uint8_t **out, size_t *outlen, struct sl_err *err);
/* The plaintext, malloc'd in *plain.  SL_EINVAL for a malformed blob (size,
 * version, point), SL_EDENIED when it does not authenticate (other key,
 * kid, AAD, or any changed byte). */
int unseal(EVP_PKEY *server_priv, const char *server_kid, const uint8_t *aad, size_t aadlen, const uint8_t *sealed,
	size_t len, uint8_t **plain, size_t *plainlen, struct sl_err *err);

/* ---- what a confirmation signs ---- */
#define CONFIRM_TAG "sleutel-confirm-v1"
#define CONFIRM_FIELD_MAX 65535 /* bytes per field (display text too) */
#define CONFIRM_NFIELDS 10 /* the tag and nine fields */
#define CONFIRM_BYTES_MAX (CONFIRM_NFIELDS * (2 + CONFIRM_FIELD_MAX))
#define CONFIRM_SIG_MAX 72 /* DER ECDSA P-256 */

/* Borrowed NUL-terminated strings; none may be NULL. */
struct confirm_fields {
	const char *cf_request_id;
	const char *cf_rp_id;
	const char *cf_rp_display_name;
	const char *cf_action; /* "login", "payment" or "sign" */
	const char *cf_display_text; /* exactly as shown; signed as its SHA-256 */
	const char *cf_verification_code;
	const char *cf_server_nonce;
	const char *cf_decision; /* "approve" or "refuse" */
	const char *cf_device_id;
};

/* The signed bytes: each of CONFIRM_TAG and the fields as a 2-byte
 * big-endian length then the bytes.  `out` is initialised here; release it
 * with sl_buf_reset() (after a failure it is already empty).  SL_EINVAL for
 * a NULL field or an unknown action or decision, SL_ETOOBIG for a long one. */
int confirm_bytes(const struct confirm_fields *f, struct sl_buf *out);
/* ECDSA P-256 / SHA-256 over confirm_bytes(f); DER, malloc'd in *sig. */
int confirm_sign(EVP_PKEY *key, const struct confirm_fields *f, uint8_t **sig, size_t *siglen, struct sl_err *err);
/* SL_OK when `sig` is pub's signature over confirm_bytes(f), else
 * SL_EDENIED (whatever the reason: bad fields, key, encoding, signature). */
int confirm_verify(EVP_PKEY *pub, const struct confirm_fields *f, const uint8_t *sig, size_t siglen);

/* ==== split-key RSA (splitkey.c): Smart-ID-style two-party signatures ====
 * Buldas, Kalu, Laud, Oruaas, "Server-supported RSA signatures for mobile
 * devices", ESORICS 2017.  The device makes an RSA key (n1, e, d1), keeps
 * an additive share d1' of d1 camouflaged under the PIN and gives the
 * other share d1'' = d1 + t*lambda(n1) - d1' to the server, which adds its
 * own RSA key (n2, e, d2).  The public key is (n = n1*n2, e).  A signature
 * over an encoded message EM (< n) is
 *     s1 = EM^d1' * EM^d1'' mod n1   (device part, completed by the server)
 *     s2 = EM^d2 mod n2              (server part)
 *     s  = CRT(s1 mod n1, s2 mod n2) mod n,
 * which verifies as plain RSA: openssl pkeyutl -verify, PKCS#1 v1.5 or PSS.
 * Neither side alone can sign; p1, q1 and d1 are forgotten at keygen.
 *
 * Camouflage: shares live in [0, 2^W), W = n1_bits + 128.  The device
 * stores c = (d1' - k(PIN)) mod 2^W with k(PIN) = HKDF-SHA256(scrypt(PIN,
 * salt), info, W bits): for ANY candidate PIN, (c + k(PIN')) mod 2^W is a
 * uniform W-bit value, exactly like the right share, so a stolen state
 * file offers no test of a guess.  Only the server, completing s1 and
 * checking s1^e = EM mod n1, can tell a wrong PIN, and it counts.  The
 * device's partial signature EM^d1' together with the state file WOULD be
 * such a test: it travels sealed (seal()) and is never logged or kept.
 *
 * Clone detection: both shares move with every signature.  Version v of
 * the device share is d1'_0 + sum(delta_i, i < v) (mod 2^W), the server's
 * d1''_0 - sum(delta_i, i < v), with delta_i = HMAC-SHA256(kdev, "delta" ||
 * u64be(i)) truncated to SK_DELTA_BITS (kdev: a per-key value both sides
 * hold; it needs no secrecy against a thief, only the PIN does).  To sign,
 * the device first advances its state to v+1 (and the caller persists
 * it), then signs with share v+1 and sends (v+1, sealed partial
 * signature).  The server, at version w (last accepted), accepts a version
 * in (w, w + SK_MAX_SKIP]: the gap is the device's wrong-PIN tries and
 * lost answers.  A version <= w can only come from a copy of the state
 * (the genuine device never goes back): SK_CLONE, and the caller revokes
 * the key.  A wrap of (d1' + sum delta) past 2^W breaks the key; over
 * SK_VERSION_MAX versions the sum stays below 2^181, so it has probability
 * < 2^181 / 2^W = 2^(53 - n1 bits) (2^-3019 at 3072 bits, 2^-971 at the
 * test size) and is not handled.  d1'' > 2^W at
 * version 0, so the server's share never goes negative.
 *
 * All secret arithmetic runs on BIGNUMs flagged BN_FLG_CONSTTIME with
 * BN_mod_exp_mont_consttime; secrets are cleansed before free. */
#define SK_E 65537
#define SK_N1_BITS 3072 /* production device modulus */
#define SK_N2_BITS 3072 /* production server modulus: n is 6144 bits */
#define SK_BITS_MIN 1024 /* smallest modulus half accepted (tests) */
#define SK_BITS_MAX 4096
#define SK_SHARE_EXTRA_BITS 128 /* W = n1 bits + this */
#define SK_DELTA_BITS 128
#define SK_KDEV_LEN 32
#define SK_MAX_SKIP 64 /* versions a device may be ahead of the server */
#define SK_PIN1_MIN 4 /* authentication PIN: 4..SK_PIN_MAX digits */
#define SK_PIN2_MIN 5 /* signing PIN: 5..SK_PIN_MAX digits */
#define SK_PIN_MAX 12
#define SK_INFO_AUTH "sleutel splitkey auth v1" /* camouflage info per key use */
#define SK_INFO_SIGN "sleutel splitkey sign v1"
#define SK_VERSION_MAX ((1ull << 53) - 1) /* versions travel as JSON integers */
#define SK_JSON_MAX 16384 /* bytes of a serialised key (4.5 KiB server, 1.2 KiB device at 3072) */
#define SK_KEY2_DER_MAX 4096 /* bytes of the server's PKCS#8 RSA key */

enum sk_padding { SK_PKCS1 = 1, SK_PSS = 2 }; /* PSS: MGF1 with the same digest, salt = digest length */

struct sk_params {
	int sp_n1_bits; /* SK_BITS_MIN..SK_BITS_MAX, a multiple of 256 */
	int sp_n2_bits;
	const struct camo_params *sp_camo; /* scrypt cost; NULL: camo_default_params */
};
extern const struct sk_params sk_default_params; /* 3072, 3072, camo default */

/* What the device keeps for one key (authentication or signing).  Nothing
 * in it depends on the PIN except through c. */
struct sk_device_key {
	BIGNUM *dk_n1; /* the device modulus (public) */
	BIGNUM *dk_c; /* (d1' - k(PIN)) mod 2^W */
	uint8_t dk_salt[CAMO_SALT_LEN];
	uint8_t dk_kdev[SK_KDEV_LEN];
	uint64_t dk_version; /* the share's version */
	int dk_w; /* W, bits */
	const char *dk_info; /* SK_INFO_AUTH or SK_INFO_SIGN (static) */
};

/* What the server keeps for one key: its share of d1, its own RSA key,
 * and the version it last accepted.  All of it secret but n1, n2, n. */
struct sk_server_key {
	BIGNUM *sk_n1, *sk_d1pp; /* the device modulus and d1'' at version sk_version */
	EVP_PKEY *sk_key2; /* the server's RSA key (n2, e, d2, with CRT values) */
	BIGNUM *sk_n; /* n1 * n2 */
	uint8_t sk_kdev[SK_KDEV_LEN];
	uint64_t sk_version;
	int sk_w;
};

/* True when `pin` is min..SK_PIN_MAX ASCII digits. */
bool sk_pin_ok(const char *pin, int min);
/* Device keygen: a new RSA key (n1, e, d1), split; fills `dev` (version 0)
 * and `to_server` (sk_n1, sk_d1pp, sk_kdev, sk_w, version 0; sk_key2 and
 * sk_n NULL: the server adds them with sk_server_keygen()).  `info` is
 * SK_INFO_AUTH or SK_INFO_SIGN.  n1 is drawn again (bounded) until it is
 * at least 3/4 * 2^bits, so the server's draws converge.  p1, q1, d1,
 * lambda and d1' are cleansed. */
int sk_device_keygen(const struct sk_params *p, const char *info, const char *pin, struct sk_device_key *dev,
	struct sk_server_key *to_server, struct sl_err *err);
/* Server keygen: the server's RSA key of p->sp_n2_bits and n = n1*n2
 * (refused unless n1 is odd, of the agreed size with its top two bits
 * set, and coprime to n2).  n2
 * is drawn again (bounded) until n has exactly n1 + n2 bits. */
int sk_server_keygen(const struct sk_params *p, struct sk_server_key *key, struct sl_err *err);
/* The composite public key (n, e) as an EVP_PKEY (for certificates,
 * verification, PEM).  EVP_PKEY_free(). */
EVP_PKEY *sk_public_key(const struct sk_server_key *key, struct sl_err *err);
/* EM for `digest` (SHA-256/384/512, SHA3-256/384/512) of the message under
 * `pad`, as long as n (sk_n bytes): produced by OpenSSL's own RSA signer
 * over an identity key (n, 1, 1), so no padding is written by hand. */
int sk_encode(const BIGNUM *n, enum sk_padding pad, const char *digest, const uint8_t *hash, size_t hashlen,
	uint8_t **em, size_t *emlen, struct sl_err *err);
/* Is `em` (n bytes) an encoding of `hash` that sk_encode() could have
 * made?  PSS: a valid EMSA-PSS encoding (salt = digest length, MGF1 with
 * the same digest), checked by OpenSSL's verifier over the identity key
 * (n, e = 1); PKCS#1 v1.5: exactly sk_encode()'s.  SL_EINVAL otherwise.
 * PSS salts are random, so for a split-key PSS signature the device sends
 * the EM it signed and the server completes that one after this check. */
int sk_encode_check(const BIGNUM *n, enum sk_padding pad, const char *digest, const uint8_t *hash, size_t hashlen,
	const uint8_t *em, size_t emlen, struct sl_err *err);
/* Device: advance `dev` to the next version (the caller persists it
 * BEFORE sending anything), then EM^share mod n1 with the share opened by
 * `pin` (any PIN opens a share).  *version is the new version, *part the
 * partial signature (n1 bytes, malloc'd; seal it).  SL_EINVAL, before
 * advancing, for a PIN not of the key's form (sk_pin_ok with SK_PIN1_MIN
 * or SK_PIN2_MIN by dk_info: a format check, never a PIN check) or an
 * empty or over-long EM. */
int sk_device_sign(struct sk_device_key *dev, const char *pin, const struct sk_params *p, const uint8_t *em,
	size_t emlen, uint64_t *version, uint8_t **part, size_t *partlen, struct sl_err *err);

enum sk_verdict {
	SK_OK = 0, /* *sig set; key->sk_version and sk_d1pp advanced: persist */
	SK_WRONG_PIN, /* the partial signature does not complete: count a failure */
	SK_CLONE, /* a version already passed (checked first): a copied state; revoke */
	SK_BAD_VERSION, /* more than SK_MAX_SKIP ahead, or malformed input */
	SK_ERROR, /* resources */
};
/* Server: complete the device's partial signature for `em` at `version`,
 * add its own part, and check the whole signature with (n, e) before
 * returning it (n bytes, malloc'd).  On anything but SK_OK `key` is
 * unchanged. */
enum sk_verdict sk_server_complete(struct sk_server_key *key, const uint8_t *em, size_t emlen, uint64_t version,
	const uint8_t *part, size_t partlen, uint8_t **sig, size_t *siglen);

/* Serialisation for the store and the app's state file: a JSON object with
 * base64url fields (the server's RSA key as PKCS#8 DER).  Secrets in the
 * text: the caller encrypts it at rest.  Parsing checks sizes and that n1,
 * n2, n agree.  malloc'd text; SL_EINVAL with a message for a bad one.
 *   device: {"v":1, "use":"auth"|"sign", "n1", "c" (exactly W/8 bytes),
 *            "salt", "kdev", "version", "w"}
 *   server: {"v":1, "n1", "d1pp", "key2", "n", "kdev", "version", "w"}
 * At most SK_JSON_MAX bytes; w must be n1 bits + SK_SHARE_EXTRA_BITS, n1
 * odd of SK_BITS_MIN..SK_BITS_MAX (a multiple of 256), key2 RSA with
 * e = SK_E, n = n1 * n2 of n1 + n2 bits, version <= SK_VERSION_MAX. */
char *sk_device_key_to_json(const struct sk_device_key *dev);
int sk_device_key_from_json(const char *json, struct sk_device_key *dev, struct sl_err *err);
char *sk_server_key_to_json(const struct sk_server_key *key);
int sk_server_key_from_json(const char *json, struct sk_server_key *key, struct sl_err *err);
/* The device's share for the server as it travels (sealed) at
 * registration: `to_server` of sk_device_keygen (version 0, no key2) as
 * {"v":1, "n1", "d1pp", "kdev", "version":0, "w"}.  Parsing also checks
 * that n1 is of p's size with its top two bits set (what
 * sk_server_keygen() needs), w = W and 2^W < d1'' < 2^(W+2); no other
 * member.  The result is ready for sk_server_keygen(). */
char *sk_share_to_json(const struct sk_server_key *share);
int sk_share_from_json(const char *json, const struct sk_params *p, struct sk_server_key *share, struct sl_err *err);
/* Cleanse and free; NULL-safe, the structs themselves are the caller's. */
void sk_device_key_clear(struct sk_device_key *dev);
void sk_server_key_clear(struct sk_server_key *key);

#endif
