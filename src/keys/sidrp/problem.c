/* problem.c — see sidrp_int.h.  Skeleton: its engineer writes it. */
#include "sidrp_int.h"
