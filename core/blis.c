/* BLIS as a second GEMM backend (gemm_backend.h), loaded at run time.
 *
 * Why dlopen with RTLD_LOCAL: Debian's libblis also exports the whole BLAS and CBLAS interface
 * (cblas_sgemm, sgemm_, ...).  Linked like OpenBLAS, link and load order would decide which
 * library serves a cblas_ call or LAPACK's internal sgemm_ calls.  Opened locally, none of its
 * symbols enter the global namespace: every cblas_/Fortran BLAS call (kairo's gemv, LAPACK)
 * stays OpenBLAS's, and kairo reaches BLIS only through the typed functions looked up here
 * (bli_sgemm / bli_dgemm, which take general strides).  A machine without libblis runs
 * OpenBLAS alone.
 *
 * The kernel set: BLIS 0.9 picks its sub-configuration from the CPU model and falls back to
 * its slow reference kernels ('generic') on CPUs newer than it knows (Zen 5).  Then kairo
 * chooses from the CPU's flags (AVX-512F: skx; AVX2 + FMA: zen3 on AMD, haswell elsewhere) by
 * reloading the library with BLIS_ARCH_TYPE set for its initialisation only.  A user's own
 * BLIS_ARCH_TYPE is never overridden: BLIS 0.9 reads it as a number (0 skx, 3 haswell, 6 zen3,
 * ...) and aborts the process on an id it lacks, so a value that is not one of this library's
 * x86-64 sub-configurations makes kairo leave BLIS unused (kr.config() says why). */
#include "gemm_backend.h"
#include "linalg.h"

#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* BLIS 0.9's types, as its blis.h defines them on x86-64 (gint_t is 64-bit there) */
typedef long bli_dim;
typedef int bli_trans; /* trans_t; BLIS_NO_TRANSPOSE = 0 */
typedef void (*bli_sgemm_fn)(bli_trans, bli_trans, bli_dim, bli_dim, bli_dim, const float *,
                             const float *, bli_dim, bli_dim, const float *, bli_dim, bli_dim,
                             const float *, float *, bli_dim, bli_dim);
typedef void (*bli_dgemm_fn)(bli_trans, bli_trans, bli_dim, bli_dim, bli_dim, const double *,
                             const double *, bli_dim, bli_dim, const double *, bli_dim, bli_dim,
                             const double *, double *, bli_dim, bli_dim);

/* BLIS 0.9's arch_t ids of the x86-64 sub-configurations Debian builds (bli_arch_string) */
enum { ARCH_SKX = 0, ARCH_KNL = 1, ARCH_HASWELL = 3, ARCH_ZEN3 = 6, ARCH_GENERIC = 25 };
static const int x86_archs[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 25};

static const char *const blis_names[] = {"libblis.so.4", "libblis.so"};

static struct {
    pthread_once_t once;
    void *lib;
    bli_sgemm_fn sgemm;
    bli_dgemm_fn dgemm;
    void (*set_threads)(bli_dim);
    char arch[32];   /* the kernel set in use, "skx" */
    char version[32];
    char chosen[80]; /* who chose it: "BLIS's detection", "kairo, from the CPU flags (...)" */
    char why[200];   /* why BLIS is not in use, when it is not */
    int fast;        /* not the generic kernels */
    int threads;     /* the count kr_set_threads asked for before the load (0: none) */
} blis = {.once = PTHREAD_ONCE_INIT};

