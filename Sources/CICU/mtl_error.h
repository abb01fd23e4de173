#ifndef MTL_ERROR_H
#define MTL_ERROR_H
/* Filling an MTLError (include/mtl_icu.h), shared by the target's C files. Private to CICU. */
#include "mtl_icu.h"

/* Sets code, offset and a printf-style message; does nothing when error is NULL. */
void mtl_set_error(MTLError *error, int32_t code, int32_t offset, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#endif
