#ifndef MTL_CBLAS_SHIM_H
#define MTL_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface. Debian/Ubuntu put cblas.h under
// /usr/include/<triple>/openblas-pthread/, which pkg-config "openblas" adds to the search path.
#include <cblas.h>

/// Number of threads OpenBLAS uses for one call (global setting).
static inline void mtl_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int mtl_blas_get_threads(void) { return openblas_get_num_threads(); }
/// Name of the kernel set OpenBLAS selected for this CPU ("Haswell", "SkylakeX", ...).
static inline const char *mtl_blas_corename(void) { return openblas_get_corename(); }
#endif
