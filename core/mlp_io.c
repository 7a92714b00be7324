/* Network files: kr_mlp_save / kr_mlp_load.
 *
 * Format (version 1, or 2 for a network with feedback matrices), every number little-endian
 * whatever the machine:
 *   offset  size       content
 *   0       8          magic "KAIRONET"
 *   8       4          u32 format version (1; 2 when the feedback rule is not bp)
 *   12      4          u32 dtype: 0 float64, 1 float32
 *   16      8          u64 length of the whole file in bytes, checksum included
 *   24      4          u32 number of layers L
 *   28      4          u32 flags: bit 0 = the layers have biases; bits 1-3 = the feedback
 *                      rule (kr_feedback: 0 bp, 1 fa, 2 dfa, 3 kp, 4 sign; version 2 only)
 *   32      8 (L+1)    i64 layer sizes n_1 .. n_{L+1}
 *   ...     24 L       per layer: activation name (16 bytes, NUL padded), f64 slope
 *   ...                parameters W_1, b_1, W_2, b_2, ... (b only with biases), each row-major,
 *                      IEEE 754 elements of the dtype
 *   ...                (version 2) the feedback matrices B[k] in layer order, each row-major
 *                      (the layers that have one, see kr_mlp_has_feedback; kp's dB are not
 *                      kept, sign's B are stored though backward recomputes them)
 *   end-4   4          u32 CRC-32 (zlib's) of every byte before it
 * Only what defines the network is stored: no gradients, no workspaces.  The file is written
 * to a temporary beside `path` and renamed over it, so a failed save leaves any old file. */
#include "mlp.h"
#include "checkpoint.h" /* kr_crc32, kairo's one CRC-32 */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "KAIRONET"
#define FORMAT_VERSION 1
#define FORMAT_VERSION_FEEDBACK 2
#define HEADER_BYTES 32
#define ACT_NAME_BYTES 16
#define LAYER_BYTES (ACT_NAME_BYTES + 8)
#define MAX_LAYERS 65536

/* ---- little-endian encoding ------------------------------------------------------------- */
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void put_f64(unsigned char *p, double x)
{
    uint64_t v;
    memcpy(&v, &x, 8);
    put_u64(p, v);
}
static double get_f64(const unsigned char *p)
{
    uint64_t v = get_u64(p);
    double x;
    memcpy(&x, &v, 8);
    return x;
}

/* Writes a contiguous tensor's elements at p; returns the bytes written. */
static size_t put_tensor(unsigned char *p, const kr_tensor *t)
{
    int64_t n = kr_numel(t);
    if (t->dtype == KR_F64) {
        const double *x = kr_data(t);
        for (int64_t i = 0; i < n; i++) put_f64(p + 8 * i, x[i]);
        return (size_t)n * 8;
    }
    const float *x = kr_data(t);
    for (int64_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &x[i], 4);
        put_u32(p + 4 * i, v);
    }
    return (size_t)n * 4;
}

static size_t get_tensor(kr_tensor *t, const unsigned char *p)
{
    int64_t n = kr_numel(t);
    if (t->dtype == KR_F64) {
        double *x = kr_data(t);
        for (int64_t i = 0; i < n; i++) x[i] = get_f64(p + 8 * i);
        return (size_t)n * 8;
    }
    float *x = kr_data(t);
    for (int64_t i = 0; i < n; i++) {
        uint32_t v = get_u32(p + 4 * i);
        memcpy(&x[i], &v, 4);
    }
    return (size_t)n * 4;
}

/* Bytes of all parameters; 0 when the count overflows. */
static uint64_t param_bytes(int L, const int64_t *sizes, int bias, size_t esize)
{
    uint64_t total = 0, limit = (uint64_t)1 << 60;
    for (int l = 0; l < L; l++) {
        uint64_t n_in = (uint64_t)sizes[l], n_out = (uint64_t)sizes[l + 1];
        if (n_in > limit / n_out) return 0;
        uint64_t count = n_in * n_out + (bias ? n_out : 0);
        if (count > limit / esize - total / esize) return 0;
        total += count * esize;
    }
    return total;
}

