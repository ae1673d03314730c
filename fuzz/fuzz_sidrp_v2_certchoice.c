/* fuzz_sidrp_v2_certchoice.c — v2 certificate choice request bodies (sidrp_fuzz.h). */
#include "sidrp_fuzz.h"
SIDRP_FUZZ(2, "certificatechoice/etsi/PNOBE-85073003328")
