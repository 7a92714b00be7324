/* C-level checks of core/mlp.c, loss.c and batch.c that the Lua binding cannot reach: custom
 * activations without hooks, a failing hook, bad configurations, ill-formed network files made
 * by hand (valid checksum, nonsense inside), gather indices out of range.
 * Prints "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/kairo.h"
#include "check.h"

static kr_status failing_forward(void *ud, int layer, kr_tensor *u)
{
    (void)ud; (void)u;
    return kr_fail(KR_EINVAL, "hook refused layer %d", layer);
}

static kr_status unit_grad(void *ud, int layer, kr_tensor *g, const kr_tensor *y)
{
    (void)ud; (void)layer; (void)g; (void)y;
    return KR_OK;
}

/* Writes bytes, with a correct CRC-32 appended, to path. */
static void write_with_crc(const char *path, unsigned char *bytes, size_t n)
{
    uint32_t crc = (uint32_t)crc32(0L, bytes, (uInt)n);
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, n, f);
    for (int i = 0; i < 4; i++) fputc((int)((crc >> (8 * i)) & 0xff), f);
    fclose(f);
}

int main(void)
{
    kr_rng g;
    kr_rng_seed(&g, 1);
    int64_t sizes[3] = { 3, 4, 2 };
    kr_activation act[2] = { { KR_ACT_CUSTOM, 0 }, { KR_ACT_IDENTITY, 0 } };
    kr_mlp_config cfg = { 2, sizes, act, KR_F64, 1, KR_INIT_DEFAULT, 1.0, KR_FEEDBACK_BP };
    kr_mlp *net = NULL;
    check(kr_mlp_new(&net, &cfg, &g) == KR_OK, "a network with a custom layer is created");

    int64_t xs[2] = { 3, 5 };
    kr_tensor X, Y = { 0 };
    kr_tensor_zeros(&X, KR_F64, 2, xs);
    check_error(kr_mlp_forward(net, &Y, &X, NULL), KR_EINVAL, "custom activations but no hooks",
                "forward without hooks");
    kr_act_hooks bad = { failing_forward, unit_grad, NULL };
    check_error(kr_mlp_forward(net, &Y, &X, &bad), KR_EINVAL, "hook refused layer 0",
                "a failing hook");
    kr_tensor G;
    int64_t gs[2] = { 2, 5 };
    kr_tensor_zeros(&G, KR_F64, 2, gs);
    check_error(kr_mlp_backward(net, NULL, &G, &bad), KR_EINVAL, "call forward first",
                "no backward after a failed forward");
    check_error(kr_mlp_save(net, "/tmp/never-written.bin"), KR_EINVAL, "user-defined activation",
                "custom layers are not saved");
    kr_mlp_free(net);

    /* configurations */
    kr_activation ok_act[2] = { { KR_ACT_TANH, 0 }, { KR_ACT_IDENTITY, 0 } };
    cfg.act = ok_act;
    cfg.nlayers = 0;
    check_error(kr_mlp_new(&net, &cfg, &g), KR_EINVAL, "at least one layer", "zero layers");
    cfg.nlayers = 2;
    cfg.init = KR_INIT_HE_NORMAL;
    check_error(kr_mlp_new(&net, &cfg, NULL), KR_EINVAL, "needs a random generator",
                "no generator");
    kr_activation leaky[2] = { { KR_ACT_LEAKY_RELU, -0.5 }, { KR_ACT_IDENTITY, 0 } };
    cfg.act = leaky;
    check_error(kr_mlp_new(&net, &cfg, &g), KR_EINVAL, "slope must be finite and >= 0",
                "negative slope");
    cfg.act = ok_act;
    cfg.init = KR_INIT_ZEROS;
    check(kr_mlp_new(&net, &cfg, NULL) == KR_OK, "zeros needs no generator");

    /* a file with a valid checksum but nonsense inside */
    const char *path = "/tmp/kairo-mlp-test.bin";
    check(kr_mlp_save(net, path) == KR_OK, "save");
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    kr_mlp *back = NULL;
    check(kr_mlp_load(&back, path) == KR_OK && back->nlayers == 2, "load");
    kr_mlp_free(back);
    unsigned char copy[4096];
    memcpy(copy, buf, n);
    copy[24] = 0; /* L = 0 */
    write_with_crc(path, copy, n - 4);
    check_error(kr_mlp_load(&back, path), KR_EFORMAT, "invalid header", "zero layers in a file");
    memcpy(copy, buf, n);
    memcpy(copy + 32 + 8 * 3, "swish\0\0\0", 8); /* first activation name */
    write_with_crc(path, copy, n - 4);
    check_error(kr_mlp_load(&back, path), KR_EFORMAT, "unknown activation",
                "unknown activation in a file");
    memcpy(copy, buf, n);
    copy[32 + 8] = 5; /* the hidden size 4 becomes 5: no longer matches the length */
    write_with_crc(path, copy, n - 4);
    check_error(kr_mlp_load(&back, path), KR_EFORMAT, "do not match its length",
                "sizes against length");
    memcpy(copy, buf, n);
    copy[8] = 9; /* version */
    write_with_crc(path, copy, n - 4);
    check_error(kr_mlp_load(&back, path), KR_EFORMAT, "format version 9", "a future version");
    remove(path);
    kr_mlp_free(net);

    /* gather */
    int64_t ds[2] = { 3, 2 }, ss[2] = { 3, 4 };
    kr_tensor dst, src;
    kr_tensor_zeros(&dst, KR_F64, 2, ds);
    kr_tensor_zeros(&src, KR_F64, 2, ss);
    int64_t idx[2] = { 1, 4 };
    check_error(kr_gather_columns(&dst, &src, idx), KR_EINVAL, "index 4 is out of range 0..3",
                "gather index out of range");
    idx[1] = 3;
    check(kr_gather_columns(&dst, &src, idx) == KR_OK, "gather in range");

    /* losses of an empty batch */
    int64_t es[2] = { 3, 0 };
    kr_tensor E;
    kr_tensor_zeros(&E, KR_F64, 2, es);
    double loss;
    check_error(kr_mse(&loss, NULL, &E, &E), KR_EINVAL, "the batch is empty (output is 3x0: no samples)",
                "empty batch");

    kr_tensor_release(&X);
    kr_tensor_release(&G);
    kr_tensor_release(&dst);
    kr_tensor_release(&src);
    kr_tensor_release(&E);
    return check_summary();
}
