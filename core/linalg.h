/* Linear algebra on kr_tensors: BLAS products (linalg.c) and LAPACK factorisations (svd.c). */
#ifndef KR_LINALG_H
#define KR_LINALG_H

#include "tensor.h"

/* C = alpha * A B + beta * C for 2-D x 2-D (gemm) or 2-D x 1-D (gemv).  Transposed views go
 * to BLAS as transpose flags; other non-contiguous operands are copied once.  A, B and C share
 * one dtype; C must not overlap A or B. */
kr_status kr_matmul(kr_tensor *C, const kr_tensor *A, const kr_tensor *B, double alpha,
                    double beta);

/* How BLAS can read the 2-D tensor t in place, row-major: trans 0, element (i, j) at
 * i ld + j (t as it is); trans 1, at j ld + i (the memory holds t's transpose).  Returns 0 when
 * neither describes t (e.g. every other column: copy it) or ld exceeds an int.  When both do
 * (a row or a column), prefer_trans picks.  The one rule linalg.c and mlp.c share. */
typedef struct kr_blas_mat {
    int trans;
    int64_t ld;
} kr_blas_mat;
int kr_blas_layout(const kr_tensor *t, int prefer_trans, kr_blas_mat *m);

/* C = alpha op(A) op(B) + beta C on raw row-major arrays (op transposes when ta / tb), m x n
 * from m x k and k x n: BLAS, or plain loops for products too small to pay a BLAS call's
 * set-up.  For the hot paths (the MLP), which have checked their shapes already. */
void kr_gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
             const void *A, int64_t lda, const void *B, int64_t ldb, double beta, void *C,
             int64_t ldc);

/* Thin SVD, A = U diag(S) V^T with A m x n, k = min(m, n): U m x k, S k (descending),
 * V n x k, all new tensors of A's dtype (LAPACK ?gesdd).  A is not modified.  A must be 2-D and
 * finite (NaN or infinity is refused up front); on any failure U, S and V are left released
 * (storage NULL).  An empty A (m or n = 0) gives empty factors. */
kr_status kr_svd(kr_tensor *U, kr_tensor *S, kr_tensor *V, const kr_tensor *A);
/* Singular values only (?gesdd with jobz = 'N'). */
kr_status kr_svdvals(kr_tensor *S, const kr_tensor *A);
/* Number of singular values above tol; tol < 0 means max(m, n) * eps * s_max (NumPy's rule). */
kr_status kr_rank(const kr_tensor *A, double tol, int64_t *rank);

/* BLAS threads (OpenBLAS, blas.c): set (n < 1 counts as 1) and read back. */
void kr_set_threads(int n);
int kr_get_threads(void);
const char *kr_blas_info(void);     /* OpenBLAS build config, "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." */
const char *kr_blas_core(void);     /* the CPU kernel set in use, "Haswell" */
const char *kr_blas_parallel(void); /* threading model: "pthreads", "openmp" or "sequential" */

#endif
