#include "mtl_icu.h"
#include <unicode/uversion.h>
const char *mtl_icu_version(void) { return U_ICU_VERSION; }
