/* The multilayer perceptron of the chapter, batched, with explicit backpropagation.
 *
 * Notation (L layers, sizes n_1 .. n_{L+1}; a batch has B samples, one per column):
 *   Z_1 = X (n_1 x B);  U_l = W_l Z_l + b_l 1^T;  Z_{l+1} = f_l(U_l);  Y = Z_{L+1}
 *   W_l is n_{l+1} x n_l (row-major, contiguous), b_l has n_{l+1} entries.
 * Backward, from G = dL/dY (the gradient of the batch-MEAN loss, see loss.h):
 *   delta_L = G .* f'_L(Y);   delta_l = f'_l(Z_{l+1}) .* (W_{l+1}^T delta_{l+1})
 *   dW_l = delta_l Z_l^T;     db_l = delta_l 1 (row sums);   dL/dX = W_1^T delta_1
 * Nothing is divided by B here: the loss already did it, once.  Backward OVERWRITES dW and db
 * (it does not accumulate), so zeroing the gradients before it is not needed.
 *
 * Storage order.  Every activity and delta is kept so that one sample's features are
 * contiguous: logically n x B with strides {1, n}, i.e. B x n row-major in memory, so
 * U^T = Z^T W^T is one row-major GEMM (as x W^T in PyTorch) and a shuffled batch is gathered
 * with one copy per sample.  An input X of any strides is accepted: when one of its dimensions
 * has unit stride it goes to BLAS directly (transpose flag and leading dimension), otherwise it
 * is copied into a workspace first.  The network keeps a reference to X (not a copy) between
 * forward and backward, so X must not be modified in between.
 *
 * Workspaces (activities, deltas, the input gradient) are allocated by the first forward and
 * again only when a larger batch arrives; smaller batches use a prefix of them.  So a training
 * step after the first allocates nothing.  The outputs of forward (Y) and backward (dX) are
 * views of these workspaces: the next call overwrites them (as torch7's module.output).
 *
 * The generator for initialisation is passed in; the core keeps no global state. */
#ifndef KR_MLP_H
#define KR_MLP_H

#include <stdint.h>

#include "activation.h"
#include "random.h"
#include "tensor.h"

/* Weight initialisations (biases always start at 0); every bound/std is multiplied by the
 * configured init_scale:
 *   xavier_uniform U(+-sqrt(6/(n_in+n_out)))    xavier_normal N(0, 2/(n_in+n_out))
 *   he_uniform     U(+-sqrt(6/n_in))            he_normal     N(0, 2/n_in)
 *   zeros          0
 * KR_INIT_DEFAULT picks per layer, from the activation that follows the weights:
 * he_uniform for relu and leaky_relu, xavier_uniform for the others (the chapter's code uses
 * the uniform variants). */
typedef enum kr_init {
    KR_INIT_DEFAULT = 0,
    KR_INIT_XAVIER_UNIFORM,
    KR_INIT_XAVIER_NORMAL,
    KR_INIT_HE_UNIFORM,
    KR_INIT_HE_NORMAL,
    KR_INIT_ZEROS,
    KR_INIT_NKINDS
} kr_init;

const char *kr_init_name(kr_init init); /* "default", "xavier_uniform", ... */
kr_status kr_init_from_name(kr_init *init, const char *name);

/* How backward carries the error to the hidden layers (mlp_feedback.c; B_l below are the
 * feedback matrices, kept in the network's B[], fixed unless said otherwise):
 *   bp    delta_l = f'_l(Z_{l+1}) .* (W_{l+1}^T delta_{l+1})              (backpropagation)
 *   fa    delta_l = f'_l(Z_{l+1}) .* (B_{l+1} delta_{l+1}), B_{l+1} n_{l+1} x n_{l+2} (the
 *         shape of W_{l+1}^T), drawn once with W_{l+1}'s init rule        (Lillicrap et al. 2016)
 *   dfa   delta_l = f'_l(Z_{l+1}) .* (B_l delta_L) for l < L, B_l n_{l+1} x n_{L+1}, drawn
 *         with W_l's init rule (the fans of the layer it feeds, as the book)   (Nokland 2016)
 *   kp    as fa, and backward also fills dB_{l+1} = dW_{l+1}^T, so an optimizer stepping B
 *         with dB gives it the transpose of W's update          (Kolen-Pollack, Akrout 2019)
 *   sign  as fa with B_{l+1} = sign(W_{l+1})^T (entries +-1, 0 where W is 0), recomputed at
 *         the start of every backward: no scale, so the hidden deltas are about 1/mean|W|
 *         times bp's (Adam does not mind; SGD needs a smaller lr)    (Liao et al. 2016)
 * Every rule computes dW_l = delta_l Z_l^T and db_l as bp does, and dL/dX = W_1^T delta_1. */
typedef enum kr_feedback {
    KR_FEEDBACK_BP = 0,
    KR_FEEDBACK_FA,
    KR_FEEDBACK_DFA,
    KR_FEEDBACK_KP,
    KR_FEEDBACK_SIGN,
    KR_FEEDBACK_NKINDS
} kr_feedback;

