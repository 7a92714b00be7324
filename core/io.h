/* Files: NumPy .npy arrays (npy.c). */
#ifndef KR_IO_H
#define KR_IO_H

#include "tensor.h"

/* Writes t (any strides) as a C-order .npy file, version 1.0, little-endian '<f8' or '<f4'.
 * Writes to "path.tmp.XXXXXX" and renames, so a failure never destroys an existing file. */
kr_status kr_npy_save(const char *path, const kr_tensor *t);
/* Reads a .npy file of dtype <f8, <f4 (also big-endian >f8/>f4, and integer types converted to
 * float64), C or Fortran order, into a new contiguous tensor *t. */
kr_status kr_npy_load(kr_tensor *t, const char *path);

#endif
