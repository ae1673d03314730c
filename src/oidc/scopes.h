/*
 * scopes.h — the scopes this provider gives, for the provider (discovery,
 * the grant) and for the operator's CLI (a client's allowed scopes), which
 * does not link the provider.
 */
#ifndef SL_OIDC_SCOPES_H
#define SL_OIDC_SCOPES_H

/* In the order a granted scope names them. */
#define OIDC_SCOPE_LIST "openid", "profile", "eid", "offline_access"

#endif
