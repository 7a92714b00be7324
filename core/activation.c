/* Activation functions: element kernels for float64 and float32, the fused bias + activation
 * pass and the fused "gradient times derivative" pass (see activation.h for the table). */
#include "activation.h"
#include "strided.h"

#include <math.h>
#include <string.h>

static const char *const act_names[KR_ACT_NKINDS] = {
    [KR_ACT_IDENTITY] = "identity",     [KR_ACT_SIGMOID] = "sigmoid",
    [KR_ACT_TANH] = "tanh",             [KR_ACT_RELU] = "relu",
    [KR_ACT_LEAKY_RELU] = "leaky_relu", [KR_ACT_SOFTPLUS] = "softplus",
    [KR_ACT_CUSTOM] = "custom",
};

const char *kr_act_name(kr_act_kind kind)
{
    if ((int)kind < 0 || kind >= KR_ACT_NKINDS) return NULL;
    return act_names[kind];
}

kr_status kr_act_from_name(kr_activation *act, const char *name)
{
    for (int k = 0; k < KR_ACT_CUSTOM; k++) {
        if (strcmp(name, act_names[k]) == 0) {
            act->kind = (kr_act_kind)k;
            act->slope = k == KR_ACT_LEAKY_RELU ? KR_LEAKY_RELU_SLOPE : 0.0;
            return KR_OK;
        }
    }
    return kr_fail(KR_EINVAL,
                   "unknown activation '%s' (known: identity, sigmoid, tanh, relu, leaky_relu, "
                   "softplus)", name);
}

kr_status kr_act_check(const char *op, kr_activation act)
{
    if ((int)act.kind < 0 || act.kind >= KR_ACT_CUSTOM)
        return kr_fail(KR_EINVAL, "%s: not a built-in activation (kind %d)", op, (int)act.kind);
    /* f' is read off y, which needs y > 0 exactly when x > 0 */
    if (act.kind == KR_ACT_LEAKY_RELU && !(act.slope >= 0.0 && isfinite(act.slope)))
        return kr_fail(KR_EINVAL, "%s: leaky_relu slope must be finite and >= 0, got %g", op,
                       act.slope);
    return KR_OK;
}

