/* Optimizers: fused in-place parameter updates (see optim.h for the formulas).
 *
 * Every update is a loop over "runs": stretches of elements where W and dW advance by a fixed
 * stride and the state arrays by one (kr_walk: a contiguous pair is one run of all elements,
 * any other pair is walked in runs along its merged innermost dimensions).  The element loops are written once per
 * optimizer and stamped out for float64 and float32 by a DEF_* macro, so the arithmetic is done
 * in the tensor's own precision. */
#include "optim.h"
#include "strided.h"

#include <tgmath.h> /* sqrt is sqrtf on floats, so float32 stays float32 */

/* One run: W's and dW's elements at a stride, the state arrays s0, s1 contiguous. */
typedef struct kr_run {
    void *w;
    int64_t sw;
    const void *g;
    int64_t sg;
    void *s0;
    void *s1;
    int64_t n;
} kr_run;

typedef void (*kr_run_fn)(const kr_run *r, const void *coef);

/* The element loop of a run, for element type T.  Inside the body: wp points at W's element
 * (update *wp), g is the gradient's element, i indexes the state arrays.  The unit-stride copy
 * of the loop is there so the compiler can vectorise the common case. */
#define FOR_RUN(T, r, ...)                                                                       \
    do {                                                                                         \
        T *w_ = (T *)(r)->w;                                                                     \
        const T *g_ = (const T *)(r)->g;                                                         \
        const int64_t sw_ = (r)->sw, sg_ = (r)->sg, n_ = (r)->n;                                 \
        if (sw_ == 1 && sg_ == 1) {                                                              \
            for (int64_t i = 0; i < n_; i++) {                                                   \
                T *const wp = w_ + i;                                                            \
                const T g = g_[i];                                                               \
                __VA_ARGS__                                                                      \
            }                                                                                    \
        } else {                                                                                 \
            for (int64_t i = 0; i < n_; i++) {                                                   \
                T *const wp = w_ + i * sw_;                                                      \
                const T g = g_[i * sg_];                                                         \
                __VA_ARGS__                                                                      \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* ---- kernels ------------------------------------------------------------------------- */

typedef struct sgd_coef {
    double lr, momentum;
    int nesterov;
} sgd_coef;

/* W -= lr g */
#define DEF_SGD_PLAIN(name, T)                                                                   \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const sgd_coef *c = cp;                                                                  \
        const T lr = (T)c->lr;                                                                   \
        FOR_RUN(T, r, *wp -= lr * g;);                                                           \
    }
DEF_SGD_PLAIN(sgd_plain_f64, double)
DEF_SGD_PLAIN(sgd_plain_f32, float)

/* b = mu b + g;  W -= lr (g + mu b) (Nesterov) or W -= lr b */
#define DEF_SGD_MOMENTUM(name, T)                                                                \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const sgd_coef *c = cp;                                                                  \
        const T lr = (T)c->lr, mu = (T)c->momentum;                                              \
        T *b = (T *)r->s0;                                                                       \
        if (c->nesterov)                                                                         \
            FOR_RUN(T, r, const T bi = mu * b[i] + g; b[i] = bi; *wp -= lr * (g + mu * bi););   \
        else                                                                                     \
            FOR_RUN(T, r, const T bi = mu * b[i] + g; b[i] = bi; *wp -= lr * bi;);               \
    }
DEF_SGD_MOMENTUM(sgd_momentum_f64, double)
DEF_SGD_MOMENTUM(sgd_momentum_f32, float)

typedef struct adam_coef {
    double lr, beta1, beta2, eps;
    double keep;   /* 1 - lr weight_decay: the decoupled decay as a factor */
    double ic1;    /* 1 / (1 - beta1^t), or 1 without bias correction */
    double ic2;    /* 1 / (1 - beta2^t), or 1 */
} adam_coef;

/* W = keep W - lr m^ / (sqrt(v^) + eps), with m, v the updated moments */
#define DEF_ADAM(name, T)                                                                        \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const adam_coef *c = cp;                                                                 \
        const T lr = (T)c->lr, b1 = (T)c->beta1, b2 = (T)c->beta2, eps = (T)c->eps;              \
        const T keep = (T)c->keep, ic1 = (T)c->ic1, ic2 = (T)c->ic2;                             \
        const T a1 = 1 - b1, a2 = 1 - b2;                                                        \
        T *m = (T *)r->s0, *v = (T *)r->s1;                                                      \
        FOR_RUN(T, r, const T mi = b1 * m[i] + a1 * g; const T vi = b2 * v[i] + a2 * g * g;      \
                m[i] = mi; v[i] = vi;                                                            \
                *wp = keep * *wp - lr * (mi * ic1) / (sqrt(vi * ic2) + eps););                   \
    }
