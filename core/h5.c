/* HDF5 files (h5.h) through the HDF5 C library (Debian libhdf5-dev, the serial flavour).
 *
 * Writing: one dataset per tensor, contiguous layout, type H5T_IEEE_F64LE or H5T_IEEE_F32LE,
 * the tensor's shape (a 0-d tensor is a scalar dataspace); intermediate groups are created from
 * the "/" in the names.  The file is made under a temporary name and renamed once closed.
 * Reading: any dataset of a float or integer type with a simple (or scalar) dataspace of up to 8
 * dimensions, as written by h5py, MATLAB or NWB tools, whatever its layout or filters (those
 * the library has: deflate, shuffle, ...).  HDF5's own error printing is switched off; its
 * failures become kairo messages that name the function, the file and the dataset. */
#include "h5.h"

#ifndef KR_HAVE_HDF5

int kr_h5_available(void) { return 0; }

static kr_status missing(const char *op)
{
    return kr_fail(KR_EINVAL, "%s: kairo was built without HDF5 (install Debian's libhdf5-dev, "
                              "then rebuild with make)", op);
}

kr_status kr_h5_save(const char *path, int n, const char *const *names,
                     const kr_tensor *const *tensors, const char *op)
{
    (void)path; (void)n; (void)names; (void)tensors;
    return missing(op);
}

kr_status kr_h5_load(const char *path, const char *name, kr_named **out, int *n, const char *op)
{
    (void)path; (void)name; (void)out; (void)n;
    return missing(op);
}

kr_status kr_h5_list(const char *path, kr_h5_info **out, int *n, const char *op)
{
    (void)path; (void)out; (void)n;
    return missing(op);
}

void kr_h5_info_free(kr_h5_info *list, int n)
{
    (void)list; (void)n;
}

#else

#include "fileutil.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_RATIO = 1100 };

/* The object-info calls changed in HDF5 1.12; Debian 12 has 1.10. */
#if H5_VERSION_GE(1, 12, 0)
typedef H5O_info2_t obj_info;
#define VISIT(f, cb, d) H5Ovisit3((f), H5_INDEX_NAME, H5_ITER_INC, (cb), (d), H5O_INFO_BASIC)
#define INFO_BY_NAME(f, n, i) H5Oget_info_by_name3((f), (n), (i), H5O_INFO_BASIC, H5P_DEFAULT)
#else
typedef H5O_info_t obj_info;
#define VISIT(f, cb, d) H5Ovisit2((f), H5_INDEX_NAME, H5_ITER_INC, (cb), (d), H5O_INFO_BASIC)
#define INFO_BY_NAME(f, n, i) H5Oget_info_by_name2((f), (n), (i), H5O_INFO_BASIC, H5P_DEFAULT)
#endif /* a filtered dataset may hold ~1032x its stored bytes (deflate) */

int kr_h5_available(void) { return 1; }

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* The innermost HDF5 error's text, for messages ("unable to open file", ...). */
static herr_t last_error(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    char *buf = data;
    if (e->desc) snprintf(buf, 200, "%s", e->desc);
    return 0;
}

static const char *why(char *buf)
{
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, last_error, buf);
    return buf[0] ? buf : "HDF5 error";
}

/* ==== writing ============================================================================= */

static kr_status write_dataset(hid_t file, hid_t lcpl, const char *name, const kr_tensor *t,
                               const char *op, const char *path)
{
    char msg[200];
    kr_tensor c;
    memset(&c, 0, sizeof c);
    const kr_tensor *src = t;
    if (!kr_is_contiguous(t)) {
        kr_status st = kr_tensor_empty(&c, t->dtype, t->ndim, t->size);
        if (st != KR_OK) return st;
        if ((st = kr_copy_(&c, t)) != KR_OK) {
            kr_tensor_release(&c);
            return st;
        }
        src = &c;
    }
    hsize_t dims[KR_MAXDIM];
    for (int d = 0; d < t->ndim; d++) dims[d] = (hsize_t)t->size[d];
    hid_t space = t->ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t->ndim, dims, NULL);
    hid_t ftype = t->dtype == KR_F64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
    hid_t mtype = t->dtype == KR_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    hid_t ds = space < 0 ? -1 : H5Dcreate2(file, name, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    kr_status st = KR_OK;
    if (ds < 0)
        st = kr_fail(KR_EINVAL, "%s: '%s': cannot create dataset '%s' (%s; is the name already a "
                                "group or a dataset?)", op, path, name, why(msg));
    else if (kr_numel(src) > 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, kr_data(src)) < 0)
        st = kr_fail(KR_EIO, "%s: '%s': cannot write dataset '%s' (%s)", op, path, name, why(msg));
    if (ds >= 0) H5Dclose(ds);
    if (space >= 0) H5Sclose(space);
    kr_tensor_release(&c);
    return st;
}

