/* Image files <-> tensors in [0, 1] (see image.h).
 *
 * Writing JPEG is left out on purpose: stb_image_write 1.16's JPEG encoder shifts signed ints
 * past their range (undefined behaviour that UBSan stops on), and no experiment needs it.
 *
 * PNG, JPEG and the rest are decoded, and PNG written, by stb_image and stb_image_write
 * (Debian libstb-dev), compiled in core/stb.c. */
#include "image.h"
#include "fileutil.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stb.h"

#define LOAD_FORMATS "PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC and binary PGM/PPM"

/* ITU-R BT.601 luma weights (those of PIL's "L" mode; stb's integer conversion approximates
 * them). */
static const double luma_r = 0.299, luma_g = 0.587, luma_b = 0.114;

/* ---- loading --------------------------------------------------------------------------- */

/* Decoded samples, interleaved: 8-bit or 16-bit (host order), value = sample * scale. */
typedef struct samples {
    void *data;
    int is16;
    double scale; /* 1 / maxval */
    int w, h, comp;
    int from_stb; /* free with stbi_image_free, else free */
} samples;

static double sample_at(const samples *px, int64_t k)
{
    return (px->is16 ? (double)((const uint16_t *)px->data)[k]
                     : (double)((const uint8_t *)px->data)[k]) * px->scale;
}

static void store(const kr_tensor *t, int64_t i, double v)
{
    if (t->dtype == KR_F64)
        ((double *)kr_data(t))[i] = v;
    else
        ((float *)kr_data(t))[i] = (float)v;
}

/* Pixel k of the file as grey, alpha and R, G, B (alpha 1 when the file has none). */
static void pixel_at(const samples *px, int64_t k, double *grey, double rgb[3], double *alpha)
{
    int64_t at = k * px->comp;
    if (px->comp >= 3) {
        for (int c = 0; c < 3; c++) rgb[c] = sample_at(px, at + c);
        *grey = luma_r * rgb[0] + luma_g * rgb[1] + luma_b * rgb[2];
    } else {
        *grey = rgb[0] = rgb[1] = rgb[2] = sample_at(px, at);
    }
    *alpha = px->comp == 2 || px->comp == 4 ? sample_at(px, at + px->comp - 1) : 1.0;
}

/* Fills the new tensor t (rows x cols, or rows x cols x out_comp) from the samples. */
static void fill_tensor(const kr_tensor *t, const samples *px, int out_comp)
{
    int64_t npix = (int64_t)px->w * px->h;
    if (out_comp == px->comp) { /* as in the file */
        for (int64_t k = 0; k < npix * out_comp; k++) store(t, k, sample_at(px, k));
        return;
    }
    for (int64_t k = 0; k < npix; k++) {
        double grey, rgb[3], alpha;
        pixel_at(px, k, &grey, rgb, &alpha);
        int64_t o = k * out_comp;
        switch (out_comp) {
        case 1: store(t, o, grey); break;
        case 2: store(t, o, grey); store(t, o + 1, alpha); break;
        default:
            for (int c = 0; c < 3; c++) store(t, o + c, rgb[c]);
            if (out_comp == 4) store(t, o + 3, alpha);
        }
    }
}

/* Binary PGM/PPM (P5/P6), read here rather than by stb_image 2.27, which ignores maxval and
 * reads 16-bit samples in the wrong byte order.  Returns 0 when f is not P5/P6 (rewound). */
static int pnm_skip_space(FILE *f)
{
    int c = fgetc(f);
    for (;;) {
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
            c = fgetc(f);
        if (c != '#') return c;
        while (c != EOF && c != '\n' && c != '\r') c = fgetc(f);
    }
}

static long pnm_number(FILE *f)
{
    int c = pnm_skip_space(f);
    long v = -1;
    while (c >= '0' && c <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (c - '0');
        if (v > 1L << 30) return -1;
        c = fgetc(f);
    }
    /* the single whitespace after the number (after maxval it ends the header) */
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') return -1;
    return v;
}

