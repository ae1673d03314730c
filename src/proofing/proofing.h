/*
 * proofing — linking an app enrolment to a person (DESIGN §1 "App
 * enrollment"): through the person's bank, an upstream OpenID provider of
 * which sleutel is a client (code flow with PKCE and nonce, ID token
 * validated against the bank's JWKS, claims mapped per [bank.<id>]); or
 * through the eID card on the eID origin.
 *
 * The app opens a proofing URL in the phone's browser.  When proofing
 * succeeds the person's claims wait on the enrolment (en_proof_state)
 * with a one-time proofing code, shown on the final page: the browser may
 * be anyone's (a link sent to a victim), so only the app that started the
 * enrolment, typing that code (proofing_redeem), binds the identity: then
 * the enrolment holds the person (store_enrollment en_person) and its
 * status becomes "proofed".  Both steps notify the enrolment's waiter key
 * so the app's long-poll returns at once.
 */
#ifndef SL_PROOFING_H
#define SL_PROOFING_H

#include "../http/http.h"
#include "../server/server.h"

int proofing_init(struct server *srv, struct sl_err *err);
void proofing_free(struct server *srv);

/* The proofing choices for an enrolment in the "proofing" state, as the
 * device API returns them: [{"method":"bank","id":..,"name":..,"url":..},
 * {"method":"eid","name":..,"url":..}].  The URLs carry a one-time
 * proofing ticket bound to the enrolment.  A new reference, NULL on error. */
json_t *proofing_choices(struct server *srv, const char *enrollment_id, int lang);

/* Is a proof waiting for its code on this enrolment (status "proofing")?
 * `out` (may be NULL) says for how long and how many tries are left. */
struct proofing_pending {
	int64_t pp_expires_in; /* seconds */
	int pp_tries_left;
};
bool proofing_pending(const struct store_enrollment *e, int64_t now, struct proofing_pending *out);

/* The app typed a proofing code (spaces, dashes and case do not matter).
 * SL_OK: the enrolment is "proofed" with the waiting person, the code is
 * spent, the long-poll woken.  SL_EINVAL: not a code's shape (not
 * counted).  SL_EDENIED: wrong, *tries_left left (0: the proof is
 * discarded, prove again).  SL_EEXPIRED: the code expired (discarded), or
 * the enrolment did.  SL_ENOTFOUND: no proof waits.  SL_ECONFLICT: the
 * enrolment is not in "proofing". */
int proofing_redeem(struct server *srv, const char *enrollment_id, const char *code, int *tries_left);

/* The proofing code: what the person carries from the final page back to
 * the app on the phone being enrolled, so a proof made in someone else's
 * browser never binds by itself.  8 characters of a 32-letter alphabet
 * without 0/O and 1/I (40 bits), shown as "XXXX-XXXX". */
#define PROOF_CODE_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#define PROOF_CODE_LEN 8
#define PROOF_CODE_SHOWN (PROOF_CODE_LEN + 1) /* with the dash */
#define PROOF_CODE_TYPED_MAX 32 /* bytes of a typed code, spaces and dashes included */
/* A new proofing code (also the Smart-ID registration code) "XXXX-XXXX" from the CSPRNG. */
int proof_code_new(char out[PROOF_CODE_SHOWN + 1]);
/* A typed code as stored (hashed): spaces and dashes dropped, lower case
 * raised; SL_EINVAL unless PROOF_CODE_LEN characters of the alphabet. */
int proof_code_normalize(const char *typed, char out[PROOF_CODE_LEN + 1]);

extern const struct http_route proofing_routes[];
extern const size_t proofing_nroutes;

#endif
