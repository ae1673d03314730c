/* fuzz_sidrp_sign_linked.c — v3 linked notification signature request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/notification/linked/PNOBE-85073003328-AAAA-Q")
