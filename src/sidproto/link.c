/* link.c — device links and their authCode (sidproto.h).  Skeleton. */
#include "sidproto.h"
