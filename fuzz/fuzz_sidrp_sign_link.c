/* fuzz_sidrp_sign_link.c — v3 device-link signature request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/device-link/etsi/PNOBE-85073003328")
