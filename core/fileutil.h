/* File reading and writing shared by the readers and savers (internal: not part of kairo.h).
 *
 * Every save goes through kr_save_begin / kr_save_write / kr_save_commit (npy.c, image.c,
 * mlp_io.c, and the Lua writers through kr._save_bytes):
 * - the bytes go to a temporary file in the target's folder, which replaces the target once
 *   complete, so a failed or killed save leaves any old file untouched;
 * - the temporary is anonymous (O_TMPFILE) where the file system allows, linked in only when
 *   complete, so a kill -9 leaves nothing behind; elsewhere it is named
 *   ".kr-HASH-PID-XXXXXX.tmp" (HASH from the target's name, short enough for any legal
 *   name), and the next save of the same target removes those whose process is gone;
 * - a symbolic link is followed: its target is written and the link stays;
 * - an existing file keeps its mode and (when the process may set it) its owner and group;
 *   one with no write permission at all (mode 0444) is refused, as is anything that is not a
 *   regular file: a directory, a device, a FIFO or a socket is never replaced. */
#ifndef KR_FILEUTIL_H
#define KR_FILEUTIL_H

#include <stddef.h>

/* Writes all n bytes of buf to fd, retrying after signals.  Returns 0, or -1 with errno set. */
int kr_write_all(int fd, const void *buf, size_t n);

#endif

#include "error.h"

typedef struct kr_save {
    const char *op;   /* the operation, for messages ("save", "image.save", ...) */
    const char *path; /* as the caller named it */
    char *target;     /* the file written: path with its symbolic links followed */
    char *tmp;        /* the named temporary, or NULL while the temporary is anonymous */
    int fd;
    int existed;      /* target existed: its mode, owner and group are kept */
} kr_save;

/* Opens a temporary for the file at path (errors name op and path). */
kr_status kr_save_begin(kr_save *s, const char *op, const char *path);
/* The same with a named temporary (s->tmp), for a library that writes by file name (HDF5):
 * it may write s->tmp while s->fd stays open; kr_save_commit then puts it in place. */
kr_status kr_save_begin_named(kr_save *s, const char *op, const char *path);
/* Appends n bytes; on failure the save is abandoned (no commit or abort needed). */
kr_status kr_save_write(kr_save *s, const void *buf, size_t n);
/* Flushes the temporary and puts it in the target's place; abandons the save on failure. */
kr_status kr_save_commit(kr_save *s);
/* Abandons the save: the temporary is removed, an existing target left as it was. */
void kr_save_abort(kr_save *s);
/* The three in one, for bytes already in memory. */
kr_status kr_save_bytes(const char *op, const char *path, const void *buf, size_t n);

/* What a file of this st_mode is, in words ("a directory", "a FIFO", ...), for messages. */
const char *kr_file_kind(unsigned mode);

/* Opens path for reading and checks that it is a regular file (a FIFO, a device or a folder
 * is refused at once, before anything is read: "/dev/zero" never fills memory).  Returns the
 * descriptor in *fd and the file's size in *size.  Errors name op and the path. */
kr_status kr_open_regular(const char *op, const char *path, int *fd, size_t *size);

/* Reads the whole regular file at path into a new malloc'd buffer (*bytes, *n; free it), in
 * bounded pieces and never more than the size the file had when opened. */
kr_status kr_read_file(const char *op, const char *path, unsigned char **bytes, size_t *n);
