/* uint8 tensors (tensor.h): the refusal that keeps them out of arithmetic, and copies to and
 * from them.  Bytes are for holding 8-bit data sets compactly (Fashion-MNIST: 47 MB instead of
 * 188 MB in float32); they become floats on the way out, by to() or while a batch is gathered
 * (batch.c), never inside the float kernels. */
#include <math.h>
#include <string.h>

#include "tensor.h"

kr_status kr_refuse_u8(const char *op, const kr_tensor *t)
{
    if (t->dtype != KR_U8) return KR_OK;
    return kr_fail(KR_EINVAL, "%s: uint8 tensors hold bytes and take no arithmetic; convert with "
                              "to(\"f32\") or to(\"f64\") first", op);
}

static inline unsigned char to_byte(double v)
{
    if (!(v > 0)) return 0; /* NaN too */
    return v >= 255 ? 255 : (unsigned char)(v + 0.5); /* as kr_set */
}

/* One element of src (any dtype) at element offset k into dst at element offset j. */
static inline void put(unsigned char *dst, kr_dtype dd, int64_t j, const unsigned char *src,
                       kr_dtype sd, int64_t k)
{
    double v = sd == KR_U8 ? src[k] : sd == KR_F32 ? ((const float *)src)[k] : ((const double *)src)[k];
    if (dd == KR_U8) dst[j] = sd == KR_U8 ? src[k] : to_byte(v);
    else if (dd == KR_F32) ((float *)dst)[j] = (float)v;
    else ((double *)dst)[j] = v;
}

kr_status kr_copy_u8(kr_tensor *a, const kr_tensor *b)
{
    char sa[200], sb[200];
    if (!a->storage || !b->storage) return kr_fail(KR_EINVAL, "copy_: released tensor");
    kr_tensor v;
    if (kr_expand(&v, b, a->ndim, a->size) != KR_OK)
        return kr_fail(KR_EINVAL, "copy_: cannot copy %s into %s",
                       kr_tensor_shape_str(b, sb, sizeof sb), kr_tensor_shape_str(a, sa, sizeof sa));
    int64_t n = kr_numel(a);
    if (n == 0) {
        kr_tensor_release(&v);
        return KR_OK;
    }
    if (a->storage == b->storage && a->dtype != b->dtype) {
        /* one storage seen as two dtypes cannot happen through the API; refuse rather than
         * reason about the overlap */
        kr_tensor_release(&v);
        return kr_fail(KR_EINVAL, "copy_: source and destination share storage");
    }
    unsigned char *dp = a->storage->data;
    const unsigned char *sp = v.storage->data;
    int nd = a->ndim;
    if (nd == 0) {
        put(dp, a->dtype, a->offset, sp, v.dtype, v.offset);
        kr_tensor_release(&v);
        return KR_OK;
    }
    /* odometer over all but the last dimension; the last one as a strided run */
    int64_t idx[KR_MAXDIM] = {0}, last = a->size[nd - 1];
    int64_t as = a->stride[nd - 1], bs = v.stride[nd - 1];
    for (;;) {
        int64_t oa = a->offset, ob = v.offset;
        for (int d = 0; d < nd - 1; d++) {
            oa += idx[d] * a->stride[d];
            ob += idx[d] * v.stride[d];
        }
        if (a->dtype == KR_F32 && v.dtype == KR_U8 && as == 1 && bs == 1) {
            float *x = (float *)dp + oa;
            const unsigned char *y = sp + ob;
            for (int64_t i = 0; i < last; i++) x[i] = y[i];
        } else {
            for (int64_t i = 0; i < last; i++) put(dp, a->dtype, oa + i * as, sp, v.dtype, ob + i * bs);
        }
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == a->size[d]) idx[d--] = 0;
        if (d < 0) break;
    }
    kr_tensor_release(&v);
    return KR_OK;
}
