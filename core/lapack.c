/* LAPACKE drivers (lapack.h).  Each routine copies its input into a contiguous row-major
 * scratch tensor (checking that it is finite), calls LAPACKE's row-major interface, and turns
 * LAPACK's info into a message that says what went wrong in the user's terms. */
#include "lapack.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

/* Scratch arrays whose length comes from the user are malloc'd, never on the stack. */
static void *scratch(const char *op, size_t count, size_t each, kr_status *st)
{
    void *p = malloc(count ? count * each : 1);
    if (!p) *st = kr_fail(KR_ENOMEM, "%s: out of memory for a LAPACK workspace", op);
    return p;
}

static double eps_of(kr_dtype dt)
{
    return dt == KR_F32 ? FLT_EPSILON : DBL_EPSILON;
}

/* A contiguous copy of T in *c (released by the caller), refusing NaN and infinity. */
static kr_status finite_copy(const char *op, const char *role, const kr_tensor *T, kr_tensor *c)
{
    char sh[200];
    kr_status st = kr_tensor_empty(c, T->dtype, T->ndim, T->size);
    if (st) return st;
    kr_copy_(c, T);
    int64_t n = kr_numel(c);
    for (int64_t i = 0; i < n; i++) {
        double v = c->dtype == KR_F64 ? ((double *)kr_data(c))[i] : ((float *)kr_data(c))[i];
        if (!isfinite(v)) {
            kr_tensor_release(c);
            return kr_fail(KR_EINVAL, "%s: %s (%s) contains NaN or infinity", op, role,
                           SHAPE(T, sh));
        }
    }
    return KR_OK;
}

static kr_status check_matrix(const char *op, const kr_tensor *A, int square)
{
    char sh[200];
    if (A->ndim != 2 || (square && A->size[0] != A->size[1]))
        return kr_fail(KR_EINVAL, "%s: expected a %s matrix A, got %s", op,
                       square ? "square 2-D" : "2-D", SHAPE(A, sh));
    if (A->size[0] > INT32_MAX || A->size[1] > INT32_MAX ||
        (A->size[0] > 0 && A->size[1] > INT32_MAX / A->size[0]))
        return kr_fail(KR_EINVAL, "%s: A (%s) is too large for LAPACK's 32-bit indices", op,
                       SHAPE(A, sh));
    return KR_OK;
}

/* B must be m or m x k for A m x n */
static kr_status check_rhs(const char *op, const kr_tensor *A, const kr_tensor *B)
{
    char sa[200], sb[200];
    if ((B->ndim != 1 && B->ndim != 2) || B->size[0] != A->size[0])
        return kr_fail(KR_EINVAL, "%s: B (%s) must have as many rows as A (%s) has, as a 1-D or "
                       "2-D tensor", op, SHAPE(B, sb), SHAPE(A, sa));
    if (B->dtype != A->dtype)
        return kr_fail(KR_EINVAL, "%s: dtypes differ (A is %s, B is %s); convert one with to()",
                       op, kr_dtype_name(A->dtype), kr_dtype_name(B->dtype));
    return KR_OK;
}

static kr_status lapack_failed(const char *op, const char *routine, lapack_int info)
{
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return kr_fail(KR_ENOMEM, "%s: out of memory for LAPACK's %s workspace", op, routine);
    return kr_fail(KR_ENUMERIC, "%s: LAPACK %s failed (info = %d)", op, routine, (int)info);
}

/* LU factors of the n x n copy in c; *rcond its reciprocal condition number (1-norm).
 * Fails with "singular" for an exactly zero pivot or rcond below eps. */
static kr_status lu(const char *op, kr_tensor *c, lapack_int *ipiv, int check_cond)
{
    lapack_int n = (lapack_int)c->size[0], info;
    double rcond = 1;
    if (c->dtype == KR_F64) {
        double *a = kr_data(c), anorm = LAPACKE_dlange(LAPACK_ROW_MAJOR, '1', n, n, a, n);
        info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, a, n, ipiv);
        if (info == 0 && check_cond) info = LAPACKE_dgecon(LAPACK_ROW_MAJOR, '1', n, a, n, anorm, &rcond);
        else if (info > 0) rcond = 0;
    } else {
        float *a = kr_data(c), anorm = LAPACKE_slange(LAPACK_ROW_MAJOR, '1', n, n, a, n), rc = 1;
        info = LAPACKE_sgetrf(LAPACK_ROW_MAJOR, n, n, a, n, ipiv);
        if (info == 0 && check_cond) info = LAPACKE_sgecon(LAPACK_ROW_MAJOR, '1', n, a, n, anorm, &rc);
        else if (info > 0) rc = 0;
        rcond = rc;
    }
    if (info < 0) return lapack_failed(op, "getrf/gecon", info);
    if (check_cond && !(rcond >= eps_of(c->dtype)))
        return kr_fail(KR_ENUMERIC,
                       rcond == 0 ? "%s: A is singular (a pivot of its LU factorisation is zero)"
                                  : "%s: A is singular to working precision (reciprocal "
                                    "condition number %.3g)",
                       op, rcond);
    return KR_OK;
}

