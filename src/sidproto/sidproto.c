/* sidproto.c — hashes, verification codes, ACSP_V2, user challenges
 * (sidproto.h).  Skeleton: the rpproto engineer writes it. */
#include "sidproto.h"
