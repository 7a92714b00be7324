#define FUZZ_MAGIC "\x89PNG\r\n\x1a\n"
#include "fuzz_image.h"