kr_status kr_solve(kr_tensor *X, const kr_tensor *A, const kr_tensor *B)
{
    kr_status st;
    kr_tensor c;
    lapack_int *ipiv = NULL;
    X->storage = NULL;
    if ((st = check_matrix("solve", A, 1)) || (st = check_rhs("solve", A, B))) return st;
    lapack_int n = (lapack_int)A->size[0], k = B->ndim == 2 ? (lapack_int)B->size[1] : 1;
    if ((st = finite_copy("solve", "A", A, &c))) return st;
    if ((st = finite_copy("solve", "B", B, X))) goto done;
    if (n == 0 || k == 0) goto done;
    if (!(ipiv = scratch("solve", (size_t)n, sizeof *ipiv, &st))) goto done;
    if ((st = lu("solve", &c, ipiv, 1))) goto done;
    lapack_int info = c.dtype == KR_F64
        ? LAPACKE_dgetrs(LAPACK_ROW_MAJOR, 'N', n, k, kr_data(&c), n, ipiv, kr_data(X), k)
        : LAPACKE_sgetrs(LAPACK_ROW_MAJOR, 'N', n, k, kr_data(&c), n, ipiv, kr_data(X), k);
    if (info) st = lapack_failed("solve", "getrs", info);
done:
    free(ipiv);
    kr_tensor_release(&c);
    if (st) kr_tensor_release(X);
    return st;
}

kr_status kr_inv(kr_tensor *X, const kr_tensor *A)
{
    kr_status st;
    X->storage = NULL;
    if ((st = check_matrix("inv", A, 1))) return st;
    if ((st = finite_copy("inv", "A", A, X))) return st;
    lapack_int n = (lapack_int)A->size[0];
    if (n == 0) return KR_OK;
    lapack_int *ipiv = scratch("inv", (size_t)n, sizeof *ipiv, &st);
    if (!ipiv) goto done;
    if ((st = lu("inv", X, ipiv, 1))) goto done;
    lapack_int info = X->dtype == KR_F64
        ? LAPACKE_dgetri(LAPACK_ROW_MAJOR, n, kr_data(X), n, ipiv)
        : LAPACKE_sgetri(LAPACK_ROW_MAJOR, n, kr_data(X), n, ipiv);
    if (info) st = lapack_failed("inv", "getri", info);
done:
    free(ipiv);
    if (st) kr_tensor_release(X);
    return st;
}

kr_status kr_det(const kr_tensor *A, double *det)
{
    kr_status st;
    kr_tensor c;
    if ((st = check_matrix("det", A, 1)) || (st = finite_copy("det", "A", A, &c))) return st;
    lapack_int n = (lapack_int)A->size[0];
    double d = 1;
    lapack_int *ipiv = n > 0 ? scratch("det", (size_t)n, sizeof *ipiv, &st) : NULL;
    if (ipiv) {
        if ((st = lu("det", &c, ipiv, 0)) == KR_OK) {
            /* det = prod u_ii, with a sign flip for every row swap */
            for (lapack_int i = 0; i < n; i++) {
                double u = c.dtype == KR_F64 ? ((double *)kr_data(&c))[i * n + i]
                                             : ((float *)kr_data(&c))[i * n + i];
                d *= ipiv[i] != i + 1 ? -u : u;
            }
        }
    }
    free(ipiv);
    kr_tensor_release(&c);
    *det = d;
    return st;
}

