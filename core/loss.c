/* Losses, softmax and accuracy over batches stored one sample per column (see loss.h). */
#include "loss.h"
#include "strided.h"

#include <math.h>

/* A 2-D operand: element (i, j) is at p[i s0 + j s1] in dtype dt. */
typedef struct mat {
    void *p;
    kr_dtype dt;
    int64_t s0, s1;
} mat;

static mat mat_of(const kr_tensor *t)
{
    mat m = { kr_data(t), t->dtype, t->stride[0], t->stride[1] };
    return m;
}

static inline double mget(const mat *m, int64_t i, int64_t j)
{
    int64_t k = i * m->s0 + j * m->s1;
    return m->dt == KR_F64 ? ((const double *)m->p)[k] : (double)((const float *)m->p)[k];
}

static inline void mset(const mat *m, int64_t i, int64_t j, double v)
{
    int64_t k = i * m->s0 + j * m->s1;
    if (m->dt == KR_F64) ((double *)m->p)[k] = v;
    else ((float *)m->p)[k] = (float)v;
}

/* The header of t's transpose, for walking only: it holds no reference (never release it). */
static kr_tensor transposed(const kr_tensor *t)
{
    kr_tensor v = *t;
    v.size[0] = t->size[1];
    v.size[1] = t->size[0];
    v.stride[0] = t->stride[1];
    v.stride[1] = t->stride[0];
    return v;
}

/* out may be `in` itself or lie apart from it. */
static kr_status check_no_overlap(const char *op, const char *out_role, const kr_tensor *out,
                                  const char *in_role, const kr_tensor *in)
{
    if (kr_overlap(out, in) == KR_OVERLAP)
        return kr_fail(KR_EINVAL, "%s: %s overlaps %s", op, out_role, in_role);
    return KR_OK;
}

static kr_status check_2d(const char *op, const char *role, const kr_tensor *t)
{
    char s[200];
    if (!t || !t->storage) return kr_fail(KR_EINVAL, "%s: %s is a closed tensor", op, role);
    if (t->ndim != 2)
        return kr_fail(KR_EINVAL, "%s: %s must be 2-D (outputs x batch), got %s", op, role,
                       kr_tensor_shape_str(t, s, sizeof s));
    if (t->size[1] == 0)
        return kr_fail(KR_EINVAL, "%s: the batch is empty (%s is %s: no samples)", op, role,
                       kr_tensor_shape_str(t, s, sizeof s));
    if (t->size[0] == 0)
        return kr_fail(KR_EINVAL, "%s: the batch is empty (%s is %s: 0 outputs for each of its "
                                  "%lld samples)", op, role, kr_tensor_shape_str(t, s, sizeof s),
                       (long long)t->size[1]);
    return KR_OK;
}

/* b (role rb) must have a's shape and dtype. */
static kr_status check_like(const char *op, const char *ra, const kr_tensor *a, const char *rb,
                            const kr_tensor *b)
{
    char s1[200], s2[200];
    kr_status st = check_2d(op, rb, b);
    if (st != KR_OK) return st;
    if (b->dtype != a->dtype)
        return kr_fail(KR_EINVAL, "%s: %s is %s, %s is %s", op, ra, kr_dtype_name(a->dtype), rb,
                       kr_dtype_name(b->dtype));
    if (!kr_same_shape(a, b))
        return kr_fail(KR_EINVAL, "%s: %s is %s, %s is %s", op, ra,
                       kr_tensor_shape_str(a, s1, sizeof s1), rb,
                       kr_tensor_shape_str(b, s2, sizeof s2));
    return KR_OK;
}

/* Checks Y, the optional target T and the optional gradient output dY. */
static kr_status check_args(const char *op, const char *ry, const kr_tensor *Y,
                            const kr_tensor *T, const char *rdy, const kr_tensor *dY)
{
    kr_status st = check_2d(op, ry, Y);
    if (st == KR_OK && T) st = check_like(op, ry, Y, "target", T);
    if (st == KR_OK && dY) st = check_like(op, ry, Y, rdy, dY);
    if (st == KR_OK && dY) st = check_no_overlap(op, rdy, dY, ry, Y);
    if (st == KR_OK && dY && T) st = check_no_overlap(op, rdy, dY, "the target", T);
    return st;
}

/* A loss that is a sum over elements: returns l(y, t) and sets *g = dl/dy. */
typedef double (*element_loss)(double y, double t, double eps, double *g);

/* Which operand of an element lies outside a loss's domain [0, 1]: 0 none, 1 the output y,
 * 2 the target t.  NaN passes (and gives a NaN loss, which is visible). */
typedef int (*element_domain)(double y, double t);

/* *loss = (1/B) sum_ij l(y_ij, t_ij) and, when dY is given, dY_ij = dl/dy (y_ij, t_ij) / B.
 * ry and rdy name Y and dY in messages; domain (may be NULL) refuses elements outside [0, 1],
 * with hint added to the message about an output. */
