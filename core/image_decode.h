/* The image decoders behind kr_image_load (internal: not part of kairo.h).
 *
 * Each decoder reads a whole file held in memory and fills a `samples`: interleaved 8-bit or
 * 16-bit (host order) samples, value = sample * scale.  Before allocating anything it checks
 * the header's width x height against max_pixels and against what the file's size can hold,
 * so a few bytes never claim gigabytes.  Errors name the operation and the file. */
#ifndef KR_IMAGE_DECODE_H
#define KR_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct kr_samples {
    void *data; /* malloc'd, w * h * comp samples */
    int is16;
    double scale; /* 1 / maxval */
    int w, h, comp;
} kr_samples;

/* Checks w x h against max_pixels and against the file: a file of n bytes whose format
 * packs at most per_byte pixels into a byte (its best compression) holds no more than
 * n * per_byte pixels. */
kr_status kr_image_check_size(const char *op, const char *name, uint64_t w, uint64_t h,
                              int64_t max_pixels, size_t n, uint64_t per_byte);

kr_status kr_png_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                        const char *name, int64_t max_pixels);
kr_status kr_jpeg_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                         const char *name, int64_t max_pixels);
kr_status kr_pnm_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                        const char *name, int64_t max_pixels);

/* PNG encoding (libspng): w x h interleaved 8-bit samples with comp = 1..4 channels, handed to
 * write(context, bytes, n), which returns 0 or -1.  Returns 0, or -1 with *reason set. */
int kr_png_encode(int w, int h, int comp, const unsigned char *bytes,
                  int (*write)(void *context, const void *data, size_t n), void *context,
                  const char **reason);

#endif
