/* C-level checks of core/optim.c that the Lua binding cannot reach: broadcast (stride 0)
 * parameters, state tensors that do not fit, a missing momentum buffer, a bad step count,
 * and a 3-D strided walk.  Prints "N passed, N failed". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../core/optim.h"
#include "check.h"

static void fill(kr_tensor *t, double start, double step)
{
    int64_t n = kr_numel(t);
    double *p = kr_data(t);
    for (int64_t i = 0; i < n; i++) p[i] = start + step * (double)i;
}

int main(void)
{
    const int64_t s23[2] = { 2, 3 }, s3[1] = { 3 }, s32[2] = { 3, 2 };
    kr_tensor W, G, m, v, b3, Wb, small;
    kr_tensor_zeros(&W, KR_F64, 2, s23);
    kr_tensor_zeros(&G, KR_F64, 2, s23);
    kr_tensor_zeros(&m, KR_F64, 2, s23);
    kr_tensor_zeros(&v, KR_F64, 2, s32);
    kr_tensor_zeros(&b3, KR_F64, 1, s3);
    kr_tensor_zeros(&small, KR_F32, 2, s23);
    fill(&G, 1, 1);

    /* a 2x3 broadcast view of a 3-vector: rows share their elements */
    check(kr_expand(&Wb, &b3, 2, s23) == KR_OK, "expand");
    kr_sgd_opts sgd = { 0.1, 0, 0 };
    check_error(kr_sgd_step(&Wb, &G, NULL, &sgd), KR_EINVAL, "is a broadcast view",
                "broadcast parameter");
    check_error(kr_weight_decay(&Wb, &W, 0.1), KR_EINVAL, "the gradient (2x3) is a broadcast view",
                "broadcast gradient in weight decay");
    check(kr_weight_decay(&G, &Wb, 0.0) == KR_OK, "a broadcast W is only read by weight decay");

    sgd.momentum = 0.9;
    check_error(kr_sgd_step(&W, &G, NULL, &sgd), KR_EINVAL, "sgd: the state tensor buf is missing",
                "momentum without a buffer");
    check_error(kr_sgd_step(&W, &G, &small, &sgd), KR_EINVAL,
                "sgd: the state tensor buf (float32 2x3) does not fit the parameter (float64 2x3)",
                "buffer of another dtype");

    kr_adam_opts adam = { 1e-3, 0.9, 0.999, 1e-8, 0, 1, 0 };
    check_error(kr_adam_step(&W, &G, &m, &v, 1, &adam), KR_EINVAL,
                "adam: the state tensor v (float64 3x2) does not fit the parameter (float64 2x3)",
                "moment of another shape");
    check_error(kr_adam_step(&W, &G, &m, &m, 0, &adam), KR_EINVAL,
                "adam: the step count must be >= 1, got 0", "step count 0");
    adam.stateless = 1;
    check(kr_adam_step(&W, &G, NULL, NULL, 0, &adam) == KR_OK, "stateless needs no state");

    kr_rmsprop_opts rms = { 1e-2, 0.99, 1e-8, 0 };
    check_error(kr_rmsprop_step(&W, &G, NULL, NULL, &rms), KR_EINVAL,
                "rmsprop: the state tensor v is missing", "rmsprop without v");

    /* A 3-D parameter seen through a permuted view, against the same update done flat. */
    const int64_t s234[3] = { 2, 3, 4 }, s432[3] = { 4, 3, 2 };
    kr_tensor P, Pt, Pv, Q, Qg, S0, S1, T0, T1;
    kr_tensor_zeros(&P, KR_F64, 3, s432);
    fill(&P, -1, 0.125);
    kr_transpose(&Pt, &P, 0, 2); /* 2x3x4, strides 1, 2, 6 */
    kr_tensor_zeros(&Q, KR_F64, 3, s234);
    kr_tensor_zeros(&Qg, KR_F64, 3, s234);
    kr_tensor_zeros(&S0, KR_F64, 3, s234);
    kr_tensor_zeros(&S1, KR_F64, 3, s234);
    kr_tensor_zeros(&T0, KR_F64, 3, s234);
    kr_tensor_zeros(&T1, KR_F64, 3, s234);
    kr_tensor_zeros(&Pv, KR_F64, 3, s234); /* the gradient, contiguous */
    int64_t idx[3];
    for (idx[0] = 0; idx[0] < 2; idx[0]++)
        for (idx[1] = 0; idx[1] < 3; idx[1]++)
            for (idx[2] = 0; idx[2] < 4; idx[2]++) {
                kr_set(&Q, idx, kr_get(&Pt, idx));
                double g = sin((double)(idx[0] * 12 + idx[1] * 4 + idx[2]));
                kr_set(&Pv, idx, g);
                kr_set(&Qg, idx, g);
            }
    adam.stateless = 0;
    adam.lr = 0.1;
    for (int t = 1; t <= 3; t++) {
        check(kr_adam_step(&Pt, &Pv, &S0, &S1, t, &adam) == KR_OK, "strided adam step");
        check(kr_adam_step(&Q, &Qg, &T0, &T1, t, &adam) == KR_OK, "flat adam step");
    }
    double worst = 0;
    for (idx[0] = 0; idx[0] < 2; idx[0]++)
        for (idx[1] = 0; idx[1] < 3; idx[1]++)
            for (idx[2] = 0; idx[2] < 4; idx[2]++)
                worst = fmax(worst, fabs(kr_get(&Pt, idx) - kr_get(&Q, idx)));
    check(worst == 0, "a permuted 3-D parameter takes the same steps as a contiguous copy");

    kr_tensor *all[] = { &W, &G, &m, &v, &b3, &Wb, &small, &P, &Pt, &Pv, &Q, &Qg,
                         &S0, &S1, &T0, &T1 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) kr_tensor_release(all[i]);
    return check_summary();
}
