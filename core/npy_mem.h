/* .npy members in memory, for the .npz reader and writer (internal: not part of kairo.h). */
#ifndef KR_NPY_MEM_H
#define KR_NPY_MEM_H

#include <stddef.h>

#include "tensor.h"

/* Writes the preamble and header of t as a C-order, little-endian .npy (version 1.0) into buf
 * (at least KR_NPY_HEADER_MAX bytes); returns its length, a multiple of 64. */
enum { KR_NPY_HEADER_MAX = 512 };
size_t kr_npy_header(unsigned char *buf, const kr_tensor *t);

/* Reads the .npy bytes buf[0..n) into a new contiguous tensor *t (the types kr_npy_load
 * reads).  Messages read "op: 'path' member 'name': ...". */
kr_status kr_npy_parse(kr_tensor *t, const unsigned char *buf, size_t n, const char *op,
                       const char *path, const char *name);

#endif
