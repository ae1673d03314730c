/* fuzz_sidrp_certchoice_link.c — v3 device-link certificate choice request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "signature/certificate-choice/device-link/anonymous")
