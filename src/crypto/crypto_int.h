/*
 * crypto_int.h — helpers shared inside src/crypto/ only (not a module
 * contract: nothing outside the crypto library includes this).
 */
#ifndef SL_CRYPTO_INT_H
#define SL_CRYPTO_INT_H

#include <openssl/types.h>

/* A BIGNUM for a secret: secure heap when there is one, constant-time
 * division paths; free it with BN_clear_free().  (camouflage.c) */
BIGNUM *camo_bn_new(void);

#endif
