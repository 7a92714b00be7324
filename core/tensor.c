/* Tensors: storage, headers, views, element-wise arithmetic with broadcasting, reductions. */
#include "tensor.h"
#include "strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dtypes ---------------------------------------------------------------------------- */

size_t kr_dtype_size(kr_dtype dt)
{
    return dt == KR_F32 ? sizeof(float) : dt == KR_U8 ? 1 : sizeof(double);
}

const char *kr_dtype_name(kr_dtype dt)
{
    return dt == KR_F32 ? "float32" : dt == KR_U8 ? "uint8" : "float64";
}

/* ---- storage --------------------------------------------------------------------------- */

/* Process-wide counters; relaxed atomics, since they are statistics, not synchronisation. */
static uint64_t stat_allocations, stat_live, stat_peak;

kr_alloc_stats kr_alloc_stats_get(void)
{
    kr_alloc_stats s;
    s.allocations = __atomic_load_n(&stat_allocations, __ATOMIC_RELAXED);
    s.live_bytes = __atomic_load_n(&stat_live, __ATOMIC_RELAXED);
    s.peak_bytes = __atomic_load_n(&stat_peak, __ATOMIC_RELAXED);
    return s;
}

enum { STORAGE_ALIGN = 64 };

/* Small storages are recycled through per-thread free lists: a + b on 4x4 tensors otherwise
 * spends a third of its time in malloc and free, since the collector frees in bursts that
 * overflow the C library's own small caches.  Blocks are kept by capacity class (multiples of
 * 64 data bytes up to SMALL_MAX); each list holds at most SMALL_KEEP blocks. */
enum { SMALL_MAX = 512, SMALL_CLASSES = SMALL_MAX / 64 + 1, SMALL_KEEP = 256 };

typedef struct small_cache {
    kr_storage *head[SMALL_CLASSES]; /* linked through their data pointer's first word */
    int count[SMALL_CLASSES];
} small_cache;

static _Thread_local small_cache cache;

static int size_class(size_t nbytes)
{
    return nbytes <= SMALL_MAX ? (int)((nbytes + 63) / 64) : -1;
}

static void stats_add(size_t nbytes)
{
    __atomic_add_fetch(&stat_allocations, 1, __ATOMIC_RELAXED);
    uint64_t live = __atomic_add_fetch(&stat_live, nbytes, __ATOMIC_RELAXED);
    /* a statistic: a racing update may lose a peak, never corrupt anything */
    if (live > __atomic_load_n(&stat_peak, __ATOMIC_RELAXED))
        __atomic_store_n(&stat_peak, live, __ATOMIC_RELAXED);
}

static kr_storage *storage_new(size_t nbytes, int zero)
{
    if (nbytes > (size_t)1 << 46) return NULL;
    kr_storage *s;
    int c = size_class(nbytes);
    if (c >= 0 && cache.head[c]) {
        s = cache.head[c];
        cache.head[c] = *(kr_storage **)s->data;
        cache.count[c]--;
        if (zero) memset(s->data, 0, nbytes);
    } else {
        /* One block: header, padding to a 64-byte boundary, then the data. */
        size_t cap = c >= 0 ? (size_t)c * 64 : nbytes;
        if (cap < sizeof(void *)) cap = sizeof(void *);
        size_t total = sizeof(kr_storage) + STORAGE_ALIGN + cap;
        unsigned char *block = zero ? calloc(1, total) : malloc(total);
        if (!block) return NULL;
        s = (kr_storage *)block;
        uintptr_t p = (uintptr_t)(block + sizeof(kr_storage));
        p = (p + STORAGE_ALIGN - 1) & ~(uintptr_t)(STORAGE_ALIGN - 1);
        s->data = (unsigned char *)p;
    }
    s->refs = 1;
    s->nbytes = nbytes;
    s->version = 0;
    s->stale_note = NULL;
    stats_add(nbytes);
    return s;
}

static void storage_unref(kr_storage *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        __atomic_sub_fetch(&stat_live, s->nbytes, __ATOMIC_RELAXED);
        int c = size_class(s->nbytes);
        if (c >= 0 && cache.count[c] < SMALL_KEEP) {
            *(kr_storage **)s->data = cache.head[c];
            cache.head[c] = s;
            cache.count[c]++;
            return;
        }
        free(s);
    }
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void set_contiguous_strides(kr_tensor *t)
{
    int64_t st = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        t->stride[d] = st;
        st *= t->size[d] > 0 ? t->size[d] : 1;
    }
}

/* At most 2^40 elements, counting only the non-zero sizes: then no element count, stride or
 * offset of a tensor or of any view of it can overflow int64_t, even when another size is 0
 * (an empty 0 x 2^62 x 2^62 tensor would overflow its strides). */
static const int64_t MAX_ELEMENTS = (int64_t)1 << 40;

static kr_status check_sizes(const char *op, int ndim, const int64_t *size)
{
    char sh[200];
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (size[d] < 0)
            return kr_fail(KR_EINVAL, "%s: size of dimension %d is negative (%lld)", op, d + 1,
                           (long long)size[d]);
        if (size[d] > 0 && n > MAX_ELEMENTS / size[d])
            return kr_fail(KR_ENOMEM, "%s: too many elements requested (%s)", op,
                           kr_shape_str(sh, sizeof sh, ndim, size));
        if (size[d] > 0) n *= size[d];
    }
    return KR_OK;
}

