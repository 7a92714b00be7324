/* Mini-batch gathering (see batch.h). */
#include "batch.h"

#include <string.h>

static inline double get_at(const void *p, kr_dtype dt, int64_t k)
{
    if (dt == KR_U8) return ((const unsigned char *)p)[k];
    return dt == KR_F64 ? ((const double *)p)[k] : (double)((const float *)p)[k];
}

static inline void set_at(void *p, kr_dtype dt, int64_t k, double v)
{
    if (dt == KR_F64) ((double *)p)[k] = v;
    else ((float *)p)[k] = (float)v;
}

/* One sample of n bytes widened and scaled: the conversion fused into the gather (the loop
 * vectorises: -ftree-vectorize for this file, see mk/perf.mk) */
static void widen_f32(float *restrict d, const unsigned char *restrict s, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) d[i] = (float)s[i] * scale;
}

static void widen_f64(double *restrict d, const unsigned char *restrict s, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) d[i] = (double)s[i] * scale;
}

kr_status kr_gather_columns(kr_tensor *dst, const kr_tensor *src, const int64_t *idx)
{
    return kr_gather_columns_scaled(dst, src, idx, 1.0);
}

kr_status kr_gather_columns_scaled(kr_tensor *dst, const kr_tensor *src, const int64_t *idx,
                                   double scale)
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
    if (dst->dtype == KR_U8 && (src->dtype != KR_U8 || scale != 1.0))
        return kr_fail(KR_EINVAL, "%s: a uint8 batch takes uint8 samples unscaled; gather into "
                                  "float32 or float64 to convert", op);
    int64_t ss0 = d ? src->stride[0] : 0, ss1 = src->stride[d];
    int64_t ds0 = d ? dst->stride[0] : 0, ds1 = dst->stride[d];
    unsigned char *dp = kr_data(dst);
    const unsigned char *sp = kr_data(src);
    size_t es = kr_dtype_size(src->dtype), ed = kr_dtype_size(dst->dtype);
    int unit = n == 1 || (ss0 == 1 && ds0 == 1);
    if (src->dtype == KR_U8 && dst->dtype != KR_U8 && unit) {
        for (int64_t j = 0; j < m; j++) {
            const unsigned char *s = sp + (size_t)(idx[j] * ss1);
            if (dst->dtype == KR_F32)
                widen_f32((float *)dp + j * ds1, s, n, (float)scale);
            else
                widen_f64((double *)dp + j * ds1, s, n, scale);
        }
        return KR_OK;
    }
    if (src->dtype == dst->dtype && scale == 1.0 && unit) {
        for (int64_t j = 0; j < m; j++) /* one copy per sample */
            memcpy(dp + (size_t)(j * ds1) * ed, sp + (size_t)(idx[j] * ss1) * es, (size_t)n * es);
        return KR_OK;
    }
    for (int64_t j = 0; j < m; j++)
        for (int64_t i = 0; i < n; i++)
            if (dst->dtype == KR_U8)
                dp[i * ds0 + j * ds1] = sp[i * ss0 + idx[j] * ss1];
            else
                set_at(dp, dst->dtype, i * ds0 + j * ds1,
                       scale * get_at(sp, src->dtype, i * ss0 + idx[j] * ss1));
    return KR_OK;
}
