/* Which library computes a GEMM: OpenBLAS (linked; also every cblas_ call and LAPACK) or BLIS
 * (loaded at run time by blis.c, with AVX-512 kernels where the CPU has them), chosen per shape
 * class (gemm_backend.c).  KAIRO_BLAS=openblas or KAIRO_BLAS=blis in the environment forces one. */
#ifndef KR_GEMM_BACKEND_H
#define KR_GEMM_BACKEND_H

#include <stdint.h>

#include "tensor.h"

typedef enum kr_gemm_lib { KR_GEMM_OPENBLAS = 0, KR_GEMM_BLIS = 1 } kr_gemm_lib;

/* The library for C (m x n) = A (m x k) B (k x n) in dtype dt; *one_thread is set to 1 when
 * that product should run on one thread (skinny products beside BLIS, see gemm_backend.c). */
kr_gemm_lib kr_gemm_choose(kr_dtype dt, int64_t m, int64_t n, int64_t k, int *one_thread);
/* The GEMMs each library has computed in this process (kr_gemm_lib indexes), for tests. */
void kr_gemm_counts(uint64_t counts[2]);
void kr_gemm_count(kr_gemm_lib lib);
/* "auto", "openblas" or "blis": what serves GEMMs (KAIRO_BLAS, or openblas when BLIS cannot be
 * used), and the rule in words.  kr_gemm_env_error: NULL when KAIRO_BLAS is unset, "auto",
 * "openblas", or "blis" with BLIS usable; else why not (for the binding to raise). */
const char *kr_gemm_mode(void);
const char *kr_gemm_env_error(void);
const char *kr_gemm_rule(void);

/* BLIS (blis.c).  kr_blis_ready: loaded with its typed gemm; kr_blis_fast: and its kernels
 * are not the generic reference ones (auto mode uses BLIS only then). */
int kr_blis_ready(void);
int kr_blis_fast(void);
void kr_blis_set_threads(int n);
int kr_blis_get_threads(void); /* 0 when BLIS is not loaded */
const char *kr_blis_arch(void);      /* "skx", "" when not loaded */
const char *kr_blis_version(void);   /* "0.9.0" */
const char *kr_blis_chosen_by(void); /* who chose the kernel set */
const char *kr_blis_why_not(void);   /* "" when BLIS is loaded and fast, else why not */
/* C = alpha A B + beta C with element strides: A m x k, B k x n, C m x n, on one thread or on
 * kr_set_threads's count.  Call kr_blis_ready first. */
void kr_blis_gemm(kr_dtype dt, int one_thread, int64_t m, int64_t n, int64_t k, double alpha, const void *A,
                  int64_t as0, int64_t as1, const void *B, int64_t bs0, int64_t bs1, double beta,
                  void *C, int64_t cs0, int64_t cs1);

#endif
