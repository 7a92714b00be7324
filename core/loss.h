/* Losses of a batch, softmax, accuracy.
 *
 * A batch is a matrix with one column per sample: Y is n x B (n outputs, B samples), of any
 * strides.  Each loss returns the MEAN over the batch of a per-sample loss in *loss and, when
 * dY is not NULL, writes the gradient of that mean with respect to Y into dY (n x B, any
 * strides, Y's dtype).  The division by B happens here, once; kr_mlp_backward does not divide
 * again (the chapter's code divides the cross-entropy gradient by B twice; kairo does not).
 * dY may be Y itself (or the target) when it has exactly the same layout; no other overlap.
 * Losses are accumulated in double precision for both dtypes.
 *
 *   kr_mse                  L = 1/2 sum_i (y_i - t_i)^2               dY = (y - t) / B
 *   kr_binary_cross_entropy L = -sum_i [t log y + (1-t) log(1-y)]     dY = (y-t) / (y(1-y)) / B
 *       for sigmoid outputs; y is clamped to [eps, 1 - eps] (eps 1e-12 for float64, 1e-7 for
 *       float32), in the loss and in the gradient, so neither is ever inf or NaN
 *   kr_bce_with_logits      the same loss on logits u (y = sigmoid(u)), computed stably as
 *       max(u,0) - u t + log(1 + e^-|u|)                               dU = (sigmoid(u) - t) / B
 *   kr_softmax_cross_entropy L = -sum_i t_i log softmax(u)_i, with log-sum-exp after
 *       subtracting each column's max                                   dU = (p sum_i t_i - t) / B
 *       (= (p - t) / B for one-hot or probability targets), p = softmax(u)
 *   kr_softmax_cross_entropy_labels  the same with t = onehot(label), labels 0-based. */
#ifndef KR_LOSS_H
#define KR_LOSS_H

#include <stdint.h>

#include "tensor.h"

kr_status kr_mse(double *loss, kr_tensor *dY, const kr_tensor *Y, const kr_tensor *T);
kr_status kr_binary_cross_entropy(double *loss, kr_tensor *dY, const kr_tensor *Y,
                                  const kr_tensor *T);
kr_status kr_bce_with_logits(double *loss, kr_tensor *dU, const kr_tensor *U,
                             const kr_tensor *T);
kr_status kr_softmax_cross_entropy(double *loss, kr_tensor *dU, const kr_tensor *U,
                                   const kr_tensor *T);
/* labels[j] in 0..n-1 is the class of sample j (B entries). */
kr_status kr_softmax_cross_entropy_labels(double *loss, kr_tensor *dU, const kr_tensor *U,
                                          const int64_t *labels);

/* P = softmax of each column of U (n x B, any strides; P the same shape and dtype, any
 * strides, may be U itself). */
kr_status kr_softmax(kr_tensor *P, const kr_tensor *U);

/* out[j] = the 0-based row of the largest entry of column j of Y (the first one on ties). */
kr_status kr_argmax_columns(int64_t *out, const kr_tensor *Y);
/* Fraction of columns whose argmax equals labels[j] (0-based), in [0, 1]. */
kr_status kr_accuracy(double *acc, const kr_tensor *Y, const int64_t *labels);

#endif
