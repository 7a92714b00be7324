/* What the libFuzzer targets (spec/fuzz/fuzz_*.c, built by `make fuzz`, mk/fuzz.mk) share:
 * the readers that take a path get the input through a memfd, a regular file in memory. */
#ifndef KR_FUZZ_COMMON_H
#define KR_FUZZ_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../core/kairo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* The input as a file: "/proc/self/fd/N" of one memfd, rewritten for every input. */
static inline const char *fuzz_as_file(const uint8_t *data, size_t n)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("kairo-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, data, n, 0) != (ssize_t)n)) {
        perror("memfd write");
        abort();
    }
    return path;
}

#endif
