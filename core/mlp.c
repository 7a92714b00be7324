/* The batched MLP: construction, initialisation, forward, backward, predict (see mlp.h for
 * the formulas and the storage order).  Each layer is one row-major GEMM plus one fused pass;
 * the activities of a batch are kept as B x n row-major memory ("Z^T"). */
#include "mlp.h"

#include "linalg.h"
#include "mlp_feedback.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const init_names[KR_INIT_NKINDS] = {
    [KR_INIT_DEFAULT] = "default",         [KR_INIT_XAVIER_UNIFORM] = "xavier_uniform",
    [KR_INIT_XAVIER_NORMAL] = "xavier_normal", [KR_INIT_HE_UNIFORM] = "he_uniform",
    [KR_INIT_HE_NORMAL] = "he_normal",     [KR_INIT_ZEROS] = "zeros",
};

const char *kr_init_name(kr_init init)
{
    if ((int)init < 0 || init >= KR_INIT_NKINDS) return NULL;
    return init_names[init];
}

kr_status kr_init_from_name(kr_init *init, const char *name)
{
    for (int k = 0; k < KR_INIT_NKINDS; k++)
        if (strcmp(name, init_names[k]) == 0) {
            *init = (kr_init)k;
            return KR_OK;
        }
    return kr_fail(KR_EINVAL,
                   "unknown init '%s' (known: xavier_uniform, xavier_normal, he_uniform, "
                   "he_normal, zeros)", name);
}

/* ---- helpers ---------------------------------------------------------------------------- */
static void release(kr_tensor *t)
{
    if (t->storage) kr_tensor_release(t);
}

/* dst = an n x B view with strides {1, n} (one sample per contiguous run) of the 1-D buffer
 * buf, which holds at least n B elements. */
static void sample_view(kr_tensor *dst, const kr_tensor *buf, int64_t n, int64_t B)
{
    kr_tensor_share(dst, buf);
    dst->offset = buf->offset;
    dst->ndim = 2;
    dst->size[0] = n;
    dst->size[1] = B;
    dst->stride[0] = 1;
    dst->stride[1] = n;
}

static kr_status new_buffer(kr_tensor *t, kr_dtype dt, int64_t count, const char *op)
{
    return kr_tensor_alloc(op, t, dt, 1, &count, 0);
}

/* How a batch matrix Z (n x B) reaches BLAS as Z^T (B x n), row-major:
 * trans = 0: memory holds B rows of n elements, ld apart (Z has strides {1, ld});
 * trans = 1: memory holds n rows of B elements, ld apart (Z has strides {ld, 1}). */
typedef struct operand {
    const void *p;
    int trans;
    int64_t ld;
} operand;

/* 1 when X can go to BLAS as it is: kr_blas_layout of X, whose trans is the opposite of
 * operand's (operand describes Z^T), preferring operand's trans = 0. */
static int blas_operand(const kr_tensor *X, operand *op)
{
    kr_blas_mat m;
    if (!kr_blas_layout(X, 1, &m)) return 0;
    op->trans = !m.trans;
    op->ld = m.ld;
    op->p = kr_data(X);
    return 1;
}
/* C = op(A) op(B) (m x n, row-major, ldc), op = transpose when the flag is set. */
static void gemm(kr_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *A,
                 int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc)
{
    kr_gemm(dt, ta, tb, m, n, k, 1.0, A, lda, B, ldb, 0.0, C, ldc);
}

/* db[i] = sum_r D[r n + i] over rows r < B (the row sums of delta = D^T). */
static void row_sums(kr_dtype dt, void *db, const void *D, int64_t n, int64_t B)
{
    if (dt == KR_F64) {
        double *s = db;
        const double *d = D;
        for (int64_t i = 0; i < n; i++) s[i] = 0;
        for (int64_t r = 0; r < B; r++)
            for (int64_t i = 0; i < n; i++) s[i] += d[r * n + i];
    } else {
        float *s = db;
        const float *d = D;
        for (int64_t i = 0; i < n; i++) s[i] = 0;
        for (int64_t r = 0; r < B; r++)
            for (int64_t i = 0; i < n; i++) s[i] += d[r * n + i];
    }
}

static int has_custom(const kr_mlp *net)
{
    for (int l = 0; l < net->nlayers; l++)
        if (net->act[l].kind == KR_ACT_CUSTOM) return 1;
    return 0;
}

