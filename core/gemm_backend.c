/* The choice of GEMM library and thread count per shape class (gemm_backend.h).
 *
 * Two classes, from measurements on a 2-core Zen 5 with AVX-512 (bench/gemm_shapes.c; the
 * numbers are in the notes of issue 14):
 *   small   below MID multiply-adds, or a dimension below MIN_DIM (64x64x64; the MLP step's
 *           10-class products 128x10x256, 10x256x128, 128x256x10): OpenBLAS on one thread.
 *           BLIS's per-call set-up (its objects, packing) outweighs its faster kernels here,
 *           and a second thread costs more than it brings at these sizes, the more so while
 *           BLIS's own threads may still be spinning after its last call.
 *   large   the rest (100x100x100, the MLP's 128x256x784 layers, 10000x256x784, 1024^3):
 *           BLIS, whose AVX-512 kernels reach 1.5-2.3x OpenBLAS's Haswell ones; on one thread
 *           or on all, whichever blis.c has measured faster for that shape so far in this
 *           process (see there: BLIS's spinning barriers make threads a loss on a busy machine).
 * One library runs at a time and the other's threads are idle then, so kr_set_threads(n)
 * never puts more than n threads to work. */
#include "gemm_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MIN_DIM = 8 };
static const int64_t MID = 1 << 19; /* multiply-adds: 524288, 80x80x80 */

typedef enum mode { MODE_AUTO, MODE_OPENBLAS, MODE_BLIS } mode;

static pthread_once_t mode_once = PTHREAD_ONCE_INIT;
static mode gemm_mode = MODE_AUTO;
static uint64_t calls[2];

static void read_mode(void)
{
    const char *v = getenv("KAIRO_BLAS");
    if (v && strcmp(v, "openblas") == 0) gemm_mode = MODE_OPENBLAS;
    else if (v && strcmp(v, "blis") == 0) gemm_mode = kr_blis_ready() ? MODE_BLIS : MODE_OPENBLAS;
    else gemm_mode = kr_blis_fast() ? MODE_AUTO : MODE_OPENBLAS;
}

kr_gemm_lib kr_gemm_choose(kr_dtype dt, int64_t m, int64_t n, int64_t k, int *one_thread)
{
    (void)dt;
    pthread_once(&mode_once, read_mode);
    *one_thread = 0;
    if (gemm_mode == MODE_OPENBLAS) return KR_GEMM_OPENBLAS;
    int64_t least = m < n ? m : n;
    if (k < least) least = k;
    int mid = m * n * k >= MID;
    if (gemm_mode == MODE_BLIS) {
        *one_thread = !mid;
        return KR_GEMM_BLIS;
    }
    if (least < MIN_DIM || !mid) {
        *one_thread = 1;
        return KR_GEMM_OPENBLAS;
    }
    return KR_GEMM_BLIS;
}

void kr_gemm_count(kr_gemm_lib lib)
{
    calls[lib]++;
}

void kr_gemm_counts(uint64_t counts[2])
{
    counts[0] = calls[0];
    counts[1] = calls[1];
}

const char *kr_gemm_mode(void)
{
    pthread_once(&mode_once, read_mode);
    switch (gemm_mode) {
    case MODE_OPENBLAS: return "openblas";
    case MODE_BLIS: return "blis";
    default: return "auto";
    }
}

const char *kr_gemm_env_error(void)
{
    static char why[300];
    const char *v = getenv("KAIRO_BLAS");
    if (!v || !*v || strcmp(v, "auto") == 0 || strcmp(v, "openblas") == 0) return NULL;
    if (strcmp(v, "blis") != 0) {
        snprintf(why, sizeof why, "KAIRO_BLAS='%.40s': expected openblas, blis or auto", v);
        return why;
    }
    if (kr_blis_ready()) return NULL;
    snprintf(why, sizeof why, "KAIRO_BLAS=blis, but BLIS cannot be used: %s", kr_blis_why_not());
    return why;
}

const char *kr_gemm_rule(void)
{
    pthread_once(&mode_once, read_mode);
    switch (gemm_mode) {
    case MODE_OPENBLAS: return "OpenBLAS for every GEMM";
    case MODE_BLIS: return "BLIS for every GEMM (one thread below 512K multiply-adds)";
    default:
        return "OpenBLAS on one thread below 512K multiply-adds or when m, n or k < 8; else BLIS, "
               "on one thread or all as measured per shape";
    }
}
