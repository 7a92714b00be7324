/* Strided tensors: the one way the core walks them, and the one test of whether two of them
 * share memory.  Used by every element loop (tensor.c's kernels and reductions, kr_norm,
 * optim.c, loss.c) and by every check of an output against its inputs. */
#ifndef KR_STRIDED_H
#define KR_STRIDED_H

#include "tensor.h"

#define KR_WALK_MAXOPS 4

/* Up to KR_WALK_MAXOPS operands of one logical shape (that of ops[0]; the others are views of
 * it: same sizes, any strides, 0 for a broadcast dimension), walked as an outer odometer over
 * runs along the innermost dimension.  Size-1 dimensions are dropped and adjacent dimensions
 * that are contiguous in every operand are merged first, so contiguous operands (or a
 * broadcast row) become one long run.  A scalar or empty shape walks one run of its numel. */
typedef struct kr_walk {
    int ndim, nops;
    int64_t size[KR_MAXDIM];
    int64_t stride[KR_WALK_MAXOPS][KR_MAXDIM]; /* in elements */
} kr_walk;

/* Sets up w over ops[0..nops-1] (1 <= nops <= KR_WALK_MAXOPS). */
void kr_walk_init(kr_walk *w, int nops, const kr_tensor *const *ops);

/* The inner stride of operand o (in elements). */
#define KR_WALK_STRIDE(w, o) ((w).stride[o][(w).ndim - 1])

/* Runs the body (the last argument; commas allowed) once per inner run of w.  base[o] is operand o's first element (kr_data) and
 * esize[o] its element size in bytes; inside BODY, kr_p[o] (unsigned char *) is the run's first
 * element of operand o, kr_n its length and kr_done the number of elements walked before it
 * (the run's position in a contiguous tensor of the same shape). */
#define KR_WALK(w, base, esize, ...)                                                           \
    do {                                                                                         \
        int64_t kr_idx_[KR_MAXDIM] = {0}, kr_done = 0;                                           \
        const int kr_inner_ = (w).ndim - 1;                                                      \
        const int64_t kr_n = (w).size[kr_inner_];                                                \
        for (;;) {                                                                               \
            unsigned char *kr_p[KR_WALK_MAXOPS] = {0};                                           \
            for (int kr_o_ = 0; kr_o_ < (w).nops; kr_o_++) {                                     \
                int64_t kr_off_ = 0;                                                             \
                for (int kr_d_ = 0; kr_d_ < kr_inner_; kr_d_++)                                  \
                    kr_off_ += kr_idx_[kr_d_] * (w).stride[kr_o_][kr_d_];                        \
                kr_p[kr_o_] = (unsigned char *)(base)[kr_o_] + kr_off_ * (int64_t)(esize)[kr_o_]; \
            }                                                                                    \
            __VA_ARGS__;                                                                         \
            kr_done += kr_n;                                                                     \
            int kr_d_ = kr_inner_ - 1;                                                           \
            while (kr_d_ >= 0 && ++kr_idx_[kr_d_] == (w).size[kr_d_]) kr_idx_[kr_d_--] = 0;      \
            if (kr_d_ < 0) break;                                                                \
        }                                                                                        \
        (void)kr_done;                                                                           \
    } while (0)

/* How two tensors' memory relates. */
typedef enum kr_overlap_kind {
    KR_APART = 0,  /* no element of one is an element of the other (or one is empty) */
    KR_SAME_VIEW,  /* the very same elements in the same order (same storage, offset, dtype,
                    * shape and strides where the size exceeds 1): an element-wise operation
                    * may read each element just before writing it */
    KR_OVERLAP     /* their memory may meet otherwise (their byte ranges intersect) */
} kr_overlap_kind;

kr_overlap_kind kr_overlap(const kr_tensor *a, const kr_tensor *b);

#endif
