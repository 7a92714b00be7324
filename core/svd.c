/* Singular value decomposition and rank (linalg.h) through LAPACK's divide-and-conquer ?gesdd.
 *
 * gesdd overwrites its input, so A (any strides) is first copied into a column-major scratch
 * matrix; the copy also checks that every entry is finite, since LAPACK fed NaN or infinity
 * either loops to its iteration limit or returns garbage.  In column-major terms, jobz = 'S'
 * gives u (m x k, leading dimension m) and vt (k x n, leading dimension k); vt's column-major
 * bytes are exactly V (n x k) in row-major order, so V is written in place and only U needs a
 * transpose.  Nothing is cached between calls. */
#include "linalg.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

/* Column-major copy of the 2-D tensor A into dst (A's dtype); returns 0, or -1 at the first
 * entry that is not finite.  One loop for both dtypes: the per-element test on the dtype costs
 * nothing next to the SVD. */
static int copy_colmajor(void *dst, const kr_tensor *A)
{
    int64_t m = A->size[0], n = A->size[1];
    int64_t rs = A->stride[0], cs = A->stride[1];
    int f64 = A->dtype == KR_F64;
    const void *a = kr_data(A);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < m; i++) {
            int64_t from = i * rs + j * cs, to = i + j * m;
            double v = f64 ? ((const double *)a)[from] : ((const float *)a)[from];
            if (!isfinite(v)) return -1;
            if (f64) ((double *)dst)[to] = v;
            else ((float *)dst)[to] = (float)v;
        }
    return 0;
}

/* Checks A and makes its column-major copy in *scratch (malloc'd; NULL for an empty A). */
static kr_status prepare(const char *op, const kr_tensor *A, void **scratch)
{
    char shape[8 * 24];
    *scratch = NULL;
    if (A == NULL || A->storage == NULL)
        return kr_fail(KR_EINVAL, "%s: the tensor A has been freed", op);
    if (A->ndim != 2)
        return kr_fail(KR_EINVAL, "%s: expected a 2-D tensor A, got %s", op,
                       kr_tensor_shape_str(A, shape, sizeof shape));
    if (A->dtype != KR_F64 && A->dtype != KR_F32)
        return kr_fail(KR_EINVAL, "%s: unsupported dtype %d", op, (int)A->dtype);
    int64_t m = A->size[0], n = A->size[1];
    if (m > INT32_MAX || n > INT32_MAX || (m > 0 && n > INT32_MAX / m))
        return kr_fail(KR_EINVAL, "%s: A (%s) is too large for LAPACK's 32-bit indices", op,
                       kr_tensor_shape_str(A, shape, sizeof shape));
    if (m == 0 || n == 0) return KR_OK;
    *scratch = malloc((size_t)(m * n) * kr_dtype_size(A->dtype));
    if (*scratch == NULL)
        return kr_fail(KR_ENOMEM, "%s: out of memory copying A (%s)", op,
                       kr_tensor_shape_str(A, shape, sizeof shape));
    if (copy_colmajor(*scratch, A) != 0) {
        free(*scratch);
        *scratch = NULL;
        return kr_fail(KR_EINVAL, "%s: A (%s) contains NaN or infinity", op,
                       kr_tensor_shape_str(A, shape, sizeof shape));
    }
    return KR_OK;
}

/* Turns gesdd's info into a status. */
static kr_status lapack_status(const char *op, const kr_tensor *A, lapack_int info)
{
    char shape[8 * 24];
    const char *routine = A->dtype == KR_F64 ? "dgesdd" : "sgesdd";
    if (info == 0) return KR_OK;
    kr_tensor_shape_str(A, shape, sizeof shape);
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return kr_fail(KR_ENOMEM, "%s: out of memory for LAPACK's %s workspace (A is %s)", op,
                       routine, shape);
    if (info > 0)
        return kr_fail(KR_ENUMERIC, "%s: LAPACK %s did not converge (info = %d) for A (%s)", op,
                       routine, (int)info, shape);
    return kr_fail(KR_ENUMERIC, "%s: LAPACK %s rejected its argument %d (info = %d) for A (%s); "
                                "this is a bug in kairo",
                   op, routine, (int)-info, (int)info, shape);
}

