#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[512];

kr_status kr_fail(kr_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *kr_last_error(void)
{
    return last_error;
}

char *kr_shape_str(char *buf, unsigned long bufsize, int ndim, const int64_t *size)
{
    size_t used = 0;
    if (bufsize == 0) return buf;
    buf[0] = '\0';
    if (ndim == 0) {
        snprintf(buf, bufsize, "scalar");
        return buf;
    }
    for (int d = 0; d < ndim && used < bufsize; d++) {
        int n = snprintf(buf + used, bufsize - used, d ? "x%lld" : "%lld", (long long)size[d]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}