const char *kr_feedback_name(kr_feedback fb); /* "bp", "fa", "dfa", "kp", "sign" */
kr_status kr_feedback_from_name(kr_feedback *fb, const char *name);

typedef struct kr_mlp_config {
    int nlayers;              /* L >= 1 */
    const int64_t *sizes;     /* L + 1 layer sizes, each >= 1 */
    const kr_activation *act; /* L activations, f_1 .. f_L (KR_ACT_CUSTOM allowed) */
    kr_dtype dtype;
    int bias;                 /* 0: U = W Z (no b, no db) */
    kr_init init;
    double init_scale;        /* > 0 multiplies the weights' bound or std; 1 = the rule */
    kr_feedback feedback;     /* KR_FEEDBACK_BP (0) unless set */
} kr_mlp_config;

/* Custom activations (KR_ACT_CUSTOM) are computed by the caller through these hooks; the
 * layer index is 0-based.  Views passed in are n x B with strides {1, n}. */
typedef struct kr_act_hooks {
    kr_status (*forward)(void *ud, int layer, kr_tensor *u);                       /* u = f(u) */
    kr_status (*grad_mul)(void *ud, int layer, kr_tensor *g, const kr_tensor *y); /* g .*= f'(y) */
    void *ud;
} kr_act_hooks;

typedef struct kr_mlp {
    int nlayers;
    int64_t *sizes;     /* nlayers + 1 */
    kr_activation *act; /* nlayers */
    kr_dtype dtype;
    int bias;
    kr_tensor *W, *b;   /* parameters, nlayers each (b unused when !bias) */
    kr_tensor *dW, *db; /* their gradients */
    kr_feedback feedback;
    kr_tensor *B, *dB;  /* feedback matrices (0-based layer k: fa, kp, sign k = 1..L-1, the
                         * shape of W[k]^T; dfa k = 0..L-2, n_{k+2} x n_{L+1}), and kp's dB;
                         * NULL lists for bp, unused entries have no storage */

    /* private: workspaces and the state kept between forward and backward */
    int64_t capacity;  /* batch size the workspaces hold; 0 before the first forward */
    kr_tensor *Z;      /* Z[l], l = 1..nlayers: n_{l+1} * capacity elements (Z[0] unused) */
    kr_tensor *D;      /* D[l], l = 0..nlayers-1: delta_{l+1}, n_{l+2} * capacity */
    kr_tensor dx;      /* input gradient, sizes[0] * capacity */
    kr_tensor xcopy;   /* the last forward's input, copied (backward reads it) */
    kr_tensor input;   /* view of xcopy as n_0 x B */
    kr_tensor pbuf[2]; /* predict's hidden-layer workspaces, kept between calls: made anew,
                        * a 10000-sample batch's page faults cost more than its ReLUs */
    int64_t batch;     /* batch size of the last forward; 0 = no forward yet */
    int in_trans;      /* how input goes to BLAS, see mlp.c */
    int64_t in_ld;
} kr_mlp;

/* Creates a network; weights drawn from g (g may be NULL only for KR_INIT_ZEROS). */
kr_status kr_mlp_new(kr_mlp **net, const kr_mlp_config *cfg, kr_rng *g);
void kr_mlp_free(kr_mlp *net);
/* Re-draws the weights and zeroes the biases and gradients. */
kr_status kr_mlp_reinit(kr_mlp *net, kr_init init, double init_scale, kr_rng *g);
void kr_mlp_zero_grad(kr_mlp *net);

/* Y (an empty header on entry) becomes a view of the output workspace, n_{L+1} x B.
 * hooks may be NULL when no layer is custom. */
kr_status kr_mlp_forward(kr_mlp *net, kr_tensor *Y, const kr_tensor *X,
                         const kr_act_hooks *hooks);
/* G = dL/dY of the last forward (n_{L+1} x B, any strides).  Fills dW, db and, when dX is
 * not NULL, makes it (an empty header on entry) a view of dL/dX, n_1 x B. */
kr_status kr_mlp_backward(kr_mlp *net, kr_tensor *dX, const kr_tensor *G,
                          const kr_act_hooks *hooks);
/* Forward without touching the state kept for backward: Y (empty header) becomes a new
 * tensor.  The hidden layers go through workspaces of the network's own (pbuf), grown to the
 * largest batch seen and reused. */
kr_status kr_mlp_predict(kr_mlp *net, kr_tensor *Y, const kr_tensor *X,
                         const kr_act_hooks *hooks);

/* 1 when layer k (0-based) has a feedback matrix B[k]. */
int kr_mlp_has_feedback(const kr_mlp *net, int k);
/* Re-draws the feedback matrices (fa, dfa, kp) with the init rule, or recomputes sign's. */
kr_status kr_mlp_feedback_reinit(kr_mlp *net, kr_init init, double init_scale, kr_rng *g);

/* Whole-network files (mlp_io.c): sizes, activations, dtype, bias flag and parameters, never
 * workspaces; little-endian on every machine, CRC-32 checked, written atomically
 * (a temporary file renamed over path).  Custom activations cannot be saved. */
kr_status kr_mlp_save(const kr_mlp *net, const char *path);
kr_status kr_mlp_load(kr_mlp **net, const char *path);

#endif