kr_status kr_h5_save(const char *path, int n, const char *const *names,
                     const kr_tensor *const *tensors, const char *op)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i];
        size_t len = strlen(nm);
        if (len == 0 || nm[0] == '/' || nm[len - 1] == '/' || strstr(nm, "//") || nm[0] == '.')
            return kr_fail(KR_EINVAL, "%s: '%s': bad dataset name '%s' (use names such as 'W1' "
                                      "or 'net/W1')", op, path, nm);
        if (tensors[i] == NULL || tensors[i]->storage == NULL)
            return kr_fail(KR_EINVAL, "%s: '%s': dataset '%s' is a closed tensor", op, path, nm);
    }
    quiet();
    kr_save sv; /* kairo's one saver (fileutil.h), with a name HDF5 can open */
    kr_status st = kr_save_begin_named(&sv, op, path);
    if (st != KR_OK) return st;
    const char *tmp = sv.tmp;
    char msg[200];
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (file < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = kr_fail(KR_EIO, "%s: cannot create '%s' (%s)", op, path, why(msg));
    } else {
        for (int i = 0; i < n && st == KR_OK; i++)
            st = write_dataset(file, lcpl, names[i], tensors[i], op, path);
    }
    if (lcpl >= 0) H5Pclose(lcpl);
    if (file >= 0 && H5Fclose(file) < 0 && st == KR_OK)
        st = kr_fail(KR_EIO, "%s: cannot write '%s' (%s)", op, path, why(msg));
    if (st != KR_OK) {
        kr_save_abort(&sv);
        return st;
    }
    return kr_save_commit(&sv);
}

/* ==== reading ============================================================================= */

typedef struct walk {
    char **names;
    int n, cap;
    int failed;
} walk;

static herr_t visit(hid_t obj, const char *name, const obj_info *info, void *data)
{
    (void)obj;
    walk *w = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        char **p = realloc(w->names, sizeof *p * (size_t)cap);
        if (p == NULL) { w->failed = 1; return -1; }
        w->names = p;
        w->cap = cap;
    }
    w->names[w->n] = strdup(name);
    if (w->names[w->n] == NULL) { w->failed = 1; return -1; }
    w->n++;
    return 0;
}

static void free_walk(walk *w)
{
    for (int i = 0; i < w->n; i++) free(w->names[i]);
    free(w->names);
}

/* Opens path read-only with a message naming it (a missing file as such, a file that is not
 * HDF5 as such); *fsize gets its size. */