kr_status kr_tensor_alloc(const char *op, kr_tensor *t, kr_dtype dt, int ndim,
                          const int64_t *size, int zero)
{
    memset(t, 0, sizeof *t);
    if (dt != KR_F32 && dt != KR_F64 && dt != KR_U8)
        return kr_fail(KR_EINVAL, "%s: unknown dtype %d", op, dt);
    if (ndim < 0 || ndim > KR_MAXDIM)
        return kr_fail(KR_EINVAL, "%s: %d dimensions requested, at most %d are supported", op,
                       ndim, KR_MAXDIM);
    kr_status st = check_sizes(op, ndim, size);
    if (st) return st;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        n *= size[d];
        t->size[d] = size[d];
    }
    t->ndim = ndim;
    t->dtype = dt;
    set_contiguous_strides(t);
    t->storage = storage_new((size_t)n * kr_dtype_size(dt), zero);
    if (!t->storage) {
        return kr_fail(KR_ENOMEM, "%s: out of memory allocating %lld elements", op, (long long)n);
    }
    return KR_OK;
}

kr_status kr_tensor_empty(kr_tensor *t, kr_dtype dt, int ndim, const int64_t *size)
{
    return kr_tensor_alloc("tensor", t, dt, ndim, size, 0);
}

kr_status kr_tensor_zeros(kr_tensor *t, kr_dtype dt, int ndim, const int64_t *size)
{
    return kr_tensor_alloc("tensor", t, dt, ndim, size, 1);
}

void kr_tensor_renew(kr_tensor *t, const char *note)
{
    if (!t->storage) return;
    t->version = ++t->storage->version;
    t->storage->stale_note = note;
}

void kr_tensor_share(kr_tensor *dst, const kr_tensor *src)
{
    if (dst != src) *dst = *src;
    if (dst->storage) __atomic_add_fetch(&dst->storage->refs, 1, __ATOMIC_RELAXED);
}

void kr_tensor_release(kr_tensor *t)
{
    storage_unref(t->storage);
    t->storage = NULL;
}

/* ---- queries --------------------------------------------------------------------------- */

int64_t kr_numel(const kr_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->size[d];
    return n;
}

int kr_is_contiguous(const kr_tensor *t)
{
    /* an empty tensor has no element out of place (its strides are those of size-1 dims) */
    if (kr_numel(t) == 0) return 1;
    int64_t st = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != st) return 0;
        st *= t->size[d];
    }
    return 1;
}

int kr_same_shape(const kr_tensor *a, const kr_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->size[d] != b->size[d]) return 0;
    return 1;
}

char *kr_tensor_shape_str(const kr_tensor *t, char *buf, size_t bufsize)
{
    return kr_shape_str(buf, bufsize, t->ndim, t->size);
}

static int64_t offset_of(const kr_tensor *t, const int64_t *index)
{
    int64_t off = t->offset;
    for (int d = 0; d < t->ndim; d++) off += index[d] * t->stride[d];
    return off;
}

double kr_get(const kr_tensor *t, const int64_t *index)
{
    int64_t off = offset_of(t, index);
    if (t->dtype == KR_F32) return ((float *)t->storage->data)[off];
    if (t->dtype == KR_U8) return t->storage->data[off];
    return ((double *)t->storage->data)[off];
}

void kr_set(const kr_tensor *t, const int64_t *index, double value)
{
    int64_t off = offset_of(t, index);
    if (t->dtype == KR_F32)
        ((float *)t->storage->data)[off] = (float)value;
    else if (t->dtype == KR_U8)
        t->storage->data[off] = !(value > 0) ? 0 : value >= 255 ? 255 : (unsigned char)(value + 0.5);
    else
        ((double *)t->storage->data)[off] = value;
}

/* ---- views ----------------------------------------------------------------------------- */

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

static kr_status check_dim(const char *op, const kr_tensor *t, int dim)
{
    char sh[200];
    if (dim < 0 || dim >= t->ndim)
        return kr_fail(KR_EINVAL, "%s: dimension %d out of range for a %d-D tensor (%s)", op,
                       dim + 1, t->ndim, SHAPE(t, sh));
    return KR_OK;
}

kr_status kr_transpose(kr_tensor *dst, const kr_tensor *src, int d1, int d2)
{
    kr_status st;
    if ((st = check_dim("transpose", src, d1)) || (st = check_dim("transpose", src, d2)))
        return st;
    kr_tensor_share(dst, src);
    int64_t s = dst->size[d1], k = dst->stride[d1];
    dst->size[d1] = dst->size[d2];
    dst->stride[d1] = dst->stride[d2];
    dst->size[d2] = s;
    dst->stride[d2] = k;
    return KR_OK;
}

kr_status kr_narrow(kr_tensor *dst, const kr_tensor *src, int dim, int64_t start, int64_t len)
{
    char sh[200];
    kr_status st = check_dim("narrow", src, dim);
    if (st) return st;
    if (len < 0)
        return kr_fail(KR_EINVAL, "narrow: length %lld is negative (tensor is %s)", (long long)len,
                       SHAPE(src, sh));
    if (start < 0)
        return kr_fail(KR_EINVAL, "narrow: start %lld is negative (tensor is %s)",
                       (long long)start, SHAPE(src, sh));
    /* written so that a huge start or len cannot overflow (start + len could) */
    if (start > src->size[dim] || len > src->size[dim] - start)
        return kr_fail(KR_EINVAL,
                       "narrow: start %llu and length %lld exceed dimension %d of size %lld "
                       "(tensor is %s)",
                       (unsigned long long)start + 1, (long long)len, dim + 1,
                       (long long)src->size[dim], SHAPE(src, sh));
    kr_tensor_share(dst, src);
    dst->offset += start * src->stride[dim];
    dst->size[dim] = len;
    return KR_OK;
}