DEF_ADAM(adam_f64, double)
DEF_ADAM(adam_f32, float)

/* The book's Adam: m = (1 - beta1) g, v = (1 - beta2) g^2 from zero at every step. */
#define DEF_ADAM_STATELESS(name, T)                                                              \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const adam_coef *c = cp;                                                                 \
        const T lr = (T)c->lr, eps = (T)c->eps, keep = (T)c->keep;                               \
        const T a1 = 1 - (T)c->beta1, a2 = 1 - (T)c->beta2;                                      \
        FOR_RUN(T, r, *wp = keep * *wp - lr * (a1 * g) / (sqrt(a2 * g * g) + eps););            \
    }
DEF_ADAM_STATELESS(adam_stateless_f64, double)
DEF_ADAM_STATELESS(adam_stateless_f32, float)

typedef struct rmsprop_coef {
    double lr, alpha, eps, momentum;
} rmsprop_coef;

/* v = alpha v + (1 - alpha) g^2;  W -= lr g / (sqrt(v) + eps) */
#define DEF_RMSPROP_PLAIN(name, T)                                                               \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const rmsprop_coef *c = cp;                                                              \
        const T lr = (T)c->lr, alpha = (T)c->alpha, eps = (T)c->eps, a = 1 - alpha;              \
        T *v = (T *)r->s0;                                                                       \
        FOR_RUN(T, r, const T vi = alpha * v[i] + a * g * g; v[i] = vi;                          \
                *wp -= lr * g / (sqrt(vi) + eps););                                              \
    }
DEF_RMSPROP_PLAIN(rmsprop_plain_f64, double)
DEF_RMSPROP_PLAIN(rmsprop_plain_f32, float)

/* v as above;  b = mu b + g / (sqrt(v) + eps);  W -= lr b */
#define DEF_RMSPROP_MOMENTUM(name, T)                                                            \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const rmsprop_coef *c = cp;                                                              \
        const T lr = (T)c->lr, alpha = (T)c->alpha, eps = (T)c->eps, a = 1 - alpha;              \
        const T mu = (T)c->momentum;                                                             \
        T *v = (T *)r->s0, *b = (T *)r->s1;                                                      \
        FOR_RUN(T, r, const T vi = alpha * v[i] + a * g * g; v[i] = vi;                          \
                const T bi = mu * b[i] + g / (sqrt(vi) + eps); b[i] = bi; *wp -= lr * bi;);      \
    }
DEF_RMSPROP_MOMENTUM(rmsprop_momentum_f64, double)
DEF_RMSPROP_MOMENTUM(rmsprop_momentum_f32, float)

/* dW += lambda W.  Weight decay walks with dW in W's place (it is the tensor written) and W in
 * dW's. */
typedef struct decay_coef {
    double lambda;
} decay_coef;

#define DEF_DECAY(name, T)                                                                       \
    static void name(const kr_run *r, const void *cp)                                            \
    {                                                                                            \
        const T lambda = (T)((const decay_coef *)cp)->lambda;                                    \
        FOR_RUN(T, r, *wp += lambda * g;);                                                       \
    }
DEF_DECAY(decay_f64, double)
DEF_DECAY(decay_f32, float)

/* ---- the walk over a parameter ------------------------------------------------------- */

/* Calls fn on every run of (W, G) (kr_walk), with the state arrays s0, s1 (NULL when unused)
 * at the matching positions.  W and G have the same shape (checked by the caller). */
static void for_each_run(const kr_tensor *W, const kr_tensor *G, kr_tensor *s0, kr_tensor *s1,
                         kr_run_fn fn, const void *coef)
{
    const size_t es = kr_dtype_size(W->dtype);
    char *const p0 = s0 ? kr_data(s0) : NULL;
    char *const p1 = s1 ? kr_data(s1) : NULL;
    if (kr_numel(W) == 0) return;
    const kr_tensor *ops[2] = { W, G };
    kr_walk it;
    kr_walk_init(&it, 2, ops);
    void *base[2] = { kr_data(W), kr_data(G) };
    const size_t esize[KR_WALK_MAXOPS] = { es, es, 0, 0 };
    const int64_t sw = KR_WALK_STRIDE(it, 0), sg = KR_WALK_STRIDE(it, 1);
    KR_WALK(it, base, esize, {
        kr_run r = { kr_p[0], sw, kr_p[1], sg, p0 ? p0 + kr_done * (int64_t)es : NULL,
                     p1 ? p1 + kr_done * (int64_t)es : NULL, kr_n };
        fn(&r, coef);
    });
}

