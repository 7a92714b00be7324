/* NumPy .npz archives (io.h): a zip file whose members are .npy arrays named NAME.npy.
 *
 * The zip layout written (PKWARE APPNOTE 6.3, the parts NumPy uses):
 *   for each member: a local header (30 bytes + name), the member's bytes (stored, method 0,
 *                    or raw deflate, method 8)
 *   a central directory: one 46-byte record + name per member (sizes, CRC-32, offset)
 *   the end record: 22 bytes (member count, directory size and offset)
 * Each local header is written first with zero sizes and patched once its member is written,
 * so a member streams from the tensor through zlib to the file without a copy of the archive.
 * Members over 4 GiB (which need ZIP64) are refused.  The file is written to a temporary beside
 * the target and renamed, as every kairo writer does.
 *
 * Reading goes by the central directory (as NumPy's zipfile does): it finds the end record in
 * the last 64 KiB, checks that every member's data lies inside the file and that its claimed
 * size fits its method (stored: equal sizes; deflate expands at most ~1032:1) before anything is
 * allocated, inflates, verifies the CRC-32 and parses the .npy bytes.  NumPy's savez forces
 * ZIP64 local headers; their sizes are taken from the central directory and its zip64 field. */
#include "io.h"
#include "checkpoint.h" /* kr_crc32, kairo's one CRC-32 */
#include "fileutil.h"
#include "npy_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum {
    LOCAL_SIG = 0x04034b50, CENTRAL_SIG = 0x02014b50, END_SIG = 0x06054b50,
    LOCAL_SIZE = 30, CENTRAL_SIZE = 46, END_SIZE = 22,
    METHOD_STORE = 0, METHOD_DEFLATE = 8, ZIP_VERSION = 20,
    IO_CHUNK = 1 << 16,
    MAX_DEFLATE_RATIO = 1032 /* deflate's best case: 258 bytes from 2 bits */
};

static void put16(unsigned char *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xff;
}
static unsigned get16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t get32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

void kr_named_free(kr_named *list, int n)
{
    if (list == NULL) return;
    for (int i = 0; i < n; i++) {
        free(list[i].name);
        kr_tensor_release(&list[i].t);
        for (int64_t k = 0; k < list[i].nstrings; k++) free(list[i].strings[k]);
        free(list[i].strings);
    }
    free(list);
}

/* ==== writing ============================================================================= */

typedef struct member {
    uint32_t crc, csize, usize, offset;
    unsigned method;
} member;

typedef struct writer {
    int fd;
    uint64_t pos;
    z_stream z;
    int compress;
    unsigned char out[IO_CHUNK];
} writer;

static int emit(writer *w, const void *p, size_t n)
{
    if (kr_write_all(w->fd, p, n) != 0) return -1;
    w->pos += n;
    return 0;
}

/* Feeds n bytes of member data (store, or deflate with flush at the end). */
static int feed(writer *w, member *m, const unsigned char *p, size_t n, int last)
{
    m->crc = kr_crc32(m->crc, p, n);
    if (!w->compress) {
        m->csize += (uint32_t)n;
        return emit(w, p, n);
    }
    w->z.next_in = (Bytef *)p;
    w->z.avail_in = (uInt)n;
    int flush = last ? Z_FINISH : Z_NO_FLUSH, rc;
    do {
        w->z.next_out = w->out;
        w->z.avail_out = IO_CHUNK;
        rc = deflate(&w->z, flush);
        if (rc == Z_STREAM_ERROR) { errno = EIO; return -1; }
        size_t have = IO_CHUNK - w->z.avail_out;
        m->csize += (uint32_t)have;
        if (have && emit(w, w->out, have) != 0) return -1;
    } while (w->z.avail_out == 0 || (last && rc != Z_STREAM_END));
    return 0;
}

static void dos_time(unsigned *tm_time, unsigned *tm_date)
{
    time_t now = time(NULL);
    struct tm lt;
    if (localtime_r(&now, &lt) == NULL || lt.tm_year < 80) {
        *tm_time = 0;
        *tm_date = (1 << 5) | 1; /* 1980-01-01 */
        return;
    }
    *tm_time = (unsigned)(lt.tm_hour << 11 | lt.tm_min << 5 | lt.tm_sec / 2);
    *tm_date = (unsigned)((lt.tm_year - 80) << 9 | (lt.tm_mon + 1) << 5 | lt.tm_mday);
}

