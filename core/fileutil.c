/* File reading and writing shared by the readers and savers (fileutil.h). */
#define _GNU_SOURCE /* O_TMPFILE */
#include "fileutil.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

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

/* ---- saving ------------------------------------------------------------------------------ */

/* The last component of a path and the folder before it ("a/b" -> "a", "b"; "b" -> "."). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* FNV-1a of the target's name: the temporaries of one target share ".kr-HASH-". */
static void temp_prefix(const char *target, char out[24])
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)base_of(target); *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, 24, ".kr-%016llx-", (unsigned long long)h);
}

/* path with its symbolic links followed (to a file that may not exist yet), malloc'd. */
static kr_status follow_links(const char *op, const char *path, char **out)
{
    char *p = strdup(path);
    if (p == NULL) return kr_fail(KR_ENOMEM, "%s: out of memory", op);
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(p, &sb) != 0 || !S_ISLNK(sb.st_mode)) break;
        if (hops == 40) {
            free(p);
            return kr_fail(KR_EIO, "%s: cannot write '%s': %s", op, path, strerror(ELOOP));
        }
        char link[PATH_MAX];
        ssize_t n = readlink(p, link, sizeof link - 1);
        if (n < 0) {
            int e = errno;
            free(p);
            return kr_fail(KR_EIO, "%s: cannot write '%s': %s", op, path, strerror(e));
        }
        link[n] = '\0';
        char *next;
        if (link[0] == '/') {
            next = strdup(link);
        } else { /* relative to the link's folder */
            char *dir = folder_of(p);
            next = dir ? malloc(strlen(dir) + (size_t)n + 2) : NULL;
            if (next) sprintf(next, "%s/%s", dir, link);
            free(dir);
        }
        free(p);
        if (next == NULL) return kr_fail(KR_ENOMEM, "%s: out of memory", op);
        p = next;
    }
    *out = p;
    return KR_OK;
}

/* Removes the named temporaries of target whose writing process is gone (a kill -9 during a
 * save where O_TMPFILE is not available, or in the instant between link and rename). */
static void remove_stale(const char *target)
{
    char prefix[24];
    temp_prefix(target, prefix);
    char *dir = folder_of(target);
    DIR *d = dir ? opendir(dir) : NULL;
    if (d == NULL) {
        free(dir);
        return;
    }
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0) continue;
        long pid = strtol(e->d_name + plen, NULL, 10);
        if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    free(dir);
}

/* A named temporary in target's folder: ".kr-HASH-PID-XXXXXX.tmp", 42 bytes at most. */
static int named_temp(const char *target, char **name, int mode)
{
    char prefix[24];
    temp_prefix(target, prefix);
    char *dir = folder_of(target);
    if (dir == NULL) return -1;
    size_t size = strlen(dir) + 64;
    char *tmp = malloc(size);
    if (tmp == NULL) {
        free(dir);
        return -1;
    }
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)tmp ^ (uint64_t)time(NULL);
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        for (int k = 0; k < 6; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* an LCG step */
            suffix[k] = digits[(x >> 33) % 36];
        }
        suffix[6] = '\0';
        snprintf(tmp, size, "%s/%s%ld-%s.tmp", dir, prefix, (long)getpid(), suffix);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST) {
            free(dir);
            if (fd >= 0)
                *name = tmp;
            else
                free(tmp);
            return fd;
        }
    }
    free(dir);
    free(tmp);
    errno = EEXIST;
    return -1;
}

static kr_status begin(kr_save *s, const char *op, const char *path, int named);

kr_status kr_save_begin(kr_save *s, const char *op, const char *path)
{
    return begin(s, op, path, 0);
}

kr_status kr_save_begin_named(kr_save *s, const char *op, const char *path)
{
    return begin(s, op, path, 1);
}

