/* The strided walk and the overlap test (see strided.h). */
#include "strided.h"

void kr_walk_init(kr_walk *w, int nops, const kr_tensor *const *ops)
{
    const kr_tensor *t0 = ops[0];
    w->nops = nops;
    w->ndim = 0;
    for (int d = 0; d < t0->ndim; d++) {
        if (t0->size[d] == 1) continue; /* size-1 dims carry no iteration */
        int k = w->ndim;
        if (k > 0) {
            int merge = 1;
            for (int o = 0; o < nops; o++)
                if (w->stride[o][k - 1] != ops[o]->stride[d] * t0->size[d]) merge = 0;
            if (merge) {
                w->size[k - 1] *= t0->size[d];
                for (int o = 0; o < nops; o++) w->stride[o][k - 1] = ops[o]->stride[d];
                continue;
            }
        }
        w->size[k] = t0->size[d];
        for (int o = 0; o < nops; o++) w->stride[o][k] = ops[o]->stride[d];
        w->ndim++;
    }
    if (w->ndim == 0) { /* a scalar or all-ones shape: one element */
        w->ndim = 1;
        w->size[0] = 1;
        for (int o = 0; o < nops; o++) w->stride[o][0] = 1;
    }
    for (int d = 0; d < w->ndim; d++)
        if (w->size[d] == 0) { /* empty: one run of nothing */
            w->ndim = 1;
            w->size[0] = 0;
            for (int o = 0; o < nops; o++) w->stride[o][0] = 1;
            break;
        }
}

/* Byte range [lo, hi] that a non-empty t occupies in its storage. */
static void byte_range(const kr_tensor *t, int64_t *lo, int64_t *hi)
{
    int64_t last = t->offset, es = (int64_t)kr_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) last += (t->size[d] - 1) * t->stride[d];
    *lo = t->offset * es;
    *hi = last * es + es - 1;
}

static int same_view(const kr_tensor *a, const kr_tensor *b)
{
    if (a->storage != b->storage || a->offset != b->offset || a->dtype != b->dtype ||
        !kr_same_shape(a, b))
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->size[d] > 1 && a->stride[d] != b->stride[d]) return 0;
    return 1;
}

kr_overlap_kind kr_overlap(const kr_tensor *a, const kr_tensor *b)
{
    int64_t lo_a, hi_a, lo_b, hi_b;
    if (!a->storage || a->storage != b->storage || kr_numel(a) == 0 || kr_numel(b) == 0)
        return KR_APART;
    if (same_view(a, b)) return KR_SAME_VIEW;
    byte_range(a, &lo_a, &hi_a);
    byte_range(b, &lo_b, &hi_b);
    return lo_a <= hi_b && lo_b <= hi_a ? KR_OVERLAP : KR_APART;
}
