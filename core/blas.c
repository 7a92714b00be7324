/* BLAS threads and identity (linalg.h), for OpenBLAS.
 *
 * OpenBLAS keeps its own thread pool; kairo's only knob is its size, so a user who also runs
 * OpenMP code (or several processes) can set BLAS to one thread and avoid oversubscription.
 * openblas_get_parallel() tells how that OpenBLAS was built: 0 sequential, 1 pthreads, 2 OpenMP. */
#include "linalg.h"

#include <cblas.h>

#include "gemm_backend.h"

/* Both libraries get the same count: kairo calls one at a time, so n threads never become 2n. */
void kr_set_threads(int n)
{
    if (n < 1) n = 1;
    openblas_set_num_threads(n);
    kr_blis_set_threads(n);
}

int kr_get_threads(void)
{
    return openblas_get_num_threads();
}

const char *kr_blas_info(void)
{
    return openblas_get_config();
}

const char *kr_blas_core(void)
{
    return openblas_get_corename();
}

const char *kr_blas_parallel(void)
{
    switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "openmp";
    default: return "unknown";
    }
}
