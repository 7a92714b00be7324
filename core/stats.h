/* Reductions beyond sum/mean/max/min (stats.c): variance, product, cumulative sum, dot.
 * Every accumulation runs in double for both dtypes.  dim is 0-based; a reduction over dim
 * gives out a's shape without dim (out: an uninitialised header, a new contiguous tensor). */
#ifndef KR_STATS_H
#define KR_STATS_H

#include "tensor.h"

/* Variance sum((x - mean)^2) / (n - ddof), two passes (mean first, then the squared
 * deviations, so no cancellation); n - ddof must be positive. */
kr_status kr_var_all(const kr_tensor *a, double ddof, double *result);
kr_status kr_var_dim(kr_tensor *out, const kr_tensor *a, int dim, double ddof);
/* Product of the elements (1 for none). */
double kr_prod_all(const kr_tensor *a);
kr_status kr_prod_dim(kr_tensor *out, const kr_tensor *a, int dim);
/* out (a's shape): running sums along dim. */
kr_status kr_cumsum(kr_tensor *out, const kr_tensor *a, int dim);
/* sum a_i b_i of two 1-D tensors of one length and dtype. */
kr_status kr_dot(const kr_tensor *a, const kr_tensor *b, double *result);

#endif
