/* fuzz_sidrp_certchoice_notif.c — v3 notification certificate choice request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/certificate-choice/notification/etsi/PNOBE-85073003328")
