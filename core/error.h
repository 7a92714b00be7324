/* Error reporting for the C core.
 *
 * Fallible functions return a kr_status and leave a message that names the operation, the
 * operand roles and their shapes.  The message lives in thread-local storage, like errno:
 * read it with kr_last_error() before the next kairo call on the same thread. */
#ifndef KR_ERROR_H
#define KR_ERROR_H

#include <stdint.h>

typedef enum kr_status {
    KR_OK = 0,
    KR_EINVAL,   /* an argument is of the wrong kind, shape or value */
    KR_ENOMEM,   /* an allocation failed */
    KR_EIO,      /* a file could not be opened, read or written */
    KR_EFORMAT,  /* a file's content is not what its format requires */
    KR_ENUMERIC  /* a numerical routine (LAPACK) failed */
} kr_status;

/* Records a printf-style message and returns code, so checks read
 * `if (bad) return kr_fail(KR_EINVAL, "matmul: ...", ...);` */
kr_status kr_fail(kr_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *kr_last_error(void);

/* Writes "3x4" (or "scalar" for 0-d) into buf; returns buf, so it can sit inside kr_fail. */
char *kr_shape_str(char *buf, unsigned long bufsize, int ndim, const int64_t *size);

#endif
