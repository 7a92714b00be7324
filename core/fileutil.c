/* File writing shared by the savers (fileutil.h). */
#include "fileutil.h"

#include <errno.h>
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
