/* GEMM throughput of OpenBLAS and BLIS side by side, per shape (the measurements behind the
 * per-shape rule in core/gemm_backend.c).  The two libraries alternate call by call group, so
 * both see the same load.  Row-major C = A B (A m x k, B k x n), no transposes, like the MLP's
 * forward products.
 *   build/bench/gemm_shapes [f32|f64] [threads] [MxNxK ...]
 * prints per shape the GFLOP/s (medians of 7) of each library with that many threads and with
 * one, and the best of the four. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/gemm_backend.h"
#include "../core/linalg.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* arms: 0 OpenBLAS with the threads asked for, 1 BLIS so, 2 OpenBLAS 1 thread, 3 BLIS 1 thread */
enum { ARMS = 4 };
static const char *arm_names[ARMS] = {"openblas", "blis", "openblas1", "blis1"};
static int nthreads;

static void run(int arm, int f64, long m, long n, long k, void *A, void *B, void *C)
{
    int lib = arm & 1;
    if (arm >= 2) kr_set_threads(1);
    if (lib == 0) {
        if (f64)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, A, k, B, n, 0.0,
                        C, n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, k, B, n,
                        0.0f, C, n);
    } else {
        kr_blis_gemm(f64 ? KR_F64 : KR_F32, 0, m, n, k, 1.0, A, k, 1, B, n, 1, 0.0, C, n, 1);
    }
    if (arm >= 2) kr_set_threads(nthreads);
}

int main(int argc, char **argv)
{
    int f64 = argc > 1 && strcmp(argv[1], "f64") == 0;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int only = getenv("ONLY") ? atoi(getenv("ONLY")) : -1; /* one library alone */
    static const char *defaults[] = {"1024x1024x1024", "128x256x784", "256x784x128", "784x256x128",
                                     "128x256x256", "256x256x128", "128x10x256", "10x256x128",
                                     "128x256x10", "100x100x100", "10000x256x784", "10000x10x256",
                                     "64x64x64", "32x32x32", "128x64x32", "16x256x256"};
    const char **shapes = argc > 3 ? (const char **)argv + 3 : defaults;
    int nshapes = argc > 3 ? argc - 3 : (int)(sizeof defaults / sizeof *defaults);
    kr_set_threads(threads);
    nthreads = threads;
    if (!kr_blis_ready()) {
        printf("BLIS not available: %s\n", kr_blis_why_not());
        return 1;
    }
    printf("# GFLOP/s, medians of 7, OpenBLAS %s and BLIS %s, %s\n", kr_blas_core(),
           kr_blis_arch(), f64 ? "f64" : "f32");
    printf("# shape            openblas(%d) blis(%d) openblas(1) blis(1)  best\n", threads, threads);
    size_t es = f64 ? 8 : 4;
    for (int s = 0; s < nshapes; s++) {
        long m, n, k;
        if (sscanf(shapes[s], "%ldx%ldx%ld", &m, &n, &k) != 3) return 2;
        char *A = malloc(m * k * es), *B = malloc(k * n * es), *C = malloc(m * n * es);
        for (long i = 0; i < m * k; i++)
            if (f64) ((double *)A)[i] = (i % 7) * 0.1; else ((float *)A)[i] = (i % 7) * 0.1f;
        for (long i = 0; i < k * n; i++)
            if (f64) ((double *)B)[i] = (i % 5) * 0.1; else ((float *)B)[i] = (i % 5) * 0.1f;
        double flops = 2.0 * m * n * k;
        long reps = (long)(2e8 / flops) + 1; /* about 1-2 ms of work per sample */
        enum { SAMPLES = 7 };
        double g[ARMS][SAMPLES];
        for (int arm = 0; arm < ARMS; arm++) run(arm, f64, m, n, k, A, B, C); /* warm */
        for (int r = 0; r < SAMPLES; r++)
            for (int arm = 0; arm < ARMS; arm++) {
                if (only >= 0 && arm != only) { g[arm][r] = 0; continue; }
                double t0 = now();
                for (long i = 0; i < reps; i++) run(arm, f64, m, n, k, A, B, C);
                g[arm][r] = flops * reps / (now() - t0) / 1e9;
            }
        printf("%-16s %s", shapes[s], f64 ? "f64" : "f32");
        int best = 0;
        for (int arm = 0; arm < ARMS; arm++) {
            qsort(g[arm], SAMPLES, sizeof(double), cmp);
            printf(" %8.1f", g[arm][SAMPLES / 2]);
            if (g[arm][SAMPLES / 2] > g[best][SAMPLES / 2]) best = arm;
        }
        printf("  %s\n", arm_names[best]);
        fflush(stdout);
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
