/* C-level checks of core/npy.c and core/svd.c (the busted suites cover them in depth). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/kairo.h"
#include "check.h"

static double at(const kr_tensor *t, int64_t i, int64_t j)
{
    int64_t ix[2] = {i, j};
    return kr_get(t, ix);
}

static void npy_checks(void)
{
    char dir[] = "/tmp/kairo-npy-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/a.npy", dir);

    /* a 3x4 float32 tensor saved through its 4x3 transposed view, read back in C order */
    kr_tensor t, v, r;
    int64_t size[2] = {3, 4};
    kr_tensor_empty(&t, KR_F32, 2, size);
    for (int i = 0; i < 12; i++) ((float *)kr_data(&t))[i] = (float)i + 0.5f;
    kr_transpose(&v, &t, 0, 1);
    CHECK(kr_npy_save(path, &v) == KR_OK, "save: %s", kr_last_error());
    CHECK(kr_npy_load(&r, path) == KR_OK, "load: %s", kr_last_error());
    CHECK(r.dtype == KR_F32 && r.ndim == 2 && r.size[0] == 4 && r.size[1] == 3, "shape back");
    int ok = 1;
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 3; j++) ok &= at(&r, i, j) == at(&v, i, j);
    CHECK(ok, "values back");
    kr_tensor_release(&r);

    /* the header: version 1.0, data aligned to 64 bytes */
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    CHECK(f && fread(pre, 1, 10, f) == 10, "read preamble");
    if (f) fclose(f);
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    CHECK(memcmp(pre, "\x93NUMPY\x01\x00", 8) == 0 && (10 + hlen) % 64 == 0, "preamble");

    /* errors */
    CHECK(kr_npy_load(&r, "/nonexistent/x.npy") == KR_EIO &&
              strcmp(kr_last_error(), "load: cannot open '/nonexistent/x.npy': No such file or "
                                      "directory") == 0, "%s", kr_last_error());
    char bad[80];
    snprintf(bad, sizeof bad, "%s/nodir/b.npy", dir);
    CHECK(kr_npy_save(bad, &t) == KR_EIO && strstr(kr_last_error(), "nodir/b.npy"), "%s",
          kr_last_error());
    f = fopen(path, "r+b");
    if (f) {
        fputc('X', f);
        fclose(f);
    }
    CHECK(kr_npy_load(&r, path) == KR_EFORMAT && strstr(kr_last_error(), "wrong magic"), "%s",
          kr_last_error());
    CHECK(kr_npy_save(path, &t) == KR_OK && truncate(path, 128 + 36) == 0, "save, truncate");
    CHECK(kr_npy_load(&r, path) == KR_EFORMAT &&
              strstr(kr_last_error(), "is truncated: shape 3x4 of '<f4' needs 48 data bytes, "
                                      "the file holds 36"), "%s", kr_last_error());
    kr_tensor_release(&v);
    kr_tensor_release(&t);
    unlink(path);
    rmdir(dir);
}

static void svd_checks(void)
{
    /* Saxe's 7x4 property-item table: singular values sqrt 7, sqrt 3, 1, 1 */
    static const double Y[7][4] = {{1, 1, 1, 1}, {1, 1, 0, 0}, {0, 0, 1, 1}, {1, 0, 0, 0},
                                   {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    for (int dt = 0; dt < 2; dt++) {
        kr_tensor A, U, S, V;
        int64_t size[2] = {7, 4};
        kr_tensor_empty(&A, dt ? KR_F32 : KR_F64, 2, size);
        for (int64_t i = 0; i < 7; i++)
            for (int64_t j = 0; j < 4; j++) kr_set(&A, (int64_t[]){i, j}, Y[i][j]);
        double tol = dt ? 1e-5 : 1e-12;
        CHECK(kr_svd(&U, &S, &V, &A) == KR_OK, "svd: %s", kr_last_error());
        double want[4] = {sqrt(7), sqrt(3), 1, 1};
        for (int64_t k = 0; k < 4; k++)
            CHECK(fabs(kr_get(&S, &k) - want[k]) < tol * 3, "s%d = %.17g", (int)k, kr_get(&S, &k));
        double err = 0;
        for (int64_t i = 0; i < 7; i++)
            for (int64_t j = 0; j < 4; j++) {
                double x = 0;
                for (int64_t k = 0; k < 4; k++) x += at(&U, i, k) * kr_get(&S, &k) * at(&V, j, k);
                err = fmax(err, fabs(x - Y[i][j]));
            }
        CHECK(err < tol * 3, "reconstruction error %g", err);
        int64_t r;
        CHECK(kr_rank(&A, -1, &r) == KR_OK && r == 4, "rank");
        kr_tensor_release(&U);
        kr_tensor_release(&S);
        kr_tensor_release(&V);
        kr_set(&A, (int64_t[]){2, 3}, NAN);
        U.storage = S.storage = V.storage = NULL;
        CHECK(kr_svd(&U, &S, &V, &A) == KR_EINVAL &&
                  strcmp(kr_last_error(), "svd: A (7x4) contains NaN or infinity") == 0, "%s",
              kr_last_error());
        CHECK(U.storage == NULL && S.storage == NULL && V.storage == NULL, "nothing allocated");
        kr_tensor_release(&A);
        kr_tensor_empty(&A, dt ? KR_F32 : KR_F64, 1, size);
        CHECK(kr_svd(&U, &S, &V, &A) == KR_EINVAL &&
                  strcmp(kr_last_error(), "svd: expected a 2-D tensor A, got 7") == 0, "%s",
              kr_last_error());
        kr_tensor_release(&A);
    }
}

int main(void)
{
    npy_checks();
    svd_checks();
    return check_summary();
}