static void *open_blis(void)
{
    for (size_t i = 0; i < sizeof blis_names / sizeof *blis_names; i++) {
        void *h = dlopen(blis_names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

static int arch_query(void *h)
{
    int (*query)(void) = (int (*)(void))dlsym(h, "bli_arch_query_id");
    return query ? query() : -1;
}

static const char *arch_name(void *h, int id)
{
    char *(*name)(int) = (char *(*)(int))dlsym(h, "bli_arch_string");
    const char *s = name && id >= 0 ? name(id) : NULL;
    return s ? s : "unknown";
}

/* The sub-configuration for this CPU's flags, or -1 when it has neither AVX-512F nor AVX2+FMA */
static int arch_from_flags(const char **flags)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *flags = "AVX-512F";
        return ARCH_SKX;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *flags = "AVX2 + FMA";
        return __builtin_cpu_is("amd") ? ARCH_ZEN3 : ARCH_HASWELL;
    }
#endif
    (void)flags;
    return -1;
}

/* A user's BLIS_ARCH_TYPE: 1 when BLIS 0.9 can start with it (a number naming one of its
 * x86-64 sub-configurations), else 0 with the reason in blis.why */
static int user_arch_ok(const char *v)
{
    char *end;
    long id = strtol(v, &end, 10);
    while (*end && isspace((unsigned char)*end)) end++;
    if (*v && *end == '\0')
        for (size_t i = 0; i < sizeof x86_archs / sizeof *x86_archs; i++)
            if (x86_archs[i] == id) return 1;
    snprintf(blis.why, sizeof blis.why,
             "BLIS_ARCH_TYPE='%.40s' is not a BLIS 0.9 x86-64 sub-configuration id "
             "(0 skx, 3 haswell, 6 zen3, 25 generic, ...)",
             v);
    return 0;
}

static void load(void)
{
    const char *mode = getenv("KAIRO_BLAS");
    if (mode && strcmp(mode, "openblas") == 0) {
        snprintf(blis.why, sizeof blis.why, "KAIRO_BLAS=openblas");
        return;
    }
    const char *user = getenv("BLIS_ARCH_TYPE");
    if (user && !user_arch_ok(user)) return;
    /* Already in the process (linked by someone else): its choice is made, use it as it is. */
    void *h = NULL;
    for (size_t i = 0; !h && i < sizeof blis_names / sizeof *blis_names; i++)
        h = dlopen(blis_names[i], RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    int preloaded = h != NULL;
    if (!h) h = open_blis();
    if (!h) {
        snprintf(blis.why, sizeof blis.why, "libblis.so.4 not found (Debian: libblis4)");
        return;
    }
    snprintf(blis.chosen, sizeof blis.chosen, "%s",
             user ? "BLIS_ARCH_TYPE" : preloaded ? "BLIS (loaded before kairo)" : "BLIS's detection");
    /* BLIS 0.9 aborts when asked its sub-configuration before bli_init with BLIS_ARCH_TYPE set */
    void (*init)(void) = (void (*)(void))dlsym(h, "bli_init");
    if (user && init) init();
    const char *flags = "";
    int want;
    if (!user && !preloaded && arch_query(h) == ARCH_GENERIC && (want = arch_from_flags(&flags)) >= 0) {
        /* BLIS fixes its sub-configuration once per load: unload, reload with the choice set
         * for its initialisation, then leave the environment as it was. */
        dlclose(h);
        char id[16];
        snprintf(id, sizeof id, "%d", want);
        setenv("BLIS_ARCH_TYPE", id, 1);
        h = open_blis();
        init = h ? (void (*)(void))dlsym(h, "bli_init") : NULL;
        if (init) init();
        unsetenv("BLIS_ARCH_TYPE");
        if (!h) {
            snprintf(blis.why, sizeof blis.why, "libblis.so.4 could not be reopened");
            return;
        }
        snprintf(blis.chosen, sizeof blis.chosen, "kairo, from the CPU flags (%s)", flags);
    }
    blis.sgemm = (bli_sgemm_fn)dlsym(h, "bli_sgemm");
    blis.dgemm = (bli_dgemm_fn)dlsym(h, "bli_dgemm");
    blis.set_threads = (void (*)(bli_dim))dlsym(h, "bli_thread_set_num_threads");
    if (!blis.sgemm || !blis.dgemm || !blis.set_threads) {
        snprintf(blis.why, sizeof blis.why, "libblis lacks bli_sgemm/bli_dgemm");
        blis.sgemm = NULL;
        blis.dgemm = NULL;
        return;
    }
    const char *(*version)(void) = (const char *(*)(void))dlsym(h, "bli_info_get_version_str");
    snprintf(blis.version, sizeof blis.version, "%s", version ? version() : "?");
    int id = arch_query(h);
    snprintf(blis.arch, sizeof blis.arch, "%s", arch_name(h, id));
    blis.fast = id != ARCH_GENERIC;
    if (!blis.fast)
        snprintf(blis.why, sizeof blis.why, "BLIS runs its generic (reference) kernels here");
    /* BLIS's own default is one thread (or BLIS_NUM_THREADS): follow kairo's count */
    if (blis.threads < 1) blis.threads = kr_get_threads();
    blis.set_threads(blis.threads);
    blis.lib = h;
}

int kr_blis_ready(void)
{
    pthread_once(&blis.once, load);
    return blis.lib != NULL;
}

int kr_blis_fast(void)
{
    return kr_blis_ready() && blis.fast;
}

void kr_blis_set_threads(int n)
{
    blis.threads = n;
    if (kr_blis_ready()) blis.set_threads(n);
}

int kr_blis_get_threads(void)
{
    return kr_blis_ready() ? blis.threads : 0;
}

const char *kr_blis_arch(void)
{
    pthread_once(&blis.once, load);
    return blis.arch;
}

const char *kr_blis_version(void)
{
    pthread_once(&blis.once, load);
    return blis.version;
}

const char *kr_blis_chosen_by(void)
{
    pthread_once(&blis.once, load);
    return blis.chosen;
}

const char *kr_blis_why_not(void)
{
    pthread_once(&blis.once, load);
    return blis.why;
}

/* C = alpha A B + beta C with element strides (A m x k, B k x n, C m x n) */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One thread or all, learnt per shape while the program runs.  BLIS's threads meet at
 * spinning barriers: when the machine runs more threads than it has cores, a thread waiting
 * for a descheduled partner spins through its time slice, and a 128x256x784 product measured
 * 30x slower on two threads than on one.  So every threaded-class call is timed (two clock
 * reads against >= 512K multiply-adds) and each shape keeps the rate of both variants (an
 * exponential average): it runs the faster, and tries the other every 32nd call (every 256th
 * when that one was 4x slower).  A call counts only when the call before it on that shape ran
 * the same variant, and a try of the other variant is two calls: a variant's first call after
 * the other pays for waking (or, the first time, starting) BLIS's threads and for faulting in
 * its packing buffers, which made two threads look slower than one at every shape of the MLP
 * step and of inference (predict ran 1.8x slower for it).  On a quiet machine the threaded
 * variant wins and 2 calls in 32 run on one thread.  Results do not depend on the variant:
 * BLIS splits a product among threads by blocks of C, never along k. */
enum { SLOTS = 64, EXPLORE = 32, EXPLORE_RARE = 256 };
static struct shape_slot {
    int64_t m, n, k;
    int dt;
    unsigned calls;
    double rate[2]; /* GFLOP/s on one thread, on all; 0 before the first counted try */
    int last;       /* the variant of the previous call (-1: none yet) */
    int exploring;  /* calls of the other variant still to run in the current try */
} slots[SLOTS];

static struct shape_slot *slot_of(kr_dtype dt, int64_t m, int64_t n, int64_t k)
{
    uint64_t h = (uint64_t)m * 0x9E3779B97F4A7C15u ^ (uint64_t)n * 0xC2B2AE3D27D4EB4Fu ^
                 (uint64_t)k * 0x165667B19E3779F9u ^ (uint64_t)dt;
    struct shape_slot *s = &slots[(h >> 32) % SLOTS];
    if (s->m != m || s->n != n || s->k != k || s->dt != (int)dt)
        *s = (struct shape_slot){.m = m, .n = n, .k = k, .dt = (int)dt, .last = -1};
    return s;
}

static int pick_variant(struct shape_slot *s)
{
    if (s->rate[1] == 0) return 1;
    if (s->rate[0] == 0) return 0;
    int best = s->rate[1] >= s->rate[0], other = !best;
    if (s->exploring > 0) {
        s->exploring--;
        return other;
    }
    unsigned every = s->rate[other] * 4 < s->rate[best] ? EXPLORE_RARE : EXPLORE;
    if (s->calls % every != every - 1) return best;
    s->exploring = 1; /* this call and the next */
    return other;
}

void kr_blis_gemm(kr_dtype dt, int one_thread, int64_t m, int64_t n, int64_t k, double alpha,
                  const void *A, int64_t as0, int64_t as1, const void *B, int64_t bs0,
                  int64_t bs1, double beta, void *C, int64_t cs0, int64_t cs1)
{
    int threads = blis.threads;
    struct shape_slot *slot = NULL;
    int variant = 0;
    double t0 = 0;
    if (!one_thread && threads > 1) {
        slot = slot_of(dt, m, n, k);
        variant = pick_variant(slot);
        one_thread = variant == 0;
        t0 = now();
    }
    int toggle = one_thread && threads > 1;
    if (toggle) blis.set_threads(1);
    if (dt == KR_F64) {
        blis.dgemm(0, 0, m, n, k, &alpha, A, as0, as1, B, bs0, bs1, &beta, C, cs0, cs1);
    } else {
        float a = (float)alpha, b = (float)beta;
        blis.sgemm(0, 0, m, n, k, &a, A, as0, as1, B, bs0, bs1, &b, C, cs0, cs1);
    }
    if (toggle) blis.set_threads(threads);
    if (slot) {
        double rate = 2e-9 * (double)m * (double)n * (double)k / (now() - t0 + 1e-9);
        double *r = &slot->rate[variant];
        if (slot->last == variant) *r = *r == 0 ? rate : 0.75 * *r + 0.25 * rate;
        slot->last = variant;
        slot->calls++;
    }
}
