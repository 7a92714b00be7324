/* Shape operations (shape.c): views that only rearrange sizes and strides (permute, unsqueeze,
 * squeeze, diagonal), and copies that join or pick slices (cat, stack, index_select).
 * Dimensions and indices are 0-based here.  A view dst is initialised as a new header on
 * src's storage; a copy's out is an uninitialised header that becomes a new contiguous
 * tensor (left released on failure). */
#ifndef KR_SHAPE_H
#define KR_SHAPE_H

#include "tensor.h"

/* dst dimension d is src dimension perm[d]; perm is a permutation of 0..ndim-1. */
kr_status kr_permute(kr_tensor *dst, const kr_tensor *src, int ndim, const int *perm);
/* A size-1 dimension inserted before dimension dim (0..ndim). */
kr_status kr_unsqueeze(kr_tensor *dst, const kr_tensor *src, int dim);
/* Dimension dim removed (it must have size 1); dim < 0 removes every size-1 dimension. */
kr_status kr_squeeze(kr_tensor *dst, const kr_tensor *src, int dim);
/* The main diagonal of a 2-D src as a 1-D view (min(m, n) elements, stride s0 + s1). */
kr_status kr_diagonal(kr_tensor *dst, const kr_tensor *src);

/* Joins n tensors along dim: every other size agrees, one dtype. */
kr_status kr_cat(kr_tensor *out, int n, const kr_tensor *const *in, int dim);
/* Joins n tensors of one shape along a new dimension dim (0..ndim). */
kr_status kr_stack(kr_tensor *out, int n, const kr_tensor *const *in, int dim);
/* out's slice k along dim is src's slice index[k] (0-based, each in range). */
kr_status kr_index_select(kr_tensor *out, const kr_tensor *src, int dim, int64_t n,
                          const int64_t *index);

#endif
