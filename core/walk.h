/* A plain odometer over a tensor's index space, for the kernels of compare.c, shape.c and
 * stats.c that read operands of different shapes through broadcast views (element by element
 * through kr_get/kr_set: these operations are not on any hot path). */
#ifndef KR_WALK_H
#define KR_WALK_H

#include "tensor.h"

/* Steps idx (of ndim dims, sizes size) to the next index in row-major order; returns 0 after
 * the last one. */
static inline int kr_walk_next(int ndim, const int64_t *size, int64_t *idx)
{
    for (int d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < size[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

#endif
