/* NumPy .npy files (io.h).
 *
 * The format (NumPy's NEP 1, numpy.lib.format):
 *   "\x93NUMPY"  6 bytes of magic
 *   major, minor 2 bytes, the format version: 1.0, or 2.0 / 3.0 for headers over 64 KiB
 *   HEADER_LEN   little-endian uint16 (1.0) or uint32 (2.0, 3.0)
 *   header       HEADER_LEN bytes: a Python dict literal such as
 *                {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 *                padded with spaces and ended by '\n' so the data starts on a multiple of 64
 *   data         prod(shape) * itemsize bytes, C (row-major) or Fortran (column-major) order
 *
 * Saving writes version 1.0, C order, little-endian '<f8' / '<f4' (uint8: '|u1'), whatever the tensor's
 * strides, into a temporary file beside the target, then renames it over the target: a failed
 * save leaves no temporary behind and the old file untouched.
 * Loading accepts versions 1.0-3.0, both orders, f4/f8 in either byte order (kept as
 * float32/float64), u1 as uint8, and the integer and bool types i1 i2 i4 i8 u2 u4 u8 b1
 * (converted to float64; 64-bit integers above 2^53 round). */
#include "io.h"
#include "fileutil.h"
#include "npy_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
enum { NPY_PREAMBLE = 10, NPY_ALIGN = 64, CHUNK = 1 << 16 };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static const int host_little = 0;
#else
static const int host_little = 1;
#endif

static void swap_bytes(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char c = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = c;
    }
}

/* ==== saving ============================================================================== */

/* Ends the n bytes of header text at text: spaces and a '\n', so that NPY_PREAMBLE + the
 * returned length is a multiple of NPY_ALIGN (the format's alignment of the data). */
static size_t end_header(char *text, size_t n)
{
    size_t pad = (NPY_ALIGN - (NPY_PREAMBLE + n + 1) % NPY_ALIGN) % NPY_ALIGN; /* + 1: the '\n' */
    memset(text + n, ' ', pad);
    n += pad;
    text[n++] = '\n';
    return n;
}

/* The header text of t, padded (end_header). */
static size_t build_header(char *buf, size_t bufsize, const kr_tensor *t)
{
    size_t n = (size_t)snprintf(buf, bufsize, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                t->dtype == KR_F64 ? "<f8" : t->dtype == KR_U8 ? "|u1" : "<f4");
    for (int d = 0; d < t->ndim; d++)
        n += (size_t)snprintf(buf + n, bufsize - n, d ? ", %lld" : "%lld", (long long)t->size[d]);
    n += (size_t)snprintf(buf + n, bufsize - n, t->ndim == 1 ? ",), }" : "), }");
    return end_header(buf, n);
}

/* The 10 bytes before a header of hlen bytes at buf: the magic, version 1.0 and HEADER_LEN
 * (little-endian uint16).  Returns the length of preamble and header together. */
static size_t put_preamble(unsigned char *buf, size_t hlen)
{
    memcpy(buf, npy_magic, sizeof npy_magic);
    buf[6] = 1; /* version 1.0 */
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    return NPY_PREAMBLE + hlen;
}

/* Writes t's elements in C order of their logical indices, as little-endian bytes. */
static int write_data(int fd, const kr_tensor *t)
{
    size_t esize = kr_dtype_size(t->dtype);
    int64_t n = kr_numel(t);
    if (n == 0) return 0;
    if (kr_is_contiguous(t) && host_little) return kr_write_all(fd, kr_data(t), (size_t)n * esize);

    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL) return -1;
    size_t used = 0;
    int nd = t->ndim;
    int64_t idx[KR_MAXDIM] = {0};
    int64_t off = 0;
    const unsigned char *base = kr_data(t);
    for (int64_t k = 0; k < n; k++) {
        memcpy(buf + used, base + (size_t)off * esize, esize);
        if (!host_little) swap_bytes(buf + used, esize);
        used += esize;
        if (used + esize > CHUNK) {
            if (kr_write_all(fd, buf, used) != 0) goto fail;
            used = 0;
        }
        for (int d = nd - 1; d >= 0; d--) { /* odometer over the logical indices */
            off += t->stride[d];
            if (++idx[d] < t->size[d]) break;
            off -= t->stride[d] * t->size[d];
            idx[d] = 0;
        }
    }
    if (used > 0 && kr_write_all(fd, buf, used) != 0) goto fail;
    free(buf);
    return 0;
