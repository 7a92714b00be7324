/* File writing shared by npy.c, image.c and mlp_io.c (internal: not part of kairo.h).
 *
 * Files are written atomically: the bytes go to a temporary file beside the target, which is
 * renamed over the target once complete, so a failed save leaves any old file untouched. */
#ifndef KR_FILEUTIL_H
#define KR_FILEUTIL_H

#include <stddef.h>

/* Creates "path.tmp.XXXXXX" exclusively (mode 0666 minus the umask, like any new file) and
 * puts its name in tmp (tmpsize >= strlen(path) + 12).  Returns the open descriptor, or -1
 * with errno set. */
int kr_create_temp(const char *path, char *tmp, size_t tmpsize);

/* Writes all n bytes of buf to fd, retrying after signals.  Returns 0, or -1 with errno set. */
int kr_write_all(int fd, const void *buf, size_t n);

#endif

#include "error.h"

/* What a file of this st_mode is, in words ("a directory", "a FIFO", ...), for messages. */
const char *kr_file_kind(unsigned mode);

/* Opens path for reading and checks that it is a regular file (a FIFO, a device or a folder
 * is refused at once, before anything is read: "/dev/zero" never fills memory).  Returns the
 * descriptor in *fd and the file's size in *size.  Errors name op and the path. */
kr_status kr_open_regular(const char *op, const char *path, int *fd, size_t *size);

/* Reads the whole regular file at path into a new malloc'd buffer (*bytes, *n; free it), in
 * bounded pieces and never more than the size the file had when opened. */
kr_status kr_read_file(const char *op, const char *path, unsigned char **bytes, size_t *n);
