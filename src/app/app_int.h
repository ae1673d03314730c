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

struct httpc_share;

#define SAPP_STATUS_MAX 16 /* "sms", "proofing", "proof_code", "proofed", "done" */
#define SAPP_JKT_LEN 43 /* base64url SHA-256 */

/* ---- Smart-ID (smartid_*.c) ---- */
#define SAPP_SID_KEY_MAX 4096 /* bytes of a device key's JSON (about 1.2 KiB at 3072 bits) */
#define SAPP_SID_N_MAX 1400 /* base64url characters of a composite modulus (2 x 4096 bits) */
#define SAPP_SID_CERT_MAX 8192 /* bytes of a certificate's PEM */
#define SAPP_SID_DOCNR_MAX 64 /* bytes of a document number ("PNOBE-...-Q") */
#define SAPP_SID_NKEYS 2
#define SAPP_SID_HASH_MAX 64 /* bytes of a request's hash (SHA-512) */

enum sapp_sid_use { SAPP_SID_AUTH = 0, SAPP_SID_SIGN = 1 };

/* One split key as the app keeps it: nothing depends on the PIN except
 * through the camouflage inside the device key. */
struct sapp_sid_key {
	char sk_device[SAPP_SID_KEY_MAX]; /* sk_device_key_to_json(), compact */
	char sk_n[SAPP_SID_N_MAX]; /* the composite modulus n, base64url */
	char sk_cert[SAPP_SID_CERT_MAX]; /* PEM, "" until the device is active */
};

/* The "smartid" object of the state file: its own transport key (the
 * server keeps app-key and Smart-ID devices apart), a registration in
 * progress or an active device, and the two keys. */
struct sapp_sid_state {
	bool ss_present; /* the object is there */
	char ss_transport_key[SAPP_PEM_MAX];
	char ss_registration_id[SAPP_ID_MAX];
	char ss_registration_status[SAPP_STATUS_MAX]; /* "code", "confirmed" */
	char ss_device_id[SAPP_ID_MAX];
	char ss_account_id[SAPP_ID_MAX];
	char ss_document_number[SAPP_SID_DOCNR_MAX];
	struct camo_params ss_params; /* the scrypt cost the keys were made with */
	struct sapp_sid_key ss_keys[SAPP_SID_NKEYS];
};

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
	struct sapp_sid_state st_sid;
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
/* A string member copied into `dst` when present (absent leaves ""); a
 * wrong type or a length of 0 or >= size is refused, naming `name`. */
int sapp_json_str(const json_t *doc, const char *name, char *dst, size_t size, struct sl_err *err);
/* Set string member `name` unless `s` is "". */
void sapp_json_put(json_t *doc, const char *name, const char *s);
/* "nl", "fr", "de" or "en"? */
bool sapp_lang_ok(const char *s);
/* A small positive integer member (1..2^20). */
int sapp_json_u32(const json_t *doc, const char *name, uint32_t *out, struct sl_err *err);
/* Does the object have only members of `allowed` (NULL-ended)? */
int sapp_json_members(const json_t *doc, const char *what, const char *const *allowed, struct sl_err *err);
/* The "smartid" object (smartid_state.c): parsed strictly into `out`
 * (device keys checked by sk_device_key_from_json), and formatted. */
int sapp_sid_parse(const json_t *obj, struct sapp_sid_state *out, struct sl_err *err);
int sapp_sid_format(const struct sapp_sid_state *ss, json_t **out, struct sl_err *err);
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
	struct sapp_state *sa_base; /* the file as this handle last read or wrote it (lock.c merges against it) */
	int sa_lock; /* the state's lock, held from a Smart-ID signature until its answer was sent; else -1 */
	struct sapp_transport sa_tk;
	char sa_server[SAPP_URL_MAX]; /* this session's server (may differ from the saved one) */
	char sa_ca_file[SAPP_PATH_MAX];
	struct camo_params sa_params; /* cost for a new confirmation key */
	json_t *sa_last_error;
	struct sapp_transport sa_sid_tk; /* the Smart-ID transport key, when st_sid has one */
	struct httpc_share *sa_http; /* the kept-alive connection to the server */
	char sa_seal_kid[SEAL_KID_MAX]; /* the server's seal key as last fetched (sapp_seal_key) */
	uint8_t sa_seal_pub[P256_PUB_LEN];
	int64_t sa_seal_until; /* sl_monotonic_ms() until which it is used without asking; 0: none */
};

/* One device-API call: `path` after "/device/v1" (no query), `body` NULL
 * for GET.  `proof` false only for /config and /keys.  On 2xx *status and
 * *out (NULL for 204); otherwise the server's error in err and
 * sa_last_error.  `timeout` seconds (0: SAPP_TIMEOUT). */