static void local_header(unsigned char *h, const member *m, size_t namelen, unsigned t, unsigned d)
{
    put32(h, LOCAL_SIG);
    put16(h + 4, ZIP_VERSION);
    put16(h + 6, 0);
    put16(h + 8, m->method);
    put16(h + 10, t);
    put16(h + 12, d);
    put32(h + 14, m->crc);
    put32(h + 18, m->csize);
    put32(h + 22, m->usize);
    put16(h + 26, (unsigned)namelen);
    put16(h + 28, 0);
}

/* One member: header placeholder, the .npy bytes (header, then the tensor's elements in C
 * order, gathered in chunks when the tensor is not contiguous), then the patched header. */
static int64_t longest(const kr_strings *sl)
{
    int64_t k = 1;
    for (int64_t i = 0; i < sl->n; i++) {
        int64_t len = (int64_t)strlen(sl->items[i]);
        if (len > k) k = len;
    }
    return k;
}

/* A string member: '<U<k>' header, then each string as k UTF-32LE code points, NUL-padded. */
static int write_strings(writer *w, member *m, const kr_strings *sl)
{
    unsigned char head[KR_NPY_HEADER_MAX], buf[IO_CHUNK];
    int64_t k = longest(sl);
    size_t hlen = kr_npy_header_text(head, k, sl->n);
    m->usize = (uint32_t)(hlen + (uint64_t)sl->n * (uint64_t)k * 4);
    if (feed(w, m, head, hlen, sl->n == 0) != 0) return -1;
    size_t used = 0;
    for (int64_t i = 0; i < sl->n; i++) {
        const unsigned char *p = (const unsigned char *)sl->items[i];
        for (int64_t c = 0; c < k; c++) {
            uint32_t cp = *p ? *p++ : 0;
            put32(buf + used, cp);
            used += 4;
            int last = i == sl->n - 1 && c == k - 1;
            if (used == IO_CHUNK || last) {
                if (feed(w, m, buf, used, last) != 0) return -1;
                used = 0;
            }
        }
    }
    return 0;
}

static int write_member(writer *w, member *m, const char *name, const kr_tensor *t,
                        const kr_strings *sl, unsigned tt, unsigned td)
{
    size_t namelen = strlen(name) + 4; /* + ".npy" */
    unsigned char lh[LOCAL_SIZE];
    memset(m, 0, sizeof *m);
    m->method = w->compress ? METHOD_DEFLATE : METHOD_STORE;
    m->offset = (uint32_t)w->pos;
    local_header(lh, m, namelen, tt, td);
    if (emit(w, lh, LOCAL_SIZE) != 0 || emit(w, name, namelen - 4) != 0 || emit(w, ".npy", 4) != 0)
        return -1;

    if (w->compress && deflateReset(&w->z) != Z_OK) { errno = EIO; return -1; }
    if (t == NULL) {
        if (write_strings(w, m, sl) != 0) return -1;
        goto patch;
    }
    unsigned char head[KR_NPY_HEADER_MAX];
    size_t hlen = kr_npy_header(head, t);
    size_t esize = kr_dtype_size(t->dtype);
    uint64_t total = hlen + (uint64_t)kr_numel(t) * esize;
    m->usize = (uint32_t)total;
    int64_t n = kr_numel(t);
    if (feed(w, m, head, hlen, n == 0) != 0) return -1;
    if (n > 0) {
        if (kr_is_contiguous(t)) {
            const unsigned char *p = kr_data(t);
            size_t left = (size_t)n * esize;
            while (left > 0) {
                size_t k = left > IO_CHUNK ? IO_CHUNK : left;
                if (feed(w, m, p, k, left == k) != 0) return -1;
                p += k;
                left -= k;
            }
        } else {
            unsigned char buf[IO_CHUNK];
            size_t used = 0;
            int64_t idx[KR_MAXDIM] = {0}, off = 0;
            const unsigned char *base = kr_data(t);
            for (int64_t k = 0; k < n; k++) {
                memcpy(buf + used, base + off * (int64_t)esize, esize);
                used += esize;
                if (used + esize > IO_CHUNK || k == n - 1) {
                    if (feed(w, m, buf, used, k == n - 1) != 0) return -1;
                    used = 0;
                }
                for (int d = t->ndim - 1; d >= 0; d--) { /* odometer over the indices */
                    off += t->stride[d];
                    if (++idx[d] < t->size[d]) break;
                    off -= t->stride[d] * t->size[d];
                    idx[d] = 0;
                }
            }
        }
    }
patch:
    local_header(lh, m, namelen, tt, td);
    if (pwrite(w->fd, lh, LOCAL_SIZE, m->offset) != LOCAL_SIZE) {
        if (errno == 0) errno = EIO;
        return -1;
    }
    return 0;
}

