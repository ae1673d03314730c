/* fuzz_sidrp_v2_auth.c — v2 authentication request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(2, "authentication/etsi/PNOBE-85073003328")