static kr_status open_file(hid_t *file, uint64_t *fsize, const char *path, const char *op)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return kr_fail(KR_EIO, "%s: cannot open '%s': %s", op, path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return kr_fail(KR_EIO, "%s: cannot read '%s': not a regular file", op, path);
    *fsize = (uint64_t)sb.st_size;
    quiet();
    if (H5Fis_hdf5(path) <= 0)
        return kr_fail(KR_EFORMAT, "%s: '%s' is not an HDF5 file", op, path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    char msg[200];
    if (*file < 0) return kr_fail(KR_EIO, "%s: cannot open '%s' (%s)", op, path, why(msg));
    return KR_OK;
}

static kr_status list_names(hid_t file, walk *w, const char *path, const char *op)
{
    memset(w, 0, sizeof *w);
    if (VISIT(file, visit, w) < 0) {
        char msg[200];
        kr_status st = w->failed ? kr_fail(KR_ENOMEM, "%s: out of memory", op)
                                 : kr_fail(KR_EFORMAT, "%s: cannot walk '%s' (%s)", op, path,
                                           why(msg));
        free_walk(w);
        return st;
    }
    return KR_OK;
}

/* The shape and element type of a dataset: *kind 'f' (float), 'i', 'u' or 0 (unreadable). */
static kr_status describe(hid_t ds, int *ndim, int64_t *shape, char *kind, size_t *esize,
                          const char *op, const char *path, const char *name)
{
    hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
    kr_status st = KR_OK;
    *kind = 0;
    *esize = 0;
    H5S_class_t cls = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
    int nd = cls == H5S_SCALAR ? 0 : (cls == H5S_SIMPLE ? H5Sget_simple_extent_ndims(space) : -1);
    if (nd < 0 || nd > KR_MAXDIM) {
        st = kr_fail(KR_EFORMAT, "%s: '%s' dataset '%s' has %s, which kairo cannot hold", op, path,
                     name, nd > KR_MAXDIM ? "more than 8 dimensions" : "an empty or odd dataspace");
    } else {
        hsize_t dims[KR_MAXDIM];
        if (nd > 0) H5Sget_simple_extent_dims(space, dims, NULL);
        for (int d = 0; d < nd; d++) {
            if (dims[d] > (hsize_t)INT64_MAX) {
                st = kr_fail(KR_EFORMAT, "%s: '%s' dataset '%s' has an impossibly large shape",
                             op, path, name);
                break;
            }
            shape[d] = (int64_t)dims[d];
        }
        *ndim = nd;
        H5T_class_t tc = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
        *esize = type >= 0 ? H5Tget_size(type) : 0;
        if (tc == H5T_FLOAT) *kind = 'f';
        else if (tc == H5T_INTEGER) *kind = H5Tget_sign(type) == H5T_SGN_NONE ? 'u' : 'i';
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return st;
}

/* Reads one dataset into *out.  With skip_other, a dataset that is not numeric (strings,
 * compounds, references) leaves out->storage NULL instead of failing. */
static kr_status read_dataset(hid_t file, const char *name, uint64_t fsize, kr_tensor *out,
                              int skip_other, const char *op, const char *path)
{
    char msg[200];
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    if (ds < 0) return kr_fail(KR_EINVAL, "%s: '%s' has no dataset '%s'", op, path, name);
    int ndim = 0;
    int64_t shape[KR_MAXDIM];
    char kind;
    size_t esize;
    kr_status st = describe(ds, &ndim, shape, &kind, &esize, op, path, name);
    if (st != KR_OK) goto done;
    if (kind == 0 || esize == 0 || esize > 8) {
        out->storage = NULL;
        if (skip_other) goto done;
        st = kr_fail(KR_EFORMAT, "%s: '%s' dataset '%s' is not of a number type kairo reads "
                                 "(floats and integers)", op, path, name);
        goto done;
    }
    char shp[8 * 24];
    kr_shape_str(shp, sizeof shp, ndim, shape);
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && numel > (uint64_t)INT64_MAX / 16 / (uint64_t)shape[d]) {
            st = kr_fail(KR_EFORMAT, "%s: '%s' dataset '%s' has an impossibly large shape (%s)",
                         op, path, name, shp);
            goto done;
        }
        numel *= (uint64_t)shape[d];
    }
    /* The stored bytes must be in the file; filtered data may expand, unfiltered may not. */
    uint64_t stored = H5Dget_storage_size(ds), need = numel * esize;
    hid_t dcpl = H5Dget_create_plist(ds);
    int filtered = dcpl >= 0 && H5Pget_nfilters(dcpl) > 0;
    H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_CONTIGUOUS;
    if (dcpl >= 0) H5Pclose(dcpl);
    int bad = 0;
    if (layout != H5D_VIRTUAL) { /* a virtual dataset's data lives in other files */
        bad = stored > fsize ||                            /* more stored than the file holds */
              need / MAX_RATIO > fsize + (1u << 20) ||     /* beyond any filter's expansion */
              (!filtered && layout == H5D_CONTIGUOUS && stored != 0 && stored != need);
    }
    if (bad) {
        st = kr_fail(KR_EFORMAT, "%s: '%s' dataset '%s' claims shape %s (%llu bytes) but the file "
                                 "(%llu bytes) holds %llu bytes of it", op, path, name, shp,
                     (unsigned long long)need, (unsigned long long)fsize,
                     (unsigned long long)stored);
        goto done;
    }
    kr_dtype dt = kind == 'f' && esize == 4 ? KR_F32 : KR_F64;
    st = kr_tensor_empty(out, dt, ndim, shape);
    if (st != KR_OK) goto done;
    if (numel > 0 && H5Dread(ds, dt == KR_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT, H5S_ALL,
                             H5S_ALL, H5P_DEFAULT, kr_data(out)) < 0) {
        kr_tensor_release(out);
        st = kr_fail(KR_EFORMAT, "%s: cannot read dataset '%s' of '%s' (%s)", op, name, path,
                     why(msg));
    }
done:
    H5Dclose(ds);
    return st;
}

