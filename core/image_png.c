/* PNG through libspng (Debian libspng-dev): decoding with every chunk's CRC checked, and
 * encoding for kr_image_save.  See image_decode.h. */
#include "image_decode.h"
#include "checkpoint.h" /* kr_crc32, kairo's one CRC-32 */

#include <spng.h>
#include <stdlib.h>
#include <string.h>

/* deflate's best ratio is 1032:1 (RFC 1951's longest match, 258 bytes, in 2 bits), so n bytes
 * of PNG inflate to at most 1032 n bytes of rows: at most 1032 * 8 / bits pixels a byte, for
 * `bits` bits per pixel. */
#define PNG_PIXELS_PER_BYTE (1032u * 8u)
/* Ancillary chunks kept in memory (text, ICC profiles, inflated zTXt/iCCP): 64 MB at most. */
#define PNG_CACHE_LIMIT ((size_t)64 << 20)

static kr_status png_fail(const char *op, const char *name, int err)
{
    return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': %s (PNG)", op, name,
                   err == SPNG_IO_EOF || err == SPNG_EOF ? "the file ends early" : spng_strerror(err));
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every chunk's CRC, up to IEND, checked before decoding: libspng stops reading once it has
 * the pixels, so a flipped bit late in the last IDAT, in its CRC or in the chunks after it
 * would go unseen, and a file cut after its pixels would load. */
static kr_status check_chunks(const unsigned char *buf, size_t n, const char *op,
                              const char *name)
{
    size_t at = 8;
    for (;;) {
        if (n - at < 12)
            return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': the file ends early, before "
                                       "its IEND chunk (PNG)", op, name);
        uint32_t len = be32(buf + at);
        if (len > (uint32_t)INT32_MAX || len > n - at - 12)
            return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': the file ends early, inside a "
                                       "%u-byte chunk at byte %zu (PNG)", op, name, len, at);
        uint32_t want = be32(buf + at + 8 + len);
        uint32_t got = kr_crc32(0, buf + at + 4, (size_t)len + 4);
        char type[5];
        for (int k = 0; k < 4; k++) {
            unsigned char ch = buf[at + 4 + k];
            type[k] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '?');
        }
        type[4] = '\0';
        if (got != want)
            return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': invalid chunk checksum (CRC) of "
                                       "the '%s' chunk at byte %zu (PNG)", op, name, type, at);
        if (memcmp(type, "IEND", 4) == 0) return KR_OK;
        at += 12 + (size_t)len;
    }
}

kr_status kr_png_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                        const char *name, int64_t max_pixels)
{
    kr_status st0 = check_chunks(buf, n, op, name);
    if (st0 != KR_OK) return st0;
    spng_ctx *ctx = spng_ctx_new(0);
    if (ctx == NULL) return kr_fail(KR_ENOMEM, "%s: '%s': out of memory", op, name);
    kr_status st = KR_OK;
    int err = spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    if (!err) err = spng_set_chunk_limits(ctx, n, PNG_CACHE_LIMIT);
    if (!err) err = spng_set_png_buffer(ctx, buf, n);
    struct spng_ihdr ih;
    if (!err) err = spng_get_ihdr(ctx, &ih);
    if (err) {
        st = png_fail(op, name, err);
        goto done;
    }
    uint64_t bits = ih.bit_depth; /* per sample */
    int comp;
    switch (ih.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE: comp = 1; break;
    case SPNG_COLOR_TYPE_TRUECOLOR: comp = 3; bits *= 3; break;
    case SPNG_COLOR_TYPE_INDEXED: comp = 3; break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA: comp = 2; bits *= 2; break;
    default: comp = 4; bits *= 4; break;
    }
    st = kr_image_check_size(op, name, ih.width, ih.height, max_pixels, n,
                             PNG_PIXELS_PER_BYTE / bits);
    if (st != KR_OK) goto done;
    struct spng_trns trns;
    int has_trns = spng_get_trns(ctx, &trns) == 0;
    if (has_trns && comp != 2 && comp != 4) comp++; /* transparency becomes an alpha channel */
    int fmt = ih.bit_depth == 16 ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    size_t len;
    err = spng_decoded_image_size(ctx, fmt, &len);
    if (err) {
        st = png_fail(op, name, err);
        goto done;
    }
    unsigned char *out = malloc(len > 0 ? len : 1);
    if (out == NULL) {
        st = kr_fail(KR_ENOMEM, "%s: '%s': out of memory for %zu bytes", op, name, len);
        goto done;
    }
    err = spng_decode_image(ctx, out, len, fmt, SPNG_DECODE_TRNS);
    if (err) {
        free(out);
        st = png_fail(op, name, err);
        goto done;
    }
    /* RGBA -> the file's channels, in place (each pixel moves to a lower or equal offset) */
    size_t ss = ih.bit_depth == 16 ? 2 : 1, npix = (size_t)ih.width * ih.height;
    static const int pick[5][4] = {{0}, {0}, {0, 3}, {0, 1, 2}, {0, 1, 2, 3}};
    for (size_t k = 0; k < npix; k++)
        for (int c = 0; c < comp; c++)
            memmove(out + (k * comp + c) * ss, out + (k * 4 + pick[comp][c]) * ss, ss);
    px->data = out;
    px->is16 = ih.bit_depth == 16;
    px->scale = px->is16 ? 1.0 / 65535.0 : 1.0 / 255.0;
    px->w = (int)ih.width;
    px->h = (int)ih.height;
    px->comp = comp;
done:
    spng_ctx_free(ctx);
    return st;
}

typedef struct png_sink {
    int (*write)(void *context, const void *data, size_t n);
    void *context;
} png_sink;

static int png_write(spng_ctx *ctx, void *user, void *data, size_t n)
{
    (void)ctx;
    png_sink *s = user;
    return s->write(s->context, data, n) == 0 ? 0 : SPNG_IO_ERROR;
}

int kr_png_encode(int w, int h, int comp, const unsigned char *bytes,
                  int (*write)(void *context, const void *data, size_t n), void *context,
                  const char **reason)
{
    static const uint8_t color_type[5] = {0, SPNG_COLOR_TYPE_GRAYSCALE,
                                          SPNG_COLOR_TYPE_GRAYSCALE_ALPHA,
                                          SPNG_COLOR_TYPE_TRUECOLOR,
                                          SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (ctx == NULL) {
        *reason = "out of memory";
        return -1;
    }
    png_sink sink = {write, context};
    struct spng_ihdr ih = {.width = (uint32_t)w, .height = (uint32_t)h, .bit_depth = 8,
                           .color_type = color_type[comp]};
    int err = spng_set_png_stream(ctx, png_write, &sink);
    if (!err) err = spng_set_ihdr(ctx, &ih);
    if (!err)
        err = spng_encode_image(ctx, bytes, (size_t)w * (size_t)h * (size_t)comp, SPNG_FMT_PNG,
                                SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (err) *reason = spng_strerror(err);
    return err ? -1 : 0;
}