fail:;
    int saved = errno;
    free(buf);
    errno = saved;
    return -1;
}

kr_status kr_npy_save(const char *path, const kr_tensor *t)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "save: empty file name");
    if (t == NULL || t->storage == NULL)
        return kr_fail(KR_EINVAL, "save: the tensor has been freed");
    if (t->dtype != KR_F64 && t->dtype != KR_F32 && t->dtype != KR_U8)
        return kr_fail(KR_EINVAL, "save: unsupported dtype %d", (int)t->dtype);

    char header[512];
    size_t hlen = build_header(header + NPY_PREAMBLE, sizeof header - NPY_PREAMBLE, t);
    size_t total = put_preamble((unsigned char *)header, hlen);

    kr_save sv;
    kr_status st = kr_save_begin(&sv, "save", path);
    if (st != KR_OK) return st;
    st = kr_save_write(&sv, header, total);
    if (st != KR_OK) return st;
    if (write_data(sv.fd, t) != 0) {
        int err = errno;
        kr_save_abort(&sv);
        return kr_fail(KR_EIO, "save: cannot write '%s': %s", path, strerror(err));
    }
    return kr_save_commit(&sv);
}

/* ==== loading ============================================================================= */

typedef enum npy_kind { KIND_FLOAT, KIND_INT, KIND_UINT, KIND_BOOL } npy_kind;

typedef struct npy_header {
    char descr[32];
    int fortran;
    int ndim;
    int64_t shape[KR_MAXDIM];
    /* from descr */
    npy_kind kind;
    size_t itemsize;
    int swap; /* file byte order differs from the host's */
} npy_header;

/* A tiny parser for the one dict literal the format allows.  Each function returns NULL after
 * recording a reason in *why. */
typedef struct parser {
    const char *p, *end;
    const char *why;
} parser;

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int expect(parser *ps, char c, const char *why)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 0;
    }
    ps->why = why;
    return -1;
}

static int parse_string(parser *ps, char *out, size_t outsize)
{
    skip_space(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"')) {
        ps->why = "expected a quoted string";
        return -1;
    }
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' || n + 1 >= outsize) {
            ps->why = "unexpected string";
            return -1;
        }
        out[n++] = *ps->p++;
    }
    if (ps->p >= ps->end) {
        ps->why = "unterminated string";
        return -1;
    }
    ps->p++;
    out[n] = '\0';
    return 0;
}

static int parse_bool(parser *ps, int *out)
{
    skip_space(ps);
    size_t left = (size_t)(ps->end - ps->p);
    if (left >= 4 && memcmp(ps->p, "True", 4) == 0) {
        ps->p += 4;
        *out = 1;
        return 0;
    }
    if (left >= 5 && memcmp(ps->p, "False", 5) == 0) {
        ps->p += 5;
        *out = 0;
        return 0;
    }
    ps->why = "'fortran_order' must be True or False";
    return -1;
}

/* A tuple of non-negative integers: (), (n,), (a, b), (a, b,); Python 2's "3L" is accepted. */
static int parse_shape(parser *ps, int64_t *shape, int *ndim)
{
    if (expect(ps, '(', "'shape' must be a tuple") != 0) return -1;
    *ndim = 0;
    for (;;) {
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            return 0;
        }
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
            ps->why = "'shape' must hold non-negative integers";
            return -1;
        }
        int64_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            if (v > (INT64_MAX - 9) / 10) {
                ps->why = "a dimension in 'shape' is too large";
                return -1;
            }
            v = v * 10 + (*ps->p++ - '0');
        }
        if (ps->p < ps->end && *ps->p == 'L') ps->p++;
        if (*ndim == KR_MAXDIM) {
            ps->why = "'shape' has more dimensions than kairo supports (8)";
            return -1;
        }
        shape[(*ndim)++] = v;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
        } else if (ps->p < ps->end && *ps->p == ')') {
            if (*ndim == 1) { /* (n) is just n in Python, not a tuple */
                ps->why = "'shape' must be a tuple";
                return -1;
            }
        } else {
            ps->why = "'shape' must be a tuple";
            return -1;
        }
    }
}