static kr_status elementwise_loss(const char *op, const char *ry, const char *rdy, double *loss,
                                  kr_tensor *dY, const kr_tensor *Y, const kr_tensor *T,
                                  element_loss l, double eps, element_domain domain,
                                  const char *hint)
{
    kr_status st = check_args(op, ry, Y, T, rdy, dY);
    if (st != KR_OK) return st;
    int64_t n = Y->size[0], B = Y->size[1];
    double sum = 0, inv_b = 1.0 / (double)B;
    /* walked as B x n (the transposes), so the sum runs sample by sample as it always did */
    kr_tensor yt = transposed(Y), tt = transposed(T), gt = dY ? transposed(dY) : yt;
    const kr_tensor *ops[3] = {&yt, &tt, dY ? &gt : NULL};
    kr_walk it;
    kr_walk_init(&it, dY ? 3 : 2, ops);
    void *base[3] = {kr_data(Y), kr_data(T), dY ? kr_data(dY) : NULL};
    const size_t es = kr_dtype_size(Y->dtype), esize[KR_WALK_MAXOPS] = {es, es, es, es};
    const int64_t sy = KR_WALK_STRIDE(it, 0), st_ = KR_WALK_STRIDE(it, 1);
    const int64_t sg = dY ? KR_WALK_STRIDE(it, 2) : 0;
    const int f64 = Y->dtype == KR_F64;
    int64_t bad_at = -1;
    double bad_v = 0;
    int bad = 0;
    KR_WALK(it, base, esize, {
        for (int64_t k = 0; k < kr_n && !bad; k++) {
            double dl;
            double yv = f64 ? ((const double *)kr_p[0])[k * sy] : ((const float *)kr_p[0])[k * sy];
            double tv = f64 ? ((const double *)kr_p[1])[k * st_] : ((const float *)kr_p[1])[k * st_];
            bad = domain ? domain(yv, tv) : 0;
            if (bad) {
                bad_at = kr_done + k;
                bad_v = bad == 1 ? yv : tv;
                break;
            }
            sum += l(yv, tv, eps, &dl);
            if (dY) {
                if (f64) ((double *)kr_p[2])[k * sg] = dl * inv_b;
                else ((float *)kr_p[2])[k * sg] = (float)(dl * inv_b);
            }
        }
        if (bad) break;
    });
    if (bad) /* element bad_at of the B x n walk: sample bad_at / n, row bad_at % n */
        return kr_fail(KR_EINVAL, "%s: %s (%lld, %lld) is %g, outside [0, 1]%s", op,
                       bad == 1 ? ry : "target", (long long)(bad_at % n) + 1,
                       (long long)(bad_at / n) + 1, bad_v, bad == 1 ? hint : "");
    *loss = sum * inv_b;
    return KR_OK;
}

/* l = 1/2 (y - t)^2, dl/dy = y - t */
static double mse_element(double y, double t, double eps, double *g)
{
    (void)eps;
    double e = y - t;
    *g = e;
    return 0.5 * e * e;
}

kr_status kr_mse(double *loss, kr_tensor *dY, const kr_tensor *Y, const kr_tensor *T)
{
    return elementwise_loss("mse", "output", "dY", loss, dY, Y, T, mse_element, 0, NULL, "");
}

/* l = -[t log p + (1-t) log(1-p)], dl/dy = (p - t) / (p (1 - p)), p = y clamped to
 * [eps, 1 - eps] */
static double bce_element(double y, double t, double eps, double *g)
{
    double p = y < eps ? eps : y > 1 - eps ? 1 - eps : y;
    *g = (p - t) / (p * (1 - p));
    return -(t * log(p) + (1 - t) * log1p(-p));
}

/* Outputs are probabilities: clamping one outside [0, 1] would hide a forgotten sigmoid. */
static int bce_domain(double y, double t)
{
    return y < 0 || y > 1 ? 1 : t < 0 || t > 1 ? 2 : 0;
}

kr_status kr_binary_cross_entropy(double *loss, kr_tensor *dY, const kr_tensor *Y,
                                  const kr_tensor *T)
{
    double eps = Y && Y->dtype == KR_F64 ? 1e-12 : 1e-7;
    return elementwise_loss("binary_cross_entropy", "output", "dY", loss, dY, Y, T, bce_element,
                            eps, bce_domain, " (for logits use bce_with_logits)");
}

static inline double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* -t log s(x) - (1-t) log(1-s(x)) = max(x,0) - x t + log(1 + e^-|x|), dl/dx = s(x) - t */
static double bce_logits_element(double x, double t, double eps, double *g)
{
    (void)eps;
    *g = sigmoid(x) - t;
    return fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
}

static int target_domain(double y, double t)
{
    (void)y;
    return t < 0 || t > 1 ? 2 : 0;
}