kr_status kr_select(kr_tensor *dst, const kr_tensor *src, int dim, int64_t index)
{
    char sh[200];
    kr_status st = check_dim("select", src, dim);
    if (st) return st;
    if (index < 0 || index >= src->size[dim])
        return kr_fail(KR_EINVAL,
                       "select: index %lld out of range 1..%lld in dimension %d (tensor is %s)",
                       (long long)index + 1, (long long)src->size[dim], dim + 1, SHAPE(src, sh));
    kr_tensor_share(dst, src);
    dst->offset += index * src->stride[dim];
    for (int d = dim; d < src->ndim - 1; d++) {
        dst->size[d] = src->size[d + 1];
        dst->stride[d] = src->stride[d + 1];
    }
    dst->ndim--;
    return KR_OK;
}

kr_status kr_reshape(kr_tensor *dst, const kr_tensor *src, int ndim, const int64_t *size)
{
    char sh[200], want[200];
    if (ndim < 0 || ndim > KR_MAXDIM)
        return kr_fail(KR_EINVAL, "reshape: %d dimensions requested, at most %d are supported",
                       ndim, KR_MAXDIM);
    int64_t newsize[KR_MAXDIM], known = 1, n = kr_numel(src);
    int infer = -1;
    for (int d = 0; d < ndim; d++) {
        newsize[d] = size[d];
        if (size[d] == -1) {
            if (infer >= 0) return kr_fail(KR_EINVAL, "reshape: only one size may be -1");
            infer = d;
        } else if (size[d] < 0) {
            return kr_fail(KR_EINVAL, "reshape: size %lld is negative", (long long)size[d]);
        }
    }
    /* the sizes without the inferred one must not overflow before they are multiplied */
    {
        int64_t given[KR_MAXDIM];
        for (int d = 0; d < ndim; d++) given[d] = d == infer ? 1 : size[d];
        kr_status st = check_sizes("reshape", ndim, given);
        if (st) return st;
        for (int d = 0; d < ndim; d++) known *= given[d];
    }
    if (infer >= 0) {
        if (known == 0 || n % known != 0)
            return kr_fail(KR_EINVAL, "reshape: cannot infer a size to reshape %lld elements (%s)",
                           (long long)n, SHAPE(src, sh));
        newsize[infer] = n / known;
        known *= newsize[infer];
    }
    if (known != n)
        return kr_fail(KR_EINVAL, "reshape: cannot reshape %s (%lld elements) into %s",
                       SHAPE(src, sh), (long long)n,
                       kr_shape_str(want, sizeof want, ndim, newsize));
    if (!kr_is_contiguous(src))
        return kr_fail(KR_EINVAL,
                       "reshape: tensor (%s) is not contiguous; call contiguous() first",
                       SHAPE(src, sh));
    kr_tensor_share(dst, src);
    dst->ndim = ndim;
    for (int d = 0; d < ndim; d++) dst->size[d] = newsize[d];
    set_contiguous_strides(dst);
    return KR_OK;
}

kr_status kr_broadcast_shape(const char *op, const kr_tensor *a, const kr_tensor *b, int *ndim,
                             int64_t *size)
{
    char sa[200], sb[200];
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int da = a->ndim - n + i, db = b->ndim - n + i;
        int64_t x = da >= 0 ? a->size[da] : 1, y = db >= 0 ? b->size[db] : 1;
        if (x != y && x != 1 && y != 1)
            return kr_fail(KR_EINVAL, "%s: shapes %s and %s cannot be broadcast together", op,
                           SHAPE(a, sa), SHAPE(b, sb));
        size[i] = x == 1 ? y : x;
    }
    *ndim = n;
    return KR_OK;
}

/* The broadcast view of src at size, as a plain header copy: no reference is taken, so it is
 * only for use while src is alive (the element-wise kernels below). */
static kr_status broadcast_view(kr_tensor *v, const kr_tensor *src, int ndim, const int64_t *size)
{
    char sa[200], sb[200];
    if (ndim < src->ndim || ndim > KR_MAXDIM)
        return kr_fail(KR_EINVAL, "expand: cannot expand %s to %d dimensions", SHAPE(src, sa),
                       ndim);
    *v = *src;
    for (int i = 0; i < ndim; i++) {
        int ds = src->ndim - ndim + i;
        int64_t s = ds >= 0 ? src->size[ds] : 1;
        if (s != size[i] && s != 1)
            return kr_fail(KR_EINVAL, "expand: shape %s cannot be broadcast to %s", SHAPE(src, sa),
                           kr_shape_str(sb, sizeof sb, ndim, size));
        v->size[i] = size[i];
        v->stride[i] = (ds >= 0 && s == size[i]) ? src->stride[ds] : 0;
    }
    v->ndim = ndim;
    return KR_OK;
}

kr_status kr_expand(kr_tensor *dst, const kr_tensor *src, int ndim, const int64_t *size)
{
    kr_tensor v;
    kr_status st = broadcast_view(&v, src, ndim, size);
    if (st) return st;
    kr_tensor_share(dst, &v);
    return KR_OK;
}

/* Element loops walk their operands with kr_walk (strided.h); ES8 and ES4 are the element
 * sizes of every operand of one dtype. */
