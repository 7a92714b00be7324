/* Image files <-> tensors in [0, 1] (see image.h).
 *
 * Decoding: PNG by libspng (image_png.c), JPEG by libjpeg-turbo (image_jpeg.c), binary PGM/PPM
 * by kairo (image_pnm.c); PNG is written by libspng, PGM/PPM here.  Other formats (GIF, BMP,
 * TGA, HDR, PSD, PIC) are refused by name: the stb_image decoders kairo used for them hung,
 * wrote out of bounds or loaded garbage on hostile files (issue 13), and no experiment needs
 * them. */
#include "image.h"
#include "fileutil.h"
#include "image_decode.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOAD_FORMATS "PNG, JPEG and binary PGM/PPM"

/* ITU-R BT.601 luma weights (those of PIL's "L" mode). */
static const double luma_r = 0.299, luma_g = 0.587, luma_b = 0.114;

/* ---- loading --------------------------------------------------------------------------- */

typedef kr_samples samples;

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

kr_status kr_image_check_size(const char *op, const char *name, uint64_t w, uint64_t h,
                              int64_t max_pixels, size_t n, uint64_t per_byte)
{
    if (max_pixels <= 0) max_pixels = KR_IMAGE_MAX_PIXELS;
    if (w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX)
        return kr_fail(KR_EFORMAT, "%s: '%s' claims a %llux%llu image (kairo reads 1..%d "
                                   "columns and rows)", op, name, (unsigned long long)w,
                       (unsigned long long)h, INT32_MAX);
    uint64_t pixels = w * h; /* both < 2^31: no overflow */
    if (pixels > (uint64_t)max_pixels)
        return kr_fail(KR_EFORMAT, "%s: '%s' has %llux%llu = %llu pixels, above max_pixels = "
                                   "%lld", op, name, (unsigned long long)w, (unsigned long long)h,
                       (unsigned long long)pixels, (long long)max_pixels);
    if (per_byte > 0 && pixels / per_byte > n)
        return kr_fail(KR_EFORMAT, "%s: '%s' claims a %llux%llu image, more than its %zu bytes "
                                   "can hold", op, name, (unsigned long long)w,
                       (unsigned long long)h, n);
    return KR_OK;
}

/* The kind of file its first bytes say, for the formats kairo refuses by name. */
static const char *other_format(const unsigned char *b, size_t n)
{
    static const struct { const char *magic; size_t len; const char *name; } known[] = {
        {"GIF8", 4, "GIF"},          {"BM", 2, "BMP"},     {"#?RADIANCE", 10, "Radiance HDR"},
        {"#?RGBE", 6, "Radiance HDR"}, {"8BPS", 4, "PSD"}, {"\x53\x80\xf6\x34", 4, "Softimage PIC"},
        {"II*\0", 4, "TIFF"},        {"MM\0*", 4, "TIFF"}, {"RIFF", 4, "RIFF (WebP?)"},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (n >= known[k].len && memcmp(b, known[k].magic, known[k].len) == 0)
            return known[k].name;
    return NULL;
}

kr_status kr_image_decode(kr_tensor *t, const void *bytes, size_t n, const char *name,
                          kr_dtype dt, int channels, int64_t max_pixels)
{
    static const char op[] = "image.load";
    if (dt != KR_F64 && dt != KR_F32)
        return kr_fail(KR_EINVAL, "%s: unknown dtype %d", op, (int)dt);
    if (channels < KR_IMAGE_FILE_CHANNELS || channels > 4)
        return kr_fail(KR_EINVAL, "%s: channels must be 1..4 (got %d)", op, channels);
    if (max_pixels < 0)
        return kr_fail(KR_EINVAL, "%s: max_pixels must be positive (got %lld)", op,
                       (long long)max_pixels);
    const unsigned char *b = bytes;
    samples px = {0};
    kr_status st;
    const char *other;
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) {
        st = kr_png_decode(&px, b, n, op, name, max_pixels);
    } else if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
        st = kr_jpeg_decode(&px, b, n, op, name, max_pixels);
    } else if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) {
        st = kr_pnm_decode(&px, b, n, op, name, max_pixels);
    } else if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') {
        return kr_fail(KR_EFORMAT, "%s: '%s' is a P%c netpbm file; kairo reads the binary P5 "
                                   "(PGM) and P6 (PPM) kinds", op, name, b[1]);
    } else if ((other = other_format(b, n)) != NULL) {
        return kr_fail(KR_EFORMAT, "%s: '%s' is a %s file; kairo reads " LOAD_FORMATS, op, name,
                       other);
    } else {
        return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': not a PNG, JPEG or binary PGM/PPM "
                                   "file", op, name);
    }
    if (st != KR_OK) return st;
    int out_comp = channels == KR_IMAGE_GREY            ? 1
                   : channels == KR_IMAGE_FILE_CHANNELS ? px.comp
                                                        : channels;
    int64_t size[3] = {px.h, px.w, out_comp};
    st = kr_tensor_empty(t, dt, channels == KR_IMAGE_GREY ? 2 : 3, size);
    if (st == KR_OK) fill_tensor(t, &px, out_comp);
    free(px.data);
    return st;
}

kr_status kr_image_load(kr_tensor *t, const char *path, kr_dtype dt, int channels,
                        int64_t max_pixels)
{
    static const char op[] = "image.load";
    size_t n;
    unsigned char *bytes;
    kr_status st = kr_read_file(op, path, &bytes, &n);
    if (st != KR_OK) return st;
    st = kr_image_decode(t, bytes, n, path, dt, channels, max_pixels);
    free(bytes);
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

static int sink_write(void *context, const void *data, size_t size)
{
    sink *s = context;
    if (s->err == 0 && size > 0 && kr_write_all(s->fd, data, size) != 0) s->err = errno;
    return s->err == 0 ? 0 : -1;
}

/* Encodes the bytes into s; returns 0 when the encoder itself failed. */
static int encode(sink *s, out_format fmt, int w, int h, int comp, const unsigned char *bytes,
                  const char **reason)
{
    switch (fmt) {
    case OUT_PNG:
        return kr_png_encode(w, h, comp, bytes, sink_write, s, reason) == 0 || s->err != 0;
    case OUT_PGM:
    case OUT_PPM:
    case OUT_PNM: {
        char header[64];
        int n = snprintf(header, sizeof header, "P%c\n%d %d\n255\n", comp == 1 ? '5' : '6', w, h);
        sink_write(s, header, (size_t)n);
        sink_write(s, bytes, (size_t)w * (size_t)h * (size_t)comp);
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

    kr_save sv;
    st = kr_save_begin(&sv, "image.save", path);
    if (st != KR_OK) {
        free(bytes);
        return st;
    }
    sink s = {sv.fd, 0};
    const char *reason = "";
    int ok = encode(&s, fmt, (int)cols, (int)rows, comp, bytes, &reason);
    free(bytes);
    if (!ok) {
        kr_save_abort(&sv);
        return kr_fail(KR_EIO, "image.save: the encoder failed to write '%s': %s", path, reason);
    }
    if (s.err != 0) {
        kr_save_abort(&sv);
        return kr_fail(KR_EIO, "image.save: cannot write '%s': %s", path, strerror(s.err));
    }
    return kr_save_commit(&sv);
}
