/* C-level checks of core/random.c against published and independently computed values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/kairo.h"
#include "check.h"

int main(void)
{
    kr_rng g;

    /* xoshiro256** from the state {1, 2, 3, 4}: the reference implementation's first outputs */
    static const uint64_t from1234[6] = {11520u, 0u, 1509978240u, UINT64_C(1215971899390074240),
                                         UINT64_C(1216172134540287360),
                                         UINT64_C(607988272756665600)};
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 4; i++) g.s[i] = (uint64_t)i + 1;
    for (int i = 0; i < 6; i++) {
        uint64_t x = kr_rng_next(&g);
        CHECK(x == from1234[i], "state 1234 output %d: %llu", i, (unsigned long long)x);
    }

    /* splitmix64 seeding: seed 0 gives splitmix64's well-known first four outputs */
    kr_rng_seed(&g, 0);
    CHECK(g.s[0] == UINT64_C(0xe220a8397b1dcdaf) && g.s[1] == UINT64_C(0x6e789e6aa1b965f4) &&
              g.s[2] == UINT64_C(0x06c45d188009454f) && g.s[3] == UINT64_C(0xf88bb8a8724c81ec),
          "splitmix64 seeding of 0");
    /* first outputs for seeds 0 and 42, from the Lua reference in spec/random_spec.lua */
    CHECK(kr_rng_next(&g) == UINT64_C(0x99ec5f36cb75f2b4), "seed 0, output 1");
    CHECK(kr_rng_next(&g) == UINT64_C(0xbf6e1f784956452a), "seed 0, output 2");
    kr_rng_seed(&g, 42);
    CHECK(kr_rng_next(&g) == UINT64_C(0x15780b2e0c2ec716), "seed 42, output 1");
    kr_rng_seed(&g, 42);
    double u = kr_rng_uniform(&g);
    CHECK(u == (double)(UINT64_C(0x15780b2e0c2ec716) >> 11) / 9007199254740992.0,
          "seed 42, first uniform %.17g", u);

    /* bounded integers */
    kr_rng_seed(&g, 7);
    int counts[3] = {0, 0, 0}, inrange = 1;
    for (int i = 0; i < 30000; i++) {
        uint64_t k = kr_rng_below(&g, 3);
        if (k >= 3) inrange = 0; else counts[k]++;
    }
    CHECK(inrange, "below(3) out of range");
    for (int i = 0; i < 3; i++) CHECK(abs(counts[i] - 10000) < 600, "below(3) count %d", counts[i]);
    CHECK(kr_rng_below(&g, 1) == 0 && kr_rng_below(&g, 0) == 0, "below(1), below(0)");
    uint64_t big = (UINT64_C(1) << 63) + 1;
    int ok = 1;
    for (int i = 0; i < 1000; i++) ok &= kr_rng_below(&g, big) < big;
    CHECK(ok, "below(2^63 + 1) in range");

    /* permutation */
    int64_t perm[50];
    int seen[50] = {0};
    kr_rng_permutation(&g, 50, perm);
    ok = 1;
    for (int i = 0; i < 50; i++) {
        if (perm[i] < 0 || perm[i] >= 50 || seen[perm[i]]) ok = 0; else seen[perm[i]] = 1;
    }
    CHECK(ok, "permutation(50) is a permutation");

    /* polar method by hand: the pair from the first accepted (u, v) */
    kr_rng h;
    kr_rng_seed(&g, 3);
    kr_rng_seed(&h, 3);
    double a, b, s;
    do {
        a = 2 * kr_rng_uniform(&h) - 1;
        b = 2 * kr_rng_uniform(&h) - 1;
        s = a * a + b * b;
    } while (s >= 1 || s == 0);
    double f = sqrt(-2 * log(s) / s);
    double z1 = kr_rng_normal(&g), z2 = kr_rng_normal(&g);
    CHECK(z1 == a * f && z2 == b * f, "polar pair %g %g vs %g %g", z1, z2, a * f, b * f);
    CHECK(memcmp(g.s, h.s, sizeof g.s) == 0, "the spare used no extra draws");

    /* moments */
    kr_rng_seed(&g, 11);
    double sum = 0, sum2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = kr_rng_normal(&g);
        sum += z;
        sum2 += z * z;
    }
    CHECK(fabs(sum / n) < 0.01 && fabs(sum2 / n - 1) < 0.02, "normal moments %g %g", sum / n,
          sum2 / n);

    /* fills: contiguous in order, a transposed view in logical order, float32 below 1 */
    kr_tensor t, v;
    int64_t size[2] = {3, 4};
    kr_tensor_empty(&t, KR_F64, 2, size);
    kr_rng_seed(&g, 5);
    kr_rng_seed(&h, 5);
    CHECK(kr_rng_fill_uniform(&g, &t, 2, 5) == KR_OK, "fill_uniform");
    ok = 1;
    for (int i = 0; i < 12; i++) ok &= ((double *)kr_data(&t))[i] == 2 + 3 * kr_rng_uniform(&h);
    CHECK(ok, "fill_uniform writes 2 + 3u in order");
    kr_transpose(&v, &t, 0, 1); /* 4x3 view */
    kr_rng_seed(&g, 5);
    kr_rng_seed(&h, 5);
    kr_rng_fill_normal(&g, &v, 1, 2);
    ok = 1;
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 3; j++) {
            int64_t ix[2] = {i, j};
            ok &= kr_get(&v, ix) == 1 + 2 * kr_rng_normal(&h);
        }
    CHECK(ok, "fill_normal on a transposed view follows the logical order");
    kr_tensor_release(&v);
    kr_tensor_release(&t);
    int64_t nbig[1] = {100000};
    kr_tensor_empty(&t, KR_F32, 1, nbig);
    kr_rng_fill_uniform(&g, &t, 0, 1);
    float lo = 1, hi = 0;
    for (int i = 0; i < 100000; i++) {
        float x = ((float *)kr_data(&t))[i];
        if (x < lo) lo = x;
        if (x > hi) hi = x;
    }
    CHECK(lo >= 0 && hi < 1 && hi > 0.999f, "float32 uniform range [%g, %g]", lo, hi);
    CHECK(kr_rng_fill_normal(&g, &t, 0, -1) == KR_EINVAL, "negative std rejected");
    kr_tensor_release(&t);

    return check_summary();
}