static const size_t ES8[KR_WALK_MAXOPS] = {8, 8, 8, 8}, ES4[KR_WALK_MAXOPS] = {4, 4, 4, 4};

static int overlaps(const kr_tensor *out, const kr_tensor *in)
{
    return kr_overlap(out, in) == KR_OVERLAP;
}

/* ---- aliasing -------------------------------------------------------------------------- */

/* *use = in, or a fresh copy of in (held in tmp) when in overlaps out, so that A:add_(A:t())
 * or x[2..n] += x[1..n-1] read the inputs as they were before the operation, like NumPy.
 * tmp must be released by the caller either way. */
static kr_status unalias(const kr_tensor *out, const kr_tensor *in, kr_tensor *tmp,
                         const kr_tensor **use)
{
    tmp->storage = NULL;
    *use = in;
    if (!overlaps(out, in)) return KR_OK;
    kr_status st = kr_tensor_empty(tmp, in->dtype, in->ndim, in->size);
    if (st) return st;
    kr_copy_(tmp, in); /* tmp is new storage: no overlap, no recursion */
    *use = tmp;
    return KR_OK;
}

/* ---- element-wise kernels -------------------------------------------------------------- */

static inline double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* One strided loop per operation; the contiguous case is the same loop with literal unit
 * strides, so the compiler can vectorise it. */
#define BIN_LOOP(T, o, a, b, n, so, sa, sb, EXPR)                                               \
    do {                                                                                         \
        if ((so) == 1 && (sa) == 1 && (sb) == 1) {                                               \
            for (int64_t i = 0; i < (n); i++) {                                                  \
                T x = (a)[i], y = (b)[i];                                                        \
                (o)[i] = (EXPR);                                                                 \
            }                                                                                    \
        } else {                                                                                 \
            for (int64_t i = 0; i < (n); i++) {                                                  \
                T x = (a)[i * (sa)], y = (b)[i * (sb)];                                          \
                (o)[i * (so)] = (EXPR);                                                          \
            }                                                                                    \
        }                                                                                        \
    } while (0)

/* maximum and minimum propagate a NaN from either side, like NumPy's. */
#define BIN_KERNEL(NAME, T, POW)                                                    \
    static void NAME(T *o, const T *a, const T *b, int64_t n, int64_t so, int64_t sa,          \
                     int64_t sb, kr_binop op)                                                    \
    {                                                                                            \
        switch (op) {                                                                            \
        case KR_ADD: BIN_LOOP(T, o, a, b, n, so, sa, sb, x + y); break;                          \
        case KR_SUB: BIN_LOOP(T, o, a, b, n, so, sa, sb, x - y); break;                          \
        case KR_MUL: BIN_LOOP(T, o, a, b, n, so, sa, sb, x * y); break;                          \
        case KR_DIV: BIN_LOOP(T, o, a, b, n, so, sa, sb, x / y); break;                          \
        case KR_POW: BIN_LOOP(T, o, a, b, n, so, sa, sb, POW(x, y)); break;                      \
        case KR_MAX: BIN_LOOP(T, o, a, b, n, so, sa, sb, (x != x || x >= y) ? x : y); break;     \
        case KR_MIN: BIN_LOOP(T, o, a, b, n, so, sa, sb, (x != x || x <= y) ? x : y); break;     \
        }                                                                                        \
    }

BIN_KERNEL(bin_f64, double, pow)
BIN_KERNEL(bin_f32, float, powf)

static kr_status check_out(const char *op, const kr_tensor *out, int ndim, const int64_t *size,
                           kr_dtype dt)
{
    char so[200], sw[200];
    kr_status st = kr_refuse_u8(op, out);
    if (st) return st;
    if (out->dtype != dt)
        return kr_fail(KR_EINVAL, "%s: out is %s, operands are %s", op, kr_dtype_name(out->dtype),
                       kr_dtype_name(dt));
    int same = out->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = out->size[d] == size[d];
    if (!same)
        return kr_fail(KR_EINVAL, "%s: out is %s, the result is %s", op, SHAPE(out, so),
                       kr_shape_str(sw, sizeof sw, ndim, size));
    return KR_OK;
}

static kr_status check_dtypes(const char *op, const kr_tensor *a, const kr_tensor *b)
{
    if (a->dtype != b->dtype)
        return kr_fail(KR_EINVAL, "%s: dtypes differ (%s and %s); convert one with to()", op,
                       kr_dtype_name(a->dtype), kr_dtype_name(b->dtype));
    return KR_OK;
}

/* out = x op y elementwise: three operands of out's shape and dtype (x and y broadcast views
 * that do not partly overlap out). */
static void bin_apply(const kr_tensor *out, const kr_tensor *x, const kr_tensor *y, kr_binop op)
{
    const kr_tensor *ops[3] = {out, x, y};
    kr_walk it;
    kr_walk_init(&it, 3, ops);
    unsigned char *base[3] = {kr_data(out), kr_data(x), kr_data(y)};
    int in = it.ndim - 1;
    if (out->dtype == KR_F64)
        KR_WALK(it, base, ES8,
                  bin_f64((double *)kr_p[0], (double *)kr_p[1], (double *)kr_p[2], kr_n, it.stride[0][in],
                          it.stride[1][in], it.stride[2][in], op));
    else
        KR_WALK(it, base, ES4,
                  bin_f32((float *)kr_p[0], (float *)kr_p[1], (float *)kr_p[2], kr_n, it.stride[0][in],
                          it.stride[1][in], it.stride[2][in], op));
}

