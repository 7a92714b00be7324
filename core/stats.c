/* Variance, product, cumulative sum and dot product (stats.h).  A reduction over a dimension
 * views a with that dimension moved last and walks the rest with the odometer. */
#include "stats.h"

#include <math.h>
#include <string.h>

#include "walk.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

static kr_status check_dim(const char *op, const kr_tensor *a, int dim)
{
    char sh[200];
    if (dim < 0 || dim >= a->ndim)
        return kr_fail(KR_EINVAL, "%s: dimension %d out of range 1..%d (tensor is %s)", op, dim + 1,
                       a->ndim, SHAPE(a, sh));
    return KR_OK;
}

/* n elements from p with stride s, as doubles */
static double at(const kr_tensor *a, const unsigned char *p, int64_t i, int64_t s)
{
    return a->dtype == KR_F64 ? ((const double *)p)[i * s] : ((const float *)p)[i * s];
}

static double var_run(const kr_tensor *a, const unsigned char *p, int64_t n, int64_t s,
                      double ddof)
{
    double mean = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) mean += at(a, p, i, s);
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = at(a, p, i, s) - mean;
        ss += d * d;
    }
    return ss / ((double)n - ddof);
}

static double prod_run(const kr_tensor *a, const unsigned char *p, int64_t n, int64_t s)
{
    double r = 1;
    for (int64_t i = 0; i < n; i++) r *= at(a, p, i, s);
    return r;
}

static kr_status check_ddof(const char *op, int64_t n, double ddof)
{
    if (!(ddof >= 0) || !((double)n - ddof > 0))
        return kr_fail(KR_EINVAL, "%s: ddof %g leaves no degrees of freedom for %lld elements "
                       "(ddof must be >= 0 and below the count)", op, ddof, (long long)n);
    return KR_OK;
}

/* A contiguous copy of a when it is not contiguous (tmp released by the caller), so that
 * the all-elements reductions are one run. */
static kr_status flat(const kr_tensor *a, kr_tensor *tmp, const kr_tensor **use)
{
    tmp->storage = NULL;
    *use = a;
    if (kr_is_contiguous(a)) return KR_OK;
    kr_status st = kr_tensor_empty(tmp, a->dtype, a->ndim, a->size);
    if (st) return st;
    kr_copy_(tmp, a);
    *use = tmp;
    return KR_OK;
}

kr_status kr_var_all(const kr_tensor *a, double ddof, double *result)
{
    int64_t n = kr_numel(a);
    kr_status st = check_ddof("var", n, ddof);
    if (st) return st;
    kr_tensor tmp;
    const kr_tensor *u;
    if ((st = flat(a, &tmp, &u))) return st;
    *result = var_run(u, kr_data(u), n, 1, ddof);
    kr_tensor_release(&tmp);
    return KR_OK;
}

double kr_prod_all(const kr_tensor *a)
{
    int64_t n = kr_numel(a), idx[KR_MAXDIM] = {0};
    double r = 1;
    if (n == 0) return r;
    do r *= kr_get(a, idx);
    while (kr_walk_next(a->ndim, a->size, idx));
    return r;
}

enum { R_VAR, R_PROD };

/* out = the reduction of a over dim */
static kr_status reduce_dim(const char *op, kr_tensor *out, const kr_tensor *a, int dim,
                            int which, double ddof)
{
    kr_status st;
    out->storage = NULL;
    if ((st = check_dim(op, a, dim))) return st;
    if (which == R_VAR && (st = check_ddof(op, a->size[dim], ddof))) return st;
    kr_tensor rest = *a; /* a without dim: walks the start of each run */
    for (int d = dim; d < a->ndim - 1; d++) {
        rest.size[d] = a->size[d + 1];
        rest.stride[d] = a->stride[d + 1];
    }
    rest.ndim--;
    if ((st = kr_tensor_empty(out, a->dtype, rest.ndim, rest.size))) return st;
    int64_t m = kr_numel(out), n = a->size[dim], s = a->stride[dim], idx[KR_MAXDIM] = {0};
    size_t es = kr_dtype_size(a->dtype);
    for (int64_t k = 0; k < m; k++) {
        int64_t off = a->offset;
        for (int d = 0; d < rest.ndim; d++) off += idx[d] * rest.stride[d];
        const unsigned char *p = a->storage->data + off * (int64_t)es;
        double r = which == R_VAR ? var_run(a, p, n, s, ddof) : prod_run(a, p, n, s);
        if (out->dtype == KR_F64) ((double *)kr_data(out))[k] = r;
        else ((float *)kr_data(out))[k] = (float)r;
        kr_walk_next(rest.ndim, rest.size, idx);
    }
    return KR_OK;
}

kr_status kr_var_dim(kr_tensor *out, const kr_tensor *a, int dim, double ddof)
{
    return reduce_dim("var", out, a, dim, R_VAR, ddof);
}

kr_status kr_prod_dim(kr_tensor *out, const kr_tensor *a, int dim)
{
    return reduce_dim("prod", out, a, dim, R_PROD, 0);
}

kr_status kr_cumsum(kr_tensor *out, const kr_tensor *a, int dim)
{
    kr_status st;
    out->storage = NULL;
    if ((st = check_dim("cumsum", a, dim))) return st;
    if ((st = kr_tensor_empty(out, a->dtype, a->ndim, a->size))) return st;
    if (kr_numel(a) == 0) return KR_OK;
    /* walk every index with dim held at 0, then run along dim */
    int64_t idx[KR_MAXDIM] = {0}, size[KR_MAXDIM];
    memcpy(size, a->size, sizeof size);
    size[dim] = 1;
    do {
        double acc = 0;
        int64_t j[KR_MAXDIM];
        memcpy(j, idx, sizeof j);
        for (int64_t i = 0; i < a->size[dim]; i++) {
            j[dim] = i;
            acc += kr_get(a, j);
            kr_set(out, j, acc);
        }
    } while (kr_walk_next(a->ndim, size, idx));
    return KR_OK;
}

kr_status kr_dot(const kr_tensor *a, const kr_tensor *b, double *result)
{
    char sa[200], sb[200];
    if (a->ndim != 1 || b->ndim != 1 || a->size[0] != b->size[0])
        return kr_fail(KR_EINVAL, "dot: expected two 1-D tensors of one length, got %s and %s",
                       SHAPE(a, sa), SHAPE(b, sb));
    if (a->dtype != b->dtype)
        return kr_fail(KR_EINVAL, "dot: dtypes differ (%s and %s); convert one with to()",
                       kr_dtype_name(a->dtype), kr_dtype_name(b->dtype));
    double r = 0;
    const unsigned char *pa = kr_data(a), *pb = kr_data(b);
    for (int64_t i = 0; i < a->size[0]; i++)
        r += at(a, pa, i, a->stride[0]) * at(b, pb, i, b->stride[0]);
    *result = r;
    return KR_OK;
}
