/* interactions.c — the interactions field (sidproto.h).  Skeleton. */
#include "sidproto.h"
