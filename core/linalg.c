/* Matrix products through CBLAS. */
#include "linalg.h"

#include <cblas.h>

#include "gemm_backend.h"
#include <limits.h>

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

typedef kr_blas_mat blas_mat;

/* How BLAS reads t, preferring it as it is (kr_blas_layout). */
static int blas_view(const kr_tensor *t, blas_mat *m)
{
    return kr_blas_layout(t, 0, m);
}

int kr_blas_layout(const kr_tensor *t, int prefer_trans, kr_blas_mat *m)
{
    int64_t r = t->size[0], c = t->size[1], s0 = t->stride[0], s1 = t->stride[1];
    for (int k = 0; k < 2; k++) {
        int trans = k == 0 ? prefer_trans : !prefer_trans;
        if (!trans && (c == 1 || s1 == 1) && (r == 1 || s0 >= (c > 1 ? c : 1))) {
            m->ld = r == 1 ? (c > 1 ? c : 1) : s0; /* rows of c elements, ld apart */
        } else if (trans && (r == 1 || s0 == 1) && (c == 1 || s1 >= (r > 1 ? r : 1))) {
            m->ld = c == 1 ? (r > 1 ? r : 1) : s1; /* columns of r elements, ld apart */
        } else {
            continue;
        }
        m->trans = trans;
        if (m->ld < 1) m->ld = 1;
        if (m->ld <= INT_MAX) return 1; /* BLAS takes an int; a copy has a smaller ld */
    }
    return 0;
}

/* A contiguous copy when BLAS cannot read t in place; *use points at whichever to pass. */
static kr_status blas_operand(const kr_tensor *t, kr_tensor *copy, const kr_tensor **use,
                              blas_mat *m)
{
    copy->storage = NULL;
    *use = t;
    if (t->ndim == 2 && blas_view(t, m)) return KR_OK;
    kr_status st = kr_tensor_empty(copy, t->dtype, t->ndim, t->size);
    if (st) return st;
    kr_copy_(copy, t);
    *use = copy;
    if (t->ndim == 2) blas_view(copy, m);
    return KR_OK;
}

static void openblas_gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                          double alpha, const void *A, int64_t lda, const void *B, int64_t ldb,
                          double beta, void *C, int64_t ldc);

/* op(A) op(B) through the library gemm_backend.c chooses for the shape */
static void gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
                 const void *A, int64_t lda, const void *B, int64_t ldb, double beta, void *C,
                 int64_t ldc)
{
    int one_thread;
    kr_gemm_lib lib = kr_gemm_choose(dt, m, n, k, &one_thread);
    kr_gemm_count(lib);
    if (lib == KR_GEMM_BLIS) {
        /* BLIS takes element strides: op(A) = A^T is A read with its strides swapped */
        kr_blis_gemm(dt, one_thread, m, n, k, alpha, A, ta ? 1 : lda, ta ? lda : 1, B,
                     tb ? 1 : ldb, tb ? ldb : 1, beta, C, ldc, 1);
        return;
    }
    int threads = one_thread ? openblas_get_num_threads() : 1;
    if (threads > 1) openblas_set_num_threads(1);
    openblas_gemm(dt, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    if (threads > 1) openblas_set_num_threads(threads);
}

static void openblas_gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k,
                          double alpha, const void *A, int64_t lda, const void *B, int64_t ldb,
                          double beta, void *C, int64_t ldc)
{
    enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    if (dt == KR_F64)
        cblas_dgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, alpha, A, (int)lda, B, (int)ldb,
                    beta, C, (int)ldc);
    else
        cblas_sgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, (float)alpha, A, (int)lda, B,
                    (int)ldb, (float)beta, C, (int)ldc);
}

static kr_status matmul_mm(kr_tensor *C, const kr_tensor *A, const kr_tensor *B, double alpha,
                           double beta)
{
    int64_t m = A->size[0], k = A->size[1], n = B->size[1];
    kr_tensor ca, cb, cc;
    const kr_tensor *ua, *ub, *uc;
    blas_mat ma, mb, mc;
    kr_status st;
    if ((st = blas_operand(A, &ca, &ua, &ma))) return st;
    if ((st = blas_operand(B, &cb, &ub, &mb))) {
        kr_tensor_release(&ca);
        return st;
    }
    /* C is written in place when BLAS can address it, else through a copy written back. */
    cc.storage = NULL;
    uc = C;
    if (!blas_view(C, &mc)) {
        if ((st = kr_tensor_empty(&cc, C->dtype, 2, C->size))) goto done;
        if (beta != 0) kr_copy_(&cc, C);
        uc = &cc;
        blas_view(&cc, &mc);
    }
    if (m > 0 && n > 0) {
        if (k == 0) {
            /* BLAS leaves C alone when k = 0 only for some implementations: C = beta C here. */
            if (beta == 0) kr_fill_((kr_tensor *)uc, 0);
            else kr_binary_scalar((kr_tensor *)uc, uc, beta, KR_MUL, 0);
        } else if (!mc.trans) {
            /* C = A B, row-major */
            gemm(C->dtype, ma.trans, mb.trans, m, n, k, alpha, kr_data(ua), ma.ld, kr_data(ub),
                 mb.ld, beta, kr_data(uc), mc.ld);
        } else {
            /* C's memory holds C^T = B^T A^T */
            gemm(C->dtype, !mb.trans, !ma.trans, n, m, k, alpha, kr_data(ub), mb.ld, kr_data(ua),
                 ma.ld, beta, kr_data(uc), mc.ld);
        }
    }
    if (uc != C) kr_copy_(C, uc);
done:
    kr_tensor_release(&ca);
    kr_tensor_release(&cb);
    kr_tensor_release(&cc);
    return st;
}