static int write_directory(writer *w, int n, const char *const *names, const member *ms,
                           unsigned tt, unsigned td)
{
    uint64_t start = w->pos;
    for (int i = 0; i < n; i++) {
        unsigned char c[CENTRAL_SIZE];
        size_t namelen = strlen(names[i]) + 4;
        put32(c, CENTRAL_SIG);
        put16(c + 4, ZIP_VERSION | (3 << 8)); /* made by: Unix */
        put16(c + 6, ZIP_VERSION);
        put16(c + 8, 0);
        put16(c + 10, ms[i].method);
        put16(c + 12, tt);
        put16(c + 14, td);
        put32(c + 16, ms[i].crc);
        put32(c + 20, ms[i].csize);
        put32(c + 24, ms[i].usize);
        put16(c + 28, (unsigned)namelen);
        put16(c + 30, 0);
        put16(c + 32, 0);
        put16(c + 34, 0);
        put16(c + 36, 0);
        put32(c + 38, (uint32_t)0100644 << 16); /* a regular file, rw-r--r-- */
        put32(c + 42, ms[i].offset);
        if (emit(w, c, CENTRAL_SIZE) != 0 || emit(w, names[i], namelen - 4) != 0 ||
            emit(w, ".npy", 4) != 0)
            return -1;
    }
    unsigned char e[END_SIZE];
    put32(e, END_SIG);
    put16(e + 4, 0);
    put16(e + 6, 0);
    put16(e + 8, (unsigned)n);
    put16(e + 10, (unsigned)n);
    put32(e + 12, (uint32_t)(w->pos - start));
    put32(e + 16, (uint32_t)start);
    put16(e + 20, 0);
    return emit(w, e, END_SIZE);
}

kr_status kr_npz_save(const char *path, int n, const char *const *names,
                      const kr_tensor *const *tensors, const kr_strings *strings, int compress,
                      const char *op)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    if (n < 0 || n > 65535)
        return kr_fail(KR_EINVAL, "%s: '%s': %d arrays (a .npz holds up to 65535)", op, path, n);
    /* Everything is checked before the temporary file exists. */
    uint64_t total = END_SIZE;
    for (int i = 0; i < n; i++) {
        const kr_tensor *t = tensors[i];
        size_t len = strlen(names[i]);
        if (len == 0 || len > 1000)
            return kr_fail(KR_EINVAL, "%s: '%s': array names must have 1 to 1000 bytes (#%d has "
                                      "%zu)", op, path, i + 1, len);
        uint64_t bytes;
        if (t == NULL) {
            const kr_strings *sl = strings ? &strings[i] : NULL;
            if (sl == NULL || sl->n < 0)
                return kr_fail(KR_EINVAL, "%s: '%s': array '%s' has no data", op, path, names[i]);
            for (int64_t k = 0; k < sl->n; k++)
                for (const unsigned char *q = (const unsigned char *)sl->items[k]; *q; q++)
                    if (*q >= 0x80)
                        return kr_fail(KR_EINVAL, "%s: '%s': string %lld of '%s' is not ASCII", op,
                                       path, (long long)k + 1, names[i]);
            bytes = (uint64_t)sl->n * (uint64_t)longest(sl) * 4 + KR_NPY_HEADER_MAX;
        } else if (t->storage == NULL) {
            return kr_fail(KR_EINVAL, "%s: '%s': array '%s' is a closed tensor", op, path,
                           names[i]);
        } else {
            bytes = (uint64_t)kr_numel(t) * kr_dtype_size(t->dtype) + KR_NPY_HEADER_MAX;
        }
        /* deflate may grow incompressible data by 5 bytes per 16 KiB block */
        uint64_t worst = bytes + bytes / 16384 * 5 + 64;
        if (worst >= 0xffffffffu)
            return kr_fail(KR_EINVAL, "%s: '%s': array '%s' is over 4 GiB, which needs ZIP64 (not "
                                      "written by kairo); save it with kr.save as .npy", op, path,
                           names[i]);
        total += worst + LOCAL_SIZE + CENTRAL_SIZE + 2 * (len + 4);
    }
    if (total >= 0xffffffffu)
        return kr_fail(KR_EINVAL, "%s: '%s': the archive would be over 4 GiB, which needs ZIP64 "
                                  "(not written by kairo)", op, path);

    member *ms = calloc((size_t)n + 1, sizeof *ms);
    writer *w = malloc(sizeof *w);
    if (ms == NULL || w == NULL) {
        free(ms); free(w);
        return kr_fail(KR_ENOMEM, "%s: out of memory", op);
    }
    memset(&w->z, 0, sizeof w->z);
    w->compress = compress;
    w->pos = 0;
    if (compress && deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                                 Z_DEFAULT_STRATEGY) != Z_OK) {
        free(ms); free(w);
        return kr_fail(KR_ENOMEM, "%s: cannot start zlib's deflate (out of memory)", op);
    }
    kr_save sv; /* kairo's one saver (fileutil.h) */
    kr_status st0 = kr_save_begin(&sv, op, path);
    if (st0 != KR_OK) {
        if (compress) deflateEnd(&w->z);
        free(ms); free(w);
        return st0;
    }
    w->fd = sv.fd;
    unsigned tt, td;
    dos_time(&tt, &td);
    const char *step = "write";
    for (int i = 0; i < n; i++)
        if (write_member(w, &ms[i], names[i], tensors[i], strings ? &strings[i] : NULL, tt, td) != 0)
            goto fail;
    if (write_directory(w, n, names, ms, tt, td) != 0) goto fail;
    if (compress) deflateEnd(&w->z);
    free(ms); free(w);
    return kr_save_commit(&sv);

