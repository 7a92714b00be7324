/* Shape operations (shape.h): stride arithmetic for the views, narrow + copy_ for the copies. */
#include "shape.h"

#include <string.h>

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

static kr_status dim_range(const char *op, const kr_tensor *t, int dim, int extra)
{
    char sh[200];
    if (dim < 0 || dim >= t->ndim + extra)
        return kr_fail(KR_EINVAL, "%s: dimension %d out of range 1..%d (tensor is %s)", op,
                       dim + 1, t->ndim + extra, SHAPE(t, sh));
    return KR_OK;
}

kr_status kr_permute(kr_tensor *dst, const kr_tensor *src, int ndim, const int *perm)
{
    char sh[200];
    int seen[KR_MAXDIM] = {0};
    if (ndim != src->ndim)
        return kr_fail(KR_EINVAL, "permute: %d dimensions given for a %d-D tensor (%s)", ndim,
                       src->ndim, SHAPE(src, sh));
    for (int d = 0; d < ndim; d++) {
        if (perm[d] < 0 || perm[d] >= ndim || seen[perm[d]]++)
            return kr_fail(KR_EINVAL,
                           "permute: the dimensions must be a permutation of 1..%d "
                           "(dimension %d is out of range or repeated)",
                           ndim, perm[d] + 1);
    }
    kr_tensor_share(dst, src);
    for (int d = 0; d < ndim; d++) {
        dst->size[d] = src->size[perm[d]];
        dst->stride[d] = src->stride[perm[d]];
    }
    return KR_OK;
}

kr_status kr_unsqueeze(kr_tensor *dst, const kr_tensor *src, int dim)
{
    char sh[200];
    kr_status st = dim_range("unsqueeze", src, dim, 1);
    if (st) return st;
    if (src->ndim == KR_MAXDIM)
        return kr_fail(KR_EINVAL, "unsqueeze: the tensor (%s) has %d dimensions already, the most "
                       "supported", SHAPE(src, sh), KR_MAXDIM);
    kr_tensor_share(dst, src);
    for (int d = src->ndim; d > dim; d--) {
        dst->size[d] = src->size[d - 1];
        dst->stride[d] = src->stride[d - 1];
    }
    dst->size[dim] = 1;
    /* any stride is right for a size-1 dimension; this one keeps a contiguous tensor
     * contiguous in every sense */
    dst->stride[dim] = dim < src->ndim ? src->size[dim] * src->stride[dim] : 1;
    dst->ndim = src->ndim + 1;
    return KR_OK;
}

kr_status kr_squeeze(kr_tensor *dst, const kr_tensor *src, int dim)
{
    char sh[200];
    if (dim >= 0) {
        kr_status st = dim_range("squeeze", src, dim, 0);
        if (st) return st;
        if (src->size[dim] != 1)
            return kr_fail(KR_EINVAL, "squeeze: dimension %d has size %lld, not 1 (tensor is %s)",
                           dim + 1, (long long)src->size[dim], SHAPE(src, sh));
    }
    kr_tensor_share(dst, src);
    int n = 0;
    for (int d = 0; d < src->ndim; d++) {
        if (dim >= 0 ? d == dim : src->size[d] == 1) continue;
        dst->size[n] = src->size[d];
        dst->stride[n] = src->stride[d];
        n++;
    }
    dst->ndim = n;
    return KR_OK;
}

kr_status kr_diagonal(kr_tensor *dst, const kr_tensor *src)
{
    char sh[200];
    if (src->ndim != 2)
        return kr_fail(KR_EINVAL, "diag: expected a 1-D or 2-D tensor, got %s", SHAPE(src, sh));
    kr_tensor_share(dst, src);
    dst->ndim = 1;
    dst->size[0] = src->size[0] < src->size[1] ? src->size[0] : src->size[1];
    dst->stride[0] = src->stride[0] + src->stride[1];
    return KR_OK;
}

