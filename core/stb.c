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

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG /* "Corrupt PNG" rather than "bad png sig" */
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
