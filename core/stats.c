/* Variance, product, cumulative sum and dot product (stats.h).  A reduction over a dimension
 * views a with that dimension moved last and walks the rest (kr_walk, strided.h). */
#include "stats.h"

#include <math.h>
#include <string.h>

#include "strided.h"

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

/* Walks every element of a in row-major order: BODY runs with x (double) set to each. */
#define EACH_ELEMENT(a, ...)                                                                    \
    do {                                                                                         \
        const kr_tensor *ops_[1] = {(a)};                                                        \
        kr_walk w_;                                                                              \
        kr_walk_init(&w_, 1, ops_);                                                              \
        void *base_[1] = {kr_data(a)};                                                           \
        const size_t es_[KR_WALK_MAXOPS] = {kr_dtype_size((a)->dtype), 0, 0, 0};                 \
        const int64_t s_ = KR_WALK_STRIDE(w_, 0);                                                \
        KR_WALK(w_, base_, es_, {                                                                \
            for (int64_t k_ = 0; k_ < kr_n; k_++) {                                              \
                double x = at((a), kr_p[0], k_, s_);                                             \
                __VA_ARGS__;                                                                     \
            }                                                                                    \
        });                                                                                      \
    } while (0)

kr_status kr_var_all(const kr_tensor *a, double ddof, double *result)
{
    int64_t n = kr_numel(a);
    kr_status st = check_ddof("var", n, ddof);
    if (st) return st;
    /* two passes in element order, as var_run does on a contiguous tensor */
    double mean = 0, ss = 0;
    EACH_ELEMENT(a, mean += x);
    mean /= (double)n;
    EACH_ELEMENT(a, ss += (x - mean) * (x - mean));
    *result = ss / ((double)n - ddof);
    return KR_OK;
}

double kr_prod_all(const kr_tensor *a)
{
    double r = 1;
    if (kr_numel(a) == 0) return r;
    EACH_ELEMENT(a, r *= x);
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
    if (kr_numel(out) == 0) return KR_OK;
    int64_t n = a->size[dim], s = a->stride[dim];
    const size_t e = kr_dtype_size(a->dtype), es[KR_WALK_MAXOPS] = {e, e, 0, 0};
    const kr_tensor *ops[2] = {out, &rest};
    kr_walk w;
    kr_walk_init(&w, 2, ops);
    void *base[2] = {kr_data(out), kr_data(a)};
    const int64_t so = KR_WALK_STRIDE(w, 0), sr = KR_WALK_STRIDE(w, 1);
    KR_WALK(w, base, es, {
        for (int64_t k = 0; k < kr_n; k++) {
            const unsigned char *p = kr_p[1] + k * sr * (int64_t)e;
            double r = which == R_VAR ? var_run(a, p, n, s, ddof) : prod_run(a, p, n, s);
            if (out->dtype == KR_F64) ((double *)kr_p[0])[k * so] = r;
            else ((float *)kr_p[0])[k * so] = (float)r;
        }
    });
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
    /* walk every index with dim held at 0 (a and out with size 1 there), then run along dim */
    kr_tensor ra = *a, ro = *out; /* headers for walking only: no references taken */
    ra.size[dim] = ro.size[dim] = 1;
    const int64_t n = a->size[dim], sad = a->stride[dim], sod = out->stride[dim];
    const size_t e = kr_dtype_size(a->dtype), es[KR_WALK_MAXOPS] = {e, e, 0, 0};
    const kr_tensor *ops[2] = {&ro, &ra};
    kr_walk w;
    kr_walk_init(&w, 2, ops);
    void *base[2] = {kr_data(out), kr_data(a)};
    const int64_t so = KR_WALK_STRIDE(w, 0), sa = KR_WALK_STRIDE(w, 1);
    KR_WALK(w, base, es, {
        for (int64_t k = 0; k < kr_n; k++) {
            const unsigned char *pa = kr_p[1] + k * sa * (int64_t)e;
            unsigned char *po = kr_p[0] + k * so * (int64_t)e;
            double acc = 0;
            for (int64_t i = 0; i < n; i++) {
                acc += at(a, pa, i, sad);
                if (out->dtype == KR_F64) ((double *)po)[i * sod] = acc;
                else ((float *)po)[i * sod] = (float)acc;
            }
        }
    });
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