static kr_status check_hooks(const char *op, const kr_mlp *net, const kr_act_hooks *h)
{
    if (has_custom(net) && (!h || !h->forward || !h->grad_mul))
        return kr_fail(KR_EINVAL, "%s: the network has custom activations but no hooks", op);
    return KR_OK;
}

/* ---- construction ----------------------------------------------------------------------- */
void kr_mlp_free(kr_mlp *net)
{
    if (!net) return;
    for (int l = 0; l < net->nlayers; l++) {
        if (net->W) release(&net->W[l]);
        if (net->b) release(&net->b[l]);
        if (net->dW) release(&net->dW[l]);
        if (net->db) release(&net->db[l]);
        if (net->D) release(&net->D[l]);
    }
    if (net->Z)
        for (int l = 0; l <= net->nlayers; l++) release(&net->Z[l]);
    release(&net->dx);
    release(&net->xcopy);
    release(&net->input);
    release(&net->pbuf[0]);
    release(&net->pbuf[1]);
    free(net->sizes);
    free(net->act);
    free(net->W);
    free(net->b);
    free(net->dW);
    free(net->db);
    free(net->Z);
    free(net->D);
    kr_mlp_feedback_free(net);
    free(net);
}

static kr_status check_config(const kr_mlp_config *cfg)
{
    if (cfg->nlayers < 1)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: needs at least one layer (two sizes), got %d sizes",
                       cfg->nlayers < 0 ? 0 : cfg->nlayers + 1);
    for (int l = 0; l <= cfg->nlayers; l++)
        if (cfg->sizes[l] < 1 || cfg->sizes[l] > INT_MAX)
            return kr_fail(KR_EINVAL, "kr.nn.MLP: size %d is %lld (sizes must be in 1..%d)", l + 1,
                           (long long)cfg->sizes[l], INT_MAX);
    if (cfg->dtype != KR_F64 && cfg->dtype != KR_F32)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: unknown dtype %d", (int)cfg->dtype);
    for (int l = 0; l < cfg->nlayers; l++) {
        if (cfg->act[l].kind == KR_ACT_CUSTOM) continue;
        kr_status st = kr_act_check("kr.nn.MLP", cfg->act[l]);
        if (st != KR_OK) return st;
    }
    if ((int)cfg->init < 0 || cfg->init >= KR_INIT_NKINDS)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: unknown init %d", (int)cfg->init);
    if ((int)cfg->feedback < 0 || cfg->feedback >= KR_FEEDBACK_NKINDS)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: unknown feedback %d", (int)cfg->feedback);
    if (!(cfg->init_scale >= 0) || !isfinite(cfg->init_scale))
        return kr_fail(KR_EINVAL, "kr.nn.MLP: init_scale must be finite and >= 0, got %g",
                       cfg->init_scale);
    return KR_OK;
}

kr_status kr_mlp_new(kr_mlp **out, const kr_mlp_config *cfg, kr_rng *g)
{
    *out = NULL;
    kr_status st = check_config(cfg);
    if (st != KR_OK) return st;
    int L = cfg->nlayers;
    kr_mlp *net = calloc(1, sizeof *net);
    if (!net) return kr_fail(KR_ENOMEM, "kr.nn.MLP: out of memory");
    net->nlayers = L;
    net->dtype = cfg->dtype;
    net->bias = cfg->bias != 0;
    net->feedback = cfg->feedback;
    net->sizes = malloc(sizeof *net->sizes * (size_t)(L + 1));
    net->act = malloc(sizeof *net->act * (size_t)L);
    net->W = calloc((size_t)L, sizeof *net->W);
    net->b = calloc((size_t)L, sizeof *net->b);
    net->dW = calloc((size_t)L, sizeof *net->dW);
    net->db = calloc((size_t)L, sizeof *net->db);
    net->Z = calloc((size_t)L + 1, sizeof *net->Z);
    net->D = calloc((size_t)L, sizeof *net->D);
    if (!net->sizes || !net->act || !net->W || !net->b || !net->dW || !net->db || !net->Z ||
        !net->D) {
        kr_mlp_free(net);
        return kr_fail(KR_ENOMEM, "kr.nn.MLP: out of memory");
    }
    memcpy(net->sizes, cfg->sizes, sizeof *net->sizes * (size_t)(L + 1));
    memcpy(net->act, cfg->act, sizeof *net->act * (size_t)L);
    for (int l = 0; l < L && st == KR_OK; l++) {
        int64_t wsize[2] = { net->sizes[l + 1], net->sizes[l] };
        const char *op = "kr.nn.MLP";
        st = kr_tensor_alloc(op, &net->W[l], net->dtype, 2, wsize, 1);
        if (st == KR_OK) st = kr_tensor_alloc(op, &net->dW[l], net->dtype, 2, wsize, 1);
        if (st == KR_OK && net->bias) st = kr_tensor_alloc(op, &net->b[l], net->dtype, 1, wsize, 1);
        if (st == KR_OK && net->bias) st = kr_tensor_alloc(op, &net->db[l], net->dtype, 1, wsize, 1);
    }
    if (st == KR_OK) st = kr_mlp_feedback_alloc(net);
    if (st == KR_OK) st = kr_mlp_reinit(net, cfg->init, cfg->init_scale, g);
    if (st != KR_OK) {
        kr_mlp_free(net);
        return st;
    }
    *out = net;
    return KR_OK;
}

