/* The stb_image and stb_image_write declarations as kairo compiles them (core/stb.c): hidden
 * visibility, so that they stay inside libkairo.so.  Internal to core/image.c. */
#ifndef KR_STB_H
#define KR_STB_H

#define STBIDEF extern __attribute__((visibility("hidden")))
#define STBIWDEF extern __attribute__((visibility("hidden")))
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#endif
