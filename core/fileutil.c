/* File writing shared by the savers (fileutil.h). */
#include "fileutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int kr_create_temp(const char *path, char *tmp, size_t tmpsize)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)tmp ^ (uint64_t)time(NULL);
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        for (int k = 0; k < 6; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* an LCG step */
            suffix[k] = digits[(x >> 33) % 36];
        }
        suffix[6] = '\0';
        snprintf(tmp, tmpsize, "%s.tmp.%s", path, suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

int kr_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

const char *kr_file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

kr_status kr_open_regular(const char *op, const char *path, int *fd, size_t *size)
{
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused */
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f < 0) return kr_fail(KR_EIO, "%s: cannot open '%s': %s", op, path, strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        int e = errno;
        close(f);
        return kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(f);
        return kr_fail(KR_EIO, "%s: cannot read '%s': it is a directory", op, path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return kr_fail(KR_EIO, "%s: cannot read '%s': it is not a regular file (it is %s)", op,
                       path, kr_file_kind(sb.st_mode));
    }
    int flags = fcntl(f, F_GETFL);
    if (flags >= 0) fcntl(f, F_SETFL, flags & ~O_NONBLOCK);
    *fd = f;
    *size = (size_t)sb.st_size;
    return KR_OK;
}

kr_status kr_read_file(const char *op, const char *path, unsigned char **bytes, size_t *n)
{
    int fd;
    size_t size;
    kr_status st = kr_open_regular(op, path, &fd, &size);
    if (st != KR_OK) return st;
    unsigned char *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        close(fd);
        return kr_fail(KR_ENOMEM, "%s: '%s': out of memory for its %zu bytes", op, path, size);
    }
    size_t got = 0;
    while (got < size) {
        size_t piece = size - got < ((size_t)1 << 20) ? size - got : (size_t)1 << 20;
        ssize_t r = read(fd, buf + got, piece);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return kr_fail(KR_EIO, "%s: cannot read '%s': %s", op, path, strerror(e));
        }
        if (r == 0) break; /* the file shrank: what is there */
        got += (size_t)r;
    }
    close(fd);
    *bytes = buf;
    *n = got;
    return KR_OK;
}
