/* Mini-batches: gathering samples (columns) of a data set by index.
 *
 * A data set is n x N with one sample per column (or a vector of N per-sample values, such as
 * labels).  kr_gather_columns copies the columns idx[0..m) of src into the m columns of dst;
 * when both keep a sample's features contiguous (stride 1 along dimension 0) and share a
 * dtype, that is one memcpy per sample. */
#ifndef KR_BATCH_H
#define KR_BATCH_H

#include <stdint.h>

#include "tensor.h"

/* dst n x m, src n x N (or dst m, src N), same dtype or converted; every idx in 0..N-1. */
kr_status kr_gather_columns(kr_tensor *dst, const kr_tensor *src, const int64_t *idx);
/* The same with dst = scale * src: uint8 samples become float32/float64 while they are
 * gathered (one widening pass per sample, no float copy of the data set).  A uint8 dst takes
 * only uint8 samples with scale 1. */
kr_status kr_gather_columns_scaled(kr_tensor *dst, const kr_tensor *src, const int64_t *idx,
                                   double scale);

#endif