static kr_status pnm_load(samples *px, FILE *f, const char *path, int *is_pnm)
{
    int m0 = fgetc(f), m1 = fgetc(f);
    *is_pnm = m0 == 'P' && (m1 == '5' || m1 == '6');
    if (!*is_pnm) {
        rewind(f);
        if (m0 == 'P' && m1 >= '1' && m1 <= '7')
            return kr_fail(KR_EFORMAT, "image.load: '%s' is a P%c netpbm file; kairo reads the "
                                       "binary P5 (PGM) and P6 (PPM) kinds", path, m1);
        return KR_OK;
    }
    long w = pnm_number(f), h = pnm_number(f), maxval = pnm_number(f);
    if (w < 1 || h < 1 || maxval < 1 || maxval > 65535 || w > 1 << 24 || h > 1 << 24)
        return kr_fail(KR_EFORMAT, "image.load: '%s' has a malformed P%c header (kairo reads "
                                   "width and height 1..16777216 and maxval 1..65535)", path, m1);
    px->w = (int)w;
    px->h = (int)h;
    px->comp = m1 == '5' ? 1 : 3;
    px->is16 = maxval > 255;
    px->scale = 1.0 / (double)maxval;
    size_t n = (size_t)w * (size_t)h * (size_t)px->comp, bytes = n * (px->is16 ? 2 : 1);
    /* a header may claim terabytes: compare with what the file holds before allocating */
    long here = ftell(f);
    if (here >= 0 && fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end >= here && (size_t)(end - here) < bytes)
            return kr_fail(KR_EFORMAT, "image.load: '%s' is truncated: its %ldx%ld P%c image "
                                       "needs %zu bytes of samples, the file has %ld", path, w,
                           h, m1, bytes, end - here);
        if (fseek(f, here, SEEK_SET) != 0)
            return kr_fail(KR_EIO, "image.load: cannot read '%s': seek failed", path);
    }
    unsigned char *buf = malloc(bytes > 0 ? bytes : 1);
    if (buf == NULL)
        return kr_fail(KR_ENOMEM, "image.load: '%s': out of memory for %zu bytes", path, bytes);
    size_t got = fread(buf, 1, bytes, f);
    if (got != bytes) {
        free(buf);
        if (ferror(f))
            return kr_fail(KR_EIO, "image.load: cannot read '%s': a read error occurred", path);
        return kr_fail(KR_EFORMAT, "image.load: '%s' is truncated: its %ldx%ld P%c image needs %zu "
                                   "bytes of samples, the file has %zu",
                       path, w, h, m1, bytes, got);
    }
    if (px->is16) { /* big-endian, as the format says */
        uint16_t *v = (uint16_t *)(void *)buf;
        for (size_t k = 0; k < n; k++) v[k] = (uint16_t)(buf[2 * k] << 8 | buf[2 * k + 1]);
    }
    for (size_t k = 0; k < n; k++) {
        long v = px->is16 ? ((uint16_t *)(void *)buf)[k] : buf[k];
        if (v > maxval) {
            free(buf);
            return kr_fail(KR_EFORMAT, "image.load: '%s' has a sample %ld above its maxval %ld",
                           path, v, maxval);
        }
    }
    px->data = buf;
    return KR_OK;
}