static kr_status matmul_mv(kr_tensor *y, const kr_tensor *A, const kr_tensor *x, double alpha,
                           double beta)
{
    int64_t m = A->size[0], n = A->size[1];
    kr_tensor ca, cx, cy;
    const kr_tensor *ua, *ux = x, *uy = y;
    blas_mat ma;
    kr_status st;
    cx.storage = cy.storage = NULL;
    if ((st = blas_operand(A, &ca, &ua, &ma))) return st;
    if ((x->stride[0] < 1 || x->stride[0] > INT_MAX) && n > 1) {
        if ((st = kr_tensor_empty(&cx, x->dtype, 1, x->size))) goto done;
        kr_copy_(&cx, x);
        ux = &cx;
    }
    if ((y->stride[0] < 1 || y->stride[0] > INT_MAX) && m > 1) {
        if ((st = kr_tensor_empty(&cy, y->dtype, 1, y->size))) goto done;
        if (beta != 0) kr_copy_(&cy, y);
        uy = &cy;
    }
    if (m > 0) {
        if (n == 0) {
            if (beta == 0) kr_fill_((kr_tensor *)uy, 0);
            else kr_binary_scalar((kr_tensor *)uy, uy, beta, KR_MUL, 0);
        } else {
            /* y = A x; a transposed A is A^T's memory, so ask for its transpose */
            enum CBLAS_TRANSPOSE T = ma.trans ? CblasTrans : CblasNoTrans;
            int rows = (int)(ma.trans ? n : m), cols = (int)(ma.trans ? m : n);
            int incx = ux->stride[0] > 0 ? (int)ux->stride[0] : 1;
            int incy = uy->stride[0] > 0 ? (int)uy->stride[0] : 1;
            if (y->dtype == KR_F64)
                cblas_dgemv(CblasRowMajor, T, rows, cols, alpha, kr_data(ua), (int)ma.ld,
                            kr_data(ux), incx, beta, kr_data(uy), incy);
            else
                cblas_sgemv(CblasRowMajor, T, rows, cols, (float)alpha, kr_data(ua), (int)ma.ld,
                            kr_data(ux), incx, (float)beta, kr_data(uy), incy);
        }
    }
    if (uy != y) kr_copy_(y, uy);
done:
    kr_tensor_release(&ca);
    kr_tensor_release(&cx);
    kr_tensor_release(&cy);
    return st;
}

/* Products this small cost less as plain loops than a BLAS call's set-up (the Saxe dynamics'
 * 7x16x4 products, 448 multiply-adds); from about 600 on (the spiral network's layers) BLAS is
 * faster again, even for strided operands.  Strides are read as they are. */
enum { SMALL_PRODUCT = 512 };

/* Short rows (n < 8) as dot products C[i,j] = sum_p A[i,p] B[p,j]; longer ones row by row,
 * C[i,:] = beta C[i,:] + sum_p alpha A[i,p] B[p,:], whose inner loop runs along rows of B and C
 * (unit-stride and vectorised when they are). */