/* out = a op b, out already checked against the broadcast shape (ndim, size); fresh: out is
 * new storage, so it is contiguous and overlaps neither input. */
static kr_status bin_compute(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, int ndim,
                             const int64_t *size, kr_binop bop, int fresh)
{
    int64_t n = kr_numel(out);
    if (n == 0) return KR_OK;
    /* The common case, three contiguous operands of one shape that do not partly overlap,
     * is one kernel call: small operations are dominated by the set-up below otherwise. */
    if (kr_same_shape(a, out) && kr_same_shape(b, out) && kr_is_contiguous(a) &&
        kr_is_contiguous(b) &&
        (fresh || (kr_is_contiguous(out) && !overlaps(out, a) && !overlaps(out, b)))) {
        if (a->dtype == KR_F64)
            bin_f64(kr_data(out), kr_data(a), kr_data(b), n, 1, 1, 1, bop);
        else
            bin_f32(kr_data(out), kr_data(a), kr_data(b), n, 1, 1, 1, bop);
        return KR_OK;
    }
    kr_tensor ta, tb, va, vb;
    const kr_tensor *ua, *ub;
    kr_status st;
    tb.storage = NULL;
    if ((st = unalias(out, a, &ta, &ua)) || (st = unalias(out, b, &tb, &ub)) ||
        (st = broadcast_view(&va, ua, ndim, size)) || (st = broadcast_view(&vb, ub, ndim, size)))
        goto done;
    bin_apply(out, &va, &vb, bop);
done:
    kr_tensor_release(&ta);
    kr_tensor_release(&tb);
    return st;
}

static kr_status binary_into(const char *op, kr_tensor *out, const kr_tensor *a,
                             const kr_tensor *b, kr_binop bop)
{
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_status st;
    if ((st = kr_binary_check(op, a, b, &ndim, size)) ||
        (st = check_out(op, out, ndim, size, a->dtype)))
        return st;
    return bin_compute(out, a, b, ndim, size, bop, 0);
}

static const char *binop_name(kr_binop op)
{
    static const char *names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};
    return names[op];
}

kr_status kr_binary_check(const char *op, const kr_tensor *a, const kr_tensor *b, int *ndim,
                          int64_t *size)
{
    kr_status st = check_dtypes(op, a, b);
    return st ? st : kr_broadcast_shape(op, a, b, ndim, size);
}

kr_status kr_binary(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_binop op)
{
    return binary_into(binop_name(op), out, a, b, op);
}

/* The operands are checked once and out is fresh (contiguous, overlapping nothing), so a + b
 * on small tensors pays for no check twice: that set-up was a quarter of its cost. */
kr_status kr_binary_new(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_binop op)
{
    const char *name = binop_name(op);
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_status st;
    if ((st = kr_refuse_u8(name, a)) || (st = kr_binary_check(name, a, b, &ndim, size)) ||
        (st = kr_tensor_alloc(name, out, a->dtype, ndim, size, 0)))
        return st;
    if ((st = bin_compute(out, a, b, ndim, size, op, 1))) kr_tensor_release(out);
    return st;
}

kr_status kr_binary_scalar(kr_tensor *out, const kr_tensor *a, double s, kr_binop op,
                           int scalar_first)
{
    kr_status st = check_out(binop_name(op), out, a->ndim, a->size, a->dtype);
    if (st) return st;
    if (kr_numel(a) == 0) return KR_OK;
    kr_tensor ta;
    if ((st = unalias(out, a, &ta, &a))) return st;
    /* A 0-stride view of one stack value stands for the scalar, so one kernel serves both. */
    double sd = s;
    float sf = (float)s;
    kr_storage fake = {.refs = 1, .nbytes = 8,
                       .data = a->dtype == KR_F64 ? (unsigned char *)&sd : (unsigned char *)&sf};
    kr_tensor vs = *a;
    vs.storage = &fake;
    vs.offset = 0;
    for (int d = 0; d < vs.ndim; d++) vs.stride[d] = 0;
    bin_apply(out, scalar_first ? &vs : a, scalar_first ? a : &vs, op);
    kr_tensor_release(&ta);
    return KR_OK;
}

#define UN_LOOP(T, o, a, n, so, sa, EXPR)                                                       \
    do {                                                                                         \
        if ((so) == 1 && (sa) == 1) {                                                           \
            for (int64_t i = 0; i < (n); i++) {                                                  \
                T x = (a)[i];                                                                    \
                (o)[i] = (EXPR);                                                                 \
            }                                                                                    \
        } else {                                                                                 \
            for (int64_t i = 0; i < (n); i++) {                                                  \
                T x = (a)[i * (sa)];                                                             \
                (o)[i * (so)] = (EXPR);                                                          \
            }                                                                                    \
        }                                                                                        \
    } while (0)