static int parse_dict(parser *ps, npy_header *h)
{
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (expect(ps, '{', "expected a dict") != 0) return -1;
    for (;;) {
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        char key[32];
        if (parse_string(ps, key, sizeof key) != 0) return -1;
        if (expect(ps, ':', "expected ':' after a key") != 0) return -1;
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (parse_string(ps, h->descr, sizeof h->descr) != 0) {
                ps->why = "'descr' must be a simple type string such as '<f8'";
                return -1;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            seen_fortran = 1;
            if (parse_bool(ps, &h->fortran) != 0) return -1;
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if (parse_shape(ps, h->shape, &h->ndim) != 0) return -1;
        } else {
            ps->why = "unexpected or repeated key";
            return -1;
        }
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
        } else if (!(ps->p < ps->end && *ps->p == '}')) {
            ps->why = "expected ',' or '}'";
            return -1;
        }
    }
    skip_space(ps); /* the padding */
    if (ps->p != ps->end) {
        ps->why = "text after the dict";
        return -1;
    }
    if (!seen_descr || !seen_fortran || !seen_shape) {
        ps->why = "the keys 'descr', 'fortran_order' and 'shape' are required";
        return -1;
    }
    return 0;
}

/* '<f8' and friends: byte order ('<' little, '>' big, '=' native, '|' not applicable), kind,
 * size in bytes. */
static int parse_descr(npy_header *h)
{
    const char *d = h->descr;
    char order = d[0];
    if (order != '<' && order != '>' && order != '=' && order != '|') return -1;
    char kind = d[1];
    char *endp;
    if (d[2] < '1' || d[2] > '9') return -1;
    long size = strtol(d + 2, &endp, 10);
    if (*endp != '\0') return -1;
    switch (kind) {
    case 'f': if (size != 4 && size != 8) return -1; h->kind = KIND_FLOAT; break;
    case 'i':
        if (size != 1 && size != 2 && size != 4 && size != 8) return -1;
        h->kind = KIND_INT;
        break;
    case 'u':
        if (size != 1 && size != 2 && size != 4 && size != 8) return -1;
        h->kind = KIND_UINT;
        break;
    case 'b': if (size != 1) return -1; h->kind = KIND_BOOL; break;
    default: return -1;
    }
    if (order == '|' && size != 1) return -1; /* '|' is only for single bytes */
    h->itemsize = (size_t)size;
    int file_little = order == '<' || (order == '=' && host_little);
    h->swap = size > 1 && order != '|' && file_little != host_little;
    return 0;
}