/* Bytes of the feedback matrices of a network with these sizes (the counts are below those of
 * the weights, which param_bytes has checked). */
static uint64_t feedback_bytes(const kr_mlp *net)
{
    uint64_t total = 0;
    for (int k = 0; net->B && k < net->nlayers; k++)
        if (kr_mlp_has_feedback(net, k))
            total += (uint64_t)kr_numel(&net->B[k]) * kr_dtype_size(net->dtype);
    return total;
}

/* ---- save ------------------------------------------------------------------------------- */
kr_status kr_mlp_save(const kr_mlp *net, const char *path)
{
    const char *op = "net:save";
    int L = net->nlayers;
    for (int l = 0; l < L; l++)
        if (net->act[l].kind == KR_ACT_CUSTOM)
            return kr_fail(KR_EINVAL,
                           "%s: layer %d has a user-defined activation, which cannot be saved",
                           op, l + 1);
    size_t esize = kr_dtype_size(net->dtype);
    uint64_t pbytes = param_bytes(L, net->sizes, net->bias, esize);
    uint64_t fbytes = feedback_bytes(net);
    uint64_t len = HEADER_BYTES + 8 * (uint64_t)(L + 1) + LAYER_BYTES * (uint64_t)L + pbytes +
                   fbytes + 4;
    int fb = net->feedback != KR_FEEDBACK_BP;
    unsigned char *buf = calloc(1, (size_t)len);
    if (!buf) return kr_fail(KR_ENOMEM, "%s: out of memory (%llu bytes)", op,
                             (unsigned long long)len);
    unsigned char *p = buf;
    memcpy(p, MAGIC, 8);
    put_u32(p + 8, fb ? FORMAT_VERSION_FEEDBACK : FORMAT_VERSION);
    put_u32(p + 12, net->dtype == KR_F64 ? 0 : 1);
    put_u64(p + 16, len);
    put_u32(p + 24, (uint32_t)L);
    put_u32(p + 28, (net->bias ? 1u : 0u) | (uint32_t)net->feedback << 1);
    p += HEADER_BYTES;
    for (int l = 0; l <= L; l++, p += 8) put_u64(p, (uint64_t)net->sizes[l]);
    for (int l = 0; l < L; l++, p += LAYER_BYTES) {
        const char *name = kr_act_name(net->act[l].kind);
        memcpy(p, name, strlen(name)); /* the rest stays NUL */
        put_f64(p + ACT_NAME_BYTES, net->act[l].slope);
    }
    for (int l = 0; l < L; l++) {
        p += put_tensor(p, &net->W[l]);
        if (net->bias) p += put_tensor(p, &net->b[l]);
    }
    for (int k = 0; fb && k < L; k++)
        if (kr_mlp_has_feedback(net, k)) p += put_tensor(p, &net->B[k]);
    put_u32(p, kr_crc32(0, buf, (size_t)(p - buf)));
    kr_status st = kr_save_bytes(op, path, buf, (size_t)len);
    free(buf);
    return st;
}