#define UN_KERNEL(NAME, T, EXP, LOG, SQRT, FABS, TANH)                                          \
    static void NAME(T *o, const T *a, int64_t n, int64_t so, int64_t sa, kr_unop op)           \
    {                                                                                            \
        switch (op) {                                                                            \
        case KR_NEG: UN_LOOP(T, o, a, n, so, sa, -x); break;                                     \
        case KR_EXP: UN_LOOP(T, o, a, n, so, sa, EXP(x)); break;                                 \
        case KR_LOG: UN_LOOP(T, o, a, n, so, sa, LOG(x)); break;                                 \
        case KR_SQRT: UN_LOOP(T, o, a, n, so, sa, SQRT(x)); break;                               \
        case KR_ABS: UN_LOOP(T, o, a, n, so, sa, FABS(x)); break;                                \
        case KR_TANH: UN_LOOP(T, o, a, n, so, sa, TANH(x)); break;                               \
        case KR_SIGMOID: UN_LOOP(T, o, a, n, so, sa, (T)sigmoid(x)); break;                      \
        case KR_RELU: UN_LOOP(T, o, a, n, so, sa, x <= 0 ? (T)0 : x); break; /* NaN stays */      \
        case KR_SQUARE: UN_LOOP(T, o, a, n, so, sa, x * x); break;                               \
        case KR_SIGN: UN_LOOP(T, o, a, n, so, sa, x != x ? x : (T)((x > 0) - (x < 0))); break;   \
        }                                                                                        \
    }

UN_KERNEL(un_f64, double, exp, log, sqrt, fabs, tanh)
UN_KERNEL(un_f32, float, expf, logf, sqrtf, fabsf, tanhf)

kr_status kr_unary(kr_tensor *out, const kr_tensor *a, kr_unop op)
{
    kr_status st = check_out("unary", out, a->ndim, a->size, a->dtype);
    if (st) return st;
    if (kr_numel(a) == 0) return KR_OK;
    kr_tensor ta;
    if ((st = unalias(out, a, &ta, &a))) return st;
    const kr_tensor *ops[2] = {out, a};
    kr_walk it;
    kr_walk_init(&it, 2, ops);
    unsigned char *base[3] = {kr_data(out), kr_data(a), NULL};
    int in = it.ndim - 1;
    if (a->dtype == KR_F64)
        KR_WALK(it, base, ES8,
                  un_f64((double *)kr_p[0], (double *)kr_p[1], kr_n, it.stride[0][in], it.stride[1][in],
                         op));
    else
        KR_WALK(it, base, ES4,
                  un_f32((float *)kr_p[0], (float *)kr_p[1], kr_n, it.stride[0][in], it.stride[1][in],
                         op));
    kr_tensor_release(&ta);
    return KR_OK;
}

static kr_status check_into(const char *op, const kr_tensor *a, const kr_tensor *b)
{
    char sa[200], sb[200];
    int ndim;
    int64_t size[KR_MAXDIM];
    kr_status st = kr_broadcast_shape(op, a, b, &ndim, size);
    if (st || (st = kr_refuse_u8(op, a)) || (st = kr_refuse_u8(op, b))) return st;
    int same = ndim == a->ndim;
    for (int d = 0; same && d < ndim; d++) same = size[d] == a->size[d];
    if (!same)
        return kr_fail(KR_EINVAL, "%s: %s cannot be broadcast into %s", op, SHAPE(b, sb),
                       SHAPE(a, sa));
    return KR_OK;
}

/* The set-up of a op= b (after check_into): b, or a copy of it in *tmp when it overlaps a
 * (release *tmp afterwards), broadcast to a's shape in *view; *it walks a and *view. */
static kr_status into_setup(const kr_tensor *a, const kr_tensor *b, kr_tensor *tmp,
                            kr_tensor *view, kr_walk *it)
{
    kr_status st = unalias(a, b, tmp, &b);
    if (st) return st;
    if ((st = broadcast_view(view, b, a->ndim, a->size))) {
        kr_tensor_release(tmp);
        return st;
    }
    const kr_tensor *ops[2] = {a, view};
    kr_walk_init(it, 2, ops);
    return KR_OK;
}

kr_status kr_inplace_check(const char *op, const kr_tensor *a, const kr_tensor *b)
{
    kr_status st = check_dtypes(op, a, b);
    return st ? st : check_into(op, a, b);
}

kr_status kr_add_(kr_tensor *a, const kr_tensor *b, double alpha)
{
    kr_status st;
    if ((st = check_dtypes("add_", a, b)) || (st = check_into("add_", a, b))) return st;
    if (kr_numel(a) == 0) return KR_OK;
    kr_tensor tb, vb;
    kr_walk it;
    if ((st = into_setup(a, b, &tb, &vb, &it))) return st;
    unsigned char *base[3] = {kr_data(a), kr_data(&vb), NULL};
    int in = it.ndim - 1;
    int64_t sa = it.stride[0][in], sb = it.stride[1][in];
    if (a->dtype == KR_F64) {
        KR_WALK(it, base, ES8, {
            double *x = (double *)kr_p[0];
            const double *y = (const double *)kr_p[1];
            if (sa == 1 && sb == 1)
                for (int64_t i = 0; i < kr_n; i++) x[i] += alpha * y[i];
            else
                for (int64_t i = 0; i < kr_n; i++) x[i * sa] += alpha * y[i * sb];
        });
    } else {
        float al = (float)alpha;
        KR_WALK(it, base, ES4, {
            float *x = (float *)kr_p[0];
            const float *y = (const float *)kr_p[1];
            if (sa == 1 && sb == 1)
                for (int64_t i = 0; i < kr_n; i++) x[i] += al * y[i];
            else
                for (int64_t i = 0; i < kr_n; i++) x[i * sa] += al * y[i * sb];
        });
    }
    kr_tensor_release(&tb);
    return KR_OK;
}