int sapp_call(struct sapp *app, const char *method, const char *path, json_t *body, bool proof, int timeout,
	long *status, json_t **out, struct sl_err *err);
/* The same with the proof signed by `tk` (the Smart-ID calls). */
int sapp_call_as(struct sapp *app, const struct sapp_transport *tk, const char *method, const char *path, json_t *body,
	bool proof, int timeout, long *status, json_t **out, struct sl_err *err);
/* One long-poll round: GET `path` of at most `secs` seconds; SL_OK with
 * *ans NULL when nothing came (the server's 204, or our limit). */
int sapp_poll(struct sapp *app, const struct sapp_transport *tk, const char *path, int secs, json_t **ans,
	struct sl_err *err);
/* A status long-polled while it is `sp_waiting` (an enrolment's
 * "proofing", a registration's "code"). */
struct sapp_status_poll {
	const struct sapp_transport *sp_tk;
	const char *sp_path; /* the long-poll */
	const char *sp_peek_path; /* one look (wait 0) */
	int sp_peek; /* seconds one look may take */
	const char *sp_waiting;
	int (*sp_note)(struct sapp *app, const json_t *ans, struct sl_err *err); /* keep the answer's status */
	void (*sp_ended)(struct sapp *app); /* after a refusal: forget what the server ended */
	const char *(*sp_status)(const struct sapp *app); /* the status kept */
};
/* `wait` seconds > 0: poll until the kept status leaves sp_waiting or the
 * time is up; 0: one look.  *out is the last answer, or {"status"} of the
 * kept one when the server's long-poll outlasted ours. */
int sapp_status_poll(struct sapp *app, const struct sapp_status_poll *sp, int wait, json_t **out, struct sl_err *err);
/* A request channel (requests.c): `wait` as sapp_requests; `path` may
 * carry a query.  *out the array of requests, checked for shape. */
int sapp_requests_poll(struct sapp *app, const struct sapp_transport *tk, const char *path, int wait, json_t **out,
	struct sl_err *err);
/* The pending request `request_id` from one round of `path` (SL_ENOTFOUND). */
int sapp_request_find_at(struct sapp *app, const struct sapp_transport *tk, const char *path, int secs,
	const char *request_id, json_t **out, struct sl_err *err);
/* GET `path`: the "devices" array; POST `base`/devices/{id}/remove (devices.c). */
int sapp_devices_at(
	struct sapp *app, const struct sapp_transport *tk, const char *path, json_t **out, struct sl_err *err);
int sapp_remove_at(struct sapp *app, const struct sapp_transport *tk, const char *base, const char *device_id,
	json_t **out, struct sl_err *err);
/* The current seal key (the first) of a "seal_keys" array. */
int sapp_seal_key_of(const json_t *keys, char kid[SEAL_KID_MAX], uint8_t pub[P256_PUB_LEN], struct sl_err *err);
/* Save the state to its file: sapp_commit with no change of its own. */
int sapp_save(struct sapp *app, struct sl_err *err);
/* ---- the state file's lock (lock.c) ---- */
/* flock(LOCK_EX) on "<path>.lock" (0600), waiting at most SAPP_LOCK_WAIT
 * seconds (then SL_EBUSY); *fd for sapp_unlock. */
int sapp_lock(const char *path, int *fd, struct sl_err *err);
void sapp_unlock(int fd);
/* A change applied under the lock to `disk`, the state just read again. */
typedef int (*sapp_apply_fn)(struct sapp *app, struct sapp_state *disk, void *ctx, struct sl_err *err);
/* The one way the state is written: under the lock, read the file again,
 * merge this handle's changes since sa_base into it (SL_ECONFLICT, nothing
 * written, when another writer changed the same part: app key or Smart-ID
 * device), apply `fn` (NULL: none), write, and make the handle hold the
 * result.  The lock is released before it returns. */
int sapp_commit(struct sapp *app, sapp_apply_fn fn, void *ctx, struct sl_err *err);
/* The first write of a new state (SL_ECONFLICT when the file exists). */
int sapp_commit_new(struct sapp *app, struct sl_err *err);
/* Take the state's lock into sa_lock (kept: sapp_commit uses it, and does
 * not release it), so the version a signature used reaches the server
 * before another process can sign the next one; sapp_release() once the
 * answer was sent (and in sapp_free). */
int sapp_hold(struct sapp *app, struct sl_err *err);
void sapp_release(struct sapp *app);
/* The server's current seal key: kid and the 65-byte point, fetched
 * (GET /keys) at most every SAPP_SEAL_KEEP_MS; sapp_seal_key_forget()
 * drops the kept one (the server no longer opens it: rotated away). */
