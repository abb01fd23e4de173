#ifndef MTL_ICU_H
#define MTL_ICU_H
#include <stdint.h>
/* Our own small C API over ICU (work in progress). */
const char *mtl_icu_version(void);
#endif
