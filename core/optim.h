/* Optimizers: one fused in-place update of a parameter tensor from its gradient.
 *
 * Each *_step function updates W (and its state tensors) in a single pass over the elements,
 * reading dW once.  The caller owns the state: tensors of W's shape and dtype, contiguous,
 * zero before the first step, passed again unchanged at every later step (the Lua binding
 * allocates them at a parameter's first step, so later steps allocate nothing).  W and dW
 * share one dtype and one shape; they may be any strided views (a contiguous pair takes a
 * single flat loop, anything else is walked row by row), but W must not be a broadcast view
 * (a zero stride), since its elements would be updated more than once.  Nothing is written
 * until every argument has been checked.
 *
 * Notation: g = dW (element-wise), t = the number of this step (1 at the first).
 * Weight decay as L2 regularisation (dW += lambda W) is not part of any optimizer: apply
 * kr_weight_decay to the weight gradients before the step, as the chapter does, so biases can
 * be left alone.  AdamW's decoupled decay is the exception, and is an Adam option. */
#ifndef KR_OPTIM_H
#define KR_OPTIM_H

#include "tensor.h"

/* Stochastic gradient descent with optional (Nesterov) momentum, dampening 0:
 *     b = momentum b + g                 (b: the momentum buffer; only when momentum > 0)
 *     W -= lr (g + momentum b)           nesterov
 *     W -= lr b                          momentum > 0
 *     W -= lr g                          momentum = 0
 * lr >= 0; 0 <= momentum < 1; nesterov requires momentum > 0. */
typedef struct kr_sgd_opts {
    double lr;
    double momentum;
    int nesterov;
} kr_sgd_opts;

/* Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov & Hutter 2019):
 *     W -= lr weight_decay W             (decoupled decay, AdamW; 0 for Adam)
 *     m = beta1 m + (1 - beta1) g
 *     v = beta2 v + (1 - beta2) g^2
 *     W -= lr m^ / (sqrt(v^) + eps)      m^ = m / (1 - beta1^t), v^ = v / (1 - beta2^t)
 * With bias_correction = 0, m^ = m and v^ = v (the chapter's code as it was meant to work).
 * stateless != 0 reproduces the printed book's Adam, whose moments were never written back:
 * every step starts from m = v = 0 and skips the correction,
 *     W -= lr (1 - beta1) g / (sqrt((1 - beta2) g^2) + eps)
 * which is about 3.16 lr sign(g) with the default betas once |g| >> eps; m and v are unused.
 * lr >= 0; 0 <= beta1, beta2 < 1; eps > 0; weight_decay >= 0. */
typedef struct kr_adam_opts {
    double lr;
    double beta1;
    double beta2;
    double eps;
    double weight_decay;
    int bias_correction;
    int stateless;
} kr_adam_opts;

/* RMSProp (Hinton's lecture 6e, in PyTorch's form):
 *     v = alpha v + (1 - alpha) g^2
 *     b = momentum b + g / (sqrt(v) + eps),  W -= lr b        momentum > 0
 *     W -= lr g / (sqrt(v) + eps)                             momentum = 0
 * lr >= 0; 0 <= alpha < 1; eps > 0; 0 <= momentum < 1. */
typedef struct kr_rmsprop_opts {
    double lr;
    double alpha;
    double eps;
    double momentum;
} kr_rmsprop_opts;

/* Check the settings alone (the step functions check them too); the message names `who`. */
kr_status kr_sgd_check(const char *who, const kr_sgd_opts *o);
kr_status kr_adam_check(const char *who, const kr_adam_opts *o);
kr_status kr_rmsprop_check(const char *who, const kr_rmsprop_opts *o);

/* Check that dW can be the gradient of W: both live, same dtype, same shape, W not a
 * broadcast view.  Every step function starts with this check. */
kr_status kr_optim_check_pair(const char *who, const kr_tensor *W, const kr_tensor *dW);

/* buf: the momentum buffer; may be NULL when momentum == 0. */
kr_status kr_sgd_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *buf, const kr_sgd_opts *o);
/* m, v: the moments (may be NULL when stateless); t >= 1 is this parameter's step count. */
kr_status kr_adam_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *m, kr_tensor *v,
                       int64_t t, const kr_adam_opts *o);
/* v: the mean square; buf: the momentum buffer, may be NULL when momentum == 0. */
kr_status kr_rmsprop_step(kr_tensor *W, const kr_tensor *dW, kr_tensor *v, kr_tensor *buf,
                          const kr_rmsprop_opts *o);

/* L2 weight decay from outside the optimizer: dW += lambda W (lambda >= 0). */
kr_status kr_weight_decay(kr_tensor *dW, const kr_tensor *W, double lambda);

#endif