kr_status kr_eigh(kr_tensor *w, kr_tensor *V, const kr_tensor *A)
{
    kr_status st;
    w->storage = V->storage = NULL;
    if ((st = check_matrix("eigh", A, 1))) return st;
    int64_t n = A->size[0];
    if ((st = finite_copy("eigh", "A", A, V))) return st;
    if ((st = kr_tensor_empty(w, A->dtype, 1, &n))) goto done;
    if (n == 0) goto done;
    lapack_int info = A->dtype == KR_F64
        ? LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, kr_data(V), (lapack_int)n,
                         kr_data(w))
        : LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, kr_data(V), (lapack_int)n,
                         kr_data(w));
    if (info > 0)
        st = kr_fail(KR_ENUMERIC, "eigh: LAPACK syevd did not converge (info = %d)", (int)info);
    else if (info < 0)
        st = lapack_failed("eigh", "syevd", info);
done:
    if (st) {
        kr_tensor_release(w);
        kr_tensor_release(V);
    }
    return st;
}

kr_status kr_qr(kr_tensor *Q, kr_tensor *R, const kr_tensor *A)
{
    kr_status st;
    kr_tensor c;
    Q->storage = R->storage = NULL;
    if ((st = check_matrix("qr", A, 0)) || (st = finite_copy("qr", "A", A, &c))) return st;
    int64_t m = A->size[0], n = A->size[1], k = m < n ? m : n;
    if ((st = kr_tensor_zeros(R, A->dtype, 2, (int64_t[]){k, n})) ||
        (st = kr_tensor_empty(Q, A->dtype, 2, (int64_t[]){m, k})))
        goto done;
    if (k == 0) {
        kr_fill_(Q, 0);
        goto done;
    }
    lapack_int M = (lapack_int)m, N = (lapack_int)n, K = (lapack_int)k, info;
    void *taus = scratch("qr", (size_t)k, 8, &st);
    if (!taus) goto done;
    const int f64 = A->dtype == KR_F64;
    const size_t e = kr_dtype_size(A->dtype); /* the copies below are the same in both dtypes */
    unsigned char *a = kr_data(&c), *r = kr_data(R), *q = kr_data(Q);
    info = f64 ? LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, M, N, (double *)a, N, taus)
               : LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, M, N, (float *)a, N, taus);
    /* R = the upper triangle of the first k rows, before orgqr overwrites them with Q */
    for (int64_t i = 0; info == 0 && i < k; i++)
        memcpy(r + (size_t)(i * n + i) * e, a + (size_t)(i * n + i) * e, (size_t)(n - i) * e);
    if (info == 0)
        info = f64 ? LAPACKE_dorgqr(LAPACK_ROW_MAJOR, M, K, K, (double *)a, N, taus)
                   : LAPACKE_sorgqr(LAPACK_ROW_MAJOR, M, K, K, (float *)a, N, taus);
    /* Q = the first k columns of the m x n result */
    for (int64_t i = 0; info == 0 && i < m; i++)
        memcpy(q + (size_t)(i * k) * e, a + (size_t)(i * n) * e, (size_t)k * e);
    free(taus);
    if (info) st = lapack_failed("qr", "geqrf/orgqr", info);
done:
    kr_tensor_release(&c);
    if (st) {
        kr_tensor_release(Q);
        kr_tensor_release(R);
    }
    return st;
}

kr_status kr_cholesky(kr_tensor *L, const kr_tensor *A)
{
    kr_status st;
    L->storage = NULL;
    if ((st = check_matrix("cholesky", A, 1)) || (st = finite_copy("cholesky", "A", A, L)))
        return st;
    int64_t n = A->size[0];
    if (n == 0) return KR_OK;
    lapack_int info = A->dtype == KR_F64
        ? LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, kr_data(L), (lapack_int)n)
        : LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, kr_data(L), (lapack_int)n);
    if (info > 0) {
        st = kr_fail(KR_ENUMERIC, "cholesky: A is not positive definite (the leading minor of "
                     "order %d is not positive)", (int)info);
    } else if (info < 0) {
        st = lapack_failed("cholesky", "potrf", info);
    } else { /* potrf leaves the strict upper triangle as it was */
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++) kr_set(L, (int64_t[]){i, j}, 0);
    }
    if (st) kr_tensor_release(L);
    return st;
}