/* ---- load ------------------------------------------------------------------------------- */
/* Reads exactly n bytes at the descriptor's position, in bounded pieces; returns the count. */
static size_t read_upto(int fd, unsigned char *buf, size_t n, int *err)
{
    size_t got = 0;
    while (got < n) {
        size_t piece = n - got < ((size_t)1 << 20) ? n - got : (size_t)1 << 20;
        ssize_t r = read(fd, buf + got, piece);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            *err = errno;
            break;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return got;
}

/* The file, if it is a regular file whose first bytes are a network header declaring its
 * size: the magic and the declared length are checked on the first 32 bytes, before anything
 * the size of the file is allocated (kr.nn.load("/dev/zero") is refused at once, a 1 GB file
 * of anything else costs 32 bytes). */
/* 1 for the versions this kairo reads: 1, and 2 (networks with feedback matrices). */
static int known_version(uint32_t v) { return v == FORMAT_VERSION || v == FORMAT_VERSION_FEEDBACK; }

static kr_status read_file(const char *op, const char *path, unsigned char **out, size_t *len)
{
    int fd;
    size_t size;
    kr_status st = kr_open_regular(op, path, &fd, &size);
    if (st != KR_OK) return st;
    unsigned char head[HEADER_BYTES];
    int err = 0;
    size_t n = read_upto(fd, head, sizeof head, &err);
    if (err) {
        close(fd);
        return kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path, strerror(err));
    }
    uint64_t want = n == HEADER_BYTES ? get_u64(head + 16) : 0;
    if (n < HEADER_BYTES || memcmp(head, MAGIC, 8) != 0 || !known_version(get_u32(head + 8)) ||
        want != size) { /* parse() words the message from what there is */
        close(fd);
        unsigned char *copy = malloc(n ? n : 1);
        if (!copy) return kr_fail(KR_ENOMEM, "%s: out of memory", op);
        memcpy(copy, head, n);
        *out = copy;
        *len = n;
        if (n == HEADER_BYTES && memcmp(head, MAGIC, 8) == 0 &&
            known_version(get_u32(head + 8))) {
            free(copy);
            if (size < want)
                return kr_fail(KR_EFORMAT, "%s: '%s' is truncated (%zu of %llu bytes)", op, path,
                               size, (unsigned long long)want);
            return kr_fail(KR_EFORMAT, "%s: '%s' is corrupt (%zu bytes, its header says %llu)",
                           op, path, size, (unsigned long long)want);
        }
        return KR_OK;
    }
    unsigned char *buf = malloc(size);
    if (!buf) {
        close(fd);
        return kr_fail(KR_ENOMEM, "%s: out of memory reading '%s' (%zu bytes)", op, path, size);
    }
    memcpy(buf, head, HEADER_BYTES);
    size_t got = HEADER_BYTES + read_upto(fd, buf + HEADER_BYTES, size - HEADER_BYTES, &err);
    close(fd);
    if (err) {
        free(buf);
        return kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path, strerror(err));
    }
    *out = buf;
    *len = got; /* short if the file shrank meanwhile: parse() says truncated */
    return KR_OK;
}

