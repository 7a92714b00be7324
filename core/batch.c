/* Mini-batch gathering (see batch.h). */
#include "batch.h"

#include <string.h>

static inline double get_at(const void *p, kr_dtype dt, int64_t k)
{
    return dt == KR_F64 ? ((const double *)p)[k] : (double)((const float *)p)[k];
}

static inline void set_at(void *p, kr_dtype dt, int64_t k, double v)
{
    if (dt == KR_F64) ((double *)p)[k] = v;
    else ((float *)p)[k] = (float)v;
}

kr_status kr_gather_columns(kr_tensor *dst, const kr_tensor *src, const int64_t *idx)
{
    char s1[200], s2[200];
    const char *op = "gather";
    if (!dst->storage || !src->storage) return kr_fail(KR_EINVAL, "%s: closed tensor", op);
    if (src->ndim != dst->ndim || src->ndim < 1 || src->ndim > 2 ||
        (src->ndim == 2 && src->size[0] != dst->size[0]))
        return kr_fail(KR_EINVAL, "%s: cannot gather columns of %s into %s", op,
                       kr_tensor_shape_str(src, s1, sizeof s1),
                       kr_tensor_shape_str(dst, s2, sizeof s2));
    int d = src->ndim - 1; /* the sample dimension */
    int64_t n = d ? src->size[0] : 1, N = src->size[d], m = dst->size[d];
    for (int64_t j = 0; j < m; j++)
        if (idx[j] < 0 || idx[j] >= N)
            return kr_fail(KR_EINVAL, "%s: index %lld is out of range 0..%lld", op,
                           (long long)idx[j], (long long)(N - 1));
    if (dst->storage == src->storage)
        return kr_fail(KR_EINVAL, "%s: destination shares storage with the source", op);
    int64_t ss0 = d ? src->stride[0] : 0, ss1 = src->stride[d];
    int64_t ds0 = d ? dst->stride[0] : 0, ds1 = dst->stride[d];
    unsigned char *dp = kr_data(dst);
    const unsigned char *sp = kr_data(src);
    size_t es = kr_dtype_size(src->dtype), ed = kr_dtype_size(dst->dtype);
    if (src->dtype == dst->dtype && (n == 1 || (ss0 == 1 && ds0 == 1))) {
        for (int64_t j = 0; j < m; j++) /* one copy per sample */
            memcpy(dp + (size_t)(j * ds1) * ed, sp + (size_t)(idx[j] * ss1) * es, (size_t)n * es);
        return KR_OK;
    }
    for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < n; i++)
            set_at(dp, dst->dtype, i * ds0 + j * ds1,
                   get_at(sp, src->dtype, i * ss0 + idx[j] * ss1));
    return KR_OK;
}