kr_status kr_h5_load(const char *path, const char *name, kr_named **out, int *nout, const char *op)
{
    hid_t file;
    uint64_t fsize;
    kr_status st = open_file(&file, &fsize, path, op);
    if (st != KR_OK) return st;
    walk w;
    memset(&w, 0, sizeof w);
    if (name != NULL) {
        const char *nm = name[0] == '/' ? name + 1 : name;
        htri_t ok = nm[0] ? H5Lexists(file, nm, H5P_DEFAULT) : 0;
        /* H5Lexists fails (< 0) when a group on the way is missing */
        obj_info info;
        if (ok <= 0 || INFO_BY_NAME(file, nm, &info) < 0 ||
            info.type != H5O_TYPE_DATASET) {
            st = kr_fail(KR_EINVAL, "%s: '%s' has no dataset '%s'", op, path, name);
            H5Fclose(file);
            return st;
        }
        w.names = malloc(sizeof *w.names);
        w.names && (w.names[0] = strdup(nm)) ? (void)(w.n = 1) : (void)0;
        if (w.n != 1) st = kr_fail(KR_ENOMEM, "%s: out of memory", op);
    } else {
        st = list_names(file, &w, path, op);
    }
    kr_named *list = NULL;
    int done = 0;
    if (st == KR_OK) {
        list = calloc((size_t)(w.n ? w.n : 1), sizeof *list);
        if (list == NULL) st = kr_fail(KR_ENOMEM, "%s: out of memory", op);
    }
    for (int i = 0; st == KR_OK && i < w.n; i++) {
        st = read_dataset(file, w.names[i], fsize, &list[done].t, name == NULL, op, path);
        if (st == KR_OK && list[done].t.storage != NULL) {
            list[done].name = w.names[i];
            w.names[i] = NULL;
            done++;
        }
    }
    if (st == KR_OK) {
        *out = list;
        *nout = done;
    } else {
        kr_named_free(list, done);
    }
    free_walk(&w);
    H5Fclose(file);
    return st;
}

static void type_name(hid_t ds, char *buf, size_t n)
{
    hid_t type = H5Dget_type(ds);
    H5T_class_t tc = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    size_t size = type >= 0 ? H5Tget_size(type) : 0;
    if (tc == H5T_FLOAT) snprintf(buf, n, "float%zu", 8 * size);
    else if (tc == H5T_INTEGER)
        snprintf(buf, n, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", 8 * size);
    else if (tc == H5T_STRING) snprintf(buf, n, "string");
    else snprintf(buf, n, "other");
    if (type >= 0) H5Tclose(type);
}

kr_status kr_h5_list(const char *path, kr_h5_info **out, int *nout, const char *op)
{
    hid_t file;
    uint64_t fsize;
    kr_status st = open_file(&file, &fsize, path, op);
    if (st != KR_OK) return st;
    walk w;
    st = list_names(file, &w, path, op);
    if (st != KR_OK) {
        H5Fclose(file);
        return st;
    }
    kr_h5_info *list = calloc((size_t)(w.n ? w.n : 1), sizeof *list);
    if (list == NULL) st = kr_fail(KR_ENOMEM, "%s: out of memory", op);
    for (int i = 0; st == KR_OK && i < w.n; i++) {
        hid_t ds = H5Dopen2(file, w.names[i], H5P_DEFAULT);
        list[i].name = w.names[i];
        w.names[i] = NULL;
        if (ds < 0) continue;
        char kind;
        size_t esize;
        if (describe(ds, &list[i].ndim, list[i].shape, &kind, &esize, op, path, list[i].name)
            != KR_OK)
            list[i].ndim = -1; /* listed, with no shape kairo can hold */
        type_name(ds, list[i].dtype, sizeof list[i].dtype);
        H5Dclose(ds);
    }
    if (st == KR_OK) {
        *out = list;
        *nout = w.n;
    } else {
        kr_h5_info_free(list, w.n);
    }
    free_walk(&w);
    H5Fclose(file);
    return st;
}

void kr_h5_info_free(kr_h5_info *list, int n)
{
    if (list == NULL) return;
    for (int i = 0; i < n; i++) free(list[i].name);
    free(list);
}

#endif