kr_init kr_mlp_init_kind(const kr_mlp *net, int l, kr_init init)
{
    if (init != KR_INIT_DEFAULT) return init;
    return net->act[l].kind == KR_ACT_RELU || net->act[l].kind == KR_ACT_LEAKY_RELU
               ? KR_INIT_HE_UNIFORM : KR_INIT_XAVIER_UNIFORM;
}

kr_status kr_mlp_fill_init(kr_tensor *t, kr_init k, double n_in, double n_out, double scale,
                           kr_rng *g)
{
    double a;
    switch (k) {
    case KR_INIT_XAVIER_UNIFORM:
        a = scale * sqrt(6.0 / (n_in + n_out));
        return kr_rng_fill_uniform(g, t, -a, a);
    case KR_INIT_XAVIER_NORMAL:
        return kr_rng_fill_normal(g, t, 0.0, scale * sqrt(2.0 / (n_in + n_out)));
    case KR_INIT_HE_UNIFORM:
        a = scale * sqrt(6.0 / n_in);
        return kr_rng_fill_uniform(g, t, -a, a);
    case KR_INIT_HE_NORMAL:
        return kr_rng_fill_normal(g, t, 0.0, scale * sqrt(2.0 / n_in));
    default:
        return kr_fill_(t, 0.0);
    }
}

kr_status kr_mlp_reinit(kr_mlp *net, kr_init init, double scale, kr_rng *g)
{
    if ((int)init < 0 || init >= KR_INIT_NKINDS)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: unknown init %d", (int)init);
    if (!(scale >= 0) || !isfinite(scale))
        return kr_fail(KR_EINVAL, "kr.nn.MLP: init_scale must be finite and >= 0, got %g", scale);
    if (!g && init != KR_INIT_ZEROS)
        return kr_fail(KR_EINVAL, "kr.nn.MLP: init '%s' needs a random generator", kr_init_name(init));
    for (int l = 0; l < net->nlayers; l++) {
        kr_status st = kr_mlp_fill_init(&net->W[l], kr_mlp_init_kind(net, l, init),
                                        (double)net->sizes[l], (double)net->sizes[l + 1], scale, g);
        if (st != KR_OK) return st;
    }
    /* after every W, so a network's weights do not depend on its feedback rule */
    kr_status st = kr_mlp_feedback_reinit(net, init, scale, g);
    if (st != KR_OK) return st;
    kr_mlp_zero_grad(net);
    for (int l = 0; l < net->nlayers && net->bias; l++) kr_fill_(&net->b[l], 0.0);
    return KR_OK;
}

void kr_mlp_zero_grad(kr_mlp *net)
{
    for (int l = 0; l < net->nlayers; l++) {
        memset(kr_data(&net->dW[l]), 0,
               (size_t)kr_numel(&net->dW[l]) * kr_dtype_size(net->dtype));
        if (net->bias)
            memset(kr_data(&net->db[l]), 0,
                   (size_t)kr_numel(&net->db[l]) * kr_dtype_size(net->dtype));
        if (net->dB && net->dB[l].storage) kr_fill_(&net->dB[l], 0.0); /* kp */
    }
}

