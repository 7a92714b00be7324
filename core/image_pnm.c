/* Binary PGM/PPM (P5/P6), read by kairo itself: 8-bit or 16-bit big-endian samples, scaled by
 * the file's maxval, as netpbm says.  See image_decode.h. */
#include "image_decode.h"

#include <stdlib.h>

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static int next(cursor *c) { return c->p < c->end ? *c->p++ : -1; }

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and comments; returns the next character. */
static int skip_space(cursor *c)
{
    int ch = next(c);
    for (;;) {
        while (is_space(ch)) ch = next(c);
        if (ch != '#') return ch;
        while (ch != -1 && ch != '\n' && ch != '\r') ch = next(c);
    }
}

/* A decimal number and the single whitespace after it (after maxval it ends the header). */
static long number(cursor *c)
{
    int ch = skip_space(c);
    long v = -1;
    while (ch >= '0' && ch <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (ch - '0');
        if (v > 1L << 30) return -1;
        ch = next(c);
    }
    return is_space(ch) ? v : -1;
}

kr_status kr_pnm_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                        const char *name, int64_t max_pixels)
{
    cursor c = {buf, buf + n};
    int kind = n >= 2 ? buf[1] : 0;
    c.p += 2;
    long w = number(&c), h = number(&c), maxval = number(&c);
    if (w < 1 || h < 1 || maxval < 1 || maxval > 65535 || w > 1 << 24 || h > 1 << 24)
        return kr_fail(KR_EFORMAT, "%s: '%s' has a malformed P%c header (kairo reads width and "
                                   "height 1..16777216 and maxval 1..65535)", op, name, kind);
    int comp = kind == '5' ? 1 : 3, is16 = maxval > 255;
    size_t count = (size_t)w * (size_t)h * (size_t)comp, bytes = count * (is16 ? 2 : 1);
    /* a header may claim terabytes: compare with what the file holds before allocating */
    size_t have = (size_t)(c.end - c.p);
    if (have < bytes)
        return kr_fail(KR_EFORMAT, "%s: '%s' is truncated: its %ldx%ld P%c image needs %zu "
                                   "bytes of samples, the file has %zu",
                       op, name, w, h, kind, bytes, have);
    kr_status st = kr_image_check_size(op, name, (uint64_t)w, (uint64_t)h, max_pixels, 0, 0);
    if (st != KR_OK) return st;
    void *data = malloc(bytes);
    if (data == NULL)
        return kr_fail(KR_ENOMEM, "%s: '%s': out of memory for %zu bytes", op, name, bytes);
    for (size_t k = 0; k < count; k++) {
        long v = is16 ? (long)(c.p[2 * k] << 8 | c.p[2 * k + 1]) : (long)c.p[k];
        if (v > maxval) {
            free(data);
            return kr_fail(KR_EFORMAT, "%s: '%s' has a sample %ld above its maxval %ld", op,
                           name, v, maxval);
        }
        if (is16)
            ((uint16_t *)data)[k] = (uint16_t)v;
        else
            ((uint8_t *)data)[k] = (uint8_t)v;
    }
    px->data = data;
    px->is16 = is16;
    px->scale = 1.0 / (double)maxval;
    px->w = (int)w;
    px->h = (int)h;
    px->comp = comp;
    return KR_OK;
}