kr_status kr_bce_with_logits(double *loss, kr_tensor *dU, const kr_tensor *U,
                             const kr_tensor *T)
{
    return elementwise_loss("bce_with_logits", "logits", "dU", loss, dU, U, T,
                            bce_logits_element, 0, target_domain, "");
}

/* Column j's max m and log sum_i exp(u_ij - m). */
static void column_lse(const mat *u, int64_t n, int64_t j, double *m, double *lse)
{
    double mx = mget(u, 0, j);
    for (int64_t i = 1; i < n; i++) {
        double v = mget(u, i, j);
        if (v > mx) mx = v;
    }
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += exp(mget(u, i, j) - mx);
    *m = mx;
    *lse = log(s);
}

kr_status kr_softmax(kr_tensor *P, const kr_tensor *U)
{
    kr_status st = check_args("softmax", "input", U, NULL, "output", P);
    if (st != KR_OK) return st;
    int64_t n = U->size[0], B = U->size[1];
    mat u = mat_of(U), p = mat_of(P);
    for (int64_t j = 0; j < B; j++) {
        double m, lse;
        column_lse(&u, n, j, &m, &lse);
        for (int64_t i = 0; i < n; i++) mset(&p, i, j, exp(mget(&u, i, j) - m - lse));
    }
    return KR_OK;
}

kr_status kr_softmax_cross_entropy(double *loss, kr_tensor *dU, const kr_tensor *U,
                                   const kr_tensor *T)
{
    kr_status st = check_args("softmax_cross_entropy", "logits", U, T, "dU", dU);
    if (st != KR_OK) return st;
    int64_t n = U->size[0], B = U->size[1];
    mat u = mat_of(U), t = mat_of(T), g = dU ? mat_of(dU) : u;
    double sum = 0, inv_b = 1.0 / (double)B;
    for (int64_t j = 0; j < B; j++) {
        double m, lse, tsum = 0;
        column_lse(&u, n, j, &m, &lse);
        for (int64_t i = 0; i < n; i++) {
            double tt = mget(&t, i, j);
            sum += tt * (lse - (mget(&u, i, j) - m)); /* -t log p */
            tsum += tt;
        }
        if (dU)
            for (int64_t i = 0; i < n; i++) {
                double pi = exp(mget(&u, i, j) - m - lse), tt = mget(&t, i, j);
                mset(&g, i, j, (pi * tsum - tt) * inv_b); /* fused softmax(u) - t */
            }
    }
    *loss = sum * inv_b;
    return KR_OK;
}

kr_status kr_softmax_cross_entropy_labels(double *loss, kr_tensor *dU, const kr_tensor *U,
                                          const int64_t *labels)
{
    kr_status st = check_args("softmax_cross_entropy", "logits", U, NULL, "dU", dU);
    if (st != KR_OK) return st;
    int64_t n = U->size[0], B = U->size[1];
    for (int64_t j = 0; j < B; j++)
        if (labels[j] < 0 || labels[j] >= n)
            return kr_fail(KR_EINVAL,
                           "softmax_cross_entropy: label %lld of sample %lld is out of range "
                           "0..%lld", (long long)labels[j], (long long)j, (long long)(n - 1));
    mat u = mat_of(U), g = dU ? mat_of(dU) : u;
    double sum = 0, inv_b = 1.0 / (double)B;
    for (int64_t j = 0; j < B; j++) {
        double m, lse;
        int64_t c = labels[j];
        column_lse(&u, n, j, &m, &lse);
        sum += lse - (mget(&u, c, j) - m);
        if (dU)
            for (int64_t i = 0; i < n; i++) {
                double pi = exp(mget(&u, i, j) - m - lse);
                mset(&g, i, j, (pi - (i == c)) * inv_b);
            }
    }
    *loss = sum * inv_b;
    return KR_OK;
}

/* The first row holding column j's largest entry. */
static int64_t column_argmax(const mat *y, int64_t n, int64_t j)
{
    int64_t best = 0;
    double bv = mget(y, 0, j);
    for (int64_t i = 1; i < n; i++) {
        double v = mget(y, i, j);
        if (v > bv) best = i, bv = v;
    }
    return best;
}

kr_status kr_argmax_columns(int64_t *out, const kr_tensor *Y)
{
    kr_status st = check_2d("argmax", "input", Y);
    if (st != KR_OK) return st;
    mat y = mat_of(Y);
    for (int64_t j = 0; j < Y->size[1]; j++) out[j] = column_argmax(&y, Y->size[0], j);
    return KR_OK;
}

kr_status kr_accuracy(double *acc, const kr_tensor *Y, const int64_t *labels)
{
    kr_status st = check_2d("accuracy", "output", Y);
    if (st != KR_OK) return st;
    mat y = mat_of(Y);
    int64_t hits = 0, B = Y->size[1];
    for (int64_t j = 0; j < B; j++) hits += column_argmax(&y, Y->size[0], j) == labels[j];
    *acc = (double)hits / (double)B;
    return KR_OK;
}
