/* Private to the MLP (mlp.c, mlp_feedback.c, mlp_io.c): the pieces of the feedback rules that
 * construction and backward call, and the init rule shared by W and B.  See mlp.h. */
#ifndef KR_MLP_FEEDBACK_H
#define KR_MLP_FEEDBACK_H

#include "mlp.h"

/* The init rule layer l's weights get (KR_INIT_DEFAULT resolved from its activation). */
kr_init kr_mlp_init_kind(const kr_mlp *net, int l, kr_init init);
/* Fills t by the rule k for a matrix with fans n_in, n_out (kr_init_* of mlp.h). */
kr_status kr_mlp_fill_init(kr_tensor *t, kr_init k, double n_in, double n_out, double scale,
                           kr_rng *g);

/* Allocates B (and kp's dB) for net->feedback, zeroed; frees them. */
kr_status kr_mlp_feedback_alloc(kr_mlp *net);
void kr_mlp_feedback_free(kr_mlp *net);
/* At the start of a backward: sign's B = sign(W)^T. */
void kr_mlp_feedback_begin(kr_mlp *net);
/* dst (batch rows of n_l, row-major) = the rule's (B delta)^T for the layer below layer l
 * (0-based, l >= 1), from its delta Dl (batch rows of n_{l+1}) or, for dfa, the output's. */
void kr_mlp_feedback_delta(const kr_mlp *net, int l, const void *Dl, void *dst, int64_t batch);
/* After dW[l] is computed: kp's dB[l] = dW[l]^T. */
void kr_mlp_feedback_after_dW(kr_mlp *net, int l);

#endif