fail:;
    int err = errno;
    kr_save_abort(&sv);
    if (compress) deflateEnd(&w->z);
    free(ms); free(w);
    return kr_fail(KR_EIO, "%s: cannot %s '%s': %s", op, step, path, strerror(err));
}

/* ==== reading ============================================================================= */

typedef struct entry {
    char *name;          /* without ".npy" */
    unsigned method;
    uint32_t crc;
    uint64_t csize, usize, offset;
} entry;

static int read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
    if (fseeko(f, (off_t)off, SEEK_SET) != 0) return -1;
    return fread(buf, 1, n, f) == n ? 0 : -1;
}

static void free_entries(entry *es, int n)
{
    if (es == NULL) return;
    for (int i = 0; i < n; i++) free(es[i].name);
    free(es);
}

/* The zip64 extended field (id 1) of a central record: the 64-bit values for the 32-bit fields
 * that hold 0xffffffff, in the order usize, csize, offset. */
static int zip64_fields(entry *e, const unsigned char *extra, size_t n, uint32_t u32,
                        uint32_t c32, uint32_t o32)
{
    size_t p = 0;
    while (p + 4 <= n) {
        unsigned id = get16(extra + p), len = get16(extra + p + 2);
        if (p + 4 + len > n) return -1;
        if (id == 1) {
            const unsigned char *q = extra + p + 4, *end = q + len;
            if (u32 == 0xffffffffu) { if (q + 8 > end) return -1; e->usize = get64(q); q += 8; }
            if (c32 == 0xffffffffu) { if (q + 8 > end) return -1; e->csize = get64(q); q += 8; }
            if (o32 == 0xffffffffu) { if (q + 8 > end) return -1; e->offset = get64(q); }
            return 0;
        }
        p += 4 + len;
    }
    return (u32 == 0xffffffffu || c32 == 0xffffffffu || o32 == 0xffffffffu) ? -1 : 0;
}

