/* Zipser-Andersen kernels (see zipser.h). */
#include "zipser.h"

#include <math.h>

#define SHAPE(t, buf) kr_tensor_shape_str((t), (buf), sizeof(buf))

/* Element (i, j) of a 2-D tensor of either dtype, through its strides. */
static double get2(const kr_tensor *t, int64_t i, int64_t j)
{
    int64_t o = i * t->stride[0] + j * t->stride[1];
    return t->dtype == KR_F64 ? ((const double *)kr_data(t))[o] : ((const float *)kr_data(t))[o];
}

static void set2(const kr_tensor *t, int64_t i, int64_t j, double v)
{
    int64_t o = i * t->stride[0] + j * t->stride[1];
    if (t->dtype == KR_F64) ((double *)kr_data(t))[o] = v;
    else ((float *)kr_data(t))[o] = (float)v;
}

kr_za_grid kr_za_grid_default(void)
{
    kr_za_grid g = {8, -40.0, 10.0, sqrt(2.0) * 15.0 / 4.0};
    return g;
}

static kr_status check_grid(const char *op, const kr_za_grid *g)
{
    if (!g || g->n < 1 || g->n > 256 || !(g->step > 0) || !(g->sigma > 0) || !isfinite(g->origin))
        return kr_fail(KR_EINVAL, "%s: the grid needs n >= 1, step > 0 and sigma > 0", op);
    return KR_OK;
}

/* Checks t is a live 2-D tensor with `rows` rows (and `cols` columns unless cols < 0). */
static kr_status check_2d(const char *op, const char *role, const kr_tensor *t, int64_t rows,
                          int64_t cols)
{
    char buf[8 * 21];
    if (!t || !t->storage) return kr_fail(KR_EINVAL, "%s: %s is missing", op, role);
    if (t->ndim != 2 || t->size[0] != rows || (cols >= 0 && t->size[1] != cols)) {
        if (cols >= 0)
            return kr_fail(KR_EINVAL, "%s: %s must be %lldx%lld, got %s", op, role,
                           (long long)rows, (long long)cols, SHAPE(t, buf));
        return kr_fail(KR_EINVAL, "%s: %s must be %lldxN, got %s", op, role, (long long)rows,
                       SHAPE(t, buf));
    }
    return KR_OK;
}

kr_status kr_za_maps(kr_tensor *maps, const kr_tensor *pos, const kr_za_grid *g)
{
    kr_status st;
    if ((st = check_grid("za_maps", g)) != KR_OK) return st;
    if ((st = check_2d("za_maps", "positions", pos, 2, -1)) != KR_OK) return st;
    int n = g->n;
    int64_t N = pos->size[1];
    if ((st = check_2d("za_maps", "maps", maps, (int64_t)n * n, N)) != KR_OK) return st;
    double s = g->sigma / g->step, k = 1.0 / (2.0 * s * s);
    double ex[256], ey[256];
    for (int64_t j = 0; j < N; j++) {
        double cx = (get2(pos, 0, j) - g->origin) / g->step;
        double cy = (get2(pos, 1, j) - g->origin) / g->step;
        /* exp(-(dx^2 + dy^2) k) = exp(-dx^2 k) exp(-dy^2 k): 2n exponentials, not n^2. */
        for (int i = 0; i < n; i++) {
            ex[i] = exp(-(i - cx) * (i - cx) * k);
            ey[i] = exp(-(i - cy) * (i - cy) * k);
        }
        for (int iy = 0; iy < n; iy++)
            for (int ix = 0; ix < n; ix++) set2(maps, ix + (int64_t)n * iy, j, ex[ix] * ey[iy]);
    }
    return KR_OK;
}

/* Offset of the peak from the middle of three samples a, b, c of a Gaussian (log-parabola). */
static double log_parabola(double a, double b, double c)
{
    if (!(a > 0 && b > 0 && c > 0)) return 0.0;
    double la = log(a), lb = log(b), lc = log(c), curv = la - 2.0 * lb + lc;
    if (!(curv < 0)) return 0.0;
    double d = 0.5 * (la - lc) / curv;
    return d < -0.5 ? -0.5 : d > 0.5 ? 0.5 : d;
}

kr_status kr_za_peaks(kr_tensor *pos, const kr_tensor *maps, const kr_za_grid *g,
                      kr_za_peak_method method)
{
    kr_status st;
    if ((st = check_grid("za_peaks", g)) != KR_OK) return st;
    int n = g->n;
    if ((st = check_2d("za_peaks", "maps", maps, (int64_t)n * n, -1)) != KR_OK) return st;
    int64_t N = maps->size[1];
    if ((st = check_2d("za_peaks", "positions", pos, 2, N)) != KR_OK) return st;
    if (method != KR_ZA_PEAK_ARGMAX && method != KR_ZA_PEAK_FIT)
        return kr_fail(KR_EINVAL, "za_peaks: unknown method %d", (int)method);
    for (int64_t j = 0; j < N; j++) {
        int64_t best = 0;
        double bv = get2(maps, 0, j);
        for (int64_t u = 1; u < (int64_t)n * n; u++) {
            double v = get2(maps, u, j);
            if (v > bv) bv = v, best = u;
        }
        int ix = (int)(best % n), iy = (int)(best / n);
        double cx = ix, cy = iy;
        if (method == KR_ZA_PEAK_FIT) {
            if (ix > 0 && ix < n - 1)
                cx += log_parabola(get2(maps, best - 1, j), bv, get2(maps, best + 1, j));
            if (iy > 0 && iy < n - 1)
                cy += log_parabola(get2(maps, best - n, j), bv, get2(maps, best + n, j));
        }
        set2(pos, 0, j, g->origin + g->step * cx);
        set2(pos, 1, j, g->origin + g->step * cy);
    }
    return KR_OK;
}

kr_status kr_za_eye_code(kr_tensor *code, const kr_tensor *eye, int units, double range)
{
    kr_status st;
    if (units < 1 || units > 1 << 20 || !(range > 0) || !isfinite(range))
        return kr_fail(KR_EINVAL, "za_eye_code: needs units >= 1 and range > 0, got %d and %g",
                       units, range);
    if ((st = check_2d("za_eye_code", "eye positions", eye, 2, -1)) != KR_OK) return st;
    int64_t N = eye->size[1];
    if ((st = check_2d("za_eye_code", "code", code, 4 * (int64_t)units, N)) != KR_OK) return st;
    for (int64_t j = 0; j < N; j++) {
        for (int axis = 0; axis < 2; axis++) {
            double e = get2(eye, axis, j);
            for (int sign = 0; sign < 2; sign++) {
                /* t: where e sits between -range (0) and +range (1), mirrored for falling units */
                double t = ((sign ? -e : e) + range) / (2.0 * range);
                for (int i = 0; i < units; i++) {
                    double y0 = -2.0 * i / units, u = y0 + (1.0 - y0) * t;
                    set2(code, (int64_t)(2 * axis + sign) * units + i, j, u > 0 ? u : 0.0);
                }
            }
        }
    }
    return KR_OK;
}