/* ---- checks -------------------------------------------------------------------------- */

#define SHAPE_BUF (8 * 21)

static int finite_nonneg(double x)
{
    return x >= 0 && !isinf(x); /* false for NaN too */
}

static int in_unit(double x) /* 0 <= x < 1 */
{
    return x >= 0 && x < 1;
}

/* Same dtype and shape; roles as the messages name them. */
static kr_status check_match(const char *who, const kr_tensor *W, const kr_tensor *dW)
{
    char a[SHAPE_BUF], b[SHAPE_BUF];
    if (!W || !W->storage) return kr_fail(KR_EINVAL, "%s: the parameter is a closed tensor", who);
    if (!dW || !dW->storage) return kr_fail(KR_EINVAL, "%s: the gradient is a closed tensor", who);
    if (W->dtype != dW->dtype)
        return kr_fail(KR_EINVAL,
                       "%s: parameter and gradient differ in dtype "
                       "(parameter is %s, gradient is %s)",
                       who, kr_dtype_name(W->dtype), kr_dtype_name(dW->dtype));
    if (!kr_same_shape(W, dW))
        return kr_fail(KR_EINVAL,
                       "%s: parameter and gradient differ in shape "
                       "(parameter is %s, gradient is %s)",
                       who, kr_tensor_shape_str(W, a, sizeof a),
                       kr_tensor_shape_str(dW, b, sizeof b));
    return KR_OK;
}

/* A tensor written in place must not be a broadcast view: an element seen through a zero
 * stride would be updated more than once. */
static kr_status check_writable(const char *who, const char *role, const kr_tensor *T)
{
    char a[SHAPE_BUF];
    for (int d = 0; d < T->ndim; d++)
        if (T->size[d] > 1 && T->stride[d] == 0)
            return kr_fail(KR_EINVAL, "%s: the %s (%s) is a broadcast view and cannot be updated "
                                      "in place", who, role, kr_tensor_shape_str(T, a, sizeof a));
    return KR_OK;
}

kr_status kr_optim_check_pair(const char *who, const kr_tensor *W, const kr_tensor *dW)
{
    kr_status st = check_match(who, W, dW);
    return st ? st : check_writable(who, "parameter", W);
}

/* A state tensor must be a contiguous tensor of W's shape and dtype. */
static kr_status check_state(const char *who, const char *role, const kr_tensor *S,
                             const kr_tensor *W)
{
    char a[SHAPE_BUF], b[SHAPE_BUF];
    if (!S || !S->storage)
        return kr_fail(KR_EINVAL, "%s: the state tensor %s is missing", who, role);
    if (S->dtype != W->dtype || !kr_same_shape(S, W) || !kr_is_contiguous(S))
        return kr_fail(KR_EINVAL,
                       "%s: the state tensor %s (%s %s%s) does not fit the parameter (%s %s)", who,
                       role, kr_dtype_name(S->dtype), kr_tensor_shape_str(S, a, sizeof a),
                       kr_is_contiguous(S) ? "" : ", not contiguous", kr_dtype_name(W->dtype),
                       kr_tensor_shape_str(W, b, sizeof b));
    return KR_OK;
}

kr_status kr_sgd_check(const char *who, const kr_sgd_opts *o)
{
    if (!finite_nonneg(o->lr))
        return kr_fail(KR_EINVAL, "%s: lr must be a finite number >= 0, got %g", who, o->lr);
    if (!in_unit(o->momentum))
        return kr_fail(KR_EINVAL, "%s: momentum must be in [0, 1), got %g", who, o->momentum);
    if (o->nesterov && o->momentum == 0)
        return kr_fail(KR_EINVAL, "%s: nesterov needs momentum > 0", who);
    return KR_OK;
}

kr_status kr_adam_check(const char *who, const kr_adam_opts *o)
{
    if (!finite_nonneg(o->lr))
        return kr_fail(KR_EINVAL, "%s: lr must be a finite number >= 0, got %g", who, o->lr);
    if (!in_unit(o->beta1))
        return kr_fail(KR_EINVAL, "%s: beta1 must be in [0, 1), got %g", who, o->beta1);
    if (!in_unit(o->beta2))
        return kr_fail(KR_EINVAL, "%s: beta2 must be in [0, 1), got %g", who, o->beta2);
    if (!(o->eps > 0) || isinf(o->eps))
        return kr_fail(KR_EINVAL, "%s: eps must be a finite number > 0, got %g", who, o->eps);
    if (!finite_nonneg(o->weight_decay))
        return kr_fail(KR_EINVAL, "%s: weight_decay must be a finite number >= 0, got %g", who,
                       o->weight_decay);
    return KR_OK;
}

