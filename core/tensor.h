/* Dense tensors: float64 or float32, up to KR_MAXDIM dimensions, strided views over shared,
 * reference-counted storage.
 *
 * A kr_tensor is a small header that callers embed where they like (the Lua binding keeps it in
 * a userdata).  Every header that is initialised holds one reference to its storage and must be
 * released with kr_tensor_release().  Sizes and strides count elements, not bytes; strides may
 * be zero (broadcast) but never negative.  Indices are 0-based here; the Lua side adds one. */
#ifndef KR_TENSOR_H
#define KR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define KR_MAXDIM 8

/* KR_U8 holds 8-bit data (images) as bytes: views, get/set, copy_ (to and from the float dtypes,
 * core/u8.c) and gathering batches take it; arithmetic, reductions and products refuse it
 * (kr_refuse_u8), so the float kernels never see it. */
typedef enum kr_dtype { KR_F64 = 0, KR_F32 = 1, KR_U8 = 2 } kr_dtype;

typedef struct kr_storage {
    long refs;
    size_t nbytes;
    unsigned char *data; /* 64-byte aligned, in the same allocation as this header */
    uint64_t version;    /* bumped by kr_tensor_renew when kairo reuses the storage */
    const char *stale_note; /* why older headers are stale (a static string), or NULL */
} kr_storage;

typedef struct kr_tensor {
    kr_storage *storage; /* NULL once released */
    int64_t offset;      /* first element, in elements from storage->data */
    kr_dtype dtype;
    int ndim;
    int64_t size[KR_MAXDIM];
    int64_t stride[KR_MAXDIM];
    uint64_t version;    /* storage->version when this header (or the one it was copied from)
                          * was made: an older one is stale, see kr_tensor_renew */
} kr_tensor;

/* ---- dtypes ---------------------------------------------------------------------------- */
size_t kr_dtype_size(kr_dtype dt);
const char *kr_dtype_name(kr_dtype dt); /* "float64", "float32", "uint8" */
/* KR_OK for a float tensor; for a uint8 one, an error naming op that points to a conversion. */
kr_status kr_refuse_u8(const char *op, const kr_tensor *t);

/* ---- allocation statistics (for tests that a hot loop allocates nothing) ---------------- */
typedef struct kr_alloc_stats {
    uint64_t allocations;  /* storages allocated since the process started */
    uint64_t live_bytes;   /* bytes held by live storages */
    uint64_t peak_bytes;
} kr_alloc_stats;
kr_alloc_stats kr_alloc_stats_get(void);

/* ---- life cycle ------------------------------------------------------------------------ */
/* New contiguous tensor; kr_tensor_zeros fills with 0, kr_tensor_empty leaves it undefined.
 * Their messages start "tensor: "; kr_tensor_alloc is either (zero = 1: zeros), with messages
 * that start with op, the operation that asked ("zeros: too many elements requested (...)"). */
kr_status kr_tensor_alloc(const char *op, kr_tensor *t, kr_dtype dt, int ndim,
                          const int64_t *size, int zero);
kr_status kr_tensor_empty(kr_tensor *t, kr_dtype dt, int ndim, const int64_t *size);
kr_status kr_tensor_zeros(kr_tensor *t, kr_dtype dt, int ndim, const int64_t *size);
/* dst becomes another header on src's storage (a view of all of it). */
void kr_tensor_share(kr_tensor *dst, const kr_tensor *src);
void kr_tensor_release(kr_tensor *t);

/* Stale views.  A workspace kairo hands out and later overwrites (the MLP's output and input
 * gradient, the batch buffers) is renewed first: kr_tensor_renew(t, note) bumps the version of
 * t's storage and gives t the new one, so every other header on that storage made before
 * (what was handed out, and the views the user made of it) is stale from then on; note (a
 * static string) says why, for the message the binding raises when a stale header is used.
 * Headers made afterwards from t (views, kr_tensor_share) carry the new version.  Storage
 * that is never renewed stays at version 0, so ordinary tensors are never stale. */
void kr_tensor_renew(kr_tensor *t, const char *note);
static inline int kr_is_stale(const kr_tensor *t)
{
    return t->storage && t->version != t->storage->version;
}