kr_status kr_fill_(kr_tensor *a, double value)
{
    kr_status st = kr_refuse_u8("fill_", a);
    if (st) return st;
    if (kr_numel(a) == 0) return KR_OK;
    const kr_tensor *ops[1] = {a};
    kr_walk it;
    kr_walk_init(&it, 1, ops);
    unsigned char *base[3] = {kr_data(a), NULL, NULL};
    int64_t s = it.stride[0][it.ndim - 1];
    if (a->dtype == KR_F64)
        KR_WALK(it, base, ES8, {
            double *x = (double *)kr_p[0];
            for (int64_t i = 0; i < kr_n; i++) x[i * s] = value;
        });
    else
        KR_WALK(it, base, ES4, {
            float *x = (float *)kr_p[0];
            for (int64_t i = 0; i < kr_n; i++) x[i * s] = (float)value;
        });
    return KR_OK;
}

/* A conversion (or a strided copy) of run after run: x[i sa] = y[i sb]. */
#define CONVERT_LOOP(TO, FROM)                                                                  \
    KR_WALK(it, base, es, {                                                                      \
        TO *x = (TO *)kr_p[0];                                                                   \
        const FROM *y = (const FROM *)kr_p[1];                                                   \
        for (int64_t i = 0; i < kr_n; i++) x[i * sa] = (TO)y[i * sb];                            \
    })

kr_status kr_copy_(kr_tensor *a, const kr_tensor *b)
{
    if (a->dtype == KR_U8 || b->dtype == KR_U8) return kr_copy_u8(a, b);
    kr_status st = check_into("copy_", a, b);
    if (st) return st;
    if (kr_numel(a) == 0) return KR_OK;
    kr_tensor tb, vb;
    kr_walk it;
    if ((st = into_setup(a, b, &tb, &vb, &it))) return st;
    unsigned char *base[3] = {kr_data(a), kr_data(&vb), NULL};
    int in = it.ndim - 1;
    int64_t sa = it.stride[0][in], sb = it.stride[1][in];
    size_t ea = kr_dtype_size(a->dtype);
    const size_t es[KR_WALK_MAXOPS] = {ea, kr_dtype_size(b->dtype), 0, 0};
    if (a->dtype == b->dtype && sa == 1 && sb == 1)
        KR_WALK(it, base, es, memcpy(kr_p[0], kr_p[1], (size_t)kr_n * ea));
    else if (a->dtype == KR_F64 && b->dtype == KR_F64)
        CONVERT_LOOP(double, double);
    else if (a->dtype == KR_F32 && b->dtype == KR_F32)
        CONVERT_LOOP(float, float);
    else if (a->dtype == KR_F64)
        CONVERT_LOOP(double, float);
    else
        CONVERT_LOOP(float, double);
    kr_tensor_release(&tb);
    return KR_OK;
}

/* ---- reductions ------------------------------------------------------------------------ */

/* A reduction fed run after run, in the order of the elements (so a strided tensor gives the
 * very result of its contiguous copy).  Sums accumulate in double for both dtypes. */
typedef struct reducer {
    kr_reduce op;
    double acc, best;
    int64_t i, bi; /* elements seen; index of the best one */
} reducer;

static void reduce_start(reducer *r, kr_reduce op)
{
    r->op = op;
    r->acc = r->best = 0;
    r->i = r->bi = 0;
}

/* The loop of reduce_feed for element type T, on locals (p may alias anything: through *r
 * the compiler would store every step). */
#define REDUCE_LOOP(T)                                                                          \
    do {                                                                                         \
        const T *x_ = (const T *)p;                                                              \
        switch (r->op) {                                                                         \
        case KR_RSUM:                                                                            \
        case KR_RMEAN:                                                                           \
            for (int64_t k = 0; k < n; k++) acc += x_[k * s];                                    \
            break;                                                                               \
        case KR_RMAX:                                                                            \
        case KR_RARGMAX:                                                                         \
            for (int64_t k = 0; k < n; k++, i++) {                                               \
                double x = x_[k * s];                                                            \
                if (i == 0 || x > best || (x != x && best == best)) { best = x; bi = i; }        \
            }                                                                                    \
            break;                                                                               \
        case KR_RMIN:                                                                            \
        case KR_RARGMIN:                                                                         \
            for (int64_t k = 0; k < n; k++, i++) {                                               \
                double x = x_[k * s];                                                            \
                if (i == 0 || x < best || (x != x && best == best)) { best = x; bi = i; }        \
            }                                                                                    \
            break;                                                                               \
        }                                                                                        \
    } while (0)

/* Feeds n elements at p with stride s. */
static void reduce_feed(reducer *r, const unsigned char *p, kr_dtype dt, int64_t n, int64_t s)
{
    double acc = r->acc, best = r->best;
    int64_t i = r->i, bi = r->bi;
    if (dt == KR_F64)
        REDUCE_LOOP(double);
    else
        REDUCE_LOOP(float);
    if (r->op == KR_RSUM || r->op == KR_RMEAN) i += n;
    r->acc = acc;
    r->best = best;
    r->i = i;
    r->bi = bi;
}

static double reduce_result(const reducer *r)
{
    if (r->op == KR_RSUM) return r->acc;
    if (r->op == KR_RMEAN) return r->i ? r->acc / (double)r->i : NAN;
    if (r->op == KR_RARGMAX || r->op == KR_RARGMIN) return (double)r->bi;
    return r->best;
}

static const char *reduce_name(kr_reduce op)
{
    static const char *names[] = {"sum", "mean", "max", "min", "argmax", "argmin"};
    return names[op];
}

