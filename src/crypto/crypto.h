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
void jose_key_free(struct jose_key *key);
const char *jose_key_alg(const struct jose_key *key);
const char *jose_key_kid(const struct jose_key *key);
/* Private key as PKCS#8 PEM; malloc'd. */
char *jose_key_private_pem(const struct jose_key *key);
/* Public JWK with kid, alg and use=sig; new reference. */
json_t *jose_key_public_jwk(const struct jose_key *key);
bool jose_alg_supported(const char *alg);

/* Sign `claims` as a compact JWS with header {alg, kid, typ}. malloc'd. */
char *jose_sign(const struct jose_key *key, json_t *claims, const char *typ, struct sl_err *err);
/* Verify a compact JWS with one of `keys` (the one whose kid matches, or
 * the only one of the header's alg when no kid).  On success *claims is a
 * new reference to the payload object. */
int jose_verify(const char *compact, struct jose_key *const *keys, size_t nkeys, json_t **claims, struct sl_err *err);
/* The protected header of a compact JWS, unverified (for routing only). */
json_t *jose_peek_header(const char *compact);

/* ---- X.509 for the local TLS set-up (sleutel init) ---- */
/* A self-signed CA: PEM key and certificate, malloc'd. */
int x509_make_ca(const char *cn, int days, char **key_pem, char **cert_pem, struct sl_err *err);
/* A TLS server certificate for the DNS names and IPs in `sans`
 * (comma-separated, e.g. "DNS:localhost,IP:127.0.0.1"), issued by the CA. */
int x509_make_server(const char *ca_key_pem, const char *ca_cert_pem, const char *cn, const char *sans, int days,
	char **key_pem, char **cert_pem, struct sl_err *err);

#endif