static kr_status begin(kr_save *s, const char *op, const char *path, int named)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->op = op;
    s->path = path;
    if (path == NULL || path[0] == '\0') return kr_fail(KR_EINVAL, "%s: empty file name", op);
    kr_status st = follow_links(op, path, &s->target);
    if (st != KR_OK) return st;
    struct stat sb;
    if (stat(s->target, &sb) == 0) {
        const char *why = NULL;
        char mode[48];
        if (!S_ISREG(sb.st_mode)) {
            why = kr_file_kind(sb.st_mode);
        } else if ((sb.st_mode & 0222) == 0 || access(s->target, W_OK) != 0) {
            snprintf(mode, sizeof mode, "read-only (mode %04o)", (unsigned)(sb.st_mode & 07777));
            why = mode;
        }
        if (why != NULL) {
            st = kr_fail(KR_EIO, "%s: cannot replace '%s': it is %s; kairo replaces only regular "
                                 "files it may write", op, path, why);
            free(s->target);
            s->target = NULL;
            return st;
        }
        s->existed = 1;
    }
    remove_stale(s->target);
    int mode = s->existed ? (int)(sb.st_mode & 0777) : 0666;
    char *dir = folder_of(s->target);
    if (dir == NULL) {
        kr_save_abort(s);
        return kr_fail(KR_ENOMEM, "%s: out of memory", op);
    }
    s->fd = named ? -1 : open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (named) errno = EOPNOTSUPP;
    free(dir);
    if (s->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
        s->fd = named_temp(s->target, &s->tmp, mode); /* no O_TMPFILE on this file system */
    if (s->fd < 0) {
        int e = errno;
        kr_save_abort(s);
        return kr_fail(KR_EIO, "%s: cannot create a temporary file beside '%s': %s", op, path,
                       strerror(e));
    }
    if (s->existed) {
        /* the owner first (it clears set-id bits), then the exact mode; a process that may
         * not give files away keeps what it can (the group, if it belongs to it) */
        if (fchown(s->fd, sb.st_uid, sb.st_gid) != 0) {
            int ignored = fchown(s->fd, (uid_t)-1, sb.st_gid);
            (void)ignored;
        }
        if (fchmod(s->fd, sb.st_mode & 07777) != 0) {
            int e = errno;
            kr_save_abort(s);
            return kr_fail(KR_EIO, "%s: cannot keep the mode of '%s': %s", op, path, strerror(e));
        }
    }
    return KR_OK;
}

kr_status kr_save_write(kr_save *s, const void *buf, size_t n)
{
    if (kr_write_all(s->fd, buf, n) == 0) return KR_OK;
    int e = errno;
    kr_save_abort(s);
    return kr_fail(KR_EIO, "%s: cannot write '%s': %s", s->op, s->path, strerror(e));
}

void kr_save_abort(kr_save *s)
{
    if (s->fd >= 0) close(s->fd);
    if (s->tmp) unlink(s->tmp);
    free(s->tmp);
    free(s->target);
    s->fd = -1;
    s->tmp = NULL;
    s->target = NULL;
}

/* fsync of the folder holding target, so the rename itself survives a crash; best effort (some
 * file systems refuse to open or sync a folder). */
static void sync_folder(const char *target)
{
    char *dir = folder_of(target);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        int ignored = fsync(fd);
        (void)ignored;
        close(fd);
    }
    free(dir);
}

kr_status kr_save_commit(kr_save *s)
{
    const char *step = "write";
    int e = 0;
    if (fsync(s->fd) != 0 && errno != EINVAL && errno != EROFS) e = errno; /* EINVAL: no fsync */
    if (!e && s->tmp == NULL) { /* anonymous: link it in */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
        if (!s->existed && linkat(AT_FDCWD, proc, AT_FDCWD, s->target, AT_SYMLINK_FOLLOW) == 0)
            goto done; /* a new file: in place at once */
        if (!s->existed && errno != EEXIST) {
            e = errno;
            step = "create";
        } else { /* replace: a name for it, then the rename below */
            for (int attempt = 0; attempt < 100 && !e; attempt++) {
                int nfd = -1;
                char *name = NULL;
                nfd = named_temp(s->target, &name, 0600);
                if (nfd < 0) {
                    e = errno;
                    break;
                }
                close(nfd);
                unlink(name);
                if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
                    s->tmp = name;
                    break;
                }
                free(name);
                if (errno != EEXIST) e = errno;
            }
            if (!e && s->tmp == NULL) e = EEXIST;
            if (e) step = "create";
        }
    }
    if (!e && rename(s->tmp, s->target) != 0) {
        e = errno;
        step = "replace";
    }
    if (!e) {
        free(s->tmp);
        s->tmp = NULL;
    }
done:
    if (close(s->fd) != 0 && !e) {
        e = errno;
        step = "close";
    }
    s->fd = -1;
    if (e) {
        kr_save_abort(s);
        return kr_fail(KR_EIO, "%s: cannot %s '%s': %s", s->op, step, s->path, strerror(e));
    }
    sync_folder(s->target);
    kr_save_abort(s); /* frees the names */
    return KR_OK;
}

kr_status kr_save_bytes(const char *op, const char *path, const void *buf, size_t n)
{
    kr_save s;
    kr_status st = kr_save_begin(&s, op, path);
    if (st == KR_OK) st = kr_save_write(&s, buf, n);
    if (st == KR_OK) st = kr_save_commit(&s);
    return st;
}
