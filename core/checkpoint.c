/* Atomic whole-file writes and CRC-32 for checkpoints (checkpoint.h). */
#include "checkpoint.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* fsync of the folder holding path, so the rename itself survives a crash; best effort (some
 * file systems refuse to open or sync a folder). */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(n + 2);
    if (!dir) return;
    if (slash) {
        memcpy(dir, path, n ? n : 1);
        dir[n ? n : 1] = '\0';
    } else {
        strcpy(dir, ".");
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

kr_status kr_write_file_atomic(const char *who, const char *path, const void *buf, size_t n)
{
    if (!path || !*path) return kr_fail(KR_EINVAL, "%s: empty file name", who);
    size_t tmpsize = strlen(path) + 16;
    char *tmp = malloc(tmpsize);
    if (!tmp) return kr_fail(KR_ENOMEM, "%s: out of memory", who);
    int fd = kr_create_temp(path, tmp, tmpsize);
    if (fd < 0) {
        kr_status st = kr_fail(KR_EIO, "%s: cannot create a temporary file beside '%s': %s", who,
                               path, strerror(errno));
        free(tmp);
        return st;
    }
    int err = kr_write_all(fd, buf, n) != 0 ? errno : 0;
    if (!err && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) err = errno;
    if (close(fd) != 0 && !err) err = errno;
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        unlink(tmp);
        free(tmp);
        return kr_fail(KR_EIO, "%s: cannot write '%s': %s", who, path, strerror(err));
    }
    free(tmp);
    sync_parent(path);
    return KR_OK;
}

uint32_t kr_crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) { /* crc32_z takes z_size_t; chunks keep it portable to older zlibs */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}
