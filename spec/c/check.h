/* The harness of the C-level tests in spec/c/.  Each test is one program that counts its
 * checks, prints a line per failed check, and ends with the line spec/run.lua reads:
 *     return check_summary();      prints "N passed, N failed", returns the exit status
 * Header-only: the functions are static inline, so a test includes what it does not use
 * without a warning. */
#ifndef KR_SPEC_CHECK_H
#define KR_SPEC_CHECK_H

#include <stdio.h>
#include <string.h>

#include "../../core/error.h"

static int passed, failed;

/* Counts cond; when it is false, prints the file, the line and the printf-style message. */
#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (cond) {                                                                      \
            passed++;                                                                    \
        } else {                                                                         \
            failed++;                                                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                  \
            printf(__VA_ARGS__);                                                         \
            puts("");                                                                    \
        }                                                                                \
    } while (0)

/* Counts ok; when it is false, prints what and the core's last error message. */
static inline void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL: %s (last error: %s)\n", what, kr_last_error());
    }
}

/* A call that must fail: st is the status want and the message contains text. */
static inline void check_error(kr_status st, kr_status want, const char *text, const char *what)
{
    int ok = st == want && strstr(kr_last_error(), text) != NULL;
    if (!ok) printf("  got status %d, message \"%s\"\n", (int)st, kr_last_error());
    check(ok, what);
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

#endif