/* Inflates (or copies) the member into buf (e->usize bytes), checking its CRC-32. */
static kr_status extract(FILE *f, const entry *e, uint64_t data, unsigned char *buf,
                         const char *op, const char *path)
{
    if (fseeko(f, (off_t)data, SEEK_SET) != 0)
        return kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path, strerror(errno));
    unsigned char in[IO_CHUNK];
    uint64_t left = e->csize;
    if (e->method == METHOD_STORE) {
        if (e->usize && fread(buf, 1, (size_t)e->usize, f) != e->usize)
            return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is truncated", op, path, e->name);
    } else {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, -15) != Z_OK)
            return kr_fail(KR_ENOMEM, "%s: cannot start zlib's inflate (out of memory)", op);
        z.next_out = buf;
        z.avail_out = (uInt)e->usize;
        int rc = Z_OK;
        while (rc != Z_STREAM_END) {
            if (z.avail_in == 0) {
                size_t k = left > IO_CHUNK ? IO_CHUNK : (size_t)left;
                if (k == 0 || fread(in, 1, k, f) != k) { rc = Z_DATA_ERROR; break; }
                left -= k;
                z.next_in = in;
                z.avail_in = (uInt)k;
            }
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END) break;
            if (rc == Z_OK && z.avail_out == 0 && z.avail_in == 0 && left == 0) {
                rc = Z_DATA_ERROR; /* more output than the directory says */
                break;
            }
        }
        uint64_t got = e->usize - z.avail_out;
        inflateEnd(&z);
        if (rc != Z_STREAM_END || got != e->usize)
            return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has corrupt compressed data", op,
                           path, e->name);
    }
    if (kr_crc32(0, buf, (size_t)e->usize) != e->crc)
        return kr_fail(KR_EFORMAT, "%s: '%s' member '%s' fails its CRC-32 check (the file is "
                                   "damaged)", op, path, e->name);
    return KR_OK;
}

