/* fuzz_sidrp_auth_notif.c — v3 notification authentication request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "authentication/notification/etsi/PNOBE-85073003328")
