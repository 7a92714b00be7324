/* IDX reader (see idx.h).  The whole decompressed payload is read into a buffer first, so the
 * data size can be checked against the header before a tensor is made; a header that claims
 * more than the file holds costs no more memory than the file itself. */
#include "idx.h"

#include "fileutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define READ_CHUNK (1u << 16)

const char *kr_idx_type_name(int type)
{
    switch (type) {
    case KR_IDX_UBYTE: return "ubyte";
    case KR_IDX_BYTE: return "byte";
    case KR_IDX_INT16: return "int16";
    case KR_IDX_INT32: return "int32";
    case KR_IDX_FLOAT32: return "float32";
    case KR_IDX_FLOAT64: return "float64";
    default: return NULL;
    }
}

static size_t idx_elem_size(int type)
{
    switch (type) {
    case KR_IDX_INT16: return 2;
    case KR_IDX_INT32: case KR_IDX_FLOAT32: return 4;
    case KR_IDX_FLOAT64: return 8;
    default: return 1;
    }
}

static uint64_t be_u64(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* One big-endian element of the given type as a double. */
static double decode(const unsigned char *p, int type)
{
    switch (type) {
    case KR_IDX_UBYTE: return p[0];
    case KR_IDX_BYTE: return (int8_t)p[0];
    case KR_IDX_INT16: return (int16_t)(uint16_t)be_u64(p, 2);
    case KR_IDX_INT32: return (int32_t)(uint32_t)be_u64(p, 4);
    case KR_IDX_FLOAT32: {
        uint32_t u = (uint32_t)be_u64(p, 4);
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default: {
        uint64_t u = be_u64(p, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    }
}

/* The file, plain or gzip-compressed, read through zlib's inflate (not gzread, which skips
 * whatever follows the last gzip member without a word).  Concatenated gzip members are one
 * stream, as gzip itself says; any other byte after the end of a member is an error. */
typedef struct source {
    int fd;
    int gz;        /* the file starts with the gzip magic 1f 8b */
    int started;   /* inflateInit2 done */
    int ended;     /* no more data */
    int eof_in;    /* the file has no more bytes */
    int err;       /* errno of a failed read, or 0 */
    const char *why; /* set with a corrupt stream */
    uint64_t in_total; /* compressed bytes read, for messages */
    z_stream z;
    unsigned char in[READ_CHUNK];
} source;

static int fill(source *s)
{
    for (;;) {
        ssize_t r = read(s->fd, s->in, sizeof s->in);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s->err = errno;
            return -1;
        }
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)r;
        s->in_total += (uint64_t)r;
        return (int)r;
    }
}

/* Reads up to n bytes.  Returns the count (short only at the end of the data) or -1 on an
 * error (s->err or s->why); *gz_eof_early is set when a gzip stream stopped before its end. */
static int64_t read_bytes(source *s, unsigned char *buf, size_t n, int *gz_eof_early)
{
    size_t got = 0;
    while (got < n && !s->ended) {
        if (s->z.avail_in == 0 && !s->eof_in) {
            int r = fill(s);
            if (r < 0) return -1;
            if (r == 0) s->eof_in = 1;
        }
        if (!s->gz) {
            if (s->z.avail_in == 0) {
                s->ended = 1;
                break;
            }
            size_t k = n - got < s->z.avail_in ? n - got : s->z.avail_in;
            memcpy(buf + got, s->z.next_in, k);
            s->z.next_in += k;
            s->z.avail_in -= (uInt)k;
            got += k;
            continue;
        }
        size_t want = n - got < READ_CHUNK ? n - got : READ_CHUNK;
        s->z.next_out = buf + got;
        s->z.avail_out = (uInt)want;
        int r = inflate(&s->z, Z_NO_FLUSH);
        size_t made = want - s->z.avail_out;
        got += made;
        if (r == Z_STREAM_END) {
            /* another gzip member may follow; nothing else may */
            if (s->z.avail_in == 0 && !s->eof_in) {
                int k = fill(s);
                if (k < 0) return -1;
                if (k == 0) s->eof_in = 1;
            }
            if (s->z.avail_in == 0) {
                s->ended = 1;
            } else if (s->z.avail_in >= 2 && s->z.next_in[0] == 0x1f && s->z.next_in[1] == 0x8b) {
                inflateReset(&s->z);
            } else {
                s->why = "bytes follow the end of the gzip stream";
                return -1;
            }
        } else if (r == Z_OK || r == Z_BUF_ERROR) {
            if (made == 0 && s->z.avail_in == 0 && s->eof_in) { /* the file ends in the stream */
                *gz_eof_early = 1;
                s->ended = 1;
            }
        } else {
            s->why = s->z.msg ? s->z.msg : "corrupt data";
            return -1;
        }
    }
    return (int64_t)got;
}

static kr_status zlib_error(source *s, const char *path)
{
    if (s->err) return kr_fail(KR_EIO, "idx: cannot read '%s': %s", path, strerror(s->err));
    return kr_fail(KR_EFORMAT, "idx: '%s' holds corrupt gzip data (zlib: %s)", path, s->why);
}

/* Reads the data that follow the header, exactly `expected` bytes, into dst; fails naming the
 * expected and actual sizes when the file holds fewer or more. */
static kr_status read_payload(source *f, const char *path, const char *what, uint64_t expected,
                              unsigned char *dst)
{
    int early = 0;
    int64_t r = read_bytes(f, dst, (size_t)expected, &early);
    if (r < 0) return zlib_error(f, path);
    uint64_t got = (uint64_t)r;
    if (got < expected)
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' is truncated: %s needs %llu data bytes, the file has %llu%s",
                       path, what, (unsigned long long)expected, (unsigned long long)got,
                       early ? " (the gzip stream ends early)" : "");
    /* Count anything after the data, so the message gives the actual size. */
    unsigned char scratch[4096];
    while ((r = read_bytes(f, scratch, sizeof scratch, &early)) > 0) got += (uint64_t)r;
    if (r < 0) return zlib_error(f, path);
    if (got > expected)
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' has trailing data: %s needs %llu data bytes, the file has %llu",
                       path, what, (unsigned long long)expected, (unsigned long long)got);
    if (early) /* all the data, but not the stream's end: its checksum is missing */
        return kr_fail(KR_EFORMAT, "idx: '%s' is truncated: the gzip stream ends early, before "
                                   "its checksum", path);
    return KR_OK;
}

