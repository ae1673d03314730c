/*
 * proofing — linking an app enrolment to a person (DESIGN §1 "App
 * enrollment"): through the person's bank, an upstream OpenID provider of
 * which sleutel is a client (code flow with PKCE and nonce, ID token
 * validated against the bank's JWKS, claims mapped per [bank.<id>]); or
 * through the eID card on the eID origin.
 *
 * The app opens a proofing URL in the phone's browser; when proofing ends
 * the enrolment holds the person's claims (store_enrollment en_person) and
 * its status becomes "proofed", and the enrolment's waiter key is notified
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

extern const struct http_route proofing_routes[];
extern const size_t proofing_nroutes;

#endif
