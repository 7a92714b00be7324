/* Which library serves each BLAS path once BLIS is loaded (core/blis.c opens it RTLD_LOCAL):
 * every cblas_ and Fortran BLAS symbol the process resolves (kairo's gemv, LAPACK's internal
 * calls) stays OpenBLAS's, BLIS's own names stay out of the global namespace, and kr_gemm's
 * BLIS products agree with OpenBLAS's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "../../core/gemm_backend.h"
#include "../../core/linalg.h"
#include "check.h"

/* the file of the shared object that defines symbol name for the whole process */
static const char *owner(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    Dl_info info;
    if (!p || !dladdr(p, &info) || !info.dli_fname) return "(not found)";
    return info.dli_fname;
}

static void check_symbols(const char *when)
{
    static const char *names[] = {"cblas_sgemm", "cblas_dgemm", "cblas_sgemv", "sgemm_",
                                  "dgemm_", "dgesdd_", "sgesdd_"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *f = owner(names[i]);
        CHECK(strstr(f, "blis") == NULL && strcmp(f, "(not found)") != 0,
              "%s: %s resolves to %s", when, names[i], f);
    }
    CHECK(dlsym(RTLD_DEFAULT, "bli_sgemm") == NULL, "%s: bli_sgemm is global", when);
}

int main(void)
{
    check_symbols("before BLIS is loaded");
    int ready = kr_blis_ready();
    printf("# BLIS: %s %s (%s)\n", ready ? kr_blis_arch() : "not loaded", kr_blis_version(),
           *kr_blis_why_not() ? kr_blis_why_not() : kr_blis_chosen_by());
    check_symbols("with BLIS loaded");
    /* the BLAS entry points are the very OpenBLAS kairo links (its own identity function's) */
    const char *ob = owner("openblas_get_config");
    CHECK(strstr(ob, "openblas") != NULL, "openblas_get_config from %s", ob);
    CHECK(strcmp(owner("cblas_sgemm"), ob) == 0, "cblas_sgemm from %s", owner("cblas_sgemm"));
    CHECK(strcmp(owner("sgemm_"), ob) == 0, "sgemm_ from %s", owner("sgemm_"));
    printf("# cblas_sgemm, sgemm_: %s; dgesdd_: %s\n", ob, owner("dgesdd_"));

    /* kr_gemm through whichever library the rule picks, against OpenBLAS directly */
    enum { M = 128, N = 256, K = 100 };
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = (float)sin(i * 0.37);
    for (int i = 0; i < K * N; i++) B[i] = (float)cos(i * 0.11);
    uint64_t before[2], after[2];
    kr_gemm_counts(before);
    kr_gemm(KR_F32, 0, 0, M, N, K, 1.0, A, K, B, N, 0.0, C, N);
    kr_gemm_counts(after);
    int by_blis = after[KR_GEMM_BLIS] > before[KR_GEMM_BLIS];
    CHECK(by_blis == (kr_blis_fast() && strcmp(kr_gemm_mode(), "openblas") != 0),
          "128x256x100 served by %s in mode %s", by_blis ? "BLIS" : "OpenBLAS", kr_gemm_mode());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, R, N);
    double worst = 0;
    for (int i = 0; i < M * N; i++) {
        double e = fabs((double)C[i] - R[i]) / (1 + fabs(R[i]));
        if (e > worst) worst = e;
    }
    CHECK(worst < 1e-5, "kr_gemm and cblas_sgemm differ by %g", worst);
    free(A);
    free(B);
    free(C);
    free(R);
    return check_summary();
}