kr_status kr_svd(kr_tensor *U, kr_tensor *S, kr_tensor *V, const kr_tensor *A)
{
    void *a;
    kr_status st = prepare("svd", A, &a);
    if (st != KR_OK) return st;
    int64_t m = A->size[0], n = A->size[1], k = m < n ? m : n;
    int64_t usize[2] = {m, k}, ssize[1] = {k}, vsize[2] = {n, k};
    kr_dtype dt = A->dtype;
    U->storage = S->storage = V->storage = NULL;
    void *u = NULL;
    if ((st = kr_tensor_empty(U, dt, 2, usize)) != KR_OK ||
        (st = kr_tensor_empty(S, dt, 1, ssize)) != KR_OK ||
        (st = kr_tensor_empty(V, dt, 2, vsize)) != KR_OK)
        goto fail;
    if (k == 0) {
        free(a);
        return KR_OK;
    }
    u = malloc((size_t)(m * k) * kr_dtype_size(dt));
    if (u == NULL) {
        st = kr_fail(KR_ENOMEM, "svd: out of memory for U (%lldx%lld)", (long long)m, (long long)k);
        goto fail;
    }
    lapack_int info;
    /* A = u diag(s) vt, column-major: u m x k (ld m), vt k x n (ld k) == V row-major n x k */
    if (dt == KR_F64)
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)m, (lapack_int)n, a,
                              (lapack_int)m, kr_data(S), u, (lapack_int)m, kr_data(V),
                              (lapack_int)k);
    else
        info = LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)m, (lapack_int)n, a,
                              (lapack_int)m, kr_data(S), u, (lapack_int)m, kr_data(V),
                              (lapack_int)k);
    if ((st = lapack_status("svd", A, info)) != KR_OK) goto fail;

    /* U (row-major m x k) = transpose of the column-major u */
    if (dt == KR_F64) {
        double *dst = kr_data(U), *src = u;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < k; j++) dst[i * k + j] = src[i + j * m];
    } else {
        float *dst = kr_data(U), *src = u;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < k; j++) dst[i * k + j] = src[i + j * m];
    }
    free(u);
    free(a);
    return KR_OK;

fail:
    free(u);
    free(a);
    if (U->storage) kr_tensor_release(U);
    if (S->storage) kr_tensor_release(S);
    if (V->storage) kr_tensor_release(V);
    return st;
}

static kr_status svdvals(const char *op, kr_tensor *S, const kr_tensor *A)
{
    void *a;
    kr_status st = prepare(op, A, &a);
    if (st != KR_OK) return st;
    int64_t m = A->size[0], n = A->size[1], k = m < n ? m : n;
    int64_t ssize[1] = {k};
    if ((st = kr_tensor_empty(S, A->dtype, 1, ssize)) != KR_OK) {
        free(a);
        return st;
    }
    if (k == 0) return KR_OK;
    lapack_int info;
    double dummy[1]; /* u and vt are not referenced with jobz = 'N' */
    if (A->dtype == KR_F64)
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)m, (lapack_int)n, a,
                              (lapack_int)m, kr_data(S), dummy, 1, dummy, 1);
    else
        info = LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)m, (lapack_int)n, a,
                              (lapack_int)m, kr_data(S), (float *)dummy, 1, (float *)dummy, 1);
    free(a);
    if ((st = lapack_status(op, A, info)) != KR_OK) kr_tensor_release(S);
    return st;
}

kr_status kr_svdvals(kr_tensor *S, const kr_tensor *A)
{
    return svdvals("svdvals", S, A);
}

/* Element i of a 1-D contiguous tensor. */
static double elem(const kr_tensor *s, int64_t i)
{
    return s->dtype == KR_F64 ? ((const double *)kr_data(s))[i] : ((const float *)kr_data(s))[i];
}

kr_status kr_rank(const kr_tensor *A, double tol, int64_t *rank)
{
    kr_tensor S;
    if (isnan(tol)) return kr_fail(KR_EINVAL, "rank: tol must be a number, got NaN");
    kr_status st = svdvals("rank", &S, A);
    if (st != KR_OK) return st;
    int64_t k = S.size[0], r = 0;
    double smax = k > 0 ? elem(&S, 0) : 0.0; /* gesdd sorts descending */
    if (tol < 0) {
        double eps = A->dtype == KR_F64 ? DBL_EPSILON : FLT_EPSILON;
        int64_t mn = A->size[0] > A->size[1] ? A->size[0] : A->size[1];
        tol = (double)mn * eps * smax; /* NumPy's matrix_rank default */
    }
    for (int64_t i = 0; i < k; i++)
        if (elem(&S, i) > tol) r++;
    kr_tensor_release(&S);
    *rank = r;
    return KR_OK;
}