kr_status kr_lstsq(kr_tensor *X, int64_t *rank, const kr_tensor *A, const kr_tensor *B)
{
    kr_status st;
    kr_tensor c, b;
    X->storage = b.storage = NULL;
    if ((st = check_matrix("lstsq", A, 0)) || (st = check_rhs("lstsq", A, B))) return st;
    int64_t m = A->size[0], n = A->size[1], k = B->ndim == 2 ? B->size[1] : 1;
    int64_t big = m > n ? m : n, xs[2] = {n, k};
    if ((st = finite_copy("lstsq", "A", A, &c))) return st;
    kr_tensor bin;
    if ((st = finite_copy("lstsq", "B", B, &bin))) goto done;
    /* gelsd wants B in a max(m, n) x k array and leaves X in its first n rows */
    st = kr_tensor_zeros(&b, A->dtype, 2, (int64_t[]){big, k});
    if (st == KR_OK) {
        kr_tensor top, bv;
        kr_narrow(&top, &b, 0, 0, m);
        kr_reshape(&bv, &bin, 2, (int64_t[]){m, k});
        kr_copy_(&top, &bv);
        kr_tensor_release(&top);
        kr_tensor_release(&bv);
    }
    kr_tensor_release(&bin);
    if (st || (st = kr_tensor_zeros(X, A->dtype, B->ndim, xs))) goto done;
    *rank = 0;
    if (m == 0 || n == 0 || k == 0) goto done;
    lapack_int r = 0, info, mn = (lapack_int)(m < n ? m : n);
    double rcond = (double)big * eps_of(A->dtype);
    void *sv = scratch("lstsq", (size_t)mn, 8, &st);
    if (!sv) goto done;
    if (A->dtype == KR_F64) {
        double *s = sv;
        info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                              kr_data(&c), (lapack_int)n, kr_data(&b), (lapack_int)k, s, rcond, &r);
    } else {
        float *s = sv;
        info = LAPACKE_sgelsd(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)k,
                              kr_data(&c), (lapack_int)n, kr_data(&b), (lapack_int)k, s,
                              (float)rcond, &r);
    }
    free(sv);
    if (info) {
        st = info > 0 ? kr_fail(KR_ENUMERIC, "lstsq: LAPACK gelsd's SVD did not converge")
                      : lapack_failed("lstsq", "gelsd", info);
        goto done;
    }
    *rank = r;
    kr_tensor top;
    kr_narrow(&top, &b, 0, 0, n);
    if (X->ndim == 1) {
        kr_tensor flat;
        kr_reshape(&flat, X, 2, (int64_t[]){n, 1});
        kr_copy_(&flat, &top);
        kr_tensor_release(&flat);
    } else {
        kr_copy_(X, &top);
    }
    kr_tensor_release(&top);
done:
    kr_tensor_release(&c);
    kr_tensor_release(&b);
    if (st) kr_tensor_release(X);
    return st;
}

kr_status kr_pinv(kr_tensor *X, const kr_tensor *A, double rcond)
{
    kr_status st;
    kr_tensor U, S, V, Ut;
    X->storage = NULL;
    if ((st = check_matrix("pinv", A, 0))) return st;
    int64_t m = A->size[0], n = A->size[1];
    if (m == 0 || n == 0) return kr_tensor_zeros(X, A->dtype, 2, (int64_t[]){n, m});
    if ((st = kr_svd(&U, &S, &V, A))) {
        /* kr_svd's message names svd: say pinv */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kr_last_error());
        return kr_fail(st, "pinv: %s", strncmp(msg, "svd: ", 5) == 0 ? msg + 5 : msg);
    }
    int64_t k = S.size[0];
    double smax = kr_get(&S, (int64_t[]){0});
    double tol = (rcond < 0 ? (double)(m > n ? m : n) * eps_of(A->dtype) : rcond) * smax;
    for (int64_t i = 0; i < k; i++) {
        double s = kr_get(&S, &i);
        kr_set(&S, &i, s > tol ? 1.0 / s : 0.0);
    }
    /* X = V diag(1/s) U^T: scale V's columns, then one GEMM */
    kr_binary(&V, &V, &S, KR_MUL);
    kr_transpose(&Ut, &U, 0, 1);
    if ((st = kr_tensor_empty(X, A->dtype, 2, (int64_t[]){n, m})) == KR_OK)
        st = kr_matmul(X, &V, &Ut, 1.0, 0.0);
    kr_tensor_release(&Ut);
    kr_tensor_release(&U);
    kr_tensor_release(&S);
    kr_tensor_release(&V);
    if (st) kr_tensor_release(X);
    return st;
}