/* One element of the file (raw bytes, file byte order) as a double. */
static double decode(const unsigned char *src, const npy_header *h)
{
    unsigned char b[8];
    memcpy(b, src, h->itemsize);
    if (h->swap) swap_bytes(b, h->itemsize);
    switch (h->kind) {
    case KIND_FLOAT:
        if (h->itemsize == 8) { double v; memcpy(&v, b, 8); return v; }
        else { float v; memcpy(&v, b, 4); return v; }
    case KIND_INT:
        switch (h->itemsize) {
        case 1: { int8_t v; memcpy(&v, b, 1); return v; }
        case 2: { int16_t v; memcpy(&v, b, 2); return v; }
        case 4: { int32_t v; memcpy(&v, b, 4); return v; }
        default: { int64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    case KIND_UINT:
        switch (h->itemsize) {
        case 1: { uint8_t v; memcpy(&v, b, 1); return v; }
        case 2: { uint16_t v; memcpy(&v, b, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, b, 4); return v; }
        default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    case KIND_BOOL:
        return b[0] != 0;
    }
    return 0;
}

/* Whether element v (decoded from 8 integer bytes) was exact: |v| <= 2^53. */
static int exact_integer(const unsigned char *src, const npy_header *h)
{
    if (h->itemsize != 8 || (h->kind != KIND_INT && h->kind != KIND_UINT)) return 1;
    unsigned char b[8];
    memcpy(b, src, 8);
    if (h->swap) swap_bytes(b, 8);
    if (h->kind == KIND_INT) {
        int64_t v;
        memcpy(&v, b, 8);
        return v >= -((int64_t)1 << 53) && v <= (int64_t)1 << 53;
    }
    uint64_t u;
    memcpy(&u, b, 8);
    return u <= (uint64_t)1 << 53;
}

/* out (new, contiguous, C order) from the file's data bytes, reordering Fortran-order data:
 * element (i0, ..., ik) of a Fortran array sits at i0 + s0 (i1 + s1 (i2 + ...)).  Integers
 * convert exactly (up to 2^53 in magnitude for 64-bit ones): returns -1, or the file-order
 * index of the first 64-bit integer float64 cannot hold. */
static int64_t convert(kr_tensor *out, const unsigned char *raw, const npy_header *h)
{
    int64_t n = kr_numel(out);
    int nd = h->ndim;
    int64_t fstride[KR_MAXDIM], idx[KR_MAXDIM] = {0};
    int64_t acc = 1;
    for (int d = 0; d < nd; d++) {
        fstride[d] = h->fortran ? acc : 0;
        acc *= h->shape[d];
    }
    int64_t off = 0; /* element offset in raw */
    for (int64_t k = 0; k < n; k++) {
        int64_t src = h->fortran ? off : k;
        if (!exact_integer(raw + (size_t)src * h->itemsize, h)) return src;
        double v = decode(raw + (size_t)src * h->itemsize, h);
        if (out->dtype == KR_F64)
            ((double *)kr_data(out))[k] = v;
        else if (out->dtype == KR_U8)
            ((unsigned char *)kr_data(out))[k] = (unsigned char)v;
        else
            ((float *)kr_data(out))[k] = (float)v;
        if (h->fortran) {
            for (int d = nd - 1; d >= 0; d--) {
                off += fstride[d];
                if (++idx[d] < h->shape[d]) break;
                off -= fstride[d] * h->shape[d];
                idx[d] = 0;
            }
        }
    }
    return -1;
}

static uint32_t le_u32(const unsigned char *p, int nbytes)
{
    uint32_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Reads exactly n bytes; returns how many it got (short at end of file or on error). */
static size_t read_full(FILE *f, void *buf, size_t n)
{
    return n ? fread(buf, 1, n, f) : 0;
}

kr_status kr_npy_load(kr_tensor *t, const char *path)
{
    int fd;
    size_t fsize;
    kr_status st0 = kr_open_regular("load", path, &fd, &fsize); /* no FIFO, device, folder */
    if (st0 != KR_OK) return st0;
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        close(fd);
        return kr_fail(KR_ENOMEM, "load: cannot read '%s': %s", path, strerror(errno));
    }

    kr_status st = KR_OK;
    char *text = NULL;
    unsigned char *raw = NULL;
    npy_header h;
    memset(&h, 0, sizeof h);

    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        st = kr_fail(KR_EIO, "load: cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = kr_fail(KR_EIO, "load: cannot read '%s': it is a directory", path);
        goto done;
    }

    unsigned char pre[12];
    size_t got = read_full(f, pre, NPY_PREAMBLE);
    if (ferror(f)) {
        st = kr_fail(KR_EIO, "load: cannot read '%s': %s", path, strerror(errno));
        goto done;
    }
    if (got < sizeof npy_magic) {
        st = kr_fail(KR_EFORMAT, "load: '%s' is not a .npy file (only %zu bytes long)", path, got);
        goto done;
    }
    if (memcmp(pre, npy_magic, sizeof npy_magic) != 0) {
        st = kr_fail(KR_EFORMAT, "load: '%s' is not a .npy file (wrong magic bytes)", path);
        goto done;
    }
    if (got < 8) goto truncated_header;
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        st = kr_fail(KR_EFORMAT, "load: '%s' has .npy format version %d.%d (kairo reads 1.0, 2.0 "
                                 "and 3.0)", path, major, minor);
        goto done;
    }
    int lenbytes = major == 1 ? 2 : 4;
    if (got < NPY_PREAMBLE) goto truncated_header;
    if (major > 1 && read_full(f, pre + NPY_PREAMBLE, 2) != 2) goto truncated_header;
    size_t hlen = le_u32(pre + 8, lenbytes);
    if (hlen > (1u << 24)) {
        st = kr_fail(KR_EFORMAT, "load: '%s' has a malformed header: it claims %zu bytes", path,
                     hlen);
        goto done;
    }
    long data_start = 8 + lenbytes + (long)hlen;
    if (S_ISREG(sb.st_mode) && (long long)sb.st_size < (long long)data_start) goto truncated_header;
    text = malloc(hlen + 1);
    if (text == NULL) {
        st = kr_fail(KR_ENOMEM, "load: '%s': out of memory for a %zu-byte header", path, hlen);
        goto done;
    }
    if (read_full(f, text, hlen) != hlen) goto truncated_header;
    text[hlen] = '\0';

    parser ps = {text, text + hlen, NULL};
    if (parse_dict(&ps, &h) != 0) {
        st = kr_fail(KR_EFORMAT, "load: '%s' has a malformed header: %s (at byte %ld of \"%.*s\")",
                     path, ps.why, (long)(ps.p - text), (int)(hlen > 120 ? 120 : hlen), text);
        goto done;
    }
    if (parse_descr(&h) != 0) {
        st = kr_fail(KR_EFORMAT, "load: '%s' has dtype '%s', which kairo cannot read (it reads "
                                 "f4, f8, i1-i8, u1-u8 and b1)", path, h.descr);
        goto done;
    }

    char shape[8 * 24];
    kr_shape_str(shape, sizeof shape, h.ndim, h.shape);
    /* the product of the non-zero dimensions too: (0, 2^62, 2^62) holds nothing, but its
     * strides would not fit */
    uint64_t numel = 1, span = 1;
    for (int d = 0; d < h.ndim; d++) {
        uint64_t n = (uint64_t)h.shape[d];
        if (n != 0 && span > (uint64_t)INT64_MAX / 16 / n) {
            st = kr_fail(KR_EFORMAT, "load: '%s' has an impossibly large shape (%s)", path, shape);
            goto done;
        }
        if (n != 0) span *= n;
        numel *= n;
    }
    size_t nbytes = (size_t)numel * h.itemsize;
    long long have = (long long)sb.st_size - data_start;
    if ((uint64_t)have < nbytes) {
        st = kr_fail(KR_EFORMAT, "load: '%s' is truncated: shape %s of '%s' needs %zu data bytes, "
                                 "the file holds %lld", path, shape, h.descr, nbytes, have);
        goto done;
    }
    if ((uint64_t)have > nbytes) {
        st = kr_fail(KR_EFORMAT, "load: '%s' holds %lld data bytes, but its shape %s of '%s' "
                                 "needs %zu (%llu elements of %zu bytes): the header and the data "
                                 "disagree", path, have, shape, h.descr, nbytes,
                     (unsigned long long)numel, h.itemsize);
        goto done;
    }

    /* unsigned bytes stay bytes (uint8); every other integer type becomes float64 */
    kr_dtype dt = h.kind == KIND_FLOAT && h.itemsize == 4 ? KR_F32
                  : h.kind == KIND_UINT && h.itemsize == 1 ? KR_U8 : KR_F64;
    kr_tensor out;
    st = kr_tensor_empty(&out, dt, h.ndim, h.shape);
    if (st != KR_OK) {
        st = kr_fail(st, "load: '%s' (shape %s): %s", path, shape, kr_last_error());
        goto done;
    }

    int direct = !h.fortran && (h.kind == KIND_FLOAT || dt == KR_U8) &&
                 h.itemsize == kr_dtype_size(dt);
    unsigned char *dst = direct ? kr_data(&out) : (raw = malloc(nbytes ? nbytes : 1));
    if (dst == NULL) {
        kr_tensor_release(&out);
        st = kr_fail(KR_ENOMEM, "load: '%s': out of memory for %zu bytes", path, nbytes);
        goto done;
    }
    size_t nread = read_full(f, dst, nbytes);
    if (nread != nbytes) {
        kr_tensor_release(&out);
        if (ferror(f))
            st = kr_fail(KR_EIO, "load: cannot read '%s': %s", path, strerror(errno));
        else
            st = kr_fail(KR_EFORMAT, "load: '%s' is truncated: shape %s of '%s' needs %zu data "
                                     "bytes, the file holds %zu",
                         path, shape, h.descr, nbytes, nread);
        goto done;
    }
    if (direct) {
        if (h.swap)
            for (size_t i = 0; i < nbytes; i += h.itemsize) swap_bytes(dst + i, h.itemsize);
    } else {
        int64_t at = convert(&out, raw, &h);
        if (at >= 0) {
            kr_tensor_release(&out);
            unsigned char b[8];
            memcpy(b, raw + (size_t)at * h.itemsize, 8);
            if (h.swap) swap_bytes(b, 8);
            int64_t iv;
            uint64_t uv;
            memcpy(&iv, b, 8);
            memcpy(&uv, b, 8);
            char value[32];
            if (h.kind == KIND_INT)
                snprintf(value, sizeof value, "%lld", (long long)iv);
            else
                snprintf(value, sizeof value, "%llu", (unsigned long long)uv);
            st = kr_fail(KR_EFORMAT, "load: '%s' holds the %s value %s (element %lld in file "
                                     "order), which float64 cannot hold exactly; kairo reads 64-bit "
                                     "integers up to 2^53", path, h.descr, value, (long long)at + 1);
            goto done;
        }
    }
    *t = out;
    goto done;

truncated_header:
    st = kr_fail(KR_EFORMAT, "load: '%s' is truncated (the file ends inside the header)", path);
done:
    free(raw);
    free(text);
    fclose(f);
    return st;
}

/* ==== in memory, for .npz members (npy_mem.h) ============================================= */

size_t kr_npy_header(unsigned char *buf, const kr_tensor *t)
{
    char *text = (char *)buf + NPY_PREAMBLE;
    return put_preamble(buf, build_header(text, KR_NPY_HEADER_MAX - NPY_PREAMBLE, t));
}

size_t kr_npy_header_text(unsigned char *buf, int64_t maxlen, int64_t n)
{
    char *text = (char *)buf + NPY_PREAMBLE;
    size_t len = (size_t)snprintf(text, KR_NPY_HEADER_MAX - NPY_PREAMBLE - 64,
                                  "{'descr': '<U%lld', 'fortran_order': False, 'shape': (%lld,), }",
                                  (long long)(maxlen > 0 ? maxlen : 1), (long long)n);
    return put_preamble(buf, end_header(text, len));
}

/* A 1-D '<U<k>' array: n strings of k UTF-32LE code points, NUL-padded, into UTF-8 strings. */
static kr_status parse_text(kr_named *out, const unsigned char *raw, size_t avail,
                            const npy_header *h, const char *op, const char *path, const char *name)
{
    long k = strtol(h->descr + 2, NULL, 10);
    if (h->ndim != 1 || k <= 0 || h->descr[0] == '>')
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is a '%s' array of %d dimensions (kairo "
                                   "reads 1-D little-endian string arrays)", op, path, name,
                       h->descr, h->ndim);
    uint64_t cnt = (uint64_t)h->shape[0];
    if (cnt != 0 && (uint64_t)k > avail / 4 / cnt)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is truncated", op, path, name);
    if ((uint64_t)k * 4 * cnt != avail)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s': %llu strings of '%s' do not fill its "
                                   "%zu bytes", op, path, name, (unsigned long long)cnt, h->descr,
                       avail);
    char **list = calloc(cnt ? cnt : 1, sizeof *list);
    if (list == NULL) return kr_fail(KR_ENOMEM, "%s: out of memory", op);
    for (uint64_t i = 0; i < cnt; i++) {
        char *s = malloc((size_t)k * 4 + 1), *q = s;
        if (s == NULL) {
            for (uint64_t j = 0; j < i; j++) free(list[j]);
            free(list);
            return kr_fail(KR_ENOMEM, "%s: out of memory", op);
        }
        for (long c = 0; c < k; c++) {
            uint32_t cp = le_u32(raw + (i * (uint64_t)k + (uint64_t)c) * 4, 4);
            if (cp == 0) break;
            if (cp < 0x80) *q++ = (char)cp;
            else if (cp < 0x800) { *q++ = (char)(0xc0 | cp >> 6); *q++ = (char)(0x80 | (cp & 0x3f)); }
            else if (cp < 0x10000) {
                *q++ = (char)(0xe0 | cp >> 12); *q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *q++ = (char)(0x80 | (cp & 0x3f));
            } else {
                if (cp > 0x10ffff) cp = 0xfffd;
                *q++ = (char)(0xf0 | cp >> 18); *q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                *q++ = (char)(0x80 | ((cp >> 6) & 0x3f)); *q++ = (char)(0x80 | (cp & 0x3f));
            }
        }
        *q = '\0';
        list[i] = s;
    }
    out->strings = list;
    out->nstrings = (int64_t)cnt;
    out->t.storage = NULL;
    return KR_OK;
}

kr_status kr_npy_parse(kr_named *dst, const unsigned char *buf, size_t n, const char *op,
                       const char *path, const char *name)
{
    kr_tensor *t = &dst->t;
    if (n < NPY_PREAMBLE || memcmp(buf, npy_magic, sizeof npy_magic) != 0)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is not a .npy array", op, path, name);
    int major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has .npy format version %d.%d (kairo "
                                   "reads 1.0, 2.0 and 3.0)", op, path, name, major, minor);
    int lenbytes = major == 1 ? 2 : 4;
    size_t start = 8 + (size_t)lenbytes;
    if (n < start) goto truncated;
    size_t hlen = le_u32(buf + 8, lenbytes);
    if (hlen > n - start) goto truncated;
    npy_header h;
    memset(&h, 0, sizeof h);
    parser ps = {(const char *)buf + start, (const char *)buf + start + hlen, NULL};
    if (parse_dict(&ps, &h) != 0)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has a malformed .npy header: %s", op,
                       path, name, ps.why);
    if ((h.descr[0] == '<' || h.descr[0] == '>' || h.descr[0] == '|') && h.descr[1] == 'U')
        return parse_text(dst, buf + start + hlen, n - start - hlen, &h, op, path, name);
    if (parse_descr(&h) != 0)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has dtype '%s', which kairo cannot read "
                                   "(it reads f4, f8, i1-i8, u1-u8 and b1)", op, path, name,
                       h.descr);
    char shape[8 * 24];
    kr_shape_str(shape, sizeof shape, h.ndim, h.shape);
    uint64_t numel = 1;
    for (int d = 0; d < h.ndim; d++) {
        if (h.shape[d] != 0 && numel > (uint64_t)INT64_MAX / 16 / (uint64_t)h.shape[d])
            return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has an impossibly large shape (%s)",
                           op, path, name, shape);
        numel *= (uint64_t)h.shape[d];
    }
    size_t nbytes = (size_t)numel * h.itemsize, avail = n - start - hlen;
    if (avail != nbytes)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s': shape %s of '%s' needs %zu data bytes, "
                                   "the member holds %zu", op, path, name, shape, h.descr, nbytes,
                       avail);
    const unsigned char *raw = buf + start + hlen;
    kr_dtype dt = h.kind == KIND_FLOAT && h.itemsize == 4 ? KR_F32 : KR_F64;
    kr_tensor out;
    kr_status st = kr_tensor_empty(&out, dt, h.ndim, h.shape);
    if (st != KR_OK) return st;
    if (!h.fortran && h.kind == KIND_FLOAT && h.itemsize == kr_dtype_size(dt)) {
        unsigned char *into = kr_data(&out);
        if (nbytes) memcpy(into, raw, nbytes);
        if (h.swap)
            for (size_t i = 0; i < nbytes; i += h.itemsize) swap_bytes(into + i, h.itemsize);
    } else {
        convert(&out, raw, &h);
    }
    *t = out;
    return KR_OK;
truncated:
    return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is truncated (it ends inside the .npy "
                               "header)", op, path, name);
}
