/* Activation functions of the multilayer network: y = f(x) and the derivative f'(x) computed
 * from the output y alone (the chapter's design: the pre-activation is never kept).
 *
 *   name        f(x)                          f' from y
 *   identity    x                             1
 *   sigmoid     1 / (1 + e^-x)                y (1 - y)
 *   tanh        tanh x                        1 - y^2
 *   relu        max(x, 0)                     1 if y > 0 else 0
 *   leaky_relu  x if x > 0 else a x (a=0.01)  1 if y > 0 else a       (needs a >= 0)
 *   softplus    log(1 + e^x)                  1 - e^-y  (= sigmoid(x))
 *
 * The derivative at ReLU's kink (y = 0) is taken as 0, leaky ReLU's as a.
 * Besides the tensor-level functions there are two fused kernels on raw contiguous memory,
 * used by the MLP so that each layer makes one pass over its activities:
 * bias add + activation, and "gradient times derivative". */
#ifndef KR_ACTIVATION_H
#define KR_ACTIVATION_H

#include <stdint.h>

#include "tensor.h"

typedef enum kr_act_kind {
    KR_ACT_IDENTITY = 0,
    KR_ACT_SIGMOID,
    KR_ACT_TANH,
    KR_ACT_RELU,
    KR_ACT_LEAKY_RELU,
    KR_ACT_SOFTPLUS,
    KR_ACT_CUSTOM, /* computed outside the core (a user-defined activation, see mlp.h) */
    KR_ACT_NKINDS
} kr_act_kind;

#define KR_LEAKY_RELU_SLOPE 0.01

typedef struct kr_activation {
    kr_act_kind kind;
    double slope; /* leaky_relu's a; ignored by the others */
} kr_activation;

/* "identity", "sigmoid", ... ("custom" for KR_ACT_CUSTOM); NULL for an invalid kind. */
const char *kr_act_name(kr_act_kind kind);
/* Parses a built-in name (not "custom"); leaky_relu gets slope KR_LEAKY_RELU_SLOPE.
 * Unknown names fail with a message listing the known ones. */
kr_status kr_act_from_name(kr_activation *act, const char *name);
/* Checks a built-in activation (known kind, finite slope >= 0 for leaky_relu). */
kr_status kr_act_check(const char *op, kr_activation act);

/* y = f(x) element by element; x of any strides, y contiguous with x's shape and dtype
 * (y may be x itself when x is contiguous). */
kr_status kr_act_forward(kr_tensor *y, const kr_tensor *x, kr_activation act);
/* d = f'(y) from the output y; y of any strides, d contiguous with y's shape (may be y). */
kr_status kr_act_derivative(kr_tensor *d, const kr_tensor *y, kr_activation act);

/* Fused kernels on `rows` contiguous rows of n elements of dtype dt (no checks: the caller
 * has validated the sizes; act must be built in):
 *   kr_act_bias_forward: u[r n + i] = f(u[r n + i] + b[i])   (b may be NULL: no bias)
 *   kr_act_grad_mul:     g[k] = g[k] f'(y[k]),  k < rows n */
void kr_act_bias_forward(kr_dtype dt, void *u, const void *b, int64_t n, int64_t rows,
                         kr_activation act);
void kr_act_grad_mul(kr_dtype dt, void *g, const void *y, int64_t n, int64_t rows,
                     kr_activation act);

#endif
