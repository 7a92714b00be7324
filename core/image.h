/* Images: PNG (libspng), JPEG (libjpeg-turbo) and binary PGM/PPM (image_pnm.c) are read;
 * PNG (libspng) and binary PGM/PPM written.  Other formats are refused by name.
 * 16-bit PGM/PPM samples are big-endian and scaled by the file's maxval, as netpbm says.
 * A PNG's tRNS chunk becomes an alpha channel.
 *
 * An image is a tensor of intensities in [0, 1], row 1 at the top:
 *   grey     rows x cols
 *   channels rows x cols x C, C = 1 (grey), 2 (grey, alpha), 3 (R, G, B) or 4 (R, G, B, alpha)
 * 8-bit files are divided by 255, 16-bit PNG/PNM by 65535.  Colour becomes grey by the
 * ITU-R BT.601 luma weights, Y = 0.299 R + 0.587 G + 0.114 B, computed in double precision
 * from the file's samples; alpha is ignored for grey. */
#ifndef KR_IMAGE_H
#define KR_IMAGE_H

#include "tensor.h"

enum {
    KR_IMAGE_GREY = 0,           /* a 2-D rows x cols grey image */
    KR_IMAGE_FILE_CHANNELS = -1  /* rows x cols x C with the file's own channel count */
    /* 1..4: rows x cols x that many channels, converted */
};

/* The default bound on width x height (a file may claim more; kr_image_load refuses it). */
#define KR_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

/* Reads the image at path (a regular file) into a new contiguous tensor *t of dtype dt.
 * channels is KR_IMAGE_GREY, KR_IMAGE_FILE_CHANNELS or a count 1..4.  max_pixels bounds
 * width x height (0: KR_IMAGE_MAX_PIXELS).  Before anything is allocated the header's size is
 * checked against max_pixels and against what the file's size can hold (PNG: deflate's
 * 1032:1; Huffman JPEG: 1024 pixels a byte).  Truncated or corrupt files (a bad PNG CRC, a
 * JPEG cut short) are errors that name the file and the decoder's reason
 * ("image.load: cannot decode 'x.png': ... (PNG)"). */
kr_status kr_image_load(kr_tensor *t, const char *path, kr_dtype dt, int channels,
                        int64_t max_pixels);

/* The same from n bytes in memory; name is what messages call the data. */
kr_status kr_image_decode(kr_tensor *t, const void *bytes, size_t n, const char *name,
                          kr_dtype dt, int channels, int64_t max_pixels);

/* Writes t (rows x cols, or rows x cols x C with C = 1..4; any strides; values clamped to
 * [0, 1], rounded to 8 bits) in the format named by path's extension: .png, .pgm (grey),
 * .ppm (RGB) or .pnm (either).  NaN is an error.  Writes to
 * "path.tmp.XXXXXX" and renames, so a failure never destroys an existing file. */
kr_status kr_image_save(const char *path, const kr_tensor *t);

#endif