/* ---- queries --------------------------------------------------------------------------- */
int64_t kr_numel(const kr_tensor *t);
int kr_is_contiguous(const kr_tensor *t);
int kr_same_shape(const kr_tensor *a, const kr_tensor *b);
static inline void *kr_data(const kr_tensor *t)
{
    return t->storage->data + (size_t)t->offset * kr_dtype_size(t->dtype);
}
/* "3x4" into buf (at least 8*21 bytes is always enough). */
char *kr_tensor_shape_str(const kr_tensor *t, char *buf, size_t bufsize);
double kr_get(const kr_tensor *t, const int64_t *index);
void kr_set(const kr_tensor *t, const int64_t *index, double value);

/* ---- views (dst is initialised as a new header sharing src's storage) ------------------ */
kr_status kr_transpose(kr_tensor *dst, const kr_tensor *src, int dim1, int dim2);
kr_status kr_narrow(kr_tensor *dst, const kr_tensor *src, int dim, int64_t start, int64_t len);
kr_status kr_select(kr_tensor *dst, const kr_tensor *src, int dim, int64_t index);
/* Requires contiguous src; one size may be -1 (inferred). */
kr_status kr_reshape(kr_tensor *dst, const kr_tensor *src, int ndim, const int64_t *size);
/* A view of src with size `size` by broadcasting (stride 0 where src has size 1 or lacks dims). */
kr_status kr_expand(kr_tensor *dst, const kr_tensor *src, int ndim, const int64_t *size);

/* ---- broadcasting ---------------------------------------------------------------------- */
/* NumPy's rule: align trailing dimensions, sizes must match or be 1. */
kr_status kr_broadcast_shape(const char *op, const kr_tensor *a, const kr_tensor *b,
                             int *ndim, int64_t *size);

/* ---- element-wise (out may alias an input when shapes agree; out has the broadcast shape) */
typedef enum kr_binop { KR_ADD, KR_SUB, KR_MUL, KR_DIV, KR_POW, KR_MAX, KR_MIN } kr_binop;
typedef enum kr_unop {
    KR_NEG, KR_EXP, KR_LOG, KR_SQRT, KR_ABS, KR_TANH, KR_SIGMOID, KR_RELU, KR_SQUARE, KR_SIGN
} kr_unop;

kr_status kr_binary(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_binop op);
/* The checks of kr_binary without the operation, named op in messages: a and b share a dtype
 * and broadcast together; sets the result's shape (ndim, size).  For callers that allocate
 * the result first. */
kr_status kr_binary_check(const char *op, const kr_tensor *a, const kr_tensor *b, int *ndim,
                          int64_t *size);
/* out = a op b into a new tensor: out is an uninitialised header, as for kr_tensor_alloc, and
 * holds the result on KR_OK (nothing on failure). */
kr_status kr_binary_new(kr_tensor *out, const kr_tensor *a, const kr_tensor *b, kr_binop op);
/* out = a op s, or s op a when scalar_first (for s - a, s / a, s ^ a). */
kr_status kr_binary_scalar(kr_tensor *out, const kr_tensor *a, double s, kr_binop op,
                           int scalar_first);
kr_status kr_unary(kr_tensor *out, const kr_tensor *a, kr_unop op);
/* The checks of a op= b, named op in messages: a and b share a dtype and b broadcasts to a's
 * shape (kr_add_ makes them; kr_binary(a, a, b, op) needs them to keep a's shape). */
kr_status kr_inplace_check(const char *op, const kr_tensor *a, const kr_tensor *b);
/* a += alpha * b, b broadcast to a's shape. */
kr_status kr_add_(kr_tensor *a, const kr_tensor *b, double alpha);
kr_status kr_fill_(kr_tensor *a, double value);
/* a = b, b broadcast to a's shape, converting dtype.  Into uint8: rounded to the nearest
 * integer and clamped to 0..255 (NaN gives 0). */
kr_status kr_copy_(kr_tensor *a, const kr_tensor *b);
/* kr_copy_ where a or b is uint8 (core/u8.c; kr_copy_ calls it). */
kr_status kr_copy_u8(kr_tensor *a, const kr_tensor *b);

/* ---- reductions ------------------------------------------------------------------------ */
typedef enum kr_reduce { KR_RSUM, KR_RMEAN, KR_RMAX, KR_RMIN, KR_RARGMAX, KR_RARGMIN } kr_reduce;
/* Over all elements (argmax gives a 0-based flat index). */
kr_status kr_reduce_all(const kr_tensor *a, kr_reduce op, double *result);
/* Over dimension dim; out has a's shape without dim (argmax gives 0-based indices). */
kr_status kr_reduce_dim(kr_tensor *out, const kr_tensor *a, int dim, kr_reduce op);
double kr_norm(const kr_tensor *a); /* Frobenius */

#endif