kr_status kr_image_load(kr_tensor *t, const char *path, kr_dtype dt, int channels)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "image.load: empty file name");
    if (dt != KR_F64 && dt != KR_F32)
        return kr_fail(KR_EINVAL, "image.load: unknown dtype %d", (int)dt);
    if (channels < KR_IMAGE_FILE_CHANNELS || channels > 4)
        return kr_fail(KR_EINVAL, "image.load: channels must be 1..4 (got %d)", channels);

    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kr_fail(KR_EIO, "image.load: cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return kr_fail(KR_EIO, "image.load: cannot read '%s': it is a directory", path);
    }
    samples px = {0};
    int is_pnm = 0;
    kr_status st = pnm_load(&px, f, path, &is_pnm);
    if (st == KR_OK && !is_pnm) {
        px.from_stb = 1;
        px.is16 = stbi_is_16_bit_from_file(f);
        px.scale = px.is16 ? 1.0 / 65535.0 : 1.0 / 255.0;
        px.data = px.is16 ? (void *)stbi_load_from_file_16(f, &px.w, &px.h, &px.comp, 0)
                          : (void *)stbi_load_from_file(f, &px.w, &px.h, &px.comp, 0);
        if (px.data == NULL) {
            if (ferror(f))
                st = kr_fail(KR_EIO, "image.load: cannot read '%s': a read error occurred", path);
            else
                st = kr_fail(KR_EFORMAT,
                             "image.load: cannot decode '%s': %s (kairo reads " LOAD_FORMATS ")",
                             path, stbi_failure_reason());
        }
    }
    fclose(f);
    if (st != KR_OK) return st;

    int out_comp = channels == KR_IMAGE_GREY            ? 1
                   : channels == KR_IMAGE_FILE_CHANNELS ? px.comp
                                                        : channels;
    int64_t size[3] = {px.h, px.w, out_comp};
    st = kr_tensor_empty(t, dt, channels == KR_IMAGE_GREY ? 2 : 3, size);
    if (st == KR_OK) fill_tensor(t, &px, out_comp);
    if (px.from_stb)
        stbi_image_free(px.data);
    else
        free(px.data);
    return st;
}

/* ---- saving ---------------------------------------------------------------------------- */

typedef enum out_format { OUT_PNG, OUT_PGM, OUT_PPM, OUT_PNM } out_format;

static int format_of(const char *path, out_format *fmt)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (dot == NULL || (slash != NULL && dot < slash)) return 0;
    static const struct { const char *ext; out_format fmt; } table[] = {
        {".png", OUT_PNG}, {".pgm", OUT_PGM}, {".ppm", OUT_PPM}, {".pnm", OUT_PNM},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (strcasecmp(dot, table[k].ext) == 0) {
            *fmt = table[k].fmt;
            return 1;
        }
    return 0;
}

/* The tensor as interleaved 8-bit samples, clamped to [0, 1] and rounded; fails on NaN. */
static kr_status to_bytes(const kr_tensor *t, int64_t rows, int64_t cols, int comp,
                          unsigned char *out)
{
    const unsigned char *base = t->storage->data;
    size_t esz = kr_dtype_size(t->dtype);
    int64_t cstride = t->ndim == 3 ? t->stride[2] : 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            for (int c = 0; c < comp; c++) {
                int64_t off = t->offset + i * t->stride[0] + j * t->stride[1] + c * cstride;
                double v = t->dtype == KR_F64 ? *(const double *)(base + (size_t)off * esz)
                                              : (double)*(const float *)(base + (size_t)off * esz);
                if (isnan(v)) {
                    if (t->ndim == 3)
                        return kr_fail(KR_EINVAL,
                                       "image.save: the image is NaN at (%lld, %lld, %d)",
                                       (long long)i + 1, (long long)j + 1, c + 1);
                    return kr_fail(KR_EINVAL, "image.save: the image is NaN at (%lld, %lld)",
                                   (long long)i + 1, (long long)j + 1);
                }
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                *out++ = (unsigned char)lrint(v * 255.0);
            }
    return KR_OK;
}

typedef struct sink {
    int fd;
    int err; /* the first errno of a failed write, or 0 */
} sink;

static void sink_write(void *context, void *data, int size)
{
    sink *s = context;
    if (s->err == 0 && size > 0 && kr_write_all(s->fd, data, (size_t)size) != 0) s->err = errno;
}

