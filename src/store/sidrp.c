/* sidrp.c — Smart-ID RP API relying parties and sessions (store.h, schema
 * 10).  Skeleton: the rpstore engineer writes it. */
#include "store_int.h"
