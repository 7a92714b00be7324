/* The random generator of random.h: xoshiro256** seeded through splitmix64.
 *
 * Everything here is exact integer arithmetic on uint64_t (plus one multiply by 2^-53 and, for
 * normals, sqrt/log), so a seed gives the same stream on every machine and compiler.
 * References: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2021) for
 * xoshiro256** and splitmix64; Marsaglia & Bray (1964) for the polar method; Lemire, "Fast
 * random integer generation in an interval" (2019) for kr_rng_below. */
#include "random.h"

#include <math.h>
#include <stdlib.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: one step of a Weyl sequence (x += golden gamma) followed by a mixing function.
 * It turns any 64-bit seed, even 0, into a well-spread, never all-zero xoshiro state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void kr_rng_seed(kr_rng *g, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&x);
    g->has_spare = 0;
    g->spare = 0.0;
}

/* xoshiro256**: output = rotl(s1 * 5, 7) * 9, then the linear state transition. */
uint64_t kr_rng_next(kr_rng *g)
{
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* u = (x >> 11) * 2^-53: the top 53 bits, every double in [0, 1) on a 2^-53 grid. */
double kr_rng_uniform(kr_rng *g)
{
    return (double)(kr_rng_next(g) >> 11) * 0x1.0p-53;
}

/* The float32 counterpart used by the fills: the top 24 bits, u = (x >> 40) * 2^-24, so a
 * float32 value is exactly representable and stays below 1 (rounding a 53-bit double to float
 * could give 1.0f). */
static float uniform_f32(kr_rng *g)
{
    return (float)(kr_rng_next(g) >> 40) * 0x1.0p-24f;
}

/* Marsaglia's polar method: draw (u, v) uniform in the square [-1, 1)^2 until
 * 0 < s = u^2 + v^2 < 1; then u f and v f with f = sqrt(-2 ln s / s) are two independent N(0, 1).
 * The first is returned, the second kept as the spare for the next call. */
double kr_rng_normal(kr_rng *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * kr_rng_uniform(g) - 1.0;
        v = 2.0 * kr_rng_uniform(g) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    g->spare = v * f;
    g->has_spare = 1;
    return u * f;
}

/* Lemire's multiply-shift: x n / 2^64 maps [0, 2^64) onto [0, n); the low word of the product
 * tells whether x fell in one of the 2^64 mod n values that would over-represent some outputs,
 * and only then is x redrawn.  n = 0 gives 0. */
uint64_t kr_rng_below(kr_rng *g, uint64_t n)
{
    if (n == 0) return 0;
    unsigned __int128 m = (unsigned __int128)kr_rng_next(g) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
        while (low < threshold) {
            m = (unsigned __int128)kr_rng_next(g) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* Fisher-Yates (Durstenfeld): for i = n-1 down to 1, swap out[i] with out[j], j uniform in
 * [0, i].  Each of the n! orders is equally likely given unbiased kr_rng_below. */
void kr_rng_permutation(kr_rng *g, int64_t n, int64_t *out)
{
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)kr_rng_below(g, (uint64_t)i + 1);
        int64_t tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
    }
}

/* ---- fills ------------------------------------------------------------------------------ */

typedef enum fill_kind { FILL_UNIFORM, FILL_NORMAL } fill_kind;

/* One draw, scaled: a + b u for uniforms (a = low, b = high - low), a + b z for normals
 * (a = mean, b = std). */
static double draw_f64(kr_rng *g, fill_kind kind, double a, double b)
{
    return kind == FILL_UNIFORM ? a + b * kr_rng_uniform(g) : a + b * kr_rng_normal(g);
}

static float draw_f32(kr_rng *g, fill_kind kind, double a, double b)
{
    if (kind == FILL_UNIFORM) {
        if (a == 0.0 && b == 1.0) return uniform_f32(g); /* exactly U[0, 1) in float32 */
        return (float)(a + b * (double)uniform_f32(g));
    }
    return (float)(a + b * kr_rng_normal(g));
}

/* Visits t's elements in row-major order of their logical indices (the last index fastest),
 * whatever the strides, so a fill gives the same values at the same indices for a contiguous
 * tensor and for any view of that shape. */
static void fill(kr_rng *g, kr_tensor *t, fill_kind kind, double a, double b)
{
    int64_t n = kr_numel(t);
    if (n == 0) return;
    int nd = t->ndim;
    int64_t idx[KR_MAXDIM] = {0};
    int64_t off = 0;
    int64_t inner = nd ? t->size[nd - 1] : 1;
    int64_t inner_stride = nd ? t->stride[nd - 1] : 0;
    for (int64_t done = 0; done < n; done += inner) {
        if (t->dtype == KR_F64) {
            double *p = (double *)kr_data(t) + off;
            for (int64_t i = 0; i < inner; i++) p[i * inner_stride] = draw_f64(g, kind, a, b);
        } else {
            float *p = (float *)kr_data(t) + off;
            for (int64_t i = 0; i < inner; i++) p[i * inner_stride] = draw_f32(g, kind, a, b);
        }
        /* advance the outer indices like an odometer */
        for (int d = nd - 2; d >= 0; d--) {
            off += t->stride[d];
            if (++idx[d] < t->size[d]) break;
            off -= t->stride[d] * t->size[d];
            idx[d] = 0;
        }
    }
}

static kr_status check_fill(const char *op, const kr_tensor *t)
{
    if (t == NULL || t->storage == NULL)
        return kr_fail(KR_EINVAL, "%s: the tensor has been freed", op);
    if (t->dtype != KR_F64 && t->dtype != KR_F32)
        return kr_fail(KR_EINVAL, "%s: unsupported dtype %d", op, (int)t->dtype);
    return KR_OK;
}

kr_status kr_rng_fill_uniform(kr_rng *g, kr_tensor *t, double a, double b)
{
    kr_status st = check_fill("rand", t);
    if (st != KR_OK) return st;
    if (!isfinite(a) || !isfinite(b))
        return kr_fail(KR_EINVAL, "uniform: bounds must be finite (got %g, %g)", a, b);
    fill(g, t, FILL_UNIFORM, a, b - a);
    return KR_OK;
}

kr_status kr_rng_fill_normal(kr_rng *g, kr_tensor *t, double mean, double std)
{
    kr_status st = check_fill("randn", t);
    if (st != KR_OK) return st;
    if (!isfinite(mean) || !isfinite(std) || std < 0)
        return kr_fail(KR_EINVAL, "randn: mean must be finite and std finite and >= 0 "
                                  "(got mean %g, std %g)", mean, std);
    fill(g, t, FILL_NORMAL, mean, std);
    return KR_OK;
}
