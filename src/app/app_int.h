/*
 * app_int.h — libsleutel-app's insides, shared by its files, the unit tests
 * and the state-file fuzz target.  Not installed; callers use
 * sleutel-app.h.
 */
#ifndef SAPP_INT_H
#define SAPP_INT_H

#include <openssl/types.h>

#include "../crypto/crypto.h"
#include "sleutel-app.h"

#define SAPP_STATUS_MAX 16 /* "sms", "proofing", "proof_code", "proofed", "done" */
#define SAPP_JKT_LEN 43 /* base64url SHA-256 */

/* The state file, typed (state.c).  Strings are "" when absent. */
struct sapp_state {
	char st_server[SAPP_URL_MAX];
	char st_ca_file[SAPP_PATH_MAX];
	char st_transport_key[SAPP_PEM_MAX]; /* PKCS#8 PEM, P-256 */
	char st_enrollment_id[SAPP_ID_MAX];
	char st_enrollment_status[SAPP_STATUS_MAX];
	char st_device_id[SAPP_ID_MAX];
	char st_account_id[SAPP_ID_MAX];
	char st_phone[SAPP_PHONE_MAX];
	bool st_has_confirm; /* the next three are set */
	uint8_t st_c[P256_SCALAR_LEN]; /* camo_make's c: d - k(code) mod n */
	uint8_t st_salt[CAMO_SALT_LEN];
	struct camo_params st_params;
};

/* Parse a state document (strict: version, known members only, every
 * length and charset checked, all-or-nothing confirmation members).
 * SL_EINVAL with a message naming the member. */
int sapp_state_parse(const char *json, size_t len, struct sapp_state *out, struct sl_err *err);
/* The JSON document for `st`; malloc'd (free with sapp_state_free_text). */
char *sapp_state_format(const struct sapp_state *st, struct sl_err *err);
/* Wipe and free a formatted document (it holds the transport key). */
void sapp_state_free_text(char *text);
/* Read and parse `path`, refusing a file others may read or write. */
int sapp_state_load(const char *path, struct sapp_state *out, struct sl_err *err);
/* Format and write `path` atomically with mode 0600. */
int sapp_state_save(const char *path, const struct sapp_state *st, struct sl_err *err);
/* A base64url id of at most SAPP_ID_MAX - 1 characters? */
bool sapp_id_ok(const char *s);
/* "+" and 8..15 digits? */
bool sapp_phone_ok(const char *s);

/* The transport key, loaded (proof.c). */
struct sapp_transport {
	EVP_PKEY *tk_pkey; /* signs refusals */
	struct jose_key *tk_jose; /* signs proofs; kid = tk_jkt */
	char tk_jkt[SAPP_JKT_LEN + 1]; /* RFC 7638 thumbprint */
	char tk_x[SAPP_JKT_LEN + 1]; /* public JWK coordinates */
	char tk_y[SAPP_JKT_LEN + 1];
};

/* A new P-256 private key as PKCS#8 PEM into `pem`. */
int sapp_transport_generate(char pem[SAPP_PEM_MAX], struct sl_err *err);
int sapp_transport_load(const char *pem, struct sapp_transport *out, struct sl_err *err);
void sapp_transport_clear(struct sapp_transport *tk);
/* The public JWK {"kty","crv","x","y"}; a new reference. */
json_t *sapp_transport_jwk(const struct sapp_transport *tk);
/* A proof for `method` on `htu` (no query); malloc'd compact JWS. */
char *sapp_proof(const struct sapp_transport *tk, const char *method, const char *htu, struct sl_err *err);

/* An opened state (api.c owns its life). */
struct sapp {
	char *sa_path;
	struct sapp_state sa_st;
	struct sapp_transport sa_tk;
	char sa_server[SAPP_URL_MAX]; /* this session's server (may differ from the saved one) */
	char sa_ca_file[SAPP_PATH_MAX];
	struct camo_params sa_params; /* cost for a new confirmation key */
	json_t *sa_last_error;
};

/* One device-API call: `path` after "/device/v1" (no query), `body` NULL
 * for GET.  `proof` false only for /config and /keys.  On 2xx *status and
 * *out (NULL for 204); otherwise the server's error in err and
 * sa_last_error.  `timeout` seconds (0: SAPP_TIMEOUT). */
int sapp_call(struct sapp *app, const char *method, const char *path, json_t *body, bool proof, int timeout,
	long *status, json_t **out, struct sl_err *err);
/* Save the state to its file. */
int sapp_save(struct sapp *app, struct sl_err *err);
/* The server's current seal key: kid and the 65-byte point. */
int sapp_seal_key(struct sapp *app, char kid[SEAL_KID_MAX], uint8_t pub[P256_PUB_LEN], struct sl_err *err);

/* The fields a confirmation signs, borrowed from `request` as received
 * (requests.c): refuses a request missing a field, an id that is not an
 * id, an unknown action, and a `picked` code that is not one of its codes
 * (a refusal passes picked = ""). */
int sapp_confirm_fields(const json_t *request, const char *picked, const char *decision, const char *device_id,
	struct confirm_fields *out, struct sl_err *err);
/* The body of POST /requests/{id}: signs with `key`, seals to the server
 * key (aad = the request id).  A new reference in *out. */
int sapp_answer_body(const struct confirm_fields *f, EVP_PKEY *key, const char *seal_kid,
	const uint8_t seal_pub[P256_PUB_LEN], json_t **out, struct sl_err *err);

#endif