#define SMALL_MATMUL(T)                                                                         \
    do {                                                                                         \
        const T *a = A, *b = B;                                                                  \
        T *c = C;                                                                                \
        if (n < 8) {                                                                             \
            for (int64_t i = 0; i < m; i++)                                                      \
                for (int64_t j = 0; j < n; j++) {                                                \
                    const T *ai = a + i * as0, *bj = b + j * bs1;                                \
                    T acc = 0;                                                                   \
                    for (int64_t p = 0; p < k; p++) acc += ai[p * as1] * bj[p * bs0];            \
                    T *cij = c + i * cs0 + j * cs1;                                              \
                    *cij = beta == 0 ? (T)alpha * acc : (T)alpha * acc + (T)beta * *cij;         \
                }                                                                                \
            break;                                                                               \
        }                                                                                        \
        for (int64_t i = 0; i < m; i++) {                                                        \
            T *ci = c + i * cs0;                                                                 \
            for (int64_t j = 0; j < n; j++) ci[j * cs1] = beta == 0 ? 0 : (T)beta * ci[j * cs1]; \
            for (int64_t p = 0; p < k; p++) {                                                    \
                T aip = (T)alpha * a[i * as0 + p * as1];                                         \
                const T *bp = b + p * bs0;                                                       \
                if (cs1 == 1 && bs1 == 1)                                                        \
                    for (int64_t j = 0; j < n; j++) ci[j] += aip * bp[j];                        \
                else                                                                             \
                    for (int64_t j = 0; j < n; j++) ci[j * cs1] += aip * bp[j * bs1];            \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* C = alpha A B + beta C with element strides: A is m x k, B k x n, C m x n. */
static void small_gemm(kr_dtype dt, int64_t m, int64_t n, int64_t k, double alpha,
                       const void *A, int64_t as0, int64_t as1, const void *B, int64_t bs0,
                       int64_t bs1, double beta, void *C, int64_t cs0, int64_t cs1)
{
    if (dt == KR_F64)
        SMALL_MATMUL(double);
    else
        SMALL_MATMUL(float);
}

static void matmul_small(kr_tensor *C, const kr_tensor *A, const kr_tensor *B, double alpha,
                         double beta)
{
    /* a vector B or C is a one-column matrix */
    int64_t n = B->ndim == 2 ? B->size[1] : 1;
    small_gemm(C->dtype, A->size[0], n, A->size[1], alpha, kr_data(A), A->stride[0],
               A->stride[1], kr_data(B), B->stride[0], B->ndim == 2 ? B->stride[1] : 1, beta,
               kr_data(C), C->stride[0], C->ndim == 2 ? C->stride[1] : 1);
}

void kr_gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, double alpha,
             const void *A, int64_t lda, const void *B, int64_t ldb, double beta, void *C,
             int64_t ldc)
{
    if (m * n * k <= SMALL_PRODUCT) {
        small_gemm(dt, m, n, k, alpha, A, ta ? 1 : lda, ta ? lda : 1, B, tb ? 1 : ldb,
                   tb ? ldb : 1, beta, C, ldc, 1);
        return;
    }
    gemm(dt, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

kr_status kr_matmul(kr_tensor *C, const kr_tensor *A, const kr_tensor *B, double alpha,
                    double beta)
{
    char sa[200], sb[200], sc[200];
    if (A->ndim != 2 || (B->ndim != 1 && B->ndim != 2))
        return kr_fail(KR_EINVAL, "matmul: expected 2-D * 2-D or 2-D * 1-D, got %s * %s",
                       SHAPE(A, sa), SHAPE(B, sb));
    if (A->size[1] != B->size[0])
        return kr_fail(KR_EINVAL, "matmul: inner dimensions differ: %s * %s", SHAPE(A, sa),
                       SHAPE(B, sb));
    kr_status st = kr_refuse_u8("matmul", A);
    if (st) return st;
    if (A->dtype != B->dtype || C->dtype != A->dtype)
        return kr_fail(KR_EINVAL, "matmul: dtypes differ (A %s, B %s, out %s); convert with to()",
                       kr_dtype_name(A->dtype), kr_dtype_name(B->dtype), kr_dtype_name(C->dtype));
    int64_t want[2] = {A->size[0], B->ndim == 2 ? B->size[1] : 0};
    if (C->ndim != B->ndim || C->size[0] != want[0] || (B->ndim == 2 && C->size[1] != want[1]))
        return kr_fail(KR_EINVAL, "matmul: out is %s, the product %s * %s is %s", SHAPE(C, sc),
                       SHAPE(A, sa), SHAPE(B, sb),
                       kr_shape_str((char[200]){0}, 200, B->ndim, want));
    if (C->storage == A->storage || C->storage == B->storage)
        return kr_fail(KR_EINVAL, "matmul: out shares memory with an operand");
    /* BLAS counts in int: larger sizes would wrap (and BLAS would only print a complaint) */
    if (kr_numel(C) > 0 && A->size[1] > 0 &&
        (A->size[0] > INT_MAX || A->size[1] > INT_MAX || (B->ndim == 2 && B->size[1] > INT_MAX)))
        return kr_fail(KR_EINVAL, "matmul: sizes beyond BLAS's int range: %s * %s", SHAPE(A, sa),
                       SHAPE(B, sb));
    int64_t flops = A->size[0] * A->size[1] * (B->ndim == 2 ? B->size[1] : 1);
    if (flops <= SMALL_PRODUCT) {
        matmul_small(C, A, B, alpha, beta);
        return KR_OK;
    }
    return B->ndim == 2 ? matmul_mm(C, A, B, alpha, beta) : matmul_mv(C, A, B, alpha, beta);
}
