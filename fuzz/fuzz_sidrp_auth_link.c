/* fuzz_sidrp_auth_link.c — v3 device-link authentication request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(3, "authentication/device-link/anonymous")