kr_status kr_rmsprop_check(const char *who, const kr_rmsprop_opts *o)
{
    if (!finite_nonneg(o->lr))
        return kr_fail(KR_EINVAL, "%s: lr must be a finite number >= 0, got %g", who, o->lr);
    if (!in_unit(o->alpha))
        return kr_fail(KR_EINVAL, "%s: alpha must be in [0, 1), got %g", who, o->alpha);
    if (!(o->eps > 0) || isinf(o->eps))
        return kr_fail(KR_EINVAL, "%s: eps must be a finite number > 0, got %g", who, o->eps);
    if (!in_unit(o->momentum))
        return kr_fail(KR_EINVAL, "%s: momentum must be in [0, 1), got %g", who, o->momentum);
    return KR_OK;
}

/* ---- steps --------------------------------------------------------------------------- */

kr_status kr_sgd_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *buf, const kr_sgd_opts *o)
{
    kr_status st;
    if ((st = kr_sgd_check("sgd", o)) || (st = kr_optim_check_pair("sgd", W, dW))) return st;
    const sgd_coef c = { o->lr, o->momentum, o->nesterov };
    const int f32 = W->dtype == KR_F32;
    if (o->momentum == 0) {
        for_each_run(W, dW, NULL, NULL, f32 ? sgd_plain_f32 : sgd_plain_f64, &c);
        return KR_OK;
    }
    if ((st = check_state("sgd", "buf", buf, W))) return st;
    for_each_run(W, dW, buf, NULL, f32 ? sgd_momentum_f32 : sgd_momentum_f64, &c);
    return KR_OK;
}

kr_status kr_adam_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *m, kr_tensor *v,
                       int64_t t, const kr_adam_opts *o)
{
    kr_status st;
    if ((st = kr_adam_check("adam", o)) || (st = kr_optim_check_pair("adam", W, dW))) return st;
    adam_coef c = { o->lr, o->beta1, o->beta2, o->eps, 1 - o->lr * o->weight_decay, 1, 1 };
    const int f32 = W->dtype == KR_F32;
    if (o->stateless) {
        for_each_run(W, dW, NULL, NULL, f32 ? adam_stateless_f32 : adam_stateless_f64, &c);
        return KR_OK;
    }
    if (t < 1)
        return kr_fail(KR_EINVAL, "adam: the step count must be >= 1, got %lld", (long long)t);
    if ((st = check_state("adam", "m", m, W)) || (st = check_state("adam", "v", v, W))) return st;
    if (o->bias_correction) {
        /* 1 - beta^t without cancellation when beta^t is close to 1 */
        c.ic1 = -1 / expm1((double)t * log(o->beta1));
        c.ic2 = -1 / expm1((double)t * log(o->beta2));
        if (o->beta1 == 0) c.ic1 = 1;
        if (o->beta2 == 0) c.ic2 = 1;
    }
    for_each_run(W, dW, m, v, f32 ? adam_f32 : adam_f64, &c);
    return KR_OK;
}

kr_status kr_rmsprop_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *v, kr_tensor *buf,
                          const kr_rmsprop_opts *o)
{
    kr_status st;
    if ((st = kr_rmsprop_check("rmsprop", o)) || (st = kr_optim_check_pair("rmsprop", W, dW)))
        return st;
    if ((st = check_state("rmsprop", "v", v, W))) return st;
    const rmsprop_coef c = { o->lr, o->alpha, o->eps, o->momentum };
    const int f32 = W->dtype == KR_F32;
    if (o->momentum == 0) {
        for_each_run(W, dW, v, NULL, f32 ? rmsprop_plain_f32 : rmsprop_plain_f64, &c);
        return KR_OK;
    }
    if ((st = check_state("rmsprop", "buf", buf, W))) return st;
    for_each_run(W, dW, v, buf, f32 ? rmsprop_momentum_f32 : rmsprop_momentum_f64, &c);
    return KR_OK;
}

kr_status kr_weight_decay(kr_tensor *dW, const kr_tensor *W, double lambda)
{
    kr_status st;
    if (!finite_nonneg(lambda))
        return kr_fail(KR_EINVAL, "weight_decay: lambda must be a finite number >= 0, got %g",
                       lambda);
    if ((st = check_match("weight_decay", W, dW)) ||
        (st = check_writable("weight_decay", "gradient", dW)))
        return st;
    if (lambda == 0) return KR_OK;
    const decay_coef c = { lambda };
    for_each_run(dW, W, NULL, NULL, dW->dtype == KR_F32 ? decay_f32 : decay_f64, &c);
    return KR_OK;
}
