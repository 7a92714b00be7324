/* The per-sample kernels of the Zipser-Andersen coordinate-transform data set (zipser.c).
 *
 * A position p = (x, y) in degrees is coded on a square grid of n x n units: node ix sits at
 * origin + ix * step degrees, and unit (ix, iy), flattened x fastest as ix + n * iy, responds
 * exp(-((ix - cx)^2 + (iy - cy)^2) / (2 s^2)) with c = (p - origin) / step and s = sigma / step.
 * The chapter's grid: n = 8, origin = -40, step = 10 (nodes -40 .. +30: positions above +30
 * lie beyond the last node, an asymmetry the chapter keeps), sigma = sqrt(2) * 15 / 4 degrees
 * (a spot whose 1/e full width is 15 degrees).
 *
 * Samples are columns: positions are 2 x N (row 1 x, row 2 y), maps n*n x N.  Every tensor may be
 * float64 or float32 and have any strides (views are fine); outputs are written in place. */
#ifndef KR_ZIPSER_H
#define KR_ZIPSER_H

#include "tensor.h"

typedef struct kr_za_grid {
    int n;         /* nodes per axis */
    double origin; /* position of node 0, degrees */
    double step;   /* node spacing, degrees */
    double sigma;  /* spot width, degrees */
} kr_za_grid;

/* The chapter's grid (8 nodes from -40 degrees in 10-degree steps, sigma = sqrt(2)*15/4). */
kr_za_grid kr_za_grid_default(void);

/* maps[:, j] = the Gaussian spot of pos[:, j] on the grid (maps is n*n x N, pos 2 x N). */
kr_status kr_za_maps(kr_tensor *maps, const kr_tensor *pos, const kr_za_grid *g);

typedef enum kr_za_peak_method {
    KR_ZA_PEAK_ARGMAX, /* the position of the most active node */
    KR_ZA_PEAK_FIT     /* a parabola through the logs of the node and its two neighbours on each
                          axis: exact for a spot on the grid's interior, the node at an edge */
} kr_za_peak_method;

/* pos[:, j] = the peak of the map maps[:, j], in degrees (pos is 2 x N, maps n*n x N). */
kr_status kr_za_peaks(kr_tensor *pos, const kr_tensor *maps, const kr_za_grid *g,
                      kr_za_peak_method method);

/* The monotonic eye-position code of Zipser & Andersen's model: for each axis and each slope
 * sign, `units` rectified-linear units over eye positions e in [-range, range] degrees.  Unit i
 * (0-based) is the line through (range, 1) and (-range, -2i/units), rectified:
 *     u_i(e) = max(0, y0 + (1 - y0) (e + range) / (2 range)),   y0 = -2i/units,
 * and its falling twin is u_i(-e).  Rows of code (4*units x N), in blocks of `units`:
 * x rising, x falling, y rising, y falling.  eye is 2 x N, degrees.  The chapter: units = 8,
 * range = 80 (eye = head - retina), so u(-10) = (0.4375, 0.297, 0.156, 0.016, 0, 0, 0, 0). */
kr_status kr_za_eye_code(kr_tensor *code, const kr_tensor *eye, int units, double range);

#endif
