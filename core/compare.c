/* Comparisons, where, masked_fill and any/all (compare.h).  Inputs are read through broadcast
 * views (kr_expand), so any strides work; the output is new and contiguous, so it never
 * overlaps an input. */
#include "compare.h"

#include <string.h>

#include "strided.h"

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

const char *kr_cmp_name(kr_cmp op)
{
    static const char *names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    return names[op];
}

/* Element k of a run at p (stride s, elements of dtype dt) as a double, and the store. */
static inline double get_at(const unsigned char *p, kr_dtype dt, int64_t k)
{
    return dt == KR_F64 ? ((const double *)p)[k] : (double)((const float *)p)[k];
}

static inline void set_at(unsigned char *p, kr_dtype dt, int64_t k, double v)
{
    if (dt == KR_F64) ((double *)p)[k] = v;
    else ((float *)p)[k] = (float)v;
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
        const kr_tensor *ops[3] = {out, &va, &vb};
        kr_walk w;
        kr_walk_init(&w, 3, ops);
        void *base[3] = {kr_data(out), kr_data(&va), kr_data(&vb)};
        const size_t e = kr_dtype_size(a->dtype), es[KR_WALK_MAXOPS] = {e, e, e, e};
        const int64_t so = KR_WALK_STRIDE(w, 0), sa = KR_WALK_STRIDE(w, 1), sb = KR_WALK_STRIDE(w, 2);
        const kr_dtype dt = a->dtype;
        KR_WALK(w, base, es, {
            for (int64_t k = 0; k < kr_n; k++)
                set_at(kr_p[0], dt, k * so,
                       holds(get_at(kr_p[1], dt, k * sa), get_at(kr_p[2], dt, k * sb), op));
        });
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
    const kr_tensor *ops[2] = {out, a};
    kr_walk w;
    kr_walk_init(&w, 2, ops);
    void *base[2] = {kr_data(out), kr_data(a)};
    const size_t e = kr_dtype_size(a->dtype), es[KR_WALK_MAXOPS] = {e, e, e, e};
    const int64_t so = KR_WALK_STRIDE(w, 0), sa = KR_WALK_STRIDE(w, 1);
    const kr_dtype dt = a->dtype;
    KR_WALK(w, base, es, {
        for (int64_t k = 0; k < kr_n; k++)
            set_at(kr_p[0], dt, k * so, holds(get_at(kr_p[1], dt, k * sa), s, op));
    });
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
    {
        const kr_tensor *ops[4] = {out, &vm, &va, &vb};
        kr_walk w;
        kr_walk_init(&w, 4, ops);
        void *base[4] = {kr_data(out), kr_data(&vm), kr_data(&va), kr_data(&vb)};
        const size_t e = kr_dtype_size(a->dtype);
        const size_t es[KR_WALK_MAXOPS] = {e, kr_dtype_size(mask->dtype), e, e};
        const int64_t so = KR_WALK_STRIDE(w, 0), sm = KR_WALK_STRIDE(w, 1);
        const int64_t sa = KR_WALK_STRIDE(w, 2), sb = KR_WALK_STRIDE(w, 3);
        const kr_dtype dt = a->dtype, mt = mask->dtype;
        KR_WALK(w, base, es, {
            for (int64_t k = 0; k < kr_n; k++)
                set_at(kr_p[0], dt, k * so,
                       get_at(kr_p[1], mt, k * sm) != 0 ? get_at(kr_p[2], dt, k * sa)
                                                        : get_at(kr_p[3], dt, k * sb));
        });
    }
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
    if (kr_overlap(mask, a) == KR_OVERLAP) { /* a mask that is a view of a: read it as it was */
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
        const kr_tensor *ops[2] = {a, &vm};
        kr_walk w;
        kr_walk_init(&w, 2, ops);
        void *base[2] = {kr_data(a), kr_data(&vm)};
        const size_t es[KR_WALK_MAXOPS] = {kr_dtype_size(a->dtype), kr_dtype_size(vm.dtype), 0, 0};
        const int64_t s_a = KR_WALK_STRIDE(w, 0), s_m = KR_WALK_STRIDE(w, 1);
        const kr_dtype dt = a->dtype, mt = vm.dtype;
        KR_WALK(w, base, es, {
            for (int64_t k = 0; k < kr_n; k++)
                if (get_at(kr_p[1], mt, k * s_m) != 0) set_at(kr_p[0], dt, k * s_a, v);
        });
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
    const kr_tensor *ops[1] = {a};
    kr_walk w;
    kr_walk_init(&w, 1, ops);
    void *base[1] = {kr_data(a)};
    const size_t es[KR_WALK_MAXOPS] = {kr_dtype_size(a->dtype), 0, 0, 0};
    const int64_t s = KR_WALK_STRIDE(w, 0);
    int found_any = 0, found_all = 1;
    KR_WALK(w, base, es, {
        for (int64_t k = 0; k < kr_n; k++) {
            if (get_at(kr_p[0], a->dtype, k * s) != 0) found_any = 1;
            else found_all = 0;
        }
        if (found_any && !found_all) break;
    });
    *any = found_any;
    *all = found_all;
}