/* Converts n elements of `type` at src into t's contiguous storage. */
static void convert(kr_tensor *t, const unsigned char *src, int type, int64_t n, int scale01)
{
    size_t es = idx_elem_size(type);
    if (t->dtype == KR_U8) return; /* ubyte data, read in place */
    if (type == KR_IDX_UBYTE) {
        double lut[256];
        for (int v = 0; v < 256; v++) lut[v] = scale01 ? v / 255.0 : v;
        if (t->dtype == KR_F64) {
            double *d = kr_data(t);
            for (int64_t i = 0; i < n; i++) d[i] = lut[src[i]];
        } else {
            float *d = kr_data(t);
            for (int64_t i = 0; i < n; i++) d[i] = (float)lut[src[i]];
        }
        return;
    }
    if (t->dtype == KR_F64) {
        double *d = kr_data(t);
        for (int64_t i = 0; i < n; i++) d[i] = decode(src + (size_t)i * es, type);
    } else {
        float *d = kr_data(t);
        for (int64_t i = 0; i < n; i++) d[i] = (float)decode(src + (size_t)i * es, type);
    }
}

static kr_status load_open(kr_tensor *t, source *f, const char *path, kr_dtype dt, int scale01)
{
    unsigned char head[4 + 4 * 255];
    int early = 0;
    int64_t n = read_bytes(f, head, 4, &early);
    if (n < 0) return zlib_error(f, path);
    if (n < 4)
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' is truncated: the header needs 4 bytes, the file has %lld", path,
                       (long long)n);
    int type = head[2], ndim = head[3];
    if (head[0] != 0 || head[1] != 0 || !kr_idx_type_name(type))
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' is not an IDX file: magic number %02x %02x %02x %02x, expected "
                       "00 00 TYPE NDIM with TYPE one of 08 09 0b 0c 0d 0e",
                       path, head[0], head[1], head[2], head[3]);
    if (scale01 && type != KR_IDX_UBYTE)
        return kr_fail(KR_EINVAL, "idx: scaling to [0, 1] needs ubyte data, '%s' holds %s", path,
                       kr_idx_type_name(type));
    if (dt == KR_U8 && (type != KR_IDX_UBYTE || scale01))
        return kr_fail(KR_EINVAL, "idx: dtype uint8 takes ubyte data unscaled; '%s' holds %s%s",
                       path, kr_idx_type_name(type), scale01 ? " and scale was asked" : "");
    if (ndim < 1 || ndim > KR_MAXDIM)
        return kr_fail(KR_EFORMAT, "idx: '%s' has %d dimensions, kairo reads 1 to %d", path, ndim,
                       KR_MAXDIM);
    n = read_bytes(f, head + 4, 4 * (size_t)ndim, &early);
    if (n < 0) return zlib_error(f, path);
    if (n < 4 * ndim)
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' is truncated: the header needs %d bytes, the file has %lld", path,
                       4 + 4 * ndim, (long long)(4 + n));

    int64_t size[KR_MAXDIM];
    size_t es = idx_elem_size(type);
    uint64_t count = 1, span = 1, bytes;
    int too_big = 0;
    for (int d = 0; d < ndim; d++) { /* span: the non-zero dimensions, which strides multiply */
        size[d] = (int64_t)be_u64(head + 4 + 4 * d, 4);
        if (size[d] != 0 && span > (UINT64_MAX >> 8) / (uint64_t)size[d]) too_big = 1;
        else if (size[d] != 0) span *= (uint64_t)size[d];
        count *= (uint64_t)size[d];
    }
    char shape[8 * 21], what[8 * 21 + 32];
    kr_shape_str(shape, sizeof shape, ndim, size);
    if (too_big || span > (uint64_t)INT64_MAX / 16)
        return kr_fail(KR_EFORMAT, "idx: '%s' declares an impossibly large %s array", path, shape);
    bytes = count * es;
    snprintf(what, sizeof what, "a %s %s array", shape, kr_idx_type_name(type));

    /* The file's bytes go to the tail of the tensor's own storage, and convert() widens them
     * front to back: element i is written over bytes it and the elements before it have been
     * read from.  So the peak is the tensor alone (Fashion-MNIST's 47 MB of bytes are not held
     * beside its 188 MB of floats).  A type wider than the dtype (float64 data read as float32)
     * goes through a separate buffer. */
    /* deflate expands at most about 1032 to 1: more data than that cannot be in the file, so
     * count what is there for the message rather than allocate the declared size first */
    struct stat sb;
    if (fstat(f->fd, &sb) == 0 && bytes / 1100 > (uint64_t)sb.st_size + 4096) {
        unsigned char scratch[4096];
        uint64_t got = 0;
        int64_t r;
        while ((r = read_bytes(f, scratch, sizeof scratch, &early)) > 0) got += (uint64_t)r;
        if (r < 0) return zlib_error(f, path);
        return kr_fail(KR_EFORMAT,
                       "idx: '%s' is truncated: %s needs %llu data bytes, the file has %llu%s",
                       path, what, (unsigned long long)bytes, (unsigned long long)got,
                       early ? " (the gzip stream ends early)" : "");
    }
    kr_status st = kr_tensor_empty(t, dt, ndim, size);
    if (st != KR_OK) return kr_fail(st, "idx: '%s' (%s): %s", path, what, kr_last_error());
    size_t tbytes = (size_t)count * kr_dtype_size(dt);
    unsigned char *data = bytes <= tbytes ? (unsigned char *)kr_data(t) + (tbytes - bytes)
                                          : malloc(bytes ? bytes : 1);
    if (!data) st = kr_fail(KR_ENOMEM, "idx: out of memory reading '%s' (%s)", path, what);
    if (st == KR_OK) st = read_payload(f, path, what, bytes, data);
    if (st == KR_OK) convert(t, data, type, (int64_t)count, scale01);
    if (bytes > tbytes) free(data);
    if (st != KR_OK) kr_tensor_release(t);
    return st;
}

kr_status kr_idx_load(kr_tensor *t, const char *path, kr_dtype dt, int scale01)
{
    if (!t || !path) return kr_fail(KR_EINVAL, "idx: missing tensor or path");
    if (dt != KR_F64 && dt != KR_F32 && dt != KR_U8)
        return kr_fail(KR_EINVAL, "idx: unknown dtype %d", (int)dt);
    int fd;
    size_t size;
    kr_status st = kr_open_regular("idx", path, &fd, &size); /* no FIFO, device, folder */
    if (st != KR_OK) return st;
    source *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        return kr_fail(KR_ENOMEM, "idx: out of memory reading '%s'", path);
    }
    s->fd = fd;
    if (fill(s) < 0) {
        st = zlib_error(s, path);
    } else {
        s->gz = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
        if (s->gz && inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            st = kr_fail(KR_ENOMEM, "idx: out of memory reading '%s'", path);
        } else {
            s->started = s->gz;
            st = load_open(t, s, path, dt, scale01);
        }
    }
    if (s->started) inflateEnd(&s->z);
    close(fd);
    free(s);
    return st;
}
