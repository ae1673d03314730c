/* fuzz_sidrp_sign_notif.c — v3 notification signature request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/notification/etsi/PNOBE-85073003328")
