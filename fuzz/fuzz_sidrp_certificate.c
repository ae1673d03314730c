/* fuzz_sidrp_certificate.c — v3 signing certificate request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/certificate/PNOBE-85073003328-AAAA-Q")