/* ---- element functions ------------------------------------------------------------------ */
static inline double sigmoid_f64(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
static inline float sigmoid_f32(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
/* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), never overflowing */
static inline double softplus_f64(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
static inline float softplus_f32(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
/* softplus' = sigmoid(x) = 1 - e^-y */
static inline double dsoftplus_f64(double y) { return -expm1(-y); }
static inline float dsoftplus_f32(float y) { return -expm1f(-y); }

/* ---- fused kernels ---------------------------------------------------------------------- */
/* One loop over rows x n with x = u (+ b[i]), storing EXPR. */
#define BIAS_LOOP(T, EXPR)                                                                  \
    for (int64_t r = 0; r < rows; r++) {                                                    \
        T *ur = u + r * n;                                                                  \
        if (b) {                                                                            \
            for (int64_t i = 0; i < n; i++) { T x = ur[i] + b[i]; ur[i] = (EXPR); }         \
        } else {                                                                            \
            for (int64_t i = 0; i < n; i++) { T x = ur[i]; ur[i] = (EXPR); }                \
        }                                                                                   \
    }

/* One loop over count elements: g *= f'(y) with y = y[k] */
#define GRAD_LOOP(STMT)                                                                     \
    for (int64_t k = 0; k < count; k++) { STMT; }

/* Function bodies shared by the two dtypes; the element functions come in by name. */
#define BIAS_ACT_BODY(T, SIGMOID, TANH, SOFTPLUS)                                          \
    const T a = (T)act.slope;                                                               \
    switch (act.kind) {                                                                     \
    case KR_ACT_IDENTITY: if (b) BIAS_LOOP(T, x) break;                                     \
    case KR_ACT_SIGMOID: BIAS_LOOP(T, SIGMOID(x)) break;                                    \
    case KR_ACT_TANH: BIAS_LOOP(T, TANH(x)) break;                                          \
    case KR_ACT_RELU: BIAS_LOOP(T, x <= 0 ? (T)0 : x) break; /* NaN stays NaN */            \
    case KR_ACT_LEAKY_RELU: BIAS_LOOP(T, x > 0 ? x : a * x) break;                          \
    case KR_ACT_SOFTPLUS: BIAS_LOOP(T, SOFTPLUS(x)) break;                                  \
    default: break;                                                                         \
    }

#define GRAD_MUL_BODY(T, DSOFTPLUS)                                                         \
    const T a = (T)act.slope;                                                               \
    switch (act.kind) {                                                                     \
    case KR_ACT_SIGMOID: GRAD_LOOP(g[k] *= y[k] * ((T)1 - y[k])) break;                     \
    case KR_ACT_TANH: GRAD_LOOP(g[k] *= (T)1 - y[k] * y[k]) break;                          \
    case KR_ACT_RELU: GRAD_LOOP(g[k] = y[k] > 0 ? g[k] : (T)0) break;                       \
    case KR_ACT_LEAKY_RELU: GRAD_LOOP(g[k] = y[k] > 0 ? g[k] : a * g[k]) break;             \
    case KR_ACT_SOFTPLUS: GRAD_LOOP(g[k] *= DSOFTPLUS(y[k])) break;                         \
    default: break; /* identity: f' = 1 */                                                  \
    }

#define DERIV_BODY(T, DSOFTPLUS)                                                            \
    const T a = (T)act.slope;                                                               \
    switch (act.kind) {                                                                     \
    case KR_ACT_SIGMOID: GRAD_LOOP(d[k] = y[k] * ((T)1 - y[k])) break;                      \
    case KR_ACT_TANH: GRAD_LOOP(d[k] = (T)1 - y[k] * y[k]) break;                           \
    case KR_ACT_RELU: GRAD_LOOP(d[k] = y[k] > 0 ? (T)1 : (T)0) break;                       \
    case KR_ACT_LEAKY_RELU: GRAD_LOOP(d[k] = y[k] > 0 ? (T)1 : a) break;                    \
    case KR_ACT_SOFTPLUS: GRAD_LOOP(d[k] = DSOFTPLUS(y[k])) break;                          \
    default: GRAD_LOOP(d[k] = (T)1) break;                                                  \
    }

/* u[r n + i] = f(u[r n + i] + b[i]) */
static void bias_act_f64(double *u, const double *b, int64_t n, int64_t rows, kr_activation act)
{
    BIAS_ACT_BODY(double, sigmoid_f64, tanh, softplus_f64)
}
static void bias_act_f32(float *u, const float *b, int64_t n, int64_t rows, kr_activation act)
{
    BIAS_ACT_BODY(float, sigmoid_f32, tanhf, softplus_f32)
}

/* g[k] *= f'(y[k]) */
static void grad_mul_f64(double *g, const double *y, int64_t count, kr_activation act)
{
    GRAD_MUL_BODY(double, dsoftplus_f64)
}
static void grad_mul_f32(float *g, const float *y, int64_t count, kr_activation act)
{
    GRAD_MUL_BODY(float, dsoftplus_f32)
}

/* d[k] = f'(y[k]) (d may be y) */
static void deriv_f64(double *d, const double *y, int64_t count, kr_activation act)
{
    DERIV_BODY(double, dsoftplus_f64)
}
static void deriv_f32(float *d, const float *y, int64_t count, kr_activation act)
{
    DERIV_BODY(float, dsoftplus_f32)
}

void kr_act_bias_forward(kr_dtype dt, void *u, const void *b, int64_t n, int64_t rows,
                         kr_activation act)
{
    if (dt == KR_F64) bias_act_f64(u, b, n, rows, act);
    else bias_act_f32(u, b, n, rows, act);
}

void kr_act_grad_mul(kr_dtype dt, void *g, const void *y, int64_t n, int64_t rows,
                     kr_activation act)
{
    if (dt == KR_F64) grad_mul_f64(g, y, n * rows, act);
    else grad_mul_f32(g, y, n * rows, act);
}

/* ---- tensor-level forward and derivative ------------------------------------------------ */
/* out contiguous, of in's shape and dtype; then out = in (a copy unless out is in). */
static kr_status prepare_out(const char *op, kr_tensor *out, const kr_tensor *in,
                             kr_activation act)
{
    char s1[200], s2[200];
    kr_status st = kr_act_check(op, act);
    if (st != KR_OK) return st;
    if (!in->storage || !out->storage) return kr_fail(KR_EINVAL, "%s: closed tensor", op);
    if (out->dtype != in->dtype)
        return kr_fail(KR_EINVAL, "%s: output is %s, input is %s", op,
                       kr_dtype_name(out->dtype), kr_dtype_name(in->dtype));
    if (!kr_same_shape(out, in))
        return kr_fail(KR_EINVAL, "%s: output is %s, input is %s", op,
                       kr_tensor_shape_str(out, s1, sizeof s1),
                       kr_tensor_shape_str(in, s2, sizeof s2));
    if (!kr_is_contiguous(out))
        return kr_fail(KR_EINVAL, "%s: output must be contiguous", op);
    kr_overlap_kind k = kr_overlap(out, in);
    if (k == KR_OVERLAP) return kr_fail(KR_EINVAL, "%s: output overlaps the input", op);
    return k == KR_SAME_VIEW ? KR_OK : kr_copy_(out, in);
}

kr_status kr_act_forward(kr_tensor *y, const kr_tensor *x, kr_activation act)
{
    kr_status st = prepare_out("activation forward", y, x, act);
    if (st != KR_OK) return st;
    kr_act_bias_forward(y->dtype, kr_data(y), NULL, kr_numel(y), 1, act);
    return KR_OK;
}

kr_status kr_act_derivative(kr_tensor *d, const kr_tensor *y, kr_activation act)
{
    kr_status st = prepare_out("activation backward", d, y, act);
    if (st != KR_OK) return st;
    if (d->dtype == KR_F64) deriv_f64(kr_data(d), kr_data(d), kr_numel(d), act);
    else deriv_f32(kr_data(d), kr_data(d), kr_numel(d), act);
    return KR_OK;
}
