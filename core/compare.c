/* Comparisons, where, masked_fill and any/all (compare.h).  Inputs are read through broadcast
 * views (kr_expand), so any strides work; the output is new and contiguous, so it never
 * overlaps an input. */
#include "compare.h"

#include <string.h>

#include "walk.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

const char *kr_cmp_name(kr_cmp op)
{
    static const char *names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    return names[op];
}

/* C's relational operators on doubles are IEEE 754's: NaN is unordered, so only != holds. */
static int holds(double x, double y, kr_cmp op)
{
    switch (op) {
    case KR_EQ: return x == y;
    case KR_NE: return x != y;
    case KR_LT: return x < y;
    case KR_LE: return x <= y;
    case KR_GT: return x > y;
    case KR_GE: return x >= y;
    }
    return 0;
}

static kr_status dtypes_agree(const char *op, const kr_tensor *a, const kr_tensor *b)
{
    if (a->dtype != b->dtype)
        return kr_fail(KR_EINVAL, "%s: dtypes differ (%s and %s); convert one with to()", op,
                       kr_dtype_name(a->dtype), kr_dtype_name(b->dtype));
    return KR_OK;
}

kr_status kr_compare(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_cmp op)
{
    const char *name = kr_cmp_name(op);
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_status st;
    out->storage = NULL;
    if ((st = dtypes_agree(name, a, b)) || (st = kr_broadcast_shape(name, a, b, &ndim, size)))
        return st;
    kr_tensor va, vb;
    if ((st = kr_expand(&va, a, ndim, size))) return st;
    if ((st = kr_expand(&vb, b, ndim, size))) {
        kr_tensor_release(&va);
        return st;
    }
    if ((st = kr_tensor_empty(out, a->dtype, ndim, size)) == KR_OK && kr_numel(out) > 0) {
        int64_t idx[KR_MAXDIM] = {0}, k = 0;
        do {
            double r = holds(kr_get(&va, idx), kr_get(&vb, idx), op);
            if (out->dtype == KR_F64) ((double *)kr_data(out))[k++] = r;
            else ((float *)kr_data(out))[k++] = (float)r;
        } while (kr_walk_next(ndim, size, idx));
    }
    kr_tensor_release(&va);
    kr_tensor_release(&vb);
    return st;
}

kr_status kr_compare_scalar(kr_tensor *out, const kr_tensor *a, double s, kr_cmp op)
{
    kr_status st = kr_tensor_empty(out, a->dtype, a->ndim, a->size);
    if (st || kr_numel(a) == 0) return st;
    /* an f32 tensor is compared with s as a double: 0.1f < 0.1 is true, as in NumPy */
    int64_t idx[KR_MAXDIM] = {0}, k = 0;
    do {
        double r = holds(kr_get(a, idx), s, op);
        if (out->dtype == KR_F64) ((double *)kr_data(out))[k++] = r;
        else ((float *)kr_data(out))[k++] = (float)r;
    } while (kr_walk_next(a->ndim, a->size, idx));
    return KR_OK;
}

/* the broadcast shape of three operands */
static kr_status shape3(const char *op, const kr_tensor *x, const kr_tensor *y,
                        const kr_tensor *z, int *ndim, int64_t *size)
{
    kr_tensor tmp;
    kr_status st = kr_broadcast_shape(op, x, y, ndim, size);
    if (st) return st;
    memset(&tmp, 0, sizeof tmp);
    tmp.ndim = *ndim;
    memcpy(tmp.size, size, sizeof tmp.size);
    return kr_broadcast_shape(op, &tmp, z, ndim, size);
}

kr_status kr_where(kr_tensor *out, const kr_tensor *mask, const kr_tensor *a,
                   const kr_tensor *b)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_status st;
    out->storage = NULL;
    if ((st = dtypes_agree("where", a, b)) || (st = shape3("where", mask, a, b, &ndim, size)))
        return st;
    kr_tensor vm, va, vb;
    vm.storage = va.storage = vb.storage = NULL;
    if ((st = kr_expand(&vm, mask, ndim, size)) || (st = kr_expand(&va, a, ndim, size)) ||
        (st = kr_expand(&vb, b, ndim, size)))
        goto done;
    if ((st = kr_tensor_empty(out, a->dtype, ndim, size)) || kr_numel(out) == 0) goto done;
    int64_t idx[KR_MAXDIM] = {0}, k = 0;
    do {
        double r = kr_get(&vm, idx) != 0 ? kr_get(&va, idx) : kr_get(&vb, idx);
        if (out->dtype == KR_F64) ((double *)kr_data(out))[k++] = r;
        else ((float *)kr_data(out))[k++] = (float)r;
    } while (kr_walk_next(ndim, size, idx));
done:
    kr_tensor_release(&vm);
    kr_tensor_release(&va);
    kr_tensor_release(&vb);
    return st;
}

kr_status kr_masked_fill_(kr_tensor *a, const kr_tensor *mask, double v)
{
    char sa[200], sm[200];
    kr_tensor vm, copy;
    copy.storage = NULL;
    if (mask->storage == a->storage) { /* a mask that is a view of a: read it as it was */
        kr_status st = kr_tensor_empty(&copy, mask->dtype, mask->ndim, mask->size);
        if (st) return st;
        kr_copy_(&copy, mask);
        mask = &copy;
    }
    if (kr_expand(&vm, mask, a->ndim, a->size)) {
        kr_tensor_release(&copy);
        return kr_fail(KR_EINVAL, "masked_fill: the mask %s cannot be broadcast to %s",
                       SHAPE(mask, sm), SHAPE(a, sa));
    }
    if (kr_numel(a) > 0) {
        int64_t idx[KR_MAXDIM] = {0};
        do {
            if (kr_get(&vm, idx) != 0) kr_set(a, idx, v);
        } while (kr_walk_next(a->ndim, a->size, idx));
    }
    kr_tensor_release(&vm);
    kr_tensor_release(&copy);
    return KR_OK;
}

void kr_any_all(const kr_tensor *a, int *any, int *all)
{
    *any = 0;
    *all = 1;
    if (kr_numel(a) == 0) return;
    int64_t idx[KR_MAXDIM] = {0};
    do {
        if (kr_get(a, idx) != 0) *any = 1;
        else *all = 0;
        if (*any && !*all) return;
    } while (kr_walk_next(a->ndim, a->size, idx));
}