kr_status kr_reduce_all(const kr_tensor *a, kr_reduce op, double *result)
{
    kr_status st0 = kr_refuse_u8(reduce_name(op), a);
    if (st0) return st0;
    int64_t n = kr_numel(a);
    if (n == 0) {
        if (op == KR_RSUM) { *result = 0; return KR_OK; }
        return kr_fail(KR_EINVAL, "%s: the tensor is empty", reduce_name(op));
    }
    const kr_tensor *ops[1] = {a};
    kr_walk it;
    kr_walk_init(&it, 1, ops);
    unsigned char *base[1] = {kr_data(a)};
    const size_t es[KR_WALK_MAXOPS] = {kr_dtype_size(a->dtype), 0, 0, 0};
    int64_t s = KR_WALK_STRIDE(it, 0);
    reducer r;
    reduce_start(&r, op);
    KR_WALK(it, base, es, reduce_feed(&r, kr_p[0], a->dtype, kr_n, s));
    *result = reduce_result(&r);
    return KR_OK;
}

kr_status kr_reduce_dim(kr_tensor *out, const kr_tensor *a, int dim, kr_reduce op)
{
    char so[200], sa[200];
    kr_status st = check_dim(reduce_name(op), a, dim);
    if (st || (st = kr_refuse_u8(reduce_name(op), a))) return st;
    if (a->size[dim] == 0 && op != KR_RSUM)
        return kr_fail(KR_EINVAL, "%s: dimension %d of %s is empty", reduce_name(op), dim + 1,
                       SHAPE(a, sa));
    /* out's shape is a's without dim; view a with dim moved last, then walk out. */
    kr_tensor rest = *a;
    for (int d = dim; d < a->ndim - 1; d++) {
        rest.size[d] = a->size[d + 1];
        rest.stride[d] = a->stride[d + 1];
    }
    rest.ndim--;
    int same = out->ndim == rest.ndim && out->dtype == a->dtype;
    for (int d = 0; same && d < rest.ndim; d++) same = out->size[d] == rest.size[d];
    if (!same)
        return kr_fail(KR_EINVAL, "%s: out is %s %s, expected %s %s", reduce_name(op),
                       kr_dtype_name(out->dtype),
                       SHAPE(out, so), kr_dtype_name(a->dtype), SHAPE(&rest, sa));
    if (kr_numel(out) == 0) return KR_OK;
    /* walk out and the rest of a together; each element of out reduces a's run along dim */
    int64_t n = a->size[dim], s = a->stride[dim];
    const size_t ea = kr_dtype_size(a->dtype);
    const kr_tensor *ops[2] = {out, &rest};
    kr_walk it;
    kr_walk_init(&it, 2, ops);
    unsigned char *base[2] = {kr_data(out), kr_data(a)};
    const size_t es[KR_WALK_MAXOPS] = {ea, ea, 0, 0};
    int64_t sout = KR_WALK_STRIDE(it, 0), sr = KR_WALK_STRIDE(it, 1);
    KR_WALK(it, base, es, {
        for (int64_t k = 0; k < kr_n; k++) {
            reducer r;
            reduce_start(&r, op);
            reduce_feed(&r, kr_p[1] + k * sr * (int64_t)ea, a->dtype, n, s);
            double v = reduce_result(&r);
            if (out->dtype == KR_F64)
                ((double *)kr_p[0])[k * sout] = v;
            else
                ((float *)kr_p[0])[k * sout] = (float)v;
        }
    });
    return KR_OK;
}

/* The scaled sum of squares of kr_norm, fed one element at a time. */
typedef struct norm_acc {
    double scale, ssq;
    int infinite, nan;
} norm_acc;

static void norm_feed(norm_acc *acc, double x)
{
    x = fabs(x);
    if (isinf(x)) {
        acc->infinite = 1;
    } else if (x > 0) {
        if (acc->scale < x) {
            acc->ssq = 1 + acc->ssq * (acc->scale / x) * (acc->scale / x);
            acc->scale = x;
        } else {
            acc->ssq += (x / acc->scale) * (x / acc->scale);
        }
    } else if (x != x) {
        acc->nan = 1;
    }
}

double kr_norm(const kr_tensor *a)
{
    /* scaled sum of squares, so huge or tiny entries neither overflow nor underflow; an
     * infinity makes the norm infinite (inf/inf in the scaling would give NaN), a NaN wins */
    norm_acc acc = {0, 1, 0, 0};
    if (kr_numel(a) == 0) return 0;
    const kr_tensor *ops[1] = {a};
    kr_walk it;
    kr_walk_init(&it, 1, ops);
    unsigned char *base[1] = {kr_data(a)};
    const size_t es[KR_WALK_MAXOPS] = {kr_dtype_size(a->dtype), 0, 0, 0};
    int64_t s = KR_WALK_STRIDE(it, 0);
    if (a->dtype == KR_F64)
        KR_WALK(it, base, es, {
            const double *x = (const double *)kr_p[0];
            for (int64_t k = 0; k < kr_n && !acc.nan; k++) norm_feed(&acc, x[k * s]);
        });
    else
        KR_WALK(it, base, es, {
            const float *x = (const float *)kr_p[0];
            for (int64_t k = 0; k < kr_n && !acc.nan; k++) norm_feed(&acc, x[k * s]);
        });
    if (acc.nan) return NAN;
    return acc.infinite ? INFINITY : acc.scale * sqrt(acc.ssq);
}
