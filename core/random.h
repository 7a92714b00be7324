/* A seeded, portable random generator: xoshiro256** (Blackman & Vigna), seeded through
 * splitmix64, so a seed gives the same numbers on every machine.
 * Uniform doubles take the top 53 bits: u = (x >> 11) * 2^-53, in [0, 1).
 * Normals use the Marsaglia polar method, keeping the second value of each pair.
 * Integers below n use Lemire's multiply-shift with rejection (unbiased).
 *
 * Tensor fills visit the elements in row-major order of their logical indices (whatever the
 * strides): a uniform fill takes one 64-bit output per element, a normal fill the polar method's
 * values in turn.  float64 elements get u as above; float32 elements get the top 24
 * bits, u = (x >> 40) * 2^-24, so U[0, 1) in float32 never rounds up to 1; float32 normals are
 * the float64 draws rounded. */
#ifndef KR_RANDOM_H
#define KR_RANDOM_H

#include <stdint.h>

#include "tensor.h"

typedef struct kr_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} kr_rng;

void kr_rng_seed(kr_rng *g, uint64_t seed);
uint64_t kr_rng_next(kr_rng *g);
double kr_rng_uniform(kr_rng *g);           /* [0, 1) */
double kr_rng_normal(kr_rng *g);            /* N(0, 1) */
uint64_t kr_rng_below(kr_rng *g, uint64_t n); /* uniform in [0, n), unbiased */

/* t = a + (b - a) U[0, 1), element by element in row-major order of t's logical indices. */
kr_status kr_rng_fill_uniform(kr_rng *g, kr_tensor *t, double a, double b);
/* t = mean + std N(0, 1). */
kr_status kr_rng_fill_normal(kr_rng *g, kr_tensor *t, double mean, double std);
/* out[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void kr_rng_permutation(kr_rng *g, int64_t n, int64_t *out);

#endif
