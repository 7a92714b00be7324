/* stb_image and stb_image_write (Debian libstb-dev), compiled here alone; core/image.c uses
 * them through their headers.
 *
 * Their functions get hidden visibility, so they never leak out of libkairo.so (static linkage
 * would not do: stb_image 2.27 declares stbi_set_unpremultiply_on_load_thread but defines it
 * under another name, which a static declaration turns into a warning).  Their code is not
 * ours: the warnings it raises under our flags are silenced around the include, and only
 * there; and the sanitized build (make asan) does not check nonnull attributes in this file,
 * because stb_image 2.27 copies 0 bytes to a NULL buffer on a PNG whose first IDAT chunk is
 * empty (memcpy(NULL, p, 0): undefined, harmless), which UBSan would stop on.  Everything else
 * (addresses, bounds, overflow) is checked here as everywhere. */
#include "stb.h"

#include <stdlib.h>
#include <string.h>

/* stb_image's buffers start zeroed, the grown part of a buffer too: on some corrupt PNGs
 * stb_image 2.27 reads bytes of its zlib output buffer that inflate never wrote (valgrind:
 * "conditional jump depends on uninitialised value"); zeroed, they decode the same every
 * time and nothing uninitialised is ever read.  Images are small: the cost is nil. */
static void *stb_realloc_zero(void *p, size_t old, size_t n)
{
    unsigned char *q = realloc(p, n);
    if (q && n > old) memset(q + old, 0, n - old);
    return q;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG /* "Corrupt PNG" rather than "bad png sig" */
#define STBI_MALLOC(n) calloc(1, n)
#define STBI_REALLOC(p, n) realloc(p, n)
#define STBI_REALLOC_SIZED(p, old, n) stb_realloc_zero(p, old, n)
#define STBI_FREE(p) free(p)
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