#define SAPP_SEAL_KEEP_MS ((int64_t)10 * 60 * 1000)
int sapp_seal_key(struct sapp *app, char kid[SEAL_KID_MAX], uint8_t pub[P256_PUB_LEN], struct sl_err *err);
void sapp_seal_key_forget(struct sapp *app);

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

/* ---- Smart-ID insides (smartid_*.c) ---- */

/* "auth" or "sign". */
const char *sapp_sid_use_name(enum sapp_sid_use use);
/* A Smart-ID call: `path` after "/device/v1/smartid", proof by the Smart-ID
 * transport key (none for /config). */
int sapp_sid_call(struct sapp *app, const char *method, const char *path, json_t *body, int timeout, long *status,
	json_t **out, struct sl_err *err);
/* The device key of `use`, loaded (sk_device_key_clear() it). */
int sapp_sid_key_load(const struct sapp *app, enum sapp_sid_use use, struct sk_device_key *dev, struct sl_err *err);
/* One split-key signature, the app's half: EM = sk_encode(n, pad, digest,
 * hash), the key advanced and the state SAVED, and only then the partial
 * signature sealed to `seal_kid` with `aad`: *version and a base64url
 * *part (malloc'd).  The state's lock stays held (sapp_hold): the caller
 * sends the part, then calls sapp_release(). */
int sapp_sid_sign(struct sapp *app, enum sapp_sid_use use, const char *pin, enum sk_padding pad, const char *digest,
	const uint8_t *hash, size_t hashlen, const char *seal_kid, const uint8_t seal_pub[P256_PUB_LEN],
	const char *aad, uint64_t *version, char **part, struct sl_err *err);
/* What one signature is over, sealed to whom (sapp_sid_sign_em). */
struct sapp_sid_sig {
	enum sapp_sid_use sg_use;
	const char *sg_pin;
	enum sk_padding sg_pad;
	const char *sg_digest; /* sk_encode's name: "SHA256", ..., "SHA3-512" */
	const uint8_t *sg_hash;
	size_t sg_hashlen;
	const char *sg_seal_kid;
	const uint8_t *sg_seal_pub; /* P256_PUB_LEN bytes */
	const char *sg_aad;
};
/* sapp_sid_sign, and (when `em_b64` is not NULL) the EM the part was made
 * over, base64url, malloc'd: a PSS salt is random, so the server needs
 * the very EM to complete (docs/smart-id.md "em").  Lock as there. */
int sapp_sid_sign_em(struct sapp *app, const struct sapp_sid_sig *sig, uint64_t *version, char **part_b64,
	char **em_b64, struct sl_err *err);
/* SL_EINVAL unless a Smart-ID device is active. */
int sapp_sid_need_active(const struct sapp *app, struct sl_err *err);
/* Forget the Smart-ID object (its keys cleansed) and save. */
int sapp_sid_forget(struct sapp *app, struct sl_err *err);

/* The binding hash of a portal login request (docs/smartid-api.md): each
 * of "sleutel-smartid-v1", id, rp_id, rp_name, action, SHA-256(display
 * text) and nonce as a 2-byte big-endian length and its bytes, hashed. */
int sapp_sid_binding_hash(const char *id, const char *rp_id, const char *rp_name, const char *action,
	const char *display_text, const char *nonce, uint8_t out[SL_SHA256_LEN], struct sl_err *err);
/* The verification code of a hash: int(SHA-256(hash)[-2:]) mod 10000, 4 digits. */
void sapp_sid_vc(const uint8_t *hash, size_t len, char out[5]);
/* Is `request` (as received) one the app may sign?  Its fields and
 * shape, the binding fields against the hash, the verification code
 * against the hash.  Refuses with a message; on SL_OK *use is the key it
 * names, *pad its padding, and hash/hashlen the decoded hash. */
int sapp_sid_request_check(const json_t *request, enum sapp_sid_use *use, enum sk_padding *pad,
	uint8_t hash[SAPP_SID_HASH_MAX], size_t *hashlen, struct sl_err *err);

/* ---- Smart-ID RP API insides (smartid_rp.c) ---- */

/* The hash a checked RP API request is signed over: ACSP_V2, the
 * payload's (sidp_acsp_digest) with `user_challenge` and the interaction
 * shown; RAW_DIGEST_SIGNATURE and v2, the RP's digest.  SL_EINVAL for a
 * request that does not pass sapp_rp_check or signs nothing. */
int sapp_rp_digest(const json_t *request, const char *user_challenge, uint8_t out[SAPP_SID_HASH_MAX], size_t *len,
	struct sl_err *err);

#endif
