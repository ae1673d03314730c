/* fuzz_sidrp_v2_sign.c — v2 signature request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(2, "signature/etsi/PNOBE-85073003328")