/* Checks that in[0..n-1] agree in dtype and in every size but dim's (or in all, for stack). */
static kr_status check_parts(const char *op, int n, const kr_tensor *const *in, int dim,
                             int all)
{
    char s0[200], sk[200];
    if (n < 1) return kr_fail(KR_EINVAL, "%s: no tensors given", op);
    const kr_tensor *a = in[0];
    for (int k = 1; k < n; k++) {
        const kr_tensor *b = in[k];
        if (b->dtype != a->dtype)
            return kr_fail(KR_EINVAL, "%s: tensor %d is %s, tensor 1 is %s; convert with to()",
                           op, k + 1, kr_dtype_name(b->dtype), kr_dtype_name(a->dtype));
        int same = b->ndim == a->ndim;
        for (int d = 0; same && d < a->ndim; d++)
            same = (d == dim && !all) || a->size[d] == b->size[d];
        if (!same)
            return kr_fail(KR_EINVAL, all ? "%s: tensor %d is %s, tensor 1 is %s; stack needs one shape"
                                          : "%s: tensor %d is %s, tensor 1 is %s; only dimension "
                                            "%d may differ",
                           op, k + 1, SHAPE(b, sk), SHAPE(a, s0), dim + 1);
    }
    return KR_OK;
}

/* Copies in[k] into consecutive slices of out along dim (out already has the joined shape). */
static kr_status fill_parts(kr_tensor *out, int n, const kr_tensor *const *in, int dim)
{
    int64_t at = 0;
    for (int k = 0; k < n; k++) {
        kr_tensor part;
        kr_status st = kr_narrow(&part, out, dim, at, in[k]->size[dim]);
        if (st) return st;
        st = kr_copy_(&part, in[k]);
        kr_tensor_release(&part);
        if (st) return st;
        at += in[k]->size[dim];
    }
    return KR_OK;
}

kr_status kr_cat(kr_tensor *out, int n, const kr_tensor *const *in, int dim)
{
    kr_status st;
    out->storage = NULL;
    if (n >= 1 && (st = dim_range("cat", in[0], dim, 0))) return st;
    if ((st = check_parts("cat", n, in, dim, 0))) return st;
    int64_t size[KR_MAXDIM];
    memcpy(size, in[0]->size, sizeof size);
    size[dim] = 0;
    for (int k = 0; k < n; k++) size[dim] += in[k]->size[dim];
    if ((st = kr_tensor_empty(out, in[0]->dtype, in[0]->ndim, size))) return st;
    if ((st = fill_parts(out, n, in, dim))) kr_tensor_release(out);
    return st;
}

kr_status kr_stack(kr_tensor *out, int n, const kr_tensor *const *in, int dim)
{
    kr_status st;
    out->storage = NULL;
    if (n >= 1 && (st = dim_range("stack", in[0], dim, 1))) return st;
    if ((st = check_parts("stack", n, in, -1, 1))) return st;
    const kr_tensor *a = in[0];
    int64_t size[KR_MAXDIM];
    if (a->ndim == KR_MAXDIM)
        return kr_fail(KR_EINVAL, "stack: the tensors have %d dimensions, the most supported",
                       KR_MAXDIM);
    for (int d = 0, s = 0; d <= a->ndim; d++) size[d] = d == dim ? n : a->size[s++];
    if ((st = kr_tensor_empty(out, a->dtype, a->ndim + 1, size))) return st;
    for (int k = 0; k < n && !st; k++) {
        kr_tensor slot;
        if ((st = kr_select(&slot, out, dim, k))) break;
        st = kr_copy_(&slot, in[k]);
        kr_tensor_release(&slot);
    }
    if (st) kr_tensor_release(out);
    return st;
}

kr_status kr_index_select(kr_tensor *out, const kr_tensor *src, int dim, int64_t n,
                          const int64_t *index)
{
    char sh[200];
    kr_status st;
    out->storage = NULL;
    if ((st = dim_range("index_select", src, dim, 0))) return st;
    for (int64_t k = 0; k < n; k++)
        if (index[k] < 0 || index[k] >= src->size[dim])
            return kr_fail(KR_EINVAL,
                           "index_select: index %lld (entry %lld) out of range 1..%lld in "
                           "dimension %d (tensor is %s)",
                           (long long)index[k] + 1, (long long)k + 1, (long long)src->size[dim],
                           dim + 1, SHAPE(src, sh));
    int64_t size[KR_MAXDIM];
    memcpy(size, src->size, sizeof size);
    size[dim] = n;
    if ((st = kr_tensor_empty(out, src->dtype, src->ndim, size))) return st;
    for (int64_t k = 0; k < n; k++) {
        kr_tensor from, to;
        kr_select(&from, src, dim, index[k]);
        kr_select(&to, out, dim, k);
        kr_copy_(&to, &from);
        kr_tensor_release(&from);
        kr_tensor_release(&to);
    }
    return KR_OK;
}