static kr_status parse(kr_mlp **out, const char *path, const unsigned char *buf, size_t len)
{
    const char *op = "kr.nn.load";
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0) {
        if (len == 0)
            return kr_fail(KR_EFORMAT, "%s: '%s' is empty, not a kairo network file", op, path);
        if (len < 8 && memcmp(buf, MAGIC, len) == 0)
            return kr_fail(KR_EFORMAT, "%s: '%s' is truncated (%zu bytes)", op, path, len);
        return kr_fail(KR_EFORMAT, "%s: '%s' is not a kairo network file (no KAIRONET header)",
                       op, path);
    }
    if (len < HEADER_BYTES)
        return kr_fail(KR_EFORMAT, "%s: '%s' is truncated (%zu bytes)", op, path, len);
    uint32_t version = get_u32(buf + 8);
    if (version != FORMAT_VERSION && version != FORMAT_VERSION_FEEDBACK)
        return kr_fail(KR_EFORMAT, "%s: '%s' has format version %u, this kairo reads versions "
                       "%d and %d", op, path, (unsigned)version, FORMAT_VERSION,
                       FORMAT_VERSION_FEEDBACK);
    uint64_t want = get_u64(buf + 16);
    if (len < want)
        return kr_fail(KR_EFORMAT, "%s: '%s' is truncated (%zu of %llu bytes)", op, path, len,
                       (unsigned long long)want);
    if (len > want)
        return kr_fail(KR_EFORMAT, "%s: '%s' is corrupt (%zu bytes, its header says %llu)", op,
                       path, len, (unsigned long long)want);
    if (get_u32(buf + len - 4) != kr_crc32(0, buf, len - 4))
        return kr_fail(KR_EFORMAT, "%s: '%s' is corrupt (checksum mismatch)", op, path);

    /* The checksum holds, so what follows was written by kr_mlp_save; still check it all. */
    uint32_t dtcode = get_u32(buf + 12), L = get_u32(buf + 24), flags = get_u32(buf + 28);
    uint32_t fbcode = flags >> 1;
    if (version == FORMAT_VERSION && fbcode != 0) fbcode = KR_FEEDBACK_NKINDS; /* invalid */
    if (dtcode > 1 || L < 1 || L > MAX_LAYERS || fbcode >= KR_FEEDBACK_NKINDS ||
        len < HEADER_BYTES + 8 * ((uint64_t)L + 1) + LAYER_BYTES * (uint64_t)L + 4)
        return kr_fail(KR_EFORMAT, "%s: '%s' has an invalid header", op, path);
    kr_dtype dt = dtcode == 0 ? KR_F64 : KR_F32;
    int64_t *sizes = malloc(sizeof *sizes * (L + 1));
    kr_activation *act = malloc(sizeof *act * L);
    kr_status st = sizes && act ? KR_OK : kr_fail(KR_ENOMEM, "%s: out of memory", op);
    const unsigned char *p = buf + HEADER_BYTES;
    for (uint32_t l = 0; l <= L && st == KR_OK; l++, p += 8) {
        uint64_t n = get_u64(p);
        if (n < 1 || n > INT32_MAX)
            st = kr_fail(KR_EFORMAT, "%s: '%s' has an invalid layer size", op, path);
        else
            sizes[l] = (int64_t)n;
    }
    for (uint32_t l = 0; l < L && st == KR_OK; l++, p += LAYER_BYTES) {
        char name[ACT_NAME_BYTES + 1];
        memcpy(name, p, ACT_NAME_BYTES);
        name[ACT_NAME_BYTES] = '\0';
        st = kr_act_from_name(&act[l], name);
        if (st != KR_OK) {
            st = kr_fail(KR_EFORMAT, "%s: '%s' names an unknown activation", op, path);
            break;
        }
        act[l].slope = get_f64(p + ACT_NAME_BYTES);
        st = kr_act_check(op, act[l]);
    }
    int bias = (int)(flags & 1u);
    uint64_t pbytes = 0;
    if (st == KR_OK) {
        pbytes = param_bytes((int)L, sizes, bias, kr_dtype_size(dt));
        if (pbytes == 0 || (uint64_t)(p - buf) + pbytes + 4 > len)
            st = kr_fail(KR_EFORMAT, "%s: '%s' has sizes that do not match its length", op,
                         path);
    }
    kr_mlp *net = NULL;
    if (st == KR_OK) {
        kr_mlp_config cfg = { (int)L, sizes, act, dt, bias, KR_INIT_ZEROS, 1.0,
                              (kr_feedback)fbcode };
        st = kr_mlp_new(&net, &cfg, NULL);
    }
    if (st == KR_OK && (uint64_t)(p - buf) + pbytes + feedback_bytes(net) + 4 != len)
        st = kr_fail(KR_EFORMAT, "%s: '%s' has sizes that do not match its length", op, path);
    for (uint32_t l = 0; l < L && st == KR_OK; l++) {
        p += get_tensor(&net->W[l], p);
        if (net->bias) p += get_tensor(&net->b[l], p);
    }
    for (uint32_t k = 0; k < L && st == KR_OK; k++)
        if (kr_mlp_has_feedback(net, (int)k)) p += get_tensor(&net->B[k], p);
    free(sizes);
    free(act);
    if (st != KR_OK) {
        kr_mlp_free(net);
        return st;
    }
    *out = net;
    return KR_OK;
}

kr_status kr_mlp_load(kr_mlp **out, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    kr_status st = read_file("kr.nn.load", path, &buf, &len);
    if (st != KR_OK) return st;
    st = parse(out, path, buf, len);
    free(buf);
    return st;
}