/* ---- workspaces ------------------------------------------------------------------------- */
/* Makes the workspaces hold B samples; allocates only when B exceeds what they hold. */
static kr_status ensure_capacity(kr_mlp *net, int64_t B, const char *op)
{
    if (B <= net->capacity) return KR_OK;
    int L = net->nlayers;
    kr_tensor *Z = calloc((size_t)L + 1, sizeof *Z), *D = calloc((size_t)L, sizeof *D);
    kr_tensor dx = { 0 };
    kr_status st = Z && D ? KR_OK : kr_fail(KR_ENOMEM, "kr.nn.MLP: out of memory for workspaces");
    for (int l = 1; l <= L && st == KR_OK; l++)
        st = new_buffer(&Z[l], net->dtype, net->sizes[l] * B, op);
    for (int l = 0; l < L && st == KR_OK; l++)
        st = new_buffer(&D[l], net->dtype, net->sizes[l + 1] * B, op);
    if (st == KR_OK) st = new_buffer(&dx, net->dtype, net->sizes[0] * B, op);
    if (st == KR_OK) {
        for (int l = 0; l <= L; l++) {
            release(&net->Z[l]);
            net->Z[l] = Z[l];
        }
        for (int l = 0; l < L; l++) {
            release(&net->D[l]);
            net->D[l] = D[l];
        }
        release(&net->dx);
        net->dx = dx;
        net->capacity = B;
    } else {
        for (int l = 0; Z && l <= L; l++) release(&Z[l]);
        for (int l = 0; D && l < L; l++) release(&D[l]);
        release(&dx);
    }
    free(Z);
    free(D);
    return st;
}

/* ---- forward ---------------------------------------------------------------------------- */
static kr_status check_input(const char *op, const kr_mlp *net, const kr_tensor *X)
{
    char s[200];
    if (!X || !X->storage) return kr_fail(KR_EINVAL, "%s: input is a closed tensor", op);
    if (X->ndim != 2)
        return kr_fail(KR_EINVAL, "%s: input must be 2-D (features x batch), got %s", op,
                       kr_tensor_shape_str(X, s, sizeof s));
    if (X->size[0] != net->sizes[0])
        return kr_fail(KR_EINVAL, "%s: input has %lld rows, the network expects %lld (input is %s)",
                       op, (long long)X->size[0], (long long)net->sizes[0],
                       kr_tensor_shape_str(X, s, sizeof s));
    if (X->size[1] < 1 || X->size[1] > INT_MAX)
        return kr_fail(KR_EINVAL, "%s: batch size must be in 1..%d (input is %s)", op, INT_MAX,
                       kr_tensor_shape_str(X, s, sizeof s));
    if (X->dtype != net->dtype)
        return kr_fail(KR_EINVAL, "%s: input is %s, the network is %s", op,
                       kr_dtype_name(X->dtype), kr_dtype_name(net->dtype));
    return KR_OK;
}

/* out (the 1-D buffer outbuf, B x n_out) = f_l(W_l in + b_l), as out^T = in^T W^T. */
static kr_status layer_forward(const kr_mlp *net, int l, const operand *in,
                               const kr_tensor *outbuf, int64_t B, const kr_act_hooks *h)
{
    int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
    void *out = kr_data(outbuf);
    const void *b = net->bias ? kr_data(&net->b[l]) : NULL;
    /* U^T = Z^T W^T  (B x n_out) */
    gemm(net->dtype, in->trans, 1, B, n_out, n_in, in->p, in->ld, kr_data(&net->W[l]), n_in,
         out, n_out);
    if (net->act[l].kind != KR_ACT_CUSTOM) {
        kr_act_bias_forward(net->dtype, out, b, n_out, B, net->act[l]); /* Z' = f(U + b) */
        return KR_OK;
    }
    kr_activation identity = { KR_ACT_IDENTITY, 0.0 };
    kr_act_bias_forward(net->dtype, out, b, n_out, B, identity);
    kr_tensor u;
    sample_view(&u, outbuf, n_out, B);
    kr_status st = h->forward(h->ud, l, &u);
    kr_tensor_release(&u);
    return st;
}

