/* .npy members in memory, for the .npz reader and writer (internal: not part of kairo.h). */
#ifndef KR_NPY_MEM_H
#define KR_NPY_MEM_H

#include <stddef.h>

#include "tensor.h"

/* Writes the preamble and header of t as a C-order, little-endian .npy (version 1.0) into buf
 * (at least KR_NPY_HEADER_MAX bytes); returns its length, a multiple of 64. */
enum { KR_NPY_HEADER_MAX = 512 };
size_t kr_npy_header(unsigned char *buf, const kr_tensor *t);

/* The same for a 1-D array of n strings of NumPy's '<U<maxlen>' type (UTF-32LE). */
size_t kr_npy_header_text(unsigned char *buf, int64_t maxlen, int64_t n);

/* Reads the .npy bytes buf[0..n) into out->t, a new contiguous tensor (the types kr_npy_load
 * reads), or for a 1-D '<U' array into out->strings (UTF-8, out->t.storage NULL).  Messages
 * read "op: 'path' member 'name': ...". */
struct kr_named;
kr_status kr_npy_parse(struct kr_named *out, const unsigned char *buf, size_t n, const char *op,
                       const char *path, const char *name);

#endif
