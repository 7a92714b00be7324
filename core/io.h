/* Files: NumPy .npy arrays (npy.c) and .npz archives (npz.c). */
#ifndef KR_IO_H
#define KR_IO_H

#include "tensor.h"

/* Writes t (any strides) as a C-order .npy file, version 1.0, little-endian '<f8' or '<f4'.
 * Writes to "path.tmp.XXXXXX" and renames, so a failure never destroys an existing file. */
kr_status kr_npy_save(const char *path, const kr_tensor *t);
/* Reads a .npy file of dtype <f8, <f4 (also big-endian >f8/>f4, and integer types converted to
 * float64), C or Fortran order, into a new contiguous tensor *t. */
kr_status kr_npy_load(kr_tensor *t, const char *path);

/* A tensor with a name: the members of a multi-array file (.npz, HDF5). */
typedef struct kr_named {
    char *name;
    kr_tensor t;        /* t.storage is NULL for a list of strings: */
    char **strings;     /* a 1-D array of NumPy's '<U' type (UTF-8 here) */
    int64_t nstrings;
} kr_named;

/* A list of strings to write as a 1-D array of NumPy's '<U' type (numpy reads it as such). */
typedef struct kr_strings {
    const char *const *items;   /* ASCII */
    int64_t n;
} kr_strings;
/* Frees the names and releases the tensors of list[0..n), then list itself. */
void kr_named_free(kr_named *list, int n);

/* Writes the n tensors as a NumPy .npz archive: a zip file with one member NAME.npy per tensor
 * (C order, little-endian), stored as is or, with compress, deflated through zlib, as
 * numpy.savez / numpy.savez_compressed write it.  Where tensors[i] is NULL, member i is the
 * list of strings strings[i] instead (strings may be NULL when every member is a tensor).
 * Atomic like kr_npy_save; op (the caller's name, such as "savez") starts every message. */
kr_status kr_npz_save(const char *path, int n, const char *const *names,
                      const kr_tensor *const *tensors, const kr_strings *strings, int compress,
                      const char *op);
/* Reads every NAME.npy member of a .npz archive (stored or deflated; zip64 size fields
 * accepted) into a new list *out of *n named tensors (names without ".npy"); a 1-D '<U'
 * member becomes a list of strings.  Sizes are checked
 * against the file before anything is allocated; each member's CRC-32 is verified. */
kr_status kr_npz_load(const char *path, kr_named **out, int *n, const char *op);

#endif
