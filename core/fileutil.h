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