kr_status kr_mlp_forward(kr_mlp *net, kr_tensor *Y, const kr_tensor *X,
                         const kr_act_hooks *hooks)
{
    const char *op = "net:forward";
    kr_status st = check_input(op, net, X);
    if (st == KR_OK) st = check_hooks(op, net, hooks);
    if (st == KR_OK) st = ensure_capacity(net, X->size[1], op);
    if (st != KR_OK) return st;
    int L = net->nlayers;
    int64_t n0 = net->sizes[0], B = X->size[1];
    operand in;
    kr_tensor input;
    net->batch = 0; /* no valid state until this pass completes */
    /* The input is always copied (into xcopy, reused): backward's dW_1 = delta_1 X^T then
     * reads what forward read, even when X is changed in between or is one of the network's
     * own parameters or gradients (net:forward(net.dW[1]), which backward overwrites), or one
     * of its workspaces.  One copy of n_0 x B elements, small beside the first layer's GEMM. */
    if (!net->xcopy.storage || kr_numel(&net->xcopy) < n0 * B) {
        release(&net->xcopy);
        st = new_buffer(&net->xcopy, net->dtype, n0 * B, op);
        if (st != KR_OK) return st;
    }
    sample_view(&input, &net->xcopy, n0, B);
    st = kr_copy_(&input, X);
    if (st != KR_OK) {
        kr_tensor_release(&input);
        return st;
    }
    in.p = kr_data(&input);
    in.trans = 0;
    in.ld = n0;
    /* what forward hands out is a view of Z_L: every earlier one is stale from here on */
    kr_tensor_renew(&net->Z[L], "this output of net:forward was overwritten by a later forward; "
                                "clone() it to keep it");
    release(&net->input);
    net->input = input;
    net->in_trans = in.trans;
    net->in_ld = in.ld;
    for (int l = 0; l < L; l++) {
        st = layer_forward(net, l, &in, &net->Z[l + 1], B, hooks);
        if (st != KR_OK) return st;
        in.p = kr_data(&net->Z[l + 1]);
        in.trans = 0;
        in.ld = net->sizes[l + 1];
    }
    net->batch = B;
    sample_view(Y, &net->Z[L], net->sizes[L], B);
    return KR_OK;
}

kr_status kr_mlp_predict(kr_mlp *net, kr_tensor *Y, const kr_tensor *X,
                         const kr_act_hooks *hooks)
{
    const char *op = "net:predict";
    kr_status st = check_input(op, net, X);
    if (st == KR_OK) st = check_hooks(op, net, hooks);
    if (st != KR_OK) return st;
    int L = net->nlayers;
    int64_t n0 = net->sizes[0], B = X->size[1], wmax = 1;
    for (int l = 1; l < L; l++)
        if (net->sizes[l] > wmax) wmax = net->sizes[l];
    kr_tensor xc = { 0 }, ybuf = { 0 }, *buf = net->pbuf;
    operand in;
    if (!blas_operand(X, &in)) {
        kr_tensor v;
        st = new_buffer(&xc, net->dtype, n0 * B, op);
        if (st == KR_OK) {
            sample_view(&v, &xc, n0, B);
            st = kr_copy_(&v, X);
            kr_tensor_release(&v);
        }
        in.p = st == KR_OK ? kr_data(&xc) : NULL;
        in.trans = 0;
        in.ld = n0;
    }
    for (int i = 0; i < 2 && i < L - 1 && st == KR_OK; i++)
        if (!buf[i].storage || kr_numel(&buf[i]) < wmax * B) {
            release(&buf[i]);
            st = new_buffer(&buf[i], net->dtype, wmax * B, op);
        }
    if (st == KR_OK) st = new_buffer(&ybuf, net->dtype, net->sizes[L] * B, op);
    for (int l = 0; l < L && st == KR_OK; l++) {
        const kr_tensor *out = l == L - 1 ? &ybuf : &buf[l % 2];
        st = layer_forward(net, l, &in, out, B, hooks);
        in.p = kr_data(out);
        in.trans = 0;
        in.ld = net->sizes[l + 1];
    }
    if (st == KR_OK) sample_view(Y, &ybuf, net->sizes[L], B);
    release(&xc);
    release(&ybuf);
    return st;
}

