/* The feedback rules of the MLP (formulas in mlp.h): names, the feedback matrices' life
 * (allocation, drawing, sign's refresh) and the two steps backward takes for them.  bp never
 * reaches any of this but kr_mlp_feedback_alloc, which does nothing for it. */
#include "mlp_feedback.h"

#include "linalg.h"

#include <stdlib.h>
#include <string.h>

static const char *const feedback_names[KR_FEEDBACK_NKINDS] = {
    [KR_FEEDBACK_BP] = "bp", [KR_FEEDBACK_FA] = "fa", [KR_FEEDBACK_DFA] = "dfa",
    [KR_FEEDBACK_KP] = "kp", [KR_FEEDBACK_SIGN] = "sign",
};

const char *kr_feedback_name(kr_feedback fb)
{
    if ((int)fb < 0 || fb >= KR_FEEDBACK_NKINDS) return NULL;
    return feedback_names[fb];
}

kr_status kr_feedback_from_name(kr_feedback *fb, const char *name)
{
    for (int k = 0; k < KR_FEEDBACK_NKINDS; k++)
        if (strcmp(name, feedback_names[k]) == 0) {
            *fb = (kr_feedback)k;
            return KR_OK;
        }
    return kr_fail(KR_EINVAL, "unknown feedback '%s' (known: bp, fa, dfa, kp, sign)", name);
}

int kr_mlp_has_feedback(const kr_mlp *net, int k)
{
    int L = net->nlayers;
    switch (net->feedback) {
    case KR_FEEDBACK_FA:
    case KR_FEEDBACK_KP:
    case KR_FEEDBACK_SIGN: return k >= 1 && k < L;
    case KR_FEEDBACK_DFA: return k >= 0 && k < L - 1;
    default: return 0;
    }
}

/* B[k]'s shape: n_k x n_{k+1} (W[k]^T) or, for dfa, n_{k+1} x n_L (0-based sizes). */
static void feedback_shape(const kr_mlp *net, int k, int64_t size[2])
{
    if (net->feedback == KR_FEEDBACK_DFA) {
        size[0] = net->sizes[k + 1];
        size[1] = net->sizes[net->nlayers];
    } else {
        size[0] = net->sizes[k];
        size[1] = net->sizes[k + 1];
    }
}

kr_status kr_mlp_feedback_alloc(kr_mlp *net)
{
    int L = net->nlayers;
    if (net->feedback == KR_FEEDBACK_BP) return KR_OK;
    net->B = calloc((size_t)L, sizeof *net->B);
    if (net->feedback == KR_FEEDBACK_KP) net->dB = calloc((size_t)L, sizeof *net->dB);
    if (!net->B || (net->feedback == KR_FEEDBACK_KP && !net->dB))
        return kr_fail(KR_ENOMEM, "kr.nn.MLP: out of memory for the feedback matrices");
    kr_status st = KR_OK;
    for (int k = 0; k < L && st == KR_OK; k++) {
        if (!kr_mlp_has_feedback(net, k)) continue;
        int64_t size[2];
        feedback_shape(net, k, size);
        st = kr_tensor_alloc("kr.nn.MLP", &net->B[k], net->dtype, 2, size, 1);
        if (st == KR_OK && net->dB) st = kr_tensor_alloc("kr.nn.MLP", &net->dB[k], net->dtype, 2, size, 1);
    }
    return st;
}

void kr_mlp_feedback_free(kr_mlp *net)
{
    for (int k = 0; k < net->nlayers; k++) {
        if (net->B && net->B[k].storage) kr_tensor_release(&net->B[k]);
        if (net->dB && net->dB[k].storage) kr_tensor_release(&net->dB[k]);
    }
    free(net->B);
    free(net->dB);
    net->B = net->dB = NULL;
}

/* dst (cols x rows, row-major) = src^T, src rows x cols row-major; sign_of: dst = sign(src)^T.
 * One body for the element type T (double, float). */
#define TRANSPOSE(T)                                                                             \
    do {                                                                                         \
        T *d = dst;                                                                              \
        const T *s = src;                                                                        \
        for (int64_t i = 0; i < rows; i++)                                                       \
            for (int64_t j = 0; j < cols; j++) {                                                 \
                T v = s[i * cols + j];                                                           \
                d[j * rows + i] = sign_of ? (T)((v > 0) - (v < 0)) : v;                          \
            }                                                                                    \
    } while (0)

static void transpose(kr_dtype dt, void *dst, const void *src, int64_t rows, int64_t cols,
                      int sign_of)
{
    if (dt == KR_F64) TRANSPOSE(double);
    else TRANSPOSE(float);
}

/* B[k] = sign(W[k])^T */
static void refresh_sign(kr_mlp *net)
{
    for (int k = 1; k < net->nlayers; k++)
        transpose(net->dtype, kr_data(&net->B[k]), kr_data(&net->W[k]), net->sizes[k + 1],
                  net->sizes[k], 1);
}

kr_status kr_mlp_feedback_reinit(kr_mlp *net, kr_init init, double scale, kr_rng *g)
{
    if (net->feedback == KR_FEEDBACK_BP) return KR_OK;
    if (net->feedback == KR_FEEDBACK_SIGN) {
        refresh_sign(net);
        return KR_OK;
    }
    for (int k = 0; k < net->nlayers; k++) {
        if (!kr_mlp_has_feedback(net, k)) continue;
        /* the rule and fans of W[k]: the weights B[k] replaces (fa, kp) or feeds (dfa) */
        kr_status st = kr_mlp_fill_init(&net->B[k], kr_mlp_init_kind(net, k, init),
                                        (double)net->sizes[k], (double)net->sizes[k + 1], scale, g);
        if (st != KR_OK) return st;
        if (net->dB) kr_fill_(&net->dB[k], 0.0);
    }
    return KR_OK;
}

void kr_mlp_feedback_begin(kr_mlp *net)
{
    if (net->feedback == KR_FEEDBACK_SIGN) refresh_sign(net);
}

void kr_mlp_feedback_delta(const kr_mlp *net, int l, const void *Dl, void *dst, int64_t batch)
{
    int L = net->nlayers;
    int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1], nL = net->sizes[L];
    if (net->feedback == KR_FEEDBACK_DFA) {
        /* (B_{l-1} e)^T = e^T B_{l-1}^T  ((batch x n_L)(n_L x n_l)), e = delta_L */
        kr_gemm(net->dtype, 0, 1, batch, n_in, nL, 1.0, kr_data(&net->D[L - 1]), nL,
                kr_data(&net->B[l - 1]), nL, 0.0, dst, n_in);
    } else {
        /* (B_l delta_l)^T = delta_l^T B_l^T  ((batch x n_out)(n_out x n_in)) */
        kr_gemm(net->dtype, 0, 1, batch, n_in, n_out, 1.0, Dl, n_out, kr_data(&net->B[l]), n_out,
                0.0, dst, n_in);
    }
}

void kr_mlp_feedback_after_dW(kr_mlp *net, int l)
{
    if (net->feedback != KR_FEEDBACK_KP || l < 1) return;
    /* dB_l = dW_l^T */
    transpose(net->dtype, kr_data(&net->dB[l]), kr_data(&net->dW[l]), net->sizes[l + 1],
              net->sizes[l], 0);
}