kr_status kr_npz_load(const char *path, kr_named **out, int *nout, const char *op)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return kr_fail(KR_EIO, "%s: cannot open '%s': %s", op, path, strerror(errno));
    kr_status st = KR_OK;
    entry *es = NULL;
    kr_named *list = NULL;
    unsigned char *dir = NULL, *tail = NULL, *buf = NULL;
    int n = 0, done = 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path,
                     S_ISDIR(sb.st_mode) ? "it is a directory" : "not a regular file");
        goto out;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (fsize < END_SIZE) goto not_zip;

    /* The end record: in the last 22 + 65535 bytes (its comment is at most 65535 long). */
    size_t tlen = fsize < END_SIZE + 65535 ? (size_t)fsize : END_SIZE + 65535;
    tail = malloc(tlen);
    if (tail == NULL) { st = kr_fail(KR_ENOMEM, "%s: out of memory", op); goto out; }
    if (read_at(f, fsize - tlen, tail, tlen) != 0) goto read_error;
    long endpos = -1;
    for (long p = (long)tlen - END_SIZE; p >= 0; p--)
        if (get32(tail + p) == END_SIG && (size_t)p + END_SIZE + get16(tail + p + 20) <= tlen) {
            endpos = p;
            break;
        }
    if (endpos < 0) goto not_zip;
    const unsigned char *e = tail + endpos;
    unsigned count = get16(e + 10);
    uint32_t dsize = get32(e + 12), doff = get32(e + 16);
    if (count == 0xffff || dsize == 0xffffffffu || doff == 0xffffffffu) {
        st = kr_fail(KR_EFORMAT, "%s: '%s' is a ZIP64 archive (over 65535 members or 4 GiB), "
                                 "which kairo does not read", op, path);
        goto out;
    }
    if (get16(e + 4) != 0 || get16(e + 6) != 0 || get16(e + 8) != count) {
        st = kr_fail(KR_EFORMAT, "%s: '%s' is a multi-disk zip archive", op, path);
        goto out;
    }
    uint64_t endoff = fsize - tlen + (uint64_t)endpos;
    if ((uint64_t)doff + dsize > endoff || (uint64_t)count * CENTRAL_SIZE > dsize) goto corrupt;
    dir = malloc(dsize ? dsize : 1);
    es = calloc(count ? count : 1, sizeof *es);
    if (dir == NULL || es == NULL) { st = kr_fail(KR_ENOMEM, "%s: out of memory", op); goto out; }
    if (dsize && read_at(f, doff, dir, dsize) != 0) goto read_error;

    size_t p = 0;
    for (unsigned i = 0; i < count; i++, n++) {
        if (p + CENTRAL_SIZE > dsize || get32(dir + p) != CENTRAL_SIG) goto corrupt;
        const unsigned char *c = dir + p;
        unsigned flags = get16(c + 8), namelen = get16(c + 28), extralen = get16(c + 30),
                 commentlen = get16(c + 32);
        if (p + CENTRAL_SIZE + namelen + extralen + commentlen > dsize) goto corrupt;
        entry *en = &es[i];
        en->method = get16(c + 10);
        en->crc = get32(c + 16);
        uint32_t c32 = get32(c + 20), u32 = get32(c + 24), o32 = get32(c + 42);
        en->csize = c32;
        en->usize = u32;
        en->offset = o32;
        en->name = malloc(namelen + 1);
        if (en->name == NULL) { st = kr_fail(KR_ENOMEM, "%s: out of memory", op); goto out; }
        memcpy(en->name, c + CENTRAL_SIZE, namelen);
        en->name[namelen] = '\0';
        if (strlen(en->name) != namelen) goto corrupt;
        if (zip64_fields(en, c + CENTRAL_SIZE + namelen, extralen, u32, c32, o32) != 0)
            goto corrupt;
        if (flags & 1) {
            st = kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is encrypted", op, path, en->name);
            goto out;
        }
        if (en->method != METHOD_STORE && en->method != METHOD_DEFLATE) {
            st = kr_fail(KR_EFORMAT, "%s: '%s' member '%s' uses compression method %u (kairo "
                                     "reads stored and deflated members)", op, path, en->name,
                         en->method);
            goto out;
        }
        p += CENTRAL_SIZE + namelen + extralen + commentlen;
    }

    list = calloc(count ? count : 1, sizeof *list);
    if (list == NULL) { st = kr_fail(KR_ENOMEM, "%s: out of memory", op); goto out; }
    for (int i = 0; i < n; i++) {
        entry *en = &es[i];
        size_t nl = strlen(en->name);
        if (nl < 5 || strcmp(en->name + nl - 4, ".npy") != 0) {
            st = kr_fail(KR_EFORMAT, "%s: '%s' member '%s' is not a .npy array (a .npz holds "
                                     "NAME.npy members)", op, path, en->name);
            goto out;
        }
        en->name[nl - 4] = '\0';
        /* the member's data must lie in the file, and its size fit what its method can give */
        unsigned char lh[LOCAL_SIZE];
        if (en->offset + LOCAL_SIZE > doff || read_at(f, en->offset, lh, LOCAL_SIZE) != 0 ||
            get32(lh) != LOCAL_SIG)
            goto corrupt_member;
        uint64_t data = en->offset + LOCAL_SIZE + get16(lh + 26) + get16(lh + 28);
        if (data > doff || en->csize > doff - data) goto corrupt_member;
        if (en->method == METHOD_STORE ? en->usize != en->csize
                                       : en->usize > en->csize * MAX_DEFLATE_RATIO + 64)
            goto corrupt_member;
        if (en->usize > SIZE_MAX / 2) goto corrupt_member;
        buf = malloc(en->usize ? (size_t)en->usize : 1);
        if (buf == NULL) {
            st = kr_fail(KR_ENOMEM, "%s: '%s' member '%s': out of memory for %llu bytes", op,
                         path, en->name, (unsigned long long)en->usize);
            goto out;
        }
        st = extract(f, en, data, buf, op, path);
        if (st == KR_OK) st = kr_npy_parse(&list[i], buf, (size_t)en->usize, op, path, en->name);
        free(buf);
        buf = NULL;
        if (st != KR_OK) goto out;
        list[i].name = en->name;
        en->name = NULL;
        done = i + 1;
    }
    *out = list;
    *nout = n;
    list = NULL;
    goto out;

corrupt_member:
    st = kr_fail(KR_EFORMAT, "%s: '%s' member '%s' has sizes or an offset that do not fit the "
                             "file (%llu bytes)", op, path, es[done].name,
                 (unsigned long long)fsize);
    goto out;
not_zip:
    st = kr_fail(KR_EFORMAT, "%s: '%s' is not a .npz file (no zip end record)", op, path);
    goto out;
corrupt:
    st = kr_fail(KR_EFORMAT, "%s: '%s' has a corrupt zip directory", op, path);
    goto out;
read_error:
    st = kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path,
                 ferror(f) ? strerror(errno) : "unexpected end of file");
out:
    if (list) kr_named_free(list, done);
    free_entries(es, n);
    free(dir);
    free(tail);
    free(buf);
    fclose(f);
    return st;
}
