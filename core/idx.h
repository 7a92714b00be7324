/* Files: IDX arrays, the format of the MNIST and Fashion-MNIST distributions (idx.c).
 *
 * An IDX file is a 4-byte magic number 00 00 TYPE NDIM, then NDIM big-endian uint32 sizes,
 * then the elements in row-major order (the last dimension fastest), big-endian.  The files may
 * be gzip-compressed: zlib reads plain and gzip files alike. */
#ifndef KR_IDX_H
#define KR_IDX_H

#include "tensor.h"

/* The element types the format defines (the third magic byte). */
typedef enum kr_idx_type {
    KR_IDX_UBYTE = 0x08,
    KR_IDX_BYTE = 0x09,
    KR_IDX_INT16 = 0x0B,
    KR_IDX_INT32 = 0x0C,
    KR_IDX_FLOAT32 = 0x0D,
    KR_IDX_FLOAT64 = 0x0E
} kr_idx_type;

/* "ubyte", "byte", "int16", "int32", "float32", "float64"; NULL for a code the format lacks. */
const char *kr_idx_type_name(int type);

/* Reads the IDX file at `path` (gzip-compressed or not) into a new contiguous tensor *t of
 * dtype dt with the file's dimensions (KR_U8: ubyte files only, the bytes as they are, no
 * scale01).  scale01 divides unsigned bytes by 255, so pixels land
 * in [0, 1]; it is an error for any other element type.  Fails with KR_EIO when the file cannot
 * be opened or read, KR_EFORMAT when its magic number is wrong or its data are shorter or
 * longer than its dimensions say (the message names the file and both byte counts). */
kr_status kr_idx_load(kr_tensor *t, const char *path, kr_dtype dt, int scale01);

#endif
