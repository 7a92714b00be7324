/* HDF5 files through Debian's libhdf5 (h5.c): named tensors as datasets, groups by "/".
 *
 * Built when the HDF5 library was found at build time (pkg-config hdf5, KR_HAVE_HDF5);
 * otherwise kr_h5_available() is 0 and every function fails with a message saying so. */
#ifndef KR_H5_H
#define KR_H5_H

#include "io.h"

/* One dataset of a file, as kr_h5_list describes it. */
typedef struct kr_h5_info {
    char *name;              /* its path without the leading "/", such as "net/W1" */
    int ndim;
    int64_t shape[KR_MAXDIM];
    char dtype[24];          /* "float64", "float32", "int32", "uint8", ... or "other" */
} kr_h5_info;

int kr_h5_available(void);

/* Writes the n tensors as float64/float32 datasets (little-endian IEEE) of a new HDF5 file;
 * a name "a/b/c" makes the groups a and a/b.  Written to a temporary beside path, then
 * renamed over it.  op (the caller's name) starts every message. */
kr_status kr_h5_save(const char *path, int n, const char *const *names,
                     const kr_tensor *const *tensors, const char *op);

/* Reads the dataset `name` (when not NULL) or every numeric dataset of the file (depth first,
 * in HDF5's name order; strings and compound types are left out, kr_h5_list shows them) into a new list *out of *n named tensors.  Float32 data stays float32;
 * float64 and every integer type become float64.  The claimed sizes are checked against the
 * file's size before anything is allocated. */
kr_status kr_h5_load(const char *path, const char *name, kr_named **out, int *n, const char *op);

/* Lists every dataset of the file (name, shape, dtype) into a new array *out of *n. */
kr_status kr_h5_list(const char *path, kr_h5_info **out, int *n, const char *op);
void kr_h5_info_free(kr_h5_info *list, int n);

#endif