/* Encodes the bytes into s; returns 0 when the encoder itself failed. */
static int encode(sink *s, out_format fmt, int w, int h, int comp, const unsigned char *bytes)
{
    switch (fmt) {
    case OUT_PNG:
        return stbi_write_png_to_func(sink_write, s, w, h, comp, bytes, w * comp);
    case OUT_PGM:
    case OUT_PPM:
    case OUT_PNM: {
        char header[64];
        int n = snprintf(header, sizeof header, "P%c\n%d %d\n255\n", comp == 1 ? '5' : '6', w, h);
        sink_write(s, header, n);
        sink_write(s, (void *)bytes, w * h * comp);
        return 1;
    }
    }
    return 0;
}

kr_status kr_image_save(const char *path, const kr_tensor *t)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "image.save: empty file name");
    if (t == NULL || t->storage == NULL)
        return kr_fail(KR_EINVAL, "image.save: the tensor has been freed");
    out_format fmt;
    if (!format_of(path, &fmt))
        return kr_fail(KR_EINVAL, "image.save: cannot tell the format of '%s' from its extension "
                                  "(use .png, .pgm, .ppm or .pnm)", path);
    char shape[8 * 21];
    int comp = t->ndim == 3 ? (int)(t->size[2] >= 1 && t->size[2] <= 4 ? t->size[2] : 0) : 1;
    if ((t->ndim != 2 && t->ndim != 3) || comp == 0)
        return kr_fail(KR_EINVAL, "image.save: expected rows x cols or rows x cols x C (C = 1..4), "
                                  "got %s", kr_tensor_shape_str(t, shape, sizeof shape));
    int64_t rows = t->size[0], cols = t->size[1];
    if (rows < 1 || cols < 1 || rows > (1 << 16) || cols > (1 << 16))
        return kr_fail(KR_EINVAL, "image.save: an image needs 1..65536 rows and columns, got %s",
                       kr_tensor_shape_str(t, shape, sizeof shape));
    if ((fmt == OUT_PGM && comp != 1) || (fmt == OUT_PPM && comp != 3) ||
        (fmt == OUT_PNM && comp != 1 && comp != 3))
        return kr_fail(KR_EINVAL, "image.save: '%s' cannot hold %d channels (%s); PGM holds 1, "
                                  "PPM 3, PNG 1 to 4", path, comp,
                       kr_tensor_shape_str(t, shape, sizeof shape));

    size_t nbytes = (size_t)rows * (size_t)cols * (size_t)comp;
    unsigned char *bytes = malloc(nbytes);
    if (bytes == NULL) return kr_fail(KR_ENOMEM, "image.save: out of memory for %zu bytes", nbytes);
    kr_status st = to_bytes(t, rows, cols, comp, bytes);
    if (st != KR_OK) {
        free(bytes);
        return st;
    }

    size_t tmpsize = strlen(path) + 16;
    char *tmp = malloc(tmpsize);
    if (tmp == NULL) {
        free(bytes);
        return kr_fail(KR_ENOMEM, "image.save: out of memory");
    }
    sink s = {kr_create_temp(path, tmp, tmpsize), 0};
    if (s.fd < 0) {
        st = kr_fail(KR_EIO, "image.save: cannot create a temporary file beside '%s': %s", path,
                     strerror(errno));
        free(tmp);
        free(bytes);
        return st;
    }
    const char *step = "write";
    int ok = encode(&s, fmt, (int)cols, (int)rows, comp, bytes);
    free(bytes);
    if (!ok) {
        close(s.fd);
        unlink(tmp);
        free(tmp);
        return kr_fail(KR_EIO, "image.save: the encoder failed to write '%s'", path);
    }
    int err = s.err;
    if (err == 0 && fsync(s.fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (close(s.fd) != 0 && err == 0) err = errno;
    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
        step = "rename the temporary file to";
    }
    if (err != 0) {
        unlink(tmp);
        free(tmp);
        return kr_fail(KR_EIO, "image.save: cannot %s '%s': %s", step, path, strerror(err));
    }
    free(tmp);
    return KR_OK;
}
