/* Images: PNG, JPEG, BMP, GIF, PNM (PGM/PPM), ... read through stb_image (binary PGM/PPM by
 * image.c itself), written as PNG through stb_image_write or as binary PGM/PPM (image.c).
 * 16-bit PGM/PPM samples are big-endian and scaled by the file's maxval, as netpbm says.
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
    /* 1..4: rows x cols x that many channels, converted by stb_image */
};

/* Reads the image at path into a new contiguous tensor *t of dtype dt.  channels is
 * KR_IMAGE_GREY, KR_IMAGE_FILE_CHANNELS or a count 1..4.  Errors name the path and, for
 * content stb_image rejects, its reason ("image.load: 'x.png': Corrupt PNG"). */
kr_status kr_image_load(kr_tensor *t, const char *path, kr_dtype dt, int channels);

/* Writes t (rows x cols, or rows x cols x C with C = 1..4; any strides; values clamped to
 * [0, 1], rounded to 8 bits) in the format named by path's extension: .png, .pgm (grey),
 * .ppm (RGB) or .pnm (either).  NaN is an error.  Writes to
 * "path.tmp.XXXXXX" and renames, so a failure never destroys an existing file. */
kr_status kr_image_save(const char *path, const kr_tensor *t);

#endif