/* ---- backward --------------------------------------------------------------------------- */
/* g (the 1-D buffer gbuf, B x n) .*= f'_l(y), y the 1-D buffer ybuf. */
static kr_status grad_mul(const kr_mlp *net, int l, const kr_tensor *gbuf,
                          const kr_tensor *ybuf, int64_t n, int64_t B, const kr_act_hooks *h)
{
    if (net->act[l].kind != KR_ACT_CUSTOM) {
        kr_act_grad_mul(net->dtype, kr_data(gbuf), kr_data(ybuf), n, B, net->act[l]);
        return KR_OK;
    }
    kr_tensor g, y;
    sample_view(&g, gbuf, n, B);
    sample_view(&y, ybuf, n, B);
    kr_status st = h->grad_mul(h->ud, l, &g, &y);
    kr_tensor_release(&g);
    kr_tensor_release(&y);
    return st;
}

kr_status kr_mlp_backward(kr_mlp *net, kr_tensor *dX, const kr_tensor *G,
                          const kr_act_hooks *hooks)
{
    const char *op = "net:backward";
    char s[200];
    int L = net->nlayers;
    int64_t B = net->batch, nL = net->sizes[L];
    if (B == 0)
        return kr_fail(KR_EINVAL, "%s: no forward pass to differentiate (call forward first)", op);
    if (!G || !G->storage) return kr_fail(KR_EINVAL, "%s: dY is a closed tensor", op);
    if (G->ndim != 2 || G->size[0] != nL || G->size[1] != B)
        return kr_fail(KR_EINVAL, "%s: dY is %s, the output of the last forward is %lldx%lld", op,
                       kr_tensor_shape_str(G, s, sizeof s), (long long)nL, (long long)B);
    if (G->dtype != net->dtype)
        return kr_fail(KR_EINVAL, "%s: dY is %s, the network is %s", op, kr_dtype_name(G->dtype),
                       kr_dtype_name(net->dtype));
    kr_status st = check_hooks(op, net, hooks);
    if (st != KR_OK) return st;
    if (net->feedback != KR_FEEDBACK_BP) kr_mlp_feedback_begin(net);

    /* delta_L = G .* f'_L(Y) */
    kr_tensor v;
    sample_view(&v, &net->D[L - 1], nL, B);
    st = kr_copy_(&v, G);
    kr_tensor_release(&v);
    if (st == KR_OK) st = grad_mul(net, L - 1, &net->D[L - 1], &net->Z[L], nL, B, hooks);
    for (int l = L - 1; l >= 0 && st == KR_OK; l--) {
        int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const void *Dl = kr_data(&net->D[l]);
        operand z = { kr_data(&net->input), net->in_trans, net->in_ld };
        if (l > 0) {
            z.p = kr_data(&net->Z[l]);
            z.trans = 0;
            z.ld = n_in;
        }
        /* dW_l = delta_l Z_l^T  ((n_out x B)(B x n_in)) */
        gemm(net->dtype, 1, z.trans, n_out, n_in, B, Dl, n_out, z.p, z.ld,
             kr_data(&net->dW[l]), n_in);
        if (net->bias) row_sums(net->dtype, kr_data(&net->db[l]), Dl, n_out, B); /* db = delta 1 */
        if (net->feedback != KR_FEEDBACK_BP) kr_mlp_feedback_after_dW(net, l);
        if (l == 0 && !dX) break;
        const kr_tensor *dst = l > 0 ? &net->D[l - 1] : &net->dx;
        if (l > 0 && net->feedback != KR_FEEDBACK_BP) /* (B delta)^T: see mlp.h */
            kr_mlp_feedback_delta(net, l, Dl, kr_data(dst), B);
        else /* (W_l^T delta_l)^T = delta_l^T W_l  (B x n_in) */
            gemm(net->dtype, 0, 0, B, n_in, n_out, Dl, n_out, kr_data(&net->W[l]), n_in,
                 kr_data(dst), n_in);
        if (l > 0) st = grad_mul(net, l - 1, dst, &net->Z[l], n_in, B, hooks);
    }
    if (st == KR_OK && dX) {
        /* what backward hands out is a view of dx: every earlier one is stale from here on */
        kr_tensor_renew(&net->dx, "this dX of net:backward was overwritten by a later backward; "
                                  "clone() it to keep it");
        sample_view(dX, &net->dx, net->sizes[0], B);
    }
    return st;
}
