/* Comparisons, selection by a mask, and truth tests (compare.c).
 *
 * A comparison gives a tensor of a's dtype holding 1 where the relation holds and 0 elsewhere;
 * NaN compares as IEEE 754 says (every relation false, `ne` true).  A mask is any tensor: an
 * element is "true" when it is non-zero, so NaN counts as true (as NumPy's bool(nan)).
 * Outputs are new contiguous tensors (out is an uninitialised header; on failure it is left
 * released).  Operands broadcast like kr_binary. */
#ifndef KR_COMPARE_H
#define KR_COMPARE_H

#include "tensor.h"

typedef enum kr_cmp { KR_EQ, KR_NE, KR_LT, KR_LE, KR_GT, KR_GE } kr_cmp;

const char *kr_cmp_name(kr_cmp op); /* "eq", "ne", ... */

/* out = (a op b) as 1/0; a and b share a dtype. */
kr_status kr_compare(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_cmp op);
/* out = (a op s) as 1/0. */
kr_status kr_compare_scalar(kr_tensor *out, const kr_tensor *a, double s, kr_cmp op);

/* out = mask ? a : b element by element (mask, a and b broadcast together); a and b share a
 * dtype, the mask may be of either. */
kr_status kr_where(kr_tensor *out, const kr_tensor *mask, const kr_tensor *a,
                   const kr_tensor *b);

/* a[mask] = v in place; mask broadcasts to a's shape. */
kr_status kr_masked_fill_(kr_tensor *a, const kr_tensor *mask, double v);

/* *any: some element is non-zero; *all: every element is (true for an empty tensor). */
void kr_any_all(const kr_tensor *a, int *any, int *all);

#endif
