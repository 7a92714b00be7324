/* The machine's floating-point peak, measured: independent chains of fused multiply-adds, in
 * 256-bit (AVX2 + FMA) and 512-bit (AVX-512F) registers where the CPU has them, float32 and
 * float64, on 1 and on T threads.  make bench reports every GEMM and training throughput also
 * as a percentage of the best of these.
 *   build/bench/fma_peak [T]        (T defaults to 2)
 * prints one line per case: "fma <isa> <dtype> <threads> <GFLOP/s>", the best of 5 runs
 * (a peak: interference only ever lowers it).
 *
 * CHAINS accumulators hide the FMA latency (4 cycles on current x86 cores, 2 pipes: 8 in
 * flight are needed).  The kernels carry target attributes, so the file builds with plain
 * -O2 on any x86-64 and runs only what __builtin_cpu_supports reports. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { CHAINS = 12, ITERS = 20 * 1000 * 1000, RUNS = 5 };

typedef struct job {
    int isa, f64; /* isa: 0 AVX2, 1 AVX-512 */
    double sink;
} job;

/* CHAINS named accumulators (not an array, which GCC keeps in memory at -O2) */
#define BODY(V, SET1, FMA, ADD, T)                                                      \
    do {                                                                                \
        V a = SET1((T)0.999999), b = SET1((T)1e-7);                                     \
        V x0 = SET1((T)0.0), x1 = SET1((T)0.1), x2 = SET1((T)0.2), x3 = SET1((T)0.3);   \
        V x4 = SET1((T)0.4), x5 = SET1((T)0.5), x6 = SET1((T)0.6), x7 = SET1((T)0.7);   \
        V x8 = SET1((T)0.8), x9 = SET1((T)0.9), x10 = SET1((T)1.0), x11 = SET1((T)1.1); \
        for (long i = 0; i < ITERS; i++) {                                              \
            x0 = FMA(x0, a, b), x1 = FMA(x1, a, b), x2 = FMA(x2, a, b);                 \
            x3 = FMA(x3, a, b), x4 = FMA(x4, a, b), x5 = FMA(x5, a, b);                 \
            x6 = FMA(x6, a, b), x7 = FMA(x7, a, b), x8 = FMA(x8, a, b);                 \
            x9 = FMA(x9, a, b), x10 = FMA(x10, a, b), x11 = FMA(x11, a, b);             \
        }                                                                               \
        V s = ADD(ADD(ADD(ADD(x0, x1), ADD(x2, x3)), ADD(ADD(x4, x5), ADD(x6, x7))),    \
                  ADD(ADD(x8, x9), ADD(x10, x11)));                                     \
        T out[sizeof(V) / sizeof(T)];                                                   \
        memcpy(out, &s, sizeof s);                                                      \
        return (double)out[0];                                                          \
    } while (0)

__attribute__((target("avx2,fma"))) static double run_avx2_f32(void)
{
    BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, float);
}
__attribute__((target("avx2,fma"))) static double run_avx2_f64(void)
{
    BODY(__m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd, double);
}
__attribute__((target("avx512f"))) static double run_avx512_f32(void)
{
    BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, float);
}
__attribute__((target("avx512f"))) static double run_avx512_f64(void)
{
    BODY(__m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_add_pd, double);
}

static void *worker(void *arg)
{
    job *j = arg;
    j->sink = j->isa ? (j->f64 ? run_avx512_f64() : run_avx512_f32())
                     : (j->f64 ? run_avx2_f64() : run_avx2_f32());
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* GFLOP/s of `threads` threads each running the kernel once */
static double measure(int isa, int f64, int threads)
{
    pthread_t tid[64];
    job jobs[64];
    double t0 = now();
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){.isa = isa, .f64 = f64};
        pthread_create(&tid[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double dt = now() - t0;
    int lanes = (isa ? 64 : 32) / (f64 ? 8 : 4);
    return 2.0 * lanes * CHAINS * (double)ITERS * threads / dt / 1e9;
}

int main(int argc, char **argv)
{
    int tmax = argc > 1 ? atoi(argv[1]) : 2;
    if (tmax < 1 || tmax > 64) tmax = 2;
    __builtin_cpu_init();
    int has[2] = {__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
                  __builtin_cpu_supports("avx512f")};
    static const char *isa_name[2] = {"avx2", "avx512"};
    int counts[2] = {1, tmax};
    for (int isa = 0; isa < 2; isa++) {
        if (!has[isa]) {
            printf("fma %s none: the CPU lacks it\n", isa_name[isa]);
            continue;
        }
        for (int f64 = 0; f64 < 2; f64++)
            for (int c = 0; c < (tmax > 1 ? 2 : 1); c++) {
                double best = 0;
                for (int r = 0; r < RUNS; r++) {
                    double g = measure(isa, f64, counts[c]);
                    if (g > best) best = g;
                }
                printf("fma %s %s %d %.1f\n", isa_name[isa], f64 ? "f64" : "f32", counts[c], best);
                fflush(stdout);
            }
    }
    return 0;
}
